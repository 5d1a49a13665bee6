"""Review of commit 1a65021: the *fill* trigger computes ``up`` from the row as it was (OLD).

A new-version UPDATE of a row the backfill has not reached yet (its ``_pgroll_needs_backfill``
marker still set) runs the *fill* trigger of each copy: every copy the UPDATE did not name is
``up`` of the row as it was stored before the UPDATE, an earlier copy that ``up`` reads being
computed again from OLD in a PL/pgSQL block (``triggers._fill``, ``copies_read``). The
promise: the row ends up as the backfill would have left it, plus the client's change, the
same as the same UPDATE leaves on a row the backfill has already reached.

Every test here checks that promise on DATA, on a real PostgreSQL, with *twins*: the seeded
rows ``r`` and ``r + TWIN`` hold the same values. Each *variant* (one or a few statements of
a client) runs on row ``r`` (and ``s``) just before the backfill (``_at_backfill``: the rows
are still marked) and, after the backfill, on the twins ``r + TWIN`` (and ``s + TWIN``). Then:

* each statement's outcome (success, or its SQLSTATE) is the same on both sides;
* every row equals its twin through the new version and through the old version (which shows
  ``down`` of the new-version row): untouched rows too, so the backfill matched the triggers;
* the new-version values of ``r`` are those the variant expects (``up`` composed by hand);
* complete (or rollback) changes nothing either version shows.

Layouts: chains of copies (an earlier copy read by a later ``up``, up to three), one column
altered twice (merged, or refused: PGD320), ``up`` the trigger cannot read field by field
(sub-queries, a schema-qualified call, a column named like the block's variable
``pgroll_copy_0``), hostile identifiers, a rename in between, a partitioned table with a
cross-partition UPDATE, a stored generated column read by ``up``, other statement forms (ON
CONFLICT DO UPDATE, UPDATE ... FROM, one UPDATE of marked and unmarked rows, two UPDATEs of a
row in one transaction), and an ``up`` that fails on the stored row.

What holds: every chain, merge, rename, hostile name, partitioned and statement-form layout
here gives the backfill's row plus the client's change, through both versions, and complete
and rollback keep it; an ``up`` that fails on the stored row fails the UPDATE as it then
fails the backfill (22012). ``up`` that names a table or a function of the schema (a
sub-query of a table the migration rewrites or renames a column of, an unqualified function)
is evaluated in the schema whoever writes, as the backfill evaluates it (it was evaluated
with the writer's search_path: strict xfails until the trigger functions got their own).
A stored generated column read by ``up`` is NULL in ``NEW`` of a BEFORE trigger: the fill
reads ``OLD`` and the other triggers compute it from its expression, so old-version writers
and the backfill of a chain (which goes through the triggers) store what the backfill of one
operation stores (they stored NULL copies: strict xfails until then).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any

import psycopg
import pytest

from pgroll_dsl.backends.runner import CommandError
from pgroll_dsl.diagnostics import CompileError
from tests.live_helpers import (
    Connection,
    apply,
    client,
    dsn_of,
    make_runner,
    migration,
    rows_by_id,
    runner_at_backfill,
    sqlstate_of,
    twin_differences,
    version_schema,
)

pytestmark = pytest.mark.postgres

OLD, NEW = version_schema("01_setup"), version_schema("02_x")
TWIN = 100  # row r + TWIN is row r's twin, written after the backfill
Row = dict[str, Any]


# ---- the harness -------------------------------------------------------------------------


@dataclass(frozen=True)
class Variant:
    """Statements of clients, ``{r}`` (and ``{s}``) the rows they write.

    ``expect(r)``: new-version columns of row ``r`` afterwards (its seeded values are those of
    ``r``). ``transaction``: the statements run in one transaction (one client, ``who`` of
    the first).
    """

    writes: tuple[tuple[str, str], ...]
    expect: Callable[[int], Row] | None = None
    r: int = 1
    s: int | None = None
    transaction: bool = False


@dataclass(frozen=True)
class Case:
    setup: str  # SQL of the first migration (raw): tables and rows 1..TWIN*2-1, twins alike
    change: str  # the migration under test (DSL)
    variants: tuple[Variant, ...]
    table: str = "t"  # as SQL names it
    expect_old: dict[int, Row] = field(default_factory=dict)  # old-version columns of a row


def _run_variant(dsn: str, variant: Variant, shift: int) -> list[str | None]:
    """Run one variant on rows ``r + shift`` (and ``s + shift``): each statement's outcome."""
    rows = {"r": variant.r + shift, "s": (variant.s or 0) + shift}
    statements = [(who, text.format(**rows)) for who, text in variant.writes]
    if variant.transaction:
        with client(dsn, statements[0][0]) as conn:
            conn.autocommit = False
            found = [sqlstate_of(conn, text) for _, text in statements]
            conn.commit()
        return found
    found = []
    for who, text in statements:
        with client(dsn, who) as conn:
            found.append(sqlstate_of(conn, text))
    return found


