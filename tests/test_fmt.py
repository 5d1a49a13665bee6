"""``fmt`` is idempotent and canonical; the examples are canonical and match their JSON twins."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from pgroll_dsl import api, ir
from pgroll_dsl.cli import app
from tests.conftest import REPO, conformance_params

EXAMPLES = REPO / "examples"
REPO_DSL_FILES = sorted(
    p for p in REPO.rglob("*.pgroll") if ".venv" not in p.parts and "errors" not in p.parts
)


@pytest.mark.parametrize("path", [pytest.param(p, id=p.name) for p in REPO_DSL_FILES])
def test_fmt_is_idempotent_on_every_dsl_file_in_the_repo(path: Path) -> None:
    once = api.format_file(path).formatted
    twice = api.emit(api.compile_source(once, path.name).migration, "dsl")
    assert once == twice


@pytest.mark.parametrize("path", conformance_params())
def test_fmt_is_idempotent_on_the_converted_corpus(path: Path, tmp_path: Path) -> None:
    dsl = api.emit(api.compile_file(path).migration, "dsl")
    target = tmp_path / f"{path.stem}.pgroll"
    target.write_text(dsl)
    assert not api.format_file(target).changed


def test_examples_are_canonical() -> None:
    result = CliRunner().invoke(
        app, ["fmt", "--check", *map(str, sorted(EXAMPLES.glob("*.pgroll")))]
    )
    assert result.exit_code == 0, result.stderr


@pytest.mark.parametrize("path", sorted(EXAMPLES.glob("*.pgroll")), ids=lambda p: p.stem)
def test_examples_match_their_json_twins(path: Path) -> None:
    twin = EXAMPLES / "json" / f"{path.stem}.json"
    dsl = api.compile_file(path).migration
    assert json.loads(api.emit(dsl, "json")) == json.loads(twin.read_text())
    assert api.compile_file(twin).migration == dsl


def test_fmt_check_fails_on_a_file_that_is_not_canonical(tmp_path: Path) -> None:
    source = tmp_path / "m.pgroll"
    source.write_text("CREATE TABLE t (id INT PRIMARY KEY);")
    result = CliRunner().invoke(app, ["fmt", "--check", str(source)])
    assert result.exit_code == 1
    assert "would reformat" in result.stderr
    assert source.read_text() == "CREATE TABLE t (id INT PRIMARY KEY);"
    assert CliRunner().invoke(app, ["fmt", str(source)]).exit_code == 0
    assert source.read_text() == "create table t (id int primary key);\n"
    assert CliRunner().invoke(app, ["fmt", "--check", str(source)]).exit_code == 0


def test_fmt_keeps_comments(tmp_path: Path) -> None:
    source = tmp_path / "m.pgroll"
    source.write_text(
        "-- first\ncreate table t (id int primary key /* inside */);\n-- last words\n"
    )
    assert CliRunner().invoke(app, ["fmt", str(source)]).exit_code == 0
    text = source.read_text()
    assert "-- first" in text and "/* inside */" in text and "-- last words" in text
    assert api.compile_file(source).migration.operations


def test_convert_writes_each_syntax(tmp_path: Path) -> None:
    source = EXAMPLES / "03_users_email_not_null.pgroll"
    for target in ("dsl", "json", "yaml"):
        out = tmp_path / ("03.pgroll" if target == "dsl" else f"03.{target}")
        result = CliRunner().invoke(app, ["convert", str(source), "--to", target, "-o", str(out)])
        assert result.exit_code == 0, result.stderr
        expected = api.compile_file(source).migration.operations
        assert api.compile_file(out).migration.operations == expected


def test_multiline_strings_and_sql_keep_their_content(tmp_path: Path) -> None:
    source = tmp_path / "m.pgroll"
    source.write_text(
        "create table t (\n  a int comment 'x\ny',\n  b int not null constraint c check `b > 0\n"
        "  and b < 10`,\n  pad_to_force_a_multiline_layout_of_the_statement text\n);\n"
    )
    before = api.compile_file(source).migration
    for _ in range(3):
        assert CliRunner().invoke(app, ["fmt", str(source)]).exit_code == 0
    assert api.compile_file(source).migration == before
    assert "'x\ny'" in source.read_text()


def test_unquoted_names_fold_ascii_letters_only() -> None:
    (op,) = api.compile_source("create table Ärger (Öl int);", "m.pgroll").migration.operations
    assert isinstance(op, ir.CreateTable)
    assert op.name.name == "Ärger" and op.columns[0].name.name == "Öl"


def _fmt(source: str) -> str:
    return api.emit(api.compile_source(source, "m.pgroll").migration, "dsl")


def _only(source: str) -> ir.Operation:
    (op,) = api.compile_source(source, "m.pgroll").migration.operations
    return op


def test_check_columns_are_the_ones_the_expression_names() -> None:
    op = _only('alter table t add constraint c check `b > 0 OR "A" < b AND t.c IS NULL`;')
    assert isinstance(op, ir.CreateConstraint)
    assert [c.name for c in op.columns] == ["b", "A", "c"]
    assert op.columns[1].span is not None and op.columns[1].span.col == 48  # the quoted "A"


@pytest.mark.parametrize(("written", "canonical"), [
    ("check `a > b` columns (a, b)", "check `a > b`"),
    ("check `a > b` columns (b, a)", "check `a > b` columns (b, a)"),
    ("check `a > 0` columns (a, b)", "check `a > 0` columns (a, b)"),
    ("check `now() > '2020-01-01'`", "check `now() > '2020-01-01'`"),
])
def test_fmt_writes_check_columns_only_when_they_differ(written: str, canonical: str) -> None:
    assert _fmt(f"alter table t add constraint c {written};") == (
        f"alter table t add constraint c {canonical};\n")


@pytest.mark.parametrize(("written", "canonical"), [
    ("default `random()` up `random()`", "default `random()`"),
    ("default `random()` up `random( )`", "default `random()` up `random( )`"),
    ("default `now()` up `now()`", "default `now()` up `now()`"),
    ("default `gen_random_uuid()`", "default `gen_random_uuid()`"),
])
def test_a_volatile_default_is_its_own_up(written: str, canonical: str) -> None:
    assert _fmt(f"alter table t add c text {written};") == (
        f"alter table t add c text {canonical};\n")


def test_implied_up_converts_to_json_as_pgroll_requires() -> None:
    migration = api.compile_source("alter table t add c uuid default `gen_random_uuid()`;",
                                   "m.pgroll").migration
    document = json.loads(api.emit(migration, "json"))
    assert document["operations"][0]["add_column"]["up"] == "gen_random_uuid()"


@pytest.mark.parametrize(("written", "canonical"), [
    ("INTEGER", "int"), ("int4", "int"), ("character varying(20)", "varchar(20)"),
    ("timestamp(3) with time zone", "timestamptz(3)"), ("double precision[]", "float8[]"),
    ("float(10)", "real"), ("Boolean", "bool"), ("bpchar", "bpchar"), ('"integer"', '"integer"'),
    ("pg_catalog.int4", "pg_catalog.int4"), ("decimal(10, 2)", "numeric(10,2)"),
])
def test_fmt_writes_one_spelling_per_type(written: str, canonical: str) -> None:
    assert _fmt(f"alter table t add c {written};") == f"alter table t add c {canonical};\n"


def test_the_first_clause_stays_on_the_statement_line() -> None:
    long_up = ("CASE WHEN review IS NULL THEN product || ' is good but needs a longer text'"
               " ELSE review END")
    assert _fmt(f"alter table reviews alter review set not null up `{long_up}`;") == (
        f"alter table reviews alter review set not null\n  up `{long_up}`;\n")
