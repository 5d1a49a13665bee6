"""Live introspection: the ``Catalog`` of one schema of a running PostgreSQL database.

Replay of migrations (``Catalog.apply``) says what the schema *should* be; introspection says
what it *is*, so the two can be compared and a database that was not built by pgroll can be
taken as a starting point. Both must produce the same model for the same DDL wherever the
model allows it, hence the choices below:

* Everything is read from ``pg_catalog`` (not ``information_schema``, which hides what the
  current role does not own), in one read-only transaction that is always rolled back, so a
  caller's connection is left as it was found (a savepoint when it is inside a transaction).
* ``search_path`` is set to the target schema alone for that transaction, so ``format_type``,
  ``pg_get_expr`` and ``regclass`` print names of the target schema unqualified, as replay
  writes them, and qualify names of every other schema.
* Expressions are deparsed in PostgreSQL's "pretty" mode (no redundant parentheses), which is
  the spelling closest to what authors write; they are still PostgreSQL's normalised text.
* Output order is fixed (names sorted by code point, columns by attribute number), so two
  introspections of the same database give equal catalogs and identical snapshots.
* Indexes are read whole from the structured catalog (INCLUDE columns, ``reloptions``,
  tablespace, NULLS NOT DISTINCT, exclusion operators), but for each key's operator class,
  collation and order, which are parsed out of ``pg_get_indexdef``: whether an operator
  class is the default one for a key is PostgreSQL's own decision, and its printed
  definition is where it says so (see ``index_keys``).
* Partitioning: a partitioned table's key (``pg_get_partkeydef``), a partition's parent
  (``pg_inherits``, in the same schema) and bound (``pg_get_expr(relpartbound)``), spelled as
  ``catalog.partitions`` spells what replay reads. A partition's constraints and indexes are
  only its own: those it has as its share of its parent's (``conparentid``, a check merged
  from the parent, an index attached to the parent's) are the parent's in the model, and an
  identity is the parent's too (PostgreSQL 17+ marks it on partitions as well).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import replace
from typing import Any, LiteralString, TypeVar

import psycopg
from pglast import ast, parse_sql, parser
from psycopg.rows import tuple_row

from pgroll_dsl.catalog.derived import PASSED_PREFIX, WRITES_PREFIX
from pgroll_dsl.catalog.index_keys import element_options, spelled_operator
from pgroll_dsl.catalog.model import (
    Catalog,
    Column,
    Constraint,
    EnumType,
    ExclusionElement,
    ForeignKey,
    InboundForeignKey,
    Index,
    KeyOptions,
    Routines,
    Sequence,
    Table,
)
from pgroll_dsl.catalog.partitions import bound_from_server, key_from_server
from pgroll_dsl.ir import ConstraintType, ForeignKeyAction, IdentityValues, MatchType

Row = tuple[Any, ...]
Named = TypeVar("Named", Constraint, Index)
Cursor = psycopg.Cursor[Row]

SOURCE = "live database"
# PostgreSQL 15 added ON DELETE SET NULL (columns) and UNIQUE NULLS NOT DISTINCT.
_PG15 = 150000

_IDENTITY = {"a": IdentityValues.ALWAYS, "d": IdentityValues.BY_DEFAULT}
_CONSTRAINT_TYPES = {
    "p": ConstraintType.PRIMARY_KEY,
    "u": ConstraintType.UNIQUE,
    "c": ConstraintType.CHECK,
    "f": ConstraintType.FOREIGN_KEY,
    "x": ConstraintType.EXCLUDE,
}
_FK_ACTIONS = {
    "a": ForeignKeyAction.NO_ACTION,
    "r": ForeignKeyAction.RESTRICT,
    "c": ForeignKeyAction.CASCADE,
    "n": ForeignKeyAction.SET_NULL,
    "d": ForeignKeyAction.SET_DEFAULT,
}
_MATCH_TYPES = {"f": MatchType.FULL, "p": MatchType.PARTIAL, "s": MatchType.SIMPLE}
_REPLICA_IDENTITY = {"d": "default", "n": "nothing", "f": "full", "i": "index"}

# A partition's parent is named only when it is in the same schema (the model's tables are).
_TABLES = """
SELECT c.oid, c.relname, obj_description(c.oid, 'pg_class'), c.relreplident,
       CASE WHEN c.relkind = 'p' THEN pg_get_partkeydef(c.oid) END,
       (SELECT p.relname FROM pg_inherits i JOIN pg_class p ON p.oid = i.inhparent
         WHERE i.inhrelid = c.oid AND c.relispartition AND p.relnamespace = c.relnamespace),
       CASE WHEN c.relispartition THEN pg_get_expr(c.relpartbound, c.oid) END
