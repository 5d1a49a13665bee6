"""What else uses a column that complete replaces by its copy: carried over to the copy.

A rewritten column (a type change, a new constraint...) is a copy until complete drops the
old column and gives the copy its name. The user's own objects that name the old column —
views, rules, row-level security policies, triggers (their ``WHEN`` or ``UPDATE OF``
list), extended statistics — pin it: ``DROP COLUMN`` refuses (or, for statistics, silently
drops them) and complete stopped with "other objects depend on it", after a start that may
have backfilled for hours. These objects are not in the catalog model (it knows tables), so
the plan finds them when complete runs, in complete's transaction:

* each one's definition is read as PostgreSQL prints it (``pg_get_viewdef`` and the like),
  while the names are still the old ones;
* the old column is parked under another name and the copy takes the column's name, so the
  same text now names the copy;
* views and rules are replaced in place (``CREATE OR REPLACE``: owner, privileges, options,
  their own triggers and the views built on them stay), policies are altered, triggers and
  statistics objects are made again (with their enabled state, owner, target and comment);
* the names go back, and the usual steps drop the old column and rename the copy.

A view whose columns change type with the column cannot be replaced in place
(PostgreSQL's rule): which views those are is found by trying, undone at once; each is
dropped with the views built on it and made again, with what ``DROP VIEW`` takes along
(options, owner, privileges, comments, column defaults, triggers, rules). A materialized
view cannot be carried (it holds data computed from the old column): complete stops before
it changes anything, saying which one and what to do. Whatever else uses the column (a
function with a SQL-standard body...) is left to ``DROP COLUMN``, whose message names it.

Views are locked before the tables (``lock_block``), as a client reading a view locks it and
then the table under it: taking the table first and the view after would wait for a client
that waits for us. A type change made in place (``around_type_change``) takes the same
objects down and makes them again around its ``ALTER COLUMN ... TYPE``, which refuses while
they use the column. A column or table the migration drops is dropped without
``CASCADE``: start says what uses it (``warn_sql``).
"""

from __future__ import annotations

from pgroll_dsl.catalog.derived import QUEUE_SETTING, SYNC_TRIGGER_PREFIXES, parked_name
from pgroll_dsl.sql.ddl import grantee, qualified, regclass_or_null
from pgroll_dsl.sql.quoting import dollar_quote, quote_ident, quote_literal

_REGCLASS = "pg_catalog.regclass"


def _used(table: str, columns: list[str], indent: str) -> str:
    """``(classid, objid)`` of every object that uses one of ``columns`` of ``table``'s tree.

    ``table`` as the plan names it. Normal dependencies (those that make ``DROP COLUMN``
    refuse) and statistics objects (dropped with the column otherwise).
    """
    names = ", ".join(quote_literal(c) for c in columns)
    regclass = f"pg_catalog.to_regclass({quote_literal(table)})"
    return "\n".join([
        "SELECT DISTINCT d.classid, d.objid FROM (SELECT r FROM (VALUES "
        f"({regclass}::pg_catalog.oid)) v(r)",
        # (A table that is not partitioned has no partition tree, not even itself.)
        f"{indent}    UNION SELECT relid FROM pg_catalog.pg_partition_tree({regclass})) t(relid)",
        f"{indent}  JOIN pg_catalog.pg_attribute a ON a.attrelid = t.relid "
        f"AND a.attname = ANY (ARRAY[{names}]::pg_catalog.name[])",
        f"{indent}  JOIN pg_catalog.pg_depend d ON d.refclassid = "
        f"'pg_catalog.pg_class'::{_REGCLASS} AND d.refobjid = a.attrelid "
        "AND d.refobjsubid = a.attnum",
        f"{indent}  WHERE (d.deptype = 'n' OR d.classid = 'pg_catalog.pg_statistic_ext'::"
        f"{_REGCLASS})"])


def _built_on(base: str, indent: str) -> str:
    """A recursive CTE ``built(oid, depth)``: ``base``'s relations and what is built on them.

    ``base`` is a query of oids (depth 0); every view or materialized view built on them
    comes as often as it is reached (its greatest depth orders it after all it is built on).
    """
    return "\n".join([
        f"WITH RECURSIVE built(oid, depth) AS (SELECT v, 0 FROM ({base}) b(v)",
        f"{indent}  UNION ALL",
        f"{indent}  SELECT r.ev_class, b.depth + 1 FROM built b",
        f"{indent}    JOIN pg_catalog.pg_depend d ON d.refclassid = "
        f"'pg_catalog.pg_class'::{_REGCLASS} AND d.refobjid = b.oid",
        f"{indent}      AND d.classid = 'pg_catalog.pg_rewrite'::{_REGCLASS}",
        f"{indent}    JOIN pg_catalog.pg_rewrite r ON r.oid = d.objid AND r.ev_class <> b.oid)"])


def _reads_other(indent: str, table: str) -> str:
    """Whether view ``_pgroll_view`` reads a relation other than ``table`` (a regclass).

    Itself or through the views it reads; a partition of ``table`` read directly counts:
    ``LOCK TABLE`` of the view would lock that relation before ``table``, where clients of
    ``table`` lock it after.
    """
    return "\n".join([
        "EXISTS (WITH RECURSIVE reads(oid) AS (SELECT _pgroll_view",
        f"{indent}  UNION SELECT d.refobjid FROM reads JOIN pg_catalog.pg_class v ON v.oid = "
        "reads.oid AND v.relkind = 'v'",
        f"{indent}    JOIN pg_catalog.pg_rewrite r ON r.ev_class = v.oid",
        f"{indent}    JOIN pg_catalog.pg_depend d ON d.classid = 'pg_catalog.pg_rewrite'::"
        f"{_REGCLASS} AND d.objid = r.oid",
        f"{indent}      AND d.refclassid = 'pg_catalog.pg_class'::{_REGCLASS} "
        "AND d.refobjid <> v.oid)",
        f"{indent}  SELECT FROM reads JOIN pg_catalog.pg_class x ON x.oid = reads.oid "
        f"AND x.relkind <> 'v' AND x.oid IS DISTINCT FROM {table}::pg_catalog.oid)"])


