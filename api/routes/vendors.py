"""The vendor master: CSV import of vendors and open purchase orders, and the invoice flow's
per-vendor memory of reviewers' corrections (shown and forgotten here)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any

from fastapi import APIRouter, Path, Query, Request, Response
from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile

from api.deps import (
    AdminDep,
    ApproverDep,
    IdempotencyKeyDep,
    ServicesDep,
    ViewerDep,
    WaitTimeout,
)
from api.problems import ApiProblem, problem_responses
from api.streaming import settled
from api.submit import submit_run
from bpa.runs.status import RunStatus

if TYPE_CHECKING:
    from bpa.runs.tables import Run

__all__ = ["router"]

router = APIRouter(prefix="/vendors", tags=["vendors"])

_VENDOR_ID = Path(max_length=100, pattern=r"^[A-Za-z0-9_-]+$")
_UPLOAD_FIELDS = ("vendors", "purchase_orders")
FLOW = "vendor_import"


class ImportRowError(BaseModel):
    file: str
    line: int
    error: str


class VendorImportPublic(BaseModel):
    run_id: str = Field(description="The import's run: its audit trail, and its rollback")
    status: RunStatus = Field(description="`succeeded` once imported; the counts come with it")
    created: dict[str, int] = Field(default_factory=dict)
    existing: dict[str, int] = Field(
        default_factory=dict, description="Rows already in the system, left alone"
    )
    errors: list[ImportRowError] = Field(default_factory=list, description="Bad rows")
    error: dict[str, Any] | None = Field(default=None, description="Why the import failed")

    @classmethod
    def of(cls, run: Run) -> VendorImportPublic:
        report = run.output or {}
        return cls(
            run_id=run.id,
            status=run.status,
            created=report.get("created") or {},
            existing=report.get("existing") or {},
            errors=report.get("errors") or [],
            error=run.error,
        )


class VendorMemoryPublic(BaseModel):
    vendor_id: str
    vendor_name: str | None = None
    fields: list[str] = Field(default_factory=list, description="Fields learned from reviews")
    labels: dict[str, list[str]] = Field(
        default_factory=dict, description="Per field, the labels its value is found after"
    )
    currency: str | None = None
    vendor_tax_id: str | None = None

    @classmethod
    def of(cls, item: dict[str, Any]) -> VendorMemoryPublic:
        return cls(
            vendor_id=str(item.get("vendor_id")),
            vendor_name=item.get("vendor_name"),
            fields=list(item.get("fields") or []),
            labels={
                f: [r["label"] for r in rules] for f, rules in (item.get("rules") or {}).items()
            },
            currency=item.get("currency"),
            vendor_tax_id=item.get("vendor_tax_id"),
        )


class Forgotten(BaseModel):
    vendor_id: str
    forgotten: list[str]
    run_id: str = Field(description="The run that records who forgot what, and the memory")
    status: RunStatus


@router.post(
    "/import",
    response_model=VendorImportPublic,
    summary="Import vendors and open purchase orders from CSV",
    responses={
        202: {"description": "Still importing when `timeout` passed", "model": VendorImportPublic},
        **problem_responses(401, 403, 409, 413, 415, 422, 502),
    },
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {
                "multipart/form-data": {
                    "schema": {
                        "type": "object",
                        "properties": {
                            name: {"type": "string", "format": "binary"} for name in _UPLOAD_FIELDS
                        },
                    }
                }
            },
        }
    },
)
async def import_vendors(
    request: Request,
    services: ServicesDep,
    admin: AdminDep,
    response: Response,
    idempotency_key: IdempotencyKeyDep = None,
    timeout: WaitTimeout = 60,
) -> VendorImportPublic:
    """A multipart body with a `vendors` CSV, a `purchase_orders` CSV, or both (columns:
    `bpa vendors import --help`). The import is a run (flow `vendor_import`) that a worker
    executes: each record is created through the accounting connector, audited and
    undoable (`POST /runs/{run_id}/rollback`); rows already there are left alone; bad rows
    come back with their line number. 200 once it finished; 202 with the run when `timeout`
    passed first; 502 naming the run when it failed. A file that cannot be read at all is
    refused (422) before a run is recorded. With an `Idempotency-Key`, a request sent again
    returns the first one's run instead of importing again beside it."""
    from flows.vendor_import.master_data import (
        MAX_BYTES,
        MasterDataError,
        accounting_problem,
        read_rows,
        uploads,
    )

    if not request.headers.get("content-type", "").startswith("multipart/form-data"):
        raise ApiProblem(
            415,
            "media-type-unsupported",
            "send multipart/form-data with the CSV in `vendors` and/or `purchase_orders` "
            "(curl: -F vendors=@vendors.csv)",
        )
    form = await request.form(max_files=2, max_fields=2)
    try:
        data: dict[str, bytes] = {}
        for name, value in form.multi_items():
            if not isinstance(value, UploadFile) or name not in _UPLOAD_FIELDS:
                raise ApiProblem(
                    422, "unknown-field", f"unknown form field {name!r}; send {_UPLOAD_FIELDS}"
                )
            content = await value.read(MAX_BYTES + 1)
            if len(content) > MAX_BYTES:
                raise ApiProblem(413, "file-too-large", f"{name} is larger than {MAX_BYTES} bytes")
            data[name] = content
    finally:
        await form.close()
    if not data:
        raise ApiProblem(422, "file-missing", "the body has no `vendors` or `purchase_orders` file")
    if problem := accounting_problem(services.suite):
        raise ApiProblem(409, "vendor-master-unsupported", problem)
    documents = uploads(services.suite.documents)

    def keep() -> dict[str, Any]:
        read_rows(data.get("vendors"), data.get("purchase_orders"))  # readable at all?
        return {
            name: documents.put(content, f"{name}.csv", "text/csv").model_dump(mode="json")
            for name, content in data.items()
        }

    try:
        payload = await run_in_threadpool(keep)
    except MasterDataError as exc:
        raise ApiProblem(422, "master-data-unreadable", exc.message) from None
    submitted = await submit_run(services, FLOW, payload, by=admin, idempotency_key=idempotency_key)
    run = await services.follower.wait(submitted.run.id, timeout_s=timeout)
    _raise_if_failed(run, "vendor-import-failed")
    if not settled(run):
        response.status_code = 202
    return VendorImportPublic.of(run)


