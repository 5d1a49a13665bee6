"""PostgreSQL's names for unnamed constraints and indexes, so replay matches the database.

``ChooseConstraintName`` / ``ChooseRelationName``: the 63-byte cut of ``makeObjectName``, a
number appended on a clash, index columns named by ``FigureIndexColname``, and the order in
which one ``CREATE TABLE`` names its constraints (checks, indexes with the primary key
first, foreign keys), identical key specifications merged.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace

from pglast import ast

from pgroll_dsl import ir
from pgroll_dsl.catalog.model import Constraint
from pgroll_dsl.catalog.naming import NAMEDATALEN, Names
from pgroll_dsl.catalog.sql_ddl.nodes import column_refs, strings

Kind = ir.ConstraintType

_LABELS = {Kind.PRIMARY_KEY: "pkey", Kind.UNIQUE: "key", Kind.EXCLUDE: "excl",
           Kind.CHECK: "check", Kind.FOREIGN_KEY: "fkey"}
_INDEX_BACKED = frozenset({Kind.PRIMARY_KEY, Kind.UNIQUE, Kind.EXCLUDE})


def index_column_names(raw: Iterable[str]) -> list[str]:
    """PostgreSQL's ``ChooseIndexColumnNames``: repeated names get ``1``, ``2``... appended."""
    chosen: list[str] = []
    for name in raw:
        candidate, attempt = name, 0
        while candidate in chosen:
            attempt += 1
            suffix = str(attempt).encode()
            clipped = name.encode()[: NAMEDATALEN - 1 - len(suffix)].decode(errors="ignore")
            candidate = clipped + suffix.decode()
        chosen.append(candidate)
    return chosen


def _figure_name(expression: ast.Node | None) -> str:
    """PostgreSQL's ``FigureIndexColname``: what an expression index column is named after."""
    match expression:
        case ast.FuncCall():
            return strings(expression.funcname)[-1]
        case ast.ColumnRef():
            return (column_refs(expression) or ("expr",))[0]
        case ast.TypeCast() | ast.CollateClause():
            return _figure_name(expression.arg)
        case ast.CoalesceExpr():
            return "coalesce"
        case ast.MinMaxExpr():
            return "greatest" if expression.op == 0 else "least"
        case ast.A_ArrayExpr():
            return "array"
        case ast.RowExpr():
            return "row"
        case _:
            return "expr"


def element_name(element: ast.IndexElem) -> str:
    """What an index element contributes to a generated name: its column or expression."""
    return element.indexcolname or element.name or _figure_name(element.expr)


@dataclass(frozen=True, slots=True)
class Pending:
    """A constraint as written; ``name`` stays empty until PostgreSQL's rule picks one."""

    constraint: Constraint
    hint: tuple[str, ...] = ()  # the column names PostgreSQL puts into a generated name
    include: tuple[str, ...] = ()


def named_constraints(table: str, pending: list[Pending], names: Names) -> list[Constraint]:
    """Names for unnamed constraints, in PostgreSQL's order: checks, indexes, foreign keys."""
    checks = [p for p in pending if p.constraint.type is Kind.CHECK]
    keys = _deduplicated([p for p in pending if p.constraint.type in _INDEX_BACKED])
    foreign = [p for p in pending if p.constraint.type is Kind.FOREIGN_KEY]
    named = [_named(p, table, names, index=False) for p in checks]
    named += [_named(p, table, names, index=True) for p in keys]
    return named + [_named(p, table, names, index=False) for p in foreign]


def _named(pending: Pending, table: str, names: Names, *, index: bool) -> Constraint:
    constraint = pending.constraint
    if constraint.name:
        names.take(constraint.name, relation=index, constraint=True)
        return constraint
    label = _LABELS[constraint.type]
    if constraint.type is Kind.PRIMARY_KEY or not pending.hint:
        name2 = None
    elif constraint.type is Kind.CHECK:
        name2 = pending.hint[0]
    else:
        name2 = "_".join(pending.hint)
    return replace(constraint, name=names.choose(table, name2, label, relation=index,
                                                 constraint=True))


def _deduplicated(pending: list[Pending]) -> list[Pending]:
    """One index per key specification, the primary key first; a name moves to the kept one."""
    ordered = sorted(pending, key=lambda p: p.constraint.type is not Kind.PRIMARY_KEY)
    kept: list[Pending] = []
    for candidate in ordered:
        twin = next((i for i, k in enumerate(kept) if _same_index(k, candidate)), None)
        if twin is None:
            kept.append(candidate)
        elif not kept[twin].constraint.name and candidate.constraint.name:
            named = replace(kept[twin].constraint, name=candidate.constraint.name)
            kept[twin] = replace(kept[twin], constraint=named)
    return kept


def _same_index(a: Pending, b: Pending) -> bool:
    first, second = a.constraint, b.constraint
    keys = {Kind.PRIMARY_KEY, Kind.UNIQUE}
    same_kind = {first.type, second.type} <= keys or first.type is second.type
    return same_kind and a.include == b.include and replace(
        first, name="", type=Kind.UNIQUE) == replace(second, name="", type=Kind.UNIQUE)
