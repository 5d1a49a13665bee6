"""Per-operation planning for the operations that need no column duplication.

``columns.py`` holds the column-rewriting operations (alter_column and the constraint
operations), which share the duplicate-backfill-swap mechanism.
"""

from __future__ import annotations

from typing import assert_never

from pgroll_dsl import ir
from pgroll_dsl.catalog.derived import DEL_PREFIX, derived, new_name
from pgroll_dsl.catalog.model import Table
from pgroll_dsl.plan import backfill, columns, dependents, partitioned, safety
from pgroll_dsl.plan.columns import install_trigger
from pgroll_dsl.plan.context import (
    Context,
    at_start,
    comment_step,
    flush_trigger_drops,
    not_null_via_check,
    references_sql,
    validate_step,
    version_schemas,
)
from pgroll_dsl.plan.model import Cost, Exemption, Lock, Phase, StepKind
from pgroll_dsl.plan.triggers import Side
from pgroll_dsl.sql.ddl import deferrable, identity_clause, idents, qualified, regclass_or_null
from pgroll_dsl.sql.expressions import is_non_volatile, rename_columns
from pgroll_dsl.sql.inverse import inverse_ddl
from pgroll_dsl.sql.quoting import do_block, quote_ident, render_type
from pgroll_dsl.sql.transactions import index_build, statements_apart
from pgroll_dsl.sql.type_names import canonical_type, is_serial


def plan_operation(ctx: Context, op: ir.Operation) -> None:
    """Emit the steps of one operation into the context's phases."""
    match op:
        case ir.CreateTable():
            _plan_create_table(ctx, op)
        case ir.RenameTable():
            _plan_rename_table(ctx, op)
        case ir.DropTable():
            _plan_drop_table(ctx, op)
        case ir.AddColumn():
            _plan_add_column(ctx, op)
        case ir.DropColumn():
            columns.plan_drop_column(ctx, op)
        case ir.RenameColumn():
            _plan_rename_column(ctx, op)
        case ir.AlterColumn():
            columns.plan_alter_column(ctx, op)
        case ir.CreateIndex():
            _plan_create_index(ctx, op)
        case ir.DropIndex():
            _plan_drop_index(ctx, op)
        case ir.CreateConstraint():
            columns.plan_create_constraint(ctx, op)
        case ir.DropConstraint() | ir.DropMulticolumnConstraint():
            columns.plan_drop_constraint(ctx, op)
        case ir.RenameConstraint():
            _plan_rename_constraint(ctx, op)
        case ir.SetReplicaIdentity():
            _plan_set_replica_identity(ctx, op)
        case ir.Sql():
            _plan_sql(ctx, op)
        case _:
            assert_never(op)


# ---- shared SQL pieces -----------------------------------------------------------------


def column_sql(ctx: Context, column: ir.Column, name: str, *, table_name: str,
               with_constraints: bool) -> str:
    """A column definition; constraints inline only for create_table (the table is empty)."""
    parts = [quote_ident(name), render_type(column.type)]
    if not column.nullable and not column.pk:
        parts.append("NOT NULL")
    if column.default is not None:
        parts.append(f"DEFAULT ({column.default.text})")
    generated = column.generated
    if generated is not None and generated.expression is not None:
        parts.append(f"GENERATED ALWAYS AS ({generated.expression.text}) STORED")
    if generated is not None and generated.identity is not None:
        parts.append(identity_clause(generated.identity))
    if with_constraints:
        if column.unique:
            parts.append("UNIQUE")
        if column.check is not None:
            no_inherit = " NO INHERIT" if column.check.no_inherit else ""
            parts.append(f"CONSTRAINT {quote_ident(column.check.name.name)} CHECK "
                         f"({column.check.constraint.text}){no_inherit}")
        ref = column.references
        if ref is not None:
            parts.append(
                f"CONSTRAINT {quote_ident(ref.name.name)} "
                + references_sql(ctx, ref.table.name, (ref.column.name,), ref.on_delete,
                                 ref.on_update, ref.match_type)
                + deferrable(ref.deferrable, ref.initially_deferred)
            )
    return " ".join(parts)


