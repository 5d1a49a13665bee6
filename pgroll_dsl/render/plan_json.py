"""Plan -> JSON (``plan --format json``): the plan file's content for PR checks and tools.

The document is the one the executor stores at start (``plan/document.py``), so what a tool
reads here is what ``complete`` and ``rollback`` will run.
"""

from __future__ import annotations

import json

from pgroll_dsl.plan.document import plan_document
from pgroll_dsl.plan.model import Plan


def plan_json(plan: Plan) -> str:
    """Machine-readable plan for PR checks and tools."""
    return json.dumps(plan_document(plan), indent=2, ensure_ascii=False) + "\n"
