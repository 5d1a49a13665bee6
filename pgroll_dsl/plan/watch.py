"""The backfill's watch: what lets a second pass skip its read of a table no one wrote.

A table backfilled in two passes (``backfill.place``) is read twice: the second pass writes
again every row a client wrote while the first ran without sync triggers. That read costs
about a tenth of the first pass and finds nothing on a table no client wrote meanwhile. The
watch counts the statements that write the table during the first pass (:func:`watch_steps`), and
the second pass reads nothing when the count says none did and nothing could have written
the table unseen (:class:`Watch`, whose expressions ``backfill._Body._skip`` puts together).
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from pgroll_dsl.catalog.derived import BACKFILL_SETTING, watch_names
from pgroll_dsl.plan.context import Context
from pgroll_dsl.plan.model import Lock, Step
from pgroll_dsl.plan.triggers import enabled_always
from pgroll_dsl.sql.ddl import current_setting, qualified, regclass_or_null
from pgroll_dsl.sql.quoting import do_block, dollar_quote, quote_ident, quote_literal

# How each step of the watch begins its summary (``watching``).
WATCH = "backfill watch on"


def watching(step: Step) -> bool:
    """Whether ``step`` is one of the watch's (made for the passes, like them per partition)."""
    return step.summary.startswith(f"{WATCH} ")


def watch_steps(ctx: Context, table: str, leaves: list[str]) -> list[Step]:
    """What lets the second pass skip its read of a table no one wrote during the first.

    That read (every row's ``xmin``, and the hint bits it sets) costs about a tenth of the
    first pass, and finds nothing on a table no client writes meanwhile. In one transaction
    before the first pass: a statement trigger on the table and on each of its partitions
    (a statement fires the triggers of the table it names only), whose function counts in a
    sequence (``nextval``, which no rollback undoes) every statement that may write the
    tree, before it writes a row, but the backfill's own (``BACKFILL_SETTING`` set: not a
    statement a user's trigger makes on the backfill's write, one trigger deeper), and every
    first pass that leaves rows to the second (``backfill._Body._unfilled``); and a
    sequence for each leaf that its first pass, or each worker's share of it, counts in when
    it reaches its end. The trigger fires whatever ``session_replication_role``
    (``ENABLE ALWAYS``). A leaf's second pass reads nothing when its first pass reached its
    end, no statement was counted, every table of the tree still has the trigger as it was
    made, in the watch's
    own transaction (a partition attached since has none; one disabled and enabled again
    meanwhile, as ``pg_restore --disable-triggers`` does, has another row), and the tree had
    no inheritance parent, nor a table a logical replication subscription writes (its
    worker fires no statement trigger), while its first pass ran, nor has now (see
    ``backfill._Body._skip``). A statement trigger fires for every kind of write (INSERT, UPDATE,
    DELETE, TRUNCATE, COPY, MERGE, a view's, a rule's, a foreign key's action). The
    function runs as its owner
    (SECURITY DEFINER, a fixed ``search_path``): a client may write the table without any
    right on the sequences.
    """
    name, writes_name, _ = watch_names(table)
    trigger, writes = qualified(ctx.schema, name), qualified(ctx.schema, writes_name)
    body = "\n".join([
        "",
        "BEGIN",
        # The backfill's own statement counts nothing (its setting is set), but a statement
        # it sets off, a user's trigger writing the table, does (one trigger deeper).
        f"  IF COALESCE({current_setting(BACKFILL_SETTING)}, '') = '' OR "
        "pg_catalog.pg_trigger_depth() > 1 THEN",
        f"    PERFORM {count_in(ctx.schema, writes_name)};",
        "  END IF;",
        "  RETURN NULL;",
        "END",
        "",
    ])
    why = f"{WATCH} {table}"
    steps = [
        Step(sql=f"CREATE SEQUENCE IF NOT EXISTS {writes}", lock=Lock.NONE, tables=(table,),
             summary=f"{why}: counts the statements that write it", origin=ctx.origin),
        *(Step(sql=f"CREATE SEQUENCE IF NOT EXISTS {qualified(ctx.schema, passed(leaf))}",
               lock=Lock.NONE, tables=(leaf,), summary=f"{why}: counts the runs that reach the "
               f"end of {leaf}", origin=ctx.origin) for leaf in leaves),
        Step(sql=f"CREATE OR REPLACE FUNCTION {trigger}() RETURNS trigger\n"
             "LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp\n"
             f"AS {dollar_quote(body, 'pgroll')}", lock=Lock.NONE,
             summary=f"{why}: function", origin=ctx.origin),
        *(step for member in members(ctx, table) for step in (
            Step(sql=f"CREATE OR REPLACE TRIGGER {quote_ident(name)} BEFORE INSERT OR UPDATE "
                 f"OR DELETE OR TRUNCATE ON {qualified(ctx.schema, member)} FOR EACH STATEMENT "
                 f"EXECUTE FUNCTION {trigger}()", lock=Lock.SHARE_ROW_EXCLUSIVE,
                 tables=(member,), summary=f"{why}: trigger on {member}", origin=ctx.origin),
            # Also for a client with session_replication_role = replica (a bulk load that
            # skips foreign keys). (A logical replication worker fires no statement trigger
            # at all: see backfill._Body._unwatched.)
            Step(sql=enabled_always(ctx.schema, member, name),
                 lock=Lock.SHARE_ROW_EXCLUSIVE, tables=(member,),
                 summary=f"{why}: the trigger fires in every replication role",
                 origin=ctx.origin))),
        # Last, so that the snapshot is taken as late as it can be (see Watch.untouched).
        Step(sql=do_block(f"  EXECUTE pg_catalog.format('COMMENT ON SEQUENCE %s IS %L', "
                          f"{quote_literal(writes)}, {_RUNNING});"),
             lock=Lock.NONE, tables=(table,), origin=ctx.origin,
             summary=f"{why}: the transactions still running now (what they change in the "
             "catalog counts as changed after the watch began)"),
    ]
    return [steps[0], *(replace(s, joins_previous=True) for s in steps[1:])]


