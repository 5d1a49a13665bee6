"""Kinds of writers the other live tests do not try, while a migration's backfill runs.

A sync trigger fires on every row a statement writes, however the statement came: the
writes here reach the migrated table in ways an application or the database itself uses
that no other test makes during a migration, and each must reach the other version:

- a foreign key's action (``ON UPDATE CASCADE``, ``ON DELETE SET NULL``, ``ON DELETE SET
  DEFAULT``): the client writes the *referenced* table, and the RI trigger writes the
  migrated table one trigger deeper, with the client's ``search_path`` (so a cascade of a
  new-version client is a new-version write of the columns it sets);
- ``UPDATE ... WHERE CURRENT OF`` a cursor ``FOR UPDATE``, through the base table (on a
  view PostgreSQL refuses it: ``WHERE CURRENT OF on a view is not implemented``);
- ``COPY t FROM STDIN`` into the base table (a view takes no ``COPY``);
- ``MERGE`` (an update and an insert in one statement) and a data-modifying ``WITH``
  (``WITH u AS (UPDATE ... RETURNING ...) INSERT ...``), through the base table and the
  versions' views (into a view from PostgreSQL 16);
- a ``REPEATABLE READ`` transaction that took its snapshot before start and writes once the
  sync triggers exist (and one that writes during the first pass and commits while start
  waits for its lock).

Migrations: a NOT NULL column added with ``up``, a type change ``int -> bigint`` with
``up``/``down``, a rename beside a type change. Writes land during the first pass, right
before the second pass, during a single pass (``two_passes=False``: the new version exists
while it runs) and after start; every row is checked through the old version, the new
version after start, and the new version after complete.

Found: a new-version client's ``DELETE`` of a referenced row whose child column is being
rewritten, with ``ON DELETE SET DEFAULT``, was refused (23503): the foreign key's action
wrote the old column by its name in a new-version session, and ``down`` set it back
(``test_set_default_through_the_new_version_of_a_rewritten_column``; fixed since, with
tests/test_written_by_name.py). Everything else here reaches the other version.

Two-phase commit: a transaction older than start writes during the backfill, is
``PREPARE``d, and another session commits it while start goes on (on a server of the
module's own: the test servers have ``max_prepared_transactions = 0``).
"""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import psycopg
import pytest
from psycopg import sql
from psycopg.conninfo import make_conninfo

from pgroll_dsl.backends.runner import Runner, StepEvent
from pgroll_dsl.plan.model import Phase, StepKind
from tests.live_helpers import (
    Connection,
    applied,
    client,
    make_runner,
    migration,
    own_server,
    version_schema,
)

pytestmark = [pytest.mark.postgres]

ROWS = 120
OLD, NEW = version_schema("01_setup"), version_schema("02_more")
SETUP = "create table t (id bigint primary key, v int not null);"

# name: (migration, the new version's column, how a new-version write of value x sets it)
# Every row holds new == 2 * old (the "add" case: w == 2 * v) whichever version wrote it.
MIGRATIONS: dict[str, tuple[str, str, Callable[[int], dict[str, int]]]] = {
    "add": ("alter table t add w bigint not null up `v * 2`;", "w",
            lambda x: {"v": x, "w": 2 * x}),
    "type": ("alter table t alter v type bigint up `v * 2` down `(v / 2)::int`;", "v",
             lambda x: {"v": 2 * x}),
    "rename_type": ("alter table t rename v to x;\n"
                    "alter table t alter x type bigint up `x * 2` down `(x / 2)::int`;", "x",
                    lambda x: {"x": 2 * x}),
}


def _sets(migration_name: str, side: str, value: int) -> dict[str, int]:
    """The columns a write of ``value`` sets through ``side`` (base, old or new)."""
    if side == "new":
        return MIGRATIONS[migration_name][2](value)
    return {"v": value}  # the base table's physical column keeps its name until complete


