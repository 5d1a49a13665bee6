"""Safety rules, the column family: type changes, NOT NULL, new columns, column types.

The first rows lock or rewrite a table in use (version-aware: before PostgreSQL 11 any
default rewrites, before 12 a valid CHECK does not spare SET NOT NULL its scan); the
``ast.ColumnDef`` rows look at every column a statement defines, new table or not, for types
that cost a rewrite or a surprise later.
"""

from __future__ import annotations

from pglast import ast
from pglast.enums import AlterTableType, ConstrType

from pgroll_dsl.diagnostics import codes
from pgroll_dsl.passes.lint_model import (
    GENERATED,
    IDENTITY,
    Example,
    Rule,
    contype,
    type_is,
    validated,
    widening,
)

_AT = AlterTableType
_ANY_INT = r"(integer|smallint)"

CHANGE_RULES: tuple[Rule, ...] = (
    Rule(codes.COLUMN_TYPE_CHANGE, _AT.AT_AlterColumnType,
         lambda s: not widening(s.old_type, s.type) and not s.new,
         'ALTER COLUMN {column} TYPE {type} rewrites "{table}" under an ACCESS EXCLUSIVE lock, '
         "and breaks clients that read the old type",
         "write `alter table {table} alter {column} type {type} up … down …`: pgroll-dsl "
         "copies the column and backfills it, without a table rewrite lock",
         squawk=("changing-column-type",), strong_migrations="changing the type of a column",
         examples=(
             Example("ALTER TABLE users ALTER COLUMN age TYPE bigint", (1, 1),
                     "ALTER TABLE users ALTER COLUMN email TYPE varchar(40)"),
             Example("ALTER TABLE users ALTER COLUMN email TYPE varchar(10)", (1, 1),
                     "ALTER TABLE users ALTER COLUMN email TYPE text"),
             Example("ALTER TABLE users ALTER COLUMN email TYPE text USING lower(email)",
                     (1, 1), "ALTER TABLE users ALTER COLUMN email TYPE text USING email::text"),
         )),
    Rule(codes.SET_NOT_NULL, _AT.AT_SetNotNull,
         lambda s: not s.not_null_proven and not s.new,
         'SET NOT NULL on "{table}"."{column}" scans the table under an ACCESS EXCLUSIVE lock',
         "write `alter table {table} alter {column} set not null up …`: pgroll-dsl validates "
         "a CHECK ({column} IS NOT NULL) first, without blocking (PostgreSQL 12+ then skips "
         "the scan)",
         squawk=("adding-not-nullable-field",),
         strong_migrations="setting NOT NULL on an existing column",
         examples=(
             Example("ALTER TABLE users ALTER COLUMN email SET NOT NULL", (1, 1),
                     "ALTER TABLE users ADD CONSTRAINT email_nn CHECK (email IS NOT NULL) "
                     "NOT VALID;\nALTER TABLE users VALIDATE CONSTRAINT email_nn;\n"
                     "ALTER TABLE users ALTER COLUMN email SET NOT NULL"),
             # Before 12, SET NOT NULL scans even with the check.
             Example("ALTER TABLE users ADD CONSTRAINT email_nn CHECK (email IS NOT NULL) "
                     "NOT VALID;\nALTER TABLE users VALIDATE CONSTRAINT email_nn;\n"
                     "ALTER TABLE users ALTER COLUMN email SET NOT NULL", (3, 1),
                     "ALTER TABLE users ADD CONSTRAINT email_nn CHECK (email IS NOT NULL) "
                     "NOT VALID;\nALTER TABLE users VALIDATE CONSTRAINT email_nn;\n"
                     "ALTER TABLE users ALTER COLUMN email SET NOT NULL", pg_version=11,
                     good_pg_version=12),
         )),
    Rule(codes.SET_NOT_NULL, _AT.AT_AddConstraint,
         lambda s: contype(s) is ConstrType.CONSTR_NOTNULL and validated(s) and not s.new,
         'ADD CONSTRAINT {name} NOT NULL scans "{table}" under an ACCESS EXCLUSIVE lock',
         "write `alter table {table} alter {column} set not null up …`: pgroll-dsl validates "
         "a CHECK first, without blocking",
         squawk=("adding-not-nullable-field", "constraint-missing-not-valid"),
         examples=(Example("ALTER TABLE users ADD CONSTRAINT name_nn NOT NULL name", (1, 1),
                           "ALTER TABLE users ADD CONSTRAINT name_nn NOT NULL name NOT VALID",
                           pg_version=18),)),
    Rule(codes.ADD_COLUMN_REWRITE, _AT.AT_AddColumn,
         lambda s: s.rewrite is not None and s.rewrite not in (IDENTITY, GENERATED)
         and not s.new,
         'ADD COLUMN {column} with {reason} rewrites "{table}" under an ACCESS EXCLUSIVE lock',
         "write `alter table {table} add {column} {type} up …`: pgroll-dsl adds the column "
         "without a rewrite and backfills it in batches",
         squawk=("adding-field-with-default",),
         strong_migrations="adding a column with a volatile default value; adding an "
         "auto-incrementing column; adding a column with a default value (before "
         "PostgreSQL 11)",
         examples=(
             Example("ALTER TABLE users ADD COLUMN token uuid DEFAULT gen_random_uuid()",
                     (1, 1), "ALTER TABLE users ADD COLUMN score int DEFAULT 0"),
             Example("ALTER TABLE users ADD COLUMN score int DEFAULT 0", (1, 1),
                     "ALTER TABLE users ADD COLUMN score int DEFAULT 0", pg_version=10,
                     good_pg_version=11),
         )),
    Rule(codes.ADD_COLUMN_REWRITE, _AT.AT_AddColumn,
         lambda s: s.rewrite in (IDENTITY, GENERATED) and not s.new,
         'ADD COLUMN {column} with {reason} rewrites "{table}" under an ACCESS EXCLUSIVE lock',
         "no pgroll-dsl operation adds one to a table in use either: add a plain column, "
         "`alter table {table} add {column} {type} up …`, which pgroll-dsl fills in batches "
         "(a VIRTUAL generated column, PostgreSQL 18, needs no rewrite)",
         squawk=("adding-field-with-default",),
         strong_migrations="adding a stored generated column",
         examples=(Example("ALTER TABLE users ADD COLUMN n bigint GENERATED ALWAYS AS IDENTITY",
                           (1, 1), "ALTER TABLE users ADD COLUMN n bigint GENERATED ALWAYS AS "
                           "(age * 2) VIRTUAL", pg_version=18),)),
    Rule(codes.ADD_REQUIRED_COLUMN, _AT.AT_AddColumn,
         lambda s: s.required and not s.new,
         'ADD COLUMN {column} NOT NULL without a default fails on a table with rows, and breaks '
         'the inserts of clients that do not know it',
         "write `alter table {table} add {column} {type} not null up …`: pgroll-dsl fills it "
         "for existing rows and for old clients' writes",
         squawk=("adding-required-field",),
         examples=(Example("ALTER TABLE users ADD COLUMN tier int NOT NULL", (1, 1),
                           "ALTER TABLE users ADD COLUMN tier int NOT NULL DEFAULT 1"),)),
)

