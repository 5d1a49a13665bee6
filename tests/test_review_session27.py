"""Review of complete's lock step (views locked alone, then the tables with NOWAIT), of the
rights complete gives the version that stays, of the default connect_timeout, of migrate
reading what is pending under the run lock, and of start's warning about ``UPDATE OF``
triggers, on a real PostgreSQL.

Defects are strict xfails whose reason is the diagnosis; the passing tests cover what the
suite did not (a view owned by a role the migrator is a member of, or not; the lock step
leaving the catalog as it was; pgroll's event trigger and a view in another schema; rights
granted to PUBLIC, to a role whose name needs quoting and with the grant option while a
raw SQL migration runs; connection strings that set connect_timeout themselves; migrate
racing migrate and complete).
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import psycopg
import pytest
from psycopg.conninfo import conninfo_to_dict, make_conninfo

from pgroll_dsl.backends.live import Session
from pgroll_dsl.backends.runner import CommandError, PartialFailure, Runner, RunOptions
from tests.live_helpers import (
    Connection,
    client,
    dsn_of,
    make_runner,
    migration,
    one,
    owner_of_t,
    query,
)

pytestmark = pytest.mark.postgres

REPO = Path(__file__).resolve().parents[1]
REWRITE_V = "alter table t alter v type bigint up `v` down `v`;"


@pytest.fixture
def dsn(pg_dsn: str, pg_conn: Connection) -> str:
    return dsn_of(pg_dsn, pg_conn)


def _role(conn: Connection, name: str) -> str:
    """A role of this test's own (dropped by ``_drop``): its quoted name."""
    quoted = '"' + name.replace('"', '""') + '"'
    conn.execute(f"CREATE ROLE {quoted}")
    return quoted


def _drop(conn: Connection, *quoted: str) -> None:
    for role in quoted:
        conn.execute(f"DROP OWNED BY {role} CASCADE")
        conn.execute(f"DROP ROLE {role}")


def _as(conn: Connection, role: str, statement: str) -> str | list[tuple[Any, ...]]:
    """The rows ``statement`` gives ``role`` (quoted), or the SQLSTATE it fails with."""
    conn.execute(f"SET ROLE {role}")
    try:
        with conn.transaction():
            return query(conn, statement)
    except psycopg.Error as err:
        return err.sqlstate or "?"
    finally:
        conn.execute("RESET ROLE")


def run_cli(cwd: Path, *args: str, env: dict[str, str] | None = None,
            timeout: float = 120) -> subprocess.CompletedProcess[str]:
    """``pgroll-dsl ARGS`` from ``cwd``; never a traceback."""
    environment = {k: v for k, v in os.environ.items()
                   if not k.startswith(("PGROLL_", "PGCONNECT", "PGSERVICE"))}
    environment["PYTHONPATH"] = str(REPO)
    environment.update(env or {})
    done = subprocess.run([sys.executable, "-m", "pgroll_dsl", *args], cwd=cwd,
                          capture_output=True, text=True, env=environment, timeout=timeout,
                          check=False)
    assert "Traceback" not in done.stderr, done.stderr
    return done


def popen_cli(cwd: Path, *args: str) -> subprocess.Popen[str]:
    environment = {k: v for k, v in os.environ.items() if not k.startswith("PGROLL_")}
    environment["PYTHONPATH"] = str(REPO)
    return subprocess.Popen([sys.executable, "-m", "pgroll_dsl", *args], cwd=cwd, text=True,
                            env=environment, stdout=subprocess.PIPE, stderr=subprocess.PIPE)


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


# ---- complete's lock step ----------------------------------------------------------------------

def _chain_of_readers(dsn: str, relation: str, stop: threading.Event) -> list[threading.Thread]:
    """Two clients whose transactions overlap: at every moment one of them has read
    ``relation`` and holds it (each transaction lasts 0.15 s, the second starts 0.075 s after
    the first). Errors (the view made again by complete) are let pass."""
    def loop(offset: float) -> None:
        with psycopg.connect(dsn, autocommit=True) as conn:
            time.sleep(offset)
            while not stop.is_set():
                try:
                    with conn.transaction():
                        conn.execute(f"SELECT count(*) FROM {relation}").fetchall()
                        time.sleep(0.15)
                except psycopg.Error:
                    time.sleep(0.01)
    threads = [threading.Thread(target=loop, args=(o,), daemon=True) for o in (0.0, 0.075)]
    for thread in threads:
        thread.start()
    return threads


