"""Attacks on the linter's ``allow`` comments and ``[tool.pgroll-dsl]``: each must hold.

- an ``allow`` comment counts only as a comment: inside a string, an escape string, a
  dollar-quoted body or a quoted identifier it is text, and suppresses nothing;
- a reason of only whitespace (spaces, tabs, a no-break space, a blank ``/* */`` body) is no
  reason; codes and slugs are matched in any case;
- a statement spanning lines is covered from a comment on any of its lines, and a comment on
  a line of its own after the last statement covers nothing (it is reported unused);
- bad ``select``/``ignore``/``severity``/``pg-version`` values stop ``validate`` with exit 2,
  PGD903 naming the value, and no traceback.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from pgroll_dsl.cli import app
from pgroll_dsl.passes.lint_sql import lint_script

TIMEOUT = "SET statement_timeout = '5s';\n"
INDEX = "CREATE INDEX users_email ON users (email)"
ALLOW = "pgroll-dsl: allow PGD401: the table is empty"


def _codes(text: str) -> list[str]:
    return sorted(f.code.id for f in lint_script(TIMEOUT + text))


@pytest.mark.parametrize("text", [
    f"SELECT '-- {ALLOW}';\n{INDEX}",
    f"{INDEX} WHERE email <> '-- {ALLOW}'",
    f"SELECT $x$\n-- {ALLOW}\n$x$;\n{INDEX}",
    f"{INDEX} WHERE email <> $$ /* {ALLOW} */ $$",
    f"SELECT E'\\' -- {ALLOW}';\n{INDEX}",
    f'{INDEX} WHERE "-- {ALLOW}" IS NULL',
    f"/* outer /* {ALLOW} */ */ {INDEX}",
])
def test_an_allow_inside_text_is_not_a_comment(text: str) -> None:
    assert _codes(text) == ["PGD401"]


@pytest.mark.parametrize("reason", [":", ":    \t", ": \u00a0\u2003"])
def test_a_reason_of_whitespace_is_no_reason(reason: str) -> None:
    assert _codes(f"-- pgroll-dsl: allow PGD401{reason}\n{INDEX}") == ["PGD401", "PGD490"]
    assert _codes(f"/* pgroll-dsl: allow PGD401{reason}\n   */\n{INDEX}") == [
        "PGD401", "PGD490"]


@pytest.mark.parametrize("named", ["pgd401", "Pgd401", "CREATE-INDEX-NOT-CONCURRENTLY",
                                   "create-index-not-concurrently"])
def test_codes_and_slugs_in_any_case(named: str) -> None:
    assert _codes(f"-- pgroll-dsl: allow {named}: the table is empty\n{INDEX}") == []


@pytest.mark.parametrize("text", [
    f"CREATE INDEX users_email\n  ON users (email); -- {ALLOW}",
    f"CREATE INDEX users_email -- {ALLOW}\n  ON users (email);",
    f"CREATE INDEX users_email\n-- {ALLOW}\n  ON users (email);",
    f"CREATE INDEX users_email\n  ON users (email)\n-- {ALLOW}\n;",
])
def test_a_statement_spanning_lines_is_covered_from_any_of_its_lines(text: str) -> None:
    assert _codes(text) == []


def test_a_comment_after_the_last_statement_covers_nothing() -> None:
    # On a line of its own, a comment applies to the statement that follows; after the last
    # statement there is none, and the statement above it must stay reported.
    assert _codes(f"{INDEX};\n-- {ALLOW}") == ["PGD401", "PGD492"]
    assert _codes(f"{INDEX};\n-- {ALLOW}\n") == ["PGD401", "PGD492"]


def test_a_suppression_through_validate_points_into_the_file(tmp_path: Path) -> None:
    (tmp_path / "01_base.pgroll").write_text(
        "create table users (id bigint primary key, email text);\n", encoding="utf-8")
    (tmp_path / "02_raw.pgroll").write_text(
        f"sql up `{TIMEOUT}CREATE INDEX users_email\n  ON users (email);\n-- {ALLOW}`;\n",
        encoding="utf-8")
    result = CliRunner().invoke(app, ["validate", str(tmp_path)])
    assert "Traceback" not in result.output
    assert "PGD401" in result.output and "PGD492" in result.output


def _project(folder: Path, table: str) -> None:
    (folder / "01_base.pgroll").write_text(
        "create table users (id bigint primary key, email text);\n", encoding="utf-8")
    (folder / "02_raw.pgroll").write_text(f"sql up `{INDEX}`;\n", encoding="utf-8")
    (folder / "pyproject.toml").write_text(f"[tool.pgroll-dsl]\n{table}\n", encoding="utf-8")


@pytest.mark.parametrize(("table", "shown"), [
    ("select = [1]", "select must be a list"),
    ("select = [\"\"]", "''"),
    ("ignore = [\"PGD4*\"]", "'PGD4*'"),
    ("ignore = [\"PGD 401\"]", "'PGD 401'"),
    ("select = [\"PGD4011\"]", "'PGD4011'"),
    ("select = [\"PGD510\"]", "'PGD510'"),
    ("ignore = [[\"PGD401\"]]", "ignore must be a list"),
    ("ignore = \"PGD401\"", "ignore must be a list"),
    ("severity = { \"\" = \"error\" }", "''"),
    ("severity = { PGD426 = 1 }", "1 is not error, warning or note"),
    ("pg-version = -15", "not -15"),
    ("pg-version = 1e3", "not 1000.0"),
    ("pg-version = 99999999999999999999", "not 99999999999999999999"),
    ("select = [\"PGD401\"]\n[tool.pgroll-dsl.extra]", "unknown key 'extra'"),
])
def test_a_bad_setting_exits_2_naming_it(tmp_path: Path, table: str, shown: str) -> None:
    _project(tmp_path, table)
    result = CliRunner().invoke(app, ["validate", str(tmp_path)])
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)
    assert "PGD903" in result.output and shown in result.output


@pytest.mark.parametrize("table", ["select = [\"pgd401\"]", "select = [\" PGD401 \"]",
                                   "severity = { pgd401 = \"Error\" }"])
def test_settings_take_codes_in_any_case(tmp_path: Path, table: str) -> None:
    _project(tmp_path, table)
    result = CliRunner().invoke(app, ["validate", str(tmp_path)])
    assert result.exit_code in (0, 1) and "PGD401" in result.output, result.output
