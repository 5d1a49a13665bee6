"""docs/lint.md is generated from the rule registry, and its tables hold against squawk.

- the committed page is what tools/gen_lint_doc.py writes (run it after changing a rule);
- every rule's examples are on the page, and every lint code has a section;
- squawk's rules as the registry lists them exist in the installed squawk; each is covered by
  a rule, explained, or off by default in squawk (checked: a statement that triggers it is
  reported with ``--include`` only); strong_migrations' checks are each covered or explained.
"""

from __future__ import annotations

import importlib.util
import json
import shutil
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import pytest

from pgroll_dsl.passes.lint_rules import (
    RULES,
    SQUAWK_NOT_COVERED,
    SQUAWK_OPT_IN,
    SQUAWK_PARTLY_COVERED,
    SQUAWK_RULES,
    STRONG_MIGRATIONS_CHECKS,
    lint_codes,
)

REPO = Path(__file__).resolve().parents[1]
GENERATOR = REPO / "tools" / "gen_lint_doc.py"
PAGE = REPO / "docs" / "lint.md"


def _generator() -> ModuleType:
    spec = importlib.util.spec_from_file_location("gen_lint_doc", GENERATOR)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_page_is_generated() -> None:
    assert PAGE.read_text(encoding="utf-8") == _generator().render(), (
        "docs/lint.md is stale: run `python tools/gen_lint_doc.py`")


def test_the_page_shows_every_code_and_example() -> None:
    text = PAGE.read_text(encoding="utf-8")
    for code in lint_codes():
        assert f"#### {code.id} `{code.slug}`" in text
    for rule in RULES:
        for example in rule.examples:
            assert f"```sql\n{example.bad}\n```" in text
            assert f"```sql\n{example.good}\n```" in text


def _squawk() -> str:
    found = shutil.which("squawk") or str(Path(sys.executable).parent / "squawk")
    assert Path(found).exists(), "squawk-cli is a dev dependency"
    return found


def test_every_squawk_rule_listed_exists(tmp_path: Path) -> None:
    named = {n for r in RULES for n in r.squawk} | set(SQUAWK_NOT_COVERED) | SQUAWK_OPT_IN
    assert named | set(SQUAWK_PARTLY_COVERED) <= set(SQUAWK_RULES)
    empty = tmp_path / "empty.sql"
    empty.write_text("SELECT 1;\n", encoding="utf-8")
    result = subprocess.run([_squawk(), "--exclude", ",".join(SQUAWK_RULES), str(empty)],
                            capture_output=True, text=True, timeout=60, check=False)
    assert result.returncode == 0, result.stderr  # squawk refuses an unknown rule name


def test_every_squawk_rule_is_covered_explained_or_opt_in() -> None:
    covered = {n for r in RULES for n in r.squawk}
    assert set(SQUAWK_RULES) == covered | set(SQUAWK_NOT_COVERED) | SQUAWK_OPT_IN
    assert not SQUAWK_OPT_IN & (covered | set(SQUAWK_NOT_COVERED))


# One statement each squawk rule that is off by default reports (with --include).
OPT_IN_PROBES = {
    "ban-add-column": "ALTER TABLE t ADD COLUMN c int;",
    "ban-add-composite-attribute": "ALTER TYPE ct ADD ATTRIBUTE x int;",
    "ban-add-enum-value": "ALTER TYPE e ADD VALUE 'x';",
    "ban-alter-database-options": "ALTER DATABASE d SET work_mem = '1MB';",
    "ban-alter-extension": "ALTER EXTENSION e UPDATE;",
    "ban-alter-function-options": "ALTER FUNCTION f() SECURITY DEFINER;",
    "ban-alter-generated-expression": "ALTER TABLE t ALTER COLUMN g SET EXPRESSION AS (a * 3);",
    "ban-alter-policy-condition": "ALTER POLICY p ON t USING (false);",
    "ban-alter-policy-roles": "ALTER POLICY p ON t TO r;",
    "ban-alter-role-options": "ALTER ROLE r NOLOGIN;",
    "ban-alter-row-level-security": "ALTER TABLE t ENABLE ROW LEVEL SECURITY;",
    "ban-alter-sequence-values": "ALTER SEQUENCE s RESTART WITH 1;",
    "ban-alter-system-options": "ALTER SYSTEM SET work_mem = '1MB';",
    "ban-alter-view-options": "ALTER VIEW v SET (security_barrier = true);",
    "ban-create-policy": "CREATE POLICY p ON t USING (true);",
    "ban-detach-inheritance": "ALTER TABLE t NO INHERIT p;",
    "ban-disable-trigger": "ALTER TABLE t DISABLE TRIGGER x;",
    "ban-drop-index": "DROP INDEX CONCURRENTLY i;",
    "ban-drop-policy": "DROP POLICY p ON t;",
    "ban-drop-trigger": "DROP TRIGGER x ON t;",
    "ban-new-write-restriction": "ALTER TABLE t ADD CONSTRAINT c CHECK (a > 0) NOT VALID;",
    "ban-replace-view-function": "CREATE OR REPLACE VIEW v AS SELECT 1 AS one;",
    "ban-revoke": "REVOKE SELECT ON t FROM r;",
    "require-table-schema": "CREATE TABLE t2 (id bigint PRIMARY KEY);",
}


@pytest.mark.parametrize("include", [False, True])
def test_the_opt_in_squawk_rules_are_off_by_default(tmp_path: Path, include: bool) -> None:
    assert set(OPT_IN_PROBES) == SQUAWK_OPT_IN
    files = {}
    for index, (name, text) in enumerate(sorted(OPT_IN_PROBES.items())):
        files[name] = tmp_path / f"{index:02}.sql"
        files[name].write_text(text + "\n", encoding="utf-8")
    extra = [f"--include={','.join(sorted(SQUAWK_OPT_IN))}"] if include else []
    result = subprocess.run([_squawk(), "--reporter", "json", *extra, *map(str, files.values())],
                            capture_output=True, text=True, timeout=120, check=False)
    reported = {(Path(f["file"]).name, f["rule_name"]) for f in json.loads(result.stdout)}
    for name, path in files.items():
        assert ((path.name, name) in reported) is include, name


def test_every_strong_migrations_check_is_covered_or_explained() -> None:
    named = {check for rule in RULES for check in (rule.strong_migrations or "").split("; ")
             if check}
    assert named <= set(STRONG_MIGRATIONS_CHECKS), named - set(STRONG_MIGRATIONS_CHECKS)
    for check, why in STRONG_MIGRATIONS_CHECKS.items():
        assert (check in named) != bool(why), check  # covered, or said why not
