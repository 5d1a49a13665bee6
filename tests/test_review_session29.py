"""Review of 89448c9 on a real PostgreSQL: complete's queued lock step, in the "tables"
order (since the fix below: the "shared" order), first locks each view that uses a carried
column in SHARE mode by ``LOCK TABLE`` of the view (plan/dependents.py ``lock_block``),
except where the view's owner may not or where the view reads a relation the migration
leaves alone (``_reads_other``).

What holds (each checked to fail with the view's SHARE lock skipped for every view, or with
``_reads_other`` or the ``insufficient_privilege`` handler taken out, where it depends on
them): writers through a view built on a view, and through a view of a partitioned table,
with overlapping readers, no longer deadlock with the step's one queued try (a view of one
of its partitions, since the fix, with its third); a client whose open transaction wrote a
table the view reads otherwise (a join, a sublink, a scalar subquery, a CTE, a view on a
view of it, in another schema) is neither waited for nor made to wait; which views the step
holds in SHARE mode while it waits for the table (nested views, a view of two views, an
owner that may or may not lock the table, a security_invoker view, a view using another
table through a function).

Found: the SHARE lock of the view, held while the step waits for the tables under it, was a
new deadlock with clients that hold a table and then want the view or another table:
clients that write the table and then write through the view (no order of the executor was
safe with them any more: with one queued try, 10 runs of 10 failed), and clients that write
the migration's tables in the step's own order when a view reads them in the other order
(they never touch the view; every run failed). Fixed (the two strict xfails are plain tests
now): the view's SHARE lock is an order of its own ("shared"), the first of three the
executor takes turns with, the "tables" order as it was before 89448c9 the second; and it is
taken only where the step locks one table, for a view that reads nothing but that table
(a view of one of its partitions, read directly, would lock the partition before the table,
where the table's clients lock it after).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

import psycopg
import pytest

from tests.live_helpers import Connection, dsn_of, make_runner, migration, one
from tests.test_lock_queue import _queued_complete, _started
from tests.test_review_session28 import FILTERED, Load, _is_v_bigint, _with_view

pytestmark = pytest.mark.postgres

Body = Callable[[Connection], None]

TABLE_THEN_VIEW = (  # (fixed: the diagnosis, kept)
    "89448c9: the 'tables' order now runs LOCK TABLE tv IN SHARE MODE first, which takes tv "
    "and then waits for t (under it) while holding tv; a client that wrote t and then writes "
    "through tv (ROW EXCLUSIVE on tv) waits for the step's SHARE lock on tv: a deadlock, which "
    "the step gives up at its budget (a lock timeout). The 'views' order has the same shape "
    "(tv in ACCESS EXCLUSIVE, then t), so with such clients neither order is safe; before "
    "the change the 'tables' order waited for t holding nothing they wanted and finished at "
    "once (with the view's SHARE lock skipped: 7 of 7 runs pass, with it 0 of 10)")
VIEW_ORDER_OF_TABLES = (  # (fixed: the diagnosis, kept)
    "89448c9: LOCK TABLE of the view locks the tables it reads in its own (range table) order, "
    "not the lock step's (by depth, then name): tcv reads t, then c, so the step holds t in "
    "SHARE while it waits for c; a client that writes c, then t (the step's own order, and it "
    "never touches the view) waits for it: a deadlock, the step gives up at its budget. "
    "Before the change the step locked c, then t, and such clients never deadlocked with it "
    "(with the view's SHARE lock skipped: 3 of 3 runs pass; with it 0 of 3)")


def _under_load(dsn: str, load: Load, tries: int = 1) -> None:
    """``load`` at work around complete's queued tries (the first: "shared")."""
    load.start()
    time.sleep(0.3)
    try:
        _queued_complete(dsn, tries)
        time.sleep(0.2)  # the clients go on against the completed schema
    finally:
        load.close()


def _kept(pg_conn: Connection, load: Load, table: str = "t") -> None:
    assert load.errors == []
    assert len(load.committed) > 5
    present = {int(r[0]) for r in pg_conn.execute(
        f"SELECT id FROM {table} WHERE id = ANY(%s)", (load.committed,)).fetchall()}
    assert present == set(load.committed)


def _insert_into(load: Load, view: str) -> Body:
    """A writer through ``view``: it holds the view (and those under it) then waits for t."""
    def body(conn: Connection) -> None:
        key = load.key()
        with conn.transaction():
            conn.execute(f"INSERT INTO {view} (id) VALUES (%s)", (key,))
            time.sleep(0.02)
        load.committed.append(key)
    return body