def _raise_if_failed(run: Run, slug: str) -> None:
    """A run that ended without doing its work is a problem response naming it (502: what
    failed was the work behind the request, not the request)."""
    if run.status in (RunStatus.failed, RunStatus.cancelled):
        reason = (run.error or {}).get("message") or f"see GET /runs/{run.id}"
        raise ApiProblem(502, slug, f"run {run.id} {run.status}: {reason}", run_id=run.id)


@router.get(
    "/memory",
    response_model=list[VendorMemoryPublic],
    summary="What the invoice flow learned from corrections, per vendor",
    responses=problem_responses(401, 403),
)
async def list_memory(services: ServicesDep, _viewer: ViewerDep) -> list[VendorMemoryPublic]:
    from flows.invoice_processing import memory

    store = services.suite.runner.memory
    items = await memory.remembered(store) if store is not None else []
    return [VendorMemoryPublic.of(item) for item in items]


@router.get(
    "/{vendor_id}/memory",
    response_model=VendorMemoryPublic,
    summary="What the invoice flow learned for one vendor",
    responses=problem_responses(401, 403, 404, 422),
)
async def get_memory(
    vendor_id: Annotated[str, _VENDOR_ID], services: ServicesDep, _viewer: ViewerDep
) -> VendorMemoryPublic:
    from flows.invoice_processing import memory

    store = services.suite.runner.memory
    found = await memory.recall(store, vendor_id) if store is not None else None
    if found is None:
        raise ApiProblem(404, "memory-not-found", f"nothing is remembered for {vendor_id!r}")
    return VendorMemoryPublic.of(found)


@router.delete(
    "/{vendor_id}/memory",
    response_model=Forgotten,
    summary="Forget what was learned for a vendor (or one field)",
    responses={
        202: {"description": "Still on its way when `timeout` passed", "model": Forgotten},
        **problem_responses(401, 403, 404, 422, 502),
    },
)
async def forget_memory(
    vendor_id: Annotated[str, _VENDOR_ID],
    services: ServicesDep,
    approver: ApproverDep,
    response: Response,
    field: Annotated[str | None, Query(max_length=40, pattern=r"^[a-z_]+$")] = None,
    timeout: WaitTimeout = 30,
) -> Forgotten:
    """A worker forgets it, in a run of its own (flow `vendor_memory_forget`) whose trail
    records who forgot what and the memory as it was. 404 when nothing is remembered (no
    run is recorded, unless another request forgot it meanwhile); 202 with the run when
    `timeout` passed first; 502 naming the run when it failed."""
    from flows.invoice_processing import memory

    store = services.suite.runner.memory
    before = await memory.recall(store, vendor_id) if store is not None else None
    if before is not None and memory.forgettable(before, field):
        payload = {"vendor_id": vendor_id, "field": field}
        submitted = await submit_run(services, memory.FORGET_FLOW, payload, by=approver)
        run = await services.follower.wait(submitted.run.id, timeout_s=timeout)
        _raise_if_failed(run, "vendor-memory-forget-failed")
        gone = list((run.output or {}).get("forgotten") or [])
        if not settled(run):
            response.status_code = 202
        if gone or not settled(run):
            return Forgotten(vendor_id=vendor_id, forgotten=gone, run_id=run.id, status=run.status)
    what = f"field {field!r} of {vendor_id!r}" if field else repr(vendor_id)
    raise ApiProblem(404, "memory-not-found", f"nothing is remembered for {what}")
