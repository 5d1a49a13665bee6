"""The commands that need no database: fmt, convert, validate, plan (and catalog dump).

Each parses its options, calls the API (``pgroll_dsl.api``), and prints through the render
registry. The API is imported inside the commands: a command loads only what it runs
(``validate`` no planner, none of them the database driver unless ``--postgres-url`` asks
for it).
"""

from __future__ import annotations

import sys
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Literal, cast

import typer

from pgroll_dsl.cli.exit import (
    EXIT_DIAGNOSTICS,
    EXIT_USAGE,
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
    BatchOpt,
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
    StateOpt,
    UrlOpt,
)
from pgroll_dsl.cli.reporting import (
    PlanReportFormatOpt,
    ReportFileOpt,
    ReportFormatOpt,
)
from pgroll_dsl.cli.reporting import emit as _emit
from pgroll_dsl.diagnostics import CompileError, Diagnostic, codes

if TYPE_CHECKING:
    from pgroll_dsl import ir


def fmt(
    files: Annotated[list[Path], typer.Argument(help="DSL files (.pgroll) to format.")],
    check: Annotated[
        bool, typer.Option("--check", help="Change nothing; print the diff of what would "
                           "change and exit 1 if a file would change.")
    ] = False,
    diff: Annotated[
        bool, typer.Option("--diff", help="Change nothing; print the diff of what would "
                           "change (exit 0).")
    ] = False,
    output_format: FormatOpt = TEXT,
) -> None:
    """Rewrite DSL files in canonical form (or check that they are)."""
    from pgroll_dsl import api

    failed: list[Diagnostic] = []
    unformatted: list[str] = []
    results = []
    # Every file read and formatted before any is written: an argument that stops the
    # command (exit 2) leaves every file as it was, and what was found before it is said.
    for path in files:
        try:
            results.append((path, api.format_file(path)))
        except CompileError as err:
            if any(d.code is codes.UNREADABLE_FILE for d in err.diagnostics):
                exit_for(CompileError([*failed, *err.diagnostics]), output_format)
            failed.extend(err.diagnostics)
        except ValueError as err:
            report(failed, output_format)
            usage_error(str(err))
    for path, result in results:
        if result.changed:
            if check or diff:
                # The lines as they are in the file (a CRLF file's with their CR): the
                # patch applies to the file itself.
                with Path(path).open(encoding="utf-8", newline="") as raw:
                    before = raw.read()
                sys.stdout.write(_unified_diff(result.path, before, result.formatted))
            if check:
                unformatted.append(result.path)
            elif not diff:
                Path(path).write_text(result.formatted, encoding="utf-8")
                typer.echo(f"reformatted {result.path}", err=True)
    report(failed, output_format)
    for path_text in unformatted:
        typer.echo(f"would reformat {path_text}", err=True)
    if failed or unformatted:
        raise typer.Exit(EXIT_DIAGNOSTICS)


def _unified_diff(path: str, before: str, after: str) -> str:
    """What formatting changes in one file, as ``diff -u`` shows it."""
    import difflib

    lines = difflib.unified_diff(before.splitlines(keepends=True),
                                 after.splitlines(keepends=True),
                                 fromfile=path, tofile=path, fromfiledate="(original)",
                                 tofiledate="(formatted)")
    return "".join(line if line.endswith("\n") else line + "\n\\ No newline at end of file\n"
                   for line in lines)


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
        if history is not None or snapshot is not None:  # (a migration's text is its own)
            usage_error(f"--history and --catalog are for SQL DDL; {source} is a migration "
                        "file, which converts without a schema (add --from-sql if it is SQL)")
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

    if source == "-":
        path, text, name = "<stdin>", sys.stdin.read().removeprefix("\ufeff"), "stdin"
        remember_source(path, text)
    else:
        path, name = source, Path(source).stem
        try:
            text = Path(source).read_text(encoding="utf-8-sig")  # as frontend.read_source
        except (OSError, UnicodeDecodeError) as err:
            usage_error(f"cannot read {source}: {err}")
    catalog = None
    if history is not None or snapshot is not None:
        _one_source(history, snapshot, None)
        try:
            catalog = api.load_catalog(history=history, snapshot=snapshot, schema=schema)
        except CompileError as err:
            exit_for(err, output_format)
    try:
        migration, notes = api.convert_sql(text, name, path=path, catalog=catalog,
                                           schema=schema)
    except CompileError as err:
        exit_for(err, output_format)
    report(notes, output_format)
    return migration


def _one_source(history: Path | None, snapshot: Path | None, url: str | None) -> None:
    """At most one of the catalog's sources may be given (else exit 2)."""
    if sum(x is not None for x in (history, snapshot, url)) > 1:
        usage_error("give at most one of --history, --catalog, --postgres-url")


