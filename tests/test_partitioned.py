"""Partitioned tables on a live server: the catalog, and migrations run with clients writing.

* Introspection equals replay of the same SQL for range, list and hash partitioning,
  sub-partitions, ATTACH / DETACH and indexes attached by hand; after a migration, the
  catalog the planner predicted equals the one introspected.
* A type change of a column of a range-partitioned table, with clients of the old and the
  new version writing during start, complete and rollback: nothing is lost, every row is as
  its last writer left it (the version schemas show the parent alone, so complete and
  rollback have no view of a partition to trip over).
* Indexes are built partition by partition and attached; foreign keys are NOT VALID on each
  leaf and the parent's at complete (also on PostgreSQL before 18, which refuses a NOT VALID
  foreign key on a partitioned table); the backfill works partition by partition.
* Unique and primary keys are built as unique indexes on each leaf at start, and complete
  makes them constraints, then the parent's, which takes them: no index is built at complete
  (the leaves' indexes keep their OIDs), and the locks complete holds around the parent's
  ``ADD CONSTRAINT`` (read from ``pg_locks``) add none on a table that the swap does not hold
  in ACCESS EXCLUSIVE mode already.
* A partition attached or detached by raw SQL while a migration is in progress makes
  complete refuse, changing nothing; rollback still undoes the migration.

Every operation kind with clients of both versions and of the physical table writing is
``tests/test_partitioned_harness.py``.
"""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field

import psycopg
import pytest

from pgroll_dsl.backends.runner import Runner, StepEvent
from pgroll_dsl.catalog import Catalog
from pgroll_dsl.catalog.apply import apply_operation
from pgroll_dsl.catalog.compare import differences
from pgroll_dsl.catalog.derived import partition_index_name
from pgroll_dsl.catalog.introspect import introspect
from pgroll_dsl.catalog.sql_ddl import apply_sql
from pgroll_dsl.plan.model import Phase
from tests.live_helpers import (
    Connection,
    apply,
    client,
    dsn_of,
    indexes,
    make_runner,
    migration,
    query,
    version_schema,
)

pytestmark = pytest.mark.postgres

EVENTS = """
create table refd (id int primary key);
insert into refd select generate_series(0, 99);
create table events (id bigint not null, at date not null, kind text, n int,
                     primary key (id, at)) partition by range (at);
create table events_2025 partition of events for values from ('2025-01-01') to ('2026-01-01');
create table events_2026 partition of events for values from ('2026-01-01') to ('2027-01-01')
  partition by hash (id);
create table events_2026_0 partition of events_2026 for values with (modulus 2, remainder 0);
create table events_2026_1 partition of events_2026 for values with (modulus 2, remainder 1);
insert into events select g, date '2025-01-01' + (g % 700), 'k' || (g % 5), g % 100
  from generate_series(1, 1000) g;
"""
LEAVES = ("events_2025", "events_2026_0", "events_2026_1")
HASHED = """
create table events (id bigint not null, at date not null, kind text, n int,
                     primary key (id)) partition by hash (id);
""" + "".join(f"create table events_{r} partition of events for values with (modulus 4, "
              f"remainder {r});\n" for r in range(4)) + """
insert into events select g, date '2025-01-01' + (g % 700), 'k' || (g % 5), g % 100
  from generate_series(1, 1000) g;
"""
SHAPES = [pytest.param(EVENTS, id="range"), pytest.param(HASHED, id="hash")]


@pytest.fixture
def dsn(pg_conn: Connection, pg_dsn: str) -> str:
    return dsn_of(pg_dsn, pg_conn)


@pytest.fixture
def runner(dsn: str) -> Iterator[Runner]:
    made = make_runner(dsn, batch_size=100)
    yield made
    made.close()


def setup(runner: Runner, sql: str = EVENTS) -> None:
    apply(runner, f"sql up `{sql}`;", "01_setup")


# ---- the catalog ---------------------------------------------------------------------------

