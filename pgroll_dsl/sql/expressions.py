"""Checks author-written SQL with PostgreSQL's own parser (pglast); never regenerates it.

Each place author SQL is spliced into has a :class:`Context`: a wrapper statement with a slot
where the text goes, exactly as the planner splices it. Text is accepted only if the wrapped
statement parses as one statement, the text opens every parenthesis it closes (so ``)`` or
``;`` cannot end the slot early: that is what stops ``1); drop table users; --``), a comment
at its end does not swallow what follows, and the parse tree outside the slot is the tree of
a known-good sample: the text changed nothing but its slot. Problems carry an offset into the
author's text so the caller can point at the exact character.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum
from functools import cache, lru_cache
from typing import Any

from pglast import parser


@dataclass(frozen=True, slots=True)
class Slot:
    """A wrapper statement around author SQL, and where the text lands in its parse tree.

    ``path`` leads from the statement to the node (or list) the text becomes; everything
    else in the tree must be what ``sample`` gives. An empty path (raw scripts) checks only
    that the text parses.
    """

    prefix: str
    suffix: str
    path: tuple[str | int, ...]
    sample: str
    what: str


class Context(Enum):
    """Where a piece of author SQL ends up; each has its own wrapper statement."""

    EXPRESSION = Slot("SELECT (", ")", ("targetList", 0, "val"), "1", "a single expression")
    STORAGE_PARAMETERS = Slot(
        "CREATE INDEX i ON t (c) WITH (", ")", ("options",), "fillfactor = 70",
        "a list of storage parameters `name = value, ...`",
    )
    EXCLUDE_ELEMENTS = Slot(
        "ALTER TABLE t ADD EXCLUDE USING gist (", ")", ("cmds", 0, "def_", "exclusions"),
        "c WITH =", "a list of exclusion elements `column WITH operator, ...`",
    )
    SEQUENCE_OPTIONS = Slot(
        "CREATE TABLE t (c int GENERATED ALWAYS AS IDENTITY (", "))",
        ("tableElts", 0, "constraints", 0, "options"), "START 1", "a list of sequence options",
    )
    OPCLASS_PARAMETER = Slot(
        "CREATE INDEX i ON t (c o (", "))", ("indexParams", 0, "opclassopts", 0),
        "siglen = 8", "a single operator class parameter `name = value`",
    )
    COLLATION = Slot(
        "CREATE INDEX i ON t (c COLLATE ", ")", ("indexParams", 0, "collation"), '"C"',
        "a collation name",
    )
    INDEX_METHOD = Slot(
        "ALTER TABLE t ADD EXCLUDE USING ", " (c WITH =)", ("cmds", 0, "def_", "access_method"),
        "gist", "an index access method name",
    )
    TYPE = Slot("CREATE TABLE t (c ", ")", ("tableElts", 0, "typeName"), "int", "a type name")
    SCRIPT = Slot("", "", (), "SELECT 1", "SQL statements")

    @property
    def prefix(self) -> str:
        """What comes before the author's text."""
        return self.value.prefix

    @property
    def suffix(self) -> str:
        """What comes after the author's text."""
        return self.value.suffix


class Fault(Enum):
    """What is wrong with a piece of author SQL; each maps to one diagnostic code."""

    SYNTAX = "syntax"  # it does not parse in its place
    ESCAPES = "escapes"  # it ends its slot or its statement early, or hides what follows
    SHAPE = "shape"  # it parses, but is not the kind of SQL its place takes
    EMPTY = "empty"
    NUL = "nul"  # a NUL character: the parser would stop reading there, psql would not


@dataclass(frozen=True, slots=True)
class Problem:
    """Why a piece of SQL is rejected, and where in the author's text (0-based offset)."""

    message: str
    offset: int
    fault: Fault

    @property
    def escapes(self) -> bool:
        """True when the text closes its wrapper or adds a statement (injection)."""
        return self.fault is Fault.ESCAPES


# The same author text is asked about by several passes (check, columns, volatility) and again
# by every catalog fold; the answers depend on the text alone, so each is parsed once.
_CACHE_SIZE = 4096


@lru_cache(maxsize=_CACHE_SIZE)
def check_sql(text: str, context: Context) -> Problem | None:
    """None when ``text`` fits ``context``; otherwise the first problem found."""
    if not text.strip():
        return Problem("empty SQL", 0, Fault.EMPTY)
    if "\x00" in text:
        return Problem("the SQL contains a NUL character", text.index("\x00"), Fault.NUL)
    slot = context.value
    wrapped = slot.prefix + text + slot.suffix
    try:
        statements = parser.parse_sql(wrapped)
    except parser.ParseError as err:
        return _escape(text, context) or _syntax(err, text, len(slot.prefix))
    if context is Context.SCRIPT:
        return None
    if len(statements) != 1:
        first = statements[0]
        end = _char_offset(wrapped, (first.stmt_location or 0) + (first.stmt_len or 0))
        offset = max(0, min(end - len(slot.prefix), len(text)))
        return Problem("the SQL ends its statement and starts another", offset, Fault.ESCAPES)
    return (_escape(text, context) or _hidden_suffix(text, slot)
            or _shape(statements[0].stmt, context))


