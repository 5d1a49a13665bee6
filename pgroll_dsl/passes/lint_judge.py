"""Which rules fire on a statement's places, and the findings they make.

Every rule of a place's kind is asked; the ``STATEMENT`` rules are asked at the statement's
first place. A ``once`` rule reports at most once per script; a ``fallback`` rule (raw DDL
that an operation does better) only where no other rule fired on the statement.
"""

from __future__ import annotations

from dataclasses import dataclass

from pgroll_dsl.diagnostics.codes import Code
from pgroll_dsl.passes.lint_context import Context, Place
from pgroll_dsl.passes.lint_model import STATEMENT, Rule
from pgroll_dsl.passes.lint_nodes import dsl
from pgroll_dsl.passes.lint_rules import rules_for

_IDENTIFIERS = ("table", "column", "index", "name", "new")


@dataclass(frozen=True, slots=True)
class Finding:
    """One rule that fired: where in the script (character offset and width), and what."""

    code: Code
    offset: int
    width: int
    message: str
    hint: str


class _Fill(dict[str, str]):
    """Template names; one a template uses but the site lacks reads as an ellipsis."""

    def __missing__(self, key: str) -> str:
        return "…"


def judge(ctx: Context, places: list[Place]) -> list[Finding]:
    """The findings of one statement's places."""
    found: list[Finding] = []
    fired = False
    for index, place in enumerate(places):
        rules = rules_for(place.kind) + (rules_for(STATEMENT) if index == 0 else ())
        for rule in rules:
            if rule.fallback or (rule.once and rule in ctx.fired_once):
                continue
            if rule.fires(place.site):
                found.append(_finding(rule, place))
                fired = fired or not rule.once
                if rule.once:
                    ctx.fired_once.add(rule)
    if not fired:
        found.extend(_fallback(places))
    return found


def _fallback(places: list[Place]) -> list[Finding]:
    for place in places:
        for rule in rules_for(STATEMENT):
            if rule.fallback and rule.fires(place.site):
                return [_finding(rule, place)]
    return []


def _finding(rule: Rule, place: Place) -> Finding:
    names = _Fill(place.site.names)
    shown = _Fill({k: (dsl(v) if k in _IDENTIFIERS and v != "…" else v)
                   for k, v in place.site.names.items()})
    return Finding(rule.code, place.offset, place.width, rule.message.format_map(names),
                   rule.hint.format_map(shown))
