"""The public API on the embedded PostgreSQL: every live command, its results and errors.

What a ``Migrator`` returns is checked against the database itself (the version schemas, the
rows through each version), and each exception class against the situation it stands for.
"""

from __future__ import annotations

import subprocess
import sys
import threading
from pathlib import Path

import psycopg
import pytest
from psycopg.conninfo import make_conninfo

from pgroll_dsl import api
from tests.live_helpers import Connection, client, dsn_of, schemas
from tests.test_api import RETYPE, SETUP

SEED = 40


def _project(tmp_path: Path) -> Path:
    folder = tmp_path / "migrations"
    folder.mkdir()
    (folder / "01_items.pgroll").write_text(SETUP, encoding="utf-8")
    (folder / "02_price_int.pgroll").write_text(RETYPE, encoding="utf-8")
    return folder


def _seed(dsn: str, version: str) -> None:
    with client(dsn, version) as conn:
        conn.execute("INSERT INTO items (id, title, price) SELECT i, 'item ' || i, i::text "
                     "FROM generate_series(1, %s) i", (SEED,))


def test_start_complete_status_latest_with_progress(pg_dsn: str, pg_conn: Connection,
                                                    tmp_path: Path) -> None:
    dsn, folder = dsn_of(pg_dsn, pg_conn), _project(tmp_path)
    progress: list[tuple[str, int, int]] = []
    messages: list[str] = []
    with api.connect(dsn, api.SessionOptions(lock_timeout_ms=800),
                     api.Backfill(batch_size=5, batch_time_ms=0),
                     on_progress=lambda *report: progress.append(report),
                     on_message=messages.append) as db:
        db.init()
        assert db.status() == api.Status("public", "", "No migrations")
        first = db.start(folder / "01_items.pgroll", complete=True)
        assert first == api.Started("01_items", "public_01_items", None, True, ())
        _seed(dsn, "public_01_items")
        second = db.start(folder / "02_price_int.pgroll")
        assert (second.name, second.version_schema, second.previous_version_schema,
                second.completed) == ("02_price_int", "public_02_price_int", "public_01_items",
                                      False)
        assert db.status().status == "In progress"
        assert db.latest() == "public_02_price_int"
        assert db.latest_migration() == "02_price_int"
        assert {"public_01_items", "public_02_price_int"} <= schemas(pg_conn)
        with client(dsn, "public_02_price_int") as new:
            prices = dict(new.execute("SELECT id, price FROM items").fetchall())
        assert prices == {i: i for i in range(1, SEED + 1)}  # backfilled, as integers
        assert progress and progress[-1][0] == "items" and progress[-1][1] == SEED
        assert db.complete() == api.Finished("02_price_int", "complete")
        assert db.status() == api.Status("public", "02_price_int", "Complete")
        assert "public_01_items" not in schemas(pg_conn)
    assert api.latest_version_schema(dsn) == "public_02_price_int"


def test_rollback_and_refusals(pg_dsn: str, pg_conn: Connection, tmp_path: Path) -> None:
    dsn, folder = dsn_of(pg_dsn, pg_conn), _project(tmp_path)
    with api.connect(dsn) as db:
        with pytest.raises(api.MigrationRefused, match="not initialized"):
            db.status()
        db.init()
        with pytest.raises(api.MigrationRefused, match="no active migration"):
            db.complete()
        with pytest.raises(api.MigrationRefused, match="no version schemas"):
            db.latest()
        with pytest.raises(api.MigrationRefused, match="no migrations"):
            db.latest_migration()
        with pytest.raises(api.MigrationRefused):
            api.latest_version_schema(dsn)
        db.start(folder / "01_items.pgroll", complete=True)
        db.start(folder / "02_price_int.pgroll")
        with pytest.raises(api.MigrationRefused, match="already in progress"):
            db.start(api.compile_text("alter table items add note text;", "03_note"))
        assert db.rollback() == api.Finished("02_price_int", "rollback")
        assert "public_02_price_int" not in schemas(pg_conn)
        assert db.latest() == "public_01_items"
        with pytest.raises(api.InvalidMigration) as caught:
            db.start(api.compile_text("alter table items drop column nope;", "03_bad"))
        assert caught.value.diagnostics[0].code.id == "PGD204"
        assert db.status().status == "Complete"  # nothing was recorded


