"""The live executor on a real PostgreSQL, one operation at a time.

Every case starts from the same first migration (``01_setup``, completed, so its version
schema is the OLD version) with rows in its tables, then runs one operation (``02_change``,
the NEW version) through :class:`Runner`:

* after ``start``, a client of the old version and a client of the new version both read
  and write, and what one writes the other reads (through ``up`` and ``down`` where the
  operation has them);
* after ``complete`` only the new shape remains (no old version schema, no helper columns,
  triggers or functions, every constraint validated and every index valid, each table's
  columns exactly those of its new-version view), with the data intact;
* ``rollback`` instead of ``complete`` leaves the catalog and every row exactly as they were
  before ``start``; after writes, the old version reads after rollback what it read before;
* the statements the executor ran are exactly the plan's steps, phase after phase.

Then the Runner's lifecycle (one active migration, status, init, a failed start undone, lock
timeouts retried) and the CLI's live commands (exit codes, ``migrate``).
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psycopg
import pytest
from psycopg import errors
from typer.testing import CliRunner

from pgroll_dsl.backends.runner import CommandError
from pgroll_dsl.catalog.introspect import introspect
from pgroll_dsl.cli import app
from pgroll_dsl.plan.model import Plan
from tests.live_helpers import (
    Connection,
    Live,
    apply,
    columns,
    constraints,
    dsn_of,
    indexes,
    make_runner,
    migration,
    one,
    query,
    schemas,
    snapshot,
    triggers_and_functions,
    version_schema,
)

OLD, NEW = version_schema("01_setup"), version_schema("02_change")

SETUP = """
create table owners (id int primary key, label text);
create table items (
  id int primary key,
  name text not null,
  price int not null,
  owner_id int constraint items_owner_fk references owners (id)
);
create table legacy (id int primary key, note text);
create index items_name_idx on items (name);
"""

ROWS = """
insert into owners values (1, 'ann'), (2, 'bob');
insert into items select i, 'item' || i, i * 10, 1 + i % 2 from generate_series(1, 10) i;
insert into legacy values (1, 'x'), (2, 'y');
"""


@pytest.fixture
def live(pg_conn: Connection, pg_dsn: str) -> Iterator[Live]:
    """The test database with ``01_setup`` completed and its rows in place."""
    db = Live(pg_conn, dsn_of(pg_dsn, pg_conn))
    try:
        apply(db.runner, SETUP)
        pg_conn.execute(ROWS)
        db.runner.executor.ran.clear()
        yield db
    finally:
        db.close()


def exchange_items(old: Connection, new: Connection) -> None:
    """Rows of ``items`` written by one version are read by the other (columns both know)."""
    old.execute("insert into items (id, name, price) values (101, 'from old', 1)")
    assert one(new, "select id from items where id = 101") == (101,)
    assert one(new, "select count(*) from items where id <= 10") == (10,)
    new.execute("update items set owner_id = 2 where id = 101")
    assert one(old, "select owner_id from items where id = 101") == (2,)
    new.execute("delete from items where id = 101")
    assert query(old, "select * from items where id = 101") == []


# ---- the cases -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Case:
    change: str  # DSL of 02_change
    during: Callable[[Connection, Connection], None]  # (old client, new client)
    after: Callable[[Connection, Connection], None]  # (new client, admin) after complete


def create_table_during(old: Connection, new: Connection) -> None:
    new.execute("insert into tags (id, item_id) values (1, 3)")
    assert query(new, "select * from tags") == [(1, 3, "none")]
    with pytest.raises(errors.UndefinedTable):
        old.execute("select * from tags")
    with pytest.raises(errors.ForeignKeyViolation):
        new.execute("insert into tags (id, item_id) values (2, 999)")
    exchange_items(old, new)


def create_table_after(new: Connection, admin: Connection) -> None:
    assert query(new, "select * from tags") == [(1, 3, "none")]
    assert constraints(admin, "tags")["tags_item_fk"] == (
        "FOREIGN KEY (item_id) REFERENCES items(id)", True)


def drop_table_during(old: Connection, new: Connection) -> None:
    old.execute("insert into legacy values (3, 'z')")
    assert query(old, "select * from legacy order by id") == [(1, "x"), (2, "y"), (3, "z")]
    with pytest.raises(errors.UndefinedTable):
        new.execute("select * from legacy")
    exchange_items(old, new)


def drop_table_after(new: Connection, admin: Connection) -> None:
    assert one(admin, "select to_regclass('public.legacy')") == (None,)
    assert one(new, "select count(*) from items") == (10,)


def rename_table_during(old: Connection, new: Connection) -> None:
    old.execute("insert into legacy values (3, 'from old')")
    assert one(new, "select note from archive where id = 3") == ("from old",)
    new.execute("insert into archive values (4, 'from new')")
    assert one(old, "select note from legacy where id = 4") == ("from new",)
    new.execute("update archive set note = 'changed' where id = 1")
    assert one(old, "select note from legacy where id = 1") == ("changed",)
    with pytest.raises(errors.UndefinedTable):
        new.execute("select * from legacy")
    with pytest.raises(errors.UndefinedTable):
        old.execute("select * from archive")


def rename_table_after(new: Connection, admin: Connection) -> None:
    assert query(new, "select * from archive order by id") == [
        (1, "changed"), (2, "y"), (3, "from old"), (4, "from new")]
    assert one(admin, "select to_regclass('public.legacy')") == (None,)
    assert one(admin, "select to_regclass('public.archive') is not null") == (True,)


def add_nullable_during(old: Connection, new: Connection) -> None:
    assert one(new, "select count(*) from items where note is null") == (10,)
    old.execute("insert into items (id, name, price) values (11, 'eleven', 110)")
    assert one(new, "select name, note from items where id = 11") == ("eleven", None)
    new.execute("insert into items (id, name, price, note) values (12, 'twelve', 120, 'hello')")
    assert one(old, "select * from items where id = 12") == (12, "twelve", 120, None)
    new.execute("update items set note = 'noted' where id = 1")
    old.execute("update items set name = 'renamed' where id = 1")
    assert one(new, "select name, note from items where id = 1") == ("renamed", "noted")
    with pytest.raises(errors.UndefinedColumn):
        old.execute("select note from items")


def add_nullable_after(new: Connection, admin: Connection) -> None:
    assert query(new, "select id, note from items where note is not null order by id") == [
        (1, "noted"), (12, "hello")]
    assert one(new, "select count(*) from items") == (12,)
    assert ("note", "text", False) in columns(admin, "items")


def add_not_null_up_during(old: Connection, new: Connection) -> None:
    # The backfill computed `up` for the rows that existed before start.
    assert query(new, "select id, name_len from items where id in (1, 10) order by id") == [
        (1, 5), (10, 6)]
    assert one(new, "select count(*) from items where name_len = length(name)") == (10,)
    old.execute("insert into items (id, name, price) values (11, 'eleven', 110)")
    assert one(new, "select name_len from items where id = 11") == (6,)
    old.execute("update items set name = 'x' where id = 1")
    assert one(new, "select name_len from items where id = 1") == (1,)
    new.execute("insert into items (id, name, price, name_len) values (12, 'twelve', 120, 99)")
    assert one(old, "select * from items where id = 12") == (12, "twelve", 120, None)
    assert one(new, "select name_len from items where id = 12") == (99,)
    new.execute("update items set name_len = 7 where id = 2")
    assert one(old, "select name from items where id = 2") == ("item2",)
    with pytest.raises((errors.CheckViolation, errors.NotNullViolation)):
        new.execute("insert into items (id, name, price) values (13, 'no len', 1)")


def add_not_null_up_after(new: Connection, admin: Connection) -> None:
    assert ("name_len", "integer", True) in columns(admin, "items")
    got = dict(query(new, "select id, name_len from items"))
    assert got == {1: 1, 2: 7, **{i: len(f"item{i}") for i in range(3, 11)}, 11: 6, 12: 99}


def add_unique_during(old: Connection, new: Connection) -> None:
    assert indexes(old, "items")["items_code_key"][1] is True  # built concurrently, valid
    new.execute("insert into items (id, name, price, code) values (11, 'eleven', 1, 'A')")
    with pytest.raises(errors.UniqueViolation):
        new.execute("insert into items (id, name, price, code) values (12, 'twelve', 1, 'A')")
    assert one(old, "select name from items where id = 11") == ("eleven",)
    old.execute("insert into items (id, name, price) values (13, 'thirteen', 1)")
    old.execute("insert into items (id, name, price) values (14, 'fourteen', 1)")
    assert query(new, "select id, code from items where id > 10 order by id") == [
        (11, "A"), (13, None), (14, None)]
    new.execute("update items set code = 'B' where id = 1")
    with pytest.raises(errors.UniqueViolation):
        new.execute("update items set code = 'B' where id = 2")


def add_unique_after(new: Connection, admin: Connection) -> None:
    assert constraints(admin, "items")["items_code_key"] == ("UNIQUE (code)", True)
    assert query(new, "select id, code from items where code is not null order by id") == [
        (1, "B"), (11, "A")]
    with pytest.raises(errors.UniqueViolation):
        new.execute("insert into items (id, name, price, code) values (15, 'x', 1, 'A')")


def add_check_during(old: Connection, new: Connection) -> None:
    new.execute("insert into items (id, name, price, qty) values (11, 'eleven', 1, 5)")
    with pytest.raises(errors.CheckViolation):
        new.execute("insert into items (id, name, price, qty) values (12, 'twelve', 1, -1)")
    assert one(old, "select name from items where id = 11") == ("eleven",)
    old.execute("insert into items (id, name, price) values (13, 'thirteen', 1)")
    assert one(new, "select qty from items where id = 13") == (None,)


def add_check_after(new: Connection, admin: Connection) -> None:
    assert constraints(admin, "items")["qty_nonneg"] == ("CHECK ((qty >= 0))", True)
    assert query(new, "select id, qty from items where qty is not null") == [(11, 5)]


def add_fk_during(old: Connection, new: Connection) -> None:
    new.execute("insert into items (id, name, price, buyer_id) values (11, 'eleven', 1, 2)")
    with pytest.raises(errors.ForeignKeyViolation):
        new.execute("insert into items (id, name, price, buyer_id) values (12, 'x', 1, 99)")
    old.execute("insert into owners values (3, 'cy')")
    new.execute("update items set buyer_id = 3 where id = 1")
    assert one(old, "select name from items where id = 1") == ("item1",)
    old.execute("insert into items (id, name, price) values (13, 'thirteen', 1)")
    assert one(new, "select buyer_id from items where id = 13") == (None,)


def add_fk_after(new: Connection, admin: Connection) -> None:
    assert constraints(admin, "items")["items_buyer_fk"] == (
        "FOREIGN KEY (buyer_id) REFERENCES owners(id)", True)
    assert query(new, "select id, buyer_id from items where buyer_id is not null order by id"
                 ) == [(1, 3), (11, 2)]


def add_volatile_default_during(old: Connection, new: Connection) -> None:
    in_range = "select count(*) from items where score between 0 and 1000"
    assert one(new, in_range) == (10,)  # backfilled with `up`
    old.execute("insert into items (id, name, price) values (11, 'eleven', 1)")
    new.execute("insert into items (id, name, price) values (12, 'twelve', 1)")  # view default
    new.execute("insert into items (id, name, price, score) values (13, 'written', 1, 5000)")
    assert one(new, in_range) == (12,)
    assert one(new, "select score from items where id = 13") == (5000,)
    assert one(old, "select name from items where id = 13") == ("written",)
    # Not one constant: the values are computed row by row.
    assert one(new, "select count(distinct score) > 1 from items where id <= 12") == (True,)


def add_volatile_default_after(new: Connection, admin: Connection) -> None:
    assert ("score", "integer", True) in columns(admin, "items")
    assert one(new, "select count(*) from items where score between 0 and 1000") == (12,)
    assert one(new, "select score from items where id = 13") == (5000,)
    new.execute("insert into items (id, name, price) values (14, 'after', 1)")
    assert one(new, "select score between 0 and 1000 from items where id = 14") == (True,)


def drop_column_during(old: Connection, new: Connection) -> None:
    with pytest.raises(errors.UndefinedColumn):
        new.execute("select price from items")
    new.execute("insert into items (id, name) values (11, 'eleven')")
    assert one(old, "select price from items where id = 11") == (60,)  # down
    new.execute("update items set name = 'renamed' where id = 1")
    assert one(old, "select name, price from items where id = 1") == ("renamed", 70)
    old.execute("insert into items (id, name, price) values (12, 'twelve', 5)")
    assert one(new, "select * from items where id = 12") == (12, "twelve", None)
    old.execute("update items set price = 1 where id = 2")
    assert one(new, "select * from items where id = 2") == (2, "item2", 1)


def drop_column_after(new: Connection, admin: Connection) -> None:
    assert "price" not in [c[0] for c in columns(admin, "items")]
    assert query(new, "select id, name from items where id in (1, 11, 12) order by id") == [
        (1, "renamed"), (11, "eleven"), (12, "twelve")]
    new.execute("insert into items (id, name) values (13, 'after')")


def rename_column_during(old: Connection, new: Connection) -> None:
    old.execute("insert into items (id, name, price) values (11, 'from old', 1)")
    assert one(new, "select title from items where id = 11") == ("from old",)
    new.execute("insert into items (id, title, price) values (12, 'from new', 1)")
    assert one(old, "select name from items where id = 12") == ("from new",)
    new.execute("update items set title = 'retitled' where id = 1")
    assert one(old, "select name from items where id = 1") == ("retitled",)
    with pytest.raises(errors.UndefinedColumn):
        new.execute("select name from items")


def rename_column_after(new: Connection, admin: Connection) -> None:
    names = [c[0] for c in columns(admin, "items")]
    assert "title" in names and "name" not in names
    assert query(new, "select id, title from items where id in (1, 11, 12) order by id") == [
        (1, "retitled"), (11, "from old"), (12, "from new")]


def create_index_during(old: Connection, new: Connection) -> None:
    definition, valid = indexes(old, "items")["items_price_idx"]
    assert valid and "(price)" in definition
    exchange_items(old, new)


def create_index_after(new: Connection, admin: Connection) -> None:
    assert indexes(admin, "items")["items_price_idx"][1] is True
    assert one(new, "select count(*) from items") == (10,)


def drop_index_during(old: Connection, new: Connection) -> None:
    assert "items_name_idx" in indexes(old, "items")  # still serves the old version
    exchange_items(old, new)


def drop_index_after(new: Connection, admin: Connection) -> None:
    assert "items_name_idx" not in indexes(admin, "items")
    assert one(new, "select count(*) from items") == (10,)


def sql_during(old: Connection, new: Connection) -> None:
    old.execute("insert into public.audit values (1, 'raw')")
    assert query(new, "select * from audit") == [(1, "raw")]  # the new version has a view
    new.execute("insert into audit values (2, 'through the view')")
    assert one(old, "select msg from public.audit where id = 2") == ("through the view",)
    new.execute("delete from audit where id = 2")
    exchange_items(old, new)


def sql_after(new: Connection, admin: Connection) -> None:
    assert query(admin, "select * from public.audit") == [(1, "raw")]
    assert one(new, "select count(*) from items") == (10,)


def sql_on_complete_during(old: Connection, new: Connection) -> None:
    with pytest.raises(errors.UndefinedColumn):
        new.execute("select born from items")
    exchange_items(old, new)


def sql_on_complete_after(new: Connection, admin: Connection) -> None:
    assert ("born", "date", False) in columns(admin, "items")
    new.execute("update items set born = '2020-02-02' where id = 1")  # the recreated view
    assert one(new, "select born::text from items where id = 1") == ("2020-02-02",)


CASES = {
    "create_table": Case(
        "create table tags (id int primary key, item_id int not null constraint tags_item_fk "
        "references items (id), label text not null default 'none');",
        create_table_during, create_table_after),
    "drop_table": Case("drop table legacy;", drop_table_during, drop_table_after),
    "rename_table": Case("alter table legacy rename to archive;",
                         rename_table_during, rename_table_after),
    "add_column_nullable": Case("alter table items add note text;",
                                add_nullable_during, add_nullable_after),
    "add_column_not_null_up": Case("alter table items add name_len int not null "
                                   "up `length(name)`;",
                                   add_not_null_up_during, add_not_null_up_after),
    "add_column_unique": Case("alter table items add code text unique;",
                              add_unique_during, add_unique_after),
    "add_column_check": Case("alter table items add qty int constraint qty_nonneg "
                             "check `qty >= 0`;", add_check_during, add_check_after),
    "add_column_foreign_key": Case("alter table items add buyer_id int constraint "
                                   "items_buyer_fk references owners (id);",
                                   add_fk_during, add_fk_after),
    "add_column_volatile_default": Case(
        "alter table items add score int not null default `(random()*1000)::int` "
        "up `(random()*1000)::int`;", add_volatile_default_during, add_volatile_default_after),
    "drop_column_down": Case("alter table items drop price down `length(name) * 10`;",
                             drop_column_during, drop_column_after),
    "rename_column": Case("alter table items rename name to title;",
                          rename_column_during, rename_column_after),
    "create_index": Case("create index items_price_idx on items (price);",
                         create_index_during, create_index_after),
    "drop_index": Case("drop index items_name_idx;", drop_index_during, drop_index_after),
    "sql": Case("sql up `CREATE TABLE audit (id int PRIMARY KEY, msg text)` "
                "down `DROP TABLE IF EXISTS audit`;", sql_during, sql_after),
    "sql_inferred_down": Case("sql up `CREATE TABLE audit (id int PRIMARY KEY, msg text)`;",
                              sql_during, sql_after),
    "sql_on_complete": Case("sql on complete up `ALTER TABLE items ADD COLUMN born date`;",
                            sql_on_complete_during, sql_on_complete_after),
}

XFAIL: dict[str, str] = {}


def case_params() -> list[Any]:
    return [pytest.param(name, id=name, marks=[pytest.mark.xfail(strict=True, reason=XFAIL[name])]
                         if name in XFAIL else []) for name in CASES]


def assert_only_new_shape(live: Live, new: Connection) -> None:
    """After complete: no old version, no helper objects, every table shown as it is."""
    assert OLD not in schemas(live.conn) and NEW in schemas(live.conn)
    assert triggers_and_functions(live.conn) == []
    catalog = introspect(live.conn)
    for table in catalog.tables:
        assert table.physical == table.name
        assert not [c.name for c in table.columns if c.name.startswith("_pgroll")], table.name
        assert all(c.validated for c in table.constraints), table
        assert all(i.valid for i in table.indexes), table
        view = [c[0] for c in columns(live.conn, table.name, NEW)]
        assert view == [c.name for c in table.columns], table.name
        query(new, f'select * from "{table.name}"')
    assert live.runner.status()["status"] == "Complete"
    assert live.runner.latest_schema() == NEW


@pytest.mark.parametrize("name", case_params())
def test_start_then_complete(name: str, live: Live) -> None:
    case = CASES[name]
    plan = live.runner.start(migration(case.change, "02_change"))
    assert live.runner.status()["status"] == "In progress"
    old, new = live.client(OLD), live.client(NEW)
    case.during(old, new)
    live.runner.complete()
    assert_only_new_shape(live, new)
    case.after(new, live.conn)
    # The executor sent exactly the plan's statements (state bookkeeping is not among them).
    assert live.runner.executor.ran == [s.sql for s in (*plan.start, *plan.complete)]


def read_versions(old: Connection, new: Connection) -> dict[str, list[Any]]:
    """Every view of both versions, read through each version's client."""
    seen: dict[str, list[Any]] = {}
    for conn, version in ((old, OLD), (new, NEW)):
        views = query(conn, "select viewname from pg_views where schemaname = %s", (version,))
        for (view,) in views:
            seen[f"{version}.{view}"] = sorted(query(conn, f'select * from "{view}"'), key=repr)
    return seen


