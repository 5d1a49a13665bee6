"""Partitioning in the catalog: how it is spelled, and partitions kept in step with parents.

Introspection reads a partitioned table's key with ``pg_get_partkeydef`` and a partition's
bound with ``pg_get_expr(relpartbound)``; replay reads them from the author's ``PARTITION BY``
and ``FOR VALUES``. Both go through the same parse and the same rendering here, so that the two
agree wherever the server's text and the author's mean the same:

* a key is ``STRATEGY (element, ...)``: a column name as ``quote_name`` spells it, or an
  expression as pglast prints it (in parentheses unless it is a function call), then
  ``COLLATE`` and the operator class when given;
* a bound is ``DEFAULT``, ``FOR VALUES WITH (modulus m, remainder r)``, ``FOR VALUES IN
  (...)`` or ``FOR VALUES FROM (...) TO (...)``, each value a quoted literal (``'1'``,
  ``'2026-01-01'``), ``NULL``, ``MINVALUE`` or ``MAXVALUE``. PostgreSQL prints an ``integer``
  bare and a ``bigint`` quoted; quoting every value makes the two spellings one. What replay
  cannot know is the server's own text for a value it converts (a ``timestamptz`` bound is
  printed in the server's time zone): such bounds differ in spelling only.

A partition carries its parent's columns: PostgreSQL adds, drops, renames and retypes them on
every partition with the parent. ``follow_parents`` makes that so after a change to the
catalog: each partition keeps its own column order (a table attached as a partition may have
another) and its own column comments, takes everything else from the parent's column of the
same physical name, drops what the parent no longer has and appends what it gained. An
identity belongs to the parent (PostgreSQL 17 and later also mark it on the partitions, 16
and earlier do not; the model does not, so both read the same).
"""

from __future__ import annotations

from dataclasses import replace

from pglast import ast, parse_sql, parser
from pglast.stream import RawStream

from pgroll_dsl import ir
from pgroll_dsl.catalog.model import Catalog, Column, Table
from pgroll_dsl.sql.expressions import column_references, same_expression
from pgroll_dsl.sql.quoting import quote_literal, quote_name

_STRATEGIES = {"r": "RANGE", "l": "LIST", "h": "HASH"}


# ---- spelling ----------------------------------------------------------------------------


def partition_key(spec: ast.PartitionSpec) -> str:
    """``RANGE (at)``: a ``PARTITION BY`` clause's strategy and key, in the model's spelling."""
    strategy = spec.strategy.value if spec.strategy is not None else ""
    elements = [_key_element(e) for e in spec.partParams or ()
                if isinstance(e, ast.PartitionElem)]
    return f"{_STRATEGIES.get(strategy, strategy.upper())} ({', '.join(elements)})"


def _key_element(element: ast.PartitionElem) -> str:
    if element.name:
        text = quote_name(element.name)
    else:
        text = _deparse(element.expr)
        if not isinstance(element.expr, ast.FuncCall):
            text = f"({text})"
    if element.collation:
        text += " COLLATE " + ".".join(quote_name(_sval(n)) for n in element.collation)
    if element.opclass:
        text += " " + ".".join(quote_name(_sval(n)) for n in element.opclass)
    return text


def partition_bound(bound: ast.PartitionBoundSpec) -> str:
    """``FOR VALUES ...`` or ``DEFAULT``, every value a quoted literal (see the module)."""
    if bound.is_default:
        return "DEFAULT"
    match bound.strategy:
        case "h":
            return f"FOR VALUES WITH (modulus {bound.modulus}, remainder {bound.remainder})"
        case "l":
            return f"FOR VALUES IN ({_values(bound.listdatums)})"
        case _:
            return (f"FOR VALUES FROM ({_values(bound.lowerdatums)}) "
                    f"TO ({_values(bound.upperdatums)})")


def _values(datums: tuple[ast.Node, ...] | None) -> str:
    return ", ".join(_value(d) for d in datums or ())


