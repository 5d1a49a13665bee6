"""``convert`` from SQL (``api.convert_sql``): SQL DDL becomes pgroll operations.

Three kinds of tests:

* one statement kind at a time: the converted migration, written by the DSL emitter, is the
  expected text; its diagnostics are the expected codes; it converts back from the DSL and
  from pgroll's JSON to the same operations; and, placeholders aside, it passes ``validate``
  against the schema it was converted for;
* real ORM output kept as fixtures (``tests/fixtures/convert_sql/<orm>/*.sql``, printed by
  the environments of ``tests/fixtures/orm/``): each file converted with the history before
  it, compared with the ``.converted`` (DSL) and ``.diagnostics`` files next to it
  (``PGROLL_DSL_UPDATE_FIXTURES=1`` rewrites them; review the diff);
* live, the ORMs themselves: Alembic (``alembic upgrade … --sql``, offline) and Django
  (``sqlmigrate``) print their migrations; the ORM's SQL runs on one database, the
  converted migrations run with ``start``/``complete`` on another, and the two catalogs (and
  the rows written along the way) are compared.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import uuid
from collections.abc import Callable, Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import psycopg
import pytest
from psycopg import sql
from psycopg.conninfo import make_conninfo

from pgroll_dsl import api, ir
from pgroll_dsl.catalog.compare import differences
from pgroll_dsl.catalog.introspect import introspect
from pgroll_dsl.catalog.model import Catalog
from pgroll_dsl.catalog.replay import apply_migration, replay
from pgroll_dsl.catalog.sql_ddl import apply_sql
from pgroll_dsl.compile import Before, validate
from pgroll_dsl.diagnostics import CompileError, Diagnostic
from pgroll_dsl.frontend.from_sql_state import PLACEHOLDER
from tests.live_helpers import make_runner

FIXTURES = Path(__file__).parent / "fixtures" / "convert_sql"
ORM = Path(__file__).parent / "fixtures" / "orm"
UPDATE = os.environ.get("PGROLL_DSL_UPDATE_FIXTURES") == "1"  # rewrite the expected files

# The schema the statements of the unit cases run on.
BASE = """
CREATE TABLE users (id serial PRIMARY KEY, name text NOT NULL, email text, age int DEFAULT 0,
                    nick varchar(20) NOT NULL);
CREATE TABLE posts (id bigserial PRIMARY KEY, user_id int REFERENCES users, title text,
                    CONSTRAINT posts_title_check CHECK (length(title) > 2));
CREATE UNIQUE INDEX users_email_idx ON users (email);
"""


def base_catalog() -> Catalog:
    catalog, warnings = apply_sql(Catalog(), BASE)
    assert not warnings, warnings
    return catalog


def convert(text: str, catalog: Catalog | None) -> tuple[ir.Migration, list[Diagnostic]]:
    return api.convert_sql(text, "m", path="m.sql", catalog=catalog)


def check_round_trip(migration: ir.Migration, catalog: Catalog) -> None:
    """The DSL and JSON the emitters write read back as the same operations; it validates."""
    text = api.emit(migration, "dsl")
    if PLACEHOLDER in text:  # the author's to replace: validate refuses it (PGD501)
        with pytest.raises(CompileError) as refused:
            api.compile_source(text, "m.pgroll")
        assert {d.code.id for d in refused.value.diagnostics} == {"PGD501"}
        return
    from_dsl = api.compile_source(text, "m.pgroll").migration
    from_json = api.compile_source(api.emit(migration, "json"), "m.json").migration
    assert from_dsl.operations == migration.operations
    assert from_json.operations == migration.operations
    for part in runnable_parts(from_dsl):  # raises CompileError on any error
        validate(part, Before(catalog, None, ()))
        catalog, _ = apply_migration(catalog, part)


def runnable_parts(migration: ir.Migration) -> list[ir.Migration]:
    """The migration as an author splits it: each raw ``sql`` operation alone (PGD302)."""
    parts: list[list[ir.Operation]] = [[]]
    for op in migration.operations:
        if isinstance(op, ir.Sql):
            parts += [[op], []]
        else:
            parts[-1].append(op)
    kept = [p for p in parts if p]
    if len(kept) == 1:
        return [migration]
    return [ir.Migration(name=f"{migration.name}_{n}", operations=tuple(p))
            for n, p in enumerate(kept, 1)]


# ---- one statement kind at a time ----------------------------------------------------------

# (id, SQL, expected DSL, expected diagnostic codes); the schema is BASE unless the id ends
# with "-no-schema" (convert told nothing about the schema).
CASES: list[tuple[str, str, str, list[str]]] = [
    # CREATE TABLE
    ("create-table-columns",
     "CREATE TABLE t (id serial PRIMARY KEY, a int NOT NULL DEFAULT 1, b text UNIQUE, "
     "c int CHECK (c > 0), d int REFERENCES users (id) ON DELETE CASCADE, "
     "e bigint GENERATED ALWAYS AS IDENTITY (START WITH 10), "
     "f int GENERATED ALWAYS AS (a * 2) STORED, g int CONSTRAINT g_pos CHECK (g > 0) NO INHERIT)",
     """\
