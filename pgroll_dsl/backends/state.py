"""pgroll-compatible state: the migrations history in the state schema (``pgroll``).

Only this module, ``live.py`` and catalog introspection talk to the database. Queries are
parameterised; the state schema's name is quoted by ``sql.quoting`` like every identifier.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import Any

import psycopg
from psycopg import sql

from pgroll_dsl.backends import state_sql
from pgroll_dsl.backends.one_session import PID
from pgroll_dsl.catalog.naming import kept_name
from pgroll_dsl.plan.model import Phase
from pgroll_dsl.sql.quoting import quote_ident

# pgroll's advisory lock key for init: concurrent inits (ours or pgroll's) serialise.
INIT_LOCK = 12388221127840347
# The advisory lock of one target schema is a 64-bit hash of "pgroll-dsl", the state schema
# and the target schema: two schemas sharing one lock is a 2**-64 chance, not a 32-bit one.
# Held by start, complete, rollback and migrate.
RUN_LOCK = "pgroll-dsl run"
# Every backfill worker's connection holds this one's key shared: a run that takes the run
# lock then finds the workers of a run that died (their connections hold no run lock) by it.
WORKERS_LOCK = "pgroll-dsl backfill workers"
# A completed migration's resulting_schema until it is recorded after complete's commit
# (State.record_schema): pgroll's column default, which read_schema never returns.
_PENDING_SCHEMA = "'{}'::jsonb"
# That migration of the schema (or, given NULL, its latest one), completed with its snapshot
# still to be recorded. Parameters: the schema, the name or NULL, the schema.
_PENDING = (f"schema = %s AND done AND resulting_schema = {_PENDING_SCHEMA} AND "
            "name = COALESCE(%s, placeholder.latest_migration(%s))")
# A session-level advisory lock's rows in pg_locks (its key twice), which shows a bigint key
# as two halves: classid the high, objid the low 32 bits. For the run lock and the workers'.
_HELD = ("locktype = 'advisory' AND granted AND objsubid = 1 "
         "AND classid = ((%s::bigint >> 32) & 4294967295)::text::oid "
         "AND objid = (%s::bigint & 4294967295)::text::oid "
         "AND database = (SELECT oid FROM pg_database WHERE datname = current_database())")


@dataclass(frozen=True, slots=True)
class Active:
    """The migration started and not completed on a schema."""

    name: str
    migration: dict[str, Any]
    plan: dict[str, Any] | None
    start_steps_done: int = 0
    complete_steps_done: int = 0
    rollback_steps_done: int = 0

    def done(self, phase: Phase) -> int:
        """How many steps of a phase have run and been recorded."""
        return {Phase.START: self.start_steps_done, Phase.COMPLETE: self.complete_steps_done,
                Phase.ROLLBACK: self.rollback_steps_done}[phase]


class State:
    """The history of one target schema, kept in a state schema."""

    def __init__(self, conn: psycopg.Connection[Any], state_schema: str, schema: str) -> None:
        self.conn = conn
        self.state_schema = state_schema
        self.schema = schema

    def _sql(self, text: str, placeholders: bool = False) -> str:
        """``text`` with the state schema's quoted name for ``placeholder``.

        The templates' ``$$`` bodies get a tag the name does not hold (``cash$$flow`` ended
        them early), and with ``placeholders`` (psycopg reads the text for ``%s``) a ``%`` of
        the name is doubled (``ops%state`` failed init).
        """
        name = quote_ident(self.state_schema)
        tag = "$pgroll_state$"
        while tag in name:
            tag = tag[:-1] + "_$"
        return text.replace("$$", tag).replace(
            "placeholder", name.replace("%", "%%") if placeholders else name)

    def _q(self, query: str, *params: object) -> list[tuple[Any, ...]]:
        statement = sql.SQL(self._sql(query, placeholders=True))
        cursor = self.conn.execute(statement, params)
        return cursor.fetchall() if cursor.description is not None else []

    def init(self, version: str) -> list[str]:
        """Install or upgrade the state schema; idempotent. Returns what it had to leave out."""
        notes = []
        with self.conn.transaction():
            self.conn.execute("SELECT pg_advisory_xact_lock(%s)", (INIT_LOCK,))
            self.conn.execute(self._sql(state_sql.TABLES))
            self.conn.execute(self._sql(state_sql.FUNCTIONS))
            self._q("TRUNCATE placeholder.pgroll_version")
            self._q("INSERT INTO placeholder.pgroll_version (version) VALUES (%s)", version)
        try:
            with self.conn.transaction():  # under the lock too: two inits (pods starting at
                # once) replacing the same event trigger function failed "tuple concurrently
                # updated"
                self.conn.execute("SELECT pg_advisory_xact_lock(%s)", (INIT_LOCK,))
                taken = self.conn.execute(_EVENT_TRIGGERS_OF).fetchone()
                self.conn.execute(self._sql(state_sql.EVENT_TRIGGERS))
            if taken is not None and taken[0] != self.state_schema:
                notes.append(_taken_over(str(taken[0]), self.state_schema))
        except psycopg.errors.InsufficientPrivilege:
            notes.append("event triggers need a superuser: DDL made outside pgroll-dsl will not "
                         "be recorded as inferred migrations (everything else works)")
        return notes

    def initialized(self) -> bool:
        """Whether ``init`` has run for this state schema."""
        found = self.conn.execute(
            "SELECT to_regclass(%s) IS NOT NULL",
            (f"{quote_ident(self.state_schema)}.migrations",),
        ).fetchone()
        return bool(found and found[0])

    def active(self) -> Active | None:
        """The active migration of the schema, with the plan it was started with."""
        rows = self._q(
            "SELECT m.name, m.migration, p.plan, p.start_steps_done, p.complete_steps_done, "
            "p.rollback_steps_done FROM placeholder.migrations m "
            "LEFT JOIN placeholder.pgroll_dsl_plans p ON p.schema = m.schema AND p.name = m.name "
            "WHERE m.schema = %s AND NOT m.done", self.schema)
        if not rows:
            return None
        name, migration, plan, started, completed, rolled_back = rows[0]
        return Active(name, migration, plan, started or 0, completed or 0, rolled_back or 0)

    def _lock_key(self, lock: str = RUN_LOCK) -> int:
        # The target schema alone, as PostgreSQL keeps its name: runs of two state schemas
        # over one target schema, or two spellings of one name past 63 bytes, exclude each
        # other too.
        name = "\0".join((lock, kept_name(self.schema))).encode()
        return int.from_bytes(hashlib.blake2b(name, digest_size=8).digest(), "big", signed=True)

    def workers_key(self) -> int:
        """The advisory lock key each backfill worker of this schema holds shared."""
        return self._lock_key(WORKERS_LOCK)

    def workers(self) -> list[int]:
        """The backends of backfill workers of this schema: a run's, or a dead run's.

        Asked with the run lock held, they are those of a run that died: no live run of this
        schema has workers then.
        """
        return self._holders(self.workers_key())

    def try_lock(self, session: int) -> tuple[int | None, int]:
        """Take the schema's run lock (session level) in server session ``session`` only.

        Returns who holds it (``None``: this session took it; 0: the holder let go
        meanwhile) and the pid (``pg_backend_pid()``) of the session the statement ran in.
        When that is not ``session`` (a pooler chose it, ``one_session.py``), nothing was
        asked for: a lock taken there would stay with a server connection of the pooler.
        The lock is the session's: it goes away with the process that holds it, however that
        process ends.
        """
        got = self.conn.execute(f"SELECT CASE WHEN {PID} = %s THEN pg_try_advisory_lock(%s) "
                                f"END, {PID}", (session, self._lock_key())).fetchone()
        assert got is not None
        pid = int(got[1])
        if got[0] or pid != session:
            return None, pid
        holder = self.holder()
        return (holder if holder is not None else 0), pid

    def holder(self) -> int | None:
        """The backend pid that holds the schema's run lock, without taking it; else None."""
        return self.holder_seen()[0]

    def holder_seen(self) -> tuple[int | None, int]:
        """:meth:`holder`, and the pid of the server session that read it."""
        key = self._lock_key()
        found = self.conn.execute(f"SELECT (SELECT pid FROM pg_locks WHERE {_HELD} LIMIT 1), {PID}",
                                  (key, key)).fetchone()
        assert found is not None
        return (int(found[0]) if found[0] is not None else None), int(found[1])

    def _holders(self, key: int) -> list[int]:
        """The backends that hold the advisory lock ``key`` (session level), in pid order."""
        rows = self.conn.execute(f"SELECT pid FROM pg_locks WHERE {_HELD} ORDER BY pid",
                                 (key, key)).fetchall()
        return [int(pid) for (pid,) in rows]

    def release_sql(self) -> str:
        """PL/pgSQL that lets the run lock go in the session that runs it, if it holds it.

        For ``one_session.leave``, a statement with no parameters: the key is written in.
        """
        key = self._lock_key()
        held = _HELD % (key, key)
        return (f"IF EXISTS (SELECT FROM pg_catalog.pg_locks WHERE {held} AND pid = {PID}) "
                f"THEN PERFORM pg_catalog.pg_advisory_unlock({key}); END IF;")

    def holds_lock(self, pid: int) -> bool:
        """Whether server session ``pid`` holds the run lock (read from any session)."""
        return pid in self._holders(self._lock_key())

    def unlock(self) -> None:
        """Release the run lock taken by :meth:`try_lock`, if this session holds it.

        A session that does not hold it (the run lost its session to a pooler) asks nothing:
        the server would warn that it does not own the lock.
        """
        self.conn.execute(f"DO $pgroll_unlock$BEGIN {self.release_sql()} END$pgroll_unlock$")

    def latest_version(self) -> str | None:
        """The version schema suffix of the newest migration whose version schema exists."""
        return self._q("SELECT placeholder.latest_version(%s)", self.schema)[0][0]  # type: ignore[no-any-return]

    def history(self) -> list[str]:
        """Migration names of the schema, oldest first."""
        rows = self._q("SELECT name FROM placeholder.migrations WHERE schema = %s "
                       "ORDER BY created_at, name", self.schema)
        return [r[0] for r in rows]

    def applied(self) -> list[tuple[str, dict[str, Any], str]]:
        """Every migration of the schema, oldest first: name, document, migration type.

        Completed ones only, from the latest baseline on (the baseline included: its
        document holds the schema a replay starts from, ``backends/baseline.py``).
        """
        rows = self._q(
            "SELECT name, migration, coalesce(migration_type, 'pgroll') "
            "FROM placeholder.migrations WHERE schema = %s AND done AND created_at >= coalesce("
            "(SELECT max(created_at) FROM placeholder.migrations WHERE schema = %s AND "
            "migration_type = 'baseline'), '-infinity') ORDER BY created_at, name",
            self.schema, self.schema)
        return [(r[0], r[1], r[2]) for r in rows]

    def latest_baseline(self) -> str | None:
        """The name of the schema's newest baseline, if it has one."""
        rows = self._q("SELECT name FROM placeholder.migrations WHERE schema = %s AND "
                       "migration_type = 'baseline' ORDER BY created_at DESC, name DESC LIMIT 1",
                       self.schema)
        return str(rows[0][0]) if rows else None

    def latest_migration(self) -> str | None:
        """The name of the newest migration of the schema (active or not)."""
        return self._q("SELECT placeholder.latest_migration(%s)", self.schema)[0][0]  # type: ignore[no-any-return]

    def record_baseline(self, name: str, document: dict[str, Any]) -> None:
        """Record a baseline as pgroll does: done, typed ``baseline``, with the schema as it is."""
        self._q(
            "INSERT INTO placeholder.migrations (schema, name, migration, resulting_schema, done, "
            "parent, migration_type) VALUES (%s, %s, %s, placeholder.read_schema(%s), true, "
            "placeholder.latest_migration(%s), 'baseline')",
            self.schema, name, json.dumps(document), self.schema, self.schema)

    def record_start(self, name: str, document: dict[str, Any], plan: dict[str, Any]) -> None:
        """Insert the active row (before any DDL, as pgroll does) and the plan."""
        with self.conn.transaction():
            self._q(
                "INSERT INTO placeholder.migrations (schema, name, migration, parent) "
                "VALUES (%s, %s, %s, placeholder.latest_migration(%s))",
                self.schema, name, json.dumps(document), self.schema)
            self._q("INSERT INTO placeholder.pgroll_dsl_plans (schema, name, plan) "
                    "VALUES (%s, %s, %s) ON CONFLICT (schema, name) DO UPDATE SET plan = "
                    "excluded.plan", self.schema, name, json.dumps(plan))

    def record_progress(self, name: str, steps_done: int, phase: Phase = Phase.START) -> None:
        """Remember how far a phase got, so that an interrupted one resumes after it."""
        column = quote_ident(f"{phase.value}_steps_done")
        self._q(f"UPDATE placeholder.pgroll_dsl_plans SET {column} = %s "
                "WHERE schema = %s AND name = %s", steps_done, self.schema, name)

    def record_complete(self, name: str) -> None:
        """Mark done, in complete's transaction; the schema it left is recorded after it.

        ``resulting_schema`` (pgroll's snapshot of the whole schema, ``read_schema``) is left
        empty here and written by :meth:`record_schema` once the transaction has committed:
        ``read_schema`` reads every table of the schema (0.3 s at 2 000 tables), and inside
        the transaction clients of the migrated tables would wait for it too. A run that dies
        between the two leaves it empty; the next run that takes the run lock fills it.
        """
        self._q("UPDATE placeholder.migrations SET done = true, "
                f"resulting_schema = {_PENDING_SCHEMA} "
                "WHERE schema = %s AND name = %s AND NOT done", self.schema, name)

    def record_schema(self, name: str | None = None) -> None:
        """Fill ``resulting_schema`` of a completed migration whose complete left it empty.

        Of migration ``name``, or else of the schema's latest migration: a run that died
        right after complete's commit left it, and nothing has changed the schema since (a
        change made since is a migration of its own, inferred, and then the latest).
        An empty object is never ``read_schema``'s (which always names the schema).
        """
        self._q("UPDATE placeholder.migrations SET resulting_schema = "
                f"placeholder.read_schema(%s) WHERE {_PENDING}",
                self.schema, self.schema, name, self.schema)

    def schema_pending(self) -> bool:
        """Whether the latest migration's snapshot is still to be recorded (a read only).

        Asked before :meth:`record_schema` is tried for it: an UPDATE is refused on a
        standby or in a read-only session even where it would change no row, and those
        commands have their own diagnostics.
        """
        rows = self._q(f"SELECT EXISTS (SELECT FROM placeholder.migrations WHERE {_PENDING})",
                       self.schema, None, self.schema)
        return bool(rows[0][0])

    def forget(self, name: str) -> None:
        """Remove the active row (rollback)."""
        with self.conn.transaction():
            self._q("DELETE FROM placeholder.pgroll_dsl_plans WHERE schema = %s AND name = %s",
                    self.schema, name)
            self._q("DELETE FROM placeholder.migrations WHERE schema = %s AND name = %s "
                    "AND NOT done", self.schema, name)


