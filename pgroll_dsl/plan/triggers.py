"""Trigger functions that keep old and new columns in sync (the backfill is ``backfill.py``).

Each migrated column has up to three functions, each with its own trigger, because a write
from each side of writers needs its steps in another order. Which side a writer is on is
read from the first schema of its ``search_path``: the new version's schema means a
new-version client; every other write (old version, base table) is the old side's.

* ``up`` (old side): copies the old columns to the new ones, after the table's own BEFORE
  triggers, on the row as it will be stored (``catalog.derived.late_trigger_name``), in the
  migration's order: a later operation's ``up`` may read what an earlier one's filled.
* ``fill`` (new side, only an UPDATE of a row the backfill has not reached): first computes
  each copy the UPDATE did not name with ``up`` of the row as it was stored before the
  UPDATE, in the migration's order, before any ``down`` reads it (``trigger_name``): the
  row ends up as the backfill would have left it, plus the client's change;
* ``down`` (new side): fills the old columns, in **reverse** order: an operation's ``down``
  reads the columns as the operations after it leave them, and those are filled by their
  own ``down`` first (``down_trigger_name``). Before the table's own triggers, which then see
  the old column filled and may change it, as they did before the migration. (A user trigger
  that changes the old column of a new-version write does not reach the copy: no order can
  give both.)

Differences from pgroll, each one a way pgroll loses data:

* a user's BEFORE trigger that sets a column ``up`` reads (a tenant filled in, ``updated_at``)
  runs before ``up`` is computed (pgroll's trigger, named ``_pgroll_...``, fires before any
  lower-case name);
* a ``down`` that reads a column a later operation rewrites (``drop total down `qty * price```,
  then a type change of ``qty``) reads it as the new version wrote it, not as it was;
* a row written through the new version is marked as backfilled, so the backfill never
  overwrites what a new client wrote (pgroll marks only old-version writes);
* a row is marked as backfilled only by the table's last sync triggers, created after every
  other: a write that lands while only some of them exist (a migration with several
  operations on one table, or a start resumed after a crash) stays marked for the backfill,
  instead of being skipped with some copies never filled;
* a new-version UPDATE of a row the backfill has not reached yet first computes the new
  column with ``up`` of the row as it was, instead of deriving the old column from an empty
  new one -- unless the
  UPDATE named the column in its SET list: a second, narrow trigger (``BEFORE UPDATE OF`` the
  copy, firing just before the ``fill`` trigger) records that in a transaction-local setting,
  so an explicit ``SET x = NULL`` (or the copy's old value) is kept, not replaced by ``up``;
  the ``fill`` function clears the setting as it reads it, so it never reaches another row.
  (An INSERT needs none of this: the sync triggers take what a new-version INSERT gives.)
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
from enum import Enum

from pgroll_dsl.catalog.derived import BACKFILL_SETTING, MARKER, WRITTEN_SETTING
from pgroll_dsl.catalog.model import Column, Routines
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


class Kind(Enum):
    """A migrated column's sync triggers, by what each computes for which writers."""

    FILL = "fill"  # new-version UPDATE of an unbackfilled row: ``up`` for copies not named
    DOWN = "down"  # new-version writes: ``down`` fills the old column (reverse order)
    UP = "up"  # old-version and base-table writes: ``up`` fills the copy


# The order a column's functions and triggers are made in (``fill`` exists only with ``up``
# on a marked table: ``TriggerSpec.kinds``).
KINDS = (Kind.FILL, Kind.DOWN, Kind.UP)


