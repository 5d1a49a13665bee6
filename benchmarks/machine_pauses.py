"""The machine's own pauses: how late a process that only sleeps wakes up, under CPU load.

Usage: python benchmarks/machine_pauses.py [--seconds 5] [--runs 3]

On a virtual machine the host may take its CPUs away for a while. Measured here, a process
that sleeps 1 ms at a time (``_common.Pauses``) for ``--seconds``, with 0, 1 and 2 other
processes keeping CPUs busy (``os.cpu_count()`` of them at most), runs interleaved:
wake-ups 20 ms or more late (the pauses), the longest, and the CPU time the host stole in
that time (``steal`` of ``/proc/stat``). A pause seen with the CPUs busy and none idle is
the machine's, not a program's: the other benchmarks' longest client waits (the maxima of
``complete_stall.py``, ``load.py``) include such pauses, and ``complete_stall.py`` prints
the pauses of the same moments beside them. No PostgreSQL involved; nothing is asserted.
Results in ``benchmarks/results/machine_pauses.json``.
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import time
from typing import Any

from _common import Pauses, fmt, machine, print_table, stolen_ms, summary, write_json


def _busy(seconds: float) -> None:
    end = time.perf_counter() + seconds
    while time.perf_counter() < end:
        pass


def one(busy: int, seconds: float) -> dict[str, Any]:
    """Pauses seen in ``seconds`` with ``busy`` CPUs kept busy."""
    context = multiprocessing.get_context("spawn")
    burners = [context.Process(target=_busy, args=(seconds + 0.5,)) for _ in range(busy)]
    with Pauses() as pauses:
        time.sleep(0.3)  # (the probe is up)
        for burner in burners:
            burner.start()
        stolen = stolen_ms()
        began = time.perf_counter()
        time.sleep(seconds)
        ended = time.perf_counter()
        after = stolen_ms()
        seen = pauses.all(began, ended)
    for burner in burners:
        burner.join()
    return {"busy": busy, "pauses": len(seen), "longest": max(seen, default=0.0),
            "stolen": (after - stolen) / 1000 if after is not None and stolen is not None
            else None}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    levels = sorted({0, 1, min(2, os.cpu_count() or 1)})
    trials: dict[int, list[dict[str, Any]]] = {level: [] for level in levels}
    for run in range(args.runs):
        for level in levels if run % 2 == 0 else levels[::-1]:
            trials[level].append(one(level, args.seconds))
    results: dict[str, Any] = {"machine": machine(), "seconds": args.seconds,
                               "runs": args.runs, "cases": []}
    rows = []
    for level in levels:
        runs = trials[level]
        stolen = [r["stolen"] for r in runs if r["stolen"] is not None]
        pauses = summary([r["pauses"] for r in runs])
        longest = summary([r["longest"] for r in runs])
        results["cases"].append({"busy": level, "pauses": pauses, "longest": longest,
                                 "stolen": summary(stolen) if stolen else None})
        rows.append([level, fmt(pauses, digits=0), fmt(longest, 1000, 1),
                     fmt(summary(stolen), 1000, 0) if stolen else "-"])
    print(f"a process sleeping 1 ms at a time for {args.seconds:g} s, {args.runs} runs: "
          "median (min–max)")
    print_table(["CPUs kept busy", "pauses of 20 ms or more", "longest pause, ms",
                 "CPU time stolen by the host, ms"], rows)
    write_json("machine_pauses", results)


if __name__ == "__main__":
    main()
