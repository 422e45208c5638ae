"""An app over the toy suite, driven in-process through httpx's ASGI transport, with a worker
beside it.

The app never executes a run: in production `bpa worker` processes do. Here an executor on
the test's event loop plays that worker (`with_worker`), so that runs the app queues are
executed and the app sees them move on through the database, as it would.
"""

from __future__ import annotations

import asyncio
import sys
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

HERE = Path(__file__).parent

sys.path.insert(0, str(HERE))  # the real `api` package was imported by tests/conftest.py

from toys import toy_suite  # noqa: E402

from api import create_app  # noqa: E402
from api.app import OpenSuite  # noqa: E402
from api.services import Services  # noqa: E402
from bpa.auth import Role  # noqa: E402
from bpa.config import Settings  # noqa: E402
from bpa.executor import Executor  # noqa: E402
from bpa.suite import Suite  # noqa: E402

PROBLEM = "application/problem+json"


@asynccontextmanager
async def running_worker(suite: Suite) -> AsyncIterator[Executor]:
    """What `bpa worker` does, on this event loop: executes the suite's queued runs."""
    executor = Executor(suite.runner, concurrency=4, poll_interval=0.02, grace=1.0)
    await executor.start()
    try:
        yield executor
    finally:
        await executor.stop()


def with_worker(open_suite: OpenSuite) -> OpenSuite:
    """`open_suite`, with a worker running beside the app once the app's lifespan opened the
    suite, until it closes it. Test code: it works however the app is driven (httpx, a
    TestClient, schemathesis, uvicorn)."""

    @asynccontextmanager
    async def open_with_worker(settings: Settings) -> AsyncIterator[Suite]:
        async with open_suite(settings) as suite, running_worker(suite):
            yield suite

    return open_with_worker


@pytest.fixture
def api_settings(tmp_path: Path) -> Settings:
    return Settings(home=tmp_path / "home", executor_poll_s=0.05, max_document_bytes=50_000)


@pytest.fixture
def app(api_settings: Settings) -> FastAPI:
    return create_app(api_settings, open_suite=with_worker(toy_suite))


@pytest.fixture
async def client(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
        async with httpx.AsyncClient(transport=transport, base_url="http://bpa.test") as c:
            yield c


def services(app: FastAPI) -> Services:
    found: Services = app.state.services
    return found


@pytest.fixture
def make_key(app: FastAPI, client: httpx.AsyncClient) -> Callable[[Role], dict[str, str]]:
    """Creates a key with a role; returns the header that presents it."""

    def make(role: Role) -> dict[str, str]:
        _record, secret = services(app).keys.create(role, name=f"{role.value} key")
        return {"Authorization": f"Bearer {secret}"}

    return make


def assert_problem(response: httpx.Response, status: int, *words: str) -> dict[str, Any]:
    """The response is an RFC 9457 problem with this status whose detail says `words`."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith(PROBLEM)
    body = response.json()
    assert body["status"] == status
    assert body["type"].startswith("urn:bpa:problem:")
    assert body["title"] and body["instance"] == response.request.url.path
    for word in words:
        assert word in body["detail"], body["detail"]
    return body


async def settle(client: httpx.AsyncClient, run_id: str, timeout: float = 10) -> dict[str, Any]:
    """Poll until the run finished or waits for a human."""
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        run = (await client.get(f"/runs/{run_id}")).json()
        if run["status"] not in ("queued", "running"):
            return run
        assert asyncio.get_running_loop().time() < deadline, run
        await asyncio.sleep(0.02)
