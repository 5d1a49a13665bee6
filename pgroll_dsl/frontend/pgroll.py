"""pgroll JSON/YAML front end: positioned documents -> IR, as strict as pgroll's decoder.

Unknown keys, missing required fields and values of the wrong type are reported at the
offending key or value. A misspelt required key (``"colum"``) is reported once, at the key,
as an unknown key with the spelling it is close to, rather than as the missing field it
causes. pgroll's zero values ("", false, {}) mean "absent" and are normalised away so that
the IR has one spelling per meaning (see ``ir.ops``).
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Callable
from enum import StrEnum
from typing import Any, TypeVar

from lark.exceptions import UnexpectedInput

from pgroll_dsl import ir
from pgroll_dsl.diagnostics import Diagnostics, codes
from pgroll_dsl.frontend.conventions import unless_copy, without_copies
from pgroll_dsl.frontend.document import JNode
from pgroll_dsl.frontend.parser import load_parser
from pgroll_dsl.frontend.types import TypeNameError, build_type
from pgroll_dsl.source import Span

E = TypeVar("E", bound=StrEnum)
T = TypeVar("T")


class _Invalid(Exception):
    """Unwinds one object whose problems are already in the sink."""


class _Obj:
    """Reads one JSON object field by field; ``done()`` reports the keys nobody asked for."""

    def __init__(self, node: JNode, where: str, sink: Diagnostics) -> None:
        if not isinstance(node.value, dict):
            sink.report(codes.WRONG_TYPE, node.span,
                        f"{where} must be an object, not {node.type_name}")
            raise _Invalid
        self.node = node
        self.members: dict[str, JNode] = node.value
        self.where = where
        self.sink = sink
        self.seen: set[str] = set()
        self.missing: list[str] = []  # reported by done(), which knows the unknown keys
        self.failed = False

    def get(self, key: str, required: bool = False) -> JNode | None:
        self.seen.add(key)
        value = self.members.get(key)
        if value is None and required and key not in self.missing:
            self.missing.append(key)
            self.failed = True
        return value

    def _anchor(self) -> Span:
        span = self.node.span
        return Span(span.path, span.line, span.col, span.line, span.col + 1)

    def _typed(self, key: str, node: JNode, kinds: tuple[type, ...], name: str) -> bool:
        value = node.value
        ok = isinstance(value, kinds) and not (bool not in kinds and isinstance(value, bool))
        if not ok:
            self.sink.report(codes.WRONG_TYPE, node.span,
                             f"{self.where}: {key!r} must be {name}, not {node.type_name}")
            self.failed = True
        return ok

    def string(self, key: str, required: bool = False) -> JNode | None:
        node = self.get(key, required)
        if node is None or not self._typed(key, node, (str,), "a string"):
            return None
        return node

    def text(self, key: str, required: bool = False) -> str | None:
        """An optional string; "" is pgroll's zero value and means absent.

        The IR keeps such strings without a span of their own, so a NUL (which no PostgreSQL
        text can hold) is reported here, where the value's position is known.
        """
        node = self.string(key, required)
        if node is None or node.value == "":
            return None
        if "\x00" in str(node.value):
            self.sink.report(codes.NUL_CHARACTER, node.span,
                             f"{self.where}: {key!r} contains a NUL character",
                             "PostgreSQL cannot store a NUL in text; remove it")
            self.failed = True
        return str(node.value)

    def boolean(self, key: str) -> bool:
        node = self.get(key)
        if node is None or not self._typed(key, node, (bool,), "a boolean"):
            return False
        return bool(node.value)

    def ident(self, key: str, required: bool = True) -> ir.Ident | None:
        node = self.string(key, required)
        return ir.Ident(str(node.value), span=node.span) if node is not None else None

    def expr(self, key: str, required: bool = False) -> ir.SqlExpr | None:
        node = self.string(key, required)
        if node is None or node.value == "":
            return None
        return ir.SqlExpr(str(node.value), span=node.span, layout=node.layout)

    def items(self, key: str, required: bool = False) -> list[JNode]:
        node = self.get(key, required)
        if node is None or not self._typed(key, node, (list,), "an array"):
            return []
        assert isinstance(node.value, list)
        return node.value

    def idents(self, key: str, required: bool = False) -> tuple[ir.Ident, ...]:
        result = []
        for item in self.items(key, required):
            if self._typed(key, item, (str,), "an array of strings"):
                result.append(ir.Ident(str(item.value), span=item.span))
        return tuple(result)

    def enum(self, key: str, enum: type[E], default: E | None = None, fold: bool = False
             ) -> E | None:
        node = self.string(key)
        if node is None or node.value == "":
            return default
        text = str(node.value)
        for member in enum:
            if member.value == text or (fold and member.value.lower() == text.lower()):
                return member
        allowed = ", ".join(repr(m.value) for m in enum)
        self.sink.report(codes.INVALID_VALUE, node.span,
                         f"{self.where}: {key!r} must be one of {allowed}, not {text!r}")
        self.failed = True
        return default

    def child(self, key: str, build: Callable[[_Obj], T], required: bool = False,
              label: str | None = None) -> T | None:
        node = self.get(key, required)
        if node is None:
            return None
        try:
            return _read_object(node, label or f"{self.where}.{key}", self.sink, build)
        except _Invalid:
            self.failed = True
            return None

    def objects(self, key: str, build: Callable[[_Obj], T], required: bool = False) -> list[T]:
        """An array of objects, each read strictly; a bad element fails this reader too."""
        result = []
        for i, item in enumerate(self.items(key, required)):
            try:
                result.append(_read_object(item, f"{self.where}.{key}[{i}]", self.sink, build))
            except _Invalid:
                self.failed = True
        return result

    def done(self, complete: bool = True) -> None:
        """Report unknown keys and missing fields; raise ``_Invalid`` if anything failed.

        ``complete`` is False when the builder gave up early: keys it never asked for may
        then be valid, so only a key close to a missing required one is reported (the typo
        that made it missing).
        """
        explained = set()
        for key, key_span in self.node.key_spans.items():
            if key in self.seen:
                continue
            close = difflib.get_close_matches(key, sorted(self.seen), n=1)
            if close and close[0] in self.missing:
                explained.add(close[0])
                self.sink.report(codes.UNKNOWN_KEY, key_span,
                                 f"{self.where}: unknown key {key!r}, did you mean {close[0]!r}?",
                                 f"{close[0]!r} is required here and is missing; keys are "
                                 "case-sensitive")
            elif complete:
                hints = (f"did you mean {close[0]!r}?",) if close else ()
                self.sink.report(codes.UNKNOWN_KEY, key_span,
                                 f"{self.where}: unknown key {key!r}", *hints)
            self.failed = True
        for key in self.missing:
            if key not in explained:
                self.sink.report(codes.MISSING_FIELD, self._anchor(),
                                 f"{self.where}: field {key!r} is required")
        if self.failed or not complete:
            raise _Invalid


def _read_object(node: JNode, where: str, sink: Diagnostics, build: Callable[[_Obj], T]) -> T:
    """Build one object and check its keys, even when the builder gives up half way.

    Raises ``_Invalid`` once every problem of the object is in ``sink``.
    """
    reader = _Obj(node, where, sink)
    try:
        value = build(reader)
    except _Invalid:
        reader.done(complete=False)
        raise
    reader.done()
    return value


def migration_from_document(root: JNode, name: str, path: str) -> ir.Migration:
    """Map a positioned pgroll document onto the IR; raise CompileError on any problem."""
    sink = Diagnostics()
    operations: list[ir.Operation] = []
    version_schema: str | None = None
    try:
        top = _Obj(root, "migration", sink)
        if "name" in top.members:
            top.seen.add("name")
            sink.report(codes.UNKNOWN_KEY, top.node.key_spans["name"],
                        "migration: unknown key 'name'",
                        "the migration name is the file name without its extension")
        version_schema = top.text("version_schema")
        for index, item in enumerate(top.items("operations", required=True)):
            op = _operation(item, index, sink)
            if op is not None:
                operations.append(op)
        top.done()
    except _Invalid:
        pass
    sink.raise_if_errors()
    return ir.Migration(name=name, operations=tuple(operations), version_schema=version_schema,
                        path=path, span=root.span)


def _operation(node: JNode, index: int, sink: Diagnostics) -> ir.Operation | None:
    if not isinstance(node.value, dict):
        sink.report(codes.WRONG_TYPE, node.span,
                    f"operation {index} must be an object, not {node.type_name}")
        return None
    if len(node.value) != 1:
        keys = ", ".join(node.value) or "none"
        sink.report(codes.OPERATION_SHAPE, node.span,
                    f"operation {index} must have exactly one key (the operation type), "
                    f"found {keys}")
        return None
    ((kind, body),) = node.value.items()
    builder = _BUILDERS.get(kind)
    if builder is None:
        close = difflib.get_close_matches(kind, ir.OPERATION_KINDS, n=1)
        hints = (f"did you mean {close[0]!r}?",) if close else ()
        sink.report(codes.UNKNOWN_OPERATION, node.key_spans[kind],
                    f"unknown operation type {kind!r}", *hints)
        return None
    try:
        return _read_object(body, kind, sink, builder)
    except _Invalid:
        return None


def _type(reader: _Obj, key: str) -> ir.TypeName | None:
    node = reader.string(key, required=True)
    if node is None:
        return None
    return parse_type(str(node.value), node.span, reader.sink)


def parse_type(text: str, span: Span, sink: Diagnostics) -> ir.TypeName | None:
    """Parse a pgroll ``type`` string with the DSL's ``type_name`` rule."""
    parser = load_parser("migration.lark", "start", "type_name")
    try:
        tree = parser.parse(text, start="type_name")
        built = build_type(tree)
    except (UnexpectedInput, TypeNameError) as err:
        detail = str(err) if isinstance(err, TypeNameError) else "it is not a type name"
        sink.report(codes.BAD_TYPE_NAME, span, f"invalid column type {text!r}: {detail}",
                    "write a PostgreSQL type such as text, varchar(255) or numeric(10,2)")
        return None
    return ir.TypeName(name=built.name, quoted=built.quoted, schema=built.schema,
                       modifiers=built.modifiers, array_dims=built.array_dims, span=span)


