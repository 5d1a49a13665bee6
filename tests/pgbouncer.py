"""A throwaway PgBouncer in front of a test database, for tests/test_pooler.py.

Many hosted PostgreSQL offerings hand out a PgBouncer in transaction mode, where each
transaction of a client may run on another server connection; the live executor must notice
that (``pgroll_dsl/backends/one_session.py``). A mock pooler would only assert what we think
PgBouncer does, so the tests run the real one: listening on 127.0.0.1 on a free port (picked
again if another process takes it first), no Unix socket, trusting the test server's user,
its files and log in the test's temporary directory. PgBouncer refuses to run as root: when
the tests are root (containers, CI), it is started with ``-u nobody``, after it has read its
configuration.

Where no ``pgbouncer`` program is installed the tests that need one are skipped (the only
skip of the live tests: CI installs it, see .ci/run).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
import time
from pathlib import Path
from typing import Any

import psycopg
from psycopg.conninfo import conninfo_to_dict, make_conninfo

Connection = psycopg.Connection[tuple[Any, ...]]

_SEARCHED = ("/usr/sbin", "/usr/local/sbin", "/usr/bin")  # Debian installs it in /usr/sbin
_ATTEMPTS = 3
_READY_S = 10.0


def program() -> str | None:
    """The ``pgbouncer`` program on PATH or in the system's sbin directories, else None."""
    path = os.pathsep.join([os.environ.get("PATH", ""), *_SEARCHED])
    return shutil.which("pgbouncer", path=path)


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _plain(value: object) -> str:
    """A value of the pooler's configuration: the test server's, never quoted or spaced."""
    text = str(value)
    assert text and not any(c in text for c in " '\"=\\\n"), text
    return text


class Pooler:
    """A PgBouncer with one database, ``dsn``'s, in ``mode`` (transaction, session, ...).

    ``pool_size`` server connections at most; ``round_robin`` hands them out in turn
    (``server_round_robin = 1``), where PgBouncer's default reuses the one released last.
    """

    def __init__(self, dsn: str, directory: Path, *, mode: str, pool_size: int = 2,
                 round_robin: bool = False) -> None:
        self.target = conninfo_to_dict(dsn)
        self.directory = directory
        self.mode = mode
        self.pool_size = pool_size
        self.round_robin = round_robin
        self.port = 0
        self._process: subprocess.Popen[bytes] | None = None

    @property
    def dsn(self) -> str:
        """The same database, through the pooler."""
        return make_conninfo(host="127.0.0.1", port=self.port, dbname=self.target["dbname"],
                             user=self.target.get("user", ""))

    @property
    def log(self) -> Path:
        """PgBouncer's log (its stderr)."""
        return self.directory / "pgbouncer.log"

    def _config(self) -> Path:
        target = self.target
        server = " ".join(f"{key}={_plain(target[key])}"
                          for key in ("host", "port", "dbname", "user", "password")
                          if target.get(key))
        users = self.directory / "users.txt"
        users.write_text(f'"{_plain(target["user"])}" ""\n', encoding="utf-8")
        config = self.directory / "pgbouncer.ini"
        config.write_text("\n".join([
            "[databases]",
            f"{_plain(target['dbname'])} = {server}",
            "[pgbouncer]",
            "listen_addr = 127.0.0.1",
            f"listen_port = {self.port}",
            "unix_socket_dir =",
            "auth_type = trust",
            f"auth_file = {users}",
            f"pool_mode = {self.mode}",
            f"default_pool_size = {self.pool_size}",
            "max_client_conn = 50",
            f"server_round_robin = {int(self.round_robin)}",
            "",
        ]), encoding="utf-8")
        return config

    def start(self) -> None:
        """Start PgBouncer; return once it lets a client in (it opens server connections then)."""
        found = program()
        assert found is not None, "no pgbouncer program"
        for _attempt in range(_ATTEMPTS):
            self.port = _free_port()
            config = self._config()
            # As root PgBouncer reads its configuration, then runs as nobody.
            command = [found, *(["-u", "nobody"] if os.geteuid() == 0 else []), str(config)]
            with self.log.open("ab") as log:
                self._process = subprocess.Popen(command, stdin=subprocess.DEVNULL,
                                                 stdout=subprocess.DEVNULL, stderr=log)
            if self._ready():
                return
            self.stop()
        raise RuntimeError(f"PgBouncer did not start; its log:\n{self.log.read_text()[-3000:]}")

    def _ready(self) -> bool:
        deadline = time.monotonic() + _READY_S
        while time.monotonic() < deadline:
            assert self._process is not None
            if self._process.poll() is not None:
                return False  # the port was taken meanwhile, say
            with contextlib.suppress(psycopg.OperationalError):
                psycopg.connect(self.dsn, connect_timeout=2).close()
                return True
            time.sleep(0.05)
        return False

    def stop(self) -> None:
        """Stop PgBouncer, which closes its server connections (their sessions end)."""
        process, self._process = self._process, None
        if process is None or process.poll() is not None:
            return
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()

    def __enter__(self) -> Pooler:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def backend_pid(conn: Connection) -> int:
    """The server session the connection's next transaction ran in."""
    row = conn.execute("SELECT pg_catalog.pg_backend_pid()").fetchone()
    assert row is not None
    return int(row[0])


def take_session(dsn: str, pid: int, timeout: float = 20.0) -> Connection:
    """A client of the pool that holds server session ``pid`` in an open transaction.

    It asks until the pooler hands it that session (free between two transactions of the
    client that had it); meanwhile that client runs on another one.
    """
    conn = psycopg.connect(dsn, prepare_threshold=None)  # a transaction from the first query
    deadline = time.monotonic() + timeout
    while backend_pid(conn) != pid:
        conn.rollback()
        if time.monotonic() > deadline:
            conn.close()
            raise AssertionError(f"the pooler did not hand out server session {pid}")
        time.sleep(0.002)
    return conn
