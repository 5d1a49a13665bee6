"""Smoke test of the live-test setup: the server answers, is recent enough, and stores data."""

from __future__ import annotations

from typing import Any

import psycopg
import pytest


@pytest.mark.postgres
def test_fresh_database_round_trip(pg_conn: psycopg.Connection[tuple[Any, ...]]) -> None:
    version = pg_conn.execute("SELECT current_setting('server_version_num')::int").fetchone()
    assert version is not None
    assert version[0] >= 140000, f"pgroll supports PostgreSQL 14+, server is {version[0]}"

    database = pg_conn.execute("SELECT current_database()").fetchone()
    assert database is not None
    assert database[0].startswith("pgroll_dsl_test_"), "pg_conn must use a per-test database"

    tables = pg_conn.execute(
        "SELECT count(*) FROM pg_tables"
        " WHERE schemaname NOT IN ('pg_catalog', 'information_schema')"
    ).fetchone()
    assert tables == (0,), "the per-test database must start empty"

    pg_conn.execute("CREATE TABLE smoke (id integer PRIMARY KEY, name text NOT NULL)")
    pg_conn.execute("INSERT INTO smoke (id, name) VALUES (%s, %s)", (1, "alpha"))
    assert pg_conn.execute("SELECT id, name FROM smoke").fetchall() == [(1, "alpha")]
