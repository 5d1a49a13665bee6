"""A report -> a pull-request comment in markdown: what each migration will do, and findings.

For each migration checked: its phases, each step with the lock it takes, on which relation
and for how long it holds it (the step's cost: catalog only, a scan, a rewrite, a batched
backfill), the tables it backfills with the rows a live database's statistics estimate
(``MigrationSummary.row_estimates``; a snapshot or a replayed history has none: "unknown"),
and every finding in its file. The
lock and cost come from the plan's steps (``plan.model.Step``), never from the SQL text.

docs/ci.md shows a whole comment, generated from the examples (a test keeps it true).
"""

from __future__ import annotations

from collections.abc import Iterable

from pgroll_dsl.diagnostics import Diagnostic, Severity
from pgroll_dsl.plan.model import Cost, Lock, Phase, Plan, Step, StepKind
from pgroll_dsl.render.report import MigrationSummary, Report, ordered

# How long a step holds its lock, by its cost: what the reviewer weighs.
_HELD = {
    Cost.CATALOG: "catalog only",
    Cost.SCAN: "a scan of the table (reads and writes continue)",
    Cost.BUILD: "a concurrent index build (reads and writes continue)",
    Cost.BUILD_LOCKED: "an index build (**writes wait**)",
    Cost.BACKFILL: "one batch at a time (backfill)",
    Cost.REWRITE: "a rewrite of the table (**reads and writes wait**)",
    Cost.UNKNOWN: "unknown: raw SQL, see the findings",
}
_ICON = {Severity.ERROR: "❌", Severity.WARNING: "⚠️", Severity.NOTE: "ℹ️"}


def render_markdown(report: Report) -> str:
    """The whole comment: a headline, a section per migration, then findings outside them."""
    found = ordered(report.diagnostics)
    errors = report.count(Severity.ERROR)
    verdict = "❌ errors found" if errors else "✅ no errors"
    lines = [f"## pgroll-dsl: {verdict}", "", report.summary_line() + ".", ""]
    placed: set[int] = set()
    for summary in report.migrations:
        mine = [d for d in found if d.span is not None and _same(d.span.path, summary.path)]
        placed.update(id(d) for d in mine)
        lines += _migration(summary, mine)
    rest = [d for d in found if id(d) not in placed]
    if rest:
        lines += ["### Findings" if not report.migrations else "### Other findings", ""]
        lines += _findings(rest)
    return "\n".join(lines).rstrip("\n") + "\n"


def _same(a: str, b: str) -> bool:
    return a.removeprefix("./") == b.removeprefix("./")


def _migration(summary: MigrationSummary, findings: list[Diagnostic]) -> list[str]:
    lines = [f"### `{_cell(summary.name)}`", "", f"File: `{_cell(summary.path)}`", ""]
    plan = summary.plan
    if plan is None:
        lines += ["Not planned: the migration has errors.", ""]
    else:
        lines += _plan(plan, summary)
    if findings:
        lines += ["**Findings**", "", *_findings(findings)]
    else:
        lines += ["No findings.", ""]
    return lines


def _plan(plan: Plan, summary: MigrationSummary) -> list[str]:
    counts = ", ".join(f"{phase.value} {len(plan.phase(phase))} "
                       f"step{'' if len(plan.phase(phase)) == 1 else 's'}" for phase in Phase)
    lines = [f"Phases: {counts}. New version schema `{plan.version_schema}`.", ""]
    heavy = [s for s in plan.start if _blocks(s)]
    if heavy:
        lines += [f"**Start blocks clients** in {len(heavy)} step"
                  f"{'' if len(heavy) == 1 else 's'}: "
                  + "; ".join(f"{_cell(s.summary)} ({_lock_on(s)})" for s in heavy) + ".", ""]
    backfilled = list(dict.fromkeys(s.relation for s in plan.start
                                    if s.kind is StepKind.BACKFILL))  # a table once
    if backfilled:
        lines += ["Backfilled: " + ", ".join(
            f"`{_cell(r or '?')}` ({_rows(summary, r)})" for r in backfilled) + ".", ""]
    lines += ["| phase | lock | on | held for | steps |", "|---|---|---|---|---|"]
    for phase in Phase:
        grouped: dict[tuple[str, str, str], int] = {}
        for step in plan.phase(phase):
            if step.lock is not Lock.NONE:
                key = (step.lock.value, _relation(step), _HELD[step.cost])
                grouped[key] = grouped.get(key, 0) + 1
        for (lock, relation, held), n in grouped.items():
            lines.append(f"| {phase.value} | {lock} | {relation} | {held} | {n} |")
    lines += ["", "<details><summary>Every step</summary>", "",
              "| phase | # | step | lock | on | held for |", "|---|---|---|---|---|---|"]
    for phase in Phase:
        for number, step in enumerate(plan.phase(phase), 1):
            lines.append(f"| {phase.value} | {number} | {_cell(step.summary)} | {_lock(step)} "
                         f"| {_relation(step)} | {_HELD[step.cost]} |")
    lines += ["", "</details>", ""]
    if plan.notes:
        lines += ["<details><summary>Notes of the plan</summary>", ""]
        lines += [f"- {_cell(note)}" for note in plan.notes]
        lines += ["", "</details>", ""]
    return lines


def _blocks(step: Step) -> bool:
    """A start step that makes clients wait longer than a catalog change."""
    strong = step.lock in (Lock.ACCESS_EXCLUSIVE, Lock.SHARE, Lock.SHARE_ROW_EXCLUSIVE)
    return strong and step.cost in (Cost.SCAN, Cost.BUILD_LOCKED, Cost.REWRITE, Cost.UNKNOWN)


def _rows(summary: MigrationSummary, table: str | None) -> str:
    estimate = summary.row_estimates.get(table or "")
    return "rows: unknown" if estimate is None else f"~{estimate:,} rows"


def _lock_on(step: Step) -> str:
    on = f" on `{_cell(step.relation)}`" if step.relation else ""
    return f"{step.lock.value}{on}"


def _lock(step: Step) -> str:
    return "none" if step.lock is Lock.NONE else step.lock.value


def _relation(step: Step) -> str:
    return f"`{_cell(step.relation)}`" if step.relation else "-"


def _cell(text: str) -> str:
    """Text safe inside a table cell or inline code: one line, no column break."""
    return " ".join(text.split()).replace("|", "\\|").replace("`", "'")


def _line(text: str) -> str:
    """Text of a list item: one line (its inline code stays code)."""
    return " ".join(text.split())


def _findings(found: Iterable[Diagnostic]) -> list[str]:
    lines = []
    for d in found:
        where = f" `{_cell(str(d.span))}`" if d.span is not None else ""
        lines.append(f"- {_ICON[d.severity]} **{d.severity}** "
                     f"[{d.code.id} {d.code.slug}]{where}: {_line(d.message)}")
        lines += [f"  - help: {_line(hint)}" for hint in d.hints]
    return [*lines, ""]


__all__ = ["render_markdown"]
