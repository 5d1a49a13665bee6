"""A new-version UPDATE that names a copy in its SET list keeps what it wrote.

The sync trigger of a column fills the copy with ``up`` when a new-version client updates a
row the backfill has not reached yet and leaves the copy as it was: a row trigger cannot tell
``SET x = NULL`` from "x not written". The trigger ``BEFORE UPDATE OF`` the copy
(``plan/triggers.py``, ``written_trigger_sql``) tells it; these tests check the data.

A row the backfill has not reached has the marker set and its copies as ``ADD COLUMN`` left
them. After a real start, :func:`_not_backfilled` puts rows back in that state (with the
backfill's own setting, so no trigger runs), so that the writes land on such rows every time;
``test_backfill_adversarial`` has the same write racing a real backfill.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from pgroll_dsl.backends.runner import CommandError
from pgroll_dsl.catalog.derived import BACKFILL_SETTING
from pgroll_dsl.sql.ddl import qualified
from tests.live_helpers import (
    Connection,
    apply,
    client,
    make_runner,
    migration,
    triggers_and_functions,
)

pytestmark = pytest.mark.postgres

OLD = "public_01_setup"
NEW = "public_02_x"
MARKER = "_pgroll_needs_backfill"
# Two operations on one table: a new column without ``down`` (a constant default, so the rows
# not backfilled carry it), and a type change with both directions.
TWO = ("alter table t add x bigint default 5 up `a * 2`;\n"
       "alter table t alter b type int up `b::int` down `b::text`;")


@pytest.fixture
def started(admin_dsn: str, pg_conn: Connection) -> Iterator[Any]:
    """``t`` with rows 1..20 (a = id, b = id * 3 as text), the migration TWO started."""
    runner = make_runner(admin_dsn)
    apply(runner, "create table t (id int primary key, a int, b text);")
    pg_conn.execute("INSERT INTO t SELECT g, g, (g * 3)::text FROM generate_series(1, 20) g")
    runner.start(migration(TWO, "02_x"))
    try:
        yield runner
    finally:
        runner.close()


def _not_backfilled(pg_conn: Connection, *ids: int) -> None:
    """Rows as start left them before the backfill: marker set, copies as ADD COLUMN made."""
    with pg_conn.transaction():
        pg_conn.execute("SELECT pg_catalog.set_config(%s, %s, true)",
                        (BACKFILL_SETTING, qualified("public", "t")))
        pg_conn.execute(f"UPDATE public.t SET {MARKER} = true, _pgroll_new_x = 5, "
                        "_pgroll_new_b = NULL WHERE id = ANY(%s)", (list(ids),))
    marked = pg_conn.execute(f"SELECT count(*) FROM public.t WHERE {MARKER} AND id = ANY(%s)",
                             (list(ids),)).fetchone()
    assert marked == (len(ids),)


def _row(pg_conn: Connection, row: int) -> tuple[Any, ...]:
    """(a, old b, copy of x, copy of b, marker) of one row."""
    found = pg_conn.execute(f"SELECT a, b, _pgroll_new_x, _pgroll_new_b, {MARKER} FROM public.t "
                            "WHERE id = %s", (row,)).fetchone()
    assert found is not None
    return tuple(found)


def test_explicit_null_is_kept(started: Any, admin_dsn: str, pg_conn: Connection) -> None:
    _not_backfilled(pg_conn, 1, 2, 3)
    with client(admin_dsn, NEW) as conn:
        conn.execute("UPDATE t SET x = NULL WHERE id = 1")
        conn.execute("UPDATE t SET b = NULL WHERE id = 2")  # down(NULL) to the old column
        conn.execute("UPDATE t SET x = NULL, b = NULL WHERE id = 3")
    assert _row(pg_conn, 1) == (1, "3", None, 3, False)  # b's copy still computed by up
    assert _row(pg_conn, 2) == (2, None, 4, None, False)  # x's copy still computed by up
    assert _row(pg_conn, 3) == (3, None, None, None, False)


def test_explicit_value_equal_to_the_old_copy_is_kept(started: Any, admin_dsn: str,
                                                      pg_conn: Connection) -> None:
    _not_backfilled(pg_conn, 4)
    with client(admin_dsn, NEW) as conn:
        conn.execute("UPDATE t SET x = 5 WHERE id = 4")  # the copy already holds 5
    assert _row(pg_conn, 4) == (4, "12", 5, 12, False)  # not up's 8


def test_update_of_another_column_still_gets_up(started: Any, admin_dsn: str,
                                                pg_conn: Connection) -> None:
    """x is ``up`` of the row as it was (a = 5), as the backfill would have left it before
    the client's change, and as the same UPDATE leaves a row the backfill has reached."""
    _not_backfilled(pg_conn, 5, 6)
    with client(admin_dsn, NEW) as conn:
        conn.execute("UPDATE t SET a = 50 WHERE id = 5")
        conn.execute("UPDATE t SET id = id WHERE id = 6")
    assert _row(pg_conn, 5) == (50, "15", 10, 15, False)
    assert _row(pg_conn, 6) == (6, "18", 12, 18, False)