FROM pg_class c
JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE n.nspname = %s AND c.relkind IN ('r', 'p')
"""

_COLUMNS = """
SELECT a.attrelid, a.attname, format_type(a.atttypid, a.atttypmod), a.attnotnull,
       pg_get_expr(d.adbin, d.adrelid, true), a.attgenerated, a.attidentity,
       col_description(a.attrelid, a.attnum)
FROM pg_attribute a
JOIN pg_class c ON c.oid = a.attrelid
JOIN pg_namespace n ON n.oid = c.relnamespace
LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
WHERE n.nspname = %s AND c.relkind IN ('r', 'p') AND a.attnum > 0 AND NOT a.attisdropped
ORDER BY a.attrelid, a.attnum
"""

# Attribute numbers to names, keeping the order of the array (0, an expression, is dropped).
_CONSTRAINT_COLUMNS = """
SELECT con.conrelid, con.conname, con.contype,
       ARRAY(SELECT a.attname FROM unnest(con.conkey) WITH ORDINALITY AS k(attnum, ord)
             JOIN pg_attribute a ON a.attrelid = con.conrelid AND a.attnum = k.attnum
             ORDER BY k.ord),
       ref.relname,
       ARRAY(SELECT a.attname FROM unnest(con.confkey) WITH ORDINALITY AS k(attnum, ord)
             JOIN pg_attribute a ON a.attrelid = con.confrelid AND a.attnum = k.attnum
             ORDER BY k.ord),
       con.confdeltype, con.confupdtype, con.confmatchtype,
"""
_DELETE_SET_COLUMNS_15 = """
       ARRAY(SELECT a.attname FROM unnest(con.confdelsetcols) WITH ORDINALITY AS k(attnum, ord)
             JOIN pg_attribute a ON a.attrelid = con.conrelid AND a.attnum = k.attnum
             ORDER BY k.ord),
"""
_DELETE_SET_COLUMNS_14 = """
       ARRAY[]::name[],
"""
_CONSTRAINT_FLAGS = """
       con.connoinherit, con.convalidated, con.condeferrable, con.condeferred,
       pg_get_expr(con.conbin, con.conrelid, true), pg_get_constraintdef(con.oid, true),
       am.amname, pg_get_expr(i.indpred, i.indrelid, true), ic.relname,
       ARRAY(SELECT ARRAY[opn.nspname::text, op.oprname::text]
             FROM unnest(con.conexclop) WITH ORDINALITY AS x(oid, ord)
             JOIN pg_operator op ON op.oid = x.oid
             JOIN pg_namespace opn ON opn.oid = op.oprnamespace
             ORDER BY x.ord),
"""
_NULLS_NOT_DISTINCT_15 = """
       coalesce(i.indnullsnotdistinct, false)
"""
_NULLS_NOT_DISTINCT_14 = """
       false
"""
# The referenced table's schema, last: a foreign key may point at another schema's table.
_CONSTRAINT_FROM = """
       , refn.nspname
FROM pg_constraint con
JOIN pg_class c ON c.oid = con.conrelid
JOIN pg_namespace n ON n.oid = c.relnamespace
LEFT JOIN pg_class ref ON ref.oid = con.confrelid
LEFT JOIN pg_namespace refn ON refn.oid = ref.relnamespace
LEFT JOIN pg_index i ON i.indexrelid = con.conindid AND con.contype IN ('p', 'u', 'x')
LEFT JOIN pg_class ic ON ic.oid = i.indexrelid
LEFT JOIN pg_am am ON am.oid = ic.relam
WHERE n.nspname = %s AND c.relkind IN ('r', 'p') AND con.contype IN ('p', 'u', 'c', 'f', 'x')
  AND con.conparentid = 0 AND (con.conislocal OR NOT c.relispartition)
"""

# Foreign keys of other schemas' tables to this one's: the same leading columns as above,
# then the flags a copy keeps and where the referencing table is.
_INBOUND_FROM = """
       con.connoinherit, con.convalidated, con.condeferrable, con.condeferred,
       n.nspname, c.relname
