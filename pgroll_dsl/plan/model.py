"""The Plan: what the SQL plan file shows and what the live executor runs, step by step.

A step is one SQL statement (or one raw ``sql`` operation, or one batched backfill) with what
a reviewer needs to judge it: the lock it takes and on which relation, whether it scans or
rewrites a table, whether it may run inside a transaction, and where in the migration file
it comes from.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

from pgroll_dsl.source import Span


class Phase(StrEnum):
    """The three phases of a pgroll migration."""

    START = "start"
    COMPLETE = "complete"
    ROLLBACK = "rollback"


class Lock(StrEnum):
    """The heaviest table lock a step takes (PostgreSQL's names)."""

    NONE = "none"
    ACCESS_SHARE = "ACCESS SHARE"
    ROW_EXCLUSIVE = "ROW EXCLUSIVE"
    SHARE_UPDATE_EXCLUSIVE = "SHARE UPDATE EXCLUSIVE"
    SHARE_ROW_EXCLUSIVE = "SHARE ROW EXCLUSIVE"
    ACCESS_EXCLUSIVE = "ACCESS EXCLUSIVE"


class Cost(StrEnum):
    """How much work a step does on table data."""

    CATALOG = "catalog only"
    SCAN = "scans the table (reads and writes continue)"
    BUILD = "builds an index concurrently"
    BACKFILL = "backfills rows in batches"
    REWRITE = "rewrites the table"
    UNKNOWN = "raw SQL: not analysed"


class StepKind(StrEnum):
    """A plain statement, the author's raw SQL, or a batched backfill loop."""

    STATEMENT = "statement"
    RAW_SQL = "raw sql"
    BACKFILL = "backfill"


@dataclass(frozen=True, slots=True, kw_only=True)
class Step:
    """One statement of a phase."""

    sql: str
    summary: str
    lock: Lock = Lock.ACCESS_EXCLUSIVE
    relation: str | None = None
    cost: Cost = Cost.CATALOG
    transactional: bool = True
    kind: StepKind = StepKind.STATEMENT
    origin: Span | None = field(default=None, compare=False)


@dataclass(frozen=True, slots=True, kw_only=True)
class Plan:
    """Everything ``start``, ``complete`` and ``rollback`` will run, in order."""

    migration: str
    schema: str
    version_schema: str
    previous_version_schema: str | None
    start: tuple[Step, ...]
    complete: tuple[Step, ...]
    rollback: tuple[Step, ...]
    notes: tuple[str, ...] = ()
    catalog_source: str = "empty"

    def phase(self, phase: Phase) -> tuple[Step, ...]:
        """The steps of one phase."""
        return {Phase.START: self.start, Phase.COMPLETE: self.complete,
                Phase.ROLLBACK: self.rollback}[phase]
