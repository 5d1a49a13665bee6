"""ALTER TABLE subcommands as operations, with ``up``/``down`` inferred where they can be.

Each subcommand becomes one operation (several changes to one column in a row become one
``alter_column``, as pgroll applies them together); one that has no operation keeps the whole
statement raw, as pgroll's converter does. What a subcommand says about a table or column
made earlier in the same migration is folded into the ``create_table`` or ``add_column``
(from_sql_fold): pgroll cannot alter what it has not finished creating.

How ``up`` and ``down`` are inferred (pgroll's converter writes its placeholder everywhere):

* ``TYPE t``: ``up`` is ``USING``'s expression, else ``CAST(c AS t)`` (what PostgreSQL does);
  ``down`` is ``CAST(c AS old)`` when the old type is known (a schema given to convert, or an
  earlier statement) and ``USING`` is absent or only a cast of the column; else the
  placeholder. A type change to the type the column has is left out (Django writes them).
* ``SET NOT NULL``: ``up`` is ``COALESCE(c, x)`` when an ``UPDATE t SET c = x WHERE c IS
  NULL`` came before it (Django's sequence), else the column unchanged: NULLs then make
  ``start`` fail as they make the statement fail (a PGD332 note says so).
* ``DROP NOT NULL``: ``down`` must turn a NULL written by the new version into a value the
  old version accepts: the placeholder.
* ``ADD CONSTRAINT``: the columns unchanged, as the statement leaves them (rows that break
  the constraint make ``start`` fail as they make the statement fail).
* ``DROP CONSTRAINT``: ``down`` copies each column the constraint covers (a new-version write
  that breaks it is refused until complete); the placeholder when its columns are unknown.
* ``DROP COLUMN``: no ``down`` when the column is nullable or has a default (the old version
  gets NULL or the default); the placeholder when it is NOT NULL without one, or unknown.
* ``ADD COLUMN … NOT NULL`` without a default: the placeholder as ``up`` (existing rows need
  a value; the statement itself works only on an empty table).
"""

from __future__ import annotations

from pglast import ast
from pglast.enums import AlterTableType, DropBehavior, ObjectType

from pgroll_dsl import ir
from pgroll_dsl.catalog.sql_ddl.nodes import strings
from pgroll_dsl.frontend.conventions import implied_up
from pgroll_dsl.frontend.from_sql_constraints import add_constraint, drop_constraint
from pgroll_dsl.frontend.from_sql_fold import (
    append_alter,
    fold_into_added,
    fold_into_created,
    forget,
)
from pgroll_dsl.frontend.from_sql_state import (
    Context,
    KeepRaw,
    Statement,
    column_type,
    expression,
    expression_after,
    ident,
    is_null_constant,
    parse_type_text,
    relation_name,
    sql_name,
    type_sql,
)
from pgroll_dsl.frontend.from_sql_tables import column_definition
from pgroll_dsl.sql.spans import TokenSpan

Kind = ir.ConstraintType
_IDENTITY = {"d": ir.ReplicaIdentityType.DEFAULT, "n": ir.ReplicaIdentityType.NOTHING,
             "f": ir.ReplicaIdentityType.FULL, "i": ir.ReplicaIdentityType.INDEX}


def alter_table(ctx: Context, stmt: Statement) -> None:
    """Each subcommand in turn; KeepRaw from any of them keeps the whole statement raw."""
    node = stmt.node
    assert isinstance(node, ast.AlterTableStmt)
    if node.objtype is not ObjectType.OBJECT_TABLE:
        kind = node.objtype.name[7:] if node.objtype is not None else "this object"
        raise KeepRaw(f"ALTER {kind} has no pgroll operation")
    table = relation_name(ctx, node.relation)
    if node.missing_ok and not ctx.conditional(stmt.span, f"table {table}", ctx.before.table(
            table) is not None, exists=True):
        return
    commands = [c for c in node.cmds or () if isinstance(c, ast.AlterTableCmd)]
    pieces = stmt.tokens.pieces()
    exact = len(pieces) == len(commands)
    for number, command in enumerate(commands):
        _command(ctx, stmt, table, command, pieces[number] if exact else stmt.tokens)


def _command(ctx: Context, stmt: Statement, table: str, command: ast.AlterTableCmd,
             piece: TokenSpan) -> None:
    match command.subtype:
        case AlterTableType.AT_AddColumn:
            _add_column(ctx, stmt, table, command)
        case AlterTableType.AT_DropColumn:
            _drop_column(ctx, stmt, table, command)
        case AlterTableType.AT_AlterColumnType:
            _alter_type(ctx, stmt, table, command, piece)
        case AlterTableType.AT_ColumnDefault:
            _default(ctx, stmt, table, command, piece)
        case AlterTableType.AT_SetNotNull:
            _set_not_null(ctx, stmt, table, command.name or "")
        case AlterTableType.AT_DropNotNull:
            _drop_not_null(ctx, stmt, table, command.name or "")
        case AlterTableType.AT_AddConstraint:
            add_constraint(ctx, stmt, table, command, piece)
        case AlterTableType.AT_DropConstraint:
            drop_constraint(ctx, stmt, table, command)
        case AlterTableType.AT_ReplicaIdentity:
            _replica_identity(ctx, stmt, table, command)
        case subtype:
            kind = subtype.name[3:] if subtype is not None else "this subcommand"
            raise KeepRaw(f"ALTER TABLE … {kind} has no pgroll operation")


