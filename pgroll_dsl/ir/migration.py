"""The unit a file holds: a named, ordered list of operations."""

from __future__ import annotations

from dataclasses import dataclass, field

from pgroll_dsl.ir.names import Node
from pgroll_dsl.ir.ops import Operation


@dataclass(frozen=True, slots=True, kw_only=True)
class Migration(Node):
    """``name`` is the file stem, as in pgroll (a top-level ``name`` key is rejected)."""

    name: str
    operations: tuple[Operation, ...]
    version_schema: str | None = None
    path: str | None = field(default=None, compare=False)
