"""Review of the executor's state and locking when several things share one database.

Two target schemas in one state schema, two state schemas over one target schema, a foreign
key from a table of one schema to a table of another, ``init`` while another schema's run is
active, hostile names for schemas and state schemas, and what pgroll expects of its state
after our runs. Everything runs through the real command line; the data is checked
afterwards (rows, columns, views, the state tables), not only exit codes.

Found and fixed (each test failed before): a failed start (or a rollback) dropped a schema
that was not its own when the version schema's name was an existing schema's (``a`` +
migration ``b`` is ``a_b``): start now refuses such a name, and no drop of a version schema
takes anything but views along (a table an application made there, with its search_path on
its version, was dropped by rollback or the next complete); two state schemas over one
target schema neither excluded each other's runs nor saw each other's active migration (nor
did two spellings of one name that PostgreSQL cuts to the same 63 bytes): the run lock is
the target schema's, as PostgreSQL keeps its name, and start refuses a schema with another
migration's objects; a ``%`` or ``$$`` in a state schema's name failed ``init``.
Left (``xfail``, strict): ``init`` of a second state schema takes the database's event
triggers from the first; a key column retyped in one schema with a foreign key from another
schema wedges complete; a column retyped with a foreign key to another schema fails start.

Held: two target schemas in one state started, completed, rolled back and SIGKILLed in
their backfills (with workers) at once, in each pairing of recoveries; a second run of a
schema refused while another schema runs; DDL by hand on one schema recorded as its own
inferred migrations while the other migrates; ``init`` upgrading an older state layout
during another schema's backfill; pgroll's table shape and helper functions afterwards;
quoted, upper-case, unicode, 63-byte and ``placeholder`` names; schemas joined by a
foreign key migrated at once when no key column is retyped.
"""

from __future__ import annotations

import json
import subprocess
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import psycopg
import pytest
from psycopg import sql

from pgroll_dsl.catalog.fingerprint import canonical, drift
from pgroll_dsl.catalog.model import (
    Catalog,
    Column,
    Constraint,
    ForeignKey,
    InboundForeignKey,
    Table,
)
from pgroll_dsl.frontend.snapshot import load_snapshot
from pgroll_dsl.ir import ConstraintType
from pgroll_dsl.render.snapshot import dump_snapshot
from tests.fault_model import (
    CliResult,
    cli,
    cli_popen,
    internal_leftovers,
    no_traceback,
    schema_exists,
    write_file,
)
from tests.live_helpers import Connection, one, query

pytestmark = pytest.mark.postgres

SETUP = "create table t (id bigint primary key, v int not null);\n"
CHANGE = "alter table t add w int not null up `v * 2`;\n"
LATER = "alter table t add x int up `v + 1`;\n"
ROWS = 30
KILL = "PGROLL_DSL_KILL_AT"


# --- helpers -----------------------------------------------------------------------------------

def _ident(*names: str) -> str:
    return ".".join('"' + n.replace('"', '""') + '"' for n in names)


def _flags(schema: str = "public", state: str = "pgroll") -> list[str]:
    return ["--schema", schema, "--pgroll-schema", state]


def _ok(result: CliResult) -> CliResult:
    assert result.returncode == 0, result.describe()
    assert no_traceback(result) is None, result.describe()
    return result


def _prepared(conn: Connection, dsn: str, tmp_path: Path, schema: str = "public",
              state: str = "pgroll", rows: int = ROWS, init: bool = True) -> None:
    """``schema`` made (unless it exists), ``init``, ``01_setup`` completed, ``rows`` rows."""
    conn.execute(f"CREATE SCHEMA IF NOT EXISTS {_ident(schema)}")
    if init:
        _ok(cli(["init", *_flags(schema, state)], dsn))
    _ok(cli(["start", "--complete", str(write_file(tmp_path, "01_setup", SETUP)),
             *_flags(schema, state)], dsn))
    conn.execute(f"INSERT INTO {_ident(schema, 't')} SELECT g, g FROM "
                 f"generate_series(1, {rows}) g")
    conn.execute(f"ANALYZE {_ident(schema, 't')}")


def _columns(conn: Connection, schema: str, table: str = "t") -> list[str]:
    return [str(r[0]) for r in query(
        conn, "SELECT attname FROM pg_attribute WHERE attrelid = to_regclass(%s) "
        "AND attnum > 0 AND NOT attisdropped ORDER BY attnum", (_ident(schema, table),))]


def _rows(conn: Connection, schema: str, table: str = "t") -> list[tuple[Any, ...]]:
    names = [c for c in _columns(conn, schema, table) if not c.startswith("_pgroll")]
    assert names, f"{schema}.{table} is gone"
    listed = sql.SQL(", ").join(sql.Identifier(c) for c in names)
    return conn.execute(sql.SQL("SELECT {} FROM {} ORDER BY 1").format(
        listed, sql.Identifier(schema, table))).fetchall()


def _history(conn: Connection, state: str = "pgroll") -> list[tuple[Any, ...]]:
    """(schema, name, parent, done, type) of every row of the state, in history order."""
    return query(conn, f"SELECT schema::text, name, parent, done, migration_type FROM "
                 f"{_ident(state, 'migrations')} ORDER BY schema, created_at, name")


def _completed(conn: Connection, schema: str, rows: int = ROWS) -> None:
    """``02_change`` is complete on ``schema``: every row has w = 2v, through the table and
    its new version's view; no helper left; the old version schema gone."""
    assert _columns(conn, schema) == ["id", "v", "w"]
    assert _rows(conn, schema) == [(i, i, 2 * i) for i in range(1, rows + 1)]
    assert _rows(conn, f"{schema}_02_change") == [(i, i, 2 * i) for i in range(1, rows + 1)]
    assert not schema_exists(conn, f"{schema}_01_setup")
    assert internal_leftovers(conn, schema) == []


def _rolled_back(conn: Connection, schema: str, rows: int = ROWS) -> None:
    """``02_change`` is rolled back on ``schema``: the table as it was, its old version
    schema still there, no new version schema, no helper left."""
    assert _columns(conn, schema) == ["id", "v"]
    assert _rows(conn, schema) == [(i, i) for i in range(1, rows + 1)]
    assert _rows(conn, f"{schema}_01_setup") == [(i, i) for i in range(1, rows + 1)]
    assert not schema_exists(conn, f"{schema}_02_change")
    assert internal_leftovers(conn, schema) == []


