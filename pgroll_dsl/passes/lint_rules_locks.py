"""Safety rules, the lock family: index builds, constraints and whole-table commands.

Each statement here takes a lock that blocks writes (or reads and writes) on a table in use
for as long as it scans, builds or rewrites; the hint names the pgroll-dsl operation, or the
SQL form, that does the same work without holding that lock. Version-aware rows: REINDEX and
DETACH PARTITION have a CONCURRENTLY form only from PostgreSQL 12 and 14.
"""

from __future__ import annotations

from pglast import ast
from pglast.enums import AlterTableType, ConstrType

from pgroll_dsl.diagnostics import codes
from pgroll_dsl.passes.lint_model import Example, Rule, constraint_of, contype, validated
from pgroll_dsl.passes.lint_nodes import detach_concurrently, reindex_concurrently

_AT = AlterTableType
_REPACK = ("use pg_repack or pg_squeeze outside the migration; no pgroll-dsl operation rewrites "
           "a table")

INDEX_RULES: tuple[Rule, ...] = (
    Rule(codes.CREATE_INDEX_NOT_CONCURRENTLY, ast.IndexStmt,
         lambda s: not s.node.concurrent and not s.new,
         'CREATE INDEX without CONCURRENTLY blocks writes to "{table}" (SHARE lock) for the '
         "whole build",
         "write `create index {index} on {table} ({columns})`: pgroll-dsl builds it "
         "CONCURRENTLY, while writes go on",
         squawk=("require-concurrent-index-creation",),
         strong_migrations="adding an index non-concurrently",
         examples=(Example("CREATE INDEX users_email ON users (email)", (1, 1),
                           "CREATE INDEX CONCURRENTLY users_email ON users (email)"),)),
    Rule(codes.DROP_INDEX_NOT_CONCURRENTLY, ast.DropStmt,
         lambda s: s.names.get("object") == "index" and not s.node.concurrent and not s.new,
         "DROP INDEX without CONCURRENTLY takes an ACCESS EXCLUSIVE lock on its table",
         "write `drop index {name}`: pgroll-dsl drops it CONCURRENTLY",
         squawk=("require-concurrent-index-deletion",),
         strong_migrations="removing an index non-concurrently (an opt-in check)",
         examples=(Example("DROP INDEX users_email", (1, 1),
                           "DROP INDEX CONCURRENTLY users_email"),)),
    Rule(codes.REINDEX_NOT_CONCURRENTLY, ast.ReindexStmt,
         lambda s: not reindex_concurrently(s.node) and not s.new,
         "REINDEX without CONCURRENTLY blocks writes, and reads that use the index, until it "
         "ends",
         "write REINDEX … CONCURRENTLY: it builds the new index while writes go on",
         squawk=("require-concurrent-reindex",), since=12,
         examples=(Example("REINDEX INDEX users_email", (1, 1),
                           "REINDEX INDEX CONCURRENTLY users_email"),)),
    Rule(codes.REINDEX_NOT_CONCURRENTLY, ast.ReindexStmt,
         lambda s: not reindex_concurrently(s.node) and not s.new,
         "REINDEX blocks writes, and reads that use the index, until it ends (PostgreSQL "
         "{version} has no REINDEX CONCURRENTLY)",
         "`create index` a copy (built CONCURRENTLY), then `drop index` the old one",
         squawk=("require-concurrent-reindex",), until=12,
         examples=(Example("REINDEX INDEX users_email", (1, 1),
                           "CREATE INDEX CONCURRENTLY users_email_2 ON users (email)",
                           pg_version=11),)),
    Rule(codes.REINDEX_NOT_CONCURRENTLY, ast.ReindexStmt,
         lambda s: reindex_concurrently(s.node),
         "REINDEX CONCURRENTLY needs PostgreSQL 12: on {version} the statement fails",
         "`create index` a copy (built CONCURRENTLY), then `drop index` the old one", until=12,
         examples=(Example("REINDEX INDEX CONCURRENTLY users_email", (1, 1),
                           "REINDEX INDEX CONCURRENTLY users_email", pg_version=11,
                           good_pg_version=12),)),
)

