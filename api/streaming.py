"""Following a run's audit trail as it is written, for SSE streams and `/runs/wait`.

The database is the source of truth: a follower reads new events from the store. The
runner's listeners only wake followers up at once when the run executes in this process;
when it executes elsewhere (another `bpa serve` on the same database) followers poll.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import AsyncIterator, Iterator
from contextlib import AbstractContextManager, contextmanager, nullcontext, suppress

from bpa.foreground import Foreground
from bpa.runs.runner import Runner
from bpa.runs.store import RunStore
from bpa.runs.tables import Run, RunEvent, RunStatus

__all__ = ["RunWatch", "settled"]


def settled(run: Run) -> bool:
    """Nothing more happens to the run without a human (or it is over)."""
    status = RunStatus(run.status)
    return status.finished or status == RunStatus.waiting


class RunWatch:
    def __init__(
        self,
        runner: Runner,
        loop: asyncio.AbstractEventLoop,
        *,
        poll_s: float = 0.5,
        foreground: Foreground | None = None,
    ) -> None:
        """`loop` is the one followers run on; listeners may be called from any thread.
        Followers step aside from `foreground` while they wait (they wait for the engine)."""
        self.runner = runner
        self.foreground = foreground
        self.store: RunStore = runner.store
        self.poll_s = poll_s
        self._loop = loop
        self._waiters: dict[str, set[asyncio.Event]] = {}
        self._guard = threading.Lock()
        runner.listeners.append(self._on_events)

    def close(self) -> None:
        if self._on_events in self.runner.listeners:
            self.runner.listeners.remove(self._on_events)

    def _on_events(self, run_id: str, events: list[RunEvent]) -> None:
        with self._guard:
            waiters = list(self._waiters.get(run_id, ()))
        for waiter in waiters:
            self._loop.call_soon_threadsafe(waiter.set)

    @contextmanager
    def _subscribed(self, run_id: str) -> Iterator[asyncio.Event]:
        waiter = asyncio.Event()
        with self._guard:
            self._waiters.setdefault(run_id, set()).add(waiter)
        try:
            yield waiter
        finally:
            with self._guard:
                waiters = self._waiters.get(run_id, set())
                waiters.discard(waiter)
                if not waiters:
                    self._waiters.pop(run_id, None)

    def _aside(self) -> AbstractContextManager[None]:
        return self.foreground.aside() if self.foreground is not None else nullcontext()

    async def _pause(self, waiter: asyncio.Event) -> None:
        with self._aside(), suppress(TimeoutError):
            await asyncio.wait_for(waiter.wait(), timeout=self.poll_s)
        waiter.clear()

    async def follow(self, run_id: str, *, after: int = 0) -> AsyncIterator[RunEvent | Run]:
        """Events after `after` as they are written, then the run once it has settled."""
        with self._subscribed(run_id) as waiter:
            while True:
                # Status first: a settled run's events were committed with that status.
                run = self.store.get(run_id)
                for event in self.store.events(run_id, after_id=after):
                    after = event.id or after
                    yield event
                if settled(run):
                    yield run
                    return
                await self._pause(waiter)

    async def wait(self, run_id: str, *, timeout_s: float) -> Run:
        """The run once it has settled, or as it is when `timeout_s` has passed."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout_s
        with self._subscribed(run_id) as waiter:
            while True:
                run = self.store.get(run_id)
                if settled(run) or loop.time() >= deadline:
                    return run
                with self._aside(), suppress(TimeoutError):
                    await asyncio.wait_for(
                        waiter.wait(), timeout=min(self.poll_s, deadline - loop.time())
                    )
                waiter.clear()
