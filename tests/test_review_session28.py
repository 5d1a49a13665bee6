"""Review of session 28's changes, on a real PostgreSQL: the backfill's second pass (its row
predicate ``xmin <> stamp AND (marker OR stamp IS NOT NULL)``, and the keyed second pass
where the table's own trigger fires on the batches), and complete's lock step waiting in the
queue for a view that uses a carried column (``pgroll_dsl.lock_queue``, plan/dependents.py
``lock_block``).

Defects are strict xfails whose reason is the diagnosis. The passing tests cover what holds:
client writes of every kind around both passes (keyed, keyless, partitioned, two workers, a
start stopped between the passes and resumed, an audit trigger enabled ALWAYS), readers and
writers of both kinds around complete's queued lock step, and readers of a view complete
drops and makes again.
"""

from __future__ import annotations

import threading
import time
from typing import Any

import psycopg
import pytest
from psycopg.conninfo import make_conninfo

from pgroll_dsl.backends.live import Session
from pgroll_dsl.backends.runner import Runner, RunOptions, StepEvent
from pgroll_dsl.plan.model import Phase
from tests.live_helpers import (
    Connection,
    applied,
    client,
    dsn_of,
    make_runner,
    migration,
    one,
)
from tests.test_review_two_pass import Hooks

pytestmark = pytest.mark.postgres

REWRITE_V = "alter table t alter v type bigint up `v` down `v`;"
# A view that complete replaces in place (its columns keep their types) and that a client
# may insert through.
FILTERED = "CREATE VIEW tv AS SELECT id FROM t WHERE v IS DISTINCT FROM -1;"


def _with_view(pg_conn: Connection, dsn: str, views: str) -> None:
    """``t`` (50 rows), ``views`` on it, and the start of the type change of ``v``."""
    pg_conn.execute("CREATE TABLE t (id int PRIMARY KEY, v int);"
                    "INSERT INTO t SELECT g, g FROM generate_series(1, 50) g;" + views)
    runner = make_runner(dsn)
    try:
        runner.start(migration(REWRITE_V, "02_v"))
    finally:
        runner.close()


def _completer(dsn: str, lock_timeout_ms: int, retries: int, holder_wait_s: float,
               **options: Any) -> Runner:
    return Runner(RunOptions(session=Session(url=dsn, lock_timeout_ms=lock_timeout_ms,
                                             retries=retries, holder_wait_s=holder_wait_s),
                             **options))


def _is_v_bigint(conn: Connection) -> bool:
    return one(conn, "SELECT format_type(atttypid, NULL) FROM pg_attribute WHERE "
               "attrelid = 't'::regclass AND attname = 'v'") == ("bigint",)


class Load:
    """Client loops on connections of their own (no server-side prepared statements), each
    error any of them gets kept, each key a writer committed recorded."""

    def __init__(self, dsn: str) -> None:
        self.dsn = dsn
        self.stop = threading.Event()
        self.errors: list[str] = []
        self.committed: list[int] = []
        self.threads: list[threading.Thread] = []
        self._keys = iter(range(10_000, 10_000_000))
        self._lock = threading.Lock()

    def key(self) -> int:
        with self._lock:
            return next(self._keys)

    def _loop(self, body: Any, offset: float, pause: float) -> None:
        with psycopg.connect(self.dsn, autocommit=True, prepare_threshold=None) as conn:
            time.sleep(offset)
            while not self.stop.is_set():
                try:
                    body(conn)
                except psycopg.Error as err:
                    self.errors.append(f"{err.sqlstate} {err}")
                time.sleep(pause)

    def add(self, body: Any, offset: float = 0.0, pause: float = 0.0) -> None:
        self.threads.append(threading.Thread(target=self._loop, args=(body, offset, pause),
                                             daemon=True))

    def start(self) -> None:
        for thread in self.threads:
            thread.start()

    def close(self) -> None:
        self.stop.set()
        for thread in self.threads:
            thread.join(10)

    # The kinds of client.
    @staticmethod
    def reader(conn: Connection) -> None:  # transactions of 150 ms: two of them overlap
        with conn.transaction():
            conn.execute("SELECT count(*) FROM tv").fetchall()
            time.sleep(0.15)

    def via_view(self, conn: Connection) -> None:  # the view, then the table under it
        key = self.key()
        with conn.transaction():
            conn.execute("INSERT INTO tv (id) VALUES (%s)", (key,))
            time.sleep(0.02)
        self.committed.append(key)

    def table_then_view(self, conn: Connection) -> None:
        key = self.key()
        with conn.transaction():
            conn.execute("INSERT INTO t (id, v) VALUES (%s, %s)", (key, key))
            time.sleep(0.02)
            conn.execute("SELECT count(*) FROM tv").fetchall()
        self.committed.append(key)


