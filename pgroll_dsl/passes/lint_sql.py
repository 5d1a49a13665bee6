"""The safety linter for raw SQL: what a ``sql`` operation does to tables in use.

It reads the ``up`` and ``down`` of ``sql`` operations on PostgreSQL's own syntax tree (pglast).

Before:  ``sql up `CREATE INDEX users_email ON users (email)`;``
After:   PGD401 at ``CREATE``: CREATE INDEX without CONCURRENTLY blocks writes to "users"
         (SHARE lock) for the whole build; help: write ``create index users_email on users
         (email)``: pgroll-dsl builds it CONCURRENTLY, while writes go on.

The rules are data (``lint_rules.RULES``); this module turns each statement into the places
they look at (:class:`lint_rules.Site`) and reports what fires, as warnings: the author may
mean it. A finding points at the statement inside the migration file (``ir.span_within``,
as every diagnostic of embedded SQL does), at the subcommand for the second and later
subcommands of an ``ALTER TABLE``, and at the type for a rule about a column's type.

What the SQL itself created (a table, a column, an index; for ``down``, also what ``up``
created) is new: nobody uses it yet, so locks, rewrites, renames and drops of it are not
reported. The catalog, when given, tells a type change's old type (so that a widening such
as ``varchar(20)`` to ``varchar(40)`` is not reported) and a valid ``CHECK (c IS NOT NULL)``
that spares ``SET NOT NULL`` its scan. ``pg_version`` is the server's major version
(``15``; a ``server_version_num`` such as ``150004`` is read as 15).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from pglast import ast, parse_sql
from pglast.enums import AlterTableType, ConstrType, NullTestType, ObjectType, VariableSetKind
from pglast.parser import ParseError

from pgroll_dsl import ir
from pgroll_dsl.catalog.model import Catalog, Table
from pgroll_dsl.catalog.sql_ddl.lookup import CannotReplay
from pgroll_dsl.catalog.sql_ddl.nodes import relation, strings
from pgroll_dsl.catalog.sql_ddl.types import is_serial_type, type_text
from pgroll_dsl.diagnostics import Diagnostics
from pgroll_dsl.diagnostics.codes import Code
from pgroll_dsl.frontend.conventions import KEYWORDS
from pgroll_dsl.ir import ConstraintType
from pgroll_dsl.passes.lint_rules import (
    GENERATED,
    IDENTITY,
    OLD_DEFAULT,
    SERIAL,
    STATEMENT,
    VERBS,
    VOLATILE_DEFAULT,
    Kind,
    Rule,
    Site,
    rules_for,
)
from pgroll_dsl.sql.expressions import is_volatile
from pgroll_dsl.sql.quoting import quote_name
from pgroll_dsl.sql.spans import Source, TokenSpan, regenerated

__all__ = ["DEFAULT_PG_VERSION", "Finding", "lint_script", "lint_sql", "major_version"]

DEFAULT_PG_VERSION = 15

_AT = AlterTableType
_SHARE_UPDATE_EXCLUSIVE = frozenset({
    _AT.AT_ValidateConstraint, _AT.AT_AttachPartition, _AT.AT_SetStatistics, _AT.AT_ClusterOn,
    _AT.AT_DropCluster, _AT.AT_SetRelOptions, _AT.AT_ResetRelOptions,
})
_SHARE_ROW_EXCLUSIVE = frozenset({
    _AT.AT_EnableTrig, _AT.AT_DisableTrig, _AT.AT_EnableTrigAll, _AT.AT_DisableTrigAll,
    _AT.AT_EnableTrigUser, _AT.AT_DisableTrigUser, _AT.AT_EnableAlwaysTrig,
    _AT.AT_EnableReplicaTrig,
})
_LOCK_RANK = ("SHARE UPDATE EXCLUSIVE", "SHARE", "SHARE ROW EXCLUSIVE", "EXCLUSIVE",
              "ACCESS EXCLUSIVE")
_LOCK_MODES = {1: "ACCESS SHARE", 2: "ROW SHARE", 3: "ROW EXCLUSIVE", 4: "SHARE UPDATE EXCLUSIVE",
               5: "SHARE", 6: "SHARE ROW EXCLUSIVE", 7: "EXCLUSIVE", 8: "ACCESS EXCLUSIVE"}
# DROP of these takes ACCESS EXCLUSIVE on a relation clients read.
_DROPPED_RELATIONS = frozenset({ObjectType.OBJECT_TABLE, ObjectType.OBJECT_INDEX,
                                ObjectType.OBJECT_VIEW, ObjectType.OBJECT_MATVIEW,
                                ObjectType.OBJECT_SEQUENCE, ObjectType.OBJECT_FOREIGN_TABLE})
_OBJECT_LABELS = {ObjectType.OBJECT_MATVIEW: "materialized view",
                  ObjectType.OBJECT_TABCONSTRAINT: "constraint",
                  ObjectType.OBJECT_DOMCONSTRAINT: "domain constraint"}
_CONSTRAINT_KINDS = {ConstrType.CONSTR_CHECK: "check", ConstrType.CONSTR_FOREIGN: "foreign key",
                     ConstrType.CONSTR_UNIQUE: "unique", ConstrType.CONSTR_PRIMARY: "primary key",
                     ConstrType.CONSTR_EXCLUSION: "exclude", ConstrType.CONSTR_NOTNULL: "not null"}
_IDENTIFIERS = ("table", "column", "index", "name", "new")
_COMMAND_VERBS = {
    _AT.AT_AddColumn: "ADD COLUMN", _AT.AT_AlterColumnType: "ALTER COLUMN TYPE",
    _AT.AT_SetNotNull: "SET NOT NULL", _AT.AT_DropNotNull: "DROP NOT NULL",
    _AT.AT_ColumnDefault: "SET/DROP DEFAULT", _AT.AT_AddConstraint: "ADD CONSTRAINT",
    _AT.AT_DropConstraint: "DROP CONSTRAINT", _AT.AT_DropColumn: "DROP COLUMN",
    _AT.AT_ReplicaIdentity: "REPLICA IDENTITY",
}


@dataclass(frozen=True, slots=True)
class Finding:
    """One rule that fired: where in the script (character offset and width), and what."""

    code: Code
    offset: int
    width: int
    message: str
    hint: str


def major_version(version: int | None) -> int:
    """A major version from ``15`` or from a ``server_version_num`` (``150004``)."""
    if version is None:
        return DEFAULT_PG_VERSION
    return version // 10000 if version >= 1000 else version


def lint_sql(op: ir.Sql, sink: Diagnostics, *, catalog: Catalog | None = None,
             pg_version: int | None = None) -> None:
    """Report the unsafe statements of a ``sql`` operation's ``up`` and ``down``."""
    version = major_version(pg_version)
    created: set[str] = set()
    columns: set[tuple[str, str]] = set()
    scripts = ((op.up, catalog), (op.down, None))  # the catalog is the schema before `up`
    for down, (script, schema) in enumerate(scripts):
        if script is None or not script.text.strip():
            continue
        linter = _Linter(script.text, version, schema, bool(down), created, columns)
        for found in linter.run():
            sink.report(found.code, ir.span_within(script, found.offset, found.width),
                        found.message, found.hint)


