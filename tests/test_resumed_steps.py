"""A step outside a transaction that a run goes on with: what "already exists" means there.

A step that cannot run in a transaction (a concurrent index build, an author's raw SQL with
one) commits apart from its record, so a run that stops in it leaves it done, half done or
not done, and the next run cannot tell which. It used to take any "already exists" of such a
step as done, and ran every complete and rollback step so: an author's ``CREATE INDEX
CONCURRENTLY x`` at complete did nothing where a table ``x`` existed, a unique build that
failed left its index invalid and the next complete reported success over it, a raw step of
two statements resumed after its first skipped the second. Now:

* only the first step a run runs may have run before (``Runner._run_phase``, ``start``);
* an index build (the planner's, or an author's single ``CREATE INDEX CONCURRENTLY``:
  ``sql.transactions.index_build``) that left an invalid index is built again, and
  "already exists" is done only where that index exists and is valid;
* any other "already exists" fails the step, with a note that says why it is not taken as
  done.

Each case runs the real command line on a real server; the checks are on the catalog (the
index exists and is valid, uniqueness is enforced) and the state (done or not).
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import psycopg
import pytest

from pgroll_dsl.api import compile_source
from pgroll_dsl.catalog import Catalog
from pgroll_dsl.catalog.sql_ddl import apply_sql
from pgroll_dsl.plan.model import Cost, Lock, Phase, StepKind
from pgroll_dsl.plan.planner import plan_migration
from pgroll_dsl.render.plan_sql import render_plan
from pgroll_dsl.sql.transactions import IndexBuild, index_build
from tests.fault_model import cli, cli_popen, write_file
from tests.live_helpers import Connection, dsn_of, one, query

pytestmark = pytest.mark.postgres

SETUP = "create table t (id int primary key, v int);\n"
CHANGE = "alter table t add w int null;\n"
KILL = "PGROLL_DSL_KILL_AT"


@pytest.fixture
def admin_dsn(pg_dsn: str, pg_conn: Connection) -> str:
    return dsn_of(pg_dsn, pg_conn)


def _index(pg_conn: Connection, name: str) -> tuple[bool, bool] | None:
    """(valid, unique) of the index ``name`` of public; None when there is none."""
    rows = query(pg_conn, "SELECT indisvalid, indisunique FROM pg_index "
                 "WHERE indexrelid = to_regclass(%s)", (f"public.{name}",))
    return (rows[0][0], rows[0][1]) if rows else None


def _done(pg_conn: Connection, name: str) -> bool:
    return bool(one(pg_conn, "SELECT done FROM pgroll.migrations WHERE name = %s", (name,))[0])


def _started(admin_dsn: str, tmp_path: Path, change: str, head: str | None = None) -> int:
    """Setup completed, ``change`` started; the number of its complete step that starts
    with ``head`` (planned before start), or 0."""
    assert cli(["init"], admin_dsn).returncode == 0
    setup = cli(["start", "--complete", str(write_file(tmp_path, "01_setup", SETUP))],
                admin_dsn)
    assert setup.returncode == 0, setup.describe()
    path = write_file(tmp_path, "02_change", change)
    step = _step_of(admin_dsn, path, "complete", head) if head is not None else 0
    started = cli(["start", str(path)], admin_dsn)
    assert started.returncode == 0, started.describe()
    return step


def planned(admin_dsn: str, path: Path, phase: str) -> list[dict[str, Any]]:
    """``phase``'s steps of the migration ``path`` as ``plan --format json`` gives them."""
    result = cli(["plan", str(path), "--postgres-url", admin_dsn, "--format", "json",
                  "--phase", phase], admin_dsn)
    assert result.returncode == 0, result.describe()
    return list(json.loads(result.stdout)[phase])


def _step_of(admin_dsn: str, path: Path, phase: str, head: str) -> int:
    """The number (from 1, as in the plan file) of ``phase``'s step whose SQL starts so."""
    return next(n for n, step in enumerate(planned(admin_dsn, path, phase), 1)
                if step["sql"].startswith(head))


