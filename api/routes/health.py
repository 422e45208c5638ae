"""Liveness, readiness and Prometheus metrics. Health checks need no key (probes have none)."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse
from sqlalchemy import text
from starlette.concurrency import run_in_threadpool

from api.deps import ServicesDep, ViewerDep
from api.metrics import CONTENT_TYPE
from api.problems import problem_response, problem_responses
from api.schemas import Health, Ready
from bpa.worker.heartbeats import live_workers

__all__ = ["router"]

router = APIRouter(tags=["health"])


@router.get("/healthz", response_model=Health, summary="The process is alive")
async def healthz() -> Health:
    return Health(status="ok")


def _database_ok(services: ServicesDep) -> str | None:
    try:
        with services.suite.engine.connect() as conn:
            conn.execute(text("SELECT 1"))
    except Exception as exc:  # any failure means not ready; say which
        return f"{type(exc).__name__}: {exc}"
    return None


def _workers(services: ServicesDep) -> dict[str, object]:
    suite = services.suite
    within = 3 * suite.settings.worker_heartbeat_s
    workers = live_workers(suite.engine, within_s=within)
    return {
        "workers": [
            {
                "id": w.id,
                "kind": w.kind,
                "in_flight": w.in_flight,
                "executed": w.executed,
                "seen_at": w.seen_at.isoformat(),
            }
            for w in workers
        ],
        "queue_depth": suite.store.queue_depth(),
    }


@router.get(
    "/readyz", response_model=Ready, summary="Ready to take runs", responses=problem_responses(503)
)
async def readyz(request: Request, services: ServicesDep) -> Response:
    """Ready to record and read runs: the database answers and at least one flow loaded
    (to validate inputs against); 503, saying which check failed, otherwise.

    `workers` lists the worker processes seen in their last heartbeats, and `queue_depth`
    the runs waiting for one. No worker is not a reason to refuse runs (they wait in the
    database until one starts), so it does not make the API unready; alert on it instead."""
    suite = services.suite
    database = await run_in_threadpool(_database_ok, services)
    broken = {name: info.problem for name, info in suite.flow_infos.items() if info.problem}
    checks: dict[str, object] = {
        "database": "ok" if database is None else database,
        "flows": sorted(suite.flows),
        "flows_failed": broken,
    }
    if database is None:
        checks.update(await run_in_threadpool(_workers, services))
    problems = []
    if database is not None:
        problems.append(f"the database does not answer ({database})")
    if not suite.flows:
        problems.append("no flow is loaded (`bpa flows list` says why)")
    if problems:
        return problem_response(request, 503, "not-ready", "; ".join(problems), checks=checks)
    return JSONResponse(Ready(status="ready", checks=checks).model_dump(mode="json"))


@router.get(
    "/metrics",
    summary="Prometheus metrics",
    response_class=Response,
    responses={
        200: {
            "content": {CONTENT_TYPE: {"schema": {"type": "string"}}},
            "description": "Prometheus text format",
        },
        **problem_responses(401, 403),
    },
)
async def metrics(services: ServicesDep, _viewer: ViewerDep) -> Response:
    """Runs by flow and status, and the queue depth, from the database."""
    body = await run_in_threadpool(services.metrics.render)
    return Response(body, media_type=CONTENT_TYPE)
