"""A URL that points at a hot standby: each command that writes says so and changes nothing.

After a failover, or with a connection string copied from a read replica's, an operator
runs pgroll-dsl against a standby. Its writes fail ("cannot execute INSERT in a read-only
transaction", "cannot execute LOCK TABLE during recovery"): init and start said only that,
and complete and rollback said to fix the cause and run them again, exit 3, as after a step
that failed half-way. Each one now says that the server is a standby and to run against the
primary, in one line, exit 1; what reads (status, plan) works on the standby as on the
primary. Not marked ``postgres``: the primary and its standby are servers of their own.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest
from psycopg.conninfo import make_conninfo

from pgroll_dsl.embedded import EmbeddedServer
from tests import fault_model as fm

STANDBY = ("the server is a standby (in recovery) and accepts no writes; run pgroll-dsl "
           "against the primary. Nothing was changed")
MIGRATION = "alter table t add w int not null up `v * 2`;\n"


@pytest.fixture(scope="module")
def pair() -> Iterator[tuple[str, str]]:
    """(the primary's DSN, its standby's), a table t of 100 rows on both."""
    with EmbeddedServer() as primary:
        with psycopg.connect(primary.dsn, autocommit=True) as conn:
            conn.execute("CREATE TABLE t (id bigint PRIMARY KEY, v int NOT NULL)")
            conn.execute("INSERT INTO t SELECT g, g FROM generate_series(1, 100) g")
        with EmbeddedServer(standby_of=primary) as standby:
            yield primary.dsn, standby.dsn


def _caught_up(primary: str, standby: str, timeout: float = 60) -> None:
    """Wait until the standby has replayed everything the primary wrote so far."""
    with psycopg.connect(primary, autocommit=True) as conn:
        row = conn.execute("SELECT pg_catalog.pg_current_wal_insert_lsn()::text").fetchone()
    assert row is not None
    deadline = time.monotonic() + timeout
    with psycopg.connect(standby, autocommit=True) as conn:
        while time.monotonic() < deadline:
            done = conn.execute("SELECT pg_catalog.pg_last_wal_replay_lsn() >= %s::pg_lsn",
                                (row[0],)).fetchone()
            if done is not None and done[0]:
                return
            time.sleep(0.05)
    raise AssertionError("the standby did not catch up")


def _one_line_refusal(result: fm.CliResult, phase: str | None = None) -> None:
    assert fm.no_traceback(result) is None, result.describe()
    assert result.returncode == 1, result.describe()
    lines = result.stderr.strip().splitlines()
    expected = f"error: {phase} failed: {STANDBY}" if phase else f"error: {STANDBY}"
    assert lines == [expected], result.describe()


def _status(dsn: str) -> dict[str, Any]:
    result = fm.cli(["status"], dsn)
    assert result.returncode == 0, result.describe()
    document: dict[str, Any] = json.loads(result.stdout)
    return document


def test_every_writing_command_on_a_standby_says_so(pair: tuple[str, str],
                                                    tmp_path: Path) -> None:
    primary, standby = pair
    path = fm.write_file(tmp_path, "01_add_w", MIGRATION)
    _one_line_refusal(fm.cli(["init"], standby), "init")
    assert fm.cli(["init"], primary).returncode == 0
    _caught_up(primary, standby)
    _one_line_refusal(fm.cli(["start", str(path)], standby))
    # Reading works on the standby: the plan against its catalog, and the status.
    planned = fm.cli(["plan", str(path), "--postgres-url", standby], standby)
    assert planned.returncode == 0, planned.describe()
    assert _status(standby)["status"] == "No migrations"

    started = fm.cli(["start", str(path)], primary)
    assert started.returncode == 0, started.describe()
    _caught_up(primary, standby)
    assert _status(standby)["status"] == "In progress"
    for phase in ("complete", "rollback"):
        _one_line_refusal(fm.cli([phase], standby), phase)
    # Nothing of it reached the primary: the migration is still there to complete.
    assert _status(primary)["status"] == "In progress"
    done = fm.cli(["complete"], primary)
    assert done.returncode == 0, done.describe()
    with psycopg.connect(make_conninfo(primary), autocommit=True) as conn:
        rows = conn.execute("SELECT count(*) FILTER (WHERE w = v * 2) FROM t").fetchone()
    assert rows == (100,)
