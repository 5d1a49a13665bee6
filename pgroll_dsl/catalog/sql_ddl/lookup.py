"""Catalog look-ups for statement handlers, and ``CannotReplay`` for what the model cannot follow.

A handler raises ``CannotReplay`` to abandon its statement (``apply_sql`` turns it into a
warning); the look-ups here raise it when a statement names something the catalog lacks.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from pgroll_dsl.catalog.model import Catalog, Column, Table

NOT_A_CHANGE = "not a table, type or index change"


class CannotReplay(Exception):
    """A statement (or part of one) that the model cannot follow; ``partial`` is kept."""

    def __init__(self, reason: str, partial: Catalog | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.partial = partial


def table_or_fail(catalog: Catalog, name: str) -> Table:
    """The table of that name; CannotReplay when the catalog has none."""
    table = catalog.table(name)
    if table is None:
        raise CannotReplay(f'table "{name}" is not in the catalog')
    return table


def column_or_fail(table: Table, name: str | None) -> Column:
    """The column of that name; CannotReplay when the table has none."""
    column = table.column(name or "")
    if column is None:
        raise CannotReplay(f'column "{name}" of table "{table.name}" is not in the catalog')
    return column


def change_column(catalog: Catalog, table_name: str, column_name: str | None,
                  **changes: Any) -> Catalog:
    """The catalog with one column's fields replaced (``dataclasses.replace`` keywords)."""
    table = table_or_fail(catalog, table_name)
    column = column_or_fail(table, column_name)
    changed = replace(column, **changes)
    columns = tuple(changed if c.name == column.name else c for c in table.columns)
    return catalog.with_table(replace(table, columns=columns))