def _reader(view: str) -> Body:
    def body(conn: Connection) -> None:
        with conn.transaction():
            conn.execute(f"SELECT count(*) FROM {view}").fetchall()
            time.sleep(0.15)
    return body


def _table_then_through_view(load: Load) -> Body:
    """A writer of t that then writes through tv in the same transaction."""
    def body(conn: Connection) -> None:
        key = load.key()
        with conn.transaction():
            conn.execute("INSERT INTO t (id, v) VALUES (%s, %s)", (key, key))
            time.sleep(0.03)
            conn.execute("INSERT INTO tv (id) VALUES (%s)", (-key,))
        load.committed += [key, -key]
    return body


def test_writers_of_the_table_then_through_the_view(pg_dsn: str, pg_conn: Connection) -> None:
    """Clients that write t and then, in the same transaction, write through tv: complete
    finishes within its first two tries ("shared" gives up, TABLE_THEN_VIEW; "tables" waits
    for t holding nothing a client wants), no client fails, nothing committed is lost."""
    dsn = dsn_of(pg_dsn, pg_conn)
    _with_view(pg_conn, dsn, FILTERED)
    load = Load(dsn)
    for offset in (0.0, 0.01, 0.02):  # (with two, 1 run in about 15 finished)
        load.add(_table_then_through_view(load), offset, 0.005)
    _under_load(dsn, load, tries=2)
    _kept(pg_conn, load)
    assert _is_v_bigint(pg_conn)


NESTED = FILTERED + "CREATE VIEW tv2 AS SELECT id FROM tv WHERE id <> -2;"


def test_writers_through_a_view_on_a_view(pg_dsn: str, pg_conn: Connection) -> None:
    dsn = dsn_of(pg_dsn, pg_conn)
    _with_view(pg_conn, dsn, NESTED)
    load = Load(dsn)
    load.add(_reader("tv2"), 0.0)
    load.add(_reader("tv2"), 0.075)
    for offset in (0.0, 0.01):
        load.add(_insert_into(load, "tv2"), offset, 0.01)
    _under_load(dsn, load)
    _kept(pg_conn, load)
    assert _is_v_bigint(pg_conn)


PARTITIONED = ("CREATE TABLE t (id int PRIMARY KEY, v int) PARTITION BY RANGE (id);"
               "CREATE TABLE t_lo PARTITION OF t FOR VALUES FROM (MINVALUE) TO (20000);"
               "CREATE TABLE t_hi PARTITION OF t FOR VALUES FROM (20000) TO (MAXVALUE);"
               "INSERT INTO t SELECT g, g FROM generate_series(1, 50) g;")


@pytest.mark.parametrize("view", ["t", "t_hi"], ids=["parent", "partition"])
def test_writers_through_a_view_on_a_partitioned_table(
        pg_dsn: str, pg_conn: Connection, view: str) -> None:
    """A view of the partitioned table gets through in the first queued try ("shared"); a
    view of one partition is not locked in SHARE mode (it would lock t_hi before t), and
    gets through in the "views" order, the third."""
    dsn = dsn_of(pg_dsn, pg_conn)
    pg_conn.execute(PARTITIONED + f"CREATE VIEW tv AS SELECT id FROM {view} "
                    "WHERE v IS DISTINCT FROM -1;")
    runner = make_runner(dsn)
    try:
        runner.start(migration("alter table t alter v type bigint up `v` down `v`;", "02_v"))
    finally:
        runner.close()
    load = Load(dsn)
    load._keys = iter(range(20_000, 10_000_000))  # all in t_hi
    load.add(_reader("tv"), 0.0)
    load.add(_reader("tv"), 0.075)
    for offset in (0.0, 0.01):
        load.add(_insert_into(load, "tv"), offset, 0.01)
    _under_load(dsn, load, tries=1 if view == "t" else 3)
    _kept(pg_conn, load)
    assert _is_v_bigint(pg_conn)


