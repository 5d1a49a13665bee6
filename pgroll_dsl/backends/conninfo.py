"""How pgroll-dsl connects: the connection string of an open connection, the encoding.

The executor (and a live catalog read) opens connections of its own: the migration session
needs autocommit, its own settings and a session-level run lock, and backfill workers open
more. So a caller's connection names the database; it is never used (nor changed) itself.
"""

from __future__ import annotations

from typing import Any

import psycopg
from psycopg.conninfo import make_conninfo


def conninfo_of(conn: psycopg.Connection[Any]) -> str:
    """``conn``'s connection parameters, its password included (``info.dsn`` leaves it out)."""
    password = conn.info.password
    return make_conninfo(conn.info.dsn, **({"password": password} if password else {}))


# Every connection of ours reads and writes UTF-8, whatever the client_encoding of the role or
# the database: a LATIN1 default cannot carry a table or a column named in another script
# (reading the catalog failed with "has no equivalent in encoding"). A connection parameter,
# so the server applies it over their settings from the first statement.
ENCODING = "UTF8"


def connect_to_read(url: str) -> psycopg.Connection[Any]:
    """A short look at the database (its catalog, history, statistics): autocommit, UTF-8."""
    return psycopg.connect(url, autocommit=True, connect_timeout=10, client_encoding=ENCODING)
