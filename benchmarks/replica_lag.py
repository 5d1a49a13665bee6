"""How far a streaming replica falls behind during a backfill, with and without the pause.

Usage: python benchmarks/replica_lag.py [--quick] [--rows 300000] [--runs 3] [--delay 1.0]
                                        [--limit 4]

A primary (the embedded server) and a hot standby streaming from it (a base backup of the
primary started from the same embedded binaries: ``EmbeddedServer(standby_of=...)``). The
standby is made slower than the primary on purpose: ``recovery_min_apply_delay`` holds the
replay of each commit for ``--delay`` seconds, a replica that replays ``--delay`` seconds
behind, as a busy or distant one does. A table ``t(id bigint primary key, v int, payload
text)`` of ``--rows`` rows; ``pgroll-dsl start`` of ``alter table t add w int not null up
`v * 2``` with

* no limit (the default: the backfill never looks at replicas), and
* ``--backfill-max-replica-lag LIMIT`` (MB): before each batch the backfill waits while a
  replica's replay position is more than LIMIT behind the primary's WAL.

A sampler reads the lag (``pg_current_wal_lsn() - replay_lsn`` of ``pg_stat_replication``)
every 50 ms. Reported: the largest and the median lag during the command, and how long the
command took (median, min–max over interleaved runs). After each run the standby catches up
and its copy of the table is compared with the primary's (sum and count of the new column).
Nothing is asserted.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import psycopg
from _common import (
    Bench,
    fmt,
    machine,
    migration_file,
    print_table,
    pyplot,
    save_plot,
    summary,
    write_json,
)

from pgroll_dsl.embedded import EmbeddedServer

MIGRATION = "alter table t add w int not null up `v * 2`;\n"
MB = 1024 * 1024
LAG = ("SELECT max(pg_catalog.pg_wal_lsn_diff(pg_catalog.pg_current_wal_lsn(), replay_lsn)) "
       "FROM pg_catalog.pg_stat_replication")


class Sampler(threading.Thread):
    """The primary's view of the replica's replay lag, (seconds since start, bytes)."""

    def __init__(self, dsn: str) -> None:
        super().__init__(daemon=True)
        self.dsn = dsn
        self.samples: list[tuple[float, float]] = []
        self.stop = threading.Event()
        self.began = time.time()

    def run(self) -> None:
        with psycopg.connect(self.dsn, autocommit=True) as conn:
            while not self.stop.is_set():
                row = conn.execute(LAG).fetchone()
                lag = float(row[0]) if row and row[0] is not None else 0.0
                self.samples.append((time.time() - self.began, lag))
                time.sleep(0.05)


def caught_up(primary: psycopg.Connection[Any], timeout: float = 120) -> None:
    """Wait until the standby has replayed everything the primary wrote."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        row = primary.execute(LAG).fetchone()
        if row and row[0] is not None and row[0] == 0:
            return
        time.sleep(0.1)
    raise RuntimeError("the standby did not catch up")


