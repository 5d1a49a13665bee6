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
from pgroll_dsl.catalog.model import Catalog, Constraint
from pgroll_dsl.catalog.sql_ddl.nodes import column_refs, strings

Kind = ir.ConstraintType

_NAMEDATALEN = 64
_LABELS = {Kind.PRIMARY_KEY: "pkey", Kind.UNIQUE: "key", Kind.EXCLUDE: "excl",
           Kind.CHECK: "check", Kind.FOREIGN_KEY: "fkey"}
_INDEX_BACKED = frozenset({Kind.PRIMARY_KEY, Kind.UNIQUE, Kind.EXCLUDE})


def _object_name(name1: str, name2: str | None, label: str) -> str:
    """PostgreSQL's ``makeObjectName``: ``name1_name2_label`` cut to fit 63 bytes."""
    part1, part2 = name1.encode(), (name2 or "").encode()
    overhead = len(label.encode()) + 1 + (1 if name2 is not None else 0)
    available = _NAMEDATALEN - 1 - overhead
    size1, size2 = len(part1), len(part2)
    while size1 + size2 > available:
        if size1 > size2:
            size1 -= 1
        else:
            size2 -= 1
    pieces = [part1[:size1].decode(errors="ignore")]
    if name2 is not None:
        pieces.append(part2[:size2].decode(errors="ignore"))
    return "_".join([*pieces, label])


@dataclass(slots=True)
class Names:
    """Names in use in the schema, so that a generated name avoids them as PostgreSQL does."""

    relations: set[str]
    constraints: set[str]

    @classmethod
    def of(cls, catalog: Catalog) -> Names:
        """The relation and constraint names the catalog holds."""
        relations = {t.name for t in catalog.tables} | {s.name for s in catalog.sequences}
        relations |= {i.name for t in catalog.tables for i in t.indexes}
        return cls(relations, {c.name for t in catalog.tables for c in t.constraints})

    def take(self, name: str, *, relation: bool, constraint: bool) -> str:
        """Record a name as used (as a relation, a constraint or both) and return it."""
        if relation:
            self.relations.add(name)
        if constraint:
            self.constraints.add(name)
        return name

    def choose(self, name1: str, name2: str | None, label: str, *, relation: bool,
               constraint: bool) -> str:
        """The first free ``name1_name2_label``, ``..._label1``, ``..._label2``..."""
        attempt = 0
        while True:
            name = _object_name(name1, name2, label + (str(attempt) if attempt else ""))
            if not ((relation and name in self.relations)
                    or (constraint and name in self.constraints)):
                return self.take(name, relation=relation, constraint=constraint)
            attempt += 1


def index_column_names(raw: Iterable[str]) -> list[str]:
    """PostgreSQL's ``ChooseIndexColumnNames``: repeated names get ``1``, ``2``... appended."""
    chosen: list[str] = []
    for name in raw:
        candidate, attempt = name, 0
        while candidate in chosen:
            attempt += 1
            suffix = str(attempt).encode()
            clipped = name.encode()[: _NAMEDATALEN - 1 - len(suffix)].decode(errors="ignore")
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
