"""Answering a waiting run's question as a change of state, for a process that does not
execute runs (the API): the answer is validated and recorded, the run goes back to
`queued` in the same transaction, and a worker carries it on from its checkpoint (the
runner resumes a run whose open question has a recorded answer: `Runner._execute`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sqlalchemy import update

from bpa.db import table_of
from bpa.errors import RunStateError
from bpa.runs.chain import append_events
from bpa.runs.runner import Runner
from bpa.runs.tables import Approval, ApprovalStatus, Run, RunStatus, utcnow

if TYPE_CHECKING:
    from bpa.auth import Principal

__all__ = ["queue_decision"]

_RUNS = table_of(Run)
_APPROVALS = table_of(Approval)


def queue_decision(
    runner: Runner,
    run_id: str,
    decision: dict[str, Any],
    *,
    by: str | None,
    actor: Principal | None = None,
) -> Run:
    """Record the answer to the run's open question and queue the run to carry on; its event
    records who answered (`actor`: key name, role and id) and why (the answer's comment).

    `RunStateError` when the run does not wait (or another answer came first), and
    `InvalidDecision` when the answer does not fit the question.
    """
    store = runner.store
    _run, approval, body = runner.answer_of(run_id, decision, by=by)
    now = utcnow()
    with store.engine.begin() as conn:
        answered = conn.execute(
            update(_APPROVALS)
            .where(_APPROVALS.c.id == approval.id, _APPROVALS.c.status == ApprovalStatus.pending)
            .values(status=ApprovalStatus.decided, decision=body, decided_by=by, decided_at=now)
        ).rowcount
        queued = conn.execute(
            update(_RUNS)
            .where(_RUNS.c.id == run_id, _RUNS.c.status == RunStatus.waiting)
            .values(status=RunStatus.queued, claimed_by=None, lease_until=None, updated_at=now)
        ).rowcount
        if answered != 1 or queued != 1:  # raising here rolls the transaction back
            raise RunStateError(f"run {run_id} was answered or changed meanwhile")
        payload = {"approval_id": approval.id, **body}
        if actor is not None:
            payload["actor"] = actor.as_actor()
        recorded = {
            "run_id": run_id,
            "kind": "decision_recorded",
            "node": approval.node,
            "payload": payload,
            "duration_ms": None,
            "created_at": now,
        }
        append_events(conn, [recorded], statuses={run_id: RunStatus.queued})
    return store.get(run_id)
