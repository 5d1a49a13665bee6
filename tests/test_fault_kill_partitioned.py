"""The kill harness on a partitioned table: SIGKILL at every step boundary, then recovery.

``test_fault_kill`` kills the real command line at every step boundary of migrations of a
plain ``items``; a partitioned table has steps of its own that no plain plan has: a
backfill per leaf partition, an index built concurrently on each leaf and attached to its
parent's, foreign keys added NOT VALID and validated partition by partition, start's last
check that the partitions are those it was planned for, the first step of complete and of
rollback that locks every changed table (parents before partitions), and rollback's last
step, which drops start's columns from partitions that left the tree meanwhile.

Here ``items`` (the model's columns, ``fault_model.BASE_SCHEMA``) is partitioned by RANGE
(id): ``items_low`` a plain leaf, ``items_high`` sub-partitioned by HASH (id) into two
leaves; the seeded rows fall into all three leaves. One migration (``SPEC``) adds a NOT
NULL column computed by ``up``, widens ``qty`` to bigint through a copy with ``up`` and
``down``, creates an index and adds a foreign key to ``refs``. The kill points, their
recoveries and every check (each client write row by row in each version, the catalog of a
clean run after complete, the schema exactly as before after rollback, no ``_pgroll``
column, trigger or function left on any partition) are ``test_fault_kill``'s.

With more than one copy on the table, as here, the planner backfills in one pass after the
sync triggers; ``WATCH_SPEC`` (the type change alone) gets two passes per leaf under the
backfill's watch (statement triggers on items and on each partition, a count per leaf), and
start is killed at every boundary next to those steps.

The cost is bounded by killing several boundaries on one database (``jobs_of``): a kill
point costs one process, not a database and two. Complete and rollback run in one
transaction, so a kill inside either leaves the database as it was and the next boundary is
killed on the same one; a killed start is resumed by the next killed run, or rolled back
before it. Each chain still ends with the recovery and every check.

A partition detached between start and rollback keeps the columns start added unless
rollback drops them: once rollback is over, the partition attaches again as it was, and the
schema must then be exactly as before start. A start killed before its partition check and
run again after a partition left must stop there and roll itself back the same way.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor

import pytest

from pgroll_dsl.plan.model import Plan
from tests import fault_model as fm
from tests import test_fault_kill as fk

pytestmark = [pytest.mark.postgres, pytest.mark.fault]

_summary = fk._summary  # the harness's size at the end of the session

PARTITIONED = fm.PARTITIONED  # items partitioned: see the module docstring
# How ``items_low`` attaches again (the setup's bounds).
ATTACH_LOW = "ALTER TABLE public.items ATTACH PARTITION public.items_low " \
             "FOR VALUES FROM (MINVALUE) TO (9)"

# (a) a NOT NULL column with ``up``, (b) int -> bigint with ``up``/``down``, (c) an index,
# (d) a foreign key to refs.
SPEC = fm.Spec((fm.OPS["score_add"], fm.OPS["qty_bigint"], fm.OPS["index_val"], fm.RefFk()),
               PARTITIONED)
SMOKE = os.environ.get("PGROLL_DSL_FAULT_SCOPE") == "smoke"
CHAINS = 2  # databases the start boundaries followed by a rollback are spread over


@pytest.fixture(scope="module")
def server(pg_dsn: str) -> Iterator[fk.Server]:
    """One server for the module: the templates are made once for all its tests."""
    found = fk.Server(pg_dsn)
    try:
        yield found
    finally:
        found.close()


@pytest.fixture(scope="module")
def templates(server: fk.Server, tmp_path_factory: pytest.TempPathFactory) -> fk.Templates:
    return fk.make_templates(server, SPEC, tmp_path_factory.mktemp("partitioned"))


Job = tuple[str, list[int], str]  # (how: "point" | "chain" | "cycles", steps, recovery)


def jobs_of(phase: str, total: int) -> list[Job]:
    """``test_fault_kill``'s schedule of ``phase`` (``fk.schedule``, ``total`` steps) as jobs
    of ``run_job``, at a bounded cost: a process a kill point, not a database.

    Complete and rollback run in one transaction: a kill anywhere inside leaves the database
    as it was, so the next boundary is killed on the same database, and the recovery follows
    the last (two chains: odd and even boundaries). A start killed where the schedule says
    resume is resumed by the run killed at the next such boundary (one chain, recovered
    after the last); one killed where it says rollback is rolled back before the next is
    killed (``rollback_cycles``, on ``CHAINS`` databases). The smoke scope keeps the first
    and the last boundary only, each on a database of its own."""
    schedule = fk.schedule(phase, total)
    if SMOKE:
        return [("point", [n], recovery)
                for n, recovery in dict.fromkeys(p for p in schedule if p[0] in (1, total + 1))]
    if phase != "start":
        return [("chain", [n for n, _ in schedule if n % 2 == odd], phase) for odd in (1, 0)]
    resumed = sorted({n for n, recovery in schedule if recovery == "resume"})
    rolled_back = sorted({n for n, recovery in schedule if recovery == "rollback"})
    return [("chain", resumed, "resume"),
            *(("cycles", rolled_back[i::CHAINS], "rollback") for i in range(CHAINS))]


def run_job(server: fk.Server, t: fk.Templates, phase: str, job: Job) -> list[str]:
    how, steps, recovery = job
    if how == "cycles":
        return rollback_cycles(server, t, steps)
    targets = [f"{phase}:{n}" for n in steps]
    return fk.kill_point(server, t, phase, targets if how == "chain" else targets[0],
                         recovery, use_cli_status=steps[0] == 1)


def rollback_cycles(server: fk.Server, t: fk.Templates, steps: list[int]) -> list[str]:
    """On one database, for each ``n`` of ``steps``: start killed before step ``n``, then
    rollback (in process: a command line's start-up for each would double the cost), after
    which the schema must be exactly as before start (nothing left on any partition); the
    clients write after each. The rows are checked after the last."""
    outcome = fm.Outcome(t.spec)
    command = fk.PHASE_COMMANDS["start"](t)
    tag = f"[start:{steps[0]}, ..., start:{steps[-1]}, each -> rollback]"
    fm.count("kill points", len(steps))
    with server.clone(t.setup) as (dsn, admin):
        clients = fk.Round(dsn, t.spec, outcome, t.rows)
        try:
            for n in steps:
                moment = f"after the rollback from start:{n}"
                if not (fk.kill(outcome, clients, command, dsn, admin, f"start:{n}", "between")
                        and fk.recover(outcome, ["rollback"], dsn, moment, in_process=True)):
                    return [f"{tag} {p}" for p in outcome.problems]
                fk.check_status(outcome, dsn, admin, moment,
                                {"status": "Complete", "version": fm.SETUP_NAME})
                for diff in fm.fingerprint_diff(t.before, fm.fingerprint(admin)):
                    outcome.add(f"{moment}: {diff}")
                clients.write(admin, moment, "after")
        finally:
            clients.close()
        fk.final_checks(outcome, admin, dsn, t, "rollback")
    return [f"{tag} {p}" for p in outcome.problems]


@pytest.mark.parametrize("phase", ["start", "complete", "rollback"])
def test_kill_at_every_step_boundary_of_a_partitioned_table(server: fk.Server,
                                                            templates: fk.Templates,
                                                            phase: str) -> None:
    """Every boundary of the phase is killed once, then recovered as ``fk.schedule`` says:
    every row each client wrote, the catalog after complete, the schema after rollback."""
    total = templates.totals[phase]
    jobs = jobs_of(phase, total)
    fk.report(SPEC, f"SIGKILL before every step of {phase} ({total} steps) of a partitioned "
                    f"table, then recovery", run_jobs(server, templates, phase, jobs),
              sum(len(job[1]) for job in jobs))


def run_jobs(server: fk.Server, t: fk.Templates, phase: str, jobs: list[Job]) -> list[str]:
    """The problems of ``jobs``, two at a time (each on a database of its own)."""
    with ThreadPoolExecutor(max_workers=fk.PARALLEL) as pool:
        return [p for found in pool.map(lambda job: run_job(server, t, phase, job), jobs)
                for p in found]


# Alone on the table, the copy of qty is backfilled in two passes per leaf, the first
# before the sync triggers exist, under the backfill's watch: a statement trigger on items
# and on each partition, a count for each leaf. (With more copies on the table, as in
# ``SPEC``, the planner makes one pass after the triggers.)
WATCH_SPEC = fm.Spec((fm.OPS["qty_bigint"],), PARTITIONED)
# Rolled back after a kill right before these steps (each also killed and resumed):
# among the watch's triggers, between two leaves' first passes, between two leaves'
# second passes, and while the watch is being taken off.
WATCH_ROLLBACKS = ("trigger on items_high_1", "items_high_1 (partition of items), first pass",
                   "items_high_1 (partition of items), second pass", "off on items_high_1")


@pytest.fixture(scope="module")
def watch_templates(server: fk.Server, tmp_path_factory: pytest.TempPathFactory,
                    ) -> fk.Templates:
    return fk.make_templates(server, WATCH_SPEC, tmp_path_factory.mktemp("watch"))


def around_the_backfill(plan: Plan) -> list[int]:
    """The boundaries of start next to a step of the backfill (its marker, its watch, a pass):
    those ``SPEC``'s plan has no kind of. (The sync triggers' and the views' steps between
    and after them are ``SPEC``'s kinds, killed there.)"""
    steps = plan.start
    return [n for n in fm.iter_boundaries(len(steps))
            if any("backfill" in steps[i].summary for i in (n - 2, n - 1) if 0 <= i < len(steps))]


@pytest.mark.skipif(SMOKE, reason="the full scope kills the two-pass backfill")
def test_kill_at_every_boundary_of_a_two_pass_backfill_and_its_watch(
        server: fk.Server, watch_templates: fk.Templates) -> None:
    """Start killed at every boundary next to a step of the backfill (``around_the_backfill``),
    each resumed by the next killed run (two chains: every other boundary each): the watch's
    triggers and counts, both passes of each leaf (clients writing between them while no
    sync trigger exists yet) and the watch taken off must survive a crash anywhere; and
    rolled back after a kill at ``WATCH_ROLLBACKS``: nothing of the watch may be left on any
    partition."""
    t = watch_templates
    assert t.plan is not None
    total = t.totals["start"]
    resumed = around_the_backfill(t.plan)
    rolled_back = [1 + next(i for i, step in enumerate(t.plan.start) if marker in step.summary)
                   for marker in WATCH_ROLLBACKS]
    jobs: list[Job] = [("chain", resumed[0::2], "resume"), ("chain", resumed[1::2], "resume"),
                       ("cycles", rolled_back, "rollback")]
    fk.report(WATCH_SPEC, f"SIGKILL before {len(resumed)} of the {total + 1} boundaries of "
                          f"start of a two-pass backfill of a partitioned table, then recovery",
              run_jobs(server, t, "start", jobs), len(resumed) + len(rolled_back))


@pytest.fixture(scope="module")
def backfill_templates(server: fk.Server, tmp_path_factory: pytest.TempPathFactory,
                       ) -> fk.Templates:
    """``SPEC`` on ``fk.BACKFILL_ROWS`` seeded rows: 29 in items_high_0, 23 in items_high_1
    and 8 in items_low, backfilled in that order, 3 rows a batch (10 + 8 + 3 batches)."""
    return fk.make_templates(server, SPEC, tmp_path_factory.mktemp("backfill"),
                             rows=fk.BACKFILL_ROWS)


# Killed after the first batch of the first leaf, after the first leaf's last batch, inside
# the second leaf (then rolled back), inside the last leaf; and twice in a row, the resumed
# run killed after three batches too, clients writing between the runs. (A kill after ``k``
# batches comes once the process has read the ``k``-th batch's NOTICE: the backfill's DO
# block may have committed a few more by then, up to the rest of its leaf. Three kills in a
# row could find nothing left to backfill.)
BACKFILL_KILLS = [((1,), "resume"), ((10,), "resume"), ((14,), "rollback"), ((20,), "resume"),
                  ((3, 3), "resume")]


@pytest.mark.skipif(SMOKE, reason="the full scope kills inside the backfill")
@pytest.mark.parametrize(("batches", "recovery"), BACKFILL_KILLS,
                         ids=[f"{'x'.join(map(str, b))}-{r}" for b, r in BACKFILL_KILLS])
def test_kill_inside_the_backfill_of_a_partition(server: fk.Server,
                                                 backfill_templates: fk.Templates,
                                                 batches: tuple[int, ...],
                                                 recovery: str) -> None:
    """Killed after ``batches`` committed batches of the per-leaf backfills (each resumed
    run killed after the next number): the resumed start backfills what is left of each
    leaf without overwriting rows clients wrote in between, and a rollback restores every
    row."""
    targets = [f"backfill:{k}" for k in batches]
    problems = fk.kill_point(server, backfill_templates, "start", targets, recovery)
    fk.report(SPEC, f"SIGKILL after {batches} backfill batches of a partitioned table, then "
                    f"{recovery}", problems, len(targets))


def write_before_the_detach(_outcome: fm.Outcome, clients: fk.Round, _dsn: str,
                            admin: fk.Connection) -> None:
    clients.write(admin, "before the detach", "between")


def with_items_low_detached(server: fk.Server, t: fk.Templates, template: str,
                            before: Callable[[fm.Outcome, fk.Round, str, fk.Connection], None],
                            meanwhile: Callable[[fm.Outcome, str, fk.Connection], bool],
                            ) -> list[str]:
    """On a clone of ``template``: ``before`` (the clients write), items_low detached,
    ``meanwhile`` (what ends in a rollback; False: it failed); then items_low must hold only
    the setup's columns and attach again with the setup's bounds, the clients write once
    more, and the schema must be exactly as before start with every row as the model says
    (were items_low left out, its rows and the fingerprint's tables would say so).
    Nobody writes while items_low is detached: the rows it holds are out of the tree then."""
    outcome = fm.Outcome(SPEC)
    with server.clone(template) as (dsn, admin):
        clients = fk.Round(dsn, SPEC, outcome, t.rows)
        try:
            before(outcome, clients, dsn, admin)
            admin.execute("ALTER TABLE public.items DETACH PARTITION public.items_low")
            if meanwhile(outcome, dsn, admin):
                fk.check_status(outcome, dsn, admin, "after the rollback",
                                {"status": "Complete", "version": fm.SETUP_NAME})
                left = [c[0] for c in fm.columns_of(admin, "items_low")]
                if left == fm.BASE_SCHEMA.names():
                    admin.execute(ATTACH_LOW)
                    clients.write(admin, "after the attach", "after")
                else:  # (it could not attach again)
                    outcome.add(f"items_low has the columns {left} after rollback")
        finally:
            clients.close()
        fk.final_checks(outcome, admin, dsn, t, "rollback")
    return outcome.problems


def test_rollback_drops_starts_columns_from_a_partition_detached_after_start(
        server: fk.Server, templates: fk.Templates) -> None:
    """items_low is detached between start and rollback; rollback is killed right before its
    last step (the one for partitions that left the tree) and run again: items_low then
    holds no column (nor the triggers, indexes and constraints on them) of start's and
    attaches again as it was."""
    t = templates
    target = f"rollback:{t.totals['rollback']}"

    def rolled_back(outcome: fm.Outcome, dsn: str, admin: fk.Connection) -> bool:
        killed = fm.cli(["rollback"], dsn, env={fk.KILL: target})
        if not killed.killed:
            outcome.add(f"not killed at {target}: {killed.describe()}")
            return False
        fk.check_status(outcome, dsn, admin, f"after the kill at {target}", None)
        return fk.recover(outcome, ["rollback"], dsn, f"(rollback after {target})")

    problems = with_items_low_detached(
        server, t, t.started,
        write_before_the_detach,
        rolled_back)
    fk.report(SPEC, f"items_low detached after start, SIGKILL at {target}, rollback again",
              problems, 1)


def test_a_start_resumed_after_a_partition_left_the_tree_stops_and_rolls_back(
        server: fk.Server, templates: fk.Templates) -> None:
    """Start is killed right before its check that the partitions are those it was planned
    for, and items_low is detached before it runs again: the resumed start must stop at that
    check, saying the partitions changed, and roll itself back, items_low included."""
    t = templates
    assert t.plan is not None
    check = 1 + next(i for i, step in enumerate(t.plan.start)
                     if step.summary.startswith("the partitions of "))
    command = fk.PHASE_COMMANDS["start"](t)
    target = f"start:{check}"

    def killed(outcome: fm.Outcome, clients: fk.Round, dsn: str, admin: fk.Connection) -> None:
        fk.kill(outcome, clients, command, dsn, admin, target, "between")

    def resumed(outcome: fm.Outcome, dsn: str, admin: fk.Connection) -> bool:
        result = fm.cli(command, dsn)
        if fm.no_traceback(result):
            outcome.add(f"{fm.no_traceback(result)}")
        if result.returncode == 0 or "changed during start" not in result.stderr:
            outcome.add(f"the resumed start did not stop at the partition check: "
                        f"{result.describe()}")
            return False
        return True

    problems = with_items_low_detached(server, t, t.setup, killed, resumed)
    fk.report(SPEC, f"SIGKILL at {target}, items_low detached, start again", problems, 1)


def test_complete_refuses_after_a_partition_left_the_tree_and_rollback_cleans_it(
        server: fk.Server, templates: fk.Templates) -> None:
    """items_low is detached between start and complete: items_low has had start's steps
    but is no longer under items, so complete must refuse (exit 1 or 3), name the partitions,
    and change nothing; the rollback after it must leave items_low as it was."""
    t = templates

    def refused(outcome: fm.Outcome, dsn: str, admin: fk.Connection) -> bool:
        before = fm.fingerprint(admin)
        result = fm.cli(["complete"], dsn)
        if fm.no_traceback(result):
            outcome.add(f"{fm.no_traceback(result)}")
        if result.returncode not in (1, 3) or "partitions of table" not in result.stderr:
            outcome.add(f"complete did not refuse the changed partitions: {result.describe()}")
        for diff in fm.fingerprint_diff(before, fm.fingerprint(admin)):
            outcome.add(f"the refused complete changed the schema: {diff}")
        return fk.recover(outcome, ["rollback"], dsn, "(rollback after the refused complete)")

    problems = with_items_low_detached(
        server, t, t.started,
        write_before_the_detach,
        refused)
    fk.report(SPEC, "items_low detached after start, complete, then rollback", problems, 1)
