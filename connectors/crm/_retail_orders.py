"""The store's order policy as rules on rows: who may change what, and how money moves.

Each function checks the policy's preconditions first and changes nothing when one fails,
so a refused request leaves the order exactly as it was. Money moves as the policy says:
a cancellation refunds every payment (a gift card at once, by raising its balance);
a payment change pays with the new method and refunds the old; an item change pays or
refunds the difference; returns and exchanges only record the request.
"""

from __future__ import annotations

import datetime as dt
import json
from collections import Counter, defaultdict
from decimal import Decimal

from sqlalchemy.orm.exc import StaleDataError
from sqlmodel import Session, col, func, select

from connectors.crm._retail_tables import (
    CrmCustomer,
    CrmOrder,
    CrmOrderItem,
    CrmPayment,
    CrmPaymentMethod,
    CrmVariant,
)
from connectors.errors import Rejected, Transient
from connectors.schemas import (
    Address,
    CancelReason,
    ExchangeItems,
    ModifyOrderItems,
    ReturnItems,
)

__all__ = [
    "cancel",
    "exchange_items",
    "flush",
    "modify_address",
    "modify_items",
    "modify_payment",
    "money",
    "return_items",
    "set_address",
]

ZERO = Decimal("0.00")


def money(amount: Decimal) -> str:
    return f"{amount:.2f}"


def flush(session: Session) -> None:
    """Write now, so a concurrent change of the same order surfaces here as `Transient`."""
    try:
        session.flush()
    except StaleDataError as exc:
        raise Transient(
            "the record changed while this request was checked; read it again and retry",
            code="concurrent_update",
        ) from exc


def _touch(order: CrmOrder) -> None:
    order.updated_at = dt.datetime.now(dt.UTC)


def _require(session: Session, order: CrmOrder, status: str, what: str) -> None:
    """Check the status, then claim the order: its version moves now, so of two writers that
    read the same version the second stops here, before it writes anything else."""
    if order.status != status:
        raise Rejected(
            f"order {order.id} is {order.status!r}; only a {status!r} order can be {what}",
            code="invalid_status",
            status=order.status,
        )
    _touch(order)
    session.add(order)
    flush(session)


def _method(session: Session, order: CrmOrder, payment_method_id: str) -> CrmPaymentMethod:
    method = session.get(CrmPaymentMethod, payment_method_id)
    if method is None or method.customer_id != order.customer_id:
        raise Rejected(
            f"{payment_method_id!r} is not a payment method of the order's customer",
            code="unknown_payment_method",
        )
    return method


def _ensure_covers(method: CrmPaymentMethod, amount: Decimal) -> None:
    if method.source == "gift_card" and amount > 0 and (method.balance or ZERO) < amount:
        raise Rejected(
            f"gift card {method.id} has {money(method.balance or ZERO)}, "
            f"not enough to pay {money(amount)}",
            code="insufficient_balance",
        )


def _charge(session: Session, method: CrmPaymentMethod, amount: Decimal) -> None:
    """Take `amount` from a gift card (a negative amount puts money back); others are external."""
    if method.source == "gift_card" and amount:
        method.balance = (method.balance or ZERO) - amount
        session.add(method)


def _record(session: Session, order: CrmOrder, kind: str, amount: Decimal, method_id: str) -> None:
    last = session.exec(
        select(func.max(CrmPayment.seq)).where(CrmPayment.order_id == order.id)
    ).one()
    session.add(
        CrmPayment(
            order_id=order.id,
            seq=(last if last is not None else -1) + 1,
            transaction_type=kind,
            amount=amount,
            payment_method_id=method_id,
        )
    )
    session.flush()


def _payments(session: Session, order: CrmOrder) -> list[CrmPayment]:
    return list(
        session.exec(
            select(CrmPayment).where(CrmPayment.order_id == order.id).order_by(col(CrmPayment.seq))
        ).all()
    )


def _lines(session: Session, order: CrmOrder, item_ids: list[str]) -> list[CrmOrderItem]:
    """The order's lines for `item_ids`, one distinct line per listed id (ids may repeat)."""
    lines = session.exec(
        select(CrmOrderItem)
        .where(CrmOrderItem.order_id == order.id)
        .order_by(col(CrmOrderItem.line_no))
    ).all()
    have = Counter(line.item_id for line in lines)
    for item_id, wanted in Counter(item_ids).items():
        if have[item_id] < wanted:
            raise Rejected(
                f"order {order.id} has {have[item_id]} of item {item_id}, not {wanted}",
                code="unknown_item",
                item_id=item_id,
            )
    free = defaultdict(list)
    for line in lines:
        free[line.item_id].append(line)
    return [free[item_id].pop(0) for item_id in item_ids]


def _swaps(
    session: Session, order: CrmOrder, request: ModifyOrderItems | ExchangeItems
) -> tuple[list[tuple[CrmOrderItem, CrmVariant]], Decimal]:
    """Each line with its new variant, and what the new items cost more (or less)."""
    lines = _lines(session, order, request.item_ids)
    pairs, difference = [], ZERO
    for line, new_id in zip(lines, request.new_item_ids, strict=True):
        variant = session.get(CrmVariant, new_id)
        if variant is None:
            raise Rejected(f"there is no item {new_id!r} in the catalogue", code="unknown_variant")
        if variant.product_id != line.product_id:
            raise Rejected(
                f"item {new_id} is not a {line.name}; an item can only change to another "
                "option of the same product",
                code="not_same_product",
            )
        if not variant.available:
            raise Rejected(
                f"item {new_id} ({line.name}) is not available", code="variant_unavailable"
            )
        pairs.append((line, variant))
        difference += variant.price - line.price
    return pairs, difference


