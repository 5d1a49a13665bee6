"""Enum types: CREATE TYPE ... AS ENUM, ALTER TYPE, and what a rename or drop does to columns.

Columns name an enum type in their type text, so renaming or dropping the type rewrites or
drops those columns; all of an enum's statements live here together.
"""

from __future__ import annotations

from dataclasses import replace

from pglast import ast

from pgroll_dsl.catalog.apply import drop_columns
from pgroll_dsl.catalog.model import Catalog, EnumType
from pgroll_dsl.catalog.sql_ddl.cascade import without_references
from pgroll_dsl.catalog.sql_ddl.lookup import CannotReplay
from pgroll_dsl.catalog.sql_ddl.nodes import local_name, strings
from pgroll_dsl.sql.quoting import quote_type_name


def enum_statement(catalog: Catalog, stmt: ast.CreateEnumStmt | ast.AlterEnumStmt) -> Catalog:
    """CREATE TYPE ... AS ENUM, ALTER TYPE ... ADD VALUE / RENAME VALUE."""
    name = local_name(strings(stmt.typeName), catalog.schema)
    if name is None:
        return catalog
    existing = catalog.enum(name)
    match stmt:
        case ast.CreateEnumStmt():
            if existing is not None:
                raise CannotReplay(f'type "{name}" is already in the catalog')
            return _with_enum(catalog, EnumType(name=name, labels=strings(stmt.vals)))
        case _:
            if existing is None:
                raise CannotReplay(f'type "{name}" is not an enum type in the catalog')
            return _with_enum(catalog, _altered_enum(existing, stmt))


def _altered_enum(enum: EnumType, stmt: ast.AlterEnumStmt) -> EnumType:
    labels = list(enum.labels)
    new = stmt.newVal or ""
    if stmt.oldVal:
        if stmt.oldVal not in labels:
            raise CannotReplay(f'"{stmt.oldVal}" is not a label of type "{enum.name}"')
        labels[labels.index(stmt.oldVal)] = new
    elif new in labels:
        if not stmt.skipIfNewValExists:
            raise CannotReplay(f'"{new}" is already a label of type "{enum.name}"')
    elif stmt.newValNeighbor:
        if stmt.newValNeighbor not in labels:
            raise CannotReplay(f'"{stmt.newValNeighbor}" is not a label of type "{enum.name}"')
        position = labels.index(stmt.newValNeighbor) + (1 if stmt.newValIsAfter else 0)
        labels.insert(position, new)
    else:
        labels.append(new)
    return replace(enum, labels=tuple(labels))


def _with_enum(catalog: Catalog, enum: EnumType) -> Catalog:
    others = [e for e in catalog.enums if e.name != enum.name]
    return replace(catalog, enums=tuple(sorted([*others, enum], key=lambda e: e.name)))


def _enum_types(name: str) -> tuple[str, str]:
    """How columns of the enum type (and of its array type) spell their type."""
    return quote_type_name(name), quote_type_name(name) + "[]"


def rename_enum(catalog: Catalog, old: str, new: str) -> Catalog:
    """The type, and the type of its columns (and of its array's columns)."""
    enum = catalog.enum(old)
    if enum is None:
        raise CannotReplay(f'type "{old}" is not an enum type in the catalog')
    spelled = dict(zip(_enum_types(old), _enum_types(new), strict=True))
    tables = tuple(replace(t, columns=tuple(replace(c, type=spelled.get(c.type, c.type))
                                            for c in t.columns))
                   for t in catalog.tables)
    catalog = replace(catalog, tables=tables,
                      enums=tuple(e for e in catalog.enums if e.name != old))
    return _with_enum(catalog, replace(enum, name=new))


def drop_enum(catalog: Catalog, name: str) -> Catalog:
    """The type, and the columns of that type (PostgreSQL needs CASCADE for those)."""
    spellings = set(_enum_types(name))
    for table in catalog.tables:
        doomed = {c.name for c in table.columns if c.type in spellings}
        if doomed:
            catalog = catalog.with_table(drop_columns(table, doomed))
            catalog = without_references(catalog, table.name, doomed)
    return replace(catalog, enums=tuple(e for e in catalog.enums if e.name != name))
