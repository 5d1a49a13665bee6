"""Plan -> SQL plan file: what a reviewer reads, and exactly what the executor runs.

Each phase runs as it is with ``psql -v ON_ERROR_STOP=1 -f``: statements end with ``;``. Start
runs in autocommit (several steps must: ``CREATE INDEX CONCURRENTLY``, and the backfill commits
between batches); complete and rollback wrap their transactional steps in one ``BEGIN`` ...
``COMMIT``, as the executor does. Every step is preceded by a comment with its origin, lock
and cost.
"""

from __future__ import annotations

from pgroll_dsl import __version__
from pgroll_dsl.plan.model import Phase, Plan, Step, StepKind, units
from pgroll_dsl.plan.safety import ORDER
from pgroll_dsl.sql.quoting import quote_ident
from pgroll_dsl.sql.session import SETTINGS, Setting

LOCK_TIMEOUT_MS = 500


def render_phase(plan: Plan, phase: Phase, lock_timeout_ms: int = LOCK_TIMEOUT_MS) -> str:
    """One phase as a runnable SQL file, header included."""
    return (_header(plan, lock_timeout_ms, plan.phase(phase))
            + _phase_body(plan, phase, lock_timeout_ms))


def render_plan(plan: Plan, phases: tuple[Phase, ...] = tuple(Phase),
                lock_timeout_ms: int = LOCK_TIMEOUT_MS) -> str:
    """The phases for review; with one phase the text is runnable as it is."""
    steps = tuple(s for p in phases for s in plan.phase(p))
    return _header(plan, lock_timeout_ms, steps) + "\n".join(
        _phase_body(plan, p, lock_timeout_ms) for p in phases)


def _session(plan: Plan, lock_timeout_ms: int) -> list[str]:
    """The session the live executor opens (backends/live.py ``session_setup``), for psql."""
    return [
        *(setting_line(setting) for setting in SETTINGS),
        # Unqualified names in the author's raw SQL resolve to the target schema, as in pgroll.
        f"SET search_path TO {quote_ident(plan.schema)};",
        f"SET lock_timeout = '{int(lock_timeout_ms)}ms';",
    ]


def setting_line(setting: Setting) -> str:
    """A session setting for psql; one an older server lacks, set only where it exists."""
    if not setting.since:
        return f"{setting.statement()};"
    return (f"DO $$BEGIN IF pg_catalog.current_setting('server_version_num')::int >= "
            f"{setting.since} THEN {setting.statement()}; END IF; END$$;")


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
        # The session the live executor opens (backends/live.py connect), for psql: the file is
        # UTF-8 whatever the role's client_encoding or psql's locale (as pg_dump's files), and
        # what a role's or database's defaults would break is set back (sql/session.py).
        "SET client_encoding = 'UTF8';",
        *_session(plan, lock_timeout_ms),
        "",
    ]
    return "\n".join(lines) + "\n"


def _phase_body(plan: Plan, phase: Phase, lock_timeout_ms: int) -> str:
    steps = plan.phase(phase)
    parts = [f"-- ==== {phase.value} ({len(steps)} step{'s' if len(steps) != 1 else ''}) ===="]
    file_wide = not _has_author_sql(plan)  # once: it reads every step of the plan
    # After the author's SQL, which may set anything, the session's own settings again (as
    # the live executor does): a `SET lock_timeout = 0` must not reach the steps after it.
    again = "\n".join(["-- (the session's own settings again, whatever the author's SQL set)",
                       *_session(plan, lock_timeout_ms), "RESET ROLE;"])
    for unit in units(phase, steps):
        numbered = [_step(unit.first + i, s, file_wide)
                    + (f"\n{again}" if s.kind is StepKind.RAW_SQL else "")
                    for i, s in enumerate(unit.steps, 1)]
        if unit.atomic and len(unit.steps) > 1:
            last = unit.first + len(unit.steps)
            numbered = [f"-- steps {unit.first + 1}-{last} run in one transaction: clients see "
                        "all of them or none\nBEGIN;", *numbered,
                        f"-- (the live executor records steps {unit.first + 1}-{last} as done in "
                        "its state schema here, in the same transaction)\nCOMMIT;"]
        parts += numbered
    return "\n\n".join(parts) + "\n"


# Rules squawk reports at places inside a statement (a column's type) or for the file as a
# whole: annotated once, in the header, for every phase file that has them.
_FILE_RULES = frozenset({
    "require-statement-timeout", "prefer-robust-stmts", "prefer-bigint-over-int",
    "prefer-bigint-over-smallint", "prefer-text-field", "prefer-identity",
    "prefer-timestamp-tz",
})


def lint_notes(step: Step) -> list[tuple[str, str]]:
    """The (rule, reason) pairs the planner gave this step, in the plan file's order.

    Set by the planner where it built the step (``plan/safety.py``); never inferred from the
    text here. The author's raw SQL has none.
    """
    if step.kind is StepKind.RAW_SQL:
        return []
    order = {e.rule: i for i, e in enumerate(ORDER)}
    return [(e.rule, e.reason) for e in sorted(step.safe, key=lambda e: order.get(e.rule, 99))]


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
        for rule, reason in lint_notes(step):
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
    found = [(r, why) for r, why in lint_notes(step) if not file_wide or r not in _FILE_RULES]
    notes += [f"--     safe despite {rule}: {reason}" for rule, reason in found]
    if not step.transactional:
        notes.append("--     runs outside a transaction block")
    if step.kind is StepKind.RAW_SQL:
        notes.append("--     the author's SQL, run as written")
    if step.partition is not None:
        notes.append(f"--     pgroll-dsl skips it where partition {step.partition} is gone by "
                     "then (dropped or renamed)")
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
