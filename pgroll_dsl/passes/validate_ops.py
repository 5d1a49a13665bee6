"""Check every operation against the schema as it stands just before that operation.

pgroll validates a migration against the live database at ``start``; this pass does the same
offline, against a ``Catalog`` (introspected, from a snapshot, or replayed from earlier
migrations), and folds each operation into it with ``Catalog.apply`` so that later operations
see earlier ones. It reports every problem with the span of the offending name or expression
and never stops at the first. It goes further than pgroll where pgroll fails only at write
time: columns named inside up/down/check/default/predicate expressions must exist.

Before:  ``create table orders (id int primary key, user_id int references user (id));``
         against a schema whose table is ``users``
After:   PGD202 at ``user``: table "user" does not exist, with ``did you mean "users"?``.

Rule modules: ``validate_names`` (lookups), ``validate_columns``, ``validate_constraints``,
``validate_exprs`` (expression columns, volatility) and ``validate_types``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import assert_never

from pglast import parse_sql
from pglast.parser import ParseError

from pgroll_dsl import ir
from pgroll_dsl.catalog.apply import apply_operation
from pgroll_dsl.catalog.derived import new_name, parked_name
from pgroll_dsl.catalog.model import Catalog, Table
from pgroll_dsl.diagnostics import Diagnostics, codes
from pgroll_dsl.ir.baseline import is_baseline
from pgroll_dsl.passes.combine import combine
from pgroll_dsl.passes.lint_config import LintSettings
from pgroll_dsl.passes.typecheck import check_types
from pgroll_dsl.passes.validate_columns import (
    check_add_column,
    check_alter_column,
    check_drop_column,
    check_new_columns,
    check_rename_column,
)
from pgroll_dsl.passes.validate_constraints import (
    check_create_constraint,
    check_drop_constraint,
    check_drop_multicolumn,
    check_rename_constraint,
    check_table_constraints,
)
from pgroll_dsl.passes.validate_exprs import check_columns
from pgroll_dsl.passes.validate_names import (
    did_you_mean,
    require_columns,
    require_no_index,
    require_no_table,
    require_table,
)
from pgroll_dsl.passes.validate_partitions import check_partitioning, kept_of


@dataclass(slots=True)
class _Fold:
    """The schema as the next operation sees it, and what this migration did so far."""

    catalog: Catalog
    created: set[str] = field(default_factory=set)  # tables created by this migration
    warned: set[str] = field(default_factory=set)  # tables already warned about (PGD318)


def validate_ops(migration: ir.Migration, catalog: Catalog, sink: Diagnostics, *,
                 lint: LintSettings | None = None, pg_version: int | None = None) -> None:
    """Report every operation that does not fit the schema it runs on.

    Args:
        migration: The migration, already through the catalog-free checks.
        catalog: The schema before the migration starts.
        sink: Where problems go; nothing is raised.
        lint: Which safety rules of raw SQL run, and how loud (default: all, as warnings);
            none run on a baseline (``ir/baseline.py``).
        pg_version: The server's version, for the safety rules (when ``lint`` names none).
    """
    _check_isolation(migration, sink)
    _check_rewrites(migration, catalog, sink)
    fold = _Fold(catalog)
    linted = not is_baseline(migration)  # it records what exists: advice has no taker
    for op in migration.operations:
        _check(op, fold.catalog, sink)
        check_types(op, fold.catalog, sink)  # embedded SQL's types (PGD51x)
        if linted and isinstance(op, ir.Sql) and _parses(op):
            # Loaded here: the safety lints (a dozen modules) read raw SQL only.
            from pgroll_dsl.passes.lint_sql import lint_sql

            lint_sql(op, sink, catalog=fold.catalog, pg_version=pg_version, settings=lint)
        _warn_backfill(op, fold, sink)
        _remember(op, fold)
        fold.catalog = apply_operation(fold.catalog, op)


def _check_isolation(migration: ir.Migration, sink: Diagnostics) -> None:
    """A ``sql`` operation (unless ``on complete``) runs only on its own in pgroll."""
    if len(migration.operations) < 2:
        return
    for op in migration.operations:
        if isinstance(op, ir.Sql) and not op.on_complete:
            sink.report(codes.SQL_NOT_ALONE, op.span,
                        'operation "sql" cannot be executed with other operations',
                        "move it into a migration of its own, or run it `on complete`")


def _check_rewrites(migration: ir.Migration, catalog: Catalog, sink: Diagnostics) -> None:
    """PGD320: a column gets one new physical version per migration.

    add_column, alter_column and the constraint operations build a column's new version in a
    copy; an operation that copies or drops that column again would act on the copy, and
    neither pgroll nor the planner does that correctly. The planner first combines what it
    can (``passes.combine``: consecutive alters of a column merge, an add and its drop
    cancel), so this judges the combined migration and reports only the rest.
    """
    combined, _ = combine(migration)
    if sum(isinstance(op, _Rewrite) for op in combined.operations) < 2:
        return  # a column is made fresh only by a rewrite, and only a later one can clash
    state = catalog
    fresh: dict[tuple[str, str], ir.Operation] = {}  # (table, column) physical -> made by
    for op in combined.operations:
        if isinstance(op, _Rewrite):
            table = state.table(op.table.name)
            for name in _rewritten(op, table):
                column = table.column(name.name) if table is not None else None
                made_by = (fresh.get((table.physical, column.physical))
                           if table is not None and column is not None else None)
                if made_by is not None:
                    _report_rewrite(op, name, made_by, sink)
            after = apply_operation(state, op)
            _remember_copies(state.table(op.table.name), after.table(op.table.name), op, fresh)
            state = after
        else:
            state = apply_operation(state, op)


_Rewrite = (ir.AddColumn | ir.AlterColumn | ir.DropColumn | ir.CreateConstraint
            | ir.DropConstraint | ir.DropMulticolumnConstraint)


def _rewritten(op: _Rewrite, table: Table | None) -> tuple[ir.Ident, ...]:
    """The columns ``op`` copies or drops (its names, with their spans)."""
    match op:
        case ir.AddColumn():
            return ()
        case ir.AlterColumn() | ir.DropColumn():
            return (op.column,)
        case ir.CreateConstraint():
            return op.columns
        case ir.DropConstraint() | ir.DropMulticolumnConstraint():
            constraint = table.constraint(op.name.name) if table is not None else None
            return tuple(ir.Ident(c, span=op.name.span)
                         for c in (constraint.columns if constraint is not None else ()))
        case _:
            assert_never(op)


def _report_rewrite(op: _Rewrite, name: ir.Ident, made_by: ir.Operation,
                    sink: Diagnostics) -> None:
    made = "adds" if isinstance(made_by, ir.AddColumn) else "rewrites"
    action = "drop" if isinstance(op, ir.DropColumn) else "copy"
    sink.report(codes.COLUMN_REWRITTEN_TWICE, name.span or op.span,
                f'column "{name.name}" of table "{op.table.name}": the {made_by.kind} at '
                f"{made_by.span} {made} it in this migration, so this {op.kind} cannot "
                f"{action} it too",
                "merge both changes into one operation, or move this one into the next "
                "migration")


def _remember_copies(old: Table | None, new: Table | None, op: ir.Operation,
                     fresh: dict[tuple[str, str], ir.Operation]) -> None:
    """Record the physical columns ``op`` created (a new column or a column's copy)."""
    if new is None:
        return
    existing = {c.physical for c in old.columns} if old is not None else set()
    for column in new.columns:
        if column.physical not in existing:
            fresh[(new.physical, column.physical)] = op


def _check(op: ir.Operation, catalog: Catalog, sink: Diagnostics) -> None:
    """Dispatch on the operation kind; a new kind fails type checking here."""
    check_partitioning(op, catalog, sink)
    match op:
        case ir.CreateTable():
            _create_table(op, catalog, sink)
        case ir.RenameTable():
            require_table(catalog, op.from_, sink)
            require_no_table(catalog, op.to, sink)
        case ir.DropTable():
            require_table(catalog, op.name, sink)
        case ir.AddColumn():
            if table := require_table(catalog, op.table, sink):
                check_add_column(op, table, catalog, sink)
                _name_taken_until_complete(op, table, sink)
                _names_of_the_migration_free(op, table, (op.column.name,), sink)
        case ir.DropColumn():
            if table := require_table(catalog, op.table, sink):
                check_drop_column(op, table, sink)
        case ir.RenameColumn():
            if table := require_table(catalog, op.table, sink):
                check_rename_column(op, table, sink)
        case ir.AlterColumn():
            if table := require_table(catalog, op.table, sink):
                check_alter_column(op, table, catalog, sink)
                _names_of_the_migration_free(op, table, (op.column,), sink)
        case ir.CreateIndex():
            _create_index(op, catalog, sink)
        case ir.DropIndex():
            _drop_index(op, catalog, sink)
        case ir.CreateConstraint():
            if table := require_table(catalog, op.table, sink):
                check_create_constraint(op, table, catalog, sink)
                _names_of_the_migration_free(op, table, op.columns, sink)
        case ir.DropConstraint():
            if table := require_table(catalog, op.table, sink):
                check_drop_constraint(op, table, sink)
        case ir.DropMulticolumnConstraint():
            if table := require_table(catalog, op.table, sink):
                check_drop_multicolumn(op, table, sink,
                                       kept=kept_of(catalog, table, op.name.name))
        case ir.RenameConstraint():
            if table := require_table(catalog, op.table, sink):
                check_rename_constraint(op, table, catalog, sink)
        case ir.SetReplicaIdentity():
            if table := require_table(catalog, op.table, sink):
                _replica_identity(op, table, catalog, sink)
        case ir.Sql():
            _sql(op, catalog, sink)
        case _:
            assert_never(op)


def _names_of_the_migration_free(op: ir.Operation, table: Table,
                                 columns: tuple[ir.Ident, ...], sink: Diagnostics) -> None:
    """PGD203: a column of the table already has a name the migration gives a column of its own.

    A copy ``_pgroll_new_<c>`` is added ``IF NOT EXISTS`` (a resumed start finds it made):
    a column of the user's by that name would be taken for the copy, filled with ``up`` and
    renamed to ``c`` at complete, its data gone. Complete parks the old column as
    ``_pgroll_old_<c>`` for a moment, which such a column would make fail every time.
    """
    # (Not a copy this migration made already: a second alter of a column finds its own.)
    taken = {c.physical for c in table.columns if c.physical != new_name(c.name)}
    for column in columns:
        for name in (new_name(column.name), parked_name(column.name)):
            if name in taken:
                sink.report(codes.COLUMN_ALREADY_EXISTS, column.span or op.span,
                            f'table "{table.name}" has a column "{name}": the migration '
                            f'names a column of its own so while it changes "{column.name}"',
                            f'rename "{name}" first (names that begin with _pgroll_ are the '
                            "migration's)")


def _name_taken_until_complete(op: ir.AddColumn, table: Table, sink: Diagnostics) -> None:
    """A column renamed in this migration keeps its old name until complete."""
    name = op.column.name.name
    renamed = next((c for c in table.columns if c.physical == name and c.name != name), None)
    if renamed is not None:
        sink.report(codes.COLUMN_ALREADY_EXISTS, op.column.name.span,
                    f'column "{name}" of table "{table.name}" is renamed to "{renamed.name}" by '
                    "this migration and keeps its old name until complete",
                    f'add the new "{name}" in a later migration')


def _create_table(op: ir.CreateTable, catalog: Catalog, sink: Diagnostics) -> None:
    require_no_table(catalog, op.name, sink)
    renamed = next((t for t in catalog.tables
                    if t.physical == op.name.name and t.name != op.name.name), None)
    if renamed is not None:  # renamed in this migration: the old name is taken until complete
        sink.report(codes.TABLE_ALREADY_EXISTS, op.name.span,
                    f'table "{op.name.name}" is renamed to "{renamed.name}" by this migration '
                    "and keeps its old name until complete",
                    f'create the new "{op.name.name}" in a later migration')
    table = apply_operation(Catalog(schema=catalog.schema), op).table(op.name.name)
    assert table is not None  # create_table on an empty catalog always creates it
    check_new_columns(op, table, catalog, sink)
    check_table_constraints(op, table, catalog, sink)


def _create_index(op: ir.CreateIndex, catalog: Catalog, sink: Diagnostics) -> None:
    require_no_index(catalog, op.name, sink)
    table = require_table(catalog, op.table, sink)
    if table is None:
        return
    require_columns(table, (f.column for f in op.columns), sink)
    check_columns(op.predicate, [c.name for c in table.columns], table.name,
                  f'predicate of index "{op.name.name}"', sink)


def _all_indexes(catalog: Catalog) -> list[str]:
    return [i.name for t in catalog.tables for i in t.indexes]


def _drop_index(op: ir.DropIndex, catalog: Catalog, sink: Diagnostics) -> None:
    if catalog.index(op.name.name) is None:
        sink.report(codes.INDEX_DOES_NOT_EXIST, op.name.span,
                    f'index "{op.name.name}" does not exist',
                    *did_you_mean(op.name.name, _all_indexes(catalog)))


def _replica_identity(op: ir.SetReplicaIdentity, table: Table, catalog: Catalog,
                      sink: Diagnostics) -> None:
    index = op.identity.index
    if op.identity.type is not ir.ReplicaIdentityType.INDEX or index is None:
        return
    if table.index(index.name) is not None:
        return
    found = catalog.index(index.name)
    elsewhere = f' (it is on table "{found[0].name}")' if found is not None else ""
    sink.report(codes.INDEX_DOES_NOT_EXIST, index.span,
                f'index "{index.name}" does not exist on table "{table.name}"{elsewhere}',
                *did_you_mean(index.name, (i.name for i in table.indexes)))


def _parses(op: ir.Sql) -> bool:
    """Whether the safety linter reads this operation: ``up`` holds SQL that parses."""
    if not op.up.text.strip():
        return False
    try:
        parse_sql(op.up.text)
    except ParseError:
        return False
    return True


def _sql(op: ir.Sql, catalog: Catalog, sink: Diagnostics) -> None:
    """``up`` must hold a statement; empty text and syntax errors are check_expressions'."""
    if not op.up.text.strip():
        return
    try:
        statements = parse_sql(op.up.text)
    except ParseError:
        return
    if not statements:
        sink.report(codes.SQL_WITHOUT_STATEMENT, op.up.span,
                    "sql up holds no statement, only comments or ';'",
                    "give it a statement, or remove the operation")


# ---- backfills -------------------------------------------------------------------------


def _backfilled(op: ir.Operation) -> ir.Ident | None:
    """The table an operation backfills (pgroll's list), or None."""
    match op:
        case ir.AddColumn():
            return op.table if op.up is not None else None
        case (ir.AlterColumn() | ir.CreateConstraint() | ir.DropConstraint()
              | ir.DropMulticolumnConstraint()):
            return op.table
        case (ir.CreateTable() | ir.RenameTable() | ir.DropTable() | ir.DropColumn()
              | ir.RenameColumn() | ir.CreateIndex() | ir.DropIndex() | ir.RenameConstraint()
              | ir.SetReplicaIdentity() | ir.Sql()):
            return None
        case _:
            assert_never(op)


def _warn_backfill(op: ir.Operation, fold: _Fold, sink: Diagnostics) -> None:
    """PGD318 once per table: without a key, pgroll falls back to batching by ``ctid``."""
    name = _backfilled(op)
    if name is None or name.name in fold.created or name.name in fold.warned:
        return  # a table created by this migration is empty: its backfill is a no-op
    table = fold.catalog.table(name.name)
    if table is None or table.primary_key or table.unique_not_null_column() is not None:
        return
    fold.warned.add(name.name)
    sink.report(codes.BACKFILL_WITHOUT_KEY, name.span,
                f'table "{name.name}" has no primary key or unique NOT NULL column; the '
                f"backfill of this {op.kind} falls back to batches by ctid",
                "add a primary key to the table in an earlier migration")


def _remember(op: ir.Operation, fold: _Fold) -> None:
    if isinstance(op, ir.CreateTable):
        fold.created.add(op.name.name)
    elif isinstance(op, ir.RenameTable) and op.from_.name in fold.created:
        fold.created.add(op.to.name)