def lint_script(text: str, *, pg_version: int | None = None, catalog: Catalog | None = None,
                down: bool = False) -> list[Finding]:
    """The findings of one SQL script; [] when it does not parse (PGD501 reports that)."""
    return _Linter(text, major_version(pg_version), catalog, down, set(), set()).run()


@dataclass(frozen=True, slots=True)
class _Place:
    """A site, the kind of rules that look at it, and where it is in the script."""

    kind: Kind
    site: Site
    offset: int
    width: int


class _Fill(dict[str, str]):
    """Template names; one a template uses but the site lacks reads as an ellipsis."""

    def __missing__(self, key: str) -> str:
        return "…"


@dataclass(slots=True)
class _Linter:
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

    def run(self) -> list[Finding]:
        try:
            statements = parse_sql(self.text)
            source = Source.of(self.text)
        except ParseError:
            return []
        found: list[Finding] = []
        for raw in statements:
            part = source.statement(raw)
            if part.first >= part.end or raw.stmt is None:
                continue
            places = list(self._places(raw.stmt, part))
            found.extend(self._judge(places))
        return found

    # ---- rules --------------------------------------------------------------------------

    def _judge(self, places: list[_Place]) -> list[Finding]:
        found: list[Finding] = []
        fired = False
        for index, place in enumerate(places):
            rules = rules_for(place.kind) + (rules_for(STATEMENT) if index == 0 else ())
            for rule in rules:
                if rule.fallback or (rule.once and rule in self.fired_once):
                    continue
                if rule.when(place.site):
                    found.append(self._finding(rule, place))
                    fired = fired or not rule.once
                    if rule.once:
                        self.fired_once.add(rule)
        if not fired:
            found.extend(self._fallback(places))
        return found

    def _fallback(self, places: list[_Place]) -> list[Finding]:
        for place in places:
            for rule in rules_for(STATEMENT):
                if rule.fallback and rule.when(place.site):
                    return [self._finding(rule, place)]
        return []

    def _finding(self, rule: Rule, place: _Place) -> Finding:
        names = _Fill(place.site.names)
        dsl = _Fill({k: (quote_name(v, KEYWORDS) if k in _IDENTIFIERS and v != "…" else v)
                     for k, v in place.site.names.items()})
        return Finding(rule.code, place.offset, place.width, rule.message.format_map(names),
                       rule.hint.format_map(dsl))

    # ---- places -------------------------------------------------------------------------

    def _site(self, node: ast.Node, *, names: dict[str, str] | None = None, **facts: Any
              ) -> Site:
        """A site; the facts that messages quote are copied into its names."""
        shown = {"what": VERBS.get(type(node), "")} | dict(names or {})
        for fact in ("lock", "operation"):
            if facts.get(fact):
                shown[fact] = facts[fact]
        if facts.get("rewrite"):
            shown["reason"] = facts["rewrite"]
        if isinstance(node, ast.AlterTableCmd) and node.subtype in _COMMAND_VERBS:
            shown["what"] = f"ALTER TABLE … {_COMMAND_VERBS[node.subtype]}"
        return Site(node=node, pg_version=self.pg_version, timeout=self.timeout,
                    down=self.down, names=shown, **facts)

    def _at(self, part: TokenSpan) -> tuple[int, int]:
        """Offset and width of ``part``: from its first token to its end or its line's."""
        tokens = part.source.tokens
        start, stop = tokens[part.first].start, tokens[part.end - 1].end + 1
        line_end = self.text.find("\n", start)
        if line_end != -1:
            stop = min(stop, line_end)
        return start, max(stop - start, 1)

    def _token_at(self, part: TokenSpan, offset: int | None) -> tuple[int, int]:
        """One token's offset and width (a type name)."""
        if offset is None or offset < 0:
            return self._at(part)
        index = part.at(offset)
        tokens = part.source.tokens
        if index >= len(tokens):
            return self._at(part)
        return tokens[index].start, tokens[index].end + 1 - tokens[index].start

    def _places(self, stmt: ast.Node, part: TokenSpan) -> Iterator[_Place]:
        offset, width = self._at(part)
        match stmt:
            case ast.AlterTableStmt() if stmt.objtype in (ObjectType.OBJECT_TABLE,
                                                          ObjectType.OBJECT_FOREIGN_TABLE):
                yield from self._alter_table(stmt, part)
                return
            case ast.CreateStmt():
                yield from self._create_table(stmt, part)
                return
            case ast.IndexStmt():
                table = _relname(stmt.relation)
                columns = ", ".join(_dsl(e.name) if e.name else "(…)"
                                    for e in stmt.indexParams or ())
                names = {"table": table, "index": stmt.idxname or "…", "columns": columns}
                operation = (f"create index {_dsl(stmt.idxname or '')} on {_dsl(table)} "
                             f"({columns})"
                             if stmt.concurrent and stmt.idxname else None)
                new = table in self.created
                yield _Place(type(stmt), self._site(
                    stmt, names=names, new=new, operation=operation,
                    lock=None if stmt.concurrent else "SHARE"), offset, width)
                if stmt.idxname:
                    self.created.add(stmt.idxname)
                return
            case ast.DropStmt():
                yield from self._drop(stmt, part)
                return
            case ast.DropdbStmt():
                names = {"object": "database", "OBJECT": "DATABASE",
                         "name": stmt.dbname or "…"}
                yield _Place(ast.DropStmt, self._site(stmt, names=names), offset, width)
                return
            case ast.RenameStmt():
                yield self._rename(stmt, part)
                return
            case ast.AlterObjectSchemaStmt():
                label = _label(stmt.objectType)
                name = _relname(stmt.relation) if stmt.relation else _name(stmt.object)
                yield _Place(type(stmt), self._site(
                    stmt, names={"object": label, "table": name, "name": name},
                    new=name in self.created,
                    lock="ACCESS EXCLUSIVE" if stmt.relation else None), offset, width)
                return
            case ast.TransactionStmt():
                kind = stmt.kind.name if stmt.kind is not None else "TRANSACTION"
                what = kind.removeprefix("TRANS_STMT_").replace("_", " ")
                yield _Place(type(stmt), self._site(stmt, names={"what": what}), offset, width)
                return
            case ast.VariableSetStmt():
                if stmt.name == "statement_timeout":
                    self.timeout = stmt.kind is VariableSetKind.VAR_SET_VALUE and not _zero(
                        stmt.args)
            case ast.AlterDomainStmt():
                domain = _name(stmt.typeName)
                yield _Place(type(stmt), self._site(
                    stmt, names={"name": domain}, new=domain in self.created), offset, width)
                return
        tables = _relations(stmt)
        new = bool(tables) and all(t in self.created for t in tables)
        lock = _statement_lock(stmt)
        names = {"table": ", ".join(tables) or "…"}
        yield _Place(type(stmt), self._site(stmt, names=names, new=new, lock=lock),
                     offset, width)
        self._remember(stmt)

    def _remember(self, stmt: ast.Node) -> None:
        """Objects a statement creates: nobody uses them yet."""
        name: str | None = None
        match stmt:
            case ast.CreateTableAsStmt():
                name = _relname(stmt.into.rel) if stmt.into else None
            case ast.ViewStmt():
                name = _relname(stmt.view)
            case ast.CreateSeqStmt():
                name = _relname(stmt.sequence)
            case ast.CompositeTypeStmt():
                name = _relname(stmt.typevar)
            case ast.CreateEnumStmt() | ast.CreateRangeStmt():
                name = _name(stmt.typeName)
            case ast.CreateDomainStmt():
                name = _name(stmt.domainname)
            case ast.CreateFunctionStmt():
                name = _name(stmt.funcname)
            case ast.CreateExtensionStmt():
                name = stmt.extname
            case ast.CreateSchemaStmt():
                name = stmt.schemaname
        if name:
            self.created.add(name)

    def _create_table(self, stmt: ast.CreateStmt, part: TokenSpan) -> Iterator[_Place]:
        table = _relname(stmt.relation)
        offset, width = self._at(part)
        temporary = stmt.relation is not None and stmt.relation.relpersistence == "t"
        names = {"table": table, "what": "CREATE TABLE"}
        yield _Place(type(stmt), self._site(
            stmt, names=names, new=temporary,
            operation=f"create table {_dsl(table)} (…)"), offset, width)
        elements = stmt.tableElts or ()
        keys = {k for c in elements if isinstance(c, ast.Constraint)
                and c.contype is ConstrType.CONSTR_PRIMARY for k in strings(c.keys)}
        for column in elements:
            if isinstance(column, ast.ColumnDef) and not temporary:
                key = column.colname in keys or any(
                    c.contype is ConstrType.CONSTR_PRIMARY for c in _constraints(column))
                yield self._column(column, part, table, key=key)
        self.created.add(table)

    def _column(self, column: ast.ColumnDef, part: TokenSpan, table: str, *, key: bool,
                name: str | None = None) -> _Place:
        """A column definition, for the rules about column types."""
        offset, width = self._token_at(part, column.typeName.location if column.typeName
                                       else column.location)
        names = {"table": table, "column": name or column.colname or "…",
                 "type": _spelled(column.typeName)}
        return _Place(ast.ColumnDef, self._site(
            column, names=names, type=_type(column.typeName, self._schema),
            serial=is_serial_type(column.typeName), key=key), offset, width)

    @property
    def _schema(self) -> str:
        return self.catalog.schema if self.catalog is not None else "public"

    def _table(self, range_var: ast.RangeVar | None) -> Table | None:
        if self.catalog is None or self.down:
            return None
        name = relation(range_var, self.catalog.schema)
        return self.catalog.table(name) if name else None

    def _alter_table(self, stmt: ast.AlterTableStmt, part: TokenSpan) -> Iterator[_Place]:
        table = _relname(stmt.relation)
        existing = self._table(stmt.relation)
        commands = stmt.cmds or ()
        pieces = part.pieces()
        if len(pieces) != len(commands):
            pieces = [part] * len(commands)
        lock = _alter_lock(commands)
        offset, width = self._at(pieces[0] if pieces else part)
        names = {"table": table, "what": "ALTER TABLE", "lock": lock or ""}
        yield _Place(type(stmt), self._site(stmt, names=names, new=table in self.created,
                                            lock=lock), offset, width)
        for index, cmd in enumerate(commands):
            where = (offset, width) if index == 0 else self._at(pieces[index])
            yield from self._command(cmd, table, existing, pieces[index], where)

    def _command(self, cmd: ast.AlterTableCmd, table: str, existing: Table | None,
                 piece: TokenSpan, where: tuple[int, int]) -> Iterator[_Place]:
        subtype = cmd.subtype
        if subtype is None:
            return
        column = cmd.name or ""
        new = table in self.created or (table, column) in self.columns
        names = {"table": table, "column": column or "…", "name": cmd.name or "…"}
        facts: dict[str, Any] = {}
        operation: str | None = None
        t, c = _dsl(table), _dsl(column)
        if subtype is _AT.AT_AddColumn and isinstance(cmd.def_, ast.ColumnDef):
            definition = cmd.def_
            column = definition.colname or ""
            names |= {"column": column, "type": _spelled(definition.typeName)}
            facts = {"rewrite": self._rewrite(definition), "required": _required(definition),
                     "type": _type(definition.typeName, self._schema)}
            operation = f"alter table {t} add {_dsl(column)} {names['type']} …"
            key = any(x.contype is ConstrType.CONSTR_PRIMARY for x in _constraints(definition))
            yield _Place(subtype, self._site(cmd, names=names, new=new, operation=operation,
                                             **facts), *where)
            yield self._column(definition, piece, table, key=key)
            for constraint in _constraints(definition):  # inline UNIQUE / PRIMARY KEY
                if constraint.contype in (ConstrType.CONSTR_UNIQUE, ConstrType.CONSTR_PRIMARY):
                    yield _Place(_AT.AT_AddConstraint, self._site(
                        constraint, names=names | _constraint_names(constraint, column, table),
                        new=new), *where)
            self.columns.add((table, column))
            return
        if subtype is _AT.AT_AlterColumnType and isinstance(cmd.def_, ast.ColumnDef):
            definition = cmd.def_
            names |= {"type": _spelled(definition.typeName)}
            old = existing.column(column) if existing is not None else None
            plain = definition.collClause is None and _is_column(definition.raw_default, column)
            facts = {"type": _type(definition.typeName, self._schema),
                     "old_type": old.type if old is not None and plain else None}
            operation = f"alter table {t} alter {c} type {names['type']} up … down …"
            key = existing is not None and column in existing.primary_key
            yield _Place(subtype, self._site(cmd, names=names, new=new, operation=operation,
                                             **facts), *where)
            yield self._column(definition, piece, table, key=key, name=column)
            return
        if subtype is _AT.AT_AddConstraint and isinstance(cmd.def_, ast.Constraint):
            constraint = cmd.def_
            names |= _constraint_names(constraint, None, table)
            if constraint.contype in _CONSTRAINT_KINDS and constraint.contype not in (
                    ConstrType.CONSTR_EXCLUSION, ConstrType.CONSTR_NOTNULL):
                operation = f"alter table {t} add constraint {_dsl(names['name'])} …"
            self._learn_check(constraint, table)
            if constraint.conname:
                self.created.add(constraint.conname)
        elif subtype is _AT.AT_SetNotNull:
            facts = {"not_null_proven": self._proven(table, column, existing)}
            operation = f"alter table {t} alter {c} set not null up …"
        elif subtype is _AT.AT_DropNotNull:
            operation = f"alter table {t} alter {c} drop not null down …"
        elif subtype is _AT.AT_ColumnDefault:
            change = "set default …" if cmd.def_ is not None else "drop default"
            operation = f"alter table {t} alter {c} {change}"
        elif subtype is _AT.AT_DropConstraint:
            operation = f"alter table {t} drop constraint {_dsl(column)} down …"
        elif subtype is _AT.AT_DropColumn:
            operation = f"alter table {t} drop {c} down …"
        elif subtype is _AT.AT_ReplicaIdentity:
            operation = f"alter table {t} replica identity …"
        elif subtype is _AT.AT_ValidateConstraint and cmd.name in self.pending:
            self.proven.add(self.pending.pop(cmd.name))
        yield _Place(subtype, self._site(cmd, names=names, new=new, operation=operation,
                                         **facts), *where)

    def _rewrite(self, column: ast.ColumnDef) -> str | None:
        """Why ``ADD COLUMN`` with this definition rewrites the table, if it does."""
        if is_serial_type(column.typeName):
            return SERIAL
        for constraint in _constraints(column):
            if constraint.contype is ConstrType.CONSTR_IDENTITY:
                return IDENTITY
            if constraint.contype is ConstrType.CONSTR_GENERATED and (
                    constraint.generated_kind != "v"):
                return GENERATED
            if constraint.contype is ConstrType.CONSTR_DEFAULT and not _null(constraint.raw_expr):
                text = regenerated(constraint.raw_expr) or ""
                if is_volatile(text):
                    return VOLATILE_DEFAULT
                if self.pg_version < 11:
                    return OLD_DEFAULT
        return None

    def _learn_check(self, constraint: ast.Constraint, table: str) -> None:
        """A ``CHECK (c IS NOT NULL)``: once valid, SET NOT NULL needs no scan (PG 12+)."""
        if constraint.contype is not ConstrType.CONSTR_CHECK:
            return
        column = _not_null_column(constraint.raw_expr)
        if column is None:
            return
        if constraint.skip_validation:
            if constraint.conname:
                self.pending[constraint.conname] = (table, column)
        else:
            self.proven.add((table, column))

    def _proven(self, table: str, column: str, existing: Table | None) -> bool:
        if self.pg_version < 12:
            return False
        if (table, column) in self.proven:
            return True
        return existing is not None and any(
            c.type is ConstraintType.CHECK and c.validated and c.expression is not None
            and _not_null_column(_expression(c.expression)) == column
            for c in existing.constraints)

    def _drop(self, stmt: ast.DropStmt, part: TokenSpan) -> Iterator[_Place]:
        offset, width = self._at(part)
        label = _label(stmt.removeType)
        relation_lock = stmt.removeType in _DROPPED_RELATIONS and not stmt.concurrent
        for index, obj in enumerate(stmt.objects or ()):
            name = _name(obj)
            operation = (f"drop index {_dsl(name)}"
                         if stmt.removeType is ObjectType.OBJECT_INDEX and stmt.concurrent
                         else None)
            names = {"object": label, "OBJECT": label.upper(), "name": name,
                     "table": name, "index": name, "what": f"DROP {label.upper()}"}
            yield _Place(type(stmt), self._site(
                stmt, names=names, new=name in self.created, operation=operation,
                lock="ACCESS EXCLUSIVE" if relation_lock and index == 0 else None),
                offset, width)

    def _rename(self, stmt: ast.RenameStmt, part: TokenSpan) -> _Place:
        offset, width = self._at(part)
        label = _label(stmt.renameType)
        table = _relname(stmt.relation) if stmt.relation is not None else ""
        name = table or (_name(stmt.object) if stmt.object is not None else stmt.subname or "…")
        names = {"object": label, "table": table or "…", "name": name, "new": stmt.newname or "…",
                 "what": "ALTER … RENAME"}
        new = name in self.created
        if stmt.renameType is ObjectType.OBJECT_COLUMN:
            names["column"] = stmt.subname or "…"
            new = table in self.created or (table, stmt.subname or "") in self.columns
        elif stmt.renameType is ObjectType.OBJECT_TABCONSTRAINT:
            names["name"] = stmt.subname or "…"
            new = table in self.created or names["name"] in self.created
        operation = (f"alter table {_dsl(table)} rename constraint {_dsl(names['name'])} to "
                     f"{_dsl(names['new'])}"
                     if stmt.renameType is ObjectType.OBJECT_TABCONSTRAINT else None)
        lock = ("ACCESS EXCLUSIVE" if stmt.renameType in (
            ObjectType.OBJECT_TABLE, ObjectType.OBJECT_COLUMN, ObjectType.OBJECT_TABCONSTRAINT,
            ObjectType.OBJECT_VIEW, ObjectType.OBJECT_MATVIEW) else None)
        if new and stmt.newname:
            self.created.add(stmt.newname)
        return _Place(type(stmt), self._site(stmt, names=names, new=new, lock=lock,
                                             operation=operation), offset, width)


