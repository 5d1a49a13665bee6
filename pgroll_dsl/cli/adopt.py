"""The commands that adopt pgroll-dsl on an existing database: baseline, pull, create, latest.

``baseline`` records the schema as it is as the first migration (its DDL in the file, so
that offline replay starts from it: ``backends/baseline.py``); ``pull`` writes the applied
history to files; ``create`` starts a migration file; ``latest schema|migration|url`` reads
the newest version from the database or from a directory (``--local``). Each parses its
options, calls the API (``pgroll_dsl.api``, imported inside the command) and prints.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, cast

import typer

from pgroll_dsl.cli.exit import live_exit, report, usage_error
from pgroll_dsl.cli.options import (
    DEFAULT_URL,
    TEXT,
    JsonFlagOpt,
    LiveUrlOpt,
    LocalOpt,
    LockOpt,
    RoleOpt,
    SchemaOpt,
    StateOpt,
    SyntaxOpt,
)
from pgroll_dsl.cli.values import LEAN_COMMAND, LEAN_GROUP
from pgroll_dsl.diagnostics import CompileError

if TYPE_CHECKING:
    from pgroll_dsl.api import Migrator, Syntax


def _syntax(to: object | None, use_json: bool) -> Syntax:
    """``--to`` or pgroll's ``--json``; YAML when neither (pgroll's default)."""
    if to is not None and use_json and str(to) != "json":
        usage_error("give --to or --json, not both")
    return cast("Syntax", "json" if use_json else (str(to) if to is not None else "yaml"))


def _directory(path: Path, command: str) -> Path:
    """A directory to write into (made if missing); a file there is a usage error."""
    if path.exists() and not path.is_dir():
        usage_error(f"{path} is a file; {command} writes migration files into a directory")
    return path


def _name_ok(name: str) -> None:
    """A migration name is its file's name: no path in it (exit 2)."""
    from pgroll_dsl.api.migrations import migration_path

    try:
        migration_path(".", name)
    except ValueError as err:
        usage_error(str(err))


def _connect(url: str, schema: str, state: str, lock: int = 500,
             role: str | None = None) -> Migrator:
    from pgroll_dsl import api

    session = api.SessionOptions(schema=schema, state_schema=state, lock_timeout_ms=lock,
                                 role=role)
    try:
        return api.connect(url, session, on_message=lambda m: typer.echo(m, err=True))
    except api.PgrollDslError as err:
        live_exit(err)


def baseline(
    version: Annotated[str, typer.Argument(help="The baseline migration's name.")],
    directory: Annotated[Path, typer.Argument(metavar="DIR",
                                              help="Where to write its migration file.")],
    to: SyntaxOpt = None, use_json: JsonFlagOpt = False,
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Do not ask for confirmation.")
                   ] = False,
    postgres_url: LiveUrlOpt = DEFAULT_URL, schema: SchemaOpt = "public",
    pgroll_schema: StateOpt = "pgroll", lock_timeout: LockOpt = 500, role: RoleOpt = None,
) -> None:
    """Record the existing schema as the first migration; the database is not changed.

    The file written holds the schema's DDL in a `sql` operation, so that validate and plan
    replay it offline; the history gets pgroll's baseline row.
    """
    from pgroll_dsl import api

    syntax = _syntax(to, use_json)
    _directory(directory, "baseline")
    _name_ok(version)
    if not yes and not typer.confirm(
            "Creating a baseline migration restarts the migration history. Continue?"):
        typer.echo("no baseline created", err=True)
        return

    runner = _connect(postgres_url, schema, pgroll_schema, lock_timeout, role)
    try:
        made = runner.baseline(version, directory, syntax)
    except api.PgrollDslError as err:
        live_exit(err)
    finally:
        runner.close()
    if made.left_out:
        typer.echo(f"note: not in the baseline (pgroll-dsl models none of them): "
                   f"{', '.join(made.left_out)}", err=True)
    typer.echo(f'Baseline "{version}" created ({made.tables} tables); its migration is '
               f'{made.path}')


def pull(
    directory: Annotated[Path, typer.Argument(metavar="DIR", help="Where to write the files.")],
    to: SyntaxOpt = None, use_json: JsonFlagOpt = False,
    with_prefixes: Annotated[bool, typer.Option(
        "--with-prefixes", "-p",
        help="Start each file name with its position in the history (0001_).")] = False,
    postgres_url: LiveUrlOpt = DEFAULT_URL, schema: SchemaOpt = "public",
    pgroll_schema: StateOpt = "pgroll", role: RoleOpt = None,
) -> None:
    """Write the applied migrations DIR lacks, from the history (since its baseline)."""
    from pgroll_dsl import api

    syntax = _syntax(to, use_json)
    _directory(directory, "pull")
    runner = _connect(postgres_url, schema, pgroll_schema, role=role)
    try:
        pulled = runner.pull(directory, syntax, prefixes=with_prefixes)
    except api.PgrollDslError as err:
        live_exit(err)
    finally:
        runner.close()
    for note in pulled.notes:
        typer.echo(f"note: {note}", err=True)
    for path in pulled.written:
        typer.echo(str(path))


