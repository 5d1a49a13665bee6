"""Zero downtime for a column rewrite: both versions keep writing while alter_column runs.

A table of 100 000 rows has a nullable ``int`` column ``c`` with some NULLs; the migration
makes it ``bigint NOT NULL`` through a copy (``up`` replaces NULL by 0, ``down`` casts back).
Four threads write through the old version and four through the new one (each its own
autocommit connection: inserts, updates of random rows of their own, read-backs, short
sleeps) while ``start`` (with a backfill in batches of 1000) and then ``complete`` run in the
main thread.

* Not one client statement fails. The old-version writers stop right before ``complete``
  (a deployment switches its clients to the new version first); the new-version writers
  keep writing through ``complete`` and after it.
* Every read-back gives what the reader's version should see: an old-version client reads
  ``c`` as it wrote it (NULL included), a new-version client the value it wrote, and after
  the backfill no new-version read is NULL.
* Right before ``complete`` every row's copy is ``up`` of its old column, and the old column
  of every row the new version wrote is ``down`` of the value written (one consistent read
  of the table: the trigger keeps both columns of a row in step in the same write).
* Afterwards every row is as its last writer left it: a row written through the old version
  has ``c`` as written, or 0 for NULL; a row written through the new version the value
  written; a new-version update that leaves ``c`` alone keeps ``up`` of the seeded value;
  untouched rows were backfilled. No ``c`` is NULL, the column is ``bigint NOT NULL``.

Each writer owns a disjoint slice of the rows (``id % 8``), so the expected state of a row
does not depend on how the threads interleave. The timings are printed (``-s`` shows them).
"""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import psycopg
import pytest

from tests.live_helpers import (
    Connection,
    Timeline,
    apply,
    client,
    columns,
    dsn_of,
    migration,
    start_writers,
    stop_writers,
    timed_runner,
    triggers_and_functions,
    version_schema,
)

pytestmark = pytest.mark.postgres

ROWS = 100_000
BATCH_SIZE = 1000
WRITERS = 4  # per version
SLICES = 2 * WRITERS  # row ownership: id % SLICES; old writers own 0..3, new writers 4..7
OLD, NEW = version_schema("01_setup"), version_schema("02_change")

SETUP = "create table t (id bigint primary key, a int not null, c int);"
CHANGE = ("alter table t alter c type bigint set not null "
          "up `coalesce(c, 0)::bigint` down `c::int`;")


def up(c: int | None) -> int:
    """The migration's ``up``, in Python."""
    return 0 if c is None else c


def original(row_id: int) -> tuple[int, int | None]:
    """(a, c) of a row as it was seeded: every tenth ``c`` is NULL."""
    return row_id % 1000, None if row_id % 10 == 0 else row_id % 1000 - 500


@dataclass
class Writer:
    """One client thread and what it did."""

    version: str
    slot: int
    # row -> (a, c as the old version last wrote it (None: not written by it), allowed new c)
    expected: dict[int, tuple[int, int | None, frozenset[int]]] = field(default_factory=dict)
    failures: list[str] = field(default_factory=list)
    wrong_reads: list[str] = field(default_factory=list)
    writes: list[float] = field(default_factory=list)  # when each write finished
    reads: int = 0
    stop: threading.Event = field(default_factory=threading.Event)
    thread: threading.Thread | None = None

    @property
    def is_new(self) -> bool:
        return self.version == NEW


def write_loop(dsn: str, writer: Writer, timeline: Timeline, go: threading.Event) -> None:
    rng = random.Random(100 + writer.slot)
    owned = list(range(writer.slot or SLICES, ROWS + 1, SLICES))  # original rows of the slice
    untouched = set(owned)
    next_id = 10_000_000 + writer.slot * 1_000_000
    conn = client(dsn, writer.version)
    try:
        go.wait()
        if writer.is_new:  # a new-version client is deployed once its version schema exists
            while conn.execute("SELECT to_regclass('t')").fetchone() == (None,):
                if writer.stop.wait(0.002):
                    return
        while not writer.stop.is_set():
            try:
                write_once(conn, writer, rng, owned, untouched, next_id, timeline)
            except psycopg.Error as err:
                writer.failures.append(f"{type(err).__name__}: {str(err).strip()}")
            next_id += 1
            time.sleep(rng.uniform(0, 0.003))
    except Exception as err:  # noqa: BLE001 - reported by the test, not lost in the thread
        writer.failures.append(f"writer crashed: {type(err).__name__}: {err}")
    finally:
        conn.close()


