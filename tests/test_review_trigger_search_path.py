"""Review of commit 70ea93c: the sync triggers' own ``search_path``, generated columns in NEW.

The change (``pgroll_dsl/plan/triggers.py``):

1. ``resolves_names``: a trigger function whose ``up``/``down`` names a table (sub-query), a
   function, an operator or a type cast gets ``SET search_path = <schema>, pg_temp``, so it
   evaluates the expression where the backfill does, whoever writes (before, it ran with the
   writer's ``search_path``: a version schema of views only). One of columns and constants
   alone gets no ``SET`` (its cost is about 8 % of a row UPDATE), nor, since, one without a
   call whose names are all ``pg_catalog``'s by qualification or by the grammar
   (``CAST(a AS bigint)``).
2. ``generated_on_new`` / ``_assign``: a stored generated column that ``up``/``down`` reads is
   NULL in ``NEW`` of a BEFORE trigger, so the trigger computes it from its generation
   expression over NEW's other fields (the *fill* trigger reads OLD, where it is stored).

Every test runs on a real PostgreSQL and checks DATA through both version schemas. Most use
*twins*, as ``tests/test_review_fill_old_row.py`` does: rows ``r`` and ``r + TWIN`` are seeded
alike; each write runs on ``r`` just before the backfill (rows still marked) and on
``r + TWIN`` after it; then every statement succeeded, every row equals its twin through the
new and the old version, the written rows hold the values the backfill gives the same old
values (written out by hand), and complete or rollback changes nothing a version shows.
Writers are old-version, new-version, base-table clients, and clients whose ``search_path``
is ``<version schema>, public`` (still their version's side); ``public`` holds decoys named
like the schema's objects (``twice``, ``o``, ``mood``, ``seq``) that a trigger evaluating in
the writer's ``search_path`` would pick up.

What holds: a non-public schema, also one with spaces and mixed case, and one with a double
quote for old-version and base-table writers (the ``SET`` is quoted right); a function and a
sub-query of the schema; an enum cast; ``nextval('seq')`` (the schema's sequence, not
public's); a user operator on a domain named in ``=``; a user function named like a built-in
(the built-in wins, in the trigger as in the backfill: ``pg_catalog`` is searched first); a
``pg_catalog.``-qualified call; generated columns over two columns, read by ``down``, on a
partitioned table, with old-version INSERTs and INSERT ... ON CONFLICT DO UPDATE; no ``SET`` on
functions of plain columns, a quoted ``SET`` (``<schema>, pg_temp``) on those with a call.
(The DSL does not add a generated column, so a ``down`` reading one the new version adds is
not tried.) Every test that passes here but one (no ``SET`` for plain columns) fails at
70ea93c^.

Defects this review found, fixed since, each test failing before its fix: a generated column
whose expression calls a function of the schema (its computation in ``NEW`` had no ``SET``:
42883); names resolved through ``search_path`` that ``calls`` did not see (``CASE x WHEN``'s
implicit ``=``: the old version's writers compared with pg_catalog's text ``=``; ``COLLATE``:
42704); a writer's temp table named like the sub-query's table (``pg_temp`` was searched
first; it is now last); a column a stored generated column reads rewritten or dropped (the
trigger computed g over the copy, and complete failed with 2BP01: start now refuses, PGD324).

A version schema whose name holds a double quote or a comma: ``is_new_version`` cut the
search_path's text at its first comma and trimmed quotes, so the new version's writers ran the
old side's triggers (strict xfail until it read ``current_schemas``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import psycopg
import pytest

from pgroll_dsl.backends.runner import Runner
from pgroll_dsl.diagnostics import CompileError
from pgroll_dsl.sql.quoting import quote_ident
from tests.live_helpers import (
    Connection,
    dsn_of,
    migration,
    rows_by_id,
    runner_at_backfill,
    sqlstate_of,
    twin_differences,
)

pytestmark = pytest.mark.postgres

TWIN = 100  # row r + TWIN is row r's twin, written after the backfill
Row = dict[str, Any]
APP = "app"
SPACED = "Mixed Case Sp"
QUOTED = 'My "S" x'

# Objects of ``public`` named like the schema's: a trigger that evaluated ``up`` with a
# writer's ``search_path`` of ``<version>, public`` would find these, with other values.
DECOYS = (
    "create function public.twice(i int) returns int language sql immutable "
    "as 'select i * -1';\n"
    "create table public.o (k int primary key, v int);\n"
    "insert into public.o select g, -g from generate_series(1, 199) g;\n"
    "create type public.mood as enum ('decoy');\n"
    "create sequence public.seq;\n"
)


def _seed(columns: str, values: str, table: str = "t") -> str:
    """Rows 1..9 and their twins 101..109 (``g % 100`` is the same for both), ``id`` first."""
    return (f"insert into {table} (id, {columns}) select g, {values} "
            "from generate_series(1, 199) g where g % 100 between 1 and 9;")


# ---- the harness -------------------------------------------------------------------------


@dataclass(frozen=True)
class Case:
    """A migration on ``schema`` and client writes on twins.

    ``writes``: ``(who, SQL)``, ``who`` a key of ``_paths``, ``{o}`` in the SQL the offset of
    the row (0 before the backfill, ``TWIN`` after it). ``expect``: new-version columns of a
    row and its twin afterwards; ``expect_old`` the same through the old version.
    """

    setup: str  # raw SQL of the first migration, run with search_path = schema
    change: str  # the migration under test (DSL)
    writes: tuple[tuple[str, str], ...]
    expect: dict[int, Row]
    expect_old: dict[int, Row] = field(default_factory=dict)
    table: str = "t"
    schema: str = APP


def _paths(schema: str) -> dict[str, str]:
    old, new = quote_ident(f"{schema}_01_setup"), quote_ident(f"{schema}_02_x")
    return {"old": old, "old+public": f"{old}, public", "new": new,
            "new+public": f"{new}, public", "base": quote_ident(schema)}


def _client(dsn: str, path: str) -> Connection:
    conn = psycopg.connect(dsn, autocommit=True)
    conn.execute(f"SET search_path TO {path}")
    return conn


def _setup(dsn: str, schema: str, setup: str) -> None:
    with psycopg.connect(dsn, autocommit=True) as admin:
        admin.execute(DECOYS)
        if schema != "public":
            admin.execute(f"CREATE SCHEMA {quote_ident(schema)}")
    runner = _runner(dsn, schema)
    try:
        runner.start(migration(f"sql up `{setup}`;", "01_setup"))
        runner.complete()
    finally:
        runner.close()


def _runner(dsn: str, schema: str, before_backfill: Callable[[], None] | None = None) -> Runner:
    """A Runner on ``schema`` that runs ``before_backfill`` once, just before the backfill."""
    return runner_at_backfill(dsn, before_backfill or (lambda: None), schema)[0]


def _write(dsn: str, case: Case, offset: int) -> list[str | None]:
    paths = _paths(case.schema)
    found = []
    for who, text in case.writes:
        with _client(dsn, paths[who]) as conn:
            found.append(sqlstate_of(conn, text.format(o=offset), message=True))
    return found


def _read(dsn: str, path: str, table: str) -> dict[int, Row]:
    with _client(dsn, path) as conn:
        return rows_by_id(conn, table)


def _problems(rows: dict[int, Row], wanted: dict[int, Row], version: str) -> list[str]:
    found = twin_differences(rows, version, TWIN)
    for row_id, columns in wanted.items():
        for each in (row_id, row_id + TWIN):
            got = {k: rows.get(each, {}).get(k, "<no row>") for k in columns}
            if got != columns:
                found.append(f"{version} version: row {each} {got}, expected {columns}")
    return found


def _check(dsn: str, case: Case, ending: str) -> None:
    """Run ``case`` as the module docstring says; fail with every difference found."""
    _setup(dsn, case.schema, case.setup)
    outcomes: dict[str, list[str | None]] = {}
    runner = _runner(dsn, case.schema,
                     lambda: outcomes.__setitem__("before", _write(dsn, case, 0)))
    paths = _paths(case.schema)
    try:
        runner.start(migration(case.change, "02_x"))
        assert "before" in outcomes, "the writes did not run before the backfill"
        outcomes["after"] = _write(dsn, case, TWIN)
        new, old = _read(dsn, paths["new"], case.table), _read(dsn, paths["old"], case.table)
        problems = [f"{when} the backfill: {text!r} failed with {outcome}"
                    for when in ("before", "after")
                    for (_, text), outcome in zip(case.writes, outcomes[when], strict=True)
                    if outcome is not None]
        problems += _problems(new, case.expect, "new") + _problems(old, case.expect_old, "old")
        assert problems == [], "\n".join(problems)
        if ending == "complete":
            runner.complete()
            assert _read(dsn, paths["base"], case.table) == new, "complete changed the data"
        else:
            runner.rollback()
            assert _read(dsn, paths["old"], case.table) == old, "rollback changed the data"
    finally:
        runner.close()


@pytest.fixture
def dsn(pg_dsn: str, pg_conn: Connection) -> str:
    return dsn_of(pg_dsn, pg_conn)


def _configs(dsn: str, schema: str) -> dict[str, list[str] | None]:
    """Sync trigger function -> its ``proconfig`` (None: no SET)."""
    with psycopg.connect(dsn) as conn:
        rows = conn.execute(
            "SELECT p.proname, p.proconfig FROM pg_proc p JOIN pg_namespace n "
            "ON n.oid = p.pronamespace WHERE n.nspname = %s AND p.proname LIKE %s "
            "AND p.proname NOT LIKE %s", (schema, "%pgroll\\_trigger%", "%-set%")).fetchall()
    return {name: config for name, config in rows}


# ---- a function and a sub-query of a non-public schema, hostile names, every writer ------

# x = twice(a) + o.v where o.k = a, with o.v = 1000 k and twice(i) = 2 i: x = 1002 a. The
# migration rewrites o.v (a copy): the sub-query reads the table o, its stored v.
SEED_SCHEMA = (
    "create function twice(i int) returns int language sql immutable as 'select i * 2';\n"
    "create table o (k int primary key, v int);\n"
    "insert into o select g, g * 1000 from generate_series(1, 99) g;\n"
    "create table t (id int primary key, a int, c text);\n" + _seed("a, c", "g % 100, 'c'"))
CHANGE_SCHEMA = ("alter table o alter v type bigint up `v::bigint + 7` down `(v - 7)::int`;\n"
                 "alter table t add x bigint up `twice(a) + (select v from o where o.k = a)`;")
OLD_SIDE = (
    ("old", "update t set a = 7 where id = 1 + {o}"),
    ("old+public", "update t set a = 8 where id = 2 + {o}"),
    ("base", "update t set a = 9 where id = 5 + {o}"),
    ("old", "insert into t (id, a) values (56 + {o}, 6)"),
    ("old+public", "insert into t (id, a) values (57 + {o}, 5) on conflict (id) "
                   "do update set a = excluded.a"),
    ("old", "insert into t (id, a) values (6 + {o}, 4) on conflict (id) "
            "do update set a = excluded.a"),
)
NEW_SIDE = (
    # a marked row: x is up of the row as it was (a = 3), as the backfill leaves it
    ("new", "update t set a = 50, c = 'w' where id = 3 + {o}"),
    ("new+public", "update t set c = 'z' where id = 4 + {o}"),
    ("new", "insert into t (id, a, x) values (58 + {o}, 6, 1)"),
)
EXPECT_OLD_SIDE: dict[int, Row] = {
    1: {"a": 7, "x": 7014}, 2: {"a": 8, "x": 8016}, 5: {"a": 9, "x": 9018},
    56: {"a": 6, "x": 6012}, 57: {"a": 5, "x": 5010}, 6: {"a": 4, "x": 4008}, 7: {"x": 7014}}
EXPECT_NEW_SIDE: dict[int, Row] = {
    3: {"a": 50, "x": 3006, "c": "w"}, 4: {"x": 4008, "c": "z"}, 58: {"x": 1}}


@pytest.mark.parametrize(("schema", "writers", "ending"), [
    pytest.param(APP, "all", "complete", id="schema app, every writer, complete"),
    pytest.param(SPACED, "all", "rollback", id="schema with spaces and capitals, rollback"),
    pytest.param(QUOTED, "old side", "complete",
                 id="schema with a double quote, old-version and base writers"),
])
def test_function_and_subquery_of_the_schema(dsn: str, schema: str, writers: str,
                                             ending: str) -> None:
    both = writers == "all"
    expect = {**EXPECT_OLD_SIDE, **EXPECT_NEW_SIDE} if both else EXPECT_OLD_SIDE
    _check(dsn, Case(SEED_SCHEMA, CHANGE_SCHEMA, OLD_SIDE + (NEW_SIDE if both else ()), expect,
                     expect_old={3: {"a": 50}} if both else {}, schema=schema), ending)


@pytest.mark.parametrize("schema", [QUOTED, "a,b"])
def test_new_version_writers_of_a_schema_named_with_a_quote_or_comma(dsn: str,
                                                                     schema: str) -> None:
    _check(dsn, Case(
        "create table t (id int primary key, a int);\n" + _seed("a", "g % 100"),
        "alter table t add x int up `a * 10`;",
        (("new", "update t set x = 5 where id = 1 + {o}"),
         ("new", "insert into t (id, a, x) values (50 + {o}, 3, 7)"),
         ("old", "update t set a = 9 where id = 2 + {o}")),
        {1: {"x": 5}, 50: {"x": 7}, 2: {"x": 90}, 3: {"x": 30}}, schema=schema), "rollback")


# ---- types, sequences, operators, shadowed and qualified built-ins ------------------------

SEED_CI = (
    "create domain ci as text;\n"
    "create function ci_eq(ci, ci) returns boolean language sql immutable "
    "as 'select lower($1) = lower($2)';\n"
    "create operator = (leftarg = ci, rightarg = ci, function = ci_eq);\n"
    "create table t (id int primary key, name ci);\n"
    + _seed("name", "case when g % 100 = 9 then 'bob' else 'al' end"))
CI_WRITES = (("old", "update t set name = 'Bob' where id = 1 + {o}"),
             ("old+public", "insert into t (id, name) values (50 + {o}, 'bOB')"),
             ("base", "update t set name = 'bob' where id = 2 + {o}"))
# The backfill evaluates the expression in the schema: ci's =, case-insensitive.
CI_EXPECT = {1: {"x": 1}, 50: {"x": 1}, 2: {"x": 1}, 3: {"x": 0}, 9: {"x": 1}}

TYPES = {
    "enum cast to a type of the schema": Case(
        "create type mood as enum ('sad', 'ok', 'happy');\n"
        "create table t (id int primary key, s text);\n" + _seed("s", "'ok'"),
        "alter table t alter s type mood up `s::mood` down `s::text`;",
        (("old", "update t set s = 'happy' where id = 1 + {o}"),
         ("old+public", "insert into t (id, s) values (50 + {o}, 'sad')"),
         ("new", "update t set s = 'sad' where id = 2 + {o}"),
         ("new+public", "insert into t (id, s) values (51 + {o}, 'happy')")),
        {1: {"s": "happy"}, 50: {"s": "sad"}, 2: {"s": "sad"}, 51: {"s": "happy"},
         3: {"s": "ok"}},
        expect_old={2: {"s": "sad"}, 51: {"s": "happy"}}),
    "user operator on a domain, named in =": Case(
        SEED_CI, "alter table t add x int up `CASE WHEN name = 'BOB' THEN 1 ELSE 0 END`;",
        CI_WRITES, CI_EXPECT),
    "user function named like a built-in, pg_catalog-qualified built-in": Case(
        # upper(text) of the schema loses to pg_catalog's (searched first, in the trigger as
        # in the backfill); length(int) exists only in the schema.
        "create function upper(text) returns text language sql immutable "
        "as $$select 'shadow'$$;\n"
        "create function length(int) returns int language sql immutable as 'select $1 * 100';\n"
        "create table t (id int primary key, a int, c text);\n" + _seed("a, c", "1, 'c'"),
        "alter table t add x text up `upper(c) || length(a)`;\n"
        "alter table t add y text up `pg_catalog.upper(c) || pg_catalog.length(c)`;",
        (("old", "update t set a = 2, c = 'q' where id = 1 + {o}"),
         ("old+public", "insert into t (id, a, c) values (50 + {o}, 3, 'zz')"),
         ("new", "update t set a = 5 where id = 2 + {o}")),
        {1: {"x": "Q200", "y": "Q1"}, 50: {"x": "ZZ300", "y": "ZZ2"},
         2: {"a": 5, "x": "C100", "y": "C1"}, 3: {"x": "C100", "y": "C1"}}),
}


@pytest.mark.parametrize("name", list(TYPES))
def test_types_operators_and_functions(dsn: str, name: str) -> None:
    _check(dsn, TYPES[name], "complete" if len(name) % 2 else "rollback")


def test_case_with_an_implicit_operator_of_the_schema(dsn: str) -> None:
    _check(dsn, Case(SEED_CI, "alter table t add x int up `CASE name WHEN 'BOB' THEN 1 "
                     "ELSE 0 END`;", CI_WRITES, CI_EXPECT), "rollback")


def test_collation_of_the_schema(dsn: str) -> None:
    _check(dsn, Case(
        'create collation mycoll from "C";\n'
        "create table t (id int primary key, name text);\n" + _seed("name", "'al'"),
        "alter table t add x text up `name COLLATE mycoll`;",
        (("old", "update t set name = 'Bob' where id = 1 + {o}"),),
        {1: {"x": "Bob"}, 2: {"x": "al"}}), "rollback")


def test_nextval_uses_the_sequence_of_the_schema(dsn: str) -> None:
    """``up nextval('seq')``: every row gets one value of the schema's sequence (from 1000),
    whoever writes it; public's ``seq``, which a writer of ``<old version>, public`` would
    find, is never called."""
    _setup(dsn, APP, "create sequence seq start 1000;\n"
           "create table t (id int primary key, a int);\n" + _seed("a", "g % 100"))
    writes = (("old", "update t set a = 50 where id = 1"),
              ("old+public", "insert into t (id, a) values (50, 1)"),
              ("old+public", "update t set a = 51 where id = 2"),
              ("base", "insert into t (id, a) values (51, 1)"))
    outcomes: list[str | None] = []
    paths = _paths(APP)

    def before() -> None:
        for who, text in writes:
            with _client(dsn, paths[who]) as conn:
                outcomes.append(sqlstate_of(conn, text, message=True))

    runner = _runner(dsn, APP, before)
    try:
        runner.start(migration("alter table t add n bigint up `nextval('seq')`;", "02_x"))
        with _client(dsn, paths["old+public"]) as conn:
            outcomes.append(sqlstate_of(conn, "insert into t (id, a) values (52, 1)",
                                        message=True))
        assert outcomes == [None] * 5
        new = _read(dsn, paths["new"], "t")
        numbers = sorted(row["n"] for row in new.values())
        assert numbers == list(range(1000, 1000 + len(new))), numbers
        with _client(dsn, "public") as conn:
            assert conn.execute("select is_called from public.seq").fetchone() == (False,)
        runner.complete()
    finally:
        runner.close()


# ---- a temp table of the writer's session named like the sub-query's table ---------------


def test_temp_table_of_the_writer_named_like_the_subquery_table(dsn: str) -> None:
    temp = "create temp table o (k int, v int); insert into o values (2, -2), (3, -3); "
    _check(dsn, Case(
        "create table o (k int primary key, v int);\n"
        "insert into o select g, g * 1000 from generate_series(1, 99) g;\n"
        "create table t (id int primary key, a int, c text);\n" + _seed("a", "g % 100"),
        "alter table t add x int up `(select v from o where o.k = a)`;",
        (("old", temp + "update t set a = 2 where id = 1 + {o}"),
         ("new", temp + "update t set c = 'w' where id = 2 + {o}")),
        {1: {"x": 2000}, 2: {"x": 2000}}), "rollback")


# ---- stored generated columns -------------------------------------------------------------

SEED_G2 = ("create table t (id int primary key, a int, b int, c int, "
           "g int generated always as (a + b) stored);\n"
           + _seed("a, b, c", "g % 100, (g % 100) * 3, 0"))

GENERATED = {
    # up reads g = a + b; the writes change one of the two columns, or both
    "up reads a generated column of two columns": Case(
        SEED_G2, "alter table t add x int up `g`;", (
            ("old", "update t set a = 50 where id = 1 + {o}"),
            ("old+public", "update t set b = 7 where id = 2 + {o}"),
            ("base", "update t set c = 9 where id = 3 + {o}"),
            ("old", "insert into t (id, a, b) values (50 + {o}, 7, 8)"),
            ("old", "insert into t (id, a, b) values (4 + {o}, 70, 1) on conflict (id) "
                    "do update set a = excluded.a"),
            ("old", "insert into t (id, a, b) values (51 + {o}, 70, 1) on conflict (id) "
                    "do update set a = excluded.a"),
            ("new", "insert into t (id, a, b) values (5 + {o}, 70, 1) on conflict (id) "
                    "do update set a = excluded.a"),  # x: up of the row as it was
            ("new", "update t set b = 1 where id = 6 + {o}")),
        {1: {"g": 53, "x": 53}, 2: {"g": 9, "x": 9}, 3: {"g": 12, "x": 12},
         50: {"g": 15, "x": 15}, 4: {"g": 82, "x": 82}, 51: {"g": 71, "x": 71},
         5: {"a": 70, "g": 85, "x": 20}, 6: {"g": 7, "x": 24}, 7: {"x": 28}}),
    "down reads a generated column (drop c down g)": Case(  # add y: a backfill to wait for
        SEED_G2, "alter table t drop c down `g`;\nalter table t add y int up `a`;", (
            ("new", "update t set a = 50 where id = 1 + {o}"),
            ("new+public", "insert into t (id, a, b) values (50 + {o}, 7, 8)"),
            ("new", "insert into t (id, a, b) values (2 + {o}, 70, 1) on conflict (id) "
                    "do update set b = excluded.b"),
            ("old", "update t set c = 5 where id = 3 + {o}")),
        {1: {"g": 53}}, expect_old={1: {"c": 53}, 50: {"c": 15}, 2: {"g": 3, "c": 3},
                                    3: {"c": 5}, 4: {"c": 0}}),
    "partitioned table, up reads a generated column": Case(
        "create table pt (id int, k int, a int, g int generated always as (a * 2 + k) stored, "
        "primary key (id, k)) partition by range (k);\n"
        "create table pt_low partition of pt for values from (minvalue) to (100);\n"
        "create table pt_high partition of pt for values from (100) to (maxvalue);\n"
        + _seed("k, a", "1, g % 100", "pt"),
        "alter table pt add x int up `g`;", (
            ("old", "update pt set k = 150 where id = 1 + {o}"),
            ("old+public", "insert into pt (id, k, a) values (50 + {o}, 150, 7)"),
            ("base", "update pt set a = 9 where id = 2 + {o}"),
            ("new", "update pt set k = 150 where id = 3 + {o}")),  # x of the row as it was
        {1: {"g": 152, "x": 152}, 50: {"g": 164, "x": 164}, 2: {"g": 19, "x": 19},
         3: {"g": 156, "x": 7}, 4: {"x": 9}}, table="pt"),
}
ENDS = {"up reads a generated column of two columns": "complete",
        "down reads a generated column (drop c down g)": "complete",
        "partitioned table, up reads a generated column": "rollback"}


@pytest.mark.parametrize("name", list(GENERATED))
def test_generated_columns(dsn: str, name: str) -> None:
    _check(dsn, GENERATED[name], ENDS[name])


def test_generated_column_calling_a_function_of_the_schema(dsn: str) -> None:
    _check(dsn, Case(
        "create function twice(i int) returns int language sql immutable as 'select i * 2';\n"
        "create table t (id int primary key, a int, c text, "
        "g int generated always as (twice(a)) stored);\n" + _seed("a", "g % 100"),
        "alter table t add x int up `g`;",
        (("old", "update t set a = 7 where id = 1 + {o}"),
         ("old", "insert into t (id, a) values (50 + {o}, 3)"),
         ("new", "update t set a = 5 where id = 2 + {o}")),  # the fill reads OLD.g
        {1: {"g": 14, "x": 14}, 50: {"x": 6}, 2: {"g": 10, "x": 4}, 3: {"x": 6}}), "rollback")


SEED_G1 = ("create table t (id int primary key, a int, c int, "
           "g int generated always as (a * 2) stored);\n" + _seed("a, c", "g % 100, 0"))
TYPE_A = "alter table t alter a type bigint up `a::bigint * 10` down `(a / 10)::int`;\n"


@pytest.mark.parametrize("change", [
    TYPE_A + "alter table t add x int up `g`;",
    TYPE_A + "alter table t drop c down `g`;",
    "alter table t drop c down `g`;\n" + TYPE_A,
    "alter table t alter a set not null up `coalesce(a, 0)` down `a`;",
    "alter table t drop a;",
])
def test_a_column_a_generated_column_reads_is_not_rewritten_nor_dropped(
        dsn: str, change: str) -> None:
    """PostgreSQL refuses a type change of a column a stored generated column reads, and the
    drop of the old column at complete: start refuses (PGD324) before anything runs, where
    it once let complete fail (2BP01, cannot drop column a of table t because column g
    depends on it), and computed g over the copy meanwhile (x = 10 times g)."""
    _setup(dsn, APP, SEED_G1)
    runner = _runner(dsn, APP)
    try:
        with pytest.raises(CompileError) as refused:
            runner.start(migration(change, "02_x"))
        assert {d.code.id for d in refused.value.diagnostics} == {"PGD324"}, refused.value
        assert 'the stored generated column "g" reads it' in str(refused.value)
        with _client(dsn, APP) as conn:  # nothing ran
            assert conn.execute("select count(*) from information_schema.columns "
                                "where table_schema = %s and table_name = 't'",
                                (APP,)).fetchone() == (4,)
    finally:
        runner.close()


# ---- the cost side: which functions get SET search_path ----------------------------------


NO_SEARCH: dict[str, tuple[str, int, object]] = {  # change, functions at least, x of row 1
    # ``up a down a`` of a type change, ``up coalesce(b, a) down b`` of a NOT NULL, an
    # ``up b`` column copy: expressions of columns (and constants) alone.
    "plain columns": (
        "alter table t alter a type bigint up `a` down `a`;\n"
        "alter table t alter b set not null up `coalesce(b, a)` down `b`;\n"
        "alter table t add x bigint up `b`;", 5, 41),
    # A keyword type (``CAST(a AS bigint)``, ``c::varchar(9)``: pg_catalog's by the grammar),
    # a pg_catalog-qualified operator: they resolve the same on every search_path. (A call,
    # even pg_catalog's, keeps the SET: its arguments may name objects, nextval('s').)
    "names of pg_catalog": (
        "alter table t alter a type bigint up `CAST(a AS bigint)` down `a::integer`;\n"
        "alter table t alter c type varchar(9) up `c::varchar(9)` down `c`;\n"
        "alter table t add x bigint up `b OPERATOR(pg_catalog.+) 1`;", 6, 42),
}


@pytest.mark.parametrize("case", list(NO_SEARCH))
def test_functions_that_need_no_search_path(dsn: str, case: str) -> None:
    """No SET on their functions, and the values right for a writer whose path holds the
    decoys of ``public``."""
    change, functions, x = NO_SEARCH[case]
    _setup(dsn, APP, "create table t (id int primary key, a int, b int, c text);\n"
           + _seed("a, b, c", "g % 100, g % 100, 'c'"))
    runner = _runner(dsn, APP)
    try:
        runner.start(migration(change, "02_x"))
        configs = _configs(dsn, APP)
        assert len(configs) >= functions, configs
        assert {name: config for name, config in configs.items() if config is not None} == {}
        with _client(dsn, _paths(APP)["old+public"]) as conn:
            conn.execute("update t set b = 41, c = 'q' where id = 1")
        assert _read(dsn, _paths(APP)["new"], "t")[1]["x"] == x
        runner.rollback()
    finally:
        runner.close()


@pytest.mark.parametrize("schema", [APP, SPACED, QUOTED])
def test_a_function_call_gets_the_schema_as_search_path(dsn: str, schema: str) -> None:
    """``up twice(a)``: its fill and up functions have the schema, quoted, as their
    search_path (and a writer of ``<old version>, public`` gets the schema's ``twice``, not
    public's); the type change ``up c down c`` in the same migration gets none."""
    _setup(dsn, schema, SEED_SCHEMA)
    runner = _runner(dsn, schema)
    try:
        runner.start(migration("alter table t add x bigint up `twice(a)`;\n"
                               "alter table t alter c type varchar(9) up `c` down `c`;",
                               "02_x"))
        configs = _configs(dsn, schema)
        with psycopg.connect(dsn) as conn:  # as the server prints it: app, "Mixed Case Sp"
            row = conn.execute("SELECT 'search_path=' || quote_ident(%s)", (schema,)).fetchone()
        assert row is not None
        setting = [row[0] + ", pg_temp"]
        with_path = {name for name, config in configs.items() if config == setting}
        without = {name for name, config in configs.items() if config is None}
        assert with_path == {"_pgroll_trigger_000_t_x", "~pgroll_trigger_000_t_x"}, configs
        assert without == set(configs) - with_path and len(without) >= 2, configs
        with _client(dsn, _paths(schema)["old+public"]) as conn:
            conn.execute("update t set a = 4 where id = 1")
        assert _read(dsn, _paths(schema)["new"], "t")[1]["x"] == 8
        runner.rollback()
    finally:
        runner.close()
