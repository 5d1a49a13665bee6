"""CREATE TABLE, and adding named columns and constraints to a table (also ``ALTER TABLE``).

Both build model values exactly as ``Catalog.apply`` does for the equivalent pgroll
operation (sorted constraints, backing indexes, owned sequences).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field, replace

from pglast import ast
from pglast.enums import ConstrType

from pgroll_dsl import ir
from pgroll_dsl.catalog.apply import indexes_for, sorted_constraints, sorted_indexes, with_sequences
from pgroll_dsl.catalog.model import Catalog, Constraint, Table
from pgroll_dsl.catalog.naming import Names
from pgroll_dsl.catalog.partitions import partition_bound, partition_columns, partition_key
from pgroll_dsl.catalog.sql_ddl.columns import NewColumn, column_def, place_sequences
from pgroll_dsl.catalog.sql_ddl.constraints import pending_constraint, resolve_reference
from pgroll_dsl.catalog.sql_ddl.lookup import CannotReplay, table_or_fail
from pgroll_dsl.catalog.sql_ddl.names import Pending, named_constraints
from pgroll_dsl.catalog.sql_ddl.nodes import relation, strings
from pgroll_dsl.sql.spans import TokenSpan, element_span

Kind = ir.ConstraintType


@dataclass(slots=True)
class _Draft:
    """What a ``CREATE TABLE`` (or ``ADD COLUMN``) defines, in the order it was written."""

    columns: list[NewColumn] = field(default_factory=list)
    constraints: list[Pending] = field(default_factory=list)
    not_null: set[str] = field(default_factory=set)


def create_table(catalog: Catalog, stmt: ast.CreateStmt, span: TokenSpan) -> Catalog:
    """CREATE TABLE: columns and constraints in the order written, named as PostgreSQL does."""
    name = relation(stmt.relation, catalog.schema)
    if name is None:
        return catalog
    if stmt.partbound is None and (stmt.inhRelations or stmt.ofTypename is not None):
        raise CannotReplay("inherited and typed tables are not replayed")
    if catalog.table(name) is not None:
        if stmt.if_not_exists:
            return catalog
        raise CannotReplay(f'table "{name}" is already in the catalog')
    parent = _parent(catalog, stmt) if stmt.partbound is not None else None
    draft = _Draft()
    for element in stmt.tableElts or ():
        if parent is not None and isinstance(element, ast.ColumnDef):
            raise CannotReplay("column options of a partition are not replayed")
        _add_element(draft, element, span, catalog.schema)
    catalog = _build_table(catalog, name, draft)
    table = catalog.table(name)
    assert table is not None
    if parent is not None:
        assert stmt.partbound is not None
        table = replace(table, columns=partition_columns(parent), partition_of=parent.name,
                        partition_bound=partition_bound(stmt.partbound))
    if stmt.partspec is not None:
        table = replace(table, partition_by=partition_key(stmt.partspec))
    return catalog.with_table(table)


def _parent(catalog: Catalog, stmt: ast.CreateStmt) -> Table:
    """The table a ``PARTITION OF`` names, which must be in the catalog and partitioned."""
    (parent_var,) = stmt.inhRelations or (None,)
    parent_name = relation(parent_var if isinstance(parent_var, ast.RangeVar) else None,
                           catalog.schema)
    if parent_name is None:
        raise CannotReplay("a partition of a table outside the schema is not replayed")
    parent = table_or_fail(catalog, parent_name)
    if not parent.partitioned:
        raise CannotReplay(f'table "{parent_name}" is not partitioned')
    return parent


def _add_element(draft: _Draft, element: object, span: TokenSpan, schema: str) -> None:
    match element:
        case ast.ColumnDef():
            new = column_def(element, span, schema)
            draft.columns.append(new)
            draft.constraints.extend(new.constraints)
        case ast.Constraint(contype=ConstrType.CONSTR_NOTNULL):
            draft.not_null.update(strings(element.keys))
        case ast.Constraint():
            part = element_span(span, element.location)
            draft.constraints.append(pending_constraint(element, part, schema))
        case _:
            raise CannotReplay("LIKE in CREATE TABLE is not replayed")


def _build_table(catalog: Catalog, name: str, draft: _Draft) -> Catalog:
    names = Names.of(catalog)
    columns, sequences = place_sequences(name, draft.columns, names)
    constraints = named_constraints(name, draft.constraints, names)
    constraints = [replace(resolve_reference(c, name, constraints, catalog), validated=True)
                   for c in constraints]  # NOT VALID means nothing for a new, empty table
    required = draft.not_null | _primary_key_columns(constraints)
    columns = [replace(c, nullable=False) if c.name in required else c for c in columns]
    table = Table(name=name, columns=tuple(columns), constraints=sorted_constraints(constraints),
                  indexes=sorted_indexes(indexes_for(constraints)))
    return with_sequences(catalog.with_table(table), sequences)


def _primary_key_columns(constraints: Iterable[Constraint]) -> set[str]:
    return {col for c in constraints if c.type is Kind.PRIMARY_KEY for col in c.columns}


def extend_table(catalog: Catalog, table: Table, new_columns: list[NewColumn],
                 pending: list[Pending]) -> Catalog:
    """Add columns and constraints to a table, naming them as PostgreSQL would."""
    names = Names.of(catalog)
    columns, sequences = place_sequences(table.name, new_columns, names)
    added = named_constraints(table.name, pending, names)
    all_columns = [*table.columns, *columns]
    added = [resolve_reference(c, table.name, [*table.constraints, *added], catalog)
             for c in added]
    key = _primary_key_columns(added)
    table = replace(
        table,
        columns=tuple(replace(c, nullable=False) if c.name in key else c for c in all_columns),
        constraints=sorted_constraints((*table.constraints, *added)),
        indexes=sorted_indexes((*table.indexes, *indexes_for(added))),
    )
    return with_sequences(catalog.with_table(table), sequences)
