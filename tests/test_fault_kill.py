"""The kill harness: the real command line killed with SIGKILL at every step boundary.

``PGROLL_DSL_KILL_AT=<phase>:<n>`` makes ``pgroll-dsl`` kill itself right before step ``n`` of
a phase (``n = total + 1``: after the last step, before the phase is recorded finished);
``backfill:<k>`` after ``k`` backfill batches. For each migration of the issue's reproductions
(and one whose sync triggers call a function of the migrated schema and read a stored generated
column: ``KILL_SPECS``), and each phase, the harness kills a real process at every boundary,
lets the version clients write (old, new once its schema exists, the physical table, the
physical table with ``session_replication_role = replica`` as a logical replication apply
worker writes it, and an application deployed for the new version before start, which writes
the physical table while the new version schema does not exist), checks that ``status`` tells
the truth, recovers the way the tool says (start again, complete again, rollback again, or
rollback after a crashed start) and checks the same data invariants as the in-process harness:
the model of ``fault_model`` row for row, the catalog of a clean run after complete, the schema
exactly as before after rollback.

Each kill point runs on its own database cloned from a template (``CREATE DATABASE ...
TEMPLATE``), so a point costs two short processes. A start killed at step ``n`` is resumed
when ``n`` is odd and rolled back when ``n`` is even (both recoveries are tested at every
kind of step across the corpus, at half the cost), and both at the first and the last point;
the backfill kills try both.

Damage done by hand before complete (a copy column, a sync trigger or the new version schema
dropped) must make complete refuse and change nothing.
"""

from __future__ import annotations

import contextlib
import os
import threading
import time
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psycopg
import pytest
from psycopg import sql
from psycopg.conninfo import make_conninfo

from pgroll_dsl.plan.model import Plan
from tests import fault_model as fm
from tests.fault_model import (
    BASE,
    DEPLOYED,
    DEPLOYED_PATH,
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

pytestmark = [pytest.mark.postgres, pytest.mark.fault]

Connection = psycopg.Connection[tuple[Any, ...]]
KILL = "PGROLL_DSL_KILL_AT"
BATCH = ["--backfill-batch-size", str(fm.BATCH_SIZE), "--backfill-batch-time", "0",
         "--lock-timeout", str(fm.LOCK_TIMEOUT_MS)]
BACKFILL_ROWS = 60  # 20 batches of 3
PARALLEL = 2


@pytest.fixture(autouse=True, scope="module")
def _summary(request: pytest.FixtureRequest) -> None:
    fm.register_summary(request.config)


# ---- databases from templates ----------------------------------------------------------------


class Server:
    """Databases on the test server: templates, and clones of them for each kill point."""

    def __init__(self, pg_dsn: str) -> None:
        self.pg_dsn = pg_dsn
        self.admin = psycopg.connect(pg_dsn, autocommit=True)
        self.created: list[str] = []
        self.lock = threading.Lock()  # kill points run two at a time

    def dsn(self, name: str) -> str:
        return make_conninfo(self.pg_dsn, dbname=name)

    def create(self, template: str | None = None) -> str:
        name = f"fault_{uuid.uuid4().hex[:12]}"
        statement = sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name))
        if template is not None:
            statement = sql.SQL("{} TEMPLATE {}").format(statement, sql.Identifier(template))
        with self.lock:
            self.admin.execute(statement)
            self.created.append(name)
        return name

    def drop(self, name: str) -> None:
        with self.lock:
            self.admin.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(
                sql.Identifier(name)))
            if name in self.created:
                self.created.remove(name)

    @contextlib.contextmanager
    def clone(self, template: str) -> Iterator[tuple[str, Connection]]:
        name = self.create(template)
        conn = psycopg.connect(self.dsn(name), autocommit=True)
        try:
            yield self.dsn(name), conn
        finally:
            conn.close()
            self.drop(name)

    def close(self) -> None:
        for name in list(self.created):
            self.drop(name)
        self.admin.close()