def _search_path(side: str) -> str:
    return {"base": "public", "old": OLD, "new": NEW}[side]


# --- the writes -------------------------------------------------------------------------------


@dataclass
class Model:
    """What every row's old-version value must be, and the ids each event wrote."""

    migration: str
    expected: dict[int, int] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)


def _assignments(cols: dict[str, int]) -> sql.Composable:
    return sql.SQL(", ").join(sql.SQL("{} = {}").format(sql.Identifier(c), sql.Literal(v))
                              for c, v in cols.items())


def write_cursor(conn: Connection, model: Model, side: str, ids: list[int],
                 value: int) -> None:
    """``UPDATE ... WHERE CURRENT OF`` a ``FOR UPDATE`` cursor, one row at a time."""
    with conn.transaction():
        conn.execute(sql.SQL("DECLARE cur CURSOR FOR SELECT id FROM t WHERE id = ANY({}) "
                             "ORDER BY id FOR UPDATE").format(sql.Literal(ids)))
        for offset, _ in enumerate(ids):
            fetched = conn.execute("FETCH cur").fetchone()
            assert fetched is not None
            cols = _sets(model.migration, side, value + offset)
            conn.execute(sql.SQL("UPDATE t SET {} WHERE CURRENT OF cur").format(
                _assignments(cols)))
            model.expected[int(fetched[0])] = value + offset
        conn.execute("CLOSE cur")


def write_copy(conn: Connection, model: Model, side: str, ids: list[int], value: int) -> None:
    """``COPY public.t (id, v) FROM STDIN`` of new rows (the base table: views take none)."""
    assert side == "base"
    with conn.cursor() as cur, cur.copy("COPY public.t (id, v) FROM STDIN") as copy:
        for offset, row_id in enumerate(ids):
            copy.write_row((row_id + 10_000, value + offset))
    for offset, row_id in enumerate(ids):
        model.expected[row_id + 10_000] = value + offset


def write_merge(conn: Connection, model: Model, side: str, ids: list[int], value: int) -> None:
    """One ``MERGE`` that updates existing rows and inserts new ones (``id + 10000``)."""
    source = [(row_id, value + offset) for offset, row_id in enumerate(ids)]
    source += [(row_id + 10_000, value + 50 + offset) for offset, row_id in enumerate(ids)]
    sample = _sets(model.migration, side, 1)
    names = list(sample)
    factors = [sample[n] for n in names]  # 1 or 2: the column holds value or twice it
    assign = sql.SQL(", ").join(sql.SQL("{} = s.x * {}").format(sql.Identifier(n), f)
                                for n, f in zip(names, factors, strict=True))
    insert_cols = sql.SQL(", ").join(sql.Identifier(n) for n in names)
    insert_vals = sql.SQL(", ").join(sql.SQL("s.x * {}").format(f) for f in factors)
    rows = sql.SQL(", ").join(sql.SQL("({}, {})").format(a, b) for a, b in source)
    conn.execute(sql.SQL(
        "MERGE INTO t USING (VALUES {}) AS s (id, x) ON t.id = s.id "
        "WHEN MATCHED THEN UPDATE SET {} "
        "WHEN NOT MATCHED THEN INSERT (id, {}) VALUES (s.id, {})").format(
        rows, assign, insert_cols, insert_vals))
    for row_id, x in source:
        model.expected[row_id] = x


def write_cte(conn: Connection, model: Model, side: str, ids: list[int], value: int) -> None:
    """``WITH u AS (UPDATE ... RETURNING ...) INSERT ... SELECT FROM u``: an update and an
    insert (``id + 10000``, the updated row's values) in one statement."""
    sample = _sets(model.migration, side, 1)
    names = list(sample)
    assign = sql.SQL(", ").join(
        sql.SQL("{} = ({} - t.id) * {}").format(sql.Identifier(n), value + 1_000, sample[n])
        for n in names)
    cols = sql.SQL(", ").join(sql.Identifier(n) for n in names)
    conn.execute(sql.SQL(
        "WITH u AS (UPDATE t SET {} WHERE t.id = ANY({}) RETURNING t.*) "
        "INSERT INTO t (id, {}) SELECT u.id + 10000, {} FROM u").format(
        assign, sql.Literal(ids), cols, cols))
    for row_id in ids:
        model.expected[row_id] = model.expected[row_id + 10_000] = value + 1_000 - row_id


