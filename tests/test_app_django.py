"""pgroll_dsl.app with Django: two database aliases, the old and the new version.

Django's settings are configured in this process (once; nothing else of Django is needed),
and the aliases come from a ``ConnectionHandler`` of the test's own, so no global
``DATABASES`` is touched. One instance takes its version from ``OPTIONS``, the other from a
``connection_created`` receiver limited to its alias, and then the other way round.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import django
import pytest
from django.conf import settings
from django.db.backends.signals import connection_created
from django.db.utils import ConnectionHandler
from psycopg.conninfo import conninfo_to_dict

from pgroll_dsl.app import django as app_django
from tests.app_scenario import Run, after_complete, exercise, migration_in_progress
from tests.live_helpers import Connection, dsn_of


@pytest.fixture(scope="module", autouse=True)
def _django() -> Iterator[None]:
    if not settings.configured:
        settings.configure(DATABASES={}, INSTALLED_APPS=[], USE_TZ=True)
        django.setup()
    yield


def _database(dsn: str, options: dict[str, Any]) -> dict[str, Any]:
    params = conninfo_to_dict(dsn)
    return {"ENGINE": "django.db.backends.postgresql", "NAME": params.get("dbname"),
            "USER": params.get("user", ""), "PASSWORD": params.get("password", ""),
            "HOST": params.get("host", ""), "PORT": params.get("port", ""),
            "OPTIONS": options}


def _run(connection: Any) -> Run:
    def run(statement: str, params: tuple[Any, ...]) -> list[tuple[Any, ...]]:
        with connection.cursor() as cursor:
            cursor.execute(statement, params)
            return [tuple(r) for r in cursor.fetchall()] if cursor.description else []
    return run


@pytest.mark.parametrize("by_options", ["old", "new"])
def test_old_and_new_aliases_side_by_side(pg_dsn: str, pg_conn: Connection, tmp_path: Path,
                                          by_options: str) -> None:
    with migration_in_progress(dsn_of(pg_dsn, pg_conn), tmp_path) as scenario:
        versions = {"old": scenario.old, "new": scenario.new}
        alias = {"old": "default", "new": "new"}  # Django wants a "default"
        by_signal = "new" if by_options == "old" else "old"
        handler = ConnectionHandler({
            alias[by_options]: _database(scenario.dsn,
                                         app_django.database_options(versions[by_options])),
            alias[by_signal]: _database(scenario.dsn, {}),
        })
        receiver = app_django.use_version_schema(versions[by_signal], alias=alias[by_signal])
        try:
            exercise(_run(handler["default"]), _run(handler["new"]))
            handler["new"].close()  # a new connection after complete: still the new version
            scenario.complete()
            after_complete(_run(handler["new"]))
        finally:
            connection_created.disconnect(receiver)
            handler.close_all()


def test_database_options_keep_other_options() -> None:
    options = app_django.database_options("public_02", "public", sslmode="disable")
    assert options == {"sslmode": "disable",
                       "options": "-c search_path=public_02,public"}
