"""Adversarial review of the Python API and the application integrations, on a real server.

Hostile input, calls in an unexpected order, lost connections, roles without rights, racing
runs and connection pools: each test states what a production user may expect (a typed
exception, no partial change, documented return values). The review found ten defects, each
reproduced here before it was fixed (the test failed): a Django connection without
autocommit lost its version at its first rollback; ``migrate`` completed the earlier files
before finding a later one invalid; a version schema past 63 bytes was cut by PostgreSQL and
lost; two ``init`` at once failed; a ``+`` in a URL's query became a space; Django's
``database_options`` dropped the caller's libpq options; ``pending``/``migrate`` and
``connect`` of a closed connection leaked psycopg's exceptions; ``current_version_schema``
raised before ``init``; ``connection_options`` did not type-check with ``psycopg.connect``.
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import psycopg
import pytest
from psycopg.conninfo import conninfo_to_dict, make_conninfo

from pgroll_dsl import api, app
from tests.fault_model import cli
from tests.live_helpers import Connection, dsn_of, schemas

SETUP = "create table items (id int primary key, title text not null, price text);\n"
RENAME = "alter table items rename title to name;\n"


def _project(tmp_path: Path) -> Path:
    folder = tmp_path / "migrations"
    folder.mkdir()
    (folder / "01_items.pgroll").write_text(SETUP, encoding="utf-8")
    (folder / "02_rename.pgroll").write_text(RENAME, encoding="utf-8")
    return folder


def _items(pg_dsn: str, pg_conn: Connection, tmp_path: Path) -> tuple[str, str]:
    """A database with ``01_items`` completed: its URL and the version schema."""
    dsn, folder = dsn_of(pg_dsn, pg_conn), _project(tmp_path)
    with api.connect(dsn) as db:
        db.init()
        return dsn, db.start(folder / "01_items.pgroll", complete=True).version_schema


def _kill_migrator_sessions(pg_conn: Connection) -> None:
    pg_conn.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                    "WHERE starts_with(application_name, 'pgroll-dsl') "
                    "AND datname = current_database() AND pid <> pg_backend_pid()")


@contextmanager
def _role(pg_conn: Connection, dsn: str) -> Iterator[str]:
    """A login role with no right beyond CONNECT; its DSN."""
    role = f"review_{uuid.uuid4().hex[:10]}"
    pg_conn.execute(f'CREATE ROLE "{role}" LOGIN')
    try:
        yield make_conninfo(dsn, user=role)
    finally:
        pg_conn.execute(f"SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                        f"WHERE usename = '{role}'")
        pg_conn.execute(f'DROP OWNED BY "{role}"')
        pg_conn.execute(f'DROP ROLE "{role}"')


# ---- a Migrator whose connection died ------------------------------------------------------

@pytest.mark.parametrize("method", ["status", "latest", "latest_migration",
                                    "current_version_schema", "progress", "complete",
                                    "rollback"])
def test_a_dead_session_is_database_unreachable(pg_dsn: str, pg_conn: Connection,
                                                tmp_path: Path, method: str) -> None:
    dsn, folder = dsn_of(pg_dsn, pg_conn), _project(tmp_path)
    with api.connect(dsn) as db:
        db.init()
        db.start(folder / "01_items.pgroll", complete=True)
        _kill_migrator_sessions(pg_conn)
        with pytest.raises(api.DatabaseUnreachable):
            getattr(db, method)()


def test_pending_on_a_dead_session_is_database_unreachable(pg_dsn: str, pg_conn: Connection,
                                                           tmp_path: Path) -> None:
    dsn, folder = dsn_of(pg_dsn, pg_conn), _project(tmp_path)
    with api.connect(dsn) as db:
        db.init()
        _kill_migrator_sessions(pg_conn)
        with pytest.raises(api.DatabaseUnreachable):
            db.pending(folder)


def test_pull_on_a_dead_session_is_database_unreachable(pg_dsn: str, pg_conn: Connection,
                                                        tmp_path: Path) -> None:
    dsn, folder = dsn_of(pg_dsn, pg_conn), _project(tmp_path)
    with api.connect(dsn) as db:
        db.init()
        db.start(folder / "01_items.pgroll", complete=True)
        _kill_migrator_sessions(pg_conn)
        with pytest.raises(api.DatabaseUnreachable):
            db.pull(tmp_path / "copy")
    assert not (tmp_path / "copy").exists() or not any((tmp_path / "copy").iterdir())


def test_start_on_a_dead_session_is_typed_and_changes_nothing(
        pg_dsn: str, pg_conn: Connection, tmp_path: Path) -> None:
    dsn, folder = dsn_of(pg_dsn, pg_conn), _project(tmp_path)
    with api.connect(dsn) as db:
        db.init()
        _kill_migrator_sessions(pg_conn)
        with pytest.raises(api.DatabaseUnreachable):
            db.start(folder / "01_items.pgroll")
    with api.connect(dsn) as db:
        assert db.status() == api.Status("public", "", "No migrations")


def test_migrate_on_a_dead_session_is_typed(pg_dsn: str, pg_conn: Connection,
                                            tmp_path: Path) -> None:
    dsn, folder = dsn_of(pg_dsn, pg_conn), _project(tmp_path)
    with api.connect(dsn) as db:
        db.init()
        _kill_migrator_sessions(pg_conn)
        with pytest.raises(api.PgrollDslError):
            db.migrate(folder)


def test_a_closed_migrator_is_typed(pg_dsn: str, pg_conn: Connection) -> None:
    dsn = dsn_of(pg_dsn, pg_conn)
    db = api.connect(dsn)
    db.init()
    db.close()
    with pytest.raises(api.PgrollDslError):
        db.status()


def test_connect_with_a_closed_connection_is_database_unreachable(pg_dsn: str,
                                                                  pg_conn: Connection) -> None:
    conn = psycopg.connect(dsn_of(pg_dsn, pg_conn))
    conn.close()
    with pytest.raises(api.DatabaseUnreachable):
        api.connect(conn)


# ---- a role without rights ----------------------------------------------------------------

def test_a_role_without_rights_on_the_history_is_database_unreachable(
        pg_dsn: str, pg_conn: Connection, tmp_path: Path) -> None:
    dsn, folder = dsn_of(pg_dsn, pg_conn), _project(tmp_path)
    with api.connect(dsn) as db:
        db.init()
        db.start(folder / "01_items.pgroll", complete=True)
    with _role(pg_conn, dsn) as weak:
        with pytest.raises(api.DatabaseUnreachable):
            api.latest_version_schema(weak)
        with api.connect(weak) as db:
            for method in ("status", "latest", "current_version_schema", "progress"):
                with pytest.raises(api.DatabaseUnreachable):
                    getattr(db, method)()
            with pytest.raises(api.DatabaseUnreachable):
                db.init()


def test_pending_as_a_role_without_rights_is_database_unreachable(
        pg_dsn: str, pg_conn: Connection, tmp_path: Path) -> None:
    dsn, folder = dsn_of(pg_dsn, pg_conn), _project(tmp_path)
    with api.connect(dsn) as db:
        db.init()
    with _role(pg_conn, dsn) as weak, api.connect(weak) as db:
        with pytest.raises(api.DatabaseUnreachable):
            db.pending(folder)


def test_migrate_as_a_role_without_rights_is_typed(pg_dsn: str, pg_conn: Connection,
                                                   tmp_path: Path) -> None:
    dsn, folder = dsn_of(pg_dsn, pg_conn), _project(tmp_path)
    with api.connect(dsn) as db:
        db.init()
    with _role(pg_conn, dsn) as weak, api.connect(weak) as db:
        with pytest.raises(api.DatabaseUnreachable):
            db.migrate(folder)


def test_an_unknown_session_role_is_typed(pg_dsn: str, pg_conn: Connection) -> None:
    dsn = dsn_of(pg_dsn, pg_conn)
    with pytest.raises(api.PgrollDslError):
        with api.connect(dsn, api.SessionOptions(role="no such role")) as db:
            db.init()


# ---- calls in an unexpected order, input that does not parse -------------------------------

def test_order_of_calls_is_refused_with_nothing_changed(pg_dsn: str, pg_conn: Connection,
                                                        tmp_path: Path) -> None:
    dsn, folder = dsn_of(pg_dsn, pg_conn), _project(tmp_path)
    with api.connect(dsn) as db:
        for call in (db.complete, db.rollback, db.latest, db.status, db.progress):
            with pytest.raises(api.MigrationRefused, match="not initialized"):
                call()
        with pytest.raises(api.MigrationRefused, match="not initialized"):
            db.start(folder / "01_items.pgroll")
        assert "pgroll" not in schemas(pg_conn)
        db.init()
        db.init()  # again: nothing happens
        with pytest.raises(api.MigrationRefused, match="no active migration"):
            db.rollback()
        first = db.start(folder / "01_items.pgroll")
        again = db.start(folder / "01_items.pgroll")  # a second start resumes: nothing to do
        assert again == first
        db.complete()
        with pytest.raises(api.MigrationRefused, match="already applied"):
            db.start(folder / "01_items.pgroll")
        with pytest.raises(api.MigrationRefused, match="no active migration"):
            db.rollback()
        assert db.status() == api.Status("public", "01_items", "Complete")


def test_current_version_schema_before_init_is_none(pg_dsn: str, pg_conn: Connection) -> None:
    with api.connect(dsn_of(pg_dsn, pg_conn)) as db:
        assert db.current_version_schema() is None


def test_a_file_that_does_not_parse_or_is_missing(pg_dsn: str, pg_conn: Connection,
                                                  tmp_path: Path) -> None:
    dsn, folder = dsn_of(pg_dsn, pg_conn), _project(tmp_path)
    broken = folder / "03_broken.pgroll"
    broken.write_text("alter table items add (;\n", encoding="utf-8")
    with api.connect(dsn) as db:
        db.init()
        db.start(folder / "01_items.pgroll", complete=True)
        with pytest.raises(api.InvalidMigration) as caught:
            db.start(broken)
        assert not caught.value.environment
        with pytest.raises(api.InvalidMigration) as missing:
            db.start(folder / "04_missing.pgroll")
        assert missing.value.environment
        with pytest.raises(api.InvalidMigration):
            db.pending(tmp_path / "no such directory")
        assert db.status() == api.Status("public", "01_items", "Complete")


# ---- hostile names ---------------------------------------------------------------------------

def test_a_target_schema_that_needs_quoting_end_to_end(pg_dsn: str, pg_conn: Connection,
                                                      tmp_path: Path) -> None:
    dsn, folder = dsn_of(pg_dsn, pg_conn), _project(tmp_path)
    schema = 'My "app", schema'
    pg_conn.execute(f"CREATE SCHEMA {app.search_path(schema)}")
    with api.connect(dsn, api.SessionOptions(schema=schema)) as db:
        db.init()
        db.start(folder / "01_items.pgroll", complete=True)
        old = api.latest_version_schema(dsn, schema=schema)
        assert old == app.version_schema("01_items", schema)
        # as docs/api.md shows it (mypy --strict checks this call: ConnectionOptions)
        with psycopg.connect(dsn, autocommit=True, **app.connection_options(old)) as conn:
            conn.execute("INSERT INTO items VALUES (1, 'a', '1')")
        db.start(folder / "02_rename.pgroll")
        new = app.directory_version_schema(folder, schema=schema)
        assert db.latest() == new == db.current_version_schema()
        with psycopg.connect(app.connection_url(dsn, new), autocommit=True) as conn:
            assert conn.execute("SELECT name FROM items").fetchall() == [("a",)]
        db.rollback()
        assert new not in schemas(pg_conn)
        assert db.latest() == old


# ---- racing runs ---------------------------------------------------------------------------

def test_two_processes_starting_at_once_one_wins(pg_dsn: str, pg_conn: Connection,
                                                 tmp_path: Path) -> None:
    dsn, folder = dsn_of(pg_dsn, pg_conn), _project(tmp_path)
    with api.connect(dsn) as db:
        db.init()
        db.start(folder / "01_items.pgroll", complete=True)
    other = api.compile_text("alter table items add note text;", "02_note")
    barrier = threading.Barrier(2)
    outcomes: dict[str, object] = {}

    def run(key: str, migration: Any) -> None:
        with api.connect(dsn) as mine:
            barrier.wait()
            try:
                outcomes[key] = mine.start(migration)
            except api.PgrollDslError as err:
                outcomes[key] = err

    threads = [threading.Thread(target=run, args=("rename", folder / "02_rename.pgroll")),
               threading.Thread(target=run, args=("note", other))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    won = [k for k, v in outcomes.items() if isinstance(v, api.Started)]
    lost = [v for v in outcomes.values() if isinstance(v, api.MigrationRefused)]
    assert len(won) == 1 and len(lost) == 1, outcomes
    with api.connect(dsn) as db:
        assert db.status().status == "In progress"
        assert db.latest_migration() == {"rename": "02_rename", "note": "02_note"}[won[0]]


# ---- connection URLs -----------------------------------------------------------------------

def test_connection_url_keeps_a_plus_in_the_query(pg_dsn: str, pg_conn: Connection,
                                                  tmp_path: Path) -> None:
    dsn, version = _items(pg_dsn, pg_conn, tmp_path)
    params = conninfo_to_dict(dsn)
    url = (f"postgresql://{params['user']}@{params['host']}:{params['port']}/"
           f"{params['dbname']}?application_name=a+b")
    with psycopg.connect(url) as plain:
        assert plain.execute("SHOW application_name").fetchone() == ("a+b",)
    with psycopg.connect(app.connection_url(url, version)) as conn:
        assert conn.execute("SELECT current_setting('application_name'), current_schema()"
                            ).fetchone() == ("a+b", version)


def test_connection_url_keeps_the_urls_own_options(pg_dsn: str, pg_conn: Connection,
                                                   tmp_path: Path) -> None:
    dsn, version = _items(pg_dsn, pg_conn, tmp_path)
    params = conninfo_to_dict(dsn)
    url = (f"postgresql://{params['user']}@{params['host']}:{params['port']}/"
           f"{params['dbname']}?options=-c%20statement_timeout%3D4321%20-c%20search_path%3Dx")
    for given in (url, make_conninfo(dsn, options="-c statement_timeout=4321")):
        with psycopg.connect(app.connection_url(given, version)) as conn:
            assert conn.execute("SELECT current_setting('statement_timeout'), "
                                "current_schema()").fetchone() == ("4321ms", version)


# ---- migrate: a bad file later in the directory ----------------------------------------------

def test_migrate_with_an_invalid_later_file_changes_nothing(
        pg_dsn: str, pg_conn: Connection, tmp_path: Path) -> None:
    dsn, folder = dsn_of(pg_dsn, pg_conn), _project(tmp_path)
    (folder / "02_rename.pgroll").write_text("alter table items rename nope to name;\n",
                                             encoding="utf-8")
    with api.connect(dsn) as db:
        db.init()
        with pytest.raises(api.InvalidMigration) as caught:
            db.migrate(folder)
        assert db.status() == api.Status("public", "", "No migrations")
    assert any(d.span is not None and d.span.path.endswith("02_rename.pgroll")
               for d in caught.value.diagnostics)


def test_migrate_command_with_an_invalid_later_file_changes_nothing(
        pg_dsn: str, pg_conn: Connection, tmp_path: Path) -> None:
    """The command line's ``migrate`` (its own loop over the files): the same, with the
    later file's diagnostic at its position, exit 1, no traceback."""
    dsn, folder = dsn_of(pg_dsn, pg_conn), _project(tmp_path)
    (folder / "03_drop.pgroll").write_text("alter table items drop nope;\n", encoding="utf-8")
    assert cli(["init"], dsn).returncode == 0
    failed = cli(["migrate", str(folder)], dsn)
    assert failed.returncode == 1, failed.describe()
    assert "03_drop.pgroll:1:" in failed.stderr and "Traceback" not in failed.stderr
    with api.connect(dsn) as db:
        assert db.status() == api.Status("public", "", "No migrations")
    (folder / "03_drop.pgroll").write_text("alter table items drop price;\n", encoding="utf-8")
    done = cli(["migrate", str(folder), "--complete"], dsn)
    assert done.returncode == 0, done.describe()
    with api.connect(dsn) as db:
        assert db.status() == api.Status("public", "03_drop", "Complete")