def create(
    directory: Annotated[Path, typer.Argument(metavar="DIR", help="Where to write the file.")
                         ] = Path(),
    name: Annotated[str | None, typer.Option(
        "--name", "-n", help="The migration's name (asked for on a terminal).")] = None,
    to: SyntaxOpt = None, use_json: JsonFlagOpt = False,
    empty: Annotated[bool, typer.Option(
        "--empty", "-e", help="pgroll's flag; the file is always written empty.")] = False,
) -> None:
    """Start a new migration file: DIR/NAME with no operations, in the syntax asked for."""
    from pgroll_dsl import api

    del empty  # accepted for pgroll's scripts: there is no interactive operation picker
    syntax = _syntax(to, use_json)
    _directory(directory, "create")
    if name is None:
        if not sys.stdin.isatty():
            usage_error("give the migration's name with --name (there is no terminal to ask on)")
        name = typer.prompt("Name of the migration")
    _name_ok(name)
    path = api.migration_path(directory, name, syntax)
    try:
        api.create_migration(directory, name, syntax)
    except FileExistsError:
        usage_error(f"{path} exists already")
    except OSError as err:
        usage_error(f"cannot write {path}: {err.strerror or err}")
    typer.echo(f"Migration written to {path}")


# ---- latest ---------------------------------------------------------------------------------

def _latest_local(directory: Path, schema: str | None) -> str:
    """The last migration of a directory (pgroll's order): its version schema, or its name.

    Its version schema in ``schema``, or with ``schema=None`` its name. Exit 2 if there is
    none, 1 if it has errors.
    """
    from pgroll_dsl import api

    if not directory.is_dir():
        usage_error(f"{directory} is {'a file' if directory.exists() else 'not there'}; "
                    "--local takes a directory of migrations")
    if not api.migration_files(directory):
        usage_error(f"no migration files in {directory}")
    try:
        if schema is None:
            return api.directory_latest_migration(directory)
        return api.directory_version_schema(directory, schema)
    except CompileError as err:
        report(err.diagnostics, TEXT)
        raise typer.Exit(1) from None


def _latest_schema(local: Path | None, url: str, schema: str, state: str,
                   role: str | None) -> str:
    if local is not None:
        return _latest_local(local, schema)
    return _remote(url, schema, state, role, "latest_schema")


def _remote(url: str, schema: str, state: str, role: str | None, what: str) -> str:
    """The database's answer to ``what``: ``latest_schema``, or the latest migration's name."""
    from pgroll_dsl import api

    runner = _connect(url, schema, state, role=role)
    try:
        if what == "latest_schema":
            return runner.latest()
        return runner.latest_migration()
    except api.PgrollDslError as err:
        live_exit(err)
    finally:
        runner.close()


def latest_bare(
    ctx: typer.Context,
    postgres_url: LiveUrlOpt = DEFAULT_URL, schema: SchemaOpt = "public",
    pgroll_schema: StateOpt = "pgroll", role: RoleOpt = None, local: LocalOpt = None,
) -> None:
    """The newest version: `latest schema` (what bare `latest` prints), `migration`, `url`."""
    if ctx.invoked_subcommand is None:
        typer.echo(_latest_schema(local, postgres_url, schema, pgroll_schema, role))


def latest_schema(
    postgres_url: LiveUrlOpt = DEFAULT_URL, schema: SchemaOpt = "public",
    pgroll_schema: StateOpt = "pgroll", role: RoleOpt = None, local: LocalOpt = None,
) -> None:
    """Print the newest version schema: what an application puts in its search_path."""
    typer.echo(_latest_schema(local, postgres_url, schema, pgroll_schema, role))


def latest_migration(
    postgres_url: LiveUrlOpt = DEFAULT_URL, schema: SchemaOpt = "public",
    pgroll_schema: StateOpt = "pgroll", role: RoleOpt = None, local: LocalOpt = None,
) -> None:
    """Print the name of the newest migration."""
    if local is not None:
        typer.echo(_latest_local(local, None))  # the same checks as `latest schema --local`
        return
    typer.echo(_remote(postgres_url, schema, pgroll_schema, role, "latest_migration"))


def latest_url(
    connection: Annotated[str | None, typer.Argument(
        metavar="[CONNECTION]", help="The connection string to extend (default: "
        "--postgres-url).")] = None,
    postgres_url: LiveUrlOpt = DEFAULT_URL, schema: SchemaOpt = "public",
    pgroll_schema: StateOpt = "pgroll", role: RoleOpt = None, local: LocalOpt = None,
) -> None:
    """Print a connection string whose search_path is the newest version schema."""
    from pgroll_dsl import api

    url = connection if connection is not None else postgres_url
    latest = _latest_schema(local, postgres_url, schema, pgroll_schema, role)
    try:
        typer.echo(api.search_path_url(url, latest))
    except ValueError as err:
        usage_error(f"the connection string does not parse: {err}")


def latest_group() -> typer.Typer:
    """``latest`` and its subcommands (bare ``latest`` keeps printing the schema)."""
    group = typer.Typer(cls=LEAN_GROUP, invoke_without_command=True,
                        help="The newest version schema, migration or connection URL.")
    group.callback(invoke_without_command=True)(latest_bare)
    for name, command in (("schema", latest_schema), ("migration", latest_migration),
                          ("url", latest_url)):
        group.command(name, cls=LEAN_COMMAND)(command)
    return group