@dataclass(frozen=True, slots=True)
class TriggerSpec:
    """A column being migrated on one table."""

    name: str  # the ``fill`` trigger and function (``trigger_name``), which ``written`` serves
    reverse: str  # the ``down`` trigger and function (``down_trigger_name``)
    late: str  # the ``up`` one, after the table's own triggers (``late_trigger_name``)
    schema: str
    table: str  # physical
    version_schema: str
    up: Side | None  # old-version writers -> the new column
    down: Side | None  # new-version writers -> the old column
    marker: bool  # whether the table carries the backfill marker column
    marks: bool = False  # the table's last sync triggers: clear the marker of the row written
    written: str | None = None  # the trigger recording a new-version UPDATE that names ``up``'s
    # target (only with ``up`` and the marker; see ``written_function_sql``)
    skips: bool = True  # whether its WHEN may compare to skip a write (see ``may_skip``)
    generated: tuple[tuple[str, str], ...] = ()  # (stored generated column, its expression
    # over ``NEW``'s fields): ``NEW`` does not hold it yet (see ``generated_on_new``)
    earlier: tuple[Side, ...] = ()  # ``fill``: the ``up`` of each earlier copy of the table
    # that ``up`` reads, directly or through another, in order (see ``copies_read``)
    old_schemas: tuple[str, ...] = ()  # first in a writer's path: an old-version or table writer
    shown: bool = True  # whether the new version shows the table (not dropped by this one)

    def writer(self) -> str:
        """SQL that is true for a new-version writer (``is_new_version``).

        Never for a table the new version drops: a session of that version reaches it only
        through the table's own schema later in its path, and writes its columns as they are.
        """
        return is_new_version(self.version_schema, self.old_schemas) if self.shown else "false"

    def named(self, kind: Kind) -> str:
        """The trigger (and function) of one kind."""
        return {Kind.FILL: self.name, Kind.DOWN: self.reverse, Kind.UP: self.late}[kind]

    def side(self, kind: Kind) -> Side | None:
        """What the function of ``kind`` writes for every row it runs on."""
        return self.down if kind is Kind.DOWN else self.up

    def kinds(self) -> tuple[Kind, ...]:
        """The triggers this column has, in the order they are made.

        One per kind that has something to compute: ``fill`` only where a new-version UPDATE
        may find the copy not yet backfilled (``up`` on a marked table, with ``written``).
        """
        has = {Kind.FILL: self.written is not None, Kind.DOWN: self.down is not None,
               Kind.UP: self.up is not None}
        return tuple(kind for kind in KINDS if has[kind])


def is_new_version(version_schema: str, old: tuple[str, ...]) -> str:
    """SQL that is true when the writer's search_path puts the new version schema first.

    In parentheses: it stands after ``NOT`` as it is. ``current_schemas`` is the search_path
    as the server resolved it (quotes, commas inside quotes, case; schemas that do not exist
    or that the role may not use left out): the text of the setting cannot be cut at its
    first comma when a version schema's name holds one or a double quote. Its first schema
    is the answer when it is the new version (true) or one of ``old``, the schemas whose
    writers are the old version's or the table's (false): one comparison each, what nearly
    every write pays. Any other first schema (``pg_catalog``, ``"$user"`` or ``pg_temp``
    that exist, an application's own) holds none of the migration's tables, or holds its own
    of that name: the names resolve in whichever of the migration's schemas comes first, so
    the new version must come before every one of ``old``. (Not where the table's name
    resolves: a table renamed in the new version has its old name in the old version.)
    """
    schemas = "pg_catalog.current_schemas(false)"
    first = f"({schemas})[1]"
    new = quote_literal(version_schema)
    others = tuple(dict.fromkeys(s for s in old if s != version_schema))

    def place(schema: str) -> str:
        return f"pg_catalog.array_position({schemas}, {quote_literal(schema)}::name)"

    never = "2147483647"  # after every place: a schema not in the path
    later = ", ".join(f"COALESCE({place(s)}, {never})" for s in others)
    known = "".join(f" WHEN {quote_literal(s)} THEN false" for s in others)
    return (f"(CASE {first} WHEN {new} THEN true{known} "
            f"ELSE COALESCE({place(version_schema)} < LEAST({later}), false) END)")


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


def generated_on_new(columns: tuple[Column, ...]) -> tuple[tuple[str, str], ...]:
    """``(physical, expression over NEW)`` of each stored generated column of a table.

    The expression names columns as PostgreSQL stores them, by their physical names (a
    column it reads is never rewritten in a migration: PGD324). One that cannot be placed
    on the row is left out (the column then reads as ``NEW`` has it).
    """
    names = tuple((c.physical, c.physical) for c in columns)
    found = []
    for column in columns:
        if column.generated is not None:
            direct = on_the_row(Side(column.physical, column.generated, names), "NEW")
            if direct is not None:
                found.append((column.physical, f"({direct})"))
    return tuple(found)


def copies_read(side: Side, earlier: list[Side]) -> tuple[Side, ...]:
    """The ``up`` of each copy in ``earlier`` (the table's, in order) that ``side`` reads.

    Directly or through another copy's ``up``, in the migration's order: ``fill`` computes
    them again from the row as it was before the UPDATE, as the backfill would have.
    """
    needed = {physical for _, physical in used_variables(side)}
    found = []
    for before in reversed(earlier):
        if before.target in needed:
            found.append(before)
            needed.discard(before.target)
            needed |= {physical for _, physical in used_variables(before)}
    return tuple(reversed(found))