CONSTRAINT_RULES: tuple[Rule, ...] = (
    Rule(codes.CONSTRAINT_WITHOUT_NOT_VALID, _AT.AT_AddConstraint,
         lambda s: contype(s) in (ConstrType.CONSTR_CHECK, ConstrType.CONSTR_FOREIGN)
         and validated(s) and not s.new,
         'ADD CONSTRAINT {name} ({kind}) without NOT VALID checks every row of "{table}" while '
         "it blocks writes",
         "write `alter table {table} add constraint {name} …`: pgroll-dsl adds it NOT VALID "
         "and validates it while writes go on (or add NOT VALID here and VALIDATE CONSTRAINT "
         "in a later migration)",
         squawk=("constraint-missing-not-valid", "adding-foreign-key-constraint"),
         strong_migrations="adding a check constraint; adding a foreign key",
         examples=(
             Example("ALTER TABLE users\n  ADD CONSTRAINT adult CHECK (age >= 18)", (1, 1),
                     "ALTER TABLE users ADD CONSTRAINT adult CHECK (age >= 18) NOT VALID;\n"
                     "ALTER TABLE users VALIDATE CONSTRAINT adult"),
             Example("ALTER TABLE accounts ADD CONSTRAINT owner_fk FOREIGN KEY (owner) "
                     "REFERENCES users (id)", (1, 1),
                     "ALTER TABLE accounts ADD CONSTRAINT owner_fk FOREIGN KEY (owner) "
                     "REFERENCES users (id) NOT VALID"))),
    Rule(codes.CONSTRAINT_WITHOUT_NOT_VALID, ast.AlterDomainStmt,
         lambda s: s.node.subtype == "C" and validated(s) and not s.new,
         "ALTER DOMAIN {name} ADD CONSTRAINT without NOT VALID checks every column of the "
         "domain while it blocks writes",
         "add it NOT VALID, then VALIDATE CONSTRAINT in a later migration",
         squawk=("ban-alter-domain-with-add-constraint",),
         examples=(Example("ALTER DOMAIN positive ADD CONSTRAINT p CHECK (VALUE > 0)", (1, 1),
                           "ALTER DOMAIN positive ADD CONSTRAINT p CHECK (VALUE > 0) NOT VALID"),
                   )),
    Rule(codes.CONSTRAINT_BUILDS_INDEX, _AT.AT_AddConstraint,
         lambda s: contype(s) in (ConstrType.CONSTR_UNIQUE, ConstrType.CONSTR_PRIMARY)
         and not getattr(constraint_of(s), "indexname", None) and not s.new,
         'ADD {kind} builds its index under an ACCESS EXCLUSIVE lock on "{table}": reads and '
         "writes wait",
         "write `alter table {table} add constraint {name} {constraint}`: "
         "pgroll-dsl builds the index CONCURRENTLY first (or CREATE UNIQUE INDEX "
         "CONCURRENTLY, then ADD CONSTRAINT … USING INDEX)",
         squawk=("disallowed-unique-constraint", "adding-serial-primary-key-field",
                 "constraint-missing-not-valid"),
         strong_migrations="adding a unique constraint",
         examples=(
             Example("ALTER TABLE users ADD CONSTRAINT users_email_key UNIQUE (email)", (1, 1),
                     "CREATE UNIQUE INDEX CONCURRENTLY users_email_idx ON users (email);\n"
                     "ALTER TABLE users ADD CONSTRAINT users_email_key UNIQUE USING INDEX "
                     "users_email_idx"),
             Example("ALTER TABLE accounts DROP CONSTRAINT accounts_pkey,\n"
                     "  ADD PRIMARY KEY (id)", (2, 3),
                     "ALTER TABLE accounts ADD PRIMARY KEY USING INDEX accounts_id_idx"))),
    Rule(codes.CONSTRAINT_BUILDS_INDEX, _AT.AT_AddConstraint,
         lambda s: contype(s) is ConstrType.CONSTR_EXCLUSION and not s.new,
         'ADD EXCLUDE builds its index and checks every row under an ACCESS EXCLUSIVE lock on '
         '"{table}"',
         "no pgroll-dsl operation adds an exclusion constraint to a table in use: give a new "
         "table its constraint in `create table … exclude …`",
         squawk=("constraint-missing-not-valid",),
         strong_migrations="adding an exclusion constraint",
         examples=(Example("ALTER TABLE users ADD CONSTRAINT no_overlap "
                           "EXCLUDE USING gist (age WITH =)", (1, 1),
                           "CREATE TABLE slots (during tstzrange, "
                           "EXCLUDE USING gist (during WITH &&))"),)),
)

