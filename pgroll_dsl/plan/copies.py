"""Constraints and indexes on the columns a migration copies, rebuilt on the copies.

A column that is copied (a type change, a new constraint, NOT NULL) takes its constraints and
indexes along: each is made again on the copy under a derived name (``_pgroll_dup_``), NOT
VALID and validated after the backfill, or built concurrently (a unique one after the
backfill, once every copy is filled), and renamed back at complete. Foreign keys of other
tables that point at a copied column are repointed at its copy the same way.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from pgroll_dsl import ir
from pgroll_dsl.catalog.apply import backing_index
from pgroll_dsl.catalog.derived import (
    DUP_PREFIX,
    derived,
    new_name,
    partition_index_name,
)
from pgroll_dsl.catalog.index_keys import exclusion_sql, key_sql, options_sql
from pgroll_dsl.catalog.model import Constraint, Index, Table
from pgroll_dsl.plan import backfill, partitioned, safety
from pgroll_dsl.plan.context import (
    Context,
    after_rename,
    at_start,
    references_sql,
    validate_step,
)
from pgroll_dsl.plan.model import Cost, Lock, Phase, Step
from pgroll_dsl.sql.ddl import deferrable, idents, qualified
from pgroll_dsl.sql.expressions import column_references, rename_columns
from pgroll_dsl.sql.quoting import quote_ident, quote_name


def rebuild_constraints(ctx: Context, table: Table, names: dict[str, str],
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
        constraint = replace(constraint, name=at_start(ctx, table, constraint.name))
        copy = _Copy(table, derived(DUP_PREFIX, constraint.name), now)
        again = _copied_before(ctx, copy)
        match constraint.type:
            case ir.ConstraintType.CHECK | ir.ConstraintType.FOREIGN_KEY:
                _copy_check_or_foreign_key(ctx, constraint, copy, again)
            case ir.ConstraintType.UNIQUE | ir.ConstraintType.PRIMARY_KEY:
                _copy_key(ctx, constraint, copy, again)
                rebuilt_indexes.add(constraint.name)
                if not again:
                    _keep_replica_identity(ctx, table, backing_index(constraint).name)
            case ir.ConstraintType.EXCLUDE:
                _copy_exclusion(ctx, constraint, copy, again)
                rebuilt_indexes.add(constraint.name)
    for index in table.indexes:
        if index.name in rebuilt_indexes or index.constraint is not None:
            continue
        if _index_uses(table, index) & names.keys():
            copy = _Copy(table, derived(DUP_PREFIX, index.name), now)
            again = _copied_before(ctx, copy)
            _copy_index(ctx, index, copy, again)
            if not again:
                _keep_replica_identity(ctx, table, index.name)


def _keep_replica_identity(ctx: Context, table: Table, index: str) -> None:
    """The table's replica identity stays its index when that index is rebuilt on a copy.

    PostgreSQL keeps ``REPLICA IDENTITY USING INDEX`` on the index itself: dropping the old
    index with the old column leaves the table with an identity of no index, and once its
    copy has taken the name back, an UPDATE of a published table fails ("does not have a
    replica identity and publishes updates"). Said again right after the copy is named
    (the identity the table has when complete ends, which a ``set_replica_identity`` of the
    same migration may have set).
    """
    final = ctx.final.table(table.name) or table
    if table.partitioned or final.replica_identity != "index" \
            or final.replica_identity_index != index:
        return
    after_rename(ctx, table, f"ALTER TABLE IF EXISTS {ctx.table_ref(table)} REPLICA IDENTITY "
                 f"USING INDEX {quote_ident(index)}",
                 f"replica identity of {table.name}: index {index} again")


@dataclass(frozen=True, slots=True)
class _Copy:
    """Where a copy goes: its table, its temporary name, and each column's name now."""

    table: Table
    name: str
    columns: dict[str, str]  # the copies of this and earlier operations, by column

    def column(self, name: str) -> str:
        """A column of a list (key, INCLUDE, foreign key) as SQL: its physical name."""
        return quote_ident(self.columns.get(name) or physical_name(self.table, name))

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
    return any(quoted in step.sql and step.tables == (copy.table.physical,)
               for step in (*ctx.start, *ctx.late_start))


def _constraint_uses(constraint: Constraint) -> set[str]:
    """The columns a constraint cannot exist without (see ``rebuild_constraints``)."""
    used = constraint_columns(constraint) | set(constraint.include)
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
                 "copies", tables=(copy.table.physical,), safe=(safety.DROP_CONSTRAINT,))
    fk = constraint.references
    if fk is not None and copy.table.partitioned:  # NOT VALID on each leaf (partitioned.py)
        own = f"({', '.join(copy.column(c) for c in constraint.columns)})"
        final = f"({', '.join(quote_ident(c) for c in constraint.columns)})"
        target = references_sql(ctx, fk.table, fk.columns, fk.on_delete, fk.on_update,
                                fk.match_type, fk.on_delete_set_columns, fk.schema)
        referenced = ctx.before.table(fk.table) if fk.schema is None else None
        partitioned.foreign_key(
            ctx, copy.table, copy.name, own, final,
            target + deferrable(constraint.deferrable, constraint.initially_deferred),
            # (another schema's table is not one a step names: those are the target schema's)
            None if fk.schema is not None else
            referenced.physical if referenced is not None else fk.table,
            final_name=constraint.name, again=again)
        return
    if constraint.type is ir.ConstraintType.CHECK:
        no_inherit = " NO INHERIT" if constraint.no_inherit else ""
        body = f"CHECK ({copy.expression(constraint.expression or 'true')}){no_inherit}"
        what, lock = "check", Lock.ACCESS_EXCLUSIVE
    else:
        body, what, lock = _foreign_key_sql(ctx, constraint, copy), "foreign key", \
            Lock.SHARE_ROW_EXCLUSIVE
    ctx.step(Phase.START, f"ALTER TABLE {ref} ADD CONSTRAINT {quote_ident(copy.name)} {body} "
             "NOT VALID", f"copy {what} {constraint.name} (not valid)",
             tables=(copy.table.physical,), lock=lock)
    if not again:
        validate_step(ctx, copy.table, copy.name)
        rename_constraint_after(ctx, copy.table, copy.name, constraint.name)


