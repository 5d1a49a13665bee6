"""The backfill: every row that existed before start gets its copies filled, in batches.

Everything about it lives here: the marker column that says which rows still need it (the
table's last sync trigger clears it on every row a client writes), the batched loop itself,
and the progress it reports. The sync triggers (``triggers.py``) fill the copies of rows that
clients write; the backfill fills the rest.

How a batch works, and why:

* **It writes the values itself.** Each batch is one ``UPDATE`` that sets every copy of the
  table from its ``up`` expression (names turned into physical columns) and clears the marker,
  with the sync triggers skipped for that transaction by their ``WHEN`` clause, which reads
  the setting ``BACKFILL_SETTING`` (they fire in every replication role), and with
  ``session_replication_role = replica`` where the role may set it (the table's own
  triggers enabled at origin do not fire either). A per-row PL/pgSQL
  trigger costs more than the write itself; the single statement runs at about the speed of
  a plain ``UPDATE``. Where the statement cannot
  give what the triggers give, the batch only touches the marker and lets the triggers
  compute the copies, as before: an ``up`` that reads a copy an earlier operation fills (the
  triggers run in order, one statement sees the old row), a reference the planner cannot map
  to a physical column, or an assignment PostgreSQL refuses at the start (PL/pgSQL would fall
  back to text conversion; ``UPDATE`` does not). The choice for the last is made by the server
  at the first batch, before any row is written.
* **No pre-lock.** A batch is a key range ``[lower, upper]`` (``upper`` found by an index
  scan ``size`` keys ahead) updated where the marker is still set. A client that writes a row
  of the range first clears its marker, and the ``UPDATE`` re-checks the marker of a row it
  had to wait for, so it never overwrites a client's write and needs no ``FOR UPDATE`` read.
* **Batches sized by time.** The first has ``batch_size`` keys, or without one what the
  table's size says fits in ``batch_time_ms`` (``_Body._estimate``: a small table is one
  batch); each next one is resized so that a batch takes about ``batch_time_ms`` (never
  more than twice the last), which keeps the row locks a client may wait for short on any
  table, and the per-batch overhead small.
* **Few statements.** Each statement of the block is planned the first time it runs: a
  few hundredths of a millisecond each, which on a table of ten thousand rows add up to a
  tenth of the work. The catalog is read in one statement (``_Body._prelude``), and the
  watch's checks avoid recursive queries.
* **Without a key** (no primary key nor unique NOT NULL column), batches are ranges of pages
  read by a TID range scan: each page once.
* **Two passes, where it can.** While any BEFORE UPDATE row trigger exists on a table,
  PostgreSQL fetches and locks every row an ``UPDATE`` touches before it looks at the
  trigger's WHEN or at ``session_replication_role``: with the sync triggers in place the
  batches cost 7-19 % more than a plain ``UPDATE``. So where every copy of the table can be
  written by the statement and exists, with the marker, before the table's first sync
  trigger (see :func:`finish` and :func:`place`), a first pass runs right before that
  trigger: the same loop, which clears the marker and stamps each row it writes with its
  transaction's id (``BACKFILLED_BY``). No trigger syncs a client's write meanwhile, but the
  row's new version has another ``xmin``; the second pass, right after the triggers and
  before anything else reads the copies (checks, keys, indexes, the new version's views: see
  :func:`place`), writes again every stamped row whose ``xmin`` is not its stamp (and any
  row still marked), reading the table once by pages, and takes the stamp away. That
  includes rows clients wrote through the triggers after the first pass had: their copies
  are recomputed from the same ``up`` (no volatile call: see :func:`_two_passes`), and no
  client of the new version, whose write ``up`` would not give back, exists yet. A row is
  then backfilled and unmarked as after a single pass: the triggers skip a write that
  changes nothing. The first pass writes nothing unless the probe accepts the
  statement (else the second pass is the whole backfill, as a single pass was), nor once a
  sync trigger of the table exists. Its batches never run inside a block with an EXCEPTION
  clause: a subtransaction would give the rows another ``xmin`` than
  ``pg_current_xact_id()``.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from pgroll_dsl.catalog.derived import (
    BACKFILL_SETTING,
    BACKFILLED_BY,
    FROM_SETTING,
    MARKER,
    NEW_PREFIX,
    SLICE_SETTING,
    SYNC_TRIGGER_PREFIXES,
    TO_SETTING,
    WATCH_PREFIX,
    watch_names,
)
from pgroll_dsl.catalog.model import Table
from pgroll_dsl.plan import attributes, safety
from pgroll_dsl.plan.context import Context
from pgroll_dsl.plan.model import Cost, Lock, Phase, Step, StepKind
from pgroll_dsl.plan.options import PlanOptions
from pgroll_dsl.plan.triggers import (
    Kind,
    TriggerSpec,
    enabled_always,
    on_the_row,
    trigger_function_sql,
    trigger_sql,
)
from pgroll_dsl.plan.watch import Watch, count_in, passed, unwatch_steps, watch_steps
from pgroll_dsl.sql.ddl import current_setting, qualified
from pgroll_dsl.sql.expressions import NON_VOLATILE_FUNCTIONS, calls, column_references
from pgroll_dsl.sql.quoting import dollar_quote, quote_ident, quote_literal

# For this transaction only: no trigger fires, ours (the batch writes what they would) nor the
# table's own.
_REPLICA = "pg_catalog.set_config('session_replication_role', 'replica', true)"
_INTEGER_TYPES = frozenset({"smallint", "integer", "bigint"})
# The table's alias in the loop's statements. Every column is named through it and the block
# resolves bare names to its variables (#variable_conflict use_variable): a column may be
# called anything, ``found`` or ``_pgroll_size`` included, without meeting a variable.
ROW = "_pgroll_row"
MARKER_COLUMN = quote_ident(MARKER)  # in a SET list, where the alias may not go
BY_COLUMN = quote_ident(BACKFILLED_BY)
# The transaction a batch of the first pass runs in: the ``xmin`` of every row it writes (the
# batch is never in a subtransaction: no EXCEPTION clause around it).
_THIS_XID = "pg_catalog.pg_current_xact_id()::pg_catalog.xid"
# Which of the ``_pgroll_fires`` states (``_Body._prelude``) fire on a batch, any kind of
# trigger: enabled ALWAYS, or REPLICA with the replica role, or at origin without it.
_FIRES_ON_BATCHES = "CASE WHEN _pgroll_replica THEN '[AR]' ELSE '[OA]' END"
# Batches grow no larger than this many keys (pages: a fiftieth of it), however fast rows go.
MAX_BATCH = 1_000_000
# The first batch when no size is asked for and the table has no statistics (pgroll's size).
DEFAULT_BATCH = 1000
# The rate a first batch is sized by, in bytes of the whole table (heap, TOAST and indexes:
# a row's share of them) per millisecond: two thirds of what the slowest machine measured
# does (the 2-core CI machine: one UPDATE of a table goes through ~32 MB of it a second).
WRITE_RATE_KB_PER_MS = 20
# How the loop's NOTICEs begin: progress (rows done in the DETAIL, ``progress_rows``) and a wait
# for a lagging replica (``backfill_note``), which the executor passes on to the operator.
NOTICE = "pgroll-dsl backfill"


def add_marker(ctx: Context, table: Table) -> None:
    """The marker column, once per table: ``true`` on every existing row, no rewrite."""
    if table.physical in ctx.marked_tables:
        return
    ctx.marked_tables.add(table.physical)
    ctx.marker_steps[table.physical] = len(ctx.start)
    ctx.step(Phase.START, f"ALTER TABLE {ctx.table_ref(table)} ADD COLUMN IF NOT EXISTS "
             f"{quote_ident(MARKER)} boolean NOT NULL DEFAULT true, ADD COLUMN IF NOT EXISTS "
             f"{BY_COLUMN} pg_catalog.xid",
             f"backfill marker on {table.physical} (constant default: no rewrite), and "
             f"{BACKFILLED_BY} (no default)",
             tables=(table.physical,), safe=(safety.CONSTANT_DEFAULT,))


def schedule(ctx: Context, table: Table) -> None:
    """One backfill per table, after the views exist (new clients may already write).

    Its statement is written by :func:`finish` once every operation is planned: a later
    operation on the same table adds copies the same batches fill.
    """
    if any(s.kind is StepKind.BACKFILL and s.tables == (table.physical,)
           for s in ctx.late_start):
        return
    ctx.late_start.append(Step(
        sql="", summary=f"backfill {table.physical}", lock=Lock.ROW_EXCLUSIVE,
        tables=(table.physical,), cost=Cost.BACKFILL, transactional=False,
        kind=StepKind.BACKFILL, origin=ctx.origin,
    ))
    key = _key(ctx, table)
    ctx.backfill_keys[table.physical] = key
    original = ctx.before.table(table.name) or table
    column = original.column(key[0]) if len(key) == 1 else None
    if column is not None and column.type in _INTEGER_TYPES:
        ctx.integer_keyed.add(table.physical)


def finish(ctx: Context) -> None:
    """Write the statement of every scheduled backfill, now that all sync triggers are known.

    A partitioned table is backfilled partition by partition: one step per leaf partition,
    each keyed on the parent's key (a partition's share of the parent's primary key is its
    own index) or by the partition's pages, so a batch reads one partition's index and the
    cost of a batch does not grow with the number of partitions. The sync triggers are the
    parent's, which PostgreSQL puts on every partition.

    A table whose copies can be written by one statement, and whose copies and marker all
    exist before its first sync trigger, is backfilled in two passes (see :func:`place`):
    the first one is kept aside in ``ctx.first_pass`` until the steps are placed.
    """
    steps: list[Step] = []
    for step in ctx.late_start:
        if step.kind is not StepKind.BACKFILL or not step.tables:
            steps.append(step)
            continue
        table = step.tables[0]
        key = ctx.backfill_keys[table]
        assignments = direct_assignments(_filled(ctx, table))
        two = bool(assignments) and ctx.options.two_passes and _two_passes(ctx, table)
        how = "writing the copies itself" if assignments else "the triggers fill the copies"
        batches = (f"keyed on {', '.join(key)}" if key else "by pages (no key)")
        parent = next((t for t in ctx.before.tables if t.physical == table), None)
        leaves = ([leaf.physical for leaf in ctx.before.leaf_partitions(parent.name)]
                  if parent is not None and parent.partitioned else [table])
        integer = table in ctx.integer_keyed
        firsts = watch_steps(ctx, table, leaves) if two else []  # every first pass is watched
        for leaf in leaves:
            of = f" (partition of {table})" if leaf != table else ""
            if two:
                firsts.append(replace(
                    step, sql=backfill_sql(ctx.schema, leaf, key, assignments, ctx.options,
                                           integer=integer, mode=FIRST, watch=table), key=key,
                    tables=(leaf,), summary=f"backfill {leaf}{of}, first pass, before its sync "
                    f"triggers exist: in batches {batches}, writing the copies itself"))
                steps.append(replace(
                    step, sql=backfill_sql(ctx.schema, leaf, key, assignments, ctx.options,
                                           integer=integer, mode=SECOND, watch=table), key=key,
                    tables=(leaf,), summary=f"backfill {leaf}{of}, second pass: none if no "
                    "statement wrote the table since the first pass began, else the rows "
                    "written since the first pass read them (by pages if it ran; else in "
                    f"batches {batches}, {how})"))
                continue
            steps.append(replace(
                step, sql=backfill_sql(ctx.schema, leaf, key, assignments, ctx.options,
                                       integer=integer), key=key,
                tables=(leaf,), summary=f"backfill {leaf}{of} in batches {batches}, {how}"))
        if two:
            ctx.first_pass[table] = firsts
    ctx.late_start[:] = steps


def _first_sync_step(ctx: Context, table: str) -> int | None:
    positions = [ctx.sync_functions[s.named(kind)] for s in ctx.syncs if s.table == table
                 for kind in s.kinds()]
    return min(positions) if positions else None


def _two_passes(ctx: Context, table: str) -> bool:
    """Whether ``table`` may get a first pass before its sync triggers.

    Every copy the backfill fills and the marker must exist before the table's first sync
    trigger (not so when a later operation on the table adds a copy after an earlier one's
    triggers), and no exclusion constraint may be built on a copy at start: it is built
    under ACCESS EXCLUSIVE while the copies are empty, and stale copies could conflict.
    Nor may an ``up`` call a volatile function (``nextval``, ``random()``, a function the
    planner does not know): the first pass would call it once more for each row a client
    writes before the second pass, where a single pass calls it once. (A sub-query is
    fine: its value is read when the row is written, by either pass or by a trigger.)
    """
    marker = ctx.marker_steps.get(table)
    first = _first_sync_step(ctx, table)
    if marker is None or first is None or marker > first:
        return False
    # Only trigger functions and triggers between the two passes (see ``place``): a
    # constraint or an index on a copy made there would meet the stale copies of rows
    # clients wrote during the first pass.
    ddl = _trigger_ddl(ctx, table)
    if not all(s.sql.startswith(ddl)
               for s in ctx.start[first:_last_sync_trigger(ctx, table) + 1]):
        return False
    ref = qualified(ctx.schema, table)
    # (The table's own steps, picked once: each copy looked for among all the steps before
    # was quadratic, 0.3 s of the 1.3 s a plan of 400 operations on 100 tables took.)
    earlier = [s.sql for s in ctx.start[:first] if table in s.tables]
    for spec in ctx.syncs:
        if spec.table != table or spec.up is None:
            continue
        called = calls(spec.up.expression)
        if not called.parsed or not called.functions <= NON_VOLATILE_FUNCTIONS:
            return False
        if not any(_adds(sql, ref, spec.up.target) for sql in earlier):
            return False
    tree = ctx.before.tree(table)
    return not any(s.cost is Cost.BUILD_LOCKED and any(t in tree for t in s.tables)
                   for s in (*ctx.start, *ctx.late_start))


def _filled(ctx: Context, table: str) -> list[TriggerSpec]:
    """The sync specs of ``table`` with an ``up``: the copies its backfill fills."""
    return [s for s in ctx.syncs if s.table == table and s.up is not None]


def _adds(sql: str, ref: str, column: str) -> bool:
    """Whether the step ``sql`` adds ``column`` to the table ``ref`` (qualified).

    A plain ``ADD COLUMN``, or the block that adds a copy with the old column's settings
    (``attributes.add_copy_sql``).
    """
    return (sql.startswith((f"ALTER TABLE {ref} ADD COLUMN IF NOT EXISTS {quote_ident(column)} ",
                            f"ALTER TABLE {ref} ADD COLUMN {quote_ident(column)} "))
            or attributes.adds_copy(sql, ref, column))


def _last_sync_trigger(ctx: Context, table: str) -> int:
    """The step that ends the table's last sync trigger (it enables it ALWAYS).

    A step joined to the ``CREATE TRIGGER`` (see ``triggers.enabled_always``).
    """
    return max(ctx.sync_triggers[s.named(kind)] for s in ctx.syncs if s.table == table
               for kind in s.kinds()) + 1


def _trigger_ddl(ctx: Context, table: str) -> tuple[str, ...]:
    """How the steps that make the table's sync triggers (and their functions) begin."""
    return (*_TRIGGER_DDL, enabled_always(ctx.schema, table))