def _syntax(err: parser.ParseError, text: str, prefix: int) -> Problem:
    message, location = err.args[0], err.args[1] if len(err.args) > 1 else None
    offset = _char_offset(text, location) - prefix if location is not None else len(text)
    return Problem(str(message), max(0, min(offset, len(text))), Fault.SYNTAX)


def _escape(text: str, context: Context) -> Problem | None:
    """A ``;`` or a ``)`` the text did not open: the slot would end before the text does.

    Tokens come from PostgreSQL's scanner, so parentheses inside strings, quoted names and
    comments do not count.
    """
    if context is Context.SCRIPT:
        return None
    depth = 0
    for token in _tokens(text):
        if token.name == "ASCII_59":
            return Problem("the `;` would end the statement", token.start, Fault.ESCAPES)
        depth += {"ASCII_40": 1, "ASCII_41": -1}.get(token.name, 0)
        if depth < 0:
            return Problem("the `)` closes a parenthesis the SQL did not open",
                           token.start, Fault.ESCAPES)
    return None


def _hidden_suffix(text: str, slot: Slot) -> Problem | None:
    """A ``--`` comment at the end would swallow what the planner writes after the text."""
    tail = slot.suffix.lstrip()
    if not tail:
        return None
    position = len(slot.prefix) + len(text) + len(slot.suffix) - len(tail)
    if any(t.start == position for t in _tokens(slot.prefix + text + slot.suffix)):
        return None
    comments = [t.start for t in _tokens(text) if t.name == "SQL_COMMENT"]
    return Problem("the `--` comment at the end would hide the SQL that follows it",
                   comments[-1] if comments else 0, Fault.ESCAPES)


def _tokens(text: str) -> list[Any]:
    """PostgreSQL's tokens of ``text`` (character offsets); [] if the scanner gives up."""
    try:
        return list(parser.scan(text))
    except parser.ParseError:
        return []


def _shape(statement: Any, context: Context) -> Problem | None:
    """The text must change nothing but its slot: e.g. one parameter, not two."""
    if _skeleton(statement, context.value.path) == _sample_skeleton(context):
        return None
    return Problem(f"it parses, but is not {context.value.what}", 0, Fault.SHAPE)


@cache
def _sample_skeleton(context: Context) -> object:
    slot = context.value
    statement = parser.parse_sql(slot.prefix + slot.sample + slot.suffix)[0].stmt
    return _skeleton(statement, slot.path)


_SLOT = "<slot>"


def _skeleton(node: Any, path: tuple[str | int, ...] | None) -> object:
    """``node`` as plain data without locations, the part at ``path`` replaced by a marker.

    ``path`` is None off the slot's path: nothing below such a node is the slot.
    """
    from pglast import ast

    if path == ():
        return _SLOT
    head, rest = (path[0], path[1:]) if path else (None, None)
    if isinstance(node, ast.Node):
        return {"@": type(node).__name__, **{
            name: _skeleton(getattr(node, name), rest if name == head else None)
            for name in node if name != "location"
        }}
    if isinstance(node, tuple | list):
        return [len(node), *(_skeleton(n, rest if i == head else None)
                             for i, n in enumerate(node))]
    return node


def _char_offset(text: str, offset: int | None) -> int:
    """Pglast reports character offsets (it maps libpg_query's bytes); None: the end."""
    return len(text) if offset is None else offset


@dataclass(frozen=True, slots=True)
class ColumnReference:
    """An identifier in an expression that names a column: ``name`` or ``qualifier.name``.

    ``start``/``end`` are character offsets into the author's text (the whole reference,
    quotes included), so a rename can splice the text instead of regenerating it.
    ``row_level`` is False inside a sub-query with its own FROM clause, where an unqualified
    name may belong to that sub-query's tables rather than to the row being written.
    """

    name: str
    qualifier: str | None
    start: int
    end: int
    row_level: bool


def column_references(text: str) -> list[ColumnReference]:
    """Column references of an expression, in text order; [] if it does not parse."""
    return list(_column_references(text))


