"""Indexes and constraints of a rewritten column come back exactly as they were.

A rewritten column (``alter_column``, ``create_constraint``, ``drop_constraint``...) is copied
to ``_pgroll_new_<c>``, and every index and constraint that uses it is rebuilt on the copy and
takes its name back at complete. The copy must be what a plain ``ALTER TABLE`` would have left:
the same operator classes, collations, order, INCLUDE columns, storage parameters, tablespace,
predicate and deferrability, and exclusion constraints too. These tests compare the
definitions PostgreSQL prints (``pg_get_indexdef``, ``pg_get_constraintdef``) after
``complete`` with those of a *twin* database that got the same change as plain DDL:

* pgroll's examples, applied in order: each one that rewrites columns goes to the twin as the
  hand-written DDL it means, every other one through the executor on both sides;
* an index with every option on a column whose type changes; an exclusion constraint on a
  rewritten column (which must also still exclude); rollback leaving no copy behind.

The catalog side (model, introspection, replay, snapshot) of the same definitions is checked
offline at the end.
"""

from __future__ import annotations

import re
import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest
from psycopg import errors, sql
from psycopg.conninfo import make_conninfo

from pgroll_dsl import api, ir
from pgroll_dsl.backends.runner import Runner
from pgroll_dsl.catalog import Catalog
from pgroll_dsl.catalog.apply import apply_operation
from pgroll_dsl.catalog.compare import differences
from pgroll_dsl.catalog.index_keys import (
    author_name,
    default_opclass,
    name_sql,
    operator_sql,
    options_sql,
    parse_options,
)
from pgroll_dsl.catalog.introspect import _indexes_query, introspect
from pgroll_dsl.catalog.model import ExclusionElement, Index, KeyOptions
from pgroll_dsl.catalog.sql_ddl import apply_sql
from pgroll_dsl.diagnostics import CompileError
from pgroll_dsl.frontend import migration_files
from pgroll_dsl.frontend.snapshot import load_snapshot
from pgroll_dsl.plan.model import Cost, Lock, Phase, Plan
from pgroll_dsl.plan.planner import plan_migration
from pgroll_dsl.render.snapshot import dump_snapshot
from tests.conftest import conformance_files
from tests.live_helpers import Connection, dsn_of, make_runner, migration

# ---- the twin -------------------------------------------------------------------------------


@pytest.fixture
def twin(pg_dsn: str) -> Iterator[Connection]:
    """A second fresh database, for the same schema changed with plain DDL."""
    name = f"pgroll_dsl_twin_{uuid.uuid4().hex[:16]}"
    with psycopg.connect(pg_dsn, autocommit=True) as admin:
        admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    conn = psycopg.connect(make_conninfo(pg_dsn, dbname=name), autocommit=True)
    try:
        yield conn
    finally:
        conn.close()
        with psycopg.connect(pg_dsn, autocommit=True) as admin:
            admin.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)")
                          .format(sql.Identifier(name)))


_DEFINITIONS = """
SELECT t.relname, 'index ' || i.relname,
       pg_get_indexdef(i.oid) || coalesce(' -- tablespace ' || ts.spcname, '')
       || CASE WHEN x.indisvalid THEN '' ELSE ' -- invalid' END
FROM pg_index x
JOIN pg_class i ON i.oid = x.indexrelid
JOIN pg_class t ON t.oid = x.indrelid
LEFT JOIN pg_tablespace ts ON ts.oid = i.reltablespace
WHERE t.relnamespace = 'public'::regnamespace
UNION ALL
SELECT t.relname, 'constraint ' || k.conname, k.contype::text || ': ' || pg_get_constraintdef(k.oid)
FROM pg_constraint k
JOIN pg_class t ON t.oid = k.conrelid
WHERE t.relnamespace = 'public'::regnamespace
"""


