"""CREATE / DROP INDEX, DROP TABLE, renames, COMMENT ON and Django's NULL-filling UPDATE.

The statements that are not ``CREATE TABLE`` or ``ALTER TABLE``, each one operation (or a
fold into what this migration creates, ``from_sql_fold``). ``CREATE INDEX`` keys on
expressions, ``INCLUDE`` and ``NULLS NOT DISTINCT`` have no ``create_index`` field: kept raw,
as pgroll's converter keeps them. An unnamed index gets PostgreSQL's name.
"""

from __future__ import annotations

from pglast import ast
from pglast.enums import DropBehavior, NullTestType, ObjectType, SortByDir, SortByNulls

from pgroll_dsl import ir
from pgroll_dsl.catalog.naming import Names
from pgroll_dsl.catalog.sql_ddl.nodes import strings
from pgroll_dsl.frontend.from_sql_fold import (
    append_alter,
    fold_into_added,
    fold_into_created,
    forget,
)
from pgroll_dsl.frontend.from_sql_state import (
    Context,
    Fill,
    KeepRaw,
    Statement,
    ident,
    new_index_name,
    object_name,
    relation_name,
)
from pgroll_dsl.frontend.from_sql_tables import storage_option


def create_index(ctx: Context, stmt: Statement, node: ast.IndexStmt) -> None:
    """CREATE INDEX [CONCURRENTLY]: create_index (pgroll always builds concurrently)."""
    table = relation_name(ctx, node.relation)
    if node.relation is not None and not node.relation.inh:
        raise KeepRaw("CREATE INDEX ON ONLY has no create_index field")
    for value, clause in ((node.indexIncludingParams, "INCLUDE"),
                          (node.nulls_not_distinct, "NULLS NOT DISTINCT"),
                          (node.tableSpace, "TABLESPACE")):
        if value:
            raise KeepRaw(f"{clause} has no create_index field")
    fields = tuple(_index_field(ctx, e) for e in node.indexParams or ()
                   if isinstance(e, ast.IndexElem))
    try:
        method = ir.IndexMethod(node.accessMethod or "btree")
    except ValueError:
        raise KeepRaw(f"pgroll creates no {node.accessMethod} indexes") from None
    predicate = None
    if node.whereClause is not None:
        where = stmt.tokens.keyword(stmt.tokens.first, "WHERE")
        if where is None:
            raise KeepRaw("the index predicate could not be read")
        predicate = ir.SqlExpr(stmt.tokens.text(where + 1))
    storage = ", ".join(storage_option(o) for o in node.options or ()
                        if isinstance(o, ast.DefElem))
    name = node.idxname or new_index_name(ctx, table) or Names.of(ctx.before).choose(
        table, "_".join(f.column.name for f in fields), "idx", relation=True, constraint=False)
    if node.if_not_exists and not ctx.conditional(stmt.span, f"index {name}", is_relation(
            ctx, name), exists=False):
        return
    ctx.operations.append(ir.CreateIndex(
        name=ident(name), table=ident(table), columns=fields,
        method=None if method is ir.IndexMethod.BTREE else method, unique=bool(node.unique),
        predicate=predicate, storage_parameters=ir.SqlExpr(storage) if storage else None,
        span=stmt.span))


_SORT = {SortByDir.SORTBY_DEFAULT: None, SortByDir.SORTBY_ASC: ir.SortOrder.ASC,
         SortByDir.SORTBY_DESC: ir.SortOrder.DESC}
_NULLS = {SortByNulls.SORTBY_NULLS_DEFAULT: None, SortByNulls.SORTBY_NULLS_FIRST:
          ir.NullsOrder.FIRST, SortByNulls.SORTBY_NULLS_LAST: ir.NullsOrder.LAST}


def is_relation(ctx: Context, name: str) -> bool:
    """A table, index or sequence of that name is in the schema."""
    return name in Names.of(ctx.before).relations


def _index_field(ctx: Context, element: ast.IndexElem) -> ir.IndexField:
    if element.expr is not None or not element.name:
        raise KeepRaw("create_index takes columns, not expressions")
    if element.ordering not in _SORT or element.nulls_ordering not in _NULLS:
        raise KeepRaw("an index key sorted USING an operator has no create_index field")
    collation = strings(element.collation)
    opclass = None
    names = strings(element.opclass)
    if names:
        opclass_name = object_name(ctx, names) if names[0] != "pg_catalog" else names[-1]
        params = tuple(ir.SqlExpr(storage_option(o)) for o in element.opclassopts or ()
                       if isinstance(o, ast.DefElem))
        opclass = ir.OpClass(name=ident(opclass_name), params=params)
    return ir.IndexField(
        column=ident(element.name), collate=collation[-1] if collation else None,
        opclass=opclass, sort=_SORT[element.ordering],
        nulls=_NULLS.get(element.nulls_ordering or SortByNulls.SORTBY_NULLS_DEFAULT))


def drop(ctx: Context, stmt: Statement, node: ast.DropStmt) -> None:
    """DROP TABLE / DROP INDEX: one operation per name."""
    kinds = {ObjectType.OBJECT_TABLE: "table", ObjectType.OBJECT_INDEX: "index"}
    kind = kinds.get(node.removeType) if node.removeType is not None else None
    if kind is None:
        what = node.removeType.name[7:] if node.removeType is not None else "object"
        raise KeepRaw(f"pgroll drops only tables and indexes (this drops: {what.lower()})")
    if node.behavior is DropBehavior.DROP_CASCADE:
        raise KeepRaw(f"DROP {kind.upper()} … CASCADE has no drop_{kind} field")
    for item in node.objects or ():
        name = object_name(ctx, strings(item))
        present = (ctx.before.table(name) if kind == "table" else ctx.before.index(name))
        if node.missing_ok and not ctx.conditional(stmt.span, f"{kind} {name}",
                                                   present is not None, exists=True):
            continue
        if kind == "table":
            ctx.operations.append(ir.DropTable(name=ident(name), span=stmt.span))
            forget(ctx, name)
        else:
            ctx.operations.append(ir.DropIndex(name=ident(name), span=stmt.span))


