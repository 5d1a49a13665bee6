"""Everything that reaches SQL is checked, and the diagnostics say where and why.

- author SQL in each of its places (``sql.expressions.Context``): what fits, what escapes;
- names, comments and types that would break a plan file (line breaks, NUL);
- the audit table of docs/dsl.md and the walk of ``passes.walk`` cover every IR field;
- a misspelt key in JSON/YAML is reported at the key with the spelling it is close to;
- two files of one directory with the same migration name are reported, naming both.
"""

from __future__ import annotations

import dataclasses
import json
import re
import typing
from enum import Enum
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner, Result

from pgroll_dsl import api, ir
from pgroll_dsl.cli import app
from pgroll_dsl.diagnostics import CompileError, Diagnostic, Diagnostics
from pgroll_dsl.frontend import duplicate_names
from pgroll_dsl.passes import run_checks
from pgroll_dsl.passes.walk import SQL_CONTEXTS, STRING_FIELDS, Use, leaves
from pgroll_dsl.sql.expressions import Context, Fault, check_sql

DSL_DOC = Path(__file__).resolve().parents[1] / "docs" / "dsl.md"

# ---- author SQL in its place --------------------------------------------------------------

FITS: list[tuple[Context, str]] = [
    (Context.EXPRESSION, "age > 0"),
    (Context.EXPRESSION, "(SELECT max(id) FROM refs)"),
    (Context.EXPRESSION, "'a);b' || \")\""),
    (Context.EXPRESSION, "$pgroll$; DROP TABLE canary; $pgroll$"),  # a string literal
    (Context.EXPRESSION, "1 -- note\n + 1"),
    (Context.STORAGE_PARAMETERS, "fillfactor = 70, deduplicate_items = off"),
    (Context.OPCLASS_PARAMETER, "siglen = 8"),
    (Context.OPCLASS_PARAMETER, "siglen"),
    (Context.COLLATION, '"C"'),
    (Context.COLLATION, 'pg_catalog."en-US-x-icu"'),
    (Context.INDEX_METHOD, "gist"),
    (Context.EXCLUDE_ELEMENTS, "room WITH =, during WITH &&"),
    (Context.SEQUENCE_OPTIONS, "START WITH 10 INCREMENT BY 5 NO CYCLE"),
    (Context.TYPE, "varchar(10)[]"),
    (Context.SCRIPT, "SELECT 1; SELECT 2; -- done"),
]

REFUSED: list[tuple[Context, str, Fault, int]] = [
    (Context.EXPRESSION, "", Fault.EMPTY, 0),
    (Context.EXPRESSION, "1); DROP TABLE users; --", Fault.ESCAPES, 2),
    (Context.EXPRESSION, "1), (2", Fault.ESCAPES, 1),  # would add a second default, target…
    (Context.EXPRESSION, "1)); DROP TABLE canary; SELECT ((1", Fault.ESCAPES, 1),
    (Context.EXPRESSION, "foo(bar", Fault.SYNTAX, 7),
    (Context.EXPRESSION, "1 -- a comment swallows the )", Fault.SYNTAX, 29),
    (Context.EXPRESSION, "1\x00); DROP TABLE users", Fault.NUL, 1),
    (Context.STORAGE_PARAMETERS, "fillfactor = 70) WHERE (true", Fault.ESCAPES, 15),
    (Context.OPCLASS_PARAMETER, "siglen=8)); DROP TABLE refs; SELECT ((1", Fault.ESCAPES, 10),
    (Context.OPCLASS_PARAMETER, "siglen = 8, foo = 1", Fault.SHAPE, 0),
    (Context.COLLATION, '"C" DESC', Fault.SHAPE, 0),
    (Context.COLLATION, '"C"), (x', Fault.ESCAPES, 3),
    (Context.INDEX_METHOD, "gist (c WITH =) --", Fault.ESCAPES, 16),
    (Context.SEQUENCE_OPTIONS, "START 1; DROP TABLE users", Fault.ESCAPES, 7),
    (Context.EXCLUDE_ELEMENTS, "c WITH =) WHERE (true", Fault.ESCAPES, 8),
    (Context.TYPE, "int; DROP TABLE users", Fault.ESCAPES, 3),
    (Context.SCRIPT, "SELECT 1;\x00\nDROP TABLE users", Fault.NUL, 9),
    (Context.SCRIPT, "DROP TABLE (", Fault.SYNTAX, 11),
]


@pytest.mark.parametrize(("context", "text"), FITS, ids=[f"{c.name}-{t!r}" for c, t in FITS])
def test_sql_that_fits_its_place(context: Context, text: str) -> None:
    assert check_sql(text, context) is None


