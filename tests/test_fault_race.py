"""The race harness: two (or five) runs of the real command line on one schema at once.

Only one run may work on a schema at a time. Whoever comes second must fail at once (exit 1,
saying which backend holds the schema), or, if it arrives after the first run finished, be
refused by the state ("already in progress", "already started", "no active migration").
Either way: exactly one run did its work, once; the data and the history say so.

* Five ``start``s of five different migrations at the same moment: one migration is active,
  and nothing of the other four exists.
* The same migration started five times at once, with clients writing all along: it runs
  once, and every row is what the model says after complete.
* ``complete`` racing ``rollback`` (each order, and truly at once), with clients writing:
  one wins cleanly, the other is refused; the schema, the rows and the history agree with
  the winner.

To make sure the runs overlap, the first one is slowed down: a backfill with a delay between
batches, or a client transaction that holds a lock the phase needs for a moment (the phase
retries it, holding the schema, while the second run arrives).
"""

from __future__ import annotations

import subprocess
import threading
import time
from pathlib import Path
from typing import Any

import psycopg
import pytest

from pgroll_dsl.catalog.introspect import introspect
from tests import fault_model as fm
from tests.fault_model import (
    BASE,
    BASE_SCHEMA,
    NEW,
    NEW_VERSION,
    OLD,
    OLD_VERSION,
    REPLICA,
    SCHEMA,
    Client,
    Outcome,
    Spec,
)
from tests.live_helpers import dsn_of

pytestmark = [pytest.mark.postgres, pytest.mark.fault]

Connection = psycopg.Connection[tuple[Any, ...]]
REFUSED = ("backend pid", "already in progress", "already started", "no active migration",
           "already applied")
ROWS = 60
NOTHING_TO_DO = "is already started: every step has run"
PAUSE = 0.01  # between one client's writes: busy, without starving the runs of the CPU
SLOW = ["--backfill-batch-size", "3", "--backfill-batch-delay", "0.05", "--lock-timeout",
        str(fm.LOCK_TIMEOUT_MS)]


@pytest.fixture(autouse=True, scope="module")
def _summary(request: pytest.FixtureRequest) -> None:
    fm.register_summary(request.config)


def run_at_once(commands: list[list[str]], dsn: str, stagger: float = 0.0,
                ) -> list[fm.CliResult]:
    """Launch every command (as real processes) together; wait for all."""
    results: list[fm.CliResult | None] = [None] * len(commands)

    def wait(index: int, args: list[str], process: subprocess.Popen[str], began: float) -> None:
        try:
            stdout, stderr = process.communicate(timeout=120)
        except subprocess.TimeoutExpired:
            process.kill()
            stdout, stderr = process.communicate()
        results[index] = fm.CliResult(args, process.returncode, stdout, stderr,
                                      time.perf_counter() - began)

    waiters = []
    for index, args in enumerate(commands):
        process = fm.cli_popen(args, dsn)
        waiter = threading.Thread(target=wait, args=(index, args, process, time.perf_counter()))
        waiter.start()
        waiters.append(waiter)
        if stagger:
            time.sleep(stagger)
    for waiter in waiters:
        waiter.join()
    fm.count("race runs", len(commands))
    return [r for r in results if r is not None]


def check_one_winner(results: list[fm.CliResult]) -> fm.CliResult:
    """Exactly one run succeeded; each other one exited 1 saying why it was refused."""
    for result in results:
        assert fm.no_traceback(result) is None, result.describe()
    # A start that finds the same migration already started by the winner has nothing to do.
    winners = [r for r in results if r.returncode == 0 and NOTHING_TO_DO not in r.stderr]
    described = "\n".join(r.describe() for r in results)
    assert len(winners) == 1, f"{len(winners)} runs succeeded:\n{described}"
    for loser in results:
        if loser is winners[0]:
            continue
        if loser.returncode == 0:
            assert NOTHING_TO_DO in loser.stderr, loser.describe()
            continue
        assert loser.returncode == 1, f"a refused run must exit 1:\n{loser.describe()}"
        assert any(reason in loser.stderr for reason in REFUSED), \
            f"a refused run must say why:\n{loser.describe()}"
    return winners[0]


