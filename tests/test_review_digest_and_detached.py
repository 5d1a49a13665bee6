"""Adversarial review of 79b75f6 (the watch's digested snapshot, backfill blocks unchecked) and
84d8bdf (rollback takes start's columns from partitions that left the tree).

Every test checks data or catalog state. The review found, each fixed since and each failing
before: a subtransaction whose id was taken before the watch wrote the round trip's catalog
rows, which a snapshot's list of running transactions does not name (the leaf skipped, stale
copy; older than 79b75f6: the digest now adds every transaction id holding its lock); a
comment another transaction wrote was trusted, and one out of the xid range failed the second
pass (only the watch's own comment counts now); a view on the detached partition made the
whole rollback fail (the table keeps the columns, with a warning); a partition named with a
comma was looked for under two names (the pairs come from the catalog now).
"""

from __future__ import annotations

from collections.abc import Callable

import psycopg
import pytest

from tests.live_helpers import Connection, dsn_of
from tests.test_review_sized import foreign_round_trip
from tests.test_review_watch_partitions import (
    LATE,
    LEAVES,
    Hook,
    _before_second_pass,
    _complete_and_check,
    _setup,
    _skipped,
    _start,
    _wrong,
)

pytestmark = pytest.mark.postgres


# --- 79b75f6: the digest ----------------------------------------------------------------------


def _subxact_round_trip(early: Connection) -> Callable[[Connection], object]:
    """The foreign round trip, in ``early``'s savepoint (its subxid taken before start)."""
    def run(_: Connection) -> None:
        foreign_round_trip(early)
        early.execute("RELEASE SAVEPOINT s")
        early.commit()
    return run


@pytest.mark.parametrize("when", ["first pass", "between the passes"])
def test_round_trip_in_a_subtransaction_older_than_the_watch(
        admin_dsn: str, pg_conn: Connection, when: str) -> None:
    """A client transaction open across the watch, inside a savepoint whose subtransaction
    got its xid before start (it wrote something elsewhere). The round trip's catalog rows
    carry the SUBXACT's xid: pg_current_snapshot()'s xip lists top-level xids only, and the
    subxid is below the snapshot's xmax: the digest takes the rows for older than the watch."""
    _setup(admin_dsn)
    pg_conn.execute("CREATE TABLE scratch (i int)")
    early = psycopg.connect(admin_dsn)
    top = early.execute("SELECT pg_current_xact_id()::text").fetchone()
    early.execute("SAVEPOINT s")
    early.execute("INSERT INTO scratch VALUES (1)")  # the subxact's xid, before the watch
    messages: list[str] = []
    try:
        if when == "first pass":
            hook = Hook(admin_dsn, LATE, _subxact_round_trip(early))
            _start(admin_dsn, hook, messages)
            assert hook.fired and hook.error is None, hook.error
        else:
            on_step, done = _before_second_pass(admin_dsn, _subxact_round_trip(early))
            _start(admin_dsn, None, messages, on_step=on_step)
            assert done
    finally:
        early.close()
    # The leaf's pg_class row was written by the subtransaction, not by its top level.
    assert pg_conn.execute("SELECT xmin::text <> %s FROM pg_class WHERE relname = "
                           "'events_2025'", top).fetchone() == (True,)
    assert pg_conn.execute("SELECT n FROM events WHERE id = 3").fetchone() == (1003,)
    assert _wrong(pg_conn) == [], (_skipped(messages), messages)
    _complete_and_check(admin_dsn, pg_conn)


def _future_digest(c: Connection) -> None:
    """A well-formed digest whose 'next xid' lies ahead: every catalog row looks older."""
    row = c.execute("SELECT (pg_current_xact_id()::text::bigint % 4294967296) + 1000000"
                    ).fetchone()
    assert row is not None
    c.execute(f"COMMENT ON SEQUENCE public._pgroll_writes_events IS '{{{row[0]}}}'")


