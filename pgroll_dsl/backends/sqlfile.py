"""Plan -> SQL plan file: what a reviewer reads, and exactly what the executor runs.

Each phase runs as it is with ``psql -v ON_ERROR_STOP=1 -f``: statements end with ``;`` and
run in autocommit (several must: ``CREATE INDEX CONCURRENTLY``, and the backfill commits
between batches). Every step is preceded by a comment with its origin, lock and cost.
"""

from __future__ import annotations

import json
from typing import Any

from pgroll_dsl import __version__
from pgroll_dsl.plan.model import Phase, Plan, Step, StepKind

LOCK_TIMEOUT_MS = 500


def render_phase(plan: Plan, phase: Phase, lock_timeout_ms: int = LOCK_TIMEOUT_MS) -> str:
    """One phase as a runnable SQL file, header included."""
    return _header(plan, lock_timeout_ms) + _phase_body(plan, phase)


def render_plan(plan: Plan, phases: tuple[Phase, ...] = tuple(Phase),
                lock_timeout_ms: int = LOCK_TIMEOUT_MS) -> str:
    """The phases for review; with one phase the text is runnable as it is."""
    return _header(plan, lock_timeout_ms) + "\n".join(_phase_body(plan, p) for p in phases)


def _header(plan: Plan, lock_timeout_ms: int) -> str:
    lines = [
        f"-- pgroll-dsl {__version__} plan for migration {plan.migration}",
        f"-- target schema: {plan.schema}; new version schema: {plan.version_schema}",
        f"-- previous version schema: {plan.previous_version_schema or '(none)'}",
        f"-- catalog: {plan.catalog_source}",
        "-- Generated: review it, do not edit it. Each phase runs with psql -v ON_ERROR_STOP=1.",
    ]
    lines += [f"-- {note}" for note in plan.notes]
    lines += [
        "SET standard_conforming_strings = on;",
        f"SET lock_timeout = '{int(lock_timeout_ms)}ms';",
        "",
    ]
    return "\n".join(lines) + "\n"


def _phase_body(plan: Plan, phase: Phase) -> str:
    steps = plan.phase(phase)
    parts = [f"-- ==== {phase.value} ({len(steps)} step{'s' if len(steps) != 1 else ''}) ===="]
    parts += [_step(i, s) for i, s in enumerate(steps, 1)]
    return "\n\n".join(parts) + "\n"


def _step(number: int, step: Step) -> str:
    origin = str(step.origin) if step.origin is not None else "generated"
    where = f" on {step.relation}" if step.relation else ""
    notes = [f"-- [{number}] {origin}: {step.summary}",
             f"--     lock: {step.lock.value}{where}; {step.cost.value}"]
    if not step.transactional:
        notes.append("--     runs outside a transaction block")
    if step.kind is StepKind.RAW_SQL:
        notes.append("--     the author's SQL, run as written")
    sql = step.sql.rstrip().rstrip(";") if step.kind is not StepKind.RAW_SQL else step.sql.rstrip()
    terminator = "" if sql.endswith(";") else ";"
    return "\n".join(notes) + "\n" + sql + terminator


def plan_json(plan: Plan) -> str:
    """Machine-readable plan for PR checks and tools."""

    def step(s: Step) -> dict[str, Any]:
        return {
            "summary": s.summary, "sql": s.sql, "lock": s.lock.value, "relation": s.relation,
            "cost": s.cost.value, "transactional": s.transactional, "kind": s.kind.value,
            "origin": str(s.origin) if s.origin is not None else None,
        }

    document = {
        "migration": plan.migration, "schema": plan.schema,
        "version_schema": plan.version_schema,
        "previous_version_schema": plan.previous_version_schema,
        "catalog": plan.catalog_source, "notes": list(plan.notes),
        **{p.value: [step(s) for s in plan.phase(p)] for p in Phase},
    }
    return json.dumps(document, indent=2, ensure_ascii=False) + "\n"
