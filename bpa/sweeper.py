"""The sweeper: nothing is lost between the database and the broker.

A run is recorded before its message is published, and a message can still go missing: the
process dies between the commit and the publish, the broker restarts without persistence,
or a worker takes a message and vanishes (Redis gives it back only after its visibility
timeout). The database knows which runs are waiting for a worker: queued runs, and running
runs whose lease expired. `bpa scheduler` sweeps every few seconds: it frees the leases of
dead processes on this host, and when fewer messages wait in the broker than runs wait in
the database, it publishes the runs that have waited longest again. A duplicate message is
harmless (a run executes only under its lease); a missing one would leave a run stuck.

It also queues again the runs that waited for a connector whose circuit breaker was open
(bpa/resilience.py) once their wait is over, and answers `expired` to the runs that waited
for an outside reply (a customer's) past their question's deadline (bpa/runs/replies.py),
and publishes both.
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass, field

from sqlalchemy import or_, select, update

from bpa.db import table_of
from bpa.dispatch import Dispatcher
from bpa.runs.leases import EXECUTABLE
from bpa.runs.replies import expire_due
from bpa.runs.store import RunStore
from bpa.runs.tables import Run, utcnow

__all__ = ["SweepReport", "Sweeper"]

log = logging.getLogger("bpa.sweeper")

_RUNS = table_of(Run)


@dataclass
class SweepReport:
    #: Runs whose holder died on this host, given back.
    freed: list[str] = field(default_factory=list)
    #: Runs published again.
    redispatched: list[str] = field(default_factory=list)
    #: Runs that waited for a connector (an open circuit breaker) and are queued again.
    requeued: list[str] = field(default_factory=list)
    #: Runs whose wait for an outside reply expired, queued with the answer `expired`.
    expired: list[str] = field(default_factory=list)


class Sweeper:
    def __init__(
        self,
        store: RunStore,
        dispatcher: Dispatcher,
        *,
        backoff_s: float = 5.0,
        stale_after_s: float = 15.0,
        batch: int = 500,
    ) -> None:
        self.store = store
        self.dispatcher = dispatcher
        self.backoff_s = backoff_s
        #: A run waiting this long without a worker is a candidate for another message.
        self.stale_after = dt.timedelta(seconds=stale_after_s)
        self.batch = batch

    def sweep(self) -> SweepReport:
        report = SweepReport(
            freed=self.store.expire_dead_leases(backoff_s=self.backoff_s),
            requeued=self.store.requeue_parked(),
            expired=expire_due(self.store.engine, batch=self.batch),
        )
        if report.expired:
            log.info("%d run(s) waited for a reply past the deadline", len(report.expired))
        if self.dispatcher.kind == "database":
            return report  # workers poll the database: there is nothing to send again
        if report.requeued or report.expired:
            self.dispatcher.dispatch([*report.requeued, *report.expired])
        stranded = self._stranded()
        waiting_messages = self.dispatcher.pending()
        if not stranded or (waiting_messages is not None and waiting_messages >= len(stranded)):
            return report
        missing = len(stranded) - (waiting_messages or 0)
        again = stranded[:missing]
        self._touch(again)
        self.dispatcher.dispatch(again)
        report.redispatched = again
        log.info(
            "published %d run(s) again (%s waiting in the broker)", len(again), waiting_messages
        )
        return report

    def _stranded(self) -> list[str]:
        """Runs a worker could take now, untouched for `stale_after`, oldest first."""
        now = utcnow()
        query = (
            select(_RUNS.c.id)
            .where(
                _RUNS.c.status.in_(EXECUTABLE),
                or_(_RUNS.c.lease_until.is_(None), _RUNS.c.lease_until < now),
                _RUNS.c.updated_at < now - self.stale_after,
            )
            .order_by(_RUNS.c.updated_at, _RUNS.c.id)
            .limit(self.batch)
        )
        with self.store.engine.connect() as conn:
            return [row[0] for row in conn.execute(query)]

    def _touch(self, run_ids: list[str]) -> None:
        """So that the next sweep gives these messages time to be taken."""
        with self.store.engine.begin() as conn:
            conn.execute(update(_RUNS).where(_RUNS.c.id.in_(run_ids)).values(updated_at=utcnow()))
