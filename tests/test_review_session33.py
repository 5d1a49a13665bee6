"""Review of 05ddd07: "already exists" of a step outside a transaction, raw SQL split into a
step per statement, the views rebuilt after raw SQL that runs alone at complete.

Real CLI processes on a real server (a helper's adversarial pass, adapted). The first four
were defects of 05ddd07, fixed after it: a transactional raw SQL beside a concurrent build
at complete (the views were no longer dropped around it), an index of the step's name on
another table taken for the step's own (on a second run, and on a first complete whose
first step is the build), and a ``SET`` of split raw SQL left on the migration connection.
The others pin what held.
"""

from __future__ import annotations

import time
from pathlib import Path

import psycopg
import pytest

from pgroll_dsl.sql.transactions import Apart, index_build, statements_apart
from tests.fault_model import cli, cli_popen, write_file
from tests.live_helpers import Connection, one, query
from tests.test_resumed_steps import _done, killed_while_building, planned

pytestmark = pytest.mark.postgres

SETUP = "create table t (id int primary key, v int);\n"
KILL = "PGROLL_DSL_KILL_AT"


def _setup(admin_dsn: str, tmp_path: Path, setup: str = SETUP, env: dict[str, str] | None = None
           ) -> None:
    assert cli(["init"], admin_dsn, env=env).returncode == 0
    made = cli(["start", "--complete", str(write_file(tmp_path, "01_setup", setup))],
               admin_dsn, env=env)
    assert made.returncode == 0, made.describe()


def _index(pg_conn: Connection, name: str, schema: str = "public") -> tuple[bool, str] | None:
    """(valid, the table it is on) of the index ``name`` of ``schema``; None: no such index."""
    rows = query(pg_conn, "SELECT indisvalid, indrelid::regclass::text FROM pg_index "
                 "WHERE indexrelid = to_regclass(%s)", (f'"{schema}"."{name}"',))
    return (rows[0][0], rows[0][1]) if rows else None


# --- defects ---------------------------------------------------------------------------------

def test_a_transactional_raw_sql_beside_a_concurrent_build_at_complete(
        admin_dsn: str, pg_conn: Connection, tmp_path: Path) -> None:
    _setup(admin_dsn, tmp_path)
    path = write_file(tmp_path, "02_change",
                      "sql on complete up `ALTER TABLE t ALTER COLUMN v TYPE bigint`;\n"
                      "sql on complete up `CREATE INDEX CONCURRENTLY t_v_idx ON t (v)`;\n")
    started = cli(["start", str(path)], admin_dsn)
    assert started.returncode == 0, started.describe()
    done = cli(["complete"], admin_dsn)
    assert done.returncode == 0, done.describe()
    assert _index(pg_conn, "t_v_idx") == (True, "t")
    assert one(pg_conn, "SELECT data_type FROM information_schema.columns WHERE "
               "table_schema = 'public_02_change' AND table_name = 't' "
               "AND column_name = 'v'") == ("bigint",)


def test_running_complete_again_after_the_name_was_taken_does_not_skip_the_build(
        admin_dsn: str, pg_conn: Connection, tmp_path: Path) -> None:
    _setup(admin_dsn, tmp_path)
    path = write_file(tmp_path, "02_change",
                      "sql on complete up `CREATE INDEX CONCURRENTLY t_v_idx ON t (v)`;\n")
    assert cli(["start", str(path)], admin_dsn).returncode == 0
    pg_conn.execute("CREATE TABLE other (a int); CREATE INDEX t_v_idx ON other (a)")
    failed = cli(["complete"], admin_dsn)
    assert failed.returncode != 0 and "already exists" in failed.stderr, failed.describe()
    again = cli(["complete"], admin_dsn)
    assert again.returncode != 0, again.describe()
    assert not _done(pg_conn, "02_change")