# The watch's snapshot, digested for the skip's check (Watch.untouched): an ``xid[]``, the
# first transaction id not yet given out, then those still running (an ``xid8``'s low 32
# bits are its ``xid``), then every transaction id that holds its lock now: a snapshot lists
# top-level transactions only, and the catalog rows a subtransaction writes carry its own id
# (tests/test_review_digest_and_detached.py). Parsing a ``pg_snapshot`` and taking it apart
# again at every second pass cost half a millisecond of a few.
_RUNNING = ("(SELECT (ARRAY[(pg_catalog.pg_snapshot_xmax(s)::text::bigint % 4294967296)::text::"
            "pg_catalog.xid] || ARRAY(SELECT (x::text::bigint % 4294967296)::text::pg_catalog.xid "
            "FROM pg_catalog.pg_snapshot_xip(s) x) || ARRAY(SELECT l.transactionid FROM "
            "pg_catalog.pg_locks l WHERE l.locktype = 'transactionid'))::text "
            "FROM pg_catalog.pg_current_snapshot() s)")
_RUNNING_FORM = "^[{][0-9]+(,[0-9]+)*[}]$"  # what the check reads as the digest, else no skip


def count_in(schema: str, sequence: str) -> str:
    """One more in the watch's ``sequence`` (``nextval``: no rollback undoes it)."""
    return f"pg_catalog.nextval({quote_literal(qualified(schema, sequence))}::pg_catalog.regclass)"


def passed(leaf: str) -> str:
    """The sequence that counts the first passes of ``leaf`` that reached its end."""
    return watch_names(leaf)[2]


def members(ctx: Context, table: str) -> list[str]:
    """The table, then its partitions (every level) in name order."""
    return [table, *sorted(ctx.before.tree(table) - {table})]


def unwatch_steps(ctx: Context, table: str) -> list[Step]:
    """Right after the second pass: the watch costs each statement a call; none needs it now.

    (About 20 microseconds, a tenth of a one-row ``UPDATE``: measured, docs/benchmarks.md.)
    Disabled, not dropped: ``DISABLE TRIGGER`` takes the lock the sync triggers took, which
    lets clients read; complete and rollback drop it. One transaction for the whole tree.
    """
    name = quote_ident(watch_names(table)[0])
    steps = [Step(sql=f"ALTER TABLE {qualified(ctx.schema, member)} DISABLE TRIGGER {name}",
                  lock=Lock.SHARE_ROW_EXCLUSIVE, tables=(member,),
                  summary=f"{WATCH} {table}: off on {member}, the second pass is over",
                  origin=ctx.origin) for member in members(ctx, table)]
    return [steps[0], *(replace(s, joins_previous=True) for s in steps[1:])]