def gather(ctx: Context) -> None:
    """Every copy of a table before its first sync trigger, where that gives it two passes.

    Each operation's steps come in its order, so a second operation on a table (a second
    column added, a column added and another retyped) adds its copy after the first one's
    sync triggers: the table would get a single pass, after the triggers, slower than a
    first pass (while a BEFORE row trigger exists PostgreSQL locks each row first; as the
    table's owner, without the replica role, the triggers run on every row: 100 k rows and
    two copies, 0.51 s against 0.74 s as the owner, 0.42 against 0.47 s as a superuser).
    Between the table's first sync trigger function and its last sync
    trigger, its copies' ``ADD COLUMN`` steps (and the marker's) move up to before that
    function, and its comments and ``NOT VALID`` constraints move down to after that
    trigger (a constraint made later only holds later; the copies exist before any
    function that names them). Only when nothing else stands there (any other step, one on
    another table but trigger DDL, or a step joined to the one before it: the order is
    left as it was), and only when the table then gets its two passes (``_two_passes``):
    the fault harness (tests/test_fault_harness.py) writes at every step boundary of each
    pair of operations on one table.
    """
    if not ctx.options.two_passes:
        return
    for table in dict.fromkeys(s.table for s in ctx.syncs if s.up is not None):
        order = _gathered(ctx, table)
        if order is None:
            continue
        _reorder(ctx, order)
        if not (direct_assignments(_filled(ctx, table)) and _two_passes(ctx, table)):
            _reorder(ctx, sorted(range(len(order)), key=order.__getitem__))  # as it was


