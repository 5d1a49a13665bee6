"""Client writes at every step boundary, for operations the fault harness's corpus leaves out.

``tests/test_fault_harness.py`` enumerates pairs of a fixed set of operation kinds on one
table (``fault_model.OP_KINDS``). This file runs the same technique over the others:
``create_constraint`` over two columns (unique, check, foreign key: several copies at once),
``alter_column`` setting a default, dropping NOT NULL or adding a unique, check or
references constraint to an existing column, ``drop_constraint`` and
``drop_multicolumn_constraint`` (a check, a foreign key and a unique key over two columns),
``rename_constraint``, ``rename_table`` and ``set_replica_identity`` each beside a type
change, ``create_table`` with a foreign key to it from an existing table, a type change
with a new default and comment, and tables keyed otherwise than by one ``id`` column (a
composite primary key, a unique NOT NULL key and no primary key, a primary key column that
is itself retyped, with a foreign key of another table pointing at it).

Each scenario is one migration on a small table ``t`` (``SETUP``, or its own), with a Python
model of its ``up`` and ``down`` (``Scenario.up``, ``Scenario.down``: whole rows, as the sync
triggers compute every copy from the row). At every step boundary of start and of complete
or rollback (``RunOptions.on_step``) four clients each insert a fresh row and update one of
their own: the old version's views, the new version's (once they exist; it also updates one
column alone of a seeded row nobody else writes, to meet rows the backfill has not reached),
the physical table, and the physical table with ``session_replication_role = replica``
(which fires only the triggers enabled ALWAYS, and no foreign key check). Inside the
transaction of complete and rollback a write waits on its own thread for the commit. Every
write records the relation it went through and its values; afterwards the model replays
them (an old-version write: ``up`` of the old row; a new-version write: ``down`` of the new
one; a physical-table write counts as the old version's until complete dropped the copies)
and every row each surviving version shows, and the physical table, must equal it. Between
start and the ending both versions are compared too. After complete the constraints of the
new version must exist, be valid and hold for every row (checked by a query, since a
replica-role write skips foreign keys), nothing of the migration may be left, and the
catalog must be what replaying the two migrations gives; after rollback the catalog must
be as before start.

The only client failures allowed are the documented ones (docs/plan.md, the fault harness's
E1/E2): a write through the old version once complete dropped it, through the new version
once rollback dropped it, and a write of the physical table by its old name once complete
renamed it (the application's, like any renamed table). With a single backfill pass
(``one_pass`` scenarios, the new version before the backfill), a new-version UPDATE by a
retyped key of a row not backfilled yet finds nothing: the view shows the key's copy, still
NULL (docs/plan.md, Limitations, "A new-version read of a row the backfill has not reached
yet").

Found, and fixed since (each failed complete, never rollback): ``rename_constraint`` of a
check on a column the same migration retypes made complete fail every time (the copy took
the new name back; ``RENAME CONSTRAINT`` then named the original, gone with the old column);
a primary key retyped under ``REPLICA IDENTITY USING INDEX`` left the table without a
replica identity (UPDATE and DELETE of a published table then failed). Everything else here
holds.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import psycopg
import pytest
from psycopg import sql

from pgroll_dsl import api
from pgroll_dsl.catalog.introspect import introspect
from tests import fault_model as fm
from tests.live_helpers import dsn_of

if TYPE_CHECKING:
    from pgroll_dsl.backends.runner import StepEvent

pytestmark = [pytest.mark.postgres, pytest.mark.fault]

Connection = psycopg.Connection[tuple[Any, ...]]
Row = dict[str, Any]

SCHEMA = "public"
SETUP_NAME, CHANGE_NAME = "01_setup", "02_change"
OLD_VERSION, NEW_VERSION = f"{SCHEMA}_{SETUP_NAME}", f"{SCHEMA}_{CHANGE_NAME}"
OLD, NEW, BASE, REPLICA = "old", "new", "base", "replica"
ROLES = (OLD, NEW, BASE, REPLICA)
BASE_WRITERS = (BASE, REPLICA)
ID_BASE = {OLD: 100_000, NEW: 200_000, BASE: 300_000, REPLICA: 400_000}
SEEDS = 16  # rows 1..SEEDS: row n belongs to ROLES[n % 4]
SWEEP = 12  # rows SEEDS+1..SEEDS+SWEEP: the new client's one-column updates, one row each
GONE = {"42P01", "3F000"}
SYNC_TIMEOUT = 15.0
QUEUED_TIMEOUT = 60.0

# refs of the foreign keys: p holds the pairs with x + y even, r the ids 1..5.
P_PAIRS = frozenset((x, y) for x in range(1, 6) for y in range(1, 6) if (x + y) % 2 == 0)
R_IDS = frozenset(range(1, 6))

SETUP = """
create table p (x int not null, y int not null, constraint p_pkey primary key (x, y));
create table r (id int primary key);
create table t (id int primary key, a int, b int, c text, d int);
"""


def pg_mod(value: int, by: int) -> int:
    """PostgreSQL's ``%`` (the sign of the dividend)."""
    rest = abs(value) % by
    return rest if value >= 0 else -rest


def pg_div(value: int, by: int) -> int:
    """PostgreSQL's integer ``/`` (truncates toward zero)."""
    quotient = abs(value) // by
    return quotient if value >= 0 else -quotient


def greatest(*values: Any) -> Any:
    """PostgreSQL's ``greatest``: NULLs are left out; NULL only when all are."""
    present = [v for v in values if v is not None]
    return max(present) if present else None


# ---- scenarios -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Shape:
    """One version of the migrated table: its name and columns (key columns first)."""

    table: str
    columns: tuple[str, ...]
    defaults: tuple[tuple[str, Any], ...] = ()  # what an insert that leaves a column out gets

    def default(self, column: str) -> Any:
        return dict(self.defaults).get(column)


Gen = Callable[[str, str, int, int], Any]  # (strictness, column, seq, row) -> value


def default_value(strict: str, column: str, seq: int, n: int) -> Any:
    """Values no scenario's constraint minds (``strict`` is old, new or both)."""
    if column == "a":
        return None if seq % 7 == 3 else (seq * 3 + n) % 9
    if column == "b":
        return None if seq % 5 == 4 else (seq * 5 + n) % 11
    if column == "c":
        return None if seq % 6 == 5 else f"{strict[0]}{seq}-{n}"
    if column == "d":
        return None if seq % 4 == 3 else (seq * 7 + n) % 13 - 4
    raise AssertionError(column)


