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
    CliRunner().invoke(app, ["fmt", str(source)])
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
        CliRunner().invoke(app, ["fmt", str(source)])
    assert api.compile_file(source).migration == before
    assert "'x\ny'" in source.read_text()


def test_unquoted_names_fold_ascii_letters_only() -> None:
    (op,) = api.compile_source("create table Ärger (Öl int);", "m.pgroll").migration.operations
    assert isinstance(op, ir.CreateTable)
    assert op.name.name == "Ärger" and op.columns[0].name.name == "Öl"
