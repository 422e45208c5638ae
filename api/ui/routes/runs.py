"""Runs: the filtered list (live), a run's page (graph, timeline, input, output, actions), its
document, and cancelling.

Reads are plain `def` routes (FastAPI runs them in its thread pool: the stores are
synchronous).
"""

from __future__ import annotations

import asyncio
import datetime as dt
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Path, Query, Request
from starlette.concurrency import run_in_threadpool
from starlette.responses import Response

from api.deps import ServicesDep
from api.services import Services
from api.submit import flow_role_problem
from api.ui import _queries
from api.ui._access import ApproverDep, ConsoleError, FormDep, OperatorDep, ViewerDep
from api.ui._console import console_of
from api.ui._graph import draw
from api.ui._present import label_of, path_of, timeline
from api.ui._queries import RunFilter
from api.ui._render import redirect
from bpa.documents import DocumentError, DocumentRef
from bpa.errors import InvalidInput, RunNotFound, RunStateError
from bpa.rollback import ROLLBACKABLE, RunRollback
from bpa.runs.tables import Run, RunStatus

__all__ = ["router", "run_or_404"]

router = APIRouter(include_in_schema=False)

RunId = Annotated[str, Path(max_length=100)]
Text = Annotated[str | None, Query(max_length=200)]
_PAGE = 50
_TRIGGERS = ("api", "batch", "schedule", "cli", "demo", "inbox")


def run_or_404(services: Services, run_id: str) -> Run:
    try:
        return services.suite.store.get(run_id)
    except RunNotFound:
        raise ConsoleError(404, f"no run with id {run_id!r}", title="Run not found") from None


def _day(value: str | None, name: str) -> dt.datetime | None:
    if not value:
        return None
    try:
        day = dt.date.fromisoformat(value)
    except ValueError:
        raise ConsoleError(422, f"{name} must be a date like 2026-03-31") from None
    return dt.datetime.combine(day, dt.time(), tzinfo=dt.UTC)


def _filters(params: dict[str, str]) -> RunFilter:
    status = params.get("status") or None
    if status and status not in RunStatus.__members__:
        raise ConsoleError(422, f"unknown status {status!r}; one of {', '.join(RunStatus)}")
    until = _day(params.get("until"), "until")
    return RunFilter(
        flow=params.get("flow") or None,
        status=RunStatus(status) if status else None,
        trigger=params.get("trigger") or None,
        batch_id=params.get("batch") or None,
        reason=(params.get("reason") or "").strip() or None,
        search=(params.get("q") or "").strip() or None,
        since=_day(params.get("since"), "since"),
        until=until + dt.timedelta(days=1) if until else None,
    )


def _rows(runs: list[Run]) -> list[dict[str, Any]]:
    return [
        {"run": run, "label": label_of(run), "reasons": _queries.reasons_of(run)} for run in runs
    ]


@router.get("/runs")
def runs_page(
    request: Request,
    visitor: ViewerDep,
    services: ServicesDep,
    flow: Text = None,
    status: Text = None,
    trigger: Text = None,
    batch: Text = None,
    reason: Text = None,
    q: Text = None,
    since: Text = None,
    until: Text = None,
    before: Text = None,
) -> Response:
    params = {
        "flow": flow or "",
        "status": status or "",
        "trigger": trigger or "",
        "batch": batch or "",
        "reason": reason or "",
        "q": q or "",
        "since": since or "",
        "until": until or "",
    }
    found = _queries.find_runs(
        services.suite.engine, _filters(params), before_id=before, limit=_PAGE
    )
    partial = request.headers.get("hx-request") == "true" and not before
    return console_of(request).pages.render(
        request,
        visitor,
        "runs_rows.html" if partial else "runs.html",
        params=params,
        rows=_rows(found),
        before=before or "",
        next_before=found[-1].id if len(found) == _PAGE else None,
        flows=sorted(services.suite.flows),
        statuses=list(RunStatus),
        triggers=_TRIGGERS,
    )


def _run_context(request: Request, services: Services, run: Run) -> dict[str, Any]:
    store = services.suite.store
    events = store.events(run.id)
    approval = store.pending_approval(run.id) if run.status == RunStatus.waiting else None
    graph = None
    if run.flow in services.suite.flows:
        path = path_of(run, events)
        layout = console_of(request).layout(services.suite.runner, run.flow)
        graph = draw(
            layout,
            path=path.nodes,
            current=path.current,
            where=path.where,
            title=f"{run.flow}: the path this run took",
        )
    document = (run.input or {}).get("document")
    return {
        "run": run,
        "label": label_of(run),
        "reasons": _queries.reasons_of(run),
        "steps": timeline(events),
        "approval": approval,
        "graph": graph,
        "document": document if isinstance(document, dict) else None,
        "live": not RunStatus(run.status).finished and run.status != RunStatus.waiting,
        "can_roll_back": run.status in ROLLBACKABLE,
        "finished": RunStatus(run.status).finished,
    }


