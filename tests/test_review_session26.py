"""Review of the carry-over of what uses a rewritten column, the version grants and the copy's
settings (commits 11b6597..e58eaa2: plan/dependents.py, plan/grants.py, plan/attributes.py,
the replica identity and rename_constraint fixes).

Everything runs on the live server and checks catalogs and data, not only that a phase
returned. What holds (hostile names everywhere, check options, transition-table and
constraint triggers, joins of two rewritten tables, rollbacks and failed completes that
leave the catalog exactly as it was, grants through the new version...) is pinned by
ordinary tests. The defects it found (each a strict xfail with its diagnosis first; fixed
since, the marks gone, each test failed before its fix):

* a reader of a view built on a view complete makes again (a type change, carried over or in
  place) deadlocked with complete: the lock step locked the views that use the column, not
  the views built on them, which complete then drops. And ``LOCK TABLE`` of a view locks
  the table under it too, so locking one view and waiting for the next held the table that
  the next one's reader waited for: a deadlock that this file's readers-and-writers test
  met once under load. The lock step now locks every such view, with those built on them,
  all at once or not at all (``NOWAIT`` in a subtransaction, again every 5 ms within
  ``lock_timeout``);
* a rule made again (a rule of the table around an in-place type change, a rule of a view
  made again) lost its comment and its enabled state;
* a trigger of a partitioned table made again lost the state its clone had on a partition
  (``ALTER TABLE partition DISABLE TRIGGER``);
* a column of the table named like the parked name (``_pgroll_old_<c>``) made complete fail
  every time, and one named like the copy (``_pgroll_new_<c>``) was taken for the copy (its
  data lost): both are refused before anything runs (PGD203);
* a view of another role, when the migration runs as the table's owner, made complete fail
  in the lock step with "permission denied for schema/table ..." that named neither the
  view nor why: complete now says which view, whose it is, and what to do.
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
from pgroll_dsl.diagnostics import CompileError
from pgroll_dsl.plan.model import Phase
from tests.live_helpers import (
    Connection,
    dsn_of,
    make_runner,
    migration,
    one,
    owner_of_t,
    query,
    sqlstate_of,
)

pytestmark = pytest.mark.postgres

# What the catalog says of everything of the user's (system schemas and pgroll's left out).
_USER = "n.nspname !~ '^(pg_|information_schema$|pgroll$)'"
CATALOG = {
    "relations": "SELECT c.oid::regclass::text, c.relkind, c.relacl::text, c.reloptions, "
                 "c.relreplident, obj_description(c.oid, 'pg_class'), "
                 "pg_get_userbyid(c.relowner) FROM pg_class c JOIN pg_namespace n ON "
                 f"n.oid = c.relnamespace WHERE {_USER} ORDER BY 1",
    "columns": "SELECT a.attrelid::regclass::text, a.attname, format_type(a.atttypid, "
               "a.atttypmod), a.attnotnull, a.attcollation::regcollation::text, a.attacl::text, "
               "a.attstattarget, a.attoptions, a.attstorage, a.attcompression, "
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
    "statistics": "SELECT stxname, pg_get_statisticsobjdef(oid), stxstattarget, "
                  "obj_description(oid, 'pg_statistic_ext'), pg_get_userbyid(stxowner) "
                  "FROM pg_statistic_ext ORDER BY 1",
    "schemas": f"SELECT nspname, nspacl::text FROM pg_namespace n WHERE {_USER} ORDER BY 1",
    "indexes": "SELECT indexrelid::regclass::text, pg_get_indexdef(indexrelid), indisreplident "
               "FROM pg_index i JOIN pg_class c ON c.oid = i.indrelid JOIN pg_namespace n ON "
               f"n.oid = c.relnamespace WHERE {_USER} ORDER BY 1",
    "constraints": "SELECT conrelid::regclass::text, conname, pg_get_constraintdef(c.oid), "
                   "convalidated FROM pg_constraint c JOIN pg_namespace n ON "
                   f"n.oid = c.connamespace WHERE {_USER} ORDER BY 1, 2",
}


def _catalog(conn: Connection) -> dict[str, list[tuple[Any, ...]]]:
    return {kind: query(conn, statement) for kind, statement in CATALOG.items()}


def _differences(before: dict[str, list[tuple[Any, ...]]],
                 after: dict[str, list[tuple[Any, ...]]]) -> dict[str, Any]:
    """Per kind, the rows only before and the rows only after."""
    return {kind: {"only before": sorted(set(before[kind]) - set(after[kind]), key=repr),
                   "only after": sorted(set(after[kind]) - set(before[kind]), key=repr)}
            for kind in before if before[kind] != after[kind]}


def _uncast(value: Any) -> str:
    """A definition without the casts and parentheses an in-place varchar -> text change
    removes from PostgreSQL's printing (``(name)::text`` becomes ``name``)."""
    text = re.sub(r"::(text|character varying(\(\d+\))?)", "", repr(value))
    return re.sub(r"[()]", "", text)


def _columns_sorted(definition: str) -> str:
    """A CREATE STATISTICS with its ON list sorted (a list of plain or quoted names)."""
    found = re.fullmatch(r"(.* ON )(.*)( FROM .*)", definition)
    assert found is not None, definition
    names = re.findall(r'"(?:[^"]|"")*"|[^,\s]+', found[2])
    return found[1] + ", ".join(sorted(names)) + found[3]


def _run(dsn: str, text: str, name: str = "02_review", **options: Any) -> None:
    runner = make_runner(dsn, **options)
    try:
        runner.start(migration(text, name))
        runner.complete()
    finally:
        runner.close()


def _no_leftovers(conn: Connection, table: str) -> None:
    """No column of pgroll's (copy, parked column, marker) is left on ``table``."""
    assert query(conn, "SELECT attname FROM pg_attribute WHERE attrelid = %s::regclass "
                 "AND strpos(attname, '_pgroll') > 0 AND NOT attisdropped", (table,)) == []


