"""Partitioned tables: what their indexes and constraints take, step by step.

PostgreSQL builds no index of a partitioned table concurrently (``CREATE INDEX CONCURRENTLY``
and ``DROP INDEX CONCURRENTLY`` refuse one), and before 18 adds no ``NOT VALID`` foreign key
to one. So the plan does what pg_dump and the tools of big shops do, partition by partition:

* an index: ``CREATE INDEX ... ON ONLY`` the parent (catalog only: an invalid index with no
  entries), the same on each partition that is itself partitioned, ``CREATE INDEX
  CONCURRENTLY`` on each leaf partition (under ``partition_index_name``), then ``ALTER INDEX
  ... ATTACH PARTITION`` of each partition's to its parent's, the deepest first: an index is
  valid once every partition's is attached;
* its rollback: ``DROP INDEX`` of the parent's, which takes the attached ones along, then of
  any partition's left unattached (a start that stopped half way), in the transaction of
  rollback (catalog only, under ACCESS EXCLUSIVE on each partition);
* a unique or primary key *constraint* (``key_index_steps``, ``key_constraint_steps``):
  PostgreSQL refuses ``ADD CONSTRAINT ... USING INDEX`` on a partitioned table (15 to 18), and
  ``ADD CONSTRAINT ... UNIQUE (...)`` on one builds a new index on every partition under
  SHARE, unless a partition already has an equal index *that backs a constraint*: then it
  takes that constraint and index as the partition's share and builds nothing (an index
  without a constraint, attached or not, is not taken). So start builds a unique index
  concurrently on each leaf partition (no index of the parent: it would not be taken
  either), and complete, once the columns have their final names, makes each leaf's index
  its constraint (``USING INDEX``: ACCESS EXCLUSIVE on the leaf, catalog only) and then adds
  the parent's constraint, which takes them (catalog only: ACCESS EXCLUSIVE and SHARE on the
  parent, SHARE on each partition, and ACCESS EXCLUSIVE on each partition on 18, each leaf's
  index under SHARE; an index of each partitioned partition is made in the catalog). The
  swap of the columns in the same transaction holds ACCESS EXCLUSIVE on every partition
  already, so nothing is locked beyond what a plain table's complete takes.

Clients never read or write a partition directly (the version schemas show the parent alone,
``views.viewed``), so the partitions are an implementation detail of the parent's steps: each
step names the relation it locks, partition or parent.
"""

from __future__ import annotations

from pgroll_dsl.catalog.derived import partition_index_name
from pgroll_dsl.catalog.model import Table
from pgroll_dsl.plan import safety
from pgroll_dsl.plan.context import Context
from pgroll_dsl.plan.model import Cost, Lock, Step
from pgroll_dsl.sql.ddl import qualified
from pgroll_dsl.sql.quoting import quote_ident


def index_steps(ctx: Context, table: Table, name: str, create: str, body: str,
                what: str = "index") -> tuple[list[Step], list[Step]]:
    """The start steps of an index of a partitioned table, and the rollback steps.

    Args:
        ctx: The planning context (its ``before`` catalog names the partitions).
        table: The partitioned table.
        name: The parent's index.
        create: ``CREATE INDEX`` or ``CREATE UNIQUE INDEX``.
        body: What follows the table's name: ``USING``, keys, ``WITH``, ``WHERE``.
        what: How the summaries name the index (``index``, ``copy of index x``).
    """
    start: list[Step] = []
    attaches: list[Step] = []
    made: list[str] = []

    def build(current: Table, index: str) -> None:
        made.append(index)
        ref = ctx.table_ref(current)
        if not current.partitioned:
            start.append(Step(
                sql=f"{create} CONCURRENTLY IF NOT EXISTS {quote_ident(index)} ON {ref}{body}",
                summary=f"build {what} {index} on partition {current.name}",
                tables=(current.physical,), lock=Lock.SHARE_UPDATE_EXCLUSIVE, cost=Cost.BUILD,
                transactional=False, index=index, origin=ctx.origin))
            return
        start.append(Step(
            sql=f"{create} IF NOT EXISTS {quote_ident(index)} ON ONLY {ref}{body}",
            summary=f"{what} {index} on {current.name} alone (catalog only, valid once "
            "every partition's is attached)", tables=(current.physical,), lock=Lock.SHARE,
            safe=(safety.INDEX_ON_ONLY,), origin=ctx.origin))
        for partition in ctx.before.partitions(current.name):
            child = partition_index_name(name, partition.name)
            build(partition, child)
            attaches.append(Step(
                sql=f"ALTER INDEX {qualified(ctx.schema, index)} ATTACH PARTITION "
                f"{qualified(ctx.schema, child)}",
                summary=f"attach {child} (of partition {partition.name}) to {index}; "
                f"ACCESS EXCLUSIVE on {child} alone",
                # Every query of the partition opens its indexes: its readers and writers
                # hold that index, and the executor waits for them before it asks.
                lock=Lock.ACCESS_EXCLUSIVE, tables=(partition.physical,), origin=ctx.origin))

    build(table, name)
    rollback = [Step(sql=f"DROP INDEX IF EXISTS {qualified(ctx.schema, name)}",
                     summary=f"drop {what} {name} of partitioned table {table.name}, with its "
                     "partitions' (catalog only)", tables=(table.physical,),
                     safe=(safety.DROP_INDEX_LOCKED,), origin=ctx.origin)]
    if len(made) > 1:
        rollback.append(Step(
            sql="DROP INDEX IF EXISTS " + ", ".join(qualified(ctx.schema, i) for i in made[1:]),
            summary="drop the partitions' indexes not attached yet", tables=(table.physical,),
            safe=(safety.DROP_INDEX_LOCKED,), origin=ctx.origin))
    return [*start, *attaches], rollback


