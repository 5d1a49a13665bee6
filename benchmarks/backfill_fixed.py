"""What a backfill costs a table whatever its size: its fixed cost, and where it goes.

Usage: python benchmarks/backfill_fixed.py [--runs 15] [--quick] [--owner]
                                          [--kind add_not_null|type_int_bigint]

At 10 000 rows the backfill's ratio to one plain UPDATE (``backfill.py``) is set by a cost
that does not grow with the rows: two ``DO`` blocks compiled, the catalog read, the probes,
each statement planned once, the second pass's check. This script measures it apart, on a
table of one row, in two ways, and prints both side by side with the floor:

* **whole steps**: ``pgroll-dsl start`` as an operator runs it; each backfill statement's
  duration from the server's statement log (as ``backfill.py`` times it), median of
  ``--runs`` (min–max). The floor: one ``UPDATE`` of the one row in a new session, timed by
  the client.
* **statement by statement**: the plan's start steps (``pgroll-dsl plan --format json``) run
  in one session that first reads the catalog as ``start`` does (so the catalogs that read
  touches are as warm as in ``start``), each backfill ``DO`` block with a timestamp NOTICE
  after every statement of its body (the NOTICEs themselves cost some 0.03–0.05 ms each:
  read the larger entries). ``check_function_bodies`` is off in the blocks, as the executor
  runs them.

Results in ``benchmarks/results/backfill_fixed{,_owner}.json`` and ``.png``. Nothing is
asserted.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

from _common import (
    Bench,
    backfill_durations,
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
from backfill import _FLOOR_NAMED, KINDS, floor

from pgroll_dsl.catalog.introspect import introspect

_MARK = "pgroll-bench-mark|"


def whole_steps(bench: Bench, path: Path) -> list[float]:
    """Each backfill step's logged duration (seconds), in plan order."""
    with bench.database() as db, bench.connect(db) as conn:
        bench.make_table(db, 1)
        bench.pgroll("init", db)
        plan = plan_json(bench, db, path)
        vacuum_and_checkpoint(conn)
        bench.mark_log()
        bench.pgroll("start", db, str(path))
        return backfill_durations(bench.logged(), plan)


def instrumented(block: str, step: int) -> tuple[str, list[str]]:
    """``block`` with a timestamp NOTICE after each statement of its body; its lines."""
    lines = block.split("\n")
    out: list[str] = []
    body = False
    for number, line in enumerate(lines):
        out.append(line)
        stripped = line.strip()
        ends = stripped.endswith(";") and not stripped.startswith("--")
        if line == "BEGIN" or (body and ends and number < len(lines) - 2):
            body = True
            out.append(f"  RAISE NOTICE '{_MARK}{step}|{number}|%', "
                       "extract(epoch FROM pg_catalog.clock_timestamp());")
    return "\n".join(out), lines


