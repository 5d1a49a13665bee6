"""Complete's transaction sends its steps after the first together, in one round trip.

Complete holds ACCESS EXCLUSIVE on every table it changes from its lock step to its commit,
and a client of those tables waits that long. Where pgroll-dsl runs further from the server
than the applications (an operator's shell, a deploy job in another network), every round
trip inside that transaction is added to the wait: at 2 ms, a migration of 10 tables kept
clients waiting 0.47 s when each step had two round trips, 0.25 s with one
(``benchmarks/complete_stall.py --distance 2``), and less with the steps sent together
(docs/benchmarks.md).

The test counts the queries (simple ``Query`` and extended-protocol ``Sync`` messages: a
pipeline is one) that reach the server through a proxy, from the first step of complete's
transaction to its end.
"""

from __future__ import annotations

import contextlib
import socket
import struct
import threading
from collections.abc import Iterator
from typing import Any

import psycopg
import pytest
from psycopg.conninfo import conninfo_to_dict, make_conninfo

from pgroll_dsl.backends.runner import StepEvent
from pgroll_dsl.plan.model import Phase
from tests.live_helpers import client, dsn_of, make_runner, migration, version_schema

pytestmark = pytest.mark.postgres

Connection = psycopg.Connection[tuple[Any, ...]]
TABLES = 6
_UNTYPED = 2  # an SSL or GSS request may come before the startup message, all without a type


class Counter:
    """A TCP proxy to the server that counts the queries its clients send."""

    def __init__(self, host: str, port: int) -> None:
        self.target = (host, port)
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.queries = 0
        # The count before each query that holds ``mark`` (a step's text): where to count from.
        self.mark = b"\x00"
        self.marks: list[int] = []
        self._lock = threading.Lock()
        threading.Thread(target=self._accept, daemon=True).start()

    def close(self) -> None:
        self.listener.close()

    def _accept(self) -> None:
        while True:
            try:
                near, _ = self.listener.accept()
            except OSError:
                return
            far = socket.create_connection(self.target)
            for end in (near, far):
                end.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            threading.Thread(target=self._pump, args=(near, far, True), daemon=True).start()
            threading.Thread(target=self._pump, args=(far, near, False), daemon=True).start()

    def _pump(self, source: socket.socket, sink: socket.socket, count: bool) -> None:
        buffer, untyped = b"", True
        with source, sink:
            while True:
                try:
                    chunk = source.recv(65536)
                except OSError:
                    chunk = b""
                if not chunk:
                    with contextlib.suppress(OSError):
                        sink.shutdown(socket.SHUT_WR)
                    return
                if count:
                    buffer, untyped = self._count(buffer + chunk, untyped)
                with contextlib.suppress(OSError):
                    sink.sendall(chunk)

    def _count(self, buffer: bytes, untyped: bool) -> tuple[bytes, bool]:
        """Count the whole messages at the head of ``buffer``; the rest, and whether the
        next message is still one without a type byte (before and at the startup)."""
        while True:
            if untyped:
                if len(buffer) < 8:
                    return buffer, True
                length, code = struct.unpack("!II", buffer[:8])
                if len(buffer) < length:
                    return buffer, True
                buffer = buffer[length:]
                untyped = code in (80877103, 80877104)  # SSLRequest, GSSENCRequest
                continue
            if len(buffer) < 5:
                return buffer, False
            kind, length = buffer[:1], struct.unpack("!I", buffer[1:5])[0]
            if len(buffer) < 1 + length:
                return buffer, False
            if kind in (b"Q", b"S"):
                with self._lock:
                    if kind == b"Q" and self.mark in buffer[5:1 + length]:
                        self.marks.append(self.queries)
                    self.queries += 1
            buffer = buffer[1 + length:]


@pytest.fixture
def counter(pg_dsn: str) -> Iterator[Counter]:
    params = conninfo_to_dict(pg_dsn)
    made = Counter(str(params.get("host") or "127.0.0.1"), int(params.get("port") or 5432))
    try:
        yield made
    finally:
        made.close()