@dataclass(frozen=True)
class Scenario:
    """One migration, with what each version must show.

    ``up(old_row)`` is the new version's row of an old-version write, ``down(new_row)`` the
    old version's of a new-version write (whole rows, keys included). ``value`` gives the
    values a client writes: ``old`` ones only the old version needs to accept, ``new`` ones
    the new version, ``both`` ones both (the physical table's clients, which cannot know
    whether complete ran). ``omit``: columns an insert leaves out every other time (to
    reach the defaults). ``holds``: queries over the completed schema that count rows
    breaking what the new version promises; ``constraints``: its constraints that must
    exist and be valid; ``rolled_back_holds``: the same for the old version after rollback.
    """

    key: str
    change: str
    old: Shape
    new: Shape
    up: Callable[[Row], Row]
    down: Callable[[Row], Row]
    value: Gen = default_value
    setup: str = SETUP
    row_key: Callable[[int], Row] = lambda n: {"id": n}
    omit: tuple[str, ...] = ()
    omit_roles: tuple[str, ...] = ROLES  # the clients that leave them out
    together: tuple[str, ...] = ()  # an update of one of these writes all (a foreign key)
    holds: tuple[str, ...] = ()
    constraints: tuple[str, ...] = ()
    rolled_back_holds: tuple[str, ...] = ()
    renamed: bool = False  # the table is renamed: base clients lose it at complete
    key_retyped: bool = False  # the row key is rewritten through a copy
    one_pass: bool = False  # also run with a single backfill pass (new version before it)
    xfail_complete: str | None = None  # a known defect of complete (a strict xfail)

    @property
    def key_columns(self) -> tuple[str, ...]:
        return tuple(self.row_key(1))

    def ident(self, row: Row) -> int:
        return int(row[self.key_columns[0]])

    def base_columns(self) -> list[str]:
        """What the physical table's clients write: the columns both shapes have."""
        return [c for c in self.old.columns if c in self.new.columns
                and c not in self.key_columns]

    def values(self, strict: str, columns: Sequence[str], seq: int, n: int) -> Row:
        return {c: self.value(strict, c, seq, n) for c in columns}


def same(row: Row) -> Row:
    return dict(row)


def with_(**changes: Callable[[Row], Any]) -> Callable[[Row], Row]:
    """A whole-row function: the row with ``changes`` computed from it."""
    def apply(row: Row) -> Row:
        return {**row, **{c: f(row) for c, f in changes.items()}}
    return apply


def values_with(**columns: Gen) -> Gen:
    """``default_value`` but for ``columns``."""
    def gen(strict: str, column: str, seq: int, n: int) -> Any:
        if column in columns:
            return columns[column](strict, column, seq, n)
        return default_value(strict, column, seq, n)
    return gen


T = Shape("t", ("id", "a", "b", "c", "d"))
COUNT = "SELECT count(*) FROM {t} WHERE NOT ({cond})"
REPLICA_IDENTITY_INDEX = (
    "SELECT count(*) FROM pg_class c WHERE c.oid = 'public.t'::regclass AND NOT "
    "(c.relreplident = 'i' AND EXISTS (SELECT 1 FROM pg_index i WHERE i.indrelid = c.oid "
    "AND i.indisreplident AND i.indexrelid = 'public.t_pkey'::regclass))")
P_ROW_MISSING = ("SELECT count(*) FROM {t} WHERE a IS NOT NULL AND b IS NOT NULL AND "
                 "NOT EXISTS (SELECT 1 FROM p WHERE p.x = {t}.a AND p.y = {t}.b)")


def in_p(row: Row) -> bool:
    return (row["a"], row["b"]) in P_PAIRS


def pair_in_p(strict: str, column: str, seq: int, n: int) -> Any:
    """An (a, b) pair of ``p`` (or a NULL a) for clients of the new version and the table;
    anything for the old version's."""
    if strict == OLD:
        return default_value(strict, column, seq, n)
    pairs = sorted(P_PAIRS)
    x, y = pairs[(seq + n) % len(pairs)]
    if column == "a":
        return None if seq % 6 == 1 and strict == NEW else x
    return y


def unique_b(strict: str, column: str, seq: int, n: int) -> Any:
    """``b``: 0..9 for the old version; ``n * 10 + k`` (unique per row) otherwise."""
    if strict == OLD:
        return None if seq % 5 == 4 else (seq + n) % 10
    return None if seq % 5 == 4 and strict == NEW else n * 10 + seq % 10


def a_le_b(strict: str, column: str, seq: int, n: int) -> Any:
    """``a <= b`` where it must hold, whatever the row's other column holds (a single-column
    update keeps the other): ``a`` negative, ``b`` above every ``a`` any client writes;
    anything for the version without the check (``strict`` old)."""
    if strict == OLD:
        return default_value(strict, column, seq, n)
    if column == "a":
        return None if seq % 7 == 3 else -((seq + n) % 5)
    return None if seq % 5 == 4 else 9 + (seq + n) % 4


