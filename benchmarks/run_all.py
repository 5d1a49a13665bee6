"""Run every live-executor benchmark in turn: backfill and its fixed cost (as superuser and as
the table's owner), triggers, trigger_when, lock_wait (a plain and a partitioned table),
load, replica_lag.

Usage: python benchmarks/run_all.py [--quick] [--runs N]

Each script starts its own throwaway PostgreSQL 18, prints its table and writes
benchmarks/results/<name>.json and .png. About 12 minutes on two cores (--quick: about 3).
"""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

SCRIPTS = (("backfill.py",), ("backfill.py", "--owner"), ("backfill_fixed.py",),
           ("backfill_fixed.py", "--owner"), ("triggers.py",), ("trigger_when.py",),
           ("lock_wait.py",), ("lock_wait.py", "--partitioned"),
           ("load.py",),
           ("replica_lag.py",))


def main() -> None:
    here = Path(__file__).resolve().parent
    extra = sys.argv[1:]  # --quick and --runs N: options every script takes
    failed = []
    for script, *flags in SCRIPTS:
        print(f"\n=== {script} {' '.join([*flags, *extra])}", flush=True)
        begin = time.perf_counter()
        done = subprocess.run([sys.executable, str(here / script), *flags, *extra], check=False)
        print(f"=== {script}: exit {done.returncode}, {time.perf_counter() - begin:.0f} s",
              flush=True)
        if done.returncode != 0:
            failed.append(script)
    if failed:
        raise SystemExit(f"failed: {', '.join(failed)}")


if __name__ == "__main__":
    main()
