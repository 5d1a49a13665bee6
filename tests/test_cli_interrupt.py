"""Ctrl-C and SIGTERM stop a live run cleanly, its backfill workers included.

A service manager or a container runtime stops a process with SIGTERM (then SIGKILL after a
grace period). pgroll-dsl used to die at once on SIGTERM, with no word, and leave the server
running what it had sent until the server noticed the client was gone. With
``--backfill-workers``, Ctrl-C stopped the executor's statement but not the workers': their
sessions went on with their shares after the operator was told start had stopped, and next
to a resumed start, since a worker's connection holds no run lock. Now both signals cancel
every statement under way (the executor's and each worker's), roll back the transaction of a
phase, say how to resume, and exit 130; the resumed run then finishes with every row right.
"""

from __future__ import annotations

import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from psycopg.conninfo import make_conninfo

from pgroll_dsl.backends.live import bodies_unchecked
from tests import fault_model as fm
from tests.live_helpers import Connection, dsn_of, owner_of_t

ROWS = 3000
MIGRATION = "alter table t add w bigint not null up `v * 2`;\n"
# Sessions of ours still running a statement: none may outlive the process.
RUNNING = ("SELECT count(*) FROM pg_catalog.pg_stat_activity WHERE state = 'active' AND "
           "application_name LIKE 'pgroll-dsl%' AND pid <> pg_catalog.pg_backend_pid()")
DONE = "SELECT count(*) FROM t WHERE NOT _pgroll_needs_backfill"
BACKFILLS = ("SELECT count(*) FROM pg_catalog.pg_stat_activity WHERE state = 'active' AND "
             "query LIKE 'DO $pgroll_backfill$%'")