def test_a_first_complete_whose_first_step_is_the_build_meets_its_name_taken(
        admin_dsn: str, pg_conn: Connection, tmp_path: Path) -> None:
    pg_conn.execute(SETUP)
    assert cli(["init"], admin_dsn).returncode == 0
    path = write_file(tmp_path, "02_change",
                      "sql on complete up `CREATE INDEX CONCURRENTLY t_v_idx ON t (v)`;\n")
    assert cli(["start", str(path)], admin_dsn).returncode == 0
    pg_conn.execute("CREATE TABLE other (a int); CREATE INDEX t_v_idx ON other (a)")
    first = cli(["complete"], admin_dsn)
    assert first.returncode != 0, first.describe()
    assert not _done(pg_conn, "02_change")


def _longest_lock_wait_of_rebuild(admin_dsn: str, pg_conn: Connection, tmp_path: Path,
                                  before: str) -> float:
    """Complete (lock wait 0) while a client holds a new-version view; the longest a single
    statement of the views' rebuild waited for its lock."""
    _setup(admin_dsn, tmp_path)
    path = write_file(tmp_path, "02_change", f"sql on complete up `{before}"
                      "CREATE INDEX CONCURRENTLY t_v_idx ON t (v)`;\n")
    assert cli(["start", str(path)], admin_dsn).returncode == 0
    waited = 0.0
    with psycopg.connect(admin_dsn) as holder:
        holder.execute("SELECT * FROM public_02_change.t")  # ACCESS SHARE on the view
        process = cli_popen(["complete", "--lock-wait", "0"], admin_dsn)
        try:
            deadline = time.monotonic() + 6
            while time.monotonic() < deadline and process.poll() is None:
                rows = query(pg_conn, "SELECT max(extract(epoch FROM now() - query_start)) "
                             "FROM pg_stat_activity WHERE wait_event_type = 'Lock' "
                             "AND query LIKE 'DO%%'")
                waited = max(waited, float(rows[0][0] or 0))
                time.sleep(0.1)
        finally:
            holder.rollback()
            process.communicate(timeout=120)
    return waited


def test_a_set_in_split_raw_sql_does_not_reach_later_steps(
        admin_dsn: str, pg_conn: Connection, tmp_path: Path) -> None:
    waited = _longest_lock_wait_of_rebuild(admin_dsn, pg_conn, tmp_path, "SET lock_timeout = 0; ")
    assert waited < 2, f"the rebuild waited {waited:.1f}s for a lock in one statement"


# --- what holds ------------------------------------------------------------------------------

def test_the_rebuild_waits_within_the_lock_timeout(
        admin_dsn: str, pg_conn: Connection, tmp_path: Path) -> None:
    """The control of the case above: without the author's SET, each try is bounded."""
    waited = _longest_lock_wait_of_rebuild(admin_dsn, pg_conn, tmp_path, "")
    assert waited < 2, f"the rebuild waited {waited:.1f}s for a lock in one statement"


COMPLETE_ALONE = ("alter table t add w int null;\nsql on complete up `CREATE TABLE c (id int); "
                  "CREATE INDEX CONCURRENTLY c_id ON c (id); ALTER TABLE c ADD d int`;\n")


@pytest.mark.parametrize("step", range(1, 12))
def test_complete_with_raw_sql_alone_killed_before_each_step(
        admin_dsn: str, pg_conn: Connection, tmp_path: Path, step: int) -> None:
    """Complete: its transaction with the first statement, the views made again in it
    (1-7), the build (8), the statement after it (9), the views made again (10-11). Killed
    before each; the new version keeps its schema and column meanwhile, and the next
    complete finishes with the table, a valid index and their views."""
    _setup(admin_dsn, tmp_path)
    path = write_file(tmp_path, "02_change", COMPLETE_ALONE)
    steps = planned(admin_dsn, path, "complete")
    assert [s["transactional"] for s in steps] == [True] * 7 + [False] * 2 + [True] * 2
    assert cli(["start", str(path)], admin_dsn).returncode == 0
    killed = cli(["complete"], admin_dsn, env={KILL: f"complete:{step}"})
    assert killed.returncode != 0, killed.describe()
    assert query(pg_conn, "SELECT w FROM public_02_change.t") == []
    again = cli(["complete"], admin_dsn)
    assert again.returncode == 0, again.describe()
    assert _index(pg_conn, "c_id") == (True, "c")
    assert query(pg_conn, "SELECT id, d FROM public_02_change.c") == []
    assert query(pg_conn, "SELECT w FROM public_02_change.t") == []
    assert query(pg_conn, "SELECT to_regnamespace('public_01_setup')") == [(None,)]
    assert _done(pg_conn, "02_change")


