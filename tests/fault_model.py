"""The fault harness's shared model: a corpus of multi-operation migrations, what each version
must see, version clients that record every write, and the invariants checked afterwards.

Why a model: an exit code says that a phase *ran*; it does not say that a row written through
the old version at step 7 of start reached the new version with ``up`` applied, or that the
backfill left alone a value a new-version client wrote. Every test of the harness therefore
records each client write (which version, which values, which step boundary), replays them
through a Python model of the migration's ``up`` and ``down`` expressions, and compares what
PostgreSQL shows through each version with what the model says, row by row.

The model works on *stages*: stage 0 is the old version (the schema before the migration),
stage ``k`` the schema after the ``k``-th operation, the last stage the new version. A write
through the old version sets stage 0 and is carried forward operation by operation; a write
through the new version sets the last stage and is carried backward. A column an operation
adds without ``up`` keeps its own value (it is nobody's function); the stored generated
column ``g`` is nobody's write: the model computes it in every stage from ``w`` (which every
stage has), as PostgreSQL does after the triggers. The physical table only holds the old and
the new columns, but composing per-operation functions is exactly what the migration
promises (each operation's ``up`` is written against the schema the operations before it
produced).

Rows are owned: every client updates only rows it inserted or a fixed slice of the seeded
rows, so the final state of a row does not depend on how clients interleave, only on the
order of one client's own writes (a client executes its writes strictly in order).

A write counts as a write of the version whose relation it went through (``Write.through``,
which the statement itself returns), not of the client that made it: that is what a client
deployed for the new version from the beginning (``DEPLOYED``) needs, whose ``items`` is the
physical table before start makes the new version schema and after rollback drops it, and
the new version's view in between (PostgreSQL skips a ``search_path`` schema that does not
exist, and looks a blocked statement's name up again once it has its lock).
"""

from __future__ import annotations

import contextlib
import dataclasses
import difflib
import json
import os
import random
import re
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psycopg
import pytest
from psycopg import sql

from pgroll_dsl import api, app, ir
from pgroll_dsl.backends.live import Session
from pgroll_dsl.backends.runner import Runner, RunOptions
from pgroll_dsl.catalog.introspect import introspect
from pgroll_dsl.catalog.model import Catalog
from pgroll_dsl.catalog.replay import replay
from pgroll_dsl.compile import Before, validate
from pgroll_dsl.diagnostics import CompileError

Connection = psycopg.Connection[tuple[Any, ...]]
Row = dict[str, Any]

SCHEMA = "public"
REF_SCHEMA = "ref"  # prefix of the schemas where a clean run of a migration is made
SETUP_NAME = "01_setup"
CHANGE_NAME = "02_change"
OLD_VERSION = f"{SCHEMA}_{SETUP_NAME}"
NEW_VERSION = f"{SCHEMA}_{CHANGE_NAME}"
BATCH_SIZE = 3
LOCK_TIMEOUT_MS = 200
CLIENT_STATEMENT_TIMEOUT = "20s"  # a blocked client fails the test instead of hanging it
SYNC_WRITE_TIMEOUT = 15.0  # seconds a write at a boundary outside a transaction may take
REFS = 5  # refs(id) holds 1..REFS
SEED_ROWS = 16  # three or four for each role (``SLICE``)

# ``triple`` and ``third`` are functions of the migrated schema, created by ``prepare`` before
# ``SETUP`` runs (a raw ``sql`` operation cannot share a migration with others; a reference
# run in ``ref<N>`` gets its own). Clients' ``search_path`` is a version schema of views only:
# a sync trigger that evaluates an ``up`` or ``down`` calling them must set its own
# ``search_path`` (``TriAdd``, ``UBigint``), and so must one that computes ``g`` (a stored
# generated column, not computed yet in a BEFORE trigger's ``NEW``) for an ``up`` reading it
# (``GenAdd``). ``g`` reads ``w`` only, which no operation kind rewrites or drops (PGD324
# refuses a migration that would).
SETUP_FUNCTIONS = ("third", "triple")
SETUP_SQL = ("CREATE FUNCTION {0}.triple(i int) RETURNS int LANGUAGE sql IMMUTABLE "
             "AS 'select i * 3';\n"
             "CREATE FUNCTION {0}.third(i bigint) RETURNS int LANGUAGE sql IMMUTABLE "
             "AS 'select (i / 3)::int'")
SETUP = """
create table refs (id int primary key);
create table items (
  id int primary key,
  qty int,
  val int,
  title varchar(50),
  ref_id int constraint items_ref_fk references refs (id),
  name text,
  u int,
  w int,
  g int generated always as `triple(w)` stored
);
"""


@dataclass(frozen=True)
class Setup:
    """The old version a migration of the corpus runs on: the setup migration's text (and a
    key naming it in test ids). ``PLAIN`` is ``SETUP``; another layout of ``items`` (a
    partitioned one) keeps its columns, so the model, the clients and the checks are the
    same whatever the layout."""

    key: str
    text: str


PLAIN = Setup("plain", SETUP)
# ``items`` partitioned by RANGE (id): ``items_low`` a plain leaf, ``items_high``
# sub-partitioned by HASH (id) into two leaves; the seeded rows fall into all three
# (``test_fault_kill_partitioned``, and the harness's sample with
# ``PGROLL_DSL_FAULT_SETUP=partitioned``).
PARTITIONED = Setup("partitioned", """sql up `
create table refs (id int primary key);
create table items (
  id int not null primary key,
  qty int,
  val int,
  title varchar(50),
  ref_id int constraint items_ref_fk references refs (id),
  name text,
  u int,
  w int,
  g int generated always as (triple(w)) stored
) partition by range (id);
create table items_low partition of items for values from (minvalue) to (9);
create table items_high partition of items for values from (9) to (maxvalue)
  partition by hash (id);
create table items_high_0 partition of items_high for values with (modulus 2, remainder 0);
create table items_high_1 partition of items_high for values with (modulus 2, remainder 1);
`;
""")
SETUPS = {setup.key: setup for setup in (PLAIN, PARTITIONED)}

# The roles of the clients, and the slice of the seeded rows (id % len(ROLES)) each one
# owns. DEPLOYED is an application deployed for the new version before start: its
# search_path names the new version schema first, then the target schema (``DEPLOYED_PATH``,
# set as ``app.connection_options`` sets it), so it writes the physical table while that
# schema does not exist and the new version's views once it does (``written_by``). REPLICA
# writes the base table as BASE does, with ``session_replication_role = replica``: what a
# logical replication subscription's apply worker and a bulk load that skips foreign keys
# do, which fires only the triggers enabled ALWAYS (or REPLICA).
OLD, NEW, BASE, DEPLOYED, REPLICA = "old", "new", "base", "deployed", "replica"
ROLES = (OLD, NEW, BASE, DEPLOYED, REPLICA)
SLICE = {OLD: 0, NEW: 1, BASE: 2, DEPLOYED: 3, REPLICA: 4}
ID_BASE = {OLD: 100_000, NEW: 200_000, BASE: 300_000, DEPLOYED: 500_000, REPLICA: 600_000}
DEPLOYED_PATH = (NEW_VERSION, SCHEMA)
# The relations (by schema) a client of each role may write through.
REACHES = {OLD: {OLD_VERSION}, NEW: {NEW_VERSION}, BASE: {SCHEMA}, DEPLOYED: {NEW_VERSION, SCHEMA},
           REPLICA: {SCHEMA}}
# Clients that write the base table knowing the old schema only.
BASE_WRITERS = (BASE, REPLICA)

# SQLSTATEs of "the relation (or its schema) is gone".
GONE = {"42P01", "3F000"}


# ---- the logical schema of one stage ------------------------------------------------------


@dataclass(frozen=True)
class Schema:
    """What one stage of the migration looks like to a client (logical names).

    ``columns`` pairs each column's name with its *kind* (``qty``, ``val``...), which stays
    the same when the column is renamed; ``not_null`` holds kinds.
    """

    columns: tuple[tuple[str, str], ...]
    not_null: frozenset[str] = frozenset({"id"})
    qty_nonneg: bool = False

    def names(self) -> list[str]:
        return [name for name, _ in self.columns]

    def name_of(self, kind: str) -> str | None:
        return next((name for name, k in self.columns if k == kind), None)

    def kind_of(self, name: str) -> str:
        return next(k for n, k in self.columns if n == name)

    def has(self, kind: str) -> bool:
        return self.name_of(kind) is not None


BASE_SCHEMA = Schema(columns=(("id", "id"), ("qty", "qty"), ("val", "val"),
                              ("title", "title"), ("ref_id", "ref"), ("name", "name"),
                              ("u", "u"), ("w", "w"), ("g", "g")))
# Kinds of the stored generated columns: no client writes them, the model computes them.
GENERATED = frozenset({"g"})


def triple(value: int | None) -> int | None:
    """The setup's ``triple`` (SQL: ``select i * 3``; NULL gives NULL)."""
    return None if value is None else value * 3


