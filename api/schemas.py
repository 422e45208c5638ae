"""What the API accepts and returns. Table rows never leave the API unconverted."""

from __future__ import annotations

import datetime as dt
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from bpa.auth import ApiKey, Role
from bpa.review import ReviewAction
from bpa.runs.tables import Approval, Run, RunEvent, RunStatus
from bpa.schedules import MisfirePolicy, OverlapPolicy, Schedule, ScheduleFiring

__all__ = [
    "ApiKeyCreate",
    "ApiKeyCreated",
    "ApiKeyPublic",
    "AuditFinding",
    "AuditReportPublic",
    "BatchCreate",
    "BatchPublic",
    "CancelIn",
    "ConnectorHealth",
    "ConnectorPublic",
    "DecisionIn",
    "EventPublic",
    "EventsPublic",
    "FiringPublic",
    "FlowDetail",
    "FlowPublic",
    "Health",
    "PendingQuestion",
    "Ready",
    "RollbackIn",
    "RollbackPublic",
    "RollbackStep",
    "RunCreate",
    "RunPublic",
    "RunsPublic",
    "ScheduleCreate",
    "SchedulePublic",
    "ScheduleUpdate",
]

_FORBID = ConfigDict(extra="forbid")


class RunCreate(BaseModel):
    """Start a run. `input` must match the flow's input schema (`GET /flows/{flow}`)."""

    model_config = _FORBID

    input: dict[str, Any] = Field(description='The flow\'s input, e.g. {"text": "..."}')


class BatchCreate(BaseModel):
    """Start one run per item; every item must match the flow's input schema."""

    model_config = _FORBID

    inputs: list[dict[str, Any]] = Field(min_length=1, max_length=1000)


class DecisionIn(BaseModel):
    """A human's answer to the question a waiting run asks (`question` on the run).

    The flow's own decision schema (`GET /flows/{flow}`, `decision_schema`) types
    `corrections`; it is checked when the run resumes.
    """

    model_config = _FORBID

    action: ReviewAction
    comment: str | None = Field(default=None, max_length=4000)
    corrections: dict[str, Any] = Field(
        default_factory=dict, description="Corrected fields; only with action `correct`"
    )


class CancelIn(BaseModel):
    model_config = _FORBID

    reason: str = Field(default="cancelled through the API", min_length=1, max_length=500)


class RollbackIn(BaseModel):
    model_config = _FORBID

    reason: str = Field(
        min_length=1,
        max_length=500,
        pattern=r"\S",
        description="Why; kept in the audit trail and in undo requests that record one",
    )


class RollbackStep(BaseModel):
    """One side effect of the run and what the rollback did about it."""

    connector: str
    action: str
    idempotency_key: str
    record: str | None = Field(description="The id of the record the call made or changed")
    outcome: Literal["undone", "already_undone", "cannot_undo", "failed", "left"]
    undo: str | None = Field(description="The undo action")
    detail: str = Field(description="Why it cannot be undone, how it failed, or by what")


class PendingQuestion(BaseModel):
    approval_id: str
    node: str | None
    question: dict[str, Any] = Field(description="kind, title, reasons, details, actions, ...")
    asked_at: dt.datetime

    @classmethod
    def of(cls, approval: Approval) -> PendingQuestion:
        return cls(
            approval_id=approval.id,
            node=approval.node,
            question=approval.question,
            asked_at=approval.created_at,
        )


class RunPublic(BaseModel):
    id: str
    flow: str
    flow_version: str
    status: RunStatus
    trigger: str
    batch_id: str | None
    input: dict[str, Any]
    output: dict[str, Any] | None
    error: dict[str, Any] | None
    attempts: int
    question: PendingQuestion | None = Field(
        default=None, description="What the run waits on, when `status` is `waiting`"
    )
    resumed: bool = Field(
        default=False,
        description="Starting a run: the input answered this waiting run's question (a "
        "customer's reply), which carries on, instead of starting a new run",
    )
    created_at: dt.datetime
    started_at: dt.datetime | None
    finished_at: dt.datetime | None
    updated_at: dt.datetime

    @classmethod
    def of(cls, run: Run, approval: Approval | None = None) -> RunPublic:
        return cls(
            id=run.id,
            flow=run.flow,
            flow_version=run.flow_version,
            status=run.status,
            trigger=run.trigger,
            batch_id=run.batch_id,
            input=run.input,
            output=run.output,
            error=run.error,
            attempts=run.attempts,
            question=PendingQuestion.of(approval) if approval is not None else None,
            created_at=run.created_at,
            started_at=run.started_at,
            finished_at=run.finished_at,
            updated_at=run.updated_at,
        )


class RollbackPublic(BaseModel):
    """A rollback's report: the run as it is now and a step per side effect, newest first."""

    run: RunPublic
    noop: bool = Field(description="True when the run was rolled back already: nothing done")
    steps: list[RollbackStep]
    left: list[RollbackStep] = Field(description="What is left to undo (rollback_failed)")

    @classmethod
    def of(cls, report: dict[str, Any], run: Run) -> RollbackPublic:
        return cls(
            run=RunPublic.of(run),
            noop=report["noop"],
            steps=report["steps"],
            left=report["left"],
        )


class RunsPublic(BaseModel):
    data: list[RunPublic]
    next_cursor: str | None = Field(
        description="Pass as `before` for the next (older) page; null on the last page"
    )


