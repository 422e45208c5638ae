"""Batches: upload many documents at once (one run each), watch them settle, download the
results as JSON Lines (the lines `bpa batch --output` writes).

Uploading goes the API's way (api/inputs.py reads and checks every file, api/submit.py
records the batch all or nothing and tells the workers). Each upload form carries a key of
its own, used as the batch's idempotency key: sending the same form twice starts one batch.
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Iterator
from typing import Annotated, Any

from fastapi import APIRouter, Path, Request
from starlette.concurrency import run_in_threadpool
from starlette.responses import Response, StreamingResponse

from api.deps import ServicesDep
from api.inputs import accepts_document, read_inputs
from api.problems import ApiProblem
from api.services import Services
from api.submit import submit_batch
from api.ui import _queries
from api.ui._access import ConsoleError, FormDep, OperatorDep, ViewerDep, Visitor
from api.ui._console import console_of
from api.ui._present import label_of
from api.ui._render import redirect
from bpa.batch import BatchItem
from bpa.errors import IdempotencyConflict
from bpa.runs.tables import Run, RunStatus

__all__ = ["router"]

router = APIRouter(include_in_schema=False)

BatchId = Annotated[str, Path(max_length=100)]
_MAX_RUNS_SHOWN = 1000


def _document_flows(services: Services) -> list[str]:
    return sorted(name for name, flow in services.suite.flows.items() if accepts_document(flow))


def _page(
    request: Request, visitor: Visitor, services: Services, *, error: str | None, status: int
) -> Response:
    return console_of(request).pages.render(
        request,
        visitor,
        "batches.html",
        status=status,
        batches=_queries.batches(services.suite.engine),
        flows=_document_flows(services),
        upload_key=secrets.token_urlsafe(16),
        error=error,
    )


@router.get("/batches")
def batches_page(request: Request, visitor: ViewerDep, services: ServicesDep) -> Response:
    return _page(request, visitor, services, error=None, status=200)


@router.post("/batches")
async def upload_batch(
    request: Request, form: FormDep, visitor: OperatorDep, services: ServicesDep
) -> Response:
    suite = services.suite
    flow = str(form.get("flow") or "")
    key = str(form.get("upload_key") or "")[:100] or None
    try:
        if flow not in _document_flows(services):
            raise ApiProblem(422, "flow", f"choose a flow that reads documents, not {flow!r}")
        spec = suite.runner.flow(flow)
        payloads = await read_inputs(request, spec, suite.documents, services.settings, many=True)
        by = visitor.principal
        assert by is not None  # OperatorDep: signed in with the role
        record = await submit_batch(services, flow, payloads, by=by, idempotency_key=key)
    except ApiProblem as exc:
        error, status = exc.detail, exc.status
    except IdempotencyConflict:
        error, status = "this form was already sent with other files; reload the page", 409
    else:
        return redirect(request, visitor, f"/ui/batches/{record.batch_id}")
    page = await run_in_threadpool(_page, request, visitor, services, error=error, status=status)
    return page


def _runs(services: Services, batch_id: str) -> list[Run]:
    runs = services.suite.store.list_runs(batch_id=batch_id, limit=_MAX_RUNS_SHOWN)
    if not runs:
        raise ConsoleError(404, f"no batch with id {batch_id!r}", title="No such batch")
    return sorted(runs, key=lambda run: run.id)


def _summary(runs: list[Run]) -> dict[str, Any]:
    counts: dict[str, int] = {}
    for run in runs:
        counts[str(run.status)] = counts.get(str(run.status), 0) + 1
    settled = sum(n for s, n in counts.items() if RunStatus(s).finished or s == RunStatus.waiting)
    total = len(runs)
    return {
        "total": total,
        "counts": counts,
        "settled": settled,
        "percent": round(100 * settled / total) if total else 0,
        "done": settled == total,
    }


@router.get("/batches/{batch_id}")
def batch_page(
    batch_id: BatchId, request: Request, visitor: ViewerDep, services: ServicesDep
) -> Response:
    runs = _runs(services, batch_id)
    partial = request.headers.get("hx-request") == "true"
    return console_of(request).pages.render(
        request,
        visitor,
        "batch_live.html" if partial else "batch.html",
        batch_id=batch_id,
        flow=runs[0].flow,
        rows=[
            {"run": run, "label": label_of(run), "reasons": _queries.reasons_of(run)}
            for run in runs
        ],
        summary=_summary(runs),
    )


def _file_name(batch_id: str) -> str:
    return "".join(c for c in batch_id if c.isascii() and (c.isalnum() or c in "-_")) or "batch"


def _label(run: Run) -> str:
    document = (run.input or {}).get("document")
    if isinstance(document, dict) and document.get("filename"):
        return str(document["filename"])
    return str((run.input or {}).get("source") or run.id)


@router.get("/batches/{batch_id}/results.jsonl")
def batch_results(batch_id: BatchId, visitor: ViewerDep, services: ServicesDep) -> Response:
    runs = _runs(services, batch_id)

    def lines() -> Iterator[str]:
        for run in runs:
            item = BatchItem(_label(run), run.id, str(run.status), run.output, run.error)
            yield json.dumps(item.as_json(), ensure_ascii=False, default=str) + "\n"

    return StreamingResponse(
        lines(),
        media_type="application/x-ndjson",
        headers={
            "Content-Disposition": f'attachment; filename="{_file_name(batch_id)}.jsonl"',
            "X-Content-Type-Options": "nosniff",
            "Cache-Control": "no-store",
        },
    )
