"""What a node gets besides its state: the run's identity, models and connectors."""

from __future__ import annotations

import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol, TypeVar, cast

from pydantic import BaseModel

from bpa.config import Settings
from bpa.documents import DocumentStore
from bpa.effects import EffectLedger, LedgerEntry
from bpa.models import AuditSink, ModelGateway
from bpa.models.gateway import current_node
from bpa.resilience import CallReport, ConnectorGuard
from bpa.runs.audit import CALL, RunAudit
from bpa.runs.tables import RunEvent
from connectors.base import ActionSpec, Connector, Done, Irreversible, validate_request
from connectors.errors import ConnectorError, Unsupported
from connectors.undo import undo_key

K = TypeVar("K", bound=Connector)

__all__ = [
    "BREAKER_OPENED",
    "AuditedConnector",
    "ConnectorHub",
    "EffectSink",
    "RunContext",
    "complete_effects",
]


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
        at_once: bool = False,
    ) -> None: ...

    def unwritten(self, connector: str, key: str) -> LedgerEntry | None: ...


#: An audit event: a connector's circuit breaker opened after a call of this run failed.
BREAKER_OPENED = "connector_breaker_opened"


class AuditedConnector:
    """A connector as a node sees it: every action call becomes a `connector_call` event.

    A side-effecting call is first looked up in the engine's ledger (`bpa.effects`): a key
    already recorded is answered from there, without calling the connector or auditing it
    again. A new one is announced (`connector_intent`) before it is made, and its outcome
    written right after, with its ledger row.

    With a `guard` (bpa/resilience.py), the call is retried, rate-limited and refused while
    the connector's breaker is open; its event then says how many tries it took
    (``attempts``, and the errors ``retried``), and a breaker it opened gets an event of
    its own (`BREAKER_OPENED`).
    """

    def __init__(
        self,
        connector: Connector,
        sink: EffectSink,
        ledger: EffectLedger | None = None,
        *,
        run_id: str | None = None,
        guard: ConnectorGuard | None = None,
    ) -> None:
        self._connector = connector
        self._sink = sink
        self._ledger = ledger
        self._run_id = run_id
        self._guard = guard
        self._specs = connector.action_specs()
        #: Whether the system answers for its own effects by key (`Connector.recorded`).
        answer = getattr(getattr(connector, "recorded", None), "__func__", None)
        self._keeps_keys = answer is not None and answer is not Connector.recorded

    @property
    def name(self) -> str:
        return self._connector.name

    def __getattr__(self, attr: str) -> Any:
        spec = self._specs.get(attr)
        if spec is None:
            return getattr(self._connector, attr)
        return self._audited(spec, getattr(self._connector, attr))

    # -- undoing side effects (bpa/rollback.py, and flows that compensate) --------------------
    def plan_undo(self, done: Done[Any, Any]) -> BaseModel | Irreversible:
        """The request of the action that undoes `done`, or why it cannot be undone."""
        return self._connector.undo_request(self._specs[done.action], done)

    async def call_undo(self, action: str, request: BaseModel, *, undoes: Sequence[str]) -> Any:
        """Call the undo of `action` (a side effect) with `request`, audited like any call,
        under the key derived from the first of `undoes` (the keys of the calls it undoes,
        which its events name: ``undoes``)."""
        undo = self._specs[action].undo
        if not isinstance(undo, str):
            raise ConnectorError(f"{action} declares no undo action", code="no_undo")
        spec = self._specs[undo]
        call = self._audited(spec, getattr(self._connector, spec.name), undoes=list(undoes))
        return await call(request, idempotency_key=undo_key(undoes[0]))

    async def undo(self, done: Done[Any, Any]) -> Any:
        """Undo `done`, a call of this connector, with the undo it declares; the undo's result,
        or `Irreversible` (nothing called). Done again (a retried step, a rollback), it is
        answered from the ledger: an effect is undone once."""
        request = self.plan_undo(done)
        if isinstance(request, Irreversible):
            return request
        return await self.call_undo(done.action, request, undoes=[done.idempotency_key])

    async def recorded(self, action: str, idempotency_key: str) -> Any | None:
        """What `action` returned for the key: from the engine's ledger, else from the
        connector's system (`Connector.recorded`), else None."""
        spec = self._specs.get(action)
        if spec is not None and spec.side_effect and self._ledger is not None:
            found = self._ledger.recorded(self._connector.name, spec, idempotency_key)
            if found is not None:
                return found
        return await self._connector.recorded(action, idempotency_key)

    def _audited(self, spec: ActionSpec, method: Any, undoes: list[str] | None = None) -> Any:
        async def call(request: Any, **kwargs: Any) -> Any:
            node = current_node()
            key: str | None = kwargs.get("idempotency_key")
            checked: BaseModel | None = None
            if spec.side_effect and key and self._ledger is not None:
                checked = validate_request(spec, request)
                name = self._connector.name
                pending = self._sink.unwritten(name, key)
                replayed = self._ledger.replay(name, spec, key, checked, pending)
                if replayed is not None:
                    return replayed
            payload: dict[str, Any] = {
                "connector": self._connector.name,
                "action": spec.name,
                "side_effect": spec.side_effect,
                "idempotency_key": key,
                "request": request,
            }
            if undoes:
                payload["undoes"] = undoes
            new = not spec.side_effect or self._sink.begin_effect(payload, node=node)
            started = time.perf_counter()
            report = CallReport()
            try:
                if self._guard is None:
                    result = await method(request, **kwargs)
                else:
                    result = await self._guard.call(lambda: method(request, **kwargs), report)
                    payload.update(report.audit())
            except ConnectorError as exc:
                if self._guard is not None:
                    payload.update(report.audit())
                self._emit(spec, {**payload, "ok": False, "error": exc.to_dict()}, node, started)
                self._breaker_opened(report, node)
                raise
            if new:
                entry = None
                if checked is not None and key and self._ledger is not None:
                    entry = self._ledger.entry(
                        self._connector.name, spec, key, checked, result, self._run_id
                    )
                self._emit(spec, {**payload, "ok": True, "result": result}, node, started, entry)
            self._breaker_opened(report, node)
            return result

        return call

    def _breaker_opened(self, report: CallReport, node: str | None) -> None:
        if report.tripped and report.open_until is not None:
            self._sink.record(
                BREAKER_OPENED,
                {
                    "connector": self._connector.name,
                    "open_until": report.open_until.isoformat(),
                    "retried": report.retried,
                },
                node=node,
            )

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
            # A system that cannot look an effect up by its key has only the engine's ledger
            # to stop a second call after a crash: its outcome is written at once.
            self._sink.end_effect(
                payload, node=node, duration_ms=elapsed, entry=entry, at_once=not self._keeps_keys
            )
        else:
            self._sink.record(CALL, payload, node=node, duration_ms=elapsed)


