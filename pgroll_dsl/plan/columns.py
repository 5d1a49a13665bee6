"""Operations that rewrite columns: duplicate, keep in sync, backfill, then swap at complete.

alter_column, create_constraint, drop_constraint and drop_multicolumn_constraint all copy the
affected columns to ``_pgroll_new_<c>`` (with the new type, nullability, default and
constraints), keep old and new copies in sync with one trigger per column, backfill, and at
complete drop the old column and give the new one its name. Constraints and indexes of the
old column are rebuilt on the copy in lock-friendly form (``copies.py``) and take their names
back at complete; a NOT NULL is carried as a NOT VALID check and becomes a real NOT NULL
without a scan (``context.not_null_via_check``); the backfill is ``backfill.py``'s.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from pgroll_dsl import ir
from pgroll_dsl.catalog.derived import (
    DUP_PREFIX,
    derived,
    down_trigger_name,
    late_trigger_name,
    new_name,
    trigger_name,
    written_trigger_name,
)
from pgroll_dsl.catalog.model import Constraint, Table
from pgroll_dsl.catalog.partitions import kept_key_columns
from pgroll_dsl.plan import attributes, backfill, copies, dependents, partitioned, safety
from pgroll_dsl.plan.context import (
    Context,
    at_start,
    atomically,
    comment_step,
    drop_functions_sql,
    not_null_via_check,
    references_sql,
    validate_step,
    version_schemas,
)
from pgroll_dsl.plan.copies import physical_name
from pgroll_dsl.plan.model import Cost, Lock, Phase, Step
from pgroll_dsl.plan.optimize import can_alter_in_place, plan_alter_in_place
from pgroll_dsl.plan.triggers import (
    Kind,
    Side,
    TriggerSpec,
    copies_read,
    enabled_always,
    generated_on_new,
    may_skip,
    trigger_function_sql,
    trigger_sql,
    written_function_sql,
    written_trigger_sql,
)
from pgroll_dsl.sql.ddl import deferrable, idents, qualified
from pgroll_dsl.sql.expressions import rename_columns
from pgroll_dsl.sql.quoting import quote_ident, render_type
from pgroll_dsl.sql.type_names import canonical_type


@dataclass(frozen=True, slots=True)
class Rewrite:
    """One column to rewrite and what changes about it (``None``: keep as it is)."""

    name: str
    up: str | None = None
    down: str | None = None
    type: ir.TypeName | None = None
    nullable: bool | None = None
    default: ir.Change[ir.SqlExpr] | None = None
    comment: ir.Change[str] | None = None


# ---- shared helpers --------------------------------------------------------------------

# Whose writes each of a column's sync triggers copies (``triggers.trigger_sql``).
_WRITERS = {Kind.FILL: "new-version updates of rows not backfilled yet: up",
            Kind.DOWN: "new-version writes: down", Kind.UP: "old-version and base-table writes: up"}


def install_trigger(ctx: Context, table: Table, column: str, up: Side | None,
                    down: Side | None, marker: bool) -> None:
    """Marker column (once per table), trigger function and trigger; dropped at the end.

    A column with ``up`` on a marked table also gets the trigger that records a new-version
    UPDATE naming its copy (``triggers.written_function_sql``), created first: the sync
    trigger never runs without it, so an explicit write is never replaced by ``up``.
    """
    order = len(ctx.syncs)
    if marker:
        backfill.add_marker(ctx, table)
    spec = TriggerSpec(
        name=trigger_name(order, table.physical, column),
        reverse=down_trigger_name(order, table.physical, column),
        late=late_trigger_name(order, table.physical, column), schema=ctx.schema,
        table=table.physical, version_schema=ctx.version_schema, up=up, down=down,
        marker=marker,
        written=written_trigger_name(order, table.physical, column)
        if marker and up is not None else None,
        generated=generated_on_new(table.columns),
        earlier=() if up is None else copies_read(up, [
            spec.up for spec in ctx.syncs if spec.table == table.physical and spec.up]),
        old_schemas=tuple(s for s in (ctx.schema, ctx.options.previous_version_schema) if s),
        shown=any(t.physical == table.physical for t in ctx.final.tables),
    )
    generated = frozenset(c.physical for c in table.columns if c.generated is not None)
    if not may_skip(spec, generated, ctx.before.routines):
        spec = replace(spec, skips=False)
    for kind in spec.kinds():
        function = spec.named(kind)
        ctx.sync_functions[function] = len(ctx.start)  # rewritten if it is the table's last
        ctx.step(Phase.START, trigger_function_sql(spec, kind),
                 f"trigger function {function} ({_WRITERS[kind]})", lock=Lock.NONE)
    made = [spec.named(kind) for kind in spec.kinds()]
    if spec.written is not None:
        written = spec.written
        ctx.step(Phase.START, written_function_sql(spec), f"trigger function {written}",
                 lock=Lock.NONE)
        ctx.step(Phase.START, written_trigger_sql(spec), f"trigger {written} on "
                 f"{table.physical} (a new-version UPDATE that sets {column})",
                 tables=(table.physical,), lock=Lock.SHARE_ROW_EXCLUSIVE)
        _always(ctx, table.physical, written)
        ctx.triggers.append((table.physical, written))
        made.insert(0, written)
    for kind in spec.kinds():
        trigger = spec.named(kind)
        ctx.sync_triggers[trigger] = len(ctx.start)  # rewritten if it is the table's last
        ctx.step(Phase.START, trigger_sql(spec, kind),
                 f"trigger {trigger} on {table.physical} ({_WRITERS[kind]})",
                 tables=(table.physical,), lock=Lock.SHARE_ROW_EXCLUSIVE)
        _always(ctx, table.physical, trigger)
        ctx.triggers.append((table.physical, trigger))
    ctx.syncs.append(spec)
    for made_name in made:
        drop = f"DROP FUNCTION IF EXISTS {qualified(ctx.schema, made_name)}() CASCADE"
        ctx.trigger_drops.append(made_name)  # complete drops it with what it keeps in sync
        ctx.step(Phase.ROLLBACK, drop, f"drop trigger {made_name}", tables=(table.physical,),
                 safe=(safety.DROP_FUNCTION,))


def _always(ctx: Context, table: str, trigger: str) -> None:
    """The trigger just made fires in every replication role, in its transaction.

    See ``triggers.enabled_always``.
    """
    ctx.step(Phase.START, enabled_always(ctx.schema, table, trigger),
             f"trigger {trigger} fires in every replication role", tables=(table,),
             lock=Lock.SHARE_ROW_EXCLUSIVE, joins_previous=True)


def _duplicate(ctx: Context, table: Table, rewrites: list[Rewrite], skip: str | None) -> None:
    """Start: copies, sync triggers and rebuilt constraints; complete: the swap."""
    ref = ctx.table_ref(table)
    after = ctx.after.table(table.name) or table
    names = {r.name: new_name(r.name) for r in rewrites}
    for rewrite in rewrites:
        column = table.column(rewrite.name)
        assert column is not None
        temp = names[rewrite.name]
        type_sql = render_type(rewrite.type) if rewrite.type is not None else column.type
        ctx.step(Phase.START, attributes.add_copy_sql(ref, column.physical, temp, type_sql),
                 f"add column {temp} (copy of {rewrite.name}, with its collation, privileges "
                 "and settings)", tables=(table.physical,), safe=safety.type_choices([type_sql]))
        default = column.default
        if rewrite.default is not None:
            default = rewrite.default.value.text if rewrite.default.value is not None else None
        if default is not None:
            ctx.step(Phase.START, f"ALTER TABLE {ref} ALTER COLUMN {quote_ident(temp)} SET "
                     f"DEFAULT ({default})", f"default of {temp}", tables=(table.physical,))
        comment = column.comment if rewrite.comment is None else rewrite.comment.value
        if comment is not None:
            comment_step(ctx, Phase.START, table, temp, comment)
    for rewrite in rewrites:  # every copy exists before any trigger names it
        column = table.column(rewrite.name)
        assert column is not None
        temp = names[rewrite.name]
        before_vars = tuple((c.name, c.physical) for c in table.columns)
        after_vars = tuple((c.name, c.physical) for c in after.columns)
        copy = quote_ident(rewrite.name)
        new_type = (canonical_type(rewrite.type, ctx.schema) if rewrite.type is not None
                    else column.type)  # as format_type spells it, like the catalog's
        install_trigger(
            ctx, table, rewrite.name,
            up=Side(temp, rewrite.up or copy, before_vars, new_type),
            down=Side(column.physical, rewrite.down or copy, after_vars, column.type),
            marker=True,
        )
    for rewrite in rewrites:
        column = table.column(rewrite.name)
        assert column is not None
        nullable = column.nullable if rewrite.nullable is None else rewrite.nullable
        if not nullable:
            not_null_via_check(ctx, table, names[rewrite.name], rewrite.name)
    copies.rebuild_constraints(ctx, table, names, skip)
    backfill.schedule(ctx, table)
    _repoint_referencing_keys(ctx, table, names)
    _swap(ctx, table, names)


@dataclass(frozen=True, slots=True)
class _Referencing:
    """A foreign key that points at a rewritten column, and how the steps name its table.

    ``source`` is the referencing table as SQL names it; ``tables`` the names its steps give
    it (``Step.tables``: the target schema's tables only, so none for another schema's,
    whose locks are then bounded by ``lock_timeout`` alone); ``key`` is the foreign key
    under its name in the database, its own columns by their physical names; ``elsewhere``
    the table of another schema as SQL names it (``Step.elsewhere``: its owner checked
    before start), else nothing.
    """

    source: str
    name: str
    tables: tuple[str, ...]
    key: Constraint
    elsewhere: tuple[str, ...] = ()


def _referencing(ctx: Context, table: Table, names: dict[str, str]) -> list[_Referencing]:
    """The foreign keys that point at a rewritten column of ``table``.

    Its schema's tables', then other schemas' (``Catalog.inbound``).
    """

    def hit(key: Constraint) -> bool:
        ref = key.references
        return (ref is not None and ref.points_at(table.name)
                and bool(set(ref.columns) & names.keys()))

    found = []
    for other in ctx.before.tables:
        for key in filter(hit, other.constraints):
            ref = key.references
            assert ref is not None
            own = replace(ref, on_delete_set_columns=tuple(
                physical_name(other, c) for c in ref.on_delete_set_columns))
            found.append(_Referencing(ctx.table_ref(other), other.name, (other.physical,), replace(
                key, name=at_start(ctx, other, key.name), references=own,
                columns=tuple(physical_name(other, c) for c in key.columns))))
    found.extend(_Referencing(qualified(k.schema, k.table), f"{k.schema}.{k.table}", (),
                              k.constraint, (qualified(k.schema, k.table),))
                 for k in ctx.before.inbound if hit(k.constraint))
    return found


def _repoint_referencing_keys(ctx: Context, table: Table, names: dict[str, str]) -> None:
    """Foreign keys of other tables that point at a rewritten column follow it (pgroll #375).

    After the backfill (so that every copy already holds its key) each such foreign key gets
    a twin, NOT VALID, pointing at the copy; new writes are checked against both. At
    complete the original goes (it pins the old column), the twin takes its name and is
    validated while reads and writes go on. A table of another schema is no different: its
    key pins the column all the same.
    """
    for other in _referencing(ctx, table, names):
        fk, ref = other.key, other.key.references
        assert ref is not None
        dup = derived(DUP_PREFIX, fk.name)
        target = references_sql(ctx, table.name, ref.columns, ref.on_delete,  # the copies
                                ref.on_update, ref.match_type, ref.on_delete_set_columns)
        ctx.late_start.append(Step(
            sql=f"ALTER TABLE {other.source} ADD CONSTRAINT {quote_ident(dup)} FOREIGN KEY "
            f"{idents(fk.columns)} {target}{deferrable(fk.deferrable, fk.initially_deferred)}"
            " NOT VALID",
            summary=f"foreign key {fk.name} of {other.name}, pointing at the copy (not valid)",
            lock=Lock.SHARE_ROW_EXCLUSIVE, tables=(*other.tables, table.physical),
            referenced=(table.physical,), elsewhere=other.elsewhere,
            origin=ctx.origin,
        ))
        ctx.step(Phase.ROLLBACK, f"ALTER TABLE IF EXISTS {other.source} DROP CONSTRAINT IF "
                 f"EXISTS {quote_ident(dup)}", f"drop the twin of foreign key {fk.name}",
                 tables=other.tables, elsewhere=other.elsewhere, safe=(safety.DROP_CONSTRAINT,))
        ctx.step(Phase.COMPLETE, f"ALTER TABLE IF EXISTS {other.source} DROP CONSTRAINT IF "
                 f"EXISTS {quote_ident(fk.name)}", f"drop foreign key {fk.name} (its twin stays)",
                 tables=other.tables, elsewhere=other.elsewhere, safe=(safety.DROP_CONSTRAINT,))
        ctx.after_swap.append(Step(
            sql=f"ALTER TABLE IF EXISTS {other.source} RENAME CONSTRAINT {quote_ident(dup)} TO "
            f"{quote_ident(fk.name)}", summary=f"name the twin {fk.name}",
            tables=other.tables, elsewhere=other.elsewhere, safe=(safety.RENAME_OBJECT,),
            origin=ctx.origin))
        ctx.validate.append(Step(
            sql=f"ALTER TABLE IF EXISTS {other.source} VALIDATE CONSTRAINT {quote_ident(dup)}",
            summary=f"validate {dup}", tables=other.tables, elsewhere=other.elsewhere,
            lock=Lock.SHARE_UPDATE_EXCLUSIVE, cost=Cost.SCAN, origin=ctx.origin))


def _swap(ctx: Context, table: Table, names: dict[str, str]) -> None:
    """Complete: hand sequences over, drop the old columns, give the copies their names."""
    ref = ctx.table_ref(table)
    for name, temp in names.items():
        for sequence in ctx.before.sequences:
            if sequence.owned_by_table == table.name and sequence.owned_by_column == name:
                ctx.step(Phase.COMPLETE, f"ALTER SEQUENCE IF EXISTS "
                         f"{qualified(ctx.schema, sequence.name)} OWNED BY {ref}."
                         f"{quote_ident(temp)}", f"hand sequence {sequence.name} to {temp}",
                         tables=(sequence.name,))
    pairs = [(physical_name(table, n), temp) for n, temp in names.items()]
    ctx.carried.setdefault(ref, []).extend(old for old, _ in pairs)
    ctx.step(Phase.COMPLETE, dependents.carry_over_sql(ref, pairs),
             f"carry the views, rules, policies, triggers and statistics that use "
             f"{', '.join(names)} over to the new column{'s' if len(names) > 1 else ''}",
             tables=(table.physical,))
    ctx.step(Phase.COMPLETE, attributes.privileges_sql(ref, pairs),
             f"the new column{'s' if len(names) > 1 else ''} {', '.join(names.values())} "
             f"take{'' if len(names) > 1 else 's'} "
             f"the privileges {', '.join(names)} {'have' if len(names) > 1 else 'has'} now",
             tables=(table.physical,))
    old = ", ".join(f"DROP COLUMN IF EXISTS {quote_ident(physical_name(table, n))}" for n in names)
    atomically(ctx, [*drop_functions_sql(ctx), f"ALTER TABLE IF EXISTS {ref} {old}"],
               f"drop the sync triggers and the old column{'s' if len(names) > 1 else ''} "
               f"{', '.join(names)} together", table.physical, safe=(safety.DROP_COLUMN,))
    for name, temp in names.items():
        ctx.step(Phase.COMPLETE, f"ALTER TABLE IF EXISTS {ref} RENAME COLUMN {quote_ident(temp)} "
                 f"TO {quote_ident(name)}", f"rename {temp} to {name}", tables=(table.physical,),
                 safe=(safety.RENAME_COLUMN,))
    ctx.complete.extend(ctx.after_swap)
    ctx.after_swap.clear()
    drop = ", ".join(f"DROP COLUMN IF EXISTS {quote_ident(t)}" for t in names.values())
    ctx.step(Phase.ROLLBACK, f"ALTER TABLE IF EXISTS {ref} {drop}",
             f"drop the copies {', '.join(names.values())}", tables=(table.physical,),
             safe=(safety.DROP_COLUMN,))


def physical_table(ctx: Context, name: str) -> str:
    """A referenced table's physical name (its name, if the catalog does not know it)."""
    table = ctx.after.table(name) or ctx.before.table(name)
    return table.physical if table is not None else name


# ---- operations ------------------------------------------------------------------------


def plan_drop_column(ctx: Context, op: ir.DropColumn) -> None:
    """Hidden from the new version at start, dropped at complete; ``down`` fills it meanwhile."""
    table = ctx.before.table(op.table.name)
    column = table.column(op.column.name) if table is not None else None
    if table is None or column is None:
        return
    ctx.step(Phase.START, dependents.warn_sql(
        ctx.table_ref(table), [column.physical], version_schemas(ctx),
        f"column {column.name} of table {table.name}"),
        f"say what uses column {column.name}, which complete drops", lock=Lock.NONE)
    if op.down is not None:
        after = ctx.after.table(table.name) or table
        install_trigger(ctx, table, column.name, up=None,
                        down=Side(column.physical, op.down.text,
                                  tuple((c.name, c.physical) for c in after.columns),
                                  column.type), marker=False)
    atomically(ctx, [*drop_functions_sql(ctx), f"ALTER TABLE IF EXISTS {ctx.table_ref(table)} "
                     f"DROP COLUMN IF EXISTS {quote_ident(column.physical)}"],
               f"drop column {column.name}" + (" and its sync trigger together" if op.down
                                               else ""), table.physical,
               safe=(safety.DROP_COLUMN,))


def plan_alter_column(ctx: Context, op: ir.AlterColumn) -> None:
    """Rewrite one column through a copy (or in place, when PostgreSQL needs no rewrite)."""
    table = ctx.before.table(op.table.name)
    if table is None or table.column(op.column.name) is None:
        return
    if ctx.options.optimize and can_alter_in_place(table, op):
        plan_alter_in_place(ctx, table, op)
        return
    rewrite = Rewrite(
        name=op.column.name, up=op.up.text if op.up else None,
        down=op.down.text if op.down else None, type=op.type, nullable=op.nullable,
        default=op.default, comment=op.comment,
    )
    _duplicate(ctx, table, [rewrite], skip=None)
    temp = new_name(op.column.name)
    ref = ctx.table_ref(table)
    if op.check is not None:
        expr = rename_columns(op.check.constraint.text, {op.column.name: temp})
        no_inherit = " NO INHERIT" if op.check.no_inherit else ""
        ctx.step(Phase.START, f"ALTER TABLE {ref} ADD CONSTRAINT "
                 f"{quote_ident(op.check.name.name)} CHECK ({expr}){no_inherit} NOT VALID",
                 f"add check {op.check.name.name} (not valid)", tables=(table.physical,))
        validate_step(ctx, table, op.check.name.name)
    if op.references is not None and table.partitioned:
        fk = op.references
        partitioned.foreign_key(
            ctx, table, fk.name.name, f"({quote_ident(temp)})", f"({quote_ident(op.column.name)})",
            references_sql(ctx, fk.table.name, (fk.column.name,), fk.on_delete, fk.on_update,
                           fk.match_type) + deferrable(fk.deferrable, fk.initially_deferred),
            physical_table(ctx, fk.table.name))
    elif op.references is not None:
        fk = op.references
        target = references_sql(ctx, fk.table.name, (fk.column.name,), fk.on_delete,
                                fk.on_update, fk.match_type)
        ctx.step(Phase.START, f"ALTER TABLE {ref} ADD CONSTRAINT {quote_ident(fk.name.name)} "
                 f"FOREIGN KEY ({quote_ident(temp)}) {target}"
                 f"{deferrable(fk.deferrable, fk.initially_deferred)} NOT VALID",
                 f"add foreign key {fk.name.name} (not valid)", tables=(table.physical,),
                 lock=Lock.SHARE_ROW_EXCLUSIVE)
        validate_step(ctx, table, fk.name.name)
    if op.unique is not None:
        name = op.unique.name.name
        copies.unique_index(ctx, table, name, (temp,))
        ctx.step(Phase.COMPLETE, f"ALTER TABLE {ref} ADD CONSTRAINT {quote_ident(name)} UNIQUE "
                 f"USING INDEX {quote_ident(name)}", f"attach unique constraint {name}",
                 tables=(table.physical,))


def plan_create_constraint(ctx: Context, op: ir.CreateConstraint) -> None:
    """Copies of the constrained columns get the new constraint; old ones keep serving."""
    table = ctx.before.table(op.table.name)
    if table is None:
        return
    columns = tuple(c.name for c in op.columns)
    up = {e.column.name: e.sql.text for e in op.up}
    down = {e.column.name: e.sql.text for e in op.down}
    pk = op.type is ir.ConstraintType.PRIMARY_KEY
    kept = kept_key_columns(ctx.before, table, op.type, columns)
    rewrites = [Rewrite(name=c, up=up.get(c), down=down.get(c), nullable=False if pk else None)
                for c in columns if table.column(c) is not None and c not in kept]
    _duplicate(ctx, table, rewrites, skip=None)
    temps = tuple(physical_name(table, c) if c in kept else new_name(c) for c in columns)
    ref, name = ctx.table_ref(table), op.name.name
    match op.type:
        case ir.ConstraintType.UNIQUE | ir.ConstraintType.PRIMARY_KEY if table.partitioned:
            ctx.start.extend(partitioned.key_index_steps(ctx, table, name, f" {idents(temps)}"))
            ctx.complete.extend(partitioned.key_constraint_steps(
                ctx, table, name, name, "PRIMARY KEY" if pk else "UNIQUE", idents(columns)))
        case ir.ConstraintType.UNIQUE | ir.ConstraintType.PRIMARY_KEY:
            copies.unique_index(ctx, table, name, temps)
            kind = "PRIMARY KEY" if pk else "UNIQUE"
            ctx.step(Phase.COMPLETE, f"ALTER TABLE {ref} ADD CONSTRAINT {quote_ident(name)} "
                     f"{kind} USING INDEX {quote_ident(name)}", f"attach {name}",
                     tables=(table.physical,))
        case ir.ConstraintType.CHECK:
            expr = rename_columns(op.check.text if op.check else "true",
                                  dict(zip(columns, temps, strict=True)))
            no_inherit = " NO INHERIT" if op.no_inherit else ""
            ctx.step(Phase.START, f"ALTER TABLE {ref} ADD CONSTRAINT {quote_ident(name)} CHECK "
                     f"({expr}){no_inherit} NOT VALID", f"add check {name} (not valid)",
                     tables=(table.physical,))
            validate_step(ctx, table, name)
        case ir.ConstraintType.FOREIGN_KEY if table.partitioned:
            fk = op.references
            assert fk is not None
            # After complete the SET NULL columns have their own names again.
            partitioned.foreign_key(
                ctx, table, name, idents(temps), idents(columns),
                references_sql(ctx, fk.table.name, tuple(c.name for c in fk.columns),
                               fk.on_delete, fk.on_update, fk.match_type,
                               tuple(c.name for c in fk.on_delete_set_columns)),
                physical_table(ctx, fk.table.name))
        case ir.ConstraintType.FOREIGN_KEY:
            fk = op.references
            assert fk is not None
            target = references_sql(
                ctx, fk.table.name, tuple(c.name for c in fk.columns), fk.on_delete,
                fk.on_update, fk.match_type,
                tuple(dict(zip(columns, temps, strict=True)).get(c.name)
                      or physical_name(table, c.name)
                      for c in fk.on_delete_set_columns))
            ctx.step(Phase.START, f"ALTER TABLE {ref} ADD CONSTRAINT {quote_ident(name)} "
                     f"FOREIGN KEY {idents(temps)} {target} NOT VALID",
                     f"add foreign key {name} (not valid)",
                     tables=(table.physical,), lock=Lock.SHARE_ROW_EXCLUSIVE)
            validate_step(ctx, table, name)
        case ir.ConstraintType.EXCLUDE:
            pass  # rejected by the front ends


def plan_drop_constraint(ctx: Context,
                         op: ir.DropConstraint | ir.DropMulticolumnConstraint) -> None:
    """Copies of the covered columns without the constraint; the old ones keep it meanwhile."""
    table = ctx.before.table(op.table.name)
    constraint = table.constraint(op.name.name) if table is not None else None
    if table is None or constraint is None:
        return
    kept = kept_key_columns(ctx.before, table, constraint.type, constraint.columns)
    columns = sorted(copies.constraint_columns(constraint) - kept)
    if isinstance(op, ir.DropConstraint):
        up = {columns[0]: op.up.text} if op.up is not None and columns else {}
        down = {columns[0]: op.down.text} if op.down is not None and columns else {}
    else:
        up = {e.column.name: e.sql.text for e in op.up}
        down = {e.column.name: e.sql.text for e in op.down}
    rewrites = [Rewrite(name=c, up=up.get(c), down=down.get(c)) for c in columns]
    _duplicate(ctx, table, rewrites, skip=constraint.name)

