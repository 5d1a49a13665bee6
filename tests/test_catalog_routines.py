"""The catalog's user-defined routines (``Catalog.routines``), and the type checks' use of them.

Replay of raw SQL and live introspection record the same function names, operator symbols
and casts; snapshots keep them; the type checks stay silent on what they may change, and
still speak where no user routine is involved.
"""

from __future__ import annotations

from typing import Any

import psycopg
import pytest

from pgroll_dsl import api
from pgroll_dsl.catalog import Catalog
from pgroll_dsl.catalog.fingerprint import canonical
from pgroll_dsl.catalog.introspect import introspect
from pgroll_dsl.catalog.model import NO_ROUTINES, Routines
from pgroll_dsl.catalog.sql_ddl import apply_sql
from pgroll_dsl.diagnostics import Diagnostics
from pgroll_dsl.frontend.snapshot import load_snapshot
from pgroll_dsl.passes.validate_ops import validate_ops
from pgroll_dsl.render.snapshot import dump_snapshot

ROUTINES_SQL = """
CREATE TABLE events (id int PRIMARY KEY, created_at timestamptz NOT NULL DEFAULT now(),
                     code varchar(5), flag bool, n int, tags text[]);
CREATE FUNCTION ts_to_int(timestamptz) RETURNS int LANGUAGE sql IMMUTABLE
  AS $$ SELECT extract(epoch from $1)::int $$;
CREATE CAST (timestamptz AS int) WITH FUNCTION ts_to_int(timestamptz) AS ASSIGNMENT;
CREATE OR REPLACE FUNCTION upper(varchar) RETURNS bool LANGUAGE sql IMMUTABLE
  AS $$ SELECT $1 IS NOT NULL $$;
CREATE FUNCTION int_arr(int) RETURNS int[] LANGUAGE sql IMMUTABLE AS $$ SELECT ARRAY[$1] $$;
CREATE CAST (integer AS integer[]) WITH FUNCTION int_arr(int);
CREATE PROCEDURE note_it() LANGUAGE sql AS $$ SELECT 1 $$;
CREATE AGGREGATE my_sum(int) (SFUNC = int4pl, STYPE = int);
CREATE FUNCTION has_both(varchar, text) RETURNS bool LANGUAGE sql IMMUTABLE
  AS $$ SELECT $1 IS NOT NULL AND $2 IS NOT NULL $$;
CREATE OPERATOR || (LEFTARG = varchar, RIGHTARG = text, FUNCTION = has_both);
CREATE SCHEMA other;
CREATE FUNCTION other.lower(int) RETURNS int LANGUAGE sql AS $$ SELECT $1 $$;
CREATE FUNCTION touch() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RETURN NEW; END $$;
"""


def _replayed(sql: str) -> Catalog:
    catalog, _ = apply_sql(Catalog(), sql)
    return catalog


def _problems(catalog: Catalog, source: str) -> list[str]:
    migration = api.compile_source(source, "m.pgroll").migration
    sink = Diagnostics()
    validate_ops(migration, catalog, sink)
    return [d.code.id for d in sink if d.code.id.startswith("PGD51")]


def test_replay_and_introspection_record_the_same_routines(
        pg_conn: psycopg.Connection[Any]) -> None:
    replayed = _replayed(ROUTINES_SQL)
    pg_conn.execute(ROUTINES_SQL)
    live = introspect(pg_conn)
    assert replayed.routines == live.routines
    assert live.routines == Routines(
        functions=frozenset({"ts_to_int", "upper", "int_arr", "note_it", "my_sum",
                             "has_both", "lower"}),  # not the trigger function
        operators=frozenset({"||"}),
        casts=frozenset({("timestamp with time zone", "integer"), ("integer", "integer[]")}))
    # Routines are not part of the model's equality, nor of the saved plan's fingerprint.
    assert replayed == live
    assert canonical(live) == canonical(Catalog(tables=live.tables))


