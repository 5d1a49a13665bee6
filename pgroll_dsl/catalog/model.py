"""Immutable model of one PostgreSQL schema, as pgroll's virtual schema sees it.

Names are *virtual* (what clients of the newest version see); ``Table.physical`` and
``Column.physical`` give the names in the database. Outside an active migration they are
equal; during one they differ for renamed tables/columns and for columns that exist only
as ``_pgroll_new_<c>``. Constraint and index column lists hold virtual names, so a rename
is one change in one place. ``completed()`` turns the model into the physical state after
``complete``, which is what replay of finished migrations needs.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from functools import cached_property
from typing import TYPE_CHECKING

from pgroll_dsl.catalog.derived import NEW_PREFIX
from pgroll_dsl.ir import (
    ConstraintType,
    ForeignKeyAction,
    IdentityValues,
    MatchType,
    NullsOrder,
    SortOrder,
)

if TYPE_CHECKING:
    pass



@dataclass(frozen=True, slots=True, kw_only=True)
class Column:
    """A column. ``type`` is PostgreSQL's ``format_type`` spelling (see ``types.py``)."""

    name: str
    type: str
    nullable: bool = True
    default: str | None = None
    comment: str | None = None
    identity: IdentityValues | None = None
    generated: str | None = None  # a stored generated column's expression
    physical: str = ""

    def __post_init__(self) -> None:
        if not self.physical:
            object.__setattr__(self, "physical", self.name)


@dataclass(frozen=True, slots=True, kw_only=True)
class ForeignKey:
    """The referenced side of a foreign key and its actions.

    ``schema`` is the referenced table's schema where it is not the modelled one (``None``:
    the modelled schema). A key to another schema's table keeps its schema so that a copy
    made of it points at the same table, and so that a table of the same name in the
    modelled schema is never taken for it; the field comes last and defaults to ``None``, so
    a snapshot or a saved plan written before it reads as it did.
    """

    table: str
    columns: tuple[str, ...]
    on_delete: ForeignKeyAction = ForeignKeyAction.NO_ACTION
    on_update: ForeignKeyAction = ForeignKeyAction.NO_ACTION
    match_type: MatchType = MatchType.SIMPLE
    on_delete_set_columns: tuple[str, ...] = ()
    schema: str | None = None

    def points_at(self, table: str) -> bool:
        """Whether it references ``table`` of the modelled schema, not one so named elsewhere."""
        return self.schema is None and self.table == table


@dataclass(frozen=True, slots=True, kw_only=True)
class KeyOptions:
    """How one key of an index sorts and compares, where that differs from the default.

    Spelled as ``pg_get_indexdef`` prints a key, so that a copy built from it is the index
    PostgreSQL itself would rebuild: an operator class only when it is not the default one
    for the key's type (after a type change the new type's default applies, as with a plain
    ``ALTER COLUMN ... TYPE``), a collation only when it is not the column's. Names are in
    SQL spelling, unqualified in the target schema and ``pg_catalog``. ``nulls`` is ``None``
    for the direction's default (LAST for ASC, FIRST for DESC), so one order has one value.
    """

    collation: str | None = None
    opclass: str | None = None
    opclass_params: tuple[str, ...] = ()  # ``name=value``, as pg_attribute.attoptions holds
    sort: SortOrder = SortOrder.ASC
    nulls: NullsOrder | None = None

    def __post_init__(self) -> None:
        default = NullsOrder.FIRST if self.sort is SortOrder.DESC else NullsOrder.LAST
        if self.nulls is default:
            object.__setattr__(self, "nulls", None)


DEFAULT_KEY = KeyOptions()


@dataclass(frozen=True, slots=True, kw_only=True)
class ExclusionElement:
    """One element of an exclusion constraint: ``key [options] WITH operator``.

    ``key`` is a column name or an expression's text (as in ``Index.columns``); ``operator``
    is spelled as PostgreSQL prints it (``&&``, or ``OPERATOR(s.&&)`` outside the search path).
    """

    key: str
    operator: str
    options: KeyOptions = DEFAULT_KEY


@dataclass(frozen=True, slots=True, kw_only=True)
class Constraint:
    """A table constraint: primary key, unique, check, foreign key or exclusion.

    ``expression`` is the check expression, or the exclusion elements; both are kept as text
    and compared with ``expressions.same_expression`` rather than by spelling. An exclusion
    constraint also has its ``elements`` one by one. ``include``, ``storage_parameters`` and
    ``tablespace`` belong to the index of a primary key, unique or exclusion constraint; they
    are part of the constraint's definition (``ADD CONSTRAINT ... INCLUDE ... WITH ...``), so
    the backing ``Index`` (see ``apply.indexes_for``) has them too.
    """

    name: str
    type: ConstraintType
    columns: tuple[str, ...] = ()
    expression: str | None = None
    references: ForeignKey | None = None
    method: str | None = None  # exclusion constraints
    predicate: str | None = None  # exclusion constraints
    elements: tuple[ExclusionElement, ...] = ()  # exclusion constraints
    include: tuple[str, ...] = ()
    storage_parameters: tuple[str, ...] = ()  # ``name=value``, as pg_class.reloptions holds
    tablespace: str | None = None  # None: the database's default
    no_inherit: bool = False
    nulls_not_distinct: bool = False
    deferrable: bool = False
    initially_deferred: bool = False
    validated: bool = True


