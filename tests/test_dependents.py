"""The user's own objects that use a column complete replaces by its copy come along.

Views, rules, row-level security policies, triggers and statistics objects that name a
rewritten column pin the old column: complete stopped with "other objects depend on it"
(a statistics object lost the column silently). Complete now carries each over to the new
column in its transaction (``plan/dependents.py``). Every case checks, after complete, that
each object is there, uses the column complete left (not a dropped one), kept what it had
(options, owner, privileges, comments, enabled state, statistics target) and still works;
and, after rollback, that nothing of it changed.
"""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Iterator
from typing import Any

import psycopg
import pytest

from pgroll_dsl.backends.runner import CommandError, PartialFailure, StepEvent
from pgroll_dsl.plan.model import Phase
from tests.fault_model import waiting_for_lock
from tests.live_helpers import (
    Connection,
    client,
    dsn_of,
    make_runner,
    migration,
    one,
    query,
)

pytestmark = pytest.mark.postgres

SETUP = """
CREATE ROLE {reader};
CREATE TABLE people (id int PRIMARY KEY, email text, team int, note text);
INSERT INTO people SELECT g, 'p' || g || '@x', g % 5, 'n' FROM generate_series(1, 20) g;
CREATE TABLE audit (id int, team bigint);
CREATE FUNCTION audit_team() RETURNS trigger LANGUAGE plpgsql AS
  $$BEGIN INSERT INTO audit VALUES (NEW.id, NEW.team); RETURN NEW; END$$;
CREATE FUNCTION insert_team() RETURNS trigger LANGUAGE plpgsql AS
  $$BEGIN INSERT INTO people (id, team) VALUES (NEW.id, NEW.team); RETURN NEW; END$$;
-- a view that shows the column (its type changes with a type change) ...
CREATE VIEW team_of WITH (security_barrier = true) AS SELECT id, team FROM people;
COMMENT ON VIEW team_of IS 'who is in which team';
COMMENT ON COLUMN team_of.team IS 'the team';
GRANT SELECT ON team_of TO {reader};
GRANT INSERT (id) ON team_of TO {reader};
ALTER VIEW team_of ALTER COLUMN team SET DEFAULT 4;
CREATE TRIGGER team_of_insert INSTEAD OF INSERT ON team_of FOR EACH ROW
  EXECUTE FUNCTION insert_team();
-- ... a view built on it, one that only filters on it, and a view of another schema
CREATE VIEW big_teams AS SELECT id, team FROM team_of WHERE team > 2;
CREATE VIEW ids_in_team_one AS SELECT id, email FROM people WHERE team = 1;
CREATE SCHEMA "Re""ports";
CREATE VIEW "Re""ports"."per team; count" AS
  SELECT team, count(*) AS n FROM people GROUP BY team;
-- a rule, a policy, triggers and a statistics object that name it
CREATE RULE no_negative_team AS ON UPDATE TO people WHERE NEW.team < -100 DO INSTEAD NOTHING;
ALTER TABLE people ENABLE ROW LEVEL SECURITY;
CREATE POLICY team_rows ON people USING (team >= 0) WITH CHECK (team < 1000);
CREATE TRIGGER people_team_audit AFTER UPDATE OF team ON people FOR EACH ROW
  WHEN (NEW.team IS DISTINCT FROM OLD.team) EXECUTE FUNCTION audit_team();
COMMENT ON TRIGGER people_team_audit ON people IS 'audits team changes';
CREATE TRIGGER people_team_replica AFTER INSERT OR UPDATE OF team ON people FOR EACH ROW
  EXECUTE FUNCTION audit_team();
ALTER TABLE people ENABLE REPLICA TRIGGER people_team_replica;
CREATE STATISTICS people_team_email (dependencies) ON team, email FROM people;
ALTER STATISTICS people_team_email SET STATISTICS 321;
COMMENT ON STATISTICS people_team_email IS 'team and email go together';
"""

# Every migration rewrites ``team`` through a copy; what each does to the column's type.
MIGRATIONS = {
    "type_change": ("alter table people alter team type bigint up `team` down `team`",
                    "bigint"),
    "set_not_null": ("alter table people alter team set not null up `coalesce(team, 0)`",
                     "integer"),
    "check": ("alter table people alter team add constraint team_small check `team < 100`",
              "integer"),
    "unique_with_email": (
        "alter table people add constraint team_email unique (team, email)", "integer"),
}

