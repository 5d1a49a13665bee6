"""Review: the executor's connection cut by the server at every step, and roles short of a right.

What operators are promised: bad input (a dead database, missing rights) gets a clear
diagnostic naming the failing step, a non-zero exit, no Python traceback, and no partial change
that rollback cannot undo; and nothing clients wrote is lost. This file tries to break that on
a real PostgreSQL, for one migration of three operations on one table (a type change with
``up``/``down``, a NOT NULL column computed by ``up``, a rename):

(a) **The server ends the executor's connection** (``pg_terminate_backend`` from another
    session) before every step of ``start``, ``complete`` and ``rollback`` and after the last,
    inside the backfill, and between the backfill and its progress record. The real command
    line runs (``pgroll_dsl.cli.main`` in a process of its own, forked from a server that
    imported it once) with a step hook installed the way ``PGROLL_DSL_KILL_AT``'s is: at the
    boundary it hands over to the test, whose old-version, new-version and base-table clients
    write (inside the executor's open transaction they queue behind its locks, and must go
    through once it is gone), then terminates the executor's backend, and the executor carries
    on to find its connection dead. Then: the exit code; stderr (one ``error:`` line naming the
    step and the server's reason, ``hint:`` lines naming the recovery, no traceback);
    ``status``; that complete refuses a start cut part-way, and that a cut complete or rollback
    changed nothing; writes; the documented recovery (start again, complete again, rollback:
    by the CLI at some points, through the API at the others); writes; and at the end every
    row of both versions against a model of ``up``/``down``, and the catalog against a clean
    run's (or the schema before start), ``pg_dump --schema-only`` included at the CLI points.
    More schedules end the executor with no hook: a DBA terminates it while it waits for a
    client's lock (start polling, complete queued with clients queued behind it), and while
    ``CREATE INDEX CONCURRENTLY`` waits for an old snapshot (an INVALID index left); and cuts
    in the complete of ``start --complete``, around complete's ``drop index`` (after its
    transaction), and in the rollback a failed start runs on its own; and ``start`` again
    after a cut with the migration file edited meanwhile.
(b) **A plain role that owns the tables** (the database's owner, no superuser: the backfill
    takes the path for roles that cannot set ``session_replication_role``) runs a migration of
    four operations (one backfilled, one index build) with clients writing at every step
    boundary, ending in complete and in rollback: the rows and the catalog must equal the same
    schedule run by a superuser. And once through the CLI with free-running writers.
(c) **A role short of one right part-way**: no CREATE on the database (the version schema),
    none on schema ``public`` (the trigger functions), TRIGGER or UPDATE revoked from the
    owner, a second table of the migration owned by someone else (altered before and after
    the first table's steps), a column of a state table it cannot update, a previous version
    schema it does not own, one it cannot even see. Each must exit non-zero with the failing
    step named and no traceback, and leave the schema exactly as before (catalog fingerprint
    and ``pg_dump``) with every row an old-version client wrote meanwhile.

Its ten findings, each a strict expected failure until fixed, all fixed since (each test
failed before its fix): a table the role does not own, altered after another (start failed
at its step and its rollback at the same table, every time: now refused before the first
step); locks of another database taken for holders (clones share OIDs); ``start`` resuming
an edited file; a cut before the backfill naming no step; a hint to own the tables for any
missing right (five cases; and a failed progress record blamed on a step); ``status`` blind
to a version schema another role made.
"""

from __future__ import annotations

import contextlib
import functools
import json
import os
import queue
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psycopg
import pytest
from psycopg import sql
from psycopg.conninfo import make_conninfo

from pgroll_dsl.backends.live import in_authors_terms
from pgroll_dsl.backends.runner import StepEvent
from pgroll_dsl.plan.model import Phase, Plan, Step, StepKind
from tests import fault_model as fm
from tests.live_helpers import make_runner, migration
from tests.test_fault_kill import Server

pytestmark = [pytest.mark.postgres]

Connection = psycopg.Connection[tuple[Any, ...]]
Row = dict[str, Any]
Fingerprint = dict[str, list[tuple[Any, ...]]]

REPO = Path(__file__).resolve().parents[1]
SETUP_NAME, CHANGE_NAME = "01_setup", "02_change"
OLD_VERSION, NEW_VERSION = f"public_{SETUP_NAME}", f"public_{CHANGE_NAME}"
SETUP = """create table items (id int primary key, qty int, val int, name text);
create table tags (id int primary key, label text);
"""
CHANGE = """alter table items alter qty type bigint up `qty::bigint * 10` down `(qty / 10)::int`;
alter table items add score int not null up `coalesce(val, 0) + 1000`;
alter table items rename name to item_name;
"""
INDEXED = CHANGE + "create index items_val_idx on items (val);\n"
SEED = 30  # rows of items before the migration: 10 backfill batches of 3
BATCH = ["--backfill-batch-size", "3", "--backfill-batch-time", "0"]
PARALLEL = 2
GONE = {"42P01", "3F000"}  # the relation, or its schema, is gone

OLD, NEW, BASE = "old", "new", "base"
SLOT = {OLD: 0, NEW: 1, BASE: 2}  # each client updates the seeded rows with id % 3 == SLOT
ID_BASE = {OLD: 100_000, NEW: 200_000, BASE: 300_000}
OLD_COLUMNS = ("qty", "val", "name")
NEW_COLUMNS = ("qty", "val", "item_name", "score")


# ---- the model: what each version must show for every row -------------------------------


def _down_qty(value: int) -> int:
    """``(qty / 10)::int`` of PostgreSQL: integer division truncates toward zero."""
    return value // 10 if value >= 0 else -(-value // 10)


def up(old: Row) -> Row:
    """The new version's row for an old-version row (every ``up`` of the migration)."""
    return {"qty": None if old["qty"] is None else old["qty"] * 10, "val": old["val"],
            "item_name": old["name"], "score": (old["val"] or 0) + 1000}


def down(new: Row) -> Row:
    """The old version's row for a new-version row (every ``down``; score has none)."""
    return {"qty": None if new["qty"] is None else _down_qty(new["qty"]), "val": new["val"],
            "name": new["item_name"]}


def seed_values(row_id: int) -> Row:
    return {"qty": -row_id if row_id % 4 == 0 else row_id * 3,
            "val": None if row_id % 5 == 0 else row_id * 2,
            "name": None if row_id % 7 == 0 else f"seed {row_id}"}


class Model:
    """Both versions of every row, from the writes that succeeded (each client owns its rows,
    so only the order of one client's own writes matters)."""

    def __init__(self) -> None:
        self.old: dict[int, Row] = {}
        self.new: dict[int, Row] = {}
        self.last: dict[int, str] = {}
        for row_id in range(1, SEED + 1):
            self.old_write(row_id, seed_values(row_id), True, "seed")

    def old_write(self, row_id: int, values: Row, insert: bool, who: str) -> None:
        row = dict.fromkeys(OLD_COLUMNS) if insert else dict(self.old[row_id])
        row.update(values)
        self.old[row_id], self.new[row_id], self.last[row_id] = row, up(row), who

    def new_write(self, row_id: int, values: Row, insert: bool, who: str) -> None:
        row = dict.fromkeys(NEW_COLUMNS) if insert else dict(self.new[row_id])
        row.update(values)
        self.new[row_id], self.old[row_id], self.last[row_id] = row, down(row), who


# ---- clients -------------------------------------------------------------------------------


@dataclass
class Write:
    """One client statement and what became of it."""

    role: str
    kind: str  # insert | update
    row_id: int
    values: Row
    where: str
    phase: str  # start | complete | rollback | between | after
    ok: bool = False
    error: str = ""
    sqlstate: str | None = None
    shape: str = ""  # the physical row written: "old" (has name) or "new" (has item_name)

    def describe(self) -> str:
        outcome = "ok" if self.ok else f"FAILED {self.sqlstate}: {self.error}"
        return f"{self.role} {self.kind} id={self.row_id} {self.values} at {self.where}: {outcome}"


def _values(role: str, seq: int, row_id: int, insert: bool) -> Row:
    """All of the client's columns for an insert and every other update, else one of them."""
    if role == OLD:
        magnitude = seq * 7 + row_id % 50
        full: Row = {"qty": None if seq % 5 == 2 else (-magnitude if seq % 4 == 1 else magnitude),
                     "val": None if seq % 3 == 0 else seq * 11 + row_id % 97,
                     "name": f"o{seq}-{row_id}"}
    elif role == NEW:
        full = {"qty": 5_000_000_000 + seq if seq % 6 == 5 else seq * 13 + row_id % 89 + 1,
                "val": None if seq % 4 == 0 else seq * 3 + row_id % 11,
                "item_name": f"n{seq}-{row_id}", "score": seq * 17 + 5}
    else:  # the table itself: columns of one name before and after complete (qty is the old
        # int column before, the bigint copy after: a plain write, either way)
        full = {"qty": seq * 3 + 1, "val": seq * 5 + row_id % 7}
    if insert or seq % 2 == 0:
        return full
    names = list(full)
    name = names[seq // 2 % len(names)]
    return {name: full[name]}


class Client:
    """An application of one version: one autocommit connection whose ``search_path`` is its
    version schema (``public`` for the table itself), one thread, writes run in order."""

    def __init__(self, dsn: str, role: str, search_path: str) -> None:
        self.role = role
        self.conn: Connection = psycopg.connect(dsn, autocommit=True,
                                                application_name=f"review {role}")
        self.conn.execute(sql.SQL("SET search_path TO {}").format(sql.Identifier(search_path)))
        self.conn.execute("SET statement_timeout = '30s'")
        self.pid = self.conn.info.backend_pid
        self.pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix=f"review-{role}")
        self.writes: list[Write] = []
        self.owned = [i for i in range(1, SEED + 1) if i % 3 == SLOT[role]]
        self.next_id = ID_BASE[role]
        self.seq = 0

    def next_write(self, where: str, phase: str, insert: bool) -> Write:
        self.seq += 1
        if insert:
            self.next_id += 1
            row_id = self.next_id
        else:
            row_id = self.owned[self.seq % len(self.owned)]
        return Write(self.role, "insert" if insert else "update", row_id,
                     _values(self.role, self.seq, row_id, insert), where, phase)

    def submit(self, write: Write) -> Future[Write]:
        self.writes.append(write)
        return self.pool.submit(self._execute, write)

    def _execute(self, write: Write) -> Write:
        try:
            rows = self.conn.execute(
                *fm.write_statement(write.kind, write.row_id, write.values)).fetchall()
            if len(rows) != 1:
                write.error, write.sqlstate = f"touched {len(rows)} rows", "ROWS"
                return write
            write.shape = "old" if "name" in rows[0][0] else "new"
            write.ok = True
            if write.kind == "insert":
                self.owned.append(write.row_id)
        except psycopg.Error as err:
            write.error = (str(err).strip().splitlines() or [repr(err)])[0]
            write.sqlstate = err.sqlstate
        return write

    def close(self) -> None:
        self.pool.shutdown(wait=True)
        self.conn.close()


