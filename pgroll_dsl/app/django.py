"""Django: a database connection on a version schema, by settings or by signal.

Settings (the setting is the connection's default, kept across ``RESET``)::

    DATABASES = {"default": {..., "OPTIONS": app.django.database_options(version)}}

or a ``connection_created`` receiver, e.g. in an ``AppConfig.ready``::

    app.django.use_version_schema(version)             # every alias
    app.django.use_version_schema(version, alias="default")
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.db.backends.signals import connection_created

from pgroll_dsl.app import connection_options, search_path_statement


def database_options(version: str, *then: str, **options: Any) -> dict[str, Any]:
    """A database's ``OPTIONS`` with the version schema's ``search_path`` (and ``options``).

    Works with Django's psycopg and psycopg2 backends (libpq's ``options``). The caller's
    own libpq ``options`` (``options="-c statement_timeout=5000"``) are kept, the search
    path after them.
    """
    given = options.get("options")
    return {**options, **connection_options(
        version, *then, given=given if isinstance(given, str) else None)}


def use_version_schema(version: str, *then: str, alias: str | None = None
                       ) -> Callable[..., None]:
    """Set the ``search_path`` on each new connection (of ``alias`` only, if given).

    Returns the receiver (``connection_created.disconnect(receiver)`` removes it).
    """
    statement = search_path_statement(version, *then)

    def receiver(sender: Any, connection: Any, **_kwargs: Any) -> None:
        if connection.vendor != "postgresql" or alias not in (None, connection.alias):
            return
        with connection.cursor() as cursor:
            cursor.execute(statement)
        if not connection.get_autocommit():
            # With ``AUTOCOMMIT: False`` the SET opened the connection's first transaction:
            # committed here (as Django's own time zone setting is), or the application's
            # first rollback would undo it and send every later query to the base schema.
            connection.connection.commit()

    connection_created.connect(receiver, weak=False)
    return receiver


__all__ = ["database_options", "use_version_schema"]