def _read(dsn: str, version: str, table: str) -> dict[int, Row]:
    with client(dsn, version) as conn:
        return rows_by_id(conn, table)


def _check(dsn: str, case: Case, ending: str) -> None:
    """Run ``case`` as the module docstring says; fail with every difference found."""
    setup = make_runner(dsn)
    apply(setup, f"sql up `{case.setup}`;", "01_setup")
    setup.close()
    outcomes: dict[str, list[list[str | None]]] = {}

    def write(label: str, shift: int) -> None:
        outcomes[label] = [_run_variant(dsn, v, shift) for v in case.variants]

    runner, done = runner_at_backfill(dsn, lambda: write("before", 0))
    try:
        runner.start(migration(case.change, "02_x"))
        assert done.is_set()
        write("after", TWIN)
        new, old = _read(dsn, NEW, case.table), _read(dsn, OLD, case.table)
        problems = [f"variant {i}: outcomes before the backfill {b}, after {a}"
                    for i, (b, a) in enumerate(zip(outcomes["before"], outcomes["after"],
                                                   strict=True)) if b != a]
        problems += twin_differences(new, "new", TWIN) + twin_differences(old, "old", TWIN)
        for i, variant in enumerate(case.variants):
            if variant.expect is not None:
                wanted = variant.expect(variant.r)
                got = {k: new[variant.r][k] for k in wanted}
                if got != wanted:
                    problems.append(f"variant {i}: new version row {variant.r} {got}, "
                                    f"expected {wanted}")
        for row_id, wanted in case.expect_old.items():
            got = {k: old[row_id][k] for k in wanted}
            if got != wanted:
                problems.append(f"old version row {row_id} {got}, expected {wanted}")
        assert problems == [], "\n".join(problems)
        if ending == "complete":
            runner.complete()
            assert _read(dsn, NEW, case.table) == new, "complete changed the new version"
        else:
            runner.rollback()
            assert _read(dsn, OLD, case.table) == old, "rollback changed the old version"
    finally:
        runner.close()


@pytest.fixture
def dsn(pg_dsn: str, pg_conn: Connection) -> str:
    return dsn_of(pg_dsn, pg_conn)


# ---- the layouts -------------------------------------------------------------------------

# Row g: a = g % TWIN, b = 3 * a, c = 'c' || a (twins alike); row r's seeded a is r.
SEED_T = ("create table t (id int primary key, a int, b int, c text);\n"
          "insert into t select g, g % 100, (g % 100) * 3, 'c' || (g % 100) "
          "from generate_series(1, 199) g where g % 100 <> 0;")
TYPE_A = "alter table t alter a type bigint up `a::bigint * 10` down `(a / 10)::int`;\n"
# b's up reads a's copy (a * 10): b = 3r + 10r = 13r.
TYPE_B = "alter table t alter b type bigint up `b::bigint + a` down `(b - a)::int`;\n"


def _set(values: str) -> tuple[tuple[str, str], ...]:
    return ((NEW, f"update t set {values} where id = {{r}}"),)


