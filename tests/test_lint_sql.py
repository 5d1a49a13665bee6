"""The safety linter for raw SQL (PGD4xx): rules, positions, squawk as an oracle, hostile input.

- every rule row fires on its failing example (rule data, shown in docs/lint.md) at the right
  line:col of the script, with that row's message, and not on its passing counterpart;
- inside a migration file, a finding points at the statement in a multi-line `sql` of the DSL,
  and of pgroll JSON/YAML (precisely where the string maps one to one onto the file, at the
  start of the string otherwise, as every diagnostic of embedded SQL does); `validate` exits 0;
- on a corpus of risky statements, whatever squawk (a dev dependency) reports is reported here
  too, through the squawk rules each row of ``lint_rules.RULES`` names;
- SQL that does not parse stays PGD501's, without a traceback.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest
from pglast import parse_sql
from typer.testing import CliRunner, Result

from pgroll_dsl import api
from pgroll_dsl.catalog.apply import apply_operation
from pgroll_dsl.catalog.model import Catalog
from pgroll_dsl.cli import app
from pgroll_dsl.diagnostics import Diagnostics, Severity, codes
from pgroll_dsl.passes.lint_model import EXAMPLE_SCHEMA, Example, Rule
from pgroll_dsl.passes.lint_rules import (
    RULES,
    SQUAWK_NOT_COVERED,
    SQUAWK_PARTLY_COVERED,
    SUPPRESSION_CODES,
    lint_codes,
    widening,
)
from pgroll_dsl.passes.lint_sql import Finding, lint_script, major_version
from pgroll_dsl.passes.validate_ops import validate_ops
from tests.conftest import conformance_files

HISTORY = """\
create table users (id bigint primary key, email varchar(20), name text, age int);
create table accounts (id bigint primary key, owner bigint);
"""
TIMEOUT = "SET statement_timeout = '5s';\n"


def _catalog(text: str = HISTORY) -> Catalog:
    catalog = Catalog()
    for op in api.compile_source(text, "history.pgroll").migration.operations:
        catalog = apply_operation(catalog, op)
    return catalog.completed()


def _where(text: str, offset: int) -> tuple[int, int]:
    line = text.count("\n", 0, offset) + 1
    return line, offset - (text.rfind("\n", 0, offset) + 1) + 1


def _codes(findings: Sequence[Finding]) -> list[str]:
    return [f.code.id for f in findings]


# ---- each rule: its examples (rule data, shown in docs/lint.md) -----------------------------


def _catalog_of_examples() -> Catalog:
    return _catalog(EXAMPLE_SCHEMA)


_EXAMPLE_CASES = [pytest.param(rule, example, id=f"{rule.code.id}-{index}-{number}")
                  for index, rule in enumerate(RULES)
                  for number, example in enumerate(rule.examples)]


@pytest.mark.parametrize(("rule", "example"), _EXAMPLE_CASES)
def test_rule_fires_on_its_failing_example_only(rule: Rule, example: Example) -> None:
    catalog = _catalog_of_examples()
    found = lint_script(example.bad, pg_version=example.pg_version, catalog=catalog)
    hits = [f for f in found if f.code is rule.code]
    assert hits, f"{rule.code.id} did not fire; found {_codes(found)}"
    assert _where(example.bad, hits[0].offset) == example.at, hits[0]
    assert any(h.message == _message(rule, example, catalog) for h in hits), (rule, hits)
    for hit in hits:
        assert hit.message and "\n" not in hit.message and "{" not in hit.message
        assert hit.hint and "\n" not in hit.hint and "{" not in hit.hint
    good = lint_script(example.good, catalog=catalog,
                       pg_version=example.good_pg_version or example.pg_version)
    assert rule.code.id not in _codes(good), good


def _message(rule: Rule, example: Example, catalog: Catalog) -> str:
    """The message of this very row on its example: each row's example exercises that row."""
    from pgroll_dsl.passes.lint_context import Context
    from pgroll_dsl.passes.lint_walk import places
    from pgroll_dsl.sql.spans import Source

    ctx = Context(example.bad, major_version(example.pg_version), catalog, False, set(), set())
    source = Source.of(example.bad)
    for raw in parse_sql(example.bad):
        part = source.statement(raw)
        assert raw.stmt is not None
        for place in places(ctx, raw.stmt, part):
            if rule.kind in (place.kind, "statement") and rule.fires(place.site):
                return rule.message.format_map(_Fill(place.site.names))
    raise AssertionError(f"no place of its example fires the row {rule.message!r}")


