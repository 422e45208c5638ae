"""Every error the API returns is `application/problem+json` (RFC 9457) saying what to fix.

Domain errors (unknown run, wrong state, bad decision, reused idempotency key) are raised by
the engine and mapped here in one place; routes raise `ApiProblem` for their own refusals.
An unexpected exception is logged with a reference the client also gets.
"""

from __future__ import annotations

import logging
import secrets
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field
from starlette.exceptions import HTTPException as StarletteHTTPException

from bpa.auth import KeyNotFound
from bpa.errors import (
    FlowVersionMismatch,
    IdempotencyConflict,
    InvalidDecision,
    InvalidInput,
    RunNotFound,
    RunStateError,
)
from bpa.runs.runner import UnknownFlow

__all__ = [
    "PROBLEM_JSON",
    "ApiProblem",
    "Problem",
    "install_problem_handlers",
    "problem_response",
    "problem_responses",
]

PROBLEM_JSON = "application/problem+json"
log = logging.getLogger("bpa.api")

_TITLES = {
    400: "Bad request",
    401: "Authentication required",
    403: "Forbidden",
    404: "Not found",
    405: "Method not allowed",
    406: "Not acceptable",
    409: "Conflict",
    413: "Content too large",
    415: "Unsupported media type",
    422: "Unprocessable content",
    500: "Internal server error",
    503: "Service unavailable",
}


class Problem(BaseModel):
    """RFC 9457 problem details; extension members (e.g. `errors`) may follow."""

    model_config = ConfigDict(extra="allow")

    type: str = Field(description="A URI naming the kind of problem")
    title: str = Field(description="Short summary of the kind of problem")
    status: int = Field(description="The HTTP status code")
    detail: str = Field(description="What went wrong here, and what to do about it")
    instance: str = Field(description="The request path the problem occurred at")


class ApiProblem(Exception):
    """A refusal a route raises on purpose; becomes a problem response."""

    def __init__(
        self,
        status: int,
        slug: str,
        detail: str,
        *,
        title: str | None = None,
        headers: dict[str, str] | None = None,
        **extensions: Any,
    ) -> None:
        super().__init__(detail)
        self.status = status
        self.slug = slug
        self.detail = detail
        self.title = title
        self.headers = headers
        self.extensions = extensions


def problem_response(
    request: Request,
    status: int,
    slug: str,
    detail: str,
    *,
    title: str | None = None,
    headers: dict[str, str] | None = None,
    **extensions: Any,
) -> JSONResponse:
    body = {
        "type": f"urn:bpa:problem:{slug}",
        "title": title or _TITLES.get(status, "Error"),
        "status": status,
        "detail": detail,
        "instance": request.url.path,
        **extensions,
    }
    return JSONResponse(body, status_code=status, media_type=PROBLEM_JSON, headers=headers)


def problem_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI `responses` entries for the problems a route can answer with."""
    schema = {"$ref": "#/components/schemas/Problem"}
    return {
        status: {
            "description": _TITLES.get(status, "Error"),
            "content": {PROBLEM_JSON: {"schema": schema}},
        }
        for status in statuses
    }


def _location(loc: tuple[Any, ...] | list[Any]) -> str:
    return ".".join(str(part) for part in loc) or "body"


def validation_detail(errors: list[dict[str, Any]], what: str = "the request") -> str:
    shown = "; ".join(f"{_location(e.get('loc', ()))}: {e.get('msg')}" for e in errors[:5])
    more = f" (and {len(errors) - 5} more)" if len(errors) > 5 else ""
    return f"{what} is invalid: {shown}{more}"


def public_errors(errors: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [
        {
            "loc": [str(p) for p in e.get("loc", ())],
            "msg": str(e.get("msg")),
            "type": str(e.get("type")),
        }
        for e in errors
    ]


async def _api_problem(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, ApiProblem)
    return problem_response(
        request,
        exc.status,
        exc.slug,
        exc.detail,
        title=exc.title,
        headers=exc.headers,
        **exc.extensions,
    )


async def _validation(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    errors = list(exc.errors())
    return problem_response(
        request, 422, "request-invalid", validation_detail(errors), errors=public_errors(errors)
    )


async def _http(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    status = exc.status_code
    detail = str(exc.detail)
    if status == 404 and detail == "Not Found":
        detail = f"no such path {request.url.path!r}; the API is described at /docs"
    elif status == 405:
        detail = f"{request.method} is not allowed on {request.url.path}; see /docs"
    elif status == 400 and detail == "There was an error parsing the body":
        detail = "the body could not be read; send UTF-8 JSON (or multipart/form-data uploads)"
    slug = {
        400: "request-unreadable",
        404: "not-found",
        405: "method-not-allowed",
        413: "request-too-large",
    }.get(status, f"http-{status}")
    return problem_response(
        request, status, slug, detail, headers=dict(exc.headers) if exc.headers else None
    )


def _mapped(status: int, slug: str, title: str) -> Any:
    async def handler(request: Request, exc: Exception) -> JSONResponse:
        return problem_response(request, status, slug, str(exc), title=title)

    return handler


async def _run_not_found(request: Request, exc: Exception) -> JSONResponse:
    message = str(exc)
    if not message.startswith("no run"):
        message = f"no run with id {message!r}"
    message = message.split(";")[0] + "; GET /runs lists the runs"
    return problem_response(request, 404, "run-not-found", message, title="Run not found")


async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
    reference = secrets.token_hex(6)
    log.exception(
        "unhandled error on %s %s (ref %s)",
        request.method,
        request.url.path,
        reference,
        exc_info=exc,
    )
    return problem_response(
        request,
        500,
        "internal-error",
        f"the server failed unexpectedly; nothing you sent is known to be wrong. "
        f"Retry later, or report reference {reference} (it is in the server log).",
        reference=reference,
    )


def install_problem_handlers(app: FastAPI) -> None:
    app.add_exception_handler(ApiProblem, _api_problem)
    app.add_exception_handler(RequestValidationError, _validation)
    app.add_exception_handler(StarletteHTTPException, _http)
    app.add_exception_handler(RunNotFound, _run_not_found)
    app.add_exception_handler(UnknownFlow, _mapped(404, "flow-not-found", "Flow not found"))
    app.add_exception_handler(KeyNotFound, _mapped(404, "key-not-found", "API key not found"))
    app.add_exception_handler(
        RunStateError, _mapped(409, "run-state-conflict", "Run is not in a state that allows this")
    )
    app.add_exception_handler(
        FlowVersionMismatch,
        _mapped(409, "flow-version-incompatible", "The installed flow cannot resume this run"),
    )
    app.add_exception_handler(
        InvalidDecision, _mapped(422, "decision-invalid", "Decision does not answer the question")
    )
    app.add_exception_handler(
        InvalidInput, _mapped(422, "input-invalid", "The input does not fit the flow")
    )
    app.add_exception_handler(
        IdempotencyConflict,
        _mapped(422, "idempotency-key-reused", "Idempotency key reused with a different request"),
    )
    app.add_exception_handler(Exception, _unexpected)
