"""What a node gets besides its state: the run's identity, models and connectors."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from bpa.config import Settings
from bpa.documents import DocumentStore
from bpa.models import AuditSink, ModelGateway
from bpa.models.gateway import current_node
from connectors.base import ActionSpec, Connector
from connectors.errors import ConnectorError

__all__ = ["AuditedConnector", "ConnectorHub", "RunContext"]


class AuditedConnector:
    """A connector as a node sees it: every action call becomes a `connector_call` event."""

    def __init__(self, connector: Connector, sink: AuditSink) -> None:
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
            started = time.perf_counter()
            payload: dict[str, Any] = {
                "connector": self._connector.name,
                "action": spec.name,
                "side_effect": spec.side_effect,
                "idempotency_key": kwargs.get("idempotency_key"),
                "request": request,
            }
            try:
                result = await method(request, **kwargs)
            except ConnectorError as exc:
                payload.update(ok=False, error=exc.to_dict())
                self._emit(payload, started)
                raise
            payload.update(ok=True, result=result)
            self._emit(payload, started)
            return result

        return call

    def _emit(self, payload: dict[str, Any], started: float) -> None:
        self._sink.record(
            "connector_call",
            payload,
            node=current_node(),
            duration_ms=(time.perf_counter() - started) * 1000,
        )


class ConnectorHub:
    """The connectors of a run, looked up by name."""

    def __init__(self, connectors: dict[str, Connector], sink: AuditSink) -> None:
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
