"""A baseline: the migration ``baseline`` writes, the schema as it was when it was taken.

Its one ``sql`` operation's ``up`` is DDL that PostgreSQL printed (``backends/baseline.py``),
not SQL an author wrote: it records what exists already, on the database it was taken from,
and builds the same on an empty one. The safety lints advise an author (write
``create table`` rather than raw DDL, prefer ``bigint`` keys, build indexes
``CONCURRENTLY``); nobody can act on that advice about a schema as it is, so a baseline is
not linted (``passes/validate_ops``), where every later ``validate`` reported each table.

The file says what it is on the first line of that ``up``, a SQL comment (``MARK``): in the
SQL text, as ``allow`` comments are (``passes/lint_suppress``), because pgroll JSON has no
comments and rejects unknown keys, so only the SQL carries it alike in the DSL, JSON and
YAML, through ``convert``, and through the history (``pull`` writes the document the state
kept). pgroll runs the file as an ordinary migration, a comment included. A migration is a
baseline only in the shape ``baseline`` writes (one ``sql`` operation, no ``down``, not
``on complete``), so an ordinary raw SQL migration keeps its findings, and a mark below its
first line is a comment like any other.
"""

from __future__ import annotations

import re

from pgroll_dsl.ir.migration import Migration
from pgroll_dsl.ir.ops import Sql

MARK = "-- pgroll-dsl: baseline"

_MARKED = re.compile(r"\s*--\s*pgroll-dsl\s*:\s*baseline\b", re.IGNORECASE)


def marked(ddl: str) -> str:
    """``ddl`` as a baseline's ``up``: the mark on its first line, with what it means."""
    return f"{MARK} (the schema as it was when taken; not linted)\n{ddl}"


def is_baseline(migration: Migration) -> bool:
    """True for a migration in the shape ``baseline`` writes, its ``up`` opening with the mark."""
    match migration.operations:
        case (Sql(up=up, down=None, on_complete=False),):
            return _MARKED.match(up.text) is not None
    return False