def _wait(condition: Callable[[], bool], seconds: float = 30.0) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.02)


def _finished(process: subprocess.Popen[str], timeout: float = 90.0) -> CliResult:
    stdout, stderr = process.communicate(timeout=timeout)
    return CliResult([str(a) for a in process.args], process.returncode,  # type: ignore[union-attr]
                     stdout, stderr, 0.0)


def _slow(schema: str, state: str = "pgroll") -> list[str]:
    """A start that backfills a row per batch with a pause: it runs for a while."""
    return [*_flags(schema, state), "--backfill-batch-size", "1", "--backfill-batch-time", "0",
            "--backfill-batch-delay", "0.05"]


def _detail(dsn: str, schema: str, state: str = "pgroll") -> Any:
    result = _ok(cli(["status", "--detail", *_flags(schema, state)], dsn))
    return json.loads(result.stdout)["progress"]


def _run_lock_held(conn: Connection, count: int = 1) -> Callable[[], bool]:
    """Whether ``count`` sessions of this database hold a run lock (an exclusive advisory
    lock: the backfill workers' are shared)."""
    def held() -> bool:
        found = one(conn, "SELECT count(DISTINCT pid) FROM pg_locks WHERE locktype = "
                    "'advisory' AND granted AND mode = 'ExclusiveLock' AND database = "
                    "(SELECT oid FROM pg_database WHERE datname = current_database())")[0]
        return int(found) >= count
    return held


# --- two target schemas in one state schema ----------------------------------------------------

@pytest.mark.parametrize(("first", "second"), [
    ("complete", "complete"), ("complete", "rollback"), ("rollback", "complete"),
    ("rollback", "rollback")])
def test_two_schemas_started_and_ended_at_once(admin_dsn: str, pg_conn: Connection,
                                               tmp_path: Path, first: str,
                                               second: str) -> None:
    """``a`` and ``b`` start at once (slow backfills that overlap), then end at once, each
    its own way: each schema ends as its phase says, the history of each is its own."""
    for schema in ("a", "b"):
        _prepared(pg_conn, admin_dsn, tmp_path, schema)
    change = str(write_file(tmp_path, "02_change", CHANGE))
    started = [cli_popen(["start", change, *_slow(s)], admin_dsn) for s in ("a", "b")]
    _wait(_run_lock_held(pg_conn, 2))  # both run at the same time
    for process in started:
        _ok(_finished(process))
    with ThreadPoolExecutor(2) as pool:
        ended = list(pool.map(lambda job: cli([job[1], *_flags(job[0])], admin_dsn),
                              [("a", first), ("b", second)]))
    for result in ended:
        _ok(result)
    for schema, phase in (("a", first), ("b", second)):
        (_completed if phase == "complete" else _rolled_back)(pg_conn, schema)
    expected = [(s, n, p, True, "pgroll") for s, phase in (("a", first), ("b", second))
                for n, p in [("01_setup", None)] + ([("02_change", "01_setup")]
                                                    if phase == "complete" else [])]
    assert _history(pg_conn) == expected
    for schema, phase in (("a", first), ("b", second)):
        latest = one(pg_conn, "SELECT pgroll.latest_version(%s), "
                     "pgroll.is_active_migration_period(%s)", (schema, schema))
        assert latest == ("02_change" if phase == "complete" else "01_setup", False)


@pytest.mark.parametrize(("recover_a", "recover_b"), [
    ("start", "start"), ("start", "rollback"), ("rollback", "start"),
    ("rollback", "rollback")])
def test_two_schemas_killed_mid_backfill_at_once(admin_dsn: str, pg_conn: Connection,
                                                 tmp_path: Path, recover_a: str,
                                                 recover_b: str) -> None:
    """Both starts SIGKILLed in their backfill (with two workers each, which outlive the
    process), an old-version client writing meanwhile; then each recovered its own way, at
    once. The stray workers of each are stopped by its own recovery only, nothing written
    is lost, and each schema ends right."""
    for schema in ("a", "b"):
        _prepared(pg_conn, admin_dsn, tmp_path, schema)
    change = str(write_file(tmp_path, "02_change", CHANGE))
    killed = [cli_popen(["start", change, *_slow(s), "--backfill-workers", "2"], admin_dsn,
                        env={KILL: "backfill:4"}) for s in ("a", "b")]
    for process in killed:
        assert process.wait(timeout=90) == -9, _finished(process).describe()
    for schema in ("a", "b"):
        assert _detail(admin_dsn, schema)["state"] == "start interrupted"
        with psycopg.connect(admin_dsn, autocommit=True) as app:
            app.execute(f"SET search_path TO {_ident(schema + '_01_setup')}")
            app.execute("UPDATE t SET v = v + 1000 WHERE id = 5")
            app.execute("UPDATE t SET v = v - 1000 WHERE id = 5")  # back as it was
    recover = {"start": ["start", change], "rollback": ["rollback"]}
    with ThreadPoolExecutor(2) as pool:
        results = list(pool.map(lambda job: cli([*recover[job[1]], *_flags(job[0])],
                                                admin_dsn),
                                [("a", recover_a), ("b", recover_b)]))
    for result in results:
        _ok(result)
    for schema, how in (("a", recover_a), ("b", recover_b)):
        if how == "start":
            _ok(cli(["complete", *_flags(schema)], admin_dsn))
            _completed(pg_conn, schema)
        else:
            _rolled_back(pg_conn, schema)
        assert _detail(admin_dsn, schema) is None
    assert one(pg_conn, "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND "
               "database = (SELECT oid FROM pg_database WHERE datname = current_database())"
               )[0] == 0  # no worker of a killed run is left


def test_a_second_run_on_a_schema_is_refused_while_another_schema_runs(
        admin_dsn: str, pg_conn: Connection, tmp_path: Path) -> None:
    """While ``a``'s start runs, ``b`` starts (it may) and a second run of ``a`` is refused
    in one line naming the holder; ``a`` ends unharmed."""
    for schema in ("a", "b"):
        _prepared(pg_conn, admin_dsn, tmp_path, schema)
    change = str(write_file(tmp_path, "02_change", CHANGE))
    running = cli_popen(["start", change, *_slow("a")], admin_dsn)
    _wait(_run_lock_held(pg_conn))
    second = cli(["rollback", *_flags("a")], admin_dsn)
    assert second.returncode == 1, second.describe()
    assert 'another pgroll-dsl run is working on schema "a"' in second.stderr
    assert no_traceback(second) is None
    _ok(cli(["start", "--complete", change, *_flags("b")], admin_dsn))
    _ok(_finished(running))
    _ok(cli(["complete", *_flags("a")], admin_dsn))
    for schema in ("a", "b"):
        _completed(pg_conn, schema)