def _at(began: float, second: float) -> None:
    time.sleep(max(0.0, began + second - time.monotonic()))


# ---------------------------------------------------------------------------------------
# Complete's lock step

# Fixed: with lock_timeout 0 complete never finished while clients read the view in
# overlapping transactions: the try that began when no client held t looped in lock_block's
# NOWAIT loop for ever (its only exit on failure was lock_timeout), and the executor never got
# the lock timeout that would make it retry in the queue. The loop now gives up after the
# shortest deadlock_timeout a client may have where lock_timeout is 0.


@pytest.mark.parametrize("lock_timeout_ms", [
    3000, 0])
def test_readers_that_arrive_after_the_wait_for_holders_do_not_starve_complete(
        pg_dsn: str, pg_conn: Connection, lock_timeout_ms: int) -> None:
    """The readers of the view begin once complete's transaction has begun (no holder when it
    looked), just before its lock step; complete must finish while they go on."""
    dsn = dsn_of(pg_dsn, pg_conn)
    _with_view(pg_conn, dsn, FILTERED)
    load = Load(dsn)
    load.add(Load.reader, 0.0)
    load.add(Load.reader, 0.075)
    started = threading.Event()

    def hook(event: StepEvent) -> None:
        if event.phase is Phase.COMPLETE and event.in_transaction and event.step is not None \
                and event.step.summary.startswith("lock ") and not started.is_set():
            started.set()
            load.start()
            time.sleep(0.5)  # they overlap by now

    runner = _completer(dsn, lock_timeout_ms, retries=4, holder_wait_s=2.0, on_step=hook)
    outcome: list[Any] = []

    def run() -> None:
        try:
            runner.complete()
            outcome.append("done")
        except Exception as err:  # noqa: BLE001 - kept for the assertion
            outcome.append(err)

    thread = threading.Thread(target=run)
    thread.start()
    thread.join(12)
    finished_under_load = not thread.is_alive()
    load.close()
    thread.join(60)
    runner.close()
    assert started.is_set()
    assert finished_under_load, "complete still running after 12 s of readers"
    assert outcome == ["done"]
    assert load.errors == []
    assert _is_v_bigint(pg_conn)


# The queue's budget was the deadlock_timeout of complete's own session, but PostgreSQL
# aborts whichever waiter's own deadlock_timeout runs out first: a client whose
# deadlock_timeout was lower (ALTER ROLE app SET deadlock_timeout), or a migrating session
# whose was higher (PGOPTIONS), made the client caught between the view and the table the
# deadlock victim. Fixed: the budget is the least of this session's, the server's default and
# every database's and role's setting. Left then: a superuser client's own SET in its
# session, which no other session can read. Since the "shared" order locks the view in SHARE
# mode before the table, a client inserting through the view waits at the view and holds
# nothing the step waits for: that case holds too. (Documented: a client that read the view
# and then writes the table, with its own lower SET, can still be the victim.)


