"""``baseline``: an existing schema as DDL, recorded as the first migration of its history.

pgroll's ``baseline`` writes a placeholder migration (one empty ``sql`` operation) and keeps
the schema only in its state (``resulting_schema``). That is enough for a tool that always
reads the live database, not for this one: offline ``validate`` and ``plan`` replay the
directory, and a directory that starts with an empty placeholder replays to an empty schema.
So the baseline file holds the schema itself, as the ``up`` of a ``sql`` operation: DDL that
replay interprets (``catalog/sql_ddl``, PostgreSQL's own parser) into the same catalog
introspection reads (``tests/test_baseline.py`` compares the two), and that builds the same
schema on an empty database. DDL was chosen over a catalog snapshot beside the file because
it needs no second file nor a new rule in replay, every syntax carries it (DSL, JSON,
YAML), pgroll reads the file as an ordinary migration, and a reviewer reads SQL.

The DDL is printed by PostgreSQL (``format_type``, ``pg_get_expr``, ``pg_get_constraintdef``,
``pg_get_indexdef``, ``pg_get_partkeydef``) with ``search_path`` set to the target schema
alone, so names of the schema come out unqualified, as introspection reads them. What the
model does not hold (views, functions, triggers, policies, grants, extensions, table
inheritance, tables of other schemas that foreign keys reference) is not written; the
command names it (``Baseline.left_out``).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, LiteralString

import psycopg

from pgroll_dsl import ir
from pgroll_dsl.backends.live import first_line
from pgroll_dsl.backends.runner import CommandError, Runner, Unreachable
from pgroll_dsl.ir.baseline import marked
from pgroll_dsl.render.pgroll_json import to_document
from pgroll_dsl.sql.quoting import quote_ident, quote_literal

Row = tuple[Any, ...]

_ENUMS: LiteralString = """
SELECT t.typname, array_agg(e.enumlabel ORDER BY e.enumsortorder)
FROM pg_type t JOIN pg_enum e ON e.enumtypid = t.oid
WHERE t.typnamespace = to_regnamespace(%(schema)s)
GROUP BY t.typname ORDER BY t.typname COLLATE "C"
"""

# Sequences of the schema except identity sequences (the column's clause makes those).
_SEQUENCES: LiteralString = """
SELECT c.relname, format_type(s.seqtypid, NULL), s.seqincrement, s.seqmin, s.seqmax,
       s.seqstart, s.seqcache, s.seqcycle,
       (SELECT quote_ident(t.relname) || '.' || quote_ident(a.attname)
        FROM pg_depend d JOIN pg_class t ON t.oid = d.refobjid
        JOIN pg_attribute a ON a.attrelid = d.refobjid AND a.attnum = d.refobjsubid
        WHERE d.classid = 'pg_class'::regclass AND d.objid = c.oid AND d.deptype = 'a'
          AND d.refclassid = 'pg_class'::regclass)
FROM pg_class c JOIN pg_sequence s ON s.seqrelid = c.oid
WHERE c.relnamespace = to_regnamespace(%(schema)s) AND c.relkind = 'S'
  AND NOT EXISTS (SELECT FROM pg_depend d WHERE d.classid = 'pg_class'::regclass
                  AND d.objid = c.oid AND d.deptype = 'i')
ORDER BY c.relname COLLATE "C"
"""

# Parents before partitions; a partition's parent is named as the search_path prints it.
# Only a partition's: a table of a (non-partition) inheritance may have several parents.
_TABLES: LiteralString = """
SELECT c.oid, c.relname, c.relkind = 'p', c.relispartition,
       CASE WHEN c.relkind = 'p' THEN pg_get_partkeydef(c.oid) END,
       (SELECT i.inhparent::regclass::text FROM pg_inherits i
        WHERE i.inhrelid = c.oid AND c.relispartition),
       CASE WHEN c.relispartition THEN pg_get_expr(c.relpartbound, c.oid) END,
       obj_description(c.oid, 'pg_class'), c.relpersistence = 'u',
       (SELECT i.inhparent FROM pg_inherits i WHERE i.inhrelid = c.oid AND c.relispartition)
