"""ALTER ... RENAME and SET SCHEMA: a name changes, and whatever refers to it follows.

Foreign keys, owned sequences, constraint columns and backing indexes follow a renamed
table, column, constraint or index; enum types and sequences are renamed by their modules.
"""

from __future__ import annotations

from dataclasses import replace

from pglast import ast
from pglast.enums import ObjectType

from pgroll_dsl.catalog.apply import (
    owned_sequences,
    renamed_constraint,
    retarget_references,
    sorted_indexes,
)
from pgroll_dsl.catalog.model import Catalog, Constraint, Table
from pgroll_dsl.catalog.naming import Names
from pgroll_dsl.catalog.partitions import with_parent_renamed
from pgroll_dsl.catalog.sql_ddl.enums import rename_enum
from pgroll_dsl.catalog.sql_ddl.lookup import (
    NOT_A_CHANGE,
    CannotReplay,
    column_or_fail,
    table_or_fail,
)
from pgroll_dsl.catalog.sql_ddl.nodes import local_name, relation, strings
from pgroll_dsl.catalog.sql_ddl.sequences import rename_sequence, sequence_named


def rename_statement(catalog: Catalog, stmt: ast.RenameStmt) -> Catalog:
    """ALTER ... RENAME for tables (and other relations), columns, constraints, types."""
    new = stmt.newname or ""
    match stmt.renameType:
        case ObjectType.OBJECT_TABLE | ObjectType.OBJECT_INDEX | ObjectType.OBJECT_SEQUENCE:
            old = relation(stmt.relation, catalog.schema)
            return catalog if old is None else _rename_relation(catalog, old, new, stmt)
        case ObjectType.OBJECT_COLUMN | ObjectType.OBJECT_TABCONSTRAINT:
            name = relation(stmt.relation, catalog.schema)
            if name is None or (catalog.table(name) is None and stmt.missing_ok):
                return catalog
            table = table_or_fail(catalog, name)
            if stmt.renameType is ObjectType.OBJECT_COLUMN:
                return _rename_column(catalog, table, stmt.subname or "", new)
            return catalog.with_table(_rename_constraint(table, stmt.subname or "", new))
        case ObjectType.OBJECT_TYPE:
            old = local_name(strings(stmt.object), catalog.schema)
            return catalog if old is None else rename_enum(catalog, old, new)
        case _:
            raise CannotReplay(NOT_A_CHANGE)


def _rename_relation(catalog: Catalog, old: str, new: str, stmt: ast.RenameStmt) -> Catalog:
    if new in Names.of(catalog).relations:
        raise CannotReplay(f'relation "{new}" is already in the catalog')
    if catalog.table(old) is not None:
        return _rename_table(catalog, old, new)
    if catalog.index(old) is not None:
        return _rename_index(catalog, old, new)
    if sequence_named(catalog, old) is not None:
        return rename_sequence(catalog, old, new)
    if stmt.missing_ok:
        return catalog
    raise CannotReplay(f'relation "{old}" is not in the catalog')


def _rename_table(catalog: Catalog, old: str, new: str) -> Catalog:
    """Foreign keys and owned sequences follow; constraint and index names do not."""
    table = catalog.table(old)
    assert table is not None
    catalog = catalog.without_table(old).with_table(replace(table, name=new, physical=new))
    catalog = with_parent_renamed(catalog, old, new)
    tables = tuple(retarget_references(t, old, new) for t in catalog.tables)
    sequences = tuple(replace(s, owned_by_table=new) if s.owned_by_table == old else s
                      for s in catalog.sequences)
    return replace(catalog, tables=tables, sequences=sequences)


def _rename_index(catalog: Catalog, old: str, new: str) -> Catalog:
    """The constraint an index backs is renamed with it."""
    found = catalog.index(old)
    assert found is not None
    table, index = found
    if index.constraint is not None:
        return catalog.with_table(_rename_constraint(table, index.constraint, new))
    return catalog.with_table(replace(table, indexes=sorted_indexes(
        [replace(i, name=new) if i.name == old else i for i in table.indexes])))


def _rename_column(catalog: Catalog, table: Table, old: str, new: str) -> Catalog:
    """Constraints, indexes, foreign keys elsewhere and the owned sequence follow."""
    column_or_fail(table, old)
    if table.column(new) is not None:
        raise CannotReplay(f'column "{new}" of table "{table.name}" is already in the catalog')

    def names(columns: tuple[str, ...]) -> tuple[str, ...]:
        return tuple(new if c == old else c for c in columns)

    def constraint(c: Constraint, own: bool) -> Constraint:
        ref = c.references
        if ref is not None and ref.points_at(table.name):
            c = replace(c, references=replace(ref, columns=names(ref.columns)))
        if own and c.references is not None:
            c = replace(c, references=replace(c.references, on_delete_set_columns=names(
                c.references.on_delete_set_columns)))
        if not own:
            return c
        return replace(c, columns=names(c.columns), include=names(c.include), elements=tuple(
            replace(e, key=new) if e.key == old else e for e in c.elements))

    family = {table.name, *_descendants(catalog, table.name)}  # partitions rename it too
    tables = tuple(
        replace(
            t,
            columns=tuple(replace(c, name=new, physical=new) if c.name == old else c
                          for c in t.columns) if t.name in family else t.columns,
            constraints=tuple(constraint(c, t.name in family) for c in t.constraints),
            indexes=tuple(replace(i, columns=names(i.columns), include=names(i.include))
                          for i in t.indexes)
            if t.name in family else t.indexes,
        )
        for t in catalog.tables
    )
    return owned_sequences(replace(catalog, tables=tables), table.name, old, new)


def _descendants(catalog: Catalog, name: str) -> list[str]:
    found = []
    for partition in catalog.partitions(name):
        found += [partition.name, *_descendants(catalog, partition.name)]
    return found


def _rename_constraint(table: Table, old: str, new: str) -> Table:
    if table.constraint(old) is None:
        raise CannotReplay(f'constraint "{old}" of table "{table.name}" is not in the catalog')
    return renamed_constraint(table, old, new)


def set_schema(catalog: Catalog, stmt: ast.AlterObjectSchemaStmt) -> Catalog:
    """ALTER TABLE ... SET SCHEMA: a table moved out of the schema leaves the model."""
    if stmt.objectType is not ObjectType.OBJECT_TABLE:
        raise CannotReplay(NOT_A_CHANGE)
    name = relation(stmt.relation, catalog.schema)
    if name is None:
        if stmt.newschema == catalog.schema:
            raise CannotReplay("the model does not know the columns of a table moved in")
        return catalog
    if stmt.newschema == catalog.schema or (catalog.table(name) is None and stmt.missing_ok):
        return catalog
    table_or_fail(catalog, name)
    moved = f"{stmt.newschema}.{name}"  # foreign keys elsewhere now name it qualified
    catalog = _rename_table(catalog, name, moved)
    return replace(catalog.without_table(moved), sequences=tuple(
        s for s in catalog.sequences if s.owned_by_table != moved))