def _index_parameters(params: ir.IndexParameters | None) -> str:
    if params is None:
        return ""
    text = ""
    if params.include_columns:
        text += f" INCLUDE {idents(c.name for c in params.include_columns)}"
    if params.storage_parameters is not None:
        text += f" WITH ({params.storage_parameters.text})"
    if params.tablespace is not None:
        text += f" USING INDEX TABLESPACE {quote_ident(params.tablespace.name)}"
    return text


def _constraint_sql(ctx: Context, c: ir.Constraint) -> str:
    head = f"CONSTRAINT {quote_ident(c.name.name)} "
    columns = tuple(x.name for x in c.columns)
    match c.type:
        case ir.ConstraintType.PRIMARY_KEY:
            body = f"PRIMARY KEY {idents(columns)}{_index_parameters(c.index_parameters)}"
        case ir.ConstraintType.UNIQUE:
            nulls = " NULLS NOT DISTINCT" if c.nulls_not_distinct else ""
            body = f"UNIQUE{nulls} {idents(columns)}{_index_parameters(c.index_parameters)}"
        case ir.ConstraintType.CHECK:
            check = c.check.text if c.check is not None else "true"
            body = f"CHECK ({check})" + (" NO INHERIT" if c.no_inherit else "")
        case ir.ConstraintType.FOREIGN_KEY:
            ref = c.references
            assert ref is not None
            body = f"FOREIGN KEY {idents(columns)} " + references_sql(
                ctx, ref.table.name, tuple(x.name for x in ref.columns), ref.on_delete,
                ref.on_update, ref.match_type, tuple(x.name for x in ref.on_delete_set_columns))
        case ir.ConstraintType.EXCLUDE:
            exclude = c.exclude or ir.Exclude()
            method = exclude.index_method or "btree"
            elements = exclude.elements.text if exclude.elements else ""
            body = f"EXCLUDE USING {method} ({elements}){_index_parameters(c.index_parameters)}"
            if exclude.predicate is not None:
                body += f" WHERE ({exclude.predicate.text})"
        case _:
            assert_never(c.type)
    return head + body + deferrable(c.deferrable, c.initially_deferred)


# ---- operations ------------------------------------------------------------------------


def _plan_create_table(ctx: Context, op: ir.CreateTable) -> None:
    name = op.name.name
    elements = [column_sql(ctx, c, c.name.name, table_name=name, with_constraints=True)
                for c in op.columns]
    pk = [c.name.name for c in op.columns if c.pk]
    if pk:
        elements.append(f"PRIMARY KEY {idents(pk)}")
    elements.extend(_constraint_sql(ctx, c) for c in op.constraints)
    physical = name
    body = ",\n  ".join(elements)
    referenced = sorted({c.references.table.name for c in op.columns if c.references}
                        | {c.references.table.name for c in op.constraints if c.references})
    ctx.step(Phase.START, f"CREATE TABLE {qualified(ctx.schema, physical)} (\n  {body}\n)",
             f"create table {name}",
             tables=tuple(referenced) if referenced else (name,),
             referenced=tuple(referenced),
             lock=Lock.SHARE_ROW_EXCLUSIVE if referenced else Lock.NONE,
             safe=safety.type_choices(render_type(c.type) for c in op.columns))
    table = ctx.after.table(name)
    assert table is not None
    for column in op.columns:
        if column.comment is not None:
            comment_step(ctx, Phase.START, table, column.name.name, column.comment)
    if op.comment is not None:
        comment_step(ctx, Phase.START, table, None, op.comment)
    drop = f"DROP TABLE IF EXISTS {qualified(ctx.schema, physical)}"
    safe: tuple[Exemption, ...] = (safety.DROP_TABLE,)
    hidden = ctx.hidden.get(physical)
    if hidden is not None:
        # The table this one replaces was hidden at start; until it was, "t" is the old table
        # (a start that stopped before the hide), which rollback must not drop.
        exists = regclass_or_null(ctx.schema, hidden)
        drop = do_block(f"  IF {exists} IS NOT NULL THEN\n    {drop};\n  END IF;")
        safe = ()  # a linter does not look inside the block
    ctx.step(Phase.ROLLBACK, drop, f"drop table {name}", tables=(name,), safe=safe)


def _plan_rename_table(ctx: Context, op: ir.RenameTable) -> None:
    table = ctx.before.table(op.from_.name)
    if table is None:
        return
    ctx.step(Phase.COMPLETE,
             f"ALTER TABLE IF EXISTS {qualified(ctx.schema, table.physical)} RENAME TO "
             f"{quote_ident(op.to.name)}",
             f"rename table {op.from_.name} to {op.to.name}", tables=(table.physical,), last=True,
             safe=(safety.RENAME_TABLE, safety.RENAME_OBJECT))


