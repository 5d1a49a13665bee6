"""A column this migration makes, then renames in the same migration: complete names the
table's column as the new version shows it.

A column added by the migration, or a rewritten column's copy, has a temporary name until
complete, which renames it to the name its operation gave it. A later ``rename`` of that
column in the same migration was skipped: the new version's view showed the new name (over
the renamed column, which the view follows), but the table kept the old one, and the next
migration's views, made from the table, showed the old name again: its clients broke. Each
case checks the table's columns after complete, the rows through the new version while
clients of both versions wrote during the migration, and the name the next migration's
view shows.
"""

from __future__ import annotations

import pytest

from tests.live_helpers import Connection, applied, client, make_runner, migration, query

pytestmark = pytest.mark.postgres

SETUP = "create table people (id int primary key, email varchar(100) not null, note text);\n"
OLD, NEW, NEXT = "public_01_setup", "public_02_people", "public_03_next"

# case: (migration, the table's columns after complete, the new version's view of row 1 as
# (id, <the renamed column>), the column the next version shows it as)
CASES = {
    "add, then rename": (
        "alter table people add w int up `7`;\nalter table people rename w to w2;\n",
        ["id", "email", "note", "w2"], "w2", 7),
    "rewrite, then rename": (
        "alter table people alter email type text up `lower(email)` down `email`;\n"
        "alter table people rename email to mail;\n",
        ["id", "note", "mail"], "mail", "a@x"),
    "rename, then rewrite": (
        "alter table people rename email to mail;\n"
        "alter table people alter mail type text up `lower(mail)` down `mail`;\n",
        ["id", "note", "mail"], "mail", "a@x"),
    "rename, rewrite, rename": (
        "alter table people rename email to mail;\n"
        "alter table people alter mail type text up `lower(mail)` down `mail`;\n"
        "alter table people rename mail to m2;\n",
        ["id", "note", "m2"], "m2", "a@x"),
    "add, then rename twice": (
        "alter table people add w int up `7`;\nalter table people rename w to w2;\n"
        "alter table people rename w2 to w3;\n",
        ["id", "email", "note", "w3"], "w3", 7),
    "rewrite, rename, then another column renamed to the old name": (
        "alter table people alter email type text up `lower(email)` down `email`;\n"
        "alter table people rename email to mail;\n"
        "alter table people rename note to email;\n",
        ["id", "email", "mail"], "mail", "a@x"),
}


def _columns(conn: Connection) -> list[str]:
    return [r[0] for r in query(conn, "SELECT attname::text FROM pg_attribute WHERE attrelid = "
                                "'public.people'::regclass AND attnum > 0 AND NOT attisdropped "
                                "ORDER BY attnum")]


@pytest.mark.parametrize("case", list(CASES))
def test_the_tables_column_takes_the_name_the_new_version_shows(
        admin_dsn: str, pg_conn: Connection, case: str) -> None:
    text, columns, renamed, value = CASES[case]
    applied(admin_dsn, SETUP)
    pg_conn.execute("INSERT INTO people VALUES (1, 'A@x', 'n1'), (2, 'B@x', 'n2')")
    runner = make_runner(admin_dsn)
    try:
        runner.start(migration(text, "02_people"))
        with client(admin_dsn, OLD) as old:  # written during the migration, old version
            old.execute("INSERT INTO people (id, email, note) VALUES (3, 'C@x', 'n3')")
        runner.complete()
        assert _columns(pg_conn) == columns
        assert query(pg_conn, f'SELECT id, "{renamed}" FROM {NEW}.people ORDER BY id') == [
            (1, value), (2, value if not isinstance(value, str) else "b@x"),
            (3, value if not isinstance(value, str) else "c@x")]
        runner.start(migration("alter table people add z int;\n", "03_next"))
        assert query(pg_conn, f'SELECT id, "{renamed}" FROM {NEXT}.people WHERE id = 1') == [
            (1, value)]
        runner.complete()
    finally:
        runner.close()