def test_a_crafted_digest_between_the_passes(admin_dsn: str, pg_conn: Connection) -> None:
    """A round trip during the first pass (the leaf's catalog row is younger than the watch),
    then the writes sequence's comment replaced by a valid-looking digest before the second
    passes: the check trusts any well-formed comment, whoever wrote it."""
    _setup(admin_dsn)
    hook = Hook(admin_dsn, LATE, foreign_round_trip)
    on_step, done = _before_second_pass(admin_dsn, _future_digest, leaf=LEAVES[0])
    messages: list[str] = []
    _start(admin_dsn, hook, messages, on_step=on_step)
    assert hook.fired and hook.error is None and done, hook.error
    assert pg_conn.execute("SELECT n FROM events WHERE id = 3").fetchone() == (1003,)
    assert _wrong(pg_conn) == [], (_skipped(messages), messages)
    _complete_and_check(admin_dsn, pg_conn)


@pytest.mark.parametrize("comment", [
    "'{99999999999}'", "'{4294967296,5}'", "'{1,  2}'", "'{0}'", "'{18446744073709551616}'"])
def test_an_out_of_range_digest_means_no_skip_not_an_error(
        admin_dsn: str, pg_conn: Connection, comment: str) -> None:
    """Matches _RUNNING_FORM (digits in braces) but is no xid[]: the cast must not fail the
    second pass (and start); no skip, every copy right."""
    _setup(admin_dsn)
    on_step, done = _before_second_pass(admin_dsn, lambda c: c.execute(
        f"COMMENT ON SEQUENCE public._pgroll_writes_events IS {comment}"), leaf=LEAVES[0])
    messages: list[str] = []
    _start(admin_dsn, None, messages, on_step=on_step)
    assert done
    assert _wrong(pg_conn) == [], messages
    _complete_and_check(admin_dsn, pg_conn)


def test_round_trip_and_a_grant_on_the_sequences_in_one_transaction(
        admin_dsn: str, pg_conn: Connection) -> None:
    """The client's transaction rewrites the writes sequence's pg_class row too (GRANT ... ON
    ALL SEQUENCES): ``xmin <> s.xmin`` then excludes the client's own rows; the trigger rows'
    xmin no longer equals the sequence's either (original())."""
    _setup(admin_dsn)

    def act(c: Connection) -> None:
        with c.transaction():
            foreign_round_trip(c)
            c.execute("GRANT SELECT ON ALL SEQUENCES IN SCHEMA public TO PUBLIC")
    hook = Hook(admin_dsn, LATE, act)
    messages: list[str] = []
    _start(admin_dsn, hook, messages)
    assert hook.fired and hook.error is None, hook.error
    assert pg_conn.execute("SELECT n FROM events WHERE id = 3").fetchone() == (1003,)
    assert _wrong(pg_conn) == [], (_skipped(messages), messages)
    _complete_and_check(admin_dsn, pg_conn)


# --- 79b75f6: backfill blocks unchecked, nothing else -----------------------------------------

_LOG_BODIES = """
CREATE TABLE public.bodies_log (tag text, what text, bodies text);
CREATE FUNCTION public.log_bodies() RETURNS event_trigger LANGUAGE plpgsql AS $f$
DECLARE r record;
BEGIN
  FOR r IN SELECT * FROM pg_event_trigger_ddl_commands() LOOP
    INSERT INTO public.bodies_log VALUES (r.command_tag, r.object_identity,
                                          current_setting('check_function_bodies'));
  END LOOP;
END $f$;
CREATE EVENT TRIGGER log_bodies ON ddl_command_end EXECUTE FUNCTION public.log_bodies();
"""


