"""The approvals inbox (what waits for a human, oldest first), one question's review page,
and answering it.

An answer goes through the API's own path (`queue_decision`: validated against the flow's
decision model, recorded with the person's key name, the run queued for a worker), then the
page follows the run for a few seconds to show where it got to.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Request
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData
from starlette.responses import Response

from api.deps import ServicesDep
from api.services import Services
from api.ui import _queries
from api.ui._access import ApproverDep, FormDep, ViewerDep
from api.ui._console import console_of
from api.ui._present import label_of, review_fields, shown_values
from api.ui._render import redirect
from api.ui.routes.runs import run_or_404
from bpa.errors import InvalidDecision, RunStateError
from bpa.runs.decisions import queue_decision
from bpa.runs.tables import RunStatus

__all__ = ["router"]

router = APIRouter(include_in_schema=False)

RunId = Annotated[str, Path(max_length=100)]
#: How long a decision waits for the worker before the page shows the run as it is.
_FOLLOW_S = 10.0


@router.get("/approvals")
def inbox_page(request: Request, visitor: ViewerDep, services: ServicesDep) -> Response:
    items = [
        {"approval": approval, "run": run, "label": label_of(run)}
        for approval, run in _queries.inbox(services.suite.engine)
    ]
    return console_of(request).pages.render(request, visitor, "approvals.html", items=items)


def _review_context(services: Services, run_id: str) -> dict[str, Any]:
    run = run_or_404(services, run_id)
    store = services.suite.store
    approval = store.pending_approval(run.id) if run.status == RunStatus.waiting else None
    queue = [r.id for _, r in _queries.inbox(services.suite.engine)]
    later = queue[queue.index(run.id) + 1 :] if run.id in queue else queue
    question: dict[str, Any] = approval.question if approval else {}
    document = (run.input or {}).get("document")
    return {
        "run": run,
        "label": label_of(run),
        "approval": approval,
        "question": question,
        "fields": review_fields(question, store.events(run.id)) if approval else [],
        "document": document if isinstance(document, dict) else None,
        "next_id": later[0] if later else None,
        "position": (queue.index(run.id) + 1) if run.id in queue else None,
        "waiting": len(queue),
        "error": None,
    }


@router.get("/approvals/{run_id}")
def review_page(
    run_id: RunId, request: Request, visitor: ViewerDep, services: ServicesDep
) -> Response:
    context = _review_context(services, run_id)
    return console_of(request).pages.render(request, visitor, "review.html", **context)


def _answer(form: FormData, question: dict[str, Any]) -> dict[str, Any]:
    """The decision a review form states: the button pressed, the comment, and the fields
    whose value differs from what the question showed (the corrections)."""
    action = str(form.get("action") or "")
    changed: dict[str, Any] = {}
    for name, before in shown_values(question).items():
        sent = form.get(f"field.{name}")
        if isinstance(sent, str) and sent.strip() and sent.strip() != before:
            changed[name] = sent.strip()
    if changed and action != "correct":
        raise InvalidDecision(
            f"you changed {', '.join(sorted(changed))}: press Correct to apply the changes, "
            f"or undo them to {action}"
        )
    comment = str(form.get("comment") or "").strip() or None
    answer: dict[str, Any] = {"action": action, "comment": comment}
    if action == "correct":
        answer["corrections"] = changed
    return answer


@router.post("/runs/{run_id}/decide")
async def decide(
    run_id: RunId, request: Request, form: FormDep, visitor: ApproverDep, services: ServicesDep
) -> Response:
    suite = services.suite
    context = await run_in_threadpool(_review_context, services, run_id)
    approval = context["approval"]
    actor = visitor.principal
    who = actor.name if actor else None
    try:
        if approval is None:
            raise RunStateError(f"run {run_id} does not wait for a decision (any more)")
        answer = _answer(form, approval.question)
        run = await run_in_threadpool(
            queue_decision, suite.runner, run_id, answer, by=who, actor=actor
        )
    except (InvalidDecision, RunStateError) as exc:
        status = 409 if isinstance(exc, RunStateError) else 422
        context["error"] = str(exc)
        return console_of(request).pages.render(
            request, visitor, "review.html", status=status, **context
        )
    await run_in_threadpool(services.dispatcher.dispatch, [run.id])
    run = await services.follower.wait(run.id, timeout_s=_FOLLOW_S)
    if run.status == RunStatus.waiting:  # a new question (e.g. after a correction)
        return redirect(request, visitor, f"/ui/approvals/{run.id}")
    return redirect(request, visitor, f"/ui/runs/{run.id}")
