"""A sync trigger skips a write it would not change.

``plan/triggers.py`` puts in each sync trigger's ``WHEN`` what the function would write
(``up`` for an old-version writer, ``down`` for a new-version one) compared with what the
row holds, and the backfill marker. Skipping must never change a row: every test here runs
the same writes on two identical tables migrated together, ``t`` with the triggers as
planned and ``r`` with its sync triggers made to fire on every write (as before), and
compares every row of the two after each write, through each version (old, new, the table
itself) and each kind of write, on rows that take every write in turn and on rows of their
own. Calls of the trigger functions are counted (``pg_stat_get_xact_function_calls``) to
show that the skipping happens.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from pgroll_dsl.catalog.derived import BACKFILL_SETTING
from tests.live_helpers import (
    Connection,
    always_firing,
    apply,
    client,
    make_runner,
    migration,
)

pytestmark = pytest.mark.postgres

OLD = "public_01_setup"
NEW = "public_02_x"
SETUP = "\n".join(
    f"create table {t} (id int primary key, a int, b text, j json, c text);" for t in "tr")

# Each case: the migration of one table (``{t}``), then every (version, statement) write.
# The statements name the table as ``{t}`` and the row as ``{id}``.
CASES: dict[str, str] = {
    "add column": "alter table {t} add x bigint default 5 up `a * 2`;",
    "type change": "alter table {t} alter b type int up `b::int` down `b::text`;",
    "json to jsonb": "alter table {t} alter j type jsonb up `j::jsonb` down `j::json`;",
    "two on one table": ("alter table {t} add x bigint up `a * 2`;\n"
                         "alter table {t} alter a type bigint up `a` down `a::int`;"),
    "up reads the clock": "alter table {t} add x text up `a::text || now()::date::text`;",
    "up is volatile": "alter table {t} add x float8 up `a + random()`;",
    "up reads a sub-query": ("alter table {t} add x bigint up "
                             "`(select count(*) from generate_series(1, a))`;"),
}
WRITES: list[tuple[str, str]] = [
    (OLD, "UPDATE {t} SET c = c || '.' WHERE id = {id}"),  # nothing migrated
    (OLD, "UPDATE {t} SET a = a + 1 WHERE id = {id}"),
    (OLD, "UPDATE {t} SET a = a WHERE id = {id}"),
    (OLD, "UPDATE {t} SET b = '7', j = '{{\"k\": 1}}' WHERE id = {id}"),
    (OLD, "UPDATE {t} SET a = NULL, b = NULL, j = NULL WHERE id = {id}"),
    (OLD, "INSERT INTO {t} (id, a, b, j, c) VALUES ({id} + 1000, 4, '8', '[1]', 'i')"),
    (NEW, "UPDATE {t} SET c = 'n' WHERE id = {id}"),
    (NEW, "UPDATE {t} SET a = 11 WHERE id = {id}"),
    (NEW, "UPDATE {t} SET b = b WHERE id = {id}"),
    (NEW, "UPDATE {t} SET b = NULL WHERE id = {id}"),
    (NEW, "UPDATE {t} SET j = '{{\"n\": [2]}}' WHERE id = {id}"),
    (NEW, "INSERT INTO {t} (id, a, b, j, c) VALUES ({id} + 2000, 6, 9, '{{}}', 'n')"),
    (NEW, "UPDATE {t} SET x = 77 WHERE id = {id}"),  # where the migration adds x
    ("public", "UPDATE {t} SET _pgroll_needs_backfill = true WHERE id = {id}"),  # recompute
    ("public", "UPDATE {t} SET c = 'base' WHERE id = {id}"),
    ("public", "UPDATE {t} SET a = a * 3 WHERE id = {id}"),
    ("public", "UPDATE {t} SET id = id + 500 WHERE id = {id}"),
]


@pytest.fixture(params=list(CASES))
def started(request: pytest.FixtureRequest, admin_dsn: str,
            pg_conn: Connection) -> Iterator[str]:
    text = CASES[request.param]
    runner = make_runner(admin_dsn)
    try:
        apply(runner, SETUP)
        for table in "tr":
            pg_conn.execute(f"INSERT INTO {table} SELECT g, g, (g * 3)::text, "
                            "json_build_object('g', g), 'c' FROM generate_series(1, 60) g")
        runner.start(migration("\n".join(text.format(t=t) for t in "tr"), "02_x"))
        always_firing(pg_conn, "r")
        yield request.param
    finally:
        runner.close()


def _rows(conn: Connection, table: str, masked: str = "") -> list[tuple[Any, ...]]:
    """Every row of the physical table, as text (json through jsonb: without the skip, a
    new-version write of another column also re-spelled the old json column from its jsonb
    copy, ``{"g" : 7}`` becoming ``{"g": 7}``; with it, the client's spelling stays).
    ``masked``: a column compared for being NULL only (a random value)."""
    columns = conn.execute(
        "SELECT attname, atttypid = 'json'::regtype FROM pg_attribute WHERE attrelid = "
        "%s::regclass AND attnum > 0 AND NOT attisdropped ORDER BY attnum",
        (f"public.{table}",)).fetchall()
    # The marker as whether the row still waits for the backfill (a first pass leaves it
    # set, and its transaction in _pgroll_backfilled_by: an xid, left out).
    listed = ", ".join(f'"{c}" IS NULL' if c == masked else
                       f'("{c}" AND _pgroll_backfilled_by IS DISTINCT FROM xmin)::text'
                       if c == "_pgroll_needs_backfill" else
                       f'"{c}"::jsonb::text' if json else f'"{c}"::text' for c, json in columns
                       if c != "_pgroll_backfilled_by")
    return sorted(conn.execute(f"SELECT {listed} FROM public.{table}").fetchall(), key=repr)


def _has_column(conn: Connection, column: str) -> bool:
    """Whether the client's version of ``t`` has ``column``."""
    return conn.execute("SELECT count(*) FROM information_schema.columns WHERE table_name = "
                        "'t' AND column_name = %s AND table_schema = current_schema()",
                        (column,)).fetchone() == (1,)


def _calls(conn: Connection, table: str) -> int:
    """Calls of ``table``'s sync trigger functions in the current transaction."""
    found = conn.execute(
        "SELECT coalesce(sum(pg_stat_get_xact_function_calls(p.oid)), 0) FROM pg_proc p "
        "WHERE p.proname LIKE %s OR p.proname LIKE %s",
        tuple(f"{prefix}pgroll\\_trigger\\_%\\_{table}\\_%" for prefix in ("\\_", "~"))).fetchone()
    assert found is not None
    return int(found[0])


def test_skipping_changes_no_row(started: str, admin_dsn: str, pg_conn: Connection) -> None:
    """Each write, on rows the backfill wrote and on rows it had not reached (two rows that
    take every write in turn, two of the write's own), gives ``t`` the same rows as ``r``;
    writes that change nothing migrated run no trigger of ``t``, and every write of the side
    whose expression cannot be compared runs it."""
    # Rows 41..60 as the backfill had not reached them yet (marker set, copies stale).
    for table in "tr":
        with pg_conn.transaction():
            pg_conn.execute("SELECT set_config(%s, %s, true)",
                            (BACKFILL_SETTING, f'"public"."{table}"'))
            pg_conn.execute(f"UPDATE {table} SET _pgroll_needs_backfill = true "
                            "WHERE id > 40")
    skipped = skipped_up = 0
    masked = "_pgroll_new_x" if started == "up is volatile" else ""
    assert _rows(pg_conn, "t", masked) == _rows(pg_conn, "r", masked)
    for index, (version, statement) in enumerate(WRITES):
        with client(admin_dsn, version) as conn:
            conn.execute("SET track_functions = 'pl'")
            for row in (1, 41, 2 + index, 42 + index):
                if " x = " in statement and not _has_column(conn, "x"):
                    continue
                with conn.transaction():
                    before = _calls(conn, "t")
                    conn.execute(statement.format(t="t", id=row))
                    fired = _calls(conn, "t") - before
                    conn.execute(statement.format(t="r", id=row))
                skipped += fired == 0
                skipped_up += fired == 0 and version != NEW  # the side up is computed for
                assert _rows(pg_conn, "t", masked) == _rows(pg_conn, "r", masked), \
                    (version, statement, row)
    if started in ("up is volatile", "up reads a sub-query"):
        # (A new-version write of a backfilled row has nothing to compute: no down.)
        assert skipped_up == 0, "a volatile up or a sub-query must run on every old-side write"
    else:
        assert skipped >= 3, "no write skipped the triggers"


def test_a_user_trigger_that_changes_a_read_column(admin_dsn: str, pg_conn: Connection) -> None:
    """A user's BEFORE trigger that fires first and changes ``a`` while the statement set
    only ``c``: the skip compares the row the user trigger left, so ``x`` follows ``a``."""
    runner = make_runner(admin_dsn)
    try:
        apply(runner, "create table t (id int primary key, a int, c text);")
        pg_conn.execute("INSERT INTO t SELECT g, g, 'c' FROM generate_series(1, 10) g")
        pg_conn.execute("CREATE FUNCTION bump() RETURNS trigger LANGUAGE plpgsql AS "
                        "$$ BEGIN NEW.a := NEW.a + 100; RETURN NEW; END $$")
        # "A" sorts before "_pgroll_trigger_...": it fires first.
        pg_conn.execute('CREATE TRIGGER "A_bump" BEFORE UPDATE ON t FOR EACH ROW '
                        "EXECUTE FUNCTION bump()")
        runner.start(migration("alter table t add x bigint up `a * 2`;", "02_x"))
        with client(admin_dsn, OLD) as conn:
            conn.execute("UPDATE t SET c = 'd' WHERE id = 3")
        assert pg_conn.execute("SELECT a, _pgroll_new_x FROM t WHERE id = 3"
                               ).fetchone() == (103, 206)
    finally:
        runner.close()

