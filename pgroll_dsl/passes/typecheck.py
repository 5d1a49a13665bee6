"""Offline type checks of embedded SQL: what PostgreSQL would refuse at ``start``, at validate.

Each expression an operation carries has a place with a type: a default and a generated
expression are stored in the column (PostgreSQL converts them with an *assignment* cast when
the DDL runs), ``up``/``down`` are assigned to a column in PL/pgSQL (an assignment cast, else
a conversion through text that fails row by row), and a check or an index predicate must be
``boolean``. The type of the expression comes from ``infer_types`` (PostgreSQL's resolution
rules over its own catalog rows and the catalog's column types), a constant's validity from
``typecheck_literals``. Only certain failures are reported; an expression whose type is not
known for sure (a user's function, a domain, a sub-query) is left to the server, and so is
every claim a routine of the catalog (``Catalog.routines``: what the history's raw SQL or an
extension defined) may change: a call of a user's function name, a user's operator, a
conversion a user's cast may make; after an extension, any function, operator or cast.

Before:  ``alter table events alter created_at type int;``  (created_at is timestamptz)
After:   PGD513 at ``int``: no cast from timestamp with time zone to integer, no timestamp
         reads as an integer; with the hint ``up `extract(epoch from created_at)::integer```.

Codes: PGD510 (a constant the type refuses), PGD511 (an expression of a type the column
cannot take), PGD512 (a check that is not boolean), PGD513 (a type change that needs an
``up``, or whose default cannot follow).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from enum import Enum

from pglast import ast

from pgroll_dsl import ir
from pgroll_dsl.catalog.apply import apply_operation
from pgroll_dsl.catalog.model import Catalog, Column, Routines, Table
from pgroll_dsl.diagnostics import Diagnostics, codes
from pgroll_dsl.passes.infer_types import (
    BOOL,
    UNKNOWN,
    Typed,
    Types,
    UserRoutines,
    coercion,
    infer,
    infer_node,
    modifiers,
    offset_of,
    parse_expression,
    parse_type,
    type_of_name,
)
from pgroll_dsl.passes.typecheck_literals import EXAMPLES, number_problem, text_problem
from pgroll_dsl.source import Span
from pgroll_dsl.sql.type_names import canonical_type


class Place(Enum):
    """How PostgreSQL converts an expression's value into its place."""

    STORE = "assignment cast when the DDL runs (default, generated)"
    ASSIGN = "PL/pgSQL assignment: assignment cast, else through text (up, down)"
    CONDITION = "must be boolean (check, predicate)"


@dataclass(frozen=True, slots=True)
class Target:
    """A column type as the checks see it: pg_type name, modifiers, and how SQL spells it."""

    name: str
    mods: tuple[int, ...]
    spelled: str


_DATETIME = frozenset({"date", "timestamp", "timestamptz", "time", "timetz"})
_INTEGERS = frozenset({"int2", "int4", "int8"})
_NUMBERS = _INTEGERS | {"numeric", "float4", "float8"}

# Pairs whose conversion through text fails for every value, so that a PL/pgSQL assignment
# (which falls back to text when no assignment cast exists) cannot succeed: the text output
# of the source type never reads as the target type. Timestamps and dates print `infinity`,
# which a float or numeric reads, so they are not listed against those.
NEVER_THROUGH_TEXT: dict[str, frozenset[str]] = {
    **{t: _INTEGERS | {"bool", "uuid"} for t in ("date", "timestamp", "timestamptz")},
    **{t: _NUMBERS | {"bool", "uuid"} for t in ("time", "timetz")},
    "bool": _NUMBERS | {"uuid"},
    "uuid": _NUMBERS | {"bool"},
}

_SPELLING = {
    "int2": "smallint", "int4": "integer", "int8": "bigint", "float4": "real",
    "float8": "double precision", "bool": "boolean", "bpchar": "character",
    "varchar": "character varying", "timestamptz": "timestamp with time zone",
    "timestamp": "timestamp without time zone", "timetz": "time with time zone",
    "time": "time without time zone", "varbit": "bit varying",
}


def spelled(name: str) -> str:
    """A pg_type name as PostgreSQL's messages spell it (``int4`` → ``integer``)."""
    if name.startswith("_"):
        return spelled(name[1:]) + "[]"
    return _SPELLING.get(name, name)


def never_through_text(source: str, target: str) -> bool:
    """Whether no value of ``source`` converts to ``target`` through its text."""
    return target in NEVER_THROUGH_TEXT.get(source, frozenset())


