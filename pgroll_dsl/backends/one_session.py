"""A run keeps one server session from its first statement to its last; this notices if not.

The run lock (``State.try_lock``, session level), the session settings
(``live.connect_pinned``) and the session's name in ``pg_stat_activity`` all belong to the
server session they were made in. A connection pooler in transaction mode (PgBouncer's
``pool_mode = transaction``, what many hosted PostgreSQL offerings hand out) or statement
mode runs each transaction of a client on whichever server connection is free: the run goes
on in a session without its settings (no ``lock_timeout``: a step's lock request queues
clients behind it), and the lock and the settings stay behind on a server connection that
the pooler hands to another client. The lock then serialises nothing, is released by
nobody, and refuses later runs until the pooler closes that connection.

Nothing a client sees at connect time tells a pooler from the server. So the runner
compares the server's own ``pg_backend_pid()``: read with the settings (the same round trip,
so that the pid is the settings' session), with the run lock, and at every step boundary
(the query that names the session reads it too). A different pid stops the run, before
the step, with :func:`changed` and what to run next.
"""

from __future__ import annotations

PID = "pg_catalog.pg_backend_pid()"  # the server session a statement runs in


class SessionChanged(Exception):
    """A statement ran in another server session than the one its connection was set up in."""


def changed(first: int, now: int, when: str = "between two steps") -> str:
    """What went wrong and where to connect instead (no recovery: that depends on the phase)."""
    return (f"the server session changed {when} (backend pid {first}, then {now}), as it "
            "does behind a connection pooler in transaction or statement mode: a run's lock "
            "and session settings stay in the session they were made in. Connect to the "
            "server directly or through a pool in session mode")


__all__ = ["PID", "SessionChanged", "changed"]
