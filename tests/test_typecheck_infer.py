"""Every type the offline inference gives is PostgreSQL's own: ``pg_typeof`` on a live server.

A corpus of expressions is generated over a table with a column of each common type (every
operator over every pair of operands, common functions over every operand, CASE, COALESCE,
GREATEST, casts, constants). Each expression PostgreSQL accepts is asked for its type with
``pg_typeof``; the inference must give exactly that type or say it does not know (None).
Expressions PostgreSQL refuses are not part of the corpus. The figures are printed (run with
``-s``) and the agreement must stay high, so that "unknown" cannot pass for an answer.
"""

from __future__ import annotations

import itertools
from typing import Any

import psycopg
import pytest

from pgroll_dsl.passes.infer_types import Types, infer

# column -> (SQL type, pg_type name)
COLUMNS = {
    "i2": ("smallint", "int2"), "i4": ("integer", "int4"), "i8": ("bigint", "int8"),
    "n": ("numeric", "numeric"), "n52": ("numeric(5,2)", "numeric"),
    "f4": ("real", "float4"), "f8": ("double precision", "float8"), "t": ("text", "text"),
    "vc": ("varchar(10)", "varchar"), "c": ("char(3)", "bpchar"), "b": ("boolean", "bool"),
    "d": ("date", "date"), "ts": ("timestamp", "timestamp"),
    "tstz": ("timestamptz", "timestamptz"), "tm": ("time", "time"),
    "iv": ("interval", "interval"), "u": ("uuid", "uuid"), "j": ("json", "json"),
    "jb": ("jsonb", "jsonb"), "by": ("bytea", "bytea"), "ia": ("int[]", "_int4"),
    "ta": ("text[]", "_text"), "m": ("mood", "mood"), "nm": ("name", "name"),
}
TYPES = Types({name: typname for name, (_, typname) in COLUMNS.items()},
              {"mood": ("sad", "ok")})

OPERANDS = ["i2", "i4", "i8", "n", "f4", "f8", "t", "vc", "c", "d", "ts", "tstz", "tm", "iv",
            "jb", "j", "ia", "b", "m", "u", "'x'", "1", "1.5", "null", "'1'", "3000000000"]
OPERATORS = ["+", "-", "*", "/", "%", "||", "<", "=", "<>", "->", "->>", "@>", "^", "&", "~"]
TEMPLATES = [
    "lower({})", "upper({})", "length({})", "abs({})", "round({})", "md5({})", "btrim({})",
    "date_trunc('day', {})", "extract(epoch from {})", "to_char({}, 'YYYY')",
    "concat({}, 1)", "greatest({}, 1)", "least({}, 'a')", "nullif({}, '')", "sqrt({})",
    "floor({})", "char_length({})", "to_jsonb({})", "array_length({}, 1)", "age({})",
    "date_part('year', {})", "{}::text", "{}::int", "coalesce({}, 0)", "coalesce({}, 'x')",
    "case when b then {} else 1 end", "case when b then {} end", "{} is null", "not {}",
    "-{}", "@ {}", "{} + interval '1 day'", "now() - {}", "split_part({}, ',', 1)",
    "left({}, 2)", "substr({}, 2)", "round({}, 2)", "trunc({})", "jsonb_typeof({})",
    '{} collate "C"', "{} between 1 and 2", "{} in (1, 2)", "{} is distinct from 1",
    "{} like 'a%'", "cast({} as numeric)", "{}::timestamptz", "{}::date", "{} at time zone 'UTC'",
]
EXTRA = [
    "now()", "current_date", "current_timestamp", "localtimestamp", "current_time",
    "localtime", "current_user", "session_user", "gen_random_uuid()", "random()", "pi()",
    "clock_timestamp()", "'a' || 'b'", "1 + '2'", "'2024-01-01'::date + 1",
    "extract(epoch from now())::int", "jsonb_build_object('a', 1)", "array[1, 2]",
    "(select 1)", "exists (select 1)", "i4 in (1, 2)", "t ~ 'a'", "to_timestamp(1)",
    "to_date('2024', 'YYYY')", "make_date(2024, 1, 1)", "format('%s', t)",
    "concat_ws(',', t, vc)", "position('a' in t)", "trim(both ' ' from t)",
    "overlay(t placing 'a' from 1)", "substring(t from 1 for 2)", "greatest(i4, i8, n)",
    "coalesce(i2, i4, i8)", "coalesce(f4, n)", "coalesce(t, vc)", "coalesce(vc, c)",
    "coalesce(d, ts)", "coalesce(ts, tstz)", "case when b then 'a' else 'b' end",
    "nullif(i4, 0)", "nullif(vc, '')", "ia || 1", "array_append(ia, 1)", "cardinality(ia)",
    "m::text", "m = 'sad'", "jb -> 'a' ->> 'b'", "(jb ->> 'n')::numeric * 2",
    "coalesce(nullif(t, ''), 'none')", "i4 * 2.5", "i4 / 2", "i8 + i2", "f4 * n",
    "2147483648", "9223372036854775808", "-2147483648", "1e3", "true", "B'101'",
]


