"""Adversarial review of b72dd2c (``Watch.untouched``): the second pass skips only when no
pg_class or pg_attribute row of its leaf or of a table above it is younger than the watch.

Every test checks the data: each row's copy equals ``up`` of its current values
(``_pgroll_new_w = n * 2``) right after start. The review found one defect, fixed since: the
check compared transaction ids, not commit order: a transaction whose id was assigned before
the watch's and that committed after it left catalog rows that looked older than the watch,
and the leaf skipped its second pass with a stale copy (the first two tests; they failed at
b72dd2c~1 too). The watch now keeps its last statement's snapshot.
"""

from __future__ import annotations

from collections.abc import Callable

import psycopg
import pytest

from pgroll_dsl.backends.runner import StepEvent
from tests import test_review_watch_partitions as wp
from tests.live_helpers import Connection
from tests.test_review_sized import PLAIN, PLAIN_TEXT, foreign_round_trip
from tests.test_review_watch_partitions import (
    LATE,
    LEAVES,
    Hook,
    _before_second_pass,
    _complete_and_check,
    _setup,
    _skipped,
    _start,
    _wrong,
)

pytestmark = pytest.mark.postgres


role_dsn = wp.role_dsn  # superuser, or the tables' owner


def _in_early(early: psycopg.Connection[tuple[object, ...]],
              action: Callable[[Connection], object]) -> Callable[[Connection], object]:
    """``action`` in ``early``'s transaction (its xid taken before start), then commit."""
    def run(_: Connection) -> None:
        action(early)
        early.commit()
    return run


def _move_back_in_early(early: psycopg.Connection[tuple[object, ...]]
                        ) -> Callable[[Connection], object]:
    """Out, written and detached by ``c`` (young rows), attached back by ``early``: the last
    rewrite of every row of the leaf carries the old xid."""
    def run(c: Connection) -> None:
        foreign_round_trip(c, early)
        early.commit()
    return run


@pytest.mark.parametrize("when", ["first pass", "between the passes", "only the move back"])
def test_foreign_round_trip_in_a_transaction_older_than_the_watch(
        admin_dsn: str, pg_conn: Connection, when: str) -> None:
    """The round trip of test_review_sized, in a transaction whose xid was assigned before
    start (an idle-in-transaction session that wrote anything): its catalog rows carry an xid
    older than the watch's though they commit after it. "only the move back": the rest in
    young transactions, the last ATTACH (which rewrites the leaf's pg_class row and every
    attribute row) in the old one."""
    _setup(admin_dsn)
    early = psycopg.connect(admin_dsn)
    early.execute("SELECT pg_current_xact_id()")
    act = (_move_back_in_early(early) if when == "only the move back"
           else _in_early(early, foreign_round_trip))
    messages: list[str] = []
    try:
        if when != "between the passes":
            hook = Hook(admin_dsn, LATE, act)
            _start(admin_dsn, hook, messages)
            assert hook.fired and hook.error is None, hook.error
        else:
            on_step, done = _before_second_pass(admin_dsn, act)
            _start(admin_dsn, None, messages, on_step=on_step)
            assert done
    finally:
        early.close()
    assert pg_conn.execute("SELECT n FROM events WHERE id = 3").fetchone() == (1003,)
    assert _wrong(pg_conn) == [], messages
    _complete_and_check(admin_dsn, pg_conn)


def test_plain_inherit_round_trip_in_an_older_transaction(admin_dsn: str,
                                                         pg_conn: Connection) -> None:
    _setup(admin_dsn, PLAIN)
    early = psycopg.connect(admin_dsn)
    early.execute("SELECT pg_current_xact_id()")

    def act(c: Connection) -> None:
        c.execute("CREATE TABLE x (LIKE t)")
        c.execute("ALTER TABLE t INHERIT x")
        c.execute("UPDATE x SET n = n + 1000 WHERE id <= 5")
        c.execute("ALTER TABLE t NO INHERIT x")
    hook = Hook(admin_dsn, "t", _in_early(early, act))
    messages: list[str] = []
    try:
        _start(admin_dsn, hook, messages, text=PLAIN_TEXT)
    finally:
        early.close()
    assert hook.fired and hook.error is None, hook.error
    assert pg_conn.execute("SELECT count(*) FROM t WHERE id <= 5 AND n > 1000"
                           ).fetchone() == (5,)
    assert _wrong(pg_conn, "t") == [], messages