def table_locks(schema: str, tables: list[str], mode: str, only: bool = False) -> list[str]:
    """Lines that lock each of ``tables`` in ``mode``; one that is not there is skipped.

    (A start interrupted before it created a table leaves it to complete's checks.) With
    ``only``, not its partitions (``LOCK TABLE`` of a partitioned table locks each of them,
    after it).
    """
    return [line for table in tables for line in (
        f"  IF {regclass_or_null(schema, table)} IS NOT NULL THEN",
        f"    LOCK TABLE {'ONLY ' if only else ''}{qualified(schema, table)} IN {mode};",
        "  END IF;")]


def _left(budget: str) -> str:
    """``lock_timeout`` set to what is left of ``budget`` (an interval) since ``_pgroll_since``.

    In milliseconds, at least 1 (0 is no limit).
    """
    return ("PERFORM pg_catalog.set_config('lock_timeout', greatest(1, pg_catalog.ceil("
            f"1000 * extract(epoch FROM {budget} - (pg_catalog.clock_timestamp() - "
            "_pgroll_since))))::text, true);")


def _tables_try(schema: str, tables: list[str]) -> list[str]:
    """One try of a lock step's tables: the first in the queue, then each only where free.

    The first alone (``ONLY``), with what is left of ``lock_timeout``; then every one
    ``NOWAIT``, the first again for its partitions (``LOCK TABLE`` of a partitioned table
    waits for each partition while it holds the table: a client that read a partition
    directly, then writes the table, deadlocked with it).
    """
    return [
        f"  {_left('_pgroll_wait::interval')}",  # (the queue's wait of a try)
        *table_locks(schema, tables[:1], "ACCESS EXCLUSIVE MODE", only=True),
        *table_locks(schema, tables, "ACCESS EXCLUSIVE MODE NOWAIT"),
    ]


def tables_block(schema: str, tables: list[str]) -> str:
    """The ``DO`` block of a lock step of several tables and no view to carry.

    ACCESS EXCLUSIVE on each, in order. Waiting for one while holding the ones before could
    be a deadlock with a client that holds it and then wants one of those (an archive job
    that read a partition detached during the migration, then writes its old root), and the
    clients of the tables held queue behind until ``lock_timeout`` breaks it: a whole lock
    timeout of stall. So the first table is waited for in the queue, as a lock step does,
    with what is left of ``lock_timeout`` (alone: ``LOCK TABLE`` of a partitioned table
    waits for each partition while it holds the table), and the others, and the first's
    partitions, are only taken where free: where
    one is held, none is kept (the subtransaction gives them back) and it tries again 5 ms
    later, until ``lock_timeout`` has passed; then the failure is the step's, as a lock
    timeout is (the executor tries the transaction again). With ``lock_timeout`` 0 (no
    limit), or where the executor sends this transaction to the queue (``QUEUE_SETTING``,
    on its last tries: trying never gets a table clients hold in transactions that overlap
    without a pause), each is waited for in the queue.
    """
    pad = "      "
    lines = [
        "",
        "DECLARE",
        "  _pgroll_since timestamptz := pg_catalog.clock_timestamp();",
        "  _pgroll_wait text := pg_catalog.current_setting('lock_timeout');",
        "BEGIN",
        "  IF _pgroll_wait <> '0' AND COALESCE(pg_catalog.current_setting("
        f"{quote_literal(QUEUE_SETTING)}, true), '') = '' THEN",
        "    LOOP",
        "      BEGIN",
        *(f"{pad}{line}" for line in _tables_try(schema, tables)),
        f"{pad}  PERFORM pg_catalog.set_config('lock_timeout', _pgroll_wait, true);",
        f"{pad}  EXIT;",
        "      EXCEPTION WHEN lock_not_available THEN  -- a client holds one: none is kept",
        f"{pad}  IF pg_catalog.clock_timestamp() - _pgroll_since >= _pgroll_wait::interval THEN",
        f"{pad}    RAISE;",
        f"{pad}  END IF;",
        f"{pad}  PERFORM pg_catalog.pg_sleep(0.005);",
        "      END;",
        "    END LOOP;",
        "  END IF;",
        *table_locks(schema, tables, "ACCESS EXCLUSIVE MODE"),
        "END",
        "",
    ]
    return "DO " + dollar_quote("\n".join(lines), "pgroll_lock")


# How complete's lock step waits in the queue (the value of ``QUEUE_SETTING``): the views in
# SHARE mode, then as "tables"; the tables in SHARE mode first; the views first (see
# ``lock_block``).
QUEUE_SHARED, QUEUE_TABLES, QUEUE_VIEWS = "shared", "tables", "views"
# The executor's tries in the queue take turns: each order is safe with some kinds of client.
QUEUE_ORDERS = (QUEUE_SHARED, QUEUE_TABLES, QUEUE_VIEWS)