def _plan_drop_table(ctx: Context, op: ir.DropTable) -> None:
    table = ctx.before.table(op.name.name)
    if table is None:
        return
    physical = table.physical
    ctx.step(Phase.START, dependents.warn_sql(
        qualified(ctx.schema, physical), None, version_schemas(ctx),
        f"table {op.name.name}"), f"say what uses table {op.name.name}, which complete drops",
        lock=Lock.NONE)
    if ctx.final.table(op.name.name) is not None:
        # The name is reused later in this migration: move the old table out of its way.
        hidden = derived(DEL_PREFIX, physical)
        ctx.hidden[physical] = hidden
        # IF EXISTS: run again after a crash that came after the rename, it does nothing.
        ctx.step(Phase.START, f"ALTER TABLE IF EXISTS {qualified(ctx.schema, physical)} RENAME "
                 f"TO {quote_ident(hidden)}", f"hide table {physical}", tables=(physical,),
                 safe=(safety.RENAME_TABLE, safety.RENAME_OBJECT))
        ctx.step(Phase.ROLLBACK, f"ALTER TABLE IF EXISTS {qualified(ctx.schema, hidden)} RENAME "
                 f"TO {quote_ident(physical)}", f"restore table {physical}", tables=(hidden,),
                 safe=(safety.RENAME_TABLE, safety.RENAME_OBJECT))
        physical = hidden
    ctx.step(Phase.COMPLETE, f"DROP TABLE IF EXISTS {qualified(ctx.schema, physical)}",
             f"drop table {op.name.name}", tables=(physical,), safe=(safety.DROP_TABLE,))


def _plan_add_column(ctx: Context, op: ir.AddColumn) -> None:
    table = ctx.before.table(op.table.name)
    after = ctx.after.table(op.table.name)
    if table is None or after is None:
        return
    column = op.column
    name, temp = column.name.name, new_name(column.name.name)
    ref = ctx.table_ref(table)
    default = column.default
    fast = default is not None and is_non_volatile(default.text) and ctx.options.optimize
    # What fills existing rows and old-version writes: `up`, else a default that is not
    # constant. A constant default fills them all at once, so an `up` equal to it is moot.
    up = op.up if op.up is not None else (None if fast else default)
    add = [quote_ident(temp), render_type(column.type)]
    if fast and default is not None:
        add.append(f"DEFAULT ({default.text})")
        if not column.nullable:
            add.append("NOT NULL")  # every row gets the constant: no scan
        if up is not None and up.text == default.text:
            up = None
            ctx.notes.append(f"optimized: add_column {table.name}.{name}: the constant default "
                             "fills existing rows, no trigger and no backfill")
    needs_trigger = up is not None
    generated = column.generated
    if generated is not None and generated.identity is not None:
        add.append(identity_clause(generated.identity))
    # An identity or serial column fills every row from a sequence: the table is rewritten.
    rewrites = is_serial(column.type) or (generated is not None and generated.identity is not None)
    cost = Cost.REWRITE if rewrites else Cost.CATALOG
    ctx.step(Phase.START, f"ALTER TABLE {ref} ADD COLUMN {' '.join(add)}",
             f"add column {table.name}.{name} as {temp}", tables=(table.physical,), cost=cost,
             safe=(*((safety.CONSTANT_DEFAULT,) if fast else ()),
                   *safety.type_choices([render_type(column.type)])))
    if column.comment is not None:
        comment_step(ctx, Phase.START, table, temp, column.comment)
    if needs_trigger:
        assert up is not None
        variables = tuple((c.name, c.physical) for c in table.columns)
        install_trigger(ctx, table, name, up=Side(temp, up.text, variables,
                                                  canonical_type(column.type, ctx.schema)),
                        down=None, marker=True)
    _add_column_constraints(ctx, op, table, temp, fast)
    if not fast and default is not None:  # the new version's view carries it meanwhile
        ctx.step(Phase.COMPLETE, f"ALTER TABLE {ref} ALTER COLUMN {quote_ident(temp)} SET DEFAULT "
                 f"({default.text})", f"set the default of {table.name}.{name}",
                 tables=(table.physical,))
    if needs_trigger:
        backfill.schedule(ctx, table)
    flush_trigger_drops(ctx)  # before the rename: the trigger writes the column by this name
    ctx.step(Phase.COMPLETE, f"ALTER TABLE IF EXISTS {ref} RENAME COLUMN {quote_ident(temp)} TO "
             f"{quote_ident(name)}", f"rename {temp} to {name}", tables=(table.physical,),
             safe=(safety.RENAME_COLUMN,))
    ctx.step(Phase.ROLLBACK, f"ALTER TABLE IF EXISTS {ref} DROP COLUMN IF EXISTS "
             f"{quote_ident(temp)}", f"drop column {temp}", tables=(table.physical,),
             safe=(safety.DROP_COLUMN,))