@dataclass(frozen=True, slots=True, kw_only=True)
class Index:
    """An index, with everything ``CREATE INDEX`` can say about it.

    ``columns`` are the key columns' names, or expression texts for expression keys;
    ``key_options`` has one entry per key, or none when every key has the default options
    (normalised, so that equal indexes compare equal). ``include`` are the INCLUDE columns.
    """

    name: str
    columns: tuple[str, ...]
    key_options: tuple[KeyOptions, ...] = ()
    unique: bool = False
    method: str = "btree"
    include: tuple[str, ...] = ()
    nulls_not_distinct: bool = False
    storage_parameters: tuple[str, ...] = ()  # ``name=value``, as pg_class.reloptions holds
    tablespace: str | None = None  # None: the database's default
    predicate: str | None = None
    valid: bool = True
    constraint: str | None = None  # the constraint this index backs, if any

    def __post_init__(self) -> None:
        if all(options == DEFAULT_KEY for options in self.key_options):
            object.__setattr__(self, "key_options", ())

    def options(self, position: int) -> KeyOptions:
        """The options of the key at ``position`` (defaults when none are recorded)."""
        if position < len(self.key_options):
            return self.key_options[position]
        return DEFAULT_KEY


@dataclass(frozen=True, slots=True, kw_only=True)
class Table:
    """A table with its columns in attribute order.

    Partitioning: a partitioned table has ``partition_by`` (``RANGE (at)``, as
    ``catalog.partitions.partition_key`` spells it); a partition has ``partition_of``, its
    parent's (virtual) name, and ``partition_bound`` (``FOR VALUES ...`` or ``DEFAULT``, as
    ``catalog.partitions.partition_bound`` spells it); a sub-partition has both. A partition
    holds the parent's columns (``catalog.partitions.follow_parents`` keeps them in step) but
    only its *own* constraints and indexes: those it has because its parent has them (a
    partition's share of the parent's primary key, foreign keys, checks and indexes) belong
    to the parent's model.
    """

    name: str
    columns: tuple[Column, ...] = ()
    constraints: tuple[Constraint, ...] = ()
    indexes: tuple[Index, ...] = ()
    comment: str | None = None
    replica_identity: str = "default"  # default | nothing | full | index
    replica_identity_index: str | None = None
    partition_by: str | None = None
    partition_of: str | None = None
    partition_bound: str | None = None
    physical: str = ""

    def __post_init__(self) -> None:
        if not self.physical:
            object.__setattr__(self, "physical", self.name)

    def column(self, name: str) -> Column | None:
        """The column with this virtual name."""
        return next((c for c in self.columns if c.name == name), None)

    def constraint(self, name: str) -> Constraint | None:
        """The constraint with this name."""
        return next((c for c in self.constraints if c.name == name), None)

    def index(self, name: str) -> Index | None:
        """The index with this name."""
        return next((i for i in self.indexes if i.name == name), None)

    @property
    def partitioned(self) -> bool:
        """Whether the table is partitioned (its rows live in its partitions)."""
        return self.partition_by is not None

    @property
    def primary_key(self) -> tuple[str, ...]:
        """Columns of the primary key, in key order (empty without one)."""
        pk = next((c for c in self.constraints if c.type is ConstraintType.PRIMARY_KEY), None)
        return pk.columns if pk is not None else ()

    def unique_not_null_column(self) -> str | None:
        """The first (by name) single-column unique key whose column is NOT NULL."""
        candidates = sorted(
            c.columns[0] for c in self.constraints
            if c.type is ConstraintType.UNIQUE and len(c.columns) == 1
        )
        for name in candidates:
            column = self.column(name)
            if column is not None and not column.nullable:
                return name
        return None


@dataclass(frozen=True, slots=True, kw_only=True)
class EnumType:
    """A user-defined enum type and its labels in sort order."""

    name: str
    labels: tuple[str, ...]


