"""Type names in PostgreSQL's own spelling (``format_type``).

A type written as ``int``, ``int4`` or ``integer`` then compares equal, and introspection
matches replay.
"""

from __future__ import annotations

from pgroll_dsl.ir import TypeName
from pgroll_dsl.sql.quoting import quote_name

_ALIASES = {
    "int": "integer", "int4": "integer", "integer": "integer", "serial": "integer",
    "serial4": "integer", "int8": "bigint", "bigint": "bigint", "bigserial": "bigint",
    "serial8": "bigint", "int2": "smallint", "smallint": "smallint", "smallserial": "smallint",
    "serial2": "smallint", "float8": "double precision", "double precision": "double precision",
    "float4": "real", "real": "real", "decimal": "numeric", "numeric": "numeric",
    "bool": "boolean", "boolean": "boolean", "varchar": "character varying",
    "character varying": "character varying", "char": "character", "character": "character",
    "bpchar": "character", "timestamp": "timestamp without time zone",
    "timestamp without time zone": "timestamp without time zone",
    "timestamptz": "timestamp with time zone",
    "timestamp with time zone": "timestamp with time zone",
    "time": "time without time zone", "time without time zone": "time without time zone",
    "timetz": "time with time zone", "time with time zone": "time with time zone",
    "varbit": "bit varying", "bit varying": "bit varying",
}
SERIAL_TYPES = frozenset({"serial", "serial4", "bigserial", "serial8", "smallserial",
                          "serial2"})
_TIME_ZONE = (" with time zone", " without time zone")


def is_serial(type_: TypeName) -> bool:
    """``serial`` and friends: an integer column with an owned sequence and NOT NULL."""
    return type_.schema is None and not type_.quoted and type_.name in SERIAL_TYPES


def canonical_type(type_: TypeName) -> str:
    """The text ``format_type`` prints for this type (unqualified for the target schema)."""
    if type_.quoted or type_.schema is not None:
        suffix = f"({','.join(type_.modifiers)})" if type_.modifiers else ""
        return quote_name(type_.name) + suffix + ("[]" if type_.array_dims else "")
    name = _ALIASES.get(type_.name, type_.name)
    modifiers = type_.modifiers
    if name == "character" and not modifiers:
        modifiers = ("1",)
    if name == "numeric" and len(modifiers) == 1:
        modifiers = (modifiers[0], "0")  # format_type spells numeric(10) as numeric(10,0)
    if type_.name == "float" and modifiers:
        name = "real" if int(modifiers[0]) <= 24 else "double precision"
        modifiers = ()
    elif type_.name == "float":
        name = "double precision"
    text = name
    if modifiers:
        mod = "(" + ",".join(modifiers) + ")"
        zone = next((z for z in _TIME_ZONE if name.endswith(z)), None)
        text = name[: -len(zone)] + mod + zone if zone else name + mod
    return text + ("[]" if type_.array_dims else "")


def format_type_alias(text: str) -> str:
    """Normalise a type spelling that came from SQL text (replay of raw ``sql``)."""
    return _ALIASES.get(text, text)