FROM pg_class c
WHERE c.relnamespace = to_regnamespace(%(schema)s) AND c.relkind IN ('r', 'p')
ORDER BY c.relispartition, c.relname COLLATE "C"
"""

_COLUMNS: LiteralString = """
SELECT a.attrelid, a.attname, format_type(a.atttypid, a.atttypmod), a.attnotnull,
       a.attidentity, a.attgenerated, pg_get_expr(d.adbin, d.adrelid),
       col_description(a.attrelid, a.attnum),
       CASE WHEN a.attcollation <> 0 AND a.attcollation <> t.typcollation
            THEN (SELECT quote_ident(n.nspname) || '.' || quote_ident(co.collname)
                  FROM pg_collation co JOIN pg_namespace n ON n.oid = co.collnamespace
                  WHERE co.oid = a.attcollation) END,
       s.seqincrement, s.seqmin, s.seqmax, s.seqstart, s.seqcache, s.seqcycle
FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid
JOIN pg_type t ON t.oid = a.atttypid
LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
LEFT JOIN pg_depend dep ON a.attidentity <> '' AND dep.refclassid = 'pg_class'::regclass
     AND dep.refobjid = a.attrelid AND dep.refobjsubid = a.attnum AND dep.deptype = 'i'
     AND dep.classid = 'pg_class'::regclass
LEFT JOIN pg_sequence s ON s.seqrelid = dep.objid
WHERE c.relnamespace = to_regnamespace(%(schema)s) AND c.relkind IN ('r', 'p')
  AND a.attnum > 0 AND NOT a.attisdropped
ORDER BY a.attrelid, a.attnum
"""

# The constraints a table has of its own (not a partition's share of its parent's, not
# NOT NULL, which the column says); foreign keys last, once every table exists. The child
# of an inheritance is written as a plain table (the model has no inheritance), so it keeps
# the checks it inherits as its own.
_CONSTRAINTS: LiteralString = """
SELECT c.conrelid, c.conname, c.contype, pg_get_constraintdef(c.oid),
       obj_description(c.oid, 'pg_constraint'), c.convalidated
FROM pg_constraint c JOIN pg_class t ON t.oid = c.conrelid
WHERE t.relnamespace = to_regnamespace(%(schema)s) AND t.relkind IN ('r', 'p')
  AND c.contype IN ('p', 'u', 'c', 'x', 'f') AND (c.conislocal OR NOT t.relispartition)
  AND c.conparentid = 0
ORDER BY c.contype = 'f', c.conrelid, c.conname COLLATE "C"
"""

# Indexes that no constraint makes, and that are not a partition's share of its parent's.
# A partitioned table's prints as ``ON ONLY``: built without ONLY, it is built on each
# partition too, and valid, as it is now.
_INDEXES: LiteralString = """
SELECT ic.relname, pg_get_indexdef(i.indexrelid), obj_description(ic.oid, 'pg_class'),
       t.relkind = 'p', quote_ident(ic.relname), i.indisunique
FROM pg_index i JOIN pg_class ic ON ic.oid = i.indexrelid
JOIN pg_class t ON t.oid = i.indrelid
WHERE t.relnamespace = to_regnamespace(%(schema)s) AND t.relkind IN ('r', 'p')
  AND NOT EXISTS (SELECT FROM pg_constraint c WHERE c.conindid = i.indexrelid
                  AND c.conrelid = i.indrelid AND c.contype IN ('p', 'u', 'x'))
  AND NOT EXISTS (SELECT FROM pg_inherits h WHERE h.inhrelid = i.indexrelid)
