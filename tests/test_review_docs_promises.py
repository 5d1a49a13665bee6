"""Review: what README.md, docs/cli.md, docs/api.md and docs/concepts.md promise a user, tried
the way a user would break it, on a real PostgreSQL.

The standard is the product's own: bad input (a file that does not exist, is empty, is a
directory; a syntax error; unknown tables; hostile identifiers with quotes, spaces, upper case
and non-ASCII letters; a dead, silent or malformed database URL; a role short of a right; a
database where ``init`` never ran; ``complete`` or ``rollback`` with nothing in progress;
``start`` twice) gets one clear diagnostic, the documented exit code, never a Python
traceback, and no change that rollback cannot undo. The command line runs as a user runs it,
in a process of its own (``python -m pgroll_dsl`` in a scratch directory, relative paths as
the docs write them). Promises checked elsewhere in the suite are not repeated here; a test
marked ``xfail`` is a discrepancy, its reason the diagnosis.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest
import yaml
from psycopg.conninfo import make_conninfo

import pgroll_dsl
from pgroll_dsl import app
from pgroll_dsl.catalog.compare import differences
from pgroll_dsl.catalog.introspect import introspect
from tests.live_helpers import dsn_of, schemas

Connection = psycopg.Connection[tuple[Any, ...]]

REPO = Path(__file__).resolve().parents[1]
EXAMPLES = REPO / "examples"


def run(cwd: Path, *args: str, env: dict[str, str] | None = None,
        stdin: str = "", timeout: float = 120) -> subprocess.CompletedProcess[str]:
    """``pgroll-dsl ARGS`` run from ``cwd``, as a shell runs it; never a traceback."""
    environment = {k: v for k, v in os.environ.items() if not k.startswith("PGROLL_")}
    environment["PYTHONPATH"] = str(REPO)
    environment.update(env or {})
    done = subprocess.run([sys.executable, "-m", "pgroll_dsl", *args], cwd=cwd, input=stdin,
                          capture_output=True, text=True, env=environment, timeout=timeout,
                          check=False)
    assert "Traceback" not in done.stderr, done.stderr
    return done


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


@pytest.fixture
def dsn(pg_dsn: str, pg_conn: Connection) -> str:
    return dsn_of(pg_dsn, pg_conn)


@pytest.fixture
def role(pg_conn: Connection) -> Iterator[str]:
    """A login role with no rights beyond PUBLIC's; dropped afterwards with what it owns."""
    name = f"rv_docs_{pg_conn.info.dbname[-8:]}"
    pg_conn.execute(f'CREATE ROLE "{name}" LOGIN')
    try:
        yield name
    finally:
        pg_conn.execute(f'REASSIGN OWNED BY "{name}" TO CURRENT_USER')
        pg_conn.execute(f'DROP OWNED BY "{name}"')
        pg_conn.execute(f'DROP ROLE "{name}"')


def live(cwd: Path, dsn: str, *args: str, **kwargs: Any) -> subprocess.CompletedProcess[str]:
    return run(cwd, *args, "--postgres-url", dsn, **kwargs)


# ---- README: the two commands, offline -------------------------------------------------------

def test_readme_first_commands_work_as_written() -> None:
    """``validate examples/ && plan examples/03_users_email_not_null.pgroll``, from the repo."""
    checked = run(REPO, "validate", "examples/")
    assert checked.returncode == 0 and checked.stdout == ""
    assert checked.stderr == "4 migrations checked, 0 errors, 0 warnings\n"
    plan = run(REPO, "plan", "examples/03_users_email_not_null.pgroll")
    assert plan.returncode == 0, plan.stderr
    assert plan.stdout.startswith("-- pgroll-dsl ")
    assert "-- previous version schema: public_02_add_orders" in plan.stdout


def test_version_and_help_exit_codes() -> None:
    """cli.md, Global options: --version prints ``pgroll-dsl X`` and exits 0; --help after a
    command exits 0; no command prints the help and exits 2."""
    version = run(REPO, "--version")
    assert version.returncode == 0 and version.stdout == f"pgroll-dsl {pgroll_dsl.__version__}\n"
    assert run(REPO, "convert", "--help").returncode == 0
    bare = run(REPO)
    assert bare.returncode == 2 and "Commands" in bare.stdout + bare.stderr


# ---- fmt ---------------------------------------------------------------------------------------

