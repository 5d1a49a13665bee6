"""Backfill speed against its floor: one plain UPDATE of the same rows.

Usage: python benchmarks/backfill.py [--quick] [--sizes 10000,100000,1000000,10000000] [--runs 3]
                                    [--owner] [--start-args "--backfill-batch-time 200"] [--name N]

For each size, a table ``t(id bigint primary key, v int, payload text)`` in a fresh database:

* floor: the same table with the new column added (catalog only), then one
  ``UPDATE t SET <column> = <expression>`` of every row, timed by the client;
* floor with a trigger: the same, on a table that also has a BEFORE UPDATE row trigger that
  never fires (``WHEN (false)``). The sync triggers must exist while the backfill runs (clients
  write meanwhile), and PostgreSQL fetches and locks each row for a BEFORE row trigger before
  it looks at the trigger's WHEN or at ``session_replication_role``: this floor is what an
  UPDATE costs on a table with triggers, before any trigger runs;
* ``start`` of ``alter table t add w int not null up `v * 2```;
* ``start`` of ``alter table t alter v type bigint up v down v``.

The backfill time is read from the server's statement log (the statements that
``pgroll-dsl plan --format json`` lists as backfill steps, union of their intervals); a run
whose log shows none stops the script. Runs are interleaved (run 1 of every size and kind,
then run 2, ...); figures are median (min–max). ratio = floor time ÷ backfill time (1.0: as
fast as the floor), paired run by run. pgroll-dsl runs as a superuser, or with ``--owner`` as
the tables' owner (results in backfill_owner.json / .png). Nothing is asserted.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from contextlib import nullcontext
from pathlib import Path
from typing import Any

from _common import (
    Bench,
    backfill_statements,
    backfill_window,
    fmt,
    machine,
    migration_file,
    plan_json,
    print_table,
    pyplot,
    save_plot,
    summary,
    vacuum_and_checkpoint,
    write_json,
)

# kind: (migration, floor column DDL, floor UPDATE, check through the new version)
KINDS: dict[str, tuple[str, str, str, str]] = {
    "add_not_null": (
        "alter table t add w int not null up `v * 2`;\n",
        "ALTER TABLE t ADD COLUMN w int",
        "UPDATE t SET w = v * 2",
        "SELECT count(*) FROM t WHERE w IS DISTINCT FROM v * 2",
    ),
    "type_int_bigint": (
        "alter table t alter v type bigint up v down v;\n",
        "ALTER TABLE t ADD COLUMN v_new bigint",
        "UPDATE t SET v_new = v",
        "SELECT count(*) FROM t WHERE v IS DISTINCT FROM id",
    ),
}


# A BEFORE UPDATE row trigger that never fires (see the module's docstring).
IDLE_TRIGGER = (
    "CREATE FUNCTION bench_idle() RETURNS trigger LANGUAGE plpgsql AS 'BEGIN RETURN NEW; END';"
    " CREATE TRIGGER bench_idle BEFORE UPDATE ON t FOR EACH ROW WHEN (false)"
    " EXECUTE FUNCTION bench_idle()"
)
# floor name: (kind whose DDL and UPDATE it runs, with the idle trigger)
FLOORS: dict[str, tuple[str, bool]] = {
    "floor": ("add_not_null", False), "floor_trigger": ("add_not_null", True),
    "floor_bigint": ("type_int_bigint", False),
    "floor_bigint_trigger": ("type_int_bigint", True),
}
_FLOOR_NAMED = {spec: name for name, spec in FLOORS.items()}  # (kind, trigger) -> floor name


def floor(bench: Bench, rows: int, name: str, new_session: bool = False) -> float:
    """The floor's UPDATE, timed by the client; ``new_session``: in a session of its own."""
    kind, trigger = FLOORS[name]
    _migration, ddl, update, _check = KINDS[kind]
    with bench.database() as db, bench.connect(db) as conn:
        bench.make_table(db, rows)
        conn.execute(ddl)
        if trigger:
            conn.execute(IDLE_TRIGGER)
        vacuum_and_checkpoint(conn)
        with bench.connect(db) if new_session else nullcontext(conn) as timed:
            begin = time.perf_counter()
            timed.execute(update)
            return time.perf_counter() - begin