SCENARIOS = [
    # -- create_constraint over two columns: copies of both, triggers over both ---------------
    Scenario(
        "cc_unique_ab",
        "alter table t add constraint t_ab_key unique (a, b) "
        "up (b `coalesce(b, 0) % 10 + id * 10`) down (b `b % 10`);",
        T, T,
        up=with_(b=lambda r: pg_mod(r["b"] or 0, 10) + r["id"] * 10),
        down=with_(b=lambda r: None if r["b"] is None else pg_mod(r["b"], 10)),
        value=values_with(b=unique_b),
        holds=("SELECT count(*) FROM (SELECT a, b FROM t WHERE a IS NOT NULL AND b IS NOT NULL "
               "GROUP BY a, b HAVING count(*) > 1) s",),
        constraints=("t_ab_key",), one_pass=True),
    Scenario(
        "cc_check_ab",
        "alter table t add constraint t_ab_chk check `a <= b` up (b `greatest(a, b)`);",
        T, T,
        up=with_(b=lambda r: greatest(r["a"], r["b"])), down=same,
        value=values_with(a=a_le_b, b=a_le_b),
        holds=(COUNT.format(t="t", cond="coalesce(a <= b, true)"),),
        constraints=("t_ab_chk",), one_pass=True),
    Scenario(
        "cc_fk_ab",
        "alter table t add constraint t_ab_fk foreign key (a, b) references p (x, y) "
        "up (a `CASE WHEN EXISTS (SELECT 1 FROM p WHERE p.x = a AND p.y = b) THEN a END`);",
        T, T,
        up=with_(a=lambda r: r["a"] if in_p(r) else None), down=same,
        value=values_with(a=pair_in_p, b=pair_in_p), together=("a", "b"),
        holds=(P_ROW_MISSING.format(t="t"),),
        constraints=("t_ab_fk",), one_pass=True),
    # -- alter_column: a default, NOT NULL dropped, a constraint added ------------------------
    Scenario(
        "ac_set_default",
        "alter table t alter c set default 'dflt';",
        T, dataclasses.replace(T, defaults=(("c", "dflt"),)),
        up=same, down=same, omit=("c",)),
    Scenario(
        "ac_type_default_comment",
        "alter table t alter d type bigint set default 7 comment 'the d' "
        "up `d * 10` down `(d / 10)::int`;",
        T, dataclasses.replace(T, defaults=(("d", 7),)),
        up=with_(d=lambda r: None if r["d"] is None else r["d"] * 10),
        down=with_(d=lambda r: None if r["d"] is None else pg_div(r["d"], 10)),
        omit=("d",)),
    Scenario(
        "ac_drop_not_null",
        "alter table t alter c drop not null down `coalesce(c, 'was null')`;",
        Shape("t", ("id", "a", "b", "c", "d")), T,
        setup=SETUP.replace("c text,", "c text not null,"),
        up=same, down=with_(c=lambda r: "was null" if r["c"] is None else r["c"]),
        value=values_with(c=lambda s, c, q, n: None if s == NEW and q % 3 == 0
                          else f"{s[0]}{q}-{n}"),
        rolled_back_holds=(COUNT.format(t="t", cond="c IS NOT NULL"),)),
    Scenario(
        "ac_drop_not_null_type_default",
        "alter table t alter c type varchar(60) drop not null set default 'dd' "
        "comment 'the c' down `coalesce(c, 'was null')`;",
        Shape("t", ("id", "a", "b", "c", "d")),
        dataclasses.replace(T, defaults=(("c", "dd"),)),
        setup=SETUP.replace("c text,", "c text not null,"),
        up=same, down=with_(c=lambda r: "was null" if r["c"] is None else r["c"]),
        value=values_with(c=lambda s, c, q, n: None if s == NEW and q % 3 == 0
                          else f"{s[0]}{q}-{n}"),
        omit=("c",), omit_roles=(NEW,),
        rolled_back_holds=(COUNT.format(t="t", cond="c IS NOT NULL"),)),
    Scenario(
        "ac_add_unique",
        "alter table t alter a add constraint t_a_key unique "
        "up `coalesce(a, 0) % 1000 + id * 1000`;",
        T, T,
        up=with_(a=lambda r: pg_mod(r["a"] or 0, 1000) + r["id"] * 1000), down=same,
        value=values_with(a=lambda s, c, q, n: (q * 3 + n) % 999 if s == OLD
                          else (None if q % 7 == 3 and s == NEW else n * 1000 + q % 1000)),
        holds=("SELECT count(*) FROM (SELECT a FROM t WHERE a IS NOT NULL GROUP BY a "
               "HAVING count(*) > 1) s",),
        constraints=("t_a_key",)),
    Scenario(
        "ac_add_check",
        "alter table t alter d add constraint t_d_pos check `d > 0` "
        "up `CASE WHEN d > 0 THEN d ELSE 1 END`;",
        T, T,
        up=with_(d=lambda r: r["d"] if r["d"] is not None and r["d"] > 0 else 1), down=same,
        value=values_with(d=lambda s, c, q, n: default_value(s, c, q, n) if s == OLD
                          else (None if q % 4 == 3 and s == NEW else (q * 7 + n) % 13 + 1)),
        holds=(COUNT.format(t="t", cond="coalesce(d > 0, true)"),),
        constraints=("t_d_pos",)),
    Scenario(
        "ac_add_references",
        "alter table t alter d add constraint t_d_fk references r (id) "
        "up `CASE WHEN EXISTS (SELECT 1 FROM r WHERE r.id = d) THEN d END`;",
        T, T,
        up=with_(d=lambda r: r["d"] if r["d"] in R_IDS else None), down=same,
        value=values_with(d=lambda s, c, q, n: default_value(s, c, q, n) if s == OLD
                          else (None if q % 4 == 3 and s == NEW else (q + n) % 5 + 1)),
        holds=("SELECT count(*) FROM t WHERE d IS NOT NULL AND d NOT IN (SELECT id FROM r)",),
        constraints=("t_d_fk",)),
    # -- drop_constraint / drop_multicolumn_constraint: copies without the constraint --------
    Scenario(
        "drop_check_d",
        "alter table t drop constraint t_d_chk up d down `greatest(d, 0)`;",
        T, T,
        setup=SETUP.replace("d int);", "d int, constraint t_d_chk check `d >= 0`);"),
        up=same, down=with_(d=lambda r: greatest(r["d"], 0)),
        value=values_with(d=lambda s, c, q, n: default_value(s, c, q, n) if s == NEW
                          else (None if q % 4 == 3 else (q * 7 + n) % 13)),
        rolled_back_holds=(COUNT.format(t="t", cond="coalesce(d >= 0, true)"),)),
    Scenario(
        "drop_check_ab",
        "alter table t drop constraint t_ab_chk down (a, b `greatest(a, b)`);",
        T, T,
        setup=SETUP.replace("d int);", "d int, constraint t_ab_chk check `a <= b`);"),
        up=same, down=with_(b=lambda r: greatest(r["a"], r["b"])),
        value=values_with(a=lambda s, c, q, n: a_le_b(OLD if s == NEW else NEW, c, q, n),
                          b=lambda s, c, q, n: a_le_b(OLD if s == NEW else NEW, c, q, n)),
        rolled_back_holds=(COUNT.format(t="t", cond="coalesce(a <= b, true)"),)),
    Scenario(
        "drop_fk_ab",
        "alter table t drop constraint t_ab_fk down (a "
        "`CASE WHEN EXISTS (SELECT 1 FROM p WHERE p.x = a AND p.y = b) THEN a END`, b);",
        T, T,
        setup=SETUP.replace("d int);", "d int, constraint t_ab_fk foreign key (a, b) "
                                       "references p (x, y));"),
        up=same, down=with_(a=lambda r: r["a"] if in_p(r) else None),
        value=values_with(a=lambda s, c, q, n: pair_in_p(OLD if s == NEW else NEW, c, q, n),
                          b=lambda s, c, q, n: pair_in_p(OLD if s == NEW else NEW, c, q, n)),
        together=("a", "b"),
        rolled_back_holds=(P_ROW_MISSING.format(t="t"),), one_pass=True),
    Scenario(
        "drop_unique_ab",
        "alter table t drop constraint t_ab_key down (a, b `coalesce(b, 0) % 10 + id * 10`);",
        T, T,
        setup=SETUP.replace("d int);", "d int, constraint t_ab_key unique (a, b));"),
        up=same, down=with_(b=lambda r: pg_mod(r["b"] or 0, 10) + r["id"] * 10),
        value=values_with(b=lambda s, c, q, n: unique_b(OLD if s == NEW else NEW, c, q, n)),
        rolled_back_holds=(
            "SELECT count(*) FROM (SELECT a, b FROM t WHERE a IS NOT NULL AND b IS NOT NULL "
            "GROUP BY a, b HAVING count(*) > 1) s",)),
    # -- operations without copies beside a type change --------------------------------------
    Scenario(
        "rename_constraint_and_type",
        "alter table t rename constraint t_d_chk to t_d_nonneg;\n"
        "alter table t alter d type bigint up `d * 10` down `(d / 10)::int`;",
        T, T,
        setup=SETUP.replace("d int);", "d int, constraint t_d_chk check `d >= 0`);"),
        up=with_(d=lambda r: None if r["d"] is None else r["d"] * 10),
        down=with_(d=lambda r: None if r["d"] is None else pg_div(r["d"], 10)),
        value=values_with(d=lambda s, c, q, n: None if q % 4 == 3 else (q * 7 + n) % 13),
        holds=(COUNT.format(t="t", cond="coalesce(d >= 0, true)"),),
        constraints=("t_d_nonneg",)),
    Scenario(
        "type_and_rename_constraint",
        "alter table t alter d type bigint up `d * 10` down `(d / 10)::int`;\n"
        "alter table t rename constraint t_d_chk to t_d_nonneg;",
        T, T,
        setup=SETUP.replace("d int);", "d int, constraint t_d_chk check `d >= 0`);"),
        up=with_(d=lambda r: None if r["d"] is None else r["d"] * 10),
        down=with_(d=lambda r: None if r["d"] is None else pg_div(r["d"], 10)),
        value=values_with(d=lambda s, c, q, n: None if q % 4 == 3 else (q * 7 + n) % 13),
        holds=(COUNT.format(t="t", cond="coalesce(d >= 0, true)"),),
        constraints=("t_d_nonneg",)),
    Scenario(
        "rename_table_and_type",
        "alter table t rename to t2;\n"
        "alter table t2 alter d type bigint up `d * 10` down `(d / 10)::int`;",
        T, Shape("t2", T.columns),
        up=with_(d=lambda r: None if r["d"] is None else r["d"] * 10),
        down=with_(d=lambda r: None if r["d"] is None else pg_div(r["d"], 10)),
        renamed=True),
    Scenario(
        "type_and_rename_table",
        "alter table t alter d type bigint up `d * 10` down `(d / 10)::int`;\n"
        "alter table t rename to t2;",
        T, Shape("t2", T.columns),
        up=with_(d=lambda r: None if r["d"] is None else r["d"] * 10),
        down=with_(d=lambda r: None if r["d"] is None else pg_div(r["d"], 10)),
        renamed=True),
    Scenario(
        "replica_identity_and_type",
        "alter table t replica identity full;\n"
        "alter table t alter d type bigint up `d * 10` down `(d / 10)::int`;",
        T, T,
        up=with_(d=lambda r: None if r["d"] is None else r["d"] * 10),
        down=with_(d=lambda r: None if r["d"] is None else pg_div(r["d"], 10)),
        holds=("SELECT count(*) FROM pg_class WHERE oid = 'public.t'::regclass "
               "AND relreplident <> 'f'",)),
    Scenario(
        "create_table_and_references_it",
        "create table r2 (id int primary key);\n"
        "alter table t alter d add constraint t_d_r2 references r2 (id) "
        "up `CASE WHEN EXISTS (SELECT 1 FROM r2 WHERE r2.id = d) THEN d END`;",
        T, T,
        up=with_(d=lambda r: None), down=same,
        value=values_with(d=lambda s, c, q, n: default_value(s, c, q, n) if s == OLD
                          else None),
        holds=("SELECT count(*) FROM t WHERE d IS NOT NULL AND d NOT IN "
               "(SELECT id FROM r2)",),
        constraints=("t_d_r2",)),
    Scenario(
        "cc_check_ab_then_rename_it",
        "alter table t add constraint t_ab_chk check `a <= b` up (b `greatest(a, b)`);\n"
        "alter table t rename constraint t_ab_chk to t_ab_le;",
        T, T,
        up=with_(b=lambda r: greatest(r["a"], r["b"])), down=same,
        value=values_with(a=a_le_b, b=a_le_b),
        holds=(COUNT.format(t="t", cond="coalesce(a <= b, true)"),),
        constraints=("t_ab_le",)),
    Scenario(
        "cc_unique_ab_and_type_d",
        "alter table t add constraint t_ab_key unique (a, b) "
        "up (b `coalesce(b, 0) % 10 + id * 10`) down (b `b % 10`);\n"
        "alter table t alter d type bigint up `d * 10` down `(d / 10)::int`;",
        T, T,
        up=with_(b=lambda r: pg_mod(r["b"] or 0, 10) + r["id"] * 10,
                 d=lambda r: None if r["d"] is None else r["d"] * 10),
        down=with_(b=lambda r: None if r["b"] is None else pg_mod(r["b"], 10),
                   d=lambda r: None if r["d"] is None else pg_div(r["d"], 10)),
        value=values_with(b=unique_b),
        holds=("SELECT count(*) FROM (SELECT a, b FROM t WHERE a IS NOT NULL AND b IS NOT NULL "
               "GROUP BY a, b HAVING count(*) > 1) s",),
        constraints=("t_ab_key",), one_pass=True),
    Scenario(
        "rename_table_and_cc_check",
        "alter table t rename to t2;\n"
        "alter table t2 add constraint t2_ab_chk check `a <= b` up (b `greatest(a, b)`);",
        T, Shape("t2", T.columns),
        up=with_(b=lambda r: greatest(r["a"], r["b"])), down=same,
        value=values_with(a=a_le_b, b=a_le_b),
        holds=(COUNT.format(t="t2", cond="coalesce(a <= b, true)"),),
        constraints=("t2_ab_chk",), renamed=True),
    Scenario(
        "ac_drop_default",
        "alter table t alter c drop default;",
        dataclasses.replace(T, defaults=(("c", "x"),)), T,
        setup=SETUP.replace("c text,", "c text default 'x',"),
        up=same, down=same, omit=("c",)),
    Scenario(
        "replica_identity_index_and_key_retyped",
        "alter table t replica identity using index t_pkey;\n"
        "alter table t alter id type bigint;",
        T, T, key_retyped=True,
        up=same, down=same,
        holds=(REPLICA_IDENTITY_INDEX,),
        constraints=("t_pkey",)),
    Scenario(
        "key_retyped_under_replica_identity_index",
        "alter table t alter id type bigint;",
        T, T, key_retyped=True,
        setup=SETUP + "alter table t replica identity using index t_pkey;\n",
        up=same, down=same,
        holds=(REPLICA_IDENTITY_INDEX,),
        rolled_back_holds=(REPLICA_IDENTITY_INDEX,),
        constraints=("t_pkey",)),
    Scenario(
        "create_table_referencing_retyped_key",
        "create table ch2 (id int primary key, t_id int constraint ch2_t_fk references t (id));\n"
        "alter table t alter id type bigint;",
        T, T, key_retyped=True,
        up=same, down=same,
        holds=("SELECT count(*) FROM pg_attribute WHERE attrelid = 'public.t'::regclass "
               "AND attname = 'id' AND atttypid <> 'bigint'::regtype",),
        constraints=("t_pkey", "ch2_t_fk")),
    # -- other keys --------------------------------------------------------------------------
    Scenario(
        "composite_pk_type",
        "alter table t alter d type bigint up `d * 10` down `(d / 10)::int`;",
        Shape("t", ("k1", "k2", "a", "b", "c", "d")), Shape("t", ("k1", "k2", "a", "b", "c", "d")),
        setup=SETUP.replace("create table t (id int primary key,",
                            "create table t (k1 int not null, k2 int not null,").replace(
            "d int);", "d int, constraint t_pkey primary key (k1, k2));"),
        row_key=lambda n: {"k1": n, "k2": n % 3 + 1},
        up=with_(d=lambda r: None if r["d"] is None else r["d"] * 10),
        down=with_(d=lambda r: None if r["d"] is None else pg_div(r["d"], 10)),
        constraints=("t_pkey",)),
    Scenario(
        "composite_pk_key_retyped",
        "alter table t alter k2 type bigint;",
        Shape("t", ("k1", "k2", "a", "b", "c", "d")), Shape("t", ("k1", "k2", "a", "b", "c", "d")),
        setup=SETUP.replace("create table t (id int primary key,",
                            "create table t (k1 int not null, k2 int not null,").replace(
            "d int);", "d int, constraint t_pkey primary key (k1, k2));"),
        row_key=lambda n: {"k1": n, "k2": n % 3 + 1}, key_retyped=True,
        up=same, down=same,
        holds=("SELECT count(*) FROM pg_attribute WHERE attrelid = 'public.t'::regclass "
               "AND attname = 'k2' AND atttypid <> 'bigint'::regtype",),
        constraints=("t_pkey",), one_pass=True),
    Scenario(
        "unique_key_no_pk_type",
        "alter table t alter d type bigint up `d * 10` down `(d / 10)::int`;",
        Shape("t", ("k", "a", "b", "c", "d")), Shape("t", ("k", "a", "b", "c", "d")),
        setup=SETUP.replace("create table t (id int primary key,",
                            "create table t (k int not null,").replace(
            "d int);", "d int, constraint t_k_key unique (k));"),
        row_key=lambda n: {"k": n},
        up=with_(d=lambda r: None if r["d"] is None else r["d"] * 10),
        down=with_(d=lambda r: None if r["d"] is None else pg_div(r["d"], 10)),
        constraints=("t_k_key",)),
    Scenario(
        "pk_retyped_with_referrer",
        "alter table t alter id type bigint;",
        T, T, key_retyped=True,
        setup=SETUP + "create table ch (id int primary key, "
                      "t_id int constraint ch_t_fk references t (id));\n",
        up=same, down=same,
        holds=("SELECT count(*) FROM ch WHERE t_id IS NOT NULL AND t_id NOT IN "
               "(SELECT id FROM t)",
               "SELECT count(*) FROM pg_attribute WHERE attrelid = 'public.t'::regclass "
               "AND attname = 'id' AND atttypid <> 'bigint'::regtype"),
        constraints=("t_pkey", "ch_t_fk")),
]