def test_fmt_check_reports_formats_the_rest_and_keeps_a_broken_file(tmp_path: Path) -> None:
    """cli.md, fmt: --check prints the diff on stdout and ``would reformat FILE`` on stderr and
    exits 1; without it a file that does not compile is reported and left as it is, the others
    are formatted, exit 1; --diff prints a patch and exits 0; an empty file is canonical."""
    write(tmp_path / "01_a.pgroll", "CREATE TABLE T (ID INTEGER PRIMARY KEY);\n")
    write(tmp_path / "02_bad.pgroll", "alter table t add column x int\n")
    write(tmp_path / "03_empty.pgroll", "")
    files = ["01_a.pgroll", "02_bad.pgroll", "03_empty.pgroll"]
    check = run(tmp_path, "fmt", "--check", *files)
    assert check.returncode == 1
    assert check.stdout.startswith("--- 01_a.pgroll\t(original)\n+++ 01_a.pgroll\t(formatted)\n")
    assert "would reformat 01_a.pgroll" in check.stderr
    assert "02_bad.pgroll:1:31: error[PGD003]" in check.stderr
    assert "03_empty" not in check.stderr
    diff = run(tmp_path, "fmt", "--diff", "01_a.pgroll")
    assert diff.returncode == 0 and diff.stdout == check.stdout
    assert (tmp_path / "01_a.pgroll").read_text() == "CREATE TABLE T (ID INTEGER PRIMARY KEY);\n"
    done = run(tmp_path, "fmt", *files)
    assert done.returncode == 1
    assert "reformatted 01_a.pgroll" in done.stderr
    assert (tmp_path / "01_a.pgroll").read_text() == "create table t (id int primary key);\n"
    assert (tmp_path / "02_bad.pgroll").read_text() == "alter table t add column x int\n"


@pytest.mark.parametrize("target", ["nowhere.pgroll", "adir.pgroll", "01.json"])
def test_fmt_stops_with_exit_2_on_what_it_cannot_format(tmp_path: Path, target: str) -> None:
    (tmp_path / "adir.pgroll").mkdir()
    write(tmp_path / "01.json", '{"operations": []}\n')
    result = run(tmp_path, "fmt", target)
    assert result.returncode == 2, result.stderr
    assert len(result.stderr.splitlines()) == 1 and target in result.stderr


# ---- convert, validate, plan on bad input -----------------------------------------------------

def test_a_file_with_errors_leaves_the_output_file_untouched(tmp_path: Path) -> None:
    """cli.md: convert and plan of a file with errors write nothing (-o untouched), exit 1."""
    write(tmp_path / "01_bad.pgroll", "alter table t add column x int\n")
    write(tmp_path / "out.json", "keep\n")
    write(tmp_path / "plan.sql", "keep\n")
    converted = run(tmp_path, "convert", "01_bad.pgroll", "--to", "json", "-o", "out.json")
    planned = run(tmp_path, "plan", "01_bad.pgroll", "-o", "plan.sql")
    for result in (converted, planned):
        assert result.returncode == 1
        assert result.stderr.startswith("01_bad.pgroll:1:31: error[PGD003]: missing ';'")
    assert (tmp_path / "out.json").read_text() == "keep\n"
    assert (tmp_path / "plan.sql").read_text() == "keep\n"


@pytest.mark.parametrize("command", [("validate",), ("plan",), ("convert", "--to", "json")])
@pytest.mark.parametrize("target", ["missing.pgroll", "adir.pgroll"])
def test_a_migration_that_cannot_be_read_is_pgd012_exit_2(tmp_path: Path, command: tuple[str, ...],
                                                          target: str) -> None:
    (tmp_path / "adir.pgroll").mkdir()
    write(tmp_path / "adir.pgroll" / "01_x.pgroll", "create table x (id int primary key);\n")
    if command == ("validate",) and target == "adir.pgroll":
        pytest.skip("validate takes a directory: it checks its files")
    result = run(tmp_path, command[0], target, *command[1:])
    assert result.returncode == 2
    assert result.stderr.startswith(f"error[PGD012]: cannot read {target}: ")


