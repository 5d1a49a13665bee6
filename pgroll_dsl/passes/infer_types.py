"""The type PostgreSQL gives an embedded expression, found offline, or None when not certain.

The offline type checks (``passes/typecheck.py``) need to know what an ``up``, a default or a
check evaluates to without a database. This module follows PostgreSQL's own rules (the
chapter "Type Conversion" of its manual, and ``parse_func.c``/``parse_coerce.c``) over
PostgreSQL's own catalog rows (``typecheck_data.py``, generated from a real server's
pg_type, pg_cast, pg_operator and pg_proc): constants are ``unknown`` until their place
decides, operators and functions are resolved by exact match, then by implicit coercion,
preferred types and type categories; CASE, COALESCE, GREATEST and LEAST take the common
type. Anything outside what is modelled (a user's function, a domain, a sub-query, an
array subscript, a polymorphic result it cannot pin down) is None: the checks then say
nothing. What the database adds (``UserRoutines``: a user's overload of a built-in name, a
user's cast, an extension) makes the answers it may change None too.
``tests/test_typecheck_infer.py`` compares every answer with ``pg_typeof`` on a live server.

Types are pg_type names (``int4``, ``timestamptz``, ``_text`` for ``text[]``), or the name
of an enum of the catalog.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cache, lru_cache
from typing import Any

from pglast import ast, parser
from pglast.enums import A_Expr_Kind, MinMaxOp, SQLValueFunctionOp, SubLinkType

UNKNOWN = "unknown"  # PostgreSQL's type of a quoted constant before its place decides
TEXT, BOOL = "text", "bool"
_PREFIX = "SELECT ("  # the wrapper every embedded expression is parsed in (Context.EXPRESSION)

_INT4 = (-(2**31), 2**31 - 1)
_INT8 = (-(2**63), 2**63 - 1)


@dataclass(frozen=True, slots=True)
class Typed:
    """An inferred type, and for a constant its text (where its value decides validity).

    ``literal`` is the text of a quoted constant (type ``unknown``); ``number`` the text of
    a numeric constant; ``null`` marks the constant NULL. ``offset`` is where the node
    starts in the author's text (for an operator, where its sign is, as pglast says).
    """

    type: str
    literal: str | None = None
    number: str | None = None
    null: bool = False
    offset: int = 0


@dataclass(frozen=True, slots=True)
class UserRoutines:
    """What the database defines beyond PostgreSQL's built-in rows, where answers stop.

    A name in ``functions`` or ``operators`` may be the user's overload, which PostgreSQL
    may pick (``upper(varchar)`` returning boolean): any call of that name has no certain
    type. A pair of ``casts`` (pg_type names) may be an implicit or assignment cast.
    ``opaque`` (an extension): no function, operator or missing cast is certain; what a
    built-in type's input function reads stays certain.
    """

    functions: frozenset[str] = frozenset()
    operators: frozenset[str] = frozenset()
    casts: frozenset[tuple[str, str]] = frozenset()
    opaque: bool = False

    def cast(self, source: str, target: str) -> bool:
        """Whether a cast from ``source`` to ``target`` may be the user's."""
        return self.opaque or (source, target) in self.casts


NO_USER_ROUTINES = UserRoutines()


@dataclass(frozen=True, slots=True)
class Types:
    """What names mean: the row's columns (None: a type not modelled), enums, user routines.

    ``user`` says where PostgreSQL's built-in rows are not the whole answer.
    """

    columns: Mapping[str, str | None] = field(default_factory=dict)
    enums: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    user: UserRoutines = NO_USER_ROUTINES

    def category(self, name: str) -> tuple[str, bool] | None:
        """``(typcategory, typispreferred)`` of a type; None for a type not modelled."""
        if name in self.enums:
            return ("E", False)
        row = _types().get(name)
        return (row[0], row[1]) if row is not None else None

    def known(self, name: str) -> bool:
        """Whether the type is built in or an enum of the catalog."""
        return self.category(name) is not None

    def element(self, name: str) -> str | None:
        """The element type of an array type, else None."""
        row = _types().get(name)
        return row[2] or None if row is not None else None


# ---- the catalog data, loaded on first use (it is large; `validate` imports this early) ----