def test_unreachable_database() -> None:
    url = "postgresql://nobody@127.0.0.1:1/none?connect_timeout=2"
    with pytest.raises(api.DatabaseUnreachable) as caught:
        api.connect(url)
    assert caught.value.diagnostics[0].code.id == "PGD901"
    with pytest.raises(api.DatabaseUnreachable):
        api.latest_version_schema(url)


def test_migrate_a_directory_on_an_open_connection(pg_dsn: str, pg_conn: Connection,
                                                   tmp_path: Path) -> None:
    dsn, folder = dsn_of(pg_dsn, pg_conn), _project(tmp_path)
    heard: list[str] = []
    with psycopg.connect(dsn) as mine, api.connect(mine) as db:
        db.init()
        done = db.migrate(folder, on_started=lambda s: heard.append(s.name))
        assert heard == ["01_items", "02_price_int"]
        assert [s.completed for s in done.started] == [True, False]
        assert done.files == (folder / "01_items.pgroll", folder / "02_price_int.pgroll")
        again = db.migrate(folder)
        assert again.active == "02_price_int" and not again.started
        db.complete()
        assert db.migrate(folder).up_to_date
        assert mine.info.transaction_status == psycopg.pq.TransactionStatus.IDLE
    (folder / "01_items.json").write_text("{}", encoding="utf-8")
    with api.connect(dsn) as db, pytest.raises(api.InvalidMigration) as caught:
        db.migrate(folder)
    assert caught.value.diagnostics[0].code.id == "PGD113"


def test_migrate_refuses_files_that_do_not_match_the_history(
        pg_dsn: str, pg_conn: Connection, tmp_path: Path) -> None:
    dsn, folder = dsn_of(pg_dsn, pg_conn), _project(tmp_path)
    with api.connect(dsn) as db:
        db.init()
        db.migrate(folder, complete=True)
        (folder / "01_items.pgroll").rename(folder / "01_other.pgroll")
        with pytest.raises(api.MigrationRefused, match="does not match"):
            db.migrate(folder)


def test_a_lost_connection_is_phase_incomplete_and_start_resumes(
        pg_dsn: str, pg_conn: Connection, tmp_path: Path) -> None:
    """The migration's backend killed during the backfill: the start stops part-way; run
    again, it finishes, and every row reads through the new version."""
    dsn, folder = dsn_of(pg_dsn, pg_conn), _project(tmp_path)
    with api.connect(dsn) as db:
        db.init()
        db.start(folder / "01_items.pgroll", complete=True)
    _seed(dsn, "public_01_items")
    killed = threading.Event()

    def kill_on_first_batch(table: str, rows: int, total: int) -> None:
        if rows > 0 and not killed.is_set():
            killed.set()
            pg_conn.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                            "WHERE starts_with(application_name, 'pgroll-dsl') AND datname = "
                            "current_database()")

    with api.connect(dsn, backfill=api.Backfill(batch_size=5, batch_time_ms=0),
                     on_progress=kill_on_first_batch) as db:
        with pytest.raises(api.PhaseIncomplete) as caught:
            db.start(folder / "02_price_int.pgroll")
    assert caught.value.phase == "start"
    assert caught.value.file == folder / "02_price_int.pgroll"
    with api.connect(make_conninfo(dsn)) as db:
        assert db.status().status == "In progress"
        resumed = db.start(folder / "02_price_int.pgroll", complete=True)
        assert resumed.completed
    with client(dsn, "public_02_price_int") as new:
        prices = dict(new.execute("SELECT id, price FROM items").fetchall())
    assert prices == {i: i for i in range(1, SEED + 1)}


def test_dump_catalog_and_plan_against_the_live_database(pg_dsn: str, pg_conn: Connection,
                                                         tmp_path: Path) -> None:
    dsn, folder = dsn_of(pg_dsn, pg_conn), _project(tmp_path)
    with api.connect(dsn) as db:
        db.init()
        db.start(folder / "01_items.pgroll", complete=True)
    snapshot = tmp_path / "catalog.json"
    snapshot.write_text(api.dump_catalog(dsn), encoding="utf-8")
    migration = api.compile_file(folder / "02_price_int.pgroll").migration
    live = api.plan_migration(migration, postgres_url=dsn).plan
    offline = api.plan_migration(migration, snapshot=snapshot).plan
    assert live.previous_version_schema == offline.previous_version_schema == "public_01_items"
    # The snapshot names the latest migration's version schema: the same plan, phase for phase.
    for phase in ("start", "complete", "rollback"):
        assert [s.sql for s in getattr(live, phase)] == [
            s.sql for s in getattr(offline, phase)], phase
    assert api.validate(folder / "02_price_int.pgroll", postgres_url=dsn).ok


