"""Embedded SQL must parse, and an expression must be exactly one expression.

Before:  ``alter table t add c int up `1); drop table users; --`;``
After:   PGD502 pointing at the ``;`` that ends the statement early; nothing is emitted.
"""

from __future__ import annotations

from pgroll_dsl import ir
from pgroll_dsl.diagnostics import Diagnostics, codes
from pgroll_dsl.passes.walk import sql_items
from pgroll_dsl.sql.expressions import Context, check_sql


def check_expressions(migration: ir.Migration, sink: Diagnostics) -> None:
    """Check every piece of author SQL with PostgreSQL's parser."""
    for op in migration.operations:
        for role, sql, context in sql_items(op):
            problem = check_sql(sql.text, context)
            if problem is None:
                continue
            span = ir.span_within(sql, problem.offset)
            if not sql.text.strip():
                sink.report(codes.EMPTY_EXPRESSION, span, f"{op.kind} {role}: empty SQL")
            elif problem.escapes:
                sink.report(
                    codes.NOT_ONE_EXPRESSION, span,
                    f"{op.kind} {role}: {problem.message}; it must be a single expression",
                    "remove the ';' or unbalanced ')'; use a `sql` operation for statements",
                )
            else:
                what = "statements" if context is Context.SCRIPT else "expression"
                sink.report(codes.EXPRESSION_SYNTAX, span,
                            f"{op.kind} {role}: {what} does not parse: {problem.message}")
