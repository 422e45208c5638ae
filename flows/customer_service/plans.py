"""The policy per intent: what one request may lead to. Pure; `policy.decide` calls `plan`.

Each planner returns a `RequestPlan` whose writes are *proposed* (outcome ``confirm``);
`policy` turns them into ``act`` only when the customer has explicitly said so. Changes to
a pending or delivered order's items, address or payment are in `plans_change`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from typing import Any

from flows.customer_service import matching
from flows.customer_service._planning import (
    ZERO,
    Context,
    action,
    category,
    make_plan,
    paid,
    payment_method,
    targets,
)
from flows.customer_service.entities import cancel_reason_in, wants_all_items
from flows.customer_service.plans_change import change_address, change_order, change_payment
from flows.customer_service.schemas import RequestPlan

__all__ = ["Context", "category", "plan"]


def _order_status(ctx: Context, intent: str) -> RequestPlan:
    orders = ctx.orders or ctx.customer_orders[-5:]
    return make_plan(
        ctx,
        intent,
        "inform",
        "order_status",
        "here is what our system shows for your orders",
        order_ids=[o.id for o in orders],
    )


def _cancel(ctx: Context, intent: str) -> RequestPlan:
    orders, inferred = targets(ctx, {"pending"})
    if not orders:
        pending = [o.id for o in ctx.customer_orders if o.status == "pending"]
        return make_plan(
            ctx,
            intent,
            "clarify",
            "which_order",
            "please tell us the number of the order to cancel",
            details={"candidates": pending},
        )
    reason = cancel_reason_in(ctx.text) or ctx.entities.cancel_reason
    blocked = [o for o in orders if o.status != "pending"]
    if blocked:
        return make_plan(
            ctx,
            intent,
            "inform",
            "not_pending",
            "only orders that have not been processed yet can be cancelled",
            order_ids=[o.id for o in orders],
        )
    if reason is None:
        return make_plan(
            ctx,
            intent,
            "clarify",
            "missing_reason",
            "to cancel, please tell us the reason: 'no longer needed' or 'ordered by mistake'",
            details={"reasons": ["no longer needed", "ordered by mistake"]},
        )
    actions = [
        action(
            "cancel_order",
            o.id,
            {"order_id": o.id, "reason": reason},
            f"cancel order {o.id} ({reason})",
            refund=paid(o),
        )
        for o in orders
    ]
    return make_plan(
        ctx,
        intent,
        "confirm",
        "cancel_pending",
        "the order can be cancelled",
        actions=actions,
        details={"needs_explicit_confirmation": inferred},
    )


def _return(ctx: Context, intent: str) -> RequestPlan:
    orders, inferred = targets(ctx, {"delivered"})
    if not orders:
        delivered = [o.id for o in ctx.customer_orders if o.status == "delivered"]
        return make_plan(
            ctx,
            intent,
            "clarify",
            "which_order",
            "please tell us the number of the order this is about",
            details={"candidates": delivered},
        )
    order = orders[0]
    if order.status == "pending":  # not shipped: the way to get the money back is cancelling
        plan = _cancel(replace(ctx, orders=[order]), intent)
        plan.details["needs_explicit_confirmation"] = True
        return plan
    if order.status in ("return requested", "cancelled", "exchange requested"):
        return make_plan(
            ctx,
            intent,
            "inform",
            "already_" + order.status.split()[0],
            f"this order is already {order.status}",
        )
    if order.status != "delivered":
        return make_plan(
            ctx, intent, "inform", "not_delivered", "only delivered orders can be returned"
        )
    items = matching.select_items(ctx.text, order.items, all_items=wants_all_items(ctx.text))
    if not items and intent == "refund":
        items, inferred = list(order.items), True
    if not items:
        return make_plan(
            ctx,
            intent,
            "clarify",
            "which_items",
            "please tell us which items you would like to return",
        )
    method, named, problem = payment_method(ctx, order, refund_only=True)
    if problem or method is None:
        return make_plan(
            ctx,
            intent,
            "clarify",
            problem or "payment_method",
            "refunds go to the original payment method or to a gift card",
        )
    refund = sum((i.price for i in items), ZERO)
    planned = action(
        "return_items",
        order.id,
        {"order_id": order.id, "item_ids": [i.item_id for i in items], "payment_method_id": method},
        f"return {', '.join(i.name for i in items)} from order {order.id}, refund to {method}",
        refund=refund,
    )
    return make_plan(
        ctx,
        intent,
        "confirm",
        "return_delivered",
        "the items can be returned",
        actions=[planned],
        order_ids=[order.id],
        details={"needs_explicit_confirmation": inferred or not named},
    )


def _handover(reason: str, explanation: str) -> Callable[[Context, str], Any]:
    def planner(ctx: Context, intent: str) -> RequestPlan:
        return make_plan(ctx, intent, "human", reason, explanation)

    return planner


_PLANNERS: dict[str, Callable[[Context, str], Any]] = {
    "order_status": _order_status,
    "cancel": _cancel,
    "return": _return,
    "refund": _return,
    "exchange": change_order,
    "modify": change_order,
    "address_change": change_address,
    "payment": change_payment,
    "complaint": _handover("complaint", "a colleague will personally look into your feedback"),
    "other": _handover("out_of_scope", "a colleague will help you with this request"),
}


def plan(intent: str, ctx: Context) -> RequestPlan:
    """The `RequestPlan` for one request."""
    return _PLANNERS.get(intent, _PLANNERS["other"])(ctx, intent)