def partition_index_renames(ctx: Context, table: Table, old: str, new: str) -> list[str]:
    """``ALTER INDEX ... RENAME``: each partition's share of ``old`` named after ``new``."""
    statements = []

    def rename(current: Table) -> None:
        for partition in ctx.before.partitions(current.name):
            statements.append(
                f"ALTER INDEX IF EXISTS "
                f"{qualified(ctx.schema, partition_index_name(old, partition.name))} RENAME TO "
                f"{quote_ident(partition_index_name(new, partition.name))}")
            rename(partition)

    rename(table)
    return statements


def foreign_key(ctx: Context, table: Table, name: str, columns: str, final_columns: str,
                target: str, referenced: str | None, final_name: str | None = None,
                again: bool = False) -> None:
    """A foreign key of a partitioned table: NOT VALID on each leaf, the parent's at complete.

    Before 18, PostgreSQL adds no NOT VALID foreign key to a partitioned table. Each leaf
    partition gets it at start (``SHARE ROW EXCLUSIVE`` on the leaf and the referenced table,
    no scan) and validates it at the end of start; at complete, once the columns have their
    final names, the parent's is added: PostgreSQL finds each partition's equal and valid
    key and takes it as the partition's share, so nothing is scanned (catalog only, but under
    ACCESS EXCLUSIVE on the referenced table too, for the moment it takes).

    Args:
        ctx: The planning context.
        table: The partitioned table.
        name: The key's name at start.
        columns: ``("_pgroll_new_c")``: the key's columns as start has them.
        final_columns: ``("c")``: as they are after complete.
        target: ``REFERENCES ...`` with its actions and deferrability.
        referenced: The referenced table's physical name; ``None`` for another schema's.
        final_name: The name after complete, when start uses another (``_pgroll_dup_x``).
        again: The key replaces one an earlier operation made on each leaf (over its copy
            and the other old column); that operation's complete steps stand.
    """
    final_name = final_name or name
    also = (referenced,) if referenced is not None else ()
    for leaf in ctx.before.leaf_partitions(table.name):
        ref = ctx.table_ref(leaf)
        if again:
            ctx.start.append(Step(
                sql=f"ALTER TABLE {ref} DROP CONSTRAINT IF EXISTS {quote_ident(name)}",
                summary=f"drop {name} of partition {leaf.name}: it is made again over both "
                "copies", tables=(leaf.physical,), safe=(safety.DROP_CONSTRAINT,),
                origin=ctx.origin))
        ctx.start.append(Step(
            sql=f"ALTER TABLE {ref} ADD CONSTRAINT {quote_ident(name)} FOREIGN KEY {columns} "
            f"{target} NOT VALID", summary=f"foreign key {name} on partition {leaf.name} (not "
            "valid)", tables=(leaf.physical, *also), referenced=also,
            lock=Lock.SHARE_ROW_EXCLUSIVE,
            origin=ctx.origin))
        ctx.validate.append(Step(
            sql=f"ALTER TABLE IF EXISTS {ref} VALIDATE CONSTRAINT {quote_ident(name)}",
            summary=f"validate {name} on partition {leaf.name}", tables=(leaf.physical,),
            lock=Lock.SHARE_UPDATE_EXCLUSIVE, cost=Cost.SCAN, origin=ctx.origin))
        if final_name != name and not again:
            ctx.after_swap.append(Step(
                sql=f"ALTER TABLE IF EXISTS {ref} RENAME CONSTRAINT {quote_ident(name)} TO "
                f"{quote_ident(final_name)}", summary=f"name {name} of partition {leaf.name} "
                f"back to {final_name}", tables=(leaf.physical,), safe=(safety.RENAME_OBJECT,),
                origin=ctx.origin))
    if again:
        return
    ctx.after_swap.append(Step(
        sql=f"ALTER TABLE {ctx.table_ref(table)} ADD CONSTRAINT {quote_ident(final_name)} "
        f"FOREIGN KEY {final_columns} {target}",
        summary=f"foreign key {final_name} of partitioned table {table.name}: takes each "
        "partition's valid one as its share (catalog only, no scan)",
        tables=(table.physical, *also), referenced=also,
        safe=safety.FK_FROM_PARTITIONS,
        origin=ctx.origin))


