"""Through a real PgBouncer: a run that loses its server session stops, and recovers after.

The live executor's run lock and session settings belong to one server session. PgBouncer in
transaction mode (what many hosted offerings hand out) runs each transaction on any server
connection of its pool, and a lone run rarely notices: the pooler hands it the connection it
released last. Here other clients take that connection from under it, as an application's
clients on the same pool do, and the tests show what that does unguarded (the lock and the
settings end up with another client), that each phase then stops with the one message
(``backends/one_session.py``) before the next step, and that the same command run directly
against the server afterwards resumes or rolls back. A pool in session mode keeps a client's
session: there start and complete run through, with clients of the pool busy meanwhile.

Skipped where no ``pgbouncer`` program is installed (CI installs one).
"""

from __future__ import annotations

import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from pgroll_dsl.backends.runner import PartialFailure, StepEvent
from pgroll_dsl.plan.model import Phase
from tests.live_helpers import (
    Connection,
    apply,
    columns,
    dsn_of,
    make_runner,
    migration,
    one,
    query,
    schemas,
)
from tests.pgbouncer import Pooler, backend_pid, program, take_session

pytestmark = pytest.mark.skipif(program() is None, reason="no pgbouncer program installed")

SETUP = "create table t (id int primary key, v text);\n"
ADD = "alter table t add column w int not null default 1 up `id * 2`;\n"
ROWS = 20
CHANGED = "the server session changed between two steps (backend pid"
WHERE_TO = "Connect to the server directly or through a pool in session mode"


def set_up(pg_dsn: str, pg_conn: Connection) -> str:
    """The test database, set up: ``t`` with rows, the state schema initialised."""
    dsn = dsn_of(pg_dsn, pg_conn)
    runner = make_runner(dsn)
    apply(runner, SETUP, "01_t")
    runner.close()
    pg_conn.execute("INSERT INTO t SELECT g, 'row ' || g FROM generate_series(1, %s) g", (ROWS,))
    pg_conn.execute("ANALYZE t")  # a row estimate: the key range can be cut into shares
    return dsn


@pytest.fixture
def direct(pg_dsn: str, pg_conn: Connection) -> str:
    """The test database (``set_up``), reached directly."""
    return set_up(pg_dsn, pg_conn)


@pytest.fixture
def transaction_pool(direct: str, tmp_path: Path) -> Iterator[Pooler]:
    with Pooler(direct, tmp_path, mode="transaction") as pooler:
        yield pooler


def _advisory_locks(conn: Connection) -> list[int]:
    """The sessions that hold an advisory lock in this database (the run lock is one)."""
    return [r[0] for r in query(conn, "SELECT pid FROM pg_locks WHERE locktype = 'advisory' "
                                      "AND database = (SELECT oid FROM pg_database WHERE "
                                      "datname = current_database()) ORDER BY pid")]


def _no_advisory_locks(conn: Connection) -> list[int]:
    """Wait (a few seconds at most) for the pooler's server sessions to end; what is left."""
    deadline = time.monotonic() + 10
    while _advisory_locks(conn) and time.monotonic() < deadline:
        time.sleep(0.05)
    return _advisory_locks(conn)


def _cli(*args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "pgroll_dsl", *args], capture_output=True,
                          text=True, timeout=timeout)


def _the_state(conn: Connection) -> list[tuple[object, ...]]:
    return query(conn, "SELECT name, done FROM pgroll.migrations ORDER BY created_at, name")


# ---- what a transaction pool does to a session, unguarded -----------------------------------


