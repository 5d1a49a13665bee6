"""ALTER TABLE … ADD / DROP CONSTRAINT as operations (the rules are in ``from_sql_alter``).

``ADD CONSTRAINT`` is a ``create_constraint`` whose columns are copied unchanged: rows that
break it make ``start`` fail as they make the statement fail. A DEFERRABLE one-column foreign
key is an ``alter_column``'s ``references`` (create_constraint has no ``deferrable``); one on
a table or column this migration creates is said there. ``DROP CONSTRAINT`` is a
``drop_multicolumn_constraint`` whose ``down`` copies the columns the constraint covers.
"""

from __future__ import annotations

from pglast import ast
from pglast.enums import ConstrType, DropBehavior

from pgroll_dsl import ir
from pgroll_dsl.catalog.sql_ddl.nodes import strings
from pgroll_dsl.frontend.conventions import implied_check_columns
from pgroll_dsl.frontend.from_sql_fold import (
    append_alter,
    fold_into_added,
    fold_into_created,
    forget,
)
from pgroll_dsl.frontend.from_sql_state import (
    PLACEHOLDER_COLUMN,
    Context,
    KeepRaw,
    Statement,
    column_refs_of,
    ident,
    idents,
    new_constraint_name,
    sql_name,
)
from pgroll_dsl.frontend.from_sql_tables import (
    ACTIONS,
    MATCH,
    index_parameters,
    reference_target,
    table_constraint,
    table_reference,
)
from pgroll_dsl.sql.spans import TokenSpan, regenerated

Kind = ir.ConstraintType


def add_constraint(ctx: Context, stmt: Statement, table: str, command: ast.AlterTableCmd,
                   piece: TokenSpan) -> None:
    """ADD CONSTRAINT: create_constraint, or said where this migration creates the table."""
    node = command.def_
    assert isinstance(node, ast.Constraint)
    if node.skip_validation:
        raise KeepRaw("NOT VALID has no pgroll field")
    if node.contype is ConstrType.CONSTR_EXCLUSION and table not in ctx.created:
        raise KeepRaw("pgroll adds exclusion constraints only in create_table")
    if table in ctx.created:
        constraint = table_constraint(ctx, table, node, piece, set())
        if fold_into_created(ctx, table, constraints=[constraint]):
            return
    if _fold_column_constraint(ctx, stmt, table, node, piece):
        return
    op: ir.CreateConstraint | ir.AlterColumn
    match node.contype:
        case ConstrType.CONSTR_CHECK:
            text = piece.inner(piece.keyword(piece.first, "CHECK") or piece.first) or (
                regenerated(node.raw_expr) or "")
            check = ir.SqlExpr(text)
            name = node.conname or new_constraint_name(ctx, table, Kind.CHECK, (), text)
            op = ir.CreateConstraint(table=ident(table), name=ident(name), type=Kind.CHECK,
                                     columns=implied_check_columns(check), check=check,
                                     no_inherit=bool(node.is_no_inherit), span=stmt.span)
        case ConstrType.CONSTR_PRIMARY | ConstrType.CONSTR_UNIQUE:
            op = _key(ctx, stmt, table, node)
        case ConstrType.CONSTR_FOREIGN:
            op = _foreign_key(ctx, stmt, table, node)
        case _:
            raise KeepRaw(f"ADD CONSTRAINT of kind {node.contype} has no pgroll operation")
    if isinstance(op, ir.AlterColumn):
        append_alter(ctx, op)
        return
    ctx.operations.append(op)
    forget(ctx, table, tuple(c.name for c in op.columns))


def _key(ctx: Context, stmt: Statement, table: str,
         node: ast.Constraint) -> ir.CreateConstraint:
    kind = Kind.PRIMARY_KEY if node.contype is ConstrType.CONSTR_PRIMARY else Kind.UNIQUE
    if node.indexname:
        raise KeepRaw("ADD CONSTRAINT … USING INDEX has no pgroll operation")
    if node.nulls_not_distinct:
        raise KeepRaw("NULLS NOT DISTINCT has no create_constraint field")
    if node.deferrable:
        raise KeepRaw("a DEFERRABLE key has no create_constraint field")
    columns = strings(node.keys)
    name = node.conname or new_constraint_name(ctx, table, kind, columns)
    return ir.CreateConstraint(table=ident(table), name=ident(name), type=kind,
                               columns=idents(columns), index_parameters=index_parameters(node),
                               span=stmt.span)


