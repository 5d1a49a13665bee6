"""The ``pgroll-dsl`` command line (the only module that imports typer).

Exit codes: 0 success, 1 diagnostics at error severity, 2 usage or environment problems.
"""

from __future__ import annotations

import os
import signal
import sys
from enum import StrEnum
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, NoReturn

import typer

from pgroll_dsl import __version__, api
from pgroll_dsl.diagnostics import CompileError, Diagnostic, codes
from pgroll_dsl.diagnostics.render import render_json, render_text

if TYPE_CHECKING:
    from pgroll_dsl.backends.runner import Runner
    from pgroll_dsl.compile import CatalogSource

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


def _is_environment(diagnostics: list[Diagnostic]) -> bool:
    """Only problems of the environment (unreadable file, PGD9xx): exit 2, not 1."""
    return all(d.code.id.startswith("PGD9") or d.code is codes.UNREADABLE_FILE
               for d in diagnostics)


def _exit_for(err: CompileError, fmt: OutputFormat) -> NoReturn:
    _report(err.diagnostics, fmt)
    raise typer.Exit(EXIT_USAGE if _is_environment(err.diagnostics) else EXIT_DIAGNOSTICS)


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
                _exit_for(err, output_format)
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
        _exit_for(err, output_format)
    _report(list(loaded.warnings), output_format)
    _write(api.emit(loaded.migration, to.value), output)


# ---- catalog-aware commands --------------------------------------------------------------

HistoryOpt = Annotated[
    Path | None, typer.Option("--history", help="Replay the migrations of this directory.")
]
SnapshotOpt = Annotated[
    Path | None, typer.Option("--catalog", help="A catalog snapshot (pgroll-dsl catalog dump).")
]
UrlOpt = Annotated[
    str | None,
    typer.Option("--postgres-url", envvar="PGROLL_PG_URL", help="Introspect this database."),
]
SchemaOpt = Annotated[str, typer.Option("--schema", envvar="PGROLL_SCHEMA",
                                        help="The target schema.")]


def _catalog_source(history: Path | None, snapshot: Path | None, url: str | None,
                    schema: str) -> CatalogSource:
    from pgroll_dsl.compile import CatalogSource

    if sum(x is not None for x in (history, snapshot, url)) > 1:
        typer.echo("error: give at most one of --history, --catalog, --postgres-url", err=True)
        raise typer.Exit(EXIT_USAGE)
    read_live = None
    if url is not None:  # only then: the other sources never load the database driver
        from pgroll_dsl.backends.live_catalog import live_before

        read_live = live_before
    return CatalogSource(history=history, snapshot=snapshot, postgres_url=url, schema=schema,
                         read_live=read_live)


@app.command()
def validate(
    path: Annotated[Path, typer.Argument(help="A migration file, or a directory of them.")],
    history: HistoryOpt = None,
    snapshot: SnapshotOpt = None,
    postgres_url: UrlOpt = None,
    schema: SchemaOpt = "public",
    output_format: FormatOpt = OutputFormat.text,
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
            before = driver.catalog_before(source, path)
            loaded = api.compile_file(path)
            found = [*loaded.warnings, *before.warnings,
                     *driver.validate(loaded.migration, before)]
    except CompileError as err:
        if _is_environment(err.diagnostics):
            _exit_for(err, output_format)
        failed, found = True, [*found, *err.diagnostics]
    _report(found, output_format)
    if failed:
        raise typer.Exit(EXIT_DIAGNOSTICS)


class PlanFormat(StrEnum):
    """How ``plan`` prints."""

    sql = "sql"
    json = "json"


class PhaseChoice(StrEnum):
    """Which phases ``plan`` prints."""

    start = "start"
    complete = "complete"
    rollback = "rollback"
    all = "all"


@app.command()
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
        "diagnostics as JSON, for tools).")] = PlanFormat.sql,
    output: Annotated[Path | None, typer.Option("-o", "--output", help="Write here.")] = None,
    optimize: Annotated[bool, typer.Option("--optimize/--no-optimize",
                                           help="Do less work where it is safe.")] = True,
    batch_size: Annotated[int, typer.Option("--backfill-batch-size", min=1)] = 1000,
    batch_delay: Annotated[float, typer.Option("--backfill-batch-delay", min=0.0,
                                               help="Seconds between batches.")] = 0.0,
    lock_timeout: Annotated[int, typer.Option("--lock-timeout", min=1,
                                              help="Milliseconds.")] = 500,
) -> None:
    """Print what start, complete and rollback will run: a reviewable SQL plan."""
    from pgroll_dsl import compile as driver

    output_format = OutputFormat.json if plan_format is PlanFormat.json else OutputFormat.text
    from pgroll_dsl.backends.sqlfile import plan_json, render_plan
    from pgroll_dsl.plan.model import Phase
    from pgroll_dsl.plan.planner import PlanOptions, plan_migration

    source = _catalog_source(history, snapshot, postgres_url, schema)
    try:
        checked = api.compile_file(migration_file)
        before = driver.catalog_before(source, migration_file)
        warnings = driver.validate(checked.migration, before)
    except CompileError as err:
        _exit_for(err, output_format)
    _report([*checked.warnings, *before.warnings, *warnings], output_format)
    options = PlanOptions.for_server(
        before.server_version, schema=schema, batch_size=batch_size, batch_delay=batch_delay,
        previous_version_schema=before.previous_version_schema, optimize=optimize)
    the_plan = plan_migration(checked.migration, before.catalog, options)
    phases = tuple(Phase) if phase is PhaseChoice.all else (Phase(phase.value),)
    text = (plan_json(the_plan) if plan_format is PlanFormat.json
            else render_plan(the_plan, phases, lock_timeout))
    _write(text, output)


