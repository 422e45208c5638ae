"""`GET /runs/{id}/stream` of a waiting run follows it until it finishes, whoever answers it,
and stops following as soon as the client leaves."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import httpx
from conftest import services
from fastapi import FastAPI

from api.streaming import RunFollower
from bpa.runs.store import RunStore
from bpa.runs.tables import Run, RunEvent


def sse(text: str) -> list[tuple[str, dict[str, Any]]]:
    events = []
    for block in text.strip().split("\n\n"):
        fields = dict(
            line.split(": ", 1) for line in block.splitlines() if line and not line.startswith(":")
        )
        if "event" in fields:
            events.append((fields["event"], json.loads(fields["data"])))
    return events


async def _waiting(client: httpx.AsyncClient) -> str:
    run = (await client.post("/flows/toy/runs/wait", json={"input": {"amount": 60}})).json()
    assert run["status"] == "waiting", run
    return str(run["id"])


async def test_a_waiting_run_answered_elsewhere_streams_on_to_its_end(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    """The answer comes from another process (`bpa approve` resumes the run itself): the
    stream sees it through the database and carries on."""
    run_id = await _waiting(client)
    joined = asyncio.create_task(client.get(f"/runs/{run_id}/stream"))
    await asyncio.sleep(1.0)  # several of the follower's longest pauses
    assert not joined.done(), "the stream of a waiting run closed"

    await services(app).suite.runner.resume(run_id, {"action": "approve"}, by="dana")

    events = sse((await asyncio.wait_for(joined, 10)).text)
    kinds = [kind for kind, _ in events]
    assert kinds.index("waiting") < kinds.index("resumed") < kinds.index("run_finished")
    assert kinds[-1] == "run" and kinds.count("run") == 1
    assert events[-1][1]["status"] == "succeeded"


class _CountingStore:
    """The run store, counting the follower's reads."""

    def __init__(self, store: RunStore) -> None:
        self.store = store
        self.reads = 0

    def get(self, run_id: str) -> Run:
        self.reads += 1
        return self.store.get(run_id)

    def events(self, run_id: str, **kwargs: Any) -> list[RunEvent]:
        return self.store.events(run_id, **kwargs)


async def test_the_stream_stops_following_when_the_client_leaves(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    run_id = await _waiting(client)
    counting = _CountingStore(services(app).suite.store)
    services(app).follower = RunFollower(counting, first_pause_s=0.01, max_pause_s=0.01)  # type: ignore[arg-type]

    got_events = asyncio.Event()
    asked = False

    async def receive() -> dict[str, Any]:
        nonlocal asked
        if not asked:
            asked = True
            return {"type": "http.request", "body": b"", "more_body": False}
        await got_events.wait()
        return {"type": "http.disconnect"}  # the client goes away

    async def send(message: dict[str, Any]) -> None:
        if message["type"] == "http.response.body" and b"event: waiting" in message.get(
            "body", b""
        ):
            got_events.set()

    scope = {
        "type": "http",
        "asgi": {"version": "3.0", "spec_version": "2.3"},
        "http_version": "1.1",
        "method": "GET",
        "scheme": "http",
        "path": f"/runs/{run_id}/stream",
        "raw_path": f"/runs/{run_id}/stream".encode(),
        "root_path": "",
        "query_string": b"",
        "headers": [(b"host", b"bpa.test")],
        "client": ("127.0.0.1", 50000),
        "server": ("bpa.test", 80),
    }
    await asyncio.wait_for(app(scope, receive, send), 5)  # the response ends with the client

    assert got_events.is_set()
    reads = counting.reads
    await asyncio.sleep(0.2)  # twenty of its pauses
    assert counting.reads == reads, "the run is still followed after its client left"
