"""Expressions for ``validate_ops``: the columns they name, and whether they are volatile.

An up/down/check/default/predicate/generated expression runs against one row, so every
unqualified column it names must be a column of that row *as the expression sees it*.
pgroll does not check this and fails at write time; we report it before anything runs.

Before:  ``alter table events alter name type text down event_name;``
After:   PGD209 at ``event_name`` ("did you mean "name"?"); pgroll would have failed every
         write through the new version in the down trigger.

Volatility is judged from the text alone, without a database: a default is volatile unless
every function it calls is in ``sql.expressions.NON_VOLATILE_FUNCTIONS``, a short
allow-list of immutable and stable built-ins. Constants, literals, operators and casts are
not volatile. An unknown function counts as volatile, which only ever asks for an ``up``
that is harmless to give.
"""

from __future__ import annotations

from collections.abc import Collection

from pgroll_dsl import ir
from pgroll_dsl.diagnostics import Diagnostics, codes
from pgroll_dsl.passes.validate_names import did_you_mean
from pgroll_dsl.sql.expressions import (
    ColumnReference,
    column_references,
)


def check_columns(expr: ir.SqlExpr | None, columns: Collection[str], table: str, role: str,
                  sink: Diagnostics, note: str = "") -> None:
    """Report PGD209 for each row-level column ``expr`` names that ``columns`` lacks.

    Only unqualified names outside sub-queries with their own FROM clause are row-level;
    the others may belong to another table and are left to PostgreSQL.

    Args:
        expr: The expression, or None when absent.
        columns: The names the expression's row has.
        table: The table name, for the message.
        role: What the expression is (``"down"``, ``"check"``, …), for the message.
        sink: Where problems go.
        note: Extra explanation appended to the message.
    """
    if expr is None:
        return
    reported: set[str] = set()
    for ref in _row_references(expr):
        if ref.name in columns or ref.name in reported:
            continue
        reported.add(ref.name)
        where = ir.span_within(expr, ref.start, ref.end - ref.start)
        sink.report(codes.EXPRESSION_COLUMN_DOES_NOT_EXIST, where,
                    f'{role} refers to column "{ref.name}", which table "{table}" does not '
                    f"have{note}", *did_you_mean(ref.name, columns))


def check_default(expr: ir.SqlExpr | None, role: str, sink: Diagnostics) -> None:
    """Report PGD319 when a default expression names a column (PostgreSQL forbids it).

    Args:
        expr: The default, or None when absent.
        role: Where the default is, for the message.
        sink: Where problems go.
    """
    if expr is None:
        return
    refs = _row_references(expr)
    if refs:
        first = refs[0]
        where = ir.span_within(expr, first.start, first.end - first.start)
        sink.report(codes.DEFAULT_REFERENCES_COLUMN, where,
                    f'{role} refers to column "{refs[0].name}"; a default cannot use columns',
                    "write a string literal in quotes: 'text'")


def _row_references(expr: ir.SqlExpr) -> list[ColumnReference]:
    return [r for r in column_references(expr.text) if r.row_level and r.qualifier is None]