create table t (
  id serial primary key,
  a int not null default 1,
  b text unique,
  c int constraint t_c_check check `c > 0`,
  d int constraint t_d_fkey references users (id) on delete cascade,
  e bigint generated always as identity `START WITH 10`,
  f int generated always as `a * 2` stored,
  g int constraint g_pos check `g > 0` no inherit
);
""", []),
    ("create-table-constraints",
     "CREATE TABLE t (a int, b int, c int, CONSTRAINT t_pk PRIMARY KEY (a, b), UNIQUE (b, c), "
     "CHECK (a < b), CHECK (c > 0), FOREIGN KEY (a) REFERENCES users (id) MATCH FULL ON UPDATE "
     "SET NULL, EXCLUDE USING gist (c WITH =) WHERE (c > 0), "
     "UNIQUE NULLS NOT DISTINCT (c) INCLUDE (a) WITH (fillfactor=70))",
     """\
create table t (
  a int,
  b int,
  c int,
  constraint t_pk primary key (a, b),
  constraint t_check check `a < b`,
  constraint t_c_check check `c > 0`,
  constraint t_a_fkey foreign key (a) references users (id) on update set null match full,
  constraint t_excl exclude using gist `c WITH =` where `c > 0`,
  constraint t_c_a_key unique nulls not distinct (c) include (a) with `fillfactor=70`,
  constraint t_b_c_key unique (b, c)
);
""", []),
    ("create-table-alembic-style-keys",
     "CREATE TABLE t (id SERIAL NOT NULL, email VARCHAR(200), PRIMARY KEY (id), UNIQUE (email))",
     "create table t (id serial primary key, email varchar(200) unique);\n", []),
    ("create-table-key-in-other-order",
     "CREATE TABLE t (a int, b int, PRIMARY KEY (b, a))",
     "create table t (a int, b int, constraint t_pkey primary key (b, a));\n", []),
    ("create-table-deferrable",
     "CREATE TABLE t (a int PRIMARY KEY DEFERRABLE, b int CONSTRAINT b_key UNIQUE, "
     "c int REFERENCES users DEFERRABLE INITIALLY DEFERRED)",
     """\
create table t (
  a int not null,
  b int,
  c int constraint t_c_fkey references users (id) deferrable initially deferred,
  constraint t_pkey primary key (a) deferrable,
  constraint b_key unique (b)
);
""", []),
    ("create-table-types",
     "CREATE TABLE public.t (a integer, b timestamp(3) with time zone, c numeric(10, 2)[], "
     "d \"char\", e double precision, f character varying(5), g boolean)",
     "create table t (a int, b timestamptz(3), c numeric(10,2)[], d \"char\", e float8, "
     "f varchar(5), g bool);\n", []),
    ("create-table-unlogged", "CREATE UNLOGGED TABLE t (a int)",
     "sql up `CREATE UNLOGGED TABLE t (a int)`;\n", ["PGD330"]),
    ("create-table-collate", 'CREATE TABLE t (a text COLLATE "C")',
     'sql up `CREATE TABLE t (a text COLLATE "C")`;\n', ["PGD330"]),
    ("create-table-like", "CREATE TABLE t (LIKE users)",
     "sql up `CREATE TABLE t (LIKE users)`;\n", ["PGD330"]),
    ("create-table-other-schema", "CREATE TABLE other.t (a int)",
     "sql up `CREATE TABLE other.t (a int)`;\n", ["PGD330"]),
    # ADD COLUMN
    ("add-column", "ALTER TABLE users ADD COLUMN x int", "alter table users add x int;\n", []),
    ("add-column-default", "ALTER TABLE users ADD COLUMN x int NOT NULL DEFAULT 5",
     "alter table users add x int not null default 5;\n", []),
    ("add-column-not-null", "ALTER TABLE users ADD COLUMN x int NOT NULL",
     f"alter table users add x int not null up `{PLACEHOLDER}`;\n", ["PGD331"]),
    ("add-column-volatile-default", "ALTER TABLE users ADD COLUMN x uuid DEFAULT gen_random_uuid()",
     "alter table users add x uuid default `gen_random_uuid()`;\n", []),
    ("add-column-constraints",
     "ALTER TABLE users ADD COLUMN x int UNIQUE, ADD COLUMN y int REFERENCES posts (id), "
     "ADD z int CHECK (z > 0)",
     """\
alter table users add x int unique;

alter table users add y int constraint users_y_fkey references posts (id);