FROM pg_constraint con
JOIN pg_class c ON c.oid = con.conrelid
JOIN pg_namespace n ON n.oid = c.relnamespace
JOIN pg_class ref ON ref.oid = con.confrelid
JOIN pg_namespace refn ON refn.oid = ref.relnamespace
WHERE con.contype = 'f' AND refn.nspname = %s AND n.nspname <> refn.nspname
  AND con.conparentid = 0 AND (con.conislocal OR NOT c.relispartition)
ORDER BY n.nspname, c.relname, con.conname
"""

# Key columns (expression keys as PostgreSQL prints them), then the INCLUDE columns; the
# whole definition, whose elements give the keys' collations and operator classes.
_INDEXES = """
SELECT i.indrelid, ic.relname, i.indisunique, am.amname,
       pg_get_expr(i.indpred, i.indrelid, true), i.indisvalid, i.indisreplident, con.conname,
       ARRAY(SELECT CASE WHEN k.attnum <> 0 THEN a.attname::text
                         ELSE pg_get_indexdef(i.indexrelid, k.ord::int, true) END
             FROM unnest(i.indkey) WITH ORDINALITY AS k(attnum, ord)
             LEFT JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.attnum
             WHERE k.ord <= i.indnkeyatts
             ORDER BY k.ord),
       ARRAY(SELECT a.attname::text
             FROM unnest(i.indkey) WITH ORDINALITY AS k(attnum, ord)
             JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.attnum
             WHERE k.ord > i.indnkeyatts
             ORDER BY k.ord),
       coalesce(ic.reloptions, '{}'), ts.spcname, pg_get_indexdef(i.indexrelid, 0, true),
"""
_INDEX_NULLS_NOT_DISTINCT_15 = """
       i.indnullsnotdistinct
"""
_INDEXES_FROM = """
FROM pg_index i
JOIN pg_class c ON c.oid = i.indrelid
JOIN pg_namespace n ON n.oid = c.relnamespace
JOIN pg_class ic ON ic.oid = i.indexrelid
JOIN pg_am am ON am.oid = ic.relam
LEFT JOIN pg_tablespace ts ON ts.oid = ic.reltablespace
LEFT JOIN pg_constraint con
       ON con.conindid = i.indexrelid AND con.conrelid = i.indrelid
      AND con.contype IN ('p', 'u', 'x')
WHERE n.nspname = %s AND c.relkind IN ('r', 'p') AND NOT ic.relispartition
"""

_ENUMS = """
SELECT t.typname,
       ARRAY(SELECT e.enumlabel::text FROM pg_enum e WHERE e.enumtypid = t.oid
             ORDER BY e.enumsortorder)
FROM pg_type t
JOIN pg_namespace n ON n.oid = t.typnamespace
WHERE n.nspname = %s AND t.typtype = 'e'
"""

# 'a': the sequence of a serial column (OWNED BY); 'i': the sequence of an identity column.
_SEQUENCES = """
SELECT s.relname, t.relname, a.attname
FROM pg_class s
JOIN pg_namespace n ON n.oid = s.relnamespace
LEFT JOIN pg_depend d
       ON d.classid = 'pg_class'::regclass AND d.objid = s.oid
      AND d.refclassid = 'pg_class'::regclass AND d.refobjsubid > 0
      AND d.deptype IN ('a', 'i')
