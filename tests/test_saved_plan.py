"""A reviewed plan runs as reviewed: ``plan -o FILE`` then ``start --plan FILE``.

Offline: every example's saved plan reads back to the same plan in both formats, and an
edit anywhere in the file is refused. Live (embedded PostgreSQL): a plan made offline from
the history runs on a database built from the same history and gives what a plain
``start`` gives; a drifted database, another migration and an edited file are refused with
what differs, and nothing is changed.
"""

from __future__ import annotations

import json
import shutil
from dataclasses import replace
from pathlib import Path
from typing import Any

import psycopg
import pytest
from psycopg.conninfo import make_conninfo
from typer.testing import CliRunner

from pgroll_dsl.backends.state import State
from pgroll_dsl.catalog import Catalog
from pgroll_dsl.catalog.fingerprint import canonical, drift, fingerprint
from pgroll_dsl.catalog.introspect import introspect
from pgroll_dsl.catalog.model import Column, Table
from pgroll_dsl.catalog.replay import apply_migration, version_schema_name
from pgroll_dsl.cli import app
from pgroll_dsl.plan.document import plan_from_document
from pgroll_dsl.plan.model import Phase
from pgroll_dsl.plan.planner import PlanOptions, plan_migration
from pgroll_dsl.render.saved_plan import DATA_PREFIX, SavedPlanError, basis, read_saved, save
from tests.conftest import conformance_files
from tests.test_plan import corpus_migration

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
TARGET = "03_users_email_not_null"

Connection = psycopg.Connection[Any]


def invoke(*args: str) -> Any:
    return CliRunner().invoke(app, list(args))


# ---- offline -------------------------------------------------------------------------------


def test_every_example_reads_back_as_saved_in_both_formats() -> None:
    catalog, previous = Catalog(), None
    for path in conformance_files():
        migration = corpus_migration(path)
        options = PlanOptions(previous_version_schema=previous)
        plan = plan_migration(migration, catalog, options)
        plan = replace(plan, basis=basis(migration, catalog, options))
        for plan_format in ("sql", "json"):
            saved = read_saved(save(plan, plan_format), f"{path.stem}.{plan_format}")
            assert saved.plan == plan, path.name
            assert saved.plan.basis == plan.basis
            assert saved.basis.catalog_fingerprint == fingerprint(catalog)
        catalog, _ = apply_migration(catalog, migration)
        previous = f"public_{version_schema_name(migration)}"


def _saved_plan(tmp_path: Path, plan_format: str) -> Path:
    history = tmp_path / "history"
    history.mkdir(exist_ok=True)
    for name in ("01_create_users.pgroll", "02_add_orders.pgroll"):
        shutil.copy(EXAMPLES / name, history / name)
    out = tmp_path / f"plan.{plan_format}"
    result = invoke("plan", str(EXAMPLES / f"{TARGET}.pgroll"), "--history", str(history),
                    "--format", plan_format, "-o", str(out))
    assert result.exit_code == 0, result.stderr
    return out


def test_the_sql_form_stays_a_plan_file_with_fingerprints(tmp_path: Path) -> None:
    text = _saved_plan(tmp_path, "sql").read_text()
    catalog_line = next(line for line in text.splitlines()
                        if line.startswith("-- catalog fingerprint: sha256:"))
    assert "(the whole schema: 2 tables, 0 enums, 2 sequences)" in catalog_line, catalog_line
    assert "-- ==== start (" in text and "-- ==== rollback (" in text
    # Everything but SQL statements is a comment: psql and squawk read it as before.
    assert all(line.startswith("-- ") for line in text.splitlines()[:5])
    assert text.splitlines()[-1].startswith(DATA_PREFIX)
    saved = read_saved(text, "plan.sql")
    assert saved.plan.migration == TARGET
    assert saved.basis.options["previous_version_schema"] == "public_02_add_orders"


