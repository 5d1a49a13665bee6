"""A type change under load: clients of the old version, the new version and the table.

Usage: python benchmarks/load.py [--quick] [--rows 200000] [--runs 3] [--clients 2] [--prepared]
                                [--owner]

Three scenarios, each in a fresh database with ``t(id bigint primary key, v int, payload
text)`` of ``--rows`` rows, with ``--clients`` threads of each kind (own connection,
autocommit, single-row INSERT / UPDATE / SELECT by key in a loop, 5 ms apart):

* ``pgroll-dsl``: the table made by a first migration (so the old version has its schema);
  old-version and base-table clients write; ``pgroll-dsl start`` of
  ``alter table t alter v type bigint up v down v``; new-version clients join as soon as the
  new version schema exists; 2 s later the old-version clients stop (the application has
  moved on) and ``pgroll-dsl complete`` runs; 2 s more.
* ``plain ALTER``: the same clients, all on the table, and ``ALTER TABLE t ALTER v TYPE
  bigint`` (it rewrites the table under ACCESS EXCLUSIVE).
* ``idle``: the same clients and no migration.

Afterwards every row is read back from the table and compared with what the clients wrote
(each client owns its rows, so the last value it wrote is the expected one): rows missing,
rows that should not be there, wrong values, and the type of ``v``. Reported per scenario:
client latency p50 / p99 / max, errors, and the data check (median, min–max over
interleaved runs). Nothing is asserted.
"""

from __future__ import annotations

import argparse
import hashlib
import random
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import psycopg
from _common import (
    Bench,
    backfill_statements,
    backfill_window,
    fmt,
    machine,
    migration_file,
    percentile,
    plan_json,
    print_table,
    pyplot,
    save_plot,
    summary,
    write_json,
)

CREATE = "create table t (id bigint primary key, v int, payload text);\n"
MIGRATION = "alter table t alter v type bigint up v down v;\n"
PLAIN = "ALTER TABLE t ALTER v TYPE bigint"
KINDS = ("old", "new", "base")
THINK = 0.005
# psycopg prepares a statement on the server after 5 runs; such a prepared statement fails
# for good ("cached plan must not change result type") once the type of a column it returns
# changes, a client-library matter that would hide the migration's own errors: off unless
# --prepared.
PREPARE: dict[str, int | None] = {"threshold": None}


class Client(threading.Thread):
    """One connection writing rows it alone owns; remembers the last value of each."""

    def __init__(self, kind: str, index: int, total: int, dsn: str, rows: int,
                 schema: Callable[[], str | None]) -> None:
        super().__init__(daemon=True)
        self.kind, self.index, self.dsn, self.schema = kind, index, dsn, schema
        self.owned = range(index or total, rows + 1, total)  # pre-existing rows it updates
        self.inserted: list[int] = []
        self.model: dict[int, tuple[int, str]] = {}
        self.samples: list[tuple[float, float, bool]] = []  # begin, latency, ok
        self.errors: list[str] = []
        self.stop = threading.Event()

    def run(self) -> None:
        with psycopg.connect(self.dsn, autocommit=True,
                             prepare_threshold=PREPARE["threshold"]) as conn:
            current = None
            while not self.stop.is_set():
                schema = self.schema()
                if schema is None:  # its version does not exist yet
                    time.sleep(0.01)
                    continue
                if schema != current:
                    conn.execute(f'SET search_path TO "{schema}"')
                    current = schema
                self.one(conn)
                time.sleep(THINK)

    def one(self, conn: psycopg.Connection[Any]) -> None:
        choice = random.random()
        value = random.randint(0, 2**31 - 1)
        payload = f"{self.kind}{self.index}-{len(self.samples)}"
        if choice < 0.3:
            key = (self.index + 1) * 100_000_000 + len(self.inserted)
            statement = "INSERT INTO t (id, v, payload) VALUES (%s, %s, %s)"
            params: tuple[Any, ...] = (key, value, payload)
        elif choice < 0.7:
            pool = self.inserted if self.inserted and random.random() < 0.5 else self.owned
            key = random.choice(pool)
            statement = "UPDATE t SET v = %s, payload = %s WHERE id = %s"
            params = (value, payload, key)
        else:
            statement, params = "SELECT v, payload FROM t WHERE id = %s", (
                random.choice(self.owned),)
        begin = time.time()
        try:
            conn.execute(statement, params)
        except psycopg.Error as err:
            self.samples.append((begin, time.time() - begin, False))
            self.errors.append(f"{self.kind}: {str(err).splitlines()[0]}")
            return
        self.samples.append((begin, time.time() - begin, True))
        if statement.startswith("INSERT"):
            self.inserted.append(key)
        if not statement.startswith("SELECT"):
            self.model[key] = (value, payload)


