"""A stand-in OpenAI-compatible server that answers every chat completion after a fixed delay.

It answers the structured-output requests the invoice flow sends, whichever the method
(`json_schema`, `function_calling`, `json_mode`): a classification gets `invoice`, an
extraction gets the invoice's fields, looked up by the invoice number in the document (the
answers file maps numbers to fields), a reading (kind and fields in one answer) gets both.
Anything else gets a line of text. `GET /stats` tells
how many requests of each kind it answered, so a benchmark can count calls per run.

A bare ASGI app on uvicorn (uvloop, httptools), in a process of its own, so that the server's
CPU is not the client's. Started by `start_server`; `python _latency_server.py --help` runs
it alone.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import re
import socket
import subprocess
import sys
import time
import urllib.request
from collections import Counter
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

import orjson

__all__ = ["start_server"]

Scope = dict[str, Any]
Message = dict[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]

_NUMBER = re.compile(r"Invoice No:\s*(\S+)")
_CLASSIFICATION = {"label": "invoice", "confidence": 0.97}


def _schema(request: dict[str, Any]) -> dict[str, Any]:
    fmt = request.get("response_format") or {}
    if fmt.get("type") == "json_schema":
        return dict(fmt["json_schema"]["schema"])
    tools = request.get("tools") or []
    return dict(tools[0]["function"]["parameters"]) if tools else {}


def _text_of(request: dict[str, Any], role: str) -> str:
    return "\n".join(
        str(m.get("content") or "") for m in request.get("messages", []) if m.get("role") == role
    )


class LatencyApp:
    """The ASGI app: one scripted answer per request, after `delay_s`."""

    def __init__(self, delay_s: float, answers: dict[str, Any]) -> None:
        self.delay_s = delay_s
        self.answers = answers
        self.counts: Counter[str] = Counter()
        self.serial = 0

    def answer(self, request: dict[str, Any]) -> tuple[str, Any]:
        schema = _schema(request)
        properties = schema.get("properties") or {}
        if not properties and (request.get("response_format") or {}).get("type") == "json_object":
            shape = _text_of(request, "system")  # JSON mode: the shape is in the instructions
            properties = {"label": {}} if '"label"' in shape else {"data": {}}
            schema = {"shape": shape}
        if "label" in properties:
            return "classify", _CLASSIFICATION
        if "data" in properties:
            found = _NUMBER.search(_text_of(request, "user"))
            fields = self.answers.get(found.group(1) if found else "", {})
            if '"document_type"' in orjson.dumps(schema).decode():  # kind and fields at once
                reading = {"document_type": "invoice", "document_type_confidence": 0.97}
                return "read", {"data": {**reading, "fields": fields}, "confidence": 0.95}
            return "extract", {"data": fields, "confidence": 0.95}
        return "generate", "Thank you for your message."

    def completion(self, request: dict[str, Any], answer: Any) -> bytes:
        self.serial += 1
        content = answer if isinstance(answer, str) else orjson.dumps(answer).decode()
        message: dict[str, Any] = {"role": "assistant", "content": None, "refusal": None}
        tools = request.get("tools") or []
        if tools:
            call = {"name": tools[0]["function"]["name"], "arguments": content}
            message["tool_calls"] = [
                {"id": f"call_{self.serial}", "type": "function", "function": call}
            ]
            finish = "tool_calls"
        else:
            message["content"] = content
            finish = "stop"
        return orjson.dumps(
            {
                "id": f"chatcmpl-{self.serial}",
                "object": "chat.completion",
                "created": int(time.time()),
                "model": request.get("model", "stand-in"),
                "choices": [
                    {"index": 0, "message": message, "finish_reason": finish, "logprobs": None}
                ],
                "usage": {"prompt_tokens": 400, "completion_tokens": 60, "total_tokens": 460},
            }
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return
        body, more = b"", True
        while more:
            message = await receive()
            body += message.get("body", b"")
            more = message.get("more_body", False)
        if scope["path"] == "/stats":
            await _respond(send, 200, orjson.dumps(dict(self.counts)))
            return
        if not scope["path"].endswith("/chat/completions"):
            await _respond(send, 404, b'{"error": {"message": "not found"}}')
            return
        request = orjson.loads(body)
        kind, answer = self.answer(request)
        self.counts[kind] += 1
        await asyncio.sleep(self.delay_s)
        await _respond(send, 200, self.completion(request, answer))


async def _respond(send: Send, status: int, body: bytes) -> None:
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


class Server:
    """The server process, seen from the benchmark."""

    def __init__(self, process: subprocess.Popen[bytes], port: int) -> None:
        self.process = process
        self.port = port

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    def stats(self) -> Counter[str]:
        with urllib.request.urlopen(f"http://127.0.0.1:{self.port}/stats", timeout=10) as reply:
            return Counter(json.loads(reply.read()))


@contextlib.contextmanager
def start_server(delay_s: float, answers: dict[str, Any], workdir: Path) -> Iterator[Server]:
    """Run the server in a child process on a socket bound here (no port race)."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(2048)
    port = sock.getsockname()[1]
    answers_file = workdir / "answers.json"
    answers_file.write_bytes(orjson.dumps(answers))
    argv = [sys.executable, __file__, "--fd", str(sock.fileno()), "--delay", str(delay_s)]
    argv += ["--answers", str(answers_file)]
    process = subprocess.Popen(argv, pass_fds=[sock.fileno()])
    sock.close()
    server = Server(process, port)
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                server.stats()
                break
            except OSError:
                if time.monotonic() > deadline or process.poll() is not None:
                    raise RuntimeError("the latency server did not start") from None
                time.sleep(0.05)
        yield server
    finally:
        process.terminate()
        process.wait(timeout=10)


def main() -> None:
    import uvicorn

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--fd", type=int, help="serve on this inherited listening socket")
    parser.add_argument("--port", type=int, default=8765, help="else on this port")
    parser.add_argument("--delay", type=float, default=0.25, help="seconds before each answer")
    parser.add_argument("--answers", type=Path, help="JSON: invoice number -> fields")
    args = parser.parse_args()
    answers = orjson.loads(args.answers.read_bytes()) if args.answers else {}
    config = uvicorn.Config(
        LatencyApp(args.delay, answers),
        host="127.0.0.1",
        port=args.port,
        loop="uvloop",
        http="httptools",
        lifespan="off",
        log_level="warning",
        access_log=False,
        backlog=2048,
        timeout_keep_alive=60,
    )
    # Not uvicorn's `fd=`: it takes the socket for a Unix one and leaves Nagle on (40 ms
    # stalls on every answer, with delayed ACKs).
    sockets = [socket.socket(fileno=args.fd)] if args.fd is not None else None
    uvicorn.Server(config).run(sockets=sockets)


if __name__ == "__main__":
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    main()
