"""Review of the steps sent together (backends/pipelined.py): what the pipeline could break.

No ``on_step`` hook: with one, each step goes alone and the pipeline is never used (the
other tests of a hostile migration name, of a signal during complete and of lock retries
either have one or wait before the transaction, so they never reach the pipeline). Found:
an interrupt while a large batch is still being sent made psycopg log "error ignored
terminating Pipeline" (``test_an_interrupt_while_the_batch_is_still_being_sent_logs_nothing``).
"""

from __future__ import annotations

import logging
import os
import signal
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest

from pgroll_dsl.backends.pipelined import send_together
from pgroll_dsl.plan.model import Lock, Plan, Step
from tests import fault_model as fm
from tests.live_helpers import dsn_of, make_runner, schemas
from tests.test_pipelined import NEW, OLD, _started, _waiting_in_the_lock_step

pytestmark = pytest.mark.postgres

Connection = psycopg.Connection[tuple[Any, ...]]


@pytest.fixture
def started(pg_dsn: str, pg_conn: Connection, tmp_path: Path) -> Iterator[tuple[str, Plan]]:
    dsn = dsn_of(pg_dsn, pg_conn)
    yield dsn, _started(dsn, pg_conn, tmp_path)


@pytest.mark.parametrize("how", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_a_signal_while_the_batch_waits_in_its_lock_step_is_an_interrupt(
        started: tuple[str, Plan], pg_conn: Connection, how: signal.Signals) -> None:
    """Ctrl-C (or SIGTERM) while complete's batch waits in its lock step on the server
    (``--lock-wait 0``): the statement is cancelled, the transaction rolled back, and the
    run says it was interrupted (exit 130), as when the steps went one by one; complete
    then runs again."""
    dsn, _ = started
    holder = psycopg.connect(dsn, autocommit=True)
    try:
        holder.execute("BEGIN")
        holder.execute("SELECT count(*) FROM public.t")
        running = fm.cli_popen(["complete", "--lock-wait", "0", "--lock-timeout", "20000"],
                               dsn, ctrl_c=True)
        try:
            _waiting_in_the_lock_step(pg_conn)
            time.sleep(0.2)
            running.send_signal(how)
            out, err = running.communicate(timeout=60)
        finally:
            if running.poll() is None:
                running.kill()
        stderr = out + err
        assert "Traceback" not in stderr and "error ignored" not in stderr, stderr
        assert running.returncode == 130, stderr
        assert "interrupted: run `pgroll-dsl complete` again to finish it" in stderr, stderr
        assert OLD in schemas(pg_conn)
        holder.execute("COMMIT")
    finally:
        holder.close()
    again = fm.cli(["complete"], dsn)
    assert again.returncode == 0, again.describe()
    assert OLD not in schemas(pg_conn) and NEW in schemas(pg_conn)


def test_a_lock_timeout_inside_the_batch_retries_the_whole_transaction(
        started: tuple[str, Plan], pg_conn: Connection) -> None:
    """A client holds t past two lock timeouts of the lock step (which is in the batch):
    the transaction is rolled back and retried, the retry names the lock step, and once the
    client lets go complete finishes; the queue setting of the last tries applies too."""
    dsn, plan = started
    holder = psycopg.connect(dsn, autocommit=True)
    holder.execute("BEGIN")
    holder.execute("SELECT count(*) FROM public.t")
    retried: list[tuple[str, int]] = []
    runner = make_runner(dsn, init=False, holder_wait_s=0.0, lock_timeout_ms=100,
                         on_retry=lambda s, n, _d: retried.append((s.summary, n)))
    timer = threading.Timer(1.5, lambda: holder.execute("COMMIT"))
    timer.start()
    try:
        runner.complete()
    finally:
        runner.close()
        timer.join()
        holder.close()
    assert retried, "no retry"
    assert {s for s, _ in retried} == {plan.complete[1].summary}, retried
    assert OLD not in schemas(pg_conn)
    assert fm.status_of(dsn).get("status") == "Complete"


@pytest.mark.parametrize("name", ["02_o'neil", "02_back\\slash", "02_pct%s%(x)s", "02_ünï€😀"
                                  + "x" * 36])  # (a version schema of 58 bytes, PGD105)
def test_a_hostile_migration_name_in_the_batch(pg_dsn: str, pg_conn: Connection,
                                               tmp_path: Path, name: str) -> None:
    """The session's name is set by a query in the batch, the migration's name quoted in
    it: a quote, a backslash, psycopg's placeholders, non-ASCII cut at 63 bytes."""
    dsn = dsn_of(pg_dsn, pg_conn)
    assert fm.cli(["init"], dsn).returncode == 0
    first = fm.write_file(tmp_path, "01_setup", "create table t (id bigint primary key, v int);\n")
    assert fm.cli(["start", str(first), "--complete"], dsn).returncode == 0
    pg_conn.execute("INSERT INTO t SELECT g, g FROM generate_series(1, 10) g")
    path = tmp_path / f"{name}.pgroll"
    path.write_text("alter table t add w int not null up `v * 2`;\n", encoding="utf-8")
    done = fm.cli(["start", str(path), "--complete"], dsn)
    assert done.returncode == 0, done.describe()
    assert pg_conn.execute("SELECT count(*) FILTER (WHERE w = v * 2) FROM t").fetchone() == (10,)


TABLE = 'we"ird T\'\\ü'
COLUMN = 'c\'o\\l ü"x'


def _q(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def test_requirements_of_hostile_names_are_read_in_one_query(
        pg_dsn: str, pg_conn: Connection, tmp_path: Path) -> None:
    """Quotes, a backslash and a non-ASCII letter in the table's and the column's names:
    the one query of complete's requirements (``Runner._missing``) finds them all, and
    finds the one dropped by hand missing."""
    dsn = dsn_of(pg_dsn, pg_conn)
    pg_conn.execute(f"CREATE TABLE {_q(TABLE)} (id bigint PRIMARY KEY, {_q(COLUMN)} int)")
    pg_conn.execute(f"INSERT INTO {_q(TABLE)} SELECT g, g FROM generate_series(1, 10) g")
    assert fm.cli(["init"], dsn).returncode == 0
    change = fm.write_file(tmp_path, "01_change",
                           f"alter table {_q(TABLE)} add w int not null up `{_q(COLUMN)} * 2`;\n")
    started = fm.cli(["start", str(change)], dsn)
    assert started.returncode == 0, started.describe()
    runner = make_runner(dsn, init=False)
    try:
        plan = runner._active()[1]
        assert runner._missing(()) == []
        assert runner._missing(plan.requires) == []
        triggers = [r for r in plan.requires if r.kind.value == "trigger"]
        assert triggers
        pg_conn.execute(f"DROP TRIGGER {_q(triggers[0].name)} ON {_q(TABLE)}")
        assert runner._missing(plan.requires) == [triggers[0]]
    finally:
        runner.close()


def test_an_interrupt_while_the_batch_is_still_being_sent_logs_nothing(
        pg_dsn: str, caplog: pytest.LogCaptureFixture) -> None:
    """Ctrl-C (SIGTERM is the same handler) while ``send_together`` is still sending: the
    first step waits on the server (here a sleep, in complete a lock), and the batch after
    it (8 MB here; a few MB fill the socket's buffers on this machine) cannot all be sent
    meanwhile, so the interrupt comes inside the pipeline block. psycopg cancels the step;
    the interrupt must come out alone, as an error there does: psycopg otherwise logs
    "error ignored terminating Pipeline ...: pipeline aborted", which the command line
    (no logging configured) prints on stderr. Nothing of the transaction stays."""
    conn = psycopg.connect(pg_dsn, autocommit=True, prepare_threshold=None)
    pad = "x" * 1000
    steps = [Step(sql="SELECT pg_catalog.pg_sleep(20)", lock=Lock.NONE, summary="wait")]
    steps += [Step(sql=f"SELECT '{pad}{i}'", lock=Lock.NONE, summary=f"step {i}")
              for i in range(8000)]
    named: list[str] = []
    timer = threading.Timer(1.0, lambda: os.kill(os.getpid(), signal.SIGINT))
    # Python's own handler: a process started in the background by a non-interactive shell
    # (CI) inherits SIGINT ignored, and Python leaves it so.
    handler = signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        with caplog.at_level(logging.WARNING, logger="psycopg"):
            began = time.monotonic()
            timer.start()
            with pytest.raises(KeyboardInterrupt), conn.transaction():
                conn.execute("CREATE TABLE left_behind ()")
                send_together(conn, steps, [None] * len(steps),
                              lambda s: named.append(s.summary))
            assert time.monotonic() - began < 10, "the waiting step was not cancelled"
        assert not [r for r in caplog.records if "error ignored" in r.getMessage()], \
            [r.getMessage() for r in caplog.records]
        assert named == ["wait"], named
        assert conn.execute("SELECT pg_catalog.to_regclass('left_behind')").fetchone() == (None,)
    finally:
        timer.cancel()
        signal.signal(signal.SIGINT, handler)
        conn.close()