LIVE_SCRIPTS = [
    pytest.param(EVENTS, id="range-with-hash-sub-partitions"),
    pytest.param("""
create table l (s text collate "C", x int, primary key (s, x)) partition by list (s);
create table l1 partition of l for values in ('a', 'b', NULL) partition by range (x);
create table l1_low partition of l1 for values from (minvalue) to (0);
create table l1_high partition of l1 for values from (0) to (maxvalue);
create table l2 partition of l default;
create index on l (x);
""", id="list-with-range-sub-partitions"),
    pytest.param("""
create table h (id bigint, v text) partition by hash (id);
create table h0 partition of h for values with (modulus 2, remainder 0);
create table h1 partition of h (constraint h1_v check (v <> '')) for values with (modulus 2,
  remainder 1);
create table r (b bigint, nm numeric, e text) partition by range (b, nm);
create table r1 partition of r for values from (minvalue, minvalue) to (-5, 2.5);
create table r2 partition of r for values from (-5, 2.5) to (7, maxvalue);
create table x (s text, n int) partition by list (lower(s));
create table x1 partition of x for values in ('a');
""", id="hash-multi-column-range-and-expression-keys"),
    pytest.param("""
create table refd (id int primary key);
create table events (id bigint, at date not null, kind text default 'a' check (kind <> ''),
  n int references refd, primary key (id, at), unique (n, at)) partition by range (at);
create index on events (kind);
create index on events (lower(kind));
create table events_2025 partition of events for values from ('2025-01-01') to ('2026-01-01');
create table events_2026 (id bigint not null, at date not null, kind text default 'a', n int,
  constraint c2 check (n > 0), constraint events_kind_check check (kind <> ''));
create index on events_2026 (kind);
create unique index on events_2026 (id, at);
alter table events attach partition events_2026 for values from ('2026-01-01') to ('2027-01-01');
create index on events_2026 (n);
create table events_2024 partition of events for values from ('2024-01-01') to ('2025-01-01');
alter table events detach partition events_2025;
create index ev_on on only events (n, kind);
create index ev_2026 on events_2026 (n, kind);
alter index ev_on attach partition ev_2026;
create index ev_2024 on events_2024 (n, kind);
alter index ev_on attach partition ev_2024;
alter table events add column extra int default 7;
alter table events rename column extra to more;
""", id="attach-detach-on-only-and-column-changes"),
    # A partition's own default and NOT NULL: set on the partition they stay its own, set on
    # the parent they reach every partition (over the partition's own default), and an
    # attached table keeps its own (replay once gave every partition its parent's).
    pytest.param("""
create table ev (id int not null, at date not null, note text default 'p', n int, m int)
  partition by range (at);
create table ev_1 partition of ev for values from ('2024-01-01') to ('2025-01-01');
create table ev_3 partition of ev for values from ('2026-01-01') to ('2027-01-01');
alter table ev_1 alter note set default 'own', alter n set not null;
alter table ev_3 alter m set default 3;
alter table ev alter note set default 'parent';
alter table ev alter m set not null;
create table ev_2 (id int not null, at date not null, note text default 'kept', n int not null,
  m int not null default 2);
alter table ev attach partition ev_2 for values from ('2025-01-01') to ('2026-01-01');
alter table ev_2 alter n set default 9;
""", id="a-partition's-own-default-and-not-null"),
]


@pytest.mark.parametrize("script", LIVE_SCRIPTS)
def test_replay_equals_introspection(pg_conn: Connection, script: str) -> None:
    pg_conn.execute(script)
    replayed, warnings = apply_sql(Catalog(), script)
    assert warnings == []
    assert differences(replayed, introspect(pg_conn)) == []


def predicted(before: Catalog, text: str, name: str) -> Catalog:
    """The catalog the planner expects after the migration has completed."""
    state = before
    for op in migration(text, name).operations:
        state = apply_operation(state, op)
    return state.completed()


