"""Changing the items of an order: which variant each item becomes, at what price
difference, paid how; and whether a request about something else also asks for it."""

from __future__ import annotations

import re

from connectors.schemas import Order, OrderItem
from flows.customer_service import matching, scales
from flows.customer_service._planning import (
    ZERO,
    Context,
    action,
    clarify,
    method_words,
    payment_method,
    targets,
)
from flows.customer_service.schemas import PlannedAction, RequestPlan
from flows.customer_service.selection import acting_mentions, without_kept

__all__ = ["item_change_in", "items_action", "items_by_new_option"]


def _new_items(
    ctx: Context, intent: str, order: Order, items: list[OrderItem]
) -> tuple[list[str], object, list[str]] | RequestPlan:
    """The variant each item becomes, the total price difference and, per item, what
    changes ("capacity 750ml to 1000ml"); or what to ask."""
    new_ids: list[str] = []
    changes: list[str] = []
    difference = ZERO
    for item in items:
        product = ctx.products.get(item.product_id)
        if product is None:
            return clarify(ctx, intent, "choose_option", "which option would you like?", order)
        choice = matching.choose_variant(
            without_kept(ctx.text), item, product, [i.name for i in items]
        )
        if choice.variant is None:
            fitting = choice.problem in ("ambiguous", "other_changes_needed")
            offered = (
                [v for v in choice.candidates if v.available]
                if fitting
                else matching.alternatives(ctx.text, item, product)
            )
            return clarify(
                ctx,
                intent,
                f"option_{choice.problem}",
                f"please tell us which {item.name} option you would like"
                + (
                    " (the one asked for is not available)"
                    if choice.problem == "unavailable"
                    else ""
                ),
                order,
                item=item.name,
                options=[v.options for v in offered][:8],
            )
        new_ids.append(choice.variant.item_id)
        difference += choice.variant.price - item.price
        changes.append(_change_of(item, choice.variant.options))
    return new_ids, difference, changes


def _change_of(item: OrderItem, options: dict[str, str]) -> str:
    """ "Water Bottle (capacity 750ml to 1000ml, material plastic to stainless steel)"."""
    changed = [
        f"{key} {item.options.get(key, '?')} to {value}"
        for key, value in options.items()
        if item.options.get(key) != value
    ]
    return f"{item.name} ({', '.join(changed) if changed else 'the same option'})"


def items_action(
    ctx: Context, intent: str, order: Order, items: list[OrderItem], method: str | None
) -> tuple[PlannedAction, bool] | RequestPlan:
    found = _new_items(ctx, intent, order, items)
    if isinstance(found, RequestPlan):
        return found
    new_ids, difference, changes = found
    assert isinstance(difference, type(ZERO))
    named = method is not None
    if method is None:
        method, named, _ = payment_method(ctx, order, refund_only=False)
    card = ctx.customer.payment_method(method or "")
    if card and card.source == "gift_card" and difference > (card.balance or ZERO):
        return clarify(
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
        f"{verb} {'; '.join(changes)} in order {order.id} "
        f"(price difference {difference}, via {method_words(ctx.customer, method)})"
    )
    return action(name, order.id, request, summary, refund=max(ZERO, -difference)), named


def items_by_new_option(ctx: Context, order: Order) -> list[OrderItem]:
    """When no product is named ("change the deck material to bamboo"): the one item whose
    product has an option value, named in the text, that the item does not have."""
    hits = [item for item in order.items if _new_option_named(ctx, item)]
    return hits if len(hits) == 1 else []


def _new_option_named(ctx: Context, item: OrderItem, *, asked: bool = False) -> bool:
    """Whether the text names an option value (of three letters or more) that the item's
    product has and the item does not ("black" for a white printer); `asked`: as what it is
    to become ("to the black one", "in black"), not as another item ("the blue one should
    still come to me")."""
    product = ctx.products.get(item.product_id)
    if product is None:
        return False
    fresh = {
        (k, v)
        for variant in product.variants
        for k, v in variant.options.items()
        if item.options.get(k) != v and len(v) > 2
    }
    text = ctx.text
    if asked:
        text = " ".join(m.group(0) for m in _BECOME.finditer(text))
    return any(matching.has_value(v, text, k) for k, v in fresh)


#: What an item is to become: the few words after "to", "for", "into", "in", "instead".
_BECOME = re.compile(r"\b(?:to|for|into|in|instead\s+of)\s+(?:[\w-]+\s+){0,3}[\w-]+", re.I)


_CHANGE_VERBS = re.compile(r"\b(modify|exchange|swap|replace)\b", re.IGNORECASE)


def item_change_in(ctx: Context) -> Order | None:
    """The order whose items the request (named for its address or payment) also asks to
    change: an item of it is named (not just to name the order) together with a new option,
    a relative wish ("the biggest one") or a change verb."""
    orders = ctx.orders or targets(ctx, {"pending", "delivered"})[0]
    for order in orders:
        if order.status not in ("pending", "delivered"):
            continue
        named = {m.product_id for m in acting_mentions(ctx.text, order.items)}
        if not named:
            continue
        wishes = any(
            scales.wishes_in(ctx.text, item, product)
            for item in order.items
            if item.product_id in named and (product := ctx.products.get(item.product_id))
        )
        asked = [i for i in order.items if _new_option_named(ctx, i, asked=True)]
        if wishes or _CHANGE_VERBS.search(ctx.text) or len(asked) == 1:
            return order
        if any(i.product_id in named for i in asked):
            return order  # "change the printer to the black one" beside a new address
    return None
