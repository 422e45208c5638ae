"""Helpdesk records: tickets with a status workflow and an SLA, internal notes and replies.

The workflow is ``new -> open -> pending_customer -> solved -> closed``: a ticket waits on
the customer in ``pending_customer`` and goes back to ``open`` when they answer; a solved
ticket may be reopened until it is closed, and a closed one is final.
"""

from __future__ import annotations

import datetime as dt
from typing import Literal

from pydantic import BaseModel, Field, field_validator, model_validator

TicketStatus = Literal["new", "open", "pending_customer", "solved", "closed"]
TicketPriority = Literal["low", "normal", "high", "urgent"]
TicketChannel = Literal["email", "chat", "api", "phone", "web"]

#: The moves `update_ticket` allows; `close_ticket` closes from any status but ``closed``.
TICKET_TRANSITIONS: dict[str, frozenset[str]] = {
    "new": frozenset({"open", "pending_customer", "solved"}),
    "open": frozenset({"pending_customer", "solved"}),
    "pending_customer": frozenset({"open", "solved"}),
    "solved": frozenset({"open", "closed"}),
    "closed": frozenset(),
}
#: Time to resolve, by priority; the SLA due time is the creation time plus this.
SLA_TARGETS: dict[str, dt.timedelta] = {
    "urgent": dt.timedelta(hours=4),
    "high": dt.timedelta(hours=8),
    "normal": dt.timedelta(hours=24),
    "low": dt.timedelta(hours=72),
}
_TAG = r"^[a-z0-9][a-z0-9_:\-]*$"


def _clean_tags(tags: list[str]) -> list[str]:
    """Tags are lower-case slugs, kept sorted and unique, so two spellings never coexist."""
    return sorted({tag.strip().lower().replace(" ", "_") for tag in tags if tag.strip()})


class Requester(BaseModel):
    """Who asked: a known customer, an e-mail address, or both (at least one)."""

    customer_id: str | None = None
    email: str | None = Field(default=None, max_length=320)
    name: str | None = Field(default=None, max_length=200)

    @model_validator(mode="after")
    def _someone(self) -> Requester:
        if not (self.customer_id or self.email):
            raise ValueError("a requester needs a customer_id or an email")
        return self


class TicketComment(BaseModel):
    id: str
    visibility: Literal["internal", "public"] = Field(
        description="internal: a note for agents; public: a reply the customer sees"
    )
    author: str
    body: str
    created_at: dt.datetime


class Ticket(BaseModel):
    id: str
    subject: str
    description: str
    status: TicketStatus
    priority: TicketPriority
    category: str
    channel: TicketChannel
    requester: Requester
    assignee: str | None
    tags: list[str]
    sla_due_at: dt.datetime
    external_ref: str | None = Field(
        default=None, description="the source's id (a message id, a run id), unique per ticket"
    )
    created_at: dt.datetime
    updated_at: dt.datetime
    solved_at: dt.datetime | None = None
    closed_at: dt.datetime | None = None
    comments: list[TicketComment] = Field(default_factory=list, description="oldest first")


class TicketCreate(BaseModel):
    subject: str = Field(min_length=1, max_length=300)
    description: str = Field(default="", max_length=100_000)
    requester: Requester
    channel: TicketChannel = "email"
    priority: TicketPriority = "normal"
    category: str = Field(default="general", pattern=r"^[a-z][a-z0-9_]*$", max_length=60)
    assignee: str | None = None
    tags: list[str] = Field(default_factory=list)
    status: Literal["new", "open"] = "new"
    external_ref: str | None = Field(default=None, max_length=300)

    @field_validator("tags")
    @classmethod
    def _tags(cls, tags: list[str]) -> list[str]:
        return _clean_tags(tags)


class TicketUpdate(BaseModel):
    """Change any of the fields given; ``None`` leaves a field as it is. ``tags`` replaces the
    set (so an update is undone by another update with the old values)."""

    ticket_id: str = Field(min_length=1)
    status: TicketStatus | None = None
    priority: TicketPriority | None = None
    category: str | None = Field(default=None, pattern=r"^[a-z][a-z0-9_]*$", max_length=60)
    assignee: str | None = None
    unassign: bool = Field(default=False, description="clear the assignee")
    tags: list[str] | None = None

    @field_validator("tags")
    @classmethod
    def _tags(cls, tags: list[str] | None) -> list[str] | None:
        return None if tags is None else _clean_tags(tags)


class TicketRef(BaseModel):
    ticket_id: str = Field(min_length=1)


class TicketClose(BaseModel):
    ticket_id: str = Field(min_length=1)
    reason: str = Field(min_length=1, max_length=2000)


class TicketCommentCreate(BaseModel):
    ticket_id: str = Field(min_length=1)
    body: str = Field(min_length=1, max_length=100_000)
    author: str = Field(default="bpa", min_length=1, max_length=200)


class CommentRef(BaseModel):
    ticket_id: str = Field(min_length=1)
    comment_id: str = Field(min_length=1)


class TicketSearch(BaseModel):
    """Tickets matching every field given, most recently updated first."""

    requester_customer_id: str | None = None
    requester_email: str | None = None
    statuses: list[TicketStatus] | None = None
    category: str | None = None
    tag: str | None = None
    assignee: str | None = None
    external_ref: str | None = None
    limit: int = Field(default=50, ge=1, le=500)
