"""pgroll-dsl: zero-downtime PostgreSQL schema migrations, compatible with pgroll.

The public API (``pgroll_dsl.api``, docs/api.md) is importable from here:
``pgroll_dsl.plan_migration``, ``pgroll_dsl.connect``... Names are resolved on first use, so
that ``import pgroll_dsl`` (and the CLI's start-up) loads neither the compiler nor the
database driver.
"""

from __future__ import annotations

# Not ``typing.TYPE_CHECKING``: importing typing would be the only cost of ``import pgroll_dsl``.
TYPE_CHECKING = False

# The one version source: the build reads it from here (``[tool.hatch.version]``).
__version__ = "0.1.0"

if TYPE_CHECKING:
    from typing import Any

    from pgroll_dsl.api import (
        Backfill,
        Baselined,
        CompileError,
        Database,
        DatabaseUnreachable,
        Diagnostic,
        Finished,
        Formatted,
        InvalidMigration,
        InvalidSavedPlan,
        Loaded,
        MessageCallback,
        Migrated,
        MigrationRefused,
        Migrator,
        OpenConnection,
        Pending,
        PgrollDslError,
        PhaseIncomplete,
        PhaseName,
        Planned,
        Progress,
        ProgressCallback,
        Pulled,
        SessionOptions,
        Severity,
        Started,
        StatementCallback,
        Status,
        Syntax,
        Validation,
        compile_file,
        compile_source,
        compile_text,
        connect,
        convert_sql,
        create_migration,
        directory_latest_migration,
        directory_version_schema,
        dump_catalog,
        duplicate_names,
        emit,
        format_file,
        latest_version_schema,
        lint_settings,
        load_catalog,
        migration_files,
        migration_name,
        migration_path,
        plan_migration,
        read_saved_plan,
        render_plan,
        save_plan,
        search_path_url,
        validate,
        with_row_estimates,
    )


def __getattr__(name: str) -> Any:
    """A public API name, imported on first use (PEP 562)."""
    if name in __all__ and name != "__version__":
        from pgroll_dsl import api

        value = getattr(api, name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'pgroll_dsl' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})


# The API's public names (``pgroll_dsl.api``), each resolved on first use.
__all__ = [
    "Backfill", "Baselined", "CompileError", "Database", "DatabaseUnreachable", "Diagnostic",
    "Finished", "Formatted", "InvalidMigration", "InvalidSavedPlan", "Loaded",
    "MessageCallback", "Migrated", "MigrationRefused", "Migrator", "OpenConnection", "Pending",
    "PgrollDslError", "PhaseIncomplete", "PhaseName", "Planned", "Progress", "ProgressCallback",
    "Pulled", "SessionOptions", "Severity", "Started", "StatementCallback", "Status", "Syntax",
    "Validation", "__version__", "compile_file", "compile_source", "compile_text", "connect",
    "convert_sql", "create_migration", "directory_latest_migration", "directory_version_schema",
    "dump_catalog", "duplicate_names", "emit", "format_file", "latest_version_schema",
    "lint_settings", "load_catalog", "migration_files", "migration_name", "migration_path",
    "plan_migration", "read_saved_plan", "render_plan", "save_plan", "search_path_url",
    "validate", "with_row_estimates",
]
