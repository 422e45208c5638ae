"""The API records and reads; workers execute. Without a worker a run stays queued; a worker
(here an executor with a suite of its own, as another process would have) executes it, and
the API's waits, streams and resumes see it move on through the database."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from conftest import assert_problem, running_worker, settle
from fastapi import FastAPI
from toys import toy_suite

from api import create_app
from api.services import Services
from bpa.config import Settings
from bpa.worker.heartbeats import Heartbeat


@pytest.fixture
async def alone(api_settings: Settings) -> AsyncIterator[tuple[FastAPI, httpx.AsyncClient]]:
    """The app with no worker anywhere."""
    app = create_app(api_settings, open_suite=toy_suite)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://bpa.test") as client:
            yield app, client


def _services(app: FastAPI) -> Services:
    services: Services = app.state.services
    return services


async def test_the_api_only_records_and_a_worker_elsewhere_executes(
    alone: tuple[FastAPI, httpx.AsyncClient], api_settings: Settings
) -> None:
    _app, client = alone
    run = (await client.post("/flows/toy/runs", json={"input": {"amount": 21}})).json()
    waited = await client.post(
        "/flows/toy/runs/wait", params={"timeout": 0.3}, json={"input": {"amount": 60}}
    )
    assert waited.status_code == 202 and waited.json()["status"] == "queued"
    assert (await client.get(f"/runs/{run['id']}")).json()["status"] == "queued"
    assert "bpa_queue_depth 2.0" in (await client.get("/metrics")).text
    assert "runs_in_flight" not in (await client.get("/readyz")).json()["checks"]

    stream = asyncio.create_task(client.get(f"/runs/{run['id']}/stream"))
    async with toy_suite(api_settings) as elsewhere, running_worker(elsewhere):
        assert (await settle(client, waited.json()["id"]))["status"] == "waiting"
        streamed = await asyncio.wait_for(stream, 10)
    assert '"status": "succeeded"' in streamed.text.split("event: run")[-1]
    assert (await client.get(f"/runs/{run['id']}")).json()["output"]["doubled"] == 42
    assert "bpa_queue_depth 0.0" in (await client.get("/metrics")).text


async def _waiting_run(client: httpx.AsyncClient, settings: Settings) -> dict[str, Any]:
    async with toy_suite(settings) as elsewhere, running_worker(elsewhere):
        run = (await client.post("/flows/toy/runs/wait", json={"input": {"amount": 60}})).json()
    assert run["status"] == "waiting", run
    return run


async def test_a_resume_is_recorded_then_executed_by_a_worker(
    alone: tuple[FastAPI, httpx.AsyncClient], api_settings: Settings
) -> None:
    app, client = alone
    run = await _waiting_run(client, api_settings)

    answer = await client.post(
        f"/runs/{run['id']}/resume",
        params={"timeout": 0.2},
        json={"action": "approve", "comment": "ok"},
    )
    assert answer.status_code == 202, answer.text  # no worker: not executed yet
    assert answer.json()["status"] == "queued" and answer.json()["question"] is None
    store = _services(app).suite.store
    [approval] = store.approvals(run["id"])
    assert approval.decision is not None and approval.decision["comment"] == "ok"

    async with toy_suite(api_settings) as elsewhere, running_worker(elsewhere):
        done = await settle(client, run["id"])
    assert done["status"] == "succeeded" and done["output"]["approved"] is True
    kinds = [e.kind for e in store.events(run["id"])]
    since = kinds[kinds.index("waiting") :]  # waiting -> queued (answered) -> executed
    assert since[:3] == ["waiting", "decision_recorded", "resumed"]
    assert since[-1] == "run_finished" and since.count("run_finished") == 1


async def test_a_refused_resume_records_nothing(
    alone: tuple[FastAPI, httpx.AsyncClient], api_settings: Settings
) -> None:
    app, client = alone
    run = await _waiting_run(client, api_settings)
    store = _services(app).suite.store
    before = [e.id for e in store.events(run["id"])]
    url = f"/runs/{run['id']}/resume"
    approve = {"action": "approve"}
    for timeout in ("0", "-1", "3601", "soon", "nan"):
        body = assert_problem(
            await client.post(url, params={"timeout": timeout}, json=approve), 422
        )
        assert body["errors"][0]["loc"] == ["query", "timeout"]
    assert_problem(await client.post(url, json={"action": "correct"}), 422, "not possible here")
    assert_problem(await client.post(url, json={"action": "approve", "by": "me"}), 422)

    assert [e.id for e in store.events(run["id"])] == before
    assert store.get(run["id"]).status == "waiting"
    assert store.pending_approval(run["id"]) is not None
    assert (await client.get(f"/runs/{run['id']}")).json()["question"] is not None


async def test_readyz_and_metrics_show_the_workers_heartbeats(
    alone: tuple[FastAPI, httpx.AsyncClient],
) -> None:
    app, client = alone
    assert (await client.get("/readyz")).json()["checks"]["workers"] == []
    engine = _services(app).suite.engine
    beat = Heartbeat(engine, owner="host:1:ab", kind="celery", concurrency=8, stats=lambda: (3, 41))
    async with beat:
        beat.beat()
        checks = (await client.get("/readyz")).json()["checks"]
        metrics = (await client.get("/metrics")).text
    assert [w["id"] for w in checks["workers"]] == ["host:1:ab"]
    assert checks["workers"][0]["in_flight"] == 3 and checks["queue_depth"] == 0
    assert 'bpa_worker_executed{kind="celery",worker="host:1:ab"} 41.0' in metrics
    assert "bpa_workers 1.0" in metrics
    assert (await client.get("/readyz")).json()["checks"]["workers"] == []  # it said goodbye
