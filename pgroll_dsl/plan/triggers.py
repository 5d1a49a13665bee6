"""Trigger functions that keep old and new columns in sync (the backfill is ``backfill.py``).

Two functions per migrated column, one for each side of writers. Which side a writer is on
is read from the first schema of its ``search_path``: the new version's schema means a
new-version client, whose writes ``down`` copies to the old column; every other write
(old version, base table) ``up`` copies to the new one. Each has its trigger, whose ``WHEN``
tells the sides apart, so that each fires where it must among the table's own triggers (see
``catalog.derived.late_trigger_name``): ``up`` after them, on the row as it will be stored;
``down`` before them, which then see the old column filled and may change it, as they did
before the migration. (A user trigger that changes the old column of a new-version write
does not reach the copy: neither order can give both.) Differences from pgroll, each one a
way pgroll loses data:

* a user's BEFORE trigger that sets a column ``up`` reads (a tenant filled in, ``updated_at``)
  runs before ``up`` is computed (pgroll's trigger, named ``_pgroll_...``, fires before any
  lower-case name);
* a row written through the new version is marked as backfilled, so the backfill never
  overwrites what a new client wrote (pgroll marks only old-version writes);
* a row is marked as backfilled only by the table's last sync trigger, created after every
  other: a write that lands while only some of them exist (a migration with several
  operations on one table, or a start resumed after a crash) stays marked for the backfill,
  instead of being skipped with some copies never filled;
* a new-version UPDATE of a row the backfill has not reached yet first computes the new
  column with ``up``, instead of deriving the old column from an empty new one -- unless the
  UPDATE named the column in its SET list: a second, narrow trigger (``BEFORE UPDATE OF`` the
  copy, firing just before the sync trigger) records that in a transaction-local setting,
  so an explicit ``SET x = NULL`` (or the copy's old value) is kept, not replaced by ``up``;
  the sync trigger clears the setting as it reads it, so it never reaches another row. (An
  INSERT needs none of this: the sync trigger takes what a new-version INSERT gives as is.)
* the backfill touches the marker column, never the key (``GENERATED ALWAYS`` keys work).

A trigger reads the row's fields directly (or declares, as variables, only the columns its
expressions name), and skips the rows the backfill of its own table writes (the setting
names the table, so a write the batch causes elsewhere, through a trigger of the user's, is
still synced; ``WHEN`` is evaluated without entering PL/pgSQL): the backfill writes the same
values itself. The same ``WHEN`` skips a write the function would not change (see
:func:`needed_when`): a write of other columns costs no PL/pgSQL call.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from pgroll_dsl.catalog.derived import BACKFILL_SETTING, MARKER, WRITTEN_SETTING
from pgroll_dsl.catalog.model import Routines
from pgroll_dsl.plan.model import Builtins
from pgroll_dsl.sql.ddl import qualified
from pgroll_dsl.sql.expressions import (
    Context,
    calls,
    check_sql,
    column_references,
    is_non_volatile,
    rename_columns,
)
from pgroll_dsl.sql.quoting import dollar_quote, quote_ident, quote_literal


@dataclass(frozen=True, slots=True)
class Side:
    """One direction: write ``target`` from ``expression``, with the row's columns in scope.

    ``variables`` maps each name the expression may use to the physical column it reads.
    """

    target: str
    expression: str
    variables: tuple[tuple[str, str], ...]
    target_type: str = ""  # the target column's type as SQL ("": unknown, never skipped)


@dataclass(frozen=True, slots=True)
class TriggerSpec:
    """A column being migrated on one table."""

    name: str  # the trigger and function for new-version writers (``trigger_name``)
    late: str  # ... for the others, after the table's own triggers (``late_trigger_name``)
    schema: str
    table: str  # physical
    version_schema: str
    up: Side | None  # old-version writers -> the new column
    down: Side | None  # new-version writers -> the old column
    marker: bool  # whether the table carries the backfill marker column
    marks: bool = False  # the table's last sync trigger: clears the marker of the row written
    written: str | None = None  # the trigger recording a new-version UPDATE that names ``up``'s
    # target (only with ``up`` and the marker; see ``written_function_sql``)
    skips: bool = True  # whether its WHEN may compare to skip a write (see ``may_skip``)

    def named(self, new_version: bool) -> str:
        """The trigger (and function) of one side's writers."""
        return self.name if new_version else self.late

    def side(self, new_version: bool) -> Side | None:
        """What one side's function writes: ``down`` for new-version writers, else ``up``."""
        return self.down if new_version else self.up


