"""PostgreSQL's names for what it names itself: ``t_pkey``, ``t_c_key``, ``t_c_seq``.

``makeObjectName`` cuts ``name1_name2_label`` to fit 63 bytes, and ``ChooseRelationName`` /
``ChooseConstraintName`` append a number on a clash. The catalog (``Catalog.apply``) and the
replay of raw SQL both name through here, so long names match what the database holds.
"""

from __future__ import annotations

from dataclasses import dataclass

from pgroll_dsl.catalog.model import Catalog

NAMEDATALEN = 64


def kept_name(name: str) -> str:
    """``name`` as PostgreSQL keeps it: cut to 63 bytes, at a character's end (UTF-8)."""
    return name.encode()[:NAMEDATALEN - 1].decode(errors="ignore")


def object_name(name1: str, name2: str | None, label: str) -> str:
    """PostgreSQL's ``makeObjectName``: ``name1_name2_label`` cut to fit 63 bytes."""
    part1, part2 = name1.encode(), (name2 or "").encode()
    overhead = len(label.encode()) + 1 + (1 if name2 is not None else 0)
    available = NAMEDATALEN - 1 - overhead
    size1, size2 = len(part1), len(part2)
    while size1 + size2 > available:
        if size1 > size2:
            size1 -= 1
        else:
            size2 -= 1
    pieces = [part1[:size1].decode(errors="ignore")]
    if name2 is not None:
        pieces.append(part2[:size2].decode(errors="ignore"))
    return "_".join([*pieces, label])


@dataclass(slots=True)
class Names:
    """Names in use in the schema, so that a generated name avoids them as PostgreSQL does."""

    relations: set[str]
    constraints: set[str]

    @classmethod
    def of(cls, catalog: Catalog) -> Names:
        """The relation and constraint names the catalog holds."""
        relations = {t.name for t in catalog.tables} | {s.name for s in catalog.sequences}
        relations |= {i.name for t in catalog.tables for i in t.indexes}
        return cls(relations, {c.name for t in catalog.tables for c in t.constraints})

    def take(self, name: str, *, relation: bool, constraint: bool) -> str:
        """Record a name as used (as a relation, a constraint or both) and return it."""
        if relation:
            self.relations.add(name)
        if constraint:
            self.constraints.add(name)
        return name

    def choose(self, name1: str, name2: str | None, label: str, *, relation: bool,
               constraint: bool) -> str:
        """The first free ``name1_name2_label``, ``..._label1``, ``..._label2``..."""
        attempt = 0
        while True:
            name = object_name(name1, name2, label + (str(attempt) if attempt else ""))
            if not ((relation and name in self.relations)
                    or (constraint and name in self.constraints)):
                return self.take(name, relation=relation, constraint=constraint)
            attempt += 1
