"""How long complete keeps clients waiting: the longest write of a client during complete.

Usage: python benchmarks/complete_stall.py [--quick] [--tables 1,10,50] [--runs 5]
                                          [--compare "CMD"] [--distance MS]
                                          [--schema-tables N]

``complete`` runs in one transaction that holds ACCESS EXCLUSIVE on every table the migration
changed, from its lock step to its commit: a client writing one of those tables waits that
long. For each count N of tables, a fresh database with ``t0`` … ``tN-1`` (``id bigint
primary key, v int, payload text``, 10 rows each), ``pgroll-dsl start`` of
``alter table tI add w int not null up `v * 2``` for each table, then a client updates one
row of ``t0`` in a loop (its own connection, autocommit, no pause) while
``pgroll-dsl complete`` runs. Reported: the client's longest statement while complete ran
(the stall: the time the transaction held ``t0``, and the client's own round trip), its
longest statement in the second before (idle), and complete's whole process. Beside the
stall, the machine's own pauses in the same moments: the longest of an idle process that
sleeps 1 ms at a time (``_common.Pauses``) and the CPU time the host took from the machine
(``steal``; 0 where the kernel does not say). On a virtual machine whose host stops its
CPUs for about 100 ms at a time (``machine_pauses.py``), a client's write of that length is
the machine's; the median of the runs in which the machine did not pause is printed too.

``--distance MS`` puts pgroll-dsl that much further from the server than the client (a
proxy in between delays what it sends by MS milliseconds): an operator's shell or a deploy
job in another network than the database, where every round trip of complete's transaction
lengthens the stall. ``--schema-tables N`` adds N tables to the schema that the migration
leaves alone (``o0`` … each with a primary key, a foreign key and a unique column): what
complete reads of the whole schema, inside its transaction, lengthens the stall with the
schema's size. ``--compare CMD`` runs every trial with a second pgroll-dsl command
too, e.g. a checkout of an earlier commit: ``--compare "env PYTHONPATH=../before
.venv/bin/python -P -m pgroll_dsl"`` (``-P``: without it ``-m`` puts the current directory,
this checkout, first on the path); the two take turns going first, and ``--label`` names
the second in the results (which do not record its command). Figures are median (min–max)
over the runs. Results in ``benchmarks/results/complete_stall.json`` and ``.png``
(``complete_stall_<MS>ms`` with ``--distance``, ``_schema<N>`` appended with
``--schema-tables``). Nothing is asserted.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import queue
import shlex
import socket
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import psycopg
from _common import (
    MIGRATOR,
    Bench,
    Pauses,
    fmt,
    machine,
    migration_file,
    print_table,
    pyplot,
    run_cli,
    save_plot,
    stolen_ms,
    summary,
    write_json,
)

THIS = "this tree"
_CLI = "PGROLL_DSL_BENCH_CLI"


class Writer(threading.Thread):
    """Updates one row of ``t0`` in a loop; (began, seconds) per statement."""

    def __init__(self, dsn: str) -> None:
        super().__init__(daemon=True)
        self.dsn = dsn
        self.stop = threading.Event()
        self.timeline: list[tuple[float, float]] = []

    def run(self) -> None:
        with psycopg.connect(self.dsn, autocommit=True) as conn:
            while not self.stop.is_set():
                began = time.perf_counter()
                conn.execute("UPDATE t0 SET v = v + 1 WHERE id = 1")
                self.timeline.append((began, time.perf_counter() - began))

    def longest(self, start: float, end: float) -> float:
        """The longest statement that was running at some moment in [start, end]."""
        return max((s for b, s in self.timeline if b <= end and b + s >= start), default=0.0)


class Distance(threading.Thread):
    """A TCP proxy to ``port`` whose messages to the server arrive ``delay`` seconds late."""

    def __init__(self, port: int, delay: float) -> None:
        super().__init__(daemon=True)
        self.target, self.delay = port, delay
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]

    def run(self) -> None:
        while True:
            try:
                near, _ = self.listener.accept()
            except OSError:
                return
            far = socket.create_connection(("127.0.0.1", self.target))
            for end in (near, far):  # (as libpq and the server do: no Nagle delays)
                end.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            for source, sink, delay in ((near, far, self.delay), (far, near, 0.0)):
                threading.Thread(target=self._pump, args=(source, sink, delay),
                                 daemon=True).start()

    @staticmethod
    def _pump(source: socket.socket, sink: socket.socket, delay: float) -> None:
        """Each chunk goes on ``delay`` after it came (a latency, not a pause per chunk: a
        pipeline's chunks, read one after the other, arrive one after the other)."""
        due: queue.SimpleQueue[tuple[float, bytes]] = queue.SimpleQueue()

        def forward() -> None:
            with contextlib.suppress(OSError):
                while chunk := (item := due.get())[1]:
                    time.sleep(max(0.0, item[0] - time.monotonic()))
                    sink.sendall(chunk)
                sink.shutdown(socket.SHUT_WR)

        sender = threading.Thread(target=forward, daemon=True)
        sender.start()
        with source, sink:
            while chunk := _received(source):
                due.put((time.monotonic() + delay, chunk))
            due.put((0.0, b""))
            sender.join()


def _received(source: socket.socket) -> bytes:
    try:
        return source.recv(65536)
    except OSError:
        return b""


@contextmanager
def using(command: str | None) -> Iterator[None]:
    """pgroll-dsl is ``command`` (None: this tree's) while the block runs."""
    before = os.environ.get(_CLI)
    if command is None:
        os.environ.pop(_CLI, None)
    else:
        os.environ[_CLI] = command
    try:
        yield
    finally:
        if before is None:
            os.environ.pop(_CLI, None)
        else:
            os.environ[_CLI] = before


def trial(bench: Bench, tables: int, files: Path, via: Distance | None, pauses: Pauses,
          others: int = 0) -> dict[str, float]:
    """One start of the migration of ``tables`` tables, and its complete under the writer.

    ``others``: as many more tables in the schema that the migration leaves alone.
    """
    text = "".join(f"alter table t{i} add w int not null up `v * 2`;\n" for i in range(tables))
    path = migration_file(files, f"stall_{tables}", text)
    with bench.database() as db:
        with bench.connect(db) as conn:
            for i in range(tables):
                conn.execute(f"CREATE TABLE t{i} (id bigint PRIMARY KEY, v int, payload text)")
                conn.execute(f"INSERT INTO t{i} SELECT g, g, 'x' FROM generate_series(1, 10) g")
            for i in range(others):
                conn.execute(f"CREATE TABLE o{i} (id bigint PRIMARY KEY, v int, payload text, "
                             f"up bigint REFERENCES o{i} (id), code text UNIQUE)")
        bench.pgroll("init", db)
        bench.pgroll("start", db, str(path))
        writer = Writer(bench.dsn(db))
        writer.start()
        time.sleep(1.0)
        stolen = stolen_ms()
        began = time.perf_counter()
        run = bench.pgroll("complete", db) if via is None else run_cli(
            "complete", "--postgres-url", f"postgresql://{MIGRATOR}@127.0.0.1:{via.port}/{db}")
        ended = time.perf_counter()
        after = stolen_ms()
        time.sleep(0.1)
        writer.stop.set()
        writer.join()
    return {"stall": writer.longest(began, ended), "idle": writer.longest(began - 1.0, began),
            "complete": run.seconds, "machine_pause": pauses.longest(began, ended),
            "stolen": (after - stolen) / 1000 if after is not None and stolen is not None
            else 0.0}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tables", default="1,10,50")
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--quick", action="store_true", help="tables 1,10; 2 runs")
    parser.add_argument("--compare", help="a second pgroll-dsl command, measured beside")
    parser.add_argument("--label", default="compared",
                        help="the second command's name in the table, the JSON and the plot")
    parser.add_argument("--distance", type=float, default=0.0, metavar="MS",
                        help="what pgroll-dsl sends reaches the server MS ms late")
    parser.add_argument("--schema-tables", type=int, default=0, metavar="N",
                        help="N more tables in the schema, which the migration leaves alone")
    args = parser.parse_args()
    counts = [int(n) for n in ("1,10" if args.quick else args.tables).split(",")]
    runs = 2 if args.quick else args.runs
    commands: dict[str, str | None] = {THIS: None}
    if args.compare:
        shlex.split(args.compare)  # (refused here if it cannot be split)
        commands[args.label] = args.compare

    measured: dict[tuple[str, int], list[dict[str, float]]] = {}
    with Bench() as bench, tempfile.TemporaryDirectory() as tmp, Pauses() as pauses:
        via = None
        if args.distance:
            via = Distance(bench.server.port, args.distance / 1000)
            via.start()
        for run in range(runs):
            order = list(commands) if run % 2 == 0 else list(commands)[::-1]
            for tables in counts:
                for label in order:
                    with using(commands[label]):
                        result = trial(bench, tables, Path(tmp), via, pauses,
                                       args.schema_tables)
                    measured.setdefault((label, tables), []).append(result)
                    print(f"run {run + 1}: {label}, {tables} tables: stall "
                          f"{result['stall'] * 1000:.1f} ms (the machine's longest pause "
                          f"then {result['machine_pause'] * 1000:.1f} ms, "
                          f"{result['stolen'] * 1000:.0f} ms stolen), complete "
                          f"{result['complete']:.2f} s", flush=True)

    results: dict[str, Any] = {"machine": machine(), "runs": runs, "tables": counts,
                               "distance_ms": args.distance,
                               "schema_tables": args.schema_tables,
                               "commands": list(commands), "cases": []}
    rows = []
    for tables in counts:
        for label in commands:
            trials = measured[(label, tables)]
            case: dict[str, Any] = {
                "command": label, "tables": tables,
                **{k: summary([t[k] for t in trials])
                   for k in ("stall", "idle", "complete", "machine_pause", "stolen")}}
            # The trials in which the host took no CPU time from the machine and the probe
            # saw no pause: what complete kept the client waiting, the machine left out.
            clear = [t["stall"] for t in trials
                     if t["machine_pause"] == 0 and t["stolen"] == 0]
            case["stall_without_machine_pauses"] = summary(clear) if clear else None
            results["cases"].append(case)
            rows.append([tables, label, fmt(case["stall"], 1000, 1),
                         fmt(case["machine_pause"], 1000, 1),
                         (f"{fmt(case['stall_without_machine_pauses'], 1000, 1)} "
                          f"[{len(clear)}]" if clear else "-"),
                         fmt(case["idle"], 1000, 1), fmt(case["complete"])])
    print_table(["tables", "pgroll-dsl", "longest client write during complete, ms",
                 "machine's longest pause then, ms", "client write, runs the machine did "
                 "not pause [runs]", "longest before, ms", "complete s"], rows)
    name = f"complete_stall_{args.distance:g}ms" if args.distance else "complete_stall"
    if args.schema_tables:
        name += f"_schema{args.schema_tables}"
    write_json(name, results)
    plot(results, name)


def plot(results: dict[str, Any], name: str) -> None:
    plt = pyplot()
    if plt is None:
        return
    figure, ax = plt.subplots(figsize=(7, 4))
    for label in results["commands"]:
        cases = [c for c in results["cases"] if c["command"] == label]
        ax.errorbar([c["tables"] for c in cases],
                    [c["stall"]["median"] * 1000 for c in cases],
                    yerr=[[(c["stall"]["median"] - c["stall"]["min"]) * 1000 for c in cases],
                          [(c["stall"]["max"] - c["stall"]["median"]) * 1000 for c in cases]],
                    marker="o", capsize=3, label=label[:60])
    ax.set_xlabel("tables the migration changed")
    ax.set_ylabel("longest client write during complete, ms")
    ax.set_title("complete: how long a client of a migrated table waits (pgroll-dsl "
                 f"{results['distance_ms']:g} ms further from the server)", fontsize=10)
    ax.grid(True, alpha=0.3)
    ax.legend(fontsize=8)
    save_plot(figure, name)


if __name__ == "__main__":
    main()