def check(bench: Bench, db: str, rows: int, clients: list[Client]) -> dict[str, Any]:
    """Every row as the clients left it, and nothing else; the type of ``v``."""
    expected = {i: (i, hashlib.md5(str(i).encode()).hexdigest()) for i in range(1, rows + 1)}
    for client in clients:
        expected.update(client.model)
    with bench.connect(db) as conn:
        actual = {r[0]: (r[1], r[2]) for r in conn.execute("SELECT id, v, payload FROM public.t")}
        found = conn.execute("SELECT format_type(atttypid, atttypmod) FROM pg_attribute WHERE "
                             "attrelid = 'public.t'::regclass AND attname = 'v'").fetchone()
        columns = [r[0] for r in conn.execute(
            "SELECT attname FROM pg_attribute WHERE attrelid = 'public.t'::regclass "
            "AND attnum > 0 AND NOT attisdropped ORDER BY attnum")]
    common = expected.keys() & actual.keys()
    return {"rows": len(actual), "missing": len(expected.keys() - actual.keys()),
            "unexpected": len(actual.keys() - expected.keys()),
            "wrong_value": sum(expected[k] != actual[k] for k in common),
            "client_writes": sum(len(c.model) for c in clients),
            "type_of_v": found[0] if found else None, "columns": columns}


def scenario(bench: Bench, how: str, rows: int, per_kind: int, files: Path) -> dict[str, Any]:
    with bench.database() as db:
        old_schema = "public"
        if how != "plain ALTER":  # the table comes from a first migration, as in production
            bench.pgroll("init", db)
            bench.pgroll("start", db, str(migration_file(files, "01_create", CREATE)),
                         "--complete")
            old_schema = bench.pgroll("latest", db).stdout.strip()
        with bench.connect(db) as conn:
            if how == "plain ALTER":
                conn.execute("CREATE TABLE t (id bigint PRIMARY KEY, v int, payload text)")
            conn.execute("INSERT INTO public.t SELECT g, g, md5(g::text) "
                         "FROM generate_series(1, %s) g", (rows,))
            conn.execute("VACUUM ANALYZE public.t")
        new: list[str | None] = [old_schema if how == "idle" else None]
        if how == "plain ALTER":
            new = ["public"]
        schemas: dict[str, Callable[[], str | None]] = {
            "old": lambda: "public" if how == "plain ALTER" else old_schema,
            "new": lambda: new[0], "base": lambda: "public"}
        total = per_kind * len(KINDS)
        clients = [Client(kind, i * len(KINDS) + k, total, bench.dsn(db), rows, schemas[kind])
                   for i in range(per_kind) for k, kind in enumerate(KINDS)]
        t0 = time.time()
        for client in clients:
            client.start()
        time.sleep(2)
        phases = run_migration(bench, db, how, files, new, clients)
        time.sleep(2)
        for client in clients:
            client.stop.set()
            client.join()
        data = check(bench, db, rows, clients)
    return summarise(clients, phases, data, t0)


def run_migration(bench: Bench, db: str, how: str, files: Path, new: list[str | None],
                  clients: list[Client]) -> dict[str, tuple[float, float]]:
    """Run the scenario's migration; the (begin, end) epoch time of each of its phases."""
    if how == "idle":
        begin = time.time()
        time.sleep(4)
        return {"no migration": (begin, time.time())}
    if how == "plain ALTER":
        with bench.connect(db) as conn:
            begin = time.time()
            conn.execute(PLAIN)
            return {"ALTER TABLE": (begin, time.time())}
    path = migration_file(files, "02_type", MIGRATION)
    plan = plan_json(bench, db, path)
    watching = threading.Event()

    def watch() -> None:  # new-version clients start once their schema has the view
        with bench.connect(db) as conn:
            while not watching.is_set():
                row = conn.execute("SELECT to_regclass(%s)", (f'"{plan["version_schema"]}".t',)
                                   ).fetchone()
                if row and row[0] is not None:
                    new[0] = plan["version_schema"]
                    return
                time.sleep(0.02)

    watcher = threading.Thread(target=watch)
    watcher.start()
    bench.mark_log()
    started = bench.pgroll("start", db, str(path))
    watching.set()
    watcher.join()
    new[0] = plan["version_schema"]
    phases = {"start": (started.started, started.started + started.seconds)}
    window = backfill_window(bench.logged(), backfill_statements(plan))
    if window is not None:
        phases["backfill"] = window[:2]
    time.sleep(2)
    for client in clients:  # the application has moved to the new version
        if client.kind == "old":
            client.stop.set()
            client.join()
    completed = bench.pgroll("complete", db)
    phases["complete"] = (completed.started, completed.started + completed.seconds)
    return phases


def latency(samples: list[tuple[float, float, bool]]) -> dict[str, float]:
    values = [s[1] for s in samples]
    return {"p50": percentile(values, 50), "p99": percentile(values, 99),
            "max": max(values, default=0.0), "statements": len(values)}