def set_address(row: CrmOrder | CrmCustomer, address: Address) -> None:
    for name, value in address.model_dump().items():
        setattr(row, name, value)


def cancel(session: Session, order: CrmOrder, reason: CancelReason) -> dict[str, Decimal]:
    """Cancel a pending order; returns the refund per payment method."""
    _require(session, order, "pending", "cancelled")
    paid: dict[str, Decimal] = defaultdict(lambda: ZERO)
    for payment in _payments(session, order):
        sign = 1 if payment.transaction_type == "payment" else -1
        paid[payment.payment_method_id] += sign * payment.amount
    refunds = {method_id: amount for method_id, amount in paid.items() if amount > 0}
    for method_id, amount in refunds.items():
        _record(session, order, "refund", amount, method_id)
        method = session.get(CrmPaymentMethod, method_id)
        if method is not None:
            _charge(session, method, -amount)
    order.status = "cancelled"
    order.cancel_reason = reason
    _touch(order)
    session.add(order)
    flush(session)
    return refunds


def modify_address(session: Session, order: CrmOrder, address: Address) -> Address:
    """Change a pending order's shipping address; returns the old one (to undo with)."""
    _require(session, order, "pending", "modified")
    old = Address(**{name: getattr(order, name) for name in Address.model_fields})
    set_address(order, address)
    _touch(order)
    session.add(order)
    flush(session)
    return old


def modify_payment(session: Session, order: CrmOrder, payment_method_id: str) -> Decimal:
    """Pay a pending order with another method; returns the amount moved."""
    _require(session, order, "pending", "modified")
    payments = _payments(session, order)
    if len(payments) != 1 or payments[0].transaction_type != "payment":
        raise Rejected(
            f"order {order.id} has {len(payments)} payment records; its payment method can "
            "only be changed while it has exactly one payment",
            code="payment_already_changed",
        )
    current = payments[0]
    if current.payment_method_id == payment_method_id:
        raise Rejected(
            f"order {order.id} is already paid with {payment_method_id}",
            code="same_payment_method",
        )
    new = _method(session, order, payment_method_id)
    _ensure_covers(new, current.amount)
    _record(session, order, "payment", current.amount, new.id)
    _record(session, order, "refund", current.amount, current.payment_method_id)
    _charge(session, new, current.amount)
    old = session.get(CrmPaymentMethod, current.payment_method_id)
    if old is not None:
        _charge(session, old, -current.amount)
    _touch(order)
    session.add(order)
    flush(session)
    return current.amount


def modify_items(session: Session, order: CrmOrder, request: ModifyOrderItems) -> Decimal:
    """Swap items of a pending order for other options of the same products, once."""
    _require(session, order, "pending", "modified")
    pairs, difference = _swaps(session, order, request)
    method = _method(session, order, request.payment_method_id)
    _ensure_covers(method, difference)
    if difference:
        kind = "payment" if difference > 0 else "refund"
        _record(session, order, kind, abs(difference), method.id)
        _charge(session, method, difference)
    for line, variant in pairs:
        line.item_id = variant.item_id
        line.price = variant.price
        line.options_json = variant.options_json
        session.add(line)
    order.status = "pending (item modified)"
    _touch(order)
    session.add(order)
    flush(session)
    return difference


def return_items(session: Session, order: CrmOrder, request: ReturnItems) -> None:
    """Record a return of delivered items; the refund is paid when they come back."""
    _require(session, order, "delivered", "returned")
    _lines(session, order, request.item_ids)
    method = _method(session, order, request.payment_method_id)
    original = next(
        (p.payment_method_id for p in _payments(session, order) if p.transaction_type == "payment"),
        None,
    )
    if method.id != original and method.source != "gift_card":
        raise Rejected(
            f"a refund goes to the original payment method ({original}) or a gift card, "
            f"not {method.id}",
            code="refund_method_not_allowed",
        )
    order.status = "return requested"
    order.return_item_ids_json = json.dumps(sorted(request.item_ids))
    order.return_payment_method_id = method.id
    _touch(order)
    session.add(order)
    flush(session)


def exchange_items(session: Session, order: CrmOrder, request: ExchangeItems) -> Decimal:
    """Record an exchange of delivered items for other options of the same products.

    The pairs are kept sorted by old item id, so the same exchange asked in another order
    leaves the same record."""
    _require(session, order, "delivered", "exchanged")
    _lines_and_variants, difference = _swaps(session, order, request)
    method = _method(session, order, request.payment_method_id)
    _ensure_covers(method, difference)
    order.status = "exchange requested"
    pairs = sorted(zip(request.item_ids, request.new_item_ids, strict=True))
    order.exchange_item_ids_json = json.dumps([old for old, _new in pairs])
    order.exchange_new_item_ids_json = json.dumps([new for _old, new in pairs])
    order.exchange_payment_method_id = method.id
    order.exchange_price_difference = difference
    _touch(order)
    session.add(order)
    flush(session)
    return difference