def _expected_failure(write: Write) -> bool:
    """The documented failures: old-version writes once complete dropped their schema, new-
    version writes once rollback dropped theirs, inserts into the table that leave out the
    NOT NULL column complete made (``score``)."""
    if write.role == OLD and write.phase == "complete" and write.sqlstate in GONE:
        return True
    if write.role == NEW and write.phase == "rollback" and write.sqlstate in GONE:
        return True
    return (write.role == BASE and write.kind == "insert" and write.phase == "complete"
            and write.sqlstate == "23502" and '"score"' in write.error)


class Clients:
    """The old-version, new-version (once its view exists) and base-table clients."""

    def __init__(self, dsn: str, probe: Connection) -> None:
        self.dsn = dsn
        self.probe = probe
        self.lock = threading.Lock()
        self.all: dict[str, Client] = {OLD: Client(dsn, OLD, OLD_VERSION),
                                       BASE: Client(dsn, BASE, "public")}
        self.pending: list[tuple[Write, Future[Write]]] = []
        self.problems: list[str] = []

    def round(self, where: str, phase: str, roles: Iterable[str] = (OLD, NEW, BASE),
              wait: bool = True, base_inserts: bool = True) -> None:
        """Each client inserts one row and updates one of its own. With ``wait`` each write
        must be done within 15 s (nothing holds a lock: it must not block); without, the
        writes are queued and this returns once each is done or waiting for a lock."""
        with self.lock:
            for role in roles:
                if role == NEW and NEW not in self.all:
                    if not fm.relation_exists(self.probe, NEW_VERSION, "items"):
                        continue
                    self.all[NEW] = Client(self.dsn, NEW, NEW_VERSION)
                client = self.all[role]
                for insert in (True, False):
                    if insert and role == BASE and not base_inserts:
                        continue
                    write = client.next_write(where, phase, insert)
                    future = client.submit(write)
                    if not wait:
                        self.pending.append((write, future))
                        continue
                    try:
                        future.result(timeout=15)
                    except FutureTimeout:
                        self.problems.append(f"a client write blocked at a moment the executor "
                                             f"holds no lock: {write.describe()}")
                        self.pending.append((write, future))
            if not wait:
                self.await_blocked()
                fm.count("client writes queued behind the executor's locks",
                         sum(not f.done() for _, f in self.pending))

    def await_blocked(self) -> None:
        self.problems += fm.await_in_flight(self.probe, self.all.values(), self.pending)

    def settle(self, timeout: float = 30.0) -> None:
        for write, future in self.pending:
            try:
                future.result(timeout=timeout)
            except FutureTimeout:
                self.problems.append(f"a client write still blocked {timeout:.0f} s later "
                                     f"(a lock of the dead executor never released?): "
                                     f"{write.describe()}")
        self.pending.clear()

    def close(self) -> None:
        for client in self.all.values():
            client.close()

    def model(self) -> tuple[Model, list[str]]:
        """The model of every successful write, and the writes that failed unexpectedly."""
        model, problems = Model(), list(self.problems)
        for client in self.all.values():
            fm.count("client writes", len(client.writes))
            for write in client.writes:
                if not write.ok:
                    if not _expected_failure(write):
                        problems.append(f"client write failed: {write.describe()}")
                    continue
                insert, who = write.kind == "insert", f"{write.role}@{write.where}"
                if write.role == OLD or (write.role == BASE and write.shape == "old"):
                    model.old_write(write.row_id, write.values, insert, who)
                else:
                    model.new_write(write.row_id, write.values, insert, who)
        return model, problems


def boundary_hook(clients: Clients) -> Callable[[StepEvent], None]:
    """``RunOptions.on_step``: every client writes at every boundary (once per boundary: a
    retried transaction reports its boundaries again)."""
    seen: set[tuple[str, int]] = set()

    def hook(event: StepEvent) -> None:
        if (event.phase.value, event.index) in seen:
            return
        seen.add((event.phase.value, event.index))
        clients.round(f"{event.phase.value} boundary {event.index + 1}/{event.total + 1}",
                      event.phase.value, wait=not event.in_transaction)

    return hook


# ---- what the database must look like ----------------------------------------------------


def _rows(conn: Connection, relation: str, names: Iterable[str]) -> dict[int, Row]:
    listed = list(names)
    statement = sql.SQL("SELECT id, {} FROM {}").format(
        sql.SQL(", ").join(map(sql.Identifier, listed)), sql.SQL(relation))
    return {r[0]: dict(zip(listed, r[1:], strict=True)) for r in conn.execute(statement)}


def _compare(label: str, actual: dict[int, Row], expected: dict[int, Row],
             last: dict[int, str]) -> list[str]:
    if set(actual) != set(expected):
        return [f"{label}: rows missing {sorted(set(expected) - set(actual))[:10]}, "
                f"unexpected {sorted(set(actual) - set(expected))[:10]}"]
    wrong = [i for i in sorted(actual) if actual[i] != expected[i]]
    return [f"{label}: row {i} (last written by {last.get(i)}) is {actual[i]}, the model says "
            f"{expected[i]}" for i in wrong[:6]] + (
        [f"{label}: {len(wrong)} rows differ in all"] if len(wrong) > 6 else [])


def check_end(admin: Connection, model: Model, ending: str, fingerprint: Fingerprint,
              dump: str | None, dsn: str | None = None) -> list[str]:
    """After complete: the new version and the table equal the model, the catalog a clean
    run's. After rollback: the old version and the table equal the model, the schema is the
    one before start (``dump``: ``pg_dump --schema-only`` too when ``dsn`` is given)."""
    problems = [f"catalog differs from {'a clean run' if ending == 'complete' else 'before'}: "
                f"{d}" for d in fm.fingerprint_diff(fingerprint, fm.fingerprint(admin))]
    if dsn is not None:
        problems += fm.dump_diff(dump, fm.schema_dump(dsn))
    problems += [f"left over after {ending}: {x}" for x in fm.internal_leftovers(admin)]
    names: tuple[str, ...] = NEW_COLUMNS if ending == "complete" else OLD_COLUMNS
    expected = model.new if ending == "complete" else model.old
    version = NEW_VERSION if ending == "complete" else OLD_VERSION
    for relation in (f"{version}.items", "public.items"):
        try:
            problems += _compare(f"{relation} after {ending}", _rows(admin, relation, names),
                                 expected, model.last)
        except psycopg.Error as err:
            problems.append(f"reading {relation} after {ending} failed: {err}")
    return problems


def status_of(dsn: str) -> dict[str, str]:
    runner = make_runner(dsn, init=False)
    try:
        return runner.status()
    finally:
        runner.close()


def latest_expected(admin: Connection) -> str:
    """The version ``status`` must name: the newest migration whose version schema exists."""
    return CHANGE_NAME if fm.schema_exists(admin, NEW_VERSION) else SETUP_NAME


# ---- databases -----------------------------------------------------------------------------


@dataclass
class Templates:
    """The seeded schema before start, the migration started, and completed (clean runs)."""

    setup: str
    started: str
    done: str
    plan: Plan
    before: Fingerprint
    started_fp: Fingerprint
    done_fp: Fingerprint
    before_dump: str | None
    done_dump: str | None
    file: Path


def seed(conn: Connection) -> None:
    with conn.cursor() as cursor:
        cursor.executemany("INSERT INTO public.items (id, qty, val, name) "
                           "VALUES (%(id)s, %(qty)s, %(val)s, %(name)s)",
                           [{"id": i, **seed_values(i)} for i in range(1, SEED + 1)])
    conn.execute("INSERT INTO public.tags SELECT i, 'tag ' || i FROM generate_series(1, 3) i")


def apply_setup(dsn: str, conn: Connection) -> None:
    runner = make_runner(dsn)
    try:
        runner.start(migration(SETUP, SETUP_NAME))
        runner.complete()
    finally:
        runner.close()
    seed(conn)


@pytest.fixture(autouse=True, scope="module")
def _summary(request: pytest.FixtureRequest) -> Iterator[None]:
    fm.register_summary(request.config)  # the counts below, at the end of the session
    try:
        yield
    finally:
        ForkServer.stop_all()


@pytest.fixture(scope="module")
def server(pg_dsn: str) -> Iterator[Server]:
    found = Server(pg_dsn)
    try:
        yield found
    finally:
        found.close()