@pytest.mark.parametrize("older", [False, True])
def test_no_write_skips_every_leaf(admin_dsn: str, pg_conn: Connection, older: bool) -> None:
    """``older``: a client's transaction, its id taken before start, open all along (in the
    watch's snapshot) but changing no catalog row: every leaf still skips."""
    _setup(admin_dsn)
    early = psycopg.connect(admin_dsn)
    if older:
        early.execute("SELECT pg_current_xact_id()")
    messages: list[str] = []
    try:
        _start(admin_dsn, None, messages)
    finally:
        early.close()
    assert _skipped(messages) == sorted(LEAVES), messages
    assert _wrong(pg_conn) == []


# --- start's own steps between the watch and the second pass ---------------------------------

PLAIN3 = ("create table t (id int primary key, n int, s varchar(20), m int);\n"
          "insert into t select g, g, case when g % 5 = 0 then null else 's' || g end, g - 50 "
          "from generate_series(1, 600) g;")
PART3 = ("create table t (id int not null, n int, s varchar(20), m int, primary key (id)) "
         "partition by range (id);\n"
         "create table t_a partition of t for values from (0) to (300);\n"
         "create table t_b partition of t for values from (300) to (10000) "
         "partition by hash (id);\n"
         "create table t_b0 partition of t_b for values with (modulus 2, remainder 0);\n"
         "create table t_b1 partition of t_b for values with (modulus 2, remainder 1);\n"
         "insert into t select g, g, case when g % 5 = 0 then null else 's' || g end, g - 50 "
         "from generate_series(1, 600) g;")
MULTI = ("alter table t alter s type text\n"
         "  add constraint s_len check `length(s) > 1`\n"
         "  set not null\n"
         "  {unique}"
         "  set default 'dflt'\n"
         "  comment 'the s'\n"
         "  up `coalesce(s, 'x' || id)` down `s`;\n"
         "alter table u add w int not null up `n * 2`;")
COPIES = {"t": {"_pgroll_new_s": "coalesce(s, 'x' || id)"}, "u": {"_pgroll_new_w": "n * 2"}}
U = ("\ncreate table u (id int primary key, n int);\n"
     "insert into u select g, g from generate_series(1, 500) g;")


def _copies_wrong(conn: Connection, copies: dict[str, str], table: str = "t") -> int:
    where = " OR ".join(f"{c} IS DISTINCT FROM {e}" for c, e in copies.items())
    row = conn.execute(f"SELECT count(*) FROM {table} WHERE {where}").fetchone()
    assert row is not None
    return int(row[0])


@pytest.mark.parametrize("shape", ["plain", "partitioned"])
def test_several_operations_on_one_table_skip(role_dsn: str, pg_conn: Connection,
                                              shape: str) -> None:
    """One column altered several ways, and another table's column added: start's own steps
    between each watch and its second passes leave every catalog row of the tree as it was
    (each leaf skips)."""
    _setup(role_dsn, (PLAIN3 if shape == "plain" else PART3) + U)
    unique = "add constraint s_unique unique\n" if shape == "plain" else ""
    messages: list[str] = []
    plan = _start(role_dsn, None, messages, text=MULTI.format(unique=unique))
    firsts = sorted(s.relation for s in plan.start if ", first pass," in s.summary)
    leaves = sorted(["t", "u"] if shape == "plain" else ["t_a", "t_b0", "t_b1", "u"])
    assert firsts == leaves
    for table, copies in COPIES.items():
        assert _copies_wrong(pg_conn, copies, table) == 0
    assert _skipped(messages) == leaves, messages


# --- the catalog rows rewritten by maintenance after a round trip ----------------------------