@dataclass(frozen=True, slots=True, kw_only=True)
class Sequence:
    """A sequence and the column that owns it (serial and identity columns)."""

    name: str
    owned_by_table: str | None = None
    owned_by_column: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class Routines:
    """The functions, operators and casts the database has beyond PostgreSQL's built-ins.

    The offline type checks know PostgreSQL's own rows only; a user's ``upper(varchar)``
    or ``CREATE CAST (timestamptz AS int)`` changes what an expression means, so a check
    must not judge what these may touch. Names only (no signatures): enough to know where
    to stay silent. ``casts`` hold ``format_type`` spellings, unqualified in the target
    schema. ``opaque``: an extension (other than plpgsql) is installed, which may have
    defined anything; the sets are then empty, as nothing about them is certain anyway.
    Routines are outside catalog equality and the saved plan's fingerprint
    (``catalog.fingerprint``): introspection sees routines replay never does (pgroll's own
    state functions, other schemas'), so a fingerprint with them would report drift where the
    schema is the same. One plan decision does read them: a sync trigger skips a write in its
    ``WHEN`` only if no user routine shares a name its expression calls
    (``plan.triggers.may_skip``); the plan records the names its skips rely on
    (``plan.model.Builtins``), and ``start --plan`` refuses a database that defines one.
    Snapshots write them under an optional key.
    """

    functions: frozenset[str] = frozenset()  # function, procedure and aggregate names
    operators: frozenset[str] = frozenset()  # operator symbols
    casts: frozenset[tuple[str, str]] = frozenset()  # (source type, target type)
    opaque: bool = False

    def __post_init__(self) -> None:
        if self.opaque:
            for name in ("functions", "operators", "casts"):
                object.__setattr__(self, name, frozenset())

    def __bool__(self) -> bool:
        return bool(self.opaque or self.functions or self.operators or self.casts)


NO_ROUTINES = Routines()


@dataclass(frozen=True, slots=True, kw_only=True)
class InboundForeignKey:
    """A foreign key of another schema's table that references a table of this schema.

    Its table is not part of the model (the schema it is in is not the one migrated), but a
    migration that rewrites a referenced column must give it a twin on the copy, as it does
    for a key of a table of this schema (``plan.columns``): else the key pins the old column
    and complete cannot drop it. Only introspection sees these (replay knows one schema);
    ``constraint.references`` names the referenced table of this schema.
    """

    schema: str
    table: str
    constraint: Constraint


@dataclass(frozen=True, kw_only=True)  # no slots: the name lookup is cached on the instance
class Catalog:
    """One schema: its tables, enum types and sequences. Equality is by value."""

    schema: str = "public"
    tables: tuple[Table, ...] = ()
    enums: tuple[EnumType, ...] = ()
    sequences: tuple[Sequence, ...] = ()
    source: str = field(default="empty", compare=False)
    routines: Routines = field(default=NO_ROUTINES, compare=False)
    # Other schemas' keys to this one's tables: outside equality, as a replayed schema has
    # none; the saved plan's fingerprint has them where there are any (``fingerprint``).
    inbound: tuple[InboundForeignKey, ...] = field(default=(), compare=False)

    @cached_property
    def _by_name(self) -> dict[str, Table]:
        return {t.name: t for t in self.tables}

    def table(self, name: str) -> Table | None:
        """The table with this virtual name."""
        return self._by_name.get(name)

    def enum(self, name: str) -> EnumType | None:
        """The enum type with this name."""
        return next((e for e in self.enums if e.name == name), None)

    def index(self, name: str) -> tuple[Table, Index] | None:
        """The index with this name, on whichever table of the schema holds it."""
        for table in self.tables:
            index = table.index(name)
            if index is not None:
                return table, index
        return None

    def partitions(self, name: str) -> tuple[Table, ...]:
        """The partitions of the table with this virtual name (none if it is not partitioned)."""
        return tuple(t for t in self.tables if t.partition_of == name)

    def leaf_partitions(self, name: str) -> tuple[Table, ...]:
        """The partitions that hold rows, sub-partitions' partitions included, in name order."""
        found: list[Table] = []
        for partition in self.partitions(name):
            found.extend(self.leaf_partitions(partition.name) if partition.partitioned
                         else (partition,))
        return tuple(sorted(found, key=lambda t: t.name))

    def above(self, table: Table) -> tuple[Table, ...]:
        """The tables above ``table`` in its partition tree: its parent, that one's... the root."""
        found: list[Table] = []
        parent = self.table(table.partition_of) if table.partition_of else None
        while parent is not None:
            found.append(parent)
            parent = self.table(parent.partition_of) if parent.partition_of else None
        return tuple(found)

    def tree(self, physical: str) -> set[str]:
        """The table with this physical name and every partition below it, by physical name."""
        names = {physical}
        below = [t for t in self.tables if t.physical == physical][:1]
        while below:
            current = below.pop()
            for partition in self.partitions(current.name):
                names.add(partition.physical)
                below.append(partition)
        return names

    def with_table(self, table: Table) -> Catalog:
        """A copy with ``table`` added or replaced (matched by virtual name)."""
        others = tuple(t for t in self.tables if t.name != table.name)
        return replace(self, tables=tuple(sorted((*others, table), key=lambda t: t.name)))

    def without_table(self, name: str) -> Catalog:
        """A copy without the table of that virtual name."""
        return replace(self, tables=tuple(t for t in self.tables if t.name != name))

    def completed(self) -> Catalog:
        """The physical state after ``complete``: every physical name is the virtual one."""
        tables = tuple(
            replace(
                t,
                physical=t.name,
                # A rewritten column is a new attribute: it ends up after the others.
                columns=tuple(replace(c, physical=c.name) for c in sorted(
                    t.columns, key=lambda c: c.physical.startswith(NEW_PREFIX))),
            )
            for t in self.tables
        )
        return replace(self, tables=tables)
