"""The web console under test: in-process over httpx (fast, with the toy flows of
tests/api/toys.py), and served by uvicorn to a real headless Chromium (the installed flows)."""

from __future__ import annotations

import socket
import sys
import threading
import time
from collections.abc import AsyncIterator, Callable, Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import pytest
from console_support import REPO, Served, services, with_worker
from fastapi import FastAPI

from api import create_app
from bpa.auth import ApiKeyStore, Role
from bpa.config import Settings
from bpa.db import create_schema, open_engine
from bpa.suite import Suite

sys.path.insert(0, str(Path(__file__).parents[1] / "api"))
from toys import toy_suite


@pytest.fixture
def app(tmp_path: Path) -> FastAPI:
    settings = Settings(home=tmp_path / "home", executor_poll_s=0.05, max_document_bytes=50_000)
    return create_app(settings, open_suite=with_worker(toy_suite))


@pytest.fixture
async def client(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
        async with httpx.AsyncClient(transport=transport, base_url="http://bpa.test") as c:
            yield c


@pytest.fixture
def make_key(app: FastAPI, client: httpx.AsyncClient) -> Callable[[Role], str]:
    """Creates a key with a role (named after it); returns the secret."""

    def make(role: Role) -> str:
        return services(app).keys.create(role, name=f"{role.value} person")[1]

    return make


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    """`bpa serve`'s app with the installed flows on a free loopback port, a worker beside
    it, and a key for each role. Invoices above 1000 wait for a human."""
    import uvicorn

    home = tmp_path_factory.mktemp("console") / "home"
    settings = Settings(
        home=home,
        fixtures_dir=REPO / "fixtures",
        executor_poll_s=0.05,
        invoice_approval_threshold=Decimal("1000"),
    )
    settings.ensure_home()
    engine = open_engine(settings)
    create_schema(engine)
    store = ApiKeyStore(engine)
    keys = {role: store.create(role, f"{role.value}-ann")[1] for role in Role}
    engine.dispose()

    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    app = create_app(settings, open_suite=with_worker(Suite.open))
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="on"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 90
    while not server.started:
        assert thread.is_alive() and time.monotonic() < deadline, "server did not start"
        time.sleep(0.05)
    base_url = f"http://127.0.0.1:{port}"
    try:
        with httpx.Client(base_url=base_url, timeout=60) as api:
            yield Served(base_url, keys, settings, api)
    finally:
        server.should_exit = True
        thread.join(timeout=30)
        sock.close()


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Any:
    """Remember each phase's outcome on the test, so a fixture can keep a failure's
    screenshot."""
    report = yield
    setattr(item, f"report_{report.when}", report)
    return report