# ---- reading the parse tree -------------------------------------------------------------


def _dsl(name: str) -> str:
    return quote_name(name, KEYWORDS) if name and name != "…" else "…"


def _relname(range_var: ast.RangeVar | None) -> str:
    return (range_var.relname if range_var is not None else None) or "…"


def _name(obj: object) -> str:
    """The last part of an object's (possibly qualified) name."""
    match obj:
        case ast.String():
            return obj.sval or "…"
        case tuple():
            found = strings(obj)
            return found[-1] if found else "…"
        case ast.ObjectWithArgs():
            return _name(obj.objname)
        case ast.TypeName():
            return _name(obj.names)
        case ast.RangeVar():
            return _relname(obj)
    return "…"


def _label(object_type: ObjectType | None) -> str:
    if object_type is None:
        return "object"
    return _OBJECT_LABELS.get(object_type,
                              object_type.name.removeprefix("OBJECT_").lower().replace("_", " "))


def _constraints(column: ast.ColumnDef) -> tuple[ast.Constraint, ...]:
    return tuple(c for c in column.constraints or () if isinstance(c, ast.Constraint))


def _constraint_names(constraint: ast.Constraint, column: str | None, table: str
                      ) -> dict[str, str]:
    kind = (_CONSTRAINT_KINDS.get(constraint.contype, "constraint")
            if constraint.contype is not None else "constraint")
    keys = strings(constraint.keys) or strings(constraint.fk_attrs) or (
        (column,) if column else ())
    # An unnamed constraint: the name PostgreSQL gives it (ChooseConstraintName, roughly).
    suffix = {"primary key": "pkey", "unique": "key", "foreign key": "fkey"}.get(kind, "check")
    default = "_".join((table, *keys[:1], suffix) if suffix != "pkey" else (table, suffix))
    columns = ", ".join(quote_name(k, KEYWORDS) for k in keys) or "…"
    names = {"name": constraint.conname or default, "kind": kind.upper(),
             "columns": ", ".join(keys) or "…", "constraint": f"{kind} ({columns})"}
    if keys:
        names["column"] = keys[0]
    return names


