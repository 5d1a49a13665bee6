"""Partitions that join or leave a partitioned table during a migration.

Start plans a backfill for each partition the table has when it is planned. A partition
that joins later (``CREATE TABLE ... PARTITION OF``, ``ATTACH PARTITION``: a table kept by
pg_partman gets one ahead of time every hour) gets from PostgreSQL itself what start made
on the parent: the columns (an attached table must already have them), the sync triggers
(row triggers of a partitioned table are cloned onto each partition), the CHECK constraints
and foreign keys, and its share of each partitioned index, even of one made ``ON ONLY`` and
not valid yet. What it does not get is the backfill of the rows it had before it had the
triggers: an attached table's, or those written into a partition created during the first
passes, before any sync trigger existed. Their marker is still set (every row a sync
trigger wrote has it cleared). A partition that leaves (pg_partman's retention drops or
detaches the oldest) needs nothing from the migration any more.

Where a tree's partitions get nothing from start but their backfill (its steps that name a
partition are backfill passes and the backfill's watch: an ``open`` tree), start backfills
the partitions that joined and lets those that left go, instead of refusing either (the
check it made before, ``planner._partitions_check``, rolled start back and said to start
again):

* ``for_partitions``: each start step for one partition says so (``Step.partition``), and
  the executor skips it where that partition is gone by then, or is gone once the step
  failed (dropped between two batches); a partition renamed is gone by its old name and
  joined by its new one;
* ``catch_up_steps``: before the new version's views, each leaf below a partition start did
  not plan for is backfilled through the sync triggers (``UPDATE ... SET marker = true
  WHERE marker``, the generic backfill; also the rows the first pass stamped, moved in from
  a leaf it had written while no sync trigger existed), a commit per batch of pages, in the
  replica role where the role may take it (the table's own triggers do not see it, as they
  do not see the planned backfill);
* ``last_checks``: start's last check locks the tree's partitioned tables against attach
  and detach (``SHARE UPDATE EXCLUSIVE`` on each, which no client's read or write waits
  for), and backfills what joined since the first catch-up;
* ``complete_checks``: complete, under its lock, refuses where a partition that joined since
  start has marked rows (a table attached with rows after start): nothing is changed, and
  the operator rolls back and starts again;
* a planned partition detached meanwhile has start's columns as its own: complete and
  rollback drop them (``planner._left_the_tree``), the table keeps the shape it left with.

A tree with index builds, foreign keys or other steps per partition keeps the strict check:
a partition that joined before the parent's ``ON ONLY`` index would leave it invalid. A
foreign table that joins is refused (nothing here writes its rows), and a planned partition
is one of the target schema (a table of its name in another schema that joins is not it).
Not handled: a partition that joined and left again before complete or rollback keeps
start's columns (tests/test_review_session34_joined.py). A table made under the name of a
planned partition that left, and attached, is told from it as one attached again
(``_attached_again``).
"""

from __future__ import annotations

import json
import re
from dataclasses import replace

from pgroll_dsl.catalog.derived import BACKFILLED_BY, MARKER, SYNC_TRIGGER_PREFIXES
from pgroll_dsl.catalog.model import Catalog, Table
from pgroll_dsl.plan.backfill import NOTICE
from pgroll_dsl.plan.model import Cost, Lock, Requirement, Requires, Step, StepKind
from pgroll_dsl.plan.watch import watching
from pgroll_dsl.source import Span
from pgroll_dsl.sql.ddl import qualified, regclass_or_null
from pgroll_dsl.sql.quoting import dollar_quote, quote_ident, quote_literal, quote_name

# The names of the sync triggers, as a regular expression.
SYNC_TRIGGERS = "^(" + "|".join(map(re.escape, SYNC_TRIGGER_PREFIXES)) + ")"
# Pages of a joined partition each batch of its backfill reads (2 MB of 8 kB pages): its
# rows stay locked for one batch.
CATCH_UP_PAGES = 256


def is_open(trees: Catalog, table: Table, steps: list[Step]) -> bool:
    """Whether start's steps give the partitions below ``table`` nothing but their backfill."""
    below = trees.tree(table.physical) - {table.physical}
    return all(s.kind is StepKind.BACKFILL or watching(s)
               for s in steps if below.intersection(s.tables))


def open_partitions(trees: Catalog, steps: list[Step], tables: list[Table]) -> set[str]:
    """The partitions below those of ``tables`` that are open: they may join and leave."""
    return {name for table in tables if is_open(trees, table, steps)
            for name in trees.tree(table.physical) - {table.physical}}


