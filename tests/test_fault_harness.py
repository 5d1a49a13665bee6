"""The fault harness, in process: client writes at every step boundary of every phase.

For each migration of the corpus (every pair of operation kinds on ``items``, in both orders
where the order can matter, a few triples, and the issue's reproductions) and each ending
(complete, rollback), the executor reports every boundary between two steps through
``RunOptions.on_step``. At each boundary, each client that exists (old version, new version
once its schema exists, the physical table, the physical table with
``session_replication_role = replica`` as a logical replication apply worker writes it, and
an application deployed for the new version from the beginning, whose ``items`` is the
physical table until the new version schema exists and after rollback dropped it) inserts a
fresh row and updates one of its own.
Inside the executor's transaction (complete and rollback hold ACCESS EXCLUSIVE there) a write
would wait for the commit, so those are queued on the client's own thread and waited for after
the phase; elsewhere the hook submits every client's writes at once and waits for each, which
must not block.

Afterwards the model of ``fault_model`` says what every version must see for every row, and
the database must agree exactly (see ``check_completed`` and ``check_rolled_back``). The only
client failures allowed are the documented ones (``fault_model.classify``): E1, writes through
the old version once complete dropped it; E2, writes through the new version once rollback
dropped it; E3, inserts into the physical table after complete that leave out a NOT NULL
column the migration added; E4, a deployed client's write of a column only the new version
has, queued inside rollback's transaction, which met the physical table. Nor may the executor
need a lock retry: the clients only run single short statements, so a lock the executor cannot
get within lock_timeout is held by a client statement that is itself waiting for the executor
(a lock-order inversion, which under steady traffic makes the phase retry again and again).

Beyond the pairs and the hand-picked triples, a seeded random sample of migrations of three
and four distinct operation kinds (``fm.sample_specs``: applicable, accepted by the compiler,
not in the corpus already) runs the same schedule (``test_sampled_migrations_...``; ids are
the op keys). By default a small fixed sample (seed 0); for exploration:

* ``PGROLL_DSL_FAULT_SAMPLE=N``: draw N migrations instead (0: none);
* ``PGROLL_DSL_FAULT_SEED=S``: draw them with seed S (a larger N of the same seed begins
  with the smaller N's migrations, so a failure found in a large sample keeps its place);
* ``PGROLL_DSL_FAULT_OPS=3,4,5``: the numbers of operations drawn, in turn (default 3,4);
* ``PGROLL_DSL_FAULT_SPECS=a+b+c,d+e+f``: also run these migrations (op keys joined by
  ``+``, separated by commas), e.g. every ordering of an interacting triple;
* ``PGROLL_DSL_FAULT_SETUP=partitioned``: the sampled and listed migrations run on a
  partitioned ``items`` (``fm.PARTITIONED``; ids end in ``@partitioned``). An in-place
  type change last (``...+title_text``) failed there once; fixed, ``test_review_multi_ops``.

A second schedule lets threads write continuously instead (free-running), and a few focused
tests cover rollback under old-version inserts, complete under direct readers of the physical
table, and the compiler's refusals.
"""

from __future__ import annotations

import os
import threading
import time
from concurrent.futures import Future
from concurrent.futures import TimeoutError as FutureTimeout
from typing import TYPE_CHECKING, Any

import psycopg
import pytest

from pgroll_dsl import api
from pgroll_dsl.diagnostics import CompileError
from pgroll_dsl.plan.model import StepKind
from tests import fault_model as fm
from tests.fault_model import (
    BASE,
    BASE_SCHEMA,
    DEPLOYED,
    DEPLOYED_PATH,
    NEW,
    NEW_VERSION,
    OLD,
    OLD_VERSION,
    REPLICA,
    SCHEMA,
    STATS,
    Client,
    Outcome,
    Spec,
    Write,
)
from tests.live_helpers import dsn_of

