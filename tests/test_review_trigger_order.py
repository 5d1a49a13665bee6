"""Review of the three sync triggers per column (fill, down in reverse, up): try to break them.

Each test starts a multi-operation migration on one table, writes through the old version,
the new version and the base table while the start is paused just before the backfill (so
the seeded rows still carry the backfill marker), lets the backfill run, and then checks the
data through both version schemas, and again after complete or rollback:

* a row the new version wrote shows what the client wrote through the new version, and the
  old version shows ``down`` of it (composed over the operations, as each operation's
  ``down`` is written against the stage after it);
* a row the old version (or a base-table writer) wrote shows what it wrote through the old
  version, and the new version shows ``up`` of it;
* complete keeps every new-version value, rollback every old-version value.

What a new-version UPDATE of a row not backfilled yet leaves in a copy the UPDATE did not
name (``up`` of the row as it was before the UPDATE, as the backfill would have left it) is
left to the targeted tests at the end: the generic check only asks that the old version be
``down`` of whatever the new version shows.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from tests.live_helpers import (
    SCHEMA,
    Connection,
    apply,
    client,
    dsn_of,
    make_runner,
    migration,
    rows_by_id,
    runner_at_backfill,
    sqlstate_of,
    version_schema,
)

pytestmark = pytest.mark.postgres

Row = dict[str, Any]
OLD, NEW, BASE = "old", "new", "base"
SEARCH_PATH = {OLD: version_schema("01_setup"), NEW: version_schema("02_x"), BASE: SCHEMA}
SETUP = "create table t (id int primary key, a int, b int, c int, d text);"
OLD_COLUMNS = ("a", "b", "c", "d")
SEED = 12  # rows 1..12


def seed_row(row_id: int) -> Row:
    return {"id": row_id, "a": row_id, "b": None if row_id % 3 == 0 else row_id * 10,
            "c": row_id * 100, "d": f"d{row_id}"}


def _div(x: int | None, y: int) -> int | None:
    """PostgreSQL's integer division (truncates toward zero)."""
    if x is None:
        return None
    q = abs(x) // y
    return q if x >= 0 else -q


def _add(*xs: int | None) -> int | None:
    return None if any(x is None for x in xs) else sum(x for x in xs if x is not None)


def _coalesce(*xs: Any) -> Any:
    return next((x for x in xs if x is not None), None)


@dataclass(frozen=True)
class Case:
    """A migration on ``t`` and its composed ``up`` and ``down``, in Python.

    ``up`` maps an old-version row to the new version's columns it derives; ``down`` maps a
    new-version row to every old-version column (``id`` excluded from both).
    """

    change: str
    new_columns: tuple[str, ...]
    up: Callable[[Row], Row]
    down: Callable[[Row], Row]
    text_columns: frozenset[str] = frozenset({"d"})


TYPE_A = "alter table t alter a type bigint up `a::bigint * 10` down `(a / 10)::int`;"