ORDER BY t.relispartition, ic.relname COLLATE "C"
"""

# What the model holds nothing of, so the baseline cannot carry it.
_LEFT_OUT: LiteralString = """
SELECT kind || ' ' || name FROM (
  SELECT CASE c.relkind WHEN 'v' THEN 'view' WHEN 'm' THEN 'materialized view'
                        WHEN 'f' THEN 'foreign table' END AS kind, c.relname AS name
  FROM pg_class c WHERE c.relnamespace = to_regnamespace(%(schema)s)
    AND c.relkind IN ('v', 'm', 'f')
  UNION ALL
  SELECT CASE p.prokind WHEN 'p' THEN 'procedure' ELSE 'function' END, p.proname
  FROM pg_proc p WHERE p.pronamespace = to_regnamespace(%(schema)s)
    AND NOT EXISTS (SELECT FROM pg_depend d WHERE d.classid = 'pg_proc'::regclass
                    AND d.objid = p.oid AND d.deptype = 'e')
  UNION ALL
  SELECT 'trigger', tg.tgname || ' on ' || c.relname
  FROM pg_trigger tg JOIN pg_class c ON c.oid = tg.tgrelid
  WHERE c.relnamespace = to_regnamespace(%(schema)s) AND NOT tg.tgisinternal
  UNION ALL
  SELECT 'inheritance', c.relname || ' of ' || string_agg(p.relname, ', ' ORDER BY i.inhseqno)
  FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid JOIN pg_class p ON p.oid = i.inhparent
  WHERE c.relnamespace = to_regnamespace(%(schema)s) AND NOT c.relispartition
    AND c.relkind IN ('r', 'p')
  GROUP BY c.relname
  UNION ALL
  SELECT 'extension', x.extname || ' (create it before the baseline runs)'
  FROM pg_extension x WHERE x.extnamespace = to_regnamespace(%(schema)s)
  UNION ALL
  SELECT 'table', con.confrelid::regclass::text || ' (in another schema; referenced by '
         || quote_ident(con.conname) || ' of ' || quote_ident(c.relname) || ')'
  FROM pg_constraint con JOIN pg_class c ON c.oid = con.conrelid
  JOIN pg_class r ON r.oid = con.confrelid
  WHERE con.contype = 'f' AND c.relnamespace = to_regnamespace(%(schema)s)
    AND r.relnamespace <> to_regnamespace(%(schema)s) AND con.conparentid = 0
  UNION ALL
  SELECT DISTINCT 'type', format_type(t.oid, NULL) || ' (in another schema; used by '
         || quote_ident(c.relname) || ')'
  FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid JOIN pg_type u ON u.oid = a.atttypid
  JOIN pg_type t ON t.oid = CASE WHEN u.typcategory = 'A' THEN u.typelem ELSE u.oid END
  WHERE c.relnamespace = to_regnamespace(%(schema)s) AND c.relkind IN ('r', 'p')
    AND a.attnum > 0 AND NOT a.attisdropped
    AND t.typnamespace NOT IN (to_regnamespace(%(schema)s), 'pg_catalog'::regnamespace)
  UNION ALL
  SELECT 'policy', pol.polname || ' on ' || c.relname
  FROM pg_policy pol JOIN pg_class c ON c.oid = pol.polrelid
  WHERE c.relnamespace = to_regnamespace(%(schema)s)
  UNION ALL
  SELECT CASE t.typtype WHEN 'd' THEN 'domain' WHEN 'c' THEN 'composite type'
                        ELSE 'range type' END, t.typname
  FROM pg_type t WHERE t.typnamespace = to_regnamespace(%(schema)s)
    AND t.typtype IN ('d', 'r') OR (t.typnamespace = to_regnamespace(%(schema)s)
    AND t.typtype = 'c' AND EXISTS (SELECT FROM pg_class c WHERE c.oid = t.typrelid
                                    AND c.relkind = 'c'))
) found ORDER BY 1
"""


@dataclass(frozen=True, slots=True)
class Baseline:
    """The schema as DDL, and what it does not carry."""

    ddl: str
    tables: int
    left_out: tuple[str, ...]


def read_baseline(conn: psycopg.Connection[Any], schema: str) -> Baseline:
    """The DDL that builds ``schema`` as it is (read-only; the connection is left as found)."""
    with conn.transaction(force_rollback=True):
        conn.execute("SET TRANSACTION READ ONLY")
        conn.execute(f"SET LOCAL search_path TO {quote_ident(schema)}")
        params = {"schema": quote_ident(schema)}
        enums = _rows(conn, _ENUMS, params)
        sequences = _rows(conn, _SEQUENCES, params)
        tables = _rows(conn, _TABLES, params)
        columns = _grouped(_rows(conn, _COLUMNS, params))
        constraints = _rows(conn, _CONSTRAINTS, params)
        indexes = _rows(conn, _INDEXES, params)
        left_out = tuple(r[0] for r in _rows(conn, _LEFT_OUT, params))
    names = {row[0]: quote_ident(row[1]) for row in tables}
    # Foreign keys, and checks added NOT VALID (inside CREATE TABLE, PostgreSQL would mark
    # them valid), come after the tables, as they were added.
    later = [c for c in constraints if c[2] == "f" or not c[5]]
    own = _grouped(c for c in constraints if c[2] != "f" and c[5])
    statements = [*_enum_ddl(enums), *(_sequence_ddl(s) for s in sequences)]
    comments: list[str] = []
    for table in tables:
        statements.append(_table_ddl(table, columns.get(table[0], []), own.get(table[0], [])))
        if table[9] is not None:
            statements += _partition_columns(names[table[0]], columns.get(table[0], []),
                                             columns.get(table[9], []))
        comments += _comments(names[table[0]], table[7], columns.get(table[0], []))
    statements += [f"ALTER TABLE {names[c[0]]} ADD CONSTRAINT {quote_ident(c[1])} {c[3]}"
                   for c in later]
    statements += [_index_ddl(row) for row in indexes]
    statements += [f"ALTER SEQUENCE {quote_ident(s[0])} OWNED BY {s[8]}"
                   for s in sequences if s[8] is not None]
    comments += [f"COMMENT ON CONSTRAINT {quote_ident(c[1])} ON {names[c[0]]} IS "
                 f"{quote_literal(c[4])}" for c in constraints if c[4] is not None]
    comments += [f"COMMENT ON INDEX {quote_ident(i[0])} IS {quote_literal(i[2])}"
                 for i in indexes if i[2] is not None]
    ddl = "".join(f"{s};\n" for s in [*statements, *comments])
    return Baseline(ddl=ddl, tables=len(tables), left_out=left_out)


def _index_ddl(row: Row) -> str:
    """The index's statement; a partitioned table's without ``ONLY`` (see ``_INDEXES``).

    Only the ``ON ONLY`` right after the index's name: the name itself may hold those words
    (``"by city ON ONLY the parent"``).
    """
    definition, partitioned, quoted, unique = row[1], row[3], row[4], row[5]
    head = f"CREATE {'UNIQUE ' if unique else ''}INDEX {quoted} ON ONLY "
    if partitioned and definition.startswith(head):
        return f"{head.removesuffix('ONLY ')}{definition[len(head):]}"
    return str(definition)


def _rows(conn: psycopg.Connection[Any], query: LiteralString,
          params: dict[str, str]) -> list[Row]:
    return conn.execute(query, params).fetchall()


def _grouped(rows: Iterable[Row]) -> dict[Any, list[Row]]:
    found: dict[Any, list[Row]] = defaultdict(list)
    for row in rows:
        found[row[0]].append(row)
    return found


def _enum_ddl(enums: list[Row]) -> list[str]:
    return [f"CREATE TYPE {quote_ident(name)} AS ENUM "
            f"({', '.join(quote_literal(label) for label in labels)})" for name, labels in enums]


def _sequence_ddl(row: Row) -> str:
    name, kind, increment, low, high, start, cache, cycle = row[:8]
    return (f"CREATE SEQUENCE {quote_ident(name)} AS {kind} INCREMENT BY {increment} "
            f"MINVALUE {low} MAXVALUE {high} START WITH {start} CACHE {cache}"
            f"{' CYCLE' if cycle else ''}")


def _partition_columns(table: str, columns: list[Row], parent: list[Row]) -> list[str]:
    """What a partition's columns have of their own: ``PARTITION OF`` copies the parent's."""
    inherited = {row[1]: row for row in parent}
    found = []
    for row in columns:
        theirs = inherited.get(row[1])
        if theirs is None or row[5] in ("s", "v") or row[4] in ("a", "d"):
            continue
        column = f"ALTER TABLE {table} ALTER COLUMN {quote_ident(row[1])}"
        if row[6] != theirs[6]:
            found.append(f"{column} SET DEFAULT {row[6]}" if row[6] is not None
                         else f"{column} DROP DEFAULT")
        if row[3] and not theirs[3]:
            found.append(f"{column} SET NOT NULL")
    return found


_LIMITS = {"smallint": 32767, "integer": 2147483647, "bigint": 9223372036854775807}


def _identity_options(kind: str, row: Row) -> str:
    """An identity's sequence options that are not the defaults (``START WITH 1000``)."""
    increment, low, high, start, cache, cycle = row[9:15]
    if increment is None:
        return ""
    top = _LIMITS.get(kind, _LIMITS["bigint"])
    rising = increment > 0
    options = [f"INCREMENT BY {increment}"] if increment != 1 else []
    if low != (1 if rising else -top - 1):
        options.append(f"MINVALUE {low}")
    if high != (top if rising else -1):
        options.append(f"MAXVALUE {high}")
    if start != (low if rising else high):
        options.append(f"START WITH {start}")
    if cache != 1:
        options.append(f"CACHE {cache}")
    if cycle:
        options.append("CYCLE")
    return f" ({' '.join(options)})" if options else ""