@dataclass(frozen=True, slots=True)
class PgCatalog:
    """PostgreSQL's built-in rows, read from ``typecheck_data``'s tables."""

    types: dict[str, tuple[str, bool, str]]  # typname -> (category, preferred, element or "")
    casts: dict[tuple[str, str], tuple[str, str]]  # (source, target) -> (context, method)
    operators: tuple[tuple[str, str, str, str], ...]  # name, left ("" if prefix), right, result
    functions: tuple[tuple[str, tuple[str, ...], int, str, str, bool], ...]
    aggregates: frozenset[str]


def _rows(table: str) -> list[list[str]]:
    return [_fields(line) for line in table.splitlines() if line]


def _fields(line: str) -> list[str]:
    return [("" if field == "." else field) for field in line.split(" ")]


def _named(table: str, name: str) -> list[list[str]]:
    """The rows of ``table`` whose first field is ``name``.

    Found by a regular expression over the text: a check reads the few rows it needs instead
    of parsing thousands at every start (about 15 ms of a 0.25 s ``plan``).
    """
    return [_fields(line) for line in
            re.findall(rf"^{re.escape(name)} [^\n]*$", table, re.MULTILINE)]


@cache
def _types() -> dict[str, tuple[str, bool, str]]:
    from pgroll_dsl.passes import typecheck_data as data

    return {r[0]: (r[1], r[2] == "t", r[3]) for r in _rows(data.TYPES)}


@cache
def _casts() -> dict[tuple[str, str], tuple[str, str]]:
    from pgroll_dsl.passes import typecheck_data as data

    return {(r[0], r[1]): (r[2], r[3]) for r in _rows(data.CASTS)}


@cache
def _aggregates() -> frozenset[str]:
    from pgroll_dsl.passes import typecheck_data as data

    return frozenset(r[0] for r in _rows(data.AGGREGATES))


def _operator_row(r: list[str]) -> tuple[str, str, str, str]:
    return (r[0], r[1], r[2], r[3])


def _function_row(r: list[str]) -> tuple[str, tuple[str, ...], int, str, str, bool]:
    return (r[0], tuple(r[1].split(",")) if r[1] else (), int(r[2]), r[3], r[4], r[5] == "t")


@cache
def pg_catalog() -> PgCatalog:
    """All the built-in rows, parsed: the tests compare them with a live server's.

    The checks read only the rows they need (``_types``, ``_casts``, ``_operators``,
    ``_functions``).
    """
    from pgroll_dsl.passes import typecheck_data as data

    return PgCatalog(
        types=_types(), casts=_casts(),
        operators=tuple(_operator_row(r) for r in _rows(data.OPERATORS)),
        functions=tuple(_function_row(r) for r in _rows(data.FUNCTIONS)),
        aggregates=_aggregates(),
    )


@cache
def _operators(name: str, binary: bool) -> list[tuple[tuple[str, ...], str]]:
    """The operators ``name`` (binary or prefix): argument types and result type."""
    from pgroll_dsl.passes import typecheck_data as data

    found: list[tuple[tuple[str, ...], str]] = []
    for _, left, right, result in map(_operator_row, _named(data.OPERATORS, name)):
        if bool(left) == binary:
            found.append(((left, right) if left else (right,), result))
    return found


@cache
def _functions(name: str) -> list[tuple[tuple[str, ...], int, str, str, bool]]:
    """The built-in functions called ``name``: arguments, defaults, variadic, result, retset."""
    from pgroll_dsl.passes import typecheck_data as data

    return [row[1:] for row in map(_function_row, _named(data.FUNCTIONS, name))]


# ---- coercion (parse_coerce.c) ------------------------------------------------------------

_POLYMORPHIC = frozenset({
    "anyelement", "anyarray", "anynonarray", "anyenum", "anyrange", "anymultirange",
    "anycompatible", "anycompatiblearray", "anycompatiblenonarray", "anycompatiblerange",
    "anycompatiblemultirange",
})
_STRING = "S"


