"""Name resolution for ``validate_ops``: does a table, column, index or constraint exist?

Every lookup reports at the span of the name that fails, with a did-you-mean hint, so that
an author sees which word to fix rather than which operation.

Before:  ``alter table user add nickname text;``  (the table is ``users``)
After:   PGD202 at ``user`` with the hint ``did you mean "users"?``.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable

from pgroll_dsl import ir
from pgroll_dsl.catalog.model import Catalog, Column, Constraint, Table
from pgroll_dsl.diagnostics import Diagnostics, codes

# Constraint kinds pgroll can find by name for drop_constraint / drop_multicolumn_constraint.
DROPPABLE = (ir.ConstraintType.CHECK, ir.ConstraintType.UNIQUE, ir.ConstraintType.FOREIGN_KEY)
# Constraint kinds PostgreSQL backs with an index of the same name (a relation name).
INDEX_BACKED = (ir.ConstraintType.PRIMARY_KEY, ir.ConstraintType.UNIQUE,
                ir.ConstraintType.EXCLUDE)


def did_you_mean(name: str, candidates: Iterable[str]) -> tuple[str, ...]:
    """A hint naming the closest candidate, or no hint.

    Args:
        name: The name that did not resolve.
        candidates: The names that would have.

    Returns:
        ``('did you mean "x"?',)`` or ``()``.
    """
    pool = sorted(set(candidates))
    same_case = [c for c in pool if c.lower() == name.lower()]
    if same_case:
        return (f'did you mean "{same_case[0]}"? (names are case-sensitive)',)
    close = difflib.get_close_matches(name, pool, n=1, cutoff=0.6)
    if not close:
        # `event_name` for `name`: the author prefixed (or suffixed) the real name.
        close = sorted((c for c in pool if _affixed(name, c) or _affixed(c, name)),
                       key=len, reverse=True)
    return (f'did you mean "{close[0]}"?',) if close else ()


def _affixed(longer: str, shorter: str) -> bool:
    return longer.endswith("_" + shorter) or longer.startswith(shorter + "_")


def require_table(catalog: Catalog, name: ir.Ident, sink: Diagnostics) -> Table | None:
    """The table named ``name``; report PGD202 when there is none.

    Args:
        catalog: The schema just before the operation.
        name: The table name as written.
        sink: Where problems go.

    Returns:
        The table, or None once reported.
    """
    table = catalog.table(name.name)
    if table is None:
        sink.report(codes.TABLE_DOES_NOT_EXIST, name.span, f'table "{name.name}" does not exist',
                    *did_you_mean(name.name, (t.name for t in catalog.tables)))
    return table


def require_column(table: Table, name: ir.Ident, sink: Diagnostics) -> Column | None:
    """The column named ``name`` of ``table``; report PGD204 when there is none.

    Args:
        table: The table as the operation sees it.
        name: The column name as written.
        sink: Where problems go.

    Returns:
        The column, or None once reported.
    """
    column = table.column(name.name)
    if column is None:
        sink.report(codes.COLUMN_DOES_NOT_EXIST, name.span,
                    f'column "{name.name}" does not exist on table "{table.name}"',
                    *did_you_mean(name.name, (c.name for c in table.columns)))
    return column


def require_columns(table: Table, names: Iterable[ir.Ident], sink: Diagnostics) -> None:
    """Report PGD204 for each of ``names`` that ``table`` lacks.

    Args:
        table: The table as the operation sees it.
        names: Column names as written.
        sink: Where problems go.
    """
    for name in names:
        require_column(table, name, sink)


def require_no_column(table: Table, name: ir.Ident, sink: Diagnostics) -> None:
    """Report PGD203 when ``table`` already has a column named ``name``.

    Args:
        table: The table as the operation sees it.
        name: The new column name.
        sink: Where problems go.
    """
    if table.column(name.name) is not None:
        sink.report(codes.COLUMN_ALREADY_EXISTS, name.span,
                    f'column "{name.name}" already exists in table "{table.name}"')


def relation_named(catalog: Catalog, name: str) -> str | None:
    """What already owns ``name`` in the schema's relation namespace, if anything.

    Tables, indexes (including those behind unique and primary key constraints) and
    sequences share one namespace in PostgreSQL.

    Args:
        catalog: The schema just before the operation.
        name: A would-be table or index name.

    Returns:
        A description such as ``'index "i" on table "t"'``, or None when the name is free.
    """
    if catalog.table(name) is not None:
        return f'table "{name}"'
    found = catalog.index(name)
    if found is not None:
        return f'index "{name}" on table "{found[0].name}"'
    if any(s.name == name for s in catalog.sequences):
        return f'sequence "{name}"'
    return None


def require_no_table(catalog: Catalog, name: ir.Ident, sink: Diagnostics) -> None:
    """Report PGD201 when a table (or another relation) is already called ``name``.

    Args:
        catalog: The schema just before the operation.
        name: The new table name.
        sink: Where problems go.
    """
    owner = relation_named(catalog, name.name)
    if owner is None:
        return
    if owner.startswith("table"):
        sink.report(codes.TABLE_ALREADY_EXISTS, name.span, f'table "{name.name}" already exists')
    else:
        sink.report(codes.TABLE_ALREADY_EXISTS, name.span,
                    f'"{name.name}" is already the name of {owner}',
                    "tables, indexes and sequences share one namespace per schema")


def require_no_index(catalog: Catalog, name: ir.Ident, sink: Diagnostics) -> bool:
    """Report PGD205 when an index (or another relation) is already called ``name``.

    Args:
        catalog: The schema just before the operation.
        name: The new index name (or the name of a constraint backed by an index).
        sink: Where problems go.

    Returns:
        True when the name is free.
    """
    owner = relation_named(catalog, name.name)
    if owner is not None:
        sink.report(codes.INDEX_ALREADY_EXISTS, name.span,
                    f'"{name.name}" is already the name of {owner}',
                    "index names are unique across all tables of the schema")
    return owner is None


def require_no_constraint(catalog: Catalog, table: Table, name: ir.Ident, kind: ir.ConstraintType,
                          sink: Diagnostics) -> None:
    """Report PGD207 (or PGD205) when a new constraint's name is taken.

    Args:
        catalog: The schema just before the operation.
        table: The table the constraint is added to.
        name: The new constraint's name.
        kind: Its kind: unique and primary key constraints also name an index.
        sink: Where problems go.
    """
    if table.constraint(name.name) is not None:
        sink.report(codes.CONSTRAINT_ALREADY_EXISTS, name.span,
                    f'constraint "{name.name}" on table "{table.name}" already exists')
    elif kind in INDEX_BACKED:
        require_no_index(catalog, name, sink)


def require_constraint(table: Table, name: ir.Ident, sink: Diagnostics) -> Constraint | None:
    """The constraint ``name`` of ``table`` (any kind); report PGD208 when there is none.

    Args:
        table: The table as the operation sees it.
        name: The constraint name as written.
        sink: Where problems go.

    Returns:
        The constraint, or None once reported.
    """
    constraint = table.constraint(name.name)
    if constraint is None:
        sink.report(codes.CONSTRAINT_DOES_NOT_EXIST, name.span,
                    f'constraint "{name.name}" on table "{table.name}" does not exist',
                    *did_you_mean(name.name, (c.name for c in table.constraints)))
    return constraint


def require_droppable(table: Table, name: ir.Ident, sink: Diagnostics) -> Constraint | None:
    """A check, unique or foreign key constraint to drop; report PGD208 / PGD313 otherwise.

    Args:
        table: The table as the operation sees it.
        name: The constraint name as written.
        sink: Where problems go.

    Returns:
        The constraint, or None once reported.
    """
    constraint = require_constraint(table, name, sink)
    if constraint is not None and constraint.type not in DROPPABLE:
        sink.report(codes.CONSTRAINT_NOT_DROPPABLE, name.span,
                    f'constraint "{name.name}" is a {constraint.type.value.replace("_", " ")}'
                    " constraint; pgroll drops only check, unique and foreign key constraints",
                    "use a `sql` operation to drop it")
        return None
    return constraint