CHAIN_TWO = Case(SEED_T, TYPE_A + "alter table t add x bigint up `a + 1`;", (
    Variant(_set("a = 500"), lambda r: {"a": 500, "x": 10 * r + 1}, r=1),
    Variant(_set("x = 77"), lambda r: {"a": 10 * r, "x": 77}, r=2),
    Variant(_set("c = 'w'"), lambda r: {"a": 10 * r, "x": 10 * r + 1, "c": "w"}, r=3),
    Variant(_set("a = 500, x = 77"), lambda r: {"a": 500, "x": 77}, r=4),
    Variant(_set("a = NULL"), lambda r: {"a": None, "x": 10 * r + 1}, r=5),
    Variant(_set("x = NULL"), lambda r: {"a": 10 * r, "x": None}, r=6),
    Variant(_set("a = 500, c = 'w'"), lambda r: {"a": 500, "x": 10 * r + 1, "c": "w"}, r=7),
    Variant(((OLD, "update t set a = 9 where id = {r}"),),
            lambda r: {"a": 90, "x": 91}, r=8),
), expect_old={1: {"a": 50}, 2: {"a": 2}, 5: {"a": None}})

CHAIN_TYPES = Case(SEED_T, TYPE_A + TYPE_B, (
    Variant(_set("a = 500"), lambda r: {"a": 500, "b": 13 * r}, r=1),
    Variant(_set("b = 700"), lambda r: {"a": 10 * r, "b": 700}, r=2),
    Variant(_set("c = 'w'"), lambda r: {"a": 10 * r, "b": 13 * r}, r=3),
    Variant(_set("a = 500, b = 700"), lambda r: {"a": 500, "b": 700}, r=4),
    Variant(_set("b = NULL"), lambda r: {"a": 10 * r, "b": None}, r=5),
), expect_old={1: {"a": 50, "b": 13 - 500}, 2: {"a": 2, "b": 680}})

CHAIN_THREE = Case(SEED_T, TYPE_A + TYPE_B + "alter table t add x bigint up `a + b`;", (
    Variant(_set("a = 500"), lambda r: {"a": 500, "b": 13 * r, "x": 23 * r}, r=1),
    Variant(_set("b = 700"), lambda r: {"a": 10 * r, "b": 700, "x": 23 * r}, r=2),
    Variant(_set("x = 1"), lambda r: {"a": 10 * r, "b": 13 * r, "x": 1}, r=3),
    Variant(_set("a = 500, b = 700"), lambda r: {"a": 500, "b": 700, "x": 23 * r}, r=4),
    Variant(_set("c = 'w'"), lambda r: {"a": 10 * r, "b": 13 * r, "x": 23 * r}, r=5),
    Variant(_set("a = NULL, b = NULL"), lambda r: {"a": None, "b": None, "x": 23 * r}, r=6),
    Variant(_set("a = 500, b = 700, x = 1"), lambda r: {"a": 500, "b": 700, "x": 1}, r=7),
))

# Two consecutive alter_columns of a: merged into one copy, ups composed (10a + 0.5); an
# added column reads the merged copy.
MERGED = Case(SEED_T, TYPE_A + "alter table t alter a type numeric up `a + 0.5` "
              "down `floor(a)::bigint`;\nalter table t add x numeric up `a * 2`;", (
    Variant(_set("a = 500"), lambda r: {"a": 500, "x": 20 * r + 1}, r=1),
    Variant(_set("x = 7"), lambda r: {"a": 10 * r + 0.5, "x": 7}, r=2),
    Variant(_set("c = 'w'"), lambda r: {"a": 10 * r + 0.5, "x": 20 * r + 1}, r=3),
))