class _Fill(dict[str, str]):
    def __missing__(self, key: str) -> str:
        return "…"


def test_every_rule_row_has_an_example_and_every_code_rules() -> None:
    lint = {c for c in codes.ALL_CODES if c.id.startswith("PGD4")}
    assert lint == {r.code for r in RULES} | set(SUPPRESSION_CODES)
    assert all(rule.examples for rule in RULES), [r.message for r in RULES if not r.examples]
    assert all(c.severity is Severity.WARNING for c in lint_codes())


def test_a_table_created_by_the_same_sql_is_not_in_use() -> None:
    text = "CREATE TABLE t (id bigint PRIMARY KEY, c text);\nCREATE INDEX t_c ON t (c)"
    assert "PGD401" not in _codes(lint_script(text))


def test_hints_name_the_pgroll_dsl_operation() -> None:
    (found,) = [f for f in lint_script(TIMEOUT + "ALTER TABLE users ALTER COLUMN id TYPE bigint")
                if f.code is codes.COLUMN_TYPE_CHANGE]
    assert found.hint.startswith("write `alter table users alter id type bigint up … down …`")
    assert "without a table rewrite lock" in found.hint
    (found,) = lint_script(TIMEOUT + 'CREATE INDEX "User idx" ON "order" (id)')
    assert found.hint.startswith('write `create index "User idx" on "order" (id)`')


def test_the_statement_timeout_rule_fires_once_per_script() -> None:
    text = "ALTER TABLE users ADD COLUMN a text;\nTRUNCATE users;\nDROP TABLE accounts"
    found = lint_script(text)
    assert _codes(found).count("PGD426") == 1
    assert _codes(lint_script("SET statement_timeout = 0;\nTRUNCATE users")).count("PGD426") == 1


def test_a_second_subcommand_is_reported_where_it_is() -> None:
    text = TIMEOUT + "ALTER TABLE users\n  ADD COLUMN bio text,\n  DROP COLUMN name"
    (found,) = [f for f in lint_script(text) if f.code is codes.DROP_COLUMN]
    assert _where(text, found.offset) == (4, 3)
    assert text[found.offset:found.offset + found.width] == "DROP COLUMN name"


def test_offsets_are_characters_not_bytes() -> None:
    text = "SELECT 'déjà vu, ünïcödé';  CREATE INDEX é ON users (email)"
    (found, _) = lint_script(text)
    assert text[found.offset:].startswith("CREATE INDEX")


def test_widenings_are_catalog_only_and_the_rest_rewrites() -> None:
    safe = [("character varying(20)", "character varying(40)"),
            ("character varying(20)", "character varying"), ("character varying(20)", "text"),
            ("text", "character varying"), ("numeric(10,2)", "numeric(12,2)"),
            ("numeric(10,2)", "numeric"), ("timestamp(3) without time zone",
                                           "timestamp(6) without time zone"),
            ("bit varying(8)", "bit varying(16)"), ("cidr", "inet"), ("integer", "integer")]
    unsafe = [("character varying(40)", "character varying(20)"), ("text", "character varying(5)"),
              ("integer", "bigint"), ("numeric(10,2)", "numeric(12,3)"),
              ("timestamp without time zone", "timestamp with time zone"),
              ("character(3)", "text"), (None, "text"), ("numeric", "numeric(10,2)")]
    assert all(widening(a, b) for a, b in safe)
    assert not any(widening(a, b) for a, b in unsafe)


def test_down_may_undo_what_up_created() -> None:
    migration = api.compile_source(
        "sql up `CREATE TABLE sizes (size text PRIMARY KEY);\n"
        "ALTER TABLE users ADD COLUMN size text`\n"
        "  down `ALTER TABLE users DROP COLUMN size;\nDROP TABLE sizes`;", "m.pgroll").migration
    sink = Diagnostics()
    validate_ops(migration, _catalog(), sink)
    found = [d.code.id for d in sink]
    assert "PGD417" not in found and "PGD418" not in found, found


def test_the_pg_version_is_a_major_version_or_a_server_version_num() -> None:
    assert major_version(None) == 15
    assert major_version(11) == 11
    assert major_version(150004) == 15
    assert major_version(90624) == 9


# ---- positions inside migration files, through validate --------------------------------------