# ---- version schema names PostgreSQL cuts to 63 bytes ---------------------------------------

def test_a_version_schema_longer_than_postgres_keeps(pg_dsn: str, pg_conn: Connection) -> None:
    dsn = dsn_of(pg_dsn, pg_conn)
    long_name = "m" + "x" * 60 + "1"  # public_<62 bytes>: 69 bytes
    with api.connect(dsn) as db:
        db.init()
        try:
            db.start(api.compile_text(SETUP, long_name), complete=True)
        except api.InvalidMigration:
            assert db.status() == api.Status("public", "", "No migrations")
            return
        assert db.status().status == "Complete"
        latest = db.latest()
    assert api.latest_version_schema(dsn) == latest
    with psycopg.connect(app.connection_url(dsn, latest), autocommit=True) as conn:
        conn.execute("INSERT INTO items VALUES (1, 'a', '1')")


# ---- Django ------------------------------------------------------------------------------------

@pytest.fixture
def _django() -> Iterator[None]:
    import django
    from django.conf import settings

    if not settings.configured:
        settings.configure(DATABASES={}, INSTALLED_APPS=[], USE_TZ=True)
        django.setup()
    yield


def _django_database(dsn: str, options: dict[str, Any], **more: Any) -> dict[str, Any]:
    params = conninfo_to_dict(dsn)
    return {"ENGINE": "django.db.backends.postgresql", "NAME": params.get("dbname"),
            "USER": params.get("user", ""), "PASSWORD": params.get("password", ""),
            "HOST": params.get("host", ""), "PORT": params.get("port", ""),
            "OPTIONS": options, **more}