def _gathered(ctx: Context, table: str) -> list[int] | None:
    """The new order of start's steps for ``table`` (see :func:`gather`), or ``None``."""
    first = _first_sync_step(ctx, table)
    if first is None:
        return None
    last = _last_sync_trigger(ctx, table)
    ref = qualified(ctx.schema, table)
    copies = [s.up.target for s in ctx.syncs if s.table == table and s.up]
    always = enabled_always(ctx.schema, table)  # joined to its trigger: stays beside it
    if any(s.joins_previous and not s.sql.startswith(always)
           for s in ctx.start[first:last + 2]):
        return None  # a transaction of several steps there: left as it is
    up: list[int] = []
    down: list[int] = []
    ddl = _trigger_ddl(ctx, table)
    for position in range(first, last + 1):
        step = ctx.start[position]
        if step.sql.startswith(ddl):
            continue
        if step.tables != (table,):
            return None
        if any(_adds(step.sql, ref, column) for column in (*copies, MARKER)):
            up.append(position)
        elif step.sql.startswith("COMMENT ON ") or (
                step.sql.startswith(f"ALTER TABLE {ref} ADD CONSTRAINT ")
                and step.sql.endswith(" NOT VALID")):
            down.append(position)
        else:
            return None
    if not up:
        return None
    moved = {*up, *down}
    stay = [p for p in range(first, last + 1) if p not in moved]
    return [*range(first), *up, *stay, *down, *range(last + 1, len(ctx.start))]


def _reorder(ctx: Context, order: list[int]) -> None:
    """Put start's steps in ``order`` (old positions), and the positions kept of them too."""
    moved_to = {old: new for new, old in enumerate(order)}
    ctx.start[:] = [ctx.start[old] for old in order]
    for positions in (ctx.marker_steps, ctx.sync_functions, ctx.sync_triggers):
        for name, old in positions.items():
            positions[name] = moved_to[old]


def place(ctx: Context) -> None:
    """Put both passes of each two-pass table into start (after ``mark_last_triggers``).

    The first pass goes right before the table's first sync trigger function: no BEFORE
    UPDATE row trigger exists yet, so its ``UPDATE`` costs what a plain one does. It
    leaves the marker alone and records its transaction in ``BACKFILLED_BY``; a row a
    client writes meanwhile (not synced: no trigger yet) gets another ``xmin``.

    The second pass (the marked rows whose ``xmin`` is not the first pass's) goes right
    after the table's last sync trigger, before anything else is made on the copies: until
    it ends, the copy of a row a client wrote during the first pass is stale, and every
    object that reads copies would act on it. A unique index (or exclusion constraint)
    would see the stale and the current value of a unique value moved from one row to
    another: a spurious violation of the build or of a client's write. A foreign key copied
    onto a copy would check and act on the stale value: ``ON DELETE CASCADE`` would delete
    a child whose current value no longer references the deleted row, ``NO ACTION`` would
    refuse a client's legitimate delete (tests/test_review_two_pass.py). So the NOT VALID
    checks, the keys, the index builds and the new version's views all come after it: the
    new version appears with every copy filled.
    """
    if not ctx.first_pass:
        return
    # Each two-pass table's second-pass steps (one per leaf partition) leave the late steps.
    trees = {table: ctx.before.tree(table) for table in ctx.first_pass}
    seconds: dict[str, list[Step]] = {table: [] for table in ctx.first_pass}
    late: list[Step] = []
    for step in ctx.late_start:
        owner = next((t for t, tree in trees.items()
                      if step.kind is StepKind.BACKFILL and step.tables[0] in tree), None)
        (late if owner is None else seconds[owner]).append(step)
    ctx.late_start[:] = late
    inserts: list[tuple[int, list[Step]]] = []
    for table, firsts in ctx.first_pass.items():
        first = _first_sync_step(ctx, table)
        assert first is not None
        inserts.append((_last_sync_trigger(ctx, table) + 1,
                        [*seconds[table], *unwatch_steps(ctx, table)]))
        inserts.append((first, firsts))
    for position, steps in sorted(inserts, key=lambda pair: pair[0], reverse=True):
        ctx.start[position:position] = steps