def test_an_authors_build_killed_at_complete_is_built_again(
        admin_dsn: str, pg_conn: Connection, tmp_path: Path) -> None:
    """Killed (with its server session) while the build waits: the next complete drops the
    invalid index and builds it again."""
    _setup(admin_dsn, tmp_path)
    path = write_file(tmp_path, "02_change",
                      "sql on complete up `CREATE UNIQUE INDEX CONCURRENTLY t_v_key ON t (v)`;\n")
    assert cli(["start", str(path)], admin_dsn).returncode == 0
    pg_conn.execute("INSERT INTO t SELECT g, g FROM generate_series(1, 100) g")
    killed_while_building(admin_dsn, pg_conn, ["complete"], "t_v_key")
    assert _index(pg_conn, "t_v_key") == (False, "t")
    again = cli(["complete"], admin_dsn)
    assert again.returncode == 0, again.describe()
    assert _index(pg_conn, "t_v_key") == (True, "t")
    with pytest.raises(psycopg.errors.UniqueViolation):
        pg_conn.execute("INSERT INTO t VALUES (101, 1)")


def test_rights_granted_since_start_reach_the_rebuilt_views(
        admin_dsn: str, pg_conn: Connection, tmp_path: Path) -> None:
    _setup(admin_dsn, tmp_path)
    path = write_file(tmp_path, "02_change",
                      "sql on complete up `CREATE INDEX CONCURRENTLY t_v_idx ON t (v)`;\n")
    assert cli(["start", str(path)], admin_dsn).returncode == 0
    pg_conn.execute("CREATE ROLE r33 NOLOGIN")
    try:
        pg_conn.execute("GRANT USAGE ON SCHEMA public TO r33")
        pg_conn.execute("GRANT SELECT ON t TO r33")
        done = cli(["complete"], admin_dsn)
        assert done.returncode == 0, done.describe()
        with pg_conn.transaction():
            pg_conn.execute("SET LOCAL ROLE r33")
            assert query(pg_conn, "SELECT * FROM public_02_change.t") == []
    finally:
        pg_conn.execute("DROP OWNED BY r33")
        pg_conn.execute("DROP ROLE r33")


@pytest.mark.parametrize("schema", ["app", "Mixed Case"])
def test_a_failed_unique_build_in_another_schema_is_built_again(
        admin_dsn: str, pg_conn: Connection, tmp_path: Path, schema: str) -> None:
    pg_conn.execute(f'CREATE SCHEMA "{schema}"')
    env = {"PGROLL_SCHEMA": schema}
    _setup(admin_dsn, tmp_path, env=env)
    path = write_file(tmp_path, "02_change", "sql on complete up "
                      f'`CREATE UNIQUE INDEX CONCURRENTLY t_v_key ON "{schema}".t (v)`;\n')
    assert cli(["start", str(path)], admin_dsn, env=env).returncode == 0
    pg_conn.execute(f'INSERT INTO "{schema}".t VALUES (1, 7), (2, 7)')
    assert cli(["complete"], admin_dsn, env=env).returncode != 0
    assert _index(pg_conn, "t_v_key", schema)[0] is False  # type: ignore[index]
    pg_conn.execute(f'DELETE FROM "{schema}".t WHERE id = 2')
    done = cli(["complete"], admin_dsn, env=env)
    assert done.returncode == 0, done.describe()
    assert _index(pg_conn, "t_v_key", schema)[0] is True  # type: ignore[index]


ODD = ("sql on complete up `CREATE FUNCTION \"fü;n\"() RETURNS int LANGUAGE sql "
       "AS $f$ SELECT 1; $f$; -- a comment; with a semicolon\n"
       "CREATE TABLE \"Ünï\" (id int DEFAULT \"fü;n\"(), s text DEFAULT 'a;b');\n"
       "CREATE INDEX CONCURRENTLY \"Ünï ;idx\" ON \"Ünï\" (id) /* ; */;\n`;\n")