@pytest.mark.parametrize("name", case_params())
def test_start_then_rollback_restores_everything(name: str, live: Live) -> None:
    case = CASES[name]
    before_schemas, before = schemas(live.conn), snapshot(live.conn)
    plan = live.runner.start(migration(case.change, "02_change"))
    old, new = live.client(OLD), live.client(NEW)
    seen = read_versions(old, new)
    assert any(key.startswith(NEW) for key in seen)
    live.runner.rollback()
    assert snapshot(live.conn) == before
    assert schemas(live.conn) == before_schemas
    assert triggers_and_functions(live.conn) == []
    assert live.runner.executor.ran == [s.sql for s in (*plan.start, *plan.rollback)]
    assert live.runner.status() == {"schema": "public", "version": "01_setup",
                                    "status": "Complete"}
    assert read_versions(old, old)[f"{OLD}.items"] == seen[f"{OLD}.items"]


@pytest.mark.parametrize("name", case_params())
def test_rollback_after_writes_keeps_what_the_old_version_sees(name: str, live: Live) -> None:
    case = CASES[name]
    before = introspect(live.conn)
    live.runner.start(migration(case.change, "02_change"))
    old, new = live.client(OLD), live.client(NEW)
    case.during(old, new)
    seen = {k: v for k, v in read_versions(old, new).items() if k.startswith(OLD)}
    live.runner.rollback()
    assert introspect(live.conn) == before
    assert triggers_and_functions(live.conn) == []
    assert NEW not in schemas(live.conn)
    assert {k: v for k, v in read_versions(old, old).items() if k.startswith(OLD)} == seen
    # And the old version can still write.
    old.execute("insert into items (id, name, price) values (1000, 'after rollback', 1)")


