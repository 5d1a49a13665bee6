"""The shape of a safety rule for raw SQL: the place it looks at, and what it knows there.

``lint_walk`` walks the statements of a ``sql`` operation and, for every place a rule can look
at, builds a :class:`Site` holding the facts the rules need (the table, whether this SQL
created it, the column's type, the lock the statement takes, the PostgreSQL version...). A
:class:`Rule` is the code it reports, the place (``kind``: a pglast statement class, an
``ALTER TABLE`` subcommand type, ``ast.ColumnDef`` for every column definition, or
``STATEMENT`` for every statement), the PostgreSQL versions it applies to (``since``,
``until``), a predicate over the site, a one-line message and a hint
naming the pgroll-dsl operation that makes the same change without the lock. Message and hint
are ``str.format`` templates over the site's names; in hints the names are spelled as the DSL
wants them. Each rule carries :class:`Example` pairs: the tests run them, docs/lint.md shows
them. The rules themselves are ``lint_rules_*`` (one module per family), gathered by
``lint_rules``.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from pglast import ast
from pglast.enums import AlterTableType, ConstrType

from pgroll_dsl.diagnostics.codes import Code

STATEMENT = "statement"  # the kind of a rule that looks at every statement

# Why ADD COLUMN rewrites the table (``Site.rewrite``); pgroll-dsl can add neither of the last
# two to an existing table.
VOLATILE_DEFAULT = "a volatile default"
OLD_DEFAULT = "a default (before PostgreSQL 11, any default)"
SERIAL = "a serial type (its nextval() default is volatile)"
IDENTITY = "an identity"
GENERATED = "a stored generated expression"

Kind = type[ast.Node] | AlterTableType | str

# Locks that block writes (and from EXCLUSIVE on, reads): held for long, clients queue.
BLOCKING_LOCKS = frozenset({"SHARE", "SHARE ROW EXCLUSIVE", "EXCLUSIVE", "ACCESS EXCLUSIVE"})

# The schema every rule's examples run against (DSL; it reads as SQL too).
EXAMPLE_SCHEMA = """\
create table users (id bigint primary key, email varchar(20), name text, age int);
create table accounts (id bigint primary key, owner bigint);
"""


@dataclass(frozen=True, slots=True, kw_only=True)
class Site:
    """One place in a statement, and what the rules need to know about it."""

    node: Any  # the pglast statement, subcommand, constraint or column definition
    pg_version: int  # the PostgreSQL major version the migration runs on
    names: Mapping[str, str] = field(default_factory=dict)  # table, column, type... for text
    new: bool = False  # the object was created earlier in this SQL (or by the `up` of a down)
    type: str | None = None  # a column's type, in format_type spelling
    serial: bool = False  # a serial column
    key: bool = False  # a primary key column
    old_type: str | None = None  # the column's type before ALTER COLUMN TYPE (catalog)
    rewrite: str | None = None  # why ADD COLUMN rewrites the table
    required: bool = False  # ADD COLUMN NOT NULL without a default
    not_null_proven: bool = False  # a valid CHECK (c IS NOT NULL) spares SET NOT NULL's scan
    lock: str | None = None  # the blocking lock the statement takes on an existing table
    timeout: bool = False  # statement_timeout was set earlier in this SQL
    operation: str | None = None  # the DSL statement that does this, for `use-operation`
    down: bool = False  # the site is in the `down` script


@dataclass(frozen=True, slots=True)
class Example:
    """A script the rule reports (``bad``, first at ``at``: line, column) and a safe one.

    Both run against :data:`EXAMPLE_SCHEMA` on ``pg_version`` (default 15); ``good`` may run
    on ``good_pg_version`` when the safe way is an upgrade. ``good`` must not raise the code
    (other rules may fire).
    """

    bad: str
    at: tuple[int, int]
    good: str
    pg_version: int | None = None
    good_pg_version: int | None = None


@dataclass(frozen=True, slots=True)
class Rule:
    """A code, where it looks, when it fires, what it says and what to write instead."""

    code: Code
    kind: Kind
    when: Callable[[Site], bool]
    message: str
    hint: str
    squawk: tuple[str, ...] = ()
    strong_migrations: str | None = None
    once: bool = False  # at most one finding per script
    fallback: bool = False  # only where no other rule fired on the statement
    examples: tuple[Example, ...] = ()
    since: int | None = None  # the first PostgreSQL major version the row applies to
    until: int | None = None  # the first one it no longer applies to

    def fires(self, site: Site) -> bool:
        """Whether the row reports this site: its versions, then its predicate."""
        if self.since is not None and site.pg_version < self.since:
            return False
        if self.until is not None and site.pg_version >= self.until:
            return False
        return self.when(site)

    @property
    def versions(self) -> str:
        """The versions the row applies to, in words ('' for all)."""
        if self.since is not None and self.until is not None:
            return f"PostgreSQL {self.since} to {self.until - 1}"
        if self.since is not None:
            return f"PostgreSQL {self.since} and later"
        return f"before PostgreSQL {self.until}" if self.until is not None else ""


def constraint_of(site: Site) -> ast.Constraint | None:
    """The constraint a site adds (ALTER TABLE / ALTER DOMAIN ... ADD), if any."""
    node = site.node
    if isinstance(node, ast.AlterTableCmd | ast.AlterDomainStmt):
        node = node.def_
    return node if isinstance(node, ast.Constraint) else None


def contype(site: Site) -> ConstrType | None:
    """The kind of the constraint a site adds."""
    found = constraint_of(site)
    return found.contype if found is not None else None


def validated(site: Site) -> bool:
    """A constraint added without NOT VALID: every row is checked under the lock."""
    found = constraint_of(site)
    return found is not None and not found.skip_validation


def type_is(type_: str | None, pattern: str) -> bool:
    """A format_type spelling (or an array of it) matches ``pattern``."""
    return type_ is not None and re.fullmatch(pattern, type_.removesuffix("[]")) is not None


# Type changes PostgreSQL makes in the catalog alone (binary coercible, the limit kept or
# raised: strong_migrations' list). Anything else is taken to rewrite: the safe side.
_SAME = frozenset({("character varying", "text"), ("text", "character varying"),
                   ("cidr", "inet")})
_LIMITED = re.compile(r"(character varying|bit varying|numeric|timestamp|time)"
                      r"(?:\((\d+)(?:,(\d+))?\))?( with(?:out)? time zone)?")


def widening(old: str | None, new: str | None) -> bool:
    """Whether ``ALTER COLUMN TYPE`` from ``old`` to ``new`` (format_type) is catalog-only."""
    if old is None or new is None:
        return False
    if old == new or (old, new) in _SAME:
        return True
    if new == "text" and type_is(old, r"character varying(\(\d+\))?"):
        return True
    a, b = _LIMITED.fullmatch(old), _LIMITED.fullmatch(new)
    if a is None or b is None or (a[1], a[4]) != (b[1], b[4]):
        return False
    if b[2] is None:  # the limit removed
        return True
    if a[2] is None:  # a limit added: every value must be checked
        return False
    return int(b[2]) >= int(a[2]) and (a[3] or "0") == (b[3] or "0")
