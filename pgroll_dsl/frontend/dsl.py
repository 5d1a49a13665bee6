"""DSL front end: ``grammar/migration.lark`` parse tree -> IR.

Every operation rule is named like its pgroll JSON key and IR class. Clauses come back from
the small rules as ``(key, value, span)`` triples; the operation builders collect them and
report a clause given twice, so the grammar can accept clauses in any order.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from typing import Any

from lark import Token, Transformer, Tree, v_args
from lark.exceptions import UnexpectedInput, VisitError
from lark.tree import Meta

from pgroll_dsl import ir
from pgroll_dsl.diagnostics import CompileError, Diagnostics, codes
from pgroll_dsl.frontend.conventions import (
    KEYWORDS,
    implied_check_columns,
    implied_up,
    implies_not_null,
    unless_copy,
    without_copies,
)
from pgroll_dsl.frontend.parser import load_parser, span_of, syntax_error
from pgroll_dsl.frontend.types import TypeNameError, build_type, ident_text
from pgroll_dsl.source import Layout, Span
from pgroll_dsl.sql.quoting import quote_name

Clause = tuple[str, Any, Span]


def parse_dsl(text: str, path: str, name: str) -> ir.Migration:
    """Parse one DSL file; raise ``CompileError`` carrying positioned diagnostics."""
    parser = load_parser("migration.lark", "start", "type_name")
    try:
        tree = parser.parse(text, start="start")
    except UnexpectedInput as exc:
        raise CompileError([syntax_error(exc, path, parser, text)]) from None
    sink = Diagnostics()
    try:
        items: list[Any] = _ToIR(path, text, sink).transform(tree)
    except VisitError as exc:  # lark wraps whatever a callback raised
        raise exc.orig_exc from None
    version_schema: str | None = None
    operations: list[ir.Operation] = []
    for item in items:
        if isinstance(item, tuple):
            _, value, span = item
            if version_schema is not None:
                sink.report(codes.DUPLICATE_FIELD, span, "'version schema' is given twice")
            version_schema = value.name
        else:
            operations.append(item)
    sink.raise_if_errors()
    return ir.Migration(
        name=name, operations=tuple(operations), version_schema=version_schema, path=path,
        span=Span(path, 1, 1, 1, 1), comments=tuple(_comments(text)),
    )


# Strings, quoted names and SQL blocks are matched too, so that a `--` inside them is skipped.
_LEXEMES = re.compile(r"'(?:[^']|'')*'|\"(?:[^\"]|\"\")*\"|`(?:[^`]|``)*`|--[^\n]*|/\*.*?\*/", re.S)


def _comments(text: str) -> Iterator[ir.Comment]:
    for match in _LEXEMES.finditer(text):
        lexeme = match.group()
        if lexeme.startswith(("--", "/*")):
            yield ir.Comment(text.count("\n", 0, match.start()) + 1, lexeme)


def _unquote_string(token: Token) -> str:
    return token[1:-1].replace("''", "'")


@v_args(meta=True)
class _ToIR(Transformer[Token, Any]):
    """Bottom-up: every method receives already-transformed children."""

    def __init__(self, path: str, text: str, sink: Diagnostics) -> None:
        super().__init__()
        self._path = path
        self._text = text
        self._sink = sink

    # ---- helpers --------------------------------------------------------------------

    def _span(self, meta: Meta) -> Span:
        return span_of(self._path, meta)

    def _fields(self, clauses: Iterable[Any], where: str) -> dict[str, Any]:
        fields: dict[str, Any] = {}
        for clause in clauses:
            if clause is None:
                continue
            key, value, span = clause
            if key in fields:
                self._sink.report(
                    codes.DUPLICATE_FIELD, span, f"{where}: '{key}' is given twice",
                    "keep one of the two clauses",
                )
            fields[key] = value
        return fields

    # ---- tokens ---------------------------------------------------------------------

    def name(self, meta: Meta, children: list[Token]) -> ir.Ident:
        (token,) = children
        return ir.Ident(ident_text(token)[0], span=span_of(self._path, token))

    def SQL(self, token: Token) -> ir.SqlExpr:  # noqa: N802 - lark calls terminals by name
        raw = token[1:-1]
        line, col = token.line or 1, (token.column or 1) + 1
        span = Span(self._path, line, col, token.end_line or line, token.end_column or col)
        layout = Layout.at(line, col) if "``" not in raw else None
        return ir.SqlExpr(raw.replace("``", "`"), span=span, layout=layout)

    def atom(self, meta: Meta, children: list[Token]) -> ir.SqlExpr:
        (token,) = children  # a lone number, 'string' or name is SQL written as is
        span = span_of(self._path, token)
        return ir.SqlExpr(str(token), span=span, layout=Layout.at(span.line, span.col))

    # ---- shared clauses -------------------------------------------------------------

    def version_schema(self, meta: Meta, children: list[ir.Ident]) -> Clause:
        return ("version_schema", children[0], self._span(meta))

    def comment(self, meta: Meta, children: list[Token]) -> Clause:
        return ("comment", _unquote_string(children[0]), self._span(meta))

    def up(self, meta: Meta, children: list[ir.SqlExpr]) -> Clause:
        return ("up", children[0], self._span(meta))

    def down(self, meta: Meta, children: list[ir.SqlExpr]) -> Clause:
        return ("down", children[0], self._span(meta))

    def type_name(self, meta: Meta, children: list[Any]) -> ir.TypeName:
        first = children[0].children[0]
        if first.type == "IDENT" and first.lower() in KEYWORDS:
            # `nickname not null`: the type is missing and the lexer took `not` for one.
            self._sink.report(
                codes.SYNTAX_ERROR, span_of(self._path, first),
                f"expected a column type, found the keyword {str(first)!r}",
                "write the type after the column name, e.g. `nickname text not null`",
            )
            return ir.TypeName(name="invalid", span=self._span(meta))
        tree: Tree[Any] = Tree("type_name", children)
        try:
            built = build_type(tree)
        except TypeNameError as err:
            self._sink.report(codes.BAD_TYPE_NAME, self._span(meta), str(err))
            built = ir.TypeName(name="invalid")
        return ir.TypeName(
            name=built.name, quoted=built.quoted, schema=built.schema,
            modifiers=built.modifiers, array_dims=built.array_dims, span=self._span(meta),
        )

    def type_word(self, meta: Meta, children: list[Any]) -> Tree[Any]:
        return Tree("type_word", children)

    def typmod(self, meta: Meta, children: list[Any]) -> Tree[Any]:
        return Tree("typmod", children)

    def array_dim(self, meta: Meta, children: list[Token | None]) -> Tree[Any]:
        return Tree("array_dim", [c for c in children if c is not None])

    def column_list(self, meta: Meta, children: list[ir.Ident | None]) -> tuple[ir.Ident, ...]:
        return tuple(c for c in children if c is not None)

    def no_inherit(self, meta: Meta, children: list[Any]) -> bool:
        return True

    def check_body(self, meta: Meta, children: list[Any]) -> tuple[ir.SqlExpr, bool]:
        return children[0], bool(children[1])

    def no_action(self, meta: Meta, children: list[Any]) -> ir.ForeignKeyAction:
        return ir.ForeignKeyAction.NO_ACTION

    def restrict(self, meta: Meta, children: list[Any]) -> ir.ForeignKeyAction:
        return ir.ForeignKeyAction.RESTRICT

    def cascade(self, meta: Meta, children: list[Any]) -> ir.ForeignKeyAction:
        return ir.ForeignKeyAction.CASCADE

    def set_null(self, meta: Meta, children: list[Any]) -> ir.ForeignKeyAction:
        return ir.ForeignKeyAction.SET_NULL

    def set_default_action(self, meta: Meta, children: list[Any]) -> ir.ForeignKeyAction:
        return ir.ForeignKeyAction.SET_DEFAULT

    def match_simple(self, meta: Meta, children: list[Any]) -> ir.MatchType:
        return ir.MatchType.SIMPLE

    def match_full(self, meta: Meta, children: list[Any]) -> ir.MatchType:
        return ir.MatchType.FULL

    def match_partial(self, meta: Meta, children: list[Any]) -> ir.MatchType:
        return ir.MatchType.PARTIAL

    def on_delete(self, meta: Meta, children: list[Any]) -> Clause:
        action = children[0]
        columns = children[1] if len(children) > 1 and children[1] is not None else ()
        return ("on_delete", (action, columns), self._span(meta))

    def on_update(self, meta: Meta, children: list[Any]) -> Clause:
        return ("on_update", children[0], self._span(meta))

    def match(self, meta: Meta, children: list[Any]) -> Clause:
        return ("match_type", children[0], self._span(meta))

    def deferrable(self, meta: Meta, children: list[Any]) -> Clause:
        return ("deferrable", True, self._span(meta))

    def initially_deferred(self, meta: Meta, children: list[Any]) -> Clause:
        return ("initially_deferred", True, self._span(meta))

    def references(self, meta: Meta, children: list[Any]) -> dict[str, Any]:
        table, column, *options = children
        fields = self._fields(options, "references")
        on_delete, set_columns = fields.pop("on_delete", (ir.ForeignKeyAction.NO_ACTION, ()))
        if set_columns:
            self._sink.report(
                codes.CONFLICTING_OPTIONS, self._span(meta),
                "a column reference cannot list columns after ON DELETE",
            )
        return {"table": table, "column": column, "on_delete": on_delete, **fields}

    def table_references(self, meta: Meta, children: list[Any]) -> ir.TableForeignKeyReference:
        table, columns, *options = children
        fields = self._fields(options, "references")
        on_delete, set_columns = fields.pop("on_delete", (ir.ForeignKeyAction.NO_ACTION, ()))
        return ir.TableForeignKeyReference(
            table=table, columns=columns, on_delete=on_delete,
            on_delete_set_columns=set_columns, span=self._span(meta), **fields,
        )

    def index_parameters(self, meta: Meta, children: list[Any]) -> ir.IndexParameters | None:
        include, storage, tablespace = children
        if include is None and storage is None and tablespace is None:
            return None
        return ir.IndexParameters(
            include_columns=include or (), storage_parameters=storage, tablespace=tablespace,
            span=self._span(meta),
        )

    # ---- column definitions ---------------------------------------------------------

    def not_null(self, meta: Meta, children: list[Any]) -> Clause:
        return ("nullable", False, self._span(meta))

    def null(self, meta: Meta, children: list[Any]) -> Clause:
        return ("nullable", True, self._span(meta))

    def primary_key(self, meta: Meta, children: list[Any]) -> Clause:
        return ("pk", True, self._span(meta))

    def unique(self, meta: Meta, children: list[Any]) -> Clause:
        return ("unique", True, self._span(meta))

    def default(self, meta: Meta, children: list[ir.SqlExpr]) -> Clause:
        return ("default", children[0], self._span(meta))

    def column_check(self, meta: Meta, children: list[Any]) -> Clause:
        name, (expr, no_inherit) = children
        check = ir.CheckConstraint(
            name=name, constraint=expr, no_inherit=no_inherit, span=self._span(meta)
        )
        return ("check", check, self._span(meta))

    def column_references(self, meta: Meta, children: list[Any]) -> Clause:
        name, fields = children
        ref = ir.ForeignKeyReference(name=name, span=self._span(meta), **fields)
        return ("references", ref, self._span(meta))

    def generated_expression(self, meta: Meta, children: list[ir.SqlExpr]) -> Clause:
        generated = ir.Generated(expression=children[0], span=self._span(meta))
        return ("generated", generated, self._span(meta))

    def _identity(self, meta: Meta, values: ir.IdentityValues, options: Any) -> Clause:
        identity = ir.Identity(
            user_specified_values=values,
            sequence_options=options,
            span=self._span(meta),
        )
        return ("generated", ir.Generated(identity=identity, span=self._span(meta)),
                self._span(meta))

    def generated_always(self, meta: Meta, children: list[Any]) -> Clause:
        return self._identity(meta, ir.IdentityValues.ALWAYS, children[0])

    def generated_by_default(self, meta: Meta, children: list[Any]) -> Clause:
        return self._identity(meta, ir.IdentityValues.BY_DEFAULT, children[0])

    def column(self, meta: Meta, children: list[Any]) -> ir.Column:
        name, type_, *options = children
        fields = self._fields(options, f"column {name.name!r}")
        # PostgreSQL semantics: nullable unless NOT NULL is said, or implied by a primary key,
        # a serial type or an identity.
        fields.setdefault("nullable", not implies_not_null(type_, fields.get("pk", False),
                                                           fields.get("generated")))
        return ir.Column(name=name, type=type_, span=self._span(meta), **fields)

    # ---- tables ---------------------------------------------------------------------

    def primary_key_body(self, meta: Meta, children: list[Any]) -> dict[str, Any]:
        columns, params = children
        return {"type": ir.ConstraintType.PRIMARY_KEY, "columns": columns,
                "index_parameters": params}

    def unique_body(self, meta: Meta, children: list[Any]) -> dict[str, Any]:
        *flag, columns, params = children
        body = {"type": ir.ConstraintType.UNIQUE, "columns": columns, "index_parameters": params}
        if flag and flag[0] is not None:
            body["nulls_not_distinct"] = True
        return body

    def nulls_not_distinct(self, meta: Meta, children: list[Any]) -> bool:
        return True

    def foreign_key_body(self, meta: Meta, children: list[Any]) -> dict[str, Any]:
        columns, references = children
        return {"type": ir.ConstraintType.FOREIGN_KEY, "columns": columns,
                "references": references}

    def exclude_body(self, meta: Meta, children: list[Any]) -> dict[str, Any]:
        method, elements, params, predicate = children
        exclude = ir.Exclude(
            index_method=str(method) if method is not None else None, elements=elements,
            predicate=predicate, span=self._span(meta),
        )
        return {"type": ir.ConstraintType.EXCLUDE, "exclude": exclude,
                "index_parameters": params}

    def check_columns_body(self, meta: Meta, children: list[Any]) -> dict[str, Any]:
        expr, no_inherit, columns = children
        return {"type": ir.ConstraintType.CHECK, "check": expr, "no_inherit": bool(no_inherit),
                "columns": implied_check_columns(expr) if columns is None else columns}

    def table_constraint(self, meta: Meta, children: list[Any]) -> ir.Constraint:
        name, body, *flags = children
        if isinstance(body, tuple):  # check_body
            expr, no_inherit = body
            body = {"type": ir.ConstraintType.CHECK, "check": expr, "no_inherit": no_inherit}
        fields = self._fields(flags, f"constraint {name.name!r}")
        return ir.Constraint(name=name, span=self._span(meta), **body, **fields)

    def create_table(self, meta: Meta, children: list[Any]) -> ir.CreateTable:
        name, *elements, comment = children
        columns = tuple(e for e in elements if isinstance(e, ir.Column))
        constraints = tuple(e for e in elements if isinstance(e, ir.Constraint))
        return ir.CreateTable(
            name=name, columns=columns, constraints=constraints,
            comment=comment[1] if comment is not None else None, span=self._span(meta),
        )

    def rename_table(self, meta: Meta, children: list[ir.Ident]) -> ir.RenameTable:
        from_, to = children
        return ir.RenameTable(from_=from_, to=to, span=self._span(meta))

    def drop_table(self, meta: Meta, children: list[ir.Ident]) -> ir.DropTable:
        return ir.DropTable(name=children[0], span=self._span(meta))

    # ---- columns --------------------------------------------------------------------

    def add_column(self, meta: Meta, children: list[Any]) -> ir.AddColumn:
        table, column, up = children
        return ir.AddColumn(
            table=table, column=column, up=implied_up(column, up[1] if up else None),
            span=self._span(meta),
        )

    def drop_column(self, meta: Meta, children: list[Any]) -> ir.DropColumn:
        table, column, down = children
        return ir.DropColumn(
            table=table, column=column, down=down[1] if down else None, span=self._span(meta)
        )

    def rename_column(self, meta: Meta, children: list[ir.Ident]) -> ir.RenameColumn:
        table, from_, to = children
        return ir.RenameColumn(table=table, from_=from_, to=to, span=self._span(meta))

    def set_type(self, meta: Meta, children: list[ir.TypeName]) -> Clause:
        return ("type", children[0], self._span(meta))

    def set_not_null(self, meta: Meta, children: list[Any]) -> Clause:
        return ("nullable", False, self._span(meta))

    def drop_not_null(self, meta: Meta, children: list[Any]) -> Clause:
        return ("nullable", True, self._span(meta))

    def set_default(self, meta: Meta, children: list[ir.SqlExpr]) -> Clause:
        return ("default", ir.Change(children[0], span=self._span(meta)), self._span(meta))

    def drop_default(self, meta: Meta, children: list[Any]) -> Clause:
        return ("default", ir.Change(None, span=self._span(meta)), self._span(meta))

    def drop_comment(self, meta: Meta, children: list[Any]) -> Clause:
        return ("comment", None, self._span(meta))

    def add_unique(self, meta: Meta, children: list[ir.Ident]) -> Clause:
        unique = ir.UniqueConstraint(name=children[0], span=self._span(meta))
        return ("unique", unique, self._span(meta))

    def add_check(self, meta: Meta, children: list[Any]) -> Clause:
        return self.column_check(meta, children)

    def add_references(self, meta: Meta, children: list[Any]) -> Clause:
        return self.column_references(meta, children)

    def alter_column(self, meta: Meta, children: list[Any]) -> ir.AlterColumn:
        table, column, *actions = children
        fields = self._fields(actions, f"alter column {column.name!r}")
        if "comment" in fields:
            fields["comment"] = ir.Change(fields["comment"])
        for key in ("up", "down"):
            if key in fields:
                fields[key] = unless_copy(fields[key], column)
        return ir.AlterColumn(table=table, column=column, span=self._span(meta), **fields)

    # ---- constraints ----------------------------------------------------------------

    def column_sql(self, meta: Meta, children: list[Any]) -> ir.ColumnSql:
        column, sql = children
        if sql is None:  # `(a)` is short for `(a a)`: the column's own value
            sql = ir.SqlExpr(quote_name(column.name, KEYWORDS), span=column.span)
        return ir.ColumnSql(column=column, sql=sql, span=self._span(meta))

    def column_sql_map(self, meta: Meta, children: list[Any]) -> tuple[ir.ColumnSql, ...]:
        entries = tuple(c for c in children if c is not None)
        seen: set[str] = set()
        for entry in entries:
            if entry.column.name in seen:
                self._sink.report(
                    codes.DUPLICATE_FIELD, entry.span,
                    f"column {entry.column.name!r} is given twice",
                )
            seen.add(entry.column.name)
        return entries

    def up_map(self, meta: Meta, children: list[Any]) -> tuple[ir.ColumnSql, ...]:
        return tuple(children[0])

    def down_map(self, meta: Meta, children: list[Any]) -> tuple[ir.ColumnSql, ...]:
        return tuple(children[0])

    def create_constraint(self, meta: Meta, children: list[Any]) -> ir.CreateConstraint:
        table, name, body, up, down = children
        body.pop("nulls_not_distinct", None)
        return ir.CreateConstraint(
            table=table, name=name, up=without_copies(up or ()), down=without_copies(down or ()),
            span=self._span(meta), **body,
        )

    def drop_constraint(self, meta: Meta, children: list[Any]) -> ir.DropConstraint:
        table, name, up, down = children
        return ir.DropConstraint(
            table=table, name=name, up=up[1] if up else None, down=down[1],
            span=self._span(meta),
        )

    def drop_multicolumn_constraint(
        self, meta: Meta, children: list[Any]
    ) -> ir.DropMulticolumnConstraint:
        table, name, up, down = children
        return ir.DropMulticolumnConstraint(
            table=table, name=name, up=without_copies(up or ()), down=down, span=self._span(meta)
        )

    def rename_constraint(self, meta: Meta, children: list[ir.Ident]) -> ir.RenameConstraint:
        table, from_, to = children
        return ir.RenameConstraint(table=table, from_=from_, to=to, span=self._span(meta))

    def _replica(self, meta: Meta, type_: ir.ReplicaIdentityType, index: ir.Ident | None = None
                 ) -> ir.ReplicaIdentity:
        return ir.ReplicaIdentity(type=type_, index=index, span=self._span(meta))

    def identity_full(self, meta: Meta, children: list[Any]) -> ir.ReplicaIdentity:
        return self._replica(meta, ir.ReplicaIdentityType.FULL)

    def identity_default(self, meta: Meta, children: list[Any]) -> ir.ReplicaIdentity:
        return self._replica(meta, ir.ReplicaIdentityType.DEFAULT)

    def identity_nothing(self, meta: Meta, children: list[Any]) -> ir.ReplicaIdentity:
        return self._replica(meta, ir.ReplicaIdentityType.NOTHING)

    def identity_index(self, meta: Meta, children: list[ir.Ident]) -> ir.ReplicaIdentity:
        return self._replica(meta, ir.ReplicaIdentityType.INDEX, children[0])

    def set_replica_identity(self, meta: Meta, children: list[Any]) -> ir.SetReplicaIdentity:
        table, identity = children
        return ir.SetReplicaIdentity(table=table, identity=identity, span=self._span(meta))

    # ---- indexes --------------------------------------------------------------------

    def collation(self, meta: Meta, children: list[Any]) -> str:
        # Kept as written: pgroll emits COLLATE verbatim, so "C" and C differ.
        return self._text[meta.start_pos : meta.end_pos]

    def opclass(self, meta: Meta, children: list[Any]) -> ir.OpClass:
        name, *params = children
        return ir.OpClass(
            name=name, params=tuple(p for p in params if p is not None), span=self._span(meta)
        )

    def asc(self, meta: Meta, children: list[Any]) -> ir.SortOrder:
        return ir.SortOrder.ASC

    def desc(self, meta: Meta, children: list[Any]) -> ir.SortOrder:
        return ir.SortOrder.DESC

    def nulls_first(self, meta: Meta, children: list[Any]) -> ir.NullsOrder:
        return ir.NullsOrder.FIRST

    def nulls_last(self, meta: Meta, children: list[Any]) -> ir.NullsOrder:
        return ir.NullsOrder.LAST

    def index_field(self, meta: Meta, children: list[Any]) -> ir.IndexField:
        column, collate, opclass, sort, nulls = children
        return ir.IndexField(
            column=column, collate=collate, opclass=opclass, sort=sort, nulls=nulls,
            span=self._span(meta),
        )

    def unique_index(self, meta: Meta, children: list[Any]) -> bool:
        return True

    def create_index(self, meta: Meta, children: list[Any]) -> ir.CreateIndex:
        unique, name, table, method, *fields, storage, predicate = children
        index_method: ir.IndexMethod | None = None
        if method is not None:
            try:
                index_method = ir.IndexMethod(str(method).lower())
            except ValueError:
                allowed = ", ".join(m.value for m in ir.IndexMethod)
                self._sink.report(
                    codes.INVALID_VALUE, span_of(self._path, method),
                    f"unknown index method {str(method)!r}", f"use one of: {allowed}",
                )
        return ir.CreateIndex(
            name=name, table=table, columns=tuple(fields), method=index_method,
            unique=bool(unique), predicate=predicate, storage_parameters=storage,
            span=self._span(meta),
        )

    def drop_index(self, meta: Meta, children: list[ir.Ident]) -> ir.DropIndex:
        return ir.DropIndex(name=children[0], span=self._span(meta))

    # ---- raw SQL --------------------------------------------------------------------

    def on_complete(self, meta: Meta, children: list[Any]) -> bool:
        return True

    def sql(self, meta: Meta, children: list[Any]) -> ir.Sql:
        on_complete, up, down = children

        def script(expr: ir.SqlExpr) -> ir.SqlScript:
            return ir.SqlScript(expr.text, span=expr.span, layout=expr.layout)

        return ir.Sql(
            up=script(up), down=script(down) if down is not None else None,
            on_complete=bool(on_complete), span=self._span(meta),
        )

    def start(self, meta: Meta, children: list[Any]) -> list[Any]:
        return children
