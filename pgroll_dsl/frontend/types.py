"""Type names: the grammar's ``type_name`` parse tree -> ``ir.TypeName``.

Shared by the DSL and the pgroll front end (whose ``type`` strings are parsed with the same
rule), so a type means the same whichever syntax wrote it.
"""

from __future__ import annotations

from typing import Any

from lark import Token, Tree

from pgroll_dsl import ir
from pgroll_dsl.sql.type_names import canonical_spelling

# Multi-word spellings PostgreSQL's grammar knows; anything else with spaces is an error.
MULTIWORD_TYPES = frozenset(
    {
        "double precision",
        "character varying",
        "national character",
        "national character varying",
        "bit varying",
        "time with time zone",
        "time without time zone",
        "timestamp with time zone",
        "timestamp without time zone",
        *(
            f"interval {fields}"
            for fields in (
                "year", "month", "day", "hour", "minute", "second", "year to month",
                "day to hour", "day to minute", "day to second", "hour to minute",
                "hour to second", "minute to second",
            )
        ),
    }
)


class TypeNameError(ValueError):
    """A type that parses but names nothing PostgreSQL accepts in that spelling."""


def ident_text(token: Token) -> tuple[str, bool]:
    """Stored name of an identifier token and whether it was quoted (folding rule of PG)."""
    if token.type == "QUOTED_IDENT":
        return token[1:-1].replace('""', '"'), True
    return token.translate(_ASCII_LOWER), False


# PostgreSQL folds only ASCII letters of unquoted names in multi-byte encodings: Ärger stays.
_ASCII_LOWER = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz")


def build_type(tree: Tree[Any]) -> ir.TypeName:
    """Fold a ``type_name`` tree into a TypeName in its canonical spelling.

    Raises TypeNameError for a multi-word spelling PostgreSQL does not know.
    """
    words: list[tuple[str, bool]] = []
    schema: ir.Ident | None = None
    modifiers: tuple[str, ...] = ()
    dims: list[int | None] = []
    for child in tree.children:
        if not isinstance(child, Tree):
            continue
        if child.data == "type_word":
            tokens = [t for t in child.children if isinstance(t, Token)]
            if len(tokens) == 2:
                if words or schema is not None:
                    raise TypeNameError("a schema-qualified type name must stand alone")
                schema = ir.Ident(ident_text(tokens[0])[0])
            words.append(ident_text(tokens[-1]))
        elif child.data == "typmod":
            modifiers = tuple(str(t) for t in child.children if isinstance(t, Token))
        elif child.data == "array_dim":
            size = child.children[0] if child.children else None
            dims.append(int(size) if isinstance(size, Token) else None)
    if len(words) > 1:
        if any(quoted for _, quoted in words) or schema is not None:
            raise TypeNameError("quoted or qualified type names are a single word")
        joined = " ".join(word for word, _ in words)
        if joined not in MULTIWORD_TYPES:
            raise TypeNameError(f"unknown type name {joined!r}")
        name, modifiers = canonical_spelling(joined, modifiers)
        return ir.TypeName(name=name, modifiers=modifiers, array_dims=tuple(dims))
    name, quoted = words[0]
    if not quoted and schema is None:
        name, modifiers = canonical_spelling(name, modifiers)
    return ir.TypeName(
        name=name, quoted=quoted, schema=schema, modifiers=modifiers, array_dims=tuple(dims)
    )