# ---- the Runner's lifecycle ----------------------------------------------------------------


def test_start_while_another_is_active_names_it(live: Live) -> None:
    live.runner.start(migration("alter table items add note text;", "02_change"))
    with pytest.raises(CommandError) as raised:
        live.runner.start(migration("alter table items add other text;", "03_other"))
    message = str(raised.value)
    assert '"02_change"' in message and "already in progress" in message, message
    assert "complete or roll it back first" in message
    # Nothing of the refused migration happened; the active one goes on.
    assert version_schema("03_other") not in schemas(live.conn)
    assert live.runner.state.active().name == "02_change"  # type: ignore[union-attr]
    live.runner.complete()


def test_complete_and_rollback_without_an_active_migration(live: Live) -> None:
    with pytest.raises(CommandError, match="no active migration"):
        live.runner.complete()
    with pytest.raises(CommandError, match="no active migration"):
        live.runner.rollback()


def test_status_through_the_lifecycle(pg_conn: Connection, pg_dsn: str) -> None:
    dsn = dsn_of(pg_dsn, pg_conn)
    runner = make_runner(dsn, init=False)
    try:
        with pytest.raises(CommandError, match="not initialized"):
            runner.status()
        runner.init()
        assert runner.status() == {"schema": "public", "version": "", "status": "No migrations"}
        with pytest.raises(CommandError, match="no version schemas"):
            runner.latest_schema()
        runner.start(migration("create table t (id int primary key);", "01_first"))
        assert runner.status() == {"schema": "public", "version": "01_first",
                                   "status": "In progress"}
        runner.complete()
        assert runner.status() == {"schema": "public", "version": "01_first",
                                   "status": "Complete"}
        runner.start(migration("alter table t add c int;", "02_second"))
        assert runner.status() == {"schema": "public", "version": "02_second",
                                   "status": "In progress"}
        runner.rollback()
        assert runner.status() == {"schema": "public", "version": "01_first",
                                   "status": "Complete"}
        assert runner.latest_schema() == "public_01_first"
    finally:
        runner.close()