def make_templates(server: Server, file: Path) -> Templates:
    setup = server.create()
    with psycopg.connect(server.dsn(setup), autocommit=True) as conn:
        apply_setup(server.dsn(setup), conn)
        before = fm.fingerprint(conn)
    started = server.create(setup)
    runner = make_runner(server.dsn(started), init=False)
    try:
        plan = runner.start(migration(CHANGE, CHANGE_NAME))
    finally:
        runner.close()
    done = server.create(started)
    runner = make_runner(server.dsn(done), init=False)
    try:
        runner.complete()
    finally:
        runner.close()
    fingerprints = []
    for name in (started, done):
        with psycopg.connect(server.dsn(name), autocommit=True) as conn:
            fingerprints.append(fm.fingerprint(conn))
    return Templates(setup, started, done, plan, before, fingerprints[0], fingerprints[1],
                     fm.schema_dump(server.dsn(setup)), fm.schema_dump(server.dsn(done)), file)


class Pool:
    """Template sets made by separate setups, one per worker thread at a time.

    Clones of one template share their relations' OIDs, and the executor's wait for lock
    holders reads ``pg_locks`` of every database by OID (see
    ``test_a_lock_in_another_database_does_not_hold_up_the_executor``): two points run at
    once on clones of one template would wait for each other's clients.
    """

    def __init__(self, sets: list[Templates]) -> None:
        self.sets = sets
        self.free: queue.Queue[Templates] = queue.Queue()
        for found in sets:
            self.free.put(found)

    @contextlib.contextmanager
    def lease(self) -> Iterator[Templates]:
        found = self.free.get(timeout=600)
        try:
            yield found
        finally:
            self.free.put(found)


@pytest.fixture(scope="module")
def pool(server: Server, tmp_path_factory: pytest.TempPathFactory) -> Pool:
    file = tmp_path_factory.mktemp("review_disconnect") / f"{CHANGE_NAME}.pgroll"
    file.write_text(CHANGE, encoding="utf-8")
    return Pool([make_templates(server, file) for _ in range(PARALLEL)])


@pytest.fixture(scope="module")
def templates(pool: Pool) -> Templates:
    return pool.sets[0]


# ---- (a) the server drops the executor's connection ------------------------------------

# The real command line, one process per command, forked from a server that has imported
# pgroll_dsl once (a fresh interpreter costs most of a command's time here; a forked child
# runs ``pgroll_dsl.cli.main()`` with its own argv, environment, stdout, stderr and exit code
# all the same). With REVIEW_CUT_AT the child gets a step hook, installed the way
# ``backends/faults.py`` installs PGROLL_DSL_KILL_AT's: at the target it writes SYNC/at,
# waits for SYNC/go (the test's clients write meanwhile), then terminates the executor's
# backends from another session and lets the executor carry on to find its connection gone.
# Targets: <phase>:<n> (before step n; total + 1: after the last), backfill:<k> (after k
# batches), record-start:<n> (step n ran on its own, its progress record not written yet).
FORK_SERVER = r"""
import json, os, sys, time, traceback
import psycopg
import pgroll_dsl.api, pgroll_dsl.api.live, pgroll_dsl.cli.live, pgroll_dsl.backends.runner
from pgroll_dsl.backends import commands
from pgroll_dsl.backends.state import State
from pgroll_dsl.cli import main

def install(target, sync, admin_dsn):
    where, _, number = target.rpartition(":")
    limit = int(number)
    done = []

    def cut(in_transaction):
        if done:
            return
        done.append(True)
        with open(os.path.join(sync, "at.tmp"), "w") as f:
            json.dump({"in_transaction": in_transaction}, f)
        os.rename(os.path.join(sync, "at.tmp"), os.path.join(sync, "at"))
        deadline = time.monotonic() + 60
        while not os.path.exists(os.path.join(sync, "go")) and time.monotonic() < deadline:
            time.sleep(0.003)
        with psycopg.connect(admin_dsn, autocommit=True, application_name="review cut") as c:
            ended = c.execute(
                "SELECT pid, pg_terminate_backend(pid, 10000) FROM (SELECT pid FROM "
                "pg_stat_activity WHERE datname = current_database() AND "
                "starts_with(application_name, 'pgroll-dsl') OFFSET 0) s").fetchall()
        with open(os.path.join(sync, "cut"), "w") as f:
            json.dump(ended, f)

    def hooks(progress):
        batches = [0]
        def on_step(event):
            if event.phase.value == where and event.index + 1 == limit:
                cut(event.in_transaction)
        def on_progress(table, rows, total):
            progress(table, rows, total)
            if where == "backfill" and rows > 0:
                batches[0] += 1
                if batches[0] == limit:
                    cut(True)
        return on_step, on_progress

    assert callable(commands.fault_hooks)
    commands.fault_hooks = hooks
    recorded = State.record_progress

    def record_progress(self, name, steps_done, *args, **kwargs):
        phase = (list(args) + list(kwargs.values()) or ["start"])[0]
        if where == "record-" + str(getattr(phase, "value", phase)) and steps_done == limit:
            cut(False)
        return recorded(self, name, steps_done, *args, **kwargs)

    State.record_progress = record_progress

def child(request):
    for fd, name in ((1, "out"), (2, "err")):
        opened = os.open(request[name], os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        os.dup2(opened, fd)
        os.close(opened)
    os.environ.update(request["env"])
    if "REVIEW_CUT_AT" in request["env"]:
        install(request["env"]["REVIEW_CUT_AT"], request["sync"], request["env"]["REVIEW_ADMIN"])
    sys.argv = ["pgroll-dsl", *request["args"]]
    code = 0
    try:
        main()
    except SystemExit as ended:
        code = ended.code if isinstance(ended.code, int) else (0 if ended.code is None else 1)
    except BaseException:
        traceback.print_exc()
        code = 1
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)

for line in sys.stdin:
    request = json.loads(line)
    pid = os.fork()
    if pid == 0:
        child(request)
    _, status = os.waitpid(pid, 0)
    with open(os.path.join(request["sync"], "exit.tmp"), "w") as f:
        f.write(str(os.waitstatus_to_exitcode(status)))
    os.rename(os.path.join(request["sync"], "exit.tmp"), os.path.join(request["sync"], "exit"))
"""


def _environment(extra: dict[str, str]) -> dict[str, str]:
    environment = {k: v for k, v in os.environ.items() if not k.startswith("PGROLL")}
    environment.update(extra)
    return environment


class ForkServer:
    """Fork servers, each running one command at a time: taken from the idle ones (or
    started) for a command, given back when it ended; all stopped at the end."""

    idle: queue.SimpleQueue[subprocess.Popen[str]] = queue.SimpleQueue()
    started: list[subprocess.Popen[str]] = []
    lock = threading.Lock()

    @classmethod
    def take(cls) -> subprocess.Popen[str]:
        while not cls.idle.empty():
            process = cls.idle.get()
            if process.poll() is None:
                return process
        process = subprocess.Popen([sys.executable, "-c", FORK_SERVER], cwd=REPO,
                                   stdin=subprocess.PIPE, text=True, env=_environment({}))
        with cls.lock:
            cls.started.append(process)
        return process

    @classmethod
    def stop_all(cls) -> None:
        with cls.lock:
            for process in cls.started:
                if process.stdin is not None:
                    process.stdin.close()
                try:
                    process.wait(timeout=30)
                except subprocess.TimeoutExpired:
                    process.kill()
            cls.started.clear()
        while not cls.idle.empty():
            cls.idle.get()


@dataclass
class Launched:
    """A command running in a child of this thread's fork server."""

    args: list[str]
    sync: Path
    began: float
    server: subprocess.Popen[str]

    def poll(self) -> int | None:
        done = self.sync / "exit"
        return int(done.read_text()) if done.exists() else None

    def wait(self, timeout: float = 90) -> fm.CliResult:
        deadline = time.monotonic() + timeout
        while (code := self.poll()) is None:
            if time.monotonic() > deadline:
                raise TimeoutError(f"pgroll-dsl {' '.join(self.args)} still runs")
            time.sleep(0.003)
        ForkServer.idle.put(self.server)
        return fm.CliResult(self.args, code, (self.sync / "out").read_text(),
                            (self.sync / "err").read_text(), time.perf_counter() - self.began)


def launch(args: list[str], dsn: str, sync: Path, env: dict[str, str] | None = None
           ) -> Launched:
    """Start ``pgroll-dsl ARGS --postgres-url DSN``; its files go to ``sync``."""
    full = [*args, "--postgres-url", dsn]
    request = {"args": full, "env": env or {}, "sync": str(sync),
               "out": str(sync / "out"), "err": str(sync / "err")}
    process = ForkServer.take()
    assert process.stdin is not None
    process.stdin.write(json.dumps(request) + "\n")
    process.stdin.flush()
    fm.count("CLI processes", 1)
    return Launched(full, sync, time.perf_counter(), process)


def cli(args: list[str], dsn: str, timeout: float = 90) -> fm.CliResult:
    """Run one command to its end."""
    with tempfile.TemporaryDirectory(prefix="review-cli-") as sync:
        return launch(args, dsn, Path(sync)).wait(timeout)


def cli_status(dsn: str) -> dict[str, str]:
    result = cli(["status"], dsn)
    assert result.returncode == 0, result.describe()
    document: dict[str, str] = json.loads(result.stdout)
    return document


@dataclass
class Cut:
    """What the run whose connection was cut did, and where."""

    returncode: int
    stdout: str
    stderr: str
    reached: bool
    in_transaction: bool
    ended: list[Any]

    def describe(self) -> str:
        return f"exit {self.returncode}\nstdout: {self.stdout.strip()}\nstderr: " \
               f"{self.stderr.strip()}"


