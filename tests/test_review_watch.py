"""Adversarial review of the first pass's watch (commit 0562ae1, plan/backfill.py watch_steps).

Each test makes the table be written (or otherwise changed) while the first pass runs, before
the sync triggers exist, in a way the existing tests do not, and checks the data: every row's
copy equals what ``up`` gives for its current values. A test marked xfail(strict) exposes a
defect: the second pass skipped its read though a row's copy is stale.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import psycopg
import pytest
from psycopg import sql

from tests import fault_model as fm
from tests.live_helpers import Connection, apply, client, make_runner, migration

pytestmark = pytest.mark.postgres

OLD = "public_01_setup"
NEW = "public_02_watch"
SETUP = ("create table p (id int primary key);\n"
         "create table t (id int primary key, v int, pid int constraint t_pid_fk references p (id) "
         "on update cascade);")
MIGRATION = "alter table t add w bigint not null up `v * 1000 + coalesce(pid, 0)`;"
ROWS = 400
SKIPPED = "no statement wrote it since the first pass began"


def _seed(conn: Connection, table: str = "public.t") -> None:
    conn.execute("INSERT INTO p SELECT g FROM generate_series(1, 20) g ON CONFLICT DO NOTHING")
    conn.execute(f"INSERT INTO {table} SELECT g, g, g % 20 + 1 FROM generate_series(1, {ROWS}) g")
    conn.execute(f"ANALYZE {table}")


def _sync_triggers(conn: Connection, table: str = "public.t") -> int:
    row = conn.execute("SELECT count(*) FROM pg_trigger WHERE tgrelid = %s::regclass "
                       "AND tgname ~ '^[_~]pgroll_trigger_'", (table,)).fetchone()
    assert row is not None
    return int(row[0])


def _wrong(conn: Connection, table: str = "public.t", copy: str = "_pgroll_new_w"
           ) -> list[tuple[Any, ...]]:
    return conn.execute(f"SELECT id, v, pid, {copy} FROM {table} WHERE {copy} "
                        "IS DISTINCT FROM v * 1000 + coalesce(pid, 0)").fetchall()


class _Writer:
    """At the first batch NOTICE (rows > 0) of ``table``'s first pass: ``write`` once."""

    def __init__(self, dsn: str, write: Callable[[Connection], object] | None,
                 table: str = "t", regclass: str = "public.t") -> None:
        self.conn = psycopg.connect(dsn, autocommit=True)
        self.write = write
        self.table = table
        self.regclass = regclass
        self.lock = threading.Lock()
        self.in_first_pass: bool | None = None
        self.error: BaseException | None = None

    def __call__(self, table: str, rows: int, total: int) -> None:
        with self.lock:
            if self.write is None or self.in_first_pass is not None or table != self.table \
                    or not rows:
                return
            if _sync_triggers(self.conn, self.regclass) > 0:
                return
            try:
                self.write(self.conn)
            except BaseException as err:  # a notice handler swallows it: kept for the test
                self.error = err
                raise
            self.in_first_pass = _sync_triggers(self.conn, self.regclass) == 0


def _prepare(dsn: str, conn: Connection, setup: str = SETUP,
             raw: tuple[str, ...] = (), seed: bool = True) -> None:
    runner = make_runner(dsn, batch_size=20, batch_time_ms=0)
    try:
        apply(runner, setup)
    finally:
        runner.close()
    for statement in raw:
        conn.execute(statement)
    if seed:
        _seed(conn)


def _start(dsn: str, write: Callable[[Connection], object] | None, messages: list[str],
           text: str = MIGRATION, table: str = "t", regclass: str = "public.t") -> _Writer:
    writer = _Writer(dsn, write, table, regclass)
    runner = make_runner(dsn, batch_size=20, batch_time_ms=0, batch_delay=0.02,
                         on_progress=writer, on_message=messages.append)
    try:
        plan = runner.start(migration(text, "02_watch"))
    finally:
        writer.conn.close()
        runner.close()
    assert writer.error is None, writer.error
    assert any("first pass" in s.summary for s in plan.start)
    return writer


def _finish(dsn: str, then: str = "complete") -> None:
    runner = make_runner(dsn, init=False)
    try:
        getattr(runner, then)()
    finally:
        runner.close()