READS_C = {
    "sublink": "CREATE VIEW tv AS SELECT id, v FROM t WHERE EXISTS "
               "(SELECT FROM c WHERE c.id = t.cid);",
    "scalar subquery": "CREATE VIEW tv AS SELECT id, v, (SELECT name FROM c WHERE "
                       "c.id = t.cid) AS name FROM t;",
    "CTE": "CREATE VIEW tv AS WITH n AS (SELECT id, name FROM c) SELECT t.id, t.v, n.name "
           "FROM t JOIN n ON n.id = t.cid;",
    "view on a view joining c": "CREATE VIEW cv AS SELECT id, name FROM c;"
                                "CREATE VIEW tv AS SELECT t.id, t.v FROM t "
                                "JOIN cv ON cv.id = t.cid;",
    "view on a view of c, in another schema": "CREATE SCHEMA other;"
                                              "CREATE VIEW other.cv AS SELECT id FROM c;"
                                              "CREATE VIEW other.tv AS SELECT t.id, t.v FROM t "
                                              "WHERE t.cid IN (SELECT id FROM other.cv);",
    "function": "CREATE FUNCTION c_name(int) RETURNS text LANGUAGE sql STABLE "
                "AS 'SELECT name FROM c WHERE id = $1';"
                "CREATE VIEW tv AS SELECT id, v, c_name(cid) AS name FROM t;",
}


@pytest.mark.parametrize("setup", list(READS_C.values()), ids=list(READS_C))
def test_a_writer_of_a_table_the_view_reads_otherwise_is_never_blocked(
        pg_dsn: str, pg_conn: Connection, setup: str) -> None:
    """A client with an open transaction that wrote c, which the view reads (or, through a
    function, uses without LOCK TABLE seeing it): the queued try neither waits for it nor
    makes its next write wait."""
    dsn = dsn_of(pg_dsn, pg_conn)
    _started(pg_conn, dsn, setup)
    with psycopg.connect(dsn) as writer:
        writer.execute("UPDATE c SET name = 'z' WHERE id = 1")
        began = time.monotonic()
        _queued_complete(dsn)
        assert time.monotonic() - began < 2.5
        writer.execute("SET LOCAL lock_timeout = '500ms'")
        writer.execute("UPDATE c SET name = 'y' WHERE id = 2")
        writer.commit()
    assert one(pg_conn, "SELECT string_agg(name, '' ORDER BY id) FROM c") == ("zy",)
    assert _is_v_bigint(pg_conn)


def _share_held_while_waiting(pg_conn: Connection, dsn: str) -> set[str]:
    """What complete's queued try ("shared" order) holds in SHARE mode while it waits for t,
    which a client's open transaction wrote (then commits)."""
    failed: list[BaseException] = []

    def run() -> None:
        try:
            _queued_complete(dsn)
        except BaseException as err:  # noqa: BLE001 (reported by the test)
            failed.append(err)

    held: set[str] | None = None
    with psycopg.connect(dsn) as writer:
        writer.execute("INSERT INTO t (id, v) VALUES (30000, 30000)")
        thread = threading.Thread(target=run)
        thread.start()
        deadline = time.monotonic() + 5
        while held is None and thread.is_alive() and time.monotonic() < deadline:
            rows = pg_conn.execute(
                "SELECT l.pid FROM pg_locks l WHERE NOT l.granted AND l.locktype = "
                "'relation' AND l.relation = 't'::regclass AND l.mode = 'ShareLock'").fetchall()
            if rows:
                held = {str(r[0]) for r in pg_conn.execute(
                    "SELECT relation::regclass::text FROM pg_locks WHERE pid = %s AND granted "
                    "AND locktype = 'relation' AND mode = 'ShareLock'", (rows[0][0],))}
            time.sleep(0.005)
        writer.commit()
        thread.join(10)
    assert failed == []
    assert held is not None, "complete never waited for t"
    return held


