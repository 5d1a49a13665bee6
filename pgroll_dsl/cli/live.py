"""The commands that run on a database: init, start, complete, rollback, migrate, and more.

All of them: init, start, complete, rollback, status and migrate (``try`` is in
``tryout.py``; baseline, pull, create and latest in ``adopt.py``). Each parses its options,
opens a ``Migrator`` (``pgroll_dsl.api.connect``), calls it, and says what happened; which
exit code an API exception gets is ``cli/exit.py``'s. The API (and with it the database
driver) is imported inside the commands, never at start-up.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from pgroll_dsl.cli.exit import (
    EXIT_DIAGNOSTICS,
    EXIT_INTERRUPTED,
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
    SkipValidationOpt,
    StateOpt,
    VerboseOpt,
    VersionSchemaOpt,
    WaitOpt,
    WorkersOpt,
)
from pgroll_dsl.cli.progress import BackfillProgress
from pgroll_dsl.diagnostics import CompileError

if TYPE_CHECKING:
    from pgroll_dsl.api import Migrator
    from pgroll_dsl.api.types import SavedPlan


def _say(message: str) -> None:
    typer.echo(message, err=True)


def _runner(url: str, schema: str, state: str, lock: int, role: str | None,
            batch_size: int | None = None, batch_delay: float = 0.0,
            lock_wait: float = 60.0, batch_time: int = 50, workers: int = 1,
            max_lag: int = 0, *, verbose: bool = False, skip_validation: bool = False,
            version_schema: bool = True) -> tuple[Migrator, BackfillProgress]:
    """A ``Migrator`` on ``url``, reporting on stderr (exit 2 if the database is unreachable)."""
    from pgroll_dsl import api

    progress = BackfillProgress()
    try:
        migrator = api.connect(
            url, api.SessionOptions(schema=schema, state_schema=state, lock_timeout_ms=lock,
                                    lock_wait_s=lock_wait, role=role),
            api.Backfill(batch_size=batch_size, batch_delay_s=batch_delay,
                         batch_time_ms=batch_time, workers=workers, max_replica_lag_mb=max_lag),
            on_progress=progress, on_message=_say,
            on_statement=_statement if verbose else None, skip_validation=skip_validation,
            use_version_schema=version_schema)
    except api.PgrollDslError as err:
        live_exit(err)
    return migrator, progress


def _statement(sql: str, seconds: float | None) -> None:
    """``--verbose``: a statement of the plan as it starts, then the time it took (stderr)."""
    typer.echo(f"{sql};" if seconds is None else f"-- {seconds * 1000:.1f} ms", err=True)


def _refuse_directory(path: Path, command: str) -> None:
    """A directory where one migration file is expected: say what to run instead (exit 2)."""
    if path.is_dir():
        usage_error(f"{path} is a directory; {command} takes one migration file (to apply a "
                    f"directory: pgroll-dsl migrate {path})")


def _refuse_duplicate_names(directory: Path) -> None:
    """Two files with one migration name: refused before anything runs (PGD113)."""
    from pgroll_dsl import api

    found = api.duplicate_names(api.migration_files(directory))
    if found:
        report(found, TEXT)
        raise typer.Exit(EXIT_DIAGNOSTICS)


def init(
    postgres_url: LiveUrlOpt = DEFAULT_URL, schema: SchemaOpt = "public",
    pgroll_schema: StateOpt = "pgroll", lock_timeout: LockOpt = 500, role: RoleOpt = None,
) -> None:
    """Install (or upgrade) the migration history schema; safe to run again."""
    from pgroll_dsl import api

    runner, _ = _runner(postgres_url, schema, pgroll_schema, lock_timeout, role)
    try:
        runner.init()
    except api.PgrollDslError as err:
        live_exit(err)
    finally:
        runner.close()
    typer.echo("Initialization complete")


def _start(runner: Migrator, progress: BackfillProgress, path: Path | None, complete: bool,
           saved: SavedPlan | None = None, *, version_schema: bool = True) -> None:
    """Compile one file, start it (and complete it), and say so; errors exit.

    With ``saved`` (``start --plan``) its steps run; the migration is ``path``, or the one
    the saved plan carries. ``version_schema``: whether start makes one (else the message
    names the migration).
    """
    import json

    from pgroll_dsl import api

    try:
        if path is None and saved is not None:
            loaded = api.compile_source(json.dumps(saved.basis.migration),
                                        f"{saved.plan.migration}.json")
        else:
            assert path is not None
            loaded = api.compile_file(path)
    except CompileError as err:
        report(err.diagnostics, TEXT)
        raise typer.Exit(EXIT_DIAGNOSTICS) from None
    migration = loaded.migration
    report(loaded.warnings, TEXT)
    try:
        started = runner.start(loaded, saved=saved)
        progress.stop()
        if version_schema:
            typer.echo(f'New version of the schema available under the postgres '
                       f'"{started.version_schema}" schema')
        else:
            typer.echo(f'Migration "{migration.name}" started successfully')
        if complete:
            runner.complete()
            typer.echo(f'Migration "{migration.name}" complete')
    except CompileError as err:
        progress.stop()
        report(err.diagnostics, TEXT)
        raise typer.Exit(EXIT_DIAGNOSTICS) from None
    except api.PgrollDslError as err:
        progress.stop()
        live_exit(err, path)
    except KeyboardInterrupt:
        progress.stop()
        again = f"--plan {saved.path}" if saved is not None else str(path)
        if runner.start_recorded:
            typer.echo(f"interrupted: run `pgroll-dsl start {again}` again to resume, or "
                       "`pgroll-dsl rollback` to undo what was done", err=True)
        else:  # still planning or asking the server: nothing to resume or roll back
            typer.echo(f"interrupted before the start of {again} changed anything: nothing "
                       "to undo", err=True)
        raise typer.Exit(EXIT_INTERRUPTED) from None


def _read_plan(path: Path) -> SavedPlan:
    """A saved plan file, checked for edits (exit 2 if unreadable, 1 if refused)."""
    from pgroll_dsl import api

    try:  # a file that cannot be read is a usage error, in the words of Python's error
        path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as err:
        usage_error(f"cannot read {path}: {err}")
    try:
        saved = api.read_saved_plan(path)
    except api.InvalidSavedPlan as err:
        typer.echo(f"error: {err}; nothing was changed", err=True)
        raise typer.Exit(EXIT_DIAGNOSTICS) from None
    return saved


# Options of start that shape a plan's steps: with --plan, the saved plan's own values apply.
_PLANNED = {"backfill_batch_size": ("--backfill-batch-size", "batch_size"),
            "backfill_batch_delay": ("--backfill-batch-delay", "batch_delay"),
            "backfill_batch_time": ("--backfill-batch-time", "batch_time_ms"),
            "backfill_max_replica_lag": ("--backfill-max-replica-lag", "max_replica_lag_mb"),
            "use_version_schema": ("--use-version-schema", "version_schema"),
            "schema": ("--schema", "schema")}


def _refuse_other_options(ctx: typer.Context, saved: SavedPlan) -> None:
    """Refuse (exit 2) an option given with --plan that would plan other steps.

    A saved plan runs as reviewed, with the options it was planned with; silently ignoring
    a flag the operator typed would run something else than they think.
    """
    for param, (flag, field) in _PLANNED.items():
        source = ctx.get_parameter_source(param)
        if source is None or source.name == "DEFAULT":  # not given: the plan's value applies
            continue
        given, planned = ctx.params[param], saved.basis.options.get(field)
        if given != planned:
            shown = "default" if planned is None else planned  # e.g. a batch size by table size
            usage_error(f"{flag} {given} differs from the saved plan's {shown}: the plan runs "
                        f"as reviewed; leave the option out, or plan again with it")


def start(
    ctx: typer.Context,
    migration_file: Annotated[Path | None, typer.Argument(
        metavar="[FILE]", help="The migration (optional with --plan: the plan carries it).")
    ] = None,
    complete: Annotated[bool, typer.Option("--complete", "-c",
                                           help="Complete right after starting.")] = False,
    postgres_url: LiveUrlOpt = DEFAULT_URL, schema: SchemaOpt = "public",
    pgroll_schema: StateOpt = "pgroll", lock_timeout: LockOpt = 500, role: RoleOpt = None,
    backfill_batch_size: BatchOpt = None, backfill_batch_delay: DelayOpt = 0.0,
    lock_wait: WaitOpt = 60.0, backfill_batch_time: BatchTimeOpt = 50,
    backfill_workers: WorkersOpt = 1, backfill_max_replica_lag: LagOpt = 0,
    skip_validation: SkipValidationOpt = False, use_version_schema: VersionSchemaOpt = True,
    verbose: VerboseOpt = False,
    plan_file: Annotated[Path | None, typer.Option(
        "--plan", help="Run this saved plan (`plan -o FILE`) as reviewed, if the database "
        "still matches it; refused otherwise, with what differs.")] = None,
) -> None:
    """Start a migration: both versions of the schema work until complete or rollback."""
    if migration_file is None and plan_file is None:
        usage_error("give the migration FILE, or a saved plan with --plan FILE")
    if migration_file is not None:
        _refuse_directory(migration_file, "start")
    saved = _read_plan(plan_file) if plan_file is not None else None
    if saved is not None:
        _refuse_other_options(ctx, saved)
    runner, progress = _runner(postgres_url, schema, pgroll_schema, lock_timeout, role,
                               backfill_batch_size, backfill_batch_delay, lock_wait,
                               backfill_batch_time, backfill_workers, backfill_max_replica_lag,
                               verbose=verbose, skip_validation=skip_validation,
                               version_schema=use_version_schema)
    try:
        _start(runner, progress, migration_file, complete, saved,
               version_schema=use_version_schema)
    finally:
        runner.close()


def _simple(action: str, url: str, schema: str, state: str, lock: int, role: str | None,
            lock_wait: float = 60.0, verbose: bool = False) -> str:
    """Complete or roll back the active migration; its name."""
    from pgroll_dsl import api

    runner, _ = _runner(url, schema, state, lock, role, lock_wait=lock_wait, verbose=verbose)
    try:
        finished = runner.complete() if action == "complete" else runner.rollback()
        return finished.name
    except api.PgrollDslError as err:
        live_exit(err)
    except KeyboardInterrupt:  # Ctrl-C or SIGTERM: the phase's transaction was rolled back
        typer.echo(f"interrupted: run `pgroll-dsl {action}` again to finish it", err=True)
        raise typer.Exit(EXIT_INTERRUPTED) from None
    finally:
        runner.close()


def complete(
    postgres_url: LiveUrlOpt = DEFAULT_URL, schema: SchemaOpt = "public",
    pgroll_schema: StateOpt = "pgroll", lock_timeout: LockOpt = 500, role: RoleOpt = None,
    lock_wait: WaitOpt = 60.0, verbose: VerboseOpt = False,
) -> None:
    """Complete the active migration: the old version goes away."""
    name = _simple("complete", postgres_url, schema, pgroll_schema, lock_timeout, role,
                   lock_wait, verbose)
    typer.echo(f'Migration "{name}" complete')


def rollback(
    postgres_url: LiveUrlOpt = DEFAULT_URL, schema: SchemaOpt = "public",
    pgroll_schema: StateOpt = "pgroll", lock_timeout: LockOpt = 500, role: RoleOpt = None,
    lock_wait: WaitOpt = 60.0, verbose: VerboseOpt = False,
) -> None:
    """Undo the active migration; clients of the old version never notice."""
    name = _simple("rollback", postgres_url, schema, pgroll_schema, lock_timeout, role,
                   lock_wait, verbose)
    typer.echo(f'Migration "{name}" rolled back')


def status(
    postgres_url: LiveUrlOpt = DEFAULT_URL, schema: SchemaOpt = "public",
    pgroll_schema: StateOpt = "pgroll", role: RoleOpt = None,
    detail: Annotated[bool, typer.Option(
        "--detail", help="Also where the active migration stands: the step under way or "
        "where it stopped, whether a process runs it, and what to run next.")] = False,
) -> None:
    """Print the schema's migration status as JSON (as pgroll does)."""
    import json

    from pgroll_dsl import api

    runner, _ = _runner(postgres_url, schema, pgroll_schema, 500, role)
    try:
        document: dict[str, object] = {**runner.status().to_dict()}
        if detail:
            found = runner.progress()
            document["progress"] = found.detail if found is not None else None
    except api.PgrollDslError as err:
        live_exit(err)
    finally:
        runner.close()
    typer.echo(json.dumps(document, indent=2))