def _watch_left(conn: Connection) -> tuple[Any, ...] | None:
    return conn.execute(
        "SELECT (SELECT count(*) FROM pg_class WHERE relname ~ '^_pgroll_(writes|passed)_'), "
        "(SELECT count(*) FROM pg_proc WHERE proname ~ '^_pgroll_watch_'), "
        "(SELECT count(*) FROM pg_trigger WHERE tgname ~ '^_pgroll_watch_')").fetchone()


# --- writes that bypass triggers --------------------------------------------------------------


def _replica_write(c: Connection) -> None:
    with c.transaction():
        c.execute("SET LOCAL session_replication_role = replica")
        c.execute("UPDATE public.t SET v = v + 1 WHERE id = 1")


def _disabled_write(sql: str, which: str) -> Callable[[Connection], None]:
    def write(c: Connection) -> None:
        with c.transaction():
            c.execute(f"ALTER TABLE public.t DISABLE TRIGGER {which}")
            c.execute(sql)
            c.execute(f"ALTER TABLE public.t ENABLE TRIGGER {which}")
    return write


# Each was found as a defect: an ENABLE (origin) trigger does not fire with the replica role
# (the watch is ENABLE ALWAYS now); DISABLE TRIGGER around a load (pg_restore
# --disable-triggers) hid the write, and re-enabled, the trigger looked untouched (the
# second pass now wants the trigger row the watch's transaction made: its xmin); the insert
# past the last key kept a NULL copy and start failed at the NOT NULL validation.
BYPASSES: dict[str, Callable[[Connection], None]] = {
    "replica role": _replica_write,
    "triggers disabled around an update": _disabled_write(
        "UPDATE public.t SET v = v + 1 WHERE id = 2", "ALL"),
    "user triggers disabled around an insert": _disabled_write(
        "INSERT INTO public.t (id, v) VALUES (100000, 5)", "USER"),
}


@pytest.mark.parametrize("kind", list(BYPASSES))
def test_a_write_that_bypasses_triggers(admin_dsn: str, pg_conn: Connection, kind: str) -> None:
    _prepare(admin_dsn, pg_conn)
    writer = _start(admin_dsn, BYPASSES[kind], [])
    assert writer.in_first_pass
    assert _wrong(pg_conn) == []


def test_replica_write_after_start_is_synced(admin_dsn: str, pg_conn: Connection) -> None:
    """Context for the replica case: after start the sync triggers fire for such a write
    too (they are enabled ALWAYS; until 5ecf433 they skipped it, and this test said so:
    tests/test_replica_role_writers.py)."""
    _prepare(admin_dsn, pg_conn)
    _start(admin_dsn, None, [])
    with pg_conn.transaction():
        pg_conn.execute("SET LOCAL session_replication_role = replica")
        pg_conn.execute("UPDATE public.t SET v = v + 1 WHERE id = 1")
    assert pg_conn.execute("SELECT v FROM t WHERE id = 1").fetchone() == (2,)
    assert _wrong(pg_conn) == []


# --- transactions ---------------------------------------------------------------------------


def test_transaction_begun_before_the_watch(admin_dsn: str, pg_conn: Connection) -> None:
    """A READ COMMITTED transaction that read t before start, writes during the first pass."""
    _prepare(admin_dsn, pg_conn)
    early = psycopg.connect(admin_dsn)  # not autocommit: one transaction
    early.execute("SELECT pg_current_xact_id()")  # a snapshot and an xid before the watch
    try:
        def write(c: Connection) -> None:
            early.execute("UPDATE public.t SET v = v + 1 WHERE id = 1")
            early.execute("UPDATE public.t SET v = v + 1 WHERE id = 399")
            early.commit()
        messages: list[str] = []
        writer = _start(admin_dsn, write, messages)
    finally:
        early.close()
    assert writer.in_first_pass
    assert not any(SKIPPED in m for m in messages)
    assert _wrong(pg_conn) == []


def test_repeatable_read_snapshot_taken_before_the_watch(admin_dsn: str,
                                                         pg_conn: Connection) -> None:
    """A REPEATABLE READ snapshot taken before the watch; it writes a row not reached yet."""
    _prepare(admin_dsn, pg_conn)
    early = psycopg.connect(admin_dsn)
    early.isolation_level = psycopg.IsolationLevel.REPEATABLE_READ
    early.execute("SELECT pg_current_xact_id()")
    try:
        def write(c: Connection) -> None:
            early.execute("UPDATE public.t SET v = v + 1 WHERE id = 398")
            early.commit()
        messages: list[str] = []
        writer = _start(admin_dsn, write, messages)
    finally:
        early.close()
    assert writer.in_first_pass
    assert not any(SKIPPED in m for m in messages)
    assert _wrong(pg_conn) == []


