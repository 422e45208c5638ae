"""The facts a reply may state, taken from the run's state, and a check that it stated no other.

The reply (offline template or language model) is rendered from `reply_facts` only. Then
`unsupported` looks for the kinds of fact a customer would act on (order numbers, amounts,
tracking and item numbers, ticket ids, dates) and reports any that are not in those facts,
so an invented one is caught before the message goes out.
"""

from __future__ import annotations

import json
import re
from decimal import Decimal
from typing import Any, get_args

from flows.customer_service.identity import AuthProblem

__all__ = ["reply_facts", "unsupported"]

_IDENTITY_PROBLEMS = frozenset(get_args(AuthProblem))

_FACT_PATTERNS = (
    re.compile(r"#W\d{7}"),
    re.compile(r"\b\d{1,3}(?:,\d{3})*\.\d{2}\b|\b\d+\.\d{2}\b"),
    re.compile(r"\b\d{6,}\b"),
    re.compile(r"\b[A-Z]{2,5}-[0-9A-F]{6,}\b"),
    re.compile(r"\b\d{4}-\d{2}-\d{2}\b"),
    re.compile(r"\b(?:credit_card|paypal|gift_card)_\d+\b"),
)


def _options(options: dict[str, str]) -> str:
    return ", ".join(f"{k} {v}" for k, v in options.items())


def _order(order: dict[str, Any]) -> dict[str, Any]:
    payments = order.get("payment_history") or []
    return {
        "id": order["id"],
        "status": order["status"],
        "lines": [
            {"name": i["name"], "options": _options(i.get("options") or {}), "price": i["price"]}
            for i in order.get("items") or []
        ],
        "total": order.get("total"),
        "tracking_ids": [t for f in order.get("fulfilments") or [] for t in f.get("tracking_ids")],
        "refunds": [
            {"amount": p["amount"], "to": p["payment_method_id"]}
            for p in payments
            if p["transaction_type"] == "refund"
        ],
        "ships_to": _address(order.get("address")),
    }


def _address(address: dict[str, Any] | None) -> str | None:
    if not address:
        return None
    street = ", ".join(p for p in (address.get("address1"), address.get("address2")) if p)
    return f"{street}, {address['city']}, {address['state']} {address['zip']}, {address['country']}"


def reply_facts(state: dict[str, Any]) -> dict[str, Any]:
    """Everything the reply may say, as plain JSON-able values."""
    decision = state.get("decision") or {}
    customer = state.get("customer") or {}
    sender = state.get("sender") or {}
    known = {**(state.get("orders") or {})}
    for order in state.get("customer_orders") or []:
        known.setdefault(order["id"], order)
    for action in state.get("actions") or []:
        result = action.get("result") or {}
        if action.get("ok") and result.get("id", "").startswith("#W"):
            known[result["id"]] = result
    mentioned = [oid for r in decision.get("requests") or [] for oid in r.get("order_ids") or []]
    mine = customer.get("id")
    orders = [
        _order(known[oid])
        for oid in dict.fromkeys(mentioned)
        if mine and oid in known and known[oid].get("customer_id") == mine
    ]
    ticket = state.get("ticket") or {}
    review = state.get("review") or {}
    auth = state.get("auth") or {}
    return {
        "name": customer.get("first_name") or sender.get("name") or None,
        "identity_needed": not mine and decision.get("reason") in _IDENTITY_PROBLEMS,
        "knowledge_auth": bool(auth.get("knowledge_allowed")),
        "outcome": decision.get("outcome"),
        "reason": decision.get("reason"),
        "explanation": decision.get("explanation"),
        "requests": [
            {
                "intent": r["intent"],
                "outcome": r["outcome"],
                "reason": r["reason"],
                "explanation": r["explanation"],
                "order_ids": r.get("order_ids") or [],
                "proposed": [a["summary"] for a in r.get("actions") or []],
                "details": {
                    k: v
                    for k, v in (r.get("details") or {}).items()
                    if k != "needs_explicit_confirmation"
                },
            }
            for r in decision.get("requests") or []
        ],
        "orders": orders,
        "done": [
            {"summary": a["summary"], "ok": a["ok"], "error": (a.get("error") or {}).get("message")}
            for a in state.get("actions") or []
        ],
        "done_kinds": sorted({a["action"] for a in state.get("actions") or [] if a.get("ok")}),
        "refund_total": decision.get("refund_total"),
        "approval": review.get("action"),
        "ticket_id": ticket.get("id"),
        "problems": list(state.get("problems") or []),
    }


def _normal(fact: str) -> str:
    return fact.replace(",", "") if re.fullmatch(r"[\d,]+\.\d{2}", fact) else fact


def _known_values(facts: Any) -> set[str]:
    """Every fact-shaped string in the facts, amounts also as plain 2-decimal numbers."""
    text = json.dumps(facts, default=str)
    found = {m.group(0) for p in _FACT_PATTERNS for m in p.finditer(text)}
    for number in re.findall(r"-?\d+(?:\.\d+)?", text):
        try:
            found.add(f"{Decimal(number).copy_abs():.2f}")
        except ArithmeticError:
            continue
    return {_normal(f) for f in found}


def unsupported(reply: str, facts: dict[str, Any], extra: tuple[str, ...] = ()) -> list[str]:
    """The fact-like strings in `reply` that `facts` (or `extra`) do not contain."""
    known = _known_values(facts) | {_normal(e) for e in extra}
    stated = {m.group(0) for p in _FACT_PATTERNS for m in p.finditer(reply)}
    return sorted(f for f in stated if _normal(f) not in known)