@pytest.fixture
def server(pg_dsn: str) -> Iterator[Server]:
    found = Server(pg_dsn)
    try:
        yield found
    finally:
        found.close()


@dataclass
class Templates:
    """For one migration: the schema before start (seeded), the same with the migration
    started cleanly, the plan's phase lengths, and what a clean run and the schema before
    start look like."""

    spec: Spec
    file: Path
    setup: str
    started: str
    totals: dict[str, int]
    before: dict[str, list[tuple[Any, ...]]]
    dump: str | None
    reference: fm.Reference
    rows: int
    plan: Plan | None = None  # the plan start was made from (its steps' summaries)


def make_templates(server: Server, s: Spec, directory: Path, rows: int = fm.SEED_ROWS,
                   ) -> Templates:
    setup = server.create()
    with psycopg.connect(server.dsn(setup), autocommit=True) as conn:
        fm.prepare(conn, server.dsn(setup), rows=rows, setup=s.setup)
        before = fm.fingerprint(conn)
        dump = fm.schema_dump(server.dsn(setup))
        runner = fm.make_runner(server.dsn(setup))
        try:
            plan = runner.plan(fm.compile_spec(s))
        finally:
            runner.close()
    reference = fm.cached_reference(s)
    if reference is None:
        scratch = server.create(setup)
        with psycopg.connect(server.dsn(scratch), autocommit=True) as conn:
            reference = fm.reference(conn, server.dsn(scratch), s)
        server.drop(scratch)
    started = server.create(setup)
    runner = fm.make_runner(server.dsn(started))
    try:
        runner.start(fm.compile_spec(s))
    finally:
        runner.close()
    totals = {"start": len(plan.start), "complete": len(plan.complete),
              "rollback": len(plan.rollback)}
    return Templates(s, fm.write_file(directory, fm.CHANGE_NAME, s.text), setup, started,
                     totals, before, dump, reference, rows, plan)


# ---- one kill point ------------------------------------------------------------------------


class Round:
    """Version clients of one database; each ``write`` round inserts and updates once."""

    def __init__(self, dsn: str, s: Spec, outcome: Outcome, rows: int) -> None:
        self.dsn, self.spec, self.outcome, self.rows = dsn, s, outcome, rows
        self.clients = {OLD: Client(dsn, OLD, OLD_VERSION, seeded=rows),
                        BASE: Client(dsn, BASE, SCHEMA, seeded=rows),
                        REPLICA: Client(dsn, REPLICA, SCHEMA, seeded=rows),
                        DEPLOYED: Client(dsn, DEPLOYED, DEPLOYED_PATH, seeded=rows)}

    def write(self, admin: Connection, where: str, phase: str) -> None:
        visible = fm.relation_exists(admin, NEW_VERSION, "items")
        if NEW not in self.clients and visible:
            self.clients[NEW] = Client(self.dsn, NEW, NEW_VERSION, seeded=self.rows)
        for write, future in fm.write_round(self.clients, self.spec, visible, where, phase):
            self.outcome.writes.append(write)
            try:
                future.result(timeout=fm.SYNC_WRITE_TIMEOUT)
            except TimeoutError:
                self.outcome.add(f"a client write blocked after the kill (a lock of the "
                                 f"killed run still held?): {write.describe()}")

    def close(self) -> None:
        for client in self.clients.values():
            client.close()


def check_status(outcome: Outcome, dsn: str, admin: Connection, moment: str,
                 expected: dict[str, str] | None, use_cli: bool = False) -> None:
    """``status`` must tell the truth: the expected document, or (after a kill) "In progress"
    with a version whose schema exists."""
    if use_cli:
        document = fm.status_of(dsn)
    else:
        runner = fm.make_runner(dsn, init=False)
        try:
            document = runner.status()
        finally:
            runner.close()
    if expected is not None:
        if {k: document.get(k) for k in expected} != expected:
            outcome.add(f"status {moment} is {document}, expected {expected}")
        return
    if document.get("status") != "In progress":
        outcome.add(f"status {moment} is {document}: the phase did not finish")
    version = document.get("version")
    if not version or not fm.schema_exists(admin, f"{SCHEMA}_{version}"):
        outcome.add(f"status {moment} names version {version!r}, whose schema does not exist")


