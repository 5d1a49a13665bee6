"""PostgreSQL's row estimates of tables, for the markdown report's "backfilled" line.

A catalog snapshot and a replayed history hold no statistics; a live database does
(``pg_class.reltuples``, kept by ANALYZE and autovacuum). The estimate costs no scan. A table
never analysed (``reltuples`` is -1 from PostgreSQL 14 on) or not there yet has none, and
the report says "unknown" rather than a guess.
"""

from __future__ import annotations

from collections.abc import Iterable

import psycopg

from pgroll_dsl.backends.conninfo import connect_to_read
from pgroll_dsl.backends.live import first_line
from pgroll_dsl.diagnostics import CompileError, Diagnostic, codes
from pgroll_dsl.sql.quoting import quote_ident


def row_estimates(url: str, schema: str, tables: Iterable[str]) -> dict[str, int]:
    """Each table's estimated rows, for the tables of ``schema`` that have an estimate."""
    wanted = sorted(set(tables))
    if not wanted:
        return {}
    names = [f"{quote_ident(schema)}.{quote_ident(t)}" for t in wanted]
    try:
        with connect_to_read(url) as conn:
            rows = conn.execute(
                "SELECT t.name, c.reltuples::bigint FROM unnest(%s::text[], %s::text[]) "
                "AS t(name, qualified) JOIN pg_catalog.pg_class c "
                "ON c.oid = to_regclass(t.qualified) WHERE c.reltuples >= 0",
                (wanted, names)).fetchall()
    except psycopg.Error as err:
        raise CompileError([Diagnostic(codes.CANNOT_CONNECT,
                                       f"cannot read row estimates: {first_line(err)}",
                                       None)]) from None
    return {str(name): int(count) for name, count in rows}


__all__ = ["row_estimates"]
