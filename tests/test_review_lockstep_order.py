"""Review of 3c04a75 (the lock step of complete and rollback names the roots only).

Two gaps, each with a client that arrives once the phase's transaction began (``on_step``
puts it there deterministically; a client arriving then is an ordinary race):

1. complete of a migration that changes the root (drops a column) and drops a partition:
   the dropped
   partition is not in the catalog ``_under`` reads (``ctx.before`` is the *final* catalog at
   ``_contract`` time), so it is named on its own, in name order: ``a_2025`` is locked before
   its root ``ev``, the order 3c04a75 says it removed. A client that holds ``ev`` (read of
   one pruned partition) and then reads all of ``ev`` deadlocks with it: the client stalls a
   whole lock timeout.
2. rollback after a partition was detached: 3c04a75 took the detached table out of the lock
   step (it is "under" its old parent in the plan's catalog); it is now locked by the last
   step, after the root's work. A client that reads the detached table and then writes to
   the root, in one transaction, deadlocks with rollback; before 3c04a75 the table was
   locked in the lock step and the client only waited for the commit.
"""

from __future__ import annotations

import threading
import time
from typing import Any

import pytest

from pgroll_dsl.backends.runner import StepEvent
from tests.live_helpers import Connection, apply, client, dsn_of, make_runner, migration
from tests.test_lock_wait_partitions import LOCK_TIMEOUT_MS, STALL_S, two_partitions

pytestmark = [pytest.mark.postgres, pytest.mark.fault]

class _Client:
    """A client transaction run in a thread: ``first`` now, ``second`` after ``gap_s``."""

    def __init__(self, dsn: str, first: str, second: str, gap_s: float = 0.03) -> None:
        self.conn = client(dsn, "public")
        self.first, self.second, self.gap_s = first, second, gap_s
        self.stall: float | None = None
        self.error: BaseException | None = None
        self.started = threading.Event()
        self.thread = threading.Thread(target=self._run)

    def _run(self) -> None:
        try:
            with self.conn.transaction():
                self.conn.execute(self.first)
                self.started.set()
                time.sleep(self.gap_s)
                began = time.monotonic()
                self.conn.execute(self.second)
                self.stall = time.monotonic() - began
        except BaseException as err:  # noqa: BLE001
            self.error = err
            self.started.set()

    def launch(self) -> None:
        """Start; give its first statement 50 ms (it may wait for the phase: fine)."""
        self.thread.start()
        self.started.wait(0.05)


def _run(dsn: str, setup: str, change: str, phase: str, at: str, first: str, second: str,
         between: str | None = None) -> tuple[_Client, list[Any], Any]:
    made: list[_Client] = []
    retries: list[Any] = []

    def hook(event: StepEvent) -> None:
        step = event.step
        if (not made and event.phase.value == phase and event.in_transaction
                and step is not None and step.summary.startswith(at)):
            made.append(_Client(dsn, first, second))
            made[0].launch()

    runner = make_runner(dsn, lock_timeout_ms=LOCK_TIMEOUT_MS, on_step=hook,
                         on_retry=lambda *a: retries.append(a))
    try:
        apply(runner, setup)
        runner.start(migration(change, "02_change"))
        if between:
            with client(dsn, "public") as c:
                c.execute(between)
        getattr(runner, phase)()
    finally:
        runner.close()
    [c] = made
    c.thread.join(10)
    c.conn.close()
    return c, retries, runner


@pytest.mark.parametrize("partition", ["ev_2025", "a_2025"])
def test_complete_dropping_a_partition_locks_its_root_first(pg_conn: Connection, pg_dsn: str,
                                                             partition: str) -> None:
    dsn = dsn_of(pg_dsn, pg_conn)
    c, retries, _ = _run(
        dsn, two_partitions(partition),
        f"alter table ev drop column n; drop table {partition};",
        "complete", "lock ",
        "insert into public.ev (id, at, n) values (5000, '2026-06-01', 1)",  # holds ev, ev_2026
        "select count(*) from public.ev")  # then every partition
    assert c.error is None, c.error
    assert pg_conn.execute("select count(*) from ev where id = 5000").fetchone() == (1,)
    assert pg_conn.execute("select to_regclass(%s)", (f"public.{partition}",)).fetchone() \
        == (None,)
    assert c.stall is not None and c.stall < STALL_S, (c.stall, len(retries))


@pytest.mark.parametrize("at", ["drop the columns start added from the partitions", "lock "])
def test_rollback_locks_a_detached_partition_with_the_others(pg_conn: Connection,
                                                              pg_dsn: str, at: str) -> None:
    """The client comes once the lock step took the tables (it waits for the commit), or
    just before the lock step: then it holds the detached table when the step asks for
    it, and writes the root the step took first. The step takes the root in the queue and
    the others only where free, giving back what it got: the client goes on at once (it
    stalled a whole lock timeout, 0.97 s, where the step waited for the detached table
    while holding the root)."""
    dsn = dsn_of(pg_dsn, pg_conn)
    c, retries, _ = _run(
        dsn, two_partitions("ev_2025"), "alter table ev add note text not null default 'x';",
        "rollback", at,
        "select count(*) from public.ev_2025",  # an archive job reads the detached table...
        "insert into public.ev (id, at, n) values (5000, '2026-06-01', 1)",  # ...then writes
        between="alter table ev detach partition ev_2025")
    assert c.error is None, c.error
    assert pg_conn.execute("select count(*) from ev where id = 5000").fetchone() == (1,)
    cols = [r[0] for r in pg_conn.execute(
        "select attname from pg_attribute where attrelid = 'ev_2025'::regclass and attnum > 0 "
        "and not attisdropped").fetchall()]
    assert not [x for x in cols if "note" in x or "pgroll" in x], cols
    assert c.stall is not None and c.stall < STALL_S, (c.stall, len(retries))


@pytest.mark.parametrize("ending", ["complete", "rollback"])
@pytest.mark.parametrize("second", ["drop table ev_2025;", "alter table ev_2025 rename to ev_old;"])
def test_start_of_a_change_to_the_root_and_a_partition_drop(pg_conn: Connection, pg_dsn: str,
                                                            second: str, ending: str) -> None:
    """Older than 3c04a75, same cause (``ctx.before`` is the final catalog after the loop):
    start's partitions check was planned for the partitions left after complete, so start
    of a new column on ``ev`` plus ``drop table ev_2025`` (or its rename, which complete
    makes) always refused. Now it is planned for the partitions start leaves; complete or
    rollback then finishes."""
    dsn = dsn_of(pg_dsn, pg_conn)
    runner = make_runner(dsn, lock_timeout_ms=LOCK_TIMEOUT_MS)
    try:
        apply(runner, two_partitions("ev_2025"))
        runner.start(migration(f"alter table ev add note text not null default 'x'; {second}",
                               "02_change"))
        getattr(runner, ending)()
    finally:
        runner.close()
    partitions = {r[0] for r in pg_conn.execute(
        "select c.relname from pg_inherits i join pg_class c on c.oid = i.inhrelid "
        "where i.inhparent = 'ev'::regclass").fetchall()}
    if ending == "rollback":
        assert partitions == {"ev_2025", "ev_2026"}
        assert pg_conn.execute("select count(*) from pg_attribute where attrelid = "
                               "'ev'::regclass and attname like '%note%'").fetchone() == (0,)
        return
    assert partitions == ({"ev_2026"} if second.startswith("drop") else {"ev_old", "ev_2026"})
    assert pg_conn.execute("select count(*) filter (where note = 'x'), count(*) from ev"
                           ).fetchone()[0] > 0
