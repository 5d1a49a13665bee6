"""``[tool.pgroll-dsl]`` in pyproject.toml: which safety rules run, how loud, on which server.

- found by walking up from the migration (a file or a directory), the nearest table wins, a
  pyproject.toml without the table is passed over;
- ``select`` / ``ignore`` take codes and prefixes (ignore wins), ``severity`` makes a code an
  error (``validate`` then fails) or a note;
- a bad table is one clear PGD903 naming the file and the key, exit 2, no traceback.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from pgroll_dsl.cli import app
from pgroll_dsl.diagnostics import CompileError, Severity, codes
from pgroll_dsl.passes.lint_config import LintSettings, find_pyproject, load_settings
from pgroll_dsl.passes.lint_sql import lint_script

RISKY = "ALTER TABLE users ADD COLUMN note varchar(20);\nTRUNCATE users"  # PGD425 426 413


def _codes(settings: LintSettings) -> list[str]:
    return sorted(f.code.id for f in lint_script(RISKY, settings=settings))


def test_select_and_ignore_take_codes_and_prefixes() -> None:
    assert _codes(LintSettings()) == ["PGD413", "PGD425", "PGD426"]
    assert _codes(LintSettings(select=("PGD42",))) == ["PGD425", "PGD426"]
    assert _codes(LintSettings(ignore=("PGD42",))) == ["PGD413"]
    assert _codes(LintSettings(select=("PGD4",), ignore=("PGD426",))) == ["PGD413", "PGD425"]


def test_severity_overrides_take_the_longest_prefix() -> None:
    settings = LintSettings(severity={"PGD4": Severity.NOTE, "PGD413": Severity.ERROR})
    assert settings.severity_of(codes.TRUNCATE) is Severity.ERROR
    assert settings.severity_of(codes.VARCHAR_LENGTH) is Severity.NOTE
    assert LintSettings().severity_of(codes.TRUNCATE) is Severity.WARNING


def _project(folder: Path, table: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "pyproject.toml"
    path.write_text("[project]\nname = \"app\"\n\n" + table, encoding="utf-8")
    return path


def test_the_nearest_table_is_found_walking_up(tmp_path: Path) -> None:
    top = _project(tmp_path, "[tool.pgroll-dsl]\nignore = [\"PGD413\"]\n")
    _project(tmp_path / "svc", "[tool.ruff]\nline-length = 99\n")  # no table: passed over
    migrations = tmp_path / "svc" / "db" / "migrations"
    migrations.mkdir(parents=True)
    assert find_pyproject(migrations / "01_x.pgroll", cwd=migrations) == top
    assert load_settings(migrations, cwd=migrations).ignore == ("PGD413",)
    nearer = _project(tmp_path / "svc" / "db", "[tool.pgroll-dsl]\npg-version = 12\n")
    assert find_pyproject(migrations, cwd=migrations) == nearer
    assert load_settings(migrations, cwd=migrations) == LintSettings(pg_version=12,
                                                                     origin=str(nearer))


def test_the_working_directory_is_the_fallback(tmp_path: Path) -> None:
    project = _project(tmp_path / "repo", "[tool.pgroll-dsl]\nselect = [\"PGD41\"]\n")
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    assert find_pyproject(elsewhere / "01.pgroll", cwd=tmp_path / "repo") == project


@pytest.mark.parametrize(("table", "problem"), [
    ("pg-version = \"15\"", "pg-version must be a major version"),
    ("pg-version = 7", "pg-version must be a major version"),
    ("selct = [\"PGD401\"]", "unknown key 'selct'"),
    ("select = \"PGD401\"", "select must be a list"),
    ("ignore = [\"PGD501\"]", "not a safety lint code or prefix"),
    ("ignore = [\"PGD499\"]", "no code PGD499"),
    ("severity = { PGD426 = \"fatal\" }", "is not error, warning or note"),
    ("severity = \"error\"", "severity must be a table"),
    ("select = [", "cannot be read"),
])
def test_a_bad_table_is_one_clear_diagnostic(tmp_path: Path, table: str, problem: str) -> None:
    path = _project(tmp_path, f"[tool.pgroll-dsl]\n{table}\n")
    with pytest.raises(CompileError) as raised:
        load_settings(tmp_path, cwd=tmp_path)
    (diagnostic,) = raised.value.diagnostics
    assert diagnostic.code is codes.INVALID_CONFIG
    assert problem in diagnostic.message and str(path) in diagnostic.message


def _validate(folder: Path) -> tuple[int, list[dict[str, object]], str]:
    result = CliRunner().invoke(app, ["validate", str(folder), "--format", "json"])
    assert "Traceback" not in result.output
    found = json.loads(result.stderr) if result.stderr.strip().startswith("[") else []
    return result.exit_code, found, result.stderr


def test_validate_follows_the_project(tmp_path: Path) -> None:
    (tmp_path / "01_base.pgroll").write_text(
        "create table users (id bigint primary key, email text);\n", encoding="utf-8")
    (tmp_path / "02_raw.pgroll").write_text(f"sql up `{RISKY}`;\n", encoding="utf-8")
    code, found, _ = _validate(tmp_path)
    assert code == 0 and sorted(str(d["code"]) for d in found) == ["PGD413", "PGD425", "PGD426"]
    _project(tmp_path, "[tool.pgroll-dsl]\nignore = [\"PGD42\"]\n"
             "severity = { PGD413 = \"error\" }\n")
    code, found, _ = _validate(tmp_path)
    assert code == 1  # TRUNCATE made an error: the check fails
    assert [(d["code"], d["severity"]) for d in found] == [("PGD413", "error")]


def test_validate_refuses_a_bad_table_with_exit_2(tmp_path: Path) -> None:
    (tmp_path / "01_base.pgroll").write_text("create table t (id bigint primary key);\n",
                                             encoding="utf-8")
    _project(tmp_path, "[tool.pgroll-dsl]\nignore = [\"E501\"]\n")
    code, _, stderr = _validate(tmp_path)
    assert code == 2 and "PGD903" in stderr and "E501" in stderr