# Seeded rows after the clients' own (``fm.SEED_ROWS``) that only the sweep before the
# backfill writes, one per column of the new version (but the generated ones): as many as
# the widest new version has, the old version's columns and one for each operation kind that
# adds a column (ten were too few for four such kinds in one migration).
SWEEP_ROWS = sum(1 for _, kind in BASE_SCHEMA.columns if kind not in ("id", *fm.GENERATED)) \
    + sum(len(op.after(BASE_SCHEMA).columns) > len(BASE_SCHEMA.columns) for op in fm.OP_KINDS)

if TYPE_CHECKING:
    from pgroll_dsl.backends.runner import StepEvent

pytestmark = [pytest.mark.postgres, pytest.mark.fault]

Connection = psycopg.Connection[tuple[Any, ...]]


def _unique(specs: list[Spec]) -> list[Spec]:
    seen: dict[str, Spec] = {}
    for s in specs:
        seen.setdefault(s.key, s)
    return list(seen.values())


# Every pair of operation kinds by default. PGROLL_DSL_FAULT_SCOPE=smoke keeps the issue's
# reproductions and the triples, which still hold every kind: CI runs the whole corpus on one
# server and the smoke set on the second major version it covers.
SCOPE = os.environ.get("PGROLL_DSL_FAULT_SCOPE", "full")
CORPUS = _unique([*fm.REPROS, *(fm.all_pairs() if SCOPE != "smoke" else []), *fm.TRIPLES])
ACCEPTED, REJECTED = fm.split_corpus(CORPUS)
# A seeded random sample of three- and four-operation migrations beyond the hand-picked ones
# (``fm.sample_specs``): SAMPLE_DEFAULT of them with seed 0 unless the environment asks for
# more, another seed, or explicit migrations (see the module docstring).
SAMPLE_DEFAULT = 20
SAMPLE_SIZE = int(os.environ.get("PGROLL_DSL_FAULT_SAMPLE", SAMPLE_DEFAULT))
SAMPLE_SEED = int(os.environ.get("PGROLL_DSL_FAULT_SEED", 0))
SAMPLE_OPS = tuple(int(n) for n in os.environ.get("PGROLL_DSL_FAULT_OPS", "3,4").split(","))
SAMPLE_SETUP = fm.SETUPS[os.environ.get("PGROLL_DSL_FAULT_SETUP", fm.PLAIN.key)]
EXPLICIT = [fm.spec(*key.strip().split("+"), setup=SAMPLE_SETUP)
            for key in os.environ.get("PGROLL_DSL_FAULT_SPECS", "").split(",") if key.strip()]
SAMPLED = _unique([*EXPLICIT, *fm.sample_specs(SAMPLE_SIZE, SAMPLE_SEED, SAMPLE_OPS,
                                               exclude=[s.key for s in CORPUS],
                                               setup=SAMPLE_SETUP)])
# Pairs that cannot be one migration: both rewrite qty through a copy (PGD320: write the final
# definition in one operation). Checked below: exactly these, and only with PGD3xx codes.
EXPECTED_REJECTED = {"qty_bigint+check_qty": "PGD320", "check_qty+qty_bigint": "PGD320"}


@pytest.fixture(autouse=True, scope="module")
def _summary(request: pytest.FixtureRequest) -> None:
    fm.register_summary(request.config)
    STATS["corpus migrations (accepted)"] = len(ACCEPTED)
    STATS["corpus migrations (refused by the compiler)"] = len(REJECTED)
    STATS["corpus: operation kinds"] = len(fm.OP_KINDS)
    STATS["corpus: pairs (both orders where the order can matter)"] = len(fm.all_pairs())
    STATS["corpus: triples"] = len(fm.TRIPLES)
    STATS["corpus: issue reproductions"] = len(fm.REPROS)
    STATS[f"sampled migrations (seed {SAMPLE_SEED})"] = len(SAMPLED)


# ---- the step-boundary schedule ------------------------------------------------------------


