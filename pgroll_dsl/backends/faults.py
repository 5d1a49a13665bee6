"""Test-only fault injection for the real command line: ``PGROLL_DSL_KILL_AT``.

``PGROLL_DSL_KILL_AT=<phase>:<n>`` makes the process kill itself with SIGKILL right before
step n (numbered as in the plan file) of a phase, or, with ``backfill:<k>``, after k backfill
batches. The kill harness (tests/test_fault_kill.py) proves with it that whatever a crash
interrupts, running the phase again (or rollback) loses nothing. It lives with the executor
whose step boundaries it hooks, so every way of running a migration from the command line
gets it; without the variable the hooks are the caller's own.
"""

from __future__ import annotations

import os
import signal
from collections.abc import Callable

from pgroll_dsl.backends.runner import StepEvent

KILL_ENV = "PGROLL_DSL_KILL_AT"

ProgressHook = Callable[[str, int, int], None]
StepHook = Callable[[StepEvent], None]


def fault_hooks(progress: ProgressHook) -> tuple[StepHook | None, ProgressHook]:
    """The ``on_step`` and ``on_progress`` hooks of a run, with the kill of ``KILL_ENV``.

    ``progress`` still gets every report; with no (or no valid) ``KILL_ENV`` it is returned
    as it is, and there is no step hook.
    """
    target = os.environ.get(KILL_ENV, "")
    where, _, count = target.partition(":")
    if not count.isdigit():
        return None, progress
    limit = int(count)

    def on_step(event: StepEvent) -> None:
        if event.phase.value == where and event.index + 1 == limit:
            os.kill(os.getpid(), signal.SIGKILL)

    batches = [0]

    def on_progress(table: str, rows: int, total: int) -> None:
        progress(table, rows, total)
        if where == "backfill" and rows > 0:
            batches[0] += 1
            if batches[0] >= limit:
                os.kill(os.getpid(), signal.SIGKILL)

    return on_step, on_progress
