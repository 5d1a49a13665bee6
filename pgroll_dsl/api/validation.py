"""``validate``: migrations checked against their catalog, every finding returned as data.

What ``pgroll-dsl validate`` does, without a terminal: several files or directories, each
directory's migrations against the replay of the ones before them; with a live database, the
migrations it has applied already are history and skipped; the safety lints follow the
``[tool.pgroll-dsl]`` table above each path and ``pg_version``. The result is what the
reporters take (``Validation.report()``, ``render.DIAGNOSTICS``).

An environment problem (an unreadable file or pyproject table, an unreachable database,
PGD9xx) stops the check: the result says so (``Validation.stopped``) and holds what was found
up to there, since what follows could not be trusted.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING

from pgroll_dsl import compile as driver
from pgroll_dsl import ir
from pgroll_dsl.api.checks import Migration, catalog_source, lint_settings
from pgroll_dsl.api.database import Database, conninfo
from pgroll_dsl.api.results import Validation
from pgroll_dsl.compile import CatalogSource
from pgroll_dsl.diagnostics import CompileError, Diagnostic, codes
from pgroll_dsl.render.report import MigrationSummary

if TYPE_CHECKING:
    from pgroll_dsl.catalog.model import Catalog
    from pgroll_dsl.passes.lint_config import LintSettings


def all_environment(diagnostics: Sequence[Diagnostic]) -> bool:
    """Every one of ``diagnostics`` is the environment's (PGD012, PGD9xx): exit 2, not 1."""
    return all(d.code.id.startswith("PGD9") or d.code is codes.UNREADABLE_FILE
               for d in diagnostics)


def validate(migration: Migration | Sequence[str | Path], *, history: str | Path | None = None,
             snapshot: str | Path | None = None, postgres_url: Database | None = None,
             schema: str = "public", state_schema: str = "pgroll",
             pg_version: int | None = None, summaries: bool = False) -> Validation:
    """Check migrations against their catalog; every diagnostic as data, none raised.

    ``migration``: a file, a directory of them (each checked against the ones before it), a
    list of files and directories, or a migration object. With ``postgres_url`` the
    migrations that database has applied (its history in ``state_schema``) are skipped.
    ``pg_version`` is the PostgreSQL major version the safety lints assume (over the
    ``pg-version`` of ``[tool.pgroll-dsl]``). ``summaries=True`` also plans each valid
    migration (``Validation.migrations``, with a live database's row estimates): what a
    markdown report shows. Raises ``ValueError`` when more than one catalog source is given.
    """
    url = conninfo(postgres_url) if postgres_url is not None else None
    source = catalog_source(history=history, snapshot=snapshot, postgres_url=url,
                            schema=schema, state_schema=state_schema)
    if isinstance(migration, ir.Migration):
        return _validate_object(migration, source, pg_version)
    paths = ([Path(migration)] if isinstance(migration, str | Path)
             else [Path(p) for p in migration])
    try:
        applied = _applied(url, schema, state_schema)
    except CompileError as err:
        return Validation(tuple(err.diagnostics), stopped=True)
    found: list[Diagnostic] = []
    listed: list[MigrationSummary] = []
    checked = skipped = 0
    for path in paths:
        here = _Checked()
        try:
            _validate_path(path, source, applied, summaries, here,
                           lint_settings(path, pg_version))
        except CompileError as err:
            if all_environment(err.diagnostics):
                return Validation((*found, *here.found, *err.diagnostics), stopped=True)
            here.found.extend(err.diagnostics)
        found.extend(here.found)
        listed.extend(here.summaries)
        checked += here.checked
        skipped += here.skipped
    if summaries and url is not None:
        listed = with_row_estimates(listed, url, schema)
    return Validation(tuple(found), tuple(listed), checked, skipped)


def _validate_object(migration: ir.Migration, source: CatalogSource,
                     pg_version: int | None) -> Validation:
    """A migration object against the catalog ``source`` gives (an empty one by default)."""
    try:
        driver.refuse_long_version_schema(migration, source.schema)
        before = driver.catalog_before(source, None)
        lint = lint_settings(None, pg_version)
        found = (*before.warnings, *driver.validate(migration, before, lint))
    except CompileError as err:
        return Validation(tuple(err.diagnostics), stopped=all_environment(err.diagnostics),
                          checked=1)
    return Validation(tuple(found), checked=1)


