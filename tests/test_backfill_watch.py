"""The watch on a table's first pass: the second pass reads nothing only when no one wrote.

The second pass of a two-pass backfill reads the whole table for rows written during the
first (``plan/backfill.py``, ``watch_steps``). A statement trigger counts every statement
that writes the table from before the first pass on; the second pass skips its read when
that count is zero and the first pass reached the end of the table. If any kind of write
escaped the count, the second pass would skip a row whose copy is stale: these tests make
each kind of write while the first pass runs (no sync trigger on the table yet), then check
every row's copy, and that the second pass said nothing of a skip. Without a write, the
second pass skips, and complete and rollback leave nothing of the watch behind.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import psycopg
import pytest

from tests.live_helpers import Connection, apply, client, make_runner, migration

pytestmark = pytest.mark.postgres

OLD = "public_01_setup"
SETUP = ("create table p (id int primary key);\n"
         "create table t (id int primary key, v int, pid int constraint t_pid_fk references p (id) "
         "on update cascade);\n"
         "create table r (id int);")
MIGRATION = "alter table t add w bigint not null up `v * 1000 + coalesce(pid, 0)`;"
ROWS = 400
SKIPPED = "no statement wrote it since the first pass began"


def _seed(conn: Connection) -> None:
    conn.execute("INSERT INTO p SELECT g FROM generate_series(1, 20) g")
    conn.execute(f"INSERT INTO t SELECT g, g, g % 20 + 1 FROM generate_series(1, {ROWS}) g")
    conn.execute("ANALYZE t")
    # A rule on another table that writes t; a function that writes t.
    conn.execute("CREATE RULE r_touch AS ON INSERT TO r DO ALSO "
                 "UPDATE t SET v = v + 7 WHERE id = NEW.id")
    conn.execute("CREATE FUNCTION touch(i int) RETURNS void LANGUAGE plpgsql AS "
                 "'BEGIN UPDATE public.t SET v = v + 3 WHERE id = i; END'")


def _sync_triggers(conn: Connection, table: str) -> int:
    row = conn.execute("SELECT count(*) FROM pg_trigger WHERE tgrelid = %s::regclass "
                       "AND tgname ~ '^[_~]pgroll_trigger_'", (f"public.{table}",)).fetchone()
    assert row is not None
    return int(row[0])


def _wrong(conn: Connection) -> list[tuple[Any, ...]]:
    return conn.execute("SELECT id, v, pid, _pgroll_new_w FROM public.t WHERE _pgroll_new_w "
                        "IS DISTINCT FROM v * 1000 + coalesce(pid, 0)").fetchall()


def _copy(conn: Connection) -> None:
    with conn.cursor() as cur, cur.copy("COPY public.t (id, v) FROM STDIN") as copy:
        copy.write_row((100001, 6))


def _as_writer(dsn: str) -> Callable[[Connection], None]:
    """An update by a role with rights on t and nothing else (none on the watch's objects)."""
    def write(conn: Connection) -> None:
        conn.execute("DROP ROLE IF EXISTS watch_writer")
        conn.execute("CREATE ROLE watch_writer")
        conn.execute("GRANT USAGE ON SCHEMA public TO watch_writer")
        conn.execute("GRANT SELECT, UPDATE ON public.t TO watch_writer")
        with psycopg.connect(dsn, autocommit=True) as other:
            other.execute("SET ROLE watch_writer")
            other.execute("UPDATE public.t SET v = v + 1 WHERE id = 8")
    return write


# Each kind of write, on rows the first pass has written already or will not reach.
WRITES: dict[str, Callable[[Connection], object]] = {
    "base update": lambda c: c.execute("UPDATE public.t SET v = v + 1 WHERE id = 1"),
    "insert after the last key": lambda c: c.execute(
        "INSERT INTO public.t (id, v) VALUES (100000, 5)"),
    "copy": _copy,
    "upsert": lambda c: c.execute("INSERT INTO public.t (id, v) VALUES (3, 0) "
                                  "ON CONFLICT (id) DO UPDATE SET v = 33"),
    "merge": lambda c: c.execute("MERGE INTO public.t USING (VALUES (4, 44)) AS s (id, v) "
                                 "ON t.id = s.id WHEN MATCHED THEN UPDATE SET v = s.v"),
    "foreign key cascade": lambda c: c.execute("UPDATE public.p SET id = 1000 WHERE id = 2"),
    "rule on another table": lambda c: c.execute("INSERT INTO public.r VALUES (5)"),
    "function": lambda c: c.execute("SELECT public.touch(6)"),
    "data-modifying WITH": lambda c: c.execute(
        "WITH x AS (UPDATE public.t SET v = v + 9 WHERE id = 7 RETURNING 1) "
        "SELECT count(*) FROM x"),
    "delete and insert again": lambda c: (
        c.execute("DELETE FROM public.t WHERE id = 9"),
        c.execute("INSERT INTO public.t (id, v, pid) VALUES (9, 999, 3)")),
}


class _Writer:
    """After the first batch of a table's first pass: one write (and a check it was then)."""

    def __init__(self, dsn: str, write: Callable[[Connection], object] | None,
                 table: str = "t") -> None:
        self.conn = psycopg.connect(dsn, autocommit=True)
        self.write = write
        self.table = table
        self.lock = threading.Lock()
        self.in_first_pass: bool | None = None

    def __call__(self, table: str, rows: int, total: int) -> None:
        with self.lock:
            # (rows == 0: the report before the pass's first batch)
            if (self.write is None or self.in_first_pass is not None or table != self.table
                    or not rows or _sync_triggers(self.conn, table) > 0):
                return
            self.write(self.conn)
            self.in_first_pass = _sync_triggers(self.conn, table) == 0  # before the triggers


def _start(dsn: str, conn: Connection, write: Callable[[Connection], object] | None,
           messages: list[str]) -> _Writer:
    runner = make_runner(dsn, batch_size=20, batch_time_ms=0)
    apply(runner, SETUP)
    _seed(conn)
    runner.close()
    writer = _Writer(dsn, write)
    # A pause after each batch: the write lands while the first pass still runs.
    runner = make_runner(dsn, batch_size=20, batch_time_ms=0, batch_delay=0.02,
                         on_progress=writer, on_message=messages.append)
    try:
        plan = runner.start(migration(MIGRATION, "02_watch"))
    finally:
        writer.conn.close()
        runner.close()
    assert any("first pass" in s.summary for s in plan.start)
    return writer


@pytest.mark.parametrize("kind", list(WRITES))
def test_any_write_during_the_first_pass_makes_the_second_pass_read(
        admin_dsn: str, pg_conn: Connection, kind: str) -> None:
    write = WRITES[kind]
    messages: list[str] = []
    writer = _start(admin_dsn, pg_conn, write, messages)
    assert writer.in_first_pass, "the write did not land during the first pass"
    assert _wrong(pg_conn) == []
    assert not any(SKIPPED in m for m in messages), messages


def test_a_write_by_a_role_without_rights_on_the_watch(admin_dsn: str,
                                                        pg_conn: Connection) -> None:
    """The watch's function runs as its owner: the client's write is counted, not refused."""
    messages: list[str] = []
    writer = _start(admin_dsn, pg_conn, _as_writer(admin_dsn), messages)
    try:
        assert writer.in_first_pass
        assert not any(SKIPPED in m for m in messages), messages
        assert _wrong(pg_conn) == []
    finally:
        pg_conn.execute("DROP OWNED BY watch_writer")
        pg_conn.execute("DROP ROLE watch_writer")


def _watch_objects(conn: Connection) -> list[Any]:
    row = conn.execute(
        "SELECT to_regclass('public._pgroll_writes_t'), to_regclass('public._pgroll_passed_t'), "
        "to_regprocedure('public._pgroll_watch_t()'), (SELECT count(*) FROM pg_trigger "
        "WHERE tgname = '_pgroll_watch_t')").fetchone()
    assert row is not None
    return list(row)


@pytest.mark.parametrize("then", ["complete", "rollback"])
def test_without_a_write_the_second_pass_reads_nothing(admin_dsn: str, pg_conn: Connection,
                                                        then: str) -> None:
    messages: list[str] = []
    _start(admin_dsn, pg_conn, None, messages)
    assert any(SKIPPED in m for m in messages), messages
    assert _wrong(pg_conn) == []
    assert None not in _watch_objects(pg_conn)
    # Off once the second pass is over: a client's statement no longer pays for its call.
    row = pg_conn.execute("SELECT tgenabled FROM pg_trigger WHERE tgname = '_pgroll_watch_t'"
                          ).fetchone()
    assert row == ("D",)
    # A write after start is the sync triggers'.
    with client(admin_dsn, OLD) as old:
        old.execute("UPDATE t SET v = -1 WHERE id = 10")
    assert _wrong(pg_conn) == []
    runner = make_runner(admin_dsn, init=False)
    try:
        getattr(runner, then)()
    finally:
        runner.close()
    assert _watch_objects(pg_conn) == [None, None, None, 0]


def test_the_shares_of_workers_count_as_the_first_pass(
        admin_dsn: str, pg_conn: Connection) -> None:
    """Each worker's share that reaches its end counts: the executor runs the second pass
    only once every share has, so with two workers and no one writing the second pass
    reads nothing (it read the whole table before: a share counted nothing). A share that
    leaves rows to the second pass counts a write instead (tests/test_backfill_shares.py).
    """
    runner = make_runner(admin_dsn, batch_size=20, batch_time_ms=0)
    apply(runner, SETUP)
    _seed(pg_conn)
    runner.close()
    messages: list[str] = []
    runner = make_runner(admin_dsn, batch_size=20, batch_time_ms=0, backfill_workers=2,
                         on_message=messages.append)
    try:
        runner.start(migration(MIGRATION, "02_watch"))
    finally:
        runner.close()
    assert _wrong(pg_conn) == []
    assert any(SKIPPED in m for m in messages), messages
    row = pg_conn.execute("SELECT last_value FROM pg_sequences "
                          "WHERE sequencename = '_pgroll_passed_t'").fetchone()
    assert row == (2,)  # one count per share


@pytest.mark.parametrize("write", [False, True])
def test_a_table_without_a_key(admin_dsn: str, pg_conn: Connection, write: bool) -> None:
    """Its passes go by pages; the watch is the same."""
    runner = make_runner(admin_dsn, batch_size=20, batch_time_ms=0)
    apply(runner, "create table k (a int, b int);")
    pg_conn.execute(f"INSERT INTO k SELECT g, g FROM generate_series(1, {ROWS}) g")
    runner.close()
    hook = _Writer(admin_dsn, (lambda c: c.execute("UPDATE public.k SET a = -a WHERE b < 5"))
                   if write else None, table="k")
    messages: list[str] = []
    runner = make_runner(admin_dsn, batch_size=1, batch_time_ms=0, batch_delay=0.02,
                         on_progress=hook, on_message=messages.append)
    try:
        runner.start(migration("alter table k add w int not null up `a * 2`;", "02_k"))
    finally:
        hook.conn.close()
        runner.close()
    assert hook.in_first_pass is (True if write else None)
    assert any(SKIPPED in m for m in messages) is not write, messages
    wrong = pg_conn.execute("SELECT count(*) FROM k WHERE _pgroll_new_w IS DISTINCT FROM a * 2"
                            ).fetchone()
    assert wrong == (0,)


EVENTS = """
create table events (id bigint not null, at date not null, n int,
                     primary key (id, at)) partition by range (at);
create table events_2025 partition of events for values from ('2025-01-01') to ('2026-01-01');
create table events_2026 partition of events for values from ('2026-01-01') to ('2027-01-01')
  partition by hash (id);
create table events_2026_0 partition of events_2026 for values with (modulus 2, remainder 0);
create table events_2026_1 partition of events_2026 for values with (modulus 2, remainder 1);
insert into events select g, date '2025-01-01' + (g % 700), g from generate_series(1, 600) g;
"""
EVENTS_LEAVES = ("events_2025", "events_2026_0", "events_2026_1")
# Rows of the first leaf the first pass writes (events_2025: ids 1-364), written once the
# pass is on a later leaf: through the root, the leaf itself, or through another level.
EVENT_WRITES: dict[str, Callable[[Connection], object]] = {
    "none": lambda c: None,
    "root": lambda c: c.execute("UPDATE public.events SET n = n + 1 WHERE id = 2"),
    "leaf": lambda c: c.execute("UPDATE public.events_2025 SET n = n + 1 WHERE id = 3"),
    "copy into the root": lambda c: _copy_event(c),
    "insert into a level between": lambda c: c.execute(
        "INSERT INTO public.events_2026 VALUES (9001, '2026-03-01', 5)"),
}


def _copy_event(conn: Connection) -> None:
    with conn.cursor() as cur, cur.copy("COPY public.events (id, at, n) FROM STDIN") as copy:
        copy.write_row((9002, "2025-02-01", 6))


@pytest.mark.parametrize("kind", list(EVENT_WRITES))
def test_a_partitioned_table(admin_dsn: str, pg_conn: Connection, kind: str) -> None:
    """Every level has the watch; a statement on any of them makes each leaf's pass read."""
    runner = make_runner(admin_dsn, batch_size=20, batch_time_ms=0)
    apply(runner, f"sql up `{EVENTS}`;", "01_setup")
    runner.close()
    write = EVENT_WRITES[kind]
    done: list[str] = []
    conn = psycopg.connect(admin_dsn, autocommit=True)

    def hook(table: str, rows: int, total: int) -> None:
        if kind == "none" or done or table == EVENTS_LEAVES[0] or not rows:
            return
        if _sync_triggers(conn, table) == 0:
            write(conn)
            done.append(table if _sync_triggers(conn, table) == 0 else "too late")

    messages: list[str] = []
    runner = make_runner(admin_dsn, batch_size=20, batch_time_ms=0, batch_delay=0.02,
                         on_progress=hook, on_message=messages.append)
    try:
        plan = runner.start(migration("alter table events add w int not null up `n * 2`;",
                                      "02_events"))
    finally:
        runner.close()
        conn.close()
    firsts = [s.relation for s in plan.start if ", first pass," in s.summary]
    assert firsts == list(EVENTS_LEAVES)
    skipped = sorted(leaf for leaf in EVENTS_LEAVES
                     if any(m.startswith(f"backfill {leaf}: {SKIPPED}") for m in messages))
    if kind == "none":
        assert skipped == list(EVENTS_LEAVES), messages
    else:
        assert done and done[0] != "too late", done
        assert skipped == [], messages
    wrong = pg_conn.execute("SELECT count(*) FROM events WHERE _pgroll_new_w IS DISTINCT FROM "
                            "n * 2").fetchone()
    assert wrong == (0,)
    runner = make_runner(admin_dsn, init=False)
    try:
        runner.complete()
    finally:
        runner.close()
    left = pg_conn.execute("SELECT (SELECT count(*) FROM pg_trigger WHERE tgname = "
                           "'_pgroll_watch_events'), (SELECT count(*) FROM pg_class WHERE "
                           "relname ~ '^_pgroll_(writes|passed)_')").fetchone()
    assert left == (0, 0)


def test_a_pass_that_leaves_the_copies_to_the_triggers(admin_dsn: str,
                                                       pg_conn: Connection) -> None:
    """The server refuses the statement (text to int): the first pass writes nothing and
    counts nothing, the second does the whole backfill through the triggers."""
    runner = make_runner(admin_dsn, batch_size=20, batch_time_ms=0)
    apply(runner, "create table q (id int primary key, s text);")
    pg_conn.execute(f"INSERT INTO q SELECT g, g::text FROM generate_series(1, {ROWS}) g")
    runner.close()
    messages: list[str] = []
    runner = make_runner(admin_dsn, batch_size=20, batch_time_ms=0, on_message=messages.append)
    try:
        plan = runner.start(migration("alter table q alter s type int up `s` down `s::text`;",
                                      "02_q"))
    finally:
        runner.close()
    assert any(", first pass," in s.summary for s in plan.start)
    assert not any(SKIPPED in m for m in messages), messages
    wrong = pg_conn.execute("SELECT count(*) FROM q WHERE _pgroll_new_s IS DISTINCT FROM s::int"
                            ).fetchone()
    assert wrong == (0,)