alter table users add z int constraint users_z_check check `z > 0`;
""", []),
    ("add-column-primary-key", "ALTER TABLE users ADD COLUMN x int PRIMARY KEY",
     "sql up `ALTER TABLE users ADD COLUMN x int PRIMARY KEY`;\n", ["PGD330"]),
    ("add-column-if-not-exists", "ALTER TABLE users ADD COLUMN IF NOT EXISTS x int",
     "alter table users add x int;\n", []),
    ("add-column-if-not-exists-there", "ALTER TABLE users ADD COLUMN IF NOT EXISTS email text",
     "", ["PGD332", "PGD112"]),
    ("add-column-if-not-exists-no-schema", "ALTER TABLE users ADD COLUMN IF NOT EXISTS x int",
     "alter table users add x int;\n", ["PGD332"]),
    # DROP COLUMN
    ("drop-column-nullable", "ALTER TABLE users DROP COLUMN email",
     "alter table users drop email;\n", []),
    ("drop-column-not-null", "ALTER TABLE users DROP COLUMN nick",
     f"alter table users drop nick down `{PLACEHOLDER}`;\n", ["PGD331"]),
    ("drop-column-no-schema", "ALTER TABLE users DROP COLUMN email",
     f"alter table users drop email down `{PLACEHOLDER}`;\n", ["PGD331"]),
    ("drop-column-cascade", "ALTER TABLE users DROP COLUMN age CASCADE",
     "alter table users drop age;\n", ["PGD332"]),
    ("drop-column-cascade-referenced", "ALTER TABLE users DROP COLUMN id CASCADE",
     "sql up `ALTER TABLE users DROP COLUMN id CASCADE`;\n", ["PGD330"]),
    ("drop-column-cascade-no-schema", "ALTER TABLE users DROP COLUMN age CASCADE",
     "sql up `ALTER TABLE users DROP COLUMN age CASCADE`;\n", ["PGD330"]),
    # RENAME
    ("rename-column", "ALTER TABLE users RENAME COLUMN name TO full_name",
     "alter table users rename name to full_name;\n", []),
    ("rename-table", "ALTER TABLE users RENAME TO people",
     "alter table users rename to people;\n", []),
    ("rename-constraint", "ALTER TABLE posts RENAME CONSTRAINT posts_title_check TO title_len",
     "alter table posts rename constraint posts_title_check to title_len;\n", []),
    ("rename-index", "ALTER INDEX users_email_idx RENAME TO x",
     "sql up `ALTER INDEX users_email_idx RENAME TO x`;\n", ["PGD330"]),
    # ALTER COLUMN TYPE
    ("type", "ALTER TABLE users ALTER COLUMN age TYPE bigint",
     "alter table users alter age type bigint up `CAST(age AS bigint)` "
     "down `CAST(age AS int)`;\n", []),
    ("type-no-schema", "ALTER TABLE users ALTER COLUMN age TYPE bigint",
     f"alter table users alter age type bigint up `CAST(age AS bigint)` down `{PLACEHOLDER}`;\n",
     ["PGD331"]),
    ("type-using-cast", 'ALTER TABLE users ALTER COLUMN age TYPE bigint USING "age"::bigint',
     'alter table users alter age type bigint up `"age"::bigint` down `CAST(age AS int)`;\n', []),
    ("type-using-expression", "ALTER TABLE users ALTER COLUMN name TYPE int USING length(name)",
     f"alter table users alter name type int up `length(name)` down `{PLACEHOLDER}`;\n",
     ["PGD331"]),
    ("type-unchanged", "ALTER TABLE users ALTER COLUMN nick TYPE varchar(20)", "",
     ["PGD332", "PGD112"]),
    ("type-collate", 'ALTER TABLE users ALTER COLUMN name TYPE text COLLATE "C"',
     'sql up `ALTER TABLE users ALTER COLUMN name TYPE text COLLATE "C"`;\n', ["PGD330"]),
    # NOT NULL
    ("set-not-null", "ALTER TABLE users ALTER COLUMN email SET NOT NULL",
     "alter table users alter email set not null;\n", ["PGD332"]),
    ("set-not-null-django",
     "ALTER TABLE users ALTER COLUMN email SET DEFAULT 'x@example.com';\n"
     "UPDATE users SET email = 'x@example.com' WHERE email IS NULL; SET CONSTRAINTS ALL "
     "IMMEDIATE;\nALTER TABLE users ALTER COLUMN email SET NOT NULL;\n"
     "ALTER TABLE users ALTER COLUMN email DROP DEFAULT;",
     "alter table users alter email set not null up `COALESCE(email, 'x@example.com')`;\n",
     ["PGD332"]),
    ("update-alone", "UPDATE users SET email = 'x' WHERE email IS NULL",
     "sql up `UPDATE users SET email = 'x' WHERE email IS NULL`;\n", ["PGD330"]),
    ("update-data", "UPDATE users SET name = upper(name)",
     "sql up `UPDATE users SET name = upper(name)`;\n", ["PGD330"]),
    ("drop-not-null", "ALTER TABLE users ALTER COLUMN name DROP NOT NULL",
     f"alter table users alter name drop not null down `{PLACEHOLDER}`;\n", ["PGD331"]),
    # DEFAULT
    ("set-default", "ALTER TABLE users ALTER COLUMN age SET DEFAULT 18, "
     "ALTER COLUMN name SET DEFAULT 'anon'",
     "alter table users alter age set default 18;\n\n"
     "alter table users alter name set default 'anon';\n", []),
    ("drop-default", "ALTER TABLE users ALTER COLUMN age DROP DEFAULT",
     "alter table users alter age drop default;\n", []),
    ("set-default-null", "ALTER TABLE users ALTER COLUMN age SET DEFAULT NULL",
     "alter table users alter age drop default;\n", []),
    ("several-changes-one-column",
     "ALTER TABLE users ALTER COLUMN age TYPE bigint, ALTER COLUMN age SET NOT NULL, "
     "ALTER COLUMN age SET DEFAULT 1",
     "alter table users alter age type bigint set not null set default 1 "
     "up `CAST(age AS bigint)` down `CAST(age AS int)`;\n", ["PGD332"]),
    # ADD CONSTRAINT
    ("check", "ALTER TABLE users ADD CONSTRAINT age_pos CHECK (age >= 0)",
     "alter table users add constraint age_pos check `age >= 0`;\n", []),
    ("check-unnamed", "ALTER TABLE users ADD CHECK (age <> length(name))",
     "alter table users add constraint users_check check `age <> length(name)`;\n", []),
    ("unique", "ALTER TABLE users ADD CONSTRAINT u_nick UNIQUE (nick)",
     "alter table users add constraint u_nick unique (nick);\n", []),
    ("unique-index-parameters",
     "ALTER TABLE users ADD UNIQUE (name, nick) INCLUDE (age) WITH (fillfactor = 80)",
     "alter table users add constraint users_name_nick_age_key unique (name, nick) include (age) "
     "with `fillfactor=80`;\n", []),
    ("foreign-key", "ALTER TABLE posts ADD CONSTRAINT fk FOREIGN KEY (user_id) REFERENCES users "
     "(id) ON DELETE SET NULL (user_id)",
     "alter table posts add constraint fk foreign key (user_id) references users (id) "
     "on delete set null (user_id);\n", []),
    ("foreign-key-unnamed", "ALTER TABLE posts ADD FOREIGN KEY (user_id) REFERENCES users",
     "alter table posts add constraint posts_user_id_fkey1 foreign key (user_id) "
     "references users (id);\n", []),
    ("foreign-key-deferrable", "ALTER TABLE posts ADD CONSTRAINT fk FOREIGN KEY (user_id) "
     "REFERENCES users (id) DEFERRABLE INITIALLY DEFERRED",
     "alter table posts alter user_id add constraint fk references users (id) deferrable "
     "initially deferred;\n", []),
    ("foreign-key-not-valid", "ALTER TABLE posts ADD CONSTRAINT fk FOREIGN KEY (user_id) "
     "REFERENCES users (id) NOT VALID",
     "sql up `ALTER TABLE posts ADD CONSTRAINT fk FOREIGN KEY (user_id) REFERENCES users (id) "
     "NOT VALID`;\n", ["PGD330"]),
    ("primary-key", "ALTER TABLE t2 ADD CONSTRAINT t2_pk PRIMARY KEY (a)",
     "alter table t2 add constraint t2_pk primary key (a);\n", []),
    ("primary-key-using-index",
     "ALTER TABLE users ADD CONSTRAINT pk PRIMARY KEY USING INDEX users_email_idx",
     "sql up `ALTER TABLE users ADD CONSTRAINT pk PRIMARY KEY USING INDEX users_email_idx`;\n",
     ["PGD330"]),
    ("exclusion", "ALTER TABLE users ADD CONSTRAINT ex EXCLUDE USING gist (age WITH =)",
     "sql up `ALTER TABLE users ADD CONSTRAINT ex EXCLUDE USING gist (age WITH =)`;\n",
     ["PGD330"]),
    # DROP CONSTRAINT
    ("drop-constraint", "ALTER TABLE posts DROP CONSTRAINT posts_title_check",
     "alter table posts drop constraint posts_title_check down (title);\n", ["PGD332"]),
    ("drop-constraint-no-schema", "ALTER TABLE posts DROP CONSTRAINT posts_user_id_fkey",
     f"alter table posts drop constraint posts_user_id_fkey down (placeholder `{PLACEHOLDER}`);\n",
     ["PGD331"]),
    ("drop-primary-key", "ALTER TABLE posts DROP CONSTRAINT posts_pkey",
     "sql up `ALTER TABLE posts DROP CONSTRAINT posts_pkey`;\n", ["PGD330"]),
    ("drop-constraint-cascade", "ALTER TABLE posts DROP CONSTRAINT posts_title_check CASCADE",
     "sql up `ALTER TABLE posts DROP CONSTRAINT posts_title_check CASCADE`;\n", ["PGD330"]),
    # REPLICA IDENTITY
    ("replica-identity", "ALTER TABLE users REPLICA IDENTITY FULL",
     "alter table users replica identity full;\n", []),
    ("replica-identity-index", "ALTER TABLE users REPLICA IDENTITY USING INDEX users_email_idx",
     "alter table users replica identity using index users_email_idx;\n", []),
    # an ALTER TABLE with one subcommand pgroll has no operation for stays whole
    ("alter-table-partly", "ALTER TABLE users ADD COLUMN x int, SET (fillfactor = 50)",
     "sql up `ALTER TABLE users ADD COLUMN x int, SET (fillfactor = 50)`;\n", ["PGD330"]),
    # CREATE / DROP INDEX
    ("create-index", "CREATE INDEX users_name_idx ON users (name)",
     "create index users_name_idx on users (name);\n", []),
    ("create-index-concurrently-unnamed", "CREATE UNIQUE INDEX CONCURRENTLY ON users (name, nick)",
     "create unique index users_name_nick_idx on users (name, nick);\n", []),
    ("create-index-options",
     'CREATE INDEX i ON users USING btree (name COLLATE "C" DESC NULLS LAST, '
     "age ASC NULLS FIRST) WITH (fillfactor = 70) WHERE age > 18 AND email IS NOT NULL",
     """\