# ---- shared sub-structures -------------------------------------------------------------


def _check(r: _Obj) -> ir.CheckConstraint:
    name, constraint = r.ident("name"), r.expr("constraint", required=True)
    no_inherit = r.boolean("no_inherit")
    if name is None or constraint is None:
        raise _Invalid
    return ir.CheckConstraint(name=name, constraint=constraint, no_inherit=no_inherit,
                              span=r.node.span)


def _references(r: _Obj) -> ir.ForeignKeyReference:
    name, table, column = r.ident("name"), r.ident("table"), r.ident("column")
    on_delete = r.enum("on_delete", ir.ForeignKeyAction, ir.ForeignKeyAction.NO_ACTION, fold=True)
    on_update = r.enum("on_update", ir.ForeignKeyAction, ir.ForeignKeyAction.NO_ACTION, fold=True)
    match_type = r.enum("match_type", ir.MatchType, ir.MatchType.SIMPLE, fold=True)
    deferrable, deferred = r.boolean("deferrable"), r.boolean("initially_deferred")
    if name is None or table is None or column is None or r.failed:
        raise _Invalid
    assert on_delete and on_update and match_type
    return ir.ForeignKeyReference(
        name=name, table=table, column=column, on_delete=on_delete, on_update=on_update,
        match_type=match_type, deferrable=deferrable, initially_deferred=deferred,
        span=r.node.span,
    )


