"""What the live start asks the server before anything runs: ownership, policies, types.

A table the migration alters must be the role's (``ALTER TABLE``, ``CREATE TRIGGER``, a
rollback's ``LOCK``): found out at its step, the steps before it are done, and the rollback
that undoes them stops at the same table, so nothing could undo them. ``unowned_tables``
names them first.

Type changes are tried on an empty copy of the table.

Changing a column's type carries its default and the checks that name it over to the copy.
Whether PostgreSQL can convert them (``text default '0'`` to ``integer`` cannot; a check
``length(age) < 3`` cannot follow ``age`` to ``integer``) depends on casts and functions only
the server knows. pgroll finds out half way through its start and silently drops what does
not convert; a plain ``ALTER TABLE`` refuses. The live ``start`` asks the server first, on an
empty temporary copy of the table inside a transaction that is rolled back, and refuses the
migration with a message in the author's terms (never an internal column name) while nothing
has changed yet. The plan stays what it says: nothing is dropped behind its back.
"""

from __future__ import annotations

from typing import Any

import psycopg

from pgroll_dsl import ir
from pgroll_dsl.catalog.derived import MARKER
from pgroll_dsl.catalog.model import Catalog
from pgroll_dsl.plan.model import Lock, Phase, Plan, StepKind
from pgroll_dsl.plan.views import held
from pgroll_dsl.sql.ddl import qualified
from pgroll_dsl.sql.quoting import quote_ident, render_type

_PROBE = "pgroll_dsl_type_probe"


# The locks of statements only a table's owner may run (ALTER TABLE, CREATE INDEX, a
# phase's LOCK before them); not a view's (every table gets one), nor the backfill's writes.
_OWNERS = frozenset({Lock.ACCESS_EXCLUSIVE, Lock.SHARE_ROW_EXCLUSIVE, Lock.SHARE,
                     Lock.SHARE_UPDATE_EXCLUSIVE})
# The tables of a list of SQL names (the target schema's and other schemas') that the role
# may not change, by their place in the list, with their owner. Read by name through
# pg_namespace (each part cut to 63 bytes as PostgreSQL keeps names): a schema the role may
# not use hides its tables from to_regclass.
_UNOWNED = (
    "SELECT n.i, pg_catalog.pg_get_userbyid(c.relowner), current_user "
    "FROM pg_catalog.unnest(%s::text[]) WITH ORDINALITY AS n(name, i) "
    "JOIN pg_catalog.pg_namespace s ON s.nspname = (pg_catalog.parse_ident(n.name))[1]::name "
    "JOIN pg_catalog.pg_class c ON c.relnamespace = s.oid "
    "AND c.relname = (pg_catalog.parse_ident(n.name))[2]::name "
    "WHERE NOT pg_catalog.pg_has_role(c.relowner, 'USAGE') ORDER BY 1")
# A table a step only points a foreign key at needs REFERENCES; one that complete's or
# rollback's lock step takes only for such a step needs a right LOCK TABLE accepts.
_UNGRANTED = (
    "SELECT c.relname, n.needs, current_user FROM ROWS FROM (pg_catalog.unnest(%s::text[]), "
    "pg_catalog.unnest(%s::text[])) AS n(name, needs) JOIN pg_catalog.pg_class c "
    "ON c.oid = pg_catalog.to_regclass(n.name) "
    "WHERE NOT pg_catalog.pg_has_role(c.relowner, 'USAGE') "
    "AND NOT pg_catalog.has_table_privilege(c.oid, n.needs) ORDER BY 1, 2")
_LOCK_RIGHTS = "UPDATE, DELETE, TRUNCATE"  # any of them (and MAINTAIN from PostgreSQL 17)


