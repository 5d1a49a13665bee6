"""Whether the live database is still the one a saved plan was made for (``start --plan``).

A saved plan (``render/saved_plan.py``) records the canonical form of the catalog it was
planned against, the migration, and the plan options. Before the executor runs its steps
(``Runner.start`` with the saved plan, under the schema's run lock), everything that made
those steps is checked against the live database; any difference refuses the run, and
nothing is changed. The problems are said one per line, in the words of
``catalog.fingerprint.drift`` for the schema. The fingerprint leaves routines out (replay
never sees the ones introspection does); what of them the steps rely on, the plan records
itself (``Plan.builtins``), and a database that defines one of those names is refused.
"""

from __future__ import annotations

from typing import Any

import psycopg

from pgroll_dsl import ir
from pgroll_dsl.backends.state import State
from pgroll_dsl.catalog.derived import version_schema
from pgroll_dsl.catalog.fingerprint import canonical, digest, drift
from pgroll_dsl.catalog.introspect import defined_routines, introspect
from pgroll_dsl.render.pgroll_json import to_document
from pgroll_dsl.render.saved_plan import SavedPlan

_INVOKER_SINCE = 150000  # security_invoker views: PostgreSQL 15


def refusals(conn: psycopg.Connection[Any], state: State, saved: SavedPlan,
             migration: ir.Migration) -> list[str]:
    """Why the saved plan must not run here (empty: it may)."""
    made_from, found = saved.basis, []
    given = digest(to_document(migration))
    # The name is not in the document (pgroll takes it from the file name) but it names the
    # history row and the version schema the steps create: the same operations under another
    # name are another migration.
    if given != made_from.migration_fingerprint or migration.name != saved.plan.migration:
        found.append(f"migration: the plan is for {saved.plan.migration} "
                     f"({made_from.migration_fingerprint}); the migration given is "
                     f"{migration.name} ({given}): another migration, or the file changed "
                     "since it was planned")
    options = made_from.options
    if options.get("schema") != state.schema:
        found.append(f"schema: {options.get('schema')} (planned) ≠ {state.schema} (this run)")
    latest = state.latest_version()
    previous = version_schema(state.schema, latest) if latest else None
    if options.get("previous_version_schema") != previous:
        found.append(f"previous version schema: {options.get('previous_version_schema')} "
                     f"(planned) ≠ {previous} (live): the database's latest migration is not "
                     "the one the plan follows")
    server = conn.info.server_version
    if options.get("security_invoker") and server < _INVOKER_SINCE:
        found.append(f"server: the plan's views use security_invoker (PostgreSQL 15+); this "
                     f"server is {server // 10000}: plan against it with --postgres-url, or with "
                     f"--pg-version {server // 10000}")
    if options.get("security_invoker") is False and server >= _INVOKER_SINCE:
        # Views without it run with their owner's rights: row security policies and grants
        # of the tables would not apply to the version's clients on this server.
        found.append(f"server: the plan was made for PostgreSQL 14 (views without "
                     f"security_invoker); this server is {server // 10000}: plan against it")
    shadowed = saved.plan.builtins.shadowed_by(defined_routines(conn))
    if shadowed:
        found.append(f"routines: this database defines {', '.join(shadowed)} of its own; the "
                     "plan's sync triggers skip a write that changes nothing only where what "
                     "their up and down call is PostgreSQL's (a user routine may be volatile), "
                     "and the catalog it was planned against had none of these")
    live = canonical(introspect(conn, state.schema))
    if digest(live) != made_from.catalog_fingerprint:
        found.extend(drift(made_from.catalog, live)
                     or [f"catalog: fingerprint {made_from.catalog_fingerprint} (planned) ≠ "
                         f"{digest(live)} (live)"])
    return found


__all__ = ["refusals"]
