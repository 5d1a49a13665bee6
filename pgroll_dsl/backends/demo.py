"""What ``try`` shows: rows written through each version schema while a migration is active.

Expand/contract is easiest to believe when you watch it: a row written before ``start`` is
backfilled, a row an old-version client writes during the migration gets its new-version
values from a sync trigger (``up``), and a row a new-version client writes gets its old-version
values the other way (``down``). This module does exactly that on a throwaway database:

1. :func:`prepare`, before start: which existing tables the migration changes columns of, and
   how each changed column is named in the old and the new version (:class:`Pairing`); a table
   that is empty is seeded with :data:`SEED_ROWS` rows through the old version (one with every
   column filled, one with only what the table requires), so that the backfill has something
   to do. Tables that already hold rows keep them as they are.
2. :func:`during`, between start and complete: one row written by an old-version client and
   one by a new-version client (each an autocommit connection whose ``search_path`` is its
   version schema, as an application's is), then, for each row, the changed columns as each
   version reads them, side by side.

Sample values come from the column's type (``email4``, ``4``, ``2024-01-01``...); a foreign key
takes a row of the table it references. A write PostgreSQL refuses (a check the sample does
not meet, say) is reported and the demo goes on. Every identifier is quoted through
``sql/quoting.py``; values are bound parameters.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import psycopg

from pgroll_dsl import ir
from pgroll_dsl.backends.live import first_line
from pgroll_dsl.catalog.apply import apply_operation
from pgroll_dsl.catalog.derived import (
    NEW_PREFIX,
    SYNC_TRIGGER_PREFIXES,
    WRITTEN_TRIGGER_PATTERN,
)
from pgroll_dsl.catalog.introspect import introspect
from pgroll_dsl.catalog.model import Catalog, Column, Table
from pgroll_dsl.ir import ConstraintType
from pgroll_dsl.sql.ddl import qualified
from pgroll_dsl.sql.quoting import quote_ident

Connection = psycopg.Connection[tuple[Any, ...]]

SEED_ROWS = 2
"""Rows written into an empty table before start: one full, one with only required columns."""
EXISTING_SHOWN = 2
"""Rows already in a table (the examples' own, earlier demos') shown beside the new ones."""

OLD_CLIENT, NEW_CLIENT, SEEDED, EXISTING = "old client", "new client", "seeded", "existing"


@dataclass(frozen=True, slots=True)
class Pairing:
    """An existing table whose columns the migration changes, as each version names them.

    ``columns`` pairs each changed column's old-version name with its new-version name;
    ``None`` on one side: the column exists in one version only (added, or dropped).
    ``key`` pairs the primary key's columns the same way (else a unique NOT NULL column's;
    empty: neither, or the migration drops it).
    """

    old_table: str
    new_table: str
    columns: tuple[tuple[str | None, str | None], ...]
    key: tuple[tuple[str, str], ...]


@dataclass(frozen=True, slots=True)
class Prepared:
    """What :func:`prepare` found and wrote: the catalogs of both versions, the seeded rows."""

    before: Catalog
    after: Catalog
    pairings: tuple[Pairing, ...]
    seeded: tuple[tuple[str, tuple[tuple[str, ...], ...]], ...]  # (old table, keys written)
    problems: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Row:
    """One row as both versions read it: ``cells`` follow :attr:`Shown.headers`."""

    who: str  # OLD_CLIENT, NEW_CLIENT, SEEDED or EXISTING
    cells: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Shown:
    """One table during the migration: its rows, and what start built underneath them.

    ``headers``: the key columns (new names), then ``old: c`` and ``new: c`` for each changed
    column the version has. ``copies`` are the physical columns start added beside the old
    ones (``_pgroll_new_<c>``), ``triggers`` the sync triggers that keep them in step.
    """

    table: str
    old_table: str
    headers: tuple[str, ...]
    rows: tuple[Row, ...]
    seeded: int
    copies: tuple[str, ...]
    triggers: int
    problems: tuple[str, ...]


# ---- which columns a migration changes ------------------------------------------------------


def pairings(migration: ir.Migration, before: Catalog) -> tuple[Pairing, ...]:
    """The existing tables whose columns ``migration`` adds, drops, renames or rewrites."""
    names = {t.name: t.name for t in before.tables}  # current name -> old name
    current: dict[str, dict[str, str | None]] = {}  # old table -> current column -> old column
    touched: dict[str, list[str]] = {}  # old table -> current names of changed columns
    dropped: dict[str, list[str]] = {}  # old table -> old names of dropped columns

    def follow(table: ir.Ident) -> tuple[dict[str, str | None], list[str], list[str]] | None:
        old = names.get(table.name)
        found = before.table(old) if old is not None else None
        if old is None or found is None:
            return None
        columns = current.setdefault(old, {c.name: c.name for c in found.columns})
        return columns, touched.setdefault(old, []), dropped.setdefault(old, [])

    def touch(table: ir.Ident, *columns: str) -> None:
        followed = follow(table)
        if followed is not None:
            followed[1].extend(c for c in columns if c not in followed[1])

    for op in migration.operations:
        match op:
            case ir.CreateTable() | ir.DropTable():
                names.pop(op.name.name, None)  # a new table, or one gone from the new version
            case ir.RenameTable() if op.from_.name in names:
                names[op.to.name] = names.pop(op.from_.name)
            case ir.AddColumn():
                followed = follow(op.table)
                if followed is not None:
                    followed[0][op.column.name.name] = None
                touch(op.table, op.column.name.name)
            case ir.DropColumn():
                followed = follow(op.table)
                if followed is not None and op.column.name in followed[0]:
                    old_name = followed[0].pop(op.column.name)
                    if op.column.name in followed[1]:
                        followed[1].remove(op.column.name)
                    if old_name is not None:
                        followed[2].append(old_name)
            case ir.RenameColumn():
                followed = follow(op.table)
                if followed is not None and op.from_.name in followed[0]:
                    followed[0][op.to.name] = followed[0].pop(op.from_.name)
                    changed = followed[1]
                    changed[:] = [op.to.name if c == op.from_.name else c for c in changed]
                    if op.to.name not in changed:
                        changed.append(op.to.name)
            case ir.AlterColumn():
                touch(op.table, op.column.name)
            case ir.CreateConstraint():
                touch(op.table, *(c.name for c in op.columns))
            case ir.DropConstraint() | ir.DropMulticolumnConstraint():
                old = names.get(op.table.name)
                table = before.table(old) if old is not None else None
                constraint = table.constraint(op.name.name) if table is not None else None
                if constraint is not None:
                    touch(op.table, *constraint.columns)
            case _:
                pass  # indexes, raw SQL, replica identity: no column changes what clients see
    renamed = {old: new for new, old in names.items()}
    found = []
    for old, changed in touched.items():
        table = before.table(old)
        if old not in renamed or table is None or not (changed or dropped[old]):
            continue
        columns = current[old]
        new_of = {o: n for n, o in columns.items() if o is not None}
        pairs: list[tuple[str | None, str | None]] = [(columns[c], c) for c in changed
                                                      if c in columns]
        pairs += [(d, None) for d in dropped[old]]
        unique = table.unique_not_null_column()
        keys = table.primary_key or ((unique,) if unique is not None else ())
        key = tuple((k, new_of[k]) for k in keys if k in new_of)
        if len(key) != len(keys):
            key = ()  # the key itself goes: rows cannot be matched across versions
        found.append(Pairing(old, renamed[old], tuple(pairs), key))
    return tuple(found)


# ---- sample rows ----------------------------------------------------------------------------

_INTEGER = re.compile(r"(smallint|integer|bigint|numeric|decimal|real|double precision)\b")
_TEXT = re.compile(r"(text|character varying|character|varchar|char|citext)\b(?:\((\d+)\))?")
_FIXED = {
    "boolean": "true", "date": "2024-01-01", "json": "{}", "jsonb": "{}",
    "time without time zone": "12:00", "time with time zone": "12:00+00",
}


def sample(column: Column, n: int, catalog: Catalog) -> str:
    """A value of ``column``'s type for row ``n``, as text PostgreSQL casts to the type."""
    type_ = column.type
    enum = catalog.enum(type_)
    if type_.endswith("]"):
        return "{}"
    if enum is not None and enum.labels:
        return enum.labels[0]
    if _INTEGER.match(type_):
        return str(n)
    if type_ in _FIXED:
        return _FIXED[type_]
    if type_.startswith("timestamp"):
        return "2024-01-01 12:00:00+00"
    if type_ == "uuid":
        return f"00000000-0000-4000-8000-{n:012d}"
    if type_ == "interval":
        return f"{n} days"
    text = _TEXT.match(type_)
    if text is not None:
        value = f"{column.name}{n}"
        return value[-int(text.group(2)):] if text.group(2) else value
    return str(n)