@dataclass(slots=True)
class _Checked:
    """What validating one path found (filled in as it goes, so an error keeps the rest)."""

    found: list[Diagnostic] = field(default_factory=list)
    summaries: list[MigrationSummary] = field(default_factory=list)
    checked: int = 0
    skipped: int = 0


def _validate_path(path: Path, source: CatalogSource, applied: Collection[str],
                   summaries: bool, into: _Checked, lint: LintSettings) -> None:
    """A file or a directory; with ``summaries``, each valid migration planned.

    Raises ``CompileError`` for the errors of a single file (or of its catalog).
    """
    from pgroll_dsl.frontend import migration_files, migration_name

    if path.is_dir():
        files = migration_files(path)
        if not files:  # (a CI job pointed at the wrong directory passed, silently)
            into.found.append(Diagnostic(codes.NO_MIGRATION_FILES,
                                         f"no migration files in {path}", None,
                                         severity=codes.NO_MIGRATION_FILES.severity))
            return
        into.skipped = sum(1 for f in files if migration_name(f) in applied)
        into.checked = len(files) - into.skipped
        planned: dict[str, MigrationSummary] = {}
        try:
            _failed, found = driver.validate_directory(
                path, source, applied=applied,
                on_valid=_planner(source.schema, planned) if summaries else None, lint=lint)
            into.found.extend(found)
        finally:
            into.summaries = [planned.get(str(f), MigrationSummary(
                path=str(f), name=migration_name(f)))
                for f in files if migration_name(f) not in applied]
        return
    if migration_name(path) in applied:
        into.skipped = 1
        return
    into.checked = 1
    into.summaries = [MigrationSummary(path=str(path), name=migration_name(path))]
    if summaries:
        planned_file = driver.plan_file(path, source, lint=lint)
        into.found.extend(planned_file.warnings)
        into.summaries = [replace(into.summaries[0], plan=planned_file.plan)]
    else:
        into.found.extend(driver.validate_file(path, source, lint))


def _applied(url: str | None, schema: str, state_schema: str) -> frozenset[str]:
    """The migrations a live database has applied (none without one): history, not checked."""
    if url is None:
        return frozenset()
    from pgroll_dsl.backends.applied import applied_migrations

    return applied_migrations(url, schema, state_schema)


def _planner(schema: str, planned: dict[str, MigrationSummary]
             ) -> Callable[[Path, ir.Migration, Catalog], None]:
    """Plans each valid migration of a directory (for the summaries) into ``planned``."""
    from pgroll_dsl.frontend import migration_name
    from pgroll_dsl.plan.options import PlanOptions
    from pgroll_dsl.plan.planner import plan_migration

    def plan_one(file: Path, migration: ir.Migration, catalog: Catalog) -> None:
        plan = plan_migration(migration, catalog, PlanOptions.for_server(None, schema=schema))
        planned[str(file)] = MigrationSummary(path=str(file), name=migration_name(file),
                                              plan=plan)

    return plan_one


def with_row_estimates(summaries: Sequence[MigrationSummary], database: Database,
                       schema: str = "public") -> list[MigrationSummary]:
    """The summaries with a live database's row estimates of the tables their plans backfill.

    A database that cannot be read for them leaves the estimates unknown: a report is still
    worth having.
    """
    from pgroll_dsl.backends.statistics import row_estimates
    from pgroll_dsl.plan.model import StepKind

    tables = {table for summary in summaries if summary.plan is not None
              for step in summary.plan.start if step.kind is StepKind.BACKFILL
              for table in step.tables}
    try:
        estimates = row_estimates(conninfo(database), schema, tables)
    except CompileError:
        return list(summaries)
    return [replace(summary, row_estimates=estimates) for summary in summaries]


__all__ = ["all_environment", "validate", "with_row_estimates"]
