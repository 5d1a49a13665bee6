"""ALTER TABLE subcommands and COMMENT ON: changes to a table the catalog already holds.

Each subcommand is applied on its own, so one that cannot be replayed leaves the others in
place (the statement then warns with the catalog as far as it got).
"""

from __future__ import annotations

from dataclasses import replace

from pglast import ast
from pglast.enums import AlterTableType, ConstrType, ObjectType

from pgroll_dsl import ir
from pgroll_dsl.catalog.apply import (
    drop_columns,
    owned_sequences,
    sorted_constraints,
    sorted_indexes,
    with_sequences,
)
from pgroll_dsl.catalog.model import Catalog, Constraint, Table
from pgroll_dsl.catalog.naming import Names
from pgroll_dsl.catalog.sql_ddl.cascade import without_dependants, without_references
from pgroll_dsl.catalog.sql_ddl.columns import (
    NewColumn,
    column_def,
    identity_sequence_name,
    place_sequences,
    with_identity,
)
from pgroll_dsl.catalog.sql_ddl.constraints import pending_constraint
from pgroll_dsl.catalog.sql_ddl.create_table import extend_table
from pgroll_dsl.catalog.sql_ddl.lookup import (
    NOT_A_CHANGE,
    CannotReplay,
    change_column,
    column_or_fail,
    table_or_fail,
)
from pgroll_dsl.catalog.sql_ddl.nodes import local_name, option_named, relation, strings
from pgroll_dsl.catalog.sql_ddl.partitions import attach_partition, detach_partition
from pgroll_dsl.catalog.sql_ddl.types import type_text
from pgroll_dsl.sql.spans import TokenSpan, element_span, regenerated

Kind = ir.ConstraintType

_REPLICA_IDENTITY = {"d": "default", "n": "nothing", "f": "full", "i": "index"}


def alter_table(catalog: Catalog, stmt: ast.AlterTableStmt, span: TokenSpan) -> Catalog:
    """ALTER TABLE: each subcommand in turn, keeping those that could be applied."""
    if stmt.objtype is not ObjectType.OBJECT_TABLE:
        raise CannotReplay(NOT_A_CHANGE)
    name = relation(stmt.relation, catalog.schema)
    if name is None or (catalog.table(name) is None and stmt.missing_ok):
        return catalog
    table_or_fail(catalog, name)
    commands = [c for c in stmt.cmds or () if isinstance(c, ast.AlterTableCmd)]
    pieces = span.pieces()
    exact = len(pieces) == len(commands)
    problems = []
    for number, command in enumerate(commands):
        piece = pieces[number] if exact else None
        try:
            catalog = _alter_command(catalog, name, command, piece or span, exact)
        except CannotReplay as problem:
            catalog = problem.partial or catalog
            problems.append(problem.reason)
    if problems:
        raise CannotReplay("; ".join(problems), partial=catalog)
    return catalog


def _alter_command(catalog: Catalog, table: str, command: ast.AlterTableCmd, piece: TokenSpan,
                   exact: bool) -> Catalog:
    """Dispatch on the subcommand (``exact``: ``piece`` holds this subcommand alone)."""
    match command.subtype:
        case AlterTableType.AT_AddColumn:
            return _add_column(catalog, table, command, piece)
        case AlterTableType.AT_DropColumn:
            return _drop_column(catalog, table, command)
        case AlterTableType.AT_AddConstraint:
            return _add_constraint(catalog, table, command, piece)
        case AlterTableType.AT_DropConstraint:
            return _drop_constraint(catalog, table, command)
        case subtype if subtype in _COLUMN_COMMANDS:
            return _alter_column(catalog, table, command, piece if exact else None)
        case AlterTableType.AT_AttachPartition:
            return attach_partition(catalog, table, command)
        case AlterTableType.AT_DetachPartition | AlterTableType.AT_DetachPartitionFinalize:
            return detach_partition(catalog, table, command)
        case _:
            return catalog.with_table(_alter_table_only(table_or_fail(catalog, table), command))


_COLUMN_COMMANDS = frozenset({
    AlterTableType.AT_ColumnDefault, AlterTableType.AT_SetNotNull, AlterTableType.AT_DropNotNull,
    AlterTableType.AT_AlterColumnType, AlterTableType.AT_DropExpression,
    AlterTableType.AT_SetExpression, AlterTableType.AT_AddIdentity,
    AlterTableType.AT_DropIdentity, AlterTableType.AT_SetIdentity,
})


