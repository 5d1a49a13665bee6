"""The library façade: what the CLI and Python users call (no typer, no terminal here)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from pgroll_dsl import ir
from pgroll_dsl.compile import Loaded, compile_file, compile_source
from pgroll_dsl.diagnostics import CompileError
from pgroll_dsl.frontend import DSL_SUFFIX, read_source

Target = Literal["dsl", "json", "yaml"]


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