def test_ddl_outside_the_tool_on_one_schema_while_the_other_migrates(
        admin_dsn: str, pg_conn: Connection, tmp_path: Path) -> None:
    """The event triggers record DDL made by hand on ``b`` (an inferred migration of ``b``,
    after ``b``'s latest) while ``a``'s start runs and while ``a`` waits for complete, never
    the tool's own DDL, and never DDL on ``a`` while ``a`` is active (pgroll's rule)."""
    for schema in ("a", "b"):
        _prepared(pg_conn, admin_dsn, tmp_path, schema)
    change = str(write_file(tmp_path, "02_change", CHANGE))
    running = cli_popen(["start", change, *_slow("a")], admin_dsn)
    _wait(_run_lock_held(pg_conn))
    pg_conn.execute("ALTER TABLE b.t ADD COLUMN during_start int")
    _ok(_finished(running))
    pg_conn.execute("CREATE INDEX t_v_idx ON b.t (v)")
    pg_conn.execute("COMMENT ON TABLE a.t IS 'while a is active'")
    _ok(cli(["complete", *_flags("a")], admin_dsn))
    history = _history(pg_conn)
    a_rows = [r for r in history if r[0] == "a"]
    b_rows = [r for r in history if r[0] == "b"]
    assert a_rows == [("a", "01_setup", None, True, "pgroll"),
                      ("a", "02_change", "01_setup", True, "pgroll")]
    assert [r[4] for r in b_rows] == ["pgroll", "inferred", "inferred"]
    assert b_rows[1][2] == "01_setup" and b_rows[2][2] == b_rows[1][1]  # a linear history
    snapshot = one(pg_conn, "SELECT resulting_schema FROM pgroll.migrations WHERE name = %s",
                   (b_rows[2][1],))[0]
    assert "during_start" in snapshot["tables"]["t"]["columns"]
    assert "t_v_idx" in snapshot["tables"]["t"]["indexes"]
    # the inferred migrations leave b's version alone; a's is its own
    assert one(pg_conn, "SELECT pgroll.latest_version('a'), pgroll.latest_version('b'), "
               "pgroll.previous_version('a'), pgroll.latest_migration('a'), "
               "pgroll.previous_migration('a')") == (
        "02_change", "01_setup", None, "02_change", "01_setup")
    _completed(pg_conn, "a")


def test_init_upgrading_an_older_layout_while_another_schema_backfills(
        admin_dsn: str, pg_conn: Connection, tmp_path: Path) -> None:
    """A state of an older layout (no ``pgroll_version``, no ``previous_version``, no
    ``history_is_linear``, an older ``read_schema``), upgraded by ``init --schema a`` while
    ``b``'s start backfills: both go through, ``b``'s run records its steps and completes,
    and the state has every object again."""
    for schema in ("a", "b"):
        _prepared(pg_conn, admin_dsn, tmp_path, schema)
    change = str(write_file(tmp_path, "02_change", CHANGE))
    running = cli_popen(["start", change, *_slow("b")], admin_dsn)
    _wait(_run_lock_held(pg_conn))
    pg_conn.execute("DROP TABLE pgroll.pgroll_version; DROP FUNCTION pgroll.previous_version; "
                    "DROP INDEX pgroll.history_is_linear; CREATE OR REPLACE FUNCTION "
                    "pgroll.read_schema(schemaname text) RETURNS jsonb LANGUAGE sql STABLE "
                    "AS $$ SELECT jsonb_build_object('name', schemaname) $$")
    began = time.monotonic()
    _ok(cli(["init", *_flags("a")], admin_dsn))
    assert time.monotonic() - began < 20
    assert running.poll() is None  # the upgrade did not wait for b's run to end
    _ok(_finished(running))
    _ok(cli(["complete", *_flags("b")], admin_dsn))
    _completed(pg_conn, "b")
    assert one(pg_conn, "SELECT to_regclass('pgroll.pgroll_version') IS NOT NULL, "
               "to_regclass('pgroll.history_is_linear') IS NOT NULL, "
               "pgroll.previous_version('b')") == (True, True, None)
    snapshot = one(pg_conn, "SELECT resulting_schema FROM pgroll.migrations WHERE "
                   "schema = 'b' AND name = '02_change'")[0]
    assert set(snapshot["tables"]["t"]["columns"]) == {"id", "v", "w"}


def test_the_state_is_what_pgroll_expects_after_our_runs(admin_dsn: str, pg_conn: Connection,
                                                         tmp_path: Path) -> None:
    """pgroll's state (spec §9): the ``migrations`` table's columns and types, its indexes,
    and the helper functions' answers, for two schemas of one state, one active."""
    for schema in ("a", "b"):
        _prepared(pg_conn, admin_dsn, tmp_path, schema)
    change = str(write_file(tmp_path, "02_change", CHANGE))
    _ok(cli(["start", "--complete", change, *_flags("a")], admin_dsn))
    _ok(cli(["start", change, *_flags("b")], admin_dsn))
    shape = query(pg_conn, "SELECT attname::text, format_type(atttypid, atttypmod), attnotnull "
                  "FROM pg_attribute WHERE attrelid = 'pgroll.migrations'::regclass "
                  "AND attnum > 0 AND NOT attisdropped ORDER BY attnum")
    assert shape == [
        ("schema", "name", True), ("name", "text", True), ("migration", "jsonb", True),
        ("created_at", "timestamp with time zone", True),
        ("updated_at", "timestamp with time zone", True), ("parent", "text", False),
        ("done", "boolean", True), ("resulting_schema", "jsonb", True),
        ("migration_type", "character varying(32)", False)]
    indexes = {r[0] for r in query(pg_conn, "SELECT indexname::text FROM pg_indexes "
                                   "WHERE schemaname = 'pgroll' AND tablename = 'migrations'")}
    assert {"only_one_active", "only_first_migration_without_parent",
            "history_is_linear"} <= indexes
    answers = one(pg_conn, "SELECT pgroll.is_active_migration_period('a'), "
                  "pgroll.is_active_migration_period('b'), pgroll.latest_version('a'), "
                  "pgroll.latest_version('b'), pgroll.previous_version('a'), "
                  "pgroll.previous_version('b'), pgroll.latest_migration('b'), "
                  "pgroll.previous_migration('b')")
    assert answers == (False, True, "02_change", "02_change", None, "01_setup", "02_change",
                       "01_setup")
    documents = dict(query(pg_conn, "SELECT schema || '.' || name, migration FROM "
                           "pgroll.migrations"))
    assert documents["a.02_change"] == documents["b.02_change"]
    assert "operations" in documents["a.02_change"]
    status = json.loads(_ok(cli(["status", *_flags("b")], admin_dsn)).stdout)
    assert status == {"schema": "b", "version": "02_change", "status": "In progress"}


