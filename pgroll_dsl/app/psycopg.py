"""psycopg and psycopg_pool: a connection, or every connection of a pool, on a version schema.

    pool = ConnectionPool(url, configure=app.psycopg.configure(version))

or, for one connection, ``psycopg.connect(url, **app.connection_options(version))`` (the
setting survives ``RESET``) or ``use_version_schema(conn, version)`` on an open one.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import psycopg

from pgroll_dsl.app import search_path_statement


def use_version_schema(conn: psycopg.Connection[Any], version: str, *then: str) -> None:
    """Set ``conn``'s ``search_path`` to the version schema (then ``then``) for the session.

    A connection outside autocommit would keep the ``SET`` only if its transaction commits:
    the setting is committed when the call opened the transaction, and rides with the
    caller's transaction otherwise.
    """
    idle = conn.info.transaction_status == psycopg.pq.TransactionStatus.IDLE
    conn.execute(search_path_statement(version, *then))
    if idle and not conn.autocommit:
        conn.commit()


def configure(version: str, *then: str) -> Callable[[psycopg.Connection[Any]], None]:
    """A psycopg_pool ``configure`` callback: each new connection on the version schema.

    It leaves the connection idle, as the pool requires.
    """
    def configure_connection(conn: psycopg.Connection[Any]) -> None:
        use_version_schema(conn, version, *then)

    return configure_connection


__all__ = ["configure", "use_version_schema"]
