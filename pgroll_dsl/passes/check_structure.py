"""Shape rules that need no catalog: every name is one PostgreSQL can store as written.

Before:  ``create table "a_name_of_seventy_bytes…" (…)``  (PostgreSQL would silently truncate)
After:   PGD105 at the name; the migration is unchanged.
"""

from __future__ import annotations

from pgroll_dsl import ir
from pgroll_dsl.catalog.naming import NAMEDATALEN
from pgroll_dsl.diagnostics import Diagnostics, codes
from pgroll_dsl.passes.walk import names
from pgroll_dsl.source import Span

MAX_IDENTIFIER_BYTES = NAMEDATALEN - 1  # longer names are truncated without warning


def check_structure(migration: ir.Migration, sink: Diagnostics) -> None:
    """Report invalid names and conflicting options."""
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


def _check_name(name: ir.Ident, sink: Diagnostics) -> None:
    size = len(name.name.encode("utf-8"))
    if size == 0:
        sink.report(codes.INVALID_IDENTIFIER, name.span, "a name must not be empty")
    elif "\x00" in name.name:
        sink.report(codes.INVALID_IDENTIFIER, name.span, "a name must not contain a NUL byte")
    elif size > MAX_IDENTIFIER_BYTES:
        sink.report(
            codes.IDENTIFIER_TOO_LONG, name.span,
            f'name "{name.name[:20]}…" is {size} bytes long; PostgreSQL keeps only '
            f"{MAX_IDENTIFIER_BYTES}",
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