def test_replay_keeps_warning_about_what_it_cannot_model() -> None:
    _, warnings = apply_sql(Catalog(), "CREATE FUNCTION f() RETURNS int LANGUAGE sql "
                                       "AS $$ SELECT 1 $$")
    assert len(warnings) == 1 and "not a table, type or index change" in warnings[0]


def _extension(conn: psycopg.Connection[Any]) -> str:
    available = {name for (name,) in conn.execute(
        "SELECT name FROM pg_available_extensions").fetchall()}
    return next(e for e in ("citext", "pg_trgm", "btree_gist", "hstore") if e in available)


def test_an_extension_makes_the_routines_opaque_on_both_sides(
        pg_conn: psycopg.Connection[Any]) -> None:
    extension = _extension(pg_conn)
    sql = f"CREATE EXTENSION {extension}; CREATE FUNCTION f() RETURNS int LANGUAGE sql " \
          f"AS $$ SELECT 1 $$; CREATE TABLE t (id int PRIMARY KEY, a text, n int, f bool)"
    replayed = _replayed(sql)
    pg_conn.execute(sql)
    live = introspect(pg_conn)
    assert replayed.routines == live.routines == Routines(opaque=True)
    assert _replayed("CREATE EXTENSION plpgsql").routines == NO_ROUTINES


# With no user routine each is refused; after an extension, none can be judged offline
# (an extension may add `||` or `~~` over its types, functions named like built-ins, casts).
UNCERTAIN_AFTER_AN_EXTENSION = [
    "alter table t add constraint c check `a || 'x'`;",
    "alter table t add constraint c check `length(a)`;",
    "alter table t add b bool up `now() - interval '1 day'`;",
    "alter table t add b uuid default `true`;",
    "alter table t alter f type uuid;",
]


@pytest.mark.parametrize("source", UNCERTAIN_AFTER_AN_EXTENSION)
def test_after_an_extension_the_checks_are_silent_on_routines(
        source: str, pg_conn: psycopg.Connection[Any]) -> None:
    pg_conn.execute("CREATE TABLE t (id int PRIMARY KEY, a text, n int, f bool)")
    plain = introspect(pg_conn)
    assert _problems(plain, source) != []  # reported without the extension
    pg_conn.execute(f"CREATE EXTENSION {_extension(pg_conn)}")
    assert _problems(introspect(pg_conn), source) == []


def test_literals_of_built_in_types_are_still_judged_after_an_extension(
        pg_conn: psycopg.Connection[Any]) -> None:
    pg_conn.execute(f"CREATE EXTENSION {_extension(pg_conn)}; "
                    "CREATE TABLE t (id int PRIMARY KEY, a text, n int, f bool)")
    catalog = introspect(pg_conn)
    assert _problems(catalog, "alter table t add b int default '12x';") == ["PGD510"]
    assert _problems(catalog, "alter table t add constraint c check `'12x'::int > 0`;"
                     ) == ["PGD510"]


# Each is refused without the routines, and silent with them.
SILENCED = {
    "alter table events alter created_at type int drop default;": "cast",
    "alter table events add m int up `created_at`;": "cast",
    "alter table events add constraint c check `upper(code)`;": "function",
    "alter table events add constraint c check `code || 'x'`;": "operator",
}


@pytest.mark.parametrize("source", list(SILENCED))
def test_each_kind_of_user_routine_silences_what_it_may_change(source: str) -> None:
    replayed = _replayed(ROUTINES_SQL)
    without = Catalog(tables=replayed.tables)
    assert _problems(without, source) != []
    assert _problems(replayed, source) == []


# What PostgreSQL runs for each of SILENCED, with the routines in place.
SILENCED_LIVE = {
    "cast": ["ALTER TABLE events ALTER created_at DROP DEFAULT",
             "ALTER TABLE events ALTER created_at TYPE int",
             "DO $$ DECLARE created_at timestamptz := now(); m int; "
             "BEGIN m := (created_at); END $$"],
    "function": ["ALTER TABLE events ADD CONSTRAINT c CHECK (upper(code))"],
    "operator": ["ALTER TABLE events ADD CONSTRAINT c CHECK (code || 'x')"],
}


