"""An interrupted start resumes where it stopped, or rolls back; neither loses a row."""

from __future__ import annotations

from typing import Any

import psycopg

from pgroll_dsl.plan.document import plan_document
from pgroll_dsl.plan.model import StepKind
from pgroll_dsl.render.pgroll_json import to_document
from tests.live_helpers import dsn_of, make_runner, migration

SETUP = "create table t (id int primary key, v int not null);"
CHANGE = "alter table t add w int not null up `v * 2`;"


def _interrupted_start(conn: psycopg.Connection[Any], dsn: str) -> tuple[Any, Any]:
    """Start 02_change, but stop right after the backfill has done half the rows."""
    runner = make_runner(dsn)
    runner.start(migration(SETUP, "01_setup"))
    runner.complete()
    conn.execute("insert into t select g, g from generate_series(1, 5000) g")
    change = migration(CHANGE, "02_change")
    plan = runner.plan(change)
    runner.state.record_start(change.name, to_document(change), plan_document(plan))
    backfill = next(i for i, s in enumerate(plan.start) if s.kind is StepKind.BACKFILL)
    for index in range(backfill):
        runner.executor.run_step(plan.start[index])
        runner.state.record_progress(change.name, index + 1)
    # Half the rows backfilled by hand, as if the process died in mid-backfill.
    conn.execute("update t set _pgroll_needs_backfill = true where id <= 2500")
    return runner, change


def test_start_again_resumes(pg_conn: psycopg.Connection[Any], pg_dsn: str) -> None:
    dsn = dsn_of(pg_dsn, pg_conn)
    runner, change = _interrupted_start(pg_conn, dsn)
    messages: list[str] = []
    resumed = make_runner(dsn, on_message=messages.append)
    resumed.start(change)
    assert any("resuming" in m for m in messages), messages
    resumed.complete()
    assert pg_conn.execute("select count(*), count(w), bool_and(w = 2 * v) from t"
                           ).fetchone() == (5000, 5000, True)
    runner.close()
    resumed.close()


def test_rollback_after_an_interruption(pg_conn: psycopg.Connection[Any], pg_dsn: str) -> None:
    dsn = dsn_of(pg_dsn, pg_conn)
    runner, _ = _interrupted_start(pg_conn, dsn)
    fresh = make_runner(dsn)
    fresh.rollback()
    columns = [c for (c,) in pg_conn.execute(
        "select attname from pg_attribute where attrelid = 'public.t'::regclass and attnum > 0 "
        "and not attisdropped order by attnum")]
    assert columns == ["id", "v"]
    assert pg_conn.execute("select count(*), sum(v) from t").fetchone() == (5000, 12502500)
    assert fresh.status()["status"] == "Complete"
    runner.close()
    fresh.close()
