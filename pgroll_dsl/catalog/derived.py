"""The names a migration gives what it makes: copies, helper constraints, triggers.

PostgreSQL silently cuts a name to 63 bytes, so ``_pgroll_new_`` + a long column name could
give two columns the same copy. Every derived name comes from :func:`derived`: a name that
would not fit is cut and ends with a short hash of the whole name, so two different names
never meet. The catalog (replay, introspection) and the planner name through here alone.
"""

from __future__ import annotations

import hashlib

MAX_NAME_BYTES = 63
NEW_PREFIX = "_pgroll_new_"  # columns under this name are copies made by the migration
DUP_PREFIX = "_pgroll_dup_"  # constraints and indexes rebuilt on a copy
NOT_NULL_PREFIX = "_pgroll_check_not_null_"
DEL_PREFIX = "_pgroll_del_"  # a dropped table whose name a later operation reuses
# An old column parked for a moment at complete while what uses it moves to its copy.
OLD_PREFIX = "_pgroll_old_"
TRIGGER_PREFIX = "_pgroll_trigger_"  # the sync triggers for new-version writers, and ...
LATE_TRIGGER_PREFIX = "~pgroll_trigger_"  # ... for the others (see ``late_trigger_name``)
# How every sync trigger's name (and its function's) begins: the user's triggers do not.
SYNC_TRIGGER_PREFIXES = (TRIGGER_PREFIX, LATE_TRIGGER_PREFIX)
# What follows the place in the name of a trigger that records a SET list, and a regular
# expression (PostgreSQL's and Python's) that tells such a trigger from the sync triggers.
WRITTEN_MARK = "-set"
WRITTEN_TRIGGER_PATTERN = f"^{TRIGGER_PREFIX}a?[0-9]+{WRITTEN_MARK}_"  # see ``_place``
MARKER = "_pgroll_needs_backfill"  # the column that says a row still needs the backfill
# The transaction (an ``xid``) whose backfill pass (of two) wrote the row's copies; the row
# has not been written since when it equals the row's ``xmin`` (see plan/backfill.py).
BACKFILLED_BY = "_pgroll_backfilled_by"
# The first pass's watch on a table (plan/backfill.py): a statement trigger (and its function)
# that counts, in a sequence, every statement that writes the table other than the backfill's
# own, and a sequence the first pass counts its complete runs in. The second pass reads none
# of the table when the first ran to its end and no statement wrote since the watch began.
WATCH_PREFIX = "_pgroll_watch_"
WRITES_PREFIX = "_pgroll_writes_"
PASSED_PREFIX = "_pgroll_passed_"
# A setting the backfill sets to its table's name in its own transactions: that table's
# sync triggers skip rows meanwhile, because the backfill writes the copies and the marker.
BACKFILL_SETTING = "pgroll_dsl.backfilling"
# A setting that says, for the row being written, that a new-version UPDATE named a copy in
# its SET list (the value is that copy's sync trigger): the sync trigger then keeps what the
# client wrote, even NULL or the copy's old value, and clears it (see plan/triggers.py).
WRITTEN_SETTING = "pgroll_dsl.written"
# A setting the executor sets for a transaction whose lock step should wait for a view's
# lock in the queue rather than try for it (see plan/dependents.lock_block).
QUEUE_SETTING = "pgroll_dsl.lock_queue"
# Settings a backfill worker's session carries: its share of the key range (see backfill.py).
SLICE_SETTING = "pgroll_dsl.backfill_slice"  # 'on': from FROM_SETTING_<i> ...
FROM_SETTING = "pgroll_dsl.backfill_from_"  # ... the first key, as text, column i
TO_SETTING = "pgroll_dsl.backfill_to_"  # ... up to this key, excluded (none: to the end)
_HASH_CHARS = 8