def test_a_transaction_pool_gives_the_lock_and_the_settings_to_another_client(
        transaction_pool: Pooler, pg_conn: Connection) -> None:
    """No pgroll-dsl here: what the executor did through such a pool before it checked.

    A "run" takes the lock and sets lock_timeout; another client of the pool gets its server
    session between two of its transactions, with the lock and the setting; the run's next
    transaction is in another session, without either; and a second run, handed the first
    session later, takes the lock again: nothing is serialised.
    """
    run = psycopg.connect(transaction_pool.dsn, autocommit=True, prepare_threshold=None)
    first = one(run, "SELECT pg_try_advisory_lock(42), pg_backend_pid()")
    assert first[0] is True
    run.execute("SET lock_timeout = '500ms'")
    other = take_session(transaction_pool.dsn, first[1])  # the pool's next client
    assert _advisory_locks(pg_conn) == [first[1]] == [backend_pid(other)]
    assert one(other, "SHOW lock_timeout") == ("500ms",)
    moved = backend_pid(run)
    assert moved != first[1]
    assert one(run, "SHOW lock_timeout") == ("0",)
    assert one(run, "SELECT pg_advisory_unlock(42)") == (False,)  # not this session's
    other.rollback()  # its session back to the pool, the lock still on it
    other.close()
    second = psycopg.connect(transaction_pool.dsn, autocommit=True, prepare_threshold=None)
    assert one(second, "SELECT pg_try_advisory_lock(42), pg_backend_pid()") == (True, first[1])
    run.close()
    second.close()
    transaction_pool.stop()
    assert _no_advisory_locks(pg_conn) == []


def test_a_lone_client_alternates_between_server_sessions_with_round_robin(
        direct: str, tmp_path: Path, pg_conn: Connection) -> None:
    """With ``server_round_robin`` each transaction runs in the next session: pgroll-dsl
    stops before the first step (the lock is checked from a query of its own), changing
    nothing and leaving no lock behind; directly against the server the same start runs."""
    path = tmp_path / "02_w.pgroll"
    path.write_text(ADD)
    with Pooler(direct, tmp_path, mode="transaction", round_robin=True) as pooler:
        with psycopg.connect(pooler.dsn, autocommit=True) as warm, \
                psycopg.connect(pooler.dsn, autocommit=True) as warm_too:
            with warm.transaction(), warm_too.transaction():  # two server sessions at once
                assert backend_pid(warm) != backend_pid(warm_too)
        with psycopg.connect(pooler.dsn, autocommit=True, prepare_threshold=None) as lone:
            pids = [backend_pid(lone) for _ in range(4)]
        assert pids[0] != pids[1] and pids[0] == pids[2] and pids[1] == pids[3], pids
        done = _cli("start", str(path), "--postgres-url", pooler.dsn)
        assert "Traceback" not in done.stderr, done.stderr
        assert done.returncode == 1, (done.returncode, done.stderr)
        assert "error: the server session changed before the first step (backend pid" \
            in done.stderr, done.stderr
        assert WHERE_TO in done.stderr and "; nothing was changed" in done.stderr, done.stderr
        assert len(done.stderr.strip().splitlines()) == 1, done.stderr
        assert _advisory_locks(pg_conn) == []  # asked for in the run's own session only
    assert _the_state(pg_conn) == [("01_t", True)]
    assert "public_02_w" not in schemas(pg_conn)
    done = _cli("start", str(path), "--postgres-url", direct, "--complete")
    assert done.returncode == 0, done.stderr
    assert query(pg_conn, "SELECT count(*) FILTER (WHERE w = id * 2) FROM t") == [(ROWS,)]


# ---- a run through a transaction pool: refused before its first step -----------------------


@pytest.mark.parametrize("phase", ["start", "complete", "rollback"])
def test_a_lone_run_through_a_transaction_pool_is_refused_before_its_first_step(
        transaction_pool: Pooler, direct: str, pg_conn: Connection, tmp_path: Path,
        phase: str) -> None:
    """No other client of the pool is busy, so every transaction of the run would get its
    session back, and the run would go through until a client took the session between two
    steps. The second connection of ``Runner._session_shared`` is handed the run's session:
    the command stops before its first step, in one line, having changed nothing and left
    no lock; directly against the server the same command runs."""
    path = tmp_path / "02_w.pgroll"
    path.write_text(ADD)
    if phase != "start":
        assert _cli("start", str(path), "--postgres-url", direct).returncode == 0
    before = (_the_state(pg_conn), columns(pg_conn, "t"), schemas(pg_conn))
    args = [str(path)] if phase == "start" else []
    done = _cli(phase, *args, "--postgres-url", transaction_pool.dsn)
    assert "Traceback" not in done.stderr, done.stderr
    assert done.returncode == 1, (done.returncode, done.stderr)
    assert done.stderr.startswith("error: another connection was handed this run's server "
                                  "session (backend pid "), done.stderr
    assert WHERE_TO in done.stderr and "; nothing was changed" in done.stderr, done.stderr
    assert len(done.stderr.strip().splitlines()) == 1, done.stderr
    assert (_the_state(pg_conn), columns(pg_conn, "t"), schemas(pg_conn)) == before
    assert _advisory_locks(pg_conn) == []
    if phase != "start":
        assert _steps_done(pg_conn, phase) == 0
    transaction_pool.stop()
    assert _cli(phase, *args, "--postgres-url", direct).returncode == 0
    if phase == "rollback":
        _as_before(pg_conn)
    else:
        if phase == "start":
            assert _cli("complete", "--postgres-url", direct).returncode == 0
        _added(pg_conn)