def old_value(rng: random.Random) -> int | None:
    """What an old-version client writes into ``c``: an int, NULL one time in four."""
    return None if rng.random() < 0.25 else rng.randrange(-(2**31), 2**31)


def new_value(rng: random.Random) -> int:
    """What a new-version client writes: an int (``down`` casts it back), never 0."""
    return rng.choice((-1, 1)) * rng.randrange(1, 2**31 - 1)


def read_back(conn: Connection, writer: Writer, rng: random.Random, owned: list[int],
              timeline: Timeline) -> None:
    row_id = rng.choice(owned)
    row = conn.execute("SELECT a, c FROM t WHERE id = %s", (row_id,)).fetchone()
    writer.reads += 1
    assert row is not None
    a, c = row
    if row_id in writer.expected:
        want_a, old_c, new_c = writer.expected[row_id]
        good = a == want_a and (c == old_c if not writer.is_new else c in new_c)
    elif writer.is_new:  # seeded: `up` once backfilled, NULL only before the backfill reached it
        good = (a, c) == (original(row_id)[0], up(original(row_id)[1])) or (
            c is None and not timeline.backfilled.is_set())
    else:
        good = (a, c) == original(row_id)
    if not good:
        writer.wrong_reads.append(f"row {row_id}: read {(a, c)}, "
                                  f"expected {writer.expected.get(row_id, 'seeded')}")


def write_once(conn: Connection, writer: Writer, rng: random.Random, owned: list[int],
               untouched: set[int], next_id: int, timeline: Timeline) -> None:
    a = rng.randrange(1000)
    choice = rng.random()
    if choice < 0.15:
        read_back(conn, writer, rng, owned, timeline)
        return
    if choice < 0.4:  # insert a row of our own
        row_id = next_id
        owned.append(row_id)
        if writer.is_new:
            value = new_value(rng)
            conn.execute("INSERT INTO t (id, a, c) VALUES (%s, %s, %s)", (row_id, a, value))
            writer.expected[row_id] = (a, None, frozenset({value}))
        else:
            old = old_value(rng)
            conn.execute("INSERT INTO t (id, a, c) VALUES (%s, %s, %s)", (row_id, a, old))
            writer.expected[row_id] = (a, old, frozenset({up(old)}))
    elif writer.is_new and choice < 0.5 and untouched:
        # Leave c alone: whether or not the backfill reached the row, c is `up` of the seed.
        row_id = untouched.pop()
        conn.execute("UPDATE t SET a = %s WHERE id = %s", (a, row_id))
        writer.expected[row_id] = (a, None, frozenset({up(original(row_id)[1])}))
    else:  # update a random row of our slice
        row_id = rng.choice(owned)
        untouched.discard(row_id)
        if writer.is_new:
            value = new_value(rng)
            conn.execute("UPDATE t SET a = %s, c = %s WHERE id = %s", (a, value, row_id))
            writer.expected[row_id] = (a, None, frozenset({value}))
        else:
            old = old_value(rng)
            conn.execute("UPDATE t SET a = %s, c = %s WHERE id = %s", (a, old, row_id))
            writer.expected[row_id] = (a, old, frozenset({up(old)}))
    writer.writes.append(time.perf_counter())


@pytest.fixture
def dsn(pg_conn: Connection, pg_dsn: str) -> Iterator[str]:
    yield dsn_of(pg_dsn, pg_conn)


