"""One statement of a raw SQL script applied to the catalog: the dispatch on its node class.

Split from the package's ``apply_sql`` so that importing that function (the planner does,
for every plan) loads none of the statement families until a script is replayed.
"""

from __future__ import annotations

from pglast import ast
from pglast.enums import ObjectType

from pgroll_dsl.catalog.model import Catalog
from pgroll_dsl.catalog.sql_ddl.alter_table import alter_table, comment_statement
from pgroll_dsl.catalog.sql_ddl.create_table import create_table
from pgroll_dsl.catalog.sql_ddl.drop import drop_statement
from pgroll_dsl.catalog.sql_ddl.enums import enum_statement
from pgroll_dsl.catalog.sql_ddl.indexes import alter_index, create_index
from pgroll_dsl.catalog.sql_ddl.lookup import NOT_A_CHANGE, CannotReplay
from pgroll_dsl.catalog.sql_ddl.rename import rename_statement, set_schema
from pgroll_dsl.catalog.sql_ddl.routines import routine_statement
from pgroll_dsl.catalog.sql_ddl.sequences import sequence_statement
from pgroll_dsl.sql.spans import TokenSpan

__all__ = ["apply_statement"]

# Statements that change nothing the model holds: DML, transaction control, session
# settings, maintenance.
_NO_CHANGE: tuple[type[ast.Node], ...] = (
    ast.InsertStmt, ast.UpdateStmt, ast.DeleteStmt, ast.MergeStmt, ast.SelectStmt,
    ast.CopyStmt, ast.TruncateStmt, ast.TransactionStmt, ast.VariableSetStmt,
    ast.VariableShowStmt, ast.ConstraintsSetStmt, ast.LockStmt, ast.ExplainStmt,
    ast.PrepareStmt, ast.ExecuteStmt, ast.DeallocateStmt, ast.DeclareCursorStmt,
    ast.FetchStmt, ast.ClosePortalStmt, ast.NotifyStmt, ast.ListenStmt, ast.UnlistenStmt,
    ast.DiscardStmt, ast.VacuumStmt, ast.CheckPointStmt, ast.ClusterStmt,
    ast.ReindexStmt,
)


def apply_statement(catalog: Catalog, node: ast.Node | None, span: TokenSpan) -> Catalog:
    """Dispatch on the statement's node class."""
    match node:
        case ast.CreateStmt():
            return create_table(catalog, node, span)
        case ast.AlterTableStmt(objtype=ObjectType.OBJECT_INDEX):
            return alter_index(catalog, node)
        case ast.AlterTableStmt():
            return alter_table(catalog, node, span)
        case ast.IndexStmt():
            return create_index(catalog, node, span)
        case ast.DropStmt():
            return drop_statement(catalog, node)
        case ast.RenameStmt():
            return rename_statement(catalog, node)
        case ast.CreateEnumStmt() | ast.AlterEnumStmt():
            return enum_statement(catalog, node)
        case ast.CommentStmt():
            return comment_statement(catalog, node)
        case ast.CreateSeqStmt() | ast.AlterSeqStmt():
            return sequence_statement(catalog, node)
        case ast.AlterObjectSchemaStmt():
            return set_schema(catalog, node)
        case (ast.CreateFunctionStmt() | ast.DefineStmt() | ast.CreateCastStmt()
              | ast.CreateExtensionStmt()):
            return routine_statement(catalog, node)  # records the name, still warns
        case ast.VariableSetStmt(name="search_path"):
            raise CannotReplay(f"unqualified names after it are still read as schema "
                               f"{catalog.schema}")
        case ast.SelectStmt(intoClause=ast.IntoClause()) | ast.CreateTableAsStmt():
            raise CannotReplay("the columns of a table created from a query are not known "
                               "without a database")
        case _ if isinstance(node, _NO_CHANGE):
            return catalog
        case _:
            raise CannotReplay(NOT_A_CHANGE)
