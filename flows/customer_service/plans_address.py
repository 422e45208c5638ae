"""The policy for a new shipping address: of pending orders, or the customer's default one.

The address is written out in the message, or pointed at: "(same as #W…)", "my home
address" (the profile's), "the same address as my laptop order" (another order's). The
orders it is for are those named, else those the words point at (references.py); a message
about the account's address ("I moved", "my default address") changes the profile; a move
whose message asks for orders ("send my orders that haven't shipped there") changes those.
"""

from __future__ import annotations

import re
from dataclasses import replace

from connectors.schemas import Address
from flows.customer_service import references
from flows.customer_service._planning import Context, action, make_plan, targets, which_order
from flows.customer_service.entities import address_in
from flows.customer_service.schemas import RequestPlan

__all__ = ["account_address_only", "change_address"]

#: The customer's own (default) address rather than where an order goes.
_ACCOUNT = re.compile(
    r"\b(?:default|profile|on file|billing)\b|\baccount(?:'s)?\s+(?:address|details)\b|"
    # "update it on my account", not "the order on my account"
    r"\b(?:address|it|this|that)\s+(?:on|in|for)\s+my\s+account\b|\bmy\s+account\s+address\b",
    re.IGNORECASE,
)
#: A move ("I moved", "my address has changed"): the account's address ("so future orders
#: ship there") unless the message asks for orders already placed ...
_MOVED = re.compile(
    r"\b(?:home\s+address\s+(?:is|has\s+changed)|i(?:'ve|\s+have)?\s+moved|"
    r"my\s+address\s+(?:is|has\s+changed))\b",
    re.IGNORECASE,
)
#: ... ("update my orders that haven't shipped", "my pending orders").
_EXISTING_ORDERS = re.compile(
    r"\b(?:pending|open|current|existing|unshipped)\s+orders?\b|\borders?\s+(?:that|which)\b|"
    r"\b(?:have|has)n'?t\s+(?:yet\s+)?(?:been\s+)?shipped|\bnot\s+(?:yet\s+)?(?:been\s+)?shipped|"
    r"#W\d",
    re.IGNORECASE,
)
#: The account's address named as such, beside orders: "my address on file", "my default
#: address" ("update my address on file and send my pending order there too": both).
_ACCOUNT_ADDRESS = re.compile(
    r"\b(?:default|account|profile)\s+(?:shipping\s+)?address\b|"
    r"\baddress\s+(?:on\s+(?:file|my\s+(?:account|profile))|in\s+my\s+(?:account|profile))\b|"
    # "please put it on my account AND send the camera order there too"
    r"\b(?:put|save|set|update|change)\s+(?:it|this|that)\s+(?:on|in)\s+my\s+(?:account|profile)\b|"
    # "can you update my profile and also both orders that haven't shipped"
    r"\b(?:update|change)\s+(?:my|the)\s+(?:profile|account)\b",
    re.IGNORECASE,
)
#: Said before a mention of the account: "please don't change the address on my account".
_NOT_BEFORE = re.compile(r"\b(?:don'?t|do not|not|never|no need to|without)\b[^.,;!?]{0,25}$", re.I)
#: Orders left where they go: "my pending order can go to the old address, so don't change
#: that one", "leave the orders alone".
_ORDERS_KEPT = re.compile(
    r"\borders?\b[^.;!?]{0,50}\b(?:old|current|previous|existing)\s+address\b|"
    r"\b(?:don'?t|do not)\s+(?:change|touch|update|move)\s+(?:that one|those|the orders?|"
    r"my orders?|any orders?)\b|"
    r"\bleave\s+(?:the\s+|my\s+)?orders?\s+(?:alone|as\s+(?:it\s+is|they\s+are))\b|"
    # "my current orders can stay as they are", "the open order should remain unchanged"
    r"\borders?\s+(?:can|should|will|may|must)\s+(?:stay|remain|be\s+left)\s+(?:as\s+"
    r"(?:it\s+is|they\s+are)|where\s+(?:it\s+is|they\s+are)|unchanged|alone)\b",
    re.IGNORECASE,
)
#: Words for what is shipped: "order", "parcel", "ship", and a thing sent ("could you send it
#: to my office instead": the order the conversation is about).
_ORDER_WORDS = re.compile(
    r"\b(?:order|package|parcel|delivery|shipment|ship|deliver)|"
    r"\b(?:send|redirect|forward)\s+(?:it|them|this|that|these|those)\b",
    re.I,
)