@pytest.mark.parametrize("client_timeout, migrator_timeout", [
    (None, None),
    ("400ms", None),  # (a strict xfail until the "shared" order)
    ("role 400ms", None),
    (None, "3s"),
], ids=["same", "client-lower", "client-role-lower", "migrator-higher"])
def test_a_client_caught_between_the_view_and_the_table_with_its_own_deadlock_timeout(
        pg_dsn: str, pg_conn: Connection, client_timeout: str | None,
        migrator_timeout: str | None) -> None:
    """test_lock_queue's deterministic deadlock, with sessions whose deadlock_timeout
    differ: a writer holds t past the wait for holders (0.5 s), so complete queues (its first
    order, "shared") at 0.5 s; at 0.8 s a client inserts through the view; at 1.0 s the writer
    commits. (Complete held tv in SHARE mode from 0.5 s, so the client waits at tv; before
    that lock, it held tv and waited for t while complete, with t in SHARE mode, waited for
    tv.)"""
    dsn = dsn_of(pg_dsn, pg_conn)
    _with_view(pg_conn, dsn, FILTERED)
    errors: list[str] = []
    began = time.monotonic()

    client_dsn = dsn
    if client_timeout is not None and client_timeout.startswith("role "):
        role = f"app_{pg_conn.info.backend_pid}"
        pg_conn.execute(f"CREATE ROLE {role} LOGIN")
        pg_conn.execute(f"ALTER ROLE {role} SET deadlock_timeout = "
                        f"'{client_timeout.split()[1]}'")
        pg_conn.execute(f"GRANT SELECT, INSERT ON t, tv TO {role}")
        client_dsn = make_conninfo(dsn, user=role)

    def through_view() -> None:
        with psycopg.connect(client_dsn, autocommit=True) as conn:
            if client_timeout is not None and not client_timeout.startswith("role "):
                conn.execute(f"SET deadlock_timeout = '{client_timeout}'")
            _at(began, 0.8)
            try:
                with conn.transaction():
                    conn.execute("INSERT INTO tv (id) VALUES (1000)")
                    _at(began, 2.5)
            except psycopg.Error as err:
                errors.append(f"{err.sqlstate} {err}")

    def complete() -> None:
        url = dsn if migrator_timeout is None else make_conninfo(
            dsn, options=f"-c deadlock_timeout={migrator_timeout}")
        runner = _completer(url, 3000, retries=4, holder_wait_s=0.5)
        try:
            runner.complete()
        except Exception as err:  # noqa: BLE001 - kept for the assertion
            errors.append(f"complete: {err}")
        finally:
            runner.close()

    with psycopg.connect(dsn, autocommit=True) as holder:
        with holder.transaction():
            holder.execute("INSERT INTO t VALUES (999, 999)")
            threads = [threading.Thread(target=f) for f in (through_view, complete)]
            for thread in threads:
                thread.start()
            _at(began, 1.0)
    for thread in threads:
        thread.join(30)
    assert errors == []
    assert one(pg_conn, "SELECT count(*) FROM t WHERE id IN (999, 1000)") == (2,)
    assert _is_v_bigint(pg_conn)


# Fixed: the queue's budget was counted from the start of the lock step, but complete's
# transaction already holds ACCESS EXCLUSIVE locks from its first step (DROP SCHEMA of the
# previous version schema). An old-version client that read the user view tv and then queued
# for its version's view t behind that DROP began waiting before the lock step did, and got
# 40P01 'deadlock detected'. The budget now counts from the transaction's start.


def test_an_old_version_client_queued_behind_the_drop_of_its_schema(
        pg_dsn: str, pg_conn: Connection) -> None:
    dsn = dsn_of(pg_dsn, pg_conn)
    applied(dsn, "create table t (id int primary key, v int);")
    pg_conn.execute("INSERT INTO t SELECT g, g FROM generate_series(1, 50) g;" + FILTERED)
    runner = make_runner(dsn)
    try:
        runner.start(migration(REWRITE_V, "02_v"))
    finally:
        runner.close()
    errors: list[str] = []
    began = time.monotonic()

    def old_client() -> None:
        with psycopg.connect(dsn, autocommit=True) as conn:
            conn.execute("SET search_path TO public_01_setup, public")
            _at(began, 0.8)  # complete's DROP SCHEMA waits for the holder by now
            try:
                with conn.transaction():
                    conn.execute("SELECT count(*) FROM tv").fetchall()  # public.tv
                    conn.execute("SELECT count(*) FROM t").fetchall()  # public_01_setup.t
            except psycopg.Error as err:
                errors.append(f"{err.sqlstate} {err}")

    def complete() -> None:
        runner = _completer(dsn, 3000, retries=4, holder_wait_s=0.5)
        try:
            runner.complete()
        except Exception as err:  # noqa: BLE001 - kept for the assertion
            errors.append(f"complete: {err}")
        finally:
            runner.close()

    with psycopg.connect(dsn, autocommit=True) as holder:
        holder.execute("SET search_path TO public_01_setup")
        with holder.transaction():
            holder.execute("SELECT count(*) FROM t").fetchall()  # past the wait for holders
            threads = [threading.Thread(target=f) for f in (old_client, complete)]
            for thread in threads:
                thread.start()
            _at(began, 1.0)
    for thread in threads:
        thread.join(30)
    assert errors == []
    assert _is_v_bigint(pg_conn)


