"""Migrations run on a live database: init, start, complete, rollback, status, latest, migrate.

``connect`` opens a ``Migrator``: the executor's dedicated connection with the CLI's options
(``SessionOptions``, ``Backfill``), a progress and a message callback. Its methods return the
frozen results of ``results.py`` and raise the exceptions of ``errors.py``, never the
executor's own. The executor and the database driver are imported on ``connect``, so that a
program which only compiles never loads them.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING

from pgroll_dsl import ir
from pgroll_dsl.api.database import Database, conninfo
from pgroll_dsl.api.errors import (
    DatabaseUnreachable,
    InvalidMigration,
    MigrationRefused,
    PhaseIncomplete,
    single,
)
from pgroll_dsl.api.migrations import compile_file, emit
from pgroll_dsl.api.results import (
    Backfill,
    Baselined,
    Finished,
    MessageCallback,
    Migrated,
    Pending,
    Progress,
    ProgressCallback,
    Pulled,
    SessionOptions,
    Started,
    Status,
    Syntax,
)
from pgroll_dsl.compile import Loaded
from pgroll_dsl.diagnostics import CompileError, Diagnostic, codes

if TYPE_CHECKING:
    from pgroll_dsl.backends.runner import Runner
    from pgroll_dsl.render.saved_plan import SavedPlan

# Called with each statement of the plan about to run (seconds ``None``), then once it ran
# with the seconds it took (``--verbose``).
StatementCallback = Callable[[str, float | None], None]


@contextmanager
def _translated(file: Path | None = None) -> Iterator[None]:
    """The executor's and the compiler's exceptions as the API's."""
    from pgroll_dsl.backends.runner import CommandError, PartialFailure, Unreachable

    try:
        yield
    except CompileError as err:
        raise InvalidMigration.of(err) from None
    except Unreachable as err:
        raise DatabaseUnreachable(str(err), single(codes.CANNOT_CONNECT, str(err))) from err
    except CommandError as err:
        raise MigrationRefused(str(err)) from err
    except PartialFailure as err:
        raise PhaseIncomplete(str(err), err.phase.value, file) from err


def _loaded(migration: str | Path | ir.Migration | Loaded | None,
            saved: SavedPlan | None) -> tuple[Loaded, Path | None]:
    if migration is None:
        if saved is None:
            raise ValueError("start needs a migration, a saved plan, or both")
        import json

        from pgroll_dsl.api.migrations import compile_source

        text = json.dumps(saved.basis.migration)
        return compile_source(text, f"{saved.plan.migration}.json"), None
    if isinstance(migration, Loaded):
        return migration, None
    if isinstance(migration, ir.Migration):
        return Loaded(migration, ()), None
    return compile_file(migration), Path(migration)


