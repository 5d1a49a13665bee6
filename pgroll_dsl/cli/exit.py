"""Exit codes, and what a command prints: its result, diagnostics, errors and their codes.

0 success, 1 diagnostics at error severity or a refused live command, 2 usage or environment
problems (an unreadable file, an unreachable database, PGD9xx), 3 a live phase that stopped
part-way, 130 interrupted. The codes are part of the interface (docs/cli.md): scripts and CI
branch on them.
"""

from __future__ import annotations

import sys
from collections.abc import Iterable
from functools import cache
from pathlib import Path
from typing import NoReturn

import typer

from pgroll_dsl import render
from pgroll_dsl.diagnostics import CompileError, Diagnostic, codes
from pgroll_dsl.render.report import Report

EXIT_OK, EXIT_DIAGNOSTICS, EXIT_USAGE, EXIT_PARTIAL, EXIT_INTERRUPTED = 0, 1, 2, 3, 130

# What to run after a phase stopped part-way, by phase.
_RECOVER = {
    "start": "run `pgroll-dsl start FILE` again to resume it, or `pgroll-dsl rollback` to undo "
             "what it did",
    "complete": "run `pgroll-dsl complete` again to finish it",
    "rollback": "run `pgroll-dsl rollback` again to finish it",
}


_GIVEN: dict[str, str] = {}  # texts that are no file: standard input


def remember_source(path: str, text: str) -> None:
    """The text diagnostics about ``path`` point into, when it is no file (``<stdin>``)."""
    _GIVEN[path] = text


@cache
def _source(path: str) -> str | None:
    """A diagnostic's file, for the excerpt under it (read once per file)."""
    if path in _GIVEN:
        return _GIVEN[path]
    try:
        return Path(path).read_text(encoding="utf-8-sig")  # as frontend.read_source
    except (OSError, UnicodeDecodeError):
        return None


def report(diagnostics: Iterable[Diagnostic], fmt: str) -> None:
    """Print diagnostics on stderr in a format of ``render.DIAGNOSTICS``; nothing if none.

    ``fmt`` is a format name, or a member of a choice type (``str()`` gives its name).
    """
    found = list(diagnostics)
    if found:
        sys.stderr.write(render.DIAGNOSTICS[str(fmt)](Report.of(found), _source))


def is_environment(diagnostics: list[Diagnostic]) -> bool:
    """Only problems of the environment (unreadable file, PGD9xx): exit 2, not 1."""
    return all(d.code.id.startswith("PGD9") or d.code is codes.UNREADABLE_FILE
               for d in diagnostics)


def exit_for(err: CompileError, fmt: str) -> NoReturn:
    """Report the diagnostics of a failed compile and exit 2 (environment) or 1."""
    report(err.diagnostics, fmt)
    raise typer.Exit(EXIT_USAGE if is_environment(err.diagnostics) else EXIT_DIAGNOSTICS)


def usage_error(message: str) -> NoReturn:
    """``error: message`` on stderr, exit 2."""
    typer.echo(f"error: {message}", err=True)
    raise typer.Exit(EXIT_USAGE)


def live_exit(err: Exception, path: Path | None = None) -> NoReturn:
    """A live command that failed: its message, then exit 3 with how to resume, 2 or 1.

    ``err`` is one of the API's exceptions (``api/errors.py``): ``PhaseIncomplete`` exits 3,
    ``DatabaseUnreachable`` 2, the others (``MigrationRefused``...) 1.
    """
    from pgroll_dsl.api.errors import DatabaseUnreachable, PhaseIncomplete

    typer.echo(f"error: {err}", err=True)
    if isinstance(err, PhaseIncomplete):
        hint = _RECOVER[err.phase]
        file = path if path is not None else err.file
        if file is not None:
            hint = hint.replace("FILE", str(file))
        typer.echo(f"hint: {hint}", err=True)
        raise typer.Exit(EXIT_PARTIAL)
    raise typer.Exit(EXIT_USAGE if isinstance(err, DatabaseUnreachable) else EXIT_DIAGNOSTICS)


def write(text: str, output: Path | None) -> None:
    """Command output to stdout, or to ``output`` (exit 2 if it cannot be written)."""
    if output is None:
        sys.stdout.write(text)
        return
    try:
        output.write_text(text, encoding="utf-8")
    except OSError as err:
        usage_error(f"cannot write {output}: {err.strerror}")
