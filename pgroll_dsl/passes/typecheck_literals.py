"""Whether a constant fits its column's type, judged offline, only where the answer is certain.

A quoted constant (``'abc'``) has no type of its own in PostgreSQL: its place gives it one, and
the type's input function reads it. ``int default 'abc'`` is accepted by every parser and
fails only when PostgreSQL reads the text as an integer. Each rule here recognises text that
the input function of one type *certainly* refuses, and is deliberately looser than that
function: text it cannot judge (``'today'`` for a date, ``'0x1F'`` for an integer) passes.
Numeric constants are checked against the range of integer columns and the precision of
``numeric(p,s)``; quoted text against the length of ``varchar(n)``/``char(n)`` and the labels
of an enum. ``tests/test_typecheck_literals.py`` asks the server about every refusal.
"""

from __future__ import annotations

import re
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation, localcontext

_RANGES = {"int2": (-(2**15), 2**15 - 1), "int4": (-(2**31), 2**31 - 1),
           "int8": (-(2**63), 2**63 - 1)}

# Looser than PostgreSQL's input functions: a match may still be refused, a mismatch never
# is accepted. Integers take underscores and 0x/0o/0b prefixes since PostgreSQL 16.
_INTEGER = re.compile(r"\s*[+-]?(0[xXoObB][0-9a-fA-F_]+|[0-9][0-9_]*)\s*")
_DECIMAL = re.compile(
    r"\s*[+-]?(0[xXoObB][0-9a-fA-F_]+|([0-9][0-9_]*\.?[0-9_]*|\.[0-9][0-9_]*)"
    r"([eE][+-]?[0-9]+)?|nan|inf|infinity)\s*", re.IGNORECASE)
_BOOLEAN_WORDS = ("true", "false", "yes", "no")
_DATETIME_WORDS = frozenset({"epoch", "infinity", "+infinity", "-infinity", "now", "today",
                             "tomorrow", "yesterday", "allballs"})
_PLAIN_INTEGER = re.compile(r"\s*[+-]?[0-9]+\s*")

EXAMPLES = {
    "int2": "42", "int4": "42", "int8": "42", "numeric": "12.50", "float4": "1.5",
    "float8": "1.5", "bool": "true", "date": "'2024-01-31'", "timestamp":
    "'2024-01-31 12:00:00'", "timestamptz": "'2024-01-31 12:00:00+00'", "time": "'12:00:00'",
    "timetz": "'12:00:00+00'", "uuid": "'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11'",
    "json": "'{\"a\": 1}'", "jsonb": "'{\"a\": 1}'",
}


def text_problem(text: str, target: str, mods: tuple[int, ...],
                 labels: tuple[str, ...] | None) -> str | None:
    """Why the input function of ``target`` refuses ``text``, or None if it may accept it.

    ``mods`` are the column's type modifiers, ``labels`` an enum's labels (None: not an enum).
    """
    if labels is not None:
        return None if text in labels else f"the enum's labels are {_labels(labels)}"
    if target in _RANGES:
        if not _INTEGER.fullmatch(text):
            return "not a whole number"
        return _range_problem(text, target) if _PLAIN_INTEGER.fullmatch(text) else None
    if target in ("numeric", "float4", "float8"):
        if not _DECIMAL.fullmatch(text):
            return "not a number"
        return numeric_problem(text, mods) if target == "numeric" else None
    if target == "bool":
        return None if _boolean(text) else "a boolean is true, false, yes, no, on or off"
    if target in ("date", "timestamp", "timestamptz", "time", "timetz"):
        # A special word may come with more (`'today UTC'`, `'now()'`, `'yesterday Z'`): any
        # word of the text counts, not only the whole of it.
        words = re.split(r"[^a-z+-]+", text.lower())
        if not any(c.isdigit() for c in text) and _DATETIME_WORDS.isdisjoint(words):
            return "it has no digits and is no special value (today, now, epoch, infinity, …)"
        return None
    if target == "uuid":
        return None if _uuid(text) else "a UUID has 32 hexadecimal digits"
    if target in ("json", "jsonb"):
        import json  # here: the one use, and no command that prints SQL loads it otherwise

        try:
            json.loads(text)
        except RecursionError:
            return None  # nested deeper than Python reads: PostgreSQL may still read it
        except ValueError:
            return "it does not parse as JSON"
        return None
    if target in ("varchar", "bpchar") and len(mods) == 1:
        if len(text.rstrip(" ")) > mods[0]:
            return f"{len(text)} characters, more than {mods[0]}"
    return None


def number_problem(number: str, target: str, mods: tuple[int, ...]) -> str | None:
    """Why a numeric constant does not fit ``target`` (range, precision), or None."""
    if target in _RANGES:
        try:
            value = Decimal(number).quantize(Decimal(1), rounding=ROUND_HALF_UP)
        except InvalidOperation:
            return None
        low, high = _RANGES[target]
        if not low <= value <= high:
            return f"out of range ({low} to {high})"
        return None
    if target == "numeric":
        return numeric_problem(number, mods)
    return None


def _range_problem(text: str, target: str) -> str | None:
    low, high = _RANGES[target]
    value = int(text.strip())
    return None if low <= value <= high else f"out of range ({low} to {high})"


def numeric_problem(text: str, mods: tuple[int, ...]) -> str | None:
    """``numeric(p,s)``: more digits before the point than ``p - s`` (after rounding)."""
    if not mods or len(mods) > 2:
        return None
    precision, scale = mods[0], mods[1] if len(mods) == 2 else 0
    try:
        value = Decimal(text.strip().replace("_", ""))
    except InvalidOperation:
        return None
    if not value.is_finite() or scale < 0 or scale > precision:
        return None
    # Rounding never shrinks a value: one with as many digits before the point as the type
    # allows overflows already, and the others round within a context wide enough for them
    # (Decimal's default of 28 digits refuses `'1e400'` or a long numeric(40,2) constant).
    too_wide = value != 0 and value.adjusted() >= precision - scale
    if not too_wide:
        with localcontext() as context:
            context.prec = max(context.prec, precision + 2)
            rounded = value.quantize(Decimal(1).scaleb(-scale), rounding=ROUND_HALF_UP)
        too_wide = abs(rounded) >= Decimal(10) ** (precision - scale)
    if too_wide:
        return (f"more than {precision - scale} digits before the decimal point "
                f"(numeric({precision},{scale}))")
    return None


def _boolean(text: str) -> bool:
    word = text.strip().lower()
    if word in ("on", "off", "of", "1", "0"):
        return True
    return bool(word) and any(w.startswith(word) for w in _BOOLEAN_WORDS)


def _uuid(text: str) -> bool:
    body = text.strip()
    if body.startswith("{") and body.endswith("}"):
        body = body[1:-1]
    digits = body.replace("-", "")
    return len(digits) == 32 and all(c in "0123456789abcdefABCDEF" for c in digits)


def _labels(labels: tuple[str, ...]) -> str:
    shown = ", ".join(f"'{label}'" for label in labels[:6])
    return shown + (", …" if len(labels) > 6 else "")
