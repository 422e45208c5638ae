"""The scheduler loop: fires due schedules into queued runs, exactly once across processes.

Each tick looks for schedules whose `next_fire_at` has passed. For each, the loop claims
the firing by inserting its row (UNIQUE schedule_id + fire_time: one process wins), applies
the overlap policy, and queues runs whose idempotency keys derive from the schedule and
the fire time. The executor (bpa/executor.py) runs them. A process that dies between
claiming a firing and queueing its runs leaves a `pending` firing that any scheduler
completes later; the idempotency keys make that safe to repeat.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
from collections.abc import Callable
from typing import Protocol

from pydantic import ValidationError

from bpa.dispatch import Dispatcher
from bpa.errors import IdempotencyConflict
from bpa.runs.runner import Runner
from bpa.runs.tables import Run, RunStatus, new_id, utcnow
from bpa.schedules import (
    FiringStatus,
    MisfirePolicy,
    OverlapPolicy,
    Schedule,
    ScheduleFiring,
    ScheduleNotFound,
    ScheduleStore,
    as_utc,
    batch_items,
    next_fire_time,
)

__all__ = ["SchedulerLoop"]

log = logging.getLogger("bpa.scheduler")

#: Missed firings counted one by one before the loop stops counting (a long downtime).
_COUNT_CAP = 10_000


class _Notifiable(Protocol):
    def notify(self, run_id: str | None = None) -> None: ...


class SchedulerLoop:
    """Fires schedules. `tick()` is one pass (tests call it with a fake clock);
    `start()`/`stop()` run it in the background every `interval` seconds."""

    def __init__(
        self,
        schedules: ScheduleStore,
        runner: Runner,
        *,
        executor: _Notifiable | None = None,
        dispatcher: Dispatcher | None = None,
        clock: Callable[[], dt.datetime] = utcnow,
        interval: float = 1.0,
        misfire_grace: float = 60.0,
        stale_after: float = 60.0,
    ) -> None:
        self.schedules = schedules
        self.runner = runner
        self.executor = executor
        #: Tells workers about the runs a firing queued (bpa/dispatch.py).
        self.dispatcher = dispatcher
        self.clock = clock
        self.interval = interval
        self.misfire_grace = dt.timedelta(seconds=misfire_grace)
        self.stale_after = dt.timedelta(seconds=stale_after)
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._stopping = False

    # -- background ----------------------------------------------------------------------
    async def start(self) -> None:
        if self._task is None:
            self._stopping = False
            self._task = asyncio.create_task(self._loop(), name="bpa-scheduler")

    async def stop(self) -> None:
        self._stopping = True
        self._wake.set()
        if self._task is not None:
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    def notify(self) -> None:
        """A schedule was created or changed: look again now."""
        self._wake.set()

    async def _loop(self) -> None:
        while not self._stopping:
            try:
                await self.tick()
            except Exception:  # keep scheduling; the next tick retries
                log.exception("scheduler tick failed")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), self.interval)
            self._wake.clear()

    # -- one pass ------------------------------------------------------------------------
    async def tick(self) -> list[ScheduleFiring]:
        """Fire what is due now; returns the firings this process recorded or settled."""
        now = as_utc(self.clock())
        done = self._finish_stale(now) + self._promote_buffered()
        for schedule in self.schedules.due(now):
            firing = self._fire(schedule, now)
            if firing is not None:
                done.append(firing)
        started = [f for f in done if f.status == FiringStatus.started]
        if self.dispatcher is not None and started:
            self.dispatcher.dispatch(self._queued_runs(started))
        if self.executor is not None and started:
            self.executor.notify()
        return done

    def _queued_runs(self, firings: list[ScheduleFiring]) -> list[str]:
        """The queued runs the firings started (one run, or a batch's)."""
        store = self.runner.store
        runs: list[Run] = []
        for firing in firings:
            if firing.run_id:
                runs.append(store.get(firing.run_id))
            elif firing.batch_id:
                runs += store.list_runs(batch_id=firing.batch_id, limit=10_000)
        return [run.id for run in runs if run.status == RunStatus.queued]

    def _fire(self, schedule: Schedule, now: dt.datetime) -> ScheduleFiring | None:
        seen = as_utc(schedule.next_fire_at or now)
        latest, missed = self._latest_due(schedule, seen, now)
        late = now - latest > self.misfire_grace
        firing: ScheduleFiring | None
        if late and schedule.misfire == MisfirePolicy.skip:
            firing = self.schedules.claim_firing(
                schedule.id,
                latest,
                status=FiringStatus.missed,
                created_at=now,
                detail=f"{missed + 1} firing(s) missed while no scheduler ran (misfire: skip)",
            )
        else:
            notes = []
            if missed:
                notes.append(f"{missed} earlier missed firing(s) folded into this one")
            if late:
                notes.append(f"late by {now - latest} (misfire: run_once)")
            firing = self.schedules.claim_firing(
                schedule.id,
                latest,
                status=FiringStatus.pending,
                created_at=now,
                batch_id=new_id("batch") if batch_items(schedule.input) is not None else None,
                detail="; ".join(notes) or None,
            )
            if firing is not None:
                firing = self._start(schedule, firing)
        self.schedules.advance(
            schedule.id,
            seen=seen,
            next_fire_at=next_fire_time(schedule.cron, schedule.timezone, now),
            last_fired_at=latest if firing is not None else None,
        )
        return firing

    def _latest_due(
        self, schedule: Schedule, seen: dt.datetime, now: dt.datetime
    ) -> tuple[dt.datetime, int]:
        """The last due time at or before `now`, and how many due times came before it."""
        latest, count, t = seen, 0, seen
        while t <= now and count < _COUNT_CAP:
            latest, count = t, count + 1
            t = next_fire_time(schedule.cron, schedule.timezone, t)
        if t <= now:  # a very long downtime: jump to the last day instead of counting on
            t = next_fire_time(schedule.cron, schedule.timezone, now - dt.timedelta(days=1))
            while t <= now:
                latest, t = t, next_fire_time(schedule.cron, schedule.timezone, t)
        return latest, count - 1

    def _start(self, schedule: Schedule, firing: ScheduleFiring) -> ScheduleFiring:
        """Apply the overlap policy, then queue the firing's runs."""
        unfinished = self.schedules.unfinished_runs(schedule.id)
        if unfinished and schedule.overlap != OverlapPolicy.allow:
            reason = f"{unfinished} run(s) of an earlier firing still unfinished"
            status = FiringStatus.skipped
            if schedule.overlap == OverlapPolicy.buffer_one:
                waiting = [
                    f
                    for f in self.schedules.firings_in([FiringStatus.buffered])
                    if f.schedule_id == schedule.id and f.id != firing.id
                ]
                if waiting:
                    reason += "; another firing already waits for them (overlap: buffer_one)"
                else:
                    status = FiringStatus.buffered
                    reason += "; starts when they finish (overlap: buffer_one)"
            else:
                reason += " (overlap: skip)"
            return self._settle(firing, status, detail=_join(firing.detail, reason))
        return self._queue_runs(schedule, firing)

    def _queue_runs(self, schedule: Schedule, firing: ScheduleFiring) -> ScheduleFiring:
        items = batch_items(schedule.input)
        key = f"schedule:{schedule.id}:{as_utc(firing.fire_time).isoformat()}"
        run_ids: list[str] = []
        problems: list[str] = []
        for n, item in enumerate(items if items is not None else [schedule.input]):
            try:
                run, _ = self.runner.submit(
                    schedule.flow,
                    item,
                    trigger="schedule",
                    batch_id=firing.batch_id,
                    idempotency_key=f"{key}:{n}" if items is not None else key,
                )
                run_ids.append(run.id)
            except (LookupError, ValidationError, ValueError, IdempotencyConflict) as exc:
                problems.append(f"item {n}: {exc}" if items is not None else str(exc))
        detail = _join(
            firing.detail, f"{len(problems)} input(s) refused: {problems[0]}" if problems else None
        )
        if not run_ids:
            return self._settle(firing, FiringStatus.failed, detail=detail)
        run_id = run_ids[0] if items is None else None
        return self._settle(firing, FiringStatus.started, run_id=run_id, detail=detail)

    def _settle(
        self,
        firing: ScheduleFiring,
        status: FiringStatus,
        *,
        detail: str | None = None,
        run_id: str | None = None,
    ) -> ScheduleFiring:
        assert firing.id is not None
        self.schedules.settle(firing.id, status=status, run_id=run_id, detail=detail)
        firing.status, firing.run_id, firing.detail = status, run_id, detail
        return firing

    # -- repairs -------------------------------------------------------------------------
    def _promote_buffered(self) -> list[ScheduleFiring]:
        """Start buffered firings whose schedule's earlier runs have all finished."""
        started: list[ScheduleFiring] = []
        for firing in self.schedules.firings_in([FiringStatus.buffered]):
            schedule = self._schedule_of(firing)
            if schedule is None:
                started.append(
                    self._settle(
                        firing, FiringStatus.skipped, detail="schedule deleted or disabled"
                    )
                )
            elif not self.schedules.unfinished_runs(schedule.id):
                started.append(self._queue_runs(schedule, firing))
        return started

    def _finish_stale(self, now: dt.datetime) -> list[ScheduleFiring]:
        """Complete firings a scheduler claimed but died before queueing their runs."""
        stale = self.schedules.firings_in([FiringStatus.pending], before=now - self.stale_after)
        finished: list[ScheduleFiring] = []
        for firing in stale:
            schedule = self._schedule_of(firing)
            if schedule is None:
                finished.append(
                    self._settle(
                        firing, FiringStatus.skipped, detail="schedule deleted or disabled"
                    )
                )
            else:
                finished.append(self._start(schedule, firing))
        return finished

    def _schedule_of(self, firing: ScheduleFiring) -> Schedule | None:
        try:
            schedule = self.schedules.get(firing.schedule_id)
        except ScheduleNotFound:
            return None
        return schedule if schedule.enabled else None


def _join(*parts: str | None) -> str | None:
    text = "; ".join(p for p in parts if p)
    return text or None
