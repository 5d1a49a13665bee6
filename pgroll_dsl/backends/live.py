"""The live executor: runs a Plan's steps, exactly as the plan file shows them.

One dedicated connection in autocommit mode (``CREATE INDEX CONCURRENTLY`` and the backfill's
per-batch COMMIT need it), with ``lock_timeout`` on every statement; a backfill's block runs with
``check_function_bodies`` off (``bodies_unchecked``). A step that needs a lock
that blocks clients (``SHARE ROW EXCLUSIVE`` and stronger) first waits, without asking for it,
until no other transaction holds a lock that conflicts: a request waiting in the lock queue
would make every later client wait behind it. Then it asks, bounded by ``lock_timeout``; one
that times out all the same is retried with jittered exponential backoff, and each retry is
reported.
"""

from __future__ import annotations

import random
import re
import selectors
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, nullcontext, suppress
from dataclasses import dataclass, replace
from typing import Any

import psycopg
from psycopg.conninfo import conninfo_to_dict, make_conninfo

from pgroll_dsl.backends.conninfo import ENCODING, connect_timeout
from pgroll_dsl.backends.one_session import PID, SessionChanged
from pgroll_dsl.backends.pipelined import StatementCallback, send_together
from pgroll_dsl.backends.workers import RETRYABLE, open_workers, run_backfill_workers
from pgroll_dsl.catalog.derived import (
    DUP_PREFIX,
    MARKER,
    NEW_PREFIX,
    NOT_NULL_PREFIX,
    QUEUE_SETTING,
    SLICE_SETTING,
)
from pgroll_dsl.plan.backfill import backfill_note, progress_rows
from pgroll_dsl.plan.dependents import QUEUE_ORDERS
from pgroll_dsl.plan.model import Lock, Step, StepKind
from pgroll_dsl.sql.ddl import qualified
from pgroll_dsl.sql.quoting import quote_ident, quote_literal
from pgroll_dsl.sql.session import settings_for
from pgroll_dsl.sql.transactions import index_build, one_by_one

ProgressCallback = Callable[[str, int, int], None]  # table, rows done, estimated total
RetryCallback = Callable[[Step, int, float], None]
# The step, the pids it waits for, what they hold (tables, views), the lock it will ask for.
WaitCallback = Callable[[Step, list[int], str, Lock], None]
NOTE_EVERY = 10.0  # seconds between two notes of a backfill passed on (Executor.note)
# What a step that had already run before an interruption fails with when run again.
_ALREADY_DONE = (psycopg.errors.DuplicateColumn, psycopg.errors.DuplicateTable,
                 psycopg.errors.DuplicateObject, psycopg.errors.DuplicateSchema)
# Why "already exists" fails a step that may have run before: see Executor.run_step.
_RESUMED = ("the step may have run, whole or in part, before the run that began this phase "
            "stopped, and whether it did is not known: it is not taken as done")


@dataclass(frozen=True, slots=True, kw_only=True)
class Session:
    """How the migration connection is set up (pgroll's flags)."""

    url: str
    schema: str = "public"
    lock_timeout_ms: int = 500
    role: str | None = None
    retries: int = 10
    holder_wait_s: float = 60.0  # how long a step waits for conflicting holders to finish


# The lock modes (pg_locks.mode) each strong lock conflicts with; weaker locks (index builds,
# VALIDATE) do not conflict with clients' reads and writes and are asked for at once.
_CLIENT_MODES = ("AccessShareLock", "RowShareLock", "RowExclusiveLock")
_STRONGER = ("ShareUpdateExclusiveLock", "ShareLock", "ShareRowExclusiveLock", "ExclusiveLock",
             "AccessExclusiveLock")
