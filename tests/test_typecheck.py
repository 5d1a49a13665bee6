"""Offline type checks (PGD510–PGD513): each code fails where PostgreSQL would, and only there.

* each diagnostic has a failing and a passing migration, validated through the API (code,
  line and column) and the four cases of the type-check issue through the CLI (exit 1, the
  position, the hint);
* every refusal of a constant (typecheck_literals) is confirmed by the server: the value is
  stored into a column of that type and PostgreSQL must refuse it;
* every pair of types the checks treat as "no value converts through text" is tried with
  values of the source type on the server: each conversion must fail;
* pgroll's conformance examples, validated as a chain, raise no type error.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import psycopg
import pytest
from typer.testing import CliRunner

from pgroll_dsl import api
from pgroll_dsl.catalog import Catalog
from pgroll_dsl.cli import app
from pgroll_dsl.diagnostics import Diagnostic, Diagnostics
from pgroll_dsl.passes.typecheck import NEVER_THROUGH_TEXT, spelled
from pgroll_dsl.passes.typecheck_literals import number_problem, text_problem
from pgroll_dsl.passes.validate_ops import validate_ops
from tests.test_validate import _replay_corpus, catalog_of

HISTORY = """
create table products (
  id int primary key,
  price numeric(10,2),
  code varchar(5),
  qty smallint,
  created_at timestamptz not null default `now()`,
  active bool default true,
  body jsonb
);
"""


def _base() -> Catalog:
    return catalog_of(HISTORY)


def _diagnose(source: str) -> list[Diagnostic]:
    migration = api.compile_source(source, "m.pgroll").migration
    sink = Diagnostics()
    validate_ops(migration, _base(), sink)
    return [d for d in sink if d.code.id.startswith("PGD51")]


def _where(source: str) -> list[tuple[str, int, int]]:
    return [(d.code.id, d.span.line, d.span.col) for d in _diagnose(source)
            if d.span is not None]


# ---- each code: a failing and a passing example -----------------------------------------

FAILING = [
    ("alter table products add n int default 'abc';", ("PGD510", 1, 40)),
    ("alter table products add n smallint default 100000;", ("PGD510", 1, 45)),
    ("alter table products add n varchar(3) default 'abcd';", ("PGD510", 1, 47)),
    ("alter table products add n numeric(5,2) default 1000;", ("PGD510", 1, 49)),
    ("alter table products add n bool default 'maybe';", ("PGD510", 1, 41)),
    ("alter table products add n uuid default 'not-a-uuid';", ("PGD510", 1, 41)),
    ("alter table products add n date default 'someday';", ("PGD510", 1, 41)),
    ("alter table products add n jsonb default '{a: 1}';", ("PGD510", 1, 42)),
    ("alter table products add n int up `'x'`;", ("PGD510", 1, 36)),
    ("alter table products add n int default `now()`;", ("PGD511", 1, 41)),
    ("alter table products add n bool default 0;", ("PGD511", 1, 41)),
    ("alter table products add n int up `now()`;", ("PGD511", 1, 36)),
    ("alter table products add n uuid up `active`;", ("PGD511", 1, 37)),
    ("alter table products add constraint price_check check `price`;", ("PGD512", 1, 56)),
    ("alter table products add constraint c check `code || 'x'`;", ("PGD512", 1, 46)),
    ("create index idx on products (id) where `qty + 1`;", ("PGD512", 1, 42)),
    ("create table t (a int, constraint a_check check `a`);", ("PGD512", 1, 50)),
    ("alter table products add n int up `created_at::int`;", ("PGD511", 1, 36)),
    ("alter table products add n int default `'abc'::int`;", ("PGD510", 1, 41)),
    ("create index idx on products (id) where `qty::uuid is null`;", ("PGD511", 1, 42)),
    ("alter table products alter created_at type int;", ("PGD513", 1, 44)),
    ("alter table products alter active type date;", ("PGD513", 1, 40)),
]

PASSING = [
    "alter table products add n int default '42';",
    "alter table products add n int default ' -7 ';",
    "alter table products add n smallint default 32767;",
    "alter table products add n varchar(3) default 'abc  ';",
    "alter table products add n numeric(5,2) default 999.994;",
    "alter table products add n bool default 'yes';",
    "alter table products add n uuid default '{a0eebc99-9c0b4ef8-bb6d6bb9-bd380a11}';",
    "alter table products add n date default 'today';",
    "alter table products add n jsonb default '{\"a\": 1}';",
    "alter table products add n int default `length('abc')`;",
    "alter table products add n date default `now()`;",
    "alter table products add n text default `now()`;",
    "alter table products add n int up `qty * 2`;",
    "alter table products add n int up `extract(epoch from created_at)::int`;",
    "alter table products add n int up `price`;",
    "alter table products add n int up `code`;",  # through text: fails only for some values
    "alter table products add n int up `my_function(created_at)`;",  # unknown: no guess
    "alter table products add n int up `active::int`;",
    "alter table products add n int up `code::int`;",
    "alter table products add n text default `'abcdef'::varchar(3)`;",
    "alter table products add n int up `(select created_at::int from other)`;",
    "alter table products add constraint price_check check `price > 0`;",
    "alter table products add constraint c check `active`;",
    "alter table products add constraint c check `body ? 'a'`;",
    "create index idx on products (id) where `qty > 1`;",
    "alter table products alter created_at type int drop default\n"
    "  up `extract(epoch from created_at)::int`;",
    "alter table products alter code type int;",  # text into int: fails only for some values
    "alter table products alter qty type bigint;",
    "alter table products alter active type int up `active::int` set default 1;",
]


@pytest.mark.parametrize(("source", "expected"), FAILING)
def test_reported_where_postgresql_would_fail(source: str, expected: tuple[str, int, int]
                                              ) -> None:
    assert _where(source)[:1] == [expected]
    assert all(d.hints for d in _diagnose(source))


@pytest.mark.parametrize("source", PASSING)
def test_not_reported_where_postgresql_may_succeed(source: str) -> None:
    assert _diagnose(source) == []


# ---- the four cases, through the CLI ------------------------------------------------------

CASES = {
    "add column ... int default 'abc'": (
        "alter table products add qty2 int default 'abc';", "PGD510", 1, 43,
        "'abc' is not a valid integer"),
    "check on a numeric": (
        "alter table products add constraint price_check check `price`;", "PGD512", 1, 56,
        "must be a boolean condition, but it is of type numeric"),
    "add age int up now()": (
        "alter table products add age int up `now()`;", "PGD511", 1, 38,
        "is of type timestamp with time zone, but the column is integer"),
    "alter created_at type int": (
        "alter table products alter created_at type int;", "PGD513", 1, 44,
        "from timestamp with time zone to integer needs an `up`"),
}


@pytest.mark.parametrize("case", list(CASES))
def test_the_four_cases_fail_validate(case: str, tmp_path: Path) -> None:
    source, code, line, col, message = CASES[case]
    (tmp_path / "01_products.pgroll").write_text(HISTORY, encoding="utf-8")
    migration = tmp_path / "02_change.pgroll"
    migration.write_text(source + "\n", encoding="utf-8")
    result = CliRunner().invoke(app, ["validate", str(migration), "--format", "json"])
    assert result.exit_code == 1, result.output
    found = json.loads(result.stdout or result.output)
    found = found.get("diagnostics", found) if isinstance(found, dict) else found
    first = next(d for d in found if d["code"] == code)
    assert (Path(first["path"]).name, first["line"], first["column"]) == (
        "02_change.pgroll", line, col)
    assert message in first["message"]
    assert first["hints"]
    plan = CliRunner().invoke(app, ["plan", str(migration)])
    assert plan.exit_code == 1


YAML = """\
operations:
  - add_column:
      table: products
      column:
        name: n
        type: int
        default: "'abc'"
  - add_column:
      table: products
      up: now()
      column:
        name: m
        type: int
        nullable: true