class EventPublic(BaseModel):
    id: int
    run_id: str
    kind: str
    node: str | None
    payload: dict[str, Any]
    duration_ms: float | None
    created_at: dt.datetime

    @classmethod
    def of(cls, event: RunEvent) -> EventPublic:
        return cls(
            id=event.id or 0,
            run_id=event.run_id,
            kind=event.kind,
            node=event.node,
            payload=event.payload,
            duration_ms=event.duration_ms,
            created_at=event.created_at,
        )


class EventsPublic(BaseModel):
    data: list[EventPublic]
    next_cursor: int | None = Field(
        description="Pass as `after` for the next page; null when there are no more events yet"
    )


class BatchPublic(BaseModel):
    id: str
    flow: str
    total: int
    counts: dict[str, int] = Field(description="Runs by status")
    finished: int = Field(description="Runs succeeded, failed or cancelled")
    settled: int = Field(description="Runs finished or waiting for a human")
    progress: float = Field(ge=0, le=1, description="settled / total")
    run_ids: list[str] | None = Field(
        default=None, description="Only on creation: the run of each input, in order"
    )
    duplicates: list[int] | None = Field(
        default=None,
        description="Only on creation: inputs the flow recognised as already run (e.g. the "
        "same message twice); their `run_ids` entry is that earlier run, outside this batch",
    )


class FlowPublic(BaseModel):
    name: str
    version: str | None
    description: str | None
    connectors: list[str]
    accepts_document: bool = Field(description="A file upload can be this flow's input")
    input_suffixes: list[str]
    problem: str | None = Field(description="Why the flow is unusable, when it is")


class FlowDetail(FlowPublic):
    input_schema: dict[str, Any]
    output_schema: dict[str, Any] | None
    decision_schema: dict[str, Any] | None
    graph_mermaid: str


class ConnectorPublic(BaseModel):
    name: str
    kind: str | None
    ok: bool
    problems: list[str]
    actions: list[dict[str, Any]] = Field(
        description="name, side_effect, undo, description and request_schema of each action"
    )


class ConnectorHealth(BaseModel):
    name: str
    ok: bool
    details: dict[str, Any] = Field(default_factory=dict)
    problem: str | None = None


class ApiKeyCreate(BaseModel):
    model_config = _FORBID

    role: Role
    name: str | None = Field(default=None, max_length=200)


class ApiKeyPublic(BaseModel):
    id: str
    name: str | None
    role: Role
    created_at: dt.datetime
    last_used_at: dt.datetime | None
    revoked_at: dt.datetime | None

    @classmethod
    def of(cls, key: ApiKey) -> ApiKeyPublic:
        return cls(
            id=key.id,
            name=key.name,
            role=key.role,
            created_at=key.created_at,
            last_used_at=key.last_used_at,
            revoked_at=key.revoked_at,
        )


class ApiKeyCreated(ApiKeyPublic):
    key: str = Field(description="The secret key; shown only this once")


class Health(BaseModel):
    status: Literal["ok"]


class Ready(BaseModel):
    status: Literal["ready"]
    checks: dict[str, Any]


_INPUT_DOC = 'The flow\'s input, or {"batch": [input, ...]} to start one run per item'


class ScheduleCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    flow: str = Field(max_length=100)
    cron: str = Field(max_length=200, description="Five fields, e.g. `*/5 * * * *`")
    timezone: str = Field(default="UTC", max_length=100, description="IANA, e.g. Europe/Berlin")
    input: dict[str, Any] = Field(default_factory=dict, description=_INPUT_DOC)
    enabled: bool = True
    overlap: OverlapPolicy = Field(
        default=OverlapPolicy.skip,
        description="While earlier runs are unfinished: skip, buffer_one, or allow",
    )
    misfire: MisfirePolicy = Field(
        default=MisfirePolicy.run_once,
        description="After downtime: run_once (missed firings become one run) or skip",
    )
    name: str | None = Field(default=None, max_length=200)


class ScheduleUpdate(BaseModel):
    """Only the fields sent change."""

    model_config = ConfigDict(extra="forbid")

    cron: str | None = Field(default=None, max_length=200)
    timezone: str | None = Field(default=None, max_length=100)
    input: dict[str, Any] | None = Field(default=None, description=_INPUT_DOC)
    enabled: bool | None = None
    overlap: OverlapPolicy | None = None
    misfire: MisfirePolicy | None = None
    name: str | None = Field(default=None, max_length=200)


class SchedulePublic(BaseModel):
    id: str
    name: str
    flow: str
    cron: str
    timezone: str
    input: dict[str, Any]
    enabled: bool
    overlap: str
    misfire: str
    next_fire_at: dt.datetime | None
    last_fired_at: dt.datetime | None
    created_at: dt.datetime
    updated_at: dt.datetime

    @classmethod
    def of(cls, schedule: Schedule) -> SchedulePublic:
        return cls.model_validate(schedule.model_dump())


class FiringPublic(BaseModel):
    fire_time: dt.datetime
    status: str
    run_id: str | None
    batch_id: str | None
    detail: str | None
    created_at: dt.datetime

    @classmethod
    def of(cls, firing: ScheduleFiring) -> FiringPublic:
        return cls.model_validate(firing.model_dump())


class AuditFinding(BaseModel):
    run_id: str
    seq: int = Field(description="Position in the run's trail (or the journalled head)")
    what: Literal["edited", "deleted", "reordered", "inserted", "run_deleted"]
    detail: str
    source: Literal["trail", "journal"] = Field(
        description="`journal`: the finding is about the journal of run heads itself"
    )


class AuditReportPublic(BaseModel):
    ok: bool = Field(description="True when nothing was found")
    runs: int
    events: int
    journal_entries: int
    findings: list[AuditFinding]