def direct_assignments(specs: list[TriggerSpec]) -> tuple[tuple[str, str], ...]:
    """``(copy, expression over physical columns)`` for each copy; ``()`` if one does not map.

    Each ``up`` names columns the way its author sees them (the trigger declares those names
    as variables); here they become the physical columns. An expression that reads a column
    an earlier trigger of the table fills, or whose names the parser cannot place on the row,
    is left to the triggers: one statement would see that column before it is filled.
    """
    filled: set[str] = set()
    found = []
    for spec in specs:
        assert spec.up is not None
        expression = on_the_row(spec.up, ROW)
        names = dict(spec.up.variables)
        reads = {names[r.name] for r in column_references(spec.up.expression)
                 if r.name in names}
        if expression is None or reads & filled:
            return ()
        found.append((spec.up.target, expression))
        filled.add(spec.up.target)
    return tuple(found)


# What may stand between a table's two passes: its sync triggers and their functions.
_TRIGGER_DDL = ("CREATE OR REPLACE FUNCTION ", "CREATE OR REPLACE TRIGGER ")
# Which backfill a statement is: the only one, or the first or second of two passes.
ONLY, FIRST, SECOND = "only", "first", "second"


def backfill_sql(schema: str, table: str, key: tuple[str, ...],
                 assignments: tuple[tuple[str, str], ...], options: PlanOptions,
                 integer: bool = False, mode: str = ONLY, watch: str | None = None) -> str:
    """The batched loop as one ``DO`` block, committing after every batch.

    ``watch``: the table (``table`` or its partitioned parent) whose watch this pass keeps
    or reads (see :func:`watch_steps`).
    """
    target = qualified(schema, table)
    fast = ", ".join(f"{quote_ident(c)} = ({e})" for c, e in assignments)
    marker = f"{ROW}.{quote_ident(MARKER)}"
    unchanged = f"{ROW}.{BY_COLUMN} IS DISTINCT FROM {ROW}.xmin"
    # Two passes: a row is done when a pass wrote it and no one since (its xmin is the
    # stamp), whatever its marker says: the first pass clears the marker with no trigger
    # to set it again on a client's write.
    # The second pass leaves a row whose marker a sync trigger cleared and that has no
    # stamp: a client wrote or inserted it through the triggers, which filled its copies,
    # or the second pass wrote it (it takes the stamp away). Only rows the first pass wrote
    # can be stale without a marker; a row a client wrote would otherwise be written again
    # wherever its new version lies ahead of a pass by pages (a table without a key), and
    # an audit trigger see it once more.
    second = f"{unchanged} AND ({marker} OR {ROW}.{BY_COLUMN} IS NOT NULL)"
    rows = {ONLY: marker, FIRST: unchanged, SECOND: second}[mode]
    watched = (Watch(schema, watch, passed(table), partitioned=watch != table)
               if watch else None)
    body = _Body(target, quote_literal(table), rows, fast, options, mode, watched)
    text = body.keyed(key, integer) if key else body.by_pages()
    return "DO " + dollar_quote(text, "pgroll_backfill")


def _tree_cte(root: str) -> str:
    """``WITH RECURSIVE tree(oid)``: ``root`` (a ``regclass``), its partitions and children."""
    return (f"WITH RECURSIVE tree(oid) AS (SELECT {root}::oid UNION ALL SELECT inhrelid FROM "
            "pg_catalog.pg_inherits JOIN tree ON inhparent = tree.oid)")