CASES: dict[str, Case] = {
    # alter type, then set not null whose up reads the first copy, then a drop whose down
    # reads both copies.
    "type a, not null b reads a, drop c reads both": Case(
        TYPE_A + "\nalter table t alter b set not null up `coalesce(b, a)` down `b`;"
        "\nalter table t drop c down `a + coalesce(b, 0)`;",
        ("a", "b", "d"),
        lambda o: {"a": None if o["a"] is None else o["a"] * 10,
                   "b": _coalesce(o["b"], None if o["a"] is None else o["a"] * 10),
                   "d": o["d"]},
        lambda n: {"a": _div(n["a"], 10), "b": n["b"],
                   "c": _add(n["a"], _coalesce(n["b"], 0)), "d": n["d"]},
    ),
    # the drop first: its down reads a and b as they are before the two rewrites that follow
    # (the old columns, which the later downs fill first).
    "drop c reads a and b, then type a, then not null b reads a": Case(
        "alter table t drop c down `a + coalesce(b, 0)`;\n" + TYPE_A
        + "\nalter table t alter b set not null up `coalesce(b, a)` down `b`;",
        ("a", "b", "d"),
        lambda o: {"a": None if o["a"] is None else o["a"] * 10,
                   "b": _coalesce(o["b"], None if o["a"] is None else o["a"] * 10),
                   "d": o["d"]},
        lambda n: {"a": _div(n["a"], 10), "b": n["b"],
                   "c": _add(_div(n["a"], 10), _coalesce(n["b"], 0)), "d": n["d"]},
    ),
    # a rename in between; an added column whose up reads the first copy and the renamed one;
    # the last operation a drop whose down reads the added column and the copy.
    "type a, rename b, add x reads both, drop c reads x and a": Case(
        TYPE_A + "\nalter table t rename b to bb;"
        "\nalter table t add x int up `a + coalesce(bb, 0)`;"
        "\nalter table t drop c down `x - a`;",
        ("a", "bb", "x", "d"),
        lambda o: {"a": None if o["a"] is None else o["a"] * 10, "bb": o["b"],
                   "x": _add(None if o["a"] is None else o["a"] * 10, _coalesce(o["b"], 0)),
                   "d": o["d"]},
        lambda n: {"a": _div(n["a"], 10), "b": n["bb"],
                   "c": None if n["x"] is None or n["a"] is None else n["x"] - n["a"],
                   "d": n["d"]},
    ),
    # the last operation of the table a rename (no trigger of its own).
    "type a, add x reads a, rename d last": Case(
        TYPE_A + "\nalter table t add x int up `a + 1`;\nalter table t rename d to dd;",
        ("a", "x", "dd"),
        lambda o: {"a": None if o["a"] is None else o["a"] * 10,
                   "x": None if o["a"] is None else o["a"] * 10 + 1, "dd": o["d"]},
        lambda n: {"a": _div(n["a"], 10), "b": None, "c": None, "d": n["dd"]},
        frozenset({"dd"}),
    ),
    # the last operation an added column without up (no trigger).
    "not null b, drop c reads b, add e last": Case(
        "alter table t alter b set not null up `coalesce(b, 0)`;"
        "\nalter table t drop c down `b * 2`;\nalter table t add e int;",
        ("a", "b", "d", "e"),
        lambda o: {"a": o["a"], "b": _coalesce(o["b"], 0), "d": o["d"]},
        lambda n: {"a": n["a"], "b": n["b"], "c": None if n["b"] is None else n["b"] * 2,
                   "d": n["d"]},
    ),
    # an added column reading the old a first, then a's rewrite, then a drop reading both.
    "add x reads a, type a, drop c reads x and a": Case(
        "alter table t add x int up `a * 2`;"
        "\nalter table t alter a type bigint up `a::bigint + 1000` down `(a - 1000)::int`;"
        "\nalter table t drop c down `x + a`;",
        ("a", "x", "d"),
        lambda o: {"x": None if o["a"] is None else o["a"] * 2,
                   "a": None if o["a"] is None else o["a"] + 1000, "d": o["d"]},
        lambda n: {"a": None if n["a"] is None else n["a"] - 1000, "b": None,
                   "c": _add(n["x"], n["a"]), "d": n["d"]},
    ),
}
# Columns a case's down cannot give: they keep what the row held (not written by the new
# version, as ``b`` when no operation touches it).
UNTOUCHED_BY_DOWN = {
    "type a, add x reads a, rename d last": ("b", "c"),
    "add x reads a, type a, drop c reads x and a": ("b",),
}


@dataclass
class Write:
    who: str
    row: int
    values: Row
    insert: bool = False

    def sql(self) -> tuple[str, tuple[Any, ...]]:
        names = list(self.values)
        if self.insert:
            columns = ", ".join(["id", *names])
            marks = ", ".join(["%s"] * (len(names) + 1))
            return (f"INSERT INTO t ({columns}) VALUES ({marks})",
                    (self.row, *self.values.values()))
        assignments = ", ".join(f"{n} = %s" for n in names)
        return f"UPDATE t SET {assignments} WHERE id = %s", (*self.values.values(), self.row)


