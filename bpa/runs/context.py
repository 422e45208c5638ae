"""What a node gets besides its state: the run's identity, models and connectors."""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from bpa.config import Settings
from bpa.documents import DocumentStore
from bpa.models import AuditSink, ModelGateway
from bpa.models.gateway import current_node
from bpa.runs.audit import CALL, RunAudit
from connectors.base import ActionSpec, Connector
from connectors.errors import ConnectorError

__all__ = ["AuditedConnector", "ConnectorHub", "EffectSink", "RunContext", "complete_effects"]


class EffectSink(AuditSink, Protocol):
    """An `AuditSink` that makes side effects durable (`RunAudit`; see bpa/runs/audit.py)."""

    def begin_effect(self, payload: dict[str, Any], *, node: str | None) -> bool: ...

    def end_effect(
        self, payload: dict[str, Any], *, node: str | None, duration_ms: float | None
    ) -> None: ...


class AuditedConnector:
    """A connector as a node sees it: every action call becomes a `connector_call` event.

    A side-effecting call is announced (`connector_intent`) before it is made and its
    outcome written right after; a replay of an effect the trail already holds (same
    idempotency key, a step run again after a crash) is not recorded twice.
    """

    def __init__(self, connector: Connector, sink: EffectSink) -> None:
        self._connector = connector
        self._sink = sink
        self._specs = connector.action_specs()

    @property
    def name(self) -> str:
        return self._connector.name

    def __getattr__(self, attr: str) -> Any:
        spec = self._specs.get(attr)
        if spec is None:
            return getattr(self._connector, attr)
        return self._audited(spec, getattr(self._connector, attr))

    def _audited(self, spec: ActionSpec, method: Any) -> Any:
        async def call(request: Any, **kwargs: Any) -> Any:
            node = current_node()
            payload: dict[str, Any] = {
                "connector": self._connector.name,
                "action": spec.name,
                "side_effect": spec.side_effect,
                "idempotency_key": kwargs.get("idempotency_key"),
                "request": request,
            }
            new = not spec.side_effect or self._sink.begin_effect(payload, node=node)
            started = time.perf_counter()
            try:
                result = await method(request, **kwargs)
            except ConnectorError as exc:
                self._emit(spec, {**payload, "ok": False, "error": exc.to_dict()}, node, started)
                raise
            if new:
                self._emit(spec, {**payload, "ok": True, "result": result}, node, started)
            return result

        return call

    def _emit(
        self, spec: ActionSpec, payload: dict[str, Any], node: str | None, started: float
    ) -> None:
        elapsed = (time.perf_counter() - started) * 1000
        if spec.side_effect:
            self._sink.end_effect(payload, node=node, duration_ms=elapsed)
        else:
            self._sink.record(CALL, payload, node=node, duration_ms=elapsed)


async def complete_effects(audit: RunAudit, connectors: Mapping[str, Connector]) -> None:
    """Write the outcome of each side effect an earlier attempt announced but never saw
    answered (its process died), as the connector's idempotency ledger records it.

    An effect the ledger does not know never happened (or the connector cannot tell): the
    step's replay makes the call and records its outcome then.
    """
    for intent, node in audit.unanswered():
        connector = connectors.get(intent["connector"])
        if connector is None:
            continue
        try:
            result = await connector.recorded(intent["action"], intent["idempotency_key"])
        except Exception:  # best effort: the step's replay records it too
            continue
        if result is not None:
            outcome = {**intent, "ok": True, "result": result, "recovered": True}
            audit.end_effect(outcome, node=node, duration_ms=None)


class ConnectorHub:
    """The connectors of a run, looked up by name."""

    def __init__(self, connectors: dict[str, Connector], sink: EffectSink) -> None:
        self._connectors = connectors
        self._sink = sink

    def get(self, name: str) -> Any:
        try:
            return AuditedConnector(self._connectors[name], self._sink)
        except KeyError:
            raise ConnectorError(
                f"connector {name!r} is not installed or failed to load; "
                "`bpa connectors check` says why",
                code="connector_missing",
            ) from None


@dataclass
class RunContext:
    """The LangGraph runtime context of a run (never checkpointed)."""

    run_id: str
    flow: str
    settings: Settings
    models: ModelGateway
    connectors: ConnectorHub
    documents: DocumentStore
    audit: AuditSink

    def idempotency_key(self, node: str, action: str, *parts: str) -> str:
        """Stable across retries and resumes of this run, unique per run, node and action."""
        return ":".join((self.run_id, node, action, *parts))
