"""Runs flows: one compiled graph per flow, one LangGraph thread per run (thread id = run id).

Every node's start and end, every model and connector call, interrupts and resumes are
written to the run's audit trail. A LangGraph `interrupt` makes the run `waiting` with a
typed question; `resume` answers it with a typed decision.

A runner executes a run only while it holds the run's lease (bpa/runs/leases.py), so
several processes can share one database; every status it writes is conditional on still
holding it.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
import traceback
from collections.abc import AsyncGenerator, AsyncIterator, Callable, Mapping, Sequence
from contextlib import aclosing, asynccontextmanager
from typing import TYPE_CHECKING, Any, cast

from langchain_core.runnables import RunnableConfig
from langgraph.checkpoint.base import BaseCheckpointSaver
from langgraph.graph.state import CompiledStateGraph
from langgraph.store.base import BaseStore
from langgraph.types import Command, Durability
from pydantic import ValidationError

from bpa.config import Settings
from bpa.documents import DocumentStore
from bpa.effects import EffectLedger, LedgerEntry
from bpa.errors import FlowError, InvalidDecision, InvalidInput, ModelError, RunStateError
from bpa.explain import describe, explain_input
from bpa.flows import Flow, UnknownFlow
from bpa.models import ModelGateway
from bpa.nul import nul_location
from bpa.redaction import Redactor
from bpa.resilience import ConnectorGuard
from bpa.review import ReviewDecision, ReviewQuestion
from bpa.runs import replies
from bpa.runs.audit import EFFECT_KINDS, RunAudit, jsonable
from bpa.runs.context import ConnectorHub, RunContext, complete_effects
from bpa.runs.leases import UNAVAILABLE, HeldLease, LeaseLost, process_owner
from bpa.runs.store import RunStore
from bpa.runs.tables import Approval, Run, RunEvent, RunStatus, utcnow
from bpa.runs.versions import FlowVersions
from connectors.base import Connector
from connectors.errors import ConnectorError, Unavailable

if TYPE_CHECKING:
    from bpa.auth import Principal

__all__ = ["Runner", "UnknownFlow"]

_TEXT_PREVIEW = 300
#: Audit events kept in memory between graph steps before they are written regardless.
_STEP_EVENTS_BUFFER = 50


def _error_of(exc: BaseException, redactor: Redactor) -> dict[str, Any]:
    """What a failed run records (and shows to viewers): the reason, with secrets masked."""
    if isinstance(exc, FlowError):
        detail = exc.to_dict()
        detail["message"] = redactor.text(str(detail.get("message", "")))
        return detail
    if isinstance(exc, ConnectorError):
        return {"code": f"connector_{exc.code}", "message": redactor.text(exc.message)}
    if isinstance(exc, ModelError):
        return {"code": "model_error", "message": redactor.text(str(exc))}
    return {"code": "internal_error", "message": redactor.error(exc)}


def _actor(principal: Principal | None) -> dict[str, Any]:
    """The `actor` entry of a human decision's event: key name, role and key id."""
    return {"actor": principal.as_actor()} if principal is not None else {}


class Isolation:
    """Runs share this process, except a suspect, which waits for the others to finish and
    holds new ones back while it runs (an asyncio reader-writer lock, writers first)."""

    def __init__(self) -> None:
        self._changed = asyncio.Condition()
        self._shared = 0
        self._alone = False
        self._waiting_alone = 0

    @asynccontextmanager
    async def hold(self, *, alone: bool) -> AsyncIterator[None]:
        async with self._changed:
            if alone:
                self._waiting_alone += 1
                await self._changed.wait_for(lambda: not self._alone and self._shared == 0)
                self._waiting_alone -= 1
                self._alone = True
            else:
                await self._changed.wait_for(lambda: not self._alone and not self._waiting_alone)
                self._shared += 1
        try:
            yield
        finally:
            async with self._changed:
                if alone:
                    self._alone = False
                else:
                    self._shared -= 1
                self._changed.notify_all()


