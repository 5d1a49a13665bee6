"""Differences between two catalogs, for people: what replay expects vs what is there.

Expressions (defaults, checks, predicates) are compared by meaning, not spelling, because
PostgreSQL stores its own normalised text (``sql.expressions.same_expression``).
"""

from __future__ import annotations

from dataclasses import fields

from pgroll_dsl.catalog.model import (
    Catalog,
    Column,
    Constraint,
    ExclusionElement,
    Index,
    Table,
)
from pgroll_dsl.catalog.partitions import same_partition_key
from pgroll_dsl.sql.expressions import same_expression

_EXPRESSION_FIELDS = {"default", "expression", "predicate", "generated"}


def differences(expected: Catalog, actual: Catalog) -> list[str]:
    """Human-readable differences; empty when the catalogs mean the same schema."""
    found: list[str] = []
    names = sorted({t.name for t in expected.tables} | {t.name for t in actual.tables})
    for name in names:
        a, b = expected.table(name), actual.table(name)
        if a is None or b is None:
            found.append(f"table {name}: {'unexpected' if a is None else 'missing'}")
            continue
        found.extend(_table(a, b))
    for label, left, right in (
        ("enum", {e.name: e for e in expected.enums}, {e.name: e for e in actual.enums}),
        ("sequence", {s.name: s for s in expected.sequences},
         {s.name: s for s in actual.sequences}),
    ):
        for key in sorted(left.keys() | right.keys()):
            if left.get(key) != right.get(key):
                found.append(f"{label} {key}: expected {left.get(key)}, found {right.get(key)}")
    return found


def _table(a: Table, b: Table) -> list[str]:
    found = []
    if [c.name for c in a.columns] != [c.name for c in b.columns]:
        found.append(f"table {a.name}: columns {[c.name for c in a.columns]} "
                     f"!= {[c.name for c in b.columns]}")
    for column in a.columns:
        other = b.column(column.name)
        if other is not None:
            found.extend(f"column {a.name}.{column.name}: {d}" for d in _fields(column, other))
    for kind, left, right in (
        ("constraint", {c.name: c for c in a.constraints}, {c.name: c for c in b.constraints}),
        ("index", {i.name: i for i in a.indexes}, {i.name: i for i in b.indexes}),
    ):
        for key in sorted(left.keys() | right.keys()):
            x, y = left.get(key), right.get(key)
            if x is None or y is None:
                found.append(f"{kind} {a.name}.{key}: {'unexpected' if x is None else 'missing'}")
            else:
                found.extend(f"{kind} {a.name}.{key}: {d}" for d in _fields(x, y))
    for attribute in ("comment", "replica_identity", "replica_identity_index", "partition_of",
                      "partition_bound"):
        if getattr(a, attribute) != getattr(b, attribute):
            found.append(f"table {a.name}: {attribute} {getattr(a, attribute)!r} != "
                         f"{getattr(b, attribute)!r}")
    if not same_partition_key(a.partition_by, b.partition_by):
        found.append(f"table {a.name}: partition_by {a.partition_by!r} != {b.partition_by!r}")
    return found


def _fields(a: Column | Constraint | Index, b: Column | Constraint | Index) -> list[str]:
    found = []
    for field in fields(a):
        x, y = getattr(a, field.name), getattr(b, field.name)
        if field.name in _EXPRESSION_FIELDS:
            same = same_expression(x, y)
        elif field.name == "elements":
            same = _same_elements(x, y)
        else:
            same = x == y
        if not same:
            found.append(f"{field.name} {x!r} != {y!r}")
    return found


def _same_elements(a: tuple[ExclusionElement, ...], b: tuple[ExclusionElement, ...]) -> bool:
    """Exclusion elements: a key may be an expression, compared by meaning."""
    return len(a) == len(b) and all(
        x.operator == y.operator and x.options == y.options and same_expression(x.key, y.key)
        for x, y in zip(a, b, strict=True))
