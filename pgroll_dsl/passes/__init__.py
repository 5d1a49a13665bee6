"""Passes over the IR. Each pass is one module named after its one public function.

The front-end passes here need no catalog; catalog resolution and the optimizer build on them.
"""

from __future__ import annotations

from collections.abc import Callable

from pgroll_dsl import ir
from pgroll_dsl.diagnostics import Diagnostics
from pgroll_dsl.passes.check_expressions import check_expressions
from pgroll_dsl.passes.check_structure import check_structure

Pass = Callable[[ir.Migration, Diagnostics], None]

PIPELINE: tuple[Pass, ...] = (
    check_structure,  # names: 63-byte limit, empty or NUL; options that exclude each other
    check_expressions,  # embedded SQL parses, and each expression is exactly one expression
)


def run_checks(migration: ir.Migration, sink: Diagnostics) -> None:
    """Run every front-end pass; all of them report, none stops the others."""
    for run_pass in PIPELINE:
        run_pass(migration, sink)