@pytest.fixture
def role(pg_conn: Connection) -> Iterator[str]:
    """A role with a hostile name (quotes, a space, a semicolon), quoted; dropped after."""
    quoted = f'"R""ole; {pg_conn.info.backend_pid}"'
    pg_conn.execute(f"CREATE ROLE {quoted}")
    try:
        yield quoted
    finally:
        pg_conn.execute(f"DROP OWNED BY {quoted}")
        pg_conn.execute(f"DROP ROLE {quoted}")


# ---- hostile identifiers ----------------------------------------------------------------

HOSTILE = '''
CREATE TABLE "Peo""ple $x" (id int PRIMARY KEY, "Te""am; $pgroll$" varchar(20), note text);
INSERT INTO "Peo""ple $x" SELECT g, (g % 5)::text, 'n' FROM generate_series(1, 20) g;
CREATE SCHEMA "Re""ports $pgroll$; x";
CREATE VIEW "Re""ports $pgroll$; x"."V ""q""; $pgroll$" WITH (security_barrier = true) AS
  SELECT id, "Te""am; $pgroll$" AS "Out ""col""" FROM "Peo""ple $x"
  WHERE "Te""am; $pgroll$" <> '$pgroll$';
COMMENT ON VIEW "Re""ports $pgroll$; x"."V ""q""; $pgroll$" IS 'it''s $pgroll$';
COMMENT ON COLUMN "Re""ports $pgroll$; x"."V ""q""; $pgroll$"."Out ""col""" IS 'c''ol';
ALTER VIEW "Re""ports $pgroll$; x"."V ""q""; $pgroll$" ALTER COLUMN "Out ""col"""
  SET DEFAULT 'it''s $pgroll$';
GRANT USAGE ON SCHEMA "Re""ports $pgroll$; x" TO {role};
GRANT SELECT ON "Re""ports $pgroll$; x"."V ""q""; $pgroll$" TO {role} WITH GRANT OPTION;
GRANT UPDATE ("Out ""col""") ON "Re""ports $pgroll$; x"."V ""q""; $pgroll$" TO {role};
CREATE VIEW "Re""ports $pgroll$; x"."On ""top""" AS
  SELECT * FROM "Re""ports $pgroll$; x"."V ""q""; $pgroll$";
ALTER TABLE "Peo""ple $x" ENABLE ROW LEVEL SECURITY;
CREATE POLICY "Po""l; $pgroll$" ON "Peo""ple $x" AS RESTRICTIVE FOR INSERT TO {role}, postgres
  WITH CHECK ("Te""am; $pgroll$" <> 'x$pgroll$');
COMMENT ON POLICY "Po""l; $pgroll$" ON "Peo""ple $x" IS 'p''ol';
CREATE POLICY "all" ON "Peo""ple $x" USING (true);
CREATE RULE "Ru""le $pgroll$" AS ON UPDATE TO "Peo""ple $x"
  WHERE NEW."Te""am; $pgroll$" = 'zz$pgroll$' DO INSTEAD NOTHING;
CREATE TRIGGER "Tr""ig $pgroll$" BEFORE UPDATE OF "Te""am; $pgroll$" ON "Peo""ple $x"
  FOR EACH ROW WHEN (NEW."Te""am; $pgroll$" IS DISTINCT FROM OLD."Te""am; $pgroll$")
  EXECUTE FUNCTION suppress_redundant_updates_trigger();
COMMENT ON TRIGGER "Tr""ig $pgroll$" ON "Peo""ple $x" IS 't''rig';
CREATE STATISTICS "Re""ports $pgroll$; x"."St""at" ON "Te""am; $pgroll$", note
  FROM "Peo""ple $x";
'''
_COLUMN = '"Te""am; $pgroll$"'
HOSTILE_MIGRATIONS = {
    "carried, views made again": f'alter table "Peo""ple $x" alter {_COLUMN} type varchar(40) '
                                 f"up `{_COLUMN} || ''` down `{_COLUMN}`;",
    "carried in place": f'alter table "Peo""ple $x" alter {_COLUMN} set not null '
                        f"up `coalesce({_COLUMN}, '')`;",
    "type in place": f'alter table "Peo""ple $x" alter {_COLUMN} type text;',
}


