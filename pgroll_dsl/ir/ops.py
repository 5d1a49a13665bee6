"""One frozen dataclass per pgroll operation; ``kind`` is the pgroll JSON key.

Field names follow pgroll's JSON keys. Optional pgroll values whose zero value means
"absent" (``""``, ``false``, ``{}``) are normalised by the front ends to ``None`` / the default,
so the IR has one spelling per meaning.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import ClassVar, Generic, TypeAlias, TypeVar

from pgroll_dsl.ir.names import Ident, Node, SqlExpr, SqlScript, TypeName

T = TypeVar("T")


class ForeignKeyAction(StrEnum):
    """``ON DELETE`` / ``ON UPDATE`` behaviour."""

    NO_ACTION = "NO ACTION"
    RESTRICT = "RESTRICT"
    CASCADE = "CASCADE"
    SET_NULL = "SET NULL"
    SET_DEFAULT = "SET DEFAULT"


class MatchType(StrEnum):
    """Foreign-key ``MATCH`` type."""

    SIMPLE = "SIMPLE"
    FULL = "FULL"
    PARTIAL = "PARTIAL"


class ConstraintType(StrEnum):
    """Table-level constraint kinds (``exclude`` only in create_table)."""

    UNIQUE = "unique"
    CHECK = "check"
    PRIMARY_KEY = "primary_key"
    FOREIGN_KEY = "foreign_key"
    EXCLUDE = "exclude"


class IndexMethod(StrEnum):
    """Index access methods pgroll accepts."""

    BTREE = "btree"
    HASH = "hash"
    GIST = "gist"
    SPGIST = "spgist"
    GIN = "gin"
    BRIN = "brin"


class SortOrder(StrEnum):
    """Index element sort order."""

    ASC = "ASC"
    DESC = "DESC"


class NullsOrder(StrEnum):
    """Index element NULLS ordering."""

    FIRST = "FIRST"
    LAST = "LAST"


class IdentityValues(StrEnum):
    """``GENERATED <ALWAYS | BY DEFAULT> AS IDENTITY``."""

    ALWAYS = "ALWAYS"
    BY_DEFAULT = "BY DEFAULT"


class ReplicaIdentityType(StrEnum):
    """``REPLICA IDENTITY`` kinds (pgroll compares case-insensitively)."""

    NOTHING = "nothing"
    DEFAULT = "default"
    INDEX = "index"
    FULL = "full"


@dataclass(frozen=True, slots=True)
class Change(Node, Generic[T]):
    """A tri-state setting: absent (no ``Change``), set to ``value``, or removed (``None``)."""

    value: T | None


@dataclass(frozen=True, slots=True, kw_only=True)
class CheckConstraint(Node):
    """A named column-level CHECK (pgroll ``CheckConstraint``)."""

    name: Ident
    constraint: SqlExpr
    no_inherit: bool = False


@dataclass(frozen=True, slots=True, kw_only=True)
class ForeignKeyReference(Node):
    """A named single-column foreign key (pgroll ``ForeignKeyReference``)."""

    name: Ident
    table: Ident
    column: Ident
    on_delete: ForeignKeyAction = ForeignKeyAction.NO_ACTION
    on_update: ForeignKeyAction = ForeignKeyAction.NO_ACTION
    match_type: MatchType = MatchType.SIMPLE
    deferrable: bool = False
    initially_deferred: bool = False


@dataclass(frozen=True, slots=True, kw_only=True)
class TableForeignKeyReference(Node):
    """The target of a table-level foreign key (pgroll ``TableForeignKeyReference``)."""

    table: Ident
    columns: tuple[Ident, ...]
    on_delete: ForeignKeyAction = ForeignKeyAction.NO_ACTION
    on_update: ForeignKeyAction = ForeignKeyAction.NO_ACTION
    match_type: MatchType = MatchType.SIMPLE
    on_delete_set_columns: tuple[Ident, ...] = ()


@dataclass(frozen=True, slots=True, kw_only=True)
class Identity(Node):
    """An identity column's settings."""

    user_specified_values: IdentityValues = IdentityValues.ALWAYS
    sequence_options: SqlExpr | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class Generated(Node):
    """A generated column: a stored expression or an identity (exactly one of the two)."""

    expression: SqlExpr | None = None
    identity: Identity | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class Column(Node):
    """A column definition (pgroll ``Column``); ``nullable`` is always explicit here."""

    name: Ident
    type: TypeName
    nullable: bool
    unique: bool = False
    pk: bool = False
    default: SqlExpr | None = None
    comment: str | None = None
    check: CheckConstraint | None = None
    references: ForeignKeyReference | None = None
    generated: Generated | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class IndexParameters(Node):
    """Index settings of unique / primary key / exclusion constraints."""

    tablespace: Ident | None = None
    storage_parameters: SqlExpr | None = None
    include_columns: tuple[Ident, ...] = ()


