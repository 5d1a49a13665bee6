"""Roles that use the schema and its tables may use the new version's schema and views.

A version schema and its views belonged to the migrating role alone: an application that
connects as a role of its own failed on its first query of the new version. Each case runs
a migration as the superuser and, while it is in progress and after complete, acts as three
roles: ``app`` (every right on the table, with the grant option), ``reporter`` (``SELECT``
only) and ``stranger`` (no right on the table). Each may do through the new version exactly
what it may do with the table. (A role with ``SELECT`` of some columns only cannot read a
``security_invoker`` view that shows the others, whatever the view grants: PostgreSQL
checks every column the view reads of the table. tests/test_column_settings.py grants every
column.)
"""

from __future__ import annotations

from collections.abc import Iterator

import psycopg
import pytest

from tests.live_helpers import Connection, dsn_of, make_runner, migration, one, query

pytestmark = pytest.mark.postgres

MIGRATIONS = {
    "rewrite and rename": "alter table people alter email type varchar(200) up `email` "
                          "down `email`;\nalter table people rename email to mail;\n"
                          "alter table people add nick text;",
    "in place": "alter table people alter email type text;\n"
                "alter table people rename email to mail;",
    "raw sql": "sql up `ALTER TABLE people RENAME COLUMN email TO mail` "
               "down `ALTER TABLE people RENAME COLUMN mail TO email`;",
}


@pytest.fixture
def roles(pg_conn: Connection) -> Iterator[dict[str, str]]:
    tag = pg_conn.info.backend_pid
    names = {r: f"{r}_{tag}" for r in ("app", "reporter", "stranger")}
    for name in names.values():
        pg_conn.execute(f'CREATE ROLE "{name}"')
    pg_conn.execute(f"""
        CREATE TABLE people (id int PRIMARY KEY, email varchar(100), note text);
        INSERT INTO people VALUES (1, 'a@x', 'n1'), (2, 'b@x', 'n2');
        GRANT ALL ON people TO "{names['app']}" WITH GRANT OPTION;
        GRANT SELECT ON people TO "{names['reporter']}";
    """)
    try:
        yield names
    finally:
        for name in names.values():
            pg_conn.execute(f'DROP OWNED BY "{name}"')
            pg_conn.execute(f'DROP ROLE "{name}"')


def _as(conn: Connection, role: str, statement: str) -> str | list[tuple[object, ...]]:
    """The rows ``statement`` gives ``role``, or the SQLSTATE it fails with."""
    conn.execute(f'SET ROLE "{role}"')
    try:
        with conn.transaction():
            return query(conn, statement)
    except psycopg.Error as err:
        return err.sqlstate or "?"
    finally:
        conn.execute("RESET ROLE")


def _check(conn: Connection, roles: dict[str, str], schema: str) -> None:
    people = f"{schema}.people"
    assert _as(conn, roles["app"], f"SELECT id, mail FROM {people} ORDER BY id") == [
        (1, "a@x"), (2, "b@x")]
    assert _as(conn, roles["app"], f"UPDATE {people} SET note = 'changed' WHERE id = 1 "
               "RETURNING id") == [(1,)]
    assert _as(conn, roles["app"], f"INSERT INTO {people} (id, mail) VALUES (3, 'c@x') "
               "RETURNING id") == [(3,)]
    assert _as(conn, roles["app"], f"DELETE FROM {people} WHERE id = 3 RETURNING id") == [(3,)]
    assert _as(conn, roles["reporter"], f"SELECT id, mail FROM {people} ORDER BY id") == [
        (1, "a@x"), (2, "b@x")]
    assert _as(conn, roles["reporter"], f"UPDATE {people} SET mail = 'x'") == "42501"
    assert _as(conn, roles["stranger"], f"SELECT id FROM {people}") == "42501"
    # The grant option came along: app may pass SELECT on the view on.
    assert _as(conn, roles["app"], f'GRANT SELECT ON {people} TO "{roles["stranger"]}"') == []
    assert _as(conn, roles["stranger"], f"SELECT count(*) FROM {people}") == "42501"  # the table


@pytest.mark.parametrize("case", sorted(MIGRATIONS))
def test_the_new_version_grants_what_the_table_grants(pg_conn: Connection, pg_dsn: str,
                                                      roles: dict[str, str], case: str) -> None:
    runner = make_runner(dsn_of(pg_dsn, pg_conn))
    try:
        runner.start(migration(MIGRATIONS[case], "02_people"))
        _check(pg_conn, roles, "public_02_people")
        pg_conn.execute(f'REVOKE SELECT ON public_02_people.people FROM "{roles["stranger"]}"')
        runner.complete()
    finally:
        runner.close()
    _check(pg_conn, roles, "public_02_people")
    assert one(pg_conn, "SELECT count(*) FROM pg_namespace WHERE nspname = 'public_02_people' "
               "AND has_schema_privilege(%s, oid, 'USAGE')", (roles["stranger"],))[0] == 1


LATE = {**MIGRATIONS, "added column": "alter table people rename email to mail;\n"
                                     "alter table people add nick text;"}


@pytest.mark.parametrize("case", ["rewrite and rename", "in place", "added column"])
def test_rights_granted_while_the_migration_runs_reach_the_new_version_at_complete(
        pg_conn: Connection, pg_dsn: str, roles: dict[str, str], case: str) -> None:
    """A role granted on the table (and on a column) after start: refused by the new version's
    view while the migration runs (its rights were read at start), let through after complete,
    which reads them again. A right revoked from the table meanwhile is not given back.
    The pass is the last step of complete's transaction."""
    late = roles["stranger"]
    runner = make_runner(dsn_of(pg_dsn, pg_conn))
    try:
        runner.start(migration(LATE[case], "02_people"))
        pg_conn.execute(f'GRANT SELECT, UPDATE (note) ON public.people TO "{late}"')
        pg_conn.execute(f'REVOKE SELECT ON public.people FROM "{roles["reporter"]}"')
        assert _as(pg_conn, late, "SELECT id FROM public_02_people.people") == "42501"
        runner.complete()
    finally:
        runner.close()
    people = "public_02_people.people"
    assert _as(pg_conn, late, f"SELECT id, mail FROM {people} ORDER BY id") == [
        (1, "a@x"), (2, "b@x")]
    assert _as(pg_conn, late, f"UPDATE {people} SET note = 'late' WHERE id = 2 "
               "RETURNING note") == [("late",)]
    assert _as(pg_conn, late, f"UPDATE {people} SET mail = 'x' WHERE id = 2") == "42501"
    assert _as(pg_conn, late, f"DELETE FROM {people}") == "42501"
    assert _as(pg_conn, roles["reporter"], f"SELECT id FROM {people}") == "42501"