create index i on users (name collate C desc nulls last, age asc nulls first)
  with `fillfactor=70`
  where `age > 18 AND email IS NOT NULL`;
""", []),
    ("create-index-method-opclass", "CREATE INDEX i ON users USING hash (name)",
     "create index i on users using hash (name);\n", []),
    ("create-index-expression", "CREATE INDEX i ON users (lower(name))",
     "sql up `CREATE INDEX i ON users (lower(name))`;\n", ["PGD330"]),
    ("create-index-include", "CREATE INDEX i ON users (name) INCLUDE (age)",
     "sql up `CREATE INDEX i ON users (name) INCLUDE (age)`;\n", ["PGD330"]),
    ("drop-index", "DROP INDEX users_email_idx", "drop index users_email_idx;\n", []),
    ("drop-index-concurrently", "DROP INDEX CONCURRENTLY IF EXISTS public.users_email_idx",
     "drop index users_email_idx;\n", []),
    ("drop-index-other-schema", "DROP INDEX other.x", "sql up `DROP INDEX other.x`;\n",
     ["PGD330"]),
    # DROP TABLE
    ("drop-tables", "DROP TABLE posts, t2", "drop table posts;\n\ndrop table t2;\n", []),
    ("drop-tables-if-exists", "DROP TABLE IF EXISTS nope, posts;\nDROP INDEX IF EXISTS nope;\n"
     "ALTER TABLE IF EXISTS nope ADD x int;\nALTER TABLE users DROP COLUMN IF EXISTS nope;\n"
     "ALTER TABLE posts DROP CONSTRAINT IF EXISTS nope;\n"
     "CREATE TABLE IF NOT EXISTS users (a int);\n"
     "CREATE INDEX IF NOT EXISTS users_email_idx ON users (email)",
     "drop table posts;\n", ["PGD332"] * 7),
    ("drop-table-if-exists-no-schema", "DROP TABLE IF EXISTS posts",
     "drop table posts;\n", ["PGD332"]),
    ("drop-table-cascade", "DROP TABLE posts CASCADE", "sql up `DROP TABLE posts CASCADE`;\n",
     ["PGD330"]),
    ("drop-view", "DROP VIEW v", "sql up `DROP VIEW v`;\n", ["PGD330"]),
    # COMMENT
    ("comment-column",
     "COMMENT ON COLUMN users.name IS 'The name';\nCOMMENT ON COLUMN public.posts.title IS NULL",
     "alter table users alter name comment 'The name';\n\n"
     "alter table posts alter title comment null;\n", []),
    ("comment-table", "COMMENT ON TABLE users IS 'People'",
     "sql up `COMMENT ON TABLE users IS 'People'`;\n", ["PGD330"]),
    # transactions and settings are dropped
    ("transaction",
     "BEGIN;\nSET statement_timeout = 0;\nSET search_path TO app;\n"
     "ALTER TABLE users ADD x int;\nCOMMIT;",
     "alter table users add x int;\n", ["PGD332"]),
    ("rollback-is-not-a-boundary", "ROLLBACK", "sql up `ROLLBACK`;\n", ["PGD330"]),
    ("set-role", "SET ROLE admin;\nALTER TABLE users ADD x int",
     "alter table users add x int;\n", ["PGD332"]),
    # statements pgroll has no operation for: one raw operation
    ("raw", "CREATE EXTENSION IF NOT EXISTS pg_trgm;\nCREATE TYPE mood AS ENUM ('a', 'b');\n"
     "GRANT SELECT ON users TO PUBLIC",
     "sql\n  up `CREATE EXTENSION IF NOT EXISTS pg_trgm;\nCREATE TYPE mood AS ENUM ('a', 'b');\n"
     "GRANT SELECT ON users TO PUBLIC`;\n", ["PGD330", "PGD330", "PGD330"]),
    # SQL comments are DSL comments
    ("comments",
     "-- leading\n/* block */\nALTER TABLE users ADD x int;\n"
     "/* a /* nested */ comment */\nALTER TABLE users ADD y int;\n-- final\n",
     "-- leading\n/* block */\nalter table users add x int;\n\n"
     "alter table users add y int;\n\n-- final\n", []),
]

# Folds: statements about what the script itself creates.
FOLDS: list[tuple[str, str, str, list[str]]] = [
    ("into-create-table",
     "CREATE TABLE t (id bigint NOT NULL PRIMARY KEY GENERATED BY DEFAULT AS IDENTITY, a int);\n"
     "ALTER TABLE t ADD COLUMN b int DEFAULT 3 NOT NULL;\n"
     "ALTER TABLE t ALTER COLUMN b DROP DEFAULT;\n"
     "ALTER TABLE t ADD CONSTRAINT t_a_fk FOREIGN KEY (a) REFERENCES users (id) "
     "DEFERRABLE INITIALLY DEFERRED;\n"
     "ALTER TABLE t ADD CONSTRAINT t_excl EXCLUDE USING gist (a WITH =);\n"
     "ALTER TABLE t ALTER COLUMN a SET NOT NULL;\n"
     "ALTER TABLE t ALTER COLUMN a TYPE bigint;\n"
     "COMMENT ON TABLE t IS 'A table';\n"
     "COMMENT ON COLUMN t.a IS 'A column';\n"
     "CREATE INDEX t_a_idx ON t (a);\n"
     "ALTER TABLE t ADD COLUMN c int;\n"
     "ALTER TABLE t RENAME COLUMN c TO d;\n"
     "ALTER TABLE t ALTER COLUMN d SET NOT NULL;\n",
     """\
