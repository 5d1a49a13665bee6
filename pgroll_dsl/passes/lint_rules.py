"""The safety rules for raw SQL, gathered: the registry the linter, the docs and tests read.

The rows live by family (``lint_rules_locks``, ``lint_rules_columns``, ``lint_rules_clients``,
``lint_rules_script``; their shape is ``lint_model``). Several rows may share a code, and rows
of one code may differ by PostgreSQL version. ``squawk`` and ``strong_migrations`` name the
checks of those linters a row covers; the tables below say what the rows do not cover, and
why. docs/lint.md is generated from this module (tools/gen_lint_doc.py), and
tests/test_lint_sql.py holds squawk to it.
"""

from __future__ import annotations

from collections.abc import Mapping

from pglast import ast

from pgroll_dsl.diagnostics import codes
from pgroll_dsl.diagnostics.codes import Code
from pgroll_dsl.passes.lint_model import Kind, Rule, Site, widening
from pgroll_dsl.passes.lint_rules_clients import DROP_RULES, RENAME_RULES
from pgroll_dsl.passes.lint_rules_columns import CHANGE_RULES, TYPE_RULES
from pgroll_dsl.passes.lint_rules_locks import CONSTRAINT_RULES, INDEX_RULES, TABLE_RULES
from pgroll_dsl.passes.lint_rules_script import SCRIPT_RULES

__all__ = ["FAMILIES", "RULES", "SQUAWK_NOT_COVERED", "SQUAWK_OPT_IN", "SQUAWK_PARTLY_COVERED",
           "SQUAWK_RULES", "STRONG_MIGRATIONS_CHECKS", "SUPPRESSION_CODES", "VERBS", "Rule",
           "Site", "lint_codes", "rules_for", "widening"]

# (title, rows): the order of docs/lint.md.
FAMILIES: tuple[tuple[str, tuple[Rule, ...]], ...] = (
    ("Indexes", INDEX_RULES),
    ("Constraints", CONSTRAINT_RULES),
    ("Columns", CHANGE_RULES),
    ("Whole-table commands", TABLE_RULES),
    ("Renames", RENAME_RULES),
    ("Drops", DROP_RULES),
    ("Column types", TYPE_RULES),
    ("The script as a whole", SCRIPT_RULES),
)
RULES: tuple[Rule, ...] = tuple(rule for _, rows in FAMILIES for rule in rows)

# The linter's own diagnostics, about `-- pgroll-dsl: allow` comments (lint_suppress).
SUPPRESSION_CODES: tuple[Code, ...] = (codes.SUPPRESSION_WITHOUT_REASON,
                                       codes.UNKNOWN_SUPPRESSION_CODE, codes.UNUSED_SUPPRESSION)


def lint_codes() -> tuple[Code, ...]:
    """Every code a rule reports, in code order."""
    return tuple(sorted({rule.code for rule in RULES}, key=lambda c: c.id))


def rules_for(kind: Kind) -> tuple[Rule, ...]:
    """The rules that look at this kind of place, in table order."""
    return _BY_KIND.get(kind, ())


_BY_KIND: dict[Kind, tuple[Rule, ...]] = {}
for _rule in RULES:
    _BY_KIND[_rule.kind] = (*_BY_KIND.get(_rule.kind, ()), _rule)

# squawk 2.70's rules (`squawk --exclude NAME` accepts each; tests check it).
SQUAWK_RULES: tuple[str, ...] = (
    "adding-field-with-default", "adding-foreign-key-constraint", "adding-not-nullable-field",
    "adding-required-field", "adding-serial-primary-key-field", "ban-add-column",
    "ban-add-composite-attribute", "ban-add-enum-value", "ban-alter-database-options",
    "ban-alter-domain-with-add-constraint", "ban-alter-extension", "ban-alter-function-options",
    "ban-alter-generated-expression", "ban-alter-identity", "ban-alter-policy-condition",
    "ban-alter-policy-roles", "ban-alter-role-options", "ban-alter-row-level-security",
    "ban-alter-sequence-values", "ban-alter-system-options", "ban-alter-view-options",
    "ban-char-field", "ban-concurrent-index-creation-in-transaction",
    "ban-create-domain-with-constraint", "ban-create-policy", "ban-detach-inheritance",
    "ban-disable-trigger", "ban-drop-column", "ban-drop-constraint", "ban-drop-database",
    "ban-drop-default", "ban-drop-domain", "ban-drop-extension", "ban-drop-function",
    "ban-drop-generated-expression", "ban-drop-index", "ban-drop-not-null", "ban-drop-policy",
    "ban-drop-schema", "ban-drop-sequence", "ban-drop-table", "ban-drop-trigger",
    "ban-drop-type", "ban-drop-view", "ban-duplicate-column-assignments",
    "ban-new-write-restriction", "ban-replace-view-function", "ban-replica-identity",
    "ban-revoke", "ban-set-default", "ban-set-schema", "ban-truncate-cascade",
    "ban-uncommitted-transaction", "changing-column-type", "constraint-missing-not-valid",
    "disallowed-unique-constraint", "prefer-bigint-over-int", "prefer-bigint-over-smallint",
    "prefer-identity", "prefer-repack", "prefer-robust-stmts", "prefer-text-field",
    "prefer-timestamp-tz", "renaming-column", "renaming-object", "renaming-table",
    "require-concurrent-index-creation", "require-concurrent-index-deletion",
    "require-concurrent-partition-detach", "require-concurrent-reindex",
    "require-enum-value-ordering", "require-lock-timeout", "require-statement-timeout",
    "require-table-schema", "require-timeout-settings", "transaction-nesting",
)

