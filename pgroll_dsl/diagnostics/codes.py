"""Every diagnostic pgroll-dsl can emit. Codes are stable; a retired code is never reused.

Ranges: PGD0xx syntax, PGD1xx structure and shape, PGD2xx resolution against the catalog,
PGD3xx operation semantics, PGD4xx safety lints of raw SQL, PGD5xx embedded SQL, PGD9xx
environment.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Severity(StrEnum):
    """How bad a diagnostic is; only errors make a command fail."""

    ERROR = "error"
    WARNING = "warning"
    NOTE = "note"


@dataclass(frozen=True, slots=True)
class Code:
    """A stable diagnostic identity: ``id`` and ``slug`` are both accepted by filters."""

    id: str
    slug: str
    severity: Severity
    summary: str


_E = Severity.ERROR

# PGD0xx: the text does not parse.
SYNTAX_ERROR = Code("PGD001", "syntax-error", _E, "the DSL text does not parse")
UNEXPECTED_END = Code("PGD002", "unexpected-end", _E, "the file ends in the middle of a statement")
MISSING_SEMICOLON = Code("PGD003", "missing-semicolon", _E, "a statement is not closed by ';'")
INVALID_CHARACTER = Code("PGD004", "invalid-character", _E, "a character that starts no token")
UNTERMINATED = Code("PGD005", "unterminated", _E, "a string, identifier or SQL block is not closed")
JSON_SYNTAX = Code("PGD010", "json-syntax", _E, "the JSON document does not parse")
YAML_SYNTAX = Code("PGD011", "yaml-syntax", _E, "the YAML document does not parse")
UNREADABLE_FILE = Code("PGD012", "unreadable-file", _E, "the file cannot be read as UTF-8 text")
UNKNOWN_FORMAT = Code("PGD013", "unknown-format", _E, "the file extension names no known format")
SQL_SYNTAX = Code("PGD014", "sql-syntax", _E, "the SQL script given to convert does not parse")

# PGD1xx: the document has the wrong shape.
UNKNOWN_KEY = Code("PGD101", "unknown-key", _E, "a key pgroll does not accept at this place")
MISSING_FIELD = Code("PGD102", "missing-field", _E, "a required field is absent")
WRONG_TYPE = Code("PGD103", "wrong-type", _E, "a value of the wrong JSON type")
INVALID_VALUE = Code("PGD104", "invalid-value", _E, "a value outside the allowed set")
IDENTIFIER_TOO_LONG = Code("PGD105", "identifier-too-long", _E, "a name over 63 bytes")
BAD_TYPE_NAME = Code("PGD106", "bad-type-name", _E, "a column type that is not a type name")
DUPLICATE_FIELD = Code("PGD107", "duplicate-field", _E, "the same field or clause given twice")
OPERATION_SHAPE = Code("PGD108", "operation-shape", _E, "an operation needs exactly one key")
UNKNOWN_OPERATION = Code("PGD109", "unknown-operation", _E, "an operation type pgroll lacks")
INVALID_IDENTIFIER = Code("PGD110", "invalid-identifier", _E,
                          "an empty name, or one with a NUL or a line break")
CONFLICTING_OPTIONS = Code("PGD111", "conflicting-options", _E, "options that exclude each other")
EMPTY_MIGRATION = Code("PGD112", "empty-migration", Severity.WARNING, "a file with no operation")
DUPLICATE_MIGRATION_NAME = Code("PGD113", "duplicate-migration-name", _E,
                                "two files of one directory have the same migration name")
NO_MIGRATION_FILES = Code("PGD114", "no-migration-files", Severity.WARNING,
                          "a directory given to validate holds no migration file")

# PGD2xx: a name does not resolve against the schema the operation runs on.
TABLE_ALREADY_EXISTS = Code("PGD201", "table-already-exists", _E,
                            "a table or other relation of that name already exists")
TABLE_DOES_NOT_EXIST = Code("PGD202", "table-does-not-exist", _E, "no table of that name")
COLUMN_ALREADY_EXISTS = Code("PGD203", "column-already-exists", _E,
                             "the table already has a column of that name")
COLUMN_DOES_NOT_EXIST = Code("PGD204", "column-does-not-exist", _E,
                             "the table has no column of that name")
INDEX_ALREADY_EXISTS = Code("PGD205", "index-already-exists", _E,
                            "an index or other relation of that name already exists")
INDEX_DOES_NOT_EXIST = Code("PGD206", "index-does-not-exist", _E, "no index of that name")
CONSTRAINT_ALREADY_EXISTS = Code("PGD207", "constraint-already-exists", _E,
                                 "the table already has a constraint of that name")
CONSTRAINT_DOES_NOT_EXIST = Code("PGD208", "constraint-does-not-exist", _E,
                                 "the table has no constraint of that name")
EXPRESSION_COLUMN_DOES_NOT_EXIST = Code(
    "PGD209", "expression-column-does-not-exist", _E,
    "an expression names a column that the row it is evaluated on lacks",
)
UNKNOWN_TYPE = Code("PGD210", "unknown-type", Severity.WARNING,
                    "a column type that is neither built in nor a known enum")
FOREIGN_KEY_TARGET_NOT_UNIQUE = Code(
    "PGD211", "foreign-key-target-not-unique", _E,
    "referenced columns have no primary key or unique constraint of their own",
)

# PGD3xx: the operation cannot do what it says on this schema.
NOT_NULL_NEEDS_UP = Code("PGD301", "not-null-needs-up", _E,
                         "a NOT NULL column added without default needs `up`")
SQL_NOT_ALONE = Code("PGD302", "sql-not-alone", _E,
                     "a `sql` operation must be the only one (unless `on complete`)")
SQL_WITHOUT_STATEMENT = Code("PGD303", "sql-without-statement", _E,
                             "`sql` up holds no statement, only comments or ';'")
ALTER_COLUMN_NO_CHANGE = Code("PGD304", "alter-column-no-change", _E,
                              "alter_column changes nothing")
COLUMN_ALREADY_NOT_NULL = Code("PGD305", "column-already-not-null", _E,
                               "`set not null` on a column that is NOT NULL")
COLUMN_ALREADY_NULLABLE = Code("PGD306", "column-already-nullable", _E,
                               "`drop not null` on a column that is nullable")
ADD_PRIMARY_KEY_COLUMN = Code("PGD307", "add-primary-key-column", _E,
                              "add_column cannot add a primary key column")
ADD_GENERATED_COLUMN = Code("PGD308", "add-generated-column", _E,
                            "add_column cannot add a generated column")
VOLATILE_DEFAULT_NEEDS_UP = Code("PGD309", "volatile-default-needs-up", _E,
                                 "a volatile default needs `up` equal to the default")
COLUMN_MIGRATION_MISSING = Code("PGD310", "column-migration-missing", _E,
                                "a column the operation rewrites has no `down`")
COLUMN_MIGRATION_REDUNDANT = Code("PGD311", "column-migration-redundant", _E,
                                  "an up/down entry for a column the operation does not cover")
MULTICOLUMN_CONSTRAINT = Code("PGD312", "multicolumn-constraint", _E,
                              "drop_constraint on a constraint over several columns")
CONSTRAINT_NOT_DROPPABLE = Code("PGD313", "constraint-not-droppable", _E,
                                "pgroll drops only check, unique and foreign key constraints")
DUPLICATE_COLUMN = Code("PGD314", "duplicate-column", _E,
                        "create_table lists a column name twice")
PRIMARY_KEY_TWICE = Code("PGD315", "primary-key-twice", _E,
                         "a second primary key for one table")
SET_COLUMN_NOT_IN_KEY = Code("PGD316", "set-column-not-in-key", _E,
                             "an ON DELETE SET column that is not a foreign key column")
FOREIGN_KEY_COLUMN_COUNT = Code("PGD317", "foreign-key-column-count", _E,
                                "referencing and referenced column counts differ")
BACKFILL_WITHOUT_KEY = Code("PGD318", "backfill-without-key", Severity.WARNING,
                            "a backfilled table has no primary key or unique NOT NULL column")
DEFAULT_REFERENCES_COLUMN = Code("PGD319", "default-references-column", _E,
                                 "a default expression that names a column")
COLUMN_REWRITTEN_TWICE = Code("PGD320", "column-rewritten-twice", _E,
                              "a column added or rewritten earlier in the same migration is "
                              "rewritten or dropped again")
UNIQUE_WITHOUT_PARTITION_KEY = Code("PGD321", "unique-without-partition-key", _E,
                                    "a unique index or key of a partitioned table lacks a "
                                    "column of its partition key")
PARTITION_COLUMN_CHANGE = Code("PGD322", "partition-column-change", _E,
                               "a column change PostgreSQL refuses on partitions: a partition "
                               "key column rewritten or dropped, a partition's column changed")
PARTITIONED_KEY_CONSTRAINT = Code("PGD323", "partitioned-key-constraint", _E,
                                  "a unique or primary key constraint of a partitioned table "
                                  "that could only be made under a lock: over partition key "
                                  "columns only, or a primary key over a nullable one")
GENERATED_COLUMN_READS = Code("PGD324", "generated-column-reads", _E,
                              "a column a stored generated column reads is rewritten or "
                              "dropped")
# PGD33x: what `convert` from SQL could not say with an operation of its own.
SQL_KEPT_RAW = Code("PGD330", "sql-kept-raw", Severity.WARNING,
                    "a SQL statement with no pgroll operation is kept as a raw `sql` operation")
DATA_MIGRATION_NEEDED = Code("PGD331", "data-migration-needed", Severity.WARNING,
                             "convert could not infer an `up`/`down`: pgroll's placeholder "
                             "marks it for the author")
CONVERT_ASSUMPTION = Code("PGD332", "convert-assumption", Severity.NOTE,
                          "convert inferred an `up`/`down` or dropped a clause: what it assumed")

SQL_NOT_REPLAYED = Code("PGD220", "sql-not-replayed", Severity.WARNING,
                        "replay could not interpret a raw SQL statement of the history")

# PGD4xx: raw SQL that is legal but unsafe on a table in use (passes/lint_sql.py; the rules,
# with their messages and hints, are passes/lint_rules.py). Warnings: the author may mean it.
_W = Severity.WARNING
CREATE_INDEX_NOT_CONCURRENTLY = Code("PGD401", "create-index-not-concurrently", _W,
                                     "CREATE INDEX without CONCURRENTLY blocks writes")
DROP_INDEX_NOT_CONCURRENTLY = Code("PGD402", "drop-index-not-concurrently", _W,
                                   "DROP INDEX without CONCURRENTLY blocks reads and writes")
REINDEX_NOT_CONCURRENTLY = Code("PGD403", "reindex-not-concurrently", _W,
                                "REINDEX without CONCURRENTLY blocks writes")
CONSTRAINT_WITHOUT_NOT_VALID = Code("PGD404", "constraint-without-not-valid", _W,
                                    "a CHECK or FOREIGN KEY added without NOT VALID scans the "
                                    "table while blocking writes")
CONSTRAINT_BUILDS_INDEX = Code("PGD405", "constraint-builds-index", _W,
                               "ADD UNIQUE / PRIMARY KEY without USING INDEX, or ADD EXCLUDE, "
                               "builds an index under ACCESS EXCLUSIVE")
COLUMN_TYPE_CHANGE = Code("PGD406", "column-type-change", _W,
                          "ALTER COLUMN TYPE rewrites the table (unless a known widening)")
SET_NOT_NULL = Code("PGD407", "set-not-null", _W,
                    "SET NOT NULL scans the table under ACCESS EXCLUSIVE")
ADD_COLUMN_REWRITE = Code("PGD408", "add-column-rewrite", _W,
                          "ADD COLUMN with a volatile default, a stored generated expression, "
                          "an identity or a serial (or any default before PostgreSQL 11) "
                          "rewrites the table")
ADD_REQUIRED_COLUMN = Code("PGD409", "add-required-column", _W,
                           "ADD COLUMN NOT NULL without a default")
VACUUM_FULL = Code("PGD410", "vacuum-full", _W,
                   "VACUUM FULL rewrites the table under ACCESS EXCLUSIVE")
CLUSTER = Code("PGD411", "cluster", _W, "CLUSTER rewrites the table under ACCESS EXCLUSIVE")
LOCK_TABLE = Code("PGD412", "lock-table", _W, "an explicit LOCK TABLE")
TRUNCATE = Code("PGD413", "truncate", _W,
                "TRUNCATE empties a table in use under ACCESS EXCLUSIVE")
RENAME_COLUMN = Code("PGD414", "rename-column", _W,
                     "RENAME COLUMN breaks running clients")
RENAME_TABLE = Code("PGD415", "rename-table", _W,
                    "renaming a table or view, or moving it to another schema, breaks running "
                    "clients")
RENAME_OBJECT = Code("PGD416", "rename-object", _W,
                     "renaming a constraint, index, type or other object breaks clients that "
                     "name it")
DROP_COLUMN = Code("PGD417", "drop-column", _W, "DROP COLUMN breaks running clients")
DROP_TABLE = Code("PGD418", "drop-table", _W, "DROP TABLE breaks running clients")
DROP_OBJECT = Code("PGD419", "drop-object", _W,
                   "dropping a schema, view, function, type, sequence or other object breaks "
                   "running clients")
JSON_TYPE = Code("PGD420", "json-type", _W, "a json column (prefer jsonb)")
CHAR_TYPE = Code("PGD421", "char-type", _W, "a char(n) column (prefer text)")
TIMESTAMP_WITHOUT_TIME_ZONE = Code("PGD422", "timestamp-without-time-zone", _W,
                                   "a timestamp column without time zone (prefer timestamptz)")
INT_PRIMARY_KEY = Code("PGD423", "int-primary-key", _W,
                       "a 32- or 16-bit integer primary key (prefer bigint)")
SERIAL_TYPE = Code("PGD424", "serial-type", _W, "a serial column (prefer an identity column)")
VARCHAR_LENGTH = Code("PGD425", "varchar-length", _W,
                      "a varchar(n) column (prefer text with a check)")
MISSING_STATEMENT_TIMEOUT = Code("PGD426", "missing-statement-timeout", _W,
                                 "a statement takes a blocking lock with no statement_timeout "
                                 "set before it")
ENUM_VALUE_IN_TRANSACTION = Code("PGD427", "enum-value-in-transaction", _W,
                                 "ALTER TYPE … ADD VALUE in a transaction block before "
                                 "PostgreSQL 12")
DETACH_PARTITION_NOT_CONCURRENTLY = Code("PGD428", "detach-partition-not-concurrently", _W,
                                         "DETACH PARTITION without CONCURRENTLY blocks reads "
                                         "and writes")
TRANSACTION_CONTROL = Code("PGD429", "transaction-control", _W,
                           "BEGIN, COMMIT, ROLLBACK or SAVEPOINT in a `sql` operation")
USE_OPERATION = Code("PGD430", "use-operation", _W,
                     "raw DDL that a pgroll-dsl operation does while both versions keep working")
# PGD49x: the linter's own comments, `-- pgroll-dsl: allow PGD4xx: <reason>` (lint_suppress.py).
SUPPRESSION_WITHOUT_REASON = Code("PGD490", "suppression-without-reason", _E,
                                  "a `pgroll-dsl: allow` comment without a reason")
UNKNOWN_SUPPRESSION_CODE = Code("PGD491", "unknown-suppression-code", _E,
                                "a `pgroll-dsl: allow` comment names no safety rule")
UNUSED_SUPPRESSION = Code("PGD492", "unused-suppression", _W,
                          "a `pgroll-dsl: allow` comment that suppresses nothing")

# PGD5xx: embedded SQL is not what its place requires.
EXPRESSION_SYNTAX = Code("PGD501", "expression-syntax", _E, "embedded SQL does not parse")
NOT_ONE_EXPRESSION = Code(
    "PGD502", "not-one-expression", _E, "embedded SQL escapes its expression (injection)"
)
EMPTY_EXPRESSION = Code("PGD503", "empty-expression", _E, "an expression that is empty")
SQL_WRONG_KIND = Code("PGD504", "sql-wrong-kind", _E,
                      "embedded SQL parses, but is not what its place takes")
NUL_CHARACTER = Code("PGD505", "nul-character", _E,
                     "embedded SQL, a comment or a type name contains a NUL character")
# PGD51x: embedded SQL of a type its place cannot take (passes/typecheck.py; reported only
# where PostgreSQL's rules make the failure certain).
INVALID_CONSTANT = Code("PGD510", "invalid-constant", _E,
                        "a constant the column's type does not accept ('abc' for an integer, "
                        "a value out of range or too long, a label the enum lacks)")
TYPE_MISMATCH = Code("PGD511", "type-mismatch", _E,
                     "an expression of a type PostgreSQL cannot store in the column")
NOT_BOOLEAN = Code("PGD512", "not-boolean", _E,
                   "a check or predicate whose expression is not a boolean condition")
TYPE_CHANGE_NEEDS_UP = Code("PGD513", "type-change-needs-up", _E,
                            "a type change with no cast from the old type: it needs an `up`, "
                            "or the column's default cannot follow")

# PGD9xx: the environment: files, directories, the database.
CANNOT_CONNECT = Code("PGD901", "cannot-connect", _E, "the database cannot be reached")
NOT_A_DIRECTORY = Code("PGD902", "not-a-directory", _E, "a history directory that is not one")
INVALID_CONFIG = Code("PGD903", "invalid-config", _E,
                      "the [tool.pgroll-dsl] table of pyproject.toml is not valid")
NO_SUCH_SCHEMA = Code("PGD904", "no-such-schema", _E,
                      "the database read has no schema of the --schema name")

ALL_CODES: tuple[Code, ...] = tuple(v for v in list(globals().values()) if isinstance(v, Code))
