"""A catalog's fingerprint: a stable hash over a canonical form, and what differs between two.

A saved plan (``plan -o``) records the canonical form of the catalog it was planned against
and its hash; ``start --plan`` introspects the live schema, and runs the plan only if the
live hash is the same, else it prints the differences (``drift``) and changes nothing.

The form covers the whole target schema, not only the tables the migration names: start
creates a view of *every* table in the new version schema, copies constraints and indexes
that other tables' foreign keys point at, and complete rebuilds views over tables the
migration never names, so any table of the schema can change the steps. It holds what the
``Catalog`` model holds (tables and partitions with their columns, constraints, indexes,
comments and replica identity; enum types; sequences) and nothing the planner does not read
(privileges, statistics, functions, the data). Names are keys, so a difference reads as a
path (``table users: column email: type``).

The same schema must give the same form whether it comes from replaying migration files or
from introspecting PostgreSQL, which stores its own spelling of an expression
(``length((name)::text) > 3`` for ``length(name) > 3``): expressions are parsed and printed
back by pglast with the casts PostgreSQL adds to constants and column references removed,
as ``catalog.compare`` compares them (``sql.expressions.normalized``). A cast of a column
is cosmetic only where PostgreSQL could have added it: from the column's type to one it
converts to implicitly (``varchar`` to ``text``, ``integer`` to ``numeric``). A narrowing one
(``amount::integer`` of a numeric, ``at::date`` of a timestamp) is the author's and changes
what the expression means, so it is kept, and a check changed only in it is drift.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import fields, is_dataclass
from datetime import datetime
from enum import Enum
from functools import lru_cache
from typing import Any

from pglast import ast, parse_sql
from pglast.enums.parsenodes import A_Expr_Kind
from pglast.enums.primnodes import BoolExprType
from pglast.parser import ParseError
from pglast.stream import RawStream

from pgroll_dsl.catalog.model import Catalog, InboundForeignKey, Index, Table
from pgroll_dsl.sql.quoting import quote_name

FORMAT = 2  # the version of the canonical form: part of what is hashed
_EXPRESSIONS = {"default", "expression", "predicate", "generated", "key"}
# Fields the model gained after this form's version, left out while at their default (None),
# so that a saved plan's form written before them still matches: ``ForeignKey.schema``.
_LATER = {"schema"}


def canonical(catalog: Catalog) -> dict[str, Any]:
    """The catalog as plain JSON values, independent of where it was read from.

    The schema's own name is left out: the plan records it with the options.
    """
    form = {
        "format": FORMAT,
        "tables": {t.name: _table(t) for t in sorted(catalog.tables, key=lambda t: t.name)},
        "enums": {e.name: list(e.labels) for e in sorted(catalog.enums, key=lambda e: e.name)},
        "sequences": {s.name: _value(s, skip={"name"})
                      for s in sorted(catalog.sequences, key=lambda s: s.name)},
    }
    if catalog.inbound:  # only where there are any: a form without them hashes as it did
        form[_INBOUND] = _inbound(catalog.inbound)
    return form


# Other schemas' foreign keys to this one (``Catalog.inbound``): a plan that rewrites a column
# one points at gives it a twin, so a plan made without seeing it (from a replayed schema) is
# not run where it is there.
_INBOUND = "inbound foreign keys"


def _inbound(keys: tuple[InboundForeignKey, ...]) -> dict[str, Any]:
    """Each key under ``name of schema.table``, ``validated`` left out as for the schema's own.

    Names are quoted where they need it, so that a dot in one is not taken for a separator.
    """
    return {f"{quote_name(k.constraint.name)} of {quote_name(k.schema)}.{quote_name(k.table)}":
            _value(k.constraint, skip={"name", "validated"})
            for k in sorted(keys, key=lambda k: (k.schema, k.table, k.constraint.name))}


def digest(value: Any) -> str:
    """``sha256:<hex>`` of a JSON value, keys sorted: the same value always hashes the same."""
    text = json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return "sha256:" + hashlib.sha256(text.encode()).hexdigest()


def fingerprint(catalog: Catalog) -> str:
    """The hash of the catalog's canonical form."""
    return digest(canonical(catalog))


