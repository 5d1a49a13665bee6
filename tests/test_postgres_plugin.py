"""The live tests' server plugin (tests/postgres.py): which server a run gets, and its failures.

CI runs the live tests twice: on throwaway servers of the wheel's PostgreSQL 18 and of
Debian's PostgreSQL 15 (``--pg-bin``), a server per test process. A run that silently used
the wheel's server when asked for another version would pass while covering nothing new, so
each way of choosing the server is run here in a pytest of its own, and the version the
inner test sees is compared with the programs it was given.
"""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path

import psycopg
import pytest

from pgroll_dsl.embedded import bin_dir
from tests.conftest import REPO

pytestmark = pytest.mark.postgres

INNER = """
def test_server(pg_conn):
    version = pg_conn.execute("SELECT current_setting('server_version_num')").fetchone()[0]
    database = pg_conn.execute("SELECT current_database()").fetchone()[0]
    print(f"SERVER {version} {database}")
"""


def _inner(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch,
           *args: str) -> pytest.RunResult:
    """The inner test, run by a pytest of its own with the plugin and ``args``."""
    for name in ("PGROLL_DSL_TEST_DSN", "PGROLL_DSL_TEST_PG_BIN"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join(
        filter(None, (str(REPO), os.environ.get("PYTHONPATH")))))
    pytester.makepyfile(test_inner=INNER)
    return pytester.runpytest_subprocess("-p", "tests.postgres", "-s", "-p", "no:randomly",
                                         "-p", "no:cacheprovider", *args)


def _version_of(programs: Path) -> str:
    """The major version of the ``postgres`` program in ``programs`` (``18``)."""
    said = subprocess.run([str(programs / "postgres"), "--version"], capture_output=True,
                          text=True, check=True).stdout
    return said.split()[-1].split(".")[0]


def _other_programs() -> Path:
    """A system installation of another major version than the wheel's if there is one (CI
    installs Debian's PostgreSQL 15), so that a plugin ignoring ``--pg-bin`` fails; else the
    wheel's programs."""
    wheel = _version_of(bin_dir())
    for programs in sorted(Path("/usr/lib/postgresql").glob("*/bin")):
        if (programs / "initdb").is_file() and _version_of(programs) != wheel:
            return programs
    return bin_dir()


def _seen(result: pytest.RunResult) -> tuple[str, str]:
    """(server_version_num, database) the inner test printed (after its test id under -s)."""
    found = re.search(r"SERVER (\d+) (\S+)", result.stdout.str())
    assert found is not None, result.stdout.str()
    return found[1], found[2]


def test_pg_bin_starts_a_server_of_those_programs(
        pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> None:
    programs = _other_programs()
    result = _inner(pytester, monkeypatch, f"--pg-bin={programs}")
    result.assert_outcomes(passed=1)
    assert f"postgres: a throwaway server of {programs}" in result.stdout.str()
    version, database = _seen(result)
    assert version[:-4] == _version_of(programs)
    assert database.startswith("pgroll_dsl_test_")  # a database of its own


def test_pg_bin_without_programs_fails_and_says_why(
        pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    result = _inner(pytester, monkeypatch, f"--pg-bin={tmp_path}")
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines([f"*could not start a PostgreSQL of {tmp_path}*",
                                 f"*there is no initdb in {tmp_path}*"])


def test_pg_dsn_uses_the_running_server(
        pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, pg_dsn: str) -> None:
    result = _inner(pytester, monkeypatch, f"--pg-dsn={pg_dsn}")
    result.assert_outcomes(passed=1)
    assert "(given by --pg-dsn or $PGROLL_DSL_TEST_DSN)" in result.stdout.str()
    with psycopg.connect(pg_dsn) as conn:
        row = conn.execute("SELECT current_setting('server_version_num')").fetchone()
    assert row is not None and _seen(result)[0] == row[0]