LEFT JOIN pg_class t ON t.oid = d.refobjid
LEFT JOIN pg_attribute a ON a.attrelid = d.refobjid AND a.attnum = d.refobjsubid
WHERE n.nspname = %s AND s.relkind = 'S'
"""

# User-defined routines, for the type checks (``Routines``): every schema but PostgreSQL's
# own, as a call or an operator may resolve to any schema on the search path. Trigger and
# event trigger functions are left out: an expression cannot call them, and pgroll creates
# its own. Casts: pg_cast rows made after initdb (FirstNormalObjectId is 16384).
_SYSTEM_SCHEMAS = """
n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg\\_toast%'
AND n.nspname NOT LIKE 'pg\\_temp\\_%'
"""
_FUNCTIONS = ("""
SELECT DISTINCT p.proname FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
WHERE p.prorettype NOT IN ('trigger'::regtype, 'event_trigger'::regtype) AND"""
              + _SYSTEM_SCHEMAS)
_OPERATORS = ("""
SELECT DISTINCT o.oprname FROM pg_operator o JOIN pg_namespace n ON n.oid = o.oprnamespace
WHERE""" + _SYSTEM_SCHEMAS)
_CASTS = """
SELECT format_type(castsource, NULL), format_type(casttarget, NULL) FROM pg_cast
WHERE oid >= 16384
"""
_EXTENSIONS = "SELECT EXISTS (SELECT FROM pg_extension WHERE extname <> 'plpgsql')"


def introspect(conn: psycopg.Connection[Any], schema: str = "public") -> Catalog:
    """Read one schema of a live database into a ``Catalog``.

    The reads run in a read-only transaction (a savepoint if ``conn`` is already inside a
    transaction) that is rolled back, so the connection is left in the state it was in.

    Args:
        conn: An open connection, in autocommit mode or not; it must not be in a failed
            transaction.
        schema: The schema to read; objects of other schemas are ignored.

    Returns:
        The schema's tables (relkind ``r`` and ``p``), enum types and sequences, with
        ``source`` set to ``"live database"``, and the database's user-defined routines
        (``Routines``: four cheap queries, every schema, for the type checks).
    """
    with _reading(conn) as cur:
        cur.execute("SELECT set_config('search_path', quote_ident(%s), true)", [schema])
        version = conn.info.server_version
        return Catalog(
            schema=schema,
            tables=_tables(cur, schema, version),
            enums=_enums(cur, schema),
            sequences=_sequences(cur, schema),
            source=SOURCE,
            routines=_routines(cur),
            inbound=_inbound(cur, schema, version),
        )


def _fetch(cur: Cursor, query: LiteralString, schema: str) -> list[Row]:
    cur.execute(query, [schema])
    return cur.fetchall()


def _by_table(rows: Iterable[Row]) -> dict[int, list[Row]]:
    """Group rows whose first value is the table's oid; row order is kept."""
    grouped: dict[int, list[Row]] = defaultdict(list)
    for row in rows:
        grouped[row[0]].append(row)
    return grouped


def _tables(cur: Cursor, schema: str, version: int) -> tuple[Table, ...]:
    columns = _by_table(_fetch(cur, _COLUMNS, schema))
    constraints = _by_table(_fetch(cur, _constraints_query(version), schema))
    indexes = _by_table(_fetch(cur, _indexes_query(version), schema))
    tables = []
    for oid, name, comment, replident, key, parent, bound in _fetch(cur, _TABLES, schema):
        table_indexes = indexes.get(oid, [])
        by_name = {index.name: index for index in (_index(row, schema) for row in table_indexes)}
        own_columns = tuple(_column(row) for row in columns.get(oid, []))
        tables.append(Table(
            name=name,
            # An identity is the parent's (PostgreSQL 17+ marks it on partitions too).
            columns=tuple(replace(c, identity=None) for c in own_columns) if parent
            else own_columns,
            constraints=_sorted_by_name(_constraint(row, by_name, schema)
                                        for row in constraints.get(oid, [])),
            indexes=_sorted_by_name(by_name.values()),
            comment=comment,
            replica_identity=_REPLICA_IDENTITY[replident],
            replica_identity_index=_replica_identity_index(replident, table_indexes),
            partition_by=key_from_server(key) if key is not None else None,
            partition_of=parent,
            partition_bound=bound_from_server(bound) if parent and bound is not None else None,
        ))
    return tuple(sorted(tables, key=lambda t: t.name))


def _sorted_by_name(items: Iterable[Named]) -> tuple[Named, ...]:
    return tuple(sorted(items, key=lambda item: item.name))


def _column(row: Row) -> Column:
    _, name, type_, notnull, expression, generated, identity, comment = row
    return Column(
        name=name,
        type=type_,
        nullable=not notnull,
        default=_expression(expression) if not generated else None,
        comment=comment,
        identity=_IDENTITY.get(identity),
        generated=_expression(expression) if generated else None,
    )


def _expression(text: str | None) -> str | None:
    """Pretty-printed expressions may start with a line break (``CASE``); drop it."""
    return text.strip() if text is not None else None


def _constraints_query(version: int) -> LiteralString:
    modern = version >= _PG15
    return (
        _CONSTRAINT_COLUMNS
        + (_DELETE_SET_COLUMNS_15 if modern else _DELETE_SET_COLUMNS_14)
        + _CONSTRAINT_FLAGS
        + (_NULLS_NOT_DISTINCT_15 if modern else _NULLS_NOT_DISTINCT_14)
        + _CONSTRAINT_FROM
    )


