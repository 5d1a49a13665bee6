"""Adversarial reproductions against the live executor, on a real PostgreSQL (no mocks).

Each test drives one schedule that the executor invariants (DESIGN.md "Executor invariants",
docs/plan.md "The live executor") say must hold, and checks the data afterwards: rows that
must survive, values each version must see, clients that must never queue behind the
migration, and exit codes and messages that must tell the truth. Each test failing here is a
defect of the executor or of the plan it runs.

Three are known limitations, documented in docs/plan.md ("Limitations") and kept here as strict
expected failures, so that the day one is fixed the test says so.

A "kill between a step and its progress record" is produced for real: a trigger on the state
table terminates the executor's own backend while it records the step, so a step that ran on
its own (autocommit) has committed and its record has not, which is what SIGKILL in that
window leaves behind.
"""

from __future__ import annotations

import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import psycopg
import pytest
from psycopg import sql

from pgroll_dsl.backends.live import Session
from pgroll_dsl.backends.runner import (
    CommandError,
    Runner,
    RunOptions,
    StepEvent,
)
from pgroll_dsl.plan.model import Phase
from tests.live_helpers import (
    SCHEMA,
    Connection,
    after_the_triggers,
    apply,
    client,
    dsn_of,
    make_runner,
    migration,
    one,
    query,
    version_schema,
)


def _quiet(conn: Connection) -> None:
    """DDL made by the test itself is not recorded as an inferred migration."""
    conn.execute("SET pgroll.no_inferred_migrations TO 'TRUE'")


def _runner(dsn: str, on_step: Any = None, batch_size: int = 3, two_passes: bool = True,
            **session: Any) -> Runner:
    runner = Runner(RunOptions(session=Session(url=dsn, schema=SCHEMA, **session),
                               batch_size=batch_size, on_step=on_step, two_passes=two_passes))
    runner.init()
    return runner


def _die_while_recording(conn: Connection, name: str, steps: int) -> None:
    """Terminate the executor's backend inside the UPDATE that records ``steps`` start steps.

    The step itself has committed (start runs each step in autocommit); its record has not.
    """
    _quiet(conn)
    conn.execute("CREATE SCHEMA IF NOT EXISTS adv")
    conn.execute(sql.SQL("""
CREATE OR REPLACE FUNCTION adv.die() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF NEW.name = {name} AND NEW.start_steps_done = {steps} AND OLD.start_steps_done < {steps}
  THEN
    PERFORM pg_terminate_backend(pg_backend_pid());
    PERFORM pg_sleep(10);
  END IF;
  RETURN NEW;
END $$""").format(name=sql.Literal(name), steps=sql.Literal(steps)))
    conn.execute("CREATE TRIGGER adv_die BEFORE UPDATE ON pgroll.pgroll_dsl_plans "
                 "FOR EACH ROW EXECUTE FUNCTION adv.die()")


def _stop_dying(conn: Connection) -> None:
    conn.execute("DROP TRIGGER IF EXISTS adv_die ON pgroll.pgroll_dsl_plans")


def _count(conn: Connection, table: str) -> int | None:
    """Rows of a table of the target schema, or None when there is no such table."""
    exists = one(conn, "SELECT to_regclass(%s) IS NOT NULL", (f"{SCHEMA}.{table}",))[0]
    if not exists:
        return None
    return int(one(conn, sql.SQL("SELECT count(*) FROM {}").format(
        sql.Identifier(SCHEMA, table)).as_string(conn))[0])


# ---- 1. a kill between a step that cannot share a transaction and its record ------------

TWO_TABLES = """
create table t (id int primary key, payload text);
create table u (id int primary key, v int);
"""


def _seed_t(conn: Connection) -> None:
    conn.execute("insert into t select g, 'row ' || g from generate_series(1, 10) g")


