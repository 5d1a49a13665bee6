"""``status --detail``: where the active migration stands, read from another session.

``status`` says "In progress" from the moment start begins until complete or rollback ends:
for a start killed half way, for one still running, and for one that is over and waits for
complete alike. The detail tells them apart, names the step, says whether a process runs it
(the run lock's holder, whose session is named after its step) and what to run next. Each
case runs the real command line: a start killed at every one of a few step boundaries, a
start that waits for a lock a client holds, a rollback that waits the same way.
"""

from __future__ import annotations

import json
import re
import threading
import time
from pathlib import Path
from typing import Any

import psycopg
import pytest

from pgroll_dsl import api
from tests import fault_model as fm
from tests.live_helpers import Connection, dsn_of

pytestmark = pytest.mark.postgres

SETUP = """sql up `
create table t (id bigint primary key, n int not null default 0);
insert into t (id, n) select g, g from generate_series(1, 500) g;
`;
"""
CHANGE = """alter table t add note text not null default 'x' up `'n' || n`;
alter table t alter n type bigint up `n` down `n`;
create index t_n on t (n);
"""
NAME = "02_change_with_a_name_long_enough_to_be_cut_in_session"  # (version schema: 61 bytes)


def _detail(dsn: str) -> dict[str, Any]:
    found = fm.cli(["status", "--detail"], dsn)
    assert found.returncode == 0, found.describe()
    document: dict[str, Any] = json.loads(found.stdout)
    return document


def _files(tmp_path: Path, dsn: str) -> tuple[Path, list[dict[str, Any]]]:
    """Init, the setup applied and completed, and the change's file and planned start steps."""
    for args in (["init"], ["start", str(fm.write_file(tmp_path, "01_setup", SETUP)),
                            "--complete"]):
        done = fm.cli(args, dsn)
        assert done.returncode == 0, done.describe()
    change = fm.write_file(tmp_path, NAME, CHANGE)
    planned = fm.cli(["plan", str(change), "--postgres-url", dsn, "--format", "json"], dsn)
    assert planned.returncode == 0, planned.describe()
    return change, json.loads(planned.stdout)["start"]


def test_no_migration_active(pg_conn: Connection, pg_dsn: str, tmp_path: Path) -> None:
    dsn = dsn_of(pg_dsn, pg_conn)
    _files(tmp_path, dsn)
    document = _detail(dsn)
    assert document == {"schema": "public", "version": "01_setup", "status": "Complete",
                        "progress": None}
    plain = fm.cli(["status"], dsn)
    assert json.loads(plain.stdout) == {"schema": "public", "version": "01_setup",
                                        "status": "Complete"}