def _foreign_key_sql(ctx: Context, constraint: Constraint, copy: _Copy) -> str:
    """``FOREIGN KEY (...) REFERENCES ...``, deferrability and SET NULL columns kept."""
    fk = constraint.references
    assert fk is not None
    own = ", ".join(copy.column(c) for c in constraint.columns)
    set_columns = tuple(copy.columns.get(c) or physical_name(copy.table, c)
                        for c in fk.on_delete_set_columns)
    target = references_sql(ctx, fk.table, fk.columns, fk.on_delete, fk.on_update,
                            fk.match_type, set_columns, fk.schema)
    return (f"FOREIGN KEY ({own}) {target}"
            f"{deferrable(constraint.deferrable, constraint.initially_deferred)}")


def _copy_key(ctx: Context, constraint: Constraint, copy: _Copy, again: bool) -> None:
    """A unique index built concurrently now; the constraint takes it over at complete.

    Everything that belongs to the index (INCLUDE, NULLS NOT DISTINCT, storage parameters,
    tablespace) is given to the index, which ``USING INDEX`` hands to the constraint;
    deferrability belongs to the constraint.
    """
    index = backing_index(constraint)
    _build_index(ctx, index, copy, again, f"build unique index {copy.name}")
    if again:
        return
    kind = "PRIMARY KEY" if constraint.type is ir.ConstraintType.PRIMARY_KEY else "UNIQUE"
    later = deferrable(constraint.deferrable, constraint.initially_deferred)
    if copy.table.partitioned:  # no USING INDEX on a partitioned table (partitioned.py)
        final = _Copy(copy.table, copy.name, {})  # the columns by their final names
        tail = _index_tail(final, replace(index, nulls_not_distinct=False, predicate=None),
                           True)
        nulls = " NULLS NOT DISTINCT" if index.nulls_not_distinct else ""
        keys = ", ".join(quote_ident(c) for c in index.columns)
        ctx.after_swap.extend(partitioned.key_constraint_steps(
            ctx, copy.table, copy.name, constraint.name, kind + nulls, f"({keys})", tail,
            later))
        return
    after_rename(ctx, copy.table, f"ALTER TABLE {ctx.table_ref(copy.table)} ADD CONSTRAINT "
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
                  "over both copies", tables=(table.physical,), safe=(safety.DROP_CONSTRAINT,),
                  origin=ctx.origin)] if again else []
    steps.append(Step(
        sql=f"ALTER TABLE {ctx.table_ref(table)} ADD CONSTRAINT {quote_ident(copy.name)} "
        f"EXCLUDE USING {quote_name(index.method)} ({elements}){_index_tail(copy, index, True)}"
        f"{deferrable(constraint.deferrable, constraint.initially_deferred)}",
        summary=f"copy exclusion constraint {constraint.name}: its index is built under the "
        "lock, reads and writes wait for a scan of the table",
        tables=(table.physical,), cost=Cost.BUILD_LOCKED, origin=ctx.origin))
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
             tables=(table.physical,), safe=(safety.DROP_CONSTRAINT,))
    ctx.notes.append(f"exclusion constraint {constraint.name} on {table.name} is rebuilt on "
                     "the copy at start under ACCESS EXCLUSIVE: reads and writes of "
                     f"{table.name} wait while its index is built (PostgreSQL cannot build "
                     "it concurrently)")
    rename_constraint_after(ctx, table, copy.name, constraint.name)


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
        after_rename(ctx, copy.table, f"ALTER INDEX IF EXISTS {qualified(ctx.schema, copy.name)}"
                      f" RENAME TO {quote_ident(index.name)}",
                      f"give index {index.name} its name back", Lock.SHARE_UPDATE_EXCLUSIVE,
                      (safety.RENAME_OBJECT,))
        for sql in partitioned.partition_index_renames(ctx, copy.table, copy.name, index.name):
            after_rename(ctx, copy.table, sql, f"name a partition's share of index {index.name}",
                         Lock.SHARE_UPDATE_EXCLUSIVE, (safety.RENAME_OBJECT,))