# Where the rules stand against squawk's rules that are on by default, and why some are not
# covered: tests/test_lint_sql.py fails on a squawk finding whose rule is in neither place.
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
    "ban-alter-identity": "changing an identity is catalog-only; its lock is PGD426's, and "
                          "whether inserts may give their own values is the author's choice",
    "ban-duplicate-column-assignments": "PostgreSQL refuses the statement itself (multiple "
                                        "assignments to the same column): start fails before "
                                        "anything changes",
}

# squawk's rules that are off unless asked for (`--include`), and that no row covers.
SQUAWK_OPT_IN: frozenset[str] = frozenset({
    "ban-add-column", "ban-add-composite-attribute", "ban-add-enum-value",
    "ban-alter-database-options", "ban-alter-extension", "ban-alter-function-options",
    "ban-alter-generated-expression", "ban-alter-policy-condition", "ban-alter-policy-roles",
    "ban-alter-role-options", "ban-alter-row-level-security", "ban-alter-sequence-values",
    "ban-alter-system-options", "ban-alter-view-options", "ban-create-policy",
    "ban-detach-inheritance", "ban-disable-trigger", "ban-drop-index", "ban-drop-policy",
    "ban-drop-trigger", "ban-new-write-restriction", "ban-replace-view-function", "ban-revoke",
    "require-table-schema",
})

# squawk's rules that rows above name, but that squawk applies more widely, and why.
SQUAWK_PARTLY_COVERED: Mapping[str, str] = {
    "require-statement-timeout": "PGD426 asks for a statement_timeout where a statement locks a "
                                 "table against writes; squawk asks before any DDL, where a "
                                 "timeout protects nothing (DROP FUNCTION, ALTER TYPE … ADD "
                                 "VALUE) or does harm (it would leave a CREATE INDEX "
                                 "CONCURRENTLY invalid)",
    "require-timeout-settings": "as require-statement-timeout",
}

# strong_migrations' checks that apply to PostgreSQL (its README), and what the rows' own
# ``strong_migrations`` do not name: why no rule covers it.
STRONG_MIGRATIONS_CHECKS: Mapping[str, str] = {
    "removing a column": "", "changing the type of a column": "", "renaming a column": "",
    "renaming a table": "",
    "creating a table with the force option": "an ORM option; its DROP TABLE is PGD418",
    "adding an auto-incrementing column": "", "adding a stored generated column": "",
    "adding a check constraint": "", "executing SQL directly": "",
    "backfilling data": "an UPDATE is not linted; pgroll-dsl's `up` backfills in batches",
    "adding an index non-concurrently": "",
    "adding a reference": "the index and foreign key it adds are PGD401 and PGD404",
    "adding a foreign key": "", "adding a unique constraint": "",
    "adding an exclusion constraint": "", "adding a json column": "",
    "setting NOT NULL on an existing column": "",
    "adding a column with a volatile default value": "", "renaming a schema": "",
    "removing an index non-concurrently (an opt-in check)": "",
    "adding a column with a default value (before PostgreSQL 11)": "",
    "keeping non-unique indexes to three columns or fewer": "a design advice, not a lock",
}

# ``STATEMENT`` rules' ``{what}``: how a statement is named in messages.
VERBS: Mapping[type[ast.Node], str] = {
    ast.AlterTableStmt: "ALTER TABLE", ast.IndexStmt: "CREATE INDEX", ast.DropStmt: "DROP",
    ast.RenameStmt: "ALTER … RENAME", ast.TruncateStmt: "TRUNCATE", ast.VacuumStmt: "VACUUM",
    ast.ClusterStmt: "CLUSTER", ast.LockStmt: "LOCK TABLE", ast.ReindexStmt: "REINDEX",
    ast.AlterObjectSchemaStmt: "ALTER … SET SCHEMA", ast.CreateStmt: "CREATE TABLE",
    ast.RefreshMatViewStmt: "REFRESH MATERIALIZED VIEW", ast.CreateTrigStmt: "CREATE TRIGGER",
}
