"""Shape rules that need no catalog: every name is one PostgreSQL can store as written.

Before:  ``create table "a_name_of_seventy_bytes…" (…)``  (PostgreSQL would silently truncate)
After:   PGD105 at the name; the migration is unchanged.

A name with a line break is refused too: quoting keeps it safe inside SQL, but plan files
mention names in ``--`` comments, where a line break would turn the rest of the name into a
statement (a table named ``t``, a line break, then ``DROP TABLE users; --``).
"""

from __future__ import annotations

from pgroll_dsl import ir
from pgroll_dsl.catalog.derived import version_schema
from pgroll_dsl.catalog.naming import NAMEDATALEN
from pgroll_dsl.catalog.replay import version_schema_name
from pgroll_dsl.diagnostics import Diagnostics, codes
from pgroll_dsl.passes.walk import names
from pgroll_dsl.source import Span

MAX_IDENTIFIER_BYTES = NAMEDATALEN - 1  # longer names are truncated without warning


def check_structure(migration: ir.Migration, sink: Diagnostics) -> None:
    """Report invalid names and conflicting options."""
    _check_migration_names(migration, sink)
    for op in migration.operations:
        for name in names(op):
            _check_name(name, sink)
        for problem, span in _conflicts(op):
            sink.report(codes.CONFLICTING_OPTIONS, span or op.span, problem)
        if isinstance(op, ir.CreateTable | ir.AddColumn):
            columns = op.columns if isinstance(op, ir.CreateTable) else (op.column,)
            for column in columns:
                generated = column.generated
                if generated and generated.expression and generated.identity:
                    sink.report(codes.CONFLICTING_OPTIONS, generated.span or column.span,
                                f'column "{column.name.name}": only one of generated '
                                "expression and identity may be set")


def _check_migration_names(migration: ir.Migration, sink: Diagnostics) -> None:
    """The version schema and the migration's name (its file name) become schema names."""
    span = migration.span
    if migration.version_schema is not None:
        _check_name(ir.Ident(migration.version_schema, span=span), sink, "version schema")
    for text, what in ((migration.name, "migration name"), (migration.path, "file path")):
        if _line_break(text or "") is not None:
            sink.report(codes.INVALID_IDENTIFIER, span, f"the {what} contains a line break",
                        "plan files name the migration in `--` comments; rename the file")
            return  # the path holds the name: one report is enough


def check_version_schema(migration: ir.Migration, schema: str, sink: Diagnostics) -> None:
    """The version schema's name (``<schema>_<version>``) is one PostgreSQL keeps whole.

    Known only with the target schema (at plan time). PostgreSQL cut a longer one to 63
    bytes without a word: the schema was made under another name than the history's, and
    ``latest`` then found no version schema for any application to use (two long names
    alike in their first 63 bytes made the same schema).
    """
    _check_name(ir.Ident(version_schema(schema, version_schema_name(migration)),
                         span=migration.span), sink, "version schema")


def _line_break(text: str) -> str | None:
    """The first character that ends a ``--`` comment (PostgreSQL and psql: CR or LF)."""
    return next((c for c in text if c in "\r\n"), None)


def _check_name(name: ir.Ident, sink: Diagnostics, what: str = "a name") -> None:
    size = len(name.name.encode("utf-8"))
    if size == 0:
        sink.report(codes.INVALID_IDENTIFIER, name.span, f"{what} must not be empty")
    elif "\x00" in name.name:
        sink.report(codes.INVALID_IDENTIFIER, name.span, f"{what} must not contain a NUL byte")
    elif _line_break(name.name) is not None:
        sink.report(codes.INVALID_IDENTIFIER, name.span, f"{what} must not contain a line break",
                    "plan files show names in `--` comments, where a line break would end "
                    "the comment; PostgreSQL would accept it only quoted")
    elif size > MAX_IDENTIFIER_BYTES:
        sink.report(
            codes.IDENTIFIER_TOO_LONG, name.span,
            f'{what.removeprefix("a ")} "{name.name[:20]}…" is {size} bytes long; '
            f"PostgreSQL keeps only {MAX_IDENTIFIER_BYTES}",
            "PostgreSQL would silently truncate it; choose a shorter name",
        )


def _conflicts(op: ir.Operation) -> list[tuple[str, Span | None]]:
    """Option combinations pgroll rejects whatever the schema looks like."""
    found: list[tuple[str, Span | None]] = []
    if isinstance(op, ir.Sql) and op.on_complete and op.down is not None:
        found.append(("sql: `down` is not allowed with `on complete`", op.down.span))
    references: list[ir.TableForeignKeyReference] = []
    if isinstance(op, ir.CreateTable):
        for c in op.constraints:
            if c.type is ir.ConstraintType.CHECK and (c.deferrable or c.initially_deferred):
                found.append((f'check constraint "{c.name.name}" cannot be deferrable', c.span))
            if c.references is not None:
                references.append(c.references)
    elif isinstance(op, ir.CreateConstraint) and op.references is not None:
        references.append(op.references)
    set_actions = (ir.ForeignKeyAction.SET_NULL, ir.ForeignKeyAction.SET_DEFAULT)
    for ref in references:
        if ref.on_delete_set_columns and ref.on_delete not in set_actions:
            found.append(("a column list after ON DELETE needs SET NULL or SET DEFAULT",
                          ref.span))
    return found
