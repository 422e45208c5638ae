"""Hearing of run changes instead of polling alone: PostgreSQL LISTEN/NOTIFY, or Redis pub/sub.

On PostgreSQL the database tells: triggers (migration 0009) send
`NOTIFY bpa_runs, '<run id>'` when a run's row changes or an event is appended to its
trail, inside the writing transaction, so the notification is delivered on commit and never
before the change is visible. Every writer (workers, the API's decisions, the sweeper) is
covered without knowing of it.

This process holds one connection that LISTENs, and wakes the followers of the runs named
(`PgChangeFeed.watch`): `/runs/{id}/wait` and the streams answer as soon as a worker wrote,
instead of at the follower's next poll. The follower still reads the database itself (a
notification only says "look now"), so a notification lost while the listening
connection is being re-established costs latency, never correctness: the follower's own
pauses continue as before.

On another database with a Redis broker, the writers publish the ids of the runs each commit
changed (bpa/runs/changes.py) and this process subscribes (`RedisChangeFeed`). Without
either, followers poll (api/streaming.py `Polling`).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import defaultdict
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from typing import Self

from sqlalchemy.engine import make_url

from api.streaming import Pause

__all__ = ["CHANNEL", "PgChangeFeed", "RedisChangeFeed", "listen_url"]

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


class _ListeningFeed:
    """A `ChangeFeed` (api/streaming.py) fed by one listening connection (`_listen`)."""

    def __init__(self) -> None:
        self._waiters: defaultdict[str, set[asyncio.Event]] = defaultdict(set)
        self._task: asyncio.Task[None] | None = None
        self.connected = asyncio.Event()
        self._failures = 0
        #: Notifications heard (for tests and metrics).
        self.heard = 0

    @contextlib.asynccontextmanager
    async def running(self) -> AsyncIterator[Self]:
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

    def _connected(self) -> None:
        """Anything written while (re)connecting was not heard: every follower looks again."""
        self.connected.set()
        self._failures = 0
        for run_id in list(self._waiters):
            self._wake(run_id)

    async def _listen(self) -> None:
        while True:
            try:
                await self._hear()
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # the source went away: followers keep polling
                self.connected.clear()
                delay = _RETRY_S[min(self._failures, len(_RETRY_S) - 1)]
                self._failures += 1
                log.warning(
                    "listening for run changes failed (%s); retrying in %.1f s",
                    type(exc).__name__,
                    delay,
                )
                await asyncio.sleep(delay)

    async def _hear(self) -> None:
        """Connect, subscribe, call `_connected`, then `_wake` per change until it fails."""
        raise NotImplementedError


class PgChangeFeed(_ListeningFeed):
    """Hears PostgreSQL's NOTIFY (the triggers of migration 0009)."""

    def __init__(self, conninfo: str) -> None:
        super().__init__()
        self._conninfo = conninfo

    async def _hear(self) -> None:
        import psycopg

        async with await psycopg.AsyncConnection.connect(self._conninfo, autocommit=True) as conn:
            await conn.execute(f"LISTEN {CHANNEL}")
            self._connected()
            async for note in conn.notifies():
                self._wake(note.payload)


class RedisChangeFeed(_ListeningFeed):
    """Hears the run ids writers publish on Redis (bpa/runs/changes.py), where the database
    cannot notify (SQLite with a Redis broker)."""

    def __init__(self, url: str) -> None:
        super().__init__()
        self._url = url

    async def _hear(self) -> None:
        import redis.asyncio as aioredis

        client = aioredis.Redis.from_url(self._url)
        try:
            async with client.pubsub(ignore_subscribe_messages=True) as pubsub:
                await pubsub.subscribe(CHANNEL)
                self._connected()
                async for message in pubsub.listen():
                    data = message.get("data")
                    if isinstance(data, bytes):
                        self._wake(data.decode("ascii", "replace"))
        finally:
            await client.aclose()
