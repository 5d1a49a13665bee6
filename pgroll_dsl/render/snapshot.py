"""Catalog -> snapshot document (``catalog dump``): the writing half of the snapshot format.

The format, and its strict reader, is ``frontend/snapshot.py``; this side keeps the text
stable and diff-friendly, as the snapshot is reviewed in pull requests: two-space indentation,
keys in the order of the model's fields, a field written only when it differs from the model's
default (``physical`` only when it differs from ``name``), and a trailing newline.
"""

from __future__ import annotations

import json
from dataclasses import MISSING, Field, is_dataclass
from enum import StrEnum
from typing import Any

from pgroll_dsl.catalog.model import Catalog
from pgroll_dsl.frontend.snapshot import FIELDS, FORMAT, PREVIOUS, ROUTINES, VERSION


def dump_snapshot(catalog: Catalog, previous_version_schema: str | None = None) -> str:
    """Render a catalog as a snapshot document.

    Args:
        catalog: The catalog to write; its ``source`` is not part of the snapshot.
        previous_version_schema: The version schema of the database's latest migration
            (``PREVIOUS``), written when there is one.

    Returns:
        JSON text with a trailing newline; equal catalogs give identical text.
    """
    document: dict[str, Any] = {"format": FORMAT, "version": VERSION, "schema": catalog.schema}
    if previous_version_schema is not None:
        document[PREVIOUS] = previous_version_schema
    for name in ("tables", "enums", "sequences"):
        document[name] = [_encode_object(item) for item in getattr(catalog, name)]
    if catalog.routines:  # optional: written only when there are any (see ROUTINES)
        routines = catalog.routines
        document[ROUTINES] = {"functions": sorted(routines.functions),
                              "operators": sorted(routines.operators),
                              "casts": [list(pair) for pair in sorted(routines.casts)],
                              "opaque": routines.opaque}
    return json.dumps(document, indent=2, ensure_ascii=False) + "\n"


def _encode_object(obj: Any) -> dict[str, Any]:
    encoded: dict[str, Any] = {}
    for field in FIELDS[type(obj)]:
        value = getattr(obj, field.name)
        if not _is_default(obj, field, value):
            encoded[field.name] = _encode_value(value)
    return encoded


def _is_default(obj: Any, field: Field[Any], value: Any) -> bool:
    if field.name == "physical":
        return bool(value == obj.name)
    return field.default is not MISSING and bool(value == field.default)


def _encode_value(value: Any) -> Any:
    if isinstance(value, StrEnum):
        return value.value
    if isinstance(value, tuple):
        return [_encode_value(item) for item in value]
    if is_dataclass(value):
        return _encode_object(value)
    return value