@pytest.mark.parametrize("case", sorted(HOSTILE_MIGRATIONS))
def test_hostile_names_everywhere(pg_conn: Connection, pg_dsn: str, role: str,
                                  case: str) -> None:
    """Schema, view, view column, table, column, role, policy, rule, trigger and statistics
    names with quotes, spaces, semicolons and ``$pgroll$``: every object comes back as it
    was (definitions, options, comments, defaults, privileges, states) and works."""
    pg_conn.execute(HOSTILE.format(role=role))  # type: ignore[arg-type]
    runner = make_runner(dsn_of(pg_dsn, pg_conn))
    before = _catalog(pg_conn)
    try:
        plan = runner.start(migration(HOSTILE_MIGRATIONS[case], "02_hostile"))
        runner.complete()
    finally:
        runner.close()
    copied = any("_pgroll_new_" in s.sql for s in plan.start)
    assert copied == (case != "type in place"), "the case exercises the path it names"
    after = {kind: [r for r in rows if not str(r[0]).startswith("public_02_")]
             for kind, rows in _catalog(pg_conn).items()}  # the new version's are new
    kinds = ("views", "policies", "rules", "triggers", "statistics", "schemas")
    for kind in ("statistics",):  # its columns print in the table's order, which changes
        for rows in (before, after):
            rows[kind] = [(r[0], _columns_sorted(r[1]), *r[2:]) for r in rows[kind]]
    for kind in kinds:
        if case == "type in place":  # PostgreSQL prints no cast to text any more
            assert _uncast(after[kind]) == _uncast(before[kind]), kind
        else:
            assert after[kind] == before[kind], kind
    view_rows = [r for r in after["relations"] if r[1] == "v"]
    assert view_rows == [r for r in before["relations"] if r[1] == "v"]
    view_columns = [r[:2] + r[4:] for r in after["columns"] if r[0].startswith('"Re""ports')]
    assert view_columns == [r[:2] + r[4:] for r in before["columns"]
                            if r[0].startswith('"Re""ports')]
    _no_leftovers(pg_conn, '"Peo""ple $x"')
    assert one(pg_conn, 'SELECT count(*) FROM "Re""ports $pgroll$; x"."On ""top"""')[0] == 20
    assert one(pg_conn, 'SELECT format_type(atttypid, atttypmod) FROM pg_attribute WHERE '
               'attrelid = \'"Re""ports $pgroll$; x"."V ""q""; $pgroll$"\'::regclass '
               'AND attnum = 2')[0] == {"carried, views made again": "character varying(40)",
                                        "carried in place": "character varying(20)",
                                        "type in place": "text"}[case]
    # The rule and the policy still act on the column.
    pg_conn.execute('UPDATE "Peo""ple $x" SET "Te""am; $pgroll$" = \'zz$pgroll$\' WHERE id = 1')
    assert one(pg_conn, 'SELECT "Te""am; $pgroll$" FROM "Peo""ple $x" WHERE id = 1')[0] == "1"
    pg_conn.execute(f"SET ROLE {role}")
    try:
        assert sqlstate_of(pg_conn, 'INSERT INTO "Peo""ple $x" (id, "Te""am; $pgroll$") '
                           "VALUES (99, 'x$pgroll$')") == "42501"  # (no privilege either)
    finally:
        pg_conn.execute("RESET ROLE")
    assert sqlstate_of(pg_conn, 'INSERT INTO "Peo""ple $x" (id, "Te""am; $pgroll$") '
                       "VALUES (99, 'x$pgroll$')") is None  # superuser: RLS does not apply


# ---- triggers, views, several tables --------------------------------------------------------

def test_transition_table_and_constraint_triggers_are_made_again(pg_conn: Connection,
                                                                  pg_dsn: str) -> None:
    """A row trigger with a transition table and a WHEN on the column, and a deferred
    constraint trigger ``UPDATE OF`` the column: pg_get_triggerdef prints both in full, they
    come back and fire."""
    pg_conn.execute("""
      CREATE TABLE p (id int PRIMARY KEY, team int);
      INSERT INTO p VALUES (1, 1);
      CREATE TABLE log (n int);
      CREATE FUNCTION counted() RETURNS trigger LANGUAGE plpgsql AS
        $$BEGIN INSERT INTO log SELECT count(*) FROM nt; RETURN NULL; END$$;
      CREATE FUNCTION marked() RETURNS trigger LANGUAGE plpgsql AS
        $$BEGIN INSERT INTO log VALUES (-1); RETURN NULL; END$$;
      CREATE TRIGGER tt AFTER UPDATE ON p REFERENCING NEW TABLE AS nt FOR EACH ROW
        WHEN (NEW.team > 0) EXECUTE FUNCTION counted();
      CREATE CONSTRAINT TRIGGER ct AFTER UPDATE OF team ON p DEFERRABLE INITIALLY DEFERRED
        FOR EACH ROW WHEN (NEW.team < 100) EXECUTE FUNCTION marked();
    """)
    described = ("SELECT tgname, pg_get_triggerdef(oid), tgenabled, tgdeferrable, "
                 "tginitdeferred, tgconstraint <> 0 FROM pg_trigger WHERE tgname IN ('tt', 'ct') "
                 "ORDER BY 1")
    before = query(pg_conn, described)
    _run(dsn_of(pg_dsn, pg_conn), "alter table p alter team type bigint up `team` down `team`;")
    assert query(pg_conn, described) == before
    pg_conn.execute("UPDATE p SET team = 5")
    assert sorted(r[0] for r in query(pg_conn, "SELECT n FROM log")) == [-1, 1]
    _no_leftovers(pg_conn, "p")


def test_check_option_views_over_views_keep_their_options(pg_conn: Connection,
                                                           pg_dsn: str) -> None:
    pg_conn.execute("""
      CREATE TABLE p (id int PRIMARY KEY, team int);
      INSERT INTO p VALUES (1, 1), (2, 5);
      CREATE VIEW low WITH (check_option = cascaded, security_invoker = true) AS
        SELECT id, team FROM p WHERE team < 10;
      CREATE VIEW lower AS SELECT id, team FROM low WHERE team < 3 WITH LOCAL CHECK OPTION;
    """)
    described = ("SELECT relname, reloptions, pg_get_viewdef(oid) FROM pg_class "
                 "WHERE relname IN ('low', 'lower') ORDER BY 1")
    before = query(pg_conn, described)
    _run(dsn_of(pg_dsn, pg_conn), "alter table p alter team type bigint up `team` down `team`;")
    assert query(pg_conn, described) == before
    assert sqlstate_of(pg_conn, "INSERT INTO lower VALUES (3, 5)") == "44000"  # local
    assert sqlstate_of(pg_conn, "INSERT INTO lower VALUES (3, 50)") == "44000"  # cascaded
    pg_conn.execute("INSERT INTO lower VALUES (3, 2)")
    assert query(pg_conn, "SELECT * FROM lower ORDER BY id") == [(1, 1), (3, 2)]