@lru_cache(maxsize=_CACHE_SIZE)
def _column_references(text: str) -> tuple[ColumnReference, ...]:
    from pglast import ast, parse_sql
    from pglast.visitors import Visitor

    prefix, suffix = Context.EXPRESSION.prefix, Context.EXPRESSION.suffix
    wrapped = prefix + text + suffix
    try:
        tree = parse_sql(wrapped)
    except parser.ParseError:
        return ()
    found: list[ColumnReference] = []

    class _Refs(Visitor):
        def visit_ColumnRef(self, ancestors: Any, node: ast.ColumnRef) -> None:  # noqa: N802
            fields = [getattr(f, "sval", None) for f in node.fields or ()]
            if any(f is None for f in fields) or len(fields) > 2:
                return  # `*`, `t.*`, or schema-qualified: not a column of the row
            start = _char_offset(wrapped, node.location)
            end = _reference_end(wrapped, start, len(fields))
            row_level = True
            while ancestors is not None and ancestors.node is not None:
                if isinstance(ancestors.node, ast.SelectStmt) and ancestors.node.fromClause:
                    row_level = False
                ancestors = ancestors.parent
            found.append(ColumnReference(
                name=str(fields[-1]), qualifier=str(fields[0]) if len(fields) == 2 else None,
                start=start - len(prefix), end=end - len(prefix), row_level=row_level,
            ))

    _Refs()(tree)
    return tuple(sorted(found, key=lambda r: r.start))


def _reference_end(text: str, start: int, parts: int) -> int:
    """End offset of a (possibly dotted, possibly quoted) identifier starting at ``start``."""
    position = start
    for part in range(parts):
        if part:
            position += 1  # the dot
        if text[position] == '"':
            position += 1
            while position < len(text):
                if text[position] == '"' and text[position + 1 : position + 2] != '"':
                    position += 1
                    break
                position += 2 if text[position] == '"' else 1
        else:
            while position < len(text) and (text[position].isalnum() or text[position] in "_$"):
                position += 1
    return position


def rename_columns(text: str, renames: dict[str, str], record: str = "") -> str:
    """Point unqualified row-level column references elsewhere, leaving other text as written.

    Identifiers are found by PostgreSQL's parser and spliced by offset, so renaming ``path``
    leaves ``subpath(path)``'s function name alone (the substring bug of pgroll #1028).
    ``record`` (``NEW``) qualifies each new reference: a trigger reads the row's field.
    """
    from pgroll_dsl.sql.quoting import quote_ident

    prefix = f"{record}." if record else ""
    result = text
    for ref in reversed(column_references(text)):
        if ref.qualifier is None and ref.row_level and ref.name in renames:
            result = (result[: ref.start] + prefix + quote_ident(renames[ref.name])
                      + result[ref.end :])
    return result


# Immutable or stable built-ins: PostgreSQL evaluates them once for ADD COLUMN … DEFAULT, so
# such a default is a constant for every existing row. A default calling anything else is
# treated as volatile: correct either way, only slower (a backfill instead of the fast path).
NON_VOLATILE_FUNCTIONS = frozenset({
    "abs", "array_length", "btrim", "cardinality", "ceil", "ceiling", "char_length",
    "character_length", "coalesce", "concat", "concat_ws", "current_date", "current_setting",
    "date_part", "date_trunc", "extract", "floor", "format", "greatest", "initcap",
    "json_build_array", "json_build_object", "jsonb_build_array", "jsonb_build_object", "least",
    "left", "length", "lower", "lpad", "ltrim", "make_date", "make_interval", "make_time",
    "make_timestamp", "make_timestamptz", "md5", "now", "nullif", "octet_length", "power",
    "repeat", "replace", "reverse", "right", "round", "rpad", "rtrim", "sign", "split_part",
    "sqrt", "statement_timestamp", "substr", "substring", "to_char", "to_date", "to_json",
    "to_jsonb", "to_number", "to_timestamp", "transaction_timestamp", "trim", "trunc", "upper",
})


def is_volatile(text: str) -> bool:
    """Whether PostgreSQL may give each row a different value (not :func:`is_non_volatile`).

    False for text that does not parse: ``check_expressions`` reports that.
    """
    return check_sql(text, Context.EXPRESSION) is None and not is_non_volatile(text)


@lru_cache(maxsize=_CACHE_SIZE)
def is_non_volatile(text: str) -> bool:
    """Whether ``ADD COLUMN … DEFAULT <text>`` keeps PostgreSQL's no-rewrite fast path.

    Literals, casts, operators and a list of immutable/stable functions qualify; any other
    function call (``random()``, ``gen_random_uuid()``, ``nextval(…)``, ``clock_timestamp()``)
    or a sub-query does not.
    """
    named = calls(text)
    return named.parsed and not named.subquery and named.functions <= NON_VOLATILE_FUNCTIONS


