"""Index keys, storage parameters and exclusion elements, spelled one way whatever the source.

Introspection, replay of operations and replay of raw SQL all describe indexes, and a plan
rebuilds them from the model; the three only agree, and a rebuilt index is only the one a
plain ``ALTER TABLE`` would give, when each spells an index as PostgreSQL does:

* **Options** (``WITH (...)`` and operator class parameters) as ``name=value`` strings, the
  way ``pg_class.reloptions`` and ``pg_attribute.attoptions`` store them: the name folded,
  the value as ``defGetString`` gives it (``fillfactor = '70'`` is ``fillfactor=70``, a bare
  ``fastupdate`` is ``fastupdate=true``).
* **Names** of collations and operator classes in SQL spelling, qualified only outside the
  target schema and ``pg_catalog`` (what ``search_path`` makes visible to introspection).
* **Operator classes** only when they are not the default for the key's type, as
  ``pg_get_indexdef`` prints them; replay drops a default one the author spelled out using a
  table of PostgreSQL's built-in defaults (``_DEFAULT_OPCLASSES``).

pglast (PostgreSQL's own parser) reads every one of these from text, so introspection (which
parses ``pg_get_indexdef`` for the names) and replay share one reading of an index element.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from pglast import ast, parse_sql, parser
from pglast.enums import SortByDir, SortByNulls

from pgroll_dsl.catalog.model import ExclusionElement, KeyOptions
from pgroll_dsl.ir import NullsOrder, SortOrder
from pgroll_dsl.sql.quoting import quote_ident, quote_literal, quote_name
from pgroll_dsl.sql.spans import Source, TokenSpan, element_text, regenerated

# ---- names -----------------------------------------------------------------------------

_NAME_PART = re.compile(r'"((?:[^"]|"")+)"|([^".\s]+)')
_CATALOG_SCHEMA = "pg_catalog"


def spelled_name(parts: Iterable[str], schema: str) -> str:
    """SQL spelling of a possibly qualified name; qualified only outside the search path."""
    names = list(parts)
    if len(names) > 1 and names[-2] in (schema, _CATALOG_SCHEMA):
        names = names[-1:]
    return ".".join(quote_name(n) for n in names)


def name_parts(text: str) -> tuple[str, ...]:
    """The parts of a dotted SQL name, unquoted (quoted parts kept, bare ones folded).

    Raises:
        ValueError: ``text`` is not a (possibly qualified) name.
    """
    parts = []
    position = 0
    while True:
        match = _NAME_PART.match(text, position)
        if match is None:
            raise ValueError(f"not a name: {text!r}")
        quoted, bare = match.groups()
        parts.append(quoted.replace('""', '"') if quoted is not None else _fold(bare))
        position = match.end()
        if position == len(text):
            return tuple(parts)
        if text[position] != ".":
            raise ValueError(f"not a name: {text!r}")
        position += 1


def _fold(word: str) -> str:
    """PostgreSQL folds only ASCII letters of an unquoted name."""
    return "".join(c.lower() if "A" <= c <= "Z" else c for c in word)


def name_sql(text: str) -> str:
    """A model name (SQL spelling) as SQL, every part through ``quote_ident``."""
    return ".".join(quote_ident(part) for part in name_parts(text))


def author_name(text: str, schema: str) -> str:
    """The model's spelling of a name as an author wrote it (``C`` folds, ``"C"`` does not)."""
    try:
        return spelled_name(name_parts(text.strip()), schema)
    except ValueError:
        return text.strip()  # PostgreSQL rejects it; the model keeps what was written


# ---- options ---------------------------------------------------------------------------


def option_strings(elements: object) -> tuple[str, ...]:
    """``name=value`` of each ``DefElem`` of a pglast list, as PostgreSQL stores it."""
    if not isinstance(elements, tuple):
        return ()
    return tuple(f"{e.defname}={_option_value(e.arg)}" for e in elements
                 if isinstance(e, ast.DefElem) and e.defname)


