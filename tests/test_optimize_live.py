"""Each optimization gives clients exactly what the unoptimized plan gives them.

A scenario: a table made by a first migration (so an old version schema exists), rows in it,
then the migration under test. Between start and complete, an old-version client and a
new-version client read and write; after complete the new version reads again. Everything
they see, and the final rows, must be the same with and without the optimizer.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import psycopg
import pytest
from psycopg.conninfo import make_conninfo

from pgroll_dsl import api
from pgroll_dsl.catalog import Catalog
from pgroll_dsl.catalog.replay import apply_migration
from pgroll_dsl.plan.model import Phase
from pgroll_dsl.plan.planner import PlanOptions, plan_migration
from pgroll_dsl.render.plan_sql import render_phase
from tests.test_plan_live import run_psql

OLD, NEW = "public_01_setup", "public_02_change"


@dataclass(frozen=True)
class Scenario:
    setup: str  # DSL of the first migration
    rows: str  # SQL run on the base table before the migration
    change: str  # DSL of the migration under test
    during: tuple[tuple[str, str], ...]  # (version schema, SQL) while both versions live
    after: tuple[str, ...]  # SQL through the new version after complete


SCENARIOS = {
    "constant_default": Scenario(
        setup="create table items (id int primary key, name text not null);",
        rows="insert into items values (1, 'a'), (2, 'b')",
        change="alter table items add stock int not null default 10 up 10;",
        during=(
            (OLD, "insert into items (id, name) values (3, 'c')"),
            (NEW, "insert into items (id, name) values (4, 'd')"),
            (NEW, "insert into items (id, name, stock) values (5, 'e', 7)"),
            (NEW, "select id, name, stock from items order by id"),
            (OLD, "select * from items order by id"),
        ),
        after=("select id, name, stock from items order by id",),
    ),
    "type_without_rewrite": Scenario(
        setup="create table people (id int primary key, name varchar(10) not null);",
        rows="insert into people values (1, 'ann'), (2, 'bob')",
        change="alter table people alter name type varchar(20);",
        during=(
            (OLD, "insert into people values (3, 'cy')"),
            (NEW, "insert into people values (4, 'dee')"),
            (NEW, "update people set name = 'bobby' where id = 2"),
            (OLD, "select * from people order by id"),
            (NEW, "select * from people order by id"),
        ),
        after=("select * from people order by id",
               "select format_type(atttypid, atttypmod) from pg_attribute "
               "where attrelid = 'public.people'::regclass and attname = 'name'"),
    ),
    "comment_only": Scenario(
        setup="create table notes (id int primary key, body text);",
        rows="insert into notes values (1, 'x')",
        change="alter table notes alter body comment 'the text';",
        during=(
            (OLD, "insert into notes values (2, 'y')"),
            (NEW, "insert into notes values (3, 'z')"),
            (NEW, "select * from notes order by id"),
        ),
        after=("select * from notes order by id",
               "select col_description(attrelid, attnum) from pg_attribute "
               "where attrelid = 'public.notes'::regclass and attname = 'body'"),
    ),
}


def _run(conn: psycopg.Connection[Any], dsn: str, scenario: Scenario, optimize: bool
         ) -> list[Any]:
    setup = api.compile_source(scenario.setup, "01_setup.pgroll").migration
    change = api.compile_source(scenario.change, "02_change.pgroll").migration
    first = plan_migration(setup, Catalog())
    run_psql(dsn, render_phase(first, Phase.START))
    run_psql(dsn, render_phase(first, Phase.COMPLETE))
    conn.execute(scenario.rows)
    catalog, _ = apply_migration(Catalog(), setup)
    plan = plan_migration(change, catalog, PlanOptions(previous_version_schema=OLD,
                                                       optimize=optimize))
    run_psql(dsn, render_phase(plan, Phase.START))
    seen: list[Any] = []
    for version, statement in scenario.during:
        conn.execute(f"SET search_path TO {version}")
        cursor = conn.execute(statement)
        seen.append(cursor.fetchall() if cursor.description else cursor.rowcount)
    conn.execute("RESET search_path")
    run_psql(dsn, render_phase(plan, Phase.COMPLETE))
    conn.execute(f"SET search_path TO {NEW}")
    for statement in scenario.after:
        seen.append(conn.execute(statement).fetchall())
    conn.execute("RESET search_path")
    return seen


@pytest.mark.parametrize("name", sorted(SCENARIOS))
def test_optimized_plan_is_observably_the_same(
    name: str, pg_conn: psycopg.Connection[Any], pg_dsn: str
) -> None:
    scenario = SCENARIOS[name]
    change = api.compile_source(scenario.change, "02_change.pgroll").migration
    setup = api.compile_source(scenario.setup, "01_setup.pgroll").migration
    catalog, _ = apply_migration(Catalog(), setup)
    optimized = plan_migration(change, catalog, PlanOptions(previous_version_schema=OLD))
    assert any(n.startswith("optimized:") for n in optimized.notes), optimized.notes
    general = plan_migration(change, catalog,
                             PlanOptions(previous_version_schema=OLD, optimize=False))
    assert not any(n.startswith("optimized:") for n in general.notes), general.notes
    assert general.start != optimized.start  # two different plans are compared below
    results = []
    for optimize in (True, False):
        db = f"opt_{name}_{int(optimize)}"
        pg_conn.execute(f"DROP DATABASE IF EXISTS {db}")
        pg_conn.execute(f"CREATE DATABASE {db}")
        dsn = make_conninfo(pg_dsn, dbname=db)
        with psycopg.connect(dsn, autocommit=True) as conn:
            results.append(_run(conn, dsn, scenario, optimize))
        pg_conn.execute(f"DROP DATABASE {db}")
    assert results[0] == results[1]


MERGES = {
    "fold_alters": (
        "create table t (id int primary key, c int);",
        "insert into t values (1, 1), (2, null), (3, 3)",
        ("alter table t alter c type bigint up `c::bigint * 10` down `(c / 10)::int`;",
         "alter table t alter c set not null up `coalesce(c, 0)` down c;"),
    ),
    "cancel_ops": (
        "create table t (id int primary key, c int);",
        "insert into t values (1, 1)",
        ("alter table t add tmp int default 5;", "alter table t drop tmp;"),
    ),
}


def _final_state(conn: psycopg.Connection[Any]) -> list[Any]:
    return [
        conn.execute("select * from public.t order by id").fetchall(),
        conn.execute("select attname, format_type(atttypid, atttypmod), attnotnull "
                     "from pg_attribute where attrelid = 'public.t'::regclass and attnum > 0 "
                     "and not attisdropped order by attname").fetchall(),
    ]


@pytest.mark.parametrize("name", sorted(MERGES))
def test_merged_operations_equal_running_them_one_by_one(
    name: str, pg_conn: psycopg.Connection[Any], pg_dsn: str
) -> None:
    """Merging is not an optimization: ``--no-optimize`` merges too (apart they go wrong)."""
    setup_text, rows, changes = MERGES[name]
    setup = api.compile_source(setup_text, "01_setup.pgroll").migration
    together = api.compile_source("\n".join(changes), "02_both.pgroll").migration
    separately = [api.compile_source(c, f"0{i + 2}_one.pgroll").migration
                  for i, c in enumerate(changes)]
    outcomes = []
    runs = (("merged", [together], True), ("merged_unoptimized", [together], False),
            ("one_by_one", separately, True))
    for label, migrations, optimize in runs:
        db = f"merge_{name}_{label}"
        pg_conn.execute(f"DROP DATABASE IF EXISTS {db}")
        pg_conn.execute(f"CREATE DATABASE {db}")
        dsn = make_conninfo(pg_dsn, dbname=db)
        with psycopg.connect(dsn, autocommit=True) as conn:
            catalog, previous = Catalog(), None
            for i, migration in enumerate([setup, *migrations]):
                plan = plan_migration(migration, catalog, PlanOptions(
                    previous_version_schema=previous, optimize=optimize))
                if label.startswith("merged") and i == 1:
                    assert any(n.startswith(("merged:", "left out:")) for n in plan.notes), (
                        plan.notes)
                run_psql(dsn, render_phase(plan, Phase.START))
                run_psql(dsn, render_phase(plan, Phase.COMPLETE))
                if i == 0:
                    conn.execute(rows)
                catalog, _ = apply_migration(catalog, migration)
                previous = plan.version_schema
            outcomes.append(_final_state(conn))
        pg_conn.execute(f"DROP DATABASE {db}")
    assert outcomes[0] == outcomes[1] == outcomes[2]
