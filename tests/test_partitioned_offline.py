"""Partitioned tables without a database: the catalog, the snapshot, validation and the plan.

The live counterparts (introspection equal to replay, the plans run with clients writing)
are in ``tests/test_partitioned.py``.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from pgroll_dsl import api
from pgroll_dsl.catalog import Catalog
from pgroll_dsl.catalog.apply import apply_operation
from pgroll_dsl.catalog.derived import partition_index_name
from pgroll_dsl.catalog.sql_ddl import apply_sql
from pgroll_dsl.diagnostics import Diagnostics
from pgroll_dsl.frontend.snapshot import load_snapshot
from pgroll_dsl.passes.validate_ops import validate_ops
from pgroll_dsl.plan.model import Lock, Plan, Requirement, StepKind
from pgroll_dsl.plan.planner import plan_migration
from pgroll_dsl.render.plan_sql import render_plan
from pgroll_dsl.render.snapshot import dump_snapshot

EVENTS = """
create table events (id bigint not null, at date not null, kind text, n int,
                     primary key (id, at)) partition by range (at);
create table events_2025 partition of events for values from ('2025-01-01') to ('2026-01-01');
create table events_2026 partition of events for values from ('2026-01-01') to ('2027-01-01')
  partition by hash (id);
create table events_2026_0 partition of events_2026 for values with (modulus 2, remainder 0);
create table events_2026_1 partition of events_2026 for values with (modulus 2, remainder 1);
create table refd (id int primary key);
"""
LEAVES = ("events_2025", "events_2026_0", "events_2026_1")


def replayed(sql: str = EVENTS) -> Catalog:
    catalog, warnings = apply_sql(Catalog(), sql)
    assert warnings == []
    return catalog


def plan(text: str, catalog: Catalog | None = None) -> Plan:
    migration = api.compile_source(text, "02_change.pgroll").migration
    return plan_migration(migration, catalog or replayed())


def problems(text: str, catalog: Catalog | None = None) -> list[str]:
    migration = api.compile_source(text, "02_change.pgroll").migration
    sink = Diagnostics()
    validate_ops(migration, catalog or replayed(), sink)
    return [f"{d.code.id}: {d.message}" for d in sink]


# ---- the catalog ---------------------------------------------------------------------------


def test_replay_knows_partitioning() -> None:
    catalog = replayed()
    parts = {t.name: (t.partition_by, t.partition_of, t.partition_bound) for t in catalog.tables}
    assert parts == {
        "events": ("RANGE (at)", None, None),
        "events_2025": (None, "events", "FOR VALUES FROM ('2025-01-01') TO ('2026-01-01')"),
        "events_2026": ("HASH (id)", "events",
                        "FOR VALUES FROM ('2026-01-01') TO ('2027-01-01')"),
        "events_2026_0": (None, "events_2026", "FOR VALUES WITH (modulus 2, remainder 0)"),
        "events_2026_1": (None, "events_2026", "FOR VALUES WITH (modulus 2, remainder 1)"),
        "refd": (None, None, None),
    }
    assert [t.name for t in catalog.leaf_partitions("events")] == list(LEAVES)
    # A partition has its parent's columns, and only what is its own: the primary key is
    # the parent's (each partition's share of it is not modelled on the partition).
    events, leaf = catalog.table("events"), catalog.table("events_2026_0")
    assert events is not None and leaf is not None
    assert leaf.columns == events.columns
    assert leaf.constraints == () and leaf.indexes == ()


def test_bounds_and_keys_have_one_spelling() -> None:
    catalog = replayed("""
create table r (a int, b bigint, s text, d date) partition by range (a, b);
create table r1 partition of r for values from (minvalue, minvalue) to (-5, '7');
create table r2 partition of r for values from (-5, 7) to (maxvalue, maxvalue);
create table l (s text) partition by list (lower(s) collate "C");
create table l1 partition of l for values in ('a', null);
create table l2 partition of l default;
create table d (d date, x int) partition by range (d);
create table d1 partition of d for values from ('2026-01-01'::date) to (date '2027-01-01');
""")
    spelled = {t.name: t.partition_by or t.partition_bound for t in catalog.tables}
    assert spelled == {
        "r": "RANGE (a, b)",
        "r1": "FOR VALUES FROM (MINVALUE, MINVALUE) TO ('-5', '7')",
        "r2": "FOR VALUES FROM ('-5', '7') TO (MAXVALUE, MAXVALUE)",
        "l": 'LIST (lower(s) COLLATE "C")',
        "l1": "FOR VALUES IN ('a', NULL)",
        "l2": "DEFAULT",
        "d": "RANGE (d)",
        "d1": "FOR VALUES FROM ('2026-01-01') TO ('2027-01-01')",
    }


def test_partitions_follow_their_parent() -> None:
    catalog = replayed(EVENTS + """
