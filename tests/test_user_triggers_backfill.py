"""A table's own trigger that writes the table while the backfill's batches run.

An audit or summary trigger (``AFTER UPDATE ... UPDATE t SET total = ... WHERE id = 0``) fires
on the backfill's own ``UPDATE`` wherever the batch's session lets it fire: a trigger enabled
at origin when the run may not take the replica role (the table's owner), one enabled
``REPLICA`` when it may (a superuser), one enabled ``ALWAYS`` for both. Its write runs inside
the batch's transaction, one trigger deeper. It is a client's write like any other: the
copies of the row it changes must follow it.

Every pair (trigger: statement or row; enabled: origin, always, replica; role: superuser or
owner; backfill: two passes or one) runs start with batches of 20 rows, the trigger bumping
``v`` of the last row on every batch, and checks every row's copy against ``up`` of its current
values after start, and ``w`` through the new version after complete.
"""

from __future__ import annotations

import itertools

import psycopg
import pytest

from pgroll_dsl.backends.runner import StepEvent
from tests.live_helpers import Connection, make_runner, migration, owner_of_t, version_schema

pytestmark = pytest.mark.postgres

ROWS = 200
MIGRATION = "alter table t add w bigint not null up `v * 2`;"
NAME = "02_user_trigger"
# The row the trigger writes: the table's last, so that the last batch writes it in the same
# transaction as the trigger does (an earlier one would be written again by later batches).
LAST = ROWS
# A trigger at the first level only: its own UPDATE fires it again, one deeper.
FUNCTION = ("CREATE FUNCTION public.bump() RETURNS trigger LANGUAGE plpgsql AS "
            "'BEGIN IF pg_trigger_depth() = 1 THEN "
            f"UPDATE public.t SET v = v + 1 WHERE id = {LAST}; END IF; RETURN NULL; END'")
LEVELS = {"statement": "FOR EACH STATEMENT", "row": f"FOR EACH ROW WHEN (NEW.id <> {LAST})"}
ENABLED = {"origin": None, "always": "ENABLE ALWAYS TRIGGER bump",
           "replica": "ENABLE REPLICA TRIGGER bump"}
CASES = list(itertools.product(LEVELS, ENABLED, ("superuser", "owner"), (True, False)))


def _ids(case: tuple[str, str, str, bool]) -> str:
    level, enabled, role, two = case
    return f"{level}-{enabled}-{role}-{'two passes' if two else 'one pass'}"


class _FirstPass:
    """Whether the first pass wrote rows: progress reported while a first pass's step runs."""

    def __init__(self) -> None:
        self.running = False
        self.wrote = False

    def step(self, event: StepEvent) -> None:
        self.running = event.step is not None and ", first pass" in event.step.summary

    def progress(self, table: str, rows: int, total: int) -> None:
        self.wrote = self.wrote or (self.running and rows > 0)


def _new_version_wrong(conn: Connection) -> int:
    """Rows whose ``w`` is not ``v * 2`` through the new version (after complete)."""
    row = conn.execute(f'SELECT count(*) FROM "{version_schema(NAME)}".t '
                       "WHERE w IS DISTINCT FROM v * 2").fetchone()
    assert row is not None
    return int(row[0])


def _wrong(conn: Connection) -> list[tuple[object, ...]]:
    return conn.execute("SELECT id, v, _pgroll_new_w FROM t "
                        "WHERE _pgroll_new_w IS DISTINCT FROM v * 2 ORDER BY id").fetchall()