def _write(text: str, output: Path | None) -> None:
    if output is None:
        sys.stdout.write(text)
        return
    try:
        output.write_text(text, encoding="utf-8")
    except OSError as err:
        typer.echo(f"error: cannot write {output}: {err.strerror}", err=True)
        raise typer.Exit(EXIT_USAGE) from None


catalog_app = typer.Typer(help="Catalog snapshots: the schema as a diff-friendly JSON file.",
                          no_args_is_help=True)
app.add_typer(catalog_app, name="catalog")


@catalog_app.command("dump")
def catalog_dump(
    postgres_url: Annotated[str, typer.Option("--postgres-url", envvar="PGROLL_PG_URL",
                                              help="The database to read.")],
    schema: SchemaOpt = "public",
    output: Annotated[Path | None, typer.Option("-o", "--output", help="Write here.")] = None,
    output_format: FormatOpt = OutputFormat.text,
) -> None:
    """Write a snapshot of a live schema, for offline validate/plan (--catalog)."""
    from pgroll_dsl.backends.live_catalog import live_before
    from pgroll_dsl.frontend.snapshot import dump_snapshot

    try:
        catalog = live_before(postgres_url, schema).catalog
    except CompileError as err:
        _exit_for(err, output_format)
    _write(dump_snapshot(catalog), output)


# ---- the live executor ---------------------------------------------------------------------

EXIT_PARTIAL = 3
DEFAULT_URL = "postgres://postgres:postgres@localhost?sslmode=disable"  # pgroll's default

LiveUrlOpt = Annotated[str, typer.Option("--postgres-url", envvar="PGROLL_PG_URL",
                                         help="The database to migrate.")]
StateOpt = Annotated[str, typer.Option("--pgroll-schema", envvar="PGROLL_STATE_SCHEMA",
                                       help="Schema of the migration history.")]
LockOpt = Annotated[int, typer.Option("--lock-timeout", envvar="PGROLL_LOCK_TIMEOUT", min=0,
                                      help="Milliseconds a statement waits for a lock.")]
WaitOpt = Annotated[float, typer.Option(
    "--lock-wait", envvar="PGROLL_DSL_LOCK_WAIT", min=0.0,
    help="Seconds a step that blocks clients waits for conflicting transactions to end "
         "before it asks for its lock.")]
RoleOpt = Annotated[str | None, typer.Option("--role", envvar="PGROLL_ROLE",
                                             help="SET ROLE for the migration session.")]
BatchOpt = Annotated[int, typer.Option("--backfill-batch-size", min=1,
                                       help="Rows per backfill batch.")]
DelayOpt = Annotated[float, typer.Option("--backfill-batch-delay", min=0.0,
                                         help="Seconds between backfill batches.")]


class _Progress:
    """Backfill progress: a rich bar with rows/s and ETA on a terminal, quiet otherwise."""

    def __init__(self) -> None:
        self.enabled = sys.stderr.isatty()
        self.bars: dict[str, Any] = {}
        self.progress: Any = None

    def __call__(self, table: str, rows: int, total: int) -> None:
        if not self.enabled:
            return
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            Progress,
            TextColumn,
            TimeRemainingColumn,
        )

        if self.progress is None:
            rate = TextColumn("{task.fields[rate]:>8} rows/s")
            self.progress = Progress(TextColumn("backfill {task.description}"), BarColumn(),
                                     MofNCompleteColumn(), rate, TimeRemainingColumn(),
                                     transient=True)
            self.progress.start()
        if table not in self.bars:
            self.bars[table] = self.progress.add_task(table, total=total or None, rate="-")
        task = self.bars[table]
        speed = self.progress.tasks[task].speed if rows else None
        self.progress.update(task, completed=rows, total=max(total, rows) or None,
                             rate=f"{speed:,.0f}" if speed else "-")

    def stop(self) -> None:
        if self.progress is not None:
            self.progress.stop()