def test_both_versions_write_through_a_type_and_not_null_rewrite(
    pg_conn: Connection, dsn: str
) -> None:
    timeline = Timeline()
    runner = timed_runner(dsn, timeline, BATCH_SIZE)
    old = [Writer(OLD, slot) for slot in range(WRITERS)]
    new = [Writer(NEW, slot) for slot in range(WRITERS, SLICES)]
    try:
        runner.init()
        apply(runner, SETUP)
        pg_conn.execute(f"INSERT INTO t (id, a, c) SELECT i, i % 1000, "
                        f"CASE WHEN i % 10 = 0 THEN NULL ELSE i % 1000 - 500 END "
                        f"FROM generate_series(1, {ROWS}) i")
        pg_conn.execute("ANALYZE t")
        timeline.steps.clear()

        start_writers((*old, *new), write_loop, dsn, timeline)

        began = time.perf_counter()
        runner.start(migration(CHANGE, "02_change"))
        start_done = time.perf_counter()
        time.sleep(0.5)  # both versions live side by side

        stop_writers(old)  # the deployment has switched every client to the new version
        # One consistent read of both columns while the new version goes on writing.
        written_by_new = {k for w in new for k in w.expected.copy()}  # committed before it
        both = pg_conn.execute("SELECT id, c, _pgroll_new_c FROM t").fetchall()
        complete_began = time.perf_counter()
        runner.complete()
        complete_done = time.perf_counter()
        time.sleep(0.3)  # the new version goes on after complete
        stop_writers(new)
    finally:
        for writer in (*old, *new):
            writer.stop.set()
        runner.close()

    backfill_began, backfill_done = timeline.backfill()
    writes = {w.version + str(w.slot): len(w.writes) for w in (*old, *new)}
    reads = sum(w.reads for w in (*old, *new))
    during_backfill = sum(backfill_began <= t <= backfill_done for w in new for t in w.writes)
    during_complete = sum(complete_began <= t <= complete_done for w in new for t in w.writes)
    print(f"\nstart {start_done - began:.2f}s (backfill of {ROWS} rows in batches of "
          f"{BATCH_SIZE}: {backfill_done - backfill_began:.2f}s), complete "
          f"{complete_done - complete_began:.2f}s; writes per client {writes}, read-backs "
          f"{reads}; new-version writes during the backfill {during_backfill}, during "
          f"complete {during_complete}; lock retries {len(timeline.retries)}")

    failures = {w.version + str(w.slot): w.failures for w in (*old, *new) if w.failures}
    assert failures == {}
    wrong_reads = {w.version + str(w.slot): w.wrong_reads[:5] for w in (*old, *new)
                   if w.wrong_reads}
    assert wrong_reads == {}
    assert all(n > 20 for n in writes.values()), writes
    assert during_backfill > 0, "no new-version write overlapped the backfill"

    # Right before complete: the copy is `up` of the old column on every row (the old column
    # of a row the new version wrote is `down` of the value written, which `up` gives back).
    out_of_step = [r for r in both if r[2] != up(r[1])]
    assert out_of_step == [], out_of_step[:20]
    assert written_by_new
    assert [r for r in both if r[0] in written_by_new and r[1] is None] == []

    # Every row as its last writer left it; every other row backfilled with `up`.
    rows = {r[0]: r[1:] for r in pg_conn.execute("SELECT id, a, c FROM t").fetchall()}
    expected = {k: v for w in (*old, *new) for k, v in w.expected.items()}
    inserted = sum(1 for k in expected if k > ROWS)
    assert len(rows) == ROWS + inserted
    wrong: list[tuple[Any, ...]] = []
    for row_id, (a, c) in rows.items():
        if row_id in expected:
            want_a, _, want_c = expected[row_id]
            if a != want_a or c not in want_c:
                wrong.append((row_id, (a, c), expected[row_id]))
        elif (a, c) != (original(row_id)[0], up(original(row_id)[1])):
            wrong.append((row_id, (a, c), "seeded, backfilled"))
    assert wrong == [], wrong[:20]
    assert pg_conn.execute("SELECT count(*) FROM t WHERE c IS NULL").fetchone() == (0,)
    assert columns(pg_conn, "t") == [("id", "bigint", True), ("a", "integer", True),
                                     ("c", "bigint", True)]
    assert triggers_and_functions(pg_conn) == []
    assert pg_conn.execute("SELECT to_regnamespace(%s)", (OLD,)).fetchone() == (None,)
    assert pg_conn.execute("SELECT count(*) FROM pg_constraint WHERE conrelid = 'public.t'"
                           "::regclass AND NOT convalidated").fetchone() == (0,)
