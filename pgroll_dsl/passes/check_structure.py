"""Shape rules that need no catalog: every name is one PostgreSQL can store as written.

Before:  ``create table "a_name_of_seventy_bytes…" (…)``  (PostgreSQL would silently truncate)
After:   PGD105 at the name; the migration is unchanged.
"""

from __future__ import annotations

from pgroll_dsl import ir
from pgroll_dsl.diagnostics import Diagnostics, codes
from pgroll_dsl.passes.walk import names

MAX_IDENTIFIER_BYTES = 63  # NAMEDATALEN - 1; longer names are truncated without warning


def check_structure(migration: ir.Migration, sink: Diagnostics) -> None:
    """Report invalid names and conflicting options."""
    for op in migration.operations:
        for name in names(op):
            _check_name(name, sink)
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
