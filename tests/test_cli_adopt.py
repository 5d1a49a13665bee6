"""baseline, pull, create and latest, and pgroll's remaining flags, through the CLI on a real
database (typer's CliRunner, as a user's shell calls them)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import psycopg
import pytest
from psycopg.conninfo import conninfo_to_dict, make_conninfo
from typer.testing import CliRunner

from pgroll_dsl.catalog.compare import differences
from pgroll_dsl.catalog.introspect import introspect
from pgroll_dsl.catalog.replay import replay
from pgroll_dsl.cli import app
from pgroll_dsl.frontend import load_migration, migration_files
from pgroll_dsl.ir.baseline import marked
from tests.live_helpers import dsn_of, schemas

Connection = psycopg.Connection[tuple[Any, ...]]

EXISTING = """
CREATE TABLE customers (id serial PRIMARY KEY, name text NOT NULL, email text UNIQUE);
CREATE TABLE invoices (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
                       customer_id int NOT NULL REFERENCES customers (id),
                       total numeric(10, 2) NOT NULL CHECK (total >= 0));
CREATE INDEX invoices_customer ON invoices (customer_id);
INSERT INTO customers (name, email) VALUES ('Ann', 'ann@example.com'), ('Bob', NULL);
"""


def cli(*args: str, input: str | None = None) -> Any:
    return CliRunner().invoke(app, list(args), input=input)


@pytest.fixture
def dsn(pg_dsn: str, pg_conn: Connection) -> str:
    return dsn_of(pg_dsn, pg_conn)


def live(dsn: str, *args: str, input: str | None = None) -> Any:
    """A live command on the test database."""
    return cli(*args, "--postgres-url", dsn, input=input)


def write(directory: Path, name: str, text: str) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / name
    path.write_text(text)
    return path


def migration_rows(conn: Connection) -> list[tuple[str, str, bool]]:
    return conn.execute("SELECT name, migration_type, done FROM pgroll.migrations "
                        "ORDER BY created_at, name").fetchall()


# ---- baseline --------------------------------------------------------------------------------

def test_baseline_records_the_schema_and_changes_nothing(dsn: str, pg_conn: Connection,
                                                         tmp_path: Path) -> None:
    pg_conn.execute(EXISTING)
    assert live(dsn, "init").exit_code == 0
    before = introspect(pg_conn, "public")
    before_schemas = schemas(pg_conn)
    result = live(dsn, "baseline", "01_baseline", str(tmp_path / "migrations"), "--yes")
    assert result.exit_code == 0, result.stderr
    assert "(2 tables)" in result.stdout
    path = tmp_path / "migrations" / "01_baseline.yaml"
    assert path.is_file()
    # the database: the same catalog, no version schema, pgroll's baseline row
    assert differences(before, introspect(pg_conn, "public")) == []
    assert schemas(pg_conn) == before_schemas
    assert migration_rows(pg_conn) == [("01_baseline", "baseline", True)]
    stored = pg_conn.execute("SELECT migration, resulting_schema FROM pgroll.migrations").fetchone()
    assert stored is not None
    assert stored[0]["operations"][0]["sql"]["up"].startswith(marked("CREATE"))
    assert set(stored[1]["tables"]) == {"customers", "invoices"}
    # the file: replayed offline, the schema as it is
    replayed = replay([load_migration(path)]).catalog
    assert differences(before, replayed) == []
    # a second baseline of the same name, or a file there already, is refused
    again = live(dsn, "baseline", "01_baseline", str(tmp_path / "migrations"), "--yes")
    assert again.exit_code == 1 and "already in the history" in again.stderr


def test_baseline_asks_first_and_writes_the_syntax_asked_for(dsn: str, pg_conn: Connection,
                                                             tmp_path: Path) -> None:
    pg_conn.execute(EXISTING)
    live(dsn, "init")
    refused = live(dsn, "baseline", "01_b", str(tmp_path), input="n\n")
    assert refused.exit_code == 0 and "no baseline created" in refused.stderr
    assert migration_rows(pg_conn) == [] and list(tmp_path.iterdir()) == []
    done = live(dsn, "baseline", "01_b", str(tmp_path), "--to", "dsl", input="y\n")
    assert done.exit_code == 0, done.stderr
    text = (tmp_path / "01_b.pgroll").read_text()
    assert text.startswith(f'sql\n  up `{marked("CREATE SEQUENCE")} "customers_id_seq"')
    assert migration_rows(pg_conn) == [("01_b", "baseline", True)]


def test_baseline_refused_while_a_migration_is_active(dsn: str, pg_conn: Connection,
                                                      tmp_path: Path) -> None:
    pg_conn.execute(EXISTING)
    live(dsn, "init")
    started = live(dsn, "start", str(write(tmp_path / "m", "01_add.pgroll",
                                           "alter table customers add note text;\n")))
    assert started.exit_code == 0, started.stderr
    result = live(dsn, "baseline", "02_b", str(tmp_path / "out"), "-y")
    assert result.exit_code == 1 and '"01_add" is in progress' in result.stderr
    assert not (tmp_path / "out" / "02_b.yaml").exists()


def test_after_a_baseline_migrate_validate_and_plan_work(dsn: str, pg_conn: Connection,
                                                         tmp_path: Path) -> None:
    pg_conn.execute(EXISTING)
    live(dsn, "init")
    directory = tmp_path / "migrations"
    assert live(dsn, "baseline", "01_baseline", str(directory), "-y", "-j").exit_code == 0
    new = write(directory, "02_invoice_note.pgroll",
                "alter table invoices add note text default 'none';\n"
                "alter table customers alter email set not null "
                "up `coalesce(email, lower(name) || '@unknown.invalid')`;\n")
    offline = cli("validate", str(directory))
    assert offline.exit_code == 0, offline.stderr
    plan = cli("plan", str(new), "--history", str(directory))
    assert plan.exit_code == 0, plan.stderr
    assert "catalog: replay of 1 migration" in plan.stdout
    migrated = live(dsn, "migrate", str(directory), "--complete")
    assert migrated.exit_code == 0, migrated.stderr
    assert [r[0] for r in migration_rows(pg_conn)] == ["01_baseline", "02_invoice_note"]
    emails = pg_conn.execute("SELECT name, email FROM customers ORDER BY id").fetchall()
    assert emails == [("Ann", "ann@example.com"), ("Bob", "bob@unknown.invalid")]
    # the directory replays to the database's schema
    replayed = replay([load_migration(p) for p in migration_files(directory)]).catalog
    assert differences(introspect(pg_conn, "public"), replayed) == []
    again = live(dsn, "migrate", str(directory))
    assert again.stdout.strip() == "Database is up to date; no migrations to apply"


def test_a_new_environment_is_built_from_the_baseline(dsn: str, pg_conn: Connection,
                                                      pg_dsn: str, tmp_path: Path) -> None:
    """``migrate DIR`` on an empty database runs the baseline's DDL, then what follows."""
    pg_conn.execute(EXISTING)
    live(dsn, "init")
    directory = tmp_path / "migrations"
    assert live(dsn, "baseline", "01_baseline", str(directory), "-y").exit_code == 0
    write(directory, "02_note.pgroll", "alter table invoices add note text default 'none';\n")
    assert live(dsn, "migrate", str(directory), "-c").exit_code == 0
    name = f"{pg_conn.info.dbname}_new"
    pg_conn.execute(f'CREATE DATABASE "{name}"')
    try:
        fresh = make_conninfo(pg_dsn, dbname=name)
        assert live(fresh, "init").exit_code == 0
        built = live(fresh, "migrate", str(directory), "--complete")
        assert built.exit_code == 0, built.stderr
        with psycopg.connect(fresh) as conn:
            assert differences(introspect(pg_conn, "public"), introspect(conn, "public")) == []
            assert [r[0] for r in migration_rows(conn)] == ["01_baseline", "02_note"]
    finally:
        pg_conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


