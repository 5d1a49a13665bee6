"""What the API's functions take and return: frozen dataclasses, nothing live in them.

``Backfill`` and ``Connection`` hold the options the CLI's flags set (the same defaults);
the results say what a command did, in the terms the CLI prints.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from pgroll_dsl.diagnostics import Diagnostic, Severity

if TYPE_CHECKING:
    from pgroll_dsl.render.report import MigrationSummary, Report

# A migration's syntax (``render.MIGRATION``'s names); a file's comes from its extension.
Syntax = Literal["dsl", "json", "yaml"]
# Called with (table, rows done, estimated total) while a backfill runs.
ProgressCallback = Callable[[str, int, int], None]
# Called with each note of a live command: a lock retry, a wait for another backend, a warning.
MessageCallback = Callable[[str], None]


@dataclass(frozen=True, slots=True, kw_only=True)
class Backfill:
    """How rows are copied into new columns (the ``--backfill-*`` flags).

    A first batch of ``batch_size`` rows (``None``: as many as the table's size says fit in
    ``batch_time_ms``), and never fewer, resized to take about ``batch_time_ms`` (0: a
    fixed size), ``batch_delay_s`` apart, over ``workers`` connections, paused while a
    streaming replica is more than ``max_replica_lag_mb`` behind (0: never).
    """

    batch_size: int | None = None
    batch_delay_s: float = 0.0
    batch_time_ms: int = 50
    workers: int = 1
    max_replica_lag_mb: int = 0

    def __post_init__(self) -> None:
        if (self.batch_size is not None and self.batch_size < 1) or self.workers < 1:
            raise ValueError("batch_size and workers must be at least 1")
        if self.batch_delay_s < 0 or self.batch_time_ms < 0 or self.max_replica_lag_mb < 0:
            raise ValueError("batch_delay_s, batch_time_ms and max_replica_lag_mb must not be "
                             "negative")


@dataclass(frozen=True, slots=True, kw_only=True)
class SessionOptions:
    """How the migration session works (``--schema``, ``--pgroll-schema``, ``--lock-*``...).

    ``schema`` is the target schema; ``state_schema`` holds the migration history (pgroll's
    ``pgroll``). Each statement waits at most ``lock_timeout_ms`` for a lock (retried with
    backoff); a step that blocks clients first waits up to ``lock_wait_s`` for conflicting
    transactions to end. ``role``: SET ROLE for the session.
    """

    schema: str = "public"
    state_schema: str = "pgroll"
    lock_timeout_ms: int = 500
    lock_wait_s: float = 60.0
    role: str | None = None


@dataclass(frozen=True, slots=True)
class Validation:
    """What checking migrations found: every diagnostic, errors and warnings together.

    ``migrations`` are the migrations checked (planned when ``validate`` was asked for
    summaries), ``checked`` how many, ``skipped`` how many a live database had applied
    already. ``stopped``: an environment problem (an unreadable file, an unreachable
    database, PGD9xx) ended the check before every path was checked.
    """

    diagnostics: tuple[Diagnostic, ...]
    migrations: tuple[MigrationSummary, ...] = ()
    checked: int = 0
    skipped: int = 0
    stopped: bool = False

    @property
    def errors(self) -> tuple[Diagnostic, ...]:
        """The diagnostics at error severity."""
        return tuple(d for d in self.diagnostics if d.severity is Severity.ERROR)

    @property
    def warnings(self) -> tuple[Diagnostic, ...]:
        """The others."""
        return tuple(d for d in self.diagnostics if d.severity is not Severity.ERROR)

    @property
    def ok(self) -> bool:
        """True when nothing at error severity was found."""
        return not self.errors

    @property
    def environment(self) -> bool:
        """Only errors of the environment (an unreadable file, PGD9xx), or a stopped check."""
        from pgroll_dsl.api.errors import only_environment

        return self.stopped or (bool(self.errors) and only_environment(self.errors))

    def report(self) -> Report:
        """What the reporters of ``render.DIAGNOSTICS`` take.

        A stopped check: its findings alone, as the command line reports it.
        """
        from pgroll_dsl.render.report import Report

        if self.stopped:
            return Report.of(self.diagnostics)
        return Report(diagnostics=self.diagnostics, migrations=self.migrations,
                      checked=self.checked, skipped=self.skipped)


@dataclass(frozen=True, slots=True)
class Started:
    """A migration that was started: its version schema exists beside the previous one."""

    name: str
    version_schema: str
    previous_version_schema: str | None
    completed: bool  # completed right after starting (``complete=True``)
    warnings: tuple[Diagnostic, ...]


@dataclass(frozen=True, slots=True)
class Finished:
    """A migration completed or rolled back."""

    name: str
    phase: Literal["complete", "rollback"]


@dataclass(frozen=True, slots=True)
class Status:
    """pgroll's status of a schema: ``status`` is "No migrations", "In progress" or "Complete".

    ``version`` is the latest migration's version ("" when none).
    """

    schema: str
    version: str
    status: str

    def to_dict(self) -> dict[str, str]:
        """The ``status`` document of pgroll (what ``pgroll-dsl status`` prints as JSON)."""
        return {"schema": self.schema, "version": self.version, "status": self.status}


@dataclass(frozen=True, slots=True)
class Progress:
    """Where the active migration stands, and whether a process runs it (``status --detail``).

    ``state`` is "starting", "start interrupted", "started" (start is over: complete or roll
    back), "completing", "complete interrupted", "rolling back", "rollback interrupted",
    "running" (a process holds the run lock between phases) or "started by another tool";
    ``next`` says what the operator runs next. ``step`` names the step under way, or the one
    an interrupted phase stopped at (``"start 13/40: backfill …"``). ``pid`` is the backend
    of the process that runs a phase now (None: none does). ``workers`` are the backends of
    backfill workers: the running start's, or, when no process runs a phase, those of a
    start that was killed, still writing until the next run stops them.
    ``detail`` is the whole JSON object ``status --detail`` prints (docs/cli.md).
    """

    migration: str
    state: str
    next: str
    step: str | None
    pid: int | None
    detail: dict[str, Any] = field(compare=False, repr=False)
    workers: tuple[int, ...] = ()

    @classmethod
    def of(cls, detail: dict[str, Any]) -> Progress:
        """From the executor's ``progress`` document."""
        step, running = detail["step"], detail["running"]
        shown = (f"{step['phase']} {step['number']}/{step['of']}: {step['summary']}"
                 if step is not None else None)
        return cls(detail["migration"], detail["state"], detail["next"], shown,
                   running["pid"] if running is not None else None, detail,
                   tuple(detail["workers"]))