def definitions(conn: Connection) -> dict[str, str]:
    """``table object`` -> its definition as PostgreSQL prints it, without the schema name.

    PostgreSQL 18's NOT NULL constraints are keyed by what they say, not by their name: a
    NOT NULL column added by ``add_column`` keeps the name its constraint got under the
    column's temporary name (``t__pgroll_new_c_not_null``), which a later plain ``ALTER
    TYPE`` keeps and a rewrite does not; that is not about copies of indexes.
    """
    found = {}
    for table, what, text in conn.execute(_DEFINITIONS).fetchall():
        key = f"{table} {text}" if text.startswith("n: ") else f"{table} {what}"
        found[key] = re.sub(r"\bpublic\.", "", text)
    return found


def drop_version_schemas(conn: Connection) -> None:
    """The executor's version schemas (views over the tables), which plain DDL has not."""
    for (name,) in conn.execute("SELECT nspname FROM pg_namespace WHERE nspname LIKE 'public_%'"
                                ).fetchall():
        conn.execute(sql.SQL("DROP SCHEMA {} CASCADE").format(sql.Identifier(name)))


def twin_runner(pg_dsn: str, conn: Connection) -> Runner:
    return make_runner(dsn_of(pg_dsn, conn))


def rewritten_tables(plan: Plan) -> set[str]:
    """Tables with a column copied to ``_pgroll_new_<c>`` by this plan."""
    return {s.relation or "" for s in plan.start if "(copy of " in s.summary}


# ---- pgroll's examples ----------------------------------------------------------------------

# What each example that rewrites a column means, as plain DDL (defaults and comments
# included: the twin goes on to the next example from here).
PLAIN: dict[str, str] = {
    "15_set_column_unique":
        "ALTER TABLE reviews ADD CONSTRAINT reviews_review_unique UNIQUE (review)",
    "16_set_nullable": "ALTER TABLE reviews ALTER COLUMN review SET NOT NULL",
    "18_change_column_type":
        "ALTER TABLE reviews ALTER COLUMN rating DROP DEFAULT, "
        "ALTER COLUMN rating TYPE integer USING CAST(rating AS integer), "
        "ALTER COLUMN rating SET DEFAULT '0'",
    "21_add_foreign_key_constraint":
        "ALTER TABLE posts ADD CONSTRAINT fk_users_id FOREIGN KEY (user_id) "
        "REFERENCES users (id) ON DELETE CASCADE",
    "22_add_check_constraint":
        "ALTER TABLE posts ADD CONSTRAINT title_length CHECK (length(title) > 3)",
    "23_drop_check_constraint": "ALTER TABLE posts DROP CONSTRAINT title_length",
    "24_drop_foreign_key_constraint": "ALTER TABLE posts DROP CONSTRAINT fk_users_id",
    "27_drop_unique_constraint": "ALTER TABLE reviews DROP CONSTRAINT reviews_review_unique",
    "31_unset_not_null": "ALTER TABLE posts ALTER COLUMN title DROP NOT NULL",
    "35_alter_column_multiple":
        "ALTER TABLE events ALTER COLUMN name TYPE text, "
        "ALTER COLUMN name SET DEFAULT 'unknown event', ALTER COLUMN name SET NOT NULL, "
        "ADD CONSTRAINT events_event_name_unique UNIQUE (name), "
        "ADD CONSTRAINT event_name_length CHECK (length(name) > 3); "
        "COMMENT ON COLUMN events.name IS 'the full name of the event'",
    "44_add_table_unique_constraint":
        "ALTER TABLE tickets ADD CONSTRAINT unique_zip_name UNIQUE (sellers_name, sellers_zip)",
    "45_add_table_check_constraint":
        "ALTER TABLE tickets ADD CONSTRAINT check_zip_name "
        "CHECK (sellers_name = 'alice' OR sellers_zip > 0)",
    "46_alter_column_drop_default": "ALTER TABLE tickets ALTER COLUMN ticket_type DROP DEFAULT",
    "47_add_table_foreign_key_constraint":
        "ALTER TABLE tickets ADD CONSTRAINT fk_sellers FOREIGN KEY (sellers_name, sellers_zip) "
        "REFERENCES sellers (name, zip)",
    "48_drop_tickets_check": "ALTER TABLE tickets DROP CONSTRAINT check_zip_name",
    "49_unset_not_null_on_indexed_column": "ALTER TABLE fruits ALTER COLUMN name DROP NOT NULL",
    "55_add_primary_key_constraint_to_table":
        "CREATE TABLE tasks (id serial, title varchar(255) NOT NULL, "
        "description varchar(255) NOT NULL, deadline time with time zone NOT NULL); "
        "ALTER TABLE tasks ADD CONSTRAINT tasks_pkey PRIMARY KEY (id)",
}