# ---- pull ------------------------------------------------------------------------------------

def test_pull_writes_the_history_in_each_syntax(dsn: str, pg_conn: Connection,
                                                tmp_path: Path) -> None:
    pg_conn.execute(EXISTING)
    live(dsn, "init")
    source = tmp_path / "source"
    assert live(dsn, "baseline", "01_baseline", str(source), "-y").exit_code == 0
    write(source, "02_note.pgroll", "alter table invoices add note text;\n")
    write(source, "03_rename.json", json.dumps({"operations": [{"rename_column": {
        "table": "customers", "from": "name", "to": "full_name"}}]}))
    assert live(dsn, "migrate", str(source), "--complete").exit_code == 0
    for syntax, suffix in (("dsl", ".pgroll"), ("json", ".json"), ("yaml", ".yaml")):
        target = tmp_path / syntax
        result = live(dsn, "pull", str(target), "--to", syntax)
        assert result.exit_code == 0, result.stderr
        assert sorted(p.name for p in target.iterdir()) == [
            f"01_baseline{suffix}", f"02_note{suffix}", f"03_rename{suffix}"]
        pulled = [load_migration(p) for p in migration_files(target)]
        assert [m.operations for m in pulled] == [
            load_migration(p).operations for p in migration_files(source)]
        assert differences(introspect(pg_conn, "public"), replay(pulled).catalog) == []
    # only what the directory lacks; DDL made by hand, which pgroll's event trigger records
    # (the tests run as a superuser), comes as a `sql` migration named after the one before
    (tmp_path / "dsl" / "03_rename.pgroll").unlink()
    pg_conn.execute("ALTER TABLE invoices ADD COLUMN paid boolean NOT NULL DEFAULT false")
    result = live(dsn, "pull", str(tmp_path / "dsl"), "--to", "dsl")
    written = result.stdout.split()
    assert written[0] == str(tmp_path / "dsl" / "03_rename.pgroll")
    assert len(written) == 2 and Path(written[1]).name.startswith("03_rename_")
    assert "ALTER TABLE invoices ADD COLUMN paid" in Path(written[1]).read_text()
    pulled = [load_migration(p) for p in migration_files(tmp_path / "dsl")]
    assert differences(introspect(pg_conn, "public"), replay(pulled).catalog) == []
    result = live(dsn, "pull", str(tmp_path / "numbered"), "--with-prefixes")
    assert result.exit_code == 0, result.stderr
    assert sorted(p.name for p in (tmp_path / "numbered").iterdir())[:3] == [
        "0001_01_baseline.yaml", "0002_02_note.yaml", "0003_03_rename.yaml"]