alter table events add column extra int default 3;
alter table events rename column kind to category;
alter table events drop column n;
""")
    for leaf in (*LEAVES, "events_2026"):
        table = catalog.table(leaf)
        assert table is not None
        assert [(c.name, c.default) for c in table.columns] == [
            ("id", None), ("at", None), ("category", None), ("extra", "3")], leaf
    # A DSL operation too: the copy of an altered column, under its physical name.
    op = api.compile_source("alter table events add score int up `1`;", "m.pgroll")
    after = apply_operation(catalog, op.migration.operations[0])
    table = after.table("events_2026_1")
    assert table is not None and table.columns[-1].physical == "_pgroll_new_score"


def test_attach_detach_rename_and_drop() -> None:
    catalog = replayed(EVENTS + """
create table events_2027 (id bigint not null, at date not null, kind text, n int,
                          constraint c check (n > 0));
alter table events attach partition events_2027 for values from ('2027-01-01') to ('2028-01-01');
alter table events detach partition events_2025;
alter table events rename to happenings;
drop table events_2026;
""")
    assert {t.name: t.partition_of for t in catalog.tables} == {
        "happenings": None, "events_2025": None, "events_2027": "happenings", "refd": None}
    detached = catalog.table("events_2025")
    attached = catalog.table("events_2027")
    assert detached is not None and attached is not None
    # Detached, a partition keeps its share of the parent's key, named as PostgreSQL names it.
    assert [c.name for c in detached.constraints] == ["events_2025_pkey"]
    assert [c.name for c in attached.constraints] == ["c"]


def test_index_on_only_is_invalid_until_attached() -> None:
    catalog = replayed(EVENTS + """
create index ek on only events (kind);
create index ek25 on events_2025 (kind);
""")
    found = catalog.index("ek")
    assert found is not None and not found[1].valid
    catalog = replayed(EVENTS + """
