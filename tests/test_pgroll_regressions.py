"""Bugs reported against pgroll, each run live: the plans here must not have them.

* pgroll #1028: a check, index predicate or ``up`` expression that moves to a copy of a
  column had the column's name replaced as a substring, so that ``subpath(path)`` became
  ``sub_pgroll_new_path(_pgroll_new_path)`` and ``username`` became ``user_pgroll_new_name``
  when ``name`` was rewritten. The plans rewrite by identifier.
* pgroll #1035: the backfill wrote ``SET id = id``, which fails on a primary key that is
  ``GENERATED ALWAYS AS IDENTITY``. The plans' backfill writes only its marker column.
* pgroll #375: changing the type of a primary key that other tables reference. The foreign
  keys must survive ``complete``, validated and enforcing; a rollback leaves all as before.
* pgroll #989: the columns of version-schema views came in random order; ``SELECT *``
  through either version must list them in the table's order.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from psycopg import errors

from pgroll_dsl.catalog.introspect import introspect
from tests.live_helpers import (
    Connection,
    Live,
    apply,
    columns,
    constraints,
    dsn_of,
    indexes,
    migration,
    one,
    query,
    schemas,
    snapshot,
    triggers_and_functions,
    values,
    version_schema,
)

pytestmark = pytest.mark.postgres

OLD, NEW = version_schema("01_setup"), version_schema("02_change")


@pytest.fixture
def live(pg_conn: Connection, pg_dsn: str) -> Iterator[Live]:
    db = Live(pg_conn, dsn_of(pg_dsn, pg_conn))
    try:
        yield db
    finally:
        db.close()


def assert_clean(live: Live, *functions: str) -> None:
    """After complete: no helper left, every constraint validated, every index valid.

    ``functions`` are the test's own functions in the target schema.
    """
    assert triggers_and_functions(live.conn) == sorted(functions)
    assert OLD not in schemas(live.conn)
    for table in introspect(live.conn).tables:
        assert not [c.name for c in table.columns if c.name.startswith("_pgroll")], table
        assert not [c.name for c in table.constraints if c.name.startswith("_pgroll")], table
        assert not [i.name for i in table.indexes if i.name.startswith("_pgroll")], table
    assert query(live.conn, "SELECT conname FROM pg_constraint WHERE NOT convalidated") == []
    assert query(live.conn, "SELECT indexrelid::regclass FROM pg_index WHERE NOT indisvalid") == []


# ---- pgroll #1028: expressions are rewritten by identifier, not as text ----------------------

SUBPATH = ("CREATE FUNCTION public.subpath(p text) RETURNS text LANGUAGE sql IMMUTABLE "
           "AS $$ SELECT split_part(p, '.', 2) $$")

DOCS = """
create table docs (
  id int primary key,
  path text not null,
  name text,
  username text not null,
  constraint path_has_child check `subpath(path) <> ''`,
  constraint username_differs check `username <> name`
);
create index docs_name_idx on docs (name) where `username <> ''`;
"""

# `path` is rewritten (a copy with a new default), so is `name` (two alter_column operations
# on it, folded into one copy whose `up` composes both).
DOCS_CHANGE = """
alter table docs alter path set default 'root.child';
alter table docs alter name set not null up `coalesce(name, username || '_')`;
alter table docs alter name add constraint name_longer check `length(name) > length(username)`
  up `CASE WHEN length(name) > length(username) THEN name
           ELSE name || repeat('_', length(username)) END`;