WRITES: dict[str, tuple[Callable[[Connection, Any, str, list[int], int], None], tuple[str, ...]]]
WRITES = {
    "cursor": (write_cursor, ("base",)),  # on a view: 0A000, not implemented
    "copy": (write_copy, ("base",)),
    "merge": (write_merge, ("base", "old", "new")),  # views: from PostgreSQL 16
    "cte": (write_cte, ("base", "old", "new")),
}


class Writes:
    """Makes the writes of one kind at each moment of one run, every side that exists."""

    def __init__(self, dsn: str, model: Any, kind: str) -> None:
        self.dsn = dsn
        self.model = model
        self.function, self.sides = WRITES[kind]
        self.event = 0
        self.done: set[str] = set()

    def at(self, moment: str, sides: tuple[str, ...]) -> None:
        """Write once at ``moment`` through each of ``sides`` that the kind writes through."""
        if moment in self.done:
            return
        self.done.add(moment)
        for slot, side in enumerate(s for s in sides if s in self.sides):
            # rows the backfill reaches last (it goes up the keys), 4 a write
            first = ROWS - (self.event * 3 + slot) * 4 - 3
            ids = list(range(first, first + 4))
            try:
                with client(self.dsn, _search_path(side)) as conn:
                    self.function(conn, self.model, side, ids,
                                  100 * (self.event + 1) + 10 * slot)
            except psycopg.Error as err:
                self.model.errors.append(f"{moment}, {side}: {err.sqlstate} {err}")
        self.event += 1

    def expected(self, moments: set[str]) -> set[str]:
        """The moments it must have written at, of those the plan has."""
        return moments


def _check(conn: Connection, model: Model, after_complete: bool) -> list[str]:
    """Every row through the old version and the new one (only the new after complete)."""
    _, new_col, _ = MIGRATIONS[model.migration]
    wrong = []
    expected = {i: i for i in range(1, ROWS + 1)} | model.expected
    new: dict[int, int] = dict(conn.execute(sql.SQL("SELECT id, {} FROM {}.t").format(
        sql.Identifier(new_col), sql.Identifier(NEW))).fetchall())
    if set(new) != set(expected):
        wrong.append(f"new version: ids {sorted(set(new) ^ set(expected))} differ")
    wrong += [f"new version: row {i} has {new.get(i)}, not {2 * x}"
              for i, x in sorted(expected.items()) if new.get(i) != 2 * x]
    if not after_complete:
        old: dict[int, int] = dict(conn.execute(sql.SQL("SELECT id, v FROM {}.t").format(
            sql.Identifier(OLD))).fetchall())
        wrong += [f"old version: row {i} has {old.get(i)}, not {x}"
                  for i, x in sorted(expected.items()) if old.get(i) != x]
    return wrong


def _prepare(dsn: str, setup: str = SETUP) -> None:
    applied(dsn, setup)


def _seed(pg_conn: Connection) -> None:
    pg_conn.execute(f"INSERT INTO t SELECT g, g FROM generate_series(1, {ROWS}) g")
    pg_conn.execute("ANALYZE t")