create table t (
  id bigint primary key generated by default as identity,
  a bigint not null comment 'A column',
  b int not null,
  c int,
  constraint t_a_fk foreign key (a) references users (id) deferrable initially deferred,
  constraint t_excl exclude using gist `a WITH =`
) comment 'A table';

create index t_a_idx on t (a);

alter table t rename c to d;

alter table t alter d set not null;
""", ["PGD332"]),
    ("into-add-column",
     "ALTER TABLE users ADD COLUMN stock int DEFAULT 5 NOT NULL;\n"
     "ALTER TABLE users ALTER COLUMN stock DROP DEFAULT;\n"
     "ALTER TABLE users ADD COLUMN ref int;\n"
     "ALTER TABLE users ADD CONSTRAINT users_ref_fk FOREIGN KEY (ref) REFERENCES posts (id) "
     "DEFERRABLE INITIALLY DEFERRED;\n"
     "ALTER TABLE users ADD CONSTRAINT users_ref_pos CHECK (ref > 0);\n"
     "COMMENT ON COLUMN users.ref IS 'a ref';\n"
     "ALTER TABLE users ALTER COLUMN ref TYPE bigint;\n",
     "alter table users add stock int not null up 5;\n\n"
     "alter table users add\n"
     "  ref bigint constraint users_ref_pos check `ref > 0` constraint users_ref_fk references "
     "posts (id) deferrable initially deferred comment 'a ref';\n", []),
    ("raw-sql-ends-folds",
     "CREATE TABLE t (a int);\nINSERT INTO t VALUES (1);\nALTER TABLE t ADD COLUMN b int;",
     "create table t (a int);\n\nsql up `INSERT INTO t VALUES (1)`;\n\nalter table t add b int;\n",
     ["PGD330"]),
    ("data-migration-alembic",
     "ALTER TABLE users ADD COLUMN slug text;\nUPDATE users SET slug = lower(name);\n"
     "ALTER TABLE users ALTER COLUMN slug SET NOT NULL;",
     "alter table users add slug text not null up `lower(name)`;\n", ["PGD332"]),
    ("data-migration-after-not-null",
     "ALTER TABLE users ADD COLUMN slug text NOT NULL;\nUPDATE users SET slug = lower(name);",
     "alter table users add slug text not null up `lower(name)`;\n", ["PGD332"]),
    ("not-null-right-after-add",
     "ALTER TABLE users ADD COLUMN slug text;\nALTER TABLE users ALTER COLUMN slug SET NOT NULL;",
     f"alter table users add slug text not null up `{PLACEHOLDER}`;\n", ["PGD331"]),
    ("fill-of-column-with-default",
     "ALTER TABLE users ADD COLUMN slug text DEFAULT 'x';\n"
     "UPDATE users SET slug = lower(name) WHERE slug IS NULL;\n"
     "ALTER TABLE users ALTER COLUMN slug SET NOT NULL;",
     "alter table users add slug text not null default 'x';\n", ["PGD332"]),
    ("update-of-new-table",
     "CREATE TABLE t (a int);\nUPDATE t SET a = 0 WHERE a IS NULL;\n"
     "ALTER TABLE t ALTER COLUMN a SET NOT NULL;",
     "create table t (a int not null);\n", ["PGD332"]),
]


def _schema(case_id: str) -> Catalog | None:
    if case_id.endswith("-no-schema"):
        return None
    catalog = base_catalog()
    if case_id in ("primary-key", "drop-tables"):
        catalog, _ = apply_sql(catalog, "CREATE TABLE t2 (a int NOT NULL)")
    return catalog


@pytest.mark.parametrize(("case_id", "text", "expected", "codes"), CASES + FOLDS,
                         ids=[c[0] for c in CASES + FOLDS])
def test_statement(case_id: str, text: str, expected: str, codes: list[str]) -> None:
    catalog = _schema(case_id)
    migration, diagnostics = convert(text, catalog)
    assert api.emit(migration, "dsl") == expected
    assert [d.code.id for d in diagnostics] == codes, [d.message for d in diagnostics]
    # What convert was not told about is there all the same, when the migration runs.
    check_round_trip(migration, catalog if catalog is not None else base_catalog())


def test_no_schema_cases_exist() -> None:
    """The "-no-schema" variants are convert without a catalog: what pgroll's converter knows."""
    assert sum(c[0].endswith("-no-schema") for c in CASES) >= 6


