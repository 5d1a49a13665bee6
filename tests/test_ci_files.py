"""The CI integration files run commands that exist, and docs/ci.md's sample comment is true.

.pre-commit-hooks.yaml and action.yml are parsed as YAML; every ``pgroll-dsl`` command line in
them must name a command of the CLI and only options that command has, and the formats they
ask for must be reporters. The sample pull-request comments in docs/ci.md are what the
markdown reporter writes for the command named above each (``PGROLL_DSL_UPDATE_GOLDEN=1``
rewrites them).
"""

from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import typer.main
import yaml
from typer.testing import CliRunner

from pgroll_dsl import render
from pgroll_dsl.cli import app

REPO = Path(__file__).resolve().parents[1]
HOOKS = REPO / ".pre-commit-hooks.yaml"
ACTION = REPO / "action.yml"
CI_DOC = REPO / "docs" / "ci.md"

# A sample: the marker with the command's arguments, then the fenced markdown it writes.
_SAMPLE = re.compile(r"<!-- sample: (?P<args>[^\n]*?) -->\n````markdown\n(?P<body>.*?)^````$",
                     re.M | re.S)


def _options() -> dict[str, set[str]]:
    """Each command of the CLI (``catalog dump`` as one) and the options it takes."""
    group: Any = typer.main.get_command(app)
    found: dict[str, set[str]] = {}
    for name, command in group.commands.items():
        subcommands = getattr(command, "commands", None)
        for sub_name, sub in (subcommands or {None: command}).items():
            key = name if sub_name is None else f"{name} {sub_name}"
            found[key] = {o for p in sub.params for o in (*p.opts, *p.secondary_opts)
                          if o.startswith("-")}
    return found


def _check_command_line(words: list[str], where: str) -> None:
    """``pgroll-dsl COMMAND [ARGS] [OPTIONS]``: the command exists, and so does each option."""
    options = _options()
    assert words[0] == "pgroll-dsl", where
    command = words[1] if words[1] != "catalog" else f"catalog {words[2]}"
    assert command in options, f"{where}: no command {command!r}"
    for i, word in enumerate(words):
        if word.startswith("-") and word != "-":
            flag = word.split("=", 1)[0]
            assert flag in options[command], f"{where}: {command} has no option {flag}"
            if flag in ("--format", "--report-format"):
                value = words[i + 1]
                assert value in (*render.DIAGNOSTICS.names, *render.PLAN.names), (where, value)


def _pgroll_lines(script: str) -> list[list[str]]:
    """The ``pgroll-dsl …`` command lines of a shell script (variables left as words)."""
    found = []
    for line in script.replace("\\\n", " ").splitlines():
        if not line.lstrip().startswith("pgroll-dsl "):
            continue
        command = re.split(r"\s(?:\|\||&&|\||2>&1|>)", line.strip())[0]
        found.append(shlex.split(command))
    return found


# ---- pre-commit ----------------------------------------------------------------------------

def test_pre_commit_hooks_run_existing_commands() -> None:
    hooks = yaml.safe_load(HOOKS.read_text(encoding="utf-8"))
    by_id = {hook["id"]: hook for hook in hooks}
    assert set(by_id) == {"pgroll-dsl-fmt", "pgroll-dsl-validate"}
    for hook in hooks:
        assert {"id", "name", "entry", "language"} <= set(hook)
        assert hook["language"] == "python"  # pre-commit installs this repository with pip
        _check_command_line(shlex.split(hook["entry"]), f"hook {hook['id']}")
    assert shlex.split(by_id["pgroll-dsl-fmt"]["entry"])[1:] == ["fmt", "--check"]
    assert shlex.split(by_id["pgroll-dsl-validate"]["entry"])[1:] == ["validate"]
    assert re.search(by_id["pgroll-dsl-fmt"]["files"], "migrations/01_a.pgroll")
    assert not re.search(by_id["pgroll-dsl-fmt"]["files"], "migrations/01_a.json")


def test_pre_commit_hooks_pass_on_the_examples() -> None:
    """The way pre-commit calls them: the entry, then the staged file names."""
    hooks = {h["id"]: h for h in yaml.safe_load(HOOKS.read_text(encoding="utf-8"))}
    files = sorted(str(p.relative_to(REPO)) for p in (REPO / "examples").iterdir()
                   if re.search(hooks["pgroll-dsl-validate"]["files"], p.name))
    runner = CliRunner()
    for hook in hooks.values():
        staged = [f for f in files if re.search(hook["files"], f)]
        result = runner.invoke(app, [*shlex.split(hook["entry"])[1:], *staged])
        assert result.exit_code == 0, (hook["id"], result.output)


# ---- the GitHub Action -------------------------------------------------------------------------

def _action() -> dict[str, Any]:
    action: dict[str, Any] = yaml.safe_load(ACTION.read_text(encoding="utf-8"))
    return action


def test_action_inputs_and_steps() -> None:
    action = _action()
    assert action["runs"]["using"] == "composite"
    inputs = action["inputs"]
    assert {"path", "python-version", "postgres-url"} <= set(inputs)
    assert inputs["postgres-url"]["required"] is False and inputs["postgres-url"]["default"] == ""
    uses = [step["uses"].split("@")[0] for step in action["runs"]["steps"] if "uses" in step]
    assert "github/codeql-action/upload-sarif" in uses
    assert "marocchino/sticky-pull-request-comment" in uses
    assert "actions/setup-python" in uses
    for step in action["runs"]["steps"]:
        if "run" in step:
            assert step.get("shell") == "bash", step.get("name")
            # Inputs reach scripts through env, never pasted into the script's text.
            assert "${{" not in step["run"], step.get("name")


def test_action_runs_existing_commands() -> None:
    commands = [(step.get("name", "?"), words) for step in _action()["runs"]["steps"]
                if "run" in step for words in _pgroll_lines(step["run"])]
    formats = set()
    for name, words in commands:
        _check_command_line(words, f"action step {name!r}")
        if "--format" in words:
            formats.add(words[words.index("--format") + 1])
    assert {"sarif", "github", "markdown"} <= formats


@pytest.mark.skipif(shutil.which("bash") is None, reason="needs bash")
def test_action_scripts_are_valid_bash() -> None:
    for step in _action()["runs"]["steps"]:
        if "run" in step:
            done = subprocess.run(["bash", "-n"], input=step["run"], text=True,
                                  capture_output=True, check=False)
            assert done.returncode == 0, (step.get("name"), done.stderr)


# ---- docs/ci.md --------------------------------------------------------------------------------

def test_the_sample_comments_are_what_the_reporter_writes(tmp_path: Path,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    doc = CI_DOC.read_text(encoding="utf-8")
    samples = list(_SAMPLE.finditer(doc))
    assert samples, "docs/ci.md has no sample comment"
    monkeypatch.chdir(REPO)
    updated = doc
    for sample in samples:
        args = shlex.split(sample.group("args"))
        assert "markdown" in args
        report = tmp_path / "comment.md"
        result = CliRunner().invoke(app, [*args, "--report-file", str(report)])
        assert result.exit_code in (0, 1), result.output
        written = report.read_text(encoding="utf-8")
        if os.environ.get("PGROLL_DSL_UPDATE_GOLDEN"):
            updated = updated.replace(sample.group(0), sample.group(0).replace(
                sample.group("body"), written))
            continue
        assert sample.group("body") == written, (
            f"docs/ci.md: the sample of `pgroll-dsl {sample.group('args')}` is not what it "
            "writes (PGROLL_DSL_UPDATE_GOLDEN=1 rewrites it)")
    if updated != doc:
        CI_DOC.write_text(updated, encoding="utf-8")
