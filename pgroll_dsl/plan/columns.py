"""Operations that rewrite columns: duplicate, keep in sync, backfill, then swap at complete.

alter_column, create_constraint, drop_constraint and drop_multicolumn_constraint all copy the
affected columns to ``_pgroll_new_<c>`` (with the new type, nullability, default and
constraints), keep old and new copies in sync with one trigger per column, backfill, and at
complete drop the old column and give the new one its name. Constraints and indexes of the
old column are rebuilt on the copy in lock-friendly form (NOT VALID, CONCURRENTLY) and take
their names back at complete; a NOT NULL is carried as a NOT VALID check and becomes a real
NOT NULL without a scan.
"""

from __future__ import annotations

from dataclasses import dataclass

from pgroll_dsl import ir
from pgroll_dsl.catalog.apply import backing_index
from pgroll_dsl.catalog.derived import (
    DUP_PREFIX,
    NOT_NULL_PREFIX,
    derived,
    new_name,
    trigger_name,
)
from pgroll_dsl.catalog.index_keys import exclusion_sql, key_sql, options_sql
from pgroll_dsl.catalog.model import Constraint, Index, Table
from pgroll_dsl.plan import backfill
from pgroll_dsl.plan.context import (
    Context,
    atomically,
    comment_step,
    drop_functions_sql,
    references_sql,
)
from pgroll_dsl.plan.model import Cost, Lock, Phase, Step
from pgroll_dsl.plan.optimize import can_alter_in_place, plan_alter_in_place
from pgroll_dsl.plan.triggers import Side, TriggerSpec, trigger_function_sql, trigger_sql
from pgroll_dsl.sql.ddl import deferrable, idents, qualified
from pgroll_dsl.sql.expressions import column_references, rename_columns
from pgroll_dsl.sql.quoting import quote_ident, quote_name, render_type


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


def validate_step(ctx: Context, table: Table, constraint: str) -> None:
    """VALIDATE a NOT VALID constraint at the end of start, once the backfill is done.

    A scan that lets reads and writes continue. Run at start, an existing row that violates
    the constraint is reported while ``rollback`` is still free, and complete only swaps.
    """
    ctx.validate.append(Step(
        sql=f"ALTER TABLE IF EXISTS {ctx.table_ref(table)} VALIDATE CONSTRAINT "
        f"{quote_ident(constraint)}", summary=f"validate {constraint}", relation=table.physical,
        lock=Lock.SHARE_UPDATE_EXCLUSIVE, cost=Cost.SCAN, origin=ctx.origin))


def not_null_via_check(ctx: Context, table: Table, physical: str, name: str) -> None:
    """NOT NULL without a scan under ACCESS EXCLUSIVE: NOT VALID check, validate, SET NOT NULL.

    ``physical`` is the column's name during the migration, ``name`` its name after complete.
    """
    check = derived(NOT_NULL_PREFIX, name)
    ref = ctx.table_ref(table)
    ctx.step(Phase.START, f"ALTER TABLE {ref} ADD CONSTRAINT {quote_ident(check)} CHECK "
             f"({quote_ident(physical)} IS NOT NULL) NOT VALID",
             f"NOT NULL of {name} as a check (not valid)", relation=table.physical)
    validate_step(ctx, table, check)
    _after_rename(ctx, table, f"ALTER TABLE IF EXISTS {ref} ALTER COLUMN {quote_ident(name)} SET "
                  "NOT NULL", f"set {name} NOT NULL (the valid check spares the scan)")
    _after_rename(ctx, table, f"ALTER TABLE IF EXISTS {ref} DROP CONSTRAINT IF EXISTS "
                  f"{quote_ident(check)}", f"drop the check {check}")


def _after_rename(ctx: Context, table: Table, sql: str, summary: str,
                  lock: Lock = Lock.ACCESS_EXCLUSIVE) -> None:
    """A complete step that needs the column's final name: it runs right after the swap."""
    ctx.after_swap.append(Step(sql=sql, summary=summary, relation=table.physical, lock=lock,
                               origin=ctx.origin))