@pytest.mark.usefixtures("_django")
def test_django_receiver_without_autocommit(pg_dsn: str, pg_conn: Connection,
                                            tmp_path: Path) -> None:
    from django.db.backends.signals import connection_created
    from django.db.utils import ConnectionHandler

    from pgroll_dsl.app import django as app_django

    dsn, version = _items(pg_dsn, pg_conn, tmp_path)
    handler = ConnectionHandler({"default": _django_database(dsn, {}, AUTOCOMMIT=False)})
    receiver = app_django.use_version_schema(version, alias="default")
    try:
        conn = handler["default"]
        with conn.cursor() as cursor:
            cursor.execute("SELECT current_schema()")
            assert cursor.fetchone() == (version,)
        conn.rollback()  # the application's first transaction fails
        with conn.cursor() as cursor:
            cursor.execute("SELECT current_schema()")
            assert cursor.fetchone() == (version,)
    finally:
        connection_created.disconnect(receiver)
        handler.close_all()


@pytest.mark.usefixtures("_django")
def test_django_database_options_keep_the_callers_libpq_options(
        pg_dsn: str, pg_conn: Connection, tmp_path: Path) -> None:
    from django.db.utils import ConnectionHandler

    from pgroll_dsl.app import django as app_django

    dsn, version = _items(pg_dsn, pg_conn, tmp_path)
    options = app_django.database_options(version, options="-c statement_timeout=4321")
    handler = ConnectionHandler({"default": _django_database(dsn, options)})
    try:
        with handler["default"].cursor() as cursor:
            cursor.execute("SELECT current_setting('statement_timeout'), current_schema()")
            assert cursor.fetchone() == ("4321ms", version)
    finally:
        handler.close_all()