def _table_references(r: _Obj) -> ir.TableForeignKeyReference:
    table, columns = r.ident("table"), r.idents("columns", required=True)
    on_delete = r.enum("on_delete", ir.ForeignKeyAction, ir.ForeignKeyAction.NO_ACTION, fold=True)
    on_update = r.enum("on_update", ir.ForeignKeyAction, ir.ForeignKeyAction.NO_ACTION, fold=True)
    match_type = r.enum("match_type", ir.MatchType, ir.MatchType.SIMPLE, fold=True)
    set_columns = r.idents("on_delete_set_columns")
    if table is None or r.failed:
        raise _Invalid
    assert on_delete and on_update and match_type
    return ir.TableForeignKeyReference(
        table=table, columns=columns, on_delete=on_delete, on_update=on_update,
        match_type=match_type, on_delete_set_columns=set_columns, span=r.node.span,
    )


def _generated(r: _Obj) -> ir.Generated | None:
    expression = r.expr("expression")
    identity = r.child("identity", _identity)
    if expression is None and identity is None:
        return None
    return ir.Generated(expression=expression, identity=identity, span=r.node.span)


def _identity(r: _Obj) -> ir.Identity:
    values = r.enum("user_specified_values", ir.IdentityValues, ir.IdentityValues.ALWAYS)
    assert values is not None
    return ir.Identity(user_specified_values=values, sequence_options=r.expr("sequence_options"),
                       span=r.node.span)