def _new_unique_key(before: Table, after: Table | None, column: str) -> str:
    """The name the catalog gave the new column's unique key (PostgreSQL's rule, 63 bytes)."""
    old = {c.name for c in before.constraints}
    return next(c.name for c in (after.constraints if after is not None else ())
                if c.type is ir.ConstraintType.UNIQUE and c.columns == (column,)
                and c.name not in old)


def _add_column_constraints(ctx: Context, op: ir.AddColumn, table: Table, temp: str,
                            fast: bool) -> None:
    column, ref = op.column, ctx.table_ref(table)
    name = column.name.name
    if not column.nullable and not fast and not column.pk:
        not_null_via_check(ctx, table, temp, name)
    if column.check is not None:
        check = column.check
        expr = rename_columns(check.constraint.text, {name: temp})
        ctx.step(Phase.START, f"ALTER TABLE {ref} ADD CONSTRAINT {quote_ident(check.name.name)} "
                 f"CHECK ({expr}) NOT VALID", f"add check {check.name.name} (not valid)",
                 tables=(table.physical,))
        validate_step(ctx, table, check.name.name)
    if column.references is not None and table.partitioned:
        fk = column.references
        partitioned.foreign_key(
            ctx, table, fk.name.name, f"({quote_ident(temp)})", f"({quote_ident(name)})",
            references_sql(ctx, fk.table.name, (fk.column.name,), fk.on_delete, fk.on_update,
                           fk.match_type) + deferrable(fk.deferrable, fk.initially_deferred),
            columns.physical_table(ctx, fk.table.name))
    elif column.references is not None:
        fk = column.references
        ctx.step(Phase.START, f"ALTER TABLE {ref} ADD CONSTRAINT {quote_ident(fk.name.name)} "
                 f"FOREIGN KEY ({quote_ident(temp)}) "
                 + references_sql(ctx, fk.table.name, (fk.column.name,), fk.on_delete,
                                  fk.on_update, fk.match_type)
                 + deferrable(fk.deferrable, fk.initially_deferred) + " NOT VALID",
                 f"add foreign key {fk.name.name} (not valid)", tables=(table.physical,),
                 lock=Lock.SHARE_ROW_EXCLUSIVE)
        validate_step(ctx, table, fk.name.name)
    if column.unique:
        index = _new_unique_key(table, ctx.after.table(table.name), name)
        ctx.step(Phase.START, f"CREATE UNIQUE INDEX CONCURRENTLY IF NOT EXISTS "
                 f"{quote_ident(index)} ON {ref} ({quote_ident(temp)})",
                 f"build unique index {index}", tables=(table.physical,),
                 lock=Lock.SHARE_UPDATE_EXCLUSIVE, cost=Cost.BUILD, transactional=False,
                 index=index)
        ctx.step(Phase.COMPLETE, f"ALTER TABLE {ref} ADD CONSTRAINT {quote_ident(index)} "
                 f"UNIQUE USING INDEX {quote_ident(index)}", f"attach unique constraint {index}",
                 tables=(table.physical,))
        ctx.step(Phase.ROLLBACK, f"DROP INDEX CONCURRENTLY IF EXISTS "
                 f"{qualified(ctx.schema, index)}", f"drop index {index}",
                 tables=(table.physical,), lock=Lock.SHARE_UPDATE_EXCLUSIVE, transactional=False)