def _value(node: ast.Node) -> str:
    match node:
        case ast.A_Const(isnull=True):
            return "NULL"
        case ast.A_Const(val=ast.Boolean() as value):
            return quote_literal("true" if value.boolval else "false")
        case ast.A_Const(val=ast.Integer() as value):
            return quote_literal(str(value.ival))
        case ast.A_Const(val=ast.Float() as value):
            return quote_literal(str(value.fval))
        case ast.A_Const(val=ast.String() as value):
            return quote_literal(str(value.sval))
        case ast.TypeCast(arg=ast.A_Const() as constant):
            return _value(constant)
        case ast.ColumnRef(fields=(ast.String(sval=str() as word),)) if word.lower() in (
                "minvalue", "maxvalue"):
            return word.upper()
        case _:
            return _deparse(node)


def _deparse(node: object) -> str:
    return str(RawStream()(node)) if isinstance(node, ast.Node) else ""


def _sval(node: object) -> str:
    return str(getattr(node, "sval", node))


def key_from_server(text: str) -> str:
    """``pg_get_partkeydef``'s text in the model's spelling."""
    try:
        statement = parse_sql(f"CREATE TABLE _ () PARTITION BY {text}")[0].stmt
    except parser.ParseError:  # pragma: no cover - PostgreSQL's own output
        return text
    assert isinstance(statement, ast.CreateStmt) and statement.partspec is not None
    return partition_key(statement.partspec)


def bound_from_server(text: str) -> str:
    """``pg_get_expr(relpartbound)``'s text in the model's spelling."""
    try:
        statement = parse_sql(f"CREATE TABLE _ PARTITION OF _ {text}")[0].stmt
    except parser.ParseError:  # pragma: no cover - PostgreSQL's own output
        return text
    assert isinstance(statement, ast.CreateStmt) and statement.partbound is not None
    return partition_bound(statement.partbound)


def same_partition_key(a: str | None, b: str | None) -> bool:
    """Whether two keys mean the same: expressions compared by meaning, not spelling."""
    if a is None or b is None:
        return a is b
    parsed = [_elements(a), _elements(b)]
    if parsed[0] is None or parsed[1] is None:
        return a == b
    (strategy_a, elements_a), (strategy_b, elements_b) = parsed[0], parsed[1]
    return strategy_a == strategy_b and len(elements_a) == len(elements_b) and all(
        x[1:] == y[1:] and same_expression(x[0], y[0])
        for x, y in zip(elements_a, elements_b, strict=True))


def _elements(text: str) -> tuple[str, list[tuple[str, str, str]]] | None:
    try:
        statement = parse_sql(f"CREATE TABLE _ () PARTITION BY {text}")[0].stmt
    except parser.ParseError:
        return None
    assert isinstance(statement, ast.CreateStmt) and statement.partspec is not None
    spec = statement.partspec
    elements = [(quote_name(e.name) if e.name else _deparse(e.expr),
                 ".".join(_sval(n) for n in e.collation or ()),
                 ".".join(_sval(n) for n in e.opclass or ()))
                for e in spec.partParams or () if isinstance(e, ast.PartitionElem)]
    return str(spec.strategy), elements


def key_columns(text: str) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """The columns a partition key names: ``(plain key columns, columns in expressions)``."""
    try:
        statement = parse_sql(f"CREATE TABLE _ () PARTITION BY {text}")[0].stmt
    except parser.ParseError:
        return (), ()
    assert isinstance(statement, ast.CreateStmt) and statement.partspec is not None
    plain: list[str] = []
    within: list[str] = []
    for element in statement.partspec.partParams or ():
        if not isinstance(element, ast.PartitionElem):
            continue
        if element.name:
            plain.append(element.name)
        else:
            within.extend(r.name for r in column_references(_deparse(element.expr))
                          if r.qualifier is None)
    return tuple(plain), tuple(dict.fromkeys(within))


def keyed_tables(catalog: Catalog, name: str) -> tuple[Table, ...]:
    """The table ``name`` and its partitions at every depth that are partitioned."""
    table = catalog.table(name)
    if table is None:
        return ()
    found = [table] if table.partitioned else []
    for partition in catalog.partitions(name):
        found.extend(keyed_tables(catalog, partition.name))
    return tuple(found)


