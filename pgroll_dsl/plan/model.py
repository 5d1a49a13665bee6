"""The Plan: what the SQL plan file shows and what the live executor runs, step by step.

A step is one SQL statement (or one raw ``sql`` operation, or one batched backfill) with what
a reviewer needs to judge it: the lock it takes and on which relation, whether it scans or
rewrites a table, whether it may run inside a transaction, and where in the migration file
it comes from.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from enum import StrEnum
from typing import TYPE_CHECKING, Any

from pgroll_dsl.source import Span

if TYPE_CHECKING:
    from pgroll_dsl.catalog.model import Routines


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
    SHARE = "SHARE"  # CREATE INDEX without CONCURRENTLY (ON ONLY a partitioned table)
    SHARE_ROW_EXCLUSIVE = "SHARE ROW EXCLUSIVE"
    ACCESS_EXCLUSIVE = "ACCESS EXCLUSIVE"


class Cost(StrEnum):
    """How much work a step does on table data."""

    CATALOG = "catalog only"
    SCAN = "scans the table (reads and writes continue)"
    BUILD = "builds an index concurrently"
    BUILD_LOCKED = "builds an index under the lock (reads and writes wait)"
    BACKFILL = "backfills rows in batches"
    REWRITE = "rewrites the table"
    UNKNOWN = "raw SQL: not analysed"


class StepKind(StrEnum):
    """A plain statement, the author's raw SQL, or a batched backfill loop."""

    STATEMENT = "statement"
    RAW_SQL = "raw sql"
    BACKFILL = "backfill"


@dataclass(frozen=True, slots=True)
class Exemption:
    """Why a migration linter's rule (squawk's name for it) does not apply to a step.

    Set by the planner where it builds the step, from what it knows the statement is for
    (``plan/safety.py`` holds the reasons); the plan file prints it as a ``squawk-ignore``
    with its reason. The author's raw SQL never carries one: the linters judge it as written.
    """

    rule: str
    reason: str


@dataclass(frozen=True, slots=True, kw_only=True)
class Step:
    """One statement of a phase."""

    sql: str
    summary: str
    lock: Lock = Lock.ACCESS_EXCLUSIVE
    # The tables it locks, each a name (never split again: a table may be named "a, b"); the
    # executor waits for their clients, and complete's lock step takes them up front.
    tables: tuple[str, ...] = ()
    # Of ``tables``, those it only points a foreign key at (or, in the lock step, only locks
    # for such a step): the role needs the right to reference (or lock) them, not to own them.
    referenced: tuple[str, ...] = ()
    # Tables of other schemas it changes, as SQL names them (a foreign key of another
    # schema's table twinned onto a copy): only their owner may, which start checks before
    # its first step; a failure half way would leave a change its rollback could not undo.
    elsewhere: tuple[str, ...] = ()
    cost: Cost = Cost.CATALOG
    transactional: bool = True
    kind: StepKind = StepKind.STATEMENT
    index: str | None = None  # the index a concurrent build creates (dropped if left invalid)
    key: tuple[str, ...] = ()  # a backfill's key columns: workers split the table on them
    safe: tuple[Exemption, ...] = ()  # the linter rules this generated step is exempt from
    # Runs in the transaction of the step before it, at start too (see ``units``).
    joins_previous: bool = False
    # The partition of an open tree (``plan/joined.py``) that this start step is for alone:
    # others may join or leave the tree meanwhile (pg_partman's retention drops the oldest),
    # so the executor skips the step where no table has that name any more (dropped, or
    # renamed: then backfilled as one that joined), or the table never got the backfill's
    # marker (detached before start added it: ``live.Executor._gone_now``).
    partition: str | None = None
    origin: Span | None = field(default=None, compare=False)

    @property
    def relation(self) -> str | None:
        """How the plan file and messages name its tables ("a, b"); for display only."""
        return ", ".join(self.tables) or None


class Requirement(StrEnum):
    """What kind of object ``complete`` needs to find before it drops anything."""

    COLUMN = "column"
    TRIGGER = "trigger"
    SCHEMA = "schema"
    PARTITIONS = "partitions"  # ``name``: a table's partitions at start, comma-separated
    # The partitions start planned for, of a tree others may join or leave meanwhile
    # (``plan/joined.py``: start backfilled those that joined, complete checks none has rows
    # it did not; one that left is not required). ``name``: a JSON list (a partition's name
    # may hold a comma)
    PARTITIONS_KEPT = "partitions kept"

    @property
    def partitions(self) -> bool:
        """Whether it is about a table's partitions (either kind)."""
        return self in (Requirement.PARTITIONS, Requirement.PARTITIONS_KEPT)


