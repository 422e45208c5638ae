"""A worker process's engine: the suite open on one asyncio loop, driving many runs at once.

Two ways to hear about work, the same execution:

- `poll_database` (no broker): the executor (bpa/executor.py) leases queued runs from the
  database itself; this is what `bpa serve` starts locally and `bpa worker` runs without
  `BPA_BROKER_URL`.
- `WorkerRuntime` (Celery): the loop runs in a thread of its own and Celery's pool threads
  hand it one run each (`execute`), waiting for the run to settle so that the message is
  acknowledged only then.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import logging
import signal
import threading
from collections.abc import Callable
from contextlib import AbstractAsyncContextManager

from bpa.config import Settings
from bpa.executor import Executor
from bpa.suite import Suite
from bpa.worker.heartbeats import Heartbeat

__all__ = ["WorkerRuntime", "poll_database"]

log = logging.getLogger("bpa.worker")

OpenSuite = Callable[[Settings], AbstractAsyncContextManager[Suite]]


async def poll_database(
    settings: Settings,
    *,
    concurrency: int,
    stop: asyncio.Event,
    open_suite: OpenSuite = Suite.open,
    ready: Callable[[Suite], None] | None = None,
) -> None:
    """Execute queued runs from the database until `stop` is set, then stop gracefully:
    running runs get `grace` seconds to finish, then stop at a checkpoint and go back."""
    async with open_suite(settings) as suite:
        await _warm_up(suite)
        executor = Executor(
            suite.runner,
            concurrency=concurrency,
            poll_interval=settings.executor_poll_s,
        )
        heartbeat = Heartbeat(
            suite.engine,
            owner=suite.runner.owner,
            kind="database",
            concurrency=concurrency,
            stats=lambda: (executor.in_flight(), executor.completed),
            interval=settings.worker_heartbeat_s,
        )
        async with heartbeat:
            await executor.start()
            if ready is not None:
                ready(suite)
            try:
                await stop.wait()
            finally:
                await executor.stop()


async def _warm_up(suite: Suite) -> None:
    """Load (in a new home: train) the offline classifiers before the first run needs them."""
    warm_up = getattr(suite.runner.models.backend, "warm_up", None)
    tasks = [task for flow in suite.runner.flows.values() for task in flow.classify_tasks]
    if warm_up is not None and tasks:
        try:
            await warm_up(tasks)
        except Exception:  # a run that needs the model reports the problem itself
            log.exception("warming the offline models up failed")


def stop_on_signals(stop: asyncio.Event) -> None:
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(sig, stop.set)


class WorkerRuntime:
    """The process's loop in a thread of its own, for Celery's pool threads to hand runs to."""

    def __init__(
        self,
        settings: Settings,
        *,
        concurrency: int,
        open_suite: OpenSuite = Suite.open,
        grace_s: float = 30.0,
    ) -> None:
        self.settings = settings
        self.concurrency = concurrency
        self.grace_s = grace_s
        self._open_suite = open_suite
        self._ready: concurrent.futures.Future[Suite] = concurrent.futures.Future()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop: asyncio.Event | None = None
        self._slots: asyncio.Semaphore | None = None
        self._thread: threading.Thread | None = None
        self._inflight: set[asyncio.Task[str]] = set()
        #: Runs this process executed (or found settled, or held elsewhere).
        self.executed = 0

    def start(self) -> Suite:
        if self._thread is None:
            self._thread = threading.Thread(target=self._main, name="bpa-runs", daemon=True)
            self._thread.start()
        return self._ready.result()

    def stop(self) -> None:
        """Let running runs finish for `grace_s`, then stop them at their next checkpoint."""
        if self._loop is not None and self._stop is not None:
            self._loop.call_soon_threadsafe(self._stop.set)
        if self._thread is not None:
            self._thread.join()
            self._thread = None

    def execute(self, run_id: str) -> str:
        """Execute the run on the loop; returns its status once it settled (or was skipped)."""
        suite = self.start()
        assert self._loop is not None
        future = asyncio.run_coroutine_threadsafe(self._execute(suite, run_id), self._loop)
        return future.result()

    async def _execute(self, suite: Suite, run_id: str) -> str:
        assert self._slots is not None
        async with self._slots:
            task = asyncio.current_task()
            assert task is not None
            self._inflight.add(task)
            try:
                run = await suite.runner.execute(run_id)
            finally:
                self._inflight.discard(task)
                self.executed += 1
        return str(run.status)

    def in_flight(self) -> int:
        return len(self._inflight)

    def _main(self) -> None:
        try:
            asyncio.run(self._serve())
        except BaseException as exc:
            if not self._ready.done():
                self._ready.set_exception(exc)
            else:
                log.exception("the worker's loop stopped with an error")

    async def _serve(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._stop = asyncio.Event()
        self._slots = asyncio.Semaphore(self.concurrency)
        async with self._open_suite(self.settings) as suite:
            await _warm_up(suite)
            heartbeat = Heartbeat(
                suite.engine,
                owner=suite.runner.owner,
                kind="celery",
                concurrency=self.concurrency,
                stats=lambda: (len(self._inflight), self.executed),
                interval=self.settings.worker_heartbeat_s,
            )
            async with heartbeat:
                self._ready.set_result(suite)
                await self._stop.wait()
                if self._inflight:
                    _, late = await asyncio.wait(list(self._inflight), timeout=self.grace_s)
                    for task in late:  # stops at its next step; the lease is given back
                        task.cancel()
                    await asyncio.gather(*late, return_exceptions=True)