def test_rolled_back_write_and_savepoints(admin_dsn: str, pg_conn: Connection) -> None:
    """A write rolled back, one rolled back to a savepoint, one released: data right."""
    def write(c: Connection) -> None:
        c.execute("BEGIN")
        c.execute("UPDATE public.t SET v = -5 WHERE id = 3")
        c.execute("ROLLBACK")
        c.execute("BEGIN")
        c.execute("SAVEPOINT a")
        c.execute("UPDATE public.t SET v = -6 WHERE id = 4")
        c.execute("ROLLBACK TO SAVEPOINT a")
        c.execute("SAVEPOINT b")
        c.execute("UPDATE public.t SET v = 77 WHERE id = 5")
        c.execute("RELEASE SAVEPOINT b")
        c.execute("COMMIT")
    _prepare(admin_dsn, pg_conn)
    messages: list[str] = []
    writer = _start(admin_dsn, write, messages)
    assert writer.in_first_pass
    assert _wrong(pg_conn) == []
    assert pg_conn.execute("SELECT v FROM t WHERE id IN (3, 4, 5) ORDER BY id").fetchall() \
        == [(3,), (4,), (77,)]
    _finish(admin_dsn)
    with client(admin_dsn, NEW) as new:
        assert new.execute("SELECT count(*) FROM t WHERE w <> v * 1000 + coalesce(pid, 0)"
                           ).fetchone() == (0,)


def test_rolled_back_write_only(admin_dsn: str, pg_conn: Connection) -> None:
    """Only a rolled-back write: the count is not undone, the second pass reads; data right."""
    def write(c: Connection) -> None:
        with pytest.raises(psycopg.errors.RaiseException), c.transaction():
            c.execute("UPDATE public.t SET v = -5 WHERE id = 3")
            c.execute("DO $$BEGIN RAISE EXCEPTION 'no'; END$$")
    _prepare(admin_dsn, pg_conn)
    messages: list[str] = []
    writer = _start(admin_dsn, write, messages)
    assert writer.in_first_pass
    assert not any(SKIPPED in m for m in messages)
    assert _wrong(pg_conn) == []


def test_prepared_transaction(admin_dsn: str, pg_conn: Connection) -> None:
    row = pg_conn.execute("SELECT current_setting('max_prepared_transactions')::int").fetchone()
    if row is None or row[0] == 0:
        pytest.skip("max_prepared_transactions = 0")
    _prepare(admin_dsn, pg_conn)
    committer: list[threading.Thread] = []

    def write(c: Connection) -> None:
        c.execute("BEGIN")
        c.execute("UPDATE public.t SET v = v + 1 WHERE id = 1")
        c.execute("PREPARE TRANSACTION 'watch_review'")

        def later() -> None:
            time.sleep(1.0)
            with psycopg.connect(admin_dsn, autocommit=True) as other:
                other.execute("COMMIT PREPARED 'watch_review'")
        thread = threading.Thread(target=later)
        thread.start()
        committer.append(thread)
    messages: list[str] = []
    try:
        _start(admin_dsn, write, messages)
    finally:
        for thread in committer:
            thread.join()
    assert _wrong(pg_conn) == []


# --- kills ------------------------------------------------------------------------------------

KILL_ARGS = ["--backfill-batch-size", "20", "--backfill-batch-delay", "0.05"]


def _wait_orphan(conn: Connection) -> None:
    deadline = time.monotonic() + 10
    while conn.execute("SELECT count(*) FROM pg_stat_activity WHERE query LIKE "
                       "'DO $pgroll_backfill$%' AND pid <> pg_backend_pid()"
                       ).fetchone() != (0,) and time.monotonic() < deadline:
        time.sleep(0.05)


def _step_of(dsn: str, what: str) -> int:
    """The number (1-based) of the first start step whose summary contains ``what``."""
    runner = make_runner(dsn, init=False)
    try:
        plan = runner.plan(migration(MIGRATION, "02_watch"))
    finally:
        runner.close()
    return next(i + 1 for i, s in enumerate(plan.start) if what in s.summary)


