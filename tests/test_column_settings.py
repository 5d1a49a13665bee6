"""A rewritten column keeps what it has besides its type: collation, privileges, settings.

A copy is a new column: without ``plan/attributes.py`` it had its type's default collation,
no column privileges, the default statistics target, storage and compression and no
options, and complete gave it the column's place. A role granted ``SELECT (email)`` lost it
(its queries of the new version failed from start on), a ``COLLATE "C"`` column sorted by
the database's collation after a ``set not null``. Each case reads the column's settings
before start and after complete, and checks the new version for the granted role during
the migration. A type change resets storage and compression to the new type's defaults, as
PostgreSQL's ``ALTER COLUMN ... TYPE`` does; the collation is kept (PostgreSQL's would take
the new type's default: the migration names a type, not a collation).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests.live_helpers import Connection, dsn_of, make_runner, migration, one, query

pytestmark = pytest.mark.postgres

SETUP = """
CREATE TABLE people (id int PRIMARY KEY, name varchar(50) COLLATE "POSIX",
                     email text COLLATE "C", note text);
INSERT INTO people SELECT g, 'n' || g, 'p' || g || '@x', 'note ' || g
  FROM generate_series(1, 10) g;
ALTER TABLE people ALTER note SET STATISTICS 500;
ALTER TABLE people ALTER note SET (n_distinct = 100);
ALTER TABLE people ALTER note SET STORAGE EXTERNAL;
ALTER TABLE people ALTER note SET COMPRESSION pglz;
GRANT SELECT (id, name, email, note) ON people TO {reader};
GRANT UPDATE (note) ON people TO {reader} WITH GRANT OPTION;
GRANT SELECT (email) ON people TO PUBLIC;
"""

SETTINGS = ("SELECT format_type(atttypid, atttypmod), attcollation::regcollation::text, "
            "attacl::text[], attstattarget, attoptions, attstorage, attcompression "
            "FROM pg_attribute WHERE attrelid = 'people'::regclass AND attname = %s")

# migration, column, what the column's settings must be afterwards (None: as before),
# given as changes: the type, and storage/compression back to the type's defaults.
CASES: dict[str, tuple[str, str, dict[str, Any]]] = {
    "email set not null": ("alter table people alter email set not null up `coalesce(email, '')`",
                           "email", {}),
    "email type change": ("alter table people alter email type varchar(200) up `email` "
                          "down `email`", "email", {"type": "character varying(200)"}),
    "note set not null": ("alter table people alter note set not null up `coalesce(note, '')`",
                          "note", {}),
    "note type change": ("alter table people alter note type varchar(100) up `note` "
                         "down `note`", "note",
                         {"type": "character varying(100)", "storage": "x", "compression": ""}),
    "name in place": ("alter table people alter name type text", "name", {"type": "text"}),
    "email unique": ("alter table people alter email add constraint email_key unique", "email",
                     {}),
}


def _settings(conn: Connection, column: str) -> dict[str, Any]:
    row = one(conn, SETTINGS, (column,))
    return dict(zip(("type", "collation", "acl", "target", "options", "storage", "compression"),
                    row, strict=True))


@pytest.fixture
def reader(pg_conn: Connection) -> Iterator[str]:
    name = f"reader_{pg_conn.info.backend_pid}"
    pg_conn.execute(f'CREATE ROLE "{name}"')
    pg_conn.execute(SETUP.format(reader=f'"{name}"'))  # type: ignore[arg-type]
    try:
        yield name
    finally:
        pg_conn.execute(f'DROP OWNED BY "{name}"')
        pg_conn.execute(f'DROP ROLE "{name}"')


@pytest.mark.parametrize("case", sorted(CASES))
def test_the_column_keeps_its_collation_privileges_and_settings(
        pg_conn: Connection, pg_dsn: str, reader: str, case: str) -> None:
    text, column, changes = CASES[case]
    expected = {**_settings(pg_conn, column), **changes}
    assert expected["acl"], "the setup grants on every column"
    runner = make_runner(dsn_of(pg_dsn, pg_conn))
    try:
        runner.start(migration(text + ";", "02_change"))
        # During the migration the granted role reads the column through the new version.
        pg_conn.execute(f'SET ROLE "{reader}"')
        try:
            seen = query(pg_conn, f'SELECT "{column}" FROM public_02_change.people ORDER BY '
                         f'"{column}" COLLATE "C" LIMIT 2')
        finally:
            pg_conn.execute("RESET ROLE")
        assert len(seen) == 2
        runner.complete()
    finally:
        runner.close()
    assert _settings(pg_conn, column) == expected
    # The collation is at work: "C" sorts upper case before lower case.
    if expected["collation"] in ('"C"', '"POSIX"'):
        pg_conn.execute(f"INSERT INTO people (id, {column}) VALUES (100, 'Zed')")
        first = one(pg_conn, f'SELECT "{column}" FROM people WHERE "{column}" IS NOT NULL '
                    f'ORDER BY "{column}" LIMIT 1')[0]
        assert first == "Zed"


def test_rollback_leaves_the_column_as_it_was(pg_conn: Connection, pg_dsn: str,
                                              reader: str) -> None:
    before = {c: _settings(pg_conn, c) for c in ("name", "email", "note")}
    runner = make_runner(dsn_of(pg_dsn, pg_conn))
    try:
        runner.start(migration(CASES["note type change"][0] + ";\n"
                               + CASES["email set not null"][0] + ";", "02_change"))
        runner.rollback()
    finally:
        runner.close()
    assert {c: _settings(pg_conn, c) for c in ("name", "email", "note")} == before