# ---- pools: a connection reused after a failed transaction keeps its version -----------------

def test_pool_and_engine_keep_the_version_after_a_rollback(pg_dsn: str, pg_conn: Connection,
                                                           tmp_path: Path) -> None:
    from psycopg_pool import ConnectionPool
    from sqlalchemy import create_engine, text

    from pgroll_dsl.app import psycopg as app_psycopg
    from pgroll_dsl.app import sqlalchemy as app_sqlalchemy

    dsn, folder = dsn_of(pg_dsn, pg_conn), _project(tmp_path)
    with api.connect(dsn) as db:
        db.init()
        old = db.start(folder / "01_items.pgroll", complete=True).version_schema
        new = db.start(folder / "02_rename.pgroll").version_schema
        with ConnectionPool(dsn, configure=app_psycopg.configure(old), min_size=1,
                            max_size=1, open=True) as pool:
            with pytest.raises(psycopg.errors.UndefinedColumn), pool.connection() as conn:
                conn.execute("SELECT name FROM items")  # the new version's column
            with pool.connection() as conn:
                assert conn.execute("SELECT current_schema()").fetchone() == (old,)
        params = conninfo_to_dict(dsn)
        engine = create_engine(
            f"postgresql+psycopg://{params['user']}@{params['host']}:{params['port']}/"
            f"{params['dbname']}", pool_size=1, max_overflow=0)
        app_sqlalchemy.use_version_schema(engine, new)
        try:
            with engine.connect() as conn:
                conn.execute(text("SET LOCAL search_path TO public"))
                conn.rollback()
                assert conn.execute(text("SELECT current_schema()")).scalar_one() == new
            with engine.connect() as conn:  # the pooled connection, again
                assert conn.execute(text("SELECT name FROM items")).fetchall() == []
                assert conn.execute(text("SELECT current_schema()")).scalar_one() == new
        finally:
            engine.dispose()
        db.complete()


