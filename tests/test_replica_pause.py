"""The backfill pauses while a streaming replica lags (``--backfill-max-replica-lag``).

A primary and a hot standby streaming from it, both embedded servers (the standby is a base
backup of the primary: ``EmbeddedServer(standby_of=...)``). The standby's replay is paused
(``pg_wal_replay_pause``), so its lag only grows: a backfill with a limit must stop after the
first batches and wait, with rows left to do, until replay resumes; then it finishes, and the
standby ends with the same rows as the primary; the operator is told that it waits and how
far behind the replica is, once when the wait begins (not at every check). Without a limit the
same backfill runs to the end while replay is paused. Not marked ``postgres``: these tests
bring their own servers.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from typing import Any

import psycopg
import pytest
from psycopg.conninfo import make_conninfo

from pgroll_dsl.embedded import EmbeddedServer
from tests.live_helpers import make_runner, migration

ROWS = 60_000
MARKER = "_pgroll_needs_backfill"
# Against the insert position: with synchronous_commit off (the embedded server's setting) the
# last commits may not be written yet, and the write position would read as caught up.
LAG = ("SELECT max(pg_catalog.pg_wal_lsn_diff(pg_catalog.pg_current_wal_insert_lsn(), "
       "replay_lsn)) FROM pg_catalog.pg_stat_replication")


@pytest.fixture(scope="module")
def pair() -> Iterator[tuple[EmbeddedServer, EmbeddedServer]]:
    with EmbeddedServer() as primary, EmbeddedServer(standby_of=primary) as standby:
        yield primary, standby


def _database(pair: tuple[EmbeddedServer, EmbeddedServer], name: str) -> tuple[str, str]:
    primary, standby = pair
    with psycopg.connect(primary.dsn, autocommit=True) as conn:
        conn.execute(f"CREATE DATABASE {name}")
    dsn = make_conninfo(primary.dsn, dbname=name)
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute("CREATE TABLE t (id bigint PRIMARY KEY, v int)")
        conn.execute("INSERT INTO t SELECT g, g FROM generate_series(1, %s) g", (ROWS,))
        _caught_up(conn)
    return dsn, make_conninfo(standby.dsn, dbname=name)


def _caught_up(conn: psycopg.Connection[Any], timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        row = conn.execute(LAG).fetchone()
        if row is not None and row[0] == 0:
            return
        time.sleep(0.05)
    raise AssertionError("the standby did not catch up")


def _left(dsn: str) -> int:
    with psycopg.connect(dsn, autocommit=True) as conn:
        row = conn.execute(f"SELECT count(*) FROM t WHERE {MARKER} "
                           "AND _pgroll_backfilled_by IS DISTINCT FROM xmin").fetchone()
    assert row is not None
    return int(row[0])


def _start_in_thread(dsn: str, limit: int, workers: int = 1, said: list[str] | None = None
                     ) -> tuple[threading.Thread, list[BaseException]]:
    runner = make_runner(dsn, batch_size=500, max_replica_lag_mb=limit,
                         backfill_workers=workers,
                         on_message=said.append if said is not None else None)
    runner.start(migration("create table seed (id int primary key);", "01_setup"))
    runner.complete()
    failures: list[BaseException] = []

    def run() -> None:
        try:
            runner.start(migration("alter table t add w bigint not null up `v * 2`;", "02_w"))
        except BaseException as exc:  # reported by the test
            failures.append(exc)
        finally:
            runner.close()

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread, failures


def _told_to_wait(said: list[str], thread: threading.Thread, timeout: float = 60) -> None:
    """Until the backfill says it waits for the replica (or start ends): not a fixed sleep,
    which a loaded machine outran before start reached its first batch."""
    deadline = time.monotonic() + timeout
    while (thread.is_alive() and time.monotonic() < deadline
           and not any("waiting for a replica" in m for m in said)):
        time.sleep(0.05)
    time.sleep(0.5)  # a second worker's batch in flight when the first began to wait


def _replay(standby_dsn: str, paused: bool) -> None:
    with psycopg.connect(standby_dsn, autocommit=True) as conn:
        conn.execute("SELECT pg_wal_replay_pause()" if paused else "SELECT pg_wal_replay_resume()")


@pytest.mark.parametrize("workers", [1, 2])
def test_backfill_waits_for_a_paused_replica_then_finishes(
        pair: tuple[EmbeddedServer, EmbeddedServer], workers: int) -> None:
    dsn, standby_dsn = _database(pair, f"paused_{workers}")
    _replay(standby_dsn, paused=True)
    said: list[str] = []
    began = time.monotonic()
    try:
        thread, failures = _start_in_thread(dsn, limit=1, workers=workers, said=said)
        _told_to_wait(said, thread)
        assert thread.is_alive(), f"start finished while the replica was paused: {failures}"
        left = _left(dsn)
        assert 0 < left < ROWS, f"{left} of {ROWS} rows left: the backfill should wait part-way"
        time.sleep(1)
        assert _left(dsn) == left, "the backfill went on while the replica stayed behind"
    finally:
        _replay(standby_dsn, paused=False)
    thread.join(timeout=120)
    assert not thread.is_alive() and not failures, failures
    assert _left(dsn) == 0
    notes = [m for m in said if "waiting for a replica" in m]
    assert notes and all(m.startswith("backfill t: waiting for a replica ")
                         and m.endswith(" behind (more than 1 MB)") for m in notes), said
    assert len(notes) <= 1 + (time.monotonic() - began) / 10, notes  # not at every check
    with psycopg.connect(dsn, autocommit=True) as conn:
        _caught_up(conn)
        check = "SELECT count(*), sum(_pgroll_new_w), sum(v * 2) FROM t"
        on_primary = conn.execute(check).fetchone()
    with psycopg.connect(standby_dsn, autocommit=True) as replica:
        deadline = time.monotonic() + 60
        while replica.execute(check).fetchone() != on_primary and time.monotonic() < deadline:
            time.sleep(0.2)  # the standby reports its replay position every few seconds
        assert replica.execute(check).fetchone() == on_primary
    assert on_primary is not None and on_primary[1] == on_primary[2]


def test_without_a_limit_the_backfill_does_not_wait(
        pair: tuple[EmbeddedServer, EmbeddedServer]) -> None:
    dsn, standby_dsn = _database(pair, "unlimited")
    _replay(standby_dsn, paused=True)
    try:
        thread, failures = _start_in_thread(dsn, limit=0)
        thread.join(timeout=120)
        assert not thread.is_alive() and not failures, failures
        assert _left(dsn) == 0
    finally:
        _replay(standby_dsn, paused=False)