@pytest.mark.parametrize("reader", [
    "of the table, no view",
    "of a view of the column",
])
def test_complete_gets_its_locks_under_a_stream_of_overlapping_readers(
        pg_conn: Connection, dsn: str, reader: str) -> None:
    pg_conn.execute("CREATE TABLE t (id int PRIMARY KEY, v int);"
                    "INSERT INTO t SELECT g, g FROM generate_series(1, 50) g;")
    relation = "t"
    if "view" in reader.split(" no ")[0]:
        pg_conn.execute("CREATE VIEW tv AS SELECT id, v FROM t")
        relation = "tv"
    runner = make_runner(dsn)
    try:
        runner.start(migration(REWRITE_V, "02_v"))
    finally:
        runner.close()
    stop = threading.Event()
    threads = _chain_of_readers(dsn, relation, stop)
    time.sleep(0.4)
    runner = Runner(RunOptions(session=Session(url=dsn, lock_timeout_ms=300, retries=3,
                                               holder_wait_s=0.5)))
    try:
        began = time.monotonic()
        runner.complete()
        took = time.monotonic() - began
    finally:
        runner.close()
        stop.set()
        for thread in threads:
            thread.join(10)
    assert took < 5
    assert one(pg_conn, "SELECT format_type(atttypid, NULL) FROM pg_attribute WHERE "
               "attrelid = 't'::regclass AND attname = 'v'") == ("bigint",)


def _lock_step_sql(plan: Any) -> str:
    steps = [s for s in plan.complete if s.summary.startswith("lock ")]
    assert len(steps) == 1, [s.summary for s in plan.complete]
    return str(steps[0].sql)


_VIEW_ROWS = """
    SELECT c.oid::regclass::text, c.xmin::text, c.relowner, c.relacl::text, c.reloptions::text,
      (SELECT array_agg(ARRAY[s.refobjid::text, s.deptype::text] ORDER BY s.refobjid, s.deptype)
         FROM pg_shdepend s WHERE s.classid = 'pg_class'::regclass AND s.objid = c.oid)::text,
      (SELECT array_agg(d.xmin::text ORDER BY d.xmin::text) FROM pg_depend d
         JOIN pg_rewrite r ON r.oid = d.objid WHERE r.ev_class = c.oid)::text
    FROM pg_class c WHERE c.relkind = 'v' AND (SELECT n.nspname FROM pg_namespace n
      WHERE n.oid = c.relnamespace) IN ('public', 'Other "sch" x') ORDER BY 1"""


