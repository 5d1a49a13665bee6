"""Front-end speed: parse + check + convert all 56 examples, and cold start of the CLI.

Usage: python benchmarks/frontend_speed.py [EXAMPLES_DIR] [--vs PYTHON]
Prints figures; targets (2-core CI machine): all examples < 1 s in one process,
``pgroll-dsl fmt --check FILE`` cold start < 0.5 s, ``pgroll-dsl plan`` and ``validate`` of
``examples/03_users_email_not_null.pgroll`` (which replays the two files before it) <= 0.25 s.
With ``--vs PYTHON`` (the interpreter of another install, e.g. a venv of the tree before a
change), the cold starts of ``plan`` and ``validate`` run with both interpreters in turn and
print side by side with the ratio of their medians. Nothing is asserted: see
docs/benchmarks.md.
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

DEFAULT = Path(__file__).resolve().parents[2] / "shared" / "conformance" / "pgroll-examples"
EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "03_users_email_not_null.pgroll"
RUNS = 7


def _in_process(directory: Path) -> tuple[float, float]:
    """First pass (includes imports and parser construction) and a warm pass."""
    start = time.perf_counter()
    from pgroll_dsl import api

    def one_pass() -> None:
        for path in sorted(directory.glob("*.yaml")):
            migration = api.compile_file(path).migration
            for target in ("dsl", "json", "yaml"):
                api.emit(migration, target)  # type: ignore[arg-type]

    one_pass()
    first = time.perf_counter() - start
    start = time.perf_counter()
    one_pass()
    return first, time.perf_counter() - start


def _cold_start(*args: str, python: str = sys.executable) -> list[float]:
    """New processes, with byte code cached as an installed package has it.

    ``PYTHONDONTWRITEBYTECODE`` (set on some machines) would make every run of an editable
    install compile the package from source, which no installed user pays; one untimed run
    writes the cache first.
    """
    command = [python, "-m", "pgroll_dsl", *args]
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    # Outside the checkout: ``-m`` puts the working directory first on the path, which would
    # run the checkout's package with another install's interpreter (``--vs``).
    where = tempfile.gettempdir()
    subprocess.run(command, check=True, capture_output=True, env=env, cwd=where)
    times = []
    for _ in range(RUNS):
        start = time.perf_counter()
        subprocess.run(command, check=True, capture_output=True, env=env, cwd=where)
        times.append(time.perf_counter() - start)
    return times


def main() -> None:
    arguments = sys.argv[1:]
    if "--vs" in arguments:
        at = arguments.index("--vs")
        other = arguments[at + 1]
        del arguments[at:at + 2]
        _side_by_side(other)
        return
    directory = Path(arguments[0]) if arguments else DEFAULT
    count = len(list(directory.glob("*.yaml")))
    first, warm = _in_process(directory)
    print(f"parse + check + convert (dsl, json, yaml) of {count} examples, one process:")
    print(f"  first pass incl. imports: {first * 1000:7.1f} ms   warm pass: {warm * 1000:7.1f} ms")
    from pgroll_dsl import api

    with tempfile.TemporaryDirectory() as tmp:
        sample = Path(tmp) / "35_alter_column_multiple.pgroll"
        source = directory / "35_alter_column_multiple.yaml"
        sample.write_text(api.emit(api.compile_file(source).migration, "dsl"), encoding="utf-8")
        _report("fmt --check FILE", _cold_start("fmt", "--check", str(sample)))
    for command in ("plan", "validate"):
        _report(f"{command} {EXAMPLE.parent.name}/{EXAMPLE.name}",
                _cold_start(command, str(EXAMPLE)))


def _side_by_side(other: str) -> None:
    """Cold starts of plan and validate with this interpreter and ``other``, in turn."""
    for command in ("plan", "validate"):
        these: list[float] = []
        those: list[float] = []
        for _ in range(3):  # alternate, so that a change in the machine's load hits both
            these += _cold_start(command, str(EXAMPLE))
            those += _cold_start(command, str(EXAMPLE), python=other)
        print(f"cold start of `pgroll-dsl {command} {EXAMPLE.parent.name}/{EXAMPLE.name}`, "
              f"{len(these)} runs each:")
        for label, times in ((sys.executable, these), (other, those)):
            print(f"  {label}: median {statistics.median(times) * 1000:7.1f} ms   "
                  f"min {min(times) * 1000:7.1f} ms   max {max(times) * 1000:7.1f} ms")
        print(f"  ratio of the medians: {statistics.median(these) / statistics.median(those):.3f}")


def _report(what: str, times: list[float]) -> None:
    print(f"cold start of `pgroll-dsl {what}`, {RUNS} runs:")
    print(f"  median {statistics.median(times) * 1000:7.1f} ms   "
          f"min {min(times) * 1000:7.1f} ms   max {max(times) * 1000:7.1f} ms")


if __name__ == "__main__":
    main()