# ---- pgroll compatibility ------------------------------------------------------------------


def test_placeholder_is_pgrolls() -> None:
    """Where an ``up``/``down`` is the author's, the JSON holds pgroll's own placeholder."""
    migration, diagnostics = convert("ALTER TABLE foo DROP COLUMN bar", None)
    document = json.loads(api.emit(migration, "json"))
    assert document == {"operations": [{"drop_column": {
        "table": "foo", "column": "bar", "down": "TODO: Implement SQL data migration"}}]}
    (warning,) = diagnostics
    assert warning.code.id == "PGD331" and warning.severity == "warning"
    assert (warning.span.line, warning.span.col) == (1, 1)  # type: ignore[union-attr]
    assert any(PLACEHOLDER in hint for hint in warning.hints)


def test_syntax_error_is_pgd014() -> None:
    with pytest.raises(CompileError) as raised:
        convert("SELECT 1;\nCREATE TABL x (a int)", None)
    (error,) = raised.value.diagnostics
    assert error.code.id == "PGD014"
    assert (error.span.line, error.span.col) == (2, 8)  # type: ignore[union-attr]
    assert 'syntax error at or near "TABL"' in error.message


def test_raw_sql_among_operations_is_flagged() -> None:
    """pgroll runs a ``sql`` operation alone: the warning says to split the migration."""
    _, diagnostics = convert("CREATE SEQUENCE s;\nALTER TABLE users ADD x int;", base_catalog())
    (raw,) = diagnostics
    assert raw.code.id == "PGD330"
    assert any("alone in its migration" in hint for hint in raw.hints)


def test_statement_needing_its_own_transaction_stays_alone() -> None:
    migration, _ = convert("CREATE SEQUENCE s;\nREINDEX INDEX CONCURRENTLY users_email_idx;\n"
                           "CREATE SEQUENCE t;", base_catalog())
    assert [op.up.text for op in migration.operations if isinstance(op, ir.Sql)] == [
        "CREATE SEQUENCE s", "REINDEX INDEX CONCURRENTLY users_email_idx", "CREATE SEQUENCE t"]


def test_api_names_the_migration_and_path() -> None:
    migration, _ = api.convert_sql("ALTER TABLE users ADD x int", "07_add_x",
                                   catalog=base_catalog())
    assert migration.name == "07_add_x" and migration.path == "<stdin>"
    assert migration.operations[0].span is not None
    assert migration.operations[0].span.path == "<stdin>"


