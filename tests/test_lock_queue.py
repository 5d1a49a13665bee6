"""Complete's lock step waits in the queue for a view that clients never leave free.

Where a view uses a column complete carries over, the lock step first tries for the view
and the table without waiting (plan/dependents.lock_block): a client that wrote the table
and then reads the view takes the locks the other way round from one that reads the view,
and waiting for one while holding the other could deadlock with it. Clients that read the
view in overlapping transactions hold it at every try, so once the wait for holders runs
out (and on the executor's last try) the step waits in the queue, within one
``lock_timeout`` and one ``deadlock_timeout``. These tests run that mix of clients on a real
server: complete finishes, and no client fails (no deadlock is resolved against a client),
nothing a client committed is lost. (A client caught between the view and the table, step by
step, with deadlock_timeouts of its own: tests/test_review_session28.py.)
"""

from __future__ import annotations

import threading
import time

import psycopg
import pytest

from pgroll_dsl.backends.live import Session
from pgroll_dsl.backends.runner import Runner, RunOptions
from tests.live_helpers import Connection, dsn_of, make_runner, migration, one

pytestmark = pytest.mark.postgres

REWRITE_V = "alter table t alter v type bigint up `v` down `v`;"


class Clients:
    """Readers of the view whose transactions overlap, and clients that write the table and
    then read the view in one transaction, or write through the view; every error any of
    them gets is kept."""

    def __init__(self, dsn: str, through_view: bool) -> None:
        self.dsn = dsn
        self.through_view = through_view
        self.stop = threading.Event()
        self.errors: list[str] = []
        self.committed: list[int] = []
        self.threads: list[threading.Thread] = []

    def reader(self, offset: float) -> None:
        with psycopg.connect(self.dsn, autocommit=True) as conn:
            time.sleep(offset)
            while not self.stop.is_set():
                try:
                    with conn.transaction():
                        conn.execute("SELECT count(*) FROM tv").fetchall()
                        time.sleep(0.15)
                except psycopg.Error as err:
                    self.errors.append(f"reader: {err.sqlstate} {err}")

    def writer(self, first: int) -> None:
        with psycopg.connect(self.dsn, autocommit=True) as conn:
            key = first
            while not self.stop.is_set():
                key += 1
                try:
                    with conn.transaction():
                        if self.through_view:  # the view, then the table under it
                            conn.execute("INSERT INTO tv (id) VALUES (%s)", (key,))
                            time.sleep(0.02)
                        else:  # the table, then the view
                            conn.execute("INSERT INTO t (id, v) VALUES (%s, %s)", (key, key))
                            time.sleep(0.02)
                            conn.execute("SELECT count(*) FROM tv").fetchall()
                    self.committed.append(key)
                except psycopg.Error as err:
                    self.errors.append(f"writer: {err.sqlstate} {err}")
                time.sleep(0.01)

    def start(self) -> None:
        self.threads = [threading.Thread(target=self.reader, args=(o,), daemon=True)
                        for o in (0.0, 0.075)]
        self.threads += [threading.Thread(target=self.writer, args=(f,), daemon=True)
                         for f in (1_000_000, 2_000_000)]
        for thread in self.threads:
            thread.start()

    def close(self) -> None:
        self.stop.set()
        for thread in self.threads:
            thread.join(10)


# 300 ms: below deadlock_timeout (1 s); 3 000 ms: above it, where the step's budget is
# deadlock_timeout (or a client caught between the view and the table could be the one
# PostgreSQL's deadlock detector aborts).
@pytest.mark.parametrize("lock_timeout_ms", [300, 3000])
@pytest.mark.parametrize("through_view", [False, True], ids=["table then view", "view"])
def test_complete_waits_in_the_queue_for_a_busy_view_and_no_client_fails(
        pg_dsn: str, pg_conn: Connection, lock_timeout_ms: int, through_view: bool) -> None:
    dsn = dsn_of(pg_dsn, pg_conn)
    pg_conn.execute("CREATE TABLE t (id int PRIMARY KEY, v int);"
                    "INSERT INTO t SELECT g, g FROM generate_series(1, 50) g;"
                    # replaced in place at complete (its columns keep their types);
                    # a client may insert through it
                    "CREATE VIEW tv AS SELECT id FROM t WHERE v IS DISTINCT FROM -1;")
    runner = make_runner(dsn)
    try:
        runner.start(migration(REWRITE_V, "02_v"))
    finally:
        runner.close()
    clients = Clients(dsn, through_view)
    clients.start()
    time.sleep(0.5)
    runner = Runner(RunOptions(session=Session(url=dsn, lock_timeout_ms=lock_timeout_ms,
                                               retries=6, holder_wait_s=0.5)))
    try:
        began = time.monotonic()
        runner.complete()
        took = time.monotonic() - began
        time.sleep(0.3)  # the clients go on against the completed schema
    finally:
        runner.close()
        clients.close()
    assert clients.errors == []
    assert took < 30
    assert one(pg_conn, "SELECT format_type(atttypid, NULL) FROM pg_attribute WHERE "
               "attrelid = 't'::regclass AND attname = 'v'") == ("bigint",)
    assert len(clients.committed) > 10
    present = {int(r[0]) for r in pg_conn.execute(
        "SELECT id FROM t WHERE v IS NOT DISTINCT FROM CASE WHEN %s THEN NULL ELSE id END "
        "AND id = ANY(%s)", (through_view, clients.committed)).fetchall()}
    assert present == set(clients.committed)


