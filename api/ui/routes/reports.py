"""Reports: the sales reviews (any run whose output names a `report_html`), listed and opened.

A report is a file a run wrote under `BPA_HOME/reports/`. It is served only from there, in a
sandbox (no script, nothing loaded from elsewhere): it holds CRM text, which is not ours.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

from fastapi import APIRouter, Request
from fastapi import Path as PathParam
from starlette.responses import Response

from api.deps import ServicesDep
from api.services import Services
from api.ui import _queries
from api.ui._access import ConsoleError, ViewerDep
from api.ui._console import console_of
from api.ui.routes.runs import run_or_404
from bpa.runs.tables import Run, RunStatus

__all__ = ["router"]

router = APIRouter(include_in_schema=False)

RunId = Annotated[str, PathParam(max_length=100)]
_REPORT_CSP = "sandbox; default-src 'none'; style-src 'unsafe-inline'; img-src data:"


def _report_runs(services: Services) -> list[Run]:
    found = _queries.find_runs(
        services.suite.engine,
        _queries.RunFilter(status=RunStatus.succeeded, search="report_html"),
        before_id=None,
        limit=100,
    )
    return [run for run in found if (run.output or {}).get("report_html")]


@router.get("/reports")
def reports_page(request: Request, visitor: ViewerDep, services: ServicesDep) -> Response:
    return console_of(request).pages.render(
        request, visitor, "reports.html", runs=_report_runs(services)
    )


def _report_file(services: Services, run: Run) -> Path:
    reports = (services.settings.home / "reports").resolve()
    named = (run.output or {}).get("report_html")
    if not isinstance(named, str):
        raise ConsoleError(404, "this run wrote no report", title="No report")
    path = Path(named).resolve()
    if not path.is_relative_to(reports) or not path.is_file():
        raise ConsoleError(
            404, "the report is not in this server's reports folder", title="No report"
        )
    return path


@router.get("/reports/{run_id}")
def report_page(
    run_id: RunId, request: Request, visitor: ViewerDep, services: ServicesDep
) -> Response:
    run = run_or_404(services, run_id)
    _report_file(services, run)
    return console_of(request).pages.render(request, visitor, "report.html", run=run)


@router.get("/reports/{run_id}/report.html")
def report_file(run_id: RunId, visitor: ViewerDep, services: ServicesDep) -> Response:
    path = _report_file(services, run_or_404(services, run_id))
    return Response(
        path.read_bytes(),
        media_type="text/html; charset=utf-8",
        headers={
            "Content-Security-Policy": _REPORT_CSP,
            "X-Content-Type-Options": "nosniff",
            "Cache-Control": "private, no-store",
            "X-Frame-Options": "SAMEORIGIN",
        },
    )
