"""Workers say they are alive: one row per worker process, refreshed every few seconds.

`/readyz` and `/metrics` read them (who is executing, how much, when last seen), so an
operator sees a dead or stuck worker without logging into its machine.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
import os
import socket
from collections.abc import Callable

from sqlalchemy import Engine, delete, insert, select, update
from sqlmodel import Field, SQLModel

from bpa.db import table_of
from bpa.runs.tables import utcnow

__all__ = ["Heartbeat", "WorkerBeat", "live_workers"]

log = logging.getLogger("bpa.worker")


class WorkerBeat(SQLModel, table=True):
    __tablename__ = "bpa_workers"

    id: str = Field(primary_key=True, description="The worker's owner name (host:pid:token)")
    kind: str = Field(description="database (polls) or celery")
    host: str
    pid: int
    concurrency: int
    in_flight: int = 0
    executed: int = Field(default=0, description="Runs it executed since it started")
    started_at: dt.datetime = Field(default_factory=utcnow)
    seen_at: dt.datetime = Field(default_factory=utcnow, index=True)


_TABLE = table_of(WorkerBeat)


class Heartbeat:
    """Refreshes this worker's row every `interval` seconds while it runs; removes it after."""

    def __init__(
        self,
        engine: Engine,
        *,
        owner: str,
        kind: str,
        concurrency: int,
        stats: Callable[[], tuple[int, int]],
        interval: float = 5.0,
    ) -> None:
        self.engine = engine
        self.owner = owner
        self.kind = kind
        self.concurrency = concurrency
        self.stats = stats
        self.interval = interval
        self._task: asyncio.Task[None] | None = None

    async def __aenter__(self) -> Heartbeat:
        now = utcnow()
        with self.engine.begin() as conn:
            conn.execute(delete(_TABLE).where(_TABLE.c.id == self.owner))
            conn.execute(
                insert(_TABLE).values(
                    id=self.owner,
                    kind=self.kind,
                    host=socket.gethostname(),
                    pid=os.getpid(),
                    concurrency=self.concurrency,
                    in_flight=0,
                    executed=0,
                    started_at=now,
                    seen_at=now,
                )
            )
        self._task = asyncio.create_task(self._beat(), name="bpa-heartbeat")
        return self

    async def __aexit__(self, *_: object) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        with contextlib.suppress(Exception), self.engine.begin() as conn:
            conn.execute(delete(_TABLE).where(_TABLE.c.id == self.owner))

    def beat(self) -> None:
        in_flight, executed = self.stats()
        with self.engine.begin() as conn:
            conn.execute(
                update(_TABLE)
                .where(_TABLE.c.id == self.owner)
                .values(in_flight=in_flight, executed=executed, seen_at=utcnow())
            )

    async def _beat(self) -> None:
        while True:
            await asyncio.sleep(self.interval)
            try:
                await asyncio.to_thread(self.beat)
            except Exception:  # the database may be briefly away; the next beat retries
                log.warning("heartbeat failed", exc_info=True)


def live_workers(engine: Engine, *, within_s: float) -> list[WorkerBeat]:
    """Workers seen in the last `within_s` seconds."""
    since = utcnow() - dt.timedelta(seconds=within_s)
    with engine.connect() as conn:
        rows = conn.execute(select(_TABLE).where(_TABLE.c.seen_at >= since)).all()
    return [WorkerBeat.model_construct(**row._mapping) for row in rows]