def test_pull_needs_init_and_a_directory(dsn: str, tmp_path: Path) -> None:
    result = live(dsn, "pull", str(tmp_path))
    assert result.exit_code == 1 and "pgroll is not initialized" in result.stderr
    file = write(tmp_path, "f.yaml", "operations: []\n")
    result = live(dsn, "pull", str(file))
    assert result.exit_code == 2 and "is a file" in result.stderr


# ---- create ----------------------------------------------------------------------------------

def test_create_writes_an_empty_migration(tmp_path: Path) -> None:
    for syntax, name in (("yaml", "01_a.yaml"), ("dsl", "02_b.pgroll"), ("json", "03_c.json")):
        stem = name.rsplit(".", 1)[0]
        result = cli("create", str(tmp_path), "--name", stem, "--to", syntax)
        assert result.exit_code == 0, result.stderr
        assert result.stdout.strip() == f"Migration written to {tmp_path / name}"
        assert load_migration(tmp_path / name).operations == ()
    assert cli("validate", str(tmp_path)).exit_code == 0
    exists = cli("create", str(tmp_path), "-n", "01_a")
    assert exists.exit_code == 2 and "exists already" in exists.stderr
    pgroll_flags = cli("create", str(tmp_path), "-n", "04_d", "-j", "-e")
    assert pgroll_flags.exit_code == 0 and (tmp_path / "04_d.json").is_file()
    for bad in ("../05_e", ""):
        refused = cli("create", str(tmp_path), "--name", bad)
        assert refused.exit_code == 2 and "cannot be a migration name" in refused.stderr
    refused = cli("baseline", "a/b", str(tmp_path), "-y")  # refused before any connection
    assert refused.exit_code == 2 and "cannot be a migration name" in refused.stderr


