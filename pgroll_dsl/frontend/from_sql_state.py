"""What the SQL converter's statement handlers share: the statement, the schema, the findings.

``from_sql`` walks the statements; each handler gets a ``Statement`` (its node, its tokens and
where it is in the file) and the ``Context`` (the schema before and after it, the operations
so far, the diagnostics). A handler that finds something no pgroll operation says raises
``KeepRaw``: the statement is then kept whole as a ``sql`` operation.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from pglast import ast

from pgroll_dsl import ir
from pgroll_dsl.catalog.model import Catalog, Column, Constraint
from pgroll_dsl.catalog.naming import Names
from pgroll_dsl.catalog.sql_ddl.lookup import CannotReplay
from pgroll_dsl.catalog.sql_ddl.nodes import column_refs, strings
from pgroll_dsl.catalog.sql_ddl.types import is_serial_type, type_text
from pgroll_dsl.diagnostics import Diagnostic, Diagnostics, codes
from pgroll_dsl.frontend.pgroll import parse_type
from pgroll_dsl.source import Span
from pgroll_dsl.sql.expressions import same_expression
from pgroll_dsl.sql.quoting import quote_name, render_type
from pgroll_dsl.sql.spans import TokenSpan, regenerated
from pgroll_dsl.sql.type_names import canonical_spelling

PLACEHOLDER = "TODO: Implement SQL data migration"
"""pgroll's own placeholder (``sql2pgroll.PlaceHolderSQL``): not SQL, so ``validate`` refuses
the migration (PGD501) until the author has replaced it."""

PLACEHOLDER_COLUMN = "placeholder"
"""pgroll's key for a per-column ``up``/``down`` entry whose columns are not known."""


class KeepRaw(Exception):
    """The statement has no faithful pgroll operation; ``reason`` says what is missing."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True, slots=True)
class Statement:
    """One statement: its parse tree, its tokens, its text and where it is in the file."""

    node: ast.Node
    tokens: TokenSpan
    span: Span

    @property
    def text(self) -> str:
        """The statement as written, without its closing semicolon."""
        return self.tokens.text()

    @property
    def offsets(self) -> tuple[int, int]:
        """Where the statement's text starts and ends (exclusive) in the script."""
        tokens = self.tokens.source.tokens
        return tokens[self.tokens.first].start, tokens[self.tokens.end - 1].end + 1


@dataclass(slots=True)
class Fill:
    """``UPDATE t SET c = value WHERE c IS NULL``, waiting for a ``SET NOT NULL`` on ``t.c``.

    Django writes it before ``SET NOT NULL``: it becomes that alter_column's ``up``
    (``COALESCE(c, value)``). Left unused, it stays a raw ``sql`` operation at ``position``.
    """

    value: str
    statement: Statement
    position: int
    used: bool = False