class Writers:
    """Free-running clients of old, new (once it exists) and base during a race, and the base
    table written again with ``session_replication_role = replica`` (as a logical replication
    apply worker writes it)."""

    def __init__(self, dsn: str, s: Spec, rows: int) -> None:
        self.stop = threading.Event()
        self.phase = "start"
        self.probe = psycopg.connect(dsn, autocommit=True)
        self.probe_lock = threading.Lock()
        self.clients = {OLD: Client(dsn, OLD, OLD_VERSION, seeded=rows),
                        BASE: Client(dsn, BASE, SCHEMA, seeded=rows),
                        REPLICA: Client(dsn, REPLICA, SCHEMA, seeded=rows),
                        NEW: Client(dsn, NEW, NEW_VERSION, seeded=rows)}
        self.threads = [
            fm.free_writer(self.clients[OLD], BASE_SCHEMA, self.stop, self.current,
                           pause=PAUSE),
            fm.free_writer(self.clients[BASE], BASE_SCHEMA, self.stop, self.current,
                           s.base_columns(), stop_on_expected_gone=False, pause=PAUSE),
            fm.free_writer(self.clients[REPLICA], BASE_SCHEMA, self.stop, self.current,
                           s.base_columns(), stop_on_expected_gone=False, pause=PAUSE),
            fm.free_writer(self.clients[NEW], s.final, self.stop, self.current,
                           wait_for=self.new_exists, pause=PAUSE),
        ]

    def current(self) -> str:
        return self.phase

    def new_exists(self) -> bool:
        with self.probe_lock:
            return fm.relation_exists(self.probe, NEW_VERSION, "items")

    def finish(self, outcome: Outcome) -> None:
        self.stop.set()
        for thread in self.threads:
            thread.join(timeout=60)
            if thread.is_alive():
                outcome.add(f"{thread.name} hung: a client was blocked")
        for client in self.clients.values():
            outcome.writes.extend(client.writes)
            client.close()
        self.probe.close()


def history(conn: Connection) -> list[tuple[str, bool]]:
    return [(r[0], r[1]) for r in conn.execute(
        "SELECT name, done FROM pgroll.migrations WHERE schema = 'public' "
        "ORDER BY created_at, name").fetchall()]


def test_five_different_migrations_started_at_once(pg_conn: Connection, pg_dsn: str,
                                                   tmp_path: Path) -> None:
    dsn = dsn_of(pg_dsn, pg_conn)
    specs = [fm.REPRO_A, fm.spec("val_not_null"), fm.spec("add_pages"),
             fm.spec("rename_name"), fm.spec("score_add", "drop_name")]
    ref = {s.key: fm.reference(pg_conn, dsn, s) for s in specs}
    fm.prepare(pg_conn, dsn, rows=ROWS)
    files = {fm.write_file(tmp_path, f"02_race_{i}", s.text): s for i, s in enumerate(specs)}
    results = run_at_once([["start", str(f), *SLOW] for f in files], dsn)
    winner = check_one_winner(results)
    won = Path(winner.args[1])
    s = files[won]
    name = won.stem
    assert history(pg_conn) == [(fm.SETUP_NAME, True), (name, False)]
    schemas = {r[0] for r in pg_conn.execute(
        "SELECT nspname FROM pg_namespace WHERE nspname LIKE 'public\\_%'").fetchall()}
    assert schemas == {OLD_VERSION, f"{SCHEMA}_{name}"}, "a refused start left something"
    runner = fm.make_runner(dsn)
    try:
        assert runner.status() == {"schema": SCHEMA, "version": name, "status": "In progress"}
        runner.complete()
    finally:
        runner.close()
    # What complete left is exactly what a clean run of the winner leaves.
    catalog = introspect(pg_conn, SCHEMA)
    expected = ref[s.key].catalog
    assert expected is not None, ref[s.key].error
    assert fm.catalog_diff(expected, catalog) == []
    model = fm.RowModel(s)
    fm.seed_model(model, ROWS)
    with fm.connect_client(dsn, f"{SCHEMA}_{name}", "check") as reader:
        assert fm.rows_through(reader, s.final.names()) == {i: model.new(i) for i in model.rows}
    assert fm.internal_leftovers(pg_conn) == []


def test_the_same_migration_started_five_times_at_once(pg_conn: Connection, pg_dsn: str,
                                                       tmp_path: Path) -> None:
    dsn = dsn_of(pg_dsn, pg_conn)
    s = fm.REPRO_A
    ref = fm.reference(pg_conn, dsn, s)
    fm.prepare(pg_conn, dsn, rows=ROWS)
    file = fm.write_file(tmp_path, fm.CHANGE_NAME, s.text)
    outcome = Outcome(s)
    writers = Writers(dsn, s, ROWS)
    try:
        time.sleep(0.2)
        results = run_at_once([["start", str(file), *SLOW]] * 5, dsn)
        writers.phase = "between"
        time.sleep(0.2)
        check_one_winner(results)
        assert history(pg_conn) == [(fm.SETUP_NAME, True), (fm.CHANGE_NAME, False)]
        writers.phase = "complete"
        result = fm.cli(["complete"], dsn)
        assert result.returncode == 0, result.describe()
        writers.phase = "after"
        time.sleep(0.2)
    finally:
        writers.finish(outcome)
    assert history(pg_conn) == [(fm.SETUP_NAME, True), (fm.CHANGE_NAME, True)]
    fm.build_model(outcome, pg_conn, "complete", seeded=ROWS)
    fm.check_completed(outcome, pg_conn, dsn, ref)
    outcome.fail_if_problems("the same migration started five times at once")


