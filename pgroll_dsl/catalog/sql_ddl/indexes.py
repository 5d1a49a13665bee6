"""CREATE INDEX: elements, expressions and predicate kept as the author wrote them.

Expression elements and the predicate are sliced out of the statement's tokens (as the DSL
stores them); an unnamed index gets PostgreSQL's name for it. Key options, INCLUDE, NULLS
NOT DISTINCT, storage parameters and tablespace are spelled as ``index_keys`` says, so that
the index equals its introspection.
"""

from __future__ import annotations

from dataclasses import replace

from pglast import ast
from pglast.enums import AlterTableType

from pgroll_dsl.catalog.apply import sorted_indexes
from pgroll_dsl.catalog.index_keys import (
    element_options,
    option_strings,
    without_default_collation,
    without_default_opclass,
)
from pgroll_dsl.catalog.model import Catalog, Index, KeyOptions, Table
from pgroll_dsl.catalog.naming import Names
from pgroll_dsl.catalog.sql_ddl.lookup import CannotReplay, table_or_fail
from pgroll_dsl.catalog.sql_ddl.names import element_name, index_column_names
from pgroll_dsl.catalog.sql_ddl.nodes import relation
from pgroll_dsl.sql.spans import TokenSpan, element_text, regenerated


def create_index(catalog: Catalog, stmt: ast.IndexStmt, span: TokenSpan) -> Catalog:
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
    method = stmt.accessMethod or "btree"
    included = [e for e in stmt.indexIncludingParams or () if isinstance(e, ast.IndexElem)]
    index = Index(name=name, columns=_index_columns(elements, span, params),
                  key_options=tuple(_options(catalog, table, method, e) for e in elements),
                  unique=bool(stmt.unique), method=method,
                  include=tuple(e.name for e in included if e.name),
                  nulls_not_distinct=bool(stmt.nulls_not_distinct),
                  storage_parameters=option_strings(stmt.options),
                  tablespace=stmt.tableSpace or None,
                  predicate=_index_predicate(stmt, span, params),
                  # ON ONLY a partitioned table: invalid until every partition's is attached
                  valid=not (stmt.relation is not None and not stmt.relation.inh
                             and table.partitioned and bool(catalog.partitions(table.name))))
    return catalog.with_table(replace(table, indexes=sorted_indexes((*table.indexes, index))))


def _options(catalog: Catalog, table: Table, method: str, element: ast.IndexElem) -> KeyOptions:
    """An element's options; a default operator class of a column key is left out."""
    column = table.column(element.name) if element.name else None
    return without_default_opclass(
        without_default_collation(element_options(element, catalog.schema)), method,
        column.type if column is not None else None, (e.name for e in catalog.enums))


def _index_name(catalog: Catalog, table: str, stmt: ast.IndexStmt,
                elements: list[ast.IndexElem]) -> str:
    included = [e for e in stmt.indexIncludingParams or () if isinstance(e, ast.IndexElem)]
    columns = index_column_names(element_name(e) for e in [*elements, *included])
    return Names.of(catalog).choose(table, "_".join(columns), "idx", relation=True,
                                    constraint=False)


def _index_columns(elements: list[ast.IndexElem], span: TokenSpan,
                   params: tuple[int, int] | None) -> tuple[str, ...]:
    """Column names, or the author's text of expression elements."""
    pieces = span.part(params[0] + 1, params[1]).pieces() if params else []
    if len(pieces) != len(elements):
        pieces = []
    columns = []
    for number, element in enumerate(elements):
        text = element.name or (element_text(pieces[number]) if pieces else None)
        columns.append(text or regenerated(element.expr) or "")
    return tuple(columns)


def _index_predicate(stmt: ast.IndexStmt, span: TokenSpan,
                     params: tuple[int, int] | None) -> str | None:
    if stmt.whereClause is None:
        return None
    where = span.keyword(params[1] + 1, "WHERE") if params else None
    if where is None:
        return regenerated(stmt.whereClause)
    return span.text(where + 1, span.stop(where + 1))


def alter_index(catalog: Catalog, stmt: ast.AlterTableStmt) -> Catalog:
    """ALTER INDEX ... SET (...), RESET (...), SET TABLESPACE: the index (and its constraint).

    Options are merged as PostgreSQL's ``transformRelOptions`` does: those not named are
    kept in their place, the new ones follow in the order written.
    """
    name = relation(stmt.relation, catalog.schema)
    found = catalog.index(name) if name is not None else None
    if found is None:
        if name is None or stmt.missing_ok:
            return catalog
        raise CannotReplay(f'index "{name}" is not in the catalog')
    table, index = found
    options, tablespace = index.storage_parameters, index.tablespace
    for command in stmt.cmds or ():
        if not isinstance(command, ast.AlterTableCmd):
            continue
        match command.subtype:
            case AlterTableType.AT_AttachPartition:
                return _attach_index(catalog, table, index, command)
            case AlterTableType.AT_SetRelOptions:
                options = _merged(options, option_strings(command.def_), reset=False)
            case AlterTableType.AT_ResetRelOptions:
                options = _merged(options, option_strings(command.def_), reset=True)
            case AlterTableType.AT_SetTableSpace:
                tablespace = None if command.name == "pg_default" else command.name
            case _:
                raise CannotReplay("only SET (...), RESET (...) and SET TABLESPACE of an index "
                                   "are replayed")
    changed = replace(index, storage_parameters=options, tablespace=tablespace)
    constraints = tuple(
        replace(c, storage_parameters=options, tablespace=tablespace)
        if c.name == index.constraint else c for c in table.constraints)
    return catalog.with_table(replace(
        table, constraints=constraints,
        indexes=tuple(changed if i.name == index.name else i for i in table.indexes)))


def _merged(old: tuple[str, ...], new: tuple[str, ...], *, reset: bool) -> tuple[str, ...]:
    names = {option.partition("=")[0] for option in new}
    kept = tuple(option for option in old if option.partition("=")[0] not in names)
    return kept if reset else (*kept, *new)


def _attach_index(catalog: Catalog, table: Table, index: Index,
                  command: ast.AlterTableCmd) -> Catalog:
    """ALTER INDEX ... ATTACH PARTITION: a partition's index becomes the parent's share.

    The model keeps no record of which partitions have theirs attached: the parent's index is
    taken to be valid from the first attach on (pg_dump's scripts attach every partition's).
    """
    cmd = command.def_
    assert isinstance(cmd, ast.PartitionCmd)
    name = relation(cmd.name, catalog.schema)
    found = catalog.index(name) if name is not None else None
    if found is None:
        raise CannotReplay(f'index "{name}" is not in the catalog')
    partition, attached = found
    if partition.partition_of != table.name:
        raise CannotReplay(f'index "{name}" is not on a partition of "{table.name}"')
    catalog = catalog.with_table(replace(
        partition, indexes=tuple(i for i in partition.indexes if i.name != attached.name)))
    parent = catalog.table(table.name)
    assert parent is not None
    return catalog.with_table(replace(parent, indexes=tuple(
        replace(i, valid=True) if i.name == index.name else i for i in parent.indexes)))
