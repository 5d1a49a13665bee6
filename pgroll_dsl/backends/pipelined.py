"""Steps of one transaction sent together: one round trip for all of them.

From its lock step to its commit, complete's transaction holds ACCESS EXCLUSIVE on every
migrated table, and their clients wait that long. Sent one at a time, each step adds a round
trip between pgroll-dsl and the server to the server's own time: for an operator or a deploy
job 2 ms from the server, about 20 ms for each table's nine steps. Sent in one pipeline
(psycopg's pipeline mode), the server runs them back to back and the transaction holds its
locks for about the server's time alone.

A pipeline uses the extended protocol: one statement per query. The planner's steps are one
statement each; an author's raw SQL may hold several and is sent on its own
(``Executor.run_atomically``). A failure stops the pipeline where it happened: the steps
before it have their result, the failing one is the first without one, and the server skips
the rest (the transaction is aborted and rolled back, as when the steps go one by one).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any

import psycopg

from pgroll_dsl.plan.model import Step

# The server's clock between two steps: each step's own time for ``--verbose``.
_STAMP = "SELECT pg_catalog.clock_timestamp()"

# --verbose: a statement about to run (seconds None), then once it ran (the seconds it took).
StatementCallback = Callable[[str, float | None], None]


def send_together(conn: psycopg.Connection[Any], steps: Sequence[Step],
                  queries: Sequence[str | None], failing: Callable[[Step], None],
                  on_statement: StatementCallback | None = None) -> None:
    """Each step after its query (``queries[i]``, or None), all in one pipeline.

    On an error, ``failing`` hears which step it was before the error is raised.
    ``on_statement`` hears of each step once the pipeline is back: before (``None``) and
    after, with the time the server took for it (read from the server's clock between the
    steps, so the round trip is not in it); a step that failed or did not run is reported
    before only, or not at all.
    """
    sent: list[tuple[Step, psycopg.Cursor[Any], psycopg.Cursor[Any] | None]] = []
    first: psycopg.Cursor[Any] | None = None
    caught: psycopg.Error | KeyboardInterrupt | None = None
    try:
        with conn.pipeline():
            try:
                if on_statement is not None:
                    first = conn.execute(_STAMP)
                for step, query in zip(steps, queries, strict=True):
                    if query is not None:
                        conn.execute(query)
                    ran = conn.execute(step.sql)
                    sent.append((step, ran, conn.execute(_STAMP) if on_statement else None))
            except (psycopg.Error, KeyboardInterrupt) as err:
                # Kept, not raised through the pipeline's end: that would end it with "pipeline
                # aborted" in its place, or log the loss of the connection as ignored. A
                # Ctrl-C (or SIGTERM) while a batch too large for the socket's buffers is still
                # being sent comes here too: psycopg has cancelled the step the server runs,
                # and the end of the pipeline, which reads what is left, would log its
                # "pipeline aborted" as an ignored error on stderr.
                caught = err
    except psycopg.Error as err:
        caught = caught or err
    finally:
        if on_statement is not None:
            _report(on_statement, first, sent)
    if caught is not None:
        failing(next((s for s, ran, _ in sent if ran.pgresult is None),
                     steps[min(len(sent), len(steps) - 1)]))
        raise caught


def _report(on_statement: StatementCallback, first: psycopg.Cursor[Any] | None,
            sent: list[tuple[Step, psycopg.Cursor[Any], psycopg.Cursor[Any] | None]]) -> None:
    """Each step that ran with its time; the one that failed, if any, without."""
    before = _stamp(first)
    for step, ran, stamp in sent:
        on_statement(step.sql, None)
        after = _stamp(stamp)
        if ran.pgresult is None or before is None or after is None:
            return
        on_statement(step.sql, (after - before).total_seconds())
        before = after


def _stamp(cursor: psycopg.Cursor[Any] | None) -> datetime | None:
    if cursor is None or cursor.pgresult is None:
        return None
    row = cursor.fetchone()
    return row[0] if row is not None else None
