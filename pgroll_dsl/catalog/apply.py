"""``Catalog.apply``: the one definition of "the schema after this operation has started".

The validator folds it over a migration (later operations see earlier ones), replay folds it
over history, and the planner reads physical names from it. It is total: an operation that
does not fit leaves the catalog unchanged, because the validator has already reported why.
"""

from __future__ import annotations

from dataclasses import replace
from typing import assert_never

from pgroll_dsl import ir
from pgroll_dsl.catalog.derived import new_name
from pgroll_dsl.catalog.index_keys import (
    author_name,
    exclusion_elements,
    parse_options,
    without_default_collation,
    without_default_opclass,
)
from pgroll_dsl.catalog.model import (
    Catalog,
    Column,
    Constraint,
    ExclusionElement,
    ForeignKey,
    Index,
    KeyOptions,
    Sequence,
    Table,
)
from pgroll_dsl.catalog.naming import Names
from pgroll_dsl.catalog.partitions import (
    follow_parents,
    kept_key_columns,
    with_parent_renamed,
    with_partitions_dropped,
)
from pgroll_dsl.sql.expressions import column_references
from pgroll_dsl.sql.quoting import quote_literal, quote_name
from pgroll_dsl.sql.type_names import canonical_type, is_serial


def apply_operation(catalog: Catalog, op: ir.Operation) -> Catalog:
    """The catalog after ``op``; partitions follow what it does to their parent's columns."""
    return follow_parents(_apply(catalog, op), catalog)


def _apply(catalog: Catalog, op: ir.Operation) -> Catalog:
    """Dispatch on the operation kind; every kind is handled (mypy checks it)."""
    match op:
        case ir.CreateTable():
            return _create_table(catalog, op)
        case ir.RenameTable():
            return _rename_table(catalog, op)
        case ir.DropTable():
            return _drop_table(catalog, op.name.name)
        case ir.AddColumn():
            return _add_column(catalog, op)
        case ir.DropColumn():
            dropped = _on_table(catalog, op.table.name,
                                lambda t: drop_columns(t, {op.column.name}))
            return owned_sequences(dropped, op.table.name, op.column.name, None)
        case ir.RenameColumn():
            renamed = _on_table(catalog, op.table.name, lambda t: _rename_column(t, op))
            return owned_sequences(renamed, op.table.name, op.from_.name, op.to.name)
        case ir.AlterColumn():
            return _alter_column(catalog, op)
        case ir.CreateIndex():
            return _on_table(catalog, op.table.name, lambda t: _create_index(catalog, t, op))
        case ir.DropIndex():
            return _drop_index(catalog, op.name.name)
        case ir.CreateConstraint():
            return _on_table(catalog, op.table.name, lambda t: _create_constraint(
                t, op, kept_key_columns(catalog, t, op.type, tuple(c.name for c in op.columns))))
        case ir.DropConstraint() | ir.DropMulticolumnConstraint():
            return _on_table(catalog, op.table.name, lambda t: _drop_constraint(
                t, op.name.name, _kept_of(catalog, t, op.name.name)))
        case ir.RenameConstraint():
            return _on_table(catalog, op.table.name, lambda t: _rename_constraint(t, op))
        case ir.SetReplicaIdentity():
            return _on_table(catalog, op.table.name, lambda t: replace(
                t, replica_identity=op.identity.type.value,
                replica_identity_index=op.identity.index.name if op.identity.index else None,
            ))
        case ir.Sql():
            return catalog  # raw SQL is interpreted by replay (catalog.replay), not here
        case _:
            assert_never(op)


def owned_sequences(catalog: Catalog, table: str, column: str, new: str | None) -> Catalog:
    """Sequences follow their column: renamed with it, dropped with it (``new`` is None)."""
    sequences = []
    for s in catalog.sequences:
        if s.owned_by_table == table and s.owned_by_column == column:
            if new is None:
                continue
            s = replace(s, owned_by_column=new)
        sequences.append(s)
    return replace(catalog, sequences=tuple(sequences))


def _on_table(catalog: Catalog, name: str, change: object) -> Catalog:
    table = catalog.table(name)
    if table is None:
        return catalog
    assert callable(change)
    return catalog.with_table(change(table))


# ---- columns ---------------------------------------------------------------------------


def nextval(sequence: str) -> str:
    """A serial column's default, spelled as PostgreSQL prints it."""
    return f"nextval({quote_literal(quote_name(sequence))}::regclass)"