@pytest.mark.parametrize(("plan_format", "edit", "message"), [
    ("sql", lambda t: t.replace("SET NOT NULL", "DROP NOT NULL", 1),
     "the SQL differs from the plan the file carries"),
    ("sql", lambda t: t.replace("-- [1] ", "-- [1]  ", 1),
     "the SQL differs from the plan the file carries"),
    ("sql", lambda t: t[:-20] + ("B" if t[-20] == "A" else "A") + t[-19:], "damaged"),
    ("json", lambda t: t.replace("SET NOT NULL", "DROP NOT NULL", 1),
     "digest does not match"),
    ("json", lambda t: t.replace('"public_02_add_orders"', '"public_01_create_users"'),
     "digest does not match"),
])
def test_an_edited_plan_file_is_refused(tmp_path: Path, plan_format: str, edit: Any,
                                        message: str) -> None:
    path = _saved_plan(tmp_path, plan_format)
    text = path.read_text()
    edited = edit(text)
    assert edited != text
    with pytest.raises(SavedPlanError, match=message):
        read_saved(edited, str(path))


def test_a_plain_plan_is_not_a_saved_plan(tmp_path: Path) -> None:
    result = invoke("plan", str(EXAMPLES / f"{TARGET}.pgroll"))
    assert result.exit_code == 0
    with pytest.raises(SavedPlanError, match="not a saved plan"):
        read_saved(result.stdout, "plan.sql")
    result = invoke("plan", str(EXAMPLES / f"{TARGET}.pgroll"), "--format", "json")
    with pytest.raises(SavedPlanError, match="no fingerprint"):
        read_saved(result.stdout, "plan.json")


def test_drift_reads_as_paths_with_both_values() -> None:
    users = Table(name="users", columns=(Column(name="id", type="integer", nullable=False),
                                         Column(name="email", type="text")))
    live = replace(users, columns=(users.columns[0],
                                   Column(name="email", type="character varying(255)"),
                                   Column(name="nickname", type="text")))
    found = drift(canonical(Catalog(tables=(users,))), canonical(Catalog(tables=(live,))))
    assert "table users: column email: type text (planned) ≠ character varying(255) (live)" \
        in found
    assert "table users: column nickname: in the live database, not planned" in found
    assert ('table users: column order ["id", "email"] (planned) ≠ ["id", "email", '
            '"nickname"] (live)') in found


def test_expressions_are_compared_by_meaning() -> None:
    replayed = Table(name="t", columns=(Column(name="c", type="text", default="'x'"),))
    stored = Table(name="t", columns=(Column(name="c", type="text", default="'x'::text"),))
    assert fingerprint(Catalog(tables=(replayed,))) == fingerprint(Catalog(tables=(stored,)))
    other = Table(name="t", columns=(Column(name="c", type="text", default="'y'"),))
    assert fingerprint(Catalog(tables=(replayed,))) != fingerprint(Catalog(tables=(other,)))


# ---- live ----------------------------------------------------------------------------------


def _database(pg_conn: Connection, pg_dsn: str) -> str:
    """The test's database with examples 01 and 02 applied (start and complete)."""
    dsn = make_conninfo(pg_dsn, dbname=pg_conn.info.dbname)
    assert invoke("init", "--postgres-url", dsn).exit_code == 0
    for name in ("01_create_users.pgroll", "02_add_orders.pgroll"):
        result = invoke("start", str(EXAMPLES / name), "--complete", "--postgres-url", dsn)
        assert result.exit_code == 0, result.stderr
    return dsn


def _stored_plan(pg_conn: Connection) -> dict[str, Any]:
    active = State(pg_conn, "pgroll", "public").active()
    assert active is not None and active.plan is not None
    return active.plan


def _schemas(pg_conn: Connection) -> set[str]:
    return {r[0] for r in pg_conn.execute("SELECT nspname FROM pg_namespace").fetchall()}


def _history(pg_conn: Connection) -> list[Any]:
    return pg_conn.execute("SELECT name, done FROM pgroll.migrations ORDER BY created_at"
                           ).fetchall()