def test_init_twice_is_harmless(pg_conn: Connection, pg_dsn: str) -> None:
    dsn = dsn_of(pg_dsn, pg_conn)
    runner = make_runner(dsn)
    try:
        runner.init()
        apply(runner, "create table t (id int primary key);", "01_first")
        runner.start(migration("alter table t add c int;", "02_second"))
        history = runner.state.history()
        runner.init()
        make_runner(dsn).close()  # another Runner's init, while a migration is active
        assert runner.state.history() == history == ["01_first", "02_second"]
        assert runner.status()["status"] == "In progress"
        runner.complete()
        assert runner.status() == {"schema": "public", "version": "02_second",
                                   "status": "Complete"}
    finally:
        runner.close()


def test_a_failed_start_is_undone(live: Live) -> None:
    # The unique index cannot be built: every existing row gets the same default.
    change = migration("alter table items add code text not null default 'x' unique;",
                       "02_change")
    plan = live.runner.plan(change)
    failing = next(i for i, s in enumerate(plan.start) if "CREATE UNIQUE INDEX" in s.sql)
    before_schemas, before = schemas(live.conn), snapshot(live.conn)
    with pytest.raises(CommandError, match="start failed, changes rolled back: .*items_code_key"):
        live.runner.start(change)
    assert snapshot(live.conn) == before
    assert schemas(live.conn) == before_schemas
    assert triggers_and_functions(live.conn) == []
    assert live.runner.state.history() == ["01_setup"]
    assert live.runner.status()["status"] == "Complete"
    assert live.runner.executor.ran == [s.sql for s in (*plan.start[:failing + 1],
                                                         *plan.rollback)]
    exchange_items(live.client(OLD), live.client(OLD))


