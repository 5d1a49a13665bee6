"""The pgroll commands on a live database: init, start, complete, rollback, status, migrate.

Compatible with pgroll's lifecycle and state (spec §4, §9, §10): the history row is written
before any DDL, so an interrupted start can always be rolled back; only one migration per
schema is active at a time; complete and rollback run the plan stored at start.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import psycopg

from pgroll_dsl import __version__, ir
from pgroll_dsl.backends.live import (
    SERVER_WAIT_S,
    ConnectionLost,
    Executor,
    Session,
    StepFailed,
    connect_pinned,
    first_line,
    not_owner_of,
    same_server,
    session_of_a_second_connection,
)
from pgroll_dsl.backends.one_session import PID, changed, leave, shared
from pgroll_dsl.backends.probe import (
    another_migration,
    hidden_rows,
    taken_schema,
    type_change_problems,
    unowned_tables,
)
from pgroll_dsl.backends.progress import SESSION, naming, progress, running, session_name
from pgroll_dsl.backends.saved_plan import refusals
from pgroll_dsl.backends.state import Active, State
from pgroll_dsl.catalog.derived import version_schema
from pgroll_dsl.catalog.fingerprint import digest
from pgroll_dsl.catalog.introspect import introspect
from pgroll_dsl.compile import Before, refuse_long_version_schema, validate
from pgroll_dsl.plan.document import plan_document, plan_from_document
from pgroll_dsl.plan.model import Lock, Phase, Plan, Requirement, Requires, Step, Unit, units
from pgroll_dsl.plan.planner import PlanOptions, partitions_hold, plan_migration
from pgroll_dsl.render.pgroll_json import to_document
from pgroll_dsl.render.saved_plan import SavedPlan
from pgroll_dsl.sql.ddl import qualified
from pgroll_dsl.sql.quoting import quote_ident

# How long the backfill workers of a run that died may take to end once told to.
STRAY_WAIT_S = 30.0


class CommandError(Exception):
    """A command cannot proceed (no active migration, another one active, not initialised)."""


class Unreachable(CommandError):
    """The database cannot be reached, or the role lacks a right (environment: exit code 2)."""


class PartialFailure(Exception):
    """A phase stopped part-way and needs attention (exit 3); ``phase`` says which."""

    def __init__(self, message: str, phase: Phase) -> None:
        super().__init__(message)
        self.phase = phase


@dataclass(frozen=True, slots=True, kw_only=True)
class StepEvent:
    """A boundary between two steps of a phase, reported to ``RunOptions.on_step``.

    ``index`` is the step about to run (``total`` after the last one, before the phase is
    recorded as finished). ``in_transaction``: the executor holds the phase's transaction
    (and its locks) open, so a client write issued now waits until it commits.

    With an ``on_step`` hook each step inside a transaction is sent on its own, after its
    boundary, so that every boundary is a point in time where a test's client can act;
    without, the steps after a transaction's first go together (``pipelined.py``): the
    server runs them back to back, and a client meets the transaction between two of them
    as it may at any boundary here.
    """

    phase: Phase
    index: int
    total: int
    step: Step | None
    in_transaction: bool


@dataclass(frozen=True, slots=True, kw_only=True)
class RunOptions:
    """Everything a live command needs besides the migration."""

    session: Session
    state_schema: str = "pgroll"
    batch_size: int | None = None  # None: the first batch from the table's size
    batch_delay: float = 0.0
    batch_time_ms: int = 50  # backfill batches resized to take about this long; 0: fixed size
    backfill_workers: int = 1  # connections a keyed backfill is split over
    max_replica_lag_mb: int = 0  # the backfill waits while a replica is further behind
    on_progress: Callable[[str, int, int], None] | None = None
    on_retry: Callable[[Any, int, float], None] | None = None
    on_message: Callable[[str], None] | None = None
    on_step: Callable[[StepEvent], None] | None = None  # fault injection and tests
    on_statement: Callable[[str, float | None], None] | None = None  # see live.StatementCallback
    skip_validation: bool = False  # plan without checking the migration against the schema
    version_schema: bool = True  # start creates the version schema of the migration
    two_passes: bool = True  # see PlanOptions.two_passes
    probe_session: bool = True  # see Runner._session_shared


def _grant_hint(state_schema: str) -> str:
    ident = quote_ident(state_schema)
    return (f"the role needs USAGE on schema {state_schema} and SELECT, INSERT, UPDATE, DELETE "
            f"on its tables (GRANT USAGE ON SCHEMA {ident} TO <role>; GRANT SELECT, INSERT, "
            f"UPDATE, DELETE ON ALL TABLES IN SCHEMA {ident} TO <role>)")


def _dropped_schemas(plan: Plan, phase: Phase) -> tuple[str, ...]:
    """The version schema a phase drops: the previous one at complete, the new one at rollback."""
    if phase is Phase.COMPLETE and plan.previous_version_schema not in (None,
                                                                         plan.version_schema):
        return (str(plan.previous_version_schema),)
    return (plan.version_schema,) if phase is Phase.ROLLBACK else ()


class Runner:
    """One connection, one target schema, one state schema.

    start, complete and rollback are one state machine: each phase records how many of its
    steps have run (complete and rollback inside the transaction that ran them), so running a
    phase again after a crash finishes it; and only one run at a time works on a schema. A
    run stays in the server session its connection began in (``one_session.py``): the pid
    ``session_pid``, checked with the run lock and at each step boundary.
    """

    def __init__(self, options: RunOptions) -> None:
        self.options = options
        try:
            self.conn, self.session_pid = connect_pinned(options.session)
        except psycopg.Error as err:
            raise Unreachable(f"cannot connect: {first_line(err)}") from None
        # The run's second connection and its workers go where its own went (``same_server``).
        self.session = replace(options.session, url=same_server(options.session.url,
                                                                 self.conn))
        self.state = State(self.conn, options.state_schema, options.session.schema)
        self.executor = Executor(self.conn, self.session, options.on_progress,
                                 options.on_retry, self._waiting,
                                 backfill_workers=options.backfill_workers,
                                 on_statement=options.on_statement, on_note=self._say,
                                 workers_lock=self.state.workers_key(),
                                 # with a hook, each step after its boundary (StepEvent)
                                 together=options.on_step is None)
        self._held = 0
        # Whether the last ``start`` got as far as recording its migration (or resumed one
        # recorded before): until then an interrupted start changed nothing, and an operator
        # told to roll it back would meet "no active migration".
        self.start_recorded = False

    def close(self) -> None:
        """Close the connection (which releases the run lock, if held)."""
        self.conn.close()

    def _waiting(self, step: Step, pids: list[int], held: str, lock: Lock) -> None:
        listed = ", ".join(str(p) for p in pids)
        self._say(f"waiting for {'backend' if len(pids) == 1 else 'backends'} {listed} to "
                  f"release {held} before asking for {lock.value} "
                  f"({step.summary}); clients are not held up meanwhile")

    def _say(self, message: str) -> None:
        if self.options.on_message is not None:
            self.options.on_message(message)

    def _event(self, phase: Phase, index: int, steps: tuple[Step, ...], name: str,
               in_transaction: bool = False) -> None:
        """A step boundary of migration ``name``: name the session, then call ``on_step``.

        The session is named after the step it runs next (``progress.session_name``), the
        last one's name again after it; the same query checks the session (``_name_session``).
        """
        self._name_session(session_name(phase, index, len(steps), name), phase)
        self._hook(phase, index, steps, in_transaction)

    def _within(self, phase: Phase, index: int, steps: tuple[Step, ...], name: str) -> str:
        """A boundary inside a transaction, after its first check: ``on_step``, then a query.

        The query names the session; the executor sends it with the step (in the same
        message, or in the pipeline of the steps sent together). A transaction keeps its
        server session to the end (a pooler in transaction mode too), so the check of the
        session at its first boundary inside it (``_event``: before complete's and
        rollback's first step, before start's second) holds for the rest of it; a round trip
        per step would only lengthen the time the transaction holds its locks, which clients
        wait out.
        """
        self._hook(phase, index, steps, True)
        return naming(session_name(phase, index, len(steps), name))

    def _hook(self, phase: Phase, index: int, steps: tuple[Step, ...],
              in_transaction: bool) -> None:
        if self.options.on_step is not None:
            step = steps[index] if index < len(steps) else None
            self.options.on_step(StepEvent(phase=phase, index=index, total=len(steps),
                                           step=step, in_transaction=in_transaction))

    @contextmanager
    def exclusive(self) -> Iterator[None]:
        """Hold the schema's run lock: a second run fails at once, naming this one's pid."""
        with self._errors():
            if self._held == 0:
                self._lock()
                try:
                    self._stop_stray_workers()
                    self._record_left_schema()
                except BaseException:
                    with suppress(psycopg.Error):
                        self.state.unlock()
                    raise
        self._held += 1
        try:
            yield
        finally:
            self._held -= 1
            if self._held == 0 and not self.conn.closed and not self.conn.broken:
                with suppress(psycopg.Error):
                    self.state.unlock()

    def _stop_stray_workers(self) -> None:
        """Stop the backfill workers of a run that died before this run goes on.

        A worker's connection holds no run lock: killed (SIGKILL, a lost host), a run leaves
        its workers' statements running until the server notices the client is gone (at
        their next message to it; never while one waits for a row lock). One would go on
        writing copies beside this run, after this run's own backfill and views, over a
        new-version client's write.
        """
        stray = self.state.workers()  # with the run lock held: a dead run's
        if not stray:
            return
        listed = ", ".join(map(str, stray))
        try:
            self.conn.execute("SELECT pg_catalog.pg_terminate_backend(pid) FROM "
                              "pg_catalog.unnest(%s::int[]) pid", (stray,))
        except psycopg.errors.InsufficientPrivilege as err:
            raise CommandError(
                f"backfill workers of an earlier run of schema \"{self.state.schema}\" are "
                f"still running (backends {listed}) and may not be stopped by this role: "
                f"{first_line(err)}; wait for them to end, or stop them "
                "(SELECT pg_terminate_backend(pid)) as their role or a superuser") from None
        deadline = time.monotonic() + STRAY_WAIT_S
        while self.state.workers():
            if time.monotonic() > deadline:
                raise CommandError(
                    f"backfill workers of an earlier run (backends {listed}) did not end "
                    f"within {STRAY_WAIT_S:.0f} s of being told to; run the command again")
            time.sleep(0.05)
        self._say(f"stopped the backfill workers of an earlier run that ended without them "
                  f"(backends {listed}), so that they write nothing beside this one")

    def _lock(self) -> None:
        """Take the run lock in the connection's session, and check that it is still that one.

        The lock is asked for only in that session (``State.try_lock``). The check is a query
        of its own: behind a pooler in transaction mode the statement after the lock may
        already run elsewhere. A lock taken is then let go, if this statement reaches its
        session, before the run stops; nothing was changed yet.
        """
        holder, pid = self.state.try_lock(self.session_pid)
        if pid == self.session_pid:
            if holder is not None:
                raise CommandError(
                    f'another pgroll-dsl run is working on schema "{self.state.schema}" '
                    f"(backend pid {holder}); wait for it to finish, or stop it")
            holder, pid = self.state.holder_seen()
            if pid == self.session_pid and holder == pid:
                if not self._session_shared():
                    return
                raise CommandError(f"{shared(self.session_pid)}; nothing was changed"
                                   f"{self._left_behind(probed=True)}")
        now = pid if pid != self.session_pid else holder or 0
        raise CommandError(f"{changed(self.session_pid, now, 'before the first step')}; "
                           f"nothing was changed{self._left_behind()}")

    def _session_shared(self) -> bool:
        """Is this run's server session handed to other connections too (``one_session.py``)?

        Asked once, with the run lock held, before the first step; ``RunOptions.probe_session``
        off skips it (tests of the step-boundary checks behind such a pool). Where it is, the
        second connection's query has already let the lock and the settings go there.
        """
        if not self.options.probe_session:
            return False
        other = session_of_a_second_connection(self.session.url, SERVER_WAIT_S,
                                               self._leave_sql())
        return other == self.session_pid

    def _leave_sql(self) -> str:
        """``one_session.leave`` for this run's session and run lock."""
        return leave(self.session_pid, self.state.release_sql())

    def _left_behind(self, probed: bool = False) -> str:
        """Before a run that lost its session stops: let go what it left in that session.

        The pooler runs each of our statements in whichever session is free, and another
        client may hold ours: ``one_session.leave`` is sent until it lands there, for
        ``SERVER_WAIT_S`` at most (``probed``: the second connection's query did it, if the
        lock is gone). Returns what the operator should know if the lock stays there.
        """
        statement = self._leave_sql()
        deadline = time.monotonic() + SERVER_WAIT_S
        try:
            if probed and not self.state.holds_lock(self.session_pid):
                return ""
            while time.monotonic() < deadline:
                row = self.conn.execute(statement).fetchone()
                if row is not None and row[0] == self.session_pid:
                    return ""  # the lock and the settings went in that session
                time.sleep(0.005)
            if not self.state.holds_lock(self.session_pid):
                return ""
        except psycopg.Error:
            return ""  # the connection is gone: nothing more to learn or to do from here
        return (f"; the run lock stays with the pooler's server connection (backend pid "
                f"{self.session_pid}) until the pooler closes it, and refuses runs meanwhile: "
                f"restart the pooler, or SELECT pg_terminate_backend({self.session_pid})")

    @contextmanager
    def _errors(self) -> Iterator[None]:
        """Queries before a phase changes anything: a failure is one line, never a traceback.

        (Reads, and the record of a start.) A missing right or a dead connection says what to
        do (exit 2); anything else (a state schema of another layout, a catalog the read does
        not expect, a read-only transaction) is a plain failure.
        """
        try:
            yield
        except psycopg.errors.InsufficientPrivilege as err:
            raise Unreachable(f"permission denied: {first_line(err)}; "
                              f"{_grant_hint(self.state.state_schema)}") from None
        except psycopg.OperationalError as err:
            raise Unreachable(f"the database connection failed: {first_line(err)}") from None
        except psycopg.errors.ReadOnlySqlTransaction as err:
            raise CommandError(self._read_only(err)) from None
        except psycopg.Error as err:
            raise CommandError(
                "a query of the catalog or the state (schema "
                f"{quote_ident(self.state.state_schema)}) failed, nothing was changed: "
                f"{first_line(err)}") from None

    def _read_only(self, err: psycopg.Error) -> str:
        """Why the server refused a write, and where to run instead: nothing was changed.

        A URL that points at a hot standby (a replica, or the old primary after a failover)
        is the usual cause; a role's or database's ``default_transaction_read_only`` the other.
        """
        standby = None
        with suppress(psycopg.Error):
            row = self.conn.execute("SELECT pg_catalog.pg_is_in_recovery()").fetchone()
            standby = bool(row[0]) if row is not None else None
        if standby:
            return ("the server is a standby (in recovery) and accepts no writes; run "
                    "pgroll-dsl against the primary. Nothing was changed")
        return (f"the server refused a write ({first_line(err)}): the session is read-only "
                "(default_transaction_read_only set for the role or the database?). Nothing "
                "was changed")

    def require_init(self) -> None:
        """Refuse a state schema that is not installed (every command that reads it)."""
        if not self.state.initialized():
            raise CommandError("pgroll is not initialized, run 'pgroll-dsl init' to initialize")

    def _record_left_schema(self) -> None:
        """Record the schema snapshot a run that died right after complete's commit left out.

        Asked once the run lock is taken, before the run changes anything, as the workers of
        a dead run are stopped (``State.record_complete``): the run stops if it cannot, since
        once a later migration is in the history the schema that one left can no longer be
        read. A state this version cannot read (or none) is left to the command's own reads.
        """
        try:
            pending = self.state.schema_pending()
        except psycopg.Error:
            return
        if not pending:
            return
        try:
            self.state.record_schema()
        except psycopg.Error as err:
            raise CommandError(
                "the last completed migration's schema snapshot is not in the history yet "
                "(its complete ended right after its commit, or could not record it), and "
                f"recording it failed: {first_line(err)}; nothing was changed") from None

    def init(self) -> None:
        """Install or upgrade the state schema (idempotent)."""
        try:
            notes = self.state.init(__version__)
        except psycopg.errors.InsufficientPrivilege as err:
            raise Unreachable(f"permission denied: {first_line(err)}; init needs the right to "
                              f"create schema {self.state.state_schema} (GRANT CREATE ON "
                              "DATABASE ... TO <role>), or a superuser") from None
        except psycopg.errors.ReadOnlySqlTransaction as err:
            raise CommandError(f"init failed: {self._read_only(err)}") from None
        except psycopg.Error as err:
            raise CommandError(f"init failed: {first_line(err)}") from None
        for note in notes:
            self._say(f"note: {note}")

    def _ready(self, migration: ir.Migration) -> None:
        """Refuse to start a migration while another is active, or one already applied."""
        self.require_init()
        active = self.state.active()
        if active is not None:
            raise CommandError(f'a migration for schema "{self.state.schema}" is already in '
                               f'progress: "{active.name}"; complete or roll it back first')
        if migration.name in self.state.history():
            raise CommandError(f'migration "{migration.name}" is already applied to schema '
                               f'"{self.state.schema}"')

    def _reviewed(self, migration: ir.Migration, saved: SavedPlan) -> Plan:
        """A saved plan's steps, if the database is still the one it was planned against."""
        with self._errors():
            self._ready(migration)
            problems = refusals(self.conn, self.state, saved, migration)
        if problems:
            raise CommandError("the saved plan does not match this database; nothing was "
                               "changed:\n  " + "\n  ".join(problems) + "\nmake the plan again "
                               "against this database (and have it reviewed)")
        return saved.plan

    def plan(self, migration: ir.Migration) -> Plan:
        """The plan of ``migration`` against the database as it is now (validated first)."""
        if self.options.version_schema:  # (whatever --skip-validation says: it would be cut)
            refuse_long_version_schema(migration, self.state.schema)
        with self._errors():
            self._ready(migration)
            catalog = introspect(self.conn, self.state.schema)
            latest = self.state.latest_version()
        previous = version_schema(self.state.schema, latest) if latest else None
        if not self.options.skip_validation:
            for warning in validate(migration, Before(catalog, previous, ())):
                self._say(f"{warning.span}: warning[{warning.code.id}]: {warning.message}")
            with self._errors():
                problems = type_change_problems(self.conn, self.state.schema, catalog, migration)
            if problems:
                raise CommandError("; ".join(problems) + " (nothing was changed)")
        options = PlanOptions.for_server(
            self.conn.info.server_version, schema=self.state.schema,
            batch_size=self.options.batch_size, batch_delay=self.options.batch_delay,
            batch_time_ms=self.options.batch_time_ms,
            max_replica_lag_mb=self.options.max_replica_lag_mb, previous_version_schema=previous,
            version_schema=self.options.version_schema, two_passes=self.options.two_passes)
        if not self.options.skip_validation:
            return plan_migration(migration, catalog, options)
        try:
            return plan_migration(migration, catalog, options)
        except (KeyError, ValueError, AttributeError, TypeError) as err:  # what validation catches
            raise CommandError(f"cannot plan {migration.name} without validation ({err!r}); "
                               "run without --skip-validation to see why") from None

    def start(self, migration: ir.Migration, saved: SavedPlan | None = None) -> Plan:
        """Start: record, expand, views, triggers, backfill; undo everything on failure.

        If this very migration was started before and interrupted (the process died), start
        resumes after the last step that finished. With ``saved`` (``start --plan``), its
        steps run instead of a new plan, once the database is checked to be the one it was
        made for (``backends/saved_plan.py``); the state records them as it records a plan.
        """
        self.start_recorded = False
        with self.exclusive():
            resumed = self._interrupted(migration)
            if resumed is not None:
                self.start_recorded = True
                plan, done = resumed
                if saved is not None and plan != saved.plan:
                    raise CommandError(f'"{migration.name}" was started with another plan than '
                                       "the one given; run rollback first")
                if done >= len(plan.start):
                    self._say(f'"{migration.name}" is already started: every step has run')
                    return plan
                self._say(f'resuming the start of "{migration.name}" at step {done + 1} of '
                          f"{len(plan.start)}")
            else:
                plan = self.plan(migration) if saved is None else self._reviewed(migration,
                                                                                   saved)
                done = 0
                with self._errors():
                    refused = (another_migration(self.conn, self.state.schema)
                               + (taken_schema(self.conn, plan) if self.options.version_schema
                                  else [])
                               + unowned_tables(self.conn, self.state.schema, plan)
                               + hidden_rows(self.conn, self.state.schema, plan))
                if refused:
                    raise CommandError("start refused, nothing was changed: "
                                       + "; ".join(refused))
                self.start_recorded = True  # from here on, the record may be there
                with self._errors():
                    self.state.record_start(migration.name, to_document(migration),
                                            plan_document(plan))
            ran = done
            try:
                for unit in units(Phase.START, plan.start):
                    if unit.first < done:
                        continue
                    self._event(Phase.START, unit.first, plan.start, migration.name)
                    self._start_unit(migration.name, unit, plan.start,
                                     resuming=resumed is not None and unit.first == done)
                    ran = unit.first + len(unit.steps)
                self._event(Phase.START, len(plan.start), plan.start, migration.name)
            except ConnectionLost as lost:
                raise PartialFailure(f"the connection was lost during start: {lost}",
                                     Phase.START) from lost
            except StepFailed as failure:
                self._undo(plan, migration.name, failure, started=ran > 0)
            except psycopg.Error as err:  # the record of a step failed: the connection broke
                raise PartialFailure(f"start stopped after step {ran}: {first_line(err)}",
                                     Phase.START) from err
            finally:
                self._name_session(SESSION)
            return plan

    def _start_unit(self, name: str, unit: Unit, steps: tuple[Step, ...],
                    resuming: bool) -> None:
        """One start step (or the steps that join it) and the record that it ran.

        A transactional unit commits with its record, so a crash leaves both or neither and a
        resumed start never runs it twice (raw SQL included). The other steps (concurrent
        index builds, the backfill) cannot share a transaction; they are idempotent instead.
        """
        end = unit.first + len(unit.steps)
        if unit.steps[0].transactional:
            def before(offset: int, _step: Step) -> str | None:
                # The first step's boundary is _event's, before the transaction; the
                # second's checks the session the transaction runs in.
                if offset == 1:
                    self._event(Phase.START, unit.first + 1, steps, name, in_transaction=True)
                if offset < 2:
                    return None
                return self._within(Phase.START, unit.first + offset, steps, name)

            self.executor.run_atomically(unit.steps, before,
                                         lambda: self.state.record_progress(name, end))
            return
        self.executor.run_step(unit.steps[0], resuming=resuming)
        self.state.record_progress(name, end)

    def _interrupted(self, migration: ir.Migration) -> tuple[Plan, int] | None:
        """The plan and the steps done of this migration's start, if it was interrupted.

        Refused when the migration's text is not the one that was started: resuming would
        finish the old text's plan while the file says otherwise.
        """
        name = migration.name
        with self._errors():
            self.require_init()
            active = self.state.active()
        if active is None or active.name != name or active.plan is None:
            return None
        if digest(active.migration) != digest(to_document(migration)):
            raise CommandError(f'"{name}" was started from another text of the migration (the '
                               "file changed since): run rollback first, then start it again")
        plan = plan_from_document(active.plan)
        if active.rollback_steps_done:
            raise CommandError(f'the rollback of "{name}" ran part-way; run rollback again to '
                               "finish it")
        if active.complete_steps_done:
            raise CommandError(f'"{name}" is being completed; run complete again to finish it')
        return plan, active.start_steps_done

    def _undo(self, plan: Plan, name: str, failure: StepFailed, started: bool) -> None:
        """After a failed start: roll back what ran (nothing ran: just forget the record)."""
        try:
            if started or not failure.step.transactional:
                self._run_phase(name, plan, Phase.ROLLBACK, 0, lambda: self.state.forget(name))
            else:
                self.state.forget(name)  # the first step failed whole: nothing to undo
        except (StepFailed, PartialFailure, psycopg.Error) as second:
            raise PartialFailure(f"{failure}; rolling back failed too: {second}",
                                 Phase.ROLLBACK) from failure
        if isinstance(failure.cause, psycopg.errors.InsufficientPrivilege) \
                and not_owner_of(failure.cause) is None:  # (that one says what to do)
            # It owns the tables (checked before the first step): a grant is missing, on the
            # object the server's message names.
            raise Unreachable(f"start failed, changes rolled back: {failure}; grant the role "
                              "the privilege this step needs on the object named (CREATE on "
                              "the database or a schema; TRIGGER, SELECT or UPDATE on a "
                              "table)") from failure
        raise CommandError(f"start failed, changes rolled back: {failure}") from failure

    def _active(self) -> tuple[str, Plan, Active]:
        with self._errors():
            self.require_init()
            active = self.state.active()
        if active is None:
            raise CommandError("no active migration")
        if active.plan is None:
            raise CommandError(f'migration "{active.name}" was started by another tool; '
                               "complete or roll it back with that tool")
        return active.name, plan_from_document(active.plan), active

    def _run_phase(self, name: str, plan: Plan, phase: Phase, done: int,
                   finish: Callable[[], None]) -> None:
        """Run a phase's units after the ``done`` steps already recorded; ``finish`` last.

        ``finish`` (the state's record that the phase is over) runs inside the last unit's
        transaction when it has one, so that the phase is over exactly when its last step is.
        """
        steps = plan.phase(phase)
        grouped = [u for u in units(phase, steps) if u.first >= done]
        if not grouped:
            finish()
            return
        try:
            for position, unit in enumerate(grouped):
                # Only the first step a run runs may have run before (a run that stopped in
                # it); with none recorded, whether one ran is not known, so it may have.
                self._run_unit(name, phase, steps, unit, position == len(grouped) - 1,
                               _dropped_schemas(plan, phase), finish,
                               resuming=unit.first == done)
        finally:
            self._name_session(SESSION)

    def _run_unit(self, name: str, phase: Phase, steps: tuple[Step, ...], unit: Unit,
                  last: bool, dropped: tuple[str, ...], finish: Callable[[], None], *,
                  resuming: bool) -> None:
        """One transaction of a phase (or one step that runs outside any), then its record."""
        end = unit.first + len(unit.steps)

        def after() -> None:
            self.state.record_progress(name, end, phase)
            if last:
                self._event(phase, len(steps), steps, name, in_transaction=unit.atomic)
                finish()

        def before(offset: int, _step: Step) -> str | None:
            if offset:
                return self._within(phase, unit.first + offset, steps, name)
            self._event(phase, unit.first, steps, name, in_transaction=True)
            return None

        if unit.atomic:
            # Named before the transaction's lock wait too, not only once it holds its locks.
            self._name_session(session_name(phase, unit.first, len(steps), name), phase)
            self.executor.run_atomically(unit.steps, before, after, dropped)
        else:
            self._event(phase, unit.first, steps, name)
            self.executor.run_step(unit.steps[0], resuming=resuming)
            with self.conn.transaction():
                after()

    def _name_session(self, name: str, phase: Phase | None = None) -> None:
        """What ``pg_stat_activity`` shows as this session's name (``progress.session_name``).

        Inside a phase's transaction the name is transactional: a retried attempt names its
        step again. A broken connection keeps whatever name it had; nothing reads it then.
        With ``phase`` (a step boundary) the same query reads the server session's pid, and
        a run that lost its session stops (``_check_session``); a failure to name the session
        does not skip that check where a query can still run.
        """
        if self.conn.closed or self.conn.broken:
            return
        try:
            row = self.conn.execute(f"{naming(name)}, {PID}").fetchone()
        except psycopg.Error:
            if phase is None or self.conn.broken or self.conn.info.transaction_status \
                    is psycopg.pq.TransactionStatus.INERROR:
                return  # the step's own statement fails, and says why
            row = self.conn.execute(f"SELECT NULL, {PID}").fetchone()
        if phase is not None and row is not None:
            self._check_session(int(row[1]), phase)

    def _check_session(self, pid: int, phase: Phase) -> None:
        """Stop the phase before its next step if it runs in another server session.

        What ran is recorded (each step with its record, as always): running the phase
        again, on a connection that keeps its session, resumes it.
        """
        if pid == self.session_pid:
            return
        again = {Phase.START: "run start again there to resume it, or rollback to undo it",
                 Phase.COMPLETE: "run complete again there to finish it",
                 Phase.ROLLBACK: "run rollback again there to finish it"}[phase]
        raise PartialFailure(f"{phase.value} stopped: {changed(self.session_pid, pid)}, "
                             f"and {again}", phase)

    def _check_requirements(self, plan: Plan) -> None:
        """Before complete drops anything: is everything it keeps still there?"""
        missing = self._missing(plan.requires)
        changed = [r for r in missing if r.kind.partitions]
        if changed:
            raise CommandError(
                f"complete refused, nothing was changed: {'; '.join(r.describe() for r in changed)}"
                ". Run `pgroll-dsl rollback` to undo the migration, then start it again")
        if missing:
            listed = "; ".join(r.describe() for r in missing)
            raise CommandError(
                f"complete refused, nothing was changed: {listed} made by start "
                f"{'is' if len(missing) == 1 else 'are'} missing (dropped by hand?). Run "
                "`pgroll-dsl rollback` to undo the migration and start it again")

    def _missing(self, requires: tuple[Requires, ...]) -> list[Requires]:
        """The requirements not met, all read in one query.

        Seven or so for each table the new version's views read (every table of the schema):
        a query each took 0.42 s for 200 tables beside the server (1 401 queries). The
        columns, triggers and schemas go as three arrays, tested row by row: as one
        expression each (an ``ARRAY[EXISTS (...), ...]``) the server took 7.8 s to plan and
        run the 10 000 of a schema of 2 000 tables (0.22 s for 300); this way 32 ms.
        Partitions (a few, each its own expression) go beside them.
        """
        if not requires:
            return []
        listed = [r for r in requires if not r.kind.partitions]
        schema = self.state.schema
        arrays = ([r.kind.value for r in listed],
                  [qualified(schema, r.relation or "") for r in listed],
                  [quote_ident(r.name) if r.kind is Requirement.SCHEMA else r.name
                   for r in listed])
        # (An open tree's partitions may join and leave: nothing to check of them here.)
        partitions = [r for r in requires if r.kind is Requirement.PARTITIONS]
        held = ", ".join(f"COALESCE({partitions_hold(schema, r)}, false)" for r in partitions)
        row = self.conn.execute(
            "SELECT ARRAY(SELECT r.i FROM ROWS FROM (pg_catalog.unnest(%s::text[]), "
            "pg_catalog.unnest(%s::text[]), pg_catalog.unnest(%s::text[])) "
            "WITH ORDINALITY AS r(kind, relation, name, i) WHERE NOT CASE r.kind "
            "WHEN 'column' THEN EXISTS (SELECT FROM pg_catalog.pg_attribute WHERE attrelid = "
            "pg_catalog.to_regclass(r.relation) AND attname = r.name::name AND attnum > 0 "
            "AND NOT attisdropped) "
            "WHEN 'trigger' THEN EXISTS (SELECT FROM pg_catalog.pg_trigger WHERE tgrelid = "
            "pg_catalog.to_regclass(r.relation) AND tgname = r.name::name) "
            "ELSE pg_catalog.to_regnamespace(r.name) IS NOT NULL END), "
            f"ARRAY[{held}]::boolean[]", arrays).fetchone()
        assert row is not None
        absent = {listed[i - 1] for i in row[0]}
        absent |= {r for r, ok in zip(partitions, row[1], strict=True) if not ok}
        return [r for r in requires if r in absent]

    def complete(self) -> str:
        """Contract: drop the old version and swap columns in one transaction; record it done."""
        with self.exclusive():
            name, plan, active = self._active()
            if active.rollback_steps_done:
                raise CommandError(f'the rollback of "{name}" ran part-way; run rollback again '
                                   "to finish it")
            if active.start_steps_done < len(plan.start):
                raise CommandError(f'the start of "{name}" did not finish (step '
                                   f"{active.start_steps_done} of {len(plan.start)}); run "
                                   "start again to resume it, or rollback")
            done = active.complete_steps_done
            with self._errors():
                if done == 0:
                    self._check_requirements(plan)
            with self._phase_failures(Phase.COMPLETE):
                self._run_phase(name, plan, Phase.COMPLETE, done,
                                lambda: self.state.record_complete(name))
            self._record_schema(name)
            return name

    def _record_schema(self, name: str) -> None:
        """The completed migration's schema snapshot, once complete's locks are let go.

        The migration is complete whatever happens here: a failure is a warning, and the
        next run that takes the run lock records it, or stops until it can
        (``_record_left_schema``).
        """
        try:
            self.state.record_schema(name)
        except psycopg.Error as err:
            self._say(f'warning: migration "{name}" is complete, but recording the schema it '
                      f"left in the history failed ({first_line(err)}); the next start, "
                      "migrate or baseline records it before it changes anything")

    @contextmanager
    def _phase_failures(self, phase: Phase) -> Iterator[None]:
        """A failed complete or rollback: what was done, and that running it again finishes."""
        try:
            yield
        except ConnectionLost as lost:
            raise PartialFailure(f"the connection was lost during {phase.value}: {lost}",
                                 phase) from lost
        except StepFailed as failure:
            untouched = self._done(phase) == 0
            if untouched and isinstance(failure.cause, psycopg.errors.ReadOnlySqlTransaction):
                raise CommandError(f"{phase.value} failed: {self._read_only(failure.cause)}"
                                   ) from None
            state = "nothing was changed" if untouched else "the steps before it are done"
            raise PartialFailure(f"{phase.value} failed: {failure} ({state}); fix the cause and "
                                 f"run {phase.value} again", phase) from failure
        except psycopg.Error as err:
            raise PartialFailure(f"{phase.value} stopped: {first_line(err)}", phase) from err

    def _done(self, phase: Phase) -> int:
        active = self.state.active()
        return active.done(phase) if active is not None else 0

    def rollback(self) -> str:
        """Undo the active migration in one transaction; the old version never noticed."""
        with self.exclusive():
            name, plan, active = self._active()
            if active.complete_steps_done:
                raise CommandError(f'"{name}" is being completed (step '
                                   f"{active.complete_steps_done} of {len(plan.complete)} "
                                   "done) and cannot be rolled back; run complete again to "
                                   "finish it")
            with self._phase_failures(Phase.ROLLBACK):
                self._run_phase(name, plan, Phase.ROLLBACK, active.rollback_steps_done,
                                lambda: self.state.forget(name))
            return name

    def status(self) -> dict[str, str]:
        """Pgroll's status document."""
        with self._errors():
            self.require_init()
            latest = self.state.latest_version()
            active = self.state.active()
        if active is not None:
            status = "In progress"
        else:
            status = "Complete" if latest else "No migrations"
        return {"schema": self.state.schema, "version": latest or "", "status": status}

    def progress(self) -> dict[str, Any] | None:
        """Where the active migration stands, and who runs it (``status --detail``)."""
        with self._errors():
            self.require_init()
            active = self.state.active()
            if active is None:
                return None
            return progress(active, running(self.conn, self.state.holder()),
                            self.state.workers())

    def latest_schema(self) -> str:
        """The version schema an application puts first in its search_path."""
        with self._errors():
            self.require_init()
            latest = self.state.latest_version()
        if latest is None:
            raise CommandError("no version schemas found")
        return version_schema(self.state.schema, latest)

    def unapplied(self, files: list[Path]) -> list[Path]:
        """Pgroll's rule: the local files beyond the history, which must match it in order."""
        with self._errors():
            self.require_init()
            history = self.state.history()
        names = [f.name.rsplit(".", 1)[0] for f in files]
        for position, (remote, local) in enumerate(zip(history, names, strict=False)):
            if remote != local:
                raise CommandError(f'remote migration does not match local migration: '
                                   f'remote="{remote}", local="{local}" (position {position + 1})')
        return files[len(history):]
