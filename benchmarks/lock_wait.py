"""Client stalls while a migration waits for a lock that a long reader holds.

Usage: python benchmarks/lock_wait.py [--quick] [--rows 10000] [--runs 3] [--hold 5]

A table ``t(id bigint primary key, v int, payload text)`` of ``--rows`` rows in a fresh
database. A client does single-row reads and writes in a loop (``SELECT`` and ``UPDATE`` by
key, 2 ms apart, on its own connection) and records each statement's latency. One second in,
a reader transaction ``BEGIN; SELECT count(*) FROM t;`` holds its lock for ``--hold`` seconds
and commits; half a second after it began, one of:

* ``pgroll-dsl start`` of ``alter table t add w int not null up `v * 2``` (default flags);
* the same with ``--lock-wait 0``: no waiting for the holder before asking for the lock, so
  each attempt queues the clients for up to ``--lock-timeout`` (the behaviour before the
  lock wait existed);
* a plain ``ALTER TABLE t ADD COLUMN w int NOT NULL DEFAULT 0`` (no lock_timeout).

With ``--partitioned`` the table is partitioned by range of ``id`` into two halves (``t_0``
and ``t_1``), the client still works on ``t``, and the reader reads one partition directly
(``SELECT count(*) FROM t_0``), as a report or an archive job does: its lock is on that
partition only, while the migration's lock on ``t`` reaches every partition.

Reported: the client's max / p99 / p50 latency while the command ran, its max while the
reader held its lock, and how long the command took (median, min–max over interleaved runs).
Nothing is asserted.
"""

from __future__ import annotations

import argparse
import random
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

from _common import (
    Bench,
    fmt,
    machine,
    migration_file,
    percentile,
    print_table,
    pyplot,
    save_plot,
    summary,
    write_json,
)

MIGRATION = "alter table t add w int not null up `v * 2`;\n"
PLAIN = "ALTER TABLE t ADD COLUMN w int NOT NULL DEFAULT 0"
COMMANDS: dict[str, list[str] | None] = {  # pgroll-dsl start flags, or None: the plain ALTER
    "pgroll-dsl": [], "pgroll-dsl --lock-wait 0": ["--lock-wait", "0"], "plain ALTER": None}


class Client(threading.Thread):
    """Single-row reads and writes by key in a loop; (start, latency, ok) per statement."""

    def __init__(self, dsn: str, rows: int) -> None:
        super().__init__(daemon=True)
        self.dsn, self.rows = dsn, rows
        self.samples: list[tuple[float, float, bool]] = []
        self.errors: list[str] = []
        self.stop = threading.Event()

    def run(self) -> None:
        import psycopg

        with psycopg.connect(self.dsn, autocommit=True) as conn:
            while not self.stop.is_set():
                key = random.randint(1, self.rows)
                statement = ("SELECT payload FROM t WHERE id = %s" if key % 2 else
                             "UPDATE t SET payload = md5(random()::text) WHERE id = %s")
                begin = time.time()
                ok = True
                try:
                    conn.execute(statement, (key,))
                except psycopg.Error as err:
                    ok = False
                    self.errors.append(str(err).splitlines()[0])
                self.samples.append((begin, time.time() - begin, ok))
                time.sleep(0.002)


def reader(dsn: str, hold: float, held: list[float], table: str) -> None:
    import psycopg

    with psycopg.connect(dsn) as conn:
        conn.execute(f"SELECT count(*) FROM {table}")
        held.append(time.time())
        time.sleep(hold)
        conn.commit()
        held.append(time.time())


def partitioned_table(bench: Bench, db: str, rows: int) -> None:
    """``t`` as :meth:`Bench.make_table` makes it, partitioned by range of id in two halves."""
    with bench.connect(db) as conn:
        conn.execute("CREATE TABLE t (id bigint PRIMARY KEY, v int, payload text) "
                     "PARTITION BY RANGE (id)")
        half = rows // 2 + 1
        conn.execute(f"CREATE TABLE t_0 PARTITION OF t FOR VALUES FROM (MINVALUE) TO ({half})")
        conn.execute(f"CREATE TABLE t_1 PARTITION OF t FOR VALUES FROM ({half}) TO (MAXVALUE)")
        conn.execute("INSERT INTO t SELECT g, g, md5(g::text) FROM generate_series(1, %s) g",
                     (rows,))