def test_the_lock_step_changes_nothing_in_the_catalog_and_locks_only_views_and_tables(
        pg_conn: Connection, dsn: str) -> None:
    """The lock step's ALTER VIEW ... OWNER TO its owner: every view of the column (one owned
    by another role and granted to it, a security_barrier view WITH CHECK OPTION in another
    schema, a view built on a view, a join with a table the migration leaves alone) keeps its
    pg_class row (same xmin), owner, ACL, options and dependencies; each is locked ACCESS
    EXCLUSIVE with the table, the untouched table is not."""
    owner = _role(pg_conn, f"view owner {pg_conn.info.backend_pid}")
    try:
        pg_conn.execute(f"""
            CREATE TABLE t (id int PRIMARY KEY, v int, cid int);
            CREATE TABLE c (id int PRIMARY KEY, name text);
            CREATE SCHEMA "Other ""sch"" x";
            CREATE VIEW tv AS SELECT id, v FROM t;
            GRANT SELECT ON t, c TO {owner};
            ALTER VIEW tv OWNER TO {owner};
            GRANT SELECT ON tv TO PUBLIC;
            CREATE VIEW "Other ""sch"" x".guarded WITH (security_barrier) AS
              SELECT id, v FROM t WHERE v > 0 WITH CHECK OPTION;
            CREATE VIEW on_view AS SELECT id FROM tv WHERE v < 100;
            CREATE VIEW joined AS SELECT t.id, t.v, c.name FROM t JOIN c ON c.id = t.cid;
        """)
        runner = make_runner(dsn)
        try:
            plan = runner.start(migration(REWRITE_V, "02_v"))
            sql = _lock_step_sql(plan)
            before = query(pg_conn, _VIEW_ROWS)
            with psycopg.connect(dsn, autocommit=True) as conn:
                conn.execute("SET lock_timeout = '500ms'")
                with conn.transaction():
                    conn.execute(sql)
                    during = query(conn, _VIEW_ROWS)
                    locked = query(conn, "SELECT relation::regclass::text, mode FROM pg_locks "
                                   "WHERE pid = pg_backend_pid() AND locktype = 'relation' "
                                   "AND mode = 'AccessExclusiveLock' ORDER BY 1")
                    raise psycopg.Rollback()
            assert during == before
            assert len(before) == 4
            assert {r[0] for r in locked} == {"t", "tv", "on_view", "joined",
                                              '"Other ""sch"" x".guarded'}
            runner.complete()
        finally:
            runner.close()
        assert one(pg_conn, "SELECT pg_get_userbyid(relowner) FROM pg_class WHERE oid = "
                   "'tv'::regclass") == (owner[1:-1].replace('""', '"'),)
        assert query(pg_conn, "SELECT g.grantee, g.privilege_type FROM pg_class c, "
                     "aclexplode(c.relacl) g WHERE c.oid = 'tv'::regclass AND g.grantee = 0"
                     ) == [(0, "SELECT")]
        assert one(pg_conn, "SELECT count(*) FROM \"Other \"\"sch\"\" x\".guarded")[0] == 0
        assert sqlstate(pg_conn, "INSERT INTO \"Other \"\"sch\"\" x\".guarded VALUES (1, -1)") \
            == "44000"
    finally:
        _drop(pg_conn, owner)


def sqlstate(conn: Connection, statement: str) -> str | None:
    try:
        with conn.transaction():
            conn.execute(statement)
    except psycopg.Error as err:
        return err.sqlstate
    return None


OWNERS = [
    "member of the owner",
    "not a member",
    # (a view made again failed here with a bare 'permission denied for schema public',
    # naming neither the view nor its owner nor the right)
    "member, the owner may not create in the schema",
]


@pytest.mark.parametrize("case", OWNERS)
def test_a_view_owned_by_another_role_and_a_migrator_that_is_not_a_superuser(
        pg_conn: Connection, dsn: str, case: str) -> None:
    """The table's owner runs the migration; the view of the column belongs to a role that
    may only read the table. A member of that role completes (the view keeps its owner); a
    non-member is stopped at the lock step with a message naming the view, its owner and
    what to do, and nothing changed (rollback still works); where the owner may not create
    in the view's schema, complete either completes or says which view and which right."""
    migrator = f"migrator_{pg_conn.info.backend_pid}"
    reader = _role(pg_conn, f"Reader {pg_conn.info.backend_pid}")
    member = case != "not a member"
    try:
        with owner_of_t(pg_conn, dsn, migrator, 20) as as_migrator:
            pg_conn.execute(f"GRANT SELECT ON t TO {reader};"
                            "CREATE VIEW tv AS SELECT id, v FROM t;"
                            f"ALTER VIEW tv OWNER TO {reader}")
            if member:
                pg_conn.execute(f'GRANT {reader} TO "{migrator}"')
            if case == "member of the owner":
                pg_conn.execute(f"GRANT CREATE ON SCHEMA public TO {reader}")
            runner = make_runner(as_migrator)
            try:
                runner.start(migration(REWRITE_V, "02_v"))
                if member:
                    try:
                        runner.complete()
                    except (PartialFailure, CommandError) as err:
                        said = str(err)
                        assert "complete cannot make view tv again" in said, said
                        assert "may not create in schema public" in said, said
                        runner.rollback()
                        return
                else:
                    with pytest.raises((PartialFailure, CommandError)) as failed:
                        runner.complete()
                    said = str(failed.value)
                    assert "complete cannot carry view tv over to the new column" in said, said
                    assert "may not change it" in said, said
                    runner.rollback()
            finally:
                runner.close()
            assert one(pg_conn, "SELECT format_type(atttypid, NULL), pg_get_userbyid(relowner) "
                       "FROM pg_attribute JOIN pg_class ON oid = attrelid WHERE attrelid = "
                       "'tv'::regclass AND attname = 'v'") == (
                "bigint" if member else "integer", reader.strip('"'))
    finally:
        _drop(pg_conn, reader)