def _validate(path: Path) -> tuple[Result, list[dict[str, Any]]]:
    result = CliRunner().invoke(app, ["validate", str(path), "--format", "json"])
    assert result.exc_info is None or issubclass(result.exc_info[0], SystemExit), result.output
    assert "Traceback" not in result.output
    return result, json.loads(result.stderr) if result.stderr.strip() else []


def _history(tmp_path: Path) -> None:
    (tmp_path / "01_base.pgroll").write_text(HISTORY, encoding="utf-8")


def _lints(diagnostics: list[dict[str, Any]]) -> list[tuple[str, int, int]]:
    return [(d["code"], d["line"], d["column"]) for d in diagnostics
            if d["code"].startswith("PGD4")]


def test_positions_in_a_multi_line_dsl_sql_operation(tmp_path: Path) -> None:
    _history(tmp_path)
    path = tmp_path / "02_raw.pgroll"
    path.write_text(
        "-- raw SQL, reviewed\n"
        "sql\n"
        "  up `SET statement_timeout = '5s';\n"
        "CREATE INDEX users_email ON users (email);\n"
        "ALTER TABLE users ALTER COLUMN email TYPE varchar(40),\n"
        "    ALTER COLUMN name SET NOT NULL;\n"
        "  VACUUM FULL users`\n"
        "  down `DROP INDEX users_email`;\n", encoding="utf-8")

    result, diagnostics = _validate(path)

    assert result.exit_code == 0, result.output  # warnings never fail validate
    assert _lints(diagnostics) == [
        ("PGD401", 4, 1),
        ("PGD425", 5, 43),  # varchar(40): the widening itself is catalog-only (no PGD406)
        ("PGD407", 6, 5),
        ("PGD410", 7, 3),
    ]
    assert {d["severity"] for d in diagnostics} == {"warning"}
    first = diagnostics[0]
    assert first["end_column"] == 42  # the statement, to the end of its line
    assert first["hints"][0].startswith("write `create index users_email on users (email)`")


def test_positions_in_a_json_sql_operation(tmp_path: Path) -> None:
    _history(tmp_path)
    path = tmp_path / "02_raw.json"
    path.write_text(
        '{\n'
        '  "operations": [\n'
        '    {"sql": {"up": "SET statement_timeout = \'5s\'; TRUNCATE users; DROP TABLE accounts"'
        '}}\n'
        '  ]\n'
        '}\n', encoding="utf-8")

    result, diagnostics = _validate(path)

    assert result.exit_code == 0, result.output
    assert _lints(diagnostics) == [("PGD413", 3, 51), ("PGD418", 3, 67)]


def test_a_json_string_with_escapes_points_at_its_start(tmp_path: Path) -> None:
    """``\\n`` is two characters in the file and one in the SQL: no one-to-one map."""
    _history(tmp_path)
    path = tmp_path / "02_raw.json"
    path.write_text('{"operations": [{"sql": {"up": "SELECT 1;\\nTRUNCATE users"}}]}\n',
                    encoding="utf-8")

    result, diagnostics = _validate(path)

    assert result.exit_code == 0, result.output
    assert _lints(diagnostics) == [("PGD413", 1, 33), ("PGD426", 1, 33)]


def test_positions_in_a_yaml_sql_operation(tmp_path: Path) -> None:
    _history(tmp_path)
    path = tmp_path / "02_raw.yaml"
    path.write_text(
        "operations:\n"
        "  - sql:\n"
        "      up: SET statement_timeout = '5s'; CREATE INDEX i ON users (name)\n"
        "      down: |\n"
        "        DROP INDEX i;\n"
        "        ALTER TABLE users DROP COLUMN age\n", encoding="utf-8")

    result, diagnostics = _validate(path)

    assert result.exit_code == 0, result.output
    # The plain scalar maps one to one, the block scalar line by line. DROP INDEX i drops
    # what up created: nothing to report.
    assert _lints(diagnostics) == [("PGD401", 3, 41), ("PGD426", 6, 9), ("PGD417", 6, 9)]


def test_the_conformance_corpus_raises_only_these_warnings() -> None:
    """pgroll's 56 examples: the raw SQL of two of them, and nothing else."""
    catalog = Catalog()
    found: list[tuple[str, str]] = []
    for path in conformance_files():
        migration = api.compile_file(path).migration
        sink = Diagnostics()
        validate_ops(migration, catalog, sink)
        found += [(path.stem, d.code.id) for d in sink if d.code.id.startswith("PGD4")]
        for op in migration.operations:
            catalog = apply_operation(catalog, op)
        catalog = catalog.completed()
    assert found == [("05_sql", "PGD423"), ("32_sql_on_complete", "PGD426"),
                     ("32_sql_on_complete", "PGD422")]


