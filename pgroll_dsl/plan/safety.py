"""Why a generated step is safe although a migration linter would flag it: one home.

Migration linters (squawk) judge a statement by its text alone; the planner knows what each
statement is for (a column dropped at complete that no client reads any more, a rename that
the version-schema views hide). Each planner module that builds such a step says so with the
exemptions below (``Step.safe``), and the plan file prints them as ``squawk-ignore`` lines with
the reason. Nothing here looks at SQL text: the author's raw SQL (``StepKind.RAW_SQL``) never
gets an exemption, so a linter judges it as written.

Rule names are squawk's. The order of ``ORDER`` is the order the plan file lists them in.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import replace

from pgroll_dsl.plan.model import Exemption, Step, StepKind

STATEMENT_TIMEOUT = Exemption(
    "require-statement-timeout", "index builds, VALIDATE and the batched backfill "
    "legitimately run long; every lock wait is bounded by lock_timeout")
ROBUST = Exemption(
    "prefer-robust-stmts", "a phase is not re-run blindly: a failed start is undone by "
    "rollback, whose steps all tolerate a partial start")
DROP_SCHEMA = Exemption("ban-drop-schema", "a version schema holds only views, no data")
DROP_COLUMN = Exemption(
    "ban-drop-column", "no client reads this column any more: at complete the old version is "
    "gone (its data lives on in the column that replaced it), and on rollback the column was "
    "added by this migration")
DROP_TABLE = Exemption("ban-drop-table", "complete or rollback: no client reads this table")
DROP_FUNCTION = Exemption("ban-drop-function", "a trigger function of this migration")
DROP_SEQUENCE = Exemption("ban-drop-sequence", "the backfill watch's counts: only this "
                          "migration's trigger and backfill use them")
DROP_CONSTRAINT = Exemption(
    "ban-drop-constraint", "a helper constraint of this migration, or the one it drops, once "
    "no old client relies on it")
RENAME_COLUMN = Exemption("renaming-column", "clients use version-schema views, which follow "
                          "the rename")
RENAME_TABLE = Exemption("renaming-table", "clients use version-schema views, which follow "
                         "the rename")
RENAME_OBJECT = Exemption("renaming-object", "the object keeps working; only its name changes")
NOT_NULL_CHECKED = Exemption(
    "adding-not-nullable-field", "a valid CHECK (column IS NOT NULL), validated at start while "
    "writes went on, spares the scan")
CONSTANT_DEFAULT = Exemption(
    "adding-field-with-default", "a constant default: PostgreSQL adds it without rewriting the "
    "table")
INDEX_ON_ONLY = Exemption(
    "require-concurrent-index-creation", "an index of a partitioned table alone: catalog only, "
    "no entries; each partition's is built concurrently and attached")
DROP_INDEX_LOCKED = Exemption(
    "require-concurrent-index-deletion", "an index of a partitioned table (PostgreSQL cannot "
    "drop one concurrently) or of its partitions: catalog only, in the transaction of complete "
    "or rollback")
_PARTITION_SHARES = ("a foreign key of a partitioned table: each partition's, valid already, "
                     "becomes its share; nothing is scanned")
FK_FROM_PARTITIONS = (Exemption("constraint-missing-not-valid", _PARTITION_SHARES),
                      Exemption("adding-foreign-key-constraint", _PARTITION_SHARES))
_PARTITION_KEYS = ("a unique or primary key of a partitioned table: each partition's "
                   "constraint, over an index built concurrently at start, becomes its share; "
                   "no index is built")
KEY_FROM_PARTITIONS = (Exemption("constraint-missing-not-valid", _PARTITION_KEYS),
                       Exemption("disallowed-unique-constraint", _PARTITION_KEYS))
_AUTHORS_TYPE = "the type is the author's choice"
PREFER_BIGINT = Exemption("prefer-bigint-over-int", _AUTHORS_TYPE)
PREFER_BIGINT_SMALL = Exemption("prefer-bigint-over-smallint", _AUTHORS_TYPE)
PREFER_TEXT = Exemption("prefer-text-field", _AUTHORS_TYPE)
PREFER_IDENTITY = Exemption("prefer-identity", _AUTHORS_TYPE)
PREFER_TIMESTAMPTZ = Exemption("prefer-timestamp-tz", _AUTHORS_TYPE)

# Every statement the planner generates: it runs under the executor's timeouts and phases.
GENERATED = (STATEMENT_TIMEOUT, ROBUST)

ORDER = (STATEMENT_TIMEOUT, ROBUST, DROP_SCHEMA, DROP_COLUMN, DROP_TABLE, DROP_FUNCTION,
         DROP_SEQUENCE,
         DROP_CONSTRAINT, RENAME_COLUMN, RENAME_TABLE, RENAME_OBJECT, NOT_NULL_CHECKED,
         CONSTANT_DEFAULT, INDEX_ON_ONLY, DROP_INDEX_LOCKED, *FK_FROM_PARTITIONS,
         *KEY_FROM_PARTITIONS, PREFER_BIGINT,
         PREFER_BIGINT_SMALL, PREFER_TEXT, PREFER_IDENTITY, PREFER_TIMESTAMPTZ)

_INTS = {"int", "integer", "int4", "smallint", "int2", "serial", "serial4", "smallserial",
         "serial2"}
_SMALL = {"smallint", "int2", "smallserial", "serial2"}
_SERIALS = {"serial", "serial4", "smallserial", "serial2", "bigserial", "serial8"}
_VARCHAR = {"varchar", "character varying"}
_TIMESTAMP = {"timestamp", "timestamp without time zone"}


def type_choices(types: Iterable[str]) -> tuple[Exemption, ...]:
    """The type-preference rules the author's column types meet (their choice to make).

    ``types`` are the column types a generated CREATE TABLE or ADD COLUMN spells, from the
    migration or the catalog; the base name decides (modifiers and array brackets aside).
    """
    names = {_base(t) for t in types}
    found = [(PREFER_BIGINT, names & _INTS), (PREFER_BIGINT_SMALL, names & _SMALL),
             (PREFER_TEXT, names & _VARCHAR), (PREFER_IDENTITY, names & _SERIALS),
             (PREFER_TIMESTAMPTZ, names & _TIMESTAMP)]
    return tuple(exemption for exemption, hit in found if hit)


def _base(spelling: str) -> str:
    name = spelling.strip().lower().removesuffix("[]").strip()
    head, _, tail = name.partition("(")
    if tail:  # varchar(255), timestamp(3) without time zone
        name = (head.strip() + " " + tail.partition(")")[2].strip()).strip()
    return name.removeprefix("pg_catalog.").strip('"')


def generated(step: Step) -> Step:
    """The step with the exemptions every generated statement has (none for raw SQL)."""
    if step.kind is StepKind.RAW_SQL:
        return replace(step, safe=())
    return replace(step, safe=tuple(e for e in ORDER if e in {*GENERATED, *step.safe}))
