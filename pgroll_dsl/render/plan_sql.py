"""Plan -> SQL plan file: what a reviewer reads, and exactly what the executor runs.

Each phase runs as it is with ``psql -v ON_ERROR_STOP=1 -f``: statements end with ``;``. Start
runs in autocommit (several steps must: ``CREATE INDEX CONCURRENTLY``, and the backfill commits
between batches); complete and rollback wrap their transactional steps in one ``BEGIN`` ...
``COMMIT``, as the executor does. Every step is preceded by a comment with its origin, lock
and cost.
"""

from __future__ import annotations

import re

from pgroll_dsl import __version__
from pgroll_dsl.plan.model import Phase, Plan, Step, StepKind, units
from pgroll_dsl.sql.quoting import quote_ident

LOCK_TIMEOUT_MS = 500


def render_phase(plan: Plan, phase: Phase, lock_timeout_ms: int = LOCK_TIMEOUT_MS) -> str:
    """One phase as a runnable SQL file, header included."""
    return _header(plan, lock_timeout_ms, plan.phase(phase)) + _phase_body(plan, phase)


def render_plan(plan: Plan, phases: tuple[Phase, ...] = tuple(Phase),
                lock_timeout_ms: int = LOCK_TIMEOUT_MS) -> str:
    """The phases for review; with one phase the text is runnable as it is."""
    steps = tuple(s for p in phases for s in plan.phase(p))
    return _header(plan, lock_timeout_ms, steps) + "\n".join(_phase_body(plan, p) for p in phases)


def _header(plan: Plan, lock_timeout_ms: int, steps: tuple[Step, ...]) -> str:
    lines = [
        f"-- pgroll-dsl {__version__} plan for migration {plan.migration}",
        f"-- target schema: {plan.schema}; new version schema: {plan.version_schema}",
        f"-- previous version schema: {plan.previous_version_schema or '(none)'}",
        f"-- catalog: {plan.catalog_source}",
        "-- Generated: review it, do not edit it. Each phase runs with psql -v ON_ERROR_STOP=1.",
    ]
    lines += [f"-- {note}" for note in plan.notes]
    lines = [_one_line(line) for line in lines]
    lines += _file_notes(plan, steps)
    lines += [
        "SET standard_conforming_strings = on;",
        # Unqualified names in the author's raw SQL resolve to the target schema, as in pgroll.
        f"SET search_path TO {quote_ident(plan.schema)};",
        f"SET lock_timeout = '{int(lock_timeout_ms)}ms';",
        "",
    ]
    return "\n".join(lines) + "\n"


def _phase_body(plan: Plan, phase: Phase) -> str:
    steps = plan.phase(phase)
    parts = [f"-- ==== {phase.value} ({len(steps)} step{'s' if len(steps) != 1 else ''}) ===="]
    for unit in units(phase, steps):
        file_wide = not _has_author_sql(plan)
        numbered = [_step(unit.first + i, s, file_wide) for i, s in enumerate(unit.steps, 1)]
        if unit.atomic and len(unit.steps) > 1:
            last = unit.first + len(unit.steps)
            numbered = [f"-- steps {unit.first + 1}-{last} run in one transaction: clients see "
                        "all of them or none\nBEGIN;", *numbered,
                        f"-- (the live executor records steps {unit.first + 1}-{last} as done in "
                        "its state schema here, in the same transaction)\nCOMMIT;"]
        parts += numbered
    return "\n\n".join(parts) + "\n"


