"""Recording the answer to a waiting run's question: the question is decided, the run goes
back to `queued` and a `decision_recorded` event is appended, in the caller's transaction.
A person's decision (`bpa.runs.decisions`) and a customer's reply (`bpa.runs.replies`) are
both recorded this way, so that a worker carries the run on from its checkpoint."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import update
from sqlalchemy.engine import Connection

from bpa.db import table_of
from bpa.runs.chain import append_events
from bpa.runs.tables import Approval, ApprovalStatus, Run, RunStatus

__all__ = ["record_answer"]

_RUNS = table_of(Run)
_APPROVALS = table_of(Approval)


def record_answer(
    conn: Connection,
    *,
    run_id: str,
    approval_id: str,
    node: str | None,
    body: dict[str, Any],
    decided_by: str | None,
    event: dict[str, Any],
    now: dt.datetime,
) -> bool:
    """Decide the question with `body`, queue the run and append `event` as its
    `decision_recorded` payload. False, having written nothing that counts, when the
    question was answered or the run changed meanwhile: the caller then raises, which rolls
    its transaction back."""
    answered = conn.execute(
        update(_APPROVALS)
        .where(_APPROVALS.c.id == approval_id, _APPROVALS.c.status == ApprovalStatus.pending)
        .values(status=ApprovalStatus.decided, decision=body, decided_by=decided_by, decided_at=now)
    ).rowcount
    queued = conn.execute(
        update(_RUNS)
        .where(_RUNS.c.id == run_id, _RUNS.c.status == RunStatus.waiting)
        .values(status=RunStatus.queued, claimed_by=None, lease_until=None, updated_at=now)
    ).rowcount
    if answered != 1 or queued != 1:
        return False
    recorded = {
        "run_id": run_id,
        "kind": "decision_recorded",
        "node": node,
        "payload": event,
        "duration_ms": None,
        "created_at": now,
    }
    append_events(conn, [recorded], statuses={run_id: RunStatus.queued})
    return True
