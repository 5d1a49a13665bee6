"""The pgroll commands on a live database: init, start, complete, rollback, status, migrate.

Compatible with pgroll's lifecycle and state (spec §4, §9, §10): the history row is written
before any DDL, so an interrupted start can always be rolled back; only one migration per
schema is active at a time; complete and rollback run the plan stored at start.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psycopg

from pgroll_dsl import __version__, ir
from pgroll_dsl.backends.live import Executor, Session, StepFailed, connect, first_line
from pgroll_dsl.backends.state import State
from pgroll_dsl.catalog.introspect import introspect
from pgroll_dsl.compile import Before, validate
from pgroll_dsl.emit.pgroll_json import to_document
from pgroll_dsl.plan.document import plan_document, plan_from_document
from pgroll_dsl.plan.model import Plan
from pgroll_dsl.plan.planner import PlanOptions, plan_migration


class CommandError(Exception):
    """A command cannot proceed (no active migration, another one active, not initialised)."""


class Unreachable(CommandError):
    """The database cannot be reached (an environment problem: exit code 2)."""


class PartialFailure(Exception):
    """A phase failed and undoing it failed too: the schema needs attention (exit 3)."""


@dataclass(frozen=True, slots=True, kw_only=True)
class RunOptions:
    """Everything a live command needs besides the migration."""

    session: Session
    state_schema: str = "pgroll"
    batch_size: int = 1000
    batch_delay: float = 0.0
    on_progress: Callable[[str, int, int], None] | None = None
    on_retry: Callable[[Any, int, float], None] | None = None
    on_message: Callable[[str], None] | None = None


class Runner:
    """One connection, one target schema, one state schema."""

    def __init__(self, options: RunOptions) -> None:
        self.options = options
        try:
            self.conn = connect(options.session)
        except psycopg.Error as err:
            raise Unreachable(f"cannot connect: {first_line(err)}") from None
        self.state = State(self.conn, options.state_schema, options.session.schema)
        self.executor = Executor(self.conn, options.session, options.on_progress,
                                 options.on_retry)

    def close(self) -> None:
        """Close the connection."""
        self.conn.close()

    def _say(self, message: str) -> None:
        if self.options.on_message is not None:
            self.options.on_message(message)

    def _require_init(self) -> None:
        if not self.state.initialized():
            raise CommandError("pgroll is not initialized, run 'pgroll-dsl init' to initialize")

    def init(self) -> None:
        """Install or upgrade the state schema (idempotent)."""
        for note in self.state.init(__version__):
            self._say(f"note: {note}")

    def plan(self, migration: ir.Migration) -> Plan:
        """The plan of ``migration`` against the database as it is now (validated first)."""
        self._require_init()
        active = self.state.active()
        if active is not None:
            raise CommandError(f'a migration for schema "{self.state.schema}" is already in '
                               f'progress: "{active.name}"; complete or roll it back first')
        catalog = introspect(self.conn, self.state.schema)
        latest = self.state.latest_version()
        previous = f"{self.state.schema}_{latest}" if latest else None
        for warning in validate(migration, Before(catalog, previous, ())):
            self._say(f"{warning.span}: warning[{warning.code.id}]: {warning.message}")
        options = PlanOptions(schema=self.state.schema, batch_size=self.options.batch_size,
                              batch_delay=self.options.batch_delay,
                              previous_version_schema=previous,
                              # security_invoker views exist from PostgreSQL 15 on.
                              security_invoker=self.conn.info.server_version >= 150000)
        return plan_migration(migration, catalog, options)

    def start(self, migration: ir.Migration) -> Plan:
        """Start: record, expand, views, triggers, backfill; undo everything on failure.

        If this very migration was started before and interrupted (the process died), start
        resumes after the last step that finished.
        """
        resumed = self._interrupted(migration.name)
        if resumed is not None:
            plan, done = resumed
            self._say(f'resuming the start of "{migration.name}" at step {done + 1} of '
                      f"{len(plan.start)}")
        else:
            plan, done = self.plan(migration), 0
            self.state.record_start(migration.name, to_document(migration), plan_document(plan))
        try:
            for index in range(done, len(plan.start)):
                self.executor.run_step(plan.start[index], resuming=index == done and done > 0)
                self.state.record_progress(migration.name, index + 1)
        except StepFailed as failure:
            self._undo(plan, migration.name, failure)
        return plan

    def _interrupted(self, name: str) -> tuple[Plan, int] | None:
        self._require_init()
        active = self.state.active()
        if active is None or active.name != name or active.plan is None:
            return None
        plan = plan_from_document(active.plan)
        if active.start_steps_done >= len(plan.start):
            raise CommandError(f'migration "{name}" is already started; complete or roll it '
                               "back")
        return plan, active.start_steps_done

    def _undo(self, plan: Plan, name: str, failure: StepFailed) -> None:
        try:
            self.executor.run(plan.rollback)
            self.state.forget(name)
        except (StepFailed, psycopg.Error) as second:
            raise PartialFailure(f"{failure}; rolling back failed too: {second}") from failure
        raise CommandError(f"start failed, changes rolled back: {failure}") from failure

    def _active(self) -> tuple[str, Plan]:
        self._require_init()
        active = self.state.active()
        if active is None:
            raise CommandError("no active migration")
        if active.plan is None:
            raise CommandError(f'migration "{active.name}" was started by another tool; '
                               "complete or roll it back with that tool")
        return active.name, plan_from_document(active.plan)

    def complete(self) -> str:
        """Contract: drop the old version, swap columns, validate; mark the migration done."""
        name, plan = self._active()
        try:
            self.executor.run(plan.complete)
        except StepFailed as failure:
            raise PartialFailure(f"complete failed part-way: {failure}; fix the cause and run "
                                 "complete again") from failure
        self.state.record_complete(name)
        return name

    def rollback(self) -> str:
        """Undo the active migration; the old version never noticed."""
        name, plan = self._active()
        try:
            self.executor.run(plan.rollback)
        except StepFailed as failure:
            raise PartialFailure(f"rollback failed part-way: {failure}") from failure
        self.state.forget(name)
        return name

    def status(self) -> dict[str, str]:
        """Pgroll's status document."""
        self._require_init()
        latest = self.state.latest_version()
        if self.state.active() is not None:
            status = "In progress"
        else:
            status = "Complete" if latest else "No migrations"
        return {"schema": self.state.schema, "version": latest or "", "status": status}

    def latest_schema(self) -> str:
        """The version schema an application puts first in its search_path."""
        self._require_init()
        latest = self.state.latest_version()
        if latest is None:
            raise CommandError("no version schemas found")
        return f"{self.state.schema}_{latest}"

    def unapplied(self, files: list[Path]) -> list[Path]:
        """Pgroll's rule: the local files beyond the history, which must match it in order."""
        self._require_init()
        history = self.state.history()
        names = [f.name.rsplit(".", 1)[0] for f in files]
        for position, (remote, local) in enumerate(zip(history, names, strict=False)):
            if remote != local:
                raise CommandError(f'remote migration does not match local migration: '
                                   f'remote="{remote}", local="{local}" (position {position + 1})')
        return files[len(history):]