def _runner(url: str, schema: str, state: str, lock: int, role: str | None,
            batch_size: int = 1000, batch_delay: float = 0.0,
            lock_wait: float = 60.0) -> tuple[Runner, _Progress]:
    # Imported here: fmt, convert, validate and plan never load the database driver.
    from pgroll_dsl.backends.live import Session
    from pgroll_dsl.backends.runner import CommandError, Runner, RunOptions

    progress = _Progress()

    def retry(step: Any, attempt: int, delay: float) -> None:
        typer.echo(f"lock timeout on {step.relation or 'a relation'} ({step.summary}); "
                   f"retry {attempt} in {delay:.2f}s", err=True)

    on_step, on_progress = _fault_hooks(progress)
    options = RunOptions(
        session=Session(url=url, schema=schema, lock_timeout_ms=lock, role=role,
                        holder_wait_s=lock_wait),
        state_schema=state, batch_size=batch_size, batch_delay=batch_delay,
        on_progress=on_progress, on_retry=retry,
        on_message=lambda m: typer.echo(m, err=True), on_step=on_step,
    )
    try:
        return Runner(options), progress
    except CommandError as err:
        _live_exit(err)


KILL_ENV = "PGROLL_DSL_KILL_AT"


def _fault_hooks(progress: _Progress) -> tuple[Any, Any]:
    """Test-only fault injection: ``PGROLL_DSL_KILL_AT=<phase>:<n>`` or ``backfill:<k>``.

    The process kills itself with SIGKILL right before step n (numbered as in the plan file)
    of a phase, or after k backfill batches: the harness proves that whatever a crash
    interrupts, running the phase again (or rollback) loses nothing.
    """
    target = os.environ.get(KILL_ENV, "")
    where, _, count = target.partition(":")
    if not count.isdigit():
        return None, progress
    limit = int(count)

    def on_step(event: Any) -> None:
        if event.phase.value == where and event.index + 1 == limit:
            os.kill(os.getpid(), signal.SIGKILL)

    batches = [0]

    def on_progress(table: str, rows: int, total: int) -> None:
        progress(table, rows, total)
        if where == "backfill" and rows > 0:
            batches[0] += 1
            if batches[0] >= limit:
                os.kill(os.getpid(), signal.SIGKILL)

    return on_step, on_progress


# What to run after a phase stopped part-way, by phase.
_RECOVER = {
    "start": "run `pgroll-dsl start FILE` again to resume it, or `pgroll-dsl rollback` to undo "
             "what it did",
    "complete": "run `pgroll-dsl complete` again to finish it",
    "rollback": "run `pgroll-dsl rollback` again to finish it",
}


def _refuse_duplicate_names(files: list[Path]) -> None:
    """Two files with one migration name: refused before anything runs (PGD113)."""
    from pgroll_dsl.frontend import duplicate_names

    found = duplicate_names(files)
    if found:
        _report(found, OutputFormat.text)
        raise typer.Exit(EXIT_DIAGNOSTICS)


def _live_exit(err: Exception, path: Path | None = None) -> NoReturn:
    from pgroll_dsl.backends.runner import PartialFailure, Unreachable

    typer.echo(f"error: {err}", err=True)
    if isinstance(err, PartialFailure):
        hint = _RECOVER[err.phase.value]
        if path is not None:
            hint = hint.replace("FILE", str(path))
        typer.echo(f"hint: {hint}", err=True)
        raise typer.Exit(EXIT_PARTIAL)
    raise typer.Exit(EXIT_USAGE if isinstance(err, Unreachable) else EXIT_DIAGNOSTICS)


@app.command()
def init(
    postgres_url: LiveUrlOpt = DEFAULT_URL, schema: SchemaOpt = "public",
    pgroll_schema: StateOpt = "pgroll", lock_timeout: LockOpt = 500, role: RoleOpt = None,
) -> None:
    """Install (or upgrade) the migration history schema; safe to run again."""
    from pgroll_dsl.backends.runner import CommandError

    runner, _ = _runner(postgres_url, schema, pgroll_schema, lock_timeout, role)
    try:
        runner.init()
    except CommandError as err:
        _live_exit(err)
    finally:
        runner.close()
    typer.echo("Initialization complete")


