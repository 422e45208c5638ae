"""The HTTP API over the suite the settings describe, for tests outside tests/api.

The `api` package is the real one, not the tests/api folder: tests/conftest.py imports it
before any test module.
"""

from __future__ import annotations

import importlib
from collections.abc import AsyncIterator
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import Any

import httpx

from bpa.config import Settings
from bpa.suite import Suite


def api_module(name: str = "api") -> Any:
    """A module of the `api` package (`api.metrics`, ...)."""
    return importlib.import_module(name)


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
