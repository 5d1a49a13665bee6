"""The safety lints follow the PostgreSQL version: ``--pg-version``, pyproject, a live server.

- rules whose danger differs by version fire on one side of the boundary only;
- the version reaches the linter from ``--pg-version`` on ``validate`` and ``plan``, from
  ``[tool.pgroll-dsl] pg-version``, and by default from the server a catalog was read from
  (and the command line wins over the project, the project over the server).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from psycopg import Connection
from psycopg.conninfo import make_conninfo
from typer.testing import CliRunner, Result

from pgroll_dsl import api
from pgroll_dsl.catalog.model import Catalog
from pgroll_dsl.cli import app
from pgroll_dsl.compile import Before, validate
from pgroll_dsl.passes.lint_config import LintSettings
from pgroll_dsl.passes.lint_sql import lint_script

# (statement, version, code, fires): each boundary is checked on both sides.
VERSIONED = [
    ("ALTER TABLE users ADD COLUMN score int DEFAULT 0", 10, "PGD408", True),
    ("ALTER TABLE users ADD COLUMN score int DEFAULT 0", 11, "PGD408", False),
    ("ALTER TABLE users ADD COLUMN token uuid DEFAULT gen_random_uuid()", 18, "PGD408", True),
    ("ALTER TABLE users ADD CONSTRAINT nn CHECK (email IS NOT NULL) NOT VALID;\n"
     "ALTER TABLE users VALIDATE CONSTRAINT nn;\n"
     "ALTER TABLE users ALTER COLUMN email SET NOT NULL", 11, "PGD407", True),
    ("ALTER TABLE users ADD CONSTRAINT nn CHECK (email IS NOT NULL) NOT VALID;\n"
     "ALTER TABLE users VALIDATE CONSTRAINT nn;\n"
     "ALTER TABLE users ALTER COLUMN email SET NOT NULL", 12, "PGD407", False),
    ("REINDEX INDEX CONCURRENTLY users_email", 11, "PGD403", True),  # the statement fails
    ("REINDEX INDEX CONCURRENTLY users_email", 12, "PGD403", False),
    ("REINDEX TABLE users", 11, "PGD403", True),
    ("REINDEX TABLE users", 17, "PGD403", True),
    ("ALTER TABLE m DETACH PARTITION m_2020 CONCURRENTLY", 13, "PGD428", True),
    ("ALTER TABLE m DETACH PARTITION m_2020 CONCURRENTLY", 14, "PGD428", False),
    ("ALTER TABLE m DETACH PARTITION m_2020", 13, "PGD428", True),
    ("ALTER TABLE m DETACH PARTITION m_2020", 16, "PGD428", True),
    ("ALTER TYPE mood ADD VALUE 'happy'", 11, "PGD427", True),
    ("ALTER TYPE mood ADD VALUE 'happy'", 12, "PGD427", False),
]


@pytest.mark.parametrize(("sql", "version", "code", "fires"), VERSIONED)
def test_version_aware_rules(sql: str, version: int, code: str, fires: bool) -> None:
    found = [f.code.id for f in lint_script(sql, pg_version=version)]
    assert (code in found) is fires, found


def test_the_message_and_hint_follow_the_version() -> None:
    (old,) = [f for f in lint_script("REINDEX TABLE users", pg_version=11)
              if f.code.id == "PGD403"]
    (new,) = [f for f in lint_script("REINDEX TABLE users", pg_version=12)
              if f.code.id == "PGD403"]
    assert "PostgreSQL 11 has no REINDEX CONCURRENTLY" in old.message
    assert "create index" in old.hint and "CONCURRENTLY" in new.hint


def test_a_server_version_num_is_read_as_its_major_version() -> None:
    found = [f.code.id for f in lint_script("ALTER TYPE mood ADD VALUE 'x'", pg_version=110022)]
    assert "PGD427" in found


# ---- how the version reaches the linter --------------------------------------------------

ENUM = "sql up `ALTER TYPE mood ADD VALUE 'happy'`;\n"


def _migration(tmp_path: Path, text: str = ENUM) -> Path:
    path = tmp_path / "01_enum.pgroll"
    path.write_text(text, encoding="utf-8")
    return path


def _invoke(*args: str) -> tuple[Result, list[dict[str, Any]]]:
    result = CliRunner().invoke(app, [*args, "--format", "json"])
    assert "Traceback" not in result.output, result.output
    return result, json.loads(result.stderr) if result.stderr.strip() else []


def _lint_codes(diagnostics: list[dict[str, Any]]) -> list[str]:
    return [d["code"] for d in diagnostics if d["code"].startswith("PGD4")]


def test_pg_version_on_validate(tmp_path: Path) -> None:
    path = _migration(tmp_path)
    assert "PGD427" not in _lint_codes(_invoke("validate", str(path))[1])  # 15 by default
    result, found = _invoke("validate", str(path), "--pg-version", "11")
    assert result.exit_code == 0 and "PGD427" in _lint_codes(found)


def test_pg_version_on_plan(tmp_path: Path) -> None:
    path = _migration(tmp_path)
    result, found = _invoke("plan", str(path), "--pg-version", "11")
    assert result.exit_code == 0, result.output
    assert "PGD427" in _lint_codes(found)
    assert "PGD427" not in _lint_codes(_invoke("plan", str(path), "--pg-version", "12")[1])


def test_a_bad_pg_version_is_a_usage_error(tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["validate", str(_migration(tmp_path)), "--pg-version",
                                      "eleven"])
    assert result.exit_code == 2 and "Traceback" not in result.output


def test_the_command_line_wins_over_the_project(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text("[tool.pgroll-dsl]\npg-version = 11\n",
                                             encoding="utf-8")
    path = _migration(tmp_path)
    assert "PGD427" in _lint_codes(_invoke("validate", str(path))[1])
    assert "PGD427" not in _lint_codes(_invoke("validate", str(path), "--pg-version", "16")[1])


def _enum_migration() -> Any:
    return api.compile_source(ENUM, "m.pgroll").migration


def test_the_server_version_is_the_default_and_the_project_wins_over_it() -> None:
    old_server = Before(Catalog(), None, (), server_version=110005)
    assert "PGD427" in [d.code.id for d in validate(_enum_migration(), old_server)]
    new_server = Before(Catalog(), None, (), server_version=170002)
    assert "PGD427" not in [d.code.id for d in validate(_enum_migration(), new_server)]
    project = LintSettings(pg_version=11)
    assert "PGD427" in [d.code.id for d in validate(_enum_migration(), new_server, project)]


@pytest.mark.postgres
def test_a_live_database_lints_at_its_server_version(pg_conn: Connection, pg_dsn: str,
                                                      tmp_path: Path) -> None:
    """The embedded server (18): a constant default is catalog-only there, unlike on 10."""
    pg_conn.execute("CREATE TABLE users (id bigint PRIMARY KEY)")
    dsn = make_conninfo(pg_dsn, dbname=pg_conn.info.dbname)
    path = _migration(tmp_path, "sql up `SET statement_timeout = '5s';\n"
                      "ALTER TABLE users ADD COLUMN score int DEFAULT 0`;\n")
    result, found = _invoke("validate", str(path), "--postgres-url", dsn)
    assert result.exit_code == 0, result.output
    assert pg_conn.info.server_version >= 110000
    assert "PGD408" not in _lint_codes(found)
    result, found = _invoke("validate", str(path), "--postgres-url", dsn, "--pg-version", "10")
    assert "PGD408" in _lint_codes(found)