def lock_block(carried: dict[str, list[str]], schema: str, tables: list[str]) -> str:
    """The ``DO`` block of complete's lock step: the views using the columns, then the tables.

    ``carried``: per table (as the plan names it), the old columns whose users complete
    moves. With the views built on them: complete may drop and make again every one of them
    (``_remake_views``). A client reading a view locks it, then what it is built on, then the
    table; one that writes through the view the same; a client that wrote the table and then
    reads the view, the other way round. Whichever way complete waits for one while it holds
    the other could be a deadlock with a client. So it first tries: the views, then the
    tables, each without waiting, in a subtransaction that gives back what it got where one
    is held (``lock_not_available``), again every 5 ms for as long as ``lock_timeout`` allows
    a wait; then the failure is the step's, as a lock timeout is (the executor tries the
    transaction again). Where no view uses the columns, the tables are taken as
    ``tables_block`` takes them (``_tables_try``; with ``lock_timeout`` 0, in the queue).

    Trying never gets a view that clients read in transactions that overlap without a pause:
    one of them holds it at every try. Where the executor says so (``QUEUE_SETTING``, set for
    the transaction once its wait for holders ran out, and on its last try), the step waits
    in the queue, as the step without a view waits for its tables: new clients queue behind
    it, and it gets each lock as soon as those ahead are done. In one of three orders, which
    the executor takes turns with (no order is free of a deadlock with every kind of client):
    ``QUEUE_TABLES``, the tables in SHARE mode first (their writers wait, their readers and
    the view's go on), then the views, then the tables in ACCESS EXCLUSIVE mode: no client
    that wrote a table then holds it while it waits for a view; ``QUEUE_SHARED``, the same
    after each view in SHARE mode, by ``LOCK TABLE`` of it, which takes the table under it
    too: a client writing through the view then waits at the view instead of holding it
    while it waits for the table (with readers of the view and both kinds of writer at once,
    the only order that gets through); it deadlocks with a client that wrote the table and
    then writes through the view, which "tables" does not. Only where the step locks one
    table, for a view whose owner may lock it and that reads nothing else (``LOCK TABLE``
    of the view locks what it reads in the view's order, and a table the migration leaves
    alone would keep its writers waiting); other views are left to the rest of the order.
    ``QUEUE_VIEWS``, the views first, then the tables: for a client that writes through a
    view (it holds the view while it waits for the table). All the waits together, from
    the start of the transaction (complete's first steps hold the old version's views), last
    no longer than ``lock_timeout`` nor than the shortest ``deadlock_timeout`` a client may
    have (this session's, the server's default, any a database or role sets): a client caught the
    other way round (it holds what the step waits for and waits for what the step holds) is
    then never the one PostgreSQL's deadlock detector aborts, which checks after its own
    ``deadlock_timeout``; the step gives up first, and its transaction is tried again. With
    ``lock_timeout`` 0 the tries give up after that ``deadlock_timeout`` too (they went on
    for ever, and the executor never got to the queue).

    A view is locked alone, by ``ALTER VIEW ... OWNER TO`` its owner (a change of nothing
    that takes the view's ``ACCESS EXCLUSIVE`` lock): ``LOCK TABLE`` of a view locks every
    relation it reads, a table the migration does not touch included (whose clients then
    waited for all of complete), and checks the view owner's right to lock each (a view
    whose owner may only read the table stopped complete for good). A view using a column
    that the role running complete may not change stops complete here, naming it (altering
    it would fail with a message that names neither the view nor why).
    """
    pad = "      "
    direct = f"\n{pad}      UNION ".join(
        f"SELECT r.ev_class FROM ({_used(table, columns, pad + '        ')}) u "
        f"JOIN pg_catalog.pg_rewrite r ON r.oid = u.objid "
        f"AND u.classid = 'pg_catalog.pg_rewrite'::{_REGCLASS} AND r.rulename = '_RETURN'"
        for table, columns in carried.items())

    # The views built on the columns, each once, those built on others first.
    each_view = [
        f"FOR _pgroll_view, _pgroll_owner IN {_built_on(direct, pad + '    ')}",
        "  SELECT b.oid, c.relowner FROM built b JOIN pg_catalog.pg_class c "
        "ON c.oid = b.oid AND c.relkind = 'v'",
        "  GROUP BY b.oid, c.relowner ORDER BY max(b.depth) DESC, b.oid LOOP"]

    def views(limit: str) -> list[str]:
        return [
            *each_view,
            "  IF NOT pg_catalog.pg_has_role(_pgroll_owner, 'USAGE') THEN",
            "    RAISE EXCEPTION 'complete cannot carry view % over to the new column: it "
            "belongs to role %, and % may not change it', _pgroll_view::pg_catalog.regclass, "
            "pg_catalog.pg_get_userbyid(_pgroll_owner), current_user",
            "      USING ERRCODE = 'insufficient_privilege', HINT = 'run complete as a role "
            "that owns the table and the view (a member of both owners), or drop the view "
            "before complete and create it again after';",
            "  END IF;",
            f"  {limit}",
            "  EXECUTE pg_catalog.format('ALTER VIEW %s OWNER TO %I', "
            f"_pgroll_view::{_REGCLASS}, pg_catalog.pg_get_userbyid(_pgroll_owner));",
            "END LOOP;",
        ]

    def shared() -> list[str]:
        """The views in SHARE mode (``QUEUE_SHARED``), where the step locks one table."""
        if len(tables) != 1:
            return []
        table = f"pg_catalog.to_regclass({quote_literal(qualified(schema, tables[0]))})"
        return [
            f"    IF _pgroll_queue = '{QUEUE_SHARED}' THEN",
            *(f"      {line}" for line in each_view),
            "        -- (not a view that reads another relation: see lock_block)",
            f"        CONTINUE WHEN {_reads_other(pad + '    ', table)};",
            "        BEGIN",
            f"          {left}",
            "          EXECUTE pg_catalog.format('LOCK TABLE %s IN SHARE MODE', "
            f"_pgroll_view::{_REGCLASS});",
            "        EXCEPTION WHEN insufficient_privilege THEN  -- (its owner may not lock "
            "the table)",
            "        END;",
            "      END LOOP;",
            "    END IF;",
        ]

    def locks(mode: str, indent: str) -> list[str]:
        return [f"{indent}{line}" for line in table_locks(schema, tables, mode)]

    left = _left("_pgroll_budget")  # what is left of the queue's budget
    # The shortest deadlock_timeout a client may have: this session's, the server's default,
    # and any a database or role sets (a session's own SET, a superuser's, is not seen).
    deadlock = ("(SELECT least(pg_catalog.current_setting('deadlock_timeout')::interval,\n"
                "        (SELECT (boot_val || unit)::interval FROM pg_catalog.pg_settings "
                "WHERE name = 'deadlock_timeout'),\n"
                "        pg_catalog.min(CASE WHEN v ~ '^[0-9]+$' THEN (v || 'ms')::interval "
                "ELSE v::interval END))\n"
                "      FROM pg_catalog.pg_db_role_setting, pg_catalog.unnest(setconfig) c,\n"
                "        pg_catalog.substr(c, 18) v WHERE c LIKE 'deadlock\\_timeout=%')")
    exclusive = "ACCESS EXCLUSIVE MODE"
    lines = [
        "",
        "DECLARE",
        "  _pgroll_view oid;",
        "  _pgroll_owner oid;",
        "  _pgroll_since timestamptz := pg_catalog.clock_timestamp();",
        "  _pgroll_wait text := pg_catalog.current_setting('lock_timeout');",
        f"  _pgroll_deadlock interval := {deadlock};",
        "  _pgroll_budget interval;",
        f"  _pgroll_queue text := pg_catalog.current_setting({quote_literal(QUEUE_SETTING)}, "
        "true);",
        "BEGIN",
        f"  IF _pgroll_queue IN ('{QUEUE_SHARED}', '{QUEUE_TABLES}', '{QUEUE_VIEWS}') THEN",
        "    -- in the queue, within one lock_timeout and one deadlock_timeout of the",
        "    -- transaction's start (its first steps may hold what a client waits for)",
        "    _pgroll_since := pg_catalog.transaction_timestamp();",
        "    _pgroll_budget := least(CASE WHEN _pgroll_wait <> '0' THEN _pgroll_wait::interval "
        "END, _pgroll_deadlock);",
        f"    {left}",
        *shared(),
        f"    IF _pgroll_queue IN ('{QUEUE_SHARED}', '{QUEUE_TABLES}') THEN",
        *locks("SHARE MODE", "    "),
        "    END IF;",
        *(f"    {line}" for line in views(left)),
        f"    {left}",
        *locks(exclusive, "  "),
        "    PERFORM pg_catalog.set_config('lock_timeout', _pgroll_wait, true);",
        "    RETURN;",
        "  END IF;",
        "  LOOP",
        "    BEGIN",
        f"{pad}PERFORM pg_catalog.set_config('lock_timeout', '1', true);",
        *(f"{pad}{line}" for line in views("-- (lock_timeout 1 ms: not in the queue)")),
        f"{pad}IF FOUND THEN",
        *locks(f"{exclusive} NOWAIT", pad),
        f"{pad}ELSIF _pgroll_wait <> '0' THEN  -- no view: as where nothing is carried",
        *(f"{pad}{line}" for line in _tables_try(schema, tables)),
        f"{pad}END IF;  -- (no view and lock_timeout 0: the tables in the queue)",
        f"{pad}PERFORM pg_catalog.set_config('lock_timeout', _pgroll_wait, true);",
        f"{pad}EXIT;",
        "    EXCEPTION WHEN lock_not_available THEN  -- a client holds one: none is kept",
        f"{pad}IF pg_catalog.clock_timestamp() - _pgroll_since >= (CASE WHEN _pgroll_wait "
        "<> '0'",
        f"{pad}    THEN _pgroll_wait::interval ELSE _pgroll_deadlock END) THEN  "
        "-- (0: the queue next)",
        f"{pad}  RAISE;",
        f"{pad}END IF;",
        f"{pad}PERFORM pg_catalog.pg_sleep(0.005);",
        "    END;",
        "  END LOOP;",
        *locks(exclusive, ""),
        "END",
        "",
    ]
    return "DO " + dollar_quote("\n".join(lines), "pgroll_lock")


