"""Reading pglast's parse tree for the safety linter: names, types, locks.

Small pure functions over one node each, so that the walkers (``lint_walk``, ``lint_alter``)
read as a list of what each statement means, and the lock tables live in one place:
``alter_lock`` mirrors PostgreSQL's ``AlterTableGetLockLevel``, ``statement_lock`` the
documented lock of the other statements that take one on a table.
"""

from __future__ import annotations

from pglast import ast, parse_sql
from pglast.enums import AlterTableType, ConstrType, NullTestType, ObjectType
from pglast.parser import ParseError

from pgroll_dsl.catalog.sql_ddl.lookup import CannotReplay
from pgroll_dsl.catalog.sql_ddl.nodes import strings
from pgroll_dsl.catalog.sql_ddl.types import is_serial_type, type_text
from pgroll_dsl.frontend.conventions import KEYWORDS
from pgroll_dsl.sql.quoting import quote_name
from pgroll_dsl.sql.spans import regenerated

_AT = AlterTableType
_SHARE_UPDATE_EXCLUSIVE = frozenset({
    _AT.AT_ValidateConstraint, _AT.AT_AttachPartition, _AT.AT_SetStatistics, _AT.AT_ClusterOn,
    _AT.AT_DropCluster, _AT.AT_SetRelOptions, _AT.AT_ResetRelOptions,
})
_SHARE_ROW_EXCLUSIVE = frozenset({
    _AT.AT_EnableTrig, _AT.AT_DisableTrig, _AT.AT_EnableTrigAll, _AT.AT_DisableTrigAll,
    _AT.AT_EnableTrigUser, _AT.AT_DisableTrigUser, _AT.AT_EnableAlwaysTrig,
    _AT.AT_EnableReplicaTrig,
})
_LOCK_RANK = ("SHARE UPDATE EXCLUSIVE", "SHARE", "SHARE ROW EXCLUSIVE", "EXCLUSIVE",
              "ACCESS EXCLUSIVE")
_LOCK_MODES = {1: "ACCESS SHARE", 2: "ROW SHARE", 3: "ROW EXCLUSIVE", 4: "SHARE UPDATE EXCLUSIVE",
               5: "SHARE", 6: "SHARE ROW EXCLUSIVE", 7: "EXCLUSIVE", 8: "ACCESS EXCLUSIVE"}
_OBJECT_LABELS = {ObjectType.OBJECT_MATVIEW: "materialized view",
                  ObjectType.OBJECT_TABCONSTRAINT: "constraint",
                  ObjectType.OBJECT_DOMCONSTRAINT: "domain constraint"}
CONSTRAINT_KINDS = {ConstrType.CONSTR_CHECK: "check", ConstrType.CONSTR_FOREIGN: "foreign key",
                    ConstrType.CONSTR_UNIQUE: "unique", ConstrType.CONSTR_PRIMARY: "primary key",
                    ConstrType.CONSTR_EXCLUSION: "exclude", ConstrType.CONSTR_NOTNULL: "not null"}


def dsl(name: str) -> str:
    """A name as the DSL spells it (quoted where it must be), or an ellipsis."""
    return quote_name(name, KEYWORDS) if name and name != "…" else "…"


def relname(range_var: ast.RangeVar | None) -> str:
    """A relation's name, or an ellipsis."""
    return (range_var.relname if range_var is not None else None) or "…"


def name_of(obj: object) -> str:
    """The last part of an object's (possibly qualified) name."""
    match obj:
        case ast.String():
            return obj.sval or "…"
        case tuple():
            found = strings(obj)
            return found[-1] if found else "…"
        case ast.ObjectWithArgs():
            return name_of(obj.objname)
        case ast.TypeName():
            return name_of(obj.names)
        case ast.RangeVar():
            return relname(obj)
    return "…"


def label(object_type: ObjectType | None) -> str:
    """``table``, ``materialized view``, ``constraint``...: how messages name an object."""
    if object_type is None:
        return "object"
    return _OBJECT_LABELS.get(object_type,
                              object_type.name.removeprefix("OBJECT_").lower().replace("_", " "))


def constraints(column: ast.ColumnDef) -> tuple[ast.Constraint, ...]:
    """A column definition's inline constraints (DEFAULT, NOT NULL, PRIMARY KEY...)."""
    return tuple(c for c in column.constraints or () if isinstance(c, ast.Constraint))


def constraint_names(constraint: ast.Constraint, column: str | None, table: str
                     ) -> dict[str, str]:
    """The names a message about a constraint quotes: its name, kind and columns."""
    kind = (CONSTRAINT_KINDS.get(constraint.contype, "constraint")
            if constraint.contype is not None else "constraint")
    keys = strings(constraint.keys) or strings(constraint.fk_attrs) or (
        (column,) if column else ())
    # An unnamed constraint: the name PostgreSQL gives it (ChooseConstraintName, roughly).
    suffix = {"primary key": "pkey", "unique": "key", "foreign key": "fkey"}.get(kind, "check")
    default = "_".join((table, *keys[:1], suffix) if suffix != "pkey" else (table, suffix))
    columns = ", ".join(quote_name(k, KEYWORDS) for k in keys) or "…"
    names = {"name": constraint.conname or default, "kind": kind.upper(),
             "columns": ", ".join(keys) or "…", "constraint": f"{kind} ({columns})"}
    if keys:
        names["column"] = keys[0]
    return names


def type_of(type_name: ast.TypeName | None, schema: str) -> str | None:
    """format_type spelling of a column type, or None (``%TYPE``, ``SETOF``)."""
    try:
        return type_text(type_name, schema)
    except CannotReplay:
        return None