def test_a_plan_made_offline_runs_like_a_plain_start(pg_conn: Connection, pg_dsn: str,
                                                     tmp_path: Path) -> None:
    dsn = _database(pg_conn, pg_dsn)
    as_json, as_sql = _saved_plan(tmp_path, "json"), _saved_plan(tmp_path, "sql")
    pg_conn.execute("INSERT INTO users (name, email) VALUES ('Ada', NULL), ('Bob', 'b@x.org')")
    url = ("--postgres-url", dsn)

    result = invoke("start", "--plan", str(as_json), *url)  # the plan alone: it carries it
    assert result.exit_code == 0, result.stderr
    reviewed, reviewed_plan = introspect(pg_conn), _stored_plan(pg_conn)
    assert invoke("rollback", *url).exit_code == 0

    result = invoke("start", str(EXAMPLES / f"{TARGET}.pgroll"), *url)
    assert result.exit_code == 0, result.stderr
    fresh, fresh_plan = introspect(pg_conn), _stored_plan(pg_conn)
    assert invoke("rollback", *url).exit_code == 0

    assert reviewed == fresh
    for phase in Phase:
        # The same steps, one for one; their text may differ where the live catalog spells an
        # expression PostgreSQL's way (a view's default 'new'::text where replay has 'new').
        offline = plan_from_document(reviewed_plan).phase(phase)
        live = plan_from_document(fresh_plan).phase(phase)
        assert [(s.summary, s.lock, s.cost) for s in offline] == [
            (s.summary, s.lock, s.cost) for s in live], phase
    saved = json.loads(as_json.read_text())
    assert [s["sql"] for s in reviewed_plan["start"]] == [s["sql"] for s in saved["start"]]

    result = invoke("start", str(EXAMPLES / f"{TARGET}.pgroll"), "--plan", str(as_sql),
                    "--complete", *url)
    assert result.exit_code == 0, result.stderr
    rows = pg_conn.execute("SELECT name, email FROM users ORDER BY id").fetchall()
    assert rows == [("Ada", "ada@unknown.invalid"), ("Bob", "b@x.org")]
    assert _history(pg_conn)[-1] == (TARGET, True)


def test_a_drifted_database_is_refused_with_what_differs(pg_conn: Connection, pg_dsn: str,
                                                         tmp_path: Path) -> None:
    dsn = _database(pg_conn, pg_dsn)
    path = _saved_plan(tmp_path, "sql")
    pg_conn.execute("ALTER TABLE users ADD COLUMN nickname text")
    pg_conn.execute("ALTER TABLE users ALTER COLUMN name DROP NOT NULL")
    pg_conn.execute("ALTER TABLE users ALTER COLUMN email SET DEFAULT 'a@b'")
    before, history, schemas = introspect(pg_conn), _history(pg_conn), _schemas(pg_conn)

    result = invoke("start", "--plan", str(path), "--postgres-url", dsn)
    assert result.exit_code == 1, result.stdout + result.stderr
    assert "the saved plan does not match this database; nothing was changed" in result.stderr
    assert "table users: column name: nullable false (planned) ≠ true (live)" in result.stderr
    assert "table users: column email: default (none) (planned) ≠ 'a@b' (live)" in (
        result.stderr)
    assert "table users: column nickname: in the live database, not planned" in result.stderr
    assert "Traceback" not in result.stderr
    assert introspect(pg_conn) == before
    assert _history(pg_conn) == history and _schemas(pg_conn) == schemas


def test_another_migration_or_an_edited_file_is_refused(pg_conn: Connection, pg_dsn: str,
                                                        tmp_path: Path) -> None:
    dsn = _database(pg_conn, pg_dsn)
    path = _saved_plan(tmp_path, "sql")
    before, history = introspect(pg_conn), _history(pg_conn)
    url = ("--postgres-url", dsn)

    other = invoke("start", str(EXAMPLES / "04_rename_name.pgroll"), "--plan", str(path), *url)
    assert other.exit_code == 1, other.stderr
    assert f"migration: the plan is for {TARGET}" in other.stderr
    assert "the migration given is 04_rename_name" in other.stderr

    changed = tmp_path / TARGET
    changed.mkdir()
    text = (EXAMPLES / f"{TARGET}.pgroll").read_text().replace("@unknown.invalid", "@x.invalid")
    (changed / f"{TARGET}.pgroll").write_text(text)
    edited_migration = invoke("start", str(changed / f"{TARGET}.pgroll"), "--plan", str(path),
                              *url)
    assert edited_migration.exit_code == 1, edited_migration.stderr
    assert "another migration, or the file changed since it was planned" in (
        edited_migration.stderr)

    tampered = tmp_path / "tampered.sql"
    tampered.write_text(path.read_text().replace("SET NOT NULL", "DROP NOT NULL", 1))
    edited = invoke("start", "--plan", str(tampered), *url)
    assert edited.exit_code == 1, edited.stderr
    assert "the SQL differs from the plan the file carries" in edited.stderr
    assert f"{tampered}:" in edited.stderr

    plain = tmp_path / "plain.sql"
    assert invoke("plan", str(EXAMPLES / f"{TARGET}.pgroll"), "--history",
                  str(tmp_path / "history")).exit_code == 0
    plain.write_text(invoke("plan", str(EXAMPLES / f"{TARGET}.pgroll")).stdout)
    assert invoke("start", "--plan", str(plain), *url).exit_code == 1
    assert invoke("start", *url).exit_code == 2  # neither a file nor a plan

    assert introspect(pg_conn) == before and _history(pg_conn) == history