class Migrator:
    """One migration session on one target schema; close it (or use it as a context manager).

    ``skip_validation`` starts migrations without checking them against the live schema;
    ``use_version_schema=False`` creates no version schema of views (pgroll's flags of the
    same names). ``on_statement`` hears of each statement before (``None``) and after it runs
    (its seconds).

    Raises ``DatabaseUnreachable`` when the database cannot be reached. Every method holds
    the schema's run lock while it changes anything: a second run fails with
    ``MigrationRefused`` instead of interleaving.
    """

    def __init__(self, database: Database, session: SessionOptions | None = None,
                 backfill: Backfill | None = None, *,
                 on_progress: ProgressCallback | None = None,
                 on_message: MessageCallback | None = None,
                 on_statement: StatementCallback | None = None,
                 skip_validation: bool = False, use_version_schema: bool = True) -> None:
        from pgroll_dsl.backends.commands import open_runner
        from pgroll_dsl.backends.live import Session
        from pgroll_dsl.backends.runner import RunOptions

        self.session = session or SessionOptions()
        self.backfill = backfill or Backfill()
        self.skip_validation = skip_validation
        options = RunOptions(
            session=Session(url=conninfo(database), schema=self.session.schema,
                            lock_timeout_ms=self.session.lock_timeout_ms,
                            role=self.session.role, holder_wait_s=self.session.lock_wait_s),
            state_schema=self.session.state_schema, batch_size=self.backfill.batch_size,
            batch_delay=self.backfill.batch_delay_s, batch_time_ms=self.backfill.batch_time_ms,
            backfill_workers=self.backfill.workers,
            max_replica_lag_mb=self.backfill.max_replica_lag_mb,
            on_progress=on_progress, on_message=on_message, on_statement=on_statement,
            skip_validation=skip_validation, version_schema=use_version_schema)
        self.dsn = conninfo(database)
        with _translated():
            self._runner: Runner = open_runner(options)

    def close(self) -> None:
        """Close the session's connection (a run lock still held goes with it)."""
        self._runner.close()

    def __enter__(self) -> Migrator:
        return self

    def __exit__(self, kind: type[BaseException] | None, value: BaseException | None,
                 traceback: TracebackType | None) -> None:
        self.close()

    @contextmanager
    def exclusive(self) -> Iterator[None]:
        """Hold the schema's run lock across several calls (``migrate`` holds it so).

        A second run fails at once with ``MigrationRefused``, naming this one's process.
        """
        with _translated(), self._runner.exclusive():
            yield

    def init(self) -> None:
        """Install or upgrade the migration history schema; safe to run again."""
        with _translated():
            self._runner.init()

    def start(self, migration: str | Path | ir.Migration | Loaded | None = None, *,
              complete: bool = False, saved: SavedPlan | None = None) -> Started:
        """Start a migration: both versions work until complete or rollback.

        ``migration`` is a file, or a migration loaded already. An interrupted start of the
        same migration resumes. ``complete=True`` completes it right away. With ``saved`` (a
        reviewed plan, ``render.saved_plan.read_saved``) exactly its steps run, once the
        schema is checked to be the one it was planned against; the migration defaults to
        the one it carries.

        Raises ``InvalidMigration`` (nothing ran), ``MigrationRefused`` (nothing changed; a
        start that failed was rolled back), ``PhaseIncomplete`` (run start again, or
        rollback).
        """
        loaded, file = _loaded(migration, saved)
        with _translated(file):
            plan = self._runner.start(loaded.migration, saved)
            if complete:
                self._runner.complete()
        return Started(loaded.migration.name, plan.version_schema,
                       plan.previous_version_schema, complete, loaded.warnings)

    @property
    def start_recorded(self) -> bool:
        """Whether the last ``start`` got as far as recording its migration (or resumed one).

        After a start cut short (``KeyboardInterrupt``, a signal), ``False`` means it changed
        nothing: there is nothing to resume or roll back.
        """
        return self._runner.start_recorded

    def complete(self) -> Finished:
        """Complete the active migration: the old version goes away."""
        with _translated():
            return Finished(self._runner.complete(), "complete")

    def rollback(self) -> Finished:
        """Undo the active migration; clients of the old version never notice."""
        with _translated():
            return Finished(self._runner.rollback(), "rollback")

    def status(self) -> Status:
        """The schema's status, as pgroll reports it."""
        with _translated():
            found = self._runner.status()
        return Status(found["schema"], found["version"], found["status"])

    def progress(self) -> Progress | None:
        """Where the active migration stands and who runs it; None when none is active.

        Reads only (it never takes the run lock): safe while another process runs a phase.
        """
        with _translated():
            found = self._runner.progress()
        return Progress.of(found) if found is not None else None

    def latest(self) -> str:
        """The newest version schema: what an application puts in its ``search_path``."""
        with _translated():
            return self._runner.latest_schema()

    def latest_migration(self) -> str:
        """The name of the newest migration in the history (active or not)."""
        from pgroll_dsl.backends.runner import CommandError

        # the runner's own translation of a dropped connection or a missing right
        with _translated(), self._runner._errors():
            if not self._runner.state.initialized():
                raise CommandError("pgroll is not initialized, run 'pgroll-dsl init' to "
                                   "initialize")
            latest = self._runner.state.latest_migration()
        if latest is None:
            raise MigrationRefused(f'no migrations in the history of schema '
                                   f'"{self.session.schema}"')
        return latest

    def current_version_schema(self) -> str | None:
        """The version schema clients use now (the latest one), or None before any.

        None too before ``init``: an application that asks at its start-up, before the
        first deployment ran its migrations, uses the base schema.
        """
        from pgroll_dsl.catalog.derived import version_schema

        with _translated(), self._runner._errors():
            state = self._runner.state
            latest = state.latest_version() if state.initialized() else None
        return version_schema(self.session.schema, latest) if latest is not None else None

    def pending(self, directory: str | Path) -> Pending:
        """What ``migrate`` would do with ``directory`` now (nothing is run).

        Raises ``InvalidMigration`` for no directory or two files of one migration name
        (PGD113), ``MigrationRefused`` when the history is not initialised or its migrations
        do not match the files.
        """
        from pgroll_dsl.backends.commands import pending

        files = _directory_files(directory)
        with _translated():
            todo = pending(self._runner, files)
        return Pending(todo.active, tuple(todo.files))

    def baseline(self, name: str, directory: str | Path, syntax: Syntax = "yaml") -> Baselined:
        """Record the schema as it is as migration ``name``; the schema is not changed.

        Its file (``directory``/``name`` in ``syntax``, made if missing) holds the schema's
        DDL in a ``sql`` operation, so that offline replay starts from it; the history gets
        pgroll's baseline row. Refused (``MigrationRefused``, nothing recorded) while a
        migration is active, when ``name`` is in the history or its file exists, or when the
        file cannot be written.
        """
        from pgroll_dsl.api.migrations import migration_path
        from pgroll_dsl.backends.baseline import create_baseline
        from pgroll_dsl.backends.runner import CommandError

        path = migration_path(directory, name, syntax)

        def write(migration: ir.Migration) -> Path:
            from pgroll_dsl.frontend import migration_files, migration_name

            # A file of that name in any syntax: two files of one migration (PGD113).
            same = ([f for f in migration_files(path.parent) if migration_name(f) == name]
                    if path.parent.is_dir() else [])
            if path.exists() or same:
                raise CommandError(f"{(same or [path])[0]} exists already; nothing was recorded")
            try:
                path.parent.mkdir(parents=True, exist_ok=True)
                path.write_text(emit(migration, syntax), encoding="utf-8")
            except OSError as err:
                raise CommandError(f"cannot write {path}: {err.strerror or err}; nothing was "
                                   "recorded") from None
            return path

        with _translated():
            made, written = create_baseline(self._runner, name, write)
        return Baselined(name, written, made.tables, made.left_out)

    def pull(self, directory: str | Path, syntax: Syntax = "yaml", *,
             prefixes: bool = False) -> Pulled:
        """Write the applied migrations ``directory`` lacks (by name), from the history.

        ``prefixes``: each file name starts with the migration's position in the history
        (``0001_``), which is then part of its name (pgroll's ``--with-prefixes``).
        """
        from pgroll_dsl.backends.pull import pull

        with _translated():
            pulled = pull(self._runner, Path(directory), syntax, prefixes)
        return Pulled(pulled.written, pulled.notes)

    def migrate(self, directory: str | Path, *, complete: bool = False,
                on_started: Callable[[Started], None] | None = None) -> Migrated:
        """Start every migration of ``directory`` not applied yet, in file-name order.

        Each but the last is completed (the last too with ``complete=True``); ``on_started``
        hears of each as it happens. Nothing is done while a migration is active
        (``Migrated.active``). Raises like ``start``; ``MigrationRefused`` when the files do
        not match the history.
        """
        started: list[Started] = []
        # One run for the whole directory, what is pending read under its lock (a run still
        # working on the schema refuses this one).
        with _translated(), self._runner.exclusive():
            todo = self.pending(directory)
            if todo.active is not None:
                return Migrated(todo.active, (), ())
            self.validate_pending(directory, todo.files)
            for index, path in enumerate(todo.files):
                last = index == len(todo.files) - 1
                started.append(self.start(path, complete=complete or not last))
                if on_started is not None:
                    on_started(started[-1])
        return Migrated(None, tuple(started), tuple(todo.files))

    def validate_pending(self, directory: str | Path, files: Sequence[Path]) -> None:
        """``files`` (``pending(directory).files``) checked before the first of them starts.

        Each against the live schema and the ones before it, as ``start`` checks it when
        its turn comes: ``migrate`` completes each file but the last, for good, so a later
        file's error found only then left the earlier ones applied, where
        ``InvalidMigration`` says nothing changed. Raises ``InvalidMigration`` (the errors,
        and the warnings found with them); does nothing with ``skip_validation``.
        """
        if self.skip_validation or not files:
            return
        from pgroll_dsl import compile as driver
        from pgroll_dsl.api.checks import catalog_source
        from pgroll_dsl.frontend import migration_files, migration_name

        folder = Path(directory)
        pending = {migration_name(f) for f in files}
        others = {migration_name(f) for f in migration_files(folder)} - pending
        source = catalog_source(postgres_url=self.dsn, schema=self.session.schema,
                                state_schema=self.session.state_schema)
        with _translated():
            failed, found = driver.validate_directory(folder, source, applied=others)
        if failed:
            raise InvalidMigration(found)


