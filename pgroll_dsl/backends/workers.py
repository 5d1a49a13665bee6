"""A backfill split over several connections, for servers with cores to spare.

One backfill runs on one connection and uses one core of the server. With
``--backfill-workers N`` the executor cuts the table's key range at N-1 keys (read once, at
evenly spaced positions of the key order, from the planner's row estimate) and runs the
plan's own backfill statement on N connections at once, each with its share in its session's
settings (see ``plan/backfill.py``). The shares are cut at keys, not at positions, so they
cover every key together, whatever clients insert or delete meanwhile; a row two workers
both reach is written once (the second finds its marker cleared). Each worker reports its
rows; the sum is the progress.
"""

from __future__ import annotations

import contextlib
import random
import threading
import time
from collections.abc import Callable
from typing import Any

import psycopg

from pgroll_dsl.backends.one_session import PID, SessionChanged, changed
from pgroll_dsl.catalog.derived import FROM_SETTING, SLICE_SETTING, TO_SETTING
from pgroll_dsl.plan.backfill import backfill_note, progress_rows
from pgroll_dsl.plan.model import Step
from pgroll_dsl.sql.ddl import qualified
from pgroll_dsl.sql.quoting import quote_ident

Connection = psycopg.Connection[Any]
Pinned = tuple[Connection, int]  # a connection, and the server session its settings are in
Key = tuple[str, ...]  # a key's columns as text (their output form)