def partition_key_columns(catalog: Catalog, name: str) -> set[str]:
    """The columns of table ``name``'s partition key and of its partitioned partitions' keys."""
    found: set[str] = set()
    for keyed in keyed_tables(catalog, name):
        assert keyed.partition_by is not None
        plain, within = key_columns(keyed.partition_by)
        found |= {*plain, *within}
    return found


def kept_key_columns(catalog: Catalog, table: Table, kind: ir.ConstraintType,
                     columns: tuple[str, ...]) -> set[str]:
    """The columns of a partitioned table's unique or primary key that are not copied.

    PostgreSQL requires every partition key column in a unique key of a partitioned table,
    and can neither drop one nor change its type: a key made or dropped through copies of its
    columns (``create_constraint``, ``drop_constraint``) copies its other columns only, and
    the key's copy is over those copies and the partition key columns themselves.
    """
    if not table.partitioned or kind not in (ir.ConstraintType.UNIQUE,
                                             ir.ConstraintType.PRIMARY_KEY):
        return set()
    return set(columns) & partition_key_columns(catalog, table.name)


# ---- partitions follow their parents -----------------------------------------------------


def follow_parents(catalog: Catalog, before: Catalog | None = None) -> Catalog:
    """Every partition with its parent's columns (see the module); parents first.

    ``before``: the catalog before the change, which tells a default or NOT NULL the change
    set on the parent (PostgreSQL sets it on every partition too) from one a partition has
    of its own (kept).
    """
    if not any(t.partition_of is not None for t in catalog.tables):
        return catalog
    done: set[str] = set()
    for table in catalog.tables:
        catalog = _follow(catalog, table.name, done, before)
    return catalog


def _follow(catalog: Catalog, name: str, done: set[str], before: Catalog | None) -> Catalog:
    if name in done:
        return catalog
    done.add(name)
    table = catalog.table(name)
    if table is None or table.partition_of is None:
        return catalog
    catalog = _follow(catalog, table.partition_of, done, before)
    parent = catalog.table(table.partition_of)
    if parent is None:
        return catalog
    previous = before.table(table.partition_of) if before is not None else None
    columns = partition_columns(parent, table.columns, previous)
    if columns == table.columns:
        return catalog
    return catalog.with_table(replace(table, columns=columns))


def partition_columns(parent: Table, own: tuple[Column, ...] = (),
                      previous: Table | None = None) -> tuple[Column, ...]:
    """A partition's columns: its own order and comments, the rest its parent's.

    A default or NOT NULL stays the partition's own where ``previous`` (the parent before
    the change) had the same as the parent has now: ``ALTER TABLE <partition> ALTER ...
    SET DEFAULT`` changes the partition alone, the same on the parent changes every
    partition, and an attached table keeps its own.
    """
    by_physical = {c.physical: c for c in parent.columns}
    before = {c.physical: c for c in previous.columns} if previous is not None else {}
    kept = []
    for column in own:
        source = by_physical.pop(column.physical, None)
        if source is not None:
            now = replace(source, identity=None, comment=column.comment)
            was = before.get(column.physical)
            if was is not None and was.default == source.default:
                now = replace(now, default=column.default)
            if was is not None and was.nullable == source.nullable:
                now = replace(now, nullable=column.nullable)
            kept.append(now)
    kept.extend(replace(c, identity=None, comment=None) for c in by_physical.values())
    return tuple(kept)


def with_partitions_dropped(catalog: Catalog, name: str) -> Catalog:
    """Without the partitions of table ``name``, at every depth (they go with the parent)."""
    for partition in catalog.partitions(name):
        catalog = with_partitions_dropped(catalog, partition.name).without_table(partition.name)
    return catalog


def with_parent_renamed(catalog: Catalog, old: str, new: str) -> Catalog:
    """Partitions of table ``old`` name ``new`` as their parent."""
    tables = tuple(replace(t, partition_of=new) if t.partition_of == old else t
                   for t in catalog.tables)
    return replace(catalog, tables=tables)