# --- a version schema that is another schema ---------------------------------------------------

@pytest.mark.parametrize("clash", [True, False], ids=["failed-start", "rollback"])
def test_a_version_schema_named_like_another_schema_never_drops_it(
        admin_dsn: str, pg_conn: Connection, tmp_path: Path, clash: bool) -> None:
    """Schema ``a_b`` (managed too, with rows) and schema ``a``, whose migration ``b`` has
    the version schema ``a_b``. With a table ``t`` in both, start's view ``a_b.t`` clashes
    and start fails; without, start puts its views beside ``a_b``'s tables and rollback
    drops the schema. Either way ``a_b`` and its rows must survive (start refused)."""
    _prepared(pg_conn, admin_dsn, tmp_path, "a_b")
    pg_conn.execute("CREATE SCHEMA a")
    setup = SETUP if clash else SETUP.replace("table t", "table u")
    folder = tmp_path / "a"
    folder.mkdir()
    _ok(cli(["start", "--complete", str(write_file(folder, "01_setup", setup)), *_flags("a")],
            admin_dsn))
    change = CHANGE if clash else CHANGE.replace("table t", "table u")
    started = cli(["start", str(write_file(tmp_path, "b", change)), *_flags("a")], admin_dsn)
    assert no_traceback(started) is None
    if started.returncode == 0:
        cli(["rollback", *_flags("a")], admin_dsn)
    assert _rows(pg_conn, "a_b") == [(i, i) for i in range(1, ROWS + 1)]
    assert _rows(pg_conn, "a_b_01_setup") == [(i, i) for i in range(1, ROWS + 1)]
    assert started.returncode == 1 and "a_b" in started.stderr, started.describe()


@pytest.mark.parametrize("phase", ["rollback", "complete"])
def test_a_table_made_in_a_version_schema_is_never_dropped_with_it(
        admin_dsn: str, pg_conn: Connection, tmp_path: Path, phase: str) -> None:
    """An application whose search_path begins with its version schema makes a table there
    (an unqualified CREATE TABLE): rollback drops the new version schema, complete the
    previous one, both with CASCADE, and took the table along with its rows. They refuse
    now, changing nothing, naming the table; once it is moved, they finish."""
    _prepared(pg_conn, admin_dsn, tmp_path)
    _ok(cli(["start", str(write_file(tmp_path, "02_change", CHANGE))], admin_dsn))
    version = "public_02_change" if phase == "rollback" else "public_01_setup"
    with psycopg.connect(admin_dsn, autocommit=True,
                         options=f"-c search_path={version},public") as app:
        app.execute("CREATE TABLE app_log (id int)")
        app.execute("INSERT INTO app_log VALUES (1), (2)")
    refused = cli([phase], admin_dsn)
    assert refused.returncode != 0 and "app_log" in refused.stderr, refused.describe()
    assert no_traceback(refused) is None
    assert pg_conn.execute(f"SELECT count(*) FROM {version}.app_log").fetchone() == (2,)
    assert _detail(admin_dsn, "public") is not None  # still active
    pg_conn.execute(f"ALTER TABLE {version}.app_log SET SCHEMA public")
    _ok(cli([phase], admin_dsn))
    assert pg_conn.execute("SELECT count(*) FROM public.app_log").fetchone() == (2,)


# --- two state schemas over one target schema --------------------------------------------------

def test_a_second_state_schema_cannot_start_over_an_active_migration(
        admin_dsn: str, pg_conn: Connection, tmp_path: Path) -> None:
    """``x`` started ``02_change`` on ``public``; a start through ``y`` on ``public`` must be
    refused, and ``x``'s migration must still complete."""
    _prepared(pg_conn, admin_dsn, tmp_path, state="x")
    _ok(cli(["start", str(write_file(tmp_path, "02_change", CHANGE)), *_flags(state="x")],
            admin_dsn))
    _ok(cli(["init", *_flags(state="y")], admin_dsn))
    other = cli(["start", str(write_file(tmp_path, "03_later", LATER)), *_flags(state="y")],
                admin_dsn)
    assert no_traceback(other) is None
    completed = cli(["complete", *_flags(state="x")], admin_dsn)
    assert other.returncode == 1, other.describe()
    assert completed.returncode == 0, completed.describe()
    _completed(pg_conn, "public")


def test_two_state_schemas_share_the_run_lock_of_a_schema(admin_dsn: str, pg_conn: Connection,
                                                           tmp_path: Path) -> None:
    """While ``x``'s start backfills ``public``, a start through ``y`` must fail at once as
    a second run of the same schema does."""
    _prepared(pg_conn, admin_dsn, tmp_path, state="x")
    _ok(cli(["init", *_flags(state="y")], admin_dsn))
    running = cli_popen(["start", str(write_file(tmp_path, "02_change", CHANGE)),
                         *_slow("public", "x")], admin_dsn)
    _wait(_run_lock_held(pg_conn))
    other = cli(["start", str(write_file(tmp_path, "03_later", LATER)), *_flags(state="y")],
                admin_dsn)
    _ok(_finished(running))
    assert 'another pgroll-dsl run is working on schema "public"' in other.stderr, \
        other.describe()


