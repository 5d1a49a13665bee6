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

import json
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from tests.fault_model import cli
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
    conn.execute(f"SET ROLE {_ident(role)}")
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


def test_rights_granted_while_the_migration_runs_with_hostile_names(
        pg_conn: Connection, pg_dsn: str, tmp_path: Path) -> None:
    """The same through the command line, every name one that needs quoting: the target
    schema, the table (renamed by the migration: the view's name is not the table's), a
    column renamed and one rewritten, the role. Complete's pass finds each view and table
    by name and gives the view the rights granted on the table during the migration (the
    column's under the view's name for it), and no more."""
    schema, table, role = 'Odd "Schema" É', 'Pe"ople É', f'late "r" É{pg_conn.info.backend_pid}'
    q = _ident
    pg_conn.execute(f"CREATE SCHEMA {q(schema)}; CREATE ROLE {q(role)}")
    try:
        pg_conn.execute(f'CREATE TABLE {q(schema)}.{q(table)} (id int PRIMARY KEY, '
                        f'"E mail" text, note varchar(10)); INSERT INTO {q(schema)}.{q(table)} '
                        "VALUES (1, 'a@x', 'n1')")
        dsn = dsn_of(pg_dsn, pg_conn)
        flags = ["--schema", schema]
        assert cli(["init", *flags], dsn).returncode == 0
        path = tmp_path / "02_x.json"
        path.write_text(json.dumps({"operations": [
            {"rename_table": {"from": table, "to": 'Ppl "x"'}},
            {"rename_column": {"table": 'Ppl "x"', "from": "E mail", "to": 'Mail "m"'}},
            {"alter_column": {"table": 'Ppl "x"', "column": "note", "type": "text",
                              "up": "note", "down": "note"}}]}))
        started = cli(["start", str(path), *flags], dsn)
        assert started.returncode == 0, started.describe()
        pg_conn.execute(f'GRANT USAGE ON SCHEMA {q(schema)} TO {q(role)}; GRANT SELECT, '
                        f'UPDATE ("E mail") ON {q(schema)}.{q(table)} TO {q(role)}')
        view = f'{q(schema + "_02_x")}.{q("Ppl " + chr(34) + "x" + chr(34))}'
        assert _as(pg_conn, role, f"SELECT id FROM {view}") == "42501"
        done = cli(["complete", *flags], dsn)
        assert done.returncode == 0, done.describe()
        assert _as(pg_conn, role, f'SELECT id, "Mail ""m""", note FROM {view}') == [
            (1, "a@x", "n1")]
        assert _as(pg_conn, role, f"UPDATE {view} SET \"Mail \"\"m\"\"\" = 'b@x' "
                   "RETURNING id") == [(1,)]
        assert _as(pg_conn, role, f"UPDATE {view} SET note = 'x'") == "42501"
        assert _as(pg_conn, role, f"DELETE FROM {view}") == "42501"
    finally:
        pg_conn.execute(f"DROP OWNED BY {q(role)}; DROP ROLE {q(role)}")


def _ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'