def test_altering_a_view_of_another_schema_records_no_inferred_migration(
        pg_conn: Connection, dsn: str) -> None:
    """pgroll's ddl_command_end event trigger (init as the superuser installs it) sees the
    lock step's ALTER VIEW of a view in a schema no migration runs on: the run's
    pgroll.no_inferred_migrations keeps it from recording an inferred migration there."""
    pg_conn.execute("CREATE TABLE t (id int PRIMARY KEY, v int); CREATE SCHEMA reports;"
                    "CREATE VIEW reports.tv AS SELECT id, v FROM t;")
    runner = make_runner(dsn)
    try:
        assert one(pg_conn, "SELECT count(*) FROM pg_event_trigger WHERE evtname = "
                   "'pg_roll_handle_ddl'") == (1,)
        runner.start(migration(REWRITE_V, "02_v"))
        runner.complete()
    finally:
        runner.close()
    assert query(pg_conn, "SELECT schema, name, migration_type FROM pgroll.migrations "
                 "WHERE schema <> 'public' OR migration_type = 'inferred'") == []
    # The event trigger itself is armed: DDL of the user's in that schema is recorded.
    pg_conn.execute("ALTER VIEW reports.tv OWNER TO CURRENT_USER")
    assert one(pg_conn, "SELECT count(*) FROM pgroll.migrations WHERE schema = 'reports'"
               ) == (1,)


# ---- complete's rights step -------------------------------------------------------------------

def test_a_column_right_granted_or_revoked_on_the_rewritten_column_during_the_migration(
        pg_conn: Connection, dsn: str) -> None:
    """A column privilege of a rewritten column granted, and one revoked, while the
    migration ran: start had copied them to the new column once, and complete dropped the
    old column with what changed since: the grant was lost, the revoke undone (the role
    could update the column again). Complete now gives the copy the old column's privileges
    as they are then."""
    late = _role(pg_conn, f'Late "role" {pg_conn.info.backend_pid}')
    early = _role(pg_conn, f"early_{pg_conn.info.backend_pid}")
    try:
        pg_conn.execute(f"""
            CREATE TABLE people (id int PRIMARY KEY, email varchar(100), note text);
            INSERT INTO people VALUES (1, 'a@x', NULL);
            GRANT SELECT ON people TO {late}, {early};
            GRANT UPDATE (email) ON people TO {early};
        """)
        runner = make_runner(dsn)
        try:
            runner.start(migration("alter table people alter email type varchar(200) "
                                   "up `lower(email)` down `email`;", "02_e"))
            pg_conn.execute(f"GRANT UPDATE (email) ON people TO {late}")
            pg_conn.execute(f"REVOKE UPDATE (email) ON people FROM {early}")
            runner.complete()
        finally:
            runner.close()
        got = {(role, target): _as(pg_conn, role, f"UPDATE {target} SET email = 'x' "
                                   "WHERE id = 1 RETURNING id")
               for role in (late, early) for target in ("people", "public_02_e.people")}
        assert got == {(late, "people"): [(1,)], (late, "public_02_e.people"): [(1,)],
                       (early, "people"): "42501", (early, "public_02_e.people"): "42501"}
    finally:
        _drop(pg_conn, late, early)


