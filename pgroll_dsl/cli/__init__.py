"""The ``pgroll-dsl`` command line: the typer app and its entry point.

This is the only package that imports typer. The commands live in ``offline.py`` (fmt,
convert, validate, plan, catalog dump: no database), ``live.py`` (init, start, complete,
rollback, status, migrate), ``adopt.py`` (baseline, pull, create, latest) and ``tryout.py``
(try); the options they share in ``options.py``; exit codes and error reporting in
``exit.py``. A command only parses its options, calls the public API (``pgroll_dsl.api``:
an import contract keeps the layers under it out of here), and prints. So that start-up
stays short (docs/benchmarks.md), the API is imported when a command runs, and option values
are converted without pydantic (``values.py``).

Exit codes: 0 success, 1 diagnostics at error severity, 2 usage or environment problems,
3 a live phase stopped part-way.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from functools import cache
from importlib import import_module
from typing import Annotated, Any

import typer

from pgroll_dsl import __version__
from pgroll_dsl.cli.exit import EXIT_INTERRUPTED, EXIT_OK
from pgroll_dsl.cli.values import LEAN_COMMAND, LEAN_GROUP

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


def _command(module: str, name: str) -> Callable[..., Any]:
    function: Callable[..., Any] = getattr(import_module(f"pgroll_dsl.cli.{module}"), name)
    return function


def _version(value: bool) -> None:
    if value:
        typer.echo(f"pgroll-dsl {__version__}")
        raise typer.Exit(EXIT_OK)


def _main(
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="Show version.")
    ] = False,
) -> None:
    """Compile, format and convert pgroll migrations."""


def _app(only: str | None = None) -> typer.Typer:
    """The app: every command, or only the one named ``only`` (see ``main``)."""
    built = typer.Typer(
        name="pgroll-dsl",
        help="Zero-downtime PostgreSQL schema migrations: a DSL and compiler for pgroll "
             "migrations.",
        no_args_is_help=True,
        add_completion=True,
        pretty_exceptions_enable=False,
        cls=LEAN_GROUP,
    )
    built.callback()(_main)
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
    """
    first = sys.argv[1] if len(sys.argv) > 1 else None
    try:
        (_app(first) if first in (*_COMMANDS, _CATALOG, _LATEST) else _whole_app())()
    except KeyboardInterrupt:
        sys.stderr.write("interrupted\n")
        sys.exit(EXIT_INTERRUPTED)


__all__ = ["app", "main"]
