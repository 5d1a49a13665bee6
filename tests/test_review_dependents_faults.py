"""Faults around the carry-over of the user's objects at complete (``plan/dependents.py``).

Two tables, both rewritten (a type change on each), and the user's objects that use the
rewritten columns: a view of each table (one remade with its options, owner, privileges,
column privileges, comments and a column default; one replaced in place), a view joining both
tables (with an ``INSTEAD OF`` trigger), a view built on it (owned by another role, with a
rule), rules (one on each table, one whose action reads the other table), policies (one
reading the other table), triggers with ``WHEN`` (one enabled ``ALWAYS``), and statistics
objects. The old version schema of the migration before exists, as in production.

* Every step boundary of ``complete`` and of ``rollback``: the real command line killed there
  (``PGROLL_DSL_KILL_AT``), clients write (base tables, the user's views, both versions),
  then the command runs again (and, for complete, rollback instead). A kill during ``start``
  at every boundary, then rollback. After each: every object once, as a clean run leaves it
  (definition, owner, privileges, comments, states; after rollback the catalog exactly as
  before start), depending on the column that is left, working, and every row intact.
* Clients of each view (the join across both tables included), of both versions and of the
  base tables, reading and writing continuously while complete runs.
* Two complete runs racing (on a fresh start, and after a killed complete), and complete
  racing rollback.

All of that holds. The two defects found were both of the lock step (strict xfails until
it locked each view alone): ``LOCK TABLE`` of a view locked, and checked the view owner's
right to lock, every relation the view reads. A view whose owner may only read the table
stopped complete for good; a view that joins a table the migration leaves alone made
complete hold that table in ACCESS EXCLUSIVE, and fail while a client merely read it in a
transaction. The last two tests.
"""

from __future__ import annotations

import contextlib
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psycopg
import pytest
from psycopg import sql

from pgroll_dsl.backends.live import Session
from pgroll_dsl.backends.runner import CommandError, Runner, RunOptions, StepEvent
from pgroll_dsl.plan.model import Phase
from tests import fault_model as fm
from tests.live_helpers import apply, dsn_of, make_runner, migration, one, query
from tests.test_fault_kill import Server

pytestmark = [pytest.mark.postgres, pytest.mark.fault]

Connection = psycopg.Connection[tuple[Any, ...]]