@dataclass(frozen=True, slots=True, kw_only=True)
class Exclude(Node):
    """An exclusion constraint body: ``EXCLUDE USING <method> (<elements>) WHERE (<pred>)``."""

    index_method: str | None = None
    elements: SqlExpr | None = None
    predicate: SqlExpr | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class Constraint(Node):
    """A table-level constraint of create_table (pgroll ``Constraint``)."""

    name: Ident
    type: ConstraintType
    columns: tuple[Ident, ...] = ()
    check: SqlExpr | None = None
    no_inherit: bool = False
    nulls_not_distinct: bool = False
    deferrable: bool = False
    initially_deferred: bool = False
    references: TableForeignKeyReference | None = None
    exclude: Exclude | None = None
    index_parameters: IndexParameters | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class OpClass(Node):
    """An index element's operator class and its parameters."""

    name: Ident
    params: tuple[SqlExpr, ...] = ()


@dataclass(frozen=True, slots=True, kw_only=True)
class IndexField(Node):
    """One element of create_index ``columns``."""

    column: Ident
    collate: str | None = None
    opclass: OpClass | None = None
    sort: SortOrder | None = None
    nulls: NullsOrder | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class ColumnSql(Node):
    """One entry of a per-column up/down map (create_constraint, drop_multicolumn_constraint)."""

    column: Ident
    sql: SqlExpr


@dataclass(frozen=True, slots=True, kw_only=True)
class UniqueConstraint(Node):
    """alter_column ``unique``: the name of the UNIQUE constraint to add."""

    name: Ident


@dataclass(frozen=True, slots=True, kw_only=True)
class ReplicaIdentity(Node):
    """set_replica_identity ``identity``."""

    type: ReplicaIdentityType
    index: Ident | None = None


# ---- operations ------------------------------------------------------------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class CreateTable(Node):
    """Create a table; visible to the new version only until complete."""

    kind: ClassVar[str] = "create_table"
    name: Ident
    columns: tuple[Column, ...]
    constraints: tuple[Constraint, ...] = ()
    comment: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class RenameTable(Node):
    """Rename a table (a view alias until complete)."""

    kind: ClassVar[str] = "rename_table"
    from_: Ident
    to: Ident


@dataclass(frozen=True, slots=True, kw_only=True)
class DropTable(Node):
    """Drop a table (hidden from the new version, dropped at complete)."""

    kind: ClassVar[str] = "drop_table"
    name: Ident


@dataclass(frozen=True, slots=True, kw_only=True)
class AddColumn(Node):
    """Add a column; ``up`` fills it for old-version writers and the backfill."""

    kind: ClassVar[str] = "add_column"
    table: Ident
    column: Column
    up: SqlExpr | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class DropColumn(Node):
    """Drop a column; ``down`` fills it for new-version writers until complete."""

    kind: ClassVar[str] = "drop_column"
    table: Ident
    column: Ident
    down: SqlExpr | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class RenameColumn(Node):
    """Rename a column (a view alias until complete)."""

    kind: ClassVar[str] = "rename_column"
    table: Ident
    from_: Ident
    to: Ident