@router.get("/runs/{run_id}")
def run_page(
    run_id: RunId, request: Request, visitor: ViewerDep, services: ServicesDep
) -> Response:
    run = run_or_404(services, run_id)
    context = _run_context(request, services, run)
    return console_of(request).pages.render(request, visitor, "run.html", **context)


@router.get("/runs/{run_id}/live")
def run_live(
    run_id: RunId, request: Request, visitor: ViewerDep, services: ServicesDep
) -> Response:
    """The part of the run page that changes while it runs (htmx polls it until it settles)."""
    run = run_or_404(services, run_id)
    context = _run_context(request, services, run)
    return console_of(request).pages.render(request, visitor, "run_live.html", **context)


def _inline_name(filename: str) -> str:
    ascii_name = "".join(c for c in filename if c.isascii() and c.isprintable() and c not in '"\\')
    return f"inline; filename=\"{ascii_name or 'document'}\"; filename*=UTF-8''{quote(filename)}"


@router.get("/runs/{run_id}/document")
def run_document(
    run_id: RunId, request: Request, visitor: ViewerDep, services: ServicesDep
) -> Response:
    """The stored input document, shown inline: a PDF as a PDF, anything else as plain text
    (never as HTML or script, whatever its name or declared type)."""
    run = run_or_404(services, run_id)
    raw = (run.input or {}).get("document")
    if not isinstance(raw, dict):
        raise ConsoleError(404, "this run was given no document", title="No document")
    try:
        ref = DocumentRef.model_validate(raw)
        data = services.suite.documents.read(ref)
    except (DocumentError, ValueError) as exc:
        raise ConsoleError(
            404, f"the document cannot be shown: {exc}", title="No document"
        ) from None
    pdf = data.startswith(b"%PDF-")
    headers = {
        "Content-Disposition": _inline_name(ref.filename),
        "X-Content-Type-Options": "nosniff",
        "Cache-Control": "private, no-store",
        "Referrer-Policy": "same-origin",
        "X-Frame-Options": "SAMEORIGIN",
    }
    if not pdf:
        headers["Content-Security-Policy"] = "sandbox; default-src 'none'"
    media = "application/pdf" if pdf else "text/plain; charset=utf-8"
    return Response(data, media_type=media, headers=headers)


@router.post("/runs/{run_id}/cancel")
async def cancel_run(
    run_id: RunId, request: Request, form: FormDep, visitor: OperatorDep, services: ServicesDep
) -> Response:
    runner = services.suite.runner
    who = visitor.principal.name if visitor.principal else "someone"
    reason = str(form.get("reason") or "").strip()[:500] or f"cancelled in the console by {who}"

    def cancel() -> None:
        # A status change in the database (async only by its signature): off the loop.
        asyncio.run(runner.cancel(run_id, reason=reason, actor=visitor.principal))

    run = await run_in_threadpool(run_or_404, services, run_id)
    if problem := flow_role_problem(services, run.flow, visitor.principal, "cancelling"):
        raise ConsoleError(403, problem, title="Not cancelled")
    try:
        await run_in_threadpool(cancel)
    except RunStateError as exc:
        raise ConsoleError(409, str(exc), title="Not cancelled") from None
    return redirect(request, visitor, f"/ui/runs/{run_id}")


@router.post("/runs/{run_id}/rollback")
async def roll_back_run(
    run_id: RunId, request: Request, form: FormDep, visitor: ApproverDep, services: ServicesDep
) -> Response:
    """The API's rollback (`POST /runs/{id}/rollback`): the declared undo of each side effect
    the run made, connector calls only, with the reason in the trail."""
    suite = services.suite
    undo = RunRollback.of(suite)
    reason = str(form.get("reason") or "")[:500]
    who = visitor.principal.name if visitor.principal else None

    def roll_back() -> None:
        # Connector calls (synchronous SQL in the mocked systems): off the event loop.
        asyncio.run(undo(run_id, reason=reason, by=who))

    run = await run_in_threadpool(run_or_404, services, run_id)
    if problem := flow_role_problem(services, run.flow, visitor.principal, "rolling back"):
        raise ConsoleError(403, problem, title="Not rolled back")
    try:
        await run_in_threadpool(roll_back)
    except RunStateError as exc:
        raise ConsoleError(409, str(exc), title="Not rolled back") from None
    except InvalidInput as exc:
        raise ConsoleError(422, str(exc), title="Not rolled back") from None
    return redirect(request, visitor, f"/ui/runs/{run_id}")