"""


def test_pgroll_yaml_is_checked_at_its_values(tmp_path: Path) -> None:
    (tmp_path / "01_products.pgroll").write_text(HISTORY, encoding="utf-8")
    migration = tmp_path / "02_change.yaml"
    migration.write_text(YAML, encoding="utf-8")
    result = CliRunner().invoke(app, ["validate", str(migration), "--format", "json"])
    assert result.exit_code == 1, result.output
    found = json.loads(result.stdout or result.output)
    found = found.get("diagnostics", found) if isinstance(found, dict) else found
    assert [(d["code"], d["line"], d["column"]) for d in found] == [
        ("PGD510", 7, 19), ("PGD511", 10, 11)]


def test_the_hint_of_a_type_change_is_an_up_that_converts() -> None:
    (found,) = [d for d in _diagnose("alter table products alter created_at type int;")
                if "needs an `up`" in d.message]
    assert found.hints == ("give it an `up` that converts the old value, for example "
                           "`extract(epoch from created_at)::integer`",)


# ---- the claims, confirmed by the server --------------------------------------------------

LITERALS = ["abc", "", " ", "42", " -7 ", "+3", "1_000", "0x1F", "1.5", "1e3", ".5", "5.",
            "2147483648", "-2147483649", "99999999999999999999", "NaN", "inf", "-Infinity",
            "t", "f", "o", "of", "on", "yes", "y", "no", "tru", "maybe", "1", "0", "2",
            "2024-01-31", "20240131", "today", "now", "epoch", "infinity", "allballs",
            "Jan", "monday", "12:00", "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11",
            "{a0eebc99-9c0b4ef8-bb6d6bb9-bd380a11}", "a0eebc999c0b4ef8bb6d6bb9bd380a1",
            '{"a": 1}', "{a: 1}", "[1, 2", "null", "true", "\"x\"", "abcd", "abc  ",
            "999.994", "999.995", "-1000", "sad", "Sad"]
TARGETS = ["smallint", "integer", "bigint", "numeric", "numeric(5,2)", "real",
           "double precision", "boolean", "date", "timestamp", "timestamptz", "time",
           "timetz", "uuid", "json", "jsonb", "varchar(3)", "char(3)", "mood"]


def _target(type_: str) -> tuple[str, tuple[int, ...], tuple[str, ...] | None]:
    from pgroll_dsl.passes.infer_types import Types, modifiers, parse_type, type_of_name

    node = parse_type(type_)
    assert node is not None
    types = Types(enums={"mood": ("sad", "ok")})
    name = type_of_name(node, types)
    mods = modifiers(node)
    assert name is not None and mods is not None
    return name, mods, types.enums.get(name)


def test_every_refused_constant_is_refused_by_postgresql(pg_conn: psycopg.Connection[Any]
                                                         ) -> None:
    pg_conn.execute("CREATE TYPE mood AS ENUM ('sad', 'ok')")
    claims = 0
    for type_ in TARGETS:
        name, mods, labels = _target(type_)
        for value in LITERALS:
            if text_problem(value, name, mods, labels) is not None:
                claims += 1
                assert _literal_refused(pg_conn, type_, value), (type_, value)
    assert claims >= 200


def _literal_refused(conn: psycopg.Connection[Any], type_: str, value: str) -> bool:
    """Whether PostgreSQL refuses the quoted constant ``value`` as a ``type_`` column's value."""
    from pgroll_dsl.sql.quoting import quote_literal

    try:
        with conn.transaction():
            conn.execute(f"CREATE TEMPORARY TABLE v (c {type_}) ON COMMIT DROP")
            conn.execute(f"INSERT INTO v VALUES ({quote_literal(value)})")
    except psycopg.Error:
        return True
    return False