# Was a strict xfail (init of a second state schema took the database's event triggers from
# the first, silently): PostgreSQL names event triggers once per database, and pgroll names
# its two so; init now says so, and how to give them back.
def test_init_of_a_second_state_keeps_the_first_ones_inferred_migrations(
        admin_dsn: str, pg_conn: Connection, tmp_path: Path) -> None:
    """``x`` manages ``public``, ``y`` manages ``other``: DDL by hand on ``public`` after
    ``init`` of ``y`` belongs to ``x``'s history (or ``init`` says it takes them over)."""
    _prepared(pg_conn, admin_dsn, tmp_path, state="x")
    initialised = _ok(cli(["init", *_flags("other", "y")], admin_dsn))
    said = " ".join(initialised.stderr.split())
    assert 'recorded DDL made outside a migration in state schema "x"; from now on they ' \
        'record it in "y"' in said, initialised.describe()
    again = _ok(cli(["init", *_flags("other", "y")], admin_dsn))  # (already its own: silent)
    assert "event triggers" not in again.stderr, again.describe()
    pg_conn.execute("ALTER TABLE public.t ADD COLUMN by_hand int")
    assert [r[0] for r in _history(pg_conn, "y") if r[4] == "inferred"] == ["public"]
    back = _ok(cli(["init", *_flags(state="x")], admin_dsn))  # as the note says
    assert 'in state schema "y"; from now on they record it in "x"' in " ".join(
        back.stderr.split()), back.describe()
    pg_conn.execute("ALTER TABLE public.t ADD COLUMN by_hand_2 int")
    assert len([r for r in _history(pg_conn, "x") if r[4] == "inferred"]) == 1


# --- names that need quoting -------------------------------------------------------------------

HOSTILE = ['St "ate" x', "UPPER", "Ünïcødé ✓", "s" * 63, "placeholder", "a;b--c", "x'y"]


@pytest.mark.parametrize("state", HOSTILE, ids=range(len(HOSTILE)))
def test_hostile_state_schema_names(admin_dsn: str, pg_conn: Connection, tmp_path: Path,
                                    state: str) -> None:
    """A whole lifecycle (init, start, status, rollback, start, complete, DDL by hand) with a
    state schema whose name needs quoting; the history lands there, under that name."""
    _prepared(pg_conn, admin_dsn, tmp_path, state=state)
    change = str(write_file(tmp_path, "02_change", CHANGE))
    _ok(cli(["start", change, *_flags(state=state)], admin_dsn))
    assert _detail(admin_dsn, "public", state)["state"] == "started"
    _ok(cli(["rollback", *_flags(state=state)], admin_dsn))
    _rolled_back(pg_conn, "public")
    _ok(cli(["start", "--complete", change, *_flags(state=state)], admin_dsn))
    _completed(pg_conn, "public")
    pg_conn.execute("ALTER TABLE public.t ADD COLUMN by_hand int")
    assert [r[1:] for r in _history(pg_conn, state)][:2] == [
        ("01_setup", None, True, "pgroll"), ("02_change", "01_setup", True, "pgroll")]
    assert _history(pg_conn, state)[2][4] == "inferred"
    latest = _ok(cli(["latest", *_flags(state=state)], admin_dsn))
    assert latest.stdout.strip() == "public_02_change"


def test_a_percent_sign_in_the_state_schema_name(admin_dsn: str, pg_conn: Connection,
                                                 tmp_path: Path) -> None:
    state = "ops%state"
    result = cli(["init", *_flags(state=state)], admin_dsn)
    assert result.returncode == 0, result.describe()
    _prepared(pg_conn, admin_dsn, tmp_path, state=state, init=False)
    _ok(cli(["start", "--complete", str(write_file(tmp_path, "02_change", CHANGE)),
             *_flags(state=state)], admin_dsn))
    _completed(pg_conn, "public")


def test_dollar_quotes_in_the_state_schema_name(admin_dsn: str, pg_conn: Connection,
                                                tmp_path: Path) -> None:
    state = "cash$$flow"
    result = cli(["init", *_flags(state=state)], admin_dsn)
    assert result.returncode == 0 or "name" in result.stderr, result.describe()
    assert result.returncode == 0, result.describe()


HOSTILE_SCHEMAS = ['Sc "hema"', "Upper", "Ünï ✓", "per%cent", "do$$llar", "x" * 40, "a;b'c"]


@pytest.mark.parametrize("schema", HOSTILE_SCHEMAS, ids=range(len(HOSTILE_SCHEMAS)))
def test_hostile_target_schema_names_beside_another(admin_dsn: str, pg_conn: Connection,
                                                    tmp_path: Path, schema: str) -> None:
    """A target schema whose name needs quoting, migrated at once with ``b`` in one state,
    a start rolled back and one completed: data, views and history right for both."""
    for target in (schema, "b"):
        _prepared(pg_conn, admin_dsn, tmp_path, target)
    change = str(write_file(tmp_path, "02_change", CHANGE))
    running = [cli_popen(["start", change, *_slow(s)], admin_dsn) for s in (schema, "b")]
    for process in running:
        _ok(_finished(process))
    _ok(cli(["rollback", *_flags(schema)], admin_dsn))
    _rolled_back(pg_conn, schema)
    _ok(cli(["start", "--complete", change, *_flags(schema)], admin_dsn))
    _ok(cli(["complete", *_flags("b")], admin_dsn))
    for target in (schema, "b"):
        _completed(pg_conn, target)
        assert [r[1] for r in _history(pg_conn) if r[0] == target] == ["01_setup",
                                                                        "02_change"]
    assert _ok(cli(["latest", *_flags(schema)], admin_dsn)).stdout.strip() == \
        f"{schema}_02_change"


# --- a foreign key from one schema to another --------------------------------------------------

def _linked(conn: Connection, dsn: str, tmp_path: Path) -> None:
    """``b.u`` (id int key), ``a.t`` (u_id references b.u), ten rows each, managed by one
    state; the foreign key made by hand (an inferred migration of ``a``)."""
    conn.execute("CREATE SCHEMA a; CREATE SCHEMA b")
    _ok(cli(["init"], dsn))
    for schema, text in (("b", "create table u (id int primary key, n int);\n"),
                         ("a", "create table t (id int primary key, u_id int);\n")):
        folder = tmp_path / schema
        folder.mkdir()
        _ok(cli(["start", "--complete", str(write_file(folder, "01_setup", text)),
                 *_flags(schema)], dsn))
    conn.execute("ALTER TABLE a.t ADD CONSTRAINT t_u_fk FOREIGN KEY (u_id) REFERENCES b.u (id);"
                 "INSERT INTO b.u SELECT g, g FROM generate_series(1, 10) g;"
                 "INSERT INTO a.t SELECT g, g FROM generate_series(1, 10) g")


