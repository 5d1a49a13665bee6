"""Plans that do less work than pgroll's where PostgreSQL allows, keeping what clients see.

Each optimization is announced in the plan (``optimized: …``) and switched off with
``PlanOptions(optimize=False)`` (``--no-optimize``).

* A type change PostgreSQL makes without rewriting the table (``varchar(n)`` to a wider
  ``varchar`` or to ``text``, ``numeric(p,s)`` to a wider precision with the same scale or to
  plain ``numeric``) whose up/down only copy the column: no copy, no backfill; the type
  changes at complete under a brief catalog-only lock.
* A comment-only change: no copy, the comment changes at complete.
"""

from __future__ import annotations

import re
from dataclasses import replace

from pgroll_dsl import ir
from pgroll_dsl.catalog.apply import apply_operation
from pgroll_dsl.catalog.model import Catalog, Table
from pgroll_dsl.plan import dependents, grants
from pgroll_dsl.plan.attributes import collation_sql
from pgroll_dsl.plan.context import Context, comment_step
from pgroll_dsl.plan.model import Lock, Phase, Step
from pgroll_dsl.plan.views import view_statements
from pgroll_dsl.sql.ddl import qualified
from pgroll_dsl.sql.quoting import dollar_quote, quote_ident, quote_literal, render_type
from pgroll_dsl.sql.type_names import canonical_type

_VARCHAR = re.compile(r"character varying(?:\((\d+)\))?\Z")
_NUMERIC = re.compile(r"numeric(?:\((\d+)(?:,(\d+))?\))?\Z")


def binary_coercible(old: str, new: str) -> bool:
    """Whether ``ALTER COLUMN TYPE`` from ``old`` to ``new`` needs no table rewrite or scan."""
    if old == new:
        return True
    varchar = _VARCHAR.match(old)
    if varchar:
        if new == "text":
            return True
        wider = _VARCHAR.match(new)
        if wider:
            return wider.group(1) is None or (
                varchar.group(1) is not None and int(wider.group(1)) >= int(varchar.group(1))
            )
    numeric, wider_numeric = _NUMERIC.match(old), _NUMERIC.match(new)
    if numeric and wider_numeric and numeric.group(1) is not None:
        if wider_numeric.group(1) is None:
            return True
        same_scale = (numeric.group(2) or "0") == (wider_numeric.group(2) or "0")
        return same_scale and int(wider_numeric.group(1)) >= int(numeric.group(1))
    return False


def can_alter_in_place(table: Table, op: ir.AlterColumn) -> bool:
    """Whether ``op`` needs no copy of the column: only a comment, or a no-rewrite type change."""
    column = table.column(op.column.name)
    if column is None or op.up is not None or op.down is not None:
        return False
    others = (op.nullable, op.unique, op.check, op.references, op.default)
    if any(v is not None for v in others):
        return False
    if op.type is not None and not binary_coercible(column.type, canonical_type(op.type)):
        return False
    return op.type is not None or op.comment is not None


def catalog_after(before: Catalog, op: ir.Operation, optimize: bool) -> Catalog:
    """``apply_operation``, plus what raw SQL does; in-place alters keep their names."""
    after = apply_operation(before, op)
    if isinstance(op, ir.Sql) and not op.on_complete:
        from pgroll_dsl.catalog.sql_ddl import apply_sql

        return apply_sql(after, op.up.text)[0]  # the new version's views show its tables
    if not (optimize and isinstance(op, ir.AlterColumn)):
        return after
    table = before.table(op.table.name)
    if table is None or not can_alter_in_place(table, op):
        return after
    # The column keeps its name, on the table and on every partition below it (at every
    # depth: ``apply_operation`` gave each the copy's name, and complete would ask for it).
    pending = [after.table(op.table.name)]
    while pending:
        changed = pending.pop()
        assert changed is not None
        pending.extend(after.partitions(changed.name))
        after = after.with_table(replace(changed, columns=tuple(
            replace(c, physical=c.name) if c.name == op.column.name else c
            for c in changed.columns)))
    return after


def plan_alter_in_place(ctx: Context, table: Table, op: ir.AlterColumn) -> None:
    """The type and comment change at complete; nothing happens at start."""
    column = table.column(op.column.name)
    assert column is not None
    ref = ctx.table_ref(table)
    if op.type is not None:
        # The new version's view depends on the column: swap it in one transaction, so that
        # clients never see the view missing.
        final = ctx.final.table(table.name) or table
        # The column keeps its collation, as a copy does (``attributes``): PostgreSQL's
        # ALTER COLUMN ... TYPE would give it the new type's default.
        alter = (f"EXECUTE {quote_literal(f'ALTER TABLE {ref} ALTER COLUMN ')} || "
                 f"{quote_literal(quote_ident(column.physical) + ' TYPE ' + render_type(op.type))}"
                 f" || {collation_sql(ref, column.physical)}")
        view = qualified(ctx.version_schema, final.name)
        declare, before, after = dependents.around_type_change(ref, [column.physical])
        ctx.carried.setdefault(ref, []).append(column.physical)  # their views locked first
        body = "\n".join([
            "DECLARE", *declare, "BEGIN", *before,
            f"  DROP VIEW IF EXISTS {view};", f"  {alter};",
            *(f"  {sql};" for sql in view_statements(ctx, ctx.version_schema, final)),
            *after, "END", "",
        ])
        # The view goes first of all, before the table is locked: a client reading the view
        # holds it while it waits for the table, and would otherwise wait for us in turn.
        ctx.view_drops.append(Step(
            sql=f"DROP VIEW IF EXISTS {view}", lock=Lock.NONE, origin=ctx.origin,
            summary=f"drop the view {final.name} of {ctx.version_schema} (made again below, "
            "in this transaction)"))
        # First in complete: the view names the columns as start left them, before any of
        # this migration's renames.
        ctx.early_complete.append(Step(
            sql="DO " + dollar_quote("\n" + body),
            summary=f"change the type of {column.name} (no rewrite) under its view, and under "
            "the views, rules, policies and triggers that use it",
            tables=(table.physical,), origin=ctx.origin))
        ctx.early_complete.extend(grants.grants_step(ctx, (final,)))  # the view is new
        ctx.notes.append(f"optimized: alter_column {table.name}.{column.name}: "
                         f"{column.type} -> {canonical_type(op.type)} needs no rewrite, so no "
                         "copy and no backfill (new-version clients see the old type until "
                         "complete)")
    if op.comment is not None:
        comment_step(ctx, Phase.COMPLETE, table, column.physical, op.comment.value)
        if op.type is None:
            ctx.notes.append(f"optimized: alter_column {table.name}.{column.name}: a comment "
                             "change needs no copy")
