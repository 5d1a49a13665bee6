"""Every output format, and the registry the CLI's ``--to``/``--format`` choices come from.

What pgroll-dsl writes, by kind: a migration (``convert --to``, ``fmt``, ``api.emit``), a plan
(``plan --format``), diagnostics (``--format`` of every command, ``--report-format`` of
``plan``: text, JSON, SARIF, GitHub workflow commands, GitLab Code Quality, a markdown PR
comment) and a catalog snapshot (``catalog dump``). Each kind has one ``Formats`` table
here, name -> renderer, in the order ``--help`` lists the choices. A new format is a renderer
module in this package and one entry in its table: the CLI offers it and the API accepts it
from there.

The entries import their module on first use, so a command only loads what it prints with
(``plan`` never loads PyYAML, ``validate`` loads no plan renderer).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Generic, TypeVar

if TYPE_CHECKING:
    from pgroll_dsl import ir
    from pgroll_dsl.catalog.model import Catalog
    from pgroll_dsl.plan.model import Phase, Plan
    from pgroll_dsl.render.report import Report

    MigrationRenderer = Callable[[ir.Migration], str]
    # The plan, the phases to print, and the lock_timeout (ms) the file sets.
    PlanRenderer = Callable[[Plan, tuple[Phase, ...], int], str]
    # The report, and the source text of a path (for the excerpt under a diagnostic).
    SourceLookup = Callable[[str], str | None]
    DiagnosticsRenderer = Callable[[Report, SourceLookup], str]
    CatalogRenderer = Callable[[Catalog, str | None], str]

R = TypeVar("R")


class Formats(Generic[R]):
    """The formats of one kind of output: name -> renderer, in the order help lists them."""

    def __init__(self, what: str, renderers: dict[str, R]) -> None:
        self.what = what
        self._renderers = renderers

    @property
    def names(self) -> tuple[str, ...]:
        """The format names, as ``--to``/``--format`` accept them."""
        return tuple(self._renderers)

    def __getitem__(self, name: str) -> R:
        try:
            return self._renderers[name]
        except KeyError:
            raise ValueError(f"unknown {self.what} format {name!r}: use one of "
                             f"{', '.join(self.names)}") from None


# ---- migrations --------------------------------------------------------------------------

def _migration_dsl(migration: ir.Migration) -> str:
    from pgroll_dsl.render.dsl import emit_migration

    return emit_migration(migration)


def _migration_json(migration: ir.Migration) -> str:
    from pgroll_dsl.render.pgroll_json import to_json

    return to_json(migration)


def _migration_yaml(migration: ir.Migration) -> str:
    from pgroll_dsl.render.pgroll_json import to_yaml

    return to_yaml(migration)


MIGRATION: Formats[MigrationRenderer] = Formats("migration", {
    "dsl": _migration_dsl, "json": _migration_json, "yaml": _migration_yaml,
})


# ---- plans -------------------------------------------------------------------------------

def _plan_sql(plan: Plan, phases: tuple[Phase, ...], lock_timeout_ms: int) -> str:
    from pgroll_dsl.render.plan_sql import render_plan

    return render_plan(plan, phases, lock_timeout_ms)


def _plan_json(plan: Plan, phases: tuple[Phase, ...], lock_timeout_ms: int) -> str:
    """The whole plan: tools filter phases themselves, and read no lock_timeout."""
    from pgroll_dsl.render.plan_json import plan_json

    return plan_json(plan)


PLAN: Formats[PlanRenderer] = Formats("plan", {"sql": _plan_sql, "json": _plan_json})


# ---- diagnostics -------------------------------------------------------------------------
# Every format takes a ``Report`` (render/report.py): the findings, and for validate and plan
# what they checked and planned (the markdown comment summarises the plans).

def _diagnostics_text(report: Report, source: SourceLookup) -> str:
    from pgroll_dsl.render.diagnostics import render_text

    return render_text(report.diagnostics, source)


def _diagnostics_json(report: Report, source: SourceLookup) -> str:
    from pgroll_dsl.render.diagnostics import render_json

    return render_json(report.diagnostics)


def _diagnostics_sarif(report: Report, source: SourceLookup) -> str:
    from pgroll_dsl.render.sarif import render_sarif

    return render_sarif(report)


def _diagnostics_github(report: Report, source: SourceLookup) -> str:
    from pgroll_dsl.render.ci_annotations import render_github

    return render_github(report)


def _diagnostics_gitlab(report: Report, source: SourceLookup) -> str:
    from pgroll_dsl.render.ci_annotations import render_gitlab

    return render_gitlab(report)


def _diagnostics_markdown(report: Report, source: SourceLookup) -> str:
    from pgroll_dsl.render.markdown import render_markdown

    return render_markdown(report)


DIAGNOSTICS: Formats[DiagnosticsRenderer] = Formats("diagnostics", {
    "text": _diagnostics_text, "json": _diagnostics_json, "sarif": _diagnostics_sarif,
    "github": _diagnostics_github, "gitlab": _diagnostics_gitlab,
    "markdown": _diagnostics_markdown,
})

# The formats whose output is a document a program parses: nothing else may be mixed in (the
# CLI's summary line goes elsewhere or is left out).
DOCUMENT_FORMATS = frozenset({"json", "sarif", "gitlab"})


# ---- catalog snapshots -------------------------------------------------------------------

def _catalog_json(catalog: Catalog, previous_version_schema: str | None = None) -> str:
    from pgroll_dsl.render.snapshot import dump_snapshot

    return dump_snapshot(catalog, previous_version_schema)


CATALOG: Formats[CatalogRenderer] = Formats("catalog", {"json": _catalog_json})


__all__ = ["CATALOG", "DIAGNOSTICS", "DOCUMENT_FORMATS", "MIGRATION", "PLAN", "Formats"]
