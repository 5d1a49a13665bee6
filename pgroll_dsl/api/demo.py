"""What ``pgroll-dsl try`` shows, as functions: a throwaway server and both versions at work.

``EmbeddedServer`` is a PostgreSQL in a temporary directory (``embedded.py``). On a
``Migrator`` of it, ``prepare`` (before start) seeds each empty table the migration changes,
``during`` (between start and complete) writes a row through the old version and one through
the new, and reads every row back through both; ``version_tables`` is what a version schema
shows. The rows are ``backends/demo.py``'s (``Shown``); no terminal here.
"""

from __future__ import annotations

from pgroll_dsl import ir
from pgroll_dsl.api.live import Migrator, _translated
from pgroll_dsl.backends import demo
from pgroll_dsl.backends.demo import SEED_ROWS, Prepared, Shown
from pgroll_dsl.embedded import EmbeddedServer, EmbeddedUnavailable, psql_path


def prepare(migrator: Migrator, migration: ir.Migration, old: str | None) -> Prepared:
    """Before start: which tables ``migration`` changes, and seed rows in the empty ones.

    ``old`` is the version schema clients use now (``Migrator.current_version_schema``);
    None writes nothing.
    """
    with _translated():
        return demo.prepare(migrator._runner.conn, migrator.dsn, migrator.session.schema,
                            migration, old)


def during(migrator: Migrator, prepared: Prepared, old: str, new: str) -> tuple[Shown, ...]:
    """Between start and complete: a row through each version, and what each version reads."""
    with _translated():
        return demo.during(migrator._runner.conn, migrator.dsn, migrator.session.schema,
                           prepared, old, new)


def version_tables(migrator: Migrator, version_schema: str) -> dict[str, str]:
    """What a version schema shows clients: each view and its columns, comma-separated."""
    from pgroll_dsl.backends.live_catalog import version_tables as listed

    with _translated():
        return dict(listed(migrator._runner.conn, version_schema))


__all__ = ["SEED_ROWS", "EmbeddedServer", "EmbeddedUnavailable", "Prepared", "Shown", "during",
           "prepare", "psql_path", "version_tables"]