def test_a_session_pool_with_no_session_to_spare_runs_through(
        direct: str, pg_conn: Connection, tmp_path: Path) -> None:
    """The second connection waits for a server session the pool does not have (one, the
    run's): it tells nothing within its bound, and the run goes on (no false alarm, no
    hang)."""
    path = tmp_path / "02_w.pgroll"
    path.write_text(ADD)
    with Pooler(direct, tmp_path, mode="session", pool_size=1) as pooler:
        done = _cli("start", str(path), "--postgres-url", pooler.dsn, "--complete")
    assert done.returncode == 0, done.stderr
    _added(pg_conn)


# ---- behind a pool the probe cannot see through: each phase stops, then recovers directly ---


class _Waiting:
    """``on_message``: set once the run waits for a lock holder."""

    def __init__(self) -> None:
        self.event = threading.Event()

    def __call__(self, message: str) -> None:
        if message.startswith("waiting for backend"):
            self.event.set()


def _run_holder(conn: Connection) -> int:
    """The session that holds the run lock (one waits for it to be taken)."""
    deadline = time.monotonic() + 30
    while not (found := _advisory_locks(conn)):
        assert time.monotonic() < deadline, "the run lock was never taken"
        time.sleep(0.01)
    assert len(found) == 1, found
    return found[0]


def _moved_mid_phase(pooler: Pooler, direct: str, pg_conn: Connection,
                     phase: str) -> tuple[PartialFailure, int, int]:
    """Run ``phase`` through ``pooler`` and take its server session while a step waits.

    The run's probe of its session is off (``RunOptions.probe_session``): the pool stands
    for one that a second connection cannot see through, and the step-boundary checks are
    what is left. A client holds ``t`` directly, so the phase's first step that locks it
    waits for the holder, polling in short transactions; in between, another client of the
    pool takes the run's server session and keeps it. Then the holder lets go, and the step
    runs in another session. Returns how the phase stopped, the run's first session and the
    other client's (checked before it lets go: it holds the run lock and the run's
    lock_timeout).
    """
    blocker = psycopg.connect(direct)
    blocker.execute("SELECT count(*) FROM t")  # ACCESS SHARE until the transaction ends
    waiting = _Waiting()
    runner = make_runner(pooler.dsn, init=False, probe_session=False, on_message=waiting)
    stopped: list[BaseException] = []

    def run() -> None:
        try:
            if phase == "start":
                runner.start(migration(ADD, "02_w"))
            else:
                getattr(runner, phase)()
        except BaseException as err:  # noqa: BLE001 - the test looks at it
            stopped.append(err)

    thread = threading.Thread(target=run)
    thread.start()
    try:
        assert waiting.event.wait(60), "the run never waited for the holder"
        first = _run_holder(pg_conn)
        other = take_session(pooler.dsn, first)
        taken = (backend_pid(other), _advisory_locks(pg_conn), one(other, "SHOW lock_timeout"))
        blocker.rollback()
        thread.join(timeout=120)
        other.rollback()
        other.close()
    finally:
        blocker.close()
        thread.join(timeout=120)
        runner.close()
    assert taken == (first, [first], ("500ms",)), taken
    assert len(stopped) == 1 and isinstance(stopped[0], PartialFailure), stopped
    return stopped[0], first, taken[0]