def test_odd_split_text_through_the_plan_file(
        admin_dsn: str, pg_conn: Connection, tmp_path: Path) -> None:
    from tests.test_plan_live import run_psql
    pg_conn.execute(SETUP)
    path = write_file(tmp_path, "02_change", ODD)
    for phase in ("start", "complete"):
        planned = cli(["plan", str(path), "--postgres-url", admin_dsn, "--phase", phase],
                      admin_dsn)
        assert planned.returncode == 0, planned.describe()
        run_psql(admin_dsn, planned.stdout)
    assert _index(pg_conn, "Ünï ;idx") == (True, '"Ünï"')
    assert query(pg_conn, 'SELECT id, s FROM "public_02_change"."Ünï"') == []


def test_odd_split_text_live(admin_dsn: str, pg_conn: Connection, tmp_path: Path) -> None:
    _setup(admin_dsn, tmp_path)
    path = write_file(tmp_path, "02_change", ODD)
    summaries = [s["summary"] for s in planned(admin_dsn, path, "complete")]
    assert [s for s in summaries if str(s).startswith("raw SQL")] == [
        f"raw SQL (up), statement {n} of 3" for n in (1, 2, 3)]
    done = cli(["start", "--complete", str(path)], admin_dsn)
    assert done.returncode == 0, done.describe()
    assert _index(pg_conn, "Ünï ;idx") == (True, '"Ünï"')
    pg_conn.execute('INSERT INTO "public_02_change"."Ünï" (s) VALUES (DEFAULT)')
    assert query(pg_conn, 'SELECT id, s FROM "public_02_change"."Ünï"') == [(1, "a;b")]


SPLIT_DOWN = ("sql up `CREATE TABLE b (id int); CREATE INDEX CONCURRENTLY b_id ON b (id)` "
              "down `DROP INDEX CONCURRENTLY IF EXISTS b_id; DROP TABLE IF EXISTS b`;\n")


def test_split_up_and_down_killed_at_every_start_and_rollback_step(
        admin_dsn: str, pg_conn: Connection, tmp_path: Path) -> None:
    _setup(admin_dsn, tmp_path)
    path = write_file(tmp_path, "02_raw", SPLIT_DOWN)
    start_total = len(planned(admin_dsn, path, "start"))
    rollback = planned(admin_dsn, path, "rollback")
    assert [s["transactional"] for s in rollback[:2]] == [False, True]  # (the drop in it)
    for step in range(1, start_total + 1):
        for back in range(1, len(rollback) + 1):
            killed = cli(["start", str(path)], admin_dsn, env={KILL: f"start:{step}"})
            assert killed.returncode != 0, (step, killed.describe())
            killed = cli(["rollback"], admin_dsn, env={KILL: f"rollback:{back}"})
            assert killed.returncode != 0, (step, back, killed.describe())
            rolled = cli(["rollback"], admin_dsn)
            assert rolled.returncode == 0, (step, back, rolled.describe())
            assert query(pg_conn, "SELECT to_regclass('public.b'), "
                         "to_regnamespace('public_02_raw')") == [(None, None)], (step, back)
    done = cli(["start", "--complete", str(path)], admin_dsn)
    assert done.returncode == 0, done.describe()
    assert _index(pg_conn, "b_id") == (True, "b")


def test_transactional_raw_sql_at_complete_is_unchanged(
        admin_dsn: str, tmp_path: Path) -> None:
    """One transaction: the new schema dropped, the raw SQL, the views made again."""
    _setup(admin_dsn, tmp_path)
    path = write_file(tmp_path, "02_change",
                      "sql on complete up `CREATE TABLE c (id int); ALTER TABLE t ADD x int`;\n")
    steps = planned(admin_dsn, path, "complete")
    assert all(s["transactional"] for s in steps)
    summaries = [str(s["summary"]) for s in steps]
    assert summaries.index("drop version schema public_02_change") < summaries.index(
        "raw SQL (up)") < next(i for i, s in enumerate(summaries) if s.startswith("rebuild"))


