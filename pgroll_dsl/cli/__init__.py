"""The ``pgroll-dsl`` command line: the typer app and its entry point.

This is the only package that imports typer. The commands live in ``offline.py`` (fmt,
convert, validate, plan, catalog dump: no database), ``live.py`` (init, start, complete,
rollback, status, migrate), ``adopt.py`` (baseline, pull, create, latest) and ``tryout.py``
(try); the options they share in ``options.py``; exit codes and error reporting in
``exit.py``. A command only parses its options, calls the public API (``pgroll_dsl.api``:
an import contract keeps the layers under it out of here), and prints. So that start-up
stays short (docs/benchmarks.md), the API is imported when a command runs, option values
are converted without pydantic (``values.py``), and the short commands run with the garbage
collector paused from before typer is imported (``main``).

Exit codes: 0 success, 1 diagnostics at error severity, 2 usage or environment problems,
3 a live phase stopped part-way.
"""

from __future__ import annotations

import gc
import signal
import sys
from functools import cache
from importlib import import_module

# Not ``typing.TYPE_CHECKING``: typer (and typing) are imported by ``_app``, once ``main`` has
# paused the garbage collector.
TYPE_CHECKING = False

if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import Any

    import typer

# The commands, in the order ``--help`` lists them, each as (module, function): a command's
# module is imported only when an app with that command is built, so ``plan FILE`` does not
# load the live, adoption and ``try`` commands. ``catalog`` is a group of its own.
_COMMANDS: dict[str, tuple[str, str]] = {
    "fmt": ("offline", "fmt"), "convert": ("offline", "convert"),
    "validate": ("offline", "validate"), "plan": ("offline", "plan"),
    "init": ("live", "init"), "start": ("live", "start"), "complete": ("live", "complete"),
    "rollback": ("live", "rollback"), "status": ("live", "status"),
    "migrate": ("live", "migrate"), "try": ("tryout", "try_"),
    "baseline": ("adopt", "baseline"), "pull": ("adopt", "pull"),
    "create": ("adopt", "create"),
}
_CATALOG = "catalog"
_LATEST = "latest"  # a group: latest [schema|migration|url] (adopt.py)
# The commands that read files (and at most a catalog from a database) and exit, in a second
# or less whatever the history: they run with the garbage collector paused (see ``main``).
_SHORT = frozenset({"fmt", "convert", "validate", "plan", _CATALOG})


def _command(module: str, name: str) -> Callable[..., Any]:
    function: Callable[..., Any] = getattr(import_module(f"pgroll_dsl.cli.{module}"), name)
    return function


def _app(only: str | None = None) -> typer.Typer:
    """The app: every command, or only the one named ``only`` (see ``main``)."""
    import typer  # here, not with this module: ``main`` pauses the collector first

    from pgroll_dsl.cli.options import root
    from pgroll_dsl.cli.values import LEAN_COMMAND, LEAN_GROUP

    built = typer.Typer(
        name="pgroll-dsl",
        help="Zero-downtime PostgreSQL schema migrations: a DSL and compiler for pgroll "
             "migrations.",
        no_args_is_help=True,
        add_completion=True,
        pretty_exceptions_enable=False,
        cls=LEAN_GROUP,
    )
    built.callback()(root)
    for name, (module, function) in _COMMANDS.items():
        if only in (None, name):
            built.command(name=name, cls=LEAN_COMMAND)(_command(module, function))
    if only in (None, _CATALOG):
        catalog = typer.Typer(help="Catalog snapshots: the schema as a diff-friendly JSON file.",
                              no_args_is_help=True, cls=LEAN_GROUP)
        catalog.command("dump", cls=LEAN_COMMAND)(_command("offline", "catalog_dump"))
        built.add_typer(catalog, name=_CATALOG)
    if only in (None, _LATEST):
        built.add_typer(_command("adopt", "latest_group")(), name=_LATEST)
    return built


@cache
def _whole_app() -> typer.Typer:
    """The app of every command (tests and ``--help``), built once, on first use."""
    return _app()


def __getattr__(name: str) -> typer.Typer:
    """``app``: the whole app, built when asked for (see ``_COMMANDS``)."""
    if name != "app":
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return _whole_app()


def main() -> None:
    """Console entry point: no Python traceback reaches a user for bad input.

    typer builds every command of an app (their parameters, from the signatures) before it
    parses the arguments. When the first argument names a command, an app of that command
    alone runs instead: the same parsing, help and errors, several milliseconds sooner.

    A short command (``_SHORT``) runs with the cyclic garbage collector paused, typer's
    import included: nearly all it allocates (modules, classes, the parser's tables, the
    catalogs) lives until it exits, and the collector, started every few hundred
    allocations, walked those objects again and again for a few hundred objects of garbage.
    At the end they are frozen (``gc.freeze``), so that the interpreter's shutdown does not
    walk them once more only to free memory the process is about to give back. The live
    commands, which may run for hours, keep the collector as it is.
    """
    # SIGTERM (a service manager's or a container's stop) ends a run as Ctrl-C does: the
    # statement under way is cancelled, a phase's transaction rolled back, the backfill's
    # workers stopped, and the operator told how to resume; not a silent exit that leaves
    # the server running what the process had sent. A parent that started us with SIGTERM
    # ignored meant it so (as Python leaves an ignored SIGINT ignored).
    if signal.getsignal(signal.SIGTERM) is signal.SIG_DFL:
        signal.signal(signal.SIGTERM, signal.default_int_handler)
    first = sys.argv[1] if len(sys.argv) > 1 else None
    short = first in _SHORT and gc.isenabled()
    if short:
        gc.disable()
    try:
        (_app(first) if first in (*_COMMANDS, _CATALOG, _LATEST) else _whole_app())()
    except KeyboardInterrupt:
        from pgroll_dsl.cli.exit import EXIT_INTERRUPTED

        sys.stderr.write("interrupted\n")
        sys.exit(EXIT_INTERRUPTED)
    finally:
        if short:
            gc.freeze()
            gc.enable()


__all__ = ["app", "main"]