def test_a_view_joining_two_rewritten_tables_with_a_subquery(pg_conn: Connection,
                                                             pg_dsn: str) -> None:
    """One migration rewrites a column of each of two tables; a view joins them on those
    columns, shows them and reads one in a scalar subquery; a view on it filters; a policy
    of one reads the other's in a subquery."""
    pg_conn.execute("""
      CREATE TABLE a (id int PRIMARY KEY, x int);
      CREATE TABLE b (id int PRIMARY KEY, y int);
      INSERT INTO a VALUES (1, 10), (2, 20); INSERT INTO b VALUES (1, 100), (2, 200);
      CREATE VIEW ab AS SELECT a.id, a.x, b.y, (SELECT max(y) FROM b) AS m
        FROM a JOIN b ON a.x * 10 = b.y;
      CREATE VIEW ab2 AS SELECT id FROM ab WHERE x > 10;
      CREATE POLICY in_b ON a USING (x * 10 IN (SELECT y FROM b));
    """)
    _run(dsn_of(pg_dsn, pg_conn), "alter table a alter x type bigint up `x` down `x`;\n"
         "alter table b alter y set not null up `coalesce(y, 0)`;")
    assert query(pg_conn, "SELECT * FROM ab ORDER BY id") == [(1, 10, 100, 200),
                                                              (2, 20, 200, 200)]
    assert query(pg_conn, "SELECT * FROM ab2") == [(2,)]
    assert [r[0] for r in query(pg_conn, "SELECT format_type(atttypid, NULL) FROM pg_attribute "
                                "WHERE attrelid = 'ab'::regclass AND attnum > 0 "
                                "ORDER BY attnum")] == ["integer", "bigint", "integer", "integer"]
    assert one(pg_conn, "SELECT pg_get_expr(polqual, polrelid) FROM pg_policy")[0] == \
        "((x * 10) IN ( SELECT b.y\n   FROM b))"
    _no_leftovers(pg_conn, "a")
    _no_leftovers(pg_conn, "b")


def test_two_operations_rewrite_two_columns_of_one_view(pg_conn: Connection,
                                                        pg_dsn: str) -> None:
    pg_conn.execute("""
      CREATE TABLE a (id int PRIMARY KEY, x int, y int);
      INSERT INTO a VALUES (1, 10, 1);
      CREATE VIEW av AS SELECT id, x + y AS s, y FROM a WHERE x > 0;
      CREATE TRIGGER both_cols BEFORE UPDATE OF x, y ON a FOR EACH ROW
        EXECUTE FUNCTION suppress_redundant_updates_trigger();
      CREATE STATISTICS xy ON x, y FROM a;
    """)
    _run(dsn_of(pg_dsn, pg_conn), "alter table a alter x type bigint up `x` down `x`;\n"
         "alter table a alter y set not null up `coalesce(y, 0)`;")
    assert query(pg_conn, "SELECT * FROM av") == [(1, 11, 1)]
    assert one(pg_conn, "SELECT pg_get_triggerdef(oid) FROM pg_trigger "
               "WHERE tgname = 'both_cols'")[0].startswith(
        "CREATE TRIGGER both_cols BEFORE UPDATE OF x, y ON public.a")
    assert one(pg_conn, "SELECT count(*) FROM pg_statistic_ext WHERE stxname = 'xy'")[0] == 1
    _no_leftovers(pg_conn, "a")


# ---- collations, grants, column privileges -------------------------------------------------

@pytest.mark.parametrize("text", [
    "alter table p alter email set not null up `coalesce(email, '')`",
    "alter table p alter code type bigint up `code` down `code`",
])
def test_rebuilt_indexes_keep_their_collations(pg_conn: Connection, pg_dsn: str,
                                               text: str) -> None:
    """A unique column ``COLLATE "C"``, an index with a key collation other than its column's
    and one with an explicit ``"default"``: the rebuilt indexes say the same."""
    pg_conn.execute("""
      CREATE TABLE p (id int PRIMARY KEY, email text COLLATE "C" UNIQUE, code int, nick text);
      CREATE UNIQUE INDEX p_code_nick ON p (code, nick COLLATE "POSIX");
      CREATE UNIQUE INDEX p_email_default ON p (email COLLATE "default", code);
      INSERT INTO p VALUES (1, 'a@x', 1, 'Bob'), (2, 'B@x', 2, 'al');
    """)
    described = ("SELECT indexrelid::regclass::text, pg_get_indexdef(indexrelid) FROM pg_index "
                 "WHERE indrelid = 'p'::regclass ORDER BY 1")
    before = query(pg_conn, described)
    _run(dsn_of(pg_dsn, pg_conn), text + ";")
    assert query(pg_conn, described) == before
    assert one(pg_conn, "SELECT attcollation::regcollation::text FROM pg_attribute "
               "WHERE attrelid = 'p'::regclass AND attname = 'email'")[0] == '"C"'
    assert sqlstate_of(pg_conn, "INSERT INTO p (id, email, code, nick) "
                       "VALUES (3, 'a@x', 3, 'z')") == "23505"
    assert [r[0] for r in query(pg_conn, "SELECT email FROM p ORDER BY email")] == ["B@x", "a@x"]


def test_grants_as_the_table_owner_with_public_grant_options_and_other_grantors(
        pg_conn: Connection, pg_dsn: str) -> None:
    """The migration runs as the table's owner (not a superuser). ``a`` has SELECT and
    UPDATE with the grant option and has granted UPDATE of a column to ``b`` (a hostile
    name) itself; PUBLIC may SELECT; ``a`` may grant USAGE on the schema. Through the new
    version each may do what it may do with the table, no more."""
    dsn = dsn_of(pg_dsn, pg_conn)
    tag = pg_conn.info.backend_pid
    a, b = f'"a{tag}"', f'"b ""{tag}"""'
    with owner_of_t(pg_conn, dsn, f"own{tag}", 5) as as_owner:
        pg_conn.execute(f"CREATE ROLE {a}; CREATE ROLE {b}")
        try:
            with psycopg.connect(as_owner, autocommit=True) as owner:
                owner.execute(f"GRANT SELECT, UPDATE ON t TO {a} WITH GRANT OPTION; "
                              "GRANT SELECT ON t TO PUBLIC; "
                              f"GRANT USAGE ON SCHEMA public TO {a} WITH GRANT OPTION")
            pg_conn.execute(f"SET ROLE {a}; GRANT UPDATE (v) ON t TO {b}; RESET ROLE")
            runner = make_runner(as_owner)
            try:
                runner.start(migration("alter table t alter v type bigint up `v` down `v`;",
                                       "02_grants"))
                view = "public_02_grants.t"
                cases = [(a, f"SELECT count(*) FROM {view}", None),
                         (b, f"SELECT count(*) FROM {view}", None),
                         (b, f"UPDATE {view} SET v = v + 1 WHERE id = 1", None),
                         (b, f"UPDATE {view} SET id = id WHERE id = 1", "42501"),
                         (a, f"UPDATE {view} SET v = v WHERE id = 2", None),
                         (a, f"DELETE FROM {view}", "42501"),
                         (a, f"GRANT SELECT ON {view} TO {b}", None)]
                # (A client of the new version has it first on its search_path: the sync
                # triggers tell its writes by that.)
                pg_conn.execute("SET search_path TO public_02_grants")
                for who, statement, expected in cases:
                    pg_conn.execute(f"SET ROLE {who}")
                    try:
                        assert sqlstate_of(pg_conn, statement) == expected, (who, statement)
                    finally:
                        pg_conn.execute("RESET ROLE")
                pg_conn.execute("RESET search_path")
                runner.complete()
            finally:
                runner.close()
            assert query(pg_conn, "SELECT id, v FROM t ORDER BY id LIMIT 2") == [(1, 2), (2, 2)]
        finally:
            for name in (a, b):
                pg_conn.execute(f"DROP OWNED BY {name}; DROP ROLE {name}")


