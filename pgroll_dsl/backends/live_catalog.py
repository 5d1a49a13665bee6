"""A live database as the catalog a migration is checked and planned against.

``validate``/``plan --postgres-url`` and ``catalog dump`` read the schema here, in the live
layer, and hand it to the compiler driver, which works with no database; ``try`` reads here
what each version schema shows.
"""

from __future__ import annotations

from typing import Any

import psycopg

from pgroll_dsl.backends.commands import connect_failure
from pgroll_dsl.backends.conninfo import connect_to_read
from pgroll_dsl.backends.state import State
from pgroll_dsl.catalog.derived import version_schema
from pgroll_dsl.catalog.introspect import introspect
from pgroll_dsl.compile import Before
from pgroll_dsl.diagnostics import CompileError, Diagnostic, codes
from pgroll_dsl.sql.quoting import quote_ident


def live_before(url: str, schema: str, state_schema: str = "pgroll") -> Before:
    """Introspect a live database read-only, with its latest version schema and its version.

    An unreachable database is an environment error (PGD901), as is a schema it does not
    have (PGD904).
    """
    try:
        with connect_to_read(url) as conn:
            if conn.execute("SELECT FROM pg_catalog.pg_namespace WHERE nspname = %s",
                            (schema,)).fetchone() is None:
                # (A mistyped --schema read as an empty schema: every table unknown, or a
                # snapshot of nothing.)
                raise CompileError([Diagnostic(
                    codes.NO_SUCH_SCHEMA, f"cannot read the catalog: the database has no "
                    f"schema {quote_ident(schema)} (is --schema right?)", None)])
            state = State(conn, state_schema, schema)
            latest = state.latest_version() if state.initialized() else None
            previous = version_schema(schema, latest) if latest else None
            return Before(introspect(conn, schema), previous,
                          (), conn.info.server_version)
    except psycopg.Error as err:
        raise CompileError([Diagnostic(codes.CANNOT_CONNECT,
                                       f"cannot read the catalog: {connect_failure(url, err)}",
                                       None)]) from None


def version_tables(conn: psycopg.Connection[Any], schema: str) -> list[tuple[str, str]]:
    """What a version schema shows clients: (view, its columns in order, comma-separated)."""
    rows: list[tuple[str, str]] = conn.execute(
        "SELECT table_name, string_agg(column_name, ', ' ORDER BY ordinal_position) "
        "FROM information_schema.columns WHERE table_schema = %s GROUP BY table_name "
        "ORDER BY table_name", (schema,)).fetchall()
    return rows