@dataclass(frozen=True, slots=True)
class _Body:
    """The text of the loop, shared by the keyed and the page-range forms."""

    target: str  # the table, qualified
    table_literal: str  # its physical name as a literal, for the progress NOTICE
    marker: str  # which rows a batch writes (the marker is set, ...)
    fast: str  # ``copy = (expression), ...``; empty: the triggers compute the copies
    options: PlanOptions
    mode: str = ONLY  # FIRST: before the sync triggers; SECOND: after a FIRST
    watch: Watch | None = None  # a watched pass (``watch_steps``)

    @property
    def size(self) -> int:
        """The first batch (until the table's size says otherwise: ``estimated``)."""
        asked = self.options.batch_size
        return DEFAULT_BATCH if asked is None else max(1, asked)

    @property
    def time_ms(self) -> int:
        return self.options.batch_time_ms

    @property
    def delay(self) -> float:
        return self.options.batch_delay

    def _probe(self) -> list[str]:
        if not self.fast:
            return []
        # Planned once, on no row: an assignment the server refuses sends the whole backfill
        # to the triggers before anything is written. Then: may this role take the replica
        # role (session_replication_role: a superuser, or granted SET on it)? The table's own
        # triggers (an audit trail, an "updated_at") then do not see the backfill's writes,
        # and its BEFORE row triggers cannot change a column an `up` read. (The sync
        # triggers fire in every role: their WHEN skips the batch's rows.)
        # A watched pass's probe is not a client's write (see watch_steps): the setting says
        # so for the probe alone (cleared, or undone with the probe's subtransaction), or the
        # sync triggers would skip the first batch of a pass that leaves the copies to them.
        watched = self.watch is not None
        return [
            "  BEGIN",
            *([f"    PERFORM {self._backfilling()};"] if watched else []),
            f"    UPDATE {self.target} AS {ROW} SET {self.fast}, {MARKER_COLUMN} = false "
            "WHERE false;",
            *([f"    PERFORM {self._backfilling(on=False)};"] if watched else []),
            "  EXCEPTION WHEN OTHERS THEN",
            "    _pgroll_fast := false;",
            "  END;",
            "  BEGIN",
            f"    PERFORM {_REPLICA};",
            "    _pgroll_replica := true;",
            "    PERFORM pg_catalog.set_config('session_replication_role', 'origin', true);",
            "  EXCEPTION WHEN OTHERS THEN",
            "    _pgroll_replica := false;",
            "  END;",
        ]

    def _prelude(self, key: str | None) -> list[str]:
        """What the loop reads of the catalog before it starts, in one statement.

        One query instead of one per fact: each statement of the block is planned the first
        time it runs, which on a table of a few thousand rows costs as much as the rows
        (docs/benchmarks.md). ``key``: an integer key's column, whose bounds give its density.
        """
        table = f"{quote_literal(self.target)}::pg_catalog.regclass"
        ours = " OR ".join(f"pg_catalog.starts_with(tgname, {quote_literal(prefix)})"
                           for prefix in SYNC_TRIGGER_PREFIXES)  # a sync trigger's name
        watch = f"pg_catalog.starts_with(tgname, {quote_literal(WATCH_PREFIX)})"
        facts: list[tuple[str, str]] = []
        if self.fast:
            # The table's own UPDATE triggers, of any kind: how each is enabled ('O', 'A',
            # 'R', 'D'), in lower case for a BEFORE row trigger. One of those that fires on
            # the batch (at origin without the replica role; enabled ALWAYS, or REPLICA with
            # it) fires after the copies were computed: one that changes a column an `up`
            # reads (trims, defaults) would leave a copy out of step, so the triggers then
            # compute the copies. Any of them may write the table on the batch (the first
            # pass, below).
            facts.append(("_pgroll_fires", "(SELECT pg_catalog.string_agg(DISTINCT CASE WHEN "
                          "tgtype & 19 = 19 THEN pg_catalog.lower(tgenabled::text) ELSE "
                          "tgenabled::text END, '') FROM pg_catalog.pg_trigger WHERE tgrelid = "
                          "c.oid AND NOT tgisinternal AND tgtype & 16 = 16 AND NOT "
                          f"({ours} OR {watch}))"))  # update; row, before, update
        if self.mode == FIRST:
            facts.append(("_pgroll_synced", "EXISTS (SELECT FROM pg_catalog.pg_trigger WHERE "
                          f"tgrelid = c.oid AND ({ours}))"))
            if self.watch is not None:
                # A parent's write during the pass would not be counted, even if the table
                # leaves the parent before the pass ends: checked at both ends.
                facts.append(("_pgroll_unwatched", self._unwatched()))
        if self.estimated:
            facts.append(("_pgroll_size", self._estimate()))
        if key is not None:
            facts += [("_pgroll_tuples", "c.reltuples"),
                      ("_pgroll_first", f"(SELECT min({key}) FROM {self.target} AS {ROW})"),
                      ("_pgroll_last", f"(SELECT max({key}) FROM {self.target} AS {ROW})")]
        if not facts:
            return []
        lines = [
            "  SELECT " + ",\n    ".join(expression for _, expression in facts),
            f"    INTO {', '.join(name for name, _ in facts)}",
            f"    FROM pg_catalog.pg_class c WHERE c.oid = {table};",
        ]
        if self.fast:
            # (A BEFORE row trigger fires where it is enabled for the batch's role.)
            lines += ["  IF _pgroll_fires",
                      "      ~ (CASE WHEN _pgroll_replica THEN '[ar]' ELSE '[oa]' END) THEN",
                      "    _pgroll_fast := false;",
                      "  END IF;"]
        if self.mode == FIRST:
            # The first pass writes nothing unless it can write every copy directly, nor
            # once a sync trigger of the table exists (it then is not the first pass of a
            # start that is still before its triggers), nor where a trigger of the table's
            # own on UPDATE fires on its batches (enabled ALWAYS, or REPLICA with the replica
            # role, or at origin without it): such a trigger may write the table inside the
            # batch's transaction, a client's write that the sync triggers fire for (one
            # trigger deeper, see ``triggers._not_backfilling``), but before they exist it
            # has the batch's ``xmin``, which the second pass would take for the first
            # pass's own. The second pass does everything, and a watched pass says so in the
            # watch (``_unfilled``).
            unfilled = [f"    {self._unfilled()}"] if self.watch is not None else []
            lines += ["  IF NOT _pgroll_fast OR _pgroll_synced OR _pgroll_fires",
                      f"      ~* ({_FIRES_ON_BATCHES}) THEN",
                      *unfilled,
                      "    RETURN;",
                      "  END IF;"]
        if self.estimated:
            lines.append(f"  _pgroll_least := least(_pgroll_size, {DEFAULT_BATCH});")
        return lines

    @property
    def estimated(self) -> bool:
        """Whether the first batch is sized by the table's size (no size asked for)."""
        return self.options.batch_size is None and self.time_ms > 0

    def _estimate(self) -> str:
        """The rows that fit in one batch's time at an assumed rate (``WRITE_RATE_KB_PER_MS``).

        From the table's statistics: its rows, and its size with TOAST and indexes (a row
        with large values or many indexes costs more to write); ``DEFAULT_BATCH`` without
        them. A table smaller than that is backfilled in one batch, whose row locks are held
        no longer than a batch may take; each batch after the first is sized by the time the
        last one took.
        """
        budget = self.time_ms * WRITE_RATE_KB_PER_MS * 1024
        return (f"CASE WHEN c.reltuples > 0 THEN least({MAX_BATCH}, greatest(1, "
                f"pg_catalog.ceil(c.reltuples * {budget} / "
                "greatest(pg_catalog.pg_total_relation_size(c.oid), 1))))::bigint "
                f"ELSE {DEFAULT_BATCH} END")

    def _backfilling(self, on: bool = True) -> str:
        """For this transaction: the table's sync triggers and its watch skip its writes."""
        return (f"pg_catalog.set_config({quote_literal(BACKFILL_SETTING)}, "
                f"{quote_literal(self.target if on else '')}, true)")

    def _passed(self) -> list[str]:
        """A watched first pass that reached the end of the table, or of its share, counts it.

        Not one during which the table had an inheritance parent (see ``_prelude``): that
        one counts a write instead (``_unfilled``). A worker's share counts as the whole
        pass does: the executor runs the second pass only once every share of the step has
        reached its end (a failed share fails the step; a resumed start runs the step
        again), so a count with no write beside it means the last run covered the table.
        """
        if self.mode != FIRST or self.watch is None:
            return []
        return [
            f"  IF NOT _pgroll_unwatched AND NOT {self._unwatched()} THEN",
            f"    PERFORM {count_in(self.watch.schema, self.watch.passed)};",
            "  ELSE",
            f"    {self._unfilled()}",
            "  END IF;",
        ]

    def _unfilled(self) -> str:
        """A watched first pass that leaves rows to the second pass counts a write in the watch.

        Every one that returns early or ran unwatched: the count of another pass, or of
        another worker's share, may be in the passes sequence (a share of this step, or of a
        run killed before this one resumed it), and would otherwise let the second pass skip
        the rows this one left (tests/test_backfill_shares.py, tests/test_review_shares.py).
        """
        assert self.watch is not None
        return (f"PERFORM {count_in(self.watch.schema, self.watch.writes)};  "
                "-- the second pass reads")

    def _unwatched(self) -> str:
        """Whether the watched table may be written by statements that fire no watch.

        Those of an inheritance parent (its statements fire its own statement triggers), and
        a logical replication subscription's apply worker (it fires row triggers only): a
        table of the tree, one with the watch's trigger, is one a subscription writes. (A
        table that joined the tree without the trigger stops the skip anyway: ``_skip``.)
        No recursive query over the tree: planning one costs a third of a millisecond, at
        each end of every first pass.
        """
        assert self.watch is not None
        root = self.watch.regclass()
        written = (f"{self.watch.original('s.srrelid', 'w')}" if self.watch.partitioned
                   else f"srrelid = {root}")  # a table without partitions: itself
        return (f"(EXISTS (SELECT FROM pg_catalog.pg_inherits WHERE inhrelid = {root})\n"
                f"      OR EXISTS (SELECT FROM pg_catalog.pg_subscription_rel s WHERE "
                f"{written}))")

    def _skip(self) -> list[str]:
        """The second pass returns at once when it has nothing to read (``watch_steps``).

        This table's first pass reached its end, no statement wrote the watched table (or
        any of its partitions) since the watch began, every table of the tree has the
        trigger row the watch's own transaction made (none attached since, no inheritance
        child without it, none disabled and enabled again), and nothing writes the tree
        without firing it (``_unwatched``), nor did since the watch began
        (``Watch.untouched``: no table on the way from this one to the root left the tree
        and came back, nor had an inheritance parent for a while). Checked first: the probe
        and the rest are not needed then (a few milliseconds, which count on a small table).
        """
        if self.mode != SECOND or self.watch is None:
            return []
        watch = self.watch
        root = watch.regclass()
        # Every table of the tree has the original trigger: the root, and each table below
        # one that has it (a table attached anywhere in the tree is below one of those). A
        # table without partitions has no table below it (an inheritance child has none).
        below = (f"SELECT FROM pg_catalog.pg_inherits i WHERE {watch.original('i.inhparent', 'p')}"
                 f"\n      AND NOT {watch.original('i.inhrelid', 'c')}" if watch.partitioned
                 else f"SELECT FROM pg_catalog.pg_inherits WHERE inhparent = {root}")
        return [
            "  IF pg_catalog.pg_sequence_last_value("
            f"{watch.sequence(watch.passed)}) IS NOT NULL",
            f"    AND pg_catalog.pg_sequence_last_value({watch.sequence(watch.writes)}) IS NULL",
            f"    AND {watch.original(root, 'r')}",
            f"    AND NOT EXISTS ({below})",
            f"    AND {watch.untouched(f'{quote_literal(self.target)}::pg_catalog.regclass')}",
            f"    AND NOT {self._unwatched()} THEN",
            f"    IF {share_bound(f'{FROM_SETTING}0')} IS NULL THEN  "
            "-- said once, not by each worker",
            f"      RAISE NOTICE '{NOTICE} %: no statement wrote it since the first pass "
            f"began: nothing left', {self.table_literal};",
            "    END IF;",
            "    RETURN;",
            "  END IF;",
        ]

    def _update(self, where: str, indent: str) -> list[str]:
        # The first pass stamps the rows it writes with its transaction (their xmin): run
        # again (a resumed start) it skips them, and any later write shows. The second pass
        # takes the stamp away: the row is then done as after a single pass (unmarked, no
        # stamp), and a client's later write, whose new version may lie on a page ahead of
        # a pass by pages, does not make it one to write again (its audit trigger saw it
        # three times); run again, it skips the rows it wrote the same way.
        stamp = {ONLY: "", FIRST: f", {BY_COLUMN} = {_THIS_XID}",
                 SECOND: f", {BY_COLUMN} = NULL"}[self.mode]
        if self.mode == FIRST:
            # The marker cleared too, so that the triggers take the row for backfilled and
            # skip a write that changes nothing, as after a single pass. A client's write
            # meanwhile (no trigger yet) leaves the row unmarked with a stale copy and
            # another xmin: the second pass, before any client of the new version, redoes
            # every row whose xmin is not its stamp.
            # One statement for both settings (each statement is planned once more).
            replica = f"CASE WHEN _pgroll_replica THEN {_REPLICA} END"
            settings = (f"{self._backfilling()}, {replica}" if self.watch is not None
                        else replica)
            return [
                f"{indent}PERFORM {settings};",
                f"{indent}UPDATE {self.target} AS {ROW} SET {self.fast}, {MARKER_COLUMN} = false"
                f"{stamp}",
                f"{indent}  WHERE {where};",
            ]
        slow = (f"{indent}UPDATE {self.target} AS {ROW} SET {MARKER_COLUMN} = true{stamp} "
                f"WHERE {where};")
        if not self.fast:
            return [slow]
        return [
            f"{indent}IF _pgroll_fast THEN",
            f"{indent}  PERFORM {self._backfilling()};",
            f"{indent}  IF _pgroll_replica THEN",
            f"{indent}    PERFORM {_REPLICA};",
            f"{indent}  END IF;",
            f"{indent}  UPDATE {self.target} AS {ROW} SET {self.fast}, {MARKER_COLUMN} = false"
            f"{stamp}",
            f"{indent}    WHERE {where};",
            f"{indent}ELSE",
            f"  {slow}",
            f"{indent}END IF;",
        ]

    def _after_batch(self) -> list[str]:
        lines = [
            "    GET DIAGNOSTICS _pgroll_rows = ROW_COUNT;",
            "    _pgroll_done := _pgroll_done + _pgroll_rows;",
            # One NOTICE per batch: psql shows it; the live executor reads the rows done so
            # far from its DETAIL (see progress_rows) and draws a progress bar.
            f"    RAISE NOTICE '{NOTICE} %: % rows', {self.table_literal}, _pgroll_done "
            "USING DETAIL = _pgroll_done::text;",
            "    COMMIT;",
        ]
        if self.time_ms > 0:
            # Never below the size asked for, never more than twice the last batch.
            lines += [
                "    _pgroll_took := 1000 * extract(epoch FROM pg_catalog.clock_timestamp()",
                "      - _pgroll_started);",
                "    _pgroll_size := greatest(_pgroll_least, least(_pgroll_most, _pgroll_size * 2,",
                f"      (_pgroll_size * {self.time_ms} / greatest(_pgroll_took, 1))::bigint));",
            ]
        if self.delay > 0:
            lines.append(f"    PERFORM pg_catalog.pg_sleep({self.delay});")
        return lines + self._replicas()

    def _replicas(self) -> list[str]:
        """Wait while a streaming replica is more than the allowed lag behind.

        The backfill writes WAL faster than a replica may replay it; reads served by replicas
        would go stale. (Without the pg_read_all_stats role the lag reads as unknown and the
        backfill does not wait.)
        """
        limit = self.options.max_replica_lag_mb
        if limit <= 0:
            return []
        return [
            "    LOOP",
            "      SELECT max(pg_catalog.pg_wal_lsn_diff(pg_catalog.pg_current_wal_lsn(), "
            "replay_lsn))",
            "        INTO _pgroll_lag FROM pg_catalog.pg_stat_replication;",
            f"      EXIT WHEN _pgroll_lag IS NULL OR _pgroll_lag <= {limit * 1024 * 1024};",
            f"      RAISE NOTICE '{NOTICE} %: waiting for a replica % behind "
            f"(more than {limit} MB)', "
            f"{self.table_literal}, pg_catalog.pg_size_pretty(_pgroll_lag);",
            "      PERFORM pg_catalog.pg_sleep(0.2);",
            "      COMMIT;",
            "    END LOOP;",
        ]

    def _declare(self, extra: list[str]) -> list[str]:
        return [
            "#variable_conflict use_variable",
            "DECLARE",
            *extra,
            f"  _pgroll_size bigint := {self.size};",
            f"  _pgroll_least bigint := {self.size};",
            f"  _pgroll_most bigint := {MAX_BATCH};",
            "  _pgroll_rows bigint;",
            "  _pgroll_done bigint := 0;",
            "  _pgroll_started timestamptz;",
            "  _pgroll_took double precision;",
            *(["  _pgroll_fast boolean := true;", "  _pgroll_replica boolean;"]
              if self.fast else []),
            *(["  _pgroll_lag numeric;"] if self.options.max_replica_lag_mb > 0 else []),
            *(["  _pgroll_fires text;"] if self.fast else []),
            *(["  _pgroll_synced boolean;"] if self.mode == FIRST else []),
            *(["  _pgroll_unwatched boolean;"] if self.mode == FIRST and self.watch is not None
              else []),
        ]

    def keyed(self, key: tuple[str, ...], integer: bool) -> str:
        names = [quote_ident(k) for k in key]
        columns = [f"{ROW}.{c}" for c in names]
        keys = ", ".join(columns)
        lower = [f"_pgroll_lower_{i}" for i in range(len(key))]
        upper = [f"_pgroll_upper_{i}" for i in range(len(key))]
        end = [f"_pgroll_to_{i}" for i in range(len(key))]
        last = [f"_pgroll_end_{i}" for i in range(len(key))]
        variables = [f"  {v} {self.target}.{c}%TYPE;" for group in (lower, upper, end, last)
                     for v, c in zip(group, names, strict=True)]
        low, up, to, final = (f"({', '.join(group)})" for group in (lower, upper, end, last))
        descending = ", ".join(f"{c} DESC" for c in columns)
        table = f"{self.target} AS {ROW}"
        first = f"SELECT {keys} INTO {', '.join(lower)} FROM {table}"
        lines = [
            "",
            *self._declare([*variables, "  _pgroll_bounded boolean := false;",
                            *(["  _pgroll_first numeric;", "  _pgroll_last numeric;",
                               "  _pgroll_tuples real;", "  _pgroll_dense boolean;"]
                              if integer else [])]),
            *(_PAGE_VARIABLES if self.mode == SECOND and self.fast else []),
            "BEGIN",
            *self._skip(),
            *self._probe(),
            *self._prelude(keys if integer else None),
            *(self._after_first() if self.mode == SECOND and self.fast else []),
            *(self._density() if integer else []),
            *self._slice(end),
            # The last key now, after the sync triggers were committed: a row inserted later
            # was filled by them. Without this bound a table that gets inserts faster than a
            # batch takes would be chased for ever.
            f"  SELECT {keys} INTO {', '.join(last)} FROM {table} ORDER BY {descending} LIMIT 1;",
            f"  IF {share_bound(f'{FROM_SETTING}0')} IS NOT NULL THEN",
            *(f"    {v} := {share_bound(f'{FROM_SETTING}{i}')};" for i, v in enumerate(lower)),
            f"    {first} WHERE ({keys}) >= {low} ORDER BY {keys} LIMIT 1;",
            "  ELSE  -- the whole table, or the first worker's share",
            f"    {first} ORDER BY {keys} LIMIT 1;",
            "  END IF;",
            f"  WHILE FOUND AND {low} <= {final} AND (NOT _pgroll_bounded OR {low} < {to}) LOOP",
            # Still needed: the last key read for the density may be below the end bound
            # (a row inserted between the two reads), and a dense batch stops at it.
            *(["    EXIT WHEN _pgroll_dense AND _pgroll_lower_0 > _pgroll_last;"]
              if integer else []),
            "    _pgroll_started := pg_catalog.clock_timestamp();",
            *self._next_upper(keys, table, low, upper, descending, integer),
            f"    IF {up} > {final} THEN  -- rows inserted since the start are filled",
            *(f"      {u} := {e};" for u, e in zip(upper, last, strict=True)),
            "    END IF;",
            f"    IF _pgroll_bounded AND {up} >= {to} THEN  -- this worker's share ends before",
            f"      SELECT {keys} INTO {', '.join(upper)} FROM {table} WHERE ({keys}) < {to}",
            f"        ORDER BY {descending} LIMIT 1;",
            "    END IF;",
            *self._update(f"({keys}) >= {low} AND ({keys}) <= {up} AND {self.marker}", "    "),
            *self._after_batch(),
            f"    {first} WHERE ({keys}) > {up}",
            f"      ORDER BY {keys} LIMIT 1;",
            "  END LOOP;",
            *self._passed(),
            "END",
            "",
        ]
        return "\n".join(lines)

    @staticmethod
    def _density() -> list[str]:
        """Whether an integer key has few gaps: then a batch is ``size`` values, not keys.

        That spares the index scan ahead. A sparse key (random ids) would give empty
        batches, and keeps the scan. (Its bounds and row count: ``_prelude``.)
        """
        return ["  _pgroll_dense := _pgroll_last - _pgroll_first + 1 <= 2 * greatest(1, "
                "_pgroll_tuples);"]

    @staticmethod
    def _next_upper(keys: str, table: str, low: str, upper: list[str], descending: str,
                    integer: bool) -> list[str]:
        """The batch's last key: ``size`` values on (a dense integer key), or keys ahead."""
        ahead = [
            f"SELECT {keys} INTO {', '.join(upper)} FROM {table} WHERE ({keys}) >= {low}",
            f"  ORDER BY {keys} OFFSET _pgroll_size - 1 LIMIT 1;",
            "IF NOT FOUND THEN  -- the last batch: up to the last key",
            f"  SELECT {keys} INTO {', '.join(upper)} FROM {table} ORDER BY {descending} "
            "LIMIT 1;",
            "END IF;",
        ]
        if not integer:
            return [f"    {line}" for line in ahead]
        return [
            "    IF _pgroll_dense THEN  -- a tail of less than a quarter batch joins this one",
            "      _pgroll_upper_0 := CASE WHEN _pgroll_last - (_pgroll_lower_0::numeric + "
            "(_pgroll_size - 1)) < _pgroll_size / 4",
            "        THEN _pgroll_last ELSE _pgroll_lower_0::numeric + (_pgroll_size - 1) END;",
            "    ELSE",
            *(f"      {line}" for line in ahead),
            "    END IF;",
        ]

    @staticmethod
    def _slice(end: list[str]) -> list[str]:
        """A worker of several reads its share of the keys from its session's settings.

        The executor sets them (``backfill_workers``): from a key (none for the first worker),
        up to the next worker's first key (none for the last). The shares are cut at keys, so
        together they cover every key whatever clients do meanwhile.
        """
        return [
            f"  IF {current_setting(SLICE_SETTING)} = 'on' THEN",
            f"    _pgroll_bounded := {share_bound(f'{TO_SETTING}0')} IS NOT NULL;",
            *(f"    {v} := {share_bound(f'{TO_SETTING}{i}')};" for i, v in enumerate(end)),
            "  END IF;",
        ]

    def _after_first(self) -> list[str]:
        """The second pass, when the first one ran (the same check passed): by pages.

        Few rows are left (those clients wrote while the first pass ran): one sequential
        read of the table finds them, where a key range scan would visit every key. The
        first worker does it all; the others have nothing to do.
        """
        # The first pass's own check (``_prelude``), but for the sync triggers, which exist
        # now: where a trigger of the table's fires on the batches the first pass wrote
        # nothing, and reading by pages would write again a row a client wrote after the
        # triggers, or inserted, wherever its new version lands on a page ahead (an audit
        # trigger saw it three times). The keyed loop then reads each key once.
        return [
            "  IF _pgroll_fast AND NOT coalesce(_pgroll_fires ~* "
            f"({_FIRES_ON_BATCHES}), false) THEN",
            "    -- the first pass wrote the rows: find the few left",
            f"    IF {share_bound(f'{FROM_SETTING}0')} IS NULL THEN",
            *(f"  {line}" for line in self._pages_loop()),
            "    END IF;",
            "    RETURN;",
            "  END IF;",
        ]

    def _pages_loop(self) -> list[str]:
        """The rows still to do, page range by page range, read once in page order.

        Pages instead of keys: about 50 rows a page to begin with, then sized by time. The
        largest table of its tree: each partition (or inheriting table) has pages of its
        own, and one range of page numbers covers them all at once. A table rewritten while
        the loop commits between batches (``CLUSTER``, ``VACUUM FULL``, which move rows to
        pages the loop has read and keep their ``xmin``) gets a new file
        (``pg_relation_filenode``): the loop then reads it again from its first page, or a
        row a client wrote during the first pass would keep its stale copy
        (tests/test_review_two_pass.py).
        """
        tree = f"({_tree_cte(quote_literal(self.target) + '::regclass')}\n"
        pages = (f"{tree}      SELECT max(pg_catalog.pg_relation_size(oid)) / "
                 "pg_catalog.current_setting('block_size')::bigint FROM tree)")
        files = (f"{tree}      SELECT pg_catalog.array_agg(pg_catalog.pg_relation_filenode(oid) "
                 "ORDER BY oid) FROM tree)")
        where = (f"{ROW}.ctid >= pg_catalog.format('(%s,0)', _pgroll_page)::tid\n"
                 f"      AND {ROW}.ctid < pg_catalog.format('(%s,0)', _pgroll_page + _pgroll_size)"
                 f"::tid AND {self.marker}")
        return [
            "  _pgroll_size := greatest(1, _pgroll_size / 50);",
            "  _pgroll_least := _pgroll_size;",
            "  _pgroll_most := _pgroll_most / 50;",
            "  LOOP  -- once, or again if the table was rewritten meanwhile",
            f"    _pgroll_files := {files};",
            "    _pgroll_page := 0;",
            f"    _pgroll_last_page := {pages};",
            "    WHILE _pgroll_page <= _pgroll_last_page LOOP",
            "      _pgroll_started := pg_catalog.clock_timestamp();",
            *self._update(where, "      "),
            "      _pgroll_page := _pgroll_page + _pgroll_size;",
            *(f"  {line}" for line in self._after_batch()),
            "    END LOOP;",
            f"    EXIT WHEN {files} IS NOT DISTINCT FROM _pgroll_files;",
            "  END LOOP;",
        ]

    def by_pages(self) -> str:
        lines = [
            "",
            *self._declare(_PAGE_VARIABLES),
            "BEGIN",
            *self._skip(),
            *self._probe(),
            *self._prelude(None),
            *self._pages_loop(),
            *self._passed(),
            "END",
            "",
        ]
        return "\n".join(lines)


