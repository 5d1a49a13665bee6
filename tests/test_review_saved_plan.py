"""Adversarial checks of saved plans (``plan -o`` then ``start --plan``) on a real PostgreSQL.

Two kinds of failure matter. A *false refusal*: a database built by ``start``/``complete`` of
a history is refused by a plan made offline from the same history (replay and introspection
disagree). A *missed drift*: the live schema changed in a way that changes the steps a fresh
plan would run, yet the saved plan's fingerprint still matches, so stale steps run.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import psycopg
import pytest

from pgroll_dsl import ir
from pgroll_dsl.backends.runner import Runner
from pgroll_dsl.backends.saved_plan import refusals
from pgroll_dsl.catalog import Catalog
from pgroll_dsl.catalog.fingerprint import canonical, canonical_expression, drift, fingerprint
from pgroll_dsl.catalog.introspect import introspect
from pgroll_dsl.catalog.replay import apply_migration, version_schema_name
from pgroll_dsl.plan.model import Phase, Plan
from pgroll_dsl.plan.planner import PlanOptions, plan_migration
from pgroll_dsl.render.saved_plan import SavedPlan, SavedPlanError, basis, read_saved, save
from tests.live_helpers import dsn_of, make_runner, migration

Connection = psycopg.Connection[Any]

pytestmark = pytest.mark.postgres


def _offline(history: list[tuple[str, str]], target: tuple[str, str]
             ) -> tuple[ir.Migration, SavedPlan, Catalog]:
    """The saved plan of ``target``, made offline from the replay of ``history``."""
    catalog, previous = Catalog(), None
    for name, text in history:
        applied = migration(text, name)
        catalog, _ = apply_migration(catalog, applied)
        previous = f"public_{version_schema_name(applied)}"
    wanted = migration(target[1], target[0])
    options = PlanOptions(previous_version_schema=previous)
    plan = plan_migration(wanted, catalog, options)
    plan = replace(plan, basis=basis(wanted, catalog, options))
    return wanted, read_saved(save(plan, "json"), f"{target[0]}.json"), catalog


def _build(runner: Runner, history: list[tuple[str, str]]) -> None:
    for name, text in history:
        runner.start(migration(text, name))
        runner.complete()


def _fresh(runner: Runner, wanted: ir.Migration) -> Plan:
    """What a plain ``start`` would run now."""
    return runner.plan(wanted)


def _sql(plan: Plan) -> list[list[str]]:
    return [[step.sql for step in plan.phase(phase)] for phase in Phase]


# ---- false refusals: the same history, built live and replayed offline ----------------------

HISTORIES: dict[str, list[tuple[str, str]]] = {
    "type change, rename, default, check": [
        ("01_t", "create table items (id serial primary key, name varchar(40) not null, "
                 "price numeric(8,2) default 0 constraint price_pos check `price >= 0`, "
                 "code text default 'x''y');"),
        ("02_t", "alter table items alter name type text up `name` down `name`;"),
        ("03_t", "alter table items rename name to title;"),
        ("04_t", "alter table items alter code set default 'z';"),
        ("05_t", "alter table items add constraint title_len check `length(title) > 1` "
                 "up (title `lpad(title, 2, '-')`);"),
    ],
    "partitioned": [
        ("01_p", "sql up `CREATE TABLE ev (id int NOT NULL, at date NOT NULL, note text, "
                 "PRIMARY KEY (id, at)) PARTITION BY RANGE (at); "
                 "CREATE TABLE ev_2024 PARTITION OF ev FOR VALUES FROM ('2024-01-01') "
                 "TO ('2025-01-01'); CREATE TABLE ev_rest PARTITION OF ev DEFAULT`;"),
        ("02_p", "alter table ev add kind text default 'k';"),
        ("03_p", "alter table ev alter kind type varchar(20) up `kind` down `kind`;"),
        ("04_p", "alter table ev rename note to remark;"),
        ("05_p", "alter table ev add constraint ev_kind check `kind in ('k', 'x')` "
                 "up (kind `'k'`);"),
    ],
    "raw sql": [
        ("01_r", "sql up `CREATE TYPE mood AS ENUM ('sad', 'ok'); "
                 "CREATE TABLE people (id int GENERATED ALWAYS AS IDENTITY PRIMARY KEY, "
                 "name varchar(20) NOT NULL CHECK (length(name) > 1), m mood DEFAULT 'ok', "
                 "upper_name text GENERATED ALWAYS AS (upper(name)) STORED); "
                 "CREATE INDEX people_name_lower ON people (lower(name)) WHERE m <> 'sad'; "
                 "ALTER TYPE mood ADD VALUE 'glad' BEFORE 'ok'`;"),
        ("02_r", "alter table people add note text default 'n';"),
    ],
    "raw not valid check": [
        ("01_v", "sql up `CREATE TABLE nv (id int PRIMARY KEY, n int); "
                 "INSERT INTO nv VALUES (1, -1); "
                 "ALTER TABLE nv ADD CONSTRAINT nv_pos CHECK (n > 0) NOT VALID`;"),
    ],
}
TARGET = ("99_target", "alter table {table} add extra int not null default 7;")


@pytest.mark.parametrize("history", list(HISTORIES), ids=list(HISTORIES))
def test_a_database_built_from_the_history_matches_its_offline_plan(
        pg_conn: Connection, pg_dsn: str, history: str) -> None:
    steps = HISTORIES[history]
    table = {"type change, rename, default, check": "items", "partitioned": "ev",
             "raw sql": "people", "raw not valid check": "nv"}[history]
    target = (TARGET[0], TARGET[1].format(table=table))
    wanted, saved, catalog = _offline(steps, target)
    runner = make_runner(dsn_of(pg_dsn, pg_conn))
    try:
        _build(runner, steps)
        live = canonical(introspect(pg_conn))
        assert drift(canonical(catalog), live) == []
        assert refusals(runner.conn, runner.state, saved, wanted) == []
        runner.start(wanted, saved)
        runner.complete()
    finally:
        runner.close()
    extra = pg_conn.execute(
        "SELECT attnotnull FROM pg_attribute WHERE attrelid = %s::regclass "
        "AND attname = 'extra'", (table,)).fetchone()
    assert extra == (True,)


# ---- missed drift ---------------------------------------------------------------------------

CHECKED = [("01_c", "create table prices (id int primary key, amount numeric(10,2), "
                    "constraint whole check `amount::integer <> 0`);")]
RETYPE = ("02_c", "alter table prices alter amount type numeric(12,3) "
                  "up `round(amount, 1)` down `amount`;")


def test_a_check_whose_meaning_changed_is_drift(pg_conn: Connection, pg_dsn: str) -> None:
    """``amount::integer <> 0`` and ``amount <> 0`` differ (0.4 passes one, not the other).

    The type change copies the check onto the new column: a plan made before the check was
    replaced would put the old one back, so the fingerprint must see the new one.
    """
    wanted, saved, _ = _offline(CHECKED, RETYPE)
    runner = make_runner(dsn_of(pg_dsn, pg_conn))
    try:
        _build(runner, CHECKED)
        assert refusals(runner.conn, runner.state, saved, wanted) == []
        pg_conn.execute("ALTER TABLE prices DROP CONSTRAINT whole, "
                        "ADD CONSTRAINT whole CHECK (amount <> 0)")
        assert _sql(_fresh(runner, wanted)) != _sql(saved.plan)  # the steps would differ
        problems = refusals(runner.conn, runner.state, saved, wanted)
    finally:
        runner.close()
    assert any("constraint whole" in p for p in problems), problems


TYPES = (("amount", "numeric"), ("at", "timestamptz"), ("code", "varchar"), ("n", "int2"))


@pytest.mark.parametrize(("one", "other"), [
    ("amount::integer <> 0", "amount <> 0"),
    ("at::date > '2020-01-01'", "at > '2020-01-01'"),
    ("code::varchar(2) = 'ab'", "code = 'ab'"),
])
def test_narrowing_casts_of_columns_are_kept(one: str, other: str) -> None:
    assert canonical_expression(one, TYPES) != canonical_expression(other, TYPES)


@pytest.mark.parametrize(("one", "other"), [
    ("length((code)::text) > 1", "length(code) > 1"),
    ("(n)::integer + 1 > 0", "n + 1 > 0"),
    ("amount > (0)::numeric", "amount > 0"),
])
def test_widening_casts_of_columns_are_cosmetic(one: str, other: str) -> None:
    assert canonical_expression(one, TYPES) == canonical_expression(other, TYPES)


@pytest.mark.parametrize(("replayed", "stored"), [
    ("length(name) > 3", "length((name)::text) > 3"),
    ("'x'", "'x'::text"),
    ("price > 0", "price > (0)::numeric"),
    ("a || b", "((a)::text || (b)::text)"),
    ("c not in (1, 2)", "c <> ALL (ARRAY[1, 2])"),
    ("c not between 1 and 9", "c < 1 OR c > 9"),
    ("c not ilike 'a%'", "c !~~* 'a%'::text"),
    ("c in ('a', 'b')",
     "((c)::text = ANY ((ARRAY['a'::character varying, 'b'::character varying])::text[]))"),
])
def test_casts_postgresql_adds_are_still_ignored(replayed: str, stored: str) -> None:
    assert canonical_expression(replayed) == canonical_expression(stored)


@pytest.mark.parametrize(("one", "other"), [
    ("c in (1, 2)", "c not in (1, 2)"),
    ("c between 1 and 9", "c not between 1 and 9"),
    ("c like 'a%'", "c ilike 'a%'"),
    ("c in (1, 2)", "c in (1, 3)"),
])
def test_stored_forms_keep_their_meaning(one: str, other: str) -> None:
    assert canonical_expression(one) != canonical_expression(other)


def test_a_plan_after_another_migration_is_refused(pg_conn: Connection, pg_dsn: str) -> None:
    """A no-op migration applied in between leaves the catalog as it was: still refused."""
    base = [("01_a", "create table a (id int primary key);")]
    wanted, saved, _ = _offline(base, ("03_a", "alter table a add v text;"))
    runner = make_runner(dsn_of(pg_dsn, pg_conn))
    try:
        _build(runner, [*base, ("02_a", "sql up `SELECT 1`;")])
        problems = refusals(runner.conn, runner.state, saved, wanted)
    finally:
        runner.close()
    assert any("previous version schema" in p for p in problems), problems


def test_whitespace_and_comments_do_not_change_the_migration(pg_conn: Connection,
                                                             pg_dsn: str) -> None:
    base = [("01_w", "create table w (id int primary key);")]
    wanted, saved, _ = _offline(base, ("02_w", "alter table w add v text default 'a';"))
    respaced = migration("-- reviewed\nalter   table w\n  add v text   default 'a' ;\n",
                         "02_w")
    runner = make_runner(dsn_of(pg_dsn, pg_conn))
    try:
        _build(runner, base)
        assert refusals(runner.conn, runner.state, saved, respaced) == []
        runner.start(respaced, saved)
        runner.complete()
    finally:
        runner.close()
    assert pg_conn.execute("SELECT column_default FROM information_schema.columns "
                           "WHERE table_name = 'w' AND column_name = 'v'").fetchone() == (
        "'a'::text",)


def test_a_fingerprint_is_stable_across_catalog_order() -> None:
    from pgroll_dsl.catalog.model import Column, Table
    a = Table(name="a", columns=(Column(name="id", type="integer"),))
    b = Table(name="b", columns=(Column(name="id", type="integer"),))
    assert fingerprint(Catalog(tables=(a, b))) == fingerprint(Catalog(tables=(b, a)))


# ---- any drift: either refused, or a fresh plan would run the very same steps ----------------

BASE = [("01_d", "sql up `CREATE TYPE mood AS ENUM ('sad', 'ok'); "
                 "CREATE TABLE t (id int PRIMARY KEY, name text, amount numeric(10,2), "
                 "m mood); CREATE TABLE ev (id int NOT NULL, at date NOT NULL) "
                 "PARTITION BY RANGE (at); CREATE TABLE ev_1 PARTITION OF ev "
                 "FOR VALUES FROM ('2024-01-01') TO ('2025-01-01')`;")]
RENAME = ("02_d", "alter table t alter name type varchar(50) up `name` down `name`;")
DRIFTS = {
    "an index": "CREATE INDEX t_name ON t (name)",
    "a not valid check": "ALTER TABLE t ADD CONSTRAINT t_named CHECK (name <> '') NOT VALID",
    "a collation": 'DROP VIEW public_01_d.t; ALTER TABLE t ALTER name TYPE text COLLATE "C"; '
                   "CREATE VIEW public_01_d.t AS SELECT * FROM public.t",
    "a default": "ALTER TABLE t ALTER name SET DEFAULT 'x'",
    "an identity": "ALTER TABLE t ALTER id ADD GENERATED BY DEFAULT AS IDENTITY",
    "an enum label": "ALTER TYPE mood ADD VALUE 'glad'",
    "a partition": "CREATE TABLE ev_2 PARTITION OF ev FOR VALUES FROM ('2025-01-01') "
                   "TO ('2026-01-01')",
    "a user trigger": "CREATE FUNCTION keep() RETURNS trigger LANGUAGE plpgsql AS "
                      "$$BEGIN RETURN NEW; END$$; CREATE TRIGGER t_keep BEFORE UPDATE ON t "
                      "FOR EACH ROW EXECUTE FUNCTION keep()",
    "a view": "CREATE VIEW t_names AS SELECT name FROM t",
    "a comment": "COMMENT ON COLUMN t.name IS 'the name'",
    "a table elsewhere": "CREATE SCHEMA elsewhere; CREATE TABLE elsewhere.t (id int)",
    "a replica identity": "ALTER TABLE t REPLICA IDENTITY FULL",
}


@pytest.mark.parametrize("what", list(DRIFTS), ids=list(DRIFTS))
def test_drift_is_refused_unless_the_steps_stay_the_same(pg_conn: Connection, pg_dsn: str,
                                                         what: str) -> None:
    wanted, saved, _ = _offline(BASE, RENAME)
    runner = make_runner(dsn_of(pg_dsn, pg_conn))
    try:
        _build(runner, BASE)
        assert refusals(runner.conn, runner.state, saved, wanted) == []
        before = _sql(_fresh(runner, wanted))
        pg_conn.execute(DRIFTS[what])
        problems = refusals(runner.conn, runner.state, saved, wanted)
        assert problems or _sql(_fresh(runner, wanted)) == before, what
    finally:
        runner.close()


def test_a_plan_for_another_schema_is_refused(pg_conn: Connection, pg_dsn: str) -> None:
    from pgroll_dsl.backends.live import Session
    from pgroll_dsl.backends.runner import Runner, RunOptions

    base = [("01_s", "create table s (id int primary key);")]
    wanted, saved, _ = _offline(base, ("02_s", "alter table s add v text;"))
    pg_conn.execute("CREATE SCHEMA other")
    runner = Runner(RunOptions(session=Session(url=dsn_of(pg_dsn, pg_conn), schema="other")))
    try:
        runner.init()
        _build(runner, base)  # the same history, on another schema
        problems = refusals(runner.conn, runner.state, saved, wanted)
    finally:
        runner.close()
    assert any(p.startswith("schema: public (planned) ≠ other") for p in problems), problems


def test_a_plan_given_with_a_migration_of_another_name_is_refused(pg_conn: Connection,
                                                                   pg_dsn: str) -> None:
    """The same operations under another file name are another migration (another version
    schema, another history row): the plan for ``02_n`` must not run as ``05_n``."""
    base = [("01_n", "create table n (id int primary key);")]
    text = "alter table n add v text;"
    wanted, saved, _ = _offline(base, ("02_n", text))
    renamed = migration(text, "05_n")
    runner = make_runner(dsn_of(pg_dsn, pg_conn))
    try:
        _build(runner, base)
        problems = refusals(runner.conn, runner.state, saved, renamed)
    finally:
        runner.close()
    assert any("the plan is for 02_n" in p and "05_n" in p for p in problems), problems
    schemas = {r[0] for r in pg_conn.execute("SELECT nspname FROM pg_namespace")}
    history = [r[0] for r in pg_conn.execute("SELECT name FROM pgroll.migrations")]
    assert "public_02_n" not in schemas and history == ["01_n"]


def test_a_plan_for_a_completed_migration_changes_nothing(pg_conn: Connection,
                                                          pg_dsn: str) -> None:
    from pgroll_dsl.backends.runner import CommandError

    base = [("01_k", "create table k (id int primary key);")]
    target = ("02_k", "alter table k add v text default 'a';")
    wanted, saved, _ = _offline(base, target)
    runner = make_runner(dsn_of(pg_dsn, pg_conn))
    try:
        _build(runner, [*base, target])
        before = canonical(introspect(pg_conn))
        with pytest.raises(CommandError, match="already applied"):
            runner.start(wanted, saved)
    finally:
        runner.close()
    assert canonical(introspect(pg_conn)) == before
    assert [r[0] for r in pg_conn.execute("SELECT name FROM pgroll.migrations "
                                          "ORDER BY created_at")] == ["01_k", "02_k"]


CHECKS = {
    "in on varchar": ("varchar(10)", "c in ('a', 'b')"),
    "in on int": ("int", "c in (1, 2)"),
    "like": ("varchar(10)", "c like 'a%'"),
    "between": ("int", "c between 1 and 9"),
    "not null test": ("text", "c is not null or c <> ''"),
    "regex": ("text", "c ~ '^[a-z]+$'"),
    "coalesce": ("numeric(6,2)", "coalesce(c, 0) >= 0"),
}
# PostgreSQL stores a typed date or time literal as its value and prints it back its own way
# ('2020-01-01' on timestamptz reads '2020-01-01 00:00:00+00', with the offset of the
# reading session's TimeZone): a history with such a check was refused by its own offline
# plan. The first two also in another TimeZone (set on the database: both sessions have it).
LITERALS = {
    "typed literal": ("timestamptz", "c > '2020-01-01'::timestamptz - interval '1 day'"),
    "timestamp literal": ("timestamp", "c >= '2020-01-01 10:30'::timestamp"),
    "date literal": ("date", "c <> '2021-02-03'::date"),
    "typed literal, Kolkata": ("timestamptz", "c > '2020-01-01'::timestamptz"),
    "fraction, Kolkata": ("timestamptz", "c > '2020-01-01 10:00:00.25'::timestamptz"),
}


@pytest.mark.parametrize(("kind", "check"), [
    *(pytest.param(*CHECKS[case], id=case) for case in CHECKS),
    *(pytest.param(*LITERALS[case], id=case) for case in LITERALS)])
def test_checks_replayed_and_introspected_fingerprint_alike(
        pg_conn: Connection, pg_dsn: str, kind: str, check: str,
        request: pytest.FixtureRequest) -> None:
    """Conditions as authors write them (IN, LIKE, BETWEEN) and as PostgreSQL stores them
    must fingerprint alike, or every plan of such a history is refused."""
    history = [("01_x", f"create table x (id int primary key, c {kind} "
                        f"constraint x_c check `{check}`);")]
    catalog = Catalog()
    for name, text in history:
        catalog, _ = apply_migration(catalog, migration(text, name))
    if request.node.callspec.id.endswith("Kolkata"):
        pg_conn.execute(f'ALTER DATABASE "{pg_conn.info.dbname}" SET timezone = '
                        "'Asia/Kolkata'")
        pg_conn.execute("SET timezone = 'Asia/Kolkata'")
    runner = make_runner(dsn_of(pg_dsn, pg_conn))
    try:
        _build(runner, history)
    finally:
        runner.close()
    assert drift(canonical(catalog), canonical(introspect(pg_conn))) == []


def test_a_plan_file_checked_out_with_other_line_endings_still_reads() -> None:
    """git may check a reviewed .sql out with CRLF endings (core.autocrlf), or an editor drop
    the final newline: neither is an edit of the plan, both must read back the same."""
    base = [("01_e", "create table e (id int primary key);")]
    wanted, saved, _ = _offline(base, ("02_e", "alter table e add v text;"))
    catalog, _ = apply_migration(Catalog(), migration(base[0][1], base[0][0]))
    options = PlanOptions(previous_version_schema="public_01_e")
    plan = replace(plan_migration(wanted, catalog, options),
                   basis=basis(wanted, catalog, options))
    text = save(plan, "sql")
    for variant in (text.replace("\n", "\r\n"), text.rstrip("\n")):
        assert read_saved(variant, "plan.sql").plan == plan
    with pytest.raises(SavedPlanError, match="the SQL differs"):
        read_saved(text.replace("\n", "\r\n").replace("ADD COLUMN", "ADD  COLUMN", 1),
                   "plan.sql")


def test_a_plan_saved_before_a_header_setting_was_added_still_reads() -> None:
    """A session setting a later version adds to the header (sql/session.py) is not in a
    plan saved before it: such a file still reads (the header is psql's; the live executor
    sets them itself). A setting changed, added or a step's line edited is still refused."""
    base = [("01_e", "create table e (id int primary key);")]
    wanted, saved, _ = _offline(base, ("02_e", "alter table e add v text;"))
    catalog, _ = apply_migration(Catalog(), migration(base[0][1], base[0][0]))
    options = PlanOptions(previous_version_schema="public_01_e")
    plan = replace(plan_migration(wanted, catalog, options),
                   basis=basis(wanted, catalog, options))
    text = save(plan, "sql")
    added = "SET pgroll.no_inferred_migrations = 'TRUE';\n"
    assert added in text
    assert read_saved(text.replace(added, ""), "plan.sql").plan == plan
    for edited in (text.replace("SET statement_timeout = '0';", "SET statement_timeout = '5s';"),
                   text.replace(added, added + "SET work_mem = '1GB';\n"),
                   text.replace("ADD COLUMN", "ADD  COLUMN", 1)):
        with pytest.raises(SavedPlanError, match="the SQL differs"):
            read_saved(edited, "plan.sql")