def _hooks(writes: Callable[[str, tuple[str, ...]], None],
           two_passes: bool) -> tuple[Callable[[StepEvent], None],
                                      Callable[[str, int, int], None]]:
    """``on_step`` and ``on_progress`` that write during each pass of the backfill."""
    current: list[str] = [""]

    def step(event: StepEvent) -> None:
        if event.phase is not Phase.START or event.step is None:
            current[0] = ""
            return
        summary = event.step.summary if event.step.kind is StepKind.BACKFILL else ""
        current[0] = summary
        if two_passes and "second pass" in summary and not event.in_transaction:
            writes("before the second pass", ("base", "old"))

    def progress(table: str, rows: int, total: int) -> None:
        if rows <= 0:
            return
        if "first pass" in current[0]:
            writes("during the first pass", ("base", "old"))
        elif "second pass" in current[0]:
            writes("during the second pass", ("base", "old"))
        elif current[0]:  # one pass (asked for, or the table's only one): after the views
            writes("during the only pass", ("base", "old", "new"))

    return step, progress


def _run(dsn: str, text: str, writes: Writes, two_passes: bool,
         check: Callable[[bool], list[str]], between: Callable[[], None] | None = None) -> None:
    """Start ``text`` with ``writes`` at each moment, check, complete, check again."""
    step, progress = _hooks(writes.at, two_passes)
    runner: Runner = make_runner(dsn, batch_size=20, batch_time_ms=0, init=False,
                                 two_passes=two_passes, on_step=step, on_progress=progress)
    try:
        plan = runner.start(migration(text, "02_more"))
        moments = ({"during the first pass", "before the second pass"}
                   if any(", first pass" in s.summary for s in plan.start)
                   else {"during the only pass"}) | {"after start"}
        writes.at("after start", ("base", "old", "new"))
        if between is not None:
            between()
        assert writes.model.errors == []
        moments = writes.expected(moments)
        assert moments <= writes.done, f"a write did not happen: {moments - writes.done}"
        assert check(False) == []
        runner.complete()
    finally:
        runner.close()
    assert check(True) == []


# --- cursor, COPY, MERGE, writable CTE ----------------------------------------------------------


@pytest.mark.parametrize("kind", list(WRITES))
@pytest.mark.parametrize("migration_name", list(MIGRATIONS))
@pytest.mark.parametrize("two_passes", [True, False], ids=["two passes", "one pass"])
def test_statement_kinds_reach_the_other_version(
        pg_conn: Connection, admin_dsn: str, kind: str, migration_name: str,
        two_passes: bool) -> None:
    _prepare(admin_dsn)
    _seed(pg_conn)
    model = Model(migration_name)
    writes = Writes(admin_dsn, model, kind)
    if kind == "merge" and pg_conn.info.server_version < 160000:
        writes.sides = ("base",)  # MERGE into a view: PostgreSQL 16 and later
    _run(admin_dsn, MIGRATIONS[migration_name][0], writes, two_passes,
         lambda after_complete: _check(pg_conn, model, after_complete))


# --- foreign-key actions --------------------------------------------------------------------

FK_SETUP = (
    "sql up `create table p (id int primary key); "
    "create table q (id int primary key); "
    "create table c (id bigint primary key, "
    "pid int references p (id) on update cascade on delete set null, "
    "qid int not null default 0 references q (id) on update cascade on delete set default, "
    "v int not null)`;")

# name: (migration, the new version's names of pid and qid, with an added column w or not)
FK_MIGRATIONS: dict[str, tuple[str, str, str, bool]] = {
    "add": ("alter table c add w bigint not null up `coalesce(pid, -1) * 1000 + qid`;",
            "pid", "qid", True),
    "type": ("alter table c alter pid type bigint up `pid` down `pid::int`;\n"
             "alter table c alter qid type bigint up `qid` down `qid::int`;", "pid", "qid", False),
    "rename_type": ("alter table c rename qid to q2;\n"
                    "alter table c alter pid type bigint up `pid` down `pid::int`;",
                    "pid", "q2", False),
}
MOVED = 100_000  # a referenced key moved by ON UPDATE CASCADE


def _up(pid: int | None, qid: int) -> int:
    return (pid if pid is not None else -1) * 1000 + qid


@dataclass
class FkModel:
    """Every row of ``c``: its ``pid`` and ``qid`` and, with an added column, its ``w``."""

    rows: dict[int, tuple[int | None, int, int]]
    errors: list[str] = field(default_factory=list)