def test_a_role_with_column_privileges_only_cannot_read_the_new_version(
        pg_conn: Connection, pg_dsn: str) -> None:
    """The documented limitation: the new version's view is ``security_invoker`` and reads
    every column, so a role granted SELECT of some columns is refused, with PostgreSQL's
    "permission denied for table people" (not naming the columns nor the view); the table
    itself still serves it. (See the report: a warning at start would say it earlier.)"""
    reader = f"colonly{pg_conn.info.backend_pid}"
    pg_conn.execute(f"""CREATE ROLE {reader};
      CREATE TABLE people (id int PRIMARY KEY, email text, secret text);
      INSERT INTO people VALUES (1, 'a', 's');
      GRANT SELECT (id, email) ON people TO {reader};""")
    runner = make_runner(dsn_of(pg_dsn, pg_conn))
    try:
        runner.start(migration("alter table people alter email set not null "
                               "up `coalesce(email, '')`;", "02_cols"))
        pg_conn.execute(f"SET ROLE {reader}")
        try:
            seen = [sqlstate_of(pg_conn, "SELECT id, email FROM public_02_cols.people", True),
                    sqlstate_of(pg_conn, "SELECT id, email FROM public.people", True)]
        finally:
            pg_conn.execute("RESET ROLE")
        runner.complete()
    finally:
        runner.close()
        pg_conn.execute(f"DROP OWNED BY {reader}; DROP ROLE {reader}")
    assert seen == ["42501: permission denied for table people", None]


# ---- rollback and a failed complete leave the catalog as it was ----------------------------

SETUP = """
CREATE ROLE {role_};
CREATE TABLE people (id int PRIMARY KEY, team int, email text COLLATE "C", code int NOT NULL);
CREATE UNIQUE INDEX "people code$1" ON people (code);
ALTER TABLE people REPLICA IDENTITY USING INDEX "people code$1";
ALTER TABLE people ADD CONSTRAINT team_chk CHECK (team < 1000);
INSERT INTO people SELECT g, g % 5, 'p' || g, g FROM generate_series(1, 20) g;
GRANT SELECT ON people TO {role_} WITH GRANT OPTION;
GRANT UPDATE (team) ON people TO {role_};
GRANT SELECT ON people TO PUBLIC;
ALTER TABLE people ALTER team SET STATISTICS 200;
ALTER TABLE people ALTER email SET (n_distinct = -0.5);
CREATE VIEW tv WITH (security_barrier) AS SELECT id, team FROM people;
GRANT SELECT ON tv TO {role_};
CREATE VIEW tv2 AS SELECT id, team FROM tv WHERE team > 1;
COMMENT ON VIEW tv2 IS 'c';
ALTER TABLE people ENABLE ROW LEVEL SECURITY;
CREATE POLICY ins ON people FOR INSERT TO {role_}, postgres WITH CHECK (team > 0);
CREATE POLICY sel ON people AS RESTRICTIVE FOR SELECT USING (team IS NOT NULL);
CREATE RULE rr AS ON DELETE TO people WHERE OLD.team = 99 DO INSTEAD NOTHING;
CREATE TRIGGER tr BEFORE UPDATE OF team ON people FOR EACH ROW
  EXECUTE FUNCTION suppress_redundant_updates_trigger();
ALTER TABLE people DISABLE TRIGGER tr;
CREATE STATISTICS st ON (team * 2), email FROM people;
"""

TWO_OPS = {
    "two type changes": "alter table people alter team type bigint up `team` down `team`;\n"
                        "alter table people alter code type bigint up `code` down `code`;",
    "not null, renamed check": "alter table people alter team set not null "
                               "up `coalesce(team, 0)`;\n"
                               'alter table people rename constraint team_chk to "Team chk";',
    "collated type change": "alter table people alter email type varchar(20) "
                            "up `email` down `email`;\n"
                            "alter table people alter team type int8 up `team` down `team`;",
}


@pytest.mark.parametrize("case", sorted(TWO_OPS))
def test_rollback_after_start_leaves_every_object_and_privilege_as_before(
        pg_conn: Connection, pg_dsn: str, role: str, case: str) -> None:
    pg_conn.execute(SETUP.replace("CREATE ROLE {role_};\n", "").format(role_=role))
    runner = make_runner(dsn_of(pg_dsn, pg_conn))
    before = _catalog(pg_conn)
    try:
        runner.start(migration(TWO_OPS[case], "02_back"))
        assert _catalog(pg_conn) != before  # start did something
        runner.rollback()
    finally:
        runner.close()
    assert _differences(before, _catalog(pg_conn)) == {}


