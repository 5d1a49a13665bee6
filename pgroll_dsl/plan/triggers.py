"""Trigger functions that keep old and new columns in sync, and the batched backfill.

One function per migrated column serves both directions. Which side a writer is on is read
from the first schema of its ``search_path``: the new version's schema means a new-version
client. Differences from pgroll, each one a way pgroll loses data:

* a row written through the new version is marked as backfilled, so the backfill never
  overwrites what a new client wrote (pgroll marks only old-version writes);
* a row is marked as backfilled by a trigger of its own, created after every sync trigger of
  the table: a write that lands while only some of them exist (a migration with several
  operations on one table, or a start resumed after a crash) stays marked for the backfill,
  instead of being skipped with some copies never filled;
* a new-version UPDATE of a row the backfill has not reached yet first computes the new
  column with ``up``, instead of deriving the old column from an empty new one;
* the backfill touches the marker column, never the key (``GENERATED ALWAYS`` keys work).
"""

from __future__ import annotations

from dataclasses import dataclass

from pgroll_dsl.catalog.derived import MARK_PREFIX, derived
from pgroll_dsl.sql.ddl import qualified
from pgroll_dsl.sql.quoting import dollar_quote, quote_ident, quote_literal

MARKER = "_pgroll_needs_backfill"


@dataclass(frozen=True, slots=True)
class Side:
    """One direction: write ``target`` from ``expression``, with the row's columns in scope.

    ``variables`` maps each name the expression may use to the physical column it reads.
    """

    target: str
    expression: str
    variables: tuple[tuple[str, str], ...]


@dataclass(frozen=True, slots=True)
class TriggerSpec:
    """A column being migrated on one table."""

    name: str
    schema: str
    table: str  # physical
    version_schema: str
    up: Side | None  # old-version writers -> the new column
    down: Side | None  # new-version writers -> the old column
    marker: bool  # whether the table carries the backfill marker column


def is_new_version(version_schema: str) -> str:
    """SQL that is true when the writer's search_path starts with the new version schema."""
    setting = "pg_catalog.current_setting('search_path')"
    first = f"pg_catalog.btrim(pg_catalog.split_part({setting}, ',', 1), ' \"')"
    return f"{first} = {quote_literal(version_schema)}"


def _assign(spec: TriggerSpec, side: Side, indent: str) -> list[str]:
    declarations = [
        f"{indent}  {quote_ident(name)} {qualified(spec.schema, spec.table)}"
        f".{quote_ident(physical)}%TYPE := NEW.{quote_ident(physical)};"
        for name, physical in side.variables
    ]
    return [
        f"{indent}DECLARE",
        *declarations,
        f"{indent}BEGIN",
        f"{indent}  NEW.{quote_ident(side.target)} := ({side.expression});",
        f"{indent}END;",
    ]


def trigger_function_sql(spec: TriggerSpec) -> str:
    """``CREATE OR REPLACE FUNCTION`` for one migrated column."""
    new_version = is_new_version(spec.version_schema)
    body = ["#variable_conflict use_column", "BEGIN", f"  IF {new_version} THEN"]
    if spec.up is not None and spec.marker:
        target = quote_ident(spec.up.target)
        body.append(
            f"    IF TG_OP = 'UPDATE' AND OLD.{quote_ident(MARKER)} AND NEW.{target} IS NOT "
            f"DISTINCT FROM OLD.{target} THEN"
        )
        body.extend(_assign(spec, spec.up, "      "))
        body.append("    END IF;")
    if spec.down is not None:
        body.extend(_assign(spec, spec.down, "    "))
    if not (spec.up is not None and spec.marker) and spec.down is None:
        body.append("    NULL;")
    body.append("  ELSE")
    if spec.up is not None:
        body.extend(_assign(spec, spec.up, "    "))
    else:
        body.append("    NULL;")
    body += ["  END IF;", "  RETURN NEW;", "END"]
    text = "\n".join(body)
    return (
        f"CREATE OR REPLACE FUNCTION {qualified(spec.schema, spec.name)}() RETURNS trigger\n"
        f"LANGUAGE plpgsql AS {dollar_quote(chr(10) + text + chr(10))}"
    )


def trigger_sql(spec: TriggerSpec) -> str:
    """``CREATE OR REPLACE TRIGGER`` that runs the function before every row write."""
    return _trigger(spec.name, spec.schema, spec.table)


def _trigger(name: str, schema: str, table: str) -> str:
    return (
        f"CREATE OR REPLACE TRIGGER {quote_ident(name)} BEFORE INSERT OR UPDATE ON "
        f"{qualified(schema, table)} FOR EACH ROW EXECUTE FUNCTION "
        f"{qualified(schema, name)}()"
    )


