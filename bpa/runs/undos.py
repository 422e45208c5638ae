"""A run's side effects, as its audit trail records them, and the undo planned for each.

Planning is pure: it reads the trail (and the ledger's copy of each result) and asks each
connector for the request of the undo it declares (`Connector.undo_request`). Carrying the
plan out is bpa/rollback.py's business.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel, TypeAdapter, ValidationError

from bpa.effects import EffectLedger, fingerprint
from bpa.runs.audit import CALL
from bpa.runs.tables import RunEvent
from connectors.base import Connector, Done, Irreversible
from connectors.errors import ConnectorError

__all__ = ["OUTCOMES", "Effect", "Step", "effects_of", "plan"]

#: What became of a side effect in a rollback.
OUTCOMES = {
    "planned": "to undo",
    "covered": "undone by the same undo as a newer effect",
    "undone": "undone now",
    "already_undone": "undone before (by the flow, or an earlier attempt)",
    "cannot_undo": "cannot be undone",
    "failed": "its undo failed",
    "left": "not tried: an undo before it failed",
}


@dataclass(frozen=True)
class Effect:
    """One successful side-effecting call of a run, from its `connector_call` event."""

    connector: str
    action: str
    key: str
    request: Any
    result: Any
    #: The keys of the calls this one undid (it is an undo itself), else empty.
    undoes: tuple[str, ...] = ()


def effects_of(events: Sequence[RunEvent]) -> list[Effect]:
    """The run's successful side effects, oldest first, each idempotency key once."""
    found: dict[tuple[str, str], Effect] = {}
    for event in events:
        payload = event.payload
        key = payload.get("idempotency_key")
        if event.kind != CALL or not payload.get("side_effect") or not payload.get("ok"):
            continue
        if not key or (payload["connector"], key) in found:
            continue
        found[(payload["connector"], key)] = Effect(
            connector=payload["connector"],
            action=payload["action"],
            key=key,
            request=payload.get("request"),
            result=payload.get("result"),
            undoes=tuple(payload.get("undoes") or ()),
        )
    return list(found.values())


@dataclass
class Step:
    """A side effect of the run and what a rollback does (or did) about it."""

    connector: str
    action: str
    key: str
    #: The id of the record the call made or changed, when its result has one.
    record: str | None = None
    outcome: str = "planned"
    #: The undo action.
    undo: str | None = None
    detail: str = ""
    #: The undo's request (planned steps).
    request: BaseModel | None = None
    #: The keys the undo undoes: this step's, and those of the steps it covers.
    undoes: list[str] = field(default_factory=list)
    covered_by: Step | None = None

    def line(self) -> str:
        what = f"{self.connector}.{self.action}" + (f" {self.record}" if self.record else "")
        how = (
            f" by {self.connector}.{self.undo}"
            if self.undo and self.outcome != "cannot_undo"
            else ""
        )
        detail = f": {self.detail}" if self.detail else ""
        return f"{self.outcome.replace('_', ' ')}: {what}{how}{detail} [{self.key}]"

    def as_json(self) -> dict[str, Any]:
        return {
            "connector": self.connector,
            "action": self.action,
            "idempotency_key": self.key,
            "record": self.record,
            "outcome": self.outcome,
            "undo": self.undo,
            "detail": self.detail,
        }


def _record_id(result: Any) -> str | None:
    found = result.get("id") if isinstance(result, dict) else None
    return str(found) if found is not None else None


def plan(
    effects: Sequence[Effect],
    connectors: Mapping[str, Connector],
    ledger: EffectLedger,
    reason: str,
) -> list[Step]:
    """A step per side effect, newest first (undos the run made are not listed: the effects
    they undid are, as already undone). Two effects whose undo is the same request share it:
    the newer one's step makes it and the older one is `covered`."""
    undone_by = {(e.connector, key): e.key for e in effects for key in e.undoes}
    planned: dict[tuple[str, str, str], Step] = {}
    steps: list[Step] = []
    for effect in reversed(effects):
        if effect.undoes:
            continue
        step = Step(effect.connector, effect.action, effect.key, _record_id(effect.result))
        steps.append(step)
        if (effect.connector, effect.key) in undone_by:
            step.outcome = "already_undone"
            step.detail = f"by {undone_by[(effect.connector, effect.key)]}"
            continue
        _plan_one(step, effect, connectors, ledger, reason)
        if step.outcome != "planned" or step.request is None or step.undo is None:
            continue
        same = (effect.connector, step.undo, fingerprint(step.undo, step.request))
        if same in planned:
            covering = planned[same]
            covering.undoes.append(effect.key)
            step.outcome, step.covered_by = "covered", covering
            step.detail = f"the same undo as {covering.action}'s"
        else:
            planned[same] = step
    return steps


def _plan_one(
    step: Step,
    effect: Effect,
    connectors: Mapping[str, Connector],
    ledger: EffectLedger,
    reason: str,
) -> None:
    """Fill in the step's undo: its request, or why it cannot be made."""
    connector = connectors.get(effect.connector)
    spec = connector.action_specs().get(effect.action) if connector is not None else None
    if connector is None or spec is None:
        step.outcome = "failed"
        step.detail = f"connector {effect.connector!r} with {effect.action} is not installed"
        return
    try:
        request = spec.request.model_validate(effect.request)
        result = ledger.recorded(connector.name, spec, effect.key)
        if result is None:  # recovered after a crash: only the trail holds it
            result = TypeAdapter(spec.response).validate_python(effect.result)
    except ValidationError:
        step.outcome = "failed"
        step.detail = "the trail's copy of the call is incomplete (cut for size)"
        return
    done = Done(effect.action, request, result, effect.key, reason)
    try:
        undo = connector.undo_request(spec, done)
    except ConnectorError as exc:
        step.outcome, step.detail = "failed", f"{exc.code}: {exc.message}"
        return
    if isinstance(undo, Irreversible):
        step.outcome, step.detail = "cannot_undo", undo.reason
        return
    step.undo = spec.undo if isinstance(spec.undo, str) else None
    step.request = undo
    step.undoes = [effect.key]