@pytest.mark.parametrize("case", ["two type changes", "collated type change"])
def test_a_complete_that_fails_after_the_carry_over_changes_nothing(
        pg_conn: Connection, pg_dsn: str, role: str, case: str) -> None:
    """A function with a SQL-standard body pins the old column: DROP COLUMN fails after the
    carry-over parked and renamed columns and replaced or remade views in the same
    transaction. Nothing of that is left; once the function is gone complete finishes,
    with the replica identity on its (rebuilt) index."""
    pg_conn.execute(SETUP.replace("CREATE ROLE {role_};\n", "").format(role_=role))
    runner = make_runner(dsn_of(pg_dsn, pg_conn))
    try:
        runner.start(migration(TWO_OPS[case], "02_fail"))
        pg_conn.execute("CREATE FUNCTION pin() RETURNS bigint LANGUAGE sql "
                        "BEGIN ATOMIC SELECT max(team) FROM people; END")
        before = _catalog(pg_conn)
        with pytest.raises((CommandError, PartialFailure)) as failed:
            runner.complete()
        assert "function pin() depends on column team" in str(failed.value)
        assert _differences(before, _catalog(pg_conn)) == {}
        pg_conn.execute("DROP FUNCTION pin()")
        runner.complete()
    finally:
        runner.close()
    assert one(pg_conn, "SELECT relreplident FROM pg_class WHERE oid = 'people'::regclass")[0] \
        == "i"
    assert one(pg_conn, "SELECT indexrelid::regclass::text FROM pg_index "
               "WHERE indrelid = 'people'::regclass AND indisreplident")[0] == '"people code$1"'
    assert one(pg_conn, "SELECT count(*) FROM tv2")[0] == 12
    _no_leftovers(pg_conn, "people")


# ---- renames in the same migration, replica identity, rename_constraint ----------------------

RENAMES = {
    "rename table first": "alter table people rename to persons;\n"
                          "alter table persons alter team type bigint up `team` down `team`;",
    "rename table last": "alter table people alter team type bigint up `team` down `team`;\n"
                         "alter table people rename to persons;",
    "rename column first": "alter table people rename team to squad;\n"
                           "alter table people alter squad type bigint up `squad` down `squad`;",
    "rename column last": "alter table people alter team type bigint up `team` down `team`;\n"
                          "alter table people rename team to squad;",
    "identity key retyped, constraint renamed":
        "alter table people alter code type bigint up `code` down `code`;\n"
        'alter table people rename constraint people_code to "Weird ""c""";',
}


@pytest.mark.parametrize("case", sorted(RENAMES))
def test_renames_in_the_same_migration(pg_conn: Connection, pg_dsn: str, case: str) -> None:
    pg_conn.execute("""
      CREATE TABLE people (id int PRIMARY KEY, team int, code int NOT NULL,
                           CONSTRAINT people_code UNIQUE (code));
      ALTER TABLE people REPLICA IDENTITY USING INDEX people_code;
      INSERT INTO people SELECT g, g % 5, g FROM generate_series(1, 20) g;
      CREATE VIEW tv AS SELECT id, team, code FROM people;
      CREATE POLICY pol ON people USING (team >= 0 AND code > 0);
      CREATE TRIGGER tr BEFORE UPDATE OF team, code ON people FOR EACH ROW
        EXECUTE FUNCTION suppress_redundant_updates_trigger();
      CREATE STATISTICS st ON team, code FROM people;
    """)
    _run(dsn_of(pg_dsn, pg_conn), RENAMES[case])
    table = "persons" if "table" in case else "people"
    assert one(pg_conn, "SELECT sum(id) FROM tv")[0] == 210
    assert one(pg_conn, "SELECT count(*) FROM pg_policy")[0] == 1
    assert one(pg_conn, "SELECT count(*) FROM pg_trigger WHERE tgname = 'tr'")[0] == 1
    assert one(pg_conn, "SELECT count(*) FROM pg_statistic_ext")[0] == 1
    assert one(pg_conn, "SELECT relreplident FROM pg_class WHERE oid = %s::regclass",
               (table,))[0] == "i"
    name = '"Weird ""c"""' if "constraint" in case else "people_code"
    assert one(pg_conn, "SELECT indexrelid::regclass::text FROM pg_index "
               "WHERE indrelid = %s::regclass AND indisreplident", (table,))[0] == name
    _no_leftovers(pg_conn, table)


# ---- start's warning for drops -----------------------------------------------------------

def test_start_warns_of_a_policy_and_a_trigger_on_a_dropped_column_named_with_percent(
        pg_conn: Connection, pg_dsn: str) -> None:
    """Names with ``%`` and ``%s`` go into RAISE's message as parameters, not as format."""
    pg_conn.execute("""
      CREATE TABLE people (id int PRIMARY KEY, "E%s mail" text, note text);
      ALTER TABLE people ENABLE ROW LEVEL SECURITY;
      CREATE POLICY "p%" ON people FOR INSERT WITH CHECK ("E%s mail" <> '');
      CREATE TRIGGER "t%s" BEFORE UPDATE OF "E%s mail" ON people FOR EACH ROW
        EXECUTE FUNCTION suppress_redundant_updates_trigger();
      CREATE STATISTICS sx ON "E%s mail", note FROM people;
    """)
    said: list[str] = []
    runner = make_runner(dsn_of(pg_dsn, pg_conn), on_message=said.append)
    try:
        runner.start(migration('alter table people drop "E%s mail";', "02_drop"))
        runner.rollback()
    finally:
        runner.close()
    assert [s for s in said if s.startswith("warning:")] == [
        "warning: trigger t%s on table people, policy p% on table people uses column E%s mail "
        "of table people, which complete drops: complete stops there until it is dropped or "
        "changed (do it before complete)"]


# ---- clients during complete ---------------------------------------------------------------