# ---- clients ---------------------------------------------------------------------------------


@dataclass
class Write:
    role: str
    kind: str  # insert | update
    n: int
    values: Row
    where: str
    phase: str  # start | between | complete | rollback | after
    ok: bool = False
    error: str | None = None
    sqlstate: str | None = None
    returned: tuple[str, ...] = ()
    through: str = ""

    def describe(self) -> str:
        outcome = f"ok via {self.through}" if self.ok else f"FAILED {self.sqlstate}: {self.error}"
        return f"{self.role} {self.kind} n={self.n} {self.values} at {self.where}: {outcome}"


class Client:
    """One connection, one thread: its writes run strictly in the order submitted."""

    def __init__(self, dsn: str, s: Scenario, role: str) -> None:
        self.role = role
        self.scenario = s
        path = {OLD: OLD_VERSION, NEW: NEW_VERSION}.get(role, SCHEMA)
        self.conn = fm.connect_client(dsn, path, role)
        if role == REPLICA:
            self.conn.execute("SET session_replication_role = replica")
        self.pid = self.conn.info.backend_pid
        self.pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix=f"ops-{role}")
        self.owned = [n for n in range(1, SEEDS + 1) if n % len(ROLES) == ROLES.index(role)]
        self.sweep = list(range(SEEDS + 1, SEEDS + SWEEP + 1)) if role == NEW else []
        self.next_id = ID_BASE[role]
        self.seq = 0

    @property
    def shape(self) -> Shape:
        return self.scenario.new if self.role == NEW else self.scenario.old

    def columns(self) -> list[str]:
        s = self.scenario
        if self.role in BASE_WRITERS:
            return s.base_columns()
        return [c for c in self.shape.columns if c not in s.key_columns]

    def strict(self) -> str:
        return {OLD: OLD, NEW: NEW}.get(self.role, "both")

    def next_write(self, where: str, phase: str, insert: bool) -> Write:
        self.seq += 1
        columns = self.columns()
        if insert:
            self.next_id += 1
            n = self.next_id
            if self.seq % 4 == 1 and self.role in self.scenario.omit_roles:
                # every other insert leaves the ``omit`` columns out
                columns = [c for c in columns if c not in self.scenario.omit]
        else:
            n = self.owned[self.seq % len(self.owned)]
            if self.seq % 2 == 1:
                columns = self.alone(columns[self.seq // 2 % len(columns)])
        values = self.scenario.values(self.strict(), columns, self.seq, n)
        return Write(self.role, "insert" if insert else "update", n, values, where, phase)

    def sweep_write(self, where: str, phase: str) -> Write | None:
        """One column of a seeded row no one has written (the backfill may not have either)."""
        if not self.sweep:
            return None
        self.seq += 1
        n = self.sweep.pop(0)
        columns = self.columns()
        alone = self.alone(columns[n % len(columns)])
        return Write(self.role, "update", n,
                     self.scenario.values(self.strict(), alone, self.seq, n), where, phase)

    def alone(self, column: str) -> list[str]:
        """What an update of ``column`` alone writes (its ``together`` group)."""
        group = self.scenario.together
        return [c for c in group if c in self.columns()] if column in group else [column]

    def submit(self, write: Write) -> Future[Write]:
        return self.pool.submit(self._execute, write)

    def _execute(self, write: Write) -> Write:
        s = self.scenario
        table = sql.Identifier(self.shape.table)
        returning = sql.SQL(
            " RETURNING to_jsonb({t}.*), (SELECT typnamespace::regnamespace::text "
            "FROM pg_catalog.pg_type WHERE oid = pg_typeof({t}.*))").format(t=table)
        key = s.row_key(write.n)
        if write.kind == "insert":
            row = {**key, **write.values}
            statement = sql.SQL("INSERT INTO {} ({}) VALUES ({}){}").format(
                table, sql.SQL(", ").join(map(sql.Identifier, row)),
                sql.SQL(", ").join(sql.Placeholder() * len(row)), returning)
            params = list(row.values())
        else:
            statement = sql.SQL("UPDATE {} SET {} WHERE {}{}").format(
                table, sql.SQL(", ").join(sql.SQL("{} = %s").format(sql.Identifier(c))
                                          for c in write.values),
                sql.SQL(" AND ").join(sql.SQL("{} = %s").format(sql.Identifier(c))
                                      for c in key), returning)
            params = [*write.values.values(), *key.values()]
        try:
            rows = self.conn.execute(statement, params).fetchall()
            if len(rows) != 1:
                write.error, write.sqlstate = f"touched {len(rows)} rows", "ROWS"
            else:
                write.ok = True
                write.returned = tuple(rows[0][0])
                write.through = rows[0][1]
                if write.kind == "insert":
                    self.owned.append(write.n)
        except psycopg.Error as err:
            text = str(err).strip()
            write.error = text.splitlines()[0] if text else repr(err)
            write.sqlstate = err.sqlstate
        return write

    def close(self) -> None:
        self.pool.shutdown(wait=True)
        self.conn.close()


# ---- the model -------------------------------------------------------------------------------


class Model:
    """Both versions of every row, from the writes that succeeded."""

    def __init__(self, s: Scenario) -> None:
        self.s = s
        self.rows: dict[int, tuple[Row, Row]] = {}
        self.last: dict[int, str] = {}

    def old_write(self, n: int, values: Row, insert: bool, who: str) -> None:
        s = self.s
        base = ({c: s.old.default(c) for c in s.old.columns} if insert
                else dict(self.rows[n][0]))
        old = {**base, **values, **s.row_key(n)}
        self.rows[n] = (old, s.up(old))
        self.last[n] = who

    def new_write(self, n: int, values: Row, insert: bool, who: str) -> None:
        s = self.s
        base = ({c: s.new.default(c) for c in s.new.columns} if insert
                else dict(self.rows[n][1]))
        new = {**base, **values, **s.row_key(n)}
        self.rows[n] = (s.down(new), new)
        self.last[n] = who


def seed_values(s: Scenario, n: int) -> Row:
    columns = [c for c in s.old.columns if c not in s.key_columns]
    return s.values(OLD, columns, 1000 + n, n)


def allowed_failure(s: Scenario, w: Write, ending: str, two_passes: bool) -> bool:
    if (w.sqlstate == "ROWS" and s.key_retyped and not two_passes and w.role == NEW
            and w.kind == "update" and w.phase == "start"):
        # A new-version UPDATE by a retyped key of a row the single backfill pass has not
        # reached: the view shows that key's copy, still NULL (docs/plan.md, Limitations:
        # "A new-version read of a row the backfill has not reached yet sees the copy as
        # start added it"); two passes (the default) show no such row.
        return True
    if w.sqlstate not in GONE:
        return False
    if w.role == OLD and ending == "complete" and w.phase in ("complete", "after"):
        return True  # E1
    if w.role == NEW and ending == "rollback" and w.phase in ("rollback", "after"):
        return True  # E2
    return (w.role in BASE_WRITERS and s.renamed and ending == "complete"
            and w.phase in ("complete", "after"))


def build_model(s: Scenario, writes: Sequence[Write], ending: str,
                problems: list[str], two_passes: bool = True) -> Model:
    model = Model(s)
    for n in range(1, SEEDS + SWEEP + 1):
        model.old_write(n, seed_values(s, n), True, "seed")
    for w in writes:
        if not w.ok:
            if not allowed_failure(s, w, ending, two_passes):
                problems.append(f"client write failed: {w.describe()}")
            continue
        who = f"{w.role}@{w.where}"
        insert = w.kind == "insert"
        if w.through == OLD_VERSION and w.role == OLD:
            model.old_write(w.n, w.values, insert, who)
        elif w.through == NEW_VERSION and w.role == NEW:
            model.new_write(w.n, w.values, insert, who)
        elif w.through == SCHEMA and w.role in BASE_WRITERS:
            # The table has the migration's shape (copies) until complete commits.
            migrating = any(c.startswith("_pgroll") for c in w.returned)
            if (ending == "complete" and not migrating
                    and (w.phase == "after" or w.phase == "complete")):
                model.new_write(w.n, w.values, insert, who)
            else:
                model.old_write(w.n, w.values, insert, who)
        else:
            problems.append(f"client write went through {w.through!r}: {w.describe()}")
    return model


def read_rows(conn: Connection, table: str, columns: Sequence[str]) -> dict[int, Row]:
    cursor = conn.execute(sql.SQL("SELECT {} FROM {}").format(
        sql.SQL(", ").join(map(sql.Identifier, columns)), sql.Identifier(table)))
    return {int(r[0]): dict(zip(columns, r, strict=True)) for r in cursor.fetchall()}


def compare(actual: dict[int, Row], expected: dict[int, Row], model: Model, label: str,
            problems: list[str]) -> None:
    if set(actual) != set(expected):
        problems.append(f"{label}: rows missing {sorted(set(expected) - set(actual))[:10]}, "
                        f"unexpected {sorted(set(actual) - set(expected))[:10]}")
    wrong = [n for n in sorted(set(actual) & set(expected)) if actual[n] != expected[n]]
    for n in wrong[:8]:
        problems.append(f"{label}: row {n} (last written by {model.last.get(n)}) is "
                        f"{actual[n]}, the model says {expected[n]}")
    if len(wrong) > 8:
        problems.append(f"{label}: {len(wrong)} rows differ in all")


def through(dsn: str, path: str, shape: Shape, key: str) -> dict[int, Row]:
    with contextlib.closing(fm.connect_client(dsn, path, "check")) as reader:
        columns = [key, *(c for c in shape.columns if c != key)]
        return read_rows(reader, shape.table, columns)


def expected_rows(model: Model, side: int, shape: Shape, key: str) -> dict[int, Row]:
    columns = [key, *(c for c in shape.columns if c != key)]
    return {n: {c: rows[side][c] for c in columns} for n, rows in model.rows.items()}


# ---- the schedule ---------------------------------------------------------------------------


class StepWriter:
    """``on_step``: at each boundary every client that exists inserts a row and updates one."""

    def __init__(self, dsn: str, s: Scenario) -> None:
        self.dsn = dsn
        self.s = s
        self.clients = {role: Client(dsn, s, role) for role in (OLD, BASE, REPLICA)}
        self.probe = psycopg.connect(dsn, autocommit=True)
        self.writes: list[Write] = []
        self.pending: list[tuple[Write, Future[Write]]] = []
        self.problems: list[str] = []
        self.seen: set[tuple[str, int]] = set()
        self.retries: list[str] = []
        self.boundaries = 0
        self.lock = threading.Lock()

    def __call__(self, event: StepEvent) -> None:
        where = f"{event.phase.value} {event.index + 1}/{event.total + 1}" + (
            " (in transaction)" if event.in_transaction else "")
        try:
            if (event.phase.value, event.index) in self.seen:
                return
            self.seen.add((event.phase.value, event.index))
            self.boundaries += 1
            self.round(where, event.phase.value, wait=not event.in_transaction)
        except Exception as err:  # noqa: BLE001 - never break the executor
            self.problems.append(f"on_step hook failed at {where}: {type(err).__name__}: {err}")

    def retried(self, step: Any, attempt: int, delay: float) -> None:
        self.retries.append(f"{step.summary} (attempt {attempt})")

    def round(self, where: str, phase: str, wait: bool = True) -> None:
        with self.lock:
            if NEW not in self.clients and fm.relation_exists(self.probe, NEW_VERSION,
                                                              self.s.new.table):
                self.clients[NEW] = Client(self.dsn, self.s, NEW)
            submitted: list[tuple[Write, Future[Write]]] = []
            for client in self.clients.values():
                for insert in (True, False):
                    write = client.next_write(where, phase, insert)
                    submitted.append((write, client.submit(write)))
                sweep = client.sweep_write(where + " (sweep)", phase)
                if sweep is not None:
                    submitted.append((sweep, client.submit(sweep)))
            self.writes.extend(w for w, _ in submitted)
            if not wait:
                self.pending.extend(submitted)
                self.await_blocked()
                return
            for write, future in submitted:
                try:
                    future.result(timeout=SYNC_TIMEOUT)
                except FutureTimeout:
                    self.problems.append(f"a write blocked {SYNC_TIMEOUT}s outside any "
                                         f"transaction: {write.describe()}")
                    self.pending.append((write, future))

    def await_blocked(self) -> None:
        """Each client's queued writes are done or waiting for a lock (a deterministic
        schedule: the executor's next statement meets them in flight)."""
        deadline = time.monotonic() + QUEUED_TIMEOUT
        for client in self.clients.values():
            mine = [f for w, f in self.pending if w.role == client.role]
            while not all(f.done() for f in mine):
                if fm.waiting_for_lock(self.probe, client.pid):
                    break
                if time.monotonic() > deadline:
                    self.problems.append(f"a queued write of {client.role} neither finished "
                                         "nor waited for a lock")
                    break
                time.sleep(0.002)

    def settle(self) -> None:
        self.problems += fm.settled(self.pending)

    def close(self) -> None:
        for client in self.clients.values():
            client.close()
        self.probe.close()


def constraint_problems(conn: Connection, s: Scenario, queries: Sequence[str],
                        names: Sequence[str], label: str) -> list[str]:
    out = []
    for query in queries:
        row = conn.execute(query).fetchone()
        if row is not None and row[0]:
            out.append(f"{label}: {row[0]} rows break: {query}")
    for name in names:
        found = conn.execute(
            "SELECT convalidated FROM pg_constraint c JOIN pg_namespace n "
            "ON n.oid = c.connamespace WHERE n.nspname = %s AND conname = %s",
            (SCHEMA, name)).fetchall()
        if found != [(True,)]:
            out.append(f"{label}: constraint {name} is {found or 'missing'}")
    return out


def reference_catalog(conn: Connection, dsn: str, s: Scenario) -> Any:
    """The catalog of a clean start+complete of the scenario (no clients), made in the
    schema ``ref`` of the test's database before its own run (a replay would spell defaults
    as written, not as PostgreSQL prints them), or the error of that run."""
    conn.execute("CREATE SCHEMA ref")
    runner = fm.make_runner(dsn, "ref")
    try:
        for text, name in ((s.setup, SETUP_NAME), (s.change, CHANGE_NAME)):
            runner.start(api.compile_source(text, f"{name}.pgroll").migration)
            runner.complete()
    except Exception as err:  # noqa: BLE001 - a clean run that fails is itself a finding
        return f"{type(err).__name__}: {err}"
    finally:
        runner.close()
    return dataclasses.replace(introspect(conn, "ref"), schema=SCHEMA)


def catalog_problems(conn: Connection, expected: Any) -> list[str]:
    if isinstance(expected, str):
        return [f"a clean start+complete fails: {expected}"]
    return [f"catalog after complete differs from a clean run: {d}"
            for d in fm.catalog_diff(expected, introspect(conn, SCHEMA))]


def run(conn: Connection, dsn: str, s: Scenario, ending: str, two_passes: bool) -> list[str]:
    # (one pass makes the same catalog as two: its run is compared with the model only)
    reference = reference_catalog(conn, dsn, s) if ending == "complete" and two_passes \
        else None
    runner = fm.make_runner(dsn, init=True)
    try:
        runner.start(api.compile_source(s.setup, f"{SETUP_NAME}.pgroll").migration)
        runner.complete()
    finally:
        runner.close()
    conn.execute("INSERT INTO p SELECT x, y FROM jsonb_to_recordset(%s::jsonb) "
                 "AS j(x int, y int)",
                 (json.dumps([{"x": x, "y": y} for x, y in sorted(P_PAIRS)]),))
    conn.execute("INSERT INTO r SELECT generate_series(1, 5)")
    seeds = [{**s.row_key(n), **seed_values(s, n)} for n in range(1, SEEDS + SWEEP + 1)]
    columns = list(seeds[0])
    with conn.cursor() as cursor:
        cursor.executemany(sql.SQL("INSERT INTO t ({}) VALUES ({})").format(
            sql.SQL(", ").join(map(sql.Identifier, columns)),
            sql.SQL(", ").join(sql.Placeholder() * len(columns))),
            [list(r.values()) for r in seeds])
    if fm.relation_exists(conn, SCHEMA, "ch"):
        conn.execute("INSERT INTO ch SELECT n, n FROM generate_series(1, %s) n", (SEEDS,))
    before = fm.fingerprint(conn)

    problems: list[str] = []
    writer = StepWriter(dsn, s)
    runner = fm.make_runner(dsn, on_step=writer, on_retry=writer.retried,
                            two_passes=two_passes)
    key = s.key_columns[0]
    started = False
    try:
        try:
            runner.start(api.compile_source(s.change, f"{CHANGE_NAME}.pgroll").migration)
            started = True
        except Exception as err:  # noqa: BLE001 - reported with the rest
            problems.append(f"start failed: {type(err).__name__}: {err}")
        writer.settle()
        if started:
            writer.round(f"between start and {ending}", "between")
            model = build_model(s, writer.writes, "between", [])
            compare(through(dsn, OLD_VERSION, s.old, key), expected_rows(model, 0, s.old, key),
                    model, "old version after start", problems)
            compare(through(dsn, NEW_VERSION, s.new, key), expected_rows(model, 1, s.new, key),
                    model, "new version after start", problems)
            try:
                getattr(runner, ending)()
            except Exception as err:  # noqa: BLE001
                problems.append(f"{ending} failed: {type(err).__name__}: {err}")
            writer.settle()
        writer.round(f"after {ending}", "after")
        writer.settle()
    finally:
        runner.close()
        writer.close()
    problems += writer.problems
    problems += [f"lock retry: {r}" for r in writer.retries]
    if writer.boundaries < 5:
        problems.append(f"only {writer.boundaries} step boundaries: the schedule tested little")
    if not any(w.ok and w.role == NEW for w in writer.writes):
        problems.append("the new version's client never wrote")
    model = build_model(s, writer.writes, ending, problems, two_passes)
    if not started:
        return problems
    if ending == "complete":
        for schema, present in ((OLD_VERSION, False), (NEW_VERSION, True)):
            if fm.schema_exists(conn, schema) != present:
                state = "is missing" if present else "is left"
                problems.append(f"after complete, {schema} {state}")
        compare(through(dsn, NEW_VERSION, s.new, key), expected_rows(model, 1, s.new, key),
                model, "new version after complete", problems)
        compare(through(dsn, SCHEMA, s.new, key), expected_rows(model, 1, s.new, key),
                model, "the table after complete", problems)
        physical = [c[0] for c in fm.columns_of(conn, s.new.table)]
        if sorted(physical) != sorted(s.new.columns):
            problems.append(f"columns after complete: {physical}")
        problems += constraint_problems(conn, s, s.holds, s.constraints, "after complete")
        if reference is not None:
            problems += catalog_problems(conn, reference)
    else:
        problems += [f"after rollback: {d}"
                     for d in fm.fingerprint_diff(before, fm.fingerprint(conn))]
        if fm.schema_exists(conn, NEW_VERSION):
            problems.append("after rollback, the new version schema is left")
        compare(through(dsn, OLD_VERSION, s.old, key), expected_rows(model, 0, s.old, key),
                model, "old version after rollback", problems)
        compare(through(dsn, SCHEMA, s.old, key), expected_rows(model, 0, s.old, key),
                model, "the table after rollback", problems)
        problems += constraint_problems(conn, s, s.rolled_back_holds, (), "after rollback")
    problems += [f"left over: {x}" for x in fm.internal_leftovers(conn)]
    return problems


@dataclass(frozen=True)
class Case:
    scenario: Scenario
    ending: str
    two_passes: bool = True
    marks: tuple[Any, ...] = field(default=())

    @property
    def id(self) -> str:
        return f"{self.scenario.key}-{self.ending}" + ("" if self.two_passes else "-1pass")


def cases() -> list[Any]:
    out = []
    for s in SCENARIOS:
        endings = [("complete", True), ("rollback", True)]
        if s.one_pass:
            endings.append(("complete", False))
        for ending, two in endings:
            case = Case(s, ending, two)
            known = s.xfail_complete if ending == "complete" else None
            marks = [pytest.mark.xfail(strict=True, reason=known)] if known else []
            out.append(pytest.param(case, id=case.id, marks=marks))
    return out


@pytest.mark.parametrize("case", cases())
def test_writes_at_every_step_boundary(pg_conn: Connection, pg_dsn: str, case: Case) -> None:
    s = case.scenario
    problems = run(pg_conn, dsn_of(pg_dsn, pg_conn), s, case.ending, case.two_passes)
    if problems:
        shown = "\n  ".join(problems[:30])
        pytest.fail(f"[{case.id}] migration:\n{s.change}\nproblems ({len(problems)}):\n  {shown}",
                    pytrace=False)