def recover(outcome: Outcome, args: list[str], dsn: str, moment: str,
            in_process: bool = False) -> bool:
    """Run a recovery command; a refusal because the killed run's backend is still seen as
    holding the schema is retried for a few seconds (as an operator would).

    ``in_process``: a complete or rollback (``args``) through the Runner the command line
    wraps, without starting a process (where a schedule recovers many times and the
    interpreter's start-up would be most of its cost)."""
    deadline = time.monotonic() + 5
    while True:
        ok, said = _in_process(args, dsn) if in_process else _by_cli(outcome, args, dsn)
        if ok:
            return True
        if "backend pid" in said and time.monotonic() < deadline:
            fm.count("recoveries retried (killed backend still holding the run lock)", 1)
            time.sleep(0.2)
            continue
        outcome.add(f"recovery {moment} failed: {said}")
        return False


def _by_cli(outcome: Outcome, args: list[str], dsn: str) -> tuple[bool, str]:
    result = fm.cli(args, dsn)
    problem = fm.no_traceback(result)
    if problem:
        outcome.add(problem)
    return result.returncode == 0, result.describe()


def _in_process(args: list[str], dsn: str) -> tuple[bool, str]:
    runner = fm.make_runner(dsn)
    try:
        runner.complete() if args == ["complete"] else runner.rollback()
    except Exception as err:  # noqa: BLE001 - a recovery that fails is itself a finding
        return False, f"{' '.join(args)} (in process): {type(err).__name__}: {err}"
    finally:
        runner.close()
    return True, ""


def kill(outcome: Outcome, clients: Round, command: list[str], dsn: str, admin: Connection,
         target: str, label: str, use_cli_status: bool = False) -> bool:
    """Run ``command`` killed at ``target``: it must die by the signal (no traceback),
    ``status`` must say the phase did not finish, and the clients write after it (as
    ``label``). False when the process was not killed."""
    killed = fm.cli(command, dsn, env={KILL: target})
    if not killed.killed:
        outcome.add(f"not killed at {target}: {killed.describe()}")
        return False
    if fm.no_traceback(killed):
        outcome.add(f"{fm.no_traceback(killed)}")
    check_status(outcome, dsn, admin, f"after the kill at {target}", None, use_cli_status)
    clients.write(admin, f"after the kill at {target}", label)
    return True


PHASE_COMMANDS = {"start": lambda t: ["start", str(t.file), *BATCH],
                  "complete": lambda t: ["complete"], "rollback": lambda t: ["rollback"]}
# The phase label of a client write made after a kill of each phase (``fault_model.classify``).
PHASE_LABELS = {"start": "between", "complete": "complete", "rollback": "rollback"}


def final_checks(outcome: Outcome, admin: Connection, dsn: str, t: Templates,
                 ending: str) -> None:
    """The model of every write, and the invariants of ``ending``: the catalog of a clean
    run after complete, the schema exactly as before start after rollback."""
    fm.build_model(outcome, admin, ending, seeded=t.rows)
    if ending == "complete":
        fm.check_completed(outcome, admin, dsn, t.reference)
    else:
        fm.check_rolled_back(outcome, admin, dsn, t.before, t.dump)