class StepWriter:
    """The ``on_step`` hook: at every boundary, every existing client inserts and updates."""

    def __init__(self, dsn: str, s: Spec, outcome: Outcome) -> None:
        self.dsn = dsn
        self.spec = s
        self.outcome = outcome
        self.clients: dict[str, Client] = {
            OLD: Client(dsn, OLD, OLD_VERSION),
            BASE: Client(dsn, BASE, SCHEMA),
            REPLICA: Client(dsn, REPLICA, SCHEMA),
            DEPLOYED: Client(dsn, DEPLOYED, DEPLOYED_PATH),
        }
        self.probe = psycopg.connect(dsn, autocommit=True)
        self.pending: list[tuple[Write, Future[Write]]] = []
        self.boundaries: list[str] = []
        self.seen: set[tuple[str, int]] = set()
        self.retries: list[str] = []
        self.lock = threading.Lock()

    def __call__(self, event: StepEvent) -> None:
        where = f"{event.phase.value} boundary {event.index + 1}/{event.total + 1}" + (
            " (in transaction)" if event.in_transaction else "")
        try:
            self.boundaries.append(where)
            if (event.phase.value, event.index) in self.seen:
                return  # the executor retries a transaction: its writes were issued already
            self.seen.add((event.phase.value, event.index))
            fm.count("step boundaries", 1)
            self.round(where, event.phase.value, wait=not event.in_transaction)
            step = event.step
            if step is not None and step.kind is StepKind.BACKFILL \
                    and not event.in_transaction:
                self.sweep(where, event.phase.value)
        except Exception as err:  # noqa: BLE001 - never let the hook break the executor
            self.outcome.add(f"the on_step hook failed at {where}: {type(err).__name__}: {err}")

    def retried(self, step: Any, attempt: int, delay: float) -> None:
        """``on_retry``: a lock the executor asked for was not granted within lock_timeout."""
        self.retries.append(f"{step.summary} (attempt {attempt})")

    def round(self, where: str, phase: str, wait: bool = True) -> None:
        """Each client inserts a row and updates one of its rows (``fm.write_round``).

        Inside a transaction the writes are only queued; the hook returns once each client
        is either done or waiting for a lock, so that what the executor does next always
        meets the client statement in flight (a deterministic schedule, not a race).
        """
        with self.lock:
            visible = fm.relation_exists(self.probe, NEW_VERSION, "items")
            if NEW not in self.clients and visible:
                self.clients[NEW] = Client(self.dsn, NEW, NEW_VERSION)
            submitted = fm.write_round(self.clients, self.spec, visible, where, phase)
            self.outcome.writes.extend(write for write, _ in submitted)
            if not wait:
                self.pending.extend(submitted)
                self.await_blocked()
                return
            for write, future in submitted:
                try:
                    future.result(timeout=fm.SYNC_WRITE_TIMEOUT)
                except FutureTimeout:
                    self.outcome.add(f"a client write blocked for {fm.SYNC_WRITE_TIMEOUT}s "
                                     f"at a boundary outside any transaction: "
                                     f"{write.describe()}")
                    self.pending.append((write, future))

    def sweep(self, where: str, phase: str) -> None:
        """Before the backfill: the new version's client sets each of its columns alone, on
        seeded rows that no write has touched (``SWEEP_ROWS``: the backfill has not reached
        them, and no earlier round has cleared their marker).

        Such a write changes one copy and leaves every ``down`` with nothing to change (the
        odd seeded rows hold what ``DropName``'s gives): the triggers that skip it must still
        clear the row's marker, or the backfill overwrites what the client wrote. And it
        leaves the copies it does not name as the backfill would have left them: ``up`` of
        the row as it was, not of the value written (``score`` after ``SET val = ...``).
        """
        client = self.clients.get(NEW)
        if client is None:
            return
        final = self.spec.final
        columns = [name for name in final.names()
                   if name != "id" and final.kind_of(name) not in fm.GENERATED]
        assert len(columns) <= SWEEP_ROWS, columns
        for index, column in enumerate(columns):
            write = client.update_one(self.spec.final, where + " (sweep)", phase,
                                      fm.SEED_ROWS + 1 + index, column)
            self.outcome.writes.append(write)
            fm.count("sweep writes before the backfill", 1)
            try:
                client.submit(write).result(timeout=fm.SYNC_WRITE_TIMEOUT)
            except FutureTimeout:
                self.outcome.add(f"a sweep write blocked for {fm.SYNC_WRITE_TIMEOUT}s: "
                                 f"{write.describe()}")

    def await_blocked(self) -> None:
        for problem in fm.await_in_flight(self.probe, self.clients.values(), self.pending):
            self.outcome.add(problem)

    def settle(self) -> None:
        """Wait for the writes queued inside a transaction (it has committed by now)."""
        for problem in fm.settled(self.pending):
            self.outcome.add(problem)

    def close(self) -> None:
        for client in self.clients.values():
            client.close()
        self.probe.close()