OLD = "public_01_setup"
NEW = "public_02_retype"
NAME = "02_retype"
SETUP = """
create table orders (id int primary key, qty int not null, note text);
create table lines (id int primary key,
  order_id int not null constraint lines_order_fk references orders (id),
  price int, label text);
"""
MIGRATION = """
alter table orders alter qty type bigint up `qty` down `qty`;
alter table lines alter price type bigint up `price` down `price`;
"""
# The user's objects (``{owner}`` and ``{reader}`` are roles of the test's own).
OBJECTS = """
GRANT ALL ON orders, lines TO {owner};
GRANT SELECT ON orders, lines TO {reader};
CREATE TABLE audit (what text, id int);
CREATE FUNCTION audit_row() RETURNS trigger LANGUAGE plpgsql AS
  $$BEGIN INSERT INTO public.audit VALUES (TG_ARGV[0], NEW.id); RETURN NEW; END$$;
-- a view of one table whose column changes type: made again
CREATE VIEW order_qty WITH (security_barrier = true, check_option = local) AS
  SELECT id, qty, note FROM orders;
ALTER VIEW order_qty OWNER TO {owner};
COMMENT ON VIEW order_qty IS 'orders and their quantity';
COMMENT ON COLUMN order_qty.qty IS 'how many';
GRANT SELECT, UPDATE ON order_qty TO {reader};
GRANT INSERT (id, qty) ON order_qty TO {reader};
ALTER VIEW order_qty ALTER COLUMN note SET DEFAULT 'via view';
-- a view of the other that only filters on it: replaced in place
CREATE VIEW cheap_lines AS SELECT id, order_id, label FROM lines WHERE price < 100;
COMMENT ON VIEW cheap_lines IS 'cheap lines';
GRANT SELECT, UPDATE ON cheap_lines TO {reader};
-- a view joining both (made again for each table), with a trigger, and a view built on it
CREATE VIEW order_totals AS SELECT o.id, o.qty, sum(l.price) AS total, count(*) AS n
  FROM orders o JOIN lines l ON l.order_id = o.id GROUP BY o.id, o.qty;
GRANT SELECT ON order_totals TO {reader};
GRANT ALL ON order_totals TO {owner};
CREATE TRIGGER totals_update INSTEAD OF UPDATE ON order_totals FOR EACH ROW
  EXECUTE FUNCTION audit_row('totals');
COMMENT ON TRIGGER totals_update ON order_totals IS 'updates are audited only';
CREATE VIEW big_orders AS SELECT id, total FROM order_totals WHERE qty > 5;
ALTER VIEW big_orders OWNER TO {owner};
COMMENT ON VIEW big_orders IS 'big ones';
CREATE RULE big_orders_kept AS ON DELETE TO big_orders DO INSTEAD NOTHING;
COMMENT ON RULE big_orders_kept ON big_orders IS 'kept';
-- rules: one on each table, one whose action uses the other table's column
CREATE RULE keep_qty AS ON UPDATE TO orders WHERE NEW.qty < -100 DO INSTEAD NOTHING;
COMMENT ON RULE keep_qty ON orders IS 'no very negative quantities';
CREATE RULE orders_delete_lines AS ON DELETE TO orders
  DO ALSO DELETE FROM lines WHERE order_id = OLD.id AND price >= 0;
CREATE RULE no_free_lines AS ON INSERT TO lines WHERE NEW.price = 0 DO INSTEAD NOTHING;
ALTER TABLE lines DISABLE RULE no_free_lines;
-- policies: one on each table, one reading the other table
ALTER TABLE lines ENABLE ROW LEVEL SECURITY;
CREATE POLICY visible_lines ON lines TO {reader} USING (price >= 0) WITH CHECK (price < 100000);
COMMENT ON POLICY visible_lines ON lines IS 'non-negative prices';
ALTER TABLE orders ENABLE ROW LEVEL SECURITY;
CREATE POLICY orders_with_lines ON orders AS PERMISSIVE FOR SELECT TO {reader}
  USING (qty >= 0 AND EXISTS (SELECT FROM lines l WHERE l.order_id = orders.id AND l.price > 10));
CREATE POLICY owner_orders ON orders TO {owner} USING (true);
CREATE POLICY owner_lines ON lines TO {owner} USING (true);
-- triggers with WHEN
CREATE TRIGGER lines_price_audit AFTER UPDATE OF price ON lines FOR EACH ROW
  WHEN (NEW.price IS DISTINCT FROM OLD.price) EXECUTE FUNCTION audit_row('price');
COMMENT ON TRIGGER lines_price_audit ON lines IS 'audits prices';
CREATE TRIGGER orders_qty_audit AFTER UPDATE ON orders FOR EACH ROW
  WHEN (NEW.qty <> OLD.qty) EXECUTE FUNCTION audit_row('qty');
ALTER TABLE orders ENABLE ALWAYS TRIGGER orders_qty_audit;
-- statistics
CREATE STATISTICS order_qty_note (dependencies) ON qty, note FROM orders;
ALTER STATISTICS order_qty_note SET STATISTICS 250;
ALTER STATISTICS order_qty_note OWNER TO {owner};
COMMENT ON STATISTICS order_qty_note IS 'qty and note';
CREATE STATISTICS line_price_label ON price, label FROM lines;
INSERT INTO orders SELECT g, g % 10, 'o' || g FROM generate_series(1, 30) g;
INSERT INTO lines SELECT g, 1 + g % 30, g * 3, 'l' || g FROM generate_series(1, 60) g;
"""
# The number of steps of each phase of MIGRATION's plan (the kill points are parametrized
# over them; ``test_the_phases_have_the_steps_enumerated`` keeps them true).
STEPS = {"start": 53, "complete": 19, "rollback": 18}
LOCK_TIMEOUT_MS = 500