_PgVersionOpt = Annotated[int | None, typer.Option(
    "--pg-version", min=9, max=99, metavar="N",
    help="PostgreSQL major version the safety lints of raw SQL assume, and an offline plan "
    "is made for (default: pg-version of the tool.pgroll-dsl table of pyproject.toml, else "
    "a live --postgres-url's server, else 15).")]


def validate(
    paths: Annotated[list[Path], typer.Argument(
        help="Migration files, or directories of them.")],
    history: HistoryOpt = None,
    snapshot: SnapshotOpt = None,
    postgres_url: UrlOpt = None,
    schema: SchemaOpt = "public",
    output_format: ReportFormatOpt = TEXT,
    report_file: ReportFileOpt = None,
    state_schema: StateOpt = "pgroll",
    pg_version: _PgVersionOpt = None,
) -> None:
    """Check migrations against the schema they will run on (no database needed).

    With --postgres-url, the migrations the database has applied already are skipped.
    """
    from pgroll_dsl import api

    _one_source(history, snapshot, postgres_url)
    result = api.validate(paths, history=history, snapshot=snapshot, postgres_url=postgres_url,
                          schema=schema, state_schema=state_schema, pg_version=pg_version,
                          summaries=str(output_format) == "markdown")
    if result.stopped:
        _emit(result.report(), output_format, report_file, success_line=False)
        raise typer.Exit(EXIT_USAGE)
    _emit(result.report(), output_format, report_file, success_line=result.ok)
    if not result.ok:
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
    report_format: PlanReportFormatOpt = None,
    report_file: ReportFileOpt = None,
    optimize: Annotated[bool, typer.Option("--optimize/--no-optimize",
                                           help="Do less work where it is safe.")] = True,
    batch_size: BatchOpt = None,
    batch_delay: Annotated[float, typer.Option("--backfill-batch-delay", min=0.0,
                                               help="Seconds between batches.")] = 0.0,
    lock_timeout: Annotated[int, typer.Option("--lock-timeout", min=1,
                                              help="Milliseconds.")] = 500,
    batch_time: BatchTimeOpt = 50, max_lag: LagOpt = 0,
    pg_version: _PgVersionOpt = None,
) -> None:
    """Print what start, complete and rollback will run: a reviewable SQL plan."""
    from pgroll_dsl import api
    from pgroll_dsl.render.report import MigrationSummary, Report

    output_format: DiagnosticsFormat = report_format or (
        JSON if plan_format.value == "json" else TEXT)
    summary = MigrationSummary(path=str(migration_file),
                               name=api.migration_name(migration_file))
    _one_source(history, snapshot, postgres_url)
    backfill = api.Backfill(batch_size=batch_size, batch_delay_s=batch_delay,
                            batch_time_ms=batch_time, max_replica_lag_mb=max_lag)
    try:
        planned = api.plan_migration(migration_file, history=history, snapshot=snapshot,
                                     postgres_url=postgres_url, schema=schema,
                                     backfill=backfill, optimize=optimize,
                                     pg_version=pg_version, record_basis=output is not None)
    except CompileError as err:
        environment = is_environment(err.diagnostics)
        _emit(Report(diagnostics=tuple(err.diagnostics),
                     migrations=() if environment else (summary,), checked=1),
              output_format, report_file, success_line=False)
        raise typer.Exit(EXIT_USAGE if environment else EXIT_DIAGNOSTICS) from None
    summaries = [replace(summary, plan=planned.plan)]
    if postgres_url is not None and str(output_format) == "markdown":
        summaries = api.with_row_estimates(summaries, postgres_url, schema)
    _emit(Report(diagnostics=planned.warnings, migrations=tuple(summaries), checked=1),
          output_format, report_file, success_line=False)
    phases: tuple[api.PhaseName, ...] | None = (
        None if phase is PhaseChoice.all else (cast("api.PhaseName", phase.value),))
    fmt_name: Literal["sql", "json"] = "json" if plan_format.value == "json" else "sql"
    if output is not None and planned.plan.basis is not None:
        # A saved plan: with the fingerprints `start --plan` checks the database against.
        write_output(api.save_plan(planned.plan, fmt_name, phases=phases,
                                   lock_timeout_ms=lock_timeout), output)
        return
    write_output(api.render_plan(planned.plan, fmt_name, phases=phases,
                                 lock_timeout_ms=lock_timeout), output)


def catalog_dump(
    postgres_url: Annotated[str, typer.Option("--postgres-url", envvar="PGROLL_PG_URL",
                                              help="The database to read.")],
    schema: SchemaOpt = "public",
    output: OutputOpt = None,
    output_format: FormatOpt = TEXT,
) -> None:
    """Write a snapshot of a live schema, for offline validate/plan (--catalog)."""
    from pgroll_dsl import api

    try:
        dumped = api.dump_catalog(postgres_url, schema)
    except CompileError as err:
        exit_for(err, output_format)
    write_output(dumped, output)