def test_the_migration_fingerprint_is_the_same_in_every_syntax() -> None:
    from pgroll_dsl import render
    from pgroll_dsl.frontend import parse_source
    from pgroll_dsl.render.pgroll_json import to_document

    text = ("alter table e add v text default 'a' constraint v_len check `length(v) > 0`;\n"
            "create index e_v on e (v);")
    dsl = migration(text, "02_e")
    for syntax, suffix in (("json", ".json"), ("yaml", ".yaml")):
        other = parse_source(render.MIGRATION[syntax](dsl), f"02_e{suffix}")
        assert to_document(other) == to_document(dsl), syntax


def test_a_narrowing_cast_in_a_check_changes_the_fingerprint() -> None:
    from pgroll_dsl.catalog.model import Column, Constraint, Table
    from pgroll_dsl.ir import ConstraintType

    def table(check: str) -> Catalog:
        return Catalog(tables=(Table(
            name="t", columns=(Column(name="at", type="timestamp(3) with time zone"),
                               Column(name="name", type="character varying(40)")),
            constraints=(Constraint(name="c", type=ConstraintType.CHECK, expression=check),)),))

    assert fingerprint(table("at::date > '2020-01-01'")) != fingerprint(
        table("at > '2020-01-01'"))
    assert fingerprint(table("(at)::timestamptz > now()")) == fingerprint(table("at > now()"))
    assert fingerprint(table("length((name)::text) > 1")) == fingerprint(
        table("length(name) > 1"))


