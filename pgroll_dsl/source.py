"""Source positions: where in which file a node or a diagnostic comes from.

Kept free of lark and YAML so that every layer (IR, passes, planner) can carry spans.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Span:
    """A 1-based, inclusive-start / exclusive-end region of one source file."""

    path: str
    line: int
    col: int
    end_line: int
    end_col: int

    def __str__(self) -> str:
        return f"{self.path}:{self.line}:{self.col}"

    def at(self, line: int, col: int, width: int = 1) -> Span:
        """A span inside this file, e.g. a position within an embedded SQL expression."""
        return Span(self.path, line, col, line, col + max(width, 1))


def position_in(text: str, start_line: int, start_col: int, offset: int) -> tuple[int, int]:
    """Line and column of ``text[offset]`` when ``text`` starts at ``start_line:start_col``."""
    before = text[:offset]
    newlines = before.count("\n")
    if newlines == 0:
        return start_line, start_col + offset
    return start_line + newlines, offset - before.rfind("\n")