@pytest.mark.parametrize("text", [
    "create index events_kind on events (kind);",
    "create unique index events_u on events (n, id, at) where `n > 0`;",
    "alter table events alter n type bigint up `n` down `n`;",
    "alter table events alter n add constraint fk_n references refd (id);",
    "alter table events add m int constraint fk_m references refd (id) up `n`;",
    "alter table events add constraint ck check `n >= 0` up (n `greatest(n, 0)`);",
    "alter table events alter kind set not null up `coalesce(kind, 'none')`;",
])
def test_migrations_end_as_predicted(pg_conn: Connection, runner: Runner, text: str) -> None:
    """Each runs start and complete; the database then is what replay says it is."""
    setup(runner, EVENTS + "create index events_n on events (n);")
    before = introspect(pg_conn)
    runner.start(migration(text, "02_change"))
    runner.complete()
    after = introspect(pg_conn)
    assert differences(predicted(before, text, "02_change"), after) == []
    # Every index of the hierarchy is valid, every constraint validated.
    invalid = query(pg_conn, "SELECT indexrelid::regclass::text FROM pg_index WHERE NOT "
                             "indisvalid UNION ALL SELECT conname FROM pg_constraint WHERE NOT "
                             "convalidated")
    assert invalid == []


def test_index_partition_by_partition(pg_conn: Connection, runner: Runner) -> None:
    setup(runner)
    plan = runner.start(migration("create index events_kind on events (kind);", "02_index"))
    assert sum("CONCURRENTLY" in s.sql for s in plan.start) == len(LEAVES)
    runner.complete()
    for leaf in LEAVES:
        name = partition_index_name("events_kind", leaf)
        assert indexes(pg_conn, leaf)[name] == (
            f"CREATE INDEX {name} ON public.{leaf} USING btree (kind)", True)
    assert indexes(pg_conn, "events")["events_kind"][1]
    runner.start(migration("drop index events_kind;", "03_drop"))
    runner.complete()
    assert all(not name.endswith("events_kind") for leaf in (*LEAVES, "events")
               for name in indexes(pg_conn, leaf))


def test_rollback_of_an_index(pg_conn: Connection, runner: Runner) -> None:
    """Rollback drops the parent's index, which takes every partition's along."""
    setup(runner)
    before = introspect(pg_conn)
    runner.start(migration("create index events_kind on events (kind);", "02_index"))
    runner.rollback()
    assert differences(before, introspect(pg_conn)) == []
    assert query(pg_conn, "SELECT count(*) FROM pg_class WHERE relname LIKE '%%events_kind'") == [
        (0,)]


def test_backfill_without_a_key_reaches_every_partition(pg_conn: Connection,
                                                        runner: Runner) -> None:
    setup(runner, EVENTS.replace(",\n                     primary key (id, at))", ")"))
    runner.start(migration("alter table events add score int not null up `n + 1`;",
                           "02_score"))
    runner.complete()
    assert query(pg_conn, "SELECT count(*), count(*) FILTER (WHERE score = n + 1) "
                          "FROM events") == [(1000, 1000)]


# ---- unique and primary keys ---------------------------------------------------------------

KEYED = EVENTS + "alter table events add constraint events_u unique (n, id, at);"


def leaf_index_oids(conn: Connection) -> set[int]:
    """The OIDs of the leaf partitions' indexes."""
    return {oid for (oid,) in query(conn, "SELECT indexrelid::oid FROM pg_index WHERE "
                                          "indrelid::regclass::text = ANY(%s)", (list(LEAVES),))}


@pytest.mark.parametrize("text", [
    "alter table events add constraint u unique (n, at, id) up (n `n`);",
    "alter table events add constraint u unique (kind, n, id, at);",
    "alter table events drop constraint events_u up (n `n`) down (n `n`);",
    "alter table events alter n type bigint up `n` down `n`;",  # events_u made on the copy
    "alter table events alter kind set not null up `coalesce(kind, 'none')`;",
])
def test_keys_end_as_predicted(pg_conn: Connection, runner: Runner, text: str) -> None:
    """A key is made on the leaves first, the parent's takes them: nothing is built twice."""
    setup(runner, KEYED)
    before = introspect(pg_conn)
    existing = leaf_index_oids(pg_conn)
    runner.start(migration(text, "02_change"))
    built = leaf_index_oids(pg_conn) - existing
    runner.complete()
    assert differences(predicted(before, text, "02_change"), introspect(pg_conn)) == []
    assert query(pg_conn, "SELECT indexrelid::regclass::text FROM pg_index WHERE NOT "
                          "indisvalid") == []
    # The keys took each leaf's index as start built it: complete built none.
    assert leaf_index_oids(pg_conn) - existing == built
    keys = query(pg_conn, "SELECT conname, conparentid <> 0 FROM pg_constraint WHERE contype "
                          "IN ('u', 'p') AND conrelid = 'events_2025'::regclass ORDER BY 1")
    assert all(inherited for _, inherited in keys)


