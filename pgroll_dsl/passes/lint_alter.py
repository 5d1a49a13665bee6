"""ALTER TABLE for the safety linter: the statement, then each subcommand as a place.

The statement's place carries the strongest lock its subcommands take (for the
statement_timeout rule); each subcommand's place carries what its rules need: a new column's
rewrite reason, a type change's old type (from the catalog), whether a valid CHECK (c IS NOT
NULL) spares SET NOT NULL its scan, and the DSL operation that does the same change. The
second and later subcommands are placed where they are in the script.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from pglast import ast
from pglast.enums import AlterTableType, ConstrType

from pgroll_dsl.catalog.model import Table
from pgroll_dsl.catalog.sql_ddl.types import is_serial_type
from pgroll_dsl.ir import ConstraintType
from pgroll_dsl.passes.lint_context import Context, Place
from pgroll_dsl.passes.lint_model import (
    GENERATED,
    IDENTITY,
    OLD_DEFAULT,
    SERIAL,
    VOLATILE_DEFAULT,
)
from pgroll_dsl.passes.lint_nodes import (
    CONSTRAINT_KINDS,
    alter_lock,
    constraint_names,
    constraints,
    dsl,
    expression,
    is_column,
    is_null,
    not_null_column,
    relname,
    required,
    spelled,
    type_of,
)
from pgroll_dsl.sql.expressions import is_volatile
from pgroll_dsl.sql.spans import TokenSpan, regenerated

_AT = AlterTableType


@dataclass(frozen=True, slots=True)
class _Command:
    """One subcommand and what its places share."""

    cmd: ast.AlterTableCmd
    table: str
    existing: Table | None  # the table in the catalog, when known
    piece: TokenSpan  # the subcommand's tokens
    where: tuple[int, int]  # offset and width of a finding on it
    new: bool  # the table, or the column, was created by this SQL

    @property
    def kind(self) -> AlterTableType:
        """The subcommand's type (commands without one are skipped before)."""
        assert self.cmd.subtype is not None
        return self.cmd.subtype

    @property
    def column(self) -> str:
        """The column (or constraint) the subcommand names, or ''."""
        return self.cmd.name or ""

    def names(self) -> dict[str, str]:
        """The names every message about the subcommand may quote."""
        return {"table": self.table, "column": self.column or "…", "name": self.cmd.name or "…"}


def alter_table(ctx: Context, stmt: ast.AlterTableStmt, part: TokenSpan) -> Iterator[Place]:
    """The statement's place, then each subcommand's."""
    table = relname(stmt.relation)
    existing = ctx.table(stmt.relation)
    commands = stmt.cmds or ()
    pieces = part.pieces()
    if len(pieces) != len(commands):
        pieces = [part] * len(commands)
    lock = alter_lock(commands)
    first = ctx.at(pieces[0] if pieces else part)
    names = {"table": table, "what": "ALTER TABLE", "lock": lock or ""}
    yield ctx.place(type(stmt), stmt, first, names=names, new=table in ctx.created, lock=lock)
    for index, cmd in enumerate(commands):
        if cmd.subtype is None:
            continue
        where = first if index == 0 else ctx.at(pieces[index])
        new = table in ctx.created or (table, cmd.name or "") in ctx.columns
        yield from _command(ctx, _Command(cmd, table, existing, pieces[index], where, new))


def _command(ctx: Context, c: _Command) -> Iterator[Place]:
    special = _SPECIAL.get(c.kind)
    if special is not None:
        yield from special(ctx, c)
        return
    t, col = dsl(c.table), dsl(c.column)
    maker = _OPERATIONS.get(c.kind)
    operation = maker(c, t, col) if maker is not None else None
    facts: dict[str, Any] = {}
    if c.cmd.subtype is _AT.AT_SetNotNull:
        facts["not_null_proven"] = _proven(ctx, c.table, c.column, c.existing)
    elif c.cmd.subtype is _AT.AT_ValidateConstraint and c.cmd.name in ctx.pending:
        ctx.proven.add(ctx.pending.pop(c.cmd.name))
    yield ctx.place(c.kind, c.cmd, c.where, names=c.names(), new=c.new,
                    operation=operation, **facts)


# The DSL statement that does what a plain subcommand does (`use-operation`, PGD430).
_OPERATIONS: dict[Any, Callable[[_Command, str, str], str | None]] = {
    _AT.AT_SetNotNull: lambda c, t, col: f"alter table {t} alter {col} set not null up …",
    _AT.AT_DropNotNull: lambda c, t, col: f"alter table {t} alter {col} drop not null down …",
    _AT.AT_ColumnDefault: lambda c, t, col: (
        f"alter table {t} alter {col} "
        f"{'set default …' if c.cmd.def_ is not None else 'drop default'}"),
    _AT.AT_DropConstraint: lambda c, t, col: f"alter table {t} drop constraint {col} down …",
    _AT.AT_DropColumn: lambda c, t, col: f"alter table {t} drop {col} down …",
    _AT.AT_ReplicaIdentity: lambda c, t, col: f"alter table {t} replica identity …",
}


