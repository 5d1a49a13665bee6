"""Adversarial review of the two-pass backfill (plan/backfill.py, first pass before the sync
triggers, second pass after them).

Three defects it found are fixed (the second pass right after the sync triggers, before a key
copied onto a copy exists; the page-range pass read again after a table rewrite); their
tests pass here since.
"""

from __future__ import annotations

import threading
from typing import Any

import psycopg
import pytest

from pgroll_dsl.backends.runner import StepEvent
from pgroll_dsl.plan.model import Phase
from tests.live_helpers import (
    Connection,
    after_the_triggers,
    apply,
    client,
    make_runner,
    migration,
)

pytestmark = pytest.mark.postgres

OLD = "public_01_setup"
NEW = "public_02_two"


def _triggers_on(conn: Connection, table: str) -> int:
    row = conn.execute("SELECT count(*) FROM pg_trigger WHERE tgrelid = %s::regclass "
                       "AND NOT tgisinternal AND (tgname LIKE '\\_pgroll\\_trigger%%' OR "
                       "tgname LIKE '~pgroll\\_trigger%%')", (f"public.{table}",)).fetchone()
    assert row is not None
    return int(row[0])


class Hooks:
    """Writes at a table's first-pass progress reports, and right before its second pass."""

    def __init__(self, dsn: str, table: str) -> None:
        self.base = psycopg.connect(dsn, autocommit=True)
        self.table = table
        self.leaves: tuple[str, ...] = ()  # partitions reported on their own
        self.lock = threading.Lock()
        self.first: list[Any] = []  # callables, one per first-pass progress report
        self.before_second: list[Any] = []  # callables, before the second pass
        self.second: list[Any] = []  # callables, one per second-pass progress report
        self.done: list[str] = []
        self.in_second = False

    def progress(self, table: str, rows: int, total: int) -> None:
        with self.lock:
            # (rows 0: the report made before the step runs)
            if table not in (self.table, *self.leaves) or rows == 0:
                return
            if _triggers_on(self.base, table) == 0:
                if self.first:
                    f = self.first.pop(0)
                    f()
                    self.done.append(getattr(f, "__name__", "first"))
            elif self.in_second and self.second:
                f = self.second.pop(0)
                f()
                self.done.append(getattr(f, "__name__", "second"))

    def step(self, event: StepEvent) -> None:
        step = event.step
        if event.phase is Phase.START and after_the_triggers(step) and step is not None \
                and step.relation in (self.table, *self.leaves) and not event.in_transaction:
            self.in_second = True
            while self.before_second:
                f = self.before_second.pop(0)
                f()
                self.done.append(getattr(f, "__name__", "before_second"))

    def close(self) -> None:
        self.base.close()


def _run(admin_dsn: str, setup: str, seed: list[str], two: str, hooks_for: str,
         configure: Any, batch_size: int = 20, **options: Any) -> tuple[Hooks, Any]:
    runner = make_runner(admin_dsn, batch_size=batch_size, batch_time_ms=0)
    apply(runner, setup)
    runner.close()
    with psycopg.connect(admin_dsn, autocommit=True) as conn:
        for s in seed:
            conn.execute(s)
    hooks = Hooks(admin_dsn, hooks_for)
    configure(hooks)
    runner = make_runner(admin_dsn, batch_size=batch_size, batch_time_ms=0,
                         on_progress=hooks.progress, on_step=hooks.step, **options)
    return hooks, runner


# ---------------------------------------------------------------------------------------
# Defect 1: a foreign key copied onto the copy column (NOT VALID) exists while the copies
# the first pass wrote are stale (between the triggers and the second pass). Its ON DELETE
# action (or check) runs against the stale copy.

FK_SETUP = ("create table p (id int primary key, a int);\n"
            "create table c (id int primary key, pid int constraint c_fk references p (id) "
            "{action}, v text);")