def _column_default(column: ir.Column, sequences: dict[str, Sequence]) -> str | None:
    if column.default is not None:
        return column.default.text
    if is_serial(column.type):
        return nextval(sequences[column.name.name].name)
    return None


def _column(column: ir.Column, sequences: dict[str, Sequence], physical: str = "",
            schema: str = "public") -> Column:
    generated = column.generated
    identity = generated.identity if generated is not None else None
    return Column(
        name=column.name.name,
        type=canonical_type(column.type, schema),
        nullable=column.nullable and not column.pk and not is_serial(column.type)
        and identity is None,
        default=_column_default(column, sequences),
        comment=column.comment,
        identity=identity.user_specified_values if identity is not None else None,
        generated=generated.expression.text if generated and generated.expression else None,
        physical=physical,
    )


def _column_constraints(table: str, column: ir.Column, names: Names) -> list[Constraint]:
    name = column.name.name
    found = []
    if column.unique:
        key = names.choose(table, name, "key", relation=True, constraint=True)
        found.append(Constraint(name=key, type=ir.ConstraintType.UNIQUE, columns=(name,)))
    if column.check is not None:
        found.append(Constraint(name=column.check.name.name, type=ir.ConstraintType.CHECK,
                                columns=(name,), expression=column.check.constraint.text,
                                no_inherit=column.check.no_inherit))
    if column.references is not None:
        found.append(_foreign_key(column.references, (name,)))
    return found


def _foreign_key(ref: ir.ForeignKeyReference, columns: tuple[str, ...]) -> Constraint:
    return Constraint(
        name=ref.name.name, type=ir.ConstraintType.FOREIGN_KEY, columns=columns,
        references=ForeignKey(table=ref.table.name, columns=(ref.column.name,),
                              on_delete=ref.on_delete, on_update=ref.on_update,
                              match_type=ref.match_type),
        deferrable=ref.deferrable, initially_deferred=ref.initially_deferred,
    )


def _sequences(table: str, columns: tuple[ir.Column, ...], names: Names) -> dict[str, Sequence]:
    """The sequences of serial and identity columns, named first, as PostgreSQL does."""
    return {
        c.name.name: Sequence(
            name=names.choose(table, c.name.name, "seq", relation=True, constraint=False),
            owned_by_table=table, owned_by_column=c.name.name)
        for c in columns
        if is_serial(c.type) or (c.generated is not None and c.generated.identity is not None)
    }


def with_sequences(catalog: Catalog, sequences: tuple[Sequence, ...]) -> Catalog:
    """The catalog with these sequences added (replacing any of the same name), by name."""
    names = {s.name for s in sequences}
    kept = tuple(s for s in catalog.sequences if s.name not in names)
    return replace(catalog, sequences=tuple(sorted((*kept, *sequences), key=lambda s: s.name)))


def indexes_for(constraints: list[Constraint]) -> list[Index]:
    """PostgreSQL backs primary keys, unique and exclusion constraints with an index.

    The index has what the constraint says about it: an exclusion constraint's elements are
    its keys (expressions included), and INCLUDE, storage parameters and tablespace.
    """
    backed = (ir.ConstraintType.PRIMARY_KEY, ir.ConstraintType.UNIQUE, ir.ConstraintType.EXCLUDE)
    return [backing_index(c) for c in constraints if c.type in backed]


def backing_index(c: Constraint) -> Index:
    """The index of a primary key, unique or exclusion constraint."""
    exclusion = c.type is ir.ConstraintType.EXCLUDE and bool(c.elements)
    return Index(
        name=c.name,
        columns=tuple(e.key for e in c.elements) if exclusion else c.columns,
        key_options=tuple(e.options for e in c.elements) if exclusion else (),
        unique=c.type is not ir.ConstraintType.EXCLUDE, method=c.method or "btree",
        include=c.include, nulls_not_distinct=c.nulls_not_distinct,
        storage_parameters=c.storage_parameters, tablespace=c.tablespace,
        predicate=c.predicate, constraint=c.name,
    )


def with_index_parameters(constraint: Constraint,
                          params: ir.IndexParameters | None) -> Constraint:
    """The constraint with what ``index_parameters`` says: INCLUDE, WITH, tablespace."""
    if params is None:
        return constraint
    storage = params.storage_parameters
    return replace(
        constraint, include=tuple(c.name for c in params.include_columns),
        storage_parameters=parse_options(storage.text if storage is not None else None),
        tablespace=params.tablespace.name if params.tablespace is not None else None,
    )


# ---- operations ------------------------------------------------------------------------