def test_readers_and_writers_of_both_kinds_at_once(pg_dsn: str, pg_conn: Connection) -> None:
    """Both kinds of writer (through the view; the table, then the view) at once with
    overlapping readers: complete finishes in its first try in the queue or the next, no
    client gets an error, nothing a writer committed is lost.

    Found later (a flake of CI's kind: 1 run in 16 with six retries): the "tables" order
    took the table in SHARE mode while a client that writes through the view held the view
    and waited for the table; the step then waited for the view, the deadlock's shape, and
    gave up at its budget. With one try in the queue it failed 7 runs in 10. Fixed: the
    first order in the queue ("shared") locks the view in SHARE mode (with the table under
    it) before the table, which new writers through the view wait for and readers do not;
    0 in 20."""
    dsn = dsn_of(pg_dsn, pg_conn)
    _with_view(pg_conn, dsn, FILTERED)
    load = Load(dsn)
    load.add(Load.reader, 0.0)
    load.add(Load.reader, 0.075)
    for offset in (0.0, 0.01):
        load.add(load.via_view, offset, 0.01)
        load.add(load.table_then_view, offset, 0.01)
    load.start()
    time.sleep(0.5)
    runner = _completer(dsn, 3000, retries=1, holder_wait_s=0.5)
    try:
        runner.complete()
        time.sleep(0.3)  # the clients go on against the completed schema
    finally:
        runner.close()
        load.close()
    assert load.errors == []
    assert len(load.committed) > 20
    present = {int(r[0]) for r in pg_conn.execute(
        "SELECT id FROM t WHERE id = ANY(%s)", (load.committed,)).fetchall()}
    assert present == set(load.committed)
    assert _is_v_bigint(pg_conn)


def test_readers_of_a_view_complete_drops_and_makes_again(
        pg_dsn: str, pg_conn: Connection) -> None:
    """tv's column v changes type with t's (complete drops tv and tv2 built on it and makes
    them again, new OIDs): clients reading either while complete runs wait for its lock and
    then read the new view (PostgreSQL looks the name up again after the wait), no error.
    (A client that prepared ``SELECT id, v FROM tv`` server-side gets 0A000 'cached plan
    must not change result type' on its next run after complete, as it would for ``SELECT
    id, v FROM t``: any type change does that, not the lock step.)"""
    dsn = dsn_of(pg_dsn, pg_conn)
    _with_view(pg_conn, dsn, "CREATE VIEW tv AS SELECT id, v FROM t;"
                             "CREATE VIEW tv2 AS SELECT id, v FROM tv WHERE id > 0;")
    before = one(pg_conn, "SELECT 'tv'::regclass::oid, 'tv2'::regclass::oid")
    load = Load(dsn)
    for offset, statement in ((0.0, "SELECT id, v FROM tv"), (0.025, "SELECT id, v FROM tv"),
                              (0.01, "SELECT * FROM tv2"), (0.04, "SELECT sum(v) FROM tv2")):
        def read(conn: Connection, statement: str = statement) -> None:
            with conn.transaction():
                conn.execute(statement).fetchall()
                time.sleep(0.05)
        load.add(read, offset)
    load.start()
    time.sleep(0.5)
    runner = _completer(dsn, 3000, retries=6, holder_wait_s=0.5)
    try:
        runner.complete()
        time.sleep(0.5)
    finally:
        runner.close()
        load.close()
    assert load.errors == []
    after = one(pg_conn, "SELECT 'tv'::regclass::oid, 'tv2'::regclass::oid")
    assert set(after).isdisjoint(before)  # made again, not replaced in place
    assert one(pg_conn, "SELECT format_type(atttypid, NULL) FROM pg_attribute WHERE "
               "attrelid = 'tv2'::regclass AND attname = 'v'") == ("bigint",)


# ---------------------------------------------------------------------------------------
# The second pass's row predicate (``xmin <> stamp AND (marker OR stamp IS NOT NULL)``)

