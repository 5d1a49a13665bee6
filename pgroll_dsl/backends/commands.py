"""The live commands below the CLI: a ``Runner`` from its settings, what ``migrate`` has to do.

The CLI parses flags into ``RunOptions`` and prints; hooking the executor up for the command
line (the lock-retry report, the test harness's fault hooks) and deciding what a directory
still needs are the live layer's, so they live here, next to the executor, and need no
terminal.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path

from pgroll_dsl.backends.faults import fault_hooks
from pgroll_dsl.backends.runner import Runner, RunOptions
from pgroll_dsl.plan.model import Step


def retry_message(step: Step, attempt: int, delay: float) -> str:
    """What a lock timeout that will be retried reports."""
    return (f"lock timeout on {step.relation or 'a relation'} ({step.summary}); "
            f"retry {attempt} in {delay:.2f}s")


def _nothing(*_args: object) -> None:
    """A hook that is not wanted."""


def open_runner(options: RunOptions) -> Runner:
    """Connect a runner for the command line.

    ``options`` as given, with each lock retry reported through its ``on_message``, and under
    ``PGROLL_DSL_KILL_AT`` the kill hooks (``backends/faults.py``) around its ``on_progress``.
    Raises ``Unreachable`` (a ``CommandError``) when the database cannot be reached.
    """
    say = options.on_message or _nothing
    on_step, on_progress = fault_hooks(options.on_progress or _nothing)

    def retry(step: Step, attempt: int, delay: float) -> None:
        say(retry_message(step, attempt, delay))

    return Runner(replace(options, on_progress=on_progress, on_retry=retry, on_step=on_step))


@dataclass(frozen=True, slots=True)
class Pending:
    """What ``migrate`` has to do: nothing while a migration is active, else these files."""

    active: str | None
    files: list[Path]


def pending(runner: Runner, files: list[Path]) -> Pending:
    """The active migration's name, or the files of ``files`` not applied yet (pgroll's rule).

    Raises ``CommandError`` when the history is not initialised or does not match the files.
    """
    active = runner.state.active() if runner.state.initialized() else None
    if active is not None:
        return Pending(active.name, [])
    return Pending(None, runner.unapplied(files))
