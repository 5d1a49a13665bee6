"""A partition created, attached or detached while a migration runs.

Start makes a backfill (and indexes, foreign keys) for each partition the table had when it
was planned. A partition that joins later gets the columns, the sync triggers, the checks
and its share of the indexes from PostgreSQL itself; only the rows it brought, or got before
the triggers existed, lack their copies. Where start gives the partitions nothing but their
backfill (an open tree, ``plan/joined.py``), it backfills a partition that joined and goes
on; complete, under its lock, refuses one attached since start with rows it did not
backfill. A partition that left goes (tests/test_partitions_leave.py); one that joins a tree
with index builds per partition still stops start at its last check, saying what to do: the
live executor rolls start back, and a start made again covers the partitions there are.
Each case checks the data: every row's copy after start, and ``w`` through the new version
after complete.
"""

from __future__ import annotations

from collections.abc import Callable

import psycopg
import pytest

from pgroll_dsl.backends.runner import CommandError, PartialFailure, StepEvent
from pgroll_dsl.plan.model import StepKind
from tests.live_helpers import Connection, client, make_runner, migration
from tests.test_review_watch_partitions import (
    EVENTS,
    NEW,
    NULLABLE,
    TEXT,
    Hook,
    _before_second_pass,
    _complete_and_check,
    _finish,
    _left,
    _setup,
    _start,
    _wrong,
)

pytestmark = pytest.mark.postgres

# Without the DEFAULT partition at the root: a table for 2027 can be made beside it.
SETUP = EVENTS.replace("create table events_rest partition of events default;\n", "").replace(
    "generate_series(1, 900)", "generate_series(1, 700)")
SAID = "changed during start"


def _created(c: Connection) -> None:
    c.execute("CREATE TABLE events_2027 PARTITION OF events "
              "FOR VALUES FROM ('2027-01-01') TO ('2028-01-01')")
    c.execute("INSERT INTO events VALUES (7001, '2027-05-05', 'a', 11)")


def _attached(c: Connection) -> None:
    c.execute("CREATE TABLE events_2027 (LIKE events INCLUDING DEFAULTS)")
    c.execute("INSERT INTO events_2027 (id, at, kind, n) VALUES (7001, '2027-05-05', 'a', 11)")
    c.execute("ALTER TABLE events ATTACH PARTITION events_2027 "
              "FOR VALUES FROM ('2027-01-01') TO ('2028-01-01')")


def _created_below(c: Connection) -> None:
    c.execute("CREATE TABLE events_2026_d PARTITION OF events_2026 FOR VALUES IN ('d')")
    c.execute("INSERT INTO events VALUES (7002, '2026-04-04', 'd', 12)")


def _detached(c: Connection) -> None:
    c.execute("ALTER TABLE events DETACH PARTITION events_2025")


JOINED: dict[str, Callable[[Connection], None]] = {
    "created at the root": _created, "attached at the root": _attached,
    "created under the level between": _created_below,
}


def _stopped(run: Callable[[], object]) -> str:
    with pytest.raises(CommandError) as failed:
        run()
    return str(failed.value)


_COLUMNS = ("SELECT count(*) FROM pg_attribute WHERE attrelid = %s::regclass AND attname ~ "
            "'^_pgroll' AND NOT attisdropped")


def _again(dsn: str, conn: Connection, text: str) -> None:
    """The failed start was rolled back, leaving nothing; a second one covers every partition."""
    assert _left(conn) == (0, 0, 0)
    assert conn.execute(_COLUMNS, ["events"]).fetchone() == (0,)
    _start(dsn, None, [], text=text)
    assert _wrong(conn) == []
    _finish(dsn)
    with client(dsn, NEW) as new:
        assert new.execute("SELECT id, n, w FROM events WHERE w IS DISTINCT FROM n * 2"
                           ).fetchall() == []
        assert new.execute("SELECT w FROM events WHERE id >= 7001").fetchall() != []
    assert _left(conn) == (0, 0, 0)