# ---- routines: the names a trigger's skip takes to be PostgreSQL's own ----------------------

SKIPS = [("01_u", "create table u (id int primary key, name text, n int);")]
SHADOWS = {
    "function": ("upper(name)", "CREATE FUNCTION public.upper(integer) RETURNS text "
                 "LANGUAGE sql VOLATILE AS $$SELECT 'x'$$", "function upper"),
    "operator": ("name || '!'", "CREATE OPERATOR public.|| (LEFTARG = integer, "
                 "RIGHTARG = integer, FUNCTION = int4pl)", "operator ||"),
    "cast": ("n::text", "CREATE TYPE public.mood AS ENUM ('ok'); "
             "CREATE CAST (public.mood AS integer) WITH INOUT", "casts (mood AS integer)"),
}


@pytest.mark.parametrize("what", list(SHADOWS), ids=list(SHADOWS))
def test_a_routine_named_like_what_a_skip_calls_is_refused(pg_conn: Connection, pg_dsn: str,
                                                           what: str) -> None:
    """A plan made where ``upper`` was only PostgreSQL's skips writes ``upper(name)`` would
    not change; a database with a user ``upper`` since (which may be volatile) gets a plan
    whose trigger always runs from a plain ``start``: the saved plan is refused there, and
    runs where nothing of the kind was defined."""
    from pgroll_dsl.backends.runner import CommandError

    up, ddl, words = SHADOWS[what]
    wanted, saved, _ = _offline(SKIPS, ("02_u", f"alter table u add c text up `{up}`;"))
    assert saved.plan.builtins, "the offline plan's trigger skips, relying on built-ins"
    runner = make_runner(dsn_of(pg_dsn, pg_conn))
    try:
        _build(runner, SKIPS)
        assert refusals(runner.conn, runner.state, saved, wanted) == []
        pg_conn.execute(ddl)
        problems = refusals(runner.conn, runner.state, saved, wanted)
        assert [p for p in problems if p.startswith("routines:") and words in p], problems
        with pytest.raises(CommandError, match="routines: this database defines"):
            runner.start(wanted, saved)
        assert not _fresh(runner, wanted).builtins, "a live plan does not skip here"
        assert runner.state.active() is None
    finally:
        runner.close()