# The objects, each with a query that says it is there and what it holds.
OBJECTS = {
    "view": "SELECT pg_get_viewdef('team_of'::regclass), reloptions, obj_description("
            "'team_of'::regclass, 'pg_class'), col_description('team_of'::regclass, 2), "
            "relacl::text[], (SELECT attacl::text[] FROM pg_attribute WHERE attrelid = "
            "'team_of'::regclass AND attname = 'id'), (SELECT pg_get_expr(adbin, adrelid) FROM "
            "pg_attrdef WHERE adrelid = 'team_of'::regclass), pg_get_userbyid(relowner) "
            "FROM pg_class WHERE oid = 'team_of'::regclass",
    "view on view": "SELECT pg_get_viewdef('big_teams'::regclass)",
    "filtering view": "SELECT pg_get_viewdef('ids_in_team_one'::regclass)",
    "other schema's view": "SELECT pg_get_viewdef('\"Re\"\"ports\".\"per team; count\"'::regclass)",
    "view's trigger": "SELECT pg_get_triggerdef(oid), tgenabled FROM pg_trigger "
                      "WHERE tgname = 'team_of_insert'",
    "rule": "SELECT pg_get_ruledef(oid) FROM pg_rewrite WHERE rulename = 'no_negative_team'",
    "policy": "SELECT pg_get_expr(polqual, polrelid), pg_get_expr(polwithcheck, polrelid), "
              "polcmd, polroles::text FROM pg_policy WHERE polname = 'team_rows'",
    "audit trigger": "SELECT pg_get_triggerdef(oid), tgenabled, obj_description(oid, "
                     "'pg_trigger') FROM pg_trigger WHERE tgname = 'people_team_audit'",
    "replica trigger": "SELECT pg_get_triggerdef(oid), tgenabled FROM pg_trigger "
                       "WHERE tgname = 'people_team_replica'",
    # (Its columns as a set: it lists them in the table's order, which complete changes.)
    "statistics": "SELECT (SELECT array_agg(attname::text ORDER BY attname) FROM pg_attribute "
                  "WHERE attrelid = stxrelid AND attnum = ANY (stxkeys)), stxkind::text, "
                  "stxstattarget, obj_description(oid, 'pg_statistic_ext'), "
                  "pg_get_userbyid(stxowner) FROM pg_statistic_ext "
                  "WHERE stxname = 'people_team_email'",
}


def _uncast(described: dict[str, list[tuple[Any, ...]]]) -> str:
    """``described`` as text without the casts of a name to ``text``."""
    return re.sub(r"\(([\w.]+)\)::text", r"\1", repr(described))


def _described(conn: Connection) -> dict[str, list[tuple[Any, ...]]]:
    return {name: query(conn, sql) for name, sql in OBJECTS.items()}


def _users_of(conn: Connection, column: str) -> set[str]:
    """The user's objects that depend on ``people.column``: not the migration's (the sync
    triggers, the new version's view) nor the constraints (complete rebuilds those)."""
    return {r[0] for r in query(
        conn, "SELECT pg_describe_object(d.classid, d.objid, 0) FROM pg_depend d "
        "JOIN pg_attribute a ON a.attrelid = d.refobjid AND a.attnum = d.refobjsubid "
        "WHERE d.refobjid = 'people'::regclass AND a.attname = %s "
        "AND (d.deptype = 'n' OR d.classid = 'pg_statistic_ext'::regclass)", (column,))
        if "pgroll" not in r[0] and "_02_" not in r[0] and not r[0].startswith("constraint")}


@pytest.fixture
def people(pg_conn: Connection, pg_dsn: str) -> Iterator[tuple[str, str]]:
    """The test database with ``people`` and what uses its ``team``; its DSN and reader."""
    reader = f"reader_{pg_conn.info.backend_pid}"
    pg_conn.execute(SETUP.format(reader=f'"{reader}"'))  # type: ignore[arg-type]
    try:
        yield dsn_of(pg_dsn, pg_conn), reader
    finally:
        pg_conn.execute(f'DROP OWNED BY "{reader}"')
        pg_conn.execute(f'DROP ROLE "{reader}"')


