"""The backfill's first pass, before the sync triggers exist (``plan/backfill.py``).

While it runs, no trigger syncs a client's write: a row written then keeps its marker and
gets another ``xmin`` than the first pass's, and the second pass (after the triggers) writes
it again. These tests write in that window on purpose, from the backfill's own progress
reports (each batch's NOTICE, before its COMMIT), and check every row through both versions
after start and after complete:

* old-version and base-table updates of rows the first pass had already written (stale
  copies) and of rows it had not reached yet;
* inserts without the copies (NULL until the second pass; a NOT NULL check on the copy
  exists only once the triggers do);
* a unique value moved from one row to another: built over the stale copies, the unique
  index on the copy would hold the value twice (it is built after the second pass);
* deletes;
* a start killed inside the first pass, then run again or rolled back.
"""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Any

import psycopg
import pytest

from pgroll_dsl.catalog import Catalog
from pgroll_dsl.catalog.replay import apply_migration
from pgroll_dsl.plan.model import StepKind
from pgroll_dsl.plan.planner import plan_migration
from tests import fault_model as fm
from tests.live_helpers import Connection, apply, client, make_runner, migration

pytestmark = pytest.mark.postgres

OLD = "public_01_setup"
NEW = "public_02_two"
SETUP = ("create table t (id int primary key, a int, u text unique, b text);\n"
         "create table s (id int primary key, a int);")
# t: a type change of a unique column (its copy gets a unique index at start);
# s: a NOT NULL column computed from another (a NOT VALID check on the copy at start).
TWO = ("alter table t alter u type text up `upper(u)` down `lower(u)`;\n"
       "alter table s add w int not null up `a * 2`;")
ROWS = 600


def _seed(conn: Connection) -> None:
    conn.execute(f"INSERT INTO t SELECT g, g, 'k' || g, 'b' || g FROM generate_series(1, {ROWS}) g")
    conn.execute(f"INSERT INTO s SELECT g, g FROM generate_series(1, {ROWS}) g")
    conn.execute("ANALYZE t")
    conn.execute("ANALYZE s")


# The sync triggers (not the backfill's watch, a statement trigger made before the first pass).
_SYNC = "tgname ~ '^[_~]pgroll_trigger_'"


def _sync_triggers(conn: Connection) -> int:
    row = conn.execute("SELECT count(*) FROM pg_trigger WHERE tgrelid IN "
                       "('public.t'::regclass, 'public.s'::regclass) AND NOT tgisinternal"
                       f" AND {_SYNC}").fetchone()
    assert row is not None
    return int(row[0])


def _sync_triggers_on(conn: Connection, table: str) -> int:
    row = conn.execute("SELECT count(*) FROM pg_trigger WHERE tgrelid = %s::regclass "
                       f"AND NOT tgisinternal AND {_SYNC}", (f"public.{table}",)).fetchone()
    assert row is not None
    return int(row[0])


class FirstPassWriter:
    """At each progress report of a table's first pass (no sync trigger on it yet): a write.

    (Called by the executor between a batch's NOTICE and its COMMIT, from each worker.)
    """

    def __init__(self, dsn: str) -> None:
        self.old = client(dsn, OLD)
        self.base = psycopg.connect(dsn, autocommit=True)
        self.lock = threading.Lock()
        self.done: list[str] = []
        self.writes: dict[str, list[tuple[str, Any]]] = {"t": [
            # rows the first pass wrote already (low keys): their copies go stale
            ("old update low", lambda: self.old.execute("UPDATE t SET a = a + 1000, "
                                                        "b = 'x' WHERE id IN (1, 2, 3)")),
            # a unique value moved from one row to another: row 4 gives 'k4' up, row 5
            # takes it (stale copies: 'K4' on row 4, 'K5' on row 5)
            ("move unique", self._move_unique),
            ("old insert", lambda: self.old.execute(
                "INSERT INTO t VALUES (5001, 7, 'new1', 'n'), (5002, 8, NULL, 'n')")),
            ("old update high", lambda: self.old.execute(
                "UPDATE t SET a = -a, u = u || 'h' WHERE id IN (598, 599)")),
            ("delete", lambda: self.old.execute("DELETE FROM t WHERE id IN (6, 597)")),
            ("update inserted", lambda: self.old.execute(
                "UPDATE t SET u = 'new2' WHERE id = 5002")),
        ], "s": [
            ("base insert s", lambda: self.base.execute(
                "INSERT INTO public.s VALUES (5001, 11), (5002, 12)")),
            ("base update s", lambda: self.base.execute(
                "UPDATE public.s SET a = a + 5 WHERE id IN (1, 2, 590, 599)")),
            ("old delete s", lambda: self.old.execute("DELETE FROM s WHERE id = 3")),
        ]}

    def _move_unique(self) -> None:
        self.old.execute("UPDATE t SET u = 'gone4' WHERE id = 4")
        self.old.execute("UPDATE t SET u = 'k4' WHERE id = 5")
        # Row 4 written once more: its newest version lies after row 5's, and a pass by
        # pages meets row 5 (copy now 'K4') while row 4's copy still says 'K4'.
        self.old.execute("UPDATE t SET a = a + 1 WHERE id = 4")

    def __call__(self, table: str, rows: int, total: int) -> None:
        with self.lock:
            writes = self.writes.get(table)
            if not writes or _sync_triggers_on(self.base, table) > 0:
                return
            name, write = writes.pop(0)
            write()
            self.done.append(name)

    def close(self) -> None:
        self.old.close()
        self.base.close()


