"""A step names its tables as a tuple: a table named ``"ev_2025, old"`` stays one table.

The executor waits for the clients of a step's tables, complete's and rollback's first step
locks them, and the ownership probe checks them. When a step held them as one text joined by
", ", a partition so named became two tables that do not exist: nothing was waited for. The
live counterpart is tests/test_review_lockwait_names.py; here, the plan and its documents.
"""

from __future__ import annotations

from dataclasses import replace

import pytest

from pgroll_dsl import api
from pgroll_dsl.catalog import Catalog
from pgroll_dsl.catalog.sql_ddl import apply_sql
from pgroll_dsl.plan.document import plan_document, plan_from_document
from pgroll_dsl.plan.model import Plan
from pgroll_dsl.plan.planner import PlanOptions, plan_migration
from pgroll_dsl.render.saved_plan import basis, read_saved, save

HOSTILE = "ev_2025, old"
SETUP = """
create table ev (id bigint not null, at date not null, n int, primary key (id, at))
  partition by range (at);
create table "ev_2025, old" partition of ev for values from ('2025-01-01') to ('2026-01-01');
create table ev_2026 partition of ev for values from ('2026-01-01') to ('2027-01-01');
create table refd (id int primary key);
"""
CHANGE = "alter table ev add note text not null default 'x';"
FOREIGN_KEY = "alter table ev alter n add constraint fk_n references refd (id);"


def _catalog() -> Catalog:
    catalog, warnings = apply_sql(Catalog(), SETUP)
    assert warnings == []
    return catalog


def _plan(text: str) -> tuple[Plan, Catalog]:
    catalog = _catalog()
    migration = api.compile_source(text, "02_change.pgroll").migration
    return plan_migration(migration, catalog), catalog


def test_rollback_names_the_partition_as_one_table() -> None:
    plan, _ = _plan(CHANGE)
    left = [s for s in plan.rollback if "that left them since" in s.summary]
    assert len(left) == 1
    assert left[0].tables == ("ev", HOSTILE, "ev_2026")
    locks = [s for s in plan.rollback if s.summary.startswith("lock ")]
    assert [s.tables for s in locks] == [("ev", HOSTILE, "ev_2026")]
    assert all(t in {"ev", HOSTILE, "ev_2026", "refd"} for s in plan.rollback for t in s.tables)


def test_a_foreign_key_step_names_both_ends() -> None:
    plan, _ = _plan(FOREIGN_KEY)
    both = [s.tables for s in plan.start if "refd" in s.tables and len(s.tables) > 1]
    assert both and all(len(t) == len(set(t)) for t in both)
    assert {HOSTILE, "ev_2026"} <= {t for pair in both for t in pair}
    assert all(", " not in t or t == HOSTILE for p in (plan.start, plan.complete, plan.rollback)
               for s in p for t in s.tables)


@pytest.mark.parametrize("plan_format", ["sql", "json"])
def test_saved_plans_keep_the_tables(plan_format: str) -> None:
    plan, catalog = _plan(FOREIGN_KEY + "\n" + CHANGE)
    migration = api.compile_source(FOREIGN_KEY + "\n" + CHANGE, "02_change.pgroll").migration
    plan = replace(plan, basis=basis(migration, catalog, PlanOptions()))
    saved = read_saved(save(plan, plan_format), f"02_change.{plan_format}")
    assert saved.plan == plan
    assert any(HOSTILE in s.tables for s in saved.plan.rollback)


def test_a_document_without_tables_reads_them_from_relation() -> None:
    """A plan saved by a version before ``tables`` (only ``relation``) still reads."""
    plan, _ = _plan(CHANGE)
    document = plan_document(plan)
    assert document["rollback"][-1]["tables"] == list(plan.rollback[-1].tables)
    for phase in ("start", "complete", "rollback"):
        for item in document[phase]:
            del item["tables"]
    old = plan_from_document(document)
    simple = [s for s in plan.start if s.tables and all(", " not in t for t in s.tables)]
    assert simple and all(s in old.start for s in simple)
    # Only the text was kept: a name holding ", " reads back split, as before tables existed.
    left = [s.tables for s in old.rollback if "that left them since" in s.summary]
    assert left == [("ev", "ev_2025", "old", "ev_2026")]
