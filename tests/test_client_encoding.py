"""A database whose sessions default to another client encoding than UTF-8.

Legacy databases often set ``client_encoding = 'LATIN1'`` (``ALTER DATABASE ... SET``) for
their old clients. pgroll-dsl's own connections then got LATIN1 too: reading a catalog that
names a table or a column in another script failed ("has no equivalent in encoding
LATIN1"), with a Python traceback, in ``plan --postgres-url``, ``start`` and every other
command that reads the catalog. Each of them connects in UTF-8 now
(``backends/conninfo.ENCODING``), whatever the database's default; the clients keep theirs.
"""

from __future__ import annotations

from pathlib import Path

import psycopg
import pytest
from psycopg import sql

from tests import fault_model as fm
from tests.live_helpers import Connection, dsn_of

TABLE = "товары"  # neither it nor the columns below exist in LATIN1
COLUMN = "名前"


@pytest.fixture
def latin1_database(pg_dsn: str, pg_conn: Connection) -> str:
    """The test's database, with a table named in Cyrillic, its sessions in LATIN1."""
    pg_conn.execute(sql.SQL("CREATE TABLE {} (id bigint PRIMARY KEY, {} text)").format(
        sql.Identifier(TABLE), sql.Identifier(COLUMN)))
    pg_conn.execute(sql.SQL("INSERT INTO {} SELECT g, 'v' || g FROM generate_series(1, 50) g")
                    .format(sql.Identifier(TABLE)))
    pg_conn.execute(sql.SQL("ALTER DATABASE {} SET client_encoding = 'LATIN1'").format(
        sql.Identifier(pg_conn.info.dbname)))
    return dsn_of(pg_dsn, pg_conn)


def test_every_command_reads_and_writes_names_in_utf8(
        latin1_database: str, pg_conn: Connection, tmp_path: Path) -> None:
    dsn = latin1_database
    with psycopg.connect(dsn) as client:  # a new session gets the database's default
        assert client.execute("SHOW client_encoding").fetchone() == ("LATIN1",)
    path = tmp_path / "01_add.pgroll"
    path.write_text(f'alter table "{TABLE}" add "{COLUMN}2" text not null default \'-\' '
                    f'up `"{COLUMN}" || \'名\'`;\n', encoding="utf-8")
    steps = [["init"], ["plan", str(path), "--postgres-url", dsn], ["start", str(path)],
             ["status", "--detail"], ["latest"], ["complete"], ["status"]]
    for args in steps:
        result = fm.cli(args, dsn)
        assert fm.no_traceback(result) is None, result.describe()
        assert result.returncode == 0, result.describe()
    assert '"status": "Complete"' in result.stdout
    rows = pg_conn.execute(sql.SQL("SELECT id, {}, {} FROM {} ORDER BY id").format(
        sql.Identifier(COLUMN), sql.Identifier(f"{COLUMN}2"), sql.Identifier(TABLE))).fetchall()
    assert len(rows) == 50
    assert all(new == f"{old}名" for _id, old, new in rows), rows[:3]
