"""IR -> pgroll migration documents (JSON or YAML), as pgroll itself would write them.

pgroll omits optional fields with zero values and writes ``version_schema`` before
``operations``; YAML output has its keys sorted and multi-line strings as block scalars.
Our nullable default differs from pgroll's, so ``nullable: true`` is written whenever it holds.
"""

from __future__ import annotations

import json
from typing import Any, assert_never

from pgroll_dsl import ir
from pgroll_dsl.sql.quoting import quote_name, render_type

Doc = dict[str, Any]


def to_document(migration: ir.Migration) -> Doc:
    """The migration as plain JSON values."""
    doc: Doc = {}
    if migration.version_schema is not None:
        doc["version_schema"] = migration.version_schema
    doc["operations"] = [{op.kind: _operation(op)} for op in migration.operations]
    return doc


def to_json(migration: ir.Migration) -> str:
    """Two-space indented JSON, as ``pgroll`` prints it."""
    return json.dumps(to_document(migration), indent=2, ensure_ascii=False) + "\n"


def to_yaml(migration: ir.Migration) -> str:
    """YAML with sorted keys and block scalars for multi-line strings."""
    import yaml

    class _Dumper(yaml.SafeDumper):
        pass

    def _str(dumper: yaml.SafeDumper, value: str) -> yaml.ScalarNode:
        # Text is written as it reads (allow_unicode), but for the line breaks YAML knows
        # beyond \n (NEL, LINE and PARAGRAPH SEPARATOR): PyYAML writes them as they are but
        # in a double-quoted scalar, and read back they would break the line.
        style = ('"' if any(c in value for c in _UNICODE_BREAKS)
                 else "|" if "\n" in value else None)
        return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)

    _Dumper.add_representer(str, _str)
    document = to_document(migration)
    head = {"version_schema": document.pop("version_schema")} if "version_schema" in document \
        else {}
    text = yaml.dump(head, Dumper=_Dumper, sort_keys=True, allow_unicode=True) if head else ""
    return text + yaml.dump(document, Dumper=_Dumper, sort_keys=True, allow_unicode=True,
                            default_flow_style=False)


_UNICODE_BREAKS = "\x85\u2028\u2029"


def _compact(fields: Doc) -> Doc:
    """Drop pgroll's zero values (None, False, "", empty lists and objects)."""
    return {k: v for k, v in fields.items() if v not in (None, False, "", [], {})}


def _names(names: tuple[ir.Ident, ...]) -> list[str]:
    return [n.name for n in names]


def _text(value: ir.SqlExpr | ir.SqlScript | None) -> str | None:
    return value.text if value is not None else None


def _check(check: ir.CheckConstraint | None) -> Doc | None:
    if check is None:
        return None
    return _compact({"name": check.name.name, "constraint": check.constraint.text,
                     "no_inherit": check.no_inherit})


def _references(ref: ir.ForeignKeyReference | None) -> Doc | None:
    if ref is None:
        return None
    return _compact({
        "name": ref.name.name, "table": ref.table.name, "column": ref.column.name,
        "on_delete": _non_default(ref.on_delete, ir.ForeignKeyAction.NO_ACTION),
        "on_update": _non_default(ref.on_update, ir.ForeignKeyAction.NO_ACTION),
        "match_type": _non_default(ref.match_type, ir.MatchType.SIMPLE),
        "deferrable": ref.deferrable, "initially_deferred": ref.initially_deferred,
    })


def _non_default(value: ir.ForeignKeyAction | ir.MatchType, default: object) -> str | None:
    return value.value if value != default else None


def _table_references(ref: ir.TableForeignKeyReference | None) -> Doc | None:
    if ref is None:
        return None
    return _compact({
        "table": ref.table.name, "columns": _names(ref.columns),
        "on_delete": _non_default(ref.on_delete, ir.ForeignKeyAction.NO_ACTION),
        "on_update": _non_default(ref.on_update, ir.ForeignKeyAction.NO_ACTION),
        "match_type": _non_default(ref.match_type, ir.MatchType.SIMPLE),
        "on_delete_set_columns": _names(ref.on_delete_set_columns),
    }) | {"columns": _names(ref.columns)}


def _generated(generated: ir.Generated | None) -> Doc | None:
    if generated is None:
        return None
    identity = None
    if generated.identity is not None:
        identity = {"user_specified_values": generated.identity.user_specified_values.value}
        if generated.identity.sequence_options is not None:
            identity["sequence_options"] = generated.identity.sequence_options.text
    return _compact({"expression": _text(generated.expression), "identity": identity})


def _column(column: ir.Column) -> Doc:
    return _compact({
        "name": column.name.name, "type": render_type(column.type),
        "nullable": column.nullable, "unique": column.unique, "pk": column.pk,
        "default": _text(column.default), "comment": column.comment,
        "check": _check(column.check), "references": _references(column.references),
        "generated": _generated(column.generated),
    })


def _index_parameters(params: ir.IndexParameters | None) -> Doc | None:
    if params is None:
        return None
    return _compact({
        "tablespace": params.tablespace.name if params.tablespace else None,
        "storage_parameters": _text(params.storage_parameters),
        "include_columns": _names(params.include_columns),
    })