def _value(case: Case, column: str, n: int) -> Any:
    return f"w{n}" if column in case.text_columns else 500 + 7 * n


def writes_for(case: Case) -> list[Write]:
    """New-version updates of each column alone (rows 1..), a new-version insert of every
    column, old-version updates of a and of b to NULL, an old insert, a base-table update,
    and a new then an old write on one row, an old then a new one on another."""
    writes = [Write(NEW, i + 1, {col: _value(case, col, i)})
              for i, col in enumerate(case.new_columns)]
    writes.append(Write(NEW, 100, {col: _value(case, col, 10 + i)
                                   for i, col in enumerate(case.new_columns)}, insert=True))
    writes += [
        Write(OLD, 9, {"a": 77}),
        Write(OLD, 10, {"b": None, "d": "old10"}),
        Write(OLD, 200, {"a": 5, "b": None, "c": 3, "d": "old200"}, insert=True),
        Write(BASE, 11, {"a": 88, "d": "base11"}),
        # two sides on one row, in both orders (the last writer's values stand)
        Write(NEW, 6, {case.new_columns[0]: _value(case, case.new_columns[0], 20)}),
        Write(OLD, 6, {"d": "old6"}),
        Write(OLD, 7, {"a": 66}),
        Write(NEW, 7, {case.new_columns[-1]: _value(case, case.new_columns[-1], 21)}),
    ]
    return writes


def _connect(dsn: str, who: str) -> Connection:
    return client(dsn, SEARCH_PATH[who])


@pytest.fixture
def dsn(pg_dsn: str, pg_conn: Connection) -> Iterator[str]:
    """The test database with ``t`` (version 01_setup) and its seeded rows."""
    url = dsn_of(pg_dsn, pg_conn)
    runner = make_runner(url)
    apply(runner, SETUP)
    runner.close()
    for i in range(1, SEED + 1):
        row = seed_row(i)
        pg_conn.execute("INSERT INTO t VALUES (%s, %s, %s, %s, %s)",
                        tuple(row[k] for k in ("id", *OLD_COLUMNS)))
    yield url


def _submit(dsn: str, writes: list[Write]) -> None:
    conns = {who: _connect(dsn, who) for who in (OLD, NEW, BASE)}
    try:
        for write in writes:
            statement, params = write.sql()
            conns[write.who].execute(statement, params)
    finally:
        for conn in conns.values():
            conn.close()


def _expected_problems(case_name: str, case: Case, writes: list[Write],
                       old: dict[int, Row], new: dict[int, Row]) -> list[str]:
    """Every way the two versions' rows break the invariants of the module docstring."""
    problems = []
    last = {w.row: w for w in writes}
    keep = UNTOUCHED_BY_DOWN.get(case_name, ())
    assert set(old) == set(new) == set(range(1, SEED + 1)) | {100, 200}, (old, new)
    for row_id in sorted(old):
        o, n = old[row_id], new[row_id]
        write = last.get(row_id)
        if write is not None and write.who == NEW:
            for col, value in write.values.items():
                if n[col] != value:
                    problems.append(f"row {row_id}: new version {col} = {n[col]!r}, the new "
                                    f"client wrote {value!r}")
            wanted = case.down(n)
            for col in OLD_COLUMNS:
                if col in keep:
                    continue
                if o[col] != wanted[col]:
                    problems.append(f"row {row_id} (new-version write {write.values}): old "
                                    f"version {col} = {o[col]!r}, down gives {wanted[col]!r}")
        else:
            if write is not None:
                for col, value in write.values.items():
                    if o[col] != value:
                        problems.append(f"row {row_id}: old version {col} = {o[col]!r}, the "
                                        f"{write.who} client wrote {value!r}")
            else:
                seeded = seed_row(row_id)
                if o != seeded:
                    problems.append(f"row {row_id}: untouched, old version {o}, seeded {seeded}")
            wanted = case.up(o)
            for col, value in wanted.items():
                if n[col] != value:
                    what = "untouched" if write is None else f"{write.who} write {write.values}"
                    problems.append(f"row {row_id} ({what}): new version {col} = {n[col]!r}, "
                                    f"up gives {value!r}")
    return problems


