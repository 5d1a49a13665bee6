"""Partitioned tables for ``validate_ops``: what PostgreSQL refuses on them, found offline.

* A unique index or key of a partitioned table must hold every column of its partition key,
  and of the key of every partitioned partition below it, as plain key columns (PostgreSQL:
  "unique constraint on partitioned table must include all partitioning columns"). PGD321.
* A column of a partition key cannot be rewritten nor dropped (PostgreSQL refuses ``ALTER
  COLUMN ... TYPE`` and ``DROP COLUMN`` of one, and a copy swapped in at complete would have
  to replace it: the rows would have to move to other partitions, which a swap of columns
  cannot do), and the columns of a partition change only through its partitioned table.
  PGD322, with what to do instead: a new partitioned table and the rows moved to it.
* A unique or primary key constraint keeps its partition key columns as they are (they are
  not copied; ``up`` and ``down`` cannot be given for them, PGD322), and refuses what would
  lock: one over partition key columns only (nothing to copy: the old version would be held
  to it at once), a primary key over a nullable partition key column (``ADD PRIMARY KEY``
  would scan every partition under ACCESS EXCLUSIVE to make it NOT NULL). PGD323.

Before:  ``create unique index events_kind on events (kind);`` where ``events`` is
         ``PARTITION BY RANGE (at)``
After:   PGD321 at ``events_kind``: the index lacks the partition key column "at".
"""

from __future__ import annotations

from pgroll_dsl import ir
from pgroll_dsl.catalog.model import Catalog, Table
from pgroll_dsl.catalog.partitions import (
    kept_key_columns,
    key_columns,
    keyed_tables,
    partition_key_columns,
)
from pgroll_dsl.diagnostics import Diagnostics, codes
from pgroll_dsl.passes.validate_columns import rewrites_column
from pgroll_dsl.source import Span


def check_partitioning(op: ir.Operation, catalog: Catalog, sink: Diagnostics) -> None:
    """PGD321 to PGD323 for one operation (nothing when no table is partitioned)."""
    name = getattr(getattr(op, "table", None), "name", None)
    table = catalog.table(name) if isinstance(name, str) else None
    if table is None or not (table.partitioned or table.partition_of is not None):
        return
    match op:
        case ir.CreateIndex(unique=True):
            _unique(catalog, table, tuple(f.column.name for f in op.columns), op.name.span,
                    f'unique index "{op.name.name}"', sink)
        case ir.CreateConstraint():
            columns = tuple(c.name for c in op.columns)
            if op.type in (ir.ConstraintType.UNIQUE, ir.ConstraintType.PRIMARY_KEY):
                what = f'constraint "{op.name.name}"'
                _unique(catalog, table, columns, op.name.span, what, sink)
                mapped = tuple(e.column.name for e in (*op.up, *op.down))
                columns = _key_constraint(catalog, table, columns, mapped, op.type, what,
                                          op.name.span, sink)
            _rewritten(catalog, table, columns, op.name.span, sink)
        case ir.AddColumn():
            _own_column(table, op.column.name.span, "add a column to", sink)
            if op.column.unique:
                _unique(catalog, table, (op.column.name.name,), op.column.name.span,
                        f'unique column "{op.column.name.name}"', sink)
        case ir.AlterColumn():
            _own_column(table, op.column.span, "change a column of", sink)
            if op.unique is not None:
                _unique(catalog, table, (op.column.name,), op.unique.name.span,
                        f'unique constraint "{op.unique.name.name}"', sink)
            if rewrites_column(op):
                _rewritten(catalog, table, (op.column.name,), op.column.span, sink)
        case ir.DropColumn():
            _own_column(table, op.column.span, "drop a column of", sink)
            _rewritten(catalog, table, (op.column.name,), op.column.span, sink, "dropped")
        case ir.DropConstraint() | ir.DropMulticolumnConstraint():
            constraint = table.constraint(op.name.name)
            if constraint is not None:
                columns = constraint.columns
                if constraint.type in (ir.ConstraintType.UNIQUE, ir.ConstraintType.PRIMARY_KEY):
                    mapped = tuple(e.column.name for e in (*op.up, *op.down)) if isinstance(
                        op, ir.DropMulticolumnConstraint) else ()
                    columns = _key_constraint(catalog, table, columns, mapped, constraint.type,
                                              f'constraint "{constraint.name}"', op.name.span,
                                              sink)
                _rewritten(catalog, table, columns, op.name.span, sink)
        case _:
            pass


