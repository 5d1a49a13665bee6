"""What complete records and checks, and where: the schema snapshot after its transaction.

``resulting_schema`` (pgroll's snapshot of the whole schema, ``read_schema``) costs time in
proportion to the schema (0.3 s at 2 000 tables); complete's transaction holds the migrated
tables, so it is written after the commit, and a run that dies in between leaves it for the
next run that takes the run lock. Complete's check that what start made is still there reads
every column of every view of the new version: it must stay one cheap query however many
tables the schema has, and still name what is missing, whatever its position.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.fault_model import cli, write_file
from tests.live_helpers import Connection, applied, make_runner, migration, one

pytestmark = pytest.mark.postgres

SETUP = "create table t (id bigint primary key, v int not null);\n"
CHANGE = "alter table t add w int not null up `v * 2`;\n"
LATER = "alter table t add x int up `v + 1`;\n"
READ = "SELECT pgroll.read_schema('public')"
RECORDED = "SELECT resulting_schema FROM pgroll.migrations WHERE name = %s"


def _completed(dsn: str, pg_conn: Connection) -> None:
    applied(dsn, SETUP)
    pg_conn.execute("INSERT INTO t SELECT g, g FROM generate_series(1, 20) g")
    runner = make_runner(dsn)
    try:
        runner.start(migration(CHANGE, "02_change"))
        runner.complete()
    finally:
        runner.close()


def test_the_snapshot_is_the_schema_after_complete_and_written_after_its_transaction(
        admin_dsn: str, pg_conn: Connection) -> None:
    _completed(admin_dsn, pg_conn)
    recorded = one(pg_conn, RECORDED, ("02_change",))[0]
    assert recorded == one(pg_conn, READ)[0]
    assert set(recorded["tables"]["t"]["columns"]) == {"id", "v", "w"}
    # complete renamed the copy to w in its transaction; the snapshot came in a later one
    renamed = one(pg_conn, "SELECT xmin::text FROM pg_attribute WHERE attrelid = 't'::regclass "
                  "AND attname = 'w'")[0]
    row = one(pg_conn, "SELECT xmin::text, done FROM pgroll.migrations WHERE name = '02_change'")
    assert row[1] is True
    assert row[0] != renamed
    # the record of the phase's progress is in complete's own transaction
    plans = one(pg_conn, "SELECT xmin::text FROM pgroll.pgroll_dsl_plans "
                "WHERE name = '02_change'")[0]
    assert plans == renamed


def test_a_snapshot_a_dead_run_left_unrecorded_is_recorded_by_the_next_run(
        admin_dsn: str, pg_conn: Connection, tmp_path: Path) -> None:
    """What a run killed right after complete's commit leaves (done, no snapshot): ``status``
    reads and leaves it; the next start records the schema as complete left it."""
    _completed(admin_dsn, pg_conn)
    after_complete = one(pg_conn, READ)[0]
    pg_conn.execute("UPDATE pgroll.migrations SET resulting_schema = '{}' "
                    "WHERE name = '02_change'")
    assert cli(["status"], admin_dsn).returncode == 0
    assert one(pg_conn, RECORDED, ("02_change",))[0] == {}
    later = write_file(tmp_path, "03_later", LATER)
    started = cli(["start", str(later)], admin_dsn)
    assert started.returncode == 0, started.describe()
    assert one(pg_conn, RECORDED, ("02_change",))[0] == after_complete
    assert "_pgroll_new_x" not in after_complete["tables"]["t"]["columns"]


def test_a_failed_snapshot_is_a_warning_complete_is_done(admin_dsn: str, pg_conn: Connection,
                                                          tmp_path: Path) -> None:
    """The record after the commit fails (a trigger of the state table refuses it): complete
    exits 0 and says so; the next run records it."""
    applied(admin_dsn, SETUP)
    change = write_file(tmp_path, "02_change", CHANGE)
    assert cli(["start", str(change)], admin_dsn).returncode == 0
    pg_conn.execute(
        "CREATE FUNCTION public.refuse() RETURNS trigger LANGUAGE plpgsql AS $$BEGIN "
        "IF NEW.resulting_schema <> '{}' THEN RAISE EXCEPTION 'refused here'; END IF; "
        "RETURN NEW; END$$")
    pg_conn.execute("CREATE TRIGGER refuse BEFORE UPDATE ON pgroll.migrations FOR EACH ROW "
                    "EXECUTE FUNCTION public.refuse()")
    done = cli(["complete"], admin_dsn)
    assert done.returncode == 0, done.describe()
    assert 'warning: migration "02_change" is complete, but recording the schema' in done.stderr
    assert "refused here" in done.stderr and "Traceback" not in done.stderr
    assert one(pg_conn, "SELECT done, resulting_schema FROM pgroll.migrations "
               "WHERE name = '02_change'") == (True, {})
    assert cli(["status"], admin_dsn).stdout.count('"Complete"') == 1
    pg_conn.execute("DROP TRIGGER refuse ON pgroll.migrations")
    later = write_file(tmp_path, "03_later", LATER)
    assert cli(["start", str(later)], admin_dsn).returncode == 0
    recorded = one(pg_conn, RECORDED, ("02_change",))[0]
    assert set(recorded["tables"]["t"]["columns"]) == {"id", "v", "w"}


OTHERS = 150

# What a requirement's loss looks like: the statement that loses it, what complete names.
LOST = {
    "a column of a table the migration leaves alone": (
        "ALTER TABLE o97 DROP COLUMN code CASCADE", "column code of table o97"),
    "a column of the migrated table": ("ALTER TABLE t DROP COLUMN v CASCADE",
                                       "column v of table t"),
    "a copy": ("ALTER TABLE t DROP COLUMN _pgroll_new_w CASCADE",
               "column _pgroll_new_w of table t"),
    "a sync trigger": ('DROP TRIGGER "~pgroll_trigger_000_t_w" ON t',
                       "trigger ~pgroll_trigger_000_t_w of table t"),
    "the version schema": ("DROP SCHEMA public_02_change CASCADE", "schema public_02_change"),
}


@pytest.mark.parametrize("case", list(LOST))
def test_complete_names_what_is_missing_among_many_tables(admin_dsn: str, pg_conn: Connection,
                                                          tmp_path: Path, case: str) -> None:
    """A schema of 150 more tables (some 750 more requirements): the lost one is named
    (with what its loss took along: CASCADE), nothing changes, rollback undoes it."""
    statement, named = LOST[case]
    applied(admin_dsn, SETUP + "".join(
        f"create table o{i} (id bigint primary key, v int, code text unique);\n"
        for i in range(OTHERS)))
    change = write_file(tmp_path, "02_change", CHANGE)
    assert cli(["start", str(change)], admin_dsn).returncode == 0
    pg_conn.execute(statement)
    refused = cli(["complete"], admin_dsn)
    assert refused.returncode != 0
    said = refused.stderr.split("complete refused, nothing was changed: ", 1)[-1]
    listed = said.split(" made by start ", 1)[0].split("; ")
    assert named in listed, refused.stderr
    assert "Traceback" not in refused.stderr
    assert one(pg_conn, "SELECT done FROM pgroll.migrations WHERE name = '02_change'") == (False,)
    assert cli(["rollback"], admin_dsn).returncode == 0


def test_complete_with_nothing_missing_among_many_tables(admin_dsn: str, pg_conn: Connection,
                                                         tmp_path: Path) -> None:
    applied(admin_dsn, SETUP + "".join(
        f"create table o{i} (id bigint primary key, v int, code text unique);\n"
        for i in range(OTHERS)))
    pg_conn.execute("INSERT INTO t SELECT g, g FROM generate_series(1, 20) g")
    change = write_file(tmp_path, "02_change", CHANGE)
    assert cli(["start", str(change)], admin_dsn).returncode == 0
    done = cli(["complete"], admin_dsn)
    assert done.returncode == 0, done.describe()
    assert one(pg_conn, "SELECT count(*) FROM t WHERE w = v * 2") == (20,)