def _option_value(arg: object) -> str:
    """PostgreSQL's ``defGetString``: what ``reloptions`` records for a value."""
    match arg:
        case None:
            return "true"
        case ast.Integer():
            return str(arg.ival)
        case ast.Float():
            return str(arg.fval)
        case ast.Boolean():
            return "true" if arg.boolval else "false"
        case ast.String():
            return str(arg.sval)
        case ast.TypeName():
            return ".".join(str(n.sval) for n in arg.names or () if isinstance(n, ast.String))
        case _:
            return str(arg)


def parse_options(text: str | None) -> tuple[str, ...]:
    """``fillfactor = 70, fastupdate`` (the inside of ``WITH (...)``) as stored options.

    Text that does not parse is kept as one item: PostgreSQL refuses it, and the model
    should not pretend it knows better.
    """
    if text is None or not text.strip():
        return ()
    try:
        statement = parse_sql(f"CREATE INDEX i ON t (c) WITH ({text})")[0].stmt
    except parser.ParseError:
        return (text.strip(),)
    assert isinstance(statement, ast.IndexStmt)
    return option_strings(statement.options)


def options_sql(options: tuple[str, ...]) -> str:
    """Stored options as SQL: ``fillfactor = '70'`` (PostgreSQL reads every value as text)."""
    rendered = []
    for option in options:
        name, sep, value = option.partition("=")
        if not sep:
            raise ValueError(f"an option is name=value, not {option!r}")
        rendered.append(f"{quote_name(name)} = {quote_literal(value)}")
    return ", ".join(rendered)


# ---- keys ------------------------------------------------------------------------------

_SORT = {SortByDir.SORTBY_DESC: SortOrder.DESC}
_NULLS = {SortByNulls.SORTBY_NULLS_FIRST: NullsOrder.FIRST,
          SortByNulls.SORTBY_NULLS_LAST: NullsOrder.LAST}


def element_options(element: ast.IndexElem, schema: str) -> KeyOptions:
    """The options of one parsed index element (``COLLATE``, operator class, order)."""
    collation = element.collation
    opclass = element.opclass
    return KeyOptions(
        collation=spelled_name(_strings(collation), schema) if collation else None,
        opclass=spelled_name(_strings(opclass), schema) if opclass else None,
        opclass_params=option_strings(element.opclassopts),
        sort=_SORT.get(element.ordering, SortOrder.ASC),  # type: ignore[arg-type]
        nulls=_NULLS.get(element.nulls_ordering),  # type: ignore[arg-type]
    )


def _strings(items: object) -> list[str]:
    if not isinstance(items, tuple):
        return []
    return [str(item.sval) for item in items if isinstance(item, ast.String)]


def key_sql(options: KeyOptions) -> str:
    """What follows a key in ``CREATE INDEX`` (with a leading space), or ``""``."""
    text = ""
    if options.collation is not None:
        text += f" COLLATE {name_sql(options.collation)}"
    if options.opclass is not None:
        text += f" {name_sql(options.opclass)}"
        if options.opclass_params:
            text += f" ({options_sql(options.opclass_params)})"
    if options.sort is SortOrder.DESC:
        text += " DESC"
    if options.nulls is not None:
        text += f" NULLS {options.nulls.value}"
    return text


