"""The backfill's progress bar: presentation only, fed by the executor's progress callback.

rich is imported on the first report on a terminal, so commands that never backfill (and any
run whose stderr is not a terminal, such as CI) never load it.
"""

from __future__ import annotations

import sys
from typing import Any


class BackfillProgress:
    """Backfill progress: a rich bar with rows/s and ETA on a terminal, quiet otherwise."""

    def __init__(self) -> None:
        self.enabled = sys.stderr.isatty()
        self.bars: dict[str, Any] = {}
        self.progress: Any = None

    def __call__(self, table: str, rows: int, total: int) -> None:
        """One report of the executor: ``rows`` of ``total`` done on ``table``."""
        if not self.enabled:
            return
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            Progress,
            TextColumn,
            TimeRemainingColumn,
        )

        if self.progress is None:
            rate = TextColumn("{task.fields[rate]:>8} rows/s")
            self.progress = Progress(TextColumn("backfill {task.description}"), BarColumn(),
                                     MofNCompleteColumn(), rate, TimeRemainingColumn(),
                                     transient=True)
            self.progress.start()
        if table not in self.bars:
            self.bars[table] = self.progress.add_task(table, total=total or None, rate="-")
        task = self.bars[table]
        speed = self.progress.tasks[task].speed if rows else None
        self.progress.update(task, completed=rows, total=max(total, rows) or None,
                             rate=f"{speed:,.0f}" if speed else "-")

    def stop(self) -> None:
        """Take the bar off the terminal (before the next message is printed)."""
        if self.progress is not None:
            self.progress.stop()