def sync_trigger(name: str) -> str:
    """A boolean SQL expression: the trigger named ``name`` is a sync trigger of ours."""
    return " OR ".join(f"pg_catalog.starts_with({name}, {quote_literal(p)})"
                       for p in SYNC_TRIGGER_PREFIXES)


# What makes each kind of object again, as SQL over its catalog row.
_OPTIONS = "COALESCE(' WITH (' || pg_catalog.array_to_string(c.reloptions, ', ') || ')', '')"
_VIEW = ("pg_catalog.format('CREATE OR REPLACE VIEW %s%s AS %s', c.oid::pg_catalog.regclass,\n"
         f"        {_OPTIONS}, pg_catalog.pg_get_viewdef(c.oid))")
_RULE = ("pg_catalog.regexp_replace(pg_catalog.pg_get_ruledef(r.oid), '^CREATE RULE', "
         "'CREATE OR REPLACE RULE')")
_POLICY = ("pg_catalog.format('ALTER POLICY %I ON %s%s%s', p.polname, "
           "p.polrelid::pg_catalog.regclass,\n"
           "      ' USING (' || pg_catalog.pg_get_expr(p.polqual, p.polrelid) || ')',\n"
           "      ' WITH CHECK (' || pg_catalog.pg_get_expr(p.polwithcheck, p.polrelid) || ')')")


def _trigger(drop: bool) -> str:
    """An array of the statements that make trigger ``t`` again.

    Its drop (``drop``), definition, state and comment; then, for a trigger of a
    partitioned table, the state and comment its clones had on the partitions (making the
    parent's again clones it enabled and without comment onto each of them).
    """
    on = "t.tgname, t.tgrelid::pg_catalog.regclass"
    clone = "k.tgname, k.tgrelid::pg_catalog.regclass"
    return "\n".join([
        "ARRAY[",
        *([f"      pg_catalog.format('DROP TRIGGER %I ON %s', {on}),"] if drop else []),
        "      pg_catalog.pg_get_triggerdef(t.oid),",
        f"      {_state('t.tgenabled', 'TRIGGER', on)},",
        f"      pg_catalog.format('COMMENT ON TRIGGER %I ON %s IS ', {on})",
        "        || pg_catalog.quote_literal(pg_catalog.obj_description(t.oid, 'pg_trigger'))]",
        "      || ARRAY(SELECT y FROM pg_catalog.pg_trigger k CROSS JOIN LATERAL pg_catalog.unnest("
        f"ARRAY[{_state('k.tgenabled', 'TRIGGER', clone)},",
        f"        pg_catalog.format('COMMENT ON TRIGGER %I ON %s IS ', {clone})",
        "        || pg_catalog.quote_literal(pg_catalog.obj_description(k.oid, 'pg_trigger'))]) y",
        "        WHERE k.tgparentid <> 0 AND k.tgname = t.tgname AND k.tgrelid IN "
        "(SELECT relid FROM pg_catalog.pg_partition_tree(t.tgrelid)))"])


def _state(enabled: str, kind: str, on: str) -> str:
    """``ALTER TABLE ... DISABLE / ENABLE REPLICA / ENABLE ALWAYS kind`` from ``enabled``.

    ``enabled`` is ``tgenabled`` or ``ev_enabled``; NULL for the default (at origin).
    """
    return (f"pg_catalog.format('ALTER TABLE %2$s ' || CASE {enabled} WHEN 'D' THEN 'DISABLE' "
            f"WHEN 'R' THEN 'ENABLE REPLICA' WHEN 'A' THEN 'ENABLE ALWAYS' END || ' {kind} %1$I',"
            f" {on})")