def _type(type_name: ast.TypeName | None, schema: str) -> str | None:
    """format_type spelling of a column type, or None (``%TYPE``, ``SETOF``)."""
    try:
        return type_text(type_name, schema)
    except CannotReplay:
        return None


def _spelled(type_name: ast.TypeName | None) -> str:
    """A type as SQL (and the DSL) spells it, for messages and hints."""
    text = regenerated(type_name) if type_name is not None else None
    return (text or "…").removeprefix("pg_catalog.")


def _null(node: object) -> bool:
    return isinstance(node, ast.A_Const) and bool(node.isnull)


def _zero(args: object) -> bool:
    """``SET statement_timeout = 0``: no timeout."""
    if not isinstance(args, tuple) or len(args) != 1 or not isinstance(args[0], ast.A_Const):
        return False
    value = args[0].val
    return str(getattr(value, "ival", getattr(value, "sval", ""))).strip() in ("0", "0ms", "0s")


def _required(column: ast.ColumnDef) -> bool:
    """NOT NULL with no default, identity, generated expression or serial to fill it."""
    constraints = _constraints(column)
    not_null = bool(column.is_not_null) or any(
        c.contype is ConstrType.CONSTR_NOTNULL for c in constraints)
    filled = is_serial_type(column.typeName) or any(
        c.contype in (ConstrType.CONSTR_IDENTITY, ConstrType.CONSTR_GENERATED)
        or c.contype is ConstrType.CONSTR_DEFAULT and not _null(c.raw_expr)
        or c.contype is ConstrType.CONSTR_PRIMARY for c in constraints)
    return not_null and not filled