def unowned_tables(conn: psycopg.Connection[Any], schema: str, plan: Plan) -> list[str]:
    """One message per existing table of the plan's steps that the role may not change.

    The tables a step changes must be the role's; a table it only references (a foreign
    key's target), or locks for such a step, needs only that right.
    """
    steps = [step for phase in Phase for step in plan.phase(phase) if step.lock in _OWNERS]
    own = sorted({table for step in steps for table in step.tables
                  if table not in step.referenced})
    # (Of another schema: a foreign key of its table twinned onto a copy; named with it.)
    elsewhere = sorted({table for step in steps for table in step.elsewhere})
    shown = [quote_ident(table) for table in own] + elsewhere
    named = [qualified(schema, table) for table in own] + elsewhere
    messages = [f"the role {quote_ident(user)} does not own table {shown[int(i) - 1]} (its "
                f"owner is {quote_ident(owner)}): run the migration as the owner, or GRANT "
                f"{quote_ident(owner)} TO {quote_ident(user)}"
                for i, owner, user in conn.execute(_UNOWNED, (named,))]
    lock = _LOCK_RIGHTS + (", MAINTAIN" if conn.info.server_version >= 170000 else "")
    needs = sorted({(qualified(schema, table), lock if step.lock is Lock.ACCESS_EXCLUSIVE
                     else "REFERENCES") for step in steps for table in step.referenced})
    found = conn.execute(_UNGRANTED, ([n for n, _ in needs], [r for _, r in needs]))
    return messages + [_ungranted(table, right, user) for table, right, user in found]


def _ungranted(table: str, right: str, user: str) -> str:
    who, name = quote_ident(user), quote_ident(table)
    if right == "REFERENCES":
        return (f"the role {who} may not reference table {name}, which a foreign key of the "
                f"migration points at: GRANT REFERENCES ON {name} TO {who}")
    return (f"the role {who} may not lock table {name}, which a foreign key of the migration "
            "points at and complete or rollback locks in ACCESS EXCLUSIVE mode with the "
            f"tables it changes: GRANT UPDATE ON {name} TO {who} (or {right.split(', ', 1)[1]})")


# A table whose policies apply to its owner too, for a role that policies apply to.
_FORCED_POLICIES = (
    "SELECT c.relname, current_user FROM pg_catalog.unnest(%s::text[]) AS n(name) "
    "JOIN pg_catalog.pg_class c ON c.oid = pg_catalog.to_regclass(n.name) "
    "WHERE c.relrowsecurity AND c.relforcerowsecurity AND NOT EXISTS (SELECT FROM "
    "pg_catalog.pg_roles r WHERE r.rolname = current_user AND (r.rolsuper OR r.rolbypassrls)) "
    "ORDER BY 1")


def hidden_rows(conn: psycopg.Connection[Any], schema: str, plan: Plan) -> list[str]:
    """One message per table to backfill whose row security policies apply to the role.

    With ``FORCE ROW LEVEL SECURITY`` a table's policies apply to its owner, and would hide
    rows from the backfill's ``UPDATE``: their copies would stay empty. The session runs with
    ``row_security = off`` (``live.connect``), so the backfill would fail half way through
    start; refused here, nothing has changed. (Only the backfill reads rows: a ``VALIDATE``
    and an index build see them all.)
    """
    names = sorted({qualified(schema, table) for step in plan.start
                    if step.kind is StepKind.BACKFILL for table in step.tables})
    return [f"table {quote_ident(table)} has row-level security forced on its owner (FORCE ROW "
            f"LEVEL SECURITY), whose policies would hide rows from the backfill: run the "
            f"migration as a role with BYPASSRLS (ALTER ROLE {quote_ident(user)} BYPASSRLS) "
            f"or a superuser, or ALTER TABLE {quote_ident(table)} NO FORCE ROW LEVEL SECURITY "
            "until the migration is complete"
            for table, user in conn.execute(_FORCED_POLICIES, (names,))]


def taken_schema(conn: psycopg.Connection[Any], plan: Plan) -> list[str]:
    """The message of a version schema that exists before start makes it, or none.

    It is another application's schema, or another target schema's (the version schema of
    schema ``a`` and migration ``b_02`` is the target schema ``a_b`` of migration ``02``'s):
    start would put its views beside what it holds, and rollback, a failed start's undo or
    the next complete drop it, with what it holds (``DROP SCHEMA ... CASCADE``).
    """
    if plan.version_schema == plan.previous_version_schema:
        return []  # (a version_schema the previous migration named too: its own views)
    row = conn.execute(f"SELECT {held('pg_catalog.to_regnamespace(%s)', views=True)}",
                       (quote_ident(plan.version_schema),) * 3).fetchone()
    if row is None or row[0] is None:
        return []  # none, or an empty one (a version schema whose tables went: reused)
    return [f"schema {quote_ident(plan.version_schema)} exists already, and would be this "
            f"migration's version schema: rollback or the next complete would drop it with "
            f"what it holds ({row[0]}); rename the migration, or give it another "
            "version_schema"]