def install_trigger(ctx: Context, table: Table, column: str,
                    up: tuple[str, str, tuple[tuple[str, str], ...]] | None,
                    down: tuple[str, str, tuple[tuple[str, str], ...]] | None,
                    marker: bool) -> None:
    """Marker column (once per table), trigger function and trigger; dropped at the end."""
    name = trigger_name(len(ctx.triggers), table.physical, column)
    if marker:
        backfill.add_marker(ctx, table)
    spec = TriggerSpec(
        name=name, schema=ctx.schema, table=table.physical, version_schema=ctx.version_schema,
        up=Side(*up) if up is not None else None, down=Side(*down) if down is not None else None,
        marker=marker,
    )
    function = qualified(ctx.schema, name)
    ctx.step(Phase.START, trigger_function_sql(spec), f"trigger function {name}", lock=Lock.NONE)
    ctx.step(Phase.START, trigger_sql(spec), f"trigger {name} on {table.physical}",
             relation=table.physical, lock=Lock.SHARE_ROW_EXCLUSIVE)
    ctx.triggers.append((table.physical, name))
    ctx.syncs.append(spec)
    drop = f"DROP FUNCTION IF EXISTS {function}() CASCADE"
    ctx.trigger_drops.append(name)  # complete drops it together with what it keeps in sync
    ctx.step(Phase.ROLLBACK, drop, f"drop trigger {name}", relation=table.physical)


def _constraint_columns(constraint: Constraint) -> set[str]:
    if constraint.columns:
        return set(constraint.columns)
    refs = column_references(constraint.expression or "")
    return {r.name for r in refs if r.qualifier is None and r.row_level}


# ---- the duplicate / sync / swap mechanism ---------------------------------------------


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
        ctx.step(Phase.START, f"ALTER TABLE {ref} ADD COLUMN IF NOT EXISTS {quote_ident(temp)} "
                 f"{type_sql}", f"add column {temp} (copy of {rewrite.name})",
                 relation=table.physical)
        default = column.default
        if rewrite.default is not None:
            default = rewrite.default.value.text if rewrite.default.value is not None else None
        if default is not None:
            ctx.step(Phase.START, f"ALTER TABLE {ref} ALTER COLUMN {quote_ident(temp)} SET "
                     f"DEFAULT ({default})", f"default of {temp}", relation=table.physical)
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
        install_trigger(
            ctx, table, rewrite.name,
            up=(temp, rewrite.up or copy, before_vars),
            down=(column.physical, rewrite.down or copy, after_vars), marker=True,
        )
    for rewrite in rewrites:
        column = table.column(rewrite.name)
        assert column is not None
        nullable = column.nullable if rewrite.nullable is None else rewrite.nullable
        if not nullable:
            not_null_via_check(ctx, table, names[rewrite.name], rewrite.name)
    _rebuild_constraints(ctx, table, names, skip)
    backfill.schedule(ctx, table)
    _repoint_referencing_keys(ctx, table, names)
    _swap(ctx, table, names)


