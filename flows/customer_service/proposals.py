"""A model's proposal, as data, and the policy's check of it. Pure: no I/O, no model.

The model planner (planner.py) proposes, per request, which writes to make; this module
holds each proposed write to the rules the rule planners apply (policy.py and plans*.py):
only the customer's own orders, cancel and modify only pending orders, return and exchange
only delivered ones, a new item is an available variant of the same product, refunds to
the original payment method or a gift card, a gift card must cover what it pays. A write
that passes becomes the same `PlannedAction` a rule planner would write (same request,
refund and summary); one that does not is refused with a stable reason.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from typing import Literal

from pydantic import BaseModel, Field

from connectors.schemas import Address, CatalogueProduct, Customer, Order, OrderItem
from flows.customer_service._planning import ZERO, action, method_words, paid
from flows.customer_service.entities import CancelReason
from flows.customer_service.intents import Intent
from flows.customer_service.schemas import PlannedAction, RequestPlan

__all__ = ["Proposal", "ProposedAction", "ProposedRequest", "Refusal", "Scope", "check"]

ActionKind = Literal[
    "cancel_order",
    "return_items",
    "exchange_items",
    "modify_order_items",
    "modify_order_address",
    "modify_order_payment",
    "update_customer_address",
]
#: The order the CRM allows changes of one order in: address and payment first, items last.
_RANK = {"modify_order_address": 0, "modify_order_payment": 1}
#: (reason, explanation) of an accepted request, by its first write, as the rule plans say it.
_ACCEPTED = {
    "cancel_order": ("cancel_pending", "the order can be cancelled"),
    "return_items": ("return_delivered", "the items can be returned"),
    "exchange_items": ("change_order", "the order can be changed"),
    "modify_order_items": ("change_order", "the order can be changed"),
    "modify_order_address": ("modify_address", "the address can be changed"),
    "modify_order_payment": ("modify_payment", "the payment method can be changed"),
    "update_customer_address": ("update_default_address", "your address can be updated"),
}


class ProposedAction(BaseModel):
    """One write the model proposes. Ids come from the tools' answers."""

    kind: ActionKind
    order_id: str | None = Field(default=None, max_length=40)
    item_ids: list[str] = Field(default_factory=list, max_length=50, description="items to act on")
    new_item_ids: list[str] = Field(
        default_factory=list,
        max_length=50,
        description="exchange/modify: the chosen variant's item id for each of item_ids",
    )
    payment_method_id: str | None = Field(default=None, max_length=60)
    cancel_reason: CancelReason | None = None
    address: Address | None = None


class ProposedRequest(BaseModel):
    """One request of the message: what it asks, about which orders, and the writes."""

    intent: Intent
    order_ids: list[str] = Field(default_factory=list, max_length=20)
    actions: list[ProposedAction] = Field(default_factory=list, max_length=10)


class Proposal(BaseModel):
    """The planner's answer: one entry per request in the message, in the message's order."""

    requests: list[ProposedRequest] = Field(min_length=1, max_length=10)


@dataclass(frozen=True)
class Refusal:
    """Why a proposed request breaks the policy (a stable code and a sentence)."""

    reason: str
    explanation: str
    kind: str | None = None
    #: The order, when it is the customer's own (another customer's id is not repeated).
    order_id: str | None = None


@dataclass(frozen=True)
class Scope:
    """What the check may rely on: the identified customer, their orders, the catalogue."""

    customer: Customer
    orders: list[Order]
    products: dict[str, CatalogueProduct] = field(default_factory=dict)


class _Refused(Exception):
    def __init__(self, reason: str, explanation: str) -> None:
        super().__init__(reason)
        self.reason, self.explanation = reason, explanation


def check(request: ProposedRequest, scope: Scope) -> RequestPlan | Refusal:
    """The request as the rule planners would write it, or why it is refused. Writes are
    proposed (``confirm``, needing an explicit yes); `planner` decides when they may run."""
    own = {o.id: o for o in scope.orders}
    strange = [oid for oid in request.order_ids if oid not in own]
    if strange:
        return Refusal("not_your_order", "this order is not on your account")
    if not request.actions:
        return RequestPlan(
            intent=request.intent,
            order_ids=request.order_ids,
            outcome="inform",
            reason="order_status",
            explanation="here is what our system shows for your orders",
        )
    planned: list[PlannedAction] = []
    changed_items: set[str] = set()
    for proposed in sorted(request.actions, key=lambda a: _RANK.get(a.kind, 2)):
        order = own.get(proposed.order_id or "")
        try:
            if proposed.kind in ("exchange_items", "modify_order_items"):
                if proposed.order_id in changed_items:
                    raise _Refused("one_item_change", "an order's items change only once")
                changed_items.add(proposed.order_id or "")
            planned.append(_checked(proposed, order, scope))
        except _Refused as refused:
            mine = order.id if order is not None else None
            return Refusal(refused.reason, refused.explanation, proposed.kind, mine)
    reason, explanation = _ACCEPTED[planned[0].action]
    order_ids = list(dict.fromkeys(a.order_id for a in planned if a.order_id))
    return RequestPlan(
        intent=request.intent,
        order_ids=order_ids,
        outcome="confirm",
        reason=reason,
        explanation=explanation,
        actions=planned,
        details={"needs_explicit_confirmation": True},
    )