@pytest.mark.parametrize("at", [1, 2, "middle", "last"])
def test_a_killed_start_says_where_it_stopped(pg_conn: Connection, pg_dsn: str,
                                              tmp_path: Path, at: int | str) -> None:
    """Killed before step ``at``: "start interrupted" at the first step not recorded done,
    nothing running, "start again"; resumed, it is "started" and waits for complete."""
    dsn = dsn_of(pg_dsn, pg_conn)
    change, steps = _files(tmp_path, dsn)
    kill = {"middle": len(steps) // 2, "last": len(steps)}.get(str(at), at)
    killed = fm.cli(["start", str(change)], dsn, env={"PGROLL_DSL_KILL_AT": f"start:{kill}"})
    assert killed.killed, killed.describe()
    document = _detail(dsn)
    assert document["status"] == "In progress"
    progress = document["progress"]
    done, total = progress["steps"]["start"]
    assert total == len(steps) and done < kill <= total
    assert progress["migration"] == NAME
    assert progress["state"] == "start interrupted", progress
    assert progress["running"] is None
    assert progress["step"] == {"phase": "start", "number": done + 1, "of": total,
                                "summary": steps[done]["summary"]}
    assert progress["next"] == "run start again to resume it, or rollback"

    resumed = fm.cli(["start", str(change)], dsn)
    assert resumed.returncode == 0, resumed.describe()
    progress = _detail(dsn)["progress"]
    assert progress["state"] == "started" and progress["running"] is None
    assert progress["steps"]["start"] == [total, total] and progress["step"] is None
    assert "complete" in progress["next"] and "rollback" in progress["next"]


def _held_until_seen(dsn: str, statement: str, phase: str,
                     command: list[str]) -> tuple[dict[str, Any], list[str], fm.CliResult]:
    """Run ``command`` while a client transaction holds ``statement``'s lock on ``t``; read
    ``status --detail`` until it shows a process running a step of ``phase`` (before its
    first step, while it plans, the session has no step in its name), then let the client go.

    Returns that detail, the session names ``pg_stat_activity`` showed for the holder
    meanwhile, and the command's result.
    """
    with psycopg.connect(dsn, autocommit=True) as holder, \
            psycopg.connect(dsn, autocommit=True) as observer:
        holder.execute("BEGIN")
        holder.execute(statement)
        process = fm.cli_popen([*command, "--lock-timeout", "100", "--lock-wait", "30"], dsn)
        seen: dict[str, Any] = {}
        names: list[str] = []
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and process.poll() is None:
            progress = _detail(dsn)["progress"]
            running = progress and progress["running"]
            if running:
                names += [r[0] for r in observer.execute(
                    "SELECT application_name FROM pg_stat_activity WHERE pid = %s",
                    (running["pid"],))]
                if running["session"].startswith(f"pgroll-dsl {phase} "):  # in the phase
                    seen = progress
                    break
            time.sleep(0.05)
        holder.execute("ROLLBACK")
        stdout, stderr = process.communicate(timeout=60)
    result = fm.CliResult(command, process.returncode, stdout, stderr, 0.0)
    return seen, names, result


def test_a_running_start_names_its_step(pg_conn: Connection, pg_dsn: str,
                                        tmp_path: Path) -> None:
    """A start that waits for a client's lock: "starting", its pid, its session named after
    the step it waits to run, the step's summary, and "wait for it"."""
    dsn = dsn_of(pg_dsn, pg_conn)
    change, steps = _files(tmp_path, dsn)
    seen, names, result = _held_until_seen(dsn, "SELECT * FROM t", "start",
                                           ["start", str(change)])
    assert result.returncode == 0, result.describe()
    assert seen, f"status --detail never showed the start running: {names}"
    assert seen["state"] == "starting"
    step = seen["step"]
    assert step["phase"] == "start" and step["summary"] == steps[step["number"] - 1]["summary"]
    assert steps[step["number"] - 1]["lock"] == "ACCESS EXCLUSIVE"  # what it waits to take
    session = seen["running"]["session"]
    assert re.fullmatch(rf"pgroll-dsl start {step['number']}/{len(steps)} 02_change\S*",
                        session), session
    assert len(session.encode()) <= 63 and NAME.startswith(session.split(" ", 3)[3])
    assert session in names
    assert seen["next"].startswith("wait for it to finish")
    after = _detail(dsn)["progress"]
    assert after["state"] == "started" and after["running"] is None


def test_a_running_rollback_is_rolling_back(pg_conn: Connection, pg_dsn: str,
                                            tmp_path: Path) -> None:
    dsn = dsn_of(pg_dsn, pg_conn)
    change, _ = _files(tmp_path, dsn)
    started = fm.cli(["start", str(change)], dsn)
    assert started.returncode == 0, started.describe()
    seen, names, result = _held_until_seen(dsn, "SELECT * FROM t", "rollback", ["rollback"])
    assert result.returncode == 0, result.describe()
    assert seen["state"] == "rolling back", seen
    assert seen["step"]["phase"] == "rollback"
    assert seen["running"]["session"].startswith("pgroll-dsl rollback ")
    assert _detail(dsn)["progress"] is None


def test_the_api_reads_the_same(pg_conn: Connection, pg_dsn: str, tmp_path: Path) -> None:
    """``Migrator.progress``: the same object as ``status --detail``; and while another
    session holds the run lock, a reader gets its answer (it does not wait for the lock),
    which names that session as running."""
    dsn = dsn_of(pg_dsn, pg_conn)
    change, steps = _files(tmp_path, dsn)
    killed = fm.cli(["start", str(change)], dsn, env={"PGROLL_DSL_KILL_AT": "start:3"})
    assert killed.killed, killed.describe()
    with api.connect(dsn) as migrator:
        found = migrator.progress()
        assert found is not None
        assert found.detail == _detail(dsn)["progress"]
        assert (found.migration, found.state, found.pid) == (NAME, "start interrupted", None)
        done = found.detail["steps"]["start"][0]
        assert found.step == f"start {done + 1}/{len(steps)}: {steps[done]['summary']}"
        errors: list[BaseException] = []

        def read_while_held() -> None:
            try:
                with api.connect(dsn) as other:
                    assert other.progress() is not None
            except BaseException as err:  # noqa: BLE001 - reported by the assertion below
                errors.append(err)

        with psycopg.connect(dsn, autocommit=True) as run:
            run.execute("SELECT pg_advisory_lock(%s)", (_run_lock(migrator),))
            reader = threading.Thread(target=read_while_held)
            reader.start()
            reader.join(timeout=30)
            held = migrator.progress()
        assert not errors and not reader.is_alive()
        assert held is not None and held.pid is not None and held.state == "starting"


def _run_lock(migrator: api.Migrator) -> int:
    return migrator._runner.state._lock_key()
