"""A local OpenAI-compatible chat-completions server for tests: scripted replies, recorded requests.

The OpenAI backend is tested against real HTTP, through the real `openai` client, so that
what we check is what a vLLM, Ollama or OpenAI endpoint would see and send. A test queues
the replies it wants (`server.reply(...)`), runs the code under test, then reads
`server.requests` to check what was sent. Nothing leaves 127.0.0.1.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import threading
import time
from collections import deque
from dataclasses import dataclass, field, replace
from typing import Any

import uvicorn
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

__all__ = ["FakeOpenAIServer", "RecordedRequest", "Reply"]


@dataclass(frozen=True)
class Reply:
    """One scripted answer to one `POST /v1/chat/completions`.

    `answer` is what the model "says": a dict or list is sent as JSON, a string verbatim
    (so a test can send broken JSON). Where it goes depends on the request, as with a real
    server: as a tool call when the request offers `tools`, else as the message content.
    """

    answer: Any = None
    #: Force the answer into the message content even when tools were offered.
    as_content: bool = False
    status: int = 200
    error_body: dict[str, Any] | None = None
    headers: dict[str, str] = field(default_factory=dict)
    delay_s: float = 0.0
    prompt_tokens: int = 21
    completion_tokens: int = 8
    finish_reason: str | None = None
    #: The model declines to answer: a refusal instead of content.
    refusal: str | None = None
    #: Tool calls to make, by name: (tool name, arguments; a str is sent verbatim).
    calls: tuple[tuple[str, Any], ...] = ()

    @classmethod
    def structured(cls, answer: Any, **usage: int) -> Reply:
        return cls(answer=answer, **usage)  # type: ignore[arg-type]

    @classmethod
    def text(cls, text: str, **usage: int) -> Reply:
        return cls(answer=text, as_content=True, **usage)  # type: ignore[arg-type]

    @classmethod
    def tool_calls(cls, *calls: tuple[str, Any], **usage: int) -> Reply:
        """The model calls these tools (a planner's round), in this order."""
        return cls(calls=tuple(calls), **usage)  # type: ignore[arg-type]

    @classmethod
    def refused(cls, why: str) -> Reply:
        return cls(refusal=why)

    @classmethod
    def http_error(cls, status: int, *, retry_after_ms: int | None = 10) -> Reply:
        """A 429 / 5xx; `retry-after-ms` keeps the client's back-off short in tests."""
        headers = {} if retry_after_ms is None else {"retry-after-ms": str(retry_after_ms)}
        body = {"error": {"message": f"scripted {status}", "type": "server_error", "code": None}}
        return cls(status=status, error_body=body, headers=headers)

    @classmethod
    def slow(cls, delay_s: float, then: Reply | None = None) -> Reply:
        """Answers only after `delay_s` seconds (or never, if the server stops first)."""
        return replace(then or cls(answer="{}"), delay_s=delay_s)


@dataclass(frozen=True)
class RecordedRequest:
    """A request the server received, as the client sent it."""

    body: dict[str, Any]
    headers: dict[str, str]

    @property
    def messages(self) -> list[dict[str, Any]]:
        return list(self.body.get("messages", []))

    def message(self, role: str) -> list[str]:
        return [str(m.get("content")) for m in self.messages if m.get("role") == role]

    @property
    def response_format(self) -> dict[str, Any] | None:
        return self.body.get("response_format")

    @property
    def tools(self) -> list[dict[str, Any]]:
        return list(self.body.get("tools") or [])


def _completion(request: dict[str, Any], reply: Reply, serial: int) -> dict[str, Any]:
    answer = reply.answer
    rendered = answer if isinstance(answer, str) else json.dumps(answer)
    message: dict[str, Any] = {"role": "assistant", "content": None, "refusal": None}
    tools = request.get("tools") or []
    if reply.refusal is not None:
        message["refusal"] = reply.refusal
        finish = "stop"
    elif reply.calls:
        message["tool_calls"] = [
            {
                "id": f"call_{serial}_{n}",
                "type": "function",
                "function": {
                    "name": name,
                    "arguments": args if isinstance(args, str) else json.dumps(args),
                },
            }
            for n, (name, args) in enumerate(reply.calls)
        ]
        finish = "tool_calls"
    elif tools and not reply.as_content:
        name = tools[0]["function"]["name"]
        message["tool_calls"] = [
            {
                "id": f"call_{serial}",
                "type": "function",
                "function": {"name": name, "arguments": rendered},
            }
        ]
        finish = "tool_calls"
    else:
        message["content"] = rendered
        finish = "stop"
    return {
        "id": f"chatcmpl-fake-{serial}",
        "object": "chat.completion",
        "created": int(time.time()),
        "model": request.get("model", "fake-model"),
        "choices": [
            {
                "index": 0,
                "message": message,
                "finish_reason": reply.finish_reason or finish,
                "logprobs": None,
            }
        ],
        "usage": {
            "prompt_tokens": reply.prompt_tokens,
            "completion_tokens": reply.completion_tokens,
            "total_tokens": reply.prompt_tokens + reply.completion_tokens,
        },
    }


class FakeOpenAIServer:
    """Serves the scripted replies on a free 127.0.0.1 port from a background thread."""

    def __init__(self) -> None:
        self.requests: list[RecordedRequest] = []
        self._replies: deque[Reply] = deque()
        self._lock = threading.Lock()
        self._serial = itertools.count(1)
        self._loop: asyncio.AbstractEventLoop | None = None
        self._release: asyncio.Event | None = None
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None
        self.port = 0

    # -- what a test uses -------------------------------------------------------------
    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    def reply(self, *replies: Reply) -> None:
        with self._lock:
            self._replies.extend(replies)

    @property
    def pending(self) -> int:
        with self._lock:
            return len(self._replies)

    def reset(self) -> None:
        with self._lock:
            self._replies.clear()
            self.requests.clear()

    # -- the app --------------------------------------------------------------------
    def _next(self) -> Reply | None:
        with self._lock:
            return self._replies.popleft() if self._replies else None

    def _app(self) -> FastAPI:
        app = FastAPI()

        @app.post("/v1/chat/completions")
        async def chat_completions(request: Request) -> JSONResponse:
            body = await request.json()
            self.requests.append(RecordedRequest(body=body, headers=dict(request.headers)))
            reply = self._next()
            if reply is None:
                error = {"error": {"message": "fake server: no scripted reply left"}}
                return JSONResponse(error, status_code=500, headers={"x-should-retry": "false"})
            if reply.delay_s and self._release is not None:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._release.wait(), reply.delay_s)
            if reply.status != 200:
                return JSONResponse(
                    reply.error_body or {}, status_code=reply.status, headers=reply.headers
                )
            return JSONResponse(_completion(body, reply, next(self._serial)), headers=reply.headers)

        return app

    # -- life cycle -----------------------------------------------------------------
    def start(self) -> FakeOpenAIServer:
        config = uvicorn.Config(
            self._app(), host="127.0.0.1", port=0, log_level="warning", lifespan="off"
        )
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self._run, name="fake-openai", daemon=True)
        self._thread.start()
        deadline = time.monotonic() + 10
        while not self._server.started:
            if time.monotonic() > deadline or not self._thread.is_alive():
                raise RuntimeError("the fake OpenAI server did not start")
            time.sleep(0.005)
        self.port = self._server.servers[0].sockets[0].getsockname()[1]
        return self

    def _run(self) -> None:
        assert self._server is not None

        async def serve() -> None:
            self._loop = asyncio.get_running_loop()
            self._release = asyncio.Event()
            assert self._server is not None
            await self._server.serve()

        asyncio.run(serve())

    def stop(self) -> None:
        if self._server is None or self._thread is None:
            return
        if self._loop is not None and self._release is not None:
            self._loop.call_soon_threadsafe(self._release.set)
        self._server.should_exit = True
        self._thread.join(timeout=10)
