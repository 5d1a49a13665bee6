"""Reading pglast nodes: names, lists, options and the columns an expression uses.

Every statement module needs the same small readings of the parse tree, in particular which
names are in the modelled schema (``local_name``, ``relation``): kept here once.
"""

from __future__ import annotations

from collections.abc import Iterator

from pglast import ast


def strings(items: object) -> tuple[str, ...]:
    """The ``sval`` of each ``String`` node of a pglast list (names, column lists)."""
    if not isinstance(items, tuple):
        return ()
    return tuple(item.sval for item in items if isinstance(item, ast.String) and item.sval)


def walk(value: object) -> Iterator[ast.Node]:
    """Every node of an expression tree, depth first."""
    if isinstance(value, ast.Node):
        yield value
        for attribute in value:
            yield from walk(getattr(value, attribute))
    elif isinstance(value, tuple):
        for item in value:
            yield from walk(item)


def column_refs(expression: object) -> tuple[str, ...]:
    """The distinct column names an expression refers to, in order of appearance."""
    names: dict[str, None] = {}
    for node in walk(expression):
        if isinstance(node, ast.ColumnRef) and isinstance(node.fields, tuple):
            last = node.fields[-1]
            if isinstance(last, ast.String) and last.sval:
                names[last.sval] = None
    return tuple(names)


def local_name(names: tuple[str, ...], schema: str) -> str | None:
    """The object name when ``names`` (``[schema.]name``) is in the modelled schema."""
    if not names or (len(names) > 1 and names[-2] != schema):
        return None
    return names[-1]


def relation(range_var: ast.RangeVar | None, schema: str) -> str | None:
    """A relation's name when it is in the modelled schema (temporary tables are not)."""
    if range_var is None or not range_var.relname or range_var.relpersistence == "t":
        return None
    if range_var.schemaname not in (None, schema):
        return None
    return range_var.relname


def foreign_table(range_var: ast.RangeVar | None) -> str:
    """A referenced table's name, without its schema (``foreign_schema``)."""
    if range_var is None or not range_var.relname:
        return ""
    return str(range_var.relname)


def foreign_schema(range_var: ast.RangeVar | None, schema: str) -> str | None:
    """A referenced table's schema where it is not the modelled one (``ForeignKey.schema``)."""
    if range_var is None or range_var.schemaname in (None, schema):
        return None
    return str(range_var.schemaname)


def option_named(options: object, name: str) -> ast.DefElem | None:
    """The ``DefElem`` of that name in an options list."""
    if not isinstance(options, tuple):
        return None
    return next((o for o in options if isinstance(o, ast.DefElem) and o.defname == name), None)
