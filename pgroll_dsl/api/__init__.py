"""The public Python API: what the CLI does, as functions, results and exceptions.

- migrations (``migrations.py``): ``compile_file``, ``compile_text`` (any syntax), ``emit``,
  ``format_file``, ``convert_sql``, ``create_migration``, ``migration_files``,
  ``directory_version_schema``, ``directory_latest_migration``;
- against a catalog (``checks.py``, ``validation.py``): ``validate``, ``plan_migration``,
  ``render_plan``, ``save_plan``, ``read_saved_plan``, ``load_catalog``, ``dump_catalog``;
- on a live database (``live.py``): ``connect`` -> ``Migrator`` (``init``, ``start``,
  ``complete``, ``rollback``, ``status``, ``latest``, ``latest_migration``, ``pending``,
  ``migrate``, ``baseline``, ``pull``), ``latest_version_schema``, ``search_path_url``;
  what ``try`` shows (``demo.py``, imported on its own: it loads the database driver);
- results and options (``results.py``), exceptions (``errors.py``), the model types for
  annotations (``types.py``, imported on its own: it loads the planner's model).

No terminal and no typer here; the database driver is loaded only by the live functions.
docs/api.md shows each in use.
"""

from __future__ import annotations

from pgroll_dsl.api.checks import (
    PhaseName,
    dump_catalog,
    lint_settings,
    load_catalog,
    plan_migration,
    read_saved_plan,
    render_plan,
    save_plan,
)
from pgroll_dsl.api.database import Database, OpenConnection
from pgroll_dsl.api.errors import (
    DatabaseUnreachable,
    InvalidMigration,
    InvalidSavedPlan,
    MigrationRefused,
    PgrollDslError,
    PhaseIncomplete,
)
from pgroll_dsl.api.live import (
    Migrator,
    StatementCallback,
    connect,
    latest_version_schema,
    search_path_url,
)
from pgroll_dsl.api.migrations import (
    Formatted,
    compile_file,
    compile_source,
    compile_text,
    convert_sql,
    create_migration,
    directory_latest_migration,
    directory_version_schema,
    duplicate_names,
    emit,
    format_file,
    migration_files,
    migration_name,
    migration_path,
)
from pgroll_dsl.api.results import (
    Backfill,
    Baselined,
    Finished,
    MessageCallback,
    Migrated,
    Pending,
    Progress,
    ProgressCallback,
    Pulled,
    SessionOptions,
    Started,
    Status,
    Syntax,
    Validation,
)
from pgroll_dsl.api.validation import validate, with_row_estimates
from pgroll_dsl.compile import Loaded, Planned
from pgroll_dsl.diagnostics import CompileError, Diagnostic, Severity

__all__ = [
    "Backfill", "Baselined", "CompileError", "Database", "DatabaseUnreachable", "Diagnostic",
    "Finished", "Formatted", "InvalidMigration", "InvalidSavedPlan", "Loaded",
    "MessageCallback", "Migrated", "MigrationRefused", "Migrator", "OpenConnection", "Pending",
    "PgrollDslError", "PhaseIncomplete", "PhaseName", "Planned", "Progress", "ProgressCallback",
    "Pulled",
    "SessionOptions", "Severity", "Started", "StatementCallback", "Status", "Syntax",
    "Validation", "compile_file", "compile_source", "compile_text", "connect", "convert_sql",
    "create_migration", "directory_latest_migration", "directory_version_schema",
    "dump_catalog", "duplicate_names", "emit", "format_file", "latest_version_schema",
    "lint_settings", "load_catalog", "migration_files", "migration_name", "migration_path",
    "plan_migration", "read_saved_plan", "render_plan", "save_plan", "search_path_url",
    "validate", "with_row_estimates",
]