def write_parents(conn: Connection, model: FkModel, side: str, ids: list[int],
                  value: int) -> None:
    """Through the referenced tables only: move the keys of the first two rows' parents
    (ON UPDATE CASCADE), delete those of the last two (SET NULL, SET DEFAULT).

    ``w`` follows an old-side cascade (``up`` of the row it leaves); a new-version cascade
    sets ``pid``/``qid`` as a new-version ``UPDATE`` of them would, and leaves ``w``.
    """
    moved, deleted = ids[:2], ids[2:]
    conn.execute("UPDATE p SET id = id + %s WHERE id = ANY(%s)", (MOVED, moved))
    conn.execute("UPDATE q SET id = id + %s WHERE id = ANY(%s)", (MOVED, moved))
    conn.execute("DELETE FROM p WHERE id = ANY(%s)", (deleted,))
    conn.execute("DELETE FROM q WHERE id = ANY(%s)", (deleted,))
    for row_id in ids:
        pid, qid, w = model.rows[row_id]
        if row_id in moved:
            pid, qid = row_id + MOVED, row_id + MOVED
        else:
            pid, qid = None, 0
        model.rows[row_id] = (pid, qid, w if side == "new" else _up(pid, qid))


WRITES["parents"] = (write_parents, ("base", "old", "new"))


def _check_fk(conn: Connection, model: FkModel, case: str, after_complete: bool) -> list[str]:
    _, new_pid, new_qid, added = FK_MIGRATIONS[case]
    wrong = []
    views = [(NEW, new_pid, new_qid)] + ([] if after_complete else [(OLD, "pid", "qid")])
    for schema, pid, qid in views:
        w = sql.SQL(", w") if schema == NEW and added else sql.SQL(", NULL")
        found = {r[0]: r[1:] for r in conn.execute(sql.SQL("SELECT id, {}, {}{} FROM {}.c").format(
            sql.Identifier(pid), sql.Identifier(qid), w, sql.Identifier(schema))).fetchall()}
        for row_id, (e_pid, e_qid, e_w) in sorted(model.rows.items()):
            want = (e_pid, e_qid, e_w if schema == NEW and added else None)
            if found.get(row_id) != want:
                wrong.append(f"{schema}: row {row_id} is {found.get(row_id)}, not {want}")
    # no child left referencing a parent that is gone, through either version
    orphans = conn.execute(sql.SQL(
        "SELECT c.id FROM {}.c c WHERE (c.{} IS NOT NULL AND NOT EXISTS "
        "(SELECT FROM public.p WHERE p.id = c.{})) OR NOT EXISTS "
        "(SELECT FROM public.q WHERE q.id = c.{})").format(
        sql.Identifier(NEW), sql.Identifier(new_pid), sql.Identifier(new_pid),
        sql.Identifier(new_qid))).fetchall()
    if orphans:
        wrong.append(f"new version: rows {sorted(r[0] for r in orphans)} reference no parent")
    return wrong


@pytest.mark.parametrize("case", list(FK_MIGRATIONS))
@pytest.mark.parametrize("two_passes", [True, False], ids=["two passes", "one pass"])
def test_foreign_key_actions_reach_the_other_version(
        pg_conn: Connection, admin_dsn: str, case: str, two_passes: bool) -> None:
    _prepare(admin_dsn, FK_SETUP)
    pg_conn.execute(f"INSERT INTO p SELECT g FROM generate_series(1, {ROWS}) g")
    pg_conn.execute(f"INSERT INTO q SELECT g FROM generate_series(0, {ROWS}) g")
    pg_conn.execute(f"INSERT INTO c SELECT g, g, g, g FROM generate_series(1, {ROWS}) g")
    pg_conn.execute("ANALYZE p; ANALYZE q; ANALYZE c")
    model = FkModel({i: (i, i, _up(i, i)) for i in range(1, ROWS + 1)})
    writes = Writes(admin_dsn, model, "parents")
    _run(admin_dsn, FK_MIGRATIONS[case][0], writes, two_passes,
         lambda after_complete: _check_fk(pg_conn, model, case, after_complete))


