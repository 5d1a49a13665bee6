"""The settings of every session that runs a plan, whatever its role or database says.

DBAs put defaults on roles and databases (``ALTER ROLE/DATABASE ... SET``) for their
applications: a statement timeout, another isolation level, a legacy client encoding. A
migration's session inherits them, and each of those below broke a migration
(tests/test_backfill_adversarial.py, tests/test_review_session_settings.py,
tests/test_plan_live.py). So the live executor's connections (``backends/live.connect``) and
the plan file's header (``render/plan_sql``, for psql) both set them: the same list, here.
"""

from __future__ import annotations

from dataclasses import dataclass

from pgroll_dsl.sql.quoting import quote_literal


@dataclass(frozen=True, slots=True)
class Setting:
    """One ``SET``: the setting, its value, and the first server version that has it."""

    name: str
    value: str
    since: int = 0  # server_version_num; an older server has no such setting

    def statement(self) -> str:
        """``SET name = 'value'``."""
        return f"SET {self.name} = {quote_literal(self.value)}"


SETTINGS = (
    # pgroll's marker: its event trigger (installed by init) would record each DDL statement
    # of ours as an inferred migration of its own, the plan's copies and triggers included.
    Setting("pgroll.no_inferred_migrations", "TRUE"),
    # Literals are quoted for standard strings: a backslash in a quoted comment or default
    # must not be read as an escape.
    Setting("standard_conforming_strings", "on"),
    # Long steps (the backfill is one statement, index builds, VALIDATE) must not be cut:
    # lock_timeout bounds every wait instead.
    Setting("statement_timeout", "0"),
    Setting("transaction_timeout", "0", since=170000),
    # The executor waits, idle, while backfill workers run; its run lock goes with the
    # session. (idle_in_transaction_session_timeout stays: nothing of ours is idle inside a
    # transaction, and a process stuck there holding locks is what it is for.)
    Setting("idle_session_timeout", "0", since=140000),
    # A backfill batch re-checks the marker of a row a client wrote while it waited, as READ
    # COMMITTED does; under REPEATABLE READ or SERIALIZABLE it fails with a serialization
    # error instead, and runs again from its start.
    Setting("default_transaction_isolation", "read committed"),
    # The backfill reports its progress in NOTICEs, and author SQL its warnings.
    Setting("client_min_messages", "notice"),
    # A policy that applies to the table's owner (FORCE ROW LEVEL SECURITY) would hide rows
    # from the backfill, whose copies stayed empty: such a query fails instead (and the live
    # start refuses the table first, backends/probe.hidden_rows).
    Setting("row_security", "off"),
    # An error a plan's block catches (a probe of a right the role lacks) must not end the
    # session.
    Setting("exit_on_error", "off"),
    # What the plan makes again (an index rebuilt for a type change) goes where a statement
    # without TABLESPACE puts it, the database's default, not the role's.
    Setting("default_tablespace", ""),
    # Key values pass through text to backfill workers: floats exactly.
    Setting("extra_float_digits", "3"),
)


def settings_for(server_version: int) -> tuple[Setting, ...]:
    """The settings a server of this version has."""
    return tuple(s for s in SETTINGS if server_version >= s.since)


__all__ = ["SETTINGS", "Setting", "settings_for"]