def _rule(view: bool) -> str:
    """An array of the statements that make rule ``r`` again.

    Its definition, its comment and (on a table: a view's have none) its enabled state.
    """
    on = "r.rulename, r.ev_class::pg_catalog.regclass"
    return (f"ARRAY[{_RULE}, pg_catalog.format('COMMENT ON RULE %I ON %s IS ', {on})\n"
            "        || pg_catalog.quote_literal(pg_catalog.obj_description(r.oid, 'pg_rewrite'))"
            + ("" if view else f",\n        {_state('r.ev_enabled', 'RULE', on)}") + "]")


_STATS = "pg_catalog.format('%I.%I', n.nspname, s.stxname)"
_STATISTICS = ",\n".join([
    f"      'DROP STATISTICS ' || {_STATS}",
    "      pg_catalog.pg_get_statisticsobjdef(s.oid)",
    f"      pg_catalog.format('ALTER STATISTICS %s OWNER TO %I', {_STATS}, "
    "pg_catalog.pg_get_userbyid(s.stxowner))",
    f"      CASE WHEN s.stxstattarget >= 0 THEN 'ALTER STATISTICS ' || {_STATS} || "
    "' SET STATISTICS ' || s.stxstattarget END",
    f"      'COMMENT ON STATISTICS ' || {_STATS} || ' IS '\n"
    "        || pg_catalog.quote_literal(pg_catalog.obj_description(s.oid, 'pg_statistic_ext'))"])
_GRANTEE = grantee("g")
# Everything of view ``c`` that a DROP VIEW takes with it, as statements that make it again
# (NULLs where there is nothing to make); ``v`` is its name.
_VIEW_AGAIN = "\n".join([
    f"pg_catalog.format('CREATE VIEW %s%s AS %s', v, {_OPTIONS},\n"
    "        pg_catalog.pg_get_viewdef(c.oid)),",
    "      pg_catalog.format('ALTER VIEW %s OWNER TO %I', v, "
    "pg_catalog.pg_get_userbyid(c.relowner)),",
    "      'COMMENT ON VIEW ' || v || ' IS ' || pg_catalog.quote_literal("
    "pg_catalog.obj_description(c.oid, 'pg_class'))]",
    "      || ARRAY(SELECT pg_catalog.format('GRANT %s ON %s TO ', g.privilege_type, v) || "
    f"{_GRANTEE}",
    "        FROM pg_catalog.aclexplode(c.relacl) g WHERE g.grantee <> c.relowner)",
    "      || ARRAY(SELECT x FROM pg_catalog.pg_attribute a CROSS JOIN LATERAL pg_catalog.unnest("
    "ARRAY[",
    "          pg_catalog.format('COMMENT ON COLUMN %s.%I IS ', v, a.attname) || "
    "pg_catalog.quote_literal(pg_catalog.col_description(c.oid, a.attnum)),",
    "          (SELECT pg_catalog.format('ALTER VIEW %s ALTER COLUMN %I SET DEFAULT %s', v, "
    "a.attname, pg_catalog.pg_get_expr(d.adbin, d.adrelid))",
    "             FROM pg_catalog.pg_attrdef d WHERE d.adrelid = c.oid AND d.adnum = a.attnum)]"
    " || ARRAY(",
    "          SELECT pg_catalog.format('GRANT %s (%I) ON %s TO ', g.privilege_type, a.attname, v)"
    f" || {_GRANTEE}",
    "            FROM pg_catalog.aclexplode(a.attacl) g)) x",
    "        WHERE a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped)",
    "      || ARRAY(SELECT x FROM pg_catalog.pg_trigger t CROSS JOIN LATERAL pg_catalog.unnest(",
    _trigger(drop=False) + ") x WHERE t.tgrelid = c.oid)",
    "      || ARRAY(SELECT x FROM pg_catalog.pg_rewrite r CROSS JOIN LATERAL pg_catalog.unnest(",
    f"        {_rule(view=True)}) x",
    "        WHERE r.ev_class = c.oid AND r.rulename <> '_RETURN')"])


def _made(table: str, columns: list[str]) -> str:
    """A query of ``(what, statement, view)`` for the objects that use ``columns``, in order.

    ``statement`` is NULL for what cannot be made again (a materialized view); ``view`` is
    the view's oid where the object is a view. A trigger's drop comes before its creation,
    then its enabled state and comment; read before any rename, the text names the old
    column.
    """
    return "\n".join([
        f"    WITH u AS ({_used(table, columns, '      ')})",
        "    SELECT 1 AS kind, u.objid, 1 AS n, pg_catalog.pg_describe_object(CASE "
        "WHEN r.rulename = '_RETURN'",
        f"        THEN 'pg_catalog.pg_class'::{_REGCLASS} ELSE u.classid END, "
        "CASE WHEN r.rulename = '_RETURN' THEN c.oid ELSE u.objid END, 0) AS what,",
        f"      CASE WHEN r.rulename <> '_RETURN' THEN {_RULE}",
        f"        WHEN c.relkind = 'v' THEN {_VIEW} END AS statement,",
        "      CASE WHEN r.rulename = '_RETURN' THEN c.oid END AS view",
        "      FROM u JOIN pg_catalog.pg_rewrite r ON r.oid = u.objid "
        "JOIN pg_catalog.pg_class c ON c.oid = r.ev_class",
        f"      WHERE u.classid = 'pg_catalog.pg_rewrite'::{_REGCLASS}",
        "    UNION ALL",
        "    SELECT 2, u.objid, 1, pg_catalog.pg_describe_object(u.classid, u.objid, 0),",
        f"      {_POLICY}, NULL",
        "      FROM u JOIN pg_catalog.pg_policy p ON p.oid = u.objid",
        f"      WHERE u.classid = 'pg_catalog.pg_policy'::{_REGCLASS}",
        "    UNION ALL",
        "    SELECT 3, u.objid, x.n, pg_catalog.pg_describe_object(u.classid, u.objid, 0), x.s, "
        "NULL",
        "      FROM u JOIN pg_catalog.pg_trigger t ON t.oid = u.objid",
        "      CROSS JOIN LATERAL pg_catalog.unnest(",
        f"      {_trigger(drop=True)}) WITH ORDINALITY x(s, n)",
        f"      WHERE u.classid = 'pg_catalog.pg_trigger'::{_REGCLASS} AND NOT t.tgisinternal "
        "AND t.tgparentid = 0",
        f"        AND NOT ({sync_trigger('t.tgname')}) AND x.s IS NOT NULL",
        "    UNION ALL",
        "    SELECT 4, u.objid, x.n, pg_catalog.pg_describe_object(u.classid, u.objid, 0), x.s, "
        "NULL",
        "      FROM u JOIN pg_catalog.pg_statistic_ext s ON s.oid = u.objid "
        "JOIN pg_catalog.pg_namespace n ON n.oid = s.stxnamespace",
        f"      CROSS JOIN LATERAL pg_catalog.unnest(ARRAY[\n{_STATISTICS}]) "
        "WITH ORDINALITY x(s, n)",
        f"      WHERE u.classid = 'pg_catalog.pg_statistic_ext'::{_REGCLASS} "
        "AND x.s IS NOT NULL"])


