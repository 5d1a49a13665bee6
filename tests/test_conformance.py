"""pgroll's 56 example migrations go YAML -> IR -> DSL -> IR -> JSON without losing meaning."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml
from syrupy.assertion import SnapshotAssertion

from pgroll_dsl import api
from pgroll_dsl.diagnostics import Diagnostics
from pgroll_dsl.frontend.pgroll import parse_type
from pgroll_dsl.source import Span
from pgroll_dsl.sql.type_names import canonical_type
from tests.conftest import CONFORMANCE, conformance_files, conformance_params


@pytest.fixture(scope="module")
def schema_validator() -> jsonschema.Draft202012Validator:
    schema = json.loads((CONFORMANCE / "pgroll-schema.json").read_text())
    return jsonschema.Draft202012Validator(schema)


def test_corpus_has_56_examples() -> None:
    assert len(conformance_files()) == 56


@pytest.mark.parametrize("path", conformance_params())
def test_yaml_dsl_json_round_trip(
    path: Path, schema_validator: jsonschema.Draft202012Validator
) -> None:
    from_yaml = api.compile_file(path).migration
    dsl = api.emit(from_yaml, "dsl")
    from_dsl = api.compile_source(dsl, path.with_suffix(".pgroll").name).migration
    assert from_dsl == from_yaml, dsl
    json_text = api.emit(from_dsl, "json")
    from_json = api.compile_source(json_text, path.with_suffix(".json").name).migration
    assert from_json == from_dsl
    document = json.loads(json_text)
    errors = sorted(schema_validator.iter_errors(document), key=lambda e: e.path)
    assert not errors, [e.message for e in errors]
    original = yaml.safe_load(path.read_text())
    assert _meaning(document) == _meaning(original)


@pytest.mark.parametrize("path", conformance_params())
def test_yaml_output_reads_back(path: Path) -> None:
    migration = api.compile_file(path).migration
    yaml_text = api.emit(migration, "yaml")
    assert api.compile_source(yaml_text, path.name).migration == migration
    assert _meaning(yaml.safe_load(yaml_text)) == _meaning(yaml.safe_load(path.read_text()))


_DEFAULTS = {"on_delete": "NO ACTION", "on_update": "NO ACTION", "match_type": "SIMPLE"}


@pytest.mark.parametrize("path", conformance_params())
def test_dsl_form_of_each_example(path: Path, dsl_snapshot: SnapshotAssertion) -> None:
    """The canonical DSL of every example, kept as reviewable golden files."""
    assert api.emit(api.compile_file(path).migration, "dsl") == dsl_snapshot


def _meaning(value: Any, key: str = "") -> Any:
    """What pgroll would do with a document: zero values dropped, spellings normalised."""
    if isinstance(value, dict):
        result = {}
        for k, v in value.items():
            normal = _meaning(v, k)
            if normal in (False, "", {}, []) and k not in ("columns", "up", "down"):
                continue
            if _DEFAULTS.get(k) == normal:
                continue
            result[k] = normal
        return result
    if isinstance(value, list):
        return [_meaning(v, key) for v in value]
    if isinstance(value, str) and key == "type":
        return _format_type(value)
    if isinstance(value, str) and key in ("on_delete", "on_update", "match_type"):
        return value.upper()
    return value


def _format_type(text: str) -> str:
    """A type string as PostgreSQL's ``format_type`` spells it (``int`` == ``integer``).

    ``test_canonical_type_spellings_are_the_same_types`` checks this equivalence on a server.
    """
    sink = Diagnostics()
    parsed = parse_type(text, Span("t", 1, 1, 1, 1), sink)
    assert parsed is not None, text
    return canonical_type(parsed)


def test_the_corpus_defect_reaches_the_ir() -> None:
    """Example 35 names a column that does not exist; the IR keeps it, with its position."""
    path = next(p for p in conformance_files() if p.name.startswith("35_"))
    (op,) = api.compile_file(path).migration.operations
    assert op.kind == "alter_column"
    assert op.down is not None and op.down.text == "event_name"
    assert op.down.span is not None and (op.down.span.line, op.down.span.col) == (15, 13)
