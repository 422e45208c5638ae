"""Runs flows: one compiled graph per flow, one LangGraph thread per run (thread id = run id).

Every node's start and end, every model and connector call, interrupts and resumes are
written to the run's audit trail. A LangGraph `interrupt` makes the run `waiting` with a
typed question; `resume` answers it with a typed decision.
"""

from __future__ import annotations

import asyncio
import time
import traceback
from collections.abc import Callable
from typing import Any

from langgraph.checkpoint.base import BaseCheckpointSaver
from langgraph.graph.state import CompiledStateGraph
from langgraph.types import Command, Durability
from pydantic import ValidationError

from bpa.config import Settings
from bpa.documents import DocumentStore
from bpa.errors import FlowError, InvalidDecision, ModelError, RunStateError
from bpa.flows import Flow
from bpa.models import ModelGateway
from bpa.review import ReviewDecision, ReviewQuestion
from bpa.runs.audit import RunAudit, jsonable
from bpa.runs.context import ConnectorHub, RunContext
from bpa.runs.store import RunStore
from bpa.runs.tables import Run, RunEvent, RunStatus, utcnow
from connectors.base import Connector
from connectors.errors import ConnectorError

__all__ = ["Runner", "UnknownFlow"]

_TEXT_PREVIEW = 300


class UnknownFlow(LookupError):
    pass


