"""pgroll_dsl.app with SQLAlchemy: two engines, the old and the new version, during a migration.

Each engine keeps one pooled connection and returns it with a rollback after every use: the
``search_path`` set by the ``connect`` event must survive that, and the dialect's own
first-connect queries must not disturb it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from psycopg.conninfo import conninfo_to_dict
from sqlalchemy import Engine, create_engine
from sqlalchemy.engine import URL

from pgroll_dsl.app import sqlalchemy as app_sqlalchemy
from tests.app_scenario import NEW, OLD, Run, after_complete, exercise, migration_in_progress
from tests.live_helpers import Connection, dsn_of


def _engine(dsn: str, version: str) -> Engine:
    params = conninfo_to_dict(dsn)
    url = URL.create("postgresql+psycopg", username=str(params.get("user", "postgres")),
                     password=str(params["password"]) if params.get("password") else None,
                     host=str(params.get("host", "127.0.0.1")),
                     port=int(str(params.get("port", 5432))),
                     database=str(params.get("dbname", "postgres")))
    engine = create_engine(url, pool_size=1, max_overflow=0)
    app_sqlalchemy.use_version_schema(engine, version)
    return engine


def _run(engine: Engine) -> Run:
    def run(statement: str, params: tuple[Any, ...]) -> list[tuple[Any, ...]]:
        with engine.begin() as conn:
            result = conn.exec_driver_sql(statement, params)
            return [tuple(row) for row in result] if result.returns_rows else []
    return run


def test_old_and_new_engines_side_by_side(pg_dsn: str, pg_conn: Connection,
                                          tmp_path: Path) -> None:
    with migration_in_progress(dsn_of(pg_dsn, pg_conn), tmp_path) as scenario:
        old_engine = _engine(scenario.dsn, scenario.old)
        new_engine = _engine(scenario.dsn, scenario.new)
        try:
            with old_engine.connect() as conn:
                conn.exec_driver_sql("SET LOCAL search_path TO public")
                conn.rollback()  # returned to the pool after a rollback, as always
            exercise(_run(old_engine), _run(new_engine))
            assert old_engine.dialect.default_schema_name == OLD
            assert new_engine.dialect.default_schema_name == NEW
            scenario.complete()
            after_complete(_run(new_engine))
        finally:
            old_engine.dispose()
            new_engine.dispose()