def run_cut(dsn: str, args: list[str], target: str, at_boundary: Callable[[bool], None],
            admin: str | None = None) -> Cut:
    """Run the command with its connection cut at ``target``; ``at_boundary`` runs there;
    the backends are terminated from a session of ``admin`` (default ``dsn``)."""
    with tempfile.TemporaryDirectory(prefix="review-cut-") as directory:
        sync = Path(directory)
        running = launch(args, dsn, sync, {"REVIEW_CUT_AT": target,
                                           "REVIEW_ADMIN": admin or dsn})
        at, reached, in_transaction = sync / "at", False, False
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline and running.poll() is None:
            if at.exists():
                reached = True
                in_transaction = bool(json.loads(at.read_text())["in_transaction"])
                try:
                    at_boundary(in_transaction)
                finally:
                    (sync / "go").touch()
                break
            time.sleep(0.003)
        result = running.wait()
        cut = sync / "cut"
        ended = json.loads(cut.read_text()) if cut.exists() else []
    return Cut(result.returncode, result.stdout, result.stderr, reached, in_transaction, ended)


def stderr_problems(stderr: str, phase: str, step_named: str, file: Path,
                    notes: tuple[str, ...] = ()) -> list[str]:
    """One ``error:`` line that names the step and the server's reason, ``hint:`` lines
    that name the recovery, nothing else (but the backfill's own lines, such as a second
    pass that had nothing to read, and lines starting with ``notes``), no traceback."""
    problems = []
    if "Traceback" in stderr:
        problems.append("a Python traceback on stderr")
    lines = [line for line in stderr.splitlines() if line.strip()]
    errors = [line for line in lines if line.startswith("error: ")]
    others = [line for line in lines
              if not line.startswith(("error: ", "hint: ", "backfill ", *notes))]
    if len(errors) != 1:
        problems.append(f"{len(errors)} error lines, expected one")
    if others:
        problems.append(f"stderr has more than the error and its hint: {others[:3]}")
    if errors and step_named not in errors[0]:
        problems.append(f"the error line does not name the step ({step_named!r})")
    if errors and "terminating connection" not in errors[0]:
        problems.append("the error line does not say the server ended the connection")
    recovery = {"start": f"pgroll-dsl start {file}", "complete": "pgroll-dsl complete",
                "rollback": "pgroll-dsl rollback"}[phase]
    if not any(recovery in line for line in lines if line.startswith("hint: ")):
        problems.append(f"no hint names the recovery `{recovery}`")
    return problems


def _cli_recovery(args: list[str], dsn: str) -> tuple[bool, list[str]]:
    result = cli(args, dsn)
    problems = [p for p in [fm.no_traceback(result)] if p]
    if result.returncode != 0:
        problems.append(f"recovery `{' '.join(args)}` failed: {result.describe()}")
    return result.returncode == 0, problems


def _api_recovery(action: str, dsn: str) -> tuple[bool, list[str]]:
    runner = make_runner(dsn, init=False)
    try:
        if action == "resume":
            runner.start(migration(CHANGE, CHANGE_NAME))
        else:
            getattr(runner, action)()
    except Exception as err:  # noqa: BLE001 - reported with the rest
        return False, [f"recovery {action} failed: {type(err).__name__}: {err}"]
    finally:
        runner.close()
    return True, []


def recover(action: str, dsn: str, file: Path, by_cli: bool) -> tuple[bool, list[str]]:
    """The documented recovery: ``start FILE`` again (resume), ``complete`` or ``rollback``."""
    if by_cli:
        fm.count("recoveries by the CLI", 1)
        args = {"resume": ["start", str(file), *BATCH], "complete": ["complete"],
                "rollback": ["rollback"]}[action]
        return _cli_recovery(args, dsn)
    fm.count("recoveries through the API", 1)
    return _api_recovery(action, dsn)


def _backfill_step(plan: Plan) -> int:
    return next(i for i, s in enumerate(plan.start, 1) if s.kind is StepKind.BACKFILL)


def step_named(plan: Plan, phase: str, target: str) -> str:
    """What the error line must name for a cut at ``target``."""
    where, _, number = target.rpartition(":")
    steps = plan.phase(Phase(phase))
    if where == "backfill":
        step: Step = next(s for s in steps if s.kind is StepKind.BACKFILL)
    elif where.startswith("record-"):
        return f"step {int(number) - 1}"  # "start stopped after step N": the last recorded
    elif int(number) > len(steps):  # after the last step, in the phase's transaction
        return "record the steps done in the state schema"
    else:
        step = steps[int(number) - 1]
    return in_authors_terms(step.summary)


def cut_point(server: Server, pool: Pool, phase: str, target: str, recovery: str,
              by_cli: bool) -> list[str]:
    """Cut the connection of ``phase`` at ``target``, write, recover, write, check."""
    fm.count(f"cut points ({phase})", 1)
    with pool.lease() as t:
        return _cut_point(server, t, phase, target, recovery, by_cli)


def _cut_point(server: Server, t: Templates, phase: str, target: str, recovery: str,
               by_cli: bool) -> list[str]:
    steps = t.plan.phase(Phase(phase))
    finished = phase == "start" and target == f"start:{len(steps) + 1}"
    template = t.setup if phase == "start" else t.started
    args = {"start": ["start", str(t.file), *BATCH], "complete": ["complete"],
            "rollback": ["rollback"]}[phase]
    if target.startswith("backfill:"):  # batches sleep: the loop still runs at the cut
        args += ["--backfill-batch-delay", "0.1"]
    problems: list[str] = []
    with server.clone(template) as (dsn, admin):
        clients = Clients(dsn, admin)
        try:
            cut = run_cut(dsn, args, target, lambda in_tx: clients.round(
                f"the cut at {target}", phase, wait=not in_tx))
            clients.settle()
            if not cut.reached or not cut.ended:
                return [f"the cut point {target} was never reached: {cut.describe()}"]
            expected_exit = 0 if finished else 3
            if cut.returncode != expected_exit:
                problems.append(f"exit {cut.returncode}, expected {expected_exit}: "
                                f"{cut.describe()}")
            if finished and ("Traceback" in cut.stderr or "error:" in cut.stderr):
                problems.append(f"a cut after the last step of start was reported: "
                                f"{cut.describe()}")
            if not finished:
                named = step_named(t.plan, phase, target)
                problems += [f"{p}:\n{cut.stderr.strip()}" for p in stderr_problems(
                    cut.stderr, phase, named, t.file)]
            # status tells the truth: the migration is still active
            first = target.endswith(":1")
            document = cli_status(dsn) if first else status_of(dsn)
            expected = {"schema": "public", "version": latest_expected(admin),
                        "status": "In progress"}
            if document != expected:
                problems.append(f"status after the cut is {document}, expected {expected}")
            if phase in ("complete", "rollback"):
                # their transaction died with the connection: nothing changed
                problems += [f"the cut {phase} changed the schema: {d}" for d in
                             fm.fingerprint_diff(t.started_fp, fm.fingerprint(admin))]
            elif not finished:
                # complete must refuse a start that did not finish, and change nothing
                now = fm.fingerprint(admin)
                ok, _ = _api_recovery("complete", dsn)
                if ok:
                    problems.append("complete ran after a start cut part-way")
                problems += [f"a refused complete changed the schema: {d}" for d in
                             fm.fingerprint_diff(now, fm.fingerprint(admin))]
            clients.round("after the cut", "between" if phase == "start" else phase)
            recovered, found = recover(recovery, dsn, t.file, by_cli)
            problems += found
            if not recovered:
                return [f"[{target} -> {recovery}] {p}" for p in problems]
            ending = "rollback" if recovery == "rollback" else "complete"
            if recovery == "resume":
                document = status_of(dsn)
                if document != {"schema": "public", "version": CHANGE_NAME,
                                "status": "In progress"}:
                    problems.append(f"status after the resumed start is {document}")
                clients.round("after the resumed start", "between")
                ok, found = _api_recovery("complete", dsn)
                problems += found
            document = status_of(dsn)
            final = CHANGE_NAME if ending == "complete" else SETUP_NAME
            if document != {"schema": "public", "version": final, "status": "Complete"}:
                problems.append(f"status after {ending} is {document}")
            if ending == "complete":
                clients.round(f"after {ending}", "after", roles=(NEW, BASE), base_inserts=False)
            else:
                clients.round(f"after {ending}", "after", roles=(OLD, BASE))
            clients.settle()
        finally:
            clients.close()
        model, found = clients.model()
        problems += found
        fingerprint, dump = ((t.done_fp, t.done_dump) if ending == "complete"
                             else (t.before, t.before_dump))
        problems += check_end(admin, model, ending, fingerprint, dump, dsn if by_cli else None)
    return [f"[{target} -> {recovery}] {p}" for p in problems]


def run_points(server: Server, pool: Pool, phase: str,
               points: list[tuple[str, str, bool]]) -> list[str]:
    with ThreadPoolExecutor(max_workers=PARALLEL) as workers:
        found = workers.map(lambda p: cut_point(server, pool, phase, *p), points)
        return [problem for problems in found for problem in problems]


def report(title: str, problems: list[str], points: int) -> None:
    if problems:
        shown = "\n  ".join(problems[:30])
        pytest.fail(f"{title}: {points} cut points, {len(problems)} problems\n  {shown}",
                    pytrace=False)


def _by_cli(n: int, last: int) -> bool:
    """Recover with the real command line (and compare ``pg_dump --schema-only`` at the end)
    at the first and last point and every fifth."""
    return n in (1, last) or n % 5 == 0