TABLE_RULES: tuple[Rule, ...] = (
    Rule(codes.VACUUM_FULL, ast.VacuumStmt,
         lambda s: any(o.defname == "full" for o in s.node.options or ()) and not s.new,
         "VACUUM FULL rewrites the table under an ACCESS EXCLUSIVE lock: reads and writes wait",
         _REPACK, squawk=("prefer-repack",),
         examples=(Example("VACUUM FULL users", (1, 1), "VACUUM (ANALYZE) users"),)),
    Rule(codes.CLUSTER, ast.ClusterStmt,
         lambda s: not s.new,
         "CLUSTER rewrites the table under an ACCESS EXCLUSIVE lock: reads and writes wait",
         _REPACK, squawk=("prefer-repack",),
         examples=(Example("CLUSTER users USING users_pkey", (1, 1),
                           "CREATE TABLE t (id bigint PRIMARY KEY);\nCLUSTER t USING t_pkey"),)),
    Rule(codes.LOCK_TABLE, ast.LockStmt,
         lambda s: not s.new,
         'LOCK TABLE "{table}" ({lock}) makes every client that needs a conflicting lock wait '
         "until the step ends",
         "remove it: pgroll-dsl's operations take their locks one at a time, each wait bounded "
         "by --lock-timeout",
         examples=(Example("LOCK TABLE users IN SHARE MODE", (1, 1),
                           "CREATE TABLE t (id bigint PRIMARY KEY);\nLOCK TABLE t"),)),
    Rule(codes.TRUNCATE, ast.TruncateStmt,
         lambda s: not s.new,
         'TRUNCATE "{table}" takes an ACCESS EXCLUSIVE lock and empties the table under running '
         "clients",
         "delete the rows in batches, or `drop table {table}` in a migration of its own: the "
         "old version keeps it until complete",
         squawk=("ban-truncate-cascade",),
         examples=(Example("TRUNCATE users", (1, 1), "DELETE FROM users WHERE age < 0"),)),
    Rule(codes.DETACH_PARTITION_NOT_CONCURRENTLY, _AT.AT_DetachPartition,
         lambda s: not detach_concurrently(s.node) and not s.new,
         'DETACH PARTITION without CONCURRENTLY takes an ACCESS EXCLUSIVE lock on "{table}"',
         "write DETACH PARTITION … CONCURRENTLY, in a `sql` operation of its own",
         squawk=("require-concurrent-partition-detach",), since=14,
         examples=(Example("ALTER TABLE measurements DETACH PARTITION measurements_2020",
                           (1, 1), "ALTER TABLE measurements DETACH PARTITION "
                           "measurements_2020 CONCURRENTLY"),)),
    Rule(codes.DETACH_PARTITION_NOT_CONCURRENTLY, _AT.AT_DetachPartition,
         lambda s: not detach_concurrently(s.node) and not s.new,
         'DETACH PARTITION takes an ACCESS EXCLUSIVE lock on "{table}" (PostgreSQL {version} '
         "has no DETACH … CONCURRENTLY)",
         "detach it in a quiet moment with a short --lock-timeout, or upgrade to PostgreSQL 14 "
         "and detach it CONCURRENTLY",
         squawk=("require-concurrent-partition-detach",), until=14,
         examples=(Example("ALTER TABLE measurements DETACH PARTITION measurements_2020",
                           (1, 1), "ALTER TABLE measurements DETACH PARTITION "
                           "measurements_2020 CONCURRENTLY", pg_version=13,
                           good_pg_version=14),)),
    Rule(codes.DETACH_PARTITION_NOT_CONCURRENTLY, _AT.AT_DetachPartition,
         lambda s: detach_concurrently(s.node),
         "DETACH PARTITION CONCURRENTLY needs PostgreSQL 14: on {version} the statement fails",
         "detach it without CONCURRENTLY in a quiet moment, or upgrade to PostgreSQL 14",
         until=14,
         examples=(Example("ALTER TABLE measurements DETACH PARTITION measurements_2020 "
                           "CONCURRENTLY", (1, 1), "ALTER TABLE measurements DETACH PARTITION "
                           "measurements_2020 CONCURRENTLY", pg_version=13,
                           good_pg_version=14),)),
)