def test_create_asks_for_the_name_only_on_a_terminal(tmp_path: Path) -> None:
    # CliRunner's standard input is no terminal: the name must come as a flag
    result = cli("create", str(tmp_path))
    assert result.exit_code == 2 and "--name" in result.stderr
    # on a terminal (a pseudo-terminal here) the name is asked for
    pty = pytest.importorskip("pty")
    script = ("import sys; from pgroll_dsl.cli import main; "
              f"sys.argv = ['pgroll-dsl', 'create', {str(tmp_path)!r}]; main()")
    pid, fd = pty.fork()
    if pid == 0:  # the child: the CLI on the pseudo-terminal
        os.execv(sys.executable, [sys.executable, "-c", script])
    output = b""
    while b"Name of the migration" not in output:
        output += os.read(fd, 1024)
    os.write(fd, b"05_asked\n")
    while True:
        try:
            chunk = os.read(fd, 1024)
        except OSError:
            break
        if not chunk:
            break
        output += chunk
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0, output
    assert (tmp_path / "05_asked.yaml").is_file()


# ---- latest ----------------------------------------------------------------------------------

def test_latest_schema_migration_and_url(dsn: str, pg_conn: Connection, tmp_path: Path) -> None:
    live(dsn, "init")
    directory = tmp_path / "m"
    write(directory, "01_users.pgroll", "create table users (id serial primary key);\n")
    write(directory, "02_name.yaml", "version_schema: v2\noperations:\n"
          "- add_column:\n    table: users\n    column: {name: name, type: text, "
          "nullable: true}\n")
    assert live(dsn, "migrate", str(directory)).exit_code == 0
    assert live(dsn, "latest").stdout == "public_v2\n"  # bare latest, as before
    assert live(dsn, "latest", "schema").stdout == "public_v2\n"
    assert live(dsn, "latest", "migration").stdout == "02_name\n"
    url = live(dsn, "latest", "url").stdout.strip()
    assert "options=" in url and conninfo_to_dict(url)["options"] == "-c search_path=public_v2"
    with psycopg.connect(url) as conn:  # the string works: the version schema is first
        assert conn.execute("SHOW search_path").fetchone() == ("public_v2",)
    given = live(dsn, "latest", "url", "postgres://app@db.example.com/shop?sslmode=require")
    assert given.stdout == ("postgres://app@db.example.com/shop?options=-c%20search_path%3D"
                            "public_v2&sslmode=require\n")
    # offline, from the directory
    for args, expected in ((("latest", "schema"), "public_v2"),
                           (("latest", "migration"), "02_name"),
                           (("latest",), "public_v2")):
        result = cli(*args, "--local", str(directory))
        assert (result.exit_code, result.stdout) == (0, f"{expected}\n"), result.stderr
    local_url = cli("latest", "url", "postgres://u@h/d", "-l", str(directory), "--schema", "app")
    assert local_url.stdout == "postgres://u@h/d?options=-c%20search_path%3Dapp_v2\n"
    wrong = cli("latest", "schema", "--local", str(directory / "01_users.pgroll"))
    assert wrong.exit_code == 2 and "is a file; --local takes a directory" in wrong.stderr


def test_latest_and_status_take_a_role(dsn: str, pg_conn: Connection, tmp_path: Path) -> None:
    live(dsn, "init")
    role = f"reader_{pg_conn.info.dbname[-8:]}"
    pg_conn.execute(f"CREATE ROLE {role}")
    pg_conn.execute(f"GRANT USAGE ON SCHEMA pgroll TO {role}; "
                    f"GRANT SELECT ON ALL TABLES IN SCHEMA pgroll TO {role}")
    try:
        write(tmp_path, "01_t.pgroll", "create table t (id int primary key);\n")
        assert live(dsn, "migrate", str(tmp_path), "-c").exit_code == 0
        status = live(dsn, "status", "--role", role)
        assert status.exit_code == 0, status.stderr
        assert json.loads(status.stdout)["version"] == "01_t"
        assert live(dsn, "latest", "schema", "--role", role).stdout == "public_01_t\n"
        pg_conn.execute(f"REVOKE USAGE ON SCHEMA pgroll FROM {role}")
        denied = live(dsn, "status", "--role", role)
        assert denied.exit_code == 2 and "permission denied" in denied.stderr
    finally:
        pg_conn.execute(f"DROP OWNED BY {role}; DROP ROLE {role}")


# ---- pgroll's flags --------------------------------------------------------------------------