@pytest.mark.parametrize(("context", "text", "fault", "offset"), REFUSED,
                         ids=[f"{c.name}-{t!r}" for c, t, _, _ in REFUSED])
def test_sql_that_does_not_fit_its_place(context: Context, text: str, fault: Fault,
                                         offset: int) -> None:
    problem = check_sql(text, context)
    assert problem is not None
    assert (problem.fault, problem.offset) == (fault, offset), problem


def test_every_place_accepts_its_own_sample() -> None:
    for context in Context:
        assert check_sql(context.value.sample, context) is None, context


# ---- through the compiler ----------------------------------------------------------------


def _diagnostics(text: str, path: str) -> list[Diagnostic]:
    with pytest.raises(CompileError) as caught:
        api.compile_source(text, path)
    return caught.value.diagnostics


def _only(diagnostics: list[Diagnostic]) -> Diagnostic:
    assert len(diagnostics) == 1, [d.message for d in diagnostics]
    return diagnostics[0]


def _where(d: Diagnostic) -> tuple[str, int, int]:
    assert d.span is not None
    return (d.code.id, d.span.line, d.span.col)


def _doc(op: dict[str, Any], **top: Any) -> str:
    return json.dumps({**top, "operations": [op]}, indent=2)


def test_the_opclass_injection_of_the_issue_is_refused_at_the_parameter() -> None:
    text = _doc({"create_index": {"name": "refs_body", "table": "refs", "method": "gist",
                                  "columns": [{"column": "body", "opclass": {
                                      "name": "tsvector_ops",
                                      "params": ["siglen=8)); DROP TABLE refs; SELECT ((1"]}}]}})
    found = _only(_diagnostics(text, "02_index.json"))
    line = next(i for i, s in enumerate(text.splitlines(), 1) if "siglen" in s)
    col = text.splitlines()[line - 1].index("siglen") + 1
    assert _where(found) == ("PGD502", line, col + len("siglen=8))"))
    assert "operator class parameter" in found.message and found.hints


def test_the_opclass_injection_is_refused_in_the_dsl_too() -> None:
    text = ("create index refs_body on refs using gist "
            "(body tsvector_ops(`siglen=8)); DROP TABLE refs; SELECT ((1`));\n")
    found = _only(_diagnostics(text, "02_index.pgroll"))
    assert _where(found) == ("PGD502", 1, text.index(";") + 1)


def test_two_opclass_parameters_in_one_entry_are_not_one_parameter() -> None:
    text = "create index d on refs using gist (body tsvector_ops(`siglen = 8, x = 1`));\n"
    found = _only(_diagnostics(text, "02_index.pgroll"))
    assert _where(found) == ("PGD504", 1, text.index("siglen") + 1)
    assert found.hints == ("for example: siglen = 8 (one parameter per entry)",)


def test_storage_parameters_cannot_add_a_where_clause() -> None:
    text = _doc({"create_index": {"name": "i", "table": "users", "columns": [{"column": "a"}],
                                  "storage_parameters": "fillfactor=70) WHERE (true"}})
    found = _only(_diagnostics(text, "02_index.json"))
    assert found.code.id == "PGD502" and "`)`" in found.message


def test_a_default_cannot_add_an_alter_table_action() -> None:
    """``ADD COLUMN c int DEFAULT (1), DROP COLUMN id`` would be one valid statement."""
    text = _doc({"add_column": {"table": "users", "column": {
        "name": "c", "type": "int", "nullable": True,
        "default": "1), DROP COLUMN id CASCADE, ALTER COLUMN c SET DEFAULT (1"}}})
    assert _only(_diagnostics(text, "02_add.json")).code.id == "PGD502"


@pytest.mark.parametrize(("field", "value"), [
    ("up", "1\u0000"),
    ("comment", "a\u0000b"),
])
def test_nul_is_refused_where_it_is(field: str, value: str) -> None:
    column: dict[str, Any] = {"name": "c", "type": "int", "nullable": True}
    op: dict[str, Any] = {"table": "users", "column": column}
    (op if field == "up" else column)[field] = value
    text = _doc({"add_column": op})
    found = _only(_diagnostics(text, "02_add.json"))
    line = next(i for i, s in enumerate(text.splitlines(), 1) if f'"{field}"' in s)
    assert _where(found)[:2] == ("PGD505", line)


def test_nul_in_raw_sql_is_refused() -> None:
    """pglast would stop reading at the NUL; psql would run the line after it."""
    text = _doc({"sql": {"up": "SELECT 1;\u0000\nDROP TABLE users"}})
    assert _only(_diagnostics(text, "02_sql.json")).code.id == "PGD505"