def _inbound(cur: Cursor, schema: str, version: int) -> tuple[InboundForeignKey, ...]:
    """Other schemas' foreign keys to this schema's tables (``InboundForeignKey``)."""
    query = (_CONSTRAINT_COLUMNS
             + (_DELETE_SET_COLUMNS_15 if version >= _PG15 else _DELETE_SET_COLUMNS_14)
             + _INBOUND_FROM)
    found = []
    for row in _fetch(cur, query, schema):
        _, name, _, columns, *_, validated, deferrable, deferred, owner, table = row
        found.append(InboundForeignKey(schema=owner, table=table, constraint=Constraint(
            name=name, type=ConstraintType.FOREIGN_KEY, columns=tuple(columns),
            references=_foreign_key(row, None), deferrable=deferrable,
            initially_deferred=deferred, validated=validated)))
    return tuple(found)


def _indexes_query(version: int) -> LiteralString:
    modern = version >= _PG15
    return (_INDEXES + (_INDEX_NULLS_NOT_DISTINCT_15 if modern else _NULLS_NOT_DISTINCT_14)
            + _INDEXES_FROM)


def _constraint(row: Row, indexes: dict[str, Index], schema: str) -> Constraint:
    (_, name, contype, columns, _ref_table, _ref_columns, _on_delete, _on_update, _match,
     _set_columns, no_inherit, validated, deferrable, deferred, check, definition, method,
     predicate, index_name, operators, nulls_not_distinct, ref_schema) = row
    type_ = _CONSTRAINT_TYPES[contype]
    exclusion = type_ is ConstraintType.EXCLUDE
    constraint = Constraint(
        name=name,
        type=type_,
        columns=tuple(columns),
        expression=_expression(check) if type_ is ConstraintType.CHECK
        else _exclusion_elements(definition) if exclusion else None,
        references=_foreign_key(row, None if ref_schema == schema else ref_schema)
        if type_ is ConstraintType.FOREIGN_KEY else None,
        method=method if exclusion else None,
        predicate=_expression(predicate) if exclusion else None,
        # PostgreSQL flags every key and foreign key "no inherit"; only checks can choose.
        no_inherit=no_inherit and type_ is ConstraintType.CHECK,
        nulls_not_distinct=nulls_not_distinct and type_ is ConstraintType.UNIQUE,
        deferrable=deferrable,
        initially_deferred=deferred,
        validated=validated,
    )
    index = indexes.get(index_name) if index_name is not None else None
    return _with_index(constraint, index, operators, schema) if index is not None else constraint


def _with_index(constraint: Constraint, index: Index, operators: list[list[str]],
                schema: str) -> Constraint:
    """What a key or exclusion constraint's definition takes from its index."""
    elements = tuple(
        ExclusionElement(key=key, operator=spelled_operator(operator, schema),
                         options=index.options(position))
        for position, (key, operator) in enumerate(zip(index.columns, operators, strict=False))
    )
    return replace(constraint, elements=elements, include=index.include,
                   storage_parameters=index.storage_parameters, tablespace=index.tablespace)


def _foreign_key(row: Row, schema: str | None) -> ForeignKey:
    """The referenced side; ``schema`` where it is not the introspected schema."""
    _, _, _, _, table, columns, on_delete, on_update, match, set_columns, *_ = row
    return ForeignKey(
        schema=schema,
        table=table,
        columns=tuple(columns),
        on_delete=_FK_ACTIONS[on_delete],
        on_update=_FK_ACTIONS[on_update],
        match_type=_MATCH_TYPES[match],
        on_delete_set_columns=tuple(set_columns),
    )


def _exclusion_elements(definition: str) -> str:
    """The element list of ``EXCLUDE USING m (<elements>) ...``, as PostgreSQL prints it."""
    start = _next_open_paren(definition, 0)
    end = _matching_paren(definition, start)
    return definition[start + 1 : end]


def _next_open_paren(text: str, start: int) -> int:
    quote = ""
    for position in range(start, len(text)):
        char = text[position]
        if quote:
            quote = "" if char == quote else quote  # a doubled quote reopens at once
        elif char in "'\"":
            quote = char
        elif char == "(":
            return position
    raise ValueError(f"no parenthesis in {text!r}")


