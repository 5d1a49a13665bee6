"""The baseline's DDL: replayed offline it gives the catalog introspection reads, and run on an
empty database it builds the same schema.

A schema with what the model holds (enum types, serial and identity columns, generated
columns, defaults, checks, unique and exclusion constraints, foreign keys across tables and
to the table itself, partial and expression indexes, comments, a partitioned table with its
partitions, a standalone sequence) is read by ``read_baseline``; its DDL is
(1) replayed on an empty catalog (``catalog/sql_ddl``) and compared with ``introspect`` of the
database, and (2) run on a second, empty database and introspected there.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import psycopg
import pytest
from psycopg import sql
from psycopg.conninfo import make_conninfo

from pgroll_dsl import ir
from pgroll_dsl.backends.baseline import EMPTY, baseline_migration, read_baseline
from pgroll_dsl.catalog.compare import differences
from pgroll_dsl.catalog.introspect import introspect
from pgroll_dsl.catalog.model import Catalog
from pgroll_dsl.catalog.replay import replay
from pgroll_dsl.ir.baseline import marked

Connection = psycopg.Connection[tuple[Any, ...]]

SCHEMA = """
CREATE EXTENSION IF NOT EXISTS btree_gist;
CREATE TYPE mood AS ENUM ('sad', 'ok', 'happy');
CREATE SEQUENCE ticket_numbers START 1000 INCREMENT 5;
CREATE TABLE authors (
    id serial PRIMARY KEY,
    name text NOT NULL,
    email varchar(200) UNIQUE,
    mood mood DEFAULT 'ok',
    "Display Name" text GENERATED ALWAYS AS (upper(name)) STORED,
    created timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT name_length CHECK (length(name) > 1)
);
COMMENT ON TABLE authors IS 'people who write';
COMMENT ON COLUMN authors.name IS 'as printed';
CREATE TABLE books (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    title text NOT NULL,
    author_id integer NOT NULL REFERENCES authors (id) ON DELETE CASCADE,
    sequel_of bigint REFERENCES books (id),
    price numeric(10, 2) CHECK (price >= 0),
    ticket integer DEFAULT nextval('ticket_numbers'),
    during tstzrange,
    UNIQUE (author_id, title),
    EXCLUDE USING gist (author_id WITH =, during WITH &&)
);
CREATE INDEX books_title_lower ON books (lower(title));
CREATE INDEX books_cheap ON books (price) WHERE price < 10;
CREATE TABLE events (
    id integer NOT NULL,
    at date NOT NULL,
    note text,
    PRIMARY KEY (id, at)
) PARTITION BY RANGE (at);
CREATE TABLE events_2024 PARTITION OF events FOR VALUES FROM ('2024-01-01') TO ('2025-01-01');
CREATE TABLE events_rest PARTITION OF events DEFAULT;
CREATE INDEX events_note ON events (note);
CREATE VIEW cheap_books AS SELECT * FROM books WHERE price < 10;
"""


@pytest.fixture
def empty_database(pg_dsn: str) -> Iterator[Connection]:
    """A second fresh database (the first is ``pg_conn``'s), dropped afterwards."""
    name = f"pgroll_dsl_baseline_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(pg_dsn, autocommit=True) as admin:
        admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    try:
        with psycopg.connect(make_conninfo(pg_dsn, dbname=name), autocommit=True) as conn:
            yield conn
    finally:
        with psycopg.connect(pg_dsn, autocommit=True) as admin:
            admin.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(
                sql.Identifier(name)))


def test_replayed_baseline_is_the_introspected_schema(pg_conn: Connection) -> None:
    pg_conn.execute(SCHEMA)
    baseline = read_baseline(pg_conn, "public")
    assert baseline.tables == 5
    assert baseline.left_out == ("extension btree_gist (create it before the baseline runs)",
                                 "view cheap_books")
    replayed = replay([baseline_migration("01_baseline", baseline)])
    assert replayed.warnings == ()
    assert differences(introspect(pg_conn, "public"), replayed.catalog) == []


def test_baseline_ddl_builds_the_same_schema(pg_conn: Connection,
                                             empty_database: Connection) -> None:
    pg_conn.execute(SCHEMA)
    baseline = read_baseline(pg_conn, "public")
    empty_database.execute("CREATE EXTENSION btree_gist")
    empty_database.execute(baseline.ddl)
    assert differences(introspect(pg_conn, "public"), introspect(empty_database, "public")) == []
    # and its DDL read back from there is the same text: nothing was lost on the way
    assert read_baseline(empty_database, "public").ddl == baseline.ddl


def test_baseline_of_another_schema_with_awkward_names(pg_conn: Connection) -> None:
    pg_conn.execute('CREATE SCHEMA "Shop"; SET search_path TO "Shop"; CREATE TABLE "Order" '
                    '("select" int PRIMARY KEY, "a""b" text DEFAULT $$it\'s$$); RESET search_path')
    baseline = read_baseline(pg_conn, "Shop")
    assert 'CREATE TABLE "Order"' in baseline.ddl
    replayed = replay([baseline_migration("01_baseline", baseline)],
                      base=Catalog(schema="Shop"))
    assert differences(introspect(pg_conn, "Shop"), replayed.catalog) == []


def test_an_empty_schema_gives_an_empty_migration(pg_conn: Connection) -> None:
    baseline = read_baseline(pg_conn, "public")
    assert (baseline.ddl, baseline.tables) == ("", 0)
    migration = baseline_migration("01_baseline", baseline)
    # A statement that changes nothing: an empty `up` does not read back (PGD102, PGD503).
    assert migration.operations == (ir.Sql(up=ir.SqlScript(marked(EMPTY))),)
