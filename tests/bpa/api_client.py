"""The HTTP API over the suite the settings describe, for tests outside tests/api.

pytest puts tests/ on sys.path, where the `api/` test folder would be taken for a namespace
package named `api` (see tests/api/conftest.py): the package itself is imported without it.
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import AsyncIterator
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from pathlib import Path
from typing import Any

import httpx

from bpa.config import Settings
from bpa.suite import Suite

_TESTS = str(Path(__file__).resolve().parents[1])


def api_module(name: str = "api") -> Any:
    """A module of the `api` package (`api.metrics`, ...)."""
    if getattr(sys.modules.get("api"), "__file__", "") is None:  # that namespace package
        del sys.modules["api"]
    saved = list(sys.path)
    sys.path[:] = [p for p in sys.path if not p.startswith(_TESTS)]
    try:
        return importlib.import_module(name)
    finally:
        sys.path[:] = saved


def _open_suite(settings: Settings) -> AbstractAsyncContextManager[Suite]:
    return Suite.open(settings, preload_flows=False)  # installed flows load only when used


@asynccontextmanager
async def api_client(settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    """A client of the app `bpa serve` runs (no API key: loopback clients are let in)."""
    app = api_module().create_app(settings, open_suite=_open_suite)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://bpa.test") as client:
            yield client