create index ek on only events (kind);
create index ek25 on events_2025 (kind);
alter index ek attach partition ek25;
""")
    found = catalog.index("ek")
    assert found is not None and found[1].valid
    assert catalog.index("ek25") is None  # the partition's share is the parent's index


def test_snapshot_round_trip_and_old_snapshots() -> None:
    catalog = replayed()
    text = dump_snapshot(catalog)
    assert '"partition_by": "RANGE (at)"' in text and '"partition_of": "events_2026"' in text
    assert load_snapshot(text, "s.json") == catalog
    # A snapshot written before partitioning was modelled has none of the keys.
    document = json.loads(text)
    for table in document["tables"]:
        for key in ("partition_by", "partition_of", "partition_bound"):
            table.pop(key, None)
    old = load_snapshot(json.dumps(document), "old.json")
    assert all(t.partition_of is None and t.partition_by is None for t in old.tables)


# ---- validation ----------------------------------------------------------------------------


def test_unique_index_must_hold_the_partition_keys() -> None:
    assert problems("create unique index ek on events (kind, id);") == [
        'PGD321: unique index "ek" lacks the partition key column "at" of table "events"']
    # events_2026 is partitioned by id: a unique index of events needs id too.
    assert problems("create unique index ek on events (kind, at);") == [
        'PGD321: unique index "ek" lacks the partition key column "id" of table '
        '"events_2026" (partitioned by HASH (id))']
    assert problems("create unique index ek on events (kind, at, id);") == []
    assert problems("alter table events add constraint u unique (n, at);")[0].startswith(
        'PGD321: constraint "u" lacks the partition key column "id"')
    catalog = replayed("create table l (s text) partition by list (lower(s));")
    assert problems("create unique index ls on l (s);", catalog) == [
        'PGD321: unique index "ls" cannot be on partitioned table "l": its partition key has '
        "an expression (LIST (lower(s)))"]


def test_partition_keys_and_partitions_own_columns_are_refused() -> None:
    assert problems("alter table events alter at type timestamptz up `at` down `at::date`;") == [
        'PGD322: column "at" of table "events" cannot be rewritten: it is in the partition key '
        'of "events" (RANGE (at))']
    assert problems("alter table events drop column id;") == [
        'PGD322: column "id" of table "events" cannot be dropped: it is in the partition key of '
        '"events_2026" (HASH (id))']
    assert problems("alter table events_2025 add x int;") == [
        'PGD322: cannot add a column to partition "events_2025": its columns are those of '
        '"events"']
    assert problems("alter table events alter at comment 'when';") == []
    assert problems("alter table events alter kind type varchar(20);") == []


def test_keys_keep_their_partition_key_columns() -> None:
    """A key's partition key columns are not copied: refused where that leaves nothing."""
    assert problems("alter table events add constraint u unique (n, at, id);") == []
    assert problems("alter table events add constraint u unique (id, at);") == [
        'PGD323: constraint "u" of partitioned table "events" is over partition key columns '
        "only: there is no column to copy, so the old version would be held to it from start on"]
    assert problems("alter table events add constraint u unique (n, at, id) "
                    "up (n `n + 1`, at `at + 1`);") == [
        'PGD322: constraint "u" of partitioned table "events" cannot have an up or down for '
        '"at": a partition key column is kept as it is, not copied']
    nullable = replayed(EVENTS.replace("at date not null", "at date").replace(
        ",\n                     primary key (id, at))", ")"))
    assert problems("alter table events add constraint p primary key (n, at, id);",
                    nullable)[:1] == [
        'PGD323: constraint "p" of partitioned table "events" is over the nullable partition '
        'key column "at": PostgreSQL would make it NOT NULL with a scan of every partition '
        "under ACCESS EXCLUSIVE"]
    keyed = replayed(EVENTS + "alter table events add constraint u unique (n, id, at);")
    # Dropping it copies n alone: down needs no entry for the partition key columns.
    assert problems("alter table events drop constraint u down (n);", keyed) == []
    catalog = replayed(EVENTS.replace("partition by hash (id)", "partition by hash (at)"))
    assert problems("alter table events alter id type numeric up `id` down `id`;", catalog) == []


def test_a_partition_key_change_says_what_to_do_instead() -> None:
    migration = api.compile_source("alter table events alter at type timestamptz;",
                                   "02_change.pgroll").migration
    sink = Diagnostics()
    validate_ops(migration, replayed(), sink)
    [found] = list(sink)
    assert str(found.span) == "02_change.pgroll:1:26"
    assert "cannot change the type of a partition key column nor drop it" in found.hints[0]
    assert "create a new partitioned table with the new key" in found.hints[0]


# ---- the plan ------------------------------------------------------------------------------


def test_version_schemas_show_the_parent_only() -> None:
    views = [s.sql for s in plan("alter table events add score int;").start
             if s.sql.startswith("CREATE VIEW")]
    assert [v.split(" WITH ")[0] for v in views] == [
        'CREATE VIEW "public_02_change"."events"', 'CREATE VIEW "public_02_change"."refd"']


