"""What a column has besides its type and constraints, kept when a copy replaces it.

A copy is a new column: ``ADD COLUMN`` gives it its type's default collation, no column
privileges, the default statistics target and storage, no options. At complete it takes the
column's place, so without this a column ``COLLATE "C"`` would sort and compare by the
database's collation after a ``set not null``, and a role granted ``SELECT (email)`` would
lose it (its queries of the new version fail from start on). These settings are not in the
catalog model, so the step that adds the copy reads them when start runs and gives the copy:

* the collation, where the copy's type is collatable (a type change keeps it too: the
  migration names a type, not a collation; the in-place type change says the same collation
  explicitly, see ``collation_sql``);
* the column privileges (``GRANT ... (copy)`` for each grantee of the column);
* the statistics target and the options (``n_distinct``...), which ``ALTER COLUMN ... TYPE``
  keeps;
* the storage and compression, where the type stays (``ALTER COLUMN ... TYPE`` resets them
  to the new type's defaults, and so does this).

The copy has just been added and has no index yet: the collation's ``ALTER COLUMN ... TYPE``
of the same type rewrites nothing, under the lock the ``ADD COLUMN`` took.
"""

from __future__ import annotations

from pgroll_dsl.catalog.derived import LATE_TRIGGER_PREFIX
from pgroll_dsl.plan.dependents import sync_trigger
from pgroll_dsl.sql.ddl import grantee, grantee_role
from pgroll_dsl.sql.quoting import dollar_quote, quote_ident, quote_literal


def collation_sql(table: str, column: str) -> str:
    """An SQL text expression: a ``COLLATE`` clause for ``column``'s collation, or ``''``.

    The clause (`` COLLATE "pg_catalog"."C"``) where the collation is not its type's
    default; ``table`` as the plan names it.
    """
    return (
        "COALESCE((SELECT ' COLLATE ' || pg_catalog.quote_ident(n.nspname) || '.' || "
        "pg_catalog.quote_ident(o.collname) FROM pg_catalog.pg_attribute a "
        "JOIN pg_catalog.pg_type t ON t.oid = a.atttypid "
        "JOIN pg_catalog.pg_collation o ON o.oid = a.attcollation "
        "JOIN pg_catalog.pg_namespace n ON n.oid = o.collnamespace "
        f"WHERE a.attrelid = pg_catalog.to_regclass({quote_literal(table)}) "
        f"AND a.attname = {quote_literal(column)} AND a.attcollation <> t.typcollation), '')")