def corpus() -> list[str]:
    """Every expression of the corpus, generated."""
    found = [f"{a} {op} {b}" for op in OPERATORS for a, b in itertools.product(OPERANDS, OPERANDS)]
    found += [t.format(a) for t in TEMPLATES for a in OPERANDS]
    return [*COLUMNS, *found, *EXTRA]


def _pg_type(conn: psycopg.Connection[Any], expression: str) -> str | None:
    """PostgreSQL's type of ``expression`` (its pg_type name), or None if it refuses it."""
    try:
        with conn.transaction():
            row = conn.execute(f"SELECT t.typname FROM tc, pg_type t "
                               f"WHERE t.oid = pg_typeof({expression})").fetchone()
    except psycopg.Error:
        return None
    assert row is not None
    return str(row[0])


@pytest.fixture
def typed_table(pg_conn: psycopg.Connection[Any]) -> psycopg.Connection[Any]:
    pg_conn.execute("CREATE TYPE mood AS ENUM ('sad', 'ok')")
    pg_conn.execute("CREATE TABLE tc (" + ", ".join(
        f"{name} {sql}" for name, (sql, _) in COLUMNS.items()) + ")")
    pg_conn.execute("INSERT INTO tc DEFAULT VALUES")  # one row of NULLs: pg_typeof needs a row
    return pg_conn


def test_every_inferred_type_is_postgresqls(typed_table: psycopg.Connection[Any]) -> None:
    expressions = corpus()
    agree, unknown, wrong = 0, 0, []
    for expression in expressions:
        expected = _pg_type(typed_table, expression)
        if expected is None:
            continue  # PostgreSQL refuses it: not part of the corpus
        got = infer(expression, TYPES)
        if got is None:
            unknown += 1
        elif got.type == expected:
            agree += 1
        else:
            wrong.append((expression, expected, got.type))
    valid = agree + unknown + len(wrong)
    print(f"\ntype inference: {len(expressions)} expressions generated, {valid} accepted by "
          f"PostgreSQL; inferred {agree} ({agree / valid:.1%}) exactly, {unknown} unknown, "
          f"{len(wrong)} wrong")
    assert wrong == []
    assert valid >= 1000
    assert agree / valid >= 0.9


def test_unmodelled_names_are_unknown() -> None:
    # A user's function, a column the row lacks, a domain's column: no answer, no guess.
    types = Types({"price": "numeric", "amount": None})
    assert infer("my_function(price)", types) is None
    assert infer("missing + 1", types) is None
    assert infer("amount * 2", types) is None
    assert infer("(select max(price) from t)", types) is None
    got = infer("price * 2", types)
    assert got is not None and got.type == "numeric"