# A rename between the copy and the column that reads it and the renamed column.
RENAMED = Case(SEED_T, TYPE_A + "alter table t rename b to bb;\n"
               "alter table t add x bigint up `a + bb`;", (
    Variant(_set("bb = 700"), lambda r: {"a": 10 * r, "bb": 700, "x": 13 * r}, r=1),
    Variant(_set("a = 500"), lambda r: {"a": 500, "bb": 3 * r, "x": 13 * r}, r=2),
    Variant(_set("x = 1"), lambda r: {"a": 10 * r, "x": 1}, r=3),
    Variant(_set("c = 'w'"), lambda r: {"a": 10 * r, "bb": 3 * r, "x": 13 * r}, r=4),
    Variant(_set("a = 500, bb = 700, x = 1"), lambda r: {"a": 500, "bb": 700, "x": 1}, r=5),
))
# A rename after the copy: the renamed copy read by an added column.
RENAMED_COPY = Case(SEED_T, TYPE_A + "alter table t rename a to aa;\n"
                    "alter table t add x bigint up `aa + b`;", (
    Variant(_set("aa = 500"), lambda r: {"aa": 500, "x": 13 * r}, r=1),
    Variant(_set("b = 700"), lambda r: {"aa": 10 * r, "b": 700, "x": 13 * r}, r=2),
    Variant(_set("x = 1"), lambda r: {"aa": 10 * r, "x": 1}, r=3),
))

CHAINS = {"type a, add x reads a": CHAIN_TWO, "type a, type b reads a": CHAIN_TYPES,
          "type a, type b reads a, add x reads both": CHAIN_THREE,
          "a altered twice (merged), add x reads it": MERGED,
          "type a, rename b, add x reads a and bb": RENAMED,
          "type a, rename a to aa, add x reads aa": RENAMED_COPY}


ENDINGS = [(name, ending) for name in CHAINS for ending in ("complete", "rollback")
           if ending == "complete" or name == "type a, type b reads a, add x reads both"]


@pytest.mark.parametrize(("name", "ending"), ENDINGS)
def test_chains_and_renames(dsn: str, name: str, ending: str) -> None:
    _check(dsn, CHAINS[name], ending)


def test_non_consecutive_alters_of_one_column_are_refused(dsn: str) -> None:
    """Another operation between two alter_columns of ``a``: refused before anything runs."""
    runner = make_runner(dsn)
    try:
        apply(runner, f"sql up `{SEED_T}`;", "01_setup")
        with pytest.raises(CompileError) as refused:
            runner.start(migration(TYPE_A + "alter table t add x bigint up `a + 1`;\n"
                                   "alter table t alter a type numeric up `a + 0.5` "
                                   "down `floor(a)::bigint`;", "02_x"))
        assert {d.code.id for d in refused.value.diagnostics} == {"PGD320"}
    finally:
        runner.close()


# ---- up that the trigger cannot read field by field, and hostile names -------------------

SEED_O = ("create table o (k int primary key, v int);\n"
          "insert into o select g, g * 1000 from generate_series(1, 99) g;\n")
SUB_X = "alter table t add x int up `(select v from o where o.k = a)`;"

# A column named like the block's variable (pgroll_copy_0, and the first rename of it).
SEED_COPY_NAMES = (
    "create table t (id int primary key, a int, b int, pgroll_copy_0 int, pgroll_copy_0_ int);\n"
    "insert into t select g, g % 100, (g % 100) * 3, 1000, 20000 "
    "from generate_series(1, 199) g where g % 100 <> 0;")
COPY_NAMES = (TYPE_A + "alter table t alter b type bigint up `b::bigint + a + pgroll_copy_0` "
              "down `(b - a - pgroll_copy_0)::int`;\n"
              "alter table t add x bigint up `a + b + pgroll_copy_0 + pgroll_copy_0_`;")

# Mixed case, spaces, quotes, names of PL/pgSQL's records (new, old) and a long name that
# the derived names (copies, triggers) shorten with a hash.
LONG = "l" * 60
SEED_HOSTILE = (
    f'create table "My ""T"" x" (id int primary key, "Mixed A" int, "new" int, "old" int, '
    f'"b ""q""" int, {LONG} int);\n'
    f'insert into "My ""T"" x" select g, g % 100, 1, 2, 3, 4 '
    "from generate_series(1, 199) g where g % 100 <> 0;")
HOSTILE = (
    'alter table "My ""T"" x" alter "Mixed A" type bigint up `"Mixed A"::bigint * 10` '
    'down `("Mixed A" / 10)::int`;\n'
    f'alter table "My ""T"" x" alter {LONG} type bigint up `{LONG} + "Mixed A"` '
    f'down `({LONG} - "Mixed A")::int`;\n'
    f'alter table "My ""T"" x" add "X ""y""" bigint up `"Mixed A" + "new" + "old" + "b ""q""" '
    f'+ {LONG}`;')


