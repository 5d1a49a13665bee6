"""Cost of the sync triggers: a bulk UPDATE with them against the same UPDATE without them.

Usage: python benchmarks/triggers.py [--quick] [--rows 100000] [--runs 15]

For each migration kind, a table ``t(id bigint primary key, v int, payload text)`` of
``--rows`` rows in a fresh database, and ``pgroll-dsl start`` of the migration. Then two
UPDATEs of every row: ``SET payload = payload || 'x'`` (a column the migration does not touch:
the sync triggers skip such a write in their ``WHEN``, without entering PL/pgSQL) and
``SET v = v + 1`` (the migrated column: the trigger runs for every row),

* through the old version (``search_path`` = the target schema ``public``) and through the
  new version (``search_path`` = the version schema ``pgroll-dsl latest`` names),
* with the migration's triggers, and without them (``ALTER TABLE t DISABLE TRIGGER USER``
  for that one statement: the same table, the same rows),

each after ``VACUUM`` and ``CHECKPOINT`` and rolled back, interleaved, ``--runs`` times.
ratio = time without ÷ time with (1.0: the triggers cost nothing). Nothing is asserted.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from contextlib import ExitStack
from pathlib import Path
from typing import Any

from _common import (
    Bench,
    Conn,
    fmt,
    machine,
    migration_file,
    print_table,
    pyplot,
    save_plot,
    summary,
    vacuum_and_checkpoint,
    write_json,
)

KINDS = {
    "add_not_null": "alter table t add w int not null up `v * 2`;\n",
    "type_int_bigint": "alter table t alter v type bigint up v down v;\n",
}
UPDATES = {"other column": "UPDATE t SET payload = payload || 'x'",
           "migrated column": "UPDATE t SET v = v + 1"}


def prepare(bench: Bench, db: str, rows: int, kind: str, files: Path) -> str:
    """Load the table and start the migration; return the new version schema."""
    bench.make_table(db, rows)
    bench.pgroll("init", db)
    bench.pgroll("start", db, str(migration_file(files, f"bench_{kind}", KINDS[kind])))
    return bench.pgroll("latest", db).stdout.strip()


def timed_update(conn: Conn, schema: str, statement: str, triggers: bool) -> float:
    """One timed UPDATE, rolled back: every run starts from the rows as start left them.

    (Kept, an UPDATE of ``v`` without the triggers would leave every copy out of step, and
    the next UPDATE with them would have every row to recompute.)
    """
    conn.execute("SET search_path TO public")
    vacuum_and_checkpoint(conn)
    with conn.transaction(force_rollback=True):
        if not triggers:
            conn.execute("ALTER TABLE t DISABLE TRIGGER USER")
        conn.execute(f'SET LOCAL search_path TO "{schema}"')
        begin = time.perf_counter()
        conn.execute(statement)
        seconds = time.perf_counter() - begin
    return seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=15,
                        help="runs (15: one statement's time spreads widely)")
    parser.add_argument("--quick", action="store_true", help="10 000 rows, 1 run")
    args = parser.parse_args()
    rows, runs = (10_000, 1) if args.quick else (args.rows, args.runs)

    times: dict[tuple[str, str, str, bool], list[float]] = {}
    trigger_count: dict[str, int] = {}
    with Bench(autovacuum=False) as bench, tempfile.TemporaryDirectory() as tmp, \
            ExitStack() as stack:
        sides: dict[str, dict[str, str]] = {}
        conns: dict[str, Conn] = {}
        for kind in KINDS:
            db = stack.enter_context(bench.database())
            sides[kind] = {"old": "public", "new": prepare(bench, db, rows, kind, Path(tmp))}
            conns[kind] = stack.enter_context(bench.connect(db))
            found = conns[kind].execute(
                "SELECT count(*) FROM pg_trigger WHERE tgrelid = 'public.t'::regclass"
                " AND NOT tgisinternal").fetchone()
            trigger_count[kind] = found[0] if found else 0
        for run in range(runs):
            for kind in KINDS:
                for side, schema in sides[kind].items():
                    for what, statement in UPDATES.items():
                        for triggers in (True, False):
                            seconds = timed_update(conns[kind], schema, statement, triggers)
                            times.setdefault((kind, side, what, triggers), []).append(seconds)
            print(f"run {run + 1} done", flush=True)

    results: dict[str, Any] = {"machine": machine(), "rows": rows, "runs": runs,
                               "statements": UPDATES, "triggers_on_t": trigger_count,
                               "cases": []}
    table = []
    for kind in KINDS:
        for side in ("old", "new"):
            for what in UPDATES:
                with_t = times[(kind, side, what, True)]
                without = times[(kind, side, what, False)]
                ratios = [b / a for a, b in zip(with_t, without, strict=True)]
                case: dict[str, Any] = {"kind": kind, "version": side, "updates": what,
                                        "with_triggers": summary(with_t),
                                        "without_triggers": summary(without),
                                        "ratio_without_over_with": summary(ratios)}
                results["cases"].append(case)
                table.append([kind, side, what, fmt(case["without_triggers"], digits=3),
                              fmt(case["with_triggers"], digits=3),
                              fmt(case["ratio_without_over_with"])])
    print(f"UPDATE of {rows} rows after start; triggers on t: {trigger_count}")
    print_table(["migration", "version", "updates", "without s", "with s", "without ÷ with"],
                table)
    write_json("triggers", results)
    plot(results)


def plot(results: dict[str, Any]) -> None:
    plt = pyplot()
    if plt is None:
        return
    figure, axes = plt.subplots(figsize=(10, 4.5))
    cases = results["cases"]
    labels = [f"{c['kind']}\n{c['version']} version\n{c['updates']}" for c in cases]
    x = range(len(cases))
    for offset, key, label in ((-0.2, "without_triggers", "without triggers"),
                               (0.2, "with_triggers", "with the migration's triggers")):
        stats = [c[key] for c in cases]
        axes.bar([i + offset for i in x], [s["median"] for s in stats], width=0.4, label=label,
                 yerr=[[s["median"] - s["min"] for s in stats],
                       [s["max"] - s["median"] for s in stats]], capsize=3)
    for i, case in enumerate(cases):
        axes.annotate(f"{case['ratio_without_over_with']['median']:.2f}",
                      (i + 0.2, case["with_triggers"]["max"]), ha="center", va="bottom",
                      xytext=(0, 3), textcoords="offset points", fontsize=8)
    axes.set_xticks(list(x), labels, fontsize=7)
    axes.set_ylabel("seconds (median, min–max)")
    axes.set_title(f"UPDATE of {results['rows']:,} rows (label: without ÷ with)")
    axes.legend(fontsize=8)
    save_plot(figure, "triggers")


if __name__ == "__main__":
    main()
