"""Turning a run or batch request (JSON, or uploaded documents) into validated flow inputs.

A flow whose input model has a `document` field takes a file: each upload is stored in the
document store and its `DocumentRef` becomes that field. Other fields can come along as a
JSON object in the form field `input`. Every input is checked against the flow's input model
here, so a bad one is a 422 naming the field, before any run exists. File work (hashing,
storing, looking a reference up) runs off the event loop.
"""

from __future__ import annotations

import json
from typing import Any

from fastapi import Request
from pydantic import BaseModel, ValidationError
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile

from api.problems import ApiProblem, public_errors, validation_detail
from api.schemas import BatchCreate, RunCreate
from api.text_guard import nul_location
from bpa.config import Settings
from bpa.documents import DocumentError, DocumentRef, DocumentStore
from bpa.flows import Flow

__all__ = ["accepts_document", "read_inputs", "request_body_openapi"]

_MAX_FILES = 1000


def accepts_document(flow: Flow) -> bool:
    return "document" in flow.input_model.model_fields


def _media_type(request: Request) -> str:
    return request.headers.get("content-type", "").split(";")[0].strip().lower()


def _invalid(errors: list[dict[str, Any]], what: str) -> ApiProblem:
    return ApiProblem(
        422, "input-invalid", validation_detail(errors, what), errors=public_errors(errors)
    )


def _check(
    flow: Flow, payload: dict[str, Any], loc: tuple[Any, ...], documents: DocumentStore | None
) -> dict[str, Any]:
    """The payload validated against the flow's input model. A document reference sent as
    JSON is checked against `documents`; an upload's own reference (None) needs no check."""
    try:
        data = flow.input_model.model_validate(payload).model_dump(mode="json")
    except ValidationError as exc:
        errors = [{**e, "loc": (*loc, *e["loc"])} for e in exc.errors(include_url=False)]
        raise _invalid(
            errors,
            f"the input for flow {flow.name!r} (schema: GET /flows/{flow.name}, input_schema)",
        ) from None
    if documents is not None and accepts_document(flow) and data.get("document") is not None:
        data["document"] = _stored_document(data["document"], (*loc, "document"), documents)
    return data


def _stored_document(
    raw: dict[str, Any], loc: tuple[Any, ...], documents: DocumentStore
) -> dict[str, Any]:
    """A document reference sent as JSON names a document this store holds; its facts (size)
    come from the store. Anything else is refused before a run exists."""
    try:
        return documents.verified(DocumentRef.model_validate(raw)).model_dump(mode="json")
    except DocumentError as exc:
        error = {"type": exc.code, "loc": loc, "msg": exc.message, "input": None}
        raise ApiProblem(
            422, "document-unknown", exc.message, errors=public_errors([error])
        ) from None


async def _json_inputs(request: Request, many: bool) -> list[dict[str, Any]]:
    body = await request.body()
    model: type[BaseModel] = BatchCreate if many else RunCreate
    example = '{"inputs": [{...}, ...]}' if many else '{"input": {...}}'
    if not body.strip():
        raise ApiProblem(
            422,
            "body-missing",
            f"send a JSON body {example}, or upload a document as multipart/form-data",
        )
    try:
        parsed = model.model_validate_json(body)
    except ValidationError as exc:
        errors = [{**e, "loc": ("body", *e["loc"])} for e in exc.errors(include_url=False)]
        raise _invalid(errors, f"the body (expected {example})") from None
    if isinstance(parsed, BatchCreate):
        return parsed.inputs
    assert isinstance(parsed, RunCreate)
    return [parsed.input]


def _common_fields(raw: Any) -> dict[str, Any]:
    if raw is None:
        return {}
    if not isinstance(raw, str):
        raise ApiProblem(422, "input-invalid", "the form field `input` must be a JSON object")
    try:
        value = json.loads(raw)
    except json.JSONDecodeError as exc:
        raise ApiProblem(
            422,
            "input-invalid",
            f"the form field `input` is not valid JSON ({exc.msg}); send an "
            'object such as {"source": "mailbox"}',
        ) from None
    if not isinstance(value, dict):
        raise ApiProblem(422, "input-invalid", "the form field `input` must be a JSON object")
    if where := nul_location(value, "input"):
        raise ApiProblem(
            422, "nul-character", f"{where} contains a NUL character (\\u0000); remove it"
        )
    return value