def spelled(type_name: ast.TypeName | None) -> str:
    """A type as SQL (and the DSL) spells it, for messages and hints."""
    text = regenerated(type_name) if type_name is not None else None
    return (text or "…").removeprefix("pg_catalog.")


def is_null(node: object) -> bool:
    """The literal NULL (``DEFAULT NULL`` fills nothing and rewrites nothing)."""
    return isinstance(node, ast.A_Const) and bool(node.isnull)


def is_zero(args: object) -> bool:
    """``SET statement_timeout = 0``: no timeout."""
    if not isinstance(args, tuple) or len(args) != 1 or not isinstance(args[0], ast.A_Const):
        return False
    value = args[0].val
    return str(getattr(value, "ival", getattr(value, "sval", ""))).strip() in ("0", "0ms", "0s")


def required(column: ast.ColumnDef) -> bool:
    """NOT NULL with no default, identity, generated expression or serial to fill it."""
    found = constraints(column)
    not_null = bool(column.is_not_null) or any(
        c.contype is ConstrType.CONSTR_NOTNULL for c in found)
    filled = is_serial_type(column.typeName) or any(
        c.contype in (ConstrType.CONSTR_IDENTITY, ConstrType.CONSTR_GENERATED)
        or c.contype is ConstrType.CONSTR_DEFAULT and not is_null(c.raw_expr)
        or c.contype is ConstrType.CONSTR_PRIMARY for c in found)
    return not_null and not filled


def is_column(using: object, column: str) -> bool:
    """No ``USING``, or ``USING c`` / ``USING c::type``: the values are the column's own."""
    if using is None:
        return True
    if isinstance(using, ast.TypeCast):
        using = using.arg
    return isinstance(using, ast.ColumnRef) and strings(using.fields)[-1:] == (column,)


def not_null_column(node: object) -> str | None:
    """``c IS NOT NULL``: the column ``c``."""
    if (isinstance(node, ast.NullTest) and node.nulltesttype is NullTestType.IS_NOT_NULL
            and isinstance(node.arg, ast.ColumnRef)):
        found = strings(node.arg.fields)
        return found[-1] if len(found) == 1 else None
    return None


def expression(text: str) -> object:
    """A catalog's expression text as a parse tree (None when it does not parse)."""
    try:
        select = parse_sql(f"SELECT ({text})")[0].stmt
    except ParseError:
        return None
    targets = getattr(select, "targetList", None) or ()
    return targets[0].val if targets else None


def relations(stmt: ast.Node) -> tuple[str, ...]:
    """The tables a maintenance or locking statement names."""
    match stmt:
        case ast.TruncateStmt() | ast.LockStmt():
            return tuple(relname(r) for r in stmt.relations or ())
        case ast.VacuumStmt():
            return tuple(relname(r.relation) for r in stmt.rels or ()
                         if isinstance(r, ast.VacuumRelation))
        case ast.ClusterStmt() | ast.ReindexStmt() | ast.RefreshMatViewStmt():
            return (relname(stmt.relation),) if stmt.relation is not None else ()
        case ast.CreateTrigStmt():
            return (relname(stmt.relation),)
    return ()


def statement_lock(stmt: ast.Node) -> str | None:
    """The blocking lock a statement other than ALTER TABLE takes on a table, if any."""
    match stmt:
        case ast.TruncateStmt() | ast.ClusterStmt():
            return "ACCESS EXCLUSIVE"
        case ast.VacuumStmt():
            full = any(o.defname == "full" for o in stmt.options or ())
            return "ACCESS EXCLUSIVE" if full and stmt.is_vacuumcmd else None
        case ast.LockStmt():
            return _LOCK_MODES.get(stmt.mode or 8)  # LOCK TABLE t: ACCESS EXCLUSIVE
        case ast.ReindexStmt():
            return None if reindex_concurrently(stmt) else "SHARE"
        case ast.RefreshMatViewStmt():
            return None if stmt.concurrent else "ACCESS EXCLUSIVE"
        case ast.CreateTrigStmt():
            return "SHARE ROW EXCLUSIVE"
    return None


def reindex_concurrently(stmt: ast.ReindexStmt) -> bool:
    """``REINDEX (CONCURRENTLY)`` / ``REINDEX … CONCURRENTLY``."""
    return any(p.defname == "concurrently" for p in stmt.params or ())


def detach_concurrently(cmd: ast.AlterTableCmd) -> bool:
    """``DETACH PARTITION … CONCURRENTLY``."""
    return cmd.subtype is _AT.AT_DetachPartition and bool(getattr(cmd.def_, "concurrent", False))


def alter_lock(commands: tuple[ast.AlterTableCmd, ...]) -> str | None:
    """The strongest lock an ALTER TABLE takes (PostgreSQL's ``AlterTableGetLockLevel``)."""
    best = -1
    for cmd in commands:
        if cmd.subtype in _SHARE_UPDATE_EXCLUSIVE or detach_concurrently(cmd):
            level = "SHARE UPDATE EXCLUSIVE"
        elif cmd.subtype in _SHARE_ROW_EXCLUSIVE or (
                cmd.subtype is _AT.AT_AddConstraint and isinstance(cmd.def_, ast.Constraint)
                and cmd.def_.contype is ConstrType.CONSTR_FOREIGN):
            level = "SHARE ROW EXCLUSIVE"
        else:
            level = "ACCESS EXCLUSIVE"
        best = max(best, _LOCK_RANK.index(level))
    return _LOCK_RANK[best] if best >= 0 else None