@pytest.fixture
def corpus(tmp_path: Path) -> Path:
    """The examples, with example 35's known defect fixed (see the conformance README)."""
    directory = tmp_path / "pgroll-examples"
    directory.mkdir()
    for path in conformance_files():
        shutil.copyfile(path, directory / path.name)
    fixed = directory / "35_alter_column_multiple.yaml"
    fixed.write_text(fixed.read_text().replace("down: event_name", "down: name"))
    return directory


def test_examples_rebuild_what_plain_ddl_keeps(pg_dsn: str, pg_conn: Connection,
                                               twin: Connection, corpus: Path) -> None:
    """After each example, both databases have the same indexes and constraints."""
    runner, plain = make_runner(dsn_of(pg_dsn, pg_conn)), twin_runner(pg_dsn, twin)
    rewritten = []
    try:
        for path in migration_files(corpus):
            change = api.compile_file(path).migration
            tables = rewritten_tables(runner.start(change))
            assert runner.complete() == change.name
            if tables:
                rewritten.append(change.name)
                drop_version_schemas(twin)  # plain DDL knows no views on the columns
                twin.execute(PLAIN[change.name])
            else:
                plain.start(change)
                plain.complete()
            assert definitions(pg_conn) == definitions(twin), change.name
    finally:
        runner.close()
        plain.close()
    assert rewritten == list(PLAIN)  # every example that rewrites, and only those


# ---- an index with every option ------------------------------------------------------------

SETUP = """
CREATE TABLE people (
  id integer PRIMARY KEY,
  name text NOT NULL,
  nick text,
  during tsrange,
  CONSTRAINT people_name_check CHECK (name <> '') NO INHERIT,
  CONSTRAINT people_nick_key UNIQUE NULLS NOT DISTINCT (name) INCLUDE (nick)
    WITH (fillfactor = 90) DEFERRABLE INITIALLY DEFERRED
);
CREATE INDEX people_name_idx ON people
  (name COLLATE "C" text_pattern_ops DESC NULLS LAST, (lower(nick)) DESC)
  INCLUDE (id) WITH (fillfactor = 70, deduplicate_items = off) TABLESPACE {ts}
  WHERE name <> 'x';
CREATE INDEX people_name_hash ON people USING hash (name) WITH (fillfactor = 60);
CREATE INDEX people_nick_idx ON people (nick) INCLUDE (name);
CREATE INDEX people_id_idx ON people (id) WHERE length(name) > 1;
"""
CHANGE = "alter table people alter name type varchar(200) up `left(name, 200)`;"
PLAIN_CHANGE = "ALTER TABLE people ALTER COLUMN name TYPE varchar(200) USING left(name, 200)"


@pytest.fixture
def tablespace(pg_dsn: str) -> Iterator[str]:
    """An in-place tablespace (no directory needed; PostgreSQL 15+), dropped afterwards."""
    name = f"ts_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(pg_dsn, autocommit=True) as admin:
        admin.execute("SET allow_in_place_tablespaces = on")
        admin.execute(sql.SQL("CREATE TABLESPACE {} LOCATION ''").format(sql.Identifier(name)))
    try:
        yield name
    finally:
        with psycopg.connect(pg_dsn, autocommit=True) as admin:
            admin.execute(sql.SQL("DROP TABLESPACE IF EXISTS {}").format(sql.Identifier(name)))


def _drop_everything(*conns: Connection) -> None:
    """The tablespace can only go once nothing is left in it."""
    for conn in conns:
        conn.execute("DROP TABLE IF EXISTS people, rooms CASCADE")


