"""pgroll's 56 example migrations through the live executor, on a real PostgreSQL.

* ``migrate --complete`` applies the whole corpus to an empty database: the history is pgroll's
  (every migration done, in order, each the parent of the next), ``status`` reports the last
  version, and the introspected schema means the same as the replayed one.
* The Runner takes every example through start, rollback (catalog, rows, schemas and state
  exactly as before), start again and complete, with rows in every table, so backfills,
  checks and NOT NULL validations run over real data.
* ``migrate`` without ``--complete`` leaves the last migration active; ``complete`` ends it.

The corpus has a known defect (example 35's ``down: event_name``, see the conformance README):
these tests apply a copy in which that line reads ``down: name``.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest
from psycopg import sql
from typer.testing import CliRunner

from pgroll_dsl import api, ir
from pgroll_dsl.backends.runner import CommandError, Runner
from pgroll_dsl.catalog.compare import differences
from pgroll_dsl.catalog.introspect import introspect
from pgroll_dsl.catalog.model import Catalog
from pgroll_dsl.catalog.replay import apply_migration, replay
from pgroll_dsl.cli import app
from pgroll_dsl.frontend import migration_files
from tests.conftest import conformance_files
from tests.live_helpers import (
    SCHEMA,
    Connection,
    dsn_of,
    make_runner,
    schemas,
    triggers_and_functions,
    version_schema,
)
from tests.test_plan_live import all_rows, seed_rows

DEFECTIVE_FILE = "35_alter_column_multiple.yaml"
DEFECT, FIX = "down: event_name", "down: name"
LAST_VERSION = "with_version_schema"  # example 56's version_schema

# The examples whose new constraint the generic seeded rows cannot meet: 47 adds a foreign key
# from tickets to a table whose seeded ids the seeded tickets do not reference.
REFUSED_WITH_SEEDED_ROWS = {"47_add_table_foreign_key_constraint"}


# ---- fixtures and helpers ----------------------------------------------------------------------


@pytest.fixture
def corpus(tmp_path: Path) -> Path:
    """A copy of the corpus with example 35's defect fixed."""
    directory = tmp_path / "pgroll-examples"
    directory.mkdir()
    for path in conformance_files():
        shutil.copyfile(path, directory / path.name)
    defective = directory / DEFECTIVE_FILE
    text = defective.read_text(encoding="utf-8")
    assert text.count(DEFECT) == 1, "the known defect of example 35 is gone: update this test"
    defective.write_text(text.replace(DEFECT, FIX), encoding="utf-8")
    return directory


def compiled(directory: Path) -> list[ir.Migration]:
    """The migrations of a directory, compiled, in migrate's order."""
    return [api.compile_file(path).migration for path in migration_files(directory)]


@pytest.fixture
def db(pg_conn: Connection, pg_dsn: str) -> str:
    """A connection string for the test's database."""
    return dsn_of(pg_dsn, pg_conn)


def invoke(*args: str) -> Any:
    return CliRunner().invoke(app, list(args))


def output(result: Any) -> str:
    """Everything a command printed (stdout and stderr)."""
    return str(result.output)


History = list[tuple[str, str | None, bool]]


def history(conn: Connection) -> History:
    """(name, parent, done) of the target schema's migrations, oldest first."""
    rows = conn.execute("SELECT name, parent, done FROM pgroll.migrations WHERE schema = %s "
                        "ORDER BY created_at, name", (SCHEMA,)).fetchall()
    return [(r[0], r[1], r[2]) for r in rows]


def linked(names: list[str]) -> list[tuple[str, str | None]]:
    """(name, parent) of a linear history of these migrations."""
    return list(zip(names, [None, *names[:-1]], strict=True))


def status(dsn: str) -> dict[str, str]:
    result = invoke("status", "--postgres-url", dsn)
    assert result.exit_code == 0, output(result)
    document: dict[str, str] = json.loads(result.stdout)
    return document


State = tuple[Catalog, dict[str, list[Any]], set[str], list[str], History]


def everything(conn: Connection) -> State:
    """What a rollback or a refused start must leave exactly as it was."""
    catalog = introspect(conn, SCHEMA)
    return (catalog, all_rows(conn, catalog), schemas(conn), triggers_and_functions(conn),
            history(conn))


def assert_unchanged(conn: Connection, before: State, what: str) -> None:
    after = everything(conn)
    assert after[0] == before[0], (what, differences(before[0], after[0]))
    assert after[1] == before[1], (what, "rows changed")
    assert after[2] == before[2], (what, "schemas", before[2] ^ after[2])
    assert after[3] == before[3], (what, "triggers and functions", before[3], after[3])
    assert after[4] == before[4], (what, "history", before[4], after[4])


def truncate_all(conn: Connection, catalog: Catalog) -> None:
    if catalog.tables:
        names = sql.SQL(", ").join(sql.Identifier(SCHEMA, t.name) for t in catalog.tables)
        conn.execute(sql.SQL("TRUNCATE {} CASCADE").format(names))


# ---- migrate --complete --------------------------------------------------------------------


