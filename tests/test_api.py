"""The public API without a database: load, validate, plan, render; errors as data.

The live half (start, complete, rollback... on the embedded PostgreSQL) is
tests/test_api_live.py; docs/api.md's examples run in tests/test_api_docs.py.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

import pgroll_dsl
from pgroll_dsl import api, ir
from pgroll_dsl.diagnostics import CompileError, Severity, codes
from tests.live_helpers import without_previous_version

SETUP = "create table items (id int primary key, title text not null, price text);\n"
RETYPE = "alter table items alter price type int up `CAST(price AS integer)` " \
         "down `CAST(price AS text)`;\n"


def _project(tmp_path: Path) -> Path:
    folder = tmp_path / "migrations"
    folder.mkdir()
    (folder / "01_items.pgroll").write_text(SETUP, encoding="utf-8")
    (folder / "02_price_int.pgroll").write_text(RETYPE, encoding="utf-8")
    return folder


@pytest.mark.parametrize(("syntax", "text"), [
    ("dsl", SETUP),
    ("json", json.dumps({"operations": [{"create_table": {"name": "items", "columns": [
        {"name": "id", "type": "int", "pk": True},
        {"name": "title", "type": "text"},
        {"name": "price", "type": "text", "nullable": True}]}}]})),
    ("yaml", "operations:\n  - create_table:\n      name: items\n      columns:\n"
             "        - {name: id, type: int, pk: true}\n        - {name: title, type: text}\n"
             "        - {name: price, type: text, nullable: true}\n"),
])
def test_compile_text_reads_every_syntax_to_the_same_migration(syntax: api.Syntax,
                                                               text: str) -> None:
    loaded = api.compile_text(text, "01_items", syntax)
    assert loaded.migration.name == "01_items"
    assert loaded.migration.operations == api.compile_text(SETUP, "01_items").migration.operations
    # and back out in each syntax, to the same operations
    for target in ("dsl", "json", "yaml"):
        again = api.compile_text(api.emit(loaded.migration, target), "01_items",
                                 target)  # type: ignore[arg-type]
        assert again.migration.operations == loaded.migration.operations


def test_a_bad_migration_raises_invalid_migration_with_positioned_diagnostics() -> None:
    with pytest.raises(api.InvalidMigration) as caught:
        api.compile_text("create table t (id int primary key,\n  name);", "01_bad")
    err = caught.value
    assert isinstance(err, CompileError) and isinstance(err, api.PgrollDslError)
    first = err.diagnostics[0]
    assert first.severity is Severity.ERROR
    assert first.span is not None and first.span.path == "01_bad.pgroll" and first.span.line == 2
    assert not err.environment


def test_unknown_syntax_is_a_value_error() -> None:
    with pytest.raises(ValueError, match="unknown syntax"):
        api.compile_text(SETUP, "x", "toml")  # type: ignore[arg-type]


def test_an_unreadable_file_is_an_environment_error(tmp_path: Path) -> None:
    with pytest.raises(api.InvalidMigration) as caught:
        api.compile_file(tmp_path / "missing.pgroll")
    assert caught.value.environment
    assert caught.value.diagnostics[0].code is codes.UNREADABLE_FILE


def test_validate_against_history_reports_errors_as_data(tmp_path: Path) -> None:
    folder = _project(tmp_path)
    assert api.validate(folder).ok
    assert api.validate(folder / "02_price_int.pgroll").ok
    bad = api.compile_text("alter table items rename nope to other;", "03_bad").migration
    result = api.validate(bad, history=folder)
    assert not result.ok
    assert [d.code for d in result.errors] == [codes.COLUMN_DOES_NOT_EXIST]
    # the same migration against an empty schema: the table is missing instead
    assert api.validate(bad).errors[0].code is not codes.COLUMN_DOES_NOT_EXIST


def test_validate_of_a_directory_with_a_broken_file_lists_its_errors(tmp_path: Path) -> None:
    folder = _project(tmp_path)
    (folder / "03_bad.pgroll").write_text("alter table items drop column nope;\n",
                                          encoding="utf-8")
    result = api.validate(folder)
    assert not result.ok
    assert {d.span.path for d in result.errors if d.span} == {str(folder / "03_bad.pgroll")}


def test_only_one_catalog_source(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="at most one"):
        api.validate(_project(tmp_path), history=tmp_path, snapshot=tmp_path / "x.json")


def test_plan_and_render_a_file_and_an_object(tmp_path: Path) -> None:
    folder = _project(tmp_path)
    planned = api.plan_migration(folder / "02_price_int.pgroll",
                                 backfill=api.Backfill(batch_size=7))
    plan = planned.plan
    assert plan.version_schema == "public_02_price_int"
    assert plan.previous_version_schema == "public_01_items"
    sql = api.render_plan(plan, phases=["start"], lock_timeout_ms=1234)
    assert "SET lock_timeout = '1234ms';" in sql
    assert "CAST(NEW.\"price\" AS integer)" in sql
    assert "-- ==== start (" in sql and "-- ==== complete (" not in sql
    every = api.render_plan(plan)
    assert all(f"-- ==== {phase} (" in every for phase in ("start", "complete", "rollback"))
    document = json.loads(api.render_plan(plan, "json"))
    assert document["version_schema"] == "public_02_price_int"


def test_plan_of_an_object_against_a_snapshot(tmp_path: Path) -> None:
    folder = _project(tmp_path)
    history = tmp_path / "history"
    history.mkdir()
    (history / "01_items.pgroll").write_text(SETUP, encoding="utf-8")
    migration = api.compile_file(folder / "02_price_int.pgroll").migration
    from_history = api.plan_migration(migration, history=history).plan
    snapshot = tmp_path / "catalog.json"
    from pgroll_dsl import render

    catalog = api.load_catalog(history=history)
    snapshot.write_text(render.CATALOG["json"](catalog, None), encoding="utf-8")
    from_snapshot = api.plan_migration(migration, snapshot=snapshot).plan
    assert from_history.previous_version_schema == "public_01_items"
    assert from_snapshot.previous_version_schema is None
    # The one difference: a snapshot that does not say which version schema came before
    # (one of a database with no migration, or written before snapshots held it): the sync
    # triggers' writer test cannot name it (a saved plan is refused where one exists).
    assert without_previous_version(from_history.start, "public_01_items") == [
        step.sql for step in from_snapshot.start]
    assert [s.sql for s in from_history.start] != [s.sql for s in from_snapshot.start]
    # One that names it gives the history's plan, phase for phase.
    named = tmp_path / "named.json"
    named.write_text(render.CATALOG["json"](catalog, "public_01_items"), encoding="utf-8")
    assert '"previous_version_schema": "public_01_items"' in named.read_text()
    from_named = api.plan_migration(migration, snapshot=named).plan
    assert from_named.previous_version_schema == "public_01_items"
    for phase in ("start", "complete", "rollback"):
        assert [s.sql for s in getattr(from_named, phase)] == [
            s.sql for s in getattr(from_history, phase)], phase


def test_plan_of_an_invalid_migration_raises(tmp_path: Path) -> None:
    folder = _project(tmp_path)
    bad = api.compile_text("alter table items drop column nope;", "03_bad").migration
    with pytest.raises(api.InvalidMigration) as caught:
        api.plan_migration(bad, history=folder)
    assert caught.value.diagnostics[0].code is codes.COLUMN_DOES_NOT_EXIST


def test_directory_version_schema_reads_the_last_file(tmp_path: Path) -> None:
    folder = _project(tmp_path)
    assert api.directory_version_schema(folder) == "public_02_price_int"
    assert api.directory_version_schema(folder, "app") == "app_02_price_int"
    with pytest.raises(api.InvalidMigration):
        api.directory_version_schema(tmp_path / "nothing")


def test_results_and_options_are_frozen() -> None:
    backfill = api.Backfill()
    with pytest.raises(AttributeError):
        backfill.batch_size = 2  # type: ignore[misc]
    with pytest.raises(ValueError):
        api.Backfill(workers=0)
    assert api.SessionOptions().state_schema == "pgroll"


def test_the_package_reexports_the_api_lazily() -> None:
    code = ("import sys, pgroll_dsl\n"
            "loaded = [m for m in ('psycopg', 'lark', 'pgroll_dsl.api', 'pgroll_dsl.plan')"
            " if m in sys.modules]\n"
            "assert not loaded, loaded\n"
            "assert pgroll_dsl.compile_text is pgroll_dsl.api.compile_text\n"
            "assert 'psycopg' not in sys.modules\n"
            "assert pgroll_dsl.connect is pgroll_dsl.api.connect\n"
            "assert 'psycopg' not in sys.modules\n")
    subprocess.run([sys.executable, "-c", code], check=True)
    assert set(pgroll_dsl.__all__) - {"__version__"} == set(api.__all__)
    assert all(getattr(pgroll_dsl, name) is getattr(api, name) for name in api.__all__)
    with pytest.raises(AttributeError):
        pgroll_dsl.no_such_name  # noqa: B018


def test_py_typed_ships_with_the_package() -> None:
    assert (Path(pgroll_dsl.__file__).parent / "py.typed").is_file()


def test_migration_type_is_the_ir() -> None:
    assert isinstance(api.compile_text(SETUP, "01_items").migration, ir.Migration)


def test_one_version_source() -> None:
    """The build reads the version from pgroll_dsl/__init__.py; pyproject sets none."""
    import tomllib

    root = Path(__file__).resolve().parents[1]
    project = tomllib.loads((root / "pyproject.toml").read_text(encoding="utf-8"))
    assert "version" not in project["project"]
    assert "version" in project["project"]["dynamic"]
    assert project["tool"]["hatch"]["version"]["path"] == "pgroll_dsl/__init__.py"
    assert f'__version__ = "{pgroll_dsl.__version__}"' in (
        root / "pgroll_dsl" / "__init__.py").read_text(encoding="utf-8")
    changelog = (root / "CHANGELOG.md").read_text(encoding="utf-8")
    assert changelog.startswith("# Changelog") and "## [Unreleased]" in changelog


def test_validation_tells_environment_errors_apart(tmp_path: Path) -> None:
    folder = _project(tmp_path)
    missing = api.validate(tmp_path / "missing.pgroll")
    assert not missing.ok and missing.environment
    (folder / "03_bad.pgroll").write_text("alter table items drop column nope;\n",
                                          encoding="utf-8")
    broken = api.validate(folder)
    assert not broken.ok and not broken.environment
    assert not api.validate(folder / "01_items.pgroll").environment


# ---- what the command line needs of the API: validate's options, create, latest --local ----

ADD_DEFAULT = json.dumps({"operations": [{"sql": {
    "up": "ALTER TABLE items ADD COLUMN note text DEFAULT 'none'"}}]})


def _codes(result: api.Validation) -> set[str]:
    return {d.code.id for d in result.diagnostics}


def test_validate_several_paths_counts_and_plans_each_migration(tmp_path: Path) -> None:
    folder = _project(tmp_path)
    result = api.validate([folder, folder / "02_price_int.pgroll"], summaries=True)
    assert result.ok and not result.stopped
    assert (result.checked, result.skipped) == (3, 0)
    assert [m.name for m in result.migrations] == ["01_items", "02_price_int", "02_price_int"]
    assert all(m.plan is not None for m in result.migrations)
    assert result.migrations[1].plan is not None
    assert result.migrations[1].plan.version_schema == "public_02_price_int"
    report = result.report()
    assert (report.checked, report.migrations) == (3, result.migrations)
    assert report.summary_line() == "3 migrations checked, 0 errors, 0 warnings"
    # without summaries: the same findings, no plans
    plain = api.validate([folder, folder / "02_price_int.pgroll"])
    assert plain.diagnostics == result.diagnostics
    assert all(m.plan is None for m in plain.migrations)


def test_validate_keeps_going_past_a_broken_path_and_stops_at_the_environment(
        tmp_path: Path) -> None:
    folder = _project(tmp_path)
    (folder / "03_typo.pgroll").write_text("alter table items rename nmae to label;\n",
                                           encoding="utf-8")
    broken = api.validate([folder / "03_typo.pgroll", folder / "01_items.pgroll"])
    assert not broken.ok and not broken.stopped and broken.checked == 2
    assert [d.code for d in broken.errors] == [codes.COLUMN_DOES_NOT_EXIST]
    stopped = api.validate([folder / "03_typo.pgroll", tmp_path / "missing.pgroll",
                            folder / "01_items.pgroll"])
    assert stopped.stopped and stopped.environment
    # what was found before the environment problem is kept, nothing after it
    assert [d.code for d in stopped.errors] == [codes.COLUMN_DOES_NOT_EXIST,
                                                codes.UNREADABLE_FILE]
    assert stopped.report().checked is None  # findings alone, as the command line reports


def test_validate_and_plan_follow_the_project_lint_settings_and_pg_version(
        tmp_path: Path) -> None:
    folder = _project(tmp_path)
    added = folder / "03_note.json"
    added.write_text(ADD_DEFAULT, encoding="utf-8")
    assert "PGD408" not in _codes(api.validate(added))  # a constant default: no rewrite on 15
    assert "PGD408" in _codes(api.validate(added, pg_version=10))
    planned = api.plan_migration(added, pg_version=10)
    assert "PGD408" in {d.code.id for d in planned.warnings}
    assert "PGD426" in _codes(api.validate([added]))
    (tmp_path / "pyproject.toml").write_text('[tool.pgroll-dsl]\nignore = ["PGD426"]\n',
                                             encoding="utf-8")
    assert "PGD426" not in _codes(api.validate([added]))
    assert "PGD426" not in {d.code.id for d in api.plan_migration(added).warnings}
    (tmp_path / "pyproject.toml").write_text('[tool.pgroll-dsl]\nselct = ["PGD426"]\n',
                                             encoding="utf-8")
    result = api.validate([folder])
    assert result.stopped and [d.code.id for d in result.errors] == ["PGD903"]
    with pytest.raises(api.InvalidMigration) as caught:
        api.plan_migration(added)
    assert caught.value.environment


def test_create_migration_and_the_latest_of_a_directory(tmp_path: Path) -> None:
    folder = _project(tmp_path)
    assert api.directory_latest_migration(folder) == "02_price_int"
    assert api.directory_version_schema(folder) == "public_02_price_int"
    drafts = tmp_path / "drafts"
    written = api.create_migration(drafts, "03_next", "yaml")
    assert written == api.migration_path(drafts, "03_next", "yaml") == drafts / "03_next.yaml"
    assert api.compile_file(written).migration == ir.Migration(name="03_next", operations=())
    dsl = api.create_migration(drafts, "04_more", "dsl")
    assert dsl.read_text(encoding="utf-8").startswith("-- 04_more:")
    assert api.directory_latest_migration(drafts) == "04_more"
    with pytest.raises(FileExistsError):
        api.create_migration(drafts, "03_next", "yaml")
    with pytest.raises(ValueError, match="cannot be a migration name"):
        api.create_migration(drafts, "../escape", "yaml")
    with pytest.raises(api.InvalidMigration):
        api.directory_latest_migration(tmp_path / "empty")
    (drafts / "05_bad.pgroll").write_text("create table;\n", encoding="utf-8")
    with pytest.raises(api.InvalidMigration):
        api.directory_latest_migration(drafts)


def test_duplicate_migration_names_are_found_before_anything_runs(tmp_path: Path) -> None:
    folder = _project(tmp_path)
    (folder / "02_price_int.json").write_text('{"operations": []}', encoding="utf-8")
    files = api.migration_files(folder)
    assert [api.migration_name(f) for f in files] == ["01_items", "02_price_int",
                                                      "02_price_int"]
    assert [d.code for d in api.duplicate_names(files)] == [codes.DUPLICATE_MIGRATION_NAME]
