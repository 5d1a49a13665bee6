"""The catalog: what the compiler knows of a PostgreSQL schema, and where that comes from.

Three sources, each a function returning a ``Catalog``: live introspection, a snapshot file,
and replay of earlier migrations (no database needed).
"""

from pgroll_dsl.catalog.model import (
    Catalog,
    Column,
    Constraint,
    EnumType,
    ExclusionElement,
    ForeignKey,
    Index,
    KeyOptions,
    Sequence,
    Table,
)

__all__ = ["Catalog", "Column", "Constraint", "EnumType", "ExclusionElement", "ForeignKey",
           "Index", "KeyOptions", "Sequence", "Table"]