def _starter(runner: Any, change: Any, outcome: list[Any]) -> Any:
    """``runner.start(change)`` for a thread: its plan, or what it raised, into ``outcome``."""

    def start() -> None:
        try:
            outcome.append(runner.start(change))
        except BaseException as err:  # noqa: BLE001 - handed to the test thread
            outcome.append(err)

    return start


def test_a_blocked_step_waits_without_holding_clients_up(live: Live) -> None:
    """The step does not ask for its lock while a client holds one: nobody queues behind it."""
    messages: list[str] = []
    retries: list[int] = []
    runner = make_runner(live.dsn, lock_timeout_ms=1000, on_message=messages.append,
                         on_retry=lambda step, attempt, _: retries.append(attempt))
    change = migration("alter table items add note text;", "02_change")
    holder, reader = live.client(OLD), live.client(OLD)
    outcome: list[Any] = []
    start = _starter(runner, change, outcome)

    try:
        with holder.transaction():  # a long transaction of the old version holds a lock
            holder.execute("select count(*) from items")
            thread = threading.Thread(target=start)
            thread.start()
            deadline = time.monotonic() + 10
            while not any("waiting for backend" in m for m in messages) \
                    and time.monotonic() < deadline:
                time.sleep(0.01)
            assert any(f"backend {holder.info.backend_pid} " in m for m in messages), messages
            time.sleep(1.1)  # longer than the lock timeout: the step is still waiting
            for _ in range(5):
                began = time.monotonic()
                assert one(reader, "select count(*) from items") == (10,)
                reader.execute("update items set name = name where id = 1")
                # not queued behind the migration (that would take a whole lock timeout)
                assert time.monotonic() - began < 0.5
        thread.join(timeout=60)
        [plan] = outcome
        assert isinstance(plan, Plan), plan
        assert retries == []
        assert runner.executor.ran == [s.sql for s in plan.start]
        runner.complete()
        assert ("note", "text", False) in columns(live.conn, "items")
    finally:
        runner.close()