def test_every_example_runs_its_offline_saved_plan(pg_conn: Connection, pg_dsn: str) -> None:
    """Replay and introspection give one fingerprint at every step of the 56 examples.

    Each example is planned offline against the replay of the ones before it, saved, read
    back and run with ``start`` on the database the earlier ones built, then completed.
    """
    from tests.live_helpers import dsn_of, make_runner

    runner = make_runner(dsn_of(pg_dsn, pg_conn), batch_size=1000)
    catalog, previous = Catalog(), None
    try:
        for path in conformance_files():
            migration = corpus_migration(path)
            options = PlanOptions(previous_version_schema=previous)
            plan = plan_migration(migration, catalog, options)
            plan = replace(plan, basis=basis(migration, catalog, options))
            live = canonical(introspect(pg_conn))
            assert drift(canonical(catalog), live) == [], path.name
            assert fingerprint(catalog) == plan.basis.catalog_fingerprint
            runner.start(migration, read_saved(save(plan, "json"), path.name))
            assert runner.complete() == migration.name
            catalog, _ = apply_migration(catalog, migration)
            previous = f"public_{version_schema_name(migration)}"
    finally:
        runner.close()
    assert _history(pg_conn)[-1][1] is True and len(_history(pg_conn)) == 56


def test_a_saved_phase_file_still_runs_with_psql(pg_conn: Connection, pg_dsn: str,
                                                 tmp_path: Path) -> None:
    """The fingerprint lines and the plan data are comments: psql runs the file as before."""
    from tests.test_plan_live import run_psql

    dsn = _database(pg_conn, pg_dsn)
    _saved_plan(tmp_path, "sql")
    out = tmp_path / "start.sql"
    result = invoke("plan", str(EXAMPLES / f"{TARGET}.pgroll"), "--history",
                    str(tmp_path / "history"), "--phase", "start", "-o", str(out))
    assert result.exit_code == 0, result.stderr
    assert read_saved(out.read_text(), str(out)).plan.migration == TARGET
    run_psql(dsn, out.read_text())
    assert "public_03_users_email_not_null" in _schemas(pg_conn)


def test_a_plan_runs_once(pg_conn: Connection, pg_dsn: str, tmp_path: Path) -> None:
    """After it ran, the database has moved on: the same plan is refused, not run twice."""
    dsn = _database(pg_conn, pg_dsn)
    path = _saved_plan(tmp_path, "json")
    url = ("--postgres-url", dsn)
    assert invoke("start", "--plan", str(path), "--complete", *url).exit_code == 0
    again = invoke("start", "--plan", str(path), *url)
    assert again.exit_code == 1
    assert f'migration "{TARGET}" is already applied' in again.stderr


