"""Hearing of run changes on PostgreSQL: LISTEN/NOTIFY instead of polling alone.

The database tells: triggers (migration 0009) send `NOTIFY bpa_runs, '<run id>'` when a
run's row changes or an event is appended to its trail, inside the writing transaction, so
the notification is delivered on commit and never before the change is visible. Every
writer (workers, the API's decisions, the sweeper) is covered without knowing of it.

This process holds one connection that LISTENs, and wakes the followers of the runs named
(`PgChangeFeed.watch`): `/runs/{id}/wait` and the streams answer as soon as a worker wrote,
instead of at the follower's next poll. The follower still reads the database itself (a
notification only says "look now"), so a notification lost while the listening
connection is being re-established costs latency, never correctness: the follower's own
pauses continue as before.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import defaultdict
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager

from sqlalchemy.engine import make_url

from api.streaming import Pause

__all__ = ["CHANNEL", "PgChangeFeed", "listen_url"]

log = logging.getLogger("bpa.api.notify")

#: The channel the triggers notify on; the payload is the run's id.
CHANNEL = "bpa_runs"
_RETRY_S = (0.5, 1.0, 2.0, 5.0)


def listen_url(database_url: str) -> str | None:
    """A libpq connection string for `database_url` when it is PostgreSQL, else None."""
    url = make_url(database_url)
    if url.get_backend_name() != "postgresql":
        return None
    return url.set(drivername="postgresql").render_as_string(hide_password=False)


class PgChangeFeed:
    """A `ChangeFeed` (api/streaming.py) fed by one LISTENing connection."""

    def __init__(self, conninfo: str) -> None:
        self._conninfo = conninfo
        self._waiters: defaultdict[str, set[asyncio.Event]] = defaultdict(set)
        self._task: asyncio.Task[None] | None = None
        self.connected = asyncio.Event()
        #: Notifications heard (for tests and metrics).
        self.heard = 0

    @contextlib.asynccontextmanager
    async def running(self) -> AsyncIterator[PgChangeFeed]:
        """Listen while the block runs (the app's lifespan)."""
        self._task = asyncio.create_task(self._listen(), name="bpa-listen")
        try:
            yield self
        finally:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    @contextmanager
    def watch(self, run_id: str) -> Iterator[Pause]:
        changed = asyncio.Event()
        self._waiters[run_id].add(changed)

        async def pause(seconds: float) -> None:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(changed.wait(), seconds)
            changed.clear()

        try:
            yield pause
        finally:
            waiters = self._waiters.get(run_id)
            if waiters is not None:
                waiters.discard(changed)
                if not waiters:
                    del self._waiters[run_id]

    def _wake(self, run_id: str) -> None:
        self.heard += 1
        for changed in self._waiters.get(run_id, ()):
            changed.set()

    async def _listen(self) -> None:
        import psycopg

        failures = 0
        while True:
            try:
                async with await psycopg.AsyncConnection.connect(
                    self._conninfo, autocommit=True
                ) as conn:
                    await conn.execute(f"LISTEN {CHANNEL}")
                    self.connected.set()
                    failures = 0
                    # Anything written while (re)connecting was not heard: look again.
                    for run_id in list(self._waiters):
                        self._wake(run_id)
                    async for note in conn.notifies():
                        self._wake(note.payload)
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # the database went away: followers keep polling
                self.connected.clear()
                delay = _RETRY_S[min(failures, len(_RETRY_S) - 1)]
                failures += 1
                log.warning(
                    "listening for run changes failed (%s); retrying in %.1f s",
                    type(exc).__name__,
                    delay,
                )
                await asyncio.sleep(delay)