def _column(r: _Obj) -> ir.Column:
    name, type_ = r.ident("name"), _type(r, "type")
    column = dict(
        nullable=r.boolean("nullable"),  # pgroll: NOT NULL unless nullable is true
        unique=r.boolean("unique"),
        pk=r.boolean("pk"),
        default=r.expr("default"),
        comment=r.text("comment"),
        check=r.child("check", _check),
        references=r.child("references", _references),
        generated=r.child("generated", _generated),
    )
    if name is None or type_ is None or r.failed:
        raise _Invalid
    return ir.Column(name=name, type=type_, span=r.node.span, **column)  # type: ignore[arg-type]


def _index_parameters(r: _Obj) -> ir.IndexParameters | None:
    params = ir.IndexParameters(
        tablespace=r.ident("tablespace", required=False),
        storage_parameters=r.expr("storage_parameters"),
        include_columns=r.idents("include_columns"),
        span=r.node.span,
    )
    if params.tablespace is not None and params.tablespace.name == "":
        params = ir.IndexParameters(storage_parameters=params.storage_parameters,
                                    include_columns=params.include_columns, span=r.node.span)
    return None if params == ir.IndexParameters() else params


def _exclude(r: _Obj) -> ir.Exclude:
    method = r.text("index_method")
    if method is not None and not _ACCESS_METHOD.fullmatch(method):
        r.sink.report(codes.INVALID_VALUE, r.members["index_method"].span,
                      f"{r.where}: 'index_method' must be an access method name, not {method!r}")
        r.failed = True
    return ir.Exclude(index_method=method, elements=r.expr("elements"),
                      predicate=r.expr("predicate"), span=r.node.span)


_ACCESS_METHOD = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
# A collation name as PostgreSQL writes it: optionally schema-qualified, each part plain or
# "quoted"; pgroll splices it verbatim after COLLATE.
_COLLATION = re.compile(r'(?:[A-Za-z_][A-Za-z0-9_$]*|"(?:[^"]|"")+")'
                        r'(?:\.(?:[A-Za-z_][A-Za-z0-9_$]*|"(?:[^"]|"")+"))?')


def _constraint(r: _Obj) -> ir.Constraint:
    name = r.ident("name")
    type_ = r.enum("type", ir.ConstraintType)
    if "type" not in r.members:
        r.get("type", required=True)
    fields = dict(
        columns=r.idents("columns"),
        check=r.expr("check"),
        no_inherit=r.boolean("no_inherit"),
        nulls_not_distinct=r.boolean("nulls_not_distinct"),
        deferrable=r.boolean("deferrable"),
        initially_deferred=r.boolean("initially_deferred"),
        references=r.child("references", _table_references),
        exclude=r.child("exclude", _exclude),
        index_parameters=r.child("index_parameters", _index_parameters),
    )
    _require_for_type(r, type_, fields)
    if name is None or type_ is None or r.failed:
        raise _Invalid
    return ir.Constraint(name=name, type=type_, span=r.node.span, **fields)  # type: ignore[arg-type]


