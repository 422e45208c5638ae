"""One rule for text in requests: no NUL characters, anywhere.

No store this suite writes to keeps a NUL in text (PostgreSQL refuses it outright), and no
name, id, filter or message needs one. So a NUL in the path, the query, a header or a JSON
body is refused here with a 422 that says where, before any route sees the request, rather
than failing deep inside as a 500 or a run that fails as `internal_error`. File uploads
(multipart) are binary and pass; their text fields are checked where they are read.
"""

from __future__ import annotations

import json
from urllib.parse import unquote_to_bytes

from starlette.datastructures import Headers
from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.problems import problem_response
from bpa.nul import nul_location

__all__ = ["NulGuard", "nul_location"]

_ESCAPED_NUL = (b"\\u0000", b"\\U0000")


def _is_json(headers: Headers) -> bool:
    media = headers.get("content-type", "").split(";")[0].strip().lower()
    return media == "application/json" or media.endswith("+json")


def _head_problem(scope: Scope) -> str | None:
    if "\x00" in scope.get("path", "") or b"\x00" in unquote_to_bytes(scope.get("raw_path", b"")):
        return "the URL path"
    if b"\x00" in unquote_to_bytes(scope.get("query_string", b"")):
        return "the query string"
    for name, value in scope.get("headers", []):
        if b"\x00" in value:
            return f"the {name.decode('latin-1')} header"
    return None


class NulGuard:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def _refuse(self, scope: Scope, receive: Receive, send: Send, where: str) -> None:
        response = problem_response(
            Request(scope),
            422,
            "nul-character",
            f"{where} contains a NUL character (\\u0000), which no field accepts; remove it "
            "and send the request again",
        )
        await response(scope, receive, send)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        where = _head_problem(scope)
        if where:
            await self._refuse(scope, receive, send, where)
            return
        if not _is_json(Headers(scope=scope)):
            await self.app(scope, receive, send)
            return
        # A JSON body is small (the body limit runs first): read it, check it, hand it on.
        chunks: list[bytes] = []
        while True:
            message = await receive()
            if message["type"] != "http.request":
                await self.app(scope, _replay([message]), send)
                return
            chunks.append(message.get("body", b""))
            if not message.get("more_body", False):
                break
        body = b"".join(chunks)
        if b"\x00" in body or any(marker in body for marker in _ESCAPED_NUL):
            try:
                where = nul_location(json.loads(body)) or None
            except (ValueError, UnicodeDecodeError):
                where = "body" if b"\x00" in body else None  # invalid JSON: the route says so
            if where:
                await self._refuse(scope, receive, send, where)
                return
        await self.app(scope, _replay([{"type": "http.request", "body": body}], receive), send)


def _replay(messages: list[Message], then: Receive | None = None) -> Receive:
    """A `receive` that gives the messages already read, then defers to the real one."""
    pending = list(messages)

    async def receive() -> Message:
        if pending:
            return pending.pop(0)
        if then is None:
            return {"type": "http.disconnect"}
        return await then()

    return receive