def _assign(spec: TriggerSpec, side: Side, indent: str) -> list[str]:
    """``NEW.target := side.expression`` on the row being written.

    A stored generated column is not computed yet when a BEFORE trigger runs (``NEW`` holds
    NULL): one that the expression reads is computed here from its own expression, over the
    row's other fields (``spec.generated``), as PostgreSQL will compute it after the trigger.
    """
    computed = dict(spec.generated)
    if not any(physical in computed for _, physical in used_variables(side)):
        direct = on_the_row(side, "NEW")
        if direct is not None:  # no block, no variables: the cheapest row trigger
            return [f"{indent}NEW.{quote_ident(side.target)} := ({direct});"]
    return _block(spec, side, f"NEW.{quote_ident(side.target)}", computed, indent, "NEW")


def _block(spec: TriggerSpec, side: Side, target: str, source: dict[str, str],
           indent: str, record: str = "OLD") -> list[str]:
    """``target := side.expression``, each name it uses a variable of the row's value.

    ``source`` maps a physical column to what holds its value, if not ``record.column``
    (the variable of a copy computed just before, a generated column's expression).
    """
    declarations = [
        f"{indent}  {quote_ident(name)} {qualified(spec.schema, spec.table)}"
        f".{quote_ident(physical)}%TYPE := "
        f"{source.get(physical, f'{record}.{quote_ident(physical)}')};"
        for name, physical in used_variables(side)
    ]
    return [
        *([f"{indent}DECLARE", *declarations] if declarations else []),
        f"{indent}BEGIN",
        f"{indent}  {target} := ({side.expression});",
        f"{indent}END;",
    ]


def _fill(spec: TriggerSpec, indent: str) -> list[str]:
    """The copy from ``up`` of the row as it was before the UPDATE, as the backfill gives it.

    Not of the row the UPDATE leaves: the new version's columns the client did not write
    are then those the backfill would have left, plus the client's change, whoever reaches
    the row first. Reading the new row instead made the copy depend on the migration's
    other operations (an old column a later operation rewrites is filled only by that
    operation's ``down``, after every ``fill``), and on the written value (``up`` of a value
    the old version never held may fail, and refuse a write that succeeds once the row is
    backfilled). An earlier copy that ``up`` reads is computed again the same way
    (``spec.earlier``): the client may have written it.
    """
    assert spec.up is not None
    target = f"NEW.{quote_ident(spec.up.target)}"
    if not spec.earlier:
        direct = on_the_row(spec.up, "OLD")
        if direct is not None:
            return [f"{indent}{target} := ({direct});"]
        return _block(spec, spec.up, target, {}, indent)
    taken = {name for side in (*spec.earlier, spec.up) for name, _ in used_variables(side)}
    held: dict[str, str] = {}  # copy -> the variable that holds it, no name ``up`` uses
    for side in spec.earlier:
        variable = _fresh(f"pgroll_copy_{len(held)}", taken)
        held.setdefault(side.target, quote_ident(variable))
    lines = [f"{indent}DECLARE", *(
        f"{indent}  {variable} {qualified(spec.schema, spec.table)}.{quote_ident(copy)}%TYPE;"
        for copy, variable in held.items()), f"{indent}BEGIN"]
    source: dict[str, str] = {}
    for side in spec.earlier:
        lines += _block(spec, side, held[side.target], source, indent + "  ")
        source[side.target] = held[side.target]
    lines += _block(spec, spec.up, target, source, indent + "  ")
    return [*lines, f"{indent}END;"]


def _unchanged(column: str) -> str:
    """True where the UPDATE leaves ``column`` as it was.

    Compared by stored bytes: json and point have no ``=`` for ``IS NOT DISTINCT FROM``.
    """
    name = quote_ident(column)
    return f"ROW(NEW.{name})::record OPERATOR(pg_catalog.*=) ROW(OLD.{name})::record"