# ---- columns -----------------------------------------------------------------------------


def _add_column(ctx: Context, stmt: Statement, table: str, command: ast.AlterTableCmd) -> None:
    definition = command.def_
    assert isinstance(definition, ast.ColumnDef)
    name = definition.colname or ""
    if command.missing_ok and not ctx.conditional(
            stmt.span, f"column {table}.{name}", ctx.column(table, name) is not None,
            exists=False):
        return
    new = column_definition(ctx, table, definition, stmt.tokens, stmt.span, set())
    if fold_into_created(ctx, table, column=new.column, constraints=new.constraints):
        return
    column = new.column
    if new.constraints:
        raise KeepRaw("a named or deferrable key in ADD COLUMN has no add_column field")
    if column.pk:
        raise KeepRaw("add_column cannot add a primary key column")
    if column.generated is not None:
        raise KeepRaw("add_column cannot add a generated or identity column")
    up = implied_up(column, None)
    serial = column.type.name in ("serial", "bigserial", "smallserial")
    if not column.nullable and column.default is None and not serial:
        up = ctx.placeholder(
            stmt.span, f"add_column {table}.{column.name.name}",
            "a NOT NULL column without a default needs `up`, the value of existing rows (the "
            "SQL statement itself works only on an empty table)")
    ctx.operations.append(ir.AddColumn(table=ident(table), column=column, up=up,
                                       span=stmt.span))
    forget(ctx, table, ())
    ctx.added[(table, column.name.name)] = len(ctx.operations) - 1


def _drop_column(ctx: Context, stmt: Statement, table: str, command: ast.AlterTableCmd) -> None:
    name = command.name or ""
    column = ctx.column(table, name)
    if command.missing_ok and not ctx.conditional(stmt.span, f"column {table}.{name}",
                                                  column is not None, exists=True):
        return
    if command.behavior is DropBehavior.DROP_CASCADE:
        _cascade_is_restrict(ctx, stmt, table, name)
    down = None
    where = f"drop_column {table}.{name}"
    if column is None:
        down = ctx.placeholder(
            stmt.span, where, "the column is not in the schema convert was given: `down` must "
            "give the old version a value for it when the new version inserts a row",
            "give convert the schema before the script (the migration history) to infer it")
    elif not column.nullable and column.default is None and column.identity is None \
            and column.generated is None:
        down = ctx.placeholder(
            stmt.span, where, "the column is NOT NULL without a default: `down` must give the "
            "old version a value for it when the new version inserts a row")
    ctx.operations.append(ir.DropColumn(table=ident(table), column=ident(name), down=down,
                                        span=stmt.span))
    forget(ctx, table, (name,))


def _cascade_is_restrict(ctx: Context, stmt: Statement, table: str, name: str) -> None:
    """``DROP COLUMN … CASCADE`` (Django's) that drops nothing RESTRICT would not.

    A column's own indexes and constraints go with it either way; CASCADE also drops foreign
    keys of other tables that reference it, and views. KeepRaw unless the schema convert was
    given shows no such foreign key (views it cannot see: a note says so).
    """
    if ctx.column(table, name) is None:
        raise KeepRaw("DROP COLUMN … CASCADE has no drop_column field (and the schema convert "
                      "was given does not show what it would drop)")
    for other in ctx.before.tables:
        for constraint in other.constraints:
            ref = constraint.references
            if ref is not None and ref.points_at(table) and name in ref.columns:
                raise KeepRaw(f"DROP COLUMN … CASCADE would drop the foreign key "
                              f"{constraint.name} of {other.name}: drop_column has no CASCADE")
    ctx.note(stmt.span, f"DROP COLUMN {name} CASCADE: no foreign key references the column, "
             "so drop_column does what CASCADE would (a view using the column, which convert "
             "cannot see, would make complete fail)")


def _alter_type(ctx: Context, stmt: Statement, table: str, command: ast.AlterTableCmd,
                piece: TokenSpan) -> None:
    name = command.name or ""
    definition = command.def_
    assert isinstance(definition, ast.ColumnDef)
    if definition.collClause is not None:
        raise KeepRaw("COLLATE in a type change has no alter_column field")
    type_ = column_type(ctx, definition.typeName, stmt.span)
    using = expression_after(piece, "USING", definition.raw_default)
    if fold_into_created(ctx, table, alter=(name, {"type": type_})):
        return
    if using is None and fold_into_added(ctx, table, name, {"type": type_}):
        return
    old = ctx.column(table, name)
    old_type = parse_type_text(old.type, stmt.span) if old is not None else None
    if old_type == type_ and (using is None or _plain_cast(definition.raw_default, name)):
        ctx.note(stmt.span, f"ALTER COLUMN {name} TYPE {type_sql(type_)}: the column already "
                 "has that type; left out")
        return
    column = sql_name(name)
    up = using if using is not None else f"CAST({column} AS {type_sql(type_)})"
    where = f"alter_column {table}.{name}"
    if old_type is not None and (using is None or _plain_cast(definition.raw_default, name)):
        down = ir.SqlExpr(f"CAST({column} AS {type_sql(old_type)})")
    elif old_type is None:
        down = ctx.placeholder(
            stmt.span, where, "the column's type before the change is not known: `down` must "
            "convert a new value back to it",
            "give convert the schema before the script (the migration history) to infer "
            "`CAST(column AS old type)`")
    else:
        down = ctx.placeholder(
            stmt.span, where, f"`up` is USING's expression; `down` must undo it, back to "
            f"{type_sql(old_type)}")
    append_alter(ctx, ir.AlterColumn(table=ident(table), column=ident(name), type=type_,
                                     up=ir.SqlExpr(up), down=down, span=stmt.span))


