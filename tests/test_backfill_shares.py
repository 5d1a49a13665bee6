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

from collections.abc import Iterator

import psycopg
import pytest

from pgroll_dsl.backends.workers import _share
from pgroll_dsl.plan.model import Step, StepKind
from tests.live_helpers import Connection, apply, make_runner, migration

pytestmark = pytest.mark.postgres

ROWS = 400
CUT = 201  # the second share's first key
SKIPPED = "no statement wrote it since the first pass began"


def _units(steps: tuple[Step, ...]) -> Iterator[list[Step]]:
    """The steps as the executor groups them: each with those that join it."""
    unit: list[Step] = []
    for step in steps:
        if unit and not step.joins_previous:
            yield unit
            unit = []
        unit.append(step)
    if unit:
        yield unit


def _run(conn: Connection, steps: tuple[Step, ...]) -> None:
    for unit in _units(steps):
        if unit[0].transactional:
            with conn.transaction():
                for step in unit:
                    conn.execute(step.sql)
        else:
            for step in unit:
                conn.execute(step.sql)


def _session(dsn: str, start: int | None, end: int | None) -> Connection:
    conn = psycopg.connect(dsn, autocommit=True)
    _share(conn, ("id",), None if start is None else (str(start),),
           None if end is None else (str(end),))
    return conn


def _planned(dsn: str, conn: Connection) -> tuple[tuple[Step, ...], int, int]:
    """A table of ROWS rows, and start's steps for a column added to it with the indexes of
    its first and second pass; nothing of start run yet."""
    runner = make_runner(dsn, batch_size=20, batch_time_ms=0)
    apply(runner, "create table t (id int primary key, v int);")
    conn.execute(f"INSERT INTO t SELECT g, g FROM generate_series(1, {ROWS}) g")
    plan = runner.plan(migration("alter table t add w bigint not null up `v * 2`;", "02_w"))
    runner.close()
    first, second = (i for i, s in enumerate(plan.start) if s.kind is StepKind.BACKFILL)
    return plan.start, first, second


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
    steps, first, second = _planned(admin_dsn, pg_conn)
    pg_conn.execute("CREATE FUNCTION noop() RETURNS trigger LANGUAGE plpgsql AS "
                    "'BEGIN RETURN NEW; END'")
    _run(pg_conn, steps[:first])
    shares = [(None, CUT), (CUT, None)]
    if early == "first share":
        shares.reverse()
    filling, returning = (_session(admin_dsn, *share) for share in shares)
    try:
        filling.execute(steps[first].sql)
        pg_conn.execute('CREATE TRIGGER "_pgroll_trigger_zz" AFTER UPDATE ON t '
                        "FOR EACH ROW EXECUTE FUNCTION noop()")
        returning.execute(steps[first].sql)
        pg_conn.execute('DROP TRIGGER "_pgroll_trigger_zz" ON t')
    finally:
        filling.close()
        returning.close()
    counted = pg_conn.execute("SELECT (SELECT last_value FROM pg_sequences WHERE sequencename "
                              "= '_pgroll_passed_t'), (SELECT last_value FROM pg_sequences "
                              "WHERE sequencename = '_pgroll_writes_t')").fetchone()
    _run(pg_conn, steps[first + 1:second])
    notes: list[str] = []
    pg_conn.add_notice_handler(lambda d: notes.append(d.message_primary or ""))
    pg_conn.execute(steps[second].sql)
    assert _wrong(pg_conn) == 0
    assert not any(SKIPPED in n for n in notes), notes
    assert counted == (1, 1), counted  # the filling share's pass, the other's write


def test_shares_that_both_filled_let_the_second_pass_skip(
        admin_dsn: str, pg_conn: Connection) -> None:
    """The same by hand with both shares filling: two counts, no write, the second pass
    reads nothing, and every row has its copy (the shares covered the keys between them)."""
    steps, first, second = _planned(admin_dsn, pg_conn)
    _run(pg_conn, steps[:first])
    for share in [(CUT, None), (None, CUT)]:
        with _session(admin_dsn, *share) as conn:
            conn.execute(steps[first].sql)
    _run(pg_conn, steps[first + 1:second])
    notes: list[str] = []
    pg_conn.add_notice_handler(lambda d: notes.append(d.message_primary or ""))
    pg_conn.execute(steps[second].sql)
    assert any(SKIPPED in n for n in notes), notes
    assert _wrong(pg_conn) == 0
