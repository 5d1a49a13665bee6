"""validate_ops: each rule reports its code at the offending name or expression.

Each test compiles a small migration and validates it against a catalog replayed from DSL
history (``catalog_of``); it asserts ``(code, line, col)`` of the first diagnostic. The last
tests replay pgroll's conformance corpus: only example 35's broken ``down`` is reported.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from pgroll_dsl import api, ir
from pgroll_dsl.catalog import Catalog, EnumType
from pgroll_dsl.catalog.apply import apply_operation
from pgroll_dsl.diagnostics import CompileError, Diagnostic, Diagnostics, Severity
from pgroll_dsl.ir import Ident, Migration, Sql, SqlScript, TypeName
from pgroll_dsl.passes.validate_names import did_you_mean
from pgroll_dsl.passes.validate_ops import validate_ops
from pgroll_dsl.passes.validate_types import check_type
from pgroll_dsl.sql.expressions import is_volatile
from tests.conftest import conformance_files

FIXTURES = Path(__file__).parent / "fixtures" / "validate"

BASE = """
create table users (id int primary key, name text not null, email text, nickname text);
create table posts (
  id serial primary key,
  title text not null,
  author_id int,
  body text,
  constraint title_len check `length(title) > 3`,
  constraint author_fk foreign key (author_id) references users (id)
);
create table tags (label text not null, weight int);
create index idx_posts_title on posts (title);
create table pairs (
  id int primary key,
  a int not null,
  b int not null,
  constraint pairs_ab unique (a, b),
  constraint pairs_order check `a < b`
);
"""

Where = tuple[str, int, int]


def replay_onto(catalog: Catalog, text: str) -> Catalog:
    """The schema after the DSL migration ``text`` has started and completed on ``catalog``."""
    for op in api.compile_source(text, "history.pgroll").migration.operations:
        catalog = apply_operation(catalog, op)
    return catalog.completed()


def catalog_of(*history: str) -> Catalog:
    """The schema after each DSL migration of ``history``, in order, on an empty schema."""
    catalog = Catalog()
    for text in history:
        catalog = replay_onto(catalog, text)
    return catalog


def base() -> Catalog:
    """``BASE`` plus an enum ``mood`` (enums come from raw SQL, which replay skips)."""
    return replace(catalog_of(BASE), enums=(EnumType(name="mood", labels=("sad", "ok")),))


def diagnose(source: str, catalog: Catalog | None = None,
             path: str = "m.pgroll") -> list[Diagnostic]:
    migration = api.compile_source(source, path).migration
    sink = Diagnostics()
    validate_ops(migration, base() if catalog is None else catalog, sink)
    return list(sink)


def first(source: str, catalog: Catalog | None = None, path: str = "m.pgroll") -> Where:
    found = diagnose(source, catalog, path)
    assert found, "expected a diagnostic"
    d = found[0]
    assert d.span is not None
    return (d.code.id, d.span.line, d.span.col)


def clean(source: str, catalog: Catalog | None = None) -> None:
    found = diagnose(source, catalog)
    assert not found, [f"{d.code.id} {d.span}: {d.message}" for d in found]


# ---- tables --------------------------------------------------------------------------------


def test_create_table_that_exists() -> None:
    assert first("create table users (id int);") == ("PGD201", 1, 14)


def test_create_table_named_like_an_index() -> None:
    assert first("create table idx_posts_title (id int);") == ("PGD201", 1, 14)


def test_table_does_not_exist_suggests_the_closest_name() -> None:
    found = diagnose("alter table user add age int;")
    assert found[0].code.id == "PGD202"
    assert found[0].span is not None and (found[0].span.line, found[0].span.col) == (1, 13)
    assert found[0].hints == ('did you mean "users"?',)


def test_drop_table_that_does_not_exist() -> None:
    assert first("drop table nope;") == ("PGD202", 1, 12)


def test_rename_table_to_an_existing_table() -> None:
    assert first("alter table users rename to posts;") == ("PGD201", 1, 29)


def test_rename_table_from_a_missing_table() -> None:
    assert first("alter table people rename to persons;") == ("PGD202", 1, 13)


# ---- columns -------------------------------------------------------------------------------


def test_add_column_that_exists() -> None:
    assert first("alter table users add email text;") == ("PGD203", 1, 23)


def test_drop_column_that_does_not_exist() -> None:
    found = diagnose("alter table users drop emial;")
    assert (found[0].code.id, found[0].hints) == ("PGD204", ('did you mean "email"?',))
    assert first("alter table users drop emial;") == ("PGD204", 1, 24)


def test_rename_column_from_a_missing_column() -> None:
    assert first("alter table users rename mail to email2;") == ("PGD204", 1, 26)


def test_rename_column_to_an_existing_column() -> None:
    assert first("alter table users rename email to name;") == ("PGD203", 1, 35)


def test_alter_column_that_does_not_exist() -> None:
    assert first("alter table users alter mail set not null;") == ("PGD204", 1, 25)


def test_create_table_lists_a_column_twice() -> None:
    assert first("create table t (id int, name text,\n  id bigint);") == ("PGD314", 2, 3)


# ---- indexes -------------------------------------------------------------------------------


def test_create_index_name_taken_by_an_index() -> None:
    assert first("create index idx_posts_title on posts (body);") == ("PGD205", 1, 14)


def test_create_index_name_taken_by_a_table() -> None:
    assert first("create index users on posts (body);") == ("PGD205", 1, 14)


def test_create_index_on_a_missing_column() -> None:
    assert first("create index i on posts (title, bdy);") == ("PGD204", 1, 33)


def test_create_index_on_a_missing_table() -> None:
    assert first("create index i on post (title);") == ("PGD202", 1, 19)


def test_drop_index_that_does_not_exist() -> None:
    found = diagnose("drop index idx_post_title;")
    assert found[0].hints == ('did you mean "idx_posts_title"?',)
    assert first("drop index idx_post_title;") == ("PGD206", 1, 12)


def test_index_predicate_names_a_missing_column() -> None:
    source = "create index i on posts (title) where `bodyy IS NOT NULL`;"
    assert first(source) == ("PGD209", 1, 40)


# ---- constraints ---------------------------------------------------------------------------


def test_alter_column_unique_name_taken_by_a_constraint() -> None:
    source = "alter table posts alter body add constraint title_len unique;"
    assert first(source) == ("PGD207", 1, 45)


def test_unique_constraint_name_taken_by_an_index() -> None:
    source = "alter table users alter email add constraint idx_posts_title unique;"
    assert first(source) == ("PGD205", 1, 46)


def test_create_constraint_name_taken() -> None:
    source = "alter table pairs add constraint pairs_order check `a > 0` columns (a);"
    assert first(source) == ("PGD207", 1, 34)


def test_create_constraint_on_missing_columns() -> None:
    assert first("alter table pairs add constraint u unique (a, c);") == ("PGD204", 1, 47)


def test_create_table_defines_a_constraint_name_twice() -> None:
    source = ("create table t (id int primary key, n int constraint c check `n > 0`,\n"
              "  constraint c unique (n));")
    assert first(source) == ("PGD207", 2, 14)


def test_table_constraint_on_a_missing_column() -> None:
    assert first("create table t (id int, constraint u unique (idd));") == ("PGD204", 1, 46)


def test_drop_constraint_that_does_not_exist() -> None:
    source = "alter table posts drop constraint title_length down title;"
    assert first(source) == ("PGD208", 1, 35)


def test_drop_constraint_cannot_drop_a_primary_key() -> None:
    assert first("alter table users drop constraint users_pkey down id;") == ("PGD313", 1, 35)


def test_drop_constraint_on_a_multicolumn_constraint() -> None:
    assert first("alter table pairs drop constraint pairs_ab down `a`;") == ("PGD312", 1, 35)


def test_drop_constraint_without_down() -> None:
    source = ('{"operations": [{"drop_constraint": {"table": "posts", "name": "title_len",\n'
              '  "up": "title"}}]}')
    assert first(source, path="m.json") == ("PGD310", 1, 65)


def test_drop_multicolumn_constraint_misses_a_column() -> None:
    assert first("alter table pairs drop constraint pairs_ab down (a);") == ("PGD310", 1, 35)


def test_drop_multicolumn_constraint_with_a_redundant_column() -> None:
    source = "alter table pairs drop constraint pairs_ab down (a, b, id);"
    assert first(source) == ("PGD311", 1, 56)


def test_drop_multicolumn_table_check_finds_columns_in_the_expression() -> None:
    clean("alter table pairs drop constraint pairs_order down (a, b);")


def test_create_constraint_up_for_an_unlisted_column() -> None:
    source = ("alter table posts add constraint body_len check `length(body) > 0` columns (body)\n"
              "  up (title `upper(title)`);")
    assert first(source) == ("PGD311", 2, 7)


def test_rename_constraint_from_a_missing_constraint() -> None:
    assert first("alter table posts rename constraint nope to x;") == ("PGD208", 1, 37)


def test_rename_constraint_to_a_taken_name() -> None:
    source = "alter table posts rename constraint title_len to author_fk;"
    assert first(source) == ("PGD207", 1, 50)


def test_rename_constraint_may_rename_a_primary_key() -> None:
    clean("alter table users rename constraint users_pkey to users_pk;")


def test_primary_key_per_column_and_as_a_constraint() -> None:
    source = "create table t (id int primary key, constraint t_pk primary key (id));"
    assert first(source) == ("PGD315", 1, 48)


def test_create_constraint_primary_key_on_a_table_that_has_one() -> None:
    assert first("alter table users add constraint pk2 primary key (email);") == ("PGD315", 1, 34)


# ---- foreign keys --------------------------------------------------------------------------


def test_column_reference_to_a_missing_table() -> None:
    source = "create table c (id int primary key, u int constraint c_u references usr (id));"
    assert first(source) == ("PGD202", 1, 69)


def test_column_reference_to_a_missing_column() -> None:
    source = "create table c (id int primary key, u int constraint c_u references users (uid));"
    assert first(source) == ("PGD204", 1, 76)


def test_column_reference_to_a_column_without_unique_key() -> None:
    source = "alter table tags add owner text constraint fk_owner references users (email);"
    assert first(source) == ("PGD211", 1, 71)


def test_create_constraint_foreign_key_to_a_column_without_unique_key() -> None:
    source = "alter table posts add constraint fk2 foreign key (body) references users (name);"
    assert first(source) == ("PGD211", 1, 75)


def test_alter_column_reference_to_a_missing_table() -> None:
    source = "alter table posts alter body add constraint fk3 references user (id);"
    assert first(source) == ("PGD202", 1, 60)


def test_foreign_key_to_a_unique_constraint_in_any_column_order() -> None:
    clean("create table c (id int primary key, x int, y int,\n"
          "  constraint c_fk foreign key (x, y) references pairs (b, a));")


def test_foreign_key_to_its_own_new_table() -> None:
    clean("create table tree (\n"
          "  id int primary key, parent int constraint tree_fk references tree (id));")


def test_on_delete_set_column_outside_the_key() -> None:
    source = ("create table c (id int primary key, u int, v int,\n"
              "  constraint c_fk foreign key (u) references users (id) on delete set null (v));")
    assert first(source) == ("PGD316", 2, 77)


def test_foreign_key_column_counts_differ() -> None:
    source = ("create table c (id int primary key, x int,\n"
              "  constraint c_fk foreign key (x) references pairs (a, b));")
    assert first(source) == ("PGD317", 2, 35)


# ---- alter_column --------------------------------------------------------------------------


def test_alter_column_without_a_change() -> None:
    assert first("alter table users alter email up `lower(email)`;") == ("PGD304", 1, 25)


def test_set_not_null_on_a_not_null_column() -> None:
    assert first("alter table users alter name set not null;") == ("PGD305", 1, 25)


def test_drop_not_null_on_a_nullable_column() -> None:
    assert first("alter table users alter email drop not null;") == ("PGD306", 1, 25)


def test_alter_column_down_names_a_missing_column() -> None:
    source = "alter table users alter email\n  type varchar(100)\n  down `upper(emial)`;"
    found = diagnose(source)
    assert first(source) == ("PGD209", 3, 15)
    assert found[0].hints == ('did you mean "email"?',)


def test_alter_column_default_names_a_column() -> None:
    assert first("alter table users alter email set default nickname;") == ("PGD319", 1, 43)


# ---- add_column ----------------------------------------------------------------------------


def test_not_null_column_without_default_or_up() -> None:
    assert first("alter table users add age int not null;") == ("PGD301", 1, 23)


@pytest.mark.parametrize("column", ["age int not null default 0", "age serial",
                                    "age int not null up `0`", "age int"])
def test_not_null_column_with_a_value_for_existing_rows(column: str) -> None:
    clean(f"alter table users add {column};")


def test_add_primary_key_column() -> None:
    assert first("alter table tags add id int primary key;") == ("PGD307", 1, 22)


def test_add_generated_column() -> None:
    source = "alter table users add n int generated always as `length(name)` stored;"
    assert first(source) == ("PGD308", 1, 29)


def test_volatile_default_without_up_in_json() -> None:
    """pgroll JSON must spell ``up`` out, as pgroll demands; the DSL implies it."""
    source = ('{"operations": [{"add_column": {"table": "users", "column": '
              '{"name": "score", "type": "int", "nullable": true, "default": "random()"}}}]}')
    assert first(source, path="m.json") == ("PGD309", 1, 124)  # inside the quotes


def test_volatile_default_implies_up_in_the_dsl() -> None:
    source = "alter table users add score int default `random()`;"
    clean(source)
    (op,) = api.compile_source(source, "m.pgroll").migration.operations
    assert isinstance(op, ir.AddColumn) and op.up == ir.SqlExpr("random()")
    assert api.emit(api.compile_source(source, "m.pgroll").migration, "dsl") == source + "\n"


def test_volatile_default_with_a_different_up() -> None:
    source = "alter table users add score int default `random()` up `0`;"
    assert first(source) == ("PGD309", 1, 42)


@pytest.mark.parametrize("default", ["`now()`", "5", "'x'", "`'1'::int + 2`",
                                     "`lower('A')`"])
def test_non_volatile_default_needs_no_up(default: str) -> None:
    clean(f"alter table users add extra text default {default};")


def test_volatile_default_with_the_same_up() -> None:
    clean("alter table users add score int default `random()` up `random()`;")


def test_add_column_up_sees_the_table_before_the_column() -> None:
    assert first("alter table users add age int up `age + 1`;") == ("PGD209", 1, 35)


def test_add_column_check_sees_the_new_column() -> None:
    clean("alter table users add age int constraint age_pos check `age > 0`;")


def test_add_column_default_names_a_column() -> None:
    assert first("alter table users add x text default unnamed;") == ("PGD319", 1, 38)


def test_add_column_check_name_taken() -> None:
    source = "alter table posts add n int constraint title_len check `n > 0`;"
    assert first(source) == ("PGD207", 1, 40)


# ---- expressions in other places ---------------------------------------------------------


def test_create_table_check_sees_the_new_columns() -> None:
    clean("create table t (a int, b int, constraint ab check `a < b`);")
    source = "create table t (a int, b int, constraint ab check `a < c`);"
    assert first(source) == ("PGD209", 1, 56)


def test_drop_column_down_names_a_missing_column() -> None:
    assert first("alter table users drop nickname down `nme`;") == ("PGD209", 1, 39)


def test_sub_query_columns_are_left_to_postgres() -> None:
    clean("alter table posts alter author_id set not null\n"
          "  up `(SELECT min(id) FROM users WHERE users.name = 'x' AND nickname IS NULL)`;")


def test_create_constraint_down_names_a_missing_column() -> None:
    source = ("alter table posts add constraint body_len check `length(body) > 0` columns (body)\n"
              "  down (body `titel`);")
    assert first(source) == ("PGD209", 2, 15)


# ---- sql -----------------------------------------------------------------------------------


def test_sql_with_another_operation() -> None:
    assert first("create table t (id int);\nsql up `SELECT 1`;") == ("PGD302", 2, 1)


def test_sql_on_complete_may_share_the_migration() -> None:
    clean("create table t (id int);\nsql on complete up `SELECT 1`;")


def test_sql_up_with_only_a_comment() -> None:
    assert first("sql up `-- nothing`;") == ("PGD303", 1, 9)


def test_empty_sql_up_is_left_to_check_expressions() -> None:
    with pytest.raises(CompileError) as caught:
        api.compile_source("sql up ``;", "m.pgroll")
    assert [(d.code.id, d.span.col if d.span else 0) for d in caught.value.diagnostics] == [
        ("PGD503", 9)]
    migration = Migration(name="m", operations=(Sql(up=SqlScript("")),))
    sink = Diagnostics()
    validate_ops(migration, Catalog(), sink)
    assert not list(sink)


# ---- replica identity, types, backfills ---------------------------------------------------


def test_replica_identity_index_that_does_not_exist() -> None:
    assert first("alter table users replica identity using index users_pk;") == ("PGD206", 1, 48)


def test_replica_identity_index_of_another_table() -> None:
    source = "alter table users replica identity using index idx_posts_title;"
    found = diagnose(source)
    assert "on table \"posts\"" in found[0].message
    assert first(source) == ("PGD206", 1, 48)


def test_unknown_type_is_a_warning() -> None:
    found = diagnose("alter table users add feeling mod;")
    assert found[0].severity is Severity.WARNING
    assert found[0].hints == ('did you mean "mood"?',)
    assert first("alter table users add feeling mod;") == ("PGD210", 1, 31)


@pytest.mark.parametrize("type_", ["mood", "int4", "varchar(3)", "timestamptz", "text[]",
                                   "double precision", "public.mood", "bigserial"])
def test_known_types(type_: str) -> None:
    clean(f"alter table users add extra {type_};")


def test_unknown_type_in_alter_column() -> None:
    assert first("alter table users alter email type citext;") == ("PGD210", 1, 36)


def test_backfill_of_a_table_without_key_is_a_warning() -> None:
    found = diagnose("alter table tags alter weight set default 1;")
    assert found[0].severity is Severity.WARNING
    assert first("alter table tags alter weight set default 1;") == ("PGD318", 1, 13)


def test_no_backfill_warning_for_a_table_of_this_migration() -> None:
    clean("create table t (a int);\nalter table t add constraint t_pk primary key (a);")


def test_no_backfill_without_up() -> None:
    clean("alter table tags add note text;")


# ---- folding -------------------------------------------------------------------------------


def test_later_operations_see_earlier_ones() -> None:
    clean("alter table users rename to members;\n"
          "alter table members add age int not null default 0;\n"
          "create index members_age on members (age);")


def test_a_column_added_then_altered_in_one_migration() -> None:
    source = ("alter table users add age int not null default 0;\n"
              "alter table users alter age drop not null;")
    assert first(source) == ("PGD320", 2, 25)


def test_two_alters_of_one_column_that_cannot_merge() -> None:
    source = ("alter table users alter nickname add constraint a check `nickname <> ''`;\n"
              "alter table users alter nickname add constraint b check `length(nickname) < 9`;")
    assert first(source) == ("PGD320", 2, 25)


def test_two_alters_of_one_column_that_merge_are_fine() -> None:
    clean("alter table users alter nickname type text;\n"
          "alter table users alter nickname set not null up `coalesce(nickname, '')`;")


def test_alters_of_one_column_with_another_operation_between() -> None:
    source = ("alter table users alter nickname type text;\n"
              "alter table users add age int;\n"
              "alter table users alter nickname set not null up `coalesce(nickname, '')`;")
    assert first(source) == ("PGD320", 3, 25)


def test_a_constraint_over_a_column_rewritten_earlier() -> None:
    source = ("alter table users alter nickname type text;\n"
              "alter table users add constraint u unique (id, nickname);")
    assert first(source) == ("PGD320", 2, 48)


def test_dropping_a_column_added_in_the_same_migration() -> None:
    source = ("alter table users add age int;\n"
              "create index users_age on users (age);\n"
              "alter table users drop age;")
    assert first(source) == ("PGD320", 3, 24)


def test_an_add_and_its_drop_cancel() -> None:
    clean("alter table users add age int;\nalter table users drop age;")


def test_a_copied_column_of_another_table_is_unaffected() -> None:
    clean("alter table users alter nickname type text;\n"
          "alter table posts alter title type varchar(300);")


def test_the_old_name_is_gone_after_a_rename() -> None:
    source = "alter table users rename to members;\nalter table users add age int;"
    assert first(source) == ("PGD202", 2, 13)


def test_dropped_column_can_be_added_back() -> None:
    clean("alter table users drop nickname;\nalter table users add nickname varchar(20);")


@pytest.mark.parametrize(("name", "where"), [
    ("plain_scalar.yaml", ("PGD209", 5, 17)),  # exact: at the name inside the expression
    ("folded_scalar.yaml", ("PGD209", 6, 15)),  # folded: line by line, at the name too
])
def test_yaml_positions(name: str, where: Where) -> None:
    path = FIXTURES / name
    assert first(path.read_text(), path=name) == where


# ---- helpers -------------------------------------------------------------------------------


def test_did_you_mean() -> None:
    assert did_you_mean("event_name", ["id", "name"]) == ('did you mean "name"?',)
    assert did_you_mean("Name", ["name"]) == ('did you mean "name"? (names are case-sensitive)',)
    assert did_you_mean("zzz", ["id", "name"]) == ()


def test_volatility() -> None:
    assert is_volatile("(random() * 1000)::int")
    assert is_volatile("gen_random_uuid()")
    assert not is_volatile("pg_catalog.now()")
    assert not is_volatile("1 + 2 + 3")


def test_foreign_schema_types_are_not_judged() -> None:
    sink = Diagnostics()
    check_type(TypeName(name="citext", schema=None), Catalog(), sink)
    check_type(TypeName(name="citext", schema=Ident("extensions")), Catalog(), sink)
    assert [d.code.id for d in sink] == ["PGD210"]


# ---- pgroll's conformance corpus ---------------------------------------------------------

# Raw `sql` operations are not replayed into the catalog yet: seed what they create.
SEEDS: dict[str, str] = {
    "05_sql": "create table users (id integer primary key, name text);",
    "32_sql_on_complete": "alter table people add birth_date timestamp;",
}
SEED_ENUMS = {"40_create_enum_type": EnumType(name="fruit_size",
                                              labels=("small", "medium", "large"))}


def _replay_corpus() -> list[Diagnostic]:
    catalog = Catalog()
    found: list[Diagnostic] = []
    for path in conformance_files():
        migration = api.compile_file(path).migration
        sink = Diagnostics()
        validate_ops(migration, catalog, sink)
        found.extend(sink)
        for op in migration.operations:
            catalog = apply_operation(catalog, op)
        catalog = catalog.completed()
        if path.stem in SEEDS:
            catalog = replay_onto(catalog, SEEDS[path.stem])
        if path.stem in SEED_ENUMS:
            catalog = replace(catalog, enums=(*catalog.enums, SEED_ENUMS[path.stem]))
    return found


def test_conformance_corpus_reports_only_example_35() -> None:
    # The safety lints of raw SQL (PGD4xx warnings) are tests/test_lint_sql.py's.
    found = [d for d in _replay_corpus() if not d.code.id.startswith("PGD4")]
    assert [(Path(d.span.path).name, d.code.id, d.span.line, d.span.col)
            for d in found if d.span is not None] == [
        ("35_alter_column_multiple.yaml", "PGD209", 15, 13),
    ]
    (d,) = found
    assert d.severity is Severity.ERROR
    assert '"event_name"' in d.message
    assert d.hints == ('did you mean "name"?',)



def test_merged_ups_compose_on_a_column_whose_name_has_a_quote() -> None:
    from pgroll_dsl.passes.combine import combine

    source = ('alter table users alter "a""b" type bigint up `"a""b"::bigint`;\n'
              'alter table users alter "a""b" set not null up `coalesce("a""b", 0)`;')
    merged, _ = combine(api.compile_source(source, "m.pgroll").migration)
    (op,) = merged.operations
    assert isinstance(op, ir.AlterColumn) and op.up is not None
    assert op.up.text == 'coalesce(("a""b"::bigint), 0)'


def test_a_directory_without_migration_files_is_said(tmp_path: Path) -> None:
    """``validate DIR`` of a directory with no migration file (a CI job pointed at the wrong
    one) said '0 migrations checked, 0 errors' and nothing else: now a warning, PGD114,
    beside the other directories' findings."""
    empty = tmp_path / "empty"
    empty.mkdir()
    (empty / "README.md").write_text("not a migration\n", encoding="utf-8")
    full = tmp_path / "full"
    full.mkdir()
    (full / "01_t.pgroll").write_text("create table t (id int primary key);\n",
                                      encoding="utf-8")
    result = api.validate([empty, full])
    assert result.ok and result.checked == 1
    assert [(d.code.id, d.severity, d.message) for d in result.diagnostics] == [
        ("PGD114", Severity.WARNING, f"no migration files in {empty}")]
