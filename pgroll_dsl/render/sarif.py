"""Diagnostics -> SARIF 2.1.0, the format code-scanning services read (GitHub's among them).

One run of the tool ``pgroll-dsl``: the codes found are its rules (id, slug, summary and
default level), each finding a result at its file, line and column. Paths are written as
given on the command line: relative ones (what a CI job passes) are relative to the checkout
(``%SRCROOT%``), which is how GitHub places the alerts on the diff. The output is checked
against the official schema in the tests (tests/fixtures/sarif/).
"""

from __future__ import annotations

import json
from pathlib import PurePosixPath, PureWindowsPath
from typing import Any
from urllib.parse import quote

from pgroll_dsl import __version__
from pgroll_dsl.diagnostics import Diagnostic, Severity
from pgroll_dsl.render.report import Report, fingerprints, ordered

SCHEMA_URI = ("https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/"
              "sarif-schema-2.1.0.json")

# SARIF's levels are PostgreSQL-free: a note is a note.
_LEVEL = {Severity.ERROR: "error", Severity.WARNING: "warning", Severity.NOTE: "note"}


def render_sarif(report: Report) -> str:
    """The SARIF log of a report, indented, ending in a newline."""
    found = ordered(report.diagnostics)
    rules: dict[str, int] = {}
    rule_objects: list[dict[str, Any]] = []
    for d in found:
        if d.code.id not in rules:
            rules[d.code.id] = len(rule_objects)
            rule_objects.append({
                "id": d.code.id,
                "name": d.code.slug,
                "shortDescription": {"text": d.code.summary},
                "defaultConfiguration": {"level": _LEVEL[d.code.severity]},
            })
    results = [_result(d, rules[d.code.id], fingerprint)
               for d, fingerprint in zip(found, fingerprints(found), strict=True)]
    log = {
        "$schema": SCHEMA_URI,
        "version": "2.1.0",
        "runs": [{
            "tool": {"driver": {"name": "pgroll-dsl", "version": __version__,
                                "rules": rule_objects}},
            "originalUriBaseIds": {"%SRCROOT%": {"description": {
                "text": "the directory pgroll-dsl ran in (the checkout)"}}},
            "results": results,
            "columnKind": "unicodeCodePoints",
        }],
    }
    return json.dumps(log, indent=2, ensure_ascii=False) + "\n"


def _result(d: Diagnostic, rule_index: int, fingerprint: str) -> dict[str, Any]:
    message = d.message + "".join(f"\nhelp: {hint}" for hint in d.hints)
    result: dict[str, Any] = {
        "ruleId": d.code.id,
        "ruleIndex": rule_index,
        "level": _LEVEL[d.severity],
        "message": {"text": message},
    }
    if d.span is not None:
        region = {"startLine": d.span.line, "startColumn": d.span.col}
        if (d.span.end_line, d.span.end_col) > (d.span.line, d.span.col):
            region |= {"endLine": d.span.end_line, "endColumn": d.span.end_col}
        result["locations"] = [{"physicalLocation": {
            "artifactLocation": artifact(d.span.path), "region": region}}]
    result["fingerprints"] = {"pgroll-dsl/v1": fingerprint}
    return result


def artifact(path: str) -> dict[str, str]:
    """A SARIF artifact location: relative paths from the checkout, absolute ones as file URIs."""
    if PureWindowsPath(path).is_absolute() and not path.startswith("/"):
        return {"uri": PureWindowsPath(path).as_uri()}
    if path.startswith("/"):
        return {"uri": PurePosixPath(path).as_uri()}
    posix = PureWindowsPath(path).as_posix() if "\\" in path else path
    posix = posix.removeprefix("./")
    return {"uri": quote(posix), "uriBaseId": "%SRCROOT%"}


__all__ = ["SCHEMA_URI", "artifact", "render_sarif"]