@pytest.mark.parametrize("kind", sorted(MIGRATIONS))
def test_complete_carries_what_uses_the_column_over(pg_conn: Connection,
                                                    people: tuple[str, str], kind: str) -> None:
    dsn, reader = people
    text, type_ = MIGRATIONS[kind]
    before = _described(pg_conn)
    users = _users_of(pg_conn, "team")
    assert len(users) == 8, users  # three views, a rule, a policy, two triggers, statistics
    runner = make_runner(dsn)
    try:
        runner.start(migration(text + ";", "02_team"))
        runner.complete()
    finally:
        runner.close()
    after = _described(pg_conn)
    # The same objects, on the column complete left (no column of the old one is left).
    assert _users_of(pg_conn, "team") == users
    assert one(pg_conn, "SELECT format_type(atttypid, atttypmod) FROM pg_attribute WHERE "
               "attrelid = 'people'::regclass AND attname = 'team'")[0] == type_
    assert one(pg_conn, "SELECT count(*) FROM pg_attribute WHERE attrelid = 'people'::regclass"
               " AND strpos(attname, 'pgroll') > 0 AND NOT attisdropped")[0] == 0
    # Each kept what it had: definitions read the same, and so do options, owner,
    # privileges, comments, enabled states and the statistics target.
    assert after == before
    # The views show the new type.
    shown = dict(query(pg_conn, "SELECT attrelid::regclass::text, format_type(atttypid, "
                       "atttypmod) FROM pg_attribute WHERE attname = 'team' AND attrelid IN "
                       "('team_of'::regclass, 'big_teams'::regclass, "
                       "'\"Re\"\"ports\".\"per team; count\"'::regclass)"))
    assert set(shown.values()) == {type_}, shown
    # And they work: through the views, the rule, the triggers and the policy.
    pg_conn.execute("INSERT INTO team_of (id) VALUES (100)")  # INSTEAD OF, view default 4
    assert one(pg_conn, "SELECT team FROM people WHERE id = 100")[0] == 4
    assert one(pg_conn, "SELECT count(*) FROM big_teams")[0] == 9
    assert one(pg_conn, "SELECT n FROM \"Re\"\"ports\".\"per team; count\" "
               "WHERE team = 1")[0] == 4
    audited = one(pg_conn, "SELECT count(*) FROM audit")[0]
    pg_conn.execute("UPDATE people SET team = 3 WHERE id = 1")
    pg_conn.execute("UPDATE people SET team = -500 WHERE id = 2")  # the rule: nothing
    assert one(pg_conn, "SELECT count(*) FROM audit")[0] == audited + 1
    assert one(pg_conn, "SELECT team FROM people WHERE id = 2")[0] == 2
    assert [r[0] for r in query(pg_conn, "SELECT id FROM ids_in_team_one ORDER BY id")] == [
        6, 11, 16]
    pg_conn.execute(f'SET ROLE "{reader}"')
    try:
        assert one(pg_conn, "SELECT count(*) FROM team_of")[0] == 21
    finally:
        pg_conn.execute("RESET ROLE")


def test_rollback_leaves_them_as_they_were(pg_conn: Connection,
                                           people: tuple[str, str]) -> None:
    dsn, _ = people
    before, users = _described(pg_conn), _users_of(pg_conn, "team")
    runner = make_runner(dsn)
    try:
        runner.start(migration(MIGRATIONS["type_change"][0] + ";", "02_team"))
        runner.rollback()
    finally:
        runner.close()
    assert _described(pg_conn) == before
    assert _users_of(pg_conn, "team") == users


def test_a_materialized_view_stops_complete_before_it_changes_anything(
        pg_conn: Connection, people: tuple[str, str]) -> None:
    dsn, _ = people
    pg_conn.execute("CREATE MATERIALIZED VIEW team_sizes AS "
                    "SELECT team, count(*) FROM people GROUP BY team")
    runner = make_runner(dsn)
    try:
        runner.start(migration(MIGRATIONS["set_not_null"][0] + ";", "02_team"))
        before = _described(pg_conn)
        with pytest.raises((CommandError, PartialFailure)) as failed:
            runner.complete()
        said = str(failed.value)
        assert "complete cannot carry materialized view team_sizes over to the new column" \
            in said, said
        assert "drop it before complete" in said
        assert _described(pg_conn) == before
        assert one(pg_conn, "SELECT count(*) FROM pg_attribute WHERE attrelid = "
                   "'people'::regclass AND attname = '_pgroll_new_team'")[0] == 1
        pg_conn.execute("DROP MATERIALIZED VIEW team_sizes")
        runner.complete()
    finally:
        runner.close()
    assert one(pg_conn, "SELECT attnotnull FROM pg_attribute WHERE attrelid = "
               "'people'::regclass AND attname = 'team'")[0] is True