def for_partitions(steps: list[Step], opened: set[str]) -> list[Step]:
    """``steps``, each one for a single partition of ``opened`` marked with it.

    The executor skips such a step where the partition is gone: its backfill passes, its
    watch trigger and count (the watch's function and sequences go at complete or rollback
    with ``IF EXISTS``).
    """
    return [replace(s, partition=s.tables[0])
            if len(s.tables) == 1 and s.tables[0] in opened else s for s in steps]


def _planned(requirement: Requires) -> str:
    """The partitions start planned for, as a ``name[]``."""
    names = requirement.partitions()
    return f"ARRAY[{', '.join(map(quote_literal, names))}]::pg_catalog.name[]"


def _in_schema(schema: str) -> str:
    return f"pg_catalog.to_regnamespace({quote_literal(quote_ident(schema))})"


def _attached_again(parent: str, leaf: str, also: str = "") -> str:
    """A boolean expression: ``leaf`` has its sync triggers later than ``parent`` has them.

    PostgreSQL clones a partitioned table's row triggers onto its partitions in the
    transaction that makes them, and clones them again onto a partition attached later:
    a planned partition whose clone is younger than its parent's trigger was detached and
    attached again (or dropped, and a table of its name attached) since. While detached it
    had no sync trigger, so a row written then keeps a stale copy, marker cleared. ``also``:
    a further condition on the clone (``l``).
    """
    return ("EXISTS (SELECT FROM pg_catalog.pg_trigger r JOIN pg_catalog.pg_trigger l ON "
            f"l.tgrelid = {leaf} AND l.tgname = r.tgname WHERE r.tgrelid = {parent} AND "
            f"r.tgname ~ {quote_literal(SYNC_TRIGGERS)} AND l.xmin OPERATOR(pg_catalog.<>) "
            f"r.xmin{also})")


def _joined_leaves(schema: str, requirement: Requires, kind: str = "r") -> str:
    """A query: the leaves (of ``kind``) that joined since start was planned.

    Each with whether it is below a planned partition (then attached again:
    ``_attached_again``). Those below the partitions start did not plan for, and those below
    planned ones whose sync triggers came later than their parent's. A planned partition is
    one of the target schema: a table of that name in another schema that joined is not it.
    """
    assert requirement.relation is not None
    parent = regclass_or_null(schema, requirement.relation)
    planned = (f"(c.relnamespace = {_in_schema(schema)} AND c.relname = ANY "
               f"({_planned(requirement)}))")
    return (f"SELECT t.relid::pg_catalog.regclass, {planned} FROM pg_catalog.pg_inherits i "
            "JOIN pg_catalog.pg_class c ON c.oid = i.inhrelid "
            "CROSS JOIN LATERAL pg_catalog.pg_partition_tree(i.inhrelid) t "
            "JOIN pg_catalog.pg_class l ON l.oid = t.relid "
            f"WHERE i.inhparent = {parent} AND (NOT {planned} OR "
            f"{_attached_again(parent, 't.relid')}) "
            f"AND t.isleaf AND l.relkind = {quote_literal(kind)} ORDER BY 1")


def _update(where: str) -> str:
    """The dynamic UPDATE of one joined leaf (``%s``) that the sync triggers fill.

    Its rows the first pass stamped too: a row a client moved into it from a leaf whose
    first pass had written it, while no sync trigger existed, kept that pass's copy of its
    old values (and a cleared marker). The stamp goes, as the second pass takes it away.
    Of a planned partition attached again (``_pgroll_again``), every row: any of them may
    have been written while it was detached.
    """
    marker, stamp = quote_ident(MARKER), quote_ident(BACKFILLED_BY)
    head = f"UPDATE %s AS _pgroll_row SET {marker} = true, {stamp} = NULL WHERE "
    marked = f"(_pgroll_row.{marker} OR _pgroll_row.{stamp} IS NOT NULL)"
    return (f"CASE WHEN _pgroll_again THEN {quote_literal(head + 'true' + where)} "
            f"ELSE {quote_literal(head + marked + where)} END")


def _replica(indent: str) -> list[str]:
    """Lines: the replica role for this transaction, where the role may take it.

    The table's own triggers (an audit trail, an ``updated_at``) then do not see the catch
    up's writes, as they do not see the planned backfill's; the sync triggers fire in every
    role.
    """
    return [f"{indent}BEGIN",
            f"{indent}  PERFORM pg_catalog.set_config('session_replication_role', 'replica', "
            "true);",
            f"{indent}EXCEPTION WHEN insufficient_privilege THEN NULL;  -- they see it",
            f"{indent}END;"]