def _create_table(catalog: Catalog, op: ir.CreateTable) -> Catalog:
    name = op.name.name
    if catalog.table(name) is not None:
        return catalog
    names = Names.of(catalog)
    for c in op.constraints:
        names.take(c.name.name, relation=c.type is not ir.ConstraintType.CHECK, constraint=True)
    sequences = _sequences(name, op.columns, names)
    constraints: list[Constraint] = []
    pk = tuple(c.name.name for c in op.columns if c.pk)
    if pk:
        pkey = names.choose(name, None, "pkey", relation=True, constraint=True)
        constraints.append(Constraint(name=pkey, type=ir.ConstraintType.PRIMARY_KEY, columns=pk))
    for column in op.columns:
        constraints.extend(_column_constraints(name, column, names))
    constraints.extend(_table_constraint(c, catalog.schema) for c in op.constraints)
    columns = tuple(_column(c, sequences, schema=catalog.schema) for c in op.columns)
    pk_columns = {col for c in constraints if c.type is ir.ConstraintType.PRIMARY_KEY
                  for col in c.columns}
    columns = tuple(replace(c, nullable=False) if c.name in pk_columns else c for c in columns)
    table = Table(name=name, columns=columns, constraints=sorted_constraints(constraints),
                  indexes=sorted_indexes(indexes_for(constraints)), comment=op.comment)
    return with_sequences(catalog.with_table(table), tuple(sequences.values()))


def table_foreign_key(ref: ir.TableForeignKeyReference | None) -> ForeignKey | None:
    """The model of a table-level foreign key's target (create_table and create_constraint)."""
    if ref is None:
        return None
    return ForeignKey(
        table=ref.table.name, columns=tuple(x.name for x in ref.columns),
        on_delete=ref.on_delete, on_update=ref.on_update, match_type=ref.match_type,
        on_delete_set_columns=tuple(x.name for x in ref.on_delete_set_columns),
    )


def _table_constraint(c: ir.Constraint, schema: str) -> Constraint:
    columns = tuple(col.name for col in c.columns)
    references = table_foreign_key(c.references)
    exclude = c.exclude
    if not columns and c.check is not None:
        columns = expression_columns(c.check.text)
    if not columns and exclude is not None and exclude.elements is not None:
        columns = exclusion_columns(exclude.elements.text)
    elements = exclude.elements.text if exclude and exclude.elements else None
    return with_index_parameters(Constraint(
        name=c.name.name, type=c.type, columns=columns,
        expression=c.check.text if c.check is not None else elements,
        references=references,
        method=exclude.index_method if exclude is not None else None,
        predicate=exclude.predicate.text if exclude and exclude.predicate else None,
        elements=exclusion_elements(elements, schema) if elements is not None else (),
        no_inherit=c.no_inherit, nulls_not_distinct=c.nulls_not_distinct,
        deferrable=c.deferrable, initially_deferred=c.initially_deferred,
    ), c.index_parameters)


def sorted_constraints(
    constraints: list[Constraint] | tuple[Constraint, ...],
) -> tuple[Constraint, ...]:
    """Constraints in the model's order: by name."""
    return tuple(sorted(constraints, key=lambda c: c.name))


def sorted_indexes(indexes: list[Index] | tuple[Index, ...]) -> tuple[Index, ...]:
    """Indexes in the model's order: by name."""
    return tuple(sorted(indexes, key=lambda i: i.name))


def _drop_table(catalog: Catalog, name: str) -> Catalog:
    """The table goes, and with it the sequences its columns own."""
    if catalog.table(name) is None:
        return catalog
    sequences = tuple(s for s in catalog.sequences if s.owned_by_table != name)
    catalog = with_partitions_dropped(catalog, name)
    return replace(catalog.without_table(name), sequences=sequences)


def expression_columns(text: str | None) -> tuple[str, ...]:
    """Columns a check or exclusion expression names, as PostgreSQL records them (conkey)."""
    if text is None:
        return ()
    names = [r.name for r in column_references(text) if r.qualifier is None and r.row_level]
    return tuple(dict.fromkeys(names))


def exclusion_columns(elements: str) -> tuple[str, ...]:
    """Key columns of ``a WITH =, b WITH &&``: the elements that are plain column names."""
    found = []
    for element in elements.split(","):
        head = element.strip().split()
        if len(head) >= 3 and head[1].lower() == "with":
            names = expression_columns(head[0])
            if len(names) == 1 and head[0].strip('"').lower() == names[0].lower():
                found.append(names[0])
    return tuple(found)