def test_type_change_keeps_every_option_of_the_indexes(pg_dsn: str, pg_conn: Connection,
                                                       twin: Connection,
                                                       tablespace: str) -> None:
    setup = SETUP.format(ts=sql.Identifier(tablespace).as_string(pg_conn))
    for conn in (pg_conn, twin):
        conn.execute(setup)
        conn.execute("INSERT INTO people VALUES (1, 'ann', 'a', NULL), (2, 'bob', NULL, NULL)")
    runner = make_runner(dsn_of(pg_dsn, pg_conn))
    try:
        before = definitions(pg_conn)
        plan = runner.start(migration(CHANGE, "02_change"))
        copies = {m for s in plan.start for m in re.findall(r'"_pgroll_dup_(\w+)"', s.sql)}
        assert copies == {"people_name_check", "people_nick_key", "people_name_idx",
                          "people_name_hash", "people_nick_idx", "people_id_idx"}
        assert runner.complete() == "02_change"
        twin.execute(PLAIN_CHANGE)
        after = definitions(pg_conn)
        assert after == definitions(twin)
        assert after.keys() == before.keys()
        index = after["people index people_name_idx"]
        assert 'COLLATE "C" text_pattern_ops DESC NULLS LAST, lower(nick) DESC' in index
        assert "INCLUDE (id) WITH (fillfactor='70', deduplicate_items=off)" in index
        assert f"-- tablespace {tablespace}" in index
        assert "NULLS NOT DISTINCT" in after["people constraint people_nick_key"]
        assert "DEFERRABLE INITIALLY DEFERRED" in after["people constraint people_nick_key"]
        assert "NO INHERIT" in after["people constraint people_name_check"]
        # introspection reads the options back
        old = introspect(pg_conn).table("people")
        assert old is not None
        model = old.index("people_name_idx")
        assert model is not None and model.key_options[0] == KeyOptions(
            collation='"C"', opclass="text_pattern_ops", sort=ir.SortOrder.DESC,
            nulls=ir.NullsOrder.LAST)
    finally:
        runner.close()
        _drop_everything(pg_conn, twin)


def test_rollback_drops_every_copy(pg_dsn: str, pg_conn: Connection,
                                   tablespace: str) -> None:
    pg_conn.execute(SETUP.format(ts=sql.Identifier(tablespace).as_string(pg_conn)))
    pg_conn.execute("INSERT INTO people VALUES (1, 'ann', 'a', NULL)")
    runner = make_runner(dsn_of(pg_dsn, pg_conn))
    try:
        before = definitions(pg_conn), introspect(pg_conn)
        runner.start(migration(CHANGE, "02_change"))
        during = definitions(pg_conn)
        assert sum("_pgroll_dup_" in key for key in during) == 6, during.keys()
        assert runner.rollback() == "02_change"
        assert (definitions(pg_conn), introspect(pg_conn)) == before
    finally:
        runner.close()
        _drop_everything(pg_conn)


# ---- exclusion constraints -----------------------------------------------------------------

ROOMS = """
CREATE TABLE rooms (
  id integer PRIMARY KEY,
  room integer NOT NULL,
  during tsrange,
  note text,
  CONSTRAINT rooms_no_overlap EXCLUDE USING gist (during WITH &&) INCLUDE (note)
    WITH (fillfactor = 80) WHERE (room > 0) DEFERRABLE
);
INSERT INTO rooms VALUES
  (1, 1, '[2024-01-01, 2024-01-02)', 'a'),
  (2, 1, '[2024-01-02, 2024-01-03)', 'b'),
  (3, 0, '[2024-01-01, 2024-01-03)', NULL);
"""
# A row without a range gets one on the copy that overlaps room 1's first booking.
ROOMS_CHANGE = ("alter table rooms alter during set not null "
                "up `coalesce(during, '[2024-01-01, 2024-01-02)')`;")
ROOMS_PLAIN = "ALTER TABLE rooms ALTER COLUMN during SET NOT NULL"