# What the catalog says of the user's objects (pgroll's state schema left out); no oids.
_USER = "n.nspname !~ '^(pg_|information_schema$|pgroll$)'"
CATALOG = {
    "relations": "SELECT c.oid::regclass::text, c.relkind, c.relacl::text, c.reloptions, "
                 "c.relrowsecurity, obj_description(c.oid, 'pg_class'), "
                 "pg_get_userbyid(c.relowner) FROM pg_class c JOIN pg_namespace n ON "
                 f"n.oid = c.relnamespace WHERE {_USER} ORDER BY 1",
    "columns": "SELECT a.attrelid::regclass::text, a.attname, format_type(a.atttypid, "
               "a.atttypmod), a.attnotnull, a.attacl::text, a.attstattarget, "
               "col_description(a.attrelid, a.attnum), pg_get_expr(d.adbin, d.adrelid) "
               "FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid "
               "JOIN pg_namespace n ON n.oid = c.relnamespace LEFT JOIN pg_attrdef d ON "
               "d.adrelid = a.attrelid AND d.adnum = a.attnum "
               f"WHERE {_USER} AND a.attnum > 0 AND NOT a.attisdropped ORDER BY 1, 2",
    "views": "SELECT c.oid::regclass::text, pg_get_viewdef(c.oid) FROM pg_class c "
             f"JOIN pg_namespace n ON n.oid = c.relnamespace WHERE {_USER} AND c.relkind = 'v' "
             "ORDER BY 1",
    "policies": "SELECT polname, polrelid::regclass::text, polpermissive, polcmd, "
                "polroles::regrole[]::text, pg_get_expr(polqual, polrelid), "
                "pg_get_expr(polwithcheck, polrelid), obj_description(oid, 'pg_policy') "
                "FROM pg_policy ORDER BY 1, 2",
    "rules": "SELECT ev_class::regclass::text, rulename, pg_get_ruledef(r.oid), ev_enabled, "
             "obj_description(r.oid, 'pg_rewrite') FROM pg_rewrite r JOIN pg_class c ON "
             "c.oid = r.ev_class JOIN pg_namespace n ON n.oid = c.relnamespace "
             f"WHERE {_USER} AND rulename <> '_RETURN' ORDER BY 1, 2",
    "triggers": "SELECT tgrelid::regclass::text, tgname, pg_get_triggerdef(oid), tgenabled, "
                "obj_description(oid, 'pg_trigger') FROM pg_trigger WHERE NOT tgisinternal "
                "ORDER BY 1, 2",
    # (Its columns as a set: it lists them in the table's order, which complete changes.)
    "statistics": "SELECT stxname, stxrelid::regclass::text, (SELECT array_agg(attname::text "
                  "ORDER BY attname) FROM pg_attribute WHERE attrelid = stxrelid AND attnum = "
                  "ANY (stxkeys)), stxkind::text, stxstattarget, obj_description(oid, "
                  "'pg_statistic_ext'), pg_get_userbyid(stxowner) FROM pg_statistic_ext "
                  "ORDER BY 1",
    "schemas": f"SELECT nspname, nspacl::text FROM pg_namespace n WHERE {_USER} ORDER BY 1",
    "constraints": "SELECT conrelid::regclass::text, conname, pg_get_constraintdef(c.oid), "
                   "convalidated FROM pg_constraint c JOIN pg_namespace n ON "
                   f"n.oid = c.connamespace WHERE {_USER} ORDER BY 1, 2",
}
# What each of the user's objects depends on, by name: the column complete left is the one
# named as before (and no column of pgroll's is left, see CATALOG's columns).
USES = """
SELECT DISTINCT CASE WHEN d.classid = 'pg_rewrite'::regclass AND r.rulename = '_RETURN'
    THEN 'view ' || r.ev_class::regclass::text
    ELSE pg_describe_object(d.classid, d.objid, 0) END,
  pg_describe_object(d.refclassid, d.refobjid, d.refobjsubid)
FROM pg_depend d
LEFT JOIN pg_rewrite r ON d.classid = 'pg_rewrite'::regclass AND r.oid = d.objid
WHERE d.refclassid = 'pg_class'::regclass AND d.refobjid IN ('orders'::regclass, 'lines'::regclass)
  AND d.refobjsubid > 0 AND d.classid <> 'pg_constraint'::regclass
  AND (r.oid IS NULL OR r.ev_class::regclass::text !~ '^public_0')
  AND pg_describe_object(d.classid, d.objid, 0) !~ 'pgroll'
ORDER BY 1, 2
"""


def catalog(conn: Connection) -> dict[str, list[tuple[Any, ...]]]:
    return {kind: query(conn, statement) for kind, statement in CATALOG.items()}


def differences(expected: dict[str, list[tuple[Any, ...]]],
                found: dict[str, list[tuple[Any, ...]]]) -> dict[str, Any]:
    """Per kind, the rows only expected and the rows only found (duplicates counted)."""
    out = {}
    for kind in expected:
        if expected[kind] != found[kind]:
            out[kind] = {"only expected": [r for r in expected[kind] if r not in found[kind]],
                         "only found": [r for r in found[kind] if r not in expected[kind]],
                         "counts": (len(expected[kind]), len(found[kind]))}
    return out


def uses(conn: Connection) -> list[tuple[Any, ...]]:
    return query(conn, USES)


# ---- the world: roles, templates, a clean run ------------------------------------------------


@dataclass
class World:
    pg_dsn: str
    admin: Connection
    owner: str
    reader: str
    file: Path
    setup: str = ""  # a database with the user's objects, before start
    started: str = ""  # the same, with the migration started
    before: dict[str, list[tuple[Any, ...]]] = field(default_factory=dict)
    uses_before: list[tuple[Any, ...]] = field(default_factory=list)
    reference: dict[str, list[tuple[Any, ...]]] = field(default_factory=dict)
    totals: dict[str, int] = field(default_factory=dict)
    # Its databases: templates, and a clone of one for each kill point (test_fault_kill's).
    server: Server = field(init=False)

    def __post_init__(self) -> None:
        self.server = Server(self.pg_dsn)

    def dsn(self, name: str) -> str:
        return self.server.dsn(name)

    def create(self, template: str | None = None) -> str:
        return self.server.create(template)

    def clone(self, template: str) -> contextlib.AbstractContextManager[
            tuple[str, Connection]]:
        return self.server.clone(template)


def quoted(role: str) -> str:
    return sql.Identifier(role).as_string(None)