def with_generated(row: Row) -> Row:
    """``row`` with ``g`` as PostgreSQL stores it: ``triple(w)`` (every stage has both)."""
    if "g" in row:
        row["g"] = triple(row["w"])
    return row


def _trunc_div(value: int, by: int) -> int:
    """PostgreSQL's integer division (truncates toward zero)."""
    quotient = abs(value) // by
    return quotient if value >= 0 else -quotient


# ---- operation kinds, each with its up/down in Python -------------------------------------


class Op:
    """One operation kind: its DSL on a given stage, the next stage, and its up/down.

    ``forward(lower, own, before)`` is the stage after the operation for a row whose stage
    before it is ``lower`` (``own``: this stage's previous value of the row, None for an
    insert); ``backward(upper, own, before)`` the other way round. The defaults copy every
    column by name: right for operations that change no value (an index, a type widening).
    """

    key = ""
    kinds: frozenset[str] = frozenset()  # the kinds of column it concerns (or reads)

    def applicable(self, before: Schema) -> bool:
        return all(before.has(k) for k in self.kinds & {"qty", "val", "title", "ref", "name"})

    def dsl(self, before: Schema) -> str:
        raise NotImplementedError

    def after(self, before: Schema) -> Schema:
        return before

    def forward(self, lower: Row, own: Row | None, before: Schema) -> Row:
        return {n: lower[n] for n in self.after(before).names()}

    def backward(self, upper: Row, own: Row | None, before: Schema) -> Row:
        return {n: upper[n] for n in before.names()}

    def __repr__(self) -> str:
        return self.key


class QtyBigint(Op):
    """``qty`` int -> bigint with an up/down that change the value (so a missed or doubled
    conversion shows): up multiplies by 10, down divides."""

    key = "qty_bigint"
    kinds = frozenset({"qty"})

    def dsl(self, before: Schema) -> str:
        q = before.name_of("qty")
        return (f"alter table items alter {q} type bigint up `{q}::bigint * 10` "
                f"down `({q} / 10)::int`;")

    def forward(self, lower: Row, own: Row | None, before: Schema) -> Row:
        row = super().forward(lower, own, before)
        q = before.name_of("qty")
        assert q is not None
        row[q] = None if lower[q] is None else lower[q] * 10
        return row

    def backward(self, upper: Row, own: Row | None, before: Schema) -> Row:
        row = super().backward(upper, own, before)
        q = before.name_of("qty")
        assert q is not None
        row[q] = None if upper[q] is None else _trunc_div(upper[q], 10)
        return row


class ScoreAdd(Op):
    """A NOT NULL column computed by ``up`` from ``val`` (trigger, NOT VALID check, backfill)."""

    key = "score_add"
    kinds = frozenset({"score", "val"})

    def applicable(self, before: Schema) -> bool:
        return before.has("val") and not before.has("score")

    def dsl(self, before: Schema) -> str:
        return "alter table items add score int not null up `coalesce(val, 0) + 1000`;"

    def after(self, before: Schema) -> Schema:
        return dataclasses.replace(before, columns=(*before.columns, ("score", "score")),
                                   not_null=before.not_null | {"score"})

    def forward(self, lower: Row, own: Row | None, before: Schema) -> Row:
        row = super().forward({**lower, "score": None}, own, before)
        row["score"] = (lower["val"] or 0) + 1000
        return row


class IndexVal(Op):
    """An index built concurrently on ``val``: no value changes."""

    key = "index_val"
    kinds = frozenset({"val"})

    def dsl(self, before: Schema) -> str:
        return "create index items_val_idx on items (val);"


class RefBigint(Op):
    """The foreign-key column ``ref_id`` int -> bigint: a copy with its foreign key rebuilt."""

    key = "ref_bigint"
    kinds = frozenset({"ref"})

    def dsl(self, before: Schema) -> str:
        return f"alter table items alter {before.name_of('ref')} type bigint;"


class RenameName(Op):
    """``name`` -> ``item_name``: the new version sees the new name at once."""

    key = "rename_name"
    kinds = frozenset({"name"})

    def applicable(self, before: Schema) -> bool:
        return before.name_of("name") == "name"

    def dsl(self, before: Schema) -> str:
        return "alter table items rename name to item_name;"

    def after(self, before: Schema) -> Schema:
        return dataclasses.replace(before, columns=tuple(
            ("item_name" if k == "name" else n, k) for n, k in before.columns))

    def forward(self, lower: Row, own: Row | None, before: Schema) -> Row:
        return {("item_name" if n == "name" else n): v for n, v in lower.items()}

    def backward(self, upper: Row, own: Row | None, before: Schema) -> Row:
        return {("name" if n == "item_name" else n): v for n, v in upper.items()}


class ValNotNull(Op):
    """``val`` becomes NOT NULL; ``up`` replaces NULLs with 0, ``down`` copies."""

    key = "val_not_null"
    kinds = frozenset({"val"})

    def applicable(self, before: Schema) -> bool:
        return before.has("val") and "val" not in before.not_null

    def dsl(self, before: Schema) -> str:
        return "alter table items alter val set not null up `coalesce(val, 0)`;"

    def after(self, before: Schema) -> Schema:
        return dataclasses.replace(before, not_null=before.not_null | {"val"})

    def forward(self, lower: Row, own: Row | None, before: Schema) -> Row:
        row = super().forward(lower, own, before)
        row["val"] = lower["val"] if lower["val"] is not None else 0
        return row


class CheckQty(Op):
    """A check constraint ``qty >= 0`` added with ``up`` that clamps old values."""

    key = "check_qty"
    kinds = frozenset({"qty"})

    def applicable(self, before: Schema) -> bool:
        return before.has("qty") and not before.qty_nonneg

    def dsl(self, before: Schema) -> str:
        q = before.name_of("qty")
        return (f"alter table items add constraint items_qty_check check `{q} >= 0` "
                f"up ({q} `greatest({q}, 0)`);")

    def after(self, before: Schema) -> Schema:
        return dataclasses.replace(before, qty_nonneg=True)

    def forward(self, lower: Row, own: Row | None, before: Schema) -> Row:
        row = super().forward(lower, own, before)
        q = before.name_of("qty")
        assert q is not None
        row[q] = max(lower[q], 0) if lower[q] is not None else 0  # greatest() skips NULL
        return row


class DropName(Op):
    """The ``name`` column (whatever it is called now) dropped, with ``down`` for new writes.

    ``down`` reads ``qty``, which another operation of the migration may rewrite: it must
    read it as the new version's write leaves it at this stage (a later operation's own
    ``down`` fills it first), whichever order the two operations come in.
    """

    key = "drop_name"
    kinds = frozenset({"name", "qty"})

    def dsl(self, before: Schema) -> str:
        return (f"alter table items drop {before.name_of('name')} "
                f"down `{dropped_name_sql(before.name_of('qty'))}`;")

    def after(self, before: Schema) -> Schema:
        return dataclasses.replace(before, columns=tuple(
            (n, k) for n, k in before.columns if k != "name"))

    def backward(self, upper: Row, own: Row | None, before: Schema) -> Row:
        name = before.name_of("name")
        row = {n: upper[n] for n in before.names() if n != name}
        qty = before.name_of("qty")
        assert name is not None and qty is not None
        row[name] = dropped_name(upper["id"], upper[qty])
        return row


def dropped_name_sql(qty: str | None) -> str:
    """``DropName``'s ``down``, for the column ``qty`` is called at its stage."""
    return f"'dropped-' || id || '/' || coalesce({qty}::text, '-')"


def dropped_name(row_id: int, qty: int | None) -> str:
    """What ``dropped_name_sql`` gives."""
    return f"dropped-{row_id}/{'-' if qty is None else qty}"


class TitleText(Op):
    """``title`` varchar(50) -> text: planned without a copy (a type change at complete)."""

    key = "title_text"
    kinds = frozenset({"title"})

    def dsl(self, before: Schema) -> str:
        return "alter table items alter title type text;"


class AddPages(Op):
    """A plain nullable column: nobody's function, it keeps whatever was written to it."""

    key = "add_pages"
    kinds = frozenset({"pages"})

    def applicable(self, before: Schema) -> bool:
        return not before.has("pages")

    def dsl(self, before: Schema) -> str:
        return "alter table items add pages int;"

    def after(self, before: Schema) -> Schema:
        return dataclasses.replace(before, columns=(*before.columns, ("pages", "pages")))

    def forward(self, lower: Row, own: Row | None, before: Schema) -> Row:
        return {**lower, "pages": own["pages"] if own is not None else None}