def _repoint_referencing_keys(ctx: Context, table: Table, names: dict[str, str]) -> None:
    """Foreign keys of other tables that point at a rewritten column follow it (pgroll #375).

    After the backfill (so that every copy already holds its key) each such foreign key gets
    a twin, NOT VALID, pointing at the copy; new writes are checked against both. At
    complete the original goes (it pins the old column), the twin takes its name and is
    validated while reads and writes go on.
    """
    for other in ctx.before.tables:
        for fk in other.constraints:
            ref = fk.references
            if ref is None or ref.table != table.name or not set(ref.columns) & names.keys():
                continue
            dup = derived(DUP_PREFIX, fk.name)
            source = ctx.table_ref(other)
            columns = tuple(_physical(other, c) for c in fk.columns)
            target = references_sql(ctx, table.name, ref.columns, ref.on_delete,  # the copies
                                    ref.on_update, ref.match_type,
                                    tuple(_physical(other, c) for c in ref.on_delete_set_columns))
            ctx.late_start.append(Step(
                sql=f"ALTER TABLE {source} ADD CONSTRAINT {quote_ident(dup)} FOREIGN KEY "
                f"{idents(columns)} {target}{deferrable(fk.deferrable, fk.initially_deferred)}"
                " NOT VALID",
                summary=f"foreign key {fk.name} of {other.name}, pointing at the copy (not valid)",
                lock=Lock.SHARE_ROW_EXCLUSIVE, relation=f"{other.physical}, {table.physical}",
                origin=ctx.origin,
            ))
            ctx.step(Phase.ROLLBACK, f"ALTER TABLE IF EXISTS {source} DROP CONSTRAINT IF EXISTS "
                     f"{quote_ident(dup)}", f"drop the twin of foreign key {fk.name}",
                     relation=other.physical)
            ctx.step(Phase.COMPLETE, f"ALTER TABLE IF EXISTS {source} DROP CONSTRAINT IF EXISTS "
                     f"{quote_ident(fk.name)}", f"drop foreign key {fk.name} (its twin stays)",
                     relation=other.physical)
            ctx.after_swap.append(Step(
                sql=f"ALTER TABLE IF EXISTS {source} RENAME CONSTRAINT {quote_ident(dup)} TO "
                f"{quote_ident(fk.name)}", summary=f"name the twin {fk.name}",
                relation=other.physical, origin=ctx.origin))
            validate_step(ctx, other, dup)


def _rebuild_constraints(ctx: Context, table: Table, names: dict[str, str],
                         skip: str | None) -> None:
    """Constraints and indexes on the old columns, rebuilt on the copies.

    Each copy is the definition PostgreSQL would keep through a plain ``ALTER TABLE``, with
    only the rewritten columns changed: a check keeps NO INHERIT, a foreign key its
    deferrability and ``SET NULL (...)`` columns, a key its INCLUDE columns, NULLS NOT
    DISTINCT, storage parameters, tablespace and deferrability, an index its method, keys'
    collations, operator classes and order, INCLUDE columns, storage parameters, tablespace
    and predicate. A column counts as used when it is a key, an INCLUDE column, or named in
    an expression, a check or a predicate: dropping the old column would drop the object.

    An object over two columns that two operations of the migration rewrite is copied by
    the first one over its copy and the other old column: the second one replaces that copy
    (same name) by one over both copies, and leaves the complete steps to the first.
    """
    now = _names_now(table, names)
    rebuilt_indexes = set()
    for constraint in table.constraints:
        if constraint.name == skip or not _constraint_uses(constraint) & names.keys():
            continue
        copy = _Copy(table, derived(DUP_PREFIX, constraint.name), now)
        again = _copied_before(ctx, copy)
        match constraint.type:
            case ir.ConstraintType.CHECK | ir.ConstraintType.FOREIGN_KEY:
                _copy_check_or_foreign_key(ctx, constraint, copy, again)
            case ir.ConstraintType.UNIQUE | ir.ConstraintType.PRIMARY_KEY:
                _copy_key(ctx, constraint, copy, again)
                rebuilt_indexes.add(constraint.name)
            case ir.ConstraintType.EXCLUDE:
                _copy_exclusion(ctx, constraint, copy, again)
                rebuilt_indexes.add(constraint.name)
    for index in table.indexes:
        if index.name in rebuilt_indexes or index.constraint is not None:
            continue
        if _index_uses(table, index) & names.keys():
            copy = _Copy(table, derived(DUP_PREFIX, index.name), now)
            _copy_index(ctx, index, copy, _copied_before(ctx, copy))


@dataclass(frozen=True, slots=True)
class _Copy:
    """Where a copy goes: its table, its temporary name, and each column's name now."""

    table: Table
    name: str
    columns: dict[str, str]  # the copies of this and earlier operations, by column

    def column(self, name: str) -> str:
        """A column of a list (key, INCLUDE, foreign key) as SQL: its physical name."""
        return quote_ident(self.columns.get(name) or _physical(self.table, name))

    def expression(self, text: str) -> str:
        """An expression re-pointed at the copies by identifier.

        Its text names the other columns as they were before the migration, which is still
        their physical name (renames happen at complete).
        """
        return rename_columns(text, self.columns)


