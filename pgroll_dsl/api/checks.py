"""Migrations against a catalog: validate, plan, render or save a plan, dump a catalog.

The catalog a migration is checked against comes from one of three places, as the CLI's
``--history``, ``--catalog`` and ``--postgres-url`` give it: the replay of a directory of
migrations, a snapshot file (``dump_catalog``), or a live database (read-only). With none,
a migration file is checked against the files before it in its own directory, and a
migration object against an empty schema.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from pgroll_dsl import compile as driver
from pgroll_dsl import ir, render
from pgroll_dsl.api.database import Database, conninfo
from pgroll_dsl.api.errors import InvalidMigration, InvalidSavedPlan
from pgroll_dsl.api.results import Backfill
from pgroll_dsl.catalog.model import Catalog
from pgroll_dsl.compile import CatalogSource, Planned
from pgroll_dsl.diagnostics import CompileError

if TYPE_CHECKING:  # the planner's model is loaded by the functions that plan, not on import
    from pgroll_dsl.passes.lint_config import LintSettings
    from pgroll_dsl.plan.model import Plan
    from pgroll_dsl.render.saved_plan import SavedPlan

PhaseName = Literal["start", "complete", "rollback"]
Migration = str | Path | ir.Migration  # a file, or a migration loaded already


def catalog_source(*, history: str | Path | None = None, snapshot: str | Path | None = None,
                   postgres_url: Database | None = None, schema: str = "public",
                   state_schema: str = "pgroll") -> CatalogSource:
    """Where the schema before a migration comes from: at most one of the three.

    A live database's catalog is read with its latest version schema from the migration
    history in ``state_schema``. Raises ``ValueError`` when more than one is given.
    """
    if sum(x is not None for x in (history, snapshot, postgres_url)) > 1:
        raise ValueError("give at most one of history, snapshot, postgres_url")
    read_live = None
    if postgres_url is not None:  # only then: the others never load the database driver
        from functools import partial

        from pgroll_dsl.backends.live_catalog import live_before

        read_live = partial(live_before, state_schema=state_schema)
    return CatalogSource(
        history=Path(history) if history is not None else None,
        snapshot=Path(snapshot) if snapshot is not None else None,
        postgres_url=conninfo(postgres_url) if postgres_url is not None else None,
        schema=schema, read_live=read_live)


def lint_settings(path: str | Path | None, pg_version: int | None = None) -> LintSettings:
    """The safety lints' settings for migrations at ``path``, and ``pg_version`` over them.

    ``[tool.pgroll-dsl]`` comes from the nearest ``pyproject.toml`` above ``path`` that has
    one, else above the working directory (``passes/lint_config.py``; ``path=None``: the
    working directory's); ``pg_version`` wins over its ``pg-version``. Raises
    ``InvalidMigration`` (PGD903, an environment problem) when the table is invalid.
    """
    from pgroll_dsl.api.errors import InvalidMigration
    from pgroll_dsl.passes.lint_config import load_settings

    try:
        return load_settings(Path(path) if path is not None else Path.cwd()
                             ).with_version(pg_version)
    except CompileError as err:
        raise InvalidMigration.of(err) from None


def load_catalog(*, history: str | Path | None = None, snapshot: str | Path | None = None,
                 postgres_url: Database | None = None, schema: str = "public") -> Catalog:
    """The schema from a history directory, a snapshot file or a live database (one of them).

    Raises ``InvalidMigration`` when it cannot be read (a history with errors, PGD901...).
    """
    source = catalog_source(history=history, snapshot=snapshot, postgres_url=postgres_url,
                            schema=schema)
    try:
        return driver.catalog_before(source, None).catalog
    except CompileError as err:
        raise InvalidMigration.of(err) from None


def dump_catalog(postgres_url: Database, schema: str = "public") -> str:
    """A snapshot of a live schema (JSON), for ``snapshot=`` here or ``--catalog``.

    It names the version schema of the database's latest migration too: a plan made from it
    is then the plan made against the database.
    """
    source = catalog_source(postgres_url=postgres_url, schema=schema)
    try:
        before = driver.catalog_before(source, None)
    except CompileError as err:
        raise InvalidMigration.of(err) from None
    return render.CATALOG["json"](before.catalog, before.previous_version_schema)


def plan_migration(migration: Migration, *, history: str | Path | None = None,
                   snapshot: str | Path | None = None, postgres_url: Database | None = None,
                   schema: str = "public", state_schema: str = "pgroll",
                   backfill: Backfill | None = None, optimize: bool = True,
                   pg_version: int | None = None, record_basis: bool = True) -> Planned:
    """Check a migration against its catalog and plan it: ``Planned.plan`` and the warnings.

    With ``postgres_url`` the plan follows that server's version, exactly as the executor's
    plan there would; without, the version ``pg_version`` or ``[tool.pgroll-dsl]`` names
    (PostgreSQL 14: views without ``security_invoker``). The safety lints follow
    ``[tool.pgroll-dsl]`` above the file (a migration object: above the working directory)
    and ``pg_version`` over it, as ``validate``'s. Raises ``InvalidMigration`` when the
    migration or its catalog has errors, or the ``[tool.pgroll-dsl]`` table is invalid
    (PGD903, an environment problem).
    ``record_basis=False`` leaves out what ``save_plan`` needs (``Plan.basis``): a little
    faster where the plan is only shown.
    """
    backfill = backfill or Backfill()
    source = catalog_source(history=history, snapshot=snapshot, postgres_url=postgres_url,
                            schema=schema, state_schema=state_schema)
    settings = {"batch_size": backfill.batch_size, "batch_delay": backfill.batch_delay_s,
                "optimize": optimize, "batch_time_ms": backfill.batch_time_ms,
                "max_replica_lag_mb": backfill.max_replica_lag_mb}
    try:
        if not isinstance(migration, ir.Migration):
            return driver.plan_file(Path(migration), source, batch_size=backfill.batch_size,
                                    batch_delay=backfill.batch_delay_s, optimize=optimize,
                                    batch_time_ms=backfill.batch_time_ms,
                                    max_replica_lag_mb=backfill.max_replica_lag_mb,
                                    lint=lint_settings(migration, pg_version),
                                    record_basis=record_basis)
        from pgroll_dsl.plan.options import PlanOptions
        from pgroll_dsl.plan.planner import plan_migration as planner
        driver.refuse_long_version_schema(migration, schema)
        before = driver.catalog_before(source, None)
        lint = lint_settings(None, pg_version)
        warnings = driver.validate(migration, before, lint)
        options = PlanOptions.for_server(
            driver.target_server(before, lint), schema=schema,
            previous_version_schema=before.previous_version_schema, **settings)
        plan = planner(migration, before.catalog, options)
        if record_basis:
            plan = driver.with_basis(plan, migration, before.catalog, options)
        return Planned(plan, (*before.warnings, *warnings))
    except CompileError as err:
        raise InvalidMigration.of(err) from None


def render_plan(plan: Plan, fmt: Literal["sql", "json"] = "sql", *,
                phases: Iterable[PhaseName] | None = None, lock_timeout_ms: int = 500) -> str:
    """A plan as the reviewable SQL file (``fmt="sql"``) or as JSON for tools.

    ``phases``: which of start, complete and rollback the SQL shows (all by default; JSON
    always holds the whole plan); ``lock_timeout_ms``: what the SQL file sets.
    """
    from pgroll_dsl.plan.model import Phase

    chosen = tuple(Phase) if phases is None else tuple(Phase(p) for p in phases)
    return render.PLAN[fmt](plan, chosen, lock_timeout_ms)


def save_plan(plan: Plan, fmt: Literal["sql", "json"] = "sql", *,
              phases: Iterable[PhaseName] | None = None, lock_timeout_ms: int = 500) -> str:
    """A plan as a saved plan file (``plan -o``): what a reviewer approves, then runs.

    The file carries fingerprints of the schema and the migration it was planned from;
    ``Migrator.start(saved=read_saved_plan(...))`` runs exactly its steps, and only on a
    database that still matches.
    """
    from pgroll_dsl.plan.model import Phase
    from pgroll_dsl.render.saved_plan import save

    chosen = tuple(Phase) if phases is None else tuple(Phase(p) for p in phases)
    return save(plan, fmt, chosen, lock_timeout_ms)


def read_saved_plan(path: str | Path) -> SavedPlan:
    """A saved plan file read back and checked for edits.

    Raises ``InvalidMigration`` when it cannot be read, ``InvalidSavedPlan`` when it is not a
    saved plan or was changed since it was written.
    """
    from pgroll_dsl.frontend import read_source
    from pgroll_dsl.render.saved_plan import SavedPlanError, read_saved

    try:
        text = read_source(path)
    except CompileError as err:
        raise InvalidMigration.of(err) from None
    try:
        return read_saved(text, str(path))
    except SavedPlanError as err:
        raise InvalidSavedPlan(str(err)) from None


__all__ = ["Migration", "PhaseName", "catalog_source", "dump_catalog", "lint_settings",
           "load_catalog", "plan_migration", "read_saved_plan", "render_plan", "save_plan"]