def test_exclusion_constraint_is_rebuilt_and_still_excludes(
        pg_dsn: str, pg_conn: Connection, twin: Connection) -> None:
    for conn in (pg_conn, twin):
        conn.execute(ROOMS)
    runner = make_runner(dsn_of(pg_dsn, pg_conn))
    try:
        plan = runner.start(migration(ROOMS_CHANGE, "02_rooms"))
        step = next(s for s in plan.start if "EXCLUDE" in s.sql)
        assert step.lock is Lock.ACCESS_EXCLUSIVE and step.cost is Cost.BUILD_LOCKED
        assert '"_pgroll_dup_rooms_no_overlap" EXCLUDE USING gist ("_pgroll_new_during" WITH &&)' \
            in step.sql
        assert any("rooms_no_overlap" in n and "ACCESS EXCLUSIVE" in n for n in plan.notes)
        # Enforced on the copy already: this row does not conflict in the old column (no
        # range) but does in the copy (its up value overlaps row 1).
        with pytest.raises(errors.ExclusionViolation, match="_pgroll_dup_rooms_no_overlap"):
            pg_conn.execute("INSERT INTO rooms (id, room) VALUES (9, 2)")
        assert runner.complete() == "02_rooms"
        twin.execute(ROOMS_PLAIN)
        assert definitions(pg_conn) == definitions(twin)
        assert "rooms constraint rooms_no_overlap" in definitions(pg_conn)
        with pytest.raises(errors.ExclusionViolation):
            pg_conn.execute("INSERT INTO rooms (id, room, during) "
                            "VALUES (4, 2, '[2024-01-02 12:00, 2024-01-04)')")
        pg_conn.execute("INSERT INTO rooms (id, room, during) "
                        "VALUES (5, 2, '[2024-01-05, 2024-01-06)')")
        table = introspect(pg_conn).table("rooms")
        assert table is not None
        constraint = table.constraint("rooms_no_overlap")
        assert constraint is not None
        assert constraint.elements == (ExclusionElement(key="during", operator="&&"),)
        assert constraint.include == ("note",)
        assert constraint.storage_parameters == ("fillfactor=80",)
    finally:
        runner.close()


def test_rollback_drops_the_exclusion_copy(pg_dsn: str, pg_conn: Connection) -> None:
    pg_conn.execute(ROOMS)
    runner = make_runner(dsn_of(pg_dsn, pg_conn))
    try:
        before = definitions(pg_conn), introspect(pg_conn)
        runner.start(migration(ROOMS_CHANGE, "02_rooms"))
        assert "rooms constraint _pgroll_dup_rooms_no_overlap" in definitions(pg_conn)
        assert runner.rollback() == "02_rooms"
        assert (definitions(pg_conn), introspect(pg_conn)) == before
    finally:
        runner.close()


# ---- what an empty copy would get wrong ----------------------------------------------------

ACCOUNTS = """
CREATE TABLE accounts (
  id integer PRIMARY KEY,
  tenant integer NOT NULL,
  deleted_at timestamptz,
  email text,
  CONSTRAINT accounts_one_live EXCLUDE USING btree (tenant WITH =) WHERE (deleted_at IS NULL),
  CONSTRAINT accounts_deleted_has_email CHECK (deleted_at IS NULL OR email IS NOT NULL),
  CONSTRAINT accounts_email_deleted UNIQUE (email, deleted_at)
);
CREATE UNIQUE INDEX accounts_live_email ON accounts (email) WHERE deleted_at IS NULL;
CREATE UNIQUE INDEX accounts_email_or_empty ON accounts ((coalesce(email, '')));
INSERT INTO accounts VALUES
  (1, 1, '2024-01-01', 'a'), (2, 1, NULL, 'b'), (3, 2, NULL, 'c'), (4, 3, NULL, 'd');
"""
ACCOUNTS_CHANGE = """
alter table accounts alter deleted_at type timestamp up `deleted_at AT TIME ZONE 'UTC'`
  down `deleted_at AT TIME ZONE 'UTC'`;
alter table accounts alter email type varchar(100) up `left(email, 100)`;
"""
ACCOUNTS_PLAIN = (
    "ALTER TABLE accounts ALTER COLUMN deleted_at TYPE timestamp "
    "USING deleted_at AT TIME ZONE 'UTC', ALTER COLUMN email TYPE varchar(100)")