# ---- several instances running init at once ------------------------------------------------

def test_concurrent_init_succeeds(pg_dsn: str) -> None:
    errors: list[BaseException] = []

    def run(db: api.Migrator, barrier: threading.Barrier) -> None:
        barrier.wait()
        try:
            db.init()
        except api.PgrollDslError as err:
            errors.append(err)

    for _ in range(20):
        name = f"review_init_{uuid.uuid4().hex[:12]}"
        with psycopg.connect(pg_dsn, autocommit=True) as admin:
            admin.execute(f'CREATE DATABASE "{name}"')
        try:
            migrators = [api.connect(make_conninfo(pg_dsn, dbname=name)) for _ in range(4)]
            barrier = threading.Barrier(len(migrators))
            threads = [threading.Thread(target=run, args=(db, barrier)) for db in migrators]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join()
            for db in migrators:
                db.close()
        finally:
            with psycopg.connect(pg_dsn, autocommit=True) as admin:
                admin.execute(f'DROP DATABASE "{name}" WITH (FORCE)')
        if errors:
            break
    assert errors == [], errors


# ---- what held ---------------------------------------------------------------------------------

def test_unreachable_messages_never_show_the_password() -> None:
    url = "postgresql://someone:s3cretpw@127.0.0.1:1/db?connect_timeout=2"
    for call in (lambda: api.connect(url), lambda: api.latest_version_schema(url),
                 lambda: api.connect("host='x password=s3cretpw")):
        with pytest.raises(api.DatabaseUnreachable) as caught:
            call()
        assert "s3cretpw" not in str(caught.value)
        assert all("s3cretpw" not in d.message for d in caught.value.diagnostics)


