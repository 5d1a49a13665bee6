"""Helpers for the tests of the live executor: a Runner on a test database, version clients.

A test database comes from the ``pg_conn`` fixture of ``tests/postgres.py``; ``dsn_of`` turns
it into a connection string the Runner and the clients use. A *client* is what an
application deployed against one version of the schema does: an autocommit connection whose
``search_path`` is that version schema.
"""

from __future__ import annotations

import os
import re
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psycopg
from psycopg import sql
from psycopg.conninfo import make_conninfo

from pgroll_dsl import api, ir
from pgroll_dsl.backends.live import Session
from pgroll_dsl.backends.runner import Runner, RunOptions, StepEvent
from pgroll_dsl.catalog.derived import BACKFILL_SETTING, TRIGGER_PREFIX
from pgroll_dsl.catalog.introspect import introspect
from pgroll_dsl.catalog.model import Catalog
from pgroll_dsl.embedded import EmbeddedServer
from pgroll_dsl.plan.model import Phase, Plan, Step, StepKind
from pgroll_dsl.plan.triggers import is_new_version
from pgroll_dsl.sql.quoting import quote_literal

Connection = psycopg.Connection[tuple[Any, ...]]

SCHEMA = "public"
BATCH_SIZE = 3  # small: even a handful of rows takes several backfill batches


def dsn_of(pg_dsn: str, pg_conn: Connection) -> str:
    """A connection string for the test's own database."""
    return make_conninfo(pg_dsn, dbname=pg_conn.info.dbname)


@contextmanager
def owner_of_t(pg_conn: Connection, dsn: str, role: str, rows: int) -> Iterator[str]:
    """A login role, not a superuser, that owns ``public`` and ``t`` (``rows`` rows of
    ``id bigint``, ``v int``); the DSN connects as it. Dropped afterwards, with what it owns.
    """
    pg_conn.execute(f'CREATE ROLE "{role}" LOGIN')
    pg_conn.execute(f'GRANT ALL ON DATABASE "{pg_conn.info.dbname}" TO "{role}"')
    pg_conn.execute(f'ALTER SCHEMA public OWNER TO "{role}"')
    as_role = make_conninfo(dsn, user=role)
    with psycopg.connect(as_role, autocommit=True) as owner:
        owner.execute("CREATE TABLE t (id bigint PRIMARY KEY, v int NOT NULL)")
        owner.execute(f"INSERT INTO t SELECT g, g FROM generate_series(1, {rows}) g")
        owner.execute("ANALYZE t")
    try:
        yield as_role
    finally:
        pg_conn.execute(f'ALTER ROLE "{role}" CONNECTION LIMIT -1')
        pg_conn.execute(f'REASSIGN OWNED BY "{role}" TO CURRENT_USER')
        pg_conn.execute(f'DROP OWNED BY "{role}"')
        pg_conn.execute(f'DROP ROLE "{role}"')


def make_runner(dsn: str, batch_size: int | None = BATCH_SIZE, *, init: bool = True,
                lock_timeout_ms: int = 500, holder_wait_s: float = 60.0,
                **options: Any) -> Runner:
    """A Runner on the test database's ``public`` schema (initialised unless told not to).

    ``options`` are further fields of :class:`RunOptions` (``on_retry``, ``on_progress``...).
    """
    runner = Runner(RunOptions(
        session=Session(url=dsn, schema=SCHEMA, lock_timeout_ms=lock_timeout_ms,
                        holder_wait_s=holder_wait_s),
        batch_size=batch_size, **options,
    ))
    if init:
        runner.init()
    return runner


def migration(text: str, name: str) -> ir.Migration:
    """A DSL migration; ``name`` is the file stem (and so the version schema's suffix)."""
    return api.compile_source(text, f"{name}.pgroll").migration


def version_schema(name: str) -> str:
    """The version schema of the migration ``name`` on the target schema."""
    return f"{SCHEMA}_{name}"


def apply(runner: Runner, text: str, name: str = "01_setup") -> Plan:
    """Start and complete a migration, so that its version schema exists (an OLD version)."""
    plan = runner.start(migration(text, name))
    runner.complete()
    return plan


def applied(dsn: str, text: str, name: str = "01_setup") -> None:
    """``apply`` on a runner of its own, closed afterwards."""
    runner = make_runner(dsn)
    try:
        apply(runner, text, name)
    finally:
        runner.close()


@contextmanager
def own_server(**settings: str) -> Iterator[str]:
    """A server of the caller's own, with ``settings`` beside the test servers' (of the
    programs ``PGROLL_DSL_TEST_PG_BIN`` names, if set); its superuser's DSN."""
    programs = os.environ.get("PGROLL_DSL_TEST_PG_BIN")
    server = EmbeddedServer(programs=Path(programs) if programs else None, settings=settings)
    server.start()
    try:
        yield server.dsn
    finally:
        server.stop()