def test_set_default_through_the_new_version_of_a_rewritten_column(
        pg_conn: Connection, admin_dsn: str) -> None:
    _prepare(admin_dsn, FK_SETUP)
    pg_conn.execute("INSERT INTO p SELECT g FROM generate_series(1, 10) g")
    pg_conn.execute("INSERT INTO q SELECT g FROM generate_series(0, 10) g")
    pg_conn.execute("INSERT INTO c SELECT g, g, g, g FROM generate_series(1, 10) g")
    runner = make_runner(admin_dsn, batch_size=20, init=False)
    try:
        runner.start(migration("alter table c alter qid type bigint up `qid` down `qid::int`;",
                               "02_more"))
        with client(admin_dsn, OLD) as old:  # the old version: fine
            old.execute("DELETE FROM q WHERE id = 4")
        with client(admin_dsn, NEW) as new:  # the same through the new version (was 23503)
            new.execute("DELETE FROM q WHERE id = 5")
        assert pg_conn.execute("SELECT o.qid, n.qid FROM public_01_setup.c o JOIN "
                               "public_02_more.c n USING (id) WHERE id IN (4, 5) "
                               "ORDER BY id").fetchall() == [(0, 0), (0, 0)]
        runner.complete()
    finally:
        runner.close()


# --- a REPEATABLE READ transaction older than start ---------------------------------------------


class OldSnapshots(Writes):
    """``REPEATABLE READ`` transactions, one a side, whose snapshot predates start (they read
    another table: one that read ``t`` would hold a lock start's DDL waits for). At
    ``moment`` each inserts a row and updates one the backfill has not reached (a row the
    first pass wrote since the snapshot may fail with 40001: refused, not lost), and commits
    half a second later, from another thread, while start goes on (and may wait for it)."""

    def __init__(self, dsn: str, model: Model, moment: str, sides: tuple[str, ...]) -> None:
        self.dsn = dsn
        self.model = model
        self.moment = moment
        self.done: set[str] = set()
        self.conns = {side: client(dsn, _search_path(side)) for side in sides}
        self.pending: dict[int, int] = {}
        self.committers: list[threading.Thread] = []
        for conn in self.conns.values():
            conn.execute("BEGIN ISOLATION LEVEL REPEATABLE READ")
            conn.execute("SELECT count(*) FROM public.other")

    def at(self, moment: str, sides: tuple[str, ...]) -> None:
        if moment != self.moment or moment in self.done:
            return
        self.done.add(moment)
        for slot, (side, conn) in enumerate(self.conns.items()):
            value = 700 + 10 * slot
            try:
                cols = _sets(self.model.migration, side, value)
                conn.execute(sql.SQL("INSERT INTO t (id, {}) VALUES ({}, {})").format(
                    sql.SQL(", ").join(sql.Identifier(c) for c in cols), 20_000 + slot,
                    sql.SQL(", ").join(sql.Literal(v) for v in cols.values())))
                self.pending[20_000 + slot] = value
                conn.execute("SAVEPOINT s")
                try:
                    cols = _sets(self.model.migration, side, value + 1)
                    conn.execute(sql.SQL("UPDATE t SET {} WHERE id = {}").format(
                        _assignments(cols), ROWS - slot))
                    self.pending[ROWS - slot] = value + 1
                except psycopg.errors.SerializationFailure:
                    conn.execute("ROLLBACK TO SAVEPOINT s")
            except psycopg.Error as err:
                self.model.errors.append(f"{moment}, {side}: {err.sqlstate} {err}")
        thread = threading.Thread(target=self._commit, daemon=True)
        thread.start()
        self.committers.append(thread)

    def expected(self, moments: set[str]) -> set[str]:
        assert self.moment in moments, f"the plan has no moment {self.moment!r}"
        return {self.moment}

    def _commit(self) -> None:
        time.sleep(0.5)
        for side, conn in self.conns.items():
            try:
                conn.execute("COMMIT")
            except psycopg.Error as err:
                self.model.errors.append(f"commit, {side}: {err.sqlstate} {err}")
        self.model.expected.update(self.pending)

    def close(self) -> None:
        for thread in self.committers:
            thread.join(timeout=30)
        for conn in self.conns.values():
            conn.close()


