"""The backfill writes the copies itself: the values must be those the sync triggers compute.

Each case starts a migration on a table whose rows hold the awkward values (NULLs, negative
numbers, mixed case, text that only converts through its text form), so the backfill fills
every copy. Then every row is written once more through the base table with the backfill
setting off: the triggers recompute every copy from ``up``, as they do for an old-version
client. Both readings must be equal, column for column. Each case also says which way its
backfill must have gone: written by the batch itself (``fast``) or left to the triggers
(an ``up`` reading a copy an earlier operation fills, a sub-query, an assignment that only
PL/pgSQL's text conversion makes), read from the plan and from the server's answer.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from psycopg.conninfo import make_conninfo

from pgroll_dsl.plan.model import StepKind
from tests.live_helpers import (
    Connection,
    apply,
    dsn_of,
    make_runner,
    migration,
    table_rows,
)

SETUP = """
create table t (id int primary key, a int, b text, c numeric, n text, "Mixed" text, e jsonb,
                d timestamptz);
create table other (id int primary key, tid int);
"""

ROWS = """
insert into t values
  (1, 7, 'seven', 7.5, '12', 'Ab', '{"k": "v1"}', '2026-01-01 10:00+00'),
  (2, NULL, NULL, NULL, NULL, NULL, NULL, NULL),
  (3, -4, 'minus four', -4.49, '-3', 'x y', '{"k": 2}', '1999-12-31 23:59:59+00'),
  (4, 0, '', 0, '0', '', '{}', '2026-06-30 00:00+02');
insert into t select g, g % 11 - 5, 'row ' || g, g / 3.0, (g * 7)::text, 'M' || g,
  jsonb_build_object('k', g), '2026-01-01'::timestamptz + g * interval '1 hour'
  from generate_series(5, 60) g;
