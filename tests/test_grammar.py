"""The grammars build cleanly, and the emitter's keyword list matches the DSL grammar."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from lark import Lark

from pgroll_dsl import api, ir
from pgroll_dsl.frontend.conventions import KEYWORDS
from pgroll_dsl.frontend.parser import grammar_dir, load_parser


@pytest.mark.parametrize("filename", ["migration.lark", "json.lark"])
def test_grammar_builds_in_strict_mode(filename: str) -> None:
    """strict=True rejects grammar conflicts and terminal collisions (needs interegular)."""
    directory = grammar_dir()
    start = ["start", "type_name"] if filename == "migration.lark" else ["value"]
    Lark(
        (directory / filename).read_text(),
        parser="lalr",
        strict=True,
        start=start,
        import_paths=[str(directory)],
        maybe_placeholders=True,
    )


def test_keyword_list_matches_the_grammar() -> None:
    parser = load_parser("migration.lark", "start", "type_name")
    words = {
        str(t.pattern.value).lower()
        for t in parser.terminals
        if t.pattern.type == "str" and str(t.pattern.value).isalpha()
    }
    assert words == KEYWORDS


def test_keywords_are_case_insensitive_and_names_fold() -> None:
    migration = api.compile_source(
        'ALTER TABLE Users ADD COLUMN "Email" TEXT NOT NULL;', "m.pgroll"
    )
    (op,) = migration.migration.operations
    assert isinstance(op, ir.AddColumn)
    assert op.table == ir.Ident("users") and op.column.name == ir.Ident("Email")
    assert op.column.type == ir.TypeName(name="text") and op.column.nullable is False


def test_spans_point_at_the_source() -> None:
    text = "-- leading comment\ncreate table t (\n  id int primary key\n);\n"
    (op,) = api.compile_source(text, "m.pgroll").migration.operations
    assert isinstance(op, ir.CreateTable)
    assert op.span is not None and (op.span.line, op.span.col) == (2, 1)
    name_span = op.columns[0].name.span
    assert name_span is not None and (name_span.line, name_span.col) == (3, 3)


def test_equality_ignores_spans() -> None:
    a = api.compile_source("drop table t;", "a.pgroll").migration.operations
    b = api.compile_source("\n\n   DROP   TABLE  t ;", "b.pgroll").migration.operations
    assert a == b and hash(a) == hash(b)
    assert a == (ir.DropTable(name=ir.Ident("t")),)


_names = st.text(
    alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00\r\n"),
    min_size=1,
    max_size=20,
)


@settings(max_examples=200, deadline=None)
@given(table=_names, column=_names, type_name=st.sampled_from(["int", "text", "numeric(10,2)"]))
def test_any_name_survives_emit_and_parse(table: str, column: str, type_name: str) -> None:
    """Whatever the names, DSL and JSON output parse back to the same IR."""
    column_type = api.compile_source(
        f"create table t (c {type_name});", "t.pgroll"
    ).migration.operations[0]
    assert isinstance(column_type, ir.CreateTable)
    op = ir.AddColumn(
        table=ir.Ident(table),
        column=ir.Column(name=ir.Ident(column), type=column_type.columns[0].type, nullable=True),
    )
    migration = ir.Migration(name="m", operations=(op,))
    for target, suffix in (("dsl", "pgroll"), ("json", "json"), ("yaml", "yaml")):
        text = api.emit(migration, target)  # type: ignore[arg-type]
        assert api.compile_source(text, f"m.{suffix}").migration == migration, text