def test_nul_in_a_quoted_type_name_is_refused() -> None:
    text = _doc({"add_column": {"table": "users", "column": {
        "name": "c", "type": '"my\u0000type"', "nullable": True}}})
    assert _only(_diagnostics(text, "02_add.json")).code.id == "PGD505"


@pytest.mark.parametrize("name", ["users\nDROP TABLE accounts; --", "users\r--"])
def test_a_line_break_in_a_name_is_refused(name: str) -> None:
    """The plan file shows names in ``--`` comments; a line break would end the comment."""
    text = _doc({"drop_table": {"name": name}})
    found = _only(_diagnostics(text, "02_drop.json"))
    line = next(i for i, s in enumerate(text.splitlines(), 1) if "users" in s)
    assert _where(found) == ("PGD110", line, text.splitlines()[line - 1].index("users") + 1)
    assert "line break" in found.message and found.hints


def test_a_line_break_in_the_version_schema_is_refused() -> None:
    text = _doc({"drop_table": {"name": "users"}}, version_schema="v2\nDROP TABLE users; --")
    found = _only(_diagnostics(text, "02_drop.json"))
    assert found.code.id == "PGD110" and "version schema" in found.message


def test_a_line_break_in_the_file_name_is_refused() -> None:
    text = _doc({"drop_table": {"name": "users"}})
    found = _only(_diagnostics(text, "02_x\nDROP TABLE users; --.json"))
    assert found.code.id == "PGD110" and "migration name" in found.message


def _checked(op: ir.Operation) -> list[Diagnostic]:
    sink = Diagnostics()
    run_checks(ir.Migration(name="m", operations=(op,)), sink)
    return list(sink)


def test_collations_and_access_methods_are_checked_in_the_ir_too() -> None:
    """The front ends only build names here; IR built by hand goes through the same pass."""
    index = ir.CreateIndex(name=ir.Ident("i"), table=ir.Ident("t"), columns=(
        ir.IndexField(column=ir.Ident("c"), collate='"C" DESC'),))
    assert [d.code.id for d in _checked(index)] == ["PGD504"]
    exclude = ir.Constraint(name=ir.Ident("x"), type=ir.ConstraintType.EXCLUDE,
                            exclude=ir.Exclude(index_method="gist (c WITH =) --",
                                               elements=ir.SqlExpr("c WITH =")))
    table = ir.CreateTable(name=ir.Ident("t"), constraints=(exclude,), columns=(
        ir.Column(name=ir.Ident("c"), type=ir.TypeName(name="int"), nullable=True),))
    found = _only(_checked(table))
    assert found.code.id == "PGD502" and "comment" in found.message


def test_a_type_built_by_hand_is_parsed_back_as_a_type() -> None:
    bad = ir.TypeName(name="double precision; DROP TABLE users")
    column = ir.Column(name=ir.Ident("c"), type=bad, nullable=True)
    op = ir.AddColumn(table=ir.Ident("t"), column=column)
    assert [d.code.id for d in _checked(op)] == ["PGD106"]


# ---- the audit covers every field ----------------------------------------------------------

_TEXT_TYPES = (ir.Ident, ir.SqlExpr, ir.SqlScript, ir.TypeName, str)


def _node_classes() -> set[type]:
    """Every IR dataclass an operation can contain."""
    found: set[type] = set()
    todo = list(typing.get_args(ir.Operation))
    while todo:
        cls = todo.pop()
        if cls in found or cls in _TEXT_TYPES:
            continue
        found.add(cls)
        for name, annotation in typing.get_type_hints(cls).items():
            if name == "span":
                continue
            todo.extend(t for t in _types_in(annotation)
                        if dataclasses.is_dataclass(t) and isinstance(t, type))
    return found


def _types_in(annotation: Any) -> list[Any]:
    args = typing.get_args(annotation)
    if not args:
        return [annotation]
    return [t for arg in args if arg is not Ellipsis for t in _types_in(arg)]


def _text_fields() -> set[str]:
    fields = {"Migration.name", "Migration.version_schema"}
    for cls in _node_classes():
        hints = typing.get_type_hints(cls)
        for field in dataclasses.fields(cls):
            types = _types_in(hints[field.name])
            if field.name != "span" and any(t in _TEXT_TYPES for t in types):
                fields.add(f"{cls.__name__}.{field.name}")
    return fields


