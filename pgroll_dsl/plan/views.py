"""Version schemas: one view per table, exposing the table as one version of the app sees it.

Columns keep the table's order (pgroll orders them at random, #989). Every view carries the
column defaults its version sees (a volatile default the table gets only at complete
included), so ``DEFAULT`` and ``SET c = DEFAULT`` behave as on the table.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from pgroll_dsl.catalog.model import Catalog, Table
from pgroll_dsl.plan import grants, safety
from pgroll_dsl.plan.context import Context
from pgroll_dsl.plan.model import Exemption, Lock, Step
from pgroll_dsl.sql.ddl import qualified
from pgroll_dsl.sql.quoting import do_block, quote_ident, quote_literal


@dataclass(frozen=True, slots=True)
class ViewSteps:
    """The version-schema steps of each phase."""

    create: list[Step]
    drop_previous: list[Step]
    drop_new: list[Step]
    recreate: list[Step]  # after raw SQL at complete: the views made again, with their rights
    regrant: list[Step]  # otherwise, at complete: the rights granted since start


def view_steps(ctx: Context, final: Catalog, completed: Catalog) -> ViewSteps:
    """Create the new version schema at start; drop the old one at complete."""
    version = ctx.version_schema
    create = [
        _step(
            ctx,
            f"CREATE SCHEMA IF NOT EXISTS {quote_ident(version)}",
            f"create version schema {version}",
        )
    ]
    for table in viewed(final):
        create.append(_view(ctx, version, table))
        create += [_step(ctx, sql, f"a column default of view {table.name}",
                         tables=(table.physical,)) for sql in _default_sql(version, table)]
    create += grants.grants_step(ctx, viewed(final))
    # One transaction (``units``): a client whose search_path names the schema must not find
    # it without its views, or it writes the tables and the triggers take it for a new one.
    create[1:] = [replace(step, joins_previous=True) for step in create[1:]]
    previous = ctx.options.previous_version_schema
    drop_previous = []
    if previous is not None and previous != version:
        drop_previous.append(
            _step(
                ctx,
                do_block("\n".join(drop_version_schema(previous))),
                f"drop the previous version schema {previous}",
                safe=(safety.DROP_SCHEMA,),
            )
        )
    drop_new = [
        _step(
            ctx,
            do_block("\n".join(drop_version_schema(version))),
            f"drop version schema {version}",
            safe=(safety.DROP_SCHEMA,),
        )
    ]
    # After raw SQL at complete the views are rebuilt in one transaction: clients of the new
    # version never find them missing.
    statements = [create[0].sql,
                  *(sql for t in viewed(completed) for sql in view_statements(ctx, version, t))]
    body = "\n".join([*drop_version_schema(version), *(f"  {s};" for s in statements)])
    recreate = [Step(sql=do_block(body),
                     summary=f"rebuild the views of {version} after the raw SQL",
                     lock=Lock.ACCESS_SHARE, origin=ctx.origin),
                *grants.grants_step(ctx, viewed(completed))]
    regrant = grants.grants_step(ctx, viewed(completed), again=True)
    return ViewSteps(create, drop_previous, drop_new, recreate, regrant)


def drop_version_schema(version: str) -> list[str]:
    """Lines of a block: ``DROP SCHEMA ... CASCADE`` of a version schema, if it holds views only.

    An application whose ``search_path`` begins with its version schema makes its tables
    there (an unqualified ``CREATE TABLE``; Django's ``django_migrations``): the drop took
    them along, rows and all. Refused instead, saying what is there and what to do; the
    phase then changes nothing, and runs again once they are moved.
    """
    inside = f"pg_catalog.to_regnamespace({quote_literal(quote_ident(version))})"
    message = quote_literal(f"schema {quote_ident(version)} holds more than the views of a "
                            "version (%s): dropping it would drop them too")
    return [
        "  DECLARE",
        "    _pgroll_kept text;",
        "  BEGIN",
        f"    SELECT {held(inside, views=False)} INTO _pgroll_kept;",
        "    IF _pgroll_kept IS NOT NULL THEN",
        "      RAISE EXCEPTION USING ERRCODE = 'dependent_objects_still_exist',",
        f"        MESSAGE = pg_catalog.format({message}, _pgroll_kept),",
        "        HINT = 'Move them to the schema they belong in (ALTER TABLE ... SET SCHEMA), "
        "then run this again.';",
        "    END IF;",
        "  END;",
        f"  DROP SCHEMA IF EXISTS {quote_ident(version)} CASCADE;",
    ]


def held(schema: str, views: bool) -> str:
    """An expression: a few of what schema ``schema`` holds, NULL when it holds nothing.

    ``schema``: a ``regnamespace`` expression. Comma-separated names of its relations
    (``views``: its views too; never its indexes, which go with their tables), functions
    and types of their own (not a relation's row type, nor an array type). One query for
    the drop of a version schema (which holds only views) and for start's check that a
    version schema it would make is not there already (``backends/probe.taken_schema``).
    """
    kinds = "('i')" if views else "('v', 'i')"
    return ("(SELECT pg_catalog.string_agg(n, ', ') FROM (SELECT relname::text FROM "
            f"pg_catalog.pg_class WHERE relnamespace = {schema} AND relkind NOT IN {kinds} "
            "UNION ALL SELECT proname::text || '()' FROM pg_catalog.pg_proc WHERE "
            f"pronamespace = {schema} UNION ALL SELECT typname::text FROM pg_catalog.pg_type "
            f"WHERE typnamespace = {schema} AND typrelid = 0 AND typelem = 0 LIMIT 5) "
            "AS o(n))")


def viewed(catalog: Catalog) -> tuple[Table, ...]:
    """The tables a version schema shows: partitions are not among them.

    Clients read and write a partitioned table through its parent, which routes each row
    to its partition; the partitions are how the table is stored. A view per partition
    would also pin every partition's columns: a column rewritten on the parent could not be
    dropped at complete while a view of a partition still used it.
    """
    return tuple(t for t in catalog.tables if t.partition_of is None)


def _step(ctx: Context, sql: str, summary: str, tables: tuple[str, ...] = (),
          safe: tuple[Exemption, ...] = ()) -> Step:
    return Step(sql=sql, summary=summary, lock=Lock.NONE, tables=tables, safe=safe,
                origin=ctx.origin)


def view_statements(ctx: Context, version: str, table: Table) -> list[str]:
    """The view of one table for one version, and the column defaults it carries."""
    return [view_sql(ctx, version, table), *_default_sql(version, table)]


def _default_sql(version: str, table: Table) -> list[str]:
    """The table's column defaults on the view.

    An INSERT that leaves a column out gets the table's default anyway, but ``DEFAULT`` in
    an INSERT or ``SET c = DEFAULT`` in an UPDATE takes the view's own default, NULL unless
    it is set: a version must behave like the table.
    """
    view = qualified(version, table.name)
    return [f"ALTER VIEW {view} ALTER COLUMN {quote_ident(c.name)} SET DEFAULT {c.default}"
            for c in table.columns if c.default is not None]


def view_sql(ctx: Context, version: str, table: Table) -> str:
    """``CREATE VIEW`` of one table for one version: columns in table order, renamed."""
    columns = ", ".join(
        f"{quote_ident(c.physical)} AS {quote_ident(c.name)}" for c in table.columns
    )
    options = " WITH (security_invoker = true)" if ctx.options.security_invoker else ""
    return (
        f"CREATE VIEW {qualified(version, table.name)}{options} AS SELECT {columns} "
        f"FROM {qualified(ctx.schema, table.physical)}"
    )


def _view(ctx: Context, version: str, table: Table) -> Step:
    return Step(
        sql=view_sql(ctx, version, table),
        summary=f"view {table.name} of version {version}",
        lock=Lock.ACCESS_SHARE,
        tables=(table.physical,),
        origin=ctx.origin,
    )
