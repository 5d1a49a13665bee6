"""What the safety linter remembers while it walks one script, and where things are in it.

A :class:`Context` is one script (``up`` or ``down``): the PostgreSQL version, the catalog
before it, what the script created so far (nobody uses that yet, so its locks are harmless),
whether a statement_timeout is set, and the CHECK (c IS NOT NULL) constraints that spare
SET NOT NULL its scan. It turns a node and its facts into a :class:`Place`: a ``Site`` for
the rules, and the characters of the script a finding on it points at.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from pglast import ast
from pglast.enums import AlterTableType

from pgroll_dsl.catalog.model import Catalog, Table
from pgroll_dsl.catalog.sql_ddl.nodes import relation
from pgroll_dsl.catalog.sql_ddl.types import is_serial_type
from pgroll_dsl.passes.lint_model import Kind, Rule, Site
from pgroll_dsl.passes.lint_nodes import spelled, type_of
from pgroll_dsl.passes.lint_rules import VERBS
from pgroll_dsl.sql.spans import TokenSpan

_AT = AlterTableType
_COMMAND_VERBS = {
    _AT.AT_AddColumn: "ADD COLUMN", _AT.AT_AlterColumnType: "ALTER COLUMN TYPE",
    _AT.AT_SetNotNull: "SET NOT NULL", _AT.AT_DropNotNull: "DROP NOT NULL",
    _AT.AT_ColumnDefault: "SET/DROP DEFAULT", _AT.AT_AddConstraint: "ADD CONSTRAINT",
    _AT.AT_DropConstraint: "DROP CONSTRAINT", _AT.AT_DropColumn: "DROP COLUMN",
    _AT.AT_ReplicaIdentity: "REPLICA IDENTITY",
}


@dataclass(frozen=True, slots=True)
class Place:
    """A site, the kind of rules that look at it, and where it is in the script."""

    kind: Kind
    site: Site
    offset: int
    width: int


@dataclass(slots=True)
class Context:
    """One script, statement by statement; remembers what the script created."""

    text: str
    pg_version: int
    catalog: Catalog | None
    down: bool
    created: set[str]  # tables, indexes, types... made by this SQL (or by `up`)
    columns: set[tuple[str, str]]  # (table, column) added by this SQL (or by `up`)
    timeout: bool = False
    pending: dict[str, tuple[str, str]] = field(default_factory=dict)  # NOT VALID not-null checks
    proven: set[tuple[str, str]] = field(default_factory=set)  # valid CHECK (c IS NOT NULL)
    fired_once: set[Rule] = field(default_factory=set)

    @property
    def schema(self) -> str:
        """The schema unqualified names resolve in."""
        return self.catalog.schema if self.catalog is not None else "public"

    def table(self, range_var: ast.RangeVar | None) -> Table | None:
        """The catalog's table (not in ``down``: the catalog is the schema before ``up``)."""
        if self.catalog is None or self.down:
            return None
        name = relation(range_var, self.catalog.schema)
        return self.catalog.table(name) if name else None

    def site(self, node: ast.Node, *, names: dict[str, str] | None = None, **facts: Any
             ) -> Site:
        """A site; the facts that messages quote are copied into its names."""
        shown = {"what": VERBS.get(type(node), ""), "version": str(self.pg_version)}
        shown |= dict(names or {})
        for fact in ("lock", "operation"):
            if facts.get(fact):
                shown[fact] = facts[fact]
        if facts.get("rewrite"):
            shown["reason"] = facts["rewrite"]
        if isinstance(node, ast.AlterTableCmd) and node.subtype in _COMMAND_VERBS:
            shown["what"] = f"ALTER TABLE … {_COMMAND_VERBS[node.subtype]}"
        return Site(node=node, pg_version=self.pg_version, timeout=self.timeout,
                    down=self.down, names=shown, **facts)

    def place(self, kind: Kind, node: ast.Node, where: tuple[int, int], **facts: Any) -> Place:
        """A place of ``kind`` at ``where`` (offset, width)."""
        return Place(kind, self.site(node, **facts), *where)

    def at(self, part: TokenSpan) -> tuple[int, int]:
        """Offset and width of ``part``: from its first token to its end or its line's."""
        tokens = part.source.tokens
        start, stop = tokens[part.first].start, tokens[part.end - 1].end + 1
        line_end = self.text.find("\n", start)
        if line_end != -1:
            stop = min(stop, line_end)
        return start, max(stop - start, 1)

    def token_at(self, part: TokenSpan, offset: int | None) -> tuple[int, int]:
        """One token's offset and width (a type name)."""
        if offset is None or offset < 0:
            return self.at(part)
        index = part.at(offset)
        tokens = part.source.tokens
        if index >= len(tokens):
            return self.at(part)
        return tokens[index].start, tokens[index].end + 1 - tokens[index].start

    def column(self, column: ast.ColumnDef, part: TokenSpan, table: str, *, key: bool,
               name: str | None = None) -> Place:
        """A column definition, for the rules about column types."""
        where = self.token_at(part, column.typeName.location if column.typeName
                              else column.location)
        names = {"table": table, "column": name or column.colname or "…",
                 "type": spelled(column.typeName)}
        return self.place(ast.ColumnDef, column, where, names=names,
                          type=type_of(column.typeName, self.schema),
                          serial=is_serial_type(column.typeName), key=key)
