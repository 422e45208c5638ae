"""The suite on PostgreSQL: runs, mocked systems and LangGraph checkpoints all live there;
migrations, leases and exactly-once firing hold across connections and processes.

Needs `BPA_TEST_POSTGRES_URL` (e.g. postgresql+psycopg://postgres@127.0.0.1:5432/test);
skipped with the reason when it is unset or unreachable, unless `BPA_TEST_POSTGRES_REQUIRED=1`
(CI), which turns that into a failure. Each test works in its own schema.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import threading
from collections import Counter
from pathlib import Path

import pytest
from sqlalchemy import create_engine, inspect, text
from toy_ledger import ToyBank, finish, spawn_worker, toy_runner, toy_settings

from bpa.config import Settings
from bpa.executor import Executor
from bpa.migrations import HEAD, current_revision, unmigrated_changes, upgrade
from bpa.runs.tables import RunStatus
from bpa.scheduler import SchedulerLoop
from bpa.schedules import FiringStatus, ScheduleStore
from bpa.suite import Suite

pytestmark = pytest.mark.postgres


def test_migrations_build_the_models_schema_even_when_processes_race(pg_url: str) -> None:
    errors: list[BaseException] = []
    barrier = threading.Barrier(3)

    def migrate() -> None:
        engine = create_engine(pg_url)
        barrier.wait()
        try:
            upgrade(engine)
        except BaseException as exc:
            errors.append(exc)
        finally:
            engine.dispose()

    threads = [threading.Thread(target=migrate) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    engine = create_engine(pg_url)
    assert current_revision(engine) == HEAD
    assert unmigrated_changes(engine) == []
    engine.dispose()


async def test_runs_mocked_systems_and_checkpoints_all_live_in_postgres(
    pg_url: str, settings: Settings, tmp_path: Path
) -> None:
    settings = settings.model_copy(update={"database_url": pg_url})
    invoice = settings.fixtures_dir / "invoices" / "big_above_threshold_brightline_us.pdf"
    async with Suite.open(settings) as suite:
        spec = suite.runner.flow("invoice_processing")
        run = await suite.runner.start(
            "invoice_processing", spec.input_from_file(invoice, suite.documents)
        )
        assert run.status == RunStatus.waiting

    async with Suite.open(settings) as suite:  # a later process resumes from the checkpoint
        done = await suite.runner.resume(run.id, {"action": "approve"}, by="ann")
        assert done.status == RunStatus.succeeded
        bills = [
            e
            for e in suite.store.events(run.id)
            if e.kind == "connector_call" and e.payload["action"] == "post_bill"
        ]
        assert len(bills) == 1 and bills[0].payload["ok"] is True

    engine = create_engine(pg_url)
    tables = set(inspect(engine).get_table_names())
    assert {"bpa_runs", "bpa_schedules", "checkpoints", "store", "acct_bills"} <= tables
    with engine.connect() as conn:
        checkpoints = conn.execute(
            text("SELECT count(*) FROM checkpoints WHERE thread_id = :id"), {"id": run.id}
        ).scalar()
        bills = conn.execute(text("SELECT count(*) FROM acct_bills")).scalar()
    engine.dispose()
    assert checkpoints and checkpoints > 0
    assert bills and bills > 0
    assert not list(settings.home.glob("*.db")), "no SQLite file next to a PostgreSQL suite"


async def test_two_executors_share_postgres_without_running_a_run_twice(
    pg_url: str, tmp_path: Path
) -> None:
    settings = toy_settings(tmp_path / "home", pg_url, run_lease_s=10)
    async with toy_runner(settings) as one, toy_runner(settings) as two:
        ids = [
            one.submit("ledger", {"account": f"acct-{i}", "delay": 0.01}, trigger="api")[0].id
            for i in range(16)
        ]
        first = Executor(one, concurrency=4, poll_interval=0.01)
        second = Executor(two, concurrency=4, poll_interval=0.01)
        await asyncio.gather(first.run_until_idle(timeout=60), second.run_until_idle(timeout=60))
        await asyncio.gather(first.stop(), second.stop())
        assert first.completed + second.completed == len(ids)
        for run_id in ids:
            kinds = Counter(e.kind for e in one.store.events(run_id))
            assert kinds["run_started"] == 1 and kinds["run_finished"] == 1
        bank = one.connectors["bank"]
        assert isinstance(bank, ToyBank)
        assert Counter(c.account for c in bank.charges())["fees"] == len(ids)


async def test_a_crash_after_a_side_effect_resumes_from_the_postgres_checkpoint(
    pg_url: str, tmp_path: Path
) -> None:
    home = tmp_path / "home"
    settings = toy_settings(home, pg_url)
    marker = tmp_path / "crashed"
    async with toy_runner(settings) as runner:
        ids = [
            runner.submit("ledger", {"account": f"acct-{i}"}, trigger="api")[0].id for i in range(4)
        ]
    assert finish(spawn_worker(pg_url, home, "--crash-marker", str(marker))) == 137
    assert finish(spawn_worker(pg_url, home, "--crash-marker", str(marker))) == 0
    async with toy_runner(settings) as runner:
        assert {str(runner.store.get(i).status) for i in ids} == {"succeeded"}
        bank = runner.connectors["bank"]
        assert isinstance(bank, ToyBank)
        charges = Counter(c.account for c in bank.charges())
        assert charges["fees"] == 4 and all(charges[f"acct-{i}"] == 1 for i in range(4))
        assert bank.node_runs("charge")[marker.read_text()] == 2
        assert runner.memory is not None  # the flow's cross-run memory is in PostgreSQL too
        fees = await runner.memory.aget(("ledger", "fees"), "acct-0")
        assert fees is not None and fees.value == {"count": 1}


async def test_two_schedulers_on_postgres_fire_each_due_time_once(
    pg_url: str, tmp_path: Path
) -> None:
    now = {"t": dt.datetime(2025, 1, 6, 12, 1, tzinfo=dt.UTC)}
    clock = lambda: now["t"]  # noqa: E731
    async with toy_runner(toy_settings(tmp_path / "home", pg_url)) as runner:
        store = ScheduleStore(runner.store.engine, clock=clock)
        schedule = store.create(
            flow="ledger", cron="* * * * *", input={"account": "a"}, overlap="allow"
        )
        loops = [
            SchedulerLoop(ScheduleStore(runner.store.engine, clock=clock), runner, clock=clock)
            for _ in range(2)
        ]
        started: list[int] = []
        for minute in range(2, 22):
            now["t"] = dt.datetime(2025, 1, 6, 12, minute, 1, tzinfo=dt.UTC)
            barrier = threading.Barrier(2)

            def tick(n: int, barrier: threading.Barrier = barrier) -> None:
                barrier.wait()
                fired = asyncio.run(loops[n].tick())
                started.extend(n for f in fired if f.status == FiringStatus.started)

            threads = [threading.Thread(target=tick, args=(n,)) for n in (0, 1)]
            for t in threads:
                t.start()
            for t in threads:
                t.join()
        assert len(started) == 20
        assert len(store.firings(schedule.id, limit=100)) == 20
        assert len(runner.store.list_runs(trigger="schedule", limit=100)) == 20
