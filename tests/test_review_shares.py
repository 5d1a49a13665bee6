"""Adversarial review of 93fc990: workers' shares of a first pass count as the pass.

Since 93fc990 each worker's share of a watched first pass that reaches its end counts in the
leaf's ``passed`` sequence (a share that returns early, or ran while the table had a parent,
counts a write instead), and the second pass skips its read when ``passed`` is set and no
write was counted. The argument: the executor runs the second pass only once every share of
the step has completed. Every test here checks the data (each row's copy is ``up`` of its
values, ``_pgroll_new_w = v * 2``), on the real server.

Tried (held unless said otherwise; at 93fc990~1 the held ones that expect the second pass
to skip fail on that expectation only, since no share counted then, never on the data):

* a resumed start after a kill inside the workers' first pass, one share having reached its
  end (and counted) and the other not, resumed on ONE connection by a role that cannot skip
  triggers after a user BEFORE UPDATE trigger was added: the resumed whole pass returns early
  and counted nothing (only a share's early return counted a write), the killed run's
  share's count was still in the sequence, the second pass skipped, and the rows of the
  killed share kept no copy. BROKE (new in 93fc990: before it a share never counted); fixed
  since: every watched first pass that returns early or ran unwatched counts a write;
* the same resumed with two workers (the shares return early, each counts a write): held;
* a share retried after its batch waited out ``lock_timeout`` behind a row lock
  (``SELECT ... FOR UPDATE``, which counts no write), after a partial run: held, and the
  second pass skips;
* three shares set by hand, the middle one's key range empty, a client inserting into it
  (and beyond the table's last key) while the first share runs: held (the inserts count);
* a share boundary key deleted and inserted again by a client during the pass: held;
* a session with ``backfill_slice = on`` and no bounds (the whole table as one share): held;
* text, composite and float keys cut at rounded text forms (``extra_float_digits = 0``),
  two shares set by hand from the executor's own ``boundaries``: held (the shares partition
  the keys whatever the rounding), the second pass skips;
* the dense-key path (integer keys) against the OFFSET path (sparse keys), by hand: held;
* a partitioned table with two workers through the runner, a client moving a row from the
  leaf in its shares' first pass into a leaf that has passed (or writing nothing): held;
* a user BEFORE UPDATE trigger added between two shares by a non-superuser owner (the
  second share returns early and counts a write): held.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest

from pgroll_dsl.backends.workers import boundaries
from pgroll_dsl.plan.model import Step
from tests import fault_model as fm
from tests.live_helpers import Connection, apply, client, make_runner, migration
from tests.test_backfill_shares import _counts, _passes, _run, _second, _session
from tests.test_backfill_watch import SKIPPED
from tests.test_review_watch_partitions import _owner

pytestmark = pytest.mark.postgres

TEXT = "alter table t add w bigint up `v * 2`;"
OLD = "public_01_setup"
NEW = "public_02_w"


# --- helpers ----------------------------------------------------------------------------------


@pytest.fixture
def owner_dsn(admin_dsn: str, pg_conn: Connection) -> Iterator[str]:
    yield from _owner(pg_conn, admin_dsn)


def _plan(dsn: str, setup: str, text: str = TEXT, rows: str | None = None,
          **options: Any) -> tuple[Step, ...]:
    runner = make_runner(dsn, batch_size=options.pop("batch_size", 20), batch_time_ms=0,
                         **options)
    try:
        apply(runner, setup)
        if rows is not None:
            with psycopg.connect(dsn, autocommit=True) as conn:
                conn.execute(rows)
                conn.execute("ANALYZE t")
        return runner.plan(migration(text, "02_w")).start
    finally:
        runner.close()


def _wrong(conn: Connection, up: str = "v * 2") -> list[tuple[Any, ...]]:
    return conn.execute(f"SELECT id, v, _pgroll_new_w FROM public.t WHERE _pgroll_new_w "
                        f"IS DISTINCT FROM {up} ORDER BY 1").fetchall()


def _wait_orphans(conn: Connection) -> None:
    """A killed client's backends run on to their next NOTICE."""
    deadline = time.monotonic() + 20
    while conn.execute("SELECT count(*) FROM pg_stat_activity WHERE query LIKE "
                       "'DO $pgroll_backfill$%' AND pid <> pg_backend_pid()"
                       ).fetchone() != (0,) and time.monotonic() < deadline:
        time.sleep(0.05)


