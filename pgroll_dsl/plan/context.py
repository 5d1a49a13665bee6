"""What the per-operation planners share while one migration is planned, and its helpers.

``planner.plan_migration`` makes one ``Context`` and hands it to ``operations``, ``columns``,
``views`` and ``optimize``, which append steps to its phases. It lives apart from the
planner so that those modules depend on it and the planner depends on them, never back.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from pgroll_dsl import ir
from pgroll_dsl.catalog.derived import NOT_NULL_PREFIX, derived
from pgroll_dsl.catalog.model import Catalog, Table
from pgroll_dsl.plan import safety
from pgroll_dsl.plan.model import Cost, Exemption, Lock, Phase, Step
from pgroll_dsl.plan.options import PlanOptions
from pgroll_dsl.plan.triggers import TriggerSpec
from pgroll_dsl.source import Span
from pgroll_dsl.sql.ddl import comment_on, fk_actions, idents, qualified
from pgroll_dsl.sql.quoting import do_block, quote_ident


@dataclass(slots=True)
class Context:
    """What the per-operation planners share while one migration is planned."""

    options: PlanOptions
    version_schema: str
    before: Catalog  # the catalog before the operation being planned
    after: Catalog  # ... and after it
    final: Catalog  # after every operation has started
    origin: Span | None = None
    start: list[Step] = field(default_factory=list)
    late_start: list[Step] = field(default_factory=list)  # backfills: after views exist
    validate: list[Step] = field(default_factory=list)  # start: after the backfills
    triggers: list[tuple[str, str]] = field(default_factory=list)  # (table, trigger) made
    complete: list[Step] = field(default_factory=list)
    early_complete: list[Step] = field(default_factory=list)  # before any rename
    view_drops: list[Step] = field(default_factory=list)  # complete: before the table locks
    # complete: per table (as the plan names it), the old columns whose copies replace them;
    # what uses them is locked before the tables and carried over (``plan/dependents.py``).
    carried: dict[str, list[str]] = field(default_factory=dict)
    # (table's physical name, constraint's name) -> the name the constraint has until
    # complete renames it: a ``rename_constraint`` of this migration (see ``at_start``).
    constraint_names: dict[tuple[str, str], str] = field(default_factory=dict)
    hidden: dict[str, str] = field(default_factory=dict)  # dropped table -> its name at start
    renames: list[Step] = field(default_factory=list)  # complete: after all other steps
    after_swap: list[Step] = field(default_factory=list)  # complete: once columns are swapped
    trigger_drops: list[str] = field(default_factory=list)  # functions complete must drop
    rollback: list[list[Step]] = field(default_factory=list)  # per op, run in reverse
    marked_tables: set[str] = field(default_factory=set)
    marker_steps: dict[str, int] = field(default_factory=dict)  # table -> its marker's step
    first_pass: dict[str, list[Step]] = field(default_factory=dict)  # two-pass tables: pass 1
    syncs: list[TriggerSpec] = field(default_factory=list)  # sync triggers, in firing order
    sync_functions: dict[str, int] = field(default_factory=dict)  # function -> its start step
    sync_triggers: dict[str, int] = field(default_factory=dict)  # trigger -> its start step
    backfill_keys: dict[str, tuple[str, ...]] = field(default_factory=dict)  # per table
    integer_keyed: set[str] = field(default_factory=set)  # tables keyed on one integer column
    notes: list[str] = field(default_factory=list)

    @property
    def schema(self) -> str:
        """The target schema."""
        return self.options.schema

    def step(self, phase: Phase, sql: str, summary: str, **kw: object) -> None:
        """Append a step to a phase, stamped with the current operation's origin."""
        last = bool(kw.pop("last", False))
        made = Step(sql=sql, summary=summary, origin=self.origin, **kw)  # type: ignore[arg-type]
        if last:  # a rename at complete: physical names change after it, so it goes last
            self.renames.append(made)
            return
        if phase is Phase.START:
            self.start.append(made)
        elif phase is Phase.COMPLETE:
            self.complete.append(made)
        else:
            self.rollback[-1].append(made)

    def table_ref(self, table: Table) -> str:
        """Schema-qualified physical table name."""
        return qualified(self.schema, table.physical)



def references_sql(ctx: Context, table: str, columns: tuple[str, ...],
                   on_delete: ir.ForeignKeyAction, on_update: ir.ForeignKeyAction,
                   match: ir.MatchType, set_columns: tuple[str, ...] = (),
                   schema: str | None = None) -> str:
    """``REFERENCES "s"."t" ("c") MATCH … ON DELETE … ON UPDATE …`` with physical names.

    ``schema``: the referenced table's, where it is not the target schema; such a table is
    not in the catalog (nor is one of its name there taken for it), its names are as they are.
    """
    target = (ctx.after.table(table) or ctx.before.table(table)) if schema is None else None
    physical_table = target.physical if target is not None else table
    physical_columns = tuple(_physical_column(target, c) for c in columns)
    return (f"REFERENCES {qualified(schema or ctx.schema, physical_table)} "
            f"{idents(physical_columns)} {fk_actions(on_delete, on_update, match, set_columns)}")