CONFLICTS: dict[Lock, tuple[str, ...]] = {
    Lock.ACCESS_EXCLUSIVE: _CLIENT_MODES + _STRONGER,
    Lock.SHARE_ROW_EXCLUSIVE: ("RowExclusiveLock", *_STRONGER),
    Lock.SHARE: ("RowExclusiveLock", "ShareUpdateExclusiveLock", "ShareRowExclusiveLock",
                 "ExclusiveLock", "AccessExclusiveLock"),
}
# The step's tables, the tables their foreign keys join them to (adding or dropping a
# foreign key locks both ends), and the partitions below all of them: ALTER TABLE, LOCK TABLE
# and CREATE TRIGGER on a partitioned table lock each partition too, where a client that
# reads one partition directly holds its lock only.
_HOLDERS = (
    "WITH RECURSIVE named AS (SELECT pg_catalog.to_regclass(n) AS oid FROM "
    "pg_catalog.unnest(%s::text[]) n), joined AS (SELECT oid FROM named UNION SELECT confrelid "
    "FROM pg_catalog.pg_constraint WHERE contype = 'f' AND conrelid IN (SELECT oid FROM named) "
    "UNION SELECT conrelid FROM pg_catalog.pg_constraint WHERE contype = 'f' AND confrelid IN "
    "(SELECT oid FROM named)), related(oid) AS (SELECT oid FROM joined UNION SELECT "
    "i.inhrelid FROM pg_catalog.pg_inherits i JOIN related r ON i.inhparent = r.oid) "
    "SELECT DISTINCT l.pid FROM pg_catalog.pg_locks l WHERE l.granted AND l.locktype = "
    "'relation' AND l.pid <> pg_catalog.pg_backend_pid() AND l.mode = ANY(%s) AND (l.relation "
    "IN (SELECT oid FROM related) OR l.relation IN (SELECT c.oid FROM pg_catalog.pg_class c "
    "JOIN pg_catalog.pg_namespace s ON s.oid = c.relnamespace WHERE s.nspname = "
    "ANY(%s::text[]))) AND l.database = (SELECT oid FROM pg_catalog.pg_database "
    "WHERE datname = pg_catalog.current_database()) ORDER BY 1")


# PostgreSQL's refusal of a statement on a table of another role (its name unqualified).
_NOT_OWNER = re.compile(r"must be owner of (?:table|relation|partitioned table) (.+)$")
# That table (in the target schema, else the first of its name) as SQL names it, its owner
# and the role the migration runs as.
_OWNER_OF = (
    "SELECT c.oid::pg_catalog.regclass::text, pg_catalog.pg_get_userbyid(c.relowner), "
    "current_user FROM pg_catalog.pg_class c WHERE c.oid = pg_catalog.to_regclass(%s) "
    "OR (pg_catalog.to_regclass(%s) IS NULL AND c.relname = %s) ORDER BY c.oid LIMIT 1")

# What a failure of the state's bookkeeping inside a phase's transaction is reported as.
_RECORD = Step(sql="", summary="record the steps done in the state schema", lock=Lock.NONE)


# SQLSTATEs whose detail says what depends on an object: dependent_objects_still_exist, and
# feature_not_supported ("cannot alter type of a column used by a view or rule").
_DEPENDED_ON = frozenset({"2BP01", "0A000"})


class StepFailed(Exception):
    """A step failed; ``step`` says which, ``cause`` why (the database's message)."""

    def __init__(self, step: Step, cause: Exception, note: str | None = None) -> None:
        # The server's own message and hint; not its detail or context, which repeat the plan's
        # SQL and the internal columns of a failing row, but where the detail names what
        # depends on a column (a view of the user's that keeps complete from dropping it).
        diag = cause.diag if isinstance(cause, psycopg.Error) else None
        primary = diag.message_primary if diag is not None else None
        message = (primary or str(cause).strip() or type(cause).__name__).strip()
        if diag is not None and diag.sqlstate in _DEPENDED_ON and diag.message_detail:
            message += f" ({' '.join(diag.message_detail.split())})"
        if diag is not None and diag.message_hint:
            message += f" (hint: {diag.message_hint})"
        if note is not None:
            message += f" ({note})"
        super().__init__(in_authors_terms(f"{step.summary}: {message}"))
        self.step = step
        self.cause = cause


class ConnectionLost(StepFailed):
    """The connection to the database broke while a step ran: whether it finished is unknown."""


_INTERNAL = (  # derived names, most specific prefix first, and what they stand for
    (NOT_NULL_PREFIX, 'the NOT NULL of "{}"'),
    (DUP_PREFIX, '"{}" (its copy)'),
    (NEW_PREFIX, '"{}" (its new version)'),
)
_NAMES = [(re.compile(r'"?' + re.escape(prefix) + r'([A-Za-z0-9_$]+)"?'), template)
          for prefix, template in _INTERNAL]


def not_owner_of(err: BaseException) -> str | None:
    """The table a statement was refused on for not being its owner's (None: not that)."""
    if not isinstance(err, psycopg.errors.InsufficientPrivilege):
        return None
    found = _NOT_OWNER.match(err.diag.message_primary or "")
    return None if found is None else found[1]


def in_authors_terms(text: str) -> str:
    """A message about a copy or a helper names what it stands for: ``"age" (its new version)``.

    (A name that was cut to 63 bytes and hashed keeps its cut form.)
    """
    for pattern, template in _NAMES:
        text = pattern.sub(_naming(template), text)
    return text


def _naming(template: str) -> Callable[[re.Match[str]], str]:
    return lambda match: template.format(match[1])


def first_line(err: BaseException) -> str:
    """The first line of a driver error (its detail lines repeat the query), or its type."""
    text = str(err).strip()
    return text.splitlines()[0] if text else type(err).__name__


