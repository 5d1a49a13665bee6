"""Workers' shares of a first pass: the second pass skips only when every share filled its rows.

With ``--backfill-workers N`` the first pass runs on N connections, each on a share of the
keys (``backends/workers.py``), and each share that reaches its end counts in the watch's
passes sequence, as a whole pass does (``plan/backfill.py``, ``_passed``). The second pass
then skips its read when no statement wrote the table. A share that returns early instead
(the table had a sync trigger, or could not be written directly, when it began) leaves its
rows to the second pass: it counts a write, so that the second pass reads, whatever the other
shares counted. These tests run the plan's steps by hand, each share on its own session with
the settings the executor gives it, so that one share returns early and the other does not
(the live executor's workers start within milliseconds of each other). Every test checks
every row's copy.
"""

from __future__ import annotations

from contextlib import nullcontext
from typing import Any

import psycopg
import pytest

from pgroll_dsl.backends.workers import _share
from pgroll_dsl.plan.model import Phase, Step, StepKind, units
from tests.live_helpers import Connection, apply, make_runner, migration
from tests.test_backfill_watch import SKIPPED

pytestmark = pytest.mark.postgres

ROWS = 400
CUT = 201  # the second share's first key


def _run(conn: Connection, steps: tuple[Step, ...]) -> None:
    """Start's ``steps`` as the executor groups them (``model.units``)."""
    for unit in units(Phase.START, steps):
        with conn.transaction() if unit.atomic else nullcontext():
            for step in unit.steps:
                conn.execute(step.sql)


def _passes(steps: tuple[Step, ...]) -> tuple[int, int]:
    first, second = (i for i, s in enumerate(steps) if s.kind is StepKind.BACKFILL)
    return first, second


def _second(conn: Connection, steps: tuple[Step, ...]) -> list[str]:
    """From after the first pass to the second pass included; the second pass's notices."""
    first, second = _passes(steps)
    _run(conn, steps[first + 1:second])
    notes: list[str] = []
    conn.add_notice_handler(lambda d: notes.append(d.message_primary or ""))
    conn.execute(steps[second].sql)
    return notes


def _counts(conn: Connection) -> tuple[Any, ...]:
    row = conn.execute("SELECT (SELECT last_value FROM pg_sequences WHERE sequencename = "
                        "'_pgroll_passed_t'), (SELECT last_value FROM pg_sequences WHERE "
                        "sequencename = '_pgroll_writes_t')").fetchone()
    assert row is not None
    return tuple(row)


def _session(dsn: str, key: tuple[str, ...], start: tuple[str, ...] | None,
             end: tuple[str, ...] | None, *options: str) -> Connection:
    """A session with a worker's settings (``_share``, the executor's own)."""
    conn = psycopg.connect(dsn, autocommit=True)
    for option in options:
        conn.execute(option)
    pid = conn.execute("SELECT pg_backend_pid()").fetchone()
    assert pid is not None
    _share(conn, pid[0], key, start, end)
    return conn


def _planned(dsn: str, conn: Connection) -> tuple[Step, ...]:
    """A table of ROWS rows, and start's steps for a column added to it (none run yet)."""
    runner = make_runner(dsn, batch_size=20, batch_time_ms=0)
    apply(runner, "create table t (id int primary key, v int);")
    conn.execute(f"INSERT INTO t SELECT g, g FROM generate_series(1, {ROWS}) g")
    plan = runner.plan(migration("alter table t add w bigint not null up `v * 2`;", "02_w"))
    runner.close()
    return plan.start


def _wrong(conn: Connection) -> int:
    row = conn.execute("SELECT count(*) FROM t WHERE _pgroll_new_w IS DISTINCT FROM v * 2"
                       ).fetchone()
    assert row is not None
    return int(row[0])


@pytest.mark.parametrize("early", ["second share", "first share"])
def test_a_share_that_returned_early_makes_the_second_pass_read(
        admin_dsn: str, pg_conn: Connection, early: str) -> None:
    """One share fills its rows and counts its pass; the other finds a sync trigger on the
    table when it begins (as a resumed start whose triggers exist would) and returns at
    once. Without its count of a write, the second pass took the first share's count for
    the whole table's and skipped: the other share's rows kept no copy."""
    steps = _planned(admin_dsn, pg_conn)
    first, _ = _passes(steps)
    pg_conn.execute("CREATE FUNCTION noop() RETURNS trigger LANGUAGE plpgsql AS "
                    "'BEGIN RETURN NEW; END'")
    _run(pg_conn, steps[:first])
    cut = (str(CUT),)
    shares = [(None, cut), (cut, None)]
    if early == "first share":
        shares.reverse()
    filling, returning = (_session(admin_dsn, ("id",), *share) for share in shares)
    try:
        filling.execute(steps[first].sql)
        pg_conn.execute('CREATE TRIGGER "_pgroll_trigger_zz" AFTER UPDATE ON t '
                        "FOR EACH ROW EXECUTE FUNCTION noop()")
        returning.execute(steps[first].sql)
        pg_conn.execute('DROP TRIGGER "_pgroll_trigger_zz" ON t')
    finally:
        filling.close()
        returning.close()
    counted = _counts(pg_conn)
    notes = _second(pg_conn, steps)
    assert _wrong(pg_conn) == 0
    assert not any(SKIPPED in n for n in notes), notes
    assert counted == (1, 1), counted  # the filling share's pass, the other's write


def test_shares_that_both_filled_let_the_second_pass_skip(
        admin_dsn: str, pg_conn: Connection) -> None:
    """The same by hand with both shares filling: two counts, no write, the second pass
    reads nothing, and every row has its copy (the shares covered the keys between them)."""
    steps = _planned(admin_dsn, pg_conn)
    first, _ = _passes(steps)
    _run(pg_conn, steps[:first])
    cut = (str(CUT),)
    for share in [(cut, None), (None, cut)]:
        with _session(admin_dsn, ("id",), *share) as conn:
            conn.execute(steps[first].sql)
    notes = _second(pg_conn, steps)
    assert any(SKIPPED in n for n in notes), notes
    assert _wrong(pg_conn) == 0
