"""Checks author-written SQL with PostgreSQL's own parser (pglast); never regenerates it.

An expression is accepted only if ``SELECT (<text>)`` parses as exactly one statement, so a
stray ``)`` or ``;`` cannot escape the parentheses the planner puts around it: that is what
stops ``1); drop table users; --``. Problems carry an offset into the author's text so the
caller can point at the exact character.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

from pglast import parser


class Context(Enum):
    """Where a piece of author SQL ends up; each has its own wrapper statement."""

    EXPRESSION = ("SELECT (", ")")
    STORAGE_PARAMETERS = ("CREATE INDEX i ON t (c) WITH (", ")")
    EXCLUDE_ELEMENTS = ("ALTER TABLE t ADD EXCLUDE USING gist (", ")")
    SEQUENCE_OPTIONS = ("CREATE SEQUENCE s ", "")
    SCRIPT = ("", "")


@dataclass(frozen=True, slots=True)
class Problem:
    """Why a piece of SQL is rejected, and where in the author's text (0-based offset)."""

    message: str
    offset: int
    escapes: bool  # True when the text closes its wrapper or adds a statement (injection)


def check_sql(text: str, context: Context) -> Problem | None:
    """None when ``text`` fits ``context``; otherwise the first problem found."""
    if not text.strip():
        return Problem("empty SQL", 0, False)
    prefix, suffix = context.value
    wrapped = prefix + text + suffix
    try:
        statements = parser.parse_sql(wrapped)
    except parser.ParseError as err:
        message, location = err.args[0], err.args[1] if len(err.args) > 1 else None
        offset = _char_offset(wrapped, location) - len(prefix) if location is not None else len(
            text
        )
        return Problem(str(message), max(0, min(offset, len(text))), False)
    if context is Context.SCRIPT:
        return None
    if len(statements) != 1:
        first = statements[0]
        end = _char_offset(wrapped, (first.stmt_location or 0) + (first.stmt_len or 0))
        offset = max(0, min(end - len(prefix), len(text)))
        return Problem("the SQL ends its statement and starts another", offset, True)
    return None


def _char_offset(text: str, byte_offset: int | None) -> int:
    """libpg_query reports byte offsets into UTF-8; map to a character offset."""
    if byte_offset is None:
        return len(text)
    return len(text.encode("utf-8")[:byte_offset].decode("utf-8", errors="ignore"))
