"""Where runs execute: the suite, its executor and its scheduler on an event loop of their own.

Flow nodes compute (parsing, extraction, classification) and make blocking database calls;
on the loop that serves HTTP they would hold up every request. So the engine lives in a
thread with its own loop (`EngineHost`): the HTTP side records queued runs and reads from
the database itself (thread-safe, synchronous), and hands engine work (resume, cancel,
connector health) over with `EngineHost.call`. Everything async the suite opens (the
checkpointer, connectors) is created and used on the engine loop only.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import logging
import threading
from collections.abc import Awaitable, Callable
from contextlib import AbstractAsyncContextManager, nullcontext
from typing import Protocol, TypeVar

from bpa.config import Settings
from bpa.executor import Executor
from bpa.foreground import Foreground, engine_loop_factory
from bpa.runs.tables import Run
from bpa.scheduler import SchedulerLoop
from bpa.suite import Suite

__all__ = ["EngineHost", "MakeExecutor", "OpenSuite", "RunExecutor", "default_executor"]

log = logging.getLogger("bpa.api.engine")
T = TypeVar("T")


class RunExecutor(Protocol):
    """What the API needs of an executor (bpa/executor.py `Executor` is the real one)."""

    async def start(self) -> None: ...

    async def stop(self) -> None: ...

    def notify(self, run_id: str | None = None) -> None: ...

    def cancel(self, run_id: str) -> bool: ...

    def in_flight(self) -> int: ...


OpenSuite = Callable[[Settings], AbstractAsyncContextManager[Suite]]
MakeExecutor = Callable[[Suite, Settings], RunExecutor]


def default_executor(suite: Suite, settings: Settings) -> RunExecutor:
    return Executor(
        suite.runner,
        suite.store,
        concurrency=settings.executor_concurrency,
        poll_interval=settings.executor_poll_s,
    )


async def _warm_up(suite: Suite) -> None:
    """Load (in a new home: train) the offline classifiers the flows use before the server
    says it is ready, so that the first runs do not pay for it."""
    warm_up = getattr(suite.runner.models.backend, "warm_up", None)
    tasks = [task for flow in suite.runner.flows.values() for task in flow.classify_tasks]
    if warm_up is not None and tasks:
        try:
            await warm_up(tasks)
        except Exception:  # a run that needs the model reports the problem itself
            log.exception("warming the offline models up failed")


class EngineHost:
    """Runs the engine in a thread; `start()` returns once the suite is open."""

    def __init__(
        self,
        settings: Settings,
        *,
        open_suite: OpenSuite,
        make_executor: MakeExecutor,
        run_executor: bool = True,
        run_scheduler: bool = True,
        prepare: Callable[[Suite], None] | None = None,
        foreground: Foreground | None = None,
    ) -> None:
        """Without `run_executor`, queued runs wait for another process (`bpa scheduler`);
        `prepare` runs on the engine thread once the suite is open, before any run executes
        (to add runner listeners). With `foreground`, runs give way to the requests it
        counts (bpa/foreground.py)."""
        self.settings = settings
        self.foreground = foreground
        self._prepare = prepare
        self._run_executor = run_executor
        self._open_suite = open_suite
        self._make_executor = make_executor
        self._run_scheduler = run_scheduler
        self._ready: concurrent.futures.Future[Suite] = concurrent.futures.Future()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stopping: asyncio.Event | None = None
        self._thread: threading.Thread | None = None
        self.executor: RunExecutor | None = None
        self._notified = False
        self.scheduler: SchedulerLoop | None = None

    # -- lifecycle (called from the HTTP loop) ----------------------------------------------
    async def start(self) -> Suite:
        self._thread = threading.Thread(target=self._main, name="bpa-engine", daemon=True)
        self._thread.start()
        return await asyncio.wrap_future(self._ready)

    async def stop(self) -> None:
        if self._loop is not None and self._stopping is not None:
            self._loop.call_soon_threadsafe(self._stopping.set)
        if self._thread is not None:
            await asyncio.to_thread(self._thread.join)

    # -- handing work over ------------------------------------------------------------------
    async def call(self, work: Callable[[], Awaitable[T]]) -> T:
        """Run `work()` on the engine loop and await its result here."""
        assert self._loop is not None, "the engine is not running"

        async def run() -> T:
            return await work()

        future = asyncio.run_coroutine_threadsafe(run(), self._loop)
        # The engine does this request's work now: the request must not hold it back.
        with self.foreground.aside() if self.foreground is not None else nullcontext():
            return await asyncio.wrap_future(future)

    def notify(self, run_id: str | None = None) -> None:
        """Runs were queued: the executor looks now instead of at its next poll. Calls made
        before the engine got to the last one add nothing (one wake-up for many runs)."""
        if self._loop is not None and self.executor is not None and not self._notified:
            self._notified = True
            self._loop.call_soon_threadsafe(self._wake_executor)

    def _wake_executor(self) -> None:
        self._notified = False
        if self.executor is not None:
            self.executor.notify()

    def schedules_changed(self) -> None:
        if self._loop is not None and self.scheduler is not None:
            self._loop.call_soon_threadsafe(self.scheduler.notify)

    def in_flight(self) -> int:
        return self.executor.in_flight() if self.executor is not None else 0

    async def cancel(self, suite: Suite, run_id: str, reason: str) -> Run:
        """Mark the run cancelled (its lease goes with it), then stop it if it runs here."""

        async def cancel() -> Run:
            run = await suite.runner.cancel(run_id, reason=reason)
            if self.executor is not None:
                self.executor.cancel(run_id)
            return run

        return await self.call(cancel)

    # -- the engine thread ------------------------------------------------------------------
    def _main(self) -> None:
        factory = engine_loop_factory(self.foreground) if self.foreground is not None else None
        try:
            with asyncio.Runner(loop_factory=factory) as runner:
                runner.run(self._serve())
        except BaseException as exc:  # reported to start() when it happens before ready
            if not self._ready.done():
                self._ready.set_exception(exc)
            else:
                log.exception("the engine stopped with an error")

    async def _serve(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._stopping = asyncio.Event()
        async with self._open_suite(self.settings) as suite:
            if self._prepare is not None:
                self._prepare(suite)
            if self._run_executor:
                self.executor = self._make_executor(suite, self.settings)
            if self._run_scheduler:
                self.scheduler = SchedulerLoop(
                    suite.schedules,
                    suite.runner,
                    executor=self.executor,
                    interval=self.settings.scheduler_interval_s,
                    misfire_grace=self.settings.scheduler_misfire_grace_s,
                )
            if self.executor is not None:
                await _warm_up(suite)
                await self.executor.start()
            if self.scheduler is not None:
                await self.scheduler.start()
            self._ready.set_result(suite)
            try:
                await self._stopping.wait()
            finally:
                if self.scheduler is not None:
                    await self.scheduler.stop()
                if self.executor is not None:
                    await self.executor.stop()
