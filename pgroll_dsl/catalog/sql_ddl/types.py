"""Column types: a pglast ``TypeName`` in PostgreSQL's ``format_type`` spelling.

The model compares types as text, so a type written in SQL must read exactly as the DSL's
``canonical_type`` and introspection write it; ``canonical_type`` does the spelling wherever
the SQL node can be turned into the DSL's type name.
"""

from __future__ import annotations

from pglast import ast

from pgroll_dsl import ir
from pgroll_dsl.catalog.sql_ddl.lookup import CannotReplay
from pgroll_dsl.catalog.sql_ddl.nodes import strings
from pgroll_dsl.sql.quoting import quote_type_name
from pgroll_dsl.sql.spans import regenerated
from pgroll_dsl.sql.type_names import SERIAL_TYPES, canonical_type, format_type_alias

_INTERVAL_FIELDS = {
    4: "year", 2: "month", 8: "day", 1024: "hour", 2048: "minute", 4096: "second",
    6: "year to month", 1032: "day to hour", 3080: "day to minute", 7176: "day to second",
    3072: "hour to minute", 7168: "hour to second", 6144: "minute to second",
}


def _modifier(node: object) -> str:
    match node:
        case ast.A_Const(val=ast.Integer(ival=value)):
            return str(value)
        case ast.A_Const(val=ast.Float(fval=value)) | ast.A_Const(val=ast.String(sval=value)):
            return str(value)
        case ast.ColumnRef():
            return ".".join(strings(node.fields))
        case ast.Node():
            return regenerated(node) or ""
        case _:
            return str(node)


def _interval(modifiers: tuple[str, ...]) -> str:
    """``format_type`` of an interval: its fields, then its precision."""
    fields = _INTERVAL_FIELDS.get(int(modifiers[0])) if modifiers else None
    text = f"interval {fields}" if fields else "interval"
    return text + (f"({modifiers[1]})" if len(modifiers) > 1 else "")


def type_text(type_name: ast.TypeName | None, schema: str) -> str:
    """A column type in PostgreSQL's ``format_type`` spelling, as ``canonical_type`` gives."""
    if type_name is None or type_name.pct_type or type_name.setof:
        raise CannotReplay("%TYPE and SETOF column types are not replayed")
    qualified = strings(type_name.names)
    if not qualified:
        raise CannotReplay("a column type without a name is not replayed")
    name, namespace = qualified[-1], qualified[-2] if len(qualified) > 1 else None
    modifiers = tuple(_modifier(m) for m in type_name.typmods or ())
    dims = tuple(None if b.ival == -1 else b.ival for b in type_name.arrayBounds or ())
    array = "[]" if dims else ""
    if namespace == "pg_catalog" and name == "interval":
        return _interval(modifiers) + array
    if namespace not in (None, "pg_catalog", schema):
        suffix = f"({','.join(modifiers)})" if modifiers else ""
        return f"{quote_type_name(namespace or '')}.{quote_type_name(name)}{suffix}{array}"
    if namespace is None and name in ("char", "bpchar") and not modifiers:
        return ('"char"' if name == "char" else name) + array  # only a quoted name gets here
    builtin = namespace == "pg_catalog" or format_type_alias(name) != name
    return canonical_type(ir.TypeName(name=name, quoted=not builtin, modifiers=modifiers,
                                      array_dims=dims))


def is_serial_type(type_name: ast.TypeName | None) -> bool:
    """``serial`` and friends: an integer column with its own sequence, NOT NULL."""
    if type_name is None or type_name.arrayBounds:
        return False
    names = strings(type_name.names)
    return len(names) == 1 and names[0] in SERIAL_TYPES