@pytest.mark.parametrize("case", ["raw sql", "rewrite", "no version schema"])
def test_rights_granted_while_the_migration_runs_to_public_quoted_and_grantable_roles(
        pg_conn: Connection, dsn: str, case: str) -> None:
    """Granted after start: SELECT to PUBLIC on one table, every right WITH GRANT OPTION to
    a role whose name needs quoting, USAGE on the schema; a role granted and then dropped
    meanwhile leaves nothing behind. After complete the new version's views let each do what
    the table lets it (the grant option too); without a version schema complete has no
    rights step and nothing fails."""
    odd = _role(pg_conn, f'App "x"; DROP {pg_conn.info.backend_pid}')
    gone = _role(pg_conn, f"gone_{pg_conn.info.backend_pid}")
    other = _role(pg_conn, f"other_{pg_conn.info.backend_pid}")
    try:
        pg_conn.execute("CREATE TABLE a (id int PRIMARY KEY, v int);"
                        "INSERT INTO a VALUES (1, 1);"
                        "CREATE TABLE b (id int PRIMARY KEY, w text);"
                        "INSERT INTO b VALUES (1, 'w');"
                        "REVOKE ALL ON SCHEMA public FROM PUBLIC;")
        text = {"raw sql": "sql up `ALTER TABLE a ADD COLUMN x int` "
                           "down `ALTER TABLE a DROP COLUMN x`;",
                "rewrite": "alter table a alter v type bigint up `v` down `v`;",
                "no version schema": "alter table a alter v type bigint up `v` down `v`;"}[case]
        runner = make_runner(dsn, version_schema=case != "no version schema")
        try:
            plan = runner.start(migration(text, "02_x"))
            pg_conn.execute(f"""
                GRANT USAGE ON SCHEMA public TO PUBLIC;
                GRANT SELECT ON b TO PUBLIC;
                GRANT ALL ON a TO {odd} WITH GRANT OPTION;
                GRANT SELECT ON a, b TO {gone};
            """)
            _drop(pg_conn, gone)
            runner.complete()
        finally:
            runner.close()
        if case == "no version schema":
            assert not [s for s in plan.complete if "rights granted" in s.summary]
            assert one(pg_conn, "SELECT to_regnamespace('public_02_x')") == (None,)
            return
        version = "public_02_x"
        assert _as(pg_conn, other, f"SELECT w FROM {version}.b") == [("w",)]
        assert _as(pg_conn, other, f"SELECT v FROM {version}.a") == "42501"
        assert _as(pg_conn, odd, f"UPDATE {version}.a SET v = 2 RETURNING v") == [(2,)]
        assert _as(pg_conn, odd, f"GRANT SELECT ON {version}.a TO {other}") == []
        assert one(pg_conn, "SELECT count(*) FROM pg_class c, aclexplode(c.relacl) g "
                   "WHERE c.relnamespace = 'public_02_x'::regnamespace AND g.grantee <> 0 "
                   "AND g.grantee NOT IN (SELECT oid FROM pg_roles)") == (0,)
    finally:
        _drop(pg_conn, odd, other)


# ---- connect_timeout ---------------------------------------------------------------------------



def _key_value(dsn: str, **extra: str) -> str:
    params = {k: str(v) for k, v in conninfo_to_dict(dsn).items()}
    params.update(extra)
    return " ".join(f"{k}='{v}'" for k, v in params.items())


def test_connection_strings_that_set_connect_timeout_themselves(
        tmp_path: Path, dsn: str, pg_conn: Connection) -> None:
    """connect_timeout=0 (libpq: wait as long as it takes) in a URL and in a key=value string,
    and a service file, still connect: init, start with two backfill workers, status and
    complete. The URL's own bound, not the default 10 s, is what counts."""
    write(tmp_path / "m" / "01_t.pgroll", "create table t (id int primary key, v int);\n")
    write(tmp_path / "m" / "02_v.pgroll", "alter table t alter v type bigint up `v` down `v`;\n")
    url = make_conninfo(dsn, connect_timeout="0")
    url_form = "postgresql://{user}@{host}:{port}/{dbname}?connect_timeout=0".format(
        **conninfo_to_dict(dsn))
    params = conninfo_to_dict(dsn)
    service = write(tmp_path / "services.conf",
                    "[review]\n" + "".join(f"{k}={v}\n" for k, v in params.items()))
    env = {"PGSERVICEFILE": str(service)}
    assert run_cli(tmp_path, "init", "--postgres-url", url_form).returncode == 0
    started = run_cli(tmp_path, "start", "m/01_t.pgroll", "--complete", "--postgres-url", url)
    assert started.returncode == 0, started.stderr
    pg_conn.execute("INSERT INTO t SELECT g, g FROM generate_series(1, 500) g")
    started = run_cli(tmp_path, "start", "m/02_v.pgroll", "--backfill-workers", "2",
                      "--postgres-url", _key_value(dsn, connect_timeout="0"))
    assert started.returncode == 0, started.stderr
    status = run_cli(tmp_path, "status", "--postgres-url", "service=review", env=env)
    assert status.returncode == 0 and "02_v" in status.stdout, (status.stdout, status.stderr)
    done = run_cli(tmp_path, "complete", "--postgres-url", "service=review", env=env)
    assert done.returncode == 0, done.stderr
    assert one(pg_conn, "SELECT count(*), sum(v) FROM t") == (500, 125250)