def _alter_column(catalog: Catalog, table: str, command: ast.AlterTableCmd,
                  piece: TokenSpan | None) -> Catalog:
    """ALTER COLUMN subcommands; ``piece`` None when the author's text cannot be found."""
    match command.subtype:
        case AlterTableType.AT_ColumnDefault:
            default = _text_after(piece, "DEFAULT", command.def_) if command.def_ else None
            return change_column(catalog, table, command.name, default=default)
        case AlterTableType.AT_SetNotNull | AlterTableType.AT_DropNotNull:
            return change_column(catalog, table, command.name,
                                 nullable=command.subtype is AlterTableType.AT_DropNotNull)
        case AlterTableType.AT_AlterColumnType:
            definition = command.def_
            assert isinstance(definition, ast.ColumnDef)
            return change_column(catalog, table, command.name,
                                 type=type_text(definition.typeName, catalog.schema))
        case AlterTableType.AT_DropExpression | AlterTableType.AT_SetExpression:
            generated = _text_after(piece, "AS", command.def_) if command.def_ else None
            return change_column(catalog, table, command.name, generated=generated)
        case AlterTableType.AT_SetIdentity:
            return _set_identity(catalog, table, command)
        case _:
            return _alter_identity(catalog, table, command)


def _text_after(piece: TokenSpan | None, keyword: str, node: object) -> str | None:
    """The author's text after ``keyword`` (without the parentheses of ``AS (...)``)."""
    found = piece.keyword(piece.first, keyword) if piece is not None else None
    if piece is None or found is None:
        return regenerated(node if isinstance(node, ast.Node) else None)
    if keyword == "AS":
        return piece.inner(found)
    return piece.text(found + 1, piece.stop(found + 1))


def _alter_table_only(table: Table, command: ast.AlterTableCmd) -> Table:
    """Subcommands that change this table alone."""
    match command.def_, command.subtype:
        case (ast.ReplicaIdentityStmt() as stmt, _):
            return replace(table, replica_identity=_REPLICA_IDENTITY[stmt.identity_type or "d"],
                           replica_identity_index=stmt.name)
        case (ast.ATAlterConstraint() as change, _):
            return _change_constraint(table, change.conname, change)
        case (_, AlterTableType.AT_ValidateConstraint):
            return _change_constraint(table, command.name, None)
        case _:
            subtype = command.subtype.name if command.subtype is not None else "?"
            raise CannotReplay(f"ALTER TABLE {subtype.removeprefix('AT_')} is not replayed")


def _change_constraint(table: Table, name: str | None,
                       change: ast.ATAlterConstraint | None) -> Table:
    """VALIDATE CONSTRAINT (``change`` None) or ALTER CONSTRAINT ... [NOT] DEFERRABLE."""
    constraint = table.constraint(name or "")
    if constraint is None:
        raise CannotReplay(f'constraint "{name}" of table "{table.name}" is not in the catalog')
    if change is None:
        changed = replace(constraint, validated=True)
    elif change.alterDeferrability:
        changed = replace(constraint, deferrable=bool(change.deferrable),
                          initially_deferred=bool(change.initdeferred))
    else:
        raise CannotReplay("ALTER CONSTRAINT other than DEFERRABLE is not replayed")
    return replace(table, constraints=tuple(changed if c.name == constraint.name else c
                                            for c in table.constraints))


def _add_column(catalog: Catalog, table_name: str, command: ast.AlterTableCmd,
                piece: TokenSpan) -> Catalog:
    table = table_or_fail(catalog, table_name)
    definition = command.def_
    assert isinstance(definition, ast.ColumnDef)
    if table.column(definition.colname or "") is not None:
        if command.missing_ok:
            return catalog
        raise CannotReplay(f'column "{definition.colname}" of table "{table.name}" is '
                           "already in the catalog")
    new = column_def(definition, piece, catalog.schema)
    return extend_table(catalog, table, [new], list(new.constraints))


def _add_constraint(catalog: Catalog, table_name: str, command: ast.AlterTableCmd,
                    piece: TokenSpan) -> Catalog:
    table = table_or_fail(catalog, table_name)
    node = command.def_
    assert isinstance(node, ast.Constraint)
    if node.contype is ConstrType.CONSTR_NOTNULL:
        return _set_not_null(catalog, table, strings(node.keys))
    if node.indexname:
        return catalog.with_table(_constraint_using_index(table, node))
    part = element_span(piece, node.location)
    return extend_table(catalog, table, [], [pending_constraint(node, part, catalog.schema)])


def _set_not_null(catalog: Catalog, table: Table, names: tuple[str, ...]) -> Catalog:
    for name in names:
        column_or_fail(table, name)
    columns = tuple(replace(c, nullable=False) if c.name in names else c for c in table.columns)
    return catalog.with_table(replace(table, columns=columns))