def _started(pg_conn: Connection, dsn: str, setup: str) -> None:
    """t (with cid into c), c, ``setup``, and the start of the type change of t.v."""
    pg_conn.execute("CREATE TABLE t (id int PRIMARY KEY, v int, cid int);"
                    "CREATE TABLE c (id int PRIMARY KEY, name text);"
                    "INSERT INTO c VALUES (1, 'a'), (2, 'b');"
                    "INSERT INTO t SELECT g, g, 1 + g % 2 FROM generate_series(1, 50) g;"
                    + setup)
    runner = make_runner(dsn)
    try:
        runner.start(migration(REWRITE_V, "02_v"))
    finally:
        runner.close()


def _queued_complete(dsn: str, tries: int = 1) -> None:
    """complete whose tries wait in the queue (no wait for holders), in the executor's
    orders in turn: "shared", "tables", "views"."""
    runner = Runner(RunOptions(session=Session(url=dsn, lock_timeout_ms=3000,
                                               retries=tries - 1, holder_wait_s=0.0)))
    try:
        runner.complete()
    finally:
        runner.close()


def test_in_the_queue_a_view_joining_a_table_the_migration_leaves_alone_leaves_it_alone(
        pg_dsn: str, pg_conn: Connection) -> None:
    """The "shared" order locks a view in SHARE mode before the tables (so that no client
    writing through it holds it while it waits for them); ``LOCK TABLE`` of a view locks
    all it reads, so a view that also reads ``c`` is not locked that way: a client with an
    open transaction that wrote ``c`` neither stops complete nor waits for it."""
    dsn = dsn_of(pg_dsn, pg_conn)
    _started(pg_conn, dsn, "CREATE VIEW tv AS SELECT t.id, t.v, c.name FROM t "
                           "JOIN c ON c.id = t.cid;")
    with psycopg.connect(dsn) as writer:
        writer.execute("UPDATE c SET name = 'z' WHERE id = 1")
        _queued_complete(dsn)
        writer.execute("UPDATE c SET name = 'y' WHERE id = 2")
        writer.commit()
    assert one(pg_conn, "SELECT format_type(atttypid, NULL) FROM pg_attribute WHERE "
               "attrelid = 'tv'::regclass AND attname = 'v'") == ("bigint",)
    assert one(pg_conn, "SELECT string_agg(name, '' ORDER BY id) FROM c") == ("zy",)


def test_in_the_queue_a_view_whose_owner_may_only_read_the_table(
        pg_dsn: str, pg_conn: Connection) -> None:
    """Its owner may not lock the table in SHARE mode (it only has SELECT), so neither may
    ``LOCK TABLE`` of the view: the "shared" order goes on without that lock (the table in
    SHARE mode, then the view) and complete finishes."""
    dsn = dsn_of(pg_dsn, pg_conn)
    role = f"reader_{pg_conn.info.backend_pid}"
    pg_conn.execute(f"CREATE ROLE {role}")
    try:
        _started(pg_conn, dsn, f"GRANT SELECT ON t TO {role};"
                               "CREATE VIEW tv AS SELECT id, v FROM t;"
                               f"ALTER VIEW tv OWNER TO {role};")
        _queued_complete(dsn)
        assert one(pg_conn, "SELECT format_type(atttypid, NULL), pg_get_userbyid(relowner) "
                   "FROM pg_attribute JOIN pg_class ON oid = attrelid WHERE attrelid = "
                   "'tv'::regclass AND attname = 'v'") == ("bigint", role)
    finally:
        pg_conn.execute(f"DROP OWNED BY {role}; DROP ROLE {role}")
