"""IR -> canonical DSL text (``pgroll-dsl fmt``, ``convert --to dsl``).

Canonical means: keywords in lower case, names quoted only when needed, one spelling per type
(the front ends fold synonyms), clauses in one fixed order and none that only repeats what
is implied, a statement on one line when it fits in ``WIDTH`` columns, else its first clause
on the first line and one further clause per line. Parsing the output gives back an equal
IR (tested on every example).
"""

from __future__ import annotations

import re
from typing import assert_never

from pgroll_dsl import ir
from pgroll_dsl.frontend.conventions import (
    KEYWORDS,
    implied_check_columns,
    implied_up,
    implies_not_null,
)
from pgroll_dsl.sql.quoting import quote_literal, quote_name, render_type

WIDTH = 120
INDENT = "  "

def emit_migration(migration: ir.Migration) -> str:
    """The whole file: optional ``version schema``, then one statement per operation.

    Comments (DSL input only) stay with the statement they precede; a comment inside a
    statement moves above it, and comments after the last statement stay at the end.
    """
    pending = sorted(migration.comments, key=lambda c: c.line)
    blocks = []
    if migration.version_schema is not None:
        blocks.append(f"version schema {_name(migration.version_schema)};")
    for op in migration.operations:
        last_line = op.span.end_line if op.span is not None else 0
        leading = [c.text for c in pending if c.line <= last_line]
        pending = [c for c in pending if c.line > last_line]
        blocks.append("\n".join([*leading, emit_operation(op) + ";"]))
    if pending:
        blocks.append("\n".join(c.text for c in pending))
    return "\n\n".join(blocks) + "\n" if blocks else ""


def _name(name: ir.Ident | str) -> str:
    return quote_name(name.name if isinstance(name, ir.Ident) else name, KEYWORDS)


def _names(names: tuple[ir.Ident, ...]) -> str:
    return "(" + ", ".join(_name(n) for n in names) + ")"


_ATOM = re.compile(r"-?[0-9]+(\.[0-9]+)?([eE][+-]?[0-9]+)?|'([^'\n]|'')*'|[A-Za-z_][A-Za-z0-9_$]*")


def _sql(expr: ir.SqlExpr | ir.SqlScript) -> str:
    """A lone number, string or name needs no backticks; anything else is a block."""
    text = expr.text
    if isinstance(expr, ir.SqlExpr) and _ATOM.fullmatch(text) and text.lower() not in KEYWORDS:
        return text
    return "`" + text.replace("`", "``") + "`"


def _type(type_: ir.TypeName) -> str:
    return render_type(type_, KEYWORDS)


def _layout(head: str, clauses: list[str]) -> str:
    """One line when it fits in ``WIDTH``; else the head and its first clause, then the rest.

    The first line then reads as the DDL statement (``alter table t alter c set not null``)
    and each further clause (``up``, ``down``, ...) has its own line, which keeps review
    diffs small: changing ``down`` touches one line.
    """
    line = " ".join([head, *clauses])
    if len(line) <= WIDTH and "\n" not in line:
        return line
    if clauses and len(head) + 1 + len(clauses[0]) <= WIDTH and "\n" not in clauses[0]:
        head, clauses = f"{head} {clauses[0]}", clauses[1:]
    return head + "".join(f"\n{INDENT}{c}" for c in clauses)


def emit_operation(op: ir.Operation) -> str:
    """One statement, without its terminating ``;``."""
    match op:
        case ir.CreateTable():
            return _create_table(op)
        case ir.RenameTable():
            return f"alter table {_name(op.from_)} rename to {_name(op.to)}"
        case ir.DropTable():
            return f"drop table {_name(op.name)}"
        case ir.AddColumn():
            clauses = [_column(op.column)]
            if op.up is not None and op.up != implied_up(op.column, None):
                clauses.append(f"up {_sql(op.up)}")
            return _layout(f"alter table {_name(op.table)} add", clauses)
        case ir.DropColumn():
            head = f"alter table {_name(op.table)} drop {_name(op.column)}"
            return _layout(head, [f"down {_sql(op.down)}"] if op.down is not None else [])
        case ir.RenameColumn():
            return (f"alter table {_name(op.table)} rename {_name(op.from_)}"
                    f" to {_name(op.to)}")
        case ir.AlterColumn():
            head = f"alter table {_name(op.table)} alter {_name(op.column)}"
            return _layout(head, _alter_clauses(op))
        case ir.CreateIndex():
            return _create_index(op)
        case ir.DropIndex():
            return f"drop index {_name(op.name)}"
        case ir.CreateConstraint():
            return _create_constraint(op)
        case ir.DropConstraint():
            clauses = [f"up {_sql(op.up)}"] if op.up is not None else []
            if op.down is not None:
                clauses.append(f"down {_sql(op.down)}")
            return _layout(f"alter table {_name(op.table)} drop constraint {_name(op.name)}",
                           clauses)
        case ir.DropMulticolumnConstraint():
            clauses = [f"up {_column_sql(op.up)}"] if op.up else []
            clauses.append(f"down {_column_sql(op.down)}")
            return _layout(f"alter table {_name(op.table)} drop constraint {_name(op.name)}",
                           clauses)
        case ir.RenameConstraint():
            return (f"alter table {_name(op.table)} rename constraint {_name(op.from_)}"
                    f" to {_name(op.to)}")
        case ir.SetReplicaIdentity():
            identity = op.identity
            what = identity.type.value
            if identity.type is ir.ReplicaIdentityType.INDEX:
                what = f"using index {_name(identity.index or '')}"
            return f"alter table {_name(op.table)} replica identity {what}"
        case ir.Sql():
            clauses = ["on complete"] if op.on_complete else []
            clauses.append(f"up {_sql(op.up)}")
            if op.down is not None:
                clauses.append(f"down {_sql(op.down)}")
            return _layout("sql", clauses)
        case _:
            assert_never(op)


