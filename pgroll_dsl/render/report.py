"""What a reporter renders: the findings of a run, and what the run checked and planned.

Every diagnostics format (``render.DIAGNOSTICS``) takes one ``Report``. Most read only its
findings; the markdown PR comment also reads the migrations: their plans (locks, work,
backfills) and row estimates. ``validate`` and ``plan`` fill the rest in; ``fmt`` and
``convert`` hand over findings alone (``Report.of``).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import TYPE_CHECKING

from pgroll_dsl.diagnostics import Diagnostic, Severity

if TYPE_CHECKING:
    from pgroll_dsl.plan.model import Plan


def _no_rows() -> Mapping[str, int]:
    return MappingProxyType({})


@dataclass(frozen=True, slots=True, kw_only=True)
class MigrationSummary:
    """One migration a run checked: its file, its name, and its plan when it has one.

    ``plan`` is ``None`` for a migration with errors (it gets none). ``row_estimates`` maps a
    table to the rows a live database's statistics estimate for it
    (``backends/statistics.py``); a catalog snapshot or a replayed history has no
    statistics, so it is empty and the comment says "unknown".
    """

    path: str
    name: str
    plan: Plan | None = None
    row_estimates: Mapping[str, int] = field(default_factory=_no_rows)


@dataclass(frozen=True, slots=True, kw_only=True)
class Report:
    """The findings of one run, and (for ``validate``/``plan``) what it checked.

    ``checked`` is the number of migrations checked (``None``: the command checks no
    migrations, as ``fmt``); ``skipped`` the migrations left out because a live database has
    applied them already.
    """

    diagnostics: tuple[Diagnostic, ...]
    migrations: tuple[MigrationSummary, ...] = ()
    checked: int | None = None
    skipped: int = 0

    @classmethod
    def of(cls, diagnostics: Iterable[Diagnostic]) -> Report:
        """A report of findings alone."""
        return cls(diagnostics=tuple(diagnostics))

    def count(self, severity: Severity) -> int:
        """How many findings have this severity."""
        return sum(1 for d in self.diagnostics if d.severity is severity)

    def summary_line(self) -> str:
        """``4 migrations checked, 0 errors, 2 warnings`` (and the skipped ones, if any)."""
        parts = []
        if self.checked is not None:
            parts.append(_plural(self.checked, "migration") + " checked")
        if self.skipped:
            parts.append(_plural(self.skipped, "applied migration") + " skipped")
        parts.append(_plural(self.count(Severity.ERROR), "error"))
        parts.append(_plural(self.count(Severity.WARNING), "warning"))
        return ", ".join(parts)


def _plural(n: int, noun: str) -> str:
    return f"{n} {noun}{'' if n == 1 else 's'}"


def sort_key(d: Diagnostic) -> tuple[str, int, int]:
    """File, then position: the order a reader scans a file in."""
    if d.span is None:
        return ("", 0, 0)
    return (d.span.path, d.span.line, d.span.col)


def ordered(diagnostics: Iterable[Diagnostic]) -> list[Diagnostic]:
    """Findings in reading order (stable for findings at one place)."""
    return sorted(diagnostics, key=sort_key)


def fingerprints(diagnostics: Iterable[Diagnostic]) -> list[str]:
    """A stable identity per finding, for CI systems that track findings across pushes.

    Code, file and message, without the line: a finding keeps its fingerprint when lines
    above it move. Findings alike in those three are told apart by their order.
    """
    import hashlib  # only the formats with fingerprints load it

    seen: dict[str, int] = {}
    found = []
    for d in diagnostics:
        base = "\0".join((d.code.id, d.span.path if d.span else "", d.message))
        seen[base] = seen.get(base, 0) + 1
        found.append(hashlib.sha256(f"{base}\0{seen[base]}".encode()).hexdigest())
    return found


def with_hints(d: Diagnostic, sep: str = "\n") -> str:
    """The message, then each hint as ``help: …`` (formats with one text field)."""
    return sep.join((d.message, *(f"help: {hint}" for hint in d.hints)))


__all__ = ["MigrationSummary", "Report", "fingerprints", "ordered", "sort_key", "with_hints"]
