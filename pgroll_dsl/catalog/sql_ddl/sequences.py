"""Sequences: CREATE / ALTER SEQUENCE ... OWNED BY, and the ``nextval`` defaults naming them.

A serial column's default names its sequence, so dropping or renaming the sequence changes
the defaults that use it; both live here next to the statements about sequences.
"""

from __future__ import annotations

from dataclasses import replace

from pglast import ast

from pgroll_dsl.catalog.apply import nextval, with_sequences
from pgroll_dsl.catalog.model import Catalog, Sequence
from pgroll_dsl.catalog.sql_ddl.lookup import CannotReplay
from pgroll_dsl.catalog.sql_ddl.nodes import local_name, option_named, relation, strings


def sequence_named(catalog: Catalog, name: str) -> Sequence | None:
    """The sequence of that name, if the catalog holds one."""
    return next((s for s in catalog.sequences if s.name == name), None)


def sequence_statement(catalog: Catalog, stmt: ast.CreateSeqStmt | ast.AlterSeqStmt) -> Catalog:
    """CREATE SEQUENCE and ALTER SEQUENCE ... OWNED BY; other options are not modelled."""
    name = relation(stmt.sequence, catalog.schema)
    if name is None:
        return catalog
    existing = sequence_named(catalog, name)
    if isinstance(stmt, ast.CreateSeqStmt) and existing is not None:
        if stmt.if_not_exists:
            return catalog
        raise CannotReplay(f'relation "{name}" is already in the catalog')
    if isinstance(stmt, ast.AlterSeqStmt) and existing is None:
        if stmt.missing_ok:
            return catalog
        raise CannotReplay(f'sequence "{name}" is not in the catalog')
    sequence = _owned(existing or Sequence(name=name), stmt.options, catalog.schema)
    catalog = with_sequences(catalog, (sequence,))
    others = [o for o in stmt.options or () if isinstance(o, ast.DefElem)
              and o.defname != "owned_by"]
    if isinstance(stmt, ast.AlterSeqStmt) and others:
        raise CannotReplay("sequence options are not modelled", partial=catalog)
    return catalog


def _owned(sequence: Sequence, options: object, schema: str) -> Sequence:
    option = option_named(options, "owned_by")
    if option is None:
        return sequence
    parts = strings(option.arg)
    if parts == ("none",) or local_name(parts[:-1], schema) is None:
        return replace(sequence, owned_by_table=None, owned_by_column=None)
    return replace(sequence, owned_by_table=local_name(parts[:-1], schema),
                   owned_by_column=parts[-1])


def drop_sequence(catalog: Catalog, name: str) -> Catalog:
    """The sequence, and the defaults that use it (PostgreSQL needs CASCADE for those)."""
    return replace(_with_defaults(catalog, nextval(name), None),
                   sequences=tuple(s for s in catalog.sequences if s.name != name))


def rename_sequence(catalog: Catalog, old: str, new: str) -> Catalog:
    """The sequence, and the defaults that use it."""
    sequences = tuple(sorted((replace(s, name=new) if s.name == old else s
                              for s in catalog.sequences), key=lambda s: s.name))
    return replace(_with_defaults(catalog, nextval(old), nextval(new)), sequences=sequences)


def _with_defaults(catalog: Catalog, before: str, after: str | None) -> Catalog:
    """Every column default ``before`` (a sequence's ``nextval``) becomes ``after``."""
    tables = tuple(
        replace(t, columns=tuple(replace(c, default=after) if c.default == before else c
                                 for c in t.columns))
        for t in catalog.tables
    )
    return replace(catalog, tables=tables)