async def complete_effects(
    audit: RunAudit, connectors: Mapping[str, Connector], trail: Iterable[RunEvent] = ()
) -> None:
    """Write the outcome of each side effect an earlier attempt announced but never saw
    answered (its process died), as the connector's idempotency ledger records it. `trail`:
    the run's side-effect events so far, learnt first (`RunAudit.remember`).

    An effect the ledger does not know never happened (or the connector cannot tell): the
    step's replay makes the call and records its outcome then.
    """
    audit.remember(trail)
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
        guards: Mapping[str, ConnectorGuard] | None = None,
    ) -> None:
        self._connectors = connectors
        self._sink = sink
        self._ledger = ledger
        self._run_id = run_id
        self._guards = guards or {}

    def _wrap(self, connector: Connector) -> Any:
        return AuditedConnector(
            connector,
            self._sink,
            self._ledger,
            run_id=self._run_id,
            guard=self._guards.get(connector.name),
        )

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
        return cast(K, self._wrap(self._pick(kind, name, needs)))

    async def undo(
        self, kind: type[Connector], done: Done[Any, Any], name: str | None = None
    ) -> Any:
        """Undo `done`, a call the run made to its connector of `kind` (see
        `AuditedConnector.undo`): the undo a rollback would make, made now by the flow."""
        audited: AuditedConnector = self._wrap(self._pick(kind, name, ()))
        return await audited.undo(done)

    def _pick(self, kind: type[K], name: str | None, needs: Iterable[str]) -> K:
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
        return connector


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

    async def undo(self, kind: type[Connector], done: Done[Any, Any]) -> Any:
        """Undo a side effect of this run with the undo its connector declares, as a rollback
        would (``ctx.undo(AccountingConnector, Done("create_bill", ...))``): the undo's
        result, or `Irreversible`. Its events name the call undone, so a later rollback of the
        run does not undo it again."""
        return await self.connectors.undo(kind, done)

    def idempotency_key(self, node: str, action: str, *parts: str) -> str:
        """Stable across retries and resumes of this run, unique per run, node and action."""
        return ":".join((self.run_id, node, action, *parts))