@dataclass(frozen=True, slots=True)
class Requires:
    """One object that start made and complete keeps: if it is gone, complete refuses.

    ``relation`` is the physical table of a column or a trigger (``None`` for a schema).
    """

    kind: Requirement
    name: str
    relation: str | None = None

    def describe(self) -> str:
        """How a message names it."""
        if self.kind is Requirement.PARTITIONS:
            return (f"the partitions of table {self.relation} are not those start worked on "
                    f"({self.name.replace(',', ', ') or 'none'}): a partition attached or "
                    "detached since has not had the steps start made for each partition "
                    "(indexes, foreign keys, backfill)")
        where = f" of table {self.relation}" if self.relation else ""
        return f"{self.kind.value} {self.name}{where}"

    def partitions(self) -> list[str]:
        """The partitions a ``PARTITIONS_KEPT`` requirement names."""
        assert self.kind is Requirement.PARTITIONS_KEPT
        return [str(name) for name in json.loads(self.name)]


@dataclass(frozen=True, slots=True)
class Unit:
    """Steps that run together: one transaction (``atomic``), or one autocommit statement.

    The executor records a phase's progress at the end of each unit, inside its transaction
    when it has one, so that a unit is either wholly done and recorded or not at all.
    """

    first: int  # index of the first step in its phase
    steps: tuple[Step, ...]
    atomic: bool


def units(phase: Phase, steps: tuple[Step, ...]) -> tuple[Unit, ...]:
    """How a phase's steps are grouped.

    Start runs each step on its own (the backfill commits per batch, index builds are
    concurrent, and no lock is held longer than one statement), but for steps that join the
    one before them: the version schema and its views appear together, so a client whose
    ``search_path`` names the schema never finds it without a view and writes the table
    while the sync triggers take it for a new-version writer. Complete and rollback run
    every run of consecutive transactional steps as one transaction: clients see the old
    shape or the new one, never a column half dropped or half renamed.
    """
    grouped: list[Unit] = []
    for index, step in enumerate(steps):
        last = grouped[-1] if grouped else None
        joins = last is not None and step.transactional and (
            last.atomic if phase is not Phase.START
            else step.joins_previous and last.steps[-1].transactional)
        if last is not None and joins:
            grouped[-1] = Unit(first=last.first, steps=(*last.steps, step), atomic=True)
        else:
            grouped.append(Unit(first=index, steps=(step,),
                                atomic=phase is not Phase.START and step.transactional))
    return tuple(grouped)


@dataclass(frozen=True, slots=True, kw_only=True)
class Basis:
    """What a plan was made from: a saved plan (``plan -o``) runs only where they still hold.

    ``catalog`` is the canonical form of the schema it was planned against
    (``catalog/fingerprint.py``) and ``catalog_fingerprint`` its hash; ``migration`` is the
    migration as pgroll's JSON document, ``migration_fingerprint`` its hash; ``options`` the
    plan options the steps were made with (``PlanOptions``, as JSON values).
    """

    catalog: dict[str, Any] = field(compare=False)
    catalog_fingerprint: str
    migration: dict[str, Any] = field(compare=False)
    migration_fingerprint: str
    options: dict[str, Any] = field(compare=False)


@dataclass(frozen=True, slots=True)
class Builtins:
    """The functions, operators and casts a plan takes to be PostgreSQL's own.

    A sync trigger's ``WHEN`` skips a write that would change nothing only where no user
    routine shares a name its ``up`` or ``down`` calls (``plan.triggers.may_skip``): a user's
    volatile ``upper(int)`` must run on every write. The plan records the names its skips
    rely on, so that ``start --plan`` can refuse a database that defines one of them since
    the plan was made (``backends/saved_plan.py``). ``casts``: a skip that casts relies on
    there being no user cast at all.
    """

    functions: frozenset[str] = frozenset()  # names, as ``Routines`` holds them
    operators: frozenset[str] = frozenset()
    casts: bool = False

    def __or__(self, other: Builtins) -> Builtins:
        return Builtins(self.functions | other.functions, self.operators | other.operators,
                        self.casts or other.casts)

    def __bool__(self) -> bool:
        return bool(self.functions or self.operators or self.casts)

    def shadowed_by(self, routines: Routines) -> tuple[str, ...]:
        """What of these ``routines`` defines, in words (empty: none)."""
        if routines.opaque:
            return ("anything (an extension is installed)",) if self else ()
        found = [f"function {name}" for name in sorted(self.functions & routines.functions)]
        found += [f"operator {name}" for name in sorted(self.operators & routines.operators)]
        if self.casts and routines.casts:
            found.append("casts (" + ", ".join(f"{source} AS {target}" for source, target
                                               in sorted(routines.casts)) + ")")
        return tuple(found)


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
    requires: tuple[Requires, ...] = ()  # what complete checks before it drops anything
    builtins: Builtins = Builtins()  # what the sync triggers' skips take as PostgreSQL's
    basis: Basis | None = field(default=None, compare=False)  # set by the driver (plan_file)

    def phase(self, phase: Phase) -> tuple[Step, ...]:
        """The steps of one phase."""
        return {Phase.START: self.start, Phase.COMPLETE: self.complete,
                Phase.ROLLBACK: self.rollback}[phase]
