"""How much shorter the DSL is than pgroll YAML, over pgroll's 56 example migrations.

Usage: python benchmarks/dsl_size.py [EXAMPLES_DIR]   (default: ../shared/conformance/...)
Prints one line per example and the total ratio of characters, DSL / YAML.
"""

from __future__ import annotations

import sys
from pathlib import Path

from pgroll_dsl import api

DEFAULT = Path(__file__).resolve().parents[2] / "shared" / "conformance" / "pgroll-examples"


def main() -> None:
    directory = Path(sys.argv[1]) if len(sys.argv) > 1 else DEFAULT
    total_yaml = total_dsl = 0
    for path in sorted(directory.glob("*.yaml")):
        yaml_text = path.read_text(encoding="utf-8")
        dsl_text = api.emit(api.compile_file(path).migration, "dsl")
        total_yaml += len(yaml_text)
        total_dsl += len(dsl_text)
        print(f"{path.stem:55} yaml {len(yaml_text):5}  dsl {len(dsl_text):5}  "
              f"{len(dsl_text) / len(yaml_text):6.1%}")
    print(f"{'TOTAL':55} yaml {total_yaml:5}  dsl {total_dsl:5}  {total_dsl / total_yaml:6.1%}")


if __name__ == "__main__":
    main()