@pytest.fixture(scope="module")
def world(pg_dsn: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    """Templates of the two tables with the user's objects: before start, and started; the
    catalog before start and that of a clean complete (on a clone, dropped after)."""
    admin = psycopg.connect(pg_dsn, autocommit=True)
    tag = uuid.uuid4().hex[:8]
    owner, reader = f"dep owner {tag}", f"dep reader {tag}"
    admin.execute(f"CREATE ROLE {quoted(owner)}")  # type: ignore[arg-type]
    admin.execute(f"CREATE ROLE {quoted(reader)}")  # type: ignore[arg-type]
    file = tmp_path_factory.mktemp("dependents") / f"{NAME}.pgroll"
    file.write_text(MIGRATION, encoding="utf-8")
    w = World(pg_dsn, admin, owner, reader, file)
    try:
        w.setup = w.create()
        dsn = w.dsn(w.setup)
        runner = make_runner(dsn)
        try:
            apply(runner, SETUP, "01_setup")
        finally:
            runner.close()
        with psycopg.connect(dsn, autocommit=True) as conn:
            with conn.transaction():
                conn.execute("SET LOCAL pgroll.no_inferred_migrations = 'TRUE'")
                conn.execute(OBJECTS.format(owner=quoted(owner),  # type: ignore[arg-type]
                                            reader=quoted(reader)))
            w.before, w.uses_before = catalog(conn), uses(conn)
        w.started = w.create(w.setup)
        runner = make_runner(w.dsn(w.started), lock_timeout_ms=LOCK_TIMEOUT_MS)
        try:
            plan = runner.start(migration(MIGRATION, NAME))
        finally:
            runner.close()
        w.totals = {"start": len(plan.start), "complete": len(plan.complete),
                    "rollback": len(plan.rollback)}
        with w.clone(w.started) as (dsn, conn):
            runner = make_runner(dsn, lock_timeout_ms=LOCK_TIMEOUT_MS)
            try:
                runner.complete()
            finally:
                runner.close()
            w.reference = catalog(conn)
        yield w
    finally:
        w.server.close()
        admin.execute(f"DROP ROLE {quoted(owner)}")  # type: ignore[arg-type]
        admin.execute(f"DROP ROLE {quoted(reader)}")  # type: ignore[arg-type]
        admin.close()


def test_the_phases_have_the_steps_enumerated(world: World) -> None:
    """The kill points below are parametrized over these counts."""
    assert world.totals == STEPS


def test_a_clean_complete_carries_every_object(world: World) -> None:
    """The reference the kill points compare with: every object there once, on the new
    column's type, nothing else of the catalog changed."""
    diff = differences(world.before, world.reference)
    assert set(diff) <= {"relations", "columns", "views", "schemas"}, diff
    # The columns: qty and price are bigint, on the tables and on the views that show them.
    changed = {(r[0], r[1], r[2]) for r in diff["columns"]["only found"]}
    assert {("lines", "price", "bigint"), ("orders", "qty", "bigint"),
            ("order_qty", "qty", "bigint"), ("order_totals", "qty", "bigint"),
            ("order_totals", "total", "numeric")} <= changed, diff["columns"]
    # The views print as before; only the old version schema's went, the new one's came.
    assert all(r[0].startswith(OLD) for r in diff["views"]["only expected"]), diff["views"]
    assert all(r[0].startswith(NEW) for r in diff["views"]["only found"]), diff["views"]


# ---- one kill point --------------------------------------------------------------------------

KILL = "PGROLL_DSL_KILL_AT"
ARGS = {"complete": ["complete"], "rollback": ["rollback"]}


def start_args(w: World) -> list[str]:
    return ["start", str(w.file), "--backfill-batch-size", "3", "--lock-timeout",
            str(LOCK_TIMEOUT_MS)]


def status(dsn: str) -> dict[str, str]:
    runner = make_runner(dsn, init=False)
    try:
        return runner.status()
    finally:
        runner.close()


def exists(conn: Connection, schema: str) -> bool:
    return bool(one(conn, "SELECT to_regnamespace(%s) IS NOT NULL", (schema,))[0])


def rows(conn: Connection, schema: str) -> dict[str, list[tuple[Any, ...]]]:
    """The rows of both tables as ``schema`` (a version schema or public) shows them, and the
    audit the user's triggers write."""
    return {
        "orders": query(conn, f'SELECT id, qty::text, note FROM "{schema}".orders ORDER BY id'),
        "lines": query(conn, f'SELECT id, order_id, price::text, label FROM "{schema}".lines '
                       "ORDER BY id"),
        "audit": query(conn, "SELECT what, id FROM public.audit ORDER BY 1, 2"),
    }


# Writes made after a kill, by every kind of client (a version's client is told by its
# ``search_path``): the base tables, the user's views, the old version; and the new
# version's when it exists.
WRITES = {
    "public": ["UPDATE lines SET price = price + 1000 WHERE id = 1",
               "INSERT INTO orders (id, qty, note) VALUES (1001, 3, 'base')",
               "UPDATE order_qty SET qty = qty + 1 WHERE id = 2",
               "INSERT INTO order_qty (id, qty) VALUES (1002, 7)",
               "UPDATE cheap_lines SET label = 'cheap!' WHERE id = 3",
               "INSERT INTO lines (id, order_id, price, label) VALUES (1003, 1001, 11, 'base')"],
    OLD: ["UPDATE orders SET qty = 42 WHERE id = 4",
          "INSERT INTO lines (id, order_id, price, label) VALUES (1004, 1002, 12, 'old')"],
    NEW: ["UPDATE lines SET price = 777 WHERE id = 5",
          "INSERT INTO orders (id, qty, note) VALUES (1005, 5, 'new')",
          "INSERT INTO lines (id, order_id, price, label) VALUES (1006, 1005, 13, 'new')"],
}


def client(dsn: str, schema: str) -> Connection:
    """An application of ``schema`` (a version schema, or public for the base tables)."""
    conn = psycopg.connect(dsn, autocommit=True, prepare_threshold=None,
                           options="-c statement_timeout=20000")
    conn.execute(sql.SQL("SET search_path TO {}").format(sql.Identifier(schema)))
    return conn


def write(dsn: str, admin: Connection) -> None:
    for schema, statements in WRITES.items():
        if not exists(admin, schema):
            continue
        with client(dsn, schema) as conn:
            for statement in statements:
                conn.execute(statement)


def recover(args: list[str], dsn: str) -> fm.CliResult:
    """The command again; a refusal because the killed run's backend still holds the run
    lock is tried again for a few seconds, as an operator would."""
    deadline = time.monotonic() + 5
    while True:
        result = fm.cli(args, dsn)
        if result.returncode == 0 or "backend pid" not in result.stderr \
                or time.monotonic() > deadline:
            return result
        time.sleep(0.2)


def probe(conn: Connection, reader: str) -> None:
    """Each object works: the triggers fire once, the rules and policies apply, the views
    read what the tables hold."""
    audit = query(conn, "SELECT what, id FROM audit")
    qty_9 = one(conn, "SELECT qty FROM orders WHERE id = 9")[0]
    conn.execute("UPDATE lines SET price = price + 1 WHERE id = 7")
    conn.execute("UPDATE orders SET qty = qty + 1 WHERE id = 8")
    conn.execute("UPDATE orders SET qty = -500 WHERE id = 9")  # keep_qty: nothing
    conn.execute("UPDATE order_totals SET n = 0 WHERE id = 10")  # INSTEAD OF: audited
    conn.execute("DELETE FROM big_orders")  # big_orders_kept: nothing
    conn.execute("INSERT INTO lines (id, order_id, price, label) "
                 "VALUES (70, 11, 0, 'free'), (71, 12, -5, 'negative')")
    conn.execute("DELETE FROM orders WHERE id = 30")  # orders_delete_lines: its lines first
    added = query(conn, "SELECT what, id FROM audit")
    for row in audit:
        added.remove(row)
    assert sorted(added) == [("price", 7), ("qty", 8), ("totals", 10)]
    assert one(conn, "SELECT qty FROM orders WHERE id = 9")[0] == qty_9
    assert one(conn, "SELECT count(*) FROM lines WHERE order_id = 30 OR id = 70")[0] == 1
    assert one(conn, "SELECT count(*) FROM big_orders")[0] == one(
        conn, "SELECT count(*) FROM (SELECT o.id FROM orders o JOIN lines l ON l.order_id = "
        "o.id GROUP BY o.id, o.qty HAVING o.qty > 5) x")[0] > 0
    lines = one(conn, "SELECT count(*) FROM lines WHERE price >= 0")[0]
    orders = one(conn, "SELECT count(*) FROM orders o WHERE qty >= 0 AND EXISTS (SELECT FROM "
                 "lines l WHERE l.order_id = o.id AND l.price > 10)")[0]
    conn.execute(f"SET ROLE {quoted(reader)}")  # type: ignore[arg-type]
    try:
        assert one(conn, "SELECT count(*) FROM lines")[0] == lines
        assert one(conn, "SELECT count(*) FROM orders")[0] == orders
        assert one(conn, "SELECT count(*) FROM cheap_lines")[0] > 0
    finally:
        conn.execute("RESET ROLE")


def check_ending(w: World, dsn: str, conn: Connection, ending: str,
                 expected: dict[str, list[tuple[Any, ...]]]) -> None:
    """After the recovery: the state, the catalog (a clean complete's, or exactly as before
    start), what each object depends on, every row, and that each object works."""
    version = NAME if ending == "complete" else "01_setup"
    assert status(dsn) == {"schema": "public", "version": version, "status": "Complete"}
    assert differences(w.reference if ending == "complete" else w.before, catalog(conn)) == {}
    assert uses(conn) == w.uses_before
    assert rows(conn, "public") == expected
    probe(conn, w.reader)


def recover_in_process(ending: str, dsn: str) -> None:
    """Rollback through the Runner the command line wraps (one process less a point)."""
    deadline = time.monotonic() + 5
    while True:
        runner = make_runner(dsn, lock_timeout_ms=LOCK_TIMEOUT_MS)
        try:
            runner.complete() if ending == "complete" else runner.rollback()
            return
        except CommandError as err:
            if "backend pid" not in str(err) or time.monotonic() > deadline:
                raise
        finally:
            runner.close()
        time.sleep(0.2)


def kill_point(w: World, phase: str, n: int, recovery: str) -> None:
    template = w.setup if phase == "start" else w.started
    args = start_args(w) if phase == "start" else ARGS[phase]
    with w.clone(template) as (dsn, conn):
        killed = fm.cli(args, dsn, env={KILL: f"{phase}:{n}"})
        assert killed.killed, killed.describe()
        assert fm.no_traceback(killed) is None, killed.describe()
        assert status(dsn)["status"] == "In progress"
        write(dsn, conn)
        # What the rows must be after the recovery: as the version that survives shows them.
        expected = rows(conn, NEW if recovery == "complete" else OLD)
        if recovery == phase:  # the command again
            result = recover(ARGS[recovery], dsn)
            assert result.returncode == 0, result.describe()
            assert fm.no_traceback(result) is None, result.describe()
        else:
            recover_in_process(recovery, dsn)
        check_ending(w, dsn, conn, recovery, expected)


POINTS = ([pytest.param("start", n, "rollback", id=f"start:{n}-rollback")
           for n in range(1, STEPS["start"] + 2)]
          + [pytest.param("complete", n, recovery, id=f"complete:{n}-{recovery}")
             for n in range(1, STEPS["complete"] + 2) for recovery in ("complete", "rollback")]
          + [pytest.param("rollback", n, "rollback", id=f"rollback:{n}-rollback")
             for n in range(1, STEPS["rollback"] + 2)])


@pytest.mark.parametrize(("phase", "n", "recovery"), POINTS)
def test_killed_at_a_step_boundary_then_run_again(world: World, phase: str, n: int,
                                                  recovery: str) -> None:
    """SIGKILL right before step ``n`` of ``phase`` (``n = steps + 1``: after the last one),
    clients write, then ``recovery``: complete again (or rollback instead: a killed complete
    changed nothing), rollback again, rollback after a killed start."""
    kill_point(world, phase, n, recovery)


# ---- clients during complete -----------------------------------------------------------------

RETRYABLE = {"40P01", "55P03", "40001"}  # deadlock, lock not available, serialization


@dataclass
class Clients:
    """Clients that read and write continuously; what each wrote, and what they met."""

    dsn: str
    stop: threading.Event = field(default_factory=threading.Event)
    written: dict[tuple[str, int, str], Any] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)
    absorbed: list[str] = field(default_factory=list)
    progress: dict[str, list[float]] = field(default_factory=dict)  # when each op ended
    threads: list[threading.Thread] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def run(self, name: str, schema: str,
            operation: Callable[[Connection, int], list[tuple[str, int, str, Any]]],
            gone_ends: bool = False) -> None:
        """A thread that runs ``operation(conn, i)`` for i = 0, 1, ... until stopped; what
        it returns (table, id, column, value) was written. A deadlock or lock error is tried
        again once (what a client's retry absorbs); a second one, or any other error, is a
        finding. ``gone_ends``: the version's schema going (complete drops it) ends it."""

        def loop() -> None:
            with client(self.dsn, schema) as conn:
                i = 0
                while not self.stop.is_set():
                    for attempt in (1, 2):
                        try:
                            with conn.transaction():
                                done = operation(conn, i)
                        except psycopg.Error as err:
                            said = f"{name} #{i}: {err.sqlstate}: {str(err).splitlines()[0]}"
                            if gone_ends and err.sqlstate in fm.GONE:
                                return
                            with self.lock:
                                if err.sqlstate in RETRYABLE and attempt == 1:
                                    self.absorbed.append(said)
                                    continue
                                self.errors.append(said)
                            break
                        with self.lock:
                            for table, key, column, value in done:
                                self.written[(table, key, column)] = value
                            self.progress.setdefault(name, []).append(time.monotonic())
                        break
                    i += 1
                    time.sleep(0.003)

        thread = threading.Thread(target=loop, name=name, daemon=True)
        thread.start()
        self.threads.append(thread)

    def join(self) -> None:
        self.stop.set()
        for thread in self.threads:
            thread.join(30)
        assert not any(t.is_alive() for t in self.threads), "a client hung"