def _names_now(table: Table, names: dict[str, str]) -> dict[str, str]:
    """This operation's copies, and the columns earlier ones added or copied."""
    earlier = {c.name: c.physical for c in table.columns if c.physical == new_name(c.name)}
    return earlier | names


def _copied_before(ctx: Context, copy: _Copy) -> bool:
    """Whether an earlier operation of the migration already made this copy."""
    quoted = quote_ident(copy.name)
    return any(quoted in step.sql and step.relation == copy.table.physical
               for step in (*ctx.start, *ctx.late_start))


def _constraint_uses(constraint: Constraint) -> set[str]:
    """The columns a constraint cannot exist without (see ``_rebuild_constraints``)."""
    used = _constraint_columns(constraint) | set(constraint.include)
    if constraint.type is ir.ConstraintType.EXCLUDE:
        for element in constraint.elements:
            used |= {element.key} | _expression_columns(element.key)
        used |= _expression_columns(constraint.predicate)
    return used


def _index_uses(table: Table, index: Index) -> set[str]:
    """The columns an index cannot exist without: keys, INCLUDE, those its expressions name."""
    used = {*index.columns, *index.include} | _expression_columns(index.predicate)
    for key in index.columns:
        if table.column(key) is None:
            used |= _expression_columns(key)
    return used


def _copy_check_or_foreign_key(ctx: Context, constraint: Constraint, copy: _Copy,
                               again: bool) -> None:
    """NOT VALID on the copy now; validated after the backfill, renamed back at complete."""
    ref = ctx.table_ref(copy.table)
    if again:
        ctx.step(Phase.START, f"ALTER TABLE {ref} DROP CONSTRAINT IF EXISTS "
                 f"{quote_ident(copy.name)}", f"drop {copy.name}: it is made again over both "
                 "copies", relation=copy.table.physical)
    if constraint.type is ir.ConstraintType.CHECK:
        no_inherit = " NO INHERIT" if constraint.no_inherit else ""
        body = f"CHECK ({copy.expression(constraint.expression or 'true')}){no_inherit}"
        what, lock = "check", Lock.ACCESS_EXCLUSIVE
    else:
        body, what, lock = _foreign_key_sql(ctx, constraint, copy), "foreign key", \
            Lock.SHARE_ROW_EXCLUSIVE
    ctx.step(Phase.START, f"ALTER TABLE {ref} ADD CONSTRAINT {quote_ident(copy.name)} {body} "
             "NOT VALID", f"copy {what} {constraint.name} (not valid)",
             relation=copy.table.physical, lock=lock)
    if not again:
        validate_step(ctx, copy.table, copy.name)
        _rename_constraint_after(ctx, copy.table, copy.name, constraint.name)


def _foreign_key_sql(ctx: Context, constraint: Constraint, copy: _Copy) -> str:
    """``FOREIGN KEY (...) REFERENCES ...``, deferrability and SET NULL columns kept."""
    fk = constraint.references
    assert fk is not None
    own = ", ".join(copy.column(c) for c in constraint.columns)
    set_columns = tuple(copy.columns.get(c) or _physical(copy.table, c)
                        for c in fk.on_delete_set_columns)
    target = references_sql(ctx, fk.table, fk.columns, fk.on_delete, fk.on_update,
                            fk.match_type, set_columns)
    return (f"FOREIGN KEY ({own}) {target}"
            f"{deferrable(constraint.deferrable, constraint.initially_deferred)}")


def _copy_key(ctx: Context, constraint: Constraint, copy: _Copy, again: bool) -> None:
    """A unique index built concurrently now; the constraint takes it over at complete.

    Everything that belongs to the index (INCLUDE, NULLS NOT DISTINCT, storage parameters,
    tablespace) is given to the index, which ``USING INDEX`` hands to the constraint;
    deferrability belongs to the constraint.
    """
    _build_index(ctx, backing_index(constraint), copy, again, f"build unique index {copy.name}")
    if again:
        return
    kind = "PRIMARY KEY" if constraint.type is ir.ConstraintType.PRIMARY_KEY else "UNIQUE"
    later = deferrable(constraint.deferrable, constraint.initially_deferred)
    _after_rename(ctx, copy.table, f"ALTER TABLE {ctx.table_ref(copy.table)} ADD CONSTRAINT "
                  f"{quote_ident(constraint.name)} {kind} USING INDEX "
                  f"{quote_ident(copy.name)}{later}", f"attach {constraint.name} to its new index")


