"""Diagnostics -> what CI systems read: GitHub workflow commands and GitLab Code Quality.

GitHub Actions turns a line ``::error file=F,line=L,col=C,title=T::MESSAGE`` printed by a
step (on stdout or stderr) into an annotation on the pull request's diff; ``::warning`` and
``::notice`` likewise. GitLab reads a Code Quality report (a JSON array, declared as
``artifacts:reports:codequality``) and shows it in the merge request.
"""

from __future__ import annotations

import json
from typing import Any

from pgroll_dsl.diagnostics import Diagnostic, Severity
from pgroll_dsl.render.report import Report, fingerprints, ordered, with_hints

_GITHUB = {Severity.ERROR: "error", Severity.WARNING: "warning", Severity.NOTE: "notice"}
_GITLAB = {Severity.ERROR: "major", Severity.WARNING: "minor", Severity.NOTE: "info"}


def _data(text: str) -> str:
    """A workflow command's message: ``%``, CR and LF escaped (the runner's own rule)."""
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _property(text: str) -> str:
    """A workflow command's property value: also ``:`` and ``,``, which end a property."""
    return _data(text).replace(":", "%3A").replace(",", "%2C")


def github_command(d: Diagnostic) -> str:
    """One workflow command: ``::error file=…,line=…,col=…,title=PGDnnn slug::message``."""
    props = []
    if d.span is not None:
        props += [f"file={_property(d.span.path)}", f"line={d.span.line}", f"col={d.span.col}"]
        if d.span.end_line == d.span.line and d.span.end_col > d.span.col:
            props += [f"endLine={d.span.end_line}", f"endColumn={d.span.end_col}"]
    props.append(f"title={_property(f'{d.code.id} {d.code.slug}')}")
    return f"::{_GITHUB[d.severity]} {','.join(props)}::{_data(with_hints(d))}"


def render_github(report: Report) -> str:
    """A workflow command per finding, in reading order."""
    return "".join(github_command(d) + "\n" for d in ordered(report.diagnostics))


def render_gitlab(report: Report) -> str:
    """A GitLab Code Quality report: one issue per finding."""
    found = ordered(report.diagnostics)
    issues: list[dict[str, Any]] = []
    for d, fingerprint in zip(found, fingerprints(found), strict=True):
        issues.append({
            "type": "issue",
            "check_name": d.code.id,
            "description": f"{d.code.id} {d.code.slug}: {with_hints(d, '; ')}",
            "severity": _GITLAB[d.severity],
            "fingerprint": fingerprint,
            "location": {"path": d.span.path if d.span else ".",
                         "lines": {"begin": d.span.line if d.span else 1}},
        })
    return json.dumps(issues, indent=2, ensure_ascii=False) + "\n"


__all__ = ["github_command", "render_github", "render_gitlab"]
