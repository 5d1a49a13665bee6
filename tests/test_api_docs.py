"""docs/api.md is executable: its examples run, in order, and print what the page says.

The page's ```pgroll blocks whose info names a file (```pgroll migrations/01_items.pgroll)
are written there first, in a temporary working directory; then each ```python block runs,
all of them in one namespace (later examples use what earlier ones made), with
``DATABASE_URL`` naming a fresh database on the test server. A ```python block followed
directly by an ```output block must print exactly that.
"""

from __future__ import annotations

import contextlib
import io
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from psycopg.conninfo import conninfo_to_dict

from tests.live_helpers import Connection

DOC = Path(__file__).resolve().parents[1] / "docs" / "api.md"
_FENCE = re.compile(r"^```([^`\n]*)\n(.*?)^```[ \t]*$", re.M | re.S)


@dataclass(frozen=True)
class Block:
    """One fenced block of the page."""

    info: str
    text: str
    line: int
    start: int
    end: int


def _blocks() -> list[Block]:
    doc = DOC.read_text(encoding="utf-8")
    return [Block(m.group(1).strip(), m.group(2), doc.count("\n", 0, m.start()) + 1,
                  m.start(), m.end()) for m in _FENCE.finditer(doc)]


def _examples() -> list[tuple[Block, Block | None]]:
    """Each python block, with the output block right after it (nothing but blank lines
    between them), if any."""
    doc = DOC.read_text(encoding="utf-8")
    blocks = _blocks()
    found = []
    for index, block in enumerate(blocks):
        if block.info == "output":
            before = blocks[index - 1] if index else None
            assert before is not None and before.info == "python" and \
                not doc[before.end:block.start].strip(), \
                f"docs/api.md:{block.line}: an output block must follow a python block"
        if block.info != "python":
            continue
        after = blocks[index + 1] if index + 1 < len(blocks) else None
        adjacent = after is not None and after.info == "output" and \
            not doc[block.end:after.start].strip()
        found.append((block, after if adjacent else None))
    return found


def _url(pg_dsn: str, dbname: str) -> str:
    """A postgresql:// URL (SQLAlchemy's form too) for the test's database."""
    params = conninfo_to_dict(pg_dsn)
    password = f":{params['password']}" if params.get("password") else ""
    return (f"postgresql://{params.get('user', 'postgres')}{password}@"
            f"{params.get('host', '127.0.0.1')}:{params.get('port', 5432)}/{dbname}")


def test_the_page_has_examples_for_each_part() -> None:
    code = "\n".join(block.text for block, _ in _examples())
    for name in ("compile_file", "compile_text", "InvalidMigration", "validate(",
                 "plan_migration", "render_plan", "connect(", ".start(", ".complete(",
                 ".status(", ".latest(", ".migrate(", "MigrationRefused",
                 "latest_version_schema", "directory_version_schema", "configure(",
                 "app.sqlalchemy", "app_django.database_options", "use_version_schema"):
        assert name in code, f"docs/api.md shows no example of {name}"
    assert all(output is not None for _, output in _examples()), \
        "every example says what it prints"


def test_the_examples_run_and_print_what_the_page_says(
        pg_dsn: str, pg_conn: Connection, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for block in _blocks():
        kind, _, target = block.info.partition(" ")
        if kind == "pgroll" and target:
            path = tmp_path / target
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(block.text, encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("DATABASE_URL", _url(pg_dsn, pg_conn.info.dbname))
    namespace: dict[str, Any] = {"__name__": "docs_api"}
    for block, output in _examples():
        printed = io.StringIO()
        with contextlib.redirect_stdout(printed):
            exec(compile(block.text, f"{DOC}:{block.line}", "exec"), namespace)  # noqa: S102
        if output is not None:
            assert printed.getvalue() == output.text, f"docs/api.md:{block.line}"
