"""The reproductions of the executor-safety issue, one test each, on a real PostgreSQL.

Each test drives the executor through the moment that used to lose a write or leave a half
state: a client write between two triggers, a complete interrupted inside its transaction, two
runs at once, damage by hand, two operations on one column or one table, a start that gives
up on its first lock, missing rights and a lost connection.
"""

from __future__ import annotations

import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

import psycopg
import pytest
from psycopg import sql
from psycopg.conninfo import make_conninfo

from pgroll_dsl.backends.live import Session
from pgroll_dsl.backends.runner import (
    CommandError,
    Runner,
    RunOptions,
    StepEvent,
    Unreachable,
)
from pgroll_dsl.plan.document import plan_from_document
from pgroll_dsl.plan.model import Phase
from tests.live_helpers import (
    SCHEMA,
    Connection,
    apply,
    client,
    columns,
    dsn_of,
    make_runner,
    migration,
    one,
    query,
    triggers_and_functions,
    version_schema,
)

SETUP = """
create table refs (id int primary key);
create table items (id int primary key, qty int, val int, title varchar(50),
  ref_id int constraint items_ref_fk references refs (id), name text);
"""
MULTI = """
alter table items alter qty type bigint up `qty::bigint` down `qty::int`;
alter table items add score int not null up `coalesce(val, 0)`;
create index items_val on items (val);
alter table items alter ref_id type bigint up `ref_id` down `ref_id::int`;
"""
ROWS = 20


def _seed(conn: Connection) -> None:
    conn.execute("insert into refs select g from generate_series(1, 5) g")
    conn.execute(f"insert into items select g, g, g * 10, 't' || g, 1 + g % 5, 'n' || g "
                 f"from generate_series(1, {ROWS}) g")


def _setup(pg_conn: Connection, pg_dsn: str, **options: Any) -> tuple[str, Runner]:
    dsn = dsn_of(pg_dsn, pg_conn)
    runner = make_runner(dsn, **options)
    apply(runner, SETUP)
    _seed(pg_conn)
    return dsn, runner


def _runner_with(dsn: str, on_step: Any, **session: Any) -> Runner:
    return Runner(RunOptions(session=Session(url=dsn, schema=SCHEMA, **session), batch_size=3,
                             on_step=on_step))


def _multi_is_right(conn: Connection) -> None:
    """After complete of MULTI: every row has every new column filled from its old value."""
    rows = query(conn, "select id, qty, val, ref_id, score from items order by id")
    assert len(rows) == ROWS
    for id_, qty, val, ref_id, score in rows:
        assert (qty, ref_id, score) == (id_, 1 + id_ % 5, val), rows


def test_a_write_between_two_triggers_reaches_every_copy(pg_conn: Connection,
                                                         pg_dsn: str) -> None:
    """Item 1: a base-table update at every start boundary; no copy is left unfilled.

    Not inside a transaction of several steps (a trigger and the step that enables it
    ALWAYS): the write would wait for the executor, which waits for it. The fault harness
    meets those boundaries with writes in flight (tests/test_fault_harness.py)."""
    dsn, runner = _setup(pg_conn, pg_dsn)
    base = client(dsn, SCHEMA)
    old = client(dsn, version_schema("01_setup"))
    written: list[int] = []
    inside: list[int] = []

    def write(event: StepEvent) -> None:
        if event.phase is Phase.START and event.in_transaction:
            inside.append(event.index)
        elif event.phase is Phase.START:
            row = 1 + event.index % ROWS
            base.execute("update items set val = val where id = %s", (row,))
            old.execute("update items set title = title where id = %s", (row,))
            written.append(row)

    runner.close()
    runner = _runner_with(dsn, write)
    plan = runner.start(migration(MULTI, "02_multi"))
    runner.complete()
    # every boundary of start, the end included
    assert len(written) + len(inside) == len(plan.start) + 1 and len(written) > len(inside)
    _multi_is_right(pg_conn)
    runner.close()
    base.close()
    old.close()


def test_a_write_while_a_later_step_waits_for_its_lock(pg_conn: Connection,
                                                       pg_dsn: str) -> None:
    """Item 1, as reported: a reader holds the table while a later step retries."""
    dsn, runner = _setup(pg_conn, pg_dsn)
    runner.close()
    reader = psycopg.connect(dsn)
    base = client(dsn, SCHEMA)
    released = threading.Event()

    def hold(event: StepEvent) -> None:
        step = event.step
        if event.phase is Phase.START and step is not None and "_pgroll_new_score" in step.sql \
                and not released.is_set() and reader.info.transaction_status == 0:
            reader.execute("select 1 from items limit 1")  # an ordinary reader, left open

            def release() -> None:
                base.execute("update items set val = val where id = 5")
                reader.rollback()
                released.set()

            threading.Timer(0.3, release).start()

    runner = _runner_with(dsn, hold, lock_timeout_ms=100)
    runner.start(migration(MULTI, "02_multi"))
    assert released.is_set()
    runner.complete()
    _multi_is_right(pg_conn)
    runner.close()
    reader.close()
    base.close()