def rename(ctx: Context, stmt: Statement, node: ast.RenameStmt) -> None:
    """ALTER TABLE … RENAME [COLUMN | CONSTRAINT] … TO …."""
    table = relation_name(ctx, node.relation)
    old, new = node.subname or "", node.newname or ""
    op: ir.Operation
    match node.renameType:
        case ObjectType.OBJECT_TABLE:
            op = ir.RenameTable(from_=ident(table), to=ident(new), span=stmt.span)
            forget(ctx, new)
            forget(ctx, table)
        case ObjectType.OBJECT_COLUMN if node.relationType is ObjectType.OBJECT_TABLE:
            op = ir.RenameColumn(table=ident(table), from_=ident(old), to=ident(new),
                                 span=stmt.span)
            forget(ctx, table, (old, new))
        case ObjectType.OBJECT_TABCONSTRAINT:
            op = ir.RenameConstraint(table=ident(table), from_=ident(old), to=ident(new),
                                     span=stmt.span)
            forget(ctx, table, ())
        case _:
            kind = node.renameType.name[7:].lower() if node.renameType is not None else "object"
            raise KeepRaw("pgroll renames only tables, columns and constraints (this renames: "
                          f"{kind})")
    if node.missing_ok and not ctx.conditional(stmt.span, f"table {table}", ctx.before.table(
            table) is not None, exists=True):
        return
    ctx.operations.append(op)


def comment(ctx: Context, stmt: Statement, node: ast.CommentStmt) -> None:
    """COMMENT ON COLUMN (alter_column), or ON TABLE of a table this migration creates."""
    names = strings(node.object) if node.objtype is ObjectType.OBJECT_COLUMN else strings(
        node.object if isinstance(node.object, tuple) else ())
    text = node.comment
    if node.objtype is ObjectType.OBJECT_TABLE:
        table = object_name(ctx, names)
        if not fold_into_created(ctx, table, comment=text, table_comment=True):
            raise KeepRaw("pgroll has no operation that comments a table it did not create")
        return
    if node.objtype is not ObjectType.OBJECT_COLUMN:
        kind = node.objtype.name[7:].lower() if node.objtype is not None else "object"
        raise KeepRaw(f"pgroll comments only columns and new tables (this comments: {kind})")
    table, column = object_name(ctx, names[:-1]), names[-1]
    if fold_into_created(ctx, table, alter=(column, {"comment": text})):
        return
    if fold_into_added(ctx, table, column, {"comment": text}):
        return
    append_alter(ctx, ir.AlterColumn(table=ident(table), column=ident(column),
                                     comment=ir.Change(text), span=stmt.span))


def fill(ctx: Context, stmt: Statement, node: ast.UpdateStmt) -> None:
    """An UPDATE that fills one column: what an operation's ``up`` does, when it is one.

    ``UPDATE t SET c = x WHERE c IS NULL`` waits for a ``SET NOT NULL`` of ``t.c`` (Django
    writes it just before): that alter_column's ``up`` is then ``COALESCE(c, x)``. An UPDATE
    of every row of a column added in this migration (``ADD COLUMN``, ``UPDATE``, ``SET NOT
    NULL``: Alembic's data migrations) is the add_column's ``up``. Any other UPDATE is data:
    kept raw.
    """
    table = relation_name(ctx, node.relation)
    targets = [t for t in node.targetList or () if isinstance(t, ast.ResTarget)]
    if (node.fromClause or node.returningClause or node.withClause or len(targets) != 1
            or targets[0].indirection):
        raise KeepRaw(_DATA)
    column = targets[0].name or ""
    where = node.whereClause
    if_null = (isinstance(where, ast.NullTest) and where.nulltesttype is NullTestType.IS_NULL
               and isinstance(where.arg, ast.ColumnRef)
               and strings(where.arg.fields) == (column,))
    if where is not None and not if_null:
        raise KeepRaw(_DATA)
    tokens = stmt.tokens
    equals = next((i for i in range(tokens.first, tokens.end)
                   if tokens.source.tokens[i].name == "ASCII_61"), None)
    end = tokens.keyword(tokens.first, "WHERE") if where is not None else tokens.end
    if equals is None or end is None:
        raise KeepRaw(_DATA)
    value = tokens.text(equals + 1, end)
    if table in ctx.created:
        ctx.note(stmt.span, f"UPDATE {table}: the table is created by this migration and has "
                 "no rows yet; left out")
        return
    added = ctx.column(table, column)
    every_row = where is None or (added is not None and added.default is None)
    if (table, column) in ctx.added and every_row and fold_into_added(
            ctx, table, column, {}, up=ir.SqlExpr(value)):
        ctx.note(stmt.span, f"UPDATE {table} SET {column}: it fills the column this migration "
                 "adds: that is the add_column's `up` (which also fills rows the old version "
                 "writes until complete); the UPDATE itself is left out")
        return
    if where is None:
        raise KeepRaw(_DATA)
    if (table, column) in ctx.added and added is not None and added.default is not None:
        ctx.note(stmt.span, f"UPDATE {table} SET {column} … WHERE {column} IS NULL: the column "
                 "this migration adds has a default, no row is NULL; left out")
        return
    waiting = Fill(value, stmt, len(ctx.operations))
    ctx.fills[(table, column)] = waiting
    ctx.all_fills.append(waiting)


_DATA = "an UPDATE changes data, not the schema"