def test_connection_cut_at_every_start_boundary(server: Server, pool: Pool,
                                                templates: Templates) -> None:
    """Before each step of start (and after the last): resumed at odd steps, rolled back at
    even ones, both at the first and the last; inside the backfill (after 2 batches: resumed,
    after 5: rolled back) and after the backfill before its progress record."""
    last = len(templates.plan.start) + 1
    points = [(f"start:{n}", "resume" if n % 2 else "rollback", _by_cli(n, last))
              for n in range(1, last + 1)]
    points += [("start:1", "rollback", False), (f"start:{last}", "resume", True)]
    backfill = _backfill_step(templates.plan)
    points += [("backfill:2", "resume", True), ("backfill:5", "rollback", False),
               (f"record-start:{backfill}", "resume", True)]
    report("the connection of start cut", run_points(server, pool, "start", points),
           len(points))


@pytest.mark.parametrize("phase", ["complete", "rollback"])
def test_connection_cut_at_every_complete_and_rollback_boundary(
        server: Server, pool: Pool, templates: Templates, phase: str) -> None:
    """Each boundary of the phase's transaction (clients queue behind it and must go through
    once the server ends it): complete is run again at odd boundaries and rolled back at even
    ones (its transaction changed nothing); rollback is run again."""
    last = len(templates.plan.phase(Phase(phase))) + 1
    points = [(f"{phase}:{n}", (phase if n % 2 or phase == "rollback" else "rollback"),
               _by_cli(n, last)) for n in range(1, last + 1)]
    if phase == "complete":
        points.append((f"complete:{last - 1}", "complete", False))
    report(f"the connection of {phase} cut", run_points(server, pool, phase, points),
           len(points))


def _pgroll_backend(admin: Connection, timeout: float = 30.0,
                    waiting: bool = False) -> int | None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        row = admin.execute(
            "SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND "
            "starts_with(application_name, 'pgroll-dsl') "
            "AND (NOT %s OR wait_event_type = 'Lock')",
            (waiting,)).fetchone()
        if row is not None:
            return int(row[0])
        time.sleep(0.01)
    return None


def _text(path: Path) -> str:
    return path.read_text() if path.exists() else ""


@pytest.mark.parametrize("phase", ["start", "complete"])
def test_dba_terminates_the_executor_while_it_waits_for_a_client(
        server: Server, templates: Templates, phase: str) -> None:
    """No hook at all. An old-version client keeps a transaction open on the table; start
    waits for it without queueing (``--lock-wait``), complete queues for its lock
    (``--lock-wait 0 --lock-timeout 0``) and old-version writes queue behind its request.
    A DBA terminates the executor's backend: the command exits 3 naming the step, the
    queued write goes through, nothing of the phase's transaction is left, and once the
    client commits the phase run again finishes with every row."""
    problems: list[str] = []
    template = templates.setup if phase == "start" else templates.started
    with server.clone(template) as (dsn, admin), \
            tempfile.TemporaryDirectory(prefix="review-dba-") as sync:
        clients = Clients(dsn, admin)
        holder: Connection = psycopg.connect(dsn, autocommit=True)
        try:
            holder.execute(sql.SQL("SET search_path TO {}").format(sql.Identifier(OLD_VERSION)))
            holder.execute("BEGIN")
            holder.execute("SELECT count(*) FROM items")
            args = (["start", str(templates.file), *BATCH] if phase == "start"
                    else ["complete", "--lock-wait", "0", "--lock-timeout", "0"])
            running = launch(args, dsn, Path(sync))
            pid = None
            try:
                if phase == "complete":
                    pid = _pgroll_backend(admin, waiting=True)
                    clients.round("behind the waiting executor", phase, roles=(OLD,),
                                  wait=False)
                    queued = sum(not f.done() for _, f in clients.pending)
                    if queued != 2:
                        problems.append(f"{queued} old-version writes queued behind the "
                                        "executor's lock request, expected 2")
                else:  # it polls pg_locks until the holder goes, and says so
                    deadline = time.monotonic() + 30
                    while "waiting for backend" not in _text(Path(sync, "err")) and \
                            time.monotonic() < deadline and running.poll() is None:
                        time.sleep(0.01)
                    pid = _pgroll_backend(admin)
                assert pid is not None, "the executor never showed up"
            finally:
                if pid is not None:
                    admin.execute("SELECT pg_terminate_backend(%s, 10000)", (pid,))
                result = running.wait(60)
            stderr = result.stderr
            clients.settle()
            if result.returncode != 3:
                problems.append(f"exit {result.returncode}, expected 3: {stderr}")
            waited = templates.plan.phase(Phase(phase))
            step = in_authors_terms(next(s for s in waited if s.relation == "items").summary
                                    if phase == "start" else waited[0].summary)
            problems += stderr_problems(stderr, phase, step, templates.file,
                                        notes=("waiting for backend",))
            if phase == "complete":
                problems += [f"the terminated complete changed the schema: {d}" for d in
                             fm.fingerprint_diff(templates.started_fp, fm.fingerprint(admin))]
            document = status_of(dsn)
            if document.get("status") != "In progress":
                problems.append(f"status after the termination is {document}")
            holder.execute("COMMIT")
            clients.round("after the termination", "between")
            args = ["start", str(templates.file), *BATCH] if phase == "start" else ["complete"]
            ok, found = _cli_recovery(args, dsn)
            problems += found
            if ok and phase == "start":
                clients.round("after the resumed start", "between")
                problems += _api_recovery("complete", dsn)[1]
            clients.round("after complete", "after", roles=(NEW, BASE), base_inserts=False)
            clients.settle()
        finally:
            holder.close()
            clients.close()
        model, found = clients.model()
        problems += found
        problems += check_end(admin, model, "complete", templates.done_fp, templates.done_dump)
    assert not problems, "\n".join(problems)


def _indexed_reference(server: Server, t: Templates) -> Fingerprint:
    """The catalog a clean start and complete of INDEXED gives."""
    with server.clone(t.setup) as (dsn, admin):
        runner = make_runner(dsn, init=False)
        try:
            runner.start(migration(INDEXED, CHANGE_NAME))
            runner.complete()
        finally:
            runner.close()
        return fm.fingerprint(admin)


@pytest.mark.parametrize("recovery", ["resume", "rollback"])
def test_dba_terminates_a_concurrent_index_build(server: Server, templates: Templates,
                                                 tmp_path: Path, recovery: str) -> None:
    """A transaction with an old snapshot makes ``CREATE INDEX CONCURRENTLY`` wait after it
    has made its index; the executor's backend is terminated there, leaving the index
    INVALID. Exit 3 naming the build; start again rebuilds it (a valid index, as a clean
    run's), rollback drops it; every row old-version clients wrote is there."""
    file = tmp_path / f"{CHANGE_NAME}.pgroll"
    file.write_text(INDEXED, encoding="utf-8")
    reference = _indexed_reference(server, templates) if recovery == "resume" else None
    build = next(s for s in make_plan(server, templates, INDEXED).start if s.index)
    problems: list[str] = []
    with server.clone(templates.setup) as (dsn, admin), \
            tempfile.TemporaryDirectory(prefix="review-cic-") as sync:
        clients = Clients(dsn, admin)
        snapshot: Connection = psycopg.connect(dsn, autocommit=True)
        try:
            snapshot.execute("BEGIN ISOLATION LEVEL REPEATABLE READ")
            snapshot.execute("SELECT count(*) FROM public.tags")
            running = launch(["start", str(file), *BATCH], dsn, Path(sync))
            pid = None
            try:
                deadline = time.monotonic() + 30
                while pid is None and time.monotonic() < deadline and running.poll() is None:
                    row = admin.execute(
                        "SELECT pid FROM pg_stat_activity WHERE datname = current_database() "
                        "AND starts_with(application_name, 'pgroll-dsl') "
                        "AND wait_event_type = 'Lock' "
                        "AND query LIKE 'CREATE INDEX CONCURRENTLY%'").fetchone()
                    pid = None if row is None else int(row[0])
                    time.sleep(0.01)
                clients.round("while the index builds", "start")
            finally:
                if pid is not None:
                    admin.execute("SELECT pg_terminate_backend(%s, 10000)", (pid,))
                result = running.wait(60)
            assert pid is not None, f"the build never waited: {result.describe()}"
            if result.returncode != 3:
                problems.append(f"exit {result.returncode}, expected 3: {result.describe()}")
            problems += stderr_problems(result.stderr, "start", in_authors_terms(build.summary),
                                        file, notes=("waiting for backend",))
            invalid = admin.execute("SELECT NOT indisvalid FROM pg_index WHERE indexrelid = "
                                    "to_regclass('public.items_val_idx')").fetchone()
            if invalid != (True,):
                problems.append(f"no INVALID index after the terminated build: {invalid}")
            snapshot.execute("COMMIT")
            clients.round("after the termination", "between")
            args = ["start", str(file), *BATCH] if recovery == "resume" else ["rollback"]
            ok, found = _cli_recovery(args, dsn)
            problems += found
            ending = "complete" if recovery == "resume" else "rollback"
            if ok and recovery == "resume":
                clients.round("after the resumed start", "between")
                runner = make_runner(dsn, init=False)
                try:
                    runner.complete()
                finally:
                    runner.close()
            if ending == "complete":
                clients.round("after complete", "after", roles=(NEW, BASE), base_inserts=False)
            else:
                clients.round("after rollback", "after", roles=(OLD, BASE))
            clients.settle()
        finally:
            snapshot.close()
            clients.close()
        model, found = clients.model()
        problems += found
        problems += check_end(admin, model, ending,
                              reference if reference is not None else templates.before, None)
    assert not problems, "\n".join(problems)