def _written_by_name(spec: TriggerSpec, down: Side, up: Side | None) -> list[str]:
    """``down``'s function, first: an UPDATE that wrote the old column by its name.

    An UPDATE that changed the old column and not its copy wrote the old column itself, so
    ``up`` carries it to the copy instead of ``down`` setting it back; a dropped column (no
    ``up``, no copy) keeps what was written.

    The new version's view never names the old column (its name there is the copy's), so a
    new-version session changes it only through the table itself: a foreign key's action
    (``ON DELETE SET DEFAULT``, ``ON UPDATE CASCADE`` of the old column's key), a function or
    another table's trigger that writes the table by its columns' names. ``down`` from the
    unchanged copy used to set the old column back, silently undoing that write (and a
    ``SET DEFAULT`` action then failed its own check: 23503).
    """
    if up is None:
        return [f"  IF TG_OP = 'UPDATE' AND NOT {_unchanged(down.target)} THEN",
                "    RETURN NEW;", "  END IF;"]
    return [
        "  IF TG_OP = 'UPDATE' THEN  -- OLD is no record on INSERT",
        f"    IF NOT {_unchanged(down.target)}",
        f"        AND {_unchanged(up.target)} THEN",
        *_in_the_schema(spec, up, "      "),
        "      RETURN NEW;",
        "    END IF;",
        "  END IF;",
    ]


def _schema_path(spec: TriggerSpec) -> str:
    """The schema as a ``search_path``, ``pg_temp`` last.

    A writer's temporary table must not stand for the schema's in a sub-query.
    """
    return f"{quote_ident(spec.schema)}, pg_temp"


def _needs_schema_path(sides: tuple[Side | None, ...], computed: dict[str, str]) -> bool:
    """Whether evaluating ``sides`` looks a name up (``resolves_names``).

    The generated columns of ``computed`` that they read count too: their expressions are
    evaluated in their place.
    """
    texts = [side.expression for side in sides if side is not None]
    texts += [computed[physical] for side in sides if side is not None
              for _, physical in used_variables(side) if physical in computed]
    return any(resolves_names(text) for text in texts)


def _fresh(name: str, taken: set[str]) -> str:
    """``name``, with ``_`` added until it is none of ``taken``."""
    while name in taken:
        name += "_"
    return name


def _in_the_schema(spec: TriggerSpec, up: Side, indent: str) -> list[str]:
    """``up`` assigned in ``down``'s function, with the schema's ``search_path`` if it needs it.

    ``down``'s function has the schema as its own ``search_path`` only if ``down`` needs it
    (``resolves_names``): that ``SET`` costs every call. The rare write of the old column by
    its name sets the path for itself, and back, in the transaction (an error ends the
    statement, which undoes it).
    """
    if not _needs_schema_path((up,), dict(spec.generated)):
        return _assign(spec, up, indent)
    saved = _fresh("pgroll_path", {name for name, _ in up.variables})
    return [
        f"{indent}DECLARE",
        f"{indent}  {saved} text := pg_catalog.current_setting('search_path');",
        f"{indent}BEGIN",
        f"{indent}  PERFORM pg_catalog.set_config('search_path', "
        f"{quote_literal(_schema_path(spec))}, true);",
        *_assign(spec, up, indent + "  "),
        f"{indent}  PERFORM pg_catalog.set_config('search_path', {saved}, true);",
        f"{indent}END;",
    ]


def trigger_function_sql(spec: TriggerSpec, kind: Kind) -> str:
    """``CREATE OR REPLACE FUNCTION`` for one migrated column and one kind of trigger.

    ``fill`` runs on a new-version UPDATE of a row the backfill has not reached (its
    trigger's ``WHEN`` says so): ``up`` fills the copy, unless the UPDATE named it. ``down``
    fills the old column for new-version writers, ``up`` the copy for the others. The
    table's last ``fill`` and ``up`` functions clear the marker (``marks``): the last
    ``fill`` then also runs on a new-version INSERT, whose row must not be backfilled.
    """
    body = ["#variable_conflict use_column", "BEGIN"]
    if kind is Kind.FILL:
        assert spec.up is not None and spec.written is not None
        setting, mine = quote_literal(WRITTEN_SETTING), quote_literal(spec.name)
        # An old column written by its name is left to ``down``'s function (``_written_by_name``).
        copy = _unchanged(spec.up.target)
        unwritten = ([f"ELSIF {copy} THEN"] if spec.down is None
                     else [f"ELSIF {copy}", f"    AND {_unchanged(spec.down.target)} THEN"])
        fill = [
            f"IF pg_catalog.current_setting({setting}, true) = {mine} THEN",
            f"  PERFORM pg_catalog.set_config({setting}, '', true);  -- written: kept",
            *unwritten,
            *_fill(spec, "  "),
            "END IF;",
        ]
        if spec.marks:  # also runs on INSERT (see ``trigger_sql``)
            body += [f"  IF TG_OP = 'UPDATE' AND OLD.{quote_ident(MARKER)} THEN",
                     *(f"    {line}" for line in fill), "  END IF;"]
        else:
            body += [f"  {line}" for line in fill]
    else:
        side = spec.side(kind)
        assert side is not None
        if kind is Kind.DOWN:
            body += _written_by_name(spec, side, spec.up)
        body.extend(_assign(spec, side, "  "))
    if spec.marks and kind is not Kind.DOWN:
        body.append(f"  NEW.{quote_ident(MARKER)} := false;")
    body += ["  RETURN NEW;", "END"]
    text = "\n".join(body)
    name = spec.named(kind)
    evaluated = (*spec.earlier, spec.up) if kind is Kind.FILL else (spec.side(kind),)
    computed = dict(spec.generated) if kind is not Kind.FILL else {}  # read from OLD there
    path = (f"SET search_path = {_schema_path(spec)}\n"
            if _needs_schema_path(evaluated, computed) else "")
    return (
        f"CREATE OR REPLACE FUNCTION {qualified(spec.schema, name)}() RETURNS trigger\n"
        f"LANGUAGE plpgsql {path}AS {dollar_quote(chr(10) + text + chr(10))}"
    )


