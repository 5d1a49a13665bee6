"""A type change whose default or check cannot follow is refused before anything runs."""

from __future__ import annotations

import pytest

from pgroll_dsl.backends.runner import CommandError
from tests.live_helpers import Connection, columns, dsn_of, make_runner, migration, one

SETUP = ("create table p (id int primary key, age text default '0' "
         "constraint age_len check `length(age) < 3`, score text default 0);")


# A default of a type that cannot follow ('0'::text to integer) is refused earlier, by the
# offline type check (PGD513, tests/test_typecheck.py); the probe still answers for checks.
@pytest.mark.parametrize(("change", "expected"), [
    ("alter table p alter age type integer set default 0 up `age::integer` down `age::text`;",
     "a check constraint on the column cannot follow it to int"),
])
def test_refused_in_the_authors_terms_with_nothing_changed(
        pg_conn: Connection, pg_dsn: str, change: str, expected: str) -> None:
    runner = make_runner(dsn_of(pg_dsn, pg_conn))
    runner.start(migration(SETUP, "01_setup"))
    runner.complete()
    before = columns(pg_conn, "p")
    with pytest.raises(CommandError, match=expected) as refused:
        runner.start(migration(change, "02_retype"))
    assert "_pgroll" not in str(refused.value)
    assert "nothing was changed" in str(refused.value)
    assert columns(pg_conn, "p") == before
    assert runner.status()["status"] == "Complete"
    runner.close()


def test_a_default_that_converts_follows_the_column(pg_conn: Connection, pg_dsn: str) -> None:
    runner = make_runner(dsn_of(pg_dsn, pg_conn))
    runner.start(migration(SETUP, "01_setup"))
    runner.complete()
    pg_conn.execute("insert into p (id, age) values (1, '7')")
    runner.start(migration("alter table p alter score type integer up `score::integer` "
                           "down `score::text`;", "02_retype"))
    runner.complete()
    pg_conn.execute("insert into p (id) values (2)")
    assert one(pg_conn, "select score from p where id = 2") == (0,)
    runner.close()
