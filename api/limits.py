"""A cap on request bodies, checked from Content-Length and again while the body streams in.

Pure ASGI, so an oversized upload is refused before it is read (declared length) or as soon
as it passes the limit (chunked or lying clients), never buffered whole.
"""

from __future__ import annotations

from starlette.datastructures import Headers
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.problems import problem_response

__all__ = ["BodySizeLimit", "RequestTooLarge"]


def _too_large_detail(limit: int, size: int | None) -> str:
    got = f"{size} bytes" if size is not None else "more than that"
    return (
        f"the request body is {got}; this server accepts at most {limit} bytes "
        "(setting BPA_API_MAX_REQUEST_BYTES). Send a smaller file, or split a batch."
    )


class RequestTooLarge(HTTPException):
    """Raised from `receive` once the streamed body passes the limit.

    An `HTTPException`, so FastAPI passes it through its body parsing unchanged and the
    problem handler answers 413.
    """

    def __init__(self, limit: int, size: int | None = None) -> None:
        super().__init__(status_code=413, detail=_too_large_detail(limit, size))


class BodySizeLimit:
    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = Headers(scope=scope).get("content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.max_bytes:
            response = problem_response(
                Request(scope),
                413,
                "request-too-large",
                _too_large_detail(self.max_bytes, int(declared)),
            )
            await response(scope, receive, send)
            return

        seen = 0
        started = False

        async def limited_receive() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.max_bytes:
                    raise RequestTooLarge(self.max_bytes)
            return message

        async def tracking_send(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, limited_receive, tracking_send)
        except RequestTooLarge as exc:
            if started:
                raise
            response = problem_response(Request(scope), 413, "request-too-large", str(exc.detail))
            await response(scope, receive, send)
