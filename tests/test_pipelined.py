"""Complete's steps after its first go to the server together (``backends/pipelined.py``).

How that could break, each tried on a real server with clients writing through the old
version, the new version and the table meanwhile: the connection ended by the server while
the batch is on the server (waiting in its lock step for a client's lock), the process
killed at that moment, a step in the middle of the batch failing, and ``--verbose`` /
``on_statement``, which must still report each statement with its own time. No ``on_step``
hook anywhere here: with one, each step goes on its own (the fault harnesses' schedules).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest

from pgroll_dsl import api
from pgroll_dsl.backends.live import in_authors_terms
from pgroll_dsl.backends.pipelined import send_together
from pgroll_dsl.plan.model import Lock, Phase, Plan, Step
from tests import fault_model as fm
from tests.live_helpers import dsn_of, make_runner, schemas

pytestmark = pytest.mark.postgres

Connection = psycopg.Connection[tuple[Any, ...]]
SETUP = ("create table t (id bigint primary key, v int);\n"
         "create table u (id bigint primary key, v int);\n")
CHANGE = ("alter table t add w int not null up `v * 2`;\n"
          "alter table u alter v type bigint up v down v;\n")
OLD, NEW = "public_01_setup", "public_02_change"
ROWS = 40


def _started(dsn: str, admin: Connection, directory: Path) -> Plan:
    """01_setup applied and ROWS rows in each table; 02_change started. Its plan."""
    assert fm.cli(["init"], dsn).returncode == 0
    first = fm.write_file(directory, "01_setup", SETUP)
    done = fm.cli(["start", str(first), "--complete"], dsn)
    assert done.returncode == 0, done.describe()
    for table in ("t", "u"):
        admin.execute(f"INSERT INTO {table} SELECT g, g FROM generate_series(1, {ROWS}) g")
    second = fm.write_file(directory, "02_change", CHANGE)
    started = fm.cli(["start", str(second)], dsn)
    assert started.returncode == 0, started.describe()
    runner = make_runner(dsn, init=False)
    try:
        plan = runner._active()[1]
    finally:
        runner.close()
    steps = plan.phase(Phase.COMPLETE)
    # The lock step is the second: it goes to the server with the steps after it.
    assert steps[0].summary.startswith("drop the previous version schema"), steps[0].summary
    assert steps[1].summary.startswith("lock "), steps[1].summary
    return plan


class Writers:
    """Clients of the old version, the new version and the table, inserting until stopped.

    Each keeps the ids whose insert committed; a write refused because its version is gone
    (the old one, once complete drops it) or waiting too long is not kept, and not lost.
    """

    def __init__(self, dsn: str) -> None:
        self.dsn = dsn
        self.stop = threading.Event()
        self.committed: dict[str, list[int]] = {"old": [], "new": [], "base": []}
        self.threads = [threading.Thread(target=self._run, args=(who, base), daemon=True)
                        for base, who in enumerate(self.committed)]
        for thread in self.threads:
            thread.start()

    def _run(self, who: str, base: int) -> None:
        schema = {"old": OLD, "new": NEW, "base": "public"}[who]
        conn = psycopg.connect(self.dsn, autocommit=True,
                               options=f"-c search_path={schema} -c statement_timeout=20s")
        key = 1000 * (base + 1)
        with conn:
            while not self.stop.is_set():
                key += 1
                try:
                    if who == "new":
                        conn.execute("INSERT INTO t (id, v, w) VALUES (%s, %s, %s)",
                                     (key, key, 2 * key))
                    elif who == "base" and _has_w(conn):
                        conn.execute("INSERT INTO t (id, v, w) VALUES (%s, %s, %s)",
                                     (key, key, 2 * key))
                    else:
                        conn.execute("INSERT INTO t (id, v) VALUES (%s, %s)", (key, key))
                    conn.execute("INSERT INTO u (id, v) VALUES (%s, %s)", (key, key))
                except psycopg.Error:
                    time.sleep(0.01)
                    continue
                self.committed[who].append(key)
                time.sleep(0.002)

    def finish(self, admin: Connection) -> list[str]:
        """Stop; every committed write is in both tables, as written (``w`` as ``up``)."""
        self.stop.set()
        for thread in self.threads:
            thread.join(30)
        problems = []
        t = dict(admin.execute("SELECT id, w FROM t").fetchall())
        u = dict(admin.execute("SELECT id, v FROM u").fetchall())
        for who, keys in self.committed.items():
            if not keys:
                problems.append(f"the {who} client committed nothing")
            problems += [f"{who} write {k} lost or wrong: t.w={t.get(k)} u.v={u.get(k)}"
                         for k in keys if t.get(k) != 2 * k or u.get(k) != k]
        problems += [f"row {k} of t: w = {t.get(k)}" for k in range(1, ROWS + 1)
                     if t.get(k) != 2 * k]
        return problems


def _has_w(conn: Connection) -> bool:
    """Whether the table is in its new shape yet (complete renamed the new column to w)."""
    row = conn.execute("SELECT count(*) FROM pg_attribute WHERE attrelid = 'public.t'::regclass"
                       " AND attname = 'w' AND NOT attisdropped").fetchone()
    return bool(row and row[0])


@pytest.fixture
def started(pg_dsn: str, pg_conn: Connection, tmp_path: Path) -> Iterator[tuple[str, Plan]]:
    dsn = dsn_of(pg_dsn, pg_conn)
    yield dsn, _started(dsn, pg_conn, tmp_path)


def _waiting_in_the_lock_step(admin: Connection, timeout: float = 30.0) -> int:
    """The executor's backend once it waits for a lock in complete's lock step."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        row = admin.execute(
            "SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND "
            "starts_with(application_name, 'pgroll-dsl complete') AND wait_event_type = 'Lock' "
            "AND starts_with(query, 'DO $pgroll_lock$')").fetchone()
        if row is not None:
            return int(row[0])
        time.sleep(0.005)
    raise AssertionError("complete never waited in its lock step")