def _require_for_type(r: _Obj, type_: ir.ConstraintType | None, fields: dict[str, Any]) -> None:
    """What each constraint type cannot do without (pgroll checks these at validation)."""
    needed = {
        ir.ConstraintType.CHECK: ("check", fields.get("check")),
        ir.ConstraintType.FOREIGN_KEY: ("references", fields.get("references")),
        ir.ConstraintType.EXCLUDE: ("exclude.elements", getattr(fields.get("exclude"),
                                                                "elements", None)),
    }
    if type_ in needed:
        key, value = needed[type_]
        if value is None and not r.failed:
            r.sink.report(codes.MISSING_FIELD, r.node.span,
                          f"{r.where}: a {type_.value} constraint needs {key!r}")
            r.failed = True


def _column_sql_map(r: _Obj, key: str, required: bool = False) -> tuple[ir.ColumnSql, ...]:
    node = r.get(key, required)
    if node is None:
        return ()
    if not isinstance(node.value, dict):
        r._typed(key, node, (dict,), "an object of column: SQL")
        return ()
    entries = []
    for column, value in node.value.items():
        if r._typed(f"{key}.{column}", value, (str,), "a string"):
            entries.append(ir.ColumnSql(
                column=ir.Ident(column, span=node.key_spans[column]),
                sql=ir.SqlExpr(str(value.value), span=value.span, layout=value.layout),
                span=node.key_spans[column],
            ))
    return tuple(entries)


def _change(r: _Obj, key: str) -> ir.Change[Any] | None:
    """Tri-state: absent, null (remove) or a string (set)."""
    node = r.get(key)
    if node is None:
        return None
    if node.value is None:
        return ir.Change(None, span=node.span)
    if not r._typed(key, node, (str,), "a string or null"):
        return None
    return ir.Change(str(node.value), span=node.span)


def _required(*values: object) -> None:
    if any(v is None for v in values):
        raise _Invalid


# ---- operations ------------------------------------------------------------------------


def _op_create_table(r: _Obj) -> ir.CreateTable:
    name = r.ident("name")
    columns = r.objects("columns", _column, required=True)
    constraints = r.objects("constraints", _constraint)
    comment = r.text("comment")
    _required(name)
    assert name is not None
    return ir.CreateTable(name=name, columns=tuple(columns), constraints=tuple(constraints),
                          comment=comment, span=r.node.span)


def _op_rename_table(r: _Obj) -> ir.RenameTable:
    from_, to = r.ident("from"), r.ident("to")
    _required(from_, to)
    assert from_ and to
    return ir.RenameTable(from_=from_, to=to, span=r.node.span)


def _op_drop_table(r: _Obj) -> ir.DropTable:
    name = r.ident("name")
    _required(name)
    assert name
    return ir.DropTable(name=name, span=r.node.span)


def _op_add_column(r: _Obj) -> ir.AddColumn:
    table = r.ident("table")
    column = r.child("column", _column, required=True, label="add_column.column")
    up = r.expr("up")
    _required(table, column)
    assert table and column
    return ir.AddColumn(table=table, column=column, up=up, span=r.node.span)


def _op_drop_column(r: _Obj) -> ir.DropColumn:
    table, column, down = r.ident("table"), r.ident("column"), r.expr("down")
    _required(table, column)
    assert table and column
    return ir.DropColumn(table=table, column=column, down=down, span=r.node.span)