@dataclass(slots=True)
class Context:
    """The conversion so far, and the schema around the statement being converted.

    ``before`` is the schema the statement runs on, ``after`` the schema after it (the
    statement replayed with ``catalog.sql_ddl``: PostgreSQL's names for what it names
    itself). ``created`` maps a table made by an earlier ``create_table`` of this migration to
    the operation's position in ``operations`` (later statements on it are folded into it);
    ``added`` does the same for the columns of ``add_column`` operations.
    """

    path: str
    schema: str
    before: Catalog
    after: Catalog
    known: bool = False  # the schema before the script was given: what it lacks is absent
    operations: list[ir.Operation] = field(default_factory=list)
    diagnostics: list[Diagnostic] = field(default_factory=list)
    pending: list[Diagnostic] = field(default_factory=list)  # of the statement being converted
    created: dict[str, int] = field(default_factory=dict)
    added: dict[tuple[str, str], int] = field(default_factory=dict)
    fills: dict[tuple[str, str], Fill] = field(default_factory=dict)
    all_fills: list[Fill] = field(default_factory=list)
    raw: list[tuple[int, int]] = field(default_factory=list)  # offsets of statements kept raw
    # Whether the column was known, and its default, before the first of several merged
    # alter_column operations (a default set and dropped again is no change).
    origins: dict[tuple[str, str], tuple[bool, str | None]] = field(default_factory=dict)

    def report(self, code: codes.Code, span: Span | None, message: str, *hints: str) -> None:
        """A finding about the statement being converted (dropped if it is kept raw)."""
        self.pending.append(Diagnostic(code, message, span, tuple(hints), code.severity))

    def placeholder(self, span: Span, where: str, needs: str, *hints: str) -> ir.SqlExpr:
        """The placeholder pgroll writes for an ``up``/``down``, and a PGD331 warning."""
        self.report(codes.DATA_MIGRATION_NEEDED, span, f"{where}: {needs}", *hints,
                    f"replace `{PLACEHOLDER}` before running the migration")
        return ir.SqlExpr(PLACEHOLDER)

    def note(self, span: Span, message: str, *hints: str) -> None:
        """A PGD332 note: an assumption the author should know about."""
        self.report(codes.CONVERT_ASSUMPTION, span, message, *hints)

    def conditional(self, span: Span, what: str, present: bool, *, exists: bool) -> bool:
        """``IF EXISTS`` (``exists``) or ``IF NOT EXISTS``: whether to convert the statement.

        The operations have no such clause: they require the object (or its absence). When
        the schema shows the statement does nothing, it is left out; when the schema is not
        known, it is converted as if the object were there (or not), with a note.
        """
        clause = "IF EXISTS" if exists else "IF NOT EXISTS"
        if present == exists and (present or self.known):
            return True
        if present or self.known:
            state = "exists already" if present else "does not exist"
            self.note(span, f"{what} {state} ({clause}): nothing to do; left out")
            return False
        wanted = "exists" if exists else "does not exist yet"
        self.note(span, f"{what}: {clause} is left out; the operation requires that it "
                  f"{wanted} (convert was not given the schema to tell)")
        return True

    def column(self, table: str, name: str) -> Column | None:
        """The column as the schema before the statement has it (None: not known)."""
        found = self.before.table(table)
        return found.column(name) if found is not None else None


# ---- names -------------------------------------------------------------------------------


def relation_name(ctx: Context, range_var: ast.RangeVar | None) -> str:
    """A table's name in the target schema; KeepRaw for another schema or a temporary table."""
    if range_var is None or not range_var.relname:
        raise KeepRaw("the statement names no table")
    if range_var.relpersistence == "t":
        raise KeepRaw("temporary tables are not pgroll's")
    if range_var.schemaname not in (None, ctx.schema):
        raise KeepRaw(f'table "{range_var.schemaname}.{range_var.relname}" is in another '
                      f"schema than {ctx.schema}")
    return range_var.relname


def object_name(ctx: Context, names: tuple[str, ...]) -> str:
    """``[schema.]name`` of an index or table in the target schema; KeepRaw elsewhere."""
    if not names or len(names) > 2 or (len(names) == 2 and names[0] != ctx.schema):
        raise KeepRaw(f'"{".".join(names)}" is not in schema {ctx.schema}')
    return names[-1]


def ident(name: str) -> ir.Ident:
    """A name as PostgreSQL stores it (pglast has folded unquoted names already)."""
    return ir.Ident(name)


def idents(names: tuple[str, ...]) -> tuple[ir.Ident, ...]:
    """Names as ``ir.Ident`` values."""
    return tuple(ir.Ident(n) for n in names)


def sql_name(name: str) -> str:
    """A column name as SQL text in an inferred expression (quoted only when needed)."""
    return quote_name(name)


def new_constraint_name(ctx: Context, table: str, kind: ir.ConstraintType,
                        columns: tuple[str, ...], expression: str | None = None,
                        taken: set[str] | None = None) -> str:
    """The name PostgreSQL gives an unnamed constraint.

    Read from the schema after the statement (replay follows PostgreSQL's rules, clashes
    and order included): the new constraint of that kind on those columns (or with that
    check expression). When replay could not follow the statement (a table convert was not
    told about), PostgreSQL's basic rule: ``table_columns_label``, numbered on a clash.
    """
    taken = taken if taken is not None else set()
    before = ctx.before.table(table)
    after = ctx.after.table(table)
    old = {c.name for c in before.constraints} if before is not None else set()
    for found in after.constraints if after is not None else ():
        if found.name in old or found.name in taken or found.type is not kind:
            continue
        if _same_constraint(found, kind, columns, expression):
            taken.add(found.name)
            return found.name
    label = {ir.ConstraintType.PRIMARY_KEY: "pkey", ir.ConstraintType.UNIQUE: "key",
             ir.ConstraintType.CHECK: "check", ir.ConstraintType.FOREIGN_KEY: "fkey",
             ir.ConstraintType.EXCLUDE: "excl"}[kind]
    names = Names.of(ctx.before)
    names.constraints |= taken
    if kind is ir.ConstraintType.PRIMARY_KEY:
        hint: str | None = None
    elif kind is ir.ConstraintType.CHECK:
        used = column_refs_of(expression)
        hint = used[0] if len(used) == 1 else None
    else:
        hint = "_".join(columns) or None
    name = names.choose(table, hint, label, relation=kind is not ir.ConstraintType.CHECK
                        and kind is not ir.ConstraintType.FOREIGN_KEY, constraint=True)
    taken.add(name)
    return name


