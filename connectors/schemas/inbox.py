"""Incoming mail: messages waiting in a mailbox, and the mark that says they were handled.

A message is named by its mailbox, the mailbox's UIDVALIDITY and its UID (RFC 3501): a UID
means the same message only while the UIDVALIDITY is unchanged, so every request that
names messages carries the UIDVALIDITY it was read under.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

__all__ = [
    "FetchUnprocessed",
    "InboxBatch",
    "InboxMessage",
    "MailWait",
    "MarkProcessed",
    "Marked",
    "UnmarkProcessed",
    "WaitForMail",
]

Uid = int


class FetchUnprocessed(BaseModel):
    """The oldest messages not yet marked processed, at most `limit` of them."""

    limit: int = Field(default=50, ge=1, le=500)


class InboxMessage(BaseModel):
    """One message exactly as the server stores it: untrusted bytes, parsed by the reader."""

    # Raw bytes travel as base64 in JSON (audit trails, the API), never as text.
    model_config = ConfigDict(ser_json_bytes="base64", val_json_bytes="base64")

    uid: Uid = Field(ge=1)
    size: int = Field(ge=0, description="the message's size as the server reports it")
    raw: bytes = Field(
        description="the RFC 5322 message; only its header section when `complete` is false"
    )
    complete: bool = Field(
        default=True,
        description="false: the message is over the connector's size limit and only its "
        "header was read",
    )


class InboxBatch(BaseModel):
    mailbox: str
    uidvalidity: int = Field(ge=1)
    messages: list[InboxMessage]
    remaining: int = Field(ge=0, description="unprocessed messages left for a later fetch")


class MarkProcessed(BaseModel):
    """Mark messages as handled so that no fetch returns them again."""

    uidvalidity: int = Field(ge=1, description="as the messages were fetched under")
    uids: list[Uid] = Field(min_length=1, max_length=1000)
    skipped: bool = Field(
        default=False,
        description="also mark them skipped: handled without a run, for a person to look at",
    )


class UnmarkProcessed(BaseModel):
    """Undo `MarkProcessed`: the messages are fetched again."""

    uidvalidity: int = Field(ge=1)
    uids: list[Uid] = Field(min_length=1, max_length=1000)


class Marked(BaseModel):
    mailbox: str
    uidvalidity: int
    uids: list[Uid]
    keywords: list[str] = Field(description="the keywords (IMAP flags) set or removed")


class WaitForMail(BaseModel):
    """Wait until new mail arrives or `timeout_s` passes, where the server can tell."""

    timeout_s: float = Field(default=60.0, gt=0, le=1500)


class MailWait(BaseModel):
    news: bool = Field(description="the server reported new mail before the timeout")
    method: Literal["idle", "none"] = Field(
        description="idle: the server pushed changes (IMAP IDLE); none: the server cannot "
        "tell, the call returned at once and the caller polls on its own interval"
    )
