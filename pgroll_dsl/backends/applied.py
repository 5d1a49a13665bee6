"""Which migrations a live database has applied: what ``validate DIR --postgres-url`` skips.

The live schema already holds what those migrations did, so checking them against it again
reports false errors (a table "already exists" that the migration itself created). They are
history: ``validate`` checks only the migrations the database has not seen.
"""

from __future__ import annotations

import psycopg

from pgroll_dsl.backends.commands import connect_failure
from pgroll_dsl.backends.conninfo import connect_to_read
from pgroll_dsl.backends.state import State
from pgroll_dsl.diagnostics import CompileError, Diagnostic, codes


def applied_migrations(url: str, schema: str, state_schema: str = "pgroll") -> frozenset[str]:
    """The names in the schema's migration history, the active one's included.

    None if the history was never initialised. An unreachable database is PGD901.
    """
    try:
        with connect_to_read(url) as conn:
            state = State(conn, state_schema, schema)
            return frozenset(state.history()) if state.initialized() else frozenset()
    except psycopg.Error as err:
        raise CompileError([Diagnostic(codes.CANNOT_CONNECT,
                                       "cannot read the migration history: "
                                       f"{connect_failure(url, err)}",
                                       None)]) from None


__all__ = ["applied_migrations"]
