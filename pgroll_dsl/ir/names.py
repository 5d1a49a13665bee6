"""Names, types and author SQL as the IR stores them.

Every node carries a ``span`` that never takes part in equality, so IR built from the DSL,
from pgroll JSON/YAML and by hand compares equal when it means the same.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from pgroll_dsl.source import Layout, Span


@dataclass(frozen=True, slots=True)
class Node:
    """Base of every IR node. The span never takes part in equality."""

    span: Span | None = field(default=None, compare=False, repr=False, kw_only=True)


@dataclass(frozen=True, slots=True)
class Ident(Node):
    """A table, column, index or constraint name exactly as PostgreSQL stores it.

    Front ends fold case once (unquoted DSL names are lower-cased, JSON names are taken as
    written); nothing downstream folds again, and only ``sql.quoting`` turns it into SQL.
    """

    name: str


@dataclass(frozen=True, slots=True, kw_only=True)
class TypeName(Node):
    """A column type: ``varchar(255)``, ``double precision``, ``public.mood``, ``text[]``.

    Structured rather than a string so that emitters never splice unchecked text into DDL.
    ``name`` is lower-case with single spaces unless it was a quoted identifier.
    """

    name: str
    quoted: bool = False
    schema: Ident | None = None
    modifiers: tuple[str, ...] = ()
    array_dims: tuple[int | None, ...] = ()


@dataclass(frozen=True, slots=True)
class SqlExpr(Node):
    """One SQL expression the author wrote (up, down, check, default, predicate).

    Checked, never regenerated: emitters write ``text`` back verbatim. ``layout`` says where
    the characters of ``text`` are in the source when the front end can tell (DSL blocks,
    JSON strings and YAML scalars without escapes, YAML block scalars), so that a problem
    inside the expression is pointed at precisely.
    """

    text: str
    layout: Layout | None = field(default=None, compare=False, repr=False, kw_only=True)


@dataclass(frozen=True, slots=True)
class SqlScript(Node):
    """Statements of a raw ``sql`` operation, run as written (several are allowed)."""

    text: str
    layout: Layout | None = field(default=None, compare=False, repr=False, kw_only=True)


def span_within(sql: SqlExpr | SqlScript, offset: int, width: int = 1) -> Span | None:
    """Where ``sql.text[offset:offset + width]`` is in the source.

    Precise when the front end knows where the text's characters are (``layout``); otherwise
    the span of the whole text, which is the best there is.
    """
    span = sql.span
    if span is None or sql.layout is None:
        return span
    line, col = sql.layout.position(sql.text, offset)
    return span.at(line, col, width)