def add_copy_sql(table: str, old: str, copy: str, type_sql: str) -> str:
    """A ``DO`` block: ``ADD COLUMN copy type_sql``, then ``old``'s settings (see above).

    One statement under the lock the ``ADD COLUMN`` takes anyway; run again (a resumed
    start), it changes nothing more.
    """
    t, c = quote_literal(table), quote_literal(copy)
    body = "\n".join([
        "DECLARE",
        "  _pgroll_old record;",
        "  _pgroll_copy record;",
        "  _pgroll_grant record;",
        "  _pgroll_fires record;",
        "  _pgroll_late text;",
        "BEGIN",
        f"  ALTER TABLE {table} ADD COLUMN IF NOT EXISTS {quote_ident(copy)} {type_sql};",
        "  -- What the column has besides its type: collation, privileges, statistics target,",
        "  -- options; storage and compression where the type stays.",
        "  SELECT * INTO _pgroll_old FROM pg_catalog.pg_attribute WHERE attrelid = "
        f"pg_catalog.to_regclass({t}) AND attname = {quote_literal(old)};",
        "  SELECT * INTO _pgroll_copy FROM pg_catalog.pg_attribute WHERE attrelid = "
        f"pg_catalog.to_regclass({t}) AND attname = {c};",
        "  IF _pgroll_old.attcollation <> 0 AND _pgroll_copy.attcollation <> 0",
        "      AND _pgroll_old.attcollation <> _pgroll_copy.attcollation THEN",
        "    EXECUTE pg_catalog.format('ALTER TABLE %s ALTER COLUMN %I TYPE %s COLLATE %I.%I', "
        f"{t}, {c},",
        "      pg_catalog.format_type(_pgroll_copy.atttypid, _pgroll_copy.atttypmod),",
        "      (SELECT n.nspname FROM pg_catalog.pg_collation o JOIN pg_catalog.pg_namespace n "
        "ON n.oid = o.collnamespace WHERE o.oid = _pgroll_old.attcollation),",
        "      (SELECT o.collname FROM pg_catalog.pg_collation o "
        "WHERE o.oid = _pgroll_old.attcollation));",
        "  END IF;",
        *_grant_lines("_pgroll_old.attacl", c, t, "  "),
        "  IF _pgroll_old.attstattarget >= 0 THEN  -- (-1 before PostgreSQL 17, NULL since)",
        "    EXECUTE pg_catalog.format('ALTER TABLE %s ALTER COLUMN %I SET STATISTICS %s', "
        f"{t}, {c}, _pgroll_old.attstattarget);",
        "  END IF;",
        "  IF _pgroll_old.attoptions IS NOT NULL THEN",
        "    EXECUTE pg_catalog.format('ALTER TABLE %s ALTER COLUMN %I SET (%s)', "
        f"{t}, {c},",
        "      pg_catalog.array_to_string(_pgroll_old.attoptions, ', '));",
        "  END IF;",
        "  IF _pgroll_old.atttypid = _pgroll_copy.atttypid THEN",
        "    IF _pgroll_old.attstorage <> _pgroll_copy.attstorage THEN",
        "      EXECUTE pg_catalog.format('ALTER TABLE %s ALTER COLUMN %I SET STORAGE %s', "
        f"{t}, {c},",
        "        CASE _pgroll_old.attstorage WHEN 'p' THEN 'PLAIN' WHEN 'e' THEN 'EXTERNAL' "
        "WHEN 'm' THEN 'MAIN' ELSE 'EXTENDED' END);",
        "    END IF;",
        "    IF _pgroll_old.attcompression <> '' THEN",
        "      EXECUTE pg_catalog.format('ALTER TABLE %s ALTER COLUMN %I SET COMPRESSION %s', "
        f"{t}, {c},",
        "        CASE _pgroll_old.attcompression WHEN 'l' THEN 'lz4' ELSE 'pglz' END);",
        "    END IF;",
        "  END IF;",
        *_update_of_warning(t, quote_literal(old)),
        *_late_warning(t, quote_literal(old)),
        "END",
        "",
    ])
    return "DO " + dollar_quote("\n" + body)


def _update_of_warning(table: str, old: str) -> list[str]:
    """Lines of the block: a warning naming the triggers that fire on ``UPDATE OF old``.

    A write through the new version sets the copy, not the old column (``down`` fills that
    from a trigger, which is no column of the statement's SET list), so such a trigger of
    the application's (an audit of a status column) does not fire for it until complete,
    which carries the trigger over to the copy (``plan/dependents.py``). Said at start, so
    that the operator knows which writes the trigger misses meanwhile. The table's own, and
    those made on one of its partitions alone (a clone of the parent's is the parent's):
    one warning per table, the names as the plan writes a table's.
    """
    ours = sync_trigger("g.tgname")
    name = ("'\"' || pg_catalog.replace(n.nspname, '\"', '\"\"') || '\".\"' || "
            "pg_catalog.replace(c.relname, '\"', '\"\"') || '\"'")
    return [
        "  FOR _pgroll_fires IN SELECT pg_catalog.string_agg(pg_catalog.quote_ident(g.tgname), "
        "', ' ORDER BY g.tgname) AS names,",
        f"      {name} AS relation",
        f"    FROM (SELECT {table}::pg_catalog.regclass AS relid, 0 AS level UNION ALL",
        f"      SELECT relid, level FROM pg_catalog.pg_partition_tree({table}) WHERE level > 0) p",
        "    JOIN pg_catalog.pg_trigger g ON g.tgrelid = p.relid AND NOT g.tgisinternal "
        "AND g.tgparentid = 0",
        "    JOIN pg_catalog.pg_attribute a ON a.attrelid = p.relid "
        f"AND a.attname = {old} AND a.attnum = ANY (g.tgattr)",
        "    JOIN pg_catalog.pg_class c ON c.oid = p.relid",
        "    JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace",
        f"    WHERE NOT ({ours})",
        "    GROUP BY p.level, n.nspname, c.relname ORDER BY p.level, n.nspname, c.relname LOOP",
        "    RAISE WARNING 'trigger % of table % fires on UPDATE OF %: until complete a write "
        "through the new version sets the new column and does not fire it (complete carries "
        "it over)',",
        f"      _pgroll_fires.names, _pgroll_fires.relation, pg_catalog.quote_ident({old});",
        "  END LOOP;",
    ]


