"""Durable background execution: bounded concurrency, leases shared by several executors and
processes, and recovery after a crash without repeating connector side effects."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from toy_ledger import GAUGE, ToyBank, finish, spawn_worker, toy_runner, toy_settings

from bpa.config import Settings
from bpa.executor import Executor
from bpa.runs.runner import Runner
from bpa.runs.tables import RunStatus


@pytest.fixture
def home(tmp_path: Path) -> Path:
    return tmp_path / "home"


@pytest.fixture
async def runner(home: Path) -> AsyncIterator[Runner]:
    async with toy_runner(toy_settings(home, run_lease_s=2)) as runner:
        yield runner


def bank(runner: Runner) -> ToyBank:
    connector = runner.connectors["bank"]
    assert isinstance(connector, ToyBank)
    return connector


def submit(runner: Runner, n: int, **payload: object) -> list[str]:
    return [
        runner.submit("ledger", {"account": f"acct-{i}", **payload}, trigger="api")[0].id
        for i in range(n)
    ]


def event_counts(runner: Runner, run_id: str) -> Counter[str]:
    return Counter(e.kind for e in runner.store.events(run_id))


def assert_each_charged_once(runner: Runner, run_ids: list[str]) -> None:
    charges = Counter(c.account for c in bank(runner).charges())
    assert charges["fees"] == len(run_ids), "every run books its fee exactly once"
    assert all(charges[f"acct-{i}"] == 1 for i in range(len(run_ids))), charges


async def wait_for(predicate, timeout: float = 10.0) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise TimeoutError("condition not reached")
        await asyncio.sleep(0.02)


async def test_queued_runs_drain_with_bounded_concurrency(runner: Runner) -> None:
    # each run lasts long enough (0.3 s) that a busy machine still sees three at once
    ids = submit(runner, 10, delay=0.3)
    GAUGE.update(now=0, max=0)
    executor = Executor(runner, concurrency=3, poll_interval=0.05)
    await executor.run_until_idle(timeout=20)
    await executor.stop()

    assert GAUGE["max"] == 3, "never more than `concurrency` runs at once, and it uses them all"
    assert all(runner.store.get(i).status == RunStatus.succeeded for i in ids)
    assert_each_charged_once(runner, ids)
    assert executor.in_flight() == 0 and executor.queue_depth() == 0
    assert runner.store.count_by_flow_status() == {("ledger", "succeeded"): 10}
    run = runner.store.get(ids[0])
    assert run.claimed_by is None and run.lease_until is None, "a finished run holds no lease"


async def test_notify_starts_new_work_before_the_next_poll(runner: Runner) -> None:
    executor = Executor(runner, concurrency=2, poll_interval=30)
    await executor.start()
    await asyncio.sleep(0.05)  # the first poll found nothing
    [run_id] = submit(runner, 1)
    executor.notify(run_id)
    await wait_for(lambda: runner.store.get(run_id).status == RunStatus.succeeded, timeout=5)
    await executor.stop()


async def test_two_executors_on_one_database_never_run_a_run_twice(home: Path) -> None:
    settings = toy_settings(home, run_lease_s=5)
    async with toy_runner(settings) as one, toy_runner(settings) as two:
        assert one.owner != two.owner
        ids = submit(one, 24, delay=0.01)
        first = Executor(one, concurrency=4, poll_interval=0.01)
        second = Executor(two, concurrency=4, poll_interval=0.01)
        await asyncio.gather(first.run_until_idle(timeout=30), second.run_until_idle(timeout=30))
        await asyncio.gather(first.stop(), second.stop())

        assert first.completed > 0 and second.completed > 0, "both executors took work"
        assert first.completed + second.completed == len(ids)
        for run_id in ids:
            counts = event_counts(one, run_id)
            assert counts["run_started"] == 1 and counts["run_finished"] == 1, counts
        assert set(bank(one).node_runs("charge").values()) == {1}
        assert_each_charged_once(one, ids)


async def test_stopped_runs_are_given_back_and_resume_from_their_checkpoint(home: Path) -> None:
    settings = toy_settings(home, run_lease_s=30)
    async with toy_runner(settings) as runner:
        ids = submit(runner, 2, delay=0.6)
        executor = Executor(runner, concurrency=2, poll_interval=0.01, grace=0.05)
        await executor.start()
        await wait_for(lambda: len(bank(runner).node_runs("pause")) == 2)
        await executor.stop()  # the runs sleep longer than the grace period
        for run_id in ids:
            run = runner.store.get(run_id)
            assert run.status == RunStatus.running and run.claimed_by is None
            assert event_counts(runner, run_id)["run_paused"] == 1

    # A later process (new runner, new owner) continues them at once, lease or not.
    async with toy_runner(settings) as later:
        executor = Executor(later, concurrency=2, poll_interval=0.01)
        await executor.run_until_idle(timeout=30)
        await executor.stop()
        for run_id in ids:
            counts = event_counts(later, run_id)
            assert later.store.get(run_id).status == RunStatus.succeeded
            assert counts["run_recovered"] == 1 and counts["run_finished"] == 1
        assert set(bank(later).node_runs("charge").values()) == {1}, "charge was checkpointed"
        assert_each_charged_once(later, ids)


async def test_a_live_lease_elsewhere_is_respected_until_it_runs_out(runner: Runner) -> None:
    [run_id] = submit(runner, 1)
    assert runner.store.acquire(run_id, "otherhost:1:abc", lease_s=0.4)
    executor = Executor(runner, concurrency=1, poll_interval=0.02)
    await executor.run_until_idle(timeout=5)
    assert runner.store.get(run_id).status == RunStatus.queued, "held by a live process"
    await asyncio.sleep(0.5)
    await executor.run_until_idle(timeout=5)
    await executor.stop()
    assert runner.store.get(run_id).status == RunStatus.succeeded


async def test_a_dead_process_on_this_host_gives_up_its_runs_at_once(runner: Runner) -> None:
    [run_id] = submit(runner, 1)
    gone = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"],
        capture_output=True,
        text=True,
        check=True,
    )
    owner = f"{os.uname().nodename}:{gone.stdout.strip()}:dead"
    assert runner.store.acquire(run_id, owner, lease_s=3600)
    executor = Executor(runner, concurrency=1, poll_interval=0.02)
    await executor.run_until_idle(timeout=5)
    await executor.stop()
    assert runner.store.get(run_id).status == RunStatus.succeeded


async def test_cancel_stops_a_running_run_for_good(runner: Runner) -> None:
    [run_id] = submit(runner, 1, delay=5)
    executor = Executor(runner, concurrency=1, poll_interval=0.01)
    await executor.start()
    await wait_for(lambda: bank(runner).node_runs("pause").get(run_id) == 1)
    cancelled = await runner.cancel(run_id)
    assert executor.cancel(run_id) is True
    await wait_for(lambda: executor.in_flight() == 0)
    await asyncio.sleep(0.1)  # a re-claim would happen now
    await executor.stop()
    run = runner.store.get(run_id)
    assert cancelled.status == run.status == RunStatus.cancelled
    assert [c.account for c in bank(runner).charges()] == ["acct-0"], "no fee after cancel"
    assert event_counts(runner, run_id)["run_paused"] == 0


async def test_run_stopped_right_after_a_human_answer_finishes_with_that_answer(
    runner: Runner,
) -> None:
    [run_id] = submit(runner, 1, delay=0.5, ask=True)
    executor = Executor(runner, concurrency=1, poll_interval=0.01)
    await executor.run_until_idle(timeout=10)
    assert runner.store.get(run_id).status == RunStatus.waiting

    answering = asyncio.create_task(runner.resume(run_id, {"action": "approve"}, by="ann"))
    await wait_for(lambda: bank(runner).node_runs("pause").get(run_id) == 2)
    await asyncio.sleep(0.05)
    answering.cancel()  # the process stops while the answered step is still running
    with pytest.raises(asyncio.CancelledError):
        await answering
    assert runner.store.get(run_id).status == RunStatus.running

    await executor.run_until_idle(timeout=10)
    await executor.stop()
    run = runner.store.get(run_id)
    assert run.status == RunStatus.succeeded and run.output["approved"] is True
    assert runner.store.pending_approval(run_id) is None
    assert_each_charged_once(runner, [run_id])


async def test_process_dying_right_after_a_side_effect_does_not_repeat_it(
    home: Path, tmp_path: Path
) -> None:
    settings = toy_settings(home)
    marker = tmp_path / "crashed"
    async with toy_runner(settings) as runner:
        ids = submit(runner, 5, delay=0.01)
    url = settings.resolved_database_url()

    assert finish(spawn_worker(url, home, "--crash-marker", str(marker))) == 137
    crashed = marker.read_text()
    assert finish(spawn_worker(url, home, "--crash-marker", str(marker))) == 0

    async with toy_runner(settings) as runner:
        assert all(runner.store.get(i).status == RunStatus.succeeded for i in ids)
        assert bank(runner).node_runs("charge")[crashed] == 2, "the charge node ran again"
        assert_each_charged_once(runner, ids)  # ...and replayed the recorded charge
        counts = event_counts(runner, crashed)
        assert counts["run_started"] + counts["run_recovered"] == 2, "executed twice..."
        assert counts["run_finished"] == 1, "...finished once"


async def test_sigkill_mid_batch_then_restart_finishes_every_run_exactly_once(
    home: Path,
) -> None:
    settings = toy_settings(home)
    async with toy_runner(settings) as runner:
        ids = submit(runner, 8, delay=0.5)
        url = settings.resolved_database_url()
        proc = spawn_worker(url, home, "--concurrency", "3")

        def mid_batch() -> bool:  # some runs done, and one charged and now pausing
            statuses = {i: runner.store.get(i).status for i in ids}
            charged = bank(runner).node_runs("charge")
            return RunStatus.succeeded in statuses.values() and any(
                status == RunStatus.running and i in charged for i, status in statuses.items()
            )

        await wait_for(mid_batch, timeout=60)
        await asyncio.sleep(0.1)  # its charge step's checkpoint is written meanwhile
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)
        interrupted = [i for i in ids if runner.store.get(i).status == RunStatus.running]
        assert interrupted

        assert finish(spawn_worker(url, home, "--concurrency", "3")) == 0
        for run_id in ids:
            assert runner.store.get(run_id).status == RunStatus.succeeded
            assert event_counts(runner, run_id)["run_finished"] == 1
        for run_id in interrupted:  # from its checkpoint, or from the start if it had none
            counts = event_counts(runner, run_id)
            assert counts["run_started"] + counts["run_recovered"] == 2, counts
        assert any(event_counts(runner, i)["run_recovered"] for i in interrupted)
        assert_each_charged_once(runner, ids)


async def test_a_run_that_kills_its_process_every_time_fails_after_max_attempts(
    home: Path,
) -> None:
    """Issue #10, item 4: attempts are counted and capped; the other runs are not held up."""
    settings = toy_settings(home)
    async with toy_runner(settings) as runner:
        good = submit(runner, 3)
        poison = runner.submit("ledger", {"account": "bad", "poison": True}, trigger="api")[0].id
        url = settings.resolved_database_url()
        codes = []
        for _ in range(12):  # restarts, as a supervisor would do (a back-off may idle one)
            codes.append(finish(spawn_worker(url, home, "--concurrency", "1", "--settle", "0.5")))
            if runner.store.get(poison).status == RunStatus.failed:
                break
        run = runner.store.get(poison)
        assert run.status == RunStatus.failed, (run.status, codes)
        assert run.error is not None and run.error["code"] == "crashed_repeatedly"
        assert codes.count(137) == settings.max_attempts == 3
        counts = event_counts(runner, poison)
        assert counts["run_started"] + counts["run_recovered"] == 3, counts
        assert counts["run_finished"] == 1
        # its charge, made before the step that kills it, is in its trail once, as the
        # bank's ledger recorded it (its outcome had waited for a write that never came)
        assert (counts["connector_intent"], counts["connector_call"]) == (1, 1), counts
        for run_id in good:
            assert runner.store.get(run_id).status == RunStatus.succeeded


@pytest.mark.slow
async def test_two_worker_processes_share_the_queue_without_running_a_run_twice(
    home: Path,
) -> None:
    settings: Settings = toy_settings(home)
    async with toy_runner(settings) as runner:
        # enough waiting work (40 runs of 0.2 s, 2 s for one worker at 4 at a time) that the
        # second process, started a moment later on a busy machine, still finds some
        ids = submit(runner, 40, delay=0.2)
        url = settings.resolved_database_url()
        procs = [spawn_worker(url, home, "--concurrency", "4", "--settle", "0.3") for _ in range(2)]
        assert [finish(p) for p in procs] == [0, 0]
        pids = {r.pid for r in _node_rows(runner)}
        assert len(pids) == 2, "both processes executed runs"
        for run_id in ids:
            counts = event_counts(runner, run_id)
            assert counts["run_started"] == 1 and counts["run_finished"] == 1, counts
        assert set(bank(runner).node_runs("charge").values()) == {1}
        assert_each_charged_once(runner, ids)


def _node_rows(runner: Runner) -> list:  # type: ignore[type-arg]
    from sqlmodel import Session, select
    from toy_ledger import ToyNodeRun

    with Session(bank(runner).engine) as session:
        return list(session.exec(select(ToyNodeRun)).all())