LOCKS = """SELECT c.relname, c.relkind::text, l.mode FROM pg_locks l JOIN pg_class c
ON c.oid = l.relation WHERE l.granted AND l.pid <> pg_backend_pid() AND l.locktype = 'relation'
AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())
AND c.relnamespace = 'public'::regnamespace"""


def test_the_parents_key_locks_nothing_the_swap_does_not(pg_conn: Connection, dsn: str) -> None:
    """The locks complete holds right before the parent's ADD CONSTRAINT and right after it.

    The swap of the columns holds ACCESS EXCLUSIVE on the parent and on every partition
    already; the parent's constraint adds SHARE on each table of the hierarchy (held in
    ACCESS EXCLUSIVE already, so it blocks nothing more) and locks on indexes (SHARE on the
    leaves' indexes it takes, ACCESS EXCLUSIVE on those it makes in the catalog).
    """
    seen: dict[str, set[tuple[str, str, str]]] = {}
    watcher = psycopg.connect(dsn, autocommit=True)

    def on_step(event: StepEvent) -> None:
        step = event.step
        previous = seen.get("next")
        if previous is not None:
            seen["after"] = set(query(watcher, LOCKS))
            seen.pop("next")
        if (event.phase is Phase.COMPLETE and step is not None
                and 'ADD CONSTRAINT "u" UNIQUE' in step.sql):
            seen["before"] = set(query(watcher, LOCKS))
            seen["next"] = set()

    made = make_runner(dsn, batch_size=100, on_step=on_step)
    try:
        setup(made)
        made.start(migration("alter table events add constraint u unique (n, at, id);",
                             "02_change"))
        made.complete()
    finally:
        made.close()
        watcher.close()
    before, after = seen["before"], seen["after"]
    tables = {"events", "events_2025", "events_2026", "events_2026_0", "events_2026_1"}
    assert {(name, mode) for name, kind, mode in before if kind in "rp"} >= {
        (t, "AccessExclusiveLock") for t in tables}
    added = after - before
    print(sorted(added))  # noqa: T201 - the figures docs/plan.md gives (-s shows them)
    held = {name for name, kind, mode in before if mode == "AccessExclusiveLock"}
    # A table lock it adds is one the transaction holds in ACCESS EXCLUSIVE mode already.
    assert {name for name, kind, _ in added if kind in "rp"} <= held, added
    assert {name for name, _, _ in added} >= {"events_2025_u", "events_2026_0_u"}


# ---- clients writing -----------------------------------------------------------------------

OLD, NEW = version_schema("01_setup"), version_schema("02_type")
TYPE_CHANGE = "alter table events alter n type bigint up `n * 10` down `(n / 10)::int`;"
DAYS = 700  # seeded rows spread over both partitions: 2025 and 2026


@dataclass
class Writer:
    """A client of one version that owns the rows whose id is ``slot`` modulo 4."""

    version: str
    slot: int
    last: dict[int, int] = field(default_factory=dict)  # id -> n as this version wrote it
    failures: list[str] = field(default_factory=list)
    stop: threading.Event = field(default_factory=threading.Event)
    thread: threading.Thread | None = None

    def run(self, dsn: str) -> None:
        rng = random.Random(self.slot)
        owned = list(range(4 + self.slot, 1001, 4))
        fresh = 100_000 + self.slot
        conn = client(dsn, self.version)
        try:
            while not self.stop.is_set():
                value = rng.randrange(0, 10_000) * 10  # exact through up and down
                try:
                    if rng.random() < 0.5:
                        row = rng.choice(owned)
                        conn.execute("UPDATE events SET n = %s WHERE id = %s", (value, row))
                    else:
                        row, fresh = fresh, fresh + 4
                        at = f"{2025 + row % 2}-03-01"
                        conn.execute("INSERT INTO events (id, at, kind, n) VALUES (%s, %s, 'w', "
                                     "%s)", (row, at, value))
                    self.last[row] = value
                except psycopg.Error as err:
                    self.failures.append(f"{type(err).__name__}: {err}")
                time.sleep(rng.uniform(0, 0.002))
        finally:
            conn.close()


