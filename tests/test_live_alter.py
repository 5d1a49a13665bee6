"""alter_column and the constraint operations on a real PostgreSQL, one change at a time.

Every case starts from the same first migration (``01_setup``, completed, so its version
schema is the OLD version) with rows in its tables, then runs one operation (``02_change``,
the NEW version) through :class:`Runner`:

* after ``start``, a client of the old version and a client of the new version both read
  and write, and each reads what the other wrote, converted by ``up`` and ``down``; a write
  through the new version that breaks the new constraint is refused already;
* after ``complete`` only the new shape remains (no old version schema, no copies, triggers
  or functions, every constraint validated, every index valid), the constraint holds
  (``pg_constraint.convalidated``, ``attnotnull``, a violating write through the new version
  is refused) and the data is intact;
* ``rollback`` instead of ``complete`` leaves the catalog and every row exactly as they were
  before ``start``; after writes, the old version reads after rollback what it read before,
  and the tables hold exactly that.

One case (``varchar(10)`` to ``varchar(20)`` without ``up``/``down``) is planned without a
copy by the optimizer; the same client checks run against it and against the same change
forced through a copy. Two cases change the type of a column that already has a check or a
multi-column unique constraint, which are rebuilt on the copy. Last, a change whose backfill
breaks the new constraint (no ``up`` to fix the existing rows) fails at start, and start is
undone completely.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from psycopg import errors

from pgroll_dsl.backends.runner import CommandError
from pgroll_dsl.catalog.introspect import introspect
from tests.live_helpers import (
    SCHEMA,
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
    table_rows,
    triggers_and_functions,
    values,
    version_schema,
)

OLD, NEW = version_schema("01_setup"), version_schema("02_change")

SETUP = """
create table owners (id int primary key, label text);
create table items (
  id int primary key,
  name varchar(10) not null,
  price text,
  qty int,
  label text not null,
  status text default 'new',
  kind text,
  code text,
  score int,
  owner_id int
);
create table grid (id int primary key, x int, y int, owner_id int);
create table pairs (id int primary key, a int, b int, constraint pairs_ab_key unique (a, b));
create table limits (id int primary key, a int, constraint a_positive check `a > 0`);
create table tasks (id int, title text);
"""

ROWS = """
insert into owners values (1, 'ann'), (2, 'bob');
insert into items
  select i, 'item' || i, (i * 10)::text, CASE WHEN i % 3 = 0 THEN NULL ELSE i END,
         'label' || i, CASE WHEN i % 2 = 0 THEN 'old' ELSE 'new' END, NULL, 'dup', i - 5,
         CASE WHEN i <= 5 THEN 1 + i % 2 ELSE 90 + i END
  from generate_series(1, 10) i;
insert into grid select i, i % 3, 0, CASE WHEN i <= 5 THEN 1 ELSE 99 END
  from generate_series(1, 10) i;