@pytest.mark.parametrize("ending", ["terminated", "killed"])
def test_complete_ended_while_its_steps_are_on_the_server(
        started: tuple[str, Plan], pg_conn: Connection, ending: str) -> None:
    """A client holds the table; complete (``--lock-wait 0``: no wait before asking) sends
    its steps and waits in the lock step, the steps after it queued behind. The server ends
    its connection (a DBA), or the process is killed: one ``error:`` line naming the lock
    step and no traceback (terminated: exit 3), nothing of the transaction left, and once
    the client lets go, complete again finishes with every row."""
    dsn, plan = started
    writers = Writers(dsn)
    holder = psycopg.connect(dsn, autocommit=True)
    try:
        time.sleep(0.2)
        holder.execute("BEGIN")
        holder.execute("SELECT count(*) FROM public.t")
        running = fm.cli_popen(["complete", "--lock-wait", "0", "--lock-timeout", "3000"], dsn)
        try:
            pid = _waiting_in_the_lock_step(pg_conn)
            if ending == "terminated":
                pg_conn.execute("SELECT pg_terminate_backend(%s, 10000)", (pid,))
            else:
                running.kill()
            _, stderr = running.communicate(timeout=60)
        finally:
            if running.poll() is None:
                running.kill()
        assert "Traceback" not in stderr and "error ignored" not in stderr, stderr
        if ending == "terminated":
            assert running.returncode == 3, stderr
            errors = [line for line in stderr.splitlines() if line.startswith("error: ")]
            assert len(errors) == 1 and in_authors_terms(plan.complete[1].summary) in errors[0], \
                stderr
            assert "hint: " in stderr and "pgroll-dsl complete" in stderr, stderr
        else:
            assert running.returncode == -9
            # The server ends the killed run's transaction once its lock wait gives up.
            deadline = time.monotonic() + 30
            while time.monotonic() < deadline and pg_conn.execute(
                    "SELECT count(*) FROM pg_stat_activity WHERE "
                    "starts_with(application_name, 'pgroll-dsl')").fetchone() != (0,):
                time.sleep(0.02)
        assert OLD in schemas(pg_conn), "the first step of the transaction stayed done"
        assert fm.status_of(dsn).get("status") == "In progress"
        holder.execute("COMMIT")
        again = fm.cli(["complete"], dsn)
        assert again.returncode == 0, again.describe()
        time.sleep(0.2)
    finally:
        holder.close()
        problems = writers.finish(pg_conn)
    assert not problems, "\n".join(problems)
    assert OLD not in schemas(pg_conn) and fm.status_of(dsn).get("status") == "Complete"


