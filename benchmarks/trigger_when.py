"""What a BEFORE row trigger costs a write it skips: its presence, and its ``WHEN``.

Usage: python benchmarks/trigger_when.py [--quick] [--rows 100000] [--runs 9]

A table ``t(id bigint primary key, v int, payload text)`` of ``--rows`` rows; the same
``UPDATE t SET payload = payload || 'x'`` (a column no trigger cares about) with no trigger,
and with one or two BEFORE UPDATE row triggers whose ``WHEN`` is false for every row: plain
``false``; the sync triggers' writer test (``plan.triggers.is_new_version``: the first schema
of the search_path compared with the version schemas' names, and for a session whose first
schema is another, which of the migration's schemas comes first), once per side of writers
as the sync triggers have it; the first schema's test alone (before 7bbc83f);
the test before that
(the setting's text cut at its first comma); and, the floor of any test of the setting's
text, the setting read and compared whole. Each after ``VACUUM`` and ``CHECKPOINT``, rolled
back, interleaved, ``--runs`` times. ratio = time without a trigger ÷ time with. Nothing is
asserted.
"""

from __future__ import annotations

import argparse
import time
from typing import Any

from _common import (
    Bench,
    fmt,
    machine,
    print_table,
    pyplot,
    save_plot,
    summary,
    vacuum_and_checkpoint,
    write_json,
)

from pgroll_dsl.plan.triggers import is_new_version

WRITER = is_new_version("public_02_x", ("public", "public_01_x"))
# Before, the first schema alone decided (a first schema holding none of the tables, an
# existing "$user" or pg_temp, made a new-version writer an old one).
FIRST_ONLY = ("(pg_catalog.array_remove(pg_catalog.current_schemas(false), 'pg_catalog'))[1] "
              "= 'public_02_x'")
# The writer test before a8f16db: the setting's text, cut at its first comma (it misread a
# schema name with a comma or a double quote, and "$user" or pg_catalog named first).
SETTING_CUT = ("pg_catalog.btrim(pg_catalog.split_part(pg_catalog.current_setting("
               "'search_path'), ',', 1), ' \"') = 'public_02_x'")
CASES: dict[str, list[str]] = {
    "no trigger": [],
    "one trigger, WHEN false": ["false"],
    "two triggers, WHEN false": ["false", "false"],
    "one trigger, the writer test": [WRITER],
    "one trigger, the writer test, a first schema that holds no table": [WRITER],
    "one trigger, the writer test of the first schema alone (before)": [FIRST_ONLY],
    "two triggers, one writer test each (one per side)": [WRITER, f"NOT ({WRITER})"],
    "one trigger, the writer test before a8f16db (setting cut at a comma)": [SETTING_CUT],
    # The floor of any test that reads the setting: the read and a comparison, nothing else.
    "one trigger, current_setting('search_path') = name": [
        "pg_catalog.current_setting('search_path') = 'public_02_x'"],
}
STATEMENT = "UPDATE t SET payload = payload || 'x'"
# The cases run with the search_path "$user", public (no schema of the role: public first),
# but this one: a schema first that holds no table, where the writer test looks for the
# first of the migration's schemas in the path (array_position, three times).
PATHS = {"one trigger, the writer test, a first schema that holds no table": "scratch, public"}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=9)
    parser.add_argument("--quick", action="store_true", help="10 000 rows, 1 run")
    args = parser.parse_args()
    if args.quick:
        args.rows, args.runs = 10_000, 1
    times: dict[str, list[float]] = {case: [] for case in CASES}
    with Bench(autovacuum=False) as bench, bench.database() as db, bench.connect(db) as conn:
        bench.make_table(db, args.rows)
        conn.execute("CREATE FUNCTION f() RETURNS trigger LANGUAGE plpgsql "
                     "AS $$BEGIN RETURN NEW; END$$")
        conn.execute("CREATE SCHEMA scratch")
        for _ in range(args.runs):
            for case, whens in CASES.items():
                vacuum_and_checkpoint(conn)
                with conn.transaction(force_rollback=True):
                    if case in PATHS:
                        conn.execute(f"SET LOCAL search_path TO {PATHS[case]}")
                    for index, when in enumerate(whens):
                        # (NEW.v IS NULL: false here, keeps a constant WHEN from being folded)
                        conn.execute(f"CREATE TRIGGER tr{index} BEFORE UPDATE ON t FOR EACH ROW "
                                     f"WHEN (({when}) AND NEW.v IS NULL) EXECUTE FUNCTION f()")
                    begin = time.perf_counter()
                    conn.execute(STATEMENT)
                    times[case].append(time.perf_counter() - begin)
    floor = times["no trigger"]
    results: dict[str, Any] = {"machine": machine(), "rows": args.rows, "runs": args.runs,
                               "statement": STATEMENT, "cases": []}
    table = []
    for case, values in times.items():
        ratios = [a / b for a, b in zip(floor, values, strict=True)]
        results["cases"].append({"case": case, "seconds": summary(values),
                                 "ratio": summary(ratios)})
        table.append([case, fmt(summary(values), digits=3), fmt(summary(ratios))])
    print(f"{STATEMENT} on {args.rows} rows, median of {args.runs} (min–max)")
    print_table(["triggers", "seconds", "no trigger ÷ this"], table)
    write_json("trigger_when", results)
    plot(results)


def plot(results: dict[str, Any]) -> None:
    plt = pyplot()
    if plt is None:
        return
    cases = results["cases"]
    figure, axes = plt.subplots(figsize=(8, 3))
    axes.barh([c["case"] for c in cases], [c["ratio"]["median"] for c in cases])
    axes.invert_yaxis()
    axes.set_xlabel("UPDATE without a trigger ÷ with (median)")
    axes.set_title(f"{results['statement']}, {results['rows']} rows")
    save_plot(figure, "trigger_when")


if __name__ == "__main__":
    main()
