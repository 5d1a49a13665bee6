"""``pgroll-dsl try``: migrations run on a throwaway PostgreSQL, with both versions at work.

For each migration: start it, write a row through the old version and one through the new
(``api/demo.py`` seeds an empty table first and reads the rows back through both
versions), print the changed columns side by side, complete. This module parses the options
and prints; the server and the rows are the API's.
"""

from __future__ import annotations

import textwrap
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from pgroll_dsl.cli.exit import EXIT_DIAGNOSTICS, EXIT_USAGE, live_exit, report, usage_error
from pgroll_dsl.cli.options import TEXT, SchemaOpt
from pgroll_dsl.cli.progress import BackfillProgress
from pgroll_dsl.diagnostics import CompileError

if TYPE_CHECKING:
    from pgroll_dsl import ir
    from pgroll_dsl.api import Migrator, Started
    from pgroll_dsl.api.demo import Shown


def _files(path: Path) -> tuple[list[Path], list[Path]]:
    """(the migrations to apply first, the migrations to show) for a directory or a file.

    A file is shown after the files that sort before it in its directory are applied, so that
    it runs on the schema it was written against.
    """
    from pgroll_dsl.api import duplicate_names, migration_files

    if path.is_dir():
        earlier, shown = [], migration_files(path)
    elif path.is_file():
        siblings = migration_files(path.parent)
        resolved = path.resolve()
        position = next((i for i, p in enumerate(siblings) if p.resolve() == resolved), None)
        earlier = siblings[:position] if position is not None else []
        shown = [path]
    else:
        shown = earlier = []
    if not shown:
        usage_error(f"no migration files in {path}")
    found = duplicate_names([*earlier, *shown])
    if found:
        report(found, TEXT)
        raise typer.Exit(EXIT_DIAGNOSTICS)
    return earlier, shown


def try_(
    path: Annotated[Path, typer.Argument(
        metavar="DIR|FILE", help="Migrations to run, in file-name order; or one file (after "
                                   "the files before it in its directory).")] = Path("examples"),
    schema: SchemaOpt = "public",
    keep: Annotated[bool, typer.Option(
        "--keep", help="Leave the server running afterwards and print its URL.")] = False,
) -> None:
    """Run migrations on a throwaway embedded PostgreSQL and show both versions at work.

    For each migration: start it, write a row through the old version and one
    through the new, show what each version reads, complete it. The server lives
    in a temporary directory and is gone when the command ends (unless --keep).
    Against a real server, use `migrate` with --postgres-url.
    """
    from pgroll_dsl import api
    from pgroll_dsl.api.demo import EmbeddedServer, EmbeddedUnavailable, psql_path

    earlier, shown = _files(path)
    try:
        server = EmbeddedServer()
        server.start()
    except EmbeddedUnavailable as err:
        typer.echo(f"error: cannot start the embedded PostgreSQL: {err}", err=True)
        raise typer.Exit(EXIT_USAGE) from None
    try:
        typer.echo(f"throwaway PostgreSQL at {server.dsn}")
        progress = BackfillProgress()
        try:
            runner = api.connect(server.dsn, api.SessionOptions(schema=schema),
                                 on_progress=progress, on_message=_say)
        except api.PgrollDslError as err:
            live_exit(err)
        try:
            runner.init()
            for file in earlier:
                _start(runner, progress, _compile(file))
                runner.complete()
            if earlier:
                typer.echo(f"applied first: {', '.join(p.stem for p in earlier)}")
            for file in shown:
                _try_one(runner, progress, file)
        except api.PgrollDslError as err:
            progress.stop()
            live_exit(err)
        finally:
            runner.close()
        if keep:
            url, psql = server.dsn, psql_path()
            stop = server.detach()
            typer.echo(f"\nthe server keeps running at {url}\n  look around: {psql or 'psql'} "
                       f"{url}\n  stop it:     {stop}")
    finally:
        server.stop()
    if not keep:
        typer.echo("\ndone: the server is gone; nothing was left behind")


def _say(message: str) -> None:
    typer.echo(message, err=True)


def _compile(path: Path) -> ir.Migration:
    """The migration of ``path``; its diagnostics end the command (exit 1)."""
    from pgroll_dsl import api

    try:
        loaded = api.compile_file(path)
    except CompileError as err:
        report(err.diagnostics, TEXT)
        raise typer.Exit(EXIT_DIAGNOSTICS) from None
    report(loaded.warnings, TEXT)
    return loaded.migration