def connect(session: Session) -> psycopg.Connection[Any]:
    """The migration connection: autocommit, lock timeout, role, search_path, no inference."""
    return connect_pinned(session)[0]


# How long a connection beside the run's own (its second connection, a backfill worker's)
# waits for a server session: a pool with none free would keep it waiting for as long as the
# run's own holds one. Longer, and the run goes on without it.
SERVER_WAIT_S = 2.0


def connect_pinned(session: Session, wait_s: float | None = None
                   ) -> tuple[psycopg.Connection[Any], int]:
    """``connect``, and the server session (``pg_backend_pid()``) that has the settings.

    One round trip, one implicit transaction: whatever a pooler does, the settings and the
    pid are one server session's (``one_session.py``). Nothing is prepared on the server
    (``prepare_threshold=None``): a pooler in transaction mode would run a prepared
    statement's next use on another server connection, where it does not exist, and leave
    the statement on one that another client of the pool then gets. With ``wait_s``, a
    server session that does not come within it fails the connection
    (``psycopg.OperationalError``), as a server's refusal does.
    """
    conn = psycopg.connect(session.url, autocommit=True, application_name="pgroll-dsl",
                           client_encoding=ENCODING, prepare_threshold=None,
                           **connect_timeout(session.url))
    if wait_s is not None:
        try:
            answered = first_answer(conn, "SELECT 1", wait_s)
        except BaseException:
            conn.close()
            raise
        if answered is None:
            conn.close()
            raise psycopg.OperationalError(
                f"no server session was free for it within {wait_s:.0f} s (a pool with fewer "
                "server connections than the run and its workers)")
    setup = [*session_setup(session, conn.info.server_version), f"SELECT {PID}"]
    try:
        cursor = conn.execute("; ".join(setup))
        while cursor.nextset():
            pass
        row = cursor.fetchone()
    except BaseException:
        conn.close()
        raise
    assert row is not None
    return conn, int(row[-1])


def session_setup(session: Session, server_version: int) -> list[str]:
    """The statements that give a migration connection its settings.

    Run when it connects, and again after each step of an author's raw SQL (which may set
    anything: a ``SET lock_timeout = 0`` left behind would let every later lock wait of the
    run queue clients for as long as it waits).
    """
    # What pgroll's event trigger would record, and what the role's or the database's
    # defaults would break (sql/session.py says why).
    setup = [s.statement() for s in settings_for(server_version)]
    setup.append(f"SET lock_timeout TO {quote_literal(f'{session.lock_timeout_ms}ms')}"
                 if session.lock_timeout_ms > 0 else "RESET lock_timeout")
    setup.append(f"SET ROLE {quote_ident(session.role)}" if session.role else "RESET ROLE")
    # Not a backfill worker's session (workers._share makes it one): a server session that
    # a pool hands on may still say it is one, with another worker's share of the keys.
    not_a_worker = f"pg_catalog.set_config({quote_literal(SLICE_SETTING)}, '', false)"
    return [*setup, f"SET search_path TO {quote_ident(session.schema)}",
            f"SELECT {not_a_worker}"]


def same_server(url: str, conn: psycopg.Connection[Any]) -> str:
    """``url``, but to the host and port ``conn`` reached (and its address, if it has one).

    A URL may name several hosts (``host=a,b``, ``load_balance_hosts=random``) or a name
    that resolves to several addresses: the run's second connection (``one_session.py``)
    and its backfill workers must reach the server, or the pooler, the run did.
    """
    info = conn.info
    pinned: dict[str, Any] = {"host": info.host, "port": info.port}
    with suppress(psycopg.NotSupportedError):  # a libpq before 12 cannot tell
        if info.hostaddr:
            pinned["hostaddr"] = info.hostaddr
    if "load_balance_hosts" in conninfo_to_dict(url):
        pinned["load_balance_hosts"] = "disable"
    return make_conninfo(url, **pinned)


def first_answer(conn: psycopg.Connection[Any], query: str, wait_s: float) -> str | None:
    """The first value of ``query``'s first row set, waited for ``wait_s`` at most.

    None if none came by then (the connection is then unusable: close it). A pool with no
    server connection free keeps a client's query waiting, however long: this must not hold
    up a run that could go on without that connection. ``query`` may hold several
    statements (one transaction: one server session behind any pooler).
    """
    pgconn = conn.pgconn
    deadline = time.monotonic() + wait_s
    with selectors.DefaultSelector() as selector:  # any descriptor number, unlike select()

        def ready(event: int) -> bool:
            left = deadline - time.monotonic()
            if left <= 0:
                return False
            selector.register(pgconn.socket, event)
            try:
                return bool(selector.select(left))
            finally:
                selector.unregister(pgconn.socket)

        pgconn.send_query(query.encode())
        while pgconn.flush():  # a non-blocking connection: the query may not be sent yet
            if not ready(selectors.EVENT_WRITE):
                return None
        value: str | None = None
        while True:
            while pgconn.is_busy():
                if not ready(selectors.EVENT_READ):
                    return None
                pgconn.consume_input()
            result = pgconn.get_result()
            if result is None:
                return value
            if result.status == psycopg.pq.ExecStatus.TUPLES_OK and value is None:
                cell = result.get_value(0, 0) if result.ntuples else None
                value = "" if cell is None else cell.decode()


