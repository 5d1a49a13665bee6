"""Catalog snapshots: a ``Catalog`` as a JSON file, so checks can run without a database.

A snapshot is taken once from a live database (or from replay) and committed next to the
migrations; later runs of the compiler read it instead of connecting anywhere. It is meant to
be reviewed in pull requests, so the text is stable and diff-friendly: two-space indentation,
keys in the order of the model's fields, lists in the catalog's (sorted) order, a field
written only when it differs from the model's default (``physical`` only when it differs from
``name``), and a trailing newline.

The document is ``{"format": "pgroll-dsl-catalog", "version": 1, "schema": ..., "tables":
[...], "enums": [...], "sequences": [...]}``, with an optional ``"routines"`` (see
``ROUTINES``) and ``"previous_version_schema"`` (see ``PREVIOUS``); below the top level the
shape follows the model (``catalog/model.py``) field by field, so a field added to the model
is written and read without a change here. This module defines the format and reads it;
``render/snapshot.py`` writes it. Reading is strict: an unknown key, a value of the wrong
type, a missing required field (``format``, ``version``, ``schema`` and every model field
without a default) or a name given twice in one list is a diagnostic pointing at the line and
column of the offending text.
"""

from __future__ import annotations

import json
import types
from dataclasses import MISSING, Field, dataclass, fields, is_dataclass
from enum import StrEnum
from typing import Any, Union, get_args, get_origin, get_type_hints

from pgroll_dsl.catalog.model import (
    Catalog,
    Column,
    Constraint,
    EnumType,
    ExclusionElement,
    ForeignKey,
    Index,
    KeyOptions,
    Routines,
    Sequence,
    Table,
)
from pgroll_dsl.diagnostics import CompileError, Diagnostic, codes
from pgroll_dsl.frontend.document import JNode, parse_json

FORMAT = "pgroll-dsl-catalog"
VERSION = 1
_HEADER = ("format", "version")
# The optional top-level key of the user's functions, operators and casts (``Routines``):
# not part of catalog equality, so outside ``FIELDS``; a snapshot without it (older ones)
# reads as "none". ``{"functions": [names], "operators": [symbols], "casts": [[source,
# target]], "opaque": bool}``, each member optional.
ROUTINES = "routines"
# The optional top-level key naming the version schema of the database's latest migration
# when the snapshot was taken (``catalog dump``): a plan made from the snapshot then drops it
# at complete and tells its clients from the new version's, as a plan made against the
# database does. Written only when there is one; a snapshot without it (older ones, or a
# database with no migration) reads as "none".
PREVIOUS = "previous_version_schema"
_ROUTINE_SETS = ("functions", "operators", "casts")
_WHAT = {
    Catalog: "catalog", Table: "table", Column: "column", Constraint: "constraint",
    ForeignKey: "foreign key", Index: "index", EnumType: "enum type", Sequence: "sequence",
    KeyOptions: "key's options", ExclusionElement: "exclusion element",
}


class _Invalid:
    """Marks a value that could not be read (a diagnostic has been recorded)."""


_INVALID = _Invalid()
# The fields a snapshot holds (those that take part in equality), and their types; the
# writer (render/snapshot.py) writes the same fields.
FIELDS: dict[type, tuple[Field[Any], ...]] = {
    cls: tuple(f for f in fields(cls) if f.compare) for cls in _WHAT
}
_HINTS: dict[type, dict[str, Any]] = {cls: get_type_hints(cls) for cls in _WHAT}


# ---- reading ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Snapshot:
    """What a snapshot holds: the catalog, and the version schema of the latest migration."""

    catalog: Catalog
    previous_version_schema: str | None = None


def load_snapshot(text: str, path: str) -> Catalog:
    """Read a snapshot document back into a catalog (see :func:`read_snapshot`)."""
    return read_snapshot(text, path).catalog


def read_snapshot(text: str, path: str) -> Snapshot:
    """Read a snapshot document back into a catalog and its previous version schema.

    Args:
        text: The document.
        path: Where it was read from, for diagnostics and the catalog's ``source``.

    Returns:
        The catalog, with ``source`` set to ``"snapshot <path>"``, and the previous version
        schema the document names (``None`` when it names none).

    Raises:
        CompileError: The text is not JSON, not a catalog snapshot of a supported version,
            or does not have the expected shape; every problem found is reported.
    """
    root = parse_json(text, path)
    errors: list[Diagnostic] = []
    snapshot = _read_document(root, path, errors)
    if errors or not isinstance(snapshot, Snapshot):
        raise CompileError(errors)
    return snapshot


