"""The vendor master: CSV import of vendors and open purchase orders, and the invoice flow's
per-vendor memory of reviewers' corrections (shown and forgotten here)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Request
from pydantic import BaseModel, Field
from starlette.datastructures import UploadFile

from api.deps import AdminDep, ApproverDep, ServicesDep, ViewerDep
from api.problems import ApiProblem, problem_responses

__all__ = ["router"]

router = APIRouter(prefix="/vendors", tags=["vendors"])

_VENDOR_ID = Path(max_length=100, pattern=r"^[A-Za-z0-9_-]+$")
_UPLOAD_FIELDS = ("vendors", "purchase_orders")


class ImportRowError(BaseModel):
    file: str
    line: int
    error: str


class VendorImportPublic(BaseModel):
    run_id: str = Field(description="The import's run: its audit trail, and its rollback")
    created: dict[str, int]
    existing: dict[str, int] = Field(description="Rows already in the system, left alone")
    errors: list[ImportRowError]


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
    #: The run that records who forgot what, with the memory as it was.
    run_id: str | None = None


@router.post(
    "/import",
    response_model=VendorImportPublic,
    summary="Import vendors and open purchase orders from CSV",
    responses=problem_responses(401, 403, 413, 415, 422),
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
    request: Request, services: ServicesDep, admin: AdminDep
) -> VendorImportPublic:
    """A multipart body with a `vendors` CSV, a `purchase_orders` CSV, or both (columns:
    `bpa vendors import --help`). Each record is created through the accounting connector,
    audited and undoable (the import is a run: `POST /runs/{run_id}/rollback`); rows
    already there are left alone; bad rows come back with their line number."""
    from bpa.vendor_master import MAX_BYTES, MasterDataError, import_master

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
    try:
        report = await import_master(
            services.suite,
            data.get("vendors"),
            data.get("purchase_orders"),
            trigger="api",
            by=admin.name,
        )
    except MasterDataError as exc:
        raise ApiProblem(422, "master-data-unreadable", str(exc)) from None
    return VendorImportPublic.model_validate(report.as_json())


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
    responses=problem_responses(401, 403, 404, 422),
)
async def forget_memory(
    vendor_id: Annotated[str, _VENDOR_ID],
    services: ServicesDep,
    approver: ApproverDep,
    field: Annotated[str | None, Query(max_length=40, pattern=r"^[a-z_]+$")] = None,
) -> Forgotten:
    from flows.invoice_processing import memory

    suite = services.suite
    gone, run_id = await memory.forget_recorded(
        suite.store, suite.runner.memory, vendor_id, field, trigger="api", by=approver.name
    )
    if not gone:
        what = f"field {field!r} of {vendor_id!r}" if field else repr(vendor_id)
        raise ApiProblem(404, "memory-not-found", f"nothing is remembered for {what}")
    return Forgotten(vendor_id=vendor_id, forgotten=gone, run_id=run_id)
