"""The live commands below the CLI: a ``Runner`` from its settings, what ``migrate`` has to do.

The CLI parses flags into ``RunOptions`` and prints; hooking the executor up for the command
line (the lock-retry report, the test harness's fault hooks) and deciding what a directory
still needs are the live layer's, so they live here, next to the executor, and need no
terminal.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path
from urllib.parse import quote, unquote, urlencode, urlsplit, urlunsplit

import psycopg
from psycopg.conninfo import conninfo_to_dict, make_conninfo

from pgroll_dsl.backends.faults import fault_hooks
from pgroll_dsl.backends.live import first_line
from pgroll_dsl.backends.runner import CommandError, Runner, RunOptions, Unreachable
from pgroll_dsl.frontend import migration_name
from pgroll_dsl.plan.model import Step
from pgroll_dsl.sql.quoting import search_path_option


def retry_message(step: Step, attempt: int, delay: float) -> str:
    """What a lock timeout that will be retried reports."""
    return (f"lock timeout on {step.relation or 'a relation'} ({step.summary}); "
            f"retry {attempt} in {delay:.2f}s")


def _nothing(*_args: object) -> None:
    """A hook that is not wanted."""


def open_runner(options: RunOptions) -> Runner:
    """Connect a runner for the command line.

    ``options`` as given, with each lock retry reported through its ``on_message``, and under
    ``PGROLL_DSL_KILL_AT`` the kill hooks (``backends/faults.py``) around its ``on_progress``.
    Raises ``Unreachable`` (a ``CommandError``) when the database cannot be reached.
    """
    say = options.on_message or _nothing
    on_step, on_progress = fault_hooks(options.on_progress or _nothing)

    def retry(step: Step, attempt: int, delay: float) -> None:
        say(retry_message(step, attempt, delay))

    try:
        conninfo_to_dict(options.session.url)
    except psycopg.ProgrammingError:  # its message quotes the string, password and all
        raise Unreachable(target(options.session.url)) from None
    try:
        return Runner(replace(options, on_progress=on_progress, on_retry=retry,
                              on_step=on_step))
    except Unreachable as err:
        raise Unreachable(f"{target(options.session.url)}: {err}") from None


def connect_failure(url: str, err: psycopg.Error) -> str:
    """Why ``url`` could not be used: what it names, and the driver's first line.

    A string that does not parse gets no driver message: psycopg's repeats the string.
    """
    try:
        conninfo_to_dict(url)
    except psycopg.ProgrammingError:
        return target(url)
    return f"{target(url)}: {first_line(err)}"


def target(url: str) -> str:
    """What a connection string names, for a message: never its password.

    ``cannot connect to database "app" on db.example.com:5432 as user "app"``; a string
    that does not parse is only called invalid (its text may hold the password).
    """
    try:
        given = conninfo_to_dict(url)
    except psycopg.ProgrammingError:
        return ("the --postgres-url is not a valid connection string (postgres://user@host:port"
                "/database?option=value, or host=... dbname=...)")
    host = str(given.get("host") or given.get("hostaddr") or "the default host (local socket)")
    port = str(given.get("port") or "5432")
    user = given.get("user")
    database = given.get("dbname") or user or "the user's default"
    who = f' as user "{user}"' if user else ""
    return f'cannot connect to database "{database}" on {host}:{port}{who}'


@dataclass(frozen=True, slots=True)
class Pending:
    """What ``migrate`` has to do: nothing while a migration is active, else these files."""

    active: str | None
    files: list[Path]


def pending(runner: Runner, files: list[Path]) -> Pending:
    """The active migration's name, or the files of ``files`` not applied yet (pgroll's rule).

    Raises ``CommandError`` when the history is not initialised or does not match the files.
    """
    with runner._errors():  # a dead connection or a missing right: said as such
        initialized = runner.state.initialized()
        active = runner.state.active() if initialized else None
        baseline = runner.state.latest_baseline() if initialized and not active else None
        history = [name for name, _, _ in runner.state.applied()][1:] if baseline else []
    if active is not None:
        return Pending(active.name, [])
    if baseline is None:
        return Pending(None, runner.unapplied(files))
    # pgroll's rule after a baseline: the files named after it, against the history since it.
    after = [f for f in files if migration_name(f) > baseline]
    for position, (remote, local) in enumerate(zip(history, after, strict=False)):
        if remote != migration_name(local):
            raise CommandError(f'remote migration does not match local migration: '
                               f'remote="{remote}", local="{migration_name(local)}" (position '
                               f"{position + 1} after the baseline {baseline})")
    return Pending(None, after[len(history):])


def search_path_url(url: str, schema: str) -> str:
    """``url`` with ``options=-c search_path=SCHEMA`` (pgroll's ``latest url``).

    A URL gets the option among its query parameters (sorted, spaces as ``%20``, as
    pgroll's Go encoder writes them); a ``key=value`` string gets an ``options`` key.
    """
    if "://" not in url:
        try:
            given = conninfo_to_dict(url).get("options")
            return make_conninfo(url, options=search_path_option([schema], given))
        except psycopg.ProgrammingError as err:  # ValueError, as a URL's that does not parse
            raise ValueError(first_line(err)) from None
    parts = urlsplit(url)
    pairs = _query(parts.query)
    given = next((v for k, v in reversed(pairs) if k == "options"), None)
    query = [(k, v) for k, v in pairs if k != "options"]
    encoded = urlencode(sorted([*query, ("options", search_path_option([schema], given))]),
                        quote_via=quote)
    return urlunsplit(parts._replace(query=encoded))


def _query(query: str) -> list[tuple[str, str]]:
    """A URL's query parameters as libpq reads them: ``%XX`` decoded, a ``+`` kept a plus.

    (``parse_qsl`` reads HTML forms, where ``+`` is a space: ``?password=p+w`` or
    ``?application_name=a+b`` would change value on the way through.)
    """
    pairs = []
    for item in query.split("&"):
        if item:
            key, _, value = item.partition("=")
            pairs.append((unquote(key), unquote(value)))
    return pairs