def _checked(proposed: ProposedAction, order: Order | None, scope: Scope) -> PlannedAction:
    if proposed.kind == "update_customer_address":
        address = _address(proposed)
        return action(
            "update_customer_address",
            None,
            {"customer_id": scope.customer.id, "address": address.model_dump()},
            f"change your default address to {address.one_line()}",
        )
    if order is None:
        raise _Refused("not_your_order", "this order is not on your account")
    if proposed.kind == "cancel_order":
        _status(order, "pending", "only orders that have not been processed can be cancelled")
        if proposed.cancel_reason is None:
            raise _Refused("missing_reason", "a cancellation needs its reason")
        reason = proposed.cancel_reason
        return action(
            "cancel_order",
            order.id,
            {"order_id": order.id, "reason": reason},
            f"cancel order {order.id} ({reason})",
            refund=paid(order),
        )
    if proposed.kind == "modify_order_address":
        _status(order, "pending", "only orders that have not shipped can be sent elsewhere")
        address = _address(proposed)
        return action(
            "modify_order_address",
            order.id,
            {"order_id": order.id, "address": address.model_dump()},
            f"ship order {order.id} to {address.one_line()}",
        )
    if proposed.kind == "modify_order_payment":
        return _payment_change(proposed, order, scope)
    if proposed.kind == "return_items":
        return _return(proposed, order, scope)
    return _item_change(proposed, order, scope)


def _status(order: Order, wanted: str, explanation: str) -> None:
    if order.status != wanted:
        raise _Refused(f"not_{wanted}", f"{explanation}; this order is {order.status}")


def _address(proposed: ProposedAction) -> Address:
    if proposed.address is None:
        raise _Refused("missing_address", "the new address is missing")
    return proposed.address


def _items(proposed: ProposedAction, order: Order) -> list[OrderItem]:
    if not proposed.item_ids:
        raise _Refused("which_items", "no items were named")
    if len(set(proposed.item_ids)) != len(proposed.item_ids):
        raise _Refused("duplicate_item", "an item is named twice")
    by_id = {i.item_id: i for i in order.items}
    missing = [i for i in proposed.item_ids if i not in by_id]
    if missing:
        raise _Refused("unknown_item", "an item is not in this order")
    return [by_id[i] for i in proposed.item_ids]


def _method(proposed: ProposedAction, scope: Scope, order: Order) -> str:
    method = proposed.payment_method_id or order.paid_with
    if method is None or scope.customer.payment_method(method) is None:
        raise _Refused("unknown_payment_method", "this payment method is not on your account")
    return method


def _return(proposed: ProposedAction, order: Order, scope: Scope) -> PlannedAction:
    _status(order, "delivered", "only delivered orders can be returned")
    items = _items(proposed, order)
    method = _method(proposed, scope, order)
    card = scope.customer.payment_method(method)
    if method != order.paid_with and (card is None or card.source != "gift_card"):
        raise _Refused(
            "refund_method_not_allowed",
            "refunds go to the original payment method or to a gift card",
        )
    refund = sum((i.price for i in items), ZERO)
    return action(
        "return_items",
        order.id,
        {"order_id": order.id, "item_ids": [i.item_id for i in items], "payment_method_id": method},
        f"return {', '.join(i.name for i in items)} from order {order.id}, "
        f"refund to {method_words(scope.customer, method)}",
        refund=refund,
    )


def _item_change(proposed: ProposedAction, order: Order, scope: Scope) -> PlannedAction:
    pending = proposed.kind == "modify_order_items"
    if pending:
        _status(order, "pending", "only pending orders can be modified")
    else:
        _status(order, "delivered", "only delivered orders can be exchanged")
    items = _items(proposed, order)
    if len(proposed.new_item_ids) != len(items):
        raise _Refused("choose_option", "each item needs the option it becomes")
    difference = ZERO
    for item, new_id in zip(items, proposed.new_item_ids, strict=True):
        product = scope.products.get(item.product_id)
        variant = product.variant(new_id) if product is not None else None
        if variant is None:
            raise _Refused("option_not_of_product", "the new option is not one of this product")
        if not variant.available:
            raise _Refused("option_unavailable", "the new option is not available")
        if new_id == item.item_id:
            raise _Refused("option_same", "the new option is the item as it is")
        difference += variant.price - item.price
    method = _method(proposed, scope, order)
    card = scope.customer.payment_method(method)
    if card is not None and card.source == "gift_card" and difference > (card.balance or ZERO):
        raise _Refused(
            "insufficient_balance", "the gift card balance does not cover the price difference"
        )
    verb = "modify" if pending else "exchange"
    request = {
        "order_id": order.id,
        "item_ids": [i.item_id for i in items],
        "new_item_ids": list(proposed.new_item_ids),
        "payment_method_id": method,
    }
    summary = (
        f"{verb} {', '.join(i.name for i in items)} in order {order.id} "
        f"(price difference {difference}, via {method_words(scope.customer, method)})"
    )
    return action(proposed.kind, order.id, request, summary, refund=max(ZERO, -difference))


def _payment_change(proposed: ProposedAction, order: Order, scope: Scope) -> PlannedAction:
    _status(order, "pending", "only pending orders can be paid another way")
    new = scope.customer.payment_method(proposed.payment_method_id or "")
    if new is None:
        raise _Refused("unknown_payment_method", "this payment method is not on your account")
    if new.id == order.paid_with:
        raise _Refused("same_payment_method", "the order is already paid with this method")
    if new.source == "gift_card" and order.total > (new.balance or Decimal("0")):
        raise _Refused(
            "insufficient_balance", "the gift card balance does not cover the order total"
        )
    return action(
        "modify_order_payment",
        order.id,
        {"order_id": order.id, "payment_method_id": new.id},
        f"pay order {order.id} with {method_words(scope.customer, new.id)}",
    )
