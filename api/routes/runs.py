"""Runs after they started: list, read, follow, answer, cancel, roll back.

Reads are plain `def` routes (FastAPI runs them in its thread pool: the store is
synchronous). Answering and cancelling change the run's state in the database; a worker
carries an answered run on, and the worker executing a cancelled run stops it when it next
renews its lease.
"""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import AsyncIterator
from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends, Header, Path, Query, Response
from fastapi.sse import EventSourceResponse, ServerSentEvent
from starlette.concurrency import run_in_threadpool

from api.deps import ApproverDep, OperatorDep, ServicesDep, ViewerDep, WaitTimeout
from api.problems import problem_responses
from api.routes._present import present, present_async, sse_stream
from api.schemas import (
    CancelIn,
    DecisionIn,
    EventPublic,
    EventsPublic,
    RollbackIn,
    RollbackPublic,
    RunPublic,
    RunsPublic,
)
from api.streaming import settled
from api.submit import check_flow_role
from bpa.rollback import RunRollback
from bpa.runs.decisions import queue_decision
from bpa.runs.tables import Run, RunStatus

__all__ = ["router"]

router = APIRouter(prefix="/runs", tags=["runs"])

RunId = Annotated[str, Path(description="Run id", max_length=100)]
_READ_ERRORS = problem_responses(401, 403, 404, 422)


def _utc(value: dt.datetime | None) -> dt.datetime | None:
    if value is None:
        return None
    return value.replace(tzinfo=dt.UTC) if value.tzinfo is None else value.astimezone(dt.UTC)