@pytest.mark.parametrize("ending", ["complete", "rollback"])
@pytest.mark.parametrize("case_name", list(CASES))
def test_writes_before_the_backfill_reach_both_versions(dsn: str, case_name: str,
                                                        ending: str) -> None:
    case = CASES[case_name]
    writes = writes_for(case)
    runner, done = runner_at_backfill(dsn, lambda: _submit(dsn, writes))
    old_conn, new_conn = _connect(dsn, OLD), _connect(dsn, NEW)
    try:
        runner.start(migration(case.change, "02_x"))
        assert done.is_set()
        old, new = rows_by_id(old_conn, "t"), rows_by_id(new_conn, "t")
        problems = _expected_problems(case_name, case, writes, old, new)
        assert problems == [], "\n".join(problems)
        if ending == "complete":
            runner.complete()
            assert rows_by_id(new_conn, "t") == new, "complete changed what the new version shows"
        else:
            runner.rollback()
            assert rows_by_id(old_conn, "t") == old, "rollback changed what the old version shows"
    finally:
        old_conn.close()
        new_conn.close()
        runner.close()


def _run_with_writes(dsn: str, pg_conn: Connection, setup_sql: str, change: str,
                     before: list[tuple[str, str]], after: list[tuple[str, str]],
                     read: str) -> tuple[list[str | None], list[str | None], list[Any]]:
    """Start ``change`` on the database the ``dsn`` fixture made (``setup_sql`` run first),
    run ``before`` just before the backfill and ``after`` once start is done, and read
    ``read`` through the new version; rolled back at the end.

    Each write runs alone (autocommit) through its side; its outcome is None or a SQLSTATE.
    """
    pg_conn.execute(setup_sql)
    found: list[str | None] = []

    def act() -> None:
        for who, statement in before:
            with _connect(dsn, who) as conn:
                found.append(sqlstate_of(conn, statement))

    runner, done = runner_at_backfill(dsn, act)
    try:
        runner.start(migration(change, "02_x"))
        assert done.is_set()
        later: list[str | None] = []
        for who, statement in after:
            with _connect(dsn, who) as conn:
                later.append(sqlstate_of(conn, statement))
        with _connect(dsn, NEW) as conn:
            rows = conn.execute(read).fetchall()
    finally:
        runner.rollback()
        runner.close()
    return found, later, rows


# ---- what a new-version UPDATE of a row not backfilled yet leaves in a copy it did not name


LAYOUTS = """
create table t1 (id int primary key, a int);
create table t2 (id int primary key, a int);
create table t3 (id int primary key, a int);
insert into t1 select g, g from generate_series(1, 6) g;
insert into t2 select g, g from generate_series(1, 6) g;
insert into t3 select g, g from generate_series(1, 6) g;
"""
# t1: only the added column; t2: a later operation rewrites a; t3: an earlier one does.
THREE_LAYOUTS = """alter table t1 add x int up `a * 2`;
alter table t2 add x int up `a * 2`;
alter table t2 alter a type bigint up `a::bigint` down `a::int`;
alter table t3 alter a type bigint up `a::bigint` down `a::int`;
alter table t3 add x int up `a * 2`;"""