def _foreign_key(ctx: Context, stmt: Statement, table: str,
                 node: ast.Constraint) -> ir.CreateConstraint | ir.AlterColumn:
    """create_constraint; a DEFERRABLE one-column key is an alter_column's ``references``.

    create_constraint has no ``deferrable`` (Django makes every foreign key DEFERRABLE
    INITIALLY DEFERRED); alter_column's references has, for one column.
    """
    columns = strings(node.fk_attrs)
    name = node.conname or new_constraint_name(ctx, table, Kind.FOREIGN_KEY, columns)
    if not node.deferrable:
        return ir.CreateConstraint(table=ident(table), name=ident(name), type=Kind.FOREIGN_KEY,
                                   columns=idents(columns), references=table_reference(ctx, node),
                                   span=stmt.span)
    target, referenced = reference_target(ctx, node)
    if len(columns) != 1 or strings(node.fk_del_set_cols):
        raise KeepRaw("a DEFERRABLE foreign key over several columns has no pgroll operation")
    references = ir.ForeignKeyReference(
        name=ident(name), table=ident(target), column=ident(referenced[0]),
        on_delete=ACTIONS.get(node.fk_del_action or "a", ir.ForeignKeyAction.NO_ACTION),
        on_update=ACTIONS.get(node.fk_upd_action or "a", ir.ForeignKeyAction.NO_ACTION),
        match_type=MATCH.get(node.fk_matchtype or "s", ir.MatchType.SIMPLE),
        deferrable=True, initially_deferred=bool(node.initdeferred),
    )
    return ir.AlterColumn(table=ident(table), column=ident(columns[0]), references=references,
                          span=stmt.span)


def _fold_column_constraint(ctx: Context, stmt: Statement, table: str, node: ast.Constraint,
                            piece: TokenSpan) -> bool:
    """A one-column constraint on a column added earlier in this migration: said on it."""
    if node.contype is ConstrType.CONSTR_FOREIGN:
        columns = strings(node.fk_attrs)
        if len(columns) != 1 or (table, columns[0]) not in ctx.added:
            return False
        op = _foreign_key(ctx, stmt, table, node)
        if isinstance(op, ir.AlterColumn):
            reference = op.references
        else:
            target, referenced = reference_target(ctx, node)
            if len(referenced) != 1 or strings(node.fk_del_set_cols):
                return False
            reference = ir.ForeignKeyReference(
                name=op.name, table=ident(target), column=ident(referenced[0]),
                on_delete=ACTIONS.get(node.fk_del_action or "a", ir.ForeignKeyAction.NO_ACTION),
                on_update=ACTIONS.get(node.fk_upd_action or "a", ir.ForeignKeyAction.NO_ACTION),
                match_type=MATCH.get(node.fk_matchtype or "s", ir.MatchType.SIMPLE))
        return fold_into_added(ctx, table, columns[0], {"references": reference})
    if node.contype is ConstrType.CONSTR_UNIQUE:
        columns = strings(node.keys)
        plain = not (node.conname or node.indexname or node.nulls_not_distinct
                     or node.deferrable or index_parameters(node) is not None)
        if not plain or len(columns) != 1 or (table, columns[0]) not in ctx.added:
            return False
        return fold_into_added(ctx, table, columns[0], {"unique": True})
    if node.contype is ConstrType.CONSTR_CHECK:
        text = piece.inner(piece.keyword(piece.first, "CHECK") or piece.first) or ""
        used = column_refs_of(text)
        if len(used) != 1 or (table, used[0]) not in ctx.added or node.is_no_inherit:
            return False
        name = node.conname or new_constraint_name(ctx, table, Kind.CHECK, (), text)
        check = ir.CheckConstraint(name=ident(name), constraint=ir.SqlExpr(text))
        return fold_into_added(ctx, table, used[0], {"check": check})
    return False


def drop_constraint(ctx: Context, stmt: Statement, table: str,
                    command: ast.AlterTableCmd) -> None:
    """DROP CONSTRAINT: drop_multicolumn_constraint, ``down`` copying its columns."""
    name = command.name or ""
    if command.behavior is DropBehavior.DROP_CASCADE:
        raise KeepRaw("DROP CONSTRAINT … CASCADE has no pgroll operation")
    found = ctx.before.table(table)
    constraint = found.constraint(name) if found is not None else None
    if command.missing_ok and not ctx.conditional(stmt.span, f"constraint {name}",
                                                  constraint is not None, exists=True):
        return
    where = f"drop_multicolumn_constraint {table}.{name}"
    down: tuple[ir.ColumnSql, ...]
    if constraint is None:
        down = (ir.ColumnSql(column=ident(PLACEHOLDER_COLUMN), sql=ctx.placeholder(
            stmt.span, where, "the constraint is not in the schema convert was given: `down` "
            "needs one entry per column it covers",
            "give convert the schema before the script (the migration history) to infer "
            "them")),)
    elif constraint.type not in (Kind.CHECK, Kind.UNIQUE, Kind.FOREIGN_KEY):
        raise KeepRaw("pgroll drops only check, unique and foreign key constraints, not a "
                      f"{constraint.type.value.replace('_', ' ')}")
    else:
        columns = constraint.columns or column_refs_of(constraint.expression)
        down = tuple(ir.ColumnSql(column=ident(c), sql=ir.SqlExpr(sql_name(c)))
                     for c in columns)
        ctx.note(stmt.span, f"{where}: `down` keeps {', '.join(columns)} as written: a "
                 "new-version write that breaks the constraint is refused until complete",
                 "write `down` to make such values fit the constraint instead")
    ctx.operations.append(ir.DropMulticolumnConstraint(table=ident(table), name=ident(name),
                                                       down=down, span=stmt.span))
    forget(ctx, table, None if constraint is None else tuple(d.column.name for d in down))