def coercion(source: str, target: str, context: str, types: Types) -> bool | None:
    """Whether PostgreSQL converts ``source`` to ``target`` in ``context``.

    ``context`` is ``i`` (implicit), ``a`` (assignment) or ``e`` (explicit), as pg_cast's
    castcontext. None when a type is not modelled (a domain, an extension's type), and
    instead of False when the cast may be the user's (``UserRoutines``).
    """
    if source == target:
        return True
    if not (types.known(source) and types.known(target)):
        return None
    if source == UNKNOWN:
        return True
    row = _casts().get((source, target))
    if row is not None:
        return "eai".index(row[0]) >= "eai".index(context)
    source_category = types.category(source)
    target_category = types.category(target)
    assert source_category is not None and target_category is not None
    if context in "ae" and target_category[0] == _STRING:
        return True  # I/O conversion to a string type: an assignment cast
    if context == "e" and source_category[0] == _STRING:
        return True  # I/O conversion from a string type: explicit only
    if types.user.cast(source, target):
        return True if context == "e" and not types.user.opaque else None
    source_element, target_element = types.element(source), types.element(target)
    if source_element and target_element:
        return coercion(source_element, target_element, context, types)
    if source_category[0] == "P" or target_category[0] == "P":
        return None  # record, void, …: not modelled
    return None if types.user.opaque else False


def _can_coerce(inputs: Sequence[str], targets: Sequence[str], types: Types) -> bool:
    """``can_coerce_type`` with COERCION_IMPLICIT, polymorphic targets checked loosely."""
    generic = False
    for source, target in zip(inputs, targets, strict=True):
        if source == target or target == "any":
            continue
        if target in _POLYMORPHIC:
            generic = True
            continue
        if source == UNKNOWN:
            continue
        if coercion(source, target, "i", types) is not True:
            return False
    return not generic or _generic_consistent(inputs, targets, types)


def _generic_consistent(inputs: Sequence[str], targets: Sequence[str], types: Types) -> bool:
    """``check_generic_type_consistency``, where it can be judged; True where it cannot."""
    element: str | None = None
    for source, target in zip(inputs, targets, strict=True):
        if source == UNKNOWN or target not in _POLYMORPHIC:
            continue
        array_element = types.element(source)
        if target in ("anyarray", "anycompatiblearray"):
            if array_element is None:
                return False
            item = array_element
        elif target in ("anyrange", "anycompatiblerange", "anymultirange",
                        "anycompatiblemultirange"):
            category = types.category(source)
            if category is None or category[0] not in "RP":
                return False
            continue
        else:
            if target in ("anynonarray", "anycompatiblenonarray") and array_element:
                return False
            if target == "anyenum" and source not in types.enums:
                return False
            item = source
        if target.startswith("anycompatible"):
            continue  # a common type is chosen later: left to the caller's uncertainty
        if element is not None and element != item:
            return False
        element = item
    return True


# ---- candidate selection (func_select_candidate) -----------------------------------------

Candidate = tuple[tuple[str, ...], str]  # argument types, result type


def _select(inputs: Sequence[str], candidates: list[Candidate], types: Types
            ) -> Candidate | None:
    """Among candidates that accept ``inputs`` by implicit coercion, PostgreSQL's choice."""
    if types.user.casts and any(types.user.cast(t, a) for c in candidates
                                for t, a in zip(inputs, c[0], strict=True)):
        return None  # a user's implicit cast may admit another candidate
    candidates = [c for c in candidates if _can_coerce(inputs, c[0], types)]
    if len(candidates) <= 1:
        return candidates[0] if candidates else None
    unknowns = sum(1 for t in inputs if t == UNKNOWN)
    categories = [types.category(t) if t != UNKNOWN else None for t in inputs]

    def keep_best(score: Callable[[Candidate], int]) -> None:
        nonlocal candidates
        best = max(score(c) for c in candidates)
        candidates = [c for c in candidates if score(c) == best]

    keep_best(lambda c: sum(1 for t, a in zip(inputs, c[0], strict=True)
                            if t != UNKNOWN and t == a))
    if len(candidates) == 1:
        return candidates[0]

    def preferred(t: str, a: str, category: tuple[str, bool] | None) -> bool:
        own = types.category(a)
        return (t == a or (category is not None and own is not None
                           and own[0] == category[0] and own[1]))

    keep_best(lambda c: sum(1 for t, a, cat in zip(inputs, c[0], categories, strict=True)
                            if t != UNKNOWN and preferred(t, a, cat)))
    if len(candidates) == 1:
        return candidates[0]
    if unknowns == 0:
        return None
    resolved = _resolve_unknowns(inputs, candidates, types)
    if resolved is not None:
        candidates = resolved
        if len(candidates) == 1:
            return candidates[0]
    known = {t for t in inputs if t != UNKNOWN}
    if unknowns < len(inputs) and len(known) == 1:
        (only,) = known
        assumed = [only if t == UNKNOWN else t for t in inputs]
        fitting = [c for c in candidates if _can_coerce(assumed, c[0], types)]
        if len(fitting) == 1:
            return fitting[0]
    return None