def test_copies_that_null_would_break_are_built_after_the_backfill(
        pg_dsn: str, pg_conn: Connection, twin: Connection) -> None:
    """Before the backfill every copy is NULL: rows 1 and 2 would both be "live" for the
    exclusion constraint, and every row's ``coalesce(email, '')`` would be ``''``.

    Two operations rewrite two columns that a check, a key and an index use together: the
    second one's copy, over both copies, replaces the first one's.
    """
    for conn in (pg_conn, twin):
        conn.execute(ACCOUNTS)
    runner = make_runner(dsn_of(pg_dsn, pg_conn))
    try:
        plan = runner.start(migration(ACCOUNTS_CHANGE, "02_accounts"))
        order = [s.summary for s in plan.start]
        backfill = next(i for i, summary in enumerate(order) if summary.startswith("backfill"))
        for name in ("accounts_one_live", "accounts_live_email", "accounts_email_or_empty"):
            built = next(i for i, summary in enumerate(order) if name in summary)
            assert built > backfill, (name, order)
        assert [s.summary for s in plan.start if s.summary.startswith("drop _pgroll_dup_")] == [
            f"drop _pgroll_dup_accounts_{name}: it is made again over both copies"
            for name in ("deleted_has_email", "email_deleted", "live_email")]
        assert runner.complete() == "02_accounts"
        twin.execute(ACCOUNTS_PLAIN)
        assert definitions(pg_conn) == definitions(twin)
    finally:
        runner.close()


# ---- the catalog side, offline --------------------------------------------------------------


def _replayed(sql_text: str) -> Catalog:
    catalog, warnings = apply_sql(Catalog(), sql_text)
    assert warnings == []
    return catalog


def test_replay_of_raw_sql_holds_the_whole_index() -> None:
    catalog = _replayed(SETUP.format(ts="fast") + ROOMS.split("INSERT")[0])
    people = catalog.table("people")
    assert people is not None
    assert people.index("people_name_idx") == Index(
        name="people_name_idx", columns=("name", "lower(nick)"),
        key_options=(KeyOptions(collation='"C"', opclass="text_pattern_ops",
                                sort=ir.SortOrder.DESC, nulls=ir.NullsOrder.LAST),
                     KeyOptions(sort=ir.SortOrder.DESC)),
        include=("id",), storage_parameters=("fillfactor=70", "deduplicate_items=off"),
        tablespace="fast", predicate="name <> 'x'",
    )
    key = people.index("people_nick_key")
    assert key is not None and key.include == ("nick",) and key.nulls_not_distinct
    rooms = catalog.table("rooms")
    assert rooms is not None
    exclusion = rooms.constraint("rooms_no_overlap")
    assert exclusion is not None
    assert exclusion.elements == (ExclusionElement(key="during", operator="&&"),)
    assert rooms.index("rooms_no_overlap") == Index(
        name="rooms_no_overlap", columns=("during",), method="gist", include=("note",),
        storage_parameters=("fillfactor=80",), predicate="room > 0",
        constraint="rooms_no_overlap")


