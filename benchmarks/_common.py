"""Shared helpers of the live benchmarks: a throwaway server, the CLI, timing, JSON and PNG.

The benchmarks drive pgroll-dsl only from the outside: the ``pgroll-dsl`` command (the one
installed next to this interpreter, or ``$PGROLL_DSL_BENCH_CLI``), the embedded server of
:mod:`pgroll_dsl.embedded`, and psycopg for the clients and the floors. Time spent in a step
of a migration is read from the server's own log: the CLI connects as a role of its own
(``bench_migrator``) whose statements the server logs with their durations
(``log_min_duration_statement = 0``), and ``pgroll-dsl plan --format json`` says which
statements are the backfill. Nothing here knows how the backfill is written.
"""

from __future__ import annotations

import json
import multiprocessing
import os
import re
import shlex
import shutil
import statistics
import subprocess
import sys
import time
import uuid
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psycopg
from psycopg import sql
from psycopg.conninfo import make_conninfo

from pgroll_dsl.embedded import EmbeddedServer

RESULTS = Path(__file__).resolve().parent / "results"
MIGRATOR = "bench_migrator"
_PREFIX = "@@"  # log_line_prefix starts with it: '@@<epoch ms>|<pid>|<user>|'
_ENTRY = re.compile(r"^@@(\d+\.\d+)\|(\d+)\|([^|]*)\|", re.M)
_DURATION = re.compile(r"duration: ([\d.]+) ms\s+(?:statement|execute [^:]*): (.*)", re.S)

Conn = psycopg.Connection[tuple[Any, ...]]


def cli_command() -> list[str]:
    """The pgroll-dsl command: ``$PGROLL_DSL_BENCH_CLI``, else the one of this interpreter."""
    given = os.environ.get("PGROLL_DSL_BENCH_CLI")
    if given:
        return shlex.split(given)
    local = Path(sys.executable).parent / "pgroll-dsl"
    if local.exists():
        return [str(local)]
    found = shutil.which("pgroll-dsl")
    if found is None:
        raise SystemExit("pgroll-dsl not found: install the package or set PGROLL_DSL_BENCH_CLI")
    return [found]


@dataclass(frozen=True)
class CliRun:
    """One finished CLI command."""

    args: tuple[str, ...]
    returncode: int
    stdout: str
    stderr: str
    started: float  # time.time() at launch
    seconds: float  # wall clock until exit


def run_cli(*args: str, check: bool = True, timeout: float = 1800) -> CliRun:
    """Run ``pgroll-dsl ARGS`` and time it; fail loudly on a non-zero exit when ``check``."""
    started, begin = time.time(), time.perf_counter()
    done = subprocess.run(
        [*cli_command(), *args], capture_output=True, text=True, timeout=timeout, check=False
    )
    run = CliRun(tuple(args), done.returncode, done.stdout, done.stderr, started,
                 time.perf_counter() - begin)
    if check and run.returncode != 0:
        raise RuntimeError(f"pgroll-dsl {' '.join(args)} exited {run.returncode}:\n"
                           f"{run.stdout}\n{run.stderr}")
    return run


# --- the server ---------------------------------------------------------------------------------