def _create_table(op: ir.CreateTable) -> str:
    elements = [_column(c) for c in op.columns] + [_constraint(c) for c in op.constraints]
    tail = f" comment {quote_literal(op.comment)}" if op.comment is not None else ""
    line = f"create table {_name(op.name)} ({', '.join(elements)}){tail}"
    if len(line) <= WIDTH and "\n" not in line:
        return line
    # Only the first line of an element is indented: later lines belong to SQL or strings.
    body = ",\n".join(INDENT + e for e in elements)
    return f"create table {_name(op.name)} (\n{body}\n){tail}"


def _column(column: ir.Column) -> str:
    parts = [_name(column.name), _type(column.type)]
    implied = implies_not_null(column.type, column.pk, column.generated)
    if column.nullable and implied:
        parts.append("null")
    elif not column.nullable and not implied:
        parts.append("not null")
    if column.pk:
        parts.append("primary key")
    if column.unique:
        parts.append("unique")
    if column.default is not None:
        parts.append(f"default {_sql(column.default)}")
    if column.generated is not None:
        parts.extend(_generated(column.generated))
    if column.check is not None:
        parts.append(_check(column.check))
    if column.references is not None:
        parts.append(_references(column.references))
    if column.comment is not None:
        parts.append(f"comment {quote_literal(column.comment)}")
    return " ".join(parts)


def _generated(generated: ir.Generated) -> list[str]:
    parts = []
    if generated.expression is not None:
        parts.append(f"generated always as {_sql(generated.expression)} stored")
    if generated.identity is not None:
        identity = generated.identity
        values = identity.user_specified_values.value.lower()
        text = f"generated {values} as identity"
        if identity.sequence_options is not None:
            text += f" `{identity.sequence_options.text.replace('`', '``')}`"
        parts.append(text)
    return parts


def _check(check: ir.CheckConstraint) -> str:
    text = f"constraint {_name(check.name)} check {_sql(check.constraint)}"
    return text + (" no inherit" if check.no_inherit else "")


def _fk_actions(on_delete: ir.ForeignKeyAction, on_update: ir.ForeignKeyAction,
                match_type: ir.MatchType) -> list[str]:
    parts = []
    if on_delete is not ir.ForeignKeyAction.NO_ACTION:
        parts.append(f"on delete {on_delete.value.lower()}")
    if on_update is not ir.ForeignKeyAction.NO_ACTION:
        parts.append(f"on update {on_update.value.lower()}")
    if match_type is not ir.MatchType.SIMPLE:
        parts.append(f"match {match_type.value.lower()}")
    return parts


def _references(ref: ir.ForeignKeyReference) -> str:
    parts = [f"constraint {_name(ref.name)} references {_name(ref.table)} ({_name(ref.column)})"]
    parts.extend(_fk_actions(ref.on_delete, ref.on_update, ref.match_type))
    if ref.deferrable:
        parts.append("deferrable")
    if ref.initially_deferred:
        parts.append("initially deferred")
    return " ".join(parts)


def _table_references(ref: ir.TableForeignKeyReference) -> str:
    parts = [f"references {_name(ref.table)} {_names(ref.columns)}"]
    actions = _fk_actions(ref.on_delete, ref.on_update, ref.match_type)
    if ref.on_delete_set_columns:
        if ref.on_delete is ir.ForeignKeyAction.NO_ACTION:
            actions.insert(0, "on delete no action")
        actions[0] += f" {_names(ref.on_delete_set_columns)}"
    return " ".join(parts + actions)


def _index_parameters(params: ir.IndexParameters | None) -> list[str]:
    if params is None:
        return []
    parts = []
    if params.include_columns:
        parts.append(f"include {_names(params.include_columns)}")
    if params.storage_parameters is not None:
        parts.append(f"with {_sql(params.storage_parameters)}")
    if params.tablespace is not None:
        parts.append(f"using index tablespace {_name(params.tablespace)}")
    return parts


