"""Safety rules, the clients family: renames and drops that break the running application.

During a pgroll migration the old version of the application keeps running against the old
version schema; a raw rename or drop takes the name away from it at once. pgroll-dsl's
operations keep the old name in the old version schema until ``complete``.
"""

from __future__ import annotations

from pglast import ast
from pglast.enums import AlterTableType

from pgroll_dsl.diagnostics import codes
from pgroll_dsl.passes.lint_model import Example, Rule

_RELATIONS = ("table", "view", "materialized view")
_DROPPED = ("schema", "database", "view", "materialized view", "function", "procedure", "type",
            "domain", "sequence", "extension")

RENAME_RULES: tuple[Rule, ...] = (
    Rule(codes.RENAME_COLUMN, ast.RenameStmt,
         lambda s: s.names.get("object") == "column" and not s.new,
         'RENAME COLUMN "{column}" breaks running clients that still use the old name',
         "write `alter table {table} rename {column} to {new}`: the old version schema keeps "
         "the old name until complete",
         squawk=("renaming-column",), strong_migrations="renaming a column",
         examples=(Example("ALTER TABLE users RENAME COLUMN name TO full_name", (1, 1),
                           "ALTER TABLE users ADD COLUMN nick text;\n"
                           "ALTER TABLE users RENAME COLUMN nick TO alias"),)),
    Rule(codes.RENAME_TABLE, ast.RenameStmt,
         lambda s: s.names.get("object") in _RELATIONS and not s.new,
         'RENAME of {object} "{table}" breaks running clients that still use the old name',
         "write `alter table {table} rename to {new}`: the old version schema keeps the old "
         "name until complete",
         squawk=("renaming-table",), strong_migrations="renaming a table",
         examples=(Example("ALTER TABLE users RENAME TO people", (1, 1),
                           "CREATE TABLE staging (id bigint PRIMARY KEY);\n"
                           "ALTER TABLE staging RENAME TO staged"),)),
    Rule(codes.RENAME_TABLE, ast.AlterObjectSchemaStmt,
         lambda s: s.names.get("object") in _RELATIONS and not s.new,
         'SET SCHEMA moves {object} "{table}" away from running clients',
         "leave it where it is; clients reach a table through the version schemas, which "
         "`alter table {table} rename to …` keeps in step",
         squawk=("ban-set-schema",),
         examples=(Example("ALTER TABLE users SET SCHEMA archive", (1, 1),
                           "CREATE TABLE t (id bigint PRIMARY KEY);\n"
                           "ALTER TABLE t SET SCHEMA archive"),)),
    Rule(codes.RENAME_OBJECT, ast.RenameStmt,
         lambda s: s.names.get("object") == "constraint" and not s.new,
         'RENAME CONSTRAINT "{name}" breaks clients and scripts that name the old constraint',
         "write `alter table {table} rename constraint {name} to {new}`",
         squawk=("renaming-object",),
         examples=(Example("ALTER TABLE users RENAME CONSTRAINT adult TO grown_up", (1, 1),
                           "ALTER TABLE users ADD CONSTRAINT adult CHECK (age > 17) NOT VALID;\n"
                           "ALTER TABLE users RENAME CONSTRAINT adult TO grown_up"),)),
    Rule(codes.RENAME_OBJECT, ast.RenameStmt,
         lambda s: s.names.get("object") not in (*_RELATIONS, "column", "constraint")
         and not s.new,
         'RENAME of {object} "{name}" breaks running clients that still use the old name',
         "keep the old name until no client uses it (pgroll-dsl has no rename operation for "
         "this {object})",
         squawk=("renaming-object",), strong_migrations="renaming a schema",
         examples=(Example("ALTER INDEX users_email RENAME TO users_email_idx", (1, 1),
                           "CREATE INDEX CONCURRENTLY e ON users (email);\n"
                           "ALTER INDEX e RENAME TO users_email_idx"),)),
)

DROP_RULES: tuple[Rule, ...] = (
    Rule(codes.DROP_COLUMN, AlterTableType.AT_DropColumn,
         lambda s: not s.new,
         'DROP COLUMN "{column}" breaks running clients that still read or write it',
         "write `alter table {table} drop {column} down …`: the old version schema keeps the "
         "column until complete",
         squawk=("ban-drop-column",), strong_migrations="removing a column",
         examples=(Example("ALTER TABLE users DROP COLUMN name", (1, 1),
                           "ALTER TABLE users ADD COLUMN tmp text;\n"
                           "ALTER TABLE users DROP COLUMN tmp"),)),
    Rule(codes.DROP_TABLE, ast.DropStmt,
         lambda s: s.names.get("object") == "table" and not s.new,
         'DROP TABLE "{name}" breaks running clients that still use it',
         "write `drop table {name}`: the old version schema keeps it until complete",
         squawk=("ban-drop-table",),
         examples=(Example("DROP TABLE accounts", (1, 1),
                           "CREATE TABLE tmp (id bigint PRIMARY KEY);\nDROP TABLE tmp"),)),
    Rule(codes.DROP_OBJECT, ast.DropStmt,
         lambda s: s.names.get("object") in _DROPPED and not s.new,
         'DROP {OBJECT} "{name}" breaks running clients that still use it',
         "drop it in a later migration, once no client uses it (pgroll-dsl has no drop "
         "operation for this {object})",
         squawk=("ban-drop-database", "ban-drop-schema", "ban-drop-view", "ban-drop-function",
                 "ban-drop-type", "ban-drop-domain", "ban-drop-sequence",
                 "ban-drop-extension"),
         examples=(Example("DROP VIEW active_users", (1, 1),
                           "CREATE VIEW v AS SELECT 1 AS one;\nDROP VIEW v"),
                   Example("DROP EXTENSION pg_trgm", (1, 1),
                           "CREATE EXTENSION IF NOT EXISTS pg_trgm"))),
)
