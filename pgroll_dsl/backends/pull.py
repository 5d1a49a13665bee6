"""``pull``: the applied history of a schema, written back to migration files.

pgroll's ``pull`` writes the migrations the database has and the directory has not, each as
it is stored. Here each stored document is read by the pgroll front end and written in the
syntax asked for (the DSL, JSON or YAML, through the render registry), so a pulled directory
is what ``migrate``, ``validate --history`` and replay read. One that the front end refuses
(an operation this version does not know) is written as the JSON it was stored as, with a
note. The history starts at the schema's newest baseline, which is written too: its ``sql``
operation holds the schema a replay starts from (``backends/baseline.py``); pgroll leaves
its placeholder out.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psycopg

from pgroll_dsl import render
from pgroll_dsl.backends.live import first_line
from pgroll_dsl.backends.runner import CommandError, Runner, Unreachable
from pgroll_dsl.diagnostics import CompileError
from pgroll_dsl.frontend import migration_files, migration_name, parse_source, unfit_file_name

_EXTENSIONS = {"dsl": ".pgroll", "json": ".json", "yaml": ".yaml"}


@dataclass(frozen=True, slots=True)
class Pulled:
    """What ``pull`` wrote, and what it wants the user to know."""

    written: tuple[Path, ...]
    notes: tuple[str, ...]


def extension(syntax: str) -> str:
    """The file extension of a migration syntax of ``render.MIGRATION``."""
    return _EXTENSIONS.get(syntax, f".{syntax}")


def pull(runner: Runner, directory: Path, syntax: str, prefixes: bool = False) -> Pulled:
    """Write every applied migration that ``directory`` lacks (by name) in ``syntax``.

    ``prefixes`` (pgroll's ``--with-prefixes``): each file name starts with the migration's
    position in the history (``0001_``), which is then part of the migration's name.
    """
    try:
        if not runner.state.initialized():
            raise CommandError("pgroll is not initialized, run 'pgroll-dsl init' to "
                               "initialize")
        history = runner.state.applied()
    except psycopg.Error as err:
        raise Unreachable(f"cannot read the history: {first_line(err)}") from None
    try:
        return _write(history, directory, syntax, prefixes)
    except OSError as err:  # the files' fault, not the database's (as baseline's)
        raise CommandError(f"cannot write to {directory}: {err.strerror or err}") from None


def _write(history: list[tuple[str, dict[str, Any], str]], directory: Path, syntax: str,
           prefixes: bool) -> Pulled:
    unfit = [problem for name, _, _ in history
             if (problem := unfit_file_name(name)) is not None]
    if unfit:  # before any file: a name from the database must not name a path
        raise CommandError(f"{unfit[0]}; nothing was written")
    directory.mkdir(parents=True, exist_ok=True)
    local = {migration_name(p) for p in migration_files(directory)}
    written: list[Path] = []
    notes: list[str] = []
    for position, (name, document, _kind) in enumerate(history, start=1):
        file_name = f"{position:04d}_{name}" if prefixes else name
        if name in local or file_name in local:
            continue
        text, used = _text(file_name, document, syntax)
        if used != syntax:
            notes.append(f"{name}: written as JSON, as it was stored (it does not read as a "
                         f"migration here, so it cannot be written as {syntax})")
        path = directory / f"{file_name}{extension(used)}"
        path.write_text(text, encoding="utf-8")
        written.append(path)
    return Pulled(tuple(written), tuple(notes))


def _text(name: str, document: dict[str, Any], syntax: str) -> tuple[str, str]:
    """The file's text in ``syntax``, or the stored JSON if the front end refuses it."""
    stored = {k: v for k, v in document.items() if k != "name"}  # pgroll stores the name too
    raw = json.dumps(stored, indent=2) + "\n"
    try:
        migration = parse_source(raw, f"{name}.json", name)
    except CompileError:
        return raw, "json"
    return render.MIGRATION[syntax](migration), syntax


__all__ = ["Pulled", "extension", "pull"]