FK_SEED = ["INSERT INTO public.p SELECT g, g FROM generate_series(1, 1000) g",
           "INSERT INTO public.c SELECT g, g, 'v' || g FROM generate_series(1, 600) g",
           "ANALYZE public.p", "ANALYZE public.c"]
FK_TWO = "alter table c alter pid type bigint up `pid` down `pid`;"


def _fk_case(admin_dsn: str, pg_conn: Connection, action: str) -> tuple[Hooks, list[str]]:
    errors: list[str] = []

    def configure(h: Hooks) -> None:
        old = client(admin_dsn, OLD)

        def move_child() -> None:  # row 1 was written by the first batch: its copy goes stale
            old.execute("UPDATE c SET pid = 700 WHERE id = 1")

        def delete_parent() -> None:  # no c row references p 1 any more
            try:
                old.execute("DELETE FROM p WHERE id = 1")
            except psycopg.Error as err:
                errors.append(f"{type(err).__name__}: {err}")

        h.first.append(move_child)
        h.before_second.append(delete_parent)

    hooks, runner = _run(admin_dsn, FK_SETUP.format(action=action), FK_SEED, FK_TWO, "c",
                         configure)
    try:
        runner.start(migration(FK_TWO, "02_two"))
    finally:
        hooks.close()
    return hooks, errors


def test_fk_on_delete_cascade_through_a_stale_copy_deletes_a_child(admin_dsn: str,
                                                                   pg_conn: Connection) -> None:
    hooks, errors = _fk_case(admin_dsn, pg_conn, "on delete cascade")
    assert hooks.done == ["move_child", "delete_parent"], hooks.done
    assert errors == []
    # The child row 1 references p 700 in the old version: it must survive p 1's deletion.
    assert pg_conn.execute("SELECT id, pid FROM public.c WHERE id = 1").fetchall() == [(1, 700)]


def test_fk_no_action_through_a_stale_copy_refuses_a_client_delete(admin_dsn: str,
                                                                   pg_conn: Connection) -> None:
    hooks, errors = _fk_case(admin_dsn, pg_conn, "")
    assert hooks.done == ["move_child", "delete_parent"], hooks.done
    assert errors == [], errors
    assert pg_conn.execute("SELECT count(*) FROM public.p WHERE id = 1").fetchone() == (0,)


# ---------------------------------------------------------------------------------------
# Defect 2: the second pass reads the table by pages (even a keyed one), from page 0 to the
# last page it saw when it began. A table rewrite that keeps xmin (CLUSTER, VACUUM FULL)
# between two of its batches moves a row the first pass left stale (a client wrote it
# before the triggers existed) to a page the pass has already read: it is never redone.
# (A keyed single pass was immune: it walks keys, not pages.)

def _raw_runner(admin_dsn: str, hooks: Hooks, batch_size: int = 20, **options: Any) -> Any:
    return make_runner(admin_dsn, batch_size=batch_size, batch_time_ms=0,
                       on_progress=hooks.progress, on_step=hooks.step, **options)


