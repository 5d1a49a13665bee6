"""Every operation kind on a partitioned table, with clients of every version writing.

An enumerating harness: each operation kind of ``KINDS`` × each shape of ``SHAPES`` × each
ending (complete, rollback) is one test. A shape is a table ``ev`` partitioned by RANGE (at)
(a partition per year, one of them sub-partitioned by HASH (id), and a DEFAULT partition) or
by HASH (id) (four partitions), with a primary key, a check, a foreign key, a unique key and an
index, and seeded rows in every partition.

During ``start`` and then ``complete`` or ``rollback``, three clients write all the time
(autocommit, one statement at a time): one through the old version schema, one through the
new one (from the moment its view exists), one on the physical table (``public.ev``, as an
application that knows nothing of versions would). Each owns a third of the seeded rows and
the rows it inserts, updating and inserting in turn, so that what a row must hold depends on
its last writer only. Afterwards every row is checked, one by one, against what the kind's
``up`` and ``down`` (in Python) say its last successful write means in the version that
remains; no row may be missing or extra. The only failures allowed are writes through a
version (or to a name) that the ending removed, after the ending began: old-version writes
after complete began, new-version writes after rollback began, physical-table writes by an
old column or table name after complete began. A physical-table write that overlapped complete
may have landed on either side of the swap: either meaning is accepted for it alone.

The plan of each kind that has per-partition work (an index, a key, a foreign key, a backfill)
must name every leaf partition in its plan file; kinds PostgreSQL cannot run on a partitioned
table are refused offline with their diagnostic at ``file:line:col``.
"""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import psycopg
import pytest
from psycopg import sql

from pgroll_dsl import api
from pgroll_dsl.backends.runner import Runner
from pgroll_dsl.catalog import Catalog
from pgroll_dsl.catalog.sql_ddl import apply_sql
from pgroll_dsl.compile import Before, validate
from pgroll_dsl.diagnostics import CompileError
from pgroll_dsl.render.plan_sql import render_plan
from tests.live_helpers import (
    Connection,
    apply,
    dsn_of,
    make_runner,
    migration,
    query,
    version_schema,
)

pytestmark = [pytest.mark.postgres, pytest.mark.fault]

OLD, NEW = version_schema("01_setup"), version_schema("02_change")
SEED = 240  # rows 1..SEED; writer slot s owns those with id % 3 == s
DATES = ("2025-03-01", "2026-07-01", "2031-01-01")  # 2031: the range shape's default partition

COMMON = """
create table refd (id int primary key);
insert into refd select generate_series(0, 9);
create table ev (id bigint not null, at date not null, n int, kind text, note text, ref int,
  constraint ev_pk primary key (id, at), constraint ck_old check (n >= 0),
  constraint fk_old foreign key (ref) references refd (id),
  constraint uq_old unique (n, id, at)) partition by {by};
create index ev_kind on ev (kind);
"""
SEEDING = f"""
insert into ev select g, date '2025-01-01' + (g * 7 % 730) + case when g % 10 = 0 then 2200
  else 0 end, g * 10, 'k' || (g % 3), 'x', g % 10 from generate_series(1, {SEED}) g;
"""


@dataclass(frozen=True)
class Shape:
    """How ``ev`` is partitioned, and its leaf partitions (the plan must name each)."""

    key: str
    sql: str
    leaves: tuple[str, ...]
    key_column: str


RANGE = Shape("range", COMMON.format(by="range (at)") + """
create table ev_2025 partition of ev for values from ('2025-01-01') to ('2026-01-01');
create table ev_2026 partition of ev for values from ('2026-01-01') to ('2027-01-01')
  partition by hash (id);
create table ev_2026_0 partition of ev_2026 for values with (modulus 2, remainder 0);
create table ev_2026_1 partition of ev_2026 for values with (modulus 2, remainder 1);
create table ev_default partition of ev default;
""" + SEEDING, ("ev_2025", "ev_2026_0", "ev_2026_1", "ev_default"), "at")
HASH = Shape("hash", COMMON.format(by="hash (id)") + "".join(
    f"create table ev_{r} partition of ev for values with (modulus 4, remainder {r});\n"
    for r in range(4)) + SEEDING, tuple(f"ev_{r}" for r in range(4)), "id")