async def _upload_inputs(
    request: Request, flow: Flow, documents: DocumentStore, settings: Settings, many: bool
) -> list[tuple[dict[str, Any], bytes]]:
    """Each upload's payload (its `DocumentRef` described, not yet stored) and its bytes."""
    if not accepts_document(flow):
        raise ApiProblem(
            415,
            "upload-not-accepted",
            f"flow {flow.name!r} takes no document; send JSON instead "
            "(its input schema: GET /flows/{flow})".replace("{flow}", flow.name),
        )
    form = await request.form(max_files=_MAX_FILES if many else 1, max_fields=10)
    try:
        files = [value for _, value in form.multi_items() if isinstance(value, UploadFile)]
        if not files:
            field = "files" if many else "file"
            raise ApiProblem(
                422,
                "file-missing",
                f"the multipart body has no file; send the document in the `{field}` "
                "field (curl: -F file=@invoice.pdf)",
            )
        common = _common_fields(form.get("input"))
        uploads = []
        for upload in files:
            data = await upload.read()
            name = upload.filename or "upload"
            if len(data) > settings.max_document_bytes:
                raise ApiProblem(
                    413,
                    "document-too-large",
                    f"{name} is {len(data)} bytes; documents may be at most "
                    f"{settings.max_document_bytes} bytes (BPA_MAX_DOCUMENT_BYTES)",
                )
            ref = await run_in_threadpool(documents.describe, data, name, upload.content_type)
            payload = {**common, "document": ref.model_dump(mode="json")}
            if "source" in flow.input_model.model_fields and "source" not in common:
                payload["source"] = f"upload:{ref.filename}"
            uploads.append((payload, data))
        return uploads
    finally:
        await form.close()


async def read_inputs(
    request: Request,
    flow: Flow,
    documents: DocumentStore,
    settings: Settings,
    *,
    many: bool,
) -> list[dict[str, Any]]:
    """The request's inputs for `flow`, each validated against the flow's input model."""
    media = _media_type(request)
    if media == "multipart/form-data":
        uploads = await _upload_inputs(request, flow, documents, settings, many)
        checked = [
            _check(flow, payload, ("inputs", i) if many else ("input",), None)
            for i, (payload, _) in enumerate(uploads)
        ]
        for payload, data in uploads:  # stored only once every input is valid
            ref = DocumentRef.model_validate(payload["document"])
            await run_in_threadpool(documents.keep, ref, data)
        return checked
    if media in ("", "application/json") or media.endswith("+json"):
        payloads = await _json_inputs(request, many)
    else:
        raise ApiProblem(
            415,
            "media-type-unsupported",
            f"cannot read a {media} body; send application/json "
            "or multipart/form-data with the document",
        )

    def check_all() -> list[dict[str, Any]]:
        if many:
            return [_check(flow, p, ("inputs", i), documents) for i, p in enumerate(payloads)]
        return [_check(flow, payloads[0], ("input",), documents)]

    if not accepts_document(flow):  # nothing to look up in the store
        return check_all()
    return await run_in_threadpool(check_all)


def request_body_openapi(*, many: bool) -> dict[str, Any]:
    """The OpenAPI request body of run (`many=False`) or batch creation: JSON or upload."""
    model = "BatchCreate" if many else "RunCreate"
    file_schema = {"type": "string", "format": "binary"}
    files = (
        {"files": {"type": "array", "items": file_schema, "description": "One document per run"}}
        if many
        else {"file": {**file_schema, "description": "The document (e.g. a PDF)"}}
    )
    return {
        "requestBody": {
            "required": True,
            "content": {
                "application/json": {"schema": {"$ref": f"#/components/schemas/{model}"}},
                "multipart/form-data": {
                    "schema": {
                        "type": "object",
                        "required": list(files),
                        "properties": {
                            **files,
                            "input": {
                                "type": "string",
                                "description": "Other input fields as a JSON object (optional)",
                            },
                        },
                    }
                },
            },
        }
    }