def mark_name(table: str) -> str:
    """The trigger (and function) that marks a table's written rows as backfilled."""
    return derived(MARK_PREFIX, table)


def mark_function_sql(schema: str, table: str) -> str:
    """The function that clears the backfill marker of every row written.

    It is created after every sync trigger of the table exists, so that a row it marks has
    had all of them run: the backfill may skip it.
    """
    return (
        f"CREATE OR REPLACE FUNCTION {qualified(schema, mark_name(table))}() RETURNS trigger\n"
        "LANGUAGE plpgsql AS "
        + dollar_quote(f"\nBEGIN\n  NEW.{quote_ident(MARKER)} := false;\n  RETURN NEW;\nEND\n")
    )


def mark_trigger_sql(schema: str, table: str) -> str:
    """``CREATE OR REPLACE TRIGGER`` for :func:`mark_function_sql`."""
    return _trigger(mark_name(table), schema, table)


def backfill_sql(schema: str, table: str, key: tuple[str, ...], batch_size: int,
                 delay_seconds: float = 0.0) -> str:
    """A DO block that touches every not-yet-backfilled row, one committed batch at a time.

    Keyset pagination on ``key`` (primary key or a unique NOT NULL column) when there is one,
    else batches by ``ctid``. The UPDATE sets only the marker, so the triggers compute the new
    values; rows written meanwhile are already marked done and are skipped.
    """
    target = qualified(schema, table)
    pause = f"\n    PERFORM pg_catalog.pg_sleep({delay_seconds});" if delay_seconds > 0 else ""
    # One NOTICE per batch: psql shows it; the live executor reads the rows done so far from
    # its DETAIL and turns them into a progress bar.
    report = (f"\n    done_rows := done_rows + {{count}};\n    RAISE NOTICE 'pgroll-dsl backfill "
              f"%: % rows', {quote_literal(table)}, done_rows USING DETAIL = done_rows::text;")
    marker = quote_ident(MARKER)
    if not key:
        return "DO " + dollar_quote(
            "\nDECLARE\n  touched bigint;\n  done_rows bigint := 0;\nBEGIN\n"
            "  LOOP\n"
            f"    UPDATE {target} SET {marker} = true WHERE ctid = ANY (ARRAY(\n"
            f"      SELECT ctid FROM {target} WHERE {marker} LIMIT {batch_size}"
            " FOR NO KEY UPDATE));\n"
            "    GET DIAGNOSTICS touched = ROW_COUNT;\n    EXIT WHEN touched = 0;"
            f"{report.format(count='touched')}\n"
            f"    COMMIT;{pause}\n  END LOOP;\nEND\n", "pgroll_backfill")
    columns = [quote_ident(k) for k in key]
    last = [quote_ident(f"last_{i}") for i in range(len(key))]
    declare = "\n".join(
        f"  {v} {target}.{c}%TYPE;" for v, c in zip(last, columns, strict=True)
    )
    keys = ", ".join(columns)
    after = f" AND ({keys}) > ({', '.join(last)})"

    def batch(bounded: bool) -> str:
        # Rows are picked by key order and updated by ctid (a TID scan), so each batch reads
        # only its own rows; the first batch has no lower bound, the others an index range.
        return (
            f"      WITH batch AS (\n        SELECT ctid AS row_id, {keys} FROM {target}\n"
            f"        WHERE {marker}{after if bounded else ''}\n"
            f"        ORDER BY {keys} LIMIT {batch_size} FOR NO KEY UPDATE\n"
            f"      ), touched AS (\n        UPDATE {target} SET {marker} = true\n"
            f"        WHERE ctid = ANY (ARRAY(SELECT row_id FROM batch)) RETURNING {keys}\n"
            f"      )\n"
            f"      SELECT {keys}, count(*) OVER () INTO {', '.join(last)}, batch_rows\n"
            f"      FROM touched ORDER BY {', '.join(f'{c} DESC' for c in columns)} LIMIT 1;\n"
        )

    return "DO " + dollar_quote(
        f"\nDECLARE\n{declare}\n  batch_rows bigint;\n"
        "  done_rows bigint := 0;\nBEGIN\n  LOOP\n"
        f"    IF {last[0]} IS NULL THEN\n{batch(False)}    ELSE\n{batch(True)}    END IF;\n"
        f"    EXIT WHEN NOT FOUND;{report.format(count='batch_rows')}\n"
        f"    COMMIT;{pause}\n  END LOOP;\nEND\n", "pgroll_backfill")