def _joined_rows(conn: Connection) -> list[tuple[object, ...]]:
    """The rows the partitions that joined hold, with their copies."""
    return conn.execute("SELECT id, n, _pgroll_new_w FROM events WHERE id >= 7001 ORDER BY id"
                        ).fetchall()


@pytest.mark.parametrize("null", ["not null", "nullable"])
@pytest.mark.parametrize("change", list(JOINED))
def test_joined_during_the_first_passes(admin_dsn: str, pg_conn: Connection, change: str,
                                        null: str) -> None:
    """While an early leaf's first pass runs, before any sync trigger: the partition's row
    has no copy (the start before this change refused it, rolled back, said start again).
    Now start backfills it, and complete shows it through the new version."""
    _setup(admin_dsn, SETUP)
    text = TEXT if null == "not null" else NULLABLE
    hook = Hook(admin_dsn, "events_2026_a", JOINED[change])
    messages: list[str] = []
    _start(admin_dsn, hook, messages, text=text)
    assert hook.fired and hook.error is None, hook.error
    assert _wrong(pg_conn) == []
    assert [row[:2] for row in _joined_rows(pg_conn)] in ([(7001, 11)], [(7002, 12)])
    assert any("joined events" in m and ": 1 rows" in m for m in messages), messages
    _complete_and_check(admin_dsn, pg_conn)


@pytest.mark.parametrize("then", ["complete", "rollback"])
def test_detached_during_the_first_passes(admin_dsn: str, pg_conn: Connection,
                                          then: str) -> None:
    """A partition start planned for leaves during start (pg_partman's retention): start
    goes on, and complete or rollback gives the detached table the shape it left with
    (tests/test_partitions_leave.py tries every boundary)."""
    _setup(admin_dsn, SETUP)
    rows = pg_conn.execute("SELECT count(*) FROM events_2025").fetchone()
    hook = Hook(admin_dsn, "events_2026_a", _detached)
    _start(admin_dsn, hook, [], text=TEXT)
    assert hook.fired and hook.error is None, hook.error
    assert _wrong(pg_conn) == []
    if then == "complete":
        _complete_and_check(admin_dsn, pg_conn)
    else:
        _finish(admin_dsn, "rollback")
        assert _left(pg_conn) == (0, 0, 0)
    assert pg_conn.execute(_COLUMNS, ["events_2025"]).fetchone() == (0,)
    assert pg_conn.execute("SELECT count(*) FROM events_2025").fetchone() == rows
    assert pg_conn.execute("SELECT count(*) FROM pg_inherits WHERE inhrelid = "
                           "'events_2025'::regclass").fetchone() == (0,)


def test_joined_between_the_passes(admin_dsn: str, pg_conn: Connection) -> None:
    """Right before a leaf's second pass (the sync triggers exist: the row inserted then is
    written by them); nothing left to the catch up but the table's own check."""
    _setup(admin_dsn, SETUP)
    on_step, done = _before_second_pass(admin_dsn, _created)
    _start(admin_dsn, None, [], on_step=on_step)
    assert done
    assert _wrong(pg_conn) == []
    _complete_and_check(admin_dsn, pg_conn)


def test_joined_during_a_single_pass(admin_dsn: str, pg_conn: Connection) -> None:
    """An ``up`` with a volatile function: one pass, after the views (late in start); a
    table attached with a row then is backfilled by start's last check."""
    _setup(admin_dsn, SETUP)
    text = "alter table events add w int up `n * 2 + (random() * 0)::int`;"
    done: list[bool] = []

    def on_step(event: StepEvent) -> None:
        step = event.step
        if not done and step is not None and step.kind is StepKind.BACKFILL \
                and step.relation == "events_2026_a":
            assert ", second pass" not in step.summary and ", first pass" not in step.summary
            with psycopg.connect(admin_dsn, autocommit=True) as c:
                _attached(c)
            done.append(True)
    messages: list[str] = []
    _start(admin_dsn, None, messages, text=text, on_step=on_step)
    assert done
    assert _wrong(pg_conn) == []
    assert any("joined events" in m for m in messages), messages
    _complete_and_check(admin_dsn, pg_conn)


