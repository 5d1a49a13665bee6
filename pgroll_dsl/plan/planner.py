"""IR + catalog -> Plan: the operations in order, then the phases assembled.

Mechanics follow pgroll's expand/contract (spec §4-§8): new columns under temporary names,
NOT VALID constraints validated at the end of start, indexes built concurrently, one view per
table in the new version schema, triggers that keep both versions' columns in sync, and a
batched backfill. Each operation is planned by ``operations.plan_operation`` into the shared
``context.Context``; this module orders what they made into start, complete and rollback and
wraps complete and rollback into one transaction each (``_contract``).
"""

from __future__ import annotations

from collections.abc import Iterator

from pgroll_dsl import ir
from pgroll_dsl.catalog.derived import BACKFILLED_BY, MARKER, NEW_PREFIX, version_schema
from pgroll_dsl.catalog.model import Catalog, Table
from pgroll_dsl.catalog.replay import version_schema_name
from pgroll_dsl.catalog.sql_ddl import apply_sql
from pgroll_dsl.passes.combine import combine
from pgroll_dsl.plan import backfill, dependents, joined
from pgroll_dsl.plan.context import Context, flush_trigger_drops
from pgroll_dsl.plan.model import Lock, Plan, Requirement, Requires, Step, StepKind
from pgroll_dsl.plan.operations import plan_operation
from pgroll_dsl.plan.optimize import catalog_after
from pgroll_dsl.plan.options import PlanOptions
from pgroll_dsl.plan.safety import generated
from pgroll_dsl.plan.triggers import relied_on
from pgroll_dsl.plan.views import ViewSteps, view_steps
from pgroll_dsl.sql.ddl import regclass_or_null
from pgroll_dsl.sql.quoting import do_block, dollar_quote, quote_literal


def plan_migration(migration: ir.Migration, catalog: Catalog,
                   options: PlanOptions | None = None) -> Plan:
    """Plan start, complete and rollback of ``migration`` against ``catalog``."""
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
    backfill.gather(ctx)  # (before finish, which decides which tables get two passes)
    backfill.finish(ctx)
    backfill.mark_last_triggers(ctx)
    backfill.place(ctx)  # (moves start steps: after mark_last_triggers, which uses positions)
    raw = [s for s in ctx.complete if s.kind is StepKind.RAW_SQL]
    in_transaction = _completed(ctx.final, [s for s in raw if s.transactional])
    views = view_steps(ctx, ctx.final, in_transaction)
    if not options.version_schema:  # the tables change; no schema of views shows them
        views = ViewSteps([], [], [], [], [])
    start = [*ctx.start, *views.create, *ctx.late_start]
    trees = _trees_at_start(ctx, catalog, migration)
    made = [*ctx.start, *ctx.late_start, *ctx.validate]
    in_play = _in_play_trees(trees, made)
    opened = joined.open_partitions(trees, made, in_play)
    # (the check reads them first)
    requires = _requires(ctx, [*start, *ctx.validate], trees, made, in_play, opened)
    marked = _marked(ctx, trees, requires)
    # Partitions that joined the open trees: backfilled before the new version shows them;
    # a step for one partition of them is skipped where that partition is gone.
    start[len(ctx.start):len(ctx.start)] = joined.catch_up_steps(ctx.schema, marked, ctx.origin)
    start = joined.for_partitions(start, opened)
    start += [*_partitions_check(ctx, requires, marked), *ctx.validate]
    left = _left_the_tree(ctx, requires, trees)
    complete = [*joined.complete_checks(ctx.schema, marked, version if options.version_schema
                                        else None, ctx.origin),
                *_left_the_tree(ctx, tuple(r for r in requires
                                           if r.kind is Requirement.PARTITIONS_KEPT), trees,
                                alone=True),
                *ctx.early_complete, *ctx.complete, *backfill.drop_steps(ctx), *ctx.renames]
    complete_views = [*views.drop_previous, *ctx.view_drops]
    rebuilt: list[Step] = []  # the views made again after raw SQL that runs alone
    if any(isinstance(op, ir.Sql) for op in migration.operations):
        complete.extend(views.recreate)
        complete_views.extend(views.drop_new)  # made again by the rebuild at the end
    else:
        complete.extend(views.regrant)
    if options.version_schema and not all(s.transactional for s in raw):
        # Raw SQL that runs after complete's transaction (outside one) and changes what the
        # views show (the transaction's show the schema as it leaves it): they are made
        # again after it, in a transaction of their own (the schema dropped and made again
        # inside it: clients never find it missing), the last of complete.
        again = view_steps(ctx, ctx.final, _completed(ctx.final, raw)).recreate
        if [s.sql for s in again] != [s.sql for s in views.recreate]:
            rebuilt = list(again)
    rollback = []
    for steps in reversed(ctx.rollback):
        rollback.extend(steps)
    rollback.extend(backfill.drop_steps(ctx))
    rollback.extend(left)
    tables = ({t.physical for t in catalog.tables} | {t.physical for t in ctx.final.tables}
              | set(ctx.hidden.values()))
    return Plan(
        migration=migration.name, schema=options.schema, version_schema=version,
        previous_version_schema=options.previous_version_schema,
        start=tuple(map(generated, start)),
        complete=tuple(map(generated, (*_contract(ctx, catalog, complete_views, complete,
                                                  tables, concurrent_last=True,
                                                  carried=ctx.carried), *rebuilt))),
        rollback=tuple(map(generated, _contract(ctx, catalog, views.drop_new, rollback,
                                                tables, concurrent_last=False, carried={}))),
        notes=tuple(ctx.notes), catalog_source=catalog.source, requires=requires,
        builtins=relied_on(ctx.syncs),
    )


