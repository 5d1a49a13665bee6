"""Plans of pgroll's 56 examples, replayed in order: golden files, and SQL that parses."""

from __future__ import annotations

from pathlib import Path

import pytest
from pglast import parse_sql
from syrupy.assertion import SnapshotAssertion
from syrupy.extensions.single_file import SingleFileSnapshotExtension, WriteMode

from pgroll_dsl import api, ir
from pgroll_dsl.catalog import Catalog
from pgroll_dsl.catalog.replay import apply_migration, version_schema_name
from pgroll_dsl.plan.model import Phase, Plan, StepKind
from pgroll_dsl.plan.planner import PlanOptions, plan_migration
from pgroll_dsl.render.plan_sql import render_plan
from tests.conftest import conformance_files


class SQLSnapshot(SingleFileSnapshotExtension):
    """One reviewable ``.sql`` golden file per plan."""

    file_extension = "sql"
    _write_mode = WriteMode.TEXT


def corpus_migration(path: Path) -> ir.Migration:
    """An example, with example 35's defect fixed as conformance/README.md prescribes."""
    text = path.read_text().replace("down: event_name", "down: name")
    return api.compile_source(text, path.name).migration


def corpus_plans(optimize: bool = True) -> list[tuple[Path, Plan, Catalog]]:
    """Each example planned against the replay of the ones before it."""
    catalog, previous, result = Catalog(), None, []
    for path in conformance_files():
        migration = corpus_migration(path)
        options = PlanOptions(previous_version_schema=previous, optimize=optimize)
        result.append((path, plan_migration(migration, catalog, options), catalog))
        catalog, _ = apply_migration(catalog, migration)
        previous = f"public_{version_schema_name(migration)}"
    return result


_PLANS = corpus_plans()


@pytest.mark.parametrize("index", range(len(_PLANS)), ids=[p.stem for p, _, _ in _PLANS])
def test_plan_of_each_example(index: int, snapshot: SnapshotAssertion) -> None:
    _, plan, _ = _PLANS[index]
    assert render_plan(plan) == snapshot.use_extension(SQLSnapshot)


@pytest.mark.parametrize("index", range(len(_PLANS)), ids=[p.stem for p, _, _ in _PLANS])
def test_every_step_is_one_statement(index: int) -> None:
    _, plan, _ = _PLANS[index]
    for phase in Phase:
        for step in plan.phase(phase):
            if step.kind is StepKind.RAW_SQL:
                continue
            assert len(parse_sql(step.sql)) == 1, step.sql


def test_squawk_finds_nothing_unannotated_in_any_plan(tmp_path: Path) -> None:
    """Every finding of the squawk linter is fixed or annotated with why it is safe."""
    import shutil
    import subprocess

    from pgroll_dsl.render.plan_sql import render_phase

    squawk = shutil.which("squawk") or str(Path(__import__("sys").executable).parent / "squawk")
    assert Path(squawk).exists(), "squawk-cli is a dev dependency"
    files = []
    for path, plan, _ in _PLANS:
        for phase in (Phase.START, Phase.COMPLETE):
            file = tmp_path / f"{path.stem}.{phase.value}.sql"
            file.write_text(render_phase(plan, phase))
            files.append(str(file))
    result = subprocess.run([squawk, "--reporter", "gcc", *files], capture_output=True,
                            text=True, env={"NO_COLOR": "1"}, check=False)
    findings = [line for line in result.stdout.splitlines() if ": warning: " in line
                or ": error: " in line]
    # The author's raw SQL is never annotated safe: squawk may judge it (so does pgroll-dsl's
    # own PGD4xx lint). Every other finding is a generated statement left unannotated.
    authors = {line.strip().rstrip(";") for _, plan, _ in _PLANS for phase in Phase
               for step in plan.phase(phase) if step.kind is StepKind.RAW_SQL
               for line in step.sql.splitlines()}
    generated = [f for f in findings if _finding_line(f) not in authors]
    assert generated == [], "\n".join(generated[:20])
    assert len(findings) > len(generated), "the examples' raw SQL is judged by squawk too"


def _finding_line(finding: str) -> str:
    """The text of the line a ``file:line:col: warning: ...`` finding points at.

    (squawk's gcc reporter counts lines from 0.)
    """
    path, line = finding.split(":")[:2]
    return Path(path).read_text().splitlines()[int(line)].strip().rstrip(";")