# The view's setup, then which relations complete's queued try ("shared" order) holds in
# SHARE mode while it waits for t.
SHARE_LOCKED = {
    "a view": ("CREATE VIEW tv AS SELECT id, v FROM t;", {"tv"}),
    "a view on a view": ("CREATE VIEW tv AS SELECT id, v FROM t;"
                         "CREATE VIEW tv2 AS SELECT id, v FROM tv;", {"tv", "tv2"}),
    "a view joining c": ("CREATE VIEW tv AS SELECT t.id, t.v, c.name FROM t "
                         "JOIN c ON c.id = t.cid;", set()),
    "a view on a view of c": ("CREATE VIEW cv AS SELECT id FROM c;"
                              "CREATE VIEW tv AS SELECT id, v FROM t WHERE cid IN "
                              "(SELECT id FROM cv);", set()),
    "one view of two joining c": ("CREATE VIEW tv AS SELECT id, v FROM t;"
                                  "CREATE VIEW tcv AS SELECT tv.id, tv.v, c.name FROM tv "
                                  "JOIN c ON c.id = tv.id;", {"tv"}),
    "a view using c through a function": (
        "CREATE FUNCTION c_name(int) RETURNS text LANGUAGE sql STABLE "
        "AS 'SELECT name FROM c WHERE id = $1';"
        "CREATE VIEW tv AS SELECT id, v, c_name(cid) AS name FROM t;", {"tv"}),
    "an owner with SELECT, INSERT": ("GRANT SELECT, INSERT ON t TO {role};"
                                     "CREATE VIEW tv AS SELECT id, v FROM t;"
                                     "ALTER VIEW tv OWNER TO {role};", set()),
    "an owner with SELECT, UPDATE": ("GRANT SELECT, UPDATE ON t TO {role};"
                                     "CREATE VIEW tv AS SELECT id, v FROM t;"
                                     "ALTER VIEW tv OWNER TO {role};", {"tv"}),
    # (LOCK TABLE checks the rights of the role running complete, a superuser here)
    "a security_invoker view whose owner may only read": (
        "GRANT SELECT ON t TO {role};"
        "CREATE VIEW tv WITH (security_invoker) AS SELECT id, v FROM t;"
        "ALTER VIEW tv OWNER TO {role};", {"tv"}),
}


@pytest.mark.parametrize(("setup", "locked"), list(SHARE_LOCKED.values()), ids=list(SHARE_LOCKED))
def test_which_views_the_tables_order_locks_in_share_mode_first(
        pg_dsn: str, pg_conn: Connection, setup: str, locked: set[str]) -> None:
    """A client's open transaction wrote t: complete's queued try holds, while it waits for
    t, each view that reads only the migration's tables and whose owner may lock them in
    SHARE mode (LOCK TABLE checks the owner's rights on what the view reads, but a
    security_invoker view's reader's), none other, and no other table; once the client
    commits it finishes and every view keeps its owner."""
    dsn = dsn_of(pg_dsn, pg_conn)
    role = f"owner_{pg_conn.info.backend_pid}"
    pg_conn.execute(f"CREATE ROLE {role}")
    try:
        _started(pg_conn, dsn, setup.format(role=role))
        owners = pg_conn.execute("SELECT relname, relowner FROM pg_class WHERE relkind = 'v' "
                                 "AND relnamespace = 'public'::regnamespace").fetchall()
        assert _share_held_while_waiting(pg_conn, dsn) == locked
        assert _is_v_bigint(pg_conn)
        assert pg_conn.execute("SELECT relname, relowner FROM pg_class WHERE relkind = 'v' "
                               "AND relnamespace = 'public'::regnamespace").fetchall() == owners
    finally:
        pg_conn.execute(f"DROP OWNED BY {role}; DROP ROLE {role}")


def test_writers_of_both_tables_in_the_lock_order_with_a_view_joining_them_the_other_way(
        pg_dsn: str, pg_conn: Connection) -> None:
    """The lock step locks c, then t (its order: by depth, then name). Clients write c, then
    t, and never touch the view tcv, which reads t, then c: the first queued try finishes
    (the step locks two tables, so no view in SHARE mode: VIEW_ORDER_OF_TABLES)."""
    dsn = dsn_of(pg_dsn, pg_conn)
    pg_conn.execute("CREATE TABLE t (id int PRIMARY KEY, v int);"
                    "CREATE TABLE c (id int PRIMARY KEY, x int);"
                    "INSERT INTO t SELECT g, g FROM generate_series(1, 50) g;"
                    "INSERT INTO c SELECT g, g FROM generate_series(1, 50) g;"
                    "CREATE VIEW tcv AS SELECT t.id, t.v, c.x FROM t JOIN c ON c.id = t.id;")
    runner = make_runner(dsn)
    try:
        runner.start(migration("alter table t alter v type bigint up `v` down `v`;\n"
                               "alter table c alter x type bigint up `x` down `x`;", "02_v"))
    finally:
        runner.close()
    load = Load(dsn)

    def c_then_t(conn: Connection) -> None:
        key = load.key()
        with conn.transaction():
            conn.execute("INSERT INTO c (id, x) VALUES (%s, %s)", (key, key))
            time.sleep(0.03)
            conn.execute("INSERT INTO t (id, v) VALUES (%s, %s)", (key, key))
        load.committed.append(key)

    for offset in (0.0, 0.01, 0.02):  # (with two, 1 run in about 15 finished)
        load.add(c_then_t, offset, 0.005)
    _under_load(dsn, load)
    _kept(pg_conn, load)
    assert _is_v_bigint(pg_conn)
