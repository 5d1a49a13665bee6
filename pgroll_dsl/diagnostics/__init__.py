"""Diagnostics as data: a code, a severity, a span, a message and hints.

Phases report into a ``Diagnostics`` sink instead of raising on the first problem; the CLI
renders what was collected and picks the exit code.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from pgroll_dsl.diagnostics.codes import Code, Severity
from pgroll_dsl.source import Span

__all__ = ["Code", "CompileError", "Diagnostic", "Diagnostics", "Severity"]


@dataclass(frozen=True, slots=True)
class Diagnostic:
    """One finding, positioned in the source when the source is known."""

    code: Code
    message: str
    span: Span | None
    hints: tuple[str, ...] = ()
    severity: Severity = field(default=Severity.ERROR)

    def to_dict(self) -> dict[str, Any]:
        """The ``--format json`` shape; keys are stable for scripts."""
        where: dict[str, Any] = {}
        if self.span is not None:
            where = {
                "path": self.span.path,
                "line": self.span.line,
                "column": self.span.col,
                "end_line": self.span.end_line,
                "end_column": self.span.end_col,
            }
        return {
            "code": self.code.id,
            "slug": self.code.slug,
            "severity": str(self.severity),
            "message": self.message,
            **where,
            "hints": list(self.hints),
        }


class Diagnostics:
    """The sink every phase reports into."""

    def __init__(self) -> None:
        self._items: list[Diagnostic] = []

    def report(self, code: Code, span: Span | None, message: str, *hints: str) -> None:
        """Record a finding with the code's default severity."""
        self._items.append(Diagnostic(code, message, span, tuple(hints), code.severity))

    def extend(self, items: Iterable[Diagnostic]) -> None:
        """Take over findings collected elsewhere."""
        self._items.extend(items)

    @property
    def has_errors(self) -> bool:
        """True when at least one finding is an error."""
        return any(d.severity is Severity.ERROR for d in self._items)

    def __iter__(self) -> Iterator[Diagnostic]:
        return iter(self._items)

    def __len__(self) -> int:
        return len(self._items)

    def raise_if_errors(self) -> None:
        """End a phase: fail once, with everything found so far."""
        if self.has_errors:
            raise CompileError(list(self._items))


class CompileError(Exception):
    """Raised at phase boundaries; carries every diagnostic collected."""

    def __init__(self, diagnostics: list[Diagnostic]) -> None:
        super().__init__("; ".join(d.message for d in diagnostics))
        self.diagnostics = diagnostics
