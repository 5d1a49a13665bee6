"""Which columns ``try`` shows for a migration, and under which name in each version.

``backends/demo.pairings`` follows renames of tables and columns through a migration, so
that a row is read through the old version under the old names and through the new version
under the new ones. No database here: the catalog comes from the migrations themselves.
"""

from __future__ import annotations

from pgroll_dsl import api
from pgroll_dsl.backends.demo import Pairing, pairings
from pgroll_dsl.catalog.apply import apply_operation
from pgroll_dsl.catalog.model import Catalog


def before(text: str) -> Catalog:
    """The catalog after a migration (its operations applied to an empty schema)."""
    catalog = Catalog()
    for op in api.compile_source(text, "01_setup.pgroll").migration.operations:
        catalog = apply_operation(catalog, op)
    return catalog.completed()


SETUP = "create table items (id int primary key, label text, size text, n int not null);\n"


def pairs(text: str, setup: str = SETUP) -> tuple[Pairing, ...]:
    return pairings(api.compile_source(text, "02_change.pgroll").migration, before(setup))


def test_renames_are_followed_through_table_and_column() -> None:
    found = pairs("alter table items rename label to title;\n"
                  "alter table items alter title set not null up `coalesce(title, 'x')`;\n"
                  "alter table items rename to things;\n"
                  "alter table things add column flag boolean not null default false;\n"
                  "alter table things drop size;\n")
    assert found == (Pairing("items", "things",
                             (("label", "title"), (None, "flag"), ("size", None)),
                             (("id", "id"),)),)


def test_a_migration_that_changes_no_column_shows_no_rows() -> None:
    assert pairs("create index items_n on items (n);\n"
                 "create table other (id int primary key);\n"
                 "sql up `select 1`;\n") == ()


def test_a_renamed_key_pairs_its_names_and_a_unique_column_stands_in_for_a_key() -> None:
    assert pairs("alter table items rename id to item_id;\n") == (
        Pairing("items", "items", (("id", "item_id"),), (("id", "item_id"),)),)
    found = pairs("alter table t alter v type bigint up `v` down `v`;\n",
                  "create table t (code text unique not null, v int);\n")
    assert found == (Pairing("t", "t", (("v", "v"),), (("code", "code"),)),)


def test_rows_cannot_be_matched_when_the_key_is_dropped() -> None:
    [found] = pairs("alter table items drop id;\n")
    assert found.key == ()