@dataclass(frozen=True, slots=True)
class Watch:
    """What a watched pass keeps or reads (see :func:`watch_steps`)."""

    schema: str
    table: str  # the watched table: the pass's own, or its partitioned parent
    passed: str  # the sequence that counts this leaf's first passes to its end
    partitioned: bool = False  # the table has partitions (each has the trigger too)

    @property
    def trigger(self) -> str:
        """The watch's statement trigger (and its function)."""
        return watch_names(self.table)[0]

    @property
    def writes(self) -> str:
        """The sequence that counts the statements that write the table.

        And the first passes that left rows to the second (``backfill._Body._unfilled``).
        """
        return watch_names(self.table)[1]

    def regclass(self) -> str:
        """The watched table, as a ``regclass``."""
        return f"{quote_literal(qualified(self.schema, self.table))}::pg_catalog.regclass"

    def sequence(self, name: str) -> str:
        """The watch's sequence ``name`` (``NULL`` if it is not there)."""
        return regclass_or_null(self.schema, name)

    def original(self, relation: str, alias: str) -> str:
        """``relation`` has the watch's trigger as its transaction made it (enabled ALWAYS).

        That transaction made the writes sequence too: the two catalog rows have its
        ``xmin``. (A trigger disabled and enabled again has another.)
        """
        return (f"EXISTS (SELECT FROM pg_catalog.pg_trigger {alias} JOIN pg_catalog.pg_class "
                f"{alias}_s ON {alias}_s.oid = {self.sequence(self.writes)} AND {alias}.xmin "
                f"OPERATOR(pg_catalog.=) {alias}_s.xmin WHERE {alias}.tgrelid = {relation} AND "
                f"{alias}.tgname = {quote_literal(self.trigger)} AND {alias}.tgenabled = 'A')")

    def untouched(self, leaf: str) -> str:
        """No catalog row of ``leaf`` or above it may have been written since the watch began.

        ``leaf``: a ``regclass``. A table taken out of the tree and put back (``DETACH`` and
        ``ATTACH PARTITION`` rewrite its ``pg_class`` row), or made an inheritance child for
        a while (``INHERIT`` and ``NO INHERIT`` rewrite its ``pg_attribute`` rows), may have
        been written through another parent meanwhile, which fires that parent's statement
        triggers only: the tree looks as the watch made it again
        (tests/test_review_sized.py). Which rows are that recent: not the watch's own
        transaction's (the writes sequence's row has its ``xmin``), but those of a
        transaction the watch's last statement saw running (its snapshot, digested as the
        sequence's comment: ``_RUNNING``; one with an older transaction id may commit
        later, tests/test_review_untouched.py) or that began after it. ``ANALYZE``,
        ``VACUUM`` and ``CREATE INDEX`` update ``pg_class`` in place (the same ``xmin``);
        ``GRANT`` and most of ``ALTER TABLE`` write a new row, and the second pass then
        reads (safe, slower). Start itself writes neither row between the watch and the
        second pass: only trigger functions and triggers stand there, and the watch's
        trigger has already set ``relhastriggers``. Without a well-formed comment of the watch's own
        transaction, nothing skips.
        """
        members = (f"pg_catalog.pg_partition_ancestors({leaf}) m" if self.partitioned
                   else f"(VALUES ({leaf}::pg_catalog.oid)) m(relid)")
        recent = ("{0}.xmin OPERATOR(pg_catalog.<>) s.xmin AND ({0}.xmin OPERATOR(pg_catalog.=) "
                  "ANY (k.running) OR pg_catalog.age({0}.xmin) <= pg_catalog.age(k.running[1]))")
        # The comment read from pg_description itself (obj_description is an SQL function,
        # planned at each call); a LEFT JOIN: without a comment, no skip. Only the watch's
        # own transaction's comment counts (its row has the sequence's xmin): one another
        # role wrote could say anything, or not be an xid[] at all.
        return (f"NOT EXISTS (SELECT FROM pg_catalog.pg_class s LEFT JOIN LATERAL (SELECT CASE "
                "WHEN d.xmin OPERATOR(pg_catalog.=) s.xmin AND d.description ~ "
                f"{quote_literal(_RUNNING_FORM)} THEN d.description::"
                "pg_catalog.xid[] END AS running FROM pg_catalog.pg_description d WHERE "
                "d.objoid = s.oid AND d.classoid = 'pg_catalog.pg_class'::pg_catalog.regclass "
                f"AND d.objsubid = 0) k ON true, {members}\n      WHERE s.oid = "
                f"{self.sequence(self.writes)} AND (k.running IS NULL\n      OR EXISTS (SELECT "
                f"FROM pg_catalog.pg_class c WHERE c.oid = m.relid AND {recent.format('c')})\n"
                "      OR EXISTS (SELECT FROM pg_catalog.pg_attribute a WHERE a.attrelid = "
                f"m.relid AND {recent.format('a')})))")