def _start(runner: Runner, progress: _Progress, path: Path, complete: bool) -> None:
    from pgroll_dsl.backends.runner import CommandError, PartialFailure

    try:
        loaded = api.compile_file(path)
    except CompileError as err:
        _report(err.diagnostics, OutputFormat.text)
        raise typer.Exit(EXIT_DIAGNOSTICS) from None
    migration = loaded.migration
    _report(list(loaded.warnings), OutputFormat.text)
    try:
        plan = runner.start(migration)
        progress.stop()
        typer.echo(f'New version of the schema available under the postgres '
                   f'"{plan.version_schema}" schema')
        if complete:
            runner.complete()
            typer.echo(f'Migration "{migration.name}" complete')
    except CompileError as err:
        progress.stop()
        _report(err.diagnostics, OutputFormat.text)
        raise typer.Exit(EXIT_DIAGNOSTICS) from None
    except (CommandError, PartialFailure) as err:
        progress.stop()
        _live_exit(err, path)
    except KeyboardInterrupt:
        progress.stop()
        typer.echo(f"interrupted: run `pgroll-dsl start {path}` again to resume, or "
                   "`pgroll-dsl rollback` to undo what was done", err=True)
        raise typer.Exit(130) from None


@app.command()
def start(
    migration_file: Annotated[Path, typer.Argument(metavar="FILE", help="The migration.")],
    complete: Annotated[bool, typer.Option("--complete", "-c",
                                           help="Complete right after starting.")] = False,
    postgres_url: LiveUrlOpt = DEFAULT_URL, schema: SchemaOpt = "public",
    pgroll_schema: StateOpt = "pgroll", lock_timeout: LockOpt = 500, role: RoleOpt = None,
    backfill_batch_size: BatchOpt = 1000, backfill_batch_delay: DelayOpt = 0.0,
    lock_wait: WaitOpt = 60.0,
) -> None:
    """Start a migration: both versions of the schema work until complete or rollback."""
    runner, progress = _runner(postgres_url, schema, pgroll_schema, lock_timeout, role,
                               backfill_batch_size, backfill_batch_delay, lock_wait)
    try:
        _start(runner, progress, migration_file, complete)
    finally:
        runner.close()


def _simple(action: str, url: str, schema: str, state: str, lock: int, role: str | None,
            lock_wait: float = 60.0) -> str:
    from pgroll_dsl.backends.runner import CommandError, PartialFailure

    runner, _ = _runner(url, schema, state, lock, role, lock_wait=lock_wait)
    try:
        result: str = getattr(runner, action)()
        return result
    except (CommandError, PartialFailure) as err:
        _live_exit(err)
    finally:
        runner.close()


@app.command()
def complete(
    postgres_url: LiveUrlOpt = DEFAULT_URL, schema: SchemaOpt = "public",
    pgroll_schema: StateOpt = "pgroll", lock_timeout: LockOpt = 500, role: RoleOpt = None,
    lock_wait: WaitOpt = 60.0,
) -> None:
    """Complete the active migration: the old version goes away."""
    name = _simple("complete", postgres_url, schema, pgroll_schema, lock_timeout, role,
                   lock_wait)
    typer.echo(f'Migration "{name}" complete')


@app.command()
def rollback(
    postgres_url: LiveUrlOpt = DEFAULT_URL, schema: SchemaOpt = "public",
    pgroll_schema: StateOpt = "pgroll", lock_timeout: LockOpt = 500, role: RoleOpt = None,
    lock_wait: WaitOpt = 60.0,
) -> None:
    """Undo the active migration; clients of the old version never notice."""
    name = _simple("rollback", postgres_url, schema, pgroll_schema, lock_timeout, role,
                   lock_wait)
    typer.echo(f'Migration "{name}" rolled back')


@app.command()
def status(
    postgres_url: LiveUrlOpt = DEFAULT_URL, schema: SchemaOpt = "public",
    pgroll_schema: StateOpt = "pgroll",
) -> None:
    """Print the schema's migration status as JSON (as pgroll does)."""
    import json

    from pgroll_dsl.backends.runner import CommandError

    runner, _ = _runner(postgres_url, schema, pgroll_schema, 500, None)
    try:
        document = runner.status()
    except CommandError as err:
        _live_exit(err)
    finally:
        runner.close()
    typer.echo(json.dumps(document, indent=2))


@app.command()
def latest(
    postgres_url: LiveUrlOpt = DEFAULT_URL, schema: SchemaOpt = "public",
    pgroll_schema: StateOpt = "pgroll",
) -> None:
    """Print the newest version schema: what an application puts in its search_path."""
    typer.echo(_simple("latest_schema", postgres_url, schema, pgroll_schema, 500, None))


