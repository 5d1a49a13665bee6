"""Write docs/lint.md, the reference of the safety lints of raw SQL, from the rule registry.

Every rule row of ``pgroll_dsl/passes/lint_rules*.py`` appears with its message, its hint and
its examples (the same examples the tests run), then the tables that set the rules next to
squawk's and strong_migrations'. Run it after changing a rule; a test fails while the
committed page is stale::

    python tools/gen_lint_doc.py          # rewrite docs/lint.md
    python tools/gen_lint_doc.py --check  # exit 1 if it would change
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from pgroll_dsl.diagnostics.codes import Code
    from pgroll_dsl.passes.lint_model import Example, Rule

REPO = Path(__file__).resolve().parents[1]
OUTPUT = REPO / "docs" / "lint.md"
SCRIPT = "tools/gen_lint_doc.py"

_INTRO = """\
`validate` and `plan` read the `up` and `down` of every `sql` operation with PostgreSQL's own
parser (pglast) and report what would lock, rewrite or scan a table in use, or break the
clients of the old schema version, as warnings (PGD4xx): the author may mean it, and a warning
never fails a command unless the project says so (see [Choosing rules](#choosing-rules)). Each
finding points at the statement inside the migration file (at the subcommand for the second and
later subcommands of an `ALTER TABLE`, at the type for a rule about a column's type), in a
YAML block scalar (`|`, `>`) too; in a string with escapes (`\\n`), whose characters do not map
one to one onto the file, it points at the start of the string, as every diagnostic of
embedded SQL does.

What the same SQL created (a table, a column, an index; for `down`, also what `up` created) is
not reported: nobody uses it yet. Each hint names the pgroll-dsl operation that makes the same
change without the lock, where there is one. The rules are data, in
`pgroll_dsl/passes/lint_rules*.py`; this page is generated from them, and the failing and
passing examples below are the ones the tests run.

A baseline is not linted at all: the migration `baseline` writes records the schema as it is,
so no advice about it has a taker. The first line of its `up` says what it is,
`-- pgroll-dsl: baseline`, in the migration's one `sql` operation (no `down`, not
`on complete`); a migration of another shape, or with the line further down, is linted as
usual. The line in another migration hides that migration's findings too: a reviewer sees it."""

_VERSION = """\
## The PostgreSQL version

Some changes are safe on one server and not on another: before PostgreSQL 11 any default
rewrites the table on `ADD COLUMN`; from 12 a valid `CHECK (c IS NOT NULL)` spares `SET NOT
NULL` its scan, `REINDEX CONCURRENTLY` exists and `ALTER TYPE … ADD VALUE` may run in a
transaction; from 14 `DETACH PARTITION … CONCURRENTLY` exists. The linter assumes, first
found:

1. `--pg-version N` on `validate` or `plan`;
2. `pg-version` in `[tool.pgroll-dsl]` (below);
3. the server a live `--postgres-url` connects to;
4. PostgreSQL 15.

Without `--postgres-url`, `plan` makes the plan itself for the version found by 1 or 2 (for
14: version views without `security_invoker`); with it, for the server."""

_SUPPRESS = """\
## Suppressing a finding

When a finding is known to be harmless (the table is empty, the index is tiny, the column is
no longer read), say so where the SQL is, with the reason:

```sql
SET statement_timeout = '5s';
-- pgroll-dsl: allow PGD401: the table stays empty until the import job of v2
CREATE INDEX users_email ON users (email);
ALTER TABLE users DROP COLUMN legacy_id; -- pgroll-dsl: allow PGD417: unread since v41
```

A comment on a line of its own applies to the next statement (or, inside a statement, to the
rest of it); a comment after code applies to that code's statement. Several codes (or slugs)
may be listed, separated by commas; `/* … */` comments work too. The comment lives in the SQL
text, not around the `sql` operation, so that it works alike in the DSL, in pgroll JSON (which
has no comments and rejects unknown keys) and in YAML, and survives `convert` between them.

| Code | Slug | Severity | When |
|---|---|---|---|"""

_CONFIG = """\
## Choosing rules

A project chooses its rules once, in the `pyproject.toml` found by walking up from the
migration file (a directory: from it), else from the working directory; the nearest
`pyproject.toml` with a `[tool.pgroll-dsl]` table wins:

```toml
[tool.pgroll-dsl]
pg-version = 14                   # the server the migrations run on
select = ["PGD4"]                 # codes or prefixes to report (default: every rule)
ignore = ["PGD425", "PGD42"]      # codes or prefixes not to report (wins over select)
severity = { PGD426 = "error" }   # "error" (fails validate), "warning" or "note"
```

Only the linter's codes (PGD4xx) can be chosen: the other diagnostics are the compiler's. The
longest matching prefix gives a code its severity. A table that is not valid (an unknown key,
a code that is no safety rule) stops the command with PGD903 and exit code 2."""


def _cell(text: str) -> str:
    """Table cell text: a ``|`` would end the cell."""
    return text.replace("|", "\\|")


def _template(text: str) -> str:
    """A message or hint with its names in capitals (TABLE, COLUMN...), as the DSL docs have."""

    class _Shown(dict[str, str]):
        def __missing__(self, key: str) -> str:
            return key.upper()

    return text.format_map(_Shown())


def _sql(text: str, label: str, version: int | None) -> list[str]:
    on = f" (PostgreSQL {version})" if version is not None else ""
    return [f"{label}{on}:", "", "```sql", text, "```", ""]


def _example(example: Example) -> list[str]:
    return [*_sql(example.bad, "Fails", example.pg_version),
            *_sql(example.good, "Passes", example.good_pg_version or example.pg_version)]


def _row(rule: Rule) -> list[str]:
    lines = [f"- **On:** {rule.versions}"] if rule.versions else []
    lines += [f"- **Why it is dangerous:** {_template(rule.message)}.",
              f"- **Instead:** {_template(rule.hint)}."]
    if rule.squawk:
        lines.append("- **squawk:** " + ", ".join(f"`{name}`" for name in rule.squawk))
    if rule.strong_migrations:
        lines.append(f"- **strong_migrations:** {rule.strong_migrations}")
    lines.append("")
    for example in rule.examples:
        lines += _example(example)
    return lines


def _code_section(code: Code, rows: Iterable[Rule]) -> list[str]:
    lines = [f"#### {code.id} `{code.slug}`", "",
             f"**Catches:** {code.summary[:1].upper()}{code.summary[1:]}.", ""]
    for row in rows:
        lines += _row(row)
    return lines


def _rules() -> list[str]:
    from pgroll_dsl.passes.lint_model import EXAMPLE_SCHEMA
    from pgroll_dsl.passes.lint_rules import FAMILIES

    lines = ["## Rules", "", "The examples run against this schema:", "", "```sql",
             EXAMPLE_SCHEMA.rstrip(), "```", ""]
    for title, rows in FAMILIES:
        lines += [f"### {title}", ""]
        order = list(dict.fromkeys(rule.code for rule in rows))
        for code in order:
            lines += _code_section(code, [r for r in rows if r.code is code])
    return lines


def _index() -> list[str]:
    from pgroll_dsl.passes.lint_rules import lint_codes

    lines = ["| Code | Slug | Catches |", "|---|---|---|"]
    lines += [f"| [`{c.id}`](#{c.id.lower()}-{c.slug}) | `{c.slug}` | {_cell(c.summary)} |"
              for c in lint_codes()]
    return lines


def _suppression_codes() -> list[str]:
    from pgroll_dsl.diagnostics import codes
    from pgroll_dsl.passes.lint_rules import SUPPRESSION_CODES

    return [f"| `{c.id}` | `{c.slug}` | {c.severity} | {_cell(c.summary)} |"
            for c in (*SUPPRESSION_CODES, codes.INVALID_CONFIG)]


def _squawk_table() -> list[str]:
    from pgroll_dsl.passes import lint_rules

    covered: dict[str, list[str]] = {}
    for rule in lint_rules.RULES:
        for name in rule.squawk:
            covered.setdefault(name, [])
            if rule.code.id not in covered[name]:
                covered[name].append(rule.code.id)
    lines = ["### squawk", "", "Each of squawk 2.70's rules, and the rules that cover it. The "
             "tests run squawk on a corpus of risky statements and fail on a squawk finding "
             "that none of its rules reports.", "",
             "| squawk rule | pgroll-dsl | note |", "|---|---|---|"]
    for name in lint_rules.SQUAWK_RULES:
        ours = ", ".join(f"`{code}`" for code in sorted(covered.get(name, ())))
        note = lint_rules.SQUAWK_PARTLY_COVERED.get(name) or lint_rules.SQUAWK_NOT_COVERED.get(
            name) or ("" if ours else "off by default in squawk (`--include`); not covered")
        if name in lint_rules.SQUAWK_PARTLY_COVERED:
            note = f"in part: {note}"
        lines.append(f"| `{name}` | {ours or '—'} | {_cell(note)} |")
    return lines


def _strong_migrations_table() -> list[str]:
    from pgroll_dsl.passes import lint_rules

    lines = ["### strong_migrations", "", "strong_migrations' checks that apply to PostgreSQL, "
             "and the rules that cover each.", "",
             "| strong_migrations check | pgroll-dsl | note |", "|---|---|---|"]
    for check, note in lint_rules.STRONG_MIGRATIONS_CHECKS.items():
        ours = sorted({rule.code.id for rule in lint_rules.RULES
                       if check in (rule.strong_migrations or "").split("; ")})
        shown = ", ".join(f"`{code}`" for code in ours) or "—"
        lines.append(f"| {_cell(check)} | {shown} | {_cell(note)} |")
    return lines


def render() -> str:
    """The whole page."""
    lines = [
        f"<!-- DO NOT EDIT: generated by {SCRIPT} from pgroll_dsl/passes/lint_rules*.py.",
        f"     Change the rules there, then run `python {SCRIPT}`. -->",
        "", "# Safety lints of raw SQL", "", _INTRO, "", *_index(), "", _VERSION, "",
        _SUPPRESS, *_suppression_codes(), "", _CONFIG, "", *_rules(),
        "## Next to squawk and strong_migrations", "", *_squawk_table(), "",
        *_strong_migrations_table(),
    ]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    """Write the page, or with ``--check`` report whether it is up to date."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--check", action="store_true",
                        help="change nothing; exit 1 if docs/lint.md is stale")
    args = parser.parse_args(argv)
    text = render()
    current = OUTPUT.read_text(encoding="utf-8") if OUTPUT.exists() else None
    if args.check:
        if current != text:
            print(f"{OUTPUT.relative_to(REPO)} is stale: run python {SCRIPT}", file=sys.stderr)
            return 1
        return 0
    if current != text:
        OUTPUT.write_text(text, encoding="utf-8")
        print(f"wrote {OUTPUT.relative_to(REPO)}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
