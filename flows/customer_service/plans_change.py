"""The policy for changing an order: items (modify or exchange), shipping address, payment.

One request may ask for several changes to the same order ("ship #W… to …, and make the
shirt a size L"): each becomes its own action, in the order the CRM allows them (address
and payment while the order is still plainly pending, items last, because changing items
can be done only once and ends all other changes).
"""

from __future__ import annotations

import re
from dataclasses import replace

from connectors.schemas import Order, OrderItem
from flows.customer_service import matching
from flows.customer_service._planning import (
    ZERO,
    Context,
    action,
    make_plan,
    mentions_items,
    payment_method,
    targets,
)
from flows.customer_service.entities import PAYMENT_ID, address_in
from flows.customer_service.schemas import PlannedAction, RequestPlan

__all__ = ["change_address", "change_order", "change_payment"]

_ADDRESS_WORDS = re.compile(r"\b(change|update|correct|fix|new)\b[^.]{0,40}\baddress\b", re.I)
_PAY_CHANGE = re.compile(
    r"\b(?:change|switch|update|move)\b[^.;]{0,30}\bpayment(?: method)?\b[^.;]{0,15}\bto\s+"
    r"((?:credit_card|paypal|gift_card)_\d+)",
    re.IGNORECASE,
)
_ITEM_WORDS = re.compile(r"\b(size|colou?r|option|version|model|exchange|swap|instead)\b", re.I)


def _clarify(
    ctx: Context, intent: str, reason: str, text: str, order: Order | None = None, **details: object
) -> RequestPlan:
    return make_plan(
        ctx,
        intent,
        "clarify",
        reason,
        text,
        order_ids=[order.id] if order else [o.id for o in ctx.orders],
        details=dict(details),
    )


def _new_items(
    ctx: Context, intent: str, order: Order, items: list[OrderItem]
) -> tuple[list[str], object] | RequestPlan:
    """The variant each item becomes, and the total price difference; or what to ask."""
    new_ids: list[str] = []
    difference = ZERO
    for item in items:
        product = ctx.products.get(item.product_id)
        if product is None:
            return _clarify(ctx, intent, "choose_option", "which option would you like?", order)
        choice = matching.choose_variant(ctx.text, item, product, [i.name for i in items])
        if choice.variant is None:
            return _clarify(
                ctx,
                intent,
                f"option_{choice.problem}",
                f"please tell us which {item.name} option you would like",
                order,
                item=item.name,
                options=[v.options for v in product.variants if v.available][:8],
            )
        new_ids.append(choice.variant.item_id)
        difference += choice.variant.price - item.price
    return new_ids, difference


def _items_action(
    ctx: Context, intent: str, order: Order, items: list[OrderItem], method: str | None
) -> tuple[PlannedAction, bool] | RequestPlan:
    found = _new_items(ctx, intent, order, items)
    if isinstance(found, RequestPlan):
        return found
    new_ids, difference = found
    assert isinstance(difference, type(ZERO))
    named = method is not None
    if method is None:
        method, named, _ = payment_method(ctx, order, refund_only=False)
    card = ctx.customer.payment_method(method or "")
    if card and card.source == "gift_card" and difference > (card.balance or ZERO):
        return _clarify(
            ctx,
            intent,
            "insufficient_balance",
            "the gift card balance does not cover the price difference",
            order,
        )
    verb, name = (
        ("modify", "modify_order_items")
        if order.status == "pending"
        else ("exchange", "exchange_items")
    )
    request = {
        "order_id": order.id,
        "item_ids": [i.item_id for i in items],
        "new_item_ids": new_ids,
        "payment_method_id": method,
    }
    summary = (
        f"{verb} {', '.join(i.name for i in items)} in order {order.id} "
        f"(price difference {difference}, via {method})"
    )
    return action(name, order.id, request, summary, refund=max(ZERO, -difference)), named


def _items_by_new_option(ctx: Context, order: Order) -> list[OrderItem]:
    """When no product is named ("change the deck material to bamboo"): the one item whose
    product has an option value, named in the text, that the item does not have."""
    hits = []
    for item in order.items:
        product = ctx.products.get(item.product_id)
        if product is None:
            continue
        fresh = {
            v
            for variant in product.variants
            for k, v in variant.options.items()
            if item.options.get(k) != v and len(v) > 2
        }
        if any(matching.has_value(v, ctx.text) for v in fresh):
            hits.append(item)
    return hits if len(hits) == 1 else []