insert into other select g, g % 7 from generate_series(1, 20) g;
"""

# (name, migration, how the backfill must go)
CASES: list[tuple[str, str, str]] = [
    ("add_arithmetic", "alter table t add x bigint not null up `coalesce(a, 0) * 2`;", "fast"),
    ("add_text", "alter table t add y text up `\"Mixed\" || '-' || b`;", "fast"),
    ("add_case", "alter table t add z int up `case when a > 5 then 1 else 0 end`;", "fast"),
    ("add_json", "alter table t add k text up `e ->> 'k'`;", "fast"),
    ("add_constant", "alter table t add w text not null up 'filled';", "fast"),
    ("add_time", "alter table t add day date up `(d at time zone 'UTC')::date`;", "fast"),
    ("type_widen", "alter table t alter a type bigint up `a` down `a`;", "fast"),
    ("type_round", "alter table t alter c type int up `round(c)` down `c`;", "fast"),
    ("type_text_to_int", "alter table t alter n type int up `n` down `n::text`;", "triggers"),
    ("set_not_null", "alter table t alter b set not null up `coalesce(b, 'none')`;", "fast"),
    ("check", "alter table t alter a add constraint a_small check `a < 100` "
              "up `least(a, 99)`;", "fast"),
    ("unique", "alter table t alter \"Mixed\" add constraint mixed_unique unique "
               "up `coalesce(\"Mixed\", '') || id`;", "fast"),
    ("two_on_one_table", "alter table t alter a type bigint up `a + 1` down `a - 1`;\n"
                         "alter table t alter c type int up `floor(c)` down `c`;", "fast"),
    ("chained", "alter table t alter a type bigint up `a + 1` down `a - 1`;\n"
                "alter table t add x bigint up `a * 10`;", "triggers"),
    ("rename_then_add", "alter table t rename b to label;\n"
                        "alter table t add l int up `length(label)`;", "fast"),
    ("subquery", "alter table t add cnt bigint "
                 "up `(select count(*) from other where other.tid = a)`;", "triggers"),
]


@pytest.fixture(params=["superuser", "owner"])
def migrating_dsn(request: pytest.FixtureRequest, pg_dsn: str,
                  pg_conn: Connection) -> Iterator[str]:
    """The migration runs as a superuser (the batches skip every trigger with
    ``session_replication_role``) or as a role that only owns the schema (the triggers' WHEN
    clause skips them)."""
    dsn = dsn_of(pg_dsn, pg_conn)
    if request.param == "superuser":
        yield dsn
        return
    role = f"owner_{pg_conn.info.backend_pid}"
    pg_conn.execute(f'CREATE ROLE "{role}" LOGIN')
    pg_conn.execute(f'GRANT ALL ON DATABASE "{pg_conn.info.dbname}" TO "{role}"')
    pg_conn.execute(f'ALTER SCHEMA public OWNER TO "{role}"')
    try:
        yield make_conninfo(dsn, user=role)
    finally:
        pg_conn.execute(f'REASSIGN OWNED BY "{role}" TO CURRENT_USER')
        pg_conn.execute(f'DROP OWNED BY "{role}"')
        pg_conn.execute(f'DROP ROLE "{role}"')


# A row the backfill has not written yet: marked, and not written by a first pass since
# (the first pass leaves the marker; the row's xmin is then its transaction).
UNDONE = "_pgroll_needs_backfill AND _pgroll_backfilled_by IS DISTINCT FROM xmin"


def _start(dsn: str, conn: Connection, text: str) -> tuple[str, list[str]]:
    """Start the migration; the backfill steps' summaries and the server's notices."""
    runner = make_runner(dsn, batch_size=7)
    apply(runner, SETUP)
    conn.execute(ROWS)
    plan = runner.start(migration(text, "02_case"))
    return plan.schema, [s.summary for s in plan.start if s.kind is StepKind.BACKFILL]


def _rewritten_by_triggers(conn: Connection) -> list[tuple[Any, ...]]:
    """Every row written again as an old-version client would: the triggers fill the copies.

    Setting the marker makes every sync trigger run (an UPDATE that changes none of the
    columns a trigger reads or writes skips it)."""
    conn.execute("UPDATE public.t SET _pgroll_needs_backfill = true")
    return table_rows(conn, "t")


@pytest.mark.parametrize(("name", "text", "way"), CASES, ids=[c[0] for c in CASES])
def test_backfill_writes_what_the_triggers_write(migrating_dsn: str, pg_conn: Connection,
                                                 name: str, text: str, way: str) -> None:
    _, summaries = _start(migrating_dsn, pg_conn, text)
    assert len(summaries) in (1, 2), summaries  # one pass, or a first and a second
    summaries = summaries[-1:]
    written = "writing the copies itself" in summaries[0]
    backfilled = table_rows(pg_conn, "t")
    assert pg_conn.execute(f"SELECT count(*) FROM public.t WHERE {UNDONE}").fetchone() == (0,)
    assert backfilled == _rewritten_by_triggers(pg_conn)
    if way == "fast":
        assert written, summaries[0]
    elif written:  # planned to write, but the server refused the assignment at the probe
        assert name == "type_text_to_int"
    else:
        assert "the triggers fill the copies" in summaries[0]


def test_a_refused_assignment_falls_back_before_any_row_is_written(
        pg_dsn: str, pg_conn: Connection) -> None:
    """text -> int: ``UPDATE`` refuses the assignment, PL/pgSQL converts through text."""
    dsn = dsn_of(pg_dsn, pg_conn)
    _start(dsn, pg_conn, "alter table t alter n type int up `n` down `n::text`;")
    rows = dict(pg_conn.execute("SELECT id, _pgroll_new_n FROM public.t").fetchall())
    assert rows[1] == 12 and rows[2] is None and rows[3] == -3 and rows[60] == 420


def test_the_triggers_skip_only_the_backfills_own_writes(pg_dsn: str,
                                                         pg_conn: Connection) -> None:
    """A client's write with the setting off is synced; the setting is the backfill's alone."""
    dsn = dsn_of(pg_dsn, pg_conn)
    _start(dsn, pg_conn, "alter table t add x bigint up `a * 2`;")
    pg_conn.execute("UPDATE public.t SET a = 50 WHERE id = 1")
    assert pg_conn.execute("SELECT _pgroll_new_x FROM public.t WHERE id = 1").fetchone() == (100,)
    setting = pg_conn.execute("SELECT current_setting('pgroll_dsl.backfilling', true)").fetchone()
    assert setting in ((None,), ("",))  # not left on for the session


@pytest.mark.parametrize("shape", ["no key", "composite key", "text key"])
def test_every_row_is_backfilled_whatever_the_key(pg_dsn: str, pg_conn: Connection,
                                                  shape: str) -> None:
    """Batches by pages (no key), by a two-column key, and by a text key."""
    key = {"no key": "", "composite key": ", constraint u_pk primary key (g, id)",
           "text key": ", constraint u_pk primary key (s)"}[shape]
    dsn = dsn_of(pg_dsn, pg_conn)
    runner = make_runner(dsn, batch_size=5)
    apply(runner, f"create table u (id int not null, g int not null, s text not null, "
                  f"v int{key});")
    pg_conn.execute("INSERT INTO u SELECT i, i % 3, 'k' || i, i FROM generate_series(1, 2500) i")
    pg_conn.execute("DELETE FROM u WHERE id % 17 = 0")  # holes in the pages and the keys
    runner.start(migration("alter table u add w bigint not null up `v * 3`;", "02_w"))
    rows = pg_conn.execute(f"SELECT v, _pgroll_new_w, {UNDONE} FROM public.u"
                           ).fetchall()
    assert len(rows) == 2500 - 2500 // 17
    assert all(w == v * 3 and not marker for v, w, marker in rows)


@pytest.mark.parametrize("shape", ["int key", "composite key", "text key"])
def test_workers_share_the_keys_and_miss_none(pg_dsn: str, pg_conn: Connection,
                                              shape: str) -> None:
    """``backfill_workers``: the key range cut at keys, every row filled once, while a client
    keeps inserting rows at both ends and deleting some in the middle."""
    key = {"int key": "constraint u_pk primary key (id)",
           "composite key": "constraint u_pk primary key (g, id)",
           "text key": "constraint u_pk primary key (s)"}[shape]
    dsn = dsn_of(pg_dsn, pg_conn)
    runner = make_runner(dsn, batch_size=50, backfill_workers=4, max_replica_lag_mb=16)
    apply(runner, f"create table u (id int not null, g int not null, s text not null, "
                  f"v int, {key});")
    pg_conn.execute("INSERT INTO u SELECT i, i % 3, 'k' || i, i FROM generate_series(1, 6000) i")
    pg_conn.execute("ANALYZE u")
    runner.start(migration("alter table u add w bigint not null up `v * 3`;", "02_w"))
    rows = pg_conn.execute(f"SELECT v, _pgroll_new_w, {UNDONE} FROM public.u"
                           ).fetchall()
    assert len(rows) == 6000
    assert all(w == v * 3 and not marker for v, w, marker in rows)
    plan_sql = runner.executor.ran
    # Logged once each however many workers run it: the first pass and the second.
    assert sum("$pgroll_backfill$" in s for s in plan_sql) == 2


@pytest.mark.parametrize("ids", ["dense", "sparse", "near the largest bigint"])
def test_integer_keys_dense_or_sparse(pg_dsn: str, pg_conn: Connection, ids: str) -> None:
    """A dense integer key is batched by value ranges, a sparse one by keys; both fill every
    row, also at the end of bigint's range (no overflow computing the last batch)."""
    key = {"dense": "i", "sparse": "i::bigint * 1000003 * 7919",
           "near the largest bigint": "9223372036854775807 - 3000 + i"}[ids]
    dsn = dsn_of(pg_dsn, pg_conn)
    runner = make_runner(dsn, batch_size=100)
    apply(runner, "create table u (id bigint primary key, v int);")
    pg_conn.execute(f"INSERT INTO u SELECT {key}, i FROM generate_series(1, 3000) i")
    pg_conn.execute("ANALYZE u")
    runner.start(migration("alter table u add w bigint not null up `v * 3`;", "02_w"))
    rows = pg_conn.execute(f"SELECT v, _pgroll_new_w, {UNDONE} FROM public.u"
                           ).fetchall()
    assert len(rows) == 3000
    assert all(w == v * 3 and not marker for v, w, marker in rows)