@pytest.mark.parametrize("where", ["backfill:3", "first sync", "unwatch"])
@pytest.mark.parametrize("write", [False, True])
@pytest.mark.parametrize("recovery", ["start", "rollback"])
def test_killed_then_recovered(admin_dsn: str, pg_conn: Connection, tmp_path: Path,
                               where: str, write: bool, recovery: str) -> None:
    _prepare(admin_dsn, pg_conn)
    before = sorted(pg_conn.execute("SELECT id, v, pid FROM public.t").fetchall())
    if where == "backfill:3":
        kill = where
    else:
        what = "trigger function" if where == "first sync" else "the second pass is over"
        kill = f"start:{_step_of(admin_dsn, what)}"
    file = fm.write_file(tmp_path, "02_watch", MIGRATION)
    killed = fm.cli(["start", str(file), *KILL_ARGS], admin_dsn,
                    env={"PGROLL_DSL_KILL_AT": kill})
    assert killed.killed, killed.describe()
    _wait_orphan(pg_conn)
    if write:
        with client(admin_dsn, OLD) as old:
            old.execute("UPDATE t SET v = v + 1 WHERE id = 2")
            old.execute("INSERT INTO t VALUES (5001, 5, 3)")
    result = fm.cli(["start", str(file), *KILL_ARGS] if recovery == "start" else ["rollback"],
                    admin_dsn)
    assert result.returncode == 0, result.describe()
    if recovery == "start":
        assert _wrong(pg_conn) == []
        result = fm.cli(["complete"], admin_dsn)
        assert result.returncode == 0, result.describe()
        with client(admin_dsn, NEW) as new:
            assert new.execute("SELECT count(*) FROM t WHERE w <> v * 1000 + coalesce(pid, 0)"
                               ).fetchone() == (0,)
    else:
        after = sorted(pg_conn.execute("SELECT id, v, pid FROM public.t").fetchall())
        if not write:
            assert after == before
    assert _watch_left(pg_conn) == (0, 0, 0)


# --- inheritance ------------------------------------------------------------------------------


def test_child_table_written_through_the_parent(admin_dsn: str, pg_conn: Connection) -> None:
    """t inherits from q (raw SQL); a write through q reaches t's rows without t's trigger."""
    raw = ("CREATE TABLE public.q (id int, v int, pid int)",
           "ALTER TABLE public.t INHERIT public.q")
    _prepare(admin_dsn, pg_conn, raw=raw)

    def write(c: Connection) -> None:
        c.execute("UPDATE public.q SET v = v + 1 WHERE id = 1")
    messages: list[str] = []
    try:
        writer = _start(admin_dsn, write, messages)
    except Exception as err:  # noqa: BLE001 - an inheritance child may not be supported
        pytest.skip(f"start refused a table with an inheritance parent: {err}")
    assert writer.in_first_pass
    assert not any(SKIPPED in m for m in messages)
    assert _wrong(pg_conn) == []


def test_parent_table_written_through_a_child_statement(admin_dsn: str,
                                                        pg_conn: Connection) -> None:
    """t has an inheritance child c; a write of c's own rows and one through t."""
    raw = ("CREATE TABLE public.c () INHERITS (public.t)",
           "INSERT INTO public.c VALUES (1000, 1000, 1)")
    _prepare(admin_dsn, pg_conn, raw=raw)

    def write(c: Connection) -> None:
        c.execute("UPDATE public.t SET v = v + 1 WHERE id IN (1, 1000)")
    messages: list[str] = []
    try:
        writer = _start(admin_dsn, write, messages)
    except Exception as err:  # noqa: BLE001
        pytest.skip(f"start refused a table with an inheritance child: {err}")
    assert writer.in_first_pass
    assert _wrong(pg_conn) == []
    assert _wrong(pg_conn, "public.c") == []


def test_write_through_parent_then_no_inherit(admin_dsn: str, pg_conn: Connection) -> None:
    """Found as a defect: pass 2 looked at pg_inherits only when it ran; the first pass now
    counts nothing when the table had a parent at its start or end."""
    raw = ("CREATE TABLE public.q (id int, v int, pid int)",
           "ALTER TABLE public.t INHERIT public.q")
    _prepare(admin_dsn, pg_conn, raw=raw)

    def write(c: Connection) -> None:
        c.execute("UPDATE public.q SET v = v + 1 WHERE id = 1")
        c.execute("ALTER TABLE public.t NO INHERIT public.q")
    messages: list[str] = []
    writer = _start(admin_dsn, write, messages)
    assert writer.in_first_pass
    assert _wrong(pg_conn) == []