def test_a_function_that_uses_the_column_is_named_by_the_failure(
        pg_conn: Connection, people: tuple[str, str]) -> None:
    """What complete cannot carry and does not know is left to DROP COLUMN: its message
    (with its detail, which names the object) reaches the operator."""
    dsn, _ = people
    pg_conn.execute("CREATE FUNCTION team_of_one(i int) RETURNS int LANGUAGE sql "
                    "BEGIN ATOMIC SELECT team FROM people WHERE id = i; END")
    runner = make_runner(dsn)
    try:
        runner.start(migration(MIGRATIONS["check"][0] + ";", "02_team"))
        with pytest.raises((CommandError, PartialFailure)) as failed:
            runner.complete()
        assert "function team_of_one(integer) depends on column team" in str(failed.value)
        pg_conn.execute("DROP FUNCTION team_of_one(int)")
        runner.complete()
    finally:
        runner.close()


def test_a_view_reader_arriving_inside_complete_waits_for_it_without_a_retry(
        pg_conn: Connection, people: tuple[str, str]) -> None:
    """A client that reads a view locks the view, then the table under it. Complete locks
    the views that use the column before the tables: a reader arriving once complete holds
    them waits for its commit. Were the table taken first, the reader would hold the view
    while it waits for the table, and complete, replacing the view, would wait for the
    reader: a deadlock, which costs complete a retry (or the reader an error)."""
    dsn, _ = people
    retries: list[Any] = []
    read: list[Any] = []
    readers: list[threading.Thread] = []

    pids: list[int] = []

    def reader(conn: Connection) -> None:
        with conn:
            read.append(one(conn, "SELECT count(*) FROM team_of")[0])

    carry: list[int] = []

    def on_step(event: StepEvent) -> None:
        if event.phase is Phase.COMPLETE and event.index in carry and not readers:
            conn = psycopg.connect(dsn, autocommit=True)
            pids.append(conn.info.backend_pid)
            readers.append(threading.Thread(target=reader, args=(conn,)))
            readers[0].start()
            deadline = time.monotonic() + 30
            while not waiting_for_lock(pg_conn, pids[0]):  # its first lock, whichever
                assert time.monotonic() < deadline, "the reader never waited"
                time.sleep(0.01)

    runner = make_runner(dsn, on_step=on_step, on_retry=lambda *a: retries.append(a),
                         lock_timeout_ms=2000)
    try:
        plan = runner.start(migration(MIGRATIONS["type_change"][0] + ";", "02_team"))
        # Right after the lock step, before the step that replaces the views.
        carry.extend(i for i, s in enumerate(plan.complete) if s.summary.startswith("carry"))
        assert plan.complete[carry[0] - 1].summary.startswith("lock people")
        runner.complete()
    finally:
        runner.close()
    readers[0].join(10)
    assert read == [20]
    assert retries == []