def _plan_rename_column(ctx: Context, op: ir.RenameColumn) -> None:
    """Complete renames the table's column, after every other step (``last``).

    A column this migration made (an added column, a rewritten column's copy) is renamed
    by its own operation's complete from its temporary name to the name it had then, which
    is ``op.from_`` here, and a column renamed earlier in this migration has that name by
    then too: this rename follows them, from the column's name before it. (A column this
    migration made was skipped: the table's column kept the old name while the new
    version's view showed the new one, and the next migration's views follow the table.)
    """
    table = ctx.before.table(op.table.name)
    column = table.column(op.from_.name) if table is not None else None
    if table is None or column is None:
        return
    final = ctx.final.table(op.table.name)
    if final is None or all(c.physical != column.physical for c in final.columns):
        return  # dropped later in this migration: complete drops it under its old name
    ctx.step(Phase.COMPLETE, f"ALTER TABLE IF EXISTS {ctx.table_ref(table)} RENAME COLUMN "
             f"{quote_ident(column.name)} TO {quote_ident(op.to.name)}",
             f"rename column {op.from_.name} to {op.to.name}", tables=(table.physical,),
             last=True, safe=(safety.RENAME_COLUMN,))


def _plan_create_index(ctx: Context, op: ir.CreateIndex) -> None:
    table = ctx.before.table(op.table.name)
    if table is None:
        return
    fields = []
    for field in op.columns:
        column = table.column(field.column.name)
        text = quote_ident(column.physical if column is not None else field.column.name)
        if field.collate is not None:
            text += f" COLLATE {field.collate}"
        if field.opclass is not None:
            text += f" {quote_ident(field.opclass.name.name)}"
            if field.opclass.params:
                text += " (" + ", ".join(p.text for p in field.opclass.params) + ")"
        if field.sort is not None:
            text += f" {field.sort.value}"
        if field.nulls is not None:
            text += f" NULLS {field.nulls.value}"
        fields.append(text)
    unique = "UNIQUE " if op.unique else ""
    method = f" USING {op.method.value}" if op.method is not None else ""
    body = f"{method} ({', '.join(fields)})"
    if op.storage_parameters is not None:
        body += f" WITH ({op.storage_parameters.text})"
    if op.predicate is not None:
        renames = {c.name: c.physical for c in table.columns if c.name != c.physical}
        body += f" WHERE ({rename_columns(op.predicate.text, renames)})"
    if table.partitioned:
        _plan_partitioned_index(ctx, table, op.name.name, f"CREATE {unique}INDEX", body)
        return
    sql = (f"CREATE {unique}INDEX CONCURRENTLY {quote_ident(op.name.name)} ON "
           f"{ctx.table_ref(table)}{body}")
    ctx.step(Phase.START, sql, f"build index {op.name.name}", tables=(table.physical,),
             lock=Lock.SHARE_UPDATE_EXCLUSIVE, cost=Cost.BUILD, transactional=False,
             index=op.name.name)
    ctx.step(Phase.ROLLBACK, f"DROP INDEX CONCURRENTLY IF EXISTS "
             f"{qualified(ctx.schema, op.name.name)}", f"drop index {op.name.name}",
             tables=(table.physical,), lock=Lock.SHARE_UPDATE_EXCLUSIVE, transactional=False)


def _plan_partitioned_index(ctx: Context, table: Table, name: str, create: str,
                            body: str) -> None:
    """An index of a partitioned table, partition by partition (``partitioned.py``)."""
    start, rollback = partitioned.index_steps(ctx, table, name, create, body)
    ctx.start.extend(start)
    ctx.rollback[-1].extend(rollback)


def _plan_drop_index(ctx: Context, op: ir.DropIndex) -> None:
    found = ctx.before.index(op.name.name)
    if found is not None and found[0].partitioned:
        table = found[0]
        ctx.step(Phase.COMPLETE, f"DROP INDEX IF EXISTS {qualified(ctx.schema, op.name.name)}",
                 f"drop index {op.name.name} of partitioned table {table.name}, with its "
                 "partitions' (catalog only)", tables=(table.physical,),
                 safe=(safety.DROP_INDEX_LOCKED,))
        ctx.notes.append(
            f"drop_index {op.name.name}: PostgreSQL cannot drop an index of a partitioned "
            f"table concurrently; complete drops it in its transaction, under ACCESS "
            f"EXCLUSIVE on {table.name} and each of its partitions (catalog only, no scan)")
        return
    ctx.step(Phase.COMPLETE, f"DROP INDEX CONCURRENTLY IF EXISTS "
             f"{qualified(ctx.schema, op.name.name)}", f"drop index {op.name.name}",
             lock=Lock.SHARE_UPDATE_EXCLUSIVE, transactional=False)