# (VACUUM FULL loses them the same way when the rewrite puts them behind the pass, which
# depends on where the dead tuples lie: seen in 2 of 5 runs, so not a parameter here.)
@pytest.mark.parametrize("rewrite", ["CLUSTER public.t USING t_pkey"])
def test_table_rewrite_during_the_second_pass(admin_dsn: str, pg_conn: Connection,
                                              rewrite: str) -> None:
    pg_conn.execute("CREATE TABLE t (id int PRIMARY KEY, a int, pad text)")
    pg_conn.execute("INSERT INTO t SELECT g, g, repeat('p', 60) FROM generate_series(1, 3000) g")
    pg_conn.execute("ANALYZE t")
    hooks = Hooks(admin_dsn, "t")
    # First pass, after its first batch (ids 1..20 written): clients change rows 1..5 with
    # no trigger yet (stale copies; their new versions land at the end of the table).
    hooks.first.append(lambda: hooks.base.execute(
        "UPDATE public.t SET a = a + 1000 WHERE id <= 5"))
    # Second pass, some pages in: the table is rewritten (xmin kept).
    hooks.second.extend([lambda: None] * 5 + [lambda: hooks.base.execute(rewrite)])
    # (A long lock_timeout: a batch that waited out the default 500 ms behind the rewrite
    # would fail and the whole pass run again from page 0, hiding the defect.)
    runner = _raw_runner(admin_dsn, hooks, lock_timeout_ms=30_000)
    try:
        runner.start(migration("alter table t add x int up `a * 2`;", "02_x"))
        assert len(hooks.done) == 7, hooks.done
        after_start = pg_conn.execute("SELECT id, a, _pgroll_new_x FROM t WHERE _pgroll_new_x "
                                      "IS DISTINCT FROM a * 2 ORDER BY id").fetchall()
        runner.complete()  # nothing at complete looks at the marker again
    finally:
        runner.close()
        hooks.close()
    after_complete = pg_conn.execute("SELECT id, a, x FROM t WHERE x IS DISTINCT FROM a * 2 "
                                     "ORDER BY id").fetchall()
    # Seen: rows 1..5 with x = 2 * their a before the client's write, after start and
    # after complete (the client's a + 1000 is lost in x for good).
    assert (after_start, after_complete) == ([], [])


# ---------------------------------------------------------------------------------------
# Held: every kind of client write during the first pass (no trigger yet), through the base
# table; then each row's copy must be ``up`` of its final values, before and after complete.

def _kinds(admin_dsn: str, base: Connection, shape: str) -> list[Any]:
    other = psycopg.connect(admin_dsn, autocommit=True)

    def subxact() -> None:
        with base.transaction():
            base.execute("SAVEPOINT s1")
            base.execute("UPDATE public.t SET a = a + 100 WHERE id = 1")
            base.execute("RELEASE SAVEPOINT s1")
            base.execute("SAVEPOINT s2")
            base.execute("UPDATE public.t SET a = -1 WHERE id = 2")
            base.execute("ROLLBACK TO SAVEPOINT s2")
            base.execute("UPDATE public.t SET b = 'sub' WHERE id = 2")

    def rolled_back() -> None:
        try:
            with base.transaction():
                base.execute("UPDATE public.t SET a = -777 WHERE id = 3")
                raise RuntimeError("rollback")
        except RuntimeError:
            pass

    def locks_then_other_column() -> None:  # a multixact on row 4, then b written
        with base.transaction(), other.transaction():
            base.execute("SELECT * FROM public.t WHERE id = 4 FOR SHARE")
            other.execute("SELECT * FROM public.t WHERE id = 4 FOR SHARE")
        base.execute("SELECT * FROM public.t WHERE id = 5 FOR UPDATE")
        base.execute("UPDATE public.t SET b = 'other' WHERE id = 4")

    def delete_reinsert() -> None:
        with base.transaction():
            base.execute("DELETE FROM public.t WHERE id = 6")
            base.execute("INSERT INTO public.t VALUES (6, 606, 're')")

    def key_update() -> None:
        base.execute("UPDATE public.t SET id = 100007 WHERE id = 7")

    def upsert() -> None:
        base.execute("INSERT INTO public.t VALUES (8, 0, 'x') ON CONFLICT (id) DO UPDATE "
                     "SET a = excluded.a + t.a + 5" if shape != "keyless" else
                     "UPDATE public.t SET a = a + 5 WHERE id = 8")

    def copy_in() -> None:
        with base.cursor() as cur, cur.copy("COPY public.t (id, a, b) FROM STDIN") as cp:
            cp.write_row((200001, 41, "copy"))
            cp.write_row((200002, None, "copy"))

    def merge() -> None:
        base.execute("MERGE INTO public.t USING (VALUES (9, 9000), (200003, 3)) v(id, a) "
                     "ON t.id = v.id WHEN MATCHED THEN UPDATE SET a = v.a "
                     "WHEN NOT MATCHED THEN INSERT (id, a, b) VALUES (v.id, v.a, 'm')")

    def null_insert() -> None:
        base.execute("INSERT INTO public.t (id, a, b) VALUES (200004, NULL, 'null')")

    def move_partition() -> None:  # partitioned by id: to the other partition
        base.execute("UPDATE public.t SET id = 2990, a = a + 1 WHERE id = 10")

    def late_high() -> None:  # rows the first pass has not reached
        base.execute("UPDATE public.t SET a = a * 3 WHERE id BETWEEN 1990 AND 1995")

    def many_small() -> None:  # one row, many writes across batches
        for _ in range(3):
            base.execute("UPDATE public.t SET a = a + 1 WHERE id = 11")

    fs = [subxact, rolled_back, locks_then_other_column, delete_reinsert, key_update, upsert,
          copy_in, merge, null_insert, move_partition, late_high, many_small]
    return fs