def key_index_steps(ctx: Context, table: Table, name: str, body: str,
                    what: str = "unique index") -> list[Step]:
    """Start: the unique index of a future key, built concurrently on each leaf partition.

    Named ``partition_index_name(name, leaf)``; complete makes each a constraint
    (``key_constraint_steps``). A rollback drops them with the copies they are on.
    """
    return [Step(
        sql=f"CREATE UNIQUE INDEX CONCURRENTLY IF NOT EXISTS "
        f"{quote_ident(partition_index_name(name, leaf.name))} ON {ctx.table_ref(leaf)}{body}",
        summary=f"build {what} {name} on partition {leaf.name} (its share of the key)",
        tables=(leaf.physical,), lock=Lock.SHARE_UPDATE_EXCLUSIVE, cost=Cost.BUILD,
        transactional=False, index=partition_index_name(name, leaf.name), origin=ctx.origin)
        for leaf in ctx.before.leaf_partitions(table.name)]


def key_constraint_steps(ctx: Context, table: Table, index: str, name: str, kind: str,
                         columns: str, tail: str = "", later: str = "") -> list[Step]:
    """Complete: each leaf's index becomes its constraint, then the parent's takes them all.

    Args:
        ctx: The planning context.
        table: The partitioned table.
        index: The name ``key_index_steps`` built the leaves' indexes under.
        name: The constraint's name (each leaf's is ``partition_index_name(name, leaf)``).
        kind: ``UNIQUE``, ``UNIQUE NULLS NOT DISTINCT`` or ``PRIMARY KEY``.
        columns: ``("a", "b")``: the key columns by their final names.
        tail: ``INCLUDE``, ``WITH`` and ``USING INDEX TABLESPACE`` clauses: PostgreSQL takes a
            partition's index only if it has the same keys, INCLUDE columns and NULLS NOT
            DISTINCT as the one it would build.
        later: The deferrability, given to each leaf's constraint and to the parent's.
    """
    using = "PRIMARY KEY" if kind == "PRIMARY KEY" else "UNIQUE"
    steps = []
    for leaf in ctx.before.leaf_partitions(table.name):
        own = partition_index_name(name, leaf.name)
        steps.append(Step(
            sql=f"ALTER TABLE {ctx.table_ref(leaf)} ADD CONSTRAINT {quote_ident(own)} {using} "
            f"USING INDEX {quote_ident(partition_index_name(index, leaf.name))}{later}",
            summary=f"{name}'s share on partition {leaf.name}: its unique index becomes a "
            "constraint (catalog only)", tables=(leaf.physical,), origin=ctx.origin))
    steps.append(Step(
        sql=f"ALTER TABLE {ctx.table_ref(table)} ADD CONSTRAINT {quote_ident(name)} {kind} "
        f"{columns}{tail}{later}",
        summary=f"{kind.lower()} {name} of partitioned table {table.name}: takes each "
        "partition's constraint as its share (catalog only, no index built)",
        tables=(table.physical,), safe=safety.KEY_FROM_PARTITIONS, origin=ctx.origin))
    return steps
