"""The options the commands share, as typer parameter types, and the choices they take.

``root`` is the callback of the app itself: its one option, ``--version``.

The format choices (``--to``, ``--format``) are the names of the render registry
(``pgroll_dsl.render``), so a format added there is offered here with no change to the CLI.
"""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, cast

import typer

from pgroll_dsl import __version__, render
from pgroll_dsl.cli.exit import EXIT_OK


def _show_version(value: bool) -> None:
    if value:
        typer.echo(f"pgroll-dsl {__version__}")
        raise typer.Exit(EXIT_OK)


def root(
    version: Annotated[
        bool, typer.Option("--version", callback=_show_version, is_eager=True,
                           help="Show version.")
    ] = False,
) -> None:
    """Compile, format and convert pgroll migrations."""


def _choices(name: str, names: tuple[str, ...]) -> type[StrEnum]:
    """A choice type for typer whose members are ``names``, each its own value."""
    return cast("type[StrEnum]", StrEnum(name, [(n, n) for n in names]))


if TYPE_CHECKING:  # mypy sees the base class; typer reads the members at run time
    DiagnosticsFormat = StrEnum
    MigrationFormat = StrEnum
    PlanFormat = StrEnum
else:
    DiagnosticsFormat = _choices("DiagnosticsFormat", render.DIAGNOSTICS.names)
    MigrationFormat = _choices("MigrationFormat", render.MIGRATION.names)
    PlanFormat = _choices("PlanFormat", render.PLAN.names)

TEXT = DiagnosticsFormat("text")
JSON = DiagnosticsFormat("json")
SQL = PlanFormat("sql")


class PhaseChoice(StrEnum):
    """Which phases ``plan`` prints."""

    start = "start"
    complete = "complete"
    rollback = "rollback"
    all = "all"


FormatOpt = Annotated[
    DiagnosticsFormat,
    typer.Option("--format", help="Diagnostics as compiler-style text, JSON, SARIF, GitHub "
                 "annotations, GitLab Code Quality or markdown (docs/ci.md)."),
]
OutputOpt = Annotated[Path | None, typer.Option("-o", "--output", help="Write here.")]

# ---- where the catalog comes from (validate, plan) ------------------------------------------

HistoryOpt = Annotated[
    Path | None, typer.Option("--history", help="Replay the migrations of this directory.")
]
SnapshotOpt = Annotated[
    Path | None, typer.Option("--catalog", help="A catalog snapshot (pgroll-dsl catalog dump).")
]
UrlOpt = Annotated[
    str | None,
    typer.Option("--postgres-url", envvar="PGROLL_PG_URL", help="Introspect this database."),
]
SchemaOpt = Annotated[str, typer.Option("--schema", envvar="PGROLL_SCHEMA",
                                        help="The target schema.")]

# ---- the live commands ----------------------------------------------------------------------

DEFAULT_URL = "postgres://postgres:postgres@localhost?sslmode=disable"  # pgroll's default

LiveUrlOpt = Annotated[str, typer.Option("--postgres-url", envvar="PGROLL_PG_URL",
                                         help="The database to migrate.")]
StateOpt = Annotated[str, typer.Option("--pgroll-schema", envvar="PGROLL_STATE_SCHEMA",
                                       help="Schema of the migration history.")]
LockOpt = Annotated[int, typer.Option("--lock-timeout", envvar="PGROLL_LOCK_TIMEOUT", min=0,
                                      help="Milliseconds a statement waits for a lock.")]
WaitOpt = Annotated[float, typer.Option(
    "--lock-wait", envvar="PGROLL_DSL_LOCK_WAIT", min=0.0,
    help="Seconds a step that blocks clients waits for conflicting transactions to end "
         "before it asks for its lock.")]
RoleOpt = Annotated[str | None, typer.Option("--role", envvar="PGROLL_ROLE",
                                             help="SET ROLE for the migration session.")]
BatchOpt = Annotated[int | None, typer.Option(
    "--backfill-batch-size", min=1, show_default=False,
    help="Rows in the first backfill batch, and the fewest in any. Default: as many as fit "
    "--backfill-batch-time by the table's size (1000 without statistics or with a batch "
    "time of 0).")]
DelayOpt = Annotated[float, typer.Option("--backfill-batch-delay", min=0.0,
                                         help="Seconds between backfill batches.")]
BatchTimeOpt = Annotated[int, typer.Option(
    "--backfill-batch-time", min=0, metavar="MS",
    help="Milliseconds a backfill batch aims to take; batches are resized to it, never below "
    "--backfill-batch-size rows (0: a fixed size).")]
WorkersOpt = Annotated[int, typer.Option(
    "--backfill-workers", min=1, help="Connections a keyed backfill is split over.")]
LagOpt = Annotated[int, typer.Option(
    "--backfill-max-replica-lag", min=0, metavar="MB",
    help="Pause the backfill while a streaming replica is more than MB behind (0: never).")]

# ---- pgroll's remaining flags ---------------------------------------------------------------

VerboseOpt = Annotated[bool, typer.Option(
    "--verbose", envvar="PGROLL_VERBOSE",
    help="Print every statement of the plan as it runs, with the time it took (stderr).")]
SkipValidationOpt = Annotated[bool, typer.Option(
    "--skip-validation", "-s", envvar="PGROLL_SKIP_VALIDATION",
    help="Start without checking the migration against the schema (pgroll's flag).")]
VersionSchemaOpt = Annotated[bool, typer.Option(
    "--use-version-schema/--no-use-version-schema", envvar="PGROLL_USE_VERSION_SCHEMA",
    help="Create the migration's version schema of views (pgroll's default: yes).")]
SyntaxOpt = Annotated[MigrationFormat | None, typer.Option(
    "--to", help="Syntax of the files written (default yaml, as pgroll).")]
JsonFlagOpt = Annotated[bool, typer.Option("--json", "-j", help="pgroll's flag: --to json.")]
LocalOpt = Annotated[Path | None, typer.Option(
    "--local", "-l", help="Read a local directory of migrations instead of the database.")]
