"""Migrations in and out: load one from a file or a string, write it in a syntax, format it.

No catalog and no database here: these are the front end's checks (``compile.py``) and the
render registry (``render.MIGRATION``) with the API's exceptions.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from pgroll_dsl import ir, render
from pgroll_dsl.api.errors import InvalidMigration
from pgroll_dsl.api.results import Syntax
from pgroll_dsl.catalog.model import Catalog
from pgroll_dsl.compile import Loaded
from pgroll_dsl.compile import compile_file as _compile_file
from pgroll_dsl.compile import compile_source as _compile_source
from pgroll_dsl.diagnostics import CompileError, Diagnostic
from pgroll_dsl.frontend import DSL_SUFFIX, read_source

_SUFFIX: dict[str, str] = {"dsl": DSL_SUFFIX, "json": ".json", "yaml": ".yaml"}


def compile_file(path: str | Path) -> Loaded:
    """Read and check one migration file (``.pgroll``, ``.json``, ``.yaml``/``.yml``).

    The migration is named after the file, as pgroll names it. Raises ``InvalidMigration``
    with every diagnostic (an unreadable file is one, PGD001).
    """
    try:
        return _compile_file(path)
    except CompileError as err:
        raise InvalidMigration.of(err) from None


def compile_source(text: str, path: str) -> Loaded:
    """Check migration text whose syntax and name ``path``'s extension and stem give.

    ``path`` need not exist: diagnostics point into it. Raises ``InvalidMigration``.
    """
    try:
        return _compile_source(text, path)
    except CompileError as err:
        raise InvalidMigration.of(err) from None


def compile_text(text: str, name: str, syntax: Syntax = "dsl") -> Loaded:
    """Check a migration given as a string: ``syntax`` "dsl", "json" or "yaml".

    ``name`` is the migration's name (a file's stem; it names the version schema);
    diagnostics point at ``<name>.<extension>``. Raises ``InvalidMigration``.
    """
    if syntax not in _SUFFIX:
        raise ValueError(f"unknown syntax {syntax!r}: use one of {', '.join(_SUFFIX)}")
    return compile_source(text, f"{name}{_SUFFIX[syntax]}")


def emit(migration: ir.Migration, target: str) -> str:
    """Render a migration in a syntax of ``render.MIGRATION`` ("dsl", "json", "yaml").

    Raises:
        ValueError: ``target`` is not one of them.
    """
    return render.MIGRATION[target](migration)


@dataclass(frozen=True, slots=True)
class Formatted:
    """The outcome of formatting one DSL file."""

    path: str
    original: str
    formatted: str

    @property
    def changed(self) -> bool:
        """True when the file is not in canonical form."""
        return self.original != self.formatted


def format_file(path: str | Path) -> Formatted:
    """Canonical DSL for a ``.pgroll`` file (the file is not written).

    Raises ``InvalidMigration`` for bad input, ``ValueError`` for a file of another syntax.
    """
    if Path(path).suffix != DSL_SUFFIX:
        raise ValueError(f"{path}: fmt formats {DSL_SUFFIX} files; use convert for others")
    try:
        text = read_source(path)
    except CompileError as err:
        raise InvalidMigration.of(err) from None
    loaded = compile_source(text, str(path))
    return Formatted(str(path), text, emit(loaded.migration, "dsl"))


def convert_sql(text: str, name: str, *, path: str | None = None,
                catalog: Catalog | None = None,
                schema: str = "public") -> tuple[ir.Migration, list[Diagnostic]]:
    """SQL DDL (a file, standard input, ``alembic upgrade --sql``) as one migration.

    ``catalog`` is the schema the script runs on (``api.load_catalog``), if known: more
    ``up``/``down`` are then inferred. Returns the migration (write it with ``emit``) and
    warnings; raises ``InvalidMigration`` (PGD014) when the SQL does not parse.
    See ``frontend/from_sql.py``.
    """
    from pgroll_dsl.frontend.from_sql import convert_sql as convert

    try:
        return convert(text, name, path=path, catalog=catalog, schema=schema)
    except CompileError as err:
        raise InvalidMigration.of(err) from None


def migration_files(directory: str | Path) -> list[Path]:
    """The migration files of ``directory`` in pgroll's order (file names, byte-wise)."""
    from pgroll_dsl.frontend import migration_files as listed

    return listed(Path(directory))