def _expected(conn: Connection) -> None:
    """The copies of every row are what ``up`` gives for the row's current old values."""
    wrong = conn.execute("SELECT id, u, _pgroll_new_u FROM public.t "
                         "WHERE _pgroll_new_u IS DISTINCT FROM upper(u)").fetchall()
    assert wrong == [], wrong
    wrong = conn.execute("SELECT id, a, _pgroll_new_w FROM public.s "
                         "WHERE _pgroll_new_w IS DISTINCT FROM a * 2").fetchall()
    assert wrong == [], wrong
    index = conn.execute("SELECT indisvalid FROM pg_index WHERE indexrelid = "
                         "'public._pgroll_dup_t_u_key'::regclass").fetchone()
    assert index == (True,)


def test_the_plan_has_two_passes_around_the_triggers() -> None:
    catalog, _ = apply_migration(Catalog(), migration(SETUP, "01_setup"))
    plan = plan_migration(migration("alter table t alter u type text up `upper(u)` "
                                    "down `lower(u)`;", "02_two"), catalog)
    kinds = [(i, s.summary) for i, s in enumerate(plan.start)]
    first = next(i for i, s in kinds if "first pass" in s)
    second = next(i for i, s in kinds if "second pass" in s)
    trigger = next(i for i, s in kinds if s.startswith("trigger"))
    unique = next(i for i, s in kinds if s.startswith("build unique index"))
    views = next(i for i, s in kinds if s.startswith("create version schema"))
    assert first < trigger < second < unique < views
    # The marker, then the watch on the table's writes (one transaction), then the pass.
    marker = next(i for i, s in enumerate(plan.start) if "_pgroll_backfilled_by" in s.sql)
    watch = next(i for i, s in enumerate(plan.start) if s.summary.startswith("backfill watch"))
    assert marker < watch < first
    assert all(s.summary.startswith("backfill watch on t") for s in plan.start[watch:first])
    assert [s.joins_previous for s in plan.start[watch:first]] \
        == [False] + [True] * (first - watch - 1)
    assert "IS DISTINCT FROM _pgroll_row.xmin" in plan.start[first].sql
    assert "IS DISTINCT FROM _pgroll_row.xmin" in plan.start[second].sql
    # Neither the marker nor the first pass's column outlives complete or rollback.
    for phase in (plan.complete, plan.rollback):
        assert any("DROP COLUMN IF EXISTS \"_pgroll_backfilled_by\"" in s.sql for s in phase)


def test_two_ops_on_one_table_get_two_passes() -> None:
    """A later operation's copy is added before the earlier one's triggers (backfill.gather,
    tests/test_backfill_gather.py): both are filled by the first pass."""
    catalog, _ = apply_migration(Catalog(), migration(SETUP, "01_setup"))
    plan = plan_migration(migration("alter table t add x int up `a * 2`;\n"
                                    "alter table t alter b type int up `length(b)` "
                                    "down `b::text`;", "02_two"), catalog)
    backfills = [s.summary for s in plan.start if s.kind is StepKind.BACKFILL]
    assert len(backfills) == 2 and ", first pass" in backfills[0], backfills
    first = next(i for i, s in enumerate(plan.start) if ", first pass" in s.summary)
    assert all(i < first for i, s in enumerate(plan.start) if "ADD COLUMN" in s.sql)


