"""The policy per intent: what one request may lead to. Pure; `policy.decide` calls `plan`.

Each planner returns a `RequestPlan` whose writes are *proposed* (outcome ``confirm``);
`policy` turns them into ``act`` only when the customer has explicitly said so. Changes to
a pending or delivered order's items, address or payment are in `plans_change`.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import replace
from typing import Any

from connectors.schemas import Order, OrderItem
from flows.customer_service import clauses, cues, matching, references
from flows.customer_service._planning import (
    ZERO,
    Context,
    action,
    asks_other_method,
    category,
    make_plan,
    mentions_items,
    method_words,
    paid,
    payment_method,
    targets,
    which_order,
)
from flows.customer_service.entities import (
    cancel_reason_in,
    is_explicit_request,
    payment_ids_in,
    wants_all_items,
)
from flows.customer_service.plans_address import change_address
from flows.customer_service.plans_change import change_order, change_payment
from flows.customer_service.plans_items import item_change_in
from flows.customer_service.schemas import PlannedAction, RequestPlan
from flows.customer_service.selection import pick_items

__all__ = ["Context", "category", "plan"]

#: Asking for the money back, whatever the request's verb.
_REFUND = re.compile(r"\b(?:refund\w*|money back|reimburse\w*)\b", re.IGNORECASE)


def _not_arrived(ctx: Context, intent: str, orders: list[Order]) -> RequestPlan:
    """A delivery claim, for a person."""
    return make_plan(
        ctx,
        intent,
        "human",
        "not_arrived",
        "a colleague will look into the delivery of your order",
        order_ids=[o.id for o in orders],
    )


def _order_status(ctx: Context, intent: str) -> RequestPlan:
    found = references.find_orders(ctx.text, ctx.customer_orders) if not ctx.orders else None
    named = ctx.orders or (found.orders if found and found.how else [])
    orders = named or _asked_about(ctx.text, ctx.customer_orders)[-5:] or ctx.customer_orders[-5:]
    delivered = any(o.status == "delivered" for o in named)
    if cues.delivery_claim(ctx.text, delivered=delivered):
        # Delivered on paper, not at the door (lost, stolen, the wrong address): a claim
        # for a person. An order still on its way is only late: its status answers that.
        return _not_arrived(ctx, intent, named)
    return make_plan(
        ctx,
        intent,
        "inform",
        "order_status",
        "here is what our system shows for your orders",
        order_ids=[o.id for o in orders],
    )


#: "Where is my order?", "it still hasn't arrived": about the orders on their way.
_ON_ITS_WAY = re.compile(
    r"\b(?:where(?:'s| is| are) (?:my|the) (?:order|package|parcel|delivery|stuff)|"
    r"(?:has|have)n'?t (?:yet )?(?:arrived|come|turned up|been delivered)|not (?:yet )?"
    r"(?:arrived|received|delivered)|still waiting|when will (?:it|they|my order) (?:arrive|come))",
    re.IGNORECASE,
)


def _asked_about(text: str, orders: list[Order]) -> list[Order]:
    """With no order named: the ones a status question is about by their status ("which of
    my orders are still pending?", "where is my order?"); [] when it does not say."""
    if references.asks_pending(text):
        return [o for o in orders if o.status == "pending"]
    if _ON_ITS_WAY.search(text):
        return [o for o in orders if o.status in ("pending", "processed")]
    return []


def _named_elsewhere(ctx: Context, orders: list[Order]) -> list[Order]:
    """The customer's other orders that hold what the request names, when the orders it
    names by number hold none of it ("cancel #W9222585 - it's the bookshelf", the bookshelf
    being in another order): the number or the item is wrong, and which is for the customer
    to say. [] when the words fit the numbered orders, or name nothing of the customer's."""
    names = {i.product_id: i.name for o in ctx.customer_orders for i in o.items}
    named = set(matching.mentioned_products(ctx.text, names, head_noun=True))
    # the orders named, and those set aside by number ("the other one, not #W…"): what
    # they hold is accounted for
    numbered = {o.id for o in orders} | set(ctx.span.reference_order_ids)
    held = {i.product_id for o in ctx.customer_orders if o.id in numbered for i in o.items}
    if not named or named & held:
        return []
    return [
        o
        for o in ctx.customer_orders
        if o.id not in numbered and named & {i.product_id for i in o.items}
    ]


def _cancel(ctx: Context, intent: str) -> RequestPlan:
    orders, inferred = targets(ctx, {"pending"})
    if not orders:
        return which_order(ctx, intent, {"pending"}, "which order would you like to cancel?")
    if not inferred and (elsewhere := _named_elsewhere(ctx, orders)):
        both = [*orders, *elsewhere]
        return make_plan(
            ctx,
            intent,
            "clarify",
            "order_and_items_disagree",
            f"order {', '.join(o.id for o in orders)} does not contain what you describe; "
            "which order would you like to cancel?",
            order_ids=[],
            details={
                "candidates": [
                    references.describe(o, references.shared_products(both)) for o in both
                ]
            },
        )
    reason = cancel_reason_in(ctx.text) or ctx.entities.cancel_reason
    blocked = [o for o in orders if o.status != "pending"]
    if blocked and _REFUND.search(ctx.text) and all(o.status == "delivered" for o in blocked):
        # delivered: the way to the money back the customer asks for is a return
        plan = _return(replace(ctx, orders=blocked), "return")
        if plan.actions:
            plan.details["needs_explicit_confirmation"] = True
            plan.explanation = "the order was already delivered, so it can be returned instead"
        return plan
    if blocked and all(o.status == "cancelled" for o in blocked):
        # cancelled already (an earlier message of the conversation asked, and it was done):
        # say so, not that it cannot be cancelled
        return make_plan(
            ctx,
            intent,
            "inform",
            "already_cancelled",
            "this order is cancelled",
            order_ids=[o.id for o in orders],
        )
    if blocked:
        delivered = all(o.status == "delivered" for o in blocked)
        return make_plan(
            ctx,
            intent,
            "inform",
            "not_pending",
            "only orders that have not been processed yet can be cancelled"
            # what can still be done with a delivered order
            + ("; a delivered order's items can be returned instead" if delivered else ""),
            order_ids=[o.id for o in orders],
        )
    partial = cues.part_of_order(ctx.text) and not ctx.whole_order
    if partial and any(mentions_items(ctx.text, o) for o in orders):
        # no partial cancellation: say so, and let the customer decide on the whole order
        return make_plan(
            ctx,
            intent,
            "clarify",
            "partial_cancel",
            f"{cues.PARTIAL_CANCEL}; {cues.WHOLE_ORDER_QUESTION}",
            order_ids=[o.id for o in orders],
        )
    if reason is None:
        return make_plan(
            ctx,
            intent,
            "clarify",
            "missing_reason",
            "to cancel, please tell us the reason: 'no longer needed' or 'ordered by mistake'",
            order_ids=[o.id for o in orders],
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
    methods = [o.paid_with for o in orders if o.paid_with and asks_other_method(ctx, o)]
    return make_plan(
        ctx,
        intent,
        "confirm",
        "cancel_pending",
        "the order can be cancelled"
        # a cancellation refunds the way the order was paid, whatever else is asked for
        + (
            f"; the refund goes back to the original payment method ({', '.join(methods)})"
            if methods
            else ""
        ),
        actions=actions,
        order_ids=[o.id for o in orders],
        details={"needs_explicit_confirmation": inferred},
    )


def _return(ctx: Context, intent: str) -> RequestPlan:
    if cues.refund_missing(ctx.text):
        # A refund that did not come for items already sent back: where they are is for a
        # person to find out (the order shows no return); a new return is not offered.
        return make_plan(
            ctx,
            intent,
            "human",
            "refund_not_received",
            "a colleague will check where your returned items and your refund are",
        )
    if cues.price_difference_only(ctx.text):
        return make_plan(
            ctx,
            intent,
            "inform",
            "no_price_adjustment",
            "we do not refund price differences on items you keep; if you would rather not "
            "keep it, a delivered item can be returned for a full refund",
        )
    if cues.delivery_claim(ctx.text, delivered=True, returning=True):
        # Nothing (or not everything) arrived: there is nothing to send back, so no return
        # is proposed; the delivery is for a person to look into.
        return _not_arrived(ctx, intent, ctx.orders)
    orders, inferred = targets(ctx, {"delivered"})
    if not orders:
        return which_order(ctx, intent, {"delivered"}, "which order is this about?")
    order = orders[0]
    if order.status == "pending":  # not shipped: the way to get the money back is cancelling
        picked = pick_items(ctx.text, order.items, all_items=wants_all_items(ctx.text)).items
        if picked and len(picked) < len(order.items) and not ctx.whole_order:
            # some items only: no such thing
            return make_plan(
                ctx,
                intent,
                "clarify",
                "partial_cancel",
                f"this order has not shipped yet, so nothing in it can be returned; "
                f"{cues.PARTIAL_CANCEL}; {cues.WHOLE_ORDER_QUESTION}",
                order_ids=[order.id],
            )
        plan = _cancel(replace(ctx, orders=[order]), intent)
        plan.details["needs_explicit_confirmation"] = True
        return plan
    if order.status in ("return requested", "cancelled", "exchange requested"):
        if cues.refund_asked_about(ctx.text) and not _refunds(order):
            return make_plan(
                ctx,
                intent,
                "human",
                "refund_not_received",
                f"this order is {order.status} and our records show no refund for it yet; "
                "a colleague will look into it",
                order_ids=[order.id],
            )
        return make_plan(
            ctx,
            intent,
            "inform",
            "already_" + order.status.split()[0],
            f"this order is already {order.status}" + _refunds_made(ctx, order),
            order_ids=[order.id],
        )
    if order.status != "delivered":
        return make_plan(
            ctx, intent, "inform", "not_delivered", "only delivered orders can be returned"
        )
    actions = []
    named_method = True
    for order in [o for o in orders if o.status == "delivered"]:
        found = _return_action(ctx, intent, order, several=len(orders) > 1)
        if isinstance(found, RequestPlan):
            return found
        planned, named, guessed = found
        actions.append(planned)
        named_method &= named
        inferred |= guessed
    return make_plan(
        ctx,
        intent,
        "confirm",
        "return_delivered",
        "the items can be returned",
        actions=actions,
        order_ids=[a.order_id for a in actions if a.order_id],
        details={"needs_explicit_confirmation": inferred or not named_method},
    )


def _refunds(order: Order) -> list[Any]:
    return [p for p in order.payment_history if p.transaction_type == "refund"]


def _refunds_made(ctx: Context, order: Order) -> str:
    """Where the refunds of an order went, for a customer who says one has not come ("I
    haven't seen the money back")."""
    refunds = _refunds(order)
    if not refunds or not cues.refund_asked_about(ctx.text) or ctx.customer is None:
        return ""
    made = ", ".join(
        f"{p.amount:,.2f} to {method_words(ctx.customer, p.payment_method_id)}" for p in refunds
    )
    return (
        f"; the refund was made: {made}. A refund reaches a gift card at once, other "
        "methods within 5 to 7 business days"
    )


def _return_action(
    ctx: Context, intent: str, order: Order, *, several: bool
) -> tuple[PlannedAction, bool, bool] | RequestPlan:
    """The return of one delivered order's items the text means: (action, refund method
    named by the customer, items guessed); or the question to ask."""
    pick = pick_items(ctx.text, order.items, all_items=wants_all_items(ctx.text))
    items, guessed = pick.items, False
    if not items and not pick.problem and intent == "refund" and not several:
        items, guessed = list(order.items), True
    if not items:
        return make_plan(
            ctx,
            intent,
            "clarify",
            "which_items",
            "please tell us which items you would like to return",
            order_ids=[order.id],
            details={"items": [references.item_words(i) for i in pick.candidates or order.items]},
        )
    method, named, problem = payment_method(ctx, order, refund_only=True)
    if problem or method is None:
        return make_plan(
            ctx,
            intent,
            "clarify",
            problem or "payment_method",
            "refunds go to the original payment method"
            + (f", {method_words(ctx.customer, order.paid_with)}," if order.paid_with else "")
            + " or to a gift card; which should it be?",
        )
    refund = sum((i.price for i in items), ZERO)
    planned = action(
        "return_items",
        order.id,
        {"order_id": order.id, "item_ids": [i.item_id for i in items], "payment_method_id": method},
        f"return {', '.join(_told_apart(i, order) for i in items)} from order {order.id}, "
        f"refund to {method_words(ctx.customer, method)}",
        refund=refund,
    )
    return planned, named, guessed


def _told_apart(item: OrderItem, order: Order) -> str:
    """The item's name, with its options where the order holds another item of that name
    ("Wool Sweater (color black)"): the customer sees which one is meant before saying yes."""
    alike = [i for i in order.items if i.name == item.name and i.item_id != item.item_id]
    return references.item_words(item) if alike else item.name


def _with_items(planner: Callable[[Context, str], RequestPlan]) -> Callable[[Context, str], Any]:
    """An address or payment change that also asks to change items of the same order is one
    change of that order: `change_order` makes all of them, in the order the CRM allows."""

    def plan_it(ctx: Context, intent: str) -> RequestPlan:
        order = item_change_in(ctx)
        if order is not None:
            return change_order(ctx, "modify" if order.status == "pending" else "exchange")
        return planner(ctx, intent)

    return plan_it


def _payment(ctx: Context, intent: str) -> RequestPlan:
    """A payment question inside a return or a cancellation ("which methods can the refund
    go to? ... a gift card then") is about that refund: the return or cancellation is planned,
    with the method the customer settles on; other payment requests change the payment."""
    kind = clauses.kind_of(ctx.text)
    if kind in ("return", "cancel") and not payment_ids_in(ctx.text):
        return _PLANNERS[kind](ctx, kind)
    if kind == "change" and not _PAYMENT_CHANGED.search(ctx.text):
        # "change one of them to the 50ft one … ok then the black vinyl one, charge my card":
        # a change of items, with the method for its price difference
        items = change_order(ctx, "modify")
        if _item_change(items):
            return items
    return _with_items(change_payment)(ctx, intent)


#: The payment named as what changes: "switch the payment on my camera order to my gift
#: card", "change my payment method", "pay with PayPal instead".
_PAYMENT_CHANGED = re.compile(
    r"\b(?:switch|change|move|update|swap)\w*\s+(?:the\s+|my\s+)?(?:payment|billing)\b|"
    r"\bpay(?:ment)?\s+(?:method\s+)?(?:with|by|using|via)\b",
    re.IGNORECASE,
)


def _item_change(plan: RequestPlan) -> bool:
    """Whether a plan changes items, or asks about the options of such a change."""
    if plan.outcome in ("confirm", "act"):
        return bool(plan.actions) and all(
            a.action in ("modify_order_items", "exchange_items") for a in plan.actions
        )
    return plan.outcome == "clarify" and plan.reason.startswith("option_")


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
    "address_change": _with_items(change_address),
    "payment": _payment,
    "complaint": _handover("complaint", "a colleague will personally look into your feedback"),
    "other": _handover("out_of_scope", "a colleague will help you with this request"),
}


def plan(intent: str, ctx: Context) -> RequestPlan:
    """The `RequestPlan` for one request."""
    if cues.only_thanks(ctx.text):  # nothing to do, and nothing for a person to look into
        return make_plan(
            ctx,
            intent,
            "inform",
            "thanks",
            "we are glad to hear it; nothing more is needed",
            order_ids=[],
        )
    if intent in ("exchange", "return", "refund", "order_status") and cues.replacement_of_damaged(
        ctx.text
    ):
        return make_plan(
            ctx,
            intent,
            "human",
            "damaged_replacement",
            "a colleague will look into replacing the damaged item",
        )
    if intent in cues.POLICY and _asks_about_rules(ctx):
        answer = cues.rules_answer(ctx.text, intent) or cues.POLICY[intent]
        return make_plan(ctx, intent, "inform", "policy", answer, order_ids=[])
    if intent == "modify" and cues.removes_items(ctx.text):
        return _cancel(ctx, intent)  # items out of an order: a partial cancellation
    if (
        intent in ("exchange", "modify")
        and _WHAT_DID_I_ORDER.search(ctx.text)
        and not _CHANGE_ASKED.search(ctx.text)
    ):
        # "did i order the green or the orange tent?": what the order holds, asked; no change
        # proposed
        return _order_status(ctx, "order_status")
    return _PLANNERS.get(intent, _PLANNERS["other"])(ctx, intent)


#: A question about what was ordered: "did I order the green or the orange tent?", "which
#: size did I get?".
_WHAT_DID_I_ORDER = re.compile(
    r"\b(?:did|have)\s+i\s+(?:order|buy|get|purchase|choose|pick)\w*\b[^.?!]*\?|"
    r"\b(?:which|what)\s+(?:colou?r|size|model|version|one)\s+(?:did|have)\s+i\b",
    re.IGNORECASE,
)
#: The customer's own ask for a change, beside such a question.
_CHANGE_ASKED = re.compile(
    r"\b(?:i\s+(?:want|would\s+like|need)|i'd\s+like|can\s+(?:i|you|we)|could\s+(?:i|you|we)|"
    r"please|instead|swap|exchange|change|switch|replace)\b",
    re.IGNORECASE,
)


#: A question about no order in particular.
_ANY_ORDER = re.compile(r"\b(?:something|anything|an?\s+(?:order|item|product))\b", re.I)


def _asks_about_rules(ctx: Context) -> bool:
    """A question about the rules only: no order named or pointed at ("my latest order",
    "the lamp I bought") and nothing asked to be done ("Cancel it. Is there a fee?"); or,
    whatever it points at, a question from a customer who has not decided yet ("What is
    your return policy? I might return the kettle")."""
    if not cues.RULES_QUESTION.search(ctx.text) or is_explicit_request(ctx.text):
        return False
    if cues.UNDECIDED.search(ctx.text):
        return True
    if any(_ANY_ORDER.search(q.group(0)) for q in cues.RULES_QUESTION.finditer(ctx.text)):
        return True  # "can I change the colour of something I've ordered?": of any order
    if ctx.orders or ctx.entities.order_ids:
        return False
    return not references.find_orders(ctx.text, ctx.customer_orders).how
