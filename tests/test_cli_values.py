"""The CLI converts option values without pydantic, to what typer's own conversion gives.

``pgroll_dsl/cli/values.py`` handles the ordinary values itself and hands the rest to typer;
here every parameter of every command converts a spread of raw values (ordinary, malformed,
out of range, of the wrong kind) both ways, and the results, or the errors and their
messages, must be the same. The commands that need no database start without pydantic, rich,
psycopg or PyYAML, and without the modules of the other commands; and the app of one command
that ``main`` runs when the arguments name it behaves as the whole app.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import typer.main
from typer.testing import CliRunner

from pgroll_dsl import cli
from pgroll_dsl.cli import app

# typer's internals that cli/values.py builds on (typer 0.2x); on another typer: skipped.
_coercion = pytest.importorskip("typer._coercion")
Context = pytest.importorskip("typer._click").Context

REPO = Path(__file__).resolve().parents[1]
EXAMPLE = REPO / "examples" / "03_users_email_not_null.pgroll"

RAW: list[Any] = [
    None, True, False, 0, 1, 500, 0.0, 0.5, 60.0, -1,
    "", "public", "x y", "é", "0", "1", "7", "007", "-1", "+3", " 5", "1_000", "1.5", ".5",
    "1.", "1e3", "nan", "inf", "abc", "99999999999999999999", "0.25",
    "text", "json", "JSON", "sql", "yaml", "dsl", "all", "start", "START", "bogus",
    str(EXAMPLE), str(REPO / "examples"), "/nonexistent/x.pgroll", "-", "a//b", "./x",
    EXAMPLE, Path("examples"), (str(EXAMPLE), "/nonexistent/y.pgroll"), (), ("",),
]


def _commands() -> list[tuple[str, Any]]:
    group = typer.main.get_command(app)
    found: list[tuple[str, Any]] = [("pgroll-dsl", group)]
    for name, command in group.commands.items():  # type: ignore[attr-defined]
        found.append((name, command))
        for sub, inner in getattr(command, "commands", {}).items():
            found.append((f"{name} {sub}", inner))
    return found


def _outcome(convert: Any, value: Any, param: Any, ctx: Context) -> tuple[str, Any]:
    try:
        result = convert.coerce(value, param=param, ctx=ctx)
    except Exception as err:  # the error itself is the outcome compared
        return "error", (type(err).__name__, str(err))
    return "value", (type(result).__name__, result,
                     [type(item).__name__ for item in result] if isinstance(result, list)
                     else None)


@pytest.mark.parametrize(("name", "command"), _commands(), ids=lambda x: str(x))
def test_every_parameter_converts_as_typer_does(name: str, command: Any) -> None:
    ctx = Context(command)
    params = [p for p in command.get_params(ctx) if hasattr(p, "type_descriptor")]
    assert params, name
    for param in params:
        lean = param.get_runtime_param()
        assert type(lean).__name__ == "_LeanValue", (name, param.name)
        stock = _coercion.build_runtime_param(param.type_descriptor)
        for value in RAW:
            assert _outcome(lean, value, param, ctx) == _outcome(stock, value, param, ctx), (
                name, param.name, value)


@pytest.mark.parametrize("args", [
    ["plan", str(EXAMPLE)],
    ["validate", str(EXAMPLE)],
    ["validate", str(REPO / "examples")],
    ["fmt", "--check", str(EXAMPLE)],
    ["convert", str(EXAMPLE), "--to", "json"],
])
def test_offline_commands_start_without_heavy_imports(args: list[str]) -> None:
    done = subprocess.run([sys.executable, "-X", "importtime", "-m", "pgroll_dsl", *args],
                          capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr[-2000:]
    imported = {line.rsplit("|", 1)[-1].strip() for line in done.stderr.splitlines()
                if line.startswith("import time:")}
    heavy = {name for name in imported
             if name.split(".")[0] in {"pydantic", "pydantic_core", "rich", "psycopg", "yaml"}}
    assert not heavy, sorted(heavy)
    other_groups = {f"pgroll_dsl.cli.{module}" for module in ("live", "adopt", "tryout")}
    assert not imported & other_groups, sorted(imported & other_groups)
    if args[0] == "plan" and "-o" not in args:  # the basis of a saved plan is not made
        assert "pgroll_dsl.render.saved_plan" not in imported


@pytest.mark.parametrize("args", [
    [name, *extra] for name in (*cli._COMMANDS, cli._CATALOG)
    for extra in (["--help"], ["--no-such-option"], [] if name != "try" else ["/nonexistent"])
] + [["catalog", "dump", "--help"], ["plan", str(EXAMPLE), "--phase", "bogus"],
     ["plan", str(EXAMPLE), "--backfill-batch-size", "0"], ["convert", str(EXAMPLE)]],
    ids=" ".join)
def test_an_app_of_one_command_behaves_as_the_whole_app(args: list[str]) -> None:
    runner = CliRunner()
    alone = runner.invoke(cli._app(args[0]), args, env={"COLUMNS": "100"})
    whole = runner.invoke(cli.app, args, env={"COLUMNS": "100"})
    assert (alone.exit_code, alone.stdout, alone.stderr) == (
        whole.exit_code, whole.stdout, whole.stderr)