def session_of_a_second_connection(url: str, wait_s: float,
                                   query: str = f"SELECT {PID}") -> int | None:
    """The server session (pid) a second connection to ``url`` runs a query in, or None.

    ``one_session.py`` says why. The probe must never stop a run that is fine: a refused
    connection (a connection limit) or a pool with no server connection free (it would hand
    one over later) tells nothing (None), and the run goes on with its step-boundary
    checks. ``query`` returns the pid first, and may do more in that session
    (``one_session.leave``).
    """
    try:
        probe = psycopg.connect(url, autocommit=True, application_name="pgroll-dsl probe",
                                prepare_threshold=None,
                                connect_timeout=max(2, round(wait_s)))
    except psycopg.Error:
        return None
    try:
        pid = first_answer(probe, query, wait_s)
        return int(pid) if pid else None
    except (psycopg.Error, OSError, ValueError):
        return None
    finally:
        probe.close()


_UNCHECKED = "SET check_function_bodies TO off"


@contextmanager
def bodies_unchecked(conn: psycopg.Connection[Any]) -> Iterator[None]:
    """A backfill's ``DO`` block runs with ``check_function_bodies`` off, then the setting is reset.

    PL/pgSQL compiles an inline block at every run, and with the check on it parses each SQL
    statement of the block at compile time, then again when the statement first runs: about
    a millisecond of each pass, which counts on a small table (docs/benchmarks.md). The
    check is a syntax check only; the blocks are the planner's own text and the author's
    expressions in them were parsed before planning. Trigger functions, which run in
    clients' writes, are still created with the session's setting.
    """
    conn.execute(_UNCHECKED)
    stopped = True
    try:
        yield
        stopped = False
    finally:
        # What stopped the block goes on, whatever the RESET meets: a Ctrl-C or SIGTERM may
        # leave the connection busy with the cancelled block ("another command is already
        # in progress"), and that error, raised here, turned an interrupt into a failed start.
        with suppress(psycopg.Error) if stopped else nullcontext():
            if not conn.closed and not conn.broken:
                conn.execute("RESET check_function_bodies")


def _unchecked(conn: psycopg.Connection[Any]) -> psycopg.Connection[Any]:
    """A backfill worker's connection, which runs nothing but its share of the block."""
    conn.execute(_UNCHECKED)
    return conn


