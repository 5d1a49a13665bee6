"""ALTER TABLE ... ATTACH PARTITION / DETACH PARTITION (PARTITION OF is ``create_table``'s).

A partition's model holds only what is its own (``catalog/model.py``): attaching a table makes
it take its parent's columns and hands what it shares with the parent to the parent's model;
detaching gives back to the table, as PostgreSQL does, a copy of each of the parent's
constraints and indexes: checks and foreign keys under their names, keys and indexes under the
names PostgreSQL gave the partition's share of them (``<partition>_pkey``,
``<partition>_<c>_idx`` ...: chosen when the partition got them, which replay takes to be now).
"""

from __future__ import annotations

from dataclasses import replace

from pglast import ast, parse_sql, parser

from pgroll_dsl import ir
from pgroll_dsl.catalog.apply import indexes_for, sorted_constraints, sorted_indexes
from pgroll_dsl.catalog.model import Catalog, Index, Table
from pgroll_dsl.catalog.naming import Names
from pgroll_dsl.catalog.partitions import partition_bound, partition_columns
from pgroll_dsl.catalog.sql_ddl.lookup import CannotReplay, table_or_fail
from pgroll_dsl.catalog.sql_ddl.names import element_name, index_column_names
from pgroll_dsl.catalog.sql_ddl.nodes import relation

Kind = ir.ConstraintType
_LABELS = {Kind.PRIMARY_KEY: "pkey", Kind.UNIQUE: "key", Kind.EXCLUDE: "excl"}


def _partition(catalog: Catalog, command: ast.AlterTableCmd) -> Table:
    cmd = command.def_
    assert isinstance(cmd, ast.PartitionCmd)
    name = relation(cmd.name, catalog.schema)
    if name is None:
        raise CannotReplay("a partition outside the schema is not replayed")
    return table_or_fail(catalog, name)


def attach_partition(catalog: Catalog, parent_name: str, command: ast.AlterTableCmd) -> Catalog:
    """The table becomes a partition: its parent's columns, its own order."""
    parent = table_or_fail(catalog, parent_name)
    if not parent.partitioned:
        raise CannotReplay(f'table "{parent_name}" is not partitioned')
    table = _partition(catalog, command)
    cmd = command.def_
    assert isinstance(cmd, ast.PartitionCmd) and cmd.bound is not None
    # Its keys, indexes, checks and foreign keys that match the parent's are attached to them
    # (the parent's model has them).
    shared = {_shape(i) for i in parent.indexes}
    indexes = tuple(i for i in table.indexes if _shape(i) not in shared)
    kept = {i.name for i in indexes}
    keys = {(c.columns, c.references) for c in parent.constraints
            if c.type is Kind.FOREIGN_KEY}
    constraints = tuple(
        c for c in table.constraints
        if not (c.type in _LABELS and c.name not in kept)
        and not (c.type is Kind.FOREIGN_KEY and (c.columns, c.references) in keys)
        and not (c.type is Kind.CHECK and parent.constraint(c.name) is not None))
    return catalog.with_table(replace(
        # An attached table keeps its own defaults and NOT NULL (the parent is unchanged).
        table, columns=partition_columns(parent, table.columns, parent),
        partition_of=parent.name,
        partition_bound=partition_bound(cmd.bound), constraints=constraints, indexes=indexes))


def _shape(index: Index) -> tuple[object, ...]:
    """What makes an index of a partition the partition's share of one of its parent's."""
    return (index.columns, index.key_options, index.unique, index.method, index.include,
            index.nulls_not_distinct, index.predicate, index.constraint is not None)


def detach_partition(catalog: Catalog, parent_name: str, command: ast.AlterTableCmd) -> Catalog:
    """The partition becomes a table of its own, with its share of the parent's objects."""
    parent = table_or_fail(catalog, parent_name)
    table = _partition(catalog, command)
    if table.partition_of != parent.name:
        raise CannotReplay(f'table "{table.name}" is not a partition of "{parent.name}"')
    names = Names.of(catalog)
    constraints = list(table.constraints)
    renamed: dict[str, str] = {}
    for constraint in parent.constraints:
        if constraint.type in _LABELS:
            name = names.choose(table.name, _joined(table, constraint.columns)
                                if constraint.type is not Kind.PRIMARY_KEY else None,
                                _LABELS[constraint.type], relation=True, constraint=True)
            renamed[constraint.name] = name
            constraints.append(replace(constraint, name=name))
        elif table.constraint(constraint.name) is None:
            constraints.append(constraint)
    indexes = list(indexes_for([c for c in constraints if c.name in renamed.values()]))
    for index in parent.indexes:
        if index.constraint is None:
            name = names.choose(table.name, _joined(table, index.columns + index.include), "idx",
                                relation=True, constraint=False)
            indexes.append(replace(index, name=name, valid=True))
    return catalog.with_table(replace(
        table, partition_of=None, partition_bound=None,
        constraints=sorted_constraints(constraints),
        indexes=sorted_indexes((*table.indexes, *indexes))))


def _joined(table: Table, keys: tuple[str, ...]) -> str:
    """PostgreSQL's column part of a generated name: columns, or what expressions are named."""
    return "_".join(index_column_names(k if table.column(k) is not None else _figured(k)
                                       for k in keys))


def _figured(expression: str) -> str:
    try:
        statement = parse_sql(f"CREATE INDEX ON _ (({expression}))")[0].stmt
    except parser.ParseError:
        return "expr"
    assert isinstance(statement, ast.IndexStmt)
    (element,) = statement.indexParams or (None,)
    return element_name(element) if isinstance(element, ast.IndexElem) else "expr"