def _column_ddl(row: Row) -> str:
    _, name, kind, not_null, identity, generated, default, _, collation = row[:9]
    parts = [quote_ident(name), kind]
    if collation is not None:
        parts.append(f"COLLATE {collation}")
    if generated in ("s", "v"):
        parts.append(f"GENERATED ALWAYS AS ({default}) "
                     f"{'STORED' if generated == 's' else 'VIRTUAL'}")
    elif identity in ("a", "d"):
        parts.append(f"GENERATED {'ALWAYS' if identity == 'a' else 'BY DEFAULT'} AS IDENTITY"
                     f"{_identity_options(kind, row)}")
    elif default is not None:
        parts.append(f"DEFAULT {default}")
    if not_null:
        parts.append("NOT NULL")
    return " ".join(parts)


def _table_ddl(table: Row, columns: list[Row], constraints: list[Row]) -> str:
    _, name, partitioned, is_partition, key, parent, bound, _, unlogged, _ = table
    elements = [f"CONSTRAINT {quote_ident(c[1])} {c[3]}" for c in constraints]
    head = f"CREATE {'UNLOGGED ' if unlogged else ''}TABLE {quote_ident(name)}"
    if is_partition:
        body = f" ({', '.join(elements)})" if elements else ""
        text = f"{head} PARTITION OF {parent}{body} {bound}"
    else:
        body = ",\n  ".join([*(_column_ddl(c) for c in columns), *elements])
        text = f"{head} (\n  {body}\n)"
    return f"{text} PARTITION BY {key}" if partitioned else text