def test_a_file_not_in_utf8_is_pgd012_exit_2(tmp_path: Path) -> None:
    """cli.md: files are read as UTF-8; one that is not cannot be read (PGD012, exit 2)."""
    (tmp_path / "01_latin1.pgroll").write_bytes(b"create table caf\xe9 (id int primary key);\n")
    for command in (("validate",), ("fmt",), ("convert", "--to", "json"), ("plan",)):
        result = run(tmp_path, command[0], "01_latin1.pgroll", *command[1:])
        assert result.returncode == 2, (command, result.stderr)
        assert result.stderr.startswith("error[PGD012]: cannot read 01_latin1.pgroll"), command


def test_json_diagnostics_are_nothing_at_all_without_a_finding(tmp_path: Path) -> None:
    """cli.md, Diagnostics: with --format json, nothing at all on stderr when there is none."""
    write(tmp_path / "01_a.pgroll", "create table a (id int primary key);\n")
    clean = run(tmp_path, "validate", "01_a.pgroll", "--format", "json")
    assert clean.returncode == 0 and clean.stdout == "" and clean.stderr == ""


def test_pgroll_pg_url_in_the_environment_is_a_second_source(tmp_path: Path) -> None:
    """cli.md: with PGROLL_PG_URL set, --history or --catalog is a second source: exit 2."""
    write(tmp_path / "m" / "01_a.pgroll", "create table a (id int primary key);\n")
    result = run(tmp_path, "validate", "m", "--history", "m",
                 env={"PGROLL_PG_URL": "postgres://nobody@127.0.0.1:1/x"})
    assert result.returncode == 2
    assert result.stderr == "error: give at most one of --history, --catalog, --postgres-url\n"


# ---- hostile identifiers, offline and live -----------------------------------------------------

HOSTILE = ('create table "We ird""Q" (id int primary key, "Na me" text, "émoji🙂" text, '
           '"UPPER" int);\n')
HOSTILE_ALTER = ('alter table "We ird""Q" rename "Na me" to "NEW na""me";\n\n'
                 'alter table "We ird""Q" alter "émoji🙂" set not null up '
                 '`coalesce("émoji🙂", \'x\')`;\n')


def test_hostile_identifiers_round_trip_through_start_and_complete(tmp_path: Path, dsn: str,
                                                                   pg_conn: Connection) -> None:
    write(tmp_path / "m" / "01_hostile.pgroll", HOSTILE)
    write(tmp_path / "m" / "02_alter.pgroll", HOSTILE_ALTER)
    assert run(tmp_path, "validate", "m").returncode == 0
    assert run(tmp_path, "fmt", "--check", "m/01_hostile.pgroll", "m/02_alter.pgroll"
               ).returncode == 0
    assert live(tmp_path, dsn, "init").returncode == 0
    first = live(tmp_path, dsn, "start", "m/01_hostile.pgroll", "--complete")
    assert first.returncode == 0, first.stderr
    pg_conn.execute('INSERT INTO "We ird""Q" VALUES (1, \'a\', NULL, 7)')
    second = live(tmp_path, dsn, "start", "m/02_alter.pgroll")
    assert second.returncode == 0, second.stderr
    with psycopg.connect(dsn, autocommit=True, **app.connection_options("public_02_alter")) as new:
        assert new.execute('SELECT "NEW na""me", "émoji🙂", "UPPER" FROM "We ird""Q"'
                           ).fetchall() == [("a", "x", 7)]
    assert live(tmp_path, dsn, "complete").returncode == 0
    assert pg_conn.execute('SELECT "NEW na""me", "émoji🙂" FROM "We ird""Q"'
                           ).fetchall() == [("a", "x")]
    url = live(tmp_path, dsn, "latest", "url")
    assert url.returncode == 0 and "search_path=public_02_alter" in url.stdout


