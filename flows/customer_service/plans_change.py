"""The policy for changing an order: items (modify or exchange), shipping address, payment.

One request may ask for several changes to the same order ("ship #W… to …, and make the
shirt a size L"): each becomes its own action, in the order the CRM allows them (address
and payment while the order is still plainly pending, items last, because changing items
can be done only once and ends all other changes).
"""

from __future__ import annotations

import re
from dataclasses import replace

from connectors.schemas import Order
from flows.customer_service import references
from flows.customer_service._planning import (
    ZERO,
    Context,
    action,
    clarify,
    make_plan,
    mentions_items,
    method_words,
    new_method_by_words,
    targets,
    which_order,
)
from flows.customer_service.entities import PAYMENT_ID, address_in
from flows.customer_service.plans_address import account_address_only, change_address
from flows.customer_service.plans_items import items_action, items_by_new_option
from flows.customer_service.schemas import PlannedAction, RequestPlan
from flows.customer_service.selection import pick_items

__all__ = ["change_order", "change_payment"]

_ADDRESS_WORDS = re.compile(r"\b(change|update|correct|fix|new)\b[^.]{0,40}\baddress\b", re.I)
_PAY_CHANGE = re.compile(
    r"\b(?:change|switch|update|move)\b[^.;]{0,30}\bpayment(?: method)?\b[^.;]{0,15}\bto\s+"
    r"((?:credit_card|paypal|gift_card)_\d+)",
    re.IGNORECASE,
)
_ITEM_WORDS = re.compile(r"\b(size|colou?r|option|version|model|exchange|swap|instead)\b", re.I)


def _each_order(ctx: Context, intent: str, orders: list[Order], inferred: bool) -> RequestPlan:
    """One request about items of several orders: the changes of each, proposed together;
    the first thing any of them needs to ask is asked instead."""
    plans = [change_order(replace(ctx, orders=[o]), intent) for o in orders]
    unsure = next((p for p in plans if p.outcome != "confirm"), None)
    if unsure is not None:
        return unsure
    return make_plan(
        ctx,
        intent,
        "confirm",
        "change_order",
        "the orders can be changed",
        actions=[a for p in plans for a in p.actions],
        order_ids=[o.id for o in orders],
        details={
            "needs_explicit_confirmation": inferred
            or any(p.details.get("needs_explicit_confirmation") for p in plans)
        },
    )


def change_order(ctx: Context, intent: str) -> RequestPlan:
    """Items, and with them the address or payment of the same order if also asked; not an
    address the message gives for the account alone (a request of its own)."""
    text = ctx.text
    wants_address = (
        address_in(text) is not None
        or bool(_ADDRESS_WORDS.search(text))
        or references.address_reference(text, ctx.customer, ctx.customer_orders) is not None
    ) and not account_address_only(" ".join(r.text for r in ctx.entities.requests) or text)
    pay_change = _PAY_CHANGE.search(text)
    statuses = {"pending"} if intent == "modify" else {"delivered"}
    orders, inferred = targets(ctx, statuses)
    if not orders and not ctx.orders:
        # "swap the jigsaw in my order" for an order not shipped yet: a change of items,
        # whichever of the two words the customer used
        other = {"delivered"} if intent == "modify" else {"pending"}
        orders, inferred = targets(ctx, other)
        # only an order holding an item the text names: not the only pending order for "my
        # son's helmit is to small" (an item misspelt, "small" an air purifier's room size)
        orders = [o for o in orders if mentions_items(text, o)]
        inferred = inferred or bool(orders)
    if not orders:
        if wants_address:
            return change_address(ctx, intent)
        return which_order(ctx, intent, statuses, "which order would you like to change?")
    if len(orders) > 1:  # "the shirt and the mouse", from two orders: each one's change
        return _each_order(ctx, intent, orders, inferred)
    order = orders[0]
    if order.status not in ("pending", "delivered"):
        return make_plan(
            ctx,
            intent,
            "inform",
            "not_changeable",
            f"this order is {order.status}; only pending orders can be modified "
            "and only delivered orders exchanged",
            order_ids=[order.id],
        )
    ctx = replace(ctx, orders=[order])
    actions: list[PlannedAction] = []
    explicit_method = True
    if wants_address:
        sub = change_address(ctx, intent)
        if sub.outcome != "confirm":
            return sub
        actions += sub.actions
    if pay_change:
        sub = change_payment(ctx, intent, pay_change.group(1))
        if sub.outcome != "confirm":
            return sub
        actions += sub.actions
    by_option = items_by_new_option(ctx, order)
    asks_items = (
        mentions_items(text, order)
        or bool(by_option)
        or (not actions and (_ITEM_WORDS.search(text) or intent == "exchange"))
    )
    if asks_items:
        pick = pick_items(text, order.items)
        items = pick.items or ([] if pick.problem else by_option)
        if not items:
            return clarify(
                ctx,
                intent,
                "which_items",
                "please tell us which items to change and the options you would like",
                order,
                items=[f"{i.name} ({_options(i.options)})" for i in pick.candidates],
            )
        via = [
            m.group(0)
            for m in PAYMENT_ID.finditer(text)
            if not pay_change or m.start() > pay_change.end() or m.group(0) == pay_change.group(1)
        ]
        own = {m.id for m in ctx.customer.payment_methods}
        chosen = next((m for m in reversed(via) if m in own), None)
        found = items_action(ctx, intent, order, items, chosen)
        if isinstance(found, RequestPlan):
            return found
        item_action, explicit_method = found
        actions.append(item_action)
    if not actions:
        return clarify(
            ctx,
            intent,
            "what_to_change",
            "please tell us what you would like to change in the order",
            order,
        )
    return make_plan(
        ctx,
        intent,
        "confirm",
        "change_order",
        "the order can be changed",
        actions=actions,
        order_ids=[order.id],
        details={"needs_explicit_confirmation": inferred or not explicit_method},
    )


