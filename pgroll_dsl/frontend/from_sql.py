"""SQL DDL -> ``ir.Migration``: ``convert`` from SQL, compatible with pgroll's converter.

``alembic upgrade head --sql``, Django's ``sqlmigrate`` or a hand-written script becomes one
migration whose operations follow the statements in order; the emitters then write it in any
syntax. Statements are parsed with pglast (PostgreSQL's parser, as pgroll's converter uses
pg_query). What pgroll's converter maps becomes the same operation; a statement it keeps as
raw SQL is kept raw here too, with a PGD330 warning. Differences from pgroll's
``sql2pgroll``, each one a migration that runs where pgroll's does not:

* ``up``/``down`` are inferred where the statement says what they must be, and pgroll's
  placeholder (``TODO: Implement SQL data migration``, which ``validate`` refuses) is written
  only where the author must decide, with a PGD331 warning (``from_sql_alter`` has the rules).
  A ``catalog`` (the schema before the script, e.g. replayed history) lets convert infer
  more: the old type of a column for ``down``, the columns a dropped constraint covers.
* Unnamed constraints and indexes get the name PostgreSQL gives them (pgroll's converter
  leaves them unnamed, which pgroll refuses).
* ``BEGIN``/``COMMIT`` and ``SET`` statements (Alembic and Django emit them) are dropped:
  pgroll runs each phase in its own transactions.
* Statements about a table or column the script creates are folded into its
  ``create_table``/``add_column`` (``from_sql_fold``); more of them convert (``CREATE INDEX``
  expressions and ``INCLUDE`` stay raw, as in pgroll).
* SQL comments are kept as DSL comments, before the operation of the statement they precede.
"""

from __future__ import annotations

import bisect
from dataclasses import replace

from pglast import ast, parse_sql, parser
from pglast.enums import TransactionStmtKind

from pgroll_dsl import ir
from pgroll_dsl.catalog.model import Catalog
from pgroll_dsl.catalog.sql_ddl import apply_sql
from pgroll_dsl.diagnostics import CompileError, Diagnostic, codes
from pgroll_dsl.frontend.from_sql_alter import alter_table
from pgroll_dsl.frontend.from_sql_fold import (
    forget_all,
)
from pgroll_dsl.frontend.from_sql_objects import (
    comment,
    create_index,
    drop,
    fill,
    is_relation,
    rename,
)
from pgroll_dsl.frontend.from_sql_state import (
    Context,
    KeepRaw,
    Statement,
    relation_name,
    warning,
)
from pgroll_dsl.frontend.from_sql_tables import create_table
from pgroll_dsl.source import Span
from pgroll_dsl.sql.spans import Source, TokenSpan
from pgroll_dsl.sql.transactions import runs_in_a_transaction

__all__ = ["convert_sql"]

_SHORT = 60
# Transaction boundaries and session settings: pgroll runs each phase in its own
# transactions, with its own settings. (ROLLBACK, savepoints and two-phase commit are not
# boundaries of a script that succeeds: they stay, raw, with a warning.)
_SETTINGS = (ast.VariableSetStmt, ast.ConstraintsSetStmt, ast.VariableShowStmt)
_BOUNDARIES = frozenset({TransactionStmtKind.TRANS_STMT_BEGIN, TransactionStmtKind.TRANS_STMT_START,
                         TransactionStmtKind.TRANS_STMT_COMMIT})
# Settings that change what later statements mean: left out, with a note.
_MEANINGFUL = {"search_path": "unqualified names are read as schema {schema}",
               "role": "the operations run as the role pgroll-dsl connects with (--role)",
               "session_authorization": "the operations run as the role pgroll-dsl connects "
                                        "with (--role)"}