def _is_column(using: object, column: str) -> bool:
    """No ``USING``, or ``USING c`` / ``USING c::type``: the values are the column's own."""
    if using is None:
        return True
    if isinstance(using, ast.TypeCast):
        using = using.arg
    return isinstance(using, ast.ColumnRef) and strings(using.fields)[-1:] == (column,)


def _not_null_column(node: object) -> str | None:
    """``c IS NOT NULL``: the column ``c``."""
    if (isinstance(node, ast.NullTest) and node.nulltesttype is NullTestType.IS_NOT_NULL
            and isinstance(node.arg, ast.ColumnRef)):
        found = strings(node.arg.fields)
        return found[-1] if len(found) == 1 else None
    return None


def _expression(text: str) -> object:
    try:
        select = parse_sql(f"SELECT ({text})")[0].stmt
    except ParseError:
        return None
    targets = getattr(select, "targetList", None) or ()
    return targets[0].val if targets else None


def _relations(stmt: ast.Node) -> tuple[str, ...]:
    """The tables a maintenance or locking statement names."""
    match stmt:
        case ast.TruncateStmt() | ast.LockStmt():
            return tuple(_relname(r) for r in stmt.relations or ())
        case ast.VacuumStmt():
            return tuple(_relname(r.relation) for r in stmt.rels or ()
                         if isinstance(r, ast.VacuumRelation))
        case ast.ClusterStmt() | ast.ReindexStmt() | ast.RefreshMatViewStmt():
            return (_relname(stmt.relation),) if stmt.relation is not None else ()
        case ast.CreateTrigStmt():
            return (_relname(stmt.relation),)
    return ()


