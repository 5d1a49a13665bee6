"""Constraints for ``validate_ops``: names, columns, up/down maps and foreign key targets.

Besides pgroll's own rules this checks what PostgreSQL would only refuse at ``start``: a
foreign key must reference columns that carry a primary key or unique constraint, with as
many columns as it has itself.

Before:  ``alter table posts add constraint fk foreign key (author) references users (name);``
After:   PGD211 at ``name``: users.name has no unique constraint, so PostgreSQL would refuse
         the foreign key after the migration had already started.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable

from pgroll_dsl import ir
from pgroll_dsl.catalog.model import Catalog, Constraint, Table
from pgroll_dsl.diagnostics import Diagnostics, codes
from pgroll_dsl.passes.validate_exprs import check_columns
from pgroll_dsl.passes.validate_names import (
    INDEX_BACKED,
    require_column,
    require_columns,
    require_constraint,
    require_droppable,
    require_no_constraint,
    require_no_index,
    require_table,
)
from pgroll_dsl.sql.expressions import column_references

_KEY_TYPES = (ir.ConstraintType.PRIMARY_KEY, ir.ConstraintType.UNIQUE)


# ---- foreign keys ----------------------------------------------------------------------


def check_target(catalog: Catalog, table: ir.Ident, columns: tuple[ir.Ident, ...],
                 sink: Diagnostics, new_table: Table | None = None) -> None:
    """The referenced table and columns exist, and a primary key or unique key covers them.

    Args:
        catalog: The schema just before the operation.
        table: The referenced table's name.
        columns: The referenced columns' names.
        sink: Where problems go.
        new_table: The table being created, for a foreign key that references its own table.
    """
    target = (new_table if new_table is not None and new_table.name == table.name
              else require_table(catalog, table, sink))
    if target is None:
        return
    if not all([require_column(target, c, sink) is not None for c in columns]) or not columns:
        return
    names = {c.name for c in columns}
    if not _is_key(target, names):
        listed = ", ".join(c.name for c in columns)
        sink.report(codes.FOREIGN_KEY_TARGET_NOT_UNIQUE, columns[0].span,
                    f'no primary key or unique constraint of table "{target.name}" covers '
                    f"exactly ({listed})",
                    "PostgreSQL requires one; add a unique constraint to the referenced columns")


def _is_key(table: Table, names: set[str]) -> bool:
    if any(c.type in _KEY_TYPES and set(c.columns) == names and not c.deferrable
           for c in table.constraints):
        return True
    return any(i.unique and i.predicate is None and set(i.columns) == names
               for i in table.indexes)


def check_table_reference(catalog: Catalog, columns: tuple[ir.Ident, ...],
                          ref: ir.TableForeignKeyReference, sink: Diagnostics,
                          new_table: Table | None = None) -> None:
    """A table-level foreign key: column counts, ON DELETE SET columns, then the target.

    Args:
        catalog: The schema just before the operation.
        columns: The referencing columns.
        ref: The reference.
        sink: Where problems go.
        new_table: The table being created, if the key is part of create_table.
    """
    if len(columns) != len(ref.columns):
        sink.report(codes.FOREIGN_KEY_COLUMN_COUNT, ref.span,
                    f"the foreign key has {len(columns)} column(s) but references "
                    f"{len(ref.columns)}")
    own = {c.name for c in columns}
    for column in ref.on_delete_set_columns:
        if column.name not in own:
            sink.report(codes.SET_COLUMN_NOT_IN_KEY, column.span,
                        f'ON DELETE SET column "{column.name}" is not a column of the foreign key')
    check_target(catalog, ref.table, ref.columns, sink, new_table)


# ---- create_table ----------------------------------------------------------------------


def check_table_constraints(op: ir.CreateTable, table: Table, catalog: Catalog,
                            sink: Diagnostics) -> None:
    """create_table: constraint names, primary keys and each table-level constraint.

    Args:
        op: The operation.
        table: The table it creates, as the catalog would hold it.
        catalog: The schema just before the operation.
        sink: Where problems go.
    """
    _unique_names(op, table, sink)
    has_pk = any(c.pk for c in op.columns)
    for constraint in op.constraints:
        if constraint.type is ir.ConstraintType.PRIMARY_KEY:
            if has_pk:
                sink.report(codes.PRIMARY_KEY_TWICE, constraint.name.span,
                            f'table "{table.name}" already has a primary key',
                            "give the primary key either per column or as a constraint")
            has_pk = True
        if constraint.type in INDEX_BACKED:
            require_no_index(catalog, constraint.name, sink)
        _table_constraint(constraint, table, catalog, sink)


def _unique_names(op: ir.CreateTable, table: Table, sink: Diagnostics) -> None:
    names = [c.check.name for c in op.columns if c.check is not None]
    names += [c.references.name for c in op.columns if c.references is not None]
    names += [c.name for c in op.constraints]
    seen: set[str] = set()
    for name in names:
        if name.name in seen:
            sink.report(codes.CONSTRAINT_ALREADY_EXISTS, name.span,
                        f'constraint "{name.name}" is defined twice on table "{table.name}"')
        seen.add(name.name)


def _table_constraint(c: ir.Constraint, table: Table, catalog: Catalog,
                      sink: Diagnostics) -> None:
    require_columns(table, c.columns, sink)
    if c.index_parameters is not None:
        require_columns(table, c.index_parameters.include_columns, sink)
    columns = [col.name for col in table.columns]
    check_columns(c.check, columns, table.name, f'check "{c.name.name}"', sink)
    if c.exclude is not None:
        check_columns(c.exclude.predicate, columns, table.name, f'exclusion "{c.name.name}"',
                      sink)
    if c.references is not None:
        check_table_reference(catalog, c.columns, c.references, sink, new_table=table)


# ---- operations on one existing table ------------------------------------------------------


def check_create_constraint(op: ir.CreateConstraint, table: Table, catalog: Catalog,
                            sink: Diagnostics) -> None:
    """create_constraint: name free, columns exist, up/down only for listed columns, key.

    Args:
        op: The operation.
        table: Its table, just before the operation.
        catalog: The schema just before the operation.
        sink: Where problems go.
    """
    require_no_constraint(catalog, table, op.name, op.type, sink)
    require_columns(table, op.columns, sink)
    if op.type is ir.ConstraintType.PRIMARY_KEY and table.primary_key:
        sink.report(codes.PRIMARY_KEY_TWICE, op.name.span,
                    f'table "{table.name}" already has a primary key '
                    f"({', '.join(table.primary_key)})")
    if op.index_parameters is not None:
        require_columns(table, op.index_parameters.include_columns, sink)
    columns = [c.name for c in table.columns]
    check_columns(op.check, columns, table.name, f'check "{op.name.name}"', sink)
    _column_maps(op.up, op.down, {c.name for c in op.columns}, table, sink)
    if op.references is not None:
        check_table_reference(catalog, op.columns, op.references, sink)


def _column_maps(up: tuple[ir.ColumnSql, ...], down: tuple[ir.ColumnSql, ...],
                 covered: Collection[str], table: Table, sink: Diagnostics) -> None:
    """Every up/down entry is for a covered column, and its expression names real columns."""
    columns = [c.name for c in table.columns]
    for role, entries in (("up", up), ("down", down)):
        for entry in entries:
            if entry.column.name not in covered:
                sink.report(codes.COLUMN_MIGRATION_REDUNDANT, entry.column.span,
                            f'{role} for column "{entry.column.name}" is redundant: the '
                            f"operation covers only {_listed(covered)}")
            check_columns(entry.sql, columns, table.name, f"{role} of {entry.column.name}", sink)


def _listed(names: Iterable[str]) -> str:
    return ", ".join(f'"{n}"' for n in names) or "no column"


def covered_columns(constraint: Constraint, table: Table) -> tuple[str, ...]:
    """The columns a constraint covers, as PostgreSQL records them (``conkey``).

    A table-level check may be stored without a column list; its columns are then the
    table's columns that its expression names.

    Args:
        constraint: A constraint of ``table``.
        table: The table.

    Returns:
        Column names in the order recorded, else in table order.
    """
    if constraint.columns or constraint.expression is None:
        return constraint.columns
    named = {r.name for r in column_references(constraint.expression)
             if r.row_level and r.qualifier is None}
    return tuple(c.name for c in table.columns if c.name in named)


def check_drop_constraint(op: ir.DropConstraint, table: Table, sink: Diagnostics) -> None:
    """drop_constraint: a droppable single-column constraint, and a ``down``.

    Args:
        op: The operation.
        table: Its table, just before the operation.
        sink: Where problems go.
    """
    constraint = require_droppable(table, op.name, sink)
    covered = covered_columns(constraint, table) if constraint is not None else ()
    if len(covered) > 1:
        sink.report(codes.MULTICOLUMN_CONSTRAINT, op.name.span,
                    f'constraint "{op.name.name}" on table "{table.name}" applies to '
                    f"{_listed(covered)}",
                    "use drop_multicolumn_constraint with a `down` for each column")
    if op.down is None:
        sink.report(codes.COLUMN_MIGRATION_MISSING, op.name.span,
                    f'dropping constraint "{op.name.name}" needs `down`',
                    "`down` makes values written through the new version satisfy the constraint"
                    " the old version still enforces")
    columns = [c.name for c in table.columns]
    for role, expr in (("up", op.up), ("down", op.down)):
        check_columns(expr, columns, table.name, role, sink)


def check_drop_multicolumn(op: ir.DropMulticolumnConstraint, table: Table,
                           sink: Diagnostics, kept: set[str] | None = None) -> None:
    """drop_multicolumn_constraint: ``down`` covers exactly the constraint's columns.

    Args:
        op: The operation.
        table: Its table, just before the operation.
        sink: Where problems go.
        kept: Columns the drop does not copy (a partitioned table's key columns): no entry.
    """
    constraint = require_droppable(table, op.name, sink)
    if constraint is None:
        return
    covered = covered_columns(constraint, table)
    given = {e.column.name for e in op.down}
    missing = [c for c in covered if c not in given and c not in (kept or ())]
    if missing:
        sink.report(codes.COLUMN_MIGRATION_MISSING, op.name.span,
                    f'`down` of constraint "{op.name.name}" has no entry for {_listed(missing)}',
                    "give `down` one entry per column the constraint covers")
    _column_maps(op.up, op.down, covered, table, sink)


def check_rename_constraint(op: ir.RenameConstraint, table: Table, catalog: Catalog,
                            sink: Diagnostics) -> None:
    """rename_constraint: ``from`` exists (any kind), ``to`` is free.

    Args:
        op: The operation.
        table: Its table, just before the operation.
        catalog: The schema just before the operation.
        sink: Where problems go.
    """
    constraint: Constraint | None = require_constraint(table, op.from_, sink)
    kind = constraint.type if constraint is not None else ir.ConstraintType.CHECK
    require_no_constraint(catalog, table, op.to, kind, sink)