def deployed_unexercised(outcome: Outcome, ending: str) -> list[str]:
    """What the deployed client never did that the schedule is there for: write the table
    during start (before the new version schema exists), write through the new version's
    view, and (when it ends in rollback) write the table once rollback dropped the schema."""
    wrote = {(w.phase, w.through) for w in outcome.writes if w.role == DEPLOYED and w.ok}
    missing = []
    if ("start", SCHEMA) not in wrote:
        missing.append("the table during start")
    if not any(through == NEW_VERSION for _, through in wrote):
        missing.append("through the new version's view")
    if ending == "rollback" and ("after", SCHEMA) not in wrote:
        missing.append("the table after rollback")
    return [f"the deployed client never wrote {what}: the schedule did not test it"
            for what in missing]


def _first_line(err: BaseException) -> str:
    text = str(err).strip()
    return f"{type(err).__name__}: {text.splitlines()[0] if text else ''}"


def run_step_schedule(conn: Connection, dsn: str, s: Spec, ending: str) -> Outcome:
    """Start (and complete or roll back) ``s`` with writes at every boundary; check it all."""
    ref = fm.reference(conn, dsn, s) if ending == "complete" else None
    fm.prepare(conn, dsn, rows=fm.SEED_ROWS + SWEEP_ROWS, setup=s.setup)
    before = fm.fingerprint(conn)
    outcome = Outcome(s)
    writer = StepWriter(dsn, s, outcome)
    runner = fm.make_runner(dsn, on_step=writer, on_retry=writer.retried)
    fm.count("schedules (step boundaries)", 1)
    started = False
    try:
        try:
            runner.start(fm.compile_spec(s))
            started = True
        except Exception as err:  # noqa: BLE001 - reported with everything else
            outcome.add(f"start failed: {_first_line(err)}")
        writer.settle()
        if started:
            writer.round("between start and " + ending, "between")
            try:
                getattr(runner, ending)()
            except Exception as err:  # noqa: BLE001
                outcome.add(f"{ending} failed: {_first_line(err)}")
            writer.settle()
        writer.round(f"after {ending}", "after")
        writer.settle()
    finally:
        runner.close()
        writer.close()
    for retry in writer.retries:
        outcome.add(f"lock retry: {retry}: the executor waited for a lock held by a client "
                    "statement that was itself waiting for the executor (lock-order inversion: "
                    "clients lock a view before its table)")
    boundaries = [b for b in writer.boundaries if b.startswith(("start", ending))]
    if started and not any(b.startswith(ending) for b in boundaries):
        outcome.add(f"on_step was never called during {ending}")
    for problem in deployed_unexercised(outcome, ending) if started else []:
        outcome.add(problem)
    fm.build_model(outcome, conn, ending, seeded=fm.SEED_ROWS + SWEEP_ROWS)
    if started or ending == "rollback":
        if ending == "complete":
            assert ref is not None
            fm.check_completed(outcome, conn, dsn, ref)
        else:
            fm.check_rolled_back(outcome, conn, dsn, before)
    return outcome


@pytest.mark.parametrize("ending", ["complete", "rollback"])
@pytest.mark.parametrize("s", ACCEPTED, ids=lambda s: s.key)
def test_writes_at_every_step_boundary(pg_conn: Connection, pg_dsn: str, s: Spec,
                                       ending: str) -> None:
    outcome = run_step_schedule(pg_conn, dsn_of(pg_dsn, pg_conn), s, ending)
    outcome.fail_if_problems(f"writes at every step boundary, then {ending}")