def _plan_rename_constraint(ctx: Context, op: ir.RenameConstraint) -> None:
    table = ctx.before.table(op.table.name)
    if table is None:
        return
    ctx.constraint_names[table.physical, op.to.name] = at_start(ctx, table, op.from_.name)
    ctx.step(Phase.COMPLETE, f"ALTER TABLE IF EXISTS {ctx.table_ref(table)} RENAME CONSTRAINT "
             f"{quote_ident(op.from_.name)} TO {quote_ident(op.to.name)}",
             f"rename constraint {op.from_.name} to {op.to.name}", tables=(table.physical,),
             last=True, safe=(safety.RENAME_OBJECT,))


def _replica_identity_sql(kind: str, index: str | None) -> str:
    if kind == "index":
        return f"USING INDEX {quote_ident(index or '')}"
    return kind.upper()


def _plan_set_replica_identity(ctx: Context, op: ir.SetReplicaIdentity) -> None:
    table = ctx.before.table(op.table.name)
    if table is None:
        return
    identity = op.identity
    new = _replica_identity_sql(identity.type.value,
                                identity.index.name if identity.index else None)
    old = _replica_identity_sql(table.replica_identity, table.replica_identity_index)
    ctx.step(Phase.START, f"ALTER TABLE {ctx.table_ref(table)} REPLICA IDENTITY {new}",
             f"set replica identity of {table.name}", tables=(table.physical,))
    ctx.step(Phase.ROLLBACK, f"ALTER TABLE IF EXISTS {ctx.table_ref(table)} REPLICA IDENTITY "
             f"{old}", f"restore replica identity of {table.name}", tables=(table.physical,))


def _raw_steps(ctx: Context, phase: Phase, text: str, summary: str, **kw: object) -> None:
    """The author's SQL as a step, or a step per piece where some must run outside a transaction.

    (``statements_apart``.) Which pieces run in a transaction keeps the author's order:
    complete runs its transaction, then what runs outside it; rollback the other way round
    (``planner._contract``). So at complete the pieces before the first that must run alone
    join complete's transaction (with the new version's views dropped and made again around
    them, as for raw SQL that runs in it), at rollback those after the last; at start each
    piece runs as it may, in order.
    """
    pieces = statements_apart(text)
    alone = [i for i, piece in enumerate(pieces) if piece.alone]
    for number, piece in enumerate(pieces, 1):
        if len(pieces) == 1 or phase is Phase.START:
            transactional = not piece.alone
        elif phase is Phase.COMPLETE:
            transactional = number - 1 < alone[0]
        else:
            transactional = number - 1 > alone[-1]
        said = summary if len(pieces) == 1 else f"{summary}, statement {number} of {len(pieces)}"
        build = index_build(piece.text, ctx.schema)
        # An index build is known for what it is: the lock it takes (no client waits for
        # it) and the table it reads, as the planner's own builds are shown.
        known = {} if build is None else {"lock": Lock.SHARE_UPDATE_EXCLUSIVE,
                                          "tables": (build.table,), "cost": Cost.BUILD}
        ctx.step(phase, piece.text, said, kind=StepKind.RAW_SQL,
                 transactional=transactional, index=build.name if build else None,
                 **{"cost": Cost.UNKNOWN, **kw, **known})


def _plan_sql(ctx: Context, op: ir.Sql) -> None:
    phase = Phase.COMPLETE if op.on_complete else Phase.START
    _raw_steps(ctx, phase, op.up.text, "raw SQL (up)", lock=Lock.ACCESS_EXCLUSIVE)
    if op.down is not None:
        _raw_steps(ctx, Phase.ROLLBACK, op.down.text, "raw SQL (down)")
    elif not op.on_complete:
        undo = inverse_ddl(op.up.text)
        if undo is None:
            ctx.notes.append("rollback cannot undo the raw SQL of this migration: it has no "
                             "`down`, and its statements have no obvious inverse")
            return
        for sql in undo:
            ctx.step(Phase.ROLLBACK, sql, "undo raw SQL (inferred: the operation has no down)")