def reader(statement: str) -> Callable[[Connection, int], list[tuple[str, int, str, Any]]]:
    def read(conn: Connection, _i: int) -> list[tuple[str, int, str, Any]]:
        conn.execute(statement).fetchall()
        return []
    return read


def orders_writer(base: int) -> Callable[[Connection, int], list[tuple[str, int, str, Any]]]:
    """Inserts an order of its own, then sets the quantity of one it inserted before."""
    def op(conn: Connection, i: int) -> list[tuple[str, int, str, Any]]:
        if i % 2 == 0:
            conn.execute("INSERT INTO orders (id, qty, note) VALUES (%s, %s, 'w')",
                         (base + i, i % 7))
            return [("orders", base + i, "qty", str(i % 7)), ("orders", base + i, "note", "w")]
        conn.execute("UPDATE orders SET qty = %s WHERE id = %s", (i, base + i - 1))
        return [("orders", base + i - 1, "qty", str(i))]
    return op


def lines_writer(base: int) -> Callable[[Connection, int], list[tuple[str, int, str, Any]]]:
    def op(conn: Connection, i: int) -> list[tuple[str, int, str, Any]]:
        if i % 2 == 0:
            conn.execute("INSERT INTO lines (id, order_id, price, label) VALUES (%s, %s, %s, "
                         "'w')", (base + i, 1 + i % 29, i))
            return [("lines", base + i, "price", str(i)), ("lines", base + i, "label", "w")]
        conn.execute("UPDATE lines SET price = %s WHERE id = %s", (i * 2, base + i - 1))
        return [("lines", base + i - 1, "price", str(i * 2))]
    return op