_PAGE_VARIABLES = ["  _pgroll_page bigint := 0;", "  _pgroll_last_page bigint;",
                   "  _pgroll_files oid[];"]


def share_bound(name: str) -> str:
    """A bound of a worker's share, from its session's setting ``name``; ``NULL``: none.

    Read only in a worker's session (``SLICE_SETTING`` is ``on``), and an empty value is
    none: a server session that a pool hands on keeps what an earlier one set, and RESET or
    DISCARD ALL leaves a setting that was made empty, never unset.
    """
    # In parentheses: PL/pgSQL ends an IF's condition at the first THEN outside them.
    return (f"(CASE WHEN {current_setting(SLICE_SETTING)} = 'on' THEN "
            f"NULLIF({current_setting(name)}, '') END)")


def progress_rows(detail: str | None) -> int | None:
    """The rows done so far, from a backfill NOTICE's detail (``None``: not one of ours)."""
    return int(detail) if detail is not None and detail.isdigit() else None


def backfill_note(message: str | None, detail: str | None) -> str | None:
    """What the operator should read of a backfill NOTICE that is not progress.

    That is a wait for a lagging replica; the text without the tool's name (its first word).
    ``None`` for progress and for anyone else's NOTICE.
    """
    if message is None or detail is not None or not message.startswith(NOTICE + " "):
        return None
    return message.partition(" ")[2]