# ---- squawk as an independent oracle ----------------------------------------------------------

# Risky statements (one script each): whatever squawk reports on one, the linter reports too.
SQUAWK_CORPUS: list[str] = [
    "CREATE INDEX i ON t (c);",
    "CREATE UNIQUE INDEX i ON t (c) WHERE c > 0;",
    "DROP INDEX i;",
    "REINDEX INDEX i;",
    "REINDEX TABLE t;",
    "ALTER TABLE t ADD CONSTRAINT c CHECK (a > 0);",
    "ALTER TABLE t ADD CONSTRAINT f FOREIGN KEY (a) REFERENCES u (id);",
    "ALTER TABLE t ADD CONSTRAINT u UNIQUE (a);",
    "ALTER TABLE t ADD PRIMARY KEY (a);",
    "ALTER TABLE t ADD CONSTRAINT ex EXCLUDE USING gist (a WITH =);",
    "ALTER TABLE t ALTER COLUMN a TYPE bigint;",
    "ALTER TABLE t ALTER COLUMN v TYPE varchar(20);",
    "ALTER TABLE t ALTER COLUMN a SET NOT NULL;",
    "ALTER TABLE t ADD COLUMN b timestamptz DEFAULT clock_timestamp();",
    "ALTER TABLE t ADD COLUMN u uuid DEFAULT gen_random_uuid();",
    "ALTER TABLE t ADD COLUMN g int GENERATED ALWAYS AS (a * 2) STORED;",
    "ALTER TABLE t ADD COLUMN d bigint GENERATED ALWAYS AS IDENTITY;",
    "ALTER TABLE t ADD COLUMN n int NOT NULL;",
    "ALTER TABLE t ADD COLUMN s serial;",
    "ALTER TABLE t ADD COLUMN j json;",
    "ALTER TABLE t ADD COLUMN sm smallint;",
    "ALTER TABLE t RENAME COLUMN a TO b;",
    "ALTER TABLE t RENAME TO u;",
    "ALTER TABLE t SET SCHEMA s2;",
    "ALTER INDEX i RENAME TO j;",
    "ALTER TABLE t RENAME CONSTRAINT a TO b;",
    "ALTER TABLE t DROP COLUMN a;",
    "ALTER TABLE t DROP CONSTRAINT c;",
    "ALTER TABLE t ALTER COLUMN a DROP NOT NULL;",
    "ALTER TABLE t ALTER COLUMN a DROP DEFAULT;",
    "ALTER TABLE t ALTER COLUMN a SET DEFAULT 1;",
    "ALTER TABLE t DETACH PARTITION p;",
    "ALTER TABLE t REPLICA IDENTITY FULL;",
    "DROP TABLE t;",
    "DROP VIEW v;",
    "DROP MATERIALIZED VIEW mv;",
    "DROP FUNCTION f();",
    "DROP TYPE ty;",
    "DROP SEQUENCE s;",
    "DROP DOMAIN d;",
    "DROP EXTENSION e;",
    "DROP SCHEMA s;",
    "DROP DATABASE d;",
    "TRUNCATE t;",
    "TRUNCATE t CASCADE;",
    "VACUUM FULL t;",
    "CLUSTER t USING i;",
    "LOCK TABLE t;",
    "ALTER TYPE e ADD VALUE 'x';",
    "ALTER DOMAIN dd ADD CONSTRAINT c CHECK (VALUE > 1);",
    "BEGIN;\nCREATE INDEX CONCURRENTLY k ON t (a);\nCOMMIT;",
    "CREATE TABLE x (id serial PRIMARY KEY, j json, c char(3), ts timestamp, v varchar(10));",
    "CREATE TABLE y (id int GENERATED ALWAYS AS IDENTITY PRIMARY KEY);",
    "CREATE TABLE z (id smallint, PRIMARY KEY (id));",
    "ALTER TABLE t ADD COLUMN ts timestamp, ADD COLUMN c character(2);",
    "ALTER TABLE t ALTER COLUMN id SET GENERATED ALWAYS;",
    "UPDATE t SET a = 1, a = 2;",
    "ALTER TABLE t ADD CONSTRAINT n NOT NULL a;",
    "REINDEX INDEX CONCURRENTLY i;",
    "ALTER TABLE t DETACH PARTITION p CONCURRENTLY;",
]

