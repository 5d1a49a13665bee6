"""The only place that turns names, types and strings into SQL (or DSL) text.

Identifiers are always double-quoted in SQL (exact case, no keyword table to keep in sync).
The DSL emitter asks for the minimal quoting a reader expects instead (``quote_name``).
"""

from __future__ import annotations

import re
from collections.abc import Collection, Sequence

from pglast.keywords import COL_NAME_KEYWORDS, RESERVED_KEYWORDS, TYPE_FUNC_NAME_KEYWORDS

from pgroll_dsl.ir import TypeName

# Keywords that cannot be a bare column or table name (the grammar's ColId: an identifier, an
# unreserved or a column-name keyword), taken from PostgreSQL's own kwlist.h through pglast:
# reserved ones (``select``, ``user``: a syntax error, or CURRENT_USER) and type/function-name
# ones (``left``, ``join``). Column-name keywords (``position``, ``int``) are valid column and
# table names, so they stay bare; tests/test_quoting.py proves both for every keyword.
RESERVED_WORDS = frozenset(RESERVED_KEYWORDS | TYPE_FUNC_NAME_KEYWORDS)
# Where a type name goes, a column-name keyword is read as the built-in type it names
# (``int``, ``position`` would be a syntax error): a user's type of that name is quoted, as
# PostgreSQL's own quote_ident and format_type quote it.
_TYPE_KEYWORDS = frozenset(RESERVED_WORDS | COL_NAME_KEYWORDS)

_SIMPLE_WORD = re.compile(r"[a-z_][a-z0-9_$]*\Z")
# PostgreSQL's quote_ident (and so format_type) leaves only these bare; a ``$`` it quotes.
_BARE_FOR_QUOTE_IDENT = re.compile(r"[a-z_][a-z0-9_]*\Z")
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


def search_path_option(schemas: Sequence[str], given: object = None) -> str:
    """The value of libpq's ``options`` that makes ``schemas`` a connection's ``search_path``.

    Each name quoted where PostgreSQL would misread it, then spaces and backslashes escaped
    as libpq's ``options`` wants. ``given``: the connection's own ``options`` (a
    ``statement_timeout``...), kept before it; of two ``search_path`` settings the server
    takes the last, so ``schemas`` win.
    """
    value = ",".join(quote_name(name) for name in schemas)
    option = "-c search_path=" + value.replace("\\", "\\\\").replace(" ", "\\ ")
    return f"{given} {option}" if isinstance(given, str) and given.strip() else option


def quote_type_name(name: str) -> str:
    """A user-defined type's name (or its schema's) as format_type spells it.

    Quoted when it is a keyword other than an unreserved one, when it would fold, or when it
    holds a ``$`` (legal bare, but quoted by the server's quote_ident): a replayed catalog must
    spell a type exactly as an introspected one does, or the two compare unequal.
    """
    if _BARE_FOR_QUOTE_IDENT.match(name) and name not in _TYPE_KEYWORDS:
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
