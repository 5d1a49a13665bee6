"""The zero-downtime proof: clients of both versions keep writing while a migration runs.

A table of 100 000 rows gets a NOT NULL column computed by ``up`` from other columns. Four
threads write through the old version and four through the new one (each its own autocommit
connection: inserts, updates of random existing rows, short sleeps) while ``start`` (with a
backfill in batches of 1000) and then ``complete`` run in the main thread.

* Not one client statement may fail. The old-version writers stop right before ``complete``
  (a deployment switches its clients to the new version first; ``complete`` drops the old
  version schema); the new-version writers keep writing through ``complete`` and after it.
* Afterwards every row is as its last writer left it: for rows written through the old
  version, ``c`` is the ``up`` expression of the row; for rows written through the new
  version, the value the client wrote (never overwritten by the backfill); a new-version
  update that leaves ``c`` alone on a row the backfill may not have reached yet gets ``up``
  of the row before or after the update. Rows no client touched were backfilled. No ``c``
  is NULL.

Each writer owns a disjoint slice of the rows (``id % 8``), so the expected final state of a
row does not depend on how the threads interleave. The test takes several seconds; it is the
one slow test of the live suite and stays in the default run (``-k "not concurrency"`` leaves
it out locally).

A second test counts the rows the backfill reads (PostgreSQL's table statistics): a backfill
that keeps up with a big table reads each row a bounded number of times.
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

from pgroll_dsl.backends.live import Session
from pgroll_dsl.backends.runner import Runner, RunOptions
from tests.live_helpers import (
    SCHEMA,
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

SETUP = "create table t (id bigint primary key, a int not null, b int not null);"
CHANGE = "alter table t add c int not null up `a * 10 + b`;"


def up(a: int, b: int) -> int:
    """The migration's ``up``, in Python."""
    return a * 10 + b


def original(row_id: int) -> tuple[int, int]:
    """(a, b) of a row as it was seeded."""
    return row_id % 1000, row_id % 7


@dataclass
class Writer:
    """One client thread and what it did."""

    version: str
    slot: int
    expected: dict[int, tuple[int, int, frozenset[int]]] = field(default_factory=dict)
    failures: list[str] = field(default_factory=list)
    writes: list[float] = field(default_factory=list)  # when each write finished
    null_reads: int = 0  # new version: rows read with c NULL after the backfill finished
    stop: threading.Event = field(default_factory=threading.Event)
    thread: threading.Thread | None = None

    @property
    def is_new(self) -> bool:
        return self.version == NEW


def write_loop(dsn: str, writer: Writer, timeline: Timeline, go: threading.Event) -> None:
    rng = random.Random(writer.slot)
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


def write_once(conn: Connection, writer: Writer, rng: random.Random, owned: list[int],
               untouched: set[int], next_id: int, timeline: Timeline) -> None:
    a, b = rng.randrange(1000), rng.randrange(7)
    choice = rng.random()
    if choice < 0.3:  # insert a row of our own
        row_id = next_id
        if writer.is_new:
            c = -rng.randrange(1, 10**6)  # negative: never what `up` computes
            conn.execute("INSERT INTO t (id, a, b, c) VALUES (%s, %s, %s, %s)", (row_id, a, b, c))
            writer.expected[row_id] = (a, b, frozenset({c}))
        else:
            conn.execute("INSERT INTO t (id, a, b) VALUES (%s, %s, %s)", (row_id, a, b))
            writer.expected[row_id] = (a, b, frozenset({up(a, b)}))
        owned.append(row_id)
    elif writer.is_new and choice < 0.45 and untouched:
        # Update a row without setting c: if the backfill has not reached it yet, c is `up`
        # of the updated row, else it keeps `up` of the row as it was seeded.
        row_id = untouched.pop()
        old_a, old_b = original(row_id)
        conn.execute("UPDATE t SET a = %s WHERE id = %s", (a, row_id))
        writer.expected[row_id] = (a, old_b, frozenset({up(old_a, old_b), up(a, old_b)}))
    elif writer.is_new and choice < 0.55:
        if timeline.backfilled.is_set():  # after the backfill no row reads NULL
            row_id = rng.choice(owned)
            row = conn.execute("SELECT c FROM t WHERE id = %s", (row_id,)).fetchone()
            writer.null_reads += row is None or row[0] is None
        return
    else:  # update a random row of our slice
        row_id = rng.choice(owned)
        untouched.discard(row_id)
        if writer.is_new:
            c = -rng.randrange(1, 10**6)
            conn.execute("UPDATE t SET a = %s, b = %s, c = %s WHERE id = %s", (a, b, c, row_id))
            writer.expected[row_id] = (a, b, frozenset({c}))
        else:
            conn.execute("UPDATE t SET a = %s, b = %s WHERE id = %s", (a, b, row_id))
            writer.expected[row_id] = (a, b, frozenset({up(a, b)}))
    writer.writes.append(time.perf_counter())


@pytest.fixture
def dsn(pg_conn: Connection, pg_dsn: str) -> Iterator[str]:
    yield dsn_of(pg_dsn, pg_conn)