class Bench:
    """A throwaway PostgreSQL 18 set up for measuring; one fresh database per trial."""

    def __init__(self, autovacuum: bool = True, owner: bool = False) -> None:
        self.server = EmbeddedServer()
        self.autovacuum = autovacuum
        self.owner = owner  # the CLI runs as the tables' owner instead of a superuser
        self._log_offset = 0

    def __enter__(self) -> Bench:
        self.server.start()
        with self.connect() as conn:
            conn.execute(f"ALTER SYSTEM SET log_line_prefix = '{_PREFIX}%n|%p|%u|'")
            conn.execute(f"ALTER SYSTEM SET autovacuum = {'on' if self.autovacuum else 'off'}")
            conn.execute("SELECT pg_reload_conf()")
            conn.execute(f"CREATE ROLE {MIGRATOR} LOGIN {'' if self.owner else 'SUPERUSER'}")
            conn.execute(f"ALTER ROLE {MIGRATOR} SET log_min_duration_statement = 0")
        time.sleep(0.2)  # the reload reaches every process
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.stop()

    def dsn(self, dbname: str = "postgres", user: str = "postgres") -> str:
        return make_conninfo(self.server.dsn, dbname=dbname, user=user)

    def connect(self, dbname: str = "postgres") -> Conn:
        return psycopg.connect(self.dsn(dbname), autocommit=True)

    def migrator_url(self, dbname: str) -> str:
        """What the CLI gets as ``--postgres-url``: the logged migration role."""
        return f"postgresql://{MIGRATOR}@127.0.0.1:{self.server.port}/{dbname}"

    @contextmanager
    def database(self, prefix: str = "bench") -> Iterator[str]:
        """A fresh database, dropped afterwards; yields its name."""
        name = f"{prefix}_{uuid.uuid4().hex[:8]}"
        with self.connect() as conn:
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
        if self.owner:  # what a table owner needs for init and start, and no more
            with self.connect(name) as conn:
                conn.execute(sql.SQL("GRANT CREATE ON DATABASE {} TO {}").format(
                    sql.Identifier(name), sql.Identifier(MIGRATOR)))
                conn.execute(sql.SQL("ALTER SCHEMA public OWNER TO {}").format(
                    sql.Identifier(MIGRATOR)))
        try:
            yield name
        finally:
            with self.connect() as conn:
                conn.execute(sql.SQL("DROP DATABASE {} WITH (FORCE)").format(
                    sql.Identifier(name)))

    def make_table(self, dbname: str, rows: int) -> None:
        """``t(id bigint primary key, v int, payload text)`` with ``rows`` rows (v = id)."""
        with self.connect(dbname) as conn:
            conn.execute("CREATE TABLE t (id bigint PRIMARY KEY, v int, payload text)")
            conn.execute("INSERT INTO t SELECT g, g, md5(g::text) "
                         "FROM generate_series(1, %s) g", (rows,))
            if self.owner:
                conn.execute(sql.SQL("ALTER TABLE t OWNER TO {}").format(
                    sql.Identifier(MIGRATOR)))

    def pgroll(self, command: str, dbname: str, *args: str, check: bool = True) -> CliRun:
        """``pgroll-dsl COMMAND ARGS --postgres-url <dbname as the migrator>``."""
        return run_cli(command, *args, "--postgres-url", self.migrator_url(dbname), check=check)

    # --- the statement log ----------------------------------------------------------------------

    def mark_log(self) -> None:
        """Statements logged from now on are the ones :meth:`logged` returns."""
        path = self.server.log_path
        self._log_offset = path.stat().st_size if path is not None else 0

    def logged(self) -> list[Statement]:
        """Statements of the migration role that ended since :meth:`mark_log`."""
        path = self.server.log_path
        if path is None:
            return []
        with path.open("rb") as log:
            log.seek(self._log_offset)
            text = log.read().decode(errors="replace")
        starts = list(_ENTRY.finditer(text))
        out = []
        for here, after in zip(starts, [*starts[1:], None], strict=True):
            body = text[here.end(): after.start() if after else len(text)]
            found = _DURATION.search(body)
            if found and here[3] == MIGRATOR:
                end = float(here[1])
                duration = float(found[1]) / 1000
                out.append(Statement(end - duration, end, int(here[2]), found[2].strip()))
        return out


@dataclass(frozen=True)
class Statement:
    """A statement the server logged: when it ran (epoch seconds), its backend, its text."""

    begin: float
    end: float
    pid: int
    text: str


def _normal(text: str) -> str:
    return " ".join(text.split()).rstrip(";")


def backfill_statements(plan: dict[str, Any]) -> set[str]:
    """The SQL of the backfill steps of a JSON plan (``pgroll-dsl plan --format json``)."""
    return {_normal(step["sql"]) for step in plan["start"] if step.get("kind") == "backfill"}


def plan_json(bench: Bench, dbname: str, file: Path, *args: str) -> dict[str, Any]:
    run = bench.pgroll("plan", dbname, str(file), "--format", "json", *args)
    result: dict[str, Any] = json.loads(run.stdout)
    return result


def union_seconds(intervals: Iterable[tuple[float, float]]) -> float:
    """Wall-clock time covered by the intervals (parallel workers count once)."""
    total, reach = 0.0, float("-inf")
    for begin, end in sorted(intervals):
        if end > reach:
            total += end - max(begin, reach)
            reach = end
    return total


def backfill_durations(statements: Sequence[Statement], plan: dict[str, Any]) -> list[float]:
    """Seconds each backfill step of a JSON plan took (its logged statements summed), in order."""
    order = [_normal(step["sql"]) for step in plan["start"] if step.get("kind") == "backfill"]
    took = dict.fromkeys(order, 0.0)
    for statement in statements:
        text = _normal(statement.text)
        if text in took:
            took[text] += statement.end - statement.begin
    return [took[text] for text in order]


def backfill_window(statements: Sequence[Statement], backfill_sql: set[str]
                    ) -> tuple[float, float, float] | None:
    """(first begin, last end, busy seconds) of the logged backfill statements, or None."""
    hits = [s for s in statements if _normal(s.text) in backfill_sql]
    if not hits:
        return None
    return (min(s.begin for s in hits), max(s.end for s in hits),
            union_seconds((s.begin, s.end) for s in hits))


def migration_file(directory: Path, name: str, text: str) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / f"{name}.pgroll"
    path.write_text(text)
    return path


# --- numbers ------------------------------------------------------------------------------------


def summary(values: Sequence[float]) -> dict[str, Any]:
    """Median, min, max and the runs themselves."""
    return {"median": statistics.median(values), "min": min(values), "max": max(values),
            "runs": list(values)}