def test_a_schema_the_database_lacks_is_refused_not_read_as_empty(
        pg_dsn: str, pg_conn: Connection, tmp_path: Path) -> None:
    """A mistyped --schema was read as an empty schema: ``catalog dump`` wrote a snapshot of
    nothing, ``plan`` planned a CREATE TABLE into a schema start then failed on, and every
    table a migration names was 'unknown'. Now PGD904, an environment error (exit 2)."""
    dsn, folder = dsn_of(pg_dsn, pg_conn), _project(tmp_path)
    pg_conn.execute('CREATE SCHEMA "App"')
    wrong = ("app", "App ")
    for schema in wrong:
        with pytest.raises(api.InvalidMigration, match="PGD904|no schema") as caught:
            api.dump_catalog(dsn, schema)
        assert [d.code.id for d in caught.value.diagnostics] == ["PGD904"]
        with pytest.raises(api.InvalidMigration, match="no schema"):
            api.plan_migration(api.compile_file(folder / "01_items.pgroll").migration,
                               postgres_url=dsn, schema=schema)
        checked = api.validate(folder, postgres_url=dsn, schema=schema)
        assert not checked.ok and checked.stopped
    assert '"schema": "App"' in api.dump_catalog(dsn, "App")
    done = subprocess.run([sys.executable, "-m", "pgroll_dsl", "catalog", "dump",
                           "--postgres-url", dsn, "--schema", "app"], capture_output=True,
                          text=True, check=False, timeout=120)
    assert done.returncode == 2, done
    assert done.stderr.startswith('error[PGD904]: cannot read the catalog: the database has '
                                  'no schema "app" (is --schema right?)'), done.stderr
    assert done.stdout == ""


def test_statements_heard_and_no_version_schema(pg_dsn: str, pg_conn: Connection,
                                                tmp_path: Path) -> None:
    dsn, folder = dsn_of(pg_dsn, pg_conn), _project(tmp_path)
    ran: list[tuple[str, float | None]] = []
    with api.connect(dsn, on_statement=lambda sql, seconds: ran.append((sql, seconds)),
                     use_version_schema=False) as db:
        db.init()
        db.start(folder / "01_items.pgroll", complete=True)
    assert any("CREATE TABLE" in sql for sql, _ in ran)
    before, after = ran[0::2], ran[1::2]
    assert [sql for sql, _ in before] == [sql for sql, _ in after]
    assert all(s is None for _, s in before) and all(s is not None and s >= 0 for _, s in after)
    assert "public_01_items" not in schemas(pg_conn)
    assert pg_conn.execute("SELECT to_regclass('public.items') IS NOT NULL").fetchone() == (True,)


def test_a_saved_plan_runs_only_where_it_still_holds(pg_dsn: str, pg_conn: Connection,
                                                     tmp_path: Path) -> None:
    """Planned against the live database, saved, reviewed, started from the file; an edited
    file or a changed database is refused before anything runs."""
    dsn, folder = dsn_of(pg_dsn, pg_conn), _project(tmp_path)
    with api.connect(dsn) as db:
        db.init()
        db.start(folder / "01_items.pgroll", complete=True)
    migration = api.compile_file(folder / "02_price_int.pgroll").migration
    saved_file = tmp_path / "02.plan.sql"
    saved_file.write_text(api.save_plan(api.plan_migration(migration, postgres_url=dsn).plan),
                          encoding="utf-8")
    edited = tmp_path / "edited.plan.sql"
    edited.write_text(saved_file.read_text(encoding="utf-8").replace("CAST", "cast", 1),
                      encoding="utf-8")
    with pytest.raises(api.InvalidSavedPlan):
        api.read_saved_plan(edited)
    with pytest.raises(api.InvalidMigration):
        api.read_saved_plan(tmp_path / "missing.plan.sql")
    saved = api.read_saved_plan(saved_file)
    pg_conn.execute("ALTER TABLE public.items ADD COLUMN extra int")  # the schema moved on
    with api.connect(dsn) as db, pytest.raises(api.MigrationRefused, match="does not match"):
        db.start(saved=saved)
    pg_conn.execute("ALTER TABLE public.items DROP COLUMN extra")
    with api.connect(dsn) as db:
        started = db.start(saved=saved, complete=True)
        assert (started.name, started.completed) == ("02_price_int", True)
        assert db.status() == api.Status("public", "02_price_int", "Complete")


