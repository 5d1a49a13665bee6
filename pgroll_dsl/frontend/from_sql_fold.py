"""Statements about what this migration creates, folded into the operation that creates it.

ORMs create a table and then alter it (Django adds foreign keys with ``ALTER TABLE … ADD
CONSTRAINT`` after ``CREATE TABLE``, and adds a column with a default only to drop the
default at once). pgroll cannot alter a table or column before its creation has completed,
and has no need to: the change is said in the ``create_table`` or ``add_column`` itself.
Several changes to one column in a row become one ``alter_column``, as pgroll applies them
together.

A fold is only done while nothing else has touched the table since it was created (any other
operation on it, or raw SQL anywhere, ends it), so the result means what the statements did.
"""

from __future__ import annotations

from dataclasses import fields, replace
from typing import Any

from pgroll_dsl import ir
from pgroll_dsl.diagnostics import Diagnostic, codes
from pgroll_dsl.frontend.from_sql_state import PLACEHOLDER, Context


def forget(ctx: Context, table: str, columns: tuple[str, ...] | None = None) -> None:
    """An operation that is no fold touched ``table`` (and these of its columns, all if None).

    The table's ``create_table`` takes no more folds; nor do the ``add_column`` operations of
    the columns touched (a later change to another added column still folds into its own).
    """
    ctx.created.pop(table, None)
    for key in [k for k in ctx.added if k[0] == table and (columns is None or k[1] in columns)]:
        del ctx.added[key]


def forget_all(ctx: Context) -> None:
    """Raw SQL ran: it may have changed anything."""
    ctx.created.clear()
    ctx.added.clear()


def fold_into_created(ctx: Context, table: str, *, column: ir.Column | None = None,
                      constraints: list[ir.Constraint] | None = None,
                      alter: tuple[str, dict[str, Any]] | None = None,
                      comment: str | None = None, table_comment: bool = False) -> bool:
    """Say the change in the ``create_table`` of ``table``, if this migration has one."""
    index = ctx.created.get(table)
    if index is None:
        return False
    op = ctx.operations[index]
    assert isinstance(op, ir.CreateTable)
    columns = list(op.columns)
    if column is not None:
        columns.append(column)
    if alter is not None:
        name, changes = alter
        position = next((n for n, c in enumerate(columns) if c.name.name == name), None)
        if position is None or (changes.get("nullable") and columns[position].pk):
            return False
        columns[position] = replace(columns[position], **changes)
    new_comment = comment if table_comment else op.comment
    ctx.operations[index] = replace(op, columns=tuple(columns),
                                    constraints=(*op.constraints, *(constraints or ())),
                                    comment=new_comment)
    return True


def fold_into_added(ctx: Context, table: str, name: str, changes: dict[str, Any],
                    up: ir.SqlExpr | None = None) -> bool:
    """Say the change in the ``add_column`` of ``table.name``, if this migration has one.

    Dropping (or replacing) the default of a column just added leaves its existing rows with
    the old default: that becomes ``up`` (Django's ``ADD COLUMN … DEFAULT 5 NOT NULL`` then
    ``DROP DEFAULT``). ``up`` given: what an UPDATE wrote into every existing row (it takes
    the place of pgroll's placeholder, never of another ``up``). A type change is folded
    only while nothing has filled the column.
    """
    index = ctx.added.get((table, name))
    if index is None:
        return False
    op = ctx.operations[index]
    assert isinstance(op, ir.AddColumn)
    column, current = op.column, op.up
    unset = current is None or current.text == PLACEHOLDER
    if up is not None:
        if not unset:
            return False
        if current is not None:  # the placeholder, and its warning, are no longer needed
            _drop_placeholder_warning(ctx, f"add_column {table}.{name}:")
        current = up
    if "type" in changes and (not unset or up is not None or column.default is not None):
        return False
    if "default" in changes and column.default is not None and unset:
        current = column.default  # a volatile default is ``up`` already (implied_up)
    for key in ("check", "references", "unique"):
        if key in changes and getattr(column, key):
            return False
    ctx.operations[index] = replace(op, column=replace(column, **changes), up=current)
    return True


def _drop_placeholder_warning(ctx: Context, where: str) -> None:
    def stale(found: Diagnostic) -> bool:
        return found.code is codes.DATA_MIGRATION_NEEDED and found.message.startswith(where)

    ctx.diagnostics = [d for d in ctx.diagnostics if not stale(d)]
    ctx.pending = [d for d in ctx.pending if not stale(d)]


def append_alter(ctx: Context, op: ir.AlterColumn) -> None:
    """Append an alter_column, merged into the one before it when that changes the same column."""
    key = (op.table.name, op.column.name)
    forget(ctx, op.table.name, (op.column.name,))
    previous = ctx.operations[-1] if ctx.operations else None
    if isinstance(previous, ir.AlterColumn) and (previous.table.name,
                                                 previous.column.name) == key:
        merged = _merged(previous, op)
        if merged is not None:
            merged = _without_net_default(ctx, key, merged)
            if _changes_nothing(merged):
                ctx.operations.pop()
            else:
                ctx.operations[-1] = merged
            return
    column = ctx.before.table(op.table.name)
    found = column.column(op.column.name) if column is not None else None
    ctx.origins[key] = (found is not None, found.default if found is not None else None)
    ctx.operations.append(op)


_ONCE = ("type", "nullable", "unique", "check", "references")
_LAST_WINS = ("default", "comment")


def _merged(a: ir.AlterColumn, b: ir.AlterColumn) -> ir.AlterColumn | None:
    """One alter_column doing what ``a`` then ``b`` do, or None when it cannot be said."""
    if any(getattr(a, f) is not None and getattr(b, f) is not None for f in _ONCE):
        return None
    if any(getattr(a, f) is not None and getattr(b, f) is not None
           and getattr(a, f) != getattr(b, f) for f in ("up", "down")):
        return None
    changes: dict[str, Any] = {
        f.name: getattr(b, f.name) if getattr(b, f.name) is not None else getattr(a, f.name)
        for f in fields(a) if f.name in (*_ONCE, *_LAST_WINS, "up", "down")}
    if a.span is not None and b.span is not None:  # from the first statement to the last
        changes["span"] = replace(a.span, end_line=b.span.end_line, end_col=b.span.end_col)
    return replace(a, **changes)


def _without_net_default(ctx: Context, key: tuple[str, str],
                         op: ir.AlterColumn) -> ir.AlterColumn:
    """A default set and dropped again (Django, around an UPDATE) is no change at all."""
    known, original = ctx.origins.get(key, (False, None))
    if op.default is None or not known:
        return op
    value = op.default.value
    if (value is None and original is None) or (value is not None and original is not None
                                                and value.text == original):
        return replace(op, default=None)
    return op


def _changes_nothing(op: ir.AlterColumn) -> bool:
    return all(getattr(op, f) is None for f in (*_ONCE, *_LAST_WINS))