def _writable(table: Table, full: bool, also: tuple[str, ...] = ()) -> list[Column]:
    """The columns a client fills: not generated, no default, and NOT NULL.

    ``full``: the nullable ones too; ``also``: these nullable ones too.
    """
    return [c for c in table.columns
            if c.identity is None and c.generated is None and c.default is None
            and (full or not c.nullable or c.name in also)]


def _referenced(conn: Connection, table: Table, column: str) -> str | None:
    """A value of a row the column's foreign key references (None: none, or no key)."""
    for constraint in table.constraints:
        ref = constraint.references
        if (constraint.type is ConstraintType.FOREIGN_KEY and ref is not None
                and column in constraint.columns):
            target = ref.columns[constraint.columns.index(column)]
            source = (qualified(ref.schema, ref.table) if ref.schema is not None
                      else quote_ident(ref.table))  # else through the search path
            row = conn.execute(f"SELECT {quote_ident(target)}::text FROM {source} "
                               f"ORDER BY 1 LIMIT 1").fetchone()
            return None if row is None else str(row[0])
    return None


def write_row(conn: Connection, catalog: Catalog, table: Table, n: int, full: bool,
              key: tuple[str, ...], also: tuple[str, ...] = ()) -> tuple[str, ...]:
    """Insert row ``n`` through ``conn``'s version; the key of the row written.

    Raises:
        psycopg.Error: PostgreSQL refused the row.
    """
    columns = _writable(table, full, also)
    values = []
    for column in columns:
        referenced = _referenced(conn, table, column.name)
        values.append(referenced if referenced is not None else sample(column, n, catalog))
    returning = ", ".join(f"{quote_ident(k)}::text" for k in key) or "NULL"
    target = quote_ident(table.name)
    if columns:
        listed = ", ".join(quote_ident(c.name) for c in columns)
        marks = ", ".join(["%s"] * len(columns))
        statement = f"INSERT INTO {target} ({listed}) VALUES ({marks}) RETURNING {returning}"
    else:
        statement = f"INSERT INTO {target} DEFAULT VALUES RETURNING {returning}"
    row = conn.execute(statement, values).fetchone()
    return tuple(str(v) for v in row) if row is not None and key else ()


