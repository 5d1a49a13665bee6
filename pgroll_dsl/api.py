"""The library façade: what the CLI and Python users call (no typer, no terminal here)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from pgroll_dsl import ir, render
from pgroll_dsl.catalog.model import Catalog
from pgroll_dsl.compile import Loaded, compile_file, compile_source
from pgroll_dsl.diagnostics import CompileError, Diagnostic
from pgroll_dsl.frontend import DSL_SUFFIX, read_source


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
    """Canonical DSL for a ``.pgroll`` file; raise ``CompileError`` for bad input."""
    if Path(path).suffix != DSL_SUFFIX:
        raise ValueError(f"{path}: fmt formats {DSL_SUFFIX} files; use convert for others")
    text = read_source(path)
    loaded = compile_source(text, str(path))
    return Formatted(str(path), text, emit(loaded.migration, "dsl"))


def convert_sql(text: str, name: str, *, path: str | None = None,
                catalog: Catalog | None = None,
                schema: str = "public") -> tuple[ir.Migration, list[Diagnostic]]:
    """SQL DDL (a file, standard input, ``alembic upgrade --sql``) as one migration.

    ``catalog`` is the schema the script runs on (replayed history, a snapshot), if known:
    more ``up``/``down`` are then inferred. Returns the migration (write it with ``emit``)
    and warnings; raises ``CompileError`` (PGD014) when the SQL does not parse.
    See ``frontend/from_sql.py``.
    """
    from pgroll_dsl.frontend.from_sql import convert_sql as convert

    return convert(text, name, path=path, catalog=catalog, schema=schema)


__all__ = ["CompileError", "Formatted", "Loaded", "compile_file", "compile_source",
           "convert_sql", "emit", "format_file"]