# The two sides of writers, as the ``new_version`` argument below takes them; each has its own
# function and trigger per column, made in this order.
SIDES = (True, False)


def is_new_version(version_schema: str) -> str:
    """SQL that is true when the writer's search_path starts with the new version schema."""
    setting = "pg_catalog.current_setting('search_path')"
    first = f"pg_catalog.btrim(pg_catalog.split_part({setting}, ',', 1), ' \"')"
    return f"{first} = {quote_literal(version_schema)}"


def on_the_row(side: Side, record: str = "") -> str | None:
    """``side.expression`` reading the row's physical columns directly; ``None`` if it cannot.

    Every name it uses must be a plain reference to a column of the row (none inside a
    sub-query, where it could mean a column of the sub-query's tables): then the names can
    become the physical columns (``record.column`` in a trigger, ``column`` in an UPDATE).
    """
    names = dict(side.variables)
    references = column_references(side.expression)
    if not references and check_sql(side.expression, Context.EXPRESSION) is not None:
        return None  # does not parse here: left as written, the server reports it
    for ref in references:
        if ref.qualifier is not None or not ref.row_level or ref.name not in names:
            return None
    return rename_columns(side.expression, names, record)


def used_variables(side: Side) -> tuple[tuple[str, str], ...]:
    """The variables ``side.expression`` names; all of them if it does not parse here.

    Every declared variable is a copy of a column made for every row written, so a wide
    table paid for all its columns on every write.
    """
    if check_sql(side.expression, Context.EXPRESSION) is not None:
        return side.variables
    named = {ref.name for ref in column_references(side.expression) if ref.qualifier is None}
    return tuple((name, physical) for name, physical in side.variables if name in named)


def _assign(spec: TriggerSpec, side: Side, indent: str) -> list[str]:
    direct = on_the_row(side, "NEW")
    if direct is not None:  # no block, no variables: the cheapest row trigger
        return [f"{indent}NEW.{quote_ident(side.target)} := ({direct});"]
    declarations = [
        f"{indent}  {quote_ident(name)} {qualified(spec.schema, spec.table)}"
        f".{quote_ident(physical)}%TYPE := NEW.{quote_ident(physical)};"
        for name, physical in used_variables(side)
    ]
    return [
        *([f"{indent}DECLARE", *declarations] if declarations else []),
        f"{indent}BEGIN",
        f"{indent}  NEW.{quote_ident(side.target)} := ({side.expression});",
        f"{indent}END;",
    ]


def trigger_function_sql(spec: TriggerSpec, new_version: bool) -> str:
    """``CREATE OR REPLACE FUNCTION`` for one migrated column and one side's writers.

    New-version writers (``new_version``): ``down`` fills the old column, and on a row the
    backfill has not reached, ``up`` first fills the copy an UPDATE did not name. The others:
    ``up`` fills the copy. The table's last function clears the marker on either side.
    """
    body = ["#variable_conflict use_column", "BEGIN"]
    if new_version and spec.up is not None and spec.marker and spec.written is not None:
        target = quote_ident(spec.up.target)
        setting, mine = quote_literal(WRITTEN_SETTING), quote_literal(spec.name)
        body += [
            f"  IF TG_OP = 'UPDATE' AND OLD.{quote_ident(MARKER)} THEN",
            f"    IF pg_catalog.current_setting({setting}, true) = {mine} THEN",
            f"      PERFORM pg_catalog.set_config({setting}, '', true);  -- written: kept",
            f"    ELSIF NEW.{target} IS NOT DISTINCT FROM OLD.{target} THEN",
            *_assign(spec, spec.up, "      "),
            "    END IF;",
            "  END IF;",
        ]
    elif new_version and spec.up is not None and spec.marker:
        target = quote_ident(spec.up.target)
        body.append(
            f"  IF TG_OP = 'UPDATE' AND OLD.{quote_ident(MARKER)} AND NEW.{target} IS NOT "
            f"DISTINCT FROM OLD.{target} THEN"
        )
        body.extend(_assign(spec, spec.up, "    "))
        body.append("  END IF;")
    side = spec.side(new_version)
    if side is not None:
        body.extend(_assign(spec, side, "  "))
    if spec.marks:
        body.append(f"  NEW.{quote_ident(MARKER)} := false;")
    body += ["  RETURN NEW;", "END"]
    text = "\n".join(body)
    name = spec.named(new_version)
    return (
        f"CREATE OR REPLACE FUNCTION {qualified(spec.schema, name)}() RETURNS trigger\n"
        f"LANGUAGE plpgsql AS {dollar_quote(chr(10) + text + chr(10))}"
    )


