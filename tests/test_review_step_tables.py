"""Review of 0c113d0: a plan step holds its tables as a tuple (``Step.tables``).

* Hostile names (``a, b``, quotes, spaces, upper case, unicode, ``$``, a reserved word, 63
  bytes) for tables, partitions, referenced tables and columns, through the live executor:
  add column with up, a type change with up/down, an index, foreign keys from and to a
  partitioned table; start with two backfill workers and a writing client, then complete or
  rollback. Holds; so does the lock wait on a foreign key's target named ``r, s`` (failed at
  0c113d0^).
* The ownership probe checked every table of a step at 0c113d0. A step names a foreign key's
  target (a partition's key at start, the parent's at complete, ``create table ...
  references``), where PostgreSQL asks REFERENCES (and, for complete's ``LOCK ... ACCESS
  EXCLUSIVE``, UPDATE, DELETE or TRUNCATE), not ownership: two migrations that ran at
  0c113d0^ were refused, and one was refused before too (a single target was checked). A
  step now says which of its tables it only references (``Step.referenced``), and the probe
  asks those rights of them; the three pass.
* Plans saved by 0c113d0^ (``fixtures/review_step_tables``, written by its ``make.py``): they
  read (digest, SQL text), equal this version's plan, and run through ``start --plan``.
"""

from __future__ import annotations

import importlib.util
import json
import os
import re
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path
from types import ModuleType
from typing import Any

import psycopg
import pytest
from psycopg import sql
from psycopg.conninfo import make_conninfo

from pgroll_dsl.backends.runner import CommandError, Runner
from pgroll_dsl.catalog import Catalog
from pgroll_dsl.catalog.replay import apply_migration, version_schema_name
from pgroll_dsl.plan.backfill import share_bound
from pgroll_dsl.plan.model import Lock, Phase, Step, StepKind
from pgroll_dsl.plan.planner import PlanOptions, plan_migration
from pgroll_dsl.render.saved_plan import read_saved
from pgroll_dsl.sql.ddl import current_setting
from tests.live_helpers import (
    Connection,
    apply,
    dsn_of,
    make_runner,
    migration,
    triggers_and_functions,
)

pytestmark = [pytest.mark.postgres]


def _q(name: str) -> str:
    """A double-quoted identifier (as in SQL and in the DSL)."""
    return '"' + name.replace('"', '""') + '"'


