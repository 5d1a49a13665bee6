"""Lint notes come from the planner, as data on each step; the author's SQL never has one.

The plan file's ``squawk-ignore`` lines say why a generated statement is safe although a
migration linter flags it (``plan/safety.py``). They used to be guessed from each step's text;
now the planner sets them where it builds the step, so the author's raw SQL is judged by
squawk as written, and text that merely looks like a risky statement earns nothing.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

from pgroll_dsl import api
from pgroll_dsl.catalog import Catalog
from pgroll_dsl.catalog.replay import apply_migration
from pgroll_dsl.plan.model import Phase, StepKind
from pgroll_dsl.plan.planner import PlanOptions, plan_migration
from pgroll_dsl.plan.safety import DROP_COLUMN, GENERATED, RENAME_COLUMN
from pgroll_dsl.render.plan_sql import render_phase
from tests.test_plan import corpus_plans

SETUP = "create table users (id bigint primary key, name text not null, email text);"


def _catalog() -> Catalog:
    setup = api.compile_source(SETUP, "01_setup.pgroll").migration
    return apply_migration(Catalog(), setup)[0]


def _squawk(tmp_path: Path, sql: str) -> list[str]:
    squawk = shutil.which("squawk") or str(Path(sys.executable).parent / "squawk")
    file = tmp_path / "start.sql"
    file.write_text(sql)
    result = subprocess.run([squawk, "--reporter", "gcc", str(file)], capture_output=True,
                            text=True, env={"NO_COLOR": "1"}, check=False)
    return [line for line in result.stdout.splitlines()
            if ": warning: " in line or ": error: " in line]


def test_the_authors_drop_and_rename_are_not_marked_safe(tmp_path: Path) -> None:
    catalog = _catalog()
    migration = api.compile_source(
        "sql up `ALTER TABLE users DROP COLUMN email; "
        "ALTER TABLE users RENAME COLUMN name TO full_name`;", "02_raw.pgroll").migration
    plan = plan_migration(migration, catalog, PlanOptions())
    (raw,) = [s for s in plan.start if s.kind is StepKind.RAW_SQL]
    assert raw.safe == ()
    sql = render_phase(plan, Phase.START)
    before_raw = sql[:sql.index("ALTER TABLE users DROP COLUMN email")]
    assert "squawk-ignore" not in before_raw.rsplit("-- [", 1)[-1]
    assert "squawk-ignore-file" not in sql
    found = " ".join(_squawk(tmp_path, sql))
    assert "ban-drop-column" in found and "renaming-column" in found, found


def test_generated_drops_and_renames_carry_their_reason() -> None:
    catalog = _catalog()
    migration = api.compile_source("alter table users rename name to full_name;\n"
                                   "alter table users drop email;", "02_change.pgroll"
                                   ).migration
    plan = plan_migration(migration, catalog, PlanOptions())
    renames = [s for s in plan.complete if "RENAME COLUMN" in s.sql]
    drops = [s for s in plan.complete if "DROP COLUMN" in s.sql]
    assert renames and all(RENAME_COLUMN in s.safe for s in renames)
    assert drops and all(DROP_COLUMN in s.safe for s in drops)
    assert "safe despite ban-drop-column" in render_phase(plan, Phase.COMPLETE)


def test_text_that_looks_risky_earns_no_exemption() -> None:
    """A comment saying DROP COLUMN, or a cast to int in a check, is not what the step does."""
    migration = api.compile_source(
        "create table notes (id bigint primary key, body text constraint short check "
        "`length(body)::int < 9` comment 'DROP COLUMN later; RENAME COLUMN maybe');",
        "01_notes.pgroll").migration
    plan = plan_migration(migration, Catalog(), PlanOptions())
    rules = {e.rule for s in plan.start for e in s.safe}
    assert not rules & {"ban-drop-column", "renaming-column", "prefer-bigint-over-int"}, rules


def test_every_generated_step_has_the_common_exemptions_and_raw_sql_none() -> None:
    for path, plan, _ in corpus_plans():
        for phase in Phase:
            for step in plan.phase(phase):
                if step.kind is StepKind.RAW_SQL:
                    assert step.safe == (), path.name
                else:
                    assert set(GENERATED) <= set(step.safe), (path.name, step.summary)