def test_create_index_partition_by_partition() -> None:
    planned = plan("create index ek on events (kind);")
    start = [(s.sql, s.lock, s.transactional) for s in planned.start
             if "ek" in s.sql]
    name = partition_index_name
    assert start == [
        ('CREATE INDEX IF NOT EXISTS "ek" ON ONLY "public"."events" ("kind")', Lock.SHARE, True),
        (f'CREATE INDEX CONCURRENTLY IF NOT EXISTS "{name("ek", "events_2025")}" ON '
         '"public"."events_2025" ("kind")', Lock.SHARE_UPDATE_EXCLUSIVE, False),
        (f'CREATE INDEX IF NOT EXISTS "{name("ek", "events_2026")}" ON ONLY '
         '"public"."events_2026" ("kind")', Lock.SHARE, True),
        (f'CREATE INDEX CONCURRENTLY IF NOT EXISTS "{name("ek", "events_2026_0")}" ON '
         '"public"."events_2026_0" ("kind")', Lock.SHARE_UPDATE_EXCLUSIVE, False),
        (f'CREATE INDEX CONCURRENTLY IF NOT EXISTS "{name("ek", "events_2026_1")}" ON '
         '"public"."events_2026_1" ("kind")', Lock.SHARE_UPDATE_EXCLUSIVE, False),
        ('ALTER INDEX "public"."ek" ATTACH PARTITION "public"."events_2025_ek"',
         Lock.ACCESS_EXCLUSIVE, True),
        ('ALTER INDEX "public"."events_2026_ek" ATTACH PARTITION "public"."events_2026_0_ek"',
         Lock.ACCESS_EXCLUSIVE, True),
        ('ALTER INDEX "public"."events_2026_ek" ATTACH PARTITION "public"."events_2026_1_ek"',
         Lock.ACCESS_EXCLUSIVE, True),
        ('ALTER INDEX "public"."ek" ATTACH PARTITION "public"."events_2026_ek"',
         Lock.ACCESS_EXCLUSIVE, True),
    ]
    rollback = [s.sql for s in planned.rollback if "DROP INDEX" in s.sql]
    assert rollback == [
        'DROP INDEX IF EXISTS "public"."ek"',
        'DROP INDEX IF EXISTS "public"."events_2025_ek", "public"."events_2026_ek", '
        '"public"."events_2026_0_ek", "public"."events_2026_1_ek"',
    ]
    assert all(s.transactional for s in planned.rollback)


def test_a_key_is_built_on_each_leaf_then_taken_by_the_parents() -> None:
    planned = plan("alter table events add constraint u unique (n, at, id);")
    builds = [(s.sql, s.lock, s.transactional) for s in planned.start if '_u"' in s.sql]
    assert builds == [
        (f'CREATE UNIQUE INDEX CONCURRENTLY IF NOT EXISTS "{leaf}_u" ON "public"."{leaf}" '
         '("_pgroll_new_n", "at", "id")', Lock.SHARE_UPDATE_EXCLUSIVE, False)
        for leaf in LEAVES]
    assert not any("ON ONLY" in s.sql or "USING INDEX" in s.sql for s in planned.start)
    complete = [s.sql for s in planned.complete]
    keys = [sql for sql in complete if "ADD CONSTRAINT" in sql]
    assert keys == [
        f'ALTER TABLE "public"."{leaf}" ADD CONSTRAINT "{leaf}_u" UNIQUE USING INDEX "{leaf}_u"'
        for leaf in LEAVES] + ['ALTER TABLE "public"."events" ADD CONSTRAINT "u" UNIQUE '
                               '("n", "at", "id")']
    swap = next(i for i, sql in enumerate(complete) if "RENAME COLUMN" in sql)
    assert complete.index(keys[0]) > swap
    # Made again on the copy of a rewritten column: each leaf's takes the key's name.
    keyed = replayed(EVENTS + "alter table events add constraint u unique (n, id, at) "
                     "include (kind) with (fillfactor = 90);")
    planned = plan("alter table events alter n type bigint;", keyed)
    keys = [s.sql for s in planned.complete if "ADD CONSTRAINT" in s.sql]
    assert keys[0] == ('ALTER TABLE "public"."events_2025" ADD CONSTRAINT "events_2025_u" '
                       'UNIQUE USING INDEX "events_2025__pgroll_dup_u"')
    assert keys[-1] == ('ALTER TABLE "public"."events" ADD CONSTRAINT "u" UNIQUE ("n", "id", '
                        '"at") INCLUDE ("kind") WITH (fillfactor = \'90\')')


def test_drop_index_of_a_partitioned_table_says_what_it_locks() -> None:
    catalog = replayed(EVENTS + "create index ek on events (kind);")
    planned = plan("drop index ek;", catalog)
    drop = [s for s in planned.complete if "DROP INDEX" in s.sql]
    assert [(s.sql, s.transactional, s.lock) for s in drop] == [
        ('DROP INDEX IF EXISTS "public"."ek"', True, Lock.ACCESS_EXCLUSIVE)]
    assert any(n.startswith("drop_index ek: PostgreSQL cannot drop an index of a partitioned "
                            "table concurrently") for n in planned.notes)


REFERENCES = ('REFERENCES "public"."refd" ("id") MATCH SIMPLE ON DELETE NO ACTION '
              "ON UPDATE NO ACTION")