@dataclass(frozen=True, slots=True, kw_only=True)
class AlterColumn(Node):
    """Any combination of changes to one column; ``None`` means "leave it as it is".

    A missing ``up`` or ``down`` copies the column unchanged (pgroll's ``"<c>"``).
    """

    kind: ClassVar[str] = "alter_column"
    table: Ident
    column: Ident
    type: TypeName | None = None
    nullable: bool | None = None
    unique: UniqueConstraint | None = None
    check: CheckConstraint | None = None
    references: ForeignKeyReference | None = None
    default: Change[SqlExpr] | None = None
    comment: Change[str] | None = None
    up: SqlExpr | None = None
    down: SqlExpr | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class CreateIndex(Node):
    """Create an index concurrently."""

    kind: ClassVar[str] = "create_index"
    name: Ident
    table: Ident
    columns: tuple[IndexField, ...]
    method: IndexMethod | None = None
    unique: bool = False
    predicate: SqlExpr | None = None
    storage_parameters: SqlExpr | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class DropIndex(Node):
    """Drop an index concurrently at complete."""

    kind: ClassVar[str] = "drop_index"
    name: Ident


@dataclass(frozen=True, slots=True, kw_only=True)
class CreateConstraint(Node):
    """Add a table constraint through duplicated columns and up/down per column.

    A column of ``columns`` without an ``up``/``down`` entry copies its value unchanged.
    """

    kind: ClassVar[str] = "create_constraint"
    table: Ident
    name: Ident
    type: ConstraintType
    columns: tuple[Ident, ...] = ()
    check: SqlExpr | None = None
    no_inherit: bool = False
    references: TableForeignKeyReference | None = None
    index_parameters: IndexParameters | None = None
    up: tuple[ColumnSql, ...] = ()
    down: tuple[ColumnSql, ...] = ()


@dataclass(frozen=True, slots=True, kw_only=True)
class DropConstraint(Node):
    """Drop a single-column constraint (deprecated by pgroll)."""

    kind: ClassVar[str] = "drop_constraint"
    table: Ident
    name: Ident
    up: SqlExpr | None = None
    down: SqlExpr | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class DropMulticolumnConstraint(Node):
    """Drop a constraint covering one or more columns."""

    kind: ClassVar[str] = "drop_multicolumn_constraint"
    table: Ident
    name: Ident
    up: tuple[ColumnSql, ...] = ()
    down: tuple[ColumnSql, ...] = ()


@dataclass(frozen=True, slots=True, kw_only=True)
class RenameConstraint(Node):
    """Rename a constraint at complete."""

    kind: ClassVar[str] = "rename_constraint"
    table: Ident
    from_: Ident
    to: Ident


@dataclass(frozen=True, slots=True, kw_only=True)
class SetReplicaIdentity(Node):
    """Set a table's replica identity (deprecated by pgroll)."""

    kind: ClassVar[str] = "set_replica_identity"
    table: Ident
    identity: ReplicaIdentity


@dataclass(frozen=True, slots=True, kw_only=True)
class Sql(Node):
    """Raw SQL: ``up`` at start (or at complete with ``on_complete``), ``down`` on rollback."""

    kind: ClassVar[str] = "sql"
    up: SqlScript
    down: SqlScript | None = None
    on_complete: bool = False


Operation: TypeAlias = (
    CreateTable
    | RenameTable
    | DropTable
    | AddColumn
    | DropColumn
    | RenameColumn
    | AlterColumn
    | CreateIndex
    | DropIndex
    | CreateConstraint
    | DropConstraint
    | DropMulticolumnConstraint
    | RenameConstraint
    | SetReplicaIdentity
    | Sql
)

OPERATION_KINDS: tuple[str, ...] = (
    "create_table",
    "rename_table",
    "drop_table",
    "add_column",
    "drop_column",
    "rename_column",
    "alter_column",
    "create_index",
    "drop_index",
    "create_constraint",
    "drop_constraint",
    "drop_multicolumn_constraint",
    "rename_constraint",
    "set_replica_identity",
    "sql",
)