SHAPES = {
    "keyed": "CREATE TABLE t (id int PRIMARY KEY, a int, b text)",
    "keyless": "CREATE TABLE t (id int, a int, b text)",
    "partitioned": "CREATE TABLE t (id int, a int, b text, PRIMARY KEY (id)) "
                   "PARTITION BY RANGE (id)",
}


@pytest.mark.parametrize(("shape", "workers"), [("keyed", 1), ("keyed", 2), ("keyless", 1),
                                                ("partitioned", 1), ("partitioned", 2)])
def test_every_kind_of_write_during_the_first_pass(admin_dsn: str, pg_conn: Connection,
                                                   shape: str, workers: int) -> None:
    pg_conn.execute(SHAPES[shape])
    if shape == "partitioned":
        pg_conn.execute("CREATE TABLE t1 PARTITION OF t FOR VALUES FROM (0) TO (1000)")
        pg_conn.execute("CREATE TABLE t2 PARTITION OF t FOR VALUES FROM (1000) TO (300000)")
    pg_conn.execute("INSERT INTO t SELECT g, g, 'b' || g FROM generate_series(1, 2000) g")
    pg_conn.execute("ANALYZE t")
    hooks = Hooks(admin_dsn, "t")
    hooks.leaves = ("t1", "t2")
    hooks.first.extend(_kinds(admin_dsn, hooks.base, shape))
    runner = _raw_runner(admin_dsn, hooks, batch_size=20, backfill_workers=workers)
    try:
        plan = runner.start(migration("alter table t add x int up `coalesce(a, -5) * 2`;",
                                      "02_x"))
        assert any("first pass" in s.summary for s in plan.start)
        assert not hooks.first, f"writes left: {hooks.first} (done {hooks.done})"
        wrong = pg_conn.execute("SELECT id, a, _pgroll_new_x FROM t WHERE _pgroll_new_x IS "
                                "DISTINCT FROM coalesce(a, -5) * 2").fetchall()
        assert wrong == []
        assert pg_conn.execute("SELECT a, b FROM t WHERE id = 2").fetchone() == (2, "sub")
        assert pg_conn.execute("SELECT a FROM t WHERE id = 3").fetchone() == (3,)
        # after start, writes with the triggers, then complete
        hooks.base.execute("UPDATE public.t SET a = a + 1 WHERE id IN (12, 13)")
        runner.complete()
    finally:
        runner.close()
        hooks.close()
    wrong = pg_conn.execute("SELECT id, a, x FROM t WHERE x IS DISTINCT FROM "
                            "coalesce(a, -5) * 2").fetchall()
    assert wrong == []
    cols = [r[0] for r in pg_conn.execute(
        "SELECT attname FROM pg_attribute WHERE attrelid = 'public.t'::regclass AND attnum > 0 "
        "AND NOT attisdropped")]
    assert cols == ["id", "a", "b", "x"], cols


