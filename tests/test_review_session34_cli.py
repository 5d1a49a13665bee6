"""Review: the adoption verbs (baseline, pull, convert, create, fmt) and the pull-request check
(validate and plan in CI: report formats, exit codes, offline catalogs), tried the way a user
would break them, through the real command line (a process of its own, as a shell runs it),
on a real PostgreSQL where the command needs one.

What holds is a plain test; a test marked ``xfail`` is a defect, its reason the diagnosis, and
it asserts the behaviour a production tool owes (it fails until the defect is fixed). The
eleven defects the review found are fixed (each test failed before): ``validate`` and
``plan`` agree on a version schema past 63 bytes; a baseline of an empty schema, of a schema
that does not exist, of a name that has a file in another syntax, of an index named with
"ON ONLY"; ``pull`` of a history name that is a path; ``fmt`` stopped by an argument changes
nothing, and its diff of a CRLF file applies; a missing file beside a broken one is said;
a baseline draws no lint findings; a finding inside a YAML block scalar is placed where it is.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import unquote

import jsonschema  # type: ignore[import-untyped]
import psycopg
import pytest
from psycopg import sql
from psycopg.conninfo import make_conninfo

import pgroll_dsl
from pgroll_dsl.catalog.compare import differences
from pgroll_dsl.catalog.introspect import introspect
from pgroll_dsl.embedded import psql_path
from tests.live_helpers import dsn_of

Connection = psycopg.Connection[tuple[Any, ...]]

REPO = Path(__file__).resolve().parents[1]
SARIF_SCHEMA = REPO / "tests" / "fixtures" / "sarif" / "sarif-schema-2.1.0.json"


def run(cwd: Path, *args: str, stdin: str = "", timeout: float = 120,
        ) -> subprocess.CompletedProcess[str]:
    """``pgroll-dsl ARGS`` run from ``cwd``; a Python traceback is a failure whatever else."""
    environment = {k: v for k, v in os.environ.items() if not k.startswith("PGROLL_")}
    environment["PYTHONPATH"] = str(REPO)
    done = subprocess.run([sys.executable, "-m", "pgroll_dsl", *args], cwd=cwd, input=stdin,
                          capture_output=True, text=True, env=environment, timeout=timeout,
                          check=False)
    assert "Traceback" not in done.stderr, done.stderr
    return done


def live(cwd: Path, dsn: str, *args: str) -> subprocess.CompletedProcess[str]:
    return run(cwd, *args, "--postgres-url", dsn)


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def write_bytes(path: Path, data: bytes) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path


@pytest.fixture
def dsn(pg_dsn: str, pg_conn: Connection) -> str:
    return dsn_of(pg_dsn, pg_conn)


@pytest.fixture
def other_database(pg_dsn: str) -> Iterator[str]:
    """A second fresh database (a new environment), dropped afterwards."""
    name = f"review34_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(pg_dsn, autocommit=True) as admin:
        admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    try:
        yield make_conninfo(pg_dsn, dbname=name)
    finally:
        with psycopg.connect(pg_dsn, autocommit=True) as admin:
            admin.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(
                sql.Identifier(name)))


def history_rows(conn: Connection) -> list[tuple[Any, ...]]:
    return conn.execute("SELECT name, migration_type FROM pgroll.migrations "
                        "ORDER BY created_at, name").fetchall()


def comments(conn: Connection) -> list[tuple[Any, ...]]:
    """Every comment on a table, column, constraint or index of ``public``, by object."""
    return conn.execute("""
        SELECT c.relname, d.objsubid, d.description FROM pg_description d
        JOIN pg_class c ON c.oid = d.objoid AND d.classoid = 'pg_class'::regclass
        WHERE c.relnamespace = 'public'::regnamespace
        UNION ALL
        SELECT co.conname, -1, d.description FROM pg_description d
        JOIN pg_constraint co ON co.oid = d.objoid AND d.classoid = 'pg_constraint'::regclass
        JOIN pg_class c ON c.oid = co.conrelid AND c.relnamespace = 'public'::regnamespace
        ORDER BY 1, 2""").fetchall()


# ---- baseline --------------------------------------------------------------------------------

HOSTILE_SCHEMA = '''
CREATE TYPE "select" AS ENUM ('it''s', 'two words', 'ünï', 'back\\slash');
CREATE TABLE "Order Items" (
  "id" bigint GENERATED ALWAYS AS IDENTITY (START WITH 100 INCREMENT BY 5) PRIMARY KEY,
  "qty" int NOT NULL DEFAULT 1,
  "total" numeric GENERATED ALWAYS AS (qty * 2) STORED,
  "kind" "select" DEFAULT 'it''s',
  "from" text COLLATE "C",
  "where" text CONSTRAINT "check ""me""" CHECK ("where" <> ''));
COMMENT ON TABLE "Order Items" IS E'first line\\nsecond ''quoted'' line \\\\ and a backslash\\n';
COMMENT ON COLUMN "Order Items"."qty" IS E'multi\\n\\n  indented line  ';
COMMENT ON CONSTRAINT "check ""me""" ON "Order Items" IS E'why:\\n-- not a comment; DROP';
CREATE TABLE "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa" (
  "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb" serial PRIMARY KEY);