#: An order sent to the new address too: "and send my pending order there", "ship the
#: camera to it as well".
_ORDER_THERE = re.compile(
    r"\b(?:send|ship|deliver|redirect)\w*\b[^.;!?]{0,40}\b(?:there|to\s+(?:it|that|this|the\s+new))\b",
    re.IGNORECASE,
)


def account_address_only(text: str) -> bool:
    """Whether the address the text gives is for the account alone ("Also, I have moved.
    Please update the address on my account to ..."), no order sent there: a request of its
    own, not a part of an order's change."""
    return _named(_ACCOUNT_ADDRESS, text) and not _ORDER_THERE.search(text)


def _named(pattern: re.Pattern[str], text: str) -> bool:
    """Whether the text names it other than to say it must not change."""
    return any(not _NOT_BEFORE.search(text[: m.start()][-40:]) for m in pattern.finditer(text))


def _new_address(ctx: Context) -> Address | None:
    """The address written out, else one the text points at: an order named "(same as
    #W…)", the profile's ("my home address") or another order's ("as my last order")."""
    address = address_in(ctx.text) or ctx.entities.address
    for ref in ctx.span.reference_order_ids:
        found = ctx.order(ref)
        if address is None and found is not None:
            address = found.address
    if address is None:
        exclude = [o.id for o in ctx.orders]
        address = references.address_reference(ctx.text, ctx.customer, ctx.customer_orders, exclude)
    return address


def _not_pending(ctx: Context, intent: str) -> RequestPlan:
    return make_plan(
        ctx,
        intent,
        "inform",
        "not_pending",
        "only orders that have not shipped can be sent to another address",
    )


def _ask_for_address(ctx: Context, intent: str) -> RequestPlan:
    return make_plan(
        ctx,
        intent,
        "clarify",
        "missing_address",
        "please send the full new address (street, city, state, zip code)",
    )


def change_address(ctx: Context, intent: str) -> RequestPlan:
    """A new shipping address for pending orders, or the customer's default address."""
    if any(order.status != "pending" for order in ctx.orders):
        return _not_pending(ctx, intent)  # whatever the address: say so before asking for it
    address = _new_address(ctx)
    if address is None:
        return _ask_for_address(ctx, intent)
    fields = address.model_dump()
    inferred = False
    orders_kept = bool(_ORDERS_KEPT.search(ctx.text)) and not ctx.span.order_ids
    default_too = (
        _named(_ACCOUNT_ADDRESS, ctx.text)
        and not orders_kept
        and bool(
            ctx.orders or (_EXISTING_ORDERS.search(ctx.text) and _ORDER_WORDS.search(ctx.text))
        )
    )
    account = not default_too and (
        _named(_ACCOUNT, ctx.text)
        or (_MOVED.search(ctx.text) and not _EXISTING_ORDERS.search(ctx.text))
        or (orders_kept and _named(_ACCOUNT_ADDRESS, ctx.text))
    )
    if account and orders_kept:
        ctx = replace(ctx, orders=[])  # the orders the words found are the ones to leave alone
    if not ctx.orders and _ORDER_WORDS.search(ctx.text) and not account:
        # an order meant (a move's message too, when it asks for orders already placed)
        orders, inferred = targets(ctx, {"pending"})
        if not orders:
            return which_order(ctx, intent, {"pending"}, "which order should go to this address?")
        ctx = replace(ctx, orders=orders)
        if any(order.status != "pending" for order in orders):
            return _not_pending(ctx, intent)  # named by its items, but already on its way
    if not ctx.orders and address == ctx.customer.address:
        # the address on file, as the new one for the account: nothing would change, so the
        # new address was not understood ("update my account address to <unread>")
        return _ask_for_address(ctx, intent)
    default = action(
        "update_customer_address",
        None,
        {"customer_id": ctx.customer.id, "address": fields},
        f"change your default address to {address.one_line()}",
    )
    if not ctx.orders:
        return make_plan(
            ctx,
            intent,
            "confirm",
            "update_default_address",
            "your address can be updated",
            actions=[default],
            order_ids=[],
        )
    actions = [default] if default_too else []
    for order in ctx.orders:
        actions.append(
            action(
                "modify_order_address",
                order.id,
                {"order_id": order.id, "address": fields},
                f"ship order {order.id} to {address.one_line()}",
            )
        )
    return make_plan(
        ctx,
        intent,
        "confirm",
        "modify_address",
        "the address can be changed",
        actions=actions,
        details={"needs_explicit_confirmation": inferred},
    )
