"""DROP TABLE / INDEX / TYPE / SEQUENCE: each object in turn, with what CASCADE takes along.

Tables and indexes are dropped here; enum types and sequences by their own modules.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace

from pglast import ast
from pglast.enums import ObjectType

from pgroll_dsl.catalog.model import Catalog
from pgroll_dsl.catalog.sql_ddl.cascade import without_references
from pgroll_dsl.catalog.sql_ddl.enums import drop_enum
from pgroll_dsl.catalog.sql_ddl.lookup import NOT_A_CHANGE, CannotReplay
from pgroll_dsl.catalog.sql_ddl.nodes import local_name, strings
from pgroll_dsl.catalog.sql_ddl.sequences import drop_sequence, sequence_named


def drop_statement(catalog: Catalog, stmt: ast.DropStmt) -> Catalog:
    """DROP TABLE / INDEX / TYPE / SEQUENCE, each object in turn."""
    present, drop = _dropper(stmt.removeType)
    missing = []
    for name in _drop_names(stmt, catalog.schema):
        if present(catalog, name):
            catalog = drop(catalog, name)
        elif not stmt.missing_ok:
            missing.append(f'"{name}"')
    if missing:
        raise CannotReplay(f"{', '.join(missing)} not in the catalog", partial=catalog)
    return catalog


def _dropper(kind: ObjectType | None) -> tuple[Callable[[Catalog, str], bool],
                                               Callable[[Catalog, str], Catalog]]:
    """How to tell an object of this kind exists, and how to drop it."""
    match kind:
        case ObjectType.OBJECT_TABLE:
            return (lambda c, n: c.table(n) is not None), _drop_table
        case ObjectType.OBJECT_INDEX:
            return (lambda c, n: c.index(n) is not None), _drop_index
        case ObjectType.OBJECT_TYPE:
            return (lambda c, n: c.enum(n) is not None), drop_enum
        case ObjectType.OBJECT_SEQUENCE:
            return (lambda c, n: sequence_named(c, n) is not None), drop_sequence
        case _:
            raise CannotReplay(NOT_A_CHANGE)


def _drop_names(stmt: ast.DropStmt, schema: str) -> list[str]:
    names = []
    for item in stmt.objects or ():
        parts = strings(item.names) if isinstance(item, ast.TypeName) else strings(item)
        name = local_name(parts, schema)
        if name is not None:
            names.append(name)
    return names


def _drop_table(catalog: Catalog, name: str) -> Catalog:
    """The table, and its partitions at every depth."""
    for partition in catalog.partitions(name):
        catalog = _drop_table(catalog, partition.name)
    return without_references(catalog.without_table(name), name, None)


def _drop_index(catalog: Catalog, name: str) -> Catalog:
    """The index, and the constraint it backs (PostgreSQL needs CASCADE for that)."""
    found = catalog.index(name)
    assert found is not None
    table, index = found
    return catalog.with_table(replace(
        table,
        indexes=tuple(i for i in table.indexes if i.name != name),
        constraints=tuple(c for c in table.constraints if c.name != index.constraint),
    ))
