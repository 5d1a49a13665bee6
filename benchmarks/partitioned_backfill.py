"""Backfill rate on a partitioned table against the same rows in a plain table.

Usage: python benchmarks/partitioned_backfill.py [--rows 1000000] [--partitions 12,120]
                                                 [--runs 2] [--dsn URL]

For each layout, a fresh database holds ``t(id bigint, at date, v int, primary key (id, at))``
with ``--rows`` rows spread evenly over the dates of the partitions: a plain table, then the
same table ``PARTITION BY RANGE (at)`` with N partitions (one per month). ``start`` of
``alter table t add w int not null up `v * 2``` runs in process (the executor of
``pgroll_dsl.backends.runner``), and the backfill steps are timed one by one (the plan has one
per leaf partition, each batching by keyset inside its partition). rate = rows ÷ the sum of the
backfill steps' time. Runs are interleaved over the layouts; figures are median (min–max).
The server is the embedded PostgreSQL 18 unless ``--dsn`` names another (a superuser, allowed
to create databases). Nothing is asserted.
"""

from __future__ import annotations

import argparse
import time
import uuid
from typing import Any

import psycopg
from _common import machine, summary, write_json
from psycopg import sql
from psycopg.conninfo import make_conninfo

from pgroll_dsl import api
from pgroll_dsl.backends.live import Session
from pgroll_dsl.backends.runner import Runner, RunOptions
from pgroll_dsl.embedded import EmbeddedServer
from pgroll_dsl.plan.model import Step, StepKind

MIGRATION = "alter table t add w int not null up `v * 2`;"


def layout_sql(partitions: int, rows: int) -> str:
    """The table, partitioned by month over ``partitions`` months (0: a plain table)."""
    months = max(partitions, 12)
    table = ("create table t (id bigint not null, at date not null, v int, primary key (id, at))"
             + (" partition by range (at);\n" if partitions else ";\n"))
    for m in range(partitions):
        table += (f"create table t_{m:03d} partition of t for values from "
                  f"(date '2020-01-01' + interval '{m} month') to "
                  f"(date '2020-01-01' + interval '{m + 1} month');\n")
    # Rows spread evenly over the months (a plain table gets the same rows).
    return table + (f"insert into t select g, (date '2020-01-01' + ((g % {months}) || ' month')"
                    f"::interval)::date + (g % 28), g % 1000 from generate_series(1, {rows}) g;")


def run(dsn: str, partitions: int, rows: int) -> dict[str, Any]:
    """One trial in a fresh database: the backfill's time and its steps."""
    name = f"bench_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(dsn, autocommit=True) as admin:
        admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    url = make_conninfo(dsn, dbname=name)
    try:
        runner = Runner(RunOptions(session=Session(url=url, schema="public"), batch_size=1000))
        runner.init()
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute(layout_sql(partitions, rows))
            conn.execute("VACUUM ANALYZE t")
            conn.execute("CHECKPOINT")
        spent: list[float] = []
        run_step = runner.executor.run_step

        def timed(step: Step, *args: Any, **kwargs: Any) -> None:
            began = time.perf_counter()
            run_step(step, *args, **kwargs)
            if step.kind is StepKind.BACKFILL:
                spent.append(time.perf_counter() - began)

        runner.executor.run_step = timed  # type: ignore[method-assign]
        began = time.perf_counter()
        runner.start(api.compile_source(MIGRATION, "02_backfill.pgroll").migration)
        start = time.perf_counter() - began
        runner.close()
        with psycopg.connect(url, autocommit=True) as conn:
            wrong = conn.execute("SELECT count(*) FROM t WHERE _pgroll_new_w IS DISTINCT FROM "
                                 "v * 2").fetchone()
        return {"backfill_seconds": sum(spent), "backfill_steps": len(spent),
                "start_seconds": start, "wrong_rows": wrong[0] if wrong else None}
    finally:
        with psycopg.connect(dsn, autocommit=True) as admin:
            admin.execute(sql.SQL("DROP DATABASE {} WITH (FORCE)").format(sql.Identifier(name)))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--partitions", default="12,120")
    parser.add_argument("--runs", type=int, default=2)
    parser.add_argument("--dsn", default=None)
    args = parser.parse_args()
    layouts = [0, *(int(p) for p in args.partitions.split(","))]
    server = None
    dsn = args.dsn
    if dsn is None:
        server = EmbeddedServer()
        server.start()
        dsn = server.dsn
    try:
        trials: dict[int, list[dict[str, Any]]] = {n: [] for n in layouts}
        for _ in range(args.runs):
            for partitions in layouts:
                trials[partitions].append(run(dsn, partitions, args.rows))
    finally:
        if server is not None:
            server.stop()
    cases = []
    print(f"{'layout':>16} {'steps':>6} {'backfill s':>22} {'rows/s':>28}")
    for partitions in layouts:
        seconds = [t["backfill_seconds"] for t in trials[partitions]]
        rates = [args.rows / s for s in seconds]
        label = f"{partitions} partitions" if partitions else "plain table"
        s, r = summary(seconds), summary(rates)
        print(f"{label:>16} {trials[partitions][0]['backfill_steps']:>6} "
              f"{s['median']:>8.2f} ({s['min']:.2f}–{s['max']:.2f}) "
              f"{r['median']:>12,.0f} ({r['min']:,.0f}–{r['max']:,.0f})")
        cases.append({"partitions": partitions, "rows": args.rows, "trials": trials[partitions],
                      "backfill_seconds": s, "rows_per_second": r})
    write_json("partitioned_backfill", {"machine": machine(), "migration": MIGRATION,
                                        "runs": args.runs, "cases": cases})


if __name__ == "__main__":
    main()