def percentile(values: Sequence[float], q: float) -> float:
    """The q-th percentile (0-100), nearest rank; 0 for no values."""
    if not values:
        return 0.0
    ordered = sorted(values)
    rank = max(0, min(len(ordered) - 1, round(q / 100 * len(ordered) + 0.5) - 1))
    return ordered[rank]


def fmt(stat: dict[str, Any], scale: float = 1.0, digits: int = 2) -> str:
    """``median (min–max)`` of a :func:`summary`, times ``scale``."""
    m, lo, hi = (stat[k] * scale for k in ("median", "min", "max"))
    return f"{m:.{digits}f} ({lo:.{digits}f}–{hi:.{digits}f})"


def print_table(headers: Sequence[str], rows: Iterable[Sequence[object]]) -> None:
    table = [list(map(str, headers)), *([str(c) for c in row] for row in rows)]
    widths = [max(len(row[i]) for row in table) for i in range(len(headers))]
    for index, row in enumerate(table):
        print("  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)))
        if index == 0:
            print("  ".join("-" * width for width in widths))


def machine() -> dict[str, Any]:
    """Where and when; the load average shows whether something else shared the machine."""
    load = [round(x, 2) for x in os.getloadavg()]
    print(f"load average (1, 5, 15 min) at the end: {load}")
    return {"cpus": os.cpu_count(), "python": sys.version.split()[0],
            "when": time.strftime("%Y-%m-%d %H:%M:%S"), "load_average_at_end": load}


def stolen_ms() -> float | None:
    """CPU time the host took from this virtual machine so far, all its CPUs (``steal`` of
    ``/proc/stat``, in ticks of 10 ms); None where the kernel does not say."""
    try:
        fields = Path("/proc/stat").read_text().split("\n", 1)[0].split()
        return int(fields[8]) * 1000 / os.sysconf("SC_CLK_TCK")
    except (OSError, IndexError, ValueError):
        return None


def _watch_pauses(found: Any, stop: Any, least: float) -> None:
    """In a process of its own: sleeps 1 ms, again and again; each wake-up ``least`` seconds
    or more late is a pause of the whole machine, sent as (its start, its length)."""
    last = time.perf_counter()
    while not stop.is_set():
        time.sleep(0.001)
        now = time.perf_counter()
        if now - last >= least:
            found.put((last, now - last))
        last = now


class Pauses:
    """The machine's own pauses, seen by an idle process beside the benchmark.

    A client's write that takes 100 ms may be the migration's doing, or the machine's: on a
    virtual machine the host may stop every virtual CPU for a while (here: about 100 ms at a
    time, once both CPUs are busy; ``benchmarks/machine_pauses.py``). A process that only
    sleeps 1 ms at a time is late by as much; what it saw during a window says how much of a
    client's wait there is the machine's. Times are ``time.perf_counter()``'s (the same
    monotonic clock in every process on Linux).
    """

    def __init__(self, least: float = 0.02) -> None:
        context = multiprocessing.get_context("spawn")
        self._found: Any = context.Queue()
        self._stop = context.Event()
        self._process = context.Process(target=_watch_pauses,
                                        args=(self._found, self._stop, least), daemon=True)
        self._seen: list[tuple[float, float]] = []

    def __enter__(self) -> Pauses:
        self._process.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._process.join(5)

    def all(self, start: float, end: float) -> list[float]:
        """The lengths of the pauses that overlapped [start, end] (seconds)."""
        while not self._found.empty():
            self._seen.append(self._found.get())
        return [length for began, length in self._seen
                if began <= end and began + length >= start]

    def longest(self, start: float, end: float) -> float:
        """The longest pause that overlapped [start, end] (seconds; 0 for none)."""
        return max(self.all(start, end), default=0.0)


def write_json(name: str, data: dict[str, Any]) -> Path:
    RESULTS.mkdir(exist_ok=True)
    path = RESULTS / f"{name}.json"
    path.write_text(json.dumps(data, indent=2) + "\n")
    print(f"wrote {_shown(path)}")
    return path


def _shown(path: Path) -> str:
    """``path`` relative to the checkout, or whole where ``--name`` put it elsewhere."""
    root = RESULTS.parent.parent
    return str(path.relative_to(root)) if path.resolve().is_relative_to(root.resolve()) \
        else str(path)


def pyplot() -> Any:
    """matplotlib's pyplot with a file backend, or None without matplotlib (the bench extra)."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print("matplotlib is missing (pip install -e '.[bench]'): no plot drawn")
        return None
    return plt


def save_plot(figure: Any, name: str) -> None:
    RESULTS.mkdir(exist_ok=True)
    path = RESULTS / f"{name}.png"
    figure.savefig(path, dpi=110, bbox_inches="tight")
    print(f"wrote {_shown(path)}")


def vacuum_and_checkpoint(conn: Conn, table: str = "t") -> None:
    """The same starting state before every timed write: no dead rows, no pending checkpoint."""
    conn.execute(sql.SQL("VACUUM ANALYZE {}").format(sql.Identifier(table)))
    conn.execute("CHECKPOINT")