def _variant(name: str, tag: str) -> str:
    """Another hostile name of the same kind: ``tag`` in its middle, at most 63 bytes."""
    middle = max(1, len(name) // 2)
    out = name[:middle] + tag + name[middle:]
    while len(out.encode()) > 63:
        cut = middle + len(tag)
        out = out[:cut] + out[cut + 1:]
    return out


HOSTILE = [
    "a, b",
    'x"y',
    'Ev.2025 "q\'s"',
    " lead",
    "trail ",
    "UPPER",
    "ünïcødé",
    "d$1",
    "select",
    "t" * 63,
    "é" * 31 + "x",  # 63 bytes of two-byte letters and one byte
]


def _setup(h: str) -> str:
    """A plain table, a partitioned one with two partitions, a referenced one: all hostile."""
    t, p, r = _q(h), _q(_variant(h, "P")), _q(_variant(h, "R"))
    p1, p2 = _q(_variant(h, "1")), _q(_variant(h, "2"))
    c = _q(_variant(h, "c"))
    return f"""
create table {r} (id int primary key);
insert into {r} select g from generate_series(0, 40) g;
create table {t} (id int primary key, {c} text, n text, m int, k int, k2 int);
insert into {t} select g, 'v' || g, (g % 40)::text, g % 40, g, g from generate_series(1, 60) g;
create table {p} (id int not null, at int not null, {c} text, n text, m int,
                  primary key (id, at)) partition by range (at);
create table {p1} partition of {p} for values from (0) to (100);
create table {p2} partition of {p} for values from (100) to (200);
insert into {p} select g, g % 200, 'v' || g, (g % 40)::text, g % 40
  from generate_series(1, 60) g;
"""


def _change(h: str) -> str:
    """Add a column with up, change a type with up/down, an index, foreign keys both ways."""
    t, p, r = _q(h), _q(_variant(h, "P")), _q(_variant(h, "R"))
    c, c2 = _q(_variant(h, "c")), _q(_variant(h, "C"))
    i, j = _q(_variant(h, "i")), _q(_variant(h, "j"))
    f1, f2, f3 = _q(_variant(h, "f")), _q(_variant(h, "g")), _q(_variant(h, "k"))
    return "\n".join(
        f"alter table {x} add {c2} text not null up `coalesce({c}, '') || '!'`;\n"
        f"alter table {x} alter n type int up `n::int` down `n::text`;\n"
        f"create index {ix} on {x} ({c});\n"
        f"alter table {x} add constraint {fk} foreign key (m) references {r} (id);"
        for x, ix, fk in ((t, i, f1), (p, j, f2))
    ) + f"\nalter table {t} add constraint {f3} foreign key (k, k2) references {p} (id, at);\n"


@contextmanager
def _writer(dsn: str, tables: list[str]) -> Iterator[list[BaseException]]:
    """A client writing the tables (directly, as the version before) until the block ends."""
    errors: list[BaseException] = []
    stop = threading.Event()

    def run() -> None:
        with psycopg.connect(dsn, autocommit=True) as conn:
            k = 0
            while not stop.is_set():
                k += 1
                for table in tables:
                    try:
                        conn.execute(sql.SQL("UPDATE {} SET m = m WHERE id = %s").format(
                            sql.Identifier("public", table)), (k % 60 + 1,))
                    except psycopg.errors.LockNotAvailable:
                        pass
                    except psycopg.Error as err:  # pragma: no cover - reported by the test
                        errors.append(err)
                time.sleep(0.005)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    try:
        yield errors
    finally:
        stop.set()
        thread.join(10)


def _leftovers(conn: Connection) -> list[str]:
    columns = [str(r[0]) + "." + str(r[1]) for r in conn.execute(
        "SELECT c.relname, a.attname FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid "
        "JOIN pg_namespace s ON s.oid = c.relnamespace WHERE s.nspname = 'public' "
        "AND a.attnum > 0 AND NOT a.attisdropped AND a.attname LIKE '%pgroll%'").fetchall()]
    return columns + triggers_and_functions(conn)


def _runner(dsn: str, **options: Any) -> Runner:
    return make_runner(dsn, backfill_workers=2, **options)


@pytest.mark.parametrize("finish", ["complete", "rollback"])
@pytest.mark.parametrize("hostile", HOSTILE, ids=[repr(h) for h in HOSTILE])
def test_hostile_names_through_start_complete_rollback(pg_conn: Connection, pg_dsn: str,
                                                       hostile: str, finish: str) -> None:
    dsn = dsn_of(pg_dsn, pg_conn)
    pg_conn.execute(_setup(hostile))
    t, p = hostile, _variant(hostile, "P")
    c2 = _variant(hostile, "C")
    runner = _runner(dsn)
    try:
        with _writer(dsn, [t, p]) as errors:
            runner.start(migration(_change(hostile), "02_change"))
            getattr(runner, finish)()
        assert errors == []
    finally:
        runner.close()
    assert _leftovers(pg_conn) == []
    for table in (t, p):
        names = [str(r[0]) for r in pg_conn.execute(
            "SELECT attname FROM pg_attribute WHERE attrelid = %s::regclass AND attnum > 0 "
            "AND NOT attisdropped ORDER BY attnum",
            (sql.Identifier("public", table).as_string(pg_conn),)).fetchall()]
        rows = pg_conn.execute(sql.SQL("SELECT count(*) FROM {}").format(
            sql.Identifier("public", table))).fetchone()
        assert rows == (60,)
        if finish == "complete":
            assert c2 in names
            bad = pg_conn.execute(sql.SQL("SELECT count(*) FROM {} WHERE {} IS DISTINCT FROM "
                                          "coalesce({}, '') || '!'").format(
                sql.Identifier("public", table), sql.Identifier(c2),
                sql.Identifier(_variant(hostile, "c")))).fetchone()
            assert bad == (0,)
        else:
            assert c2 not in names


# ---- the ownership probe: every table of a step --------------------------------------------

@contextmanager
def _roles(conn: Connection) -> Iterator[tuple[str, str]]:
    """A login role that runs the migration (CREATE on the database and on public) and a role
    that owns the referenced tables; both dropped at the end."""
    tag = uuid.uuid4().hex[:8]
    migrator, owner = f"review_mig_{tag}", f"review_ref_{tag}"
    conn.execute(sql.SQL("CREATE ROLE {} LOGIN").format(sql.Identifier(migrator)))
    conn.execute(sql.SQL("CREATE ROLE {}").format(sql.Identifier(owner)))
    database = sql.Identifier(str(conn.info.dbname))
    conn.execute(sql.SQL("GRANT CREATE ON DATABASE {} TO {}").format(
        database, sql.Identifier(migrator)))
    conn.execute(sql.SQL("GRANT CREATE, USAGE ON SCHEMA public TO {}").format(
        sql.Identifier(migrator)))
    try:
        yield migrator, owner
    finally:
        conn.execute(sql.SQL("DROP OWNED BY {}, {} CASCADE").format(
            sql.Identifier(migrator), sql.Identifier(owner)))
        conn.execute(sql.SQL("DROP ROLE {}, {}").format(
            sql.Identifier(migrator), sql.Identifier(owner)))


OWNED_SETUP = """
create table refd (id int primary key);
create table refd2 (id int primary key);
insert into refd select g from generate_series(0, 40) g;
insert into refd2 select g from generate_series(0, 40) g;
create table ev (id int not null, at int not null, m int, primary key (id, at))
  partition by range (at);
create table ev_a partition of ev for values from (0) to (100);
create table ev_b partition of ev for values from (100) to (200);
insert into ev select g, g % 200, g % 40 from generate_series(1, 60) g;
create table plain (id int primary key, m int);
insert into plain select g, g % 40 from generate_series(1, 60) g;
"""
PARTITIONED_FK = "alter table ev add constraint ev_m_fk foreign key (m) references refd (id);"
PLAIN_FK = "alter table plain add constraint plain_m_fk foreign key (m) references refd (id);"
CREATE_ONE = ("create table child (id int primary key, "
              "r int constraint child_r_fk references refd (id));")
CREATE_TWO = ("create table child (id int primary key, "
              "r int constraint child_r_fk references refd (id), "
              "s int constraint child_s_fk references refd2 (id));")


def _as_migrator(pg_conn: Connection, pg_dsn: str, migrator: str, owner: str,
                 rights: str) -> str:
    """The setup: ev, plain (and their partitions) the migrator's, refd and refd2 ``owner``'s
    with ``rights`` granted to the migrator. The migrator's connection string."""
    pg_conn.execute(OWNED_SETUP)
    for table in ("ev", "ev_a", "ev_b", "plain"):
        pg_conn.execute(sql.SQL("ALTER TABLE {} OWNER TO {}").format(
            sql.Identifier(table), sql.Identifier(migrator)))
    for table in ("refd", "refd2"):
        pg_conn.execute(sql.SQL("ALTER TABLE {} OWNER TO {}").format(
            sql.Identifier(table), sql.Identifier(owner)))
        pg_conn.execute(sql.SQL(f"GRANT {rights} ON {{}} TO {{}}").format(
            sql.Identifier(table), sql.Identifier(migrator)))
    return make_conninfo(dsn_of(pg_dsn, pg_conn), user=migrator)


def _start_and(dsn: str, change: str, finish: str) -> None:
    runner = make_runner(dsn)
    try:
        runner.start(migration(change, "02_change"))
        getattr(runner, finish)()
    finally:
        runner.close()


def _fk_valid(conn: Connection, table: str, name: str) -> bool:
    row = conn.execute("SELECT convalidated FROM pg_constraint WHERE conrelid = %s::regclass "
                       "AND conname = %s", (table, name)).fetchone()
    return bool(row and row[0])


@pytest.mark.parametrize("finish", ["complete", "rollback"])
def test_a_plain_tables_foreign_key_needs_only_references_on_the_other(
        pg_conn: Connection, pg_dsn: str, finish: str) -> None:
    """ALTER TABLE plain ADD FOREIGN KEY needs plain's ownership and REFERENCES on refd: the
    step names plain alone, the probe does not ask for refd. Holds before and after."""
    with _roles(pg_conn) as (migrator, owner):
        dsn = _as_migrator(pg_conn, pg_dsn, migrator, owner, "REFERENCES")
        _start_and(dsn, PLAIN_FK, finish)
        assert _fk_valid(pg_conn, "plain", "plain_m_fk") is (finish == "complete")
        assert _leftovers(pg_conn) == []


# Failed at 0c113d0: the probe asked to own every table of a step, and a partitioned table's
# foreign key steps name the referenced table. REFERENCES and UPDATE on refd are enough for each
# statement the plan runs (ADD FOREIGN KEY: REFERENCES; complete's LOCK ... ACCESS EXCLUSIVE:
# UPDATE); a step's ``referenced`` tables are now checked for those rights only.
def test_a_partitioned_tables_foreign_key_with_the_rights_it_needs_runs(
        pg_conn: Connection, pg_dsn: str) -> None:
    with _roles(pg_conn) as (migrator, owner):
        dsn = _as_migrator(pg_conn, pg_dsn, migrator, owner, "REFERENCES, UPDATE")
        _start_and(dsn, PARTITIONED_FK, "complete")
        assert _fk_valid(pg_conn, "ev", "ev_m_fk")
        assert _leftovers(pg_conn) == []


def test_a_partitioned_tables_foreign_key_short_of_the_lock_right_is_refused_up_front(
        pg_conn: Connection, pg_dsn: str) -> None:
    """REFERENCES alone: complete's lock step (LOCK refd IN ACCESS EXCLUSIVE MODE) would fail.
    At 0c113d0^ start ran and complete failed at that step; now start refuses, nothing done."""
    with _roles(pg_conn) as (migrator, owner):
        dsn = _as_migrator(pg_conn, pg_dsn, migrator, owner, "REFERENCES")
        with pytest.raises(CommandError, match='may not lock table "refd".*GRANT UPDATE ON '
                           '"refd"'):
            _start_and(dsn, PARTITIONED_FK, "complete")
        assert _leftovers(pg_conn) == []
        assert pg_conn.execute("SELECT count(*) FROM pg_constraint WHERE contype = 'f' AND "
                               "conrelid::regclass::text IN ('ev', 'ev_a', 'ev_b')"
                               ).fetchone() == (0,)


# Failed at 0c113d0, where the probe asked to own refd (and refd2): create table ...
# references needs only REFERENCES on them. With one target it failed before 0c113d0 too; with
# two, the step's text 'refd, refd2' named no table then, and the probe checked nothing.
@pytest.mark.parametrize(("text", "keys"), [(CREATE_ONE, 1), (CREATE_TWO, 2)],
                         ids=["one target", "two targets"])
def test_create_table_referencing_tables_it_may_reference(pg_conn: Connection, pg_dsn: str,
                                                          text: str, keys: int) -> None:
    with _roles(pg_conn) as (migrator, owner):
        dsn = _as_migrator(pg_conn, pg_dsn, migrator, owner, "REFERENCES")
        _start_and(dsn, text, "complete")
        assert pg_conn.execute("SELECT count(*) FROM pg_constraint WHERE contype = 'f' AND "
                               "conrelid = 'child'::regclass").fetchone() == (keys,)


# ---- plans saved by 0c113d0^ (only "relation"), read by this version ------------------------

SAVED = Path(__file__).parent / "fixtures" / "review_step_tables"


def _make() -> ModuleType:
    """make.py, which wrote the saved plans (its SETUP and CHANGE)."""
    spec = importlib.util.spec_from_file_location("review_step_tables_make", SAVED / "make.py")
    assert spec is not None and spec.loader is not None
    make = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(make)
    return make


def _saved_setup(pg_conn: Connection, pg_dsn: str) -> tuple[str, ModuleType]:
    """The database the saved plans were made for (make.py's history), and make.py."""
    make = _make()
    dsn = dsn_of(pg_dsn, pg_conn)
    runner = make_runner(dsn)
    try:
        apply(runner, make.SETUP, "01_setup")
    finally:
        runner.close()
    return dsn, make


# A bound of a worker's share as blocks read it since b594ef9 (plan.backfill.share_bound), and
# as the fixture's blocks do: the setting itself.
_SHARE_BOUND = re.compile(re.escape(share_bound("NAME")).replace("NAME", "([a-z_0-9.]+)"))


def _before_b594ef9(sql: str) -> str:
    return _SHARE_BOUND.sub(lambda m: current_setting(m.group(1)), sql)


def _as_saved(steps: tuple[Step, ...]) -> list[Step]:
    """This version's steps as the fixture's version planned them, as far as that goes.

    Since 5ecf433 each sync trigger is enabled ALWAYS in a step of its own (the fixture has
    none), and the sync triggers' WHEN and the backfill blocks read otherwise (fd4951e,
    5ecf433), and the *fill* and *down* trigger functions too (4511197, 14e34a7: an old
    column written by its name): those kinds of step are compared without their SQL. So are
    complete's lock step (it locks the views that use a replaced column first) and the step
    that adds a copy (with its column's settings since); see also ``_SINCE``.
    """
    kept = [s for s in steps if not (s.summary.startswith("trigger ")
                                     and s.summary.endswith(" fires in every replication role"))
            and not s.summary.startswith(_SINCE)]
    return [replace(s, referenced=(), sql=_before_b594ef9(s.sql), summary=_ADDS.sub(
        r"\1)", s.summary)) for s in kept]


# Steps made since the fixture (it has none): the version schema's rights at start and their
# second reading at complete (plan/grants.py), a copy's privileges read again at complete
# (plan/attributes.py), what uses a replaced column carried over (plan/dependents.py). A copy is
# added with its column's settings (plan/attributes.py): its step says so, and its SQL is
# a block (compared without it, as ``_same_step`` says).
_SINCE = ("the roles that use ", "the rights granted on ", "the new column",
          "carry the views, rules, policies, triggers and statistics",
          "backfill the partitions that joined ", "no partition joined ")
_ADDS = re.compile(r"^(add column _pgroll_new_\w+ \(copy of \w+), with its collation, "
                   r"privileges and settings\)$")


def _same_step(saved: Step, fresh: Step) -> bool:
    if fresh.summary.startswith("the partitions of ") and fresh.lock is Lock.SHARE_UPDATE_EXCLUSIVE:
        # start's last check of an open tree (plan/joined.py): it backfills what joined
        return saved.summary.startswith("the partitions of ") and saved.tables == fresh.tables
    if fresh.kind is StepKind.BACKFILL or fresh.sql.startswith("CREATE OR REPLACE TRIGGER ") \
            or fresh.summary.startswith(("trigger function ", "lock ", "drop the previous "
                                         "version schema ", "drop version schema ")) \
            or fresh.sql.startswith("DO ") and "ADD COLUMN IF NOT EXISTS" in fresh.sql:
        return replace(saved, sql="") == replace(fresh, sql="")
    return saved == fresh


@pytest.mark.parametrize("plan_format", ["json", "sql"])
def test_a_plan_saved_before_reads_as_the_plan_made_now(plan_format: str) -> None:
    """The fixture was written by 0c113d0^ (make.py): no "tables", its steps of two and three
    tables ("ev_a, refd", complete's lock "ev, plain, refd") only as text. Its digest and, for
    SQL, its text still check, and its steps are those this version plans (same options), but
    for ``referenced`` (the foreign keys' targets among a step's tables), which it does not
    carry: the probe then asks to own them, as 0c113d0^ did; for how the backfill blocks
    read a worker's share bounds (an empty one is none since b594ef9); and for what
    ``_as_saved`` says."""
    text = (SAVED / f"02_change.{plan_format}").read_text()
    if plan_format == "json":
        assert all("tables" not in step for phase in Phase for step in json.loads(text)[phase])
    saved = read_saved(text, f"02_change.{plan_format}")
    make = _make()
    setup = migration(make.SETUP, "01_setup")
    catalog, _ = apply_migration(Catalog(), setup)
    options = PlanOptions(previous_version_schema=f"public_{version_schema_name(setup)}")
    fresh = plan_migration(migration(make.CHANGE, "02_change"), catalog, options)
    for phase in Phase:
        made = _as_saved(fresh.phase(phase))
        assert len(saved.plan.phase(phase)) == len(made), phase
        assert all(_same_step(a, b) for a, b in zip(saved.plan.phase(phase), made, strict=True)), (
            phase, [(a, b) for a, b in zip(saved.plan.phase(phase), made, strict=True)
                    if not _same_step(a, b)])
    assert any(s.referenced for s in fresh.start) and not any(s.referenced
                                                             for s in saved.plan.start)
    lock = [s for s in saved.plan.complete if s.summary.startswith("lock ")]
    assert [s.tables for s in lock] == [("ev", "plain", "refd")]
    assert ("ev_a", "refd") in [s.tables for s in saved.plan.start]


@pytest.mark.parametrize("plan_format", ["json", "sql"])
def test_a_plan_saved_before_runs_through_the_cli(pg_conn: Connection, pg_dsn: str,
                                                  plan_format: str, tmp_path: Path) -> None:
    dsn, make = _saved_setup(pg_conn, pg_dsn)
    (tmp_path / "02_change.pgroll").write_text(make.CHANGE)
    env = {**os.environ, "PGROLL_PG_URL": dsn, "PGROLL_SCHEMA": "public"}

    def cli(*args: str) -> None:
        done = subprocess.run([sys.executable, "-m", "pgroll_dsl", *args], env=env,
                              capture_output=True, text=True, timeout=120, check=False)
        assert done.returncode == 0, done.stdout + done.stderr

    with _writer(dsn, ["ev", "plain"]) as errors:
        cli("start", "--plan", str(SAVED / f"02_change.{plan_format}"), "--backfill-workers",
            "2", str(tmp_path / "02_change.pgroll"))
        cli("complete")
    assert errors == []
    assert _fk_valid(pg_conn, "ev", "ev_m_fk") and _fk_valid(pg_conn, "plain", "plain_m_fk")
    for table in ("ev", "plain"):
        assert pg_conn.execute(sql.SQL("SELECT count(*) FROM {} WHERE extra IS DISTINCT FROM "
                                       "note || '!'").format(sql.Identifier(table))
                               ).fetchone() == (0,)
    assert _leftovers(pg_conn) == []


def test_a_key_repointed_on_a_table_of_another_role_is_refused_up_front(
        pg_conn: Connection, pg_dsn: str) -> None:
    """Changing refd.id's type makes plain's foreign key again over the copy: ALTER TABLE
    plain, which only plain's owner may run. That step names (plain, refd); complete's drop
    of the old key names plain alone, so start refused at 0c113d0^ too (same message)."""
    with _roles(pg_conn) as (migrator, owner):
        pg_conn.execute(OWNED_SETUP)
        pg_conn.execute("ALTER TABLE plain ADD CONSTRAINT plain_m_fk FOREIGN KEY (m) "
                        "REFERENCES refd (id)")
        pg_conn.execute(sql.SQL("ALTER TABLE refd OWNER TO {}").format(
            sql.Identifier(migrator)))
        pg_conn.execute(sql.SQL("ALTER TABLE plain OWNER TO {}").format(sql.Identifier(owner)))
        dsn = make_conninfo(dsn_of(pg_dsn, pg_conn), user=migrator)
        with pytest.raises(CommandError, match='does not own table "plain"'):
            _start_and(dsn, "alter table refd alter id type bigint up `id` down `id::int`;",
                       "complete")
        assert _leftovers(pg_conn) == []
        assert [r[0] for r in pg_conn.execute(
            "SELECT conname FROM pg_constraint WHERE conrelid = 'plain'::regclass AND "
            "contype = 'f'").fetchall()] == ["plain_m_fk"]


# ---- the lock wait on a foreign key's target with a hostile name ----------------------------

@pytest.mark.parametrize("phase", ["start", "complete"])
@pytest.mark.parametrize("target", ["r, s", 'R."s" q'])
def test_a_writer_of_a_hostile_foreign_key_target_is_waited_for(
        pg_conn: Connection, pg_dsn: str, target: str, phase: str) -> None:
    """A partitioned table's foreign key names (leaf, target) at start and complete locks
    the target: a writer of a target named "r, s" is waited for, its clients do not queue."""
    from tests.test_lock_wait_partitions import LOCK_TIMEOUT_MS, STALL_S, held_while

    quoted = _q(target)
    dsn = dsn_of(pg_dsn, pg_conn)
    pg_conn.execute(f"""
create table {quoted} (id int primary key);
insert into {quoted} select g from generate_series(0, 40) g;
create table ev (id int not null, at int not null, m int, primary key (id, at))
  partition by range (at);
create table "e, 1" partition of ev for values from (0) to (100);
create table "e, 2" partition of ev for values from (100) to (200);
insert into ev select g, g % 200, g % 40 from generate_series(1, 60) g;
""")
    messages: list[str] = []
    runner = make_runner(dsn, lock_timeout_ms=LOCK_TIMEOUT_MS, on_message=messages.append)
    change = migration(f"alter table ev add constraint fk_m foreign key (m) references "
                       f"{quoted} (id);", "02_change")
    table = f"public.{quoted}"
    try:
        if phase == "complete":
            runner.start(change)
        run = runner.complete if phase == "complete" else (lambda: runner.start(change))
        stalls, waited = held_while(dsn, run, f"delete from {table} where false", [
            f"select count(*) from {table}", "select count(*) from ev"], messages)
        assert waited, messages
        assert max(stalls) < STALL_S, stalls
    finally:
        runner.close()
    assert _fk_valid(pg_conn, "ev", "fk_m") is (phase == "complete")


@pytest.mark.parametrize("finish", ["complete", "rollback"])
def test_create_table_referencing_two_hostile_tables(pg_conn: Connection, pg_dsn: str,
                                                     finish: str) -> None:
    """The create step names both targets ("a, b" and 'x"y'): waited for, locked, probed."""
    dsn = dsn_of(pg_dsn, pg_conn)
    one, two = _q("a, b"), _q('x"y')
    pg_conn.execute(f"create table {one} (id int primary key); "
                    f"create table {two} (id int primary key); "
                    f"insert into {one} values (1); insert into {two} values (1)")
    change = (f'create table "c, d" (id int primary key, r int constraint "f, 1" references '
              f"{one} (id), s int constraint \"f, 2\" references {two} (id));")
    _start_and(dsn, change, finish)
    exists = pg_conn.execute("SELECT to_regclass('public.\"c, d\"') IS NOT NULL").fetchone()
    assert exists == (finish == "complete",)
    assert _leftovers(pg_conn) == []