TYPE_A = "alter table t alter a type bigint up `a + 1000000` down `a - 1000000`;"
SHAPES = {
    "keyed": ("CREATE TABLE t (id int PRIMARY KEY, a int, s int, b text) "
              "WITH (fillfactor = 50)", []),
    "keyless": ("CREATE TABLE t (id int, a int, s int, b text) WITH (fillfactor = 50)", []),
    "partitioned": ("CREATE TABLE t (id int PRIMARY KEY, a int, s int, b text) "
                    "PARTITION BY RANGE (id)", [
                        "CREATE TABLE t_low PARTITION OF t FOR VALUES FROM (MINVALUE) TO (300)",
                        "CREATE TABLE t_high PARTITION OF t FOR VALUES FROM (300) TO (MAXVALUE)"]),
}


def _stale(conn: Connection) -> list[tuple[Any, ...]]:
    return conn.execute("SELECT id, a, s, _pgroll_new_a FROM t WHERE _pgroll_new_a IS DISTINCT "
                        "FROM a::bigint + 1000000 OR s IS DISTINCT FROM a ORDER BY id"
                        ).fetchall()


class Writes:
    """Client writes of every kind, each keeping ``s = a`` (so that ``up`` of ``a`` is known)."""

    def __init__(self, dsn: str) -> None:
        self.base = psycopg.connect(dsn, autocommit=True)
        self.replica = psycopg.connect(dsn, autocommit=True)
        self.replica.execute("SET session_replication_role = replica")
        self.fresh = iter(range(20_000, 30_000))

    def close(self) -> None:
        self.base.close()
        self.replica.close()

    def batch(self, first: int) -> list[Any]:
        """Writes on the rows ``first..first+9`` (and new ones), each a callable."""
        b, r = self.base, self.replica
        ids = list(range(first, first + 10))

        def update_a() -> None:
            b.execute("UPDATE t SET a = a + 7, s = s + 7 WHERE id = ANY(%s)", (ids[:3],))

        def update_other() -> None:
            b.execute("UPDATE t SET b = 'o' WHERE id = %s", (ids[3],))

        def replica_update() -> None:
            r.execute("UPDATE t SET a = a * 3, s = s * 3 WHERE id = %s", (ids[4],))

        def delete() -> None:
            b.execute("DELETE FROM t WHERE id = %s", (ids[5],))

        def key_move() -> None:  # to the other partition, where there are two
            b.execute("UPDATE t SET id = %s, a = a - 1, s = s - 1 WHERE id = %s",
                      (next(self.fresh), ids[6]))

        def insert() -> None:
            k = next(self.fresh)
            b.execute("INSERT INTO t (id, a, s, b) VALUES (%s, %s, %s, 'i')", (k, k, k))

        def replica_insert() -> None:
            k = next(self.fresh)
            r.execute("INSERT INTO t (id, a, s, b) VALUES (%s, %s, %s, 'r')", (k, k, k))

        def copy_in() -> None:
            with b.cursor().copy("COPY t (id, a, s, b) FROM STDIN") as copy:
                for _ in range(2):
                    k = next(self.fresh)
                    copy.write_row((k, -k, -k, "c"))

        def upsert() -> None:
            b.execute("INSERT INTO t (id, a, s, b) VALUES (%s, 5, 5, 'u') ON CONFLICT (id) DO "
                      "UPDATE SET a = excluded.a, s = excluded.s", (ids[7],)) \
                if _keyed(b) else b.execute("UPDATE t SET a = 5, s = 5 WHERE id = %s",
                                            (ids[7],))

        def subtransaction() -> None:
            with b.transaction():
                b.execute("SAVEPOINT p")
                b.execute("UPDATE t SET a = a + 11, s = s + 11 WHERE id = %s", (ids[8],))
                b.execute("RELEASE SAVEPOINT p")
                b.execute("UPDATE t SET a = a + 1, s = s + 1 WHERE id = %s", (ids[9],))

        return [update_a, update_other, replica_update, delete, key_move, insert,
                replica_insert, copy_in, upsert, subtransaction]


def _keyed(conn: Connection) -> bool:
    return conn.execute("SELECT EXISTS (SELECT FROM pg_constraint WHERE conrelid = "
                        "'t'::regclass AND contype = 'p')").fetchone() == (True,)


