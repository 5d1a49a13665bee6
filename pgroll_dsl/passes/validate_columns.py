"""Columns for ``validate_ops``: definitions, and the operations that change one column.

Each expression is checked against the row it is evaluated on: ``up`` of add_column sees
the table *before* the new column exists; ``up`` and ``down`` of alter_column see the same
names, ``down`` reading the new value; a check on a new column also sees that column.

Before:  ``alter table t add c int not null;``  (t has rows; c has no default)
After:   PGD301 at ``c``: existing rows would get NULL, so pgroll requires ``up``.
"""

from __future__ import annotations

from dataclasses import replace

from pgroll_dsl import ir
from pgroll_dsl.catalog.model import Catalog, Column, Table
from pgroll_dsl.diagnostics import Diagnostics, codes
from pgroll_dsl.passes.validate_constraints import check_target
from pgroll_dsl.passes.validate_exprs import check_columns, check_default
from pgroll_dsl.passes.validate_names import (
    require_column,
    require_no_column,
    require_no_constraint,
)
from pgroll_dsl.passes.validate_types import check_type
from pgroll_dsl.sql.expressions import column_references, is_volatile
from pgroll_dsl.sql.type_names import is_serial

_DOWN_NOTE = " (in `down` a column name means the column's new value)"


def check_definition(column: ir.Column, table: Table, catalog: Catalog,
                     sink: Diagnostics) -> None:
    """One column definition: its type, default, check, generated expression and key.

    Args:
        column: The definition.
        table: The table as the column's check sees it (the new column included).
        catalog: The schema just before the operation.
        sink: Where problems go.
    """
    check_type(column.type, catalog, sink)
    name = column.name.name
    check_default(column.default, f'default of column "{name}"', sink)
    names = [c.name for c in table.columns]
    if column.check is not None:
        check_columns(column.check.constraint, names, table.name,
                      f'check "{column.check.name.name}"', sink)
    if column.generated is not None:
        check_columns(column.generated.expression, names, table.name,
                      f'generated column "{name}"', sink)
    if column.references is not None:
        ref = column.references
        check_target(catalog, ref.table, (ref.column,), sink, new_table=table)


def check_new_columns(op: ir.CreateTable, table: Table, catalog: Catalog,
                      sink: Diagnostics) -> None:
    """create_table: each column once, each definition valid against the new table.

    Args:
        op: The operation.
        table: The table it creates, as the catalog would hold it.
        catalog: The schema just before the operation.
        sink: Where problems go.
    """
    seen: set[str] = set()
    for column in op.columns:
        if column.name.name in seen:
            sink.report(codes.DUPLICATE_COLUMN, column.name.span,
                        f'column "{column.name.name}" is listed twice in table "{table.name}"')
        seen.add(column.name.name)
        check_definition(column, table, catalog, sink)


def check_add_column(op: ir.AddColumn, table: Table, catalog: Catalog,
                     sink: Diagnostics) -> None:
    """add_column: a new name, no key or generated column, and an ``up`` where needed.

    Args:
        op: The operation.
        table: Its table, just before the operation.
        catalog: The schema just before the operation.
        sink: Where problems go.
    """
    column = op.column
    require_no_column(table, column.name, sink)
    if column.pk:
        sink.report(codes.ADD_PRIMARY_KEY_COLUMN, column.name.span,
                    "adding primary key columns is not supported",
                    "add the column, then `add constraint … primary key (…)`")
    if column.generated is not None:
        sink.report(codes.ADD_GENERATED_COLUMN, column.generated.span or column.name.span,
                    "adding generated columns to existing tables is not supported")
    _needs_up(op, sink)
    check_columns(op.up, [c.name for c in table.columns], table.name, "up", sink,
                  " (up sees the table before the column is added)")
    for name in _constraint_names(column):
        require_no_constraint(catalog, table, name, ir.ConstraintType.CHECK, sink)
    placeholder = Column(name=column.name.name, type="")
    check_definition(column, replace(table, columns=(*table.columns, placeholder)), catalog,
                     sink)


def _needs_up(op: ir.AddColumn, sink: Diagnostics) -> None:
    column = op.column
    exempt = column.nullable or is_serial(column.type) or column.generated is not None
    if op.up is None and column.default is None and not exempt and not column.pk:
        sink.report(codes.NOT_NULL_NEEDS_UP, column.name.span,
                    f'NOT NULL column "{column.name.name}" has no default and no `up`',
                    "add `up` (the value for existing rows) or a default")
    default = column.default
    if default is not None and is_volatile(default.text):
        if op.up is None or op.up.text.strip() != default.text.strip():
            sink.report(codes.VOLATILE_DEFAULT_NEEDS_UP, default.span,
                        f'volatile default expression for column "{column.name.name}"; '
                        '"up" must be equal to "default"',
                        f"add `up` with the same text as the default: {default.text}")


