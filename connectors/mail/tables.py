"""The mail connector's outbox (``mail_outbox``): every message, keyed by its idempotency key."""

from __future__ import annotations

import datetime as dt

from sqlmodel import Field, SQLModel

from connectors.sqltypes import UtcDateTime

__all__ = ["OUTBOX_TABLES", "MailOutbox"]


class MailOutbox(SQLModel, table=True):
    """One message. The unique idempotency key is what stops a second send, across
    processes and restarts; ``raw`` is the exact message handed (or not) to the server."""

    __tablename__ = "mail_outbox"

    id: str = Field(primary_key=True)
    idempotency_key: str = Field(unique=True)
    request_hash: str = Field(description="the request this key was first used for")
    to_json: str
    cc_json: str = "[]"
    subject: str
    body: str
    status: str = Field(index=True, description="queued | sent | failed | stored")
    attempts: int = 0
    last_error: str | None = None
    refused_json: str = "[]"
    message_id: str
    raw: str
    created_at: dt.datetime = Field(sa_type=UtcDateTime)
    updated_at: dt.datetime = Field(sa_type=UtcDateTime, index=True)
    sent_at: dt.datetime | None = Field(default=None, sa_type=UtcDateTime)


OUTBOX_TABLES = [MailOutbox.__table__]  # type: ignore[attr-defined]