def _options(options: dict[str, str]) -> str:
    return ", ".join(f"{k} {v}" for k, v in options.items())


#: A question about the customer's own payment facts: "what did I pay my order with?",
#: "how much is left on my gift card?".
_PAYMENT_FACTS = re.compile(
    r"\b(?:what|which)\b[^.?!\n]{0,40}\b(?:pay|paid|charged|use|used)\b[^.?!\n]{0,40}\bwith\b"
    r"|\b(?:what|which)\s+(?:card|payment\s+method|method)\b[^.?!\n]{0,40}\b(?:use|used|pay|paid)"
    r"|\bhow\s+much\b[^.?!\n]{0,30}\b(?:left|remaining)\b|\b(?:gift\s*card\s+)?balance\b",
    re.IGNORECASE,
)
#: ... not a payment that went wrong (that is for a person).
_PAYMENT_TROUBLE = re.compile(
    r"\b(?:charged\s+twice|double|fraud\w*|dispute\w*|declined|failed|wrong\s+amount)\b", re.I
)


def _payment_question(ctx: Context, intent: str) -> RequestPlan:
    """A payment matter this flow does not answer itself: for a person."""
    return make_plan(
        ctx, intent, "human", "payment_question", "a colleague will look into your payment question"
    )


def _payment_facts(ctx: Context, intent: str) -> RequestPlan:
    """The answer from the customer's own records: how the orders asked about were paid, and
    the balance of each gift card."""
    orders, _ = targets(ctx, {"pending", "processed", "delivered", "cancelled"})
    facts = [
        f"order {o.id} was paid with {method_words(ctx.customer, o.paid_with)}"
        for o in orders
        if o.paid_with
    ]
    facts += [
        f"your gift card {m.id} has a balance of {m.balance:,.2f}"
        for m in ctx.customer.payment_methods
        if m.source == "gift_card" and m.balance is not None
    ]
    if not facts:
        return _payment_question(ctx, intent)
    return make_plan(
        ctx, intent, "inform", "payment_facts", "; ".join(facts), order_ids=[o.id for o in orders]
    )


def change_payment(ctx: Context, intent: str, method: str | None = None) -> RequestPlan:
    """Pay pending orders with another of the customer's methods (policy: once, a different
    method, a gift card must cover the total); anything else about payment is for a person."""
    own = {m.id: m for m in ctx.customer.payment_methods}
    named = [method] if method else [m.group(0) for m in PAYMENT_ID.finditer(ctx.text)]
    named = [m for m in named if m in own]
    if not named:  # in words: "to my PayPal", "with my gift card"
        of_kind, kind = new_method_by_words(ctx)
        if kind is not None and len(of_kind) != 1:
            mine = "; ".join(method_words(ctx.customer, m) for m in own) or "none"
            return clarify(
                ctx,
                intent,
                "which_payment_method",
                f"which of your payment methods should it be? "
                f"({'none of them is a ' + kind.replace('_', ' ') + '; ' if not of_kind else ''}"
                f"yours: {mine})",
            )
        named = of_kind
    inferred = False
    if named and not ctx.orders:
        orders, inferred = targets(ctx, {"pending"})
        if not orders:
            return which_order(ctx, intent, {"pending"}, "which order should be paid this way?")
        ctx = replace(ctx, orders=orders)
    if not named and _PAYMENT_FACTS.search(ctx.text) and not _PAYMENT_TROUBLE.search(ctx.text):
        return _payment_facts(ctx, intent)
    pending = [o for o in ctx.orders if o.status == "pending"]
    if not named or not pending:
        return _payment_question(ctx, intent)
    new = own[named[0]]
    actions = []
    for order in pending:
        if order.paid_with == new.id:
            continue
        if new.source == "gift_card" and order.total > (new.balance or ZERO):
            return clarify(
                ctx,
                intent,
                "insufficient_balance",
                "the gift card balance does not cover the order total",
                order,
            )
        actions.append(
            action(
                "modify_order_payment",
                order.id,
                {"order_id": order.id, "payment_method_id": new.id},
                f"pay order {order.id} with {method_words(ctx.customer, new.id)}",
            )
        )
    if not actions:
        return make_plan(
            ctx,
            intent,
            "inform",
            "same_payment_method",
            "the order is already paid with this method",
        )
    return make_plan(
        ctx,
        intent,
        "confirm",
        "modify_payment",
        "the payment method can be changed",
        actions=actions,
        details={"needs_explicit_confirmation": inferred},
    )