def test_postgresql_runs_what_the_routines_silence(pg_conn: psycopg.Connection[Any]) -> None:
    pg_conn.execute(ROUTINES_SQL)
    pg_conn.execute("INSERT INTO events (id, created_at, code) VALUES (1, now(), 'ab')")
    assert set(SILENCED.values()) == set(SILENCED_LIVE)
    for statements in SILENCED_LIVE.values():
        with pg_conn.transaction(force_rollback=True):
            for statement in statements:
                pg_conn.execute(statement)
    # and without the routines, PostgreSQL refuses them: the checks were right to speak
    pg_conn.execute("DROP CAST (timestamptz AS int); DROP OPERATOR || (varchar, text); "
                    "DROP FUNCTION upper(varchar)")
    for statements in SILENCED_LIVE.values():
        with pytest.raises(psycopg.Error), pg_conn.transaction(force_rollback=True):
            for statement in statements:
                pg_conn.execute(statement)


@pytest.mark.parametrize("source", [
    "alter table events alter flag type uuid;",  # no user cast from boolean to uuid
    "alter table events add constraint c check `created_at - interval '1 day'`;",
    "alter table events add m uuid up `created_at`;",  # the user cast is to integer only
    "alter table events add constraint c check `length(code)`;",  # no user `length`
])
def test_unrelated_user_routines_leave_the_checks_speaking(source: str) -> None:
    assert _problems(_replayed(ROUTINES_SQL), source) != []


def test_a_user_function_of_another_schema_silences_calls_of_its_name() -> None:
    # other.lower(int) is only called by `lower(...)` with `other` on the search path;
    # names without signatures cannot tell, so the check stays silent.
    source = "alter table events add constraint c check `lower(code)`;"
    replayed = _replayed(ROUTINES_SQL)
    assert _problems(Catalog(tables=replayed.tables), source) == ["PGD512"]
    assert _problems(replayed, source) == []


def test_the_checks_at_start_use_the_live_routines(pg_dsn: str,
                                                   pg_conn: psycopg.Connection[Any]) -> None:
    # `start` runs the same checks against the introspected catalog: the user's cast makes
    # the type change run, as PostgreSQL runs it.
    from tests.live_helpers import apply, dsn_of, make_runner, migration, values

    runner = make_runner(dsn_of(pg_dsn, pg_conn))
    apply(runner, f"sql up `{ROUTINES_SQL}`;", "01_schema")
    pg_conn.execute("INSERT INTO events (id, created_at) VALUES (1, '2024-01-01 00:00+00')")
    runner.start(migration("alter table events alter created_at type int drop default;",
                           "02_to_int"))
    runner.complete()
    assert values(pg_conn, "events", "created_at") == {1: 1704067200}


def test_a_snapshot_keeps_the_routines(pg_conn: psycopg.Connection[Any]) -> None:
    pg_conn.execute(ROUTINES_SQL)
    live = introspect(pg_conn)
    text = dump_snapshot(live)
    assert '"routines"' in text
    assert load_snapshot(text, "s.json").routines == live.routines
    opaque = Catalog(routines=Routines(opaque=True))
    assert load_snapshot(dump_snapshot(opaque), "s.json").routines == Routines(opaque=True)


def test_a_snapshot_without_routines_reads_as_none() -> None:
    text = dump_snapshot(Catalog())
    assert '"routines"' not in text  # older snapshots have no such key, and still read
    assert load_snapshot(text, "s.json").routines == NO_ROUTINES


def test_a_malformed_routines_key_is_a_diagnostic() -> None:
    from pgroll_dsl.diagnostics import CompileError

    text = dump_snapshot(Catalog()).replace(
        '"sequences": []', '"sequences": [],\n  "routines": {"casts": [["a"]], "x": 1}')
    with pytest.raises(CompileError) as raised:
        load_snapshot(text, "s.json")
    messages = [d.message for d in raised.value.diagnostics]
    assert any("'casts' must be a pair of type names" in m for m in messages), messages
    assert any("unknown key 'x'" in m for m in messages), messages
