"""Which database a live function works on: a connection string or an open connection.

Typed structurally so that the API imports no database driver until it connects; a psycopg
``Connection`` fits. Only its parameters are used (``backends/conninfo.py`` says why).
"""

from __future__ import annotations

from typing import Protocol


class _Info(Protocol):
    @property
    def dsn(self) -> str:
        """The connection string without the password."""

    @property
    def password(self) -> str:
        """The password, if any."""


class OpenConnection(Protocol):
    """An open psycopg connection (anything with psycopg's ``info``)."""

    @property
    def info(self) -> _Info:
        """The connection's parameters (psycopg's ``ConnectionInfo``)."""


# A libpq connection string or URL, or an open connection to the same database.
Database = str | OpenConnection


def conninfo(database: Database) -> str:
    """The connection string of ``database``.

    Raises ``DatabaseUnreachable`` for a connection that is closed: psycopg no longer
    gives its parameters, and its own error is not one the API promises.
    """
    if isinstance(database, str):
        return database
    from typing import Any, cast

    from pgroll_dsl.api.errors import DatabaseUnreachable, single
    from pgroll_dsl.backends.conninfo import conninfo_of
    from pgroll_dsl.diagnostics import codes

    try:
        return conninfo_of(cast(Any, database))
    except ConnectionError as err:
        raise DatabaseUnreachable(str(err), single(codes.CANNOT_CONNECT, str(err))) from None


__all__ = ["Database", "OpenConnection", "conninfo"]