def boundaries(conn: Connection, schema: str, step: Step, workers: int,
               estimate: int) -> list[Key]:
    """The first key of each share: the table's first key, then evenly spaced ones.

    ``estimate`` is the planner's row count (the executor's progress total).
    """
    table = qualified(schema, step.tables[0])
    columns = ", ".join(quote_ident(c) for c in step.key)
    # Aliased: ORDER BY would otherwise sort by the text forms, named like the columns.
    texts = ", ".join(f"{quote_ident(c)}::text AS _pgroll_k{i}" for i, c in enumerate(step.key))
    found: list[Key] = []
    for share in range(workers):
        key = conn.execute(f"SELECT {texts} FROM {table} ORDER BY {columns} OFFSET %s LIMIT 1",
                           (estimate * share // workers,)).fetchone()
        if key is not None and (not found or tuple(key) != found[-1]):
            found.append(tuple(str(v) for v in key))
    return found


def open_workers(open_connection: Callable[[], Pinned],
                 workers: int) -> tuple[list[Pinned], str | None]:
    """Up to ``workers`` connections, and why there are fewer (the server's refusal), if so.

    The role's ``CONNECTION LIMIT``, the database's, or ``max_connections`` may leave room
    for fewer backfill connections than asked for. The executor's own connection works, so
    a refusal now is one of those limits (libpq gives no SQLSTATE for a failed connection to
    tell them apart): the backfill runs on the connections it got, or on the executor's own,
    rather than failing a start whose every other step can run.
    """
    opened: list[Pinned] = []
    for _ in range(workers):
        try:
            opened.append(open_connection())
        except psycopg.OperationalError as err:
            # The server's own words, without libpq's "connection to server at ...".
            return opened, str(err).strip().splitlines()[-1].split("FATAL:", 1)[-1].strip()
    return opened, None


def run_backfill_workers(pinned: list[Pinned], conn: Connection, schema: str,
                         step: Step, estimate: int, on_rows: Callable[[int], None],
                         retries: int = 10,
                         on_note: Callable[[str | None], None] | None = None) -> None:
    """Run the backfill ``step`` on the ``pinned`` connections, a share each.

    The first error is raised; the connections are closed here. A worker whose batch waits
    out ``lock_timeout`` (or meets a deadlock) runs its share again, as the
    single-connection backfill does (rows done stay done). When one fails for any other
    reason, the others are cancelled: start fails at once and is rolled back.
    """
    connections = [connection for connection, _ in pinned]
    try:
        starts = boundaries(conn, schema, step, len(connections), estimate)
    except BaseException:
        _close(connections)
        raise
    _close(connections[len(starts):])  # fewer distinct keys than connections
    connections = connections[:len(starts)]
    if not starts:
        return  # no row at all
    done = [0] * len(starts)
    errors: list[BaseException] = []
    lock = threading.Lock()

    def work(number: int) -> None:
        worker = connections[number]
        try:
            with worker:
                with lock:
                    if errors:
                        return

                def notice(diagnostic: psycopg.errors.Diagnostic) -> None:
                    rows = progress_rows(diagnostic.message_detail)
                    with lock:
                        if rows is not None:
                            done[number] = rows
                            on_rows(sum(done))
                        elif on_note is not None:
                            on_note(backfill_note(diagnostic.message_primary,
                                                  diagnostic.message_detail))

                worker.add_notice_handler(notice)
                # The first share has no lower bound (its first key is the table's first, and
                # a key's text form may round: a float with extra_float_digits = 0).
                _share(worker, pinned[number][1], step.key, starts[number] if number else None,
                       starts[number + 1] if number + 1 < len(starts) else None)
                _with_retries(worker, step.sql, retries, stopped=lambda: bool(errors))
        except BaseException as err:  # noqa: BLE001 - handed to the caller's thread
            with lock:
                first = not errors
                errors.append(err)
            if first:
                for other in connections:
                    if other is not worker:
                        with contextlib.suppress(psycopg.Error):
                            other.cancel_safe()

    threads = [threading.Thread(target=work, args=(n,), name=f"backfill worker {n}")
               for n in range(len(starts))]
    for thread in threads:
        thread.start()
    try:
        for thread in threads:
            thread.join()
    except BaseException as interrupt:  # Ctrl-C or SIGTERM reaches the main thread only
        # The workers' statements stop with the process: left running, each would go on
        # with its share after the operator was told that start stopped, beside a resumed
        # start (its connection holds no run lock), until the server notices the client
        # is gone.
        with lock:
            errors.append(interrupt)  # a worker not started yet does not start
        while any(thread.is_alive() for thread in threads):  # again: one may start its
            for connection in connections:                    # statement after a cancel
                with contextlib.suppress(psycopg.Error):
                    connection.cancel_safe()
            for thread in threads:
                thread.join(timeout=0.1)
        raise
    if errors:
        raise errors[0]


def _close(connections: list[Connection]) -> None:
    for connection in connections:
        with contextlib.suppress(psycopg.Error):
            connection.close()


# Errors after which running the same statement (the same transaction) again may succeed: a
# lock timeout, a deadlock, and a row a client moved to another partition while a batch
# was about to update it (a backfill keeps what its committed batches did).
RETRYABLE = (psycopg.errors.LockNotAvailable, psycopg.errors.DeadlockDetected,
             psycopg.errors.SerializationFailure)


def _with_retries(conn: Connection, statement: str, retries: int,
                  stopped: Callable[[], bool] = lambda: False) -> None:
    """``statement`` again after a ``RETRYABLE`` error; not once ``stopped`` (another failed)."""
    for attempt in range(retries + 1):
        if stopped():
            return
        try:
            conn.execute(statement)
            return
        except RETRYABLE:
            if attempt == retries:
                raise
            time.sleep(min(5.0, 0.05 * 2 ** (attempt + 1)) * (0.5 + random.random()))


def _share(conn: Connection, pid: int, key: Key, start: Key | None, end: Key | None) -> None:
    """This session's share of the keys: from ``start``, up to ``end`` (excluded).

    One statement, which also reads the server session it ran in: a pool in transaction mode
    may run this statement and the backfill's in two sessions (``one_session.py``), which
    ``pid``, the session the connection's settings were made in, tells. An open end clears
    what a server session a pool handed on may hold of another worker's share (empty:
    ``plan.backfill.share_bound``), and is left unset in a session that never had one: a
    block of a plan saved before empty bounds read as none reads it as no bound only so.
    """
    assert start is None or len(start) == len(key)
    assert end is None or len(end) == len(key)
    calls = ["pg_catalog.set_config(%s, %s, false)"]
    params: list[str] = [SLICE_SETTING, "on"]
    for prefix, bound in ((FROM_SETTING, start), (TO_SETTING, end)):
        for i in range(len(key)):
            name = f"{prefix}{i}"
            if bound is not None:
                calls.append("pg_catalog.set_config(%s, %s, false)")
                params += [name, bound[i]]
            else:
                calls.append("CASE WHEN pg_catalog.current_setting(%s, true) IS NOT NULL THEN "
                             "pg_catalog.set_config(%s, '', false) END")
                params += [name, name]
    row = conn.execute(f"SELECT {', '.join(calls)}, {PID}", params).fetchone()
    if row is None or row[-1] != pid:
        raise SessionChanged(changed(pid, int(row[-1]) if row else 0,
                                     "between a backfill worker's statements"))