def test_other_schema() -> None:
    """``schema``: names qualified with it are the target's; unqualified ones too."""
    migration, diagnostics = api.convert_sql(
        "ALTER TABLE app.users ADD x int;\nALTER TABLE public.users ADD y int", "m",
        schema="app")
    assert api.emit(migration, "dsl") == (
        "alter table users add x int;\n\nsql up `ALTER TABLE public.users ADD y int`;\n")
    assert [d.code.id for d in diagnostics] == ["PGD330"]


# ---- real ORM output, kept as fixtures -----------------------------------------------------


def _series(orm: str) -> list[Path]:
    return sorted((FIXTURES / orm).glob("*.sql"))


def _diagnostic_lines(diagnostics: list[Diagnostic]) -> str:
    return "".join(f"{d.code.id} {d.span.line if d.span else '-'}: {d.message}\n"
                   for d in diagnostics)


@pytest.mark.parametrize("orm", ["alembic", "django"])
def test_orm_fixtures(orm: str) -> None:
    """Each file converted with the history of the converted files before it."""
    done: list[ir.Migration] = []
    assert len(_series(orm)) == 3
    for path in _series(orm):
        catalog = replay(done).catalog if done else None
        migration, diagnostics = api.convert_sql(path.read_text(), path.stem,
                                                 path=path.name, catalog=catalog)
        text = api.emit(migration, "dsl")
        lines = _diagnostic_lines(diagnostics)
        expected = path.with_suffix(".converted")  # not .pgroll: a placeholder is not valid DSL
        expected_lines = path.with_suffix(".diagnostics")
        if UPDATE:
            expected.write_text(text)
            expected_lines.write_text(lines)
        assert text == expected.read_text(), path.name
        assert lines == expected_lines.read_text(), path.name
        check_round_trip(migration, catalog if catalog is not None else Catalog())
        done.append(migration)


# ---- live: the ORM's own SQL and the converted migrations give the same schema -----------------

Connection = psycopg.Connection[tuple[Any, ...]]


@pytest.fixture
def two_databases(pg_dsn: str) -> Iterator[tuple[str, str]]:
    """(converted, orm): two fresh databases, dropped afterwards."""
    names = [f"pgroll_dsl_convert_{uuid.uuid4().hex[:12]}" for _ in range(2)]
    with psycopg.connect(pg_dsn, autocommit=True) as admin:
        for name in names:
            admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    try:
        yield make_conninfo(pg_dsn, dbname=names[0]), make_conninfo(pg_dsn, dbname=names[1])
    finally:
        with psycopg.connect(pg_dsn, autocommit=True) as admin:
            for name in names:
                admin.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(
                    sql.Identifier(name)))


def rewritten_columns(migrations: list[ir.Migration]) -> set[tuple[str, str]]:
    """(table, column) that pgroll rewrites through a copy, which it adds as the last column.

    alter_column (other than a default or comment alone), create_constraint and
    drop_multicolumn_constraint duplicate their columns; at complete the copy takes the
    column's name but keeps its place at the end of the table. Table names are the final
    ones (a later rename_table is followed).
    """
    found: set[tuple[str, str]] = set()
    for migration in migrations:
        for op in migration.operations:
            match op:
                case ir.AlterColumn() if any(getattr(op, f) is not None for f in (
                        "type", "nullable", "unique", "check", "references")):
                    found.add((op.table.name, op.column.name))
                case ir.CreateConstraint():
                    found |= {(op.table.name, c.name) for c in op.columns}
                case ir.DropMulticolumnConstraint():
                    found |= {(op.table.name, d.column.name) for d in op.down}
                case ir.RenameTable():
                    found |= {(op.to.name, c) for t, c in found if t == op.from_.name}
                case ir.RenameColumn():
                    found |= {(t, op.to.name) for t, c in found
                              if t == op.table.name and c == op.from_.name}
    return found


def assert_same_schema(orm: Connection, converted: Connection,
                       migrations: list[ir.Migration]) -> None:
    """The catalogs of the two databases are the same, but for the order of columns.

    The one inherent difference: a column pgroll rewrites (type change, NOT NULL, a new or
    dropped constraint) is a new column at the end of the table, renamed at complete, where
    the ORM's ALTER TABLE changes it in place. Every other column keeps its order, and the
    moved ones are exactly the rewritten ones. The version schemas and pgroll's own schema
    are outside the compared schema (``public``); constraint and index names are compared
    as they are: convert gives unnamed ones the names PostgreSQL picks.
    """
    expected, actual = introspect(orm), introspect(converted)
    moved = rewritten_columns(migrations)
    for table in expected.tables:
        other = actual.table(table.name)
        assert other is not None, table.name
        kept = [c.name for c in table.columns if (table.name, c.name) not in moved]
        assert kept == [c.name for c in other.columns if (table.name, c.name) not in moved], (
            table.name)
    assert differences(_by_name(expected), _by_name(actual)) == []


def _by_name(catalog: Catalog) -> Catalog:
    tables = tuple(replace(t, columns=tuple(sorted(t.columns, key=lambda c: c.name)))
                   for t in catalog.tables)
    return replace(catalog, tables=tables)


def rows(conn: Connection) -> dict[str, list[str]]:
    """Every table's rows as JSON objects (column order does not matter), sorted."""
    tables = [r[0] for r in conn.execute(
        "SELECT tablename FROM pg_tables WHERE schemaname = 'public'").fetchall()]
    return {t: sorted(json.dumps(r[0], sort_keys=True) for r in conn.execute(
        sql.SQL("SELECT row_to_json(t) FROM {} t").format(sql.Identifier("public", t))))
        for t in tables}


