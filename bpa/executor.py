"""Durable background execution: queued runs live in the database; executors lease and run
them with bounded concurrency.

An executor repeatedly leases the oldest runs it can execute (queued ones, and `running`
ones whose holder died: their lease ran out, or their process on this host is gone) and
drives each with `runner.execute`, which continues a run from its last LangGraph
checkpoint. Connector nodes derive idempotency keys from the run and node, so a node that
runs again after a crash replays its connector call instead of repeating it. Any number of
executors, in any number of processes, may share one database: leasing is an atomic
conditional UPDATE (bpa/runs/leases.py).
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import time

from bpa.runs.runner import Runner
from bpa.runs.store import RunStore

__all__ = ["Executor"]

log = logging.getLogger("bpa.executor")

#: Polls between sweeps for runs whose process died on this host.
_SWEEP_EVERY = 10


class Executor:
    """Runs queued runs in the background of this process.

    `start()` begins; `notify()` says new work was queued (otherwise it is found at the next
    poll); `stop()` stops leasing, gives running runs `grace` seconds to finish, then stops
    them: they keep their checkpoints and are resumed by the next executor.
    """

    def __init__(
        self,
        runner: Runner,
        store: RunStore | None = None,
        *,
        concurrency: int = 4,
        poll_interval: float = 1.0,
        grace: float = 10.0,
    ) -> None:
        if concurrency < 1:
            raise ValueError("concurrency must be at least 1")
        self.runner = runner
        self.store = store or runner.store
        self.concurrency = concurrency
        self.poll_interval = poll_interval
        self.grace = grace
        self._running: dict[str, asyncio.Task[None]] = {}
        self._wake = asyncio.Event()
        self._loop_task: asyncio.Task[None] | None = None
        self._stopping = False
        #: Runs this executor finished (or gave back) since it started.
        self.completed = 0

    # -- the RunExecutor protocol of the API ------------------------------------------------
    async def start(self) -> None:
        if self._loop_task is None:
            self._stopping = False
            self._sweep()
            self._loop_task = asyncio.create_task(self._loop(), name="bpa-executor")

    async def stop(self) -> None:
        self._stopping = True
        self._wake.set()
        if self._loop_task is not None:
            with contextlib.suppress(asyncio.CancelledError):
                await self._loop_task
            self._loop_task = None
        tasks = list(self._running.values())
        if not tasks:
            return
        _, late = await asyncio.wait(tasks, timeout=self.grace)
        for task in late:
            task.cancel()
        await asyncio.gather(*late, return_exceptions=True)

    def notify(self, run_id: str | None = None) -> None:
        """New work was queued: look now instead of at the next poll."""
        self._wake.set()

    def cancel(self, run_id: str) -> bool:
        """Stop this process's execution of the run at once; True if it was executing here.

        Call `runner.cancel` as well to mark the run cancelled; alone, this gives the run
        back to be resumed (like a shutdown does).
        """
        task = self._running.get(run_id)
        if task is None or task.done():
            return False
        task.cancel()
        return True

    def in_flight(self) -> int:
        return len(self._running)

    def queue_depth(self) -> int:
        return self.store.queue_depth()

    # -- helpers for the CLI and tests ------------------------------------------------------
    async def run_until_idle(self, *, timeout: float | None = None, settle: float = 0.0) -> None:
        """Start (if needed) and return once nothing is queued, leasable or executing here.

        `settle` waits that long with no work before returning (lets late arrivals in).
        """
        await self.start()
        deadline = None if timeout is None else time.monotonic() + timeout
        idle_since: float | None = None
        while True:
            idle = not self._running and not self._claimable()
            now = time.monotonic()
            if idle:
                idle_since = idle_since or now
                if now - idle_since >= settle:
                    return
            else:
                idle_since = None
            if deadline is not None and now > deadline:
                raise TimeoutError(f"runs still pending after {timeout} s")
            self._wake.set()
            await asyncio.sleep(min(0.05, self.poll_interval))

    # -- internals --------------------------------------------------------------------------
    def _claimable(self) -> bool:
        return self.store.leasable(flows=list(self.runner.flows)) > 0

    def _sweep(self) -> None:
        freed = self.store.expire_dead_leases(backoff_s=self.runner.settings.retry_backoff_s)
        if freed:
            log.info("resuming %d run(s) of a process that died: %s", len(freed), ", ".join(freed))

    def _requeue(self) -> None:
        """Queue the runs whose wait for a connector (an open circuit breaker) is over."""
        requeued = self.store.requeue_parked()
        if requeued:
            log.info("%d run(s) waited for a connector long enough; they continue", len(requeued))

    async def _loop(self) -> None:
        polls = 0
        while not self._stopping:
            try:
                if polls and polls % _SWEEP_EVERY == 0:
                    self._sweep()
                self._requeue()
                self._fill()
            except Exception:  # the database may be briefly unavailable; poll again
                log.exception("executor poll failed")
            polls += 1
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), self.poll_interval)
            self._wake.clear()

    def _fill(self) -> None:
        free = self.concurrency - len(self._running)
        if free <= 0 or self._stopping:
            return
        claimed = self.store.claim_next(
            self.runner.owner,
            flows=list(self.runner.flows),
            limit=free,
            lease_s=self.runner.lease_s,
        )
        for run_id in claimed:
            task = asyncio.create_task(self._execute(run_id), name=f"run:{run_id}")
            self._running[run_id] = task
            task.add_done_callback(functools.partial(self._done, run_id))

    def _done(self, run_id: str, _task: asyncio.Task[None]) -> None:
        self._running.pop(run_id, None)
        self.completed += 1
        self._wake.set()

    async def _execute(self, run_id: str) -> None:
        try:
            run = await self.runner.execute(run_id)
            log.debug("run %s is %s", run_id, run.status)
        except asyncio.CancelledError:
            raise
        except Exception:  # the lease runs out and the run is tried again later
            log.exception("run %s could not be executed; it will be retried", run_id)