def migration_name(path: str | Path) -> str:
    """The name pgroll knows a migration file by: its base name without the extension."""
    from pgroll_dsl.frontend import migration_name as name

    return name(path)


def duplicate_names(files: Iterable[str | Path]) -> list[Diagnostic]:
    """PGD113 for each file whose migration name an earlier file has (pgroll would refuse)."""
    from pgroll_dsl.frontend import duplicate_names as duplicates

    return duplicates(Path(f) for f in files)


def _last_migration(directory: str | Path) -> tuple[Path, ir.Migration]:
    """The last migration of ``directory``, checked; ``InvalidMigration`` when none loads."""
    from pgroll_dsl.diagnostics import codes

    folder = Path(directory)
    files = migration_files(folder) if folder.is_dir() else []
    if not files:
        raise InvalidMigration([Diagnostic(codes.NOT_A_DIRECTORY,
                                           f"no migration files in {folder}", None)])
    return files[-1], compile_file(files[-1]).migration


def directory_version_schema(directory: str | Path, schema: str = "public") -> str:
    """The version schema the last migration of ``directory`` creates (no database read).

    What an application built with that directory uses once it is migrated: the schema of
    the last file in pgroll's order (its ``version_schema``, else its name). Raises
    ``InvalidMigration`` when the directory has no migration or the last one has errors.
    """
    from pgroll_dsl.catalog.derived import version_schema
    from pgroll_dsl.catalog.replay import version_schema_name

    return version_schema(schema, version_schema_name(_last_migration(directory)[1]))


def directory_latest_migration(directory: str | Path) -> str:
    """The name of the last migration of ``directory`` (``latest migration --local``).

    Raises ``InvalidMigration`` when the directory has no migration or the last one has
    errors (the same checks as ``directory_version_schema``).
    """
    return migration_name(_last_migration(directory)[0])


def migration_path(directory: str | Path, name: str, syntax: Syntax = "yaml") -> Path:
    """Where the migration ``name`` is written in ``directory`` in ``syntax``.

    Raises ``ValueError`` for a name that is no file name (``../x``).
    """
    from pgroll_dsl.frontend import unfit_file_name

    unfit = unfit_file_name(name)
    if unfit is not None:
        raise ValueError(unfit)
    if syntax not in _SUFFIX:
        raise ValueError(f"unknown syntax {syntax!r}: use one of {', '.join(_SUFFIX)}")
    return Path(directory) / f"{name}{_SUFFIX[syntax]}"


def create_migration(directory: str | Path, name: str, syntax: Syntax = "yaml") -> Path:
    """Write a new migration file with no operations (``pgroll-dsl create``); its path.

    A DSL file holds one comment line, where the operations go. The directory is made if
    missing. Raises ``ValueError`` for a name that is no file name, ``FileExistsError`` when
    the file exists, ``OSError`` when it cannot be written.
    """
    import errno

    path = migration_path(directory, name, syntax)
    if path.exists():
        raise FileExistsError(errno.EEXIST, "exists already", str(path))
    text = emit(ir.Migration(name=name, operations=()), syntax)
    if syntax == "dsl":
        text = f"-- {name}: one operation per statement (docs/dsl.md)\n"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


__all__ = ["Formatted", "Loaded", "compile_file", "compile_source", "compile_text",
           "convert_sql", "create_migration", "directory_latest_migration",
           "directory_version_schema", "duplicate_names", "emit", "format_file",
           "migration_files", "migration_name", "migration_path"]
