"""SQLAlchemy: every connection an engine opens on a version schema.

    engine = create_engine(url)
    app.sqlalchemy.use_version_schema(engine, version)

A ``connect`` event (inserted first, before the dialect's own first-connect queries) sets
the ``search_path`` on each new DBAPI connection, in autocommit so that no later rollback
undoes it. Call it before the engine's first connection.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import Engine

from pgroll_dsl.app import search_path_statement


def use_version_schema(engine: Engine, version: str, *then: str) -> None:
    """Make each new connection of ``engine`` use the version schema (then ``then``)."""
    statement = search_path_statement(version, *then)

    def on_connect(dbapi_connection: Any, _record: Any) -> None:
        was = dbapi_connection.autocommit
        dbapi_connection.autocommit = True
        cursor = dbapi_connection.cursor()
        try:
            cursor.execute(statement)
        finally:
            cursor.close()
            dbapi_connection.autocommit = was

    event.listen(engine, "connect", on_connect, insert=True)


__all__ = ["use_version_schema"]