# PostgreSQL's default operator class per access method and input type (pg_opclass where
# opcdefault), for built-in types in format_type spelling; the any* entries are the
# polymorphic ones (arrays, enums, ranges). Generated from PostgreSQL 18's catalog.
_DEFAULT_OPCLASSES: dict[str, dict[str, str]] = {
    "brin": {
        "anyrange": "range_inclusion_ops", "bigint": "int8_minmax_ops", "bit": "bit_minmax_ops",
        "bit varying": "varbit_minmax_ops", "box": "box_inclusion_ops",
        "bytea": "bytea_minmax_ops", "character": "bpchar_minmax_ops",
        "date": "date_minmax_ops", "double precision": "float8_minmax_ops",
        "inet": "inet_inclusion_ops", "integer": "int4_minmax_ops",
        "interval": "interval_minmax_ops", "macaddr": "macaddr_minmax_ops",
        "macaddr8": "macaddr8_minmax_ops", "numeric": "numeric_minmax_ops",
        "real": "float4_minmax_ops", "smallint": "int2_minmax_ops", "text": "text_minmax_ops",
        "time with time zone": "timetz_minmax_ops", "time without time zone": "time_minmax_ops",
        "timestamp with time zone": "timestamptz_minmax_ops",
        "timestamp without time zone": "timestamp_minmax_ops", "uuid": "uuid_minmax_ops",
    },
    "btree": {
        "anyarray": "array_ops", "anyenum": "enum_ops", "anymultirange": "multirange_ops",
        "anyrange": "range_ops", "bigint": "int8_ops", "bit": "bit_ops",
        "bit varying": "varbit_ops", "boolean": "bool_ops", "bytea": "bytea_ops",
        "character": "bpchar_ops", "date": "date_ops", "double precision": "float8_ops",
        "inet": "inet_ops", "integer": "int4_ops", "interval": "interval_ops",
        "jsonb": "jsonb_ops", "macaddr": "macaddr_ops", "macaddr8": "macaddr8_ops",
        "numeric": "numeric_ops", "real": "float4_ops", "smallint": "int2_ops",
        "text": "text_ops", "time with time zone": "timetz_ops",
        "time without time zone": "time_ops", "timestamp with time zone": "timestamptz_ops",
        "timestamp without time zone": "timestamp_ops", "tsquery": "tsquery_ops",
        "tsvector": "tsvector_ops", "uuid": "uuid_ops",
    },
    "gin": {"anyarray": "array_ops", "jsonb": "jsonb_ops", "tsvector": "tsvector_ops"},
    "gist": {
        "anymultirange": "multirange_ops", "anyrange": "range_ops", "box": "box_ops",
        "circle": "circle_ops", "point": "point_ops", "polygon": "poly_ops",
        "tsquery": "tsquery_ops", "tsvector": "tsvector_ops",
    },
    "hash": {
        "anyarray": "array_ops", "anyenum": "enum_ops", "anymultirange": "multirange_ops",
        "anyrange": "range_ops", "bigint": "int8_ops", "boolean": "bool_ops",
        "bytea": "bytea_ops", "character": "bpchar_ops", "date": "date_ops",
        "double precision": "float8_ops", "inet": "inet_ops", "integer": "int4_ops",
        "interval": "interval_ops", "jsonb": "jsonb_ops", "macaddr": "macaddr_ops",
        "macaddr8": "macaddr8_ops", "numeric": "numeric_ops", "real": "float4_ops",
        "smallint": "int2_ops", "text": "text_ops", "time with time zone": "timetz_ops",
        "time without time zone": "time_ops", "timestamp with time zone": "timestamptz_ops",
        "timestamp without time zone": "timestamp_ops", "uuid": "uuid_ops",
    },
    "spgist": {
        "anyrange": "range_ops", "box": "box_ops", "inet": "inet_ops",
        "point": "quad_point_ops", "polygon": "poly_ops", "text": "text_ops",
    },
}
# Types without a default of their own that use one of a binary-compatible type.
_BINARY_COMPATIBLE = {"character varying": "text", "cidr": "inet"}
_RANGES = frozenset({"int4range", "int8range", "numrange", "tsrange", "tstzrange", "daterange"})
_MULTIRANGES = frozenset(r.replace("range", "multirange") for r in _RANGES)
_MODIFIERS = re.compile(r"\([^)]*\)")


def default_opclass(method: str, key_type: str, enums: Iterable[str] = ()) -> str | None:
    """PostgreSQL's default operator class of ``method`` for a column of ``key_type``.

    ``key_type`` is in format_type spelling (``character varying(255)``, ``integer[]``);
    ``enums`` are the names of the schema's enum types. ``None`` when the type is not one
    this table knows.
    """
    defaults = _DEFAULT_OPCLASSES.get(method, {})
    if key_type.endswith("]"):
        return defaults.get("anyarray")
    base = _MODIFIERS.sub("", key_type)
    if base in enums:
        return defaults.get("anyenum")
    if base in _RANGES:
        return defaults.get("anyrange")
    if base in _MULTIRANGES:
        return defaults.get("anymultirange")
    return defaults.get(_BINARY_COMPATIBLE.get(base, base))


