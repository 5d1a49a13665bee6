"""The compiler driver: which catalog a migration is checked against, then check and plan.

A catalog comes from one of three sources: replay of a history directory (the default is
the migration's own directory: the files before it), a snapshot file, or a live database.
"""

from __future__ import annotations

from collections.abc import Callable, Collection
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from pgroll_dsl import ir
from pgroll_dsl.catalog.derived import version_schema
from pgroll_dsl.catalog.model import Catalog
from pgroll_dsl.catalog.replay import replay
from pgroll_dsl.diagnostics import CompileError, Diagnostic, Diagnostics, codes
from pgroll_dsl.frontend import (
    duplicate_names,
    load_migration,
    migration_files,
    migration_name,
    parse_source,
    read_source,
)
from pgroll_dsl.passes import run_checks
from pgroll_dsl.passes.check_structure import check_version_schema
from pgroll_dsl.passes.lint_config import LintSettings

if TYPE_CHECKING:
    from pgroll_dsl.plan.model import Plan
    from pgroll_dsl.plan.options import PlanOptions


@dataclass(frozen=True, slots=True)
class Loaded:
    """A migration that passed the front-end checks, with the warnings found on the way."""

    migration: ir.Migration
    warnings: tuple[Diagnostic, ...]


def compile_source(text: str, path: str) -> Loaded:
    """Front end plus catalog-free checks; raise ``CompileError`` on any error."""
    migration = parse_source(text, path)
    sink = Diagnostics()
    run_checks(migration, sink)
    sink.raise_if_errors()
    return Loaded(migration, tuple(sink))


def compile_file(path: str | Path) -> Loaded:
    """Read and check one migration file."""
    return compile_source(read_source(path), str(path))



@dataclass(frozen=True, slots=True, kw_only=True)
class CatalogSource:
    """Where the schema before a migration comes from (at most one is set)."""

    history: Path | None = None
    snapshot: Path | None = None
    postgres_url: str | None = None
    schema: str = "public"
    # Reads a live database (url, schema): given by the caller, since the driver sits below
    # the live layer (``backends.live_catalog.live_before``) and never imports it.
    read_live: Callable[[str, str], Before] | None = None


@dataclass(frozen=True, slots=True)
class Before:
    """The state a migration starts from."""

    catalog: Catalog
    previous_version_schema: str | None
    warnings: tuple[Diagnostic, ...]
    server_version: int | None = None  # of a live catalog: what the plan may use


def _environment(code: codes.Code, message: str) -> CompileError:
    return CompileError([Diagnostic(code, message, None)])


def history_before(directory: Path, migration: Path | None, base: Catalog | None,
                   schema: str) -> Before:
    """Replay the files of ``directory`` that sort before ``migration`` (all if None)."""
    if not directory.is_dir():
        raise _environment(codes.NOT_A_DIRECTORY, f"{directory} is not a directory")
    files = migration_files(directory)
    outside = [migration] if migration is not None and migration.resolve() not in {
        f.resolve() for f in files} else []
    duplicates = duplicate_names([*files, *outside])
    if duplicates:
        raise CompileError(duplicates)
    if migration is not None:
        files = [f for f in files if f.name.encode() < migration.name.encode()
                 and f.resolve() != migration.resolve()]
    migrations = [compile_file(f).migration for f in files]
    replayed = replay(migrations, base)
    warnings = replay_warnings(replayed.warnings)
    last = replayed.last_version_schema
    previous = version_schema(schema, last) if last else None
    return Before(replayed.catalog, previous, warnings)


def replay_warnings(found: tuple[tuple[ir.SqlScript, str], ...] | list[tuple[ir.SqlScript, str]]
                    ) -> tuple[Diagnostic, ...]:
    """What replay could not interpret, as PGD220 warnings at the raw SQL."""
    return tuple(
        Diagnostic(codes.SQL_NOT_REPLAYED, message, script.span,
                   ("the catalog may lack what this statement does; check the result",),
                   codes.SQL_NOT_REPLAYED.severity)
        for script, message in found
    )