def test_every_plain_string_field_says_how_it_reaches_sql() -> None:
    for cls in _node_classes():
        hints = typing.get_type_hints(cls)
        for field in dataclasses.fields(cls):
            if str in _types_in(hints[field.name]) and field.name != "span":
                assert (cls, field.name) in STRING_FIELDS, f"{cls.__name__}.{field.name}"


def test_sql_places_name_real_sql_fields() -> None:
    for cls, name in SQL_CONTEXTS:
        assert ir.SqlExpr in _types_in(typing.get_type_hints(cls)[name]), (cls, name)


def test_the_audit_table_in_the_docs_lists_every_field() -> None:
    text = DSL_DOC.read_text(encoding="utf-8")
    section = text[text.index("## What reaches SQL"):]
    documented = set(re.findall(r"`([A-Z][A-Za-z]+\.[a-z_]+)`", section))
    enums = {f"{cls.__name__}.{f.name}" for cls in _node_classes() for f in dataclasses.fields(cls)
             if any(isinstance(t, type) and issubclass(t, Enum)
                    for t in _types_in(typing.get_type_hints(cls)[f.name]))}
    assert _text_fields() <= documented, sorted(_text_fields() - documented)
    assert documented <= _text_fields() | enums, sorted(documented - _text_fields() - enums)


def test_the_walk_sees_every_string_of_an_operation() -> None:
    migration = api.compile_source(
        "create index i on t using gist (a collate \"C\" tsvector_ops(`siglen = 8`)) "
        "with `fillfactor = 70` where `a > 0`;\n", "m.pgroll").migration
    (op,) = migration.operations
    seen = {(leaf.owner.__name__, leaf.field, leaf.use) for leaf in leaves(op)}
    assert seen == {
        ("CreateIndex", "name", Use.IDENTIFIER), ("CreateIndex", "table", Use.IDENTIFIER),
        ("IndexField", "column", Use.IDENTIFIER), ("IndexField", "collate", Use.SQL),
        ("OpClass", "name", Use.IDENTIFIER), ("OpClass", "params", Use.SQL),
        ("CreateIndex", "predicate", Use.SQL), ("CreateIndex", "storage_parameters", Use.SQL),
    }


# ---- misspelt keys -----------------------------------------------------------------------


def _invoke(*args: str) -> Result:
    result = CliRunner().invoke(app, list(args))
    if result.exc_info is not None:
        assert issubclass(result.exc_info[0], SystemExit), repr(result.exception)
    return result


@pytest.mark.parametrize(("text", "suffix", "key", "meant"), [
    ('{"operations": [{"add_column": {"table": "t",\n'
     '  "colum": {"name": "c", "type": "int", "nullable": true}}}]}', ".json", "colum", "column"),
    ('{"operations": [{"rename_table": {"from": "a", "too": "b"}}]}', ".json", "too", "to"),
    ('{"operations": [{"drop_table": {"Name": "a"}}]}', ".json", "Name", "name"),
    ('{"operation": []}', ".json", "operation", "operations"),
    ("operations:\n  - rename_column:\n      table: t\n      from: a\n      too: b\n", ".yaml",
     "too", "to"),
    ('{"operations": [{"create_index": {"name": "i", "table": "t",\n'
     '  "columns": [{"colunm": "c", "sort": "ASC"}]}}]}', ".json", "colunm", "column"),
    ('{"operations": [{"add_column": {"table": "t", "column":\n'
     '  {"nmae": "c", "type": "int"}}}]}', ".json", "nmae", "name"),
])
def test_a_misspelt_required_key_is_reported_at_the_key(text: str, suffix: str, key: str,
                                                         meant: str) -> None:
    found = _only(_diagnostics(text, f"02_x{suffix}"))
    assert found.code.id == "PGD101"
    assert found.message.endswith(f"unknown key {key!r}, did you mean {meant!r}?")
    assert found.span is not None
    line = text.splitlines()[found.span.line - 1]
    assert line[found.span.col - 1:].lstrip('"').startswith(key), (line, found.span)
    assert found.hints == (f"{meant!r} is required here and is missing; keys are "
                           "case-sensitive",)


def test_an_unrelated_unknown_key_leaves_the_missing_field_reported() -> None:
    """Unknown keys that explain nothing wait until the object builds: a builder that gave
    up early may not have asked for every key it knows."""
    text = '{"operations": [{"rename_table": {"from": "a", "cascade": true}}]}'
    found = [(d.code.id, d.message) for d in _diagnostics(text, "02_x.json")]
    assert found == [("PGD102", "rename_table: field 'to' is required")]
    text = '{"operations": [{"rename_table": {"from": "a", "to": "b", "cascade": true}}]}'
    found = [(d.code.id, d.message) for d in _diagnostics(text, "02_x.json")]
    assert found == [("PGD101", "rename_table: unknown key 'cascade'")]