# --- a killed workers' first pass, resumed -----------------------------------------------------

KILL_ARGS = ["--backfill-batch-size", "3", "--backfill-batch-time", "0"]


def _killed_in_the_shares(dsn: str, pg_conn: Connection, tmp_path: Path) -> Path:
    """Start with two workers, killed once the first (small) share has counted its pass and
    the second (large) one is part-way. The shares are cut from the planner's estimate: 20
    rows analysed, 600 there, so the first share holds ids 1-10 and the second the rest."""
    runner = make_runner(dsn, batch_size=20, batch_time_ms=0)
    try:
        apply(runner, "create table t (id int primary key, v int);")
    finally:
        runner.close()
    with psycopg.connect(dsn, autocommit=True) as owner:
        owner.execute("ALTER TABLE t SET (autovacuum_enabled = off)")
        owner.execute("INSERT INTO t SELECT g, g FROM generate_series(1, 20) g")
        owner.execute("ANALYZE t")
        owner.execute("INSERT INTO t SELECT g, g FROM generate_series(21, 600) g")
    file = fm.write_file(tmp_path, "02_w", TEXT)
    killed = fm.cli(["start", str(file), *KILL_ARGS, "--backfill-workers", "2",
                     "--backfill-batch-delay", "0.05"], dsn,
                    env={"PGROLL_DSL_KILL_AT": "backfill:24"})
    assert killed.killed, killed.describe()
    _wait_orphans(pg_conn)
    # The first share counted its pass (since 93fc990; before, no share counted), no write.
    assert _counts(pg_conn)[1] is None
    left = pg_conn.execute("SELECT count(*) FROM public.t WHERE _pgroll_backfilled_by IS "
                           "DISTINCT FROM xmin").fetchone()
    assert left is not None and left[0] > 100, left  # the second share's rows, most of them
    return file


@pytest.mark.parametrize("workers", ["1", "2"])
def test_killed_in_the_shares_then_resumed_by_a_pass_that_returns_early(
        owner_dsn: str, pg_conn: Connection, tmp_path: Path, workers: str) -> None:
    file = _killed_in_the_shares(owner_dsn, pg_conn, tmp_path)
    with psycopg.connect(owner_dsn, autocommit=True) as owner:  # the application's own trigger
        owner.execute("CREATE FUNCTION touch() RETURNS trigger LANGUAGE plpgsql AS "
                      "'BEGIN RETURN NEW; END'")
        owner.execute("CREATE TRIGGER touch BEFORE UPDATE ON t FOR EACH ROW "
                      "EXECUTE FUNCTION touch()")
    resumed = fm.cli(["start", str(file), *KILL_ARGS, "--backfill-workers", workers],
                     owner_dsn)
    assert resumed.returncode == 0, resumed.describe()
    assert _wrong(pg_conn) == [], resumed.describe()
    done = fm.cli(["complete"], owner_dsn)
    assert done.returncode == 0, done.describe()
    with client(owner_dsn, NEW) as new:
        assert new.execute("SELECT count(*) FROM t WHERE w IS DISTINCT FROM v * 2"
                           ).fetchone() == (0,)


# --- a share retried after a lock timeout ------------------------------------------------------