def test_exclusive_is_released_when_its_body_raises(pg_dsn: str, pg_conn: Connection,
                                                    tmp_path: Path) -> None:
    dsn, folder = dsn_of(pg_dsn, pg_conn), _project(tmp_path)
    with api.connect(dsn) as db, api.connect(dsn) as other:
        db.init()
        with pytest.raises(RuntimeError), db.exclusive():
            with pytest.raises(api.MigrationRefused, match="another pgroll-dsl run"):
                other.start(folder / "01_items.pgroll")
            raise RuntimeError("the caller's own failure")
        assert other.start(folder / "01_items.pgroll", complete=True).completed


def test_a_callback_that_raises_leaves_a_start_rollback_undoes(
        pg_dsn: str, pg_conn: Connection, tmp_path: Path) -> None:
    dsn, folder = dsn_of(pg_dsn, pg_conn), _project(tmp_path)
    with api.connect(dsn) as db:
        db.init()
        db.start(folder / "01_items.pgroll", complete=True)
    pg_conn.execute("INSERT INTO items SELECT i, 't', i::text FROM generate_series(1, 50) i")

    def broken_progress_bar(table: str, done: int, total: int) -> None:
        raise RuntimeError("progress bar bug")

    retype = api.compile_text("alter table items alter price type int "
                              "up `CAST(price AS integer)` down `CAST(price AS text)`;",
                              "02_int")
    with api.connect(dsn, backfill=api.Backfill(batch_size=5, batch_time_ms=0),
                     on_progress=broken_progress_bar) as db:
        with pytest.raises(RuntimeError, match="progress bar bug"):
            db.start(retype)
        found = db.progress()
        assert found is not None and found.state == "start interrupted"
        assert db.rollback() == api.Finished("02_int", "rollback")
        assert db.status() == api.Status("public", "01_items", "Complete")
    assert "public_02_int" not in schemas(pg_conn)
    assert pg_conn.execute("SELECT count(*) FROM items").fetchone() == (50,)