def _rename_table(catalog: Catalog, op: ir.RenameTable) -> Catalog:
    table = catalog.table(op.from_.name)
    if table is None or catalog.table(op.to.name) is not None:
        return catalog
    catalog = catalog.without_table(table.name).with_table(replace(table, name=op.to.name))
    catalog = with_parent_renamed(catalog, op.from_.name, op.to.name)
    tables = tuple(retarget_references(t, op.from_.name, op.to.name) for t in catalog.tables)
    sequences = tuple(replace(s, owned_by_table=op.to.name) if s.owned_by_table == op.from_.name
                      else s for s in catalog.sequences)
    inbound = tuple(replace(k, constraint=_retargeted(k.constraint, op.from_.name, op.to.name))
                    for k in catalog.inbound)
    return replace(catalog, tables=tables, sequences=sequences, inbound=inbound)


def _retargeted(constraint: Constraint, old: str, new: str) -> Constraint:
    """The constraint, pointing at ``new`` where it pointed at ``old``."""
    ref = constraint.references
    if ref is None or not ref.points_at(old):
        return constraint
    return replace(constraint, references=replace(ref, table=new))


def retarget_references(table: Table, old: str, new: str) -> Table:
    """The table's foreign keys to table ``old`` point to ``new`` instead."""
    return replace(table, constraints=tuple(_retargeted(c, old, new)
                                            for c in table.constraints))


def _add_column(catalog: Catalog, op: ir.AddColumn) -> Catalog:
    table = catalog.table(op.table.name)
    name = op.column.name.name
    if table is None or table.column(name) is not None:
        return catalog
    names = Names.of(catalog)
    sequences = _sequences(table.name, (op.column,), names)
    column = _column(op.column, sequences, physical=new_name(name), schema=catalog.schema)
    constraints = _column_constraints(table.name, op.column, names)
    table = replace(
        table,
        columns=(*table.columns, column),
        constraints=sorted_constraints((*table.constraints, *constraints)),
        indexes=sorted_indexes((*table.indexes, *indexes_for(constraints))),
    )
    return with_sequences(catalog.with_table(table), tuple(sequences.values()))


def drop_columns(table: Table, names: set[str]) -> Table:
    """PostgreSQL drops the constraints and indexes that involve a dropped column.

    An INCLUDE column counts: the index cannot exist without it.
    """
    constraints = tuple(c for c in table.constraints
                        if not names & {*c.columns, *c.include})
    kept = {c.name for c in constraints}
    indexes = tuple(
        i for i in table.indexes
        if not names & {*i.columns, *i.include}
        and (i.constraint is None or i.constraint in kept)
    )
    return replace(table, columns=tuple(c for c in table.columns if c.name not in names),
                   constraints=constraints, indexes=indexes)


def _rename_column(table: Table, op: ir.RenameColumn) -> Table:
    old, new = op.from_.name, op.to.name
    if table.column(old) is None or table.column(new) is not None:
        return table
    return renamed_column(table, old, new)


def renamed_column(table: Table, old: str, new: str) -> Table:
    """The column ``old`` named ``new``, in every list of column names that holds it.

    Expressions (checks, predicates, expression keys) keep their text: they are the
    author's, and PostgreSQL follows the column by its number.
    """

    def names(columns: tuple[str, ...]) -> tuple[str, ...]:
        return tuple(new if c == old else c for c in columns)

    def elements(items: tuple[ExclusionElement, ...]) -> tuple[ExclusionElement, ...]:
        return tuple(replace(e, key=new) if e.key == old else e for e in items)

    return replace(
        table,
        columns=tuple(replace(c, name=new) if c.name == old else c for c in table.columns),
        constraints=tuple(replace(c, columns=names(c.columns), include=names(c.include),
                                  elements=elements(c.elements))
                          for c in table.constraints),
        indexes=tuple(replace(i, columns=names(i.columns), include=names(i.include))
                      for i in table.indexes),
    )


def _alter_column(catalog: Catalog, op: ir.AlterColumn) -> Catalog:
    table = catalog.table(op.table.name)
    column = table.column(op.column.name) if table is not None else None
    if table is None or column is None:
        return catalog
    changed = replace(column, physical=new_name(column.name))
    if op.type is not None:
        changed = replace(changed, type=canonical_type(op.type, catalog.schema))
    if op.nullable is not None:
        changed = replace(changed, nullable=op.nullable)
    if op.default is not None:
        changed = replace(changed, default=op.default.value.text if op.default.value else None)
    if op.comment is not None:
        changed = replace(changed, comment=op.comment.value)
    added: list[Constraint] = []
    if op.check is not None:
        added.append(Constraint(name=op.check.name.name, type=ir.ConstraintType.CHECK,
                                columns=(column.name,), expression=op.check.constraint.text,
                                no_inherit=op.check.no_inherit))
    if op.references is not None:
        added.append(_foreign_key(op.references, (column.name,)))
    if op.unique is not None:
        added.append(Constraint(name=op.unique.name.name, type=ir.ConstraintType.UNIQUE,
                                columns=(column.name,)))
    table = replace(
        table,
        columns=tuple(changed if c.name == column.name else c for c in table.columns),
        constraints=sorted_constraints((*table.constraints, *added)),
        indexes=sorted_indexes((*table.indexes, *indexes_for(added))),
    )
    return catalog.with_table(table)