FREEZE: dict[str, tuple[str, ...]] = {
    "vacuum freeze": ("VACUUM (FREEZE) pg_catalog.pg_class",
                      "VACUUM (FREEZE) pg_catalog.pg_attribute"),
    "vacuum full freeze": ("VACUUM (FULL, FREEZE) pg_catalog.pg_class",
                           "VACUUM (FULL, FREEZE) pg_catalog.pg_attribute"),
}


@pytest.mark.parametrize("how", list(FREEZE))
def test_round_trip_then_the_catalog_frozen(admin_dsn: str, pg_conn: Connection,
                                            how: str) -> None:
    """Frozen catalog rows keep their raw xmin (age() unchanged): the leaf still reads."""
    _setup(admin_dsn)
    hook = Hook(admin_dsn, LATE, foreign_round_trip)

    def freeze(c: Connection) -> None:
        for statement in FREEZE[how]:
            c.execute(statement)
    on_step, done = _before_second_pass(admin_dsn, freeze)
    messages: list[str] = []
    _start(admin_dsn, hook, messages, on_step=on_step)
    assert hook.fired and hook.error is None and done, hook.error
    assert "events_2025" not in _skipped(messages)
    assert _wrong(pg_conn) == [], messages
    _complete_and_check(admin_dsn, pg_conn)


def test_moved_out_before_the_watch_and_back_between_the_passes(
        admin_dsn: str, pg_conn: Connection) -> None:
    """The leaf under a foreign parent from before the watch (after start planned), written
    through it after its first pass, moved back before its second pass: its row is younger."""
    _setup(admin_dsn)
    moved: list[bool] = []

    def on_step(event: StepEvent) -> None:
        step = event.step
        if moved or step is None or "backfill watch on events" not in step.summary:
            return
        with psycopg.connect(admin_dsn, autocommit=True) as c:
            c.execute("CREATE TABLE f (LIKE events) PARTITION BY RANGE (at)")
            c.execute("ALTER TABLE events DETACH PARTITION events_2025")
            c.execute("ALTER TABLE f ATTACH PARTITION events_2025 "
                      "FOR VALUES FROM ('2025-01-01') TO ('2026-01-01')")
        moved.append(True)

    def back(c: Connection) -> None:
        c.execute("ALTER TABLE f DETACH PARTITION events_2025")
        c.execute("ALTER TABLE events ATTACH PARTITION events_2025 "
                  "FOR VALUES FROM ('2025-01-01') TO ('2026-01-01')")
    hook = Hook(admin_dsn, LATE, lambda c: c.execute("UPDATE f SET n = n + 1000 WHERE id = 3"))
    second, done = _before_second_pass(admin_dsn, back)

    def both(event: StepEvent) -> None:
        on_step(event)
        second(event)
    messages: list[str] = []
    _start(admin_dsn, hook, messages, on_step=both)
    assert moved and done and hook.fired and hook.error is None, hook.error
    assert pg_conn.execute("SELECT n FROM events WHERE id = 3").fetchone() == (1003,)
    assert "events_2025" not in _skipped(messages)
    assert _wrong(pg_conn) == [], messages
    _complete_and_check(admin_dsn, pg_conn)


@pytest.mark.parametrize("comment", [None, "'not a snapshot'", "'100:100:'", "'{}'",
                                     "'{1,x}'"])
def test_without_the_digest_nothing_skips(admin_dsn: str, pg_conn: Connection,
                                          comment: str | None) -> None:
    """The writes sequence's comment gone (None), or not the watch's digest (a word, the
    ``pg_snapshot`` text an earlier version kept, braces without a number, a stray letter),
    before the first second pass: no leaf skips, no error, every copy right."""
    _setup(admin_dsn)
    text = "NULL" if comment is None else comment
    on_step, done = _before_second_pass(admin_dsn, lambda c: c.execute(
        f"COMMENT ON SEQUENCE public._pgroll_writes_events IS {text}"), leaf=LEAVES[0])
    messages: list[str] = []
    _start(admin_dsn, None, messages, on_step=on_step)
    assert done
    assert _skipped(messages) == [], messages
    assert _wrong(pg_conn) == [], messages
    _complete_and_check(admin_dsn, pg_conn)
