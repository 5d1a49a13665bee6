"""The backfill's blocks run with ``check_function_bodies`` off, and nothing else does.

PL/pgSQL parses every statement of an inline block at compile time when the setting is on,
then again when the statement runs (docs/benchmarks.md: about a millisecond a pass). The
executor turns it off for a backfill step only; the trigger functions that start creates
after it, which run inside clients' writes, must still be checked when they are created.
"""

from __future__ import annotations

import psycopg
import pytest

from pgroll_dsl.backends import live
from pgroll_dsl.plan.model import Lock, Step, StepKind
from tests.live_helpers import Connection, dsn_of

pytestmark = pytest.mark.postgres

_REPORT = ("DO $b$BEGIN RAISE NOTICE 'bodies %', "
           "pg_catalog.current_setting('check_function_bodies'); END$b$")


def _step(sql: str, kind: StepKind) -> Step:
    return Step(sql=sql, summary="test", lock=Lock.NONE, tables=("t",), kind=kind)


def _executor(pg_dsn: str, pg_conn: Connection) -> tuple[live.Executor, list[str]]:
    pg_conn.execute("CREATE TABLE t (id int PRIMARY KEY)")
    session = live.Session(url=dsn_of(pg_dsn, pg_conn))
    conn = live.connect(session)
    seen: list[str] = []
    conn.add_notice_handler(lambda d: seen.append(d.message_primary or ""))
    return live.Executor(conn, session), seen


def test_a_backfill_block_runs_unchecked_and_the_setting_comes_back(
        pg_dsn: str, pg_conn: Connection) -> None:
    executor, seen = _executor(pg_dsn, pg_conn)
    with executor.conn:
        executor.run_step(_step(_REPORT, StepKind.BACKFILL))
        executor.run_step(_step(_REPORT, StepKind.STATEMENT))
        assert seen == ["bodies off", "bodies on"]
        # A trigger function created after the backfill is still checked.
        with pytest.raises(psycopg.errors.SyntaxError):
            executor.conn.execute("CREATE FUNCTION f() RETURNS trigger LANGUAGE plpgsql AS "
                                  "'BEGIN SELEC 1; RETURN NEW; END'")


def test_a_failed_backfill_block_leaves_the_setting_as_it_was(
        pg_dsn: str, pg_conn: Connection) -> None:
    executor, _ = _executor(pg_dsn, pg_conn)
    with executor.conn:
        with pytest.raises(live.StepFailed):
            executor.run_step(_step("DO $b$BEGIN RAISE EXCEPTION 'stop'; END$b$",
                                    StepKind.BACKFILL))
        assert executor.conn.execute("SHOW check_function_bodies").fetchone() == ("on",)


def test_a_worker_connection_runs_unchecked(pg_dsn: str, pg_conn: Connection) -> None:
    with live._unchecked(live.connect(live.Session(url=dsn_of(pg_dsn, pg_conn)))) as conn:
        assert conn.execute("SHOW check_function_bodies").fetchone() == ("off",)