TYPE_RULES: tuple[Rule, ...] = (
    Rule(codes.JSON_TYPE, ast.ColumnDef,
         lambda s: type_is(s.type, "json"),
         'column "{column}" is json: it has no equality operator, so DISTINCT, UNION and '
         "GROUP BY over the table fail",
         "write jsonb", strong_migrations="adding a json column",
         examples=(Example("CREATE TABLE events (id bigint PRIMARY KEY,\n  payload json)",
                           (2, 11),
                           "CREATE TABLE events (id bigint PRIMARY KEY, payload jsonb)"),)),
    Rule(codes.CHAR_TYPE, ast.ColumnDef,
         lambda s: type_is(s.type, r"character\(\d+\)"),
         'column "{column}" is {type}: it pads values with blanks, and is no faster than text',
         "write text, with `check (length({column}) <= n)` if the length matters",
         squawk=("ban-char-field",),
         examples=(Example("CREATE TABLE codes (id bigint PRIMARY KEY, code char(3))", (1, 49),
                           'CREATE TABLE codes (id bigint PRIMARY KEY, code text, '
                           'flag "char")'),)),
    Rule(codes.TIMESTAMP_WITHOUT_TIME_ZONE, ast.ColumnDef,
         lambda s: type_is(s.type, r"timestamp(\(\d+\))? without time zone"),
         'column "{column}" is {type}: it drops the UTC offset of every value it stores',
         "write timestamptz",
         squawk=("prefer-timestamp-tz",),
         examples=(Example("ALTER TABLE users ADD COLUMN seen timestamp(3)", (1, 35),
                           "ALTER TABLE users ADD COLUMN seen timestamptz"),)),
    Rule(codes.INT_PRIMARY_KEY, ast.ColumnDef,
         lambda s: s.key and type_is(s.type, _ANY_INT),
         'primary key column "{column}" is {type}: its values run out at 2^31 (smallint: 2^15), '
         "and widening it later rewrites the table",
         "write `{column} bigint primary key generated by default as identity`",
         squawk=("prefer-bigint-over-int", "prefer-bigint-over-smallint"),
         examples=(
             Example("CREATE TABLE items (id int PRIMARY KEY, n int)", (1, 24),
                     "CREATE TABLE items (id bigint PRIMARY KEY, n int)"),
             Example("CREATE TABLE pairs (\n  a smallint,\n  b bigint,\n  PRIMARY KEY (a, b))",
                     (2, 5), "CREATE TABLE pairs (a bigint, b bigint, PRIMARY KEY (a, b))"),
         )),
    Rule(codes.SERIAL_TYPE, ast.ColumnDef,
         lambda s: s.serial,
         'column "{column}" is a serial: its sequence has its own owner, grants and dump order',
         "write `{column} bigint generated by default as identity`",
         squawk=("prefer-identity",),
         examples=(Example("CREATE TABLE tags (id bigserial PRIMARY KEY)", (1, 23),
                           "CREATE TABLE tags (id bigint GENERATED BY DEFAULT AS IDENTITY "
                           "PRIMARY KEY)"),)),
    Rule(codes.VARCHAR_LENGTH, ast.ColumnDef,
         lambda s: type_is(s.type, r"character varying\(\d+\)"),
         'column "{column}" is {type}: changing the limit later takes an ACCESS EXCLUSIVE lock '
         "(lowering it rewrites the table)",
         "write text with `check (length({column}) <= n)`: a check is replaced NOT VALID, "
         "without locking the table",
         squawk=("prefer-text-field",),
         examples=(Example("CREATE TABLE notes (id bigint PRIMARY KEY, body varchar(280))",
                           (1, 49), "CREATE TABLE notes (id bigint PRIMARY KEY, body text, "
                           "title varchar)"),)),
)
