"""The schedule tables and their policies."""

from __future__ import annotations

import datetime as dt
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, Column, UniqueConstraint
from sqlmodel import Field, SQLModel

from bpa.runs.tables import utcnow


class ScheduleError(ValueError):
    """A schedule's definition is wrong; the message says which field and how to fix it."""


class ScheduleNameTaken(ScheduleError):
    """Another schedule has this name (names are unique: people find schedules by them)."""


class ScheduleNotFound(LookupError):
    """No schedule has this id."""


class OverlapPolicy(StrEnum):
    """What a firing does while the schedule's previous runs are still unfinished."""

    skip = "skip"  #: do not start; record the firing as skipped
    buffer_one = "buffer_one"  #: start once the previous runs finish (at most one waits)
    allow = "allow"  #: start anyway


class MisfirePolicy(StrEnum):
    """What happens to firings missed while no scheduler was running."""

    run_once = "run_once"  #: the missed firings become one run, started at once
    skip = "skip"  #: drop them; wait for the next firing time


class FiringStatus(StrEnum):
    pending = "pending"  #: claimed; runs being created
    started = "started"
    skipped = "skipped"
    buffered = "buffered"
    missed = "missed"
    failed = "failed"


def as_utc(value: dt.datetime) -> dt.datetime:
    """Aware UTC; SQLite hands back naive datetimes, which we always store as UTC."""
    return value.replace(tzinfo=dt.UTC) if value.tzinfo is None else value.astimezone(dt.UTC)


class Schedule(SQLModel, table=True):
    __tablename__ = "bpa_schedules"

    id: str = Field(primary_key=True)
    name: str = Field(index=True, unique=True, description="Unique: people name schedules")
    flow: str = Field(index=True)
    cron: str = Field(description="Five-field cron expression, e.g. `*/5 * * * *`")
    timezone: str = Field(default="UTC", description="IANA zone the cron is read in")
    input: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    enabled: bool = Field(default=True, index=True)
    overlap: str = Field(default=OverlapPolicy.skip, description="An `OverlapPolicy`")
    misfire: str = Field(default=MisfirePolicy.run_once, description="A `MisfirePolicy`")
    next_fire_at: dt.datetime | None = Field(default=None, index=True)
    last_fired_at: dt.datetime | None = None
    created_at: dt.datetime = Field(default_factory=utcnow)
    updated_at: dt.datetime = Field(default_factory=utcnow)


class ScheduleFiring(SQLModel, table=True):
    """One due time of a schedule and what came of it."""

    __tablename__ = "bpa_schedule_firings"
    __table_args__ = (UniqueConstraint("schedule_id", "fire_time", name="uq_firing_once"),)

    id: int | None = Field(default=None, primary_key=True)
    schedule_id: str = Field(index=True)
    fire_time: dt.datetime
    status: str = Field(default=FiringStatus.pending, index=True, description="A `FiringStatus`")
    run_id: str | None = None
    batch_id: str | None = None
    detail: str | None = None
    created_at: dt.datetime = Field(default_factory=utcnow)
