"""The documentation is executable: what docs/dsl.md shows is what the compiler does.

docs/dsl.md pairs every example in the language with the pgroll JSON it converts to:

- a ```pgroll block holds canonical DSL (exactly what ``pgroll-dsl fmt`` writes) and is
  followed, with nothing but blank lines in between, by a ```json block: the whole migration
  document it converts to;
- a ```pgroll input block holds DSL as a user may type it; it is followed by the ```pgroll
  block ``fmt`` makes of it (and that one by its JSON).

For each pair the DSL must compile, convert to exactly the documented JSON, compile back from
that JSON to the same operations, and the JSON must be valid against pgroll's JSON schema.
The doc must show every operation kind and every field of pgroll's migration format.
docs/diagnostics.md must be what tools/gen_diagnostics_doc.py writes.
"""

from __future__ import annotations

import importlib.util
import json
import re
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from types import ModuleType
from typing import Any

import jsonschema
import pytest

from pgroll_dsl import api, ir

REPO = Path(__file__).resolve().parents[1]
DSL_DOC = REPO / "docs" / "dsl.md"
DIAGNOSTICS_DOC = REPO / "docs" / "diagnostics.md"
GENERATOR = REPO / "tools" / "gen_diagnostics_doc.py"
# The shared folder sits beside the repository checkout.
SCHEMA = Path(__file__).resolve().parents[2] / "shared" / "conformance" / "pgroll-schema.json"

# A fenced block: ```info, the body, then a closing ``` on a line of its own.
_FENCE = re.compile(r"^```([^`\n]*)\n(.*?)^```[ \t]*$", re.M | re.S)
_HEADING = re.compile(r"^#{2,3} +(.+?) *$", re.M)


@dataclass(frozen=True)
class Block:
    """One fenced block of the doc."""

    info: str
    text: str
    line: int
    start: int
    end: int
    section: str


@dataclass(frozen=True)
class Example:
    """A canonical DSL block, the JSON after it, and the loose input before it (if any)."""

    id: str
    dsl: Block
    json: Block
    input: Block | None


def _blocks(doc: str) -> list[Block]:
    headings = [(m.start(), m.group(1)) for m in _HEADING.finditer(doc)]
    blocks = []
    for match in _FENCE.finditer(doc):
        section = next((title for pos, title in reversed(headings) if pos < match.start()), "")
        blocks.append(Block(
            info=match.group(1).strip(), text=match.group(2),
            line=doc.count("\n", 0, match.start()) + 1, start=match.start(), end=match.end(),
            section=section,
        ))
    return blocks


def _adjacent(doc: str, first: Block, second: Block) -> bool:
    """Nothing but blank lines between the two blocks."""
    return not doc[first.end:second.start].strip()


@cache
def _examples() -> tuple[Example, ...]:
    doc = DSL_DOC.read_text(encoding="utf-8")
    blocks = [b for b in _blocks(doc) if b.info.split(" ")[0] in ("pgroll", "json")]
    examples: list[Example] = []
    used: set[int] = set()
    for i, block in enumerate(blocks):
        if block.info != "pgroll":
            continue
        after = blocks[i + 1] if i + 1 < len(blocks) else None
        if after is None or after.info != "json" or not _adjacent(doc, block, after):
            raise AssertionError(f"docs/dsl.md:{block.line}: a ```pgroll block must be "
                                 "followed directly by the ```json block it converts to")
        before = blocks[i - 1] if i > 0 else None
        loose = None
        if before is not None and before.info == "pgroll input":
            if not _adjacent(doc, before, block):
                raise AssertionError(f"docs/dsl.md:{before.line}: a ```pgroll input block must "
                                     "be followed directly by the ```pgroll block fmt makes of it")
            loose = before
            used.add(i - 1)
        used.update((i, i + 1))
        ordinal = sum(1 for e in examples if e.dsl.section == block.section) + 1
        slug = re.sub(r"[^a-z0-9_]+", "-", block.section.lower()).strip("-")
        examples.append(Example(f"{slug}-{ordinal}", block, after, loose))
    stray = [b for i, b in enumerate(blocks) if i not in used]
    for block in stray:
        raise AssertionError(f"docs/dsl.md:{block.line}: ```{block.info} block is not part of "
                             "an example (```pgroll input? ```pgroll, then ```json)")
    return tuple(examples)


def _params() -> list[Any]:
    return [pytest.param(e, id=e.id) for e in _examples()]


def _compile_dsl(block: Block) -> ir.Migration:
    try:
        return api.compile_source(block.text, "doc.pgroll").migration
    except api.CompileError as err:
        messages = "; ".join(f"{d.code.id} {d.message}" for d in err.diagnostics)
        raise AssertionError(f"docs/dsl.md:{block.line}: the example does not compile: "
                             f"{messages}") from None


@pytest.fixture(scope="module")
def schema_validator() -> jsonschema.Draft202012Validator:
    if not SCHEMA.is_file():
        pytest.fail(f"pgroll's JSON schema is missing: expected {SCHEMA} (the shared folder "
                    "must sit beside the repository checkout)")
    return jsonschema.Draft202012Validator(json.loads(SCHEMA.read_text(encoding="utf-8")))


def test_the_doc_has_examples() -> None:
    assert len(_examples()) >= 40


@pytest.mark.parametrize("example", _params())
def test_example_is_canonical(example: Example) -> None:
    migration = _compile_dsl(example.dsl)
    assert api.emit(migration, "dsl") == example.dsl.text, (
        f"docs/dsl.md:{example.dsl.line}: the example is not what `pgroll-dsl fmt` writes"
    )