def _op_rename_column(r: _Obj) -> ir.RenameColumn:
    table, from_, to = r.ident("table"), r.ident("from"), r.ident("to")
    _required(table, from_, to)
    assert table and from_ and to
    return ir.RenameColumn(table=table, from_=from_, to=to, span=r.node.span)


def _op_alter_column(r: _Obj) -> ir.AlterColumn:
    table, column = r.ident("table"), r.ident("column")
    type_ = _type(r, "type") if "type" in r.members else None
    nullable_node = r.get("nullable")
    nullable: bool | None = None
    if nullable_node is not None and r._typed("nullable", nullable_node, (bool,), "a boolean"):
        nullable = bool(nullable_node.value)
    unique = r.child("unique", lambda u: ir.UniqueConstraint(name=u.ident("name") or _fail(),
                                                             span=u.node.span))
    fields = dict(
        type=type_, nullable=nullable, unique=unique,
        check=r.child("check", _check), references=r.child("references", _references),
        default=_change(r, "default"), comment=_change(r, "comment"),
        up=r.expr("up"), down=r.expr("down"),
    )
    _required(table, column)
    assert table and column
    fields["up"] = unless_copy(fields["up"], column)  # type: ignore[arg-type]
    fields["down"] = unless_copy(fields["down"], column)  # type: ignore[arg-type]
    if default := fields["default"]:
        assert isinstance(default, ir.Change)
        if default.value is not None:
            node = r.members["default"]
            fields["default"] = ir.Change(ir.SqlExpr(str(default.value), span=node.span,
                                                     layout=node.layout), span=node.span)
    return ir.AlterColumn(table=table, column=column, span=r.node.span, **fields)  # type: ignore[arg-type]


def _fail() -> ir.Ident:
    raise _Invalid


def _op_create_index(r: _Obj) -> ir.CreateIndex:
    name, table = r.ident("name"), r.ident("table")
    fields = r.objects("columns", _index_field, required=True)
    op = dict(
        method=r.enum("method", ir.IndexMethod),
        unique=r.boolean("unique"),
        predicate=r.expr("predicate"),
        storage_parameters=r.expr("storage_parameters"),
    )
    _required(name, table)
    assert name and table
    return ir.CreateIndex(name=name, table=table, columns=tuple(fields), span=r.node.span,
                          **op)  # type: ignore[arg-type]


def _index_field(r: _Obj) -> ir.IndexField:
    column = r.ident("column")
    opclass = r.child("opclass", _opclass)
    collate = r.text("collate")
    if collate is not None and not _COLLATION.fullmatch(collate):
        r.sink.report(codes.INVALID_VALUE, r.members["collate"].span,
                      f"{r.where}: 'collate' must be a collation name, not {collate!r}",
                      'quote names with capitals or dashes: "en-US"')
        r.failed = True
    sort, nulls = r.enum("sort", ir.SortOrder), r.enum("nulls", ir.NullsOrder)
    return ir.IndexField(column=column or _fail(), collate=collate, opclass=opclass, sort=sort,
                         nulls=nulls, span=r.node.span)


def _opclass(r: _Obj) -> ir.OpClass | None:
    name = r.ident("name", required=False)
    params = []
    for item in r.items("params"):
        if r._typed("params", item, (str,), "an array of strings"):
            params.append(ir.SqlExpr(str(item.value), span=item.span, layout=item.layout))
    if name is None or name.name == "":
        return None
    return ir.OpClass(name=name, params=tuple(params), span=r.node.span)


def _op_drop_index(r: _Obj) -> ir.DropIndex:
    name = r.ident("name")
    _required(name)
    assert name
    return ir.DropIndex(name=name, span=r.node.span)