def convert_sql(text: str, name: str, *, path: str | None = None,
                catalog: Catalog | None = None,
                schema: str = "public") -> tuple[ir.Migration, list[Diagnostic]]:
    """Convert a SQL script to one migration of pgroll operations.

    Args:
        text: SQL statements, as a file or standard input holds them.
        name: The migration's name (the file stem of the migration to write).
        path: Where the script came from, for diagnostics (``<stdin>`` by default).
        catalog: The schema the script runs on, if known (replayed history, a snapshot or
            introspection): convert then infers more ``up``/``down`` expressions.
        schema: The target schema; objects qualified with another are kept as raw SQL.

    Returns:
        The migration, and warnings and notes (PGD330 raw SQL, PGD331 placeholders,
        PGD332 assumptions), none of them errors.

    Raises:
        CompileError: The script does not parse (PGD014).
    """
    path = path or "<stdin>"
    lines = _Lines(text, path)
    try:
        statements = parse_sql(text)
    except parser.ParseError as error:
        raise CompileError([_syntax(error, lines)]) from None
    source = Source.of(text)
    start = catalog if catalog is not None else Catalog(schema=schema)
    ctx = Context(path=path, schema=schema, before=start, after=start, known=catalog is not None)
    for raw in statements:
        tokens = source.statement(raw)
        if raw.stmt is None or tokens.end <= tokens.first:
            continue
        _statement(ctx, Statement(raw.stmt, tokens, lines.span(tokens)))
    operations = _with_unused_fills(ctx)
    diagnostics = _mixed(ctx.diagnostics, operations)
    if not operations:
        diagnostics.append(warning(codes.EMPTY_MIGRATION, None,
                                   "the SQL script has no statement to convert"))
    migration = ir.Migration(name=name, operations=tuple(operations), path=path,
                             comments=_comments(text, lines, ctx.raw))
    return migration, diagnostics


def _statement(ctx: Context, stmt: Statement) -> None:
    """Convert one statement, or keep it raw; the schema moves on either way."""
    node = stmt.node
    if isinstance(node, ast.TransactionStmt) and node.kind in _BOUNDARIES:
        return
    if isinstance(node, _SETTINGS):
        setting = node.name if isinstance(node, ast.VariableSetStmt) else None
        if setting in _MEANINGFUL:
            ctx.diagnostics.append(warning(
                codes.CONVERT_ASSUMPTION, stmt.span, f"SET {setting} is left out: "
                + _MEANINGFUL[setting].format(schema=ctx.schema)))
        return
    ctx.after, _ = apply_sql(ctx.before, stmt.text)
    saved = (list(ctx.operations), dict(ctx.created), dict(ctx.added), dict(ctx.fills),
             dict(ctx.origins))
    try:
        _convert(ctx, stmt)
        ctx.diagnostics.extend(ctx.pending)
    except KeepRaw as problem:
        operations, created, added, fills, origins = saved
        ctx.operations[:], ctx.created, ctx.added = operations, created, added
        ctx.fills, ctx.origins = fills, origins
        _keep_raw(ctx, stmt, problem.reason)
    finally:
        ctx.pending = []
        ctx.before = ctx.after


def _convert(ctx: Context, stmt: Statement) -> None:
    node = stmt.node
    match node:
        case ast.CreateStmt():
            name = relation_name(ctx, node.relation)
            if node.if_not_exists and not ctx.conditional(
                    stmt.span, f"table {name}", is_relation(ctx, name), exists=False):
                return
            op = create_table(ctx, stmt)
            ctx.operations.append(op)
            ctx.created[op.name.name] = len(ctx.operations) - 1
        case ast.AlterTableStmt():
            alter_table(ctx, stmt)
        case ast.IndexStmt():
            create_index(ctx, stmt, node)
        case ast.DropStmt():
            drop(ctx, stmt, node)
        case ast.RenameStmt():
            rename(ctx, stmt, node)
        case ast.CommentStmt():
            comment(ctx, stmt, node)
        case ast.UpdateStmt():
            fill(ctx, stmt, node)
        case _:
            raise KeepRaw(f"pgroll has no operation for {_statement_kind(stmt)}")


def _statement_kind(stmt: Statement) -> str:
    """``CREATE SEQUENCE``, ``INSERT INTO``...: the statement's first two keywords."""
    words = []
    tokens = stmt.tokens
    for index in range(tokens.first, min(tokens.first + 2, tokens.end)):
        token = tokens.source.tokens[index]
        if token.kind == "NO_KEYWORD":
            break
        words.append(tokens.source.sql[token.start:token.end + 1].upper())
    return " ".join(words) or "this statement"