def test_a_connection_lost_while_recording_an_index_build_exits_3(
        pg_conn: Connection, pg_dsn: str, tmp_path: Path) -> None:
    """The connection dies in the UPDATE that records a concurrent index build of start.

    Transactional start steps now commit with their record, but a concurrent build (and the
    backfill) still records in a statement of its own, outside every handler: the
    OperationalError escapes as a traceback with exit 1 ("refused"), instead of exit 3 and
    the command that resumes (docs/plan.md "Exit codes").
    """
    dsn = dsn_of(pg_dsn, pg_conn)
    runner = make_runner(dsn)
    apply(runner, TWO_TABLES)
    runner.close()
    _seed_t(pg_conn)
    path = tmp_path / "02_idx.pgroll"
    path.write_text("create index t_payload_idx on t (payload);\n")
    _die_while_recording(pg_conn, "02_idx", 1)
    done = subprocess.run(
        [sys.executable, "-m", "pgroll_dsl", "start", str(path), "--postgres-url", dsn],
        capture_output=True, text=True, timeout=120)
    _stop_dying(pg_conn)
    assert "Traceback" not in done.stderr, done.stderr[-3000:]
    assert done.returncode == 3, (done.returncode, done.stderr[-3000:])
    assert "again to resume" in done.stderr, done.stderr[-3000:]


@pytest.mark.parametrize("command", ["status", "start", "complete", "rollback"])
def test_a_state_schema_of_another_layout_is_one_line_not_a_traceback(
        pg_conn: Connection, pg_dsn: str, tmp_path: Path, command: str) -> None:
    """The state schema's tables are not what this version reads (another pgroll's layout,
    or changed by hand): every command that reads the state said so with a Python traceback
    and exit 1. It says which read failed, that nothing was changed, and exits 1."""
    dsn = dsn_of(pg_dsn, pg_conn)
    runner = make_runner(dsn)
    apply(runner, TWO_TABLES)
    runner.close()
    _quiet(pg_conn)
    pg_conn.execute("ALTER TABLE pgroll.migrations RENAME COLUMN done TO finished")
    path = tmp_path / "02_idx.pgroll"
    path.write_text("create index t_payload_idx on t (payload);\n")
    args = [command, str(path)] if command == "start" else [command]
    done = subprocess.run([sys.executable, "-m", "pgroll_dsl", *args, "--postgres-url", dsn],
                          capture_output=True, text=True, timeout=120)
    assert "Traceback" not in done.stderr, done.stderr[-3000:]
    assert done.returncode == 1, (done.returncode, done.stderr[-3000:])
    assert ('error: a query of the catalog or the state (schema "pgroll") failed, nothing was '
            "changed: column m.done does not exist") in done.stderr, done.stderr
    assert one(pg_conn, "SELECT to_regclass('public.t_payload_idx') IS NULL") == (True,)


# ---- 2. raw SQL that cannot run in a transaction block ----------------------------------


def test_raw_sql_with_a_concurrent_index_build_starts(pg_conn: Connection,
                                                      pg_dsn: str) -> None:
    """sql up `CREATE INDEX CONCURRENTLY ...`: a raw statement that refuses a transaction.

    Start now runs every transactional step, raw SQL included, inside a transaction with its
    progress record. The plan file runs it on its own (autocommit, as psql does) and pgroll
    runs it outside a transaction, but the live executor fails with "CREATE INDEX
    CONCURRENTLY cannot run inside a transaction block": the plan is no longer what runs.
    """
    dsn = dsn_of(pg_dsn, pg_conn)
    runner = make_runner(dsn)
    apply(runner, TWO_TABLES)
    _seed_t(pg_conn)
    try:
        runner.start(migration("sql up `CREATE INDEX CONCURRENTLY t_payload_idx ON t (payload)` "
                               "down `DROP INDEX IF EXISTS t_payload_idx`;", "02_raw"))
        runner.complete()
        assert one(pg_conn, "select indisvalid from pg_index where indexrelid = "
                   "to_regclass('public.t_payload_idx')") == (True,)
    finally:
        runner.close()