def _try_one(runner: Migrator, progress: BackfillProgress, path: Path) -> None:
    """Start one migration, write and read rows through both versions, complete it."""
    from pgroll_dsl.api import demo

    migration = _compile(path)
    old = runner.current_version_schema()
    summary = f"{migration.name}: {'; '.join(describe(op) for op in migration.operations)}"
    typer.echo("\n" + "\n".join(textwrap.wrap(summary, 92, subsequent_indent="    ")))
    prepared = demo.prepare(runner, migration, old)
    new = _start(runner, progress, migration).version_schema
    typer.echo(f"  started: old version {old or '(none)'}, new version {new}")
    for problem in prepared.problems:
        typer.echo(f"  {problem}")
    shown = demo.during(runner, prepared, old, new) if old else ()
    for table in shown:
        _print_table(table)
    _print_changes(runner, old, new, {name for t in shown for name in (t.table, t.old_table)})
    runner.complete()
    typer.echo(f"  completed: only {new} remains" if old
               else f"  completed: {new} is the only version")


def _start(runner: Migrator, progress: BackfillProgress, migration: ir.Migration) -> Started:
    """Start ``migration``; a diagnostic found against the live schema ends the command."""
    try:
        return runner.start(migration)
    except CompileError as err:
        report(err.diagnostics, TEXT)
        raise typer.Exit(EXIT_DIAGNOSTICS) from None
    finally:
        progress.stop()


def describe(op: ir.Operation) -> str:
    """A few words for one operation: its kind and what it works on."""
    from pgroll_dsl import ir

    words = op.kind.replace("_", " ")
    match op:
        case ir.CreateTable() | ir.DropTable():
            return f"{words} {op.name.name}"
        case ir.RenameTable():
            return f"{words} {op.from_.name} to {op.to.name}"
        case ir.AddColumn():
            return f"{words} {op.table.name}.{op.column.name.name}"
        case ir.DropColumn() | ir.AlterColumn():
            return f"{words} {op.table.name}.{op.column.name}"
        case ir.RenameColumn():
            return f"{words} {op.table.name}.{op.from_.name} to {op.to.name}"
        case ir.CreateIndex():
            return f"{words} {op.name.name} on {op.table.name}"
        case ir.DropIndex():
            return f"{words} {op.name.name}"
        case (ir.CreateConstraint() | ir.DropConstraint() | ir.DropMulticolumnConstraint()
              | ir.RenameConstraint() | ir.SetReplicaIdentity()):
            return f"{words} on {op.table.name}"
        case _:
            return words


def _print_table(shown: Shown) -> None:
    """What each version reads, row by row, and what start built underneath."""
    from pgroll_dsl.api.demo import SEED_ROWS

    if shown.table != shown.old_table:
        typer.echo(f"  {shown.table}: {shown.old_table} in the old version")
    if shown.seeded:
        typer.echo(f"  {shown.table}: was empty; {SEED_ROWS} rows seeded through the old version")
    copies, triggers = ", ".join(shown.copies), shown.triggers
    synced = f"{triggers} sync trigger{'' if triggers == 1 else 's'}"
    keeps = "keeps" if triggers == 1 else "keep"
    if shown.copies:
        typer.echo(f"  {shown.table}: the new version reads {copies} (added by start):")
    if shown.copies and triggers:
        them = "it" if len(shown.copies) == 1 else "them"
        typer.echo(f"    backfilled for rows written before start, {synced} {keeps} {them} "
                   "in step since")
    elif shown.copies:
        typer.echo("    no sync trigger: rows the old version writes get the default (or NULL)")
    else:
        typer.echo(f"  {shown.table}: no copy: each version's view reads the same columns "
                   "under its own names")
        if triggers:
            typer.echo(f"    and {synced} {'fills' if triggers == 1 else 'fill'} the old "
                       "version's columns in rows the new version writes")
    for problem in shown.problems:
        typer.echo(f"  {shown.table}: {problem}")
    if not shown.rows:
        return
    grid = [("written by", *shown.headers), *((row.who, *row.cells) for row in shown.rows)]
    widths = [max(len(line[i]) for line in grid) for i in range(len(grid[0]))]
    for line in grid:
        typer.echo("    " + "  ".join(c.ljust(w) for c, w in zip(line, widths, strict=True))
                   .rstrip())


def _print_changes(runner: Migrator, old: str | None, new: str, shown: set[str]) -> None:
    """Tables the rows above leave out: what the new version shows differently, briefly."""
    from pgroll_dsl.api.demo import version_tables

    before = version_tables(runner, old) if old is not None else {}
    after = version_tables(runner, new)
    changes = [f"+ {t}({c})" for t, c in after.items() if t not in before and t not in shown]
    changes += [f"~ {t}({c})" for t, c in after.items()  # complete may reorder the columns
                if t in before and set(before[t].split(", ")) != set(c.split(", "))
                and t not in shown]
    changes += [f"- {t}" for t in before if t not in after and t not in shown]
    if changes:
        typer.echo(f"  the new version shows: {'; '.join(changes)}")
    elif not shown:
        typer.echo("  no change to the tables and columns either version shows (see "
                   "`pgroll-dsl plan`)")
