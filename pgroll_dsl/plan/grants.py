"""The roles that use the schema and its tables may use the version schema and its views.

A version schema and its views are new objects of the role that runs the migration: no other
role may use them. An application that connects as a role of its own (the usual set-up:
the migration runs as the tables' owner or an admin) failed on its first query of the new
version ("permission denied for schema public_02_..."), unless someone granted by hand, or
set default privileges, between start and its deployment. The version schema now gets the
``USAGE`` each role has on the schema it shows, and each view what each role may do with
its table: the table's privileges (``SELECT``, ``INSERT``, ``UPDATE``, ``DELETE``,
``REFERENCES``, ``TRIGGER``) and its columns' (under the view's name for the column), with
the grant option where the role has it. A view runs with its caller's rights on the table
(``security_invoker``), so a role gets through a view what it may do with the table, no
more.

The rights are read when the step runs (they are not in the catalog model), in the
transaction that makes the schema and its views: a client never finds the schema without
them. Complete reads them again for the version that stays (``grants_step(again=True)``): a role
granted on a table while the migration ran (a new application role, a reporting role)
would otherwise find its rights on the table and not on the new version's view. Only what
a view lacks is granted, so the step costs a catalog read where nothing changed.
"""

from __future__ import annotations

from pgroll_dsl.catalog.model import Table
from pgroll_dsl.plan.context import Context
from pgroll_dsl.plan.model import Lock, Step
from pgroll_dsl.sql.ddl import grantee, qualified
from pgroll_dsl.sql.quoting import dollar_quote, quote_literal

# What a view can be granted of a table's privileges.
_FOR_VIEWS = ("SELECT", "INSERT", "UPDATE", "DELETE", "REFERENCES", "TRIGGER")
_GRANTEE = grantee("_pgroll_grant")
# The view (or version schema) has this right already (``h``, of its ACL, for ``g``, of the
# table's): granted again only where it lacks it, so that complete's pass costs a read.
_HAS = ("h.grantee = g.grantee AND h.privilege_type = g.privilege_type "
        "AND (h.is_grantable OR NOT g.is_grantable))")


def grants_step(ctx: Context, tables: tuple[Table, ...], again: bool = False) -> list[Step]:
    """The step that grants on the version schema and the views of ``tables``.

    None where there is no view. At start (and after raw SQL's rebuild) it joins the
    transaction of the step before it. ``again``: complete's, the last of its transaction
    (complete stays one transaction: a run killed anywhere changed nothing or everything),
    for what was granted since start; ``tables`` are then the catalog after complete.
    """
    if not tables:
        return []
    summary = (f"the rights granted on {ctx.schema} and its tables since start reach "
               f"{ctx.version_schema} and its views" if again else
               f"the roles that use {ctx.schema} and its tables get the same rights on "
               f"{ctx.version_schema} and its views")
    return [Step(sql=grants_sql(ctx.schema, ctx.version_schema, tables), summary=summary,
                 lock=Lock.NONE, origin=ctx.origin, joins_previous=not again)]