def _complete_through(dsn: str, pg_conn: Connection, counter: Counter, prefix: str,
                      tables: int, name: str) -> tuple[int, int, int]:
    """Start a migration of ``tables`` new tables' columns, then complete it through the
    proxy: the queries sent before the first step of complete's transaction (its connection
    included), from there to the end, and the number of complete's steps."""
    for i in range(tables):
        pg_conn.execute(f"CREATE TABLE {prefix}{i} (id bigint PRIMARY KEY, v int)")
        pg_conn.execute(f"INSERT INTO {prefix}{i} SELECT g, g FROM generate_series(1, 5) g")
    text = "".join(f"alter table {prefix}{i} add w int not null up `v * 2`;\n"
                   for i in range(tables))
    runner = make_runner(dsn, init=False)
    try:
        plan = runner.start(migration(text, name))
    finally:
        runner.close()
    steps = plan.phase(Phase.COMPLETE)
    assert len(steps) >= 6 * tables
    # The first step of complete's transaction, sent on its own (no on_step hook here: with
    # one, each step goes on its own, after its boundary).
    counter.mark, counter.marks = steps[0].sql.encode(), []
    through = make_conninfo(dsn, host="127.0.0.1", port=counter.port)
    began = counter.queries
    runner = make_runner(through, init=False)
    try:
        runner.complete()
    finally:
        runner.close()
    assert len(counter.marks) == 1, counter.marks
    with client(dsn, version_schema(name)) as new:
        assert new.execute(f"SELECT count(*) FROM {prefix}0 WHERE w = v * 2").fetchone() == (5,)
    return counter.marks[0] - began, counter.queries - counter.marks[0], len(steps)


def test_complete_sends_its_steps_together(pg_dsn: str, pg_conn: Connection,
                                           counter: Counter) -> None:
    """From the first step of complete's transaction to the end of complete: the first step,
    the steps after it in one pipeline, and a few for the bookkeeping (the session's check,
    the records, the commit, the session named again), as many for 6 tables as for 2; with
    each step sent on its own (the name with it), 63 for the 6 tables (57 steps) and 26 for
    the 2 (20 steps). Before it, as many queries for 6 tables as for 2 (24; with a query
    per requirement, 30 more)."""
    dsn = dsn_of(pg_dsn, pg_conn)
    make_runner(dsn).close()
    few_before, few, few_steps = _complete_through(dsn, pg_conn, counter, "a", 2, "02_a")
    many_before, many, many_steps = _complete_through(dsn, pg_conn, counter, "b", TABLES,
                                                      "03_b")
    assert many_steps > few_steps + 20
    assert many == few <= 12, (few, many, few_steps, many_steps)
    # Before the transaction, what complete checks (the things start made that it keeps,
    # seven or so for each table) is read in one query too.
    assert many_before == few_before, (few_before, many_before)


@pytest.mark.parametrize("hooked", [False, True], ids=["together", "one-by-one"])
@pytest.mark.parametrize("name", ["02_it's", "02_back\\slash", "02_ünïcode_%s_$1"])
def test_a_hostile_migration_name_names_the_session_inside_the_transaction(
        pg_dsn: str, pg_conn: Connection, name: str, hooked: bool) -> None:
    """The name goes into the query sent with each step as a literal: a quote, a backslash,
    a placeholder or a non-ASCII letter in the migration's name names the session as it is
    and breaks nothing (a complete of two tables: steps after the first of its
    transaction), whether the steps go together (no hook) or one by one (an ``on_step``
    hook, which here reads the name the step before gave the session)."""
    dsn = dsn_of(pg_dsn, pg_conn)
    for i in range(2):
        pg_conn.execute(f"CREATE TABLE t{i} (id bigint PRIMARY KEY, v int)")
        pg_conn.execute(f"INSERT INTO t{i} VALUES (1, 1)")
    seen: list[str] = []

    def look(event: StepEvent) -> None:
        if event.phase is Phase.COMPLETE and event.index == 2:
            seen.append(str(pg_conn.execute(
                "SELECT application_name FROM pg_stat_activity WHERE pid = %s",
                (runner.session_pid,)).fetchone()[0]))

    runner = make_runner(dsn, **({"on_step": look} if hooked else {}))
    try:
        runner.start(migration("alter table t0 add w int not null up `v * 2`;\n"
                               "alter table t1 add w int not null up `v * 2`;\n", name))
        runner.complete()
    finally:
        runner.close()
    if hooked:
        # At the boundary before step 3 the session is still named after step 2, sent with it.
        # (The server keeps printable ASCII of a name: what else it shows differs by version.)
        assert seen and seen[0].startswith("pgroll-dsl complete 2/"), seen
        assert seen[0].endswith(name if name.isascii() else "code_%s_$1"), seen
    with client(dsn, version_schema(name)) as new:
        assert new.execute("SELECT w FROM t1").fetchone() == (2,)
