"""CREATE INDEX: elements, expressions and predicate kept as the author wrote them.

Expression elements and the predicate are sliced out of the statement's tokens (as the DSL
stores them); an unnamed index gets PostgreSQL's name for it.
"""

from __future__ import annotations

from dataclasses import replace

from pglast import ast

from pgroll_dsl.catalog.apply import sorted_indexes
from pgroll_dsl.catalog.model import Catalog, Index
from pgroll_dsl.catalog.naming import Names
from pgroll_dsl.catalog.sql_ddl.lookup import CannotReplay, table_or_fail
from pgroll_dsl.catalog.sql_ddl.names import element_name, index_column_names
from pgroll_dsl.catalog.sql_ddl.nodes import relation
from pgroll_dsl.catalog.sql_ddl.source import Span, regenerated


def create_index(catalog: Catalog, stmt: ast.IndexStmt, span: Span) -> Catalog:
    """CREATE INDEX on a table of the catalog (IF NOT EXISTS keeps an existing relation)."""
    table_name = relation(stmt.relation, catalog.schema)
    if table_name is None:
        return catalog
    table = table_or_fail(catalog, table_name)
    if stmt.idxname and stmt.idxname in Names.of(catalog).relations:
        if stmt.if_not_exists:
            return catalog
        raise CannotReplay(f'relation "{stmt.idxname}" is already in the catalog')
    params = span.group(span.at(stmt.relation.location if stmt.relation else None))
    elements = [e for e in stmt.indexParams or () if isinstance(e, ast.IndexElem)]
    name = stmt.idxname or _index_name(catalog, table.name, stmt, elements)
    index = Index(name=name, columns=_index_columns(elements, span, params),
                  unique=bool(stmt.unique), method=stmt.accessMethod or "btree",
                  predicate=_index_predicate(stmt, span, params))
    return catalog.with_table(replace(table, indexes=sorted_indexes((*table.indexes, index))))


def _index_name(catalog: Catalog, table: str, stmt: ast.IndexStmt,
                elements: list[ast.IndexElem]) -> str:
    included = [e for e in stmt.indexIncludingParams or () if isinstance(e, ast.IndexElem)]
    columns = index_column_names(element_name(e) for e in [*elements, *included])
    return Names.of(catalog).choose(table, "_".join(columns), "idx", relation=True,
                                    constraint=False)


def _index_columns(elements: list[ast.IndexElem], span: Span,
                   params: tuple[int, int] | None) -> tuple[str, ...]:
    """Column names, or the author's text of expression elements."""
    pieces = span.part(params[0] + 1, params[1]).pieces() if params else []
    if len(pieces) != len(elements):
        pieces = []
    columns = []
    for number, element in enumerate(elements):
        text = element.name or (_element_text(pieces[number]) if pieces else None)
        columns.append(text or regenerated(element.expr) or "")
    return tuple(columns)


def _element_text(piece: Span) -> str | None:
    """``(expr)`` without its parentheses, or a function call up to its closing one."""
    found = piece.group(piece.first)
    if found is None:
        return None
    if found[0] == piece.first:
        return piece.text(found[0] + 1, found[1])
    return piece.text(piece.first, found[1] + 1)


def _index_predicate(stmt: ast.IndexStmt, span: Span,
                     params: tuple[int, int] | None) -> str | None:
    if stmt.whereClause is None:
        return None
    where = span.keyword(params[1] + 1, "WHERE") if params else None
    if where is None:
        return regenerated(stmt.whereClause)
    return span.text(where + 1, span.stop(where + 1))