@pytest.mark.parametrize("case", CASES, ids=[_ids(c) for c in CASES])
def test_a_users_trigger_writing_the_table_on_the_backfills_batches(
        pg_conn: Connection, admin_dsn: str, case: tuple[str, str, str, bool]) -> None:
    level, enabled, role, two = case
    with owner_of_t(pg_conn, admin_dsn, f"trig_{pg_conn.info.backend_pid}", ROWS) as owner_dsn:
        with psycopg.connect(owner_dsn, autocommit=True) as owner:
            owner.execute(FUNCTION)
            owner.execute(f"CREATE TRIGGER bump AFTER UPDATE ON public.t {LEVELS[level]} "
                          "EXECUTE FUNCTION public.bump()")
            if ENABLED[enabled]:
                owner.execute(f"ALTER TABLE t {ENABLED[enabled]}")
        dsn = admin_dsn if role == "superuser" else owner_dsn
        first_pass = _FirstPass()
        runner = make_runner(dsn, batch_size=20, batch_time_ms=0, two_passes=two,
                             on_step=first_pass.step, on_progress=first_pass.progress)
        try:
            plan = runner.start(migration(MIGRATION, NAME))
            assert any("first pass" in s.summary for s in plan.start) is two
            # The first pass leaves the table to the second only where the trigger fires on
            # its batches: a superuser's take the replica role, the owner's run at origin.
            fires = enabled == "always" or (enabled, role) in (("origin", "owner"),
                                                               ("replica", "superuser"))
            assert first_pass.wrote is (two and not fires)
            fired = pg_conn.execute("SELECT v FROM t WHERE id = %s", (LAST,)).fetchone()
            # Whether it fired depends on the batch's session (the case), not on the test:
            # whatever it wrote, every copy follows.
            assert _wrong(pg_conn) == [], fired
            runner.complete()
        finally:
            runner.close()
    assert _new_version_wrong(pg_conn) == 0


# On each partition (TG_TABLE_NAME: the partition whose row fired it), the partition's last
# row: written by the last batch of that partition's backfill, in the same transaction.
PARTITION_FUNCTION = (
    "CREATE FUNCTION public.bump() RETURNS trigger LANGUAGE plpgsql AS $$\n"
    "DECLARE last bigint;\n"
    "BEGIN\n"
    "  EXECUTE format('SELECT max(id) FROM public.%I', TG_TABLE_NAME) INTO last;\n"
    "  IF pg_trigger_depth() = 1 AND NEW.id <> last THEN\n"
    "    EXECUTE format('UPDATE public.%I SET v = v + 1 WHERE id = $1', TG_TABLE_NAME)\n"
    "      USING last;\n"
    "  END IF;\n"
    "  RETURN NULL;\n"
    "END $$")


@pytest.mark.parametrize("role", ["superuser", "owner"])
def test_a_partitioned_tables_trigger_writing_its_partition(
        pg_conn: Connection, admin_dsn: str, role: str) -> None:
    """A row trigger of the partitioned table (cloned onto each partition) writes the
    partition's last row on every batch of that partition's backfill."""
    with owner_of_t(pg_conn, admin_dsn, f"trig_{pg_conn.info.backend_pid}", 0) as owner_dsn:
        with psycopg.connect(owner_dsn, autocommit=True) as owner:
            owner.execute("DROP TABLE t")
            owner.execute("CREATE TABLE t (id bigint PRIMARY KEY, v int NOT NULL) "
                          "PARTITION BY RANGE (id)")
            owner.execute("CREATE TABLE t_low PARTITION OF t FOR VALUES FROM (0) TO (100)")
            owner.execute("CREATE TABLE t_high PARTITION OF t FOR VALUES FROM (100) TO (1000)")
            owner.execute(f"INSERT INTO t SELECT g, g FROM generate_series(1, {ROWS}) g")
            owner.execute("ANALYZE t")
            owner.execute(PARTITION_FUNCTION)
            owner.execute("CREATE TRIGGER bump AFTER UPDATE ON public.t FOR EACH ROW "
                          "EXECUTE FUNCTION public.bump()")
            # ALWAYS: it fires on a superuser's batches too (they would take the replica role).
            owner.execute("ALTER TABLE t ENABLE ALWAYS TRIGGER bump")
        dsn = admin_dsn if role == "superuser" else owner_dsn
        runner = make_runner(dsn, batch_size=20, batch_time_ms=0)
        try:
            runner.start(migration(MIGRATION, NAME))
            bumped = pg_conn.execute("SELECT id FROM t WHERE v > id ORDER BY id").fetchall()
            assert bumped == [(99,), (LAST,)]
            assert _wrong(pg_conn) == []
            runner.complete()
        finally:
            runner.close()
    assert _new_version_wrong(pg_conn) == 0