SHAPES = (RANGE, HASH)


def same(value: int) -> int:
    return value


@dataclass(frozen=True)
class Kind:
    """One operation kind: its migration and what it does to the value column ``n``.

    ``up`` turns a value written through the old version into the new version's, ``down``
    the other way round. ``column`` and ``table``: where the new version has ``n`` and
    ``ev``. ``derived``: a column the new version computes from the old value (checked for
    rows whose last write was an old one). ``refused``: the diagnostic code expected instead.
    """

    key: str
    dsl: Callable[[Shape], str]
    up: Callable[[int], int] = same
    down: Callable[[int], int] = same
    column: str = "n"
    table: str = "ev"
    per_partition: bool = False
    refused: str | None = None
    shapes: tuple[str, ...] = ("range", "hash")
    derived: tuple[str, Callable[[int], int]] | None = None
    gone: bool = False  # complete drops the table


def text(statement: str) -> Callable[[Shape], str]:
    return lambda _shape: statement


KINDS = (
    Kind("add_column", text("alter table ev add score int up `n + 1`;"), per_partition=True,
         derived=("score", lambda v: v + 1)),
    Kind("drop_column", text("alter table ev drop note down `'dropped'`;")),
    Kind("rename_column", text("alter table ev rename n to m;"), column="m"),
    Kind("alter_type", text("alter table ev alter n type bigint up `n * 10` down `n / 10`;"),
         up=lambda v: v * 10, down=lambda v: v // 10, per_partition=True),
    Kind("alter_not_null", text("alter table ev alter n set not null up `coalesce(n, 0)`;"),
         per_partition=True),
    Kind("alter_default", text("alter table ev alter n set default `0`;")),
    Kind("alter_check", text("alter table ev alter n add constraint ck_n check `n < 100000000` "
                             "up `least(n, 99999999)`;"), per_partition=True),
    Kind("alter_references", text("alter table ev alter ref add constraint fk_ref2 references "
                                  "refd (id);"), per_partition=True),
    # A column of the primary key that is not in the partition key: the key is made again.
    Kind("alter_key_member", text("alter table ev alter at type timestamp up `at` "
                                  "down `at::date`;"), per_partition=True, shapes=("hash",)),
    Kind("alter_unique", text("alter table ev alter n add constraint n_u unique;"),
         refused="PGD321"),
    Kind("alter_comment", text("alter table ev alter n comment 'the count';")),
    Kind("alter_key_type", lambda s: f"alter table ev alter {s.key_column} type "
         f"{'timestamptz' if s.key_column == 'at' else 'numeric'};", refused="PGD322"),
    Kind("create_index", text("create index ev_n on ev (n);"), per_partition=True),
    Kind("create_unique_index", text("create unique index ev_nu on ev (n, id, at);"),
         per_partition=True),
    Kind("unique_index_without_key", text("create unique index ev_nk on ev (n);"),
         refused="PGD321"),
    Kind("drop_index", text("drop index ev_kind;")),
    Kind("add_check", text("alter table ev add constraint ck_new check `n <> 7` "
                           "up (n `case when n = 7 then 8 else n end`);"), per_partition=True),
    Kind("add_foreign_key", text("alter table ev add constraint fk_new foreign key (ref) "
                                 "references refd (id);"), per_partition=True),
    Kind("add_unique", text("alter table ev add constraint uq_new unique (n, kind, id, at);"),
         per_partition=True),
    Kind("add_unique_key_only", lambda s: "alter table ev add constraint uq_key unique "
         + ("(id, at);" if s.key == "range" else "(id);"),
         refused="PGD323"),
    Kind("drop_check", text("alter table ev drop constraint ck_old up `n` down `n`;"),
         per_partition=True),
    Kind("drop_foreign_key", text("alter table ev drop constraint fk_old up `ref` down `ref`;"),
         per_partition=True),
    Kind("drop_unique", lambda s: "alter table ev drop constraint uq_old down "
         + ("(n);" if s.key == "range" else "(n, at);"),
         per_partition=True),
    Kind("rename_constraint", text("alter table ev rename constraint ck_old to ck_renamed;")),
    Kind("rename_table", text("alter table ev rename to ev2;"), table="ev2"),
    Kind("drop_table", text("drop table ev;"), gone=True),
    Kind("raw_sql", text("sql up `comment on table ev is 'events'` "
                         "down `comment on table ev is null`;")),
    Kind("create_partition", text(
        "sql up `create table ev_2028 partition of ev for values from ('2028-01-01') to "
        "('2029-01-01')` down `drop table ev_2028`;"), shapes=("range",)),
)

CASES = [pytest.param(kind, shape, id=f"{kind.key}-{shape.key}")
         for kind in KINDS for shape in SHAPES if shape.key in kind.shapes]
LIVE = [pytest.param(kind, shape, ending, id=f"{kind.key}-{shape.key}-{ending}")
        for kind in KINDS if kind.refused is None for shape in SHAPES
        if shape.key in kind.shapes for ending in ("complete", "rollback")]


# ---- the clients ------------------------------------------------------------------------------


@dataclass
class Write:
    """One statement a client ran: the row, the value of ``n`` it wrote, when, and how it ended."""

    row: int
    value: int
    began: float
    ended: float
    error: str | None = None  # SQLSTATE: message


@dataclass
class Writer:
    """One client: the old version, the new one, or the physical table (``base``)."""

    role: str
    slot: int
    table: str
    column: str
    search_path: str
    writes: list[Write] = field(default_factory=list)
    stop: threading.Event = field(default_factory=threading.Event)
    thread: threading.Thread | None = None
    crashed: str | None = None

    def run(self, dsn: str) -> None:
        rng = random.Random(f"{self.role}-{self.slot}")
        owned = list(range(3 if self.slot == 0 else self.slot, SEED + 1, 3))
        fresh = 1_000_000 * (self.slot + 1)
        seq = 0
        try:
            conn = psycopg.connect(dsn, autocommit=True, application_name=f"client {self.role}")
        except psycopg.Error as err:
            self.crashed = str(err)
            return
        try:
            conn.execute(sql.SQL("SET search_path TO {}").format(sql.Identifier(
                self.search_path)))
            conn.execute("SET statement_timeout = '20s'")
            table, column = sql.Identifier(self.table), sql.Identifier(self.column)
            if self.role == "new":  # deployed once its version's view exists
                while query(conn, "SELECT to_regclass(%s)", (self.table,)) == [(None,)]:
                    if self.stop.wait(0.002):
                        return
            while not self.stop.is_set():
                seq += 1
                value = 10 * (self.slot * 100_000 + seq)  # distinct, > 0, a multiple of 10
                if seq % 2:
                    row = rng.choice(owned)
                    statement = sql.SQL("UPDATE {} SET {} = %s WHERE id = %s").format(
                        table, column)
                    params: tuple[Any, ...] = (value, row)
                else:
                    row, fresh = fresh, fresh + 1
                    statement = sql.SQL("INSERT INTO {} (id, at, {}, kind, ref) VALUES "
                                        "(%s, %s, %s, 'w', %s)").format(table, column)
                    params = (row, DATES[row % 3], value, row % 10)
                began = time.perf_counter()
                try:
                    conn.execute(statement, params)
                    self.writes.append(Write(row, value, began, time.perf_counter()))
                except psycopg.Error as err:
                    self.writes.append(Write(row, value, began, time.perf_counter(),
                                             f"{err.sqlstate}: {str(err).strip()}"))
                time.sleep(rng.uniform(0, 0.003))
        except Exception as err:  # noqa: BLE001 - reported by the test
            self.crashed = f"{type(err).__name__}: {err}"
        finally:
            conn.close()


def start_writer(dsn: str, writer: Writer) -> Writer:
    writer.thread = threading.Thread(target=writer.run, args=(dsn,), daemon=True,
                                     name=f"{writer.role}-client")
    writer.thread.start()
    return writer


def stop(writers: list[Writer]) -> None:
    for writer in writers:
        writer.stop.set()
    for writer in writers:
        assert writer.thread is not None
        writer.thread.join(timeout=40)
        assert not writer.thread.is_alive(), f"the {writer.role} client hung"
        assert writer.crashed is None, f"the {writer.role} client crashed: {writer.crashed}"


# ---- the checks -------------------------------------------------------------------------------

GONE = ("42P01", "3F000")  # the relation or its schema no longer exists
RENAMED = ("42703",)  # a column by its old name


def allowed(writer: Writer, write: Write, ending: str, began: float) -> bool:
    """Whether a failed write is one the ending explains (see the module)."""
    assert write.error is not None
    state = write.error.split(":")[0]
    if write.ended < began:
        return False
    if ending == "complete" and writer.role == "old":
        return state in GONE
    if ending == "complete" and writer.role == "base":
        return state in GONE + RENAMED
    if ending == "rollback" and writer.role == "new":
        return state in GONE
    return False


def expected_rows(kind: Kind, writers: list[Writer], ending: str,
                  window: tuple[float, float]) -> dict[int, set[int]]:
    """id -> the values ``n`` (or its new name) may hold once the ending is over."""
    done = ending == "complete"

    def meaning(old: bool, value: int) -> int:
        if done:
            return kind.up(value) if old else value
        return value if old else kind.down(value)

    rows: dict[int, set[int]] = {row: {meaning(True, row * 10)} for row in range(1, SEED + 1)}
    for writer in writers:
        for write in writer.writes:
            if write.error is not None:
                continue
            if writer.role == "base" and done and write.ended >= window[0]:
                # After complete, the physical table is the new version's; a write that
                # overlapped complete may have come before or after the swap.
                sides = {False} if write.began > window[1] else {True, False}
                rows[write.row] = {meaning(old, write.value) for old in sides}
                continue
            rows[write.row] = {meaning(writer.role != "new", write.value)}
    return rows


def old_rows(writers: list[Writer]) -> dict[int, int]:
    """Rows whose last successful write went through the old version (or were seeded)."""
    last: dict[int, tuple[str, int]] = {row: ("seed", row * 10) for row in range(1, SEED + 1)}
    for writer in writers:
        for write in writer.writes:
            if write.error is None:
                last[write.row] = (writer.role, write.value)
    return {row: value for row, (role, value) in last.items() if role in ("seed", "old")}


# ---- the tests --------------------------------------------------------------------------------


def compile_kind(kind: Kind, shape: Shape) -> str:
    return kind.dsl(shape)


@pytest.mark.parametrize(("kind", "shape"), CASES)
def test_offline(kind: Kind, shape: Shape) -> None:
    """Validated against the shape's catalog offline: refused with its code, or accepted."""
    catalog, warnings = apply_sql(Catalog(), shape.sql)
    assert warnings == []
    compiled = api.compile_source(compile_kind(kind, shape), "02_change.pgroll").migration
    try:
        validate(compiled, Before(catalog, OLD, ()))
    except CompileError as err:
        found = [(d.code.id, str(d.span)) for d in err.diagnostics]
        assert kind.refused is not None, found
        assert [code for code, _ in found] == [kind.refused], found
        assert all(where.startswith("02_change.pgroll:1:") for _, where in found), found
        return
    assert kind.refused is None, f"{kind.key} should be refused with {kind.refused}"


@pytest.fixture
def dsn(pg_conn: Connection, pg_dsn: str) -> str:
    return dsn_of(pg_dsn, pg_conn)


@pytest.mark.parametrize(("kind", "shape", "ending"), LIVE)
def test_clients_write_through_every_phase(pg_conn: Connection, dsn: str, kind: Kind,
                                           shape: Shape, ending: str) -> None:
    runner: Runner = make_runner(dsn, batch_size=50)
    writers: list[Writer] = []
    try:
        apply(runner, f"sql up `{shape.sql}`;", "01_setup")
        writers = [start_writer(dsn, Writer("old", 0, "ev", "n", OLD)),
                   start_writer(dsn, Writer("base", 2, "ev", "n", "public"))]
        if not kind.gone:
            writers.append(start_writer(dsn, Writer("new", 1, kind.table, kind.column, NEW)))
        time.sleep(0.15)
        started = time.perf_counter()
        plan = runner.start(migration(compile_kind(kind, shape), "02_change"))
        start_window = (started, time.perf_counter())
        time.sleep(0.15)
        began = time.perf_counter()
        if ending == "complete":
            runner.complete()
        else:
            runner.rollback()
        window = (began, time.perf_counter())
        time.sleep(0.1)
    finally:
        stop(writers)
        runner.close()

    plan_text = render_plan(plan)
    if kind.per_partition:
        missing = [leaf for leaf in shape.leaves if f'"public"."{leaf}"' not in plan_text]
        assert missing == [], f"the plan names no step of partitions {missing}"

    failures = [f"{w.role}: {x.error}" for w in writers for x in w.writes
                if x.error is not None and not allowed(w, x, ending, window[0])]
    assert failures == []
    for writer in writers:  # the phases ran while every client wrote
        # A write that overlapped start counts: a short start (raw SQL's comment) can fall
        # inside one write that the machine paused (docs/benchmarks.md, "The machine's own
        # pauses"): no write then began during it.
        if writer.role != "new":
            assert any(x.error is None and x.began < start_window[1]
                       and x.ended > start_window[0]
                       for x in writer.writes), f"the {writer.role} client wrote during start"
        # A client writes every few milliseconds; a complete or rollback shorter than a client's
        # pause (its one transaction, on a machine busy elsewhere) may fall between two writes.
        assert window[1] - window[0] < 0.2 or any(
            x.began < window[1] and x.ended > window[0] for x in writer.writes), \
            f"the {writer.role} client wrote during {ending}"

    table, column = (kind.table, kind.column) if ending == "complete" else ("ev", "n")
    if ending == "complete" and kind.gone:
        assert query(pg_conn, "SELECT to_regclass('public.ev')") == [(None,)]
        return
    actual = dict(query(pg_conn, sql.SQL("SELECT id, {} FROM {}").format(
        sql.Identifier(column), sql.Identifier("public", table)).as_string(pg_conn)))
    expected = expected_rows(kind, writers, ending, window)
    assert sorted(actual) == sorted(expected), "rows missing or extra"
    wrong = {row: (actual[row], sorted(values)) for row, values in expected.items()
             if actual[row] not in values}
    assert wrong == {}
    if kind.derived is not None and ending == "complete":
        name, function = kind.derived
        derived = dict(query(pg_conn, sql.SQL("SELECT id, {} FROM public.ev").format(
            sql.Identifier(name)).as_string(pg_conn)))
        off = {row: (derived[row], function(value))
               for row, value in old_rows(writers).items()
               if derived[row] != function(value)}
        assert off == {}
    assert query(pg_conn, "SELECT indexrelid::regclass::text FROM pg_index WHERE NOT "
                          "indisvalid UNION ALL SELECT conname FROM pg_constraint WHERE NOT "
                          "convalidated") == []
    keys = {"ev_pk", "uq_old"} - ({"uq_old"} if kind.key == "drop_unique" and
                                  ending == "complete" else set())
    assert {name for (name,) in query(pg_conn, "SELECT conname FROM pg_constraint WHERE "
                                               "contype IN ('p', 'u') AND conparentid = 0 AND "
                                               "conrelid = to_regclass(%s)",
                                      (f"public.{table}",))} >= keys
    leftovers = query(pg_conn, "SELECT attrelid::regclass::text, attname FROM pg_attribute a "
                               "JOIN pg_class c ON c.oid = a.attrelid WHERE c.relkind IN "
                               "('r', 'p') AND attname LIKE '\\_pgroll%%' AND NOT attisdropped")
    assert leftovers == []
