"""The FastAPI app factory. Nothing is built at import; everything at start-up (lifespan).

`create_app(settings)` is what `bpa serve` runs. Tests pass `open_suite` (a suite with toy
flows) and `make_executor`, so they exercise the same app without the installed plug-ins.
"""

from __future__ import annotations

import asyncio
import gc
import logging
import sys
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi
from pydantic import BaseModel

from api.access_log import install_access_log_redaction
from api.execution import EngineHost, MakeExecutor, OpenSuite, default_executor
from api.foreground import ForegroundRequests
from api.intake import RunIntake
from api.limits import BodySizeLimit
from api.metrics import ApiMetrics
from api.problems import Problem, install_problem_handlers, problem_responses
from api.routes import batches, connectors, flows, health, keys, runs, schedules, start
from api.schemas import BatchCreate, RunCreate
from api.services import Services
from api.streaming import RunWatch
from api.text_guard import NulGuard
from bpa.auth import ApiKeyStore
from bpa.config import Settings
from bpa.foreground import Foreground
from bpa.suite import Suite

__all__ = ["create_app"]

log = logging.getLogger("bpa.api")

_DESCRIPTION = """Run business flows (invoices, customer service, sales operations) with
approvals and an audit trail.

Start runs in the background, wait for them, or stream their events; answer the questions
waiting runs ask; follow batches and schedules. Authenticate with `Authorization: Bearer
<key>` or `X-API-Key` (keys from `bpa keys create`). Errors are `application/problem+json`.
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


def _tune_process(*, interleaved: bool) -> None:
    """For a process that is the server, once everything it loads at start-up is loaded.

    The objects that live as long as the process (modules, compiled graphs, models: some
    360,000) move out of the garbage collector's sight; otherwise each full collection walks
    them all and stops every thread for a quarter of a second. When this process executes
    runs, the interpreter switches threads every 0.5 ms instead of 5 ms, so a request that
    waited on the database or the network gets the interpreter back soon.
    """
    gc.collect()
    gc.freeze()
    if interleaved:
        sys.setswitchinterval(0.0005)


def create_served_app() -> FastAPI:
    """What `bpa serve` runs: the app, with the process tuned for serving."""
    return create_app(tune_process=True)


def create_app(
    settings: Settings | None = None,
    *,
    open_suite: OpenSuite | None = None,
    make_executor: MakeExecutor | None = None,
    run_executor: bool | None = None,
    run_scheduler: bool | None = None,
    tune_process: bool = False,
) -> FastAPI:
    """The API over one suite. Its executor and scheduler run while the app does, unless
    turned off (default: `settings.api_background_work`); then `bpa scheduler` processes
    execute the queued runs and fire schedules."""
    settings = settings or Settings()
    install_access_log_redaction()
    background = settings.api_background_work
    executes = background if run_executor is None else run_executor
    # Runs executed in this process give way to the requests it serves (bpa/foreground.py).
    foreground = Foreground() if executes and settings.api_requests_first else None

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        loop = asyncio.get_running_loop()
        watch: RunWatch | None = None
        metrics: ApiMetrics | None = None

        def prepare(suite: Suite) -> None:
            """On the engine thread, before any run executes, so they see every event."""
            nonlocal watch, metrics
            watch = RunWatch(suite.runner, loop, foreground=foreground)
            metrics = ApiMetrics(
                suite.runner,
                in_flight=engine.in_flight,
                paused=(lambda: foreground.paused_s) if foreground is not None else None,
            )

        engine = EngineHost(
            settings,
            open_suite=open_suite or Suite.open,
            make_executor=make_executor or default_executor,
            run_executor=executes,
            run_scheduler=background if run_scheduler is None else run_scheduler,
            prepare=prepare,
            foreground=foreground,
        )
        suite = await engine.start()
        if tune_process:
            _tune_process(interleaved=foreground is not None)
        assert watch is not None and metrics is not None
        app.state.services = Services(
            settings=settings,
            suite=suite,
            engine=engine,
            watch=watch,
            keys=ApiKeyStore(suite.engine),
            metrics=metrics,
            intake=RunIntake(suite.runner, engine.notify),
        )
        try:
            yield
        finally:
            await engine.stop()
            watch.close()
            metrics.close()

    app = FastAPI(
        title="BPA Suite",
        version="0.1.0",
        description=_DESCRIPTION,
        lifespan=lifespan,
        responses=problem_responses(400, 401, 403, 413, 422, 500),
    )
    app.add_middleware(NulGuard)  # inside the body limit: it reads bodies already capped
    app.add_middleware(BodySizeLimit, max_bytes=settings.api_max_request_bytes)
    if foreground is not None:
        app.add_middleware(ForegroundRequests, foreground=foreground)
    install_problem_handlers(app)
    for module in (flows, start, runs, batches, schedules, connectors, keys, health):
        app.include_router(module.router)
    app.openapi = _openapi(app)  # type: ignore[method-assign]
    return app