def test_a_tree_with_an_index_per_partition_still_refuses(
        admin_dsn: str, pg_conn: Connection) -> None:
    """An index on the copy is built on each partition and attached to the parent's: one
    that joins before the parent's index exists would leave it invalid. Such a tree keeps
    the strict check: start stops, rolls back, and says to start again."""
    _setup(admin_dsn, SETUP)
    text = TEXT + "\ncreate index events_w on events (w);"
    hook = Hook(admin_dsn, "events_2026_a", _created)
    said = _stopped(lambda: _start(admin_dsn, hook, [], text=text))
    assert hook.fired and hook.error is None, hook.error
    assert f"the partitions of table events {SAID}" in said, said
    _again(admin_dsn, pg_conn, text)


# --- between start and complete ------------------------------------------------------------

def test_created_after_start_completes(admin_dsn: str, pg_conn: Connection) -> None:
    """A partition created after start has the sync triggers from its first row: complete
    takes it, and its rows show through the new version, old-version writes included."""
    _setup(admin_dsn, SETUP)
    _start(admin_dsn, None, [], text=TEXT)
    with psycopg.connect(admin_dsn, autocommit=True) as c:
        _created(c)
    with client(admin_dsn, "public_01_setup") as old:
        old.execute("INSERT INTO events VALUES (7003, '2027-06-06', 'b', 13)")
        old.execute("UPDATE events SET n = 21 WHERE id = 7001")
    assert _wrong(pg_conn) == []
    _complete_and_check(admin_dsn, pg_conn)
    with client(admin_dsn, NEW) as new:
        assert new.execute("SELECT id, w FROM events WHERE id >= 7001 ORDER BY id"
                           ).fetchall() == [(7001, 42), (7003, 26)]


@pytest.mark.parametrize("then", ["backfilled by hand", "rolled back"])
def test_attached_with_rows_after_start_is_refused_by_complete(
        admin_dsn: str, pg_conn: Connection, then: str) -> None:
    """A table attached after start with a row: its copy is not there (start had ended).
    Complete refuses under its lock, changing nothing, and says what to do: backfill it
    (the statement it gives) and complete again, or roll back and start again."""
    _setup(admin_dsn, SETUP)
    _start(admin_dsn, None, [], text=NULLABLE)
    with psycopg.connect(admin_dsn, autocommit=True) as c:
        _attached(c)
    runner = make_runner(admin_dsn, init=False)
    try:
        with pytest.raises(PartialFailure) as refused:
            runner.complete()
        assert runner.status()["status"] == "In progress"
    finally:
        runner.close()
    said = str(refused.value)
    assert "a table attached to events since start has rows without the copies start made " \
        "for the others: events_2027" in said and "nothing was changed" in said, said
    fix = "UPDATE events_2027 SET _pgroll_needs_backfill = true WHERE _pgroll_needs_backfill"
    assert fix in said, said
    if then == "backfilled by hand":
        pg_conn.execute(fix)
    else:
        _finish(admin_dsn, "rollback")
        assert _left(pg_conn) == (0, 0, 0)
        _start(admin_dsn, None, [], text=NULLABLE)
    assert _wrong(pg_conn) == []
    _complete_and_check(admin_dsn, pg_conn)


def test_unchanged_partitions_pass(admin_dsn: str, pg_conn: Connection) -> None:
    """The check is a step of start's plan; with the partitions planned, start ends."""
    _setup(admin_dsn, SETUP)
    runner = make_runner(admin_dsn, init=False)
    try:
        plan = runner.plan(migration(TEXT, "02_events"))
    finally:
        runner.close()
    checks = [s for s in plan.start if "neither join nor leave" in s.summary]
    assert len(checks) == 1 and plan.start.index(checks[0]) > max(
        i for i, s in enumerate(plan.start) if s.summary.startswith("backfill events"))
    _start(admin_dsn, None, [])
    assert _wrong(pg_conn) == []
    with psycopg.connect(admin_dsn, autocommit=True) as conn:
        assert conn.execute("SELECT count(*) FROM events").fetchone() == (700,)