def test_the_record_does_not_leak_to_another_row(started: Any, admin_dsn: str,
                                                 pg_conn: Connection) -> None:
    _not_backfilled(pg_conn, 7, 8, 9, 10, 11)
    with client(admin_dsn, NEW) as conn:
        conn.autocommit = False
        conn.execute("UPDATE t SET x = NULL WHERE id = 7")
        conn.execute("UPDATE t SET a = 80 WHERE id = 8")  # same transaction, another row
        conn.execute("UPDATE t SET x = CASE WHEN id = 9 THEN NULL ELSE x END, a = a + 1 "
                     "WHERE id IN (9, 10)")  # one statement: each row names x
        conn.execute("UPDATE t SET a = a WHERE id = 11")  # after it, in the same transaction
        left = conn.execute("SELECT pg_catalog.current_setting('pgroll_dsl.written', true)")
        assert left.fetchone() in ((None,), ("",))
        conn.commit()
    assert _row(pg_conn, 7) == (7, "21", None, 21, False)
    assert _row(pg_conn, 8) == (80, "24", 16, 24, False)  # up of the row as it was
    assert _row(pg_conn, 9) == (10, "27", None, 27, False)
    assert _row(pg_conn, 10) == (11, "30", 5, 30, False)  # named: x = x kept the copy's 5
    assert _row(pg_conn, 11) == (11, "33", 22, 33, False)


def test_old_version_writes_are_unchanged(started: Any, admin_dsn: str,
                                          pg_conn: Connection) -> None:
    _not_backfilled(pg_conn, 12, 13, 14)
    with client(admin_dsn, OLD) as conn:
        conn.execute("UPDATE t SET a = NULL WHERE id = 12")
        conn.execute("UPDATE t SET b = NULL WHERE id = 13")
        conn.execute("UPDATE t SET b = '7' WHERE id = 14")
    assert _row(pg_conn, 12) == (None, "36", None, 36, False)
    assert _row(pg_conn, 13) == (13, None, 26, None, False)
    assert _row(pg_conn, 14) == (14, "7", 28, 7, False)


def test_new_version_insert_keeps_an_explicit_null(started: Any, admin_dsn: str,
                                                   pg_conn: Connection) -> None:
    """An INSERT needs no record: the sync trigger takes the new row as the client gave it."""
    with client(admin_dsn, NEW) as conn:
        conn.execute("INSERT INTO t (id, a, b, x) VALUES (100, 1, NULL, NULL)")
        conn.execute("INSERT INTO t (id, a, b) VALUES (101, 1, 9)")  # x: the view's default
    assert _row(pg_conn, 100) == (1, None, None, None, False)
    assert _row(pg_conn, 101) == (1, "9", 5, 9, False)


def test_complete_keeps_the_writes_and_leaves_no_trigger(started: Any, admin_dsn: str,
                                                         pg_conn: Connection) -> None:
    _not_backfilled(pg_conn, 15)
    with client(admin_dsn, NEW) as conn:
        conn.execute("UPDATE t SET x = NULL WHERE id = 15")
    started.complete()
    assert pg_conn.execute("SELECT a, b, x FROM t WHERE id = 15").fetchone() == (15, 45, None)
    assert triggers_and_functions(pg_conn) == []


def test_rollback_leaves_no_trigger(started: Any, pg_conn: Connection) -> None:
    started.rollback()
    assert triggers_and_functions(pg_conn) == []


def test_complete_refuses_when_the_record_trigger_is_gone(started: Any,
                                                         pg_conn: Connection) -> None:
    name = pg_conn.execute("SELECT tgname FROM pg_trigger WHERE tgrelid = 'public.t'::regclass "
                           "AND tgname LIKE '%-set%' ORDER BY tgname LIMIT 1").fetchone()
    assert name is not None
    pg_conn.execute(f'DROP TRIGGER "{name[0]}" ON public.t')
    with pytest.raises(CommandError, match=str(name[0])):
        started.complete()


def test_the_triggers_fire_in_order(started: Any, pg_conn: Connection) -> None:
    """Each record trigger just before its column's ``fill`` trigger; the ``down`` triggers
    after every ``fill``, in reverse order of the operations; the ``up`` ones last."""
    names = [r[0] for r in pg_conn.execute(
        "SELECT tgname FROM pg_trigger WHERE tgrelid = 'public.t'::regclass "
        "AND NOT tgisinternal ORDER BY tgname COLLATE \"C\"").fetchall()]
    # (The backfill's watch, a statement trigger disabled after the second pass, is not a
    # row trigger: the table gets two passes since backfill.gather.)
    assert "_pgroll_watch_t" in names
    names.remove("_pgroll_watch_t")
    assert names == ["_pgroll_trigger_000-set_t_x", "_pgroll_trigger_000_t_x",
                     "_pgroll_trigger_001-set_t_b", "_pgroll_trigger_001_t_b",
                     "_pgroll_trigger_down998_t_b",
                     "~pgroll_trigger_000_t_x", "~pgroll_trigger_001_t_b"]

