"""pgroll_dsl.app with psycopg and psycopg_pool: old and new instances during a migration.

The old instance is a plain psycopg connection (outside autocommit: the ``SET`` must survive
the application's rollbacks); the new one a psycopg_pool whose ``configure`` callback sets
each connection's ``search_path``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import psycopg
from psycopg_pool import ConnectionPool

from pgroll_dsl import app
from pgroll_dsl.app import psycopg as app_psycopg
from tests.app_scenario import NEW, OLD, after_complete, exercise, migration_in_progress
from tests.live_helpers import Connection, dsn_of


def _rows(conn: psycopg.Connection[Any], statement: str,
          params: tuple[Any, ...]) -> list[tuple[Any, ...]]:
    cursor = conn.execute(statement, params)
    return cursor.fetchall() if cursor.description is not None else []


def test_old_connection_and_new_pool_side_by_side(pg_dsn: str, pg_conn: Connection,
                                                  tmp_path: Path) -> None:
    with migration_in_progress(dsn_of(pg_dsn, pg_conn), tmp_path) as scenario, \
            psycopg.connect(scenario.dsn) as old_conn, \
            ConnectionPool(scenario.dsn, min_size=2,
                           configure=app_psycopg.configure(scenario.new)) as pool:
        app_psycopg.use_version_schema(old_conn, scenario.old)
        old_conn.rollback()  # an application's rollback must not undo the setting

        def old(statement: str, params: tuple[Any, ...]) -> list[tuple[Any, ...]]:
            with old_conn.transaction():  # one committed transaction per call
                return _rows(old_conn, statement, params)

        assert old("SHOW search_path", ()) == [(OLD,)]

        def new(statement: str, params: tuple[Any, ...]) -> list[tuple[Any, ...]]:
            with pool.connection() as conn:
                return _rows(conn, statement, params)

        pool.wait()
        exercise(old, new)
        with pool.connection() as first, pool.connection() as second:
            assert {_rows(c, "SELECT current_schema()", ())[0][0]
                    for c in (first, second)} == {NEW}
        scenario.complete()
        after_complete(new)


def test_connection_options_survive_reset(pg_dsn: str, pg_conn: Connection,
                                          tmp_path: Path) -> None:
    with migration_in_progress(dsn_of(pg_dsn, pg_conn), tmp_path) as scenario, \
            psycopg.connect(scenario.dsn, autocommit=True,
                            **app.connection_options(scenario.old)) as old_conn, \
            psycopg.connect(scenario.dsn, autocommit=True,
                            **app.connection_options(scenario.new, "public")) as new_conn:
        old_conn.execute("DISCARD ALL")
        new_conn.execute("RESET search_path")
        exercise(lambda s, p: _rows(old_conn, s, p), lambda s, p: _rows(new_conn, s, p))
        assert _rows(new_conn, "SELECT current_schemas(false)", ()) == [([NEW, "public"],)]


def test_names_that_need_quoting() -> None:
    assert app.search_path_statement('a "b"', "public") == 'SET search_path TO "a ""b""", public'
    assert app.search_path("Public_01", "user") == '"Public_01", "user"'
    assert app.connection_options("x y\\z") == {"options": '-c search_path="x\\ y\\\\z"'}
    assert app.connection_options("public_02") == {"options": "-c search_path=public_02"}
    assert app.version_schema("02_add", "app") == "app_02_add"


def test_connection_url_of_a_version(pg_dsn: str, pg_conn: Connection,
                                     tmp_path: Path) -> None:
    with migration_in_progress(dsn_of(pg_dsn, pg_conn), tmp_path) as scenario:
        for given in (scenario.dsn, _as_url(scenario.dsn)):
            url = app.connection_url(given, scenario.old)
            with psycopg.connect(url) as conn:
                assert _rows(conn, "SELECT current_schema()", ()) == [(OLD,)]


def _as_url(dsn: str) -> str:
    from psycopg.conninfo import conninfo_to_dict

    params = conninfo_to_dict(dsn)
    return f"postgresql://{params['user']}@{params['host']}:{params['port']}/{params['dbname']}"


def test_an_odd_version_schema_name_reaches_the_server(pg_conn: Connection,
                                                       pg_dsn: str) -> None:
    name = 'Odd name, "quoted" \\ too'
    pg_conn.execute(f"CREATE SCHEMA {app.search_path(name)}")
    with psycopg.connect(dsn_of(pg_dsn, pg_conn), **app.connection_options(name)) as conn:
        assert _rows(conn, "SELECT current_schema()", ()) == [(name,)]