# ---- what the command line needs of the API: history, baseline, pull, pending, try ----------

def test_validate_skips_what_the_database_applied_and_pending_says_what_is_left(
        pg_dsn: str, pg_conn: Connection, tmp_path: Path) -> None:
    dsn, folder = dsn_of(pg_dsn, pg_conn), _project(tmp_path)
    with api.connect(dsn) as db:
        db.init()
        assert db.pending(folder) == api.Pending(None, (folder / "01_items.pgroll",
                                                        folder / "02_price_int.pgroll"))
        db.start(folder / "01_items.pgroll", complete=True)
        assert db.current_version_schema() == "public_01_items"
        assert db.pending(folder).files == (folder / "02_price_int.pgroll",)
        result = api.validate([folder], postgres_url=dsn, summaries=True)
        assert (result.ok, result.checked, result.skipped) == (True, 1, 1)
        # planned against the live schema, with the database's row estimates
        assert [m.name for m in result.migrations] == ["02_price_int"]
        assert result.migrations[0].plan is not None
        db.start(folder / "02_price_int.pgroll")
        assert db.pending(folder) == api.Pending("02_price_int", ())
    with api.connect(dsn) as db, db.exclusive():  # a second run is refused meanwhile
        with pytest.raises(api.MigrationRefused), api.connect(dsn) as other:
            other.complete()
    unreachable = api.validate(folder, postgres_url="postgresql://nobody@127.0.0.1:1/none"
                                                    "?connect_timeout=2")
    assert unreachable.stopped and unreachable.errors[0].code.id == "PGD901"


def test_baseline_then_pull_into_another_directory(pg_dsn: str, pg_conn: Connection,
                                                   tmp_path: Path) -> None:
    dsn = dsn_of(pg_dsn, pg_conn)
    pg_conn.execute("CREATE TABLE shop (id bigint PRIMARY KEY, name text NOT NULL)")
    with api.connect(dsn) as db:
        db.init()
        made = db.baseline("01_baseline", tmp_path / "migrations", "json")
        assert (made.name, made.path, made.tables) == (
            "01_baseline", tmp_path / "migrations" / "01_baseline.json", 1)
        assert "CREATE TABLE" in made.path.read_text(encoding="utf-8")
        with pytest.raises(api.MigrationRefused, match="already"):
            db.baseline("01_baseline", tmp_path / "elsewhere")
        assert not (tmp_path / "elsewhere" / "01_baseline.yaml").exists()
        assert db.latest_migration() == "01_baseline"
        pulled = db.pull(tmp_path / "copy", "dsl", prefixes=True)
        assert [p.name for p in pulled.written] == ["0001_01_baseline.pgroll"]
        assert db.pull(tmp_path / "copy", "dsl", prefixes=True).written == ()
    # the baseline replays offline: a migration on top of it validates against it
    (tmp_path / "migrations" / "02_note.pgroll").write_text(
        "alter table shop add note text;\n", encoding="utf-8")
    assert api.validate(tmp_path / "migrations").ok


def test_search_path_url_and_the_demo_of_try(pg_dsn: str, pg_conn: Connection,
                                             tmp_path: Path) -> None:
    from pgroll_dsl.api import demo

    dsn, folder = dsn_of(pg_dsn, pg_conn), _project(tmp_path)
    assert "search_path%3Dv1" in api.search_path_url("postgresql://u@h/db", "v1")
    with pytest.raises(ValueError):
        api.search_path_url("host='unterminated", "v1")
    with api.connect(dsn) as db:
        db.init()
        db.start(folder / "01_items.pgroll", complete=True)
        migration = api.compile_text("alter table items rename title to name;\n",
                                     "02_rename").migration
        old = db.current_version_schema()
        assert old == "public_01_items"
        prepared = demo.prepare(db, migration, old)
        new = db.start(migration).version_schema
        shown = demo.during(db, prepared, old, new)
        assert [(s.table, s.seeded) for s in shown] == [("items", demo.SEED_ROWS)]
        cells = {row.who: row.cells for row in shown[0].rows}
        assert set(cells) >= {"old client", "new client"}
        assert demo.version_tables(db, old) == {"items": "id, title, price"}
        assert demo.version_tables(db, new) == {"items": "id, name, price"}
        assert new == "public_02_rename"
        db.complete()