class TriAdd(Op):
    """A nullable column whose ``up`` calls the schema's function ``triple`` over ``val``.

    Written unqualified: the trigger runs for writers whose ``search_path`` is a version
    schema of views, where ``triple`` does not resolve, so the trigger function must carry its
    own ``search_path`` (the backfill runs in the schema)."""

    key = "tri_add"
    kinds = frozenset({"tri", "val"})

    def applicable(self, before: Schema) -> bool:
        return before.has("val") and not before.has("tri")

    def dsl(self, before: Schema) -> str:
        return "alter table items add tri int up `triple(val)`;"

    def after(self, before: Schema) -> Schema:
        return dataclasses.replace(before, columns=(*before.columns, ("tri", "tri")))

    def forward(self, lower: Row, own: Row | None, before: Schema) -> Row:
        row = super().forward({**lower, "tri": None}, own, before)
        row["tri"] = triple(lower["val"])
        return row


class UBigint(Op):
    """``u`` int -> bigint through a copy, ``up`` and ``down`` each calling a function of the
    schema (unqualified): up triples, down divides by 3 (truncating, as SQL's ``/`` does)."""

    key = "u_bigint"
    kinds = frozenset({"u"})

    def dsl(self, before: Schema) -> str:
        return "alter table items alter u type bigint up `triple(u)` down `third(u)`;"

    def forward(self, lower: Row, own: Row | None, before: Schema) -> Row:
        row = super().forward(lower, own, before)
        row["u"] = triple(lower["u"])
        return row

    def backward(self, upper: Row, own: Row | None, before: Schema) -> Row:
        row = super().backward(upper, own, before)
        row["u"] = None if upper["u"] is None else _trunc_div(upper["u"], 3)
        return row


class GenAdd(Op):
    """A nullable column whose ``up`` reads the stored generated column ``g`` (and ``val``).

    ``g`` is not computed yet in a BEFORE trigger's ``NEW``: the trigger computes it from its
    expression, ``triple(w)``, over ``NEW`` (a call of the schema's function, so with the
    trigger's own ``search_path``); an old-version write of ``w`` alone changes ``gx``."""

    key = "gen_add"
    kinds = frozenset({"gx", "g", "val"})

    def applicable(self, before: Schema) -> bool:
        return before.has("val") and not before.has("gx")

    def dsl(self, before: Schema) -> str:
        return "alter table items add gx int up `g + coalesce(val, 0)`;"

    def after(self, before: Schema) -> Schema:
        return dataclasses.replace(before, columns=(*before.columns, ("gx", "gx")))

    def forward(self, lower: Row, own: Row | None, before: Schema) -> Row:
        row = super().forward({**lower, "gx": None}, own, before)
        row["gx"] = None if lower["g"] is None else lower["g"] + (lower["val"] or 0)
        return row


class RefFk(Op):
    """A second foreign key on ``ref_id`` (to ``refs``): NOT VALID, then validated; on a
    partitioned ``items``, partition by partition. No value changes. Not in ``OP_KINDS``
    (the pair corpus stays as it is): the partitioned kill harness names it itself."""

    key = "ref_fk"
    kinds = frozenset({"ref"})

    def dsl(self, before: Schema) -> str:
        return (f"alter table items add constraint items_ref_fk2 foreign key "
                f"({before.name_of('ref')}) references refs (id);")


OP_KINDS: tuple[Op, ...] = (QtyBigint(), ScoreAdd(), IndexVal(), RefBigint(), RenameName(),
                            ValNotNull(), CheckQty(), DropName(), TitleText(), AddPages(),
                            TriAdd(), UBigint(), GenAdd())
OPS = {op.key: op for op in OP_KINDS}


# ---- migrations of the corpus ---------------------------------------------------------------


@dataclass(frozen=True)
class Spec:
    """One migration of the corpus: a sequence of operation kinds on ``items``."""

    ops: tuple[Op, ...]
    setup: Setup = PLAIN

    @property
    def key(self) -> str:
        ops = "+".join(op.key for op in self.ops)
        return ops if self.setup == PLAIN else f"{ops}@{self.setup.key}"

    @property
    def stages(self) -> list[Schema]:
        stages = [BASE_SCHEMA]
        for op in self.ops:
            stages.append(op.after(stages[-1]))
        return stages

    @property
    def text(self) -> str:
        stages = self.stages
        return "\n".join(op.dsl(stages[i]) for i, op in enumerate(self.ops)) + "\n"

    @property
    def final(self) -> Schema:
        return self.stages[-1]

    def applicable(self) -> bool:
        stage = BASE_SCHEMA
        for op in self.ops:
            if not op.applicable(stage):
                return False
            stage = op.after(stage)
        return True

    def base_columns(self) -> list[str]:
        """The columns a client of the physical table writes: the original ones that keep
        their name and kind through the migration (a renamed or dropped one would make it
        fail after complete for a reason that is the application's, not the executor's)."""
        final = dict(self.final.columns)
        return [n for n, k in BASE_SCHEMA.columns if final.get(n) == k]


def spec(*keys: str, setup: Setup = PLAIN) -> Spec:
    return Spec(tuple(OPS[k] for k in keys), setup)


def _interacts(a: Op, b: Op) -> bool:
    """Whether the order of two operations can matter: they concern a common column, or one
    of them changes a type without a copy at complete (it recreates the new version's view,
    which must then show everything the other operation did)."""
    return bool(a.kinds & b.kinds) or "title" in (a.kinds | b.kinds)


def all_pairs() -> list[Spec]:
    """Every pair of operation kinds, in both orders where the order can matter."""
    pairs = []
    for i, a in enumerate(OP_KINDS):
        for j, b in enumerate(OP_KINDS):
            if a is b or (j < i and not _interacts(a, b)):
                continue
            candidate = Spec((a, b))
            if candidate.applicable():
                pairs.append(candidate)
    return pairs


TRIPLES = [
    spec("qty_bigint", "val_not_null", "rename_name"),
    spec("val_not_null", "score_add", "index_val"),
    spec("check_qty", "ref_bigint", "add_pages"),
    spec("add_pages", "drop_name", "title_text"),
    spec("score_add", "ref_bigint", "title_text"),
    # The schema's function in up/down, and up reading a generated column (over the copies
    # of a rewritten column, val's or qty's).
    spec("val_not_null", "tri_add", "gen_add"),
    spec("qty_bigint", "u_bigint", "gen_add"),
]

# The reproductions of the issue.
REPRO_A = spec("qty_bigint", "score_add", "index_val", "ref_bigint")
REPRO_B = spec("rename_name", "drop_name")
REPRO_C = spec("add_pages", "title_text")  # Alembic's order
REPROS = [REPRO_A, REPRO_B, REPRO_C]


def sample_specs(count: int, seed: int, sizes: Sequence[int] = (3, 4),
                 exclude: Iterable[str] = (), setup: Setup = PLAIN) -> list[Spec]:
    """``count`` random migrations of three or four distinct operation kinds, drawn with
    ``random.Random(seed)`` (the same seed gives the same list, in the same order): each one
    applicable (``Spec.applicable``), accepted by the compiler (``offline_rejection``), and
    neither repeated nor one of ``exclude`` (keys). Sizes alternate, so both are drawn
    whatever ``count`` is; all on ``setup``. Fewer than ``count`` only if the space runs
    out."""
    rng = random.Random(seed)
    seen = set(exclude)
    out: list[Spec] = []
    attempts = 0
    while len(out) < count and attempts < 200 * (count + 10):
        attempts += 1
        size = sizes[len(out) % len(sizes)]
        candidate = Spec(tuple(rng.sample(OP_KINDS, size)), setup)
        if candidate.key in seen:
            continue
        seen.add(candidate.key)
        if candidate.applicable() and offline_rejection(candidate) is None:
            out.append(candidate)
    return out


def compile_spec(s: Spec, name: str = CHANGE_NAME) -> ir.Migration:
    return api.compile_source(s.text, f"{name}.pgroll").migration


def setup_migration(setup: Setup = PLAIN) -> ir.Migration:
    return api.compile_source(setup.text, f"{SETUP_NAME}.pgroll").migration


def offline_rejection(s: Spec) -> str | None:
    """The diagnostic codes if the compiler refuses the migration against the setup schema
    (without a database), else None."""
    try:
        migration = compile_spec(s)
        catalog = replay([setup_migration(s.setup)]).catalog
        validate(migration, Before(catalog, OLD_VERSION, ()))
    except CompileError as err:
        return ",".join(sorted({d.code.id for d in err.diagnostics}))
    return None


def split_corpus(specs: Iterable[Spec]) -> tuple[list[Spec], dict[str, str]]:
    """(accepted specs, rejected spec key -> diagnostic codes)."""
    accepted, rejected = [], {}
    for s in specs:
        codes = offline_rejection(s)
        if codes is None:
            accepted.append(s)
        else:
            rejected[s.key] = codes
    return accepted, rejected


# ---- the row model --------------------------------------------------------------------------


