"""Column types for ``validate_ops``: warn about a type nobody has defined.

A type is known when it is a PostgreSQL built-in (``BUILTIN_TYPES``, any of its spellings)
or an enum of the catalog. Anything else is a warning, not an error: extensions (citext,
postgis, …) and domains add types the catalog does not record.

Before:  ``alter table fruits add size fruit_sise;``  (the enum is ``fruit_size``)
After:   PGD210 warning at ``fruit_sise`` with ``did you mean "fruit_size"?``.
"""

from __future__ import annotations

from pgroll_dsl import ir
from pgroll_dsl.catalog.model import Catalog
from pgroll_dsl.diagnostics import Diagnostics, codes
from pgroll_dsl.passes.validate_names import did_you_mean
from pgroll_dsl.sql.type_names import SERIAL_TYPES, format_type_alias

# PostgreSQL's built-in base types, by SQL name and by internal (pg_type) name.
BUILTIN_TYPES = frozenset({
    "bigint", "bit", "bit varying", "bool", "boolean", "box", "bpchar", "bytea", "char",
    "character", "character varying", "cidr", "circle", "date", "datemultirange",
    "daterange", "decimal", "double precision", "float", "float4", "float8", "inet",
    "int", "int2", "int4", "int4multirange", "int4range", "int8", "int8multirange",
    "int8range", "integer", "interval", "json", "jsonb", "jsonpath", "line", "lseg",
    "macaddr", "macaddr8", "money", "name", "numeric", "nummultirange", "numrange", "oid",
    "path", "pg_lsn", "pg_snapshot", "point", "polygon", "real", "regclass", "regconfig",
    "regdictionary", "regnamespace", "regoper", "regoperator", "regproc", "regprocedure",
    "regrole", "regtype", "smallint", "text", "time", "time with time zone",
    "time without time zone", "timestamp", "timestamp with time zone",
    "timestamp without time zone", "timestamptz", "timetz", "tsmultirange", "tsquery",
    "tsrange", "tstzmultirange", "tstzrange", "tsvector", "txid_snapshot", "uuid", "varbit",
    "varchar", "xid", "xid8", "xml",
}) | SERIAL_TYPES


def check_type(type_: ir.TypeName, catalog: Catalog, sink: Diagnostics) -> None:
    """Report PGD210 (a warning) when ``type_`` is neither built in nor a catalog enum.

    Args:
        type_: The column type as written.
        catalog: The schema just before the operation (its enums).
        sink: Where problems go.
    """
    schema = type_.schema.name if type_.schema is not None else None
    if schema not in (None, "pg_catalog", catalog.schema):
        return  # another schema's types are not in the catalog: nothing to compare with
    name = type_.name if type_.quoted else format_type_alias(type_.name)
    if schema != catalog.schema and name in BUILTIN_TYPES:
        return
    if schema != "pg_catalog" and catalog.enum(name) is not None:
        return
    candidates = [e.name for e in catalog.enums]
    sink.report(codes.UNKNOWN_TYPE, type_.span,
                f'type "{name}" is not a built-in type nor an enum of schema "{catalog.schema}"',
                *(did_you_mean(name, candidates)
                  or ("if an extension or a `sql` operation defines it, ignore this warning",)))