def _copy_exclusion(ctx: Context, constraint: Constraint, copy: _Copy, again: bool) -> None:
    """The exclusion constraint on the copy, at start, under ACCESS EXCLUSIVE.

    PostgreSQL can neither build an exclusion constraint's index concurrently nor attach
    one built beforehand (``USING INDEX`` is for keys only), nor add it NOT VALID: ``ADD
    CONSTRAINT ... EXCLUDE`` builds the index while holding ACCESS EXCLUSIVE, a scan of the
    whole table during which reads and writes wait. It is done at start, while the copy is
    still empty but for the rows written since the trigger exists: the build then costs one
    scan and almost no index entries, a conflict shows while rollback is still free, and
    the backfill is checked against it row by row. The plan's header says so.

    NULL in a plain key never conflicts (exclusion operators are strict), but an expression
    or a predicate over a rewritten column may make the empty copies conflict (``WHERE
    cancelled IS NULL``): such a constraint is added after the backfill instead, when the
    copies hold their values (a longer build, under the same lock), as is the second copy
    of a constraint over two columns rewritten by two operations.

    At complete the original is dropped before the old column: PostgreSQL drops it with a
    key column, but not with a column only its predicate or an expression names.
    """
    table = copy.table
    if not constraint.elements:
        ctx.notes.append(f"exclusion constraint {constraint.name} on {table.name} is not "
                         "carried over to the rewritten column: its elements are not known")
        return
    index = backing_index(constraint)
    elements = ", ".join(exclusion_sql(e, _key_sql(copy, e.key)) for e in constraint.elements)
    steps = [Step(sql=f"ALTER TABLE {ctx.table_ref(table)} DROP CONSTRAINT IF EXISTS "
                  f"{quote_ident(copy.name)}", summary=f"drop {copy.name}: it is made again "
                  "over both copies", relation=table.physical, origin=ctx.origin)] if again else []
    steps.append(Step(
        sql=f"ALTER TABLE {ctx.table_ref(table)} ADD CONSTRAINT {quote_ident(copy.name)} "
        f"EXCLUDE USING {quote_name(index.method)} ({elements}){_index_tail(copy, index, True)}"
        f"{deferrable(constraint.deferrable, constraint.initially_deferred)}",
        summary=f"copy exclusion constraint {constraint.name}: its index is built under the "
        "lock, reads and writes wait for a scan of the table",
        relation=table.physical, cost=Cost.BUILD_LOCKED, origin=ctx.origin))
    if again or _expressions_use(copy, constraint.predicate,
                                 [e.key for e in constraint.elements]):
        _after_backfill(ctx, table, *steps)
    else:
        ctx.start.extend(steps)
    if again:
        return
    ctx.step(Phase.COMPLETE, f"ALTER TABLE IF EXISTS {ctx.table_ref(table)} DROP CONSTRAINT "
             f"IF EXISTS {quote_ident(constraint.name)}",
             f"drop exclusion constraint {constraint.name} (its copy stays)",
             relation=table.physical)
    ctx.notes.append(f"exclusion constraint {constraint.name} on {table.name} is rebuilt on "
                     "the copy at start under ACCESS EXCLUSIVE: reads and writes of "
                     f"{table.name} wait while its index is built (PostgreSQL cannot build "
                     "it concurrently)")
    _rename_constraint_after(ctx, table, copy.name, constraint.name)


def _expressions_use(copy: _Copy, predicate: str | None, keys: list[str]) -> bool:
    """Whether a predicate or an expression key names a copied column."""
    used = _expression_columns(predicate)
    for key in keys:
        if copy.table.column(key) is None:
            used |= _expression_columns(key)
    return bool(used & copy.columns.keys())