def _stopped(failure: PartialFailure, phase: str, first: int) -> None:
    """The phase's one message: what changed, where to connect, what to run there."""
    assert failure.phase is Phase(phase)
    message = str(failure)
    assert message.startswith(f"{phase} stopped: {CHANGED} {first}, then "), message
    assert WHERE_TO in message and f"run {phase} again there" in message, message


def _steps_done(conn: Connection, phase: str) -> int:
    return int(one(conn, f"SELECT {phase}_steps_done FROM pgroll.pgroll_dsl_plans "
                         "WHERE name = '02_w'")[0])


def _added(conn: Connection) -> None:
    """02_w is applied: w filled from up, the old version's schema gone, nothing held."""
    assert _the_state(conn) == [("01_t", True), ("02_w", True)]
    assert ("w", "integer", True) in columns(conn, "t")
    assert query(conn, "SELECT count(*) FILTER (WHERE w = id * 2), count(*) FROM t") \
        == [(ROWS, ROWS)]
    assert "public_01_t" not in schemas(conn) and "public_02_w" in schemas(conn)
    assert _advisory_locks(conn) == []


def _as_before(conn: Connection) -> None:
    """02_w is undone: t as 01_t made it, every row kept, no trace of the migration."""
    assert _the_state(conn) == [("01_t", True)]
    assert [c[0] for c in columns(conn, "t")] == ["id", "v"]
    assert query(conn, "SELECT count(*) FROM t") == [(ROWS,)]
    assert "public_02_w" not in schemas(conn) and "public_01_t" in schemas(conn)
    assert _advisory_locks(conn) == []


@pytest.mark.parametrize("then", ["start", "rollback"])
def test_start_through_a_transaction_pool_stops_then_resumes_or_rolls_back_directly(
        transaction_pool: Pooler, direct: str, pg_conn: Connection, tmp_path: Path,
        then: str) -> None:
    """Start's first step runs in another session; start stops before its second, with the
    step recorded; directly against the server, start resumes at step 2, or rollback undoes
    the step."""
    path = tmp_path / "02_w.pgroll"
    path.write_text(ADD)
    failure, first, _ = _moved_mid_phase(transaction_pool, direct, pg_conn, "start")
    _stopped(failure, "start", first)
    assert "run start again there to resume it, or rollback to undo it" in str(failure)
    assert _steps_done(pg_conn, "start") == 1
    transaction_pool.stop()
    assert _no_advisory_locks(pg_conn) == []
    if then == "start":
        again = _cli("start", str(path), "--postgres-url", direct)
        assert again.returncode == 0, again.stderr
        assert 'resuming the start of "02_w" at step 2 of' in again.stderr, again.stderr
        assert _cli("complete", "--postgres-url", direct).returncode == 0
        _added(pg_conn)
    else:
        again = _cli("rollback", "--postgres-url", direct)
        assert again.returncode == 0, again.stderr
        _as_before(pg_conn)


@pytest.mark.parametrize(("phase", "then"), [("complete", "complete"), ("complete", "rollback"),
                                             ("rollback", "rollback")])
def test_complete_and_rollback_through_a_transaction_pool_stop_then_finish_directly(
        transaction_pool: Pooler, direct: str, pg_conn: Connection, tmp_path: Path,
        phase: str, then: str) -> None:
    """The phase's one transaction runs in another session: its first step boundary (inside
    it) stops the phase, and the transaction is rolled back whole. Directly against the
    server, the phase runs again; after a complete that stopped before its first step was
    recorded, rollback is still open too."""
    path = tmp_path / "02_w.pgroll"
    path.write_text(ADD)
    assert _cli("start", str(path), "--postgres-url", direct).returncode == 0
    failure, first, _ = _moved_mid_phase(transaction_pool, direct, pg_conn, phase)
    _stopped(failure, phase, first)
    assert _steps_done(pg_conn, phase) == 0
    assert _the_state(pg_conn) == [("01_t", True), ("02_w", False)]
    transaction_pool.stop()
    assert _no_advisory_locks(pg_conn) == []
    again = _cli(then, "--postgres-url", direct)
    assert again.returncode == 0, again.stderr
    if then == "complete":
        _added(pg_conn)
    else:
        _as_before(pg_conn)


# ---- the executor in-process: where it stops, and that the pid check is not skipped --------