# ---- 3. trigger order: a down that reads a column a later operation rewrites ------------

ITEMS = "create table items (id int primary key, qty int, unit_price int, total int);"


def test_down_of_an_earlier_operation_sees_the_later_operations_old_column(
        pg_conn: Connection, pg_dsn: str) -> None:
    """drop total down `qty * unit_price`; alter qty type bigint.

    drop_column's down (operation 0) reads the old column qty, which alter_column's down
    (operation 1) fills from the new version's write: the downs must fire in reverse order.
    In operation order, a new-version insert gave the old version total = NULL (instead of
    15), and an update of qty left the old version a stale total.
    """
    dsn = dsn_of(pg_dsn, pg_conn)
    runner = make_runner(dsn)
    apply(runner, ITEMS)
    pg_conn.execute("insert into items values (1, 2, 5, 10)")
    runner.start(migration("alter table items drop total down `qty * unit_price`;\n"
                           "alter table items alter qty type bigint up `qty::bigint` "
                           "down `qty::int`;", "02_x"))
    new = client(dsn, version_schema("02_x"))
    old = client(dsn, version_schema("01_setup"))
    try:
        new.execute("insert into items (id, qty, unit_price) values (100, 3, 5)")
        new.execute("update items set qty = 4 where id = 1")
        seen = dict(query(old, "select id, total from items order by id"))
        assert seen == {1: 20, 100: 15}, f"the old version sees total {seen}"
    finally:
        new.close()
        old.close()
        runner.rollback()
        runner.close()


# ---- 4. a new-version write of NULL to a row the backfill has not reached ---------------


def test_new_version_null_write_before_the_backfill_is_kept(pg_conn: Connection,
                                                            pg_dsn: str) -> None:
    """A new-version client sets qty = NULL on a row the backfill has not reached.

    The sync trigger alone cannot tell "left qty as it was" from "set qty to NULL" on a row
    whose copy is still NULL; the trigger ``BEFORE UPDATE OF`` the copy tells it, so ``up``
    does not overwrite the client's NULL with the old value.
    DESIGN: a value written through the new version is kept exactly as written.
    """
    dsn = dsn_of(pg_dsn, pg_conn)
    runner = make_runner(dsn)
    apply(runner, ITEMS)
    runner.close()
    pg_conn.execute("insert into items select g, g, 5, g * 5 from generate_series(1, 10) g")
    written = threading.Event()

    def write(event: StepEvent) -> None:
        step = event.step
        if event.phase is Phase.START and after_the_triggers(step) \
                and not written.is_set():
            with psycopg.connect(dsn, autocommit=True) as new:
                new.execute(sql.SQL("SET search_path TO {}").format(
                    sql.Identifier(version_schema("02_x"))))
                new.execute("update items set qty = NULL where id = 7")
            written.set()

    # One pass, after the views: a new-version client may write a row the backfill has not
    # reached (with two passes the new version appears once every copy is filled).
    runner = _runner(dsn, write, two_passes=False)
    runner.start(migration("alter table items alter qty type bigint up `qty::bigint` "
                           "down `qty::int`;", "02_x"))
    assert written.is_set()
    new = client(dsn, version_schema("02_x"))
    try:
        assert one(new, "select qty from items where id = 7") == (None,), \
            "the new version's write of NULL was overwritten by up"
    finally:
        new.close()
        runner.rollback()
        runner.close()


# A column added with up, then an operation on the same table whose sync trigger is the
# table's last (the one that clears the backfill marker) though its column needs no backfill.
LAST_NEEDS_NO_BACKFILL = {
    "drop column with down": "alter table t drop y down `a + 100`;",
    "rename, then drop with down": ("alter table t rename y to z;\n"
                                    "alter table t drop z down `a + 100`;"),
}