def _contract(ctx: Context, before: Catalog, view_drops: list[Step], steps: list[Step],
              tables: set[str], concurrent_last: bool,
              carried: dict[str, list[str]]) -> tuple[Step, ...]:
    """Complete or rollback: one transaction that drops views, then locks every table it changes.

    Views go before the tables are locked: a client holds a view while it waits for the
    table under it, so a migration that held the table and then wanted the view would wait
    for the client that waits for it. The steps that cannot run in a transaction
    (``DROP INDEX CONCURRENTLY``) run on their own: after the transaction at complete (an
    index the old version used goes once it is gone), before it at rollback (an index only the
    new version used). ``carried``: the old columns whose users complete moves to the copies
    (``plan/dependents.py``); the lock step takes the views among those users first.
    """
    atomic = [s for s in steps if s.transactional]
    alone = [s for s in steps if not s.transactional]
    named = {name for s in atomic if s.kind is not StepKind.RAW_SQL
             for name in s.tables if name in tables}
    touched = sorted(named, key=lambda name: (_depth(ctx, before, name), name))
    changed = {n for s in atomic for n in s.tables if n not in s.referenced}
    if touched and len(view_drops) + len(atomic) > 1:
        atomic.insert(0, _lock_step(ctx, touched, [t for t in touched if t not in changed],
                                    carried, _has_partitions(ctx, before, touched[0])))
    atomic = [*view_drops, *atomic]
    return tuple([*atomic, *alone] if concurrent_last else [*alone, *atomic])


def _depth(ctx: Context, before: Catalog, physical: str) -> int:
    """How many tables stand above ``physical`` (partition parents), for the lock step's order.

    The lock step takes parents before their partitions, as a client does (a query of the
    root locks it, then its partitions); in name order a partition that sorts before its
    root (``a_2025`` under ``ev``) would be locked first, a deadlock with such a client.
    Judged by the catalog before start (``before``: where a partition detached or dropped
    since was), else after complete; a table in neither (hidden by start) counts as a
    partition, locked after the roots. Every table stays named: one detached meanwhile is
    then locked here too, before the first change, not halfway through the transaction.
    """
    return next((len(catalog.above(table)) for catalog, table in _known(ctx, before, physical)),
                1)


def _has_partitions(ctx: Context, before: Catalog, physical: str) -> bool:
    """Whether ``physical`` is partitioned, before start or after complete (as ``_depth``)."""
    return any(table.partitioned for _, table in _known(ctx, before, physical))