def test_a_share_retried_after_a_lock_timeout(admin_dsn: str, pg_conn: Connection) -> None:
    """A row of the second share is held by ``SELECT ... FOR UPDATE`` (not a write: nothing
    counted) for three times ``lock_timeout``: the worker's batch times out, the share runs
    again after its committed batches, reaches its end and counts. The second pass skips,
    and every row has its copy."""
    runner = make_runner(admin_dsn, batch_size=20, batch_time_ms=0)
    apply(runner, "create table t (id int primary key, v int);")
    runner.close()
    pg_conn.execute("INSERT INTO t SELECT g, g FROM generate_series(1, 600) g")
    pg_conn.execute("ANALYZE t")
    holder = psycopg.connect(admin_dsn)
    held = threading.Event()
    stuck: list[tuple[int, ...]] = []

    def hook(table: str, rows: int, total: int) -> None:
        if held.is_set() or not rows:
            return
        held.set()
        holder.execute("SELECT * FROM public.t WHERE id = 550 FOR UPDATE")

        def release() -> None:
            time.sleep(1.5)
            with psycopg.connect(admin_dsn, autocommit=True) as look:
                row = look.execute("SELECT count(*) FILTER (WHERE id > 560), count(*) FILTER "
                                   "(WHERE id BETWEEN 301 AND 540) FROM public.t WHERE "
                                   "_pgroll_backfilled_by = xmin").fetchone()
                stuck.append(tuple(row) if row else ())
            holder.rollback()

        threading.Thread(target=release).start()

    messages: list[str] = []
    runner = make_runner(admin_dsn, batch_size=20, batch_time_ms=0, batch_delay=0.02,
                         backfill_workers=2, on_progress=hook, on_message=messages.append)
    try:
        runner.start(migration(TEXT, "02_w"))
    finally:
        runner.close()
        time.sleep(0.1)
        holder.close()
    assert held.is_set()
    # While the row was held, the second share (301-600) had written up to its batch with
    # 550 in it and no further: it was waiting, timing out and running again.
    assert stuck == [(0, 240)], stuck
    assert _wrong(pg_conn) == []
    assert any(SKIPPED in m for m in messages), messages
    assert _counts(pg_conn)[1] is None


# --- shares set by hand -------------------------------------------------------------------------


def _by_hand(dsn: str, pg_conn: Connection, steps: tuple[Step, ...],
             shares: list[tuple[tuple[str, ...] | None, tuple[str, ...] | None]],
             key: tuple[str, ...] = ("id",), options: tuple[str, ...] = (),
             during: dict[int, Any] | None = None) -> None:
    """Each share in turn on its own session; ``during[i]`` runs from another connection at
    share ``i``'s first batch report (between its NOTICE and its COMMIT)."""
    first, _ = _passes(steps)
    _run(pg_conn, steps[:first])
    for number, (start, end) in enumerate(shares):
        action = (during or {}).get(number)
        with _session(dsn, key, start, end, *options) as conn:
            if action is not None:
                fired: list[bool] = []

                def notice(d: psycopg.errors.Diagnostic, action: Any = action,
                           fired: list[bool] = fired) -> None:
                    if d.message_detail and not fired:
                        fired.append(True)
                        with psycopg.connect(dsn, autocommit=True) as other:
                            action(other)

                conn.add_notice_handler(notice)
            conn.execute(steps[first].sql)
            if action is not None:
                assert fired, f"share {number} wrote no batch"


SETUP = "create table t (id int primary key, v int);"


def test_an_empty_share_written_while_the_others_run(admin_dsn: str,
                                                    pg_conn: Connection) -> None:
    """Three shares, the middle one's range (150-249) empty: it runs first and counts; then
    a client inserts into it and beyond the last key while the first share runs."""
    steps = _plan(admin_dsn, SETUP, rows="INSERT INTO t SELECT g, g FROM generate_series(1, "
                  "100) g UNION ALL SELECT g, g FROM generate_series(300, 400) g")
    inserts = {1: lambda c: c.execute("INSERT INTO public.t VALUES (200, 7), (5000, 8)")}
    _by_hand(admin_dsn, pg_conn, steps, [(("150",), ("250",)), (None, ("150",)),
                                         (("250",), None)], during=inserts)
    notes = _second(pg_conn, steps)
    assert not any(SKIPPED in n for n in notes), notes
    assert _wrong(pg_conn) == []
    assert pg_conn.execute("SELECT count(*) FROM public.t").fetchone() == (203,)


