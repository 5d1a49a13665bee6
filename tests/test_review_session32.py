"""Review of the session's change: the schema snapshot after complete's commit, the
requirement check as three arrays, and (reverted) complete's rights pass before its lock step.

* The rights pass (``grants_step(again=True)``) was moved first in complete's transaction,
  before the lock step, reading the catalog after start. Compared with what the code before
  (f966951) gave, case by case, it lost a column grant on a renamed and rewritten column
  and left a dropped column's or a copy's rights on the view, and a DBA's GRANT on a view
  during complete's lock wait failed: the move was reverted (f0b211b), and those cases are
  plain tests now, with the cases that held (``HOLDS``).
* ``resulting_schema`` is written in a statement of its own after complete's commit
  (``State.record_schema``), and a run holding the run lock records the latest migration's
  if it is pending, or stops before it changes anything: checked through ``start
  --complete``, ``migrate``, the Python API, a resumed complete, a non-transactional
  complete step, another state schema and target schema, two schemas in one state, an
  inferred migration right after complete, a baseline, and a start refused while the
  record cannot be made (it went on before, and the snapshot stayed empty for good).
* ``Runner._missing`` (columns, triggers, schemas as three arrays): hostile names, an
  uppercase schema, partitions beside them, duplicates, thousands of requirements, a table
  that does not exist, a name longer than PostgreSQL keeps (cut as the column's was:
  ``::name``).

Found and fixed since: a type change then a rename of the same column never renamed the
table's column (tests/test_rename_after_new_column.py).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest

from pgroll_dsl import api
from pgroll_dsl.backends.live import Session
from pgroll_dsl.backends.runner import Runner, RunOptions, StepEvent
from pgroll_dsl.plan.model import Phase, Requirement, Requires
from tests.fault_model import cli, write_file
from tests.live_helpers import Connection, dsn_of, make_runner, migration, one, query
from tests.test_version_grants import _as

pytestmark = pytest.mark.postgres

VERSION = "public_02_people"
PEOPLE = f"{VERSION}.people"


# --- the rights pass before complete's changes -------------------------------------------------

@pytest.fixture
def roles(pg_conn: Connection) -> Iterator[dict[str, str]]:
    """``reporter`` (SELECT on the tables), ``colrole`` (rights on columns of people) and
    ``late`` (granted only while the migration runs); ``people`` and ``other``."""
    tag = pg_conn.info.backend_pid
    names = {r: f"{r}_{tag}" for r in ("reporter", "colrole", "late")}
    for name in names.values():
        pg_conn.execute(f'CREATE ROLE "{name}"')
    pg_conn.execute(f"""
        CREATE TABLE people (id int PRIMARY KEY, email varchar(100), note text, extra int);
        INSERT INTO people VALUES (1, 'A@x', 'n1', 1), (2, 'B@x', 'n2', 2);
        CREATE TABLE other (id int PRIMARY KEY, v int);
        GRANT SELECT ON people, other TO "{names['reporter']}";
        GRANT SELECT, UPDATE (email) ON people TO "{names['colrole']}";
    """)
    try:
        yield names
    finally:
        listed = ", ".join(f'"{n}"' for n in names.values())
        pg_conn.execute(f"DROP OWNED BY {listed}")
        pg_conn.execute(f"DROP ROLE {listed}")


def _migrated(pg_conn: Connection, pg_dsn: str, text: str, during: str,
              roles: dict[str, str]) -> None:
    """Start ``text``, run ``during`` (formatted with the roles) as the admin, complete."""
    runner = make_runner(dsn_of(pg_dsn, pg_conn))
    try:
        runner.start(migration(text, "02_people"))
        pg_conn.execute(during.format(**{k: f'"{v}"' for k, v in roles.items()}))
        runner.complete()
    finally:
        runner.close()


def _column_right(conn: Connection, role: str, relation: str, column: str, right: str) -> bool:
    return bool(one(conn, "SELECT has_column_privilege(%s, %s::regclass, %s, %s)",
                    (role, relation, column, right))[0])


RETYPE = "alter table people alter email type text up `lower(email)` down `email`;"

# Cases where the view's rights after complete are what they were before the change (the
# same ACLs as f966951 gave, compared at review time), and what each role may do then.
HOLDS: dict[str, tuple[str, str, list[tuple[str, str, object]]]] = {
    # (A role needs SELECT on every column of the table to use its security_invoker view:
    # PostgreSQL checks each column the view reads. Column rights are tested as UPDATE.)
    "a rewrite, a column grant on the old column": (
        RETYPE, "GRANT SELECT, UPDATE (email) ON people TO {late}",
        [("late", f"UPDATE {PEOPLE} SET email = 'c@x' WHERE id = 2 RETURNING email",
          [("c@x",)]),
         ("late", f"UPDATE {PEOPLE} SET note = 'no'", "42501")]),
    "a rewrite, a column revoked meanwhile": (
        RETYPE, "REVOKE UPDATE (email) ON people FROM {colrole}",
        [("colrole", f"SELECT id, email FROM {PEOPLE} ORDER BY id", [(1, "a@x"), (2, "b@x")]),
         ("colrole", f"UPDATE {PEOPLE} SET email = 'z'", "42501")]),
    "set not null, a column grant": (
        "alter table people alter note set not null up `coalesce(note, '')`;",
        "GRANT SELECT, UPDATE (note) ON people TO {late}",
        [("late", f"UPDATE {PEOPLE} SET note = 'y' WHERE id = 1 RETURNING id, note",
          [(1, "y")])]),
    "rename column": (
        "alter table people rename note to remark;",
        "GRANT SELECT, UPDATE (note) ON people TO {late}",
        [("late", f"UPDATE {PEOPLE} SET remark = 'r' WHERE id = 1 RETURNING id, remark",
          [(1, "r")])]),
    "rename table": (
        "alter table people rename to persons;",
        "GRANT SELECT, UPDATE (note) ON people TO {late}",
        [("late", f"UPDATE {VERSION}.persons SET note = 'p' WHERE id = 1 RETURNING id",
          [(1,)]),
         ("late", f"UPDATE {VERSION}.persons SET email = 'p'", "42501")]),
    "drop column": (
        "alter table people drop extra;",
        "GRANT SELECT (id, email, note, extra), UPDATE (extra, note) ON people TO {late}",
        [("late", f"UPDATE {PEOPLE} SET note = 'd' WHERE id = 1 RETURNING id, note",
          [(1, "d")])]),
    "created table": (
        "create table fresh (id int primary key, w text);",
        "GRANT SELECT, INSERT ON fresh TO {late}",
        [("late", f"INSERT INTO {VERSION}.fresh VALUES (1, 'w') RETURNING id", [(1,)]),
         ("late", f"DELETE FROM {VERSION}.fresh", "42501")]),
    "table grants, another table, a revoke": (
        RETYPE + "\nalter table people add nick text;",
        "GRANT SELECT, UPDATE ON people TO {late}; GRANT SELECT ON other TO {late}; "
        "REVOKE SELECT ON people FROM {reporter}",
        [("late", f"UPDATE {PEOPLE} SET nick = 'k' WHERE id = 1 RETURNING email, nick",
          [("a@x", "k")]),
         ("late", f"SELECT count(*) FROM {VERSION}.other", [(0,)]),
         ("reporter", f"SELECT id FROM {PEOPLE}", "42501"),
         ("reporter", f"SELECT id FROM {VERSION}.other", [])]),
    "several operations on one table": (
        RETYPE + "\nalter table people alter note set not null up `coalesce(note, '')`;\n"
        "alter table people drop extra;",
        "GRANT SELECT, UPDATE (email, note) ON people TO {late}",
        [("late", f"UPDATE {PEOPLE} SET email = 'e', note = 'n' WHERE id = 1 "
          "RETURNING email, note", [("e", "n")])]),
    "raw sql (views made again)": (
        "sql up `ALTER TABLE people RENAME COLUMN note TO remark` "
        "down `ALTER TABLE people RENAME COLUMN remark TO note`;",
        "GRANT SELECT, UPDATE (remark) ON people TO {late}; GRANT SELECT ON other TO {late}",
        [("late", f"UPDATE {PEOPLE} SET remark = 'r' WHERE id = 1 RETURNING remark",
          [("r",)]),
         ("late", f"SELECT id FROM {VERSION}.other", [])]),
    "grant option on a column": (
        RETYPE, "GRANT SELECT ON people TO {late}; "
        "GRANT UPDATE (email) ON people TO {late} WITH GRANT OPTION",
        [("late", f"GRANT UPDATE (email) ON {PEOPLE} TO <reporter>", [])]),
}


@pytest.mark.parametrize("case", sorted(HOLDS))
def test_rights_granted_during_the_migration_reach_the_new_version(
        pg_conn: Connection, pg_dsn: str, roles: dict[str, str], case: str) -> None:
    text, during, checks = HOLDS[case]
    _migrated(pg_conn, pg_dsn, text, during, roles)
    for role, statement, expected in checks:
        statement = statement.replace("<reporter>", f'"{roles["reporter"]}"')
        assert _as(pg_conn, roles[role], statement) == expected, (role, statement)


def test_a_column_grant_on_a_renamed_and_rewritten_column_reaches_the_view(
        pg_conn: Connection, pg_dsn: str, roles: dict[str, str]) -> None:
    late = roles["late"]
    _migrated(pg_conn, pg_dsn, "alter table people rename email to mail;\n"
              "alter table people alter mail type text up `lower(mail)` down `mail`;",
              "GRANT SELECT, UPDATE (email) ON people TO {late}", roles)
    # the table lets late write mail ...
    assert _as(pg_conn, late, "UPDATE public.people SET mail = 'm' WHERE id = 1 "
               "RETURNING mail") == [("m",)]
    # ... the new version, which shows the table, should too
    assert _as(pg_conn, late, f"SELECT id, mail FROM {PEOPLE} ORDER BY id") == [
        (1, "m"), (2, "b@x")]
    assert _as(pg_conn, late, f"UPDATE {PEOPLE} SET mail = 'v' WHERE id = 1 "
               "RETURNING mail") == [("v",)]


def test_a_dropped_columns_rights_do_not_land_on_its_namesake(
        pg_conn: Connection, pg_dsn: str, roles: dict[str, str]) -> None:
    late = roles["late"]
    _migrated(pg_conn, pg_dsn, "alter table people drop extra;\n"
              "alter table people rename note to extra;",
              "GRANT SELECT ON people TO {late}; GRANT UPDATE (extra) ON people TO {late}",
              roles)
    assert not _column_right(pg_conn, late, "public.people", "extra", "UPDATE")
    assert _as(pg_conn, late, f"UPDATE {PEOPLE} SET extra = 'x'") == "42501"  # holds
    assert not _column_right(pg_conn, late, PEOPLE, "extra", "UPDATE")


def test_a_grant_on_the_copy_that_complete_takes_back_is_not_on_the_view(
        pg_conn: Connection, pg_dsn: str, roles: dict[str, str]) -> None:
    late = roles["late"]
    _migrated(pg_conn, pg_dsn, RETYPE,
              "GRANT SELECT ON people TO {late}; "
              "GRANT UPDATE (_pgroll_new_email) ON people TO {late}", roles)
    assert not _column_right(pg_conn, late, "public.people", "email", "UPDATE")
    assert _as(pg_conn, late, f"UPDATE {PEOPLE} SET email = 'x'") == "42501"  # holds
    assert not _column_right(pg_conn, late, PEOPLE, "email", "UPDATE")


# --- the rights pass and concurrent sessions ---------------------------------------------------

def _paused_complete(dsn: str, at: str, action: Any) -> tuple[list[str], float]:
    """Complete with ``action()`` run in a thread (awaited 1.5 s) when the transaction
    reaches the step whose summary begins with ``at``; what the runner said, and how long
    ``action`` was awaited."""
    said: list[str] = []
    took: list[float] = []

    def on_step(event: StepEvent) -> None:
        if (event.phase is Phase.COMPLETE and event.in_transaction and event.step is not None
                and event.step.summary.startswith(at) and not took):
            began = time.monotonic()
            worker = threading.Thread(target=action)
            worker.start()
            worker.join(1.5)
            took.append(time.monotonic() - began)

    runner = make_runner(dsn, on_step=on_step, on_message=said.append)
    try:
        runner.complete()
    finally:
        runner.close()
    return said, took[0] if took else -1.0


def test_a_dba_grant_on_the_new_version_while_complete_waits_at_its_lock_step(
        pg_conn: Connection, pg_dsn: str, roles: dict[str, str]) -> None:
    dsn = dsn_of(pg_dsn, pg_conn)
    runner = make_runner(dsn)
    try:
        runner.start(migration(RETYPE, "02_people"))
    finally:
        runner.close()
    pg_conn.execute(f'GRANT SELECT ON people TO "{roles["late"]}"')  # the pass grants it
    outcome: list[str] = []

    def dba() -> None:
        with psycopg.connect(dsn, autocommit=True) as conn:
            conn.execute("SET lock_timeout = '10s'")
            try:
                conn.execute(f'GRANT INSERT ON {PEOPLE} TO "{roles["reporter"]}"')
                outcome.append("granted")
            except psycopg.Error as err:
                outcome.append(f"{err.sqlstate} {err}")

    _, waited = _paused_complete(dsn, "lock ", dba)
    deadline = time.monotonic() + 15
    while not outcome and time.monotonic() < deadline:
        time.sleep(0.05)
    assert _as(pg_conn, roles["late"], f"SELECT count(*) FROM {PEOPLE}") == [(2,)]  # holds
    assert outcome == ["granted"], (outcome, waited)


def test_a_client_in_a_transaction_on_the_new_version_during_complete(
        pg_conn: Connection, pg_dsn: str, roles: dict[str, str]) -> None:
    """A client of the new version holds its view (and table) in an open transaction:
    complete waits for the client, who ends, and complete finishes, the rights pass (a
    GRANT takes ACCESS SHARE on the view) included."""
    dsn = dsn_of(pg_dsn, pg_conn)
    runner = make_runner(dsn)
    try:
        runner.start(migration(RETYPE, "02_people"))
    finally:
        runner.close()
    pg_conn.execute(f'GRANT SELECT ON people TO "{roles["late"]}"')
    passed: list[str] = []

    def on_step(event: StepEvent) -> None:
        if event.phase is Phase.COMPLETE and event.step is not None:
            passed.append(event.step.summary)

    with psycopg.connect(dsn) as app:
        app.execute(f"SELECT count(*) FROM {PEOPLE}")
        ender = threading.Timer(1.5, app.commit)
        ender.start()
        runner = make_runner(dsn, on_step=on_step)
        try:
            runner.complete()
        finally:
            runner.close()
            ender.join()
    assert passed[-1].startswith("the rights granted on public"), passed
    assert _as(pg_conn, roles["late"], f"SELECT count(*) FROM {PEOPLE}") == [(2,)]


def test_a_rewrite_then_a_rename_renames_the_tables_column(
        pg_conn: Connection, pg_dsn: str, roles: dict[str, str]) -> None:
    _migrated(pg_conn, pg_dsn, RETYPE + "\nalter table people rename email to mail;", "",
              roles)
    assert query(pg_conn, f"SELECT id, mail FROM {PEOPLE} ORDER BY id") == [
        (1, "a@x"), (2, "b@x")]
    columns = {r[0] for r in query(pg_conn, "SELECT attname::text FROM pg_attribute WHERE "
                                   "attrelid = 'public.people'::regclass AND attnum > 0 "
                                   "AND NOT attisdropped")}
    assert "mail" in columns and "email" not in columns, columns


# --- the schema snapshot after complete's commit -----------------------------------------------

SETUP = "create table t (id bigint primary key, v int not null);\n"
CHANGE = "alter table t add w int not null up `v * 2`;\n"
LATER = "alter table t add x int up `v + 1`;\n"


def _snapshot(conn: Connection, name: str, state: str = "pgroll") -> Any:
    return one(conn, f'SELECT resulting_schema FROM "{state}".migrations WHERE name = %s',
               (name,))[0]


def _read(conn: Connection, schema: str = "public", state: str = "pgroll") -> Any:
    return one(conn, f'SELECT "{state}".read_schema(%s)', (schema,))[0]


def _columns(snapshot: Any, table: str = "t") -> set[str]:
    return set(snapshot["tables"][table]["columns"])


def test_start_complete_records_the_schema_it_left(admin_dsn: str, pg_conn: Connection,
                                                   tmp_path: Path) -> None:
    assert cli(["init"], admin_dsn).returncode == 0
    for name, text in (("01_setup", SETUP), ("02_change", CHANGE)):
        done = cli(["start", "--complete", str(write_file(tmp_path, name, text))], admin_dsn)
        assert done.returncode == 0, done.describe()
        assert "warning" not in done.stderr
        assert _snapshot(pg_conn, name) == _read(pg_conn)
    assert _columns(_snapshot(pg_conn, "02_change")) == {"id", "v", "w"}
    assert _columns(_snapshot(pg_conn, "01_setup")) == {"id", "v"}


def test_migrate_records_each_migrations_own_schema(admin_dsn: str, pg_conn: Connection,
                                                    tmp_path: Path) -> None:
    """Three migrations in one run: each snapshot is the schema right after its complete
    (none has a later one's column, nor a copy), the last one the schema as it is."""
    folder = tmp_path / "m"
    folder.mkdir()
    for name, text in (("01_setup", SETUP), ("02_change", CHANGE), ("03_later", LATER)):
        write_file(folder, name, text)
    assert cli(["init"], admin_dsn).returncode == 0
    done = cli(["migrate", "--complete", str(folder)], admin_dsn)
    assert done.returncode == 0, done.describe()
    assert _columns(_snapshot(pg_conn, "01_setup")) == {"id", "v"}
    assert _columns(_snapshot(pg_conn, "02_change")) == {"id", "v", "w"}
    assert _snapshot(pg_conn, "03_later") == _read(pg_conn)
    assert _columns(_snapshot(pg_conn, "03_later")) == {"id", "v", "w", "x"}


def test_the_api_records_the_schema(admin_dsn: str, pg_conn: Connection,
                                    tmp_path: Path) -> None:
    folder = tmp_path / "m"
    folder.mkdir()
    write_file(folder, "01_setup", SETUP)
    write_file(folder, "02_change", CHANGE)
    with api.connect(admin_dsn) as migrator:
        migrator.init()
        migrator.migrate(folder, complete=True)
        assert _columns(_snapshot(pg_conn, "01_setup")) == {"id", "v"}
        assert _snapshot(pg_conn, "02_change") == _read(pg_conn)
        migrator.start(write_file(tmp_path, "03_later", LATER), complete=True)
    assert _snapshot(pg_conn, "03_later") == _read(pg_conn)
    assert _columns(_snapshot(pg_conn, "02_change")) == {"id", "v", "w"}


def test_a_complete_resumed_after_its_non_transactional_step_failed(
        admin_dsn: str, pg_conn: Connection, tmp_path: Path) -> None:
    """Raw SQL at complete that cannot run in a transaction (CREATE UNIQUE INDEX
    CONCURRENTLY, duplicates in the table) fails after complete's transaction committed:
    the migration is not done and nothing is recorded; the next complete finishes it and
    records the schema then (the index in it), and nothing before it filled the row."""
    assert cli(["init"], admin_dsn).returncode == 0
    assert cli(["start", "--complete", str(write_file(tmp_path, "01_setup", SETUP))],
               admin_dsn).returncode == 0
    change = write_file(tmp_path, "02_change", CHANGE + "sql on complete up "
                        "`CREATE UNIQUE INDEX CONCURRENTLY t_v_idx ON t (v)`;\n")
    assert cli(["start", str(change)], admin_dsn).returncode == 0
    pg_conn.execute("INSERT INTO t VALUES (1, 7), (2, 7)")  # the unique build fails
    failed = cli(["complete"], admin_dsn)
    assert failed.returncode != 0, failed.describe()
    assert "t_v_idx" in failed.stderr
    row = one(pg_conn, "SELECT done, resulting_schema FROM pgroll.migrations "
              "WHERE name = '02_change'")
    assert row == (False, {})
    assert cli(["status"], admin_dsn).returncode == 0
    pg_conn.execute("DELETE FROM t WHERE id = 2; DROP INDEX t_v_idx")  # (left invalid)
    done = cli(["complete"], admin_dsn)
    assert done.returncode == 0, done.describe()
    recorded = _snapshot(pg_conn, "02_change")
    assert recorded == _read(pg_conn)
    assert "t_v_idx" in recorded["tables"]["t"]["indexes"]
    assert _columns(recorded) == {"id", "v", "w"}


def test_another_state_schema_and_target_schema(admin_dsn: str, pg_conn: Connection,
                                                tmp_path: Path) -> None:
    """``--pgroll-schema "State X"`` and ``--schema "App Ü"``: the snapshot is written to
    that state, of that schema; the repair finds it there."""
    state, schema = "State X", "App Ü"
    pg_conn.execute(f'CREATE SCHEMA "{schema}"')
    flags = ["--schema", schema, "--pgroll-schema", state]
    assert cli(["init", *flags], admin_dsn).returncode == 0
    for name, text in (("01_setup", SETUP), ("02_change", CHANGE)):
        done = cli(["start", "--complete", str(write_file(tmp_path, name, text)), *flags],
                   admin_dsn)
        assert done.returncode == 0, done.describe()
    assert _snapshot(pg_conn, "02_change", state) == _read(pg_conn, schema, state)
    assert _snapshot(pg_conn, "02_change", state)["name"] == schema
    pg_conn.execute(f"UPDATE \"{state}\".migrations SET resulting_schema = '{{}}' "
                    "WHERE name = '02_change'")
    started = cli(["start", str(write_file(tmp_path, "03_later", LATER)), *flags], admin_dsn)
    assert started.returncode == 0, started.describe()
    assert _columns(_snapshot(pg_conn, "02_change", state)) == {"id", "v", "w"}


def test_the_repair_fills_only_its_own_schemas_row(admin_dsn: str, pg_conn: Connection,
                                                   tmp_path: Path) -> None:
    """Two target schemas in one state, each with a pending snapshot (a run died after
    each complete): a start in one fills that one's, never the other's."""
    pg_conn.execute("CREATE SCHEMA a; CREATE SCHEMA b")
    assert cli(["init", "--schema", "a"], admin_dsn).returncode == 0
    for schema in ("a", "b"):
        for name, text in (("01_setup", SETUP), ("02_change", CHANGE)):
            done = cli(["start", "--complete", str(write_file(tmp_path, name, text)),
                        "--schema", schema], admin_dsn)
            assert done.returncode == 0, done.describe()
    after = {s: _read(pg_conn, s) for s in ("a", "b")}
    pg_conn.execute("UPDATE pgroll.migrations SET resulting_schema = '{}' "
                    "WHERE name = '02_change'")
    pg_conn.execute("ALTER TABLE b.t ADD COLUMN unrelated int")  # inferred in b
    started = cli(["start", str(write_file(tmp_path, "03_later", LATER)), "--schema", "a"],
                  admin_dsn)
    assert started.returncode == 0, started.describe()
    rows = dict(query(pg_conn, "SELECT schema, resulting_schema FROM pgroll.migrations "
                      "WHERE name = '02_change'"))
    assert rows == {"a": after["a"], "b": {}}
    # b's latest migration is the inferred one now: b's pending row is never filled
    assert cli(["start", str(write_file(tmp_path, "03_later", LATER)), "--schema", "b"],
               admin_dsn).returncode == 0
    assert _snapshot_of(pg_conn, "b", "02_change") == {}


def _snapshot_of(conn: Connection, schema: str, name: str) -> Any:
    return one(conn, "SELECT resulting_schema FROM pgroll.migrations WHERE schema = %s "
               "AND name = %s", (schema, name))[0]


def test_an_inferred_migration_right_after_complete(admin_dsn: str, pg_conn: Connection,
                                                    tmp_path: Path) -> None:
    """DDL outside pgroll-dsl right after complete (pgroll's event trigger records it): the
    completed migration's snapshot does not have it, the inferred one does, and a later
    start leaves both alone."""
    assert cli(["init"], admin_dsn).returncode == 0
    for name, text in (("01_setup", SETUP), ("02_change", CHANGE)):
        assert cli(["start", "--complete", str(write_file(tmp_path, name, text))],
                   admin_dsn).returncode == 0
    after = _read(pg_conn)
    pg_conn.execute("CREATE TABLE outside (id int)")
    inferred = one(pg_conn, "SELECT name, parent, resulting_schema FROM pgroll.migrations "
                   "WHERE migration_type = 'inferred'")
    assert inferred[1] == "02_change" and "outside" in inferred[2]["tables"]
    assert _snapshot(pg_conn, "02_change") == after
    assert cli(["start", str(write_file(tmp_path, "03_later", LATER))],
               admin_dsn).returncode == 0
    assert _snapshot(pg_conn, "02_change") == after
    assert _snapshot(pg_conn, inferred[0]) == inferred[2]


def test_a_baseline_then_a_migration(admin_dsn: str, pg_conn: Connection,
                                     tmp_path: Path) -> None:
    pg_conn.execute("CREATE TABLE t (id bigint PRIMARY KEY, v int NOT NULL)")
    assert cli(["init"], admin_dsn).returncode == 0
    based = cli(["baseline", "01_base", str(tmp_path), "--yes"], admin_dsn)
    assert based.returncode == 0, based.describe()
    assert _columns(_snapshot(pg_conn, "01_base")) == {"id", "v"}
    done = cli(["start", "--complete", str(write_file(tmp_path, "02_change", CHANGE))],
               admin_dsn)
    assert done.returncode == 0, done.describe()
    assert _snapshot(pg_conn, "02_change") == _read(pg_conn)


REFUSE = ("CREATE FUNCTION public.refuse() RETURNS trigger LANGUAGE plpgsql AS $$BEGIN "
          "IF NEW.resulting_schema <> '{}' THEN RAISE EXCEPTION 'refused here'; END IF; "
          "RETURN NEW; END$$; CREATE TRIGGER refuse BEFORE UPDATE ON pgroll.migrations "
          "FOR EACH ROW EXECUTE FUNCTION public.refuse()")


def test_a_start_on_a_pending_snapshot_it_cannot_record(
        admin_dsn: str, pg_conn: Connection, tmp_path: Path) -> None:
    """The record fails at complete (a warning) and again at the next start's repair: the
    start is refused, nothing changed (once a later migration is in the history, the schema
    02 left can no longer be read); once the record can be made, start goes on."""
    assert cli(["init"], admin_dsn).returncode == 0
    assert cli(["start", "--complete", str(write_file(tmp_path, "01_setup", SETUP))],
               admin_dsn).returncode == 0
    assert cli(["start", str(write_file(tmp_path, "02_change", CHANGE))],
               admin_dsn).returncode == 0
    pg_conn.execute(REFUSE)
    assert cli(["complete"], admin_dsn).returncode == 0
    after = _read(pg_conn)
    later = write_file(tmp_path, "03_later", LATER)
    started = cli(["start", str(later)], admin_dsn)
    assert started.returncode != 0, started.describe()
    assert "schema snapshot is not in the history yet" in started.stderr
    assert "refused here" in started.stderr and "nothing was changed" in started.stderr
    assert "Traceback" not in started.stderr
    assert one(pg_conn, "SELECT count(*) FROM pgroll.migrations WHERE name = '03_later'") == (0,)
    pg_conn.execute("DROP TRIGGER refuse ON pgroll.migrations")
    assert cli(["start", str(later)], admin_dsn).returncode == 0
    assert _snapshot(pg_conn, "02_change") == after
    assert cli(["complete"], admin_dsn).returncode == 0
    assert _snapshot(pg_conn, "03_later") == _read(pg_conn)


# --- the requirement check: three arrays ---------------------------------------------------------

ODD = 'Odd "Schema" É'
HOSTILE = ['a b', 'say "hi"', "it's", "ü🙂", "x" * 63, "semi;colon", "UPPER", "back\\slash"]


def _runner_on(dsn: str, schema: str) -> Runner:
    runner = Runner(RunOptions(session=Session(url=dsn, schema=schema)))
    runner.init()
    return runner


def _ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


@pytest.fixture
def odd_schema(pg_conn: Connection) -> str:
    """A schema of a hostile name: tables and columns of hostile names, a partitioned table."""
    pg_conn.execute(f"CREATE SCHEMA {_ident(ODD)}")
    for i, table in enumerate(HOSTILE):
        cols = ", ".join(f"{_ident(c)} int" for c in HOSTILE if c != "x" * 63)
        pg_conn.execute(f"CREATE TABLE {_ident(ODD)}.{_ident(table)} (id int PRIMARY KEY, "
                        f"{cols})")
        if i % 2:
            pg_conn.execute(f"CREATE TRIGGER {_ident(table + ' trg')} BEFORE UPDATE ON "
                            f"{_ident(ODD)}.{_ident(table)} FOR EACH ROW EXECUTE FUNCTION "
                            "suppress_redundant_updates_trigger()")
    pg_conn.execute(f"CREATE TABLE {_ident(ODD)}.ev (id int, at int) PARTITION BY RANGE (at)")
    pg_conn.execute(f"CREATE TABLE {_ident(ODD)}.ev_1 PARTITION OF {_ident(ODD)}.ev "
                    "FOR VALUES FROM (0) TO (10)")
    return ODD


def test_missing_reads_hostile_names_exactly(admin_dsn: str, odd_schema: str) -> None:
    """Every hostile column and trigger is found; a near miss of each (another case, a
    space more, a table of another name, a table that does not exist) is named missing (a
    table that does not exist has no partitions, as partitions_hold says);
    duplicates are named as often as given; partitions are checked beside them."""
    runner = _runner_on(admin_dsn, odd_schema)
    try:
        present = [Requires(Requirement.COLUMN, c, t) for t in HOSTILE for c in HOSTILE
                   if c != "x" * 63]
        present += [Requires(Requirement.TRIGGER, t + " trg", t) for t in HOSTILE[1::2]]
        present += [Requires(Requirement.SCHEMA, odd_schema),
                    Requires(Requirement.PARTITIONS, "ev_1", "ev")]
        absent = [Requires(Requirement.COLUMN, "A B", "a b"),
                  Requires(Requirement.COLUMN, "a b ", "a b"),
                  Requires(Requirement.COLUMN, "id", "no such table"),
                  Requires(Requirement.COLUMN, "id", "A B"),
                  Requires(Requirement.TRIGGER, "a b trg", "a b"),  # (on even tables only)
                  Requires(Requirement.TRIGGER, "say \"hi\" trg", "it's"),
                  Requires(Requirement.SCHEMA, odd_schema.lower()),
                  Requires(Requirement.SCHEMA, "public_no_such"),
                  Requires(Requirement.PARTITIONS, "ev_1,ev_2", "ev")]
        present.append(Requires(Requirement.PARTITIONS, "", "no such table"))  # has none
        duplicated = [absent[0], present[0], absent[0]]
        requires = tuple(x for pair in zip(present, present[::-1], strict=True) for x in pair)
        assert runner._missing(requires) == []
        mixed = (*present[:40], *absent, *present[40:], *duplicated)
        assert runner._missing(mixed) == [*absent, absent[0], absent[0]]
    finally:
        runner.close()


def test_missing_among_thousands_of_requirements(admin_dsn: str, pg_conn: Connection) -> None:
    """4 000 requirements of 400 tables, the missing ones anywhere among them: one query
    (counted on the runner's connection; its speed is docs/benchmarks.md's, not a test's)."""
    with pg_conn.transaction():
        for i in range(400):
            pg_conn.execute(f"CREATE TABLE big{i} (id int, a int, b int, c int, d int, e int, "
                            "f int, g int, h int)")
    runner = make_runner(admin_dsn)
    try:
        requires = [Requires(Requirement.COLUMN, c, f"big{i}") for i in range(400)
                    for c in ("id", "a", "b", "c", "d", "e", "f", "g", "h", "z")]
        sent: list[object] = []
        execute = runner.conn.execute

        def counted(query: Any, *args: Any, **kwargs: Any) -> Any:
            sent.append(query)
            return execute(query, *args, **kwargs)

        runner.conn.execute = counted  # type: ignore[method-assign]
        found = runner._missing(tuple(requires))
        runner.conn.execute = execute  # type: ignore[method-assign]
    finally:
        runner.close()
    assert found == [r for r in requires if r.name == "z"]
    assert len(sent) == 1, sent


def test_missing_a_name_longer_than_postgresql_keeps(admin_dsn: str,
                                                      pg_conn: Connection) -> None:
    long = "c" * 70
    pg_conn.execute(f"CREATE TABLE t ({long} int)")  # cut to 63 bytes (a NOTICE)
    runner = make_runner(admin_dsn)
    try:
        assert runner._missing((Requires(Requirement.COLUMN, long, "t"),)) == []
    finally:
        runner.close()


def test_complete_names_a_hostile_column_lost_in_a_hostile_schema(
        admin_dsn: str, pg_conn: Connection, odd_schema: str, tmp_path: Path) -> None:
    """End to end in the hostile schema (``--schema``): nothing lost, complete ends; a
    column of a hostile name dropped after start, complete refuses naming it."""
    flags = ["--schema", odd_schema]
    assert cli(["init", *flags], admin_dsn).returncode == 0
    pg_conn.execute(f"CREATE TABLE {_ident(odd_schema)}.t (id bigint PRIMARY KEY, "
                    "v int NOT NULL)")
    first = write_file(tmp_path, "02_change", CHANGE)
    assert cli(["start", str(first), *flags], admin_dsn).returncode == 0
    done = cli(["complete", *flags], admin_dsn)
    assert done.returncode == 0, done.describe()
    assert _snapshot_of(pg_conn, odd_schema, "02_change") == _read(pg_conn, odd_schema)
    second = write_file(tmp_path, "03_later", LATER)
    assert cli(["start", str(second), *flags], admin_dsn).returncode == 0
    table = _ident(HOSTILE[1])
    pg_conn.execute(f'ALTER TABLE {_ident(odd_schema)}.{table} DROP COLUMN "ü🙂" CASCADE')
    refused = cli(["complete", *flags], admin_dsn)
    assert refused.returncode != 0
    assert 'column ü🙂 of table say "hi"' in refused.stderr, refused.describe()
    assert "Traceback" not in refused.stderr
    assert cli(["rollback", *flags], admin_dsn).returncode == 0