def test_a_partitioned_table_and_its_partitions_views(pg_conn: Connection,
                                                      pg_dsn: str) -> None:
    pg_conn.execute("""
        CREATE TABLE events (id int NOT NULL, at date NOT NULL, v int, PRIMARY KEY (id, at))
          PARTITION BY RANGE (at);
        CREATE TABLE events_2025 PARTITION OF events
          FOR VALUES FROM ('2025-01-01') TO ('2026-01-01');
        CREATE TABLE events_2026 PARTITION OF events
          FOR VALUES FROM ('2026-01-01') TO ('2027-01-01');
        INSERT INTO events SELECT g, date '2025-06-01' + g * 3, g FROM generate_series(1, 100) g;
        CREATE VIEW all_v AS SELECT id, v FROM events;
        CREATE VIEW v_2025 AS SELECT id FROM events_2025 WHERE v > 10;
        CREATE TRIGGER v_2026 AFTER UPDATE OF v ON events_2026 FOR EACH ROW
          EXECUTE FUNCTION suppress_redundant_updates_trigger();
    """)
    counts = [one(pg_conn, "SELECT count(*) FROM v_2025")[0],
              one(pg_conn, "SELECT sum(v) FROM all_v")[0]]
    runner = make_runner(dsn_of(pg_dsn, pg_conn))
    try:
        runner.start(migration("alter table events alter v type bigint up `v` down `v`;",
                               "02_v"))
        runner.complete()
    finally:
        runner.close()
    assert one(pg_conn, "SELECT format_type(atttypid, atttypmod) FROM pg_attribute "
               "WHERE attrelid = 'all_v'::regclass AND attname = 'v'")[0] == "bigint"
    assert [one(pg_conn, "SELECT count(*) FROM v_2025")[0],
            one(pg_conn, "SELECT sum(v) FROM all_v")[0]] == counts
    assert one(pg_conn, "SELECT count(*) FROM pg_trigger WHERE tgname = 'v_2026'")[0] == 1


def test_a_type_change_in_place_takes_them_down_and_back(pg_conn: Connection,
                                                        pg_dsn: str) -> None:
    """``varchar`` to ``text`` changes the type in place at complete (no copy), which
    ``ALTER COLUMN ... TYPE`` refuses while a view, rule, policy or trigger uses the column:
    they go before it and come back after, from their definitions."""
    pg_conn.execute("""
        CREATE TABLE people (id int PRIMARY KEY, name varchar(50), note text);
        INSERT INTO people SELECT g, 'n' || g, 'x' FROM generate_series(1, 10) g;
        CREATE VIEW names AS SELECT id, name FROM people;
        CREATE VIEW long_names AS SELECT id FROM names WHERE length(name) > 2;
        COMMENT ON VIEW names IS 'the names';
        CREATE RULE keep_names AS ON DELETE TO people WHERE OLD.name = 'n1' DO INSTEAD NOTHING;
        CREATE POLICY named ON people AS RESTRICTIVE FOR UPDATE TO PUBLIC
          USING (name IS NOT NULL) WITH CHECK (name <> '');
        COMMENT ON POLICY named ON people IS 'no blank names';
        CREATE TRIGGER same_name BEFORE UPDATE OF name ON people FOR EACH ROW
          EXECUTE FUNCTION suppress_redundant_updates_trigger();
        ALTER TABLE people DISABLE TRIGGER same_name;
        CREATE STATISTICS name_note ON name, note FROM people;
    """)
    described = {
        "views": "SELECT pg_get_viewdef('names'::regclass), pg_get_viewdef('long_names'::regclass),"
                 " obj_description('names'::regclass, 'pg_class')",
        "rule": "SELECT pg_get_ruledef(oid) FROM pg_rewrite WHERE rulename = 'keep_names'",
        "policy": "SELECT polpermissive, polcmd, polroles::text, pg_get_expr(polqual, polrelid), "
                  "pg_get_expr(polwithcheck, polrelid), obj_description(oid, 'pg_policy') "
                  "FROM pg_policy WHERE polname = 'named'",
        "trigger": "SELECT pg_get_triggerdef(oid), tgenabled FROM pg_trigger "
                   "WHERE tgname = 'same_name'",
        "statistics": "SELECT count(*) FROM pg_statistic_ext WHERE stxname = 'name_note'",
    }
    before = {k: query(pg_conn, q) for k, q in described.items()}
    runner = make_runner(dsn_of(pg_dsn, pg_conn))
    try:
        plan = runner.start(migration("alter table people alter name type text;", "02_name"))
        assert not any("_pgroll_new_name" in s.sql for s in plan.start)  # in place indeed
        runner.complete()
    finally:
        runner.close()
    after = {k: query(pg_conn, q) for k, q in described.items()}
    # The definitions print the same but for the cast to text the new type needs no more.
    assert _uncast(after) == _uncast(before)
    assert one(pg_conn, "SELECT format_type(atttypid, atttypmod) FROM pg_attribute WHERE "
               "attrelid = 'names'::regclass AND attname = 'name'")[0] == "text"
    assert one(pg_conn, "SELECT count(*) FROM long_names")[0] == 1  # n10
    pg_conn.execute("DELETE FROM people WHERE id = 1")  # the rule keeps it
    assert one(pg_conn, "SELECT count(*) FROM people")[0] == 10


