"""Which version schema is the latest on a database, read without the executor.

An application reads it once at start-up to set its ``search_path`` (``pgroll_dsl.app``): a
short read-only connection, no role switch, no lock, nothing written.
"""

from __future__ import annotations

import psycopg

from pgroll_dsl.backends.commands import connect_failure
from pgroll_dsl.backends.conninfo import connect_to_read
from pgroll_dsl.backends.state import State
from pgroll_dsl.catalog.derived import version_schema


class VersionUnavailable(Exception):
    """The database cannot be read, or it has no version schema yet (the message says)."""

    def __init__(self, message: str, unreachable: bool) -> None:
        super().__init__(message)
        self.unreachable = unreachable


def latest_version_schema(url: str, schema: str = "public",
                          state_schema: str = "pgroll") -> str:
    """The newest version schema of ``schema`` (pgroll's ``latest schema``)."""
    try:
        with connect_to_read(url) as conn:
            state = State(conn, state_schema, schema)
            latest = state.latest_version() if state.initialized() else None
    except psycopg.Error as err:
        raise VersionUnavailable(f"cannot read the migration history: {connect_failure(url, err)}",
                                 True) from None
    if latest is None:
        raise VersionUnavailable(f'no version schema of schema "{schema}" in the history '
                                 f'"{state_schema}"', False)
    return version_schema(schema, latest)
