"""Whether an author's raw SQL may run inside a transaction block.

The executor runs a start step together with the record that it ran, in one transaction, and
complete and rollback as one transaction; psql runs the plan file's raw SQL as written. SQL
that PostgreSQL refuses inside a transaction block (``CREATE INDEX CONCURRENTLY``, ``VACUUM``,
``DETACH PARTITION … CONCURRENTLY``, its own ``BEGIN``/``COMMIT``...) is planned as a step of
its own instead, as pgroll runs it.
"""

from __future__ import annotations

from dataclasses import dataclass
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


@dataclass(frozen=True, slots=True)
class Apart:
    """A piece of raw SQL that runs as a step of its own; ``alone``: outside a transaction."""

    text: str
    alone: bool


def _settings(statement: Any) -> bool:
    """``SET`` or ``RESET`` of the session: it is for the statement next to it."""
    return isinstance(statement, ast.VariableSetStmt) and not statement.is_local


def statements_apart(text: str) -> list[Apart]:
    """The pieces of raw SQL to run as steps of their own, in order.

    Sent as one message, several statements are one implicit transaction block, which
    ``CREATE INDEX CONCURRENTLY`` and the like refuse; and one step of several statements
    that stops half-way cannot say which of them ran. So where some statement of the text
    must run outside a transaction, each statement is a piece, except that a ``SET`` or
    ``RESET`` goes with the statement after it (before the text's last: with the one before):
    the executor runs a piece's statements one by one, and restores its own settings after
    every piece, so a setting lasts for its piece. Text that runs in a transaction, is one
    statement, or opens and ends transactions itself (``BEGIN``, ``COMMIT``: the statements
    between them belong together) is one piece.
    """
    try:
        parsed = parse_sql(text)
    except ParseError:
        return [Apart(text, alone=False)]
    needs = [_needs_its_own(raw.stmt) for raw in parsed]
    if (len(parsed) < 2 or not any(needs)
            or any(isinstance(raw.stmt, ast.TransactionStmt) for raw in parsed)):
        return [Apart(text, alone=any(needs))]
    groups: list[list[int]] = []
    waiting: list[int] = []  # settings for the next statement
    for position, raw in enumerate(parsed):
        waiting.append(position)
        if not _settings(raw.stmt):
            groups.append(waiting)
            waiting = []
    if waiting:
        if groups:
            groups[-1] += waiting
        else:
            groups.append(waiting)
    pieces = list(split(text))
    return [Apart("; ".join(pieces[p] for p in group), alone=any(needs[p] for p in group))
            for group in groups]


def one_by_one(text: str) -> list[str]:
    """The statements of ``text``, to send one message each (see :func:`statements_apart`)."""
    try:
        return list(split(text))
    except ParseError:
        return [text]


@dataclass(frozen=True, slots=True)
class IndexBuild:
    """What an author's ``CREATE INDEX CONCURRENTLY`` builds: an index of the target schema."""

    name: str
    table: str
    unique: bool


def index_build(text: str, schema: str) -> IndexBuild | None:
    """The index ``text`` builds when it is one ``CREATE INDEX CONCURRENTLY`` in ``schema``.

    Such a build, killed or failed, leaves an invalid index behind, which a second run meets
    as "already exists" (or, with ``IF NOT EXISTS``, silently keeps). Knowing it, the
    executor treats the author's build as it treats its own (``Step.index``): a run that goes
    on with it drops the invalid index and builds it again, and "already exists" means done
    only where a valid index of that name, uniqueness and table is there. Only for an index
    of a table named without a schema or in the target schema, where the executor looks for
    it; ``SET`` or ``RESET`` statements may come before it (``statements_apart``).
    """
    try:
        statements = parse_sql(text)
    except ParseError:
        return None
    if not statements or not all(_settings(raw.stmt) for raw in statements[:-1]):
        return None
    statement = statements[-1].stmt
    if not (isinstance(statement, ast.IndexStmt) and statement.concurrent and statement.idxname
            and statement.relation is not None and statement.relation.relname):
        return None
    where = statement.relation.schemaname
    if where is not None and where != schema:
        return None
    return IndexBuild(statement.idxname, statement.relation.relname, bool(statement.unique))