def view_writer(base: int) -> Callable[[Connection, int], list[tuple[str, int, str, Any]]]:
    """Through the user's views: order_qty (made again by complete), cheap_lines (replaced in
    place; lines 20..25 are this client's)."""
    def op(conn: Connection, i: int) -> list[tuple[str, int, str, Any]]:
        match i % 3:
            case 0:
                conn.execute("INSERT INTO order_qty (id, qty) VALUES (%s, %s)", (base + i, 1))
                return [("orders", base + i, "qty", "1"), ("orders", base + i, "note",
                                                          "via view")]
            case 1:
                conn.execute("UPDATE order_qty SET qty = %s WHERE id = %s", (i, base + i - 1))
                return [("orders", base + i - 1, "qty", str(i))]
        line = 20 + i % 6
        conn.execute("UPDATE cheap_lines SET label = %s WHERE id = %s", (f"c{i}", line))
        return [("lines", line, "label", f"c{i}")]
    return op


def mixed(base: int) -> Callable[[Connection, int], list[tuple[str, int, str, Any]]]:
    """Transactions that hold what they took: a join view then a table, or a table then a
    view built on a view (the other order)."""
    def op(conn: Connection, i: int) -> list[tuple[str, int, str, Any]]:
        if i % 2 == 0:
            conn.execute("SELECT count(*) FROM order_totals").fetchall()
            conn.execute("UPDATE lines SET label = %s WHERE id = %s", (f"m{i}", base))
            return [("lines", base, "label", f"m{i}")]
        conn.execute("UPDATE orders SET note = %s WHERE id = %s", (f"m{i}", base))
        conn.execute("SELECT count(*) FROM big_orders").fetchall()
        return [("orders", base, "note", f"m{i}")]
    return op