def _preview(value: Any) -> Any:
    """Audit-sized copy of a node's update: long strings are shortened."""
    value = jsonable(value)
    if isinstance(value, str) and len(value) > _TEXT_PREVIEW:
        return f"{value[:_TEXT_PREVIEW]}… ({len(value)} chars)"
    if isinstance(value, dict):
        return {k: _preview(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_preview(v) for v in value[:50]]
    return value


def _error_of(exc: BaseException) -> dict[str, Any]:
    if isinstance(exc, FlowError):
        return exc.to_dict()
    if isinstance(exc, ConnectorError):
        return {"code": f"connector_{exc.code}", "message": exc.message}
    if isinstance(exc, ModelError):
        return {"code": "model_error", "message": str(exc)}
    return {"code": "internal_error", "message": f"{type(exc).__name__}: {exc}"}


class Runner:
    def __init__(
        self,
        *,
        settings: Settings,
        store: RunStore,
        flows: dict[str, Flow],
        connectors: dict[str, Connector],
        models: ModelGateway,
        documents: DocumentStore,
        checkpointer: BaseCheckpointSaver,
        durability: Durability = "async",
    ) -> None:
        self.settings = settings
        self.store = store
        self.flows = flows
        self.connectors = connectors
        self.models = models
        self.documents = documents
        self.checkpointer = checkpointer
        self.durability = durability
        self._graphs: dict[str, CompiledStateGraph] = {}
        self._locks: dict[str, asyncio.Lock] = {}
        #: Called with each batch of events written (the API streams them).
        self.listeners: list[Callable[[str, list[RunEvent]], None]] = []

    # -- lookup -----------------------------------------------------------------------------
    def flow(self, name: str) -> Flow:
        try:
            return self.flows[name]
        except KeyError:
            known = ", ".join(sorted(self.flows)) or "none"
            raise UnknownFlow(f"no flow named {name!r}; installed flows: {known}") from None

    def graph(self, name: str) -> CompiledStateGraph:
        if name not in self._graphs:
            self._graphs[name] = self.flow(name).build_graph().compile(
                checkpointer=self.checkpointer, name=name
            )
        return self._graphs[name]

    # -- lifecycle --------------------------------------------------------------------------
    def submit(
        self,
        flow_name: str,
        payload: dict[str, Any],
        *,
        trigger: str,
        idempotency_key: str | None = None,
        batch_id: str | None = None,
    ) -> tuple[Run, bool]:
        """Validate the input and record a queued run (or find the earlier one for this key)."""
        flow = self.flow(flow_name)
        data = flow.input_model.model_validate(payload).model_dump(mode="json")
        return self.store.create_run(
            flow=flow.name,
            flow_version=flow.version,
            input=data,
            trigger=trigger,
            idempotency_key=idempotency_key,
            batch_id=batch_id,
        )

    async def start(
        self,
        flow_name: str,
        payload: dict[str, Any],
        *,
        trigger: str = "api",
        idempotency_key: str | None = None,
        batch_id: str | None = None,
    ) -> Run:
        """Submit and run to the end (or to the first question). A replayed key runs nothing."""
        run, created = self.submit(
            flow_name, payload, trigger=trigger, idempotency_key=idempotency_key,
            batch_id=batch_id,
        )
        if created or run.status == RunStatus.queued:
            return await self.execute(run.id)
        return run

    async def execute(self, run_id: str) -> Run:
        """Run a queued run, or continue a `running` one from its last checkpoint."""
        async with self._lock(run_id):
            run = self.store.get(run_id)
            if run.status not in (RunStatus.queued, RunStatus.running):
                return run
            graph = self.graph(run.flow)
            config = self._config(run.id)
            snapshot = await graph.aget_state(config)
            resuming = snapshot.created_at is not None
            if resuming and snapshot.interrupts:
                return self._wait(run, snapshot, [])
            payload: Any = None if resuming else run.input
            kind = "run_recovered" if resuming else "run_started"
            return await self._drive(run, payload, kind, {"attempt": run.attempts + 1})

    async def resume(self, run_id: str, decision: dict[str, Any], *, by: str | None = None) -> Run:
        """Answer the question a waiting run asked, and carry on."""
        async with self._lock(run_id):
            run = self.store.get(run_id)
            if run.status != RunStatus.waiting:
                raise RunStateError(f"run {run_id} is {run.status}, not waiting for a decision")
            approval = self.store.pending_approval(run_id)
            if approval is None:
                raise RunStateError(f"run {run_id} has no open question")
            flow = self.flow(run.flow)
            model = flow.decision_model or ReviewDecision
            try:
                answer = model.model_validate({**decision, "decided_by": by})
            except ValidationError as exc:
                raise InvalidDecision(str(exc)) from exc
            if isinstance(answer, ReviewDecision):
                answer.check_answers(ReviewQuestion.model_validate(approval.question))
            body = answer.model_dump(mode="json", exclude_unset=False)
            self.store.decide(approval.id, decision=body, by=by)
            return await self._drive(
                run, Command(resume=body), "resumed", {"approval_id": approval.id, **body}
            )

    async def cancel(self, run_id: str, *, reason: str = "cancelled by a user") -> Run:
        async with self._lock(run_id):
            run = self.store.get(run_id)
            if RunStatus(run.status).finished:
                raise RunStateError(f"run {run_id} already {run.status}")
            return self.store.update(
                run_id,
                status=RunStatus.cancelled,
                finished_at=utcnow(),
                error={"code": "cancelled", "message": reason},
                events=[RunEvent(run_id=run_id, kind="run_finished",
                                 payload={"status": "cancelled", "reason": reason})],
            )

    # -- internals --------------------------------------------------------------------------
    def _lock(self, run_id: str) -> asyncio.Lock:
        return self._locks.setdefault(run_id, asyncio.Lock())

    def _config(self, run_id: str) -> dict[str, Any]:
        return {"configurable": {"thread_id": run_id}, "recursion_limit": 100}

    def _context(self, run: Run, audit: RunAudit) -> RunContext:
        return RunContext(
            run_id=run.id,
            flow=run.flow,
            settings=self.settings,
            models=self.models.bind(audit),
            connectors=ConnectorHub(self.connectors, audit),
            documents=self.documents,
            audit=audit,
        )

    def _publish(self, run_id: str, events: list[RunEvent]) -> None:
        for listener in self.listeners:
            listener(run_id, events)

    def _write(self, audit: RunAudit) -> None:
        events = audit.take()
        if events:
            self.store.add_events(events)
            self._publish(audit.run_id, events)

    async def _drive(self, run: Run, payload: Any, kind: str, info: dict[str, Any]) -> Run:
        audit = RunAudit(self.store, run.id)
        audit.record(kind, info)
        started = [RunEvent(run_id=run.id, kind=e.kind, payload=e.payload) for e in audit.take()]
        run = self.store.update(
            run.id,
            status=RunStatus.running,
            started_at=run.started_at or utcnow(),
            attempts=run.attempts + 1,
            events=started,
        )
        self._publish(run.id, started)
        graph = self.graph(run.flow)
        config = self._config(run.id)
        clock: dict[str, float] = {}
        try:
            async for mode, chunk in graph.astream(
                payload,
                config,
                context=self._context(run, audit),
                stream_mode=["tasks", "updates"],
                durability=self.durability,
            ):
                if mode == "tasks":
                    self._record_task(audit, chunk, clock)
                else:
                    self._write(audit)
        except Exception as exc:  # every failure ends as a recorded, explained state
            detail = _error_of(exc)
            payload_ = {"status": "failed", "error": detail}
            if detail["code"] == "internal_error":
                payload_["traceback"] = traceback.format_exc(limit=8)
            audit.record("run_finished", payload_)
            snapshot = await graph.aget_state(config)
            return self._finish(run, audit, RunStatus.failed, snapshot.values, detail)
        snapshot = await graph.aget_state(config)
        if snapshot.interrupts:
            return self._wait(run, snapshot, audit.take())
        audit.record("run_finished", {"status": "succeeded"})
        return self._finish(run, audit, RunStatus.succeeded, snapshot.values, None)

    def _record_task(self, audit: RunAudit, chunk: dict[str, Any], clock: dict[str, float]) -> None:
        name, task_id = chunk["name"], chunk["id"]
        if "input" in chunk:
            clock[task_id] = time.perf_counter()
            kind = (chunk.get("metadata") or {}).get("kind")
            audit.record("node_started", {"kind": kind}, node=name)
            return
        elapsed = (time.perf_counter() - clock.pop(task_id, time.perf_counter())) * 1000
        if chunk.get("error"):
            audit.record("node_failed", {"error": str(chunk["error"])}, node=name,
                         duration_ms=elapsed)
        elif chunk.get("interrupts"):
            audit.record("interrupted", {"questions": chunk["interrupts"]}, node=name,
                         duration_ms=elapsed)
        else:
            audit.record("node_finished", {"update": _preview(chunk.get("result"))}, node=name,
                         duration_ms=elapsed)

    def _wait(self, run: Run, snapshot: Any, events: list[RunEvent]) -> Run:
        interrupt = snapshot.interrupts[0]
        node = snapshot.next[0] if snapshot.next else None
        question = jsonable(interrupt.value)
        approval = self.store.open_approval(
            run.id, node=node, interrupt_id=interrupt.id, question=question
        )
        events.append(RunEvent(run_id=run.id, kind="waiting", node=node,
                               payload={"approval_id": approval.id, "question": question}))
        flow = self.flow(run.flow)
        updated = self.store.update(
            run.id,
            status=RunStatus.waiting,
            output=jsonable(flow.make_output(snapshot.values)),
            events=events,
        )
        self._publish(run.id, events)
        return updated

    def _finish(
        self,
        run: Run,
        audit: RunAudit,
        status: RunStatus,
        values: dict[str, Any],
        error: dict[str, Any] | None,
    ) -> Run:
        flow = self.flow(run.flow)
        try:
            output = jsonable(flow.make_output(values)) if values else None
        except Exception as exc:  # a broken projection must not hide the run's real outcome
            output = None
            error = error or {"code": "output_error", "message": f"{type(exc).__name__}: {exc}"}
            status = RunStatus.failed
        events = audit.take()
        updated = self.store.update(
            run.id, status=status, output=output, error=error, finished_at=utcnow(),
            events=events,
        )
        self._publish(run.id, events)
        return updated
