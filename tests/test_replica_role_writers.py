"""Writers with ``session_replication_role = replica`` while a migration runs.

Such a session fires only the triggers enabled ``ALWAYS`` or ``REPLICA``: a logical
replication subscription's apply worker writes a subscriber's tables so, and so does a bulk
load that skips foreign keys (``SET session_replication_role = replica``, a superuser). The
sync triggers fire in every role (``triggers.enabled_always``); before, such a write left
the copies as they were, silently: after complete the new version showed what the row had
held before.

Every case (migration: an added column with ``up``, a type change, a rename beside an added
column, an added column on a partitioned table; when: during the backfill, after start)
writes through the base table and the old version with the replica role (an insert and an
update each), and through the new version once it exists, and checks every row through
both versions after start, and through the new version after complete.
"""

from __future__ import annotations

import itertools
import threading

import pytest
from psycopg import sql

from tests.live_helpers import Connection, client, make_runner, migration, version_schema

pytestmark = pytest.mark.postgres

ROWS = 300
OLD, NEW = version_schema("01_setup"), version_schema("02_replica")

# name: (setup, migration, the new version's column, the old version's): every row holds
# new == 2 * old, whichever version wrote it (up doubles, down halves, a new-version write
# of both keeps both)
CASES: dict[str, tuple[str, str, str, str]] = {
    # nullable: nothing refuses a write whose copy is left behind
    "add": ("create table t (id bigint primary key, v int not null);",
            "alter table t add w bigint up `v * 2`;", "w", "v"),
    "type": ("create table t (id bigint primary key, v int not null);",
             "alter table t alter v type bigint up `v * 2` down `(v / 2)::int`;", "v", "v"),
    "rename_and_add": ("create table t (id bigint primary key, v int not null);",
                       "alter table t rename v to x;\n"
                       "alter table t add w bigint not null up `x * 2`;", "w", "v"),
    "partitioned": ("sql up `create table t (id bigint primary key, v int not null) "
                    "partition by range (id); "
                    "create table t_low partition of t for values from (0) to (150); "
                    "create table t_high partition of t for values from (150) to (100000)`;",
                    "alter table t add w bigint not null up `v * 2`;", "w", "v"),
}
WHEN = ("during the backfill", "after start")


def _write_old(dsn: str, case: str) -> None:
    """Through the base table and the old version, each with the replica role: an insert and
    an update of a row that exists before start (each its own)."""
    old_col = CASES[case][3]
    # the base table: the physical column keeps its name until complete
    with client(dsn, "public", replica=True) as base:
        base.execute("INSERT INTO t (id, v) VALUES (1000, 7)")
        base.execute("UPDATE t SET v = 70 WHERE id = 10")
    with client(dsn, OLD, replica=True) as old:
        old.execute(f"INSERT INTO t (id, {old_col}) VALUES (2000, 8)")
        old.execute(f"UPDATE t SET {old_col} = 80 WHERE id = 20")


def _write_new(dsn: str, case: str) -> None:
    """The same through the new version (it exists once the backfill is over)."""
    _, _, new_col, old_col = CASES[case]
    with client(dsn, NEW, replica=True) as new:
        if new_col == old_col:  # a type change: the new version writes the column itself
            new.execute(f"INSERT INTO t (id, {new_col}) VALUES (3000, 18)")
            new.execute(f"UPDATE t SET {new_col} = 180 WHERE id = 160")
        else:
            other = "x" if case == "rename_and_add" else old_col
            new.execute(f"INSERT INTO t (id, {other}, {new_col}) VALUES (3000, 9, 18)")
            new.execute(f"UPDATE t SET {other} = 90, {new_col} = 180 WHERE id = 160")


@pytest.mark.parametrize(("case", "when"), list(itertools.product(CASES, WHEN)))
def test_replica_role_writes_reach_the_other_version(
        pg_conn: Connection, admin_dsn: str, case: str, when: str) -> None:
    setup, text, new_col, old_col = CASES[case]
    runner = make_runner(admin_dsn, batch_size=20, batch_time_ms=0, batch_delay=0.01)
    try:
        runner.start(migration(setup, "01_setup"))
        runner.complete()
    finally:
        runner.close()
    pg_conn.execute(f"INSERT INTO t SELECT g, g FROM generate_series(1, {ROWS}) g")
    pg_conn.execute("ANALYZE t")
    wrote = threading.Event()
    errors: list[BaseException] = []

    def during(table: str, rows: int, total: int) -> None:
        if when == WHEN[0] and rows and not wrote.is_set():
            wrote.set()
            try:
                _write_old(admin_dsn, case)
            except BaseException as err:  # noqa: BLE001 - reported by the test
                errors.append(err)

    runner = make_runner(admin_dsn, batch_size=20, batch_time_ms=0, batch_delay=0.01,
                         init=False, on_progress=during)
    try:
        runner.start(migration(text, "02_replica"))
        assert errors == []
        if when == WHEN[1]:
            _write_old(admin_dsn, case)
        else:
            assert wrote.is_set()
        _write_new(admin_dsn, case)
        pairs = pg_conn.execute(sql.SQL(
            "SELECT o.id, o.{}, n.{} FROM {}.t o JOIN {}.t n USING (id) ORDER BY o.id").format(
            sql.Identifier(old_col), sql.Identifier(new_col), sql.Identifier(OLD),
            sql.Identifier(NEW))).fetchall()
        assert len(pairs) == ROWS + 3
        assert [p for p in pairs if p[2] != 2 * p[1]] == []
        runner.complete()
    finally:
        runner.close()
    after = dict(pg_conn.execute(sql.SQL("SELECT id, {} FROM {}.t").format(
        sql.Identifier(new_col), sql.Identifier(NEW))).fetchall())
    assert after[10] == 140 and after[1000] == 14 and after[20] == 160 and after[2000] == 16
    assert after[160] == 180 and after[3000] == 18