def test_a_step_in_the_middle_of_the_batch_fails(started: tuple[str, Plan],
                                                 pg_conn: Connection) -> None:
    """A materialized view computed from u.v: complete cannot carry it over to the new
    column, and says so in the step that finds it, in the middle of the steps sent
    together. The error names that step; nothing of the transaction is left (the previous
    version schema, dropped by the step before the batch, is still there); with the view
    dropped, complete finishes, clients writing all along."""
    dsn, plan = started
    pg_conn.execute("CREATE MATERIALIZED VIEW sums AS SELECT sum(v) AS s FROM public.u")
    carry = next(i for i, s in enumerate(plan.complete) if s.summary.startswith("carry ")
                 and s.relation == "u")
    assert carry > 2
    writers = Writers(dsn)
    try:
        time.sleep(0.2)
        runner = make_runner(dsn, init=False)
        try:
            with pytest.raises(Exception) as refused:
                runner.complete()
        finally:
            runner.close()
        message = str(refused.value)
        assert in_authors_terms(plan.complete[carry].summary) in message, message
        assert "sums" in message and "computed from the old one" in message, message
        assert OLD in schemas(pg_conn)
        assert fm.status_of(dsn).get("status") == "In progress"
        pg_conn.execute("DROP MATERIALIZED VIEW sums")
        runner = make_runner(dsn, init=False)
        try:
            runner.complete()
        finally:
            runner.close()
        time.sleep(0.2)
    finally:
        problems = writers.finish(pg_conn)
    assert not problems, "\n".join(problems)
    assert pg_conn.execute("SELECT format_type(atttypid, atttypmod) FROM pg_attribute WHERE "
                           "attrelid = 'u'::regclass AND attname = 'v'").fetchone() == ("bigint",)


def test_each_statement_sent_together_is_reported_with_its_own_time(
        started: tuple[str, Plan]) -> None:
    """``on_statement`` (``--verbose``): every step of complete, in order, before (``None``)
    and after with its time; the times of the steps sent together are the server's own,
    each a part of the whole complete's time."""
    dsn, plan = started
    ran: list[tuple[str, float | None]] = []
    with api.connect(dsn, on_statement=lambda sql, seconds: ran.append((sql, seconds))) as db:
        began = time.monotonic()
        db.complete()
        took = time.monotonic() - began
    before, after = ran[0::2], ran[1::2]
    assert [sql for sql, _ in before] == [sql for sql, _ in after]
    assert all(s is None for _, s in before)
    times = [s for _, s in after]
    assert all(s is not None and s >= 0 for s in times), times
    steps = [s.sql for s in plan.complete]
    reported = [sql for sql, _ in before]
    assert [sql for sql in reported if sql in steps] == steps, "each step once, in order"
    assert sum(s for s in times if s is not None) <= took


def test_a_connection_already_gone_fails_the_first_step_quietly(
        pg_dsn: str, pg_conn: Connection, caplog: pytest.LogCaptureFixture) -> None:
    """The server ended the connection before the steps were sent (a DBA, between two
    boundaries): the error is the connection's, the first step is the one named, and the
    end of the pipeline logs nothing (psycopg would log the loss as an ignored error)."""
    conn = psycopg.connect(pg_dsn, autocommit=True, prepare_threshold=None)
    pg_conn.execute("SELECT pg_terminate_backend(%s, 10000)", (conn.info.backend_pid,))
    steps = [Step(sql="SELECT 1", summary="one", lock=Lock.NONE),
             Step(sql="SELECT 2", summary="two", lock=Lock.NONE)]
    named: list[Step] = []
    with caplog.at_level(logging.DEBUG, logger="psycopg"), \
            pytest.raises(psycopg.OperationalError):
        send_together(conn, steps, [None, None], named.append)
    assert named == steps[:1]
    assert not caplog.records, [r.getMessage() for r in caplog.records]
    assert conn.broken