def client(dsn: str, version: str, *, replica: bool = False) -> Connection:
    """An application of one version: autocommit, ``search_path`` set to its version schema.

    ``replica``: with ``session_replication_role = replica`` (a superuser's), as a logical
    replication apply worker or a bulk load that skips foreign keys writes.
    """
    conn = psycopg.connect(dsn, autocommit=True, application_name=f"client {version}")
    conn.execute(sql.SQL("SET search_path TO {}").format(sql.Identifier(version)))
    if replica:
        conn.execute("SET session_replication_role = replica")
    return conn


def after_the_triggers(step: Step | None) -> bool:
    """A backfill step that runs once the sync triggers exist: the only pass, or the second.

    (A table backfilled in two passes has a first one right before its sync triggers, see
    plan/backfill.py: then no trigger nor anything of the new version exists yet.)
    """
    return step is not None and step.kind is StepKind.BACKFILL \
        and ", first pass, before its sync triggers exist" not in step.summary


def runner_at_backfill(dsn: str, actions: Callable[[], None], schema: str = SCHEMA,
                       two_passes: bool = False) -> tuple[Runner, threading.Event]:
    """A Runner on ``schema`` that runs ``actions`` once, just before the backfill step.

    The rows are then still marked as not backfilled: what ``actions`` write lands on rows
    the backfill has not reached, every time. The event says whether ``actions`` ran. One
    pass unless told (``two_passes``): with two, the new version appears only once every copy
    is filled, and no client of it meets such a row.
    """
    done = threading.Event()

    def hook(event: StepEvent) -> None:
        step = event.step
        if event.phase is Phase.START and after_the_triggers(step) \
                and not event.in_transaction and not done.is_set():
            done.set()
            actions()

    runner = Runner(RunOptions(session=Session(url=dsn, schema=schema),
                               batch_size=BATCH_SIZE, on_step=hook, two_passes=two_passes))
    runner.init()
    return runner, done


def sqlstate_of(conn: Connection, statement: str, message: bool = False) -> str | None:
    """None if ``statement`` ran, else the SQLSTATE it failed with (and its first line)."""
    try:
        conn.execute(statement)
    except psycopg.Error as err:
        return f"{err.sqlstate}: {str(err).splitlines()[0]}" if message else str(err.sqlstate)
    return None


def rows_by_id(conn: Connection, table: str) -> dict[int, dict[str, Any]]:
    """Every row of ``table`` (as SQL names it) that the connection sees, by its first column."""
    cursor = conn.execute(f"SELECT * FROM {table}")
    assert cursor.description is not None
    names = [c.name for c in cursor.description]
    return {r[0]: dict(zip(names, r, strict=True)) for r in cursor.fetchall()}


def twin_differences(rows: dict[int, dict[str, Any]], version: str, twin: int) -> list[str]:
    """Rows ``r < twin`` that differ from their twin ``r + twin`` (``id`` aside), in words.

    The review tests seed twins alike and write one before the backfill, the other after:
    the triggers and the backfill must leave them alike.
    """
    found = []
    for row_id in sorted(r for r in rows if r < twin):
        mine = {k: v for k, v in rows[row_id].items() if k != "id"}
        other = {k: v for k, v in rows.get(row_id + twin, {}).items() if k != "id"}
        if mine != other:
            found.append(f"{version} version: row {row_id} (written before the backfill) "
                         f"{mine} != row {row_id + twin} (after) {other}")
    return found


@contextmanager
def clients(dsn: str, *versions: str) -> Iterator[list[Connection]]:
    """Several clients, closed on the way out."""
    opened = [client(dsn, v) for v in versions]
    try:
        yield opened
    finally:
        for conn in opened:
            conn.close()


