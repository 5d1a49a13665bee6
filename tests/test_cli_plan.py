"""The validate, plan and catalog commands, as a CI job calls them."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import psycopg
from psycopg.conninfo import make_conninfo
from typer.testing import CliRunner

from pgroll_dsl.cli import app
from tests.conftest import EXAMPLES as CORPUS

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"


def invoke(*args: str) -> Any:
    return CliRunner().invoke(app, list(args))


def test_plan_prints_every_phase_of_an_example() -> None:
    result = invoke("plan", str(EXAMPLES / "03_users_email_not_null.pgroll"))
    assert result.exit_code == 0, result.stderr
    for phase in ("start", "complete", "rollback"):
        assert f"-- ==== {phase} (" in result.stdout
    assert "previous version schema: public_02_add_orders" in result.stdout


def test_plan_one_phase_and_json(tmp_path: Path) -> None:
    result = invoke("plan", str(EXAMPLES / "02_add_orders.pgroll"), "--phase", "start")
    assert result.exit_code == 0 and "==== complete" not in result.stdout
    out = tmp_path / "plan.json"
    result = invoke("plan", str(EXAMPLES / "02_add_orders.pgroll"), "--format", "json",
                    "-o", str(out))
    assert result.exit_code == 0, result.stderr
    document = json.loads(out.read_text())
    assert document["migration"] == "02_add_orders"
    assert {"start", "complete", "rollback"} <= document.keys()
    assert any("CREATE INDEX CONCURRENTLY" in s["sql"] and not s["transactional"]
               for s in document["start"])


def test_plan_refuses_a_migration_with_errors(tmp_path: Path) -> None:
    result = invoke("plan", str(CORPUS / "35_alter_column_multiple.yaml"), "--format", "json")
    assert result.exit_code == 1
    (diagnostic,) = json.loads(result.stderr)
    assert (diagnostic["code"], diagnostic["line"], diagnostic["column"]) == ("PGD209", 15, 13)
    assert result.stdout == ""


def test_validate_a_directory_reports_only_the_corpus_defect() -> None:
    result = invoke("validate", str(CORPUS), "--format", "json")
    assert result.exit_code == 1
    codes = [(d["code"], Path(d["path"]).name) for d in json.loads(result.stderr)
             if d["severity"] == "error"]
    assert codes == [("PGD209", "35_alter_column_multiple.yaml")]


def test_validate_examples_directory_is_clean() -> None:
    result = invoke("validate", str(EXAMPLES))
    assert result.exit_code == 0, result.stderr


def test_history_option_and_its_errors(tmp_path: Path) -> None:
    history = tmp_path / "history"
    history.mkdir()
    for name in ("01_create_users.pgroll", "02_add_orders.pgroll"):
        shutil.copy(EXAMPLES / name, history / name)
    migration = EXAMPLES / "03_users_email_not_null.pgroll"
    assert invoke("plan", str(migration), "--history", str(history)).exit_code == 0
    missing = invoke("plan", str(migration), "--history", str(tmp_path / "nope"))
    assert missing.exit_code == 2 and "PGD902" in missing.stderr
    both = invoke("plan", str(migration), "--history", str(history), "--catalog", "x.json")
    assert both.exit_code == 2
    assert "give at most one of" in both.stderr


def test_unreachable_database_is_an_environment_error() -> None:
    result = invoke("plan", str(EXAMPLES / "01_create_users.pgroll"), "--postgres-url",
                    "postgresql://nobody@127.0.0.1:1/none?connect_timeout=2")
    assert result.exit_code == 2
    assert "PGD901" in result.stderr and "Traceback" not in result.stderr


def test_snapshot_of_a_live_database_plans_like_the_database(
    pg_conn: psycopg.Connection[Any], pg_dsn: str, tmp_path: Path
) -> None:
    pg_conn.execute("create table users (id serial primary key, name varchar(255) not null,"
                    " email text unique, created_at timestamptz not null default now())")
    dsn = make_conninfo(pg_dsn, dbname=pg_conn.info.dbname)
    snapshot = tmp_path / "catalog.json"
    dumped = invoke("catalog", "dump", "--postgres-url", dsn, "-o", str(snapshot))
    assert dumped.exit_code == 0, dumped.stderr
    migration = str(EXAMPLES / "03_users_email_not_null.pgroll")
    offline = invoke("plan", migration, "--catalog", str(snapshot), "--phase", "start")
    live = invoke("plan", migration, "--postgres-url", dsn, "--phase", "start")
    assert offline.exit_code == live.exit_code == 0, offline.stderr + live.stderr
    body = [line for line in offline.stdout.splitlines() if not line.startswith("-- catalog")]
    assert body == [line for line in live.stdout.splitlines()
                    if not line.startswith("-- catalog")]


def test_snapshot_of_a_migrated_database_names_its_latest_version(
    pg_conn: psycopg.Connection[Any], pg_dsn: str, tmp_path: Path
) -> None:
    """Every phase as the database's own plan: complete drops the previous version schema,
    and the sync triggers tell its writers from the new version's."""
    dsn = make_conninfo(pg_dsn, dbname=pg_conn.info.dbname)
    assert invoke("init", "--postgres-url", dsn).exit_code == 0
    for name in ("01_create_users.pgroll", "02_add_orders.pgroll"):
        started = invoke("start", str(EXAMPLES / name), "--complete", "--postgres-url", dsn)
        assert started.exit_code == 0, started.stderr
    snapshot = tmp_path / "catalog.json"
    dumped = invoke("catalog", "dump", "--postgres-url", dsn, "-o", str(snapshot))
    assert dumped.exit_code == 0, dumped.stderr
    assert json.loads(snapshot.read_text())["previous_version_schema"] == "public_02_add_orders"
    migration = str(EXAMPLES / "03_users_email_not_null.pgroll")
    offline = invoke("plan", migration, "--catalog", str(snapshot))
    live = invoke("plan", migration, "--postgres-url", dsn)
    assert offline.exit_code == live.exit_code == 0, offline.stderr + live.stderr
    assert "-- previous version schema: public_02_add_orders" in offline.stdout
    assert 'DROP SCHEMA IF EXISTS "public_02_add_orders"' in offline.stdout
    body = [line for line in offline.stdout.splitlines() if not line.startswith("-- catalog")]
    assert body == [line for line in live.stdout.splitlines()
                    if not line.startswith("-- catalog")]