@pytest.mark.parametrize("workers", [1, 3])
def test_clients_write_while_the_first_pass_runs(admin_dsn: str, pg_conn: Connection,
                                                  workers: int) -> None:
    runner = make_runner(admin_dsn, batch_size=20, batch_time_ms=0, backfill_workers=workers)
    apply(runner, SETUP)
    _seed(pg_conn)
    writer = FirstPassWriter(admin_dsn)
    runner.close()
    runner = make_runner(admin_dsn, batch_size=20, batch_time_ms=0, backfill_workers=workers,
                         on_progress=writer)
    try:
        runner.start(migration(TWO, "02_two"))
    finally:
        writer.close()
    # Every write landed in a first pass (no sync trigger yet), the unique move included.
    assert writer.writes == {"t": [], "s": []}, writer.done
    _expected(pg_conn)
    _expected_views(admin_dsn)
    # Old and new clients write after start; then complete.
    with client(admin_dsn, OLD) as old, client(admin_dsn, NEW) as new:
        old.execute("UPDATE t SET u = 'again' WHERE id = 7")
        new.execute("UPDATE t SET u = 'NEWVAL' WHERE id = 8")
        new.execute("UPDATE t SET a = 77 WHERE id = 9")  # u not written: stays upper(u)
        new.execute("INSERT INTO s VALUES (6000, 3, 6)")
    _expected_views(admin_dsn)
    runner.complete()
    runner.close()
    rows = dict(pg_conn.execute("SELECT id, u FROM public.t").fetchall())
    assert rows[4] == "GONE4" and rows[5] == "K4" and rows[7] == "AGAIN" and rows[8] == "NEWVAL"
    assert rows[9] == "K9" and rows[598] == "K598H" and rows[5001] == "NEW1"
    assert rows[5002] == "NEW2" and 6 not in rows and 597 not in rows and len(rows) == ROWS
    assert pg_conn.execute("SELECT count(*) FROM public.t WHERE u IS DISTINCT FROM upper(u)"
                           ).fetchone() == (0,)
    s_rows = pg_conn.execute("SELECT count(*) FROM public.s WHERE w IS DISTINCT FROM a * 2"
                             ).fetchone()
    assert s_rows == (0,)
    columns = [r[0] for r in pg_conn.execute(
        "SELECT attname FROM pg_attribute WHERE attrelid IN ('public.t'::regclass, "
        "'public.s'::regclass) AND attnum > 0 AND NOT attisdropped")]
    assert not [c for c in columns if c.startswith("_pgroll")], columns


def _expected_views(dsn: str) -> None:
    """Both versions show every row: the new one ``upper`` of what the old one shows."""
    with client(dsn, OLD) as old, client(dsn, NEW) as new:
        before = dict(old.execute("SELECT id, u FROM t").fetchall())
        after = dict(new.execute("SELECT id, u FROM t").fetchall())
        assert set(before) == set(after)
        wrong = {k: (before[k], after[k]) for k in before
                 if (before[k].upper() if before[k] is not None else None) != after[k]}
        assert wrong == {}, wrong
        s_old = dict(old.execute("SELECT id, a FROM s").fetchall())
        s_new = dict(new.execute("SELECT id, w FROM s").fetchall())
        assert set(s_old) == set(s_new)
        assert all(s_new[k] == s_old[k] * 2 for k in s_old if s_old[k] is not None)


KILL_ARGS = ["--backfill-batch-size", "3", "--backfill-batch-delay", "0.05"]
ONE = "alter table t alter u type text up `upper(u)` down `lower(u)`;"


