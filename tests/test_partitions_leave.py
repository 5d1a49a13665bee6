"""A partition that leaves its tree while a migration runs: dropped, detached or renamed.

pg_partman's retention drops (or detaches) the oldest partition every so often; a migration
running then, or between its start and its complete, must go on. Start's steps for one
partition of an open tree (``plan/joined.py``) are skipped where the partition is gone;
a planned partition detached meanwhile gets the shape it left with back at complete or
rollback; a renamed one is backfilled as one that joined.

The harness enumerates: for every boundary of start's steps, a leaf leaves there (dropped,
detached, renamed) while a client writes the tree through the old version; start must end,
every row left in the tree must have its copy, complete (or rollback) must end, the new
version must show every row right, nothing of the watch may be left, and a detached table
must have no column of the migration. A second harness drops the leaf between two batches
of its own first pass, and one lets it leave between start and complete.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import psycopg
import pytest
from psycopg import sql
from psycopg.conninfo import make_conninfo

from pgroll_dsl.backends.runner import StepEvent
from pgroll_dsl.plan.model import Phase, units
from tests.live_helpers import Connection, client, make_runner, migration
from tests.test_review_watch_partitions import Hook, _finish, _left, _setup, _start

pytestmark = pytest.mark.postgres

NEW = "public_02_events"
TEXT = "alter table ev add w int not null up `n * 2`;"
TREE = """
create table ev (id bigint not null, at date not null, n int, primary key (id, at))
  partition by range (at);