@pytest.mark.parametrize("ending", ["complete", "rollback"])
@pytest.mark.parametrize("s", SAMPLED, ids=lambda s: s.key)
def test_sampled_migrations_at_every_step_boundary(pg_conn: Connection, pg_dsn: str, s: Spec,
                                                   ending: str) -> None:
    """The step-boundary schedule on the random sample of three and four operations."""
    outcome = run_step_schedule(pg_conn, dsn_of(pg_dsn, pg_conn), s, ending)
    outcome.fail_if_problems(f"writes at every step boundary, then {ending}")


def test_the_sample_is_fixed_and_acceptable() -> None:
    """The default sample is the same list on every run (ids stay stable), holds both sizes,
    and only migrations the compiler accepts that the hand-picked corpus does not hold."""
    corpus = {s.key for s in CORPUS}
    first = fm.sample_specs(SAMPLE_DEFAULT, 0, exclude=corpus)
    again = fm.sample_specs(SAMPLE_DEFAULT, 0, exclude=corpus)
    assert [s.key for s in first] == [s.key for s in again]
    assert len(first) == SAMPLE_DEFAULT
    assert {len(s.ops) for s in first} == {3, 4}
    assert not corpus & {s.key for s in first}
    assert all(len(set(s.ops)) == len(s.ops) and s.applicable() for s in first)
    assert fm.split_corpus(first)[1] == {}
    # A larger sample of the same seed begins with the smaller one.
    assert [s.key for s in fm.sample_specs(2 * SAMPLE_DEFAULT, 0, exclude=corpus)][
        :SAMPLE_DEFAULT] == [s.key for s in first]


def test_the_sweep_has_a_row_for_every_column_of_the_widest_version() -> None:
    """A migration of every operation kind that adds a column has the widest new version;
    the sweep sets each of its columns on a row of its own (``StepWriter.sweep``)."""
    adders = [op for op in fm.OP_KINDS
              if len(op.after(BASE_SCHEMA).columns) > len(BASE_SCHEMA.columns)]
    widest = Spec(tuple(adders))
    assert widest.applicable() and fm.offline_rejection(widest) is None
    columns = [n for n in widest.final.names()
               if n != "id" and widest.final.kind_of(n) not in fm.GENERATED]
    assert len(columns) == SWEEP_ROWS


# ---- free-running writers ------------------------------------------------------------------


class Phase:
    """What the main thread is doing, for labelling the writes of free-running clients."""

    def __init__(self) -> None:
        self.name = "start"

    def __call__(self) -> str:
        return self.name


def run_free_schedule(conn: Connection, dsn: str, s: Spec, ending: str,
                      rows: int = 45) -> Outcome:
    """Threads write through old, new (once it exists), base and replica-role base clients,
    continuously, during start and then complete or rollback; every write is counted and must
    be in the result."""
    ref = fm.reference(conn, dsn, s) if ending == "complete" else None
    fm.prepare(conn, dsn, rows=rows, setup=s.setup)
    before = fm.fingerprint(conn)
    dump = fm.schema_dump(dsn) if ending == "rollback" else None
    outcome = Outcome(s)
    phase = Phase()
    stop = threading.Event()
    probe = psycopg.connect(dsn, autocommit=True)
    clients = {OLD: Client(dsn, OLD, OLD_VERSION, seeded=rows),
               BASE: Client(dsn, BASE, SCHEMA, seeded=rows),
               REPLICA: Client(dsn, REPLICA, SCHEMA, seeded=rows),
               NEW: Client(dsn, NEW, NEW_VERSION, seeded=rows)}
    probe_lock = threading.Lock()

    def new_exists() -> bool:
        with probe_lock:
            return fm.relation_exists(probe, NEW_VERSION, "items")

    threads = [
        fm.free_writer(clients[OLD], BASE_SCHEMA, stop, phase),
        fm.free_writer(clients[BASE], BASE_SCHEMA, stop, phase, s.base_columns(),
                       stop_on_expected_gone=False),
        fm.free_writer(clients[REPLICA], BASE_SCHEMA, stop, phase, s.base_columns(),
                       stop_on_expected_gone=False),
        fm.free_writer(clients[NEW], s.final, stop, phase, wait_for=new_exists),
    ]
    fm.count("schedules (free-running writers)", 1)
    runner = fm.make_runner(dsn)
    try:
        time.sleep(0.2)
        try:
            runner.start(fm.compile_spec(s))
            phase.name = "between"
            time.sleep(0.3)  # the new version's clients get deployed
            phase.name = ending
            getattr(runner, ending)()
        except Exception as err:  # noqa: BLE001
            outcome.add(f"{phase.name} failed: {_first_line(err)}")
        phase.name = "after"
        time.sleep(0.2)
    finally:
        stop.set()
        for thread in threads:
            thread.join(timeout=60)
            if thread.is_alive():
                outcome.add(f"{thread.name} hung: a client was blocked")
        runner.close()
        for client in clients.values():
            outcome.writes.extend(client.writes)
            client.close()
        probe.close()
    if not any(w.role == NEW and w.ok for w in outcome.writes):
        outcome.add("the new-version writer never wrote: the schedule did not test it")
    fm.build_model(outcome, conn, ending, seeded=rows)
    if ending == "complete":
        assert ref is not None
        fm.check_completed(outcome, conn, dsn, ref)
    else:
        fm.check_rolled_back(outcome, conn, dsn, before, dump)
    return outcome


