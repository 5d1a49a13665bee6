"""The plan ``plan --postgres-url`` prints for a server is the plan ``start`` runs on it.

For every example of pgroll's corpus, in order, on the server under test (PostgreSQL 18
embedded, and 15 in CI): the statements of start, complete and rollback that the CLI prints
for the database as it is equal those the executor records and runs when it starts the same
migration there. Both plan through ``PlanOptions.for_server``, so a server-dependent choice
(``security_invoker`` views from PostgreSQL 15) cannot make the two differ.
"""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from pgroll_dsl import api
from pgroll_dsl.cli import app
from pgroll_dsl.plan.model import Phase
from tests.live_helpers import Connection, dsn_of, make_runner
from tests.test_live_conformance import corpus  # noqa: F401 - the fixture


def test_every_example_runs_the_plan_printed_for_its_server(
        pg_conn: Connection, pg_dsn: str, corpus: Path) -> None:  # noqa: F811
    dsn = dsn_of(pg_dsn, pg_conn)
    runner = make_runner(dsn, batch_size=None)  # the CLI's default: sized by the table
    compared = 0
    try:
        for path in sorted(corpus.glob("*.yaml")):
            printed = CliRunner().invoke(app, ["plan", str(path), "--postgres-url", dsn,
                                               "--format", "json"])
            assert printed.exit_code == 0, (path.name, printed.output)
            document = json.loads(printed.stdout)
            sent = len(runner.executor.ran)
            ran = runner.start(api.compile_file(path).migration)
            assert runner.executor.ran[sent:] == [s["sql"] for s in document["start"]]
            for phase in Phase:
                assert [s["sql"] for s in document[phase.value]] == [
                    s.sql for s in ran.phase(phase)], (path.name, phase)
            runner.complete()
            compared += 1
    finally:
        runner.close()
    assert compared == 56
