"""Review of a7b79ff (a gap the change leaves, older than it): attaching a partition's index.

Start's ``ALTER INDEX ev_n ATTACH PARTITION ev_2025_ev_n`` takes ACCESS EXCLUSIVE on the
partition's index (the step's own summary says so), but the step is planned with
``lock=ACCESS_SHARE`` on ``ev``, so the executor asks at once without waiting for holders.
Every query planned on ``ev`` opens the indexes of the partitions it reads (ACCESS SHARE):
a client in a transaction that read ``ev`` after the partition's index was built makes the
request queue, and every later client of ``ev`` then queues behind it for ``lock_timeout``,
at each retry: the stall the lock wait exists to prevent.
"""

from __future__ import annotations

import threading
import time

import pytest

from pgroll_dsl.backends.runner import StepEvent
from tests.live_helpers import Connection, apply, client, dsn_of, make_runner, migration
from tests.test_lock_wait_partitions import LOCK_TIMEOUT_MS, SETUP, STALL_S

pytestmark = [pytest.mark.postgres, pytest.mark.fault]

HOLD_S = 2.0


def test_a_reader_of_a_partitions_index_is_waited_for(pg_conn: Connection, pg_dsn: str) -> None:
    dsn = dsn_of(pg_dsn, pg_conn)
    messages: list[str] = []
    holder, reader = client(dsn, "public"), client(dsn, "public")
    stalls: list[float] = []
    clients: list[threading.Thread] = []

    def meanwhile() -> None:  # a client of ev, then the holder ends
        ends = time.monotonic() + HOLD_S
        while time.monotonic() < ends:
            began = time.monotonic()
            reader.execute("select count(*) from public.ev where n = 7", prepare=False)
            stalls.append(time.monotonic() - began)
            time.sleep(0.01)
        holder.execute("rollback")

    def hook(event: StepEvent) -> None:  # right before the first attach: a reader of ev_2025
        if event.step is not None and event.step.summary.startswith("attach ev_2025_ev_n") \
                and not clients:
            holder.execute("begin")
            holder.execute("select * from public.ev where n = 5 and at = '2025-03-01'")
            clients.append(threading.Thread(target=meanwhile))
            clients[0].start()
            time.sleep(0.05)

    runner = make_runner(dsn, lock_timeout_ms=LOCK_TIMEOUT_MS, on_message=messages.append,
                         on_step=hook)
    try:
        apply(runner, SETUP)
        runner.start(migration("create index ev_n on ev (n);", "02_index"))
        [thread] = clients
        thread.join(timeout=30)
        assert max(stalls) < STALL_S, (max(stalls), sum(s >= STALL_S for s in stalls), len(stalls))
    finally:
        runner.close()
        holder.close()
        reader.close()