def _views(sql: str) -> list[str]:
    return [line for line in sql.splitlines() if line.startswith("CREATE VIEW")]


def test_the_plan_follows_the_postgresql_version_it_is_made_for(tmp_path: Path) -> None:
    """PostgreSQL 14 has no security_invoker views: a plan for it must not use them.

    The version comes from --pg-version, else from pg-version of [tool.pgroll-dsl]; without
    either the plan is for 15 and later. The views are the same otherwise.
    """
    target = str(EXAMPLES / "03_users_email_not_null.pgroll")
    default = invoke("plan", target, "--phase", "start")
    for_14 = invoke("plan", target, "--phase", "start", "--pg-version", "14")
    for_16 = invoke("plan", target, "--phase", "start", "--pg-version", "16")
    assert default.exit_code == for_14.exit_code == for_16.exit_code == 0, for_14.stderr
    with_invoker = _views(default.stdout)
    assert with_invoker and all("WITH (security_invoker = true)" in v for v in with_invoker)
    assert _views(for_16.stdout) == with_invoker
    assert _views(for_14.stdout) == [v.replace(" WITH (security_invoker = true)", "")
                                     for v in with_invoker]

    project = tmp_path / "project"
    shutil.copytree(EXAMPLES, project / "migrations")
    (project / "pyproject.toml").write_text('[tool.pgroll-dsl]\npg-version = 14\n')
    moved = str(project / "migrations" / "03_users_email_not_null.pgroll")
    from_project = invoke("plan", moved, "--phase", "start")
    assert from_project.exit_code == 0, from_project.stderr
    assert _views(from_project.stdout) == _views(for_14.stdout)
    overridden = invoke("plan", moved, "--phase", "start", "--pg-version", "15")
    assert _views(overridden.stdout) == with_invoker


def test_the_api_plans_for_the_version_it_is_given(tmp_path: Path) -> None:
    from pgroll_dsl import api

    target = EXAMPLES / "03_users_email_not_null.pgroll"
    history = tmp_path / "history"
    history.mkdir()
    for name in ("01_create_users.pgroll", "02_add_orders.pgroll"):
        shutil.copy(EXAMPLES / name, history / name)
    migration = api.compile_file(target).migration
    for given in (target, migration):
        plans = {version: api.plan_migration(given, history=history, pg_version=version)
                 for version in (14, 15, None)}
        views = {version: [s.sql for s in planned.plan.start if "CREATE VIEW" in s.sql]
                 for version, planned in plans.items()}
        assert views[15] == views[None] and views[15]
        assert not any("security_invoker" in v for v in views[14])
        assert all("security_invoker" in v for v in views[15])