def resolves_names(expression: str) -> bool:
    """Whether ``expression`` names something PostgreSQL looks up through ``search_path``.

    A table in a sub-query, a function, an operator (the ``=`` of ``CASE x WHEN``
    included), a type in a cast, a collation, unless it is named ``pg_catalog.x`` (the
    keyword types are: ``CAST(v AS integer)`` needs no search; a function always counts, its
    arguments may name objects): the author wrote them
    against the migration's schema, and the backfill evaluates them there, but a trigger
    function runs with the writer's ``search_path``, a version schema of views only. There a
    sub-query's table is the view of that version (a renamed or rewritten column is not the
    one ``up`` means), and a function or type of the schema is not found: a write would fail,
    or store another value than the backfill would, depending on who wrote the row. Such a
    function gets the schema as its own ``search_path`` (``SET``), which costs each call it
    makes about 8 % of a row UPDATE; an expression of columns and constants alone (``up v``
    of a type change, ``coalesce(b, a)``) needs none.
    """
    found = calls(expression)
    return not found.parsed or found.subquery or found.searched


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
        for kind in spec.kinds():
            if kind is not Kind.FILL and needed_when(spec, kind) is not None:
                found |= called((spec.side(kind),))
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


def needed_when(spec: TriggerSpec, kind: Kind) -> str | None:
    """The part of a ``down`` or ``up`` trigger's ``WHEN`` that skips a write it would not change.

    The function writes the copy from ``up`` for old-version writers (also on every row the
    backfill has not reached: its copy is not filled yet, and the table's last one clears
    its marker), the old column from ``down`` for new-version writers (and ``down``'s also
    where the copy is not ``up`` of the old column: ``_written_by_name``). When none of that
    applies, running it writes exactly what the row holds: most writes to a busy table
    change other columns, and a PL/pgSQL call costs more than the write itself. ``None``: no
    skipping (see :func:`_changed_by`).
    """
    side = spec.side(kind)
    assert kind is not Kind.FILL and side is not None
    changes = _changed_by(side) if spec.skips else None
    if changes is None:
        return None
    if kind is Kind.UP and spec.marker:  # the copy of a row not backfilled is not filled yet
        return f"NEW.{quote_ident(MARKER)}\n    OR {changes}"
    if kind is Kind.DOWN and spec.up is not None:
        # The old column written by its name to down's value of the copy (NULL on a row not
        # backfilled, a pair that is no round trip) still needs up (``_written_by_name``).
        back = _changed_by(spec.up)
        if back is None:
            return None
        return f"CASE WHEN {changes} THEN true\n      ELSE {back} END"
    return changes


def _not_backfilling(spec: TriggerSpec) -> str:
    """Not a row of the backfill's own statement, which writes the copies and the marker itself.

    The backfill sets the setting to the table's name in its transactions (plan/backfill.py).
    A statement one trigger deeper is a client's write (the table's own trigger, an audit or
    summary one, writing the table on the backfill's batch, inside its transaction): the
    sync triggers fire for it. The backfill's statement runs in a ``DO`` block, at depth 0,
    and ``WHEN`` is evaluated before the trigger's function is called. Tested last: a
    client's write reads the setting only where the trigger has something to do, and the
    depth only within the backfill's transactions.
    """
    return (f"(pg_catalog.current_setting({quote_literal(BACKFILL_SETTING)}, true) IS DISTINCT "
            f"FROM {quote_literal(qualified(spec.schema, spec.table))}\n"
            "      OR pg_catalog.pg_trigger_depth() > 0)")


