"""Everything an operation splices into SQL is checked with PostgreSQL's parser first.

Before:  ``"opclass": {"name": "tsvector_ops", "params": ["siglen=8)); DROP TABLE refs; --"]}``
After:   PGD502 pointing at the ``;`` that ends the statement early; nothing is emitted.

Author SQL (expressions, storage parameters, opclass parameters, exclusion elements,
sequence options, collations, access methods, raw scripts) must parse in the very place the
planner splices it (``sql.expressions.Context``) and change nothing around it. Types are
rendered and parsed back as a type; comments become string literals and may not hold NUL.
"""

from __future__ import annotations

from pgroll_dsl import ir
from pgroll_dsl.diagnostics import Diagnostics, codes
from pgroll_dsl.passes.walk import Leaf, Use, leaves
from pgroll_dsl.source import Span
from pgroll_dsl.sql.expressions import Context, Fault, Problem, check_sql

# An example of what each place takes, for hints.
_EXAMPLES: dict[Context, str] = {
    Context.STORAGE_PARAMETERS: "fillfactor = 70, deduplicate_items = off",
    Context.EXCLUDE_ELEMENTS: "room WITH =, during WITH &&",
    Context.SEQUENCE_OPTIONS: "START 100 INCREMENT 10",
    Context.OPCLASS_PARAMETER: "siglen = 8 (one parameter per entry)",
    Context.COLLATION: '"C", "en-US-x-icu" or pg_catalog."default"',
    Context.INDEX_METHOD: "gist",
}


def check_expressions(migration: ir.Migration, sink: Diagnostics) -> None:
    """Check every piece of author SQL, every type and every comment of every operation."""
    for op in migration.operations:
        for leaf in leaves(op):
            if leaf.use is Use.SQL:
                _check_sql(op, leaf, sink)
            elif leaf.use is Use.TYPE:
                _check_type(op, leaf, sink)
            elif leaf.use is Use.LITERAL and "\x00" in str(leaf.value):
                sink.report(codes.NUL_CHARACTER, leaf.span,
                            f"{op.kind} {leaf.role}: the text contains a NUL character",
                            "PostgreSQL cannot store a NUL in text; remove it")


def _check_sql(op: ir.Operation, leaf: Leaf, sink: Diagnostics) -> None:
    assert leaf.context is not None
    sql = leaf.value if isinstance(leaf.value, ir.SqlExpr | ir.SqlScript) else ir.SqlExpr(
        str(leaf.value), span=leaf.span)
    problem = check_sql(sql.text, leaf.context)
    if problem is None:
        return
    whole = problem.fault is Fault.SHAPE and "\n" not in sql.text  # underline all of it
    span = ir.span_within(sql, problem.offset, len(sql.text) if whole else 1)
    _report(op.kind, leaf.role, leaf.context, problem, span, sink)


def _report(kind: str, role: str, context: Context, problem: Problem, span: Span | None,
            sink: Diagnostics) -> None:
    where, what = f"{kind} {role}", context.value.what
    example = _EXAMPLES.get(context)
    hints = (f"for example: {example}",) if example else ()
    match problem.fault:
        case Fault.EMPTY:
            sink.report(codes.EMPTY_EXPRESSION, span, f"{where}: empty SQL")
        case Fault.NUL:
            sink.report(codes.NUL_CHARACTER, span, f"{where}: {problem.message}",
                        "PostgreSQL cannot run SQL with a NUL; remove it")
        case Fault.ESCAPES:
            fix = ("end the comment with a line break, or write /* … */"
                   if "comment" in problem.message
                   else "remove the ';' or unbalanced ')'; use a `sql` operation for statements")
            sink.report(codes.NOT_ONE_EXPRESSION, span,
                        f"{where}: {problem.message}; it must be {what}", fix)
        case Fault.SHAPE:
            sink.report(codes.SQL_WRONG_KIND, span, f"{where}: {problem.message}", *hints)
        case Fault.SYNTAX:
            noun = {Context.SCRIPT: "statements", Context.EXPRESSION: "expression"}.get(context)
            message = (f"{noun} does not parse" if noun else f"does not parse as {what}")
            sink.report(codes.EXPRESSION_SYNTAX, span,
                        f"{where}: {message}: {problem.message}", *hints)


def _check_type(op: ir.Operation, leaf: Leaf, sink: Diagnostics) -> None:
    """A type is rendered from its parts, never spliced: parse the rendering as a type.

    Front ends build types with the grammar's ``type_name`` rule, so this only fails for IR
    built some other way, or for a quoted name holding a NUL.
    """
    from pgroll_dsl.sql.quoting import render_type

    assert isinstance(leaf.value, ir.TypeName)
    try:
        rendered = render_type(leaf.value)
    except ValueError:
        sink.report(codes.NUL_CHARACTER, leaf.span,
                    f"{op.kind} {leaf.role}: the type name contains a NUL character",
                    "PostgreSQL cannot store a NUL in a name; remove it")
        return
    problem = check_sql(rendered, Context.TYPE)
    if problem is not None:
        sink.report(codes.BAD_TYPE_NAME, leaf.span,
                    f"{op.kind} {leaf.role}: {rendered!r} is not a type name: {problem.message}",
                    "write a PostgreSQL type such as text, varchar(255) or numeric(10,2)")
