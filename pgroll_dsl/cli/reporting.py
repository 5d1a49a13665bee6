"""Where ``validate`` and ``plan`` write their report, in which format, and the summary line.

The report (``render.report.Report``) goes to stderr, as diagnostics always have, or to
``--report-file``. A format that is a document for a program (JSON, SARIF, GitLab) is never
mixed with anything else: the summary line (``4 migrations checked, 0 errors, 2
warnings``) is printed on stderr only when the report is text or goes to a file.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from pgroll_dsl import render
from pgroll_dsl.cli.exit import _source, usage_error
from pgroll_dsl.cli.options import DiagnosticsFormat
from pgroll_dsl.diagnostics import Severity

if TYPE_CHECKING:
    from pgroll_dsl.render.report import Report

_FORMATS = "|".join(render.DIAGNOSTICS.names)

# validate's --format, under the name plan has for it too.
ReportFormatOpt = Annotated[DiagnosticsFormat, typer.Option(
    "--format", "--report-format", metavar=f"[{_FORMATS}]",
    help="The report: text (compiler style), json, sarif (code scanning), github (workflow "
         "annotations), gitlab (Code Quality) or markdown (a pull-request comment).")]
# plan's: its --format is the plan's own (sql, json); None follows it (text, or json).
PlanReportFormatOpt = Annotated[DiagnosticsFormat | None, typer.Option(
    "--report-format", metavar=f"[{_FORMATS}]",
    help="The report of diagnostics and the plan's summary (default: text with --format sql, "
         "json with --format json); see validate.")]
ReportFileOpt = Annotated[Path | None, typer.Option(
    "--report-file", metavar="FILE",
    help="Write the report here (always, even with no finding) instead of stderr.")]

# Formats whose report is a whole document: written even when there is no finding.
_ALWAYS = frozenset({"sarif", "gitlab", "markdown"})


def emit(report: Report, fmt: str, report_file: Path | None, *, success_line: bool) -> None:
    """Write ``report`` in format ``fmt``; then, if asked and it fits, the summary line."""
    name = str(fmt)
    # Lines of our own on stderr only when stderr holds no document of another format.
    talk = report_file is not None or name == "text"
    errors = report.count(Severity.ERROR)
    if talk and report.skipped and errors:
        typer.echo(f"{report.skipped} applied migration{'s' if report.skipped != 1 else ''} "
                   "skipped: the database has them already", err=True)
    if report_file is not None:
        text = render.DIAGNOSTICS[name](report, _source)
        try:
            report_file.write_text(text, encoding="utf-8")
        except OSError as err:
            usage_error(f"cannot write {report_file}: {err.strerror}")
    elif report.diagnostics or name in _ALWAYS:
        sys.stderr.write(render.DIAGNOSTICS[name](report, _source))
    if talk and success_line and not errors:
        typer.echo(report.summary_line(), err=True)


__all__ = ["PlanReportFormatOpt", "ReportFileOpt", "ReportFormatOpt", "emit"]
