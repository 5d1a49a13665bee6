"""Source positions: where in which file a node or a diagnostic comes from.

Kept free of lark and YAML so that every layer (IR, passes, planner) can carry spans.
"""

from __future__ import annotations

from bisect import bisect_right
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


Piece = tuple[int, int, int]  # offset in the text, line and column in the file


@dataclass(frozen=True, slots=True)
class Layout:
    """Where the characters of a text embedded in a file are, for a diagnostic about one.

    A problem at one character (a ``;`` inside an expression) is pointed at there, not at
    the whole text. ``pieces`` are the runs of the text copied from the file as they are,
    each with its offset in the text and the line and column where it begins in the file,
    the first at offset 0; within a run, a line break of the text is one of the file. Text
    written in place (a DSL block, a JSON string without escapes, a plain YAML scalar) is
    one run. A YAML block scalar is one run per line: YAML took each line's indentation
    away, and a folded one (``>``) turned line breaks into spaces, so no count of the text's
    line breaks tells the file's line and column.
    """

    pieces: tuple[Piece, ...]

    @classmethod
    def at(cls, line: int, col: int) -> Layout:
        """A text written in place, starting at ``line:col``."""
        return cls(((0, line, col),))

    def position(self, text: str, offset: int) -> tuple[int, int]:
        """Line and column of ``text[offset]`` in the file (of the first piece, before it)."""
        index = max(bisect_right([p[0] for p in self.pieces], offset) - 1, 0)
        start, line, col = self.pieces[index]
        return position_in(text[start:], line, col, max(offset - start, 0))