# The state schema whose function the database's DDL event trigger runs, if it is another
# state's (one with a history still): init replaces it.
_EVENT_TRIGGERS_OF = (
    "SELECT n.nspname FROM pg_catalog.pg_event_trigger e JOIN pg_catalog.pg_proc p ON p.oid "
    "= e.evtfoid JOIN pg_catalog.pg_namespace n ON n.oid = p.pronamespace WHERE e.evtname = "
    "'pg_roll_handle_ddl' AND pg_catalog.to_regclass(pg_catalog.quote_ident(n.nspname) || "
    "'.migrations') IS NOT NULL")


def _taken_over(old: str, new: str) -> str:
    """What init of state ``new`` tells where it took the event triggers from state ``old``.

    PostgreSQL names event triggers once per database, and pgroll names its two so: one
    state schema records DDL made outside a migration, on every schema. pgroll does the same.
    """
    return (f"the database's event triggers (pg_roll_handle_ddl, pg_roll_handle_drop: one of "
            f"each per database, as pgroll names them) recorded DDL made outside a migration "
            f"in state schema {quote_ident(old)}; from now on they record it in "
            f"{quote_ident(new)}, for every schema, {quote_ident(old)}'s included (run init "
            f"with --pgroll-schema {quote_ident(old)} to give them back)")

