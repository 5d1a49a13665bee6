"""A version schema's views behave like the table: ``DEFAULT`` gives the column's default."""

from __future__ import annotations

from tests.live_helpers import Connection, client, dsn_of, make_runner, migration, one

SETUP = "create table t (id int primary key, n int not null default 5, c text default 'x');"


def test_defaults_through_both_versions(pg_conn: Connection, pg_dsn: str) -> None:
    dsn = dsn_of(pg_dsn, pg_conn)
    runner = make_runner(dsn)
    runner.start(migration(SETUP, "01_setup"))
    runner.complete()
    pg_conn.execute("insert into t (id, n, c) values (1, 1, 'a')")
    runner.start(migration("alter table t alter c set default 'y';", "02_default"))
    old, new = client(dsn, "public_01_setup"), client(dsn, "public_02_default")
    for conn, expected, row in ((old, "x", 2), (new, "y", 3)):
        conn.execute("update t set n = DEFAULT, c = DEFAULT where id = 1")
        assert one(conn, "select n, c from t where id = 1") == (5, expected)
        conn.execute("insert into t (id, n, c) values (%s, DEFAULT, DEFAULT)", (row,))
        assert one(conn, "select n, c from t where id = %s", (row,)) == (5, expected)
    runner.complete()
    new.execute("update t set c = DEFAULT where id = 2")
    assert one(new, "select c from t where id = 2") == ("y",)
    old.close()
    new.close()
    runner.close()


def test_set_not_null_and_add_a_default(pg_conn: Connection, pg_dsn: str) -> None:
    """pgroll's own case: a column made NOT NULL with a default, written with DEFAULT."""
    dsn = dsn_of(pg_dsn, pg_conn)
    runner = make_runner(dsn)
    runner.start(migration("create table u (id int primary key, name text);", "01_setup"))
    runner.complete()
    pg_conn.execute("insert into u values (1, null)")
    runner.start(migration("alter table u alter name set not null up `coalesce(name, 'anon')` "
                           "set default 'anon';", "02_nn"))
    new = client(dsn, "public_02_nn")
    new.execute("insert into u (id, name) values (2, DEFAULT)")
    new.execute("update u set name = DEFAULT where id = 1")
    runner.complete()
    assert one(pg_conn, "select array_agg(name order by id) from u") == (["anon", "anon"],)
    new.close()
    runner.close()