# --- views ------------------------------------------------------------------------------------


def test_write_through_the_old_version_view(admin_dsn: str, pg_conn: Connection) -> None:
    def write(c: Connection) -> None:
        with client(admin_dsn, OLD) as old:
            old.execute("UPDATE t SET v = v + 1 WHERE id = 1")
            old.execute("INSERT INTO t VALUES (100000, 3, 2)")
    _prepare(admin_dsn, pg_conn)
    messages: list[str] = []
    writer = _start(admin_dsn, write, messages)
    assert writer.in_first_pass
    assert not any(SKIPPED in m for m in messages)
    assert _wrong(pg_conn) == []


def test_write_through_a_security_invoker_view_by_a_limited_role(admin_dsn: str,
                                                                 pg_conn: Connection) -> None:
    raw = ("CREATE SCHEMA app",
           "CREATE VIEW app.tv WITH (security_invoker = true) AS SELECT id, v, pid FROM public.t",
           "DROP ROLE IF EXISTS watch_view_role",
           "CREATE ROLE watch_view_role",
           "GRANT USAGE ON SCHEMA app, public TO watch_view_role",
           "GRANT SELECT, UPDATE, INSERT ON app.tv TO watch_view_role",
           "GRANT SELECT, UPDATE, INSERT ON public.t TO watch_view_role")
    _prepare(admin_dsn, pg_conn, raw=raw)

    def write(c: Connection) -> None:
        with psycopg.connect(admin_dsn, autocommit=True) as other:
            other.execute("SET ROLE watch_view_role")
            other.execute("UPDATE app.tv SET v = v + 1 WHERE id = 1")
            other.execute("INSERT INTO app.tv VALUES (100000, 3, 2)")
    messages: list[str] = []
    try:
        writer = _start(admin_dsn, write, messages)
        assert writer.in_first_pass
        assert not any(SKIPPED in m for m in messages)
        assert _wrong(pg_conn) == []
    finally:
        pg_conn.execute("DROP VIEW app.tv")
        pg_conn.execute("DROP OWNED BY watch_view_role")
        pg_conn.execute("DROP ROLE watch_view_role")


# --- names ------------------------------------------------------------------------------------

LONG = "t" + "x" * 61  # 62 bytes: every derived name is cut and hashed


@pytest.mark.parametrize("name", [LONG, "Mixed Case", "q'uo\"te"])
def test_names_that_need_care(admin_dsn: str, pg_conn: Connection, name: str) -> None:
    ident = sql.Identifier(name).as_string(pg_conn)
    setup = ("create table p (id int primary key);\n"
             f"create table {ident} (id int primary key, v int, pid int);")
    try:
        api_text = f"alter table {ident} add w bigint not null up `v * 1000 + coalesce(pid, 0)`;"
        migration(api_text, "02_watch")
        migration(setup, "01_setup")
    except Exception as err:  # noqa: BLE001
        pytest.skip(f"the DSL does not take this name: {err}")
    _prepare(admin_dsn, pg_conn, setup=setup, seed=False)
    regclass = f"public.{ident}"
    _seed(pg_conn, regclass)
    messages: list[str] = []
    _start(admin_dsn, None, messages, text=api_text, table=name, regclass=regclass)
    assert any(SKIPPED in m for m in messages), messages
    assert _wrong(pg_conn, regclass) == []
    # Again, with a write.
    _finish(admin_dsn, "rollback")
    assert _watch_left(pg_conn) == (0, 0, 0)

    def write(c: Connection) -> None:
        c.execute(f"UPDATE {regclass} SET v = v + 1 WHERE id = 1")
    messages = []
    writer = _start(admin_dsn, write, messages, text=api_text, table=name, regclass=regclass)
    assert writer.in_first_pass
    assert not any(SKIPPED in m for m in messages), messages
    assert _wrong(pg_conn, regclass) == []
    _finish(admin_dsn)
    assert _watch_left(pg_conn) == (0, 0, 0)


