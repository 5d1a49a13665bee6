"""The built-in catalog rows of passes/typecheck_data.py are the test server's own.

tools/gen_typecheck_data.py wrote the module from a PostgreSQL server; this reads the same
rows from the test server with the same queries. On the major version the module was made
from, every table must be equal; on another (CI's second server) every cast among the common
types must be in the module, the same way, since the checks rest on them.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path
from typing import Any

import psycopg

from pgroll_dsl.passes import typecheck_data
from pgroll_dsl.passes.infer_types import pg_catalog

TOOL = Path(__file__).resolve().parents[1] / "tools" / "gen_typecheck_data.py"
COMMON = {"int2", "int4", "int8", "numeric", "float4", "float8", "text", "varchar", "bpchar",
          "bool", "date", "timestamp", "timestamptz", "time", "timetz", "interval", "uuid",
          "json", "jsonb", "bytea"}


def _tool() -> Any:
    spec = importlib.util.spec_from_file_location("gen_typecheck_data", TOOL)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_committed_tables_are_the_servers(pg_conn: psycopg.Connection[Any]) -> None:
    tool = _tool()
    live = tool.read(pg_conn)
    casts = {(s, t): (c, m) for s, t, c, m in live["CASTS"]}
    common = {k: v for k, v in casts.items() if k[0] in COMMON and k[1] in COMMON}
    committed = pg_catalog()
    ours = {k: v for k, v in committed.casts.items() if k[0] in COMMON and k[1] in COMMON}
    if live["VERSION"][0][0] != typecheck_data.PG_MAJOR:
        # Another major version: every cast it has among the common types is ours, the same
        # way (a cast we lacked could be a false error); ours may have the ones PostgreSQL
        # added since (bytea <-> integers in 18): a check then says less, never more.
        assert common.items() <= ours.items()
        newer = {k for k in ours if k not in common}
        assert newer <= {(a, b) for a, b in ((x, y) for x in COMMON for y in COMMON)
                         if "bytea" in (a, b) and {a, b} & {"int2", "int4", "int8"}}, newer
        return
    assert common == ours
    assert casts == committed.casts
    assert len(committed.functions) == len(live["FUNCTIONS"])
    assert committed.operators == tuple(tuple(r) for r in live["OPERATORS"])
    assert tool.render(live) == TOOL.parents[1].joinpath(
        "pgroll_dsl", "passes", "typecheck_data.py").read_text(encoding="utf-8")