@pytest.mark.parametrize("workers", [1, 2])
def test_every_ddl_of_start_runs_with_bodies_checked(admin_dsn: str, pg_conn: Connection,
                                                     workers: int) -> None:
    """An event trigger records check_function_bodies at each DDL command start runs (the
    trigger functions, the triggers, the watch's function): 'on' for each, after a backfill
    of two passes on every leaf, on one connection or with workers."""
    _setup(admin_dsn)
    pg_conn.execute(_LOG_BODIES)
    hook = Hook(admin_dsn, LATE, lambda c: c.execute("UPDATE events SET n = n + 1 WHERE id = 3"))
    messages: list[str] = []
    try:
        _start(admin_dsn, hook, messages, backfill_workers=workers)
    finally:
        pg_conn.execute("DROP EVENT TRIGGER log_bodies")
    assert hook.fired
    assert _wrong(pg_conn) == []
    rows = pg_conn.execute("SELECT tag, what, bodies FROM bodies_log").fetchall()
    functions = [r for r in rows if r[0] == "CREATE FUNCTION"]
    assert len(functions) >= 2, rows  # the watch's and the sync triggers'
    assert [r for r in rows if r[2] != "on"] == [], rows
    _complete_and_check(admin_dsn, pg_conn)


def test_a_backfill_step_retried_on_lock_timeouts_resets_the_setting(
        pg_dsn: str, pg_conn: Connection) -> None:
    """A backfill DO block that fails with lock_not_available every time: retried, then failed;
    the setting is back to 'on' afterwards, and the next step's function is checked."""
    from pgroll_dsl.backends import live
    from pgroll_dsl.plan.model import Lock, Step, StepKind

    pg_conn.execute("CREATE TABLE t (id int PRIMARY KEY)")
    session = live.Session(url=dsn_of(pg_dsn, pg_conn), retries=2)
    conn = live.connect(session)
    retried: list[int] = []
    executor = live.Executor(conn, session, on_retry=lambda s, n, d: retried.append(n))
    with executor.conn:
        with pytest.raises(live.StepFailed):
            executor.run_step(Step(
                sql="DO $b$BEGIN RAISE EXCEPTION USING ERRCODE = 'lock_not_available'; END$b$",
                summary="test", lock=Lock.NONE, tables=("t",), kind=StepKind.BACKFILL))
        assert retried == [1, 2]
        assert executor.conn.execute("SHOW check_function_bodies").fetchone() == ("on",)
        with pytest.raises(psycopg.errors.SyntaxError):
            executor.conn.execute("CREATE FUNCTION f() RETURNS trigger LANGUAGE plpgsql AS "
                                  "'BEGIN SELEC 1; RETURN NEW; END'")


# --- 84d8bdf: rollback takes start's columns from partitions that left ------------------------

from pgroll_dsl.backends.live import Session  # noqa: E402
from pgroll_dsl.backends.runner import CommandError, PartialFailure, Runner, RunOptions  # noqa: E402
from tests.live_helpers import apply, migration  # noqa: E402
from tests.test_partitioned import EVENTS as P_EVENTS  # noqa: E402

_OURS = ("SELECT c.relname, a.attname FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid "
         "WHERE a.attname ~ '^_pgroll' AND a.attnum > 0 AND NOT a.attisdropped "
         "AND c.relkind IN ('r', 'p') ORDER BY 1, 2")
SCORE = "alter table events add score int not null up `n + 1`;\n" \
        "alter table events alter n type bigint up `n` down `n`;"


def _runner(dsn: str, schema: str = "public", **session: object) -> Runner:
    made = Runner(RunOptions(session=Session(url=dsn, schema=schema, **session),  # type: ignore[arg-type]
                             batch_size=100))
    made.init()
    return made


def _ours(conn: Connection) -> list[tuple[str, str]]:
    return [(str(r[0]), str(r[1])) for r in conn.execute(_OURS).fetchall()]