_HINT = quote_literal("drop it before complete and create it again after; until then, "
                      "complete changes nothing")
_HELD = quote_literal("it holds data computed from the old one")


def _refuse(what: str, why: str) -> str:
    """A RAISE that stops complete: ``what`` (SQL text) cannot come to the new column."""
    return (f"RAISE EXCEPTION 'complete cannot carry % over to the new column: %', {what}, "
            f"{why} USING ERRCODE = 'dependent_objects_still_exist', HINT = {_HINT};")


def _remake_views(refusal: str) -> list[str]:
    """Lines that take down the views of ``_pgroll_remake`` and every view built on them.

    What makes them again (with all that ``DROP VIEW`` takes along) goes to
    ``_pgroll_again``, nearest first, read while the names are the ones the definitions
    use; ``refusal`` runs where a materialized view is among them.
    """
    return [
        "  -- These views are made again, with every view built on them (nearest first), and",
        "  -- all that a DROP VIEW takes along; read now, as their definitions name things.",
        f"  {_built_on('SELECT pg_catalog.unnest(_pgroll_remake)', '    ')},",
        "    members AS (SELECT oid, max(depth) AS depth FROM built GROUP BY oid)",
        "  SELECT COALESCE(pg_catalog.array_agg(m.oid::pg_catalog.regclass::text "
        "ORDER BY m.depth DESC, m.oid), '{}'),",
        "      COALESCE(pg_catalog.array_agg(c.oid::pg_catalog.regclass::text) FILTER "
        "(WHERE c.relkind <> 'v'), '{}'),",
        "      (SELECT COALESCE(pg_catalog.array_agg(x ORDER BY m2.depth, m2.oid, x.n), '{}') "
        "FROM members m2",
        "        JOIN pg_catalog.pg_class c ON c.oid = m2.oid CROSS JOIN LATERAL "
        "(SELECT c.oid::pg_catalog.regclass::text AS v) vn",
        f"        CROSS JOIN LATERAL pg_catalog.unnest(ARRAY[\n      {_VIEW_AGAIN}",
        "        ) WITH ORDINALITY x(x, n) WHERE x.x IS NOT NULL)",
        "    INTO _pgroll_gone, _pgroll_what, _pgroll_again",
        "    FROM members m JOIN pg_catalog.pg_class c ON c.oid = m.oid;",
        "  IF pg_catalog.cardinality(_pgroll_what) > 0 THEN",
        "    " + refusal,
        "  END IF;",
        "  -- A view made again gets its owner back (ALTER VIEW ... OWNER TO), which a role",
        "  -- that is not a superuser may do only where that owner may create in the schema.",
        "  SELECT pg_catalog.format('view %s belongs to role %I, which may not create in schema "
        "%I', c.oid::pg_catalog.regclass, pg_catalog.pg_get_userbyid(c.relowner), n.nspname)",
        "    INTO _pgroll_why FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n "
        "ON n.oid = c.relnamespace",
        "    WHERE c.oid::pg_catalog.regclass::text = ANY (_pgroll_gone)",
        "      AND c.relowner <> (SELECT oid FROM pg_catalog.pg_roles WHERE rolname = "
        "current_user)",
        "      AND NOT (SELECT rolsuper FROM pg_catalog.pg_roles WHERE rolname = current_user)",
        "      AND NOT pg_catalog.has_schema_privilege(c.relowner, c.relnamespace, 'CREATE')",
        "    ORDER BY c.oid LIMIT 1;",
        "  IF _pgroll_why IS NOT NULL THEN",
        "    RAISE EXCEPTION 'complete cannot make % again for the new column''s type: %', "
        "pg_catalog.split_part(_pgroll_why, ' belongs', 1), _pgroll_why",
        "      USING ERRCODE = 'insufficient_privilege', HINT = 'grant CREATE on that schema "
        "to that role, run complete as a superuser, or drop the view before complete and "
        "create it again after';",
        "  END IF;",
        "  FOR _pgroll_i IN 1 .. COALESCE(pg_catalog.array_length(_pgroll_gone, 1), 0) LOOP",
        "    EXECUTE 'DROP VIEW ' || _pgroll_gone[_pgroll_i];",
        "  END LOOP;",
    ]


# Raised (and caught) to undo a trial: whether a view can be replaced in place.
_TRIED = "PGRL1"


