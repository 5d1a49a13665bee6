"""How pgroll-dsl connects: the connection string of an open connection, the encoding.

The executor (and a live catalog read) opens connections of its own: the migration session
needs autocommit, its own settings and a session-level run lock, and backfill workers open
more. So a caller's connection names the database; it is never used (nor changed) itself.
"""

from __future__ import annotations

import os
from typing import Any

import psycopg
from psycopg.conninfo import conninfo_to_dict, make_conninfo


def conninfo_of(conn: psycopg.Connection[Any]) -> str:
    """``conn``'s connection parameters, its password included (``info.dsn`` leaves it out)."""
    password = conn.info.password
    return make_conninfo(conn.info.dsn, **({"password": password} if password else {}))


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
    """``connect_timeout`` for ``psycopg.connect``, unless ``url`` or the environment sets it."""
    try:
        given = "connect_timeout" in conninfo_to_dict(url)
    except psycopg.Error:
        given = False  # psycopg.connect says what is wrong with it
    if given or os.environ.get("PGCONNECT_TIMEOUT"):
        return {}
    return {"connect_timeout": CONNECT_TIMEOUT_S}


def connect_to_read(url: str) -> psycopg.Connection[Any]:
    """A short look at the database (its catalog, history, statistics): autocommit, UTF-8."""
    return psycopg.connect(url, autocommit=True, client_encoding=ENCODING,
                           **connect_timeout(url))