def test_a_failed_start_on_hostile_names_leaves_the_schema_as_it_was(tmp_path: Path, dsn: str,
                                                                     pg_conn: Connection) -> None:
    """cli.md, start: a failing step rolls back at once, exit 1 with the failing step's
    message; nothing is left behind (a unique index and a check that rows break)."""
    write(tmp_path / "m" / "01_t.pgroll",
          'create table "Or""ders X" (id int primary key, "Em ail" text);\n')
    write(tmp_path / "m" / "02_u.pgroll",
          'alter table "Or""ders X" alter "Em ail" add constraint "u Ü" unique '
          'up `lower("Em ail")`;\n')
    write(tmp_path / "m" / "03_c.pgroll",
          'alter table "Or""ders X" alter "Em ail" add constraint "ck Ü" check '
          '`"Em ail" <> \'x\'` up `"Em ail"`;\n')
    live(tmp_path, dsn, "init")
    assert live(tmp_path, dsn, "start", "m/01_t.pgroll", "--complete").returncode == 0
    pg_conn.execute('INSERT INTO "Or""ders X" VALUES (1, \'A\'), (2, \'a\'), (3, \'x\')')
    before, spaces = introspect(pg_conn, "public"), schemas(pg_conn)
    history = pg_conn.execute("SELECT name FROM pgroll.migrations").fetchall()
    for name, step in (("02_u", "build unique index u Ü"), ("03_c", "validate ck Ü")):
        failed = live(tmp_path, dsn, "start", f"m/{name}.pgroll")
        assert failed.returncode == 1
        assert f"error: start failed, changes rolled back: {step}: " in failed.stderr
        assert differences(before, introspect(pg_conn, "public")) == []
        assert schemas(pg_conn) == spaces
        assert pg_conn.execute("SELECT name FROM pgroll.migrations").fetchall() == history
        assert pg_conn.execute("SELECT count(*) FROM pg_trigger WHERE NOT tgisinternal"
                               ).fetchone() == (0,)


# ---- live commands: refused states -------------------------------------------------------------

def test_a_database_where_init_never_ran(tmp_path: Path, dsn: str) -> None:
    """Every live command that needs the history refuses (exit 1) and says to run init."""
    write(tmp_path / "m" / "01_a.pgroll", "create table a (id int primary key);\n")
    for command in (("start", "m/01_a.pgroll"), ("complete",), ("rollback",), ("status",),
                    ("latest",), ("latest", "migration"), ("migrate", "m"),
                    ("baseline", "01_b", "out", "--yes"), ("pull", "out")):
        result = live(tmp_path, dsn, *command)
        assert result.returncode == 1, (command, result.stderr)
        assert result.stderr == ("error: pgroll is not initialized, run 'pgroll-dsl init' to "
                                 "initialize\n"), command
    assert not (tmp_path / "out").exists()


def test_nothing_in_progress_and_start_twice(tmp_path: Path, dsn: str) -> None:
    """complete/rollback with nothing active: exit 1; the same start again resumes (a no-op
    once every step has run, exit 0); another start while one is active: exit 1."""
    for name in ("01_create_users", "02_add_orders"):
        write(tmp_path / "m" / f"{name}.pgroll", (EXAMPLES / f"{name}.pgroll").read_text())
    assert live(tmp_path, dsn, "init").returncode == 0
    assert live(tmp_path, dsn, "init").stdout == "Initialization complete\n"  # again: safe
    for command in ("complete", "rollback"):
        result = live(tmp_path, dsn, command)
        assert (result.returncode, result.stderr) == (1, "error: no active migration\n")
    assert live(tmp_path, dsn, "start", "m/01_create_users.pgroll").returncode == 0
    again = live(tmp_path, dsn, "start", "m/01_create_users.pgroll")
    assert again.returncode == 0 and "already started" in again.stderr
    other = live(tmp_path, dsn, "start", "m/02_add_orders.pgroll")
    assert other.returncode == 1 and "already in progress" in other.stderr
    assert live(tmp_path, dsn, "rollback").returncode == 0
    assert live(tmp_path, dsn, "rollback").returncode == 1


@pytest.mark.parametrize("command", [("pull", "FILE"), ("baseline", "01_b", "FILE", "--yes")])
def test_a_file_where_a_directory_is_expected_is_exit_2(tmp_path: Path, dsn: str,
                                                        command: tuple[str, ...]) -> None:
    """cli.md, Live commands: ``pull FILE`` and ``baseline NAME FILE`` are refused, exit 2."""
    write(tmp_path / "f.yaml", "operations: []\n")
    live(tmp_path, dsn, "init")
    result = live(tmp_path, dsn, *[("f.yaml" if a == "FILE" else a) for a in command])
    assert result.returncode == 2
    assert result.stderr.startswith(f"error: f.yaml is a file; {command[0]} writes")