@pytest.mark.parametrize("last", list(LAST_NEEDS_NO_BACKFILL), ids=list(LAST_NEEDS_NO_BACKFILL))
@pytest.mark.parametrize("side", ["new", "old"])
def test_a_write_before_the_backfill_keeps_its_value_whatever_operation_is_last(
        pg_conn: Connection, pg_dsn: str, last: str, side: str) -> None:
    """``add x up a * 2`` then ``drop y down a + 100`` on one table: the drop's triggers are
    created last, so they clear the marker. A write before the backfill that leaves what
    ``down`` gives unchanged (here: every write of x) was skipped by their ``WHEN``, kept its
    mark, and the backfill then overwrote the new version's x = 555 with ``a * 2``.
    """
    dsn = dsn_of(pg_dsn, pg_conn)
    runner = make_runner(dsn)
    apply(runner, "create table t (id int primary key, a int, y int);")
    runner.close()
    pg_conn.execute("insert into t select g, g, g + 100 from generate_series(1, 10) g")
    written = threading.Event()
    schema, statement = {"new": ("02_x", "update t set x = 555 where id = 7"),
                         "old": ("01_setup", "update t set a = 50 where id = 7")}[side]

    def write(event: StepEvent) -> None:
        step = event.step
        if event.phase is Phase.START and after_the_triggers(step) \
                and not written.is_set():
            with psycopg.connect(dsn, autocommit=True) as conn:
                conn.execute(sql.SQL("SET search_path TO {}").format(
                    sql.Identifier(version_schema(schema))))
                conn.execute(statement)
            written.set()

    # One pass, after the views: a new-version client may write a row the backfill has not
    # reached (with two passes the new version appears once every copy is filled).
    runner = _runner(dsn, write, two_passes=False)
    runner.start(migration("alter table t add x int up `a * 2`;\n"
                           + LAST_NEEDS_NO_BACKFILL[last], "02_x"))
    assert written.is_set()
    new = client(dsn, version_schema("02_x"))
    try:
        expected = 555 if side == "new" else 100
        assert one(new, "select x from t where id = 7") == (expected,), \
            "the backfill overwrote what the write gave x"
        assert query(new, "select id from t where x is distinct from a * 2 and id <> 7") == []
    finally:
        new.close()
        runner.rollback()
        runner.close()


def test_a_user_trigger_that_fires_after_the_sync_trigger_reaches_the_copy(
        pg_conn: Connection, pg_dsn: str) -> None:
    """The table has its own BEFORE trigger, set_tenant, that fills ``tenant`` when NULL.

    PostgreSQL fires a table's triggers in name order, and "_pgroll_trigger_000_..." sorts
    before every lower-case name: the sync trigger copies ``tenant`` before set_tenant has
    filled it. An old-version insert that leaves tenant out (as the application always did)
    gets NULL in the copy, and the NOT NULL helper check on the copy rejects the insert,
    though the row it would store has a tenant: a client statement fails, and with a
    nullable copy the new version would see NULL where the old one sees 'acme'.
    """
    dsn = dsn_of(pg_dsn, pg_conn)
    runner = make_runner(dsn)
    apply(runner, "create table posts (id int primary key, title text, tenant text);")
    _quiet(pg_conn)
    pg_conn.execute("CREATE SCHEMA adv")
    pg_conn.execute("""
CREATE FUNCTION adv.set_tenant() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF NEW.tenant IS NULL THEN NEW.tenant := 'acme'; END IF;
  RETURN NEW;
END $$""")
    pg_conn.execute("CREATE TRIGGER set_tenant BEFORE INSERT OR UPDATE ON public.posts "
                    "FOR EACH ROW EXECUTE FUNCTION adv.set_tenant()")
    pg_conn.execute("insert into posts (id, title) values (1, 'a')")
    assert one(pg_conn, "select tenant from posts where id = 1") == ("acme",)
    runner.start(migration("alter table posts alter tenant set not null up `tenant`;",
                           "02_x"))
    old = client(dsn, version_schema("01_setup"))
    new = client(dsn, version_schema("02_x"))
    try:
        old.execute("insert into posts (id, title) values (2, 'b')")  # as the app always did
        assert one(new, "select tenant from posts where id = 2") == ("acme",)
    finally:
        old.close()
        new.close()
        runner.rollback()
        runner.close()


