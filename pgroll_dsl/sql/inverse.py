"""Undo statements for the DDL of a raw ``sql`` operation that has no ``down``.

pgroll cannot roll back such an operation; for the common statements (CREATE TABLE, TYPE,
INDEX, SEQUENCE, VIEW, and ALTER TABLE … ADD COLUMN) the inverse is obvious, so the plan
rolls them back too, and says so. Anything else leaves the rollback to the author.
"""

from __future__ import annotations

from typing import Any

from pglast import ast, parse_sql
from pglast.enums import AlterTableType
from pglast.parser import ParseError

from pgroll_dsl.sql.quoting import quote_ident


def _name(relation: Any) -> str:
    parts = [relation.schemaname, relation.relname]
    return ".".join(quote_ident(p) for p in parts if p)


def _type_name(names: Any) -> str:
    return ".".join(quote_ident(n.sval) for n in names)


def _inverse(statement: Any) -> list[str] | None:
    if getattr(statement, "if_not_exists", False) or getattr(statement, "missing_ok", False):
        # IF NOT EXISTS may have created nothing: dropping the name could drop what was there
        # before the migration, with its data. No inverse; the author gives a ``down``.
        return None
    if isinstance(statement, ast.ViewStmt) and statement.replace:
        return None  # OR REPLACE: the view may have existed before
    match statement:
        case ast.CreateStmt():
            return [f"DROP TABLE IF EXISTS {_name(statement.relation)}"]
        case ast.CreateEnumStmt():
            return [f"DROP TYPE IF EXISTS {_type_name(statement.typeName)}"]
        case ast.IndexStmt() if statement.idxname:
            schema = statement.relation.schemaname if statement.relation else None
            prefix = f"{quote_ident(schema)}." if schema else ""
            return [f"DROP INDEX IF EXISTS {prefix}{quote_ident(statement.idxname)}"]
        case ast.CreateSeqStmt():
            return [f"DROP SEQUENCE IF EXISTS {_name(statement.sequence)}"]
        case ast.ViewStmt():
            return [f"DROP VIEW IF EXISTS {_name(statement.view)}"]
        case ast.AlterTableStmt():
            undo = []
            for command in statement.cmds or ():
                if command.subtype != AlterTableType.AT_AddColumn or command.missing_ok:
                    return None
                undo.append(f"ALTER TABLE IF EXISTS {_name(statement.relation)} DROP COLUMN IF "
                            f"EXISTS {quote_ident(command.def_.colname)}")
            return undo
        case _:
            return None


def inverse_ddl(text: str) -> list[str] | None:
    """Statements that undo ``text``, newest first; None when some statement has no inverse."""
    try:
        statements = parse_sql(text)
    except ParseError:
        return None
    undo: list[str] = []
    for raw in statements:
        inverse = _inverse(raw.stmt)
        if inverse is None:
            return None
        undo = inverse + undo
    return undo
