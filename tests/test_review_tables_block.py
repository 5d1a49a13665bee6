"""Review of 21d7786 (``plan/dependents.tables_block``: a lock step of several tables).

21d7786 stopped the lock step of several tables from waiting for a later table while it
holds an earlier one (a deadlock with a client that read the later, then writes the
earlier: the client stalled a whole lock timeout). Two lock steps kept that shape:

* ``LOCK TABLE`` of a partitioned table takes the table, then waits for each partition in
  the queue: a client that read a partition directly (an archive job, a report), then
  writes the root, deadlocked with the lock step of the root alone (0.97 s of a 1 s lock
  timeout), or with the first table of ``tables_block``;
* complete's ``lock_block`` (a rewritten column: a type change, a new constraint) where no
  view uses the columns, the usual case: the tables were waited for in the queue, one after
  the other, as before 21d7786 (0.98 s).

Now the first table is waited for alone (``ONLY``) and every table, the first again for its
partitions, taken only where free, in both. Also checked: the block gives ``lock_timeout``
back as it found it, whatever its unit, and skips a table that is not there.
"""

from __future__ import annotations

import pytest

from pgroll_dsl.plan import dependents
from tests.live_helpers import Connection, dsn_of
from tests.test_lock_wait_partitions import two_partitions
from tests.test_review_lockstep_order import _run

pytestmark = [pytest.mark.postgres, pytest.mark.fault]

STALL_S = 0.5


@pytest.mark.parametrize("timeout", ["500", "500ms", "1s", "2min", "1h", "1d", "1500ms"])
def test_block_keeps_lock_timeout(pg_conn: Connection, timeout: str) -> None:
    pg_conn.execute("create table a (i int); create table b (i int)")
    block = dependents.tables_block("public", ["a", "missing", "b"])
    with pg_conn.transaction():
        pg_conn.execute(f"set local lock_timeout = '{timeout}'")
        before = pg_conn.execute("show lock_timeout").fetchone()
        pg_conn.execute(block)
        assert pg_conn.execute("show lock_timeout").fetchone() == before
        held = {r[0] for r in pg_conn.execute(
            "select relation::regclass::text from pg_locks where pid = pg_backend_pid() "
            "and mode = 'AccessExclusiveLock' and locktype = 'relation'").fetchall()}
        assert {"a", "b"} <= held, held


@pytest.mark.parametrize("timeout", ["0", "500ms"])
@pytest.mark.parametrize("block", ["tables", "no view"])
def test_partitions_locked_and_lock_timeout_kept(pg_conn: Connection, timeout: str,
                                                 block: str) -> None:
    """Both blocks, tried or in the queue (0), lock the partitions of the first table."""
    pg_conn.execute("create table p (i int, n int) partition by range (i);"
                    "create table p1 partition of p for values from (0) to (10);"
                    "create table b (i int, n int)")
    sql = (dependents.tables_block("public", ["p"]) if block == "tables"
           else dependents.lock_block({"b": ["n"]}, "public", ["p", "b"]))
    with pg_conn.transaction():
        pg_conn.execute(f"set local lock_timeout = '{timeout}'")
        pg_conn.execute(sql)
        assert pg_conn.execute("show lock_timeout").fetchone() == (timeout,)
        held = {r[0] for r in pg_conn.execute(
            "select relation::regclass::text from pg_locks where pid = pg_backend_pid() "
            "and mode = 'AccessExclusiveLock' and locktype = 'relation'").fetchall()}
        assert {"p", "p1"} <= held, held


def test_attached_partition_read_then_root_write(pg_conn: Connection, pg_dsn: str) -> None:
    """Complete's lock step of ev alone: it held ev while it waited for ev_2025, which a
    client read and then wrote ev (0.97 s of stall before; it goes on at once now)."""
    dsn = dsn_of(pg_dsn, pg_conn)
    c, retries, _ = _run(
        dsn, two_partitions("ev_2025"), "alter table ev drop column n;",
        "complete", "lock ",
        "select count(*) from public.ev_2025",
        "insert into public.ev (id, at) values (5000, '2026-06-01')")
    assert c.error is None, c.error
    assert pg_conn.execute("select count(*) from ev where id = 5000").fetchone() == (1,)
    assert c.stall is not None and c.stall < STALL_S, (c.stall, len(retries))


TWO = """sql up `
create table a (id int primary key, n int);
create table b (id int primary key, n int);
insert into a select g, g from generate_series(1, 50) g;
insert into b select g, g from generate_series(1, 50) g;
`;"""


@pytest.mark.parametrize("change", [
    "alter table a drop column n; alter table b drop column n;",
    "alter table a alter column n type bigint; alter table b alter column n type bigint;",
])
def test_two_tables_read_later_then_write_earlier(pg_conn: Connection, pg_dsn: str,
                                                  change: str) -> None:
    """Complete's lock step of a and b, the client reading b then writing a: 21d7786 fixed
    the drop (tables_block); a type change, with no view, used lock_block, which waited for
    b in the queue while it held a (0.98 s of stall before; at once now)."""
    dsn = dsn_of(pg_dsn, pg_conn)
    c, retries, _ = _run(
        dsn, TWO, change, "complete", "lock ",
        "select count(*) from public.b",
        "insert into public.a (id) values (5000)")
    assert c.error is None, c.error
    assert pg_conn.execute("select count(*) from a where id = 5000").fetchone() == (1,)
    assert c.stall is not None and c.stall < STALL_S, (c.stall, len(retries))
