"""Review of a7b79ff: a writer below a foreign key's target, two levels down, is waited for.

Start adds a foreign key to each leaf of ``ev`` ``NOT VALID``; that takes SHARE ROW EXCLUSIVE
on the referenced table and on every partition below it (``refd_1a`` is two levels down).
Before the change the wait saw ``refd`` only (no key to it existed yet), the step queued
behind a client writing ``refd_1a`` directly and clients of ``refd`` queued behind the step.
The second case holds a writer on a sub-partition of the migrated table itself, through the
whole of start (its add column, backfill watch, sync triggers and keys). Complete and
rollback lock both trees in one transaction: the same holders are waited for there.
"""

from __future__ import annotations

import pytest

from tests.live_helpers import Connection, apply, dsn_of, make_runner, migration
from tests.test_lock_wait_partitions import LOCK_TIMEOUT_MS, STALL_S, held_while
from tests.test_lock_wait_partitions import SETUP as EVENTS

pytestmark = [pytest.mark.postgres, pytest.mark.fault]

REFD = """sql up `
create table refd (id bigint primary key) partition by hash (id);
create table refd_0 partition of refd for values with (modulus 2, remainder 0);
create table refd_1 partition of refd for values with (modulus 2, remainder 1)
  partition by hash (id);
create table refd_1a partition of refd_1 for values with (modulus 4, remainder 1);
create table refd_1b partition of refd_1 for values with (modulus 4, remainder 3);
insert into refd select g from generate_series(1, 300) g;
`;"""
CHANGE = "alter table ev add m bigint constraint fk_m references refd (id) up `n`;"
HOLDERS = {"refd_1a": "delete from public.refd_1a where false",
           "ev_2026_h1": "delete from public.ev_2026_h1 where false"}
READS = ["select count(*) from public.refd", "insert into public.refd values (100000)",
         "delete from public.refd where id = 100000", "select count(*) from public.ev",
         "insert into public.ev (id, at) values (1000, '2025-06-01')",
         "delete from public.ev where id = 1000"]


@pytest.mark.parametrize(("phase", "where"), [(p, w) for p in ("start", "complete", "rollback")
                                               for w in HOLDERS])
def test_a_writer_below_the_keys_tables_is_waited_for(pg_conn: Connection, pg_dsn: str,
                                                      phase: str, where: str) -> None:
    dsn = dsn_of(pg_dsn, pg_conn)
    messages: list[str] = []
    runner = make_runner(dsn, batch_size=1000, lock_timeout_ms=LOCK_TIMEOUT_MS,
                         on_message=messages.append)
    try:
        apply(runner, EVENTS)
        apply(runner, REFD, "01b_refd")
        change = migration(CHANGE, "02_fk")
        if phase != "start":
            runner.start(change)
        run = {"start": lambda: runner.start(change), "complete": runner.complete,
               "rollback": runner.rollback}[phase]
        stalls, waited = held_while(dsn, run, HOLDERS[where], READS, messages,
                                    hold_s=4.0 if phase == "start" else 2.0)
        assert max(stalls) < STALL_S, (max(stalls), sum(s >= STALL_S for s in stalls), len(stalls))
        assert waited, messages
        if phase == "start":
            runner.complete()
        if phase != "rollback":
            assert pg_conn.execute("select count(*) filter (where m = n), count(*) from ev"
                                   ).fetchone() == (200, 200)
    finally:
        runner.close()