NUMBERS = ["100000", "32767", "-32769", "2147483648", "1e10", "1.5", "1000", "999.994",
           "999.995", "-999.995", "99999999999999999999"]


def test_every_refused_number_is_refused_by_postgresql(pg_conn: psycopg.Connection[Any]
                                                       ) -> None:
    claims = 0
    for type_ in ("smallint", "integer", "bigint", "numeric(5,2)", "numeric(3)"):
        name, mods, _ = _target(type_)
        for number in NUMBERS:
            if number_problem(number, name, mods) is not None:
                claims += 1
                try:
                    with pg_conn.transaction():
                        pg_conn.execute(f"CREATE TEMPORARY TABLE v (c {type_}) ON COMMIT DROP")
                        pg_conn.execute(f"INSERT INTO v VALUES ({number})")
                except psycopg.Error:
                    continue
                pytest.fail(f"{number} into {type_} was accepted")
    assert claims >= 10


SAMPLES = {
    "date": ["2024-01-31", "infinity", "-infinity", "epoch", "4713-01-01 BC"],
    "timestamp": ["2024-01-31 12:00", "infinity", "-infinity", "epoch", "2000-01-01"],
    "timestamptz": ["2024-01-31 12:00+00", "infinity", "-infinity", "epoch"],
    "time": ["00:00", "12:34:56.789", "24:00"],
    "timetz": ["00:00+00", "12:34:56-05"],
    "bool": ["true", "false"],
    "uuid": ["a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11", "00000000-0000-0000-0000-000000000000",
             "11111111-1111-1111-1111-111111111111"],
}


