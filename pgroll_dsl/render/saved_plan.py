"""A saved plan (``plan -o FILE``): the reviewed plan, what it was made from, and a digest.

``start --plan FILE`` runs exactly the steps of a saved plan, after checking that the live
schema is still the one it was planned against (``backends/saved_plan.py``). Both ways live
here: writing (``save``) and reading back (``read_saved``), in either format:

* **JSON**: the plan document (``plan/document.py``, what ``plan --format json`` prints) with
  ``basis`` (the catalog's canonical form and fingerprint, the migration as pgroll JSON and
  its fingerprint, the plan options), ``saved_with`` (the pgroll-dsl version, the phases and
  ``lock_timeout`` of the file) and ``digest``, a hash of everything else. The source of truth.
* **SQL**: the plan file a reviewer reads and psql runs, as ``plan`` prints it, with the
  fingerprints in comment lines at the top and the JSON document at the bottom, compressed
  and base64-encoded on ``-- plan-data:`` comment lines. Reading it back decodes the document
  and renders the file again from it: the text must be the same, byte for byte, so what
  runs is what the reviewer read; an edit anywhere (a step, a comment, the data) is refused.

The digest is an integrity check against edits and mix-ups, not a signature: whoever can
write the file can also write a matching digest. Review the file where it is kept.
"""

from __future__ import annotations

import base64
import binascii
import json
import textwrap
import zlib
from dataclasses import asdict, dataclass, replace
from typing import TYPE_CHECKING, Any

from pgroll_dsl import __version__
from pgroll_dsl.catalog.fingerprint import canonical, digest, summary
from pgroll_dsl.plan.document import plan_document, plan_from_document
from pgroll_dsl.plan.model import Basis, Phase, Plan
from pgroll_dsl.render.pgroll_json import to_document
from pgroll_dsl.render.plan_sql import render_plan, setting_line
from pgroll_dsl.sql.session import SETTINGS

if TYPE_CHECKING:
    from pgroll_dsl import ir
    from pgroll_dsl.catalog.model import Catalog
    from pgroll_dsl.plan.options import PlanOptions

DATA_PREFIX = "-- plan-data: "
_DATA_WIDTH = 96


class SavedPlanError(ValueError):
    """A file that is not a saved plan, or one changed since it was written."""


@dataclass(frozen=True, slots=True)
class SavedPlan:
    """A saved plan read back and checked: its steps, and what they were made from."""

    plan: Plan
    basis: Basis
    version: str  # of the pgroll-dsl that wrote it
    path: str  # where it was read from


def basis(migration: ir.Migration, catalog: Catalog, options: PlanOptions) -> Basis:
    """What a plan of ``migration`` against ``catalog`` with ``options`` is made from."""
    form = canonical(catalog)
    document = to_document(migration)
    return Basis(catalog=form, catalog_fingerprint=digest(form), migration=document,
                 migration_fingerprint=digest(document), options=asdict(options))


def save(plan: Plan, plan_format: str, phases: tuple[Phase, ...] = tuple(Phase),
         lock_timeout_ms: int = 500) -> str:
    """The saved plan file in ``plan_format`` (``sql`` or ``json``)."""
    if plan.basis is None:
        raise ValueError("only a plan made by the driver (plan_file) records its basis")
    document = _document(plan, plan.basis, phases, lock_timeout_ms, __version__)
    if plan_format == "json":
        return json.dumps(document, indent=2, ensure_ascii=False) + "\n"
    return _sql(plan, document)


def _document(plan: Plan, made_from: Basis, phases: tuple[Phase, ...], lock_timeout_ms: int,
              version: str) -> dict[str, Any]:
    body = {
        **plan_document(plan),
        "basis": {"catalog_fingerprint": made_from.catalog_fingerprint,
                  "migration_fingerprint": made_from.migration_fingerprint,
                  "options": made_from.options, "migration": made_from.migration,
                  "catalog": made_from.catalog},
        "saved_with": {"pgroll_dsl": version, "phases": [p.value for p in phases],
                       "lock_timeout_ms": int(lock_timeout_ms)},
    }
    return {**body, "digest": digest(body)}