def validate_directory(directory: Path, source: CatalogSource, *,
                       applied: Collection[str] = (),
                       on_valid: Callable[[Path, ir.Migration, Catalog], None] | None = None,
                       lint: LintSettings | None = None,
                       ) -> tuple[bool, list[Diagnostic]]:
    """Each migration of ``directory`` against the replay of the ones before it.

    The replay starts from ``source`` (a history directory, a snapshot or a live database),
    or from an empty schema. Returns whether any error was found, and every diagnostic.
    ``applied`` names migrations the live database of ``source`` has applied already: they
    are history, in its catalog, and neither checked nor replayed again. ``on_valid`` is
    told of each migration without errors and the catalog it starts from (``validate
    --format markdown`` plans it there).
    """
    from pgroll_dsl.catalog.replay import apply_migration

    if not directory.is_dir():
        raise _environment(codes.NOT_A_DIRECTORY, f"{directory} is not a directory")
    if source.history is not None:
        base = history_before(source.history, None, None, source.schema)
    elif source.snapshot is not None or source.postgres_url is not None:
        base = catalog_before(source, None)
    else:
        base = Before(Catalog(), None, ())
    catalog, found, failed = base.catalog, list(base.warnings), False
    files = migration_files(directory)
    duplicates = duplicate_names(files)
    if duplicates:  # still replay every file: leaving one out would only add follow-up errors
        failed = True
        found.extend(duplicates)
    for file in files:
        if migration_name(file) in applied:
            continue
        try:
            loaded = compile_file(file)
            migration = loaded.migration
            refuse_long_version_schema(migration, source.schema)
            found.extend([*loaded.warnings, *validate(
                migration, Before(catalog, None, (), base.server_version), lint)])
            if on_valid is not None:
                on_valid(file, migration, catalog)
        except CompileError as err:
            failed = True
            found.extend(err.diagnostics)
            try:
                migration = load_migration(file)
            except CompileError:
                continue
        catalog, warnings = apply_migration(catalog, migration)
        found.extend(replay_warnings(warnings))
    return failed, found


def catalog_before(source: CatalogSource, migration: Path | None) -> Before:
    """The catalog (and previous version schema) for ``migration`` from ``source``."""
    if source.snapshot is not None:
        from pgroll_dsl.frontend import read_source
        from pgroll_dsl.frontend.snapshot import read_snapshot

        snapshot = read_snapshot(read_source(source.snapshot), str(source.snapshot))
        return Before(snapshot.catalog, snapshot.previous_version_schema, ())
    if source.postgres_url is not None:
        if source.read_live is None:
            raise _environment(codes.CANNOT_CONNECT, "no way to read a live database here")
        return source.read_live(source.postgres_url, source.schema)
    directory = source.history
    if directory is None and migration is not None:
        directory = migration.parent  # pgroll keeps a project's migrations side by side
    if directory is None:
        return Before(Catalog(), None, ())
    return history_before(directory, migration, None, source.schema)


def validate_file(path: Path, source: CatalogSource, lint: LintSettings | None = None
                  ) -> tuple[Diagnostic, ...]:
    """One migration file against the catalog ``source`` gives it; the warnings.

    Raises ``CompileError`` with every error (of the file, or of the catalog it starts from).
    The file is read first: a path that names no file is said as such (PGD012), not as an
    error of another file of its directory that the catalog's replay met.
    """
    loaded = compile_file(path)
    refuse_long_version_schema(loaded.migration, source.schema)
    before = catalog_before(source, path)
    return (*loaded.warnings, *before.warnings, *validate(loaded.migration, before, lint))


@dataclass(frozen=True, slots=True)
class Planned:
    """A migration's plan, and the warnings found on the way (front end, catalog, rules)."""

    plan: Plan
    warnings: tuple[Diagnostic, ...]