def summary(form: dict[str, Any]) -> str:
    """A short description of a canonical form, for a plan file's header."""
    counts = [(len(form.get(key, {})), key.rstrip("s")) for key in ("tables", "enums",
                                                                       "sequences")]
    return ", ".join(f"{n} {what}{'' if n == 1 else 's'}" for n, what in counts)


def drift(planned: dict[str, Any], live: dict[str, Any]) -> list[str]:
    """What differs between two canonical forms, one readable line per difference.

    ``table users: column email: type text (planned) ≠ character varying(255) (live)``.
    """
    found: list[str] = []
    _diff(planned, live, [], found)
    return found


def _diff(planned: Any, live: Any, path: list[str], found: list[str],
          container: str = "") -> None:
    """Walk both forms; ``container`` names what the keys of this level are (``table``)."""
    if isinstance(planned, dict) and isinstance(live, dict):
        for key in sorted(planned.keys() | live.keys(), key=str):
            if key in _CONTAINERS:  # "tables": its keys are tables, no line of its own
                _diff(planned.get(key, {}), live.get(key, {}), path, found, _CONTAINERS[key])
                continue
            here = [*path, f"{container} {key}" if container else str(key)]
            if key not in live:
                found.append(f"{': '.join(here)}: planned, not in the live database")
            elif key not in planned:
                found.append(f"{': '.join(here)}: in the live database, not planned")
            else:
                _diff(planned[key], live[key], here, found)
        return
    if planned != live:
        found.append(f"{': '.join(path) or 'catalog'} {_show(planned)} (planned) ≠ "
                     f"{_show(live)} (live)")


_CONTAINERS = {"tables": "table", _INBOUND: "foreign key", "columns": "column",
               "constraints": "constraint", "indexes": "index", "enums": "enum",
               "sequences": "sequence"}


def _show(value: Any) -> str:
    """A value as the schema spells it: ``varchar(255)``, ``'a'::text``, ``(none)``."""
    if value is None:
        return "(none)"
    if isinstance(value, str):
        return value
    return json.dumps(value, ensure_ascii=False)


def _table(table: Table) -> dict[str, Any]:
    types = tuple(sorted((c.name, _internal(c.type)) for c in table.columns))
    form: dict[str, Any] = _value(table, skip={"name", "columns", "constraints", "indexes",
                                               "partition_by"}, types=types)
    form["column order"] = [c.name for c in table.columns]
    form["columns"] = {c.name: _value(c, skip={"name"}, types=types) for c in table.columns}
    # Whether a check or foreign key is validated changes no step: left out, so that a
    # constraint someone validated by hand (``VALIDATE CONSTRAINT`` outside any migration) is
    # not reported as drift, and the plan of such a history is not refused.
    form["constraints"] = {c.name: _value(c, skip={"name", "validated"}, types=types)
                           for c in sorted(table.constraints, key=lambda c: c.name)}
    form["indexes"] = {i.name: _index(i, types)
                       for i in sorted(table.indexes, key=lambda i: i.name)}
    form["partition by"] = (_canonical_sql(f"CREATE TABLE _ () PARTITION BY {table.partition_by}",
                                           "partspec", table.partition_by)
                            if table.partition_by is not None else None)
    return form


def _index(index: Index, types: _Types) -> Any:
    """An index; its expression keys (not a column's name) in canonical spelling too."""
    form = _value(index, skip={"name"}, types=types)
    names = {name for name, _ in types}
    form["columns"] = [key if key in names else canonical_expression(key, types)
                       for key in index.columns]
    return form