@pytest.mark.parametrize("case", [
    "keyed", "keyless", "partitioned", "keyed-workers", "keyed-killed", "keyless-killed",
    "partitioned-workers-killed", "keyed-audit", "keyless-audit"])
def test_client_writes_around_both_passes_leave_every_copy_up_of_its_row(
        admin_dsn: str, pg_conn: Connection, case: str) -> None:
    """Writes of every kind (``Writes.batch``: updates of the column and of another one,
    superuser writes with session_replication_role = replica, deletes, key moves across
    partitions, inserts, COPY, upserts, subtransactions) on rows the first pass has written
    and on rows ahead of it, at four first-pass batches, right before the second pass and
    during it; ``killed``: start stopped right before the second pass, more writes (with the
    triggers), then resumed; ``workers``: two backfill workers; ``audit``: an AFTER UPDATE
    trigger enabled ALWAYS (the first pass writes nothing, the second reads by keys or
    pages). After start every copy is ``up`` of its row; then new-version writes; after
    complete every ``a`` is ``up`` of the client's value. (Fails where the second pass
    leaves the rows the first pass stamped and clients wrote before the triggers:
    predicate ``xmin <> stamp AND marker``.)"""
    shape = case.split("-")[0]
    workers = 2 if "workers" in case else 1
    table, partitions = SHAPES[shape]
    for statement in (table, *partitions):
        pg_conn.execute(statement)
    if "audit" in case:
        pg_conn.execute("CREATE TABLE audit (t_id int)")
        pg_conn.execute("CREATE FUNCTION audited() RETURNS trigger LANGUAGE plpgsql AS $$ "
                        "BEGIN INSERT INTO audit VALUES (NEW.id); RETURN NEW; END $$")
        pg_conn.execute("CREATE TRIGGER audited AFTER UPDATE ON t FOR EACH ROW "
                        "EXECUTE FUNCTION audited()")
        pg_conn.execute("ALTER TABLE t ENABLE ALWAYS TRIGGER audited")
    pg_conn.execute("INSERT INTO t SELECT g, g, g, 'b' FROM generate_series(1, 600) g")
    pg_conn.execute("VACUUM ANALYZE t")
    writes = Writes(admin_dsn)
    hooks = Hooks(admin_dsn, "t")
    if shape == "partitioned":
        hooks.leaves = ("t_low", "t_high")

    def at(*firsts: int) -> Any:
        def run() -> None:
            for first in firsts:
                for write in writes.batch(first):
                    write()
        return run

    def killed() -> None:
        raise RuntimeError("stopped between the passes")

    hooks.first.extend([at(1, 500), at(21, 520), at(41, 540), at(350, 580)])
    hooks.before_second.extend([at(100, 560), *([killed] if "killed" in case else [])])
    hooks.second.extend([at(200, 450), at(250, 470)])
    typed = migration(TYPE_A, "02_a")

    def runner_() -> Runner:
        return make_runner(admin_dsn, batch_size=20, batch_time_ms=0, backfill_workers=workers,
                           on_progress=hooks.progress, on_step=hooks.step)

    runner = runner_()
    try:
        try:
            runner.start(typed)
        except RuntimeError:
            assert "killed" in case
            runner.close()
            at(300, 590)()  # with the triggers, before the resumed second pass
            runner = runner_()
            runner.start(typed)
        if "audit" not in case:
            assert hooks.first == [], hooks.done  # the first pass wrote, clients meanwhile
        assert _stale(pg_conn) == []
        new = client(admin_dsn, "public_02_a")
        try:
            new.execute("UPDATE t SET a = a + 5, s = s + 5 WHERE id <= 60")
            new.execute("INSERT INTO t (id, a, s) VALUES (40000, 1000009, 9)")
        finally:
            new.close()
        assert _stale(pg_conn) == []
        runner.complete()
    finally:
        runner.close()
        hooks.close()
        writes.close()
    assert one(pg_conn, "SELECT count(*) FROM t WHERE a IS DISTINCT FROM s::bigint + 1000000"
               ) == (0,)
    assert one(pg_conn, "SELECT count(*) FROM t")[0] > 600