def _fk(conn: Connection) -> list[tuple[Any, ...]]:
    return query(conn, "SELECT conname::text, pg_get_constraintdef(oid), convalidated FROM "
                 "pg_constraint WHERE conrelid = 'a.t'::regclass AND contype = 'f'")


def test_schemas_joined_by_a_foreign_key_migrated_at_once(admin_dsn: str, pg_conn: Connection,
                                                          tmp_path: Path) -> None:
    """``a`` adds a column to ``t`` and ``b`` one to ``u`` at once (slow backfills); both
    complete at once; the foreign key, the rows and both histories are intact."""
    _linked(pg_conn, admin_dsn, tmp_path)
    files = {"a": write_file(tmp_path, "02_a", "alter table t add c int up `u_id * 3`;\n"),
             "b": write_file(tmp_path, "02_b", "alter table u add c int up `n * 5`;\n")}
    running = [cli_popen(["start", str(files[s]), *_slow(s)], admin_dsn) for s in ("a", "b")]
    _wait(_run_lock_held(pg_conn, 2))
    for process in running:
        _ok(_finished(process))
    with ThreadPoolExecutor(2) as pool:
        for result in pool.map(lambda s: cli(["complete", *_flags(s)], admin_dsn), ("a", "b")):
            _ok(result)
    assert _rows(pg_conn, "a") == [(i, i, 3 * i) for i in range(1, 11)]
    assert _rows(pg_conn, "b", "u") == [(i, i, 5 * i) for i in range(1, 11)]
    assert _fk(pg_conn) == [("t_u_fk", "FOREIGN KEY (u_id) REFERENCES b.u(id)", True)]
    assert [r[1] for r in _history(pg_conn) if r[0] == "b"] == ["01_setup", "02_b"]


def test_a_retyped_key_with_a_foreign_key_from_another_schema(
        admin_dsn: str, pg_conn: Connection, tmp_path: Path) -> None:
    _linked(pg_conn, admin_dsn, tmp_path)
    started = _ok(cli(["start", str(write_file(tmp_path, "02_b",
                                               "alter table u alter id type bigint;\n")),
                       *_flags("b")], admin_dsn))
    completed = cli(["complete", *_flags("b")], admin_dsn)
    assert no_traceback(completed) is None
    assert completed.returncode == 0, (started.describe(), completed.describe())
    assert sorted(_columns(pg_conn, "b", "u")) == ["id", "n"]  # (the copy comes last)
    assert _fk(pg_conn) == [("t_u_fk", "FOREIGN KEY (u_id) REFERENCES b.u(id)", True)]


def test_a_retyped_column_with_a_foreign_key_to_another_schema(
        admin_dsn: str, pg_conn: Connection, tmp_path: Path) -> None:
    _linked(pg_conn, admin_dsn, tmp_path)
    started = cli(["start", "--complete", str(write_file(
        tmp_path, "02_a", "alter table t alter u_id type bigint;\n")), *_flags("a")], admin_dsn)
    assert no_traceback(started) is None
    assert started.returncode == 0, started.describe()
    assert _fk(pg_conn) == [("t_u_fk", "FOREIGN KEY (u_id) REFERENCES b.u(id)", True)]
    assert _rows(pg_conn, "a") == [(i, i) for i in range(1, 11)]


# --- foreign keys across schemas, harder ------------------------------------------------------

RETYPE_KEY = "alter table u alter id type bigint;\n"  # in the referenced schema
RETYPE_COLUMN = "alter table t alter u_id type bigint;\n"  # in the referencing schema


def _across(conn: Connection, dsn: str, tmp_path: Path, referencing: str = "a",
            referenced: str = "b", key: str = "") -> None:
    """As ``_linked``, for any two schema names; ``key``: what follows the foreign key's
    ``REFERENCES`` (actions, ``NOT VALID``). ``referencing`` also has a table ``u`` of its
    own, of other keys (100 to 109), which no foreign key points at."""
    conn.execute(f"CREATE SCHEMA {_ident(referencing)}; CREATE SCHEMA {_ident(referenced)}")
    _ok(cli(["init"], dsn))
    for number, (schema, text) in enumerate(((referenced, "create table u (id int primary key,"
                                               " n int);\n"),
                                              (referencing, "create table t (id int primary "
                                               "key, u_id int);\ncreate table u (id int "
                                               "primary key, n int);\n"))):
        folder = tmp_path / f"s{number}"
        folder.mkdir()
        _ok(cli(["start", "--complete", str(write_file(folder, "01_setup", text)),
                 *_flags(schema)], dsn))
    conn.execute(f"INSERT INTO {_ident(referenced, 'u')} SELECT g, g FROM "
                 "generate_series(1, 10) g;"
                 f"INSERT INTO {_ident(referencing, 'u')} SELECT g, g FROM "
                 "generate_series(100, 109) g;"
                 f"INSERT INTO {_ident(referencing, 't')} SELECT g, g FROM "
                 "generate_series(1, 10) g;"
                 f"ALTER TABLE {_ident(referencing, 't')} ADD CONSTRAINT t_u_fk FOREIGN KEY "
                 f"(u_id) REFERENCES {_ident(referenced, 'u')} (id) {key}")


def _keys(conn: Connection, schema: str) -> list[tuple[Any, ...]]:
    """(name, referenced table, its columns, on delete, validated) of ``schema.t``'s foreign
    keys."""
    return query(conn, "SELECT conname::text, confrelid::regclass::text, ARRAY(SELECT attname::"
                 "text FROM pg_attribute WHERE attrelid = confrelid AND attnum = ANY (confkey)),"
                 " confdeltype::text, convalidated FROM pg_constraint WHERE conrelid = "
                 "to_regclass(%s) AND contype = 'f' ORDER BY 1", (_ident(schema, "t"),))


def _expected(referenced: str, on_delete: str = "a", valid: bool = True) -> list[Any]:
    plain = referenced.isalpha() and referenced == referenced.lower()
    return [("t_u_fk", f"{referenced if plain else _ident(referenced)}.u", ["id"], on_delete,
             valid)]


def _migrate(dsn: str, tmp_path: Path, schema: str, text: str,
             *extra: str) -> CliResult:
    folder = tmp_path / "changes"
    folder.mkdir(exist_ok=True)
    return cli(["start", *extra, str(write_file(folder, "02_change", text)), *_flags(schema)],
               dsn)