def test_init_without_create_on_the_database_names_the_grant(tmp_path: Path, dsn: str,
                                                             role: str) -> None:
    """cli.md: a role without the rights a live command needs: exit 2, the GRANT named."""
    result = live(tmp_path, make_conninfo(dsn, user=role), "init")
    assert result.returncode == 2
    assert "GRANT CREATE ON DATABASE" in result.stderr
    assert len(result.stderr.splitlines()) == 1


@pytest.mark.parametrize("command", [
    ("start", "m/01_a.pgroll"), ("complete",), ("rollback",), ("migrate", "m"),
    ("pull", "out"), ("baseline", "01_b", "out", "--yes"), ("latest", "url")])
def test_each_live_command_names_a_dead_database_without_its_password(
        tmp_path: Path, command: tuple[str, ...]) -> None:
    """cli.md, Live commands: one line, without the password, exit 2 (status, latest, init and
    catalog dump are tested in test_cli_adopt)."""
    write(tmp_path / "m" / "01_a.pgroll", "create table a (id int primary key);\n")
    url = "postgresql://app:s3cret-pw@127.0.0.1:1/shop"
    result = live(tmp_path, url, *command)
    assert result.returncode == 2, result.stderr
    assert result.stderr.startswith('error: cannot connect to database "shop" on 127.0.0.1:1 '
                                    'as user "app"')
    assert "s3cret-pw" not in result.stderr and len(result.stderr.splitlines()) == 1


def test_validate_does_not_repeat_a_malformed_url(tmp_path: Path) -> None:
    """cli.md, Live commands: a --postgres-url that is not a connection string is only called
    invalid, its text (which may hold the password) not repeated; validate DIR, which reads
    the history, and app.latest_version_schema too (they printed psycopg's message, which
    quotes the string)."""
    write(tmp_path / "m" / "01_a.pgroll", "create table a (id int primary key);\n")
    url = "postgresql://app:s3cret-pw@[::1/shop"
    result = run(tmp_path, "validate", "m", "--postgres-url", url)
    assert result.returncode == 2
    assert "s3cret-pw" not in result.stderr, result.stderr
    with pytest.raises(pgroll_dsl.DatabaseUnreachable) as raised:
        app.latest_version_schema(url)
    assert "s3cret-pw" not in str(raised.value)




def test_catalog_dump_gives_up_on_a_silent_server_within_10_seconds(tmp_path: Path,
                                                                    silent_server: int) -> None:
    """cli.md, catalog dump: a database that cannot be reached within 10 s is PGD901, exit 2."""
    url = f"postgresql://app@127.0.0.1:{silent_server}/shop"
    result = run(tmp_path, "catalog", "dump", "--postgres-url", url, timeout=30)
    assert result.returncode == 2
    assert result.stderr.startswith("error[PGD901]: cannot read the catalog: cannot connect")


def test_a_live_command_gives_up_on_a_silent_server(tmp_path: Path, silent_server: int) -> None:
    """An unreachable database is exit 2 with a one-line message, also where the server
    accepts the connection and never answers (it waited forever: no connect_timeout on the
    executor's connection, backends/live.connect_pinned)."""
    url = f"postgresql://app@127.0.0.1:{silent_server}/shop"
    try:
        result = run(tmp_path, "status", "--postgres-url", url, timeout=25)
    except subprocess.TimeoutExpired:
        pytest.fail("status still waited for the server after 25 s")
    assert result.returncode == 2
    assert "connection timeout expired" in result.stderr and "Traceback" not in result.stderr


# ---- migrate, concurrency ----------------------------------------------------------------------