def killed_while_building(admin_dsn: str, pg_conn: Connection, command: list[str],
                          index: str) -> None:
    """Run ``command`` (a migration's start or complete) until its concurrent build of
    ``index`` waits for an older snapshot (its index made, invalid), then kill it with its
    server session, as a crash of the machine would."""
    with psycopg.connect(admin_dsn) as holder:  # a snapshot the build waits for
        holder.execute("BEGIN ISOLATION LEVEL REPEATABLE READ")
        holder.execute("SELECT count(*) FROM pg_catalog.pg_am")  # not t: start locks it
        process = cli_popen(command, admin_dsn)
        try:
            pid = _waiting_build(pg_conn, index)
        finally:
            process.kill()
            process.communicate()
        pg_conn.execute("SELECT pg_terminate_backend(%s)", (pid,))
        holder.rollback()
    _gone(pg_conn, pid)


# --- complete ------------------------------------------------------------------------------------

def test_a_unique_build_at_complete_that_failed_is_built_again(
        admin_dsn: str, pg_conn: Connection, tmp_path: Path) -> None:
    """The build fails on duplicates and leaves its index invalid; once the rows are fixed
    (the invalid index left where it is), the next complete builds it again: valid, and a
    duplicate is refused. Before, the next complete took "already exists" as done and
    reported success over the invalid index."""
    _started(admin_dsn, tmp_path, CHANGE + "sql on complete up "
             "`CREATE UNIQUE INDEX CONCURRENTLY t_v_key ON t (v)`;\n")
    pg_conn.execute("INSERT INTO t (id, v) VALUES (1, 7), (2, 7)")
    failed = cli(["complete"], admin_dsn)
    assert failed.returncode != 0 and "t_v_key" in failed.stderr, failed.describe()
    assert "Traceback" not in failed.stderr
    assert _index(pg_conn, "t_v_key") == (False, True)  # what the failed build left
    assert not _done(pg_conn, "02_change")
    pg_conn.execute("DELETE FROM t WHERE id = 2")
    done = cli(["complete"], admin_dsn)
    assert done.returncode == 0, done.describe()
    assert _done(pg_conn, "02_change")
    assert _index(pg_conn, "t_v_key") == (True, True)
    with pytest.raises(psycopg.errors.UniqueViolation):
        pg_conn.execute("INSERT INTO t (id, v) VALUES (3, 7)")


@pytest.mark.parametrize("phase", ["start", "complete"])
def test_an_if_not_exists_build_meets_an_invalid_index_of_a_failed_one(
        admin_dsn: str, pg_conn: Connection, tmp_path: Path, phase: str) -> None:
    """A build of the same index tried earlier (by hand, or by a migration whose rollback
    kept it) failed on duplicates and left it invalid; the rows fixed, a migration builds it
    with ``CREATE UNIQUE INDEX CONCURRENTLY IF NOT EXISTS``, on a fresh run (not a resumed
    one). The build met the invalid index, said "already exists, skipping", and start (or
    complete) reported success with no uniqueness enforced. Now the invalid index is dropped
    and built again."""
    assert cli(["init"], admin_dsn).returncode == 0
    assert cli(["start", "--complete", str(write_file(tmp_path, "01_setup", SETUP))],
               admin_dsn).returncode == 0
    pg_conn.execute("INSERT INTO t (id, v) VALUES (1, 7), (2, 7)")
    with pytest.raises(psycopg.errors.UniqueViolation):
        pg_conn.execute("CREATE UNIQUE INDEX CONCURRENTLY t_v_key ON t (v)")
    assert _index(pg_conn, "t_v_key") == (False, True)
    pg_conn.execute("DELETE FROM t WHERE id = 2")
    build = "`CREATE UNIQUE INDEX CONCURRENTLY IF NOT EXISTS t_v_key ON t (v)`"
    change = f"sql up {build};\n" if phase == "start" else f"{CHANGE}sql on complete up {build};\n"
    done = cli(["start", "--complete", str(write_file(tmp_path, "02_change", change))],
               admin_dsn)
    assert done.returncode == 0, done.describe()
    assert _done(pg_conn, "02_change")
    assert _index(pg_conn, "t_v_key") == (True, True)
    with pytest.raises(psycopg.errors.UniqueViolation):
        pg_conn.execute("INSERT INTO t (id, v) VALUES (3, 7)")