def _directory_files(directory: str | Path) -> list[Path]:
    """The migration files of a directory; ``InvalidMigration`` for none or duplicate names."""
    from pgroll_dsl.frontend import duplicate_names, migration_files

    folder = Path(directory)
    if not folder.is_dir():
        raise InvalidMigration([Diagnostic(codes.NOT_A_DIRECTORY,
                                           f"{folder} is not a directory", None)])
    files = migration_files(folder)
    duplicates = duplicate_names(files)
    if duplicates:
        raise InvalidMigration(duplicates)
    return files


def search_path_url(url: str, version_schema: str) -> str:
    """``url`` with its ``search_path`` set to ``version_schema`` (``latest url``).

    Raises ``ValueError`` when the connection string does not parse.
    """
    from pgroll_dsl.backends.commands import search_path_url as extended

    return extended(url, version_schema)


def connect(database: Database, session: SessionOptions | None = None,
            backfill: Backfill | None = None, *, on_progress: ProgressCallback | None = None,
            on_message: MessageCallback | None = None,
            on_statement: StatementCallback | None = None, skip_validation: bool = False,
            use_version_schema: bool = True) -> Migrator:
    """A ``Migrator`` on ``database`` (a URL, a connection string or an open connection).

    An open connection only names the database: the executor opens its own (it needs
    autocommit and session settings of its own), and never touches the caller's. The other
    arguments are ``Migrator``'s.
    """
    return Migrator(database, session, backfill, on_progress=on_progress,
                    on_message=on_message, on_statement=on_statement,
                    skip_validation=skip_validation, use_version_schema=use_version_schema)


def latest_version_schema(database: Database, schema: str = "public",
                          state_schema: str = "pgroll") -> str:
    """The newest version schema of ``schema``, read from the migration history read-only.

    Raises ``DatabaseUnreachable``, or ``MigrationRefused`` when there is no version yet.
    """
    from pgroll_dsl.backends.versions import VersionUnavailable
    from pgroll_dsl.backends.versions import latest_version_schema as read

    try:
        return read(conninfo(database), schema, state_schema)
    except VersionUnavailable as err:
        if err.unreachable:
            raise DatabaseUnreachable(str(err), single(codes.CANNOT_CONNECT, str(err))) from None
        raise MigrationRefused(str(err)) from None


__all__ = ["Migrator", "StatementCallback", "connect", "latest_version_schema",
           "search_path_url"]