def _wait_for(conn: Connection, query: str, at_least: int, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            row = conn.execute(query).fetchone()
        except psycopg.errors.UndefinedColumn:  # start has not added the marker yet
            row = None
        if row is not None and row[0] >= at_least:
            return
        time.sleep(0.02)
    raise AssertionError(f"not seen in {timeout} s: {query}")


def _stop(process: subprocess.Popen[str], how: signal.Signals) -> tuple[int, str]:
    process.send_signal(how)
    out, err = process.communicate(timeout=60)
    return process.returncode, out + err


@pytest.fixture
def table(pg_dsn: str, pg_conn: Connection) -> str:
    pg_conn.execute("CREATE TABLE t (id bigint PRIMARY KEY, v int NOT NULL)")
    pg_conn.execute(f"INSERT INTO t SELECT g, g FROM generate_series(1, {ROWS}) g")
    pg_conn.execute("ANALYZE t")
    dsn = dsn_of(pg_dsn, pg_conn)
    assert fm.cli(["init"], dsn).returncode == 0
    return dsn


@pytest.mark.parametrize("how", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
@pytest.mark.parametrize("workers", [1, 3])
def test_a_signal_during_the_backfill_stops_every_session_and_start_resumes(
        table: str, pg_conn: Connection, tmp_path: Path, how: signal.Signals,
        workers: int) -> None:
    path = fm.write_file(tmp_path, "01_add_w", MIGRATION)
    process = fm.cli_popen(["start", str(path), "--backfill-workers", str(workers),
                            "--backfill-batch-size", "100", "--backfill-batch-time", "0",
                            "--backfill-batch-delay", "0.1"], table, ctrl_c=True)
    _wait_for(pg_conn, BACKFILLS, workers)
    code, err = _stop(process, how)
    assert "Traceback" not in err, err
    assert code == 130, err
    assert f"interrupted: run `pgroll-dsl start {path}` again to resume" in err, err
    # Cancelled before the process exited: no statement of ours runs on (a worker's batch
    # would otherwise sleep out its delay and write on), and none went on to the end of its
    # share after the signal (the process used to wait for its workers to finish).
    assert pg_conn.execute(RUNNING).fetchone() == (0,)
    written = pg_conn.execute(DONE).fetchone()
    time.sleep(0.3)  # three batch delays: a batch still running would have written more
    assert pg_conn.execute(DONE).fetchone() == written
    assert written is not None and written[0] < ROWS, written
    status = fm.status_of(table)
    assert status["status"] == "In progress", status
    resumed = fm.cli(["start", str(path)], table)
    assert resumed.returncode == 0, resumed.describe()
    done = fm.cli(["complete"], table)
    assert done.returncode == 0, done.describe()
    rows = pg_conn.execute("SELECT count(*), count(*) FILTER (WHERE w = v * 2) FROM t").fetchone()
    assert rows == (ROWS, ROWS)


@pytest.mark.parametrize("how", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_a_signal_while_complete_waits_rolls_it_back_and_complete_runs_again(
        table: str, pg_conn: Connection, tmp_path: Path, how: signal.Signals) -> None:
    path = fm.write_file(tmp_path, "01_add_w", MIGRATION)
    assert fm.cli(["start", str(path)], table).returncode == 0
    with psycopg.connect(table) as reader:  # a client's transaction that has read t
        reader.execute("SELECT count(*) FROM t").fetchone()
        process = fm.cli_popen(["complete"], table, ctrl_c=True)
        _wait_for(pg_conn, "SELECT count(*) FROM pg_catalog.pg_stat_activity WHERE "
                  "application_name LIKE 'pgroll-dsl complete%'", 1)
        time.sleep(0.3)  # waiting for the reader, before or inside its transaction
        code, err = _stop(process, how)
        assert "Traceback" not in err, err
        assert code == 130, err
        assert "interrupted: run `pgroll-dsl complete` again to finish it" in err, err
        assert pg_conn.execute(RUNNING).fetchone() == (0,)
    detail = fm.cli(["status", "--detail"], table)
    assert detail.returncode == 0, detail.describe()
    assert '"state": "started"' in detail.stdout, detail.stdout  # complete left nothing done
    done = fm.cli(["complete"], table)
    assert done.returncode == 0, done.describe()
    rows = pg_conn.execute("SELECT count(*) FILTER (WHERE w = v * 2) FROM t").fetchone()
    assert rows == (ROWS,)


@pytest.mark.parametrize("how", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_a_signal_before_start_recorded_anything_says_there_is_nothing_to_undo(
        table: str, pg_conn: Connection, tmp_path: Path, how: signal.Signals) -> None:
    """Start asks the server whether the type change can carry its default over (on an empty
    copy of the table) before it records anything; a client's lock on the table makes it
    wait there. Stopped then, it must not send the operator to a rollback that would answer
    "no active migration": nothing was changed, and the same start then runs."""
    path = fm.write_file(tmp_path, "01_v_bigint", "alter table t alter v type bigint;\n")
    with psycopg.connect(table) as holder:
        holder.execute("LOCK TABLE t IN ACCESS EXCLUSIVE MODE")
        process = fm.cli_popen(["start", str(path), "--lock-timeout", "60000"], table,
                               ctrl_c=True)
        _wait_for(pg_conn, "SELECT count(*) FROM pg_catalog.pg_stat_activity WHERE "
                  "application_name LIKE 'pgroll-dsl%' AND wait_event_type = 'Lock'", 1)
        code, err = _stop(process, how)
        holder.rollback()
    assert "Traceback" not in err, err
    assert code == 130, err
    assert f"interrupted before the start of {path} changed anything: nothing to undo" in err, err
    assert "rollback" not in err, err
    assert pg_conn.execute(RUNNING).fetchone() == (0,)
    assert fm.status_of(table)["status"] == "No migrations", fm.status_of(table)
    assert pg_conn.execute("SELECT count(*) FROM pgroll.migrations").fetchone() == (0,)
    started = fm.cli(["start", str(path), "--complete"], table)
    assert started.returncode == 0, started.describe()
    rows = pg_conn.execute("SELECT count(*) FILTER (WHERE v::bigint = id) FROM t").fetchone()
    assert rows == (ROWS,)


def test_sigterm_ignored_by_the_parent_stays_ignored(
        table: str, pg_conn: Connection, tmp_path: Path) -> None:
    """A parent that starts the CLI with SIGTERM ignored (a supervisor that stops its
    children otherwise) is obeyed: the signal does not interrupt complete's lock wait, and
    complete finishes once the reader lets go."""
    path = fm.write_file(tmp_path, "01_add_w", MIGRATION)
    assert fm.cli(["start", str(path)], table).returncode == 0
    with psycopg.connect(table) as reader:
        reader.execute("SELECT count(*) FROM t").fetchone()
        process = fm.cli_popen(["complete"], table, ctrl_c=True, sigterm_ignored=True)
        _wait_for(pg_conn, "SELECT count(*) FROM pg_catalog.pg_stat_activity WHERE "
                  "application_name LIKE 'pgroll-dsl complete%'", 1)
        time.sleep(0.3)
        process.send_signal(signal.SIGTERM)
        time.sleep(0.5)
        assert process.poll() is None, process.communicate()
    out, err = process.communicate(timeout=60)  # the reader's transaction has ended
    assert process.returncode == 0, out + err
    assert "interrupted" not in err, err
    rows = pg_conn.execute("SELECT count(*) FILTER (WHERE w = v * 2) FROM t").fetchone()
    assert rows == (ROWS,)


def test_workers_a_killed_run_left_running_are_stopped_before_the_next_run_goes_on(
        table: str, pg_conn: Connection, tmp_path: Path) -> None:
    """SIGKILL gives no chance to cancel: the workers' statements run on on the server.

    Each worker's share is one batch, then a long delay: killed during it, the workers stay
    until the delay ends. A worker's connection holds no run lock, so the resumed start used
    to go on beside them; it now stops them first (they hold the workers' advisory lock).
    """
    pg_conn.execute(f"DELETE FROM t WHERE id > {3 * 100}")
    pg_conn.execute("ANALYZE t")  # the shares are cut from the row estimate
    path = fm.write_file(tmp_path, "01_add_w", MIGRATION)
    process = fm.cli_popen(["start", str(path), "--backfill-workers", "3",
                            "--backfill-batch-size", "100", "--backfill-batch-time", "0",
                            "--backfill-batch-delay", "5"], table)
    _wait_for(pg_conn, DONE, 300)  # every share's batch committed; the workers wait
    process.kill()
    process.communicate(timeout=60)
    orphans = {pid for (pid,) in pg_conn.execute(
        "SELECT pid FROM pg_catalog.pg_stat_activity WHERE state = 'active' AND "
        "query LIKE 'DO $pgroll_backfill$%'").fetchall()}
    assert len(orphans) == 3, orphans  # the scenario: the workers outlive their process
    listed = ", ".join(map(str, sorted(orphans)))
    seen = fm.status_of_detail(table)  # what an operator is told meanwhile
    assert seen["running"] is None and seen["workers"] == sorted(orphans), seen
    assert seen["state"] == "start interrupted", seen
    assert f"still running (backends {listed}): the next run stops them first" in seen["next"]
    resumed = fm.cli(["start", str(path)], table)
    assert resumed.returncode == 0, resumed.describe()
    assert (f"stopped the backfill workers of an earlier run that ended without them "
            f"(backends {listed})") in resumed.stderr, resumed.describe()
    done = fm.cli(["complete"], table)
    assert done.returncode == 0, done.describe()
    rows = pg_conn.execute("SELECT count(*), count(*) FILTER (WHERE w = v * 2) FROM t").fetchone()
    assert rows == (300, 300)


@pytest.fixture
def owned(pg_dsn: str, pg_conn: Connection) -> Iterator[tuple[str, str]]:
    """(the superuser's DSN, the role that owns ``public``, ``t`` and the state schema)."""
    dsn = dsn_of(pg_dsn, pg_conn)
    role = f"owner_{pg_conn.info.backend_pid}"
    with owner_of_t(pg_conn, dsn, role, 300):
        yield dsn, role


def test_workers_a_role_may_not_stop_are_named_and_the_run_refused(
        owned: tuple[str, str], pg_conn: Connection, tmp_path: Path) -> None:
    """A start run by a superuser (``--role`` the owner) is killed with its workers waiting;
    the owner, who may not signal a superuser's backends, runs start again: it is refused
    in one line naming the workers and what to do, changing nothing. Once they are stopped
    as the message says, the owner's rollback runs and leaves the table as it was."""
    dsn, role = owned
    as_owner = make_conninfo(dsn, user=role)
    assert fm.cli(["init", "--role", role], dsn).returncode == 0
    path = fm.write_file(tmp_path, "01_add_w", MIGRATION)
    process = fm.cli_popen(["start", str(path), "--role", role, "--backfill-workers", "3",
                            "--backfill-batch-size", "100", "--backfill-batch-time", "0",
                            "--backfill-batch-delay", "30"], dsn)
    _wait_for(pg_conn, DONE, 300)
    process.kill()
    process.communicate(timeout=60)
    orphans = sorted(pid for (pid,) in pg_conn.execute(
        "SELECT pid FROM pg_catalog.pg_stat_activity WHERE state = 'active' AND "
        "query LIKE 'DO $pgroll_backfill$%'").fetchall())
    assert len(orphans) == 3, orphans
    recorded = fm.status_of_detail(dsn)["steps"]
    refused = fm.cli(["start", str(path)], as_owner)
    assert "Traceback" not in refused.stderr, refused.describe()
    assert refused.returncode == 1, refused.describe()
    listed = ", ".join(map(str, orphans))
    assert refused.stderr.startswith(
        f'error: backfill workers of an earlier run of schema "public" are still running '
        f"(backends {listed}) and may not be stopped by this role: "), refused.describe()
    assert "or stop them (SELECT pg_terminate_backend(pid)) as their role or a superuser" \
        in refused.stderr, refused.describe()
    assert len(refused.stderr.strip().splitlines()) == 1, refused.describe()
    assert fm.status_of_detail(dsn)["steps"] == recorded  # nothing ran
    assert pg_conn.execute("SELECT count(*) FROM pg_catalog.pg_locks WHERE locktype = "
                           "'advisory' AND granted AND pid <> ALL(%s)",
                           (orphans,)).fetchone() == (0,)  # no run lock left behind
    pg_conn.execute("SELECT pg_catalog.pg_terminate_backend(pid) FROM "
                    "pg_catalog.unnest(%s::int[]) pid", (orphans,))
    _wait_for(pg_conn, "SELECT 3 - count(*) FROM pg_catalog.pg_stat_activity WHERE "
              "query LIKE 'DO $pgroll_backfill$%' AND state = 'active'", 3)
    undone = fm.cli(["rollback"], as_owner)  # the saved plan's 30-s delays: no resume here
    assert undone.returncode == 0, undone.describe()
    assert "stopped the backfill workers" not in undone.stderr, undone.describe()
    assert pg_conn.execute("SELECT count(*) FROM t").fetchone() == (300,)
    assert [r[0] for r in pg_conn.execute(
        "SELECT attname FROM pg_catalog.pg_attribute WHERE attrelid = 't'::regclass AND "
        "attnum > 0 AND NOT attisdropped ORDER BY attnum").fetchall()] == ["id", "v"]


def test_an_interrupt_that_leaves_the_connection_busy_stays_an_interrupt(table: str) -> None:
    """A backfill block runs with ``check_function_bodies`` off, reset after it. A Ctrl-C or
    SIGTERM can leave the connection busy with the cancelled block; the reset then failed
    with "another command is already in progress", and that error, in place of the
    interrupt, made start report a failed step (exit 3, not 130: seen once on CI)."""
    conn = psycopg.connect(table, autocommit=True)
    try:
        with pytest.raises(KeyboardInterrupt), bodies_unchecked(conn):
            conn.pgconn.send_query(b"SELECT pg_catalog.pg_sleep(0.1)")  # not read back
            raise KeyboardInterrupt
    finally:
        conn.close()  # busy still: no COMMIT on the way out, as ``with`` would send
    with psycopg.connect(table, autocommit=True) as conn, bodies_unchecked(conn):
        row = conn.execute("SHOW check_function_bodies").fetchone()
        assert row == ("off",)  # the block's own setting
    with psycopg.connect(table, autocommit=True) as conn:
        with bodies_unchecked(conn):
            pass
        assert conn.execute("SHOW check_function_bodies").fetchone() == ("on",)  # reset after