@router.get(
    "",
    response_model=RunsPublic,
    summary="List runs, newest first",
    responses=problem_responses(401, 403, 422),
)
def list_runs(
    services: ServicesDep,
    _viewer: ViewerDep,
    flow: Annotated[str | None, Query(max_length=100)] = None,
    status: RunStatus | None = None,
    trigger: Annotated[
        str | None, Query(max_length=50, description="api, batch, schedule, cli")
    ] = None,
    batch_id: Annotated[str | None, Query(max_length=100)] = None,
    created_after: Annotated[
        dt.datetime | None, Query(description="ISO 8601; UTC if naive")
    ] = None,
    created_before: Annotated[
        dt.datetime | None, Query(description="ISO 8601; UTC if naive")
    ] = None,
    before: Annotated[
        str | None, Query(max_length=100, description="Cursor: `next_cursor` of the last page")
    ] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> RunsPublic:
    store = services.suite.store
    runs = store.list_runs(
        flow=flow,
        status=status,
        trigger=trigger,
        batch_id=batch_id,
        since=_utc(created_after),
        until=_utc(created_before),
        before_id=before,
        limit=limit,
    )
    cursor = runs[-1].id if len(runs) == limit else None
    return RunsPublic(data=[present(store, run) for run in runs], next_cursor=cursor)


@router.get("/{run_id}", response_model=RunPublic, summary="One run", responses=_READ_ERRORS)
def get_run(run_id: RunId, services: ServicesDep, _viewer: ViewerDep) -> RunPublic:
    """Status, input, output or error, and the question when it waits for a human."""
    store = services.suite.store
    return present(store, store.get(run_id))


@router.get(
    "/{run_id}/events",
    response_model=EventsPublic,
    summary="The run's audit trail",
    responses=_READ_ERRORS,
)
def run_events(
    run_id: RunId,
    services: ServicesDep,
    _viewer: ViewerDep,
    after: Annotated[int, Query(ge=0, le=2**62, description="Only events after this id")] = 0,
    limit: Annotated[int, Query(ge=1, le=1000)] = 500,
) -> EventsPublic:
    """Every node start and end, model and connector call, question, decision and outcome."""
    store = services.suite.store
    store.get(run_id)
    events = store.events(run_id, after_id=after)
    page = events[:limit]
    cursor = page[-1].id if len(events) > limit and page else None
    return EventsPublic(data=[EventPublic.of(e) for e in page], next_cursor=cursor)


def existing_run(run_id: RunId, services: ServicesDep, _viewer: ViewerDep) -> Run:
    """The run, looked up before a stream starts (so a wrong id is a 404, not a cut stream),
    and only for a caller allowed to read runs: a stranger learns nothing of which ids exist."""
    return services.suite.store.get(run_id)


@router.get(
    "/{run_id}/stream",
    response_class=EventSourceResponse,
    summary="Follow the run's events (Server-Sent Events)",
    responses=_READ_ERRORS,
)
async def stream_run(
    run: Annotated[Run, Depends(existing_run)],
    services: ServicesDep,
    after: Annotated[int, Query(ge=0, le=2**62, description="Only events after this id")] = 0,
    last_event_id: Annotated[str | None, Header(max_length=30)] = None,
) -> AsyncIterator[ServerSentEvent]:
    """Past events after `after` (or the `Last-Event-ID` of a reconnecting client), then new
    ones as they happen, then `event: run` once it finished. A run waiting for a human keeps
    its stream open (its `waiting` event holds the question): an answer moves it on."""
    if last_event_id and last_event_id.isdigit():
        after = max(after, int(last_event_id))
    follow = services.follower.follow(run.id, after=after, until_finished=True)
    async for event in sse_stream(services.suite.store, follow):
        yield event


@router.post(
    "/{run_id}/resume",
    response_model=RunPublic,
    summary="Answer the question a waiting run asks",
    responses={
        202: {"description": "Still on its way when `timeout` passed", "model": RunPublic},
        **problem_responses(401, 403, 404, 409, 422),
    },
)
async def resume_run(
    run_id: RunId,
    decision: DecisionIn,
    services: ServicesDep,
    approver: ApproverDep,
    response: Response,
    timeout: WaitTimeout = 30,
) -> RunPublic:
    """Approve, reject, or correct fields (action `correct` with `corrections`), with an
    optional comment. The answer is recorded and a worker carries the run on; the response
    shows where it got to (200: finished, or waiting on a new question) or, when `timeout`
    passed first, the run as it is (202). 409 when the run is not waiting."""
    suite = services.suite
    answer = decision.model_dump(mode="json")
    run = await run_in_threadpool(
        queue_decision, suite.runner, run_id, answer, by=approver.name, actor=approver
    )
    await run_in_threadpool(services.dispatcher.dispatch, [run.id])
    run = await services.follower.wait(run.id, timeout_s=timeout)
    if not settled(run):
        response.status_code = 202
    return await present_async(suite.store, run)


@router.post(
    "/{run_id}/cancel",
    response_model=RunPublic,
    summary="Cancel a run",
    responses=problem_responses(401, 403, 404, 409, 422),
)
async def cancel_run(
    run_id: RunId,
    services: ServicesDep,
    operator: OperatorDep,
    body: Annotated[CancelIn | None, Body()] = None,
) -> RunPublic:
    """Stops a queued, running or waiting run; 409 when it already finished. A run being
    executed stops at its worker's next lease renewal, without writing another outcome."""
    runner = services.suite.runner
    reason = (body or CancelIn()).reason
    run = await run_in_threadpool(services.suite.store.get, run_id)
    check_flow_role(services, run.flow, operator, "cancelling")

    def cancel() -> Run:
        # A status change in the database (async only by its signature): off the loop.
        return asyncio.run(runner.cancel(run_id, reason=reason, actor=operator))

    return RunPublic.of(await run_in_threadpool(cancel), None)


@router.post(
    "/{run_id}/rollback",
    response_model=RollbackPublic,
    summary="Undo every side effect of a run",
    responses=problem_responses(401, 403, 404, 409, 422),
)
async def rollback_run(
    run_id: RunId, body: RollbackIn, services: ServicesDep, approver: ApproverDep
) -> RollbackPublic:
    """Runs the declared undo of every side effect the run made, newest first: voids its
    bills, closes or reverts its tickets, restores its orders, deletes its tasks, recalls
    unsent mail (a sent one is listed as one that cannot be undone). Answers with a step per
    side effect. `run.status` is `rolled_back`, or `rollback_failed` with what is `left`
    (post again once the cause is fixed: it carries on, undoing nothing twice). Posted for
    a run rolled back already, it does nothing (`noop`). 409 while a worker executes the run
    (cancel it first). A waiting run is cancelled first.

    The rollback runs here, in the request, not in a worker: it is connector calls only (one
    per side effect, through the same audited, idempotent path as a flow's), no flow code."""
    suite = services.suite
    undo = RunRollback.of(suite)
    run = await run_in_threadpool(suite.store.get, run_id)
    check_flow_role(services, run.flow, approver, "rolling back")

    def roll_back() -> tuple[dict[str, Any], Run]:
        # Connector calls (synchronous SQL in the mocked systems): off the event loop.
        report = asyncio.run(undo(run_id, reason=body.reason, by=approver.name))
        return report.as_json(), suite.store.get(run_id)

    report, run = await run_in_threadpool(roll_back)
    return RollbackPublic.of(report, run)
