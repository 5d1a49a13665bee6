"""Column definitions (``CREATE TABLE``, ``ADD COLUMN``): the column, its constraints, its sequence.

PostgreSQL's NOT NULL rules (serial, identity, primary key) and the sequences of serial and
identity columns are settled here, once for both statements.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from pglast import ast
from pglast.enums import ConstrType

from pgroll_dsl import ir
from pgroll_dsl.catalog.apply import nextval
from pgroll_dsl.catalog.model import Column, Sequence
from pgroll_dsl.catalog.naming import Names
from pgroll_dsl.catalog.sql_ddl.constraints import pending_constraint
from pgroll_dsl.catalog.sql_ddl.names import Pending
from pgroll_dsl.catalog.sql_ddl.nodes import option_named, strings
from pgroll_dsl.catalog.sql_ddl.types import is_serial_type, type_text
from pgroll_dsl.sql.spans import TokenSpan, element_span, regenerated

Kind = ir.ConstraintType


@dataclass(frozen=True, slots=True)
class NewColumn:
    """A column definition: the column, its constraints and its sequence, if any."""

    column: Column
    constraints: tuple[Pending, ...]
    sequence: bool = False  # serial or identity
    sequence_name: str | None = None  # an identity's explicit SEQUENCE NAME


def column_def(definition: ast.ColumnDef, span: TokenSpan, schema: str) -> NewColumn:
    """One column definition with its column constraints, PostgreSQL's NOT NULL rules."""
    name = definition.colname or ""
    serial = is_serial_type(definition.typeName)
    column = Column(name=name, type=type_text(definition.typeName, schema))
    pending: list[Pending] = []
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
                column, not_null = with_identity(column, constraint), True
                sequence_name = identity_sequence_name(constraint)
            case _ if _is_attribute(constraint):
                pending[-1:] = [_with_attribute(p, constraint) for p in pending[-1:]]
            case _:
                pending.append(pending_constraint(constraint, part, schema, column=name))
    not_null = not_null or any(p.constraint.type is Kind.PRIMARY_KEY for p in pending)
    return NewColumn(replace(column, nullable=not not_null), tuple(pending),
                     sequence=serial or column.identity is not None,
                     sequence_name=sequence_name)


def _constraint_parts(definition: ast.ColumnDef,
                      span: TokenSpan) -> list[tuple[ast.Constraint, TokenSpan]]:
    """Each column constraint with its own tokens: up to the next one, COLLATE or the end."""
    element = element_span(span, definition.location)
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


def _with_expression(column: Column, constraint: ast.Constraint, part: TokenSpan) -> Column:
    """A DEFAULT (the text after the keyword) or a generated column's expression."""
    if constraint.contype is ConstrType.CONSTR_GENERATED:
        text = part.inner(part.first) or regenerated(constraint.raw_expr)
        return replace(column, generated=text)
    keyword = part.keyword(part.first, "DEFAULT")
    text = (part.text(keyword + 1, part.stop(keyword + 1)) if keyword is not None
            else regenerated(constraint.raw_expr))
    return replace(column, default=text or None)


def with_identity(column: Column, constraint: ast.Constraint) -> Column:
    """The column as an identity column (``GENERATED ALWAYS`` or ``BY DEFAULT``)."""
    values = (ir.IdentityValues.ALWAYS if constraint.generated_when == "a"
              else ir.IdentityValues.BY_DEFAULT)
    return replace(column, identity=values)


def identity_sequence_name(constraint: ast.Constraint) -> str | None:
    """The ``SEQUENCE NAME`` an identity's options give, if any."""
    option = option_named(constraint.options, "sequence_name")
    names = strings(option.arg) if option is not None else ()
    return names[-1] if names else None


def _is_attribute(constraint: ast.Constraint) -> bool:
    return constraint.contype in (
        ConstrType.CONSTR_ATTR_DEFERRABLE, ConstrType.CONSTR_ATTR_NOT_DEFERRABLE,
        ConstrType.CONSTR_ATTR_DEFERRED, ConstrType.CONSTR_ATTR_IMMEDIATE,
        ConstrType.CONSTR_ATTR_ENFORCED, ConstrType.CONSTR_ATTR_NOT_ENFORCED,
    )


def _with_attribute(pending: Pending, attribute: ast.Constraint) -> Pending:
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


def place_sequences(table: str, new_columns: list[NewColumn],
                    names: Names) -> tuple[list[Column], tuple[Sequence, ...]]:
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
                column = replace(column, default=nextval(sequence))
        columns.append(column)
    return columns, tuple(sequences)
