"""Source text and tokens: where a statement and each of its parts are in the author's SQL.

Replay keeps the author's text of defaults, checks, predicates and index expressions (so it
equals what the DSL stores), which pglast's nodes do not carry: they only give character
offsets. A ``TokenSpan`` maps those offsets onto the scanner's tokens and slices the text out.
"""

from __future__ import annotations

import bisect
from collections.abc import Iterator
from dataclasses import dataclass

from pglast import ast, parser
from pglast.stream import RawStream

_OPENING = frozenset({"ASCII_40", "ASCII_91"})  # ( [
_CLOSING = frozenset({"ASCII_41", "ASCII_93"})  # ) ]
_PAREN, _COMMA, _SEMICOLON = "ASCII_40", "ASCII_44", "ASCII_59"
_COMMENTS = frozenset({"SQL_COMMENT", "C_COMMENT"})


@dataclass(frozen=True, slots=True)
class Source:
    """The script and its tokens (comments left out), positions in characters."""

    sql: str
    tokens: tuple[parser.Token, ...]
    starts: tuple[int, ...]

    @classmethod
    def of(cls, sql: str) -> Source:
        """Scan the script: its tokens without comments, and where each starts."""
        tokens = tuple(t for t in parser.scan(sql) if t.name not in _COMMENTS)
        return cls(sql, tokens, tuple(t.start for t in tokens))

    def statement(self, raw: ast.RawStmt) -> TokenSpan:
        """The tokens of one statement, without the closing semicolon."""
        start = raw.stmt_location or 0
        length = raw.stmt_len or 0
        first = bisect.bisect_left(self.starts, start)
        end = bisect.bisect_left(self.starts, start + length) if length else len(self.tokens)
        while end > first and self.tokens[end - 1].name == _SEMICOLON:
            end -= 1
        return TokenSpan(self, first, end)


@dataclass(frozen=True, slots=True)
class TokenSpan:
    """Tokens ``first`` to ``end`` (exclusive) of the script: a statement or a part of one."""

    source: Source
    first: int
    end: int

    def at(self, offset: int | None) -> int:
        """Index of the first token at or after character ``offset``, kept inside the span."""
        if offset is None or offset < 0:
            return self.first
        return min(max(bisect.bisect_left(self.source.starts, offset), self.first), self.end)

    def part(self, first: int, end: int | None = None) -> TokenSpan:
        """The tokens from ``first`` to ``end`` (default: the end of this span)."""
        return TokenSpan(self.source, first, self.end if end is None else min(end, self.end))

    def text(self, first: int | None = None, end: int | None = None) -> str:
        """The author's text from token ``first`` to token ``end`` (exclusive)."""
        first = self.first if first is None else first
        end = self.end if end is None else end
        if end <= first:
            return ""
        tokens = self.source.tokens
        return self.source.sql[tokens[first].start : tokens[end - 1].end + 1]

    def _level(self, first: int) -> Iterator[tuple[int, int]]:
        """(index, depth) of each token from ``first`` until a bracket closes the level."""
        depth = 0
        for index in range(first, self.end):
            name = self.source.tokens[index].name
            if name in _CLOSING:
                if depth == 0:
                    return
                depth -= 1
            yield index, depth
            if name in _OPENING:
                depth += 1

    def stop(self, first: int) -> int:
        """Where an expression starting at ``first`` ends: a comma or bracket at its level."""
        last = first - 1
        for index, depth in self._level(first):
            if depth == 0 and self.source.tokens[index].name == _COMMA:
                return index
            last = index
        return last + 1

    def keyword(self, first: int, name: str) -> int | None:
        """The first token named ``name`` (``DEFAULT``, ``WHERE``...) at the level of ``first``."""
        return next((index for index, depth in self._level(first)
                     if depth == 0 and self.source.tokens[index].name == name), None)

    def group(self, first: int) -> tuple[int, int] | None:
        """The first parenthesised group at or after ``first``: its ``(`` and ``)`` tokens."""
        tokens = self.source.tokens
        opening = next((i for i in range(first, self.end) if tokens[i].name == _PAREN), None)
        if opening is None:
            return None
        closing = max((i for i, _ in self._level(opening + 1)), default=opening) + 1
        return (opening, closing) if closing < self.end else None

    def inner(self, first: int) -> str | None:
        """The text inside the first parenthesised group at or after ``first``."""
        found = self.group(first)
        return self.text(found[0] + 1, found[1]) if found else None

    def pieces(self) -> list[TokenSpan]:
        """The span cut at its top-level commas (subcommands, index elements)."""
        cuts = [index for index, depth in self._level(self.first)
                if depth == 0 and self.source.tokens[index].name == _COMMA]
        bounds = [self.first - 1, *cuts, self.end]
        return [self.part(a + 1, b) for a, b in zip(bounds, bounds[1:], strict=False)]


def element_span(span: TokenSpan, location: int | None) -> TokenSpan:
    """The tokens of a table element or subcommand starting at ``location``."""
    first = span.at(location)
    return span.part(first, span.stop(first))


def element_text(piece: TokenSpan) -> str | None:
    """An index element's expression as written.

    ``(expr)`` without its parentheses, or a function call up to its closing one.
    """
    found = piece.group(piece.first)
    if found is None:
        return None
    if found[0] == piece.first:
        return piece.text(found[0] + 1, found[1])
    return piece.text(piece.first, found[1] + 1)


def regenerated(node: ast.Node | None) -> str | None:
    """PostgreSQL-printed text of an expression, where the author's text cannot be found."""
    return RawStream()(node) if node is not None else None