def check_types(op: ir.Operation, catalog: Catalog, sink: Diagnostics) -> None:
    """Report the embedded expressions of ``op`` whose type cannot fit their place.

    Args:
        op: One operation, already through the catalog-free checks.
        catalog: The schema just before the operation.
        sink: Where problems go; nothing is raised.
    """
    checker = _Checker(catalog, sink)
    match op:
        case ir.CreateTable():
            checker.create_table(op)
        case ir.AddColumn():
            checker.add_column(op)
        case ir.AlterColumn():
            checker.alter_column(op)
        case ir.DropColumn():
            checker.drop_column(op)
        case ir.CreateConstraint():
            checker.create_constraint(op)
        case ir.DropConstraint() | ir.DropMulticolumnConstraint():
            checker.drop_constraint(op)
        case ir.CreateIndex():
            if (table := catalog.table(op.table.name)) is not None:
                checker.expect(op.predicate, checker.row(table), None, Place.CONDITION,
                               f'create_index "{op.name.name}" predicate')
        case _:
            pass


class _Checker:
    """The checks of one operation against the schema it runs on."""

    def __init__(self, catalog: Catalog, sink: Diagnostics) -> None:
        self.catalog = catalog
        self.sink = sink
        self.enums = {e.name: e.labels for e in catalog.enums}
        self.constants = Types(enums=self.enums,
                               user=user_routines(catalog.routines, self.enums, catalog.schema))

    # ---- types of columns ---------------------------------------------------------------

    def target(self, text: str) -> Target | None:
        """A column type's text as a ``Target``; None when it is not modelled."""
        node = parse_type(text)
        if node is None:
            return None
        name = type_of_name(node, self.constants, self.catalog.schema)
        mods = modifiers(node)
        if name is None or mods is None:
            return None
        return Target(name, mods, text)

    def ir_target(self, type_: ir.TypeName) -> Target | None:
        # `other.mood` keeps its schema, and is then not modelled: not the catalog's `mood`.
        return self.target(canonical_type(type_, self.catalog.schema))

    def row(self, table: Table, **override: Target | None) -> Types:
        """The names an expression over a row of ``table`` sees, with their types."""
        columns: dict[str, str | None] = {}
        for column in table.columns:
            target = (override[column.name] if column.name in override
                      else self.target(column.type))
            columns[column.name] = target.name if target is not None else None
        return replace(self.constants, columns=columns)

    # ---- operations -----------------------------------------------------------------------

    def create_table(self, op: ir.CreateTable) -> None:
        empty = Catalog(schema=self.catalog.schema, enums=self.catalog.enums)
        table = apply_operation(empty, op).table(op.name.name)
        if table is None:
            return
        row = self.row(table)
        for column in op.columns:
            self.definition(column, row, "create_table")
        for constraint in op.constraints:
            self.expect(constraint.check, row, None, Place.CONDITION,
                        f'check "{constraint.name.name}"')
            if constraint.exclude is not None:
                self.expect(constraint.exclude.predicate, row, None, Place.CONDITION,
                            f'exclusion constraint "{constraint.name.name}" predicate')

    def definition(self, column: ir.Column, row: Types, kind: str) -> None:
        """A column definition's default, generated expression and check."""
        target = self.ir_target(column.type)
        name = column.name.name
        self.expect(column.default, self.constants, target, Place.STORE,
                    f'{kind} default of column "{name}"')
        if column.generated is not None:
            self.expect(column.generated.expression, row, target, Place.STORE,
                        f'{kind} generated column "{name}"')
        if column.check is not None:
            self.expect(column.check.constraint, row, None, Place.CONDITION,
                        f'check "{column.check.name.name}"')

    def add_column(self, op: ir.AddColumn) -> None:
        table = self.catalog.table(op.table.name)
        if table is None:
            return
        after = apply_operation(self.catalog, op).table(op.table.name)
        self.definition(op.column, self.row(after or table), "add_column")
        self.expect(op.up, self.row(table), self.ir_target(op.column.type), Place.ASSIGN,
                    f'add_column "{op.column.name.name}" up')

    def alter_column(self, op: ir.AlterColumn) -> None:
        table = self.catalog.table(op.table.name)
        column = table.column(op.column.name) if table is not None else None
        if table is None or column is None:
            return
        old = self.target(column.type)
        new = self.ir_target(op.type) if op.type is not None else old
        name, where = column.name, f'alter_column "{op.table.name}.{op.column.name}"'
        if op.default is not None and op.default.value is not None:
            self.expect(op.default.value, self.constants, new, Place.STORE,
                        f"{where} default")
        new_row = self.row(table, **{name: new})
        if op.check is not None:
            self.expect(op.check.constraint, new_row, None, Place.CONDITION,
                        f'check "{op.check.name.name}"')
        self.expect(op.up, self.row(table), new, Place.ASSIGN, f"{where} up")
        self.expect(op.down, new_row, old, Place.ASSIGN, f"{where} down")
        if op.type is not None and old is not None and new is not None:
            if op.up is None:
                self.type_change(op, column, old, new)
            if op.default is None and column.default is not None:
                self.carried_default(op, column, new)

    def drop_column(self, op: ir.DropColumn) -> None:
        table = self.catalog.table(op.table.name)
        column = table.column(op.column.name) if table is not None else None
        if table is None or column is None:
            return
        self.expect(op.down, self.row(table), self.target(column.type), Place.ASSIGN,
                    f'drop_column "{op.table.name}.{op.column.name}" down')

    def create_constraint(self, op: ir.CreateConstraint) -> None:
        table = self.catalog.table(op.table.name)
        if table is None:
            return
        row = self.row(table)
        self.expect(op.check, row, None, Place.CONDITION, f'check "{op.name.name}"')
        self.column_map(table, row, op.up, f'create_constraint "{op.name.name}" up')
        self.column_map(table, row, op.down, f'create_constraint "{op.name.name}" down')

    def drop_constraint(self, op: ir.DropConstraint | ir.DropMulticolumnConstraint) -> None:
        table = self.catalog.table(op.table.name)
        constraint = table.constraint(op.name.name) if table is not None else None
        if table is None or constraint is None:
            return
        row = self.row(table)
        where = f'{op.kind} "{op.name.name}"'
        if isinstance(op, ir.DropConstraint):
            if len(constraint.columns) == 1:
                column = table.column(constraint.columns[0])
                target = self.target(column.type) if column is not None else None
                self.expect(op.up, row, target, Place.ASSIGN, f"{where} up")
                self.expect(op.down, row, target, Place.ASSIGN, f"{where} down")
            return
        self.column_map(table, row, op.up, f"{where} up")
        self.column_map(table, row, op.down, f"{where} down")

    def column_map(self, table: Table, row: Types, entries: tuple[ir.ColumnSql, ...],
                   role: str) -> None:
        for entry in entries:
            column = table.column(entry.column.name)
            if column is not None:
                self.expect(entry.sql, row, self.target(column.type), Place.ASSIGN,
                            f"{role}.{entry.column.name}")

    # ---- the checks -----------------------------------------------------------------------

    def expect(self, expr: ir.SqlExpr | None, row: Types, target: Target | None,
               place: Place, role: str) -> None:
        """Report ``expr`` when its value cannot take its place (``target``, or boolean)."""
        tree = parse_expression(expr.text) if expr is not None else None
        if expr is None or tree is None:
            return
        if self.casts(expr, tree, row, role):
            return  # the expression fails before its value reaches its place
        if place is Place.CONDITION:
            target = Target(BOOL, (), "boolean")
        if target is None:
            return
        typed = infer(expr.text, row)
        if typed is None or typed.null:
            return
        if typed.type == UNKNOWN and typed.literal is not None:
            problem = text_problem(typed.literal, target.name, target.mods,
                                   self.enums.get(target.name))
            if problem is not None:
                self.invalid_constant(expr, typed, target, role, problem, place)
            return
        cast = coercion(typed.type, target.name, "a", row)
        if cast is False and (place is not Place.ASSIGN
                              or never_through_text(typed.type, target.name)):
            self.mismatch(expr, typed, target, role, place)
            return
        if cast is True and typed.number is not None:
            problem = number_problem(typed.number, target.name, target.mods)
            if problem is not None:
                self.invalid_constant(expr, typed, target, role, problem, place)

    def casts(self, expr: ir.SqlExpr, tree: object, row: Types, role: str) -> bool:
        """Report explicit casts PostgreSQL refuses (``now()::int``, ``'abc'::int``).

        Sub-queries are not entered: a name there may be another table's column.
        """
        found = False
        for node, conditional in _casts(tree, False):
            target = (type_of_name(node.typeName, row, self.catalog.schema)
                      if node.typeName is not None else None)
            mods = modifiers(node.typeName) if node.typeName is not None else None
            typed = infer_node(node.arg, row)
            if target is None or mods is None or typed is None or typed.null:
                continue
            typed = replace(typed, offset=_start(node.arg))
            spelling = Target(target, mods, spelled(target))
            if typed.type == UNKNOWN and typed.literal is not None:
                # An explicit cast cuts text to a varchar(n)/char(n) length, it never fails.
                length = () if target in ("varchar", "bpchar") else mods
                problem = text_problem(typed.literal, target, length, self.enums.get(target))
            elif coercion(typed.type, target, "e", row) is False:
                source = spelled(typed.type)
                operand = _operand(expr.text, node.arg)
                width = len(operand) if operand != "…" else 1
                self.sink.report(codes.TYPE_MISMATCH, _at(expr, typed.offset, width),
                                 f"{role}: PostgreSQL cannot cast type {source} to "
                                 f"{spelled(target)}",
                                 _conversion_hint(operand, typed.type, spelling, cast=False))
                found = True
                continue
            elif typed.number is not None and not conditional:
                # Under CASE, COALESCE, AND or OR the planner may drop the branch unevaluated.
                problem = number_problem(typed.number, target, mods)
            else:
                continue
            if problem is not None:
                self.invalid_constant(expr, typed, spelling, role, problem, None)
                found = True
        return found

    def invalid_constant(self, expr: ir.SqlExpr, typed: Typed, target: Target, role: str,
                         problem: str, place: Place | None) -> None:
        """PGD510; ``place`` is None for a constant under an explicit cast."""
        shown = (f"'{typed.literal}'" if typed.literal is not None else typed.number or "")
        what = "boolean" if place is Place.CONDITION else target.spelled
        example = EXAMPLES.get(target.name)
        labels = self.enums.get(target.name)
        hint = (f"write one of the enum's labels, such as '{labels[0]}'" if labels
                else f"write a constant such as {example}" + (
                    ", or change the column's type" if place is not None else "")
                if example else "write a value of that type")
        self.sink.report(codes.INVALID_CONSTANT, _at(expr, typed.offset, len(shown)),
                         f"{role}: {shown} is not a valid {what}: {problem}", hint)

    def mismatch(self, expr: ir.SqlExpr, typed: Typed, target: Target, role: str,
                 place: Place) -> None:
        source = spelled(typed.type)
        span = _at(expr, 0, len(expr.text))
        if place is Place.CONDITION:
            self.sink.report(codes.NOT_BOOLEAN, span,
                             f"{role} must be a boolean condition, but it is of type {source}",
                             f"compare it, for example `{_condition(expr.text, typed.type)}`")
            return
        how = (f"PostgreSQL has no assignment cast from {source} to {spelled(target.name)}"
               if place is Place.STORE else
               f"there is no assignment cast from {source} to {spelled(target.name)}, and no "
               f"{source} value converts through its text")
        self.sink.report(codes.TYPE_MISMATCH, span,
                         f"{role} is of type {source}, but the column is {target.spelled}: "
                         f"{how}", _conversion_hint(expr.text, typed.type, target))

    def type_change(self, op: ir.AlterColumn, column: Column, old: Target,
                    new: Target) -> None:
        """A type change without ``up`` copies the old value: it must convert."""
        row = replace(self.constants, columns={column.name: old.name})
        if coercion(old.name, new.name, "a", row) is not False:
            return
        if not never_through_text(old.name, new.name):
            return
        assert op.type is not None
        suggestion = _conversion(_ident(column.name), old.name, new)
        hint = (f"give it an `up` that converts the old value, for example "
                f"`{suggestion}`" if suggestion else
                "give it an `up` that converts the old value to the new type")
        self.sink.report(codes.TYPE_CHANGE_NEEDS_UP, op.type.span or op.span,
                         f'alter_column "{op.table.name}.{op.column.name}": changing the type '
                         f"from {spelled(old.name)} to {new.spelled} needs an `up`: there is "
                         f"no assignment cast from {spelled(old.name)} to {spelled(new.name)}, "
                         f"and no {spelled(old.name)} value converts through its text", hint)

    def carried_default(self, op: ir.AlterColumn, column: Column, new: Target) -> None:
        """The column's default moves to the new type with an assignment cast."""
        assert op.type is not None and column.default is not None
        typed = infer(column.default, self.constants)
        if typed is None or typed.null:
            return
        if typed.type == UNKNOWN and typed.literal is not None:
            problem = text_problem(typed.literal, new.name, new.mods, self.enums.get(new.name))
        elif coercion(typed.type, new.name, "a", self.constants) is False:
            problem = f"there is no assignment cast from {spelled(typed.type)}"
        else:
            return
        if problem is None:
            return
        self.sink.report(codes.TYPE_CHANGE_NEEDS_UP, op.type.span or op.span,
                         f'alter_column "{op.table.name}.{op.column.name}": the column\'s '
                         f"default {column.default} cannot follow it to {new.spelled}: "
                         f"{problem}",
                         "give the new type its own default in the same alter_column "
                         "(`set default ...` or `drop default`)")


