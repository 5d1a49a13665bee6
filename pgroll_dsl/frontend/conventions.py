"""DSL conventions shared by the parser and the emitter (no lark here: the emitter uses it).

``KEYWORDS``: words the grammar reads as keywords somewhere. A name spelled like one is quoted
by the emitter so that it can never be misread; a test checks the list against the grammar.
"""

from __future__ import annotations

from pgroll_dsl import ir
from pgroll_dsl.sql.expressions import column_references, is_volatile
from pgroll_dsl.sql.quoting import is_column_copy
from pgroll_dsl.sql.type_names import is_serial

KEYWORDS = frozenset(
    """action add alter always as asc by cascade check collate column columns comment complete
    constraint create deferrable deferred default delete desc distinct down drop exclude first
    foreign full generated identity include index inherit initially key last match no not
    nothing null nulls on partial primary references rename replica restrict schema set simple
    sql stored table tablespace to type unique up update using version where with""".split()
)



def implies_not_null(type_: ir.TypeName, pk: bool, generated: ir.Generated | None) -> bool:
    """PostgreSQL makes these columns NOT NULL whatever the definition says."""
    return pk or is_serial(type_) or (generated is not None and generated.identity is not None)


def unless_copy(expr: ir.SqlExpr | None, column: ir.Ident) -> ir.SqlExpr | None:
    """``up``/``down`` that only copies the column means the same as leaving it out.

    The IR keeps one spelling per meaning: a missing up/down copies the column unchanged
    (pgroll's ``"<c>"``), so an explicit copy is folded into "missing" by every front end.
    """
    if expr is not None and is_column_copy(expr.text, column.name):
        return None
    return expr


def without_copies(entries: tuple[ir.ColumnSql, ...]) -> tuple[ir.ColumnSql, ...]:
    """Per-column up/down maps without the entries that only copy their column."""
    return tuple(e for e in entries if not is_column_copy(e.sql.text, e.column.name))


def implied_check_columns(check: ir.SqlExpr) -> tuple[ir.Ident, ...]:
    """The columns a check constraint covers: those its expression names, in text order.

    This is what pgroll's ``columns`` of a check means (each is duplicated), so the DSL
    lets ``add constraint … check`` leave it out, as PostgreSQL's own DDL does, and writes
    it only when it says something else. Empty when the text does not parse (the expression
    check reports that).
    """
    seen: dict[str, ir.Ident] = {}
    for ref in column_references(check.text):
        if ref.row_level and ref.name not in seen:
            span = ir.span_within(check, ref.start, ref.end - ref.start)
            seen[ref.name] = ir.Ident(ref.name, span=span)
    return tuple(seen.values())


def implied_up(column: ir.Column, up: ir.SqlExpr | None) -> ir.SqlExpr | None:
    """``add`` of a column with a volatile default: ``up`` is that default unless written.

    pgroll accepts nothing else there (the backfill must compute what the default would),
    so the DSL does not make the author repeat it; the emitter leaves it out again.
    """
    default = column.default
    if up is None and default is not None and is_volatile(default.text):
        return ir.SqlExpr(default.text, span=default.span, layout=default.layout)
    return up
