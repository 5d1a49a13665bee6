"""Front ends: a migration file in any supported syntax -> ``ir.Migration``.

The syntax is chosen by extension (``.pgroll`` DSL, ``.json``, ``.yaml``/``.yml``); the
migration name is the file name without its final extension, as in pgroll.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from pgroll_dsl import ir
from pgroll_dsl.diagnostics import CompileError, Diagnostic, codes
from pgroll_dsl.source import Span

DSL_SUFFIX = ".pgroll"
SUFFIXES = (DSL_SUFFIX, ".json", ".yaml", ".yml")


def migration_name(path: str | Path) -> str:
    """Pgroll's rule: the base name with the final extension removed."""
    return Path(path).name.rsplit(".", 1)[0]


def unfit_file_name(name: str) -> str | None:
    """Why a migration name cannot be its file's name (it would name a path), or None.

    For names that come from the user (``create``, ``baseline``) and from a database's
    history (``pull``): ``../x`` would be written outside the directory.
    """
    if not name or "/" in name or "\\" in name or name in (".", "..") or "\0" in name:
        return f"{name!r} cannot be a migration name: it becomes the file name"
    return None


def migration_files(directory: Path) -> list[Path]:
    """Pgroll's order: by file name, byte-wise, extension included."""
    files = [p for p in directory.iterdir() if p.is_file() and p.suffix in SUFFIXES]
    return sorted(files, key=lambda p: p.name.encode("utf-8"))


def duplicate_names(files: Iterable[Path]) -> list[Diagnostic]:
    """PGD113 for every file whose migration name an earlier file already has.

    pgroll knows a migration by its name alone (``02_x.json`` and ``02_x.pgroll`` are both
    ``02_x``): one of the two would count as applied when the other is, and replay would
    start a version schema twice. Reported at the later file, naming both.
    """
    first: dict[str, Path] = {}
    found = []
    for path in files:
        name = migration_name(path)
        if name not in first:
            first[name] = path
            continue
        found.append(Diagnostic(
            codes.DUPLICATE_MIGRATION_NAME,
            f"migration name {name!r} is used by two files: {first[name]} and {path}",
            Span(str(path), 1, 1, 1, 2),
            ("a migration is named by its file name without the extension; rename or remove "
             "one of the two files",),
        ))
    return found


def read_source(path: str | Path) -> str:
    """Read a migration file as UTF-8; a problem becomes a diagnostic, never a traceback.

    A byte order mark (what some Windows editors put first) is not part of the text.
    """
    try:
        return Path(path).read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as err:
        reason = err.strerror if isinstance(err, OSError) and err.strerror else str(err)
        raise CompileError([Diagnostic(codes.UNREADABLE_FILE,
                                       f"cannot read {path}: {reason}", None)]) from None


def parse_source(text: str, path: str, name: str | None = None) -> ir.Migration:
    """Parse text whose syntax is given by ``path``'s extension."""
    suffix = Path(path).suffix.lower()
    name = name if name is not None else migration_name(path)
    if suffix == DSL_SUFFIX:
        from pgroll_dsl.frontend.dsl import parse_dsl

        return parse_dsl(text, path, name)
    if suffix in (".json", ".yaml", ".yml"):
        from pgroll_dsl.frontend.document import parse_json, parse_yaml
        from pgroll_dsl.frontend.pgroll import migration_from_document

        root = parse_json(text, path) if suffix == ".json" else parse_yaml(text, path)
        return migration_from_document(root, name, path)
    raise CompileError([Diagnostic(
        codes.UNKNOWN_FORMAT, f"cannot tell the format of {path}",
        Span(path, 1, 1, 1, 1), (f"use one of the extensions {', '.join(SUFFIXES)}",),
    )])


def load_migration(path: str | Path) -> ir.Migration:
    """Read and parse one migration file."""
    return parse_source(read_source(path), str(path))
