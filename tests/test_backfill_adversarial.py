"""Adversarial tests of the rewritten backfill (``plan/backfill.py``, ``backends/workers.py``).

Each test runs a real start on PostgreSQL and checks the data, not the exit code:

* no row is left with ``_pgroll_needs_backfill`` set once start returns;
* every copy is what ``up`` gives for the row's final old value, or what a new-version
  client wrote (a model of each client's rows, or the triggers made to recompute every copy:
  ``UPDATE ... SET _pgroll_needs_backfill = true`` with the backfill setting off);
* every write of a client (old and new version, each on its own connection, WHILE the
  backfill runs) is there, row for row.

The backfill is slowed down (small batches, ``batch_time_ms=0``, a delay per batch) so that
the clients' writes land while it runs; each concurrency test asserts that they did (writes
that hit a row the backfill had not reached yet).

Tests marked ``xfail(strict=True)`` are confirmed product bugs; the reason says where.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psycopg
import pytest
from psycopg.conninfo import make_conninfo

from pgroll_dsl.backends.runner import CommandError
from pgroll_dsl.plan.model import StepKind
from tests import fault_model as fm
from tests.live_helpers import (
    Connection,
    apply,
    client,
    make_runner,
    migration,
    table_rows,
    triggers_and_functions,
)

pytestmark = pytest.mark.postgres

OLD = "public_01_setup"
NEW = "public_02_x"
MARKER = "_pgroll_needs_backfill"
# A row the backfill has not written yet: marked, and not written by a first pass since.
UNDONE = f"{MARKER} AND _pgroll_backfilled_by IS DISTINCT FROM xmin"

# The migration of the concurrency tests: a new column that a new-version client may set to
# anything (no ``down``), and a type change with both directions (inverse of each other).
# Since backfill.gather it gets two passes (its views come after them); the tests whose
# new-version clients write while the batches run ask for one pass (``two_passes=False``).
MAIN = ("alter table t add x bigint up `a * 2`;\n"
        "alter table t alter b type int up `b::int` down `b::text`;")


# ---- roles -----------------------------------------------------------------------------------


def _owner(pg_conn: Connection, dsn: str) -> Iterator[str]:
    """A role that owns the schema (and so the tables it creates), not a superuser."""
    role = f"owner_{pg_conn.info.backend_pid}"
    pg_conn.execute(f'CREATE ROLE "{role}" LOGIN')
    pg_conn.execute(f'GRANT ALL ON DATABASE "{pg_conn.info.dbname}" TO "{role}"')
    pg_conn.execute(f'ALTER SCHEMA public OWNER TO "{role}"')
    try:
        yield make_conninfo(dsn, user=role)
    finally:
        pg_conn.execute(f'REASSIGN OWNED BY "{role}" TO CURRENT_USER')
        pg_conn.execute(f'DROP OWNED BY "{role}"')
        pg_conn.execute(f'DROP ROLE "{role}"')


@pytest.fixture
def owner_dsn(admin_dsn: str, pg_conn: Connection) -> Iterator[str]:
    yield from _owner(pg_conn, admin_dsn)


@pytest.fixture(params=["superuser", "owner"])
def role_dsn(request: pytest.FixtureRequest, admin_dsn: str,
             pg_conn: Connection) -> Iterator[str]:
    """The migration runs as a superuser (session_replication_role) or as a plain owner
    (the triggers' WHEN clause)."""
    if request.param == "superuser":
        yield admin_dsn
    else:
        yield from _owner(pg_conn, admin_dsn)


# ---- a model of what the clients wrote -------------------------------------------------------


@dataclass
class Row:
    a: int
    b: str  # the old column b (text of an int)
    x: int | None  # None: x must be up's a * 2; else what a new-version client wrote


@dataclass
class Writer:
    """One client thread on its own connection; it alone writes the rows it owns."""

    version: str
    owned: list[int]  # existing ids it writes, highest first (the backfill reaches them last)
    next_id: int  # ids it inserts
    model: dict[int, Row]
    lock: threading.Lock
    writes: int = 0
    hits: int = 0  # writes on a row the backfill had not reached yet
    errors: list[str] = field(default_factory=list)


def _old_write(conn: Connection, w: Writer, key: int) -> None:
    op = w.writes % 5
    value = (w.writes * 7919) % 100_000
    if op == 0:
        conn.execute("UPDATE t SET a = %s WHERE id = %s", (value, key))
        with w.lock:
            w.model[key].a, w.model[key].x = value, None
    elif op == 1:
        conn.execute("UPDATE t SET b = %s WHERE id = %s", (str(value), key))
        with w.lock:
            w.model[key].b = str(value)
    elif op == 2:
        conn.execute("DELETE FROM t WHERE id = %s", (key,))
        with w.lock:
            del w.model[key]
    elif op == 3:  # a key update
        conn.execute("UPDATE t SET id = %s WHERE id = %s", (key + 1_000_000, key))
        with w.lock:
            w.model[key + 1_000_000] = w.model.pop(key)
            w.model[key + 1_000_000].x = None
    else:
        w.next_id += 1
        conn.execute("INSERT INTO t (id, a, b) VALUES (%s, %s, %s)",
                     (w.next_id, value, str(value)))
        with w.lock:
            w.model[w.next_id] = Row(value, str(value), None)


def _new_write(conn: Connection, w: Writer, key: int) -> None:
    op = w.writes % 5
    value = (w.writes * 104_729) % 100_000
    x = -1 - w.writes  # never a * 2
    if op == 0:  # a and x together: x is the client's, not up's
        conn.execute("UPDATE t SET a = %s, x = %s WHERE id = %s", (value, x, key))
        with w.lock:
            w.model[key].a, w.model[key].x = value, x
    elif op == 1:  # only b: x is up's (computed first on a row not backfilled yet)
        conn.execute("UPDATE t SET b = %s WHERE id = %s", (value, key))
        with w.lock:
            w.model[key].b = str(value)
    elif op == 2:
        conn.execute("DELETE FROM t WHERE id = %s", (key,))
        with w.lock:
            del w.model[key]
    elif op == 3:
        conn.execute("UPDATE t SET id = %s, x = %s WHERE id = %s", (key + 2_000_000, x, key))
        with w.lock:
            w.model[key + 2_000_000] = w.model.pop(key)
            w.model[key + 2_000_000].x = x
    else:
        w.next_id += 1
        conn.execute("INSERT INTO t (id, a, b, x) VALUES (%s, %s, %s, %s)",
                     (w.next_id, value, value, x))
        with w.lock:
            w.model[w.next_id] = Row(value, str(value), x)


def _writer_loop(dsn: str, w: Writer, stop: threading.Event, ready: threading.Event) -> None:
    try:
        with client(dsn, w.version) as conn:
            # A new-version client once its view exists; an old-version one as soon as the
            # table has its marker: during a first pass too (no sync trigger exists yet).
            started = (f"SELECT to_regclass('{NEW}.t')" if w.version == NEW else
                       "SELECT attname FROM pg_attribute WHERE attrelid = 'public.t'::regclass"
                       f" AND attname = '{MARKER}'")
            while conn.execute(started).fetchone() in (None, (None,)):
                if stop.is_set():
                    return
                time.sleep(0.002)
            ready.set()
            write = _old_write if w.version == OLD else _new_write
            while not stop.is_set() and w.owned:
                key = w.owned.pop(0)
                marked = conn.execute(f"SELECT {MARKER} FROM public.t WHERE id = %s",
                                      (key,)).fetchone()
                write(conn, w, key)
                w.hits += bool(marked and marked[0])
                w.writes += 1
    except Exception as err:  # noqa: BLE001 - reported by the test
        w.errors.append(f"{w.version}: {err!r}")


def _seed(conn: Connection, rows: int, table: str = "t", spacing: int = 1) -> dict[int, Row]:
    """Rows with ids 1..rows (times ``spacing``), analyzed (a dense key if spacing is 1)."""
    conn.execute(f"INSERT INTO {table} (id, a, b) SELECT g * {spacing}, g % 1000, "
                 f"(g * 3)::text FROM generate_series(1, {rows}) g")
    conn.execute(f"ANALYZE {table}")
    return {g * spacing: Row(g % 1000, str(g * 3), None) for g in range(1, rows + 1)}


def _start_with_clients(runner: Any, admin: str, model: dict[int, Row], text: str = MAIN,
                        new_client: bool = True) -> tuple[Any, list[Writer]]:
    """Start ``text`` while an old-version (and a new-version) client write their rows."""
    lock = threading.Lock()
    seeded = sorted(model, reverse=True)
    writers = [Writer(OLD, [k for k in seeded if k % 4 == 0], 5_000_000, model, lock)]
    if new_client:
        writers.append(Writer(NEW, [k for k in seeded if k % 4 == 1], 6_000_000, model, lock))
    stop = threading.Event()
    readies = [threading.Event() for _ in writers]
    threads = [threading.Thread(target=_writer_loop, args=(admin, w, stop, r), daemon=True)
               for w, r in zip(writers, readies, strict=True)]
    for thread in threads:
        thread.start()
    try:
        plan = runner.start(migration(text, "02_x"))
    finally:
        stop.set()
        for thread in threads:
            thread.join(timeout=30)
    for w in writers:
        assert not w.errors, w.errors
        assert w.hits > 0, f"{w.version}: no write landed during the backfill ({w.writes})"
    return plan, writers


def _check_main(conn: Connection, model: dict[int, Row], table: str = "t") -> None:
    """Every row as the model says: old values, the copies, and no marker left."""
    found = {r[0]: r[1:] for r in conn.execute(
        f"SELECT id, a, b, _pgroll_new_b, _pgroll_new_x, {UNDONE} FROM public.{table}")}
    problems = []
    if set(found) != set(model):
        problems.append(f"ids: missing {sorted(set(model) - set(found))[:10]}, "
                        f"unexpected {sorted(set(found) - set(model))[:10]}")
    for key in sorted(set(found) & set(model)):
        a, b, new_b, x, marked = found[key]
        want = model[key]
        expected_x = want.x if want.x is not None else want.a * 2
        if (a, b, new_b, x, marked) != (want.a, want.b, int(want.b), expected_x, False):
            problems.append(f"id {key}: (a, b, new b, x, marker) = {(a, b, new_b, x, marked)}, "
                            f"expected {(want.a, want.b, int(want.b), expected_x, False)}")
    assert not problems, f"{len(problems)} problems: {problems[:10]}"


def _backfill_summary(plan: Any) -> str:
    summaries = [s.summary for s in plan.start if s.kind is StepKind.BACKFILL]
    assert len(summaries) in (1, 2), summaries  # one pass, or a first and a second
    return " / ".join(summaries)


def _recomputed_by_triggers(conn: Connection, table: str = "t") -> tuple[list[Any], list[Any]]:
    """Every row before and after the triggers recompute its copies (an old-version write)."""
    before = table_rows(conn, table)
    conn.execute(f"UPDATE public.{table} SET {MARKER} = true")  # every sync trigger runs
    return before, table_rows(conn, table)


def _no_marker_left(conn: Connection, table: str = "t") -> None:
    assert conn.execute(f"SELECT count(*) FROM public.{table} WHERE {UNDONE}").fetchone() == (0,)


# ---- 1. the batch writes the copies itself, clients write meanwhile --------------------------


@pytest.mark.parametrize("spacing", [1, 7], ids=["dense-key", "sparse-key"])
def test_clients_write_during_the_backfill(role_dsn: str, admin_dsn: str,
                                           pg_conn: Connection, spacing: int) -> None:
    """Old and new clients update, insert, delete and change keys while the batches run;
    a new client's x on a row the backfill had not reached is kept. A dense integer key is
    batched by value ranges, a sparse one (ids 7 apart) by keys read ahead."""
    runner = make_runner(role_dsn, two_passes=False, batch_size=40, batch_time_ms=0,
                         batch_delay=0.002)  # one pass: new clients write during it
    apply(runner, "create table t (id int primary key, a int, b text);")
    model = _seed(pg_conn, 15_000, spacing=spacing)
    plan, _ = _start_with_clients(runner, admin_dsn, model)
    assert "writing the copies itself" in _backfill_summary(plan)
    _check_main(pg_conn, model)


def test_workers_with_clients_writing(admin_dsn: str, pg_conn: Connection) -> None:
    """The same with the key range split over 4 connections."""
    runner = make_runner(admin_dsn, two_passes=False, batch_size=20, batch_time_ms=0,
                         batch_delay=0.004, backfill_workers=4)
    apply(runner, "create table t (id int primary key, a int, b text);")
    model = _seed(pg_conn, 20_000)
    _start_with_clients(runner, admin_dsn, model)
    _check_main(pg_conn, model)


@pytest.mark.parametrize("fillfactor", [100, 50], ids=["rows-move-to-later-pages", "hot"])
def test_no_key_table_with_clients_writing(admin_dsn: str, pg_conn: Connection,
                                           fillfactor: int) -> None:
    """Batches by page ranges (no key): updates that move rows to later pages (full pages)
    or keep them on their page (HOT), inserts, deletes, meanwhile."""
    runner = make_runner(admin_dsn, two_passes=False, batch_size=50, batch_time_ms=0,
                         batch_delay=0.004)
    apply(runner, "create table t (id int not null, a int, b text);")
    pg_conn.execute(f"ALTER TABLE t SET (fillfactor = {fillfactor})")
    model = _seed(pg_conn, 15_000)
    plan, _ = _start_with_clients(runner, admin_dsn, model)
    assert "by pages (no key)" in _backfill_summary(plan)
    _check_main(pg_conn, model)




# Each shape: the table, its rows, and the row a client inserts above every key so far.
_TOP_INSERTS = {
    "sparse-int-key": ("t (id int PRIMARY KEY, a int)",
                       "SELECT g * 1000, g FROM generate_series(1, 60) g",
                       "SELECT max(id) + 1000, 1 FROM t"),
    "text-key": ("t (id text PRIMARY KEY, a int)",
                 "SELECT lpad(g::text, 6, '0'), g FROM generate_series(1, 60) g",
                 "SELECT max(id) || 'z', 1 FROM t"),
    "two-column-key": ("t (k int, id int, a int, PRIMARY KEY (k, id))",
                       "SELECT g, g, g FROM generate_series(1, 60) g",
                       "SELECT max(k) + 1, 0, 1 FROM t"),
    "no-key": ("t (id int, a int)",
               "SELECT g, g FROM generate_series(1, 60) g",
               "SELECT max(id) + 1, 1 FROM t"),
}


@pytest.mark.parametrize("shape", list(_TOP_INSERTS))
def test_rows_inserted_above_every_key_do_not_keep_the_backfill_going(
        admin_dsn: str, pg_conn: Connection, shape: str) -> None:
    """A client inserts a row above the last key after every batch (a table that takes
    inserts faster than a batch runs): the backfill covers the rows there were when it began
    and ends. The sync triggers fill the new rows. It used to chase the inserts as long as
    they came (a start that never ended on a busy table)."""
    table, rows, above = _TOP_INSERTS[shape]
    pg_conn.execute(f"CREATE TABLE {table}")
    pg_conn.execute(f"INSERT INTO t {rows}")
    pg_conn.execute("ANALYZE t")
    batches: list[int] = []
    inserter = psycopg.connect(admin_dsn, autocommit=True)

    def insert_above(_table: str, _done: int, _total: int) -> None:
        batches.append(_done)
        if len(batches) <= 200:  # the old backfill would follow them all
            inserter.execute(f"INSERT INTO t {above}")

    runner = make_runner(admin_dsn, batch_size=3, batch_time_ms=0, batch_delay=0.02,
                         on_progress=insert_above)
    try:
        plan = runner.start(migration("alter table t add x bigint up `a * 2`;", "02_x"))
    finally:
        inserter.close()
        runner.close()
    # 60 rows in batches of 3 (pages: every page at once), the first NOTICE says 0 rows;
    # twice over where the table is backfilled in two passes (each one ends where the rows
    # there were when it began end).
    passes = sum(s.kind is StepKind.BACKFILL for s in plan.start)
    assert len(batches) <= passes * (60 // 3 + 2), f"{len(batches)} batches for 60 rows"
    assert len(batches) >= 2
    inserted = pg_conn.execute("SELECT count(*) FROM t").fetchone()
    assert inserted is not None and inserted[0] > 60, "no row was inserted meanwhile"
    assert pg_conn.execute(f"SELECT count(*) FROM t WHERE ({UNDONE}) OR _pgroll_new_x IS "
                           "DISTINCT FROM a * 2").fetchone() == (0,)


@pytest.mark.parametrize("shape", [
    "partitioned",
    "inherited",
    "partitioned-with-key",
])
def test_partitioned_and_inherited_tables(admin_dsn: str, pg_conn: Connection,
                                          shape: str) -> None:
    runner = make_runner(admin_dsn, batch_size=50, batch_time_ms=0, backfill_workers=1)
    if shape == "inherited":
        pg_conn.execute("CREATE TABLE p (id int NOT NULL, a int, pad text)")
        pg_conn.execute("CREATE TABLE c () INHERITS (p)")
        pg_conn.execute("INSERT INTO p SELECT g, g, repeat('x', 50) FROM generate_series(1, 10) g")
        target = "c"
    else:
        key = ", PRIMARY KEY (id)" if shape.endswith("key") else ""
        pg_conn.execute(f"CREATE TABLE p (id int NOT NULL, a int, pad text{key}) "
                        "PARTITION BY RANGE (id)")
        pg_conn.execute("CREATE TABLE p1 PARTITION OF p FOR VALUES FROM (0) TO (3000)")
        pg_conn.execute("CREATE TABLE p2 PARTITION OF p FOR VALUES FROM (3000) TO (6000)")
        target = "p"
    pg_conn.execute(f"INSERT INTO {target} SELECT g, g, repeat('x', 50) "
                    "FROM generate_series(11, 5999) g")
    pg_conn.execute("ANALYZE p")
    runner.start(migration("alter table p add x bigint up `a * 2`;", "02_x"))
    left = pg_conn.execute(f"SELECT count(*) FROM p WHERE ({UNDONE}) OR _pgroll_new_x IS NULL "
                           "OR _pgroll_new_x <> a * 2").fetchone()
    assert left == (0,), f"{left[0] if left else '?'} rows of 5999 not backfilled"


def test_new_client_setting_the_new_column_to_null_is_kept(admin_dsn: str,
                                                           pg_conn: Connection) -> None:
    runner = make_runner(admin_dsn, two_passes=False, batch_size=5, batch_time_ms=0,
                         batch_delay=0.05)
    apply(runner, "create table t (id int primary key, a int, b text);")
    _seed(pg_conn, 100)
    done = threading.Event()
    result: list[Any] = []

    def new_client() -> None:
        try:
            with client(admin_dsn, NEW) as conn:
                while conn.execute(f"SELECT to_regclass('{NEW}.t')").fetchone() == (None,):
                    time.sleep(0.002)
                marked = conn.execute(f"SELECT {MARKER} FROM public.t WHERE id = 99").fetchone()
                conn.execute("UPDATE t SET x = NULL WHERE id = 99")
                result.append(marked)
        except Exception as err:  # noqa: BLE001
            result.append(err)
        finally:
            done.set()

    thread = threading.Thread(target=new_client, daemon=True)
    thread.start()
    runner.start(migration(MAIN, "02_x"))
    thread.join(timeout=30)
    assert result == [(True,)], result  # the write landed before the backfill reached it
    assert pg_conn.execute("SELECT _pgroll_new_x FROM t WHERE id = 99").fetchone() == (None,)


# ---- 2. workers: keys that pass through text ------------------------------------------------

# (key columns DDL, rows as SQL producing (key..., v))
_TEXTS = ["a", "a ", " a", "A", "", " ", "ä", "a\u0301", "\u00e1", "\U0001f600", "x" * 2000,
          "it's", '"q"', "back\\slash", "%", "_", "a,b", "(1,2)", "NULL", "null", "E", "é",
          "\t", "line\nbreak", "{}", "a\\", "ß", "SS", "ss"]
KEY_TYPES: dict[str, tuple[str, str]] = {
    "text": ("k text primary key",
             "SELECT 'k' || lpad(g::text, 4, '0'), g FROM generate_series(1, 600) g"),
    "text-collate-C": ('k text collate "C" primary key',
                       "SELECT 'k' || g, g FROM generate_series(1, 600) g"),
    "timestamptz": ("k timestamptz primary key",
                    "SELECT '2026-01-01 00:00:00.000001+00'::timestamptz + g * interval "
                    "'1.000001 second', g FROM generate_series(1, 600) g UNION ALL "
                    "VALUES ('infinity'::timestamptz, -1), ('-infinity', -2), "
                    "('4713-01-01 00:00 BC', -3), ('1999-12-31 23:59:59.999999+14', -4)"),
    "numeric": ("k numeric primary key",
                "SELECT g / 7.0, g FROM generate_series(1, 600) g UNION ALL VALUES "
                "('NaN', -1), (1e-30, -2), (-1e30, -3), (1.0000000000000000000000001, -4), "
                "(123456789012345678901234567890.123456789, -5)"),
    "uuid": ("k uuid primary key",
             "SELECT md5(g::text)::uuid, g FROM generate_series(1, 600) g"),
    "float8": ("k float8 primary key",
               "SELECT g + 0.12345678901234567, g FROM generate_series(1, 600) g UNION ALL "
               "VALUES ('-Infinity', -1), ('NaN', -2), (1e-300, -3)"),
    "bytea": ("k bytea primary key",
              "SELECT decode(md5(g::text), 'hex'), g FROM generate_series(1, 600) g UNION ALL "
              "VALUES ('\\x00'::bytea, -1), ('\\x'::bytea, -2)"),
    "interval": ("k interval primary key",
                 "SELECT g * interval '1 day 1.5 second', g FROM generate_series(1, 600) g"),
    "bigint-near-max-dense": ("k bigint primary key",
                              "SELECT 9223372036854775807 - g, g FROM generate_series(0, 600) g"),
    "smallint-negative-dense": ("k smallint primary key",
                                "SELECT (g - 32768)::smallint, g FROM generate_series(0, 600) g "
                                "UNION ALL VALUES (32767::smallint, -1)"),
    "bigint-extremes-sparse": ("k bigint primary key",
                               "SELECT g * 1000003, g FROM generate_series(-300, 300) g UNION "
                               "ALL VALUES (-9223372036854775808, -1), (9223372036854775807, -2)"),
    "unique-not-null-int": ("k int not null unique",
                            "SELECT g * 2, g FROM generate_series(1, 600) g"),
    "composite": ("k text not null, k2 timestamptz not null, constraint k_pk primary key "
                  "(k, k2)",
                  "SELECT 'k' || (g % 5), '2026-01-01'::timestamptz + g * interval '1 ms', g "
                  "FROM generate_series(1, 600) g UNION ALL VALUES "
                  "('a,b', '2026-01-01'::timestamptz, -1), ('a', '2026-01-01', -2), "
                  "('(a', '2026-01-01', -3)"),
}


def _key_table(conn: Connection, runner: Any, key: str, rows: str) -> int:
    conn.execute(f"CREATE TABLE k ({key}, v int)")  # made outside any migration
    conn.execute(f"INSERT INTO k {rows}")
    if key.startswith("k text primary key"):
        with conn.cursor() as cur:
            cur.executemany("INSERT INTO k VALUES (%s, %s)",
                            [(t, 10_000 + i) for i, t in enumerate(_TEXTS)])
    conn.execute("ANALYZE k")
    count = conn.execute("SELECT count(*) FROM k").fetchone()
    assert count is not None
    return int(count[0])


def _check_key_table(conn: Connection, count: int) -> None:
    rows = conn.execute(f"SELECT v, _pgroll_new_w, {UNDONE} FROM public.k").fetchall()
    assert len(rows) == count
    wrong = [r for r in rows if r[1] != r[0] * 3 or r[2]]
    assert not wrong, f"{len(wrong)} rows not backfilled: {wrong[:5]}"


@pytest.mark.parametrize("shape", list(KEY_TYPES))
def test_workers_keys_through_text(admin_dsn: str, pg_conn: Connection, shape: str) -> None:
    runner = make_runner(admin_dsn, batch_size=7, batch_time_ms=0, backfill_workers=4)
    count = _key_table(pg_conn, runner, *KEY_TYPES[shape])
    runner.start(migration("alter table k add w bigint up `v * 3`;", "02_x"))
    _check_key_table(pg_conn, count)


def test_workers_float_key_with_extra_float_digits_zero(admin_dsn: str,
                                                        pg_conn: Connection) -> None:
    pg_conn.execute(f'ALTER DATABASE "{pg_conn.info.dbname}" SET extra_float_digits = 0')
    runner = make_runner(admin_dsn, batch_size=7, batch_time_ms=0, backfill_workers=4)
    count = _key_table(pg_conn, runner, "k float8 primary key",
                       "SELECT g + 0.12345678901234567, g FROM generate_series(1, 200) g")
    runner.start(migration("alter table k add w bigint up `v * 3`;", "02_x"))
    _check_key_table(pg_conn, count)


def test_identity_key_and_a_generated_column(admin_dsn: str, pg_conn: Connection) -> None:
    """A GENERATED ALWAYS key (never written by the batches) and a stored generated column
    (recomputed by every UPDATE, the batches' too), with 4 workers."""
    pg_conn.execute("CREATE TABLE k (id int GENERATED ALWAYS AS IDENTITY PRIMARY KEY, v int, "
                    "g int GENERATED ALWAYS AS (v + 1) STORED)")
    pg_conn.execute("INSERT INTO k (v) SELECT g FROM generate_series(1, 500) g")
    pg_conn.execute("ANALYZE k")
    runner = make_runner(admin_dsn, batch_size=7, batch_time_ms=0, backfill_workers=4)
    runner.start(migration("alter table k add w bigint up `v * 3`;\n"
                           "alter table k add h bigint up `g * 2`;", "02_x"))
    _check_key_table(pg_conn, 500)
    assert pg_conn.execute("SELECT count(*) FROM k WHERE _pgroll_new_h = (v + 1) * 2"
                           ).fetchone() == (500,)


@pytest.mark.parametrize("rows", [0, 2, 5], ids=["empty", "fewer-rows-than-workers", "five"])
def test_workers_small_tables(admin_dsn: str, pg_conn: Connection, rows: int) -> None:
    runner = make_runner(admin_dsn, batch_size=1, batch_time_ms=0, backfill_workers=4)
    count = _key_table(pg_conn, runner, "k int primary key",
                       f"SELECT g, g FROM generate_series(1, {rows}) g")
    runner.start(migration("alter table k add w bigint up `v * 3`;", "02_x"))
    _check_key_table(pg_conn, count)


def test_workers_stale_estimate(admin_dsn: str, pg_conn: Connection) -> None:
    """The row estimate far above (most rows deleted after ANALYZE) or below the truth."""
    runner = make_runner(admin_dsn, batch_size=3, batch_time_ms=0, backfill_workers=4)
    count = _key_table(pg_conn, runner, "k int primary key",
                       "SELECT g, g FROM generate_series(1, 2000) g")
    pg_conn.execute("DELETE FROM k WHERE k > 30")
    pg_conn.execute("INSERT INTO k SELECT -g, -g FROM generate_series(1, 500) g")
    runner.start(migration("alter table k add w bigint up `v * 3`;", "02_x"))
    _check_key_table(pg_conn, count - 1970 + 500)


@pytest.mark.parametrize("workers", [4, 1])
def test_a_failing_batch_rolls_back_cleanly(admin_dsn: str, pg_conn: Connection,
                                            workers: int) -> None:
    """One row in one worker's share violates the copy's CHECK: start fails, everything is
    undone (schema and rows), and a corrected migration then runs."""
    runner = make_runner(admin_dsn, batch_size=7, batch_time_ms=0, backfill_workers=workers)
    apply(runner, "create table t (id int primary key, a int, b text);")
    _seed(pg_conn, 600)
    pg_conn.execute("UPDATE t SET a = 5000 WHERE id = 450")
    before_schema = fm.fingerprint(pg_conn)
    before_rows = table_rows(pg_conn, "t")
    before_objects = triggers_and_functions(pg_conn)
    with pytest.raises(CommandError, match="start failed, changes rolled back"):
        runner.start(migration("alter table t alter a add constraint a_small check `a < 1000` "
                               "up `a`;", "02_x"))
    assert fm.fingerprint_diff(before_schema, fm.fingerprint(pg_conn)) == []
    assert table_rows(pg_conn, "t") == before_rows
    assert triggers_and_functions(pg_conn) == before_objects
    assert runner.status()["status"] == "Complete"
    runner.start(migration("alter table t alter a add constraint a_small check `a < 1000` "
                           "up `least(a, 999)`;", "02_y"))
    _no_marker_left(pg_conn)
    assert pg_conn.execute("SELECT _pgroll_new_a FROM t WHERE id = 450").fetchone() == (999,)


def test_workers_wait_out_a_client_holding_a_row_lock(admin_dsn: str,
                                                      pg_conn: Connection) -> None:
    _row_lock_during_backfill(admin_dsn, pg_conn, workers=4)


def test_one_connection_waits_out_a_client_holding_a_row_lock(admin_dsn: str,
                                                              pg_conn: Connection) -> None:
    _row_lock_during_backfill(admin_dsn, pg_conn, workers=1)


def _row_lock_during_backfill(admin: str, conn: Connection, workers: int) -> None:
    runner = make_runner(admin, batch_size=50, batch_time_ms=0, batch_delay=0.01,
                         backfill_workers=workers)
    apply(runner, "create table t (id int primary key, a int, b text);")
    model = _seed(conn, 4000)
    holder = psycopg.connect(admin)
    held = threading.Event()

    def hold() -> None:
        while conn.execute(f"SELECT to_regclass('{NEW}.t')").fetchone() == (None,):
            time.sleep(0.002)
        holder.execute("UPDATE public.t SET a = a WHERE id = 3999")  # a transaction left open
        held.set()
        time.sleep(1.5)  # three times the lock_timeout of 500 ms
        holder.commit()

    thread = threading.Thread(target=hold, daemon=True)
    thread.start()
    try:
        runner.start(migration(MAIN, "02_x"))
    finally:
        thread.join(timeout=30)
        holder.close()
    assert held.is_set()
    _check_main(conn, model)


def test_a_statement_timeout_does_not_cut_the_backfill(admin_dsn: str,
                                                       pg_conn: Connection) -> None:
    pg_conn.execute(f'ALTER DATABASE "{pg_conn.info.dbname}" SET statement_timeout = 400')
    runner = make_runner(admin_dsn, batch_size=50, batch_time_ms=0, batch_delay=0.02)
    apply(runner, "create table t (id int primary key, a int, b text);")
    model = _seed(pg_conn, 2000)  # 40 batches, 0.8 s at least
    runner.start(migration(MAIN, "02_x"))
    _check_main(pg_conn, model)


def test_an_idle_session_timeout_does_not_end_the_session_that_waits_for_workers(
        admin_dsn: str, pg_conn: Connection) -> None:
    """While backfill workers run, the executor's own session waits for them, idle, holding
    the run lock. A role's or a database's ``idle_session_timeout`` shorter than the backfill
    ended it: start stopped with "terminating connection due to idle-session timeout", and
    again on every resume of a backfill that takes longer."""
    pg_conn.execute(f'ALTER DATABASE "{pg_conn.info.dbname}" SET idle_session_timeout = 300')
    runner = make_runner(admin_dsn, batch_size=50, batch_time_ms=0, batch_delay=0.02,
                         backfill_workers=2)
    apply(runner, "create table t (id int primary key, a int, b text);")
    model = _seed(pg_conn, 4000)  # 40 batches a worker, 0.8 s at least
    runner.start(migration(MAIN, "02_x"))
    assert not runner.conn.closed
    _check_main(pg_conn, model)
    runner.complete()


def test_a_transaction_timeout_does_not_cut_a_long_step(admin_dsn: str,
                                                        pg_conn: Connection) -> None:
    """A step longer than a role's or a database's ``transaction_timeout`` (PostgreSQL 17):
    here author SQL, elsewhere a VALIDATE or an index build on a big table."""
    if pg_conn.info.server_version < 170000:
        pytest.skip("transaction_timeout is new in PostgreSQL 17")
    pg_conn.execute(f'ALTER DATABASE "{pg_conn.info.dbname}" SET transaction_timeout = 300')
    runner = make_runner(admin_dsn)
    apply(runner, "create table t (id int primary key, a int, b text);")
    runner.start(migration("sql up `SELECT pg_sleep(0.6)` down `SELECT 1`;", "02_slow"))
    runner.complete()


# ---- 3. the fallback to the triggers, hostile names ---------------------------------------

FALLBACKS = {
    "chained": ("alter table t alter a type bigint up `a + 1` down `a - 1`;\n"
                "alter table t add y bigint up `a * 10`;", "the triggers fill the copies"),
    "reads-a-rewritten-column": ("alter table t alter a type bigint up `a + 1` down `a - 1`;\n"
                                 "alter table t alter b type int up `a + length(b)` "
                                 "down `b::text`;", "the triggers fill the copies"),
    "subquery": ("alter table t add cnt bigint up `(select count(*) from other "
                 "where other.tid = a)`;", "the triggers fill the copies"),
    "text-to-int": ("alter table t alter b type int up `b` down `b::text`;", ""),
    "key-type-change": ("alter table t alter id type bigint up `id * 10` down `id / 10`;",
                        "writing the copies itself"),
    "two-fast": ("alter table t add x bigint up `a * 2`;\n"
                 "alter table t alter b type int up `b::int + a` down `b::text`;",
                 "writing the copies itself"),
}


@pytest.mark.parametrize("case", list(FALLBACKS))
def test_fallbacks_with_an_old_client_writing(admin_dsn: str, pg_conn: Connection,
                                              case: str) -> None:
    """(As a superuser only: where the triggers fill the copies, the role makes no
    difference; the equivalence tests run every case as an owner too.)"""
    text, way = FALLBACKS[case]
    runner = make_runner(admin_dsn, batch_size=40, batch_time_ms=0, batch_delay=0.003)
    apply(runner, "create table t (id int primary key, a int, b text);\n"
                  "create table other (id int primary key, tid int);")
    pg_conn.execute("INSERT INTO other SELECT g, g % 50 FROM generate_series(1, 500) g")
    model = _seed(pg_conn, 6000)
    plan, _ = _start_with_clients(runner, admin_dsn, model, text, new_client=False)
    assert way in _backfill_summary(plan)
    _no_marker_left(pg_conn)
    old = {r[0]: (r[1], r[2]) for r in pg_conn.execute("SELECT id, a, b FROM public.t")}
    assert old == {k: (int(v.a), v.b) for k, v in model.items()}
    before, after = _recomputed_by_triggers(pg_conn)
    assert before == after


HOSTILE = ('create table h (id int primary key, size int, fast text, page text, lower_0 text, '
           '"Mixed Case" text, "we""ird" text, found int, "it\'s" text, "FOUND" int);')
HOSTILE_ROWS = ("INSERT INTO h SELECT g, g * 2, 'f' || g, 'p' || g, 'l' || g, 'M' || g, "
                "'w' || g, g * 3, 'i' || g, g * 5 FROM generate_series(1, 300) g")


@pytest.mark.parametrize(("up", "way"), [
    ('size::text || fast || page || lower_0 || "Mixed Case" || "we""ird" || "it\'s"',
     "writing the copies itself"),
    ('found + "FOUND" + size', ""),  # PL/pgSQL's FOUND: the probe fails, the triggers fill
    ('case when found > 10 then size else "FOUND" end', ""),
], ids=["plain-hostile-names", "found", "found-in-case"])
def test_hostile_column_names(role_dsn: str, pg_conn: Connection, up: str, way: str) -> None:
    runner = make_runner(role_dsn, batch_size=7, batch_time_ms=0)
    apply(runner, HOSTILE)
    pg_conn.execute(HOSTILE_ROWS)
    kind = "text" if "||" in up else "bigint"
    plan = runner.start(migration(f"alter table h add y {kind} up `{up}`;", "02_x"))
    assert way in _backfill_summary(plan)
    _no_marker_left(pg_conn, "h")
    before, after = _recomputed_by_triggers(pg_conn, "h")
    assert before == after
    assert all(r[0] is not None for r in pg_conn.execute("SELECT _pgroll_new_y FROM h"))




@pytest.mark.parametrize(("columns", "key"), [
    ('"found" int primary key, a int', "found"),
    ('"_pgroll_size" int primary key, a int', "_pgroll_size"),
    ('id int primary key, "_pgroll_lower_0" int, a int', "id"),
    ('id int, "_pgroll_page" int, a int', "no key"),
    ('"size" int primary key, a int', "size"),
    ('"Mixed Case" int primary key, a int', "Mixed Case"),
    ('"we""ird" int primary key, a int', 'we"ird'),
    ('"FOUND" int primary key, a int', "FOUND"),
], ids=["key-found", "key-_pgroll_size", "column-_pgroll_lower_0", "no-key-_pgroll_page",
        "key-size", "key-Mixed-Case", "key-quote", "key-FOUND-upper-case"])
def test_hostile_key_and_variable_names(admin_dsn: str, pg_conn: Connection, columns: str,
                                        key: str) -> None:
    runner = make_runner(admin_dsn, batch_size=5, batch_time_ms=0)
    apply(runner, f"create table h ({columns});")
    pg_conn.execute("INSERT INTO h SELECT g, g, g FROM generate_series(1, 40) g"
                    if columns.count(" int") == 3 else
                    "INSERT INTO h SELECT g, g FROM generate_series(1, 40) g")
    plan = runner.start(migration("alter table h add y bigint up `a * 2`;", "02_x"))
    assert key.split()[0] in _backfill_summary(plan)
    _no_marker_left(pg_conn, "h")
    assert pg_conn.execute("SELECT count(*) FROM h WHERE _pgroll_new_y = a * 2"
                           ).fetchone() == (40,)


# ---- 5. the table's own triggers -----------------------------------------------------------

USER_TABLES = """
create table t (id int primary key, a int, b text,
                updated_at timestamptz not null default '2000-01-01');
create table audit (id bigserial primary key, t_id int);
"""
USER_TRIGGERS = """
create function touch() returns trigger language plpgsql as $$ begin
  new.updated_at := now(); return new; end $$;
create function audited() returns trigger language plpgsql as $$ begin
  insert into audit (t_id) values (new.id); return new; end $$;
create trigger touch before update on t for each row execute function touch();
create trigger audited after update on t for each row execute function audited();
"""


def test_user_triggers_superuser_vs_owner(role_dsn: str, admin_dsn: str,
                                          pg_conn: Connection) -> None:
    """Documents what the backfill does to a table's own triggers.

    As a superuser (session_replication_role = replica) the table's own triggers do not
    fire: updated_at is left alone and no audit row is written. As a plain owner they fire
    for every backfilled row, as pgroll's backfill does: updated_at of every row is set to
    the backfill's time and one audit row is written per row.
    """
    runner = make_runner(role_dsn, batch_size=50, batch_time_ms=0)
    apply(runner, USER_TABLES)
    pg_conn.execute(USER_TRIGGERS)
    pg_conn.execute("INSERT INTO t (id, a, b) SELECT g, g, g::text "
                    "FROM generate_series(1, 200) g")
    runner.start(migration("alter table t add x bigint up `a * 2`;", "02_x"))
    _no_marker_left(pg_conn)
    touched = pg_conn.execute("SELECT count(*) FROM t WHERE updated_at > '2000-01-01'"
                              ).fetchone()
    audited = pg_conn.execute("SELECT count(*) FROM audit").fetchone()
    if role_dsn == admin_dsn:
        assert (touched, audited) == ((0,), (0,))
    else:
        assert (touched, audited) == ((200,), (200,))
    assert pg_conn.execute("SELECT count(*) FROM t WHERE _pgroll_new_x = a * 2"
                           ).fetchone() == (200,)


CLEAN = """
create function clean() returns trigger language plpgsql as $$ begin
  new.b := btrim(new.b); return new; end $$
"""


@pytest.mark.parametrize("name", [
    "Clean",
    "clean",
])
def test_owner_with_a_user_trigger_that_rewrites_what_up_reads(
        owner_dsn: str, pg_conn: Connection, name: str) -> None:
    """The copy must be up of the row's final old value, as an old client's write gives."""
    runner = make_runner(owner_dsn, batch_size=10, batch_time_ms=0)
    apply(runner, "create table t (id int primary key, a int, b text);")
    pg_conn.execute(CLEAN)
    pg_conn.execute("INSERT INTO t SELECT g, g, '  b' || g || '  ' "
                    "FROM generate_series(1, 50) g")
    pg_conn.execute(f'CREATE TRIGGER "{name}" BEFORE INSERT OR UPDATE ON t '
                    "FOR EACH ROW EXECUTE FUNCTION clean()")
    runner.start(migration("alter table t add y text up `'<' || b || '>'`;", "02_x"))
    _no_marker_left(pg_conn)
    rows = pg_conn.execute("SELECT id, b, _pgroll_new_y FROM t").fetchall()
    if name == "clean":  # fires after the sync triggers: for clients too, y is up(b) before
        return           # the trim; documented here, the same either way
    wrong = [r for r in rows if r[2] != f"<{r[1]}>"]
    assert not wrong, wrong[:5]


CROSS_TABLES = """
create table u (id int primary key, cnt int not null);
create table t (id int primary key, a int, uid int);
"""
CROSS = """
create function count_t() returns trigger language plpgsql as $$ begin
  update u set cnt = cnt + 1 where id = new.uid; return new; end $$;
create trigger count_t after update on t for each row execute function count_t();
"""


def test_owner_user_trigger_writing_another_migrated_table(owner_dsn: str,
                                                           pg_conn: Connection) -> None:
    runner = make_runner(owner_dsn, batch_size=10, batch_time_ms=0)
    apply(runner, CROSS_TABLES)
    pg_conn.execute(CROSS)
    pg_conn.execute("INSERT INTO u SELECT g, 0 FROM generate_series(1, 10) g")
    pg_conn.execute("INSERT INTO t SELECT g, g, g % 10 + 1 FROM generate_series(1, 100) g")
    runner.start(migration("alter table u add c2 bigint up `cnt * 2`;\n"
                           "alter table t add x bigint up `a`;", "02_x"))
    _no_marker_left(pg_conn, "u")
    _no_marker_left(pg_conn)
    rows = pg_conn.execute("SELECT id, cnt, _pgroll_new_c2 FROM u ORDER BY id").fetchall()
    assert all(c2 == cnt * 2 for _, cnt, c2 in rows), rows


# ---- 6. a start killed inside the backfill ---------------------------------------------------

SETUP_KILL = "create table t (id int primary key, a int, b text);"
# The killed process's backend runs the DO block on until a NOTICE finds the socket closed:
# a delay between batches keeps it from finishing the table meanwhile.
KILL_ARGS = ["--backfill-batch-size", "3", "--backfill-batch-delay", "0.05"]


def _marked(conn: Connection) -> int:
    row = conn.execute(f"SELECT count(*) FROM public.t WHERE {UNDONE}").fetchone()
    assert row is not None
    return int(row[0])


def _between_kill_and_recovery(admin: str, model: dict[int, Row]) -> None:
    """Old and new clients write rows the killed backfill had not reached, and some it had.

    Killed in a first pass (two passes), there is no new version yet: the old one writes
    those rows instead.
    """
    with psycopg.connect(admin, autocommit=True) as c:
        row = c.execute("SELECT to_regnamespace(%s) IS NOT NULL", (NEW,)).fetchone()
    has_new = bool(row and row[0])
    with client(admin, OLD) as old, client(admin, NEW if has_new else OLD) as new:
        for key in (300, 299, 2):
            old.execute("UPDATE t SET a = a + 1000, b = '77' WHERE id = %s", (key,))
            model[key].a, model[key].b, model[key].x = model[key].a + 1000, "77", None
        for key in (298, 297, 3):
            if not has_new:
                old.execute("UPDATE t SET b = '55' WHERE id = %s", (key,))
                model[key].b = "55"
                continue
            new.execute("UPDATE t SET x = %s, b = 55 WHERE id = %s", (-key, key))
            model[key].x, model[key].b = -key, "55"
        old.execute("INSERT INTO t VALUES (1001, 1, '1')")
        model[1001] = Row(1, "1", None)
        if not has_new:
            old.execute("INSERT INTO t VALUES (1002, 2, '2')")
            model[1002] = Row(2, "2", None)
        else:
            new.execute("INSERT INTO t VALUES (1002, 2, 2, -5)")
            model[1002] = Row(2, "2", -5)
        old.execute("DELETE FROM t WHERE id = 296")
        del model[296]


def _cli_until_done(args: list[str], dsn: str) -> fm.CliResult:
    deadline = time.monotonic() + 10
    while True:
        result = fm.cli(args, dsn)
        if result.returncode == 0 or "backend pid" not in result.stderr \
                or time.monotonic() > deadline:
            return result
        time.sleep(0.2)


@pytest.mark.parametrize("recovery", ["start", "rollback"])
def test_killed_inside_the_backfill(admin_dsn: str, pg_conn: Connection, tmp_path: Path,
                                    recovery: str) -> None:
    runner = make_runner(admin_dsn)
    apply(runner, SETUP_KILL)
    runner.close()
    model = _seed(pg_conn, 300)
    file = fm.write_file(tmp_path, "02_x", MAIN)
    killed = fm.cli(["start", str(file), *KILL_ARGS], admin_dsn,
                    env={"PGROLL_DSL_KILL_AT": "backfill:2"})
    assert killed.killed, killed.describe()
    assert 0 < _marked(pg_conn) < 300
    _between_kill_and_recovery(admin_dsn, model)
    args = ["start", str(file), *KILL_ARGS] if recovery == "start" \
        else ["rollback"]
    result = _cli_until_done(args, admin_dsn)
    assert result.returncode == 0, result.describe()
    if recovery == "start":
        _check_main(pg_conn, model)
    else:
        rows = {r[0]: (r[1], r[2]) for r in pg_conn.execute("SELECT id, a, b FROM public.t")}
        assert rows == {k: (v.a, v.b) for k, v in model.items()}
        assert [c for c in fm.fingerprint(pg_conn)["columns"] if "_pgroll" in str(c)] == []


_KILLED_WORKERS = """
import os, signal, sys
from pgroll_dsl import api
from pgroll_dsl.backends.live import Session
from pgroll_dsl.backends.runner import Runner, RunOptions
done = [0]
def progress(table, rows, total):
    if rows > 0:
        done[0] += 1
        if done[0] >= 6:
            os.kill(os.getpid(), signal.SIGKILL)
runner = Runner(RunOptions(session=Session(url=sys.argv[1]), batch_size=3, batch_time_ms=0,
                           batch_delay=0.05, backfill_workers=4, on_progress=progress,
                           two_passes=False))
runner.start(api.compile_source(sys.argv[2], "02_x.pgroll").migration)
"""


def test_workers_killed_inside_the_backfill_then_resumed(admin_dsn: str,
                                                         pg_conn: Connection) -> None:
    runner = make_runner(admin_dsn)
    apply(runner, SETUP_KILL)
    model = _seed(pg_conn, 300)
    process = subprocess.run([sys.executable, "-c", textwrap.dedent(_KILLED_WORKERS),
                              admin_dsn, MAIN], capture_output=True, text=True, timeout=60,
                             env={k: v for k, v in os.environ.items()
                                  if not k.startswith("PGROLL")}, check=False)
    assert process.returncode == -signal.SIGKILL, process.stderr
    # The server's backends go on with their DO blocks until a notice finds the client gone;
    # the delay between batches (0.05 s) keeps them from finishing the table first.
    assert 0 < _marked(pg_conn) < 300
    _between_kill_and_recovery(admin_dsn, model)
    deadline = time.monotonic() + 10
    while True:
        try:
            runner.start(migration(MAIN, "02_x"))
            break
        except CommandError as err:
            if "backend pid" not in str(err) or time.monotonic() > deadline:
                raise
            time.sleep(0.2)
    _check_main(pg_conn, model)


@pytest.mark.parametrize("workers", [1, 4])
def test_a_row_moved_to_another_partition_under_a_batch(admin_dsn: str, pg_conn: Connection,
                                                        workers: int) -> None:
    """A client moves a row to another partition in a transaction while a batch waits for
    that row: when the client commits, the batch fails with "tuple to be locked was already
    moved to another partition" (40001). The backfill runs that batch again and ends, every
    row filled. (Found by the review of the trigger skip, once in a full run; here forced.)"""
    pg_conn.execute("CREATE TABLE p (id int, k int, a int, PRIMARY KEY (id, k)) "
                    "PARTITION BY LIST (k)")
    pg_conn.execute("CREATE TABLE p1 PARTITION OF p FOR VALUES IN (1)")
    pg_conn.execute("CREATE TABLE p2 PARTITION OF p FOR VALUES IN (2)")
    pg_conn.execute("INSERT INTO p SELECT g, 1, g FROM generate_series(1, 50) g")
    pg_conn.execute("ANALYZE p")
    mover = psycopg.connect(admin_dsn, application_name="mover")
    pid = mover.info.backend_pid
    moved, met, released = threading.Event(), threading.Event(), threading.Event()

    def release_when_waited_for() -> None:
        deadline = time.monotonic() + 30
        with psycopg.connect(admin_dsn, autocommit=True) as probe:
            while time.monotonic() < deadline:
                waiting = probe.execute(
                    "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' "
                    "AND %s = ANY(pg_blocking_pids(pid))",
                    (pid,)).fetchone()
                if waiting and waiting[0]:
                    met.set()
                    break
                time.sleep(0.01)
        mover.commit()  # the row leaves p1 under the waiting batch
        released.set()

    def on_step(event: Any) -> None:
        if event.step is not None and event.step.kind is StepKind.BACKFILL \
                and not moved.is_set():
            moved.set()
            mover.execute("UPDATE p SET k = 2, a = 1000 WHERE id = 1 AND k = 1")
            threading.Thread(target=release_when_waited_for, daemon=True).start()

    runner = make_runner(admin_dsn, batch_size=10, batch_time_ms=0,
                         backfill_workers=workers, on_step=on_step)
    try:
        runner.start(migration("alter table p add x bigint up `a * 2`;", "02_x"))
    finally:
        runner.close()
        released.wait(30)
        mover.close()
    assert met.is_set(), "the client's move never met a batch"
    assert pg_conn.execute("SELECT id, k, _pgroll_new_x FROM p WHERE id = 1").fetchone() == \
        (1, 2, 2000)
    left = pg_conn.execute(f"SELECT count(*) FROM p WHERE ({UNDONE}) OR _pgroll_new_x IS "
                           "DISTINCT FROM a * 2").fetchone()
    assert left == (0,)


@pytest.mark.parametrize("isolation", ["repeatable read", "serializable"])
def test_a_default_isolation_level_of_the_role_does_not_fail_the_backfill(
        admin_dsn: str, pg_conn: Connection, isolation: str) -> None:
    """A role or a database may make every transaction REPEATABLE READ or SERIALIZABLE. A
    batch that waited for a client's row lock then failed with a serialization error (and was
    run again from the block's start) where READ COMMITTED re-checks the row: the executor's
    sessions are READ COMMITTED, and no batch is retried."""
    escaped = isolation.replace(" ", "\\ ")
    dsn = make_conninfo(admin_dsn, options=f"-c default_transaction_isolation={escaped}")
    retries: list[tuple[Any, int, float]] = []
    runner = make_runner(dsn, two_passes=False, batch_size=40, batch_time_ms=0,
                         batch_delay=0.003,  # one pass: new clients write during it
                         on_retry=lambda *retry: retries.append(retry))
    with psycopg.connect(dsn) as other:  # what any other session of the role gets
        assert other.execute("SHOW default_transaction_isolation").fetchone() == (isolation,)
    apply(runner, "create table t (id int primary key, a int, b text);")
    model = _seed(pg_conn, 4000)
    _start_with_clients(runner, admin_dsn, model)
    _check_main(pg_conn, model)
    runner.complete()
    assert not retries, [(step.summary, attempt) for step, attempt, _delay in retries]