# ---- the clients ----------------------------------------------------------------------------


@contextmanager
def client(dsn: str, version_schema: str, who: str) -> Iterator[Connection]:
    """An application of one version: autocommit, ``search_path`` its version schema alone.

    The sync triggers tell the versions apart by the first schema of the writer's
    ``search_path``, as they do for a real application.
    """
    conn = psycopg.connect(dsn, autocommit=True, application_name=f"pgroll-dsl try ({who})")
    try:
        conn.execute("SELECT pg_catalog.set_config('search_path', %s, false)",
                     (quote_ident(version_schema),))
        yield conn
    finally:
        conn.close()


def _count(conn: Connection, table: str) -> int:
    row = conn.execute(f"SELECT count(*) FROM {quote_ident(table)}").fetchone()
    return int(row[0]) if row is not None else 0


def prepare(conn: Connection, dsn: str, schema: str, migration: ir.Migration,
            old_version: str | None) -> Prepared:
    """Before start: the pairings, and :data:`SEED_ROWS` rows in each empty changed table.

    ``conn`` is the migration's connection (read only here); ``old_version`` the version
    schema clients use now (None: no version yet, nothing to write through).
    """
    before = introspect(conn, schema)
    after = before
    for op in migration.operations:
        after = apply_operation(after, op)
    found = pairings(migration, before) if old_version is not None else ()
    seeded: list[tuple[str, tuple[tuple[str, ...], ...]]] = []
    problems: list[str] = []
    if old_version is not None and found:
        with client(dsn, old_version, "seed") as old:
            for pairing in found:
                table = before.table(pairing.old_table)
                if table is None or _count(old, table.name) > 0:
                    continue
                key = tuple(k for k, _ in pairing.key)
                try:
                    keys = tuple(write_row(old, before, table, n, full=n % 2 == 1, key=key)
                                 for n in range(1, SEED_ROWS + 1))
                except psycopg.Error as err:
                    problems.append(f"{table.name}: cannot seed a row: {first_line(err)}")
                    continue
                seeded.append((table.name, keys))
    return Prepared(before, after, found, tuple(seeded), tuple(problems))


def _physical(conn: Connection, schema: str, table: str) -> tuple[tuple[str, ...], int]:
    """The copies start added to the base table, and the number of its sync triggers."""
    relation = qualified(schema, table)
    copies = conn.execute(
        "SELECT attname FROM pg_catalog.pg_attribute WHERE attrelid = pg_catalog.to_regclass(%s)"
        " AND attnum > 0 AND NOT attisdropped AND pg_catalog.starts_with(attname::text, %s)"
        " ORDER BY attnum", (relation, NEW_PREFIX)).fetchall()
    triggers = conn.execute(
        "SELECT count(*) FROM pg_catalog.pg_trigger WHERE tgrelid = pg_catalog.to_regclass(%s)"
        " AND tgname::text OPERATOR(pg_catalog.^@) ANY (%s)"  # starts with one of them
        " AND NOT tgname::text OPERATOR(pg_catalog.~) %s",  # not one recording a SET list
        (relation, list(SYNC_TRIGGER_PREFIXES), WRITTEN_TRIGGER_PATTERN)).fetchone()
    return tuple(str(r[0]) for r in copies), int(triggers[0]) if triggers is not None else 0


