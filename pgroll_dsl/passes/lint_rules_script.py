"""Safety rules, the script family: what the SQL as a whole does to the step it runs in.

A missing statement_timeout, transaction control that fights the executor's, an enum value
added where the server cannot (before PostgreSQL 12), and raw DDL that a pgroll-dsl operation
does better (the fallback: only where no other rule fired on the statement).
"""

from __future__ import annotations

from pglast import ast

from pgroll_dsl.diagnostics import codes
from pgroll_dsl.passes.lint_model import BLOCKING_LOCKS, STATEMENT, Example, Rule

SCRIPT_RULES: tuple[Rule, ...] = (
    Rule(codes.MISSING_STATEMENT_TIMEOUT, STATEMENT,
         lambda s: s.lock in BLOCKING_LOCKS and not s.timeout and not s.new,
         '{what} locks "{table}" in {lock} mode, and no statement_timeout bounds how long it '
         "holds the lock",
         "begin the SQL with `SET statement_timeout = '5s';` (pgroll-dsl's --lock-timeout "
         "bounds the wait for the lock, not how long it is held)",
         squawk=("require-statement-timeout", "require-timeout-settings"), once=True,
         examples=(Example("ALTER TABLE users ADD COLUMN bio text", (1, 1),
                           "SET statement_timeout = '5s';\n"
                           "ALTER TABLE users ADD COLUMN bio text"),)),
    Rule(codes.ENUM_VALUE_IN_TRANSACTION, ast.AlterEnumStmt,
         lambda s: s.node.oldVal is None,
         "ALTER TYPE … ADD VALUE cannot run inside a transaction block before PostgreSQL 12 "
         "(this is {version}), and pgroll-dsl runs this step in one",
         "add the value by hand before the migration, or upgrade to PostgreSQL 12 or later "
         "(no pgroll-dsl operation adds an enum value)", until=12,
         examples=(Example("ALTER TYPE mood ADD VALUE 'happy'", (1, 1),
                           "ALTER TYPE mood ADD VALUE 'happy'", pg_version=11,
                           good_pg_version=12),)),
    Rule(codes.TRANSACTION_CONTROL, ast.TransactionStmt,
         lambda s: True,
         "{what} in a `sql` operation: pgroll-dsl decides the transaction each step runs in, "
         "and this ends or nests it",
         "remove it: the executor runs each step in a transaction, or on its own for "
         "CONCURRENTLY",
         squawk=("transaction-nesting", "ban-concurrent-index-creation-in-transaction",
                 "ban-uncommitted-transaction"),
         examples=(Example("BEGIN;\nCREATE INDEX CONCURRENTLY e ON users (email);\nCOMMIT",
                           (1, 1), "CREATE INDEX CONCURRENTLY e ON users (email)"),)),
    Rule(codes.USE_OPERATION, STATEMENT,
         lambda s: s.operation is not None and not s.down and not s.new,
         "raw {what}: pgroll-dsl has an operation for this, and keeps the old and the new "
         "schema version working while it runs",
         "write `{operation}`",
         squawk=("ban-drop-not-null", "ban-drop-constraint", "ban-drop-default",
                 "ban-set-default", "ban-replica-identity"),
         strong_migrations="executing SQL directly", fallback=True,
         examples=(
             Example("ALTER TABLE users ALTER COLUMN name DROP NOT NULL", (1, 1),
                     "CREATE EXTENSION IF NOT EXISTS pg_trgm"),
             Example("CREATE TABLE audit (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,\n"
                     "  at timestamptz NOT NULL DEFAULT now())", (1, 1), "SELECT 1"),
         )),
)