def test_lock_timeouts_are_retried_once_waiting_is_over(live: Live) -> None:
    """With no time to wait for holders, the request waits its lock timeout and is retried."""
    retries: list[tuple[str, int]] = []
    runner = make_runner(live.dsn, lock_timeout_ms=100, holder_wait_s=0.0,
                         on_retry=lambda step, attempt, _: retries.append((step.sql, attempt)))
    change = migration("alter table items add note text;", "02_change")
    holder, reader = live.client(OLD), live.client(OLD)
    outcome: list[Any] = []
    start = _starter(runner, change, outcome)

    try:
        with holder.transaction():
            holder.execute("select count(*) from items")
            thread = threading.Thread(target=start)
            thread.start()
            deadline = time.monotonic() + 10
            while not retries and time.monotonic() < deadline:
                time.sleep(0.01)
            assert retries, "the blocked step was not retried"
            began = time.monotonic()
            assert one(reader, "select count(*) from items") == (10,)
            # Queued behind the migration's lock request at most for its lock timeout.
            assert time.monotonic() - began < 1.0
        thread.join(timeout=60)
        [plan] = outcome
        assert isinstance(plan, Plan), plan
        ran = runner.executor.ran
        assert len(ran) == len(plan.start) + len(retries)
        assert [s for i, s in enumerate(ran) if i == 0 or s != ran[i - 1]] == [
            s.sql for s in plan.start]
        assert retries[0] == (plan.start[0].sql, 1)
    finally:
        runner.close()