# Types whose text form is the value itself, in every session: two values that print alike
# are the same value, and what an assignment of another type's value gives prints as that
# value's text. Not float (its digits follow extra_float_digits), nor timestamptz (a zone
# abbreviation may name two offsets), nor a user type, an enum, a domain: a migrated column
# of those keeps its trigger on every write. (Compared by value instead, the expression's
# type would have to be known: timestamptz = integer does not exist.)
_TEXT_EXACT = frozenset({  # as format_type spells them (the catalog's ``Column.type``)
    "bigint", "bit", "bit varying", "boolean", "bytea", "character", "character varying",
    "cidr", "date", "inet", "integer", "interval", "json", "jsonb", "macaddr", "macaddr8",
    "numeric", "smallint", "text", "time with time zone", "time without time zone",
    "timestamp without time zone", "uuid",
})


# numeric is the text-exact type whose value may come from another type's by a cast that
# changes its text: float8 -> numeric keeps 15 significant digits whatever the writer's
# extra_float_digits says, while the float's own text follows the setting (-3: 12 digits, so a
# float and a numeric differing in the 13th print alike). Its comparison casts the expression
# to the target type first; the explicit cast and the function's assignment are the same
# conversion there, type modifier included. Only a plain numeric spelling, digits in its
# modifiers, is written into the SQL.
_NUMERIC = re.compile(r"numeric(?:\(\d+(?:,-?\d+)?\))?(?:\[\])*")


def _as_assigned(direct: str, target_type: str) -> str:
    """``direct`` as the function's assignment converts it, where text could differ."""
    numeric = _NUMERIC.fullmatch(target_type.replace(" ", ""))
    return f"(({direct})::{numeric[0]})" if numeric else f"({direct})"


def text_exact(sql_type: str) -> bool:
    """Whether a column type (``format_type``'s spelling, arrays too) is in :data:`_TEXT_EXACT`."""
    name = re.sub(r"\(.*?\)|\[\]", "", sql_type)
    return " ".join(name.split()) in _TEXT_EXACT


def may_skip(spec: TriggerSpec, generated: frozenset[str], routines: Routines) -> bool:
    """What of the trigger's ``WHEN`` only the table and the database can tell.

    No skipping when ``up`` or ``down`` reads a generated column (a BEFORE trigger's ``WHEN``
    may not: ``NEW`` does not have it yet), nor when it names a function, an operator or a
    cast the database may have of its own: a user's ``upper(int)`` may be volatile, or do
    something on every call, where the built-in ``upper`` it looks like is neither. The
    rest is the expression's and the type's own (:func:`_changed_by`).
    """
    for side in (spec.up, spec.down):
        if side is not None and any(physical in generated
                                    for _, physical in used_variables(side)):
            return False
    return not routines.opaque and not called((spec.up, spec.down)).shadowed_by(routines)


def called(sides: tuple[Side | None, ...]) -> Builtins:
    """Every function, operator and cast these sides call by name."""
    found = Builtins()
    for side in sides:
        if side is not None:
            named = calls(side.expression)
            found |= Builtins(named.function_names, named.operators, named.casts)
    return found


def relied_on(specs: list[TriggerSpec]) -> Builtins:
    """What the skips of these triggers take to be PostgreSQL's own (``Plan.builtins``)."""
    found = Builtins()
    for spec in specs:
        for new_version in SIDES:
            if needed_when(spec, new_version) is not None:
                found |= called((spec.side(new_version),))
    return found


def _changed_by(side: Side) -> str | None:
    """SQL that is true when ``side`` would write something else than its target holds.

    The expression is evaluated on ``NEW`` as the trigger would evaluate it, within the same
    statement and only for the writers the function evaluates it for, so it gives what the
    function would write (it is not volatile), compared as text byte for byte (the target's
    type is one whose text is its value). ``None``: not comparable here (a sub-query, a
    volatile call, a name that is not a column of the row, another type).
    """
    direct = on_the_row(side, "NEW")
    if direct is None or not is_non_volatile(side.expression) \
            or not text_exact(side.target_type):
        return None
    return (f'NEW.{quote_ident(side.target)}::text COLLATE "C" IS DISTINCT FROM '
            f'{_as_assigned(direct, side.target_type)}::text COLLATE "C"')