def _comments(table: str, comment: str | None, columns: list[Row]) -> list[str]:
    found = [f"COMMENT ON TABLE {table} IS {quote_literal(comment)}"] if comment else []
    found += [f"COMMENT ON COLUMN {table}.{quote_ident(c[1])} IS {quote_literal(c[7])}"
              for c in columns if c[7] is not None]
    return found


# The ``up`` of a baseline of an empty schema: a statement (an empty ``up`` is refused when
# the file is read again, PGD102/PGD503) that changes nothing.
EMPTY = "-- the schema was empty when this baseline was taken\nSELECT 1;\n"


def baseline_migration(name: str, baseline: Baseline) -> ir.Migration:
    """The migration file's content: one ``sql`` operation whose ``up`` builds the schema.

    The ``up`` opens with the baseline's mark (``ir/baseline.py``): what it records exists
    already, so the safety lints, which advise an author, skip it.
    """
    up = ir.SqlScript(marked(baseline.ddl or EMPTY))
    return ir.Migration(name=name, operations=(ir.Sql(up=up),))


def create_baseline(runner: Runner, name: str,
                    write: Callable[[ir.Migration], Path]) -> tuple[Baseline, Path]:
    """Read the schema, ``write`` its migration file, then record the baseline (pgroll's row).

    Nothing in the schema changes. Refused while a migration is active or when ``name`` is
    in the history already; a file written for a baseline that could not be recorded is
    removed again. Returns what was read and where ``write`` put it.
    """
    with runner.exclusive():
        try:
            runner.require_init()
            active = runner.state.active()
            if active is not None:
                raise CommandError(f'cannot create a baseline while migration "{active.name}" '
                                   "is in progress; complete or roll it back first")
            if name in runner.state.history():
                raise CommandError(f'migration "{name}" is already in the history of schema '
                                   f'"{runner.state.schema}"')
            if runner.conn.execute("SELECT pg_catalog.to_regnamespace(%s) IS NULL",
                                   (quote_ident(runner.state.schema),)).fetchone() == (True,):
                # (A mistyped --schema read as an empty schema, and was recorded as one.)
                raise Unreachable(f"cannot read the schema: the database has no schema "
                                  f"{quote_ident(runner.state.schema)} (is --schema right?); "
                                  "nothing was recorded")
            baseline = read_baseline(runner.conn, runner.state.schema)
        except psycopg.Error as err:
            raise Unreachable(f"cannot read the schema: {first_line(err)}") from None
        migration = baseline_migration(name, baseline)
        path = write(migration)
        try:
            runner.state.record_baseline(name, to_document(migration))
        except psycopg.Error as err:
            path.unlink(missing_ok=True)
            raise CommandError(f"cannot record the baseline: {first_line(err)}") from None
        return baseline, path
