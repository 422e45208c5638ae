"""Who executes a run: a lease on the run's row, taken atomically and renewed while it runs.

Several processes (two `bpa serve`, a `bpa scheduler`, a CLI `bpa run`) may share one
database. A run is executed only by the process holding its lease (`claimed_by`,
`lease_until` on `bpa_runs`); taking a lease is one conditional UPDATE, so two processes
can never both win it. A holder that dies stops renewing; once the lease has run out,
another process resumes the run from its last LangGraph checkpoint.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import os
import secrets
import socket
from collections.abc import Sequence
from typing import Any

from sqlalchemy import BindParameter, ColumnElement, Engine, Row, bindparam, func, or_, update
from sqlmodel import Session, col, select

from bpa.db import table_of
from bpa.runs.chain import append_events, event_row
from bpa.runs.tables import Run, RunEvent, RunStatus, constructed, utcnow

__all__ = [
    "UNAVAILABLE",
    "HeldLease",
    "LeaseLost",
    "LeaseQueries",
    "owner_is_dead",
    "process_owner",
]

#: Statuses an executor picks up: new runs, and running runs whose holder went away.
EXECUTABLE = (RunStatus.queued, RunStatus.running)
#: The `error` code of a run that waits for a connector whose circuit breaker is open; its
#: `lease_until` says from when it may go on (bpa/resilience.py).
UNAVAILABLE = "connector_unavailable"


class LeaseLost(RuntimeError):
    """This process no longer holds the run: its lease ran out, or a user cancelled the run."""


def process_owner() -> str:
    """`host:pid:token`. Host and pid let a process on the same machine see that a holder
    died (and resume its runs at once instead of after the lease); the token keeps two
    runners in one process apart."""
    return f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(4)}"


def owner_is_dead(owner: str) -> bool:
    """True only when `owner` is a process on this host that no longer exists."""
    host, _, rest = owner.partition(":")
    pid_text = rest.partition(":")[0]
    if host != socket.gethostname() or not pid_text.isdigit():
        return False
    pid = int(pid_text)
    if pid == os.getpid():
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except PermissionError:  # exists, owned by someone else
        return False
    return False


def _lease_free(now: dt.datetime | BindParameter[Any]) -> ColumnElement[bool]:
    return or_(col(Run.lease_until).is_(None), col(Run.lease_until) < now)


_RUNS = table_of(Run)
#: `acquire`, built once (every run execution takes a lease): the run's row when it is in
#: one of `statuses` and its lease is ours, free or expired; the row as it is after.
_ACQUIRE = (
    update(_RUNS)
    .where(
        _RUNS.c.id == bindparam("run_id"),
        _RUNS.c.status.in_(bindparam("statuses", expanding=True)),
        or_(_RUNS.c.claimed_by == bindparam("owner"), _lease_free(bindparam("now"))),
    )
    .values(claimed_by=bindparam("owner"), lease_until=bindparam("until"))
    .returning(*_RUNS.c)
)

#: `start_fresh`: a run never executed yet, leased and marked running in one statement.
_START_FRESH = (
    update(_RUNS)
    .where(
        _RUNS.c.id == bindparam("run_id"),
        _RUNS.c.status == RunStatus.queued,
        _RUNS.c.attempts == 0,
        or_(_RUNS.c.claimed_by == bindparam("owner"), _lease_free(bindparam("now"))),
    )
    .values(
        claimed_by=bindparam("owner"),
        lease_until=bindparam("until"),
        status=RunStatus.running,
        attempts=1,
        started_at=bindparam("now"),
        error=None,
        updated_at=bindparam("now"),
    )
    .returning(*_RUNS.c)
)


class LeaseQueries:
    """The lease half of `RunStore` (mixed in; uses its `_session`)."""

    engine: Engine  # provided by RunStore

    def _session(self) -> Session:  # provided by RunStore
        raise NotImplementedError

    def acquire(
        self,
        run_id: str,
        owner: str,
        *,
        lease_s: float,
        statuses: Sequence[RunStatus] = EXECUTABLE,
        now: dt.datetime | None = None,
    ) -> Row[Any] | None:
        """Take the run's lease if it is free, expired or already ours (an atomic UPDATE):
        the run's row as the lease left it (so that the caller need not read it again), or
        None when the lease was not taken."""
        now = now or utcnow()
        params = {
            "run_id": run_id,
            "statuses": list(statuses),
            "owner": owner,
            "now": now,
            "until": now + dt.timedelta(seconds=lease_s),
        }
        with self.engine.begin() as conn:
            return conn.execute(_ACQUIRE, params).first()

    def start_fresh(
        self, run_id: str, owner: str, *, lease_s: float, event: RunEvent
    ) -> Run | None:
        """Take the lease of a run never executed yet and mark it running, with `event` (its
        `run_started`), in one transaction: the run as it is now, or None when the run is
        not new or another process holds it (`acquire` then decides)."""
        now = utcnow()
        params = {
            "run_id": run_id,
            "owner": owner,
            "now": now,
            "until": now + dt.timedelta(seconds=lease_s),
        }
        with self.engine.begin() as conn:
            row = conn.execute(_START_FRESH, params).first()
            if row is None:
                return None
            append_events(conn, [event_row(event)], statuses={run_id: RunStatus.running})
        values: Any = row._mapping  # a RowMapping reads as a mapping
        return constructed(Run, values)

    def claim_next(
        self,
        owner: str,
        *,
        flows: Sequence[str],
        limit: int,
        lease_s: float,
        now: dt.datetime | None = None,
    ) -> list[str]:
        """Lease up to `limit` runs of these flows, oldest first: queued runs, and running
        runs whose holder stopped renewing (they continue from their checkpoint)."""
        if limit <= 0 or not flows:
            return []
        now = now or utcnow()
        query = (
            select(Run.id)
            .where(col(Run.flow).in_(flows), col(Run.status).in_(EXECUTABLE), _lease_free(now))
            .order_by(col(Run.id))
        )
        if self.engine.dialect.name == "postgresql":
            return self._claim_skip_locked(query.limit(limit), owner, lease_s, now)
        with self._session() as session:
            candidates = list(session.exec(query.limit(limit * 4)).all())
        claimed: list[str] = []
        for run_id in candidates:
            if len(claimed) == limit:
                break
            if self.acquire(run_id, owner, lease_s=lease_s, now=now):
                claimed.append(run_id)
        return claimed

    def _claim_skip_locked(
        self, query: Any, owner: str, lease_s: float, now: dt.datetime
    ) -> list[str]:
        """PostgreSQL: lock the candidate rows, skipping those another worker is claiming,
        and lease them in the same transaction: concurrent workers never contend."""
        with self.engine.begin() as conn:
            ids = [row[0] for row in conn.execute(query.with_for_update(skip_locked=True))]
            if ids:
                conn.execute(
                    update(Run)
                    .where(col(Run.id).in_(ids))
                    .values(claimed_by=owner, lease_until=now + dt.timedelta(seconds=lease_s))
                )
        return ids

    def renew(self, run_id: str, owner: str, *, lease_s: float) -> bool:
        """Extend our lease; False when the run is no longer ours."""
        stmt = (
            update(Run)
            .where(col(Run.id) == run_id, col(Run.claimed_by) == owner)
            .values(lease_until=utcnow() + dt.timedelta(seconds=lease_s))
        )
        with self._session() as session:
            kept = session.exec(stmt).rowcount == 1
            session.commit()
        return kept

    def release(
        self,
        run_id: str,
        owner: str,
        *,
        events: Sequence[RunEvent] = (),
        not_before: dt.datetime | None = None,
    ) -> bool:
        """Give the run back unfinished; another executor resumes it at once, or from
        `not_before` on (a back-off after a crash)."""
        stmt = (
            update(Run)
            .where(col(Run.id) == run_id, col(Run.claimed_by) == owner)
            .values(claimed_by=None, lease_until=not_before, updated_at=utcnow())
            .returning(col(Run.status))
        )
        with self.engine.begin() as conn:
            status = conn.execute(stmt).scalar()
            if status is not None:
                rows = [event_row(event) for event in events]
                append_events(conn, rows, statuses={run_id: status})
        return status is not None

    def expire_dead_leases(self, *, backoff_s: float = 0.0) -> list[str]:
        """Free the leases of holders that died on this host (kill -9, crash), so their runs
        resume soon rather than when the lease runs out: the first crash at once, later
        ones after `backoff_s`, 3x, 7x that (so that a run that kills its process does not
        take every restart down at once). Returns the freed run ids."""
        host = socket.gethostname() + ":"
        query = select(Run.id, Run.claimed_by, Run.attempts).where(
            col(Run.claimed_by).startswith(host, autoescape=True),
            col(Run.status).in_(EXECUTABLE),
        )
        with self._session() as session:
            held = [(run_id, owner, n) for run_id, owner, n in session.exec(query).all() if owner]
        freed: list[str] = []
        now = utcnow()
        for run_id, owner, attempts in held:
            wait = backoff_s * (2 ** max(0, attempts - 1) - 1)
            not_before = now + dt.timedelta(seconds=wait) if wait else None
            if owner_is_dead(owner) and self.release(run_id, owner, not_before=not_before):
                freed.append(run_id)
        return freed

    def requeue_parked(self, *, now: dt.datetime | None = None) -> list[str]:
        """Queue again the runs that wait for a connector (`UNAVAILABLE`) and whose wait is
        over, so that an executor continues them. One conditional UPDATE: of several
        processes sweeping at once, each run is queued by one. Returns their ids."""
        now = now or utcnow()
        stmt = (
            update(Run)
            .where(
                col(Run.status) == RunStatus.waiting,
                col(Run.claimed_by).is_(None),
                col(Run.lease_until) <= now,
                col(Run.error)["code"].as_string() == UNAVAILABLE,
            )
            .values(status=RunStatus.queued, lease_until=None, updated_at=now)
            .returning(col(Run.id))
        )
        with self.engine.begin() as conn:
            return [row[0] for row in conn.execute(stmt)]

    def leasable(self, *, flows: Sequence[str], now: dt.datetime | None = None) -> int:
        """Runs of these flows an executor could lease right now."""
        query = select(func.count()).where(
            col(Run.flow).in_(flows), col(Run.status).in_(EXECUTABLE), _lease_free(now or utcnow())
        )
        with self._session() as session:
            return int(session.exec(query).one())

    def queue_depth(self) -> int:
        """Runs waiting for an executor."""
        query = select(func.count()).where(col(Run.status) == RunStatus.queued)
        with self._session() as session:
            return int(session.exec(query).one())


class HeldLease:
    """The lease on one run while a runner drives it, renewed in the background.

    `lost` turns true when a renewal finds the run is no longer ours (a user cancelled it,
    or this process stalled past the lease and another one took over); the runner then
    stops driving the run at the next step.
    """

    def __init__(self, store: LeaseQueries, run_id: str, owner: str, lease_s: float) -> None:
        self.store = store
        self.run_id = run_id
        self.owner = owner
        self.lease_s = lease_s
        self.lost = False
        self._timer: asyncio.TimerHandle | None = None
        self._task: asyncio.Task[None] | None = None

    async def __aenter__(self) -> HeldLease:
        # Most runs end before their first renewal is due: a timer, not a task, waits for it.
        loop = asyncio.get_running_loop()
        self._timer = loop.call_later(self.lease_s / 3, self._start_beating)
        return self

    def _start_beating(self) -> None:
        self._task = asyncio.get_running_loop().create_task(
            self._beat(), name=f"lease:{self.run_id}"
        )

    async def __aexit__(self, exc_type: type[BaseException] | None, *_: object) -> None:
        if self._timer is not None:
            self._timer.cancel()
        if self._task is not None:
            self._task.cancel()
        if exc_type is not None and issubclass(exc_type, asyncio.CancelledError):
            # Stopped from outside (executor shutdown): hand the run back for an immediate
            # resume. If even that fails, the lease simply runs out.
            paused = RunEvent(
                run_id=self.run_id,
                kind="run_paused",
                payload={"reason": "the executor stopped; the run resumes from its checkpoint"},
            )
            with contextlib.suppress(Exception):
                self.store.release(self.run_id, self.owner, events=[paused])
        # Other errors keep the lease until it runs out: a back-off before another attempt.

    async def _beat(self) -> None:
        """Renew now (the first interval has passed), then every third of the lease."""
        while not self.lost:
            with contextlib.suppress(Exception):  # a database hiccup: try at the next beat
                self.lost = not self.store.renew(self.run_id, self.owner, lease_s=self.lease_s)
            if not self.lost:
                await asyncio.sleep(self.lease_s / 3)
