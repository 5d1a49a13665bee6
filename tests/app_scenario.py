"""Two application instances side by side during a migration, for the tests of pgroll_dsl.app.

The "old" instance was deployed before the migration: it read the latest version schema from
the database at start-up (``public_01_items``: ``title``, ``price`` as text). The "new" one
is deployed with the migrations directory and takes its last version schema offline
(``public_02_price_int``: ``name``, ``price`` as an integer). While ``02`` is in progress
each writes a row and must read the other's, converted by the migration's ``up``/``down``;
after complete, the new instance sees every row.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psycopg

from pgroll_dsl import api, app

SETUP = "create table items (id int primary key, title text not null, price text);\n"
CHANGE = ("alter table items rename title to name;\n"
          "alter table items alter price type int up `CAST(price AS integer)` "
          "down `CAST(price AS text)`;\n")
OLD = "public_01_items"
NEW = "public_02_price_int"

# Reads and writes of one instance, whatever the library: (sql, params) -> rows.
Run = Callable[[str, tuple[Any, ...]], list[tuple[Any, ...]]]


@dataclass(frozen=True)
class Scenario:
    """The database, its migrations, and the version schemas each instance resolved."""

    dsn: str
    directory: Path
    old: str
    new: str
    complete: Callable[[], object]  # completes 02 (done on the way out if not called)


@contextmanager
def migration_in_progress(dsn: str, tmp_path: Path) -> Iterator[Scenario]:
    """01 applied and seeded, 02 started (backfilled) for the body, then completed."""
    folder = tmp_path / "migrations"
    folder.mkdir()
    (folder / "01_items.pgroll").write_text(SETUP, encoding="utf-8")
    with api.connect(dsn, backfill=api.Backfill(batch_size=2, batch_time_ms=0)) as db:
        db.init()
        db.start(folder / "01_items.pgroll", complete=True)
        old = app.latest_version_schema(dsn)  # the old instance, deployed now
        with psycopg.connect(dsn, autocommit=True, **app.connection_options(old)) as conn:
            conn.execute("INSERT INTO items VALUES (1, 'seeded', '5')")
        (folder / "02_price_int.pgroll").write_text(CHANGE, encoding="utf-8")
        db.start(folder / "02_price_int.pgroll")
        new = app.directory_version_schema(folder)  # the new instance, deployed with 02
        assert (old, new) == (OLD, NEW)
        assert app.latest_version_schema(dsn) == NEW
        yield Scenario(dsn, folder, old, new, db.complete)
        if db.status().status == "In progress":
            db.complete()


def exercise(old: Run, new: Run) -> None:
    """Each instance writes, then reads its own rows and the other's (row by row)."""
    old("INSERT INTO items (id, title, price) VALUES (%s, %s, %s)", (2, "from old", "7"))
    new("INSERT INTO items (id, name, price) VALUES (%s, %s, %s)", (3, "from new", 8))
    seen = old("SELECT id, title, price FROM items ORDER BY id", ())
    assert seen == [(1, "seeded", "5"), (2, "from old", "7"), (3, "from new", "8")], seen
    seen = new("SELECT id, name, price FROM items ORDER BY id", ())
    assert seen == [(1, "seeded", 5), (2, "from old", 7), (3, "from new", 8)], seen
    old("UPDATE items SET price = %s WHERE id = %s", ("70", 2))
    new("UPDATE items SET price = %s WHERE id = %s", (80, 3))
    seen = [*old("SELECT price FROM items WHERE id = 3", ()),
            *new("SELECT price FROM items WHERE id = 2", ())]
    assert seen == [("80",), (70,)], seen
    # each works in its own version schema
    seen = [*old("SELECT current_schema()", ()), *new("SELECT current_schema()", ())]
    assert seen == [(OLD,), (NEW,)], seen


def after_complete(new: Run) -> None:
    """Once complete, the new version has every row, as written by either instance."""
    seen = new("SELECT id, name, price FROM items ORDER BY id", ())
    assert seen == [(1, "seeded", 5), (2, "from old", 70), (3, "from new", 80)], seen
