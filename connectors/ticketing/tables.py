"""The mocked helpdesk's tables (prefixed ``tkt_``)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import Index, text
from sqlalchemy.orm import declared_attr
from sqlmodel import Field, SQLModel

from connectors.sqltypes import UtcDateTime

__all__ = ["TICKET_TABLES", "TktComment", "TktTicket"]


def _when(**kwargs: Any) -> Any:
    return Field(sa_type=UtcDateTime, **kwargs)


class TktTicket(SQLModel, table=True):
    """One ticket. ``version`` makes two concurrent updates of a ticket fail instead of one
    silently overwriting the other."""

    __tablename__ = "tkt_tickets"
    __table_args__ = (
        Index(
            "uq_tkt_tickets_external_ref",
            "external_ref",
            unique=True,
            sqlite_where=text("external_ref IS NOT NULL"),
            postgresql_where=text("external_ref IS NOT NULL"),
        ),
        Index("ix_tkt_tickets_updated", "updated_at", "id"),
    )

    id: str = Field(primary_key=True)
    subject: str
    description: str = ""
    status: str = Field(index=True)
    priority: str
    category: str = Field(index=True)
    channel: str
    requester_customer_id: str | None = Field(default=None, index=True)
    requester_email: str | None = Field(default=None, index=True, description="lower case")
    requester_name: str | None = None
    assignee: str | None = Field(default=None, index=True)
    tags_json: str = "[]"
    sla_due_at: dt.datetime = _when()
    external_ref: str | None = None
    created_at: dt.datetime = _when()
    updated_at: dt.datetime = _when()
    solved_at: dt.datetime | None = _when(default=None)
    closed_at: dt.datetime | None = _when(default=None)
    version: int = 1

    @declared_attr.directive
    def __mapper_args__(cls) -> dict[str, Any]:
        return {"version_id_col": cls.__table__.c.version}  # type: ignore[attr-defined]


class TktComment(SQLModel, table=True):
    """A note (internal) or a reply (public). Removed notes stay, marked, for the audit trail."""

    __tablename__ = "tkt_comments"

    id: str = Field(primary_key=True)
    ticket_id: str = Field(foreign_key="tkt_tickets.id", index=True)
    seq: int = Field(description="order within the ticket")
    visibility: str = Field(description="internal | public")
    author: str
    body: str
    created_at: dt.datetime = _when()
    removed_at: dt.datetime | None = _when(default=None)


TICKET_TABLES = [TktTicket.__table__, TktComment.__table__]  # type: ignore[attr-defined]