def test_the_unnamed_copy_of_a_new_version_update_does_not_depend_on_the_layout(
        dsn: str, pg_conn: Connection) -> None:
    """``add x up a * 2`` on three tables; on t2 a later operation rewrites ``a``, on t3 an
    earlier one. The same new-version ``UPDATE SET a = 50`` of a row not backfilled yet leaves
    the same x on each table: ``up`` of the row as it was (x = 10), what the backfill would
    have left before the client's change, and what the same UPDATE leaves on a row the
    backfill has reached (x = 12 there, up of its a = 6). Reading the written row instead
    gave 100, 10, 100: t2's old ``a`` is filled from the copy only by the later operation's
    ``down``, after every ``fill``."""
    pg_conn.execute(LAYOUTS)
    runner = make_runner(dsn)
    runner.close()
    writes = [(NEW, f"update t{n} set a = 50 where id = 5") for n in (1, 2, 3)]
    later = [(NEW, f"update t{n} set a = 50 where id = 6") for n in (1, 2, 3)]
    read = ("select 1, id, x from t1 where id in (5, 6) union all "
            "select 2, id, x from t2 where id in (5, 6) union all "
            "select 3, id, x from t3 where id in (5, 6)")
    found, after, rows = _run_with_writes(dsn, pg_conn, "select 1", THREE_LAYOUTS, writes,
                                          later, read)
    assert found == after == [None, None, None]
    before_backfill = {table: x for table, row, x in rows if row == 5}
    after_backfill = {table: x for table, row, x in rows if row == 6}
    assert before_backfill == {1: 10, 2: 10, 3: 10}, before_backfill
    assert after_backfill == {1: 12, 2: 12, 3: 12}, after_backfill


# A new-version UPDATE the new schema allows, of a column the copy's up reads, on a row the
# backfill has not reached (before) and on one it has (after): both succeed, as ``up`` is
# computed from the row as it was (a = 1, a = 3), where it succeeds, not from what the client
# wrote (once, ``up`` of the written row refused them: 22012, and 23514 for b's NOT NULL copy
# though the client wrote only the nullable a).
REFUSED = {
    "up divides by the written value": (
        "alter table t add x int up `100 / a`;",
        "update t set a = 0 where id = 1", "update t set a = 0 where id = 2",
        "select id, x from t where id in (1, 2) order by id", [(1, 100), (2, 50)]),
    "up gives NULL to a NOT NULL copy": (
        "alter table t alter b set not null up `coalesce(b, a)` down `b`;",
        "update t set a = NULL where id = 3", "update t set a = NULL where id = 6",
        "select id, b from t where id in (3, 6) order by id", [(3, 3), (6, 6)]),
}


@pytest.mark.parametrize("case", list(REFUSED))
def test_a_new_version_update_is_not_refused_only_before_the_backfill(
        dsn: str, pg_conn: Connection, case: str) -> None:
    change, before, after, read, expected = REFUSED[case]
    found, later, rows = _run_with_writes(dsn, pg_conn, "select 1", change, [(NEW, before)],
                                          [(NEW, after)], read)
    assert later == [None], later
    assert found == [None], f"{before!r} before the backfill: SQLSTATE {found[0]}"
    assert [tuple(row) for row in rows] == expected  # up of the rows as they were


NORMALIZE = """
CREATE FUNCTION public.normalize() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  NEW.d := lower(btrim(NEW.d));
  RETURN NEW;
END $$;
CREATE TRIGGER normalize BEFORE INSERT OR UPDATE ON public.t
FOR EACH ROW EXECUTE FUNCTION public.normalize();
"""


def test_up_reads_the_row_the_tables_own_trigger_leaves(dsn: str, pg_conn: Connection) -> None:
    """``add s text up d || '!'`` on a table whose own trigger normalizes ``d``: the copy is
    ``up`` of the row as it is stored, after the table's own trigger, whoever writes a row the
    backfill has not reached: an old-version write of that row (the ``~`` up trigger fires
    after the user's), or a new-version one (the row as it was stored before the UPDATE,
    which the same trigger normalized when it was written; not the client's raw ``d``, which
    the fill trigger, named ``_pgroll...``, would have read before the user's trigger ran)."""
    writes = [(NEW, "update t set d = '  NeW ' where id = 5"),
              (NEW, "insert into t (id, d) values (6, '  UpS ') "
                    "on conflict (id) do update set d = excluded.d"),
              (OLD, "update t set d = '  OlD ' where id = 7")]
    found, _, rows = _run_with_writes(
        dsn, pg_conn, NORMALIZE, "alter table t add s text up `d || '!'`;", writes, [],
        "select id, d, s from t where id in (5, 6, 7) order by id")
    assert found == [None, None, None]
    assert [tuple(row) for row in rows] == [(5, "new", "d5!"), (6, "ups", "d6!"),
                                            (7, "old", "old!")]