def _set_hostile(values: str) -> tuple[tuple[str, str], ...]:
    return ((NEW, f'update "My ""T"" x" set {values} where id = {{r}}'),)


FIELDS = {
    "sub-query of a table the migration leaves alone": Case(SEED_O + SEED_T, SUB_X, (
        Variant(_set("a = 50"), lambda r: {"a": 50, "x": 1000 * r}, r=1),
        Variant(_set("c = 'w'"), lambda r: {"x": 1000 * r}, r=2),
        Variant(_set("x = 5"), lambda r: {"a": r, "x": 5}, r=3),
    )),
    "sub-query that reads an earlier copy of the same row": Case(
        SEED_O + SEED_T, TYPE_A + "alter table t add x int up `(select v from o where "
        "o.k = a / 10)`;", (
            Variant(_set("a = 500"), lambda r: {"a": 500, "x": 1000 * r}, r=1),
            Variant(_set("c = 'w'"), lambda r: {"a": 10 * r, "x": 1000 * r}, r=2),
        )),
    "schema-qualified function call": Case(
        "create function public.twice(i int) returns int language sql immutable "
        "as 'select i * 2';\n" + SEED_T, TYPE_A + "alter table t add x bigint up "
        "`public.twice(a::int) + 1`;", (
            Variant(_set("a = 500"), lambda r: {"a": 500, "x": 20 * r + 1}, r=1),
            Variant(_set("c = 'w'"), lambda r: {"a": 10 * r, "x": 20 * r + 1}, r=2),
        )),
    "columns named pgroll_copy_0 and pgroll_copy_0_": Case(SEED_COPY_NAMES, COPY_NAMES, (
        # b = 3r + 10r + 1000; x = 10r + b + 1000 + 20000
        Variant(_set("a = 500"), lambda r: {"a": 500, "b": 13 * r + 1000,
                                            "x": 23 * r + 22000}, r=1),
        Variant(_set("b = 7"), lambda r: {"a": 10 * r, "b": 7, "x": 23 * r + 22000}, r=2),
        Variant(_set("pgroll_copy_0 = 5"),
                lambda r: {"a": 10 * r, "b": 13 * r + 1000, "x": 23 * r + 22000}, r=3),
    )),
    "hostile identifiers": Case(SEED_HOSTILE, HOSTILE, (
        # long = 4 + 10r; X "y" = 10r + 1 + 2 + 3 + 4 + 10r
        Variant(_set_hostile('"Mixed A" = 500'),
                lambda r: {"Mixed A": 500, LONG: 10 * r + 4, 'X "y"': 20 * r + 10}, r=1),
        Variant(_set_hostile(f'{LONG} = 7'),
                lambda r: {"Mixed A": 10 * r, LONG: 7, 'X "y"': 20 * r + 10}, r=2),
        Variant(_set_hostile('"new" = 8, "old" = 9, "b ""q""" = 10'),
                lambda r: {"Mixed A": 10 * r, 'X "y"': 20 * r + 10, "new": 8}, r=3),
        Variant(_set_hostile('"X ""y""" = NULL'), lambda r: {'X "y"': None}, r=4),
    ), table='"My ""T"" x"'),
}


@pytest.mark.parametrize("name", list(FIELDS))
def test_up_not_read_field_by_field(dsn: str, name: str) -> None:
    _check(dsn, FIELDS[name], "complete" if len(name) % 2 else "rollback")