def _copy_index(ctx: Context, index: Index, copy: _Copy, again: bool) -> None:
    _build_index(ctx, index, copy, again, f"copy index {index.name}")
    if not again:
        _after_rename(ctx, copy.table, f"ALTER INDEX IF EXISTS {qualified(ctx.schema, copy.name)}"
                      f" RENAME TO {quote_ident(index.name)}",
                      f"give index {index.name} its name back", Lock.SHARE_UPDATE_EXCLUSIVE)


def _build_index(ctx: Context, index: Index, copy: _Copy, again: bool, summary: str) -> None:
    """Build the copy of an index concurrently: with the other copies, or after the backfill.

    Until the backfill has reached them, rows hold NULL in the copies. A unique index that
    counts NULLs as equal (NULLS NOT DISTINCT), has an expression key (which may turn NULL
    into a value, as ``coalesce`` does) or a predicate (which NULL may satisfy, as in
    ``WHERE deleted_at IS NULL``) could find those rows duplicates: it is built once the
    backfill is done, when every row has its value. A copy made ``again`` (see
    ``_rebuild_constraints``) replaces the earlier one after the backfill too.
    """
    table, name = copy.table, copy.name
    steps = [Step(sql=f"DROP INDEX CONCURRENTLY IF EXISTS {qualified(ctx.schema, name)}",
                  summary=f"drop {name}: it is made again over both copies",
                  relation=table.physical, lock=Lock.SHARE_UPDATE_EXCLUSIVE,
                  transactional=False, origin=ctx.origin)] if again else []
    steps.append(Step(sql=_index_sql(ctx, index, copy), summary=summary,
                      relation=table.physical, lock=Lock.SHARE_UPDATE_EXCLUSIVE,
                      cost=Cost.BUILD, transactional=False, index=name, origin=ctx.origin))
    expression_key = any(table.column(key) is None for key in index.columns)
    if again or (index.unique and (index.nulls_not_distinct or expression_key
                                   or index.predicate is not None)):
        _after_backfill(ctx, table, *steps)
    else:
        ctx.start.extend(steps)


def _after_backfill(ctx: Context, table: Table, *steps: Step) -> None:
    """Start steps that need every copy filled: they follow the table's backfill."""
    backfill.schedule(ctx, table)  # (at most once per table) so that they come after it
    ctx.late_start.extend(steps)


def _index_sql(ctx: Context, index: Index, copy: _Copy) -> str:
    """``CREATE INDEX CONCURRENTLY`` of ``index`` as the copy, on the copied columns.

    The index of a key says no ``USING``: it can only be a btree.
    """
    keys = ", ".join(_key_sql(copy, key) + key_sql(index.options(position))
                     for position, key in enumerate(index.columns))
    unique = "UNIQUE " if index.unique else ""
    using = "" if index.constraint is not None else f" USING {quote_name(index.method)}"
    return (f"CREATE {unique}INDEX CONCURRENTLY IF NOT EXISTS {quote_ident(copy.name)} ON "
            f"{ctx.table_ref(copy.table)}{using} ({keys}){_index_tail(copy, index, False)}")


def _key_sql(copy: _Copy, key: str) -> str:
    """A key column's physical name, or an expression re-pointed by identifier."""
    if copy.table.column(key) is not None:
        return copy.column(key)
    return f"({copy.expression(key)})"


def _index_tail(copy: _Copy, index: Index, constraint: bool) -> str:
    """INCLUDE, NULLS NOT DISTINCT, WITH, tablespace and WHERE, in ``CREATE INDEX`` order.

    ``constraint``: the clauses of ``ADD CONSTRAINT ... EXCLUDE`` instead, which name the
    tablespace ``USING INDEX TABLESPACE`` and cannot say NULLS NOT DISTINCT.
    """
    text = ""
    if index.include:
        text += f" INCLUDE ({', '.join(copy.column(c) for c in index.include)})"
    if index.nulls_not_distinct and not constraint:
        text += " NULLS NOT DISTINCT"
    if index.storage_parameters:
        text += f" WITH ({options_sql(index.storage_parameters)})"
    if index.tablespace is not None:
        using = "USING INDEX " if constraint else ""
        text += f" {using}TABLESPACE {quote_ident(index.tablespace)}"
    if index.predicate is not None:
        text += f" WHERE ({copy.expression(index.predicate)})"
    return text