def make_plan(server: Server, t: Templates, text: str) -> Plan:
    with server.clone(t.setup) as (dsn, _admin):
        runner = make_runner(dsn, init=False)
        try:
            return runner.plan(migration(text, CHANGE_NAME))
        finally:
            runner.close()


def test_connection_cut_in_the_complete_of_start_with_complete(server: Server,
                                                               templates: Templates) -> None:
    """``start FILE --complete`` whose complete loses its connection half-way through its
    transaction: exit 3, the hint is `complete` (start is done), status In progress, nothing
    of the complete is left; `complete` then finishes with every row."""
    target = "complete:5"
    problems: list[str] = []
    with server.clone(templates.setup) as (dsn, admin):
        clients = Clients(dsn, admin)
        try:
            cut = run_cut(dsn, ["start", str(templates.file), *BATCH, "--complete"], target,
                          lambda in_tx: clients.round("the cut", "complete", wait=not in_tx))
            clients.settle()
            if not cut.reached or cut.returncode != 3:
                problems.append(f"expected exit 3 at {target}: {cut.describe()}")
            problems += stderr_problems(cut.stderr, "complete",
                                        step_named(templates.plan, "complete", target),
                                        templates.file)
            problems += [f"the cut complete changed the schema: {d}" for d in
                         fm.fingerprint_diff(templates.started_fp, fm.fingerprint(admin))]
            if (found := status_of(dsn)).get("status") != "In progress":
                problems.append(f"status after the cut is {found}")
            clients.round("after the cut", "between")
            problems += _cli_recovery(["complete"], dsn)[1]
            clients.round("after complete", "after", roles=(NEW, BASE), base_inserts=False)
            clients.settle()
        finally:
            clients.close()
        model, found_problems = clients.model()
        problems += found_problems
        problems += check_end(admin, model, "complete", templates.done_fp, templates.done_dump,
                              dsn)
    assert not problems, "\n".join(problems)


def _round_at_cut(clients: Clients, in_transaction: bool) -> None:
    clients.round("the cut", "complete", roles=(NEW, BASE), wait=not in_transaction,
                  base_inserts=False)


def test_connection_cut_around_the_drop_index_after_completes_transaction(
        server: Server, templates: Templates, tmp_path: Path) -> None:
    """A ``drop index`` runs after complete's transaction, on its own: the connection cut
    before it (complete committed, the index still there) and after it (the index gone, the
    phase not recorded finished). Each: exit 3, no traceback, the hint `complete`; status In
    progress; `complete` again finishes, and the catalog is a clean run's, every row there."""
    text = CHANGE + "drop index items_val_idx;\n"
    file = tmp_path / f"{CHANGE_NAME}.pgroll"
    file.write_text(text, encoding="utf-8")
    with server.clone(templates.setup) as (dsn, admin):
        admin.execute("CREATE INDEX items_val_idx ON public.items (val)")
        runner = make_runner(dsn, init=False)
        try:
            plan = runner.start(migration(text, CHANGE_NAME))
            runner.complete()
        finally:
            runner.close()
        reference = fm.fingerprint(admin)
    last = len(plan.complete)
    assert not plan.complete[-1].transactional, plan.complete[-1]
    problems: list[str] = []
    for n in (last, last + 1):
        with server.clone(templates.setup) as (dsn, admin):
            admin.execute("CREATE INDEX items_val_idx ON public.items (val)")
            runner = make_runner(dsn, init=False)
            try:
                runner.start(migration(text, CHANGE_NAME))
            finally:
                runner.close()
            clients = Clients(dsn, admin)
            try:
                cut = run_cut(dsn, ["complete"], f"complete:{n}", functools.partial(
                    _round_at_cut, clients))
                clients.settle()
                if not cut.reached or cut.returncode != 3:
                    problems.append(f"complete:{n}: expected exit 3: {cut.describe()}")
                named = (in_authors_terms(plan.complete[-1].summary) if n == last
                         else "complete stopped")
                problems += [f"complete:{n}: {p}" for p in stderr_problems(
                    cut.stderr, "complete", named, file)]
                if (found := status_of(dsn)).get("status") != "In progress":
                    problems.append(f"complete:{n}: status after the cut is {found}")
                clients.round("after the cut", "after", roles=(NEW, BASE), base_inserts=False)
                problems += [f"complete:{n}: {p}" for p in _cli_recovery(["complete"], dsn)[1]]
                clients.round("after complete", "after", roles=(NEW, BASE), base_inserts=False)
                clients.settle()
            finally:
                clients.close()
            model, found_problems = clients.model()
            problems += found_problems
            problems += [f"complete:{n}: {p}" for p in check_end(
                admin, model, "complete", reference, None)]
    assert not problems, "\n".join(problems)


def test_start_again_refuses_an_edited_file(server: Server, templates: Templates,
                                            tmp_path: Path) -> None:
    file = tmp_path / f"{CHANGE_NAME}.pgroll"
    file.write_text(CHANGE, encoding="utf-8")
    with server.clone(templates.setup) as (dsn, admin):
        cut = run_cut(dsn, ["start", str(file), *BATCH], "start:5", lambda _tx: None)
        if cut.returncode != 3:
            raise RuntimeError(cut.describe())
        file.write_text(CHANGE.replace("* 10", "* 100").replace("+ 1000", "+ 7"),
                        encoding="utf-8")
        again = cli(["start", str(file), *BATCH, "--complete"], dsn)
        applied = admin.execute("SELECT migration->'operations'->0->'alter_column'->>'up' "
                                "FROM pgroll.migrations WHERE name = %s",
                                (CHANGE_NAME,)).fetchone()
    assert again.returncode == 1 and "rollback" in again.stderr, (
        f"{again.describe()}\nthe history holds up = {applied}")


@pytest.mark.parametrize("command", [["start", "FILE"], ["rollback"]])
def test_a_dead_database_gets_one_line(templates: Templates, command: list[str]) -> None:
    """Nothing listens on the port: exit 2, one line that names the database, no traceback."""
    with socket_closed() as port:
        dsn = f"postgresql://postgres@127.0.0.1:{port}/nowhere?connect_timeout=3"
        args = [str(templates.file) if a == "FILE" else a for a in command]
        result = cli(args, dsn, timeout=30)
    assert result.returncode == 2, result.describe()
    assert fm.no_traceback(result) is None, result.describe()
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: cannot connect to database "
                                                   '"nowhere" on 127.0.0.1'), result.describe()


def test_a_cut_before_the_backfill_names_the_backfill(server: Server,
                                                      templates: Templates) -> None:
    target = f"start:{_backfill_step(templates.plan)}"
    with server.clone(templates.setup) as (dsn, _admin):
        cut = run_cut(dsn, ["start", str(templates.file), *BATCH], target, lambda _tx: None)
    if not cut.reached or cut.returncode != 3:
        raise RuntimeError(cut.describe())
    assert stderr_problems(cut.stderr, "start", step_named(templates.plan, "start", target),
                           templates.file) == [], cut.stderr


def test_a_lock_in_another_database_does_not_hold_up_the_executor(
        server: Server, templates: Templates) -> None:
    with server.clone(templates.setup) as (dsn, admin), \
            server.clone(templates.setup) as (_other, elsewhere):
        oid = "SELECT 'public.items'::regclass::oid"
        if admin.execute(oid).fetchone() != elsewhere.execute(oid).fetchone():
            raise RuntimeError("clones of one template should share the table's OID")
        elsewhere.execute("BEGIN")
        elsewhere.execute("SELECT count(*) FROM public.items")  # ACCESS SHARE, kept
        try:
            result = cli(["start", str(templates.file), *BATCH, "--lock-wait", "0.1"], dsn)
        finally:
            elsewhere.execute("ROLLBACK")
    if result.returncode != 0:
        raise RuntimeError(result.describe())
    assert "waiting for backend" not in result.stderr, result.stderr


@contextlib.contextmanager
def socket_closed() -> Iterator[int]:
    """A local port nothing listens on (bound, then closed)."""
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = int(probe.getsockname()[1])
    yield port


# ---- (b) a plain role that owns the tables ---------------------------------------------


@pytest.fixture(scope="module")
def owner(server: Server) -> Iterator[str]:
    """A login role without superuser, CREATEDB or CREATEROLE (dropped at the end)."""
    name = f"review_owner_{uuid.uuid4().hex[:8]}"
    server.admin.execute(sql.SQL("CREATE ROLE {} LOGIN").format(sql.Identifier(name)))
    try:
        yield name
    finally:
        for database in list(server.created):
            server.drop(database)
        server.admin.execute(sql.SQL("DROP ROLE IF EXISTS {}").format(sql.Identifier(name)))


def without_event_trigger(fingerprint: Fingerprint) -> Fingerprint:
    """The fingerprint less the state's ``raw_migration``: the function of the event trigger
    that only a superuser's init creates (docs/cli.md, init)."""
    return {key: [r for r in rows if not (key == "functions" and r[:2] == ("pgroll",
                                                                         "raw_migration"))]
            for key, rows in fingerprint.items()}


def as_role(dsn: str, role: str) -> str:
    return make_conninfo(dsn, user=role)


@dataclass
class Schedule:
    """The end state of one step-boundary schedule."""

    rows: list[tuple[Any, ...]]
    fingerprint: Fingerprint
    problems: list[str]
    writes: int