Script = tuple[str, str, Callable[[Connection], None] | None]  # name, SQL, data to add after


def round_trip(dsn: str, orm_dsn: str, scripts: Iterator[Script],
               fill: dict[str, str] | None = None) -> list[ir.Migration]:
    """The ORM's SQL on ``orm_dsn``; converted (with the history), split, run on ``dsn``.

    ``fill`` maps a migration name to the expression an author writes for its placeholder:
    the converted migration is refused until then (PGD501), as ``validate`` refuses it.
    """
    runner = make_runner(dsn)
    done: list[ir.Migration] = []
    try:
        with psycopg.connect(orm_dsn, autocommit=True) as orm, \
                psycopg.connect(dsn, autocommit=True) as converted:
            for name, text, seed in scripts:
                orm.execute(text)
                catalog = replay(done).catalog if done else None
                migration, _ = api.convert_sql(text, name, catalog=catalog)
                source = api.emit(migration, "dsl")
                if fill is not None and name in fill:
                    with pytest.raises(CompileError, match="does not parse"):
                        api.compile_source(source, f"{name}.pgroll")
                    source = source.replace(f"`{PLACEHOLDER}`", f"`{fill[name]}`")
                migration = api.compile_source(source, f"{name}.pgroll").migration
                for part in runnable_parts(migration):
                    runner.start(part)
                    runner.complete()
                    done.append(part)
                if seed is not None:
                    seed(orm)
                    seed(converted)
            assert_same_schema(orm, converted, done)
            assert rows(orm) == rows(converted)
    finally:
        runner.close()
    return done


def alembic(*ranges: str) -> Iterator[Script]:
    """``alembic upgrade RANGE --sql`` of the environment in tests/fixtures/orm/alembic."""
    seeds: dict[str, Callable[[Connection], None]] = {
        "0001": lambda c: c.execute(
            "INSERT INTO authors (name, email) VALUES ('Ann', 'ann@example.com'), "
            "('Bob', 'bob@example.com');"
            "INSERT INTO books (title, author_id, published) VALUES ('One', 1, '2020-01-01'), "
            "('Two', 2, NULL)"),
    }
    for target in ranges:
        output = subprocess.run(
            [sys.executable, "-m", "alembic", "-c", str(ORM / "alembic" / "alembic.ini"),
             "upgrade", target, "--sql"], capture_output=True, text=True, check=True).stdout
        name = target.rsplit(":", 1)[-1]
        yield name, output, seeds.get(name)


def django(dsn: str, *names: str) -> Iterator[Script]:
    """``sqlmigrate`` of the ``shop`` app in tests/fixtures/orm/django."""
    seeds: dict[str, Callable[[Connection], None]] = {
        "0001_initial": lambda c: c.execute(
            "INSERT INTO shop_author (id, name, email) VALUES (1, 'Ann', NULL), "
            "(2, 'Bob', 'bob@example.com');"
            "INSERT INTO shop_book (id, title, pages, published, author_id) VALUES "
            "(1, 'One', 100, '2020-01-01', 1), (2, 'Two', 200, NULL, 2)"),
    }
    for name in names:
        output = subprocess.run(
            [sys.executable, str(ORM / "django" / "sqlmigrate.py"), dsn, name],
            capture_output=True, text=True, check=True).stdout
        yield name, output, seeds.get(name)


def test_alembic_revisions(two_databases: tuple[str, str]) -> None:
    """One pgroll migration per Alembic revision, each converted with the history before it."""
    dsn, orm_dsn = two_databases
    done = round_trip(dsn, orm_dsn, alembic("base:0001", "0001:0002", "0002:0003"))
    # Alembic's own bookkeeping (INSERT/UPDATE alembic_version) and the comment of a table
    # pgroll did not create are the raw `sql` operations, each a migration of its own.
    assert [m.name for m in done] == ["0001_1", "0001_2", "0002_1", "0002_2", "0003_1",
                                      "0003_2"]
    assert [type(op).__name__ for op in done[-1].operations] == ["Sql"]


def test_alembic_head_as_one_migration(two_databases: tuple[str, str]) -> None:
    """``alembic upgrade head --sql | pgroll-dsl convert -``: the whole history at once."""
    dsn, orm_dsn = two_databases
    round_trip(dsn, orm_dsn, alembic("head"))


def test_django_migrations(two_databases: tuple[str, str]) -> None:
    """Django's ``sqlmigrate`` of three migrations (Django needs a connection: the ORM's)."""
    dsn, orm_dsn = two_databases
    # 0003 makes author.name nullable: `down` must turn a NULL written by the new version
    # into a name the old version accepts. convert cannot know one; the author writes it.
    done = round_trip(dsn, orm_dsn, django(orm_dsn, "0001_initial", "0002_changes",
                                           "0003_cleanup"),
                      fill={"0003_cleanup": "COALESCE(name, 'anonymous')"})
    assert all(not isinstance(op, ir.Sql) for m in done for op in m.operations)


def test_fixture_directories_hold_only_series() -> None:
    for orm in ("alembic", "django"):
        names = {p.name for p in (FIXTURES / orm).iterdir()}
        stems = {re.sub(r"\.(sql|converted|diagnostics)$", "", n) for n in names}
        assert names == {f"{s}.{e}" for s in stems for e in ("sql", "converted", "diagnostics")}