def user_routines(routines: Routines, enums: dict[str, tuple[str, ...]], schema: str
                  ) -> UserRoutines:
    """The catalog's ``Routines`` as the inference reads them: casts as pg_type names.

    A cast between types the checks do not model (a domain, another schema's type) is
    dropped: an expression of such a type has no certain type anyway.
    """
    types = Types(enums=enums)
    casts: set[tuple[str, str]] = set()
    for source, target in routines.casts:
        nodes = parse_type(source), parse_type(target)
        names = [type_of_name(n, types, schema) if n is not None else None for n in nodes]
        if names[0] is not None and names[1] is not None:
            casts.add((names[0], names[1]))
    return UserRoutines(functions=routines.functions, operators=routines.operators,
                        casts=frozenset(casts), opaque=routines.opaque)


def _at(expr: ir.SqlExpr, offset: int, width: int) -> Span | None:
    if "\n" in expr.text[offset: offset + width]:
        width = 1
    return ir.span_within(expr, offset, max(width, 1))


def _ident(name: str) -> str:
    from pgroll_dsl.sql.quoting import quote_name

    return quote_name(name)


_CONDITIONAL = (ast.CaseExpr, ast.CoalesceExpr, ast.MinMaxExpr, ast.BoolExpr)


def _casts(node: object, conditional: bool) -> list[tuple[ast.TypeCast, bool]]:
    """The explicit casts of an expression outside sub-queries, outermost first.

    Each comes with whether it sits in a branch PostgreSQL may leave unevaluated.
    """
    found: list[tuple[ast.TypeCast, bool]] = []
    if isinstance(node, ast.SubLink):
        return found
    if isinstance(node, ast.TypeCast):
        found.append((node, conditional))
    if isinstance(node, ast.Node):
        inner = conditional or isinstance(node, _CONDITIONAL)
        for name in node:
            found.extend(_casts(getattr(node, name), inner))
    elif isinstance(node, tuple | list):
        for item in node:
            found.extend(_casts(item, conditional))
    return found