def _through(conn: Connection, version: str, sql_text: str) -> None:
    """``sql_text`` as a client of ``version`` runs it: its search path names the version
    (the sync triggers tell a new version's writes by it)."""
    with conn.transaction():
        conn.execute(f"SET LOCAL search_path TO {_ident(version)}")
        conn.execute(sql_text)


def _refused(conn: Connection, sql_text: str, version: str = "public") -> None:
    with pytest.raises(psycopg.errors.ForeignKeyViolation):
        _through(conn, version, sql_text)


@pytest.mark.parametrize("names", [("Other Schema", "b"), ("a", "Other Schema"),
                                   ('Sc "hema"', 'x.y')], ids=["referencing", "referenced",
                                                               "both"])
@pytest.mark.parametrize("retyped", ["key", "column"])
def test_foreign_keys_across_schemas_whose_names_need_quotes(
        admin_dsn: str, pg_conn: Connection, tmp_path: Path, names: tuple[str, str],
        retyped: str) -> None:
    referencing, referenced = names
    _across(pg_conn, admin_dsn, tmp_path, referencing, referenced)
    schema, text = ((referenced, RETYPE_KEY) if retyped == "key"
                    else (referencing, RETYPE_COLUMN))
    _ok(_migrate(admin_dsn, tmp_path, schema, text, "--complete"))
    assert _keys(pg_conn, referencing) == _expected(referenced)
    assert _rows(pg_conn, referencing) == [(i, i) for i in range(1, 11)]
    _refused(pg_conn, f"INSERT INTO {_ident(referencing, 't')} VALUES (11, 100)")


def test_a_retyped_column_points_at_the_other_schema_not_its_own_table_of_that_name(
        admin_dsn: str, pg_conn: Connection, tmp_path: Path) -> None:
    """``a.u`` exists too (keys 100 to 109): the copy of ``t_u_fk`` points at ``b.u``; a row
    through the new version whose key is only in ``a.u`` is refused."""
    _across(pg_conn, admin_dsn, tmp_path)
    _ok(_migrate(admin_dsn, tmp_path, "a", RETYPE_COLUMN))
    _refused(pg_conn, "INSERT INTO t VALUES (11, 100)", "a_02_change")
    _ok(cli(["complete", *_flags("a")], admin_dsn))
    assert _keys(pg_conn, "a") == _expected("b")
    _refused(pg_conn, "INSERT INTO a.t VALUES (11, 100)")
    pg_conn.execute("INSERT INTO a.t VALUES (11, 10)")


def test_a_retyped_key_leaves_a_key_to_another_schemas_table_of_its_name_alone(
        admin_dsn: str, pg_conn: Connection, tmp_path: Path) -> None:
    """``a.t`` also has a key to ``a.u``; ``a.u``'s key is retyped: ``t_u_fk`` (to ``b.u``)
    is not given a twin, the one to ``a.u`` is."""
    _across(pg_conn, admin_dsn, tmp_path)
    pg_conn.execute("ALTER TABLE a.t ADD COLUMN own int; UPDATE a.t SET own = id + 99;"
                    "ALTER TABLE a.t ADD CONSTRAINT t_own_fk FOREIGN KEY (own) REFERENCES a.u")
    _ok(_migrate(admin_dsn, tmp_path, "a", RETYPE_KEY))
    assert sorted(k[0] for k in _keys(pg_conn, "a")) == ["_pgroll_dup_t_own_fk", "t_own_fk",
                                                         "t_u_fk"]
    _ok(cli(["complete", *_flags("a")], admin_dsn))
    assert _keys(pg_conn, "a") == [("t_own_fk", "a.u", ["id"], "a", True), *_expected("b")]


@pytest.mark.parametrize("retyped", ["key", "column"])
def test_on_delete_cascade_across_schemas_is_kept(admin_dsn: str, pg_conn: Connection,
                                                  tmp_path: Path, retyped: str) -> None:
    _across(pg_conn, admin_dsn, tmp_path, key="ON DELETE CASCADE")
    schema, text = ("b", RETYPE_KEY) if retyped == "key" else ("a", RETYPE_COLUMN)
    _ok(_migrate(admin_dsn, tmp_path, schema, text, "--complete"))
    assert _keys(pg_conn, "a") == _expected("b", on_delete="c")
    pg_conn.execute("DELETE FROM b.u WHERE id <= 3")
    assert _rows(pg_conn, "a") == [(i, i) for i in range(4, 11)]


@pytest.mark.parametrize("retyped", ["key", "column"])
def test_a_foreign_key_across_schemas_not_valid_before_start(
        admin_dsn: str, pg_conn: Connection, tmp_path: Path, retyped: str) -> None:
    """Every row fits: the lifecycle goes through (the copy is validated, as for a key of
    one schema). A row that does not: start fails at the validation and is undone, the key
    as it was (not valid), nothing of the migration left."""
    _across(pg_conn, admin_dsn, tmp_path, key="NOT VALID")
    schema, text = ("b", RETYPE_KEY) if retyped == "key" else ("a", RETYPE_COLUMN)
    pg_conn.execute("ALTER TABLE a.t DROP CONSTRAINT t_u_fk; INSERT INTO a.t VALUES (11, 99);"
                    "ALTER TABLE a.t ADD CONSTRAINT t_u_fk FOREIGN KEY (u_id) REFERENCES b.u "
                    "NOT VALID")
    failed = _migrate(admin_dsn, tmp_path, schema, text)
    assert failed.returncode != 0 and no_traceback(failed) is None, failed.describe()
    assert _keys(pg_conn, "a") == _expected("b", valid=False)
    assert sorted(_columns(pg_conn, schema, "u" if retyped == "key" else "t")) == (
        ["id", "n"] if retyped == "key" else ["id", "u_id"])
    pg_conn.execute("DELETE FROM a.t WHERE id = 11")
    _ok(_migrate(admin_dsn, tmp_path, schema, text, "--complete"))
    assert _keys(pg_conn, "a") == _expected("b")


