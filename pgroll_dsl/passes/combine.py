"""Operations of one migration that concern one column or object are combined before planning.

Before::

    alter table t alter c type bigint up `c::bigint`;
    alter table t alter c set not null up `coalesce(c, 0)`;
    alter table t add tmp int;
    alter table t drop tmp;

After::

    alter table t alter c type bigint set not null up `coalesce((c::bigint), 0)`;

* ``fold_alters``: consecutive alter_column operations on one column become one (one copy,
  one backfill); ``up`` expressions compose (the later one reads the earlier one's result),
  ``down`` expressions compose the other way round.
* ``cancel_ops``: an operation undone later in the same migration is dropped together with
  its undoing (add then drop a column or index or table, a rename and its reverse).

These are not optional optimizations: planned apart, the second alter of a column would copy
the first one's copy, and a drop would race the add it undoes. So they run whatever
``--optimize`` says, and ``validate_ops`` rejects (PGD320) what they cannot combine. Each
rewrite is a note of the plan (``merged: …``, ``left out: …``); merged operations keep the
span of the first one.
"""

from __future__ import annotations

from dataclasses import replace

from pgroll_dsl import ir
from pgroll_dsl.sql.expressions import rename_columns
from pgroll_dsl.sql.quoting import quote_ident

_PLACEHOLDER = "_pgroll_compose_"


def combine(migration: ir.Migration) -> tuple[ir.Migration, list[str]]:
    """Cancel undone pairs, then merge alters; return the migration and what was done."""
    notes: list[str] = []
    migration = cancel_ops(migration, notes)
    migration = fold_alters(migration, notes)
    return migration, notes


def _compose(outer: ir.SqlExpr | None, inner: ir.SqlExpr | None, column: str
             ) -> ir.SqlExpr | None:
    """``outer`` reading ``inner``'s result where it names ``column`` (None = the column)."""
    if outer is None:
        return inner
    if inner is None:
        return outer
    marker = _PLACEHOLDER + column
    spliced = rename_columns(outer.text, {column: marker})
    text = spliced.replace(quote_ident(marker), f"({inner.text})")
    return ir.SqlExpr(text, span=outer.span)


def _merge(first: ir.AlterColumn, second: ir.AlterColumn) -> ir.AlterColumn | None:
    """One alter_column doing both, or None when they cannot be merged safely."""
    for name in ("unique", "check", "references", "nullable"):
        if getattr(first, name) is not None and getattr(second, name) is not None:
            return None
    column = first.column.name
    return replace(
        first,
        type=second.type or first.type,
        nullable=second.nullable if second.nullable is not None else first.nullable,
        unique=second.unique or first.unique,
        check=second.check or first.check,
        references=second.references or first.references,
        default=second.default if second.default is not None else first.default,
        comment=second.comment if second.comment is not None else first.comment,
        up=_compose(second.up, first.up, column),
        down=_compose(first.down, second.down, column),
    )


def fold_alters(migration: ir.Migration, notes: list[str]) -> ir.Migration:
    """Merge consecutive alter_column operations on the same column."""
    result: list[ir.Operation] = []
    for op in migration.operations:
        previous = result[-1] if result else None
        if (isinstance(op, ir.AlterColumn) and isinstance(previous, ir.AlterColumn)
                and previous.table == op.table and previous.column == op.column):
            merged = _merge(previous, op)
            if merged is not None:
                result[-1] = merged
                notes.append(f"merged: alter_column {op.table.name}.{op.column.name} at "
                             f"{op.span} merged into the one at {previous.span}: one copy, "
                             "one backfill")
                continue
        result.append(op)
    return replace(migration, operations=tuple(result))


def _undoes(op: ir.Operation, later: ir.Operation) -> bool:
    match op, later:
        case ir.AddColumn(), ir.DropColumn():
            return op.table == later.table and op.column.name == later.column
        case ir.CreateIndex(), ir.DropIndex():
            return op.name == later.name
        case ir.CreateTable(), ir.DropTable():
            return op.name == later.name
        case ir.RenameTable(), ir.RenameTable():
            return op.from_ == later.to and op.to == later.from_
        case ir.RenameColumn(), ir.RenameColumn():
            return op.table == later.table and op.from_ == later.to and op.to == later.from_
    return False


def _touches(op: ir.Operation, first: ir.Operation) -> bool:
    """Whether ``op`` (between an operation and its undoing) may depend on ``first``."""
    names = {getattr(first, "table", None), getattr(first, "name", None),
             getattr(first, "to", None)}
    names.discard(None)
    mentioned = {getattr(op, a, None) for a in ("table", "name", "from_", "to")}
    return bool(names & mentioned) or isinstance(op, ir.Sql)


def cancel_ops(migration: ir.Migration, notes: list[str]) -> ir.Migration:
    """Drop pairs of operations that undo each other with nothing in between using them."""
    ops = list(migration.operations)
    i = 0
    while i < len(ops):
        for j in range(i + 1, len(ops)):
            if _undoes(ops[i], ops[j]):
                if not any(_touches(ops[k], ops[i]) for k in range(i + 1, j)):
                    notes.append(f"left out: {ops[i].kind} at {ops[i].span} is undone by "
                                 f"{ops[j].kind} at {ops[j].span}: both left out")
                    del ops[j], ops[i]
                    i -= 1
                break
        i += 1
    return replace(migration, operations=tuple(ops))
