"""IR + catalog -> Plan. One ``_plan_<kind>`` per operation, dispatched exhaustively.

Mechanics follow pgroll's expand/contract (spec §4-§8): new columns under temporary names,
NOT VALID constraints validated at complete, indexes built concurrently, one view per table
in the new version schema, triggers that keep both versions' columns in sync, and a batched
backfill. Where pgroll loses data or does needless work, the plan does better (see
``triggers.py`` and ``columns.py``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, assert_never

from pgroll_dsl import ir
from pgroll_dsl.catalog.derived import new_name, version_schema
from pgroll_dsl.catalog.model import Catalog, Table
from pgroll_dsl.catalog.replay import version_schema_name
from pgroll_dsl.plan.model import (
    Cost,
    Lock,
    Phase,
    Plan,
    Requirement,
    Requires,
    Step,
    StepKind,
)
from pgroll_dsl.source import Span
from pgroll_dsl.sql.ddl import comment_on, fk_actions, idents, qualified
from pgroll_dsl.sql.quoting import do_block, quote_ident, quote_literal


@dataclass(frozen=True, slots=True, kw_only=True)
class PlanOptions:
    """Settings that change the plan but not its meaning."""

    schema: str = "public"
    batch_size: int = 1000
    batch_delay: float = 0.0
    previous_version_schema: str | None = None
    security_invoker: bool = True  # PostgreSQL 15+: views run with the caller's rights
    optimize: bool = True

    @classmethod
    def for_server(cls, server_version: int | None, **options: Any) -> PlanOptions:
        """The options for a server of this version (``None``: offline, PostgreSQL 15+).

        The live executor and ``plan --postgres-url`` both plan through here, so that the
        plan printed for a server is the plan run on it.
        """
        # security_invoker views exist from PostgreSQL 15 on.
        invoker = server_version is None or server_version >= 150000
        return cls(security_invoker=invoker, **options)


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
    hidden: dict[str, str] = field(default_factory=dict)  # dropped table -> its name at start
    renames: list[Step] = field(default_factory=list)  # complete: after all other steps
    after_swap: list[Step] = field(default_factory=list)  # complete: once columns are swapped
    trigger_drops: list[str] = field(default_factory=list)  # functions complete must drop
    rollback: list[list[Step]] = field(default_factory=list)  # per op, run in reverse
    marked_tables: set[str] = field(default_factory=set)
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


def plan_migration(migration: ir.Migration, catalog: Catalog,
                   options: PlanOptions | None = None) -> Plan:
    """Plan start, complete and rollback of ``migration`` against ``catalog``."""
    from pgroll_dsl.passes.combine import combine
    from pgroll_dsl.plan.operations import plan_operation
    from pgroll_dsl.plan.optimize import catalog_after
    from pgroll_dsl.plan.views import view_steps

    options = options or PlanOptions()
    migration, notes = combine(migration)
    version = version_schema(options.schema, version_schema_name(migration))
    afters = []
    state = catalog
    for op in migration.operations:
        state = catalog_after(state, op, options.optimize)
        afters.append(state)
    ctx = Context(options=options, version_schema=version, before=catalog, after=catalog,
                  final=state, notes=notes)
    for op, after in zip(migration.operations, afters, strict=True):
        ctx.after = after
        ctx.origin = op.span
        ctx.rollback.append([])
        plan_operation(ctx, op)
        flush_trigger_drops(ctx)
        ctx.complete.extend(ctx.after_swap)  # steps that need the column's final name
        ctx.after_swap.clear()
        ctx.before = ctx.after
    ctx.origin = migration.span
    views = view_steps(ctx, ctx.final, _completed(ctx.final, migration))
    start = [*ctx.start, *_mark_triggers(ctx), *views.create, *ctx.late_start, *ctx.validate]
    complete = [*ctx.early_complete, *ctx.complete, *_drop_markers(ctx), *ctx.renames]
    complete_views = [*views.drop_previous, *ctx.view_drops]
    if any(isinstance(op, ir.Sql) for op in migration.operations):
        complete.extend(views.recreate)
        complete_views.extend(views.drop_new)  # made again by the rebuild at the end
    rollback = []
    for steps in reversed(ctx.rollback):
        rollback.extend(steps)
    rollback.extend(_drop_markers(ctx))
    tables = ({t.physical for t in catalog.tables} | {t.physical for t in ctx.final.tables}
              | set(ctx.hidden.values()))
    return Plan(
        migration=migration.name, schema=options.schema, version_schema=version,
        previous_version_schema=options.previous_version_schema, start=tuple(start),
        complete=_contract(ctx, complete_views, complete, tables, concurrent_last=True),
        rollback=_contract(ctx, views.drop_new, rollback, tables, concurrent_last=False),
        notes=tuple(ctx.notes), catalog_source=catalog.source, requires=_requires(ctx, start),
    )


def _contract(ctx: Context, view_drops: list[Step], steps: list[Step], tables: set[str],
              concurrent_last: bool) -> tuple[Step, ...]:
    """Complete or rollback: one transaction that drops views, then locks every table it changes.

    Views go before the tables are locked: a client holds a view while it waits for the
    table under it, so a migration that held the table and then wanted the view would wait
    for the client that waits for it. The steps that cannot run in a transaction
    (``DROP INDEX CONCURRENTLY``) run on their own: after the transaction at complete (an
    index the old version used goes once it is gone), before it at rollback (an index only the
    new version used).
    """
    atomic = [s for s in steps if s.transactional]
    alone = [s for s in steps if not s.transactional]
    touched = sorted({name for s in atomic if s.relation and s.kind is not StepKind.RAW_SQL
                      for name in s.relation.split(", ") if name in tables})
    if touched and len(view_drops) + len(atomic) > 1:
        atomic.insert(0, _lock_step(ctx, touched))
    atomic = [*view_drops, *atomic]
    return tuple([*atomic, *alone] if concurrent_last else [*alone, *atomic])


def _lock_step(ctx: Context, tables: list[str]) -> Step:
    """ACCESS EXCLUSIVE on every table at once, in name order, before the first change.

    A table that is not there (a start interrupted before it created it) is skipped; the
    lock wait of each is bounded by ``lock_timeout``, and the executor retries the whole
    transaction, so clients never queue behind it for longer than that.
    """
    body = "\n".join(
        f"  IF pg_catalog.to_regclass({quote_literal(qualified(ctx.schema, t))}) IS NOT NULL "
        f"THEN\n    LOCK TABLE {qualified(ctx.schema, t)} IN ACCESS EXCLUSIVE MODE;\n  END IF;"
        for t in tables)
    return Step(sql=do_block(body),
                summary=f"lock {', '.join(tables)} for the rest of this transaction",
                relation=", ".join(tables), origin=ctx.origin)


def _requires(ctx: Context, start: list[Step]) -> tuple[Requires, ...]:
    """What start made and complete keeps: the version schema, copies, sync triggers."""
    touched = {name for s in start if s.relation for name in s.relation.split(", ")}
    columns = [Requires(Requirement.COLUMN, c.physical, t.physical)
               for t in ctx.final.tables if t.physical in touched for c in t.columns]
    triggers = [Requires(Requirement.TRIGGER, name, table) for table, name in ctx.triggers]
    return (Requires(Requirement.SCHEMA, ctx.version_schema), *columns, *triggers)


def _mark_triggers(ctx: Context) -> list[Step]:
    """One trigger per backfilled table that marks written rows done, after its sync triggers."""
    from pgroll_dsl.plan.triggers import mark_function_sql, mark_name, mark_trigger_sql

    steps = []
    for physical in sorted(ctx.marked_tables):
        name = mark_name(physical)
        ctx.triggers.append((physical, name))
        steps += [
            Step(sql=mark_function_sql(ctx.schema, physical), summary=f"trigger function {name}",
                 lock=Lock.NONE, origin=ctx.origin),
            Step(sql=mark_trigger_sql(ctx.schema, physical),
                 summary=f"trigger {name} on {physical}: rows written from now on have every "
                 "copy filled, the backfill skips them", relation=physical,
                 lock=Lock.SHARE_ROW_EXCLUSIVE, origin=ctx.origin),
        ]
    return steps


def _drop_markers(ctx: Context) -> list[Step]:
    from pgroll_dsl.plan.triggers import MARKER, mark_name

    steps = []
    for physical in sorted(ctx.marked_tables):
        steps += [
            Step(sql=f"DROP FUNCTION IF EXISTS {qualified(ctx.schema, mark_name(physical))}() "
                 "CASCADE", summary=f"drop the marking trigger of {physical}",
                 relation=physical, origin=ctx.origin),
            Step(sql=f"ALTER TABLE IF EXISTS {qualified(ctx.schema, physical)} DROP COLUMN IF "
                 f"EXISTS {quote_ident(MARKER)}", summary=f"drop the backfill marker of "
                 f"{physical}", relation=physical, origin=ctx.origin),
        ]
    return steps


def references_sql(ctx: Context, table: str, columns: tuple[str, ...],
                   on_delete: ir.ForeignKeyAction, on_update: ir.ForeignKeyAction,
                   match: ir.MatchType, set_columns: tuple[str, ...] = ()) -> str:
    """``REFERENCES "s"."t" ("c") MATCH … ON DELETE … ON UPDATE …`` with physical names."""
    target = ctx.after.table(table) or ctx.before.table(table)
    physical_table = target.physical if target is not None else table
    physical_columns = tuple(_physical_column(target, c) for c in columns)
    return (f"REFERENCES {qualified(ctx.schema, physical_table)} {idents(physical_columns)} "
            f"{fk_actions(on_delete, on_update, match, set_columns)}")


def _physical_column(table: Table | None, name: str) -> str:
    column = table.column(name) if table is not None else None
    return column.physical if column is not None else name


def _completed(final: Catalog, migration: ir.Migration) -> Catalog:
    """The schema after complete, raw SQL that runs at complete included."""
    from pgroll_dsl.catalog.sql_ddl import apply_sql

    completed = final.completed()
    for op in migration.operations:
        if isinstance(op, ir.Sql) and op.on_complete:
            completed = apply_sql(completed, op.up.text)[0]
    return completed


def drop_functions_sql(ctx: Context) -> list[str]:
    """``DROP FUNCTION`` of every trigger function still to drop (and forget them)."""
    names, ctx.trigger_drops[:] = list(ctx.trigger_drops), []
    return [f"DROP FUNCTION IF EXISTS {qualified(ctx.schema, n)}() CASCADE" for n in names]


def flush_trigger_drops(ctx: Context) -> None:
    """Complete: drop the sync triggers on their own (nothing to swap atomically with them)."""
    for sql in drop_functions_sql(ctx):
        ctx.step(Phase.COMPLETE, sql, "drop a sync trigger of this migration")


def atomically(ctx: Context, statements: list[str], summary: str, relation: str) -> None:
    """Complete: statements that must happen together, in one transaction (a DO block).

    Dropping a sync trigger and the column it fills at once leaves no moment in which a
    write finds the trigger gone but the old NOT NULL column still there (or the reverse).
    """
    if len(statements) == 1:
        ctx.step(Phase.COMPLETE, statements[0], summary, relation=relation)
        return
    body = "\n".join(f"  {s};" for s in statements)
    ctx.step(Phase.COMPLETE, do_block(body), summary,
             relation=relation)


def comment_step(ctx: Context, phase: Phase, table: Table, column: str | None,
                 text: str | None) -> None:
    """A COMMENT ON statement (SHARE UPDATE EXCLUSIVE, no data touched)."""
    if column is None:
        ctx.step(phase, comment_on("TABLE", ctx.table_ref(table), text),
                 f"comment on table {table.name}", lock=Lock.SHARE_UPDATE_EXCLUSIVE,
                 relation=table.physical)
    else:
        target = f"{ctx.table_ref(table)}.{quote_ident(column)}"
        ctx.step(phase, comment_on("COLUMN", target, text), f"comment on {table.name}.{column}",
                 lock=Lock.SHARE_UPDATE_EXCLUSIVE, relation=table.physical)


__all__ = ["Context", "Cost", "Lock", "Phase", "PlanOptions", "StepKind", "assert_never",
           "comment_step", "new_name", "plan_migration"]