@pytest.mark.parametrize("retyped", ["key", "column"])
def test_rollback_leaves_foreign_keys_across_schemas_as_they_were(
        admin_dsn: str, pg_conn: Connection, tmp_path: Path, retyped: str) -> None:
    """While started, a write that breaks the key is refused, through either version; a
    rollback leaves the key as it was and no twin."""
    _across(pg_conn, admin_dsn, tmp_path, key="ON DELETE SET NULL")
    schema, text = ("b", RETYPE_KEY) if retyped == "key" else ("a", RETYPE_COLUMN)
    _ok(_migrate(admin_dsn, tmp_path, schema, text))
    _refused(pg_conn, "INSERT INTO a.t VALUES (11, 100)")
    if retyped == "column":
        _refused(pg_conn, "INSERT INTO t VALUES (11, 100)", "a_02_change")
    else:  # (on update: no action)
        _refused(pg_conn, "UPDATE u SET id = 50 WHERE id = 2", "b_02_change")
    _ok(cli(["rollback", *_flags(schema)], admin_dsn))
    assert _keys(pg_conn, "a") == _expected("b", on_delete="n")
    assert sorted(_columns(pg_conn, "a")) == ["id", "u_id"]
    assert sorted(_columns(pg_conn, "b", "u")) == ["id", "n"]
    pg_conn.execute("DELETE FROM b.u WHERE id = 1")
    assert _rows(pg_conn, "a")[0] == (1, None)


def test_complete_then_writes_through_the_new_version_are_checked(
        admin_dsn: str, pg_conn: Connection, tmp_path: Path) -> None:
    """After complete of a retyped key, ``a.t`` still cannot point at a missing ``b.u`` row
    and ``b.u`` cannot lose a row ``a.t`` points at, through ``b``'s new version."""
    _across(pg_conn, admin_dsn, tmp_path)
    _ok(_migrate(admin_dsn, tmp_path, "b", RETYPE_KEY, "--complete"))
    _refused(pg_conn, "INSERT INTO a.t VALUES (11, 99)")
    _refused(pg_conn, "DELETE FROM u WHERE id = 5", "b_02_change")
    _through(pg_conn, "b_02_change", "INSERT INTO u VALUES (2147483648, 0)")
    pg_conn.execute("INSERT INTO a.t VALUES (11, 7)")
    assert _keys(pg_conn, "a") == _expected("b")


def test_a_foreign_key_schema_in_snapshots_and_fingerprints() -> None:
    """A key to another schema's table keeps its schema through a snapshot; one to the
    schema's own table has the canonical form it had before the field (a saved plan still
    matches); another schema's key to this one shows as drift only where there is one."""
    def catalog(schema: str | None, inbound: tuple[InboundForeignKey, ...] = ()) -> Catalog:
        key = Constraint(name="t_u_fk", type=ConstraintType.FOREIGN_KEY, columns=("u_id",),
                         references=ForeignKey(table="u", columns=("id",), schema=schema))
        return Catalog(schema="a", inbound=inbound, tables=(Table(
            name="t", columns=(Column(name="u_id", type="integer"),), constraints=(key,)),))

    other = catalog("Other Schema")
    assert load_snapshot(dump_snapshot(other), "s.json") == other
    assert '"schema"' not in dump_snapshot(catalog(None)).split('"references"')[1]
    form = canonical(catalog(None))["tables"]["t"]["constraints"]["t_u_fk"]["references"]
    assert "schema" not in form
    assert canonical(other)["tables"]["t"]["constraints"]["t_u_fk"]["references"][
        "schema"] == "Other Schema"
    assert "inbound foreign keys" not in canonical(catalog(None))
    inbound = InboundForeignKey(schema="x.y", table="v", constraint=catalog(None).tables[0]
                                .constraints[0])
    assert drift(canonical(catalog(None)), canonical(catalog(None, (inbound,)))) == [
        'foreign key t_u_fk of "x.y".v: in the live database, not planned']


# --- names at PostgreSQL's length limit ---------------------------------------------------------

def test_a_target_schema_of_63_bytes(admin_dsn: str, pg_conn: Connection,
                                     tmp_path: Path) -> None:
    """Its version schemas cannot have a name: start is refused in one line, nothing is
    recorded nor changed; without version schemas the lifecycle goes through."""
    schema = "é" * 31 + "s"
    assert len(schema.encode()) == 63
    pg_conn.execute(f"CREATE SCHEMA {_ident(schema)}")
    _ok(cli(["init", *_flags(schema)], admin_dsn))
    refused = cli(["start", str(write_file(tmp_path, "01_setup", SETUP)), *_flags(schema)],
                  admin_dsn)
    assert refused.returncode in (1, 2), refused.describe()
    assert no_traceback(refused) is None and "63" in refused.stderr, refused.describe()
    assert _history(pg_conn) == [] and _columns(pg_conn, schema) == []
    plain = [*_flags(schema), "--no-use-version-schema"]
    _ok(cli(["start", "--complete", str(write_file(tmp_path, "01_setup", SETUP)), *plain],
            admin_dsn))
    pg_conn.execute(f"INSERT INTO {_ident(schema, 't')} SELECT g, g FROM "
                    "generate_series(1, 5) g")
    _ok(cli(["start", "--complete", str(write_file(tmp_path, "02_change", CHANGE)), *plain],
            admin_dsn))
    assert _rows(pg_conn, schema) == [(i, i, 2 * i) for i in range(1, 6)]
    assert [r[1] for r in _history(pg_conn)] == ["01_setup", "02_change"]


def test_a_state_schema_name_longer_than_postgresql_keeps(admin_dsn: str, pg_conn: Connection,
                                                           tmp_path: Path) -> None:
    """``k`` * 70 and ``k`` * 63 are one state schema to PostgreSQL: while a start through
    the first backfills, a rollback through the second must be refused as a second run."""
    long_name, kept = "k" * 70, "k" * 63
    _prepared(pg_conn, admin_dsn, tmp_path, state=long_name)
    assert schema_exists(pg_conn, kept)
    running = cli_popen(["start", str(write_file(tmp_path, "02_change", CHANGE)),
                         *_slow("public", long_name)], admin_dsn)
    _wait(lambda: bool(_history(pg_conn, kept)[-1][1] == "02_change"))
    _wait(_run_lock_held(pg_conn))
    other = cli(["rollback", *_flags(state=kept)], admin_dsn)
    started = _finished(running)
    assert 'another pgroll-dsl run is working on schema "public"' in other.stderr, \
        (other.describe(), started.describe())
    assert started.returncode == 0, started.describe()