def summarise(clients: list[Client], phases: dict[str, tuple[float, float]],
              data: dict[str, Any], t0: float) -> dict[str, Any]:
    every = [s for c in clients for s in c.samples]
    result: dict[str, Any] = {"all": latency(every), "data": data,
                              "errors": [e for c in clients for e in c.errors],
                              "phases": {k: (b - t0, e - t0) for k, (b, e) in phases.items()}}
    for kind in KINDS:
        result[kind] = latency([s for c in clients if c.kind == kind for s in c.samples])
    for name, (begin, end) in phases.items():
        result[f"during {name}"] = latency([s for s in every if s[0] < end and s[0] + s[1] > begin])
    result["timeline"] = {kind: [(round(s[0] - t0, 4), round(s[1], 5)) for c in clients
                                 if c.kind == kind for s in c.samples] for kind in KINDS}
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=200_000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--clients", type=int, default=2, help="threads of each kind")
    parser.add_argument("--quick", action="store_true", help="20 000 rows, 1 run")
    parser.add_argument("--prepared", action="store_true",
                        help="clients use psycopg's server-side prepared statements")
    parser.add_argument("--owner", action="store_true",
                        help="run pgroll-dsl as the table's owner, not as a superuser")
    args = parser.parse_args()
    PREPARE["threshold"] = 5 if args.prepared else None
    rows, runs = (20_000, 1) if args.quick else (args.rows, args.runs)

    order = ("idle", "pgroll-dsl", "plain ALTER")
    done: dict[str, list[dict[str, Any]]] = {how: [] for how in order}
    with Bench(owner=args.owner) as bench, tempfile.TemporaryDirectory() as tmp:
        for run in range(runs):
            for how in order:
                result = scenario(bench, how, rows, args.clients, Path(tmp))
                done[how].append(result)
                print(f"run {run + 1}: {how}: max {result['all']['max'] * 1000:.0f} ms, "
                      f"errors {len(result['errors'])} {sorted(set(result['errors']))[:3]}, "
                      f"data {result['data']}", flush=True)
    report(done, rows, runs, args.clients, args.owner)


def report(done: dict[str, list[dict[str, Any]]], rows: int, runs: int, per_kind: int,
           owner: bool) -> None:
    results: dict[str, Any] = {"machine": machine(), "rows": rows, "runs": runs,
                               "migrator": "table owner" if owner else "superuser",
                               "clients_per_kind": per_kind, "migration": MIGRATION.strip(),
                               "plain": PLAIN, "prepare_threshold": PREPARE["threshold"],
                               "scenarios": {}}
    table = []
    for how, trials in done.items():
        groups = [g for g in trials[0] if g == "all" or g in KINDS or g.startswith("during")]
        case: dict[str, Any] = {g: {k: summary([t[g][k] for t in trials])
                                    for k in ("p50", "p99", "max", "statements")}
                                for g in groups}
        case["phases_seconds"] = {p: summary([t["phases"][p][1] - t["phases"][p][0]
                                              for t in trials]) for p in trials[0]["phases"]}
        case["errors"] = [e for t in trials for e in t["errors"]]
        case["data"] = [t["data"] for t in trials]
        case["phases_last_run"] = trials[-1]["phases"]
        results["scenarios"][how] = case
        for group in groups:
            stat = case[group]
            table.append([how, group, fmt(stat["p50"], 1000, 1), fmt(stat["p99"], 1000, 1),
                          fmt(stat["max"], 1000, 0), int(stat["statements"]["median"])])
    print_table(["scenario", "clients", "p50 ms", "p99 ms", "max ms", "statements"], table)
    for how, case in results["scenarios"].items():
        phases = ", ".join(f"{p} {fmt(s)} s" for p, s in case["phases_seconds"].items())
        bad = [d for d in case["data"] if d["missing"] or d["unexpected"] or d["wrong_value"]]
        print(f"{how}: {phases}; client errors: {len(case['errors'])} "
              f"{sorted(set(case['errors']))[:3]}; data: {len(bad)} of {runs} runs wrong; "
              f"type of v: {sorted({d['type_of_v'] for d in case['data']})}")
    write_json("load", results)
    plot(results, {how: trials[-1]["timeline"] for how, trials in done.items()})


def plot(results: dict[str, Any], timelines: dict[str, dict[str, list[Any]]]) -> None:
    plt = pyplot()
    if plt is None:
        return
    figure, axes = plt.subplots(1, 3, figsize=(15, 4.5), sharey=True)
    shades = {"start": "gold", "backfill": "orange", "complete": "red", "ALTER TABLE": "red",
              "no migration": "lightgrey"}
    for ax, (how, timeline) in zip(axes, timelines.items(), strict=True):
        for kind, samples in timeline.items():
            ax.scatter([t for t, _ in samples], [lat * 1000 for _, lat in samples], s=3,
                       alpha=0.5, label=f"{kind} clients")
        for phase, (begin, end) in results["scenarios"][how]["phases_last_run"].items():
            ax.axvspan(begin, max(end, begin + 0.05), color=shades[phase], alpha=0.25,
                       label=phase)
        ax.set_yscale("log")
        ax.set_title(f"{how}: max {results['scenarios'][how]['all']['max']['median'] * 1000:.0f}"
                     " ms (median of runs)", fontsize=9)
        ax.set_xlabel("seconds (last run)")
        ax.grid(True, alpha=0.3)
        ax.legend(fontsize=7, loc="upper left", markerscale=3)
    axes[0].set_ylabel("client statement latency, ms")
    figure.suptitle(f"{results['rows']:,} rows; {results['migration']} against {results['plain']}")
    save_plot(figure, "load")


if __name__ == "__main__":
    main()