def test_the_urls_own_connect_timeout_bounds_the_wait_for_a_silent_server(
        tmp_path: Path, silent_server: int) -> None:
    """connect_timeout=2 in a key=value string: a server that never answers is given up
    after about 2 s (psycopg's least), not the default 10 s; exit 2."""
    began = time.monotonic()
    result = run_cli(tmp_path, "status", "--postgres-url",
                     f"host=127.0.0.1 port={silent_server} dbname=shop user=app connect_timeout=2",
                     timeout=30)
    took = time.monotonic() - began
    assert result.returncode == 2, result.stderr
    assert took < 8, took


def test_a_service_files_connect_timeout_bounds_the_wait_for_a_silent_server(
        tmp_path: Path, silent_server: int) -> None:
    """connect_timeout=2 in the connection service file's section that the URL names: psycopg
    bounds the wait itself and reads no service file, so the default 10 s applied."""
    services = write(tmp_path / "services.conf",
                     f"[silent]\nhost=127.0.0.1\nport={silent_server}\ndbname=shop\n"
                     "user=app\nconnect_timeout=2\n")
    began = time.monotonic()
    result = run_cli(tmp_path, "status", "--postgres-url", "service=silent",
                     env={"PGSERVICEFILE": str(services)}, timeout=30)
    took = time.monotonic() - began
    assert result.returncode == 2, result.stderr
    assert took < 8, took


