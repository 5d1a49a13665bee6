"""The commands that need no database: fmt, convert, validate, plan (and catalog dump).

Each parses its options, calls the API (``api.py``) or the driver (``compile.py``), and prints
through the render registry. Everything else is imported inside the commands: a command
loads only what it runs (``validate`` no planner, none of them the database driver unless
``--postgres-url`` asks for it).
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from pgroll_dsl.cli.exit import (
    EXIT_DIAGNOSTICS,
    exit_for,
    is_environment,
    remember_source,
    report,
    usage_error,
)
from pgroll_dsl.cli.exit import write as write_output
from pgroll_dsl.cli.options import (
    JSON,
    SQL,
    TEXT,
    BatchTimeOpt,
    DiagnosticsFormat,
    FormatOpt,
    HistoryOpt,
    LagOpt,
    MigrationFormat,
    OutputOpt,
    PhaseChoice,
    PlanFormat,
    SchemaOpt,
    SnapshotOpt,
    UrlOpt,
)
from pgroll_dsl.diagnostics import CompileError, Diagnostic, codes

if TYPE_CHECKING:
    from pgroll_dsl import ir
    from pgroll_dsl.compile import CatalogSource


def fmt(
    files: Annotated[list[Path], typer.Argument(help="DSL files (.pgroll) to format.")],
    check: Annotated[
        bool, typer.Option("--check", help="Change nothing; exit 1 if a file would change.")
    ] = False,
    output_format: FormatOpt = TEXT,
) -> None:
    """Rewrite DSL files in canonical form (or check that they are)."""
    from pgroll_dsl import api

    failed: list[Diagnostic] = []
    unformatted: list[str] = []
    for path in files:
        try:
            result = api.format_file(path)
        except CompileError as err:
            if any(d.code is codes.UNREADABLE_FILE for d in err.diagnostics):
                exit_for(err, output_format)
            failed.extend(err.diagnostics)
            continue
        except ValueError as err:
            usage_error(str(err))
        if result.changed:
            if check:
                unformatted.append(result.path)
            else:
                Path(path).write_text(result.formatted, encoding="utf-8")
                typer.echo(f"reformatted {result.path}", err=True)
    report(failed, output_format)
    for path_text in unformatted:
        typer.echo(f"would reformat {path_text}", err=True)
    if failed or unformatted:
        raise typer.Exit(EXIT_DIAGNOSTICS)


def convert(
    source: Annotated[str, typer.Argument(
        metavar="SOURCE",
        help="Migration file (.pgroll, .json, .yaml, .yml), SQL DDL (.sql), or - for SQL on "
        "standard input.")],
    to: Annotated[MigrationFormat, typer.Option("--to", help="Syntax to write.")],
    output: Annotated[
        Path | None, typer.Option("-o", "--output", help="Write here instead of stdout.")
    ] = None,
    output_format: FormatOpt = TEXT,
    from_sql: Annotated[bool, typer.Option(
        "--from-sql", help="Read SOURCE as SQL DDL whatever its name (- always is).")] = False,
    history: HistoryOpt = None, snapshot: SnapshotOpt = None, schema: SchemaOpt = "public",
) -> None:
    """Convert a migration between the DSL and pgroll's JSON/YAML, or SQL DDL to a migration.

    SQL (``alembic upgrade --sql``, Django's ``sqlmigrate``, a hand-written script) becomes
    operations; what has no operation stays a ``sql`` operation, with a warning. With
    --history or --catalog, the schema the script runs on lets more up/down be inferred.
    """
    from pgroll_dsl import api

    if from_sql or source == "-" or source.endswith(".sql"):
        migration = _from_sql(source, history, snapshot, schema, output_format)
    else:
        try:
            loaded = api.compile_file(Path(source))
        except CompileError as err:
            exit_for(err, output_format)
        report(loaded.warnings, output_format)
        migration = loaded.migration
    write_output(api.emit(migration, to.value), output)


def _from_sql(source: str, history: Path | None, snapshot: Path | None, schema: str,
              output_format: str) -> ir.Migration:
    """The SQL script as a migration; its warnings reported, its errors exit 1."""
    from pgroll_dsl import api
    from pgroll_dsl import compile as driver

    if source == "-":
        path, text, name = "<stdin>", sys.stdin.read(), "stdin"
        remember_source(path, text)
    else:
        path, name = source, Path(source).stem
        try:
            text = Path(source).read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as err:
            usage_error(f"cannot read {source}: {err}")
    catalog = None
    if history is not None or snapshot is not None:
        try:
            catalog = driver.catalog_before(
                _catalog_source(history, snapshot, None, schema), None).catalog
        except CompileError as err:
            exit_for(err, output_format)
    try:
        migration, notes = api.convert_sql(text, name, path=path, catalog=catalog,
                                           schema=schema)
    except CompileError as err:
        exit_for(err, output_format)
    report(notes, output_format)
    return migration


def _catalog_source(history: Path | None, snapshot: Path | None, url: str | None,
                    schema: str) -> CatalogSource:
    """The driver's catalog source from the options: at most one of them (else exit 2)."""
    from pgroll_dsl.compile import CatalogSource

    if sum(x is not None for x in (history, snapshot, url)) > 1:
        usage_error("give at most one of --history, --catalog, --postgres-url")
    read_live = None
    if url is not None:  # only then: the other sources never load the database driver
        from pgroll_dsl.backends.live_catalog import live_before

        read_live = live_before
    return CatalogSource(history=history, snapshot=snapshot, postgres_url=url, schema=schema,
                         read_live=read_live)


def validate(
    path: Annotated[Path, typer.Argument(help="A migration file, or a directory of them.")],
    history: HistoryOpt = None,
    snapshot: SnapshotOpt = None,
    postgres_url: UrlOpt = None,
    schema: SchemaOpt = "public",
    output_format: FormatOpt = TEXT,
) -> None:
    """Check migrations against the schema they will run on (no database needed)."""
    from pgroll_dsl import compile as driver

    source = _catalog_source(history, snapshot, postgres_url, schema)
    found: list[Diagnostic] = []
    failed = False
    try:
        if path.is_dir():
            failed, found = driver.validate_directory(path, source)
        else:
            found = list(driver.validate_file(path, source))
    except CompileError as err:
        if is_environment(err.diagnostics):
            exit_for(err, output_format)
        failed, found = True, [*found, *err.diagnostics]
    report(found, output_format)
    if failed:
        raise typer.Exit(EXIT_DIAGNOSTICS)


def plan(
    migration_file: Annotated[Path, typer.Argument(metavar="MIGRATION",
                                                   help="The migration file to plan.")],
    history: HistoryOpt = None,
    snapshot: SnapshotOpt = None,
    postgres_url: UrlOpt = None,
    schema: SchemaOpt = "public",
    phase: Annotated[PhaseChoice, typer.Option("--phase", help="Phases to print.")] = (
        PhaseChoice.all),
    plan_format: Annotated[PlanFormat, typer.Option(
        "--format", help="sql (the plan file; text diagnostics) or json (plan and "
        "diagnostics as JSON, for tools).")] = SQL,
    output: OutputOpt = None,
    optimize: Annotated[bool, typer.Option("--optimize/--no-optimize",
                                           help="Do less work where it is safe.")] = True,
    batch_size: Annotated[int, typer.Option("--backfill-batch-size", min=1)] = 1000,
    batch_delay: Annotated[float, typer.Option("--backfill-batch-delay", min=0.0,
                                               help="Seconds between batches.")] = 0.0,
    lock_timeout: Annotated[int, typer.Option("--lock-timeout", min=1,
                                              help="Milliseconds.")] = 500,
    batch_time: BatchTimeOpt = 50, max_lag: LagOpt = 0,
) -> None:
    """Print what start, complete and rollback will run: a reviewable SQL plan."""
    from pgroll_dsl import compile as driver
    from pgroll_dsl import render
    from pgroll_dsl.plan.model import Phase

    output_format: DiagnosticsFormat = JSON if plan_format.value == "json" else TEXT
    source = _catalog_source(history, snapshot, postgres_url, schema)
    try:
        planned = driver.plan_file(migration_file, source, batch_size=batch_size,
                                   batch_delay=batch_delay, optimize=optimize,
                                   batch_time_ms=batch_time, max_replica_lag_mb=max_lag)
    except CompileError as err:
        exit_for(err, output_format)
    report(planned.warnings, output_format)
    phases = tuple(Phase) if phase is PhaseChoice.all else (Phase(phase.value),)
    write_output(render.PLAN[plan_format.value](planned.plan, phases, lock_timeout), output)


def catalog_dump(
    postgres_url: Annotated[str, typer.Option("--postgres-url", envvar="PGROLL_PG_URL",
                                              help="The database to read.")],
    schema: SchemaOpt = "public",
    output: OutputOpt = None,
    output_format: FormatOpt = TEXT,
) -> None:
    """Write a snapshot of a live schema, for offline validate/plan (--catalog)."""
    from pgroll_dsl import render
    from pgroll_dsl.backends.live_catalog import live_before

    try:
        catalog = live_before(postgres_url, schema).catalog
    except CompileError as err:
        exit_for(err, output_format)
    write_output(render.CATALOG["json"](catalog), output)
