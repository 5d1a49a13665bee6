"""The safety linter for raw SQL: what a ``sql`` operation does to tables in use.

It reads the ``up`` and ``down`` of ``sql`` operations on PostgreSQL's own syntax tree (pglast).

Before:  ``sql up `CREATE INDEX users_email ON users (email)`;``
After:   PGD401 at ``CREATE``: CREATE INDEX without CONCURRENTLY blocks writes to "users"
         (SHARE lock) for the whole build; help: write ``create index users_email on users
         (email)``: pgroll-dsl builds it CONCURRENTLY, while writes go on.

The rules are data (``lint_rules.RULES``, by family). For each statement, ``lint_walk``
(``lint_alter`` for ALTER TABLE) makes the places the rules look at, ``lint_judge`` asks the
rules, ``lint_suppress`` drops what an ``-- pgroll-dsl: allow PGD4xx: <reason>`` comment
covers, and ``lint_config``'s settings choose the rules, their severity and the PostgreSQL
version. Findings are warnings unless the project says otherwise: the author may mean it. A
finding points at the statement inside the migration file (``ir.span_within``, as every
diagnostic of embedded SQL does), at the subcommand for the second and later subcommands of an
``ALTER TABLE``, and at the type for a rule about a column's type.

What the SQL itself created (a table, a column, an index; for ``down``, also what ``up``
created) is new: nobody uses it yet, so locks, rewrites, renames and drops of it are not
reported. The catalog, when given, tells a type change's old type (so that a widening such
as ``varchar(20)`` to ``varchar(40)`` is not reported) and a valid ``CHECK (c IS NOT NULL)``
that spares ``SET NOT NULL`` its scan.
"""

from __future__ import annotations

from pglast import parse_sql
from pglast.parser import ParseError

from pgroll_dsl import ir
from pgroll_dsl.catalog.model import Catalog
from pgroll_dsl.diagnostics import Diagnostic, Diagnostics
from pgroll_dsl.passes.lint_config import DEFAULT_PG_VERSION, LintSettings, major_version
from pgroll_dsl.passes.lint_context import Context
from pgroll_dsl.passes.lint_judge import Finding, judge
from pgroll_dsl.passes.lint_suppress import Statements, read_allows, suppress, unused
from pgroll_dsl.passes.lint_walk import places
from pgroll_dsl.sql.spans import Source

__all__ = ["DEFAULT_PG_VERSION", "Finding", "lint_script", "lint_sql", "major_version"]


def lint_sql(op: ir.Sql, sink: Diagnostics, *, catalog: Catalog | None = None,
             pg_version: int | None = None, settings: LintSettings | None = None) -> None:
    """Report the unsafe statements of a ``sql`` operation's ``up`` and ``down``.

    ``pg_version`` is the server's (major, or a ``server_version_num``); the settings' own
    version wins over it.
    """
    settings = settings or LintSettings()
    version = settings.version(pg_version)
    created: set[str] = set()
    columns: set[tuple[str, str]] = set()
    scripts = ((op.up, catalog), (op.down, None))  # the catalog is the schema before `up`
    for down, (script, schema) in enumerate(scripts):
        if script is None or not script.text.strip():
            continue
        ctx = Context(script.text, version, schema, bool(down), created, columns)
        for found in _run(ctx, settings):
            span = ir.span_within(script, found.offset, found.width)
            sink.extend([Diagnostic(found.code, found.message, span, (found.hint,),
                                    settings.severity_of(found.code))])


def lint_script(text: str, *, pg_version: int | None = None, catalog: Catalog | None = None,
                down: bool = False, settings: LintSettings | None = None) -> list[Finding]:
    """The findings of one SQL script; [] when it does not parse (PGD501 reports that)."""
    settings = settings or LintSettings()
    ctx = Context(text, settings.version(pg_version), catalog, down, set(), set())
    return _run(ctx, settings)


def _run(ctx: Context, settings: LintSettings) -> list[Finding]:
    """Every statement's findings, less the suppressed ones, plus the comments' problems."""
    try:
        statements = parse_sql(ctx.text)
        source = Source.of(ctx.text)
    except ParseError:
        return []
    found: list[Finding] = []
    starts: list[int] = []
    for raw in statements:
        part = source.statement(raw)
        if part.first >= part.end or raw.stmt is None:
            continue
        starts.append(source.tokens[part.first].start)
        found.extend(judge(ctx, list(places(ctx, raw.stmt, part))))
    ranges = Statements(tuple(starts))
    allows, problems = read_allows(ctx.text, ranges)
    kept = suppress([f for f in found if settings.enabled(f.code)], allows, ranges)
    problems += unused(allows, settings.enabled)
    return sorted([*kept, *(p for p in problems if settings.enabled(p.code))],
                  key=lambda f: f.offset)