def test_which_services_set_connect_timeout(tmp_path: Path,
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    from pgroll_dsl.backends.conninfo import CONNECT_TIMEOUT_S, connect_timeout
    services = write(tmp_path / "services.conf",
                     "[set]\nhost=h\nconnect_timeout=3\n[unset]\nhost=h\n")
    monkeypatch.setenv("PGSERVICEFILE", str(services))
    monkeypatch.delenv("PGCONNECT_TIMEOUT", raising=False)
    monkeypatch.delenv("PGSERVICE", raising=False)
    default = {"connect_timeout": CONNECT_TIMEOUT_S}
    assert connect_timeout("service=set") == {"connect_timeout": "3"}
    assert connect_timeout("service=set connect_timeout=5") == {}  # the URL's own
    assert connect_timeout("service=unset") == default
    assert connect_timeout("service=missing") == default
    assert connect_timeout("host=h") == default
    monkeypatch.setenv("PGSERVICE", "set")
    assert connect_timeout("host=h") == {"connect_timeout": "3"}
    monkeypatch.setenv("PGSERVICEFILE", str(tmp_path / "absent.conf"))
    assert connect_timeout("service=set") == default


# ---- migrate under the run lock ----------------------------------------------------------------

def _project(tmp_path: Path) -> None:
    write(tmp_path / "m" / "01_t.pgroll", "create table t (id int primary key, v int);\n")
    write(tmp_path / "m" / "02_w.pgroll", "alter table t add column w int;\n")
    write(tmp_path / "m" / "03_v.pgroll",
          "alter table t alter v set not null up `coalesce(v, 0)`;\n")


def _history(conn: Connection) -> list[tuple[Any, ...]]:
    return query(conn, "SELECT name, done FROM pgroll.migrations WHERE schema = 'public' "
                 "ORDER BY created_at, name")


@pytest.mark.parametrize("attempt", [1, 2, 3])
def test_two_migrate_runs_racing(tmp_path: Path, dsn: str, pg_conn: Connection,
                                 attempt: int) -> None:
    """Two ``migrate m --complete`` at once: one applies the three files, the other is
    refused by the run lock (exit 1) or finds nothing left to do (exit 0); each file is
    applied once."""
    _project(tmp_path)
    assert run_cli(tmp_path, "init", "--postgres-url", dsn).returncode == 0
    runs = [popen_cli(tmp_path, "migrate", "m", "--complete", "--postgres-url", dsn)
            for _ in range(2)]
    results = []
    for process in runs:
        out, err = process.communicate(timeout=120)
        results.append((process.returncode, out, err))
    assert all("Traceback" not in err for _, _, err in results), results
    ok = [(out, err) for code, out, err in results if code == 0]
    refused = [err for code, _, err in results if code == 1]
    assert len(ok) + len(refused) == 2, results
    assert len(ok) >= 1, results
    assert all("another pgroll-dsl run is working on schema" in err for err in refused), results
    if len(ok) == 2:
        assert any("up to date" in out for out, _ in ok), results
    assert _history(pg_conn) == [("01_t", True), ("02_w", True), ("03_v", True)]


def test_migrate_racing_complete(tmp_path: Path, dsn: str, pg_conn: Connection) -> None:
    """``migrate m`` (the last file left active) and ``complete`` at once: complete is
    refused by the run lock or finds nothing active (exit 1) or completes the last file once
    migrate is done, or migrate is refused by complete's run lock (exit 1) and nothing is
    applied; never a half-done history."""
    _project(tmp_path)
    assert run_cli(tmp_path, "init", "--postgres-url", dsn).returncode == 0
    migrate = popen_cli(tmp_path, "migrate", "m", "--postgres-url", dsn)
    time.sleep(0.3)
    complete = popen_cli(tmp_path, "complete", "--postgres-url", dsn)
    m_out, m_err = migrate.communicate(timeout=120)
    _, c_err = complete.communicate(timeout=120)
    m_code, c_code = migrate.returncode, complete.returncode
    assert "Traceback" not in c_err + m_err
    if m_code != 0:  # complete held the run lock (finding nothing active) as migrate began
        assert m_code == 1 and "another pgroll-dsl run is working on schema" in m_err, m_err
        assert c_code == 1 and "no active migration" in c_err, c_err
        assert _history(pg_conn) == []
        return
    if c_code == 0:
        assert _history(pg_conn)[-1] == ("03_v", True)
    else:
        assert c_code == 1 and any(m in c_err for m in (
            "another pgroll-dsl run is working on schema", "no active migration")), c_err
        assert _history(pg_conn) == [("01_t", True), ("02_w", True), ("03_v", False)]


def test_migrate_with_complete_beside_an_active_migration_changes_nothing(
        tmp_path: Path, dsn: str, pg_conn: Connection) -> None:
    """An active migration (started by hand): ``migrate m --complete`` says it is active,
    exits 0 and neither completes it nor starts the files after it."""
    _project(tmp_path)
    assert run_cli(tmp_path, "init", "--postgres-url", dsn).returncode == 0
    assert run_cli(tmp_path, "start", "m/01_t.pgroll", "--postgres-url", dsn).returncode == 0
    result = run_cli(tmp_path, "migrate", "m", "--complete", "--postgres-url", dsn)
    assert (result.returncode, result.stdout) == (0, 'migration "01_t" is active\n')
    assert _history(pg_conn) == [("01_t", False)]


# ---- start's warning about UPDATE OF triggers --------------------------------------------------

def _warnings_of_start(dsn: str, text: str) -> list[str]:
    said: list[str] = []
    runner = make_runner(dsn, on_message=said.append)
    try:
        runner.start(migration(text, "02_x"))
        runner.rollback()
    finally:
        runner.close()
    return sorted(s for s in said if s.startswith("warning: trigger"))


def test_update_of_warning_hostile_names_constraint_triggers_and_several_columns(
        pg_conn: Connection, dsn: str) -> None:
    """Trigger names with quotes, a percent sign and a line break; a constraint trigger; a
    trigger on two rewritten columns (named once per column); pgroll's own and a trigger on
    a column left alone are not named."""
    pg_conn.execute("""
        CREATE TABLE t (id int PRIMARY KEY, a int, b int, c int);
        CREATE FUNCTION nothing() RETURNS trigger LANGUAGE plpgsql AS
          $$BEGIN RETURN NULL; END$$;
        CREATE TRIGGER "x"" %s %
y" AFTER UPDATE OF a ON t FOR EACH ROW EXECUTE FUNCTION nothing();
        CREATE CONSTRAINT TRIGGER "Deferred" AFTER UPDATE OF a, b ON t
          DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION nothing();
        CREATE TRIGGER on_c AFTER UPDATE OF c ON t FOR EACH ROW EXECUTE FUNCTION nothing();
    """)
    said = _warnings_of_start(dsn, "alter table t alter a type bigint up `a` down `a`;\n"
                                   "alter table t alter b type bigint up `b` down `b`;")
    tail = ": until complete a write through the new version sets the new column and does " \
           "not fire it (complete carries it over)"
    assert said == [
        f'warning: trigger "Deferred" of table "public"."t" fires on UPDATE OF b{tail}',
        f'warning: trigger "Deferred", "x"" %s %\ny" of table "public"."t" fires on UPDATE '
        f"OF a{tail}"]


def test_update_of_warning_names_a_trigger_of_a_partition(pg_conn: Connection,
                                                          dsn: str) -> None:
    pg_conn.execute("""
        CREATE TABLE t (id int, v int, PRIMARY KEY (id)) PARTITION BY RANGE (id);
        CREATE TABLE t_low PARTITION OF t FOR VALUES FROM (0) TO (100);
        CREATE TABLE t_high PARTITION OF t FOR VALUES FROM (100) TO (200);
        INSERT INTO t VALUES (1, 1), (150, 150);
        CREATE TABLE log (id int);
        CREATE FUNCTION logged() RETURNS trigger LANGUAGE plpgsql AS
          $$BEGIN INSERT INTO log VALUES (NEW.id); RETURN NULL; END$$;
        CREATE TRIGGER on_parent AFTER UPDATE OF v ON t FOR EACH ROW EXECUTE FUNCTION logged();
        CREATE TRIGGER on_low AFTER UPDATE OF v ON t_low FOR EACH ROW EXECUTE FUNCTION logged();
    """)
    said = _warnings_of_start(dsn, REWRITE_V)
    tail = (" fires on UPDATE OF v: until complete a write through the new version sets the "
            "new column and does not fire it (complete carries it over)")
    assert said == [f'warning: trigger on_low of table "public"."t_low"{tail}',
                    f'warning: trigger on_parent of table "public"."t"{tail}'], said


def test_a_new_version_write_through_a_partition_misses_its_own_update_of_trigger(
        pg_conn: Connection, dsn: str) -> None:
    """What the warning is about, for a trigger of a partition: a new-version write routed
    to the partition does not fire it until complete; after complete it fires."""
    pg_conn.execute("""
        CREATE TABLE t (id int, v int, PRIMARY KEY (id)) PARTITION BY RANGE (id);
        CREATE TABLE t_low PARTITION OF t FOR VALUES FROM (0) TO (100);
        INSERT INTO t VALUES (1, 1), (2, 2);
        CREATE TABLE log (id int);
        CREATE FUNCTION logged() RETURNS trigger LANGUAGE plpgsql AS
          $$BEGIN INSERT INTO log VALUES (NEW.id); RETURN NULL; END$$;
        CREATE TRIGGER on_low AFTER UPDATE OF v ON t_low FOR EACH ROW EXECUTE FUNCTION logged();
    """)
    runner = make_runner(dsn)
    try:
        runner.start(migration(REWRITE_V, "02_v"))
        with client(dsn, "public_02_v") as new:
            new.execute("UPDATE t SET v = 10 WHERE id = 1")
        assert query(pg_conn, "SELECT id FROM log") == []
        runner.complete()
    finally:
        runner.close()
    with client(dsn, "public_02_v") as new:
        new.execute("UPDATE t SET v = 20 WHERE id = 2")
    assert query(pg_conn, "SELECT id FROM log") == [(2,)]
