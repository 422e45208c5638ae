"""The customer-service decision as data: what the policy decided, per request."""

from __future__ import annotations

from decimal import Decimal
from typing import Any, Literal

from pydantic import BaseModel, Field

__all__ = ["Decision", "Outcome", "PlannedAction", "RequestPlan"]

Outcome = Literal["act", "confirm", "clarify", "inform", "human", "refuse"]


class PlannedAction(BaseModel):
    """One CRM write the policy allows, with the request to send."""

    action: str = Field(description="the CRM connector action, e.g. cancel_order")
    order_id: str | None = None
    request: dict[str, Any]
    refund: Decimal = Field(default=Decimal("0"), description="money going back to the customer")
    summary: str = Field(description="what it does, in words, for the ticket and the reply")


class RequestPlan(BaseModel):
    """The decision about one request of the message."""

    intent: str
    order_ids: list[str] = Field(default_factory=list)
    outcome: Outcome
    reason: str = Field(description="a stable code, e.g. not_pending, missing_reason")
    explanation: str
    actions: list[PlannedAction] = Field(default_factory=list)
    details: dict[str, Any] = Field(
        default_factory=dict, description="facts for the reply (options to choose from, ...)"
    )


class Decision(BaseModel):
    outcome: Outcome
    reason: str
    explanation: str
    requests: list[RequestPlan] = Field(default_factory=list)
    needs_approval: bool = False
    refund_total: Decimal = Decimal("0")
    approval_threshold: Decimal = Decimal("0")
    priority: Literal["low", "normal", "high", "urgent"] = "normal"
    category: str = "general"
    ticket_status: Literal["open", "pending_customer", "solved"] = "open"

    @property
    def actions(self) -> list[PlannedAction]:
        """The writes to perform: those of requests decided ``act``."""
        return [a for r in self.requests if r.outcome == "act" for a in r.actions]