AGREEMENT_SQL = """
CREATE TYPE mood AS ENUM ('sad', 'ok');
CREATE TABLE things (
  id bigint,
  label varchar(40) COLLATE "default",
  tags text[],
  feeling mood,
  span int4range,
  doc jsonb,
  CONSTRAINT things_pkey PRIMARY KEY (id) INCLUDE (label) WITH (fillfactor = 95),
  CONSTRAINT things_label_key UNIQUE NULLS NOT DISTINCT (label) DEFERRABLE,
  CONSTRAINT things_no_overlap EXCLUDE USING gist (span WITH &&) INCLUDE (id)
    WITH (fillfactor = 50) WHERE (id > 0) DEFERRABLE INITIALLY DEFERRED
);
CREATE INDEX things_a ON things (id int8_ops DESC, label COLLATE "C" varchar_pattern_ops);
CREATE INDEX things_b ON things USING hash (label text_ops) WITH (fillfactor = 70);
CREATE INDEX things_c ON things (feeling enum_ops NULLS FIRST, tags array_ops ASC NULLS LAST);
CREATE INDEX things_d ON things USING gin (doc jsonb_path_ops) WITH (fastupdate = off);
CREATE INDEX things_e ON things USING gist (span) WITH (buffering = auto);
CREATE INDEX things_f ON things (label COLLATE "default") INCLUDE (tags) WHERE label <> '';
CREATE INDEX things_g ON things USING brin (id int8_minmax_ops) WITH (pages_per_range = 16);
ALTER INDEX things_b SET (fillfactor = 60);
ALTER INDEX things_pkey RESET (fillfactor);
ALTER INDEX things_g SET (autosummarize = on);
"""


def test_replay_and_introspection_agree_on_whole_indexes(pg_conn: Connection) -> None:
    """Default operator classes and collations spelled out, options set and reset."""
    pg_conn.execute(AGREEMENT_SQL)
    live, replayed = introspect(pg_conn), _replayed(AGREEMENT_SQL)
    assert differences(replayed, live) == []
    table = live.table("things")
    assert table is not None
    assert {i.name: i.key_options for i in table.indexes if i.key_options} == {
        "things_a": (KeyOptions(sort=ir.SortOrder.DESC),
                     KeyOptions(collation='"C"', opclass="varchar_pattern_ops")),
        "things_c": (KeyOptions(nulls=ir.NullsOrder.FIRST), KeyOptions()),
        "things_d": (KeyOptions(opclass="jsonb_path_ops"),),
    }
    assert dump_snapshot(load_snapshot(dump_snapshot(live), "s.json")) == dump_snapshot(live)


def test_replay_of_create_index_drops_a_default_operator_class() -> None:
    """pgroll's example 54 spells out int8_ops for a bigint: PostgreSQL does not record it."""
    text = """
create table t (id bigint, name varchar(20), tags text[], r int4range);
create index t_a on t (id int8_ops desc nulls first, name collate "C" text_ops);
create index t_b on t (name varchar_pattern_ops nulls first, tags array_ops);
create index t_c on t using gist (r range_ops);
create index t_d on t using hash (name) with `fillfactor = 70`;
"""
    catalog = Catalog()
    for op in api.compile_source(text, "m.pgroll").migration.operations:
        catalog = apply_operation(catalog, op)
    table = catalog.table("t")
    assert table is not None
    indexes = {i.name: i for i in table.indexes}
    assert indexes["t_a"].key_options == (KeyOptions(sort=ir.SortOrder.DESC),
                                          KeyOptions(collation='"C"'))
    assert indexes["t_b"].key_options == (
        KeyOptions(opclass="varchar_pattern_ops", nulls=ir.NullsOrder.FIRST), KeyOptions())
    assert indexes["t_c"].key_options == ()
    assert indexes["t_d"].storage_parameters == ("fillfactor=70",)


def test_snapshot_round_trip_of_the_new_fields() -> None:
    catalog = _replayed(SETUP.format(ts="fast") + ROOMS.split("INSERT")[0])
    text = dump_snapshot(catalog)
    assert '"key_options"' in text and '"elements"' in text and '"tablespace": "fast"' in text
    assert load_snapshot(text, "s.json") == catalog