def test_writes_between_the_last_first_pass_batch_and_the_triggers(admin_dsn: str,
                                                                   pg_conn: Connection) -> None:
    """Writes after the first pass ended, before the first trigger function is created."""
    pg_conn.execute("CREATE TABLE t (id int PRIMARY KEY, a int, b text)")
    pg_conn.execute("INSERT INTO t SELECT g, g, 'b' || g FROM generate_series(1, 1000) g")
    pg_conn.execute("ANALYZE t")
    base = psycopg.connect(admin_dsn, autocommit=True)
    ran: list[bool] = []

    def on_step(event: StepEvent) -> None:
        step = event.step
        if event.phase is Phase.START and step is not None and not ran \
                and step.summary.startswith("trigger function"):
            ran.append(True)
            assert base.execute("SELECT count(*) FROM t WHERE _pgroll_backfilled_by = xmin"
                                ).fetchone() == (1000,)
            base.execute("UPDATE t SET a = a + 1 WHERE id % 7 = 0")
            base.execute("DELETE FROM t WHERE id = 500")
            base.execute("INSERT INTO t VALUES (500, 5, 'again'), (5000, NULL, 'new')")
            base.execute("UPDATE t SET id = 6000 WHERE id = 999")

    runner = make_runner(admin_dsn, batch_size=50, batch_time_ms=0, on_step=on_step)
    try:
        runner.start(migration("alter table t add x int up `coalesce(a, 0) + length(b)`;",
                               "02_x"))
        assert ran
        wrong = pg_conn.execute("SELECT id FROM t WHERE _pgroll_new_x IS DISTINCT FROM "
                                "coalesce(a, 0) + length(b)").fetchall()
        assert wrong == []
        runner.complete()
    finally:
        runner.close()
        base.close()
    assert pg_conn.execute("SELECT count(*) FROM t WHERE x IS DISTINCT FROM "
                           "coalesce(a, 0) + length(b)").fetchone() == (0,)


def test_partitioned_unique_value_moved_during_the_first_pass(admin_dsn: str,
                                                              pg_conn: Connection) -> None:
    """A unique (grp, u) on a partitioned table: the copies' unique indexes are built per
    partition; every second pass must run before them."""
    pg_conn.execute("CREATE TABLE t (id int, grp int, u text, a int, PRIMARY KEY (id, grp), "
                    "UNIQUE (grp, u)) PARTITION BY LIST (grp)")
    pg_conn.execute("CREATE TABLE t1 PARTITION OF t FOR VALUES IN (1)")
    pg_conn.execute("CREATE TABLE t2 PARTITION OF t FOR VALUES IN (2)")
    pg_conn.execute("INSERT INTO t SELECT g, 1 + g % 2, 'k' || g, g "
                    "FROM generate_series(1, 1000) g")
    pg_conn.execute("ANALYZE t")
    hooks = Hooks(admin_dsn, "t")
    hooks.leaves = ("t1", "t2")

    def move_unique() -> None:  # rows 4 and 6, both in t1
        hooks.base.execute("UPDATE public.t SET u = 'gone4' WHERE id = 4")
        hooks.base.execute("UPDATE public.t SET u = 'k4' WHERE id = 6")
        hooks.base.execute("UPDATE public.t SET a = a + 1 WHERE id = 4")

    hooks.first.append(move_unique)
    runner = _raw_runner(admin_dsn, hooks)
    try:
        plan = runner.start(migration("alter table t alter u type text up `upper(u)` "
                                      "down `lower(u)`;", "02_x"))
        summaries = [s.summary for s in plan.start]
        second = max(i for i, s in enumerate(summaries) if "second pass" in s)
        assert all(i > second for i, s in enumerate(summaries) if s.startswith("build copy"))
        assert hooks.done == ["move_unique"]
        wrong = pg_conn.execute("SELECT id FROM t WHERE _pgroll_new_u IS DISTINCT FROM "
                                "upper(u)").fetchall()
        assert wrong == []
        runner.complete()
    finally:
        runner.close()
        hooks.close()
    assert pg_conn.execute("SELECT u FROM t WHERE id IN (4, 6) ORDER BY id").fetchall() == \
        [("GONE4",), ("K4",)]


