"""Every type spelling the front ends fold into one canonical name is the same PostgreSQL type.

The IR keeps one spelling per type (``integer`` becomes ``int``), so ``fmt`` and ``convert``
rewrite types. This proves on a server that no rewrite changes a column's type.
"""

from __future__ import annotations

from typing import Any

import psycopg
import pytest
import yaml

from pgroll_dsl import ir
from pgroll_dsl.diagnostics import Diagnostics
from pgroll_dsl.frontend.pgroll import parse_type
from pgroll_dsl.source import Span
from pgroll_dsl.sql.quoting import render_type
from pgroll_dsl.sql.type_names import CANONICAL_SPELLING
from tests.conftest import conformance_files

_MODIFIED = (
    "float", "float(10)", "float(24)", "float(25)", "float(53)", "varchar(20)",
    "character varying(20)", "national character varying(7)", "character(3)", "char",
    "timestamp(3) with time zone", "time(2) without time zone", "timestamp(0)",
    "decimal(10,2)", "decimal(7)", "integer[]", "int4[][]", "bit varying(5)", "bool[3]",
    "double precision[]", "INTEGER", "Boolean",
)


def _corpus_types(value: Any, parent: str = "") -> set[str]:
    """Column types as pgroll's examples spell them (not constraint ``type``s)."""
    found: set[str] = set()
    if isinstance(value, dict):
        if parent in ("columns", "column", "alter_column") and isinstance(value.get("type"), str):
            found.add(value["type"])
        for key, child in value.items():
            found |= _corpus_types(child, key)
    elif isinstance(value, list):
        for child in value:
            found |= _corpus_types(child, parent)
    return found


def _spellings() -> list[str]:
    corpus: set[str] = set()
    for path in conformance_files():
        corpus |= _corpus_types(yaml.safe_load(path.read_text()))
    return sorted({*CANONICAL_SPELLING, *_MODIFIED, *corpus})


def _parse(text: str) -> ir.TypeName:
    parsed = parse_type(text, Span("t.json", 1, 1, 1, 1), Diagnostics())
    assert parsed is not None, text
    return parsed


@pytest.mark.parametrize("spelling", _spellings())
def test_canonical_spelling_is_stable(spelling: str) -> None:
    canonical = _parse(spelling)
    assert _parse(render_type(canonical)) == canonical


@pytest.mark.postgres
def test_canonical_type_spellings_are_the_same_types(
    pg_conn: psycopg.Connection[tuple[Any, ...]],
) -> None:
    pg_conn.execute("CREATE TYPE fruit_size AS ENUM ('small', 'large')")  # example 41's
    spellings = _spellings()
    columns = ", ".join(
        f"a{i} {s}, b{i} {render_type(_parse(s))}" for i, s in enumerate(spellings)
    )
    pg_conn.execute(f"CREATE TABLE spellings ({columns})")
    rows = pg_conn.execute(
        "SELECT attname, format_type(atttypid, atttypmod), attndims FROM pg_attribute"
        " WHERE attrelid = 'spellings'::regclass AND attnum > 0"
    ).fetchall()
    types = {name: (text, dims) for name, text, dims in rows}
    differing = [(s, types[f"a{i}"], types[f"b{i}"]) for i, s in enumerate(spellings)
                 if types[f"a{i}"] != types[f"b{i}"]]
    assert not differing
    assert len(spellings) > len(CANONICAL_SPELLING) + len(_MODIFIED) // 2