def _read(conn: Connection, table: str, key: tuple[str, ...], values: tuple[str, ...],
          columns: tuple[str, ...]) -> tuple[str, ...]:
    """The columns of the row with key ``values``, as text (``NULL`` for a null)."""
    listed = ", ".join(f"{quote_ident(c)}::text" for c in columns)
    where = " AND ".join(f"{quote_ident(k)} = %s" for k in key)
    row = conn.execute(f"SELECT {listed} FROM {quote_ident(table)} WHERE {where}",
                       values).fetchone()
    if row is None:
        return ("(not seen)",) * len(columns)
    return tuple("NULL" if v is None else str(v) for v in row)


def _existing(conn: Connection, table: str, key: tuple[str, ...],
              ours: set[tuple[str, ...]]) -> list[tuple[str, ...]]:
    """Up to :data:`EXISTING_SHOWN` keys of rows that were there before the demo wrote any."""
    listed = ", ".join(f"{quote_ident(k)}::text" for k in key)
    order = ", ".join(quote_ident(k) for k in key)
    rows = conn.execute(f"SELECT {listed} FROM {quote_ident(table)} ORDER BY {order} "
                        f"LIMIT {EXISTING_SHOWN + len(ours)}").fetchall()
    keys = [tuple(str(v) for v in row) for row in rows]
    return [k for k in keys if k not in ours][:EXISTING_SHOWN]


def during(conn: Connection, dsn: str, schema: str, prepared: Prepared, old_version: str,
           new_version: str) -> tuple[Shown, ...]:
    """Between start and complete: a row through each version, and what each version sees."""
    shown = []
    with client(dsn, old_version, OLD_CLIENT) as old, client(dsn, new_version, NEW_CLIENT) as new:
        for pairing in prepared.pairings:
            try:
                shown.append(_show(conn, old, new, schema, prepared, pairing))
            except psycopg.Error as err:  # a key that does not compare as text, say
                shown.append(Shown(pairing.new_table, pairing.old_table, (), (), 0, (), 0,
                                   (f"cannot show the rows: {first_line(err)}",)))
    return tuple(shown)


def _old_client_fills(pairing: Pairing, before: Table, after: Table) -> tuple[str, ...]:
    """The changed columns an old client fills although they are nullable.

    A value shows what ``up`` makes of it, except where the new version requires a value the
    old one does not: there the old client writes NULL, the case ``up`` exists for.
    """
    filled = []
    for old_name, new_name in pairing.columns:
        old = before.column(old_name) if old_name is not None else None
        new = after.column(new_name) if new_name is not None else None
        if old is not None and new is not None and (new.nullable or not old.nullable):
            filled.append(old.name)
    return tuple(filled)


def _show(conn: Connection, old: Connection, new: Connection, schema: str, prepared: Prepared,
          pairing: Pairing) -> Shown:
    before = prepared.before.table(pairing.old_table)
    after = prepared.after.table(pairing.new_table)
    assert before is not None and after is not None
    old_key = tuple(k for k, _ in pairing.key)
    new_key = tuple(k for _, k in pairing.key)
    seeded = dict(prepared.seeded).get(pairing.old_table, ())
    problems = []
    written: list[tuple[str, tuple[str, ...]]] = []
    n = _count(old, before.name)
    also = _old_client_fills(pairing, before, after)
    for who, conn_, catalog, table, key in ((OLD_CLIENT, old, prepared.before, before, old_key),
                                            (NEW_CLIENT, new, prepared.after, after, new_key)):
        n += 1
        try:
            written.append((who, write_row(conn_, catalog, table, n, full=who == NEW_CLIENT,
                                           key=key, also=also if who == OLD_CLIENT else ())))
        except psycopg.Error as err:
            problems.append(f"the {who} cannot write a row: {first_line(err)}")
    copies, triggers = _physical(conn, schema, before.physical)
    old_columns = tuple(o for o, _ in pairing.columns if o is not None)
    new_columns = tuple(c for _, c in pairing.columns if c is not None)
    headers = (*new_key, *(f"old: {c}" for c in old_columns), *(f"new: {c}" for c in new_columns))
    rows: list[Row] = []
    if pairing.key:
        ours = [*((SEEDED, k) for k in seeded), *written]
        listed = [*((EXISTING, k) for k in _existing(old, before.name, old_key,
                                                     {k for _, k in ours})), *ours]
        for who, values in listed:
            cells = (*values, *_read(old, before.name, old_key, values, old_columns),
                     *_read(new, after.name, new_key, values, new_columns))
            rows.append(Row(who, cells))
    else:
        problems.append("no key (primary, or unique NOT NULL): rows cannot be matched across "
                        "the versions")
    return Shown(pairing.new_table, pairing.old_table, headers, tuple(rows), len(seeded), copies,
                 triggers, tuple(problems))