def trial(bench: Bench, rows: int, hold: float, how: str, files: Path,
          partitioned: bool = False) -> dict[str, Any]:
    with bench.database() as db:
        if partitioned:
            partitioned_table(bench, db, rows)
        else:
            bench.make_table(db, rows)
        with bench.connect(db) as conn:
            conn.execute("VACUUM ANALYZE t")
        flags = COMMANDS[how]
        if flags is not None:
            bench.pgroll("init", db)
        path = migration_file(files, "bench_add_not_null", MIGRATION)
        client = Client(bench.dsn(db), rows)
        client.start()
        time.sleep(1.0)
        held: list[float] = []
        hold_thread = threading.Thread(target=reader, args=(bench.dsn(db), hold, held,
                                                            "t_0" if partitioned else "t"))
        hold_thread.start()
        time.sleep(0.5)
        begin = time.time()
        exit_code = 0
        if flags is not None:
            exit_code = bench.pgroll("start", db, str(path), *flags, check=False).returncode
        else:
            with bench.connect(db) as conn:
                conn.execute(PLAIN)
        end = time.time()
        hold_thread.join()
        time.sleep(0.5)
        client.stop.set()
        client.join()
    during = [lat for t, lat, _ in client.samples if t < end and t + lat > begin]
    waiting = [lat for t, lat, _ in client.samples if t < held[1] and t + lat > held[0]]
    before = [lat for t, lat, _ in client.samples if t + lat < held[0]]
    return {"command_seconds": end - begin, "exit_code": exit_code, "max": max(during),
            "p99": percentile(during, 99), "p50": percentile(during, 50),
            "max_while_reader_holds": max(waiting),
            "max_before": max(before), "statements": len(during),
            "errors": len(client.errors), "error_messages": sorted(set(client.errors))[:5],
            "reader": (held[0] - begin, held[1] - begin),
            "timeline": [(t - begin, lat) for t, lat, _ in client.samples]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=10_000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--hold", type=float, default=5.0, help="reader holds its lock (s)")
    parser.add_argument("--quick", action="store_true", help="1 run, a 2-s reader")
    parser.add_argument("--partitioned", action="store_true",
                        help="t partitioned in two; the reader reads one partition directly")
    args = parser.parse_args()
    name = "lock_wait_partitioned" if args.partitioned else "lock_wait"
    runs, hold = (1, 2.0) if args.quick else (args.runs, args.hold)

    trials: dict[str, list[dict[str, Any]]] = {how: [] for how in COMMANDS}
    with Bench() as bench, tempfile.TemporaryDirectory() as tmp:
        for run in range(runs):
            for how, done in trials.items():
                done.append(trial(bench, args.rows, hold, how, Path(tmp), args.partitioned))
                print(f"run {run + 1}: {how}: max {done[-1]['max'] * 1000:.0f} ms, "
                      f"command {done[-1]['command_seconds']:.2f} s", flush=True)

    keys = ("max", "p99", "p50", "max_while_reader_holds", "max_before", "command_seconds")
    results: dict[str, Any] = {"machine": machine(), "rows": args.rows, "runs": runs,
                               "reader_holds_seconds": hold, "migration": MIGRATION.strip(),
                               "partitioned": args.partitioned,
                               "plain": PLAIN, "cases": {}}
    table = []
    for how, done in trials.items():
        case: dict[str, Any] = {key: summary([d[key] for d in done]) for key in keys}
        case["errors"] = sum(d["errors"] for d in done)
        case["error_messages"] = sorted({m for d in done for m in d["error_messages"]})
        case["statements"] = sum(d["statements"] for d in done)
        case["exit_codes"] = [d["exit_code"] for d in done]
        results["cases"][how] = case
        table.append([how, *(fmt(case[k], 1000, 1) for k in keys[:5]),
                      fmt(case["command_seconds"]), case["errors"], case["exit_codes"]])
    print(f"client latency (ms) while the command runs; a reader holds ACCESS SHARE for {hold} s"
          + (" on one partition" if args.partitioned else ""))
    print_table(["command", "max", "p99", "p50", "max while reader holds", "max before",
                 "command s", "client errors", "exit"], table)
    write_json(name, results)
    plot(results, {how: done[-1] for how, done in trials.items()}, name)


def plot(results: dict[str, Any], last: dict[str, dict[str, Any]], name: str) -> None:
    plt = pyplot()
    if plt is None:
        return
    cases = results["cases"]
    figure, axes = plt.subplots(1, len(cases), figsize=(15, 3.8), sharey=True)
    for ax, (how, case) in zip(axes, cases.items(), strict=True):
        timeline = last[how]["timeline"]
        ax.scatter([t for t, _ in timeline], [lat * 1000 for _, lat in timeline], s=4)
        ax.axvspan(*last[how]["reader"], color="grey", alpha=0.15, label="reader holds its lock")
        ax.axvspan(0, last[how]["command_seconds"], color="orange", alpha=0.25,
                   label="command runs")
        ax.set_yscale("log")
        ax.set_title(f"{how}: max {case['max']['median'] * 1000:.0f} ms (median of runs)",
                     fontsize=9)
        ax.set_xlabel("statement began, s after the command began (last run)")
        ax.grid(True, alpha=0.3)
        ax.legend(fontsize=8, loc="upper right")
    axes[0].set_ylabel("client statement latency, ms")
    save_plot(figure, name)


if __name__ == "__main__":
    main()