def _build_index(ctx: Context, index: Index, copy: _Copy, again: bool, summary: str) -> None:
    """Build the copy of an index concurrently: with the other copies, or after the backfill.

    Until the backfill has reached them, rows hold NULL in the copies. A unique index that
    counts NULLs as equal (NULLS NOT DISTINCT), has an expression key (which may turn NULL
    into a value, as ``coalesce`` does) or a predicate (which NULL may satisfy, as in
    ``WHERE deleted_at IS NULL``) could find those rows duplicates: it is built once the
    backfill is done, when every row has its value. A copy made ``again`` (see
    ``rebuild_constraints``) replaces the earlier one after the backfill too.
    """
    table, name = copy.table, copy.name
    if table.partitioned and index.constraint is not None:  # a key's share on each leaf
        steps = [Step(sql=f"DROP INDEX CONCURRENTLY IF EXISTS "
                      f"{qualified(ctx.schema, partition_index_name(name, leaf.name))}",
                      summary=f"drop {name} of partition {leaf.name}: it is made again over "
                      "both copies", tables=(leaf.physical,), lock=Lock.SHARE_UPDATE_EXCLUSIVE,
                      transactional=False, origin=ctx.origin)
                 for leaf in ctx.before.leaf_partitions(table.name)] if again else []
        steps += partitioned.key_index_steps(ctx, table, name, _index_body(index, copy),
                                             what=f"copy of key {index.name}:")
    elif table.partitioned:  # partition by partition (partitioned.py); no concurrent drop
        steps = [Step(sql=f"DROP INDEX IF EXISTS {qualified(ctx.schema, name)}",
                      summary=f"drop {name}: it is made again over both copies (catalog only)",
                      tables=(table.physical,), safe=(safety.DROP_INDEX_LOCKED,),
                      origin=ctx.origin)] if again else []
        steps += partitioned.index_steps(
            ctx, table, name, f"CREATE {'UNIQUE ' if index.unique else ''}INDEX",
            _index_body(index, copy), what=f"copy of index {index.name}")[0]
    else:
        steps = [Step(sql=f"DROP INDEX CONCURRENTLY IF EXISTS {qualified(ctx.schema, name)}",
                      summary=f"drop {name}: it is made again over both copies",
                      tables=(table.physical,), lock=Lock.SHARE_UPDATE_EXCLUSIVE,
                      transactional=False, origin=ctx.origin)] if again else []
        steps.append(Step(sql=_index_sql(ctx, index, copy), summary=summary,
                          tables=(table.physical,), lock=Lock.SHARE_UPDATE_EXCLUSIVE,
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
    unique = "UNIQUE " if index.unique else ""
    return (f"CREATE {unique}INDEX CONCURRENTLY IF NOT EXISTS {quote_ident(copy.name)} ON "
            f"{ctx.table_ref(copy.table)}{_index_body(index, copy)}")


def _index_body(index: Index, copy: _Copy) -> str:
    """What follows the table in ``CREATE INDEX``: method, keys on the copies, the tail."""
    keys = ", ".join(_key_sql(copy, key) + key_sql(index.options(position))
                     for position, key in enumerate(index.columns))
    using = "" if index.constraint is not None else f" USING {quote_name(index.method)}"
    return f"{using} ({keys}){_index_tail(copy, index, False)}"


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


def unique_index(ctx: Context, table: Table, name: str, columns: tuple[str, ...]) -> None:
    """Start: a unique index built concurrently (a constraint is later made from it)."""
    ctx.step(Phase.START, f"CREATE UNIQUE INDEX CONCURRENTLY IF NOT EXISTS {quote_ident(name)} "
             f"ON {ctx.table_ref(table)} {idents(columns)}", f"build unique index {name}",
             tables=(table.physical,), lock=Lock.SHARE_UPDATE_EXCLUSIVE, cost=Cost.BUILD,
             transactional=False, index=name)


def rename_constraint_after(ctx: Context, table: Table, old: str, new: str) -> None:
    """Complete: the copy's constraint takes the original's name, once the columns swapped."""
    after_rename(ctx, table, f"ALTER TABLE IF EXISTS {ctx.table_ref(table)} RENAME CONSTRAINT "
                  f"{quote_ident(old)} TO {quote_ident(new)}", f"name {old} back to {new}",
                  safe=(safety.RENAME_OBJECT,))


def physical_name(table: Table, name: str) -> str:
    """A column's name in the table as it is now (its copy's, while it is being rewritten)."""
    column = table.column(name)
    return column.physical if column is not None else name


def constraint_columns(constraint: Constraint) -> set[str]:
    """The columns a constraint is on: its own list, else those its expression names."""
    if constraint.columns:
        return set(constraint.columns)
    refs = column_references(constraint.expression or "")
    return {r.name for r in refs if r.qualifier is None and r.row_level}

