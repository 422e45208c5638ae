"""The audit trail's integrity, for approvers and admins: every run's hash chain and the
journal of run heads, checked (bpa/runs/verify.py). A plain `def` route: the check reads the
database synchronously, in FastAPI's thread pool."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from fastapi import APIRouter, Query

from api.deps import ApproverDep, ServicesDep
from api.problems import problem_responses
from api.schemas import AuditReportPublic
from bpa.runs.verify import verify_audit

__all__ = ["router"]

router = APIRouter(prefix="/audit", tags=["audit"])


@router.get(
    "/verify",
    response_model=AuditReportPublic,
    summary="Check the audit trail for tampering",
    responses=problem_responses(401, 403, 422),
)
def verify(
    services: ServicesDep,
    _approver: ApproverDep,
    since: Annotated[
        dt.datetime | None,
        Query(
            description="Only runs created and journal entries written from then on; UTC if naive"
        ),
    ] = None,
) -> AuditReportPublic:
    """Every edited, deleted, reordered or inserted event, with its run and position, and
    every journalled run that was deleted. `ok` is true when there is none."""
    report = verify_audit(services.suite.engine, since=since)
    return AuditReportPublic.model_validate(report.as_json())