# And one that keeps every column's name: base-table writes before start have the shape
# the table has after complete, yet they are old-version writes (``fm.build_model``).
SAME_NAMES = fm.spec("val_not_null", "ref_bigint", "qty_bigint")
FREE_RUNNING = _unique([*fm.REPROS, *fm.TRIPLES, SAME_NAMES])


@pytest.mark.parametrize("ending", ["complete", "rollback"])
@pytest.mark.parametrize("s", FREE_RUNNING, ids=lambda s: s.key)
def test_free_running_writers(pg_conn: Connection, pg_dsn: str, s: Spec, ending: str) -> None:
    outcome = run_free_schedule(pg_conn, dsn_of(pg_dsn, pg_conn), s, ending)
    outcome.fail_if_problems(f"free-running writers during start and {ending}")


# ---- focused schedules -------------------------------------------------------------------


def test_rollback_while_three_clients_insert_into_the_old_version(
        pg_conn: Connection, pg_dsn: str) -> None:
    """Rollback of an add_column NOT NULL with up drops the trigger that fills the column and
    the column itself; an old-version insert in between (trigger gone, column and its NOT NULL
    check still there) would fail. Not one of three continuous inserters may fail."""
    dsn = dsn_of(pg_dsn, pg_conn)
    s = fm.spec("score_add")
    fm.prepare(pg_conn, dsn)
    before, dump = fm.fingerprint(pg_conn), fm.schema_dump(dsn)
    outcome = Outcome(s)
    runner = fm.make_runner(dsn)
    runner.start(fm.compile_spec(s))
    phase = Phase()
    phase.name = "rollback"
    stop = threading.Event()
    inserters = [Client(dsn, OLD, OLD_VERSION, id_base=400_000 + 10_000 * i) for i in range(3)]
    threads = [fm.free_writer(c, BASE_SCHEMA, stop, phase, pause=0.0, inserts_only=True)
               for c in inserters]
    try:
        time.sleep(0.3)
        runner.rollback()
        time.sleep(0.3)
    finally:
        stop.set()
        for thread in threads:
            thread.join(timeout=60)
        runner.close()
        for c in inserters:
            outcome.writes.extend(c.writes)
            c.close()
    fm.count("schedules (focused)", 1)
    inserted = sum(w.ok for w in outcome.writes)
    assert inserted > 10, f"only {inserted} inserts ran: the schedule tested nothing"
    fm.build_model(outcome, pg_conn, "rollback")
    fm.check_rolled_back(outcome, pg_conn, dsn, before, dump)
    outcome.fail_if_problems("old-version inserts during rollback")


