"""``quote_name`` against PostgreSQL's own keyword list and parser (both through pglast).

A name must be quoted exactly when the grammar would not take it bare as a column or table
name (``ColId``: an identifier, an unreserved keyword or a column-name keyword). For every
keyword pglast knows: the quoted form parses back to the same name, and the keywords left bare
parse as names too, while every keyword that is quoted would fail (or mean something else) bare.
"""

from __future__ import annotations

from typing import Any

import pytest
from pglast import ast, keywords, parse_sql

from pgroll_dsl.sql.quoting import RESERVED_WORDS, quote_name, quote_type_name

CATEGORIES = {
    "reserved": keywords.RESERVED_KEYWORDS,
    "type_func_name": keywords.TYPE_FUNC_NAME_KEYWORDS,
    "col_name": keywords.COL_NAME_KEYWORDS,
    "unreserved": keywords.UNRESERVED_KEYWORDS,
}
MUST_QUOTE = {"reserved", "type_func_name"}


def _names_read_back(spelled: str) -> list[object]:
    """Every place ``spelled`` is used as a column or table name, as the parser reads it."""
    (select,) = parse_sql(f"SELECT {spelled} FROM {spelled}")
    (create,) = parse_sql(f"CREATE TABLE {spelled} ({spelled} int)")
    (alter,) = parse_sql(f"ALTER TABLE {spelled} ADD COLUMN {spelled} text")
    column = select.stmt.targetList[0].val
    return [
        [f.sval for f in column.fields] if isinstance(column, ast.ColumnRef) else column,
        select.stmt.fromClause[0].relname,
        create.stmt.relation.relname,
        create.stmt.tableElts[0].colname,
        alter.stmt.relation.relname,
        alter.stmt.cmds[0].def_.colname,
    ]


def _expected(word: str) -> list[object]:
    return [[word], word, word, word, word, word]


def test_the_quoted_categories_are_pglasts() -> None:
    assert RESERVED_WORDS == keywords.RESERVED_KEYWORDS | keywords.TYPE_FUNC_NAME_KEYWORDS


@pytest.mark.parametrize("category", sorted(CATEGORIES))
def test_every_keyword_round_trips_as_a_column_and_table_name(category: str) -> None:
    wrong = {}
    for word in sorted(CATEGORIES[category]):
        try:
            read = _names_read_back(quote_name(word))
        except Exception as exc:  # pglast.parser.ParseError, or an unexpected tree
            wrong[word] = repr(exc)
            continue
        if read != _expected(word):
            wrong[word] = read
    assert not wrong


@pytest.mark.parametrize("category", sorted(CATEGORIES))
def test_a_keyword_is_quoted_exactly_when_the_grammar_needs_it(category: str) -> None:
    must_quote = category in MUST_QUOTE
    wrong = {}
    for word in sorted(CATEGORIES[category]):
        if (quote_name(word) != word) != must_quote:
            wrong[word] = quote_name(word)
            continue
        try:
            bare_works = _names_read_back(word) == _expected(word)
        except Exception:  # a syntax error bare
            bare_works = False
        if bare_works == must_quote:
            wrong[word] = "works bare" if bare_works else "fails bare"
    assert not wrong


@pytest.mark.parametrize(
    ("name", "quoted"),
    [
        ("user", '"user"'),  # bare, CURRENT_USER
        ("left", '"left"'),
        ("position", "position"),  # a column-name keyword: a valid column name
        ("int", "int"),  # and as a type it must stay bare: "int" names no type
        ("email", "email"),
        ("Email", '"Email"'),
        ('a"b', '"a""b"'),
    ],
)
def test_quote_name_examples(name: str, quoted: str) -> None:
    assert quote_name(name) == quoted


def test_type_names_are_quoted_as_postgresql_quotes_them(pg_conn: Any) -> None:
    """A user type named like a keyword: exactly PostgreSQL's quote_ident (format_type's rule),
    for every keyword pglast knows and the server too, in the same category (pglast follows
    PostgreSQL 18; an older server lacks newer keywords), and a few plain names."""
    codes = {"R": "reserved", "T": "type_func_name", "C": "col_name", "U": "unreserved"}
    server = {word: codes[code] for word, code in
              pg_conn.execute("SELECT word, catcode FROM pg_get_keywords()").fetchall()}
    shared = {w for category, found in CATEGORIES.items() for w in found
              if server.get(w) == category}
    assert len(shared) > 400  # the test compares the keyword tables, not a handful
    words = sorted(shared | {"email", "Email", "a b", "_x1", "a$b", "money$", "_$"})
    theirs = dict(pg_conn.execute("SELECT w, quote_ident(w) FROM unnest(%s::text[]) w",
                                  (words,)).fetchall())
    ours = {w: quote_type_name(w) for w in words}
    assert {w: q for w, q in ours.items() if q != theirs[w]} == {}


@pytest.mark.parametrize("type_name", ["position", "a$b"])
def test_a_type_named_like_a_keyword_is_planned_quoted(pg_conn: Any, type_name: str) -> None:
    """Replay of ``CREATE TYPE "position"`` (or ``a$b``, legal bare) spells the columns' type
    as introspection does."""
    from pgroll_dsl.catalog.introspect import introspect
    from pgroll_dsl.catalog.model import Catalog
    from pgroll_dsl.catalog.sql_ddl import apply_sql

    script = (f"CREATE TYPE \"{type_name}\" AS ENUM ('a', 'b'); "
              f"CREATE TABLE t (id int PRIMARY KEY, c \"{type_name}\")")
    pg_conn.execute(script)
    replayed = apply_sql(Catalog(), script)[0].table("t")
    live = introspect(pg_conn).table("t")
    assert replayed is not None and live is not None
    assert replayed.column("c") == live.column("c")
    assert live.column("c").type == f'"{type_name}"'  # type: ignore[union-attr]
