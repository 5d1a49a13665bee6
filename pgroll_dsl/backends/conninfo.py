"""How pgroll-dsl connects: the connection string of an open connection, the encoding.

The executor (and a live catalog read) opens connections of its own: the migration session
needs autocommit, its own settings and a session-level run lock, and backfill workers open
more. So a caller's connection names the database; it is never used (nor changed) itself.
"""

from __future__ import annotations

import configparser
import os
from pathlib import Path
from typing import Any

import psycopg
from psycopg.conninfo import conninfo_to_dict, make_conninfo


def conninfo_of(conn: psycopg.Connection[Any]) -> str:
    """``conn``'s connection parameters, its password included (``info.dsn`` leaves it out).

    Raises ``ConnectionError`` for a closed connection, whose parameters psycopg no longer
    gives (its own ``OperationalError`` is not an error the API promises).
    """
    try:
        password = conn.info.password
        return make_conninfo(conn.info.dsn, **({"password": password} if password else {}))
    except psycopg.Error as err:
        raise ConnectionError(f"cannot read the connection's parameters: {err}") from None


# Every connection of ours reads and writes UTF-8, whatever the client_encoding of the role or
# the database: a LATIN1 default cannot carry a table or a column named in another script
# (reading the catalog failed with "has no equivalent in encoding"). A connection parameter,
# so the server applies it over their settings from the first statement.
ENCODING = "UTF8"


# How long a connection may take to open where the URL (``connect_timeout``) and the
# environment (``PGCONNECT_TIMEOUT``) say nothing: libpq's default is to wait forever, and a
# server that accepts the TCP connection and never answers (a host half down, a stuck
# proxy) kept a command waiting with no word.
CONNECT_TIMEOUT_S = 10


def connect_timeout(url: str) -> dict[str, Any]:
    """``connect_timeout`` for ``psycopg.connect``, unless the URL or the environment sets it.

    psycopg bounds the wait itself, by the URL's or ``PGCONNECT_TIMEOUT``'s value, and never
    reads a connection service file: one the service names is passed on (it waited 10 s
    where the service said 2).
    """
    try:
        params = conninfo_to_dict(url)
    except psycopg.Error:
        params = {}  # psycopg.connect says what is wrong with it
    if "connect_timeout" in params or os.environ.get("PGCONNECT_TIMEOUT"):
        return {}
    service = params.get("service") or os.environ.get("PGSERVICE")
    given = _service_setting(str(service), "connect_timeout") if service else None
    return {"connect_timeout": given if given is not None else CONNECT_TIMEOUT_S}


def _service_setting(service: str, key: str) -> str | None:
    """What the connection service file's section ``service`` sets ``key`` to, if anything.

    The files libpq reads, as it finds them: ``PGSERVICEFILE`` (else ``~/.pg_service.conf``),
    then ``PGSYSCONFDIR/pg_service.conf``; the first that has the section is the one. (A
    libpq built with another system directory is not looked at.)
    """
    files = [Path(os.environ.get("PGSERVICEFILE") or Path.home() / ".pg_service.conf")]
    if os.environ.get("PGSYSCONFDIR"):
        files.append(Path(os.environ["PGSYSCONFDIR"]) / "pg_service.conf")
    for path in files:
        parser = configparser.ConfigParser(interpolation=None, strict=False)
        try:
            parser.read_string(path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, configparser.Error):
            continue
        if parser.has_section(service):
            return parser.get(service, key, fallback=None)
    return None


def connect_to_read(url: str) -> psycopg.Connection[Any]:
    """A short look at the database (its catalog, history, statistics): autocommit, UTF-8."""
    return psycopg.connect(url, autocommit=True, client_encoding=ENCODING,
                           **connect_timeout(url))
