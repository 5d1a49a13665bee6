"""Exhaustive walks over operations: every name and every piece of text that reaches SQL.

A string an operation carries reaches SQL in exactly one of four ways (the table "What
reaches SQL, and how it is checked" in docs/dsl.md): as an identifier (``quote_ident``), as a
string literal (``quote_literal``), as a column type (rendered from a structured
``TypeName``), or as author SQL spliced verbatim into a place described by a ``Context``.
The walk finds the strings by reflection over the IR dataclasses, so a field added to the IR
is walked without anyone remembering to; a plain ``str`` field that ``STRING_FIELDS`` does
not classify stops the walk with an error instead of slipping through unchecked (a
programming error, which tests/test_injection.py and tests/test_sql_safety_diagnostics.py
catch before a user can).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from dataclasses import dataclass
from enum import Enum

from pgroll_dsl import ir
from pgroll_dsl.source import Span
from pgroll_dsl.sql.expressions import Context

FieldKey = tuple[type, str]
Text = ir.Ident | ir.SqlExpr | ir.SqlScript | ir.TypeName | str


class Use(Enum):
    """How a string of the IR becomes SQL."""

    IDENTIFIER = "identifier, always double-quoted by quote_ident"
    LITERAL = "string literal, quoted by quote_literal"
    TYPE = "column type, rendered by render_type from a parsed TypeName"
    SQL = "author SQL, parsed in its place and spliced verbatim"


@dataclass(frozen=True, slots=True)
class Leaf:
    """One string of an operation, where it is, and how it reaches SQL.

    ``context`` is set for ``Use.SQL`` (and ``Context.TYPE`` for types); ``role`` names the
    field in messages (``check``, ``up.email``, ``storage_parameters``).
    """

    owner: type
    field: str
    value: Text
    span: Span | None
    use: Use
    context: Context | None
    role: str


# Plain ``str`` fields have no type of their own to say how they are used: each is listed.
STRING_FIELDS: dict[FieldKey, tuple[Use, Context | None]] = {
    (ir.CreateTable, "comment"): (Use.LITERAL, None),
    (ir.Column, "comment"): (Use.LITERAL, None),
    (ir.AlterColumn, "comment"): (Use.LITERAL, None),
    (ir.IndexField, "collate"): (Use.SQL, Context.COLLATION),
    (ir.Exclude, "index_method"): (Use.SQL, Context.INDEX_METHOD),
}

# ``SqlExpr`` fields are expressions unless they are spliced somewhere else.
SQL_CONTEXTS: dict[FieldKey, Context] = {
    (ir.Identity, "sequence_options"): Context.SEQUENCE_OPTIONS,
    (ir.IndexParameters, "storage_parameters"): Context.STORAGE_PARAMETERS,
    (ir.CreateIndex, "storage_parameters"): Context.STORAGE_PARAMETERS,
    (ir.Exclude, "elements"): Context.EXCLUDE_ELEMENTS,
    (ir.OpClass, "params"): Context.OPCLASS_PARAMETER,
}

# How a field is named in messages when its IR name would read oddly.
_ROLES: dict[FieldKey, str] = {
    (ir.CheckConstraint, "constraint"): "check",
    (ir.Generated, "expression"): "generated",
    (ir.Identity, "sequence_options"): "sequence options",
    (ir.Exclude, "elements"): "exclude",
    (ir.OpClass, "params"): "opclass params",
}


def leaves(node: ir.Node, parent: str = "") -> Iterator[Leaf]:
    """Every string below ``node`` (an operation or part of one), in field order."""
    for field in dataclasses.fields(node):
        if field.name != "span":
            yield from _leaves_of(node, field.name, getattr(node, field.name), parent, node.span)


def _leaves_of(owner: ir.Node, name: str, value: object, parent: str, span: Span | None
               ) -> Iterator[Leaf]:
    key = (type(owner), name)
    role = _role(owner, name, parent)
    if value is None or isinstance(value, bool | Enum):
        return  # enums are closed sets: their SQL spelling is fixed by the planner
    if isinstance(value, tuple):
        for item in value:
            yield from _leaves_of(owner, name, item, parent, span)
    elif isinstance(value, ir.Change):
        yield from _leaves_of(owner, name, value.value, parent, value.span or span)
    elif isinstance(value, ir.Ident):
        yield Leaf(key[0], name, value, value.span, Use.IDENTIFIER, None, role)
    elif isinstance(value, ir.TypeName):
        yield Leaf(key[0], name, value, value.span, Use.TYPE, Context.TYPE, name)
    elif isinstance(value, ir.SqlScript):
        yield Leaf(key[0], name, value, value.span, Use.SQL, Context.SCRIPT, name)
    elif isinstance(value, ir.SqlExpr):
        context = SQL_CONTEXTS.get(key, Context.EXPRESSION)
        yield Leaf(key[0], name, value, value.span, Use.SQL, context, role)
    elif isinstance(value, str):
        if key not in STRING_FIELDS:
            raise TypeError(f"{key[0].__name__}.{name}: a str field that STRING_FIELDS does "
                            "not classify; say how it reaches SQL")
        use, where = STRING_FIELDS[key]
        point = span.at(span.line, span.col) if span is not None else None  # not the whole owner
        yield Leaf(key[0], name, value, point, use, where, role)
    elif isinstance(value, ir.Node):
        yield from leaves(value, name)
    else:
        raise TypeError(f"{key[0].__name__}.{name}: cannot walk a {type(value).__name__}")


def _role(owner: ir.Node, name: str, parent: str) -> str:
    if isinstance(owner, ir.ColumnSql) and name == "sql":
        return f"{parent}.{owner.column.name}"
    return _ROLES.get((type(owner), name), name.rstrip("_"))


def names(op: ir.Operation) -> Iterator[ir.Ident]:
    """Every identifier an operation mentions (each must be a valid PostgreSQL name)."""
    for leaf in leaves(op):
        if isinstance(leaf.value, ir.Ident):
            yield leaf.value
        elif isinstance(leaf.value, ir.TypeName) and leaf.value.schema is not None:
            yield leaf.value.schema