class RowModel:
    """What every stage of every row must be, from the writes that succeeded."""

    def __init__(self, s: Spec) -> None:
        self.spec = s
        self.stages = s.stages
        self.rows: dict[int, list[Row]] = {}
        self.last_writer: dict[int, str] = {}

    def _forward(self, stage0: Row, previous: list[Row] | None) -> list[Row]:
        out = [stage0]
        for k, op in enumerate(self.spec.ops):
            own = previous[k + 1] if previous is not None else None
            out.append(op.forward(out[-1], own, self.stages[k]))
        return out

    def _backward(self, last: Row, previous: list[Row] | None) -> list[Row]:
        out = [last]
        for k in reversed(range(len(self.spec.ops))):
            own = previous[k] if previous is not None else None
            out.insert(0, self.spec.ops[k].backward(out[0], own, self.stages[k]))
        return out

    def old_write(self, row_id: int, values: Row, insert: bool, who: str) -> None:
        """A write through the old version (or to the physical table before complete): an
        insert leaves the columns it does not name NULL (no column has a default)."""
        previous = None if insert else self.rows[row_id]
        base: Row = ({n: None for n in self.stages[0].names()} if previous is None
                     else dict(previous[0]))
        self.rows[row_id] = self._forward(with_generated({**base, **values, "id": row_id}),
                                          previous)
        self.last_writer[row_id] = who

    def new_write(self, row_id: int, values: Row, insert: bool, who: str) -> None:
        """A write through the new version (or to the physical table after complete)."""
        previous = None if insert else self.rows[row_id]
        base: Row = ({n: None for n in self.stages[-1].names()} if previous is None
                     else dict(previous[-1]))
        self.rows[row_id] = self._backward(with_generated({**base, **values, "id": row_id}),
                                           previous)
        self.last_writer[row_id] = who

    def old(self, row_id: int) -> Row:
        return self.rows[row_id][0]

    def new(self, row_id: int) -> Row:
        return self.rows[row_id][-1]


# ---- what clients write --------------------------------------------------------------------


def seed_values(row_id: int) -> Row:
    """The seeded rows: some NULL val, some negative qty, some NULL ref; odd rows hold the
    name ``DropName``'s ``down`` gives them, so a new-version write that changes neither
    ``qty`` nor ``name`` leaves that ``down`` with nothing to change (its trigger may skip)."""
    qty = -row_id if row_id % 3 == 0 else row_id * 3
    return {
        "id": row_id,
        "qty": qty,
        "val": None if row_id % 4 == 0 else row_id * 2,
        "title": f"seed {row_id}",
        "ref_id": None if row_id % 5 == 0 else row_id % REFS + 1,
        "name": dropped_name(row_id, qty) if row_id % 2 else f"name {row_id}",
        "u": None if row_id % 5 == 1 else row_id * 4 - 30,
        "w": None if row_id % 6 == 0 else row_id * 7 - 20,
    }


def written_by(s: Spec, role: str, new_visible: bool) -> tuple[Schema, list[str] | None]:
    """The schema a client of ``role`` writes values of, and the columns it names (None: all
    of that schema's); ``new_visible``: whether the new version's view of ``items`` exists.

    A base client knows the old schema and names only the columns complete keeps
    (``Spec.base_columns``). A deployed client is an application written for the new version:
    it knows only the new names and writes only values the new version accepts. While its
    ``items`` is the physical table, it names the columns that exist there under the same
    name and kind as in the new version (``Spec.base_columns`` again; what the migration adds
    or renames is not there under its new name, and a column whose type it widens takes
    values that fit both types); once the view exists it names all the new version's
    columns, as NEW does. Chosen over the common columns always: through the view,
    an insert without a NOT NULL column the migration adds (``score``) is refused, which is
    the application's fault. The choice is made when the write is issued, so a write queued
    inside rollback's transaction names the view's columns and runs against the table once
    the commit has dropped the schema (``classify``: E4).
    """
    if role == NEW or (role == DEPLOYED and new_visible):
        return s.final, None
    if role == DEPLOYED:
        return s.final, s.base_columns()
    return BASE_SCHEMA, s.base_columns() if role in BASE_WRITERS else None