def query(conn: Connection, statement: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Run a query and return its rows (an empty list for a statement without result)."""
    cursor = conn.execute(statement, params)
    return cursor.fetchall() if cursor.description is not None else []


def one(conn: Connection, statement: str, params: tuple[Any, ...] = ()) -> tuple[Any, ...]:
    """The single row a query returns."""
    rows = query(conn, statement, params)
    assert len(rows) == 1, (statement, rows)
    return rows[0]


def values(conn: Connection, table: str, column: str) -> dict[int, Any]:
    """id -> the column's value, through a client."""
    return dict(query(conn, f"select id, {column} from {table}"))


def table_rows(conn: Connection, table: str, schema: str = SCHEMA) -> list[tuple[Any, ...]]:
    """Every row of a physical table (every column, markers included), in a stable order.

    During a migration the backfill's marker reads as whether the row still waits for the
    backfill, and with two passes only while its ``_pgroll_backfilled_by`` (left out: a
    transaction id) is not its ``xmin``.
    """
    names = [str(r[0]) for r in conn.execute(
        "SELECT attname FROM pg_catalog.pg_attribute WHERE attrelid = %s::regclass"
        " AND attnum > 0 AND NOT attisdropped ORDER BY attnum",
        (sql.Identifier(schema, table).as_string(conn),)).fetchall()]
    if "_pgroll_backfilled_by" not in names:
        statement = sql.SQL("SELECT * FROM {}").format(sql.Identifier(schema, table))
        return sorted(conn.execute(statement).fetchall(), key=repr)
    fields = [sql.SQL("_pgroll_needs_backfill AND _pgroll_backfilled_by IS DISTINCT FROM xmin")
              if name == "_pgroll_needs_backfill" else sql.Identifier(name)
              for name in names if name != "_pgroll_backfilled_by"]
    statement = sql.SQL("SELECT {} FROM {}").format(sql.SQL(", ").join(fields),
                                                      sql.Identifier(schema, table))
    return sorted(conn.execute(statement).fetchall(), key=repr)


def all_rows(conn: Connection, catalog: Catalog) -> dict[str, list[tuple[Any, ...]]]:
    """The data of every table of the catalog."""
    return {t.physical: table_rows(conn, t.physical) for t in catalog.tables}


def snapshot(conn: Connection) -> tuple[Catalog, dict[str, list[tuple[Any, ...]]]]:
    """The catalog of the target schema and all its rows."""
    catalog = introspect(conn, SCHEMA)
    return catalog, all_rows(conn, catalog)


def schemas(conn: Connection) -> set[str]:
    """The names of the database's schemas, system schemas left out."""
    rows = conn.execute("SELECT nspname FROM pg_namespace WHERE nspname !~ '^pg_' "
                        "AND nspname <> 'information_schema'").fetchall()
    return {r[0] for r in rows}


def columns(conn: Connection, table: str, schema: str = SCHEMA) -> list[tuple[str, str, bool]]:
    """(name, type, not null) of a table's or view's columns, in column order."""
    return [tuple(r) for r in conn.execute(
        "SELECT attname, format_type(atttypid, atttypmod), attnotnull FROM pg_attribute "
        "WHERE attrelid = to_regclass(%s) AND attnum > 0 AND NOT attisdropped ORDER BY attnum",
        (sql.Identifier(schema, table).as_string(conn),),
    ).fetchall()]


def constraints(conn: Connection, table: str, schema: str = SCHEMA) -> dict[str, tuple[str, bool]]:
    """Constraint name -> (definition, validated) of a table."""
    rows = conn.execute(
        "SELECT conname, pg_get_constraintdef(oid), convalidated FROM pg_constraint "
        "WHERE conrelid = to_regclass(%s)",
        (sql.Identifier(schema, table).as_string(conn),),
    ).fetchall()
    return {r[0]: (r[1], r[2]) for r in rows}


def indexes(conn: Connection, table: str, schema: str = SCHEMA) -> dict[str, tuple[str, bool]]:
    """Index name -> (definition, valid) of a table."""
    rows = conn.execute(
        "SELECT c.relname, pg_get_indexdef(i.indexrelid), i.indisvalid FROM pg_index i "
        "JOIN pg_class c ON c.oid = i.indexrelid WHERE i.indrelid = to_regclass(%s)",
        (sql.Identifier(schema, table).as_string(conn),),
    ).fetchall()
    return {r[0]: (r[1], r[2]) for r in rows}


def triggers_and_functions(conn: Connection, schema: str = SCHEMA) -> list[str]:
    """Names of non-internal triggers and of functions in the schema (leftovers of a plan)."""
    found = conn.execute(
        "SELECT tgname FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid "
        "JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = %s "
        "AND NOT t.tgisinternal "
        "UNION ALL SELECT proname FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace "
        "WHERE n.nspname = %s", (schema, schema)).fetchall()
    return sorted(r[0] for r in found)


class Live:
    """One test database: an admin connection, a Runner, and clients closed at the end."""

    def __init__(self, conn: Connection, dsn: str, batch_size: int = BATCH_SIZE) -> None:
        self.conn = conn
        self.dsn = dsn
        self.runner = make_runner(dsn, batch_size)
        self._opened: list[Connection] = []

    def client(self, version: str) -> Connection:
        """A client of ``version`` (a version schema), closed with the others by ``close``."""
        conn = client(self.dsn, version)
        self._opened.append(conn)
        return conn

    def close(self) -> None:
        """Close the clients and the Runner."""
        for conn in self._opened:
            conn.close()
        self.runner.close()


@dataclass
class Timeline:
    """When the phases ran (perf_counter seconds) and what the executor reported."""

    steps: list[tuple[Step, float, float]] = field(default_factory=list)
    retries: list[str] = field(default_factory=list)
    backfilled: threading.Event = field(default_factory=threading.Event)

    def backfill(self) -> tuple[float, float]:
        spans = [(s, e) for step, s, e in self.steps if after_the_triggers(step)]
        assert len(spans) == 1, spans
        return spans[0]


def timed_runner(dsn: str, timeline: Timeline, batch_size: int) -> Runner:
    """A Runner whose executor records when each step ran (for the concurrency tests).

    One backfill pass, after the views, so that new-version clients write while it runs.
    """

    def retried(step: Any, attempt: int, delay: float) -> None:
        timeline.retries.append(f"{step.summary}: retry {attempt} after {delay:.2f}s")

    runner = Runner(RunOptions(session=Session(url=dsn, schema=SCHEMA), batch_size=batch_size,
                               on_retry=retried, two_passes=False))
    run_step = runner.executor.run_step

    def timed(step: Step, *args: Any, **kwargs: Any) -> None:
        began = time.perf_counter()
        run_step(step, *args, **kwargs)
        timeline.steps.append((step, began, time.perf_counter()))
        if step.kind is StepKind.BACKFILL:
            timeline.backfilled.set()

    runner.executor.run_step = timed  # type: ignore[method-assign]
    return runner


def start_writers(writers: Any, loop: Any, dsn: str, timeline: Timeline) -> None:
    """Start one thread per writer running ``loop(dsn, writer, timeline, go)``, all at once.

    A writer has ``version``, ``slot``, ``stop`` (an Event) and ``thread`` attributes.
    """
    go = threading.Event()
    for writer in writers:
        writer.thread = threading.Thread(target=loop, args=(dsn, writer, timeline, go),
                                         name=f"{writer.version}-{writer.slot}", daemon=True)
        writer.thread.start()
    go.set()
    time.sleep(0.3)  # the writers are busy before the migration starts


def stop_writers(writers: Any) -> None:
    """Stop the writers and wait for them (a client switched over, or the test is done)."""
    for writer in writers:
        writer.stop.set()
    for writer in writers:
        assert writer.thread is not None
        writer.thread.join(timeout=30)
        assert not writer.thread.is_alive(), f"{writer.thread.name} hung: a client was blocked"


def without_previous_version(steps: Iterable[Step], schema: str) -> list[str]:
    """The SQL of ``steps`` as planned without knowing the previous version schema ``schema``
    (from a snapshot, which does not name it): the sync triggers' writer test (``CASE`` on
    the first schema, then the path's order) lacks its arm."""
    arm = f" WHEN {quote_literal(schema)} THEN false"
    place = (", COALESCE(pg_catalog.array_position(pg_catalog.current_schemas(false), "
             f"{quote_literal(schema)}::name), 2147483647)")
    return [step.sql.replace(arm, "").replace(place, "") for step in steps]


def always_firing(conn: Connection, table: str) -> None:
    """``table``'s sync triggers made to run on every write of their side, as before they
    skipped writes they would not change: the reference the trigger-skip tests compare rows
    with. (Each side's function runs only for its writers: that part of ``WHEN`` stays. The
    ``fill`` triggers, ``_pgroll_trigger_<nnn>_...``, skip nothing a write changes: kept.)"""
    rows = conn.execute(
        "SELECT t.tgname, p.proname, pg_get_triggerdef(t.oid) FROM pg_trigger t "
        "JOIN pg_proc p ON p.oid = t.tgfoid WHERE t.tgrelid = %s::regclass "
        "AND NOT t.tgisinternal AND (t.tgname LIKE '\\_pgroll\\_trigger%%' "
        "OR t.tgname LIKE '~pgroll\\_trigger%%') AND t.tgname NOT LIKE '%%-set%%'",
        (f"public.{table}",)).fetchall()
    assert rows, "no sync trigger found"
    for trigger, function, definition in rows:
        if re.match(r"_pgroll_trigger_a?\d", trigger):  # fill (``derived._place``)
            continue
        # The writer test as the planner wrote it: the version schema, the schemas of old
        # writers.
        found = re.search(r"\[1\]\s+WHEN '([^']+)'::name THEN true", definition)
        assert found is not None, definition
        old = tuple(re.findall(r"WHEN '([^']+)'::name THEN false", definition))
        writer = is_new_version(found[1], old)
        side = writer if trigger.startswith(TRIGGER_PREFIX) else f"NOT ({writer})"
        conn.execute(f'CREATE OR REPLACE TRIGGER "{trigger}" BEFORE INSERT OR UPDATE ON '
                     f"public.{table} FOR EACH ROW WHEN ({side} AND "
                     f"current_setting('{BACKFILL_SETTING}', true) IS "
                     f"DISTINCT FROM '\"public\".\"{table}\"') "
                     f'EXECUTE FUNCTION public."{function}"()')