def derived(prefix: str, *parts: str) -> str:
    """``prefix`` + ``parts`` joined by ``_``, made to fit 63 bytes without a clash."""
    full = prefix + "_".join(parts)
    encoded = full.encode()
    if len(encoded) <= MAX_NAME_BYTES:
        return full
    digest = hashlib.blake2s(encoded, digest_size=_HASH_CHARS // 2).hexdigest()
    keep = encoded[:MAX_NAME_BYTES - _HASH_CHARS - 1].decode(errors="ignore")
    return f"{keep}_{digest}"


def watch_names(table: str) -> tuple[str, str, str]:
    """The first pass's watch on ``table``: trigger (and function), writes, complete runs."""
    return (derived(WATCH_PREFIX, table), derived(WRITES_PREFIX, table),
            derived(PASSED_PREFIX, table))


def version_schema(schema: str, version: str) -> str:
    """Pgroll's name of a version schema: ``<schema>_<version>`` (``public_02_add_email``)."""
    return f"{schema}_{version}"


def new_name(column: str) -> str:
    """The temporary physical name of a column being added or rewritten."""
    return derived(NEW_PREFIX, column)


def parked_name(column: str) -> str:
    """Where a rewritten column's old column waits for a moment at complete.

    Meanwhile what uses it moves to its copy (``plan/dependents.py``).
    """
    return derived(OLD_PREFIX, column)


def trigger_name(order: int, table: str, column: str) -> str:
    """The ``fill`` trigger (and its function) of one migrated column (``plan/triggers.py``).

    PostgreSQL fires a table's triggers in name order, so the name starts with the trigger's
    place in the migration: an ``up`` that reads a copy an earlier operation makes runs
    after the trigger that fills it. ``_`` sorts before lower-case letters: the new side's
    triggers fire before most of the table's own BEFORE triggers, which then see the old
    column filled and may still change it (as they did before the migration).
    """
    return derived(TRIGGER_PREFIX, _place(order), table, column)


# The largest place a migrated column may have in one migration (four digits).
MAX_TRIGGER_ORDER = 9999


def _place(order: int) -> str:
    """``order`` as a name part that sorts as the number does, whatever the column count.

    Three digits up to 999 (``007``); from 1 000 (a migration that widens every key of a
    schema), ``a`` and four digits: ``a1000`` sorts after ``999`` and before ``down``.
    """
    assert 0 <= order <= MAX_TRIGGER_ORDER, order
    return f"{order:03d}" if order < 1000 else f"a{order:04d}"


def _reverse_place(order: int) -> str:
    """A name part that sorts in the reverse of ``order``.

    ``999 - order`` in three digits; from 1 000, ``-`` (before every digit) and
    ``9999 - order`` in four.
    """
    assert 0 <= order <= MAX_TRIGGER_ORDER, order
    return f"{999 - order:03d}" if order < 1000 else f"-{MAX_TRIGGER_ORDER - order:04d}"


def down_trigger_name(order: int, table: str, column: str) -> str:
    """The ``down`` trigger (and its function): the old column, for new-version writers.

    These fire in **reverse** order of the migration, after every ``fill`` trigger (``d``
    sorts after the digits of those names): a ``down`` reads the columns as the operations
    after it leave them, and a later operation's own ``down`` fills them first (``drop total
    down `qty * price```, then a type change of ``qty``). The number is 999 minus the place
    (``_reverse_place``).
    """
    return derived(TRIGGER_PREFIX, f"down{_reverse_place(order)}", table, column)


def late_trigger_name(order: int, table: str, column: str) -> str:
    """The ``up`` trigger (and its function) of one migrated column: the other writers.

    Old-version and base-table writes are copied by ``up`` from the row as it will be
    stored, so this trigger fires after the table's own BEFORE triggers (one that fills a
    tenant or sets ``updated_at`` changes what ``up`` reads): ``~`` sorts after every ASCII
    letter, digit and ``_`` a trigger's name may start with. The order follows the
    migration's, as for ``fill``.
    """
    return derived(LATE_TRIGGER_PREFIX, _place(order), table, column)


def written_trigger_name(order: int, table: str, column: str) -> str:
    """The trigger (and function) that records a new-version UPDATE naming a column's copy.

    It must fire just before the ``fill`` trigger of the same ``order``: ``-`` sorts before the
    ``_`` that follows the order in that name, and after every trigger of a lower order. It
    keeps the sync triggers' prefix, so the backfill still tells the migration's triggers
    from the user's.
    """
    return derived(TRIGGER_PREFIX, f"{_place(order)}{WRITTEN_MARK}", table, column)



def partition_index_name(index: str, partition: str) -> str:
    """The index a partition gets as its share of ``index`` on its partitioned parent.

    PostgreSQL builds no index of a partitioned table concurrently: the plan builds one on
    each partition itself and attaches it to the parent's. It keeps this name afterwards.
    """
    return derived("", partition, index)
