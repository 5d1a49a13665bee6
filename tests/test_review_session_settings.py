"""Review: settings a DBA puts on the migrating role or its database (``ALTER ROLE/DATABASE ...
SET``, or ``options=-c ...`` in the connection string), on a real PostgreSQL.

Each test runs the cycle (start with clients writing through the old and the new version
while the backfill runs, two backfill workers, complete; a second start rolled back) and
checks the data, not only that the commands returned. Four settings broke it:
client_min_messages (progress and warnings lost), a forced row security policy (rows skipped
by the backfill), exit_on_error (start ended half done) and default_tablespace (a rebuilt
index moved); backends/live.connect() now sets each, and each test's docstring says what
went wrong before. The other settings held as they were.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest
from psycopg import sql
from psycopg.conninfo import conninfo_to_dict, make_conninfo

from pgroll_dsl.backends.runner import CommandError
from tests import fault_model as fm
from tests import test_backfill_adversarial as adversarial
from tests.live_helpers import Connection, apply, make_runner, migration

pytestmark = pytest.mark.postgres

SETUP = "create table t (id int primary key, a int, b text);"
ADD_X = "alter table t add x bigint up `a * 2`;"
FILLED = ("SELECT count(*) FROM public.t WHERE _pgroll_new_x IS DISTINCT FROM a * 2 "
          f"OR ({adversarial.UNDONE})")


def _options(dsn: str, *settings: str) -> str:
    """``dsn`` whose sessions start with ``settings`` (as a role's ``ALTER ROLE ... SET``)."""
    return make_conninfo(dsn, options=" ".join(f"-c {s}" for s in settings))


def _on_database(conn: Connection, setting: str, value: str) -> None:
    conn.execute(sql.SQL("ALTER DATABASE {} SET {} = {}").format(
        sql.Identifier(conn.info.dbname), sql.Identifier(*setting.split(".")),
        sql.Literal(value)))


@contextlib.contextmanager
def _owner(pg_conn: Connection, dsn: str) -> Iterator[str]:
    """A plain role that owns schema public (and what it creates), not a superuser."""
    owners = adversarial._owner(pg_conn, dsn)
    try:
        yield next(owners)
    finally:
        next(owners, None)  # its cleanup: the role's objects go to the superuser, then it


# ---- settings that hold ---------------------------------------------------------------------

# On the database (the clients' sessions get them too: their writes run the sync triggers).
ON_THE_DATABASE = [
    ("plpgsql.extra_errors", "all"),  # too_many_rows, strict_multi_assignment in DO blocks
    ("plpgsql.extra_warnings", "all"),
    ("plpgsql.variable_conflict", "use_column"),
    ("TimeZone", "Asia/Kolkata"),
    ("DateStyle", "German"),
    ("IntervalStyle", "sql_standard"),
    ("extra_float_digits", "0"),
    ("lock_timeout", "50"),
    ("standard_conforming_strings", "off"),
    ("check_function_bodies", "off"),
    ("search_path", ""),
    ("idle_in_transaction_session_timeout", "300"),
    ("enable_indexscan", "off"),
]


@pytest.mark.parametrize(("setting", "value"), ON_THE_DATABASE,
                         ids=[f"{s}={v}" for s, v in ON_THE_DATABASE])
def test_a_database_setting_leaves_the_cycle_whole(admin_dsn: str, pg_conn: Connection,
                                                  setting: str, value: str) -> None:
    runner = make_runner(admin_dsn)
    apply(runner, SETUP)
    runner.close()
    model = adversarial._seed(pg_conn, 1200)
    _on_database(pg_conn, setting, value)
    _whole_cycle(admin_dsn, admin_dsn, pg_conn, model)


# On the migrating role only (the clients keep the server's defaults).
ON_THE_ROLE = [
    "session_replication_role=replica",
    "default_transaction_deferrable=on",
    "jit=on jit_above_cost=0 jit_optimize_above_cost=0 jit_inline_above_cost=0",
    "synchronous_commit=off",
]


@pytest.mark.parametrize("settings", ON_THE_ROLE)
def test_a_role_setting_leaves_the_cycle_whole(admin_dsn: str, pg_conn: Connection,
                                              settings: str) -> None:
    runner = make_runner(admin_dsn)
    apply(runner, SETUP)
    runner.close()
    model = adversarial._seed(pg_conn, 1200)
    _whole_cycle(_options(admin_dsn, *settings.split()), admin_dsn, pg_conn, model)


def _whole_cycle(dsn: str, clients_dsn: str, pg_conn: Connection,
                 model: dict[int, adversarial.Row]) -> None:
    """Start with both versions' clients writing during a one-pass backfill on two workers,
    check every row, complete; then start another migration and roll it back."""
    runner = make_runner(dsn, init=False, batch_size=30, batch_time_ms=0, batch_delay=0.002,
                         two_passes=False, backfill_workers=2)
    try:
        adversarial._start_with_clients(runner, clients_dsn, model)
        adversarial._check_main(pg_conn, model)
        runner.complete()
        runner.start(migration("alter table t add y int up `a + 1`;", "03_y"))
        assert pg_conn.execute("SELECT count(*) FROM t WHERE _pgroll_new_y IS DISTINCT FROM "
                               "a + 1").fetchone() == (0,)
        runner.rollback()
        assert runner.status() == {"schema": "public", "version": "02_x",
                                   "status": "Complete"}
    finally:
        runner.close()
    assert "_pgroll_new_y" not in {c for (c,) in pg_conn.execute(
        "SELECT attname FROM pg_attribute WHERE attrelid = 'public.t'::regclass")}


def test_a_timestamptz_key_crosses_to_the_workers_in_any_datestyle_and_time_zone(
        admin_dsn: str, pg_conn: Connection) -> None:
    """Key values pass to backfill workers as text: ``SQL`` output names the zone by an
    abbreviation (IST, which ``timezone_abbreviations`` reads as Israel's): every share is
    cut and read back in the same session settings, so the shares still meet."""
    runner = make_runner(admin_dsn)
    apply(runner, "create table t (id timestamptz primary key, a int);")
    runner.close()
    pg_conn.execute("INSERT INTO t SELECT timestamptz '2024-03-30 00:00:00+00' + g * interval "
                    "'37 minutes 13.123457 seconds', g FROM generate_series(1, 400) g")
    pg_conn.execute("ANALYZE t")
    _on_database(pg_conn, "TimeZone", "Asia/Kolkata")
    _on_database(pg_conn, "DateStyle", "SQL, DMY")
    _on_three_workers(admin_dsn, pg_conn)


def _on_three_workers(admin_dsn: str, pg_conn: Connection) -> None:
    """Start and complete ADD_X on the 400 rows of ``t``, its backfill cut in three shares."""
    runner = make_runner(admin_dsn, init=False, batch_size=7, batch_time_ms=0,
                         backfill_workers=3)
    try:
        runner.start(migration(ADD_X, "02_x"))
        assert pg_conn.execute(FILLED).fetchone() == (0,)
        runner.complete()
    finally:
        runner.close()
    assert pg_conn.execute("SELECT count(*) FROM t WHERE x = a * 2").fetchone() == (400,)


def test_a_bytea_key_crosses_to_the_workers_in_escape_output(admin_dsn: str,
                                                             pg_conn: Connection) -> None:
    runner = make_runner(admin_dsn)
    apply(runner, "create table t (id bytea primary key, a int);")
    runner.close()
    pg_conn.execute("INSERT INTO t SELECT decode(lpad(to_hex(g * 7919), 8, '0') || '5c00ff27',"
                    " 'hex'), g FROM generate_series(1, 400) g")
    pg_conn.execute("ANALYZE t")
    _on_database(pg_conn, "bytea_output", "escape")
    _on_three_workers(admin_dsn, pg_conn)


def test_a_read_only_default_fails_every_phase_in_one_line_changing_nothing(
        admin_dsn: str, pg_conn: Connection, tmp_path: Path) -> None:
    runner = make_runner(admin_dsn)
    apply(runner, SETUP)
    adversarial._seed(pg_conn, 50)
    before = fm.fingerprint(pg_conn)
    read_only = _options(admin_dsn, "default_transaction_read_only=on")
    path = fm.write_file(tmp_path, "02_x", ADD_X)
    for args in (["init"], ["start", str(path)]):
        result = fm.cli(args, read_only)
        assert fm.no_traceback(result) is None, result.describe()
        assert result.returncode == 1, result.describe()
        assert "read-only transaction" in result.stderr, result.describe()
        assert len(result.stderr.strip().splitlines()) == 1, result.describe()
    assert fm.fingerprint_diff(before, fm.fingerprint(pg_conn)) == []
    assert runner.status()["status"] == "Complete"
    runner.start(migration("alter table t add y int up `a + 1`;", "02_y"))
    started = fm.fingerprint(pg_conn)
    for args in (["complete"], ["rollback"]):
        result = fm.cli(args, read_only)
        assert fm.no_traceback(result) is None, result.describe()
        assert result.returncode == 1, result.describe()
        assert "read-only transaction" in result.stderr, result.describe()
        assert "Nothing was changed" in result.stderr, result.describe()
        assert len(result.stderr.strip().splitlines()) == 1, result.describe()
        assert fm.fingerprint_diff(started, fm.fingerprint(pg_conn)) == []
    runner.complete()
    runner.close()


# ---- defects --------------------------------------------------------------------------------


@pytest.mark.parametrize("level", ["warning", "error"])
@pytest.mark.parametrize("workers", [1, 2])
def test_client_min_messages_of_the_role_does_not_hide_progress_nor_warnings(
        admin_dsn: str, pg_conn: Connection, level: str, workers: int) -> None:
    """At a role's 'warning' the backfill's progress NOTICEs (read by Executor._notice and
    the workers' handler) never reached the client: progress stayed at 0 rows; at 'error' an
    author's RAISE WARNING was lost too. connect() sets client_min_messages to notice."""
    seen: list[tuple[str, int, int]] = []
    said: list[str] = []
    runner = make_runner(_options(admin_dsn, f"client_min_messages={level}"), batch_size=100,
                         batch_time_ms=0, backfill_workers=workers,
                         on_progress=lambda *progress: seen.append(progress),
                         on_message=said.append)
    try:
        apply(runner, SETUP)
        adversarial._seed(pg_conn, 1000)
        runner.start(migration(ADD_X, "02_x"))
        assert pg_conn.execute(FILLED).fetchone() == (0,)  # the data is right, only unseen
        runner.complete()
        runner.start(migration("sql up `DO $$ BEGIN RAISE WARNING 'look at this'; END $$` "
                               "down `SELECT 1`;", "03_w"))
        runner.complete()
    finally:
        runner.close()
    assert seen and max(rows for _table, rows, _total in seen) == 1000, seen[-3:]
    assert "warning: look at this" in said, said


@pytest.mark.parametrize(("row_security", "bypass"), [("on", False), ("off", False),
                                                   ("on", True)])
def test_a_forced_row_security_policy_does_not_hide_rows_from_the_backfill(
        admin_dsn: str, pg_conn: Connection, row_security: str, bypass: bool) -> None:
    """With row_security on (the default) and a table under FORCE ROW LEVEL SECURITY, the
    backfill's UPDATE as the owner saw only the rows its policies let through and skipped
    the rest without an error: complete left the new column NULL in the hidden rows. Start
    now refuses such a table before it changes anything (probe.hidden_rows), whatever the
    role's row_security, unless the role has BYPASSRLS: then every row is filled."""
    with _owner(pg_conn, admin_dsn) as owner:
        runner = make_runner(owner)
        apply(runner, SETUP)
        runner.close()
        adversarial._seed(pg_conn, 100)
        pg_conn.execute("ALTER TABLE t ENABLE ROW LEVEL SECURITY")
        pg_conn.execute("ALTER TABLE t FORCE ROW LEVEL SECURITY")
        pg_conn.execute("CREATE POLICY small ON t USING (a < 50)")  # hides 51 rows
        role = conninfo_to_dict(owner)["user"]
        if bypass:
            pg_conn.execute(sql.SQL("ALTER ROLE {} BYPASSRLS").format(sql.Identifier(role)))
        before = fm.fingerprint(pg_conn)
        runner = make_runner(_options(owner, f"row_security={row_security}"), init=False,
                             batch_size=7, batch_time_ms=0, backfill_workers=2)
        try:
            if not bypass:
                with pytest.raises(CommandError, match=(
                        r'start refused, nothing was changed: table "t" has row-level security '
                        r"forced on its owner .*\(ALTER ROLE \S+ BYPASSRLS\)")):
                    runner.start(migration(ADD_X, "02_x"))
                assert fm.fingerprint_diff(before, fm.fingerprint(pg_conn)) == []
                assert runner.status()["status"] == "Complete"
                return
            runner.start(migration(ADD_X, "02_x"))
            runner.complete()
        finally:
            runner.close()
        wrong = pg_conn.execute("SELECT count(*) FROM t WHERE x IS DISTINCT FROM a * 2")
        assert wrong.fetchone() == (0,)


def test_exit_on_error_of_the_role_does_not_end_the_start(admin_dsn: str,
                                                          pg_conn: Connection) -> None:
    """The backfill's block probes session_replication_role inside BEGIN ... EXCEPTION,
    which a role that is not a superuser fails; a role's exit_on_error turned that caught
    error into FATAL: start stopped half done, and again at every resume."""
    with _owner(pg_conn, admin_dsn) as owner:
        runner = make_runner(owner)
        apply(runner, SETUP)
        runner.close()
        adversarial._seed(pg_conn, 100)
        runner = make_runner(_options(owner, "exit_on_error=on"), init=False, batch_size=7,
                             batch_time_ms=0)
        try:
            runner.start(migration(ADD_X, "02_x"))
            assert pg_conn.execute(FILLED).fetchone() == (0,)
            runner.complete()
        finally:
            runner.close()


@pytest.fixture
def tablespace(pg_conn: Connection) -> Iterator[str]:
    """A tablespace of the test's own (an empty directory the server's user owns)."""
    name = f"review_ts_{pg_conn.info.backend_pid}"
    # In the system's temporary directory, not pytest's: as root, the server runs as another
    # user, who cannot enter pytest's private one.
    directory = Path(tempfile.mkdtemp(prefix=f"pgroll-dsl-{name}-"))
    data: Any = pg_conn.execute("SHOW data_directory").fetchone()
    owner = os.stat(str(data[0])).st_uid  # the server's user (a local server)
    if os.geteuid() == 0:
        os.chown(directory, owner, -1)
    elif owner != os.geteuid():
        pytest.skip("the server runs as another user: cannot make it a tablespace directory")
    pg_conn.execute(sql.SQL("CREATE TABLESPACE {} LOCATION {}").format(
        sql.Identifier(name), sql.Literal(str(directory))))
    try:
        yield name
    finally:
        pg_conn.execute("DROP TABLE IF EXISTS public.t CASCADE")
        with contextlib.suppress(psycopg.Error):
            pg_conn.execute(sql.SQL("DROP TABLESPACE {}").format(sql.Identifier(name)))
        shutil.rmtree(directory, ignore_errors=True)


def test_default_tablespace_of_the_role_does_not_move_a_rebuilt_index(
        admin_dsn: str, pg_conn: Connection, tablespace: str) -> None:
    """An index the plan builds again for a type change (no TABLESPACE clause: the catalog
    model's None is the database's default) landed in the role's default_tablespace, not
    where the original was."""
    runner = make_runner(admin_dsn)
    apply(runner, "create table t (id int primary key, b text);\ncreate index t_b on t (b);")
    runner.close()
    pg_conn.execute("INSERT INTO t SELECT g, g::text FROM generate_series(1, 100) g")
    runner = make_runner(_options(admin_dsn, f"default_tablespace={tablespace}"), init=False)
    try:
        runner.start(migration("alter table t alter b type int up `b::int` down `b::text`;",
                               "02_x"))
        runner.complete()
    finally:
        runner.close()
    placed = pg_conn.execute(
        "SELECT c.relname, s.spcname FROM pg_class c LEFT JOIN pg_tablespace s "
        "ON s.oid = c.reltablespace WHERE c.oid IN (SELECT indexrelid FROM pg_index "
        "WHERE indrelid = 'public.t'::regclass) ORDER BY 1").fetchall()
    assert placed == [("t_b", None), ("t_pkey", None)]