@pytest.mark.parametrize("example", [p for p in _params() if p.values[0].input is not None])
def test_loose_input_formats_to_the_next_block(example: Example) -> None:
    assert example.input is not None
    migration = _compile_dsl(example.input)
    assert api.emit(migration, "dsl") == example.dsl.text
    assert migration.operations == _compile_dsl(example.dsl).operations


@pytest.mark.parametrize("example", _params())
def test_example_converts_to_the_documented_json(example: Example) -> None:
    migration = _compile_dsl(example.dsl)
    documented = json.loads(example.json.text)
    assert json.loads(api.emit(migration, "json")) == documented, (
        f"docs/dsl.md:{example.json.line}: the JSON is not what the example converts to"
    )


@pytest.mark.parametrize("example", _params())
def test_documented_json_compiles_to_the_same_migration(example: Example) -> None:
    from_dsl = _compile_dsl(example.dsl)
    from_json = api.compile_source(example.json.text, "doc.json").migration
    assert from_json.operations == from_dsl.operations
    assert from_json.version_schema == from_dsl.version_schema


@pytest.mark.parametrize("example", _params())
def test_documented_json_is_valid_for_pgroll(
    example: Example, schema_validator: jsonschema.Draft202012Validator
) -> None:
    document = json.loads(example.json.text)
    errors = [f"{'/'.join(map(str, e.absolute_path))}: {e.message}"
              for e in schema_validator.iter_errors(document)]
    assert not errors, f"docs/dsl.md:{example.json.line}: " + "; ".join(errors)


def test_every_operation_kind_has_an_example() -> None:
    shown = {op.kind for e in _examples() for op in _compile_dsl(e.dsl).operations}
    missing = [kind for kind in ir.OPERATION_KINDS if kind not in shown]
    assert not missing, f"operations without an example in docs/dsl.md: {missing}"


def test_every_operation_kind_has_a_section() -> None:
    titles = {m.group(1) for m in _HEADING.finditer(DSL_DOC.read_text(encoding="utf-8"))}
    missing = [kind for kind in ir.OPERATION_KINDS if kind not in titles]
    assert not missing, f"operations without a '### kind' section in docs/dsl.md: {missing}"


# ---- every field of pgroll's format appears in some documented JSON ------------------------

# Fields pgroll rejects although its schema still lists them.
_NOT_PGROLL_FIELDS = frozenset({"PgRollMigration.name"})


def _resolve(schema: dict[str, Any], node: dict[str, Any], where: str
             ) -> tuple[dict[str, Any], str]:
    """Follow a ``$ref``; a referenced definition names the fields under it."""
    if "$ref" in node:
        name = node["$ref"].rsplit("/", 1)[1]
        return schema["$defs"][name], name
    return node, where


def _schema_fields(schema: dict[str, Any], node: dict[str, Any], where: str,
                   out: set[str]) -> None:
    node, where = _resolve(schema, node, where)
    for key, sub in node.get("properties", {}).items():
        if f"{where}.{key}" not in out:
            out.add(f"{where}.{key}")
            _schema_fields(schema, sub, f"{where}.{key}", out)
    if "items" in node:
        _schema_fields(schema, node["items"], where, out)
    for branch in node.get("anyOf", []) + node.get("oneOf", []):
        _schema_fields(schema, branch, where, out)


def _document_fields(schema: dict[str, Any], node: dict[str, Any], value: Any, where: str,
                     out: set[str]) -> None:
    node, where = _resolve(schema, node, where)
    if isinstance(value, list) and "items" in node:
        for item in value:
            _document_fields(schema, node["items"], item, where, out)
    if not isinstance(value, dict):
        return
    for branch in node.get("anyOf", []) + node.get("oneOf", []):
        if "properties" in branch and set(value) <= set(branch["properties"]):
            _document_fields(schema, branch, value, where, out)
    properties = node.get("properties", {})
    for key, item in value.items():
        if key in properties:
            out.add(f"{where}.{key}")
            _document_fields(schema, properties[key], item, f"{where}.{key}", out)


def test_every_pgroll_field_has_an_example(
    schema_validator: jsonschema.Draft202012Validator,
) -> None:
    schema: dict[str, Any] = dict(schema_validator.schema)
    root = {"$ref": "#/$defs/PgRollMigration"}
    expected: set[str] = set()
    _schema_fields(schema, root, "", expected)
    shown: set[str] = set()
    for example in _examples():
        _document_fields(schema, root, json.loads(example.json.text), "", shown)
    missing = sorted(expected - _NOT_PGROLL_FIELDS - shown)
    assert not missing, f"pgroll fields without an example in docs/dsl.md: {missing}"


# ---- docs/diagnostics.md -------------------------------------------------------------------


def _generator() -> ModuleType:
    spec = importlib.util.spec_from_file_location("gen_diagnostics_doc", GENERATOR)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_diagnostics_doc_is_generated() -> None:
    expected = _generator().render()
    assert DIAGNOSTICS_DOC.read_text(encoding="utf-8") == expected, (
        "docs/diagnostics.md is stale: run `python tools/gen_diagnostics_doc.py`"
    )


def test_diagnostics_doc_lists_every_code() -> None:
    from pgroll_dsl.diagnostics.codes import ALL_CODES

    text = DIAGNOSTICS_DOC.read_text(encoding="utf-8")
    for code in ALL_CODES:
        assert f"| `{code.id}` | `{code.slug}` | {code.severity} |" in text
