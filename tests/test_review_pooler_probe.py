"""A review of the second-connection check before a run's first step (Runner._session_shared).

Each test states the claim it checks; each failed on the commit that introduced the check
(2ddfdc5): a process with descriptors above 1023 (``select()``), a refused run whose clean-up
ran in another pooled session, a URL with two poolers behind it, a session pool with fewer
server connections than the run's workers. Real PostgreSQL and a real PgBouncer
(tests/pgbouncer.py); skipped without a pgbouncer, as test_pooler is.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import psycopg
import pytest

from tests.live_helpers import Connection, columns, make_runner, migration, query, schemas
from tests.pgbouncer import Pooler, program, take_session
from tests.test_pooler import ADD, ROWS, _advisory_locks, set_up

pytestmark = pytest.mark.skipif(program() is None, reason="no pgbouncer program installed")


@pytest.fixture
def direct(pg_dsn: str, pg_conn: Connection) -> str:
    return set_up(pg_dsn, pg_conn)


def _state(conn: Connection) -> tuple[object, ...]:
    return (query(conn, "SELECT name, done FROM pgroll.migrations ORDER BY created_at, name"),
            columns(conn, "t"), schemas(conn))


def _filled(conn: Connection) -> list[tuple[object, ...]]:
    return query(conn, "SELECT count(*) FILTER (WHERE w = id * 2), count(*) FROM t")


def _file(tmp_path: Path) -> Path:
    path = tmp_path / "02_w.pgroll"
    path.write_text(ADD)
    return path


# ---- select() and descriptors above 1023 -------------------------------------------------


def test_a_process_with_many_descriptors_open_can_still_migrate_directly(
        direct: str, pg_conn: Connection, tmp_path: Path) -> None:
    """Claim: directly against the server the check never stops a run. An application (a web
    server, say) with more than 1024 descriptors open gets the probe's socket above 1023, and
    select.select raises ValueError: every start fails, not as a PgrollDslError."""
    import pgroll_dsl

    held = [open(os.devnull) for _ in range(1100)]  # noqa: SIM115
    try:
        with pgroll_dsl.Migrator(direct) as migrator:
            migrator.start(_file(tmp_path))
            migrator.complete()
    finally:
        for f in held:
            f.close()
    assert _filled(pg_conn) == [(ROWS, ROWS)]


def test_the_cli_started_with_many_descriptors_open_runs_without_a_traceback(
        direct: str, pg_conn: Connection, tmp_path: Path) -> None:
    """The same from the CLI, started by a shell that leaves descriptors 3..1100 open."""
    script = ('for i in $(seq 3 1100); do eval "exec $i</dev/null"; done; '
              f'exec {sys.executable} -m pgroll_dsl start "$1" --postgres-url "$2" --complete')
    done = subprocess.run(["bash", "-c", script, "sh", str(_file(tmp_path)), direct],
                          capture_output=True, text=True, timeout=120)
    assert "Traceback" not in done.stderr, done.stderr[-800:]
    assert done.returncode == 0, done.stderr
    assert _filled(pg_conn) == [(ROWS, ROWS)]


# ---- the refusal's own clean-up runs in whatever session the pool picks --------------------


def test_a_refused_run_leaves_no_lock_when_a_client_takes_its_session_meanwhile(
        direct: str, pg_conn: Connection, tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    """Claim: refused, nothing changed, no lock left. An application client of the pool is
    handed the run's server session right after the second connection gave it back (before
    the run's unlock, which then runs elsewhere and does nothing). The run lock stays with
    that pooled server session (every later run, even direct, is refused naming it), and so
    do the run's settings (lock_timeout, pgroll.no_inferred_migrations) for the pool's
    clients. The hook only times a real client's transaction; pool and server are real."""
    import pgroll_dsl.backends.runner as runner_module
    from pgroll_dsl.backends.runner import CommandError

    real = runner_module.session_of_a_second_connection  # type: ignore[attr-defined]
    taken: list[psycopg.Connection] = []
    with Pooler(direct, tmp_path, mode="transaction", pool_size=3) as pooler:
        def probe_then_a_client(url: str, wait_s: float, query: str) -> int | None:
            pid = real(url, wait_s, query)
            if pid is not None:
                taken.append(take_session(pooler.dsn, pid))
            return pid

        monkeypatch.setattr(runner_module, "session_of_a_second_connection",
                            probe_then_a_client)
        before = _state(pg_conn)
        runner = make_runner(pooler.dsn, init=False)
        try:
            with pytest.raises(CommandError, match="nothing was changed"):
                runner.start(migration(ADD, "02_w"))
        finally:
            runner.close()
        assert _state(pg_conn) == before
        (app,) = taken
        settings = app.execute("SELECT current_setting('lock_timeout'), current_setting("
                               "'pgroll.no_inferred_migrations', true)").fetchone()
        left = _advisory_locks(pg_conn)
        app.rollback()
        app.close()
        assert left == [], f"run lock left in pooled session {left}"
        assert settings is not None and settings[0] == "0", settings  # the run's 500ms


# ---- a URL with several hosts --------------------------------------------------------------


def test_a_lone_run_through_load_balanced_transaction_pools_is_refused(
        direct: str, pg_conn: Connection, tmp_path: Path) -> None:
    """Claim: a lone run through a transaction pool is refused before its first step. Two
    PgBouncers in front of one server (an HA pair), the URL lists both with
    load_balance_hosts=random: the second connection lands on the other pool half the time,
    is handed another server session, and start runs through (exit 0). Ten tries."""
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    path = _file(tmp_path)
    with Pooler(direct, tmp_path / "a", mode="transaction") as a, \
            Pooler(direct, tmp_path / "b", mode="transaction") as b:
        url = (f"host=127.0.0.1,127.0.0.1 port={a.port},{b.port} dbname={a.target['dbname']} "
               f"user={a.target['user']} load_balance_hosts=random")
        before = _state(pg_conn)
        for attempt in range(10):
            done = subprocess.run([sys.executable, "-m", "pgroll_dsl", "start", str(path),
                                   "--postgres-url", url], capture_output=True, text=True,
                                  timeout=120)
            assert done.returncode == 1 and "handed this run's server session" in done.stderr, \
                (attempt, done.returncode, done.stderr[-500:])
            assert _state(pg_conn) == before


# ---- a session pool with fewer server connections than the run and its workers --------------


def test_a_session_pool_with_fewer_sessions_than_workers_does_not_hang(
        direct: str, pg_conn: Connection, tmp_path: Path) -> None:
    """Claim (for the probe; the workers have the same wait): through a session pool no run
    hangs. Pool of 2, --backfill-workers 2: the probe gives up after 2 s, but the second
    worker's connection waits for a server session forever (the same before the probe)."""
    with Pooler(direct, tmp_path, mode="session", pool_size=2) as pooler:
        began = time.monotonic()
        try:
            done = subprocess.run([sys.executable, "-m", "pgroll_dsl", "start",
                                   str(_file(tmp_path)), "--postgres-url", pooler.dsn,
                                   "--backfill-workers", "2", "--complete"],
                                  capture_output=True, text=True, timeout=60)
        except subprocess.TimeoutExpired:
            done = None
        assert done is not None, f"start still waiting after {time.monotonic() - began:.0f} s"
    assert done.returncode == 0, done.stderr
    assert _filled(pg_conn) == [(ROWS, ROWS)]