def _late_warning(table: str, old: str) -> list[str]:
    """Lines of the block: a warning naming the table's BEFORE triggers that fire after ``up``.

    PostgreSQL fires a table's BEFORE triggers in the byte order of their names; ``up``'s
    name (``~pgroll_trigger_...``, ``catalog.derived.late_trigger_name``) sorts after every
    ASCII letter, digit and ``_``, so that the copy is computed from the row as the table's
    own triggers leave it. A quoted name may sort after it (``~~norm``, a name beginning
    with a letter outside ASCII): what such a trigger changes in a row (a column ``up``
    reads) does not reach the copy. Said at start, naming it and what to do.
    """
    ours = sync_trigger("tgname")
    return [
        "  SELECT pg_catalog.string_agg(pg_catalog.quote_ident(tgname), ', ' ORDER BY tgname)",
        "    INTO _pgroll_late FROM pg_catalog.pg_trigger WHERE tgrelid = "
        f"pg_catalog.to_regclass({table})",
        "      AND NOT tgisinternal AND tgtype & 3 = 3 AND tgtype & 20 <> 0 "
        "-- row, before, insert or update",
        f"      AND tgname > {quote_literal(LATE_TRIGGER_PREFIX)}::pg_catalog.name "
        f"AND NOT ({ours});",
        "  IF _pgroll_late IS NOT NULL THEN",
        "    RAISE WARNING 'trigger % of table % fires after the trigger that fills the new "
        "column of % (a table''s BEFORE triggers fire in the order of their names): what it "
        "changes in a row does not reach the new column; rename it to sort before "
        f"{LATE_TRIGGER_PREFIX}, or drop it until complete',",
        f"      _pgroll_late, {table}, pg_catalog.quote_ident({old});",
        "  END IF;",
    ]


def privileges_sql(table: str, pairs: list[tuple[str, str]]) -> str:
    """A ``DO`` block at complete: each copy of ``pairs`` (old, copy) takes its column's rights.

    As the old column has them now. Start copied them once; what was granted or revoked on
    the column since is on the old column, which complete drops: a ``REVOKE UPDATE (email)``
    made while the migration ran came back with the copy, a ``GRANT`` was lost. Where both
    are alike (the usual case) nothing is done.
    """
    t = quote_literal(table)
    lines = ["DECLARE", "  _pgroll_grant record;", "BEGIN"]
    for old, copy in pairs:
        o, c = quote_literal(old), quote_literal(copy)
        acl = ("(SELECT attacl FROM pg_catalog.pg_attribute WHERE attrelid = "
               f"pg_catalog.to_regclass({t}) AND attname = {{}})")
        lines += [
            f"  IF {acl.format(o)} IS DISTINCT FROM {acl.format(c)} THEN",
            "    FOR _pgroll_grant IN SELECT DISTINCT g.grantee FROM pg_catalog.aclexplode("
            f"{acl.format(c)}) g LOOP",
            f"      EXECUTE pg_catalog.format('REVOKE ALL (%I) ON %s FROM %s CASCADE', {c}, {t},",
            f"        {grantee_role('_pgroll_grant')});",
            "    END LOOP;",
            *_grant_lines(acl.format(o), c, t, "    "),
            "  END IF;",
        ]
    return "DO " + dollar_quote("\n" + "\n".join([*lines, "END", ""]))


def _grant_lines(acl: str, copy: str, table: str, indent: str) -> list[str]:
    """Lines of a block: what ``acl`` (a column's ACL, as SQL) grants, granted on ``copy``.

    ``copy`` and ``table`` are SQL literals; ``_pgroll_grant`` is declared by the block.
    """
    return [
        f"{indent}FOR _pgroll_grant IN SELECT * FROM pg_catalog.aclexplode({acl}) LOOP",
        f"{indent}  EXECUTE pg_catalog.format('GRANT %s (%I) ON %s TO %s', "
        f"_pgroll_grant.privilege_type, {copy}, {table},",
        f"{indent}    {grantee('_pgroll_grant')});",
        f"{indent}END LOOP;",
    ]


def adds_copy(sql: str, table: str, copy: str) -> bool:
    """Whether ``sql`` is :func:`add_copy_sql`'s for ``copy`` of ``table``.

    ``table`` as the plan names it. The backfill's planner moves such a step with the
    ``ADD COLUMN`` steps it gathers before a table's sync triggers.
    """
    return sql.startswith("DO ") and (
        f"\n  ALTER TABLE {table} ADD COLUMN IF NOT EXISTS {quote_ident(copy)} " in sql)

