"""Inline suppression of safety lints: ``-- pgroll-dsl: allow PGD401: <reason>`` in raw SQL.

The author who means it says so where the SQL is, and says why: the reason is required, so a
reviewer reads it next to the statement. A comment after code on its line applies to that
code's statement; a comment on a line of its own to the statement of the next token (the next
statement, or the rest of the one it sits in). Several codes (or slugs) may be listed,
separated by commas. ``/* … */`` comments work too.

The comment lives in the SQL text, not around the ``sql`` operation, so that it works alike in
the DSL, pgroll JSON (which has no comments and rejects unknown keys) and YAML, and survives
``convert`` between them.

A comment without a reason (PGD490) or naming no safety rule (PGD491) is an error and
suppresses nothing; one that suppresses nothing is a warning (PGD492).
"""

from __future__ import annotations

import bisect
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from pglast import parser

from pgroll_dsl.diagnostics import codes
from pgroll_dsl.diagnostics.codes import Code
from pgroll_dsl.passes.lint_judge import Finding
from pgroll_dsl.passes.lint_rules import lint_codes

_COMMENTS = frozenset({"SQL_COMMENT", "C_COMMENT"})
_ALLOW = re.compile(r"(?:--|/\*)\s*pgroll-dsl\s*:\s*allow\b(?P<rest>.*?)(?:\*/)?\s*",
                    re.DOTALL | re.IGNORECASE)


@dataclass(slots=True)
class Allow:
    """One ``allow`` comment: the codes it names, and the statement it applies to."""

    codes: frozenset[Code]
    offset: int  # the comment, in the script
    width: int
    target: int | None  # index of the statement (in ``Statements``) it applies to
    used: set[Code] = field(default_factory=set)


@dataclass(frozen=True, slots=True)
class Statements:
    """Where each statement of a script starts: a finding belongs to the last one before it."""

    starts: tuple[int, ...]

    def of(self, offset: int) -> int | None:
        """The index of the statement holding ``offset`` (None before the first)."""
        index = bisect.bisect_right(self.starts, offset) - 1
        return index if index >= 0 else None


def read_allows(text: str, statements: Statements) -> tuple[list[Allow], list[Finding]]:
    """The script's valid ``allow`` comments, and the problems of the others."""
    tokens = parser.scan(text)
    code = [i for i, t in enumerate(tokens) if t.name not in _COMMENTS]  # token indexes
    allows: list[Allow] = []
    problems: list[Finding] = []
    for index, token in enumerate(tokens):
        if token.name not in _COMMENTS:
            continue
        body = text[token.start:token.end + 1]
        match = _ALLOW.fullmatch(body)
        if match is None:
            continue
        width = len(body.split("\n", 1)[0].rstrip()) or 1
        found, trouble = _parse(match["rest"], token.start, width)
        problems.extend(trouble)
        if found and not trouble:
            anchor = _anchor(text, tokens, code, index)
            target = statements.of(anchor) if anchor is not None else None
            allows.append(Allow(found, token.start, width, target))
    return allows, problems


def _parse(rest: str, offset: int, width: int) -> tuple[frozenset[Code], list[Finding]]:
    """The codes of ``allow CODES: reason``; a missing reason or an unknown code is a problem."""
    named, colon, reason = rest.partition(":")
    words = [w for w in re.split(r"[\s,]+", named.strip()) if w]
    known = {c.id: c for c in lint_codes()} | {c.slug: c for c in lint_codes()}
    found = frozenset(known[w.upper() if w.upper() in known else w.lower()] for w in words
                      if w.upper() in known or w.lower() in known)
    unknown = [w for w in words if w.upper() not in known and w.lower() not in known]
    problems: list[Finding] = []
    example = f"-- pgroll-dsl: allow {', '.join(words) or 'PGD401'}: <why it is safe here>"
    if unknown or not words:
        what = f"{unknown[0]!r} is not a safety rule" if unknown else "it names no rule"
        problems.append(Finding(codes.UNKNOWN_SUPPRESSION_CODE, offset, width,
                                f"this pgroll-dsl allow comment suppresses nothing: {what}",
                                "name a PGD4xx code or slug (docs/lint.md lists them)"))
    if not colon or not reason.strip():
        problems.append(Finding(codes.SUPPRESSION_WITHOUT_REASON, offset, width,
                                "this pgroll-dsl allow comment gives no reason, so it "
                                "suppresses nothing",
                                f"say why the statement is safe here: `{example}`"))
    return found, problems


def _anchor(text: str, tokens: Sequence[parser.Token], code: list[int], index: int
            ) -> int | None:
    """The offset whose statement a comment applies to: code before it on its line, or next.

    ``code`` holds the indexes of the tokens that are not comments, in order. None for a
    comment on a line of its own after the last statement: it applies to no statement (the
    one above it is not "the statement that follows").
    """
    position = bisect.bisect_left(code, index)
    if position > 0:
        before = tokens[code[position - 1]]
        if "\n" not in text[before.end + 1:tokens[index].start]:
            return before.start
    return tokens[code[position]].start if position < len(code) else None


def suppress(findings: list[Finding], allows: list[Allow], statements: Statements
             ) -> list[Finding]:
    """The findings no ``allow`` comment covers; the comments remember what they covered."""
    by_statement: dict[int, list[Allow]] = {}
    for allow in allows:
        if allow.target is not None:
            by_statement.setdefault(allow.target, []).append(allow)
    kept: list[Finding] = []
    for finding in findings:
        target = statements.of(finding.offset)
        candidates = by_statement.get(target, []) if target is not None else []
        cover = next((a for a in candidates if finding.code in a.codes), None)
        if cover is None:
            kept.append(finding)
        else:
            cover.used.add(finding.code)
    return kept


def unused(allows: list[Allow], enabled: Callable[[Code], bool]) -> list[Finding]:
    """PGD492 for each code of a comment that covered nothing (and is not switched off)."""
    return [Finding(codes.UNUSED_SUPPRESSION, allow.offset, allow.width,
                    f"this pgroll-dsl allow comment suppresses nothing: no {code.id} on the "
                    "statement it applies to",
                    "remove it, or move it: a comment on a line of its own applies to the "
                    "statement that follows it")
            for allow in allows for code in sorted(allow.codes - allow.used, key=lambda c: c.id)
            if enabled(code)]
