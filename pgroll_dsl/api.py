"""The library façade: what the CLI and Python users call (no typer, no terminal here)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from pgroll_dsl import ir
from pgroll_dsl.diagnostics import CompileError, Diagnostic, Diagnostics
from pgroll_dsl.frontend import DSL_SUFFIX, parse_source, read_source
from pgroll_dsl.passes import run_checks

Target = Literal["dsl", "json", "yaml"]


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


def emit(migration: ir.Migration, target: Target) -> str:
    """Render a migration in one of the three syntaxes."""
    if target == "dsl":
        from pgroll_dsl.emit.dsl import emit_migration

        return emit_migration(migration)
    from pgroll_dsl.emit.pgroll_json import to_json, to_yaml

    return to_json(migration) if target == "json" else to_yaml(migration)


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


__all__ = ["CompileError", "Formatted", "Loaded", "compile_file", "compile_source", "emit",
           "format_file"]
