"""Diagnostics for malformed input, through the real CLI.

Every file under ``tests/fixtures/errors/`` is one malformed migration named
``<CODE>__<case>.<ext>``. Its expected FIRST diagnostic ``(code, line, col)`` is kept in the
file itself for the DSL (``-- expect: PGD502 2:9``) and YAML (``# expect: ...``), and in
``JSON_EXPECTATIONS`` below for JSON, which has no comments. The header comment takes line 1,
so DSL and YAML positions start at line 2.
"""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner, Result

from pgroll_dsl.cli import app

FIXTURES = Path(__file__).parent / "fixtures" / "errors"
EXTENSIONS = (".pgroll", ".json", ".yaml")

# JSON has no comments: the expected first diagnostic of each JSON fixture, by file stem.
JSON_EXPECTATIONS: dict[str, tuple[str, int, int]] = {
    "PGD010__missing_brace": ("PGD010", 4, 3),
    "PGD010__single_quotes": ("PGD010", 3, 6),
    "PGD010__trailing_comma": ("PGD010", 4, 3),
    "PGD101__column_key": ("PGD101", 10, 11),
    "PGD101__misspelt_required_key": ("PGD101", 6, 9),
    "PGD101__operation_body_key": ("PGD101", 7, 9),
    "PGD101__references_key": ("PGD101", 15, 13),
    "PGD101__top_level_name": ("PGD101", 2, 3),
    "PGD102__check_without_expression": ("PGD102", 7, 25),
    "PGD102__missing_check_constraint": ("PGD102", 7, 18),
    "PGD104__collate_dash": ("PGD104", 2, 43),
    "PGD102__missing_column": ("PGD102", 4, 21),
    "PGD102__missing_operations": ("PGD102", 1, 1),
    "PGD103__array_for_object": ("PGD103", 6, 19),
    "PGD103__number_for_string": ("PGD103", 3, 29),
    "PGD103__operations_not_array": ("PGD103", 2, 17),
    "PGD103__operations_string": ("PGD103", 1, 17),
    "PGD103__root_array": ("PGD103", 1, 1),
    "PGD103__string_for_bool": ("PGD103", 6, 67),
    "PGD104__constraint_type": ("PGD104", 8, 37),
    "PGD104__index_method": ("PGD104", 8, 20),
    "PGD104__on_delete": ("PGD104", 11, 25),
    "PGD104__replica_identity_type": ("PGD104", 6, 31),
    "PGD105__long_identifier_utf8": ("PGD105", 3, 32),
    "PGD106__type_injection": ("PGD106", 6, 44),
    "PGD107__duplicate_key": ("PGD107", 7, 9),
    "PGD108__two_keys": ("PGD108", 3, 5),
    "PGD108__zero_keys": ("PGD108", 4, 5),
    "PGD109__unknown_operation": ("PGD109", 3, 6),
    "PGD110__empty_identifier": ("PGD110", 3, 66),
    "PGD110__line_break_in_name": ("PGD110", 3, 30),
    "PGD501__unbalanced_call": ("PGD501", 8, 30),
    "PGD502__backslash_quote": ("PGD502", 7, 21),
    "PGD502__up_injection": ("PGD502", 7, 18),
    "PGD502__opclass_param_injection": ("PGD502", 8, 98),
    "PGD505__nul_in_comment": ("PGD505", 3, 48),
}

# Fixtures whose expectation is right but the compiler currently gets wrong. Strict, so a fix
# turns them into XPASS failures and the marker must then be removed.
KNOWN_BUGS: dict[str, str] = {}

_EXPECT = re.compile(r"^(?:--|#) expect: (PGD\d{3}) (\d+):(\d+)\s*$")
_CARET = re.compile(r"^ +\^+$")


def _fixtures() -> list[Path]:
    return sorted(p for p in FIXTURES.iterdir() if p.suffix in EXTENSIONS)


def _expectation(path: Path) -> tuple[str, int, int]:
    if path.suffix == ".json":
        return JSON_EXPECTATIONS[path.stem]
    first_line = path.read_text(encoding="utf-8").split("\n", 1)[0]
    match = _EXPECT.match(first_line)
    assert match, f"{path.name}: first line must be an '-- expect:' / '# expect:' header"
    return match[1], int(match[2]), int(match[3])


def _cases() -> list[Any]:
    params = []
    for path in _fixtures():
        marks = []
        if path.stem in KNOWN_BUGS:
            marks.append(pytest.mark.xfail(strict=True, reason=KNOWN_BUGS[path.stem]))
        params.append(pytest.param(path, id=path.stem, marks=marks))
    return params


def _invoke(*args: str) -> Result:
    return CliRunner().invoke(app, list(args))


def _assert_no_crash(result: Result) -> None:
    """The CLI ended through an exit code, never through an uncaught exception."""
    if result.exc_info is not None:
        assert issubclass(result.exc_info[0], SystemExit), repr(result.exception)
    assert "Traceback" not in result.output


def _json_diagnostics(result: Result) -> list[dict[str, Any]]:
    diagnostics = json.loads(result.stderr)
    assert isinstance(diagnostics, list)
    return diagnostics