# Options of ``start`` that change the planned backfill statement: ``plan`` must be given them
# too, or its statement is not the one ``start`` runs, and the log shows no backfill.
PLANNED = ("--backfill-batch-size", "--backfill-batch-time", "--backfill-batch-delay",
           "--backfill-max-replica-lag")


def planned(start_args: tuple[str, ...]) -> tuple[str, ...]:
    """The options of ``start_args`` (with their values) that ``plan`` needs as well."""
    found: list[str] = []
    for index, arg in enumerate(start_args):
        if arg.split("=", 1)[0] in PLANNED:
            found.append(arg)
            if "=" not in arg and index + 1 < len(start_args):
                found.append(start_args[index + 1])
    return tuple(found)


def migration(bench: Bench, rows: int, kind: str, files: Path,
              start_args: tuple[str, ...] = ()) -> dict[str, Any]:
    """Start the migration on ``rows`` rows; its backfill and whole start, in seconds."""
    path = migration_file(files, f"bench_{kind}", KINDS[kind][0])
    with bench.database() as db, bench.connect(db) as conn:
        bench.make_table(db, rows)
        bench.pgroll("init", db)
        backfill_sql = backfill_statements(plan_json(bench, db, path, *planned(start_args)))
        vacuum_and_checkpoint(conn)
        bench.mark_log()
        run = bench.pgroll("start", db, str(path), *start_args)
        window = backfill_window(bench.logged(), backfill_sql)
        version = bench.pgroll("latest", db).stdout.strip()
        conn.execute(f'SET search_path TO "{version}"')
        row = conn.execute(KINDS[kind][3]).fetchone()
        wrong = row[0] if row else -1
    return {"start": run.seconds, "backfill": None if window is None else window[2],
            "wrong_rows": wrong}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="10000,100000,1000000")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--quick", action="store_true", help="sizes 1000,10000,50000; 1 run")
    parser.add_argument("--owner", action="store_true",
                        help="run pgroll-dsl as the table's owner, not as a superuser")
    parser.add_argument("--start-args", default="",
                        help="more options of pgroll-dsl start, e.g. a batch time to compare")
    parser.add_argument("--name", help="name of the result files (default: backfill, "
                        "backfill_owner, or with --start-args the options appended)")
    args = parser.parse_args()
    start_args = tuple(args.start_args.split())
    sizes = [int(s) for s in ("1000,10000,50000" if args.quick else args.sizes).split(",")]
    runs = 1 if args.quick else args.runs

    times: dict[tuple[str, int], list[float]] = {}
    starts: dict[tuple[str, int], list[float]] = {}
    wrong = 0
    with Bench(autovacuum=False, owner=args.owner) as bench, \
            tempfile.TemporaryDirectory() as tmp:
        for run in range(runs):
            for rows in sizes:
                for name in FLOORS:
                    times.setdefault((name, rows), []).append(floor(bench, rows, name))
                for kind in KINDS:
                    result = migration(bench, rows, kind, Path(tmp), start_args)
                    wrong += result["wrong_rows"]
                    starts.setdefault((kind, rows), []).append(result["start"])
                    backfill = result["backfill"]
                    if backfill is None:
                        raise SystemExit(f"{kind}, {rows} rows: the server log shows no "
                                         "backfill statement; nothing to time")
                    times.setdefault((kind, rows), []).append(backfill)
                    print(f"run {run + 1}: {kind} {rows} rows: backfill {backfill:.3f} s, "
                          f"start {result['start']:.3f} s", flush=True)

    results: dict[str, Any] = {"machine": machine(), "runs": runs, "sizes": sizes,
                               "migrator": "table owner" if args.owner else "superuser",
                               "start_args": list(start_args),
                               "backfill_timed_by": "server statement log",
                               "wrong_rows": wrong, "cases": []}
    table = []
    for rows in sizes:
        for name in (*FLOORS, *KINDS):
            seconds = times[(name, rows)]
            case: dict[str, Any] = {"kind": name, "rows": rows, "seconds": summary(seconds),
                                    "rows_per_second": summary([rows / s for s in seconds])}
            ratios = ["-", "-"]
            if name in KINDS:
                for at, (key, reference) in enumerate((
                        ("ratio_floor_over_backfill", _FLOOR_NAMED[name, False]),
                        ("ratio_floor_trigger_over_backfill", _FLOOR_NAMED[name, True]))):
                    pairs = zip(times[(reference, rows)], seconds, strict=True)
                    case[key] = summary([f / b for f, b in pairs])
                    ratios[at] = fmt(case[key])
                case["start_seconds"] = summary(starts[(name, rows)])
            elif FLOORS[name][1]:  # what the idle trigger costs the plain UPDATE
                plain = _FLOOR_NAMED[FLOORS[name][0], False]
                pairs = zip(times[(plain, rows)], seconds, strict=True)
                case["ratio_floor_over_floor_trigger"] = summary([f / b for f, b in pairs])
                ratios[0] = fmt(case["ratio_floor_over_floor_trigger"])
            results["cases"].append(case)
            table.append([rows, name, fmt(case["seconds"], digits=3),
                          f"{case['rows_per_second']['median']:,.0f}", *ratios,
                          fmt(case["start_seconds"]) if name in KINDS else "-"])
    print_table(["rows", "kind", "seconds", "rows/s", "floor ÷ this",
                 "floor with trigger ÷ this", "whole start s"], table)
    scaling = {}
    for name in (*FLOORS, *KINDS):
        rates = [rows / t for rows, t in ((sizes[-1], times[(name, sizes[-1])][i])
                                         for i in range(runs))]
        base = [sizes[0] / t for t in times[(name, sizes[0])]]
        scaling[name] = summary([hi / lo for hi, lo in zip(rates, base, strict=True)])
        print(f"rate at {sizes[-1]} ÷ rate at {sizes[0]}, {name}: {fmt(scaling[name])}")
    results["rate_largest_over_smallest"] = scaling
    print(f"rows with a wrong value through the new version: {wrong}")
    name = "backfill_owner" if args.owner else "backfill"
    if start_args:  # a comparison: the page's figures stay as they are
        name += "_" + "_".join(a.strip("-").replace("-", "_") for a in start_args)
    name = args.name or name
    write_json(name, results)
    plot(results, name)