def test_a_misspelt_key_through_the_cli(tmp_path: Path) -> None:
    source = tmp_path / "02_x.json"
    source.write_text('{"operations": [{"rename_table": {"from": "a", "too": "b"}}]}\n',
                      encoding="utf-8")
    result = _invoke("validate", str(source))
    assert result.exit_code == 1
    lines = result.stderr.splitlines()
    assert lines[0] == (f"{source}:1:48: error[PGD101]: rename_table: unknown key 'too', "
                        "did you mean 'to'?")
    assert "PGD102" not in result.stderr
    assert lines[-1].startswith("  = help: 'to' is required here")


# ---- one migration name, two files ---------------------------------------------------------

_CREATE = ('{"operations": [{"create_table": {"name": "t", "columns": '
           '[{"name": "id", "type": "int", "pk": true}]}}]}\n')


def _history(tmp_path: Path) -> Path:
    (tmp_path / "01_create.json").write_text(_CREATE, encoding="utf-8")
    (tmp_path / "02_x.json").write_text(
        '{"operations": [{"add_column": {"table": "t", "column": '
        '{"name": "c", "type": "int", "nullable": true}}}]}\n', encoding="utf-8")
    (tmp_path / "02_x.pgroll").write_text("alter table t add column d int;\n", encoding="utf-8")
    (tmp_path / "03_y.pgroll").write_text("alter table t drop column d;\n", encoding="utf-8")
    return tmp_path


def _json_diagnostics(result: Result) -> list[dict[str, Any]]:
    found = json.loads(result.stderr)
    assert isinstance(found, list)
    return found


@pytest.mark.parametrize("command", [
    ("validate", "."), ("validate", "03_y.pgroll"), ("plan", "02_x.pgroll"),
    ("plan", "03_y.pgroll"),
])
def test_two_files_with_one_migration_name(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                           command: tuple[str, str]) -> None:
    monkeypatch.chdir(_history(tmp_path))
    result = _invoke(*command, "--format", "json")
    assert result.exit_code == 1, result.output
    (found,) = _json_diagnostics(result)
    assert (found["code"], found["path"], found["line"], found["column"]) == (
        "PGD113", "02_x.pgroll", 1, 1)
    assert found["message"] == ("migration name '02_x' is used by two files: 02_x.json and "
                                "02_x.pgroll")
    assert found["hints"]


def test_a_history_elsewhere_with_the_migrations_name(tmp_path: Path) -> None:
    history = tmp_path / "history"
    history.mkdir()
    (history / "01_create.json").write_text(_CREATE, encoding="utf-8")
    migration = tmp_path / "01_create.pgroll"
    migration.write_text("alter table t add column c int;\n", encoding="utf-8")
    result = _invoke("plan", str(migration), "--history", str(history))
    assert result.exit_code == 1
    assert "error[PGD113]: migration name '01_create' is used by two files" in result.stderr


def test_distinct_names_are_fine(tmp_path: Path) -> None:
    files = [tmp_path / n for n in ("01_a.json", "01_ab.json", "02_a.pgroll", "02_a.d.yaml")]
    assert duplicate_names(files) == []
    assert [d.message for d in duplicate_names([*files, tmp_path / "01_a.yml"])] == [
        f"migration name '01_a' is used by two files: {files[0]} and {tmp_path / '01_a.yml'}"]


@pytest.mark.parametrize("verb", ["migrate", "try"])
def test_migrate_and_try_refuse_two_files_with_one_name(tmp_path: Path, verb: str) -> None:
    (tmp_path / "01_a.pgroll").write_text("create table a (id int primary key);\n")
    (tmp_path / "01_a.json").write_text('{"operations": []}\n')
    args = [verb, str(tmp_path)]
    if verb == "migrate":  # refused before it connects: no server needed
        args += ["--postgres-url", "postgresql://nobody@127.0.0.1:1/none"]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 1, result.output
    assert "PGD113" in result.output


def test_a_raw_sql_step_ending_in_a_comment_keeps_the_next_step_apart() -> None:
    from pgroll_dsl.catalog.model import Catalog
    from pgroll_dsl.plan.planner import plan_migration
    from pgroll_dsl.render.plan_sql import render_plan

    migration = api.compile_source(
        "sql up `create table a (id int) -- trailing note`;\n", "01_a.pgroll").migration
    text = render_plan(plan_migration(migration, Catalog()))
    assert "-- trailing note\n;" in text