@pytest.mark.parametrize("recovery", ["start", "rollback"])
def test_killed_inside_the_first_pass(admin_dsn: str, pg_conn: Connection, tmp_path: Path,
                                      recovery: str) -> None:
    runner = make_runner(admin_dsn)
    apply(runner, SETUP)
    runner.close()
    _seed(pg_conn)
    before = sorted(pg_conn.execute("SELECT * FROM public.t").fetchall())
    file = fm.write_file(tmp_path, "02_two", ONE)
    killed = fm.cli(["start", str(file), *KILL_ARGS], admin_dsn,
                    env={"PGROLL_DSL_KILL_AT": "backfill:3"})
    assert killed.killed, killed.describe()
    assert _sync_triggers(pg_conn) == 0  # killed in the first pass
    written = pg_conn.execute("SELECT count(*) FROM public.t WHERE _pgroll_backfilled_by = xmin"
                              ).fetchone()
    assert written is not None and 0 < written[0] < ROWS
    deadline = time.monotonic() + 10  # the killed client's backend runs on to a NOTICE
    while pg_conn.execute("SELECT count(*) FROM pg_stat_activity WHERE query LIKE "
                          "'DO $pgroll_backfill$%' AND pid <> pg_backend_pid()"
                          ).fetchone() != (0,) and time.monotonic() < deadline:
        time.sleep(0.05)
    with client(admin_dsn, OLD) as old:  # between the kill and the recovery
        old.execute("UPDATE t SET u = 'gone4' WHERE id = 4")
        old.execute("UPDATE t SET u = 'k4' WHERE id = 5")
        old.execute("INSERT INTO t VALUES (5001, 1, 'ins', 'i')")
        old.execute("UPDATE t SET a = 0 WHERE id = 1")
    result = fm.cli(["start", str(file), *KILL_ARGS] if recovery == "start" else ["rollback"],
                    admin_dsn)
    assert result.returncode == 0, result.describe()
    if recovery == "start":
        wrong = pg_conn.execute("SELECT id, u, _pgroll_new_u FROM public.t WHERE "
                                "_pgroll_new_u IS DISTINCT FROM upper(u)").fetchall()
        assert wrong == []
    else:
        after = sorted(pg_conn.execute("SELECT * FROM public.t WHERE id NOT IN (1, 4, 5, 5001)"
                                       ).fetchall())
        assert after == [r for r in before if r[0] not in (1, 4, 5)]
        columns = [r[0] for r in pg_conn.execute(
            "SELECT attname FROM pg_attribute WHERE attrelid = 'public.t'::regclass "
            "AND attnum > 0 AND NOT attisdropped")]
        assert columns == ["id", "a", "u", "b"]


def test_frozen_rows_written_by_the_first_pass_are_not_redone(admin_dsn: str,
                                                              pg_conn: Connection) -> None:
    """VACUUM FREEZE between the passes keeps the raw xmin (PostgreSQL 9.4 on)."""
    runner = make_runner(admin_dsn, batch_size=1000)
    apply(runner, SETUP)
    _seed(pg_conn)
    plan = runner.start(migration(ONE, "02_two"))
    pg_conn.execute("VACUUM FREEZE public.t")
    frozen = pg_conn.execute("SELECT count(*) FROM public.t WHERE _pgroll_backfilled_by = xmin"
                             " AND NOT _pgroll_needs_backfill").fetchone()
    assert frozen == (ROWS,)  # written by the first pass, unmarked, still recognised
    assert sum(s.kind is StepKind.BACKFILL for s in plan.start) == 2


def test_after_two_passes_a_write_that_changes_nothing_runs_no_trigger(
        admin_dsn: str, pg_conn: Connection) -> None:
    """Every row ends unmarked, as after a single pass: a write of another column, through
    either version, skips the sync functions in their ``WHEN`` (were the first pass's rows
    left marked, the first write of each would run them, at two thirds of a plain write's
    speed on a narrow table)."""
    runner = make_runner(admin_dsn, batch_size=1000)
    try:
        apply(runner, SETUP)
        _seed(pg_conn)
        plan = runner.start(migration(TWO, "02_two"))
        assert sum(s.kind is StepKind.BACKFILL for s in plan.start) == 4  # two tables, two each
        marked = pg_conn.execute("SELECT (SELECT count(*) FROM t WHERE _pgroll_needs_backfill)"
                                 " + (SELECT count(*) FROM s WHERE _pgroll_needs_backfill)"
                                 ).fetchone()
        assert marked == (0,)
        for version, statement in ((OLD, "UPDATE t SET b = b || '!' WHERE id <= 50"),
                                   (NEW, "UPDATE t SET b = b || '?' WHERE id <= 50"),
                                   (OLD, "UPDATE s SET id = id WHERE id <= 50")):
            with client(admin_dsn, version) as conn:
                conn.execute("SET track_functions = 'pl'")
                with conn.transaction():
                    conn.execute(statement)
                    calls = conn.execute(
                        "SELECT coalesce(sum(calls), 0) FROM pg_stat_xact_user_functions "
                        "WHERE funcname LIKE '%pgroll_trigger%'").fetchone()
                assert calls == (0,), (version, statement)
        wrong = pg_conn.execute("SELECT count(*) FROM t WHERE _pgroll_new_u IS DISTINCT FROM "
                                "upper(u)").fetchone()
        assert wrong == (0,)
    finally:
        runner.close()