def _key(ctx: Context, table: Table) -> tuple[str, ...]:
    """Physical key columns that exist before the migration (never a column it adds)."""
    original = ctx.before.table(table.name) or table
    unique = original.unique_not_null_column()
    key = original.primary_key or ((unique,) if unique is not None else ())
    physical = []
    for name in key:
        column = original.column(name)
        if column is None or column.physical.startswith(NEW_PREFIX):
            return ()
        physical.append(column.physical)
    return tuple(physical)


def mark_last_triggers(ctx: Context) -> None:
    """The last ``fill`` and ``up`` triggers of each backfilled table clear the marker.

    They belong to the table's last column with a copy to fill, and are created after every
    other trigger that fills a copy of the table (later ones, a dropped column's ``down``,
    fill none): a row they mark has had all of those run, so the backfill may skip it. (One
    trigger call per row less than a marking trigger of its own.) The ``fill`` one covers
    new-version writes, before every ``down`` (which reads no marker); it then also fires on
    INSERTs. The ``up`` one lets every marked row through its ``WHEN``.
    """
    for table in sorted(ctx.marked_tables):
        last = replace([spec for spec in ctx.syncs
                        if spec.table == table and Kind.FILL in spec.kinds()][-1], marks=True)
        for kind in (Kind.FILL, Kind.UP):
            name = last.named(kind)
            position = ctx.sync_functions[name]
            ctx.start[position] = replace(ctx.start[position],
                                          sql=trigger_function_sql(last, kind))
            position = ctx.sync_triggers[name]
            ctx.start[position] = replace(ctx.start[position], sql=trigger_sql(last, kind))