def _known(ctx: Context, before: Catalog, physical: str) -> Iterator[tuple[Catalog, Table]]:
    """``physical`` as the catalog before start has it, then as the one after complete has it.

    Where each has it; a table start hid is looked for under the name it had.
    """
    name = next((n for n, hidden in ctx.hidden.items() if hidden == physical), physical)
    for catalog in (before, ctx.final):
        table = next((t for t in catalog.tables if t.physical == name), None)
        if table is not None:
            yield catalog, table


def _lock_step(ctx: Context, tables: list[str], referenced: list[str],
               carried: dict[str, list[str]], partitioned: bool = False) -> Step:
    """ACCESS EXCLUSIVE on every table at once, parents first, before the first change.

    Before them, the views that use a column in ``carried`` (a client of a view locks the
    view, then the table: the same order).

    A table that is not there (a start interrupted before it created it) is skipped; the
    lock wait of each is bounded by ``lock_timeout``, and the executor retries the whole
    transaction, so clients never queue behind it for longer than that. Several tables, or
    a partitioned one (``partitioned``: the first is; ``LOCK TABLE`` of it locks each
    partition after it), are taken by ``dependents.tables_block``.
    """
    if carried:
        sql = dependents.lock_block(carried, ctx.schema, tables)
    elif len(tables) > 1 or partitioned:
        sql = dependents.tables_block(ctx.schema, tables)
    else:
        sql = do_block("\n".join(dependents.table_locks(ctx.schema, tables,
                                                        "ACCESS EXCLUSIVE MODE")))
    return Step(sql=sql,
                summary=f"lock {', '.join(tables)} for the rest of this transaction",
                tables=tuple(tables), referenced=tuple(referenced), origin=ctx.origin)


def _trees_at_start(ctx: Context, catalog: Catalog, migration: ir.Migration) -> Catalog:
    """The catalog whose partition trees are those start leaves (and complete begins with).

    Start plans each partition's steps on the partitions there are before it; the final
    catalog differs where complete drops or renames a partition (``drop table ev_2025``),
    which start leaves attached under its name. Raw SQL runs at start and may itself
    create, attach or detach partitions: then the final catalog is the better guess.
    """
    if any(isinstance(op, ir.Sql) for op in migration.operations):
        return ctx.final
    return catalog


def _at_start(ctx: Context, physical: str) -> str:
    """A table's name during the migration: a dropped table whose name is reused is hidden."""
    return ctx.hidden.get(physical, physical)


def _in_play_trees(trees: Catalog, made: list[Step]) -> list[Table]:
    """The partitioned tables whose tree start changes (``made``: the steps it makes)."""
    changed = {name for s in made for name in s.tables}
    return [t for t in trees.tables if t.partitioned and _in_play(trees, t, changed)]


def _requires(ctx: Context, start: list[Step], trees: Catalog, made: list[Step],
              in_play: list[Table], opened: set[str]) -> tuple[Requires, ...]:
    """What start made and complete keeps: the version schema, copies, sync triggers.

    ``trees``: the partitions start leaves (``_trees_at_start``); ``made``: the steps start
    makes, ``in_play``: the partitioned tables they change (``_in_play_trees``); ``opened``:
    the partitions below an open tree, which may leave it meanwhile (their columns are
    their parent's while they are partitions, and no longer required of them once not).
    """
    touched = {name for s in start for name in s.tables} - opened
    columns = [Requires(Requirement.COLUMN, c.physical, t.physical)
               for t in ctx.final.tables if t.physical in touched for c in t.columns]
    triggers = [Requires(Requirement.TRIGGER, name, table) for table, name in ctx.triggers]
    # Steps made per partition (indexes, foreign keys, backfills) hold for the partitions
    # there were: one attached or detached since start has none of them. (Views do not
    # count: they are of the parents.)
    # A tree whose partitions get nothing from start but their backfill lets others join
    # and leave meanwhile (``plan/joined.py``): those that join are backfilled, not refused.
    partitions = [joined.requirement(joined.is_open(trees, t, made),
                                     sorted(_at_start(ctx, p.physical)
                                            for p in trees.partitions(t.name)),
                                     _at_start(ctx, t.physical))
                  for t in in_play]
    schema = (Requires(Requirement.SCHEMA, ctx.version_schema),) if ctx.options.version_schema \
        else ()
    return (*schema, *columns, *triggers, *partitions)