def _constraint(c: ir.Constraint) -> str:
    parts = [f"constraint {_name(c.name)}"]
    match c.type:
        case ir.ConstraintType.PRIMARY_KEY:
            parts += ["primary key", _names(c.columns), *_index_parameters(c.index_parameters)]
        case ir.ConstraintType.UNIQUE:
            parts.append("unique nulls not distinct" if c.nulls_not_distinct else "unique")
            parts += [_names(c.columns), *_index_parameters(c.index_parameters)]
        case ir.ConstraintType.CHECK:
            parts.append(f"check {_sql(c.check or ir.SqlExpr(''))}")
            if c.no_inherit:
                parts.append("no inherit")
        case ir.ConstraintType.FOREIGN_KEY:
            parts += ["foreign key", _names(c.columns)]
            if c.references is not None:
                parts.append(_table_references(c.references))
        case ir.ConstraintType.EXCLUDE:
            exclude = c.exclude or ir.Exclude()
            parts.append("exclude")
            if exclude.index_method is not None:
                parts.append(f"using {exclude.index_method}")
            parts.append(_sql(exclude.elements or ir.SqlExpr("")))
            parts += _index_parameters(c.index_parameters)
            if exclude.predicate is not None:
                parts.append(f"where {_sql(exclude.predicate)}")
        case _:
            assert_never(c.type)
    if c.deferrable:
        parts.append("deferrable")
    if c.initially_deferred:
        parts.append("initially deferred")
    return " ".join(parts)


def _alter_clauses(op: ir.AlterColumn) -> list[str]:
    """Pgroll's fixed sub-operation order: type, check, references, nullable, unique, ..."""
    clauses = []
    if op.type is not None:
        clauses.append(f"type {_type(op.type)}")
    if op.check is not None:
        clauses.append(f"add {_check(op.check)}")
    if op.references is not None:
        clauses.append(f"add {_references(op.references)}")
    if op.nullable is not None:
        clauses.append("drop not null" if op.nullable else "set not null")
    if op.unique is not None:
        clauses.append(f"add constraint {_name(op.unique.name)} unique")
    if op.default is not None:
        value = op.default.value
        clauses.append(f"set default {_sql(value)}" if value is not None else "drop default")
    if op.comment is not None:
        text = op.comment.value
        clauses.append(f"comment {quote_literal(text)}" if text is not None else "comment null")
    if op.up is not None:
        clauses.append(f"up {_sql(op.up)}")
    if op.down is not None:
        clauses.append(f"down {_sql(op.down)}")
    return clauses


def _column_sql(entries: tuple[ir.ColumnSql, ...]) -> str:
    """``(a, b `expr`)``: an entry that copies the column as is is just its name."""
    parts = []
    for entry in entries:
        name = _name(entry.column)
        parts.append(name if entry.sql.text == name else f"{name} {_sql(entry.sql)}")
    return "(" + ", ".join(parts) + ")"


def _create_constraint(op: ir.CreateConstraint) -> str:
    head = f"alter table {_name(op.table)} add constraint {_name(op.name)}"
    body: list[str] = []
    match op.type:
        case ir.ConstraintType.PRIMARY_KEY:
            body = ["primary key", _names(op.columns), *_index_parameters(op.index_parameters)]
        case ir.ConstraintType.UNIQUE:
            body = ["unique", _names(op.columns), *_index_parameters(op.index_parameters)]
        case ir.ConstraintType.CHECK:
            body = [f"check {_sql(op.check or ir.SqlExpr(''))}"]
            if op.no_inherit:
                body.append("no inherit")
            if op.check is None or op.columns != implied_check_columns(op.check):
                body.append(f"columns {_names(op.columns)}")
        case ir.ConstraintType.FOREIGN_KEY:
            body = ["foreign key", _names(op.columns)]
            if op.references is not None:
                body.append(_table_references(op.references))
        case ir.ConstraintType.EXCLUDE:
            body = ["exclude"]  # rejected by the front ends; kept total for the type checker
        case _:
            assert_never(op.type)
    clauses = [" ".join(body)]
    if op.up:
        clauses.append(f"up {_column_sql(op.up)}")
    if op.down:
        clauses.append(f"down {_column_sql(op.down)}")
    return _layout(head, clauses)


def _create_index(op: ir.CreateIndex) -> str:
    head = "create unique index" if op.unique else "create index"
    head += f" {_name(op.name)} on {_name(op.table)}"
    if op.method is not None:
        head += f" using {op.method.value}"
    fields = []
    for field in op.columns:
        parts = [_name(field.column)]
        if field.collate is not None:
            parts.append(f"collate {field.collate}")
        if field.opclass is not None:
            opclass = _name(field.opclass.name)
            if field.opclass.params:
                opclass += "(" + ", ".join(_sql(p) for p in field.opclass.params) + ")"
            parts.append(opclass)
        if field.sort is not None:
            parts.append(field.sort.value.lower())
        if field.nulls is not None:
            parts.append(f"nulls {field.nulls.value.lower()}")
        fields.append(" ".join(parts))
    clauses = ["(" + ", ".join(fields) + ")"]
    if op.storage_parameters is not None:
        clauses.append(f"with {_sql(op.storage_parameters)}")
    if op.predicate is not None:
        clauses.append(f"where {_sql(op.predicate)}")
    return _layout(head, clauses)
