"""Where a migration stands, seen from another session: ``pgroll-dsl status --detail``.

``status`` answers as pgroll does: "In progress" from the moment start begins until complete
or rollback ends. An operator needs more, and most when it matters: after a process was killed,
or while a start has been running for an hour. Is anything still running it, which step is
it on, is it waiting, and what is the next command? This module answers from what any session
can read:

* the state schema: the plan start was given, and how many steps of each phase are recorded
  done (``State.active``);
* the schema's run lock (``State.holder``): held by the process that runs a phase, and gone
  with it however it ended;
* that process's session in ``pg_stat_activity``. The runner names its session after the
  step it is on (``session_name``): ``pgroll-dsl start 13/40 02_add_rating``. The name is
  visible to every role, and to a DBA looking at ``pg_stat_activity`` or ``pg_locks`` during
  an incident. The columns that say whether it waits are visible to its own role and to
  ``pg_read_all_stats``; to other roles they are null.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import psycopg

from pgroll_dsl.backends.state import Active
from pgroll_dsl.plan.model import Phase
from pgroll_dsl.sql.quoting import quote_literal

SESSION = "pgroll-dsl"  # a session's name when it runs no phase
_NAMED = re.compile(r"^pgroll-dsl (start|complete|rollback) (\d+)/(\d+)(?: |$)")
_LIMIT = 63  # bytes of application_name the server keeps (NAMEDATALEN - 1)

_ACTIVITY = (
    "SELECT application_name, state, wait_event_type, wait_event, "
    "extract(epoch FROM pg_catalog.now() - backend_start)::float8 "
    "FROM pg_catalog.pg_stat_activity WHERE pid = %s")


def session_name(phase: Phase, index: int, total: int, migration: str) -> str:
    """The session's name while it runs step ``index`` (0-based) of a phase.

    The migration's name goes last: the server cuts the name at 63 bytes, and the phase and
    the step must survive that.
    """
    name = f"{SESSION} {phase.value} {min(index + 1, total)}/{total} {migration}"
    return name.encode()[:_LIMIT].decode(errors="ignore")


def naming(name: str) -> str:
    """The query that names the session ``name`` (``pg_stat_activity.application_name``).

    Not local to a transaction: the name stays when it commits, and goes back to the one
    before only where it rolls back.
    """
    return f"SELECT pg_catalog.set_config('application_name', {quote_literal(name)}, false)"


@dataclass(frozen=True, slots=True)
class Running:
    """The session that holds the run lock, as ``pg_stat_activity`` shows it."""

    pid: int
    name: str  # its application_name
    state: str | None  # "active", "idle in transaction", … (null unless the role may see it)
    waiting: str | None  # "Lock: relation", … (null when it waits for nothing, or hidden)
    seconds: float | None  # since the session began

    def step(self) -> tuple[Phase, int, int] | None:
        """The phase and the step (1-based) of that phase its name says it is on."""
        found = _NAMED.match(self.name)
        if found is None:
            return None
        return Phase(found[1]), int(found[2]), int(found[3])


def running(conn: psycopg.Connection[Any], pid: int | None) -> Running | None:
    """The session ``pid`` (the run lock's holder), or None when nobody holds it."""
    if pid is None:
        return None
    row = conn.execute(_ACTIVITY, (pid,)).fetchone()
    if row is None:  # gone between the two reads
        return None
    name, state, wait_type, wait, seconds = row
    waiting = f"{wait_type}: {wait}" if wait_type and state == "active" else None
    return Running(pid, name or "", state, waiting, seconds)


def progress(active: Active, holder: Running | None, workers: list[int]) -> dict[str, Any]:
    """The ``progress`` object of ``status --detail``: see docs/cli.md, "status".

    ``workers``: the backends of backfill workers (``State.workers``). Without a holder of
    the run lock they are a killed run's, still writing until the next run stops them.
    """
    steps = {p.value: [active.done(p), len(active.plan[p.value]) if active.plan else None]
             for p in Phase}
    document: dict[str, Any] = {
        "migration": active.name, "steps": steps,
        "running": None if holder is None else {
            "pid": holder.pid, "session": holder.name, "state": holder.state,
            "waiting": holder.waiting, "seconds": holder.seconds},
        "workers": workers,
    }
    if active.plan is None:
        return {**document, "state": "started by another tool", "step": None,
                "next": "complete or roll it back with the tool that started it"}
    phase, number = _where(active, holder)
    started = active.done(Phase.START) >= len(active.plan[Phase.START.value])
    state, next_step = _state(phase, started, holder)
    if workers and holder is None:
        pids = ", ".join(map(str, workers))
        next_step += (f"; the backfill workers of the run that stopped are still running "
                      f"(backends {pids}): the next run stops them first")
    listed = active.plan[phase.value]
    step = None
    if 0 < number <= len(listed):
        step = {"phase": phase.value, "number": number, "of": len(listed),
                "summary": listed[number - 1]["summary"]}
    return {**document, "state": state, "step": step, "next": next_step}


def _where(active: Active, holder: Running | None) -> tuple[Phase, int]:
    """The phase under way (or stopped) and its step, 1-based: the holder's name says best."""
    named = holder.step() if holder is not None else None
    if named is not None:
        return named[0], named[1]
    for phase in (Phase.ROLLBACK, Phase.COMPLETE):
        if active.done(phase):
            return phase, active.done(phase) + 1
    return Phase.START, active.done(Phase.START) + 1


def _state(phase: Phase, started: bool, holder: Running | None) -> tuple[str, str]:
    """What the migration is doing, in a few words, and what the operator does next.

    ``started``: every step of start is recorded done.
    """
    if holder is not None and started and holder.step() is None:
        # Between phases (its checks, before complete's first step) or not one of ours.
        return "running", "wait for it to finish: it holds the schema's run lock"
    if holder is not None:
        doing = {Phase.START: "starting", Phase.COMPLETE: "completing",
                 Phase.ROLLBACK: "rolling back"}[phase]
        return doing, f"wait for it to finish (or stop it: then run {_resume(phase)})"
    if phase is not Phase.START or not started:
        return (f"{phase.value} interrupted",
                f"run {_resume(phase)}" + (", or rollback" if phase is Phase.START else ""))
    return "started", "run complete once every client uses the new version, or rollback"


def _resume(phase: Phase) -> str:
    return f"{phase.value} again" if phase is not Phase.START else "start again to resume it"
