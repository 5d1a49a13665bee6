"""Raw SQL that PostgreSQL refuses inside a transaction block runs as a step of its own.

Each statement below fails with "cannot run inside a transaction block" when sent inside
one; ``sql/transactions.py`` must recognise it so that the executor runs it alone. Every case
runs live: start (the statement in ``up``), then complete, and the effect is checked.
"""

from __future__ import annotations

import pytest

from pgroll_dsl.sql.transactions import runs_in_a_transaction
from tests.live_helpers import Connection, apply, dsn_of, make_runner, migration, one

pytestmark = pytest.mark.postgres

SETUP = ("sql up `CREATE TABLE e (a int, b int) PARTITION BY RANGE (a);\n"
         "CREATE TABLE e1 PARTITION OF e FOR VALUES FROM (0) TO (10);\n"
         "CREATE TABLE e2 PARTITION OF e FOR VALUES FROM (10) TO (20);\n"
         "CREATE TABLE p (id int PRIMARY KEY, b int);\n"
         "CREATE INDEX p_b ON p (b)`;")

# statement, then a query whose answer shows the statement took effect
CASES = {
    "create index concurrently": ("CREATE INDEX CONCURRENTLY p_b2 ON p (b)",
                                  "SELECT count(*) FROM pg_indexes WHERE indexname = 'p_b2'", 1),
    "drop index concurrently": ("DROP INDEX CONCURRENTLY p_b",
                                "SELECT count(*) FROM pg_indexes WHERE indexname = 'p_b'", 0),
    "reindex concurrently": ("REINDEX (VERBOSE) INDEX CONCURRENTLY p_b",
                             "SELECT count(*) FROM pg_indexes WHERE indexname = 'p_b'", 1),
    "vacuum": ("VACUUM p", "SELECT count(*) FROM p", 0),
    "detach partition concurrently": (
        "ALTER TABLE e DETACH PARTITION e2 CONCURRENTLY",
        "SELECT count(*) FROM pg_inherits WHERE inhrelid = 'e2'::regclass", 0),
}


@pytest.mark.parametrize("case", list(CASES))
def test_recognised_offline(case: str) -> None:
    statement, _, _ = CASES[case]
    assert not runs_in_a_transaction(statement)
    assert runs_in_a_transaction(statement.replace("CONCURRENTLY", "").replace("VACUUM p",
                                                                               "SELECT 1"))


@pytest.mark.parametrize("case", list(CASES))
def test_runs_live(pg_conn: Connection, pg_dsn: str, case: str) -> None:
    statement, check, expected = CASES[case]
    runner = make_runner(dsn_of(pg_dsn, pg_conn))
    apply(runner, SETUP)
    runner.start(migration(f"sql up `{statement}`;", "02_raw"))
    runner.complete()
    runner.close()
    assert one(pg_conn, check) == (expected,)
