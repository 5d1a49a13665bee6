"""PostgreSQL's CASCADE: what goes with a dropped table, column or type.

Replayed history has succeeded, so every dependant the model shows is taken to have been
dropped with CASCADE: foreign keys to it, sequences it owns, checks, exclusions and
expression indexes that mention a dropped column.
"""

from __future__ import annotations

from dataclasses import replace

from pglast import ast, parse_sql, parser

from pgroll_dsl import ir
from pgroll_dsl.catalog.model import Catalog, Constraint, Table
from pgroll_dsl.catalog.sql_ddl.nodes import column_refs, walk

Kind = ir.ConstraintType


def without_references(catalog: Catalog, table: str, columns: set[str] | None) -> Catalog:
    """Without foreign keys to ``table`` (or its ``columns``) and sequences owned by them."""

    def refers(c: Constraint) -> bool:
        ref = c.references
        return ref is not None and ref.points_at(table) and (columns is None
                                                           or bool(columns & set(ref.columns)))

    tables = tuple(replace(t, constraints=tuple(c for c in t.constraints if not refers(c)))
                   for t in catalog.tables)
    sequences = tuple(s for s in catalog.sequences if not (
        s.owned_by_table == table and (columns is None or s.owned_by_column in columns)))
    return replace(catalog, tables=tables, sequences=sequences)


def without_dependants(table: Table, column: str) -> Table:
    """Drop checks, exclusions and expression indexes whose text mentions the column."""
    constraints = tuple(c for c in table.constraints if not _mentions(c, column))
    kept = {c.name for c in constraints}
    indexes = tuple(
        i for i in table.indexes
        if (i.constraint is None or i.constraint in kept)
        and not any(column in _mentioned_columns(text) for text in i.columns if text != column)
    )
    return replace(table, constraints=constraints, indexes=indexes)


def _mentions(constraint: Constraint, column: str) -> bool:
    if constraint.type is Kind.CHECK and constraint.expression:
        return column in _mentioned_columns(constraint.expression)
    if constraint.type is Kind.EXCLUDE and constraint.expression:
        return column in _mentioned_columns(constraint.expression, exclusion=True)
    return False


def _mentioned_columns(text: str, *, exclusion: bool = False) -> tuple[str, ...]:
    """Column names an expression (or exclusion element list) stored as text refers to."""
    sql = f"ALTER TABLE t ADD EXCLUDE ({text})" if exclusion else f"SELECT ({text})"
    try:
        tree = parse_sql(sql)
    except parser.ParseError:
        return ()
    names = [n.name for n in walk(tree) if isinstance(n, ast.IndexElem) and n.name]
    return (*names, *column_refs(tree))