PHYSICAL_SETUP = "create table t (id int primary key, n int);"
PHYSICAL_CHANGE = "alter table t alter n type bigint up `n::bigint` down `n::int`;"


def test_complete_while_clients_read_the_physical_table(pg_conn: Connection,
                                                        pg_dsn: str) -> None:
    """Complete replaces ``t.n`` by its copy (drop the old column, rename the copy). Three
    clients that read the physical table (``select n from t``, search_path public) must
    never see the column missing: the swap is one transaction."""
    dsn = dsn_of(pg_dsn, pg_conn)
    runner = fm.make_runner(dsn)
    runner.start(api.compile_source(PHYSICAL_SETUP, "01_t.pgroll").migration)
    runner.complete()
    pg_conn.execute("insert into t select g, g from generate_series(1, 300) g")
    runner.start(api.compile_source(PHYSICAL_CHANGE, "02_t.pgroll").migration)
    stop = threading.Event()
    failures: list[str] = []
    reads = [0, 0, 0]
    slowest = [0.0]

    def reader(slot: int) -> None:
        with fm.connect_client(dsn, SCHEMA, f"reader {slot}") as conn:
            # Not prepared: a cached plan whose result type changes (int -> bigint, the
            # point of the migration) fails whatever the executor does (PostgreSQL's rule).
            conn.prepare_threshold = None
            while not stop.is_set():
                began = time.perf_counter()
                try:
                    rows = conn.execute("select n from t").fetchall()
                    if len(rows) != 300:
                        failures.append(f"reader {slot} saw {len(rows)} rows")
                except psycopg.Error as err:
                    failures.append(f"reader {slot}: {err.sqlstate}: {_first_line(err)}")
                slowest[0] = max(slowest[0], time.perf_counter() - began)
                reads[slot] += 1

    threads = [threading.Thread(target=reader, args=(i,), daemon=True) for i in range(3)]
    for thread in threads:
        thread.start()
    try:
        time.sleep(0.3)
        runner.complete()
        time.sleep(0.3)
    finally:
        stop.set()
        for thread in threads:
            thread.join(timeout=60)
        runner.close()
    fm.count("schedules (focused)", 1)
    fm.count("client reads", sum(reads))
    assert min(reads) > 5, f"reads per reader {reads}: the schedule tested nothing"
    assert not failures, failures[:10]
    assert [c[0] for c in fm.columns_of(pg_conn, "t")] == ["id", "n"]
    assert fm.columns_of(pg_conn, "t")[1][1] == "bigint"
    assert pg_conn.execute("select sum(n) from t").fetchone() == (45150,)
    assert slowest[0] < 5.0, f"a reader waited {slowest[0]:.1f}s behind complete"


# ---- what the compiler refuses -----------------------------------------------------------


def test_the_refused_pairs_are_exactly_the_impossible_ones() -> None:
    """The pairs refused before anything runs are the known impossible combinations, each
    with a PGD3xx diagnostic; every other pair is accepted (and run above)."""
    _, rejected = fm.split_corpus(_unique([*fm.REPROS, *fm.all_pairs(), *fm.TRIPLES]))
    assert dict(rejected) == EXPECTED_REJECTED
    assert all(code.startswith("PGD3") for codes in rejected.values()
               for code in codes.split(","))


def test_a_refused_pair_changes_nothing(pg_conn: Connection, pg_dsn: str) -> None:
    """Refused at validation: no history row, no version schema, no column."""
    dsn = dsn_of(pg_dsn, pg_conn)
    fm.prepare(pg_conn, dsn)
    before = fm.fingerprint(pg_conn)
    runner = fm.make_runner(dsn)
    try:
        with pytest.raises(CompileError) as refused:
            runner.start(fm.compile_spec(fm.spec("qty_bigint", "check_qty")))
        assert {d.code.id for d in refused.value.diagnostics} == {"PGD320"}
        assert runner.status()["status"] == "Complete"
        assert runner.status()["version"] == fm.SETUP_NAME
    finally:
        runner.close()
    assert fm.fingerprint_diff(before, fm.fingerprint(pg_conn)) == []