def test_clients_of_every_view_during_complete(world: World) -> None:
    """Readers of each view (the join of both tables and the view built on it included) and
    of both versions, writers of the base tables, through the user's views and through both
    versions, and transactions holding a view and a table, all running while complete runs:
    complete succeeds, no client meets an error a retry would not absorb, no write is lost."""
    w = world
    retries: list[Any] = []
    with w.clone(w.started) as (dsn, conn):
        conn.execute("INSERT INTO orders (id, qty, note) VALUES (9000, 1, 'm'), (9001, 1, 'm')")
        conn.execute("INSERT INTO lines (id, order_id, price, label) VALUES (9000, 1, 1, 'm'), "
                     "(9001, 2, 2, 'm')")
        clients = Clients(dsn)
        for view in ("order_qty", "cheap_lines", "order_totals", "big_orders"):
            clients.run(f"reader of {view}", "public", reader(
                f"SELECT count(*), sum(id) FROM {view}"))
        clients.run("reader of the new version's join", NEW, reader(
            "SELECT count(*), sum(price) FROM orders o JOIN lines l ON l.order_id = o.id"))
        clients.run("reader of the old version's join", OLD, reader(
            "SELECT count(*), sum(price) FROM orders o JOIN lines l ON l.order_id = o.id"),
            gone_ends=True)
        clients.run("orders writer", "public", orders_writer(10_000))
        clients.run("lines writer", "public", lines_writer(20_000))
        clients.run("view writer", "public", view_writer(30_000))
        clients.run("new version orders writer", NEW, orders_writer(40_000))
        clients.run("new version lines writer", NEW, lines_writer(50_000))
        clients.run("old version orders writer", OLD, orders_writer(60_000), gone_ends=True)
        clients.run("view then table", "public", mixed(9000))
        clients.run("table then view", "public", mixed(9001))
        time.sleep(0.5)
        runner = make_runner(dsn, lock_timeout_ms=LOCK_TIMEOUT_MS,
                             on_retry=lambda *a: retries.append(a))
        try:
            runner.complete()
            completed = time.monotonic()
        finally:
            runner.close()
            time.sleep(0.5)
            clients.join()
        assert clients.errors == [], clients.errors
        assert clients.absorbed == [], (clients.absorbed, len(retries))
        # Every client of what stays read and wrote after complete too.
        after = {name for name, times in clients.progress.items() if times[-1] > completed}
        assert after >= set(clients.progress) - {"reader of the old version's join",
                                              "old version orders writer"}, after
        # No write lost: each (row, column) holds what was last written to it.
        tables = {t: {r[0]: r for r in query(conn, f"SELECT id, {cols} FROM {t}")}
                  for t, cols in (("orders", "qty::text, note"),
                                  ("lines", "price::text, label"))}
        position = {"qty": 1, "note": 2, "price": 1, "label": 2}
        lost = [(key, value, tables[key[0]].get(key[1]))
                for key, value in clients.written.items()
                if key[1] not in tables[key[0]]
                or tables[key[0]][key[1]][position[key[2]]] != value]
        assert lost == []
        assert len(clients.written) > 100
        assert differences(w.reference, catalog(conn)) == {}
        assert uses(conn) == w.uses_before


