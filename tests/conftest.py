"""Shared test setup: the live PostgreSQL plugin and the conformance corpus location."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from syrupy.assertion import SnapshotAssertion
from syrupy.extensions.single_file import SingleFileSnapshotExtension, WriteMode

from tests.live_helpers import Connection, dsn_of

pytest_plugins = ["tests.postgres", "pytester"]

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared"
CONFORMANCE = SHARED / "conformance"
EXAMPLES = CONFORMANCE / "pgroll-examples"


def conformance_files() -> list[Path]:
    """pgroll's example migrations, in the order they are applied (file name order)."""
    if not EXAMPLES.is_dir():
        raise RuntimeError(f"conformance corpus not found at {EXAMPLES}: check out ../shared")
    return sorted(EXAMPLES.glob("*.yaml"), key=lambda p: p.name)


def conformance_params() -> list[object]:
    """Parametrize over the corpus; the test id is the file stem."""
    return [pytest.param(p, id=p.stem) for p in conformance_files()]


class DSLSnapshot(SingleFileSnapshotExtension):
    """One reviewable ``.pgroll`` golden file per test case, diffable in pull requests."""

    file_extension = "pgroll"
    _write_mode = WriteMode.TEXT


@pytest.fixture
def dsl_snapshot(snapshot: SnapshotAssertion) -> SnapshotAssertion:
    """Snapshots stored as DSL files (``pytest --snapshot-update`` accepts changes)."""
    return snapshot.use_extension(DSLSnapshot)


@pytest.fixture
def admin_dsn(pg_dsn: str, pg_conn: Connection) -> str:
    """A connection string for the test's own database (``pg_dsn`` names the server's)."""
    return dsn_of(pg_dsn, pg_conn)


@pytest.fixture
def silent_server() -> Iterator[int]:
    """A port that accepts connections and never answers (a host behind a firewall that
    swallows the traffic, a wrong service on the port); its number."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(16)
    listener.settimeout(0.2)
    held: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        while not stop.is_set():
            try:
                held.append(listener.accept()[0])
            except OSError:
                continue

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    try:
        yield listener.getsockname()[1]
    finally:
        stop.set()
        thread.join()
        for conn in held:
            conn.close()
        listener.close()
