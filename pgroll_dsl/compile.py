"""The compiler driver: which catalog a migration is checked against, then check and plan.

A catalog comes from one of three sources: replay of a history directory (the default is
the migration's own directory: the files before it), a snapshot file, or a live database.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from pgroll_dsl import ir
from pgroll_dsl.catalog.model import Catalog
from pgroll_dsl.catalog.replay import migration_files, replay
from pgroll_dsl.diagnostics import CompileError, Diagnostic, Diagnostics, codes
from pgroll_dsl.frontend import load_migration
from pgroll_dsl.passes import run_checks


@dataclass(frozen=True, slots=True, kw_only=True)
class CatalogSource:
    """Where the schema before a migration comes from (at most one is set)."""

    history: Path | None = None
    snapshot: Path | None = None
    postgres_url: str | None = None
    schema: str = "public"


@dataclass(frozen=True, slots=True)
class Before:
    """The state a migration starts from."""

    catalog: Catalog
    previous_version_schema: str | None
    warnings: tuple[Diagnostic, ...]


def _environment(code: codes.Code, message: str) -> CompileError:
    return CompileError([Diagnostic(code, message, None)])


def history_before(directory: Path, migration: Path | None, base: Catalog | None,
                   schema: str) -> Before:
    """Replay the files of ``directory`` that sort before ``migration`` (all if None)."""
    if not directory.is_dir():
        raise _environment(codes.NOT_A_DIRECTORY, f"{directory} is not a directory")
    files = migration_files(directory)
    if migration is not None:
        files = [f for f in files if f.name.encode() < migration.name.encode()
                 and f.resolve() != migration.resolve()]
    migrations = [check_file(f).migration for f in files]
    replayed = replay(migrations, base)
    warnings = tuple(
        Diagnostic(codes.SQL_NOT_REPLAYED, message, script.span,
                   ("the catalog may lack what this statement does; check the result",),
                   codes.SQL_NOT_REPLAYED.severity)
        for script, message in replayed.warnings
    )
    previous = f"{schema}_{replayed.last_version_schema}" if replayed.last_version_schema \
        else None
    return Before(replayed.catalog, previous, warnings)


def catalog_before(source: CatalogSource, migration: Path | None) -> Before:
    """The catalog (and previous version schema) for ``migration`` from ``source``."""
    if source.snapshot is not None:
        from pgroll_dsl.catalog.snapshot import load_snapshot
        from pgroll_dsl.frontend import read_source

        text = read_source(source.snapshot)
        return Before(load_snapshot(text, str(source.snapshot)), None, ())
    if source.postgres_url is not None:
        return Before(live_catalog(source.postgres_url, source.schema), None, ())
    directory = source.history
    if directory is None and migration is not None:
        directory = migration.parent  # pgroll keeps a project's migrations side by side
    if directory is None:
        return Before(Catalog(), None, ())
    return history_before(directory, migration, None, source.schema)


def live_catalog(url: str, schema: str) -> Catalog:
    """Introspect a live database, read-only; an unreachable one is an environment error."""
    import psycopg

    from pgroll_dsl.catalog.introspect import introspect

    try:
        with psycopg.connect(url, autocommit=True, connect_timeout=10) as conn:
            return introspect(conn, schema)
    except psycopg.Error as err:
        message = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
        raise _environment(codes.CANNOT_CONNECT, f"cannot read the catalog: {message}") from None


@dataclass(frozen=True, slots=True)
class Checked:
    """A migration that passed every check, with the warnings found."""

    migration: ir.Migration
    warnings: tuple[Diagnostic, ...]


def check_file(path: Path) -> Checked:
    """Front end and catalog-free checks of one file."""
    migration = load_migration(path)
    sink = Diagnostics()
    run_checks(migration, sink)
    sink.raise_if_errors()
    return Checked(migration, tuple(sink))


def validate(migration: ir.Migration, before: Before) -> tuple[Diagnostic, ...]:
    """Every rule against the catalog; raise CompileError on errors, return the warnings."""
    from pgroll_dsl.passes.validate_ops import validate_ops

    sink = Diagnostics()
    run_checks(migration, sink)
    if not sink.has_errors:
        validate_ops(migration, before.catalog, sink)
    sink.raise_if_errors()
    return tuple(sink)