def carry_over_sql(table: str, pairs: list[tuple[str, str]]) -> str:
    """A ``DO`` block: what uses each old column of ``pairs`` (old, copy) moves to its copy.

    ``table`` is the table as the plan names it (``"public"."t"``). A view whose columns
    change type with the column is dropped, with the views built on it, and made again
    (its options, owner, privileges, comments, column defaults, triggers and rules too);
    the others are replaced in place. Which is which is found by trying, undone at once.
    """
    rename = f"{{}}ALTER TABLE {table} RENAME COLUMN "
    park = [f"{rename}{quote_ident(old)} TO {quote_ident(parked_name(old))};\n"
            f"{rename}{quote_ident(copy)} TO {quote_ident(old)};" for old, copy in pairs]
    back = [f"{rename}{quote_ident(old)} TO {quote_ident(copy)};\n"
            f"{rename}{quote_ident(parked_name(old))} TO {quote_ident(old)};"
            for old, copy in pairs]

    def lines(statements: list[str], indent: str) -> list[str]:
        return [line.format(indent) for s in statements for line in s.split("\n")]

    body = "\n".join([
        "DECLARE",
        "  _pgroll_what text[];",
        "  _pgroll_statement text[];",
        "  _pgroll_view oid[];",
        "  _pgroll_i int;",
        "  _pgroll_remake oid[] := '{}';",
        "  _pgroll_again text[] := '{}';",
        "  _pgroll_gone text[] := '{}';",
        "  _pgroll_why text;",
        "BEGIN",
        f"  IF NOT EXISTS ({_used(table, [old for old, _ in pairs], '      ')}) THEN",
        "    RETURN;  -- nothing uses the old column: the usual case, and quickly told",
        "  END IF;",
        "  SELECT pg_catalog.array_agg(what ORDER BY kind, objid, n), "
        "pg_catalog.array_agg(statement ORDER BY kind, objid, n),",
        "      pg_catalog.array_agg(view ORDER BY kind, objid, n)",
        "    INTO _pgroll_what, _pgroll_statement, _pgroll_view FROM (",
        _made(table, [old for old, _ in pairs]),
        "    ) o;",
        "  _pgroll_i := pg_catalog.array_position(_pgroll_statement, NULL);",
        "  IF _pgroll_i IS NOT NULL THEN",
        f"    {_refuse('_pgroll_what[_pgroll_i]', _HELD)}",
        "  END IF;",
        "  IF _pgroll_statement IS NULL THEN  -- nothing uses the old column",
        "    RETURN;",
        "  END IF;",
        "  -- Which views cannot be replaced in place (their columns change type): tried, undone.",
        "  FOR _pgroll_i IN 1 .. pg_catalog.array_length(_pgroll_statement, 1) LOOP",
        "    CONTINUE WHEN _pgroll_view[_pgroll_i] IS NULL;",
        "    BEGIN",
        *lines(park, "      "),
        "      EXECUTE _pgroll_statement[_pgroll_i];",
        f"      RAISE EXCEPTION USING ERRCODE = '{_TRIED}';",
        "    EXCEPTION",
        "      WHEN invalid_table_definition THEN",
        "        _pgroll_remake := _pgroll_remake || _pgroll_view[_pgroll_i];",
        f"      WHEN SQLSTATE '{_TRIED}' THEN",
        "        NULL;",
        "    END;",
        "  END LOOP;",
        *_remake_views(_refuse("pg_catalog.array_to_string(_pgroll_what, ', ')", _HELD)),
        *lines(park, "  "),
        "  FOR _pgroll_i IN 1 .. COALESCE(pg_catalog.array_length(_pgroll_again, 1), 0) LOOP",
        "    EXECUTE _pgroll_again[_pgroll_i];",
        "  END LOOP;",
        "  FOR _pgroll_i IN 1 .. pg_catalog.array_length(_pgroll_statement, 1) LOOP",
        "    CONTINUE WHEN _pgroll_view[_pgroll_i] = ANY (_pgroll_remake);",
        "    EXECUTE _pgroll_statement[_pgroll_i];",
        "  END LOOP;",
        *lines(back, "  "),
        "END",
        "",
    ])
    return "DO " + dollar_quote("\n" + body)


_POLICY_AGAIN = (
    "pg_catalog.format('CREATE POLICY %I ON %s AS %s FOR %s TO %s', p.polname, "
    "p.polrelid::pg_catalog.regclass,\n"
    "        CASE WHEN p.polpermissive THEN 'PERMISSIVE' ELSE 'RESTRICTIVE' END,\n"
    "        CASE p.polcmd WHEN 'r' THEN 'SELECT' WHEN 'a' THEN 'INSERT' WHEN 'w' THEN 'UPDATE' "
    "WHEN 'd' THEN 'DELETE' ELSE 'ALL' END,\n"
    "        (SELECT pg_catalog.string_agg(CASE WHEN r = 0 THEN 'PUBLIC' ELSE "
    "pg_catalog.quote_ident(pg_catalog.pg_get_userbyid(r)) END, ', ') "
    "FROM pg_catalog.unnest(p.polroles) r))\n"
    "        || COALESCE(' USING (' || pg_catalog.pg_get_expr(p.polqual, p.polrelid) || ')', '')\n"
    "        || COALESCE(' WITH CHECK (' || pg_catalog.pg_get_expr(p.polwithcheck, p.polrelid) "
    "|| ')', '')")