def test_both_versions_write_through_start_backfill_and_complete(
    pg_conn: Connection, dsn: str
) -> None:
    timeline = Timeline()
    runner = timed_runner(dsn, timeline, BATCH_SIZE)
    old = [Writer(OLD, slot) for slot in range(WRITERS)]
    new = [Writer(NEW, slot) for slot in range(WRITERS, SLICES)]
    try:
        runner.init()
        apply(runner, SETUP)
        pg_conn.execute(f"INSERT INTO t (id, a, b) SELECT i, i % 1000, i % 7 "
                        f"FROM generate_series(1, {ROWS}) i")
        pg_conn.execute("ANALYZE t")
        timeline.steps.clear()

        start_writers((*old, *new), write_loop, dsn, timeline)

        began = time.perf_counter()
        runner.start(migration(CHANGE, "02_change"))
        start_done = time.perf_counter()
        time.sleep(0.5)  # both versions live side by side

        stop_writers(old)  # the deployment has switched every client to the new version
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
    during_backfill = sum(backfill_began <= t <= backfill_done for w in new for t in w.writes)
    during_complete = sum(complete_began <= t <= complete_done for w in new for t in w.writes)
    print(f"\nstart {start_done - began:.2f}s (backfill of {ROWS} rows in batches of "
          f"{BATCH_SIZE}: {backfill_done - backfill_began:.2f}s), complete "
          f"{complete_done - complete_began:.2f}s; writes per client {writes}; new-version "
          f"writes during the backfill {during_backfill}, during complete {during_complete}; "
          f"lock retries {len(timeline.retries)}")

    failures = {w.version + str(w.slot): w.failures for w in (*old, *new) if w.failures}
    assert failures == {}
    assert all(n > 20 for n in writes.values()), writes
    assert during_backfill > 0, "no new-version write overlapped the backfill"
    assert sum(w.null_reads for w in new) == 0

    # Every row as its last writer left it; every other row backfilled with `up`.
    rows = {r[0]: r[1:] for r in pg_conn.execute("SELECT id, a, b, c FROM t").fetchall()}
    expected = {k: v for w in (*old, *new) for k, v in w.expected.items()}
    inserted = sum(1 for k in expected if k > ROWS)
    assert len(rows) == ROWS + inserted
    wrong: list[tuple[Any, ...]] = []
    for row_id, (a, b, c) in rows.items():
        if row_id in expected:
            want_a, want_b, want_c = expected[row_id]
            if (a, b) != (want_a, want_b) or c not in want_c:
                wrong.append((row_id, (a, b, c), expected[row_id]))
        elif (a, b, c) != (*original(row_id), up(*original(row_id))):
            wrong.append((row_id, (a, b, c), "seeded, backfilled"))
    assert wrong == [], wrong[:20]
    assert pg_conn.execute("SELECT count(*) FROM t WHERE c IS NULL").fetchone() == (0,)
    assert columns(pg_conn, "t") == [("id", "bigint", True), ("a", "integer", True),
                                     ("b", "integer", True), ("c", "integer", True)]
    assert triggers_and_functions(pg_conn) == []
    assert pg_conn.execute("SELECT to_regnamespace(%s)", (OLD,)).fetchone() == (None,)


def table_stats(conn: Connection, writer: Connection, expect: str, at_least: int
                ) -> tuple[int, int]:
    """(rows read by scans of t, rows ``expect``-ed) once the latter reaches ``at_least``.

    A session's statistics reach the others a little after its transactions, when it goes
    idle and at most about once a second: ask the session that did the work (``writer``) to
    send them, and wait.
    """
    flush = ("SELECT pg_stat_force_next_flush()" if writer.info.server_version >= 150000
             else "SELECT 1")
    deadline = time.monotonic() + 20
    while True:
        writer.execute(flush)
        row = conn.execute(
            "SELECT coalesce(seq_tup_read, 0) + coalesce(idx_tup_fetch, 0), n_tup_ins, "
            "n_tup_upd FROM pg_stat_user_tables WHERE relid = 'public.t'::regclass"
        ).fetchone()
        assert row is not None
        reached = {"n_tup_ins": row[1], "n_tup_upd": row[2]}[expect]
        if reached >= at_least:
            return int(row[0]), int(reached)
        if time.monotonic() > deadline:  # not an AssertionError: not the expected failure
            raise TimeoutError(f"statistics of t: {expect} = {reached}, not {at_least}")
        time.sleep(0.1)


def test_the_backfill_reads_each_row_a_bounded_number_of_times(
    pg_conn: Connection, dsn: str
) -> None:
    rows, batch = 10_000, 100
    # One pass, after the views: new-version clients write while the backfill runs.
    runner = Runner(RunOptions(session=Session(url=dsn, schema=SCHEMA), batch_size=batch,
                               two_passes=False))
    try:
        runner.init()
        apply(runner, SETUP)
        pg_conn.execute(f"INSERT INTO t (id, a, b) SELECT i, i % 1000, i % 7 "
                        f"FROM generate_series(1, {rows}) i")
        pg_conn.execute("ANALYZE t")
        read_before, _ = table_stats(pg_conn, pg_conn, "n_tup_ins", rows)
        runner.start(migration(CHANGE, "02_change"))
        read_after, updated = table_stats(pg_conn, runner.conn, "n_tup_upd", rows)
    finally:
        runner.close()
    assert updated >= rows
    read = read_after - read_before
    # Linear: each row found once by its batch and once by the batch's UPDATE, plus a little.
    # Quadratic: a scan of the table per batch is rows / batch times the rows (here 100).
    assert read <= 4 * rows, f"the backfill of {rows} rows read {read} rows"
