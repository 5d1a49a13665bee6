"""Replay of raw ``sql`` operations: the DDL inside them, applied to the catalog model.

pgroll runs the ``up`` of a ``sql`` operation as written, so a replay of migration history
without a database only knows the schema afterwards if it understands that SQL. This module
parses it with PostgreSQL's own parser (pglast) and applies each statement as PostgreSQL
would, building model values exactly as ``Catalog.apply`` builds them for the equivalent
pgroll operation, so SQL and DSL that mean the same thing give equal catalogs.

Decisions, and why:

* **Author text, not regenerated text.** Defaults, checks, generated expressions,
  predicates, exclusion elements and index expressions are sliced out of the statement with
  the token positions of pglast's scanner (character offsets, as pglast gives for AST nodes),
  so they equal what the DSL stores for the same expression. Only where a node carries no
  position to anchor the slice (an ``ALTER TABLE`` whose subcommands could not be told
  apart, a constraint without a location) is the text regenerated with
  ``pglast.stream.RawStream``.
* **PostgreSQL's names.** Unnamed constraints, indexes and sequences get the names
  PostgreSQL chooses (``ChooseConstraintName`` / ``ChooseRelationName``): the 63-byte
  truncation of ``makeObjectName``, a number appended on a clash with a name the catalog
  holds, check constraints named after the one column their expression uses (``t_c_check``)
  or after the table alone (``t_check``), INCLUDE columns in unique names, identical
  primary key / unique specifications of one ``CREATE TABLE`` merged, and the order in which
  PostgreSQL names them (sequences, checks, indexes with the primary key first, foreign
  keys). The rules were checked against a real server (see the tests).
* **Names as the database has them.** SQL names physical objects; they are looked up as the
  model's (virtual) names, which are the same outside an active migration, and pgroll runs
  a ``sql`` operation either alone or at complete. What the model does not hold (storage
  parameters, tablespaces, INCLUDE columns, operator classes, collations, sequence options)
  is passed over without a warning; column and constraint lists follow ``Catalog.apply``.
* **History succeeded.** Every statement is taken to have run, so PostgreSQL's CASCADE
  effects are applied whenever the model shows dependants: foreign keys to a dropped table
  or column go, columns of a dropped enum type go, a constraint goes with its index.
* **One schema.** Objects qualified with another schema than ``catalog.schema``, and
  temporary tables, are outside the model: statements about them change nothing and give no
  warning, because the modelled schema is exactly right afterwards. ``SET search_path`` does
  get a warning: replay keeps reading unqualified names as ``catalog.schema``.
* **Warnings, not errors.** A statement that cannot be interpreted leaves the catalog as it
  was (an ``ALTER TABLE`` keeps the subcommands that could be applied) and gives one warning
  naming the statement. DML, transaction control, session settings and maintenance
  commands change nothing in the model and are silently fine; anything else that is not a
  table, type, index or sequence change (functions, views, grants, extensions...) warns,
  since the model cannot say whether it mattered.
"""

from __future__ import annotations

import bisect
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field, replace
from typing import Any

from pglast import ast, parse_sql, parser
from pglast.enums import AlterTableType, ConstrType, ObjectType
from pglast.stream import RawStream

from pgroll_dsl import ir
from pgroll_dsl.catalog.apply import (
    _drop_columns,
    _exclusion_columns,
    _indexes_for,
    _sorted,
    _sorted_indexes,
    _with_sequences,
    expression_columns,
)
from pgroll_dsl.catalog.model import (
    Catalog,
    Column,
    Constraint,
    EnumType,
    ForeignKey,
    Index,
    Sequence,
    Table,
)
from pgroll_dsl.catalog.types import SERIAL_TYPES, canonical_type, format_type_alias
from pgroll_dsl.sql.quoting import quote_literal, quote_name

Kind = ir.ConstraintType

_SHORT = 60
_NAMEDATALEN = 64
_OPENING = frozenset({"ASCII_40", "ASCII_91"})  # ( [
_CLOSING = frozenset({"ASCII_41", "ASCII_93"})  # ) ]
_PAREN, _COMMA, _SEMICOLON = "ASCII_40", "ASCII_44", "ASCII_59"
_COMMENTS = frozenset({"SQL_COMMENT", "C_COMMENT"})
_NOT_A_CHANGE = "not a table, type or index change"

# Statements that change nothing the model holds: DML, transaction control, session
# settings, maintenance.
_NO_CHANGE: tuple[type[ast.Node], ...] = (
    ast.InsertStmt, ast.UpdateStmt, ast.DeleteStmt, ast.MergeStmt, ast.SelectStmt,
    ast.CopyStmt, ast.TruncateStmt, ast.TransactionStmt, ast.VariableSetStmt,
    ast.VariableShowStmt, ast.ConstraintsSetStmt, ast.LockStmt, ast.ExplainStmt,
    ast.PrepareStmt, ast.ExecuteStmt, ast.DeallocateStmt, ast.DeclareCursorStmt,
    ast.FetchStmt, ast.ClosePortalStmt, ast.NotifyStmt, ast.ListenStmt, ast.UnlistenStmt,
    ast.DiscardStmt, ast.VacuumStmt, ast.CheckPointStmt, ast.ClusterStmt,
    ast.ReindexStmt,
)

_ACTIONS = {
    "a": ir.ForeignKeyAction.NO_ACTION, "r": ir.ForeignKeyAction.RESTRICT,
    "c": ir.ForeignKeyAction.CASCADE, "n": ir.ForeignKeyAction.SET_NULL,
    "d": ir.ForeignKeyAction.SET_DEFAULT,
}
_MATCH = {"s": ir.MatchType.SIMPLE, "f": ir.MatchType.FULL, "p": ir.MatchType.PARTIAL}
_REPLICA_IDENTITY = {"d": "default", "n": "nothing", "f": "full", "i": "index"}
_LABELS = {Kind.PRIMARY_KEY: "pkey", Kind.UNIQUE: "key", Kind.EXCLUDE: "excl",
           Kind.CHECK: "check", Kind.FOREIGN_KEY: "fkey"}
_INDEX_BACKED = frozenset({Kind.PRIMARY_KEY, Kind.UNIQUE, Kind.EXCLUDE})
_INTERVAL_FIELDS = {
    4: "year", 2: "month", 8: "day", 1024: "hour", 2048: "minute", 4096: "second",
    6: "year to month", 1032: "day to hour", 3080: "day to minute", 7176: "day to second",
    3072: "hour to minute", 7168: "hour to second", 6144: "minute to second",
}