def _keep_raw(ctx: Context, stmt: Statement, reason: str) -> None:
    """A ``sql`` operation; consecutive raw statements share one (pgroll runs it alone).

    A statement PostgreSQL refuses inside a transaction block (``CREATE INDEX
    CONCURRENTLY``...) keeps an operation of its own, so that it can run as one.
    """
    previous = ctx.operations[-1] if ctx.operations else None
    alone = not runs_in_a_transaction(stmt.text)
    if (isinstance(previous, ir.Sql) and not alone and previous.span is not None
            and runs_in_a_transaction(previous.up.text)):
        span = replace(previous.span, end_line=stmt.span.end_line, end_col=stmt.span.end_col)
        ctx.operations[-1] = ir.Sql(up=ir.SqlScript(f"{previous.up.text};\n{stmt.text}"),
                                    span=span)
    else:
        ctx.operations.append(ir.Sql(up=ir.SqlScript(stmt.text), span=stmt.span))
    ctx.raw.append(stmt.offsets)
    forget_all(ctx)
    ctx.diagnostics.append(warning(
        codes.SQL_KEPT_RAW, stmt.span,
        f'"{_shorten(stmt.text)}" is kept as a raw `sql` operation: {reason}'))


def _with_unused_fills(ctx: Context) -> list[ir.Operation]:
    """Fills no ``SET NOT NULL`` used stay raw ``sql`` operations where they were."""
    operations = list(ctx.operations)
    for waiting in sorted(ctx.all_fills, key=lambda f: f.position, reverse=True):
        if waiting.used:
            continue
        stmt = waiting.statement
        operations.insert(min(waiting.position, len(operations)),
                          ir.Sql(up=ir.SqlScript(stmt.text), span=stmt.span))
        ctx.raw.append(stmt.offsets)
        ctx.diagnostics.append(warning(
            codes.SQL_KEPT_RAW, stmt.span, f'"{_shorten(stmt.text)}" is kept as a raw `sql` '
            "operation: an UPDATE changes data, and no SET NOT NULL of the column used it"))
    return operations


def _mixed(diagnostics: list[Diagnostic], operations: list[ir.Operation]) -> list[Diagnostic]:
    """Raw SQL next to other operations: pgroll runs a ``sql`` operation only alone."""
    raw = sum(isinstance(op, ir.Sql) for op in operations)
    if not raw or raw == len(operations):
        return list(diagnostics)
    hint = ("pgroll runs a `sql` operation alone in its migration (or `on complete`): move "
            "it into a migration of its own, or replace it with operations")
    return [replace(d, hints=(*d.hints, hint)) if d.code is codes.SQL_KEPT_RAW else d
            for d in diagnostics]


# ---- positions and comments --------------------------------------------------------------


class _Lines:
    """Character offsets of the script as file positions."""

    def __init__(self, text: str, path: str) -> None:
        self.path = path
        self.starts = [0, *(n + 1 for n, char in enumerate(text) if char == "\n")]

    def position(self, offset: int) -> tuple[int, int]:
        line = bisect.bisect_right(self.starts, offset)
        return line, offset - self.starts[line - 1] + 1

    def span(self, tokens: TokenSpan) -> Span:
        first = tokens.source.tokens[tokens.first]
        last = tokens.source.tokens[tokens.end - 1]
        line, col = self.position(first.start)
        end_line, end_col = self.position(last.end + 1)
        return Span(self.path, line, col, end_line, end_col)


def _syntax(error: parser.ParseError, lines: _Lines) -> Diagnostic:
    message = str(error.args[0])
    location = error.args[1] if len(error.args) > 1 else None
    span = None
    if isinstance(location, int):
        line, col = lines.position(max(location, 0))
        span = Span(lines.path, line, col, line, col + 1)
    return Diagnostic(codes.SQL_SYNTAX, f"the SQL does not parse: {message}", span)


def _comments(text: str, lines: _Lines,
              raw: list[tuple[int, int]]) -> tuple[ir.Comment, ...]:
    """The script's comments as DSL comments.

    Left out: those inside a statement kept raw (its ``sql`` operation has them already),
    and nested block comments (the DSL's do not nest).
    """
    found = []
    for token in parser.scan(text):
        if token.name not in ("SQL_COMMENT", "C_COMMENT"):
            continue
        if any(start <= token.start < end for start, end in raw):
            continue
        body = text[token.start:token.end + 1]
        if token.name == "C_COMMENT" and body.count("/*") > 1:
            continue
        found.append(ir.Comment(line=lines.position(token.start)[0], text=body.rstrip()))
    return tuple(found)


def _shorten(text: str) -> str:
    """The statement on one line, cut at a word boundary near 60 characters."""
    text = " ".join(text.split())
    if len(text) <= _SHORT:
        return text
    cut = text.rfind(" ", 0, _SHORT)
    return text[: cut if cut > 0 else _SHORT] + " ..."