# What migration linters (squawk) say about a statement, and why it is safe in this plan:
# (rule, pattern on the statement, reason). The plan file marks each finding it expects.
_LINT_NOTES: tuple[tuple[str, re.Pattern[str], str], ...] = tuple(
    (rule, re.compile(pattern, re.I | re.S), reason) for rule, pattern, reason in (
        ("require-statement-timeout", r"\A", "index builds, VALIDATE and the batched backfill "
         "legitimately run long; every lock wait is bounded by lock_timeout"),
        ("prefer-robust-stmts", r"\A", "a phase is not re-run blindly: a failed start is "
         "undone by rollback, whose steps all tolerate a partial start"),
        ("ban-drop-schema", r"\ADROP SCHEMA", "a version schema holds only views, no data"),
        ("ban-drop-column", r"DROP COLUMN", "no client reads this column any more: at complete "
         "the old version is gone (its data lives on in the column that replaced it), and on "
         "rollback the column was added by this migration"),
        ("ban-drop-table", r"\ADROP TABLE", "complete or rollback: no client reads this table"),
        ("ban-drop-function", r"\ADROP FUNCTION", "a trigger function of this migration"),
        ("ban-drop-constraint", r"DROP CONSTRAINT", "a helper constraint of this migration, "
         "or the one it drops, once no old client relies on it"),
        ("renaming-column", r"RENAME COLUMN", "clients use version-schema views, which "
         "follow the rename"),
        ("renaming-table", r"\AALTER TABLE[^;]* RENAME TO", "clients use version-schema "
         "views, which follow the rename"),
        ("renaming-object", r"RENAME (TO|CONSTRAINT)", "the object keeps working; only its "
         "name changes"),
        ("adding-not-nullable-field", r"ALTER COLUMN [^;]* SET NOT NULL", "a valid CHECK "
         "(column IS NOT NULL), validated at start while writes went on, spares the scan"),
        ("adding-field-with-default", r"ADD COLUMN[^;]* DEFAULT", "a constant default: "
         "PostgreSQL adds it without rewriting the table"),
        ("require-concurrent-index-creation", r"\ACREATE (UNIQUE )?INDEX IF NOT EXISTS [^;]* "
         r"ON ONLY ", "an index of a partitioned table alone: catalog only, no entries; each "
         "partition's is built concurrently and attached"),
        ("require-concurrent-index-deletion", r"\ADROP INDEX IF EXISTS ", "an index of a "
         "partitioned table (PostgreSQL cannot drop one concurrently) or of its partitions: "
         "catalog only, in the transaction of complete or rollback"),
        ("constraint-missing-not-valid", r"\AALTER TABLE [^;]* ADD CONSTRAINT [^;]* FOREIGN KEY "
         r"(?![^;]*NOT VALID)", "a foreign key of a partitioned table: each partition's, valid "
         "already, becomes its share; nothing is scanned"),
        ("adding-foreign-key-constraint", r"\AALTER TABLE [^;]* ADD CONSTRAINT [^;]* FOREIGN "
         r"KEY (?![^;]*NOT VALID)", "a foreign key of a partitioned table: each partition's, "
         "valid already, becomes its share; nothing is scanned"),
        ("prefer-bigint-over-int", r"\A(CREATE TABLE|ALTER TABLE[^;]*ADD COLUMN)[^;]*\b("
         r"int|integer|smallint|int4|int2|serial)\b", "the type is the author's choice"),
        ("prefer-bigint-over-smallint", r"\A(CREATE TABLE|ALTER TABLE[^;]*ADD COLUMN)[^;]*"
         r"\b(smallint|int2)\b", "the type is the author's choice"),
        ("prefer-text-field", r"\b(varchar|character varying)\b", "the type is the author's "
         "choice"),
        ("prefer-identity", r"\bserial\b", "the type is the author's choice"),
        ("prefer-timestamp-tz", r"\btimestamp\b(?! with time zone)", "the type is the "
         "author's choice"),
    )
)


# Rules squawk reports at places inside a statement (a column's type) or for the file as a
# whole: annotated once, in the header, for every phase file that has them.
_FILE_RULES = frozenset({
    "require-statement-timeout", "prefer-robust-stmts", "prefer-bigint-over-int",
    "prefer-bigint-over-smallint", "prefer-text-field", "prefer-identity",
    "prefer-timestamp-tz",
})


def lint_notes(sql: str) -> list[tuple[str, str]]:
    """The (rule, reason) pairs a migration linter will raise on this statement."""
    return [(rule, reason) for rule, pattern, reason in _LINT_NOTES if pattern.search(sql)]


def _has_author_sql(plan: Plan) -> bool:
    return any(step.kind is StepKind.RAW_SQL for phase in Phase for step in plan.phase(phase))


def _file_notes(plan: Plan, steps: tuple[Step, ...]) -> list[str]:
    """File-wide notes and squawk ignores, when every step is generated.

    The author's raw SQL is never marked safe: with one in the plan, each generated step
    carries its own ignores instead, and squawk judges the author's statements alone.
    """
    if _has_author_sql(plan):
        return []
    found: dict[str, str] = {}
    for step in steps:
        for rule, reason in lint_notes(step.sql):
            if rule in _FILE_RULES:
                found.setdefault(rule, reason)
    if not found:
        return []
    lines = [f"-- safe despite {rule}: {reason}" for rule, reason in found.items()]
    return [*lines, f"-- squawk-ignore-file {', '.join(found)}"]


def _step(number: int, step: Step, file_wide: bool) -> str:
    origin = str(step.origin) if step.origin is not None else "generated"
    where = f" on {step.relation}" if step.relation else ""
    notes = [f"-- [{number}] {origin}: {step.summary}",
             f"--     lock: {step.lock.value}{where}; {step.cost.value}"]
    found = ([] if step.kind is StepKind.RAW_SQL else
             [(r, why) for r, why in lint_notes(step.sql) if not file_wide or r not in _FILE_RULES])
    notes += [f"--     safe despite {rule}: {reason}" for rule, reason in found]
    if not step.transactional:
        notes.append("--     runs outside a transaction block")
    if step.kind is StepKind.RAW_SQL:
        notes.append("--     the author's SQL, run as written")
    if found:  # squawk reads this line as applying to the next one
        notes.append(f"-- squawk-ignore {', '.join(rule for rule, _ in found)}")
    sql = step.sql.rstrip().rstrip(";") if step.kind is not StepKind.RAW_SQL else step.sql.rstrip()
    # The author's SQL may end in a `--` comment: the terminator then goes on its own line.
    last_line = sql.rsplit("\n", 1)[-1]
    terminator = "" if sql.endswith(";") else ("\n;" if "--" in last_line else ";")
    return "\n".join(_one_line(n) for n in notes) + "\n" + sql + terminator


def _one_line(comment: str) -> str:
    """A comment line stays one line: a line break in a name would end it and run the rest."""
    return comment.replace("\r", " ").replace("\n", " ")