def _plain_cast(node: ast.Node | None, column: str) -> bool:
    """``USING c::t`` or ``USING CAST(c AS t)``: only what a plain type change does."""
    return (isinstance(node, ast.TypeCast) and isinstance(node.arg, ast.ColumnRef)
            and strings(node.arg.fields) == (column,))


def _default(ctx: Context, stmt: Statement, table: str, command: ast.AlterTableCmd,
             piece: TokenSpan) -> None:
    name = command.name or ""
    node = command.def_
    text = None if node is None or is_null_constant(node) else expression_after(
        piece, "DEFAULT", node)
    value = expression(text)
    if fold_into_created(ctx, table, alter=(name, {"default": value})):
        return
    if fold_into_added(ctx, table, name, {"default": value}):
        return
    column = ctx.column(table, name)
    if column is not None and value is None and column.default is None:
        ctx.note(stmt.span, f"ALTER COLUMN {name} DROP DEFAULT: the column has no default; "
                 "left out")
        return
    append_alter(ctx, ir.AlterColumn(table=ident(table), column=ident(name),
                                     default=ir.Change(value), span=stmt.span))


def _set_not_null(ctx: Context, stmt: Statement, table: str, name: str) -> None:
    if fold_into_created(ctx, table, alter=(name, {"nullable": False})):
        return
    added = ctx.added.get((table, name))
    if added is not None:
        op = ctx.operations[added]
        assert isinstance(op, ir.AddColumn)
        up = op.up if op.up is not None or op.column.default is not None else ctx.placeholder(
            stmt.span, f"add_column {table}.{name}", "the column is made NOT NULL right after "
            "it is added: `up` must give existing rows a value")
        if fold_into_added(ctx, table, name, {"nullable": False}, up=up if up is not op.up
                           else None):
            return
    column = ctx.column(table, name)
    if column is not None and not column.nullable:
        ctx.note(stmt.span, f"ALTER COLUMN {name} SET NOT NULL: the column is NOT NULL "
                 "already; left out")
        return
    fill = ctx.fills.pop((table, name), None)
    up = None
    if fill is not None:
        fill.used = True
        up = ir.SqlExpr(f"COALESCE({sql_name(name)}, {fill.value})")
        ctx.note(stmt.span, f"alter_column {table}.{name}: `up` replaces NULLs as the "
                 f"UPDATE before it did ({fill.value}); the UPDATE itself is left out")
    else:
        ctx.note(stmt.span, f"alter_column {table}.{name}: no `up` replaces NULLs: a row "
                 "holding NULL makes start fail, as it makes the SQL statement fail",
                 "write `up` to replace NULLs, e.g. COALESCE(column, value)")
    append_alter(ctx, ir.AlterColumn(table=ident(table), column=ident(name), nullable=False,
                                     up=up, span=stmt.span))


def _drop_not_null(ctx: Context, stmt: Statement, table: str, name: str) -> None:
    if fold_into_created(ctx, table, alter=(name, {"nullable": True})):
        return
    if fold_into_added(ctx, table, name, {"nullable": True}):
        return
    column = ctx.column(table, name)
    if column is not None and column.nullable:
        ctx.note(stmt.span, f"ALTER COLUMN {name} DROP NOT NULL: the column is nullable "
                 "already; left out")
        return
    down = ctx.placeholder(
        stmt.span, f"alter_column {table}.{name}", "`down` must turn a NULL written through "
        "the new version into a value the old version's NOT NULL column accepts",
        "e.g. COALESCE(column, value)")
    append_alter(ctx, ir.AlterColumn(table=ident(table), column=ident(name), nullable=True,
                                     down=down, span=stmt.span))


def _replica_identity(ctx: Context, stmt: Statement, table: str,
                      command: ast.AlterTableCmd) -> None:
    node = command.def_
    assert isinstance(node, ast.ReplicaIdentityStmt)
    kind = _IDENTITY[node.identity_type or "d"]
    index = ident(node.name) if kind is ir.ReplicaIdentityType.INDEX and node.name else None
    ctx.operations.append(ir.SetReplicaIdentity(
        table=ident(table), identity=ir.ReplicaIdentity(type=kind, index=index),
        span=stmt.span))
    forget(ctx, table, ())