def plot(results: dict[str, Any], name: str) -> None:
    plt = pyplot()
    if plt is None:
        return
    figure, axes = plt.subplots(figsize=(7, 4.5))
    labels = {"floor": "floor: UPDATE t SET w = v * 2",
              "floor_trigger": "the same with an idle BEFORE row trigger",
              "floor_bigint": "floor: UPDATE t SET v_new = v",
              "floor_bigint_trigger": "the same with an idle BEFORE row trigger",
              "add_not_null": "backfill: add w int not null up v * 2",
              "type_int_bigint": "backfill: alter v type bigint"}
    for kind, label in labels.items():
        cases = [c for c in results["cases"] if c["kind"] == kind]
        x = [c["rows"] for c in cases]
        rate = [c["rows_per_second"] for c in cases]
        style = "--" if kind.startswith("floor") else "-"
        axes.errorbar(x, [r["median"] for r in rate], marker="o", linestyle=style, capsize=3,
                      yerr=[[r["median"] - r["min"] for r in rate],
                            [r["max"] - r["median"] for r in rate]], label=label)
    axes.set_xscale("log")
    axes.set_xlabel("rows in the table")
    axes.set_ylabel("rows per second (median, min–max)")
    axes.set_ylim(bottom=0)
    axes.set_title(f"Backfill rate against one plain UPDATE (pgroll-dsl as {results['migrator']})")
    axes.grid(True, which="both", alpha=0.3)
    axes.legend(fontsize=8)
    save_plot(figure, name)


if __name__ == "__main__":
    main()
