"""Functions, operators, casts and extensions a raw ``sql`` migration creates.

The model has no tables for them, but the offline type checks must know they exist: a
user's ``CREATE CAST (timestamptz AS int) ... AS ASSIGNMENT`` makes a type change legal that
PostgreSQL's built-in rows refuse. So each such statement records its name in
``Catalog.routines`` (the same names live introspection reads) and still warns, as before:
what a function does (a trigger's body, say) stays outside the model. ``CREATE EXTENSION``
makes the routines opaque, since an extension's contents cannot be listed offline. Drops
are not followed: a routine the history dropped only keeps the checks silent.
"""

from __future__ import annotations

from dataclasses import replace

from pglast import ast
from pglast.enums import ObjectType

from pgroll_dsl.catalog.model import Catalog, Routines
from pgroll_dsl.catalog.sql_ddl.lookup import NOT_A_CHANGE, CannotReplay
from pgroll_dsl.catalog.sql_ddl.nodes import strings
from pgroll_dsl.catalog.sql_ddl.types import type_text

RoutineStatement = ast.CreateFunctionStmt | ast.DefineStmt | ast.CreateCastStmt | \
    ast.CreateExtensionStmt

_FUNCTION_KINDS = (ObjectType.OBJECT_AGGREGATE,)
_TRIGGERS = ("trigger", "event_trigger")


def routine_statement(catalog: Catalog, node: RoutineStatement) -> Catalog:
    """Record the routine the statement creates, then warn as for any statement off-model.

    Raises:
        CannotReplay: Always, with the catalog that records the routine as ``partial``.
    """
    raise CannotReplay(NOT_A_CHANGE, partial=replace(catalog, routines=_with(catalog, node)))


def _with(catalog: Catalog, node: RoutineStatement) -> Routines:
    routines = catalog.routines
    match node:
        case ast.CreateExtensionStmt(extname="plpgsql"):
            return routines
        case ast.CreateExtensionStmt():
            return replace(routines, opaque=True)
        case ast.CreateFunctionStmt() if _returns(node) in _TRIGGERS:
            return routines  # an expression cannot call it (introspection leaves it out too)
        case ast.CreateFunctionStmt() if (names := strings(node.funcname)):
            return replace(routines, functions=routines.functions | {names[-1]})
        case ast.DefineStmt(kind=ObjectType.OBJECT_OPERATOR) if (names := strings(
                node.defnames)):
            return replace(routines, operators=routines.operators | {names[-1]})
        case ast.DefineStmt() if node.kind in _FUNCTION_KINDS and (names := strings(
                node.defnames)):
            return replace(routines, functions=routines.functions | {names[-1]})
        case ast.CreateCastStmt():
            try:
                pair = (type_text(node.sourcetype, catalog.schema),
                        type_text(node.targettype, catalog.schema))
            except CannotReplay:
                return routines
            return replace(routines, casts=routines.casts | {pair})
        case _:
            return routines


def _returns(node: ast.CreateFunctionStmt) -> str | None:
    """The unqualified name of the type a function returns (None: a procedure)."""
    names = strings(node.returnType.names) if node.returnType is not None else ()
    return names[-1] if names else None