@pytest.mark.parametrize(("made", "removed"), [
    ("CREATE TABLE t_v_idx (a int)", "DROP TABLE t_v_idx"),
    ("CREATE TABLE other (a int); CREATE INDEX t_v_idx ON other (a)", "DROP INDEX t_v_idx"),
], ids=["a table", "a valid index of another table"])
def test_a_build_at_complete_that_meets_its_name_taken_fails(
        admin_dsn: str, pg_conn: Connection, tmp_path: Path, made: str, removed: str) -> None:
    """The name the author's build gives its index taken by hand after start: complete does
    not take it for the step's own (it completed without the index before: the build comes
    after complete's transaction, not a step that may have run before), fails and says so;
    the migration stays active, what took the name is left alone. Once it is gone,
    complete builds the index."""
    _started(admin_dsn, tmp_path, CHANGE + "sql on complete up "
             "`CREATE INDEX CONCURRENTLY t_v_idx ON t (v)`;\n")
    pg_conn.execute(made)
    failed = cli(["complete"], admin_dsn)
    assert failed.returncode != 0, failed.describe()
    assert 't_v_idx" already exists' in failed.stderr, failed.describe()
    assert "Traceback" not in failed.stderr
    assert not _done(pg_conn, "02_change")
    assert query(pg_conn, "SELECT indrelid FROM pg_index "
                 "WHERE indrelid = 'public.t'::regclass AND indexrelid::regclass::text "
                 "= 't_v_idx'") == []
    pg_conn.execute(removed)
    done = cli(["complete"], admin_dsn)
    assert done.returncode == 0, done.describe()
    assert _index(pg_conn, "t_v_idx") == (True, False)
    assert _done(pg_conn, "02_change")
    assert one(pg_conn, "SELECT indrelid::regclass::text FROM pg_index "
               "WHERE indexrelid = 'public.t_v_idx'::regclass") == ("t",)


# --- start, resumed ----------------------------------------------------------------------------

def test_an_authors_build_killed_at_start_is_built_again(
        admin_dsn: str, pg_conn: Connection, tmp_path: Path) -> None:
    """The run killed (its server session too) while the author's concurrent build waits for
    an older snapshot: the index is left invalid. The next start goes on at that step, drops
    it and builds it again. Before, it took "already exists" as done: start reported
    success, the index stayed invalid."""
    assert cli(["init"], admin_dsn).returncode == 0
    assert cli(["start", "--complete", str(write_file(tmp_path, "01_setup", SETUP))],
               admin_dsn).returncode == 0
    pg_conn.execute("INSERT INTO t SELECT g, g FROM generate_series(1, 100) g")
    change = write_file(tmp_path, "02_change",
                        "sql up `CREATE INDEX CONCURRENTLY t_v_idx ON t (v)`;\n")
    killed_while_building(admin_dsn, pg_conn, ["start", str(change)], "t_v_idx")
    assert _index(pg_conn, "t_v_idx") == (False, False)
    resumed = cli(["start", str(change)], admin_dsn)
    assert resumed.returncode == 0, resumed.describe()
    assert "resuming the start" in resumed.stderr + resumed.stdout, resumed.describe()
    assert _index(pg_conn, "t_v_idx") == (True, False)
    assert cli(["complete"], admin_dsn).returncode == 0
    assert _index(pg_conn, "t_v_idx") == (True, False)