def _matching_paren(text: str, start: int) -> int:
    """The index of the ``)`` closing the ``(`` at ``start``; quotes are skipped."""
    depth = 0
    quote = ""
    for position in range(start, len(text)):
        char = text[position]
        if quote:
            quote = "" if char == quote else quote
        elif char in "'\"":
            quote = char
        elif char == "(":
            depth += 1
        elif char == ")":
            depth -= 1
            if depth == 0:
                return position
    raise ValueError(f"unbalanced parentheses in {text!r}")


def _index(row: Row, schema: str) -> Index:
    (_, name, unique, method, predicate, valid, _replident, constraint, columns, include,
     options, tablespace, definition, nulls_not_distinct) = row
    return Index(
        name=name,
        columns=tuple(columns),
        key_options=_key_options(definition, len(columns), schema),
        unique=unique,
        method=method,
        include=tuple(include),
        nulls_not_distinct=nulls_not_distinct,
        storage_parameters=tuple(options),
        tablespace=tablespace,
        predicate=_expression(predicate),
        valid=valid,
        constraint=constraint,
    )


def _key_options(definition: str, keys: int, schema: str) -> tuple[KeyOptions, ...]:
    """Each key's collation, operator class and order, read from ``pg_get_indexdef``.

    PostgreSQL prints an operator class only when it is not the key type's default and a
    collation only when it is not the key's own; which one that is takes its own catalog
    logic (binary-compatible types, polymorphic classes, storage types), so its printed
    definition is parsed, with the parser replay uses for the author's ``CREATE INDEX``.
    """
    try:
        statement = parse_sql(definition)[0].stmt
    except parser.ParseError:  # pragma: no cover - PostgreSQL's own output
        return ()
    if not isinstance(statement, ast.IndexStmt):
        return ()
    elements = [e for e in statement.indexParams or () if isinstance(e, ast.IndexElem)]
    if len(elements) != keys:
        return ()
    return tuple(element_options(e, schema) for e in elements)


def _replica_identity_index(replident: str, indexes: list[Row]) -> str | None:
    if replident != "i":
        return None
    return next((str(row[1]) for row in indexes if row[6]), None)


def _enums(cur: Cursor, schema: str) -> tuple[EnumType, ...]:
    enums = (EnumType(name=name, labels=tuple(labels))
             for name, labels in _fetch(cur, _ENUMS, schema))
    return tuple(sorted(enums, key=lambda e: e.name))


def _sequences(cur: Cursor, schema: str) -> tuple[Sequence, ...]:
    """The schema's sequences but a backfill watch's counts (a migration's, not the user's)."""
    sequences = (Sequence(name=name, owned_by_table=table, owned_by_column=column)
                 for name, table, column in _fetch(cur, _SEQUENCES, schema)
                 if not name.startswith((WRITES_PREFIX, PASSED_PREFIX)))
    return tuple(sorted(sequences, key=lambda s: s.name))


def _routines(cur: Cursor) -> Routines:
    cur.execute(_EXTENSIONS)
    row = cur.fetchone()
    if row is not None and row[0]:
        return Routines(opaque=True)
    return _listed(cur)


def defined_routines(conn: psycopg.Connection[Any]) -> Routines:
    """Every user routine of the database, listed even where an extension is installed.

    ``introspect`` calls the routines opaque then, for the type checks; a saved plan asks
    which names a database defines (``backends/saved_plan.py``), and the catalog lists an
    extension's functions, operators and casts like any other.
    """
    with _reading(conn) as cur:
        return _listed(cur)


@contextmanager
def _reading(conn: psycopg.Connection[Any]) -> Iterator[Cursor]:
    """A cursor in a read-only transaction (a savepoint inside one) that is rolled back."""
    with conn.transaction(force_rollback=True):
        cur = conn.cursor(row_factory=tuple_row)
        cur.execute("SET TRANSACTION READ ONLY")
        yield cur


def _listed(cur: Cursor) -> Routines:
    cur.execute(_FUNCTIONS)
    functions = frozenset(str(name) for (name,) in cur.fetchall())
    cur.execute(_OPERATORS)
    operators = frozenset(str(name) for (name,) in cur.fetchall())
    cur.execute(_CASTS)
    casts = frozenset((str(source), str(target)) for source, target in cur.fetchall())
    return Routines(functions=functions, operators=operators, casts=casts)
