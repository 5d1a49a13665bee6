"""The reporters of validate and plan: golden outputs of every format, SARIF against its schema.

tests/fixtures/reporters/ is a small history with warnings (raw SQL the linter flags) and an
error (a column that does not exist). Each format's output is a golden file in
tests/golden/reporters/; ``PGROLL_DSL_UPDATE_GOLDEN=1`` rewrites them (review the diff).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from psycopg.conninfo import make_conninfo
from typer.testing import CliRunner, Result

from pgroll_dsl import render
from pgroll_dsl.cli import app
from pgroll_dsl.diagnostics import Diagnostic, codes
from pgroll_dsl.render.ci_annotations import github_command
from pgroll_dsl.render.report import MigrationSummary, Report
from pgroll_dsl.source import Span

TESTS = Path(__file__).resolve().parent
FIXTURES = TESTS / "fixtures" / "reporters"
GOLDEN = TESTS / "golden" / "reporters"
SARIF_SCHEMA = TESTS / "fixtures" / "sarif" / "sarif-schema-2.1.0.json"
EXAMPLES = TESTS.parent / "examples"

# Each format's golden file suffix.
SUFFIX = {"text": "txt", "json": "json", "sarif": "sarif", "github": "github.txt",
          "gitlab": "gitlab.json", "markdown": "md"}


def _golden(name: str, text: str) -> None:
    path = GOLDEN / name
    if os.environ.get("PGROLL_DSL_UPDATE_GOLDEN"):
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    assert path.is_file(), f"no golden file {path.name}: run with PGROLL_DSL_UPDATE_GOLDEN=1"
    assert text == path.read_text(encoding="utf-8"), f"{path.name} differs"


def _invoke(*args: str, env: dict[str, str] | None = None) -> Result:
    return CliRunner().invoke(app, list(args), env=env)


def _report(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, *args: str) -> tuple[Result, str]:
    """Run in the fixture directory (paths stay relative), the report written to a file."""
    monkeypatch.chdir(FIXTURES)
    report = tmp_path / "report"
    result = _invoke(*args, "--report-file", str(report))
    return result, report.read_text(encoding="utf-8")


@pytest.fixture(scope="module")
def sarif_validator() -> jsonschema.protocols.Validator:
    schema = json.loads(SARIF_SCHEMA.read_text(encoding="utf-8"))
    validator_class = jsonschema.validators.validator_for(schema)
    validator_class.check_schema(schema)
    return validator_class(schema)


def test_every_format_has_golden_outputs() -> None:
    assert set(SUFFIX) == set(render.DIAGNOSTICS.names)


@pytest.mark.parametrize("fmt", render.DIAGNOSTICS.names)
def test_validate_report(fmt: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    result, text = _report(tmp_path, monkeypatch, "validate", ".", "--format", fmt)
    assert result.exit_code == 1, result.output
    assert result.stdout == "" and result.stderr == ""  # all of it in the report file
    _golden(f"validate.{SUFFIX[fmt]}", text)


@pytest.mark.parametrize("fmt", render.DIAGNOSTICS.names)
def test_plan_report(fmt: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    result, text = _report(tmp_path, monkeypatch, "plan", "02_email_index.pgroll",
                           "--report-format", fmt)
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith("-- pgroll-dsl")  # the plan itself is untouched
    _golden(f"plan.{SUFFIX[fmt]}", text)


def test_plan_report_of_a_migration_with_errors(tmp_path: Path,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    result, text = _report(tmp_path, monkeypatch, "plan", "04_drop_missing.pgroll",
                           "--report-format", "markdown")
    assert result.exit_code == 1 and result.stdout == ""
    _golden("plan-errors.md", text)


def test_plan_keeps_json_diagnostics_with_its_json_format(monkeypatch: pytest.MonkeyPatch
                                                          ) -> None:
    monkeypatch.chdir(FIXTURES)
    result = _invoke("plan", "02_email_index.pgroll", "--format", "json")
    assert result.exit_code == 0
    assert {d["code"] for d in json.loads(result.stderr)} == {"PGD401", "PGD426"}
    assert json.loads(result.stdout)["migration"] == "02_email_index"


def test_sarif_outputs_validate_against_the_official_schema(
    sarif_validator: jsonschema.protocols.Validator,
) -> None:
    spanless = Diagnostic(codes.CANNOT_CONNECT, "cannot read the catalog", None)
    logs = [json.loads((GOLDEN / name).read_text(encoding="utf-8"))
            for name in ("validate.sarif", "plan.sarif")]
    logs += [json.loads(render.DIAGNOSTICS["sarif"](report, lambda _: None))
             for report in (Report.of([]), Report.of([spanless]))]
    for log in logs:
        errors = [f"{list(e.absolute_path)}: {e.message}" for e in sarif_validator.iter_errors(log)]
        assert not errors, errors
    assert len(logs[0]["runs"][0]["results"]) == 3
    # The schema is strict enough to refuse a log that is not SARIF.
    broken = {**logs[0], "runs": [{**logs[0]["runs"][0], "results": [{"level": "bad"}]}]}
    assert not sarif_validator.is_valid(broken)


def test_sarif_places_results_relative_to_the_checkout() -> None:
    log = json.loads((GOLDEN / "validate.sarif").read_text(encoding="utf-8"))
    (run,) = log["runs"]
    located = [r["locations"][0]["physicalLocation"] for r in run["results"]]
    assert {p["artifactLocation"]["uri"] for p in located} == {
        "02_email_index.pgroll", "04_drop_missing.pgroll"}
    assert all(p["artifactLocation"]["uriBaseId"] == "%SRCROOT%" for p in located)
    error = next(r for r in run["results"] if r["level"] == "error")
    assert error["ruleId"] == "PGD204"
    assert error["locations"][0]["physicalLocation"]["region"]["startLine"] == 1
    assert run["tool"]["driver"]["rules"][error["ruleIndex"]]["id"] == "PGD204"


def test_github_commands_escape_what_would_end_them() -> None:
    span = Span("dir,a/b:c%.pgroll", 3, 5, 3, 9)
    d = Diagnostic(codes.COLUMN_DOES_NOT_EXIST, "50% of a,b: c\nnext", span, ("h: 1",))
    assert github_command(d) == (
        "::error file=dir%2Ca/b%3Ac%25.pgroll,line=3,col=5,endLine=3,endColumn=9,"
        "title=PGD204 column-does-not-exist::50%25 of a,b: c%0Anext%0Ahelp: h: 1")
    warning = Diagnostic(codes.EMPTY_MIGRATION, "empty", None,
                         severity=codes.EMPTY_MIGRATION.severity)
    assert github_command(warning) == "::warning title=PGD112 empty-migration::empty"


def test_gitlab_issues_have_the_code_quality_fields() -> None:
    issues = json.loads((GOLDEN / "validate.gitlab.json").read_text(encoding="utf-8"))
    assert len(issues) == 3
    for issue in issues:
        assert {"description", "check_name", "fingerprint", "severity", "location"} <= set(issue)
        assert issue["severity"] in {"info", "minor", "major", "critical", "blocker"}
        assert isinstance(issue["location"]["path"], str)
        assert isinstance(issue["location"]["lines"]["begin"], int)
    assert len({i["fingerprint"] for i in issues}) == len(issues)
    # Two findings alike still get two fingerprints.
    d = Diagnostic(codes.COLUMN_DOES_NOT_EXIST, "same", Span("a.pgroll", 1, 1, 1, 2))
    twice = json.loads(render.DIAGNOSTICS["gitlab"](Report.of([d, d]), lambda _: None))
    assert twice[0]["fingerprint"] != twice[1]["fingerprint"]


def test_markdown_row_estimates_when_the_catalog_has_them(monkeypatch: pytest.MonkeyPatch
                                                           ) -> None:
    from pgroll_dsl import compile as driver

    monkeypatch.chdir(FIXTURES)
    planned = driver.plan_file(Path("03_email_required.pgroll"), driver.CatalogSource())
    summary = MigrationSummary(path="03_email_required.pgroll", name="03_email_required",
                               plan=planned.plan)
    unknown = render.DIAGNOSTICS["markdown"](Report(diagnostics=(), migrations=(summary,)),
                                             lambda _: None)
    assert "Backfilled: `accounts` (rows: unknown)." in unknown
    known = render.DIAGNOSTICS["markdown"](Report(diagnostics=(), migrations=(
        MigrationSummary(path=summary.path, name=summary.name, plan=planned.plan,
                         row_estimates={"accounts": 1_250_000}),)), lambda _: None)
    assert "Backfilled: `accounts` (~1,250,000 rows)." in known


# ---- the summary line, and outputs kept clean -------------------------------------------------

def test_a_passing_validate_says_what_it_checked() -> None:
    count = len([p for p in EXAMPLES.iterdir() if p.suffix == ".pgroll"])
    result = _invoke("validate", str(EXAMPLES))
    assert result.exit_code == 0, result.output
    assert result.stdout == ""
    assert result.stderr == f"{count} migrations checked, 0 errors, 0 warnings\n"
    with_warnings = _invoke("validate", str(FIXTURES / "02_email_index.pgroll"))
    assert with_warnings.exit_code == 0
    assert with_warnings.stderr.endswith("\n1 migration checked, 0 errors, 2 warnings\n")


def test_document_formats_on_stderr_stay_documents(monkeypatch: pytest.MonkeyPatch) -> None:
    # No finding: JSON prints nothing (as ever); SARIF and GitLab a document with no results.
    assert _invoke("validate", str(EXAMPLES), "--format", "json").stderr == ""
    sarif = _invoke("validate", str(EXAMPLES), "--format", "sarif")
    assert json.loads(sarif.stderr)["runs"][0]["results"] == []
    assert json.loads(_invoke("validate", str(EXAMPLES), "--format", "gitlab").stderr) == []
    monkeypatch.chdir(FIXTURES)
    result = _invoke("validate", "02_email_index.pgroll", "--format", "json")
    assert len(json.loads(result.stderr)) == 2  # nothing but the JSON


def test_a_report_file_leaves_stderr_to_the_summary_line(tmp_path: Path) -> None:
    report = tmp_path / "out.sarif"
    result = _invoke("validate", str(EXAMPLES), "--format", "sarif", "--report-file", str(report))
    assert result.exit_code == 0
    assert result.stderr.endswith("migrations checked, 0 errors, 0 warnings\n")
    assert json.loads(report.read_text(encoding="utf-8"))["runs"][0]["results"] == []


def test_validate_takes_several_files(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(FIXTURES)
    result = _invoke("validate", "02_email_index.pgroll", "03_email_required.pgroll",
                     "--format", "markdown")
    assert result.exit_code == 0, result.output
    assert "2 migrations checked, 0 errors, 2 warnings." in result.stderr
    assert "### `02_email_index`" in result.stderr and "### `03_email_required`" in result.stderr


# ---- fmt --check and --diff ---------------------------------------------------------------------

_LOOSE = "CREATE TABLE t (id INTEGER PRIMARY KEY);\n"


def test_fmt_diff_prints_the_change_and_writes_nothing(tmp_path: Path) -> None:
    source = tmp_path / "01_t.pgroll"
    source.write_text(_LOOSE, encoding="utf-8")
    result = _invoke("fmt", "--diff", str(source))
    assert result.exit_code == 0, result.output
    assert source.read_text(encoding="utf-8") == _LOOSE
    assert result.stdout.startswith(f"--- {source}\t(original)\n+++ {source}\t(formatted)\n")
    # The diff is a real patch: applied to the file, it gives what fmt writes.
    patched = tmp_path / "patched.pgroll"
    shutil.copy(source, patched)
    subprocess.run(["patch", "-s", "-p0"], input=result.stdout.replace(str(source), patched.name),
                   text=True, check=True, cwd=tmp_path)
    assert _invoke("fmt", str(source)).exit_code == 0
    assert patched.read_text(encoding="utf-8") == source.read_text(encoding="utf-8")


def test_fmt_check_shows_the_diff_and_fails(tmp_path: Path) -> None:
    source = tmp_path / "01_t.pgroll"
    source.write_text(_LOOSE, encoding="utf-8")
    result = _invoke("fmt", "--check", str(source))
    assert result.exit_code == 1
    assert "-CREATE TABLE t (id INTEGER PRIMARY KEY);" in result.stdout
    assert "+create table t (id int primary key);" in result.stdout
    assert f"would reformat {source}" in result.stderr
    assert source.read_text(encoding="utf-8") == _LOOSE
    formatted = tmp_path / "02_u.pgroll"
    formatted.write_text("create table u (id int primary key);\n", encoding="utf-8")
    clean = _invoke("fmt", "--check", str(formatted))
    assert (clean.exit_code, clean.stdout) == (0, "")


# ---- against a live database: applied migrations are history -----------------------------------

def test_validate_skips_what_the_database_has_applied(pg_conn: Any, pg_dsn: str,
                                                      tmp_path: Path) -> None:
    dsn = make_conninfo(pg_dsn, dbname=pg_conn.info.dbname)
    migrations = tmp_path / "migrations"
    migrations.mkdir()
    names = sorted(p.name for p in EXAMPLES.iterdir() if p.suffix == ".pgroll")
    for name in names[:2]:
        shutil.copy(EXAMPLES / name, migrations / name)
    assert _invoke("init", "--postgres-url", dsn).exit_code == 0
    applied = _invoke("migrate", str(migrations), "--complete", "--postgres-url", dsn)
    assert applied.exit_code == 0, applied.output
    for name in names[2:]:
        shutil.copy(EXAMPLES / name, migrations / name)
    # Checked against the live schema, the applied files would be false errors...
    snapshot = tmp_path / "live.json"
    assert _invoke("catalog", "dump", "--postgres-url", dsn, "-o", str(snapshot)).exit_code == 0
    naive = _invoke("validate", str(migrations), "--catalog", str(snapshot))
    assert naive.exit_code == 1 and "PGD201" in naive.stderr
    # ...so validate leaves them out, and says so; PGROLL_PG_URL counts as --postgres-url.
    for args, env in (((str(migrations), "--postgres-url", dsn), None),
                      ((str(migrations),), {"PGROLL_PG_URL": dsn})):
        result = _invoke("validate", *args, env=env)
        assert result.exit_code == 0, result.output
        assert result.stderr == (f"{len(names) - 2} migrations checked, 2 applied migrations "
                                 "skipped, 0 errors, 0 warnings\n")
    one = _invoke("validate", str(migrations / names[0]), "--postgres-url", dsn)
    assert one.exit_code == 0
    assert one.stderr == "0 migrations checked, 1 applied migration skipped, 0 errors, 0 warnings\n"
    # The markdown report takes the database's row estimates of the tables it backfills.
    pg_conn.execute("INSERT INTO users (name) SELECT 'u' || i FROM generate_series(1, 300) i")
    pg_conn.execute("ANALYZE users")
    comment = _invoke("validate", str(migrations), "--postgres-url", dsn, "--format", "markdown")
    assert comment.exit_code == 0, comment.output
    assert "Backfilled: `users` (~300 rows)." in comment.stderr
    planned = _invoke("plan", str(migrations / names[2]), "--postgres-url", dsn,
                      "--report-format", "markdown")
    assert "Backfilled: `users` (~300 rows)." in planned.stderr
    # A migration not applied yet is checked against the live schema, errors and all.
    (migrations / "99_broken.pgroll").write_text("alter table users drop column nope;\n",
                                                 encoding="utf-8")
    broken = _invoke("validate", str(migrations), "--postgres-url", dsn)
    assert broken.exit_code == 1
    lines = broken.stderr.splitlines()
    assert lines[0] == "2 applied migrations skipped: the database has them already"
    assert "99_broken.pgroll:1:" in lines[1] and "PGD204" in lines[1]
