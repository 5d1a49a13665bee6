"""``status --detail``'s reading of the state, for the states the live tests cannot stop in.

A complete or a rollback runs as one transaction and records its steps when it commits, so
a killed one leaves nothing recorded, except for the steps that run outside it (``DROP INDEX
CONCURRENTLY``); a migration started by pgroll has no plan. Here the state is given as the
state schema would hold it (``Active``), with or without a holder of the run lock.
"""

from __future__ import annotations

from typing import Any

import pytest

from pgroll_dsl.backends.progress import Running, progress, session_name
from pgroll_dsl.backends.state import Active
from pgroll_dsl.plan.model import Phase


def _plan(start: int = 4, complete: int = 3, rollback: int = 2) -> dict[str, Any]:
    return {phase: [{"summary": f"{phase} step {n}"} for n in range(1, count + 1)]
            for phase, count in (("start", start), ("complete", complete),
                                 ("rollback", rollback))}


def _holder(name: str) -> Running:
    return Running(pid=7, name=name, state="active", waiting="Lock: relation", seconds=2.0)


@pytest.mark.parametrize(("done", "holder", "state", "step", "next_step"), [
    ((4, 2, 0), None, "complete interrupted", ("complete", 3), "run complete again"),
    ((4, 0, 1), None, "rollback interrupted", ("rollback", 2), "run rollback again"),
    ((4, 0, 0), _holder("pgroll-dsl complete 1/3 m"), "completing", ("complete", 1),
     "wait for it to finish (or stop it: then run complete again)"),
    ((2, 0, 0), _holder("pgroll-dsl"), "starting", ("start", 3),
     "wait for it to finish (or stop it: then run start again to resume it)"),
    ((4, 0, 0), _holder("psql"), "running", None,
     "wait for it to finish: it holds the schema's run lock"),
])
def test_each_state(done: tuple[int, int, int], holder: Running | None, state: str,
                    step: tuple[str, int] | None, next_step: str) -> None:
    found = progress(Active("m", {}, _plan(), *done), holder, [])
    assert found["state"] == state
    assert found["next"] == next_step
    shown = found["step"]
    assert (shown["phase"], shown["number"]) == step if step else shown is None
    assert found["steps"] == {"start": [done[0], 4], "complete": [done[1], 3],
                              "rollback": [done[2], 2]}
    if holder is not None:
        assert found["running"] == {"pid": 7, "session": holder.name, "state": "active",
                                    "waiting": "Lock: relation", "seconds": 2.0}


def test_started_by_another_tool() -> None:
    found = progress(Active("m", {}, None), None, [])
    assert found["state"] == "started by another tool" and found["step"] is None
    assert found["steps"]["start"] == [0, None]
    assert "the tool that started it" in found["next"]


@pytest.mark.parametrize("name", ["m", "é" * 40, "x" * 80])
def test_a_session_name_keeps_its_step_within_63_bytes(name: str) -> None:
    """The server keeps 63 bytes of a session's name: the migration's name is cut, at a
    character boundary, never the phase and the step."""
    text = session_name(Phase.ROLLBACK, 11, 250, name)
    assert len(text.encode()) <= 63
    assert text.startswith("pgroll-dsl rollback 12/250 ")
    assert name.startswith(text.removeprefix("pgroll-dsl rollback 12/250 "))
    assert _holder(text).step() == (Phase.ROLLBACK, 12, 250)


def test_workers_of_a_stopped_run_are_named() -> None:
    """Backfill workers with no run lock holder are a stopped run's, still running: the
    next step says the next run stops them; beside a running phase they are its own."""
    found = progress(Active("m", {}, _plan(), 2, 0, 0), None, [41, 42])
    assert found["workers"] == [41, 42]
    assert found["state"] == "start interrupted"
    assert found["next"] == ("run start again to resume it, or rollback; the backfill workers "
                             "of the run that stopped are still running (backends 41, 42): "
                             "the next run stops them first")
    running = progress(Active("m", {}, _plan(), 2, 0, 0), _holder("pgroll-dsl start 3/4 m"),
                       [41])
    assert running["workers"] == [41] and "still running" not in running["next"]