def test_foreign_keys_are_not_valid_on_each_leaf_then_the_parents() -> None:
    planned = plan("alter table events alter n add constraint fk_n references refd (id);")
    leaf_adds = [s.sql for s in planned.start if "fk_n" in s.sql]
    assert leaf_adds == [
        f'ALTER TABLE "public"."{leaf}" ADD CONSTRAINT "fk_n" FOREIGN KEY ("_pgroll_new_n") '
        f'{REFERENCES} NOT VALID' for leaf in LEAVES
    ] + [f'ALTER TABLE IF EXISTS "public"."{leaf}" VALIDATE CONSTRAINT "fk_n"'
         for leaf in LEAVES]
    parent = [s for s in planned.complete if "fk_n" in s.sql]
    assert [s.sql for s in parent] == [
        f'ALTER TABLE "public"."events" ADD CONSTRAINT "fk_n" FOREIGN KEY ("n") {REFERENCES}']
    renamed = [s.sql for s in planned.complete]
    assert renamed.index(parent[0].sql) > next(
        i for i, sql in enumerate(renamed) if "RENAME COLUMN" in sql)


def test_backfill_partition_by_partition() -> None:
    planned = plan("alter table events add score int up `n + 1`;")
    # Two passes, each leaf by leaf: before the sync triggers, then after them.
    backfills = [s for s in planned.start if s.kind is StepKind.BACKFILL]
    assert [s.relation for s in backfills] == list(LEAVES) * 2
    assert all(s.key == ("id", "at") for s in backfills)
    assert all(f'FROM "public"."{s.relation}"' in s.sql for s in backfills)
    # Without a key, the pages of each partition.
    catalog = replayed(EVENTS.replace(",\n                     primary key (id, at))", ")"))
    planned = plan("alter table events add score int up `n + 1`;", catalog)
    backfills = [s for s in planned.start if s.kind is StepKind.BACKFILL]
    assert [(s.relation, s.key) for s in backfills] == [(leaf, ()) for leaf in LEAVES] * 2


def test_complete_requires_the_same_partitions() -> None:
    """The partitions start was planned for: still there where start gives them nothing but
    their backfill (others may join: ``plan/joined.py``), exactly those where it builds an
    index on each (one that joined early would leave the parent's invalid)."""
    planned = plan("alter table events alter kind type varchar(20);")
    partitions = [(r.kind, r.partitions(), r.relation) for r in planned.requires
                  if r.kind.partitions]
    assert partitions == [
        (Requirement.PARTITIONS_KEPT, ["events_2025", "events_2026"], "events"),
        (Requirement.PARTITIONS_KEPT, ["events_2026_0", "events_2026_1"], "events_2026")]
    indexed = plan("alter table events alter kind type varchar(20);\n"
                   "create index events_n on events (n);")
    assert [(r.kind, r.name, r.relation) for r in indexed.requires if r.kind.partitions] == [
        (Requirement.PARTITIONS, "events_2025,events_2026", "events"),
        (Requirement.PARTITIONS, "events_2026_0,events_2026_1", "events_2026")]
    # A migration of another table does not care about them.
    assert not any(r.kind.partitions for r in plan("alter table refd add x int;").requires)


SQUAWKED = (
    "alter table events add constraint u unique (n, at, id);",
    "alter table events add constraint c check `n > 0` columns (n);",
    "alter table events alter n add constraint f references refd (id);",
    "create index events_kind on events (kind);",
    "alter table events alter n type bigint;",
    "alter table events alter n set not null up `coalesce(n, 0)`;",
    "alter table events add score int not null default 0;",
)


@pytest.mark.parametrize("text", SQUAWKED)
def test_squawk_finds_nothing_unannotated_in_partitioned_plans(text: str,
                                                                tmp_path: Path) -> None:
    """Every generated step of a partitioned table's plan that squawk flags says why it is safe
    (``plan/safety.py``): the plan file of such a migration passes squawk as it stands."""
    squawk = shutil.which("squawk") or str(Path(sys.executable).parent / "squawk")
    path = tmp_path / "plan.sql"
    path.write_text(render_plan(plan(text)))
    result = subprocess.run([squawk, "--reporter", "gcc", str(path)], capture_output=True,
                            text=True, check=False)
    assert result.returncode == 0, result.stdout + result.stderr
