"""Plan <-> JSON document: ``plan --format json``, and the plan a started migration keeps.

The executor stores the document at start, so that complete and rollback run exactly the
steps that were planned (and reviewed) when the migration started.
"""

from __future__ import annotations

from typing import Any

from pgroll_dsl.plan.model import (
    Builtins,
    Cost,
    Exemption,
    Lock,
    Phase,
    Plan,
    Requirement,
    Requires,
    Step,
    StepKind,
)
from pgroll_dsl.source import Span


def _step(step: Step) -> dict[str, Any]:
    return {
        "summary": step.summary, "sql": step.sql, "lock": step.lock.value,
        "relation": step.relation, "tables": list(step.tables),
        "referenced": list(step.referenced), "elsewhere": list(step.elsewhere),
        "cost": step.cost.value,
        "transactional": step.transactional, "joins_previous": step.joins_previous,
        "kind": step.kind.value, "index": step.index, "partition": step.partition,
        "origin": str(step.origin) if step.origin is not None else None,
        "key": list(step.key),
        "safe": [{"rule": e.rule, "reason": e.reason} for e in step.safe],
    }


def plan_document(plan: Plan) -> dict[str, Any]:
    """The plan as plain JSON values."""
    return {
        "migration": plan.migration, "schema": plan.schema,
        "version_schema": plan.version_schema,
        "previous_version_schema": plan.previous_version_schema,
        "catalog": plan.catalog_source, "notes": list(plan.notes),
        **{p.value: [_step(s) for s in plan.phase(p)] for p in Phase},
        "requires": [{"kind": r.kind.value, "name": r.name, "relation": r.relation}
                     for r in plan.requires],
        "builtins": {"functions": sorted(plan.builtins.functions),
                     "operators": sorted(plan.builtins.operators),
                     "casts": plan.builtins.casts},
    }


def _origin(text: str | None) -> Span | None:
    if not text:
        return None
    path, _, rest = text.rpartition(":")
    path, _, line = path.rpartition(":")
    try:
        return Span(path, int(line), int(rest), int(line), int(rest) + 1)
    except ValueError:
        return None


def _tables(item: dict[str, Any]) -> tuple[str, ...]:
    """A step's tables; a document written before they were a list has only their text."""
    if "tables" in item:
        return tuple(item["tables"])
    relation = item.get("relation")
    return tuple(relation.split(", ")) if relation else ()


def _read_step(item: dict[str, Any]) -> Step:
    return Step(
        sql=item["sql"], summary=item["summary"], lock=Lock(item["lock"]),
        tables=_tables(item), referenced=tuple(item.get("referenced", ())),
        elsewhere=tuple(item.get("elsewhere", ())),
        cost=Cost(item["cost"]),
        transactional=bool(item["transactional"]),
        joins_previous=bool(item.get("joins_previous", False)), kind=StepKind(item["kind"]),
        index=item.get("index"), key=tuple(item.get("key", ())),
        partition=item.get("partition"),
        safe=tuple(Exemption(e["rule"], e["reason"]) for e in item.get("safe", ())),
        origin=_origin(item.get("origin")),
    )


def plan_from_document(document: dict[str, Any]) -> Plan:
    """Read back a document written by ``plan_document``."""
    return Plan(
        migration=document["migration"], schema=document["schema"],
        version_schema=document["version_schema"],
        previous_version_schema=document.get("previous_version_schema"),
        start=tuple(_read_step(s) for s in document["start"]),
        complete=tuple(_read_step(s) for s in document["complete"]),
        rollback=tuple(_read_step(s) for s in document["rollback"]),
        notes=tuple(document.get("notes", ())), catalog_source=document.get("catalog", ""),
        requires=tuple(Requires(Requirement(r["kind"]), r["name"], r.get("relation"))
                       for r in document.get("requires", ())),
        builtins=_builtins(document.get("builtins", {})),
    )


def _builtins(item: dict[str, Any]) -> Builtins:
    return Builtins(frozenset(item.get("functions", ())), frozenset(item.get("operators", ())),
                    bool(item.get("casts", False)))
