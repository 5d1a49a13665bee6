"""Names the migration derives never collide, never exceed 63 bytes, never end a quoted body."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from pgroll_dsl.catalog.derived import (
    MAX_NAME_BYTES,
    MAX_TRIGGER_ORDER,
    NEW_PREFIX,
    derived,
    down_trigger_name,
    late_trigger_name,
    new_name,
    trigger_name,
    written_trigger_name,
)
from pgroll_dsl.sql.quoting import dollar_quote
from tests.live_helpers import Connection, client, dsn_of, make_runner, migration, query

LONG_A = "a" * 55 + "_first"  # 61 bytes; the two share their first 55 bytes
LONG_B = "a" * 55 + "_other"


@given(st.text(min_size=1, max_size=80), st.text(min_size=1, max_size=80))
def test_derived_names_fit_and_differ(first: str, second: str) -> None:
    one, two = derived(NEW_PREFIX, first), derived(NEW_PREFIX, second)
    assert len(one.encode()) <= MAX_NAME_BYTES
    assert (one == two) == (first == second)


_ORDERS = st.integers(min_value=0, max_value=MAX_TRIGGER_ORDER)


@given(_ORDERS, _ORDERS)
def test_sync_triggers_fire_in_the_migration_order_past_a_thousand(a: int, b: int) -> None:
    """PostgreSQL fires a table's triggers by name, compared as bytes. Whatever the places
    (a migration that widens every key of a schema has more than 1 000): ``fill`` triggers
    (each after its ``written`` one) and ``up`` ones in the migration's order, ``down`` ones
    in reverse, all ``down`` after every ``fill``. (1 000 failed with an assertion before.)"""
    a, b = sorted((a, b))

    def key(name: str) -> bytes:
        return name.encode()

    for place in (a, b):
        assert key(written_trigger_name(place, "t", "c")) < key(trigger_name(place, "t", "c"))
        assert key(trigger_name(place, "t", "c")) < key(down_trigger_name(0, "t", "c"))
    if a < b:
        assert key(trigger_name(a, "t", "c")) < key(written_trigger_name(b, "t", "c"))
        assert key(late_trigger_name(a, "t", "c")) < key(late_trigger_name(b, "t", "c"))
        assert key(down_trigger_name(b, "t", "c")) < key(down_trigger_name(a, "t", "c"))
    assert trigger_name(7, "t", "c") == "_pgroll_trigger_007_t_c"  # as before, below 1 000


def test_short_names_are_unchanged() -> None:
    assert new_name("email") == "_pgroll_new_email"


@given(st.text(max_size=40))
def test_a_dollar_quote_never_ends_inside_its_body(body: str) -> None:
    quoted = dollar_quote(body)
    tag = quoted[:quoted.index("$", 1) + 1]
    assert quoted == f"{tag}{body}{tag}"
    assert tag not in body and not body.endswith(tag[:-1])


def test_two_long_columns_retyped_keep_their_own_values(pg_conn: Connection,
                                                        pg_dsn: str) -> None:
    dsn = dsn_of(pg_dsn, pg_conn)
    runner = make_runner(dsn)
    runner.start(migration(f"create table t (id int primary key, {LONG_A} int, {LONG_B} int);",
                           "01_setup"))
    runner.complete()
    pg_conn.execute("insert into t select g, g, -g from generate_series(1, 10) g")
    runner.start(migration(f"alter table t alter {LONG_A} type bigint;\n"
                           f"alter table t alter {LONG_B} type bigint;", "02_retype"))
    runner.complete()
    rows = query(pg_conn, f"select id, {LONG_A}, {LONG_B} from t order by id")
    assert rows == [(i, i, -i) for i in range(1, 11)]
    runner.close()


def test_a_dollar_pgroll_dollar_in_a_name_and_a_literal(pg_conn: Connection,
                                                        pg_dsn: str) -> None:
    dsn = dsn_of(pg_dsn, pg_conn)
    runner = make_runner(dsn)
    runner.start(migration('create table "t$pgroll$x" (id int primary key, "a$pgroll$b" text);',
                           "01_setup"))
    runner.complete()
    pg_conn.execute('insert into "t$pgroll$x" values (1, \'v\')')
    runner.start(migration(
        'alter table "t$pgroll$x" alter "a$pgroll$b" set not null '
        "up `coalesce(\"a$pgroll$b\", '$pgroll$')`;", "02_change"))
    old = client(dsn, "public_01_setup")
    old.execute('insert into "t$pgroll$x" values (2, null)')
    runner.complete()
    assert query(pg_conn, 'select id, "a$pgroll$b" from "t$pgroll$x" order by id') == [
        (1, "v"), (2, "$pgroll$")]
    old.close()
    runner.close()