# The helper objects of a migration in progress: the backfill's marker, the sync triggers.
_IN_PROGRESS = (
    "SELECT c.relname, a.attname FROM pg_catalog.pg_attribute a JOIN pg_catalog.pg_class c "
    "ON c.oid = a.attrelid WHERE c.relnamespace = pg_catalog.to_regnamespace(%s) "
    "AND c.relkind IN ('r', 'p') AND a.attname = %s AND a.attnum > 0 AND NOT a.attisdropped "
    "UNION ALL SELECT c.relname, t.tgname FROM pg_catalog.pg_trigger t JOIN pg_catalog.pg_class c "
    "ON c.oid = t.tgrelid WHERE c.relnamespace = pg_catalog.to_regnamespace(%s) "
    "AND t.tgname ~ '^[_~]pgroll_trigger_[0-9]{3}[-_]' AND NOT t.tgisinternal "
    "ORDER BY 1, 2 LIMIT 3")


def another_migration(conn: psycopg.Connection[Any], schema: str) -> list[str]:
    """The message of a migration in progress that this state does not know of, or none.

    Start runs when this state has no migration active; one whose helper objects are on the
    schema's tables is another state schema's (``--pgroll-schema``) over the same target
    schema, or what a migration left that was undone by hand. Started over it, both
    migrations' complete failed on each other's objects.
    """
    quoted = quote_ident(schema)
    found = conn.execute(_IN_PROGRESS, (quoted, MARKER, quoted)).fetchall()
    if not found:
        return []
    shown = ", ".join(f"{quote_ident(name)} of table {quote_ident(table)}"
                      for table, name in found)
    return [f"schema {quoted} has the objects of a migration in progress that this state "
            f"schema does not know of ({shown}): one started with another --pgroll-schema, "
            "or one left half undone; complete or roll it back there first"]


def type_change_problems(conn: psycopg.Connection[Any], schema: str, catalog: Catalog,
                         migration: ir.Migration) -> list[str]:
    """One message per ``alter_column`` type change whose default or checks cannot follow."""
    problems = []
    for op in migration.operations:
        if not isinstance(op, ir.AlterColumn) or op.type is None:
            continue
        table = catalog.table(op.table.name)
        column = table.column(op.column.name) if table is not None else None
        if table is None or column is None:
            continue  # made earlier in this migration: nothing carried over from the server
        failure = _try(conn, qualified(schema, table.physical), column.physical, op)
        if failure is not None:
            problems.append(_message(op, column.default, failure))
    return problems


def _try(conn: psycopg.Connection[Any], table: str, column: str,
         op: ir.AlterColumn) -> str | None:
    assert op.type is not None
    target = quote_ident(column)
    statements = [f"CREATE TEMPORARY TABLE {quote_ident(_PROBE)} (LIKE {table} INCLUDING "
                  "DEFAULTS INCLUDING CONSTRAINTS) ON COMMIT DROP"]
    if op.default is not None:  # the migration sets or drops the default itself
        statements.append(f"ALTER TABLE {quote_ident(_PROBE)} ALTER COLUMN {target} DROP DEFAULT")
    new_type = render_type(op.type)
    statements.append(f"ALTER TABLE {quote_ident(_PROBE)} ALTER COLUMN {target} TYPE "
                      f"{new_type} USING NULL::{new_type}")
    try:
        with conn.transaction(force_rollback=True):  # nothing of the probe is kept
            for statement in statements[:-1]:
                conn.execute(statement)
            try:
                with conn.transaction():  # a savepoint: the probe's failure is the answer
                    conn.execute(statements[-1])
            except psycopg.Error as err:
                return (err.diag.message_primary or str(err)).strip()
    except psycopg.Error:
        return None  # no right to make a temporary table, say: start finds out as before
    return None


def _message(op: ir.AlterColumn, default: str | None, failure: str) -> str:
    assert op.type is not None
    where = f"alter_column {op.table.name}.{op.column.name}"
    if "default" in failure and default is not None:
        return (f"{where}: the column's default {default} cannot be converted to "
                f"{render_type(op.type)} ({failure}); give the new type its own default in "
                "the same alter_column (`set default ...` or `drop default`)")
    return (f"{where}: a check constraint on the column cannot follow it to "
            f"{render_type(op.type)} ({failure}); drop or rewrite that check in an earlier "
            "migration, or in this one before the type change")