def _statement_lock(stmt: ast.Node) -> str | None:
    """The blocking lock a statement other than ALTER TABLE takes on a table, if any."""
    match stmt:
        case ast.TruncateStmt() | ast.ClusterStmt():
            return "ACCESS EXCLUSIVE"
        case ast.VacuumStmt():
            full = any(o.defname == "full" for o in stmt.options or ())
            return "ACCESS EXCLUSIVE" if full and stmt.is_vacuumcmd else None
        case ast.LockStmt():
            return _LOCK_MODES.get(stmt.mode or 8)  # LOCK TABLE t: ACCESS EXCLUSIVE
        case ast.ReindexStmt():
            concurrent = any(p.defname == "concurrently" for p in stmt.params or ())
            return None if concurrent else "SHARE"
        case ast.RefreshMatViewStmt():
            return None if stmt.concurrent else "ACCESS EXCLUSIVE"
        case ast.CreateTrigStmt():
            return "SHARE ROW EXCLUSIVE"
    return None


def _alter_lock(commands: tuple[ast.AlterTableCmd, ...]) -> str | None:
    """The strongest lock an ALTER TABLE takes (PostgreSQL's ``AlterTableGetLockLevel``)."""
    best = -1
    for cmd in commands:
        if cmd.subtype in _SHARE_UPDATE_EXCLUSIVE or (
                cmd.subtype is _AT.AT_DetachPartition
                and getattr(cmd.def_, "concurrent", False)):
            level = "SHARE UPDATE EXCLUSIVE"
        elif cmd.subtype in _SHARE_ROW_EXCLUSIVE or (
                cmd.subtype is _AT.AT_AddConstraint and isinstance(cmd.def_, ast.Constraint)
                and cmd.def_.contype is ConstrType.CONSTR_FOREIGN):
            level = "SHARE ROW EXCLUSIVE"
        else:
            level = "ACCESS EXCLUSIVE"
        best = max(best, _LOCK_RANK.index(level))
    return _LOCK_RANK[best] if best >= 0 else None