@dataclass(frozen=True, slots=True)
class Migrated:
    """What ``migrate`` did.

    Nothing while ``active`` names a migration in progress; else it started ``files`` (each
    completed but the last, or all with ``complete=True``).
    """

    active: str | None
    started: tuple[Started, ...]
    files: tuple[Path, ...]

    @property
    def up_to_date(self) -> bool:
        """No migration active, and none left to apply."""
        return self.active is None and not self.started


@dataclass(frozen=True, slots=True)
class Pending:
    """What ``migrate`` would do now.

    Nothing while ``active`` names a migration in progress, else start ``files`` (the
    migrations of the directory not applied yet, in order).
    """

    active: str | None
    files: tuple[Path, ...]


@dataclass(frozen=True, slots=True)
class Baselined:
    """A baseline recorded: its migration file, the tables it holds, what it leaves out."""

    name: str
    path: Path
    tables: int
    left_out: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Pulled:
    """What ``pull`` wrote, and notes for the user (files skipped, names changed...)."""

    written: tuple[Path, ...]
    notes: tuple[str, ...]


__all__ = ["Backfill", "Baselined", "Finished", "MessageCallback", "Migrated", "Pending",
           "ProgressCallback", "Pulled", "SessionOptions", "Started", "Status", "Syntax",
           "Validation"]