insert into pairs select i, i % 3, i from generate_series(1, 10) i;
insert into limits select i, i from generate_series(1, 10) i;
insert into tasks select i, 'task' || i from generate_series(1, 10) i;
"""

FK_UP = "CASE WHEN EXISTS (SELECT 1 FROM owners o WHERE o.id = owner_id) THEN owner_id END"


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


def attribute(admin: Connection, table: str, column: str) -> tuple[str, bool, Any, Any]:
    """(type, NOT NULL, default, comment) of a column of the target schema."""
    return one(admin,
               "SELECT format_type(a.atttypid, a.atttypmod), a.attnotnull, "
               "pg_get_expr(d.adbin, d.adrelid), col_description(a.attrelid, a.attnum) "
               "FROM pg_attribute a LEFT JOIN pg_attrdef d "
               "ON d.adrelid = a.attrelid AND d.adnum = a.attnum "
               "WHERE a.attrelid = to_regclass(%s) AND a.attname = %s",
               (f"{SCHEMA}.{table}", column))


def add_item(conn: Connection, row_id: int, **fields: Any) -> None:
    """Insert an item through a client: the NOT NULL columns filled, ``fields`` on top."""
    row = {"id": row_id, "name": f"n{row_id}", "label": f"l{row_id}", **fields}
    names = ", ".join(row)
    marks = ", ".join(["%s"] * len(row))
    conn.execute(f"insert into items ({names}) values ({marks})",
                 tuple(row.values()))


# ---- the cases -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Case:
    change: str  # DSL of 02_change
    during: Callable[[Connection, Connection], None]  # (old client, new client)
    after: Callable[[Connection, Connection], None]  # (new client, admin) after complete


def type_during(old: Connection, new: Connection) -> None:
    assert values(new, "items", "price") == {i: i * 10 for i in range(1, 11)}  # up: backfilled
    assert columns(new, "items", NEW)[2] == ("price", "integer", False)
    add_item(old, 11, price="42")
    assert one(new, "select price from items where id = 11") == (42,)
    add_item(new, 12, price=7)
    assert one(old, "select price from items where id = 12") == ("7",)  # down
    new.execute("update items set price = 99 where id = 2")
    assert one(old, "select price from items where id = 2") == ("99",)
    old.execute("update items set price = '123' where id = 3")
    assert one(new, "select price from items where id = 3") == (123,)
    with pytest.raises(errors.InvalidTextRepresentation):
        new.execute("update items set price = 'lots' where id = 1")


def type_after(new: Connection, admin: Connection) -> None:
    assert attribute(admin, "items", "price")[:2] == ("integer", False)
    assert values(new, "items", "price") == {
        **{i: i * 10 for i in range(1, 11)}, 2: 99, 3: 123, 11: 42, 12: 7}
    with pytest.raises(errors.InvalidTextRepresentation):
        new.execute("update items set price = 'lots' where id = 1")


def set_not_null_during(old: Connection, new: Connection) -> None:
    assert values(new, "items", "qty") == {i: 0 if i % 3 == 0 else i for i in range(1, 11)}
    assert one(old, "select qty from items where id = 3") == (None,)  # the old column as it was
    add_item(old, 11)  # no qty: NULL for the old version, `up` for the new one
    assert one(old, "select qty from items where id = 11") == (None,)
    assert one(new, "select qty from items where id = 11") == (0,)
    old.execute("update items set qty = NULL where id = 1")
    assert one(new, "select qty from items where id = 1") == (0,)
    add_item(new, 12, qty=5)
    assert one(old, "select qty from items where id = 12") == (5,)
    with pytest.raises((errors.CheckViolation, errors.NotNullViolation)):
        add_item(new, 13, qty=None)
    with pytest.raises((errors.CheckViolation, errors.NotNullViolation)):
        new.execute("update items set qty = NULL where id = 2")


def set_not_null_after(new: Connection, admin: Connection) -> None:
    assert attribute(admin, "items", "qty")[:2] == ("integer", True)
    assert values(new, "items", "qty") == {
        **{i: 0 if i % 3 == 0 else i for i in range(1, 11)}, 1: 0, 11: 0, 12: 5}
    with pytest.raises(errors.NotNullViolation):
        add_item(new, 13, qty=None)


def drop_not_null_during(old: Connection, new: Connection) -> None:
    add_item(new, 11, label=None)
    assert one(new, "select label from items where id = 11") == (None,)
    assert one(old, "select label from items where id = 11") == ("none",)  # down
    new.execute("update items set label = NULL where id = 1")
    assert one(old, "select label from items where id = 1") == ("none",)
    add_item(old, 12, label="x")
    assert one(new, "select label from items where id = 12") == ("x",)
    with pytest.raises(errors.NotNullViolation):  # the old version keeps its NOT NULL
        add_item(old, 13, label=None)


def drop_not_null_after(new: Connection, admin: Connection) -> None:
    assert attribute(admin, "items", "label")[:2] == ("text", False)
    assert values(new, "items", "label") == {
        **{i: f"label{i}" for i in range(1, 11)}, 1: None, 11: None, 12: "x"}
    add_item(new, 13, label=None)
    assert one(new, "select label from items where id = 13") == (None,)


def set_default_during(old: Connection, new: Connection) -> None:
    add_item(new, 11)  # no kind: the new default, passed to the old column by `down`
    assert one(new, "select kind from items where id = 11") == ("plain",)
    assert one(old, "select kind from items where id = 11") == ("plain",)
    add_item(old, 12)  # the old version has no default: NULL, passed on by `up`
    assert one(old, "select kind from items where id = 12") == (None,)
    assert one(new, "select kind from items where id = 12") == (None,)
    new.execute("update items set kind = 'special' where id = 1")
    assert one(old, "select kind from items where id = 1") == ("special",)
    old.execute("update items set kind = 'odd' where id = 2")
    assert one(new, "select kind from items where id = 2") == ("odd",)


def set_default_after(new: Connection, admin: Connection) -> None:
    assert attribute(admin, "items", "kind")[:3] == ("text", False, "'plain'::text")
    add_item(new, 13)
    assert values(new, "items", "kind") == {
        **{i: None for i in range(1, 11)}, 1: "special", 2: "odd", 11: "plain", 12: None,
        13: "plain"}


def drop_default_during(old: Connection, new: Connection) -> None:
    add_item(old, 11)  # the old version keeps its default
    assert one(old, "select status from items where id = 11") == ("new",)
    assert one(new, "select status from items where id = 11") == ("new",)
    add_item(new, 12)  # no default any more: NULL, for the old version too
    assert one(new, "select status from items where id = 12") == (None,)
    assert one(old, "select status from items where id = 12") == (None,)
    new.execute("update items set status = 'done' where id = 1")
    assert one(old, "select status from items where id = 1") == ("done",)


def drop_default_after(new: Connection, admin: Connection) -> None:
    assert attribute(admin, "items", "status")[:3] == ("text", False, None)
    add_item(new, 13)
    assert values(new, "items", "status") == {
        **{i: "old" if i % 2 == 0 else "new" for i in range(1, 11)}, 1: "done", 11: "new",
        12: None, 13: None}


def comment_during(old: Connection, new: Connection) -> None:
    add_item(old, 11, name="from old")
    assert one(new, "select name from items where id = 11") == ("from old",)
    add_item(new, 12, name="from new")
    assert one(old, "select name from items where id = 12") == ("from new",)
    new.execute("update items set name = 'renamed' where id = 1")
    assert one(old, "select name from items where id = 1") == ("renamed",)


def comment_after(new: Connection, admin: Connection) -> None:
    assert attribute(admin, "items", "name") == ("character varying(10)", True, None,
                                                 "the item name")
    assert values(new, "items", "name") == {
        **{i: f"item{i}" for i in range(1, 11)}, 1: "renamed", 11: "from old", 12: "from new"}


def unique_during(old: Connection, new: Connection) -> None:
    assert values(new, "items", "code") == {i: f"dup-{i}" for i in range(1, 11)}  # up
    assert values(old, "items", "code") == {i: "dup" for i in range(1, 11)}
    assert indexes(old, "items")["items_code_unique"][1] is True  # built concurrently, valid
    add_item(old, 11, code="dup")
    assert one(new, "select code from items where id = 11") == ("dup-11",)
    add_item(new, 12, code="A")
    assert one(old, "select code from items where id = 12") == ("A",)
    with pytest.raises(errors.UniqueViolation):
        add_item(new, 13, code="A")
    with pytest.raises(errors.UniqueViolation):
        new.execute("update items set code = 'A' where id = 2")
    add_item(old, 14, code="A")  # `up` makes it unique
    assert one(new, "select code from items where id = 14") == ("A-14",)


def unique_after(new: Connection, admin: Connection) -> None:
    assert constraints(admin, "items")["items_code_unique"] == ("UNIQUE (code)", True)
    assert values(new, "items", "code") == {
        **{i: f"dup-{i}" for i in range(1, 12)}, 12: "A", 14: "A-14"}
    with pytest.raises(errors.UniqueViolation):
        add_item(new, 15, code="A")


def check_during(old: Connection, new: Connection) -> None:
    assert values(new, "items", "score") == {i: max(i - 5, 1) for i in range(1, 11)}  # up
    add_item(old, 11, score=-7)
    assert one(old, "select score from items where id = 11") == (-7,)
    assert one(new, "select score from items where id = 11") == (1,)
    with pytest.raises(errors.CheckViolation):
        add_item(new, 12, score=0)
    with pytest.raises(errors.CheckViolation):
        new.execute("update items set score = -1 where id = 10")
    add_item(new, 12, score=8)
    assert one(old, "select score from items where id = 12") == (8,)


def check_after(new: Connection, admin: Connection) -> None:
    assert constraints(admin, "items")["items_score_positive"] == ("CHECK ((score > 0))", True)
    assert values(new, "items", "score") == {
        **{i: max(i - 5, 1) for i in range(1, 11)}, 11: 1, 12: 8}
    with pytest.raises(errors.CheckViolation):
        add_item(new, 13, score=0)


def references_during(old: Connection, new: Connection) -> None:
    assert values(new, "items", "owner_id") == {i: 1 + i % 2 if i <= 5 else None
                                               for i in range(1, 11)}  # up
    add_item(old, 11, owner_id=99)
    assert one(old, "select owner_id from items where id = 11") == (99,)
    assert one(new, "select owner_id from items where id = 11") == (None,)
    with pytest.raises(errors.ForeignKeyViolation):
        add_item(new, 12, owner_id=99)
    add_item(new, 12, owner_id=2)
    assert one(old, "select owner_id from items where id = 12") == (2,)
    old.execute("insert into owners values (3, 'cy')")
    new.execute("update items set owner_id = 3 where id = 1")
    assert one(old, "select owner_id from items where id = 1") == (3,)


def references_after(new: Connection, admin: Connection) -> None:
    assert constraints(admin, "items")["items_owner_fk"] == (
        "FOREIGN KEY (owner_id) REFERENCES owners(id)", True)
    assert values(new, "items", "owner_id") == {
        **{i: 1 + i % 2 if i <= 5 else None for i in range(1, 11)}, 1: 3, 11: None, 12: 2}
    with pytest.raises(errors.ForeignKeyViolation):
        add_item(new, 13, owner_id=99)
    with pytest.raises(errors.ForeignKeyViolation):
        new.execute("delete from owners where id = 2")


def references_options_during(old: Connection, new: Connection) -> None:
    references_during(old, new)
    with new.transaction():  # initially deferred: checked at commit
        new.execute("update items set owner_id = 4 where id = 2")
        new.execute("insert into owners values (4, 'di')")
    new.execute("delete from owners where id = 4")  # on delete cascade, for the new column
    assert query(new, "select id from items where id = 2") == []
    assert query(old, "select id from items where id = 2") == []


def references_options_after(new: Connection, admin: Connection) -> None:
    assert constraints(admin, "items")["items_owner_fk"] == (
        "FOREIGN KEY (owner_id) REFERENCES owners(id) ON DELETE CASCADE "
        "DEFERRABLE INITIALLY DEFERRED", True)
    new.execute("delete from owners where id = 3")
    assert values(new, "items", "owner_id") == {
        **{i: 1 + i % 2 if i <= 5 else None for i in range(3, 11)}, 11: None, 12: 2}
    with pytest.raises(errors.ForeignKeyViolation):
        add_item(new, 13, owner_id=99)


def rebuilt_unique_during(old: Connection, new: Connection) -> None:
    assert columns(new, "pairs", NEW)[2] == ("b", "bigint", False)
    assert indexes(old, "pairs")["_pgroll_dup_pairs_ab_key"][1] is True
    new.execute("insert into pairs values (11, 1, 40)")
    assert one(old, "select b from pairs where id = 11") == (40,)
    with pytest.raises(errors.UniqueViolation):  # the unique (a, b) rebuilt on the copy
        new.execute("insert into pairs values (12, 1, 1)")
    with pytest.raises(errors.UniqueViolation):
        old.execute("insert into pairs values (12, 1, 1)")
    old.execute("insert into pairs values (12, 1, 12)")
    assert one(new, "select b from pairs where id = 12") == (12,)


def rebuilt_unique_after(new: Connection, admin: Connection) -> None:
    assert constraints(admin, "pairs")["pairs_ab_key"] == ("UNIQUE (a, b)", True)
    assert attribute(admin, "pairs", "b")[:2] == ("bigint", False)
    assert values(new, "pairs", "b") == {i: i for i in range(1, 13)} | {11: 40}
    with pytest.raises(errors.UniqueViolation):
        new.execute("insert into pairs values (13, 0, 3)")
    new.execute("insert into pairs values (13, 0, 5000000000)")


def rebuilt_check_during(old: Connection, new: Connection) -> None:
    assert "_pgroll_dup_a_positive" in constraints(old, "limits")
    for conn in (old, new):
        with pytest.raises(errors.CheckViolation):
            conn.execute("insert into limits values (11, 0)")
    new.execute("insert into limits values (11, 3)")
    assert one(old, "select a from limits where id = 11") == (3,)
    old.execute("update limits set a = 44 where id = 4")
    assert one(new, "select a from limits where id = 4") == (44,)


def rebuilt_check_after(new: Connection, admin: Connection) -> None:
    assert constraints(admin, "limits")["a_positive"] == ("CHECK ((a > 0))", True)
    assert attribute(admin, "limits", "a")[:2] == ("bigint", False)
    assert values(new, "limits", "a") == {i: i for i in range(1, 12)} | {4: 44, 11: 3}
    with pytest.raises(errors.CheckViolation):
        new.execute("insert into limits values (12, -1)")


def combined_during(old: Connection, new: Connection) -> None:
    assert columns(new, "items", NEW)[3] == ("qty", "bigint", False)
    assert values(new, "items", "qty") == {i: i * 100 if i % 3 == 0 else i
                                           for i in range(1, 11)}  # up
    add_item(old, 11)  # qty NULL for the old version
    assert one(new, "select qty from items where id = 11") == (1100,)
    add_item(new, 12)  # the new default
    assert one(new, "select qty from items where id = 12") == (0,)
    assert one(old, "select qty from items where id = 12") == (0,)
    add_item(new, 13, qty=77)
    assert one(old, "select qty from items where id = 13") == (77,)  # down
    with pytest.raises(errors.CheckViolation):
        add_item(new, 14, qty=-1)
    with pytest.raises((errors.CheckViolation, errors.NotNullViolation)):
        add_item(new, 14, qty=None)
    with pytest.raises(errors.UniqueViolation):
        add_item(new, 14, qty=300)
    old.execute("update items set qty = 44 where id = 4")
    assert one(new, "select qty from items where id = 4") == (44,)


def combined_after(new: Connection, admin: Connection) -> None:
    assert attribute(admin, "items", "qty") == ("bigint", True, "0", "how many")
    cons = constraints(admin, "items")
    assert cons["items_qty_nonneg"] == ("CHECK ((qty >= 0))", True)
    assert cons["items_qty_unique"] == ("UNIQUE (qty)", True)
    assert values(new, "items", "qty") == {
        **{i: i * 100 if i % 3 == 0 else i for i in range(1, 11)}, 4: 44, 11: 1100, 12: 0,
        13: 77}
    with pytest.raises(errors.CheckViolation):
        add_item(new, 14, qty=-1)
    with pytest.raises(errors.NotNullViolation):
        add_item(new, 14, qty=None)
    with pytest.raises(errors.UniqueViolation):
        add_item(new, 14, qty=300)
    add_item(new, 14, qty=5_000_000_000)  # bigint now
    assert one(new, "select qty from items where id = 14") == (5_000_000_000,)


def widen_during(old: Connection, new: Connection) -> None:
    add_item(old, 11, name="from old")
    assert one(new, "select name from items where id = 11") == ("from old",)
    add_item(new, 12, name="from new")
    assert one(old, "select name from items where id = 12") == ("from new",)
    new.execute("update items set name = 'renamed' where id = 1")
    assert one(old, "select name from items where id = 1") == ("renamed",)
    old.execute("update items set name = 'again' where id = 2")
    assert one(new, "select name from items where id = 2") == ("again",)
    with pytest.raises(errors.StringDataRightTruncation):  # the old version's type
        old.execute("update items set name = 'eleven chars' where id = 3")
    assert values(new, "items", "name") == values(old, "items", "name")


def widen_after(new: Connection, admin: Connection) -> None:
    assert attribute(admin, "items", "name")[:2] == ("character varying(20)", True)
    assert values(new, "items", "name") == {
        **{i: f"item{i}" for i in range(1, 11)}, 1: "renamed", 2: "again", 11: "from old",
        12: "from new"}
    new.execute("update items set name = 'fifteen chars!!' where id = 3")
    assert one(new, "select name from items where id = 3") == ("fifteen chars!!",)
    with pytest.raises(errors.StringDataRightTruncation):
        new.execute("update items set name = 'twenty-one characters' where id = 3")


def create_unique_during(old: Connection, new: Connection) -> None:
    assert values(new, "grid", "y") == {i: i for i in range(1, 11)}  # up
    assert values(old, "grid", "y") == {i: 0 for i in range(1, 11)}
    old.execute("insert into grid (id, x, y) values (11, 1, 0)")
    assert one(new, "select x, y from grid where id = 11") == (1, 11)
    new.execute("insert into grid (id, x, y) values (12, 1, 5)")
    assert one(old, "select x, y from grid where id = 12") == (1, 5)
    with pytest.raises(errors.UniqueViolation):
        new.execute("insert into grid (id, x, y) values (13, 1, 5)")
    with pytest.raises(errors.UniqueViolation):
        new.execute("update grid set x = 1, y = 5 where id = 2")
    new.execute("update grid set x = 0 where id = 12")
    assert one(old, "select x, y from grid where id = 12") == (0, 5)


def create_unique_after(new: Connection, admin: Connection) -> None:
    assert constraints(admin, "grid")["grid_xy_key"] == ("UNIQUE (x, y)", True)
    assert query(new, "select id, x, y from grid where id > 10 order by id") == [
        (11, 1, 11), (12, 0, 5)]
    assert values(new, "grid", "y") == {**{i: i for i in range(1, 12)}, 12: 5}
    with pytest.raises(errors.UniqueViolation):
        new.execute("insert into grid (id, x, y) values (13, 0, 5)")
    new.execute("insert into grid (id, x, y) values (13, 1, 5)")


def create_check_during(old: Connection, new: Connection) -> None:
    assert values(new, "grid", "y") == {i: i % 3 + 1 for i in range(1, 11)}  # up
    old.execute("insert into grid (id, x, y) values (11, 5, 1)")
    assert one(old, "select y from grid where id = 11") == (1,)
    assert one(new, "select y from grid where id = 11") == (6,)
    with pytest.raises(errors.CheckViolation):
        new.execute("insert into grid (id, x, y) values (12, 5, 1)")
    new.execute("insert into grid (id, x, y) values (12, 1, 9)")
    assert one(old, "select x, y from grid where id = 12") == (1, 9)
    with pytest.raises(errors.CheckViolation):
        new.execute("update grid set x = 50 where id = 12")


def create_check_after(new: Connection, admin: Connection) -> None:
    assert constraints(admin, "grid")["grid_x_below_y"] == ("CHECK ((x < y))", True)
    assert values(new, "grid", "y") == {**{i: i % 3 + 1 for i in range(1, 11)}, 11: 6, 12: 9}
    with pytest.raises(errors.CheckViolation):
        new.execute("insert into grid (id, x, y) values (13, 5, 1)")


def create_fk_during(old: Connection, new: Connection) -> None:
    assert values(new, "grid", "owner_id") == {i: 1 if i <= 5 else None for i in range(1, 11)}
    old.execute("insert into grid (id, x, y, owner_id) values (11, 0, 0, 99)")
    assert one(old, "select owner_id from grid where id = 11") == (99,)
    assert one(new, "select owner_id from grid where id = 11") == (None,)
    with pytest.raises(errors.ForeignKeyViolation):
        new.execute("insert into grid (id, x, y, owner_id) values (12, 0, 0, 99)")
    new.execute("insert into grid (id, x, y, owner_id) values (12, 0, 0, 2)")
    assert one(old, "select owner_id from grid where id = 12") == (2,)


def create_fk_after(new: Connection, admin: Connection) -> None:
    assert constraints(admin, "grid")["grid_owner_fk"] == (
        "FOREIGN KEY (owner_id) REFERENCES owners(id)", True)
    assert values(new, "grid", "owner_id") == {
        **{i: 1 if i <= 5 else None for i in range(1, 11)}, 11: None, 12: 2}
    with pytest.raises(errors.ForeignKeyViolation):
        new.execute("insert into grid (id, x, y, owner_id) values (13, 0, 0, 99)")


def create_pk_during(old: Connection, new: Connection) -> None:
    old.execute("insert into tasks values (11, 'from old')")
    assert one(new, "select title from tasks where id = 11") == ("from old",)
    new.execute("insert into tasks values (12, 'from new')")
    assert one(old, "select title from tasks where id = 12") == ("from new",)
    with pytest.raises(errors.UniqueViolation):
        new.execute("insert into tasks values (12, 'again')")
    with pytest.raises((errors.CheckViolation, errors.NotNullViolation)):
        new.execute("insert into tasks values (NULL, 'no id')")
    new.execute("update tasks set title = 'first' where id = 1")
    assert one(old, "select title from tasks where id = 1") == ("first",)


def create_pk_after(new: Connection, admin: Connection) -> None:
    assert constraints(admin, "tasks")["tasks_pkey"] == ("PRIMARY KEY (id)", True)
    assert attribute(admin, "tasks", "id")[:2] == ("integer", True)
    assert values(new, "tasks", "title") == {
        **{i: f"task{i}" for i in range(1, 11)}, 1: "first", 11: "from old", 12: "from new"}
    with pytest.raises(errors.UniqueViolation):
        new.execute("insert into tasks values (12, 'again')")
    with pytest.raises(errors.NotNullViolation):
        new.execute("insert into tasks values (NULL, 'no id')")


def drop_constraint_during(old: Connection, new: Connection) -> None:
    new.execute("insert into limits values (11, -5)")
    assert one(new, "select a from limits where id = 11") == (-5,)
    assert one(old, "select a from limits where id = 11") == (1,)  # down
    with pytest.raises(errors.CheckViolation):  # the old version keeps the constraint
        old.execute("insert into limits values (12, -1)")
    old.execute("insert into limits values (12, 7)")
    assert one(new, "select a from limits where id = 12") == (7,)
    new.execute("update limits set a = 0 where id = 1")
    assert one(old, "select a from limits where id = 1") == (1,)


def drop_constraint_after(new: Connection, admin: Connection) -> None:
    assert "a_positive" not in constraints(admin, "limits")
    assert values(new, "limits", "a") == {**{i: i for i in range(1, 11)}, 1: 0, 11: -5, 12: 7}
    new.execute("insert into limits values (13, -3)")


def drop_multicolumn_during(old: Connection, new: Connection) -> None:
    new.execute("insert into pairs values (11, 1, 1)")  # (1, 1) exists: no constraint here
    assert one(new, "select a, b from pairs where id = 11") == (1, 1)
    assert one(old, "select a, b from pairs where id = 11") == (1, 11001)  # down
    new.execute("insert into pairs values (12, 1, 1)")
    assert one(old, "select a, b from pairs where id = 12") == (1, 12001)
    old.execute("insert into pairs values (13, 0, 50)")
    assert one(new, "select a, b from pairs where id = 13") == (0, 50)
    with pytest.raises(errors.UniqueViolation):  # the old version keeps the constraint
        old.execute("insert into pairs values (14, 0, 50)")


def drop_multicolumn_after(new: Connection, admin: Connection) -> None:
    assert "pairs_ab_key" not in constraints(admin, "pairs")
    assert not [i for i in indexes(admin, "pairs") if i != "pairs_pkey"]
    assert query(new, "select id, a, b from pairs where id > 10 order by id") == [
        (11, 1, 1), (12, 1, 1), (13, 0, 50)]
    assert values(new, "pairs", "b") == {**{i: i for i in range(1, 11)}, 11: 1, 12: 1, 13: 50}
    new.execute("insert into pairs values (14, 0, 50)")


def rename_constraint_during(old: Connection, new: Connection) -> None:
    assert "a_positive" in constraints(old, "limits")
    for conn in (old, new):
        with pytest.raises(errors.CheckViolation):
            conn.execute("insert into limits values (11, 0)")
    new.execute("insert into limits values (11, 3)")
    assert one(old, "select a from limits where id = 11") == (3,)
    old.execute("insert into limits values (12, 4)")
    assert one(new, "select a from limits where id = 12") == (4,)


def rename_constraint_after(new: Connection, admin: Connection) -> None:
    found = constraints(admin, "limits")
    assert "a_positive" not in found
    assert found["a_is_positive"] == ("CHECK ((a > 0))", True)
    assert values(new, "limits", "a") == {i: i for i in range(1, 13)} | {11: 3, 12: 4}
    with pytest.raises(errors.CheckViolation):
        new.execute("insert into limits values (13, 0)")


def replica_identity(admin: Connection, table: str) -> tuple[str, Any]:
    """relreplident of a table and the replica-identity index, if any."""
    return one(admin,
               "SELECT c.relreplident::text, (SELECT x.relname::text FROM pg_index i "
               "JOIN pg_class x ON x.oid = i.indexrelid "
               "WHERE i.indrelid = c.oid AND i.indisreplident) "
               "FROM pg_class c WHERE c.oid = to_regclass(%s)",
               (f"{SCHEMA}.{table}",))


def grid_exchange(old: Connection, new: Connection) -> None:
    old.execute("insert into grid values (11, 1, 2, 1)")
    assert one(new, "select x, y, owner_id from grid where id = 11") == (1, 2, 1)
    new.execute("update grid set y = 7 where id = 11")
    assert one(old, "select y from grid where id = 11") == (7,)
    new.execute("delete from grid where id = 1")
    assert one(old, "select count(*) from grid") == (10,)


def identity_full_during(old: Connection, new: Connection) -> None:
    assert replica_identity(old, "grid") == ("f", None)  # at once, for both versions
    grid_exchange(old, new)


def identity_full_after(new: Connection, admin: Connection) -> None:
    assert replica_identity(admin, "grid") == ("f", None)
    assert query(new, "select * from grid where id in (1, 2, 11) order by id") == [
        (2, 2, 0, 1), (11, 1, 7, 1)]


def identity_index_during(old: Connection, new: Connection) -> None:
    assert replica_identity(old, "grid") == ("i", "grid_pkey")
    grid_exchange(old, new)


def identity_index_after(new: Connection, admin: Connection) -> None:
    assert replica_identity(admin, "grid") == ("i", "grid_pkey")
    assert one(new, "select count(*) from grid") == (10,)


CASES = {
    "type": Case("alter table items alter price type int up `price::int` down `price::text`;",
                 type_during, type_after),
    "set_not_null": Case("alter table items alter qty set not null up `coalesce(qty, 0)`;",
                         set_not_null_during, set_not_null_after),
    "drop_not_null": Case("alter table items alter label drop not null "
                          "down `coalesce(label, 'none')`;",
                          drop_not_null_during, drop_not_null_after),
    "set_default": Case("alter table items alter kind set default 'plain';",
                        set_default_during, set_default_after),
    "drop_default": Case("alter table items alter status drop default;",
                         drop_default_during, drop_default_after),
    "comment": Case("alter table items alter name comment 'the item name';",
                    comment_during, comment_after),
    "unique": Case("alter table items alter code add constraint items_code_unique unique "
                   "up `code || '-' || id`;", unique_during, unique_after),
    "check": Case("alter table items alter score add constraint items_score_positive "
                  "check `score > 0` up `greatest(score, 1)`;", check_during, check_after),
    "references": Case("alter table items alter owner_id add constraint items_owner_fk "
                       f"references owners (id) up `{FK_UP}`;",
                       references_during, references_after),
    "references_with_options": Case(
        "alter table items alter owner_id add constraint items_owner_fk references owners (id) "
        f"on delete cascade deferrable initially deferred up `{FK_UP}`;",
        references_options_during, references_options_after),
    "type_keeps_a_multicolumn_unique": Case(
        "alter table pairs alter b type bigint up `b::bigint` down `b::int`;",
        rebuilt_unique_during, rebuilt_unique_after),
    "type_keeps_a_check": Case(
        "alter table limits alter a type bigint up `a::bigint` down `a::int`;",
        rebuilt_check_during, rebuilt_check_after),
    "combined": Case("alter table items alter qty type bigint "
                     "add constraint items_qty_nonneg check `qty >= 0` set not null "
                     "add constraint items_qty_unique unique set default 0 comment 'how many' "
                     "up `coalesce(qty, id * 100)` down `qty::int`;",
                     combined_during, combined_after),
    "type_widen_optimized": Case("alter table items alter name type varchar(20);",
                                 widen_during, widen_after),
    "type_widen_copied": Case("alter table items alter name type varchar(20) "
                              "up `name::varchar(20)`;", widen_during, widen_after),
    "create_constraint_unique": Case("alter table grid add constraint grid_xy_key "
                                     "unique (x, y) up (y `id`);",
                                     create_unique_during, create_unique_after),
    "create_constraint_check": Case("alter table grid add constraint grid_x_below_y "
                                    "check `x < y` columns (x, y) up (y `greatest(y, x + 1)`);",
                                    create_check_during, create_check_after),
    "create_constraint_foreign_key": Case(
        "alter table grid add constraint grid_owner_fk foreign key (owner_id) "
        f"references owners (id) up (owner_id `{FK_UP}`);", create_fk_during, create_fk_after),
    "create_constraint_primary_key": Case("alter table tasks add constraint tasks_pkey "
                                          "primary key (id);", create_pk_during, create_pk_after),
    "drop_constraint": Case("alter table limits drop constraint a_positive up a "
                            "down `CASE WHEN a <= 0 THEN 1 ELSE a END`;",
                            drop_constraint_during, drop_constraint_after),
    "drop_multicolumn_constraint": Case("alter table pairs drop constraint pairs_ab_key "
                                        "down (a, b `b + id * 1000`);",
                                        drop_multicolumn_during, drop_multicolumn_after),
    "rename_constraint": Case("alter table limits rename constraint a_positive "
                              "to a_is_positive;",
                              rename_constraint_during, rename_constraint_after),
    "set_replica_identity_full": Case("alter table grid replica identity full;",
                                      identity_full_during, identity_full_after),
    "set_replica_identity_index": Case("alter table grid replica identity using index "
                                       "grid_pkey;", identity_index_during, identity_index_after),
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
        assert not [c.name for c in table.constraints if c.name.startswith("_pgroll")], table
        assert not [i.name for i in table.indexes if i.name.startswith("_pgroll")], table
        assert all(c.validated for c in table.constraints), table
        assert all(i.valid for i in table.indexes), table
        view = [c[0] for c in columns(live.conn, table.name, NEW)]
        assert sorted(view) == sorted(c.name for c in table.columns), table.name
        query(new, f'select * from "{table.name}"')
    unvalidated = query(live.conn, "SELECT conname FROM pg_constraint WHERE NOT convalidated")
    assert unvalidated == []
    assert live.runner.status()["status"] == "Complete"
    assert live.runner.latest_schema() == NEW


@pytest.mark.parametrize("name", case_params())
def test_start_then_complete(name: str, live: Live) -> None:
    case = CASES[name]
    plan = live.runner.start(migration(case.change, "02_change"))
    assert live.runner.status()["status"] == "In progress"
    old, new = live.client(OLD), live.client(NEW)
    shown = read_columns(live.conn, NEW)
    case.during(old, new)
    live.runner.complete()
    assert_only_new_shape(live, new)
    # The new version's columns, in the order it showed them from start on: complete does
    # not change what a client of the new version sees.
    assert read_columns(live.conn, NEW) == shown
    case.after(new, live.conn)
    assert live.runner.executor.ran == [s.sql for s in (*plan.start, *plan.complete)]


def read_columns(admin: Connection, version: str) -> dict[str, list[str]]:
    """The column names of every view of a version schema, in order."""
    views = query(admin, "select viewname from pg_views where schemaname = %s", (version,))
    return {view: [c[0] for c in columns(admin, view, version)] for (view,) in views}


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
    assert {k: v for k, v in read_versions(old, old).items()} == {
        k: v for k, v in seen.items() if k.startswith(OLD)}


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
    assert read_versions(old, old) == seen
    # The tables hold exactly what the old version saw: no copy, no marker left behind.
    for table in before.tables:
        assert table_rows(live.conn, table.physical) == seen[f"{OLD}.{table.name}"]
    old.execute("insert into owners values (1000, 'after rollback')")


def test_the_widening_is_optimized_and_the_forced_copy_is_not(live: Live) -> None:
    optimized = live.runner.plan(migration(CASES["type_widen_optimized"].change, "02_change"))
    assert any(note.startswith("optimized:") for note in optimized.notes), optimized.notes
    assert not [s for s in optimized.start if "_pgroll_new_name" in s.sql]
    copied = live.runner.plan(migration(CASES["type_widen_copied"].change, "02_change"))
    assert not [n for n in copied.notes if n.startswith("optimized:")], copied.notes
    assert [s for s in copied.start if "_pgroll_new_name" in s.sql]
    # Live: the optimized start adds no column to the table.
    live.runner.start(migration(CASES["type_widen_optimized"].change, "02_change"))
    assert [c[0] for c in columns(live.conn, "items")] == [
        "id", "name", "price", "qty", "label", "status", "kind", "code", "score", "owner_id"]
    live.runner.rollback()


@pytest.mark.parametrize("change, error", [
    # The message names the column, not the helper check (no internal name reaches a user).
    pytest.param("alter table items alter qty set not null;", 'the NOT NULL of "qty"',
                 id="set_not_null_without_up"),
    pytest.param("alter table items alter code add constraint items_code_unique unique;",
                 "items_code_unique", id="unique_without_up"),
    pytest.param("alter table items alter score add constraint items_score_positive "
                 "check `score > 0`;", "items_score_positive", id="check_without_up"),
    pytest.param("alter table items alter owner_id add constraint items_owner_fk "
                 "references owners (id);", "items_owner_fk", id="references_without_up"),
    pytest.param("alter table items alter price type int up `price::int * 1000000000`;",
                 "integer out of range", id="type_up_overflows"),
    pytest.param("alter table grid add constraint grid_xy_key unique (x, y);", "grid_xy_key",
                 id="create_constraint_unique_without_up"),
])
def test_a_backfill_that_breaks_the_new_constraint_undoes_start(
    change: str, error: str, live: Live
) -> None:
    before_schemas, before = schemas(live.conn), snapshot(live.conn)
    with pytest.raises(CommandError, match=f"start failed, changes rolled back: .*{error}"):
        live.runner.start(migration(change, "02_change"))
    assert snapshot(live.conn) == before
    assert schemas(live.conn) == before_schemas
    assert triggers_and_functions(live.conn) == []
    assert live.runner.status() == {"schema": "public", "version": "01_setup",
                                    "status": "Complete"}
    old = live.client(OLD)
    add_item(old, 11, qty=None, code="dup", score=-1, owner_id=99, price="x")
    assert one(old, "select qty, code, score, owner_id, price from items where id = 11") == (
        None, "dup", -1, 99, "x")