# A user trigger that normalizes what clients write, and migrations whose up reads it.
NORMALIZE = """
CREATE FUNCTION adv.normalize() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  NEW.title := lower(btrim(NEW.title));
  RETURN NEW;
END $$"""
READS_TITLE = {
    "add column": ("alter table posts add shout text up `title || '!'`;", "shout", "{}!"),
    "type change": ("alter table posts alter title type varchar(40) up `title` down `title`;",
                    "title", "{}"),
    "set not null": ("alter table posts alter title set not null "
                     "up `coalesce(title, 'none')`;", "title", "{}"),
    "two on one table": ("alter table posts add shout text up `title || '!'`;\n"
                         "alter table posts alter title type varchar(40) up `title` "
                         "down `title`;", "shout", "{}!"),
}
OLD_SIDE_WRITES = {
    "old insert": ("old", "insert into posts (id, title) values (2, '  NeW ')"),
    "old update": ("old", "update posts set title = '  ChAnGeD ' where id = 1"),
    "base update": ("base", "update posts set title = '  BaSe ' where id = 1"),
}


@pytest.mark.parametrize("write", list(OLD_SIDE_WRITES), ids=list(OLD_SIDE_WRITES))
@pytest.mark.parametrize("kind", list(READS_TITLE), ids=list(READS_TITLE))
def test_up_reads_the_row_a_user_trigger_left(pg_conn: Connection, pg_dsn: str, kind: str,
                                              write: str) -> None:
    """The table's own BEFORE trigger ``normalize`` (a lower-case name, firing after
    ``_pgroll_...``) rewrites ``title``; ``up`` must read the title that is stored.

    Every row, through the old version and the new one, and after complete: the new
    version's column is ``up`` of the old version's stored title.
    """
    text, column, shape = READS_TITLE[kind]
    who, statement = OLD_SIDE_WRITES[write]
    dsn = dsn_of(pg_dsn, pg_conn)
    runner = make_runner(dsn)
    apply(runner, "create table posts (id int primary key, title text);")
    _quiet(pg_conn)
    pg_conn.execute("CREATE SCHEMA adv")
    pg_conn.execute(NORMALIZE)
    pg_conn.execute("CREATE TRIGGER normalize BEFORE INSERT OR UPDATE ON public.posts "
                    "FOR EACH ROW EXECUTE FUNCTION adv.normalize()")
    pg_conn.execute("insert into posts values (1, '  FiRsT ')")
    runner.start(migration(text, "02_x"))
    old = client(dsn, version_schema("01_setup"))
    new = client(dsn, version_schema("02_x"))
    try:
        (old if who == "old" else pg_conn).execute(statement)
        stored = dict(query(old, "select id, title from posts"))
        assert all(t == t.strip().lower() for t in stored.values()), stored
        expected = {k: shape.format(t) for k, t in stored.items()}
        assert dict(query(new, f"select id, {column} from posts")) == expected
        runner.complete()
        assert dict(query(pg_conn, f"select id, {column} from public.posts")) == expected
    finally:
        old.close()
        new.close()
        runner.close()


# ---- 5. strong locks asked for on relations the pre-poll does not look at ---------------

FK_SETUP = """
create table users (id int primary key, name text);
create table orders (id int primary key,
  user_id int constraint orders_user_fk references users (id));
"""