def test_no_value_converts_through_text_where_the_checks_say_so(
        pg_conn: psycopg.Connection[Any]) -> None:
    styles = ["ISO, MDY", "SQL, DMY", "Postgres, MDY", "German, DMY"]
    pairs = 0
    for source, targets in NEVER_THROUGH_TEXT.items():
        for target in targets:
            pairs += 1
            for style in styles:
                pg_conn.execute(f"SET datestyle = '{style}'")
                for value in SAMPLES[source]:
                    try:
                        with pg_conn.transaction():
                            pg_conn.execute(f"SELECT %s::{source}::text::{spelled(target)}",
                                            (value,))
                    except psycopg.Error:
                        continue
                    pytest.fail(f"{value}::{source} converted to {target} through text")
    assert pairs >= 20


BUILT_IN = ["int2", "int4", "int8", "numeric", "float4", "float8", "text", "varchar", "bpchar",
            "name", "bool", "date", "timestamp", "timestamptz", "time", "timetz", "interval",
            "uuid", "json", "jsonb", "bytea", "inet", "money", "bit", "oid", "_int4", "_text",
            "mood"]


def test_casts_the_checks_call_impossible_are_refused_by_postgresql(
        pg_conn: psycopg.Connection[Any]) -> None:
    # Every pair of types in every context: where the checks say "no cast", PostgreSQL must
    # refuse it (explicit: a cast; assignment: an INSERT; implicit: a function call).
    from pgroll_dsl.passes.infer_types import Types, coercion

    pg_conn.execute("CREATE TYPE mood AS ENUM ('sad', 'ok')")
    types = Types(enums={"mood": ("sad", "ok")})
    claims = 0
    for source in BUILT_IN:
        for target in BUILT_IN:
            if source == target:
                continue
            for context in "eai":
                if coercion(source, target, context, types) is not False:
                    continue
                claims += 1
                assert _refused(pg_conn, source, target, context), (source, target, context)
    assert claims >= 500