def _no_foreign(schema: str, requirement: Requires, what: str) -> list[str]:
    """Lines: refuse a foreign table that joined (nothing here can backfill its rows)."""
    message = quote_literal(f"a foreign table joined {requirement.relation} {what} (%s): its "
                            "rows cannot be given the copies start made for the others")
    return [
        f"  FOR _pgroll_leaf, _pgroll_again IN {_joined_leaves(schema, requirement, 'f')} LOOP",
        "    RAISE EXCEPTION USING ERRCODE = 'object_not_in_prerequisite_state', MESSAGE = "
        f"pg_catalog.format({message}, _pgroll_leaf),",
        "      HINT = 'Detach it, roll the migration back (pgroll-dsl rollback), and start it "
        "again.';",
        "  END LOOP;",
    ]


_PAGES = " AND _pgroll_row.ctid >= %L::pg_catalog.tid AND _pgroll_row.ctid < %L::pg_catalog.tid"
DECLARE = ("DECLARE\n  _pgroll_leaf pg_catalog.regclass;\n  _pgroll_again boolean;\n"
           "  _pgroll_pages bigint;\n"
            "  _pgroll_page bigint;\n  _pgroll_rows bigint;\n  _pgroll_done bigint;\n")


def _backfilled(requirement: Requires) -> str:
    """The note of one leaf's rows, which the executor passes on (``backfill_note``)."""
    return (f"      RAISE NOTICE '{NOTICE} %: joined {requirement.relation} during the "
            "migration: % rows', _pgroll_leaf, _pgroll_done;")


def catch_up_steps(schema: str, requires: list[Requires], origin: Span | None
                   ) -> list[Step]:
    """Before the views: the leaves that joined the open trees so far, backfilled in batches.

    A batch is a range of pages (a TID range scan): a row the UPDATE moves lands past the
    range, its marker cleared by the trigger, and is not read again.
    """
    if not requires:
        return []
    pages = CATCH_UP_PAGES
    body = []
    for requirement in requires:
        body += [
            f"  FOR _pgroll_leaf, _pgroll_again IN {_joined_leaves(schema, requirement)} LOOP",
            "    _pgroll_pages := pg_catalog.pg_relation_size(_pgroll_leaf)",
            "      / pg_catalog.current_setting('block_size')::bigint;",
            "    _pgroll_page := 0;",
            "    _pgroll_done := 0;",
            "    WHILE _pgroll_page <= _pgroll_pages LOOP",
            *_replica("      "),
            f"      EXECUTE pg_catalog.format({_update(_PAGES)}, _pgroll_leaf,",
            f"        '(' || _pgroll_page || ',0)', '(' || (_pgroll_page + {pages}) || ',0)');",
            "      GET DIAGNOSTICS _pgroll_rows = ROW_COUNT;",
            "      _pgroll_done := _pgroll_done + _pgroll_rows;",
            "      COMMIT;",
            f"      _pgroll_page := _pgroll_page + {pages};",
            "    END LOOP;",
            "    IF _pgroll_done > 0 THEN",
            _backfilled(requirement),
            "    END IF;",
            "  END LOOP;",
        ]
    tables = tuple(r.relation for r in requires if r.relation is not None)
    sql = "DO " + dollar_quote(f"\n{DECLARE}BEGIN\n" + "\n".join(body) + "\nEND\n")
    return [Step(sql=sql, lock=Lock.ROW_EXCLUSIVE, tables=tables, cost=Cost.SCAN,
                 transactional=False, origin=origin,
                 summary=f"backfill the partitions that joined {', '.join(tables)} since start "
                 "was planned, through the sync triggers (none joined: a catalog read)")]


def _checked_at(version_schema: str) -> str:
    """The transaction of start's last check: that of the comment it gives the version schema."""
    return ("(SELECT xmin FROM pg_catalog.pg_description WHERE objoid = "
            f"pg_catalog.to_regnamespace({quote_literal(quote_ident(version_schema))}) AND "
            "classoid = 'pg_catalog.pg_namespace'::pg_catalog.regclass AND objsubid = 0)")