def test_a_raw_step_resumed_after_it_ran_fails(
        admin_dsn: str, pg_conn: Connection, tmp_path: Path) -> None:
    """Raw SQL of complete whose second statement runs outside the transaction too (after
    the build), stopped after that statement ran and before its record (``KILL_AT`` before
    it, and the table made by hand): the next complete meets "already exists", fails and
    says why; the migration stays active. Before, it took the error as done. Once the table
    is dropped, complete makes it, and the new version's view of it (made again after the
    raw SQL)."""
    step = _started(admin_dsn, tmp_path, CHANGE + "sql on complete up `CREATE INDEX "
                    "CONCURRENTLY t_v_idx ON t (v); CREATE TABLE a (id int)`;\n",
                    "CREATE TABLE a")
    killed = cli(["complete"], admin_dsn, env={KILL: f"complete:{step}"})
    assert killed.returncode != 0
    assert _index(pg_conn, "t_v_idx") == (True, False)
    pg_conn.execute("CREATE TABLE a (id int)")  # what it made before the run stopped
    resumed = cli(["complete"], admin_dsn)
    assert resumed.returncode != 0, resumed.describe()
    assert '"a" already exists' in resumed.stderr, resumed.describe()
    assert "not taken as done" in resumed.stderr, resumed.describe()
    assert "Traceback" not in resumed.stderr
    assert not _done(pg_conn, "02_change")
    pg_conn.execute("DROP TABLE a")  # the operator's fix: the step runs whole
    done = cli(["complete"], admin_dsn)
    assert done.returncode == 0, done.describe()
    assert _done(pg_conn, "02_change")
    assert one(pg_conn, "SELECT to_regclass('public_02_change.a') IS NOT NULL") == (True,)


def _waiting_build(pg_conn: Connection, index: str, timeout: float = 30) -> int:
    """The backend of the build of ``index`` once it waits with its index made (invalid)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        rows = query(pg_conn, "SELECT pid FROM pg_stat_activity WHERE query LIKE "
                     "'CREATE %%INDEX CONCURRENTLY%%' AND wait_event_type = 'Lock'")
        if rows and _index(pg_conn, index) is not None:
            return int(rows[0][0])
        time.sleep(0.05)
    pytest.fail(f"the build of {index} never waited")


def _gone(pg_conn: Connection, pid: int, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while query(pg_conn, "SELECT 1 FROM pg_stat_activity WHERE pid = %s", (pid,)):
        assert time.monotonic() < deadline, f"backend {pid} still there"
        time.sleep(0.05)


# --- which author SQL is an index build --------------------------------------------------------

@pytest.mark.parametrize(("text", "expected"), [
    ("CREATE INDEX CONCURRENTLY t_v_idx ON t (v)", IndexBuild("t_v_idx", "t", unique=False)),
    ("create unique index concurrently if not exists \"Odd \"\"Name\"\"\" on public.\"T x\" (v)",
     IndexBuild('Odd "Name"', "T x", unique=True)),
    ("CREATE INDEX CONCURRENTLY i ON public.t (v);", IndexBuild("i", "t", unique=False)),
    ("SET lock_timeout = 0; CREATE INDEX CONCURRENTLY i ON t (v)",
     IndexBuild("i", "t", unique=False)),  # (a piece of statements_apart)
    ("CREATE INDEX CONCURRENTLY i ON other.t (v)", None),  # not where the executor looks
    ("CREATE INDEX CONCURRENTLY ON t (v)", None),  # named by the server
    ("CREATE INDEX i ON t (v)", None),  # in a transaction: all or nothing already
    ("CREATE INDEX CONCURRENTLY i ON t (v); VACUUM t", None),  # more than the build
    ("VACUUM t; CREATE INDEX CONCURRENTLY i ON t (v)", None),
    ("CREATE INDEX CONCURRENTLY i ON", None),  # not SQL
])
def test_index_build(text: str, expected: IndexBuild | None) -> None:
    assert index_build(text, "public") == expected


@pytest.mark.parametrize("text", [
    "sql up `CREATE UNIQUE INDEX CONCURRENTLY t_v_idx ON t (v)` down `DROP INDEX t_v_idx`;",
    "sql on complete up `SET lock_timeout = 0; CREATE INDEX CONCURRENTLY t_v_idx ON t (v); "
    "VACUUM t`;",
])
def test_an_authors_build_is_shown_as_a_build(text: str) -> None:
    """The plan says what the author's build locks (no client waits for it) and which table it
    reads, as for the planner's own builds; it said ACCESS EXCLUSIVE of no table ("raw SQL:
    not analysed"), which a reviewer reads as a stop of every client. The rest of the
    author's SQL stays not analysed."""
    catalog, _ = apply_sql(Catalog(), SETUP)
    plan = plan_migration(compile_source(text, "02_build.pgroll").migration, catalog)
    raw = [s for phase in Phase for s in plan.phase(phase) if s.kind is StepKind.RAW_SQL]
    build = [s for s in raw if s.index == "t_v_idx"]
    assert [(s.lock, s.tables, s.cost) for s in build] == [
        (Lock.SHARE_UPDATE_EXCLUSIVE, ("t",), Cost.BUILD)]
    assert all((s.lock, s.tables, s.cost) == (Lock.ACCESS_EXCLUSIVE, (), Cost.UNKNOWN)
               for s in raw if s not in build)
    shown = render_plan(plan)
    assert ("--     lock: SHARE UPDATE EXCLUSIVE on t; builds an index concurrently\n"
            "--     runs outside a transaction block") in shown, shown