@dataclass(frozen=True, slots=True)
class Calls:
    """What an expression calls by name: PostgreSQL resolves each through the catalog."""

    parsed: bool  # False: the text does not parse (everything else is empty)
    functions: frozenset[str]  # lower case, qualified but for ``pg_catalog.``
    operators: frozenset[str]  # operator symbols
    casts: bool  # whether it casts anything (a user cast may run a function)
    subquery: bool
    # Whether it calls a function (any: an argument may name an object, ``nextval('s')``), or
    # names an operator, type or collation other than as ``pg_catalog.name`` (``CASE x
    # WHEN``'s ``=`` too): PostgreSQL looks an unqualified name up through ``search_path``,
    # and what another schema holds may itself resolve names through it. The keyword types
    # (``integer``, ``bigint``, ``varchar``...) are ``pg_catalog``'s by the grammar.
    searched: bool = False

    @property
    def function_names(self) -> frozenset[str]:
        """The functions' names without their schema, as ``Routines`` holds them."""
        return frozenset(f.rpartition(".")[2] for f in self.functions)


@lru_cache(maxsize=_CACHE_SIZE)
def calls(text: str) -> Calls:
    """The functions, operators, casts and sub-queries of an expression."""
    from pglast import ast, parse_sql
    from pglast.visitors import Visitor

    prefix, suffix = Context.EXPRESSION.prefix, Context.EXPRESSION.suffix
    try:
        tree = parse_sql(prefix + text + suffix)
    except parser.ParseError:
        return Calls(False, frozenset(), frozenset(), casts=False, subquery=False)
    functions: set[str] = set()
    operators: set[str] = set()
    found = {"casts": False, "subquery": False, "searched": False}

    def named(names: Any) -> None:
        parts = [str(getattr(n, "sval", "")) for n in names or ()]
        if len(parts) < 2 or parts[0] != "pg_catalog":
            found["searched"] = True

    class _Names(Visitor):
        def visit_FuncCall(self, ancestors: Any, node: ast.FuncCall) -> None:  # noqa: N802
            # Even pg_catalog's: an argument may name an object to look up (nextval('s'),
            # to_tsvector('my_config', ...)).
            found["searched"] = True
            parts = [str(getattr(f, "sval", "")) for f in node.funcname or ()]
            if parts[:1] == ["pg_catalog"]:
                parts = parts[1:]
            functions.add(".".join(parts).lower())

        def visit_A_Expr(self, ancestors: Any, node: ast.A_Expr) -> None:  # noqa: N802
            named(node.name)
            operators.update(str(getattr(n, "sval", "")) for n in node.name or ())

        def visit_TypeCast(self, ancestors: Any, node: ast.TypeCast) -> None:  # noqa: N802
            found["casts"] = True

        def visit_TypeName(self, ancestors: Any, node: ast.TypeName) -> None:  # noqa: N802
            named(node.names)

        def visit_CaseExpr(self, ancestors: Any, node: ast.CaseExpr) -> None:  # noqa: N802
            if node.arg is not None:  # ``CASE x WHEN v``: each WHEN is ``x = v``
                operators.add("=")
                found["searched"] = True

        def visit_CollateClause(self, ancestors: Any, node: ast.CollateClause) -> None:  # noqa: N802
            named(node.collname)

        def visit_SubLink(self, ancestors: Any, node: ast.SubLink) -> None:  # noqa: N802
            found["subquery"] = True

    _Names()(tree)
    return Calls(True, frozenset(functions), frozenset(operators), **found)


def normalized(text: str) -> object:
    """An expression's parse tree with PostgreSQL's cosmetic additions removed.

    PostgreSQL stores ``length(name) > 3`` as ``length((name)::text) > 3`` and ``'x'`` as
    ``'x'::text``: casts of constants and column references are dropped, as are locations,
    so the author's text and the catalog's text compare equal when they mean the same.
    """
    from pglast import ast, parse_sql

    prefix, suffix = Context.EXPRESSION.prefix, Context.EXPRESSION.suffix
    try:
        tree = parse_sql(prefix + text + suffix)[0].stmt
    except parser.ParseError:
        return text.strip()

    def strip(node: Any) -> Any:
        if isinstance(node, ast.TypeCast) and isinstance(node.arg, ast.A_Const | ast.ColumnRef):
            return strip(node.arg)
        if isinstance(node, ast.Node):
            return {"@": type(node).__name__, **{
                name: strip(getattr(node, name)) for name in node
                if name != "location"
            }}
        if isinstance(node, tuple | list):
            return [strip(n) for n in node]
        return node

    return strip(tree)


def same_expression(a: str | None, b: str | None) -> bool:
    """Whether two spellings of an expression mean the same (see ``normalized``)."""
    if a is None or b is None:
        return a is b
    return normalized(a) == normalized(b)
