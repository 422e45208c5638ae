"""What a node gets besides its state: the run's identity, models and connectors."""

from __future__ import annotations

import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol, TypeVar, cast

from pydantic import BaseModel

from bpa.config import Settings
from bpa.documents import DocumentStore
from bpa.effects import EffectLedger, LedgerEntry
from bpa.models import AuditSink, ModelGateway
from bpa.models.gateway import current_node
from bpa.runs.audit import CALL, RunAudit
from connectors.base import ActionSpec, Connector, validate_request
from connectors.errors import ConnectorError, Unsupported

K = TypeVar("K", bound=Connector)

__all__ = ["AuditedConnector", "ConnectorHub", "EffectSink", "RunContext", "complete_effects"]


class EffectSink(AuditSink, Protocol):
    """An `AuditSink` that makes side effects durable (`RunAudit`; see bpa/runs/audit.py)."""

    def begin_effect(self, payload: dict[str, Any], *, node: str | None) -> bool: ...

    def end_effect(
        self,
        payload: dict[str, Any],
        *,
        node: str | None,
        duration_ms: float | None,
        entry: LedgerEntry | None = None,
    ) -> None: ...


class AuditedConnector:
    """A connector as a node sees it: every action call becomes a `connector_call` event.

    A side-effecting call is first looked up in the engine's ledger (`bpa.effects`): a key
    already recorded is answered from there, without calling the connector or auditing it
    again. A new one is announced (`connector_intent`) before it is made, and its outcome
    written right after, with its ledger row.
    """

    def __init__(
        self,
        connector: Connector,
        sink: EffectSink,
        ledger: EffectLedger | None = None,
        *,
        run_id: str | None = None,
    ) -> None:
        self._connector = connector
        self._sink = sink
        self._ledger = ledger
        self._run_id = run_id
        self._specs = connector.action_specs()

    @property
    def name(self) -> str:
        return self._connector.name

    def __getattr__(self, attr: str) -> Any:
        spec = self._specs.get(attr)
        if spec is None:
            return getattr(self._connector, attr)
        return self._audited(spec, getattr(self._connector, attr))

    async def recorded(self, action: str, idempotency_key: str) -> Any | None:
        """What `action` returned for the key: from the engine's ledger, else from the
        connector's system (`Connector.recorded`), else None."""
        spec = self._specs.get(action)
        if spec is not None and spec.side_effect and self._ledger is not None:
            found = self._ledger.recorded(self._connector.name, spec, idempotency_key)
            if found is not None:
                return found
        return await self._connector.recorded(action, idempotency_key)

    def _audited(self, spec: ActionSpec, method: Any) -> Any:
        async def call(request: Any, **kwargs: Any) -> Any:
            node = current_node()
            key: str | None = kwargs.get("idempotency_key")
            checked: BaseModel | None = None
            if spec.side_effect and key and self._ledger is not None:
                checked = validate_request(spec, request)
                replayed = self._ledger.replay(self._connector.name, spec, key, checked)
                if replayed is not None:
                    return replayed
            payload: dict[str, Any] = {
                "connector": self._connector.name,
                "action": spec.name,
                "side_effect": spec.side_effect,
                "idempotency_key": key,
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
                entry = None
                if checked is not None and key and self._ledger is not None:
                    entry = self._ledger.entry(
                        self._connector.name, spec, key, checked, result, self._run_id
                    )
                self._emit(spec, {**payload, "ok": True, "result": result}, node, started, entry)
            return result

        return call

    def _emit(
        self,
        spec: ActionSpec,
        payload: dict[str, Any],
        node: str | None,
        started: float,
        entry: LedgerEntry | None = None,
    ) -> None:
        elapsed = (time.perf_counter() - started) * 1000
        if spec.side_effect:
            self._sink.end_effect(payload, node=node, duration_ms=elapsed, entry=entry)
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
    """The connectors of a run, looked up by kind (typed) or by name."""

    def __init__(
        self,
        connectors: dict[str, Connector],
        sink: EffectSink,
        ledger: EffectLedger | None = None,
        *,
        run_id: str | None = None,
    ) -> None:
        self._connectors = connectors
        self._sink = sink
        self._ledger = ledger
        self._run_id = run_id

    def _wrap(self, connector: Connector) -> Any:
        return AuditedConnector(connector, self._sink, self._ledger, run_id=self._run_id)

    def get(self, name: str) -> Any:
        """The connector registered as `name` (untyped; prefer `typed`)."""
        try:
            return self._wrap(self._connectors[name])
        except KeyError:
            raise ConnectorError(
                f"connector {name!r} is not installed or failed to load; "
                "`bpa connectors check` says why",
                code="connector_missing",
            ) from None

    def typed(self, kind: type[K], name: str | None = None, *, needs: Iterable[str] = ()) -> K:
        """The run's connector of `kind` (e.g. `AccountingConnector`), typed as that kind.

        `name` picks one when several of the kind are installed (default: the one named
        like the kind, else the only one). `needs` lists optional capabilities the caller
        relies on; a connector without one of them is refused with `Unsupported` before
        anything is called.
        """
        if name is not None:
            candidates = {name: self._connectors[name]} if name in self._connectors else {}
        else:
            candidates = {n: c for n, c in self._connectors.items() if isinstance(c, kind)}
            if len(candidates) > 1 and kind.kind in candidates:
                candidates = {kind.kind: candidates[kind.kind]}
        what = name or kind.__name__
        if len(candidates) != 1:
            found = ", ".join(sorted(candidates)) or "none"
            raise ConnectorError(
                f"need exactly one {what} connector, found: {found}; "
                "`bpa connectors list` shows what is installed",
                code="connector_missing",
            )
        connector = next(iter(candidates.values()))
        if not isinstance(connector, kind):
            raise ConnectorError(
                f"connector {connector.name!r} is not a {kind.__name__}", code="connector_missing"
            )
        missing = sorted(set(needs) - connector.capabilities)
        if missing:
            raise Unsupported(
                f"connector {connector.name!r} does not support {', '.join(missing)}",
                capabilities=missing,
            )
        return cast(K, self._wrap(connector))


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

    def connector(self, kind: type[K], name: str | None = None, *, needs: Iterable[str] = ()) -> K:
        """The run's connector of `kind`, typed and audited: ``ctx.connector(AccountingConnector)``.

        See `ConnectorHub.typed`.
        """
        return self.connectors.typed(kind, name, needs=needs)

    def idempotency_key(self, node: str, action: str, *parts: str) -> str:
        """Stable across retries and resumes of this run, unique per run, node and action."""
        return ":".join((self.run_id, node, action, *parts))
