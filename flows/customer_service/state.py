"""The customer-service flow's input, state and human decision."""

from __future__ import annotations

import datetime as dt
import operator
from typing import Annotated, Any, Literal, TypedDict

from pydantic import BaseModel, ConfigDict, Field, field_validator

from bpa.review import ReviewDecision

__all__ = ["CSDecision", "CSState", "CustomerMessage", "Sender"]


class Sender(BaseModel):
    """Who sent the message, as the channel delivered it (see identity.py)."""

    model_config = ConfigDict(extra="forbid")  # a misspelt field is an error, not ignored

    email: str | None = Field(default=None, max_length=320)
    name: str | None = Field(default=None, max_length=200)
    verified: bool | None = Field(
        default=None,
        description="Whether the channel vouches for `email`. chat/api: true only when the "
        "relaying integration signed the customer in (an authenticated session); otherwise "
        "the address is a claim. e-mail: unset means the From as the mail gateway delivered "
        "it; false means the gateway reported it failed authentication (DMARC/SPF/DKIM); "
        "true means DMARC passed.",
    )

    @field_validator("email")
    @classmethod
    def _lower(cls, value: str | None) -> str | None:
        return value.strip().lower() or None if value else None


class CustomerMessage(BaseModel):
    """One message from a customer, as any channel delivers it.

    The body is not limited here: an oversized message is still accepted, recorded and
    handed to a person (``max_message_chars``), rather than refused at the door unseen.
    """

    model_config = ConfigDict(extra="forbid")  # a misspelt field is an error, not ignored

    channel: Literal["email", "chat", "api"] = "email"
    subject: str = Field(default="", max_length=2000)
    body: str = ""
    sender: Sender = Field(default_factory=Sender)
    received_at: dt.datetime | None = None
    message_id: str | None = Field(
        default=None, max_length=998, description="the e-mail Message-ID or the channel's id"
    )
    in_reply_to: str | None = Field(
        default=None, max_length=998, description="the message id this one answers"
    )
    references: list[Annotated[str, Field(max_length=998)]] = Field(
        default_factory=list,
        max_length=50,
        description="the e-mail's References: the ids of the conversation's earlier messages",
    )
    session_id: str | None = Field(
        default=None,
        max_length=200,
        description="chat/api: the conversation's session id, the same for every message of it",
    )

    @field_validator("references")
    @classmethod
    def _ids(cls, values: list[str]) -> list[str]:
        return [v.strip() for v in values if v.strip()]

    @field_validator("session_id", "in_reply_to", "message_id")
    @classmethod
    def _stripped(cls, value: str | None) -> str | None:
        return value.strip() or None if value else None


class CSState(TypedDict, total=False):
    channel: str
    subject: str
    body: str
    sender: dict[str, Any]
    received_at: str | None
    message_id: str | None
    in_reply_to: str | None
    references: list[str]
    session_id: str | None

    text: str
    """What the flow reads: subject and body (and, in a thread, the request answered)."""
    problems: list[str]
    """Input problems found before reading: message_too_long, empty_message, ..."""
    language: str | None
    thread: dict[str, Any] | None
    """The ticket this message answers (found by `in_reply_to`), if any."""
    confirmed: bool
    """The customer answered our proposal with an explicit yes."""
    declined: list[str]
    """The writes (their summaries) the customer turned down in this conversation: reading
    the thread again never proposes or makes them (nodes.decide)."""
    yes_for: str | None
    """A yes qualified only by what it is for ("yes, only the skateboard"): the words after
    "only"; it confirms a proposal of exactly those items (policy.Situation.yes_for)."""
    intent: dict[str, Any]
    """The message's intent: label and confidence."""
    request_intents: list[dict[str, Any]]
    """One intent per request in the message (label, confidence; ``by: verb`` when the
    request's own verb settled what the model was unsure of)."""
    entities: dict[str, Any]
    """`MessageEntities` as JSON."""
    customer: dict[str, Any] | None
    auth: dict[str, Any]
    """`identity.Auth` as JSON: how the customer was identified (method: sender_email,
    chat_session, knowledge_name_zip, knowledge_email) or why not (problem: unauthenticated,
    unverified_sender, identity_conflict)."""
    orders: dict[str, dict[str, Any]]
    """The orders the message names, by id, whoever they belong to."""
    unknown_order_ids: list[str]
    customer_orders: list[dict[str, Any]]
    open_tickets: list[dict[str, Any]]
    products: dict[str, dict[str, Any]]
    """Catalogue entries of the products in the named orders (for options)."""
    decision: dict[str, Any]
    """The policy's `Decision` as JSON (updated after an approval or a refusal)."""
    review: dict[str, Any] | None
    """The human's answer to the approval question."""
    actions: Annotated[list[dict[str, Any]], operator.add]
    """Connector writes made, in order, each with its result."""
    ticket: dict[str, Any] | None
    reply_subject: str
    reply: str
    reply_check: list[str]
    """Facts a generated reply stated that the state does not hold (then replaced)."""
    delivery: dict[str, Any] | None
    follow_up: dict[str, Any] | None

    conversation: list[dict[str, Any]]
    """The thread so far, oldest first: role (customer, agent), text, at, message_id."""
    turn: int
    """1 for the first message; each answer to the run's waiting question adds one (the
    turn is part of every connector write's idempotency key)."""
    thread_keys: list[str]
    """Keys under which the customer's reply continues this run (threads.py)."""
    reply_to_id: str | None
    """The customer's latest message id: what the next e-mail answers."""
    thread_end: str | None
    """Why the conversation ended without another automatic turn: expired, turn_limit,
    handed_over."""


class CSDecision(ReviewDecision):
    """A person's answer when a refund waits for approval: approve or reject."""