def around_type_change(table: str, columns: list[str]) -> tuple[list[str], list[str], list[str]]:
    """What uses ``columns`` is taken down before their type changes in place, made after.

    ``ALTER COLUMN ... TYPE`` refuses while a view, rule, policy or trigger uses the column
    (statistics objects it rebuilds itself). Returns the ``DECLARE`` lines, the lines that
    read and drop those objects, and the lines that make them again: views with every view
    built on them (as ``_remake_views``), rules, policies and triggers from their
    definitions, read before the change.
    """
    used = _used(table, columns, "      ")
    declare = ["  _pgroll_remake oid[];", "  _pgroll_gone text[];", "  _pgroll_again text[];",
               "  _pgroll_why text;",
               "  _pgroll_what text[];", "  _pgroll_drop text[];", "  _pgroll_make text[];",
               "  _pgroll_i int;"]
    on_rule = "r.rulename, r.ev_class::pg_catalog.regclass"
    # Rules, policies and triggers as (kind, objid, drop, make[]).
    objects = "\n".join([
        f"  WITH u AS ({used}),",
        "    objects(kind, objid, drop, make) AS (",
        f"      SELECT 1, r.oid, pg_catalog.format('DROP RULE %I ON %s', {on_rule}),",
        f"        {_rule(view=False)}",
        "        FROM u JOIN pg_catalog.pg_rewrite r ON r.oid = u.objid",
        f"        WHERE u.classid = 'pg_catalog.pg_rewrite'::{_REGCLASS} "
        "AND r.rulename <> '_RETURN'",
        "      UNION ALL",
        "      SELECT 2, p.oid, pg_catalog.format('DROP POLICY %I ON %s', p.polname, "
        "p.polrelid::pg_catalog.regclass),",
        f"        ARRAY[{_POLICY_AGAIN},",
        "        pg_catalog.format('COMMENT ON POLICY %I ON %s IS ', p.polname, "
        "p.polrelid::pg_catalog.regclass)",
        "          || pg_catalog.quote_literal(pg_catalog.obj_description(p.oid, 'pg_policy'))]",
        "        FROM u JOIN pg_catalog.pg_policy p ON p.oid = u.objid",
        f"        WHERE u.classid = 'pg_catalog.pg_policy'::{_REGCLASS}",
        "      UNION ALL",
        "      SELECT 3, t.oid, pg_catalog.format('DROP TRIGGER %I ON %s', t.tgname, "
        "t.tgrelid::pg_catalog.regclass),",
        f"        {_trigger(drop=False)}",
        "        FROM u JOIN pg_catalog.pg_trigger t ON t.oid = u.objid",
        f"        WHERE u.classid = 'pg_catalog.pg_trigger'::{_REGCLASS} AND NOT t.tgisinternal "
        "AND t.tgparentid = 0",
        f"          AND NOT ({sync_trigger('t.tgname')}))",
    ])
    before = [
        "  -- What uses the column (views, rules, policies, triggers) goes until its type has",
        "  -- changed, and comes back: ALTER COLUMN ... TYPE refuses while they use it.",
        f"  IF EXISTS ({used}) THEN",
        "  SELECT COALESCE(pg_catalog.array_agg(DISTINCT r.ev_class) FILTER (WHERE r.rulename = "
        "'_RETURN'), '{}')",
        f"    INTO _pgroll_remake FROM ({used}) u",
        "    JOIN pg_catalog.pg_rewrite r ON r.oid = u.objid "
        f"WHERE u.classid = 'pg_catalog.pg_rewrite'::{_REGCLASS};",
        *_remake_views(_refuse("pg_catalog.array_to_string(_pgroll_what, ', ')", _HELD)),
        objects,
        "  SELECT COALESCE(pg_catalog.array_agg(o.drop ORDER BY o.kind, o.objid), '{}'),",
        "      COALESCE((SELECT pg_catalog.array_agg(x.x ORDER BY o2.kind, o2.objid, x.n) "
        "FROM objects o2",
        "        CROSS JOIN LATERAL pg_catalog.unnest(o2.make) WITH ORDINALITY x(x, n) "
        "WHERE x.x IS NOT NULL), '{}')",
        "    INTO _pgroll_drop, _pgroll_make FROM objects o;",
        "  FOR _pgroll_i IN 1 .. COALESCE(pg_catalog.array_length(_pgroll_drop, 1), 0) LOOP",
        "    EXECUTE _pgroll_drop[_pgroll_i];",
        "  END LOOP;",
        "  END IF;",
    ]
    after = [
        "  FOR _pgroll_i IN 1 .. COALESCE(pg_catalog.array_length(_pgroll_again, 1), 0) LOOP",
        "    EXECUTE _pgroll_again[_pgroll_i];",
        "  END LOOP;",
        "  FOR _pgroll_i IN 1 .. COALESCE(pg_catalog.array_length(_pgroll_make, 1), 0) LOOP",
        "    EXECUTE _pgroll_make[_pgroll_i];",
        "  END LOOP;",
    ]
    return declare, before, after


def warn_sql(table: str, columns: list[str] | None, ours: tuple[str, ...], what: str) -> str:
    """A ``DO`` block at start: a warning naming what would keep complete from dropping.

    ``columns`` of ``table`` (``None``: the table itself) go at complete, without
    ``CASCADE``: a view, rule, policy, trigger or another table's foreign key of the schema's
    own that uses them makes complete stop there. Said at start, before the backfill, so that
    the operator drops or changes them by then. ``ours``: the version schemas, whose views
    complete drops first; ``what`` says what goes, for the message.
    """
    regclass = f"pg_catalog.to_regclass({quote_literal(table)})"
    if columns is None:
        used = (f"SELECT DISTINCT d.classid, d.objid FROM pg_catalog.pg_depend d "
                f"WHERE d.refclassid = 'pg_catalog.pg_class'::{_REGCLASS} "
                f"AND d.refobjid = {regclass} AND d.deptype = 'n'")
    else:
        used = _used(table, columns, "      ") + " AND d.deptype = 'n'"
    schemas = ", ".join(quote_literal(s) for s in ours) or "NULL"
    body = "\n".join([
        "DECLARE",
        "  _pgroll_what text;",
        "BEGIN",
        "  SELECT pg_catalog.string_agg(CASE WHEN r.rulename = '_RETURN' THEN "
        f"pg_catalog.pg_describe_object('pg_catalog.pg_class'::{_REGCLASS}, c.oid, 0)",
        "      ELSE pg_catalog.pg_describe_object(u.classid, u.objid, 0) END, ', ' "
        "ORDER BY u.classid, u.objid)",
        f"    INTO _pgroll_what FROM ({used}) u",
        "    LEFT JOIN pg_catalog.pg_rewrite r ON u.classid = "
        f"'pg_catalog.pg_rewrite'::{_REGCLASS} AND r.oid = u.objid",
        "    LEFT JOIN pg_catalog.pg_class c ON c.oid = r.ev_class",
        "    LEFT JOIN pg_catalog.pg_trigger t ON u.classid = "
        f"'pg_catalog.pg_trigger'::{_REGCLASS} AND t.oid = u.objid",
        f"    WHERE (c.oid IS NULL OR c.relnamespace::pg_catalog.regnamespace::text "
        f"NOT IN ({schemas}))",
        f"      AND (t.oid IS NULL OR NOT ({sync_trigger('t.tgname')}));",
        "  IF _pgroll_what IS NOT NULL THEN",
        f"    RAISE WARNING '% uses %, which complete drops: complete stops there until it "
        "is dropped or changed (do it before complete)', _pgroll_what, "
        f"{quote_literal(what)};",
        "  END IF;",
        "END",
        "",
    ])
    return "DO " + dollar_quote("\n" + body)
