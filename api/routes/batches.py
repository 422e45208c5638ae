"""Batches: many inputs (or uploaded files) through one flow, followed as one unit.

A batch is the set of runs sharing a `batch_id`. With an `Idempotency-Key`, item i gets the
key `<key>#<i>`: a retried request finds the same runs (and completes a batch whose first
attempt was cut short), while the same key with other inputs is refused.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Request, Response

from api.deps import IdempotencyKeyDep, OperatorDep, ServicesDep, ViewerDep
from api.inputs import read_inputs, request_body_openapi
from api.problems import ApiProblem, problem_responses
from api.schemas import BatchPublic
from bpa.errors import IdempotencyConflict
from bpa.runs.store import RunStore
from bpa.runs.tables import RunStatus, new_id

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


def _batch_of_key(store: RunStore, flow: str, key: str, size: int) -> str | None:
    """The batch an earlier request with this key created, after checking it had this size."""
    first = store.find_by_key(flow, f"{key}#0")
    if first is None:
        return None
    existing = sum(store.count_by_status(batch_id=first.batch_id).values())
    if existing > size or store.find_by_key(flow, f"{key}#{size}") is not None:
        raise IdempotencyConflict(
            f"idempotency key {key!r} was used for batch {first.batch_id} with more inputs; "
            "send the same inputs to get that batch, or use a new key"
        )
    return first.batch_id


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
    _operator: OperatorDep,
    idempotency_key: IdempotencyKeyDep = None,
) -> BatchPublic:
    """All inputs are validated first: one bad input refuses the whole batch (422, naming it).
    Follow progress with `GET /batches/{id}` and the runs with `GET /runs?batch_id=...`."""
    suite = services.suite
    spec = suite.runner.flow(flow)
    payloads = await read_inputs(request, spec, suite.documents, services.settings, many=True)
    batch_id = None
    if idempotency_key:
        batch_id = _batch_of_key(suite.store, flow, idempotency_key, len(payloads))
    replayed = batch_id is not None
    batch_id = batch_id or new_id("batch")
    run_ids, duplicates = [], []
    for i, payload in enumerate(payloads):
        run, created = suite.runner.submit(
            flow,
            payload,
            trigger="batch",
            batch_id=batch_id,
            idempotency_key=f"{idempotency_key}#{i}" if idempotency_key else None,
        )
        if run.batch_id != batch_id:
            if idempotency_key:
                raise ApiProblem(
                    422,
                    "idempotency-key-reused",
                    f"Idempotency-Key {idempotency_key!r} already belongs to runs "
                    f"outside this batch; use a new key",
                )
            duplicates.append(i)  # the flow keys its runs by content: an earlier run
        if created or run.status == RunStatus.queued:
            services.engine.notify(run.id)
        run_ids.append(run.id)
    response.headers["Location"] = f"/batches/{batch_id}"
    if replayed:
        response.status_code = 200
        response.headers["Idempotent-Replayed"] = "true"
    summary = _summary(suite.store, batch_id, flow)
    summary.run_ids = run_ids
    summary.duplicates = duplicates
    return summary


@router.get(
    "/batches/{batch_id}",
    response_model=BatchPublic,
    summary="A batch's progress",
    responses=problem_responses(401, 403, 404, 422),
)
async def get_batch(
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