def _read_document(root: JNode, path: str, errors: list[Diagnostic]) -> Snapshot | _Invalid:
    if not isinstance(root.value, dict):
        errors.append(Diagnostic(codes.WRONG_TYPE,
                                 f"a catalog snapshot is an object, not {_a(root.type_name)}",
                                 root.span))
        return _INVALID
    if not _header_ok(root, errors):
        return _INVALID
    extra: dict[str, Any] = {"source": f"snapshot {path}"}
    members = root.value
    if ROUTINES in members:
        routines = _decode_routines(members[ROUTINES], errors)
        if isinstance(routines, Routines):
            extra["routines"] = routines
    previous: str | None = None
    if PREVIOUS in members:
        node = members[PREVIOUS]
        if not isinstance(node.value, str | None):
            errors.append(_wrong_type(PREVIOUS, "string", node))
        elif node.value == "":
            errors.append(Diagnostic(codes.INVALID_VALUE,
                                     f"{PREVIOUS!r} names a schema: it cannot be empty",
                                     node.span))
        else:
            previous = node.value
    catalog = _decode_object(root, Catalog, errors, ignore=(*_HEADER, ROUTINES, PREVIOUS),
                             extra=extra, required=("schema",))
    return Snapshot(catalog, previous) if isinstance(catalog, Catalog) else _INVALID


def _decode_routines(node: JNode, errors: list[Diagnostic]) -> Routines | _Invalid:
    """The optional ``routines`` object (see ``ROUTINES``)."""
    if not isinstance(node.value, dict):
        errors.append(_wrong_type(ROUTINES, "object", node))
        return _INVALID
    before = len(errors)
    _check_keys(node, "routines object", (*_ROUTINE_SETS, "opaque"), errors)
    found: dict[str, Any] = {}
    for key in _ROUTINE_SETS:
        member = node.value.get(key)
        if member is None:
            continue
        if not isinstance(member.value, list):
            errors.append(_wrong_type(key, "array", member))
            continue
        items: list[Any] = []
        for element in member.value:
            value = element.value
            if key == "casts":
                pair = value if isinstance(value, list) else []
                if len(pair) != 2 or not all(isinstance(p.value, str) for p in pair):
                    errors.append(_wrong_type(key, "pair of type names", element))
                    continue
                items.append((pair[0].value, pair[1].value))
            elif isinstance(value, str):
                items.append(value)
            else:
                errors.append(_wrong_type(key, "string", element))
        found[key] = frozenset(items)
    opaque = node.value.get("opaque")
    if opaque is not None:
        found["opaque"] = _decode_scalar(opaque, bool, "opaque", errors)
    return _INVALID if len(errors) > before else Routines(**found)


def _header_ok(root: JNode, errors: list[Diagnostic]) -> bool:
    """``format`` and ``version`` say the rest can be read at all."""
    members = root.value
    assert isinstance(members, dict)
    expected: dict[str, str | int] = {"format": FORMAT, "version": VERSION}
    before = len(errors)
    for key, wanted in expected.items():
        node = members.get(key)
        if node is None:
            errors.append(Diagnostic(codes.MISSING_FIELD,
                                     f"a catalog snapshot needs {key!r}", root.span))
        elif type(node.value) is not type(wanted) or node.value != wanted:
            errors.append(Diagnostic(codes.INVALID_VALUE,
                                     f"{key!r} must be {json.dumps(wanted)}, "
                                     f"not {json.dumps(node.value)}", node.span,
                                     (f"this reader understands {FORMAT} version {VERSION}",)))
    return len(errors) == before