@pytest.mark.parametrize("dropped", ["column", "table"])
def test_start_says_what_would_keep_complete_from_dropping(pg_conn: Connection, pg_dsn: str,
                                                           dropped: str) -> None:
    """A view of the schema's own on a column or table the migration drops makes complete
    stop (``DROP`` without ``CASCADE``: the user decides). Start says so, before the
    backfill; complete's failure names the view; once the view is gone, complete runs."""
    pg_conn.execute("""
        CREATE TABLE people (id int PRIMARY KEY, email text, note text);
        CREATE VIEW emails AS SELECT id, email FROM people;
        CREATE VIEW notes AS SELECT id, note FROM people;
    """)
    said: list[str] = []
    text = "alter table people drop email;" if dropped == "column" else "drop table people;"
    runner = make_runner(dsn_of(pg_dsn, pg_conn), on_message=said.append)
    try:
        runner.start(migration(text, "02_drop"))
        warnings = [s for s in said if s.startswith("warning:")]
        if dropped == "column":
            assert warnings == ["warning: view emails uses column email of table people, which "
                                "complete drops: complete stops there until it is dropped or "
                                "changed (do it before complete)"], said
        else:
            assert len(warnings) == 1 and "view emails, view notes uses table people" in \
                warnings[0], said
        with pytest.raises((CommandError, PartialFailure)) as failed:
            runner.complete()
        assert "view emails depends on" in str(failed.value)
        pg_conn.execute("DROP VIEW emails")
        if dropped == "table":
            pg_conn.execute("DROP VIEW notes")
        runner.complete()
    finally:
        runner.close()


def test_start_says_which_update_of_triggers_new_version_writes_miss(
        pg_conn: Connection, pg_dsn: str) -> None:
    """A trigger of the application's on ``UPDATE OF`` a rewritten column (an audit of a
    status) fires for old-version writes only while the migration runs: a new-version write
    sets the copy. Start names it; after complete (which carries it over) it fires for the
    writes of the version that stays. A trigger on another column is not named."""
    pg_conn.execute("""
        CREATE TABLE tasks (id int PRIMARY KEY, status text, note text);
        INSERT INTO tasks VALUES (1, 'open', 'a'), (2, 'open', 'b');
        CREATE TABLE "Status log" (id int, status text);
        CREATE FUNCTION log_status() RETURNS trigger LANGUAGE plpgsql AS
          $$BEGIN INSERT INTO "Status log" VALUES (NEW.id, NEW.status); RETURN NULL; END$$;
        CREATE TRIGGER "On status" AFTER UPDATE OF status ON tasks
          FOR EACH ROW EXECUTE FUNCTION log_status();
        CREATE TRIGGER on_note AFTER UPDATE OF note ON tasks
          FOR EACH ROW EXECUTE FUNCTION log_status();
    """)
    said: list[str] = []
    dsn = dsn_of(pg_dsn, pg_conn)
    runner = make_runner(dsn, on_message=said.append)
    try:
        runner.start(migration("alter table tasks alter status type varchar(20) set not null "
                               "up `coalesce(status, 'open')` down `status`;", "02_status"))
        warnings = [s for s in said if s.startswith("warning:")]
        assert warnings == ['warning: trigger "On status" of table "public"."tasks" fires on '
                            "UPDATE OF status: until complete a write through the new version "
                            "sets the new column and does not fire it (complete carries it "
                            "over)"], said
        with client(dsn, "public") as old:  # the old shape: the table itself
            old.execute("UPDATE tasks SET status = 'old side' WHERE id = 1")
        with client(dsn, "public_02_status") as new:
            new.execute("UPDATE tasks SET status = 'new side' WHERE id = 2")
        assert query(pg_conn, 'SELECT * FROM "Status log" ORDER BY id') == [(1, "old side")]
        runner.complete()
    finally:
        runner.close()
    with client(dsn, "public_02_status") as new:
        new.execute("UPDATE tasks SET status = 'done' WHERE id = 2")
    assert query(pg_conn, 'SELECT * FROM "Status log" ORDER BY id, status') == [
        (1, "old side"), (2, "done")]
