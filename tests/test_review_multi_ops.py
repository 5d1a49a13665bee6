"""Review of migrations of three and more operations, found with the fault harness's sample.

``tests/test_fault_harness.py`` runs a seeded random sample of migrations of three and four
operation kinds (``PGROLL_DSL_FAULT_SAMPLE``/``_SEED``/``_OPS``/``_SPECS``). On the plain
``items`` of ``fault_model`` no write was lost; the same sample on a partitioned ``items``
(``PGROLL_DSL_FAULT_SETUP=partitioned``, ``fault_model.PARTITIONED``) found one defect,
which this file reproduces without the harness. In the harness: ``PGROLL_DSL_FAULT_SETUP=partitioned
PGROLL_DSL_FAULT_SAMPLE=0 PGROLL_DSL_FAULT_SPECS=index_val+title_text``.

A type change PostgreSQL makes without a rewrite (``varchar(50)`` -> ``text``) is planned
in place: no copy, the type changes at complete (``plan/optimize.py``). On a partitioned
table whose in-place change is the migration's *last* operation, after one that gives start
work on the partitions (an index built on each leaf, a backfill or sync triggers per
partition), complete refuses every time, with nothing changed::

    complete refused, nothing was changed: column _pgroll_new_title of table t_high;
    column _pgroll_new_title of table t_high_0; ... made by start are missing (dropped by
    hand?). Run `pgroll-dsl rollback` to undo the migration and start it again

No client is needed, and the migration can never be completed (the plan is the same each
time); rollback works. Why: ``optimize.catalog_after`` applies the operation
(``apply_operation``, which makes every partition follow its parent: the column's physical
name becomes the copy's, ``_pgroll_new_title``) and then names the column ``title`` again on
the parent only. The partitions keep ``_pgroll_new_title`` in the planner's final catalog;
an operation after it re-runs ``follow_parents`` and hides the mistake, which is why the
other order (``alter ... type text`` first) completes. ``planner._requires`` lists the
columns of every final table that a start step touched, so once the index (or a backfill)
touches the partitions, ``plan.requires`` holds ``column _pgroll_new_title of t_low`` and
so on, and ``Runner._check_requirements`` refuses complete. Seen in the plan
(``pgroll-dsl plan --format json``): ``requires`` names ``title`` for ``t`` and
``_pgroll_new_title`` for each partition.

Fixed since: ``catalog_after`` names the column back on every partition below the table,
at every depth; the tests below failed before (as strict xfails) and pass now.
"""

from __future__ import annotations

from typing import Any

import pytest

from pgroll_dsl import api
from pgroll_dsl.catalog.model import Catalog
from pgroll_dsl.catalog.sql_ddl import apply_sql
from pgroll_dsl.plan.model import Requirement
from pgroll_dsl.plan.planner import plan_migration
from tests.live_helpers import Connection, apply, columns, dsn_of, make_runner, query

TREE = """
create table t (id int not null primary key, v int, title varchar(50))
  partition by range (id);
create table t_low partition of t for values from (minvalue) to (100);
create table t_high partition of t for values from (100) to (maxvalue)
  partition by hash (id);
create table t_high_0 partition of t_high for values with (modulus 2, remainder 0);
create table t_high_1 partition of t_high for values with (modulus 2, remainder 1);
"""
PARTITIONS = ("t_high", "t_high_0", "t_high_1", "t_low")
INDEX = "create index t_v_idx on t (v);"
TO_TEXT = "alter table t alter title type text;"
LAST = f"{INDEX}\n{TO_TEXT}\n"  # the in-place change last: complete refused it
FIRST = f"{TO_TEXT}\n{INDEX}\n"  # the same two the other way round: completes

def _replayed() -> Catalog:
    catalog, warnings = apply_sql(Catalog(), TREE)
    assert warnings == []
    return catalog


def _required_columns(text: str) -> dict[str, set[str]]:
    """The columns ``plan.requires`` asks complete to find, by table."""
    plan = plan_migration(api.compile_source(text, "02_change.pgroll").migration, _replayed())
    found: dict[str, set[str]] = {}
    for r in plan.requires:
        if r.kind is Requirement.COLUMN and r.relation is not None:
            found.setdefault(r.relation, set()).add(r.name)
    return found


def test_the_other_order_requires_the_column_by_its_name_on_every_partition() -> None:
    """The control: with the type change first, every table of the tree is required to have
    ``title`` (and no copy), as start leaves them."""
    required = _required_columns(FIRST)
    assert set(required) == {"t", *PARTITIONS}
    assert all("title" in names and not any(n.startswith("_pgroll") for n in names)
               for names in required.values()), required


def test_an_in_place_type_change_last_requires_no_copy_on_the_partitions() -> None:
    required = _required_columns(LAST)
    assert set(required) == {"t", *PARTITIONS}
    assert all("title" in names and not any(n.startswith("_pgroll") for n in names)
               for names in required.values()), required


def _start_and_complete(pg_conn: Connection, pg_dsn: str, change: str) -> list[Any]:
    """Set the tree up with rows in every leaf, start ``change`` and complete it; the rows."""
    runner = make_runner(dsn_of(pg_dsn, pg_conn))
    try:
        apply(runner, f"sql up `{TREE}`;", "01_setup")
        pg_conn.execute("insert into t select g, g % 7, 'title ' || g "
                        "from generate_series(1, 300) g")
        runner.start(api.compile_source(change, "02_change.pgroll").migration)
        runner.complete()
    finally:
        runner.close()
    for table in ("t", *PARTITIONS):
        assert ("title", "text", False) in columns(pg_conn, table), table
    return query(pg_conn, "select id, v, title from t order by id")


@pytest.mark.postgres
def test_the_other_order_completes(pg_conn: Connection, pg_dsn: str) -> None:
    rows = _start_and_complete(pg_conn, pg_dsn, FIRST)
    assert rows == [(g, g % 7, f"title {g}") for g in range(1, 301)]


@pytest.mark.postgres
def test_an_in_place_type_change_last_on_a_partitioned_table_completes(
        pg_conn: Connection, pg_dsn: str) -> None:
    rows = _start_and_complete(pg_conn, pg_dsn, LAST)
    assert rows == [(g, g % 7, f"title {g}") for g in range(1, 301)]