def _decode_object(
    node: JNode, cls: type[Any], errors: list[Diagnostic], *,
    ignore: tuple[str, ...] = (), extra: dict[str, Any] | None = None,
    required: tuple[str, ...] = (),
) -> Any:
    """One model object; unknown keys, missing required fields and bad values are reported.

    A field is required when the model gives it no default, or when it is in ``required``.
    """
    what = _WHAT[cls]
    if not isinstance(node.value, dict):
        errors.append(Diagnostic(codes.WRONG_TYPE,
                                 f"a {what} is an object, not {_a(node.type_name)}", node.span))
        return _INVALID
    known = {f.name: f for f in FIELDS[cls]}
    before = len(errors)
    _check_keys(node, what, (*known, *ignore), errors)
    values = dict(extra or {})
    for name, field in known.items():
        if name in node.value:
            value = _decode_value(node.value[name], _HINTS[cls][name], name, errors)
            values[name] = value
        elif name in required or (field.default is MISSING
                                   and field.default_factory is MISSING):
            errors.append(Diagnostic(codes.MISSING_FIELD, f"a {what} needs {name!r}",
                                     node.span))
    if len(errors) > before:
        return _INVALID
    return cls(**values)


def _check_keys(node: JNode, what: str, allowed: tuple[str, ...],
                errors: list[Diagnostic]) -> None:
    assert isinstance(node.value, dict)
    for key in node.value:
        if key not in allowed:
            errors.append(Diagnostic(codes.UNKNOWN_KEY, f"unknown key {key!r} in a {what}",
                                     node.key_spans[key],
                                     (f"a {what} has: {', '.join(allowed)}",)))


def _decode_value(node: JNode, hint: Any, key: str, errors: list[Diagnostic]) -> Any:
    origin = get_origin(hint)
    if origin in (Union, types.UnionType):
        if node.value is None:
            return None  # every union in the model is "X | None"
        (inner,) = (arg for arg in get_args(hint) if arg is not type(None))
        return _decode_value(node, inner, key, errors)
    if origin is tuple:
        return _decode_list(node, get_args(hint)[0], key, errors)
    if isinstance(hint, type) and issubclass(hint, StrEnum):
        return _decode_enum(node, hint, key, errors)
    if isinstance(hint, type) and is_dataclass(hint):
        return _decode_object(node, hint, errors)
    return _decode_scalar(node, hint, key, errors)


def _decode_scalar(node: JNode, hint: Any, key: str, errors: list[Diagnostic]) -> Any:
    if type(node.value) is not hint:  # exact: a boolean is not a number here
        expected = {str: "string", bool: "boolean", int: "number"}[hint]
        errors.append(_wrong_type(key, expected, node))
        return _INVALID
    return node.value


def _decode_enum(node: JNode, hint: type[StrEnum], key: str, errors: list[Diagnostic]) -> Any:
    allowed = [member.value for member in hint]
    if not isinstance(node.value, str):
        errors.append(_wrong_type(key, "string", node))
        return _INVALID
    if node.value not in allowed:
        errors.append(Diagnostic(codes.INVALID_VALUE,
                                 f"{key!r} cannot be {node.value!r}", node.span,
                                 ("one of: " + ", ".join(repr(a) for a in allowed),)))
        return _INVALID
    return hint(node.value)


def _decode_list(node: JNode, item: Any, key: str, errors: list[Diagnostic]) -> Any:
    if not isinstance(node.value, list):
        errors.append(_wrong_type(key, "array", node))
        return _INVALID
    decoded = tuple(_decode_value(element, item, key, errors) for element in node.value)
    if isinstance(item, type) and is_dataclass(item):
        _check_unique_names(node.value, _WHAT[item], errors)
    return decoded


def _check_unique_names(elements: list[JNode], what: str, errors: list[Diagnostic]) -> None:
    """Names identify tables, columns, constraints, ...: each may occur once per list."""
    seen: set[str] = set()
    for element in elements:
        name = element.value.get("name") if isinstance(element.value, dict) else None
        if name is None or not isinstance(name.value, str):
            continue
        if name.value in seen:
            errors.append(Diagnostic(codes.DUPLICATE_FIELD,
                                     f"{what} {name.value!r} is given twice", name.span))
        seen.add(name.value)


def _wrong_type(key: str, expected: str, node: JNode) -> Diagnostic:
    return Diagnostic(codes.WRONG_TYPE,
                      f"{key!r} must be {_a(expected)}, not {_a(node.type_name)}", node.span)


def _a(noun: str) -> str:
    """``an array``, ``a string``; ``null`` stays bare."""
    if noun == "null":
        return noun
    return ("an " if noun[0] in "aeiou" else "a ") + noun