def change_order(ctx: Context, intent: str) -> RequestPlan:
    """Items, and with them the address or payment of the same order if also asked."""
    text = ctx.text
    wants_address = address_in(text) is not None or bool(_ADDRESS_WORDS.search(text))
    pay_change = _PAY_CHANGE.search(text)
    statuses = {"pending"} if intent == "modify" else {"delivered"}
    orders, inferred = targets(ctx, statuses)
    if not orders:
        if wants_address:
            return change_address(ctx, intent)
        return _clarify(
            ctx, intent, "which_order", "please tell us the number of the order to change"
        )
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
    by_option = _items_by_new_option(ctx, order)
    asks_items = (
        mentions_items(text, order)
        or bool(by_option)
        or (not actions and (_ITEM_WORDS.search(text) or intent == "exchange"))
    )
    if asks_items:
        items = matching.select_items(text, order.items) or by_option
        if not items:
            return _clarify(
                ctx,
                intent,
                "which_items",
                "please tell us which items to change and the options you would like",
                order,
            )
        via = [
            m.group(0)
            for m in PAYMENT_ID.finditer(text)
            if not pay_change or m.start() > pay_change.end() or m.group(0) == pay_change.group(1)
        ]
        own = {m.id for m in ctx.customer.payment_methods}
        chosen = next((m for m in reversed(via) if m in own), None)
        found = _items_action(ctx, intent, order, items, chosen)
        if isinstance(found, RequestPlan):
            return found
        item_action, explicit_method = found
        actions.append(item_action)
    if not actions:
        return _clarify(
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


def change_address(ctx: Context, intent: str) -> RequestPlan:
    """A new shipping address for pending orders, or the customer's default address."""
    address = address_in(ctx.text) or ctx.entities.address
    if address is None:
        for ref in ctx.span.reference_order_ids:
            found = ctx.order(ref)
            if found is not None:
                address = found.address
                break
    if address is None:
        return _clarify(
            ctx,
            intent,
            "missing_address",
            "please send the full new address (street, city, state, zip code)",
        )
    fields = address.model_dump()
    if not ctx.orders:
        return make_plan(
            ctx,
            intent,
            "confirm",
            "update_default_address",
            "your address can be updated",
            actions=[
                action(
                    "update_customer_address",
                    None,
                    {"customer_id": ctx.customer.id, "address": fields},
                    f"change your default address to {address.one_line()}",
                )
            ],
            order_ids=[],
        )
    actions = []
    for order in ctx.orders:
        if order.status != "pending":
            return make_plan(
                ctx,
                intent,
                "inform",
                "not_pending",
                "only orders that have not shipped can be sent to another address",
            )
        actions.append(
            action(
                "modify_order_address",
                order.id,
                {"order_id": order.id, "address": fields},
                f"ship order {order.id} to {address.one_line()}",
            )
        )
    return make_plan(
        ctx, intent, "confirm", "modify_address", "the address can be changed", actions=actions
    )


def change_payment(ctx: Context, intent: str, method: str | None = None) -> RequestPlan:
    """Pay pending orders with another of the customer's methods (policy: once, a different
    method, a gift card must cover the total); anything else about payment is for a person."""
    own = {m.id: m for m in ctx.customer.payment_methods}
    named = [method] if method else [m.group(0) for m in PAYMENT_ID.finditer(ctx.text)]
    named = [m for m in named if m in own]
    pending = [o for o in ctx.orders if o.status == "pending"]
    if not named or not pending:
        return make_plan(
            ctx,
            intent,
            "human",
            "payment_question",
            "a colleague will look into your payment question",
        )
    new = own[named[0]]
    actions = []
    for order in pending:
        if order.paid_with == new.id:
            continue
        if new.source == "gift_card" and order.total > (new.balance or ZERO):
            return _clarify(
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
                f"pay order {order.id} with {new.id}",
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
    )