# ---- the CLI ---------------------------------------------------------------------------------


@pytest.fixture
def cli_db(pg_conn: Connection, pg_dsn: str) -> str:
    return dsn_of(pg_dsn, pg_conn)


def invoke(*args: str) -> Any:
    return CliRunner().invoke(app, list(args))


def output(result: Any) -> str:
    """Everything a command printed (stdout and stderr, interleaved)."""
    return str(result.output)


def test_cli_exit_codes(cli_db: str, tmp_path: Path) -> None:
    first = tmp_path / "01_first.pgroll"
    first.write_text("create table t (id int primary key, name text);\n", encoding="utf-8")
    second = tmp_path / "02_second.pgroll"
    second.write_text("alter table t add note text;\n", encoding="utf-8")
    url = ("--postgres-url", cli_db)

    result = invoke("init", *url)
    assert result.exit_code == 0, output(result)
    result = invoke("complete", *url)
    assert result.exit_code == 1, output(result)
    assert "no active migration" in output(result)

    result = invoke("start", str(first), "--complete", *url)
    assert result.exit_code == 0, output(result)
    assert 'Migration "01_first" complete' in output(result)
    result = invoke("start", str(second), *url)
    assert result.exit_code == 0, output(result)
    assert '"public_02_second"' in output(result)

    third = tmp_path / "03_third.pgroll"
    third.write_text("alter table t add other text;\n", encoding="utf-8")
    result = invoke("start", str(third), *url)
    assert result.exit_code == 1, output(result)
    assert '"02_second"' in output(result) and "already in progress" in output(result)
    result = invoke("start", str(second), *url)  # the same one again: nothing to do
    assert result.exit_code == 0, output(result)
    assert '"02_second" is already started: every step has run' in output(result)

    result = invoke("status", *url)
    assert result.exit_code == 0, output(result)
    assert json.loads(result.stdout) == {"schema": "public", "version": "02_second",
                                         "status": "In progress"}
    result = invoke("rollback", *url)
    assert result.exit_code == 0, output(result)
    result = invoke("rollback", *url)
    assert result.exit_code == 1, output(result)
    result = invoke("latest", *url)
    assert result.exit_code == 0 and result.stdout.strip() == "public_01_first", output(result)