def test_an_interrupted_saved_plan_resumes_and_only_with_itself(
        pg_conn: Connection, pg_dsn: str, tmp_path: Path) -> None:
    from pgroll_dsl import api
    from tests.live_helpers import make_runner

    dsn = _database(pg_conn, pg_dsn)
    path = _saved_plan(tmp_path, "json")
    saved = read_saved(path.read_text(), str(path))
    migration = api.compile_file(EXAMPLES / f"{TARGET}.pgroll").migration

    def stop(event: Any) -> None:
        if event.index == 2:
            raise KeyboardInterrupt  # the process dies after two steps (the third begins a unit)
    runner = make_runner(dsn, init=False, on_step=stop)
    with pytest.raises(KeyboardInterrupt):
        runner.start(migration, saved)
    runner.close()
    assert State(pg_conn, "pgroll", "public").active() is not None

    other_out = tmp_path / "other.json"
    assert invoke("plan", str(EXAMPLES / f"{TARGET}.pgroll"), "--history",
                  str(tmp_path / "history"), "--backfill-batch-size", "7", "--format", "json",
                  "-o", str(other_out)).exit_code == 0
    other = invoke("start", "--plan", str(other_out), "--postgres-url", dsn)
    assert other.exit_code == 1 and "was started with another plan" in other.stderr

    messages: list[str] = []
    resumed = make_runner(dsn, init=False, on_message=messages.append)
    resumed.start(migration, saved)
    resumed.complete()
    resumed.close()
    assert any("resuming the start" in m and "at step 3" in m for m in messages), messages
    assert _history(pg_conn)[-1] == (TARGET, True)


def test_reading_back_refuses_what_is_not_a_plan() -> None:
    with pytest.raises(SavedPlanError, match="not a saved plan"):
        read_saved("SELECT 1;\n", "x.sql")
    with pytest.raises(SavedPlanError, match="not a saved plan"):
        read_saved("[1, 2]", "x.json")


def test_an_option_that_would_plan_other_steps_is_refused(pg_conn: Connection, pg_dsn: str,
                                                          tmp_path: Path) -> None:
    """A flag typed with --plan that the saved plan was not made with is refused, not ignored;
    the same value as the plan's, or a run-only option, is accepted."""
    dsn = _database(pg_conn, pg_dsn)
    path = _saved_plan(tmp_path, "json")
    before, history = introspect(pg_conn), _history(pg_conn)
    for flags, said in ((["--backfill-batch-size", "7"], "--backfill-batch-size 7 differs from "
                         "the saved plan's default"),
                        (["--no-use-version-schema"], "--use-version-schema False differs")):
        result = invoke("start", "--plan", str(path), *flags, "--postgres-url", dsn)
        assert result.exit_code == 2, result.stdout + result.stderr
        assert said in result.stderr and "Traceback" not in result.stderr
        assert introspect(pg_conn) == before and _history(pg_conn) == history
    result = invoke("start", "--plan", str(path), "--backfill-batch-time", "50",
                    "--backfill-workers", "2", "--postgres-url", dsn)
    assert result.exit_code == 0, result.stdout + result.stderr


def test_a_plan_for_postgresql_14_is_refused_by_a_newer_server(pg_conn: Connection,
                                                              pg_dsn: str,
                                                              tmp_path: Path) -> None:
    """Its views lack security_invoker: on 15+ they would run with their owner's rights.

    A plan made against the server itself follows the server, whatever --pg-version says
    (that steers only the safety lints then).
    """
    dsn = _database(pg_conn, pg_dsn)
    history = tmp_path / "history"
    history.mkdir()
    for name in ("01_create_users.pgroll", "02_add_orders.pgroll"):
        shutil.copy(EXAMPLES / name, history / name)
    out = tmp_path / "plan14.sql"
    target = str(EXAMPLES / f"{TARGET}.pgroll")
    made = invoke("plan", target, "--history", str(history), "--pg-version", "14", "-o", str(out))
    assert made.exit_code == 0, made.stderr
    assert "WITH (security_invoker" not in out.read_text()
    before, history_rows = introspect(pg_conn), _history(pg_conn)

    result = invoke("start", "--plan", str(out), "--postgres-url", dsn)
    assert result.exit_code == 1, result.stdout + result.stderr
    major = pg_conn.info.server_version // 10000
    assert (f"the plan was made for PostgreSQL 14 (views without security_invoker); this "
            f"server is {major}: plan against it") in result.stderr
    assert "Traceback" not in result.stderr
    assert introspect(pg_conn) == before and _history(pg_conn) == history_rows

    live = invoke("plan", target, "--postgres-url", dsn, "--pg-version", "14", "--phase",
                  "start")
    assert live.exit_code == 0, live.stderr
    assert "WITH (security_invoker = true)" in live.stdout