class _Probe:
    """A client that keeps using a relation with a short lock_timeout, and its failures.

    Its statement conflicts only with the migration's pending strong lock, never with the
    holder's lock: each failure is a client queued behind a waiting migration.
    """

    def __init__(self, dsn: str, statement: str, search_path: str = SCHEMA) -> None:
        self.failures: list[str] = []
        self.runs = 0
        self._stop = threading.Event()
        self._conn = psycopg.connect(dsn, autocommit=True, application_name="probe")
        self._conn.execute(sql.SQL("SET search_path TO {}").format(sql.Identifier(search_path)))
        self._conn.execute("SET lock_timeout = '200ms'")
        self._statement = statement
        self._thread = threading.Thread(target=self._loop, daemon=True)
        self._thread.start()

    def _loop(self) -> None:
        n = 0
        while not self._stop.is_set():
            n += 1
            try:
                self._conn.execute(self._statement.replace("{n}", str(100000 + n)))
            except psycopg.errors.LockNotAvailable as err:
                self.failures.append(str(err).splitlines()[0])
            except psycopg.errors.UndefinedTable:
                return  # complete dropped this client's version schema: its version is gone
            self.runs += 1
            time.sleep(0.03)

    def stop(self) -> list[str]:
        self._stop.set()
        self._thread.join(timeout=30)
        self._conn.close()
        return self.failures


def _hold(dsn: str, statement: str, seconds: float, search_path: str = SCHEMA) -> Connection:
    """A client transaction that holds ``statement``'s lock for ``seconds``, then ends."""
    holder = psycopg.connect(dsn, application_name="holder")
    holder.execute(sql.SQL("SET search_path TO {}").format(sql.Identifier(search_path)))
    holder.execute(statement)
    threading.Timer(seconds, holder.rollback).start()
    return holder


@pytest.mark.parametrize("case", ["rollback of create_table", "complete of alter_column",
                                  "start of alter_column"])
def test_a_foreign_key_target_is_locked_without_waiting_for_its_holders(
        pg_conn: Connection, pg_dsn: str, case: str) -> None:
    """The referenced table of a foreign key is locked too, but not polled first.

    Dropping a foreign key (DROP TABLE of the referencing table at rollback, DROP COLUMN of
    the old column at complete) takes ACCESS EXCLUSIVE on the referenced table; adding one
    NOT VALID at start takes SHARE ROW EXCLUSIVE on it. The plan's lock step and the step's
    relation name only the referencing table, so the executor asks for the lock on users
    while a client holds a conflicting one, and every client of users queues behind it
    (DESIGN "No queue": a strong lock is asked for only when no conflicting lock is held).
    """
    dsn = dsn_of(pg_dsn, pg_conn)
    runner = make_runner(dsn)
    if case == "rollback of create_table":
        apply(runner, "create table users (id int primary key, name text);")
        change = migration("create table orders (id int primary key, user_id int "
                           "constraint orders_user_fk references users (id));", "02_x")
    else:
        apply(runner, FK_SETUP)
        change = migration("alter table orders alter user_id set not null "
                           "up `coalesce(user_id, 1)`;", "02_x")
    pg_conn.execute("insert into users select g, 'u' || g from generate_series(1, 5) g")
    runner.close()
    patient = _runner(dsn, holder_wait_s=20)
    if case != "start of alter_column":
        patient.start(change)
        holder = _hold(dsn, "select count(*) from users", 2.5)
        probe = _Probe(dsn, "select count(*) from users")
        time.sleep(0.2)
        (patient.rollback if case.startswith("rollback") else patient.complete)()
    else:
        holder = _hold(dsn, "insert into users values (1000, 'held')", 2.5)
        probe = _Probe(dsn, "insert into users values ({n}, 'probe')")
        time.sleep(0.2)
        patient.start(change)
    failures = probe.stop()
    holder.close()
    patient.close()
    assert failures == [], (f"{len(failures)} of {probe.runs} client statements on users "
                            f"queued behind the migration: {failures[:3]}")


