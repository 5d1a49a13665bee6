"""A new-version session that writes a rewritten column's old column by its own name.

The sync triggers tell a new-version writer by its ``search_path``, and for it ``down`` sets
the old column from the copy. The new version's view never names the old column (the name
there is the copy's), but a new-version session still writes it through the table itself:

- another table's trigger, fired by a new-version client's write through its view, that
  updates the migrated table by its columns' names (an order that moves a customer's
  balance, a counter kept by a trigger);
- a statement of the session on the schema-qualified table (``UPDATE public.t SET v = ...``);
- a foreign key's action (``ON DELETE SET DEFAULT``: tests/test_review_writers_more.py).

``down`` from the unchanged copy set the old column back: the write was lost from both
versions, silently. Now an UPDATE that changes the old column and not its copy is carried to
the copy by ``up`` (``triggers._written_by_name``), and a row the backfill has not reached yet
is left to that (its ``fill`` does not compute the copy from the row as it was).

``up`` may call a function of the schema that a new-version session's path does not reach;
the branch then sets the schema's path for ``up`` alone (``down``'s function has no path of
its own where ``down`` needs none: that ``SET`` would cost every new-version write).

Each case checks every row through the old version and the new one after start, and the
new one after complete, with the writes made after start and during the only backfill pass
(``two_passes=False``: the new version exists while the backfill runs, so some of the rows
written are not backfilled yet).
"""

from __future__ import annotations

from collections.abc import Callable

import pytest
from psycopg import sql

from pgroll_dsl.backends.runner import Runner
from tests.live_helpers import Connection, applied, client, make_runner, migration, version_schema

pytestmark = [pytest.mark.postgres]

ROWS = 120
BATCH = 20
OLD, NEW = version_schema("01_setup"), version_schema("02_type")
SETUP = (
    "sql up `create table public.t (id bigint primary key, v int not null); "
    "create table public.orders (tid bigint not null, x int not null); "
    "create function public.orders_move() returns trigger language plpgsql as $$ "
    "begin update public.t set v = new.x where id = new.tid; return new; end $$; "
    "create trigger orders_move after insert on public.orders for each row "
    "execute function public.orders_move(); "
    "create function public.widened(x int) returns bigint language sql immutable "
    "return x`;\n"
)
# name: (migration, the new version's name of v, the copy's value of an old value of 1)
MIGRATIONS = {
    "type": ("alter table t alter v type bigint up `v * 2` down `(v / 2)::int`;", "v", 2),
    "rename_type": ("alter table t rename v to x;\n"
                    "alter table t alter x type bigint up `x * 2` down `(x / 2)::int`;", "x", 2),
    # ``up`` calls a function of the schema, which a new-version session's path (the version
    # schema alone) does not reach, and ``down`` needs no path: ``down``'s function has none
    # of its own, and its branch for the old column sets the schema's for ``up``
    "schema_function": ("alter table t alter v type bigint up `widened(v)` down `v::int`;",
                        "v", 1),
}


def _through_a_trigger(conn: Connection, ids: list[int], value: int) -> None:
    """A new-version client's INSERT through its view of ``orders``; the table's trigger
    writes ``public.t.v`` by its name."""
    conn.execute("INSERT INTO orders (tid, x) SELECT i, %s + i FROM unnest(%s::bigint[]) i",
                 (value, ids))


def _qualified(conn: Connection, ids: list[int], value: int) -> None:
    """The new-version session's own UPDATE of the table, schema-qualified."""
    conn.execute("UPDATE public.t SET v = %s + id WHERE id = ANY(%s)", (value, ids))


WRITERS: dict[str, Callable[[Connection, list[int], int], None]] = {
    "another table's trigger": _through_a_trigger,
    "schema-qualified UPDATE": _qualified,
}


def _wrong(conn: Connection, column: str, factor: int, expected: dict[int, int],
           after_complete: bool) -> list[str]:
    """Rows that differ from ``expected`` (the old version's value of each row)."""
    views = [(NEW, column, factor)] + ([] if after_complete else [(OLD, "v", 1)])
    wrong = []
    for schema, name, factor in views:
        found: dict[int, int] = dict(conn.execute(sql.SQL("SELECT id, {} FROM {}.t").format(
            sql.Identifier(name), sql.Identifier(schema))).fetchall())
        wrong += [f"{schema}: row {i} has {found.get(i)}, not {factor * x}"
                  for i, x in sorted(expected.items()) if found.get(i) != factor * x]
    return wrong


@pytest.mark.parametrize("writer", list(WRITERS))
@pytest.mark.parametrize("migration_name", list(MIGRATIONS))
@pytest.mark.parametrize("two_passes", [True, False],
                         ids=["after start", "during the only pass"])
def test_a_new_version_write_of_the_old_column_by_its_name_reaches_both_versions(
        pg_conn: Connection, admin_dsn: str, writer: str, migration_name: str,
        two_passes: bool) -> None:
    applied(admin_dsn, SETUP)
    pg_conn.execute(f"INSERT INTO t SELECT g, g FROM generate_series(1, {ROWS}) g")
    pg_conn.execute("ANALYZE t")
    expected = {i: i for i in range(1, ROWS + 1)}
    write = WRITERS[writer]
    written: list[str] = []

    def new_version_writes(ids: list[int], value: int) -> None:
        with client(admin_dsn, NEW) as conn:
            path = conn.execute("SELECT current_setting('search_path')").fetchone()
            write(conn, ids, value)
            # the branch that set the schema's path for ``up`` set the session's back
            assert conn.execute("SELECT current_setting('search_path')").fetchone() == path
        expected.update({i: value + i for i in ids})
        written.append(f"{len(ids)} rows")

    def during_the_pass(_table: str, done: int, _total: int) -> None:
        if done > 0 and not written:  # the rows the backfill reaches last: not reached yet
            ids = list(range(ROWS - 9, ROWS + 1))
            unreached = pg_conn.execute("SELECT count(*) FROM public.t WHERE id = ANY(%s) AND "
                                        "_pgroll_needs_backfill", (ids,)).fetchone()
            assert unreached == (len(ids),), "the backfill reached the rows first"
            new_version_writes(ids, 1000)

    text, column, factor = MIGRATIONS[migration_name]
    runner: Runner = make_runner(admin_dsn, batch_size=BATCH, batch_time_ms=0, init=False,
                                 two_passes=two_passes, batch_delay=0.1,
                                 on_progress=None if two_passes else during_the_pass)
    try:
        runner.start(migration(text, "02_type"))
        assert two_passes or written, "the backfill made no progress report to write at"
        new_version_writes(list(range(1, 11)), 2000)
        assert _wrong(pg_conn, column, factor, expected, after_complete=False) == []
        runner.complete()
    finally:
        runner.close()
    assert _wrong(pg_conn, column, factor, expected, after_complete=True) == []
