"""Reads and writes of runs, events and approvals (with bpa/runs/leases.py, the only modules
that query those tables; events are appended through bpa/runs/chain.py)."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Engine, bindparam, func, insert, update
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from bpa.db import table_of
from bpa.effects import LedgerEntry, insert_entries
from bpa.errors import IdempotencyConflict, RunNotFound, RunStateError
from bpa.runs.chain import append_events, append_locked, event_row
from bpa.runs.leases import LeaseLost, LeaseQueries
from bpa.runs.tables import (
    Approval,
    ApprovalStatus,
    Run,
    RunEvent,
    RunStatus,
    constructed,
    new_id,
    utcnow,
)

__all__ = ["LeaseLost", "QueuedRun", "RunStore", "request_hash"]


def request_hash(flow: str, payload: dict[str, Any]) -> str:
    body = json.dumps({"flow": flow, "input": payload}, sort_keys=True, default=str)
    return hashlib.sha256(body.encode()).hexdigest()


# The hot path (create, read, update a run; append events) uses SQLAlchemy Core on a plain
# connection: the ORM session costs more than the SQL itself here, on every graph step.
_RUNS = table_of(Run)
_INSERT_RUN = insert(_RUNS)

#: `RunStore.update`'s statements, built once per shape (the fields it sets, whether it
#: checks the lease's owner and the run's status): every run changes status a few times.
_UPDATES: dict[tuple[tuple[str, ...], bool, bool], Any] = {}


def _update_of(fields: tuple[str, ...], owned: bool, checked: bool) -> Any:
    """The conditional UPDATE of a run that sets `fields` (and `updated_at`), with bound
    parameters: `run_id`, `owner` when `owned`, `statuses` when `checked`, and
    ``set_<field>`` for each field."""
    key = (fields, owned, checked)
    stmt = _UPDATES.get(key)
    if stmt is None:
        stmt = update(_RUNS).where(_RUNS.c.id == bindparam("run_id"))
        if owned:
            stmt = stmt.where(_RUNS.c.claimed_by == bindparam("owner"))
        if checked:
            stmt = stmt.where(_RUNS.c.status.in_(bindparam("statuses", expanding=True)))
        names = (*fields, "updated_at")
        values: dict[str, Any] = {name: bindparam(f"set_{name}") for name in names}
        stmt = _UPDATES[key] = stmt.values(values).returning(*_RUNS.c)
    return stmt


def _run_of(row: Any) -> Run:
    """A `Run` from a row of its table, without validating again what the database holds."""
    return constructed(Run, row)


@dataclass(frozen=True, slots=True)
class QueuedRun:
    """A new run's row and its `run_created` event, ready to insert."""

    row: dict[str, Any]
    created: dict[str, Any]
    #: Its `run_started` event when it is inserted running, leased by its creator.
    started: dict[str, Any] | None = None

    @classmethod
    def new(
        cls,
        *,
        flow: str,
        flow_version: str,
        input: dict[str, Any],
        trigger: str,
        idempotency_key: str | None = None,
        request_hash: str | None = None,
        batch_id: str | None = None,
        started_by: tuple[str, float] | None = None,
    ) -> QueuedRun:
        """A queued run; with `started_by` (owner, lease seconds), a run that owner executes
        at once, inserted running under its lease (one transaction instead of three)."""
        now = utcnow()
        row: dict[str, Any] = {
            "id": new_id("run"),
            "flow": flow,
            "flow_version": flow_version,
            "status": RunStatus.queued,
            "trigger": trigger,
            "input": input,
            "output": None,
            "error": None,
            "idempotency_key": idempotency_key,
            "request_hash": request_hash,
            "batch_id": batch_id,
            "attempts": 0,
            "claimed_by": None,
            "lease_until": None,
            "created_at": now,
            "started_at": None,
            "finished_at": None,
            "updated_at": now,
        }
        created = {
            "run_id": row["id"],
            "kind": "run_created",
            "node": None,
            "payload": {"trigger": trigger, "batch_id": batch_id},
            "duration_ms": None,
            "created_at": now,
        }
        if started_by is None:
            return cls(row, created)
        owner, lease_s = started_by
        row.update(
            status=RunStatus.running,
            attempts=1,
            claimed_by=owner,
            lease_until=now + dt.timedelta(seconds=lease_s),
            started_at=now,
        )
        started = {**created, "kind": "run_started", "payload": {"attempt": 1}}
        return cls(row, created, started)

    def run(self) -> Run:
        return _run_of(self.row)


