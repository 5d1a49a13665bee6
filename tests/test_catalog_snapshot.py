"""Catalog snapshots: the exact text written, lossless round trips, and positioned errors for
malformed files."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pgroll_dsl.catalog import (
    Catalog,
    Column,
    Constraint,
    EnumType,
    ForeignKey,
    Index,
    Sequence,
    Table,
)
from pgroll_dsl.diagnostics import CompileError, codes
from pgroll_dsl.diagnostics.codes import Code
from pgroll_dsl.frontend.snapshot import Snapshot, load_snapshot, read_snapshot
from pgroll_dsl.ir import ConstraintType, ForeignKeyAction, IdentityValues, MatchType
from pgroll_dsl.render.snapshot import dump_snapshot

SMALL = Catalog(
    tables=(
        Table(
            name="users",
            columns=(
                Column(name="id", type="integer", nullable=False,
                       default="nextval('users_id_seq'::regclass)"),
                Column(name="name", type="text", comment="Shown name", physical="_pgroll_new_name"),
            ),
            constraints=(Constraint(name="users_pkey", type=ConstraintType.PRIMARY_KEY,
                                    columns=("id",)),),
            indexes=(Index(name="users_pkey", columns=("id",), unique=True,
                           constraint="users_pkey"),),
        ),
    ),
    enums=(EnumType(name="mood", labels=("sad", "ok")),),
    sequences=(Sequence(name="users_id_seq", owned_by_table="users", owned_by_column="id"),),
)

SMALL_TEXT = """\
{
  "format": "pgroll-dsl-catalog",
  "version": 1,
  "schema": "public",
  "tables": [
    {
      "name": "users",
      "columns": [
        {
          "name": "id",
          "type": "integer",
          "nullable": false,
          "default": "nextval('users_id_seq'::regclass)"
        },
        {
          "name": "name",
          "type": "text",
          "comment": "Shown name",
          "physical": "_pgroll_new_name"
        }
      ],
      "constraints": [
        {
          "name": "users_pkey",
          "type": "primary_key",
          "columns": [
            "id"
          ]
        }
      ],
      "indexes": [
        {
          "name": "users_pkey",
          "columns": [
            "id"
          ],
          "unique": true,
          "constraint": "users_pkey"
        }
      ]
    }
  ],
  "enums": [
    {
      "name": "mood",
      "labels": [
        "sad",
        "ok"
      ]
    }
  ],
  "sequences": [
    {
      "name": "users_id_seq",
      "owned_by_table": "users",
      "owned_by_column": "id"
    }
  ]
}
"""

# Every field of every model class away from its default.
FULL = Catalog(
    schema="app",
    tables=(
        Table(
            name="t",
            columns=(
                Column(name="c", type="bigint", nullable=False, default="1", comment="é ü",
                       identity=IdentityValues.BY_DEFAULT, generated="c * 2", physical="p"),
            ),
            constraints=(
                Constraint(
                    name="k", type=ConstraintType.FOREIGN_KEY, columns=("c",),
                    expression="x", method="gist", predicate="c > 0", no_inherit=True,
                    nulls_not_distinct=True, deferrable=True, initially_deferred=True,
                    validated=False,
                    references=ForeignKey(table="u", columns=("d",),
                                          on_delete=ForeignKeyAction.SET_NULL,
                                          on_update=ForeignKeyAction.CASCADE,
                                          match_type=MatchType.FULL,
                                          on_delete_set_columns=("c",)),
                ),
            ),
            indexes=(Index(name="i", columns=("lower(c)",), unique=True, method="hash",
                           predicate="c <> 0", valid=False, constraint="k"),),
            comment="a \"quoted\" comment\nover two lines",
            replica_identity="index",
            replica_identity_index="i",
            physical="_pgroll_del_t",
        ),
    ),
    enums=(EnumType(name="e", labels=()),),
    sequences=(Sequence(name="s"),),
)


def test_exact_text() -> None:
    assert dump_snapshot(SMALL) == SMALL_TEXT


def test_empty_catalog() -> None:
    text = dump_snapshot(Catalog())
    assert json.loads(text) == {"format": "pgroll-dsl-catalog", "version": 1,
                                "schema": "public", "tables": [], "enums": [],
                                "sequences": []}
    assert load_snapshot(text, "empty.json") == Catalog()


@pytest.mark.parametrize("catalog", [SMALL, FULL, Catalog()], ids=["small", "full", "empty"])
def test_round_trip(catalog: Catalog) -> None:
    text = dump_snapshot(catalog)
    loaded = load_snapshot(text, "db.json")
    assert loaded == catalog
    assert loaded.source == "snapshot db.json"
    assert dump_snapshot(loaded) == text


def test_the_previous_version_schema_is_kept_when_there_is_one() -> None:
    """Written after the schema when given; absent (older snapshots) or null reads as none."""
    text = dump_snapshot(SMALL, 'app_07 "odd"')
    document = json.loads(text)
    assert list(document)[:4] == ["format", "version", "schema", "previous_version_schema"]
    assert document["previous_version_schema"] == 'app_07 "odd"'
    assert read_snapshot(text, "s.json") == Snapshot(SMALL, 'app_07 "odd"')
    assert load_snapshot(text, "s.json") == SMALL
    assert read_snapshot(dump_snapshot(SMALL), "s.json") == Snapshot(SMALL, None)
    assert "previous_version_schema" not in dump_snapshot(SMALL)
    nothing = "{" + HEADER + ', "previous_version_schema": null}'
    assert read_snapshot(nothing, "s.json").previous_version_schema is None


def test_every_field_is_written_when_not_default() -> None:
    document = json.loads(dump_snapshot(FULL))
    table = document["tables"][0]
    assert list(table) == ["name", "columns", "constraints", "indexes", "comment",
                           "replica_identity", "replica_identity_index", "physical"]
    assert list(table["columns"][0]) == ["name", "type", "nullable", "default", "comment",
                                         "identity", "generated", "physical"]
    assert list(table["constraints"][0]) == [
        "name", "type", "columns", "expression", "references", "method", "predicate",
        "no_inherit", "nulls_not_distinct", "deferrable", "initially_deferred", "validated",
    ]
    assert list(table["constraints"][0]["references"]) == [
        "table", "columns", "on_delete", "on_update", "match_type", "on_delete_set_columns",
    ]
    assert list(table["indexes"][0]) == ["name", "columns", "unique", "method", "predicate",
                                         "valid", "constraint"]
    assert document["enums"] == [{"name": "e", "labels": []}]
    assert document["sequences"] == [{"name": "s"}]
    assert table["columns"][0]["identity"] == "BY DEFAULT"
    assert table["constraints"][0]["references"]["on_delete"] == "SET NULL"


def test_non_ascii_is_kept_readable() -> None:
    assert '"comment": "é ü"' in dump_snapshot(FULL)


def test_explicit_defaults_and_nulls_are_accepted() -> None:
    text = json.dumps({
        "format": "pgroll-dsl-catalog", "version": 1, "schema": "public",
        "tables": [{"name": "t", "physical": "t", "comment": None, "columns": [
            {"name": "c", "type": "text", "nullable": True, "default": None}]}],
    })
    assert load_snapshot(text, "s.json") == Catalog(
        tables=(Table(name="t", columns=(Column(name="c", type="text"),)),))


# ---- property: any catalog survives the round trip --------------------------------------

_names = st.text(st.characters(exclude_categories=["Cs"]), min_size=1, max_size=6)
_optional = st.none() | _names
_name_tuples = st.lists(_names, max_size=3).map(tuple)

_columns = st.builds(
    Column, name=_names, type=_names, nullable=st.booleans(), default=_optional,
    comment=_optional, identity=st.none() | st.sampled_from(IdentityValues),
    generated=_optional, physical=st.just("") | _names,
)
_foreign_keys = st.builds(
    ForeignKey, table=_names, columns=_name_tuples,
    on_delete=st.sampled_from(ForeignKeyAction), on_update=st.sampled_from(ForeignKeyAction),
    match_type=st.sampled_from(MatchType), on_delete_set_columns=_name_tuples,
)
_constraints = st.builds(
    Constraint, name=_names, type=st.sampled_from(ConstraintType), columns=_name_tuples,
    expression=_optional, references=st.none() | _foreign_keys, method=_optional,
    predicate=_optional, no_inherit=st.booleans(), nulls_not_distinct=st.booleans(),
    deferrable=st.booleans(), initially_deferred=st.booleans(), validated=st.booleans(),
)
_indexes = st.builds(
    Index, name=_names, columns=_name_tuples, unique=st.booleans(),
    method=st.sampled_from(["btree", "hash", "gist"]), predicate=_optional,
    valid=st.booleans(), constraint=_optional,
)


def _named(items: st.SearchStrategy[Any], max_size: int = 3) -> st.SearchStrategy[Any]:
    """Lists whose elements have distinct names, as a snapshot requires."""
    return st.lists(items, max_size=max_size, unique_by=lambda item: item.name).map(tuple)


_tables = st.builds(
    Table, name=_names, columns=_named(_columns), constraints=_named(_constraints),
    indexes=_named(_indexes), comment=_optional,
    replica_identity=st.sampled_from(["default", "nothing", "full", "index"]),
    replica_identity_index=_optional, physical=st.just("") | _names,
)
_catalogs = st.builds(
    Catalog, schema=_names, tables=_named(_tables),
    enums=_named(st.builds(EnumType, name=_names, labels=_name_tuples)),
    sequences=_named(st.builds(Sequence, name=_names, owned_by_table=_optional,
                               owned_by_column=_optional)),
)


@settings(max_examples=200, deadline=None)
@given(_catalogs)
def test_any_catalog_round_trips(catalog: Catalog) -> None:
    text = dump_snapshot(catalog)
    assert text.endswith("}\n")
    assert load_snapshot(text, "p.json") == catalog
    assert dump_snapshot(load_snapshot(text, "p.json")) == text


# ---- malformed files -----------------------------------------------------------------------

HEADER = '"format": "pgroll-dsl-catalog", "version": 1, "schema": "public"'


def _position(text: str, marker: str) -> tuple[int, int]:
    """1-based line and column where ``marker`` starts in ``text``."""
    return _position_at(text, text.index(marker))


def _position_at(text: str, offset: int) -> tuple[int, int]:
    line = text.count("\n", 0, offset) + 1
    return line, offset - (text.rfind("\n", 0, offset) + 1) + 1


def _errors(text: str) -> list[tuple[Code, int, int]]:
    with pytest.raises(CompileError) as caught:
        load_snapshot(text, "s.json")
    found = []
    for diagnostic in caught.value.diagnostics:
        assert diagnostic.span is not None and diagnostic.span.path == "s.json"
        found.append((diagnostic.code, diagnostic.span.line, diagnostic.span.col))
    return found


MALFORMED = [
    # (document, code, where the diagnostic points: the text that starts there)
    ('{"format": "pgroll-dsl-catalog",', codes.JSON_SYNTAX, None),
    ("[]", codes.WRONG_TYPE, "[]"),
    ('{"version": 1, "schema": "public"}', codes.MISSING_FIELD, "{"),
    ('{"format": "pgroll-dsl-catalog", "version": 1, "tables": []}', codes.MISSING_FIELD, "{"),
    ('{"format": "pgroll", "version": 1}', codes.INVALID_VALUE, 'pgroll"'),
    ('{"format": "pgroll-dsl-catalog", "version": 2}', codes.INVALID_VALUE, "2}"),
    ('{"format": "pgroll-dsl-catalog", "version": true}', codes.INVALID_VALUE, "true"),
    ('{"format": "pgroll-dsl-catalog", "version": 1.0}', codes.INVALID_VALUE, "1.0"),
    ("{" + HEADER + ', "tabels": []}', codes.UNKNOWN_KEY, '"tabels"'),
    ("{" + HEADER + ', "tables": {}}', codes.WRONG_TYPE, "{}"),
    ("{" + HEADER + ', "schema": "x"}', codes.DUPLICATE_FIELD, '"schema": "x"'),
    ("{" + HEADER + ', "tables": ["users"]}', codes.WRONG_TYPE, 'users"'),
    ("{" + HEADER + ',\n "tables": [\n  {"name": "t", "columns": [{"name": "c"}]}]}',
     codes.MISSING_FIELD, '{"name": "c"}'),
    ("{" + HEADER + ',\n "tables": [\n  {"name": "t",\n   "columns": [{"name": "c", '
     '"type": "text", "nullable": "no"}]}]}', codes.WRONG_TYPE, 'no"'),
    ("{" + HEADER + ',\n "tables": [{"name": 7}]}', codes.WRONG_TYPE, "7}"),
    ("{" + HEADER + ',\n "tables": [{"name": "t", "constraints": [\n'
     '  {"name": "k", "type": "primary"}]}]}', codes.INVALID_VALUE, 'primary"'),
    ("{" + HEADER + ',\n "tables": [{"name": "t", "constraints": [\n'
     '  {"name": "k", "type": "foreign_key", "references": {"table": "u", "columns": [],\n'
     '   "on_cascade": "CASCADE"}}]}]}', codes.UNKNOWN_KEY, '"on_cascade"'),
    ("{" + HEADER + ',\n "tables": [{"name": "t", "indexes": [{"name": "i", "columns": "a"}]}]}',
     codes.WRONG_TYPE, 'a"}'),
    ("{" + HEADER + ',\n "tables": [{"name": "t"},\n {"name": "t"}]}',
     codes.DUPLICATE_FIELD, 't"}]}'),
    ("{" + HEADER + ',\n "enums": [{"name": "e", "labels": ["a", null]}]}',
     codes.WRONG_TYPE, "null"),
    ("{" + HEADER + ',\n "sequences": [{"name": "s", "owned_by": "t"}]}',
     codes.UNKNOWN_KEY, '"owned_by"'),
    ("{" + HEADER + ',\n "tables": [{"name": "t", "columns": [{"name": "c", "type": "int",\n'
     '  "identity": "SOMETIMES"}]}]}', codes.INVALID_VALUE, 'SOMETIMES"'),
    ("{" + HEADER + ',\n "previous_version_schema": 1}', codes.WRONG_TYPE, "1}"),
    ("{" + HEADER + ',\n "previous_version_schema": ""}', codes.INVALID_VALUE, '"}'),
    ("{" + HEADER + ',\n "previous_version_schema": ["a"]}', codes.WRONG_TYPE, '["a"]'),
]


@pytest.mark.parametrize(("text", "code", "marker"), MALFORMED)
def test_malformed(text: str, code: Code, marker: str | None) -> None:
    errors = _errors(text)
    assert len(errors) == 1, errors
    found_code, line, col = errors[0]
    assert found_code == code
    if marker is not None:
        # a duplicate name points at the second occurrence
        where = text.rindex(marker) if code is codes.DUPLICATE_FIELD else text.index(marker)
        assert (line, col) == _position_at(text, where)


def test_json_syntax_error_position() -> None:
    assert _errors('{\n  "format": "pgroll-dsl-catalog",\n  "version": 1,\n}') == [
        (codes.JSON_SYNTAX, 4, 1)
    ]


def test_all_problems_are_reported_at_once() -> None:
    text = ("{" + HEADER + ',\n "tables": [{"name": "t", "colour": "red",\n'
            '  "columns": [{"type": "text"}, {"name": "d", "type": 1}]}]}')
    assert _errors(text) == [
        (codes.UNKNOWN_KEY, *_position(text, '"colour"')),
        (codes.MISSING_FIELD, *_position(text, '{"type": "text"}')),
        (codes.WRONG_TYPE, *_position(text, "1}")),
    ]


def test_messages_name_the_problem() -> None:
    with pytest.raises(CompileError) as caught:
        load_snapshot("{" + HEADER + ', "tables": [{"name": "t", "comment": 3}]}', "s.json")
    (diagnostic,) = caught.value.diagnostics
    assert diagnostic.message == "'comment' must be a string, not a number"
    with pytest.raises(CompileError) as caught:
        load_snapshot('{"format": "pgroll-dsl-catalog", "version": 9}', "s.json")
    (diagnostic,) = caught.value.diagnostics
    assert diagnostic.message == "'version' must be 1, not 9"