def _value(value: Any, skip: frozenset[str] | set[str] = frozenset(), name: str = "",
           types: _Types | None = None) -> Any:
    """A model value as JSON: dataclasses field by field, expressions in canonical spelling."""
    if is_dataclass(value) and not isinstance(value, type):
        return {f.name: _value(getattr(value, f.name), name=f.name, types=types)
                for f in fields(value) if f.name not in skip
                and not (f.name in _LATER and getattr(value, f.name) is None)}
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, tuple | list):
        return [_value(v, name=name, types=types) for v in value]
    if name in _EXPRESSIONS and isinstance(value, str):
        return canonical_expression(value, types)
    return value


_Types = tuple[tuple[str, str], ...]  # a table's columns and their types' internal names

# What PostgreSQL converts a type to implicitly, so a cast it may add to a column reference:
# (internal names, as pglast spells a cast's type). A type not listed: any cast is cosmetic.
_IMPLICIT = {
    "int2": {"int2", "int4", "int8", "numeric", "float4", "float8"},
    "int4": {"int4", "int8", "numeric", "float4", "float8"},
    "int8": {"int8", "numeric", "float4", "float8"},
    "numeric": {"numeric", "float4", "float8"},
    "float4": {"float4", "float8"},
    "float8": {"float8"},
    "text": {"text", "varchar", "bpchar"},
    "varchar": {"text", "varchar", "bpchar"},
    "bpchar": {"text", "varchar", "bpchar"},
    "date": {"date", "timestamp", "timestamptz"},
    "timestamp": {"timestamp", "timestamptz"},
    "timestamptz": {"timestamptz"},
}
_INTERNAL = {"smallint": "int2", "integer": "int4", "bigint": "int8", "real": "float4",
             "double precision": "float8", "character varying": "varchar",
             "character": "bpchar", "timestamp without time zone": "timestamp",
             "timestamp with time zone": "timestamptz"}


def _internal(spelling: str) -> str:
    """``format_type``'s spelling of a type as a cast's type name (``integer`` → ``int4``)."""
    if spelling.endswith("[]"):
        return spelling
    base = re.sub(r"\(\d+(,\s*\d+)?\)", "", spelling).strip()  # timestamp(3) with time zone
    return _INTERNAL.get(base, base)


def canonical_expression(text: str, types: _Types | None = None) -> str:
    """An expression printed back by pglast without PostgreSQL's cosmetic casts.

    ``types`` (the table's columns) tells a cosmetic cast of a column from a meaningful one;
    without it every cast of a column is taken as cosmetic.
    """
    return _canonical_sql(f"SELECT ({text})", "expression", text, types)


@lru_cache(maxsize=4096)
def _canonical_sql(statement: str, part: str, text: str, types: _Types | None = None) -> str:
    try:
        parsed: Any = parse_sql(statement)[0].stmt
    except ParseError:
        return text.strip()
    node = parsed.targetList[0].val if part == "expression" else parsed.partspec
    return str(RawStream()(_strip(node, dict(types) if types is not None else None)))


def _cosmetic(cast: Any, types: dict[str, str] | None) -> bool:
    """Whether PostgreSQL could have added this cast itself (see the module's docstring)."""
    if isinstance(cast.arg, ast.A_Const):
        return True
    if types is None:
        return True
    if cast.typeName.typmods or cast.typeName.arrayBounds:
        return False  # varchar(3): truncates
    fields_ = cast.arg.fields
    column = fields_[-1].sval if fields_ and isinstance(fields_[-1], ast.String) else None
    source = types.get(column) if column is not None else None
    if source is None or source not in _IMPLICIT:
        return True
    target = cast.typeName.names[-1].sval
    return target in _IMPLICIT[source]


