"""The unit a file holds: a named, ordered list of operations."""

from __future__ import annotations

from dataclasses import dataclass, field

from pgroll_dsl.ir.names import Node
from pgroll_dsl.ir.ops import Operation


@dataclass(frozen=True, slots=True)
class Comment:
    """A DSL comment and the line it starts on; kept so that ``fmt`` never drops one."""

    line: int
    text: str


@dataclass(frozen=True, slots=True, kw_only=True)
class Migration(Node):
    """``name`` is the file stem, as in pgroll (a top-level ``name`` key is rejected)."""

    name: str
    operations: tuple[Operation, ...]
    version_schema: str | None = None
    path: str | None = field(default=None, compare=False)
    comments: tuple[Comment, ...] = field(default=(), compare=False, repr=False)
