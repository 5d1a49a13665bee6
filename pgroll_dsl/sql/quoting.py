"""The only place that turns names, types and strings into SQL (or DSL) text.

Identifiers are always double-quoted in SQL (exact case, no keyword table to keep in sync).
The DSL emitter asks for the minimal quoting a reader expects instead (``quote_name``).
"""

from __future__ import annotations

import re
from collections.abc import Collection

from pgroll_dsl.ir import TypeName

# PostgreSQL's reserved keywords (plus type/function-name ones): as bare names they are
# syntax errors or mean something else (``user`` is CURRENT_USER), so they are quoted.
RESERVED_WORDS = frozenset(
    """all analyse analyze and any array as asc asymmetric authorization binary both case cast
    check collate collation column concurrently constraint create cross current_catalog
    current_date current_role current_schema current_time current_timestamp current_user default
    deferrable desc distinct do else end except false fetch for foreign freeze from full grant
    group having ilike in initially inner intersect into is isnull join lateral leading left like
    limit localtime localtimestamp natural not notnull null offset on only or order outer
    overlaps placing primary references returning right select session_user similar some
    symmetric system_user table tablesample then to trailing true union unique user using
    variadic verbose when where window with""".split()
)

_SIMPLE_WORD = re.compile(r"[a-z_][a-z0-9_$]*\Z")
# Types whose modifier sits after the first word: timestamp(3) with time zone.
_MODIFIER_AFTER_FIRST_WORD = re.compile(r"(time|timestamp) with(out)? time zone\Z")


def quote_ident(name: str) -> str:
    """Always double-quote: exact case, and no keyword table to keep in sync."""
    if "\x00" in name:
        raise ValueError("identifier contains a NUL byte")
    return '"' + name.replace('"', '""') + '"'


def quote_name(name: str, keywords: Collection[str] = ()) -> str:
    """Quote only when PostgreSQL would otherwise fold or misread the name."""
    if _SIMPLE_WORD.match(name) and name not in keywords and name not in RESERVED_WORDS:
        return name
    return quote_ident(name)


def is_column_copy(text: str, column: str) -> bool:
    """True when ``text`` is just a reference to ``column``: "copy the value unchanged"."""
    text = text.strip()
    return text == quote_ident(column) or (text == column and quote_name(column) == column)


def quote_literal(value: str) -> str:
    """Standard SQL string literal; plans pin ``standard_conforming_strings = on``."""
    if "\x00" in value:
        raise ValueError("string literal contains a NUL byte")
    return "'" + value.replace("'", "''") + "'"


def dollar_quote(body: str, tag: str = "pgroll") -> str:
    """``$tag$body$tag$`` with a tag that does not occur in the body.

    A name like ``a$pgroll$b`` or a string in an author's expression could otherwise end a
    function body or DO block early; the first of ``tag``, ``tag_1``, ``tag_2``, ... that the
    body does not contain is used.
    """
    chosen, n = tag, 0
    while f"${chosen}$" in body or body.endswith(f"${chosen}"):
        n += 1
        chosen = f"{tag}_{n}"
    return f"${chosen}${body}${chosen}$"


def do_block(body: str) -> str:
    """``DO $pgroll$ BEGIN ... END $pgroll$`` around statements (one per line, ``;`` ended)."""
    return "DO " + dollar_quote(f"\nBEGIN\n{body}\nEND\n")


def render_type(type_: TypeName, keywords: Collection[str] = ()) -> str:
    """Type keywords stay bare (``"int"`` names no type); anything unusual is quoted."""
    if type_.quoted:
        name = quote_ident(type_.name)
    elif " " in type_.name:
        name = type_.name  # one of the closed list of multi-word spellings
    else:
        name = quote_name(type_.name, keywords)
    if type_.schema is not None:
        name = f"{quote_name(type_.schema.name, keywords)}.{name}"
    if type_.modifiers:
        modifiers = "(" + ",".join(type_.modifiers) + ")"
        if _MODIFIER_AFTER_FIRST_WORD.match(name):
            first, rest = name.split(" ", 1)
            name = f"{first}{modifiers} {rest}"
        else:
            name += modifiers
    return name + "".join(f"[{d}]" if d is not None else "[]" for d in type_.array_dims)