@pytest.mark.parametrize("path", _cases())
def test_first_diagnostic_json(path: Path) -> None:
    code, line, col = _expectation(path)
    assert path.stem.split("__", 1)[0] == code, "the file-name prefix must be the code"

    result = _invoke("convert", str(path), "--to", "json", "--format", "json")

    _assert_no_crash(result)
    assert result.exit_code == 1, result.output
    assert result.stdout == "", "nothing may be emitted for a malformed migration"
    diagnostics = _json_diagnostics(result)
    assert diagnostics, "exit code 1 needs at least one diagnostic"
    positions = [(d.get("line", 0), d.get("column", 0)) for d in diagnostics]
    assert positions == sorted(positions), "diagnostics are printed in file order"
    first = diagnostics[0]
    assert (first["code"], first.get("line"), first.get("column")) == (code, line, col), first
    assert first["severity"] == "error"
    assert first["path"] == str(path)
    assert first["message"]


@pytest.mark.parametrize("path", _cases())
def test_first_diagnostic_text(path: Path) -> None:
    code, line, col = _expectation(path)

    result = _invoke("convert", str(path), "--to", "json")

    _assert_no_crash(result)
    assert result.exit_code == 1, result.output
    lines = result.stderr.splitlines()
    assert lines, "no diagnostics on stderr"
    assert lines[0].startswith(f"{path}:{line}:{col}: error[{code}]: "), lines[0]
    assert len(lines) >= 3, result.stderr
    source_line = path.read_text(encoding="utf-8").splitlines()[line - 1].expandtabs(1)
    assert lines[1] == f"    {source_line}"
    assert _CARET.match(lines[2]), f"no caret line: {lines[2]!r}"
    assert lines[2].index("^") == 4 + col - 1, "the caret must sit under the reported column"


def test_corpus_size() -> None:
    fixtures = _fixtures()
    assert len(fixtures) >= 40
    assert {p.suffix for p in fixtures} == set(EXTENSIONS)


def test_corpus_is_consistent() -> None:
    names = {p.name for p in FIXTURES.iterdir()}
    stray = sorted(n for n in names if Path(n).suffix not in EXTENSIONS)
    assert not stray, f"unexpected files in {FIXTURES.name}: {stray}"
    json_stems = {p.stem for p in _fixtures() if p.suffix == ".json"}
    assert json_stems == set(JSON_EXPECTATIONS), "JSON_EXPECTATIONS and JSON fixtures differ"
    stems = {p.stem for p in _fixtures()}
    assert set(KNOWN_BUGS) <= stems, "a KNOWN_BUGS entry names no fixture"
    for path in _fixtures():
        code, _, _ = _expectation(path)
        assert re.fullmatch(r"PGD\d{3}__[a-z0-9_]+", path.stem), path.name
        assert path.stem.split("__", 1)[0] == code, path.name


# ---- the command line around the diagnostics ------------------------------------------

_NOT_CANONICAL = "DROP   TABLE users;\ncreate table t(id integer primary key,name text);\n"


def test_missing_file_is_an_environment_error(tmp_path: Path) -> None:
    missing = tmp_path / "absent.pgroll"

    result = _invoke("convert", str(missing), "--to", "json")

    _assert_no_crash(result)
    assert result.exit_code == 2
    assert "error[PGD012]" in result.stderr
    assert "absent.pgroll" in result.stderr


def test_missing_file_for_fmt_is_an_environment_error(tmp_path: Path) -> None:
    result = _invoke("fmt", str(tmp_path / "absent.pgroll"))

    _assert_no_crash(result)
    assert result.exit_code == 2
    assert "PGD012" in result.stderr


def test_unknown_extension(tmp_path: Path) -> None:
    source = tmp_path / "01_drop_users.txt"
    source.write_text('{"operations": []}\n', encoding="utf-8")

    result = _invoke("convert", str(source), "--to", "json", "--format", "json")

    _assert_no_crash(result)
    assert result.exit_code == 1
    (diagnostic,) = _json_diagnostics(result)
    assert diagnostic["code"] == "PGD013"
    assert (diagnostic["line"], diagnostic["column"]) == (1, 1)
    assert result.stdout == ""


def test_fmt_check_then_rewrite(tmp_path: Path) -> None:
    source = tmp_path / "01_tidy.pgroll"
    source.write_text(_NOT_CANONICAL, encoding="utf-8")

    check = _invoke("fmt", str(source), "--check")
    _assert_no_crash(check)
    assert check.exit_code == 1
    assert f"would reformat {source}" in check.stderr
    assert source.read_text(encoding="utf-8") == _NOT_CANONICAL, "--check changes nothing"

    rewrite = _invoke("fmt", str(source))
    _assert_no_crash(rewrite)
    assert rewrite.exit_code == 0
    assert source.read_text(encoding="utf-8") != _NOT_CANONICAL

    again = _invoke("fmt", str(source), "--check")
    _assert_no_crash(again)
    assert again.exit_code == 0, again.stderr
    assert "would reformat" not in again.stderr


def test_fmt_check_reports_diagnostics_of_a_broken_file(tmp_path: Path) -> None:
    broken = tmp_path / "PGD004__stray_character.pgroll"
    shutil.copy(FIXTURES / broken.name, broken)

    result = _invoke("fmt", str(broken), "--check", "--format", "json")

    _assert_no_crash(result)
    assert result.exit_code == 1
    assert _json_diagnostics(result)[0]["code"] == "PGD004"
    assert broken.read_bytes() == (FIXTURES / broken.name).read_bytes()


def test_rendered_diagnostics_snapshot(snapshot: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    """The whole text rendering of every fixture, reviewable in one golden file."""
    monkeypatch.chdir(FIXTURES)
    rendered = {
        path.name: _invoke("convert", path.name, "--to", "json").stderr for path in _fixtures()
    }
    assert rendered == snapshot