def _resolve_unknowns(inputs: Sequence[str], candidates: list[Candidate], types: Types
                      ) -> list[Candidate] | None:
    """The type category each unknown input takes; the candidates that fit (None: a conflict)."""
    slots: dict[int, tuple[str, bool]] = {}
    for i, source in enumerate(inputs):
        if source != UNKNOWN:
            continue
        slot: tuple[str, bool] | None = None
        conflict = False
        for args, _ in candidates:
            own = types.category(args[i]) or ("?", False)
            if slot is None:
                slot = own
            elif own[0] == slot[0]:
                slot = (slot[0], slot[1] or own[1])
            elif own[0] == _STRING:
                slot = own
            elif slot[0] != _STRING:
                conflict = True
        assert slot is not None
        if conflict and slot[0] != _STRING:
            return None
        slots[i] = slot
    kept = []
    for candidate in candidates:
        fits = True
        for i, (category, has_preferred) in slots.items():
            own = types.category(candidate[0][i]) or ("?", False)
            if own[0] != category or (has_preferred and not own[1]):
                fits = False
                break
        if fits:
            kept.append(candidate)
    return kept or candidates


def operator(name: str, inputs: Sequence[str], types: Types) -> str | None:
    """The result type of ``name`` applied to ``inputs`` (one or two), or None."""
    chosen = _operator(name, inputs, types)
    return _result(chosen, inputs, types) if chosen is not None else None


def _operator(name: str, inputs: Sequence[str], types: Types) -> Candidate | None:
    """The operator PostgreSQL picks for ``name`` over ``inputs`` (``oper``), or None."""
    if types.user.opaque or name in types.user.operators:
        return None  # the user's operator of that name may be the one PostgreSQL picks
    candidates = [(args, result) for args, result in
                  _operators(name, len(inputs) == 2)]
    if not candidates or any(not types.known(t) for t in inputs):
        return None
    exact_inputs = list(inputs)
    if len(inputs) == 2 and (inputs[0] == UNKNOWN) != (inputs[1] == UNKNOWN):
        known = inputs[1] if inputs[0] == UNKNOWN else inputs[0]
        exact_inputs = [known, known]  # binary_oper_exact: an unknown side is the other's type
    exact = [c for c in candidates if list(c[0]) == exact_inputs]
    if len(exact) == 1:
        return exact[0]
    return _select(inputs, candidates, types)


def function(name: str, inputs: Sequence[str], types: Types) -> str | None:
    """The result type of the built-in function ``name`` called with ``inputs``, or None."""
    if name in _aggregates() or any(not types.known(t) for t in inputs):
        return None
    if types.user.opaque or name in types.user.functions:
        return None  # the user's function of that name may be the one PostgreSQL picks
    candidates: list[Candidate] = []
    for args, defaults, variadic, result, retset in _functions(name):
        if retset:
            result = ""  # a set-returning function: no scalar type
        if variadic and len(inputs) >= len(args):
            element = "any" if variadic == "any" else variadic
            candidates.append((args[:-1] + (element,) * (len(inputs) - len(args) + 1), result))
        elif variadic:
            continue
        elif len(args) == len(inputs):
            candidates.append((args, result))
        elif len(args) - defaults <= len(inputs) < len(args):
            candidates.append((args[: len(inputs)], result))
    if len({c[0] for c in candidates}) != len(candidates):
        return None  # the same arguments twice (defaults, variadic): PostgreSQL's tie rules
    exact = [c for c in candidates if list(c[0]) == list(inputs)]
    if exact:
        return _result(exact[0], inputs, types)
    if len(inputs) == 1 and _is_type_name(name):
        return None  # `int4(x)` may be a cast written as a call
    chosen = _select(inputs, candidates, types)
    return _result(chosen, inputs, types) if chosen is not None else None


