"""Outgoing messages: an e-mail to send and the outbox record of what became of it."""

from __future__ import annotations

import datetime as dt
from email.utils import parseaddr
from typing import Literal

from pydantic import BaseModel, Field, field_validator

#: ``queued``: written, not yet handed over; ``sent``: the SMTP server accepted it;
#: ``failed``: the last attempt failed; ``stored``: kept in the outbox only (no SMTP
#: server configured), i.e. NOT delivered; ``recalled``: taken back before it was sent
#: (a rollback), never to be sent.
OutboxStatus = Literal["queued", "sent", "failed", "stored", "recalled"]


def _address(value: str) -> str:
    name, address = parseaddr(value)
    local, _, domain = address.rpartition("@")
    if not local or "." not in domain or any(c.isspace() for c in address):
        raise ValueError(f"not an e-mail address: {value!r}")
    return value.strip() if name else address


class EmailSend(BaseModel):
    """One plain-text e-mail (optionally with an HTML alternative)."""

    to: list[str] = Field(min_length=1, max_length=50)
    cc: list[str] = Field(default_factory=list, max_length=50)
    subject: str = Field(min_length=1, max_length=998)
    body: str = Field(min_length=1, max_length=1_000_000)
    html_body: str | None = Field(default=None, max_length=2_000_000)
    reply_to: str | None = None
    in_reply_to: str | None = Field(
        default=None, description="the Message-ID answered, so mail clients thread the reply"
    )
    headers: dict[str, str] = Field(
        default_factory=dict, description="extra X- headers, e.g. X-BPA-Ticket"
    )

    @field_validator("to", "cc")
    @classmethod
    def _addresses(cls, values: list[str]) -> list[str]:
        return [_address(v) for v in values]

    @field_validator("reply_to")
    @classmethod
    def _reply_to(cls, value: str | None) -> str | None:
        return None if value is None else _address(value)

    @field_validator("subject")
    @classmethod
    def _one_line(cls, value: str) -> str:
        if "\n" in value or "\r" in value:
            raise ValueError("the subject must be one line")
        return value

    @field_validator("headers")
    @classmethod
    def _extra_headers(cls, headers: dict[str, str]) -> dict[str, str]:
        for name, value in headers.items():
            if not name.lower().startswith("x-") or any(c in value for c in "\r\n"):
                raise ValueError(f"only one-line X- headers may be added, not {name!r}")
        return headers


class OutboxMessage(BaseModel):
    id: str
    idempotency_key: str
    to: list[str]
    cc: list[str]
    subject: str
    body: str
    status: OutboxStatus
    attempts: int
    last_error: str | None = None
    refused: list[str] = Field(
        default_factory=list, description="recipients the server refused while others got it"
    )
    message_id: str = Field(description="the Message-ID header, stable across retries")
    created_at: dt.datetime
    updated_at: dt.datetime
    sent_at: dt.datetime | None = None


class OutboxRef(BaseModel):
    outbox_id: str = Field(min_length=1)


class OutboxSearch(BaseModel):
    """Outbox messages, newest first; optionally to an address and/or in a status."""

    to: str | None = None
    status: OutboxStatus | None = None
    limit: int = Field(default=50, ge=1, le=500)
