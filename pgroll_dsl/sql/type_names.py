"""Type names in PostgreSQL's own spelling (``format_type``).

A type written as ``int``, ``int4`` or ``integer`` then compares equal, and introspection
matches replay.
"""

from __future__ import annotations

from pgroll_dsl.ir import TypeName
from pgroll_dsl.sql.quoting import quote_type_name

# One spelling per type, whichever the author used: the short name PostgreSQL users write.
# The IR keeps only this spelling, so ``int`` and ``integer`` are equal everywhere and ``fmt``
# never lets two files spell one type two ways. ``bpchar`` stays: bare, it is unbounded,
# unlike ``char`` (which is ``char(1)``).
CANONICAL_SPELLING = {
    "integer": "int", "int4": "int", "int8": "bigint", "int2": "smallint",
    "serial4": "serial", "serial8": "bigserial", "serial2": "smallserial",
    "boolean": "bool", "decimal": "numeric", "float4": "real", "double precision": "float8",
    "character varying": "varchar", "national character varying": "varchar",
    "character": "char", "national character": "char", "bit varying": "varbit",
    "timestamp without time zone": "timestamp", "timestamp with time zone": "timestamptz",
    "time without time zone": "time", "time with time zone": "timetz",
}


def canonical_spelling(name: str, modifiers: tuple[str, ...]) -> tuple[str, tuple[str, ...]]:
    """The IR's spelling of an unquoted, unqualified type name (with its modifiers).

    ``float(p)`` is ``real`` up to 24 bits and ``float8`` above (PostgreSQL's rule).
    """
    if name == "float":
        if not modifiers:
            return "float8", ()
        if len(modifiers) == 1 and modifiers[0].isdigit() and 1 <= int(modifiers[0]) <= 53:
            return ("real" if int(modifiers[0]) <= 24 else "float8"), ()
        return name, modifiers  # out of range: left for PostgreSQL to reject as written
    return CANONICAL_SPELLING.get(name, name), modifiers


# The canonical spellings (and ``bpchar``) as ``format_type`` prints them.
_FORMAT_TYPE = {
    "int": "integer", "bigint": "bigint", "smallint": "smallint", "serial": "integer",
    "bigserial": "bigint", "smallserial": "smallint", "real": "real",
    "float8": "double precision", "numeric": "numeric", "bool": "boolean",
    "varchar": "character varying", "char": "character", "bpchar": "character",
    "timestamp": "timestamp without time zone", "timestamptz": "timestamp with time zone",
    "time": "time without time zone", "timetz": "time with time zone", "varbit": "bit varying",
}
_ALIASES = _FORMAT_TYPE | {
    alias: _FORMAT_TYPE[short] for alias, short in CANONICAL_SPELLING.items()
} | {spelled: spelled for spelled in _FORMAT_TYPE.values()}
SERIAL_TYPES = frozenset({"serial", "serial4", "bigserial", "serial8", "smallserial",
                          "serial2"})
_TIME_ZONE = (" with time zone", " without time zone")


def is_serial(type_: TypeName) -> bool:
    """``serial`` and friends: an integer column with an owned sequence and NOT NULL."""
    return type_.schema is None and not type_.quoted and type_.name in SERIAL_TYPES


def canonical_type(type_: TypeName, schema: str = "public") -> str:
    """The text ``format_type`` prints for this type (unqualified for the target schema).

    A type of another schema keeps its qualifier, as ``format_type`` prints it with only the
    target schema on the search path: ``other.mood`` is not the target schema's ``mood``.
    """
    if type_.quoted or type_.schema is not None:
        suffix = f"({','.join(type_.modifiers)})" if type_.modifiers else ""
        qualifier = ""
        if type_.schema is not None and type_.schema.name not in ("pg_catalog", schema):
            qualifier = quote_type_name(type_.schema.name) + "."
        return (qualifier + quote_type_name(type_.name) + suffix
                + ("[]" if type_.array_dims else ""))
    short, modifiers = canonical_spelling(type_.name, type_.modifiers)
    name = _ALIASES.get(short, short)
    if name == "character" and not modifiers:
        modifiers = ("1",)
    if name == "numeric" and len(modifiers) == 1:
        modifiers = (modifiers[0], "0")  # format_type spells numeric(10) as numeric(10,0)
    text = name
    if modifiers:
        mod = "(" + ",".join(modifiers) + ")"
        zone = next((z for z in _TIME_ZONE if name.endswith(z)), None)
        text = name[: -len(zone)] + mod + zone if zone else name + mod
    return text + ("[]" if type_.array_dims else "")


def format_type_alias(text: str) -> str:
    """Normalise a type spelling that came from SQL text (replay of raw ``sql``)."""
    return _ALIASES.get(text, text)
