"""The console's read-only queries that `RunStore` does not offer: search inside inputs and
outputs, the approvals inbox oldest first, batches, and day-by-day counts for the charts.

Synchronous (call them off the event loop). They read the engine's tables and write none.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Engine, String, cast, distinct, func, or_
from sqlmodel import Session, col, select

from bpa.runs.tables import Approval, ApprovalStatus, Run, RunStatus

__all__ = [
    "Batch",
    "DayCount",
    "RunFilter",
    "automated",
    "batches",
    "day_counts",
    "find_runs",
    "inbox",
    "reasons_of",
    "with_approval",
]

#: Rows the reason filter reads per round before it gives up filling a page.
_SCAN_ROUNDS = 10


def reasons_of(run: Run) -> list[str]:
    """Why the run ended where it did: its error code, its issues' codes, or its decision."""
    if run.error:
        return [str(run.error.get("code") or "error")]
    output = run.output or {}
    codes = sorted({str(i.get("code")) for i in output.get("issues") or [] if i.get("code")})
    if codes:
        return codes
    decision = output.get("decision")
    if isinstance(decision, dict):
        return [str(decision[k]) for k in ("outcome", "reason") if decision.get(k)]
    return [str(decision)] if decision else []


@dataclass(frozen=True)
class RunFilter:
    flow: str | None = None
    status: RunStatus | None = None
    trigger: str | None = None
    batch_id: str | None = None
    reason: str | None = None
    #: Words looked for in the input and output (document name, customer, vendor, invoice).
    search: str | None = None
    since: dt.datetime | None = None
    until: dt.datetime | None = None


def _like(term: str) -> str:
    escaped = term.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def _contains(column: Any, term: str) -> Any:
    """`column` (JSON) holds `term`, as written or as JSON escapes it (non-ASCII letters)."""
    text = cast(column, String)
    forms = {term, json.dumps(term)[1:-1]}
    return or_(*(text.ilike(_like(form), escape="\\") for form in forms))


def _clauses(f: RunFilter) -> list[Any]:
    clauses: list[Any] = []
    if f.flow:
        clauses.append(col(Run.flow) == f.flow)
    if f.status:
        clauses.append(col(Run.status) == f.status)
    if f.trigger:
        clauses.append(col(Run.trigger) == f.trigger)
    if f.batch_id:
        clauses.append(col(Run.batch_id) == f.batch_id)
    if f.since:
        clauses.append(col(Run.created_at) >= f.since)
    if f.until:
        clauses.append(col(Run.created_at) < f.until)
    for word in (f.search or "").split()[:5]:
        clauses.append(
            or_(
                col(Run.id) == word,
                _contains(Run.input, word),
                _contains(Run.output, word),
            )
        )
    if f.reason:
        clauses.append(or_(_contains(Run.output, f.reason), _contains(Run.error, f.reason)))
    return clauses


def find_runs(engine: Engine, f: RunFilter, *, before_id: str | None, limit: int) -> list[Run]:
    """Newest first, like `RunStore.list_runs`; `before_id` pages on. The reason filter is
    narrowed in SQL and confirmed on each run (`reasons_of`)."""
    found: list[Run] = []
    keep: Callable[[Run], bool] = (
        (lambda run: f.reason in reasons_of(run)) if f.reason else (lambda run: True)
    )
    with Session(engine) as session:
        for _ in range(_SCAN_ROUNDS):
            query = select(Run).where(*_clauses(f))
            if before_id:
                query = query.where(col(Run.id) < before_id)
            rows = list(session.exec(query.order_by(col(Run.id).desc()).limit(limit)).all())
            found.extend(run for run in rows if keep(run))
            if len(rows) < limit or len(found) >= limit:
                break
            before_id = rows[-1].id
    return found[:limit]


def with_approval(engine: Engine, run_ids: list[str]) -> set[str]:
    """Which of these runs asked a human at least once."""
    if not run_ids:
        return set()
    query = select(distinct(col(Approval.run_id))).where(col(Approval.run_id).in_(run_ids))
    with Session(engine) as session:
        return set(session.exec(query).all())


def inbox(engine: Engine, *, limit: int = 200) -> list[tuple[Approval, Run]]:
    """Open questions of waiting runs, oldest first."""
    query = (
        select(Approval, Run)
        .join(Run, col(Run.id) == col(Approval.run_id))
        .where(Approval.status == ApprovalStatus.pending, Run.status == RunStatus.waiting)
        .order_by(col(Approval.created_at), col(Approval.id))
        .limit(limit)
    )
    with Session(engine, expire_on_commit=False) as session:
        return [(approval, run) for approval, run in session.exec(query).all()]


@dataclass(frozen=True)
class Batch:
    id: str
    flow: str
    total: int
    started: dt.datetime


def batches(engine: Engine, *, limit: int = 50) -> list[Batch]:
    """The latest batches (runs sharing a batch id), newest first."""
    started = func.min(Run.created_at)
    query = (
        select(Run.batch_id, Run.flow, func.count(), started)
        .where(col(Run.batch_id).is_not(None))
        .group_by(col(Run.batch_id), col(Run.flow))
        .order_by(started.desc())
        .limit(limit)
    )
    with Session(engine) as session:
        return [
            Batch(id=str(batch_id), flow=flow, total=int(n), started=first)
            for batch_id, flow, n, first in session.exec(query).all()
        ]


@dataclass(frozen=True)
class DayCount:
    day: dt.date
    flow: str
    status: str
    runs: int


def day_counts(engine: Engine, since: dt.datetime) -> list[DayCount]:
    """Runs created per day (UTC), flow and status since `since`: one GROUP BY."""
    day = func.date(Run.created_at)
    query = (
        select(day, Run.flow, Run.status, func.count())
        .where(col(Run.created_at) >= since)
        .group_by(day, col(Run.flow), col(Run.status))
    )
    with Session(engine) as session:
        rows = session.exec(query).all()
    return [
        DayCount(day=dt.date.fromisoformat(str(d)[:10]), flow=flow, status=str(s), runs=int(n))
        for d, flow, s, n in rows
    ]


def automated(engine: Engine, since: dt.datetime) -> tuple[int, int]:
    """(finished runs, those that succeeded with no human asked) created since `since`."""
    finished = [status for status in RunStatus if status.finished]
    asked = select(Approval.run_id)
    with Session(engine) as session:
        total = session.exec(
            select(func.count())
            .select_from(Run)
            .where(col(Run.created_at) >= since, col(Run.status).in_(finished))
        ).one()
        alone = session.exec(
            select(func.count())
            .select_from(Run)
            .where(
                col(Run.created_at) >= since,
                Run.status == RunStatus.succeeded,
                col(Run.id).not_in(asked),
            )
        ).one()
    return int(total), int(alone)