def test_verbose_prints_each_statement_with_its_time(dsn: str, tmp_path: Path) -> None:
    live(dsn, "init")
    path = write(tmp_path, "01_t.pgroll", "create table t (id int primary key, v text);\n"
                 "create index t_v on t (v);\n")
    assert live(dsn, "start", str(path), "--complete").exit_code == 0
    path = write(tmp_path, "02_w.pgroll", "alter table t rename v to w;\n"
                 "create index t_id on t (id);\n")
    result = live(dsn, "start", str(path), "--verbose")
    assert result.exit_code == 0, result.stderr
    lines = result.stderr.splitlines()
    timings = [line for line in lines if line.startswith("-- ") and line.endswith(" ms")]
    # each statement as it starts, then its time
    at = lines.index('CREATE SCHEMA IF NOT EXISTS "public_02_w";')
    assert lines[at + 1] in timings
    at = next(i for i, line in enumerate(lines) if "CREATE INDEX CONCURRENTLY" in line)
    assert lines[at + 1] in timings
    assert len(timings) >= 3
    completed = live(dsn, "complete", "--verbose")
    assert completed.exit_code == 0 and completed.stderr.count(" ms\n") >= 1
    quiet = live(dsn, "rollback")
    assert " ms\n" not in quiet.stderr


def test_skip_validation_leaves_the_checks_to_the_database(dsn: str, pg_conn: Connection,
                                                          tmp_path: Path) -> None:
    live(dsn, "init")
    pg_conn.execute("CREATE TABLE t (id int PRIMARY KEY); CREATE TABLE u (id int PRIMARY KEY);"
                    "INSERT INTO u VALUES (1)")
    # validate refuses a NOT NULL column without default nor `up` (PGD301) whatever the rows
    for table in ("t", "u"):
        path = write(tmp_path / table, f"01_{table}.pgroll",
                     f"alter table {table} add m int not null;\n")
        refused = live(dsn, "start", str(path))
        assert refused.exit_code == 1 and "error[PGD301]" in refused.stderr
    # skipped: the empty table takes it; on the other, PostgreSQL refuses, and start undoes it
    started = live(dsn, "start", str(tmp_path / "t" / "01_t.pgroll"), "--skip-validation")
    assert started.exit_code == 0, started.stderr
    assert "PGD301" not in started.stderr
    assert live(dsn, "complete").exit_code == 0
    assert pg_conn.execute("SELECT attnotnull FROM pg_attribute WHERE attrelid = 't'::regclass "
                           "AND attname = 'm'").fetchone() == (True,)
    failed = live(dsn, "start", str(tmp_path / "u" / "01_u.pgroll"), "-s")
    assert failed.exit_code == 1 and "is violated by some row" in failed.stderr
    assert pg_conn.execute("SELECT name FROM pgroll.migrations WHERE migration_type = 'pgroll'"
                           ).fetchall() == [("01_t",)]


def test_no_version_schema(dsn: str, pg_conn: Connection, tmp_path: Path) -> None:
    live(dsn, "init")
    path = write(tmp_path, "01_t.pgroll", "create table t (id int primary key);\n")
    result = live(dsn, "start", str(path), "--no-use-version-schema")
    assert result.exit_code == 0, result.stderr
    assert result.stdout.strip() == 'Migration "01_t" started successfully'
    assert "public_01_t" not in schemas(pg_conn)
    assert live(dsn, "complete").exit_code == 0
    pg_conn.execute("INSERT INTO t VALUES (1)")
    path = write(tmp_path, "02_u.pgroll", "create table u (id int primary key);\n")
    assert live(dsn, "start", str(path), "--complete").exit_code == 0
    assert "public_02_u" in schemas(pg_conn)


def test_migrate_expect_one(dsn: str, pg_conn: Connection, tmp_path: Path) -> None:
    live(dsn, "init")
    write(tmp_path, "01_a.pgroll", "create table a (id int primary key);\n")
    write(tmp_path, "02_b.pgroll", "create table b (id int primary key);\n")
    result = live(dsn, "migrate", str(tmp_path), "--expect-one")
    assert result.exit_code == 1
    assert "expected one migration to apply but found 2" in result.stderr
    assert migration_rows(pg_conn) == []
    (tmp_path / "02_b.pgroll").unlink()
    assert live(dsn, "migrate", str(tmp_path), "--expect-one").exit_code == 0


# ---- first-use messages ----------------------------------------------------------------------