def _refused(conn: psycopg.Connection[Any], source: str, target: str, context: str) -> bool:
    statement = {
        "e": f"SELECT NULL::{source}::{target}",
        "a": f"CREATE TEMPORARY TABLE v (c {target}) ON COMMIT DROP; "
             f"INSERT INTO v VALUES (NULL::{source})",
        "i": f"CREATE FUNCTION pg_temp.f(x {target}) RETURNS int LANGUAGE sql AS 'SELECT 1'; "
             f"SELECT pg_temp.f(NULL::{source})",
    }[context]
    try:
        with conn.transaction():
            conn.execute(statement)
    except psycopg.Error:
        return True
    return False


# ---- pgroll's examples ----------------------------------------------------------------------


def test_the_conformance_examples_raise_no_type_error() -> None:
    found = [d for d in _replay_corpus() if d.code.id.startswith("PGD51")]
    assert found == []


# ---- live: what the checks report does fail at start ---------------------------------------


def _started(pg_conn: psycopg.Connection[Any], pg_dsn: str, change: str,
             skip_validation: bool) -> BaseException | None:
    from tests.live_helpers import dsn_of, make_runner, migration

    runner = make_runner(dsn_of(pg_dsn, pg_conn), skip_validation=skip_validation)
    try:
        runner.start(migration(HISTORY, "01_products"))
        runner.complete()
        pg_conn.execute("INSERT INTO products (id, price, code, qty, body) "
                        "VALUES (1, 9.5, '12', 3, '{\"a\": 1}')")
        try:
            runner.start(migration(change, "02_change"))
        except Exception as err:  # noqa: BLE001 - any refusal is the answer
            return err
        return None
    finally:
        runner.close()


@pytest.mark.parametrize(("source", "expected"), FAILING)
def test_each_reported_migration_fails_at_start_without_the_check(
        pg_conn: psycopg.Connection[Any], pg_dsn: str, source: str,
        expected: tuple[str, int, int]) -> None:
    # With validation, start refuses it with the code (nothing ran); without, PostgreSQL does.
    from pgroll_dsl.diagnostics import CompileError

    refused = _started(pg_conn, pg_dsn, source, skip_validation=False)
    assert isinstance(refused, CompileError), refused
    assert expected[0] in {d.code.id for d in refused.diagnostics}
    pg_conn.execute("DROP SCHEMA public CASCADE; CREATE SCHEMA public")
    pg_conn.execute("DROP SCHEMA IF EXISTS pgroll CASCADE")
    failed = _started(pg_conn, pg_dsn, source, skip_validation=True)
    assert failed is not None, f"{source} started on PostgreSQL"


# Not run: a function nobody defined, and a sub-query of a table that does not exist.
STARTING = [s for s in PASSING if "my_function" not in s and "from other" not in s]


@pytest.mark.parametrize("source", STARTING)
def test_each_unreported_migration_starts(pg_conn: psycopg.Connection[Any], pg_dsn: str,
                                          source: str) -> None:
    assert _started(pg_conn, pg_dsn, source, skip_validation=False) is None


def test_a_default_that_cannot_follow_a_type_change_is_refused_before_anything_runs(
        pg_conn: psycopg.Connection[Any], pg_dsn: str) -> None:
    # The server stores `text default '0'` as '0'::text, which no assignment cast makes an
    # integer: validate at start refuses it from the live catalog, with nothing changed.
    from pgroll_dsl.diagnostics import CompileError
    from tests.live_helpers import columns, dsn_of, make_runner, migration

    runner = make_runner(dsn_of(pg_dsn, pg_conn))
    runner.start(migration("create table p (id int primary key, age text default '0');",
                           "01_setup"))
    runner.complete()
    before = columns(pg_conn, "p")
    with pytest.raises(CompileError) as refused:
        runner.start(migration("alter table p alter age type integer up `age::integer` "
                               "down `age::text`;", "02_retype"))
    (found,) = refused.value.diagnostics
    assert found.code.id == "PGD513"
    assert "default '0'::text cannot follow it to integer" in found.message
    assert columns(pg_conn, "p") == before
    assert runner.status()["status"] == "Complete"
    runner.close()
