"""Adopting pgroll-dsl on a database an ORM built, end to end, through the CLI.

The database is built by Alembic (the environment and SQLAlchemy models of
tests/fixtures/orm/alembic: ``alembic upgrade head --sql``, run as Alembic prints it) and
holds data. Then: ``init``; ``baseline`` (the database is not changed); a new migration
written in the DSL; offline ``validate`` of the directory and ``plan`` of the new migration
(no database: the baseline file is replayed); ``start`` while a client of the old version
keeps writing, a client of the new version writing as soon as it exists; ``complete`` while
the new one still writes. Every row either client wrote, and every row from before, is there
afterwards, as the new version says it should be.
"""

from __future__ import annotations

import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psycopg
from psycopg import sql
from typer.testing import CliRunner

from pgroll_dsl.catalog.compare import differences
from pgroll_dsl.catalog.introspect import introspect
from pgroll_dsl.catalog.replay import replay
from pgroll_dsl.cli import app
from pgroll_dsl.frontend import load_migration, migration_files
from tests.live_helpers import dsn_of, schemas

Connection = psycopg.Connection[tuple[Any, ...]]
ALEMBIC = Path(__file__).parent / "fixtures" / "orm" / "alembic"

NEW_MIGRATION = """\
-- The app now requires a biography and records an ISBN; books.slug is called handle.
alter table writers alter bio set not null up `coalesce(bio, 'none yet')`;
alter table books add isbn text not null default 'unknown';
alter table books rename slug to handle;
"""


def cli(*args: str) -> Any:
    result = CliRunner().invoke(app, list(args))
    assert result.exit_code == 0, (args, result.stdout, result.stderr)
    return result


@dataclass
class Writer:
    """A client of one version: inserts a writer and a book in a loop until told to stop."""

    dsn: str
    version: str
    stop: threading.Event = field(default_factory=threading.Event)
    written: list[int] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    thread: threading.Thread | None = None

    def run(self) -> None:
        with psycopg.connect(self.dsn, autocommit=True) as conn:
            conn.execute(sql.SQL("SET search_path TO {}").format(sql.Identifier(self.version)))
            new = self.version != "public"
            n = 0
            while not self.stop.is_set():
                n += 1
                email = f"{self.version}-{n}@example.com"
                try:
                    with conn.transaction():
                        bio = "written by the new version" if new else None
                        row = conn.execute(
                            "INSERT INTO writers (name, email, bio) VALUES (%s, %s, %s) "
                            "RETURNING id", (f"{self.version} {n}", email, bio)).fetchone()
                        assert row is not None
                        columns = "title, author_id, handle, isbn" if new else \
                            "title, author_id, slug"
                        values = (f"book {n}", row[0], f"b-{n}", f"isbn-{n}") if new else (
                            f"book {n}", row[0], f"b-{n}")
                        conn.execute(sql.SQL("INSERT INTO books ({}) VALUES ({})").format(
                            sql.SQL(columns), sql.SQL(", ").join(sql.Placeholder() * len(values))),
                            values)
                    self.written.append(n)
                except psycopg.Error as err:
                    self.errors.append(f"{self.version} write {n}: {err}")
                time.sleep(0.005)

    def begin(self) -> None:
        self.thread = threading.Thread(target=self.run, daemon=True, name=self.version)
        self.thread.start()
        deadline = time.monotonic() + 10
        while not self.written and not self.errors and time.monotonic() < deadline:
            time.sleep(0.01)

    def end(self) -> None:
        self.stop.set()
        assert self.thread is not None
        self.thread.join(timeout=30)
        assert not self.thread.is_alive(), f"the {self.version} client hung"


def alembic_upgrade(conn: Connection) -> None:
    """The database as Alembic builds it: its SQL for every revision, run as printed."""
    script = subprocess.run(
        [sys.executable, "-m", "alembic", "-c", str(ALEMBIC / "alembic.ini"), "upgrade", "head",
         "--sql"], capture_output=True, text=True, check=True).stdout
    conn.execute(script)


def test_alembic_database_baseline_then_a_dsl_migration(pg_dsn: str, pg_conn: Connection,
                                                        tmp_path: Path) -> None:
    dsn = dsn_of(pg_dsn, pg_conn)
    alembic_upgrade(pg_conn)
    pg_conn.execute(
        "INSERT INTO writers (name, email, bio) VALUES ('Ann', 'ann@example.com', NULL), "
        "('Bob', 'bob@example.com', 'Bob writes'); "
        "INSERT INTO books (title, author_id, pages, slug) VALUES ('One', 1, 100, 'one'), "
        "('Two', 2, NULL, 'two')")
    assert pg_conn.execute("SELECT version_num FROM alembic_version").fetchone() == ("0003",)
    before = introspect(pg_conn, "public")
    directory = tmp_path / "migrations"

    cli("init", "--postgres-url", dsn)
    cli("baseline", "0001_alembic_head", str(directory), "--to", "dsl", "--yes",
        "--postgres-url", dsn)
    assert differences(before, introspect(pg_conn, "public")) == []  # nothing changed
    assert schemas(pg_conn) == {"public", "pgroll"}
    new = directory / "0002_bio_required.pgroll"
    new.write_text(NEW_MIGRATION)

    # offline: the baseline file is the schema; the new migration checks and plans against it
    cli("validate", str(directory))
    plan = cli("plan", str(new), "--history", str(directory)).stdout
    assert "coalesce(NEW.\"bio\", 'none yet')" in plan and "catalog: replay of 1 migration" in plan

    old = Writer(dsn, "public")  # the deployed app: the tables themselves, no version schema
    old.begin()
    cli("migrate", str(directory), "--postgres-url", dsn)  # starts 0002, leaves it active
    version = "public_0002_bio_required"
    assert version in schemas(pg_conn)
    new_client = Writer(dsn, version)
    new_client.begin()
    time.sleep(0.3)  # both versions write side by side
    old.end()  # the old app is gone before complete, as it must be
    cli("complete", "--postgres-url", dsn)
    time.sleep(0.1)
    new_client.end()

    assert old.errors == [] and new_client.errors == []
    assert old.written and new_client.written
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(sql.SQL("SET search_path TO {}").format(sql.Identifier(version)))
        writers: dict[str, str] = dict(conn.execute("SELECT email, bio FROM writers").fetchall())
        books = {r[0]: r[1:] for r in conn.execute(
            "SELECT w.email, b.handle, b.isbn FROM books b JOIN writers w ON w.id = b.author_id"
        ).fetchall()}
    assert writers["ann@example.com"] == "none yet" and writers["bob@example.com"] == "Bob writes"
    for n in old.written:
        assert writers[f"public-{n}@example.com"] == "none yet"
        assert books[f"public-{n}@example.com"] == (f"b-{n}", "unknown")
    for n in new_client.written:
        assert writers[f"{version}-{n}@example.com"] == "written by the new version"
        assert books[f"{version}-{n}@example.com"] == (f"b-{n}", f"isbn-{n}")
    assert len(writers) == 2 + len(old.written) + len(new_client.written)
    assert len(books) == 2 + len(old.written) + len(new_client.written)
    # the history and the directory agree: replayed offline, it is the schema now
    replayed = replay([load_migration(p) for p in migration_files(directory)]).catalog
    assert differences(introspect(pg_conn, "public"), replayed) == []
    assert cli("latest", "migration", "--postgres-url", dsn).stdout == "0002_bio_required\n"
