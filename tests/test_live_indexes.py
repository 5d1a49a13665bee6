"""Indexes on a rewritten column follow it: expression keys and partial predicates too."""

from __future__ import annotations

from typing import Any

import psycopg

from tests.live_helpers import dsn_of, make_runner, migration


def test_expression_and_partial_indexes_survive_a_rewrite(
    pg_conn: psycopg.Connection[Any], pg_dsn: str
) -> None:
    runner = make_runner(dsn_of(pg_dsn, pg_conn))
    runner.start(migration("create table u (id int primary key, email text, active bool);",
                           "01_setup"))
    runner.complete()
    pg_conn.execute("insert into u values (1, 'A@X', true), (2, null, false)")
    pg_conn.execute("create index u_lower on u (lower(email))")
    pg_conn.execute("create index u_active on u (id) where active and email is not null")
    runner.start(migration("alter table u alter email set not null up `coalesce(email, '')`;",
                           "02_email"))
    runner.complete()
    indexes = dict(pg_conn.execute(
        "select indexrelid::regclass::text, pg_get_indexdef(indexrelid) from pg_index "
        "where indrelid = 'public.u'::regclass").fetchall())
    assert "lower(email)" in indexes["u_lower"]
    assert "WHERE (active AND (email IS NOT NULL))" in indexes["u_active"]
    assert pg_conn.execute("select bool_and(indisvalid) from pg_index "
                           "where indrelid = 'public.u'::regclass").fetchone() == (True,)
    runner.close()