def last_checks(schema: str, marked: list[Requires], version_schema: str | None) -> list[str]:
    """Lines of start's last check for the open trees with a backfill (``marked``).

    The tree's partitioned tables locked first (``ONLY``: no partition waits), so that no
    partition joins or leaves until start has ended; then what joined since the first catch
    up is backfilled here, in this transaction (usually nothing: a read of the joined
    leaves' markers). A partition start planned for that left is not refused: it is no
    longer the tree's (complete and rollback give one that still exists its shape back).

    Last, the version schema gets a comment: complete tells a partition attached again
    after this check (its rows not backfilled) from one attached before it (backfilled
    here) by that comment's transaction (``complete_checks``).
    """
    lines = []
    for requirement in marked:  # (a level below the root may have been dropped meanwhile)
        table = regclass_or_null(schema, requirement.relation or "")
        lines += [f"  IF {table} IS NOT NULL THEN",
                  f"    LOCK TABLE ONLY {qualified(schema, requirement.relation or '')} IN "
                  "SHARE UPDATE EXCLUSIVE MODE;",
                  "  END IF;"]
    if marked:
        lines += _replica("  ")
    for requirement in marked:
        lines += [
            *_no_foreign(schema, requirement, "during start"),
            f"  FOR _pgroll_leaf, _pgroll_again IN {_joined_leaves(schema, requirement)} LOOP",
            f"    EXECUTE pg_catalog.format({_update('')}, _pgroll_leaf);",
            "    GET DIAGNOSTICS _pgroll_done = ROW_COUNT;",
            "    IF _pgroll_done > 0 THEN",
            _backfilled(requirement),
            "    END IF;",
            "  END LOOP;",
        ]
    if marked and version_schema is not None:
        lines.append(f"  COMMENT ON SCHEMA {quote_ident(version_schema)} IS "
                     f"{quote_literal(f'pgroll-dsl: a version of schema {schema}')};")
    return lines


# What the operator can do about a partition attached with rows after start.
_FIX = (f"Backfill it (UPDATE %s SET {quote_name(MARKER)} = true WHERE {quote_name(MARKER)}: "
        "the sync triggers fill the copies) and run complete again; or roll the migration "
        "back (pgroll-dsl rollback) and start it again, which backfills %s.")


def complete_checks(schema: str, requires: list[Requires], version_schema: str | None,
                    origin: Span | None) -> list[Step]:
    """In complete's transaction, under its lock: no partition joined since with marked rows.

    Start backfilled every partition that joined until its end; one attached since with
    rows has them without their copies (a partition created since has the sync triggers
    from its first row). A planned partition attached again since (``_attached_again``,
    later than start's last check, which backfilled one attached again before it)
    may have rows written while it was detached, whatever their marker. Refused, nothing
    changed: rollback, then start again.
    """
    if not requires:
        return []
    since = f"pg_catalog.age({_checked_at(version_schema)})" if version_schema else "NULL"
    newer = f" AND pg_catalog.age(l.xmin) < {since}"
    body = []
    for requirement in requires:
        assert requirement.relation is not None
        body += _no_foreign(schema, requirement, "since start")
        refusal = (f"a table attached to {requirement.relation} since start has rows without "
                   "the copies start made for the others: %s")
        again = (f"partition %s was detached from {requirement.relation} and attached again "
                 "since start: a row written while it was detached keeps a stale copy")
        parent = regclass_or_null(schema, requirement.relation)
        body += [
            f"  FOR _pgroll_leaf, _pgroll_again IN {_joined_leaves(schema, requirement)} LOOP",
            f"    IF _pgroll_again AND {_attached_again(parent, '_pgroll_leaf', newer)} THEN",
            "      RAISE EXCEPTION USING ERRCODE = 'object_not_in_prerequisite_state', "
            f"MESSAGE = pg_catalog.format({quote_literal(again)}, _pgroll_leaf),",
            "        HINT = 'Roll the migration back (pgroll-dsl rollback) and start it again, "
            "which backfills it.';",
            "    END IF;",
            "    EXECUTE pg_catalog.format("
            f"{quote_literal('SELECT EXISTS (SELECT FROM %s WHERE ' + quote_ident(MARKER) + ')')}"
            ", _pgroll_leaf) INTO _pgroll_found;",
            "    IF _pgroll_found THEN",
            "      RAISE EXCEPTION USING ERRCODE = 'object_not_in_prerequisite_state', "
            f"MESSAGE = pg_catalog.format({quote_literal(refusal)}, _pgroll_leaf),",
            "        HINT = pg_catalog.format("
            f"{quote_literal(_FIX)}, _pgroll_leaf, _pgroll_leaf);",
            "    END IF;",
            "  END LOOP;",
        ]
    sql = "DO " + dollar_quote("\nDECLARE\n  _pgroll_leaf pg_catalog.regclass;\n"
                               "  _pgroll_again boolean;\n  _pgroll_found boolean;\nBEGIN\n"
                               + "\n".join(body) + "\nEND\n")
    tables = [r.relation for r in requires if r.relation is not None]
    return [Step(sql=sql, lock=Lock.NONE, origin=origin,
                 summary=f"no partition joined {', '.join(tables)} since start with rows "
                 "start did not backfill")]


def requirement(open_: bool, partitions: list[str], table: str) -> Requires:
    """What complete requires of ``table``'s partitions.

    The same ones (those start planned for), or, of an open tree, those still among them
    (others may join meanwhile).
    """
    if open_:
        return Requires(Requirement.PARTITIONS_KEPT, json.dumps(partitions), table)
    return Requires(Requirement.PARTITIONS, ",".join(partitions), table)