# ``up`` names a table or a function of the schema: the trigger functions that evaluate it
# have the schema as their search_path (``triggers.resolves_names``), as the backfill has it
# in the executor's session. Before, they had the writer's: the new version schema alone (its
# views, no functions) for the fill, so a sub-query read the new version's view of ``o`` (x
# NULL where the copy of v was not backfilled yet; 42703 for a renamed v) and ``twice()`` was
# not found (42883), for old-version writers too (their own version schema).
SEARCH_PATH = [
    pytest.param(
        Case(SEED_O + SEED_T, "alter table o alter v type bigint up `v::bigint + 7` "
             "down `(v - 7)::int`;\n" + SUB_X, (
                 Variant(_set("a = 50"), lambda r: {"a": 50, "x": 1000 * r}, r=1),
                 Variant(_set("c = 'w'"), lambda r: {"x": 1000 * r}, r=2),
                 Variant(((OLD, "update t set a = 7 where id = {r}"),),
                         lambda r: {"a": 7, "x": 7000}, r=3))),
        id="sub-query of a table the migration rewrites"),
    pytest.param(
        Case(SEED_O + SEED_T, "alter table o rename v to w;\n" + SUB_X, (
            Variant(_set("a = 50"), lambda r: {"a": 50, "x": 1000 * r}, r=1),
            Variant(_set("c = 'w'"), lambda r: {"x": 1000 * r}, r=2),
            Variant(((OLD, "update t set a = 7 where id = {r}"),),
                    lambda r: {"a": 7, "x": 7000}, r=3))),
        id="sub-query of a table whose column the migration renames"),
    pytest.param(
        Case("create function public.twice(i int) returns int language sql immutable "
             "as 'select i * 2';\n" + SEED_T, "alter table t add x int up `twice(a)`;", (
                 Variant(_set("a = 50"), lambda r: {"a": 50, "x": 2 * r}, r=1),
                 Variant(_set("c = 'w'"), lambda r: {"x": 2 * r}, r=2),
                 Variant(((OLD, "update t set a = 7 where id = {r}"),),
                         lambda r: {"a": 7, "x": 14}, r=3))),
        id="unqualified function of the schema"),
]


@pytest.mark.parametrize("case", SEARCH_PATH)
def test_up_resolves_names_in_the_schema_whoever_writes(dsn: str, case: Case) -> None:
    _check(dsn, case, "rollback")


# ---- a partitioned table, a generated column, other statement forms -----------------------

SEED_PT = (
    "create table pt (id int, k int, a int, b int, primary key (id, k)) partition by range (k);\n"
    "create table pt_low partition of pt for values from (minvalue) to (100);\n"
    "create table pt_high partition of pt for values from (100) to (maxvalue);\n"
    "insert into pt select g, 1, g % 100, (g % 100) * 3 "
    "from generate_series(1, 199) g where g % 100 <> 0;")
PARTITIONED = Case(SEED_PT, (
    "alter table pt alter a type bigint up `a::bigint * 10` down `(a / 10)::int`;\n"
    "alter table pt add x bigint up `a + k + b`;"), (
    # x = 10r + 1 + 3r from the row as it was, wherever the UPDATE moves it
    Variant(((NEW, "update pt set k = 150 where id = {r}"),),
            lambda r: {"k": 150, "a": 10 * r, "x": 13 * r + 1}, r=1),
    Variant(((NEW, "update pt set k = 150, a = 500 where id = {r}"),),
            lambda r: {"k": 150, "a": 500, "x": 13 * r + 1}, r=2),
    Variant(((NEW, "update pt set k = 150, x = 5 where id = {r}"),),
            lambda r: {"k": 150, "a": 10 * r, "x": 5}, r=3),
    Variant(((NEW, "update pt set b = 7 where id = {r}"),),
            lambda r: {"k": 1, "a": 10 * r, "x": 13 * r + 1, "b": 7}, r=4),
    Variant(((OLD, "update pt set k = 150, a = 9 where id = {r}"),),
            lambda r: {"k": 150, "a": 90, "x": 90 + 150 + 3 * r}, r=5),
), table="pt", expect_old={1: {"k": 150, "a": 1}, 2: {"k": 150, "a": 50}})

SEED_GENERATED = (
    "create table t (id int primary key, a int, b int, c text, "
    "g int generated always as (a * 2) stored);\n"
    "insert into t (id, a, b, c) select g, g % 100, (g % 100) * 3, 'c' || (g % 100) "
    "from generate_series(1, 199) g where g % 100 <> 0;")