@pytest.mark.parametrize("migration_name", list(MIGRATIONS))
@pytest.mark.parametrize("moment", ["during the first pass", "before the second pass",
                                    "during the only pass"])
def test_a_repeatable_read_transaction_older_than_start(
        pg_conn: Connection, admin_dsn: str, migration_name: str, moment: str) -> None:
    _older_than_start(OldSnapshots, admin_dsn, pg_conn, migration_name, moment)


def _older_than_start(kind: type[OldSnapshots], dsn: str, conn: Connection,
                      migration_name: str, moment: str) -> None:
    """Transactions of ``kind`` older than start write at ``moment`` and commit later."""
    _prepare(dsn)
    _seed(conn)
    conn.execute("CREATE TABLE public.other (x int)")
    model = Model(migration_name)
    writes = kind(dsn, model, moment, ("base", "old"))
    try:
        _run(dsn, MIGRATIONS[migration_name][0], writes,
             two_passes=moment != "during the only pass",
             check=lambda after_complete: _check(conn, model, after_complete),
             between=writes.close)
    finally:
        writes.close()
    assert set(model.expected) >= {20_000, 20_001}


@pytest.fixture(scope="module")
def two_phase() -> Iterator[str]:
    """A server of the module's own that takes ``PREPARE TRANSACTION`` (the test servers
    have ``max_prepared_transactions = 0``, PostgreSQL's default); its superuser's DSN."""
    with own_server(max_prepared_transactions="10") as dsn:
        yield dsn


class Prepared(OldSnapshots):
    """As ``OldSnapshots``, but each transaction is ``PREPARE``d at once after its writes
    (its locks stay, its session is free) and another session runs ``COMMIT PREPARED`` half a
    second later, while start goes on (and waits for its locks where it needs them)."""

    def _commit(self) -> None:
        prepared = []
        for slot, (side, conn) in enumerate(self.conns.items()):
            gid = f"pgroll_dsl_test_{uuid.uuid4().hex[:8]}_{slot}"
            try:
                conn.execute(sql.SQL("PREPARE TRANSACTION {}").format(sql.Literal(gid)))
                prepared.append(gid)
            except psycopg.Error as err:
                self.model.errors.append(f"prepare, {side}: {err.sqlstate} {err}")
        time.sleep(0.5)
        with psycopg.connect(self.dsn, autocommit=True) as other:
            for gid in prepared:
                other.execute(sql.SQL("COMMIT PREPARED {}").format(sql.Literal(gid)))
        self.model.expected.update(self.pending)


@pytest.mark.parametrize("migration_name", list(MIGRATIONS))
@pytest.mark.parametrize("moment", ["during the first pass", "before the second pass",
                                    "during the only pass"])
def test_two_phase_commit(two_phase: str, migration_name: str, moment: str) -> None:
    """A transaction older than start writes during the backfill, is PREPAREd, and is
    committed by another session while start goes on: its writes reach the other version."""
    name = f"two_phase_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(two_phase, autocommit=True) as admin:
        admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    dsn = make_conninfo(two_phase, dbname=name)
    with psycopg.connect(dsn, autocommit=True) as conn:
        _older_than_start(Prepared, dsn, conn, migration_name, moment)
        left = conn.execute("SELECT count(*) FROM pg_catalog.pg_prepared_xacts").fetchone()
        assert left == (0,)
