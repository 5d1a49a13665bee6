"""The history schema: pgroll-compatible, idempotent, and installable without superuser."""

from __future__ import annotations

from typing import Any

import psycopg
from psycopg.conninfo import conninfo_to_dict, make_conninfo

from pgroll_dsl.backends.live import Session
from pgroll_dsl.backends.runner import Runner, RunOptions


def _runner(dsn: str, messages: list[str]) -> Runner:
    return Runner(RunOptions(session=Session(url=dsn), on_message=messages.append))


def test_init_twice_and_pgroll_shape(pg_conn: psycopg.Connection[Any], pg_dsn: str) -> None:
    dsn = make_conninfo(pg_dsn, dbname=pg_conn.info.dbname)
    messages: list[str] = []
    runner = _runner(dsn, messages)
    runner.init()
    runner.init()
    runner.close()
    columns = pg_conn.execute(
        "SELECT column_name FROM information_schema.columns WHERE table_schema = 'pgroll' "
        "AND table_name = 'migrations' ORDER BY ordinal_position").fetchall()
    assert [c for (c,) in columns] == ["schema", "name", "migration", "created_at",
                                       "updated_at", "parent", "done", "resulting_schema",
                                       "migration_type"]
    functions = {f for (f,) in pg_conn.execute(
        "SELECT proname FROM pg_proc WHERE pronamespace = 'pgroll'::regnamespace")}
    assert {"latest_migration", "previous_migration", "latest_version", "previous_version",
            "is_active_migration_period", "find_version_schema", "read_schema",
            "raw_migration"} <= functions
    assert pg_conn.execute("SELECT count(*) FROM pg_event_trigger "
                           "WHERE evtname LIKE 'pg_roll_handle_%'").fetchone() == (2,)
    assert messages == []


def test_init_without_superuser_says_what_it_leaves_out(
    pg_conn: psycopg.Connection[Any], pg_dsn: str
) -> None:
    role = f"plain_{pg_conn.info.dbname}"[:60]
    pg_conn.execute(f'CREATE ROLE "{role}" LOGIN')
    pg_conn.execute(f'GRANT CREATE ON DATABASE "{pg_conn.info.dbname}" TO "{role}"')
    params = conninfo_to_dict(pg_dsn)
    params.update(dbname=pg_conn.info.dbname, user=role)
    dsn = make_conninfo(**params)  # type: ignore[arg-type]
    messages: list[str] = []
    try:
        runner = _runner(dsn, messages)
        runner.init()
        assert runner.status()["status"] == "No migrations"
        runner.close()
        assert any("event triggers need a superuser" in m for m in messages), messages
        assert pg_conn.execute("SELECT to_regclass('pgroll.migrations') IS NOT NULL"
                               ).fetchone() == (True,)
    finally:
        pg_conn.execute("DROP SCHEMA IF EXISTS pgroll CASCADE")
        pg_conn.execute(f'DROP OWNED BY "{role}"')
        pg_conn.execute(f'DROP ROLE "{role}"')