def plan_file(path: Path, source: CatalogSource, *, batch_size: int | None = None,
              batch_delay: float = 0.0, optimize: bool = True, batch_time_ms: int = 50,
              max_replica_lag_mb: int = 0, lint: LintSettings | None = None,
              record_basis: bool = True) -> Planned:
    """Check one migration file against the catalog ``source`` gives it, and plan it.

    The plan follows the server a live catalog was read from (``PlanOptions.for_server``), as
    the executor's does. ``record_basis``: record what it was made from (``Plan.basis``),
    which only a saved plan needs (a few milliseconds of a cold ``plan`` otherwise). Raises
    ``CompileError`` when the migration or its catalog has errors.
    """
    from pgroll_dsl.plan.options import PlanOptions
    from pgroll_dsl.plan.planner import plan_migration

    checked = compile_file(path)
    refuse_long_version_schema(checked.migration, source.schema)
    before = catalog_before(source, path)
    warnings = validate(checked.migration, before, lint)
    options = PlanOptions.for_server(
        target_server(before, lint), schema=source.schema, batch_size=batch_size,
        batch_delay=batch_delay, previous_version_schema=before.previous_version_schema,
        optimize=optimize, batch_time_ms=batch_time_ms, max_replica_lag_mb=max_replica_lag_mb)
    plan = plan_migration(checked.migration, before.catalog, options)
    if record_basis:
        plan = with_basis(plan, checked.migration, before.catalog, options)
    return Planned(plan, (*checked.warnings, *before.warnings, *warnings))


def refuse_long_version_schema(migration: ir.Migration, schema: str) -> None:
    """Raise ``CompileError`` (PGD105) where the version schema's name would be cut.

    Checked wherever a migration is planned for a target schema (``check_version_schema``).
    """
    sink = Diagnostics()
    check_version_schema(migration, schema, sink)
    sink.raise_if_errors()


def target_server(before: Before, lint: LintSettings | None) -> int | None:
    """The ``server_version_num`` a plan is made for (``None``: the newest it knows).

    The live catalog's server, else the PostgreSQL version the project or the command line
    names (``pg-version``, ``--pg-version``).

    An offline plan for a PostgreSQL 14 server must not use what only 15 has
    (``security_invoker`` views): the reviewed plan is the one that runs.
    """
    if before.server_version is not None:
        return before.server_version
    if lint is None or lint.pg_version is None:
        return None
    return lint.version() * 10000


def with_basis(plan: Plan, migration: ir.Migration, catalog: Catalog,
               options: PlanOptions) -> Plan:
    """``plan`` with what it was made from (``Plan.basis``).

    A saved plan (``plan -o``) runs only where that still holds. The module that makes it is
    loaded here, not by every ``plan`` that only shows the plan.
    """
    from dataclasses import replace

    from pgroll_dsl.render.saved_plan import basis

    return replace(plan, basis=basis(migration, catalog, options))


def validate(migration: ir.Migration, before: Before, lint: LintSettings | None = None
             ) -> tuple[Diagnostic, ...]:
    """Every catalog rule; raise CompileError on errors, return the warnings.

    ``migration`` has passed the catalog-free checks already (``compile_file``, or
    ``compile_source``): they are not run again. ``lint`` chooses the safety rules of raw
    SQL (``[tool.pgroll-dsl]``, ``--pg-version``); their PostgreSQL version is otherwise a
    live catalog's server's.
    """
    from pgroll_dsl.passes.validate_ops import validate_ops

    sink = Diagnostics()
    validate_ops(migration, before.catalog, sink, lint=lint, pg_version=before.server_version)
    sink.raise_if_errors()
    return tuple(sink)




__all__ = ["Before", "CatalogSource", "Loaded", "Planned", "catalog_before", "compile_file",
           "compile_source", "history_before", "plan_file", "replay_warnings", "target_server",
           "validate", "validate_directory", "validate_file", "with_basis"]