def _constraint_using_index(table: Table, node: ast.Constraint) -> Table:
    """ADD CONSTRAINT ... PRIMARY KEY / UNIQUE USING INDEX: the index takes the name."""
    index = table.index(node.indexname or "")
    if index is None:
        raise CannotReplay(f'index "{node.indexname}" is not in the catalog')
    name = node.conname or index.name
    primary = node.contype is ConstrType.CONSTR_PRIMARY
    constraint = Constraint(name=name, type=Kind.PRIMARY_KEY if primary else Kind.UNIQUE,
                            columns=index.columns, include=index.include,
                            storage_parameters=index.storage_parameters,
                            tablespace=index.tablespace,
                            nulls_not_distinct=index.nulls_not_distinct,
                            deferrable=bool(node.deferrable),
                            initially_deferred=bool(node.initdeferred))
    indexes = [replace(i, name=name, constraint=name) if i.name == index.name else i
               for i in table.indexes]
    columns = tuple(replace(c, nullable=False) if primary and c.name in index.columns else c
                    for c in table.columns)
    return replace(table, columns=columns,
                   constraints=sorted_constraints((*table.constraints, constraint)),
                   indexes=sorted_indexes(indexes))


def _drop_constraint(catalog: Catalog, table_name: str, command: ast.AlterTableCmd) -> Catalog:
    table = table_or_fail(catalog, table_name)
    if table.constraint(command.name or "") is None:
        if command.missing_ok:
            return catalog
        raise CannotReplay(f'constraint "{command.name}" of table "{table.name}" is not in '
                           "the catalog")
    return catalog.with_table(replace(
        table,
        constraints=tuple(c for c in table.constraints if c.name != command.name),
        indexes=tuple(i for i in table.indexes if i.constraint != command.name),
    ))


def _drop_column(catalog: Catalog, table_name: str, command: ast.AlterTableCmd) -> Catalog:
    """DROP COLUMN: with its constraints, indexes, sequence and foreign keys to it."""
    table = table_or_fail(catalog, table_name)
    name = command.name or ""
    if table.column(name) is None:
        if command.missing_ok:
            return catalog
        column_or_fail(table, name)
    catalog = catalog.with_table(drop_columns(without_dependants(table, name), {name}))
    return without_references(catalog, table.name, {name})


def _alter_identity(catalog: Catalog, table_name: str, command: ast.AlterTableCmd) -> Catalog:
    """ADD GENERATED ... AS IDENTITY (NOT NULL, a sequence) or DROP IDENTITY."""
    table = table_or_fail(catalog, table_name)
    column = column_or_fail(table, command.name)
    if command.subtype is AlterTableType.AT_DropIdentity:
        if column.identity is None and command.missing_ok:
            return catalog
        catalog = change_column(catalog, table.name, column.name, identity=None)
        return owned_sequences(catalog, table.name, column.name, None)
    node = command.def_
    assert isinstance(node, ast.Constraint)
    changed = replace(with_identity(column, node), nullable=False)
    new = NewColumn(changed, (), sequence=True, sequence_name=identity_sequence_name(node))
    names = Names.of(catalog)
    _, sequences = place_sequences(table.name, [new], names)
    catalog = change_column(catalog, table.name, column.name, identity=changed.identity,
                            nullable=False)
    return with_sequences(catalog, sequences)


def _set_identity(catalog: Catalog, table: str, command: ast.AlterTableCmd) -> Catalog:
    """ALTER COLUMN ... SET GENERATED ALWAYS / BY DEFAULT; sequence options are not modelled."""
    generated = option_named(command.def_, "generated")
    if generated is not None and isinstance(generated.arg, ast.Integer):
        values = (ir.IdentityValues.ALWAYS if generated.arg.ival == ord("a")
                  else ir.IdentityValues.BY_DEFAULT)
        catalog = change_column(catalog, table, command.name, identity=values)
    options = command.def_ if isinstance(command.def_, tuple) else ()
    if any(isinstance(o, ast.DefElem) and o.defname != "generated" for o in options):
        raise CannotReplay("identity sequence options are not modelled", partial=catalog)
    return catalog


def comment_statement(catalog: Catalog, stmt: ast.CommentStmt) -> Catalog:
    """COMMENT ON TABLE / COLUMN (IS NULL removes the comment)."""
    parts = strings(stmt.object)
    match stmt.objtype:
        case ObjectType.OBJECT_TABLE:
            name = local_name(parts, catalog.schema)
            if name is None:
                return catalog
            table = table_or_fail(catalog, name)
            return catalog.with_table(replace(table, comment=stmt.comment or None))
        case ObjectType.OBJECT_COLUMN:
            name = local_name(parts[:-1], catalog.schema)
            if name is None:
                return catalog
            return change_column(catalog, name, parts[-1], comment=stmt.comment or None)
        case _:
            raise CannotReplay("only comments on tables and columns are modelled")