def role_schedule(server: Server, role: str | None, ending: str) -> Schedule:
    """Init, setup, seed, start INDEXED and complete or roll back, as ``role`` (the database
    owner) or the superuser, with every client writing at every boundary."""
    name = server.create()
    dsn = server.dsn(name)
    problems: list[str] = []
    with psycopg.connect(dsn, autocommit=True) as admin:
        if role is not None:
            admin.execute(sql.SQL("ALTER DATABASE {} OWNER TO {}").format(
                sql.Identifier(name), sql.Identifier(role)))
            dsn = as_role(dsn, role)
            plain = admin.execute(
                "SELECT NOT rolsuper AND NOT has_parameter_privilege(%s, "
                "'session_replication_role', 'SET') FROM pg_roles WHERE rolname = %s",
                (role, role)).fetchone()
            assert plain == (True,), "the owner must be a plain role (the backfill's WHEN path)"
        with psycopg.connect(dsn, autocommit=True) as own:
            apply_setup(dsn, own)
        before = fm.fingerprint(admin)
        clients = Clients(dsn, admin)
        runner = make_runner(dsn, init=False, on_step=boundary_hook(clients),
                             on_retry=lambda step, n, _d: problems.append(
                                 f"lock retry {n} on {step.summary}"))
        try:
            runner.start(migration(INDEXED, CHANGE_NAME))
            clients.settle()
            clients.round("between", "between")
            getattr(runner, ending)()
            clients.settle()
            if ending == "complete":
                clients.round("after", "after", roles=(NEW, BASE), base_inserts=False)
            else:
                clients.round("after", "after", roles=(OLD, BASE))
            clients.settle()
        except Exception as err:  # noqa: BLE001 - reported with the rest
            problems.append(f"the schedule failed: {type(err).__name__}: {err}")
        finally:
            runner.close()
            clients.close()
        model, found = clients.model()
        problems += found
        if ending == "rollback":
            problems += check_end(admin, model, ending, before, None)
        else:
            problems += _compare("new version after complete",
                                 _rows(admin, f"{NEW_VERSION}.items", NEW_COLUMNS), model.new,
                                 model.last)
            problems += [f"left over: {x}" for x in fm.internal_leftovers(admin)]
        rows = admin.execute("SELECT * FROM public.items ORDER BY id").fetchall()
        fingerprint = fm.fingerprint(admin)
    server.drop(name)
    return Schedule(rows, fingerprint, problems,
                    sum(len(c.writes) for c in clients.all.values()))


@pytest.mark.parametrize("ending", ["complete", "rollback"])
def test_a_plain_owner_migrates_like_a_superuser(server: Server, owner: str,
                                                 ending: str) -> None:
    """The same schedule (writes of three clients at every one of the ~40 boundaries) as the
    database's owner and as a superuser: the same rows, the same catalog, each equal to the
    model."""
    with ThreadPoolExecutor(max_workers=2) as pool:
        mine, reference = pool.map(lambda r: role_schedule(server, r, ending), [owner, None])
    assert not reference.problems, "superuser run:\n" + "\n".join(reference.problems)
    assert not mine.problems, "owner run:\n" + "\n".join(mine.problems)
    assert mine.writes == reference.writes > 150
    assert fm.fingerprint_diff(without_event_trigger(reference.fingerprint),
                               without_event_trigger(mine.fingerprint)) == []
    assert mine.rows == reference.rows


def test_a_plain_owner_with_free_running_writers_through_the_cli(
        server: Server, owner: str, templates: Templates) -> None:
    """``start`` then ``complete`` by the CLI as the database's owner while an old-version, a
    new-version (once its view exists) and a base-table client write without pause: every
    write is in the result, and the catalog is the superuser's clean run."""
    name = server.create()
    dsn = server.dsn(name)
    problems: list[str] = []
    with psycopg.connect(dsn, autocommit=True) as admin:
        admin.execute(sql.SQL("ALTER DATABASE {} OWNER TO {}").format(
            sql.Identifier(name), sql.Identifier(owner)))
        mine = as_role(dsn, owner)
        with psycopg.connect(mine, autocommit=True) as own:
            apply_setup(mine, own)
        clients = Clients(mine, admin)
        stop, phase = threading.Event(), ["start"]

        def loop(role: str) -> None:
            while not stop.is_set() and not (role == OLD and phase[0] == "after"):
                if role == NEW and NEW not in clients.all:
                    time.sleep(0.01)
                    with clients.lock:
                        if fm.relation_exists(clients.probe, NEW_VERSION, "items"):
                            clients.all[NEW] = Client(mine, NEW, NEW_VERSION)
                    continue
                client = clients.all[role]
                insert = client.seq % 2 == 0 and not (role == BASE and phase[0] in (
                    "complete", "after"))
                write = client.next_write("free", phase[0], insert)
                if client.submit(write).result(timeout=60).sqlstate in GONE:
                    return  # its version is gone: a deployed client would switch
                time.sleep(0.003)

        threads = [threading.Thread(target=loop, args=(r,), daemon=True)
                   for r in (OLD, NEW, BASE)]
        for thread in threads:
            thread.start()
        try:
            for args in (["start", str(templates.file), *BATCH], ["complete"]):
                phase[0] = args[0]
                result = cli(args, mine)
                if result.returncode != 0 or fm.no_traceback(result):
                    problems.append(result.describe())
                phase[0] = "between" if args[0] == "start" else "after"
                time.sleep(0.3)
        finally:
            stop.set()
            for thread in threads:
                thread.join(timeout=60)
            clients.close()
        model, found = clients.model()
        problems += found
        new = clients.all.get(NEW)
        if new is None or not any(w.ok for w in new.writes):
            problems.append("the new-version client never wrote")
        problems += check_end(admin, model, "complete",
                              without_event_trigger(templates.done_fp), None)
    server.drop(name)
    assert not problems, "\n".join(problems)


# ---- (c) a role short of one right -----------------------------------------------------

TAGS_AFTER = CHANGE + "alter table tags add note text;\n"
TAGS_FIRST = "alter table tags add note text;\n" + CHANGE


@dataclass(frozen=True)
class Shortage:
    """A role that owns items (and tags unless said otherwise) with every right the docs
    ask for, less one; what the migration is, and which step must fail."""

    change: str
    revoke: str  # SQL run as the superuser after the grants; {role} and {db} are filled in
    step: str  # a part of the failing step's summary
    owns_all: bool = True  # the role owns every table the migration touches


SHORTAGES = {
    "no CREATE on the database": Shortage(
        CHANGE, "REVOKE CREATE ON DATABASE {db} FROM {role}", "create version schema"),
    "no CREATE on schema public": Shortage(
        # (items gets two passes: the watch's sequence is the first object made in public)
        CHANGE, "REVOKE CREATE ON SCHEMA public FROM {role}", "backfill watch on items: counts"),
    "TRIGGER revoked from the owner": Shortage(
        CHANGE, "REVOKE TRIGGER ON public.items FROM {role}",
        "backfill watch on items: trigger on items"),
    "UPDATE revoked from the owner": Shortage(
        CHANGE, "REVOKE UPDATE ON public.items FROM {role}", "backfill items"),
    "a state table column it cannot update": Shortage(
        CHANGE, "REVOKE UPDATE ON pgroll.pgroll_dsl_plans FROM {role}; "
                "GRANT UPDATE (plan) ON pgroll.pgroll_dsl_plans TO {role}",
        "pgroll_dsl_plans"),
    "tags not its own, altered first": Shortage(
        TAGS_FIRST, "ALTER TABLE public.tags OWNER TO CURRENT_USER", "tags", owns_all=False),
    "tags not its own, altered after items": Shortage(
        TAGS_AFTER, "ALTER TABLE public.tags OWNER TO CURRENT_USER", "tags", owns_all=False),
}


@dataclass
class Attempt:
    """A start as the short role, and what it left."""

    returncode: int
    stderr: str
    problems: list[str]  # the schema or the data not as before, a client write lost
    rollback: str  # what `rollback` as the same role then said


def grant_owner_rights(admin: Connection, database: str, role: str) -> None:
    """What docs/cli.md asks of a role that runs migrations it does not own the database for:
    the tables, CREATE on the database and on schema public, the state schema's tables."""
    ident = sql.Identifier(role)
    for statement in ("ALTER TABLE public.items OWNER TO {r}",
                      "ALTER TABLE public.tags OWNER TO {r}",
                      "GRANT CREATE ON DATABASE {d} TO {r}",
                      "GRANT CREATE ON SCHEMA public TO {r}",
                      "GRANT USAGE ON SCHEMA pgroll TO {r}",
                      "GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA pgroll TO {r}"):
        admin.execute(sql.SQL(statement).format(r=ident, d=sql.Identifier(database)))


def attempt(server: Server, pool: Pool, role: str, shortage: Shortage,
            directory: Path) -> Attempt:
    with pool.lease() as t:
        return _attempt(server, t, role, shortage, directory)


def _attempt(server: Server, t: Templates, role: str, shortage: Shortage,
             directory: Path) -> Attempt:
    file = directory / f"{CHANGE_NAME}.pgroll"
    file.write_text(shortage.change, encoding="utf-8")
    with server.clone(t.setup) as (dsn, admin):
        database = str(admin.info.dbname)
        grant_owner_rights(admin, database, role)
        admin.execute(sql.SQL(shortage.revoke).format(role=sql.Identifier(role),
                                                      db=sql.Identifier(database)))
        before, dump = fm.fingerprint(admin), t.before_dump  # (no owners, no grants)
        clients = Clients(dsn, admin)  # the application, as the superuser
        stop = threading.Event()

        def loop() -> None:
            while not stop.is_set():
                client = clients.all[OLD]
                client.submit(client.next_write("free", "start", client.seq % 2 == 0)).result(60)
                time.sleep(0.003)

        writer = threading.Thread(target=loop, daemon=True)
        writer.start()
        try:
            result = cli(["start", str(file), *BATCH], as_role(dsn, role))
            after = _rollback_as(as_role(dsn, role))
        finally:
            stop.set()
            writer.join(timeout=60)
            clients.round("after", "after", roles=(OLD, BASE))
            clients.close()
        model, problems = clients.model()
        problems += check_end(admin, model, "rollback", before, dump, dsn)
        document = status_of(dsn)
        if document != {"schema": "public", "version": SETUP_NAME, "status": "Complete"}:
            problems.append(f"status is {document}")
    return Attempt(result.returncode, result.stderr, problems, after)