def _marked(ctx: Context, trees: Catalog, requires: tuple[Requires, ...]) -> list[Requires]:
    """The open trees' requirements whose partitions have the backfill's marker to catch up."""
    found = []
    for requirement in requires:
        if requirement.kind is not Requirement.PARTITIONS_KEPT:
            continue
        table = next((t for t in trees.tables
                      if _at_start(ctx, t.physical) == requirement.relation), None)
        if table is not None and any(t.physical in ctx.marked_tables
                                     for t in (table, *trees.above(table))):
            found.append(requirement)
    return found


def partitions_hold(schema: str, requirement: Requires) -> str:
    """A boolean expression: ``requirement.relation``'s partitions are ``requirement.name``.

    The direct partitions, by name, as start planned them (``_requires``); a table that is
    gone has none. (Of an open tree, ``PARTITIONS_KEPT``, partitions join and leave.)
    """
    assert requirement.kind is Requirement.PARTITIONS and requirement.relation is not None
    return ("(SELECT coalesce(pg_catalog.string_agg(c.relname, ',' ORDER BY c.relname COLLATE "
            '"C"), \'\') FROM pg_catalog.pg_inherits i JOIN pg_catalog.pg_class c ON c.oid = '
            f"i.inhrelid WHERE i.inhparent = {regclass_or_null(schema, requirement.relation)}) = "
            f"{quote_literal(requirement.name)}")


def _partitions_check(ctx: Context, requires: tuple[Requires, ...],
                      marked: list[Requires]) -> list[Step]:
    """At the end of start, before the checks are validated: no partition came or went.

    Start made a backfill (and indexes, foreign keys) for each partition there was when it
    was planned; a partition created or attached since has rows without their copies, which
    the new version would show (NULL, or a NOT NULL check failing with a message that does
    not say why). Complete checks the same before it drops anything; checked here too, the
    new version is never left with them, and the operator learns what to do at once. Of an
    open tree, a partition that joined is backfilled here instead, and one that left is no
    longer the tree's (``joined.last_checks``; ``marked``: the open trees with a backfill).
    """
    checks = [r for r in requires if r.kind is Requirement.PARTITIONS]
    if not checks and not marked:
        return []
    body = [
        f"  IF NOT {partitions_hold(ctx.schema, r)} THEN\n"
        f"    RAISE EXCEPTION USING ERRCODE = 'object_not_in_prerequisite_state', MESSAGE = "
        f"{quote_literal(_changed(r))},\n"
        "      HINT = 'Unless start was rolled back already (pgroll-dsl start does that), "
        "roll it back (pgroll-dsl rollback); then start the migration again.';\n"
        "  END IF;" for r in checks]
    body += joined.last_checks(ctx.schema, marked, ctx.version_schema
                               if ctx.options.version_schema else None)
    tables = tuple(r.relation for r in (*checks, *marked) if r.relation is not None)
    sql = ("DO " + dollar_quote(f"\n{joined.DECLARE}BEGIN\n" + "\n".join(body) + "\nEND\n")
           if marked else do_block("\n".join(body)))
    summary = (f"the partitions of {', '.join(tables)} are those start was planned for"
               if not marked else
               f"the partitions that joined {', '.join(tables)} since the catch up backfilled "
               "(partitions neither join nor leave until start ends)")
    return [Step(sql=sql, lock=Lock.SHARE_UPDATE_EXCLUSIVE if marked else Lock.NONE,
                 tables=tables, origin=ctx.origin, summary=summary)]