def grants_sql(schema: str, version: str, tables: tuple[Table, ...]) -> str:
    """A ``DO`` block: the version schema's and its views' rights, from ``schema``'s."""
    views = ",\n".join(
        f"      ({quote_literal(qualified(version, t.name))}, {quote_literal(t.name)}, "
        f"{quote_literal(t.physical)})" for t in tables)
    renamed = [(qualified(version, t.name), c.physical, c.name)
               for t in tables for c in t.columns if c.physical != c.name]
    names = ",\n".join(f"      ({quote_literal(v)}, {quote_literal(p)}, {quote_literal(n)})"
                       for v, p, n in renamed) or "      (NULL, NULL, NULL)"
    privileges = ", ".join(quote_literal(p) for p in _FOR_VIEWS)
    body = "\n".join([
        "DECLARE",
        "  _pgroll_grant record;",
        "BEGIN",
        "  FOR _pgroll_grant IN SELECT g.grantee, g.is_grantable FROM pg_catalog.pg_namespace n",
        "      CROSS JOIN LATERAL pg_catalog.aclexplode(COALESCE(n.nspacl, "
        "pg_catalog.acldefault('n', n.nspowner))) g",
        f"      WHERE n.nspname = {quote_literal(schema)} AND g.privilege_type = 'USAGE'",
        "        AND NOT EXISTS (SELECT FROM pg_catalog.pg_namespace vn "
        "CROSS JOIN LATERAL pg_catalog.aclexplode(vn.nspacl) h",
        f"          WHERE vn.nspname = {quote_literal(version)} AND {_HAS} LOOP",
        "    EXECUTE pg_catalog.format('GRANT USAGE ON SCHEMA %I TO ', "
        f"{quote_literal(version)}) || {_GRANTEE};",
        "  END LOOP;",
        "  FOR _pgroll_grant IN",
        "    WITH views(view, name, tab) AS (VALUES",
        views + "),",
        "    names(view, physical, name) AS (VALUES",
        names + "),",
        # Each view and table found by a join, and the views' rights read once, compared
        # by a hash: looked up by name (to_regclass) and compared per right, as
        # sub-queries, 2 000 tables took 88 ms, and complete's pass runs while it holds the
        # migrated tables.
        "    found AS MATERIALIZED (SELECT v.view, vc.oid AS v_oid, vc.relacl AS v_acl,",
        "        c.oid AS t_oid, COALESCE(c.relacl, pg_catalog.acldefault('r', c.relowner)) "
        "AS t_acl",
        "      FROM views v JOIN pg_catalog.pg_class c ON c.relname = v.tab AND c.relnamespace = "
        f"(SELECT oid FROM pg_catalog.pg_namespace WHERE nspname = {quote_literal(schema)})",
        "      JOIN pg_catalog.pg_class vc ON vc.relname = v.name AND vc.relnamespace = "
        f"(SELECT oid FROM pg_catalog.pg_namespace WHERE nspname = {quote_literal(version)})),",
        "    has AS MATERIALIZED (SELECT f.v_oid, h.grantee, h.privilege_type, h.is_grantable",
        "      FROM found f CROSS JOIN LATERAL pg_catalog.aclexplode(f.v_acl) h)",
        "    SELECT f.view, g.privilege_type, g.grantee, g.is_grantable, NULL::text AS col",
        "      FROM found f CROSS JOIN LATERAL pg_catalog.aclexplode(f.t_acl) g",
        f"      WHERE g.privilege_type IN ({privileges})",
        f"        AND NOT EXISTS (SELECT FROM has h WHERE h.v_oid = f.v_oid AND {_HAS}",
        "    UNION ALL",
        "    SELECT f.view, g.privilege_type, g.grantee, g.is_grantable, "
        "COALESCE(m.name, a.attname)",
        "      FROM found f JOIN pg_catalog.pg_attribute a ON a.attrelid = f.t_oid "
        "AND a.attacl IS NOT NULL",
        "      LEFT JOIN names m ON m.view = f.view AND m.physical = a.attname",
        "      CROSS JOIN LATERAL pg_catalog.aclexplode(a.attacl) g",
        f"      WHERE g.privilege_type IN ({privileges}) AND EXISTS (SELECT FROM "
        "pg_catalog.pg_attribute va",
        "        WHERE va.attrelid = f.v_oid "
        "AND va.attname = COALESCE(m.name, a.attname) AND NOT va.attisdropped",
        f"          AND NOT EXISTS (SELECT FROM pg_catalog.aclexplode(va.attacl) h WHERE {_HAS})",
        "  LOOP",
        "    EXECUTE pg_catalog.format('GRANT %s%s ON %s TO ', _pgroll_grant.privilege_type,",
        "      CASE WHEN _pgroll_grant.col IS NULL THEN '' "
        "ELSE pg_catalog.format(' (%I)', _pgroll_grant.col) END, _pgroll_grant.view)",
        f"      || {_GRANTEE};",
        "  END LOOP;",
        "END",
        "",
    ])
    return "DO " + dollar_quote("\n" + body)
