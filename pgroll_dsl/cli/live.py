"""The commands that run on a database: init, start, complete, rollback, migrate, and more.

All of them: init, start, complete, rollback, status, latest, migrate and try. Each parses
its options, opens the executor (``backends/commands.py``: the runner with its hooks), calls
it, and says what happened; which exit code an executor error gets is ``cli/exit.py``'s. The
database driver is imported inside the commands, never at start-up.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from pgroll_dsl.cli.exit import (
    EXIT_DIAGNOSTICS,
    EXIT_INTERRUPTED,
    EXIT_USAGE,
    live_exit,
    report,
    usage_error,
)
from pgroll_dsl.cli.options import (
    DEFAULT_URL,
    TEXT,
    BatchOpt,
    BatchTimeOpt,
    DelayOpt,
    LagOpt,
    LiveUrlOpt,
    LockOpt,
    RoleOpt,
    SchemaOpt,
    StateOpt,
    WaitOpt,
    WorkersOpt,
)
from pgroll_dsl.cli.progress import BackfillProgress
from pgroll_dsl.diagnostics import CompileError

if TYPE_CHECKING:
    from pgroll_dsl.backends.runner import Runner


def _say(message: str) -> None:
    typer.echo(message, err=True)


def _runner(url: str, schema: str, state: str, lock: int, role: str | None,
            batch_size: int = 1000, batch_delay: float = 0.0,
            lock_wait: float = 60.0, batch_time: int = 50, workers: int = 1,
            max_lag: int = 0) -> tuple[Runner, BackfillProgress]:
    """The executor on ``url``, reporting on stderr (exit 2 if the database is unreachable)."""
    from pgroll_dsl.backends.commands import open_runner
    from pgroll_dsl.backends.live import Session
    from pgroll_dsl.backends.runner import CommandError, RunOptions

    progress = BackfillProgress()
    options = RunOptions(
        session=Session(url=url, schema=schema, lock_timeout_ms=lock, role=role,
                        holder_wait_s=lock_wait),
        state_schema=state, batch_size=batch_size, batch_delay=batch_delay,
        batch_time_ms=batch_time, backfill_workers=workers, max_replica_lag_mb=max_lag,
        on_progress=progress, on_message=_say,
    )
    try:
        runner = open_runner(options)
    except CommandError as err:
        live_exit(err)
    return runner, progress


def _refuse_duplicate_names(files: list[Path]) -> None:
    """Two files with one migration name: refused before anything runs (PGD113)."""
    from pgroll_dsl.frontend import duplicate_names

    found = duplicate_names(files)
    if found:
        report(found, TEXT)
        raise typer.Exit(EXIT_DIAGNOSTICS)


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
        live_exit(err)
    finally:
        runner.close()
    typer.echo("Initialization complete")


def _start(runner: Runner, progress: BackfillProgress, path: Path, complete: bool) -> None:
    """Compile one file, start it (and complete it), and say so; errors exit."""
    from pgroll_dsl import api
    from pgroll_dsl.backends.runner import CommandError, PartialFailure

    try:
        loaded = api.compile_file(path)
    except CompileError as err:
        report(err.diagnostics, TEXT)
        raise typer.Exit(EXIT_DIAGNOSTICS) from None
    migration = loaded.migration
    report(loaded.warnings, TEXT)
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
        report(err.diagnostics, TEXT)
        raise typer.Exit(EXIT_DIAGNOSTICS) from None
    except (CommandError, PartialFailure) as err:
        progress.stop()
        live_exit(err, path)
    except KeyboardInterrupt:
        progress.stop()
        typer.echo(f"interrupted: run `pgroll-dsl start {path}` again to resume, or "
                   "`pgroll-dsl rollback` to undo what was done", err=True)
        raise typer.Exit(EXIT_INTERRUPTED) from None


def start(
    migration_file: Annotated[Path, typer.Argument(metavar="FILE", help="The migration.")],
    complete: Annotated[bool, typer.Option("--complete", "-c",
                                           help="Complete right after starting.")] = False,
    postgres_url: LiveUrlOpt = DEFAULT_URL, schema: SchemaOpt = "public",
    pgroll_schema: StateOpt = "pgroll", lock_timeout: LockOpt = 500, role: RoleOpt = None,
    backfill_batch_size: BatchOpt = 1000, backfill_batch_delay: DelayOpt = 0.0,
    lock_wait: WaitOpt = 60.0, backfill_batch_time: BatchTimeOpt = 50,
    backfill_workers: WorkersOpt = 1, backfill_max_replica_lag: LagOpt = 0,
) -> None:
    """Start a migration: both versions of the schema work until complete or rollback."""
    runner, progress = _runner(postgres_url, schema, pgroll_schema, lock_timeout, role,
                               backfill_batch_size, backfill_batch_delay, lock_wait,
                               backfill_batch_time, backfill_workers, backfill_max_replica_lag)
    try:
        _start(runner, progress, migration_file, complete)
    finally:
        runner.close()


def _simple(action: str, url: str, schema: str, state: str, lock: int, role: str | None,
            lock_wait: float = 60.0) -> str:
    """Run one no-argument method of the runner; its result."""
    from pgroll_dsl.backends.runner import CommandError, PartialFailure

    runner, _ = _runner(url, schema, state, lock, role, lock_wait=lock_wait)
    try:
        result: str = getattr(runner, action)()
        return result
    except (CommandError, PartialFailure) as err:
        live_exit(err)
    finally:
        runner.close()


def complete(
    postgres_url: LiveUrlOpt = DEFAULT_URL, schema: SchemaOpt = "public",
    pgroll_schema: StateOpt = "pgroll", lock_timeout: LockOpt = 500, role: RoleOpt = None,
    lock_wait: WaitOpt = 60.0,
) -> None:
    """Complete the active migration: the old version goes away."""
    name = _simple("complete", postgres_url, schema, pgroll_schema, lock_timeout, role,
                   lock_wait)
    typer.echo(f'Migration "{name}" complete')


def rollback(
    postgres_url: LiveUrlOpt = DEFAULT_URL, schema: SchemaOpt = "public",
    pgroll_schema: StateOpt = "pgroll", lock_timeout: LockOpt = 500, role: RoleOpt = None,
    lock_wait: WaitOpt = 60.0,
) -> None:
    """Undo the active migration; clients of the old version never notice."""
    name = _simple("rollback", postgres_url, schema, pgroll_schema, lock_timeout, role,
                   lock_wait)
    typer.echo(f'Migration "{name}" rolled back')


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
        live_exit(err)
    finally:
        runner.close()
    typer.echo(json.dumps(document, indent=2))


def latest(
    postgres_url: LiveUrlOpt = DEFAULT_URL, schema: SchemaOpt = "public",
    pgroll_schema: StateOpt = "pgroll",
) -> None:
    """Print the newest version schema: what an application puts in its search_path."""
    typer.echo(_simple("latest_schema", postgres_url, schema, pgroll_schema, 500, None))


def migrate(
    directory: Annotated[Path, typer.Argument(help="Directory of migration files.")],
    complete: Annotated[bool, typer.Option("--complete", "-c",
                                           help="Also complete the last one.")] = False,
    postgres_url: LiveUrlOpt = DEFAULT_URL, schema: SchemaOpt = "public",
    pgroll_schema: StateOpt = "pgroll", lock_timeout: LockOpt = 500, role: RoleOpt = None,
    backfill_batch_size: BatchOpt = 1000, backfill_batch_delay: DelayOpt = 0.0,
    lock_wait: WaitOpt = 60.0, backfill_batch_time: BatchTimeOpt = 50,
    backfill_workers: WorkersOpt = 1, backfill_max_replica_lag: LagOpt = 0,
) -> None:
    """Apply every migration of the directory not applied yet, in file-name order."""
    from pgroll_dsl.backends.commands import pending
    from pgroll_dsl.backends.runner import CommandError
    from pgroll_dsl.frontend import migration_files

    if not directory.is_dir():
        usage_error(f"{directory} is not a directory")
    _refuse_duplicate_names(migration_files(directory))
    runner, progress = _runner(postgres_url, schema, pgroll_schema, lock_timeout, role,
                               backfill_batch_size, backfill_batch_delay, lock_wait,
                               backfill_batch_time, backfill_workers, backfill_max_replica_lag)
    try:
        todo = pending(runner, migration_files(directory))
        if todo.active is not None:
            typer.echo(f'migration "{todo.active}" is active')
            return
        if not todo.files:
            typer.echo("Database is up to date; no migrations to apply")
            return
        with runner.exclusive():  # one run at a time, for the whole directory
            for index, path in enumerate(todo.files):
                _start(runner, progress, path, complete or index < len(todo.files) - 1)
    except CommandError as err:
        live_exit(err)
    finally:
        runner.close()


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
        usage_error(f"no migration files in {directory}")
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
            live_exit(err)
        finally:
            runner.close()
    finally:
        server.stop()
    typer.echo("done: the server is gone; nothing was left behind")


def _try_one(runner: Runner, progress: BackfillProgress, path: Path) -> None:
    """Start one migration, show what each version sees, complete it."""
    from pgroll_dsl.backends.live_catalog import version_tables
    from pgroll_dsl.catalog.derived import version_schema

    old = runner.state.latest_version()
    _start(runner, progress, path, complete=False)
    new = runner.state.latest_version()
    schema = runner.state.schema
    for label, version in (("old", old), ("new", new)):
        if version is None:
            typer.echo(f"  {label} version: (none yet)")
            continue
        rows = version_tables(runner.conn, version_schema(schema, version))
        shown = "; ".join(f"{table}({columns})" for table, columns in rows) or "(no tables)"
        typer.echo(f"  {label} version {version_schema(schema, version)}: {shown}")
    name = runner.complete()
    typer.echo(f'  completed "{name}": only the new version remains')