LATE_NAME = (
    "The `up` trigger (~pgroll_trigger_000_t_a) is meant to fire after the table's own BEFORE "
    "triggers (derived.late_trigger_name: '~ sorts after every ASCII letter, digit and _'), "
    "but PostgreSQL fires them in the byte order of their names, and a quoted name may sort "
    "after it ('~~norm', or any name beginning with a non-ASCII letter such as 'ünorm'). "
    "Such a trigger that changes the old column (abs(a)) runs after the copy was computed "
    "from the value before it: the copy of a row a client inserts with a = -5 stays "
    "up(-5). The sync trigger clears the marker and no first pass stamped the row, so the "
    "second pass now leaves a row written between the triggers and it (row 500) as it "
    "leaves one written after start (row 501): both stale after start, wrong after "
    "complete. Not fixed (the name would have to sort after any name the database's "
    "encoding allows); start warns, naming the trigger (the test below).")


@pytest.mark.parametrize("name", [
    "norm",
    pytest.param("~~norm", marks=pytest.mark.xfail(strict=True, reason=LATE_NAME)),
    pytest.param("ünorm", marks=pytest.mark.xfail(strict=True, reason=LATE_NAME)),
])
def test_a_user_before_trigger_named_after_the_late_trigger(
        admin_dsn: str, pg_conn: Connection, name: str) -> None:
    pg_conn.execute("CREATE TABLE t (id int PRIMARY KEY, a int, s int, b text)")
    pg_conn.execute("CREATE FUNCTION norm() RETURNS trigger LANGUAGE plpgsql AS $$ "
                    "BEGIN NEW.a := abs(NEW.a); NEW.s := abs(NEW.s); RETURN NEW; END $$")
    pg_conn.execute(f'CREATE TRIGGER "{name}" BEFORE INSERT OR UPDATE ON t FOR EACH ROW '
                    "EXECUTE FUNCTION norm()")
    pg_conn.execute("INSERT INTO t SELECT g, g, g, 'b' FROM generate_series(1, 100) g")
    hooks = Hooks(admin_dsn, "t")
    hooks.before_second.append(lambda: hooks.base.execute(
        "INSERT INTO t VALUES (500, -5, -5, 'x'); UPDATE t SET a = -7, s = -7 WHERE id = 3"))
    runner = make_runner(admin_dsn, batch_size=20, batch_time_ms=0,
                         on_progress=hooks.progress, on_step=hooks.step)
    try:
        runner.start(migration(TYPE_A, "02_a"))
        assert hooks.before_second == []
        hooks.base.execute("INSERT INTO t VALUES (501, -5, -5, 'x')")
        assert _stale(pg_conn) == []
    finally:
        runner.close()
        hooks.close()


@pytest.mark.parametrize("name", ["~~norm", "ünorm", "norm", "~pgroll_trigger_"])
def test_start_names_a_before_trigger_that_fires_after_the_late_trigger(
        admin_dsn: str, pg_conn: Connection, name: str) -> None:
    """What the defect above leaves: start says which trigger of the table fires after the
    one that fills the new column, and what to do. A name that sorts before it (``norm``),
    or one of the migration's own, is not named."""
    pg_conn.execute("CREATE TABLE t (id int PRIMARY KEY, a int, s int, b text)")
    pg_conn.execute("CREATE FUNCTION norm() RETURNS trigger LANGUAGE plpgsql AS $$ "
                    "BEGIN NEW.a := abs(NEW.a); RETURN NEW; END $$")
    pg_conn.execute(f'CREATE TRIGGER "{name}" BEFORE INSERT OR UPDATE ON t FOR EACH ROW '
                    "EXECUTE FUNCTION norm()")
    pg_conn.execute('CREATE TRIGGER "~~after" AFTER UPDATE ON t FOR EACH ROW '
                    "EXECUTE FUNCTION norm()")  # an AFTER trigger changes no row
    said: list[str] = []
    runner = make_runner(admin_dsn, on_message=said.append)
    try:
        runner.start(migration(TYPE_A, "02_a"))
        runner.rollback()
    finally:
        runner.close()
    late = [s for s in said if "fires after the trigger that fills" in s]
    if name in ("norm", "~pgroll_trigger_"):
        assert late == []
    else:
        assert late == [
            f'warning: trigger "{name}" of table "public"."t" fires after the trigger that '
            "fills the new column of a (a table's BEFORE triggers fire in the order of their "
            "names): what it changes in a row does not reach the new column; rename it to "
            "sort before ~pgroll_trigger_, or drop it until complete"], said