def kill_point(server: Server, t: Templates, phase: str, target: str | list[str],
               recovery: str, use_cli_status: bool = False) -> list[str]:
    """Kill ``phase`` at ``target`` (``<phase>:<n>`` or ``backfill:<k>``), write, recover,
    check. Returns the problems found (empty: the point passed).

    ``target`` may be a list: the phase is run again after each kill, killed at the next
    target (the resumed run of a start, a complete or rollback again), and the recovery
    follows the last kill: repeated crashes on one database, one process a point."""
    s = t.spec
    targets = [target] if isinstance(target, str) else target
    outcome = Outcome(s)
    template = t.setup if phase == "start" else t.started
    command = PHASE_COMMANDS[phase](t)
    label = PHASE_LABELS[phase]
    tag = targets[0] if len(targets) == 1 else f"{targets[0]}, ..., {targets[-1]}"
    fm.count("kill points", len(targets))
    with server.clone(template) as (dsn, admin):
        clients = Round(dsn, s, outcome, t.rows)
        try:
            for where in targets:
                if not kill(outcome, clients, command, dsn, admin, where, label,
                            use_cli_status and where == targets[0]):
                    return [f"[{tag} -> {recovery}] {p}" for p in outcome.problems]
            last = targets[-1]
            if recovery == "resume":
                if not recover(outcome, command, dsn, f"(start again after {last})"):
                    return [f"[{tag} -> {recovery}] {p}" for p in outcome.problems]
                check_status(outcome, dsn, admin, "after the resumed start",
                             {"status": "In progress", "version": fm.CHANGE_NAME})
                clients.write(admin, "after the resumed start", "between")
                runner = fm.make_runner(dsn)
                try:
                    runner.complete()
                except Exception as err:  # noqa: BLE001
                    outcome.add(f"complete after the resumed start failed: {err}")
                finally:
                    runner.close()
                ending = "complete"
            else:
                ending = "complete" if recovery == "complete" else "rollback"
                if not recover(outcome, [ending], dsn, f"({ending} after {last})"):
                    return [f"[{tag} -> {recovery}] {p}" for p in outcome.problems]
            final = ({"status": "Complete", "version": fm.CHANGE_NAME} if ending == "complete"
                     else {"status": "Complete", "version": fm.SETUP_NAME})
            check_status(outcome, dsn, admin, f"after the recovery from {last}", final,
                         use_cli_status)
            clients.write(admin, f"after {ending}", "after")
        finally:
            clients.close()
        final_checks(outcome, admin, dsn, t, ending)
    return [f"[{tag} -> {recovery}] {p}" for p in outcome.problems]


def report(s: Spec, title: str, problems: list[str], points: int) -> None:
    if problems:
        shown = "\n  ".join(problems[:40])
        more = f"\n  ... and {len(problems) - 40} more" if len(problems) > 40 else ""
        pytest.fail(f"{title} [{s.key}], {points} kill points\nmigration:\n{s.text}"
                    f"problems:\n  {shown}{more}", pytrace=False)


def schedule(phase: str, total: int) -> list[tuple[int, str]]:
    """Every boundary of ``phase`` (of ``total`` steps) with its recovery: a start killed at
    step ``n`` is resumed when ``n`` is odd and rolled back when it is even, both at the first
    and the last point; complete and rollback are run again."""
    if phase != "start":
        return [(n, phase) for n in fm.iter_boundaries(total)]
    points = [(n, "resume" if n % 2 == 1 else "rollback") for n in fm.iter_boundaries(total)]
    return [*points, (1, "rollback"), (total + 1, "resume" if total % 2 == 1 else "rollback")]


def run_points(server: Server, t: Templates, phase: str,
               points: list[tuple[int, str]]) -> list[str]:
    """Kill ``phase`` at each of ``points`` (step, recovery); the problems of all of them.

    Two kill points at a time (each on its own database): the processes' start-up is the
    cost, and the points are independent."""

    def point(where: tuple[int, str]) -> list[str]:
        n, recovery = where
        return kill_point(server, t, phase, f"{phase}:{n}", recovery, use_cli_status=n == 1)

    with ThreadPoolExecutor(max_workers=PARALLEL) as pool:
        return [p for found in pool.map(point, points) for p in found]