def test_complete_drops_a_previous_version_view_without_waiting_for_its_holder(
        pg_conn: Connection, pg_dsn: str) -> None:
    """An old-version client holds the view of a table the migration does not touch.

    complete drops the previous version schema first; the lock step (the only one polled)
    names only the tables the migration changes, so DROP SCHEMA asks for ACCESS EXCLUSIVE on
    the view of b while the client holds it, and every old-version reader of b queues.
    """
    dsn = dsn_of(pg_dsn, pg_conn)
    runner = make_runner(dsn)
    apply(runner, "create table a (id int primary key, x int);\n"
                  "create table b (id int primary key, y int);")
    pg_conn.execute("insert into b values (1, 1)")
    runner.close()
    patient = _runner(dsn, holder_wait_s=20)
    patient.start(migration("alter table a add z int;", "02_x"))
    old = version_schema("01_setup")
    holder = _hold(dsn, "select count(*) from b", 2.5, search_path=old)
    probe = _Probe(dsn, "select count(*) from b", search_path=old)
    time.sleep(0.2)
    patient.complete()
    failures = probe.stop()
    holder.close()
    patient.close()
    assert failures == [], (f"{len(failures)} of {probe.runs} old-version reads of b queued "
                            f"behind DROP SCHEMA: {failures[:3]}")


def test_rollback_restores_a_hidden_table_without_waiting_for_its_readers(
        pg_conn: Connection, pg_dsn: str) -> None:
    """drop t; create t, rolled back while an old-version client reads t.

    The old version's view of t reads the hidden table _pgroll_del_t. Rollback renames it
    back under ACCESS EXCLUSIVE, but its lock step and its poll name only the new t (the
    hidden name is not a table of the catalog), so the rename is asked for while the reader
    holds the table, and every old-version reader of t queues behind it.
    """
    dsn = dsn_of(pg_dsn, pg_conn)
    runner = make_runner(dsn)
    apply(runner, TWO_TABLES)
    runner.close()
    _seed_t(pg_conn)
    patient = _runner(dsn, holder_wait_s=20)
    patient.start(migration("drop table t;\ncreate table t (id int primary key, name text);",
                            "02_swap"))
    old = version_schema("01_setup")
    holder = _hold(dsn, "select count(*) from t", 2.5, search_path=old)
    probe = _Probe(dsn, "select count(*) from t", search_path=old)
    time.sleep(0.2)
    patient.rollback()
    failures = probe.stop()
    holder.close()
    patient.close()
    assert _count(pg_conn, "t") == 10
    assert failures == [], (f"{len(failures)} of {probe.runs} old-version reads of t queued "
                            f"behind the rename back: {failures[:3]}")


# ---- 6. messages and refusals that are not true -----------------------------------------


def test_runs_on_two_schemas_whose_lock_keys_collide_are_not_serialised_together(
        pg_conn: Connection, pg_dsn: str) -> None:
    """The run lock is (constant, hashtext('state.schema')): 32 bits for any schema name.

    Two target schemas whose names hash alike (a few hundred thousand tenant schemas hold
    such pairs) exclude each other: the second run is refused with "another pgroll-dsl run is
    working on schema <its own schema>", which nobody is.
    """
    dsn = dsn_of(pg_dsn, pg_conn)
    pair = one(pg_conn, "SELECT (array_agg(n ORDER BY n))[1:2] FROM generate_series(1, 300000) n "
               "GROUP BY hashtext('pgroll.tenant_' || n) HAVING count(*) > 1 LIMIT 1")[0]
    first, second = (f"tenant_{n}" for n in pair)
    _quiet(pg_conn)
    for name in (first, second):
        pg_conn.execute(sql.SQL("CREATE SCHEMA {}").format(sql.Identifier(name)))
    one_run = Runner(RunOptions(session=Session(url=dsn, schema=first)))
    one_run.init()
    other_run = Runner(RunOptions(session=Session(url=dsn, schema=second)))
    try:
        with one_run.exclusive(), other_run.exclusive():
            pass
    finally:
        one_run.close()
        other_run.close()