create table ev_2024 partition of ev for values from ('2024-01-01') to ('2025-01-01');
create table ev_2025 partition of ev for values from ('2025-01-01') to ('2026-01-01');
create table ev_2026 partition of ev for values from ('2026-01-01') to ('2027-01-01');
insert into ev select g, date '2024-01-01' + (g * 3 % 1000), g from generate_series(1, 300) g;
"""
LEAF = "ev_2025"
BOUNDS = "FOR VALUES FROM ('2025-01-01') TO ('2026-01-01')"

LEAVES: dict[str, Callable[[Connection], object]] = {
    "dropped": lambda c: c.execute(f"DROP TABLE {LEAF}"),
    "detached": lambda c: c.execute(f"ALTER TABLE ev DETACH PARTITION {LEAF}"),
    "renamed": lambda c: c.execute(f"ALTER TABLE {LEAF} RENAME TO ev_2025_kept"),
}
_COLUMNS = ("SELECT attname FROM pg_attribute WHERE attrelid = %s::regclass AND attnum > 0 "
            "AND NOT attisdropped ORDER BY attnum")


def _write(dsn: str, round_: int) -> None:
    """A client of the old version writes each remaining leaf, and inserts a row."""
    with client(dsn, "public_01_setup") as old:
        old.execute("UPDATE ev SET n = n + 1 WHERE id %% 7 = %s", (round_ % 7,))
        old.execute("INSERT INTO ev VALUES (%s, '2026-06-06', %s)", (10_000 + round_, round_))


def _wrong(conn: Connection) -> list[tuple[Any, ...]]:
    return conn.execute("SELECT tableoid::regclass::text, id, n, _pgroll_new_w FROM ev "
                        "WHERE _pgroll_new_w IS DISTINCT FROM n * 2 ORDER BY 1, 2").fetchall()


def _at_boundary(dsn: str, boundary: int, leave: Callable[[Connection], object]
                 ) -> tuple[Callable[[StepEvent], None], list[str]]:
    """An on_step hook: before start's step ``boundary``, the leaf leaves; a client writes
    at every boundary of start."""
    done: list[str] = []

    def on_step(event: StepEvent) -> None:
        if event.phase is not Phase.START or event.in_transaction:
            return
        if event.index == boundary and not done:
            with psycopg.connect(dsn, autocommit=True) as c:
                leave(c)
            done.append(event.step.summary if event.step is not None else "end")
        _write(dsn, event.index)
    return on_step, done


def _after(dsn: str, conn: Connection, how: str, then: str, rows_left: int | None) -> None:
    """Complete or roll back; then every row right and nothing of the migration left."""
    _finish(dsn, then)
    assert _left(conn) == (0, 0, 0)
    assert conn.execute("SELECT count(*) FROM pg_attribute WHERE attname ~ '^_pgroll' "
                        "AND NOT attisdropped AND attrelid IN (SELECT oid FROM pg_class WHERE "
                        "relnamespace = 'public'::regnamespace)").fetchone() == (0,)
    if then == "complete":
        with client(dsn, NEW) as new:
            assert new.execute("SELECT id, n, w FROM ev WHERE w IS DISTINCT FROM n * 2"
                               ).fetchall() == []
    if how == "detached":  # the shape it left with, its rows as they were
        assert [r[0] for r in conn.execute(_COLUMNS, [LEAF]).fetchall()] == ["id", "at", "n"]
        assert conn.execute(f"SELECT count(*) FROM {LEAF}").fetchone() == (rows_left,)
        if then == "rollback":  # ... so it can be attached again
            conn.execute(f"ALTER TABLE ev ATTACH PARTITION {LEAF} {BOUNDS}")
    if how == "renamed":  # still a partition: backfilled as one that joined
        assert conn.execute("SELECT count(*) FROM ev_2025_kept").fetchone() == (rows_left,)


@contextmanager
def fresh_database(pg_dsn: str, setup: str = TREE) -> Iterator[tuple[str, Connection]]:
    """A fresh database with ``setup`` applied (a start of its own for each boundary)."""
    name = f"pgroll_dsl_leave_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(pg_dsn, autocommit=True) as admin:
        admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    dsn = make_conninfo(pg_dsn, dbname=name)
    try:
        with psycopg.connect(dsn, autocommit=True) as conn:
            _setup(dsn, setup)
            yield dsn, conn
    finally:
        with psycopg.connect(pg_dsn, autocommit=True) as admin:
            admin.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(
                sql.Identifier(name)))


def _one_boundary(pg_dsn: str, how: str, boundary: int) -> tuple[bool, str | None]:
    """Start with the leaf leaving before step ``boundary``, then complete or roll back.

    Whether the boundary was reached, and what failed (None: nothing).
    """
    then = "complete" if boundary % 2 else "rollback"
    with fresh_database(pg_dsn) as (dsn, conn):
        on_step, done = _at_boundary(dsn, boundary, LEAVES[how])
        try:
            _start(dsn, None, [], text=TEXT, on_step=on_step)
            if not done:
                return False, None
            kept = {"detached": LEAF, "renamed": "ev_2025_kept"}.get(how)
            rows = conn.execute(f"SELECT count(*) FROM {kept}").fetchone() if kept else None
            assert _wrong(conn) == [], done
            _after(dsn, conn, how, then, rows[0] if rows else None)
        except Exception as err:  # every boundary is tried; all failures are reported
            return bool(done), f"{boundary} ({done[0] if done else '?'}), {then}: {err!r}"[:800]
    return True, None


def _boundaries(pg_dsn: str) -> list[int]:
    """Start's boundaries outside a transaction (where a client's DDL does not wait for it)."""
    with fresh_database(pg_dsn) as (dsn, _conn):
        runner = make_runner(dsn, init=False)
        try:
            steps = runner.plan(migration(TEXT, "02_events")).start
        finally:
            runner.close()
    return [unit.first for unit in units(Phase.START, steps)] + [len(steps)]


@pytest.mark.parametrize("how", list(LEAVES))
def test_a_leaf_leaves_at_every_boundary_of_start(pg_dsn: str, how: str) -> None:
    """Every boundary of start, each in a database of its own (complete and rollback
    alternate)."""
    boundaries = _boundaries(pg_dsn)
    assert len(boundaries) > 20, boundaries
    failures: list[str] = []
    for boundary in boundaries:
        reached, failed = _one_boundary(pg_dsn, how, boundary)
        if not reached:
            failures.append(f"{boundary}: not reached")
        if failed is not None:
            failures.append(failed)
    assert failures == [], "\n".join(failures)


@pytest.mark.parametrize("how", ["dropped", "renamed"])
def test_a_leaf_leaves_between_two_batches_of_its_own_pass(admin_dsn: str, pg_conn: Connection,
                                                           how: str) -> None:
    """The leaf leaves while its own first pass runs (after its first batch): the pass
    fails on the table that went; start goes on without it."""
    _setup(admin_dsn, TREE)
    messages: list[str] = []
    hook = Hook(admin_dsn, LEAF, LEAVES[how])
    _start(admin_dsn, hook, messages, text=TEXT)
    assert hook.fired and hook.error is None, hook.error
    assert any(f"partition {LEAF} is gone" in m for m in messages), messages
    assert _wrong(pg_conn) == []
    kept = pg_conn.execute("SELECT count(*) FROM ev_2025_kept").fetchone() \
        if how == "renamed" else None
    _after(admin_dsn, pg_conn, how, "complete", kept[0] if kept else None)


LEAVES_AFTER: dict[str, Callable[[Connection], object]] = {
    **LEAVES,
    "detached concurrently": lambda c: c.execute(
        f"ALTER TABLE ev DETACH PARTITION {LEAF} CONCURRENTLY"),
    "detached and dropped": lambda c: (c.execute(f"ALTER TABLE ev DETACH PARTITION {LEAF}"),
                                       c.execute(f"DROP TABLE {LEAF}")),
}


@pytest.mark.parametrize("then", ["complete", "rollback"])
@pytest.mark.parametrize("how", list(LEAVES_AFTER))
def test_a_leaf_leaves_between_start_and_complete(admin_dsn: str, pg_conn: Connection,
                                                  how: str, then: str) -> None:
    """After start, clients of both versions writing: complete (or rollback) takes the tree
    as it is, and a detached table gets the shape it left with."""
    _setup(admin_dsn, TREE)
    _start(admin_dsn, None, [], text=TEXT)
    _write(admin_dsn, 1)
    with psycopg.connect(admin_dsn, autocommit=True) as c:
        LEAVES_AFTER[how](c)
    _write(admin_dsn, 2)
    with client(admin_dsn, NEW) as new:
        new.execute("UPDATE ev SET w = 0, n = 0 WHERE id = 5")  # (a row of ev_2024)
        new.execute("INSERT INTO ev (id, at, n, w) VALUES (30001, '2026-02-02', 4, 8)")
    assert _wrong(pg_conn) == []
    kept = {"detached": LEAF, "detached concurrently": LEAF, "renamed": "ev_2025_kept"}.get(how)
    rows = pg_conn.execute(f"SELECT count(*) FROM {kept}").fetchone() if kept else None
    _after(admin_dsn, pg_conn, how.split(" ")[0] if kept == LEAF else how, then,
           rows[0] if rows else None)
    with client(admin_dsn, NEW if then == "complete" else "public_01_setup") as after:
        assert after.execute("SELECT n FROM ev WHERE id IN (5, 30001) ORDER BY id"
                             ).fetchall() == [(0,), (4,)]