def run_in_order(first: list[str], second: list[str], dsn: str, blocker: Connection,
                 ) -> list[fm.CliResult]:
    """``first`` gets the schema and then waits (retrying) for a lock that ``blocker`` holds;
    once it holds the schema, ``second`` is launched, and the blocker is released once
    ``second`` is done: the two runs overlap, whatever the machine's speed."""
    results: dict[str, fm.CliResult] = {}

    def run(args: list[str], key: str, timeout: float = 120) -> None:
        results[key] = fm.cli(args, dsn, timeout=timeout)

    probe = psycopg.connect(dsn, autocommit=True)
    holder = threading.Thread(target=run, args=(first, "first"))
    holder.start()
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and "first" not in results:
            # The first run holds the schema (the run lock, an advisory lock) and cannot
            # finish while the blocker holds its lock on items.
            holding = probe.execute(
                "SELECT count(*) FROM pg_locks l JOIN pg_stat_activity a USING (pid) "
                "WHERE l.locktype = 'advisory' AND l.granted "
                "AND starts_with(a.application_name, 'pgroll-dsl') "
                "AND a.datname = current_database()").fetchone()
            if holding and holding[0]:
                time.sleep(0.3)  # past its checks, into the phase
                break
            time.sleep(0.005)
        else:
            raise AssertionError(f"the first run never held the schema: {results}")
        # Refused at once, not queued behind the first: the first cannot end before the
        # blocker lets go, which happens only after this returns (or times out).
        run(second, "second", timeout=20)
    finally:
        blocker.commit()
        holder.join(timeout=120)
        probe.close()
    fm.count("race runs", 2)
    return [results["first"], results["second"]]


@pytest.mark.parametrize("first", ["complete", "rollback", "at once"])
def test_complete_racing_rollback(pg_conn: Connection, pg_dsn: str, tmp_path: Path,
                                  first: str) -> None:
    """``first`` gets the schema first: a client transaction holds a lock on ``items``, so the
    first run waits (retrying, holding the schema) while the second arrives, and is refused.
    ``at once``: no blocker, both launched together; either may win."""
    dsn = dsn_of(pg_dsn, pg_conn)
    s = fm.REPRO_A
    ref = fm.reference(pg_conn, dsn, s)
    fm.prepare(pg_conn, dsn, rows=fm.SEED_ROWS)
    before, dump = fm.fingerprint(pg_conn), fm.schema_dump(dsn)
    runner = fm.make_runner(dsn)
    try:
        runner.start(fm.compile_spec(s))
    finally:
        runner.close()
    outcome = Outcome(s)
    writers = Writers(dsn, s, fm.SEED_ROWS)
    blocker = psycopg.connect(dsn)
    try:
        time.sleep(0.2)
        if first == "at once":
            writers.phase = "race"
            results = run_at_once([["complete"], ["rollback"]], dsn)
        else:
            second = "rollback" if first == "complete" else "complete"
            blocker.execute("SELECT 1 FROM public.items LIMIT 1")  # ACCESS SHARE, held
            writers.phase = first
            results = run_in_order([first], [second], dsn, blocker)
            assert "backend pid" in results[1].stderr, results[1].describe()
        winner = check_one_winner(results)
        ending = winner.args[0]
        writers.phase = "after"
        time.sleep(0.2)
    finally:
        writers.finish(outcome)
        blocker.close()
    if first != "at once":
        assert ending == first, f"the run that held the schema lost:\n{winner.describe()}"
    fm.count("race endings: " + ending)
    if ending == "complete":
        assert history(pg_conn) == [(fm.SETUP_NAME, True), (fm.CHANGE_NAME, True)]
    else:
        assert history(pg_conn) == [(fm.SETUP_NAME, True)]
    # Clients wrote through the version the race abandoned, until it went: E1/E2 apply.
    for write in outcome.writes:
        if write.phase == "race":
            write.phase = ending
    fm.build_model(outcome, pg_conn, ending)
    if ending == "complete":
        fm.check_completed(outcome, pg_conn, dsn, ref)
    else:
        fm.check_rolled_back(outcome, pg_conn, dsn, before, dump)
    outcome.fail_if_problems(f"complete racing rollback ({first} first)")