def write_values(version: Schema, role: str, seq: int, row_id: int, insert: bool,
                 columns: Sequence[str] | None = None) -> Row:
    """Values a client of ``version`` writes: all its columns for an insert and every other
    update, one rotating column otherwise (so updates that leave columns alone are exercised).

    Old clients also write what only the old version allows (NULL ``val``, negative ``qty``);
    new, base and deployed clients write what every version they may meet accepts. Nobody
    writes a stored generated column (``GENERATED``).
    """
    def kind_of(name: str) -> str:
        return version.kind_of(name) if columns is None else BASE_SCHEMA.kind_of(name)

    names = [n for n in (columns or version.names())
             if n != "id" and kind_of(n) not in GENERATED]
    if not insert and seq % 2 == 1:
        names = [names[seq // 2 % len(names)]]
    free = role == OLD
    out: Row = {}
    for name in names:
        out[name] = _value(kind_of(name), version, free, role, seq, row_id)
    return out


def _value(kind: str, version: Schema, free: bool, role: str, seq: int, row_id: int) -> Any:
    tag = role[0]
    if kind == "qty":
        if free and seq % 5 == 2:
            return None
        magnitude = seq * 7 + row_id % 1000
        return -magnitude if free and seq % 4 == 1 else magnitude
    if kind == "val":
        nullable = free or (role in (NEW, DEPLOYED) and "val" not in version.not_null)
        return None if nullable and seq % 3 == 0 else seq * 11 + row_id % 97
    if kind == "title":
        return f"{tag}{seq}-{row_id}"
    if kind == "ref":
        return None if role not in BASE_WRITERS and seq % 4 == 3 else seq % REFS + 1
    if kind == "name":
        return f"{tag} name {seq}"
    if kind == "score":
        return seq * 17 + 5
    if kind == "pages":
        return None if seq % 3 == 0 else seq + 1
    if kind == "u":
        if seq % 6 == 5:
            return None
        magnitude = seq * 3 + row_id % 71
        return -magnitude if seq % 4 == 2 else magnitude  # no constraint: negative for all
    if kind == "w":
        if seq % 4 == 0:
            return None
        magnitude = seq * 5 + row_id % 89
        return -magnitude if free and seq % 3 == 1 else magnitude
    if kind == "tri":
        return None if seq % 5 == 0 else seq * 13 + 2
    if kind == "gx":
        return None if seq % 5 == 1 else seq * 19 + 3
    raise AssertionError(kind)


# ---- clients -------------------------------------------------------------------------------


@dataclass
class Write:
    """One client statement and its outcome."""

    role: str
    kind: str  # insert | update
    row_id: int
    values: Row
    where: str  # the boundary or moment it was issued at
    phase: str  # start | complete | rollback | after | between
    ok: bool = False
    error: str | None = None
    sqlstate: str | None = None
    returned: tuple[str, ...] = ()  # the columns of the row written (the shape written to)
    through: str = ""  # the schema of the relation written: a version schema or SCHEMA
    expected_failure: str | None = None

    def describe(self) -> str:
        outcome = f"ok via {self.through}" if self.ok else f"FAILED {self.sqlstate}: {self.error}"
        return (f"{self.role} {self.kind} id={self.row_id} {self.values} at {self.where}: "
                f"{outcome}")


def connect_client(dsn: str, search_path: str | Sequence[str], label: str) -> Connection:
    """A client connection whose ``search_path`` is one schema or several (``DEPLOYED_PATH``),
    set when it opens, the way an application sets it (``app.connection_options``)."""
    path = (search_path,) if isinstance(search_path, str) else tuple(search_path)
    conn = psycopg.connect(dsn, autocommit=True, application_name=f"fault {label}",
                           options=app.connection_options(*path)["options"])
    conn.execute(sql.SQL("SET statement_timeout = {}").format(
        sql.Literal(CLIENT_STATEMENT_TIMEOUT)))
    return conn


# The row written as JSON (its keys: the shape written to), and the schema of the relation
# ``items`` resolved to (the schema of the row's type: a view has no ``tableoid``).
_RETURNING = sql.SQL(" RETURNING to_jsonb(items.*), (SELECT typnamespace::regnamespace::text "
                     "FROM pg_catalog.pg_type WHERE oid = pg_typeof(items.*))")


def write_statement(kind: str, row_id: int,
                    values: dict[str, Any]) -> tuple[sql.Composed, list[Any]]:
    """The INSERT or UPDATE of ``items`` a client write makes, returning the row as JSON and
    the schema of the relation written."""
    columns = list(values)
    if kind == "insert":
        return sql.SQL("INSERT INTO items ({}) VALUES ({}){}").format(
            sql.SQL(", ").join(map(sql.Identifier, ["id", *columns])),
            sql.SQL(", ").join(sql.Placeholder() * (len(columns) + 1)), _RETURNING), [
                row_id, *values.values()]
    return sql.SQL("UPDATE items SET {} WHERE id = %s{}").format(
        sql.SQL(", ").join(sql.SQL("{} = %s").format(sql.Identifier(c)) for c in columns),
        _RETURNING), [*values.values(), row_id]


class Client:
    """A version client: one connection, one worker thread, writes executed strictly in the
    order they were submitted (so its rows' final state is well defined)."""

    def __init__(self, dsn: str, role: str, search_path: str | Sequence[str],
                 seeded: int = SEED_ROWS, id_base: int | None = None) -> None:
        self.role = role
        self.search_path = search_path
        self.conn = connect_client(dsn, search_path, role)
        if role == REPLICA:  # a superuser's session (the harness's clients are)
            self.conn.execute("SET session_replication_role = replica")
        self.pid = self.conn.info.backend_pid
        self.pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix=f"fault-{role}")
        self.writes: list[Write] = []
        self.owned: list[int] = [i for i in range(1, seeded + 1)
                                 if i % len(ROLES) == SLICE[role]]
        self.next_id = ID_BASE[role] if id_base is None else id_base
        self.seq = 0

    def submit(self, write: Write) -> Future[Write]:
        self.writes.append(write)
        return self.pool.submit(self._execute, write)

    def _execute(self, write: Write) -> Write:
        try:
            cursor = self.conn.execute(*write_statement(write.kind, write.row_id, write.values))
            rows = cursor.fetchall()
            write.returned = tuple(rows[0][0]) if len(rows) == 1 else ()
            write.through = rows[0][1] if len(rows) == 1 else ""
            if len(rows) != 1:
                write.error, write.sqlstate = f"touched {len(rows)} rows, expected 1", "ROWS"
            else:
                write.ok = True
                if write.kind == "insert":
                    self.owned.append(write.row_id)
        except psycopg.Error as err:
            write.error = str(err).strip().splitlines()[0] if str(err).strip() else repr(err)
            write.sqlstate = err.sqlstate
        except Exception as err:  # noqa: BLE001 - recorded, reported by the test
            write.error, write.sqlstate = f"{type(err).__name__}: {err}", "PYTHON"
        return write

    def new_write(self, version: Schema, where: str, phase: str, insert: bool,
                  columns: Sequence[str] | None = None) -> Write:
        """The next write of this client (not submitted yet)."""
        self.seq += 1
        if insert:
            self.next_id += 1
            row_id = self.next_id
        else:
            row_id = self.owned[self.seq % len(self.owned)]
        values = write_values(version, self.role, self.seq, row_id, insert, columns)
        return Write(self.role, "insert" if insert else "update", row_id, values, where, phase)

    def update_one(self, version: Schema, where: str, phase: str, row_id: int,
                   column: str) -> Write:
        """An update of one column of one of this client's rows (not submitted yet)."""
        self.seq += 1
        value = _value(version.kind_of(column), version, self.role == OLD, self.role, self.seq,
                       row_id)
        return Write(self.role, "update", row_id, {column: value}, where, phase)

    def close(self) -> None:
        self.pool.shutdown(wait=True, cancel_futures=False)
        self.conn.close()


def write_round(clients: dict[str, Client], s: Spec, new_visible: bool, where: str,
                phase: str) -> list[tuple[Write, Future[Write]]]:
    """Each client inserts a fresh row and updates one of its rows (``written_by`` says what
    it writes; ``new_visible``: whether the new version's view exists): every client's pair
    submitted at once, each client executing its own in order on its own connection. They
    own disjoint rows, so no client's write can wait for another's; a round costs one
    client's writes, not the sum of all of theirs. Returns the writes with their futures."""
    submitted = []
    for role, client in clients.items():
        version, columns = written_by(s, role, new_visible)
        for insert in (True, False):
            write = client.new_write(version, where, phase, insert, columns)
            submitted.append((write, client.submit(write)))
    return submitted


# ---- database helpers ----------------------------------------------------------------------


def make_runner(dsn: str, schema: str = SCHEMA, batch_size: int = BATCH_SIZE,
                init: bool = True, **options: Any) -> Runner:
    """A Runner with a short lock timeout; ``options`` are further RunOptions fields
    (``on_step`` above all)."""
    runner = Runner(RunOptions(
        session=Session(url=dsn, schema=schema, lock_timeout_ms=LOCK_TIMEOUT_MS),
        batch_size=batch_size, **options))
    if init:
        runner.init()
    return runner


def prepare(conn: Connection, dsn: str, schema: str = SCHEMA, rows: int = SEED_ROWS,
            setup: Setup = PLAIN) -> None:
    """Create the setup's functions, apply the setup migration (the old version) and seed
    refs and items.

    The functions are created outside any migration and without an inferred one (pgroll's
    DDL event trigger would record it once an earlier ``prepare`` made the state schema):
    the history holds exactly the setup migration, as before the functions existed."""
    if schema != SCHEMA:
        conn.execute(sql.SQL("CREATE SCHEMA IF NOT EXISTS {}").format(sql.Identifier(schema)))
    with conn.transaction():
        conn.execute("SET LOCAL pgroll.no_inferred_migrations = 'TRUE'")
        conn.execute(sql.SQL(SETUP_SQL).format(sql.Identifier(schema)))
    runner = make_runner(dsn, schema)
    try:
        runner.start(setup_migration(setup))
        runner.complete()
    finally:
        runner.close()
    seed(conn, schema, rows)


def seed(conn: Connection, schema: str, rows: int) -> None:
    conn.execute(sql.SQL("INSERT INTO {} SELECT generate_series(1, %s)").format(
        sql.Identifier(schema, "refs")), (REFS,))
    with conn.cursor() as cursor:
        cursor.executemany(
            sql.SQL("INSERT INTO {} (id, qty, val, title, ref_id, name, u, w) "
                    "VALUES (%(id)s, %(qty)s, %(val)s, %(title)s, %(ref_id)s, %(name)s, "
                    "%(u)s, %(w)s)"
                    ).format(sql.Identifier(schema, "items")),
            [seed_values(i) for i in range(1, rows + 1)])


def seed_model(model: RowModel, rows: int = SEED_ROWS) -> None:
    for i in range(1, rows + 1):
        values = seed_values(i)
        model.old_write(i, {k: v for k, v in values.items() if k != "id"}, True, "seed")


QUEUED_WRITE_TIMEOUT = 60.0  # seconds a queued write may take to finish or to wait for a lock


def settled(pending: list[tuple[Any, Future[Any]]]) -> list[str]:
    """Wait for the writes queued inside a phase's transaction (it has committed by now).

    ``pending`` holds (write, future) pairs, each write with a ``describe()``; it is emptied.
    Returns what is still blocked 30 s on, for the test to report.
    """
    late = []
    for write, future in pending:
        try:
            future.result(timeout=30)
        except FutureTimeout:
            late.append(f"a client write still blocked 30 s after the phase ended: "
                        f"{write.describe()}")
    pending.clear()
    return late


def await_in_flight(probe: Connection, clients: Iterable[Client],
                    pending: Sequence[tuple[Write, Future[Write]]],
                    timeout: float = QUEUED_WRITE_TIMEOUT) -> list[str]:
    """Wait until each client's queued writes are done or it waits for a lock; what was not.

    A write queued inside the executor's transaction must meet it in flight: the schedule
    is deterministic only if what the executor does next finds the write either done or
    waiting. A write that merely has not reached the server yet (a busy machine: the full
    suite on two cores) would run after the commit, against what the commit changed, with
    values chosen for what was there before: a failure of the schedule, not of the
    executor. So this waits as long as it takes (``timeout`` bounds a real hang), and says
    which clients it gave up on, for the test to report as such.
    """
    deadline = time.monotonic() + timeout
    late: list[str] = []
    for client in clients:
        mine = [f for w, f in pending if w.role == client.role]
        while not all(f.done() for f in mine):
            if waiting_for_lock(probe, client.pid):
                break
            if time.monotonic() > deadline:
                late.append(f"a queued write of the {client.role} client neither finished nor "
                            f"waited for a lock within {timeout:.0f} s: the schedule cannot "
                            "say what the executor met")
                break
            time.sleep(0.002)
    return late


def waiting_for_lock(conn: Connection, pid: int) -> bool:
    """Whether the backend ``pid`` is running a statement that waits for a lock."""
    row = conn.execute("SELECT state = 'active' AND wait_event_type = 'Lock' "
                       "FROM pg_stat_activity WHERE pid = %s", (pid,)).fetchone()
    return bool(row and row[0])


def schema_exists(conn: Connection, name: str) -> bool:
    """Whether the schema named ``name`` (as it is, not parsed: ``to_regnamespace`` of a name
    with a space or a quote fails on PostgreSQL 15 and is NULL on 18) exists."""
    row = conn.execute("SELECT EXISTS (SELECT FROM pg_namespace WHERE nspname = %s)",
                       (name,)).fetchone()
    return bool(row and row[0])


def relation_exists(conn: Connection, schema: str, name: str) -> bool:
    row = conn.execute("SELECT to_regclass(%s) IS NOT NULL",
                       (sql.Identifier(schema, name).as_string(conn),)).fetchone()
    return bool(row and row[0])


_FINGERPRINT = [
    ("schemas", "SELECT nspname FROM pg_namespace WHERE nspname !~ '^pg_' "
                "AND nspname <> 'information_schema' ORDER BY 1"),
    ("relations", "SELECT n.nspname, c.relname, c.relkind, c.relreplident FROM pg_class c "
                  "JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname !~ '^pg_' "
                  "AND n.nspname <> 'information_schema' ORDER BY 1, 2"),
    ("columns", "SELECT n.nspname, c.relname, a.attnum, a.attname, "
                "format_type(a.atttypid, a.atttypmod), a.attnotnull, "
                "pg_get_expr(d.adbin, d.adrelid) FROM pg_attribute a "
                "JOIN pg_class c ON c.oid = a.attrelid "
                "JOIN pg_namespace n ON n.oid = c.relnamespace "
                "LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum "
                "WHERE a.attnum > 0 AND NOT a.attisdropped AND n.nspname !~ '^pg_' "
                "AND n.nspname <> 'information_schema' AND c.relkind IN ('r', 'v', 'p') "
                "ORDER BY 1, 2, 3"),
    ("constraints", "SELECT n.nspname, c.conrelid::regclass::text, c.conname, "
                    "pg_get_constraintdef(c.oid), c.convalidated FROM pg_constraint c "
                    "JOIN pg_namespace n ON n.oid = c.connamespace WHERE n.nspname !~ '^pg_' "
                    "AND n.nspname <> 'information_schema' ORDER BY 1, 2, 3"),
    ("indexes", "SELECT schemaname, tablename, indexname, indexdef FROM pg_indexes "
                "WHERE schemaname !~ '^pg_' AND schemaname <> 'information_schema' "
                "ORDER BY 1, 2, 3"),
    ("valid", "SELECT indexrelid::regclass::text, indisvalid, indisready FROM pg_index i "
              "JOIN pg_class c ON c.oid = i.indexrelid JOIN pg_namespace n "
              "ON n.oid = c.relnamespace WHERE n.nspname !~ '^pg_' "
              "AND n.nspname <> 'information_schema' ORDER BY 1"),
    ("views", "SELECT schemaname, viewname, definition FROM pg_views "
              "WHERE schemaname !~ '^pg_' AND schemaname <> 'information_schema' "
              "ORDER BY 1, 2"),
    ("triggers", "SELECT tgrelid::regclass::text, tgname, pg_get_triggerdef(t.oid) "
                 "FROM pg_trigger t WHERE NOT tgisinternal ORDER BY 1, 2"),
    ("functions", "SELECT n.nspname, p.proname, md5(p.prosrc) FROM pg_proc p "
                  "JOIN pg_namespace n ON n.oid = p.pronamespace WHERE n.nspname !~ '^pg_' "
                  "AND n.nspname <> 'information_schema' ORDER BY 1, 2, 3"),
    # (The backfill watch's snapshot, its writes sequence's comment, differs from run to run:
    # only whether it is there counts.)
    ("comments", "SELECT d.objoid::regclass::text, d.objsubid, CASE WHEN c.relname ~ "
                 "'^_pgroll_writes_' THEN 'a snapshot' ELSE d.description END "
                 "FROM pg_description d JOIN pg_class c ON c.oid = d.objoid "
                 "JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname !~ '^pg_' "
                 "AND n.nspname <> 'information_schema' ORDER BY 1, 2"),
]


def fingerprint(conn: Connection) -> dict[str, list[tuple[Any, ...]]]:
    """Everything schema-level about the database's own schemas, from pg_catalog: relations,
    columns in attribute order, constraints with validity, indexes with validity, views,
    triggers, functions (by source hash) and comments."""
    return {key: conn.execute(query).fetchall() for key, query in _FINGERPRINT}


def fingerprint_diff(before: dict[str, list[tuple[Any, ...]]],
                     after: dict[str, list[tuple[Any, ...]]]) -> list[str]:
    out = []
    for key in before:
        gone = [r for r in before[key] if r not in after[key]]
        extra = [r for r in after[key] if r not in before[key]]
        if gone or extra:
            out.append(f"schema {key} differ: missing {gone[:6]}, extra {extra[:6]}")
    return out


def schema_dump(dsn: str) -> str | None:
    """``pg_dump --schema-only`` of the database, with the embedded server's pg_dump (the
    newest major version, which dumps older servers too), or None when there is none. Lines
    that differ from run to run (the random key of ``restrict``) are left out."""
    from pgroll_dsl.embedded import EmbeddedUnavailable, bin_dir

    try:
        binary = bin_dir() / "pg_dump"
    except EmbeddedUnavailable:
        return None
    if not binary.is_file():
        return None
    result = subprocess.run([str(binary), "--schema-only", "--no-owner", "--no-privileges",
                             "-d", dsn], capture_output=True, text=True, timeout=60,
                            check=False)
    if result.returncode != 0:
        raise AssertionError(f"pg_dump failed: {result.stderr.strip()}")
    return "\n".join(line for line in result.stdout.splitlines()
                     if not line.startswith(("\\restrict", "\\unrestrict")))


def dump_diff(before: str | None, after: str | None) -> list[str]:
    """The lines of two schema dumps that differ (nothing when pg_dump is unavailable)."""
    if before is None or after is None or before == after:
        return []
    diff = difflib.unified_diff(before.splitlines(), after.splitlines(), "before start",
                                "after rollback", n=1, lineterm="")
    return ["pg_dump --schema-only differs:\n" + "\n".join(list(diff)[:60])]


def internal_leftovers(conn: Connection, schema: str = SCHEMA) -> list[str]:
    """Objects of a migration that must be gone after complete or rollback: ``_pgroll_``
    columns, constraints and indexes; triggers; functions of the target schema (but the
    setup's own, ``SETUP_FUNCTIONS``)."""
    found = conn.execute(
        "SELECT 'column ' || c.relname || '.' || a.attname FROM pg_attribute a "
        "JOIN pg_class c ON c.oid = a.attrelid JOIN pg_namespace n ON n.oid = c.relnamespace "
        "WHERE n.nspname = %(s)s AND c.relkind IN ('r', 'p') AND a.attnum > 0 "
        "AND NOT a.attisdropped "
        "AND a.attname LIKE '\\_pgroll%%' "
        "UNION ALL SELECT 'constraint ' || conname FROM pg_constraint k "
        "JOIN pg_namespace n ON n.oid = k.connamespace WHERE n.nspname = %(s)s "
        "AND conname LIKE '\\_pgroll%%' "
        "UNION ALL SELECT 'index ' || indexname FROM pg_indexes WHERE schemaname = %(s)s "
        "AND indexname LIKE '\\_pgroll%%' "
        "UNION ALL SELECT 'trigger ' || tgname FROM pg_trigger t JOIN pg_class c "
        "ON c.oid = t.tgrelid JOIN pg_namespace n ON n.oid = c.relnamespace "
        "WHERE n.nspname = %(s)s AND NOT t.tgisinternal "
        "UNION ALL SELECT 'function ' || proname FROM pg_proc p JOIN pg_namespace n "
        "ON n.oid = p.pronamespace WHERE n.nspname = %(s)s "
        "UNION ALL SELECT 'invalid index ' || c.relname FROM pg_index i JOIN pg_class c "
        "ON c.oid = i.indexrelid JOIN pg_namespace n ON n.oid = c.relnamespace "
        "WHERE n.nspname = %(s)s AND NOT i.indisvalid", {"s": schema}).fetchall()
    setup = {f"function {name}" for name in SETUP_FUNCTIONS}
    return sorted(r[0] for r in found if r[0] not in setup)


def view_columns(conn: Connection, schema: str) -> list[tuple[Any, ...]]:
    return conn.execute(
        "SELECT c.relname, a.attname, format_type(a.atttypid, a.atttypmod) FROM pg_attribute a "
        "JOIN pg_class c ON c.oid = a.attrelid JOIN pg_namespace n ON n.oid = c.relnamespace "
        "WHERE n.nspname = %s AND c.relkind = 'v' AND a.attnum > 0 ORDER BY 1, a.attnum",
        (schema,)).fetchall()


@dataclass(frozen=True)
class Reference:
    """A clean start+complete of a migration on an untouched copy (no clients, no faults)."""

    catalog: Catalog | None
    views: tuple[tuple[Any, ...], ...]
    error: str | None


_REFERENCES: dict[tuple[str, str], Reference] = {}


def cached_reference(s: Spec) -> Reference | None:
    """The clean run of ``s``, if one was made already in this session."""
    return _REFERENCES.get((s.setup.text, s.text))


def reference(conn: Connection, dsn: str, s: Spec) -> Reference:
    """The catalog a clean run of ``s`` gives, computed once per migration text (in the
    ``ref`` schema of the calling test's database, before the test's own run)."""
    if (s.setup.text, s.text) in _REFERENCES:
        return _REFERENCES[s.setup.text, s.text]
    schema = f"{REF_SCHEMA}{len(_REFERENCES)}"
    prepare(conn, dsn, schema, setup=s.setup)
    runner = make_runner(dsn, schema)
    try:
        runner.start(compile_spec(s))
        runner.complete()
        catalog = dataclasses.replace(introspect(conn, schema), schema=SCHEMA)
        views = tuple(view_columns(conn, f"{schema}_{CHANGE_NAME}"))
        found = Reference(catalog, views, None)
    except Exception as err:  # noqa: BLE001 - a clean run that fails is itself a finding
        found = Reference(None, (), f"{type(err).__name__}: {err}")
    finally:
        runner.close()
    _REFERENCES[s.setup.text, s.text] = found
    return found


def rows_through(conn: Connection, names: Sequence[str]) -> dict[int, Row]:
    """Every row of ``items`` as the connection's version sees it."""
    statement = sql.SQL("SELECT {} FROM items").format(
        sql.SQL(", ").join(map(sql.Identifier, names)))
    return {r[0]: dict(zip(names, r, strict=True)) for r in conn.execute(statement).fetchall()}


def checksum_matches(conn: Connection, expected: list[Row]) -> tuple[str, str]:
    """(checksum of the physical table's rows, checksum of the model's rows as rows of the
    same table type): md5 over every column of every row in id order. Extra columns, a
    value off by one or a missing row all change the first."""
    actual = conn.execute(
        "SELECT md5(coalesce(string_agg(t::text, '|' ORDER BY t.id), '')) FROM public.items t"
    ).fetchone()
    model = conn.execute(
        "SELECT md5(coalesce(string_agg(t::text, '|' ORDER BY t.id), '')) "
        "FROM jsonb_populate_recordset(NULL::public.items, %s::jsonb) t",
        (json.dumps(expected),)).fetchone()
    assert actual is not None and model is not None
    return str(actual[0]), str(model[0])


# ---- classification of failed writes and the invariants -----------------------------------


def classify(write: Write, old_exists: bool, new_exists: bool, base_columns: Sequence[str]
             ) -> str | None:
    """Why a failed write was allowed to fail, or None when its failure is a defect.

    The only allowed failures:

    * E1: a write through the old version once ``complete`` has dropped the old version
      schema (the relation is gone: 42P01/3F000);
    * E2: a write through the new version once ``rollback`` has dropped the new version
      schema (same errors);
    * E3: an insert into the physical table, after complete, by a client that does not know
      a NOT NULL column the migration added (23502 naming a column it does not write);
    * E4: a deployed client's write issued for the new version's view at a boundary inside
      rollback's transaction, which waited for it: once that commits, ``items`` is the
      physical table, which has no column of the new version's the write names (42703).
    """
    if write.ok:
        return None
    if (write.role == OLD and write.phase in ("complete", "after") and not old_exists
            and write.sqlstate in GONE):
        return "E1 old version dropped by complete"
    if (write.role == NEW and write.phase in ("rollback", "after") and not new_exists
            and write.sqlstate in GONE):
        return "E2 new version dropped by rollback"
    if (write.role in BASE_WRITERS and write.kind == "insert" and write.sqlstate == "23502"
            and write.phase in ("complete", "after")):
        column = re.search(r'column "([^"]+)"', write.error or "")
        if column and column[1] not in base_columns and column[1] not in write.values:
            return "E3 base client unaware of a NOT NULL column after complete"
    if (write.role == DEPLOYED and write.sqlstate == "42703" and write.phase == "rollback"
            and not new_exists):
        column = re.search(r'column "([^"]+)"', write.error or "")
        if column and column[1] in write.values and column[1] not in BASE_SCHEMA.names():
            return "E4 deployed client's view write met the table rollback left"
    return None


@dataclass
class Outcome:
    """What a schedule did: every write, the model built from them, and the problems."""

    spec: Spec
    writes: list[Write] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    model: RowModel | None = None

    def add(self, problem: str) -> None:
        self.problems.append(problem)

    def fail_if_problems(self, context: str) -> None:
        if self.problems:
            shown = "\n  ".join(self.problems[:25])
            more = f"\n  ... and {len(self.problems) - 25} more" if len(self.problems) > 25 \
                else ""
            pytest.fail(f"{context} [{self.spec.key}]\nmigration:\n{self.spec.text}"
                        f"problems:\n  {shown}{more}", pytrace=False)


def build_model(outcome: Outcome, admin: Connection, ending: str,
                seeded: int = SEED_ROWS) -> RowModel:
    """Classify every failed write and replay the successful ones through the model.

    A write counts as a write of the relation it went through (``Write.through``): a version
    schema's view, or the physical table. A base-table write counts as an old-version write
    while the table was the old version or still had the migration's shape (issued during
    start, which free-running writers also label the writes made before it: the table is
    then the old one whatever its shape; or the row written had a ``_pgroll_`` column, or
    columns the completed table does not have), and as a new-version write once complete
    has made the table the new version (never when the migration ends in rollback: the table
    is then the old one). The shape alone cannot tell a write before start from one after
    complete when the migration keeps every column's name (``qty_bigint+u_bigint+...``).
    A client that wrote somewhere its role never writes (``REACHES``) is a problem of its
    own.
    """
    s = outcome.spec
    model = RowModel(s)
    seed_model(model, seeded)
    old_exists = schema_exists(admin, OLD_VERSION)
    new_exists = schema_exists(admin, NEW_VERSION)
    base_columns = s.base_columns()
    final_names = set(s.final.names())
    for write in outcome.writes:
        if not write.ok:
            write.expected_failure = classify(write, old_exists, new_exists, base_columns)
            if write.expected_failure is None:
                outcome.add(f"client write failed: {write.describe()}")
            count("expected failures", write.expected_failure is not None)
            if write.expected_failure is not None:
                count(f"expected failures {write.expected_failure.split()[0]}", 1)
            continue
        count("client writes", 1)
        if write.role == DEPLOYED:
            count(f"deployed client writes through {write.through}", 1)
        insert = write.kind == "insert"
        who = f"{write.role}@{write.where}"
        if write.through not in REACHES[write.role]:
            outcome.add(f"client write went through {write.through!r}: {write.describe()}")
        if write.through == OLD_VERSION:
            model.old_write(write.row_id, write.values, insert, who)
        elif write.through == NEW_VERSION:
            model.new_write(write.row_id, write.values, insert, who)
        else:
            returned = set(write.returned)
            migrating = (write.phase == "start" or returned != final_names
                         or any(c.startswith("_pgroll") for c in returned))
            if migrating or ending == "rollback":
                model.old_write(write.row_id, write.values, insert, who)
            else:
                model.new_write(write.row_id, write.values, insert, who)
    outcome.model = model
    return model


def compare_rows(outcome: Outcome, actual: dict[int, Row], expected: dict[int, Row],
                 label: str) -> None:
    assert outcome.model is not None
    if set(actual) != set(expected):
        outcome.add(f"{label}: row ids differ: missing {sorted(set(expected) - set(actual))}, "
                    f"unexpected {sorted(set(actual) - set(expected))}")
    wrong = 0
    for row_id in sorted(set(actual) & set(expected)):
        if actual[row_id] != expected[row_id]:
            wrong += 1
            if wrong <= 8:
                outcome.add(f"{label}: row {row_id} (last written by "
                            f"{outcome.model.last_writer.get(row_id)}) is {actual[row_id]}, "
                            f"the model says {expected[row_id]}")
    if wrong > 8:
        outcome.add(f"{label}: {wrong} rows differ in all")


def check_completed(outcome: Outcome, admin: Connection, dsn: str, ref: Reference) -> None:
    """The invariants after complete: the new version equals the model row for row, nothing
    internal is left, and the catalog is what a clean run gives."""
    model = outcome.model
    assert model is not None
    names = outcome.spec.final.names()
    if schema_exists(admin, OLD_VERSION):
        outcome.add(f"the old version schema {OLD_VERSION} still exists after complete")
    if not schema_exists(admin, NEW_VERSION):
        outcome.add(f"the new version schema {NEW_VERSION} is missing after complete")
    else:
        with contextlib.closing(connect_client(dsn, NEW_VERSION, "check")) as reader:
            try:
                actual = rows_through(reader, names)
            except psycopg.Error as err:
                outcome.add(f"reading through the new version failed: {err}")
                actual = {}
        expected = {i: model.new(i) for i in model.rows}
        compare_rows(outcome, actual, expected, "new version after complete")
        count("rows checked", len(expected))
    physical = [c[0] for c in columns_of(admin, "items")]
    if sorted(physical) != sorted(names):
        outcome.add(f"physical columns after complete are {physical}, expected {names}")
    else:
        got, want = checksum_matches(admin, [model.new(i) for i in sorted(model.rows)])
        if got != want:
            outcome.add(f"checksum of the physical rows after complete {got} != model {want}")
    for leftover in internal_leftovers(admin):
        outcome.add(f"left over after complete: {leftover}")
    if ref.error is not None:
        outcome.add(f"a clean start+complete of the migration fails: {ref.error}")
    elif ref.catalog is not None:
        actual_catalog = introspect(admin, SCHEMA)
        for diff in catalog_diff(ref.catalog, actual_catalog):
            outcome.add(f"catalog differs from a clean run: {diff}")
        views = tuple(view_columns(admin, NEW_VERSION))
        if views != ref.views:
            outcome.add(f"new version views differ from a clean run: {views} != {ref.views}")


def check_rolled_back(outcome: Outcome, admin: Connection, dsn: str,
                      before: dict[str, list[tuple[Any, ...]]],
                      dump_before: str | None = None) -> None:
    """The invariants after rollback: the schema is exactly as before start (the catalog
    fingerprint, and the ``pg_dump --schema-only`` text when ``dump_before`` is given), and the
    old version (and the physical table) equals the model row for row."""
    model = outcome.model
    assert model is not None
    for diff in fingerprint_diff(before, fingerprint(admin)):
        outcome.add(f"after rollback: {diff}")
    if dump_before is not None:
        for diff in dump_diff(dump_before, schema_dump(dsn)):
            outcome.add(f"after rollback: {diff}")
    names = BASE_SCHEMA.names()
    if schema_exists(admin, NEW_VERSION):
        outcome.add(f"the new version schema {NEW_VERSION} still exists after rollback")
    if not schema_exists(admin, OLD_VERSION):
        outcome.add(f"the old version schema {OLD_VERSION} is missing after rollback")
    else:
        with contextlib.closing(connect_client(dsn, OLD_VERSION, "check")) as reader:
            try:
                actual = rows_through(reader, names)
            except psycopg.Error as err:
                outcome.add(f"reading through the old version failed: {err}")
                actual = {}
        compare_rows(outcome, actual, {i: model.old(i) for i in model.rows},
                     "old version after rollback")
        count("rows checked", len(model.rows))
    got, want = checksum_matches(admin, [model.old(i) for i in sorted(model.rows)])
    if got != want:
        outcome.add(f"checksum of the physical rows after rollback {got} != model {want}")
    for leftover in internal_leftovers(admin):
        outcome.add(f"left over after rollback: {leftover}")


def columns_of(conn: Connection, table: str, schema: str = SCHEMA) -> list[tuple[Any, ...]]:
    return conn.execute(
        "SELECT attname, format_type(atttypid, atttypmod), attnotnull FROM pg_attribute "
        "WHERE attrelid = to_regclass(%s) AND attnum > 0 AND NOT attisdropped ORDER BY attnum",
        (sql.Identifier(schema, table).as_string(conn),)).fetchall()


def catalog_diff(expected: Catalog, actual: Catalog) -> list[str]:
    """Table by table, the parts of two catalogs that differ (short, readable)."""
    if expected == actual:
        return []
    out = []
    want = {t.name: t for t in expected.tables}
    got = {t.name: t for t in actual.tables}
    if set(want) != set(got):
        out.append(f"tables {sorted(got)} != {sorted(want)}")
    for name in sorted(set(want) & set(got)):
        a, b = got[name], want[name]
        for part in ("columns", "constraints", "indexes", "replica_identity", "comment"):
            if getattr(a, part) != getattr(b, part):
                out.append(f"{name}.{part}: {getattr(a, part)} != clean run "
                           f"{getattr(b, part)}")
    if not out:
        out.append("catalogs differ outside the tables (sequences or enums)")
    return out


# ---- session summary -----------------------------------------------------------------------

STATS: Counter[str] = Counter()
_STATS_LOCK = threading.Lock()


def count(key: str, n: int = 1) -> None:
    """Add to the harness's size counters (from any thread)."""
    with _STATS_LOCK:
        STATS[key] += n


class _Summary:
    """Prints the harness's size at the end of the session."""

    def pytest_terminal_summary(self, terminalreporter: Any) -> None:
        if not STATS:
            return
        terminalreporter.section("fault harness size")
        for key in sorted(STATS):
            terminalreporter.write_line(f"{key}: {STATS[key]}")


def register_summary(config: pytest.Config) -> None:
    if not config.pluginmanager.has_plugin("fault-summary"):
        config.pluginmanager.register(_Summary(), "fault-summary")


# ---- the CLI as a subprocess ---------------------------------------------------------------

CLI = [sys.executable, "-m", "pgroll_dsl"]


@dataclass
class CliResult:
    """One run of the real command line."""

    args: list[str]
    returncode: int
    stdout: str
    stderr: str
    seconds: float

    @property
    def killed(self) -> bool:
        return self.returncode == -signal.SIGKILL

    def describe(self) -> str:
        return (f"pgroll-dsl {' '.join(self.args)} -> {self.returncode}\n"
                f"stdout: {self.stdout.strip()}\nstderr: {self.stderr.strip()}")


def cli(args: list[str], dsn: str, env: dict[str, str] | None = None, timeout: float = 60,
        ) -> CliResult:
    """Run ``pgroll-dsl ARGS --postgres-url DSN`` (a real process, as a user runs it)."""
    full = [*args, "--postgres-url", dsn] if args[0] not in ("plan", "validate") else args
    environment = {k: v for k, v in os.environ.items() if not k.startswith("PGROLL")}
    environment.update(env or {})
    began = time.perf_counter()
    result = subprocess.run([*CLI, *full], capture_output=True, text=True, timeout=timeout,
                            env=environment, check=False)
    count("CLI processes", 1)
    return CliResult(full, result.returncode, result.stdout, result.stderr,
                     time.perf_counter() - began)


def cli_popen(args: list[str], dsn: str, env: dict[str, str] | None = None,
              ctrl_c: bool = False, sigterm_ignored: bool = False) -> subprocess.Popen[str]:
    """``cli`` without waiting; ``ctrl_c``: SIGINT at its default, as a terminal delivers it;
    ``sigterm_ignored``: SIGTERM ignored, as a parent may hand it on.

    A process started in the background by a non-interactive shell (``nohup``, ``&`` in a
    CI script) inherits SIGINT ignored, and Python then leaves it so: the CLI would never see
    the SIGINT a test sends.
    """
    environment = {k: v for k, v in os.environ.items() if not k.startswith("PGROLL")}
    environment.update(env or {})
    count("CLI processes", 1)

    def signals() -> None:
        if ctrl_c:
            signal.signal(signal.SIGINT, signal.SIG_DFL)
        if sigterm_ignored:
            signal.signal(signal.SIGTERM, signal.SIG_IGN)

    return subprocess.Popen([*CLI, *args, "--postgres-url", dsn], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env=environment,
                            preexec_fn=signals if ctrl_c or sigterm_ignored else None)


def no_traceback(result: CliResult) -> str | None:
    if "Traceback (most recent call last)" in result.stderr:
        return f"Python traceback in stderr of {result.describe()}"
    return None


def status_of(dsn: str) -> dict[str, Any]:
    result = cli(["status"], dsn)
    assert result.returncode == 0, result.describe()
    document: dict[str, Any] = json.loads(result.stdout)
    return document


def status_of_detail(dsn: str) -> dict[str, Any]:
    """The ``progress`` object of ``status --detail`` (None: no migration is active)."""
    result = cli(["status", "--detail"], dsn)
    assert result.returncode == 0, result.describe()
    progress: dict[str, Any] = json.loads(result.stdout)["progress"]
    return progress


def write_file(directory: Path, name: str, text: str) -> Path:
    path = directory / f"{name}.pgroll"
    path.write_text(text, encoding="utf-8")
    return path


def free_writer(client: Client, version: Schema, stop: threading.Event,
                phase: Callable[[], str], columns: Sequence[str] | None = None,
                pause: float = 0.002, wait_for: Callable[[], bool] | None = None,
                stop_on_expected_gone: bool = True, inserts_only: bool = False,
                ) -> threading.Thread:
    """A thread that writes through ``client`` until ``stop``, alternating inserts and updates
    (each one waited for, so they are executed in order). A write that fails because its
    version is gone ends the writer: a deployed client would have switched over."""

    def loop() -> None:
        if wait_for is not None:
            while not wait_for():
                if stop.wait(0.005):
                    return
        while not stop.is_set():
            insert = inserts_only or client.seq % 2 == 0
            write = client.new_write(version, "free", phase(), insert, columns)
            try:
                client.submit(write).result(timeout=60)
            except FutureTimeout:
                write.error, write.sqlstate = "hung for 60 s", "HUNG"
                return
            if not write.ok:
                # A failure belongs to the phase it came back in: a write made "between" may
                # wait behind rollback's transaction and find the new version gone (E2).
                write.phase = phase()
            if not write.ok and write.sqlstate in GONE and stop_on_expected_gone:
                return
            time.sleep(pause)

    thread = threading.Thread(target=loop, name=f"free-{client.role}", daemon=True)
    thread.start()
    return thread


def iter_boundaries(total: int) -> Iterator[int]:
    """1-based step numbers a kill can happen before: 1..total+1 (after the last step)."""
    yield from range(1, total + 2)
