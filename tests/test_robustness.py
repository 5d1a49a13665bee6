"""No input, however broken, gets anything but diagnostics: never a Python traceback."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pgroll_dsl import api
from pgroll_dsl.diagnostics import CompileError
from tests.conftest import conformance_files

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"
_SOURCES = {
    ".pgroll": [p.read_text() for p in sorted(EXAMPLES.glob("*.pgroll"))],
    ".json": [p.read_text() for p in sorted((EXAMPLES / "json").glob("*.json"))],
    ".yaml": [p.read_text() for p in conformance_files()[:20]],
}


def _compile(text: str, suffix: str) -> None:
    try:
        api.compile_source(text, f"fuzz{suffix}")
    except CompileError as err:
        assert err.diagnostics, "a CompileError must carry at least one diagnostic"
        for diagnostic in err.diagnostics:
            assert diagnostic.message


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data(), suffix=st.sampled_from(sorted(_SOURCES)))
def test_mutated_sources_give_diagnostics_not_tracebacks(data: st.DataObject, suffix: str) -> None:
    text = data.draw(st.sampled_from(_SOURCES[suffix]))
    start = data.draw(st.integers(0, len(text)))
    end = data.draw(st.integers(start, min(len(text), start + 12)))
    insert = data.draw(st.text(alphabet="`'\"();,-/*{}[]:\n abc0\\\x00é", max_size=4))
    _compile(text[:start] + insert + text[end:], suffix)


def test_yaml_tags_without_a_constructor_are_diagnostics() -> None:
    for text in ("=", "!custom 1", "a: !!python/object:os.system x"):
        with pytest.raises(CompileError) as raised:
            api.compile_source(text, "tags.yaml")
        assert [d.code.id for d in raised.value.diagnostics] == ["PGD011"]


@settings(max_examples=200, deadline=None)
@given(text=st.text(max_size=80), suffix=st.sampled_from([".pgroll", ".json", ".yaml"]))
def test_random_text_gives_diagnostics_not_tracebacks(text: str, suffix: str) -> None:
    _compile(text, suffix)