def migrate(
    directory: Annotated[Path, typer.Argument(help="Directory of migration files.")],
    complete: Annotated[bool, typer.Option("--complete", "-c",
                                           help="Also complete the last one.")] = False,
    postgres_url: LiveUrlOpt = DEFAULT_URL, schema: SchemaOpt = "public",
    pgroll_schema: StateOpt = "pgroll", lock_timeout: LockOpt = 500, role: RoleOpt = None,
    backfill_batch_size: BatchOpt = None, backfill_batch_delay: DelayOpt = 0.0,
    lock_wait: WaitOpt = 60.0, backfill_batch_time: BatchTimeOpt = 50,
    backfill_workers: WorkersOpt = 1, backfill_max_replica_lag: LagOpt = 0,
    expect_one: Annotated[bool, typer.Option(
        "--expect-one", help="Refuse (exit 1) when more than one migration is to be applied.")
                          ] = False,
    skip_validation: SkipValidationOpt = False, use_version_schema: VersionSchemaOpt = True,
    verbose: VerboseOpt = False,
) -> None:
    """Apply every migration of the directory not applied yet, in file-name order."""
    from pgroll_dsl import api

    if directory.is_file():
        usage_error(f"{directory} is a file; migrate takes a directory of migrations (for one "
                    f"file: pgroll-dsl start {directory})")
    if not directory.is_dir():
        usage_error(f"{directory} is not a directory")
    _refuse_duplicate_names(directory)
    runner, progress = _runner(postgres_url, schema, pgroll_schema, lock_timeout, role,
                               backfill_batch_size, backfill_batch_delay, lock_wait,
                               backfill_batch_time, backfill_workers, backfill_max_replica_lag,
                               verbose=verbose, skip_validation=skip_validation,
                               version_schema=use_version_schema)
    try:
        # One run at a time, for the whole directory: what is pending is read under the lock,
        # so a run still working on the schema (a start in its backfill) refuses this one.
        with runner.exclusive():
            todo = runner.pending(directory)
            if todo.active is not None:
                typer.echo(f'migration "{todo.active}" is active')
                return
            if not todo.files:
                typer.echo("Database is up to date; no migrations to apply")
                return
            if expect_one and len(todo.files) > 1:
                raise api.MigrationRefused(
                    f"expected one migration to apply but found {len(todo.files)}")
            runner.validate_pending(directory, todo.files)  # all of them before the first runs
            for index, path in enumerate(todo.files):
                _start(runner, progress, path, complete or index < len(todo.files) - 1,
                       version_schema=use_version_schema)
    except CompileError as err:
        report(err.diagnostics, TEXT)
        raise typer.Exit(EXIT_DIAGNOSTICS) from None
    except api.PgrollDslError as err:
        live_exit(err)
    finally:
        runner.close()

