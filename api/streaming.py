"""Following a run through the database, for SSE streams, `/runs/wait` and resumes.

Runs execute in worker processes, so the database is the only place where this process
sees them move on. A follower reads the run and its new events off the event loop, then
pauses before it looks again: 50 ms at first, backing off to 500 ms while nothing changes.
How it pauses is a `ChangeFeed`: `Polling` just sleeps; a feed that hears of changes
(PostgreSQL LISTEN/NOTIFY, Redis pub/sub) ends the pause as soon as the run changed.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from typing import Protocol

from starlette.concurrency import run_in_threadpool

from bpa.runs.store import RunStore
from bpa.runs.tables import Run, RunEvent, RunStatus

__all__ = ["ChangeFeed", "Pause", "Polling", "RunFollower", "settled"]

#: Waits up to the given seconds; returns sooner when the run may have changed.
Pause = Callable[[float], Awaitable[None]]


def settled(run: Run) -> bool:
    """Nothing more happens to the run without a human (or it is over)."""
    status = RunStatus(run.status)
    return status.finished or status == RunStatus.waiting


class ChangeFeed(Protocol):
    def watch(self, run_id: str) -> AbstractContextManager[Pause]:
        """Subscribe to changes of the run before its first read (so none is missed); the
        pause it yields returns early once a change was heard."""
        ...


class Polling:
    """No notifications: the follower looks again after each pause."""

    @contextmanager
    def watch(self, run_id: str) -> Iterator[Pause]:
        yield asyncio.sleep


class RunFollower:
    def __init__(
        self,
        store: RunStore,
        feed: ChangeFeed | None = None,
        *,
        first_pause_s: float = 0.05,
        max_pause_s: float = 0.5,
    ) -> None:
        self.store = store
        self.feed: ChangeFeed = feed or Polling()
        self.first_pause_s = first_pause_s
        self.max_pause_s = max_pause_s

    def _read(self, run_id: str, after: int) -> tuple[Run, list[RunEvent]]:
        # Status first: a settled run's events were committed with that status.
        run = self.store.get(run_id)
        return run, self.store.events(run_id, after_id=after)

    def _next_pause(self, pause_s: float, changed: bool) -> float:
        return self.first_pause_s if changed else min(pause_s * 2, self.max_pause_s)

    async def follow(
        self, run_id: str, *, after: int = 0, until_finished: bool = False
    ) -> AsyncIterator[RunEvent | Run]:
        """Events after `after` as they are written, then the run once it has settled (with
        `until_finished`: once it finished; an answer moves a waiting run on)."""
        done = (lambda run: RunStatus(run.status).finished) if until_finished else settled
        pause_s = self.first_pause_s
        with self.feed.watch(run_id) as pause:
            while True:
                run, events = await run_in_threadpool(self._read, run_id, after)
                for event in events:
                    after = event.id or after
                    yield event
                if done(run):
                    yield run
                    return
                await pause(pause_s)
                pause_s = self._next_pause(pause_s, bool(events))

    async def wait(self, run_id: str, *, timeout_s: float) -> Run:
        """The run once it has settled, or as it is when `timeout_s` has passed."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout_s
        pause_s = self.first_pause_s
        status = None
        with self.feed.watch(run_id) as pause:
            while True:
                run = await run_in_threadpool(self.store.get, run_id)
                left = deadline - loop.time()
                if settled(run) or left <= 0:
                    return run
                await pause(min(pause_s, left))
                pause_s = self._next_pause(pause_s, run.status != status)
                status = run.status
