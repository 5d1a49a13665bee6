"""The safety rules for raw SQL, as data: one row per (code, place in the parse tree).

``lint_sql`` walks the statements of a ``sql`` operation and, for every place a rule can look
at, builds a :class:`Site` holding the facts the rules need (the table, whether this SQL
created it, the column's type, the lock the statement takes...). A rule is the code it
reports, the place (``kind``: a pglast statement class, an ``ALTER TABLE`` subcommand type,
``ast.ColumnDef`` for every column definition, or ``STATEMENT`` for every statement), a
predicate over the site, a one-line message and a hint naming the pgroll-dsl operation that
makes the same change without the lock. Several rows may share a code. Message and hint are
``str.format`` templates over the site's names; in hints the names are spelled as the DSL
wants them. ``squawk`` and ``strong_migrations`` name the checks of those linters a row
covers (docs/diagnostics.md lists them; tests/test_lint_sql.py holds squawk to it).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from pglast import ast
from pglast.enums import AlterTableType, ConstrType

from pgroll_dsl.diagnostics import codes
from pgroll_dsl.diagnostics.codes import Code

STATEMENT = "statement"  # the kind of a rule that looks at every statement

# Why ADD COLUMN rewrites the table (``Site.rewrite``); pgroll-dsl can add neither of the last
# two to an existing table.
VOLATILE_DEFAULT = "a volatile default"
OLD_DEFAULT = "a default (before PostgreSQL 11, any default)"
SERIAL = "a serial type (its nextval() default is volatile)"
IDENTITY = "an identity"
GENERATED = "a stored generated expression"

Kind = type[ast.Node] | AlterTableType | str

# Locks that block writes (and from EXCLUSIVE on, reads): held for long, clients queue.
BLOCKING_LOCKS = frozenset({"SHARE", "SHARE ROW EXCLUSIVE", "EXCLUSIVE", "ACCESS EXCLUSIVE"})


@dataclass(frozen=True, slots=True, kw_only=True)
class Site:
    """One place in a statement, and what the rules need to know about it."""

    node: Any  # the pglast statement, subcommand, constraint or column definition
    pg_version: int  # the PostgreSQL major version the migration runs on
    names: Mapping[str, str] = field(default_factory=dict)  # table, column, type... for text
    new: bool = False  # the object was created earlier in this SQL (or by the `up` of a down)
    type: str | None = None  # a column's type, in format_type spelling
    serial: bool = False  # a serial column
    key: bool = False  # a primary key column
    old_type: str | None = None  # the column's type before ALTER COLUMN TYPE (catalog)
    rewrite: str | None = None  # why ADD COLUMN rewrites the table
    required: bool = False  # ADD COLUMN NOT NULL without a default
    not_null_proven: bool = False  # a valid CHECK (c IS NOT NULL) spares SET NOT NULL's scan
    lock: str | None = None  # the blocking lock the statement takes on an existing table
    timeout: bool = False  # statement_timeout was set earlier in this SQL
    operation: str | None = None  # the DSL statement that does this, for `use-operation`
    down: bool = False  # the site is in the `down` script


@dataclass(frozen=True, slots=True)
class Rule:
    """A code, where it looks, when it fires, what it says and what to write instead."""

    code: Code
    kind: Kind
    when: Callable[[Site], bool]
    message: str
    hint: str
    squawk: tuple[str, ...] = ()
    strong_migrations: str | None = None
    once: bool = False  # at most one finding per script
    fallback: bool = False  # only where no other rule fired on the statement


def _constraint(site: Site) -> ast.Constraint | None:
    node = site.node
    if isinstance(node, ast.AlterTableCmd | ast.AlterDomainStmt):
        node = node.def_
    return node if isinstance(node, ast.Constraint) else None


def _contype(site: Site) -> ConstrType | None:
    found = _constraint(site)
    return found.contype if found is not None else None


def _validated(site: Site) -> bool:
    found = _constraint(site)
    return found is not None and not found.skip_validation


def _is(type_: str | None, pattern: str) -> bool:
    return type_ is not None and re.fullmatch(pattern, type_.removesuffix("[]")) is not None


# Type changes PostgreSQL makes in the catalog alone (binary coercible, the limit kept or
# raised: strong_migrations' list). Anything else is taken to rewrite: the safe side.
_SAME = frozenset({("character varying", "text"), ("text", "character varying"),
                   ("cidr", "inet")})
_LIMITED = re.compile(r"(character varying|bit varying|numeric|timestamp|time)"
                      r"(?:\((\d+)(?:,(\d+))?\))?( with(?:out)? time zone)?")


def widening(old: str | None, new: str | None) -> bool:
    """Whether ``ALTER COLUMN TYPE`` from ``old`` to ``new`` (format_type) is catalog-only."""
    if old is None or new is None:
        return False
    if old == new or (old, new) in _SAME:
        return True
    if new == "text" and _is(old, r"character varying(\(\d+\))?"):
        return True
    a, b = _LIMITED.fullmatch(old), _LIMITED.fullmatch(new)
    if a is None or b is None or (a[1], a[4]) != (b[1], b[4]):
        return False
    if b[2] is None:  # the limit removed
        return True
    if a[2] is None:  # a limit added: every value must be checked
        return False
    return int(b[2]) >= int(a[2]) and (a[3] or "0") == (b[3] or "0")


_ANY_INT = r"(integer|smallint)"

RULES: tuple[Rule, ...] = (
    # ---- indexes --------------------------------------------------------------------------
    Rule(codes.CREATE_INDEX_NOT_CONCURRENTLY, ast.IndexStmt,
         lambda s: not s.node.concurrent and not s.new,
         'CREATE INDEX without CONCURRENTLY blocks writes to "{table}" (SHARE lock) for the '
         "whole build",
         "write `create index {index} on {table} ({columns})`: pgroll-dsl builds it "
         "CONCURRENTLY, while writes go on",
         squawk=("require-concurrent-index-creation",),
         strong_migrations="adding an index non-concurrently"),
    Rule(codes.DROP_INDEX_NOT_CONCURRENTLY, ast.DropStmt,
         lambda s: s.names.get("object") == "index" and not s.node.concurrent and not s.new,
         "DROP INDEX without CONCURRENTLY takes an ACCESS EXCLUSIVE lock on its table",
         "write `drop index {name}`: pgroll-dsl drops it CONCURRENTLY",
         squawk=("require-concurrent-index-deletion",),
         strong_migrations="removing an index non-concurrently"),
    Rule(codes.REINDEX_NOT_CONCURRENTLY, ast.ReindexStmt,
         lambda s: not any(p.defname == "concurrently" for p in s.node.params or ())
         and not s.new,
         "REINDEX without CONCURRENTLY blocks writes, and reads that use the index, until it "
         "ends",
         "write REINDEX … CONCURRENTLY (PostgreSQL 12 and later); before 12, `create index` a "
         "copy and `drop index` the old one",
         squawk=("require-concurrent-reindex",)),
    # ---- constraints ----------------------------------------------------------------------
    Rule(codes.CONSTRAINT_WITHOUT_NOT_VALID, AlterTableType.AT_AddConstraint,
         lambda s: _contype(s) in (ConstrType.CONSTR_CHECK, ConstrType.CONSTR_FOREIGN)
         and _validated(s) and not s.new,
         'ADD CONSTRAINT {name} ({kind}) without NOT VALID checks every row of "{table}" while '
         "it blocks writes",
         "write `alter table {table} add constraint {name} …`: pgroll-dsl adds it NOT VALID "
         "and validates it while writes go on (or add NOT VALID here and VALIDATE CONSTRAINT "
         "in a later migration)",
         squawk=("constraint-missing-not-valid", "adding-foreign-key-constraint"),
         strong_migrations="adding a check constraint / adding a foreign key"),
    Rule(codes.CONSTRAINT_WITHOUT_NOT_VALID, ast.AlterDomainStmt,
         lambda s: s.node.subtype == "C" and _validated(s) and not s.new,
         "ALTER DOMAIN {name} ADD CONSTRAINT without NOT VALID checks every column of the "
         "domain while it blocks writes",
         "add it NOT VALID, then VALIDATE CONSTRAINT in a later migration",
         squawk=("ban-alter-domain-with-add-constraint",)),
    Rule(codes.CONSTRAINT_BUILDS_INDEX, AlterTableType.AT_AddConstraint,
         lambda s: _contype(s) in (ConstrType.CONSTR_UNIQUE, ConstrType.CONSTR_PRIMARY)
         and not getattr(_constraint(s), "indexname", None) and not s.new,
         'ADD {kind} builds its index under an ACCESS EXCLUSIVE lock on "{table}": reads and '
         "writes wait",
         "write `alter table {table} add constraint {name} {constraint}`: "
         "pgroll-dsl builds the index CONCURRENTLY first (or CREATE UNIQUE INDEX "
         "CONCURRENTLY, then ADD CONSTRAINT … USING INDEX)",
         squawk=("disallowed-unique-constraint", "adding-serial-primary-key-field",
                 "constraint-missing-not-valid"),
         strong_migrations="adding a unique constraint"),
    Rule(codes.CONSTRAINT_BUILDS_INDEX, AlterTableType.AT_AddConstraint,
         lambda s: _contype(s) is ConstrType.CONSTR_EXCLUSION and not s.new,
         'ADD EXCLUDE builds its index and checks every row under an ACCESS EXCLUSIVE lock on '
         '"{table}"',
         "no pgroll-dsl operation adds an exclusion constraint to a table in use: give a new "
         "table its constraint in `create table … exclude …`",
         squawk=("constraint-missing-not-valid",),
         strong_migrations="adding an exclusion constraint"),
    # ---- columns --------------------------------------------------------------------------
    Rule(codes.COLUMN_TYPE_CHANGE, AlterTableType.AT_AlterColumnType,
         lambda s: not widening(s.old_type, s.type) and not s.new,
         'ALTER COLUMN {column} TYPE {type} rewrites "{table}" under an ACCESS EXCLUSIVE lock, '
         "and breaks clients that read the old type",
         "write `alter table {table} alter {column} type {type} up … down …`: pgroll-dsl "
         "copies the column and backfills it, without a table rewrite lock",
         squawk=("changing-column-type",), strong_migrations="changing the type of a column"),
    Rule(codes.SET_NOT_NULL, AlterTableType.AT_SetNotNull,
         lambda s: not s.not_null_proven and not s.new,
         'SET NOT NULL on "{table}"."{column}" scans the table under an ACCESS EXCLUSIVE lock',
         "write `alter table {table} alter {column} set not null up …`: pgroll-dsl validates "
         "a CHECK ({column} IS NOT NULL) first, without blocking (PostgreSQL 12+ then skips "
         "the scan)",
         squawk=("adding-not-nullable-field",), strong_migrations="setting NOT NULL on an "
         "existing column"),
    Rule(codes.SET_NOT_NULL, AlterTableType.AT_AddConstraint,
         lambda s: _contype(s) is ConstrType.CONSTR_NOTNULL and _validated(s) and not s.new,
         'ADD CONSTRAINT {name} NOT NULL scans "{table}" under an ACCESS EXCLUSIVE lock',
         "write `alter table {table} alter {column} set not null up …`: pgroll-dsl validates "
         "a CHECK first, without blocking",
         squawk=("adding-not-nullable-field",)),
    Rule(codes.ADD_COLUMN_REWRITE, AlterTableType.AT_AddColumn,
         lambda s: s.rewrite is not None and s.rewrite not in (IDENTITY, GENERATED)
         and not s.new,
         'ADD COLUMN {column} with {reason} rewrites "{table}" under an ACCESS EXCLUSIVE lock',
         "write `alter table {table} add {column} {type} up …`: pgroll-dsl adds the column "
         "without a rewrite and backfills it in batches",
         squawk=("adding-field-with-default",),
         strong_migrations="adding a column with a volatile default value / adding an "
         "auto-incrementing column"),
    Rule(codes.ADD_COLUMN_REWRITE, AlterTableType.AT_AddColumn,
         lambda s: s.rewrite in (IDENTITY, GENERATED) and not s.new,
         'ADD COLUMN {column} with {reason} rewrites "{table}" under an ACCESS EXCLUSIVE lock',
         "no pgroll-dsl operation adds one to a table in use either: add a plain column, "
         "`alter table {table} add {column} {type} up …`, which pgroll-dsl fills in batches "
         "(a VIRTUAL generated column, PostgreSQL 18, needs no rewrite)",
         squawk=("adding-field-with-default",),
         strong_migrations="adding a stored generated column"),
    Rule(codes.ADD_REQUIRED_COLUMN, AlterTableType.AT_AddColumn,
         lambda s: s.required and not s.new,
         'ADD COLUMN {column} NOT NULL without a default fails on a table with rows, and breaks '
         'the inserts of clients that do not know it',
         "write `alter table {table} add {column} {type} not null up …`: pgroll-dsl fills it "
         "for existing rows and for old clients' writes",
         squawk=("adding-required-field",)),
    # ---- whole-table commands -------------------------------------------------------------
    Rule(codes.VACUUM_FULL, ast.VacuumStmt,
         lambda s: any(o.defname == "full" for o in s.node.options or ()) and not s.new,
         "VACUUM FULL rewrites the table under an ACCESS EXCLUSIVE lock: reads and writes wait",
         "use pg_repack or pg_squeeze outside the migration; no pgroll-dsl operation rewrites "
         "a table"),
    Rule(codes.CLUSTER, ast.ClusterStmt,
         lambda s: not s.new,
         "CLUSTER rewrites the table under an ACCESS EXCLUSIVE lock: reads and writes wait",
         "use pg_repack or pg_squeeze outside the migration; no pgroll-dsl operation rewrites "
         "a table"),
    Rule(codes.LOCK_TABLE, ast.LockStmt,
         lambda s: not s.new,
         'LOCK TABLE "{table}" ({lock}) makes every client that needs a conflicting lock wait '
         "until the step ends",
         "remove it: pgroll-dsl's operations take their locks one at a time, each wait bounded "
         "by --lock-timeout"),
    Rule(codes.TRUNCATE, ast.TruncateStmt,
         lambda s: not s.new,
         'TRUNCATE "{table}" takes an ACCESS EXCLUSIVE lock and empties the table under running '
         "clients",
         "delete the rows in batches, or `drop table {table}` in a migration of its own: the "
         "old version keeps it until complete",
         squawk=("ban-truncate-cascade",)),
    # ---- renames and drops: running clients use the old names -----------------------------
    Rule(codes.RENAME_COLUMN, ast.RenameStmt,
         lambda s: s.names.get("object") == "column" and not s.new,
         'RENAME COLUMN "{column}" breaks running clients that still use the old name',
         "write `alter table {table} rename {column} to {new}`: the old version schema keeps "
         "the old name until complete",
         squawk=("renaming-column",), strong_migrations="renaming a column"),
    Rule(codes.RENAME_TABLE, ast.RenameStmt,
         lambda s: s.names.get("object") in ("table", "view", "materialized view")
         and not s.new,
         'RENAME of {object} "{table}" breaks running clients that still use the old name',
         "write `alter table {table} rename to {new}`: the old version schema keeps the old "
         "name until complete",
         squawk=("renaming-table",), strong_migrations="renaming a table"),
    Rule(codes.RENAME_TABLE, ast.AlterObjectSchemaStmt,
         lambda s: s.names.get("object") in ("table", "view", "materialized view")
         and not s.new,
         'SET SCHEMA moves {object} "{table}" away from running clients',
         "leave it where it is; clients reach a table through the version schemas, which "
         "`alter table {table} rename to …` keeps in step",
         squawk=("ban-set-schema",)),
    Rule(codes.RENAME_OBJECT, ast.RenameStmt,
         lambda s: s.names.get("object") == "constraint" and not s.new,
         'RENAME CONSTRAINT "{name}" breaks clients and scripts that name the old constraint',
         "write `alter table {table} rename constraint {name} to {new}`",
         squawk=("renaming-object",)),
    Rule(codes.RENAME_OBJECT, ast.RenameStmt,
         lambda s: s.names.get("object") not in (
             "column", "table", "view", "materialized view", "constraint") and not s.new,
         'RENAME of {object} "{name}" breaks running clients that still use the old name',
         "keep the old name until no client uses it (pgroll-dsl has no rename operation for "
         "this {object})",
         squawk=("renaming-object",), strong_migrations="renaming a schema"),
    Rule(codes.DROP_COLUMN, AlterTableType.AT_DropColumn,
         lambda s: not s.new,
         'DROP COLUMN "{column}" breaks running clients that still read or write it',
         "write `alter table {table} drop {column} down …`: the old version schema keeps the "
         "column until complete",
         squawk=("ban-drop-column",), strong_migrations="removing a column"),
    Rule(codes.DROP_TABLE, ast.DropStmt,
         lambda s: s.names.get("object") == "table" and not s.new,
         'DROP TABLE "{name}" breaks running clients that still use it',
         "write `drop table {name}`: the old version schema keeps it until complete",
         squawk=("ban-drop-table",), strong_migrations="removing a table"),
    Rule(codes.DROP_OBJECT, ast.DropStmt,
         lambda s: s.names.get("object") in ("schema", "database", "view", "materialized view",
                                             "function", "procedure", "type", "domain",
                                             "sequence", "extension") and not s.new,
         'DROP {OBJECT} "{name}" breaks running clients that still use it',
         "drop it in a later migration, once no client uses it (pgroll-dsl has no drop "
         "operation for this {object})",
         squawk=("ban-drop-database", "ban-drop-schema", "ban-drop-view", "ban-drop-function",
                 "ban-drop-type", "ban-drop-domain", "ban-drop-sequence",
                 "ban-drop-extension")),
    # ---- column types ---------------------------------------------------------------------
    Rule(codes.JSON_TYPE, ast.ColumnDef,
         lambda s: _is(s.type, "json"),
         'column "{column}" is json: it has no equality operator, so DISTINCT, UNION and '
         "GROUP BY over the table fail",
         "write jsonb", strong_migrations="adding a json column"),
    Rule(codes.CHAR_TYPE, ast.ColumnDef,
         lambda s: _is(s.type, r"character\(\d+\)"),
         'column "{column}" is {type}: it pads values with blanks, and is no faster than text',
         "write text, with `check (length({column}) <= n)` if the length matters",
         squawk=("ban-char-field",)),
    Rule(codes.TIMESTAMP_WITHOUT_TIME_ZONE, ast.ColumnDef,
         lambda s: _is(s.type, r"timestamp(\(\d+\))? without time zone"),
         'column "{column}" is {type}: it drops the UTC offset of every value it stores',
         "write timestamptz",
         squawk=("prefer-timestamp-tz",)),
    Rule(codes.INT_PRIMARY_KEY, ast.ColumnDef,
         lambda s: s.key and (_is(s.type, _ANY_INT)),
         'primary key column "{column}" is {type}: its values run out at 2^31 (smallint: 2^15), '
         "and widening it later rewrites the table",
         "write `{column} bigint primary key generated by default as identity`",
         squawk=("prefer-bigint-over-int", "prefer-bigint-over-smallint"),
         strong_migrations="(bigint primary keys)"),
    Rule(codes.SERIAL_TYPE, ast.ColumnDef,
         lambda s: s.serial,
         'column "{column}" is a serial: its sequence has its own owner, grants and dump order',
         "write `{column} bigint generated by default as identity`",
         squawk=("prefer-identity",)),
    Rule(codes.VARCHAR_LENGTH, ast.ColumnDef,
         lambda s: _is(s.type, r"character varying\(\d+\)"),
         'column "{column}" is {type}: changing the limit later takes an ACCESS EXCLUSIVE lock '
         "(lowering it rewrites the table)",
         "write text with `check (length({column}) <= n)`: a check is replaced NOT VALID, "
         "without locking the table",
         squawk=("prefer-text-field",)),
    # ---- the script as a whole -------------------------------------------------------------
    Rule(codes.MISSING_STATEMENT_TIMEOUT, STATEMENT,
         lambda s: s.lock in BLOCKING_LOCKS and not s.timeout and not s.new,
         '{what} locks "{table}" in {lock} mode, and no statement_timeout bounds how long it '
         "holds the lock",
         "begin the SQL with `SET statement_timeout = '5s';` (pgroll-dsl's --lock-timeout "
         "bounds the wait for the lock, not how long it is held)",
         squawk=("require-statement-timeout", "require-timeout-settings"), once=True),
    Rule(codes.ENUM_VALUE_IN_TRANSACTION, ast.AlterEnumStmt,
         lambda s: s.node.oldVal is None and s.pg_version < 12,
         "ALTER TYPE … ADD VALUE cannot run inside a transaction block before PostgreSQL 12, "
         "and pgroll-dsl runs this step in one",
         "add the value by hand before the migration, or upgrade to PostgreSQL 12 or later "
         "(no pgroll-dsl operation adds an enum value)",
         strong_migrations="adding an enum value (older PostgreSQL)"),
    Rule(codes.DETACH_PARTITION_NOT_CONCURRENTLY, AlterTableType.AT_DetachPartition,
         lambda s: not getattr(s.node.def_, "concurrent", False) and not s.new,
         'DETACH PARTITION without CONCURRENTLY takes an ACCESS EXCLUSIVE lock on "{table}"',
         "write DETACH PARTITION … CONCURRENTLY (PostgreSQL 14 and later), in a `sql` "
         "operation of its own",
         squawk=("require-concurrent-partition-detach",)),
    Rule(codes.TRANSACTION_CONTROL, ast.TransactionStmt,
         lambda s: True,
         "{what} in a `sql` operation: pgroll-dsl decides the transaction each step runs in, "
         "and this ends or nests it",
         "remove it: the executor runs each step in a transaction, or on its own for "
         "CONCURRENTLY",
         squawk=("transaction-nesting", "ban-concurrent-index-creation-in-transaction",
                 "ban-uncommitted-transaction")),
    Rule(codes.USE_OPERATION, STATEMENT,
         lambda s: s.operation is not None and not s.down and not s.new,
         "raw {what}: pgroll-dsl has an operation for this, and keeps the old and the new "
         "schema version working while it runs",
         "write `{operation}`",
         squawk=("ban-drop-not-null", "ban-drop-constraint", "ban-drop-default"),
         strong_migrations="executing SQL directly", fallback=True),
)


def rules_for(kind: Kind) -> tuple[Rule, ...]:
    """The rules that look at this kind of place, in table order."""
    return _BY_KIND.get(kind, ())


_BY_KIND: dict[Kind, tuple[Rule, ...]] = {}
for _rule in RULES:
    _BY_KIND[_rule.kind] = (*_BY_KIND.get(_rule.kind, ()), _rule)

# Where the rules stand against squawk's rules that are on by default, and why some are not
# covered: tests/test_lint_sql.py fails on a squawk rule that is in neither place.
SQUAWK_NOT_COVERED: Mapping[str, str] = {
    "prefer-robust-stmts": "a failed start is undone by rollback; IF [NOT] EXISTS is not "
                           "needed to run a phase again",
    "require-lock-timeout": "the executor and the plan file set lock_timeout before every step "
                            "(--lock-timeout)",
    "require-enum-value-ordering": "a style rule: where a new enum value sorts is the "
                                   "author's choice",
    "prefer-bigint-over-int": "only primary key columns are flagged (PGD423): a 32-bit column "
                              "that is not a key is the author's choice",
    "prefer-bigint-over-smallint": "as prefer-bigint-over-int",
    "ban-create-domain-with-constraint": "creating a domain locks no table; adding a "
                                         "constraint to it later is PGD404",
    "ban-drop-generated-expression": "DROP EXPRESSION keeps the column's values and is "
                                     "catalog-only",
}

# squawk's rules that rows above name, but that squawk applies more widely, and why.
SQUAWK_PARTLY_COVERED: Mapping[str, str] = {
    "require-statement-timeout": "PGD426 asks for a statement_timeout where a statement locks a "
                                 "table against writes; squawk asks before any DDL, where a "
                                 "timeout protects nothing (DROP FUNCTION, ALTER TYPE … ADD "
                                 "VALUE) or does harm (it would leave a CREATE INDEX "
                                 "CONCURRENTLY invalid)",
    "require-timeout-settings": "as require-statement-timeout",
}

# ``STATEMENT`` rules' ``{what}``: how a statement is named in messages.
VERBS: Mapping[type[ast.Node], str] = {
    ast.AlterTableStmt: "ALTER TABLE", ast.IndexStmt: "CREATE INDEX", ast.DropStmt: "DROP",
    ast.RenameStmt: "ALTER … RENAME", ast.TruncateStmt: "TRUNCATE", ast.VacuumStmt: "VACUUM",
    ast.ClusterStmt: "CLUSTER", ast.LockStmt: "LOCK TABLE", ast.ReindexStmt: "REINDEX",
    ast.AlterObjectSchemaStmt: "ALTER … SET SCHEMA", ast.CreateStmt: "CREATE TABLE",
    ast.RefreshMatViewStmt: "REFRESH MATERIALIZED VIEW", ast.CreateTrigStmt: "CREATE TRIGGER",
}
