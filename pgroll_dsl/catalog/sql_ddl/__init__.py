"""Replay of raw ``sql`` operations: the DDL inside them, applied to the catalog model.

pgroll runs the ``up`` of a ``sql`` operation as written, so a replay of migration history
without a database only knows the schema afterwards if it understands that SQL. This package
parses it with PostgreSQL's own parser (pglast) and applies each statement as PostgreSQL
would, building model values exactly as ``Catalog.apply`` builds them for the equivalent
pgroll operation, so SQL and DSL that mean the same thing give equal catalogs.

The modules follow a statement through replay: ``source`` (tokens, so the author's text can
be sliced out), ``nodes`` (reading pglast nodes), ``lookup`` (the catalog look-ups and the
``CannotReplay`` that abandons a statement), ``types`` and ``names`` (PostgreSQL's type
spelling and generated names), ``statements`` (the dispatch on a statement's node class),
then one module a statement family: ``create_table`` (with ``columns`` and
``constraints``), ``alter_table``, ``indexes``, ``sequences``, ``enums``, ``drop`` and
``rename``, ``partitions`` (ATTACH and DETACH PARTITION); ``cascade`` holds what a drop
takes with it; ``routines`` records the functions, operators, casts and extensions a script
creates (for the type checks; such statements still warn). After each statement,
partitions take their parents' column changes (``catalog.partitions.follow_parents``).

Decisions, and why:

* **Author text, not regenerated text.** Defaults, checks, generated expressions,
  predicates, exclusion elements and index expressions are sliced out of the statement with
  the token positions of pglast's scanner (character offsets, as pglast gives for AST nodes),
  so they equal what the DSL stores for the same expression. Only where a node carries no
  position to anchor the slice (an ``ALTER TABLE`` whose subcommands could not be told
  apart, a constraint without a location) is the text regenerated with
  ``pglast.stream.RawStream``.
* **PostgreSQL's names.** Unnamed constraints, indexes and sequences get the names
  PostgreSQL chooses (``ChooseConstraintName`` / ``ChooseRelationName``): the 63-byte
  truncation of ``makeObjectName``, a number appended on a clash with a name the catalog
  holds, check constraints named after the one column their expression uses (``t_c_check``)
  or after the table alone (``t_check``), INCLUDE columns in unique names, identical
  primary key / unique specifications of one ``CREATE TABLE`` merged, and the order in which
  PostgreSQL names them (sequences, checks, indexes with the primary key first, foreign
  keys). The rules were checked against a real server (see the tests).
* **Names as the database has them.** SQL names physical objects; they are looked up as the
  model's (virtual) names, which are the same outside an active migration, and pgroll runs
  a ``sql`` operation either alone or at complete. What the model does not hold (column
  collations, sequence options) is passed over without a warning; column and constraint
  lists follow ``Catalog.apply``. Indexes are whole: key options, INCLUDE, storage
  parameters and tablespace, spelled as ``catalog.index_keys`` says.
* **History succeeded.** Every statement is taken to have run, so PostgreSQL's CASCADE
  effects are applied whenever the model shows dependants: foreign keys to a dropped table
  or column go, columns of a dropped enum type go, a constraint goes with its index.
* **One schema.** Objects qualified with another schema than ``catalog.schema``, and
  temporary tables, are outside the model: statements about them change nothing and give no
  warning, because the modelled schema is exactly right afterwards. ``SET search_path`` does
  get a warning: replay keeps reading unqualified names as ``catalog.schema``.
* **Warnings, not errors.** A statement that cannot be interpreted leaves the catalog as it
  was (an ``ALTER TABLE`` keeps the subcommands that could be applied) and gives one warning
  naming the statement. DML, transaction control, session settings and maintenance
  commands change nothing in the model and are silently fine; anything else that is not a
  table, type, index or sequence change (functions, views, grants, extensions...) warns,
  since the model cannot say whether it mattered.
"""

from __future__ import annotations

from pglast import parse_sql, parser

from pgroll_dsl.catalog.model import Catalog
from pgroll_dsl.catalog.partitions import follow_parents
from pgroll_dsl.sql.spans import Source

__all__ = ["apply_sql"]

_SHORT = 60


def apply_sql(catalog: Catalog, sql: str) -> tuple[Catalog, list[str]]:
    """Apply the DDL of a raw SQL script to the catalog, as PostgreSQL would run it.

    Args:
        catalog: The schema before the script runs.
        sql: One or more SQL statements, such as the ``up`` of a pgroll ``sql`` operation.

    Returns:
        The schema after the script, and one warning per statement that could not be
        replayed (that statement then leaves the catalog as it was, except for the
        subcommands of an ``ALTER TABLE`` that could be applied). SQL that does not parse
        leaves the catalog unchanged and gives one warning with the parser's message.
    """
    # The statement families load on the first script, not with this function: the planner
    # imports it for every plan, and most plans replay no raw SQL.
    from pgroll_dsl.catalog.sql_ddl.lookup import CannotReplay
    from pgroll_dsl.catalog.sql_ddl.statements import apply_statement

    try:
        statements = parse_sql(sql)
    except parser.ParseError as error:
        return catalog, [_syntax_warning(error)]
    source = Source.of(sql)
    warnings: list[str] = []
    for raw in statements:
        span = source.statement(raw)
        before = catalog
        try:
            catalog = apply_statement(catalog, raw.stmt, span)
        except CannotReplay as problem:
            catalog = problem.partial or catalog
            warnings.append(f'cannot replay "{_shorten(span.text())}": {problem.reason}')
        catalog = follow_parents(catalog, before)  # partitions take their parents' changes
    return catalog, warnings


def _syntax_warning(error: parser.ParseError) -> str:
    message = str(error.args[0])
    location = error.args[1] if len(error.args) > 1 else None
    where = f" (at character {location + 1})" if isinstance(location, int) else ""
    return f"cannot replay SQL that does not parse: {message}{where}"


def _shorten(text: str) -> str:
    """The statement on one line, cut at a word boundary near 60 characters."""
    text = " ".join(text.split())
    if len(text) <= _SHORT:
        return text
    cut = text.rfind(" ", 0, _SHORT)
    return text[: cut if cut > 0 else _SHORT] + " ..."