def _expression_columns(text: str | None) -> set[str]:
    """Row-level columns an index predicate or key expression names."""
    if text is None:
        return set()
    return {r.name for r in column_references(text) if r.qualifier is None and r.row_level}


def _unique_index(ctx: Context, table: Table, name: str, columns: tuple[str, ...]) -> None:
    ctx.step(Phase.START, f"CREATE UNIQUE INDEX CONCURRENTLY IF NOT EXISTS {quote_ident(name)} "
             f"ON {ctx.table_ref(table)} {idents(columns)}", f"build unique index {name}",
             relation=table.physical, lock=Lock.SHARE_UPDATE_EXCLUSIVE, cost=Cost.BUILD,
             transactional=False, index=name)


def _rename_constraint_after(ctx: Context, table: Table, old: str, new: str) -> None:
    _after_rename(ctx, table, f"ALTER TABLE IF EXISTS {ctx.table_ref(table)} RENAME CONSTRAINT "
                  f"{quote_ident(old)} TO {quote_ident(new)}", f"name {old} back to {new}")


def _physical(table: Table, name: str) -> str:
    column = table.column(name)
    return column.physical if column is not None else name


def _swap(ctx: Context, table: Table, names: dict[str, str]) -> None:
    """Complete: hand sequences over, drop the old columns, give the copies their names."""
    ref = ctx.table_ref(table)
    for name, temp in names.items():
        for sequence in ctx.before.sequences:
            if sequence.owned_by_table == table.name and sequence.owned_by_column == name:
                ctx.step(Phase.COMPLETE, f"ALTER SEQUENCE IF EXISTS "
                         f"{qualified(ctx.schema, sequence.name)} OWNED BY {ref}."
                         f"{quote_ident(temp)}", f"hand sequence {sequence.name} to {temp}",
                         relation=sequence.name)
    old = ", ".join(f"DROP COLUMN IF EXISTS {quote_ident(_physical(table, n))}" for n in names)
    atomically(ctx, [*drop_functions_sql(ctx), f"ALTER TABLE IF EXISTS {ref} {old}"],
               f"drop the sync triggers and the old column{'s' if len(names) > 1 else ''} "
               f"{', '.join(names)} together", table.physical)
    for name, temp in names.items():
        ctx.step(Phase.COMPLETE, f"ALTER TABLE IF EXISTS {ref} RENAME COLUMN {quote_ident(temp)} "
                 f"TO {quote_ident(name)}", f"rename {temp} to {name}", relation=table.physical)
    ctx.complete.extend(ctx.after_swap)
    ctx.after_swap.clear()
    drop = ", ".join(f"DROP COLUMN IF EXISTS {quote_ident(t)}" for t in names.values())
    ctx.step(Phase.ROLLBACK, f"ALTER TABLE IF EXISTS {ref} {drop}",
             f"drop the copies {', '.join(names.values())}", relation=table.physical)


# ---- operations ------------------------------------------------------------------------


def plan_drop_column(ctx: Context, op: ir.DropColumn) -> None:
    """Hidden from the new version at start, dropped at complete; ``down`` fills it meanwhile."""
    table = ctx.before.table(op.table.name)
    column = table.column(op.column.name) if table is not None else None
    if table is None or column is None:
        return
    if op.down is not None:
        after = ctx.after.table(table.name) or table
        install_trigger(ctx, table, column.name, up=None,
                        down=(column.physical, op.down.text,
                              tuple((c.name, c.physical) for c in after.columns)), marker=False)
    atomically(ctx, [*drop_functions_sql(ctx), f"ALTER TABLE IF EXISTS {ctx.table_ref(table)} "
                     f"DROP COLUMN IF EXISTS {quote_ident(column.physical)}"],
               f"drop column {column.name}" + (" and its sync trigger together" if op.down
                                               else ""), table.physical)


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
                 f"add check {op.check.name.name} (not valid)", relation=table.physical)
        validate_step(ctx, table, op.check.name.name)
    if op.references is not None:
        fk = op.references
        target = references_sql(ctx, fk.table.name, (fk.column.name,), fk.on_delete,
                                fk.on_update, fk.match_type)
        ctx.step(Phase.START, f"ALTER TABLE {ref} ADD CONSTRAINT {quote_ident(fk.name.name)} "
                 f"FOREIGN KEY ({quote_ident(temp)}) {target}"
                 f"{deferrable(fk.deferrable, fk.initially_deferred)} NOT VALID",
                 f"add foreign key {fk.name.name} (not valid)", relation=table.physical,
                 lock=Lock.SHARE_ROW_EXCLUSIVE)
        validate_step(ctx, table, fk.name.name)
    if op.unique is not None:
        name = op.unique.name.name
        _unique_index(ctx, table, name, (temp,))
        ctx.step(Phase.COMPLETE, f"ALTER TABLE {ref} ADD CONSTRAINT {quote_ident(name)} UNIQUE "
                 f"USING INDEX {quote_ident(name)}", f"attach unique constraint {name}",
                 relation=table.physical)