def test_migrate_while_another_run_works_on_the_schema_is_refused(tmp_path: Path, dsn: str,
                                                                  pg_conn: Connection) -> None:
    """cli.md: migrate holds the schema's run lock, and a second run fails at once (exit 1).
    Beside a start still in its backfill it read the active migration without the lock,
    printed 'migration "NAME" is active' and exited 0 (a deploy script took it for done)."""
    write(tmp_path / "m" / "01_t.pgroll", "create table t (id int primary key, v int);\n")
    write(tmp_path / "m" / "02_nn.pgroll",
          "alter table t alter v set not null up `coalesce(v, 0)`;\n")
    live(tmp_path, dsn, "init")
    assert live(tmp_path, dsn, "start", "m/01_t.pgroll", "--complete").returncode == 0
    pg_conn.execute("INSERT INTO t SELECT g, NULL FROM generate_series(1, 1000) g")
    environment = {k: v for k, v in os.environ.items() if not k.startswith("PGROLL_")}
    environment["PYTHONPATH"] = str(REPO)
    slow = subprocess.Popen(
        [sys.executable, "-m", "pgroll_dsl", "start", "m/02_nn.pgroll", "--postgres-url", dsn,
         "--backfill-batch-size", "20", "--backfill-batch-time", "0",
         "--backfill-batch-delay", "0.3"],
        cwd=tmp_path, env=environment, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        for _ in range(400):  # until the start has recorded its migration, under the lock
            if pg_conn.execute("SELECT count(*) FROM pgroll.migrations WHERE name = '02_nn'"
                               ).fetchone() == (1,):
                break
            time.sleep(0.05)
        result = live(tmp_path, dsn, "migrate", "m", "--complete")
        assert slow.poll() is None, "the start ended before migrate ran: make it slower"
        assert result.returncode == 1, (result.stdout, result.stderr)
        assert "another pgroll-dsl run is working on schema" in result.stderr
    finally:  # (its backfill would take 15 s more; the database goes with the test)
        slow.terminate()
        slow.wait(120)


# ---- create ----------------------------------------------------------------------------------

def test_create_refuses_what_it_cannot_write(tmp_path: Path) -> None:
    """cli.md, create: no --name and no terminal: exit 2; a file that exists: exit 2; a name
    that is no file name (a path, empty) is refused, nothing written outside DIR."""
    made = run(tmp_path, "create", "drafts", "--name", "01_x")
    assert made.returncode == 0 and made.stdout == "Migration written to drafts/01_x.yaml\n"
    assert run(tmp_path, "create", "drafts", "--name", "01_x").returncode == 2
    assert run(tmp_path, "create", "drafts").returncode == 2
    for name in ("../evil", "a/b", ""):
        result = run(tmp_path, "create", "drafts", "--name", name)
        assert result.returncode == 2 and "cannot be a migration name" in result.stderr
    assert sorted(p.name for p in tmp_path.rglob("*") if p.is_file()) == ["01_x.yaml"]


# ---- the Python API ------------------------------------------------------------------------------

def test_api_errors_are_typed(tmp_path: Path, dsn: str) -> None:
    """api.md, Errors are data: a file that cannot be read is InvalidMigration with
    ``environment`` true; a database where init never ran, or nothing active, is
    MigrationRefused; a dead database is DatabaseUnreachable; validate raises nothing and
    says it stopped."""
    with pytest.raises(pgroll_dsl.InvalidMigration) as unread:
        pgroll_dsl.compile_file(tmp_path / "missing.pgroll")
    assert unread.value.environment
    with pytest.raises(pgroll_dsl.InvalidMigration) as broken:
        pgroll_dsl.compile_text("alter table t add column x int", "01_x")
    assert not broken.value.environment
    with pgroll_dsl.connect(dsn) as db:
        with pytest.raises(pgroll_dsl.MigrationRefused, match="not initialized"):
            db.status()
        db.init()
        for phase in (db.complete, db.rollback):
            with pytest.raises(pgroll_dsl.MigrationRefused, match="no active migration"):
                phase()
        assert db.progress() is None and db.current_version_schema() is None
    with pytest.raises(pgroll_dsl.DatabaseUnreachable):
        pgroll_dsl.connect("postgresql://app:pw@127.0.0.1:1/shop")
    stopped = pgroll_dsl.validate(tmp_path / "missing")
    assert stopped.stopped and not stopped.ok


def test_the_exceptions_outside_pgroll_dsl_error_are_the_documented_ones(tmp_path: Path) -> None:
    """api.md, Errors are data: what the API raises about a migration, a schema, a database
    or a saved plan is a PgrollDslError; an argument a function cannot take is a ValueError,
    and create_migration raises FileExistsError for a file that exists (the page said every
    exception derived from PgrollDslError)."""
    text = " ".join((REPO / "docs" / "api.md").read_text().split())
    assert "`create_migration` raises `FileExistsError` for a file that exists" in text
    pgroll_dsl.create_migration(tmp_path, "01_x")
    with pytest.raises(FileExistsError):
        pgroll_dsl.create_migration(tmp_path, "01_x")
    with pytest.raises(ValueError, match="cannot be a migration name"):
        pgroll_dsl.create_migration(tmp_path, "../x")
    write(tmp_path / "02.json", '{"operations": []}\n')
    with pytest.raises(ValueError, match="fmt formats .pgroll files"):
        pgroll_dsl.format_file(tmp_path / "02.json")
    with pytest.raises(ValueError, match="unknown syntax"):
        pgroll_dsl.compile_text("operations: []", "01_x", syntax="toml")  # type: ignore[arg-type]
    with pytest.raises(pgroll_dsl.PgrollDslError):
        pgroll_dsl.format_file(tmp_path / "missing.pgroll")


def test_pull_that_cannot_write_is_not_an_unreachable_database(tmp_path: Path, dsn: str) -> None:
    """api.md: DatabaseUnreachable is the database's fault (PGD901). Migrator.pull that
    cannot write its files raised it; baseline raises MigrationRefused in the same case."""
    blocker = write(tmp_path / "out", "a file, not a directory\n")
    with pgroll_dsl.connect(dsn) as db:
        db.init()
        db.start(pgroll_dsl.compile_text("create table a (id int primary key);", "01_a"
                                         ).migration, complete=True)
        with pytest.raises(pgroll_dsl.PgrollDslError) as raised:
            db.pull(blocker)
    assert isinstance(raised.value, pgroll_dsl.MigrationRefused), raised.value
    assert "cannot write to" in str(raised.value)


# ---- convert: what pgroll itself would write ---------------------------------------------------

def test_yaml_output_keeps_non_ascii_text_readable(tmp_path: Path) -> None:
    """cli.md, convert: YAML as pgroll writes it, multi-line strings as block scalars. A
    string with a non-ASCII letter was written double-quoted with escapes ('caf\\xE9'), a
    multi-line one on one line (allow_unicode=False); the line breaks YAML reads beyond \\n
    stay escaped (test_grammar's test_any_name_survives_emit_and_parse)."""
    write(tmp_path / "01_s.pgroll", "sql up `UPDATE t\n  SET name = 'café'`;\n")
    write(tmp_path / "02_t.pgroll", 'create table "émoji🙂" (id int primary key);\n')
    sql = run(tmp_path, "convert", "01_s.pgroll", "--to", "yaml")
    assert sql.returncode == 0
    assert "up: |-\n      UPDATE t\n        SET name = 'café'\n" in sql.stdout, sql.stdout
    table = run(tmp_path, "convert", "02_t.pgroll", "--to", "yaml")
    assert "name: émoji🙂" in table.stdout, table.stdout
    assert yaml.safe_load(table.stdout)["operations"][0]["create_table"]["name"] == "émoji🙂"


def test_a_file_with_a_byte_order_mark_reads_as_the_same_migration(tmp_path: Path) -> None:
    """Some Windows editors put a byte order mark first in a UTF-8 file: it is not part of
    the text (it was PGD004 'unexpected character' at 1:1). Every syntax, ``convert`` of
    SQL, a file and stdin; a diagnostic's position is that of the text without it."""
    bom = "\ufeff"
    files = {"01_a.pgroll": "create table a (id int primary key);\n",
             "02_b.json": '{"operations": [{"create_table": {"name": "b", "columns": '
                          '[{"name": "id", "type": "int", "pk": true}]}}]}\n',
             "03_c.yaml": "operations:\n- create_table:\n    name: c\n    columns:\n"
                          "    - name: id\n      type: int\n      pk: true\n"}
    for name, text in files.items():
        write(tmp_path / "m" / name, bom + text)
    checked = run(tmp_path, "validate", "m")
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert run(tmp_path, "fmt", "--check", "m/01_a.pgroll").returncode == 0
    write(tmp_path / "d.sql", bom + "CREATE TABLE d (id int PRIMARY KEY);\n")
    for source, stdin in (("d.sql", ""), ("-", bom + "CREATE TABLE d (id int PRIMARY KEY);\n")):
        converted = run(tmp_path, "convert", source, "--to", "dsl", stdin=stdin)
        assert converted.returncode == 0 and "create table d" in converted.stdout, \
            converted.stdout + converted.stderr
    write(tmp_path / "bad" / "01_x.pgroll", bom + "create table x (id int primary key;\n")
    bad = run(tmp_path, "validate", "bad")
    assert bad.returncode == 1 and "01_x.pgroll:1:35: error[PGD001]" in bad.stdout + bad.stderr
