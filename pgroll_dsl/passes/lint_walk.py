"""Statement walking for the safety linter: each statement of a script as places for rules.

``places`` dispatches on the statement's class: ALTER TABLE goes to ``lint_alter``; CREATE
TABLE yields the statement and each column definition; DROP one place per object; the rest
one place with the tables it names and the lock it takes. Along the way the context learns
what the script creates (nobody uses it yet) and whether a statement_timeout is set.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

from pglast import ast
from pglast.enums import ConstrType, ObjectType, VariableSetKind

from pgroll_dsl.catalog.sql_ddl.nodes import strings
from pgroll_dsl.passes.lint_alter import alter_table
from pgroll_dsl.passes.lint_context import Context, Place
from pgroll_dsl.passes.lint_nodes import (
    constraints,
    dsl,
    is_zero,
    label,
    name_of,
    relations,
    relname,
    statement_lock,
)
from pgroll_dsl.sql.spans import TokenSpan

# DROP of these takes ACCESS EXCLUSIVE on a relation clients read.
_DROPPED_RELATIONS = frozenset({ObjectType.OBJECT_TABLE, ObjectType.OBJECT_INDEX,
                                ObjectType.OBJECT_VIEW, ObjectType.OBJECT_MATVIEW,
                                ObjectType.OBJECT_SEQUENCE, ObjectType.OBJECT_FOREIGN_TABLE})
_RENAMES_LOCKING = frozenset({ObjectType.OBJECT_TABLE, ObjectType.OBJECT_COLUMN,
                              ObjectType.OBJECT_TABCONSTRAINT, ObjectType.OBJECT_VIEW,
                              ObjectType.OBJECT_MATVIEW})


def places(ctx: Context, stmt: ast.Node, part: TokenSpan) -> Iterator[Place]:
    """The places of one statement, in the order rules look at them."""
    if isinstance(stmt, ast.AlterTableStmt) and stmt.objtype in (
            ObjectType.OBJECT_TABLE, ObjectType.OBJECT_FOREIGN_TABLE):
        yield from alter_table(ctx, stmt, part)
        return
    handler = _HANDLERS.get(type(stmt))
    if handler is not None:
        yield from handler(ctx, stmt, part)
        return
    if isinstance(stmt, ast.VariableSetStmt) and stmt.name == "statement_timeout":
        ctx.timeout = stmt.kind is VariableSetKind.VAR_SET_VALUE and not is_zero(stmt.args)
    tables = relations(stmt)
    new = bool(tables) and all(t in ctx.created for t in tables)
    yield ctx.place(type(stmt), stmt, ctx.at(part), names={"table": ", ".join(tables) or "…"},
                    new=new, lock=statement_lock(stmt))
    _remember(ctx, stmt)


def _create_table(ctx: Context, stmt: ast.CreateStmt, part: TokenSpan) -> Iterator[Place]:
    table = relname(stmt.relation)
    temporary = stmt.relation is not None and stmt.relation.relpersistence == "t"
    yield ctx.place(type(stmt), stmt, ctx.at(part), names={"table": table, "what": "CREATE TABLE"},
                    new=temporary, operation=f"create table {dsl(table)} (…)")
    elements = stmt.tableElts or ()
    keys = {k for c in elements if isinstance(c, ast.Constraint)
            and c.contype is ConstrType.CONSTR_PRIMARY for k in strings(c.keys)}
    for column in elements:
        if isinstance(column, ast.ColumnDef) and not temporary:
            key = column.colname in keys or any(
                c.contype is ConstrType.CONSTR_PRIMARY for c in constraints(column))
            yield ctx.column(column, part, table, key=key)
    ctx.created.add(table)


def _index(ctx: Context, stmt: ast.IndexStmt, part: TokenSpan) -> Iterator[Place]:
    table = relname(stmt.relation)
    columns = ", ".join(dsl(e.name) if e.name else "(…)" for e in stmt.indexParams or ())
    names = {"table": table, "index": stmt.idxname or "…", "columns": columns}
    operation = (f"create index {dsl(stmt.idxname or '')} on {dsl(table)} ({columns})"
                 if stmt.concurrent and stmt.idxname else None)
    yield ctx.place(type(stmt), stmt, ctx.at(part), names=names, new=table in ctx.created,
                    operation=operation, lock=None if stmt.concurrent else "SHARE")
    if stmt.idxname:
        ctx.created.add(stmt.idxname)


def _drop(ctx: Context, stmt: ast.DropStmt, part: TokenSpan) -> Iterator[Place]:
    what = label(stmt.removeType)
    relation_lock = stmt.removeType in _DROPPED_RELATIONS and not stmt.concurrent
    index_op = stmt.removeType is ObjectType.OBJECT_INDEX and stmt.concurrent
    for position, obj in enumerate(stmt.objects or ()):
        name = name_of(obj)
        names = {"object": what, "OBJECT": what.upper(), "name": name, "table": name,
                 "index": name, "what": f"DROP {what.upper()}"}
        yield ctx.place(type(stmt), stmt, ctx.at(part), names=names, new=name in ctx.created,
                        operation=f"drop index {dsl(name)}" if index_op else None,
                        lock="ACCESS EXCLUSIVE" if relation_lock and position == 0 else None)


def _drop_database(ctx: Context, stmt: ast.DropdbStmt, part: TokenSpan) -> Iterator[Place]:
    names = {"object": "database", "OBJECT": "DATABASE", "name": stmt.dbname or "…"}
    yield ctx.place(ast.DropStmt, stmt, ctx.at(part), names=names)


def _rename(ctx: Context, stmt: ast.RenameStmt, part: TokenSpan) -> Iterator[Place]:
    table = relname(stmt.relation) if stmt.relation is not None else ""
    name = table or (name_of(stmt.object) if stmt.object is not None else stmt.subname or "…")
    names = {"object": label(stmt.renameType), "table": table or "…", "name": name,
             "new": stmt.newname or "…", "what": "ALTER … RENAME"}
    new = name in ctx.created
    operation = None
    if stmt.renameType is ObjectType.OBJECT_COLUMN:
        names["column"] = stmt.subname or "…"
        new = table in ctx.created or (table, stmt.subname or "") in ctx.columns
    elif stmt.renameType is ObjectType.OBJECT_TABCONSTRAINT:
        names["name"] = stmt.subname or "…"
        new = table in ctx.created or names["name"] in ctx.created
        operation = (f"alter table {dsl(table)} rename constraint {dsl(names['name'])} to "
                     f"{dsl(names['new'])}")
    if new and stmt.newname:
        ctx.created.add(stmt.newname)
    lock = "ACCESS EXCLUSIVE" if stmt.renameType in _RENAMES_LOCKING else None
    yield ctx.place(type(stmt), stmt, ctx.at(part), names=names, new=new, lock=lock,
                    operation=operation)


def _set_schema(ctx: Context, stmt: ast.AlterObjectSchemaStmt, part: TokenSpan
                ) -> Iterator[Place]:
    name = relname(stmt.relation) if stmt.relation else name_of(stmt.object)
    names = {"object": label(stmt.objectType), "table": name, "name": name}
    yield ctx.place(type(stmt), stmt, ctx.at(part), names=names, new=name in ctx.created,
                    lock="ACCESS EXCLUSIVE" if stmt.relation else None)


def _transaction(ctx: Context, stmt: ast.TransactionStmt, part: TokenSpan) -> Iterator[Place]:
    kind = stmt.kind.name if stmt.kind is not None else "TRANSACTION"
    what = kind.removeprefix("TRANS_STMT_").replace("_", " ")
    yield ctx.place(type(stmt), stmt, ctx.at(part), names={"what": what})


def _alter_domain(ctx: Context, stmt: ast.AlterDomainStmt, part: TokenSpan) -> Iterator[Place]:
    domain = name_of(stmt.typeName)
    yield ctx.place(type(stmt), stmt, ctx.at(part), names={"name": domain},
                    new=domain in ctx.created)


_HANDLERS: dict[type[ast.Node], Callable[[Context, Any, TokenSpan], Iterator[Place]]] = {
    ast.CreateStmt: _create_table, ast.IndexStmt: _index, ast.DropStmt: _drop,
    ast.DropdbStmt: _drop_database, ast.RenameStmt: _rename,
    ast.AlterObjectSchemaStmt: _set_schema, ast.TransactionStmt: _transaction,
    ast.AlterDomainStmt: _alter_domain,
}

# What a statement creates, by class: nobody uses it yet.
_CREATED: dict[type[ast.Node], Callable[[Any], str | None]] = {
    ast.CreateTableAsStmt: lambda s: relname(s.into.rel) if s.into else None,
    ast.ViewStmt: lambda s: relname(s.view),
    ast.CreateSeqStmt: lambda s: relname(s.sequence),
    ast.CompositeTypeStmt: lambda s: relname(s.typevar),
    ast.CreateEnumStmt: lambda s: name_of(s.typeName),
    ast.CreateRangeStmt: lambda s: name_of(s.typeName),
    ast.CreateDomainStmt: lambda s: name_of(s.domainname),
    ast.CreateFunctionStmt: lambda s: name_of(s.funcname),
    ast.CreateExtensionStmt: lambda s: s.extname,
    ast.CreateSchemaStmt: lambda s: s.schemaname,
}


def _remember(ctx: Context, stmt: ast.Node) -> None:
    """Objects a statement creates: nobody uses them yet."""
    created = _CREATED.get(type(stmt))
    name = created(stmt) if created is not None else None
    if name:
        ctx.created.add(name)