def plan_create_constraint(ctx: Context, op: ir.CreateConstraint) -> None:
    """Copies of the constrained columns get the new constraint; old ones keep serving."""
    table = ctx.before.table(op.table.name)
    if table is None:
        return
    columns = tuple(c.name for c in op.columns)
    up = {e.column.name: e.sql.text for e in op.up}
    down = {e.column.name: e.sql.text for e in op.down}
    pk = op.type is ir.ConstraintType.PRIMARY_KEY
    rewrites = [Rewrite(name=c, up=up.get(c), down=down.get(c), nullable=False if pk else None)
                for c in columns if table.column(c) is not None]
    _duplicate(ctx, table, rewrites, skip=None)
    temps = tuple(new_name(c) for c in columns)
    ref, name = ctx.table_ref(table), op.name.name
    match op.type:
        case ir.ConstraintType.UNIQUE | ir.ConstraintType.PRIMARY_KEY:
            _unique_index(ctx, table, name, temps)
            kind = "PRIMARY KEY" if pk else "UNIQUE"
            ctx.step(Phase.COMPLETE, f"ALTER TABLE {ref} ADD CONSTRAINT {quote_ident(name)} "
                     f"{kind} USING INDEX {quote_ident(name)}", f"attach {name}",
                     relation=table.physical)
        case ir.ConstraintType.CHECK:
            expr = rename_columns(op.check.text if op.check else "true",
                                  dict(zip(columns, temps, strict=True)))
            no_inherit = " NO INHERIT" if op.no_inherit else ""
            ctx.step(Phase.START, f"ALTER TABLE {ref} ADD CONSTRAINT {quote_ident(name)} CHECK "
                     f"({expr}){no_inherit} NOT VALID", f"add check {name} (not valid)",
                     relation=table.physical)
            validate_step(ctx, table, name)
        case ir.ConstraintType.FOREIGN_KEY:
            fk = op.references
            assert fk is not None
            target = references_sql(
                ctx, fk.table.name, tuple(c.name for c in fk.columns), fk.on_delete,
                fk.on_update, fk.match_type,
                tuple(dict(zip(columns, temps, strict=True)).get(c.name) or _physical(table, c.name)
                      for c in fk.on_delete_set_columns))
            ctx.step(Phase.START, f"ALTER TABLE {ref} ADD CONSTRAINT {quote_ident(name)} "
                     f"FOREIGN KEY {idents(temps)} {target} NOT VALID",
                     f"add foreign key {name} (not valid)",
                     relation=table.physical, lock=Lock.SHARE_ROW_EXCLUSIVE)
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
    columns = sorted(_constraint_columns(constraint))
    if isinstance(op, ir.DropConstraint):
        up = {columns[0]: op.up.text} if op.up is not None and columns else {}
        down = {columns[0]: op.down.text} if op.down is not None and columns else {}
    else:
        up = {e.column.name: e.sql.text for e in op.up}
        down = {e.column.name: e.sql.text for e in op.down}
    rewrites = [Rewrite(name=c, up=up.get(c), down=down.get(c)) for c in columns]
    _duplicate(ctx, table, rewrites, skip=constraint.name)