class _Crash(Exception):
    """Stands for the process dying at a step boundary."""


@pytest.mark.parametrize("phase", [Phase.COMPLETE, Phase.ROLLBACK])
def test_an_interrupted_contract_changes_nothing_and_runs_again(
        pg_conn: Connection, pg_dsn: str, phase: Phase) -> None:
    """Item 3: stopped anywhere inside complete (or rollback), nothing is half done."""
    dsn, runner = _setup(pg_conn, pg_dsn)
    runner.start(migration(MULTI, "02_multi"))
    active = runner.state.active()
    assert active is not None and active.plan is not None
    total = len(plan_from_document(active.plan).phase(phase))
    runner.close()
    before = columns(pg_conn, "items")
    for boundary in range(total + 1):
        def crash(event: StepEvent, boundary: int = boundary) -> None:
            if event.phase is phase and event.index == boundary:
                raise _Crash
        crashing = _runner_with(dsn, crash)
        with pytest.raises(_Crash):
            getattr(crashing, phase.value)()
        crashing.close()
        assert columns(pg_conn, "items") == before, boundary
        assert make_runner(dsn, init=False).status()["status"] == "In progress"
    finisher = make_runner(dsn, init=False)
    getattr(finisher, phase.value)()
    if phase is Phase.COMPLETE:
        _multi_is_right(pg_conn)
    else:
        assert columns(pg_conn, "items") == [
            ("id", "integer", True), ("qty", "integer", False), ("val", "integer", False),
            ("title", "character varying(50)", False), ("ref_id", "integer", False),
            ("name", "text", False)]
        assert one(pg_conn, "select count(*), sum(qty) from items") == (ROWS, ROWS * 21 // 2)
    assert triggers_and_functions(pg_conn) == []
    finisher.close()


def test_a_second_run_is_refused_with_the_holders_pid(pg_conn: Connection,
                                                      pg_dsn: str) -> None:
    """Item 4: one run at a time per schema; the other fails at once, naming the pid."""
    dsn, runner = _setup(pg_conn, pg_dsn)
    other = make_runner(dsn, init=False)
    with runner.exclusive():
        pid = runner.conn.info.backend_pid
        for action in (lambda: other.start(migration(MULTI, "02_multi")), other.complete,
                       other.rollback):
            with pytest.raises(CommandError, match=f"backend pid {pid}"):
                action()
    other.start(migration(MULTI, "02_multi"))  # released: the next run goes ahead
    other.complete()
    _multi_is_right(pg_conn)
    runner.close()
    other.close()


@pytest.mark.parametrize("damage", [
    "alter table items drop column _pgroll_new_qty cascade",
    "drop trigger _pgroll_trigger_000_items_qty on items",
    'drop trigger "~pgroll_trigger_000_items_qty" on items',
    "drop schema public_02_multi cascade",
])
def test_complete_refuses_when_start_was_damaged(pg_conn: Connection, pg_dsn: str,
                                                 damage: str) -> None:
    """Item 6: complete checks what it keeps before it drops anything."""
    dsn, runner = _setup(pg_conn, pg_dsn)
    runner.start(migration(MULTI, "02_multi"))
    pg_conn.execute(damage)
    before = columns(pg_conn, "items")
    with pytest.raises(CommandError, match="complete refused, nothing was changed: .*missing"):
        runner.complete()
    assert columns(pg_conn, "items") == before
    assert one(pg_conn, "select count(qty) from items") == (ROWS,)
    runner.rollback()  # the way out the message names
    runner.close()


def test_rename_then_drop_of_one_column(pg_conn: Connection, pg_dsn: str) -> None:
    """Item 7: rename name -> item_name, then drop item_name, in one migration."""
    dsn, runner = _setup(pg_conn, pg_dsn)
    change = migration("alter table items rename name to item_name;\n"
                       "alter table items drop item_name;", "02_x")
    runner.start(change)
    runner.rollback()
    assert one(pg_conn, "select count(name) from items") == (ROWS,)
    runner.start(change)
    runner.complete()
    assert "name" not in [c for c, _, _ in columns(pg_conn, "items")]
    assert "item_name" not in [c for c, _, _ in columns(pg_conn, "items")]
    runner.close()


def test_add_column_then_a_type_change_without_rewrite(pg_conn: Connection,
                                                       pg_dsn: str) -> None:
    """Item 8: Alembic's order, add a column then change another column's type in place."""
    dsn, runner = _setup(pg_conn, pg_dsn)
    runner.start(migration("alter table items add pages int;\n"
                           "alter table items alter title type text;", "02_x"))
    new = client(dsn, version_schema("02_x"))
    new.execute("insert into items (id, title, pages) values (100, 'x', 7)")
    runner.complete()
    assert one(new, "select title, pages from items where id = 100") == ("x", 7)
    assert ("title", "text", False) in columns(pg_conn, "items")
    runner.close()
    new.close()


def test_a_start_that_cannot_get_its_first_lock_leaves_nothing(pg_conn: Connection,
                                                               pg_dsn: str) -> None:
    """Item 9: nothing ran, so nothing is rolled back and the status is unchanged."""
    dsn, runner = _setup(pg_conn, pg_dsn)
    runner.close()
    reader = psycopg.connect(dsn)
    reader.execute("select 1 from items limit 1")
    impatient = Runner(RunOptions(session=Session(url=dsn, schema=SCHEMA, lock_timeout_ms=50,
                                                  retries=1, holder_wait_s=0.2)))
    with pytest.raises(CommandError, match="start failed, changes rolled back"):
        impatient.start(migration(MULTI, "02_multi"))
    assert impatient.status() == {"schema": "public", "version": "01_setup",
                                  "status": "Complete"}
    reader.rollback()
    reader.close()
    impatient.start(migration(MULTI, "02_multi"))
    impatient.complete()
    _multi_is_right(pg_conn)
    impatient.close()


def test_a_role_without_rights_on_the_state_gets_the_grant(pg_conn: Connection,
                                                           pg_dsn: str) -> None:
    """Item 10: one line naming the grant that is missing, exit 2, no traceback."""
    dsn, runner = _setup(pg_conn, pg_dsn)
    runner.close()
    role = f"norights_{pg_conn.info.backend_pid}"
    pg_conn.execute(sql.SQL("create role {} login").format(sql.Identifier(role)))
    as_role = make_conninfo(dsn, user=role)
    try:
        limited = make_runner(as_role, init=False)
        with pytest.raises(Unreachable, match="GRANT USAGE ON SCHEMA"):
            limited.status()
        limited.close()
        for verb in ("status", "latest", "complete", "rollback"):
            done = subprocess.run(
                [sys.executable, "-m", "pgroll_dsl", verb, "--postgres-url", as_role],
                capture_output=True, text=True, timeout=60)
            assert "Traceback" not in done.stderr, done.stderr
            assert done.returncode == 2, (verb, done.stderr)
            assert "GRANT USAGE ON SCHEMA" in done.stderr, done.stderr
            assert len(done.stderr.strip().splitlines()) == 1, done.stderr
    finally:
        pg_conn.execute(sql.SQL("drop owned by {}").format(sql.Identifier(role)))
        pg_conn.execute(sql.SQL("drop role {}").format(sql.Identifier(role)))


def test_a_lost_connection_says_how_to_recover(pg_conn: Connection, pg_dsn: str,
                                               tmp_path: Path) -> None:
    """Item 10: the connection dies in the backfill; exit 3 with the command that resumes."""
    dsn, runner = _setup(pg_conn, pg_dsn)
    runner.close()
    pg_conn.execute("insert into items select g, g, g * 10, 't', 1, 'n' "
                    "from generate_series(1000, 3000) g")
    path = tmp_path / "02_multi.pgroll"
    path.write_text(MULTI)
    process = subprocess.Popen(
        [sys.executable, "-m", "pgroll_dsl", "start", str(path), "--postgres-url", dsn,
         "--backfill-batch-size", "10", "--backfill-batch-delay", "0.05"],
        stderr=subprocess.PIPE, text=True)

    def kill_when_backfilling() -> None:
        for _ in range(400):
            if query(pg_conn, "select pg_terminate_backend(pid) from pg_stat_activity "
                     "where starts_with(application_name, 'pgroll-dsl') "
                     "and pid <> pg_backend_pid() "
                     "and starts_with(query, 'DO $pgroll_backfill$')"):
                return
            threading.Event().wait(0.05)

    killer = threading.Thread(target=kill_when_backfilling)
    killer.start()
    _, stderr = process.communicate(timeout=120)
    killer.join()
    assert process.returncode == 3, stderr
    assert "Traceback" not in stderr
    assert f"pgroll-dsl start {path}` again to resume" in stderr
    resumed = make_runner(dsn, init=False)
    resumed.start(migration(MULTI, "02_multi"))
    resumed.complete()
    assert one(pg_conn, "select count(*), count(score), bool_and(score = val) from items") == (
        ROWS + 2001, ROWS + 2001, True)
    resumed.close()