class RunStore(LeaseQueries):
    """Runs, events and approvals; the lease queries (who executes a run) come from
    `LeaseQueries`."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def _session(self) -> Session:
        return Session(self.engine, expire_on_commit=False)

    def create_run(
        self,
        *,
        flow: str,
        flow_version: str,
        input: dict[str, Any],
        trigger: str,
        idempotency_key: str | None = None,
        batch_id: str | None = None,
        started_by: tuple[str, float] | None = None,
    ) -> tuple[Run, bool]:
        """Create a queued run (with `started_by`, one that owner executes at once:
        `QueuedRun.new`); with a known idempotency key, return the earlier run instead.

        Returns ``(run, created)``. The same key with a different input raises
        `IdempotencyConflict`.
        """
        digest = request_hash(flow, input)
        if idempotency_key:
            existing = self.find_by_key(flow, idempotency_key)
            if existing is not None:
                return self.replayed(existing, digest, idempotency_key), False
        queued = QueuedRun.new(
            flow=flow,
            flow_version=flow_version,
            input=input,
            trigger=trigger,
            idempotency_key=idempotency_key,
            request_hash=digest,
            batch_id=batch_id,
            started_by=started_by,
        )
        try:
            self.insert_queued([queued])
        except IntegrityError:
            existing = self.find_by_key(flow, idempotency_key or "")
            if existing is None:
                raise
            return self.replayed(existing, digest, idempotency_key or ""), False
        return queued.run(), True

    def insert_queued(self, runs: Sequence[QueuedRun]) -> None:
        """Record new runs, each with its `run_created` event, in one transaction."""
        if not runs:
            return
        rows: Any = [queued.row for queued in runs]
        if len(runs) == 1:  # a single execute costs less than an executemany of one
            rows = rows[0]
        with self.engine.begin() as conn:
            conn.execute(_INSERT_RUN, rows)
            events = [queued.created for queued in runs]
            events += [queued.started for queued in runs if queued.started is not None]
            append_events(
                conn,
                events,
                new_runs={queued.row["id"] for queued in runs},
                statuses={q.row["id"]: RunStatus.running for q in runs if q.started is not None},
            )

    @staticmethod
    def replayed(existing: Run, digest: str, key: str) -> Run:
        if existing.request_hash != digest:
            raise IdempotencyConflict(
                f"idempotency key {key!r} was used for run {existing.id} with a different "
                "input; send the same input to get that run, or use a new key"
            )
        return existing

    def find_by_key(self, flow: str, key: str) -> Run | None:
        with self._session() as session:
            return session.exec(
                select(Run).where(Run.flow == flow, Run.idempotency_key == key)
            ).first()

    def get(self, run_id: str) -> Run:
        with self.engine.connect() as conn:
            row = conn.execute(_RUNS.select().where(_RUNS.c.id == run_id)).first()
        if row is None:
            raise RunNotFound(f"no run with id {run_id!r}; `bpa runs list` shows the ids")
        return _run_of(row._mapping)

    def list_runs(
        self,
        *,
        flow: str | None = None,
        status: RunStatus | None = None,
        trigger: str | None = None,
        batch_id: str | None = None,
        since: dt.datetime | None = None,
        until: dt.datetime | None = None,
        before_id: str | None = None,
        limit: int = 50,
    ) -> list[Run]:
        """Newest first; pass the last id seen as `before_id` for the next page."""
        query = select(Run).where(
            *_run_filters(flow, status, trigger, batch_id, since, until, before_id)
        )
        query = query.order_by(col(Run.id).desc()).limit(limit)
        with self._session() as session:
            return list(session.exec(query).all())

    def count_runs(
        self,
        *,
        flow: str | None = None,
        status: RunStatus | None = None,
        trigger: str | None = None,
        batch_id: str | None = None,
        since: dt.datetime | None = None,
        until: dt.datetime | None = None,
    ) -> int:
        """How many runs `list_runs` with these filters would page through."""
        query = select(func.count()).select_from(Run)
        query = query.where(*_run_filters(flow, status, trigger, batch_id, since, until, None))
        with self._session() as session:
            return int(session.exec(query).one())

    def count_by_status(self, *, batch_id: str | None = None) -> dict[str, int]:
        query = select(Run.status, func.count()).group_by(Run.status)
        if batch_id:
            query = query.where(Run.batch_id == batch_id)
        with self._session() as session:
            return {str(status): n for status, n in session.exec(query).all()}

    def count_by_flow_status(self) -> dict[tuple[str, str], int]:
        """Runs per (flow, status): one GROUP BY, for metrics."""
        query = select(Run.flow, Run.status, func.count()).group_by(Run.flow, Run.status)
        with self._session() as session:
            return {(flow, str(status)): n for flow, status, n in session.exec(query).all()}

    def update(
        self,
        run_id: str,
        *,
        events: Sequence[RunEvent] = (),
        owner: str | None = None,
        statuses: Sequence[RunStatus] | None = None,
        entries: Sequence[LedgerEntry] = (),
        **fields: Any,
    ) -> Run:
        """Change a run's fields and append audit events (and the ledger rows of the side
        effects they record) in one transaction.

        The change is one conditional UPDATE: with `owner`, it applies only while that runner
        holds the run's lease (else `LeaseLost`), so a runner that lost its run cannot
        overwrite the outcome; with `statuses`, only while the run is in one of them (else
        `RunStateError`).
        """
        params = {f"set_{name}": value for name, value in fields.items()}
        params.update(set_updated_at=utcnow(), run_id=run_id)
        if owner is not None:
            params["owner"] = owner
        if statuses is not None:
            params["statuses"] = list(statuses)
        stmt = _update_of(tuple(fields), owner is not None, statuses is not None)
        with self.engine.begin() as conn:
            row = conn.execute(stmt, params).first()
            if row is not None:
                append_events(conn, [event_row(e) for e in events], statuses={run_id: row.status})
                if entries:
                    insert_entries(conn, entries)
        if row is None:
            current = self.get(run_id)
            if statuses is not None and current.status not in statuses:
                raise RunStateError(f"run {run_id} already {current.status}")
            raise LeaseLost(f"run {run_id} is no longer held by {owner}")
        return _run_of(row._mapping)

    def acquired(self, run_id: str, owner: str, *, lease_s: float) -> Run | None:
        """Take the run's lease (`acquire`) and return the run as it left it; None when
        another process holds it or the run is not executable."""
        row = self.acquire(run_id, owner, lease_s=lease_s)
        return None if row is None else _run_of(row._mapping)

    def add_events(self, events: Sequence[RunEvent], entries: Sequence[LedgerEntry] = ()) -> None:
        """Append events, and the ledger rows of the side effects they record, together."""
        if events or entries:
            with self.engine.begin() as conn:
                append_locked(conn, [event_row(e) for e in events])
                if entries:
                    insert_entries(conn, entries)

    def events(
        self, run_id: str, *, after_id: int = 0, kinds: Sequence[str] | None = None
    ) -> list[RunEvent]:
        query = select(RunEvent).where(RunEvent.run_id == run_id, col(RunEvent.id) > after_id)
        if kinds is not None:
            query = query.where(col(RunEvent.kind).in_(kinds))
        with self._session() as session:
            return list(session.exec(query.order_by(col(RunEvent.id))).all())

    def count_events(self, kind: str) -> int:
        """Events of one kind across all runs (e.g. `run_recovered`: crashes)."""
        query = select(func.count()).select_from(RunEvent).where(col(RunEvent.kind) == kind)
        with self._session() as session:
            return int(session.exec(query).one())

    def open_approval(
        self, run_id: str, *, node: str | None, interrupt_id: str, question: dict[str, Any]
    ) -> Approval:
        with self._session() as session:
            existing = session.exec(
                select(Approval).where(
                    Approval.run_id == run_id, Approval.interrupt_id == interrupt_id
                )
            ).first()
            if existing is not None:
                return existing
            approval = Approval(
                id=new_id("apr"),
                run_id=run_id,
                node=node,
                interrupt_id=interrupt_id,
                question=question,
            )
            session.add(approval)
            session.commit()
            return approval

    def pending_approval(self, run_id: str) -> Approval | None:
        with self._session() as session:
            return session.exec(
                select(Approval)
                .where(Approval.run_id == run_id, Approval.status == ApprovalStatus.pending)
                .order_by(col(Approval.created_at).desc())
            ).first()

    def approvals(self, run_id: str) -> list[Approval]:
        with self._session() as session:
            return list(
                session.exec(
                    select(Approval)
                    .where(Approval.run_id == run_id)
                    .order_by(col(Approval.created_at))
                ).all()
            )

    def decide(self, approval_id: str, *, decision: dict[str, Any], by: str | None) -> Approval:
        with self._session() as session:
            approval = session.get(Approval, approval_id)
            if approval is None:
                raise RunNotFound(approval_id)
            approval.status = ApprovalStatus.decided
            approval.decision = decision
            approval.decided_by = by
            approval.decided_at = utcnow()
            session.add(approval)
            session.commit()
            return approval


def _run_filters(
    flow: str | None,
    status: RunStatus | None,
    trigger: str | None,
    batch_id: str | None,
    since: dt.datetime | None,
    until: dt.datetime | None,
    before_id: str | None,
) -> list[Any]:
    """The WHERE clauses of a runs listing (and of its count)."""
    clauses: list[Any] = []
    if flow:
        clauses.append(col(Run.flow) == flow)
    if status:
        clauses.append(col(Run.status) == status)
    if trigger:
        clauses.append(col(Run.trigger) == trigger)
    if batch_id:
        clauses.append(col(Run.batch_id) == batch_id)
    if since:
        clauses.append(col(Run.created_at) >= since)
    if until:
        clauses.append(col(Run.created_at) < until)
    if before_id:
        clauses.append(col(Run.id) < before_id)
    return clauses
