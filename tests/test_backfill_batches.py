"""How the backfill cuts a table into batches, read from its progress NOTICEs (one a batch).

Without a size asked for, the first batch is what fits the batch time by the table's size
(its rows, and its bytes with TOAST and indexes: ``backfill._estimate``): a small table is
one batch, a table of large values starts with few rows, a table without statistics with
``DEFAULT_BATCH``. An asked size is kept. With a dense integer key, a tail of less than a
quarter batch joins the batch before it instead of making one of its own.
"""

from __future__ import annotations

import math
from typing import Any

import psycopg
import pytest

from pgroll_dsl.catalog.derived import BACKFILLED_BY, MARKER
from pgroll_dsl.plan.backfill import DEFAULT_BATCH, WRITE_RATE_KB_PER_MS, backfill_sql
from pgroll_dsl.plan.options import PlanOptions
from tests.live_helpers import Connection, dsn_of

pytestmark = pytest.mark.postgres

PROGRESS = "pgroll-dsl backfill t: "


def _table(conn: Connection, rows: int, payload: str = "md5(g::text)", *,
           analyze: bool = True) -> None:
    conn.execute("DROP TABLE IF EXISTS public.t")
    conn.execute(f"CREATE TABLE public.t (id int PRIMARY KEY, v int, payload text, w int, "
                 f'"{MARKER}" boolean NOT NULL DEFAULT true, "{BACKFILLED_BY}" xid)')
    conn.execute("ALTER TABLE public.t ALTER COLUMN payload SET STORAGE EXTERNAL")
    conn.execute(f"INSERT INTO public.t (id, v, payload) SELECT g, g, {payload} "
                 f"FROM generate_series(1, {rows}) g")
    if analyze:
        conn.execute("ANALYZE public.t")


def _batches(dsn: str, **options: Any) -> list[int]:
    """Run a one-pass backfill of ``w = v * 2``; the rows done after each batch."""
    sql = backfill_sql("public", "t", ("id",), (("w", "(_pgroll_row.v * 2)"),),
                       PlanOptions(**options), integer=True)
    done: list[int] = []
    with psycopg.connect(dsn, autocommit=True) as conn:
        def note(diagnostic: psycopg.errors.Diagnostic) -> None:
            message = diagnostic.message_primary or ""
            if message.startswith(PROGRESS):
                done.append(int(message.removeprefix(PROGRESS).split()[0]))
        conn.add_notice_handler(note)
        conn.execute(sql)
        row = conn.execute("SELECT count(*) FROM public.t WHERE w IS DISTINCT FROM v * 2 "
                           f'OR "{MARKER}"').fetchone()
    assert row == (0,)  # every row backfilled, whatever the batches
    return done


def test_a_small_table_is_one_batch(pg_dsn: str, pg_conn: Connection) -> None:
    _table(pg_conn, 5000)
    assert _batches(dsn_of(pg_dsn, pg_conn)) == [5000]


def test_large_values_make_a_small_first_batch(pg_dsn: str, pg_conn: Connection) -> None:
    # ~8 kB values kept out of line: the heap itself is small, the table is not.
    _table(pg_conn, 400, "(SELECT string_agg(md5(g::text || i::text), '') "
                         "FROM generate_series(1, 250) i)")
    size = pg_conn.execute("SELECT pg_total_relation_size('public.t')").fetchone()
    assert size is not None
    expected = math.ceil(400 * 50 * WRITE_RATE_KB_PER_MS * 1024 / size[0])
    done = _batches(dsn_of(pg_dsn, pg_conn))
    assert 0 < expected < 200
    assert done[0] == expected
    assert done[-1] == 400


def test_an_asked_size_is_kept(pg_dsn: str, pg_conn: Connection) -> None:
    _table(pg_conn, 5000)
    assert _batches(dsn_of(pg_dsn, pg_conn), batch_size=1000, batch_time_ms=0) == [
        1000, 2000, 3000, 4000, 5000]


def test_without_statistics_or_batch_time_the_default_size(pg_dsn: str,
                                                          pg_conn: Connection) -> None:
    _table(pg_conn, 3 * DEFAULT_BATCH + 500, analyze=False)
    dsn = dsn_of(pg_dsn, pg_conn)
    assert _batches(dsn)[0] == DEFAULT_BATCH
    _table(pg_conn, 3 * DEFAULT_BATCH + 200)
    assert _batches(dsn, batch_time_ms=0) == [1000, 2000, 3200]  # the tail of 200 joins


@pytest.mark.parametrize(("rows", "expected"), [
    (4 * 1200 + 299, [1200, 2400, 3600, 4800 + 299]),  # a tail under a quarter joins
    (4 * 1200 + 300, [1200, 2400, 3600, 4800, 4800 + 300]),  # a quarter does not
])
def test_a_short_tail_joins_the_batch_before(pg_dsn: str, pg_conn: Connection, rows: int,
                                             expected: list[int]) -> None:
    _table(pg_conn, rows)
    assert _batches(dsn_of(pg_dsn, pg_conn), batch_size=1200, batch_time_ms=0) == expected