def _constraint_names(column: ir.Column) -> list[ir.Ident]:
    names = [column.check.name] if column.check is not None else []
    return names + ([column.references.name] if column.references is not None else [])


def check_alter_column(op: ir.AlterColumn, table: Table, catalog: Catalog,
                       sink: Diagnostics) -> None:
    """alter_column: the column exists, something changes, and each change applies.

    Args:
        op: The operation.
        table: Its table, just before the operation.
        catalog: The schema just before the operation.
        sink: Where problems go.
    """
    column = require_column(table, op.column, sink)
    if column is None:
        return
    changes = (op.type, op.nullable, op.unique, op.check, op.references, op.default, op.comment)
    if all(change is None for change in changes):
        sink.report(codes.ALTER_COLUMN_NO_CHANGE, op.column.span,
                    f'alter column "{column.name}" on table "{table.name}" requires at least '
                    "one change", "`up` and `down` alone change nothing")
    _nullability(op, column, table, sink)
    if rewrites_column(op):
        _read_by_generated(column, table, op.column, "rewritten", sink)
    if op.type is not None:
        check_type(op.type, catalog, sink)
    if op.default is not None:
        check_default(op.default.value, f'default of column "{column.name}"', sink)
    _added_constraints(op, table, catalog, sink)
    names = [c.name for c in table.columns]
    check_columns(op.up, names, table.name, "up", sink)
    check_columns(op.down, names, table.name, "down", sink, _DOWN_NOTE)


def rewrites_column(op: ir.AlterColumn) -> bool:
    """Whether an alter_column copies the column (all but a comment-only change do)."""
    return any(x is not None for x in (op.type, op.nullable, op.default, op.check,
                                       op.references, op.unique))


def _nullability(op: ir.AlterColumn, column: Column, table: Table, sink: Diagnostics) -> None:
    where = f'column "{column.name}" on table "{table.name}"'
    if op.nullable is False and not column.nullable:
        sink.report(codes.COLUMN_ALREADY_NOT_NULL, op.column.span, f"{where} is NOT NULL",
                    "remove `set not null`")
    elif op.nullable is True and column.nullable:
        sink.report(codes.COLUMN_ALREADY_NULLABLE, op.column.span, f"{where} is nullable",
                    "remove `drop not null`")


def _added_constraints(op: ir.AlterColumn, table: Table, catalog: Catalog,
                       sink: Diagnostics) -> None:
    if op.unique is not None:
        require_no_constraint(catalog, table, op.unique.name, ir.ConstraintType.UNIQUE, sink)
    if op.check is not None:
        require_no_constraint(catalog, table, op.check.name, ir.ConstraintType.CHECK, sink)
        check_columns(op.check.constraint, [c.name for c in table.columns], table.name,
                      f'check "{op.check.name.name}"', sink)
    if op.references is not None:
        ref = op.references
        require_no_constraint(catalog, table, ref.name, ir.ConstraintType.FOREIGN_KEY, sink)
        check_target(catalog, ref.table, (ref.column,), sink)


def check_drop_column(op: ir.DropColumn, table: Table, sink: Diagnostics) -> None:
    """drop_column: the column exists; ``down`` names columns of the table.

    Args:
        op: The operation.
        table: Its table, just before the operation.
        sink: Where problems go.
    """
    column = require_column(table, op.column, sink)
    if column is not None:
        _read_by_generated(column, table, op.column, "dropped", sink)
    check_columns(op.down, [c.name for c in table.columns], table.name, "down", sink)


def _read_by_generated(column: Column, table: Table, name: ir.Ident, action: str,
                       sink: Diagnostics) -> None:
    """PGD324: a stored generated column reads ``column``.

    The copy made at start takes the column's place at complete, which drops the old one:
    PostgreSQL refuses while a generated column depends on it (and refuses a type change of
    it outright), so ``complete`` would fail after every row was copied.
    """
    readers = [c.name for c in table.columns if c.generated is not None
               and {r.name for r in column_references(c.generated)} & {column.physical,
                                                                        column.name}]
    if readers:
        listed = ", ".join(f'"{r}"' for r in readers)
        which = f"columns {listed} read" if len(readers) > 1 else f"column {listed} reads"
        sink.report(codes.GENERATED_COLUMN_READS, name.span,
                    f'column "{column.name}" of table "{table.name}" cannot be {action}: '
                    f"the stored generated {which} it",
                    "drop the generated column first (a `sql` migration), or make it a "
                    "plain column with `up`")


def check_rename_column(op: ir.RenameColumn, table: Table, sink: Diagnostics) -> None:
    """rename_column: ``from`` exists and ``to`` is free.

    Args:
        op: The operation.
        table: Its table, just before the operation.
        sink: Where problems go.
    """
    require_column(table, op.from_, sink)
    require_no_column(table, op.to, sink)