def test_two_tables_in_one_migration(admin_dsn: str, pg_conn: Connection) -> None:
    """A write to s during t's first pass (before s's own), one to t during s's."""
    setup = SETUP + "\ncreate table s (id int primary key, v int, pid int);"
    text = MIGRATION + "\nalter table s add w bigint not null up `v * 1000 + coalesce(pid, 0)`;"
    _prepare(admin_dsn, pg_conn, setup=setup)
    _seed(pg_conn, "public.s")
    seen: dict[str, bool] = {}
    conn = psycopg.connect(admin_dsn, autocommit=True)

    def hook(table: str, rows: int, total: int) -> None:
        if not rows or table in seen:
            return
        other = "s" if table == "t" else "t"
        if _sync_triggers(conn, f"public.{table}") == 0:
            conn.execute(f"UPDATE public.{other} SET v = v + 1 WHERE id = 7")
            seen[table] = True
    messages: list[str] = []
    runner = make_runner(admin_dsn, batch_size=20, batch_time_ms=0, batch_delay=0.02,
                         on_progress=hook, on_message=messages.append)
    try:
        runner.start(migration(text, "02_watch"))
    finally:
        runner.close()
        conn.close()
    assert seen
    assert _wrong(pg_conn) == []
    assert _wrong(pg_conn, "public.s") == []
    _finish(admin_dsn)
    assert _watch_left(pg_conn) == (0, 0, 0)


def test_a_second_migration_on_the_same_table(admin_dsn: str, pg_conn: Connection) -> None:
    """After complete, the next migration makes the watch again, fresh: a write counts."""
    _prepare(admin_dsn, pg_conn)
    messages: list[str] = []
    _start(admin_dsn, None, messages)
    _finish(admin_dsn)
    assert _watch_left(pg_conn) == (0, 0, 0)
    text = "alter table t add w2 bigint not null up `v * 7`;"
    writer = _Writer(admin_dsn, lambda c: c.execute("UPDATE public.t SET v = v + 1 WHERE id = 1"))
    messages = []
    runner = make_runner(admin_dsn, batch_size=20, batch_time_ms=0, batch_delay=0.02,
                         on_progress=writer, on_message=messages.append)
    try:
        runner.start(migration(text, "03_again"))
    finally:
        writer.conn.close()
        runner.close()
    assert writer.in_first_pass
    assert not any(SKIPPED in m for m in messages)
    assert pg_conn.execute("SELECT count(*) FROM t WHERE _pgroll_new_w2 IS DISTINCT FROM v * 7"
                           ).fetchone() == (0,)
    _finish(admin_dsn)
    assert _watch_left(pg_conn) == (0, 0, 0)


# --- the user's own triggers, TRUNCATE ---------------------------------------------------------


def test_users_statement_and_row_triggers(admin_dsn: str, pg_conn: Connection) -> None:
    """A user's BEFORE statement trigger and AFTER row trigger; a write fires all of them."""
    raw = ("CREATE TABLE public.audit (n int)",
           "CREATE FUNCTION public.stmt() RETURNS trigger LANGUAGE plpgsql AS "
           "'BEGIN INSERT INTO public.audit VALUES (0); RETURN NULL; END'",
           "CREATE FUNCTION public.rowt() RETURNS trigger LANGUAGE plpgsql AS "
           "'BEGIN INSERT INTO public.audit VALUES (NEW.id); RETURN NULL; END'",
           "CREATE TRIGGER a_stmt BEFORE UPDATE ON public.t FOR EACH STATEMENT "
           "EXECUTE FUNCTION public.stmt()",
           "CREATE TRIGGER a_row AFTER UPDATE ON public.t FOR EACH ROW "
           "EXECUTE FUNCTION public.rowt()")
    _prepare(admin_dsn, pg_conn, raw=raw)
    messages: list[str] = []
    writer = _start(admin_dsn, lambda c: c.execute("UPDATE public.t SET v = 1 WHERE id = 9"),
                    messages)
    assert writer.in_first_pass
    assert not any(SKIPPED in m for m in messages)
    assert _wrong(pg_conn) == []
    # The client's write fired both of the user's triggers. (The backfill's batches fire
    # neither: replica; but each pass's probe, an UPDATE ... WHERE false run before the
    # switch to replica, fires the user's BEFORE UPDATE statement trigger: two more 0 rows.
    # Pre-existing, not the watch's.)
    rows = pg_conn.execute("SELECT n, count(*) FROM audit GROUP BY n ORDER BY n").fetchall()
    assert rows == [(0, 3), (9, 1)], rows