def _is_type_name(name: str) -> bool:
    return name in _types() or name in ("int", "integer", "float", "decimal", "boolean",
                                             "varchar", "char", "timestamp", "time")


def _result(candidate: Candidate, inputs: Sequence[str], types: Types) -> str | None:
    """The candidate's result type; a polymorphic one from the inputs when they pin it."""
    args, result = candidate
    if not result or result in ("record", "void", "internal", "trigger"):
        return None
    if result not in _POLYMORPHIC:
        return result if types.known(result) else None
    if result.startswith("anycompatible") or "range" in result:
        return None
    element: str | None = None
    for source, target in zip(inputs, args, strict=True):
        if source == UNKNOWN or target not in _POLYMORPHIC:
            continue
        item = types.element(source) if target == "anyarray" else source
        if item is None or (element is not None and element != item):
            return None
        element = item
    if element is None:
        return None
    if result == "anyarray":
        array = "_" + element
        return array if array in _types() else None
    return element


def common_type(inputs: Sequence[str], types: Types) -> str | None:
    """``select_common_type``: the type of CASE, COALESCE, GREATEST and LEAST."""
    if any(not types.known(t) for t in inputs):
        return None
    known = [t for t in inputs if t != UNKNOWN]
    if not known:
        return TEXT
    if types.user.casts and any(types.user.cast(a, b) for a in known for b in known):
        return None  # a user's implicit cast may change the choice
    chosen = known[0]
    chosen_category = types.category(chosen)
    assert chosen_category is not None
    for other in known[1:]:
        if other == chosen:
            continue
        category = types.category(other)
        assert category is not None
        if category[0] != chosen_category[0]:
            return None  # PostgreSQL refuses: the types cannot be matched
        if (not chosen_category[1] and coercion(chosen, other, "i", types) is True
                and coercion(other, chosen, "i", types) is False):
            chosen, chosen_category = other, category
    return chosen


# ---- type names ---------------------------------------------------------------------------


def type_of_name(node: ast.TypeName, types: Types, schema: str = "public") -> str | None:
    """A parsed type name as a pg_type name (or an enum's); None when not modelled."""
    names = [getattr(n, "sval", None) for n in node.names or ()]
    if node.setof or node.pct_type or any(n is None for n in names):
        return None
    if len(names) == 2 and names[0] in ("pg_catalog", schema):
        names = names[1:] if names[0] == "pg_catalog" or names[1] in types.enums else names
    if len(names) != 1:
        return None
    name = str(names[0])
    if name not in _types() and name not in types.enums:
        return None
    if node.arrayBounds:
        array = "_" + name
        return array if array in _types() else None
    return name


@lru_cache(maxsize=1024)
def parse_type(text: str) -> ast.TypeName | None:
    """A type's text (``format_type`` spelling) as pglast's TypeName; None if it is not one."""
    try:
        statement = parser.parse_sql(f"SELECT NULL::{text}")
    except parser.ParseError:
        return None
    select = statement[0].stmt
    targets = select.targetList if isinstance(select, ast.SelectStmt) else None
    value = targets[0].val if targets else None
    return value.typeName if isinstance(value, ast.TypeCast) else None


def modifiers(node: ast.TypeName) -> tuple[int, ...] | None:
    """The integer type modifiers (``varchar(3)`` → ``(3,)``); None when not plain integers."""
    found = []
    for mod in node.typmods or ():
        value = getattr(getattr(mod, "val", None), "ival", None)
        if not isinstance(value, int):
            return None
        found.append(value)
    return tuple(found)


# ---- expressions --------------------------------------------------------------------------


@lru_cache(maxsize=4096)
def parse_expression(text: str) -> ast.Node | None:
    """The expression's syntax tree, parsed in the wrapper of ``Context.EXPRESSION``."""
    try:
        statements = parser.parse_sql(_PREFIX + text + ")")
    except parser.ParseError:
        return None
    if len(statements) != 1 or not isinstance(statements[0].stmt, ast.SelectStmt):
        return None
    targets = statements[0].stmt.targetList or ()
    return targets[0].val if len(targets) == 1 else None