def test_readers_and_writers_of_the_views_during_start_and_complete(pg_conn: Connection,
                                                                     pg_dsn: str) -> None:
    """Clients of the user's views (each uses the column directly; one is made again, one
    replaced in place, one written through) see no error and never miss a view."""
    pg_conn.execute("""
      CREATE TABLE people (id int PRIMARY KEY, team int, note text);
      INSERT INTO people SELECT g, g % 5, 'n' FROM generate_series(1, 20) g;
      CREATE VIEW shown AS SELECT id, team FROM people;
      CREATE VIEW filtered AS SELECT id, note FROM people WHERE team >= 0;
    """)
    dsn = dsn_of(pg_dsn, pg_conn)
    stop = threading.Event()
    errors: list[str] = []
    counts: list[int] = []

    def client(statement: str) -> None:
        with psycopg.connect(dsn, autocommit=True) as conn:
            while not stop.is_set():
                try:
                    cursor = conn.execute(statement)
                    row = cursor.fetchone() if cursor.description is not None else None
                    if row is not None and isinstance(row[0], int):
                        counts.append(row[0])
                except psycopg.Error as err:
                    errors.append(f"{statement}: {err.sqlstate}: {err}")
                time.sleep(0.005)

    statements = ["SELECT count(*) FROM shown", "SELECT count(*) FROM filtered",
                  "UPDATE filtered SET note = 'w' WHERE id = 3",
                  "SELECT sum(team)::int FROM shown"]
    threads = [threading.Thread(target=client, args=(s,), daemon=True) for s in statements]
    for thread in threads:
        thread.start()
    retries: list[Any] = []
    try:
        _run(dsn, "alter table people alter team type bigint up `team` down `team`;\n"
             "alter table people alter note set not null up `coalesce(note, '')`;",
             on_retry=lambda *a: retries.append(a), lock_timeout_ms=2000)
        time.sleep(0.2)
    finally:
        stop.set()
        for thread in threads:
            thread.join(10)
    assert errors == []
    assert set(counts) >= {20, 40}
    assert one(pg_conn, "SELECT format_type(atttypid, NULL) FROM pg_attribute "
               "WHERE attrelid = 'shown'::regclass AND attname = 'team'")[0] == "bigint"


# ---- defects found here, fixed since (each failed before) -------------------------------

@pytest.mark.parametrize("case", ["carried over", "in place"])
def test_a_reader_of_a_view_on_a_remade_view_waits_for_complete(pg_conn: Connection,
                                                                pg_dsn: str, case: str) -> None:
    column_type = "int" if case == "carried over" else "varchar(10)"
    pg_conn.execute(f"""
      CREATE TABLE people (id int PRIMARY KEY, team {column_type});
      INSERT INTO people SELECT g, g % 5 FROM generate_series(1, 20) g;
      CREATE VIEW v1 AS SELECT id, team FROM people;
      CREATE VIEW v2 AS SELECT id, team FROM v1 WHERE id > 2;
    """)
    text = ("alter table people alter team type bigint up `team` down `team`;"
            if case == "carried over" else "alter table people alter team type text;")
    dsn = dsn_of(pg_dsn, pg_conn)
    retries: list[Any] = []
    read: list[Any] = []
    readers: list[threading.Thread] = []
    after_lock: list[int] = []

    def reader() -> None:
        try:
            with psycopg.connect(dsn, autocommit=True) as conn:
                read.append(one(conn, "SELECT count(*) FROM v2")[0])
        except psycopg.Error as err:
            read.append(f"{err.sqlstate}: {err}")

    def on_step(event: StepEvent) -> None:
        if event.phase is Phase.COMPLETE and event.index in after_lock and not readers:
            readers.append(threading.Thread(target=reader))
            readers[0].start()
            time.sleep(0.5)  # the reader holds v2 and waits for v1

    # lock_timeout above deadlock_timeout (1 s): the deadlock is detected, not timed out.
    runner = make_runner(dsn, on_step=on_step, on_retry=lambda *a: retries.append(a),
                         lock_timeout_ms=3000)
    try:
        plan = runner.start(migration(text, "02_team"))
        after_lock.extend(i + 1 for i, s in enumerate(plan.complete)
                          if s.summary.startswith("lock people"))
        assert after_lock
        runner.complete()
    finally:
        runner.close()
    readers[0].join(10)
    assert (read, retries) == ([18], [])


@pytest.mark.parametrize("case", ["in place", "view made again"])
def test_rules_made_again_keep_their_comment_and_state(pg_conn: Connection, pg_dsn: str,
                                                      case: str) -> None:
    column_type = "varchar(50)" if case == "in place" else "int"
    pg_conn.execute(f"""
      CREATE TABLE p (id int PRIMARY KEY, name {column_type});
      INSERT INTO p VALUES (1, '1');
      CREATE TABLE log (name text);
      CREATE RULE r_log AS ON UPDATE TO p WHERE NEW.name::text = '5'
        DO ALSO (INSERT INTO log VALUES (NEW.name); INSERT INTO log VALUES (OLD.name));
      COMMENT ON RULE r_log ON p IS 'logs';
      ALTER TABLE p DISABLE RULE r_log;
      CREATE VIEW pv AS SELECT id, name FROM p;
      CREATE RULE r_view AS ON INSERT TO pv DO INSTEAD INSERT INTO p VALUES (NEW.id, NEW.name);
      COMMENT ON RULE r_view ON pv IS 'inserts into p';
    """)
    described = ("SELECT rulename, ev_enabled, obj_description(oid, 'pg_rewrite') "
                 "FROM pg_rewrite WHERE starts_with(rulename, 'r_') ORDER BY 1")
    before = query(pg_conn, described)
    text = ("alter table p alter name type text;" if case == "in place"
            else "alter table p alter name type bigint up `name` down `name`;")
    _run(dsn_of(pg_dsn, pg_conn), text)
    pg_conn.execute("UPDATE p SET name = '5'")
    assert query(pg_conn, "SELECT * FROM log") == []  # the rule is still disabled
    assert query(pg_conn, described) == before