def test_a_failed_validation_names_the_column_not_the_helper_check(
        pg_conn: Connection, pg_dsn: str) -> None:
    """set not null with an ``up`` that leaves a NULL: VALIDATE fails at the end of start.

    The message is the step's summary and PostgreSQL's text about the helper check:
    "validate _pgroll_check_not_null_email: check constraint \"_pgroll_check_not_null_email\"
    ... is violated by some row". Only copies (_pgroll_new_) are put in the author's terms.
    """
    dsn = dsn_of(pg_dsn, pg_conn)
    runner = make_runner(dsn)
    apply(runner, "create table users (id int primary key, email text);")
    pg_conn.execute("insert into users values (1, 'a@x'), (2, NULL)")
    try:
        with pytest.raises(CommandError) as refused:
            runner.start(migration("alter table users alter email set not null up `email`;",
                                   "02_nn"))
        message = str(refused.value)
        assert "_pgroll_" not in message, message
        assert "email" in message, message
    finally:
        runner.close()


# ---- regressions of the defects this review found and the executor now handles ---------------


class _Crash(Exception):
    """Stands for the process dying at a step boundary."""


def test_rollback_before_the_hide_step_keeps_the_dropped_tables_rows(
        pg_conn: Connection, pg_dsn: str) -> None:
    """drop t; create t, start killed before its first step: rollback must not drop the old t."""
    dsn = dsn_of(pg_dsn, pg_conn)
    runner = make_runner(dsn)
    apply(runner, TWO_TABLES)
    runner.close()
    _seed_t(pg_conn)

    def crash(event: StepEvent) -> None:
        if event.phase is Phase.START and event.index == 0:
            raise _Crash

    crashing = _runner(dsn, crash)
    with pytest.raises(_Crash):
        crashing.start(migration("drop table t;\ncreate table t (id int primary key, "
                                 "name text);", "02_swap"))
    crashing.close()
    rolling = _runner(dsn)
    rolling.rollback()
    rolling.close()
    assert _count(pg_conn, "t") == 10


def test_a_step_killed_before_its_record_runs_once_on_resume(pg_conn: Connection,
                                                           pg_dsn: str) -> None:
    """A raw INSERT whose record dies with the connection runs once in all, not twice."""
    dsn = dsn_of(pg_dsn, pg_conn)
    runner = make_runner(dsn)
    apply(runner, "create table audit (id int primary key, note text);")
    runner.close()
    change = migration("sql up `INSERT INTO audit (id, note) SELECT coalesce(max(id), 0) + 1, "
                       "'migrated' FROM audit` down `DELETE FROM audit WHERE note = "
                       "'migrated'`;", "02_note")
    _die_while_recording(pg_conn, "02_note", 1)
    dying = _runner(dsn)
    with pytest.raises(Exception):  # noqa: B017 - the connection is gone, whatever it raises
        dying.start(change)
    dying.close()
    _stop_dying(pg_conn)
    resumed = _runner(dsn)
    resumed.start(change)
    resumed.complete()
    resumed.close()
    assert one(pg_conn, "select count(*) from audit where note = 'migrated'") == (1,)


def test_no_inferred_undo_drops_a_table_that_was_there_before(pg_conn: Connection,
                                                               pg_dsn: str) -> None:
    """sql `CREATE TABLE IF NOT EXISTS audit` without down: rollback keeps the existing audit."""
    dsn = dsn_of(pg_dsn, pg_conn)
    runner = make_runner(dsn)
    apply(runner, "create table audit (id int primary key, note text);")
    pg_conn.execute("insert into audit values (1, 'kept')")
    runner.start(migration("sql up `CREATE TABLE IF NOT EXISTS audit (id int primary key, "
                           "note text)`;", "02_audit"))
    runner.rollback()
    runner.close()
    assert _count(pg_conn, "audit") == 1