def _left_the_tree(ctx: Context, requires: tuple[Requires, ...], trees: Catalog,
                   alone: bool = False) -> list[Step]:
    """Start's columns on a partition that left its tree meanwhile: rollback's, complete's.

    Rollback drops the copies, the marker and the stamp from each partitioned table, and
    complete the marker and the stamp (and the old columns), and the drop reaches the
    partitions attached then. One detached during the migration (pg_partman's retention
    keeps the oldest so) keeps them as columns of its own, and could not be attached again
    (a partition has its parent's columns and no more). It left with the shape it had
    before start, and gets that back, at rollback and at complete alike. Each partition
    start was planned for (those ``requires`` checks) that exists and is no longer a
    partition of its parent loses the columns only a migration names so (not inherited
    from another parent: a table it joined since keeps what it gave); their constraints
    and indexes go with them. A partition dropped or renamed since is left alone, and one
    with an object of its own on those columns (a view over the archived table) keeps them,
    with a warning: the phase itself goes on.

    ``alone`` (complete's): a step of its own after complete's transaction, naming no table.
    Complete's lock step takes the parents, whose lock takes the partitions there are;
    naming every partition there changed the order clients of a view over a partition
    meet (tests/test_review_session29.py), and a client of the archived table would hold
    the tree's lock up while it waits. Its own lock waits ``lock_timeout`` and is tried
    again; complete, run again after an interruption, resumes at it.
    """
    checked = {r.relation for r in requires if r.kind.partitions}
    pairs = [(_at_start(ctx, table.physical), _at_start(ctx, partition.physical))
             for table in trees.tables if _at_start(ctx, table.physical) in checked
             for partition in trees.partitions(table.name)]
    if not pairs:
        return []
    ours = (f"(pg_catalog.starts_with(attname, {quote_literal(NEW_PREFIX)}) OR attname IN "
            f"({quote_literal(MARKER)}, {quote_literal(BACKFILLED_BY)}))")
    body = []
    for parent, partition in pairs:
        table = regclass_or_null(ctx.schema, partition)
        above = regclass_or_null(ctx.schema, parent)
        body += [
            f"  IF {table} IS NOT NULL AND NOT EXISTS (SELECT FROM pg_catalog.pg_inherits "
            f"WHERE inhrelid = {table} AND inhparent = {above}) THEN",
            "    BEGIN",
            f"      FOR _pgroll_column IN SELECT attname FROM pg_catalog.pg_attribute WHERE "
            f"attrelid = {table} AND attnum > 0 AND NOT attisdropped AND attinhcount = 0 "
            f"AND {ours} LOOP",
            "        EXECUTE pg_catalog.format('ALTER TABLE %s DROP COLUMN %I', "
            f"{table}, _pgroll_column);",
            "      END LOOP;",
            "    EXCEPTION WHEN dependent_objects_still_exist THEN",
            "      RAISE WARNING 'table % left the partitions of % during the migration and "
            "keeps the columns start added: %', "
            f"{quote_literal(partition)}, {quote_literal(parent)}, SQLERRM;",
            "    END;",
            "  END IF;",
        ]
    sql = "DO " + dollar_quote("\nDECLARE\n  _pgroll_column name;\nBEGIN\n"
                               + "\n".join(body) + "\nEND\n")
    parent_names = sorted({parent for parent, _ in pairs})
    parents = ", ".join(parent_names)
    # The partitions too: one that left its tree is locked here, not through its parent, and
    # the executor waits for the clients of every table a step names before it asks.
    tables = tuple(dict.fromkeys([*parent_names, *(partition for _, partition in pairs)]))
    return [Step(sql=sql, tables=() if alone else tables, transactional=not alone,
                 origin=ctx.origin,
                 summary=f"drop the columns start added from the partitions of {parents} "
                 "that left them since")]


def _changed(requirement: Requires) -> str:
    planned = requirement.name.replace(",", ", ") or "none"
    return (f"the partitions of table {requirement.relation} changed during start (it was "
            f"planned for {planned}): a partition created, attached or detached meanwhile has "
            "not had the steps start makes for each partition (backfill, indexes, foreign "
            "keys); once this start is rolled back, start the migration again: it is then "
            "planned for the partitions there are")


def _in_play(trees: Catalog, table: Table, changed: set[str]) -> bool:
    """Whether start changed the table, a table above it or a table below it."""
    return (any(t.physical in changed for t in (table, *trees.above(table)))
            or _below(trees, table, changed))


def _below(trees: Catalog, table: Table, changed: set[str]) -> bool:
    return any(p.physical in changed or _below(trees, p, changed)
               for p in trees.partitions(table.name))


def _completed(final: Catalog, raw: list[Step]) -> Catalog:
    """The schema after complete, with what the ``raw`` SQL steps of complete do."""
    completed = final.completed()
    for step in raw:
        completed = apply_sql(completed, step.sql)[0]
    return completed


__all__ = ["PlanOptions", "plan_migration"]