# Versions squawk and the linter are both told about (squawk's --pg-version).
SQUAWK_VERSIONS = (15, 10)


def _squawk() -> str:
    found = shutil.which("squawk") or str(Path(sys.executable).parent / "squawk")
    assert Path(found).exists(), "squawk-cli is a dev dependency"
    return found


def _squawk_findings(files: list[Path], version: int) -> list[dict[str, Any]]:
    result = subprocess.run(
        [_squawk(), "--reporter", "json", f"--pg-version={version}.0", *map(str, files)],
        capture_output=True, text=True, timeout=120, check=False)
    assert result.returncode in (0, 1), result.stderr
    findings = json.loads(result.stdout)
    assert isinstance(findings, list)
    return findings


@pytest.mark.parametrize("version", SQUAWK_VERSIONS)
def test_the_linter_finds_what_squawk_finds(tmp_path: Path, version: int) -> None:
    files = []
    for index, text in enumerate(SQUAWK_CORPUS):
        path = tmp_path / f"{index:03}.sql"
        path.write_text(text + "\n", encoding="utf-8")
        files.append(path)
    ours = {path.name: set(_codes(lint_script(text, pg_version=version)))
            for path, text in zip(files, SQUAWK_CORPUS, strict=True)}
    covers: dict[str, set[str]] = {}
    for rule in RULES:
        for name in rule.squawk:
            covers.setdefault(name, set()).add(rule.code.id)

    missed, unmapped, seen = [], set(), set()
    for finding in _squawk_findings(files, version):
        name, file = finding["rule_name"], Path(finding["file"]).name
        assert name != "syntax-error", finding
        seen.add(name)
        if name in SQUAWK_NOT_COVERED or name in SQUAWK_PARTLY_COVERED:
            continue
        if name not in covers:
            unmapped.add(name)
        elif not covers[name] & ours[file]:
            missed.append((file, SQUAWK_CORPUS[int(file[:3])], name, sorted(ours[file])))
    assert not unmapped, f"squawk rules that no row of lint_rules.RULES names: {unmapped}"
    assert set(SQUAWK_PARTLY_COVERED) <= set(covers)
    assert not missed, "squawk finds what the linter does not:\n" + "\n".join(map(str, missed))
    assert len(seen - set(SQUAWK_NOT_COVERED)) >= 25  # the corpus exercises the mapping


# ---- hostile input ------------------------------------------------------------------------------


@pytest.mark.parametrize("text", [
    "CREATE INDEX ON",  # does not parse
    "ALTER TABLE t ADD COLUMN c int DEFAULT " + "(" * 20000 + "1" + ")" * 20000,
    ";;;",
    "-- only a comment",
    "SELECT 1; " * 3000,
    "ALTER TABLE t ALTER COLUMN c TYPE t.c%TYPE",
    'DROP TABLE "a""b", "", c CASCADE',
    "ALTER TABLE t RENAME COLUMN \"\" TO \"x\ny\"",
])
def test_hostile_scripts_do_not_crash_the_linter(text: str) -> None:
    for finding in lint_script(text):
        assert 0 <= finding.offset <= len(text) and finding.width >= 1
        assert "\n" not in finding.message and "\n" not in finding.hint


def test_sql_that_does_not_parse_is_pgd501_without_a_traceback(tmp_path: Path) -> None:
    path = tmp_path / "01_bad.pgroll"
    path.write_text("sql up `CREATE INDEX ON users (`;\n", encoding="utf-8")

    result, diagnostics = _validate(path)

    assert result.exit_code == 1
    assert [d["code"] for d in diagnostics] == ["PGD501"]


def test_a_deep_default_is_refused_or_linted_without_a_traceback(tmp_path: Path) -> None:
    path = tmp_path / "01_deep.pgroll"
    deep = "(" * 5000 + "1" + ")" * 5000
    path.write_text(f"sql up `ALTER TABLE users ADD COLUMN c int DEFAULT {deep}`;\n",
                    encoding="utf-8")

    result, diagnostics = _validate(path)

    assert result.exit_code in (0, 1)
    assert all(d["code"].startswith(("PGD4", "PGD5", "PGD2")) for d in diagnostics)