def _rollback_as(dsn: str) -> str:
    """What ``rollback`` says, through the API (the CLI's exceptions; its words)."""
    runner = make_runner(dsn, init=False)
    try:
        runner.rollback()
    except Exception as err:  # noqa: BLE001 - the outcome is the answer
        return f"{type(err).__name__}: {err}"
    finally:
        runner.close()
    return "rolled back"


@pytest.fixture(scope="module")
def attempts(server: Server, pool: Pool, owner: str,
             tmp_path_factory: pytest.TempPathFactory) -> dict[str, Attempt]:
    """Every shortage tried once (two at a time); the tests below judge the outcomes."""
    names = list(SHORTAGES)
    with ThreadPoolExecutor(max_workers=PARALLEL) as workers:
        found = workers.map(lambda n: attempt(server, pool, owner, SHORTAGES[n],
                                              tmp_path_factory.mktemp("shortage")), names)
        return dict(zip(names, found, strict=True))


# Found by this review: the role owned items but not tags; start failed at `add column
# tags.note`, and its rollback at `lock items, tags`, every time (LOCK TABLE tags needs rights
# on tags): items kept the copy, its triggers and functions, "In progress", and only another
# role could undo it. Start now checks that the role owns every table the plan alters.


@pytest.mark.parametrize("name", list(SHORTAGES))
def test_a_role_short_of_a_right_changes_nothing(attempts: dict[str, Attempt],
                                                 name: str) -> None:
    """Exit non-zero, one error line naming the failing step, no traceback; the schema
    exactly as before (fingerprint and pg_dump), status Complete on 01_setup, every row an
    old-version client wrote during the attempt there; `rollback` has nothing left to do."""
    found, shortage = attempts[name], SHORTAGES[name]
    assert found.returncode != 0, found.stderr
    assert "Traceback" not in found.stderr, found.stderr
    errors = [line for line in found.stderr.splitlines() if line.startswith("error: ")]
    assert len(errors) == 1, found.stderr
    assert shortage.step in errors[0], f"the failing step is not named:\n{found.stderr}"
    # A table it does not own is refused before the first step; a right short elsewhere,
    # at the step that needs it.
    assert any(reason in errors[0] for reason in (
        "permission denied", "must be owner", "does not own table")), found.stderr
    assert not found.problems, "\n".join(found.problems)
    assert found.rollback == "CommandError: no active migration", found.rollback


# Found by this review: every `permission denied` of a failed start got the hint "the role
# needs to own the tables it migrates", whatever right was missing (and a progress record that
# failed was blamed on the step before it).


@pytest.mark.parametrize("name", [
    "no CREATE on the database", "no CREATE on schema public",
    "TRIGGER revoked from the owner", "UPDATE revoked from the owner",
    "a state table column it cannot update"])
def test_the_hint_names_the_missing_right(attempts: dict[str, Attempt], name: str) -> None:
    """A role that owns every table it migrates is not told to own them, but to grant what
    the failing step needs; a progress record that fails is not blamed on a step."""
    found = attempts[name]
    assert SHORTAGES[name].owns_all
    assert "needs to own the tables" not in found.stderr, found.stderr
    assert "grant the role the privilege this step needs" in found.stderr, found.stderr
    if name == "a state table column it cannot update":
        assert "record the steps done in the state schema" in found.stderr, found.stderr


def test_complete_by_a_role_that_does_not_own_the_previous_version_schema(
        server: Server, templates: Templates, owner: str) -> None:
    """The superuser applied 01_setup (its version schema is the superuser's); the owner of
    the tables starts 02_change with clients writing, then complete must fail in its
    transaction (it cannot drop public_01_setup) with exit 3 and nothing changed, and
    rollback as the same role must restore the schema before start with every row."""
    problems: list[str] = []
    with server.clone(templates.setup) as (dsn, admin):
        grant_owner_rights(admin, str(admin.info.dbname), owner)
        admin.execute(sql.SQL("GRANT USAGE ON SCHEMA {} TO {}").format(
            sql.Identifier(OLD_VERSION), sql.Identifier(owner)))
        before, dump = fm.fingerprint(admin), fm.schema_dump(dsn)
        mine = as_role(dsn, owner)
        clients = Clients(dsn, admin)
        try:
            result = cli(["start", str(templates.file), *BATCH], mine)
            assert result.returncode == 0, result.describe()
            clients.round("between", "between")
            started = fm.fingerprint(admin)
            result = cli(["complete"], mine)
            assert result.returncode == 3, result.describe()
            assert fm.no_traceback(result) is None
            assert f"drop the previous version schema {OLD_VERSION}: must be owner" in \
                result.stderr, result.describe()
            assert fm.fingerprint_diff(started, fm.fingerprint(admin)) == []
            clients.round("after the failed complete", "between")
            result = cli(["rollback"], mine)
            assert result.returncode == 0, result.describe()
            clients.round("after rollback", "after", roles=(OLD, BASE))
            clients.settle()
        finally:
            clients.close()
        model, problems = clients.model()
        problems += check_end(admin, model, "rollback", before, dump, dsn)
    assert not problems, "\n".join(problems)


def test_connection_cut_while_a_failed_start_rolls_back(server: Server, pool: Pool,
                                                       owner: str) -> None:
    """Both at once: the owner lacks TRIGGER, so start fails at its first trigger and rolls
    back on its own, and the server ends the connection in the middle of that rollback.
    Exit 3 naming both causes, the hint `rollback`, status In progress; `rollback` as the
    same role then leaves the schema exactly as before with every row."""
    problems: list[str] = []
    with pool.lease() as t, server.clone(t.setup) as (dsn, admin):
        grant_owner_rights(admin, str(admin.info.dbname), owner)
        admin.execute(sql.SQL("REVOKE TRIGGER ON public.items FROM {}").format(
            sql.Identifier(owner)))
        before = fm.fingerprint(admin)
        mine = as_role(dsn, owner)
        clients = Clients(dsn, admin)
        try:
            cut = run_cut(mine, ["start", str(t.file), *BATCH], "rollback:4",
                          lambda in_tx: clients.round("the cut", "start", roles=(OLD, BASE),
                                                      wait=not in_tx), admin=dsn)
            clients.settle()
            if not cut.reached or cut.returncode != 3:
                problems.append(f"expected exit 3: {cut.describe()}")
            problems += stderr_problems(cut.stderr, "rollback", "terminating connection",
                                        t.file)
            if "permission denied for table items" not in cut.stderr:
                problems.append(f"the first failure is not named: {cut.stderr}")
            if (found := status_of(dsn)).get("status") != "In progress":
                problems.append(f"status after the cut is {found}")
            clients.round("after the cut", "start", roles=(OLD, BASE))
            problems += _cli_recovery(["rollback"], mine)[1]
            clients.round("after rollback", "after", roles=(OLD, BASE))
            clients.settle()
        finally:
            clients.close()
        model, found_problems = clients.model()
        problems += found_problems
        problems += check_end(admin, model, "rollback", before, t.before_dump, dsn)
    assert not problems, "\n".join(problems)


# Found by this review: the state's find_version_schema looked version schemas up in
# information_schema.schemata, which lists only the schemas the role that ran init may use:
# `status` said "No migrations" with 01_setup in the history, and 02_change was planned with
# no previous version schema, so its complete could never drop public_01_setup and failed at
# the old column its view still used. It reads pg_namespace now.
def test_status_and_complete_see_a_version_schema_of_another_role(
        server: Server, owner: str, templates: Templates) -> None:
    name = server.create()
    dsn = server.dsn(name)
    with psycopg.connect(dsn, autocommit=True) as admin:
        admin.execute(sql.SQL("ALTER DATABASE {} OWNER TO {}").format(
            sql.Identifier(name), sql.Identifier(owner)))
        mine = as_role(dsn, owner)
        make_runner(mine).close()  # init by the owner
        runner = make_runner(dsn, init=False)  # 01_setup by the superuser
        try:
            runner.start(migration(SETUP, SETUP_NAME))
            runner.complete()
        finally:
            runner.close()
        admin.execute("ALTER TABLE public.items OWNER TO " + sql.Identifier(owner).as_string(
            admin) + "; ALTER TABLE public.tags OWNER TO " + sql.Identifier(owner).as_string(
            admin))
        seed(admin)
        seen = status_of(mine)
        result = cli(["start", str(templates.file), *BATCH], mine)
        if result.returncode != 0:
            raise RuntimeError(result.describe())
        completed = cli(["complete"], mine)
        left = fm.schema_exists(admin, OLD_VERSION)
    server.drop(name)
    # The previous version schema is the superuser's: complete's first step drops it, and
    # fails in complete's transaction (nothing changed, as the test above shows).
    assert (seen, completed.returncode, left) == (
        {"schema": "public", "version": SETUP_NAME, "status": "Complete"}, 3, True), (
        f"status before start: {seen}; complete: {completed.describe()}; {OLD_VERSION} "
        f"{'is still there' if left else 'is gone'}")
    assert f"drop the previous version schema {OLD_VERSION}" in completed.stderr, (
        completed.describe())