def _stored_form(node: Any) -> Any:
    """An author's ``IN``, ``LIKE`` and ``BETWEEN`` as PostgreSQL stores them.

    ``c IN (1, 2)`` is stored as ``c = ANY (ARRAY[1, 2])`` (``NOT IN``: ``<> ALL``),
    ``c LIKE 'a%'`` as ``c ~~ 'a%'``, ``c BETWEEN 1 AND 9`` as ``c >= 1 AND c <= 9``
    (``NOT BETWEEN``: ``c < 1 OR c > 9``): the same expression, another spelling.
    """
    if node.kind == A_Expr_Kind.AEXPR_IN and isinstance(node.rexpr, tuple | list):
        quantifier = (A_Expr_Kind.AEXPR_OP_ANY if node.name[-1].sval == "="
                      else A_Expr_Kind.AEXPR_OP_ALL)
        return ast.A_Expr(kind=quantifier, name=node.name, lexpr=node.lexpr,
                          rexpr=ast.A_ArrayExpr(elements=tuple(node.rexpr)))
    if node.kind in (A_Expr_Kind.AEXPR_LIKE, A_Expr_Kind.AEXPR_ILIKE):
        return ast.A_Expr(kind=A_Expr_Kind.AEXPR_OP, name=node.name, lexpr=node.lexpr,
                          rexpr=node.rexpr)
    if node.kind in (A_Expr_Kind.AEXPR_BETWEEN, A_Expr_Kind.AEXPR_NOT_BETWEEN):
        low, high = node.rexpr
        inside = node.kind == A_Expr_Kind.AEXPR_BETWEEN

        def side(op: str, bound: Any) -> Any:
            return ast.A_Expr(kind=A_Expr_Kind.AEXPR_OP, name=(ast.String(sval=op),),
                              lexpr=node.lexpr, rexpr=bound)
        return ast.BoolExpr(boolop=BoolExprType.AND_EXPR if inside else BoolExprType.OR_EXPR,
                            args=(side(">=" if inside else "<", low),
                                  side("<=" if inside else ">", high)))
    return node


# Date and time types whose literals PostgreSQL stores as values and prints back in its own
# form (see ``_as_printed``).
_MOMENTS = {"timestamptz", "timestamp", "date"}


def _as_printed(cast: Any) -> Any:
    """A date or time literal as its wall-clock time, as PostgreSQL's print of it reads.

    ``'2020-01-01'::timestamptz`` in a check or default is stored as the value, and printed
    back as ``'2020-01-01 00:00:00+00'``, with the offset of the TimeZone of the session
    that reads it (the same midnight, the one the session that made it meant, where both
    have one TimeZone): the author's text and the server's are compared by the date and
    time they say, the offset left out. A literal that does not read as one (``now``,
    another DateStyle) is left as written.
    """
    value = cast.arg.val
    if cast.typeName.names[-1].sval not in _MOMENTS or not isinstance(value, ast.String):
        return cast
    try:
        moment = datetime.fromisoformat((value.sval or "").strip())
    except ValueError:
        return cast
    text = moment.replace(tzinfo=None).isoformat(sep=" ")
    return ast.TypeCast(arg=ast.A_Const(val=ast.String(sval=text)), typeName=cast.typeName)


def _strip(node: Any, types: dict[str, str] | None = None) -> Any:
    """The tree without cosmetic casts, in the forms PostgreSQL stores (``_stored_form``)."""
    if isinstance(node, ast.A_Expr):
        node = _stored_form(node)
    if isinstance(node, ast.TypeCast) and isinstance(node.arg, ast.A_Const):
        node = _as_printed(node)
    if (isinstance(node, ast.TypeCast) and isinstance(node.arg, ast.A_Const | ast.ColumnRef)
            and _cosmetic(node, types)):
        return _strip(node.arg, types)
    if isinstance(node, ast.TypeCast) and isinstance(node.arg, ast.A_ArrayExpr):
        array = _strip(node.arg, types)  # ARRAY['a', 'b']::text[]: the type of its constants
        if all(isinstance(e, ast.A_Const) for e in array.elements or ()):
            return array
        node.arg = array
    if isinstance(node, ast.Node):
        for attribute in node:
            setattr(node, attribute, _strip(getattr(node, attribute), types))
        return node
    if isinstance(node, tuple):
        return tuple(_strip(n, types) for n in node)
    if isinstance(node, list):
        return [_strip(n, types) for n in node]
    return node


__all__ = ["FORMAT", "canonical", "canonical_expression", "digest", "drift", "fingerprint",
           "summary"]