def _physical_column(table: Table | None, name: str) -> str:
    column = table.column(name) if table is not None else None
    return column.physical if column is not None else name


def drop_functions_sql(ctx: Context) -> list[str]:
    """``DROP FUNCTION`` of every trigger function still to drop (and forget them)."""
    names, ctx.trigger_drops[:] = list(ctx.trigger_drops), []
    return [f"DROP FUNCTION IF EXISTS {qualified(ctx.schema, n)}() CASCADE" for n in names]


def flush_trigger_drops(ctx: Context) -> None:
    """Complete: drop the sync triggers on their own (nothing to swap atomically with them)."""
    for sql in drop_functions_sql(ctx):
        ctx.step(Phase.COMPLETE, sql, "drop a sync trigger of this migration",
                 safe=(safety.DROP_FUNCTION,))


def atomically(ctx: Context, statements: list[str], summary: str, relation: str,
               safe: tuple[Exemption, ...] = ()) -> None:
    """Complete: statements that must happen together, in one transaction (a DO block).

    Dropping a sync trigger and the column it fills at once leaves no moment in which a
    write finds the trigger gone but the old NOT NULL column still there (or the reverse).
    """
    if len(statements) == 1:
        ctx.step(Phase.COMPLETE, statements[0], summary, tables=(relation,), safe=safe)
        return
    body = "\n".join(f"  {s};" for s in statements)
    ctx.step(Phase.COMPLETE, do_block(body), summary,
             tables=(relation,), safe=safe)


def comment_step(ctx: Context, phase: Phase, table: Table, column: str | None,
                 text: str | None) -> None:
    """A COMMENT ON statement (SHARE UPDATE EXCLUSIVE, no data touched)."""
    if column is None:
        ctx.step(phase, comment_on("TABLE", ctx.table_ref(table), text),
                 f"comment on table {table.name}", lock=Lock.SHARE_UPDATE_EXCLUSIVE,
                 tables=(table.physical,))
    else:
        target = f"{ctx.table_ref(table)}.{quote_ident(column)}"
        ctx.step(phase, comment_on("COLUMN", target, text), f"comment on {table.name}.{column}",
                 lock=Lock.SHARE_UPDATE_EXCLUSIVE, tables=(table.physical,))


def validate_step(ctx: Context, table: Table, constraint: str) -> None:
    """VALIDATE a NOT VALID constraint at the end of start, once the backfill is done.

    A scan that lets reads and writes continue. Run at start, an existing row that violates
    the constraint is reported while ``rollback`` is still free, and complete only swaps.
    """
    ctx.validate.append(Step(
        sql=f"ALTER TABLE IF EXISTS {ctx.table_ref(table)} VALIDATE CONSTRAINT "
        f"{quote_ident(constraint)}", summary=f"validate {constraint}", tables=(table.physical,),
        lock=Lock.SHARE_UPDATE_EXCLUSIVE, cost=Cost.SCAN, origin=ctx.origin))


def not_null_via_check(ctx: Context, table: Table, physical: str, name: str) -> None:
    """NOT NULL without a scan under ACCESS EXCLUSIVE: NOT VALID check, validate, SET NOT NULL.

    ``physical`` is the column's name during the migration, ``name`` its name after complete.
    """
    check = derived(NOT_NULL_PREFIX, name)
    ref = ctx.table_ref(table)
    ctx.step(Phase.START, f"ALTER TABLE {ref} ADD CONSTRAINT {quote_ident(check)} CHECK "
             f"({quote_ident(physical)} IS NOT NULL) NOT VALID",
             f"NOT NULL of {name} as a check (not valid)", tables=(table.physical,))
    validate_step(ctx, table, check)
    after_rename(ctx, table, f"ALTER TABLE IF EXISTS {ref} ALTER COLUMN {quote_ident(name)} SET "
                  "NOT NULL", f"set {name} NOT NULL (the valid check spares the scan)",
                  safe=(safety.NOT_NULL_CHECKED,))
    after_rename(ctx, table, f"ALTER TABLE IF EXISTS {ref} DROP CONSTRAINT IF EXISTS "
                  f"{quote_ident(check)}", f"drop the check {check}",
                  safe=(safety.DROP_CONSTRAINT,))


def after_rename(ctx: Context, table: Table, sql: str, summary: str,
                  lock: Lock = Lock.ACCESS_EXCLUSIVE, safe: tuple[Exemption, ...] = ()) -> None:
    """A complete step that needs the column's final name: it runs right after the swap."""
    ctx.after_swap.append(Step(sql=sql, summary=summary, tables=(table.physical,), lock=lock,
                               safe=safe, origin=ctx.origin))


def at_start(ctx: Context, table: Table, constraint: str) -> str:
    """The name ``constraint`` of ``table`` has in the database until complete's renames.

    A ``rename_constraint`` renames at complete, last of all, while the catalog the later
    operations are planned on already has the new name: a copy rebuilt for such a
    constraint must take back the name the original has, which the rename then changes.
    """
    return ctx.constraint_names.get((table.physical, constraint), constraint)


def version_schemas(ctx: Context) -> tuple[str, ...]:
    """The version schemas whose views complete drops before anything else."""
    return tuple(s for s in (ctx.options.previous_version_schema, ctx.version_schema) if s)
