"""Batches: many inputs (or uploaded files) through one flow, followed as one unit.

A batch is the set of runs sharing a `batch_id`, recorded all or nothing (bpa/runs/batches.py).
With an `Idempotency-Key`, a retried request finds the same runs, while the same key with
other inputs (different, fewer or more) is refused.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Request, Response
from starlette.concurrency import run_in_threadpool

from api.deps import IdempotencyKeyDep, OperatorDep, ServicesDep, ViewerDep
from api.inputs import read_inputs, request_body_openapi
from api.problems import ApiProblem, problem_responses
from api.schemas import BatchPublic
from api.submit import check_start_role, submit_batch
from bpa.runs.store import RunStore
from bpa.runs.tables import RunStatus

__all__ = ["router"]

router = APIRouter(tags=["batches"])

_SETTLED = {RunStatus.succeeded, RunStatus.failed, RunStatus.cancelled, RunStatus.waiting}


def _summary(store: RunStore, batch_id: str, flow: str) -> BatchPublic:
    counts = store.count_by_status(batch_id=batch_id)
    total = sum(counts.values())
    finished = sum(n for s, n in counts.items() if RunStatus(s).finished)
    settled = sum(n for s, n in counts.items() if RunStatus(s) in _SETTLED)
    return BatchPublic(
        id=batch_id,
        flow=flow,
        total=total,
        counts=counts,
        finished=finished,
        settled=settled,
        progress=settled / total if total else 0.0,
    )


@router.post(
    "/flows/{flow}/batches",
    status_code=202,
    response_model=BatchPublic,
    summary="Start one run per input (or per uploaded file)",
    responses={
        200: {
            "description": "Replayed: the batch this Idempotency-Key started",
            "model": BatchPublic,
        },
        **problem_responses(401, 403, 404, 413, 415, 422),
    },
    openapi_extra=request_body_openapi(many=True),
)
async def create_batch(
    flow: Annotated[str, Path(description="Flow name")],
    request: Request,
    response: Response,
    services: ServicesDep,
    operator: OperatorDep,
    idempotency_key: IdempotencyKeyDep = None,
) -> BatchPublic:
    """All inputs are validated first: one bad input refuses the whole batch (422, naming it).
    Follow progress with `GET /batches/{id}` and the runs with `GET /runs?batch_id=...`."""
    suite = services.suite
    spec = suite.runner.flow(flow)
    check_start_role(services, flow, operator)  # before a document is kept
    payloads = await read_inputs(request, spec, suite.documents, services.settings, many=True)
    record = await submit_batch(
        services, flow, payloads, by=operator, idempotency_key=idempotency_key
    )
    response.headers["Location"] = f"/batches/{record.batch_id}"
    if record.replayed:
        response.status_code = 200
        response.headers["Idempotent-Replayed"] = "true"
    summary = await run_in_threadpool(_summary, suite.store, record.batch_id, flow)
    summary.run_ids = [run.id for run in record.runs]
    summary.duplicates = record.duplicates
    return summary


@router.get(
    "/batches/{batch_id}",
    response_model=BatchPublic,
    summary="A batch's progress",
    responses=problem_responses(401, 403, 404, 422),
)
def get_batch(
    batch_id: Annotated[str, Path(max_length=100)], services: ServicesDep, _viewer: ViewerDep
) -> BatchPublic:
    """Counts of its runs by status, and the share that finished or waits for a human."""
    store = services.suite.store
    runs = store.list_runs(batch_id=batch_id, limit=1)
    if not runs:
        raise ApiProblem(
            404,
            "batch-not-found",
            f"no batch with id {batch_id!r}; batch ids are returned when a batch "
            "is created, and are on its runs (GET /runs)",
        )
    return _summary(store, batch_id, runs[0].flow)