def _start(node: object) -> int:
    """Where the text of ``node`` starts: its leftmost location (an operator's is its sign)."""
    starts: list[int] = []

    def visit(item: object) -> None:
        if isinstance(item, ast.Node):
            location = getattr(item, "location", None)
            if isinstance(location, int) and location >= 0:
                starts.append(offset_of(item))
            for name in item:
                visit(getattr(item, name))
        elif isinstance(item, tuple | list):
            for each in item:
                visit(each)

    visit(node)
    return min(starts, default=0)


def _operand(text: str, node: object) -> str:
    """The text of a cast's operand when it is a name or a call without arguments, else …."""
    if isinstance(node, ast.ColumnRef | ast.FuncCall):
        match = re.match(r'([A-Za-z_][A-Za-z0-9_$]*|"[^"]+")(\(\))?', text[_start(node):])
        if match and (isinstance(node, ast.ColumnRef) or not node.args):
            return match.group(0)
    return "…"


def _conversion(expression: str, source: str, target: Target, *, cast: bool = True
                ) -> str | None:
    """An expression converting ``expression`` of ``source`` to ``target``, if one is obvious."""
    simple = expression.replace("_", "").replace('"', "").isalnum()
    wrapped = expression if simple else f"({expression})"
    if source in _DATETIME - {"time", "timetz"} and target.name in _NUMBERS:
        return f"extract(epoch from {expression})::{target.spelled}"
    if source == "bool" and target.name in _NUMBERS:
        return f"CASE WHEN {expression} THEN 1 ELSE 0 END"
    if cast and coercion(source, target.name, "e", Types()) is True:
        return f"{wrapped}::{target.spelled}"
    return None


def _conversion_hint(expression: str, source: str, target: Target, *, cast: bool = True
                     ) -> str:
    suggestion = _conversion(expression, source, target, cast=cast)
    if suggestion is None:
        return f"write an expression of type {target.spelled}"
    return f"convert it explicitly, for example `{suggestion}`"


def _condition(expression: str, source: str) -> str:
    simple = expression.replace("_", "").replace('"', "").isalnum()
    wrapped = expression if simple else f"({expression})"
    if source in _NUMBERS:
        return f"{wrapped} > 0"
    if source in ("text", "varchar", "bpchar"):
        return f"{wrapped} <> ''"
    return f"{wrapped} IS NOT NULL"