def offset_of(node: ast.Node) -> int:
    """Where ``node`` starts in the author's text (0 when pglast does not say)."""
    location = getattr(node, "location", None)
    return max(0, location - len(_PREFIX)) if isinstance(location, int) and location >= 0 else 0


def infer(text: str, types: Types) -> Typed | None:
    """The type of the expression ``text`` over a row of ``types``, or None if not certain."""
    node = parse_expression(text)
    return infer_node(node, types) if node is not None else None


_SQL_VALUE_TYPES = {
    SQLValueFunctionOp.SVFOP_CURRENT_DATE: "date",
    SQLValueFunctionOp.SVFOP_CURRENT_TIME: "timetz",
    SQLValueFunctionOp.SVFOP_CURRENT_TIME_N: "timetz",
    SQLValueFunctionOp.SVFOP_CURRENT_TIMESTAMP: "timestamptz",
    SQLValueFunctionOp.SVFOP_CURRENT_TIMESTAMP_N: "timestamptz",
    SQLValueFunctionOp.SVFOP_LOCALTIME: "time",
    SQLValueFunctionOp.SVFOP_LOCALTIME_N: "time",
    SQLValueFunctionOp.SVFOP_LOCALTIMESTAMP: "timestamp",
    SQLValueFunctionOp.SVFOP_LOCALTIMESTAMP_N: "timestamp",
    SQLValueFunctionOp.SVFOP_CURRENT_ROLE: "name",
    SQLValueFunctionOp.SVFOP_CURRENT_USER: "name",
    SQLValueFunctionOp.SVFOP_USER: "name",
    SQLValueFunctionOp.SVFOP_SESSION_USER: "name",
    SQLValueFunctionOp.SVFOP_CURRENT_CATALOG: "name",
    SQLValueFunctionOp.SVFOP_CURRENT_SCHEMA: "name",
}

_BOOLEAN_EXPRESSIONS = (ast.BoolExpr, ast.NullTest, ast.BooleanTest)
_BOOLEAN_KINDS = frozenset({
    A_Expr_Kind.AEXPR_OP_ANY, A_Expr_Kind.AEXPR_OP_ALL, A_Expr_Kind.AEXPR_DISTINCT,
    A_Expr_Kind.AEXPR_NOT_DISTINCT, A_Expr_Kind.AEXPR_IN, A_Expr_Kind.AEXPR_LIKE,
    A_Expr_Kind.AEXPR_ILIKE, A_Expr_Kind.AEXPR_SIMILAR, A_Expr_Kind.AEXPR_BETWEEN,
    A_Expr_Kind.AEXPR_NOT_BETWEEN, A_Expr_Kind.AEXPR_BETWEEN_SYM,
    A_Expr_Kind.AEXPR_NOT_BETWEEN_SYM,
})


def infer_node(node: Any, types: Types) -> Typed | None:
    """The type of one syntax tree node (see :func:`infer`)."""
    if isinstance(node, ast.A_Const):
        return _constant(node)
    if isinstance(node, ast.ColumnRef):
        fields = [getattr(f, "sval", None) for f in node.fields or ()]
        if len(fields) != 1 or fields[0] is None:
            return None
        found = types.columns.get(str(fields[0]))
        return Typed(found, offset=offset_of(node)) if found is not None else None
    if isinstance(node, ast.TypeCast):
        target = type_of_name(node.typeName, types) if node.typeName is not None else None
        return Typed(target, offset=offset_of(node)) if target is not None else None
    if isinstance(node, _BOOLEAN_EXPRESSIONS):
        return Typed(BOOL, offset=offset_of(node))
    if isinstance(node, ast.A_Expr):
        return _a_expr(node, types)
    if isinstance(node, ast.FuncCall):
        return _call(node, types)
    if isinstance(node, ast.CoalesceExpr | ast.MinMaxExpr):
        if isinstance(node, ast.MinMaxExpr) and node.op not in (MinMaxOp.IS_GREATEST,
                                                                MinMaxOp.IS_LEAST):
            return None
        return _common([infer_node(a, types) for a in node.args or ()], node, types)
    if isinstance(node, ast.CaseExpr):
        if node.arg is not None:
            return None  # `CASE x WHEN …` compares with `=`: not modelled
        results = [w.result for w in node.args or ()]
        inferred = [infer_node(r, types) for r in results]
        default = infer_node(node.defresult, types) if node.defresult is not None else Typed(
            UNKNOWN, null=True)
        return _common([*inferred, default], node, types)
    if isinstance(node, ast.SQLValueFunction):
        found = _SQL_VALUE_TYPES.get(node.op) if node.op is not None else None
        return Typed(found, offset=offset_of(node)) if found else None
    if isinstance(node, ast.SubLink):
        if node.subLinkType in (SubLinkType.EXISTS_SUBLINK, SubLinkType.ANY_SUBLINK,
                                SubLinkType.ALL_SUBLINK):
            return Typed(BOOL, offset=offset_of(node))
        return None
    if isinstance(node, ast.CollateClause):
        inner = infer_node(node.arg, types)
        return None if inner is None or inner.type == UNKNOWN else inner
    return None