CREATE TABLE "ünïcödé tåble" ("ç" text UNIQUE, "user" int);
CREATE TABLE measurements (city int, logdate date NOT NULL, v int)
  PARTITION BY RANGE (logdate);
CREATE TABLE "measurements 2024" PARTITION OF measurements
  FOR VALUES FROM ('2024-01-01') TO ('2025-01-01');
CREATE INDEX measurements_city ON measurements (city);
CREATE TABLE bookings (id serial PRIMARY KEY, during int4range,
  EXCLUDE USING gist (during WITH &&));
CREATE SEQUENCE "free standing" START 42 INCREMENT 7;
'''


@pytest.mark.parametrize("syntax", ["yaml", "json", "dsl"])
def test_a_hostile_schema_baselines_replays_and_builds_a_new_environment(
        tmp_path: Path, dsn: str, pg_conn: Connection, other_database: str,
        syntax: str) -> None:
    """cli.md, baseline: the file holds the DDL of every table (identity and generated
    columns, partitions, exclusion constraints, enums with quotes, comments with line breaks
    and SQL-looking text, 63-byte names, keywords), in each syntax; validate replays it with
    no error, and migrate builds the same schema, comments included, on an empty database."""
    pg_conn.execute(HOSTILE_SCHEMA)
    assert live(tmp_path, dsn, "init").returncode == 0
    made = live(tmp_path, dsn, "baseline", "0001_base", "mig", "--yes", "--to", syntax)
    assert made.returncode == 0, made.stderr
    assert "(6 tables)" in made.stdout
    checked = run(tmp_path, "validate", "mig/", "--format", "json")
    assert checked.returncode == 0, checked.stderr
    assert not [d for d in json.loads(checked.stderr or "[]") if d["severity"] == "error"]
    with psycopg.connect(other_database, autocommit=True) as fresh:
        assert live(tmp_path, other_database, "init").returncode == 0
        migrated = live(tmp_path, other_database, "migrate", "mig", "--complete")
        assert migrated.returncode == 0, migrated.stderr
        assert differences(introspect(pg_conn, "public"), introspect(fresh, "public")) == []
        assert comments(fresh) == comments(pg_conn)
        # the free-standing sequence starts where it was declared to
        assert fresh.execute("SELECT nextval('\"free standing\"')").fetchone() == (42,)


def test_an_index_name_holding_on_only_survives_the_baseline(
        tmp_path: Path, dsn: str, pg_conn: Connection, other_database: str) -> None:
    pg_conn.execute("CREATE TABLE m (city int, d date) PARTITION BY RANGE (d);"
                    "CREATE TABLE m_2024 PARTITION OF m FOR VALUES FROM ('2024-01-01') "
                    "TO ('2025-01-01');"
                    'CREATE INDEX "by city ON ONLY the parent" ON m (city);')
    assert live(tmp_path, dsn, "init").returncode == 0
    assert live(tmp_path, dsn, "baseline", "0001_base", "mig", "--yes").returncode == 0
    assert live(tmp_path, other_database, "init").returncode == 0
    assert live(tmp_path, other_database, "migrate", "mig", "--complete").returncode == 0
    with psycopg.connect(other_database, autocommit=True) as fresh:
        found = fresh.execute("SELECT c.relname, i.indisvalid FROM pg_index i "
                              "JOIN pg_class c ON c.oid = i.indexrelid "
                              "WHERE i.indrelid = 'm'::regclass").fetchall()
    assert found == [("by city ON ONLY the parent", True)]


def test_baseline_refuses_a_migration_file_of_its_name_in_another_syntax(
        tmp_path: Path, dsn: str, pg_conn: Connection) -> None:
    pg_conn.execute("CREATE TABLE t (id bigint PRIMARY KEY)")
    write(tmp_path / "mig" / "0001_base.pgroll", "create table t (id bigint primary key);\n")
    assert live(tmp_path, dsn, "init").returncode == 0
    result = live(tmp_path, dsn, "baseline", "0001_base", "mig", "--yes")
    assert result.returncode == 1, result.stdout
    assert sorted(p.name for p in (tmp_path / "mig").iterdir()) == ["0001_base.pgroll"]
    assert history_rows(pg_conn) == []


def test_baseline_while_another_run_holds_the_schema_is_refused_and_writes_nothing(
        tmp_path: Path, dsn: str, pg_conn: Connection) -> None:
    """A baseline taken while another run holds the schema's run lock: exit 1 at once, naming
    the other run; no file, no history row."""
    pg_conn.execute("CREATE TABLE t (id bigint PRIMARY KEY)")
    assert live(tmp_path, dsn, "init").returncode == 0
    with pgroll_dsl.connect(dsn) as db, db._runner.exclusive():
        began = time.monotonic()
        result = live(tmp_path, dsn, "baseline", "0001_base", "mig", "--yes")
        assert time.monotonic() - began < 30
    assert result.returncode == 1, result.stderr
    assert "another pgroll-dsl run is working on schema" in result.stderr
    assert not (tmp_path / "mig" / "0001_base.yaml").exists()
    assert history_rows(pg_conn) == []


def test_validate_of_a_fresh_baseline_has_no_findings(tmp_path: Path, dsn: str,
                                                      pg_conn: Connection) -> None:
    pg_conn.execute("CREATE TABLE customers (id serial PRIMARY KEY, name text);"
                    "CREATE TABLE orders (id int PRIMARY KEY, customer int "
                    "REFERENCES customers)")
    assert live(tmp_path, dsn, "init").returncode == 0
    assert live(tmp_path, dsn, "baseline", "0001_base", "mig", "--yes").returncode == 0
    checked = run(tmp_path, "validate", "mig", "--format", "json")
    assert checked.returncode == 0
    assert json.loads(checked.stderr or "[]") == []


def _findings(result: subprocess.CompletedProcess[str]) -> list[tuple[str, str]]:
    """(file name, code) of each finding of ``validate --format json``."""
    return [(Path(d["path"]).name, d["code"]) for d in json.loads(result.stderr or "[]")]


@pytest.mark.parametrize("syntax", ["dsl", "json"])
def test_a_baseline_keeps_quiet_and_the_raw_sql_after_it_does_not(
        tmp_path: Path, dsn: str, pg_conn: Connection, syntax: str) -> None:
    """The baseline is not linted, in any syntax and once pulled again; an ordinary raw SQL
    migration after it, of the very DDL the baseline holds, is."""
    pg_conn.execute("CREATE TABLE customers (id int PRIMARY KEY, name text);"
                    "CREATE TABLE orders (id int PRIMARY KEY, customer int REFERENCES customers)")
    assert live(tmp_path, dsn, "init").returncode == 0
    made = live(tmp_path, dsn, "baseline", "0001_base", "mig", "--yes", "--to", syntax)
    assert made.returncode == 0, made.stderr
    write(tmp_path / "mig" / "0002_raw.yaml",
          "operations:\n  - sql:\n      up: |\n"
          "        CREATE TABLE items (id int PRIMARY KEY, o int);\n"
          "        ALTER TABLE items ADD CONSTRAINT items_o FOREIGN KEY (o) REFERENCES orders;\n"
          "        ALTER TABLE customers ALTER COLUMN name SET DEFAULT 'x';\n")
    checked = run(tmp_path, "validate", "mig", "--format", "json")
    assert checked.returncode == 0, checked.stderr
    found = _findings(checked)
    assert {name for name, _ in found} == {"0002_raw.yaml"}
    assert {"PGD423", "PGD430"} <= {code for _, code in found}
    pulled = live(tmp_path, dsn, "pull", "again")
    assert pulled.returncode == 0, pulled.stderr
    assert _findings(run(tmp_path, "validate", "again", "--format", "json")) == []


# The mark of a baseline where ``baseline`` does not write it: below the first line, on an
# operation with a ``down``, beside another operation. Each is an ordinary migration.
MARKED = "-- pgroll-dsl: baseline\nCREATE TABLE t (id int PRIMARY KEY);"
NOT_BASELINES = {
    "second_line": "sql up `CREATE TABLE t (id int PRIMARY KEY);\n-- pgroll-dsl: baseline\n`;\n",
    "with_down": f"sql up `{MARKED}` down `DROP TABLE t`;\n",
    "on_complete": f"sql on complete up `{MARKED}`;\n",
    "not_alone": f"create table u (id bigint primary key);\nsql on complete up `{MARKED}`;\n",
}


@pytest.mark.parametrize("text", NOT_BASELINES.values(), ids=NOT_BASELINES.keys())
def test_the_mark_elsewhere_hides_nothing(tmp_path: Path, text: str) -> None:
    write(tmp_path / "mig" / "01_raw.pgroll", text)
    checked = run(tmp_path, "validate", "mig", "--format", "json")
    assert checked.returncode == 0, checked.stderr
    assert ("01_raw.pgroll", "PGD423") in _findings(checked)


@pytest.mark.parametrize("syntax", ["yaml", "json", "dsl"])
def test_a_baseline_of_an_empty_schema_validates_and_migrates(
        tmp_path: Path, dsn: str, other_database: str, syntax: str) -> None:
    assert live(tmp_path, dsn, "init").returncode == 0
    made = live(tmp_path, dsn, "baseline", "0001_base", "mig", "--yes", "--to", syntax)
    assert made.returncode == 0, made.stderr
    write(tmp_path / "mig" / "0002_t.pgroll", "create table t (id bigint primary key);\n")
    checked = run(tmp_path, "validate", "mig")
    assert checked.returncode == 0, checked.stderr
    assert live(tmp_path, other_database, "init").returncode == 0
    assert live(tmp_path, other_database, "migrate", "mig", "--complete").returncode == 0


def test_baseline_of_a_schema_that_does_not_exist_is_refused(tmp_path: Path, dsn: str,
                                                             pg_conn: Connection) -> None:
    pg_conn.execute("CREATE TABLE t (id bigint PRIMARY KEY)")
    assert live(tmp_path, dsn, "init").returncode == 0
    result = live(tmp_path, dsn, "baseline", "0001_base", "mig", "--yes", "--schema", "pubilc")
    assert result.returncode == 2, result.stdout
    assert not (tmp_path / "mig").exists() or not list((tmp_path / "mig").iterdir())
    assert history_rows(pg_conn) == []


def test_baseline_names_that_are_no_file_name_are_refused(tmp_path: Path, dsn: str,
                                                          pg_conn: Connection) -> None:
    """A VERSION with a path in it is refused (exit 2) before the database is touched."""
    assert live(tmp_path, dsn, "init").returncode == 0
    for name in ("../outside", "a/b", ".."):
        result = live(tmp_path, dsn, "baseline", name, "mig", "--yes")
        assert result.returncode == 2, (name, result.stderr)
    assert not list(tmp_path.rglob("*.yaml"))
    assert history_rows(pg_conn) == []


# ---- pull ------------------------------------------------------------------------------------

def test_pull_never_writes_outside_its_directory(tmp_path: Path, dsn: str,
                                                 pg_conn: Connection) -> None:
    with pgroll_dsl.connect(dsn) as db:
        db.init()
        db.start(pgroll_dsl.compile_text("create table a (id bigint primary key);", "01_a"
                                         ).migration, complete=True)
    pg_conn.execute("INSERT INTO pgroll.migrations (schema, name, migration, parent, done, "
                    "migration_type) SELECT schema, '../../escaped', migration, name, true, "
                    "migration_type FROM pgroll.migrations WHERE name = '01_a'")
    (tmp_path / "work").mkdir()
    result = live(tmp_path / "work", dsn, "pull", "out/mig")
    outside = [p for p in tmp_path.rglob("*")
               if p.is_file() and (tmp_path / "work" / "out" / "mig") not in p.parents]
    assert outside == []
    assert result.returncode == 1, result.stdout


def test_pull_into_a_directory_that_has_other_files(tmp_path: Path, dsn: str,
                                                    pg_conn: Connection) -> None:
    """pull writes only what DIR lacks by migration name: a file of the same migration in
    another syntax is kept and not duplicated; files that are no migration are left alone;
    the pulled directory validates."""
    with pgroll_dsl.connect(dsn) as db:
        db.init()
        for name, text in (("01_a", "create table a (id bigint primary key);"),
                           ("02 b ü", "alter table a add column note text;")):
            db.start(pgroll_dsl.compile_text(text, name).migration, complete=True)
    mig = tmp_path / "mig"
    write(mig / "01_a.pgroll", "create table a (id bigint primary key);\n")
    write(mig / "README.md", "# migrations\n")
    write(mig / "02 b ü.yaml.bak", "not a migration\n")
    result = live(tmp_path, dsn, "pull", "mig", "--to", "json")
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == ["mig/02 b ü.json"]
    assert sorted(p.name for p in mig.iterdir()) == [
        "01_a.pgroll", "02 b ü.json", "02 b ü.yaml.bak", "README.md"]
    assert run(tmp_path, "validate", "mig").returncode == 0


# ---- create ----------------------------------------------------------------------------------

def test_validate_refuses_what_plan_refuses_for_a_long_name(tmp_path: Path) -> None:
    name = "0002_" + "x" * 60  # public_ + 65 bytes = 72 bytes
    write(tmp_path / "mig" / "0001_a.pgroll", "create table t (id bigint primary key);\n")
    write(tmp_path / "mig" / f"{name}.pgroll", "alter table t add column b int;\n")
    planned = run(tmp_path, "plan", f"mig/{name}.pgroll")
    assert planned.returncode == 1 and "PGD105" in planned.stderr
    checked = run(tmp_path, "validate", "mig")
    assert checked.returncode == 1
    assert "PGD105" in checked.stderr


def test_create_then_fill_then_validate_with_hostile_names(tmp_path: Path) -> None:
    """create writes an empty file of each syntax, named as asked (spaces, unicode, a keyword);
    once filled in, each validates and plans."""
    for syntax, name in (("dsl", "0001 créer"), ("json", "0002_select"), ("yaml", "0003_ü")):
        made = run(tmp_path, "create", "mig", "--name", name, "--to", syntax)
        assert made.returncode == 0, made.stderr
    path = tmp_path / "mig" / "0001 créer.pgroll"
    path.write_text(path.read_text() + 'create table "from" (id bigint primary key);\n')
    write(tmp_path / "mig" / "0002_select.json", json.dumps({"operations": [{"add_column": {
        "table": "from", "column": {"name": "select", "type": "text", "nullable": True}}}]}))
    write(tmp_path / "mig" / "0003_ü.yaml",
          "operations:\n  - drop_column:\n      table: from\n      column: select\n")
    assert run(tmp_path, "validate", "mig").returncode == 0
    assert run(tmp_path, "plan", "mig/0003_ü.yaml", "--phase", "start").returncode == 0


# ---- fmt -------------------------------------------------------------------------------------

def test_fmt_diff_of_a_crlf_file_applies_with_patch(tmp_path: Path) -> None:
    if shutil.which("patch") is None:
        pytest.skip("no patch program")
    original = b"CREATE TABLE t (id BIGINT PRIMARY KEY);\r\nALTER TABLE t ADD COLUMN x TEXT;\r\n"
    write_bytes(tmp_path / "01_a.pgroll", original)
    write_bytes(tmp_path / "02_a.pgroll", original)
    environment = {k: v for k, v in os.environ.items() if not k.startswith("PGROLL_")}
    environment["PYTHONPATH"] = str(REPO)
    diff = subprocess.run([sys.executable, "-m", "pgroll_dsl", "fmt", "--diff", "01_a.pgroll"],
                          cwd=tmp_path, capture_output=True, env=environment, timeout=120,
                          check=False)  # bytes: the CRs as written
    assert diff.returncode == 0 and b"\r\n" in diff.stdout, diff.stderr
    assert run(tmp_path, "fmt", "02_a.pgroll").returncode == 0
    patched = subprocess.run(["patch", "-p0"], cwd=tmp_path, input=diff.stdout,
                             capture_output=True, check=False)
    assert patched.returncode == 0, patched.stdout
    assert ((tmp_path / "01_a.pgroll").read_text(encoding="utf-8")
            == (tmp_path / "02_a.pgroll").read_text(encoding="utf-8"))


@pytest.mark.parametrize("name", ["01 a b.pgroll", "01_ü.pgroll"])
def test_fmt_diff_applies_with_patch(tmp_path: Path, name: str) -> None:
    """fmt --diff is a patch (`patch -p0`), also for a name with spaces or non-ASCII letters
    and a file that does not end in a newline; applied, the file is what fmt writes."""
    if shutil.which("patch") is None:
        pytest.skip("no patch program")
    original = "CREATE TABLE t (id BIGINT PRIMARY KEY);\n-- kept\nALTER TABLE t ADD COLUMN x TEXT;"
    write(tmp_path / name, original)
    write(tmp_path / "b" / name, original)
    diff = run(tmp_path, "fmt", "--diff", name)
    assert diff.returncode == 0
    assert run(tmp_path / "b", "fmt", name).returncode == 0
    patched = subprocess.run(["patch", "-p0"], cwd=tmp_path, input=diff.stdout, text=True,
                             capture_output=True, check=False)
    assert patched.returncode == 0, patched.stdout
    assert (tmp_path / name).read_text() == (tmp_path / "b" / name).read_text()


def test_fmt_that_stops_with_exit_2_has_changed_nothing(tmp_path: Path) -> None:
    write(tmp_path / "01_a.pgroll", "CREATE TABLE T (ID BIGINT PRIMARY KEY);\n")
    write(tmp_path / "02_bad.pgroll", "alter table t add column x int\n")
    write(tmp_path / "03.json", '{"operations": []}\n')
    result = run(tmp_path, "fmt", "01_a.pgroll", "02_bad.pgroll", "03.json")
    assert result.returncode == 2
    assert (tmp_path / "01_a.pgroll").read_text() == "CREATE TABLE T (ID BIGINT PRIMARY KEY);\n"
    assert "02_bad.pgroll:1:31" in result.stderr


# ---- convert ---------------------------------------------------------------------------------

HOSTILE_JSON = {"operations": [
    {"create_table": {"name": 'we`ird "t"', "columns": [
        {"name": "id", "type": "bigint", "pk": True},
        {"name": "select", "type": "text", "nullable": True, "default": "'a`b'",
         "comment": "line1\nline2 `x` \\ end  "}]}},
    {"sql": {"up": "select '`'; -- trailing `\nselect $$x`$$", "down": "select 1"}},
]}


def test_convert_round_trips_backticks_quotes_and_line_breaks(tmp_path: Path) -> None:
    """JSON -> DSL -> YAML -> JSON gives back the document: backticks in names, defaults,
    comments and raw SQL, a `--` comment at the end of raw SQL, trailing spaces."""
    write(tmp_path / "01_x.json", json.dumps(HOSTILE_JSON, indent=2))
    assert run(tmp_path, "convert", "01_x.json", "--to", "dsl", "-o", "02_x.pgroll"
               ).returncode == 0
    assert run(tmp_path, "convert", "02_x.pgroll", "--to", "yaml", "-o", "03_x.yaml"
               ).returncode == 0
    back = run(tmp_path, "convert", "03_x.yaml", "--to", "json")
    assert back.returncode == 0, back.stderr
    assert json.loads(back.stdout) == HOSTILE_JSON


def test_convert_sql_that_does_not_parse_points_at_it_and_writes_nothing(tmp_path: Path) -> None:
    """Alembic-style SQL on stdin with CRLF line ends and a typo on line 4: one PGD014 at
    <stdin>:4:col (the column of the token, as the text and JSON reports say), exit 1, -o
    untouched."""
    write(tmp_path / "out.pgroll", "-- before\n")
    script = ("BEGIN;\r\n\r\nALTER TABLE users ADD COLUMN x int;\r\n"
              "ALTER TABLE users ADD COLUM y int;\r\nCOMMIT;\r\n")
    text = run(tmp_path, "convert", "-", "--to", "dsl", "-o", "out.pgroll", stdin=script)
    assert text.returncode == 1
    assert "<stdin>:4:31: error[PGD014]" in text.stderr
    assert (tmp_path / "out.pgroll").read_text() == "-- before\n"
    as_json = run(tmp_path, "convert", "-", "--to", "dsl", "--format", "json", stdin=script)
    assert as_json.returncode == 1 and as_json.stdout == ""
    [found] = json.loads(as_json.stderr)
    assert (found["code"], found["path"], found["line"], found["column"]) == (
        "PGD014", "<stdin>", 4, 31)


def test_convert_sql_file_with_hostile_names_becomes_operations(tmp_path: Path) -> None:
    """A .sql file with quoted upper-case and non-ASCII names, dollar quotes holding a
    backtick and a later type change: operations, and the result validates."""
    write(tmp_path / "01_init.sql",
          'CREATE TABLE "Tbl" (id bigserial PRIMARY KEY, "Name" varchar(10) NOT NULL);\n'
          'ALTER TABLE "Tbl" ADD COLUMN "ü x" text DEFAULT $$a`b$$;\n'
          'CREATE INDEX CONCURRENTLY ix ON "Tbl" ("Name");\n')
    (tmp_path / "mig").mkdir()
    made = run(tmp_path, "convert", "01_init.sql", "--to", "dsl", "-o", "mig/01_init.pgroll")
    assert made.returncode == 0, made.stderr
    text = (tmp_path / "mig" / "01_init.pgroll").read_text()
    assert "create index ix" in text and "sql" not in text.split()
    assert run(tmp_path, "validate", "mig").returncode == 0


# ---- validate in CI: report formats and exit codes --------------------------------------------

def _ci_files(tmp_path: Path) -> str:
    """A directory whose name needs escaping everywhere, with an error and a warning."""
    folder = "mig, ü: #1 %"
    write(tmp_path / folder / "01_a.pgroll", 'create table "ünï" (id bigint primary key);\n')
    write(tmp_path / folder / "02_b.pgroll",
          'alter table "ünï" drop column "ñope";\n')
    write(tmp_path / folder / "03_c.pgroll", 'sql up `create index i on "ünï" (id)`;\n')
    return folder


def test_sarif_is_valid_and_points_at_the_files(tmp_path: Path) -> None:
    """--format sarif: valid against SARIF 2.1.0, one result per finding, its URI decoding to
    the path as given (commas, colons, '#', '%', non-ASCII), columns in code points; exit 1."""
    folder = _ci_files(tmp_path)
    result = run(tmp_path, "validate", folder, "--format", "sarif", "--report-file", "r.sarif")
    assert result.returncode == 1
    log = json.loads((tmp_path / "r.sarif").read_text(encoding="utf-8"))
    jsonschema.validate(log, json.loads(SARIF_SCHEMA.read_text(encoding="utf-8")))
    results = log["runs"][0]["results"]
    located = {(unquote(r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]),
                r["ruleId"], r["locations"][0]["physicalLocation"]["region"]["startColumn"])
               for r in results}
    assert (f"{folder}/02_b.pgroll", "PGD204", 31) in located
    assert any(rule == "PGD401" for _, rule, _ in located)


def test_github_annotations_escape_the_path(tmp_path: Path) -> None:
    """--format github: one workflow command per finding; the path's ',' ':' '%' escaped so
    the runner reads the whole path, and nothing but commands on stderr."""
    folder = _ci_files(tmp_path)
    result = run(tmp_path, "validate", folder, "--format", "github")
    assert result.returncode == 1
    lines = result.stderr.splitlines()
    assert lines and all(line.startswith(("::error ", "::warning ", "::notice "))
                         for line in lines)
    error = next(line for line in lines if "PGD204" in line)
    properties = error.split("::")[1].split(" ", 1)[1]
    file_value = dict(p.split("=", 1) for p in properties.split(","))["file"]
    decoded = (file_value.replace("%2C", ",").replace("%3A", ":")
               .replace("%0A", "\n").replace("%0D", "\r").replace("%25", "%"))
    assert decoded == f"{folder}/02_b.pgroll"


def test_gitlab_and_json_reports_are_documents_even_on_stderr(tmp_path: Path) -> None:
    """--format gitlab / json on stderr: only the document (no summary line mixed in), which
    parses; with --report-file the summary line goes to stderr instead."""
    write(tmp_path / "mig" / "01_a.pgroll", "create table t (id bigint primary key);\n")
    for fmt in ("gitlab", "json", "sarif"):
        result = run(tmp_path, "validate", "mig", "--format", fmt)
        assert result.returncode == 0
        if fmt == "json":
            assert result.stderr == ""
        else:
            json.loads(result.stderr)
    filed = run(tmp_path, "validate", "mig", "--format", "gitlab", "--report-file", "gl.json")
    assert filed.stderr == "1 migration checked, 0 errors, 0 warnings\n"
    assert json.loads((tmp_path / "gl.json").read_text()) == []


def test_markdown_comment_survives_pipes_and_backticks_in_names(tmp_path: Path) -> None:
    """--format markdown: a table name with '|' and '`' does not break the tables of the
    comment (every table row has its column count)."""
    write(tmp_path / "mig" / "01_a.pgroll",
          'create table "a|b`c" (id bigint primary key, v text);\n')
    write(tmp_path / "mig" / "02_b.pgroll",
          'alter table "a|b`c" alter v set not null up `coalesce(v, \'\')`;\n')
    result = run(tmp_path, "validate", "mig/02_b.pgroll", "--format", "markdown")
    assert result.returncode == 0, result.stderr
    rows = [line for line in result.stderr.splitlines() if line.startswith("| ")]
    assert rows
    for row in rows:
        cells = row.replace("\\|", "").count("|") - 1
        assert cells in (5, 6), row


def test_markdown_comment_survives_backticks_in_a_path(tmp_path: Path) -> None:
    """--format markdown: a directory named with '`' and '|' (the migration's heading, its
    file line, a finding's place) keeps every inline code span closed on its line."""
    folder = tmp_path / "mi`g|x"
    write(folder / "01_a.pgroll", "create table t (id bigint primary key, v text);\n")
    write(folder / "02_b.pgroll", "sql up `ALTER TABLE t ADD COLUMN w int NOT NULL`;\n")
    result = run(tmp_path, "validate", "mi`g|x", "--format", "markdown")
    assert "02_b" in result.stderr, result.stderr
    for line in result.stderr.splitlines():
        assert line.replace("\\`", "").count("`") % 2 == 0, line


@pytest.mark.parametrize("flag", ["--history", "--catalog"])
def test_convert_of_a_migration_file_refuses_a_schema(tmp_path: Path, flag: str) -> None:
    """--history and --catalog tell the schema SQL DDL runs on; given with a migration file
    they were ignored, silently: now a usage error that says so, nothing written."""
    write(tmp_path / "mig" / "01_a.pgroll", "create table t (id bigint primary key);\n")
    result = run(tmp_path, "convert", "mig/01_a.pgroll", "--to", "json", flag, "mig",
                 "-o", "out.json")
    assert result.returncode == 2, result.stderr
    assert "--history and --catalog are for SQL DDL" in result.stderr, result.stderr
    assert "Traceback" not in result.stderr and not (tmp_path / "out.json").exists()


def test_yaml_block_scalar_findings_point_at_the_problem(tmp_path: Path) -> None:
    """A finding inside a block scalar (``up: |``) is placed at the problem, not at the
    indicator: the ``;`` of the block's second line (column 15, where the DSL and JSON
    syntaxes place the same ``;``)."""
    write(tmp_path / "mig" / "01_a.pgroll", "create table t (id bigint primary key, e text);\n")
    write(tmp_path / "mig" / "02_b.yaml",
          "operations:\n"
          "  - alter_column:\n"
          "      table: t\n"
          "      column: e\n"
          "      nullable: false\n"
          "      up: |\n"
          "        coalesce(e,\n"
          "          'x'); drop table t; --)\n"
          "      down: e\n")
    result = run(tmp_path, "validate", "mig", "--format", "json")
    assert result.returncode == 1
    [found] = [d for d in json.loads(result.stderr) if d["code"] == "PGD502"]
    assert (found["line"], found["column"]) == (8, 15)


def _at_semicolon(text: str) -> tuple[int, int]:
    """Line and column (1-based) of the one ``;`` of ``text``, whatever its line breaks."""
    before = text[:text.index(";")]
    return before.count("\n") + 1, len(before) - before.rfind("\n")


# Block scalars that take their lines apart: an indentation indicator (the value keeps two
# spaces of each line), strip chomping, CRLF line breaks, folding (a line break becomes a
# space, or goes before an empty line), an empty line inside, a comment after the indicator.
X = "'x'); drop table t; --)"
BLOCKS = {
    "indicator": f"      up: |2\n          coalesce(\n            e,\n          {X}\n",
    "strip_crlf": f"      up: |-\r\n        coalesce(\r\n          e,\r\n          {X}\r\n",
    "folded": f"      up: >\n        coalesce(\n        e,\n        {X}\n",
    "folded_gap": f"      up: >-\n        coalesce(\n\n        e,\n\n\n          {X}\n",
    "comment": f"      up: | # why\n\n        coalesce(\n          e,\n          {X}\n",
}


@pytest.mark.parametrize("block", BLOCKS.values(), ids=BLOCKS.keys())
def test_yaml_block_scalar_findings_on_a_later_line(tmp_path: Path, block: str) -> None:
    """The ``;`` on the block's third line is found where it is in the file."""
    write(tmp_path / "mig" / "01_a.pgroll", "create table t (id bigint primary key, e text);\n")
    eol = "\r\n" if "\r\n" in block else "\n"
    head = eol.join(["operations:", "  - alter_column:", "      table: t", "      column: e",
                     "      nullable: false", ""])
    text = f"{head}{block}      down: e{eol}"
    write_bytes(tmp_path / "mig" / "02_b.yaml", text.encode())
    result = run(tmp_path, "validate", "mig", "--format", "json")
    assert result.returncode == 1, result.stderr
    [found] = [d for d in json.loads(result.stderr) if d["code"] == "PGD502"]
    assert (found["line"], found["column"]) == _at_semicolon(text)


@pytest.mark.parametrize(("args", "code"), [
    (("validate", "nowhere/01.pgroll"), 2),
    (("validate", "mig", "--history", "mig/01_a.pgroll"), 2),
    (("validate", "mig/01_a.pgroll", "--history", "mig", "--catalog", "c.json"), 2),
    (("validate", "mig/01_a.pgroll", "--catalog", "broken.json"), 1),
    (("validate", "mig/01_a.pgroll", "--catalog", "nowhere.json"), 2),
    (("validate", "mig", "--format", "bogus"), 2),
    (("plan", "mig"), 2),
    (("plan", "mig/01_a.pgroll", "-o", "no/such/dir/plan.sql"), 2),
    (("plan", "mig/01_a.pgroll", "--phase", "bogus"), 2),
    (("plan", "mig/02_bad.pgroll"), 1),
    (("convert", "mig/q.txt", "--to", "json"), 1),
    (("convert", "mig/01_a.pgroll", "--to", "json", "-o", "no/such/dir/x.json"), 2),
])
def test_exit_codes_as_documented(tmp_path: Path, args: tuple[str, ...], code: int) -> None:
    """cli.md, Exit codes: 1 for errors in the input (a migration, a snapshot), 2 for usage
    and environment (a path that is not there, two catalog sources, an output that cannot be
    written, a directory where a file is expected); never a traceback."""
    write(tmp_path / "mig" / "01_a.pgroll", "create table t (id bigint primary key);\n")
    write(tmp_path / "mig" / "02_bad.pgroll", "alter table t drop column nope;\n")
    write(tmp_path / "mig" / "q.txt", "x\n")
    write(tmp_path / "broken.json", "{not json\n")
    write(tmp_path / "c.json", "{}\n")
    result = run(tmp_path, *args)
    assert result.returncode == code, (result.stdout, result.stderr)
    assert result.stderr.strip()


def test_a_missing_file_beside_a_broken_one_is_pgd012_exit_2(tmp_path: Path) -> None:
    write(tmp_path / "mig" / "01_old.json", "{not json\n")
    result = run(tmp_path, "validate", "mig/02_typo.pgroll", "--format", "json")
    assert result.returncode == 2
    assert [d["code"] for d in json.loads(result.stderr)] == ["PGD012"]


# ---- plan: a plan file run by psql does what the live executor does ---------------------------

def _psql() -> str:
    bundled = psql_path()
    found = str(bundled) if bundled is not None else shutil.which("psql")
    if found is None:
        pytest.skip("no psql")
    return found


def test_plan_files_run_by_psql_match_the_live_executor_on_hostile_names(
        tmp_path: Path, dsn: str, pg_conn: Connection, other_database: str) -> None:
    """The same history on two databases; the last migration (hostile table and column
    names, a backfill, a new check) run with the live executor on one and as plan files
    with psql (start, then complete) on the other: the same catalog and the same rows."""
    write(tmp_path / "mig" / "01_a.pgroll",
          'create table "Tbl ü ""q""" (id bigint primary key, "select" text, "v;--" int);\n')
    write(tmp_path / "mig" / "02_b.pgroll",
          'alter table "Tbl ü ""q""" alter "select" set not null '
          "up `coalesce(\"select\", 'n/a: ' || id)`;\n"
          'alter table "Tbl ü ""q""" alter "v;--" add constraint "v pos" check `"v;--" > 0` '
          'up `greatest("v;--", 1)`;\n')
    rows = ("INSERT INTO \"Tbl ü \"\"q\"\"\" SELECT g, CASE WHEN g % 2 = 0 THEN 's' || g END, "
            "g % 3 - 1 FROM generate_series(1, 50) g")
    for target in (dsn, other_database):
        assert live(tmp_path, target, "init").returncode == 0
        assert live(tmp_path, target, "start", "mig/01_a.pgroll", "--complete").returncode == 0
        with psycopg.connect(target, autocommit=True) as conn:
            conn.execute(rows)
    done = live(tmp_path, dsn, "start", "mig/02_b.pgroll", "--complete")
    assert done.returncode == 0, done.stderr
    files = []
    for phase in ("start", "complete"):  # offline: the replay of 01_a, as a CI job makes them
        planned = run(tmp_path, "plan", "mig/02_b.pgroll", "--phase", phase)
        assert planned.returncode == 0, planned.stderr
        files.append(planned.stdout)
    for script in files:
        ran = subprocess.run([_psql(), other_database, "-X", "-q", "-v", "ON_ERROR_STOP=1",
                              "-f", "-"], input=script, text=True, capture_output=True,
                             timeout=120, check=False)
        assert ran.returncode == 0, ran.stderr
    with psycopg.connect(other_database, autocommit=True) as other:
        assert differences(introspect(pg_conn, "public"), introspect(other, "public")) == []
        query = 'SELECT * FROM "Tbl ü ""q""" ORDER BY id'
        assert other.execute(query).fetchall() == pg_conn.execute(query).fetchall()