@app.command()
def migrate(
    directory: Annotated[Path, typer.Argument(help="Directory of migration files.")],
    complete: Annotated[bool, typer.Option("--complete", "-c",
                                           help="Also complete the last one.")] = False,
    postgres_url: LiveUrlOpt = DEFAULT_URL, schema: SchemaOpt = "public",
    pgroll_schema: StateOpt = "pgroll", lock_timeout: LockOpt = 500, role: RoleOpt = None,
    backfill_batch_size: BatchOpt = 1000, backfill_batch_delay: DelayOpt = 0.0,
    lock_wait: WaitOpt = 60.0,
) -> None:
    """Apply every migration of the directory not applied yet, in file-name order."""
    from pgroll_dsl.backends.runner import CommandError
    from pgroll_dsl.frontend import migration_files

    if not directory.is_dir():
        typer.echo(f"error: {directory} is not a directory", err=True)
        raise typer.Exit(EXIT_USAGE)
    _refuse_duplicate_names(migration_files(directory))
    runner, progress = _runner(postgres_url, schema, pgroll_schema, lock_timeout, role,
                               backfill_batch_size, backfill_batch_delay, lock_wait)
    try:
        active = runner.state.active() if runner.state.initialized() else None
        if active is not None:
            typer.echo(f'migration "{active.name}" is active')
            return
        pending = runner.unapplied(migration_files(directory))
        if not pending:
            typer.echo("Database is up to date; no migrations to apply")
            return
        with runner.exclusive():  # one run at a time, for the whole directory
            for index, path in enumerate(pending):
                _start(runner, progress, path, complete or index < len(pending) - 1)
    except CommandError as err:
        _live_exit(err)
    finally:
        runner.close()


@app.command(name="try")
def try_(
    directory: Annotated[Path, typer.Argument(help="Migrations to run, in file-name order.")
                         ] = Path("examples"),
    schema: SchemaOpt = "public",
) -> None:
    """Run migrations on a throwaway embedded PostgreSQL and show both versions side by side.

    Nothing to install or configure: the server lives in a temporary directory and is gone
    when the command ends. Against a real server, use `migrate` with --postgres-url.
    """
    from pgroll_dsl.backends.runner import CommandError, PartialFailure
    from pgroll_dsl.embedded import EmbeddedServer, EmbeddedUnavailable
    from pgroll_dsl.frontend import migration_files

    files = migration_files(directory) if directory.is_dir() else []
    if not files:
        typer.echo(f"error: no migration files in {directory}", err=True)
        raise typer.Exit(EXIT_USAGE)
    _refuse_duplicate_names(files)
    try:
        server = EmbeddedServer()
        server.start()
    except EmbeddedUnavailable as err:
        typer.echo(f"error: cannot start the embedded PostgreSQL: {err}", err=True)
        raise typer.Exit(EXIT_USAGE) from None
    try:
        typer.echo(f"throwaway PostgreSQL at {server.dsn}")
        runner, progress = _runner(server.dsn, schema, "pgroll", 500, None)
        try:
            runner.init()
            for path in files:
                _try_one(runner, progress, path)
        except (CommandError, PartialFailure) as err:
            _live_exit(err)
        finally:
            runner.close()
    finally:
        server.stop()
    typer.echo("done: the server is gone; nothing was left behind")


def _try_one(runner: Runner, progress: _Progress, path: Path) -> None:
    """Start one migration, show what each version sees, complete it."""
    from pgroll_dsl.catalog.derived import version_schema

    old = runner.state.latest_version()
    _start(runner, progress, path, complete=False)
    new = runner.state.latest_version()
    schema = runner.state.schema
    for label, version in (("old", old), ("new", new)):
        if version is None:
            typer.echo(f"  {label} version: (none yet)")
            continue
        rows = runner.conn.execute(
            "SELECT table_name, string_agg(column_name, ', ' ORDER BY ordinal_position) "
            "FROM information_schema.columns WHERE table_schema = %s GROUP BY table_name "
            "ORDER BY table_name", (version_schema(schema, version),)).fetchall()
        shown = "; ".join(f"{table}({columns})" for table, columns in rows) or "(no tables)"
        typer.echo(f"  {label} version {version_schema(schema, version)}: {shown}")
    name = runner.complete()
    typer.echo(f'  completed "{name}": only the new version remains')


def main() -> None:
    """Console entry point: no Python traceback reaches a user for bad input."""
    try:
        app()
    except KeyboardInterrupt:
        sys.stderr.write("interrupted\n")
        sys.exit(130)
