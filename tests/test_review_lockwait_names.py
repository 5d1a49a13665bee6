"""Review of a7b79ff: a partition whose name holds ", " and that left its tree is not waited for.

Rollback's step that drops start's columns from a partition detached meanwhile now names that
partition in its ``relation`` (``_left_the_tree``), and the executor splits a step's relation on
", " to find the tables to wait for (``_wait_for_holders``); ``_contract`` splits it the same way
to choose the tables its first step locks. A partition named ``ev_2025, old`` is split into
``ev_2025`` and ``old``: neither exists, so its clients are not waited for, the table is not in
the lock step, and the DO block's ``ALTER TABLE`` queues behind a reader of it while every
later client of that table queues behind the migration for ``lock_timeout``, at each retry.
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
    pytest.param("ev_2025, old", marks=pytest.mark.xfail(strict=True, reason=(
        "a step's relation is a text of names joined by ', ', split again by the executor's "
        "lock wait and by the lock step (older than a7b79ff for a root table so named); "
        "fixed only by a step holding its tables as a tuple"))),
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