def test_cli_unreachable_database_exits_2(tmp_path: Path) -> None:
    file = tmp_path / "01_first.pgroll"
    file.write_text("create table t (id int primary key);\n", encoding="utf-8")
    url = "postgresql://nobody@127.0.0.1:1/nothing?connect_timeout=3"
    for args in (("start", str(file)), ("complete",), ("status",), ("init",)):
        result = invoke(*args, "--postgres-url", url)
        assert result.exit_code == 2, (args, output(result))
        assert "cannot connect" in output(result), output(result)


def test_cli_migrate_applies_the_examples(cli_db: str) -> None:
    directory = Path(__file__).resolve().parents[1] / "examples"
    url = ("--postgres-url", cli_db)
    assert invoke("init", *url).exit_code == 0

    result = invoke("migrate", str(directory), "--complete", *url)
    assert result.exit_code == 0, output(result)
    last = sorted(p.stem for p in directory.glob("*.pgroll"))[-1]
    result = invoke("status", *url)
    assert json.loads(result.stdout) == {"schema": "public", "version": last,
                                         "status": "Complete"}
    with psycopg.connect(cli_db, autocommit=True) as conn:
        names = [c[0] for c in columns(conn, "users")]
        assert "full_name" in names and "name" not in names
        assert ("email", "text", True) in columns(conn, "users")
        assert "note" in [c[0] for c in columns(conn, "orders")]
        assert version_schema(last) in schemas(conn)

    result = invoke("migrate", str(directory), "--complete", *url)
    assert result.exit_code == 0, output(result)
    assert "up to date" in output(result), output(result)