# One operation: the backfill writes the copies itself (g as stored).
GENERATED = Case(SEED_GENERATED, "alter table t add x bigint up `g + 1`;", (
    Variant(_set("a = 50"), lambda r: {"a": 50, "g": 100, "x": 2 * r + 1}, r=1),
    Variant(_set("c = 'w'"), lambda r: {"g": 2 * r, "x": 2 * r + 1}, r=2),
    Variant(_set("x = NULL, a = 50"), lambda r: {"g": 100, "x": None}, r=3),
))
# A chain: the backfill leaves the copies to the triggers (``up`` reads an earlier copy).
GENERATED_CHAIN = Case(SEED_GENERATED, (
    "alter table t alter b type bigint up `b::bigint + g` down `b::int`;\n"
    "alter table t add x bigint up `b + g`;"), (
    # b = 3r + 2r, x = b + 2r: g of the row as it was stored
    Variant(_set("a = 50"), lambda r: {"a": 50, "g": 100, "b": 5 * r, "x": 7 * r}, r=1),
    Variant(_set("b = 7"), lambda r: {"g": 2 * r, "b": 7, "x": 7 * r}, r=2),
    Variant(_set("c = 'w'"), lambda r: {"g": 2 * r, "b": 5 * r, "x": 7 * r}, r=3),
    Variant(_set("x = NULL, a = 50"), lambda r: {"g": 100, "b": 5 * r, "x": None}, r=4),
    Variant((), lambda r: {"g": 2 * r, "b": 5 * r, "x": 7 * r}, r=9),  # the backfill's
))
# Old-version writers: the up trigger (not the fill) reads the row being written, where a
# BEFORE trigger finds g NULL (PostgreSQL computes it after them): the trigger computes g from
# its own expression over the row (``triggers.generated_on_new``).
GENERATED_OLD_WRITERS = Case(SEED_GENERATED, "alter table t add x bigint up `g + 1`;", (
    Variant(((OLD, "update t set c = 'z' where id = {r}"),),
            lambda r: {"g": 2 * r, "x": 2 * r + 1}, r=1),
    Variant(((OLD, "update t set a = 50 where id = {r}"),),
            lambda r: {"g": 100, "x": 101}, r=2),
))
FORMS = Case(SEED_T, TYPE_A + "alter table t add x bigint up `a + 1`;", (
    Variant(((NEW, "insert into t (id, a, c) values ({r}, 999, 'i') on conflict (id) "
                   "do update set c = excluded.c"),),
            lambda r: {"a": 10 * r, "x": 10 * r + 1, "c": "i"}, r=1),
    Variant(((NEW, "insert into t (id, a) values ({r}, 999) on conflict (id) "
                   "do update set a = excluded.a"),),
            lambda r: {"a": 999, "x": 10 * r + 1}, r=2),
    Variant(((NEW, "insert into t (id, x) values ({r}, 5) on conflict (id) "
                   "do update set x = excluded.x"),),
            lambda r: {"a": 10 * r, "x": 5}, r=3),
    Variant(((NEW, "update t set c = v.c, a = v.a from (values ({r}, 'f', 600)) "
                   "v(k, c, a) where t.id = v.k"),),
            lambda r: {"a": 600, "x": 10 * r + 1, "c": "f"}, r=4),
    # {s} written first (no longer marked), then one UPDATE of both
    Variant(((NEW, "update t set c = 'u' where id = {s}"),
             (NEW, "update t set b = 77 where id in ({r}, {s})")),
            lambda r: {"a": 10 * r, "x": 10 * r + 1, "b": 77}, r=5, s=6),
    # two UPDATEs of one row in one transaction: the second finds it unmarked
    Variant(((NEW, "update t set a = 500 where id = {r}"),
             (NEW, "update t set c = 'z' where id = {r}")),
            lambda r: {"a": 500, "x": 10 * r + 1, "c": "z"}, r=7, transaction=True),
    Variant(((NEW, "update t set c = 'z' where id = {r}"),
             (NEW, "update t set a = 500 where id = {r}")),
            lambda r: {"a": 500, "x": 10 * r + 1, "c": "z"}, r=8, transaction=True),
    Variant(((NEW, "merge into t using (values ({r})) v(k) on t.id = v.k "
                   "when matched then update set c = 'm'"),),
            lambda r: {"a": 10 * r, "x": 10 * r + 1, "c": "m"}, r=9),
), expect_old={1: {"a": 1, "c": "i"}, 2: {"a": 99}, 4: {"a": 60}, 6: {"a": 6, "b": 77}})

