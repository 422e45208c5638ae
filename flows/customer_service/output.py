"""The customer-service flow's output: what a run reports, finished or waiting."""

from __future__ import annotations

from typing import Any

__all__ = ["make_output"]


def make_output(state: dict[str, Any]) -> dict[str, Any]:
    decision = state.get("decision") or {}
    entities = state.get("entities") or {}
    ticket = state.get("ticket") or {}
    decided = [oid for r in decision.get("requests") or [] for oid in r.get("order_ids") or []]
    return {
        "intent": (state.get("intent") or {}).get("label"),
        "intent_confidence": (state.get("intent") or {}).get("confidence"),
        "customer_id": (state.get("customer") or {}).get("id"),
        "auth": state.get("auth"),
        "order_ids": list(dict.fromkeys([*entities.get("order_ids", []), *decided])),
        "problems": list(state.get("problems") or []),
        "decision": {
            key: decision.get(key)
            for key in (
                "outcome",
                "reason",
                "explanation",
                "needs_approval",
                "refund_total",
                "approval_threshold",
                "ticket_status",
                "requests",
            )
        }
        if decision
        else None,
        "actions": list(state.get("actions") or []),
        "approval": state.get("review"),
        "ticket_id": ticket.get("id"),
        "ticket_status": ticket.get("status"),
        "reply": state.get("reply"),
        "reply_check": state.get("reply_check") or [],
        "delivery": state.get("delivery"),
        "follow_up": state.get("follow_up"),
    }