def without_default_opclass(options: KeyOptions, method: str, key_type: str | None,
                            enums: Iterable[str] = ()) -> KeyOptions:
    """Drop an operator class the author spelled out that is the default anyway.

    PostgreSQL does not record the difference (``pg_get_indexdef`` leaves it out); keeping it
    would make replay and introspection disagree about the same index.
    """
    opclass = options.opclass
    if opclass is None or options.opclass_params or key_type is None:
        return options
    if opclass != default_opclass(method, key_type, enums):
        return options
    return KeyOptions(collation=options.collation, sort=options.sort, nulls=options.nulls)


def without_default_collation(options: KeyOptions) -> KeyOptions:
    """``COLLATE "default"`` on a column of the default collation says nothing.

    The model does not hold column collations, so every column is taken to have the
    default one.
    """
    if options.collation != quote_name("default"):
        return options
    return KeyOptions(opclass=options.opclass, opclass_params=options.opclass_params,
                      sort=options.sort, nulls=options.nulls)


# ---- exclusion elements ----------------------------------------------------------------

_OPERATOR = re.compile(r"[+\-*/<>=~!@#%^&|`?]{1,63}")
_QUALIFIED_OPERATOR = re.compile(r"OPERATOR\((.+)\.([+\-*/<>=~!@#%^&|`?]{1,63})\)")


def spelled_operator(parts: Iterable[str], schema: str) -> str:
    """An operator as ``pg_get_constraintdef`` prints it: bare, or ``OPERATOR(s.op)``."""
    names = list(parts)
    if len(names) > 1 and names[-2] not in (schema, _CATALOG_SCHEMA):
        return f"OPERATOR({quote_name(names[-2])}.{names[-1]})"
    return names[-1] if names else ""


def operator_sql(operator: str) -> str:
    """A model operator as SQL, its schema through ``quote_ident``.

    Raises:
        ValueError: ``operator`` is not an operator (a snapshot is not trusted blindly).
    """
    if _OPERATOR.fullmatch(operator):
        return operator
    qualified = _QUALIFIED_OPERATOR.fullmatch(operator)
    if qualified is None:
        raise ValueError(f"not an operator: {operator!r}")
    return f"OPERATOR({name_sql(qualified.group(1))}.{qualified.group(2)})"


def exclusion_elements(elements: str, schema: str) -> tuple[ExclusionElement, ...]:
    """The elements of ``EXCLUDE (<elements>)``, one by one; ``()`` if they do not parse.

    A key is a column name, or the author's text of an expression (as ``Index.columns``
    holds it for an expression index). Operator classes are kept as written, even a default
    one: replay cannot tell the type of every key.
    """
    text = f"ALTER TABLE t ADD EXCLUDE ({elements})"
    try:
        statement = parse_sql(text)[0].stmt
    except parser.ParseError:
        return ()
    assert isinstance(statement, ast.AlterTableStmt)
    command = statement.cmds[0] if statement.cmds else None
    node = command.def_ if isinstance(command, ast.AlterTableCmd) else None
    if not isinstance(node, ast.Constraint) or not node.exclusions:
        return ()
    source = Source.of(text)
    whole = TokenSpan(source, 0, len(source.tokens))
    group = whole.group(0)
    pieces = whole.part(group[0] + 1, group[1]).pieces() if group is not None else []
    if len(pieces) != len(node.exclusions):
        pieces = []
    found = []
    for number, (element, operator) in enumerate(node.exclusions):
        key = element.name or (element_text(pieces[number]) if pieces else None)
        found.append(ExclusionElement(
            key=key or regenerated(element.expr) or "",
            operator=spelled_operator(_strings(operator), schema),
            options=without_default_collation(element_options(element, schema)),
        ))
    return tuple(found)


def exclusion_sql(element: ExclusionElement, key: str) -> str:
    """One element of ``EXCLUDE (...)``: ``key`` (already SQL), its options, its operator."""
    return f"{key}{key_sql(element.options)} WITH {operator_sql(element.operator)}"