def _add_column(ctx: Context, c: _Command) -> Iterator[Place]:
    definition = c.cmd.def_
    if not isinstance(definition, ast.ColumnDef):
        yield _plain(ctx, c)
        return
    column = definition.colname or ""
    names = c.names() | {"column": column, "type": spelled(definition.typeName)}
    operation = f"alter table {dsl(c.table)} add {dsl(column)} {names['type']} …"
    key = any(x.contype is ConstrType.CONSTR_PRIMARY for x in constraints(definition))
    yield ctx.place(c.kind, c.cmd, c.where, names=names, new=c.new, operation=operation,
                    rewrite=_rewrite(ctx, definition), required=required(definition),
                    type=type_of(definition.typeName, ctx.schema))
    yield ctx.column(definition, c.piece, c.table, key=key)
    for constraint in constraints(definition):  # inline UNIQUE / PRIMARY KEY
        if constraint.contype in (ConstrType.CONSTR_UNIQUE, ConstrType.CONSTR_PRIMARY):
            yield ctx.place(_AT.AT_AddConstraint, constraint, c.where, new=c.new,
                            names=names | constraint_names(constraint, column, c.table))
    ctx.columns.add((c.table, column))


def _alter_type(ctx: Context, c: _Command) -> Iterator[Place]:
    definition = c.cmd.def_
    if not isinstance(definition, ast.ColumnDef):
        yield _plain(ctx, c)
        return
    names = c.names() | {"type": spelled(definition.typeName)}
    old = c.existing.column(c.column) if c.existing is not None else None
    plain = definition.collClause is None and is_column(definition.raw_default, c.column)
    operation = (f"alter table {dsl(c.table)} alter {dsl(c.column)} type {names['type']} "
                 "up … down …")
    key = c.existing is not None and c.column in c.existing.primary_key
    yield ctx.place(c.kind, c.cmd, c.where, names=names, new=c.new, operation=operation,
                    type=type_of(definition.typeName, ctx.schema),
                    old_type=old.type if old is not None and plain else None)
    yield ctx.column(definition, c.piece, c.table, key=key, name=c.column)


def _add_constraint(ctx: Context, c: _Command) -> Iterator[Place]:
    constraint = c.cmd.def_
    if not isinstance(constraint, ast.Constraint):
        yield _plain(ctx, c)
        return
    names = c.names() | constraint_names(constraint, None, c.table)
    operation = None
    if constraint.contype in CONSTRAINT_KINDS and constraint.contype not in (
            ConstrType.CONSTR_EXCLUSION, ConstrType.CONSTR_NOTNULL):
        operation = f"alter table {dsl(c.table)} add constraint {dsl(names['name'])} …"
    _learn_check(ctx, constraint, c.table)
    if constraint.conname:
        ctx.created.add(constraint.conname)
    yield ctx.place(c.kind, c.cmd, c.where, names=names, new=c.new, operation=operation)


def _plain(ctx: Context, c: _Command) -> Place:
    """A subcommand whose definition is not the node its kind expects: no facts."""
    return ctx.place(c.kind, c.cmd, c.where, names=c.names(), new=c.new)


_SPECIAL: dict[Any, Callable[[Context, _Command], Iterator[Place]]] = {
    _AT.AT_AddColumn: _add_column,
    _AT.AT_AlterColumnType: _alter_type,
    _AT.AT_AddConstraint: _add_constraint,
}


def _rewrite(ctx: Context, column: ast.ColumnDef) -> str | None:
    """Why ``ADD COLUMN`` with this definition rewrites the table, if it does."""
    if is_serial_type(column.typeName):
        return SERIAL
    for constraint in constraints(column):
        if constraint.contype is ConstrType.CONSTR_IDENTITY:
            return IDENTITY
        if constraint.contype is ConstrType.CONSTR_GENERATED and (
                constraint.generated_kind != "v"):
            return GENERATED
        if constraint.contype is ConstrType.CONSTR_DEFAULT and not is_null(constraint.raw_expr):
            text = regenerated(constraint.raw_expr) or ""
            if is_volatile(text):
                return VOLATILE_DEFAULT
            if ctx.pg_version < 11:
                return OLD_DEFAULT
    return None


def _learn_check(ctx: Context, constraint: ast.Constraint, table: str) -> None:
    """A ``CHECK (c IS NOT NULL)``: once valid, SET NOT NULL needs no scan (PG 12+)."""
    if constraint.contype is not ConstrType.CONSTR_CHECK:
        return
    column = not_null_column(constraint.raw_expr)
    if column is None:
        return
    if constraint.skip_validation:
        if constraint.conname:
            ctx.pending[constraint.conname] = (table, column)
    else:
        ctx.proven.add((table, column))


def _proven(ctx: Context, table: str, column: str, existing: Table | None) -> bool:
    if ctx.pg_version < 12:
        return False
    if (table, column) in ctx.proven:
        return True
    return existing is not None and any(
        c.type is ConstraintType.CHECK and c.validated and c.expression is not None
        and not_null_column(expression(c.expression)) == column
        for c in existing.constraints)
