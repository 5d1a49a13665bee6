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
    """The connection string of ``database``."""
    if isinstance(database, str):
        return database
    from typing import Any, cast

    from pgroll_dsl.backends.conninfo import conninfo_of

    return conninfo_of(cast(Any, database))


__all__ = ["Database", "OpenConnection", "conninfo"]
