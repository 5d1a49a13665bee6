"""The settings a plan is made with: what changes the plan but not its meaning.

A home of their own because every layer above the planner (the driver, the executor, the
CLI through them) builds them, and the planner's modules read them through ``Context``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True, slots=True, kw_only=True)
class PlanOptions:
    """Settings that change the plan but not its meaning."""

    schema: str = "public"
    # Rows in the first backfill batch, and the fewest in any; None: the first batch is what
    # fits ``batch_time_ms`` by the table's size (plan/backfill.py, ``_Body._estimate``).
    batch_size: int | None = None
    batch_delay: float = 0.0
    batch_time_ms: int = 50  # backfill batches are resized to take about this long; 0: fixed
    max_replica_lag_mb: int = 0  # the backfill waits while a replica is further behind; 0: never
    previous_version_schema: str | None = None
    security_invoker: bool = True  # PostgreSQL 15+: views run with the caller's rights
    optimize: bool = True
    version_schema: bool = True  # False: no version schema (pgroll's --use-version-schema)
    # False: one backfill pass after the views, as pgroll does, even where two would do
    # (plan/backfill.py): the new version then exists while the backfill runs.
    two_passes: bool = True

    @classmethod
    def for_server(cls, server_version: int | None, **options: Any) -> PlanOptions:
        """The options for a server of this version (``None``: offline, PostgreSQL 15+).

        The live executor and ``plan --postgres-url`` both plan through here, so that the
        plan printed for a server is the plan run on it.
        """
        # security_invoker views exist from PostgreSQL 15 on.
        invoker = server_version is None or server_version >= 150000
        return cls(security_invoker=invoker, **options)


