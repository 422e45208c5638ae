"""What the console tests share (a module of its own: test modules import it by name, which
they cannot do with a conftest when several test folders have one).

The app never executes runs; here an executor on the server's event loop plays the worker
(`bpa worker` in production), so the runs the console queues move on as they would.
"""

from __future__ import annotations

import importlib
import shutil
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
from fastapi import FastAPI

HERE = Path(__file__).parent
REPO = HERE.parents[1]
SCREENSHOTS = REPO / "build" / "screenshots"
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")

# the real `api` package, not tests/api: imported first by tests/conftest.py

from api.app import OpenSuite  # noqa: E402
from api.services import Services  # noqa: E402
from bpa.auth import Role  # noqa: E402
from bpa.config import Settings  # noqa: E402
from bpa.executor import Executor  # noqa: E402
from bpa.suite import Suite  # noqa: E402

__all__ = [
    "CHROMIUM",
    "REPO",
    "SCREENSHOTS",
    "Served",
    "browser_missing",
    "services",
    "with_worker",
]


def with_worker(open_suite: OpenSuite) -> OpenSuite:
    @asynccontextmanager
    async def open_with_worker(settings: Settings) -> AsyncIterator[Suite]:
        async with open_suite(settings) as suite:
            executor = Executor(suite.runner, concurrency=4, poll_interval=0.02, grace=1.0)
            await executor.start()
            try:
                yield suite
            finally:
                await executor.stop()

    return open_with_worker


def services(app: FastAPI) -> Services:
    found: Services = app.state.services
    return found


def browser_missing() -> str | None:
    """Why the browser tests cannot run here (None: they can)."""
    if CHROMIUM is None:
        return "no Chromium on this machine (Debian: apt-get install chromium; .ci/run does)"
    try:
        importlib.import_module("playwright.sync_api")
    except ImportError:
        return "the playwright package is not installed (pip install -e '.[dev]')"
    return None


@dataclass
class Served:
    """The console served over HTTP, a key per role, and an API client for set-up."""

    base_url: str
    keys: dict[Role, str]
    settings: Settings
    api: httpx.Client

    def headers(self, role: Role) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.keys[role]}"}

    def settle(self, run_id: str, timeout: float = 60) -> dict[str, Any]:
        """The run once it finished or waits for a human."""
        deadline = time.monotonic() + timeout
        while True:
            run: dict[str, Any] = self.api.get(
                f"/runs/{run_id}", headers=self.headers(Role.viewer)
            ).json()
            if run["status"] not in ("queued", "running"):
                return run
            assert time.monotonic() < deadline, run
            time.sleep(0.1)
