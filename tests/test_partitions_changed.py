"""A partition created, attached or detached while start runs: start stops at its end.

Start makes a backfill (and indexes, foreign keys) for each partition the table had when it
was planned. A partition that comes during start has rows without their copies: the new
version would show them NULL (or its NOT NULL check would fail, saying nothing of why).
Start's last step before the checks are validated compares the partitions with the plan's
and fails, saying what to do; the live executor then rolls start back, and a start made
again covers the new partition. Each case checks the data: every row's copy after the
second start, and ``w`` through the new version after complete.
"""

from __future__ import annotations

from collections.abc import Callable

import psycopg
import pytest

from pgroll_dsl.backends.runner import CommandError, StepEvent
from pgroll_dsl.plan.model import StepKind
from tests.live_helpers import Connection, client, make_runner, migration
from tests.test_review_watch_partitions import (
    EVENTS,
    NEW,
    NULLABLE,
    TEXT,
    Hook,
    _before_second_pass,
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


CHANGES: dict[str, Callable[[Connection], None]] = {
    "created at the root": _created, "attached at the root": _attached,
    "created under the level between": _created_below, "detached": _detached,
}


def _stopped(run: Callable[[], object]) -> str:
    with pytest.raises(CommandError) as failed:
        run()
    return str(failed.value)


_COLUMNS = ("SELECT count(*) FROM pg_attribute WHERE attrelid = %s::regclass AND attname ~ "
            "'^_pgroll' AND NOT attisdropped")


def _again(dsn: str, conn: Connection, text: str, detached: bool) -> None:
    """The failed start was rolled back, leaving nothing; a second one covers every partition.

    ``detached``: the partition that left the tree during start lost start's columns with
    the rollback, and can be attached again (a partition has its parent's columns, no more).
    """
    assert _left(conn) == (0, 0, 0)
    assert conn.execute(_COLUMNS, ["events"]).fetchone() == (0,)
    if detached:
        assert conn.execute(_COLUMNS, ["events_2025"]).fetchone() == (0,)
        conn.execute("ALTER TABLE events ATTACH PARTITION events_2025 "
                     "FOR VALUES FROM ('2025-01-01') TO ('2026-01-01')")
    _start(dsn, None, [], text=text)
    assert _wrong(conn) == []
    _finish(dsn)
    with client(dsn, NEW) as new:
        assert new.execute("SELECT id, n, w FROM events WHERE w IS DISTINCT FROM n * 2"
                           ).fetchall() == []
        if not detached:
            assert new.execute("SELECT w FROM events WHERE id >= 7001").fetchall() != []
    assert _left(conn) == (0, 0, 0)


@pytest.mark.parametrize("null", ["not null", "nullable"])
@pytest.mark.parametrize("change", list(CHANGES))
def test_during_the_first_passes(admin_dsn: str, pg_conn: Connection, change: str,
                                 null: str) -> None:
    """While an early leaf's first pass runs (two passes: the views come after them)."""
    _setup(admin_dsn, SETUP)
    text = TEXT if null == "not null" else NULLABLE
    hook = Hook(admin_dsn, "events_2026_a", CHANGES[change])
    said = _stopped(lambda: _start(admin_dsn, hook, [], text=text))
    assert hook.fired and hook.error is None, hook.error
    table = "events_2026" if change == "created under the level between" else "events"
    assert f"the partitions of table {table} {SAID}" in said, said
    assert "rolled back" in said and "start the migration again" in said, said
    _again(admin_dsn, pg_conn, text, change == "detached")


def test_between_the_passes(admin_dsn: str, pg_conn: Connection) -> None:
    """Right before a leaf's second pass: its rows are counted by no watch, none skips."""
    _setup(admin_dsn, SETUP)
    on_step, done = _before_second_pass(admin_dsn, _created)
    said = _stopped(lambda: _start(admin_dsn, None, [], on_step=on_step))
    assert done
    assert SAID in said, said
    _again(admin_dsn, pg_conn, TEXT, False)


def test_during_a_single_pass(admin_dsn: str, pg_conn: Connection) -> None:
    """An ``up`` with a volatile function: one pass, after the views (late in start)."""
    _setup(admin_dsn, SETUP)
    text = "alter table events add w int up `n * 2 + (random() * 0)::int`;"
    done: list[bool] = []

    def on_step(event: StepEvent) -> None:
        step = event.step
        if not done and step is not None and step.kind is StepKind.BACKFILL \
                and step.relation == "events_2026_a":
            assert ", second pass" not in step.summary and ", first pass" not in step.summary
            with psycopg.connect(admin_dsn, autocommit=True) as c:
                _created(c)
            done.append(True)
    said = _stopped(lambda: _start(admin_dsn, None, [], text=text, on_step=on_step))
    assert done
    assert SAID in said, said
    _again(admin_dsn, pg_conn, text, False)


def test_unchanged_partitions_pass(admin_dsn: str, pg_conn: Connection) -> None:
    """The check is a step of start's plan; with the partitions planned, start ends."""
    _setup(admin_dsn, SETUP)
    runner = make_runner(admin_dsn, init=False)
    try:
        plan = runner.plan(migration(TEXT, "02_events"))
    finally:
        runner.close()
    checks = [s for s in plan.start if "are those start was planned for" in s.summary]
    assert len(checks) == 1 and plan.start.index(checks[0]) > max(
        i for i, s in enumerate(plan.start) if s.summary.startswith("backfill events"))
    _start(admin_dsn, None, [])
    assert _wrong(pg_conn) == []
    with psycopg.connect(admin_dsn, autocommit=True) as conn:
        assert conn.execute("SELECT count(*) FROM events").fetchone() == (700,)
