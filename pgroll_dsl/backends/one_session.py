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

A lone run through a pool in transaction mode would mostly get its session back (PgBouncer
hands out the connection released last) and go on, until a client of the pool takes the
session between two steps: the run then stops half-way, exit 3. So before the first step,
with the run lock held, a second connection asks the same URL for its server session
(``live.session_of_a_second_connection``). Directly against the server, and through a pool
in session mode, two open connections never share one; behind a pool in transaction or
statement mode the second is handed the run's session as soon as the run is between two
transactions. Then the run stops there, with :func:`shared`, having changed nothing; the second
connection's own query lets the run lock and the settings go in that session (:func:`leave`),
so that the application client the pooler hands it to next gets neither.
"""

from __future__ import annotations

PID = "pg_catalog.pg_backend_pid()"  # the server session a statement runs in


class SessionChanged(Exception):
    """A statement ran in another server session than the one its connection was set up in."""


_WHY = ("a connection pooler in transaction or statement mode: a run's lock and session "
        "settings stay in the session they were made in. Connect to the server directly or "
        "through a pool in session mode")


def changed(first: int, now: int, when: str = "between two steps") -> str:
    """What went wrong and where to connect instead (no recovery: that depends on the phase)."""
    return (f"the server session changed {when} (backend pid {first}, then {now}), as it "
            f"does behind {_WHY}")


def shared(pid: int) -> str:
    """A second connection was handed the run's own server session (nothing has run yet)."""
    return (f"another connection was handed this run's server session (backend pid {pid}) "
            f"while the run held it, as it is behind {_WHY}")


def leave(session_pid: int, release: str) -> str:
    """A query of the session it runs in, which undoes what a run put in ``session_pid``.

    In server session ``session_pid`` only: ``release`` (PL/pgSQL) lets the run lock go;
    then the session's settings are reset (``RESET ALL`` leaves the role, which ``RESET
    ROLE`` takes back). A run that stops behind a pooler does not know which connection of
    the pool its session is on by then: the statement checks the pid itself, so it can be
    sent on any, and does nothing elsewhere. The pid it returns (one transaction, so one
    session) says where it ran.
    """
    return (f"SELECT {PID}; DO $pgroll_leave$BEGIN IF {PID} = {int(session_pid)} THEN "
            f"{release} RESET ALL; RESET ROLE; END IF; END$pgroll_leave$")


__all__ = ["PID", "SessionChanged", "changed", "leave", "shared"]