def _unique(catalog: Catalog, table: Table, columns: tuple[str, ...], span: Span | None, what: str,
            sink: Diagnostics) -> None:
    for keyed in keyed_tables(catalog, table.name):
        assert keyed.partition_by is not None
        plain, within = key_columns(keyed.partition_by)
        if within:
            sink.report(codes.UNIQUE_WITHOUT_PARTITION_KEY, span,
                        f'{what} cannot be on partitioned table "{keyed.name}": its partition '
                        f"key has an expression ({keyed.partition_by})",
                        "PostgreSQL allows unique indexes only on tables partitioned by "
                        "plain columns")
            return
        missing = [c for c in plain if c not in columns]
        if missing:
            where = "" if keyed is table else f' (partitioned by {keyed.partition_by})'
            sink.report(codes.UNIQUE_WITHOUT_PARTITION_KEY, span,
                        f'{what} lacks the partition key column'
                        f'{"s" if len(missing) > 1 else ""} '
                        f'{_names(missing)} of table "{keyed.name}"{where}',
                        "a unique index of a partitioned table is one index per partition: "
                        "PostgreSQL requires every partition key column in it, so that each "
                        "partition's index can enforce it")
            return


def kept_of(catalog: Catalog, table: Table, constraint: str) -> set[str]:
    """The partition key columns of key ``constraint``: not copied, so ``down`` needs none."""
    found = table.constraint(constraint)
    return set() if found is None else kept_key_columns(catalog, table, found.type,
                                                        found.columns)


def _own_column(table: Table, span: Span | None, action: str, sink: Diagnostics) -> None:
    if table.partition_of is not None:
        sink.report(codes.PARTITION_COLUMN_CHANGE, span,
                    f'cannot {action} partition "{table.name}": its columns are those of '
                    f'"{table.partition_of}"', f'change "{table.partition_of}" instead')


def _key_constraint(catalog: Catalog, table: Table, columns: tuple[str, ...],
                    mapped: tuple[str, ...], kind: ir.ConstraintType, what: str,
                    span: Span | None, sink: Diagnostics) -> tuple[str, ...]:
    """A key of a partitioned table: the columns it copies (its partition key columns stay)."""
    if not table.partitioned:
        return columns
    keys = partition_key_columns(catalog, table.name)
    given = [c for c in dict.fromkeys(mapped) if c in keys]
    if given:
        sink.report(codes.PARTITION_COLUMN_CHANGE, span,
                    f"{what} of partitioned table \"{table.name}\" cannot have an up or down "
                    f"for {_names(given)}: a partition key column is kept as it is, not copied",
                    "the key is made over the copies of its other columns and the partition "
                    "key columns themselves; leave the partition key columns out of up and down")
    copied = tuple(c for c in columns if c not in keys)
    if not copied:
        sink.report(codes.PARTITIONED_KEY_CONSTRAINT, span,
                    f"{what} of partitioned table \"{table.name}\" is over partition key "
                    "columns only: there is no column to copy, so the old version would be held "
                    "to it from start on",
                    "create a unique index instead (`create unique index ... on "
                    f"{table.name} (...)`), built concurrently partition by partition")
    elif kind is ir.ConstraintType.PRIMARY_KEY:
        nullable = [c for c in columns if c in keys and (col := table.column(c)) is not None
                    and col.nullable]
        if nullable:
            sink.report(codes.PARTITIONED_KEY_CONSTRAINT, span,
                        f"{what} of partitioned table \"{table.name}\" is over the nullable "
                        f"partition key column{'s' if len(nullable) > 1 else ''} "
                        f"{_names(nullable)}: PostgreSQL would make "
                        f"{'them' if len(nullable) > 1 else 'it'} NOT NULL with a scan of every "
                        "partition under ACCESS EXCLUSIVE",
                        "make it NOT NULL first, in an earlier migration (a partition key "
                        "column cannot be copied: raw SQL `ADD CONSTRAINT c CHECK (col IS NOT "
                        "NULL) NOT VALID`, `VALIDATE CONSTRAINT c`, then `ALTER COLUMN col SET "
                        "NOT NULL`, which the valid check spares the scan)")
    return copied


def _rewritten(catalog: Catalog, table: Table, columns: tuple[str, ...], span: Span | None,
               sink: Diagnostics, how: str = "rewritten") -> None:
    for keyed in keyed_tables(catalog, table.name):
        assert keyed.partition_by is not None
        plain, within = key_columns(keyed.partition_by)
        used = [c for c in columns if c in plain or c in within]
        if used:
            sink.report(codes.PARTITION_COLUMN_CHANGE, span,
                        f'column{"s" if len(used) > 1 else ""} '
                        f'{_names(used)} of table "{table.name}" cannot be '
                        f"{how}: {'they are' if len(used) > 1 else 'it is'} in the partition "
                        f'key of "{keyed.name}" ({keyed.partition_by})',
                        "PostgreSQL cannot change the type of a partition key column nor "
                        "drop it, and a copy swapped in at complete cannot become the key: "
                        "every row would have to move to the partition its new value "
                        "belongs to. A partition key column can be renamed. To change it, "
                        "create a new partitioned table with the new key, copy the rows to "
                        "it (in batches, with a trigger or a dual write for new ones), then "
                        "move the clients over (rename the tables) and drop the old one")
            return

def _names(columns: list[str]) -> str:
    return ", ".join(f'"{c}"' for c in columns)