def _q(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _hostile(parent: str, first: str, second: str) -> str:
    p, a, b = (f'"{n.replace(chr(34), chr(34) * 2)}"' for n in (parent, first, second))
    return f"""
create table {p} (id bigint not null, at date not null, n int, primary key (id, at))
  partition by range (at);
create table {a} partition of {p} for values from ('2025-01-01') to ('2026-01-01');
create table {b} partition of {p} for values from ('2026-01-01') to ('2027-01-01');
insert into {p} select g, date '2025-01-01' + (g % 700), g % 100 from generate_series(1, 500) g;
"""


@pytest.mark.parametrize("schema, parent, first, second", [
    ("Sch \"x\".y", 'Ev "ents"', "Ev 2025.x", "ev\"2026"),
    pytest.param("public", "events", "Ev,2025", "ev_2026", id="comma"),
], ids=["quotes-space-dot-schema", "comma"])
def test_hostile_names(pg_conn: Connection, admin_dsn: str, schema: str, parent: str,
                       first: str, second: str) -> None:
    """The partition with the hostile name detached during the migration: rollback leaves no
    start column on any table, and the partition can be attached again."""
    if schema != "public":
        pg_conn.execute(f"CREATE SCHEMA {_q(schema)}")
    runner = _runner(admin_dsn, schema)
    try:
        apply(runner, f"sql up `{_hostile(parent, first, second)}`;", "01_setup")
        runner.start(migration(SCORE.replace("events", _q(parent)), "02_two"))
        pg_conn.execute(f"ALTER TABLE {_q(schema)}.{_q(parent)} DETACH PARTITION "
                        f"{_q(schema)}.{_q(first)}")
        runner.rollback()
    finally:
        runner.close()
    assert _ours(pg_conn) == []
    pg_conn.execute(f"ALTER TABLE {_q(schema)}.{_q(parent)} ATTACH PARTITION "
                    f"{_q(schema)}.{_q(first)} FOR VALUES FROM ('2025-01-01') TO ('2026-01-01')")
    assert pg_conn.execute(f"SELECT count(*) FROM {_q(schema)}.{_q(parent)}").fetchone() == (500,)


def _started(dsn: str) -> Runner:
    runner = _runner(dsn)
    apply(runner, f"sql up `{P_EVENTS}`;", "01_setup")
    runner.start(migration(SCORE, "02_two"))
    return runner


def test_a_view_on_the_detached_partition(pg_conn: Connection, admin_dsn: str) -> None:
    """A client archives the detached partition behind a view (SELECT *: it names every
    column, the copies too). Rollback's DROP COLUMN (no CASCADE) fails on the dependency:
    the whole rollback was refused, where before 84d8bdf it undid the migration. Now the
    table keeps the columns (the view needs them) and the rollback goes on; the operator is
    told (the executor showed progress notes only, and the warning reached the log alone)."""
    _started(admin_dsn).close()
    said: list[str] = []
    runner = Runner(RunOptions(session=Session(url=admin_dsn, schema="public"),
                               on_message=said.append))
    try:
        pg_conn.execute("ALTER TABLE events DETACH PARTITION events_2025")
        pg_conn.execute("CREATE VIEW archive_2025 AS SELECT * FROM events_2025")
        runner.rollback()
    finally:
        runner.close()
    assert [m for m in said if m.startswith("warning: ")] == [
        "warning: table events_2025 left the partitions of events during the migration and "
        "keeps the columns start added: cannot drop column _pgroll_new_score of table "
        "events_2025 because other objects depend on it"], said
    assert [r for r in _ours(pg_conn) if r[0] == "events"] == []
    assert {r[0] for r in _ours(pg_conn)} == {"events_2025"}  # kept: the view needs them
    assert pg_conn.execute("SELECT count(*) FROM archive_2025").fetchone() is not None


def test_a_client_holding_the_detached_partition(pg_conn: Connection, admin_dsn: str) -> None:
    """A client's open transaction has read the detached partition (ACCESS SHARE): rollback
    waits for it no longer than its lock timeouts and retries, fails, changes nothing; once
    the client is gone, rollback runs and takes the columns from it."""
    import time
    runner = _started(admin_dsn)
    runner.close()
    pg_conn.execute("ALTER TABLE events DETACH PARTITION events_2025")
    holder = psycopg.connect(admin_dsn)
    holder.execute("SELECT count(*) FROM events_2025")
    runner = _runner(admin_dsn, lock_timeout_ms=100, retries=2, holder_wait_s=1.0)
    began = time.monotonic()
    try:
        with pytest.raises(PartialFailure, match="nothing was changed"):
            runner.rollback()
        took = time.monotonic() - began
        assert took < 20, took
        # Nothing changed: the parent still has its copies, the migration is active.
        assert ("events", "_pgroll_new_score") in _ours(pg_conn)
        holder.rollback()
        runner.rollback()
    finally:
        holder.close()
        runner.close()
    assert _ours(pg_conn) == []


def test_rollback_twice_and_a_level_moved(pg_conn: Connection, admin_dsn: str) -> None:
    """A leaf of the hashed level moved (emptied) to the root as a partition of another range;
    rollback drops every start column (through the root); a second rollback finds no
    migration and changes nothing."""
    runner = _started(admin_dsn)
    try:
        pg_conn.execute("ALTER TABLE events_2026 DETACH PARTITION events_2026_1")
        pg_conn.execute("DELETE FROM events_2026_1")
        pg_conn.execute("ALTER TABLE events ATTACH PARTITION events_2026_1 "
                        "FOR VALUES FROM ('2030-01-01') TO ('2031-01-01')")
        runner.rollback()
        assert _ours(pg_conn) == []
        with pytest.raises(CommandError):
            runner.rollback()
    finally:
        runner.close()
    assert _ours(pg_conn) == []


def test_renamed_and_replaced(pg_conn: Connection, admin_dsn: str) -> None:
    """Detached, renamed, and a table LIKE it created under the old name: the new table loses
    the start columns it copied; the renamed one keeps them (documented: 'a partition renamed
    since is left alone') and cannot be attached again."""
    runner = _started(admin_dsn)
    try:
        pg_conn.execute("ALTER TABLE events DETACH PARTITION events_2025")
        pg_conn.execute("ALTER TABLE events_2025 RENAME TO events_2025_old")
        pg_conn.execute("CREATE TABLE events_2025 (LIKE events_2025_old)")
        runner.rollback()
    finally:
        runner.close()
    left = _ours(pg_conn)
    assert [r for r in left if r[0] != "events_2025_old"] == []
    print("\nRENAMED KEEPS:", left)


def test_the_printed_plan_rolls_back_the_same(pg_conn: Connection, admin_dsn: str) -> None:
    """The rollback statements `pgroll-dsl plan --format json` prints, run in one transaction
    as a psql user would, take the columns from the detached partition too."""
    import json
    import tempfile
    from pathlib import Path

    from typer.testing import CliRunner

    from pgroll_dsl.cli import app
    runner = _runner(admin_dsn)
    try:
        apply(runner, f"sql up `{P_EVENTS}`;", "01_setup")
        with tempfile.TemporaryDirectory() as d:
            path = Path(d) / "02_two.pgroll"
            path.write_text(SCORE + "\n")
            printed = CliRunner().invoke(app, ["plan", str(path), "--postgres-url", admin_dsn,
                                               "--format", "json"])
        assert printed.exit_code == 0, printed.output
        document = json.loads(printed.stdout)
        runner.start(migration(SCORE, "02_two"))
    finally:
        runner.close()
    pg_conn.execute("ALTER TABLE events DETACH PARTITION events_2025")
    with psycopg.connect(admin_dsn) as c:
        with c.transaction():
            c.execute("SET search_path TO public")
            for s in document["rollback"]:
                c.execute(s["sql"])
    assert _ours(pg_conn) == []


def test_detached_and_attached_again_before_rollback(pg_conn: Connection,
                                                     admin_dsn: str) -> None:
    """Detached (its columns become local) and attached back (inherited again): rollback drops
    every start column through the parent; the partition holds its rows."""
    runner = _started(admin_dsn)
    try:
        pg_conn.execute("ALTER TABLE events DETACH PARTITION events_2025")
        pg_conn.execute("ALTER TABLE events ATTACH PARTITION events_2025 "
                        "FOR VALUES FROM ('2025-01-01') TO ('2026-01-01')")
        runner.rollback()
    finally:
        runner.close()
    assert _ours(pg_conn) == []
    assert pg_conn.execute("SELECT count(*) FROM events_2025").fetchone() != (0,)