# ---- two runs racing -------------------------------------------------------------------------

RACES = {"two completes": ("complete", "complete"),
         "two completes after a killed one": ("complete", "complete"),
         "complete and rollback": ("complete", "rollback")}
LOSER = ("another pgroll-dsl run is working on schema", "no active migration")


@pytest.mark.parametrize("attempt", [1, 2])
@pytest.mark.parametrize("race", sorted(RACES))
def test_two_runs_racing(world: World, race: str, attempt: int) -> None:
    """Two processes at once: one does the phase, the other is refused (the run lock, or
    nothing left to do) and changes nothing; the objects end as after one clean run."""
    w = world
    with w.clone(w.started) as (dsn, conn):
        if "killed" in race:
            killed = fm.cli(["complete"], dsn, env={KILL: f"complete:{2 + attempt}"})
            assert killed.killed, killed.describe()
        expected = {"complete": rows(conn, NEW), "rollback": rows(conn, OLD)}
        processes = [(args, fm.cli_popen([args], dsn)) for args in RACES[race]]
        results = []
        for args, process in processes:
            out, err = process.communicate(timeout=60)
            results.append((args, process.returncode, out + err))
        assert all("Traceback" not in said for _, _, said in results), results
        won = [args for args, code, _ in results if code == 0]
        assert len(won) == 1, results
        assert all(code == 1 and any(m in said for m in LOSER)
                   for _, code, said in results if code != 0), results
        check_ending(w, dsn, conn, won[0], expected[won[0]])


# ---- defects: the lock step's LOCK TABLE of a view locks what the view reads ----------------

def _table_with_a_view(conn: Connection, view: str) -> None:
    conn.execute("CREATE TABLE t (id int PRIMARY KEY, v int, cid int);"
                 "CREATE TABLE c (id int PRIMARY KEY, name text);"
                 "INSERT INTO c VALUES (1, 'a'), (2, 'b');"
                 "INSERT INTO t SELECT g, g, 1 + g % 2 FROM generate_series(1, 10) g;" + view)


def test_a_read_only_view_of_a_select_only_role_does_not_stop_complete(
        pg_conn: Connection, pg_dsn: str) -> None:
    role = f"select_only_{pg_conn.info.backend_pid}"
    pg_conn.execute(f"CREATE ROLE {quoted(role)}")  # type: ignore[arg-type]
    try:
        _table_with_a_view(pg_conn, f"GRANT SELECT ON t TO {quoted(role)};"
                           "CREATE VIEW tv AS SELECT id, v FROM t;"
                           f"ALTER VIEW tv OWNER TO {quoted(role)};")
        runner = make_runner(dsn_of(pg_dsn, pg_conn), lock_timeout_ms=LOCK_TIMEOUT_MS)
        try:
            runner.start(migration("alter table t alter v type bigint up `v` down `v`;",
                                   "02_v"))
            runner.complete()
        finally:
            runner.close()
        assert one(pg_conn, "SELECT format_type(atttypid, NULL), pg_get_userbyid(relowner) "
                   "FROM pg_attribute JOIN pg_class ON oid = attrelid WHERE attrelid = "
                   "'tv'::regclass AND attname = 'v'") == ("bigint", role)
    finally:
        pg_conn.execute(f"DROP OWNED BY {quoted(role)}")  # type: ignore[arg-type]
        pg_conn.execute(f"DROP ROLE {quoted(role)}")  # type: ignore[arg-type]


def test_a_view_joining_a_table_the_migration_leaves_alone_does_not_lock_it(
        pg_conn: Connection, pg_dsn: str) -> None:
    _table_with_a_view(pg_conn, "CREATE VIEW tv AS SELECT t.id, t.v, c.name FROM t "
                                "JOIN c ON c.id = t.cid;")
    dsn = dsn_of(pg_dsn, pg_conn)
    runner = make_runner(dsn, lock_timeout_ms=LOCK_TIMEOUT_MS)
    try:
        runner.start(migration("alter table t alter v type bigint up `v` down `v`;", "02_v"))
    finally:
        runner.close()
    locked: list[Any] = []

    def on_step(event: StepEvent) -> None:
        if event.phase is Phase.COMPLETE and event.index == 1:  # right after the lock step
            locked.extend(query(pg_conn, "SELECT mode FROM pg_locks WHERE relation = "
                                "'c'::regclass AND granted AND pid <> pg_backend_pid()"))

    with psycopg.connect(dsn) as report:  # a transaction that has read c, and goes on
        report.execute("SELECT count(*) FROM c").fetchall()
        runner = Runner(RunOptions(session=Session(url=dsn, lock_timeout_ms=LOCK_TIMEOUT_MS,
                                                   retries=2, holder_wait_s=1.0),
                                   on_step=on_step))
        try:
            runner.complete()
        finally:
            runner.close()
    assert ("AccessExclusiveLock",) not in locked
    assert one(pg_conn, "SELECT count(*) FROM tv")[0] == 10
