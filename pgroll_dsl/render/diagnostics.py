"""Diagnostics -> text (compiler style, with a source excerpt and carets) or JSON.

The other reporters (SARIF, GitHub, GitLab, markdown) have a module each in this package.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable

from pgroll_dsl.diagnostics import Diagnostic
from pgroll_dsl.render.report import sort_key

SourceLookup = Callable[[str], str | None]


def render_text(diagnostics: Iterable[Diagnostic], source: SourceLookup) -> str:
    """``path:line:col: error[CODE]: message``, the source line, carets, then ``= help:``."""
    blocks = []
    for d in sorted(diagnostics, key=sort_key):
        where = f"{d.span}: " if d.span is not None else ""
        lines = [f"{where}{d.severity}[{d.code.id}]: {d.message}"]
        if d.span is not None:
            text = source(d.span.path)
            if text is not None:
                lines.extend(_excerpt(text, d))
        lines.extend(f"  = help: {hint}" for hint in d.hints)
        blocks.append("\n".join(lines))
    return "\n".join(blocks) + ("\n" if blocks else "")


def _excerpt(text: str, d: Diagnostic) -> list[str]:
    assert d.span is not None
    source_lines = text.splitlines()
    if not 1 <= d.span.line <= len(source_lines):
        return []
    line = source_lines[d.span.line - 1].expandtabs(1)
    start = d.span.col - 1
    end = d.span.end_col - 1 if d.span.end_line == d.span.line else len(line)
    width = max(1, min(end, len(line)) - start)
    return [f"    {line}", "    " + " " * start + "^" * width]


def render_json(diagnostics: Iterable[Diagnostic]) -> str:
    """A JSON array of ``Diagnostic.to_dict()``: stable keys for CI scripts."""
    items = [d.to_dict() for d in sorted(diagnostics, key=sort_key)]
    return json.dumps(items, indent=2, ensure_ascii=False) + "\n"