def test_fk_on_update_cascade_through_a_stale_copy(admin_dsn: str, pg_conn: Connection) -> None:
    """The same stale copy as the defect above, with ON UPDATE CASCADE: the cascaded write
    of the copy fires the sync trigger, which recomputes it (held)."""
    errors: list[str] = []

    def configure(h: Hooks) -> None:
        old = client(admin_dsn, OLD)

        def move_child() -> None:
            old.execute("UPDATE c SET pid = 700 WHERE id = 1")
            old.execute("UPDATE p SET id = 8002 WHERE id = 2")  # cascades to c 2 (no trigger)

        def update_parents() -> None:
            try:
                old.execute("UPDATE p SET id = 5001 WHERE id = 1")  # only c 1's stale copy
                old.execute("UPDATE p SET id = 7000 WHERE id = 700")  # c 1 now
            except psycopg.Error as err:
                errors.append(f"{type(err).__name__}: {err}")

        h.first.append(move_child)
        h.before_second.append(update_parents)

    hooks, runner = _run(admin_dsn, FK_SETUP.format(action="on update cascade"), FK_SEED,
                         FK_TWO, "c", configure)
    try:
        runner.start(migration(FK_TWO, "02_two"))
        assert hooks.done == ["move_child", "update_parents"], hooks.done
        assert errors == []
        wrong = pg_conn.execute("SELECT id, pid, _pgroll_new_pid FROM public.c WHERE "
                                "_pgroll_new_pid IS DISTINCT FROM pid").fetchall()
        assert wrong == []
        runner.complete()
    finally:
        runner.close()
        hooks.close()
    assert pg_conn.execute("SELECT id, pid FROM public.c WHERE id IN (1, 2) ORDER BY id"
                           ).fetchall() == [(1, 7000), (2, 8002)]


def test_null_inserted_during_the_first_pass_for_a_not_null_copy(admin_dsn: str,
                                                                 pg_conn: Connection) -> None:
    """``add w int not null up `a * 2```: an old client inserts a NULL ``a`` while no trigger
    exists. With one pass (triggers first) that INSERT is refused by the NOT VALID check
    (once it exists); with two, it is accepted (the check is made after the second pass),
    and the check's validation fails start, which rolls itself back, as for a row that held
    a NULL before start. Documented (a behaviour change, no write lost)."""
    pg_conn.execute("CREATE TABLE t (id int PRIMARY KEY, a int)")
    pg_conn.execute("INSERT INTO t SELECT g, g FROM generate_series(1, 500) g")
    hooks = Hooks(admin_dsn, "t")
    hooks.first.append(lambda: hooks.base.execute("INSERT INTO public.t VALUES (5000, NULL)"))
    runner = _raw_runner(admin_dsn, hooks)
    try:
        with pytest.raises(Exception) as raised:
            runner.start(migration("alter table t add w int not null up `a * 2`;", "02_x"))
        assert hooks.done == ["<lambda>"]
        assert "start failed, changes rolled back" in str(raised.value)
        assert 'check constraint the NOT NULL of "w" of relation "t" is violated' in str(
            raised.value)
    finally:
        runner.close()
        hooks.close()
    assert pg_conn.execute("SELECT a FROM t WHERE id = 5000").fetchone() == (None,)
    cols = [r[0] for r in pg_conn.execute(
        "SELECT attname FROM pg_attribute WHERE attrelid = 'public.t'::regclass AND attnum > 0 "
        "AND NOT attisdropped")]
    assert cols == ["id", "a"]


