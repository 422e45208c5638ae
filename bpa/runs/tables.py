"""The engine's tables: runs, their audit trail, and the approvals humans give."""

from __future__ import annotations

import datetime as dt
import functools
import random
import time
from collections.abc import Callable, Mapping
from enum import StrEnum
from typing import Any, TypeVar, cast

from sqlalchemy import JSON, Column, UniqueConstraint
from sqlalchemy.orm import configure_mappers
from sqlmodel import Field, SQLModel

from bpa.runs.status import RunStatus

__all__ = [
    "Approval",
    "ApprovalStatus",
    "AuditJournalEntry",
    "Run",
    "RunEvent",
    "RunStatus",
    "constructed",
    "new_id",
    "utcnow",
]


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


_Table = TypeVar("_Table", bound=SQLModel)


@functools.cache
def _mappers_configured() -> None:
    configure_mappers()


@functools.cache
def _defaults(model: type[SQLModel]) -> tuple[dict[str, Any], dict[str, Callable[[], Any]]]:
    """A table model's plain defaults and default factories (ours take no argument)."""
    plain: dict[str, Any] = {}
    factories: dict[str, Callable[[], Any]] = {}
    for name, field in model.model_fields.items():
        if field.default_factory is not None:
            factories[name] = cast(Callable[[], Any], field.default_factory)
        elif not field.is_required():
            plain[name] = field.default
    return plain, factories


def constructed(model: type[_Table], values: Mapping[str, Any]) -> _Table:
    """A `model` (a table model) from values that are valid already (a row of its table,
    or what the engine built), without validating them again or the ORM's instance set-up:
    it is only read, never added to a session. SQLAlchemy's mappers, which a bare construct
    does not set up, are configured first (once).

    Missing fields get their defaults here: pydantic's construct would inspect each default
    factory's signature on every call, which cost a run's audit trail about a millisecond."""
    _mappers_configured()
    plain, factories = _defaults(model)
    filled = {**plain, **values}
    for name, factory in factories.items():
        if name not in values:
            filled[name] = factory()
    return model.model_construct(**filled)


def new_id(prefix: str) -> str:
    """Time-ordered, unique ids: sorting by id sorts by creation time.

    The 40 random bits come from `random` (reseeded from the OS in every process and after
    every fork), not `secrets`: ids name records, they grant nothing, and a system call per
    id costs the API's request path a thread switch.
    """
    return f"{prefix}_{int(time.time() * 1000):012x}{random.getrandbits(40):010x}"


class Run(SQLModel, table=True):
    __tablename__ = "bpa_runs"
    __table_args__ = (UniqueConstraint("flow", "idempotency_key", name="uq_run_idempotency"),)

    id: str = Field(primary_key=True)
    flow: str = Field(index=True)
    flow_version: str
    status: RunStatus = Field(default=RunStatus.queued, index=True)
    trigger: str = Field(default="api", index=True, description="cli, api, batch, schedule, demo")
    input: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    output: dict[str, Any] | None = Field(default=None, sa_column=Column(JSON))
    error: dict[str, Any] | None = Field(default=None, sa_column=Column(JSON))
    idempotency_key: str | None = Field(default=None)
    request_hash: str | None = None
    batch_id: str | None = Field(default=None, index=True)
    attempts: int = 0
    claimed_by: str | None = Field(
        default=None, description="The runner process holding the lease while it executes the run"
    )
    lease_until: dt.datetime | None = Field(
        default=None,
        index=True,
        description="The holder renews this while it runs; once past, another process may resume",
    )
    created_at: dt.datetime = Field(default_factory=utcnow, index=True)
    started_at: dt.datetime | None = None
    finished_at: dt.datetime | None = None
    updated_at: dt.datetime = Field(default_factory=utcnow)


class RunEvent(SQLModel, table=True):
    """One line of a run's audit trail, a link of the run's hash chain (bpa/runs/chain.py)."""

    __tablename__ = "bpa_run_events"
    __table_args__ = (UniqueConstraint("run_id", "seq", name="uq_run_event_seq"),)

    id: int | None = Field(default=None, primary_key=True)
    run_id: str = Field(index=True, foreign_key="bpa_runs.id")
    kind: str = Field(
        description="run_created, run_started, node_started, node_finished, node_failed, "
        "model_call, connector_intent, connector_call, interrupted, resumed, run_finished"
    )
    node: str | None = None
    payload: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    duration_ms: float | None = None
    created_at: dt.datetime = Field(default_factory=utcnow)
    seq: int = Field(default=0, description="Position in the run's trail: 1, 2, ... (set on write)")
    prev_hash: str = Field(default="", description="`hash` of the run's previous event")
    hash: str = Field(default="", description="SHA-256 of this event and `prev_hash`")


class AuditJournalEntry(SQLModel, table=True):
    """A run's last event when the run came to rest: one link of a global hash chain, so that
    a deleted run, or the deleted tail of its trail, shows (bpa/runs/chain.py)."""

    __tablename__ = "bpa_audit_journal"

    id: int | None = Field(default=None, primary_key=True)
    run_id: str = Field(index=True, description="No foreign key: the entry outlives its run")
    seq: int = Field(description="The run's last event then (0: none)")
    head: str = Field(description="That event's hash")
    status: str
    created_at: dt.datetime = Field(default_factory=utcnow)
    prev_hash: str = Field(description="`hash` of the journal's previous entry")
    hash: str


class ApprovalStatus(StrEnum):
    pending = "pending"
    decided = "decided"
    cancelled = "cancelled"


class Approval(SQLModel, table=True):
    """A question a run asked a human, and the answer it got."""

    __tablename__ = "bpa_approvals"

    id: str = Field(primary_key=True)
    run_id: str = Field(index=True, foreign_key="bpa_runs.id")
    node: str | None = None
    interrupt_id: str
    question: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    status: ApprovalStatus = Field(default=ApprovalStatus.pending, index=True)
    decision: dict[str, Any] | None = Field(default=None, sa_column=Column(JSON))
    decided_by: str | None = None
    created_at: dt.datetime = Field(default_factory=utcnow)
    decided_at: dt.datetime | None = None
