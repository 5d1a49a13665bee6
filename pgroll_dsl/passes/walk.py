"""Exhaustive walks over operations: the names an operation creates, the SQL it embeds.

Written with ``match`` and ``assert_never`` so that a new operation kind fails type checking
here until every pass that relies on these walks knows about it.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import assert_never

from pgroll_dsl import ir
from pgroll_dsl.sql.expressions import Context

SqlItem = tuple[str, ir.SqlExpr | ir.SqlScript, Context]


def names(op: ir.Operation) -> Iterator[ir.Ident]:
    """Every identifier an operation mentions (each must be a valid PostgreSQL name)."""
    match op:
        case ir.CreateTable():
            yield op.name
            for column in op.columns:
                yield from _column_names(column)
            for constraint in op.constraints:
                yield constraint.name
                yield from constraint.columns
                if constraint.references is not None:
                    yield from _table_reference_names(constraint.references)
                if constraint.index_parameters is not None:
                    yield from _index_parameter_names(constraint.index_parameters)
        case ir.RenameTable() | ir.RenameColumn() | ir.RenameConstraint():
            yield from (op.from_, op.to)
            if not isinstance(op, ir.RenameTable):
                yield op.table
        case ir.DropTable() | ir.DropIndex():
            yield op.name
        case ir.AddColumn():
            yield op.table
            yield from _column_names(op.column)
        case ir.DropColumn():
            yield from (op.table, op.column)
        case ir.AlterColumn():
            yield from (op.table, op.column)
            if op.unique is not None:
                yield op.unique.name
            if op.check is not None:
                yield op.check.name
            if op.references is not None:
                yield from (op.references.name, op.references.table, op.references.column)
        case ir.CreateIndex():
            yield from (op.name, op.table)
            for field in op.columns:
                yield field.column
                if field.opclass is not None:
                    yield field.opclass.name
        case ir.CreateConstraint():
            yield from (op.table, op.name, *op.columns)
            if op.references is not None:
                yield from _table_reference_names(op.references)
            if op.index_parameters is not None:
                yield from _index_parameter_names(op.index_parameters)
            yield from (entry.column for entry in (*op.up, *op.down))
        case ir.DropConstraint():
            yield from (op.table, op.name)
        case ir.DropMulticolumnConstraint():
            yield from (op.table, op.name)
            yield from (entry.column for entry in (*op.up, *op.down))
        case ir.SetReplicaIdentity():
            yield op.table
            if op.identity.index is not None:
                yield op.identity.index
        case ir.Sql():
            pass
        case _:
            assert_never(op)


def _column_names(column: ir.Column) -> Iterator[ir.Ident]:
    yield column.name
    if column.check is not None:
        yield column.check.name
    if column.references is not None:
        yield from (column.references.name, column.references.table, column.references.column)


def _table_reference_names(ref: ir.TableForeignKeyReference) -> Iterator[ir.Ident]:
    yield from (ref.table, *ref.columns, *ref.on_delete_set_columns)


def _index_parameter_names(params: ir.IndexParameters) -> Iterator[ir.Ident]:
    if params.tablespace is not None:
        yield params.tablespace
    yield from params.include_columns


def sql_items(op: ir.Operation) -> Iterator[SqlItem]:
    """Every piece of author SQL in an operation, with the place it will be spliced into."""
    expr = Context.EXPRESSION
    match op:
        case ir.CreateTable():
            for column in op.columns:
                yield from _column_sql(column)
            for c in op.constraints:
                if c.check is not None:
                    yield ("check", c.check, expr)
                if c.exclude is not None:
                    if c.exclude.elements is not None:
                        yield ("exclude", c.exclude.elements, Context.EXCLUDE_ELEMENTS)
                    if c.exclude.predicate is not None:
                        yield ("predicate", c.exclude.predicate, expr)
                if c.index_parameters is not None:
                    yield from _storage(c.index_parameters)
        case ir.AddColumn():
            yield from _column_sql(op.column)
            if op.up is not None:
                yield ("up", op.up, expr)
        case ir.DropColumn():
            if op.down is not None:
                yield ("down", op.down, expr)
        case ir.AlterColumn():
            if op.check is not None:
                yield ("check", op.check.constraint, expr)
            if op.default is not None and op.default.value is not None:
                yield ("default", op.default.value, expr)
            for key, value in (("up", op.up), ("down", op.down)):
                if value is not None:
                    yield (key, value, expr)
        case ir.CreateIndex():
            if op.predicate is not None:
                yield ("predicate", op.predicate, expr)
            if op.storage_parameters is not None:
                yield ("storage_parameters", op.storage_parameters, Context.STORAGE_PARAMETERS)
        case ir.CreateConstraint():
            if op.check is not None:
                yield ("check", op.check, expr)
            if op.index_parameters is not None:
                yield from _storage(op.index_parameters)
            yield from _column_sql_entries(op.up, op.down)
        case ir.DropConstraint():
            for key, value in (("up", op.up), ("down", op.down)):
                if value is not None:
                    yield (key, value, expr)
        case ir.DropMulticolumnConstraint():
            yield from _column_sql_entries(op.up, op.down)
        case ir.Sql():
            yield ("up", op.up, Context.SCRIPT)
            if op.down is not None:
                yield ("down", op.down, Context.SCRIPT)
        case (ir.RenameTable() | ir.DropTable() | ir.RenameColumn() | ir.DropIndex()
              | ir.RenameConstraint() | ir.SetReplicaIdentity()):
            pass
        case _:
            assert_never(op)


def _column_sql(column: ir.Column) -> Iterator[SqlItem]:
    expr = Context.EXPRESSION
    if column.default is not None:
        yield ("default", column.default, expr)
    if column.check is not None:
        yield ("check", column.check.constraint, expr)
    if column.generated is not None and column.generated.expression is not None:
        yield ("generated", column.generated.expression, expr)
    identity = column.generated.identity if column.generated is not None else None
    if identity is not None and identity.sequence_options is not None:
        yield ("sequence options", identity.sequence_options, Context.SEQUENCE_OPTIONS)


def _storage(params: ir.IndexParameters) -> Iterator[SqlItem]:
    if params.storage_parameters is not None:
        yield ("storage_parameters", params.storage_parameters, Context.STORAGE_PARAMETERS)


def _column_sql_entries(up: tuple[ir.ColumnSql, ...], down: tuple[ir.ColumnSql, ...]
                        ) -> Iterator[SqlItem]:
    for key, entries in (("up", up), ("down", down)):
        for entry in entries:
            yield (f"{key}.{entry.column.name}", entry.sql, Context.EXPRESSION)
