"""Partitioned tables for ``validate_ops``: what PostgreSQL refuses on them, found offline.

* A unique index or key of a partitioned table must hold every column of its partition key,
  and of the key of every partitioned partition below it, as plain key columns (PostgreSQL:
  "unique constraint on partitioned table must include all partitioning columns"). PGD321.
* A column of a partition key cannot be rewritten (a copy would have to replace it) nor
  dropped, and the columns of a partition change only through its partitioned table. PGD322.
* A unique or primary key constraint is made from an index built concurrently beforehand
  (``ADD CONSTRAINT ... USING INDEX``), which PostgreSQL refuses on a partitioned table: a new
  one, or one over a column a migration rewrites, is not supported yet. PGD323. (A unique
  *index* is: ``create index ... unique``.)

Before:  ``create unique index events_kind on events (kind);`` where ``events`` is
         ``PARTITION BY RANGE (at)``
After:   PGD321 at ``events_kind``: the index lacks the partition key column "at".
"""

from __future__ import annotations

from pgroll_dsl import ir
from pgroll_dsl.catalog.model import Catalog, Table
from pgroll_dsl.catalog.partitions import key_columns, keyed_tables
from pgroll_dsl.diagnostics import Diagnostics, codes
from pgroll_dsl.source import Span


def check_partitioning(op: ir.Operation, catalog: Catalog, sink: Diagnostics) -> None:
    """PGD321 and PGD322 for one operation (nothing when no table is partitioned)."""
    name = getattr(getattr(op, "table", None), "name", None)
    table = catalog.table(name) if isinstance(name, str) else None
    if table is None or not (table.partitioned or table.partition_of is not None):
        return
    match op:
        case ir.CreateIndex(unique=True):
            _unique(catalog, table, tuple(f.column.name for f in op.columns), op.name.span,
                    f'unique index "{op.name.name}"', sink)
        case ir.CreateConstraint():
            if op.type in (ir.ConstraintType.UNIQUE, ir.ConstraintType.PRIMARY_KEY):
                _unique(catalog, table, tuple(c.name for c in op.columns), op.name.span,
                        f'constraint "{op.name.name}"', sink)
                _key_constraint(table, f'constraint "{op.name.name}"', op.name.span, sink)
            _rewritten(catalog, table, tuple(c.name for c in op.columns), op.name.span, sink)
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
                _key_constraint(table, f'unique constraint "{op.unique.name.name}"',
                                op.unique.name.span, sink)
            if _rewrites_column(op):
                _rewritten(catalog, table, (op.column.name,), op.column.span, sink)
        case ir.DropColumn():
            _own_column(table, op.column.span, "drop a column of", sink)
            _rewritten(catalog, table, (op.column.name,), op.column.span, sink, "dropped")
        case ir.DropConstraint() | ir.DropMulticolumnConstraint():
            constraint = table.constraint(op.name.name)
            if constraint is not None:
                _rewritten(catalog, table, constraint.columns, op.name.span, sink)
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


def _own_column(table: Table, span: Span | None, action: str, sink: Diagnostics) -> None:
    if table.partition_of is not None:
        sink.report(codes.PARTITION_COLUMN_CHANGE, span,
                    f'cannot {action} partition "{table.name}": its columns are those of '
                    f'"{table.partition_of}"', f'change "{table.partition_of}" instead')


def _key_constraint(table: Table, what: str, span: Span | None, sink: Diagnostics) -> None:
    if table.partitioned:
        sink.report(codes.PARTITIONED_KEY_CONSTRAINT, span,
                    f'{what} cannot be added to partitioned table "{table.name}" yet: the plan '
                    "makes a key from an index built beforehand (ADD CONSTRAINT ... USING "
                    "INDEX), which PostgreSQL refuses on a partitioned table",
                    "a unique index does the same check: `create unique index ... on "
                    f"{table.name} (...)`")


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
                        "a partition key column can be renamed, not copied or dropped; "
                        "move the rows to a table partitioned otherwise instead")
            return
    if how != "rewritten" or not table.partitioned:
        return
    keys = [c for c in table.constraints
            if c.type in (ir.ConstraintType.PRIMARY_KEY, ir.ConstraintType.UNIQUE)
            and set(c.columns) & set(columns)]
    if keys:
        sink.report(codes.PARTITIONED_KEY_CONSTRAINT, span,
                    f'column{"s" if len(columns) > 1 else ""} {_names(list(columns))} of '
                    f'partitioned table "{table.name}" cannot be rewritten yet: '
                    f'{keys[0].type.value.replace("_", " ")} "{keys[0].name}" would have to '
                    "be made again on the copy from an index built beforehand (USING "
                    "INDEX), which PostgreSQL refuses on a partitioned table")


def _rewrites_column(op: ir.AlterColumn) -> bool:
    """Whether an alter_column copies the column (all but a comment-only change do)."""
    return any(x is not None for x in (op.type, op.nullable, op.default, op.check,
                                       op.references, op.unique))


def _names(columns: list[str]) -> str:
    return ", ".join(f'"{c}"' for c in columns)