def needed_when(spec: TriggerSpec, new_version: bool) -> str | None:
    """The part of a sync trigger's ``WHEN`` that skips a write the function would not change.

    The function writes the copy from ``up`` for old-version writers, the old column from
    ``down`` for new-version writers, and acts on rows the backfill has not reached (the
    marker set). When none of that applies, running it writes exactly what the row holds:
    most writes to a busy table change other columns, and a PL/pgSQL call costs more than
    the write itself. ``None``: no skipping (see :func:`_changed_by`).
    """
    side = spec.side(new_version)
    marker = f"NEW.{quote_ident(MARKER)}"
    if side is None:  # nothing to compute for these writers but the marker's rows
        return marker if spec.marker else "false"
    changes = _changed_by(side) if spec.skips else None
    if changes is None:
        return None
    return f"{marker}\n    OR {changes}" if spec.marker else changes


def _not_backfilling(spec: TriggerSpec) -> str:
    return (f"pg_catalog.current_setting({quote_literal(BACKFILL_SETTING)}, true) IS DISTINCT "
            f"FROM {quote_literal(qualified(spec.schema, spec.table))}")


def trigger_sql(spec: TriggerSpec, new_version: bool) -> str:
    """``CREATE OR REPLACE TRIGGER`` that runs one side's function before every row write.

    The writer's side is tested first, in a ``CASE`` (the one order PostgreSQL promises to
    keep): the skip evaluates ``up`` or ``down`` only for the writers its function evaluates
    it for, so an expression that fails for the other side's rows (``100 / d`` where a
    new-version client writes ``d = 0``) never fails their writes.
    """
    writer = is_new_version(spec.version_schema)
    needed = needed_when(spec, new_version)
    if needed is None:
        side = writer if new_version else f"NOT ({writer})"
    elif new_version:
        side = f"CASE WHEN {writer}\n    THEN {needed}\n    ELSE false END"
    else:
        side = f"CASE WHEN {writer}\n    THEN false\n    ELSE {needed} END"
    name = spec.named(new_version)
    return (
        f"CREATE OR REPLACE TRIGGER {quote_ident(name)} BEFORE INSERT OR UPDATE ON "
        f"{qualified(spec.schema, spec.table)} FOR EACH ROW\n"
        f"  WHEN ({side}\n    AND {_not_backfilling(spec)})\n"
        f"  EXECUTE FUNCTION {qualified(spec.schema, name)}()"
    )


def written_function_sql(spec: TriggerSpec) -> str:
    """The function that records, for the sync trigger about to fire, "the client wrote it".

    A row trigger sees the new row, not the statement's SET list: ``SET x = NULL`` and an
    UPDATE of another column look the same to the sync trigger. A trigger ``BEFORE UPDATE
    OF`` the copy fires only when the SET list names it, so its firing is that fact.
    """
    assert spec.written is not None
    setting = quote_literal(WRITTEN_SETTING)
    text = (f"\nBEGIN\n  PERFORM pg_catalog.set_config({setting}, {quote_literal(spec.name)}, "
            "true);\n  RETURN NEW;\nEND\n")
    return (
        f"CREATE OR REPLACE FUNCTION {qualified(spec.schema, spec.written)}() RETURNS trigger\n"
        f"LANGUAGE plpgsql AS {dollar_quote(text)}"
    )


def written_trigger_sql(spec: TriggerSpec) -> str:
    """``CREATE OR REPLACE TRIGGER`` that fires when a new-version UPDATE names the copy.

    Only on rows the backfill has not reached (elsewhere the sync trigger keeps what the
    client wrote anyway), only for new-version writers, never on the backfill's own rows:
    the sync trigger of the same column fires right after it in each of these cases.
    """
    assert spec.written is not None and spec.up is not None
    schema, table = spec.schema, spec.table
    return (
        f"CREATE OR REPLACE TRIGGER {quote_ident(spec.written)} BEFORE UPDATE OF "
        f"{quote_ident(spec.up.target)} ON {qualified(schema, table)} FOR EACH ROW\n"
        f"  WHEN (OLD.{quote_ident(MARKER)} AND {is_new_version(spec.version_schema)}\n"
        f"    AND {_not_backfilling(spec)})\n"
        f"  EXECUTE FUNCTION {qualified(schema, spec.written)}()"
    )