def _constant(node: ast.A_Const) -> Typed:
    offset = offset_of(node)
    if node.isnull:
        return Typed(UNKNOWN, null=True, offset=offset)
    value = node.val
    if isinstance(value, ast.Integer):
        return Typed("int4", number=str(value.ival), offset=offset)
    if isinstance(value, ast.Float):
        text = str(value.fval)
        return Typed(_number_type(text), number=text, offset=offset)
    if isinstance(value, ast.Boolean):
        return Typed(BOOL, offset=offset)
    if isinstance(value, ast.BitString):
        return Typed("bit", offset=offset)
    return Typed(UNKNOWN, literal=str(getattr(value, "sval", "")), offset=offset)


def _number_type(text: str) -> str:
    """``make_const``: an integer literal is int4, else int8, else numeric."""
    digits = text.lstrip("+-")
    if digits.isdigit():
        value = int(text)
        if _INT4[0] <= value <= _INT4[1]:
            return "int4"
        if _INT8[0] <= value <= _INT8[1]:
            return "int8"
    return "numeric"


def _common(inferred: list[Typed | None], node: Any, types: Types) -> Typed | None:
    if any(t is None for t in inferred):
        return None
    found = common_type([t.type for t in inferred if t is not None], types)
    return Typed(found, offset=offset_of(node)) if found is not None else None


def _a_expr(node: ast.A_Expr, types: Types) -> Typed | None:
    offset = offset_of(node)
    if node.kind in _BOOLEAN_KINDS:
        return Typed(BOOL, offset=offset)
    if node.kind == A_Expr_Kind.AEXPR_NULLIF:
        left, right = infer_node(node.lexpr, types), infer_node(node.rexpr, types)
        if left is None or right is None:
            return None
        equals = _operator("=", [left.type, right.type], types)
        if equals is None or left.type == UNKNOWN:
            return None  # NULLIF's type is the `=` operator's left input type
        first = equals[0][0]
        return Typed(left.type if first in _POLYMORPHIC else first, offset=offset)
    if node.kind != A_Expr_Kind.AEXPR_OP:
        return None
    names = [getattr(n, "sval", None) for n in node.name or ()]
    if len(names) == 2 and names[0] == "pg_catalog":
        names = names[1:]
    if len(names) != 1 or names[0] is None:
        return None
    operands = [node.rexpr] if node.lexpr is None else [node.lexpr, node.rexpr]
    inferred = [infer_node(o, types) for o in operands]
    if any(t is None for t in inferred):
        return None
    found = operator(str(names[0]), [t.type for t in inferred if t is not None], types)
    return Typed(found, offset=offset) if found is not None else None


def _call(node: ast.FuncCall, types: Types) -> Typed | None:
    if (node.agg_star or node.agg_distinct or node.func_variadic or node.over is not None
            or node.agg_order or node.agg_filter is not None or node.agg_within_group):
        return None
    names = [getattr(n, "sval", None) for n in node.funcname or ()]
    if len(names) == 2 and names[0] == "pg_catalog":
        names = names[1:]
    if len(names) != 1 or names[0] is None:
        return None
    args = list(node.args or ())
    if any(isinstance(a, ast.NamedArgExpr) for a in args):
        return None
    inferred = [infer_node(a, types) for a in args]
    if any(t is None for t in inferred):
        return None
    found = function(str(names[0]), [t.type for t in inferred if t is not None], types)
    return Typed(found, offset=offset_of(node)) if found is not None else None