class Executor:
    """Runs steps on one connection; reports backfill progress and lock retries."""

    def __init__(self, conn: psycopg.Connection[Any], session: Session,
                 on_progress: ProgressCallback | None = None,
                 on_retry: RetryCallback | None = None,
                 on_wait: WaitCallback | None = None, backfill_workers: int = 1,
                 on_statement: StatementCallback | None = None,
                 on_note: Callable[[str], None] | None = None,
                 workers_lock: int | None = None, together: bool = True) -> None:
        self.conn = conn
        # A transaction's steps after its first sent together (``run_atomically``).
        self.together = together
        # The advisory lock key each worker's connection holds shared (State.workers_key).
        self.workers_lock = workers_lock
        self.on_note = on_note
        self._noted = -NOTE_EVERY  # time.monotonic() of the last note passed on
        self.on_statement = on_statement
        self.session = session
        self.backfill_workers = backfill_workers
        self.on_progress = on_progress
        self.on_retry = on_retry
        self.on_wait = on_wait
        self.ran: list[str] = []  # every statement sent, in order (the log)
        self._backfilling: tuple[str, int] | None = None  # table, estimated rows
        # Rows each table's earlier backfill steps of this run reported (a table backfilled
        # in two passes: the second one's rows count on from the first one's).
        self._backfilled: dict[str, int] = {}
        self._before = 0  # ... for the step being run
        self._gone: set[str] = set()  # partitions found gone (``_gone_now``), said once
        conn.add_notice_handler(self._notice)

    def report_progress(self, rows: int) -> None:
        """The backfill of the step being run has done ``rows`` rows so far."""
        if self._backfilling is not None:
            table, total = self._backfilling
            self._backfilled[table] = self._before + rows
            if self.on_progress is not None:
                self.on_progress(table, self._before + rows, total)

    def _notice(self, diagnostic: psycopg.errors.Diagnostic) -> None:
        # The backfill's DO block reports the rows done so far in each NOTICE's detail; which
        # table it is comes from the step being run, not from the text.
        rows = progress_rows(diagnostic.message_detail)
        if rows is not None:
            self.report_progress(rows)
        elif diagnostic.severity_nonlocalized == "WARNING":
            # A step that went on past something the operator must act on (a table that left
            # a partitioned table keeps start's columns; an author's RAISE WARNING): every
            # one is shown, unthrottled, where psql would have shown it too.
            if self.on_note is not None and diagnostic.message_primary:
                self.on_note(f"warning: {diagnostic.message_primary}")
        else:
            self.note(backfill_note(diagnostic.message_primary, diagnostic.message_detail))

    def note(self, text: str | None) -> None:
        """Pass a backfill's note on: the first at once, then one per ``NOTE_EVERY`` seconds.

        A backfill waiting for a replica says so five times a second; the operator needs to
        know that it waits and how far behind the replica is, not every check.
        """
        now = time.monotonic()
        if text is None or self.on_note is None or now - self._noted < NOTE_EVERY:
            return
        self._noted = now
        self.on_note(text)

    def run_step(self, step: Step, resuming: bool = False) -> None:
        """One step in autocommit, retried while it cannot get its lock in time.

        An invalid index left by a concurrent build that was killed or failed (``step.index``,
        the author's own build included) is dropped first so that it is built again: by this
        run's phase before an interruption, or by an earlier attempt that was rolled back
        (an author's ``IF NOT EXISTS`` build would otherwise keep it, and enforce nothing).
        ``resuming``: the step may have run already before an interruption (it is the first
        step of a run that goes on with a phase another run began); "already exists" then
        means done only when that index exists and is valid. Any other "already exists" fails
        the step, resumed or not: an author's statement that met an object of the same name,
        or ran part-way before the interruption, did not do what it says, and the statements
        after it in the step never ran.

        A step for one partition of a tree that others may leave (``step.partition``) is
        skipped where that partition is gone: before it, or once it failed (dropped between
        two of its batches).
        """
        if self._gone_now((step,)):
            return
        try:
            self._run_step(step, resuming)
        except ConnectionLost:
            raise
        except StepFailed:
            if not self._gone_now((step,)):
                raise

    def _gone_now(self, steps: tuple[Step, ...]) -> set[str]:
        """The partitions ``steps`` are for (``Step.partition``) that are gone now.

        Gone: no table has the name the plan has (dropped, or renamed: gone by its old
        name), or the table has not the backfill's marker, which every step for a partition
        follows (it left before start added its columns: detached, or dropped and made
        again). A table that left later keeps its steps: were it attached again, its rows
        would have their copies. Each is said once. A failure of the read itself is no
        answer: the steps then run, or fail, as they are.
        """
        names = sorted({s.partition for s in steps if s.partition is not None})
        if not names:
            return set()
        try:
            rows = self.conn.execute(
                "SELECT u.i FROM pg_catalog.unnest(%s::text[]) WITH ORDINALITY AS u(name, i) "
                "WHERE NOT EXISTS (SELECT FROM pg_catalog.pg_attribute a WHERE a.attrelid = "
                "pg_catalog.to_regclass(u.name) AND a.attname = %s AND NOT a.attisdropped)",
                ([qualified(self.session.schema, name) for name in names], MARKER)).fetchall()
        except psycopg.Error:
            return set()
        gone = {names[int(row[0]) - 1] for row in rows}
        for name in sorted(gone - self._gone):
            if self.on_note is not None:
                self.on_note(f"partition {name} is gone (dropped, renamed, or detached before "
                             "start added its columns): its steps are skipped")
        self._gone |= gone
        return gone

    def _run_step(self, step: Step, resuming: bool) -> None:
        self._clear_invalid_index(step)
        backfill = step.kind is StepKind.BACKFILL and bool(step.tables)
        if backfill:
            table = step.tables[0]
            total = self._as_the_step(
                step, lambda: estimated_rows(self.conn, self.session.schema, table))
            self._backfilling = (table, total)
            self._noted = -NOTE_EVERY  # each pass's first note is shown at once
            self._before = self._backfilled.setdefault(table, 0)
            if self.on_progress is not None:
                self.on_progress(table, self._before, total)
        try:
            if not (backfill and step.key and self.backfill_workers > 1
                    and self._in_workers(step)):  # on connections of their own (_unchecked)
                with bodies_unchecked(self.conn) if backfill else nullcontext():
                    self._retrying(lambda _queue: self._execute(step), lambda: step, (step,),
                                   again=self._again(step))
        except _ALREADY_DONE as err:
            if not resuming:
                raise StepFailed(step, err) from err
            if step.index is None or not self._index_valid(step):
                raise StepFailed(step, err, _RESUMED) from err
        finally:
            self._backfilling = None

    def run_atomically(self, steps: tuple[Step, ...],
                       before: Callable[[int, Step], str | None],
                       after: Callable[[], None], dropped_schemas: tuple[str, ...] = ()) -> None:
        """Steps in one transaction, with ``after`` (the state's bookkeeping) inside it.

        A lock timeout (or a deadlock) anywhere rolls the whole transaction back and retries
        it from its first step: clients see all of it or nothing, and never wait behind a
        waiting migration for longer than ``lock_timeout``. ``before`` runs at each step's
        boundary; what it returns (a query of the caller's, or None) is sent with the step.
        With ``self.together``, the first step goes alone and the steps after it go together, in
        one round trip (``pipelined.py``), so their boundaries all come before they are sent;
        an author's raw SQL (which may be several statements) goes alone, at its own
        boundary. Without, each step goes alone, after its boundary.
        The transaction begins once no client holds its tables, nor the views of the version
        schemas it drops (``dropped_schemas``).
        """
        current = [steps[0]]

        def failing(step: Step) -> None:
            current[0] = step

        def body(queue: str | None) -> None:
            with self.conn.transaction():
                if queue is not None:  # (for this transaction only)
                    self.conn.execute("SELECT pg_catalog.set_config(%s, %s, true)",
                                      (QUEUE_SETTING, queue))
                sent_steps = _skipping(steps, self._gone_now(steps))
                current[0] = steps[0]
                self._execute(sent_steps[0], before(0, steps[0]))
                for group in _sent_as(steps, self.together):
                    current[0] = steps[group[0]]
                    queries = [before(offset, steps[offset]) for offset in group]
                    if len(group) == 1:
                        self._execute(sent_steps[group[0]], queries[0])
                        continue
                    sent = [sent_steps[offset] for offset in group]
                    self.ran.extend(step.sql for step in sent)
                    send_together(self.conn, sent, queries, failing, self.on_statement)
                current[0] = _RECORD  # a failure now is the state's, not the last step's
                after()

        while True:
            gone = set(self._gone)
            try:
                self._retrying(body, lambda: current[0], steps, schemas=dropped_schemas)
                return
            except _ALREADY_DONE as err:
                raise StepFailed(current[0], err) from err
            except ConnectionLost:
                raise
            except StepFailed:
                # A partition dropped between the check and the step (its lock): once more,
                # without it; each time one more is gone, so this ends.
                if not self._gone_now(steps) - gone:
                    raise

    def _in_workers(self, step: Step) -> bool:
        """The backfill on ``backfill_workers`` connections of the same session settings.

        On fewer where the server refuses more (``open_workers``), with a warning; ``False``
        when it refuses every one: the step then runs on the executor's own connection.
        """
        total = self._backfilling[1] if self._backfilling is not None else 0
        connections, refused = open_workers(self._worker, self.backfill_workers)
        if refused is not None and self.on_note is not None:
            runs_on = (f"{len(connections)} of them" if connections
                       else "the migration's own connection")
            self.on_note(f"warning: backfill of {step.tables[0]}: the server refused worker "
                         f"connection {len(connections) + 1} of {self.backfill_workers} "
                         f"({refused}); the backfill runs on {runs_on}")
        if not connections:
            return False
        try:
            self._statement(step.sql, lambda: run_backfill_workers(
                connections, self.conn, self.session.schema, step, total,
                self.report_progress, retries=self.session.retries, on_note=self.note))
        except (psycopg.Error, SessionChanged) as err:
            raise StepFailed(step, err) from err
        return True

    def _worker(self) -> tuple[psycopg.Connection[Any], int]:
        """A backfill worker's connection, marked as one while it lives (``workers_lock``).

        With the server session its settings were made in (``connect_pinned``).
        """
        conn, pid = connect_pinned(self.session, SERVER_WAIT_S)
        _unchecked(conn)
        if self.workers_lock is not None:
            conn.execute("SELECT pg_catalog.pg_advisory_lock_shared(%s)", (self.workers_lock,))
        return conn, pid

    def _execute(self, step: Step, with_it: str | None = None) -> None:
        """The step's statement, the plan's own text, and ``with_it`` before it.

        ``with_it`` (a query) goes in the same message: only inside a transaction, as a
        message of several statements is a transaction of its own otherwise. An author's
        raw SQL outside a transaction goes a statement at a time, for the same reason (its
        ``SET`` before the statement it is for: ``sql.transactions.statements_apart``), and
        after any raw SQL the connection gets its own settings back (``session_setup``).
        """
        sql = step.sql if with_it is None else f"{with_it};\n{step.sql}"
        raw = step.kind is StepKind.RAW_SQL
        if raw and not step.transactional and with_it is None:
            self._statement(step.sql, lambda: [self.conn.execute(s) for s in one_by_one(sql)])
        else:
            self._statement(step.sql, lambda: self.conn.execute(sql))
        if raw:
            self.conn.execute("; ".join(session_setup(self.session,
                                                      self.conn.info.server_version)))

    def _statement(self, sql: str, run: Callable[[], object]) -> None:
        """Run one statement of the plan: logged, and reported with its time (``--verbose``)."""
        self.ran.append(sql)
        if self.on_statement is None:
            run()
            return
        self.on_statement(sql, None)
        began = time.monotonic()
        run()
        self.on_statement(sql, time.monotonic() - began)

    def _again(self, step: Step) -> Callable[[], None] | None:
        """What a retry does first: drop the INVALID index a timed-out concurrent build left.

        The same statement would otherwise find its index "already exists".
        """
        if step.index is None:
            return None
        return lambda: self._clear_invalid_index(step)

    def _retrying(self, body: Callable[[str | None], None], current: Callable[[], Step],
                  gate: tuple[Step, ...], again: Callable[[], None] | None = None,
                  schemas: tuple[str, ...] = ()) -> None:
        """Run ``body``; on a ``RETRYABLE`` error, back off and run it again.

        (A lock timeout, a deadlock, or a row a client moved to another partition.) Before
        each attempt, wait until no other transaction holds a lock that conflicts with the
        ones ``gate``'s steps ask for (up to ``holder_wait_s`` in all); before a retry, run
        ``again``. ``body`` gets how its transaction's lock step waits in the queue
        (``QUEUE_SETTING``), or ``None``: it tries.
        """
        attempt = queued = 0
        deadline = time.monotonic() + self.session.holder_wait_s
        while True:
            try:
                self._wait_for_holders(gate, deadline, schemas)
                if attempt and again is not None:
                    again()
                # Holders that never went away, or the last try: the lock step waits for a
                # view in the queue, where trying starves; each such try in the next order
                # (plan/dependents.lock_block).
                queue = None
                if time.monotonic() >= deadline or attempt == self.session.retries:
                    queue = QUEUE_ORDERS[queued % len(QUEUE_ORDERS)]
                    queued += 1
                body(queue)
                return
            except RETRYABLE as err:
                attempt += 1
                if attempt > self.session.retries:
                    raise StepFailed(current(), err) from err
                delay = min(5.0, 0.05 * 2**attempt) * (0.5 + random.random())
                if self.on_retry is not None:
                    self.on_retry(current(), attempt, delay)
                time.sleep(delay)
            except _ALREADY_DONE:
                raise
            except psycopg.Error as err:
                raise self._failed(current(), err) from err

    def _failed(self, step: Step, err: psycopg.Error) -> StepFailed:
        """How a step failed: the connection lost (whether it ran is unknown), or the step."""
        if self.conn.broken or self.conn.closed:
            return ConnectionLost(step, err)
        return StepFailed(step, err, self._not_owner(err))

    def _not_owner(self, err: psycopg.Error) -> str | None:
        """Whose table it is, and what to do, where the step met a table it does not own.

        Start checks the tables it plans for before its first step (``probe.unowned``); a
        partition made since by another role (pg_partman's maintenance, a superuser's
        script) is one every statement on its parent reaches, the rollback's too, until
        its owner is one the migration's role may act as.
        """
        table = not_owner_of(err)
        if table is None:
            return None
        named = qualified(self.session.schema, table)
        try:
            row = self.conn.execute(_OWNER_OF, (named, named, table)).fetchone()
        except psycopg.Error:
            return None
        if row is None:
            return None
        table, owner, user = (str(value) for value in row)
        return (f"{table} is owned by role {quote_ident(owner)}, which "
                f"{quote_ident(user)} may not act as: as {quote_ident(owner)} or a superuser, "
                f"run ALTER TABLE {table} OWNER TO {quote_ident(user)} (or GRANT "
                f"{quote_ident(owner)} TO {quote_ident(user)}), then run this command again")

    def _as_the_step(self, step: Step, read: Callable[[], int]) -> int:
        """A read a step makes before it runs, failing as the step would."""
        try:
            return read()
        except psycopg.Error as err:
            raise self._failed(step, err) from err

    def _wait_for_holders(self, gate: tuple[Step, ...], deadline: float,
                          schemas: tuple[str, ...] = ()) -> None:
        """Poll ``pg_locks`` until no other backend holds a lock the steps' would queue behind.

        ``gate``: the steps of one transaction (or one step), whose tables are waited for all
        at once, for the strongest lock any of them takes: a later step's table (rollback's
        drop of start's columns from a partition that left its tree) is locked in the same
        transaction as the first's. Then the requests are granted at once, or wait only for
        clients that arrived in between. At ``deadline`` it stops waiting: the request then
        waits its ``lock_timeout`` and is retried as usual.
        """
        strong = [s for s in gate if s.lock in CONFLICTS and s.tables]
        modes = sorted({mode for s in strong for mode in CONFLICTS[s.lock]})
        lock = max((s.lock for s in strong), key=list(Lock).index, default=Lock.NONE)
        if schemas:  # dropping a view takes ACCESS EXCLUSIVE on it
            modes, lock = list(CONFLICTS[Lock.ACCESS_EXCLUSIVE]), Lock.ACCESS_EXCLUSIVE
        if not modes:
            return
        relations = list(dict.fromkeys(n for s in strong for n in s.tables))
        names = [qualified(self.session.schema, n) for n in relations]
        held = _listed(relations, f"the views of {', '.join(schemas)}" if schemas else "")
        reported: list[int] = []
        while time.monotonic() < deadline:
            holders = [int(r[0]) for r in self.conn.execute(
                _HOLDERS, (names, modes, list(schemas))).fetchall()]
            if not holders:
                return
            if holders != reported and self.on_wait is not None:
                self.on_wait(strong[0] if strong else gate[0], holders, held, lock)
                reported = holders
            time.sleep(0.02)

    def _index_valid(self, step: Step) -> bool | None:
        """Whether the index ``step`` builds is there and valid; None: not there.

        Its name in the target schema, on the table the statement names, unique if it asks
        for a unique one: an index of that name on another table (or not unique) is not the
        step's, whatever its state.
        """
        build = index_build(step.sql, self.session.schema)
        if build is None or build.name != step.index:
            return None
        schema = self.session.schema
        row = self.conn.execute(
            "SELECT indisvalid FROM pg_catalog.pg_index WHERE indexrelid = "
            "pg_catalog.to_regclass(%s) AND indrelid = pg_catalog.to_regclass(%s) "
            "AND (indisunique OR NOT %s)",
            (qualified(schema, build.name), qualified(schema, build.table), build.unique),
        ).fetchone()
        return None if row is None else bool(row[0])

    def _clear_invalid_index(self, step: Step) -> None:
        if step.index is not None and self._index_valid(step) is False:
            self.conn.execute("DROP INDEX CONCURRENTLY IF EXISTS "
                              f"{qualified(self.session.schema, step.index)}")