def _create_index(catalog: Catalog, table: Table, op: ir.CreateIndex) -> Table:
    method = op.method.value if op.method is not None else "btree"
    index = Index(
        name=op.name.name, columns=tuple(f.column.name for f in op.columns),
        key_options=tuple(_field_options(catalog, table, method, f) for f in op.columns),
        unique=op.unique, method=method,
        storage_parameters=parse_options(op.storage_parameters.text
                                         if op.storage_parameters else None),
        predicate=op.predicate.text if op.predicate is not None else None,
    )
    return replace(table, indexes=sorted_indexes((*table.indexes, index)))


def _field_options(catalog: Catalog, table: Table, method: str,
                   field: ir.IndexField) -> KeyOptions:
    """A create_index field's options, spelled as introspection finds them."""
    column = table.column(field.column.name)
    opclass = field.opclass
    options = KeyOptions(
        collation=author_name(field.collate, catalog.schema) if field.collate else None,
        opclass=quote_name(opclass.name.name) if opclass is not None else None,
        opclass_params=parse_options(", ".join(p.text for p in opclass.params))
        if opclass is not None else (),
        sort=field.sort or ir.SortOrder.ASC, nulls=field.nulls,
    )
    return without_default_opclass(without_default_collation(options), method,
                                   column.type if column is not None else None,
                                   (e.name for e in catalog.enums))


def _drop_index(catalog: Catalog, name: str) -> Catalog:
    found = catalog.index(name)
    if found is None:
        return catalog
    table, _ = found
    return catalog.with_table(replace(table, indexes=tuple(i for i in table.indexes
                                                           if i.name != name)))


def _kept_of(catalog: Catalog, table: Table, name: str) -> set[str]:
    found = table.constraint(name)
    return set() if found is None else kept_key_columns(catalog, table, found.type, found.columns)


def _create_constraint(table: Table, op: ir.CreateConstraint, kept: set[str]) -> Table:
    columns = tuple(c.name for c in op.columns)
    references = table_foreign_key(op.references)
    constraint = with_index_parameters(Constraint(
        name=op.name.name, type=op.type, columns=columns,
        expression=op.check.text if op.check is not None else None, references=references,
        no_inherit=op.no_inherit,
    ), op.index_parameters)
    new_columns = tuple(
        replace(c, physical=new_name(c.name),
                nullable=False if op.type is ir.ConstraintType.PRIMARY_KEY else c.nullable)
        if c.name in columns and c.name not in kept else c
        for c in table.columns
    )
    return replace(
        table, columns=new_columns,
        constraints=sorted_constraints((*table.constraints, constraint)),
        indexes=sorted_indexes((*table.indexes, *indexes_for([constraint]))),
    )


def _drop_constraint(table: Table, name: str, kept: set[str]) -> Table:
    constraint = table.constraint(name)
    if constraint is None:
        return table
    columns = tuple(
        replace(c, physical=new_name(c.name))
        if c.name in constraint.columns and c.name not in kept else c
        for c in table.columns
    )
    return replace(
        table, columns=columns,
        constraints=tuple(c for c in table.constraints if c.name != name),
        indexes=tuple(i for i in table.indexes if i.constraint != name),
    )


def _rename_constraint(table: Table, op: ir.RenameConstraint) -> Table:
    old, new = op.from_.name, op.to.name
    if table.constraint(old) is None or table.constraint(new) is not None:
        return table
    return renamed_constraint(table, old, new)


def renamed_constraint(table: Table, old: str, new: str) -> Table:
    """PostgreSQL renames the index behind a constraint along with it."""
    return replace(
        table,
        constraints=sorted_constraints([replace(c, name=new) if c.name == old else c
                                        for c in table.constraints]),
        indexes=sorted_indexes([replace(i, name=new, constraint=new) if i.constraint == old
                                else i for i in table.indexes]),
    )