def test_truncate_then_insert_during_the_first_pass(admin_dsn: str,
                                                    pg_conn: Connection) -> None:
    def write(c: Connection) -> None:
        c.execute("TRUNCATE public.t")
        c.execute("INSERT INTO public.t SELECT g, g * 2, 1 FROM generate_series(1, 50) g")
    _prepare(admin_dsn, pg_conn)
    messages: list[str] = []
    writer = _start(admin_dsn, write, messages)
    assert writer.in_first_pass
    assert not any(SKIPPED in m for m in messages)
    assert _wrong(pg_conn) == []
    assert pg_conn.execute("SELECT count(*) FROM t").fetchone() == (50,)


# --- the backfill's own transaction: a user's trigger that writes the table ------------------


@pytest.fixture
def owner_dsn(admin_dsn: str, pg_conn: Connection) -> Any:
    """A role that owns the schema (and the tables), not a superuser: no replica role, so
    the table's own AFTER triggers fire on the backfill's batches."""
    from psycopg.conninfo import make_conninfo
    role = f"owner_{pg_conn.info.backend_pid}"
    pg_conn.execute(f'CREATE ROLE "{role}" LOGIN')
    pg_conn.execute(f'GRANT ALL ON DATABASE "{pg_conn.info.dbname}" TO "{role}"')
    pg_conn.execute(f'ALTER SCHEMA public OWNER TO "{role}"')
    try:
        yield make_conninfo(admin_dsn, user=role)
    finally:
        pg_conn.execute(f'REASSIGN OWNED BY "{role}" TO CURRENT_USER')
        pg_conn.execute(f'DROP OWNED BY "{role}"')
        pg_conn.execute(f'DROP ROLE "{role}"')


def test_users_after_trigger_writing_the_table_during_the_backfill(
        owner_dsn: str, pg_conn: Connection) -> None:
    """A user's AFTER UPDATE statement trigger on t that updates a summary row of t runs
    inside the backfill's transactions (a strict xfail until the sync triggers fired one
    trigger deeper: tests/test_user_triggers_backfill.py has every kind of it)."""
    with psycopg.connect(owner_dsn, autocommit=True) as owner:
        _prepare(owner_dsn, owner, raw=(
            "INSERT INTO public.t VALUES (0, 0, NULL)",
            "CREATE FUNCTION public.bump() RETURNS trigger LANGUAGE plpgsql AS "
            "'BEGIN IF pg_trigger_depth() = 1 THEN "
            "UPDATE public.t SET v = v + 1 WHERE id = 0; END IF; RETURN NULL; END'",
            "CREATE TRIGGER bump AFTER UPDATE ON public.t FOR EACH STATEMENT "
            "EXECUTE FUNCTION public.bump()"))
    messages: list[str] = []
    _start(owner_dsn, None, messages)
    assert pg_conn.execute("SELECT v FROM t WHERE id = 0").fetchone() != (0,)  # it fired
    assert _wrong(pg_conn) == [], messages


# --- more names -------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["back\\slash", "x$pgroll$y", "pct%s", "dol$$ar"])
def test_more_names(admin_dsn: str, pg_conn: Connection, name: str) -> None:
    ident = sql.Identifier(name).as_string(pg_conn)
    setup = ("create table p (id int primary key);\n"
             f"create table {ident} (id int primary key, v int, pid int);")
    text = f"alter table {ident} add w bigint not null up `v * 1000 + coalesce(pid, 0)`;"
    try:
        migration(text, "02_watch")
        migration(setup, "01_setup")
    except Exception as err:  # noqa: BLE001
        pytest.skip(f"the DSL does not take this name: {err}")
    _prepare(admin_dsn, pg_conn, setup=setup, seed=False)
    regclass = f"public.{ident}"
    _seed(pg_conn, regclass)

    def write(c: Connection) -> None:
        c.execute(f"UPDATE {regclass} SET v = v + 1 WHERE id = 1")
    messages: list[str] = []
    writer = _start(admin_dsn, write, messages, text=text, table=name, regclass=regclass)
    assert writer.in_first_pass
    assert not any(SKIPPED in m for m in messages), messages
    assert _wrong(pg_conn, regclass) == []
    _finish(admin_dsn)
    assert _watch_left(pg_conn) == (0, 0, 0)