"""


def test_1028_expressions_naming_a_column_inside_another_name(live: Live) -> None:
    live.conn.execute(SUBPATH)
    apply(live.runner, DOCS)
    live.conn.execute("insert into docs select i, 'root.c' || i, "
                      "CASE WHEN i % 2 = 0 THEN NULL ELSE 'nm' || i END, 'user' || i "
                      "from generate_series(1, 10) i")
    plan = live.runner.start(migration(DOCS_CHANGE, "02_change"))
    text = "\n".join(s.sql for s in plan.start + plan.complete)
    assert "sub_pgroll" not in text and "user_pgroll" not in text
    old, new = live.client(OLD), live.client(NEW)
    # `up` composed: NULL names become username || '_', then padded past the username.
    want = {i: f"user{i}_" if i % 2 == 0 else f"nm{i}" + "_" * len(f"user{i}")
            for i in range(1, 11)}
    assert values(new, "docs", "name") == want
    old.execute("insert into docs (id, path, username) values (11, 'a.b', 'u11')")
    assert one(new, "select path, name from docs where id = 11") == ("a.b", "u11_")
    new.execute("insert into docs (id, name, username) values (12, 'a long name', 'u12')")
    assert one(old, "select path, name from docs where id = 12") == ("root.child", "a long name")
    with pytest.raises(errors.CheckViolation):  # path_has_child, rebuilt on the copy of path
        new.execute("insert into docs (id, path, name, username) values (13, 'x', 'long', 'u')")
    with pytest.raises(errors.CheckViolation):  # username_differs, on the copy of name
        new.execute("insert into docs (id, name, username) values (13, 'same', 'same')")
    with pytest.raises(errors.CheckViolation):  # name_longer, new on the copy of name
        new.execute("insert into docs (id, name, username) values (13, 'ab', 'abc')")
    assert indexes(live.conn, "docs")["_pgroll_dup_docs_name_idx"][1] is True
    live.runner.complete()

    assert_clean(live, "subpath")
    found = constraints(live.conn, "docs")
    assert found["path_has_child"] == ("CHECK ((subpath(path) <> ''::text))", True)
    assert found["username_differs"] == ("CHECK ((username <> name))", True)
    assert found["name_longer"] == ("CHECK ((length(name) > length(username)))", True)
    definition, valid = indexes(live.conn, "docs")["docs_name_idx"]
    assert valid and definition.endswith("(name) WHERE (username <> ''::text)"), definition
    assert values(new, "docs", "name") == {**want, 11: "u11_", 12: "a long name"}
    assert values(new, "docs", "path") == {
        **{i: f"root.c{i}" for i in range(1, 11)}, 11: "a.b", 12: "root.child"}
    with pytest.raises(errors.CheckViolation):
        new.execute("insert into docs (id, path, name, username) values (13, 'x', 'long', 'u')")
    with pytest.raises(errors.CheckViolation):
        new.execute("insert into docs (id, name, username) values (13, 'same', 'same')")


# ---- pgroll #1035: backfill of a table keyed by GENERATED ALWAYS AS IDENTITY -----------------

EVENTS = """
create table events (
  id bigint primary key generated always as identity,
  title text,
  kind text not null
);
"""

EVENTS_CHANGE = """
alter table events add slug text not null up `kind || '-' || id`;
alter table events alter title set not null up `coalesce(title, 'untitled')`;
"""


def test_1035_backfill_with_a_generated_always_identity_key(live: Live) -> None:
    apply(live.runner, EVENTS)
    live.conn.execute("insert into events (title, kind) select CASE WHEN i % 3 = 0 THEN NULL "
                      "ELSE 'event ' || i END, 'k' || i % 2 from generate_series(1, 20) i")
    live.runner.start(migration(EVENTS_CHANGE, "02_change"))
    old, new = live.client(OLD), live.client(NEW)
    assert query(new, "select id, slug, title from events where id in (1, 3) order by id") == [
        (1, "k1-1", "event 1"), (3, "k1-3", "untitled")]
    assert one(new, "select count(*) from events where slug is null or title is null") == (0,)
    (old_id,) = one(old, "insert into events (kind) values ('k9') returning id")
    assert one(new, "select slug, title from events where id = %s", (old_id,)) == (
        f"k9-{old_id}", "untitled")
    (new_id,) = one(new, "insert into events (title, kind, slug) values ('new', 'k8', 's') "
                         "returning id")
    assert one(old, "select title, kind from events where id = %s", (new_id,)) == ("new", "k8")
    with pytest.raises(errors.GeneratedAlways):
        new.execute("insert into events (id, title, kind, slug) values (999, 'x', 'k', 's')")
    live.runner.complete()

    assert_clean(live)
    assert columns(live.conn, "events")[0] == ("id", "bigint", True)
    assert one(live.conn, "select attidentity::text from pg_attribute where attrelid = "
                          "'public.events'::regclass and attname = 'id'") == ("a",)
    assert {c[0]: c[2] for c in columns(live.conn, "events")} == {
        "id": True, "title": True, "kind": True, "slug": True}
    got = {r[0]: r[1:] for r in query(new, "select id, title, slug from events")}
    assert len(got) == 22
    for i in range(1, 21):
        assert got[i] == ("untitled" if i % 3 == 0 else f"event {i}", f"k{i % 2}-{i}"), i
    assert got[old_id] == ("untitled", f"k9-{old_id}")
    assert got[new_id] == ("new", "s")
    (after_id,) = one(new, "insert into events (title, kind, slug) values ('x', 'k', 's') "
                           "returning id")
    assert after_id > new_id


# ---- pgroll #375: the type of a primary key that other tables reference ----------------------

SHOP = """
create table users (id int primary key, name text);
create table orders (
  id int primary key,
  user_id int constraint orders_user_fk references users (id)
);
"""

SHOP_ROWS = """
insert into users select i, 'user' || i from generate_series(1, 5) i;
insert into orders select i, 1 + i % 5 from generate_series(1, 10) i;
"""

SHOP_CHANGE = "alter table users alter id type bigint up `id::bigint` down `id::int`;"

def shop(live: Live) -> None:
    apply(live.runner, SHOP)
    live.conn.execute(SHOP_ROWS)


def shop_during(old: Connection, new: Connection) -> None:
    old.execute("insert into users values (6, 'from old')")
    assert one(new, "select id, name from users where id = 6") == (6, "from old")
    new.execute("insert into users values (7, 'from new')")
    assert one(old, "select id, name from users where id = 7") == (7, "from new")
    old.execute("insert into orders values (11, 7)")  # references a user the new version wrote
    new.execute("insert into orders values (12, 6)")  # and one the old version wrote
    with pytest.raises(errors.ForeignKeyViolation):
        old.execute("insert into orders values (13, 99)")
    with pytest.raises(errors.ForeignKeyViolation):
        new.execute("insert into orders values (13, 99)")
    with pytest.raises(errors.UniqueViolation):
        new.execute("insert into users values (7, 'twice')")


def test_375_type_of_a_referenced_primary_key_then_complete(live: Live) -> None:
    shop(live)
    live.runner.start(migration(SHOP_CHANGE, "02_change"))
    old, new = live.client(OLD), live.client(NEW)
    shop_during(old, new)
    live.runner.complete()

    assert_clean(live)
    assert {c[0]: c[1:] for c in columns(live.conn, "users")}["id"] == ("bigint", True)
    assert constraints(live.conn, "users")["users_pkey"] == ("PRIMARY KEY (id)", True)
    assert constraints(live.conn, "orders")["orders_user_fk"] == (
        "FOREIGN KEY (user_id) REFERENCES users(id)", True)
    assert values(new, "orders", "user_id") == {
        **{i: 1 + i % 5 for i in range(1, 11)}, 11: 7, 12: 6}
    assert values(new, "users", "name") == {
        **{i: f"user{i}" for i in range(1, 6)}, 6: "from old", 7: "from new"}
    with pytest.raises(errors.ForeignKeyViolation):
        new.execute("insert into orders values (13, 99)")
    with pytest.raises(errors.ForeignKeyViolation):
        new.execute("delete from users where id = 7")
    new.execute("insert into users values (5000000000, 'big')")
    new.execute("insert into orders values (13, 1)")


def test_375_type_of_a_referenced_primary_key_then_rollback(live: Live) -> None:
    shop(live)
    before_schemas, before = schemas(live.conn), snapshot(live.conn)
    live.runner.start(migration(SHOP_CHANGE, "02_change"))
    old, new = live.client(OLD), live.client(NEW)
    assert values(new, "users", "name") == values(old, "users", "name")
    live.runner.rollback()
    assert snapshot(live.conn) == before
    assert schemas(live.conn) == before_schemas
    assert triggers_and_functions(live.conn) == []
    assert constraints(live.conn, "orders")["orders_user_fk"] == (
        "FOREIGN KEY (user_id) REFERENCES users(id)", True)
    # After writes too: the catalog as before, the old version's rows kept.
    before = snapshot(live.conn)
    live.runner.start(migration(SHOP_CHANGE, "02_change"))
    shop_during(old, new)
    live.runner.rollback()
    catalog, rows = snapshot(live.conn)
    assert catalog == before[0]
    assert rows["users"] == sorted([*before[1]["users"], (6, "from old"), (7, "from new")],
                                   key=repr)
    assert rows["orders"] == sorted([*before[1]["orders"], (11, 7), (12, 6)], key=repr)
    with pytest.raises(errors.ForeignKeyViolation):
        old.execute("insert into orders values (13, 99)")


# ---- pgroll #989: views list columns in the table's order ------------------------------------

WIDE = """
create table wide (
  zeta int primary key,
  yak text,
  mid int,
  alpha text,
  omega int,
  beta text,
  kappa int,
  delta text
);
"""

WIDE_CHANGE = """
alter table wide add gamma int;
alter table wide add aardvark text default 'x';
alter table wide drop kappa;
"""

WIDE_ALTER = "alter table wide alter mid type bigint up `mid::bigint` down `mid::int`;"


def select_star(conn: Connection, table: str) -> list[str]:
    """The column names ``SELECT *`` gives through a client."""
    cursor = conn.execute(f"select * from {table}")
    assert cursor.description is not None
    return [c.name for c in cursor.description]


def table_order(admin: Connection, table: str) -> list[str]:
    """The table's columns in attnum order, as the new version names them.

    A column added by the migration in progress is ``_pgroll_new_<name>`` until complete; the
    backfill marker and the first pass's column are left out.
    """
    return [c[0].removeprefix("_pgroll_new_") for c in columns(admin, table)
            if c[0] not in ("_pgroll_needs_backfill", "_pgroll_backfilled_by")]


def test_989_views_keep_the_table_column_order(live: Live) -> None:
    apply(live.runner, WIDE)
    live.conn.execute("insert into wide values (1, 'y', 2, 'a', 3, 'b', 4, 'd')")
    order = ["zeta", "yak", "mid", "alpha", "omega", "beta", "kappa", "delta"]
    assert select_star(live.client(OLD), "wide") == order == table_order(live.conn, "wide")

    live.runner.start(migration(WIDE_CHANGE, "02_change"))
    old, new = live.client(OLD), live.client(NEW)
    assert select_star(old, "wide") == order
    # New columns where the table has them (at its end), the dropped one left out.
    assert table_order(live.conn, "wide") == [*order, "gamma", "aardvark"]
    new_order = ["zeta", "yak", "mid", "alpha", "omega", "beta", "delta", "gamma", "aardvark"]
    assert select_star(new, "wide") == new_order
    assert query(new, "select * from wide") == [(1, "y", 2, "a", 3, "b", "d", None, "x")]
    live.runner.complete()
    assert select_star(new, "wide") == new_order == table_order(live.conn, "wide")

    # A column rewritten through a copy: the new version shows the copy in the column's place,
    # and keeps that order through complete.
    third = version_schema("03_alter")
    live.runner.start(migration(WIDE_ALTER, "03_alter"))
    assert select_star(live.client(third), "wide") == new_order
    assert select_star(new, "wide") == new_order
    live.runner.complete()
    assert select_star(live.client(third), "wide") == new_order
    assert sorted(table_order(live.conn, "wide")) == sorted(new_order)
    assert query(live.client(third), "select * from wide") == [
        (1, "y", 2, "a", 3, "b", "d", None, "x")]