@pytest.mark.parametrize(("text", "expected"), [
    ("-- only a comment", [Apart("-- only a comment", alone=False)]),
    ("VACUUM t;;", [Apart("VACUUM t;;", alone=True)]),
    ("VACUUM t; -- trailing", [Apart("VACUUM t; -- trailing", alone=True)]),
    ("CREATE FUNCTION f() RETURNS int AS $$ SELECT 1; SELECT 2 $$ LANGUAGE sql; VACUUM t",
     [Apart("CREATE FUNCTION f() RETURNS int AS $$ SELECT 1; SELECT 2 $$ LANGUAGE sql",
            alone=False), Apart("VACUUM t", alone=True)]),
    ("CREATE TABLE x (s text DEFAULT 'a;b'); VACUUM x",
     [Apart("CREATE TABLE x (s text DEFAULT 'a;b')", alone=False),
      Apart("VACUUM x", alone=True)]),
    ("BEGIN; CREATE INDEX i ON t (v); COMMIT; VACUUM t",
     [Apart("BEGIN; CREATE INDEX i ON t (v); COMMIT; VACUUM t", alone=True)]),
    ("CREATE TABLE a (id int); ALTER TABLE a ADD b int", [
        Apart("CREATE TABLE a (id int); ALTER TABLE a ADD b int", alone=False)]),
    ("SET lock_timeout = 0; CREATE INDEX CONCURRENTLY i ON t (v); RESET lock_timeout",
     [Apart("SET lock_timeout = 0; CREATE INDEX CONCURRENTLY i ON t (v); RESET lock_timeout",
            alone=True)]),
    ("CREATE TABLE a (id int); SET work_mem = '1GB'; CREATE INDEX CONCURRENTLY i ON a (id)",
     [Apart("CREATE TABLE a (id int)", alone=False),
      Apart("SET work_mem = '1GB'; CREATE INDEX CONCURRENTLY i ON a (id)", alone=True)]),
])
def test_statements_apart_odd_text(text: str, expected: list[Apart]) -> None:
    assert statements_apart(text) == expected


@pytest.mark.parametrize(("text", "schema", "expected"), [
    ('CREATE INDEX CONCURRENTLY i ON "App".t (v)', "App", "i"),
    ("CREATE INDEX CONCURRENTLY i ON App.t (v)", "App", None),  # that is schema app
    ("CREATE INDEX CONCURRENTLY I ON t (v)", "public", "i"),
    ('CREATE INDEX CONCURRENTLY "I" ON t (v)', "public", "I"),
    ("REINDEX INDEX CONCURRENTLY i", "public", None),
])
def test_concurrent_index_names(text: str, schema: str, expected: str | None) -> None:
    build = index_build(text, schema)
    assert (build.name if build else None) == expected


def test_a_set_in_raw_sql_does_not_reach_later_steps_of_the_plan_file(
        admin_dsn: str, pg_conn: Connection, tmp_path: Path) -> None:
    """The plan file run by psql: after the author's SQL the session's own settings are set
    again, as the live executor sets them (checked by a block appended to the phase)."""
    from tests.test_plan_live import run_psql
    pg_conn.execute(SETUP)
    path = write_file(tmp_path, "02_change", "sql up `SET lock_timeout = 0; SET search_path "
                      "TO pg_catalog; CREATE INDEX CONCURRENTLY t_v_idx ON public.t (v)`;\n")
    planned = cli(["plan", str(path), "--postgres-url", admin_dsn, "--phase", "start"],
                  admin_dsn)
    assert planned.returncode == 0, planned.describe()
    check = ("DO $$BEGIN IF pg_catalog.current_setting('lock_timeout') <> '500ms' OR "
             "pg_catalog.current_setting('search_path') <> 'public' THEN RAISE EXCEPTION "
             "'left: % %', pg_catalog.current_setting('lock_timeout'), "
             "pg_catalog.current_setting('search_path'); END IF; END$$;\n")
    run_psql(admin_dsn, planned.stdout + check)
    assert _index(pg_conn, "t_v_idx") == (True, "t")