def writers(dsn: str, first: int, *versions: str) -> list[Writer]:
    started = [Writer(version, first + n) for n, version in enumerate(versions)]
    for writer in started:
        writer.thread = threading.Thread(target=writer.run, args=(dsn,), daemon=True)
        writer.thread.start()
    time.sleep(0.2)
    return started


def stop(*stopped: Writer) -> None:
    for writer in stopped:
        writer.stop.set()
    for writer in stopped:
        assert writer.thread is not None
        writer.thread.join(timeout=30)
        assert not writer.thread.is_alive()
        assert writer.failures == [], writer.failures


def seeded(row: int) -> int:
    return row % 100


@pytest.mark.parametrize("shape", SHAPES)
def test_type_change_with_both_versions_writing_then_complete(dsn: str, runner: Runner,
                                                              pg_conn: Connection,
                                                              shape: str) -> None:
    setup(runner, shape)
    old = writers(dsn, 0, OLD, OLD)
    runner.start(migration(TYPE_CHANGE, "02_type"))
    new = writers(dsn, 2, NEW, NEW)
    time.sleep(0.3)
    stop(*old)  # the deployment has moved every client to the new version
    runner.complete()
    time.sleep(0.2)
    stop(*new)
    rows = dict(query(pg_conn, "SELECT id, n FROM events"))
    expected = {row: seeded(row) * 10 for row in range(1, 1001)}
    for writer in old:
        expected |= {row: value * 10 for row, value in writer.last.items()}
    for writer in new:
        expected |= writer.last
    assert rows == expected
    assert query(pg_conn, "SELECT DISTINCT format_type(atttypid, atttypmod) FROM pg_attribute "
                          "WHERE attrelid::regclass::text LIKE 'events%%' AND attname = 'n'") == [
        ("bigint",)]


