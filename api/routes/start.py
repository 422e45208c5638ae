"""Starting runs: in the background (202), waiting for the result, or streaming its events.

All three record a queued run and tell the workers (api/submit.py); `wait` and `stream`
then follow it through the database. So a client that disconnects never stops its run, and
an idempotent retry joins the run it already started.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import APIRouter, Depends, Path, Request, Response
from fastapi.sse import EventSourceResponse, ServerSentEvent

from api.deps import IdempotencyKeyDep, OperatorDep, ServicesDep, WaitTimeout
from api.inputs import read_inputs, request_body_openapi
from api.problems import problem_responses
from api.routes._present import present_async, sse_stream
from api.schemas import RunPublic
from api.streaming import settled
from api.submit import check_start_role, submit_run
from bpa.runs.replies import Submission as Recorded
from bpa.runs.tables import Run

__all__ = ["router"]

router = APIRouter(tags=["runs"])

FlowName = Annotated[str, Path(description="Flow name, e.g. invoice_processing")]
_ERRORS = problem_responses(401, 403, 404, 413, 415, 422)


class Submission:
    """What starting a run needs from the request. The run is recorded by the route's body
    (`record`), after FastAPI validated every parameter: a refused request records nothing."""

    def __init__(
        self,
        flow: FlowName,
        request: Request,
        services: ServicesDep,
        operator: OperatorDep,
        idempotency_key: IdempotencyKeyDep = None,
    ) -> None:
        self.by = operator
        self.flow = flow
        self.request = request
        self.services = services
        self.idempotency_key = idempotency_key

    async def record(self) -> Recorded:
        """Validate the input, record a queued run (or find the one this key started, or
        queue the waiting run the input answers) and tell the workers."""
        suite, settings = self.services.suite, self.services.settings
        spec = suite.runner.flow(self.flow)
        check_start_role(self.services, self.flow, self.by)  # before a document is kept
        [payload] = await read_inputs(self.request, spec, suite.documents, settings, many=False)
        return await submit_run(
            self.services, self.flow, payload, by=self.by, idempotency_key=self.idempotency_key
        )


Submitted = Annotated[Submission, Depends()]


async def recorded_run(submission: Submitted) -> Recorded:
    """For a route with no parameters of its own (the stream): record before it answers."""
    return await submission.record()


def _headers(response: Response, recorded: Recorded) -> None:
    response.headers["Location"] = f"/runs/{recorded.run.id}"
    if recorded.replayed:
        response.headers["Idempotent-Replayed"] = "true"


async def _public(services: ServicesDep, run: Run, recorded: Recorded) -> RunPublic:
    public = await present_async(services.suite.store, run)
    public.resumed = recorded.resumed
    return public


@router.post(
    "/flows/{flow}/runs",
    status_code=202,
    response_model=RunPublic,
    summary="Start a run in the background",
    responses={
        200: {
            "description": "Replayed: the run this Idempotency-Key (or message) started or "
            "answered",
            "model": RunPublic,
        },
        **_ERRORS,
    },
    openapi_extra=request_body_openapi(many=False),
)
async def start_run(submitted: Submitted, services: ServicesDep, response: Response) -> RunPublic:
    """Queue a run and answer at once (202). Follow it with `GET /runs/{id}` or its stream.

    JSON `{"input": {...}}`, or multipart with the document in `file` for flows that read
    documents (e.g. `curl -F file=@invoice.pdf`). A message that answers a run's waiting
    question (a customer's reply) queues that run again: 202 with `resumed: true`.
    """
    recorded = await submitted.record()
    _headers(response, recorded)
    if recorded.replayed:
        response.status_code = 200
    return await _public(services, recorded.run, recorded)


@router.post(
    "/flows/{flow}/runs/wait",
    response_model=RunPublic,
    summary="Start a run and wait for its result or its question",
    responses={
        202: {"description": "Still running when `timeout` passed", "model": RunPublic},
        **_ERRORS,
    },
    openapi_extra=request_body_openapi(many=False),
)
async def start_run_and_wait(
    submitted: Submitted,
    services: ServicesDep,
    response: Response,
    timeout: WaitTimeout = 300,
) -> RunPublic:
    """The run once it finished or waits for a human (200), or as it is after `timeout` (202)."""
    recorded = await submitted.record()
    _headers(response, recorded)
    run = await services.follower.wait(recorded.run.id, timeout_s=timeout)
    if not settled(run):
        response.status_code = 202
    return await _public(services, run, recorded)


@router.post(
    "/flows/{flow}/runs/stream",
    response_class=EventSourceResponse,
    summary="Start a run and stream its events (Server-Sent Events)",
    responses=_ERRORS,
    openapi_extra=request_body_openapi(many=False),
)
async def start_run_and_stream(
    recorded: Annotated[Recorded, Depends(recorded_run)], services: ServicesDep
) -> AsyncIterator[ServerSentEvent]:
    """One SSE event per audit event (`event:` is its kind: node_started, model_call, ...),
    then `event: run` with the run once it finished or waits for a human."""
    follow = services.follower.follow(recorded.run.id)
    async for event in sse_stream(services.suite.store, follow):
        yield event
