"""Which safety rules run, how loud they are, and on which PostgreSQL: ``[tool.pgroll-dsl]``.

A project says it once, in the ``pyproject.toml`` found by walking up from the migration file
(a directory: from it), else from the working directory; the first ``pyproject.toml`` with a
``[tool.pgroll-dsl]`` table wins::

    [tool.pgroll-dsl]
    pg-version = 14                 # the server the migrations run on (default 15)
    select = ["PGD4"]               # codes or prefixes to report (default: every rule)
    ignore = ["PGD425", "PGD42"]    # codes or prefixes not to report (wins over select)
    severity = { PGD426 = "error" } # a code or prefix made an error (fails validate) or a note

Only the linter's codes (PGD4xx) may be named: the other diagnostics are the compiler's, not
opinions. ``--pg-version`` on the command line wins over ``pg-version``, which wins over the
server a live ``--postgres-url`` reports.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path

from pgroll_dsl.diagnostics import CompileError, Diagnostic, Severity, codes
from pgroll_dsl.diagnostics.codes import Code

DEFAULT_PG_VERSION = 15
TABLE = "pgroll-dsl"
_KEYS = frozenset({"pg-version", "select", "ignore", "severity"})
_SELECTOR = re.compile(r"PGD4\d{0,2}")
_SEVERITIES = {"error": Severity.ERROR, "warning": Severity.WARNING, "note": Severity.NOTE}


@dataclass(frozen=True, slots=True)
class LintSettings:
    """The settings of one run; the defaults report every rule at its own severity."""

    pg_version: int | None = None  # set by the project or the command line
    select: tuple[str, ...] = ()  # codes or prefixes; empty: every rule
    ignore: tuple[str, ...] = ()
    severity: Mapping[str, Severity] = field(default_factory=dict)  # code or prefix
    origin: str | None = None  # the pyproject.toml they came from, for messages

    def enabled(self, code: Code) -> bool:
        """Whether ``code`` is reported: selected (or nothing selected) and not ignored."""
        selected = not self.select or any(code.id.startswith(s) for s in self.select)
        return selected and not any(code.id.startswith(s) for s in self.ignore)

    def severity_of(self, code: Code) -> Severity:
        """The code's severity, or the override of its longest matching prefix."""
        matches = [s for s in self.severity if code.id.startswith(s)]
        return self.severity[max(matches, key=len)] if matches else code.severity

    def version(self, server_version: int | None = None) -> int:
        """The major version to lint for: the setting, else the server's, else 15."""
        if self.pg_version is not None:
            return major_version(self.pg_version)
        return major_version(server_version)

    def with_version(self, pg_version: int | None) -> LintSettings:
        """These settings with ``pg_version`` (a command line's) when it is given."""
        return self if pg_version is None else replace(self, pg_version=pg_version)


def major_version(version: int | None) -> int:
    """A major version from ``15`` or from a ``server_version_num`` (``150004``)."""
    if version is None:
        return DEFAULT_PG_VERSION
    return version // 10000 if version >= 1000 else version


def find_pyproject(start: Path, cwd: Path | None = None) -> Path | None:
    """The nearest ``pyproject.toml`` with a ``[tool.pgroll-dsl]`` table, above ``start``."""
    for origin in (start, cwd or Path.cwd()):
        origin = origin.resolve()
        for folder in (origin, *origin.parents) if origin.is_dir() else origin.parents:
            candidate = folder / "pyproject.toml"
            if candidate.is_file() and _has_table(candidate):
                return candidate
    return None


def _has_table(path: Path) -> bool:
    try:
        return TABLE in _tool(_load(path))
    except CompileError:
        return f"[tool.{TABLE}" in path.read_text(encoding="utf-8", errors="replace")


def load_settings(start: Path, cwd: Path | None = None) -> LintSettings:
    """The settings for migrations at ``start``; raise CompileError (PGD903) when invalid."""
    path = find_pyproject(start, cwd)
    if path is None:
        return LintSettings()
    return parse_settings(_tool(_load(path)).get(TABLE, {}), str(path))


def _tool(data: dict[str, object]) -> dict[str, object]:
    tool = data.get("tool")
    return tool if isinstance(tool, dict) else {}


def _load(path: Path) -> dict[str, object]:
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as err:
        raise _invalid(str(path), f"cannot be read: {err}") from err


def parse_settings(table: object, origin: str = "pyproject.toml") -> LintSettings:
    """``[tool.pgroll-dsl]`` as settings; raise CompileError (PGD903) naming what is wrong."""
    if not isinstance(table, dict):
        raise _invalid(origin, "[tool.pgroll-dsl] must be a table")
    unknown = sorted(set(table) - _KEYS)
    if unknown:
        raise _invalid(origin, f"unknown key {unknown[0]!r} (known: {', '.join(sorted(_KEYS))})")
    version = table.get("pg-version")
    if version is not None and (not isinstance(version, int) or isinstance(version, bool)
                                or not 9 <= major_version(version) <= 99):
        raise _invalid(origin, f"pg-version must be a major version such as 15, not {version!r}")
    return LintSettings(pg_version=version, select=_selectors(table, "select", origin),
                        ignore=_selectors(table, "ignore", origin),
                        severity=_severities(table.get("severity", {}), origin), origin=origin)


def _selectors(table: dict[str, object], key: str, origin: str) -> tuple[str, ...]:
    value = table.get(key, [])
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise _invalid(origin, f"{key} must be a list of codes or prefixes, such as [\"PGD42\"]")
    return tuple(_selector(v, key, origin) for v in value)


def _selector(value: str, key: str, origin: str) -> str:
    text = value.strip().upper()
    if not _SELECTOR.fullmatch(text):
        raise _invalid(origin, f"{key}: {value!r} is not a safety lint code or prefix "
                       "(PGD4, PGD42, PGD426: only the linter's rules can be chosen)")
    if len(text) == 6 and not any(c.id == text for c in codes.ALL_CODES):
        raise _invalid(origin, f"{key}: no code {text}")
    return text


def _severities(value: object, origin: str) -> dict[str, Severity]:
    if not isinstance(value, dict):
        raise _invalid(origin, "severity must be a table such as { PGD426 = \"error\" }")
    found: dict[str, Severity] = {}
    for key, level in value.items():
        if not isinstance(level, str) or level.lower() not in _SEVERITIES:
            raise _invalid(origin, f"severity of {key}: {level!r} is not error, warning or note")
        found[_selector(str(key), "severity", origin)] = _SEVERITIES[level.lower()]
    return found


def _invalid(origin: str, problem: str) -> CompileError:
    return CompileError([Diagnostic(codes.INVALID_CONFIG, f"{origin}: {problem}", None,
                                    ("see docs/lint.md, \"Choosing rules\"",))])