def _op_create_constraint(r: _Obj) -> ir.CreateConstraint:
    table, name = r.ident("table"), r.ident("name")
    type_ = r.enum("type", ir.ConstraintType)
    if "type" not in r.members:
        r.get("type", required=True)
    elif type_ is ir.ConstraintType.EXCLUDE:
        r.sink.report(codes.INVALID_VALUE, r.members["type"].span,
                      "create_constraint: 'exclude' is only allowed in create_table")
        r.failed = True
    fields = dict(
        columns=r.idents("columns"), check=r.expr("check"), no_inherit=r.boolean("no_inherit"),
        references=r.child("references", _table_references),
        index_parameters=r.child("index_parameters", _index_parameters),
        up=without_copies(_column_sql_map(r, "up")),
        down=without_copies(_column_sql_map(r, "down")),
    )
    _require_for_type(r, type_, fields)
    _required(table, name, type_)
    assert table and name and type_
    return ir.CreateConstraint(table=table, name=name, type=type_, span=r.node.span,
                               **fields)  # type: ignore[arg-type]


def _op_drop_constraint(r: _Obj) -> ir.DropConstraint:
    table, name = r.ident("table"), r.ident("name")
    up, down = r.expr("up"), r.expr("down")
    _required(table, name)
    assert table and name
    return ir.DropConstraint(table=table, name=name, up=up, down=down, span=r.node.span)


def _op_drop_multicolumn_constraint(r: _Obj) -> ir.DropMulticolumnConstraint:
    table, name = r.ident("table"), r.ident("name")
    up = without_copies(_column_sql_map(r, "up"))
    down = _column_sql_map(r, "down", required=True)
    _required(table, name)
    assert table and name
    return ir.DropMulticolumnConstraint(table=table, name=name, up=up, down=down,
                                        span=r.node.span)


def _op_rename_constraint(r: _Obj) -> ir.RenameConstraint:
    table, from_, to = r.ident("table"), r.ident("from"), r.ident("to")
    _required(table, from_, to)
    assert table and from_ and to
    return ir.RenameConstraint(table=table, from_=from_, to=to, span=r.node.span)


def _replica_identity(r: _Obj) -> ir.ReplicaIdentity:
    type_ = r.enum("type", ir.ReplicaIdentityType, fold=True)
    if "type" not in r.members:
        r.get("type", required=True)
    index = r.ident("index", required=False)
    if type_ is None:
        raise _Invalid
    if index is not None and index.name == "":
        index = None
    if type_ is ir.ReplicaIdentityType.INDEX and index is None:
        r.sink.report(codes.MISSING_FIELD, r.node.span,
                      f"{r.where}: replica identity 'index' needs the index name in 'index'")
        raise _Invalid
    return ir.ReplicaIdentity(type=type_, index=index, span=r.node.span)


def _op_set_replica_identity(r: _Obj) -> ir.SetReplicaIdentity:
    table = r.ident("table")
    identity = r.child("identity", _replica_identity, required=True)
    _required(table, identity)
    assert table and identity
    return ir.SetReplicaIdentity(table=table, identity=identity, span=r.node.span)


def _op_sql(r: _Obj) -> ir.Sql:
    up, down = r.string("up", required=True), r.string("down")
    on_complete = r.boolean("onComplete")
    if up is None:
        raise _Invalid

    def script(node: JNode) -> ir.SqlScript:
        return ir.SqlScript(str(node.value), span=node.span, layout=node.layout)

    return ir.Sql(
        up=script(up),
        down=script(down) if down is not None and down.value != "" else None,
        on_complete=on_complete, span=r.node.span,
    )


_BUILDERS: dict[str, Callable[[_Obj], ir.Operation]] = {
    "create_table": _op_create_table,
    "rename_table": _op_rename_table,
    "drop_table": _op_drop_table,
    "add_column": _op_add_column,
    "drop_column": _op_drop_column,
    "rename_column": _op_rename_column,
    "alter_column": _op_alter_column,
    "create_index": _op_create_index,
    "drop_index": _op_drop_index,
    "create_constraint": _op_create_constraint,
    "drop_constraint": _op_drop_constraint,
    "drop_multicolumn_constraint": _op_drop_multicolumn_constraint,
    "rename_constraint": _op_rename_constraint,
    "set_replica_identity": _op_set_replica_identity,
    "sql": _op_sql,
}