def _same_constraint(found: Constraint, kind: ir.ConstraintType, columns: tuple[str, ...],
                     expression: str | None) -> bool:
    if kind is ir.ConstraintType.CHECK:
        return same_expression(found.expression, expression)
    return found.columns == columns


def column_refs_of(expression: str | None) -> tuple[str, ...]:
    """The columns an expression names (none when it does not parse)."""
    if expression is None:
        return ()
    from pglast import parse_sql, parser

    try:
        statements = parse_sql(f"SELECT {expression}")
    except parser.ParseError:
        return ()
    return column_refs(statements[0].stmt)


def new_index_name(ctx: Context, table: str) -> str | None:
    """The name replay gave the one index the statement added to ``table``, if it did."""
    before = ctx.before.table(table)
    after = ctx.after.table(table)
    if after is None:
        return None
    old = {i.name for i in before.indexes} if before is not None else set()
    new = [i.name for i in after.indexes if i.name not in old]
    return new[0] if len(new) == 1 else None


# ---- types and expressions ---------------------------------------------------------------


def column_type(ctx: Context, node: ast.TypeName | None, span: Span) -> ir.TypeName:
    """A column type in the IR's spelling (``integer`` is ``int``; ``serial`` stays)."""
    if node is not None and is_serial_type(node):
        name = strings(node.names)[-1]
        return ir.TypeName(name=canonical_spelling(name, ())[0])
    try:
        text = type_text(node, ctx.schema)
    except CannotReplay as problem:
        raise KeepRaw(problem.reason) from None
    return parse_type_text(text, span)


def parse_type_text(text: str, span: Span) -> ir.TypeName:
    """A type written in SQL (or as ``format_type`` prints it), read with the DSL's rule."""
    sink = Diagnostics()
    parsed = parse_type(text, span, sink)
    if parsed is None:
        raise KeepRaw(f"the type {text} has no spelling pgroll accepts")
    return ir.TypeName(name=parsed.name, quoted=parsed.quoted, schema=parsed.schema,
                       modifiers=parsed.modifiers, array_dims=parsed.array_dims)


def type_sql(type_: ir.TypeName) -> str:
    """A type as SQL text, for an inferred cast."""
    return render_type(type_)


def expression_after(part: TokenSpan, keyword: str, node: object) -> str | None:
    """The author's text of the expression after ``keyword`` (``DEFAULT``, ``USING``...)."""
    if not isinstance(node, ast.Node):
        return None
    found = part.keyword(part.first, keyword)
    if found is None:
        return regenerated(node)
    return part.text(found + 1, part.stop(found + 1)) or regenerated(node)


def expression(text: str | None) -> ir.SqlExpr | None:
    """Author SQL as the IR stores it."""
    return ir.SqlExpr(text) if text is not None else None


def is_null_constant(node: object) -> bool:
    """``NULL`` (a default of NULL is no default)."""
    return isinstance(node, ast.A_Const) and bool(node.isnull)


def warning(code: codes.Code, span: Span | None, message: str, *hints: str) -> Diagnostic:
    """A diagnostic of the code's severity, outside a statement's findings."""
    return Diagnostic(code, message, span, tuple(hints), code.severity)


__all__ = ["PLACEHOLDER", "PLACEHOLDER_COLUMN", "Context", "Fill", "KeepRaw", "Statement",
           "column_refs_of", "column_type", "expression", "expression_after", "ident", "idents",
           "is_null_constant", "new_constraint_name", "new_index_name", "object_name",
           "parse_type_text", "relation_name", "sql_name", "type_sql", "warning"]