def drop_steps(ctx: Context) -> list[Step]:
    """Complete and rollback: the marker column goes (and the first pass's, if any)."""
    steps = []
    for physical, firsts in sorted(ctx.first_pass.items()):
        leaves = [s.tables[0] for s in firsts if s.kind is StepKind.BACKFILL and s.tables]
        name, writes, _ = watch_names(physical)
        counts = ", ".join(qualified(ctx.schema, n) for n in (writes, *map(passed, leaves)))
        steps += [
            Step(sql=f"DROP FUNCTION IF EXISTS {qualified(ctx.schema, name)}() CASCADE",
                 summary=f"drop the backfill watch on {physical}", tables=(physical,),
                 safe=(safety.DROP_FUNCTION,), origin=ctx.origin),
            Step(sql=f"DROP SEQUENCE IF EXISTS {counts}", lock=Lock.NONE,
                 summary=f"drop the backfill watch's counts on {physical}",
                 safe=(safety.DROP_SEQUENCE,), origin=ctx.origin),
        ]
    for physical in sorted(ctx.marked_tables):
        by = f", DROP COLUMN IF EXISTS {BY_COLUMN}"
        steps += [
            Step(sql=f"ALTER TABLE IF EXISTS {qualified(ctx.schema, physical)} DROP COLUMN IF "
                 f"EXISTS {quote_ident(MARKER)}{by}", summary=f"drop the backfill marker of "
                 f"{physical}", tables=(physical,), safe=(safety.DROP_COLUMN,),
                 origin=ctx.origin),
        ]
    return steps
