"""Review of a7b79ff: a partition whose name holds ", " and that left its tree is waited for.

Rollback's step that drops start's columns from a partition detached meanwhile names that
partition among its tables (``_left_the_tree``), and the executor waits for the clients of a
step's tables (``_wait_for_holders``); ``_contract`` locks them in its first step. When a step
held them as one text joined by ", ", a partition named ``ev_2025, old`` was split into
``ev_2025`` and ``old``: neither exists, so its clients were not waited for, the table was not
in the lock step, and the DO block's ``ALTER TABLE`` queued behind a reader of it while every
later client of that table queued behind the migration for ``lock_timeout``, at each retry.
Same shape as test_a_lock_on_a_table_that_left_the_tree_is_waited_for in
tests/test_lock_wait_partitions.py, only the partition's name differs.
"""

from __future__ import annotations

import pytest

from tests.live_helpers import Connection, apply, dsn_of, make_runner, migration
from tests.test_lock_wait_partitions import (
    CHANGE,
    LOCK_TIMEOUT_MS,
    STALL_S,
    _columns,
    held_while,
    two_partitions,
)

pytestmark = [pytest.mark.postgres, pytest.mark.fault]

NAMES = [
    # Failed before a step held its tables as a tuple: its relation, a text of names joined
    # by ", ", was split again by the executor's lock wait and by the lock step.
    "ev_2025, old",
    'Ev.2025 "q\'s"',  # a dot, quotes, upper case and a space: this one holds
]



@pytest.mark.parametrize("name", NAMES)
def test_a_detached_partition_with_a_hostile_name_is_waited_for(pg_conn: Connection,
                                                                 pg_dsn: str, name: str) -> None:
    quoted = '"' + name.replace('"', '""') + '"'
    dsn = dsn_of(pg_dsn, pg_conn)
    messages: list[str] = []
    runner = make_runner(dsn, lock_timeout_ms=LOCK_TIMEOUT_MS, on_message=messages.append)
    try:
        apply(runner, two_partitions(quoted.replace("`", "``")))
        runner.start(migration(CHANGE, "02_change"))
        pg_conn.execute(f"alter table ev detach partition {quoted}")
        rows = pg_conn.execute(f"select count(*) from {quoted}").fetchone()
        table = f"public.{quoted}"
        stalls, waited = held_while(dsn, runner.rollback, f"select count(*) from {table}", [
            f"select count(*) from {table}",
            f"insert into {table} (id, at, n) values (1000, '2025-06-01', 0)",
            f"delete from {table} where id = 1000"], messages)
        assert max(stalls) < STALL_S, (max(stalls), sum(s >= STALL_S for s in stalls), len(stalls))
        assert waited, messages
        assert [c for c in _columns(pg_conn, quoted)
                if "pgroll" in c or "note" in c] == []
        assert pg_conn.execute(f"select count(*) from {quoted}").fetchone() == rows
    finally:
        runner.close()