def test_a_boundary_key_deleted_and_inserted_again(admin_dsn: str,
                                                  pg_conn: Connection) -> None:
    steps = _plan(admin_dsn, SETUP, rows="INSERT INTO t SELECT g, g FROM generate_series(1, "
                  "400) g")
    again = {0: lambda c: (c.execute("DELETE FROM public.t WHERE id = 201"),
                           c.execute("INSERT INTO public.t VALUES (201, 999)"))}
    _by_hand(admin_dsn, pg_conn, steps, [(None, ("201",)), (("201",), None)], during=again)
    notes = _second(pg_conn, steps)
    assert not any(SKIPPED in n for n in notes), notes
    assert _wrong(pg_conn) == []


def test_slice_on_without_bounds_is_the_whole_table(admin_dsn: str,
                                                   pg_conn: Connection) -> None:
    steps = _plan(admin_dsn, SETUP, rows="INSERT INTO t SELECT g, g FROM generate_series(1, "
                  "400) g")
    _by_hand(admin_dsn, pg_conn, steps, [(None, None)])
    notes = _second(pg_conn, steps)
    assert any(SKIPPED in n for n in notes), notes
    assert _wrong(pg_conn) == []


@pytest.mark.parametrize("keys", ["dense", "sparse"])
def test_dense_and_offset_paths(admin_dsn: str, pg_conn: Connection, keys: str) -> None:
    """The dense path (a batch is ``size`` values on) and the OFFSET path, three shares cut
    off the keys, one boundary on no key at all."""
    rows = "g" if keys == "dense" else "g * 1000 + (g % 7)"
    steps = _plan(admin_dsn, SETUP, rows=f"INSERT INTO t SELECT {rows}, g FROM "
                  "generate_series(1, 500) g")
    cut = ["137", "301"] if keys == "dense" else ["137500", "301001"]
    _by_hand(admin_dsn, pg_conn, steps, [(None, (cut[0],)), ((cut[0],), (cut[1],)),
                                         ((cut[1],), None)])
    notes = _second(pg_conn, steps)
    assert any(SKIPPED in n for n in notes), notes
    assert _wrong(pg_conn) == []


KEYS = {
    "text": ("create table t (id text primary key, v int);",
             "INSERT INTO t SELECT 'k' || g, g FROM generate_series(1, 500) g", ("id",)),
    "composite": ("sql up `create table t (a int, id int, v int, primary key (a, id))`;",
                  "INSERT INTO t SELECT g % 3, g, g FROM generate_series(1, 500) g",
                  ("a", "id")),
    "float rounded": ("create table t (id float8 primary key, v int);",
                      "INSERT INTO t SELECT g / 3.0 + 1e-13, g FROM generate_series(1, 500) g",
                      ("id",)),
}


@pytest.mark.parametrize("kind", list(KEYS))
def test_keys_cut_at_their_text_forms(admin_dsn: str, pg_conn: Connection, kind: str) -> None:
    """Three shares from the executor's own ``boundaries``, in sessions whose float output
    rounds (``extra_float_digits = 0``: 15 digits, the keys need 17)."""
    setup, rows, key = KEYS[kind]
    steps = _plan(admin_dsn, setup, rows=rows)
    first, _ = _passes(steps)
    rounding = "SET extra_float_digits = 0"
    with psycopg.connect(admin_dsn, autocommit=True) as conn:
        conn.execute(rounding)
        starts = boundaries(conn, "public", steps[first], 3, 500)
    assert len(starts) == 3, starts
    if kind == "float rounded":
        exact = pg_conn.execute("SELECT count(*) FROM public.t WHERE id = ANY(%s::float8[])",
                                ([s[0] for s in starts],)).fetchone()
        assert exact == (0,), starts  # no text form is the key itself (thirds round)
    shares = [(None, starts[1]), (starts[1], starts[2]), (starts[2], None)]
    _by_hand(admin_dsn, pg_conn, steps, shares, key=key, options=(rounding,))
    notes = _second(pg_conn, steps)
    assert any(SKIPPED in n for n in notes), notes
    assert _wrong(pg_conn) == []


