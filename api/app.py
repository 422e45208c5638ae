"""The FastAPI app factory. Nothing is built at import; everything at start-up (lifespan).

`create_app()` is what `bpa serve` runs (settings from the environment). Tests pass
`open_suite` (a suite with toy flows), so they exercise the same app without the installed
plug-ins.

The app does I/O only: it validates and records runs, tells workers about them, and reads
them back from the database. Flows execute in worker processes (`bpa worker`).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, AsyncExitStack, asynccontextmanager
from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi
from pydantic import BaseModel

from api.access_log import install_access_log_redaction
from api.limits import BodySizeLimit
from api.metrics import ApiMetrics
from api.notify import PgChangeFeed, RedisChangeFeed, listen_url
from api.problems import Problem, install_problem_handlers, problem_responses
from api.routes import (
    audit,
    batches,
    connectors,
    flows,
    health,
    keys,
    runs,
    schedules,
    start,
    vendors,
)
from api.schemas import BatchCreate, RunCreate
from api.services import Services
from api.streaming import RunFollower
from api.text_guard import NulGuard
from api.ui import install_console
from bpa.auth import ApiKeyStore
from bpa.config import Settings
from bpa.db import redis_feed_url
from bpa.dispatch import make_dispatcher
from bpa.suite import Suite

__all__ = ["OpenSuite", "create_app"]

OpenSuite = Callable[[Settings], AbstractAsyncContextManager[Suite]]

_DESCRIPTION = """Run business flows (invoices, customer service, sales operations) with
approvals and an audit trail.

Start runs in the background, wait for them, or stream their events; answer the questions
waiting runs ask; follow batches and schedules. Runs execute in worker processes; this API
records them and reads them back. Authenticate with `Authorization: Bearer <key>` or
`X-API-Key` (keys from `bpa keys create`). Errors are `application/problem+json`.
"""

#: Request bodies the routes read themselves (JSON or upload), named in the OpenAPI document.
_EXTRA_SCHEMAS: tuple[type[BaseModel], ...] = (Problem, RunCreate, BatchCreate)


def _openapi(app: FastAPI) -> Callable[[], dict[str, Any]]:
    def build() -> dict[str, Any]:
        if app.openapi_schema is None:
            schema = get_openapi(
                title=app.title, version=app.version, description=app.description, routes=app.routes
            )
            components = schema.setdefault("components", {}).setdefault("schemas", {})
            for model in _EXTRA_SCHEMAS:
                body = model.model_json_schema(ref_template="#/components/schemas/{model}")
                for name, definition in body.pop("$defs", {}).items():
                    components.setdefault(name, definition)
                components.setdefault(model.__name__, body)
            app.openapi_schema = schema
        return app.openapi_schema

    return build


async def _follower(settings: Settings, suite: Suite, stack: AsyncExitStack) -> RunFollower:
    """Followers hear of changes on PostgreSQL (LISTEN/NOTIFY) or, on another database with a
    Redis broker, through Redis pub/sub (api/notify.py), so they can look less often;
    otherwise they poll."""
    feed: PgChangeFeed | RedisChangeFeed
    conninfo = listen_url(str(suite.engine.url.render_as_string(hide_password=False)))
    if conninfo is not None:
        feed = PgChangeFeed(conninfo)
    elif (redis_url := redis_feed_url(settings, suite.engine)) is not None:
        feed = RedisChangeFeed(redis_url)
    else:
        return RunFollower(suite.store)
    await stack.enter_async_context(feed.running())
    return RunFollower(suite.store, feed, max_pause_s=2.0)


def create_app(settings: Settings | None = None, *, open_suite: OpenSuite | None = None) -> FastAPI:
    """The API over one suite. It records runs and reads them; it never executes one (no
    executor, no scheduler here): workers (`bpa worker`, or the ones `bpa serve` starts)
    take the queued runs, told by the dispatcher when there is a broker."""
    settings = settings or Settings()
    install_access_log_redaction()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        async with AsyncExitStack() as stack:
            suite = await stack.enter_async_context((open_suite or Suite.open)(settings))
            dispatcher = make_dispatcher(settings)
            app.state.services = Services(
                settings=settings,
                suite=suite,
                dispatcher=dispatcher,
                follower=await _follower(settings, suite, stack),
                keys=ApiKeyStore(suite.engine),
                metrics=ApiMetrics(suite.runner),
            )
            try:
                yield
            finally:
                dispatcher.close()

    app = FastAPI(
        title="BPA Suite",
        version="0.1.0",
        description=_DESCRIPTION,
        lifespan=lifespan,
        responses=problem_responses(400, 401, 403, 413, 422, 500),
        docs_url=None,  # served from local files by the console (api/ui/routes/docs.py)
        redoc_url=None,
    )
    app.add_middleware(NulGuard)  # inside the body limit: it reads bodies already capped
    app.add_middleware(BodySizeLimit, max_bytes=settings.api_max_request_bytes)
    install_problem_handlers(app)
    routers = (flows, start, runs, batches, schedules, connectors, keys, audit, vendors, health)
    for module in routers:
        app.include_router(module.router)
    install_console(app, settings)
    app.openapi = _openapi(app)  # type: ignore[method-assign]
    return app