def test_rules_of_the_carry_over_keep_their_comment_and_state(pg_conn: Connection,
                                                             pg_dsn: str) -> None:
    """The control of the defect above: CREATE OR REPLACE RULE keeps both."""
    pg_conn.execute("""
      CREATE TABLE p (id int PRIMARY KEY, name int);
      INSERT INTO p VALUES (1, 1);
      CREATE RULE r_log AS ON UPDATE TO p WHERE NEW.name = 5 DO INSTEAD NOTHING;
      COMMENT ON RULE r_log ON p IS 'skips';
      ALTER TABLE p DISABLE RULE r_log;
    """)
    described = "SELECT ev_enabled, obj_description(oid, 'pg_rewrite') FROM pg_rewrite " \
                "WHERE rulename = 'r_log'"
    before = query(pg_conn, described)
    _run(dsn_of(pg_dsn, pg_conn), "alter table p alter name set not null up `coalesce(name, 0)`;")
    assert query(pg_conn, described) == before == [("D", "skips")]


def test_a_partitions_clone_of_a_trigger_keeps_its_state(pg_conn: Connection,
                                                        pg_dsn: str) -> None:
    pg_conn.execute("""
      CREATE TABLE ev (id int NOT NULL, at date NOT NULL, v int, PRIMARY KEY (id, at))
        PARTITION BY RANGE (at);
      CREATE TABLE ev_a PARTITION OF ev FOR VALUES FROM ('2025-01-01') TO ('2026-01-01');
      CREATE TABLE ev_b PARTITION OF ev FOR VALUES FROM ('2026-01-01') TO ('2027-01-01');
      INSERT INTO ev VALUES (1, '2025-02-01', 1), (2, '2026-02-01', 2);
      CREATE TABLE log (n bigint);
      CREATE FUNCTION logged() RETURNS trigger LANGUAGE plpgsql AS
        $$BEGIN INSERT INTO log VALUES (NEW.v); RETURN NULL; END$$;
      CREATE TRIGGER tv AFTER UPDATE OF v ON ev FOR EACH ROW WHEN (NEW.v > 0)
        EXECUTE FUNCTION logged();
      ALTER TABLE ev_b DISABLE TRIGGER tv;
      COMMENT ON TRIGGER tv ON ev_a IS 'the clone on ev_a';
    """)
    described = ("SELECT tgrelid::regclass::text, pg_get_triggerdef(oid), tgenabled, "
                 "obj_description(oid, 'pg_trigger') FROM pg_trigger WHERE tgname = 'tv' "
                 "ORDER BY 1")
    before = query(pg_conn, described)
    _run(dsn_of(pg_dsn, pg_conn), "alter table ev alter v type bigint up `v` down `v`;")
    pg_conn.execute("UPDATE ev SET v = v + 10")
    assert query(pg_conn, "SELECT n FROM log") == [(11,)]  # ev_b's clone stays off
    assert query(pg_conn, described) == before


@pytest.mark.parametrize("taken", ["_pgroll_old_team", "_pgroll_new_team"])
def test_a_column_named_like_the_migrations_own_is_refused(pg_conn: Connection, pg_dsn: str,
                                                            taken: str) -> None:
    """Found here and fixed since: a user column named like the copy (``_pgroll_new_team``)
    was taken for the copy (``ADD COLUMN IF NOT EXISTS`` skipped it: the triggers and the
    backfill overwrote it with ``up``, complete renamed it to ``team``, its data and its type
    gone); one named like the parked old column (``_pgroll_old_team``) made complete fail
    every time. Both are refused before anything runs (PGD203), and nothing changes."""
    pg_conn.execute(f"""
      CREATE TABLE p (id int PRIMARY KEY, team int, {taken} text);
      INSERT INTO p VALUES (1, 1, 'seven');
      CREATE VIEW pv AS SELECT id, team, {taken} FROM p;
    """)
    shape = ("SELECT attname, format_type(atttypid, atttypmod) FROM pg_attribute "
             "WHERE attrelid = 'p'::regclass AND attnum > 0 AND NOT attisdropped ORDER BY 1")
    before = query(pg_conn, shape)
    with pytest.raises(CompileError) as refused:
        _run(dsn_of(pg_dsn, pg_conn),
             "alter table p alter team type bigint up `team` down `team`;")
    said = str(refused.value)
    assert "PGD203" in said or any(d.code.id == "PGD203" for d in refused.value.diagnostics)
    assert f'has a column "{taken}"' in said, said
    assert query(pg_conn, shape) == before
    assert query(pg_conn, "SELECT * FROM pv") == [(1, 1, "seven")]


@pytest.mark.parametrize("usage", [False, True])
def test_a_view_of_another_role_is_named_by_the_failure(pg_conn: Connection, pg_dsn: str,
                                                        usage: bool) -> None:
    dsn = dsn_of(pg_dsn, pg_conn)
    tag = pg_conn.info.backend_pid
    other, owner = f"other{tag}", f"owner{tag}"
    with owner_of_t(pg_conn, dsn, owner, 5) as as_owner:
        pg_conn.execute(f"CREATE ROLE {other}; CREATE SCHEMA rep AUTHORIZATION {other}; "
                        f"GRANT SELECT ON t TO {other}")
        if usage:
            pg_conn.execute(f"GRANT USAGE ON SCHEMA rep TO {owner}")
        pg_conn.execute(f"SET ROLE {other}; CREATE VIEW rep.tv AS SELECT id, v FROM public.t; "
                        f"GRANT ALL ON rep.tv TO {owner}; RESET ROLE")
        runner = make_runner(as_owner)
        try:
            runner.start(migration("alter table t alter v add constraint v_pos check `v > 0`;",
                                   "02_other"))
            with pytest.raises((CommandError, PartialFailure)) as failed:
                runner.complete()
        finally:
            runner.close()
            pg_conn.execute(f"DROP OWNED BY {other}; DROP ROLE {other}")
    said = str(failed.value)
    assert "nothing was changed" in said
    assert "rep.tv" in said, said