class Runner:
    def __init__(
        self,
        *,
        settings: Settings,
        store: RunStore,
        flows: Mapping[str, Flow],
        connectors: dict[str, Connector],
        models: ModelGateway,
        documents: DocumentStore,
        checkpointer: BaseCheckpointSaver[Any],
        durability: Durability | None = None,
        owner: str | None = None,
        lease_s: float | None = None,
        memory: BaseStore | None = None,
        guards: Mapping[str, ConnectorGuard] | None = None,
        redactor: Redactor | None = None,
    ) -> None:
        self.settings = settings
        #: Masks secrets in what runs record about their errors (the suite's, when given).
        self.redactor = redactor or Redactor.from_settings(settings)
        self.store = store
        #: The engine's idempotency ledger of side effects (in the runs' database).
        self.ledger = EffectLedger(store.engine)
        self.flows = flows
        self.connectors = connectors
        #: Retries, rate limits and circuit breakers of the connectors that have them.
        self.guards = dict(guards or {})
        self.models = models
        self.documents = documents
        self.checkpointer = checkpointer
        self.durability = durability
        #: LangGraph's cross-run memory (`runtime.store` in nodes); None: flows get no store.
        self.memory = memory
        #: This runner's name in the runs' `claimed_by` column.
        self.owner = owner or process_owner()
        self.lease_s = lease_s if lease_s is not None else settings.run_lease_s
        self._graphs: dict[str, CompiledStateGraph[Any, Any, Any, Any]] = {}
        #: Each flow's installed version, and the guard on resuming runs of other versions.
        self.versions = FlowVersions(store)
        self._isolation = Isolation()
        self._locks: dict[str, asyncio.Lock] = {}
        self._held: dict[str, HeldLease] = {}
        #: Called with each batch of events written (the API streams them).
        self.listeners: list[Callable[[str, list[RunEvent]], None]] = []

    # -- lookup -----------------------------------------------------------------------------
    def flow(self, name: str) -> Flow:
        try:
            return self.flows[name]
        except KeyError:
            known = ", ".join(sorted(self.flows)) or "none"
            raise UnknownFlow(f"no flow named {name!r}; installed flows: {known}") from None

    def graph(self, name: str) -> CompiledStateGraph[Any, Any, Any, Any]:
        if name not in self._graphs:
            self._graphs[name] = (
                self.flow(name)
                .build_graph()
                .compile(checkpointer=self.checkpointer, store=self.memory, name=name)
            )
        return self._graphs[name]

    # -- lifecycle --------------------------------------------------------------------------
    def prepare(
        self, flow_name: str, payload: dict[str, Any], idempotency_key: str | None = None
    ) -> tuple[Flow, dict[str, Any], str | None]:
        """The flow, the validated input (as JSON), and the run's idempotency key: the one
        given, else the flow's own (`Flow.run_key`), else None."""
        flow = self.flow(flow_name)
        try:
            data = flow.input_model.model_validate(payload).model_dump(mode="json")
        except ValidationError as exc:
            what = f"the input for flow {flow.name!r}"
            raise InvalidInput(explain_input(exc, flow.input_model, what)) from exc
        if where := nul_location(data, "input"):
            raise InvalidInput(
                f"{where} contains a NUL character (\\u0000), which no field accepts; remove it"
            )
        if idempotency_key is None and flow.run_key is not None:
            idempotency_key = flow.run_key(data)
        return flow, data, idempotency_key

    def submit(
        self,
        flow_name: str,
        payload: dict[str, Any],
        *,
        trigger: str,
        idempotency_key: str | None = None,
        batch_id: str | None = None,
    ) -> tuple[Run, bool]:
        """Validate the input and record a queued run (or find the earlier one for this key);
        an input that answers a waiting run queues that run instead (`replies.submit`)."""
        submitted = replies.submit(
            self,
            flow_name,
            payload,
            trigger=trigger,
            idempotency_key=idempotency_key,
            batch_id=batch_id,
        )
        return submitted.run, submitted.created

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
        submitted = replies.submit(
            self,
            flow_name,
            payload,
            trigger=trigger,
            idempotency_key=idempotency_key,
            batch_id=batch_id,
            started_by=(self.owner, self.lease_s),
        )
        if submitted.created:  # inserted running, under this runner's lease
            async with self._lock(submitted.run.id):
                return await self._execute_started(submitted.run)
        if submitted.to_execute:
            return await self.execute(submitted.run.id)
        return submitted.run

    async def execute(self, run_id: str) -> Run:
        """Run a queued run, or continue a `running` one from its last checkpoint.

        Returns the run unchanged when it is finished, waiting, or held by another process.
        """
        async with self._lock(run_id):
            # A new run (most of them) is leased and started in one transaction.
            started = RunEvent(run_id=run_id, kind="run_started", payload={"attempt": 1})
            fresh = self.store.start_fresh(run_id, self.owner, lease_s=self.lease_s, event=started)
            if fresh is not None:
                self._publish(run_id, [started])
                return await self._execute_started(fresh)
            run = self.store.acquired(run_id, self.owner, lease_s=self.lease_s)
            if run is None:
                return self.store.get(run_id)
            # A run whose last execution died may be what killed its process: it runs alone
            # here, so that it takes no other run down with it again.
            alone = run.status == RunStatus.running
            try:
                async with self._hold(run_id) as lease, self._isolation.hold(alone=alone):
                    return await self._execute(run, lease)
            except LeaseLost:
                return self.store.get(run_id)

    async def _execute_started(self, run: Run) -> Run:
        """Run a new run this runner just leased and marked running, from its input (the
        caller holds the run's lock)."""
        try:
            async with self._hold(run.id) as lease, self._isolation.hold(alone=False):
                audit = RunAudit(run.id, self._persist, outcomes_wait=True)
                return await self._steps(run, run.input, audit, lease)
        except LeaseLost:
            return self.store.get(run.id)

    async def _execute(self, run: Run, lease: HeldLease) -> Run:
        info: dict[str, Any] = {"attempt": run.attempts + 1}
        if run.attempts == 0:  # never started: no checkpoint to look for
            return await self._drive(run, run.input, "run_started", info, lease)
        # `running` here means an earlier execution never came back: its process died or
        # stalled past its lease. Each such crash counts; a run that keeps crashing stops.
        crashed = run.status == RunStatus.running
        if crashed:
            crashes = len(self.store.events(run.id, kinds=("run_recovered",))) + 1
            info["crashes"] = crashes
            if crashes >= self.settings.max_attempts:
                return await self._give_up(run, crashes)
        elif refused := self.versions.send_back(run, self.flow(run.flow), owner=self.owner):
            return refused  # answered, but this code cannot resume it: `bpa runs migrate`
        graph = self.graph(run.flow)
        snapshot = await graph.aget_state(self._config(run.id))
        resuming = snapshot.created_at is not None
        if resuming and snapshot.interrupts:
            answer = self._given_answer(run.id, snapshot)
            if answer is None:
                return self._wait(run, snapshot, [])
            # A human answered (through the API: the run was queued to carry on), or the
            # process stopped after the answer but before the answered step finished.
            kind = "run_recovered" if crashed else "resumed"
            return await self._drive(run, Command(resume=answer), kind, info, lease)
        payload: Any = None if resuming else run.input
        # A crash before the first checkpoint starts over from the input: still a recovery.
        kind = "run_recovered" if resuming or crashed else "run_started"
        waited = run.error or {}
        if not crashed and waited.get("code") == UNAVAILABLE:
            kind = "resumed"  # it waited for a connector whose circuit breaker was open
            info["waited_for"] = waited.get("connector")
        return await self._drive(run, payload, kind, info, lease)

    async def _give_up(self, run: Run, crashes: int) -> Run:
        """Fail a run whose executions keep dying, so that it takes no more processes down.
        The outcomes of side effects its last execution made but never wrote go in its trail
        first, as the connectors' ledgers record them."""
        audit = RunAudit(run.id, self._persist)
        trail = self.store.events(run.id, kinds=EFFECT_KINDS)
        await complete_effects(audit, self.connectors, trail)
        error = {
            "code": "crashed_repeatedly",
            "message": f"the run's execution stopped without an outcome {crashes} times "
            f"(its process died or stalled past its lease; BPA_MAX_ATTEMPTS="
            f"{self.settings.max_attempts}); it is not tried again. Its last events show "
            "the step it was in.",
            "crashes": crashes,
        }
        audit.record("run_finished", {"status": "failed", "error": error})
        events = audit.take()
        updated = self.store.update(
            run.id,
            owner=self.owner,
            status=RunStatus.failed,
            error=error,
            finished_at=utcnow(),
            claimed_by=None,
            lease_until=None,
            events=events,
        )
        self._publish(run.id, events)
        return updated

    def _given_answer(self, run_id: str, snapshot: Any) -> dict[str, Any] | None:
        interrupt_id = snapshot.interrupts[0].id
        for approval in self.store.approvals(run_id):
            if approval.interrupt_id == interrupt_id and approval.decision is not None:
                return approval.decision
        return None

    def answer_of(
        self, run_id: str, decision: dict[str, Any], *, by: str | None
    ) -> tuple[Run, Approval, dict[str, Any]]:
        """The waiting run, its open question, and the answer as the flow's decision model
        reads it; `RunStateError` when it waits for none, `InvalidDecision` when the answer
        does not fit."""
        run = self.store.get(run_id)
        if run.status != RunStatus.waiting:
            raise RunStateError(f"run {run_id} is {run.status}, not waiting for a decision")
        approval = self.store.pending_approval(run_id)
        if approval is None:
            raise RunStateError(f"run {run_id} has no open question")
        self.versions.check_resume(run, approval.node, self.flow(run.flow))
        model = self.flow(run.flow).decision_model or ReviewDecision
        corrections = decision.get("corrections")
        if issubclass(model, ReviewDecision) and isinstance(corrections, Mapping) and corrections:
            # checked before the model reads them, so no field is silently dropped
            ReviewQuestion.model_validate(approval.question).check_fields(corrections)
        try:
            answer = model.model_validate({**decision, "decided_by": by})
        except ValidationError as exc:
            raise InvalidDecision(describe(exc)) from exc
        if isinstance(answer, ReviewDecision):
            answer.check_answers(ReviewQuestion.model_validate(approval.question))
        return run, approval, answer.model_dump(mode="json", exclude_unset=False)

    async def resume(
        self,
        run_id: str,
        decision: dict[str, Any],
        *,
        by: str | None = None,
        actor: Principal | None = None,
    ) -> Run:
        """Answer the question a waiting run asked, and carry on. `actor`: who answered, for
        the audit trail (`by` is the name the answer gives)."""
        async with self._lock(run_id):
            run, approval, body = self.answer_of(run_id, decision, by=by)
            statuses = (RunStatus.waiting,)
            if not self.store.acquire(run_id, self.owner, lease_s=self.lease_s, statuses=statuses):
                raise RunStateError(f"run {run_id} is being resumed elsewhere or no longer waits")
            self.store.decide(approval.id, decision=body, by=by)
            try:
                async with self._hold(run_id) as lease:
                    return await self._drive(
                        run,
                        Command(resume=body),
                        "resumed",
                        {"approval_id": approval.id, **body, **_actor(actor)},
                        lease,
                    )
            except LeaseLost:
                return self.store.get(run_id)

    async def cancel(
        self, run_id: str, *, reason: str = "cancelled by a user", actor: Principal | None = None
    ) -> Run:
        """Cancel a run that has not finished, wherever it executes.

        Takes no lock on purpose: the run's lease is dropped with the status change, so the
        process executing it (this one or another) stops at its next step and cannot
        overwrite the outcome.
        """
        unfinished = [status for status in RunStatus if not status.finished]
        run = self.store.update(
            run_id,
            statuses=unfinished,
            status=RunStatus.cancelled,
            claimed_by=None,
            lease_until=None,
            finished_at=utcnow(),
            error={"code": "cancelled", "message": reason},
            events=[
                RunEvent(
                    run_id=run_id,
                    kind="run_finished",
                    payload={"status": "cancelled", "reason": reason, **_actor(actor)},
                )
            ],
        )
        held = self._held.get(run_id)
        if held is not None:
            held.lost = True
        return run

    # -- internals --------------------------------------------------------------------------
    def _lock(self, run_id: str) -> asyncio.Lock:
        return self._locks.setdefault(run_id, asyncio.Lock())

    @asynccontextmanager
    async def _hold(self, run_id: str) -> AsyncIterator[HeldLease]:
        """Heart-beat the lease this runner just acquired, while the block runs."""
        async with HeldLease(self.store, run_id, self.owner, self.lease_s) as lease:
            self._held[run_id] = lease
            try:
                yield lease
            finally:
                self._held.pop(run_id, None)

    def _config(self, run_id: str) -> RunnableConfig:
        return RunnableConfig(configurable={"thread_id": run_id}, recursion_limit=100)

    def _context(self, run: Run, audit: RunAudit) -> RunContext:
        return RunContext(
            run_id=run.id,
            flow=run.flow,
            settings=self.settings,
            models=self.models.bind(audit),
            connectors=ConnectorHub(
                self.connectors, audit, self.ledger, run_id=run.id, guards=self.guards
            ),
            documents=self.documents,
            audit=audit,
        )

    def _publish(self, run_id: str, events: list[RunEvent]) -> None:
        for listener in self.listeners:
            listener(run_id, events)

    def _persist(self, events: list[RunEvent], entries: Sequence[LedgerEntry] = ()) -> None:
        self.store.add_events(events, entries)
        self._publish(events[0].run_id, events)

    def _write(self, audit: RunAudit, *, step: bool = False, live: bool = False) -> None:
        """Write the recorded events. After a graph step when the run's steps are written
        live (`live`: flows that checkpoint every step, whose runs last long enough to be
        followed from another process) or someone here listens; otherwise they go with the
        next status change, in the same transaction. (Side effects write their own events at
        once: see bpa/runs/audit.py.)"""
        if step and not (live or self.listeners or len(audit) >= _STEP_EVENTS_BUFFER):
            return
        audit.flush()

    async def _drive(
        self, run: Run, payload: Any, kind: str, info: dict[str, Any], lease: HeldLease
    ) -> Run:
        audit = RunAudit(run.id, self._persist, outcomes_wait=True)
        audit.record(kind, info)
        started = audit.take()
        executed_before = run.attempts > 0
        run = self.store.update(
            run.id,
            owner=self.owner,
            status=RunStatus.running,
            started_at=run.started_at or utcnow(),
            attempts=run.attempts + 1,
            error=None,
            events=started,
        )
        self._publish(run.id, started)
        if executed_before:  # its side effects may be in the trail, or only in the connectors
            trail = self.store.events(run.id, kinds=EFFECT_KINDS)
            await complete_effects(audit, self.connectors, trail)
            audit.flush()  # what was recovered is in the trail even if this attempt dies too
        return await self._steps(run, payload, audit, lease)

    async def _steps(self, run: Run, payload: Any, audit: RunAudit, lease: HeldLease) -> Run:
        """Drive the graph of a run marked running, to its end, a question or a failure."""
        graph = self.graph(run.flow)
        config = self._config(run.id)
        durability = self.durability or self.flow(run.flow).durability
        live = durability != "exit"
        clock: dict[str, float] = {}
        final: dict[str, Any] | None = None  # the state after the last step
        interrupted = False
        # (mode, chunk) pairs, as asked for by a list of stream modes.
        stream = cast(
            AsyncGenerator[tuple[str, dict[str, Any]], None],
            graph.astream(
                payload,
                config,
                context=self._context(run, audit),
                stream_mode=["tasks", "updates", "values"],
                durability=durability,
            ),
        )
        try:
            async with aclosing(stream):
                async for mode, chunk in stream:
                    if mode == "tasks":
                        self._record_task(audit, chunk, clock)
                    elif mode == "values":
                        final = chunk
                    else:
                        interrupted = interrupted or "__interrupt__" in chunk
                        self._write(audit, step=True, live=live)
                    if lease.lost:
                        break
        except asyncio.CancelledError:  # the executor stops: keep what the steps did so far
            with contextlib.suppress(Exception):
                audit.flush()
            raise
        except Unavailable as exc:  # a connector's circuit breaker is open: wait, do not fail
            return self._park(run, audit, exc)
        except Exception as exc:  # every failure ends as a recorded, explained state
            detail = _error_of(exc, self.redactor)
            payload_ = {"status": "failed", "error": detail}
            if detail["code"] == "internal_error":
                payload_["traceback"] = self.redactor.text(traceback.format_exc(limit=8))
            audit.record("run_finished", payload_)
            snapshot = await graph.aget_state(config)
            return self._finish(run, audit, RunStatus.failed, snapshot.values, detail)
        if lease.lost:  # cancelled, or taken over by another process: theirs to finish
            self._write(audit)
            return self.store.get(run.id)
        if interrupted or final is None:  # the question's id and node are in the snapshot
            snapshot = await graph.aget_state(config)
            if snapshot.interrupts:
                return self._wait(run, snapshot, audit.take(), audit.take_entries())
            final = snapshot.values
        audit.record("run_finished", {"status": "succeeded"})
        return self._finish(run, audit, RunStatus.succeeded, final, None)

    def _record_task(self, audit: RunAudit, chunk: dict[str, Any], clock: dict[str, float]) -> None:
        name, task_id = chunk["name"], chunk["id"]
        if "input" in chunk:
            clock[task_id] = time.perf_counter()
            kind = (chunk.get("metadata") or {}).get("kind")
            audit.record("node_started", {"kind": kind}, node=name)
            return
        elapsed = (time.perf_counter() - clock.pop(task_id, time.perf_counter())) * 1000
        if chunk.get("error"):
            audit.record(
                "node_failed", {"error": str(chunk["error"])}, node=name, duration_ms=elapsed
            )
        elif chunk.get("interrupts"):
            audit.record(
                "interrupted", {"questions": chunk["interrupts"]}, node=name, duration_ms=elapsed
            )
        else:
            audit.record(
                "node_finished",
                {"update": chunk.get("result")},
                max_text=_TEXT_PREVIEW,
                node=name,
                duration_ms=elapsed,
            )

    def _wait(
        self,
        run: Run,
        snapshot: Any,
        events: list[RunEvent],
        entries: Sequence[LedgerEntry] = (),
    ) -> Run:
        interrupt = snapshot.interrupts[0]
        node = snapshot.next[0] if snapshot.next else None
        question = jsonable(interrupt.value)
        approval = self.store.open_approval(
            run.id, node=node, interrupt_id=interrupt.id, question=question
        )
        replies.register(self.store.engine, run, approval)
        events.append(
            RunEvent(
                run_id=run.id,
                kind="waiting",
                node=node,
                payload={"approval_id": approval.id, "question": question},
            )
        )
        flow = self.flow(run.flow)
        updated = self._settle(
            run.id,
            events,
            entries,
            status=RunStatus.waiting,
            output=jsonable(flow.make_output(snapshot.values)),
            claimed_by=None,
            lease_until=None,
        )
        self._publish(run.id, events)
        return updated

    def _park(self, run: Run, audit: RunAudit, exc: Unavailable) -> Run:
        """Wait for a connector until `exc.retry_at`: `waiting` with the reason in `error`
        and the time in `lease_until`, when executors queue the run again (`requeue_parked`)
        and it continues from its last checkpoint."""
        error = _error_of(exc, self.redactor)  # code: connector_unavailable
        error.update(connector=exc.connector, retry_at=exc.retry_at.isoformat())
        audit.record("waiting", {"reason": UNAVAILABLE, **error})
        events = audit.take()
        updated = self._settle(
            run.id,
            events,
            audit.take_entries(),
            status=RunStatus.waiting,
            error=error,
            claimed_by=None,
            lease_until=exc.retry_at,
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
        updated = self._settle(
            run.id,
            events,
            audit.take_entries(),
            status=status,
            output=output,
            error=error,
            finished_at=utcnow(),
            claimed_by=None,
            lease_until=None,
        )
        self._publish(run.id, events)
        return updated

    def _settle(
        self, run_id: str, events: list[RunEvent], entries: Sequence[LedgerEntry], **fields: Any
    ) -> Run:
        """End this execution of a run: its new fields, events and ledger rows in one
        transaction. When the run is no longer ours (cancelled, or taken over), the side
        effects this execution made still go in its trail (`LeaseLost` is raised after)."""
        try:
            return self.store.update(
                run_id, owner=self.owner, events=events, entries=entries, **fields
            )
        except LeaseLost:
            effects = [event for event in events if event.kind in EFFECT_KINDS]
            if effects or entries:
                self.store.add_events(effects, entries)
            raise