OTHERS = [
    pytest.param(PARTITIONED, "complete", id="partitioned, cross-partition UPDATE"),
    pytest.param(FORMS, "complete",
                 id="ON CONFLICT, UPDATE FROM, multi-row, one transaction, MERGE"),
    pytest.param(GENERATED, "rollback", id="stored generated column read by up"),
    # Both failed before the up trigger computed g itself: NULL copies on every row the
    # backfill reached through the triggers (row 9: b and x NULL, expected 45 and 63), and
    # x = NULL after every old-version UPDATE (row 2 after SET a = 50: expected 101).
    pytest.param(GENERATED_CHAIN, "rollback", id="stored generated column read by a chain"),
    pytest.param(GENERATED_OLD_WRITERS, "complete",
                 id="stored generated column, old-version writers"),
]


@pytest.mark.parametrize(("case", "ending"), OTHERS)
def test_other_tables_and_statements(dsn: str, case: Case, ending: str) -> None:
    with psycopg.connect(dsn) as conn:
        version = conn.info.server_version
    if version < 160000:  # MERGE into a view (the new version's) came with PostgreSQL 16
        case = replace(case, variants=tuple(
            v for v in case.variants
            if not any(text.lstrip().startswith("merge") for _, text in v.writes)))
    _check(dsn, case, ending)


# ---- an up that fails on the row as it was --------------------------------------------------


@pytest.mark.parametrize("passes", ["one pass", "two passes"])
def test_up_failing_on_the_stored_row_fails_as_the_backfill_does(dsn: str, pg_conn: Connection,
                                                                passes: str) -> None:
    """``up 100 / (b - 3)``: rows 1 and 101 hold b = 3. A new-version UPDATE of row 1 that
    does not write b fails with division by zero (up of the stored row), as the backfill
    then fails on row 101; an old-version UPDATE that writes b = 6 succeeds (up of the
    written row). Not refused more than the backfill would: the failure is the backfill's.

    With two passes the first one, before the sync triggers and the new version exist,
    meets row 1 and fails first: no client writes, start is undone. (One pass: a second
    operation on the table adds its copy after the first one's triggers.)"""
    setup = make_runner(dsn)
    apply(setup, f"sql up `{SEED_T}`;", "01_setup")
    setup.close()
    found: list[str | None] = []

    def act() -> None:
        with client(dsn, NEW) as conn:
            found.append(sqlstate_of(conn, "update t set c = 'w' where id = 1"))
            found.append(sqlstate_of(conn, "update t set b = 6 where id = 2"))  # b = 3 * 2
        with client(dsn, OLD) as conn:
            found.append(sqlstate_of(conn, "update t set b = 6 where id = 1"))

    text = "alter table t add x int up `100 / (b - 3)`;"
    if passes == "one pass":
        text = "alter table t add y int up `1`;\n" + text
    runner, done = runner_at_backfill(dsn, act, two_passes=passes == "two passes")
    try:
        with pytest.raises(CommandError, match="division by zero"):
            runner.start(migration(text, "02_x"))
        assert done.is_set() == (passes == "one pass")
    finally:
        runner.close()
    rows = pg_conn.execute("select id, b, c from t where id in (1, 2, 101) "
                           "order by id").fetchall()
    if passes == "two passes":
        assert found == []
        assert rows == [(1, 3, "c1"), (2, 6, "c2"), (101, 3, "c1")]  # as seeded
        return
    assert found == ["22012", None, None]
    assert rows == [(1, 6, "c1"), (2, 6, "c2"), (101, 3, "c1")]  # the client writes stay
