"""Schedules: exactly-once firing across schedulers, overlap and misfire policies, time zones,
batches, restarts, and the CLI. A fake clock stands in for waiting minutes."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlalchemy import update
from toy_ledger import toy_runner, toy_settings
from typer.testing import CliRunner

from bpa.cli import app
from bpa.config import Settings
from bpa.db import open_engine
from bpa.executor import Executor
from bpa.runs.runner import Runner
from bpa.runs.tables import RunStatus
from bpa.scheduler import SchedulerLoop
from bpa.schedules import (
    FiringStatus,
    Schedule,
    ScheduleError,
    ScheduleNotFound,
    ScheduleStore,
    check_schedule,
    next_fire_time,
)

T0 = dt.datetime(2025, 1, 6, 12, 1, tzinfo=dt.UTC)  # a Monday, 12:01 UTC


class Clock:
    def __init__(self, now: dt.datetime) -> None:
        self.now = now

    def __call__(self) -> dt.datetime:
        return self.now

    def set(self, hour: int, minute: int, second: int = 0, *, day: int = 6) -> None:
        self.now = dt.datetime(2025, 1, day, hour, minute, second, tzinfo=dt.UTC)


@pytest.fixture
def clock() -> Clock:
    return Clock(T0)


@pytest.fixture
async def runner(tmp_path: Path) -> AsyncIterator[Runner]:
    async with toy_runner(toy_settings(tmp_path / "home")) as runner:
        yield runner


@pytest.fixture
def store(runner: Runner, clock: Clock) -> ScheduleStore:
    return ScheduleStore(runner.store.engine, clock=clock)


def loop(store: ScheduleStore, runner: Runner, clock: Clock, **kw: object) -> SchedulerLoop:
    return SchedulerLoop(store, runner, clock=clock, **kw)  # type: ignore[arg-type]


def schedule_runs(runner: Runner) -> list:  # type: ignore[type-arg]
    return runner.store.list_runs(trigger="schedule", limit=1000)


def finish_all(runner: Runner) -> None:
    for run in schedule_runs(runner):
        if not RunStatus(run.status).finished:
            runner.store.update(run.id, status=RunStatus.succeeded)


async def test_two_schedulers_on_one_database_fire_each_due_time_once(
    runner: Runner, store: ScheduleStore, clock: Clock
) -> None:
    schedule = store.create(
        name="every 5", flow="ledger", cron="*/5 * * * *", input={"account": "a"}, overlap="allow"
    )
    assert schedule.next_fire_at == dt.datetime(2025, 1, 6, 12, 5, tzinfo=dt.UTC)
    loops = [
        loop(store, runner, clock),
        loop(ScheduleStore(store.engine, clock=clock), runner, clock),
    ]
    fired_by: list[int] = []
    for minute in range(2, 62):  # one tick each minute, both schedulers racing in threads
        clock.set(12 + minute // 60, minute % 60, 1)
        barrier = threading.Barrier(2)

        def tick(n: int, barrier: threading.Barrier = barrier) -> None:
            barrier.wait()
            fired_by.extend(
                n for f in asyncio.run(loops[n].tick()) if f.status == FiringStatus.started
            )

        threads = [threading.Thread(target=tick, args=(n,)) for n in (0, 1)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()

    runs = schedule_runs(runner)
    firings = store.firings(schedule.id, limit=100)
    assert len(runs) == len(firings) == len(fired_by) == 12, "12 five-minute marks in an hour"
    assert sorted(f.fire_time.minute for f in firings) == list(range(0, 60, 5))
    assert len({r.idempotency_key for r in runs}) == 12
    assert all(r.trigger == "schedule" and r.status == RunStatus.queued for r in runs)
    assert store.get(schedule.id).last_fired_at == dt.datetime(2025, 1, 6, 13, 0, tzinfo=dt.UTC)


async def test_skip_overlap_leaves_out_firings_while_the_last_run_is_unfinished(
    runner: Runner, store: ScheduleStore, clock: Clock
) -> None:
    schedule = store.create(flow="ledger", cron="* * * * *", input={"account": "a"})
    sched = loop(store, runner, clock)
    clock.set(12, 2)
    [first] = await sched.tick()
    assert first.status == FiringStatus.started
    clock.set(12, 3)
    [second] = await sched.tick()
    assert second.status == FiringStatus.skipped and "unfinished" in (second.detail or "")
    finish_all(runner)
    clock.set(12, 4)
    [third] = await sched.tick()
    assert third.status == FiringStatus.started
    assert len(schedule_runs(runner)) == 2
    assert [f.status for f in store.firings(schedule.id)] == ["started", "skipped", "started"]


async def test_buffer_one_keeps_one_firing_and_starts_it_when_the_runs_finish(
    runner: Runner, store: ScheduleStore, clock: Clock
) -> None:
    store.create(flow="ledger", cron="* * * * *", input={"account": "a"}, overlap="buffer_one")
    sched = loop(store, runner, clock)
    statuses = []
    for minute in (2, 3, 4):
        clock.set(12, minute)
        statuses += [f.status for f in await sched.tick()]
    assert statuses == ["started", "buffered", "skipped"]
    assert len(schedule_runs(runner)) == 1
    assert await sched.tick() == [], "nothing new while the first run is unfinished"

    finish_all(runner)
    [promoted] = await sched.tick()
    assert promoted.status == FiringStatus.started
    assert promoted.fire_time == dt.datetime(2025, 1, 6, 12, 3, tzinfo=dt.UTC)
    assert len(schedule_runs(runner)) == 2
    assert await sched.tick() == []


async def test_allow_overlap_starts_every_firing(
    runner: Runner, store: ScheduleStore, clock: Clock
) -> None:
    store.create(flow="ledger", cron="* * * * *", input={"account": "a"}, overlap="allow")
    sched = loop(store, runner, clock)
    for minute in (2, 3, 4):
        clock.set(12, minute)
        await sched.tick()
    assert len(schedule_runs(runner)) == 3


async def test_after_downtime_run_once_folds_missed_firings_into_one_run(
    runner: Runner, store: ScheduleStore, clock: Clock
) -> None:
    schedule = store.create(flow="ledger", cron="*/5 * * * *", input={"account": "a"})
    sched = loop(store, runner, clock, misfire_grace=60)
    clock.set(13, 2)  # the scheduler was down from 12:01 to 13:02
    [firing] = await sched.tick()
    assert firing.status == FiringStatus.started
    assert firing.fire_time == dt.datetime(2025, 1, 6, 13, 0, tzinfo=dt.UTC)
    assert "11 earlier missed" in (firing.detail or "") and "late" in (firing.detail or "")
    assert len(schedule_runs(runner)) == 1
    assert store.get(schedule.id).next_fire_at == dt.datetime(2025, 1, 6, 13, 5, tzinfo=dt.UTC)
    assert await sched.tick() == []


async def test_after_downtime_skip_drops_missed_firings_and_keeps_the_next(
    runner: Runner, store: ScheduleStore, clock: Clock
) -> None:
    schedule = store.create(
        flow="ledger", cron="*/5 * * * *", input={"account": "a"}, misfire="skip"
    )
    sched = loop(store, runner, clock, misfire_grace=60)
    clock.set(13, 2)
    [missed] = await sched.tick()
    assert missed.status == FiringStatus.missed and schedule_runs(runner) == []
    clock.set(13, 5, 2)  # on time again
    [on_time] = await sched.tick()
    assert on_time.status == FiringStatus.started
    assert [f.status for f in store.firings(schedule.id)] == ["started", "missed"]


async def test_a_firing_a_little_late_is_not_a_misfire(
    runner: Runner, store: ScheduleStore, clock: Clock
) -> None:
    store.create(flow="ledger", cron="*/5 * * * *", input={"account": "a"}, misfire="skip")
    sched = loop(store, runner, clock, misfire_grace=60)
    clock.set(12, 5, 30)
    [firing] = await sched.tick()
    assert firing.status == FiringStatus.started and firing.detail is None


async def test_cron_is_read_in_the_schedules_timezone() -> None:
    winter = next_fire_time("0 9 * * *", "Europe/Berlin", T0)
    summer = next_fire_time("0 9 * * *", "Europe/Berlin", dt.datetime(2025, 7, 1, tzinfo=dt.UTC))
    assert winter == dt.datetime(2025, 1, 7, 8, 0, tzinfo=dt.UTC)
    assert summer == dt.datetime(2025, 7, 1, 7, 0, tzinfo=dt.UTC)


async def test_batch_input_fires_one_run_per_item_in_one_batch(
    runner: Runner, store: ScheduleStore, clock: Clock
) -> None:
    store.create(
        flow="ledger",
        cron="*/5 * * * *",
        input=[{"account": "a"}, {"account": "b"}, {"account": "c"}],
    )
    clock.set(12, 5)
    [firing] = await loop(store, runner, clock).tick()
    runs = schedule_runs(runner)
    assert firing.batch_id and {r.batch_id for r in runs} == {firing.batch_id}
    assert sorted(r.input["account"] for r in runs) == ["a", "b", "c"]
    assert runner.store.count_by_status(batch_id=firing.batch_id) == {"queued": 3}


async def test_schedules_survive_a_restart_and_a_crash_between_claim_and_queue(
    tmp_path: Path, clock: Clock
) -> None:
    settings = toy_settings(tmp_path / "home")
    async with toy_runner(settings) as runner:
        store = ScheduleStore(runner.store.engine, clock=clock)
        schedule = store.create(flow="ledger", cron="*/5 * * * *", input={"account": "a"})
        # A scheduler claimed the 12:05 firing, then died before queueing its run.
        clock.set(12, 5)
        crashed = store.claim_firing(
            schedule.id,
            dt.datetime(2025, 1, 6, 12, 5, tzinfo=dt.UTC),
            status=FiringStatus.pending,
            created_at=clock(),
        )
        assert crashed is not None

    clock.set(12, 5, 30)
    async with toy_runner(settings) as runner:  # a new process on the same database
        store = ScheduleStore(runner.store.engine, clock=clock)
        sched = loop(store, runner, clock, stale_after=60)
        assert await sched.tick() == [], "the claimed firing is someone else's, for now"
        clock.set(12, 7)
        [recovered] = await sched.tick()
        assert recovered.id == crashed.id and recovered.status == FiringStatus.started
        assert len(schedule_runs(runner)) == 1
        clock.set(12, 10, 5)
        [next_one] = await sched.tick()
        assert next_one.status == FiringStatus.skipped, "the recovered run is still queued"


async def test_scheduler_and_executor_run_a_schedule_in_the_background(
    runner: Runner, store: ScheduleStore, clock: Clock
) -> None:
    schedule = store.create(flow="ledger", cron="*/5 * * * *", input={"account": "bg"})
    executor = Executor(runner, concurrency=2, poll_interval=5)
    sched = loop(store, runner, clock, executor=executor, interval=0.02)
    await executor.start()
    await sched.start()
    clock.set(12, 5)
    sched.notify()
    for _ in range(250):
        runs = schedule_runs(runner)
        if runs and runs[0].status == RunStatus.succeeded:
            break
        await asyncio.sleep(0.02)
    await sched.stop()
    await executor.stop()
    [run] = schedule_runs(runner)
    assert run.status == RunStatus.succeeded, "the executor was notified, not left to poll"
    assert store.firings(schedule.id)[0].run_id == run.id


async def test_bad_definitions_are_refused_with_what_to_fix(
    runner: Runner, store: ScheduleStore
) -> None:
    with pytest.raises(ScheduleError, match="five-field cron"):
        store.create(flow="ledger", cron="61 * * *")
    with pytest.raises(ScheduleError, match="the minute field '61' is out of range"):
        store.create(flow="ledger", cron="61 * * * *")
    with pytest.raises(ScheduleError, match="unknown timezone 'Mars/Base'"):
        store.create(flow="ledger", cron="* * * * *", timezone="Mars/Base")
    with pytest.raises(ScheduleError, match="overlap"):
        store.create(flow="ledger", cron="* * * * *", overlap="sometimes")
    with pytest.raises(ScheduleError, match="batch"):
        store.create(flow="ledger", cron="* * * * *", input={"batch": []})
    with pytest.raises(ScheduleError, match="no flow named 'nope'"):
        check_schedule(runner, "nope", {})
    with pytest.raises(ScheduleError, match=r"input.batch.1.account"):
        check_schedule(runner, "ledger", [{"account": "a"}, {"amount": 3}])
    check_schedule(runner, "ledger", {"account": "a"})
    assert store.list() == []


async def test_update_retimes_and_disable_stops_firing(
    runner: Runner, store: ScheduleStore, clock: Clock
) -> None:
    schedule = store.create(flow="ledger", cron="*/5 * * * *", input={"account": "a"})
    changed = store.update(schedule.id, cron="0 * * * *", timezone="Europe/Berlin")
    assert changed.next_fire_at == dt.datetime(2025, 1, 6, 13, 0, tzinfo=dt.UTC)
    store.update(schedule.id, enabled=False)
    clock.set(13, 0, 5)
    assert await loop(store, runner, clock).tick() == []
    clock.set(15, 30)
    enabled = store.update(schedule.id, enabled=True)
    assert enabled.next_fire_at == dt.datetime(2025, 1, 6, 16, 0, tzinfo=dt.UTC), "from now on"
    with pytest.raises(ScheduleError, match="cannot change id"):
        store.update(schedule.id, id="other")
    store.delete(schedule.id)
    with pytest.raises(ScheduleNotFound):
        store.get(schedule.id)


def test_cli_adds_lists_and_removes_schedules(tmp_path: Path) -> None:
    cli = CliRunner()
    payload = tmp_path / "input.json"
    payload.write_text(json.dumps({"text": "Invoice 42"}))
    added = cli.invoke(
        app,
        [
            "schedules",
            "add",
            "nightly",
            "--flow",
            "invoice_processing",
            "--cron",
            "0 2 * * *",
            "--tz",
            "Europe/Berlin",
            "--input",
            str(payload),
            "--overlap",
            "buffer_one",
        ],
    )
    assert added.exit_code == 0, added.output
    created = json.loads(added.output)
    assert created["overlap"] == "buffer_one" and created["input"] == {"text": "Invoice 42"}

    listed = cli.invoke(app, ["schedules", "list", "--json"])
    assert [s["id"] for s in json.loads(listed.output)] == [created["id"]]

    bad = cli.invoke(
        app, ["schedules", "add", "x", "--flow", "invoice_processing", "--cron", "every minute"]
    )
    assert bad.exit_code == 2 and "five-field cron" in bad.output

    removed = cli.invoke(app, ["schedules", "rm", "nightly"])
    assert removed.exit_code == 0 and created["id"] in removed.output
    assert json.loads(cli.invoke(app, ["schedules", "list", "--json"]).output) == []
    assert cli.invoke(app, ["schedules", "rm", "nightly"]).exit_code == 2


@pytest.mark.slow
def test_bpa_scheduler_fires_a_due_schedule_runs_it_and_stops_on_ctrl_c(tmp_path: Path) -> None:
    cli = CliRunner()
    payload = tmp_path / "input.json"
    payload.write_text(json.dumps({"text": "Invoice 7 from ACME, total 10.00 EUR"}))
    added = cli.invoke(
        app,
        [
            "schedules",
            "add",
            "soon",
            "--flow",
            "invoice_processing",
            "--cron",
            "0 0 1 1 *",
            "--input",
            str(payload),
        ],
    )
    schedule_id = json.loads(added.output)["id"]
    engine = open_engine(Settings())
    with engine.begin() as conn:  # make it due now instead of next new year's eve
        conn.execute(
            update(Schedule)
            .where(Schedule.id == schedule_id)  # type: ignore[arg-type]
            .values(next_fire_at=dt.datetime.now(dt.UTC) - dt.timedelta(seconds=5))
        )
    env = {**os.environ, "BPA_EXECUTOR_POLL_S": "0.1", "BPA_SCHEDULER_INTERVAL_S": "0.1"}
    command = [sys.executable, "-c", "from bpa.cli import app; app()", "scheduler"]
    proc = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    worker_argv = [sys.executable, "-c", "from bpa.cli import app; app()", "worker"]
    worker = subprocess.Popen(worker_argv, env=env, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 60
        runs: list = []  # type: ignore[type-arg]
        while time.monotonic() < deadline:
            listed = cli.invoke(app, ["runs", "list", "--json"])
            runs = json.loads(listed.output) if listed.exit_code == 0 else []
            if runs and runs[0]["status"] not in ("queued", "running"):
                break
            time.sleep(0.3)
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=30)
    finally:
        proc.kill()
        worker.send_signal(signal.SIGTERM)
        worker.wait(timeout=60)
    assert proc.returncode == 0, err.decode()
    assert b"stopped" in err
    assert len(runs) == 1 and runs[0]["status"] in ("waiting", "succeeded", "failed")
    shown = json.loads(cli.invoke(app, ["schedules", "show", schedule_id]).output)
    assert [f["status"] for f in shown["firings"]] == ["started"]