def _constraint(c: ir.Constraint) -> Doc:
    exclude = None
    if c.exclude is not None:
        exclude = _compact({"index_method": c.exclude.index_method,
                            "elements": _text(c.exclude.elements),
                            "predicate": _text(c.exclude.predicate)})
    return _compact({
        "name": c.name.name, "type": c.type.value, "columns": _names(c.columns),
        "check": _text(c.check), "no_inherit": c.no_inherit,
        "nulls_not_distinct": c.nulls_not_distinct, "deferrable": c.deferrable,
        "initially_deferred": c.initially_deferred,
        "references": _table_references(c.references), "exclude": exclude,
        "index_parameters": _index_parameters(c.index_parameters),
    })


def _column_sql(entries: tuple[ir.ColumnSql, ...], columns: tuple[ir.Ident, ...] = ()) -> Doc:
    """An up/down map; ``columns`` missing from it copy their value (written out for pgroll)."""
    given = {e.column.name: e.sql.text for e in entries}
    copies = {c.name: given.get(c.name, quote_name(c.name)) for c in columns}
    return copies | given


def _index_field(field: ir.IndexField) -> Doc:
    opclass = None
    if field.opclass is not None:
        opclass = _compact({"name": field.opclass.name.name,
                            "params": [p.text for p in field.opclass.params]})
    return _compact({
        "column": field.column.name, "collate": field.collate, "opclass": opclass,
        "sort": field.sort.value if field.sort else None,
        "nulls": field.nulls.value if field.nulls else None,
    })


def _operation(op: ir.Operation) -> Doc:
    match op:
        case ir.CreateTable():
            # `columns` is required by pgroll's schema, so it stays even when empty.
            return {"name": op.name.name, "columns": [_column(c) for c in op.columns]} | _compact(
                {"constraints": [_constraint(c) for c in op.constraints], "comment": op.comment})
        case ir.RenameTable():
            return {"from": op.from_.name, "to": op.to.name}
        case ir.DropTable():
            return {"name": op.name.name}
        case ir.AddColumn():
            return _compact({"table": op.table.name, "column": _column(op.column),
                             "up": _text(op.up)})
        case ir.DropColumn():
            return _compact({"table": op.table.name, "column": op.column.name,
                             "down": _text(op.down)})
        case ir.RenameColumn():
            return {"table": op.table.name, "from": op.from_.name, "to": op.to.name}
        case ir.AlterColumn():
            return _alter_column(op)
        case ir.CreateIndex():
            return {"name": op.name.name, "table": op.table.name,
                    "columns": [_index_field(f) for f in op.columns]} | _compact({
                "method": op.method.value if op.method else None, "unique": op.unique,
                "predicate": _text(op.predicate),
                "storage_parameters": _text(op.storage_parameters),
            })
        case ir.DropIndex():
            return {"name": op.name.name}
        case ir.CreateConstraint():
            return _compact({
                "table": op.table.name, "name": op.name.name, "type": op.type.value,
                "columns": _names(op.columns), "check": _text(op.check),
                "no_inherit": op.no_inherit, "references": _table_references(op.references),
                "index_parameters": _index_parameters(op.index_parameters),
            }) | {"up": _column_sql(op.up, op.columns), "down": _column_sql(op.down, op.columns)}
        case ir.DropConstraint():
            return _compact({"table": op.table.name, "name": op.name.name,
                             "up": _text(op.up), "down": _text(op.down)})
        case ir.DropMulticolumnConstraint():
            covered = tuple(e.column for e in op.down)
            return _compact({"table": op.table.name, "name": op.name.name,
                             "up": _column_sql(op.up, covered)}) | {"down": _column_sql(op.down)}
        case ir.RenameConstraint():
            return {"table": op.table.name, "from": op.from_.name, "to": op.to.name}
        case ir.SetReplicaIdentity():
            index = op.identity.index.name if op.identity.index is not None else ""
            return {"table": op.table.name,
                    "identity": {"type": op.identity.type.value, "index": index}}
        case ir.Sql():
            return _compact({"up": op.up.text, "down": _text(op.down),
                             "onComplete": op.on_complete})
        case _:
            assert_never(op)


def _alter_column(op: ir.AlterColumn) -> Doc:
    doc = _compact({
        "table": op.table.name, "column": op.column.name,
        "type": render_type(op.type) if op.type is not None else None,
        "unique": {"name": op.unique.name.name} if op.unique is not None else None,
        "check": _check(op.check), "references": _references(op.references),
    })
    # pgroll requires both; a missing one copies the column unchanged (pgroll's "<c>").
    copy = quote_name(op.column.name)
    doc["up"] = _text(op.up) or copy
    doc["down"] = _text(op.down) or copy
    if op.nullable is not None:
        doc["nullable"] = op.nullable
    if op.default is not None:
        doc["default"] = _text(op.default.value)  # None removes the default (JSON null)
    if op.comment is not None:
        doc["comment"] = op.comment.value
    return doc