@pytest.mark.parametrize("workers", ["1", "2"])
def test_killed_in_the_first_pass_with_a_busy_writer_then_resumed(
        admin_dsn: str, pg_conn: Connection, tmp_path: Any, workers: str) -> None:
    """A writer updates, inserts, deletes and moves keys all along: while the first pass runs,
    after the kill, during the resumed start, and until complete. Every row's final x must be
    up of its final a."""
    import random
    import time

    from tests import fault_model as fm

    pg_conn.execute("CREATE TABLE t (id int PRIMARY KEY, a int, b text)")
    pg_conn.execute("INSERT INTO t SELECT g, g, 'b' FROM generate_series(1, 1500) g")
    pg_conn.execute("ANALYZE t")
    make_runner(admin_dsn).close()  # init
    stop = threading.Event()
    counts = {"writes": 0}

    def writer() -> None:
        rnd = random.Random(7)
        with psycopg.connect(admin_dsn, autocommit=True) as w:
            next_id = 100000
            while not stop.is_set():
                k = rnd.randint(1, 1500)
                op = rnd.random()
                try:
                    if op < 0.6:
                        w.execute("UPDATE public.t SET a = a + 1 WHERE id = %s", (k,))
                    elif op < 0.75:
                        next_id += 1
                        w.execute("INSERT INTO public.t VALUES (%s, %s, 'i')", (next_id, k))
                    elif op < 0.85:
                        with w.transaction():
                            w.execute("SAVEPOINT s")
                            w.execute("UPDATE public.t SET a = a - 3 WHERE id = %s", (k,))
                            w.execute("RELEASE SAVEPOINT s")
                    elif op < 0.95:
                        w.execute("DELETE FROM public.t WHERE id = %s", (k,))
                        w.execute("INSERT INTO public.t VALUES (%s, %s, 'r') ON CONFLICT (id) "
                                  "DO UPDATE SET a = excluded.a", (k, -k))
                    else:
                        next_id += 1
                        w.execute("UPDATE public.t SET id = %s WHERE id = %s", (next_id, k))
                    counts["writes"] += 1
                except psycopg.Error:
                    pass
                time.sleep(0.001)

    thread = threading.Thread(target=writer, daemon=True)
    thread.start()
    try:
        file = fm.write_file(tmp_path, "02_x", "alter table t add x int up `a * 2`;")
        args = ["start", str(file), "--backfill-batch-size", "20", "--backfill-batch-delay",
                "0.02", "--backfill-workers", workers]
        killed = fm.cli(args, admin_dsn, env={"PGROLL_DSL_KILL_AT": "backfill:4"})
        assert killed.killed, killed.describe()
        assert _triggers_on(pg_conn, "t") == 0  # killed in the first pass
        time.sleep(0.5)
        for _ in range(20):  # the killed backend may still run its DO block
            result = fm.cli(args, admin_dsn)
            if result.returncode == 0 or "backend pid" not in result.stderr:
                break
            time.sleep(0.3)
        assert result.returncode == 0, result.describe()
        time.sleep(0.3)  # the writer goes on with the triggers in place
        stop.set()  # (after complete, x is a column of its own: no more up)
        thread.join(10)
        wrong = pg_conn.execute("SELECT id, a, _pgroll_new_x FROM t WHERE _pgroll_new_x IS "
                                "DISTINCT FROM a * 2").fetchall()
        assert wrong == []
        done = fm.cli(["complete"], admin_dsn)
        assert done.returncode == 0, done.describe()
    finally:
        stop.set()
        thread.join(10)
    assert counts["writes"] > 100
    assert pg_conn.execute("SELECT count(*) FROM t WHERE x IS DISTINCT FROM a * 2"
                           ).fetchone() == (0,)


