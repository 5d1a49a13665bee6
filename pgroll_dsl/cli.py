"""The ``pgroll-dsl`` command line (the only module that imports typer).

Exit codes: 0 success, 1 diagnostics at error severity, 2 usage or environment problems.
"""

from __future__ import annotations

import sys
from enum import StrEnum
from functools import cache
from pathlib import Path
from typing import Annotated, NoReturn

import typer

from pgroll_dsl import __version__, api
from pgroll_dsl.diagnostics import CompileError, Diagnostic, codes
from pgroll_dsl.diagnostics.render import render_json, render_text

EXIT_OK, EXIT_DIAGNOSTICS, EXIT_USAGE = 0, 1, 2

app = typer.Typer(
    name="pgroll-dsl",
    help="Zero-downtime PostgreSQL schema migrations: a DSL and compiler for pgroll migrations.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


class OutputFormat(StrEnum):
    """How diagnostics are printed."""

    text = "text"
    json = "json"


class Syntax(StrEnum):
    """Migration file syntaxes ``convert`` writes."""

    dsl = "dsl"
    json = "json"
    yaml = "yaml"


FormatOpt = Annotated[
    OutputFormat, typer.Option("--format", help="Diagnostics as compiler-style text or JSON.")
]


@cache
def _source(path: str) -> str | None:
    try:
        return Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return None


def _report(diagnostics: list[Diagnostic], fmt: OutputFormat) -> None:
    if not diagnostics:
        return
    if fmt is OutputFormat.json:
        sys.stderr.write(render_json(diagnostics))
    else:
        sys.stderr.write(render_text(diagnostics, _source))


def _fail(err: CompileError, fmt: OutputFormat) -> NoReturn:
    _report(err.diagnostics, fmt)
    environment = all(d.code is codes.UNREADABLE_FILE for d in err.diagnostics)
    raise typer.Exit(EXIT_USAGE if environment else EXIT_DIAGNOSTICS)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"pgroll-dsl {__version__}")
        raise typer.Exit(EXIT_OK)


@app.callback()
def _main(
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="Show version.")
    ] = False,
) -> None:
    """Compile, format and convert pgroll migrations."""


@app.command()
def fmt(
    files: Annotated[list[Path], typer.Argument(help="DSL files (.pgroll) to format.")],
    check: Annotated[
        bool, typer.Option("--check", help="Change nothing; exit 1 if a file would change.")
    ] = False,
    output_format: FormatOpt = OutputFormat.text,
) -> None:
    """Rewrite DSL files in canonical form (or check that they are)."""
    failed: list[Diagnostic] = []
    unformatted: list[str] = []
    for path in files:
        try:
            result = api.format_file(path)
        except CompileError as err:
            if any(d.code is codes.UNREADABLE_FILE for d in err.diagnostics):
                _fail(err, output_format)
            failed.extend(err.diagnostics)
            continue
        except ValueError as err:
            typer.echo(f"error: {err}", err=True)
            raise typer.Exit(EXIT_USAGE) from None
        if result.changed:
            if check:
                unformatted.append(result.path)
            else:
                Path(path).write_text(result.formatted, encoding="utf-8")
                typer.echo(f"reformatted {result.path}", err=True)
    _report(failed, output_format)
    for path_text in unformatted:
        typer.echo(f"would reformat {path_text}", err=True)
    if failed or unformatted:
        raise typer.Exit(EXIT_DIAGNOSTICS)


@app.command()
def convert(
    source: Annotated[Path, typer.Argument(help="Migration file: .pgroll, .json, .yaml or .yml.")],
    to: Annotated[Syntax, typer.Option("--to", help="Syntax to write.")],
    output: Annotated[
        Path | None, typer.Option("-o", "--output", help="Write here instead of stdout.")
    ] = None,
    output_format: FormatOpt = OutputFormat.text,
) -> None:
    """Convert a migration between the DSL and pgroll's JSON/YAML."""
    try:
        loaded = api.compile_file(source)
    except CompileError as err:
        _fail(err, output_format)
    _report(list(loaded.warnings), output_format)
    text = api.emit(loaded.migration, to.value)
    if output is None:
        sys.stdout.write(text)
    else:
        try:
            output.write_text(text, encoding="utf-8")
        except OSError as err:
            typer.echo(f"error: cannot write {output}: {err.strerror}", err=True)
            raise typer.Exit(EXIT_USAGE) from None


def main() -> None:
    """Console entry point: no Python traceback reaches a user for bad input."""
    try:
        app()
    except KeyboardInterrupt:
        sys.stderr.write("interrupted\n")
        sys.exit(130)
