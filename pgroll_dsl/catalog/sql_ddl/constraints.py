"""Column and table constraints as written, as model ``Constraint`` values still to be named.

``CREATE TABLE`` and ``ALTER TABLE ... ADD`` share them; ``names`` then gives the unnamed
ones PostgreSQL's names. Columns follow ``Catalog.apply``, so SQL and DSL compare equal.
"""

from __future__ import annotations

from dataclasses import replace

from pglast import ast
from pglast.enums import ConstrType

from pgroll_dsl import ir
from pgroll_dsl.catalog.apply import exclusion_columns, expression_columns
from pgroll_dsl.catalog.index_keys import exclusion_elements, option_strings
from pgroll_dsl.catalog.model import Catalog, Constraint, ForeignKey
from pgroll_dsl.catalog.sql_ddl.lookup import CannotReplay
from pgroll_dsl.catalog.sql_ddl.names import Pending, element_name, index_column_names
from pgroll_dsl.catalog.sql_ddl.nodes import column_refs, foreign_schema, foreign_table, strings
from pgroll_dsl.sql.spans import TokenSpan, regenerated

Kind = ir.ConstraintType

_ACTIONS = {
    "a": ir.ForeignKeyAction.NO_ACTION, "r": ir.ForeignKeyAction.RESTRICT,
    "c": ir.ForeignKeyAction.CASCADE, "n": ir.ForeignKeyAction.SET_NULL,
    "d": ir.ForeignKeyAction.SET_DEFAULT,
}


_MATCH = {"s": ir.MatchType.SIMPLE, "f": ir.MatchType.FULL, "p": ir.MatchType.PARTIAL}


def pending_constraint(node: ast.Constraint, part: TokenSpan, schema: str,
                       column: str | None = None) -> Pending:
    """A column or table constraint, unnamed ones with an empty name for now."""
    columns = (column,) if column is not None else ()
    base = Constraint(name=node.conname or "", type=Kind.CHECK,
                      deferrable=bool(node.deferrable or node.initdeferred),
                      initially_deferred=bool(node.initdeferred))
    match node.contype:
        case ConstrType.CONSTR_PRIMARY | ConstrType.CONSTR_UNIQUE:
            return _key(node, columns or strings(node.keys), _with_index(base, node))
        case ConstrType.CONSTR_CHECK:
            return _check(node, part, columns, base)
        case ConstrType.CONSTR_FOREIGN:
            return _foreign_key(node, columns or strings(node.fk_attrs), schema, base)
        case ConstrType.CONSTR_EXCLUSION:
            return _exclusion(node, part, _with_index(base, node), schema)
        case _:
            raise CannotReplay(f"{node.contype.name if node.contype else 'this'} "
                               "constraint is not replayed")


def _with_index(base: Constraint, node: ast.Constraint) -> Constraint:
    """INCLUDE, WITH (...) and USING INDEX TABLESPACE of a key or exclusion constraint."""
    return replace(base, include=strings(node.including),
                   storage_parameters=option_strings(node.options),
                   tablespace=node.indexspace or None)


def _key(node: ast.Constraint, columns: tuple[str, ...], base: Constraint) -> Pending:
    primary = node.contype is ConstrType.CONSTR_PRIMARY
    include = strings(node.including)
    constraint = replace(base, type=Kind.PRIMARY_KEY if primary else Kind.UNIQUE,
                         columns=columns, nulls_not_distinct=bool(node.nulls_not_distinct))
    return Pending(constraint, hint=() if primary else (*columns, *include), include=include)


def _check(node: ast.Constraint, part: TokenSpan, columns: tuple[str, ...],
           base: Constraint) -> Pending:
    """PostgreSQL names a check after the one column its expression uses, if just one.

    Its ``columns`` are those of ``Catalog.apply``: the column of a column constraint, the
    columns the expression names for a table constraint.
    """
    text = part.inner(part.first) or regenerated(node.raw_expr)
    used = column_refs(node.raw_expr)
    constraint = replace(base, columns=columns or expression_columns(text), expression=text,
                         no_inherit=bool(node.is_no_inherit), validated=not node.skip_validation)
    return Pending(constraint, hint=used if len(used) == 1 else ())


def _foreign_key(node: ast.Constraint, columns: tuple[str, ...], schema: str,
                 base: Constraint) -> Pending:
    references = ForeignKey(
        table=foreign_table(node.pktable), schema=foreign_schema(node.pktable, schema),
        columns=strings(node.pk_attrs),
        on_delete=_ACTIONS.get(node.fk_del_action or "a", ir.ForeignKeyAction.NO_ACTION),
        on_update=_ACTIONS.get(node.fk_upd_action or "a", ir.ForeignKeyAction.NO_ACTION),
        match_type=_MATCH.get(node.fk_matchtype or "s", ir.MatchType.SIMPLE),
        on_delete_set_columns=strings(node.fk_del_set_cols),
    )
    constraint = replace(base, type=Kind.FOREIGN_KEY, columns=columns, references=references,
                         validated=not node.skip_validation)
    return Pending(constraint, hint=columns)


def _exclusion(node: ast.Constraint, part: TokenSpan, base: Constraint, schema: str) -> Pending:
    """Elements and predicate as written; the method only if ``USING`` was written."""
    found = part.group(part.first)
    elements = part.text(found[0] + 1, found[1]) if found else None
    using = part.keyword(part.first, "USING")
    method = node.access_method if using is not None and found and using < found[0] else None
    predicate = None
    if node.where_clause is not None:
        where = part.keyword(found[1] + 1, "WHERE") if found else None
        predicate = (part.inner(where) if where is not None else None) or regenerated(
            node.where_clause)
    include = strings(node.including)
    items = [item[0] for item in node.exclusions or () if isinstance(item, tuple)]
    hint = index_column_names([*(element_name(e) for e in items), *include])
    constraint = replace(base, type=Kind.EXCLUDE, expression=elements, method=method,
                         predicate=predicate,
                         columns=exclusion_columns(elements) if elements else (),
                         elements=exclusion_elements(elements, schema) if elements else ())
    return Pending(constraint, hint=tuple(hint), include=include)


def resolve_reference(constraint: Constraint, table: str, constraints: list[Constraint],
                      catalog: Catalog) -> Constraint:
    """``REFERENCES t`` without columns means the primary key of ``t``."""
    ref = constraint.references
    if ref is None or ref.columns:
        return constraint
    if ref.points_at(table):
        key = next((c.columns for c in constraints if c.type is Kind.PRIMARY_KEY), ())
    else:
        target = catalog.table(ref.table) if ref.schema is None else None
        key = target.primary_key if target is not None else ()
    return replace(constraint, references=replace(ref, columns=key))