def test_migrate_complete_applies_the_whole_corpus(pg_conn: Connection, db: str,
                                                   corpus: Path) -> None:
    url = ("--postgres-url", db)
    names = [p.stem for p in conformance_files()]
    assert len(names) == 56

    result = invoke("init", *url)
    assert result.exit_code == 0, output(result)
    result = invoke("migrate", str(corpus), "--complete", *url)
    assert result.exit_code == 0, output(result)
    for name in names:
        assert f'Migration "{name}" complete' in output(result), (name, output(result))

    recorded = history(pg_conn)
    assert [(n, p) for n, p, _ in recorded] == linked(names)
    assert all(done for _, _, done in recorded), recorded
    assert status(db) == {"schema": SCHEMA, "version": LAST_VERSION, "status": "Complete"}
    # Complete dropped every earlier version schema: only the last one is left.
    assert {s for s in schemas(pg_conn) if s.startswith(f"{SCHEMA}_")} == {
        version_schema(LAST_VERSION)}

    expected = replay(compiled(corpus))
    assert expected.last_version_schema == LAST_VERSION
    assert differences(expected.catalog, introspect(pg_conn, SCHEMA)) == []

    result = invoke("migrate", str(corpus), "--complete", *url)
    assert result.exit_code == 0, output(result)
    assert "Database is up to date" in output(result), output(result)
    assert history(pg_conn) == recorded


# ---- every example: start, rollback, start, complete ----------------------------------------


def start_with_rows(conn: Connection, runner: Runner, migration: ir.Migration) -> bool:
    """Seed rows, start, roll back (nothing changed), start again; False if rows were refused.

    A start the seeded rows make fail (a constraint the migration adds) must be refused with
    everything left as before; the tables are then emptied and the migration started without
    rows.
    """
    seed_rows(conn, introspect(conn, SCHEMA))
    before = everything(conn)
    try:
        runner.start(migration)
    except CommandError as refusal:
        assert "start failed, changes rolled back" in str(refusal), (migration.name, refusal)
        assert_unchanged(conn, before, f"{migration.name}: refused start")
        truncate_all(conn, before[0])
        runner.start(migration)
        return False
    assert runner.state.active() is not None
    assert runner.rollback() == migration.name
    assert_unchanged(conn, before, f"{migration.name}: rollback")
    runner.start(migration)
    return True


def test_every_example_starts_rolls_back_and_completes(pg_conn: Connection, db: str,
                                                       corpus: Path) -> None:
    runner = make_runner(db)
    catalog, done, refused = Catalog(), [], []
    try:
        for migration in compiled(corpus):
            if not start_with_rows(pg_conn, runner, migration):
                refused.append(migration.name)
            version = migration.version_schema or migration.name
            assert runner.status() == {"schema": SCHEMA, "version": version,
                                       "status": "In progress"}, migration.name
            assert runner.complete() == migration.name
            done.append(migration.name)
            catalog, _ = apply_migration(catalog, migration)
            assert differences(catalog, introspect(pg_conn, SCHEMA)) == [], migration.name
            assert [(n, p) for n, p, _ in history(pg_conn)] == linked(done), migration.name
            assert all(d for _, _, d in history(pg_conn)), migration.name
    finally:
        runner.close()
    assert len(done) == 56
    assert status(db) == {"schema": SCHEMA, "version": LAST_VERSION, "status": "Complete"}
    assert set(refused) <= REFUSED_WITH_SEEDED_ROWS, refused


# ---- migrate without --complete --------------------------------------------------------------


def test_migrate_leaves_the_last_migration_active(pg_conn: Connection, db: str,
                                                  corpus: Path) -> None:
    url = ("--postgres-url", db)
    names = [p.stem for p in conformance_files()]
    previous = compiled(corpus)[-2]
    previous_version = version_schema(previous.version_schema or previous.name)

    assert invoke("init", *url).exit_code == 0
    result = invoke("migrate", str(corpus), *url)
    assert result.exit_code == 0, output(result)
    assert f'Migration "{names[-2]}" complete' in output(result), output(result)
    assert f'Migration "{names[-1]}" complete' not in output(result), output(result)

    recorded = history(pg_conn)
    assert [(n, p) for n, p, _ in recorded] == linked(names)
    assert [done for _, _, done in recorded] == [True] * 55 + [False]
    assert status(db) == {"schema": SCHEMA, "version": LAST_VERSION, "status": "In progress"}
    # Both versions are served while the last migration is active.
    assert {previous_version, version_schema(LAST_VERSION)} <= schemas(pg_conn)

    result = invoke("complete", *url)
    assert result.exit_code == 0, output(result)
    assert f'Migration "{names[-1]}" complete' in output(result), output(result)
    assert all(done for _, _, done in history(pg_conn))
    assert status(db) == {"schema": SCHEMA, "version": LAST_VERSION, "status": "Complete"}
    assert previous_version not in schemas(pg_conn)
    assert differences(replay(compiled(corpus)).catalog, introspect(pg_conn, SCHEMA)) == []

    result = invoke("migrate", str(corpus), *url)
    assert result.exit_code == 0, output(result)
    assert "Database is up to date" in output(result), output(result)


# ---- the corpus as published ---------------------------------------------------------------


def test_migrate_stops_at_the_defect_of_example_35(pg_conn: Connection, db: str,
                                                   corpus: Path) -> None:
    """The unfixed corpus: 35 is refused before anything is applied (every pending file is
    checked against the live schema and the ones before it first; pgroll applies 01 to 34,
    completed for good, and stops at 35)."""
    url = ("--postgres-url", db)
    names = [p.stem for p in conformance_files()]

    assert invoke("init", *url).exit_code == 0
    result = invoke("migrate", str(conformance_files()[0].parent), "--complete", *url)
    assert result.exit_code == 1, output(result)
    assert f"{DEFECTIVE_FILE}:15:" in output(result), output(result)
    assert '"event_name"' in output(result), output(result)
    assert history(pg_conn) == []
    assert status(db)["status"] == "No migrations"

    # The fixed copy: migrate applies every file.
    result = invoke("migrate", str(corpus), "--complete", *url)
    assert result.exit_code == 0, output(result)
    assert [(n, p) for n, p, _ in history(pg_conn)] == linked(names)
    assert differences(replay(compiled(corpus)).catalog, introspect(pg_conn, SCHEMA)) == []
