"""A connection string for the database an open psycopg connection is on.

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
