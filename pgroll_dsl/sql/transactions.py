"""Whether an author's raw SQL may run inside a transaction block.

The executor runs a start step together with the record that it ran, in one transaction, and
complete and rollback as one transaction; psql runs the plan file's raw SQL as written. SQL
that PostgreSQL refuses inside a transaction block (``CREATE INDEX CONCURRENTLY``, ``VACUUM``,
``DETACH PARTITION … CONCURRENTLY``, its own ``BEGIN``/``COMMIT``...) is planned as a step of
its own instead, as pgroll runs it.
"""

from __future__ import annotations

from typing import Any

from pglast import ast, parse_sql
from pglast.parser import ParseError

_OUTSIDE = (ast.VacuumStmt, ast.TransactionStmt, ast.CreatedbStmt, ast.DropdbStmt,
            ast.AlterSystemStmt, ast.CreateTableSpaceStmt, ast.DropTableSpaceStmt)


def _needs_its_own(statement: Any) -> bool:
    if isinstance(statement, _OUTSIDE):
        return True
    if isinstance(statement, (ast.IndexStmt, ast.DropStmt)) and statement.concurrent:
        return True
    if isinstance(statement, ast.ReindexStmt):
        return any(p.defname == "concurrently" for p in statement.params or ())
    if isinstance(statement, ast.AlterTableStmt):  # DETACH PARTITION ... CONCURRENTLY
        return any(isinstance(cmd.def_, ast.PartitionCmd) and cmd.def_.concurrent
                   for cmd in statement.cmds or ())
    return False


def runs_in_a_transaction(text: str) -> bool:
    """False when some statement of ``text`` refuses to run inside a transaction block."""
    try:
        statements = parse_sql(text)
    except ParseError:
        return True  # refused earlier by the checks; nothing to decide here
    return not any(_needs_its_own(raw.stmt) for raw in statements)
