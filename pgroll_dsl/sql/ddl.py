"""Small typed builders of DDL fragments; every name and literal goes through ``quoting``.

Author expressions are spliced verbatim inside parentheses: ``check_expressions`` has proved
each is exactly one expression, so the parentheses cannot be escaped.
"""

from __future__ import annotations

from collections.abc import Iterable

from pgroll_dsl import ir
from pgroll_dsl.sql.quoting import quote_ident, quote_literal


def qualified(schema: str, name: str) -> str:
    """``"schema"."name"``: plans never depend on the session's search_path."""
    return f"{quote_ident(schema)}.{quote_ident(name)}"


def idents(names: Iterable[str]) -> str:
    """``("a", "b")``."""
    return "(" + ", ".join(quote_ident(n) for n in names) + ")"


def fk_actions(on_delete: ir.ForeignKeyAction, on_update: ir.ForeignKeyAction,
               match_type: ir.MatchType, set_columns: tuple[str, ...] = ()) -> str:
    """``MATCH … ON DELETE … ON UPDATE …``; PostgreSQL's defaults are written out too."""
    delete = on_delete.value + (f" {idents(set_columns)}" if set_columns else "")
    return f"MATCH {match_type.value} ON DELETE {delete} ON UPDATE {on_update.value}"


def deferrable(is_deferrable: bool, initially_deferred: bool) -> str:
    """`` DEFERRABLE INITIALLY …`` or nothing."""
    if not is_deferrable:
        return ""
    return " DEFERRABLE INITIALLY " + ("DEFERRED" if initially_deferred else "IMMEDIATE")


def identity_clause(identity: ir.Identity) -> str:
    """``GENERATED ALWAYS AS IDENTITY [(options)]``."""
    text = f"GENERATED {identity.user_specified_values.value} AS IDENTITY"
    if identity.sequence_options:
        text += f" ({identity.sequence_options.text})"
    return text


def comment_on(kind: str, target: str, text: str | None) -> str:
    """``COMMENT ON COLUMN|TABLE target IS 'text'`` (or ``IS NULL``)."""
    value = quote_literal(text) if text is not None else "NULL"
    return f"COMMENT ON {kind} {target} IS {value}"


def regclass_or_null(schema: str, name: str) -> str:
    """The relation ``schema.name`` as a ``regclass``, ``NULL`` if it is not there (no error)."""
    return f"pg_catalog.to_regclass({quote_literal(qualified(schema, name))})"


def current_setting(name: str) -> str:
    """The value of the setting ``name`` in this session, ``NULL`` if it was never set."""
    return f"pg_catalog.current_setting({quote_literal(name)}, true)"


def grantee(row: str) -> str:
    """SQL text: the grantee of an ``aclexplode`` row ``row`` as a GRANT names it.

    ``PUBLIC`` for the grantee 0, the role's quoted name otherwise, and ``WITH GRANT
    OPTION`` where the row has it (``GRANT ... TO `` followed by this).
    """
    return (f"{grantee_role(row)} || CASE WHEN {row}.is_grantable "
            "THEN ' WITH GRANT OPTION' ELSE '' END")


def grantee_role(row: str) -> str:
    """SQL text: the role of a row with a ``grantee`` oid, as a GRANT or REVOKE names it.

    ``PUBLIC`` for 0, else the role's quoted name.
    """
    return (f"CASE WHEN {row}.grantee = 0 THEN 'PUBLIC' ELSE pg_catalog.quote_ident("
            f"pg_catalog.pg_get_userbyid({row}.grantee)) END")

