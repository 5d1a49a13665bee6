"""``--backfill-workers N`` where the server lets the role open fewer connections than that.

A role's ``CONNECTION LIMIT`` (or the database's, or ``max_connections`` nearly used up) is
common on shared servers. The backfill used to fail the whole start when one worker's
connection was refused ("too many connections for role"), although every other step runs on
the one connection the migration already has. It now runs on the connections it got, or on
its own when it got none, and says so in one warning line. A client writes through the old
version during the backfill; every row ends with the value ``up`` gives, whatever it wrote.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from psycopg.conninfo import make_conninfo

from tests import fault_model as fm
from tests.live_helpers import Connection, dsn_of, owner_of_t

ROWS = 3000
WORKERS = 4
MIGRATION = "alter table t add w bigint not null up `v * 2`;\n"


@pytest.fixture
def limited(pg_dsn: str, pg_conn: Connection) -> Iterator[tuple[str, str]]:
    """(the superuser's DSN, a DSN of the table's owner, a role that is not a superuser)."""
    dsn = dsn_of(pg_dsn, pg_conn)
    role = f"limited_{pg_conn.info.backend_pid}"
    with owner_of_t(pg_conn, dsn, role, ROWS):
        yield dsn, role


def _writer(dsn: str, stop: threading.Event, wrote: list[int]) -> threading.Thread:
    """A client of the old version that keeps changing v of rows across the whole table."""

    def run() -> None:
        with psycopg.connect(dsn, autocommit=True) as client:
            n = 0
            while not stop.is_set():
                key = 1 + (n * 997) % ROWS
                client.execute("UPDATE public.t SET v = v + 1 WHERE id = %s", (key,))
                wrote.append(key)
                n += 1

    thread = threading.Thread(target=run, name="old-version writer")
    thread.start()
    return thread


@pytest.mark.parametrize(("limit", "runs_on"), [
    (3, "2 of them"),  # the migration's connection and two workers
    (1, "the migration's own connection"),  # room for the migration's connection only
])
def test_backfill_runs_on_the_connections_the_server_allows(
        limited: tuple[str, str], pg_conn: Connection, tmp_path: Path, limit: int,
        runs_on: str) -> None:
    dsn, role = limited
    as_role = make_conninfo(dsn, user=role)
    assert fm.cli(["init"], as_role).returncode == 0
    pg_conn.execute(f'ALTER ROLE "{role}" CONNECTION LIMIT {limit}')
    path = fm.write_file(tmp_path, "01_add_w", MIGRATION)
    stop = threading.Event()
    wrote: list[int] = []
    writer = _writer(dsn, stop, wrote)
    try:
        result = fm.cli(["start", str(path), "--backfill-workers", str(WORKERS),
                         "--backfill-batch-size", "100", "--backfill-batch-time", "0",
                         "--backfill-batch-delay", "0.005"], as_role)
    finally:
        stop.set()
        writer.join()
    assert fm.no_traceback(result) is None, result.describe()
    assert result.returncode == 0, result.describe()
    refused = (f"warning: backfill of t: the server refused worker connection {limit} of "
               f"{WORKERS}")
    assert refused in result.stderr, result.describe()
    assert "too many connections for role" in result.stderr, result.describe()
    assert f"the backfill runs on {runs_on}" in result.stderr, result.describe()
    assert wrote, "the client wrote nothing during start"
    # Through the new version, before complete: every row has its copy, from the row's
    # current value (the client's writes included).
    version = fm.cli(["latest"], dsn).stdout.strip()
    wrong = pg_conn.execute(f'SELECT count(*) FROM "{version}".t WHERE w IS DISTINCT FROM v * 2'
                            ).fetchone()
    assert wrong == (0,)
    pg_conn.execute(f'ALTER ROLE "{role}" CONNECTION LIMIT -1')
    done = fm.cli(["complete"], as_role)
    assert done.returncode == 0, done.describe()
    rows = pg_conn.execute("SELECT count(*), count(*) FILTER (WHERE w = v * 2) FROM t").fetchone()
    assert rows == (ROWS, ROWS)
