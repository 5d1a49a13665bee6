"""Every operation kind has each of its homes: what mypy cannot see when one is forgotten.

docs/architecture.md lists the places an operation touches ("adding an operation"); this
test holds the ones that can be named for each kind, from the IR's own list of operations:
the DSL grammar rule, the JSON/YAML builder, pgroll's JSON schema, the emitters, the catalog
replay, the planner, the validation and the DSL reference.
"""

from __future__ import annotations

import inspect
import json
import re
import typing

import pytest

from pgroll_dsl import ir
from pgroll_dsl.catalog import apply
from pgroll_dsl.frontend import pgroll as json_frontend
from pgroll_dsl.passes import validate_ops
from pgroll_dsl.plan import operations
from pgroll_dsl.render import dsl as render_dsl
from pgroll_dsl.render import pgroll_json
from tests.conftest import REPO, SHARED

KINDS = [(cls, cls.kind) for cls in typing.get_args(ir.Operation)]
GRAMMAR = (REPO / "grammar" / "migration.lark").read_text(encoding="utf-8")
DSL_DOC = (REPO / "docs" / "dsl.md").read_text(encoding="utf-8")
SCHEMA = json.loads((SHARED / "conformance" / "pgroll-schema.json").read_text("utf-8"))


def _dispatches(module: object, cls: type) -> bool:
    return re.search(rf"\bir\.{cls.__name__}\(\)", inspect.getsource(module)) is not None  # type: ignore[arg-type]


@pytest.mark.parametrize(("cls", "kind"), KINDS, ids=[k for _, k in KINDS])
def test_every_home_of_an_operation(cls: type, kind: str) -> None:
    missing = [home for home, present in (
        ("grammar rule in grammar/migration.lark", re.search(rf"^{kind}:", GRAMMAR, re.M)),
        ("JSON/YAML builder in frontend/pgroll.py", kind in json_frontend._BUILDERS),
        ("pgroll's JSON schema", kind in json.dumps(SCHEMA)),
        ("DSL emitter (render/dsl.py)", _dispatches(render_dsl, cls)),
        ("JSON emitter (render/pgroll_json.py)", _dispatches(pgroll_json, cls)),
        ("catalog replay (catalog/apply.py)", _dispatches(apply, cls)),
        ("planner dispatch (plan/operations.py)", _dispatches(operations, cls)),
        ("validation (passes/validate_ops.py)", _dispatches(validate_ops, cls)),
        ("section in docs/dsl.md", f"### {kind}" in DSL_DOC),
    ) if not present]
    assert not missing, f"{kind}: missing {missing}"


def test_the_list_is_complete() -> None:
    assert len(KINDS) == 15