# --- raw SQL of several statements outside a transaction ---------------------------------------

RAW = "sql up `CREATE TABLE b (id int); CREATE INDEX CONCURRENTLY b_id ON b (id)`;\n"


def test_raw_statements_apart_run_each_as_a_step(
        admin_dsn: str, pg_conn: Connection, tmp_path: Path) -> None:
    """Sent as one message they were one implicit transaction block, which the build refuses:
    start failed ("cannot run inside a transaction block"). A step each: start and complete
    run, the index is valid, the new version shows the table."""
    assert cli(["init"], admin_dsn).returncode == 0
    assert cli(["start", "--complete", str(write_file(tmp_path, "01_setup", SETUP))],
               admin_dsn).returncode == 0
    done = cli(["start", "--complete", str(write_file(tmp_path, "02_raw", RAW))], admin_dsn)
    assert done.returncode == 0, done.describe()
    assert _index(pg_conn, "b_id") == (True, False)
    assert one(pg_conn, "SELECT to_regclass('public_02_raw.b') IS NOT NULL") == (True,)


def test_raw_statements_apart_killed_before_each_step(
        admin_dsn: str, pg_conn: Connection, tmp_path: Path) -> None:
    """The start of that migration killed (SIGKILL) before each of its steps in turn, on a
    fresh setup each time, then started again: it finishes, and complete leaves the table,
    a valid index and its view."""
    assert cli(["init"], admin_dsn).returncode == 0
    assert cli(["start", "--complete", str(write_file(tmp_path, "01_setup", SETUP))],
               admin_dsn).returncode == 0
    path = write_file(tmp_path, "02_raw", RAW)
    total = len(planned(admin_dsn, path, "start"))
    assert total >= 3
    for step in range(1, total + 1):
        killed = cli(["start", str(path)], admin_dsn, env={KILL: f"start:{step}"})
        assert killed.returncode != 0, (step, killed.describe())
        resumed = cli(["start", str(path)], admin_dsn)
        assert resumed.returncode == 0, (step, resumed.describe())
        assert _index(pg_conn, "b_id") == (True, False), step
        rolled = cli(["rollback"], admin_dsn)  # the next kill starts from scratch
        assert rolled.returncode == 0, (step, rolled.describe())
        assert query(pg_conn, "SELECT to_regclass('public.b')") == [(None,)], step
    done = cli(["start", "--complete", str(path)], admin_dsn)
    assert done.returncode == 0, done.describe()
    assert _index(pg_conn, "b_id") == (True, False)
    assert one(pg_conn, "SELECT to_regclass('public_02_raw.b') IS NOT NULL") == (True,)
