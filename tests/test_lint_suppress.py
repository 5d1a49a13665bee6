"""``-- pgroll-dsl: allow PGD4xx: <reason>`` in raw SQL: what it covers, and what it must say.

- a comment on a line of its own covers the next statement (or the rest of the statement it
  sits in); after code, the statement of that code; nothing else;
- codes or slugs, several at once; ``/* */`` works; the reason is required (PGD490), the
  code must be a safety rule (PGD491), and a comment that covers nothing is PGD492;
- through ``validate``: the diagnostics point at the comment inside the migration file, and a
  comment without a reason fails the command.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from pgroll_dsl.cli import app
from pgroll_dsl.passes.lint_config import LintSettings
from pgroll_dsl.passes.lint_sql import lint_script

INDEX = "CREATE INDEX users_email ON users (email)"
TIMEOUT = "SET statement_timeout = '5s';\n"


def _codes(text: str, settings: LintSettings | None = None) -> list[str]:
    return [f.code.id for f in lint_script(TIMEOUT + text, settings=settings)]


@pytest.mark.parametrize("text", [
    f"-- pgroll-dsl: allow PGD401: built on an empty table\n{INDEX}",
    f"{INDEX}; -- pgroll-dsl: allow PGD401: built on an empty table",
    f"-- pgroll-dsl: allow create-index-not-concurrently: empty table\n{INDEX}",
    f"/* pgroll-dsl: allow PGD401: empty table */ {INDEX}",
    f"-- PGROLL-DSL: Allow pgd401: empty table\n{INDEX}",
])
def test_a_comment_with_a_reason_covers_its_statement(text: str) -> None:
    assert "PGD401" not in _codes(text)


def test_several_codes_and_the_one_not_used() -> None:
    text = ("-- pgroll-dsl: allow PGD417, PGD401: the old column is unread\n"
            "ALTER TABLE users DROP COLUMN name")
    found = lint_script(TIMEOUT + text)
    assert [f.code.id for f in found] == ["PGD492"]
    assert "no PGD401 on the statement" in found[0].message


def test_a_comment_covers_only_its_statement() -> None:
    text = f"-- pgroll-dsl: allow PGD401: this one only\n{INDEX};\nCREATE INDEX n ON users (name)"
    found = lint_script(TIMEOUT + text)
    assert [f.code.id for f in found] == ["PGD401"]
    assert (TIMEOUT + text)[found[0].offset:].startswith("CREATE INDEX n")


def test_a_comment_inside_a_statement_covers_the_rest_of_it() -> None:
    text = ("ALTER TABLE users\n  ADD COLUMN bio text,\n"
            "  -- pgroll-dsl: allow PGD417: nothing reads name since v41\n  DROP COLUMN name")
    assert "PGD417" not in _codes(text)
    assert "PGD492" not in _codes(text)


def test_a_trailing_comment_does_not_reach_the_next_statement() -> None:
    text = f"SELECT 1; -- pgroll-dsl: allow PGD401: wrong place\n{INDEX}"
    assert _codes(text) == ["PGD492", "PGD401"]


def test_the_reason_is_required() -> None:
    for text in (f"-- pgroll-dsl: allow PGD401\n{INDEX}",
                 f"-- pgroll-dsl: allow PGD401:  \n{INDEX}"):
        found = lint_script(TIMEOUT + text)
        assert [f.code.id for f in found] == ["PGD490", "PGD401"], found
        assert "PGD401: <why it is safe here>" in found[0].hint


@pytest.mark.parametrize("comment", ["allow PGD999: x", "allow PGD501: not a lint", "allow: x",
                                     "allow no-such-rule: x"])
def test_a_code_must_name_a_safety_rule(comment: str) -> None:
    found = _codes(f"-- pgroll-dsl: {comment}\n{INDEX}")
    assert found == ["PGD491", "PGD401"]


def test_an_unused_comment_is_a_warning_unless_its_rule_is_off() -> None:
    text = "-- pgroll-dsl: allow PGD418: nothing is dropped here\nSELECT 1"
    assert _codes(text) == ["PGD492"]
    assert _codes(text, LintSettings(ignore=("PGD418",))) == []


def test_other_comments_are_left_alone() -> None:
    assert _codes(f"-- pgroll-dsl is great; allow me\n{INDEX}") == ["PGD401"]
    assert _codes(f"-- reviewed: allow PGD401: x\n{INDEX}") == ["PGD401"]


def _validate(tmp_path: Path, body: str) -> tuple[int, list[dict[str, object]]]:
    path = tmp_path / "01_raw.pgroll"
    path.write_text(body, encoding="utf-8")
    result = CliRunner().invoke(app, ["validate", str(path), "--format", "json"])
    assert "Traceback" not in result.output
    return result.exit_code, json.loads(result.stderr) if result.stderr.strip() else []


def test_validate_reports_a_comment_without_a_reason_where_it_is(tmp_path: Path) -> None:
    code, found = _validate(tmp_path, "sql\n  up `SET statement_timeout = '5s';\n"
                            "-- pgroll-dsl: allow PGD401\n"
                            "CREATE INDEX i ON users (email)`;\n")
    assert code == 1  # PGD490 is an error: the reason is required
    assert [(d["code"], d["line"], d["column"]) for d in found] == [
        ("PGD490", 3, 1), ("PGD401", 4, 1)]


def test_validate_passes_a_reasoned_comment(tmp_path: Path) -> None:
    code, found = _validate(tmp_path, "sql up `SET statement_timeout = '5s';\n"
                            "-- pgroll-dsl: allow PGD401: the table is empty until v2 ships\n"
                            "CREATE INDEX i ON users (email)`;\n")
    assert code == 0
    assert [d["code"] for d in found] == []


def test_the_comment_works_in_pgroll_json_and_yaml(tmp_path: Path) -> None:
    sql = ("SET statement_timeout = '5s'; -- pgroll-dsl: allow PGD413: staging table, "
           "refilled nightly\\nTRUNCATE users")
    (tmp_path / "01_raw.json").write_text(
        '{"operations": [{"sql": {"up": "' + sql + '"}}]}\n', encoding="utf-8")
    result = CliRunner().invoke(app, ["validate", str(tmp_path / "01_raw.json"),
                                      "--format", "json"])
    assert result.exit_code == 0
    # The trailing comment belongs to SET: TRUNCATE stays reported, and the comment unused.
    found = [d["code"] for d in json.loads(result.stderr)]
    assert found == ["PGD492", "PGD413"], found
    (tmp_path / "01_raw.json").unlink()
    (tmp_path / "01_raw.yaml").write_text(
        "operations:\n  - sql:\n      up: |\n        SET statement_timeout = '5s';\n"
        "        -- pgroll-dsl: allow PGD413: staging table, refilled nightly\n"
        "        TRUNCATE users\n", encoding="utf-8")
    result = CliRunner().invoke(app, ["validate", str(tmp_path / "01_raw.yaml"),
                                      "--format", "json"])
    assert result.exit_code == 0 and not result.stderr.strip().strip("[]"), result.stderr


@pytest.mark.parametrize("text", [
    "-- pgroll-dsl: allow " + "PGD401," * 20000 + ": x\nSELECT 1",
    "/* pgroll-dsl: allow PGD401: " + "x" * 100000 + " */ SELECT 1",
    "-- pgroll-dsl: allow PGD401: r\nCREATE INDEX i ON t (c);\n" * 1000,
    "-- pgroll-dsl: allow PGD401: only a comment",
    "CREATE INDEX i ON t (c) /* pgroll-dsl: allow PGD401: unterminated",
])
def test_hostile_comments_do_not_crash_the_linter(text: str) -> None:
    for finding in lint_script(text):
        assert 0 <= finding.offset <= len(text) and finding.width >= 1
        assert "\n" not in finding.message and "\n" not in finding.hint