@pytest.mark.parametrize("shape", SHAPES)
def test_type_change_with_both_versions_writing_then_rollback(dsn: str, runner: Runner,
                                                              pg_conn: Connection,
                                                              shape: str) -> None:
    setup(runner, shape)
    old = writers(dsn, 0, OLD, OLD)
    runner.start(migration(TYPE_CHANGE, "02_type"))
    new = writers(dsn, 2, NEW, NEW)
    time.sleep(0.3)
    stop(*new)  # the new release is withdrawn
    runner.rollback()
    time.sleep(0.2)
    stop(*old)
    rows = dict(query(pg_conn, "SELECT id, n FROM events"))
    expected = {row: seeded(row) for row in range(1, 1001)}
    for writer in new:
        expected |= {row: value // 10 for row, value in writer.last.items()}
    for writer in old:
        expected |= writer.last
    assert rows == expected
    assert query(pg_conn, "SELECT count(*) FROM pg_attribute WHERE attrelid::regclass::text "
                          "LIKE 'events%%' AND attname LIKE '_pgroll%%'") == [(0,)]


# ---- partitions attached or detached meanwhile --------------------------------------------


def test_a_partition_created_during_a_migration_is_completed(
        pg_conn: Connection, runner: Runner) -> None:
    """Created after start, it has the sync triggers from its first row (tests of the rows:
    tests/test_partitions_changed.py); complete takes it."""
    setup(runner)
    runner.start(migration("alter table events add score int not null up `n + 1`;",
                           "02_score"))
    pg_conn.execute("CREATE TABLE events_2027 PARTITION OF events FOR VALUES FROM "
                    "('2027-01-01') TO ('2028-01-01')")
    pg_conn.execute("INSERT INTO events (id, at, n) VALUES (9, '2027-03-03', 4)")
    runner.complete()
    assert query(pg_conn, "SELECT score FROM events_2027") == [(5,)]


@pytest.mark.parametrize("then", ["complete", "rollback"])
def test_a_partition_detached_during_a_migration(pg_conn: Connection, runner: Runner,
                                                 then: str) -> None:
    """A partition detached between start and complete (pg_partman's retention): complete
    goes on (it refused before), and complete or rollback give the detached table the
    shape it left with, so that it can be attached again (after rollback: the tree's shape
    is that one too) (tests/test_partitions_leave.py tries every boundary of start)."""
    setup(runner)
    runner.start(migration("alter table events add score int not null up `n + 1`;",
                           "02_score"))
    pg_conn.execute("ALTER TABLE events DETACH PARTITION events_2025")
    getattr(runner, then)()
    for table in ("events", "events_2025"):
        assert query(pg_conn, "SELECT count(*) FROM pg_attribute a JOIN pg_class c ON c.oid = "
                              "a.attrelid WHERE c.relname = %s AND a.attname LIKE '_pgroll%%' "
                              "AND NOT a.attisdropped", (table,)) == [(0,)]
    assert query(pg_conn, "SELECT count(*) FROM pg_attribute WHERE attrelid = "
                          "'events_2025'::regclass AND attname = 'score'") == [(0,)]
    if then == "rollback":
        pg_conn.execute("ALTER TABLE events ATTACH PARTITION events_2025 "
                        "FOR VALUES FROM ('2025-01-01') TO ('2026-01-01')")
    else:
        assert query(pg_conn, "SELECT count(*) FROM events WHERE score IS DISTINCT FROM n + 1"
                     ) == [(0,)]


_ANY_LEFT = ("SELECT c.relname, a.attname FROM pg_attribute a JOIN pg_class c ON c.oid = "
             "a.attrelid WHERE c.relnamespace = 'public'::regnamespace AND "
             "a.attname LIKE '\\_pgroll%%' AND NOT a.attisdropped ORDER BY 1, 2")


@pytest.mark.parametrize("change, back", [
    ("ALTER TABLE events DETACH PARTITION events_2026",  # a level with its own partitions
     "ALTER TABLE events ATTACH PARTITION events_2026 FOR VALUES FROM ('2026-01-01') TO "
     "('2027-01-01')"),
    ("ALTER TABLE events_2026 DETACH PARTITION events_2026_1",  # a leaf a level down
     "ALTER TABLE events_2026 ATTACH PARTITION events_2026_1 FOR VALUES WITH (modulus 2, "
     "remainder 1)"),
    ("ALTER TABLE events DETACH PARTITION events_2025; DROP TABLE events_2025", None),
    ("ALTER TABLE events DETACH PARTITION events_2025; CREATE TABLE x (_pgroll_new_kept int); "
     "ALTER TABLE events_2025 ADD COLUMN _pgroll_new_kept int; "  # now a child of x
     "ALTER TABLE events_2025 INHERIT x", None),
])
def test_rollback_takes_start_columns_from_partitions_that_left(
        pg_conn: Connection, runner: Runner, change: str, back: str | None) -> None:
    """Every kind of copy (an added column, a retyped one) and the marker and stamp: gone from
    each table that was a partition at start, attached or not at rollback, and each detached
    one can be attached again. A detached table dropped since is no error. A column of the
    migration's names that the detached table has from a parent of its own stays."""
    setup(runner)
    runner.start(migration("alter table events add score int not null up `n + 1`;\n"
                           "alter table events alter n type bigint up `n` down `n`;",
                           "02_two"))
    pg_conn.execute(change)
    runner.rollback()
    assert query(pg_conn, _ANY_LEFT) == ([("events_2025", "_pgroll_new_kept"),
                                          ("x", "_pgroll_new_kept")] if "kept" in change else [])
    if back is not None:
        pg_conn.execute(back)
