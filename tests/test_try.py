"""``pgroll-dsl try``: the README's main job, on the throwaway PostgreSQL it starts itself.

``try examples/`` is compared with ``tests/golden/try_examples.txt`` (the port masked). After
a deliberate change of the output, rewrite the golden file with::

    PGROLL_DSL_UPDATE_GOLDEN=1 .venv/bin/python -m pytest tests/test_try.py -k golden

and review the diff (docs/concepts.md quotes a part of it, which must stay true). The other
tests check what the rows mean: a row an old client writes during the migration is read by
the new version with ``up`` applied, a new client's row is read by the old version with
``down`` applied, seeded rows are backfilled; ``try FILE`` applies the files before it
first; ``--keep`` leaves a server that answers at the URL it prints until its printed stop
command is run.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import psycopg
import pytest
from typer.testing import CliRunner

from pgroll_dsl.cli import app

REPO = Path(__file__).resolve().parents[1]
EXAMPLES = REPO / "examples"
GOLDEN = REPO / "tests" / "golden" / "try_examples.txt"
UPDATE = "PGROLL_DSL_UPDATE_GOLDEN"

_PORT = re.compile(r"127\.0\.0\.1:\d+")


def mask(text: str) -> str:
    """The output with what changes from run to run (the server's port) masked."""
    return _PORT.sub("127.0.0.1:PORT", text)


def run_try(*args: str) -> str:
    """``pgroll-dsl try ARGS`` in process; its stdout (it must succeed)."""
    result = CliRunner().invoke(app, ["try", *args])
    assert result.exit_code == 0, (result.output, result.stderr)
    return result.stdout


def table(output: str, section: str, name: str) -> dict[str, list[dict[str, str]]]:
    """The rows ``try`` printed for table ``name`` of migration ``section``, by writer.

    Each row is a dict from the header (``id``, ``old: email``...) to the cell.
    """
    block = output.split(f"\n{section}: ", 1)[1].split("\n\n", 1)[0].splitlines()
    start = next(i for i, line in enumerate(block)
                 if line.startswith("    written by") and _belongs(block, i, name))
    header = re.split(r"\s{2,}", block[start].strip())
    rows: dict[str, list[dict[str, str]]] = {}
    for line in block[start + 1:]:
        if not line.startswith("    ") or line.startswith("     "):
            break
        cells = re.split(r"\s{2,}", line.strip())
        row = dict(zip(header, cells, strict=False))
        rows.setdefault(row["written by"], []).append(row)
    return rows


def _belongs(block: list[str], index: int, name: str) -> bool:
    """Whether the grid at ``index`` is table ``name``'s (the last table line above it)."""
    above = [line for line in block[:index] if re.match(r"  \S+: ", line)]
    return bool(above) and above[-1].startswith(f"  {name}: ")


def test_try_examples_matches_the_golden_file() -> None:
    output = mask(run_try(str(EXAMPLES)))
    if os.environ.get(UPDATE):
        GOLDEN.parent.mkdir(exist_ok=True)
        GOLDEN.write_text(output)
    assert output == GOLDEN.read_text(), f"set {UPDATE}=1 to rewrite {GOLDEN.name}"


def test_the_concepts_page_shows_real_output() -> None:
    page = (REPO / "docs" / "concepts.md").read_text()
    excerpt = page.split("an excerpt):\n\n```\n", 1)[1].split("```", 1)[0]
    assert excerpt.startswith("03_users_email_not_null: ")
    assert excerpt in GOLDEN.read_text()


def test_try_examples_shows_backfill_and_both_trigger_directions() -> None:
    output = run_try(str(EXAMPLES))
    users = table(output, "03_users_email_not_null", "users")
    # seeded before start: one with an email, one without, which the backfill computed
    assert [(r["old: email"], r["new: email"]) for r in users["seeded"]] == [
        ("email1", "email1"), ("NULL", "name2@unknown.invalid")]
    # an old client writes no email during the migration: the trigger computes `up`
    [old] = users["old client"]
    assert old["old: email"] == "NULL"
    assert old["new: email"] == f"name{old['id']}@unknown.invalid"
    # a new client's email reaches the old version (down: the value unchanged)
    [new] = users["new client"]
    assert new["old: email"] == new["new: email"] == f"email{new['id']}"
    renamed = table(output, "04_rename_name", "users")
    for who in ("existing", "old client", "new client"):
        for row in renamed[who]:
            assert row["old: name"] == row["new: full_name"] != "NULL"
    assert "done: the server is gone" in output


def test_try_file_applies_the_files_before_it_first() -> None:
    output = run_try(str(EXAMPLES / "04_rename_name.pgroll"))
    assert "applied first: 01_create_users, 02_add_orders, 03_users_email_not_null" in output
    assert "\n04_rename_name: rename column users.name to full_name" in output
    assert "\n03_users_email_not_null:" not in output
    users = table(output, "04_rename_name", "users")
    assert len(users["seeded"]) == 2  # the table was empty: seeded through the old version
    orders = table(output, "04_rename_name", "orders")
    [new] = orders["new client"]
    assert new["new: note"] == f"note{new['id']}"
    assert all(r["new: note"] == "NULL" for r in [*orders["seeded"], *orders["old client"]])


def test_try_shows_a_type_change_both_ways_and_says_what_has_no_rows(tmp_path: Path) -> None:
    (tmp_path / "01_create.pgroll").write_text(
        "create table items (id int primary key, label text not null, size text);\n")
    (tmp_path / "02_index.pgroll").write_text("create index items_label on items (label);\n")
    (tmp_path / "03_size_int.pgroll").write_text(
        "alter table items alter size type int up `length(size)` down `size::text`;\n")
    (tmp_path / "04_raw.pgroll").write_text(
        "sql up `create table notes (id int)` down `drop table notes`;\n")
    (tmp_path / "05_drop.pgroll").write_text("alter table items drop label down `'gone'`;\n")
    output = run_try(str(tmp_path))
    index = output.split("\n02_index: ", 1)[1].split("\n\n", 1)[0]
    assert "no change to the tables and columns either version shows" in index
    items = table(output, "03_size_int", "items")
    # seeded: the full row has size 'size1' (5 characters), the other none
    assert [(r["old: size"], r["new: size"]) for r in items["seeded"]] == [
        ("size1", "5"), ("NULL", "NULL")]
    [old] = items["old client"]  # during the migration: the trigger applies `up`
    written = f"size{old['id']}"
    assert (old["old: size"], old["new: size"]) == (written, str(len(written)))
    [new] = items["new client"]
    assert new["old: size"] == new["new: size"] == new["id"]  # down: the int as text
    raw = output.split("\n04_raw: ", 1)[1].split("\n\n", 1)[0]
    assert "the new version shows: + notes(id)" in raw
    dropped = table(output, "05_drop", "items")
    [new] = dropped["new client"]  # the new version has no label: `down` fills it
    assert new == {"written by": "new client", "id": new["id"], "old: label": "gone"}
    [old] = dropped["old client"]
    assert old["old: label"] == f"label{old['id']}"


def test_try_a_file_that_is_no_migration_is_a_usage_error(tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["try", str(tmp_path)])
    assert result.exit_code == 2
    assert "no migration files" in result.stderr


def test_try_keep_leaves_the_server_running_until_its_stop_command() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "pgroll_dsl", "try", str(EXAMPLES / "02_add_orders.pgroll"),
         "--keep"], capture_output=True, text=True, timeout=300, check=False)
    url = re.search(r"keeps running at (\S+)", done.stdout)
    stop = re.search(r"stop it: +(.+)", done.stdout)
    try:
        assert done.returncode == 0, done.stderr
        assert url is not None and stop is not None, done.stdout
        assert "the server is gone" not in done.stdout
        with psycopg.connect(url.group(1), connect_timeout=10) as conn:
            latest = conn.execute("SELECT count(*) FROM public_02_add_orders.orders").fetchone()
            assert latest == (0,)
    finally:
        if stop is not None:
            subprocess.run(["sh", "-c", stop.group(1)], check=True, timeout=120)
    with pytest.raises(psycopg.OperationalError):
        psycopg.connect(url.group(1), connect_timeout=5)


def test_try_reports_a_migration_the_live_schema_refuses_and_stops(tmp_path: Path) -> None:
    (tmp_path / "01_create.pgroll").write_text("create table t (id int primary key);\n")
    (tmp_path / "02_bad.pgroll").write_text("alter table t add c int not null up `nosuch`;\n")
    result = CliRunner().invoke(app, ["try", str(tmp_path)])
    assert result.exit_code == 1, result.output
    assert "error[PGD209]" in result.stderr
    assert "Traceback" not in result.output + result.stderr
    assert "completed: public_01_create is the only version" in result.stdout