def enabled_always(schema: str, table: str, name: str | None = None) -> str:
    """The statement that makes a trigger of ours fire whatever ``session_replication_role``.

    The sync triggers' (and the backfill watch's, plan/watch.py).

    A session with the replica role fires only triggers enabled ``ALWAYS`` or ``REPLICA``: a
    logical replication subscription's apply worker, a bulk load that skips foreign keys
    (a superuser, or a role granted the setting). At origin, their writes would leave the
    copies stale, silently: after complete the new version would show the value a row had
    before (tests/test_replica_role_writers.py). A step joined to the ``CREATE TRIGGER``:
    no moment in which the trigger exists and such a write skips it. PostgreSQL passes the
    state on to the partitions, and to those made later. Without ``name``: how the
    statement begins for any trigger of the table.
    """
    start = f"ALTER TABLE {qualified(schema, table)} ENABLE ALWAYS TRIGGER "
    return start if name is None else start + quote_ident(name)


def trigger_sql(spec: TriggerSpec, kind: Kind) -> str:
    """``CREATE OR REPLACE TRIGGER`` that runs one kind's function before a row write.

    The writer's side is tested first, in a ``CASE`` (the one order PostgreSQL promises to
    keep): the skip evaluates ``up`` or ``down`` only for the writers its function evaluates
    it for, so an expression that fails for the other side's rows (``100 / d`` where a
    new-version client writes ``d = 0``) never fails their writes. ``fill`` fires on UPDATEs
    of rows the backfill has not reached only (and, the table's last, on INSERTs, whose new
    rows carry the marker); it tests the marker first, which after the backfill is false for
    every row: it then costs a write no setting read.
    """
    writer = spec.writer()
    name = spec.named(kind)
    table = qualified(spec.schema, spec.table)
    marker = quote_ident(MARKER)
    if kind is Kind.FILL:
        # The table's last fill also clears the marker of a new-version INSERT.
        events, row = ("INSERT OR UPDATE", "NEW") if spec.marks else ("UPDATE", "OLD")
        return (
            f"CREATE OR REPLACE TRIGGER {quote_ident(name)} BEFORE {events} ON {table} "
            f"FOR EACH ROW\n"
            f"  WHEN (CASE WHEN {row}.{marker} THEN {writer} ELSE false END\n"
            f"    AND {_not_backfilling(spec)})\n"
            f"  EXECUTE FUNCTION {qualified(spec.schema, name)}()"
        )
    new_version = kind is Kind.DOWN
    needed = needed_when(spec, kind)
    if needed is None:
        side = writer if new_version else f"NOT {writer}"
    elif new_version:
        side = f"CASE WHEN {writer}\n    THEN {needed}\n    ELSE false END"
    else:
        side = f"CASE WHEN {writer}\n    THEN false\n    ELSE {needed} END"
    return (
        f"CREATE OR REPLACE TRIGGER {quote_ident(name)} BEFORE INSERT OR UPDATE ON "
        f"{table} FOR EACH ROW\n"
        f"  WHEN ({side}\n    AND {_not_backfilling(spec)})\n"
        f"  EXECUTE FUNCTION {qualified(spec.schema, name)}()"
    )


def written_function_sql(spec: TriggerSpec) -> str:
    """The function that records, for the ``fill`` trigger about to fire, "the client wrote it".

    A row trigger sees the new row, not the statement's SET list: ``SET x = NULL`` and an
    UPDATE of another column look the same to the ``fill`` trigger. A trigger ``BEFORE UPDATE
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

    Only on rows the backfill has not reached (elsewhere the sync triggers keep what the
    client wrote anyway), only for new-version writers, never on the backfill's own rows:
    the ``fill`` trigger of the same column fires right after it in each of these cases.
    """
    assert spec.written is not None and spec.up is not None
    schema, table = spec.schema, spec.table
    return (
        f"CREATE OR REPLACE TRIGGER {quote_ident(spec.written)} BEFORE UPDATE OF "
        f"{quote_ident(spec.up.target)} ON {qualified(schema, table)} FOR EACH ROW\n"
        f"  WHEN (OLD.{quote_ident(MARKER)} AND {spec.writer()}\n"
        f"    AND {_not_backfilling(spec)})\n"
        f"  EXECUTE FUNCTION {qualified(schema, spec.written)}()"
    )