# The smoke scope (CI's second server) kills at every boundary of the largest reproduction
# (four operations, a backfill, an index build); the full scope, of all three, and of a
# migration whose sync triggers call the schema's function (``up`` and ``down`` of u_bigint)
# and compute a stored generated column over ``NEW`` (gen_add reads ``g = triple(w)``).
KILL_SPECS = ([fm.REPRO_A] if os.environ.get("PGROLL_DSL_FAULT_SCOPE") == "smoke"
              else [*fm.REPROS, fm.spec("u_bigint", "gen_add")])


@pytest.mark.parametrize("phase", ["start", "complete", "rollback"])
@pytest.mark.parametrize("s", KILL_SPECS, ids=lambda s: s.key)
def test_kill_at_every_step_boundary(server: Server, tmp_path: Path, s: Spec,
                                     phase: str) -> None:
    t = make_templates(server, s, tmp_path)
    total = t.totals[phase]
    points = schedule(phase, total)
    problems = run_points(server, t, phase, points)
    report(s, f"SIGKILL before every step of {phase} ({total} steps), then recovery",
           problems, len(points))


@pytest.mark.parametrize(("batches", "recovery"),
                         [(1, "resume"), (8, "resume"), (19, "resume"), (5, "rollback")])
def test_kill_inside_the_backfill(server: Server, tmp_path: Path, batches: int,
                                  recovery: str) -> None:
    """Killed after ``batches`` committed backfill batches (of 20): the marked rows that are
    left are backfilled by the resumed start, rows written in between are never overwritten,
    and a rollback restores every row."""
    s = fm.REPRO_A
    t = make_templates(server, s, tmp_path, rows=BACKFILL_ROWS)
    problems = kill_point(server, t, "start", f"backfill:{batches}", recovery)
    report(s, f"SIGKILL after {batches} backfill batches, then {recovery}", problems, 1)


# ---- damage done by hand before complete ---------------------------------------------------

DAMAGE = {
    # The new version's view shows the copy: dropping the copy takes the view with it.
    "copy column": ("ALTER TABLE public.items DROP COLUMN _pgroll_new_qty CASCADE",
                    "_pgroll_new_qty"),
    "sync trigger": ("DROP TRIGGER _pgroll_trigger_000_items_qty ON public.items",
                     "_pgroll_trigger_000_items_qty"),
    "late sync trigger": ('DROP TRIGGER "~pgroll_trigger_000_items_qty" ON public.items',
                          "~pgroll_trigger_000_items_qty"),
    "new version schema": (f"DROP SCHEMA {NEW_VERSION} CASCADE", NEW_VERSION),
}


@pytest.mark.parametrize("damage", list(DAMAGE))
def test_complete_refuses_after_damage_by_hand(server: Server, tmp_path: Path,
                                               damage: str) -> None:
    """Something start made is gone before complete: complete must refuse (exit 1 or 3),
    name what is missing, and drop nothing: the old column qty with its data, the old
    version schema and the migration's state stay as they were."""
    s = fm.REPRO_A
    t = make_templates(server, s, tmp_path)
    statement, missing = DAMAGE[damage]
    with server.clone(t.started) as (dsn, admin):
        admin.execute(statement)
        qty_before = admin.execute("SELECT id, qty FROM public.items ORDER BY id").fetchall()
        before = fm.fingerprint(admin)
        result = fm.cli(["complete"], dsn)
        assert fm.no_traceback(result) is None, result.describe()
        assert result.returncode in (1, 3), result.describe()
        assert missing in result.stderr, f"the message does not name {missing}:\n" \
                                         f"{result.describe()}"
        assert fm.fingerprint_diff(before, fm.fingerprint(admin)) == [], "complete changed " \
                                                                          "the schema"
        assert admin.execute("SELECT id, qty FROM public.items ORDER BY id").fetchall() \
            == qty_before
        assert fm.schema_exists(admin, OLD_VERSION)
        runner = fm.make_runner(dsn)
        try:
            assert runner.status()["status"] == "In progress"
        finally:
            runner.close()
    fm.count("damage schedules", 1)