def _sql(plan: Plan, document: dict[str, Any]) -> str:
    made_from, saved_with = document["basis"], document["saved_with"]
    options = ", ".join(f"{k}={v}" for k, v in sorted(made_from["options"].items()))
    head = [
        "-- saved plan: `pgroll-dsl start --plan FILE` runs these steps after checking that the "
        "database still matches",
        f"-- catalog fingerprint: {made_from['catalog_fingerprint']} (the whole schema: "
        f"{summary(made_from['catalog'])})",
        f"-- migration fingerprint: {made_from['migration_fingerprint']} ({plan.migration})",
        f"-- plan options: {options}",
        f"-- plan digest: {document['digest']}",
    ]
    phases = tuple(Phase(p) for p in saved_with["phases"])
    body = render_plan(plan, phases, saved_with["lock_timeout_ms"])
    packed = json.dumps(document, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    data = base64.b64encode(zlib.compress(packed.encode(), 9)).decode()
    tail = ["-- ==== saved plan data: the plan above as JSON (zlib, base64), read by "
            "`start --plan`; the text above must match it ====",
            *(DATA_PREFIX + chunk for chunk in textwrap.wrap(data, _DATA_WIDTH))]
    return "\n".join(head) + "\n" + body + "\n" + "\n".join(tail) + "\n"


def read_saved(text: str, path: str) -> SavedPlan:
    """A saved plan file (either format), checked for edits; ``SavedPlanError`` if not one."""
    data = [line[len(DATA_PREFIX):] for line in text.splitlines() if line.startswith(DATA_PREFIX)]
    if data:
        document = _unpack("".join(data), path)
    else:
        try:
            document = json.loads(text)
        except ValueError:
            raise SavedPlanError(f"{path} is not a saved plan: no plan data in it (write one "
                                 "with `pgroll-dsl plan MIGRATION -o FILE`)") from None
    saved = _checked(document, path)
    if data and saved.version != __version__:
        raise SavedPlanError(f"{path} was written by pgroll-dsl {saved.version}, this is "
                             f"{__version__}: make the plan again with this version (or use the "
                             "JSON form, whose steps do not depend on how they are printed)")
    if data:
        _same_text(text, _sql(saved.plan, document), path)
    return saved


def _unpack(data: str, path: str) -> Any:
    try:
        return json.loads(zlib.decompress(base64.b64decode(data, validate=True)))
    except (binascii.Error, zlib.error, ValueError):
        raise SavedPlanError(f"{path}: the plan data at its end is damaged (edited after "
                             "`plan -o` wrote it?); make the plan again") from None


def _checked(document: Any, path: str) -> SavedPlan:
    if not isinstance(document, dict) or not {"basis", "saved_with", "digest"} <= document.keys():
        raise SavedPlanError(f"{path} is not a saved plan (no fingerprint): write it with "
                             "`pgroll-dsl plan MIGRATION -o FILE`")
    body = {k: v for k, v in document.items() if k != "digest"}
    if digest(body) != document["digest"]:
        raise SavedPlanError(f"{path} was changed after it was written: its digest does not "
                             "match its content; make the plan again and have it reviewed")
    try:
        raw = document["basis"]
        made_from = Basis(catalog=raw["catalog"], catalog_fingerprint=raw["catalog_fingerprint"],
                          migration=raw["migration"],
                          migration_fingerprint=raw["migration_fingerprint"],
                          options=raw["options"])
        plan = replace(plan_from_document(document), basis=made_from)
        version = str(document["saved_with"]["pgroll_dsl"])
    except (KeyError, TypeError, ValueError) as err:
        raise SavedPlanError(f"{path} is not a saved plan this pgroll-dsl can read "
                             f"({type(err).__name__}: {err})") from None
    if digest(made_from.catalog) != made_from.catalog_fingerprint or (
            digest(made_from.migration) != made_from.migration_fingerprint):
        raise SavedPlanError(f"{path}: a fingerprint does not match what it was computed from")
    return SavedPlan(plan, made_from, version, path)


def _same_text(text: str, expected: str, path: str) -> None:
    """The SQL a reviewer read is the SQL the data renders to, line for line.

    Line endings are not part of what was reviewed: git may check the file out with CRLF
    (``core.autocrlf``) and an editor may drop the final newline.
    """
    text, expected = _lines(text), _lines(expected)
    if text != expected:
        # A session setting of the header that a later version added (sql/session.py) is not
        # in a plan saved before it. The header is psql's: the live executor's session sets
        # them itself, and the steps are compared line for line all the same.
        added = {setting_line(s) for s in SETTINGS} - set(text.splitlines())
        expected = "".join(f"{line}\n" for line in expected.splitlines() if line not in added)
    if text == expected:
        return
    ours, theirs = expected.splitlines(), text.splitlines()
    line = next((n for n, (a, b) in enumerate(zip(ours, theirs, strict=False), 1) if a != b),
                min(len(ours), len(theirs)) + 1)
    raise SavedPlanError(f"{path}:{line}: the SQL differs from the plan the file carries (edited "
                         "after `plan -o` wrote it, or written by another pgroll-dsl version): "
                         "make the plan again and have it reviewed")


def _lines(text: str) -> str:
    return text.replace("\r\n", "\n").rstrip("\n") + "\n"


__all__ = ["DATA_PREFIX", "SavedPlan", "SavedPlanError", "basis", "read_saved", "save"]