def test_owner_adds_a_user_trigger_between_the_shares(owner_dsn: str,
                                                      pg_conn: Connection) -> None:
    """As the owner (no replica role): the first share fills its rows; the application then
    adds a BEFORE UPDATE row trigger; the second share cannot skip it, returns early and
    counts a write. The second pass reads (through the triggers) and every row is right."""
    steps = _plan(owner_dsn, SETUP, rows="INSERT INTO t SELECT g, g FROM generate_series(1, "
                  "400) g")
    first, _ = _passes(steps)
    with psycopg.connect(owner_dsn, autocommit=True) as owner:
        _run(owner, steps[:first])
        with _session(owner_dsn, ("id",), None, ("201",)) as conn:
            conn.execute(steps[first].sql)
        owner.execute("CREATE FUNCTION touch() RETURNS trigger LANGUAGE plpgsql AS "
                      "'BEGIN RETURN NEW; END'")
        owner.execute("CREATE TRIGGER touch BEFORE UPDATE ON t FOR EACH ROW "
                      "EXECUTE FUNCTION touch()")
        with _session(owner_dsn, ("id",), ("201",), None) as conn:
            conn.execute(steps[first].sql)
        assert _counts(owner) == (1, 1)
        notes = _second(owner, steps)
    assert not any(SKIPPED in n for n in notes), notes
    assert _wrong(pg_conn) == []


# --- a partitioned table through the runner -----------------------------------------------------

PARTITIONED = """sql up `create table t (id int not null, at int not null, v int,
  primary key (id, at)) partition by range (at);
create table t_a partition of t for values from (0) to (100);
create table t_b partition of t for values from (100) to (200);
insert into t select g, g % 200, g from generate_series(1, 800) g`;"""


@pytest.mark.parametrize("write", [False, True])
def test_partitioned_leaves_in_shares(admin_dsn: str, pg_conn: Connection, write: bool) -> None:
    """Each leaf's first pass on two workers (each share counts the leaf's pass). During the
    second leaf's, a client moves one of its rows into the first leaf (passed): the root's
    write is counted and no leaf skips; without it every leaf skips. Every row is right."""
    runner = make_runner(admin_dsn, batch_size=20, batch_time_ms=0)
    apply(runner, PARTITIONED)
    runner.close()
    pg_conn.execute("ANALYZE t")
    fired: list[bool] = []

    def hook(table: str, rows: int, total: int) -> None:
        if write and table == "t_b" and rows and not fired:
            fired.append(True)
            with psycopg.connect(admin_dsn, autocommit=True) as other:
                if other.execute("SELECT count(*) FROM pg_trigger WHERE tgname ~ "
                                 "'^_pgroll_trigger_'").fetchone() == (0,):
                    other.execute("UPDATE public.t SET at = 5, v = v + 1000 WHERE id = 799")

    messages: list[str] = []
    runner = make_runner(admin_dsn, batch_size=20, batch_time_ms=0, batch_delay=0.01,
                         backfill_workers=2, on_progress=hook, on_message=messages.append)
    try:
        runner.start(migration(TEXT, "02_w"))
    finally:
        runner.close()
    skipped = sorted(m.split(":")[0] for m in messages if SKIPPED in m)
    assert skipped == ([] if write else ["backfill t_a", "backfill t_b"]), messages
    assert _wrong(pg_conn) == []
    assert pg_conn.execute("SELECT tableoid::regclass::text, v FROM public.t WHERE id = 799"
                           ).fetchone() == (("t_a", 1799) if write else ("t_b", 799))