# What a step for a partition that is gone runs instead: nothing, in the step's place (the
# transaction's boundaries, and what the executor records, stay where they are).
_SKIPPED = "SELECT NULL AS skipped_partition_is_gone"


def _skipping(steps: tuple[Step, ...], gone: set[str]) -> tuple[Step, ...]:
    """``steps``, those for a partition of ``gone`` made to do nothing."""
    return tuple(replace(s, sql=_SKIPPED, kind=StepKind.STATEMENT, index=None)
                 if s.partition in gone else s for s in steps)


def _sent_as(steps: tuple[Step, ...], together: bool) -> list[list[int]]:
    """The offsets of a transaction's steps after its first, grouped as they are sent.

    ``together``: runs of the planner's steps in one group each; an author's raw SQL alone.
    """
    groups: list[list[int]] = []
    for offset in range(1, len(steps)):
        alone = not together or steps[offset].kind is StepKind.RAW_SQL
        if alone or not groups or steps[groups[-1][-1]].kind is StepKind.RAW_SQL:
            groups.append([offset])
        else:
            groups[-1].append(offset)
    return groups


def estimated_rows(conn: psycopg.Connection[Any], schema: str, table: str) -> int:
    """PostgreSQL's estimate of a table's rows (no scan), for a progress bar's total."""
    row = conn.execute(
        "SELECT GREATEST(reltuples, 0)::bigint FROM pg_class WHERE oid = to_regclass(%s)",
        (f"{quote_ident(schema)}.{quote_ident(table)}",),
    ).fetchone()
    return int(row[0]) if row and row[0] is not None else 0


def _listed(tables: list[str], views: str) -> str:
    """What a wait is for, as a message says it: a few tables by name, then how many more."""
    shown = ", ".join(tables[:4]) + (f" and {len(tables) - 4} more" if len(tables) > 4 else "")
    if shown:
        shown += " (or a partition below)"
    return " and ".join(part for part in (shown, views) if part)