def by_statement(bench: Bench, path: Path, plan: dict[str, Any],
                 spent: dict[tuple[int, int], list[float]], texts: dict[int, list[str]]) -> None:
    """One run of the start steps in one session; time between marks into ``spent``."""
    steps = plan["start"]
    with bench.database() as db:
        bench.make_table(db, 1)
        bench.pgroll("init", db)
        with bench.connect(db) as conn:
            vacuum_and_checkpoint(conn)
        with bench.connect(db) as conn:
            introspect(conn, "public")  # start reads the catalog in its session first
            marks: list[str] = []
            conn.add_notice_handler(lambda d: marks.append(d.message_primary or ""))
            backfills = 0
            in_transaction = False
            for step in steps:  # a unit per transaction, as the executor runs them
                if in_transaction and not step["joins_previous"]:
                    conn.execute("COMMIT")
                    in_transaction = False
                if step.get("kind") != "backfill":
                    if step["transactional"] and not in_transaction:
                        conn.execute("BEGIN")
                        in_transaction = True
                    conn.execute(step["sql"])
                    continue
                backfills += 1
                text, texts[backfills] = instrumented(step["sql"], backfills)
                marks.clear()
                conn.execute("SET check_function_bodies = off")
                began = time.time()
                conn.execute(text)
                ended = time.time()
                conn.execute("RESET check_function_bodies")
                previous = (-1, began)  # -1: from the client's send, compile included
                for mark in marks:
                    if mark.startswith(_MARK):
                        _, _step, line, at = mark.split("|")
                        spent[(backfills, previous[0])].append(float(at) - previous[1])
                        previous = (int(line), float(at))
                spent[(backfills, previous[0])].append(ended - previous[1])
            if in_transaction:
                conn.execute("COMMIT")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=15)
    parser.add_argument("--quick", action="store_true", help="5 runs")
    parser.add_argument("--owner", action="store_true",
                        help="run pgroll-dsl as the table's owner, not as a superuser")
    parser.add_argument("--kind", choices=sorted(KINDS), default="add_not_null")
    args = parser.parse_args()
    runs = 5 if args.quick else args.runs
    steps: list[list[float]] = []
    floors: list[float] = []
    spent: dict[tuple[int, int], list[float]] = defaultdict(list)
    texts: dict[int, list[str]] = {}
    with Bench(autovacuum=False, owner=args.owner) as bench, \
            tempfile.TemporaryDirectory() as tmp:
        path = migration_file(Path(tmp), f"bench_{args.kind}", KINDS[args.kind][0])
        with bench.database() as db:
            bench.make_table(db, 1)
            bench.pgroll("init", db)
            plan = plan_json(bench, db, path)
        for _run in range(runs):  # interleaved
            steps.append(whole_steps(bench, path))
            floors.append(floor(bench, 1, _FLOOR_NAMED[args.kind, False], new_session=True))
            by_statement(bench, path, plan, spent, texts)

    names = [f"pass {n + 1}" for n in range(len(steps[0]))]
    totals = [sum(run) for run in steps]
    results: dict[str, Any] = {
        "machine": machine(), "runs": runs, "kind": args.kind,
        "migrator": "table owner" if args.owner else "superuser",
        "steps": {name: summary([run[n] for run in steps]) for n, name in enumerate(names)},
        "backfill": summary(totals), "floor_one_row": summary(floors),
        "fixed_cost": summary([t - f for t, f in zip(totals, floors, strict=True)]),
        "statements": []}
    rows = [[name, fmt(results["steps"][name], 1000)] for name in names]
    rows += [["both passes", fmt(results["backfill"], 1000)],
             ["floor: the UPDATE of one row", fmt(results["floor_one_row"], 1000)],
             ["fixed cost (both passes - floor)", fmt(results["fixed_cost"], 1000)]]
    print(f"{args.kind}, one row, {runs} runs, {results['migrator']}: ms, median (min–max)")
    print_table(["whole steps (statement log)", "ms"], rows)

    table = []
    for (step, after), values in sorted(spent.items()):
        lines = texts[step]
        # The statement that ends at the next mark: the one after ``after``.
        following = [n for (s, n) in spent if s == step and n > after]
        upto = min(following) if following else len(lines) - 1
        head = next((lines[n].strip() for n in range(after + 1, upto + 1)
                     if lines[n].strip() and not lines[n].strip().startswith("--")), "END")
        where = "compile, send" if after < 0 else f"lines {after + 2}-{upto + 1}"
        median = statistics.median(values)
        results["statements"].append({"pass": step, "after_line": after + 1,
                                      "to_line": upto + 1, "statement": head,
                                      "seconds": summary(values)})
        table.append([f"pass {step}", where, f"{median * 1000:.3f}", head[:70]])
    shown = [row for row in table if float(row[2]) >= 0.05]
    print("statement by statement (one session after the catalog read; entries of 0.05 ms "
          "or more):")
    print_table(["step", "where", "median ms", "statement"], shown)
    for step in sorted(texts):
        inside = sum(statistics.median(v) for (s, _a), v in spent.items() if s == step)
        print(f"pass {step}: the entries add up to {inside * 1000:.2f} ms")
    name = "backfill_fixed_owner" if args.owner else "backfill_fixed"
    write_json(name, results)
    plot(results, name)


def plot(results: dict[str, Any], name: str) -> None:
    plt = pyplot()
    if plt is None:
        return
    entries = [e for e in results["statements"] if e["seconds"]["median"] >= 0.00005]
    labels = [(f"pass {e['pass']}: " + ("compile, send" if e["after_line"] == 0
                                        else e["statement"][:48])).replace("$", r"\$")
              for e in entries]
    values = [e["seconds"]["median"] * 1000 for e in entries]
    figure, axis = plt.subplots(figsize=(9, 0.28 * len(entries) + 1.5))
    axis.barh(range(len(entries)), values, color="tab:blue")
    axis.set_yticks(range(len(entries)), labels, fontsize=7)
    axis.invert_yaxis()
    axis.set_xlabel("ms (median)")
    floor = results["floor_one_row"]["median"] * 1000
    axis.set_title(f"Backfill fixed cost, one row ({results['migrator']}): both passes "
                   f"{results['backfill']['median'] * 1000:.2f} ms, floor {floor:.2f} ms",
                   fontsize=9)
    save_plot(figure, name)


if __name__ == "__main__":
    main()
