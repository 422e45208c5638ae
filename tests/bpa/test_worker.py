"""A worker process's engine without a broker: it takes queued runs from the database and
records heartbeats while it runs (issue #10)."""

from __future__ import annotations

import asyncio
from pathlib import Path

from bpa.config import Settings
from bpa.runs.tables import RunStatus
from bpa.suite import Suite
from bpa.worker.heartbeats import live_workers
from bpa.worker.runtime import poll_database

REPO = Path(__file__).resolve().parents[2]
INVOICE = (REPO / "fixtures" / "invoices" / "txt_01_nordisk_en.txt").read_text(encoding="utf-8")


async def test_a_polling_worker_executes_queued_runs_and_beats(settings: Settings) -> None:
    settings = settings.model_copy(update={"executor_poll_s": 0.05, "worker_heartbeat_s": 0.1})
    async with Suite.open(settings) as suite:
        ids = [
            suite.runner.submit(
                "invoice_processing",
                {"text": INVOICE.replace("2026-0347", f"WRK-{i}")},
                trigger="api",
            )[0].id
            for i in range(3)
        ]
        stop = asyncio.Event()
        started = asyncio.Event()
        worker = asyncio.create_task(
            poll_database(settings, concurrency=2, stop=stop, ready=lambda _: started.set())
        )
        await asyncio.wait_for(started.wait(), 60)
        for _ in range(400):
            if all(suite.store.get(i).status == RunStatus.succeeded for i in ids):
                break
            await asyncio.sleep(0.05)
        await asyncio.sleep(0.3)  # a beat after the last run
        beats = live_workers(suite.engine, within_s=10)
        stop.set()
        await asyncio.wait_for(worker, 30)
        assert [suite.store.get(i).status for i in ids] == [RunStatus.succeeded] * 3
        assert len(beats) == 1 and beats[0].kind == "database" and beats[0].executed == 3
        assert live_workers(suite.engine, within_s=10) == []  # gone when it stopped
