"""Whether an author's raw SQL may run inside a transaction block.

The executor runs a start step together with the record that it ran, in one transaction, and
complete and rollback as one transaction; psql runs the plan file's raw SQL as written. SQL
that PostgreSQL refuses inside a transaction block (``CREATE INDEX CONCURRENTLY``, ``VACUUM``,
``DETACH PARTITION … CONCURRENTLY``, its own ``BEGIN``/``COMMIT``...) is planned as a step of
its own instead, as pgroll runs it.
"""

from __future__ import annotations

from typing import Any

from pglast import ast, parse_sql, split
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


def statements_apart(text: str) -> list[str]:
    """The statements of raw SQL that runs outside a transaction, each to run as a step.

    Sent as one message, several statements are one implicit transaction block, which
    ``CREATE INDEX CONCURRENTLY`` and the like refuse; and one step of several statements
    that stops half-way cannot say which of them ran. A step each runs alone and is recorded
    alone. Text that runs in a transaction, is one statement, or opens and ends transactions
    itself (``BEGIN``, ``COMMIT``: the statements between them belong together) is one step.
    """
    try:
        parsed = parse_sql(text)
    except ParseError:
        return [text]
    if (len(parsed) < 2 or not any(_needs_its_own(raw.stmt) for raw in parsed)
            or any(isinstance(raw.stmt, ast.TransactionStmt) for raw in parsed)):
        return [text]
    return list(split(text))


def concurrent_index(text: str, schema: str) -> str | None:
    """The index ``text`` builds when it is one ``CREATE INDEX CONCURRENTLY`` in ``schema``.

    Such a build, killed or failed, leaves an invalid index behind, which a second run meets
    as "already exists" (or, with ``IF NOT EXISTS``, silently keeps). Knowing the name, the
    executor treats the author's build as it treats its own (``Step.index``): a resumed run
    drops the invalid index and builds it again. Only for an index of a table named without a
    schema or in the target schema, where the executor looks for it.
    """
    try:
        statements = parse_sql(text)
    except ParseError:
        return None
    if len(statements) != 1:
        return None
    statement = statements[0].stmt
    if not (isinstance(statement, ast.IndexStmt) and statement.concurrent and statement.idxname
            and statement.relation is not None):
        return None
    where = statement.relation.schemaname
    return statement.idxname if where is None or where == schema else None