def test_the_run_stops_at_the_step_boundary_after_its_session_was_taken(
        transaction_pool: Pooler, direct: str, pg_conn: Connection) -> None:
    """Deterministic: the other client takes the session at start's boundary before step 2
    (the run is between two transactions there); step 2 runs elsewhere, and start stops at
    the boundary before step 3, raising ``PartialFailure`` for start."""
    taken: list[Connection] = []

    def take(event: StepEvent) -> None:
        if event.index == 1 and not taken:
            taken.append(take_session(transaction_pool.dsn, runner.session_pid))

    runner = make_runner(transaction_pool.dsn, init=False, on_step=take, probe_session=False)
    try:
        with pytest.raises(PartialFailure) as stopped:
            runner.start(migration(ADD, "02_w"))
    finally:
        runner.close()
    assert stopped.value.phase is Phase.START
    assert str(stopped.value).startswith(f"start stopped: {CHANGED} {runner.session_pid}, ")
    assert _steps_done(pg_conn, "start") == 2
    assert _advisory_locks(pg_conn) == [runner.session_pid] == [backend_pid(taken[0])]
    taken[0].close()
    transaction_pool.stop()
    assert _no_advisory_locks(pg_conn) == []
    again = make_runner(direct, init=False)
    try:
        again.start(migration(ADD, "02_w"))
        again.complete()
    finally:
        again.close()
    _added(pg_conn)


# ---- a pool in session mode: no false alarm ------------------------------------------------


def test_start_and_complete_run_through_a_session_pool_with_its_clients_busy(
        direct: str, pg_conn: Connection, tmp_path: Path) -> None:
    """A session-mode pool keeps the run's server session: with other clients of the pool
    running transactions all along (and backfill workers on sessions of their own), start
    and complete succeed through it, and the run lock goes with the run."""
    path = tmp_path / "02_w.pgroll"
    path.write_text(ADD)
    stop = threading.Event()
    seen: set[int] = set()

    def busy() -> None:
        with psycopg.connect(pooler.dsn, autocommit=True) as client:
            while not stop.is_set():
                with client.transaction():
                    seen.add(backend_pid(client))
                time.sleep(0.001)

    pg_conn.execute("ANALYZE t")  # a row estimate: the key range is cut into two shares
    with Pooler(direct, tmp_path, mode="session", pool_size=5) as pooler:
        clients = [threading.Thread(target=busy) for _ in range(2)]
        for thread in clients:
            thread.start()
        try:
            started = _cli("start", str(path), "--postgres-url", pooler.dsn,
                           "--backfill-workers", "2")
            completed = _cli("complete", "--postgres-url", pooler.dsn)
        finally:
            stop.set()
            for thread in clients:
                thread.join()
        assert started.returncode == 0, started.stderr
        assert completed.returncode == 0, completed.stderr
        assert "warning" not in started.stderr + completed.stderr
        assert len(seen) == 2  # the clients kept a session each
        _added(pg_conn)


def test_workers_through_a_session_pool_twice_read_no_share_of_the_last_run(
        direct: str, pg_conn: Connection, tmp_path: Path) -> None:
    """A session pool hands the next run the server sessions of the last run's workers.

    PgBouncer resets a session it hands on (``DISCARD ALL``), which leaves a setting that
    was made empty, not unset: a worker's share bounds read as an empty key the next time
    (``invalid input syntax for type integer: ""``, start rolled back), where they must read
    as no bound. Both runs fill every row.
    """
    first = tmp_path / "02_w.pgroll"
    first.write_text(ADD)
    second = tmp_path / "03_x.pgroll"
    second.write_text("alter table t add column x int not null default 1 up `id * 3`;\n")
    pg_conn.execute("ANALYZE t")  # a row estimate: the key range is cut into shares
    with Pooler(direct, tmp_path, mode="session", pool_size=3) as pooler:
        for path in (first, second):
            started = _cli("start", str(path), "--postgres-url", pooler.dsn,
                           "--backfill-workers", "2", "--complete")
            assert started.returncode == 0, started.stderr
    assert query(pg_conn, "SELECT count(*) FILTER (WHERE w = id * 2 AND x = id * 3), "
                 "count(*) FROM t") == [(ROWS, ROWS)]
