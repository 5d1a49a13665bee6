"""Every diagnostic pgroll-dsl can emit. Codes are stable; a retired code is never reused.

Ranges: PGD0xx syntax, PGD1xx structure and shape, PGD2xx resolution against the catalog,
PGD3xx operation semantics, PGD4xx safety lints, PGD5xx embedded SQL, PGD9xx environment.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Severity(StrEnum):
    """How bad a diagnostic is; only errors make a command fail."""

    ERROR = "error"
    WARNING = "warning"
    NOTE = "note"


@dataclass(frozen=True, slots=True)
class Code:
    """A stable diagnostic identity: ``id`` and ``slug`` are both accepted by filters."""

    id: str
    slug: str
    severity: Severity
    summary: str


_E = Severity.ERROR

# PGD0xx: the text does not parse.
SYNTAX_ERROR = Code("PGD001", "syntax-error", _E, "the DSL text does not parse")
UNEXPECTED_END = Code("PGD002", "unexpected-end", _E, "the file ends in the middle of a statement")
MISSING_SEMICOLON = Code("PGD003", "missing-semicolon", _E, "a statement is not closed by ';'")
INVALID_CHARACTER = Code("PGD004", "invalid-character", _E, "a character that starts no token")
UNTERMINATED = Code("PGD005", "unterminated", _E, "a string, identifier or SQL block is not closed")
JSON_SYNTAX = Code("PGD010", "json-syntax", _E, "the JSON document does not parse")
YAML_SYNTAX = Code("PGD011", "yaml-syntax", _E, "the YAML document does not parse")
UNREADABLE_FILE = Code("PGD012", "unreadable-file", _E, "the file cannot be read as UTF-8 text")
UNKNOWN_FORMAT = Code("PGD013", "unknown-format", _E, "the file extension names no known format")

# PGD1xx: the document has the wrong shape.
UNKNOWN_KEY = Code("PGD101", "unknown-key", _E, "a key pgroll does not accept at this place")
MISSING_FIELD = Code("PGD102", "missing-field", _E, "a required field is absent")
WRONG_TYPE = Code("PGD103", "wrong-type", _E, "a value of the wrong JSON type")
INVALID_VALUE = Code("PGD104", "invalid-value", _E, "a value outside the allowed set")
IDENTIFIER_TOO_LONG = Code("PGD105", "identifier-too-long", _E, "a name over 63 bytes")
BAD_TYPE_NAME = Code("PGD106", "bad-type-name", _E, "a column type that is not a type name")
DUPLICATE_FIELD = Code("PGD107", "duplicate-field", _E, "the same field or clause given twice")
OPERATION_SHAPE = Code("PGD108", "operation-shape", _E, "an operation needs exactly one key")
UNKNOWN_OPERATION = Code("PGD109", "unknown-operation", _E, "an operation type pgroll lacks")
INVALID_IDENTIFIER = Code("PGD110", "invalid-identifier", _E, "an empty name or one with a NUL")
CONFLICTING_OPTIONS = Code("PGD111", "conflicting-options", _E, "options that exclude each other")
EMPTY_MIGRATION = Code("PGD112", "empty-migration", Severity.WARNING, "a file with no operation")

# PGD5xx: embedded SQL is not what its place requires.
EXPRESSION_SYNTAX = Code("PGD501", "expression-syntax", _E, "embedded SQL does not parse")
NOT_ONE_EXPRESSION = Code(
    "PGD502", "not-one-expression", _E, "embedded SQL escapes its expression (injection)"
)
EMPTY_EXPRESSION = Code("PGD503", "empty-expression", _E, "an expression that is empty")

ALL_CODES: tuple[Code, ...] = tuple(v for v in list(globals().values()) if isinstance(v, Code))
