"""Expressions for ``validate_ops``: the columns they name, and whether they are volatile.

An up/down/check/default/predicate/generated expression runs against one row, so every
unqualified column it names must be a column of that row *as the expression sees it*.
pgroll does not check this and fails at write time; we report it before anything runs.

Before:  ``alter table events alter name type text down event_name;``
After:   PGD209 at ``event_name`` ("did you mean "name"?"); pgroll would have failed every
         write through the new version in the down trigger.

Volatility is judged from the text alone, without a database: a default is volatile unless
every function it calls is in ``NON_VOLATILE_FUNCTIONS``, a short allow-list of immutable
and stable built-ins. Constants, literals, operators and casts are not volatile. An unknown
function counts as volatile, which only ever asks for an ``up`` that is harmless to give.
"""

from __future__ import annotations

from collections.abc import Collection
from typing import Any

from pglast import ast, parse_sql
from pglast.parser import ParseError
from pglast.visitors import Visitor

from pgroll_dsl import ir
from pgroll_dsl.diagnostics import Diagnostics, codes
from pgroll_dsl.passes.validate_names import did_you_mean
from pgroll_dsl.source import Span, position_in
from pgroll_dsl.sql.expressions import ColumnReference, Context, column_references

# Immutable or stable built-ins: PostgreSQL evaluates them once for ADD COLUMN … DEFAULT,
# so such a default is a constant for every existing row. Anything else counts as volatile.
NON_VOLATILE_FUNCTIONS = frozenset({
    "abs", "array_length", "btrim", "cardinality", "ceil", "ceiling", "char_length",
    "character_length", "concat", "concat_ws", "current_date", "current_setting", "date_part",
    "date_trunc", "extract", "floor", "format", "initcap", "json_build_array",
    "json_build_object", "jsonb_build_array", "jsonb_build_object", "left", "length", "lower",
    "lpad", "ltrim", "make_date", "make_interval", "make_time", "make_timestamp",
    "make_timestamptz", "md5", "now", "octet_length", "power", "repeat", "replace", "reverse",
    "right", "round", "rpad", "rtrim", "sign", "split_part", "sqrt", "statement_timestamp",
    "substr", "substring", "to_char", "to_date", "to_json", "to_jsonb", "to_number",
    "to_timestamp", "transaction_timestamp", "trim", "trunc", "upper",
})


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
        sink.report(codes.EXPRESSION_COLUMN_DOES_NOT_EXIST, point(expr, ref),
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
        sink.report(codes.DEFAULT_REFERENCES_COLUMN, point(expr, refs[0]),
                    f'{role} refers to column "{refs[0].name}"; a default cannot use columns',
                    "write a string literal in quotes: 'text'")


def _row_references(expr: ir.SqlExpr) -> list[ColumnReference]:
    return [r for r in column_references(expr.text) if r.row_level and r.qualifier is None]


def point(expr: ir.SqlExpr, ref: ColumnReference) -> Span | None:
    """The span of ``ref`` inside ``expr`` when the text maps onto the source exactly.

    Args:
        expr: The expression holding the reference.
        ref: A reference found in ``expr.text``.

    Returns:
        The reference's own span, else the expression's span.
    """
    span = expr.span
    if span is None or not expr.exact:
        return span
    line, col = position_in(expr.text, span.line, span.col, ref.start)
    return span.at(line, col, ref.end - ref.start)


def is_volatile(expr: ir.SqlExpr) -> bool:
    """True unless every function ``expr`` calls is a known non-volatile built-in.

    Args:
        expr: A default expression.

    Returns:
        Whether PostgreSQL may give each row a different value. False for text that does
        not parse (``check_expressions`` reports that).
    """
    prefix, suffix = Context.EXPRESSION.value
    try:
        tree = parse_sql(prefix + expr.text + suffix)
    except ParseError:
        return False
    calls: list[str] = []

    class _Calls(Visitor):
        def visit_FuncCall(self, ancestors: Any, node: ast.FuncCall) -> None:  # noqa: N802
            parts = [getattr(f, "sval", "") for f in node.funcname or ()]
            if len(parts) == 2 and parts[0] == "pg_catalog":
                parts = parts[1:]
            calls.append(".".join(parts))

    _Calls()(tree)
    return any(name not in NON_VOLATILE_FUNCTIONS for name in calls)