def test_a_directory_for_a_file_and_the_reverse(dsn: str, tmp_path: Path) -> None:
    path = write(tmp_path, "01_a.pgroll", "create table a (id int primary key);\n")
    result = live(dsn, "start", str(tmp_path))
    assert result.exit_code == 2
    assert result.stderr == (f"error: {tmp_path} is a directory; start takes one migration "
                             f"file (to apply a directory: pgroll-dsl migrate {tmp_path})\n")
    result = live(dsn, "migrate", str(path))
    assert result.exit_code == 2
    assert result.stderr == (f"error: {path} is a file; migrate takes a directory of "
                             f"migrations (for one file: pgroll-dsl start {path})\n")
    result = live(dsn, "baseline", "01", str(path), "-y")
    assert result.exit_code == 2 and "is a file" in result.stderr


def test_an_unreachable_database_is_named_without_its_password(pg_dsn: str) -> None:
    given = conninfo_to_dict(pg_dsn)
    with psycopg.connect(pg_dsn) as conn:  # a port nobody listens on: the server's, plus one
        port = int(conn.info.port) + 1
    url = make_conninfo(pg_dsn, port=str(port), password="s3cret-pw", dbname="shop",
                        connect_timeout="3")
    for command in (("status",), ("latest", "schema"), ("init",)):
        result = cli(*command, "--postgres-url", url)
        assert result.exit_code == 2, (command, result.stderr)
        assert result.stderr.startswith(f'error: cannot connect to database "shop" on '
                                        f'{given["host"]}:{port}'), result.stderr
        assert "s3cret-pw" not in result.stderr and "Traceback" not in result.stderr
        assert len(result.stderr.splitlines()) == 1
    wrong = cli("status", "--postgres-url", "postgres://u:s3cret-pw@host:notaport/db")
    assert wrong.exit_code == 2 and "s3cret-pw" not in wrong.stderr
    for command in (("status",), ("catalog", "dump")):
        nonsense = cli(*command, "--postgres-url", "s3cret-pw")
        assert nonsense.exit_code == 2 and "not a valid connection string" in nonsense.stderr
        assert "s3cret-pw" not in nonsense.stderr
    dump = cli("catalog", "dump", "--postgres-url", url)
    assert dump.exit_code == 2 and f'database "shop" on {given["host"]}:{port}' in dump.stderr


def test_shell_completion_and_the_single_command_path() -> None:
    program = str(Path(sys.executable).parent / "pgroll-dsl")  # the installed console script
    # Typer's own switch for tests: the shell is the option's value, not detected from the
    # parent processes (which found none when the suite ran as a background job).
    shown = subprocess.run([program, "--show-completion", "bash"], capture_output=True,
                           text=True, env={**os.environ, "SHELL": "bash",
                                           "_TYPER_COMPLETE_TEST_DISABLE_SHELL_DETECTION": "1"})
    assert shown.returncode == 0, shown.stderr
    assert "_PGROLL_DSL_COMPLETE" in shown.stdout
    words = subprocess.run([program], capture_output=True, text=True,
                           env={**os.environ, "_PGROLL_DSL_COMPLETE": "complete_bash",
                                "COMP_WORDS": "pgroll-dsl lat", "COMP_CWORD": "1"})
    assert "latest" in words.stdout.split()
    # the lean single-command app: a group and a command on their own
    for args in (("latest", "--help"), ("latest", "url", "--help"), ("baseline", "--help")):
        result = subprocess.run([sys.executable, "-m", "pgroll_dsl", *args],
                                capture_output=True, text=True)
        assert result.returncode == 0, (args, result.stderr)


def test_docs_name_every_command_and_option() -> None:
    """docs/cli.md names each command of the app and each of its long options."""
    import re

    import typer.main

    doc = (Path(__file__).parents[1] / "docs" / "cli.md").read_text()

    def walk(command: Any, path: list[str]) -> Any:
        yield path, command
        for name, sub in getattr(command, "commands", {}).items():
            yield from walk(sub, [*path, name])

    missing = []
    for path, command in walk(typer.main.get_command(app), []):
        if path and (f"`{path[0]}" not in doc or " ".join(path) not in doc):
            missing.append(" ".join(path))
        for param in command.params:
            for option in [*getattr(param, "opts", []), *getattr(param, "secondary_opts", [])]:
                if option.startswith("--") and not re.search(re.escape(option) + r"(?![\w-])",
                                                             doc):
                    missing.append(f"{' '.join(path) or 'pgroll-dsl'} {option}")
    assert missing == []
