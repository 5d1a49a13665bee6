"""Column definitions and constraints written in SQL, as IR columns and constraints.

``CREATE TABLE`` and ``ALTER TABLE … ADD COLUMN / ADD CONSTRAINT`` share them. Expressions
(defaults, checks, generated columns, identity options, exclusion elements) are the author's
text, sliced out of the statement's tokens. Unnamed constraints get the name PostgreSQL
would give them (pgroll needs a name), read from the replayed schema.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from pglast import ast
from pglast.enums import ConstrType

from pgroll_dsl import ir
from pgroll_dsl.catalog.sql_ddl.nodes import strings
from pgroll_dsl.frontend.from_sql_state import (
    Context,
    KeepRaw,
    Statement,
    column_type,
    expression,
    expression_after,
    ident,
    idents,
    is_null_constant,
    new_constraint_name,
    relation_name,
)
from pgroll_dsl.source import Span
from pgroll_dsl.sql.spans import TokenSpan, element_span, regenerated

Kind = ir.ConstraintType

ACTIONS = {
    "a": ir.ForeignKeyAction.NO_ACTION, "r": ir.ForeignKeyAction.RESTRICT,
    "c": ir.ForeignKeyAction.CASCADE, "n": ir.ForeignKeyAction.SET_NULL,
    "d": ir.ForeignKeyAction.SET_DEFAULT,
}
MATCH = {"s": ir.MatchType.SIMPLE, "f": ir.MatchType.FULL, "p": ir.MatchType.PARTIAL}
_ATTRIBUTES = frozenset({
    ConstrType.CONSTR_ATTR_DEFERRABLE, ConstrType.CONSTR_ATTR_NOT_DEFERRABLE,
    ConstrType.CONSTR_ATTR_DEFERRED, ConstrType.CONSTR_ATTR_IMMEDIATE,
})


@dataclass(slots=True)
class NewColumn:
    """A column definition: the IR column and the table constraints it needs.

    ``constraints`` holds what a column cannot say itself (a named primary key or unique
    constraint, index parameters, a deferrable key): create_table takes them as table
    constraints, add_column cannot (the statement is then kept raw).
    """

    column: ir.Column
    constraints: list[ir.Constraint] = field(default_factory=list)


def create_table(ctx: Context, stmt: Statement) -> ir.CreateTable:
    """CREATE TABLE: columns and constraints; anything pgroll cannot create is kept raw."""
    node = stmt.node
    assert isinstance(node, ast.CreateStmt)
    _refuse_table_options(node)
    name = relation_name(ctx, node.relation)
    taken: set[str] = set()
    columns: list[ir.Column] = []
    constraints: list[ir.Constraint] = []
    on_columns: list[tuple[Kind, tuple[str, ...]]] = []
    for element in node.tableElts or ():
        match element:
            case ast.ColumnDef():
                new = column_definition(ctx, name, element, stmt.tokens, stmt.span, taken)
                columns.append(new.column)
                constraints.extend(new.constraints)
            case ast.Constraint() if _said_on_columns(element):
                kind = Kind.PRIMARY_KEY if element.contype is ConstrType.CONSTR_PRIMARY else (
                    Kind.UNIQUE)
                on_columns.append((kind, strings(element.keys)))
            case ast.Constraint():
                part = element_span(stmt.tokens, element.location)
                constraints.append(table_constraint(ctx, name, element, part, taken))
            case _:
                raise KeepRaw("LIKE in CREATE TABLE has no pgroll field")
    for kind, keys in on_columns:
        columns = _on_columns(ctx, name, kind, keys, columns, constraints, taken)
    return ir.CreateTable(name=ident(name), columns=tuple(columns),
                          constraints=tuple(constraints), span=stmt.span)


def _said_on_columns(node: ast.Constraint) -> bool:
    """An unnamed ``PRIMARY KEY (...)`` or ``UNIQUE (...)`` with nothing but its columns."""
    return (node.contype in (ConstrType.CONSTR_PRIMARY, ConstrType.CONSTR_UNIQUE)
            and not node.conname and not node.indexname and index_parameters(node) is None
            and not node.nulls_not_distinct and not node.deferrable and bool(node.keys))


def _on_columns(ctx: Context, table: str, kind: Kind, keys: tuple[str, ...],
                columns: list[ir.Column], constraints: list[ir.Constraint],
                taken: set[str]) -> list[ir.Column]:
    """An unnamed key said on its columns (``id int primary key``), where that means it.

    PostgreSQL names it ``t_pkey`` / ``t_c_key`` either way, and the columns read better.
    A primary key in another order than the table's, a second one, or a unique key over
    several columns stays a table constraint, with PostgreSQL's name.
    """
    order = [c.name.name for c in columns if c.name.name in keys]
    if kind is Kind.PRIMARY_KEY:
        fits = order == list(keys) and not any(c.pk for c in columns)
    else:
        fits = len(keys) == 1 and order == list(keys)
    if not fits:
        name = new_constraint_name(ctx, table, kind, keys, taken=taken)
        constraints.append(ir.Constraint(name=ident(name), type=kind, columns=idents(keys)))
        return columns
    marked = []
    for c in columns:
        if c.name.name in keys:
            primary = kind is Kind.PRIMARY_KEY
            c = ir.Column(name=c.name, type=c.type, nullable=c.nullable and not primary,
                          unique=c.unique or not primary, pk=c.pk or primary, default=c.default,
                          comment=c.comment, check=c.check, references=c.references,
                          generated=c.generated, span=c.span)
        marked.append(c)
    return marked


def _refuse_table_options(node: ast.CreateStmt) -> None:
    relation = node.relation
    if relation is not None and relation.relpersistence == "u":
        raise KeepRaw("UNLOGGED tables have no pgroll field")
    checks = (
        (node.partbound, "PARTITION OF"), (node.inhRelations, "INHERITS"),
        (node.partspec, "PARTITION BY"), (node.ofTypename, "OF type"),
        (node.options, "WITH (...)"), (node.tablespacename, "TABLESPACE"),
        (node.accessMethod, "USING"),
    )
    for value, clause in checks:
        if value:
            raise KeepRaw(f"{clause} in CREATE TABLE has no pgroll field")
    if node.oncommit is not None and node.oncommit.value != 0:
        raise KeepRaw("ON COMMIT has no pgroll field")


# ---- columns -----------------------------------------------------------------------------


def column_definition(ctx: Context, table: str, definition: ast.ColumnDef, tokens: TokenSpan,
                      span: Span, taken: set[str]) -> NewColumn:
    """One column definition with its column constraints."""
    name = definition.colname or ""
    if definition.collClause is not None:
        raise KeepRaw(f'COLLATE of column "{name}" has no pgroll field')
    if definition.compression or (definition.storage_name or "").strip("\x00"):
        raise KeepRaw(f'COMPRESSION or STORAGE of column "{name}" has no pgroll field')
    type_ = column_type(ctx, definition.typeName, span)
    state = _ColumnState(ctx, table, name, taken)
    for constraint, part in _constraint_parts(definition, tokens):
        state.take(constraint, part)
    pk = state.pk
    implied = pk or type_.name in ("serial", "bigserial", "smallserial") or (
        state.generated is not None and state.generated.identity is not None)
    column = ir.Column(
        name=ident(name), type=type_, nullable=not (state.not_null or implied), unique=state.unique,
        pk=pk, default=state.default, check=state.check, references=state.references,
        generated=state.generated, span=span,
    )
    return NewColumn(column, state.constraints)


def _constraint_parts(definition: ast.ColumnDef,
                      tokens: TokenSpan) -> list[tuple[ast.Constraint, TokenSpan]]:
    """Each column constraint with its own tokens: up to the next one or the end."""
    element = element_span(tokens, definition.location)
    constraints = [c for c in definition.constraints or () if isinstance(c, ast.Constraint)]
    bounds = sorted(element.at(c.location) for c in constraints)
    parts = []
    for constraint in constraints:
        first = element.at(constraint.location)
        end = next((b for b in bounds if b > first), element.end)
        parts.append((constraint, element.part(first, end)))
    return parts


@dataclass(slots=True)
class _ColumnState:
    """What the constraints of one column definition have said so far."""

    ctx: Context
    table: str
    name: str
    taken: set[str]
    not_null: bool = False
    pk: bool = False
    unique: bool = False
    default: ir.SqlExpr | None = None
    check: ir.CheckConstraint | None = None
    references: ir.ForeignKeyReference | None = None
    generated: ir.Generated | None = None
    constraints: list[ir.Constraint] = field(default_factory=list)
    last: str = ""  # what an attribute (DEFERRABLE...) written next applies to

    def take(self, node: ast.Constraint, part: TokenSpan) -> None:
        if node.conname and node.contype in (ConstrType.CONSTR_NOTNULL, ConstrType.CONSTR_NULL,
                                             ConstrType.CONSTR_DEFAULT):
            raise KeepRaw(f'a named {node.contype.name[7:]} constraint has no pgroll field')
        match node.contype:
            case ConstrType.CONSTR_NOTNULL:
                self.not_null = True
            case ConstrType.CONSTR_NULL:
                self.not_null = False
            case ConstrType.CONSTR_DEFAULT:
                text = expression_after(part, "DEFAULT", node.raw_expr)
                self.default = None if is_null_constant(node.raw_expr) else expression(text)
            case ConstrType.CONSTR_GENERATED:
                if node.generated_kind == "v":
                    raise KeepRaw("VIRTUAL generated columns have no pgroll field")
                text = part.inner(part.first) or regenerated(node.raw_expr) or ""
                self.generated = ir.Generated(expression=ir.SqlExpr(text))
            case ConstrType.CONSTR_IDENTITY:
                values = (ir.IdentityValues.ALWAYS if node.generated_when == "a"
                          else ir.IdentityValues.BY_DEFAULT)
                options = part.inner(part.first) if node.options else None
                self.generated = ir.Generated(identity=ir.Identity(
                    user_specified_values=values, sequence_options=expression(options)))
            case ConstrType.CONSTR_PRIMARY | ConstrType.CONSTR_UNIQUE:
                self._key(node)
            case ConstrType.CONSTR_CHECK:
                self._check(node, part)
            case ConstrType.CONSTR_FOREIGN:
                self._foreign_key(node)
            case kind if kind in _ATTRIBUTES:
                self._attribute(node)
            case _:
                raise KeepRaw(f"a column constraint of kind {node.contype} has no pgroll field")

    def _key(self, node: ast.Constraint) -> None:
        primary = node.contype is ConstrType.CONSTR_PRIMARY
        params = index_parameters(node)
        if node.conname or params is not None or node.nulls_not_distinct:
            kind = Kind.PRIMARY_KEY if primary else Kind.UNIQUE
            name = node.conname or new_constraint_name(self.ctx, self.table, kind, (self.name,),
                                                       taken=self.taken)
            self.constraints.append(ir.Constraint(
                name=ident(name), type=kind, columns=(ident(self.name),),
                nulls_not_distinct=bool(node.nulls_not_distinct), index_parameters=params))
            self.not_null = self.not_null or primary
            self.last = "constraint"
            return
        if primary:
            self.pk = True
        else:
            self.unique = True
        self.last = "pk" if primary else "unique"

    def _check(self, node: ast.Constraint, part: TokenSpan) -> None:
        if node.skip_validation:
            raise KeepRaw("NOT VALID has no pgroll field")
        text = part.inner(part.first) or regenerated(node.raw_expr) or ""
        name = node.conname or new_constraint_name(self.ctx, self.table, Kind.CHECK,
                                                   (self.name,), text, self.taken)
        self.check = ir.CheckConstraint(name=ident(name), constraint=ir.SqlExpr(text),
                                        no_inherit=bool(node.is_no_inherit))
        self.last = "check"

    def _foreign_key(self, node: ast.Constraint) -> None:
        table, columns = reference_target(self.ctx, node)
        if len(columns) != 1:
            raise KeepRaw("a column's REFERENCES must name one referenced column")
        name = node.conname or new_constraint_name(self.ctx, self.table, Kind.FOREIGN_KEY,
                                                   (self.name,), taken=self.taken)
        self.references = ir.ForeignKeyReference(
            name=ident(name), table=ident(table), column=ident(columns[0]),
            on_delete=ACTIONS.get(node.fk_del_action or "a", ir.ForeignKeyAction.NO_ACTION),
            on_update=ACTIONS.get(node.fk_upd_action or "a", ir.ForeignKeyAction.NO_ACTION),
            match_type=MATCH.get(node.fk_matchtype or "s", ir.MatchType.SIMPLE),
            deferrable=bool(node.deferrable), initially_deferred=bool(node.initdeferred),
        )
        self.last = "references"

    def _attribute(self, node: ast.Constraint) -> None:
        """DEFERRABLE / INITIALLY DEFERRED after a column constraint apply to it."""
        deferrable = node.contype in (ConstrType.CONSTR_ATTR_DEFERRABLE,
                                      ConstrType.CONSTR_ATTR_DEFERRED)
        deferred = node.contype is ConstrType.CONSTR_ATTR_DEFERRED
        if not deferrable:
            return  # NOT DEFERRABLE, INITIALLY IMMEDIATE: the defaults
        if self.last == "references" and self.references is not None:
            ref = self.references
            self.references = ir.ForeignKeyReference(
                name=ref.name, table=ref.table, column=ref.column, on_delete=ref.on_delete,
                on_update=ref.on_update, match_type=ref.match_type, deferrable=True,
                initially_deferred=deferred or ref.initially_deferred)
            return
        if self.last in ("pk", "unique"):
            kind = Kind.PRIMARY_KEY if self.last == "pk" else Kind.UNIQUE
            self.pk = self.pk and self.last != "pk"
            self.unique = self.unique and self.last != "unique"
            name = new_constraint_name(self.ctx, self.table, kind, (self.name,), taken=self.taken)
            self.constraints.append(ir.Constraint(
                name=ident(name), type=kind, columns=(ident(self.name),)))
            self.not_null = self.not_null or kind is Kind.PRIMARY_KEY
            self.last = "constraint"
        if self.last == "constraint" and self.constraints:
            last = self.constraints[-1]
            self.constraints[-1] = _deferred(last, deferred or last.initially_deferred)
            return
        raise KeepRaw("DEFERRABLE here has no pgroll field")


def _deferred(constraint: ir.Constraint, initially_deferred: bool) -> ir.Constraint:
    return ir.Constraint(
        name=constraint.name, type=constraint.type, columns=constraint.columns,
        check=constraint.check, no_inherit=constraint.no_inherit,
        nulls_not_distinct=constraint.nulls_not_distinct, deferrable=True,
        initially_deferred=initially_deferred, references=constraint.references,
        exclude=constraint.exclude, index_parameters=constraint.index_parameters,
        span=constraint.span)


# ---- constraints -------------------------------------------------------------------------


def index_parameters(node: ast.Constraint) -> ir.IndexParameters | None:
    """INCLUDE, WITH (...) and USING INDEX TABLESPACE of a key or exclusion constraint."""
    include = strings(node.including)
    storage = ", ".join(storage_option(o) for o in node.options or ()
                        if isinstance(o, ast.DefElem))
    if not include and not storage and not node.indexspace:
        return None
    return ir.IndexParameters(
        tablespace=ident(node.indexspace) if node.indexspace else None,
        storage_parameters=ir.SqlExpr(storage) if storage else None,
        include_columns=idents(include),
    )


def storage_option(option: ast.DefElem) -> str:
    """``name=value`` of a storage parameter."""
    arg = option.arg
    match arg:
        case None:
            return option.defname or ""
        case ast.Integer() | ast.Float() | ast.String() | ast.Boolean():
            value = getattr(arg, "ival", None) if isinstance(arg, ast.Integer) else None
            text = str(value) if value is not None else str(
                getattr(arg, "fval", None) or getattr(arg, "sval", None) or getattr(
                    arg, "boolval", ""))
            return f"{option.defname}={text}"
        case ast.TypeName():
            return f"{option.defname}={'.'.join(strings(arg.names))}"
        case ast.Node():
            return f"{option.defname}={regenerated(arg)}"
        case _:
            raise KeepRaw(f"the option {option.defname} could not be read")


def reference_target(ctx: Context, node: ast.Constraint) -> tuple[str, tuple[str, ...]]:
    """The referenced table and columns (``REFERENCES t`` alone: the primary key of ``t``)."""
    table = relation_name(ctx, node.pktable)
    columns = strings(node.pk_attrs)
    if columns:
        return table, columns
    target = ctx.after.table(table) or ctx.before.table(table)
    key = target.primary_key if target is not None else ()
    if not key:
        raise KeepRaw(f'REFERENCES {table} without columns: its primary key is not known (give '
                      "convert the schema, or name the columns)")
    return table, key


def table_constraint(ctx: Context, table: str, node: ast.Constraint, part: TokenSpan,
                     taken: set[str]) -> ir.Constraint:
    """A table constraint of CREATE TABLE (or one added to a table this migration makes)."""
    columns = strings(node.keys)
    params = None
    references = None
    check = None
    exclude = None
    match node.contype:
        case ConstrType.CONSTR_PRIMARY | ConstrType.CONSTR_UNIQUE:
            if node.indexname:
                raise KeepRaw("USING INDEX has no pgroll field")
            kind = Kind.PRIMARY_KEY if node.contype is ConstrType.CONSTR_PRIMARY else Kind.UNIQUE
            params = index_parameters(node)
        case ConstrType.CONSTR_CHECK:
            kind = Kind.CHECK
            check = part.inner(part.first) or regenerated(node.raw_expr) or ""
            columns = ()
        case ConstrType.CONSTR_FOREIGN:
            kind = Kind.FOREIGN_KEY
            columns = strings(node.fk_attrs)
            references = table_reference(ctx, node)
        case ConstrType.CONSTR_EXCLUSION:
            kind = Kind.EXCLUDE
            exclude = _exclusion(node, part)
            params = index_parameters(node)
        case _:
            raise KeepRaw(f"a table constraint of kind {node.contype} has no pgroll field")
    name = node.conname or new_constraint_name(ctx, table, kind, columns, check, taken)
    constraint = ir.Constraint(
        name=ident(name), type=kind, columns=idents(columns), check=expression(check),
        no_inherit=bool(node.is_no_inherit), nulls_not_distinct=bool(node.nulls_not_distinct),
        deferrable=bool(node.deferrable), initially_deferred=bool(node.initdeferred),
        references=references, exclude=exclude, index_parameters=params,
    )
    return constraint


def table_reference(ctx: Context, node: ast.Constraint) -> ir.TableForeignKeyReference:
    """The referenced side of a table-level foreign key."""
    table, columns = reference_target(ctx, node)
    return ir.TableForeignKeyReference(
        table=ident(table), columns=idents(columns),
        on_delete=ACTIONS.get(node.fk_del_action or "a", ir.ForeignKeyAction.NO_ACTION),
        on_update=ACTIONS.get(node.fk_upd_action or "a", ir.ForeignKeyAction.NO_ACTION),
        match_type=MATCH.get(node.fk_matchtype or "s", ir.MatchType.SIMPLE),
        on_delete_set_columns=idents(strings(node.fk_del_set_cols)),
    )


def _exclusion(node: ast.Constraint, part: TokenSpan) -> ir.Exclude:
    """Elements and predicate as written; the method only if ``USING`` was written."""
    found = part.group(part.first)
    if found is None:
        raise KeepRaw("the exclusion constraint's elements could not be read")
    elements = part.text(found[0] + 1, found[1])
    using = part.keyword(part.first, "USING")
    method = node.access_method if using is not None and using < found[0] else None
    predicate = None
    if node.where_clause is not None:
        where = part.keyword(found[1] + 1, "WHERE")
        predicate = (part.inner(where) if where is not None else None) or regenerated(
            node.where_clause)
    return ir.Exclude(index_method=method, elements=ir.SqlExpr(elements),
                      predicate=expression(predicate))
