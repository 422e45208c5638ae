"""`bpa serve --api-only`: the API records runs, another process executes them, and the
API's waits and streams still see them finish (by reading the shared database)."""

from __future__ import annotations

import asyncio

import httpx
from toys import toy_suite

from api import create_app
from bpa.config import Settings
from bpa.executor import Executor


async def test_runs_wait_for_an_executor_elsewhere(api_settings: Settings) -> None:
    settings = api_settings.model_copy(update={"api_background_work": False})
    app = create_app(settings, open_suite=toy_suite)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://bpa.test") as client:
            run = (await client.post("/flows/toy/runs", json={"input": {"amount": 21}})).json()
            await asyncio.sleep(0.3)
            assert (await client.get(f"/runs/{run['id']}")).json()["status"] == "queued"
            assert (await client.get("/readyz")).json()["checks"]["runs_in_flight"] == 0

            async with toy_suite(settings) as worker_suite:  # "another process"
                worker = Executor(worker_suite.runner, concurrency=2, poll_interval=0.05)
                await worker.start()
                try:
                    waited = await client.post(
                        "/flows/toy/runs/wait", json={"input": {"amount": 60}}
                    )
                    streamed = await client.get(f"/runs/{run['id']}/stream")
                finally:
                    await worker.stop()
            assert waited.json()["status"] == "waiting"
            assert '"status": "succeeded"' in streamed.text.split("event: run")[-1]
            assert (await client.get(f"/runs/{run['id']}")).json()["output"]["doubled"] == 42
