"""Answering a waiting run's question as a change of state, for a process that does not
execute runs (the API): the answer is validated and recorded, the run goes back to
`queued` in the same transaction, and a worker carries it on from its checkpoint (the
runner resumes a run whose open question has a recorded answer: `Runner._execute`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from bpa.errors import RunStateError
from bpa.runs.answers import record_answer
from bpa.runs.runner import Runner
from bpa.runs.tables import Run, utcnow

if TYPE_CHECKING:
    from bpa.auth import Principal

__all__ = ["queue_decision"]


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
    payload = {"approval_id": approval.id, **body}
    if actor is not None:
        payload["actor"] = actor.as_actor()
    with store.engine.begin() as conn:
        if not record_answer(
            conn,
            run_id=run_id,
            approval_id=approval.id,
            node=approval.node,
            body=body,
            decided_by=by,
            event=payload,
            now=utcnow(),
        ):  # raising here rolls the transaction back
            raise RunStateError(f"run {run_id} was answered or changed meanwhile")
    return store.get(run_id)