# ``room``: pages with free space the free space map knows of (a fillfactor, then VACUUM),
# and a snapshot held open meanwhile (no page is pruned of the versions the pass left), so
# that a client's write of a row the pass has written lands on a page the pass has not read
# yet; without them that happens now and then.
# ``always``: run by a superuser (the replica role), the audit trigger enabled ALWAYS.
@pytest.mark.parametrize("room", [False, True], ids=["packed", "room"])
@pytest.mark.parametrize("always", [False, True], ids=["owner", "always"])
@pytest.mark.parametrize("key", ["PRIMARY KEY", ""], ids=["keyed", "keyless"])
def test_owner_without_replica_role_leaves_an_audited_table_to_one_pass(
        admin_dsn: str, pg_conn: Connection, room: bool, always: bool, key: str) -> None:
    """As the table's owner (no session_replication_role), the table's own AFTER trigger (an
    audit) fires on the batches, and such a trigger may write the table inside the batch's
    transaction, where the second pass could not tell its write from the first pass's own
    (tests/test_user_triggers_backfill.py): the first pass leaves the whole table to the
    second, a single pass. Clients write meanwhile; the audit sees each row once from the
    backfill (it saw them twice while the first pass ran: once, and again for each row a
    client wrote before the triggers)."""
    from psycopg.conninfo import make_conninfo
    role = f"own_{pg_conn.info.backend_pid}"
    pg_conn.execute(f'CREATE ROLE "{role}" LOGIN')
    pg_conn.execute(f'GRANT ALL ON DATABASE "{pg_conn.info.dbname}" TO "{role}"')
    pg_conn.execute(f'ALTER SCHEMA public OWNER TO "{role}"')
    owner = make_conninfo(admin_dsn, user=role)
    try:
        pg_conn.execute(f"CREATE TABLE t (id int {key}, a int, b text)"
                        + (" WITH (fillfactor = 50)" if room else ""))
        pg_conn.execute("CREATE TABLE audit (t_id int, at timestamptz DEFAULT now())")
        pg_conn.execute("CREATE FUNCTION audited() RETURNS trigger LANGUAGE plpgsql AS $$ "
                        "BEGIN INSERT INTO audit (t_id) VALUES (NEW.id); RETURN NEW; END $$")
        pg_conn.execute("CREATE TRIGGER audited AFTER UPDATE ON t FOR EACH ROW "
                        "EXECUTE FUNCTION audited()")
        for obj in ("TABLE t", "TABLE audit", "FUNCTION audited()"):
            pg_conn.execute(f'ALTER {obj} OWNER TO "{role}"')
        if always:
            pg_conn.execute("ALTER TABLE t ENABLE ALWAYS TRIGGER audited")
        pg_conn.execute("INSERT INTO t SELECT g, g, 'b' FROM generate_series(1, 600) g")
        pg_conn.execute("VACUUM ANALYZE t" if room else "ANALYZE t")
        hooks = Hooks(admin_dsn, "t")
        writes = [
            lambda: hooks.base.execute("UPDATE public.t SET a = a + 100 WHERE id IN (1, 2)"),
            lambda: hooks.base.execute("INSERT INTO public.t VALUES (9000, 4, 'n')"),
            lambda: hooks.base.execute("UPDATE public.t SET a = -a WHERE id IN (590, 3)"),
        ]
        hooks.first.extend(writes)  # none runs: the first pass reports no rows
        hooks.second.extend(writes)
        runner = _raw_runner(admin_dsn if always else owner, hooks)
        horizon = psycopg.connect(admin_dsn, autocommit=True)
        if room:
            horizon.execute("BEGIN ISOLATION LEVEL REPEATABLE READ")
            horizon.execute("SELECT count(*) FROM pg_class").fetchall()
        try:
            plan = runner.start(migration("alter table t add x int up `a * 2`;", "02_x"))
            horizon.close()
            assert any("first pass" in s.summary for s in plan.start)
            assert len(hooks.first) == 3 and hooks.second == [], hooks.done
            wrong = pg_conn.execute("SELECT id FROM t WHERE _pgroll_new_x IS DISTINCT FROM "
                                    "a * 2").fetchall()
            assert wrong == []
            audits = dict(pg_conn.execute("SELECT t_id, count(*) FROM audit GROUP BY t_id"
                                          ).fetchall())
            assert set(audits) == set(range(1, 601)), len(audits)
            assert max(audits.values()) <= 2, {k: n for k, n in audits.items() if n > 2}
            runner.complete()
        finally:
            horizon.close()
            runner.close()
            hooks.close()
    finally:
        pg_conn.execute(f'REASSIGN OWNED BY "{role}" TO CURRENT_USER')
        pg_conn.execute(f'DROP OWNED BY "{role}"')
        pg_conn.execute(f'DROP ROLE "{role}"')