class _CannotReplay(Exception):
    """A statement (or part of one) that the model cannot follow; ``partial`` is kept."""

    def __init__(self, reason: str, partial: Catalog | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.partial = partial


def apply_sql(catalog: Catalog, sql: str) -> tuple[Catalog, list[str]]:
    """Apply the DDL of a raw SQL script to the catalog, as PostgreSQL would run it.

    Args:
        catalog: The schema before the script runs.
        sql: One or more SQL statements, such as the ``up`` of a pgroll ``sql`` operation.

    Returns:
        The schema after the script, and one warning per statement that could not be
        replayed (that statement then leaves the catalog as it was, except for the
        subcommands of an ``ALTER TABLE`` that could be applied). SQL that does not parse
        leaves the catalog unchanged and gives one warning with the parser's message.
    """
    try:
        statements = parse_sql(sql)
    except parser.ParseError as error:
        return catalog, [_syntax_warning(error)]
    source = _Source.of(sql)
    warnings: list[str] = []
    for raw in statements:
        span = source.statement(raw)
        try:
            catalog = _apply_statement(catalog, raw.stmt, span)
        except _CannotReplay as problem:
            catalog = problem.partial or catalog
            warnings.append(f'cannot replay "{_shorten(span.text())}": {problem.reason}')
    return catalog, warnings


def _syntax_warning(error: parser.ParseError) -> str:
    message = str(error.args[0])
    location = error.args[1] if len(error.args) > 1 else None
    where = f" (at character {location + 1})" if isinstance(location, int) else ""
    return f"cannot replay SQL that does not parse: {message}{where}"


def _shorten(text: str) -> str:
    """The statement on one line, cut at a word boundary near 60 characters."""
    text = " ".join(text.split())
    if len(text) <= _SHORT:
        return text
    cut = text.rfind(" ", 0, _SHORT)
    return text[: cut if cut > 0 else _SHORT] + " ..."


# ---- source text and tokens ------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Source:
    """The script and its tokens (comments left out), positions in characters."""

    sql: str
    tokens: tuple[parser.Token, ...]
    starts: tuple[int, ...]

    @classmethod
    def of(cls, sql: str) -> _Source:
        tokens = tuple(t for t in parser.scan(sql) if t.name not in _COMMENTS)
        return cls(sql, tokens, tuple(t.start for t in tokens))

    def statement(self, raw: ast.RawStmt) -> _Span:
        """The tokens of one statement, without the closing semicolon."""
        start = raw.stmt_location or 0
        length = raw.stmt_len or 0
        first = bisect.bisect_left(self.starts, start)
        end = bisect.bisect_left(self.starts, start + length) if length else len(self.tokens)
        while end > first and self.tokens[end - 1].name == _SEMICOLON:
            end -= 1
        return _Span(self, first, end)


@dataclass(frozen=True, slots=True)
class _Span:
    """Tokens ``first`` to ``end`` (exclusive) of the script: a statement or a part of one."""

    source: _Source
    first: int
    end: int

    def at(self, offset: int | None) -> int:
        """Index of the first token at or after character ``offset``, kept inside the span."""
        if offset is None or offset < 0:
            return self.first
        return min(max(bisect.bisect_left(self.source.starts, offset), self.first), self.end)

    def part(self, first: int, end: int | None = None) -> _Span:
        """The tokens from ``first`` to ``end`` (default: the end of this span)."""
        return _Span(self.source, first, self.end if end is None else min(end, self.end))

    def text(self, first: int | None = None, end: int | None = None) -> str:
        """The author's text from token ``first`` to token ``end`` (exclusive)."""
        first = self.first if first is None else first
        end = self.end if end is None else end
        if end <= first:
            return ""
        tokens = self.source.tokens
        return self.source.sql[tokens[first].start : tokens[end - 1].end + 1]

    def _level(self, first: int) -> Iterator[tuple[int, int]]:
        """(index, depth) of each token from ``first`` until a bracket closes the level."""
        depth = 0
        for index in range(first, self.end):
            name = self.source.tokens[index].name
            if name in _CLOSING:
                if depth == 0:
                    return
                depth -= 1
            yield index, depth
            if name in _OPENING:
                depth += 1

    def stop(self, first: int) -> int:
        """Where an expression starting at ``first`` ends: a comma or bracket at its level."""
        last = first - 1
        for index, depth in self._level(first):
            if depth == 0 and self.source.tokens[index].name == _COMMA:
                return index
            last = index
        return last + 1

    def keyword(self, first: int, name: str) -> int | None:
        """The first token named ``name`` (``DEFAULT``, ``WHERE``...) at the level of ``first``."""
        return next((index for index, depth in self._level(first)
                     if depth == 0 and self.source.tokens[index].name == name), None)

    def group(self, first: int) -> tuple[int, int] | None:
        """The first parenthesised group at or after ``first``: its ``(`` and ``)`` tokens."""
        tokens = self.source.tokens
        opening = next((i for i in range(first, self.end) if tokens[i].name == _PAREN), None)
        if opening is None:
            return None
        closing = max((i for i, _ in self._level(opening + 1)), default=opening) + 1
        return (opening, closing) if closing < self.end else None

    def inner(self, first: int) -> str | None:
        """The text inside the first parenthesised group at or after ``first``."""
        found = self.group(first)
        return self.text(found[0] + 1, found[1]) if found else None

    def pieces(self) -> list[_Span]:
        """The span cut at its top-level commas (subcommands, index elements)."""
        cuts = [index for index, depth in self._level(self.first)
                if depth == 0 and self.source.tokens[index].name == _COMMA]
        bounds = [self.first - 1, *cuts, self.end]
        return [self.part(a + 1, b) for a, b in zip(bounds, bounds[1:], strict=False)]


def _element(span: _Span, location: int | None) -> _Span:
    """The tokens of a table element or subcommand starting at ``location``."""
    first = span.at(location)
    return span.part(first, span.stop(first))


def _regenerated(node: ast.Node | None) -> str | None:
    """PostgreSQL-printed text of an expression, where the author's text cannot be found."""
    return RawStream()(node) if node is not None else None


# ---- small AST helpers -----------------------------------------------------------------


def _strings(items: object) -> tuple[str, ...]:
    """The ``sval`` of each ``String`` node of a pglast list (names, column lists)."""
    if not isinstance(items, tuple):
        return ()
    return tuple(item.sval for item in items if isinstance(item, ast.String) and item.sval)


def _nodes(value: object) -> Iterator[ast.Node]:
    """Every node of an expression tree, depth first."""
    if isinstance(value, ast.Node):
        yield value
        for attribute in value:
            yield from _nodes(getattr(value, attribute))
    elif isinstance(value, tuple):
        for item in value:
            yield from _nodes(item)


def _column_refs(expression: object) -> tuple[str, ...]:
    """The distinct column names an expression refers to, in order of appearance."""
    names: dict[str, None] = {}
    for node in _nodes(expression):
        if isinstance(node, ast.ColumnRef) and isinstance(node.fields, tuple):
            last = node.fields[-1]
            if isinstance(last, ast.String) and last.sval:
                names[last.sval] = None
    return tuple(names)


def _local_name(names: tuple[str, ...], schema: str) -> str | None:
    """The object name when ``names`` (``[schema.]name``) is in the modelled schema."""
    if not names or (len(names) > 1 and names[-2] != schema):
        return None
    return names[-1]


def _relation(range_var: ast.RangeVar | None, schema: str) -> str | None:
    """A relation's name when it is in the modelled schema (temporary tables are not)."""
    if range_var is None or not range_var.relname or range_var.relpersistence == "t":
        return None
    if range_var.schemaname not in (None, schema):
        return None
    return range_var.relname


def _foreign_table(range_var: ast.RangeVar | None, schema: str) -> str:
    """A referenced table's name: bare in the modelled schema, qualified elsewhere."""
    if range_var is None or not range_var.relname:
        return ""
    if range_var.schemaname in (None, schema):
        return range_var.relname
    return f"{range_var.schemaname}.{range_var.relname}"


def _option(options: object, name: str) -> ast.DefElem | None:
    """The ``DefElem`` of that name in an options list."""
    if not isinstance(options, tuple):
        return None
    return next((o for o in options if isinstance(o, ast.DefElem) and o.defname == name), None)


# ---- names -----------------------------------------------------------------------------


def _object_name(name1: str, name2: str | None, label: str) -> str:
    """PostgreSQL's ``makeObjectName``: ``name1_name2_label`` cut to fit 63 bytes."""
    part1, part2 = name1.encode(), (name2 or "").encode()
    overhead = len(label.encode()) + 1 + (1 if name2 is not None else 0)
    available = _NAMEDATALEN - 1 - overhead
    size1, size2 = len(part1), len(part2)
    while size1 + size2 > available:
        if size1 > size2:
            size1 -= 1
        else:
            size2 -= 1
    pieces = [part1[:size1].decode(errors="ignore")]
    if name2 is not None:
        pieces.append(part2[:size2].decode(errors="ignore"))
    return "_".join([*pieces, label])


def _nextval(sequence: str) -> str:
    """A serial column's default, as PostgreSQL prints it."""
    return f"nextval({quote_literal(quote_name(sequence))}::regclass)"


@dataclass(slots=True)
class _Names:
    """Names in use in the schema, so that a generated name avoids them as PostgreSQL does."""

    relations: set[str]
    constraints: set[str]

    @classmethod
    def of(cls, catalog: Catalog) -> _Names:
        relations = {t.name for t in catalog.tables} | {s.name for s in catalog.sequences}
        relations |= {i.name for t in catalog.tables for i in t.indexes}
        return cls(relations, {c.name for t in catalog.tables for c in t.constraints})

    def take(self, name: str, *, relation: bool, constraint: bool) -> str:
        """Record a name as used (as a relation, a constraint or both) and return it."""
        if relation:
            self.relations.add(name)
        if constraint:
            self.constraints.add(name)
        return name

    def choose(self, name1: str, name2: str | None, label: str, *, relation: bool,
               constraint: bool) -> str:
        """The first free ``name1_name2_label``, ``..._label1``, ``..._label2``..."""
        attempt = 0
        while True:
            name = _object_name(name1, name2, label + (str(attempt) if attempt else ""))
            if not ((relation and name in self.relations)
                    or (constraint and name in self.constraints)):
                return self.take(name, relation=relation, constraint=constraint)
            attempt += 1


def _index_column_names(raw: Iterable[str]) -> list[str]:
    """PostgreSQL's ``ChooseIndexColumnNames``: repeated names get ``1``, ``2``... appended."""
    chosen: list[str] = []
    for name in raw:
        candidate, attempt = name, 0
        while candidate in chosen:
            attempt += 1
            suffix = str(attempt).encode()
            clipped = name.encode()[: _NAMEDATALEN - 1 - len(suffix)].decode(errors="ignore")
            candidate = clipped + suffix.decode()
        chosen.append(candidate)
    return chosen


def _figure_name(expression: ast.Node | None) -> str:
    """PostgreSQL's ``FigureIndexColname``: what an expression index column is named after."""
    match expression:
        case ast.FuncCall():
            return _strings(expression.funcname)[-1]
        case ast.ColumnRef():
            return (_column_refs(expression) or ("expr",))[0]
        case ast.TypeCast() | ast.CollateClause():
            return _figure_name(expression.arg)
        case ast.CoalesceExpr():
            return "coalesce"
        case ast.MinMaxExpr():
            return "greatest" if expression.op == 0 else "least"
        case ast.A_ArrayExpr():
            return "array"
        case ast.RowExpr():
            return "row"
        case _:
            return "expr"


def _element_name(element: ast.IndexElem) -> str:
    return element.indexcolname or element.name or _figure_name(element.expr)


# ---- types -----------------------------------------------------------------------------


def _modifier(node: object) -> str:
    match node:
        case ast.A_Const(val=ast.Integer(ival=value)):
            return str(value)
        case ast.A_Const(val=ast.Float(fval=value)) | ast.A_Const(val=ast.String(sval=value)):
            return str(value)
        case ast.ColumnRef():
            return ".".join(_strings(node.fields))
        case ast.Node():
            return _regenerated(node) or ""
        case _:
            return str(node)


def _interval(modifiers: tuple[str, ...]) -> str:
    """``format_type`` of an interval: its fields, then its precision."""
    fields = _INTERVAL_FIELDS.get(int(modifiers[0])) if modifiers else None
    text = f"interval {fields}" if fields else "interval"
    return text + (f"({modifiers[1]})" if len(modifiers) > 1 else "")


def _type_text(type_name: ast.TypeName | None, schema: str) -> str:
    """A column type in PostgreSQL's ``format_type`` spelling, as ``canonical_type`` gives."""
    if type_name is None or type_name.pct_type or type_name.setof:
        raise _CannotReplay("%TYPE and SETOF column types are not replayed")
    qualified = _strings(type_name.names)
    if not qualified:
        raise _CannotReplay("a column type without a name is not replayed")
    name, namespace = qualified[-1], qualified[-2] if len(qualified) > 1 else None
    modifiers = tuple(_modifier(m) for m in type_name.typmods or ())
    dims = tuple(None if b.ival == -1 else b.ival for b in type_name.arrayBounds or ())
    array = "[]" if dims else ""
    if namespace == "pg_catalog" and name == "interval":
        return _interval(modifiers) + array
    if namespace not in (None, "pg_catalog", schema):
        suffix = f"({','.join(modifiers)})" if modifiers else ""
        return f"{quote_name(namespace or '')}.{quote_name(name)}{suffix}{array}"
    if namespace is None and name in ("char", "bpchar") and not modifiers:
        return ('"char"' if name == "char" else name) + array  # only a quoted name gets here
    builtin = namespace == "pg_catalog" or format_type_alias(name) != name
    return canonical_type(ir.TypeName(name=name, quoted=not builtin, modifiers=modifiers,
                                      array_dims=dims))


def _serial(type_name: ast.TypeName | None) -> bool:
    """``serial`` and friends: an integer column with its own sequence, NOT NULL."""
    if type_name is None or type_name.arrayBounds:
        return False
    names = _strings(type_name.names)
    return len(names) == 1 and names[0] in SERIAL_TYPES


# ---- statements ------------------------------------------------------------------------


def _apply_statement(catalog: Catalog, node: ast.Node | None, span: _Span) -> Catalog:
    """Dispatch on the statement's node class."""
    match node:
        case ast.CreateStmt():
            return _create_table(catalog, node, span)
        case ast.AlterTableStmt():
            return _alter_table(catalog, node, span)
        case ast.IndexStmt():
            return _create_index(catalog, node, span)
        case ast.DropStmt():
            return _drop(catalog, node)
        case ast.RenameStmt():
            return _rename(catalog, node)
        case ast.CreateEnumStmt() | ast.AlterEnumStmt():
            return _enum_statement(catalog, node)
        case ast.CommentStmt():
            return _comment(catalog, node)
        case ast.CreateSeqStmt() | ast.AlterSeqStmt():
            return _sequence_statement(catalog, node)
        case ast.AlterObjectSchemaStmt():
            return _set_schema(catalog, node)
        case ast.VariableSetStmt(name="search_path"):
            raise _CannotReplay(f"unqualified names after it are still read as schema "
                                f"{catalog.schema}")
        case ast.SelectStmt(intoClause=ast.IntoClause()) | ast.CreateTableAsStmt():
            raise _CannotReplay("the columns of a table created from a query are not known "
                                "without a database")
        case _ if isinstance(node, _NO_CHANGE):
            return catalog
        case _:
            raise _CannotReplay(_NOT_A_CHANGE)


def _table_or_fail(catalog: Catalog, name: str) -> Table:
    table = catalog.table(name)
    if table is None:
        raise _CannotReplay(f'table "{name}" is not in the catalog')
    return table


def _column_or_fail(table: Table, name: str | None) -> Column:
    column = table.column(name or "")
    if column is None:
        raise _CannotReplay(f'column "{name}" of table "{table.name}" is not in the catalog')
    return column


# ---- CREATE TABLE ----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Pending:
    """A constraint as written; ``name`` stays empty until PostgreSQL's rule picks one."""

    constraint: Constraint
    hint: tuple[str, ...] = ()  # the column names PostgreSQL puts into a generated name
    include: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class _NewColumn:
    """A column definition: the column, its constraints and its sequence, if any."""

    column: Column
    constraints: tuple[_Pending, ...]
    sequence: bool = False  # serial or identity
    sequence_name: str | None = None  # an identity's explicit SEQUENCE NAME


@dataclass(slots=True)
class _Draft:
    """What a ``CREATE TABLE`` (or ``ADD COLUMN``) defines, in the order it was written."""

    columns: list[_NewColumn] = field(default_factory=list)
    constraints: list[_Pending] = field(default_factory=list)
    not_null: set[str] = field(default_factory=set)


def _create_table(catalog: Catalog, stmt: ast.CreateStmt, span: _Span) -> Catalog:
    name = _relation(stmt.relation, catalog.schema)
    if name is None:
        return catalog
    if stmt.inhRelations or stmt.partbound is not None or stmt.ofTypename is not None:
        raise _CannotReplay("inherited, partition and typed tables are not replayed")
    if catalog.table(name) is not None:
        if stmt.if_not_exists:
            return catalog
        raise _CannotReplay(f'table "{name}" is already in the catalog')
    draft = _Draft()
    for element in stmt.tableElts or ():
        _add_element(draft, element, span, catalog.schema)
    return _build_table(catalog, name, draft)


def _add_element(draft: _Draft, element: object, span: _Span, schema: str) -> None:
    match element:
        case ast.ColumnDef():
            new = _column_def(element, span, schema)
            draft.columns.append(new)
            draft.constraints.extend(new.constraints)
        case ast.Constraint(contype=ConstrType.CONSTR_NOTNULL):
            draft.not_null.update(_strings(element.keys))
        case ast.Constraint():
            draft.constraints.append(_constraint(element, _element(span, element.location),
                                                 schema))
        case _:
            raise _CannotReplay("LIKE in CREATE TABLE is not replayed")


def _build_table(catalog: Catalog, name: str, draft: _Draft) -> Catalog:
    names = _Names.of(catalog)
    columns, sequences = _place_sequences(name, draft.columns, names)
    constraints = _named_constraints(name, draft.constraints, names)
    constraints = [replace(_resolve_reference(c, name, constraints, catalog), validated=True)
                   for c in constraints]  # NOT VALID means nothing for a new, empty table
    required = draft.not_null | _primary_key_columns(constraints)
    columns = [replace(c, nullable=False) if c.name in required else c for c in columns]
    table = Table(name=name, columns=tuple(columns), constraints=_sorted(constraints),
                  indexes=_sorted_indexes(_indexes_for(constraints)))
    return _with_sequences(catalog.with_table(table), sequences)


def _primary_key_columns(constraints: Iterable[Constraint]) -> set[str]:
    return {col for c in constraints if c.type is Kind.PRIMARY_KEY for col in c.columns}


def _place_sequences(table: str, new_columns: list[_NewColumn],
                     names: _Names) -> tuple[list[Column], tuple[Sequence, ...]]:
    """Name the sequences of serial and identity columns; a serial's default uses it."""
    columns: list[Column] = []
    sequences: list[Sequence] = []
    for new in new_columns:
        column = new.column
        if new.sequence:
            sequence = (names.take(new.sequence_name, relation=True, constraint=False)
                        if new.sequence_name else
                        names.choose(table, column.name, "seq", relation=True,
                                     constraint=False))
            sequences.append(Sequence(name=sequence, owned_by_table=table,
                                      owned_by_column=column.name))
            if column.identity is None:
                column = replace(column, default=_nextval(sequence))
        columns.append(column)
    return columns, tuple(sequences)


# ---- columns ---------------------------------------------------------------------------


def _column_def(definition: ast.ColumnDef, span: _Span, schema: str) -> _NewColumn:
    """One column definition with its column constraints, PostgreSQL's NOT NULL rules."""
    name = definition.colname or ""
    serial = _serial(definition.typeName)
    column = Column(name=name, type=_type_text(definition.typeName, schema))
    pending: list[_Pending] = []
    not_null, sequence_name = serial, None
    for constraint, part in _constraint_parts(definition, span):
        match constraint.contype:
            case ConstrType.CONSTR_NOTNULL:
                not_null = True
            case ConstrType.CONSTR_NULL:
                pass
            case ConstrType.CONSTR_DEFAULT | ConstrType.CONSTR_GENERATED:
                column = _with_expression(column, constraint, part)
            case ConstrType.CONSTR_IDENTITY:
                column, not_null = _with_identity(column, constraint), True
                sequence_name = _identity_sequence_name(constraint)
            case _ if _is_attribute(constraint):
                pending[-1:] = [_with_attribute(p, constraint) for p in pending[-1:]]
            case _:
                pending.append(_constraint(constraint, part, schema, column=name))
    not_null = not_null or any(p.constraint.type is Kind.PRIMARY_KEY for p in pending)
    return _NewColumn(replace(column, nullable=not not_null), tuple(pending),
                      sequence=serial or column.identity is not None,
                      sequence_name=sequence_name)


def _constraint_parts(definition: ast.ColumnDef,
                      span: _Span) -> list[tuple[ast.Constraint, _Span]]:
    """Each column constraint with its own tokens: up to the next one, COLLATE or the end."""
    element = _element(span, definition.location)
    constraints = [c for c in definition.constraints or () if isinstance(c, ast.Constraint)]
    bounds = sorted(element.at(c.location) for c in constraints)
    if definition.collClause is not None:
        bounds = sorted([*bounds, element.at(definition.collClause.location)])
    parts = []
    for constraint in constraints:
        first = element.at(constraint.location)
        end = next((b for b in bounds if b > first), element.end)
        parts.append((constraint, element.part(first, end)))
    return parts


def _with_expression(column: Column, constraint: ast.Constraint, part: _Span) -> Column:
    """A DEFAULT (the text after the keyword) or a generated column's expression."""
    if constraint.contype is ConstrType.CONSTR_GENERATED:
        text = part.inner(part.first) or _regenerated(constraint.raw_expr)
        return replace(column, generated=text)
    keyword = part.keyword(part.first, "DEFAULT")
    text = (part.text(keyword + 1, part.stop(keyword + 1)) if keyword is not None
            else _regenerated(constraint.raw_expr))
    return replace(column, default=text or None)


def _with_identity(column: Column, constraint: ast.Constraint) -> Column:
    values = (ir.IdentityValues.ALWAYS if constraint.generated_when == "a"
              else ir.IdentityValues.BY_DEFAULT)
    return replace(column, identity=values)


def _identity_sequence_name(constraint: ast.Constraint) -> str | None:
    option = _option(constraint.options, "sequence_name")
    names = _strings(option.arg) if option is not None else ()
    return names[-1] if names else None


def _is_attribute(constraint: ast.Constraint) -> bool:
    return constraint.contype in (
        ConstrType.CONSTR_ATTR_DEFERRABLE, ConstrType.CONSTR_ATTR_NOT_DEFERRABLE,
        ConstrType.CONSTR_ATTR_DEFERRED, ConstrType.CONSTR_ATTR_IMMEDIATE,
        ConstrType.CONSTR_ATTR_ENFORCED, ConstrType.CONSTR_ATTR_NOT_ENFORCED,
    )


def _with_attribute(pending: _Pending, attribute: ast.Constraint) -> _Pending:
    """DEFERRABLE / INITIALLY DEFERRED written after a column constraint apply to it."""
    constraint = pending.constraint
    match attribute.contype:
        case ConstrType.CONSTR_ATTR_DEFERRABLE:
            constraint = replace(constraint, deferrable=True)
        case ConstrType.CONSTR_ATTR_NOT_DEFERRABLE:
            constraint = replace(constraint, deferrable=False, initially_deferred=False)
        case ConstrType.CONSTR_ATTR_DEFERRED:
            constraint = replace(constraint, deferrable=True, initially_deferred=True)
        case ConstrType.CONSTR_ATTR_IMMEDIATE:
            constraint = replace(constraint, initially_deferred=False)
    return replace(pending, constraint=constraint)


# ---- constraints -----------------------------------------------------------------------


def _constraint(node: ast.Constraint, part: _Span, schema: str,
                column: str | None = None) -> _Pending:
    """A column or table constraint, unnamed ones with an empty name for now."""
    columns = (column,) if column is not None else ()
    base = Constraint(name=node.conname or "", type=Kind.CHECK,
                      deferrable=bool(node.deferrable or node.initdeferred),
                      initially_deferred=bool(node.initdeferred))
    match node.contype:
        case ConstrType.CONSTR_PRIMARY | ConstrType.CONSTR_UNIQUE:
            return _key(node, columns or _strings(node.keys), base)
        case ConstrType.CONSTR_CHECK:
            return _check(node, part, columns, base)
        case ConstrType.CONSTR_FOREIGN:
            return _foreign_key(node, columns or _strings(node.fk_attrs), schema, base)
        case ConstrType.CONSTR_EXCLUSION:
            return _exclusion(node, part, base)
        case _:
            raise _CannotReplay(f"{node.contype.name if node.contype else 'this'} "
                                "constraint is not replayed")


def _key(node: ast.Constraint, columns: tuple[str, ...], base: Constraint) -> _Pending:
    primary = node.contype is ConstrType.CONSTR_PRIMARY
    include = _strings(node.including)
    constraint = replace(base, type=Kind.PRIMARY_KEY if primary else Kind.UNIQUE,
                         columns=columns, nulls_not_distinct=bool(node.nulls_not_distinct))
    return _Pending(constraint, hint=() if primary else (*columns, *include), include=include)


def _check(node: ast.Constraint, part: _Span, columns: tuple[str, ...],
           base: Constraint) -> _Pending:
    """PostgreSQL names a check after the one column its expression uses, if just one.

    Its ``columns`` are those of ``Catalog.apply``: the column of a column constraint, the
    columns the expression names for a table constraint.
    """
    text = part.inner(part.first) or _regenerated(node.raw_expr)
    used = _column_refs(node.raw_expr)
    constraint = replace(base, columns=columns or expression_columns(text), expression=text,
                         no_inherit=bool(node.is_no_inherit), validated=not node.skip_validation)
    return _Pending(constraint, hint=used if len(used) == 1 else ())


def _foreign_key(node: ast.Constraint, columns: tuple[str, ...], schema: str,
                 base: Constraint) -> _Pending:
    references = ForeignKey(
        table=_foreign_table(node.pktable, schema), columns=_strings(node.pk_attrs),
        on_delete=_ACTIONS.get(node.fk_del_action or "a", ir.ForeignKeyAction.NO_ACTION),
        on_update=_ACTIONS.get(node.fk_upd_action or "a", ir.ForeignKeyAction.NO_ACTION),
        match_type=_MATCH.get(node.fk_matchtype or "s", ir.MatchType.SIMPLE),
        on_delete_set_columns=_strings(node.fk_del_set_cols),
    )
    constraint = replace(base, type=Kind.FOREIGN_KEY, columns=columns, references=references,
                         validated=not node.skip_validation)
    return _Pending(constraint, hint=columns)


def _exclusion(node: ast.Constraint, part: _Span, base: Constraint) -> _Pending:
    """Elements and predicate as written; the method only if ``USING`` was written."""
    found = part.group(part.first)
    elements = part.text(found[0] + 1, found[1]) if found else None
    using = part.keyword(part.first, "USING")
    method = node.access_method if using is not None and found and using < found[0] else None
    predicate = None
    if node.where_clause is not None:
        where = part.keyword(found[1] + 1, "WHERE") if found else None
        predicate = (part.inner(where) if where is not None else None) or _regenerated(
            node.where_clause)
    include = _strings(node.including)
    items = [item[0] for item in node.exclusions or () if isinstance(item, tuple)]
    hint = _index_column_names([*(_element_name(e) for e in items), *include])
    constraint = replace(base, type=Kind.EXCLUDE, expression=elements, method=method,
                         predicate=predicate,
                         columns=_exclusion_columns(elements) if elements else ())
    return _Pending(constraint, hint=tuple(hint), include=include)


def _named_constraints(table: str, pending: list[_Pending], names: _Names) -> list[Constraint]:
    """Names for unnamed constraints, in PostgreSQL's order: checks, indexes, foreign keys."""
    checks = [p for p in pending if p.constraint.type is Kind.CHECK]
    keys = _deduplicated([p for p in pending if p.constraint.type in _INDEX_BACKED])
    foreign = [p for p in pending if p.constraint.type is Kind.FOREIGN_KEY]
    named = [_named(p, table, names, index=False) for p in checks]
    named += [_named(p, table, names, index=True) for p in keys]
    return named + [_named(p, table, names, index=False) for p in foreign]


def _named(pending: _Pending, table: str, names: _Names, *, index: bool) -> Constraint:
    constraint = pending.constraint
    if constraint.name:
        names.take(constraint.name, relation=index, constraint=True)
        return constraint
    label = _LABELS[constraint.type]
    if constraint.type is Kind.PRIMARY_KEY or not pending.hint:
        name2 = None
    elif constraint.type is Kind.CHECK:
        name2 = pending.hint[0]
    else:
        name2 = "_".join(pending.hint)
    return replace(constraint, name=names.choose(table, name2, label, relation=index,
                                                 constraint=True))


def _deduplicated(pending: list[_Pending]) -> list[_Pending]:
    """One index per key specification, the primary key first; a name moves to the kept one."""
    ordered = sorted(pending, key=lambda p: p.constraint.type is not Kind.PRIMARY_KEY)
    kept: list[_Pending] = []
    for candidate in ordered:
        twin = next((i for i, k in enumerate(kept) if _same_index(k, candidate)), None)
        if twin is None:
            kept.append(candidate)
        elif not kept[twin].constraint.name and candidate.constraint.name:
            named = replace(kept[twin].constraint, name=candidate.constraint.name)
            kept[twin] = replace(kept[twin], constraint=named)
    return kept


def _same_index(a: _Pending, b: _Pending) -> bool:
    first, second = a.constraint, b.constraint
    keys = {Kind.PRIMARY_KEY, Kind.UNIQUE}
    same_kind = {first.type, second.type} <= keys or first.type is second.type
    return same_kind and a.include == b.include and replace(
        first, name="", type=Kind.UNIQUE) == replace(second, name="", type=Kind.UNIQUE)


def _resolve_reference(constraint: Constraint, table: str, constraints: list[Constraint],
                       catalog: Catalog) -> Constraint:
    """``REFERENCES t`` without columns means the primary key of ``t``."""
    ref = constraint.references
    if ref is None or ref.columns:
        return constraint
    if ref.table == table:
        key = next((c.columns for c in constraints if c.type is Kind.PRIMARY_KEY), ())
    else:
        target = catalog.table(ref.table)
        key = target.primary_key if target is not None else ()
    return replace(constraint, references=replace(ref, columns=key))


# ---- ALTER TABLE -----------------------------------------------------------------------


def _alter_table(catalog: Catalog, stmt: ast.AlterTableStmt, span: _Span) -> Catalog:
    if stmt.objtype is not ObjectType.OBJECT_TABLE:
        raise _CannotReplay(_NOT_A_CHANGE)
    name = _relation(stmt.relation, catalog.schema)
    if name is None or (catalog.table(name) is None and stmt.missing_ok):
        return catalog
    _table_or_fail(catalog, name)
    commands = [c for c in stmt.cmds or () if isinstance(c, ast.AlterTableCmd)]
    pieces = span.pieces()
    exact = len(pieces) == len(commands)
    problems = []
    for number, command in enumerate(commands):
        piece = pieces[number] if exact else None
        try:
            catalog = _alter_command(catalog, name, command, piece or span, exact)
        except _CannotReplay as problem:
            catalog = problem.partial or catalog
            problems.append(problem.reason)
    if problems:
        raise _CannotReplay("; ".join(problems), partial=catalog)
    return catalog


def _alter_command(catalog: Catalog, table: str, command: ast.AlterTableCmd, piece: _Span,
                   exact: bool) -> Catalog:
    """Dispatch on the subcommand (``exact``: ``piece`` holds this subcommand alone)."""
    match command.subtype:
        case AlterTableType.AT_AddColumn:
            return _add_column(catalog, table, command, piece)
        case AlterTableType.AT_DropColumn:
            return _drop_column(catalog, table, command)
        case AlterTableType.AT_AddConstraint:
            return _add_constraint(catalog, table, command, piece)
        case AlterTableType.AT_DropConstraint:
            return _drop_constraint(catalog, table, command)
        case subtype if subtype in _COLUMN_COMMANDS:
            return _alter_column(catalog, table, command, piece if exact else None)
        case _:
            return catalog.with_table(_alter_table_only(_table_or_fail(catalog, table), command))


_COLUMN_COMMANDS = frozenset({
    AlterTableType.AT_ColumnDefault, AlterTableType.AT_SetNotNull, AlterTableType.AT_DropNotNull,
    AlterTableType.AT_AlterColumnType, AlterTableType.AT_DropExpression,
    AlterTableType.AT_SetExpression, AlterTableType.AT_AddIdentity,
    AlterTableType.AT_DropIdentity, AlterTableType.AT_SetIdentity,
})


def _alter_column(catalog: Catalog, table: str, command: ast.AlterTableCmd,
                  piece: _Span | None) -> Catalog:
    """ALTER COLUMN subcommands; ``piece`` None when the author's text cannot be found."""
    match command.subtype:
        case AlterTableType.AT_ColumnDefault:
            default = _text_after(piece, "DEFAULT", command.def_) if command.def_ else None
            return _change_column(catalog, table, command.name, default=default)
        case AlterTableType.AT_SetNotNull | AlterTableType.AT_DropNotNull:
            return _change_column(catalog, table, command.name,
                                  nullable=command.subtype is AlterTableType.AT_DropNotNull)
        case AlterTableType.AT_AlterColumnType:
            definition = command.def_
            assert isinstance(definition, ast.ColumnDef)
            return _change_column(catalog, table, command.name,
                                  type=_type_text(definition.typeName, catalog.schema))
        case AlterTableType.AT_DropExpression | AlterTableType.AT_SetExpression:
            generated = _text_after(piece, "AS", command.def_) if command.def_ else None
            return _change_column(catalog, table, command.name, generated=generated)
        case AlterTableType.AT_SetIdentity:
            return _set_identity(catalog, table, command)
        case _:
            return _alter_identity(catalog, table, command)


def _text_after(piece: _Span | None, keyword: str, node: object) -> str | None:
    """The author's text after ``keyword`` (without the parentheses of ``AS (...)``)."""
    found = piece.keyword(piece.first, keyword) if piece is not None else None
    if piece is None or found is None:
        return _regenerated(node if isinstance(node, ast.Node) else None)
    if keyword == "AS":
        return piece.inner(found)
    return piece.text(found + 1, piece.stop(found + 1))


def _alter_table_only(table: Table, command: ast.AlterTableCmd) -> Table:
    """Subcommands that change this table alone."""
    match command.def_, command.subtype:
        case (ast.ReplicaIdentityStmt() as stmt, _):
            return replace(table, replica_identity=_REPLICA_IDENTITY[stmt.identity_type or "d"],
                           replica_identity_index=stmt.name)
        case (ast.ATAlterConstraint() as change, _):
            return _change_constraint(table, change.conname, change)
        case (_, AlterTableType.AT_ValidateConstraint):
            return _change_constraint(table, command.name, None)
        case _:
            subtype = command.subtype.name if command.subtype is not None else "?"
            raise _CannotReplay(f"ALTER TABLE {subtype.removeprefix('AT_')} is not replayed")


def _change_constraint(table: Table, name: str | None,
                       change: ast.ATAlterConstraint | None) -> Table:
    """VALIDATE CONSTRAINT (``change`` None) or ALTER CONSTRAINT ... [NOT] DEFERRABLE."""
    constraint = table.constraint(name or "")
    if constraint is None:
        raise _CannotReplay(f'constraint "{name}" of table "{table.name}" is not in the catalog')
    if change is None:
        changed = replace(constraint, validated=True)
    elif change.alterDeferrability:
        changed = replace(constraint, deferrable=bool(change.deferrable),
                          initially_deferred=bool(change.initdeferred))
    else:
        raise _CannotReplay("ALTER CONSTRAINT other than DEFERRABLE is not replayed")
    return replace(table, constraints=tuple(changed if c.name == constraint.name else c
                                            for c in table.constraints))


def _change_column(catalog: Catalog, table_name: str, column_name: str | None,
                   **changes: Any) -> Catalog:
    table = _table_or_fail(catalog, table_name)
    column = _column_or_fail(table, column_name)
    changed = replace(column, **changes)
    columns = tuple(changed if c.name == column.name else c for c in table.columns)
    return catalog.with_table(replace(table, columns=columns))


def _add_column(catalog: Catalog, table_name: str, command: ast.AlterTableCmd,
                piece: _Span) -> Catalog:
    table = _table_or_fail(catalog, table_name)
    definition = command.def_
    assert isinstance(definition, ast.ColumnDef)
    if table.column(definition.colname or "") is not None:
        if command.missing_ok:
            return catalog
        raise _CannotReplay(f'column "{definition.colname}" of table "{table.name}" is '
                            "already in the catalog")
    new = _column_def(definition, piece, catalog.schema)
    return _extend_table(catalog, table, [new], list(new.constraints))


def _extend_table(catalog: Catalog, table: Table, new_columns: list[_NewColumn],
                  pending: list[_Pending]) -> Catalog:
    """Add columns and constraints to a table, naming them as PostgreSQL would."""
    names = _Names.of(catalog)
    columns, sequences = _place_sequences(table.name, new_columns, names)
    added = _named_constraints(table.name, pending, names)
    all_columns = [*table.columns, *columns]
    added = [_resolve_reference(c, table.name, [*table.constraints, *added], catalog)
             for c in added]
    key = _primary_key_columns(added)
    table = replace(
        table,
        columns=tuple(replace(c, nullable=False) if c.name in key else c for c in all_columns),
        constraints=_sorted((*table.constraints, *added)),
        indexes=_sorted_indexes((*table.indexes, *_indexes_for(added))),
    )
    return _with_sequences(catalog.with_table(table), sequences)


def _add_constraint(catalog: Catalog, table_name: str, command: ast.AlterTableCmd,
                    piece: _Span) -> Catalog:
    table = _table_or_fail(catalog, table_name)
    node = command.def_
    assert isinstance(node, ast.Constraint)
    if node.contype is ConstrType.CONSTR_NOTNULL:
        return _set_not_null(catalog, table, _strings(node.keys))
    if node.indexname:
        return catalog.with_table(_constraint_using_index(table, node))
    return _extend_table(catalog, table, [],
                         [_constraint(node, _element(piece, node.location), catalog.schema)])


def _set_not_null(catalog: Catalog, table: Table, names: tuple[str, ...]) -> Catalog:
    for name in names:
        _column_or_fail(table, name)
    columns = tuple(replace(c, nullable=False) if c.name in names else c for c in table.columns)
    return catalog.with_table(replace(table, columns=columns))


def _constraint_using_index(table: Table, node: ast.Constraint) -> Table:
    """ADD CONSTRAINT ... PRIMARY KEY / UNIQUE USING INDEX: the index takes the name."""
    index = table.index(node.indexname or "")
    if index is None:
        raise _CannotReplay(f'index "{node.indexname}" is not in the catalog')
    name = node.conname or index.name
    primary = node.contype is ConstrType.CONSTR_PRIMARY
    constraint = Constraint(name=name, type=Kind.PRIMARY_KEY if primary else Kind.UNIQUE,
                            columns=index.columns, deferrable=bool(node.deferrable),
                            initially_deferred=bool(node.initdeferred))
    indexes = [replace(i, name=name, constraint=name) if i.name == index.name else i
               for i in table.indexes]
    columns = tuple(replace(c, nullable=False) if primary and c.name in index.columns else c
                    for c in table.columns)
    return replace(table, columns=columns, constraints=_sorted((*table.constraints, constraint)),
                   indexes=_sorted_indexes(indexes))


def _drop_constraint(catalog: Catalog, table_name: str, command: ast.AlterTableCmd) -> Catalog:
    table = _table_or_fail(catalog, table_name)
    if table.constraint(command.name or "") is None:
        if command.missing_ok:
            return catalog
        raise _CannotReplay(f'constraint "{command.name}" of table "{table.name}" is not in '
                            "the catalog")
    return catalog.with_table(replace(
        table,
        constraints=tuple(c for c in table.constraints if c.name != command.name),
        indexes=tuple(i for i in table.indexes if i.constraint != command.name),
    ))


def _drop_column(catalog: Catalog, table_name: str, command: ast.AlterTableCmd) -> Catalog:
    """DROP COLUMN: with its constraints, indexes, sequence and foreign keys to it."""
    table = _table_or_fail(catalog, table_name)
    name = command.name or ""
    if table.column(name) is None:
        if command.missing_ok:
            return catalog
        _column_or_fail(table, name)
    catalog = catalog.with_table(_drop_columns(_without_dependants(table, name), {name}))
    return _without_references(catalog, table.name, {name})


def _without_dependants(table: Table, column: str) -> Table:
    """Drop checks, exclusions and expression indexes whose text mentions the column."""
    constraints = tuple(c for c in table.constraints if not _mentions(c, column))
    kept = {c.name for c in constraints}
    indexes = tuple(
        i for i in table.indexes
        if (i.constraint is None or i.constraint in kept)
        and not any(column in _mentioned_columns(text) for text in i.columns if text != column)
    )
    return replace(table, constraints=constraints, indexes=indexes)


def _mentions(constraint: Constraint, column: str) -> bool:
    if constraint.type is Kind.CHECK and constraint.expression:
        return column in _mentioned_columns(constraint.expression)
    if constraint.type is Kind.EXCLUDE and constraint.expression:
        return column in _mentioned_columns(constraint.expression, exclusion=True)
    return False


def _mentioned_columns(text: str, *, exclusion: bool = False) -> tuple[str, ...]:
    """Column names an expression (or exclusion element list) stored as text refers to."""
    sql = f"ALTER TABLE t ADD EXCLUDE ({text})" if exclusion else f"SELECT ({text})"
    try:
        tree = parse_sql(sql)
    except parser.ParseError:
        return ()
    names = [n.name for n in _nodes(tree) if isinstance(n, ast.IndexElem) and n.name]
    return (*names, *_column_refs(tree))


def _without_references(catalog: Catalog, table: str, columns: set[str] | None) -> Catalog:
    """Without foreign keys to ``table`` (or its ``columns``) and sequences owned by them."""

    def refers(c: Constraint) -> bool:
        ref = c.references
        return ref is not None and ref.table == table and (columns is None
                                                           or bool(columns & set(ref.columns)))

    tables = tuple(replace(t, constraints=tuple(c for c in t.constraints if not refers(c)))
                   for t in catalog.tables)
    sequences = tuple(s for s in catalog.sequences if not (
        s.owned_by_table == table and (columns is None or s.owned_by_column in columns)))
    return replace(catalog, tables=tables, sequences=sequences)


def _alter_identity(catalog: Catalog, table_name: str, command: ast.AlterTableCmd) -> Catalog:
    """ADD GENERATED ... AS IDENTITY (NOT NULL, a sequence) or DROP IDENTITY."""
    table = _table_or_fail(catalog, table_name)
    column = _column_or_fail(table, command.name)
    if command.subtype is AlterTableType.AT_DropIdentity:
        if column.identity is None and command.missing_ok:
            return catalog
        catalog = _change_column(catalog, table.name, column.name, identity=None)
        return replace(catalog, sequences=tuple(
            s for s in catalog.sequences
            if (s.owned_by_table, s.owned_by_column) != (table.name, column.name)))
    node = command.def_
    assert isinstance(node, ast.Constraint)
    changed = replace(_with_identity(column, node), nullable=False)
    new = _NewColumn(changed, (), sequence=True, sequence_name=_identity_sequence_name(node))
    names = _Names.of(catalog)
    _, sequences = _place_sequences(table.name, [new], names)
    catalog = _change_column(catalog, table.name, column.name, identity=changed.identity,
                             nullable=False)
    return _with_sequences(catalog, sequences)


def _set_identity(catalog: Catalog, table: str, command: ast.AlterTableCmd) -> Catalog:
    """ALTER COLUMN ... SET GENERATED ALWAYS / BY DEFAULT; sequence options are not modelled."""
    generated = _option(command.def_, "generated")
    if generated is not None and isinstance(generated.arg, ast.Integer):
        values = (ir.IdentityValues.ALWAYS if generated.arg.ival == ord("a")
                  else ir.IdentityValues.BY_DEFAULT)
        catalog = _change_column(catalog, table, command.name, identity=values)
    options = command.def_ if isinstance(command.def_, tuple) else ()
    if any(isinstance(o, ast.DefElem) and o.defname != "generated" for o in options):
        raise _CannotReplay("identity sequence options are not modelled", partial=catalog)
    return catalog


# ---- indexes ---------------------------------------------------------------------------


def _create_index(catalog: Catalog, stmt: ast.IndexStmt, span: _Span) -> Catalog:
    table_name = _relation(stmt.relation, catalog.schema)
    if table_name is None:
        return catalog
    table = _table_or_fail(catalog, table_name)
    if stmt.idxname and stmt.idxname in _Names.of(catalog).relations:
        if stmt.if_not_exists:
            return catalog
        raise _CannotReplay(f'relation "{stmt.idxname}" is already in the catalog')
    params = span.group(span.at(stmt.relation.location if stmt.relation else None))
    elements = [e for e in stmt.indexParams or () if isinstance(e, ast.IndexElem)]
    name = stmt.idxname or _index_name(catalog, table.name, stmt, elements)
    index = Index(name=name, columns=_index_columns(elements, span, params),
                  unique=bool(stmt.unique), method=stmt.accessMethod or "btree",
                  predicate=_index_predicate(stmt, span, params))
    return catalog.with_table(replace(table, indexes=_sorted_indexes((*table.indexes, index))))


def _index_name(catalog: Catalog, table: str, stmt: ast.IndexStmt,
                elements: list[ast.IndexElem]) -> str:
    included = [e for e in stmt.indexIncludingParams or () if isinstance(e, ast.IndexElem)]
    columns = _index_column_names(_element_name(e) for e in [*elements, *included])
    return _Names.of(catalog).choose(table, "_".join(columns), "idx", relation=True,
                                     constraint=False)


def _index_columns(elements: list[ast.IndexElem], span: _Span,
                   params: tuple[int, int] | None) -> tuple[str, ...]:
    """Column names, or the author's text of expression elements."""
    pieces = span.part(params[0] + 1, params[1]).pieces() if params else []
    if len(pieces) != len(elements):
        pieces = []
    columns = []
    for number, element in enumerate(elements):
        text = element.name or (_element_text(pieces[number]) if pieces else None)
        columns.append(text or _regenerated(element.expr) or "")
    return tuple(columns)


def _element_text(piece: _Span) -> str | None:
    """``(expr)`` without its parentheses, or a function call up to its closing one."""
    found = piece.group(piece.first)
    if found is None:
        return None
    if found[0] == piece.first:
        return piece.text(found[0] + 1, found[1])
    return piece.text(piece.first, found[1] + 1)


def _index_predicate(stmt: ast.IndexStmt, span: _Span,
                     params: tuple[int, int] | None) -> str | None:
    if stmt.whereClause is None:
        return None
    where = span.keyword(params[1] + 1, "WHERE") if params else None
    if where is None:
        return _regenerated(stmt.whereClause)
    return span.text(where + 1, span.stop(where + 1))


# ---- DROP ------------------------------------------------------------------------------


def _drop(catalog: Catalog, stmt: ast.DropStmt) -> Catalog:
    """DROP TABLE / INDEX / TYPE / SEQUENCE, each object in turn."""
    present, drop = _dropper(stmt.removeType)
    missing = []
    for name in _drop_names(stmt, catalog.schema):
        if present(catalog, name):
            catalog = drop(catalog, name)
        elif not stmt.missing_ok:
            missing.append(f'"{name}"')
    if missing:
        raise _CannotReplay(f"{', '.join(missing)} not in the catalog", partial=catalog)
    return catalog


def _dropper(kind: ObjectType | None) -> tuple[Callable[[Catalog, str], bool],
                                               Callable[[Catalog, str], Catalog]]:
    """How to tell an object of this kind exists, and how to drop it."""
    match kind:
        case ObjectType.OBJECT_TABLE:
            return (lambda c, n: c.table(n) is not None), _drop_table
        case ObjectType.OBJECT_INDEX:
            return (lambda c, n: c.index(n) is not None), _drop_index
        case ObjectType.OBJECT_TYPE:
            return (lambda c, n: c.enum(n) is not None), _drop_enum
        case ObjectType.OBJECT_SEQUENCE:
            return (lambda c, n: _sequence(c, n) is not None), _drop_sequence
        case _:
            raise _CannotReplay(_NOT_A_CHANGE)


def _drop_names(stmt: ast.DropStmt, schema: str) -> list[str]:
    names = []
    for item in stmt.objects or ():
        parts = _strings(item.names) if isinstance(item, ast.TypeName) else _strings(item)
        name = _local_name(parts, schema)
        if name is not None:
            names.append(name)
    return names


def _drop_table(catalog: Catalog, name: str) -> Catalog:
    return _without_references(catalog.without_table(name), name, None)


def _drop_index(catalog: Catalog, name: str) -> Catalog:
    """The index, and the constraint it backs (PostgreSQL needs CASCADE for that)."""
    found = catalog.index(name)
    assert found is not None
    table, index = found
    return catalog.with_table(replace(
        table,
        indexes=tuple(i for i in table.indexes if i.name != name),
        constraints=tuple(c for c in table.constraints if c.name != index.constraint),
    ))


def _sequence(catalog: Catalog, name: str) -> Sequence | None:
    return next((s for s in catalog.sequences if s.name == name), None)


def _drop_sequence(catalog: Catalog, name: str) -> Catalog:
    """The sequence, and the defaults that use it (PostgreSQL needs CASCADE for those)."""
    default = _nextval(name)
    tables = tuple(
        replace(t, columns=tuple(replace(c, default=None) if c.default == default else c
                                 for c in t.columns))
        for t in catalog.tables
    )
    return replace(catalog, tables=tables,
                   sequences=tuple(s for s in catalog.sequences if s.name != name))


# ---- RENAME ----------------------------------------------------------------------------


def _rename(catalog: Catalog, stmt: ast.RenameStmt) -> Catalog:
    """ALTER ... RENAME for tables (and other relations), columns, constraints, types."""
    new = stmt.newname or ""
    match stmt.renameType:
        case ObjectType.OBJECT_TABLE | ObjectType.OBJECT_INDEX | ObjectType.OBJECT_SEQUENCE:
            old = _relation(stmt.relation, catalog.schema)
            return catalog if old is None else _rename_relation(catalog, old, new, stmt)
        case ObjectType.OBJECT_COLUMN | ObjectType.OBJECT_TABCONSTRAINT:
            name = _relation(stmt.relation, catalog.schema)
            if name is None or (catalog.table(name) is None and stmt.missing_ok):
                return catalog
            table = _table_or_fail(catalog, name)
            if stmt.renameType is ObjectType.OBJECT_COLUMN:
                return _rename_column(catalog, table, stmt.subname or "", new)
            return catalog.with_table(_rename_constraint(table, stmt.subname or "", new))
        case ObjectType.OBJECT_TYPE:
            old = _local_name(_strings(stmt.object), catalog.schema)
            return catalog if old is None else _rename_enum(catalog, old, new)
        case _:
            raise _CannotReplay(_NOT_A_CHANGE)


def _rename_relation(catalog: Catalog, old: str, new: str, stmt: ast.RenameStmt) -> Catalog:
    if new in _Names.of(catalog).relations:
        raise _CannotReplay(f'relation "{new}" is already in the catalog')
    if catalog.table(old) is not None:
        return _rename_table(catalog, old, new)
    if catalog.index(old) is not None:
        return _rename_index(catalog, old, new)
    if _sequence(catalog, old) is not None:
        return _rename_sequence(catalog, old, new)
    if stmt.missing_ok:
        return catalog
    raise _CannotReplay(f'relation "{old}" is not in the catalog')


def _rename_table(catalog: Catalog, old: str, new: str) -> Catalog:
    """Foreign keys and owned sequences follow; constraint and index names do not."""
    table = catalog.table(old)
    assert table is not None
    catalog = catalog.without_table(old).with_table(replace(table, name=new, physical=new))

    def retarget(ref: ForeignKey | None) -> ForeignKey | None:
        return replace(ref, table=new) if ref is not None and ref.table == old else ref

    tables = tuple(replace(t, constraints=tuple(replace(c, references=retarget(c.references))
                                                for c in t.constraints))
                   for t in catalog.tables)
    sequences = tuple(replace(s, owned_by_table=new) if s.owned_by_table == old else s
                      for s in catalog.sequences)
    return replace(catalog, tables=tables, sequences=sequences)


def _rename_index(catalog: Catalog, old: str, new: str) -> Catalog:
    """The constraint an index backs is renamed with it."""
    found = catalog.index(old)
    assert found is not None
    table, index = found
    if index.constraint is not None:
        return catalog.with_table(_rename_constraint(table, index.constraint, new))
    return catalog.with_table(replace(table, indexes=_sorted_indexes(
        [replace(i, name=new) if i.name == old else i for i in table.indexes])))


def _rename_sequence(catalog: Catalog, old: str, new: str) -> Catalog:
    before, after = _nextval(old), _nextval(new)
    tables = tuple(
        replace(t, columns=tuple(replace(c, default=after) if c.default == before else c
                                 for c in t.columns))
        for t in catalog.tables
    )
    sequences = tuple(sorted((replace(s, name=new) if s.name == old else s
                              for s in catalog.sequences), key=lambda s: s.name))
    return replace(catalog, tables=tables, sequences=sequences)


def _rename_column(catalog: Catalog, table: Table, old: str, new: str) -> Catalog:
    """Constraints, indexes, foreign keys elsewhere and the owned sequence follow."""
    _column_or_fail(table, old)
    if table.column(new) is not None:
        raise _CannotReplay(f'column "{new}" of table "{table.name}" is already in the catalog')

    def names(columns: tuple[str, ...]) -> tuple[str, ...]:
        return tuple(new if c == old else c for c in columns)

    def constraint(c: Constraint, own: bool) -> Constraint:
        ref = c.references
        if ref is not None and ref.table == table.name:
            c = replace(c, references=replace(ref, columns=names(ref.columns)))
        if own and c.references is not None:
            c = replace(c, references=replace(c.references, on_delete_set_columns=names(
                c.references.on_delete_set_columns)))
        return replace(c, columns=names(c.columns)) if own else c

    tables = tuple(
        replace(
            t,
            columns=tuple(replace(c, name=new, physical=new) if c.name == old else c
                          for c in t.columns) if t.name == table.name else t.columns,
            constraints=tuple(constraint(c, t.name == table.name) for c in t.constraints),
            indexes=tuple(replace(i, columns=names(i.columns)) for i in t.indexes)
            if t.name == table.name else t.indexes,
        )
        for t in catalog.tables
    )
    sequences = tuple(replace(s, owned_by_column=new)
                      if (s.owned_by_table, s.owned_by_column) == (table.name, old) else s
                      for s in catalog.sequences)
    return replace(catalog, tables=tables, sequences=sequences)


def _rename_constraint(table: Table, old: str, new: str) -> Table:
    """PostgreSQL renames the index behind a constraint along with it."""
    if table.constraint(old) is None:
        raise _CannotReplay(f'constraint "{old}" of table "{table.name}" is not in the catalog')
    return replace(
        table,
        constraints=_sorted([replace(c, name=new) if c.name == old else c
                             for c in table.constraints]),
        indexes=_sorted_indexes([replace(i, name=new, constraint=new) if i.constraint == old
                                 else i for i in table.indexes]),
    )


# ---- enum types ------------------------------------------------------------------------


def _enum_statement(catalog: Catalog, stmt: ast.CreateEnumStmt | ast.AlterEnumStmt) -> Catalog:
    """CREATE TYPE ... AS ENUM, ALTER TYPE ... ADD VALUE / RENAME VALUE."""
    name = _local_name(_strings(stmt.typeName), catalog.schema)
    if name is None:
        return catalog
    existing = catalog.enum(name)
    match stmt:
        case ast.CreateEnumStmt():
            if existing is not None:
                raise _CannotReplay(f'type "{name}" is already in the catalog')
            return _with_enum(catalog, EnumType(name=name, labels=_strings(stmt.vals)))
        case _:
            if existing is None:
                raise _CannotReplay(f'type "{name}" is not an enum type in the catalog')
            return _with_enum(catalog, _altered_enum(existing, stmt))


def _altered_enum(enum: EnumType, stmt: ast.AlterEnumStmt) -> EnumType:
    labels = list(enum.labels)
    new = stmt.newVal or ""
    if stmt.oldVal:
        if stmt.oldVal not in labels:
            raise _CannotReplay(f'"{stmt.oldVal}" is not a label of type "{enum.name}"')
        labels[labels.index(stmt.oldVal)] = new
    elif new in labels:
        if not stmt.skipIfNewValExists:
            raise _CannotReplay(f'"{new}" is already a label of type "{enum.name}"')
    elif stmt.newValNeighbor:
        if stmt.newValNeighbor not in labels:
            raise _CannotReplay(f'"{stmt.newValNeighbor}" is not a label of type "{enum.name}"')
        position = labels.index(stmt.newValNeighbor) + (1 if stmt.newValIsAfter else 0)
        labels.insert(position, new)
    else:
        labels.append(new)
    return replace(enum, labels=tuple(labels))


def _with_enum(catalog: Catalog, enum: EnumType) -> Catalog:
    others = [e for e in catalog.enums if e.name != enum.name]
    return replace(catalog, enums=tuple(sorted([*others, enum], key=lambda e: e.name)))


def _enum_types(name: str) -> tuple[str, str]:
    """How columns of the enum type (and of its array type) spell their type."""
    return quote_name(name), quote_name(name) + "[]"


def _rename_enum(catalog: Catalog, old: str, new: str) -> Catalog:
    enum = catalog.enum(old)
    if enum is None:
        raise _CannotReplay(f'type "{old}" is not an enum type in the catalog')
    spelled = dict(zip(_enum_types(old), _enum_types(new), strict=True))
    tables = tuple(replace(t, columns=tuple(replace(c, type=spelled.get(c.type, c.type))
                                            for c in t.columns))
                   for t in catalog.tables)
    catalog = replace(catalog, tables=tables,
                      enums=tuple(e for e in catalog.enums if e.name != old))
    return _with_enum(catalog, replace(enum, name=new))


def _drop_enum(catalog: Catalog, name: str) -> Catalog:
    """The type, and the columns of that type (PostgreSQL needs CASCADE for those)."""
    spellings = set(_enum_types(name))
    for table in catalog.tables:
        doomed = {c.name for c in table.columns if c.type in spellings}
        if doomed:
            catalog = catalog.with_table(_drop_columns(table, doomed))
            catalog = _without_references(catalog, table.name, doomed)
    return replace(catalog, enums=tuple(e for e in catalog.enums if e.name != name))


# ---- comments, sequences, schemas ------------------------------------------------------


def _comment(catalog: Catalog, stmt: ast.CommentStmt) -> Catalog:
    """COMMENT ON TABLE / COLUMN (IS NULL removes the comment)."""
    parts = _strings(stmt.object)
    match stmt.objtype:
        case ObjectType.OBJECT_TABLE:
            name = _local_name(parts, catalog.schema)
            if name is None:
                return catalog
            table = _table_or_fail(catalog, name)
            return catalog.with_table(replace(table, comment=stmt.comment or None))
        case ObjectType.OBJECT_COLUMN:
            name = _local_name(parts[:-1], catalog.schema)
            if name is None:
                return catalog
            return _change_column(catalog, name, parts[-1], comment=stmt.comment or None)
        case _:
            raise _CannotReplay("only comments on tables and columns are modelled")


def _sequence_statement(catalog: Catalog, stmt: ast.CreateSeqStmt | ast.AlterSeqStmt) -> Catalog:
    """CREATE SEQUENCE and ALTER SEQUENCE ... OWNED BY; other options are not modelled."""
    name = _relation(stmt.sequence, catalog.schema)
    if name is None:
        return catalog
    existing = _sequence(catalog, name)
    if isinstance(stmt, ast.CreateSeqStmt) and existing is not None:
        if stmt.if_not_exists:
            return catalog
        raise _CannotReplay(f'relation "{name}" is already in the catalog')
    if isinstance(stmt, ast.AlterSeqStmt) and existing is None:
        if stmt.missing_ok:
            return catalog
        raise _CannotReplay(f'sequence "{name}" is not in the catalog')
    sequence = _owned(existing or Sequence(name=name), stmt.options, catalog.schema)
    catalog = _with_sequences(catalog, (sequence,))
    others = [o for o in stmt.options or () if isinstance(o, ast.DefElem)
              and o.defname != "owned_by"]
    if isinstance(stmt, ast.AlterSeqStmt) and others:
        raise _CannotReplay("sequence options are not modelled", partial=catalog)
    return catalog


def _owned(sequence: Sequence, options: object, schema: str) -> Sequence:
    option = _option(options, "owned_by")
    if option is None:
        return sequence
    parts = _strings(option.arg)
    if parts == ("none",) or _local_name(parts[:-1], schema) is None:
        return replace(sequence, owned_by_table=None, owned_by_column=None)
    return replace(sequence, owned_by_table=_local_name(parts[:-1], schema),
                   owned_by_column=parts[-1])


def _set_schema(catalog: Catalog, stmt: ast.AlterObjectSchemaStmt) -> Catalog:
    """ALTER TABLE ... SET SCHEMA: a table moved out of the schema leaves the model."""
    if stmt.objectType is not ObjectType.OBJECT_TABLE:
        raise _CannotReplay(_NOT_A_CHANGE)
    name = _relation(stmt.relation, catalog.schema)
    if name is None:
        if stmt.newschema == catalog.schema:
            raise _CannotReplay("the model does not know the columns of a table moved in")
        return catalog
    if stmt.newschema == catalog.schema or (catalog.table(name) is None and stmt.missing_ok):
        return catalog
    _table_or_fail(catalog, name)
    moved = f"{stmt.newschema}.{name}"  # foreign keys elsewhere now name it qualified
    catalog = _rename_table(catalog, name, moved)
    return replace(catalog.without_table(moved), sequences=tuple(
        s for s in catalog.sequences if s.owned_by_table != moved))