def test_exclusion_on_a_rewritten_column_is_planned_under_its_true_lock() -> None:
    catalog = _replayed(ROOMS.split("INSERT")[0])
    plan = plan_migration(migration(ROOMS_CHANGE, "02_rooms"), catalog)
    exclusion = [s for s in plan.start if " EXCLUDE " in s.sql]
    assert [s.sql for s in exclusion] == [
        'ALTER TABLE "public"."rooms" ADD CONSTRAINT "_pgroll_dup_rooms_no_overlap" EXCLUDE '
        'USING gist ("_pgroll_new_during" WITH &&) INCLUDE ("note") '
        "WITH (fillfactor = '80') WHERE (room > 0) DEFERRABLE INITIALLY IMMEDIATE"]
    assert exclusion[0].lock is Lock.ACCESS_EXCLUSIVE
    renames = [s.sql for s in plan.phase(Phase.COMPLETE) if "RENAME CONSTRAINT" in s.sql]
    assert renames == ['ALTER TABLE IF EXISTS "public"."rooms" RENAME CONSTRAINT '
                       '"_pgroll_dup_rooms_no_overlap" TO "rooms_no_overlap"']


@pytest.mark.parametrize(("text", "expected"), [
    ("fillfactor = 70", ("fillfactor=70",)),
    ("FillFactor='70', fastupdate, deduplicate_items = off, x = 1.50, y = on",
     ("fillfactor=70", "fastupdate=true", "deduplicate_items=off", "x=1.50", "y=on")),
    ("", ()),
    ("not ( valid", ("not ( valid",)),
])
def test_storage_parameters_are_spelled_as_reloptions(text: str,
                                                      expected: tuple[str, ...]) -> None:
    assert parse_options(text) == expected


def test_names_and_operators_are_quoted_or_refused() -> None:
    assert author_name('"C"', "public") == '"C"'
    assert author_name("C", "public") == "c"
    assert author_name('pg_catalog."de-DE"', "public") == '"de-DE"'
    assert author_name('other."X"', "public") == 'other."X"'
    assert name_sql('other."X"') == '"other"."X"'
    assert options_sql(("fillfactor=70", "x=it's")) == "fillfactor = '70', x = 'it''s'"
    assert operator_sql("&&") == "&&"
    assert operator_sql("OPERATOR(other.&&)") == 'OPERATOR("other".&&)'
    for bad in ("&&; DROP TABLE t", "OPERATOR(x.&&) --", "="*70):
        with pytest.raises(ValueError):
            operator_sql(bad)
    with pytest.raises(ValueError):
        name_sql('"C"; DROP TABLE t')
    with pytest.raises(ValueError):
        options_sql(("no value",))


@pytest.mark.parametrize(("method", "key_type", "expected"), [
    ("btree", "bigint", "int8_ops"),
    ("btree", "character varying(255)", "text_ops"),
    ("hash", "integer[]", "array_ops"),
    ("btree", "mood", "enum_ops"),
    ("gist", "tstzrange", "range_ops"),
    ("gist", "text", None),
])
def test_default_operator_classes(method: str, key_type: str, expected: str | None) -> None:
    assert default_opclass(method, key_type, ("mood",)) == expected


def test_default_operator_class_table_matches_the_server(pg_conn: Connection) -> None:
    """Where the table answers, it gives the server's default for that type."""
    rows: list[Any] = pg_conn.execute("""
        SELECT am.amname, format_type(t.oid, NULL), opc.opcname
        FROM pg_opclass opc
        JOIN pg_am am ON am.oid = opc.opcmethod
        JOIN pg_type t ON t.oid = opc.opcintype
        WHERE opc.opcdefault AND t.typtype = 'b' AND t.typnamespace = 'pg_catalog'::regnamespace
    """).fetchall()
    checked = 0
    for method, key_type, opclass in rows:
        known = default_opclass(method, key_type)
        if known is not None:
            assert known == opclass, (method, key_type)
            checked += 1
    assert checked >= 75


def test_postgres_14_index_query_avoids_newer_columns() -> None:
    assert "indnullsnotdistinct" not in _indexes_query(140000)
    assert "indnullsnotdistinct" in _indexes_query(150000)


def test_snapshot_refuses_unknown_key_options() -> None:
    catalog = _replayed("CREATE TABLE t (a int); CREATE INDEX i ON t (a DESC)")
    text = dump_snapshot(catalog).replace('"sort": "DESC"', '"sorting": "DESC"')
    with pytest.raises(CompileError, match="unknown key 'sorting'"):
        load_snapshot(text, "s.json")