def trial(bench: Bench, standby: EmbeddedServer, rows: int, limit: int,
          files: Path) -> dict[str, Any]:
    with bench.database("lag") as dbname:
        bench.make_table(dbname, rows)
        bench.pgroll("init", dbname)
        with bench.connect(dbname) as conn:
            conn.execute("VACUUM ANALYZE t")
            conn.execute("CHECKPOINT")
            caught_up(conn)
        path = migration_file(files / dbname, "01_add_w", MIGRATION)
        sampler = Sampler(bench.dsn(dbname))
        sampler.start()
        flags = ["--backfill-max-replica-lag", str(limit)] if limit else []
        run = bench.pgroll("start", dbname, str(path), *flags)
        sampler.stop.set()
        sampler.join()
        with bench.connect(dbname) as conn:
            caught_up(conn)
            columns = conn.execute(
                "SELECT attname FROM pg_attribute WHERE attrelid = 't'::regclass "
                "AND attname LIKE '%w' AND NOT attisdropped").fetchone()
            assert columns is not None, "the new column's copy is missing"
            check = f'SELECT count(*), sum("{columns[0]}") FROM t'
            on_primary = conn.execute(check).fetchone()
        standby_dsn = f"postgresql://postgres@127.0.0.1:{standby.port}/{dbname}"
        with psycopg.connect(standby_dsn, autocommit=True) as replica:
            on_standby = replica.execute(check).fetchone()
        lags = [lag for _, lag in sampler.samples]
        return {"seconds": run.seconds, "max_lag_mb": max(lags, default=0) / MB,
                "median_lag_mb": statistics.median(lags) / MB if lags else 0.0,
                "timeline": [(t, lag / MB) for t, lag in sampler.samples],
                "standby_equal": on_primary == on_standby,
                "waits_reported": run.stderr.count("waiting for a replica")
                + run.stdout.count("waiting for a replica")}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=300_000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--delay", type=float, default=1.0, help="standby apply delay (s)")
    parser.add_argument("--limit", type=int, default=4, help="--backfill-max-replica-lag MB")
    parser.add_argument("--quick", action="store_true", help="1 run of 100 000 rows")
    args = parser.parse_args()
    runs, rows = (1, 100_000) if args.quick else (args.runs, args.rows)
    cases = {"no limit": 0, f"--backfill-max-replica-lag {args.limit}": args.limit}

    trials: dict[str, list[dict[str, Any]]] = {name: [] for name in cases}
    with Bench() as bench, tempfile.TemporaryDirectory() as tmp:
        with EmbeddedServer(standby_of=bench.server) as standby:
            with psycopg.connect(standby.dsn, autocommit=True) as conn:
                conn.execute(f"ALTER SYSTEM SET recovery_min_apply_delay = "
                             f"'{int(args.delay * 1000)}ms'")
                conn.execute("SELECT pg_reload_conf()")
            for run in range(runs):
                for name, limit in cases.items():
                    done = trials[name]
                    done.append(trial(bench, standby, rows, limit, Path(tmp)))
                    print(f"run {run + 1}: {name}: {done[-1]['seconds']:.2f} s, max lag "
                          f"{done[-1]['max_lag_mb']:.1f} MB, standby equal: "
                          f"{done[-1]['standby_equal']}", flush=True)

    keys = ("seconds", "max_lag_mb", "median_lag_mb")
    results: dict[str, Any] = {"machine": machine(), "rows": rows, "runs": runs,
                               "standby_apply_delay_seconds": args.delay,
                               "migration": MIGRATION.strip(), "cases": {}}
    table = []
    for name, done in trials.items():
        case: dict[str, Any] = {key: summary([d[key] for d in done]) for key in keys}
        case["standby_equal"] = all(d["standby_equal"] for d in done)
        case["limit_mb"] = cases[name]
        results["cases"][name] = case
        table.append([name, fmt(case["seconds"]), fmt(case["max_lag_mb"], digits=1),
                      fmt(case["median_lag_mb"], digits=1), case["standby_equal"]])
    print(f"{rows} rows; the standby replays {args.delay} s behind")
    print_table(["start", "command s", "max lag MB", "median lag MB", "standby equal"], table)
    write_json("replica_lag", results)
    plot(results, {name: done[-1] for name, done in trials.items()})


def plot(results: dict[str, Any], last: dict[str, dict[str, Any]]) -> None:
    plt = pyplot()
    if plt is None:
        return
    figure, ax = plt.subplots(figsize=(8, 4))
    for name, run in last.items():
        ax.plot([t for t, _ in run["timeline"]], [lag for _, lag in run["timeline"]],
                label=f"{name}: max {results['cases'][name]['max_lag_mb']['median']:.1f} MB")
        limit = results["cases"][name]["limit_mb"]
        if limit:
            ax.axhline(limit, linestyle="--", color="grey", label=f"limit {limit} MB")
    ax.set_xlabel("seconds after start began (last run)")
    ax.set_ylabel("replica replay lag, MB")
    ax.set_title(f"backfill of {results['rows']} rows, standby replaying "
                 f"{results['standby_apply_delay_seconds']} s behind", fontsize=9)
    ax.grid(True, alpha=0.3)
    ax.legend(fontsize=8)
    save_plot(figure, "replica_lag")


if __name__ == "__main__":
    main()
