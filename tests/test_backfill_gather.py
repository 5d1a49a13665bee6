"""Several operations on one table: every copy before the table's first sync trigger.

Each operation's steps come in its order, so a second copy of a table was added after the
first one's sync triggers and the table got a single pass, through those triggers (about
half the speed of a first pass). ``backfill.gather`` moves the copies up and the table's
NOT VALID constraints and comments down, where nothing else stands between, so that the
table gets its two passes. The offline tests read the plan; the live one writes during the
first pass and checks every copy. (tests/test_fault_harness.py writes at every step
boundary of each pair of operations, 21 of which are reordered.)
"""

from __future__ import annotations

import psycopg
import pytest

from pgroll_dsl import api
from pgroll_dsl.catalog.replay import replay
from pgroll_dsl.plan import backfill
from pgroll_dsl.plan.model import Plan, Step, StepKind
from pgroll_dsl.plan.options import PlanOptions
from pgroll_dsl.plan.planner import plan_migration
from tests.live_helpers import Connection, apply, dsn_of, make_runner, migration

SETUP = ("create table t (id int primary key, v int, s text);\n"
         "create table u (id int primary key, v int);")
TWO = "alter table t add a int up `v * 2`;\nalter table t add b int not null up `v * 3`;"


def _plan(text: str, gathered: bool = True, monkeypatch: pytest.MonkeyPatch | None = None
          ) -> Plan:
    catalog = replay([api.compile_source(SETUP, "01_setup.pgroll").migration]).catalog
    if not gathered:
        assert monkeypatch is not None
        monkeypatch.setattr(backfill, "gather", lambda ctx: None)
    return plan_migration(api.compile_source(text, "02_change.pgroll").migration, catalog,
                          PlanOptions())


def _at(plan: Plan, words: str) -> list[int]:
    return [i for i, s in enumerate(plan.start) if words in s.summary]


def _backfills(plan: Plan) -> list[Step]:
    return [s for s in plan.start if s.kind is StepKind.BACKFILL]


def test_two_copies_of_a_table_get_two_passes(monkeypatch: pytest.MonkeyPatch) -> None:
    plan = _plan(TWO)
    [first] = _at(plan, ", first pass")
    [second] = _at(plan, ", second pass")
    assert max(_at(plan, "add column t.")) < first  # both copies before the first pass
    assert all(first < i < second for i in _at(plan, "trigger function"))
    assert _at(plan, "NOT NULL of b as a check (not valid)")[0] > second
    # The same steps, in another order, as before.
    before = _plan(TWO, gathered=False, monkeypatch=monkeypatch)
    assert [s.summary for s in _backfills(before)] == ["backfill t in batches keyed on id, "
                                                       "writing the copies itself"]
    unchanged = {s.sql for s in before.start}
    assert {s.sql for s in plan.start if s.kind is not StepKind.BACKFILL
            and "backfill watch" not in s.summary} == unchanged - {_backfills(before)[0].sql}


def test_a_retyped_column_and_an_added_one(monkeypatch: pytest.MonkeyPatch) -> None:
    plan = _plan("alter table t alter v type bigint up `v` down `v`;\n"
                 "alter table t add a text up `s || 1`;")  # (an up reading v reads its copy)
    assert len(_at(plan, ", first pass")) == 1


@pytest.mark.parametrize("text", [
    # An up that reads an earlier copy: one statement would read it before it is filled.
    "alter table t add a int up `v * 2`;\nalter table t add b int up `_pgroll_new_a + 1`;",
    # A volatile up: never two passes.
    "alter table t add a int up `v * 2`;\nalter table t add b int up `random()::int`;",
    # An operation on another table between: its steps stand between, left as they are.
    "alter table t add a int up `v * 2`;\nalter table u add c int up `v`;\n"
    "alter table t add b int up `v * 3`;",
])
def test_left_as_it_was(text: str, monkeypatch: pytest.MonkeyPatch) -> None:
    plan = _plan(text)
    before = _plan(text, gathered=False, monkeypatch=monkeypatch)
    ts = [s for s in plan.start if s.relation in ("t", None)]
    assert [s.sql for s in ts if "backfill" not in s.summary] == [
        s.sql for s in before.start if s.relation in ("t", None)
        and "backfill" not in s.summary]


@pytest.mark.postgres
def test_a_write_during_the_first_pass_of_two_copies(pg_dsn: str, pg_conn: Connection) -> None:
    """Both copies right for every row, the one a client wrote during the first pass too."""
    dsn = dsn_of(pg_dsn, pg_conn)
    runner = make_runner(dsn, batch_size=50, batch_time_ms=0)
    try:
        apply(runner, "sql up `" + SETUP + "\ninsert into t select g, g, null from "
              "generate_series(1, 2000) g;`;", "01_setup")
    finally:
        runner.close()
    written: list[bool] = []

    def write(table: str, rows: int, total: int) -> None:
        if not written and table == "t" and rows:
            with psycopg.connect(dsn, autocommit=True) as c:
                if not c.execute("SELECT count(*) FROM pg_trigger WHERE tgrelid = 't'::regclass "
                                 "AND tgname ~ '^[_~]pgroll_trigger_'").fetchone() == (0,):
                    return
                c.execute("UPDATE t SET v = v + 1000 WHERE id IN (1, 1999)")
            written.append(True)
    messages: list[str] = []
    runner = make_runner(dsn, batch_size=50, batch_time_ms=0, batch_delay=0.01,
                         on_progress=write, on_message=messages.append)
    try:
        plan = runner.start(migration(TWO, "02_change"))
    finally:
        runner.close()
    assert written and len(_at(plan, ", first pass")) == 1
    assert pg_conn.execute("SELECT count(*) FROM t WHERE _pgroll_new_a IS DISTINCT FROM v * 2 "
                           "OR _pgroll_new_b IS DISTINCT FROM v * 3").fetchone() == (0,)
    assert pg_conn.execute("SELECT v FROM t WHERE id = 1999").fetchone() == (2999,)
    assert not any("nothing left" in m for m in messages), messages
