"""Point an application at one version schema of a migrated database.

During a migration two versions of the schema work at once, each a schema of views
(``public_01_create_users``, ``public_02_rename_name``): an application instance deployed
with one version of the code puts that version's schema in its ``search_path`` and sees the
tables as that code expects them, whatever the other instances use.

Choose the version schema once, when the instance starts (never per connection: an old
instance must keep its old version while a migration is in progress):

- ``version_schema("02_rename_name")``: a version named by its migration;
- ``latest_version_schema(url)``: the newest one in the database's migration history;
- ``directory_version_schema("migrations/")``: the one the last file of the application's
  own migrations directory creates, with no database read (the instance is deployed with
  the migrations it was built for).

Then hand it to the driver's helper: ``app.sqlalchemy``, ``app.django``, ``app.psycopg``
(psycopg and psycopg_pool). Each imports its library only when it is imported itself, so
the product needs none of them. ``connection_options`` is the libpq form that any libpq
client takes (``psycopg.connect(url, **options)``, Django's ``OPTIONS``), and
``connection_url`` the same in a connection string.
"""

from __future__ import annotations

from typing import TypedDict

from pgroll_dsl.api import directory_version_schema, latest_version_schema
from pgroll_dsl.catalog.derived import version_schema as _version_schema
from pgroll_dsl.sql.quoting import quote_name, search_path_option


def version_schema(migration: str, schema: str = "public") -> str:
    """The version schema of ``migration`` (its name, or its ``version_schema``) on ``schema``."""
    return _version_schema(schema, migration)


def search_path(version: str, *then: str) -> str:
    """The ``search_path`` value: the version schema first, then ``then``.

    Each name is quoted where PostgreSQL would otherwise fold or misread it.
    """
    return ", ".join(quote_name(name) for name in (version, *then))


def search_path_statement(version: str, *then: str) -> str:
    """``SET search_path TO ...`` for the version schema (and ``then`` after it)."""
    return f"SET search_path TO {search_path(version, *then)}"


class ConnectionOptions(TypedDict):
    """libpq's ``options`` keyword, typed: ``psycopg.connect(url, **options)`` type-checks.

    (As a ``dict[str, str]``, mypy matched its values against every keyword ``connect``
    takes, ``autocommit: bool`` among them, and refused the call the docs show.)
    """

    options: str


def connection_options(version: str, *then: str, given: str | None = None
                       ) -> ConnectionOptions:
    """The libpq ``options`` that set the ``search_path`` when a connection opens.

    The value is the session's default, so ``RESET search_path`` or ``DISCARD ALL`` (a pool
    resetting a connection) keeps the version schema. ``given``: the caller's own libpq
    options (a ``statement_timeout``...), kept before it (``search_path_option``).
    """
    return {"options": search_path_option([version, *then], given)}


def connection_url(url: str, version: str) -> str:
    """``url`` (a URL or a ``key=value`` string) whose connections use the version schema.

    What ``pgroll-dsl latest url`` prints: libpq's ``options`` added to the string, for a
    client configured by one connection string (``DATABASE_URL``). Raises ``ValueError``
    when ``url`` does not parse.
    """
    from pgroll_dsl.backends.commands import search_path_url

    return search_path_url(url, version)


__all__ = ["ConnectionOptions", "connection_options", "connection_url", "directory_version_schema",
           "latest_version_schema", "search_path", "search_path_statement", "version_schema"]
