"""Replay: the catalog a directory of earlier migrations produces, with no database.

Files are taken in pgroll's ``migrate`` order: every ``.json``, ``.yaml``, ``.yml`` (and our
``.pgroll``) file of the directory, not recursive, sorted by file name. Each migration is
started and completed on the model; raw ``sql`` operations are interpreted by parsing their
DDL, and whatever replay cannot interpret is reported, never silently skipped.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from pgroll_dsl import ir
from pgroll_dsl.catalog.apply import apply_operation
from pgroll_dsl.catalog.model import Catalog


@dataclass(frozen=True, slots=True)
class Replayed:
    """The catalog after the history, and what replay could not interpret."""

    catalog: Catalog
    warnings: tuple[tuple[ir.SqlScript, str], ...]
    last_version_schema: str | None


def version_schema_name(migration: ir.Migration) -> str:
    """The suffix of the migration's version schema (``version_schema`` or the name)."""
    return migration.version_schema or migration.name


def apply_migration(catalog: Catalog, migration: ir.Migration
                    ) -> tuple[Catalog, list[tuple[ir.SqlScript, str]]]:
    """Start and complete one migration on the model."""
    from pgroll_dsl.catalog.sql_ddl import apply_sql

    warnings: list[tuple[ir.SqlScript, str]] = []
    deferred: list[ir.SqlScript] = []
    for op in migration.operations:
        catalog = apply_operation(catalog, op)
        if isinstance(op, ir.Sql):
            if op.on_complete:
                deferred.append(op.up)
                continue
            catalog, found = apply_sql(catalog, op.up.text)
            warnings.extend((op.up, w) for w in found)
    catalog = catalog.completed()
    for script in deferred:
        catalog, found = apply_sql(catalog, script.text)
        warnings.extend((script, w) for w in found)
    return catalog, warnings


def replay(migrations: list[ir.Migration], base: Catalog | None = None) -> Replayed:
    """Fold migrations over ``base`` (an empty schema by default)."""
    catalog = base or Catalog()
    warnings: list[tuple[ir.SqlScript, str]] = []
    last: str | None = None
    for migration in migrations:
        catalog, found = apply_migration(catalog, migration)
        warnings.extend(found)
        last = version_schema_name(migration)
    source = f"replay of {len(migrations)} migration{'s' if len(migrations) != 1 else ''}"
    return Replayed(replace(catalog, source=source), tuple(warnings), last)
