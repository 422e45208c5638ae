"""The retail CRM's change history: each change to an order or a customer's address, kept
under its idempotency key with the record before and after it, so that it can be restored.

Restoring puts the order back as it was (status, address, items, the payments and refunds
the change recorded, the gift-card balances it moved), provided the order is still as the
change left it (else `Conflict`): the undo of cancelling or modifying an order, or of
requesting a return or an exchange, in a rollback, newest change first. The customer's
history keeps both entries: the change and its restoration.
"""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal
from typing import Any

from pydantic import BaseModel, Field
from sqlalchemy import delete
from sqlmodel import Field as Column
from sqlmodel import Session, SQLModel, col, select

from connectors.crm._retail_orders import flush
from connectors.crm._retail_records import address_of
from connectors.crm._retail_tables import (
    CrmCustomer,
    CrmOrder,
    CrmOrderItem,
    CrmPayment,
    CrmPaymentMethod,
)
from connectors.errors import Conflict, NotFound, Rejected
from connectors.sqltypes import UtcDateTime

__all__ = [
    "CHANGE_TABLES",
    "CrmChange",
    "RestoreCustomerAddress",
    "RestoreOrder",
    "customer_state",
    "order_state",
    "record",
    "restore_customer",
    "restore_order",
]

_ORDER_FIELDS = (
    "status",
    "address1",
    "address2",
    "city",
    "state",
    "country",
    "zip",
    "cancel_reason",
    "return_item_ids_json",
    "return_payment_method_id",
    "exchange_item_ids_json",
    "exchange_new_item_ids_json",
    "exchange_payment_method_id",
    "exchange_price_difference",
)


class RestoreOrder(BaseModel):
    """Put an order back as it was before the change made under `change_key`."""

    order_id: str = Field(min_length=1)
    change_key: str = Field(min_length=1, description="the idempotency key of the change")
    reason: str = Field(default="", max_length=2000, description="kept in the history")


class RestoreCustomerAddress(BaseModel):
    """Put a customer's default address back as it was before the change under `change_key`."""

    customer_id: str = Field(min_length=1)
    change_key: str = Field(min_length=1, description="the idempotency key of the change")
    reason: str = Field(default="", max_length=2000, description="kept in the history")


class CrmChange(SQLModel, table=True):
    __tablename__ = "crm_changes"

    key: str = Column(primary_key=True, description="the change's idempotency key")
    record_type: str = Column(description="order | customer")
    record_id: str = Column(index=True)
    action: str
    before_json: str
    after_json: str
    created_at: dt.datetime = Column(sa_type=UtcDateTime)
    restored_at: dt.datetime | None = Column(default=None, sa_type=UtcDateTime)


CHANGE_TABLES = [CrmChange.__table__]  # type: ignore[attr-defined]


def _text(value: Any) -> Any:
    return str(value) if isinstance(value, Decimal) else value


def order_state(session: Session, order: CrmOrder) -> dict[str, Any]:
    """What a change may alter: the order's fields, its items, its payments, and the balances
    of the customer's gift cards (JSON-safe)."""
    items = session.exec(
        select(CrmOrderItem)
        .where(CrmOrderItem.order_id == order.id)
        .order_by(col(CrmOrderItem.line_no))
    ).all()
    payments = session.exec(
        select(CrmPayment).where(CrmPayment.order_id == order.id).order_by(col(CrmPayment.seq))
    ).all()
    cards = session.exec(
        select(CrmPaymentMethod).where(
            CrmPaymentMethod.customer_id == order.customer_id,
            CrmPaymentMethod.source == "gift_card",
        )
    ).all()
    return {
        "order": {name: _text(getattr(order, name)) for name in _ORDER_FIELDS},
        "items": [[i.line_no, i.item_id, str(i.price), i.options_json] for i in items],
        "payments": [
            [p.seq, p.transaction_type, str(p.amount), p.payment_method_id] for p in payments
        ],
        "balances": {c.id: _text(c.balance) for c in cards},
    }


def customer_state(customer: CrmCustomer) -> dict[str, Any]:
    return {"address": address_of(customer).model_dump()}


def record(
    session: Session,
    key: str,
    action: str,
    row: CrmOrder | CrmCustomer,
    before: dict[str, Any],
    after: dict[str, Any],
) -> None:
    session.add(
        CrmChange(
            key=key,
            record_type="order" if isinstance(row, CrmOrder) else "customer",
            record_id=row.id,
            action=action,
            before_json=json.dumps(before),
            after_json=json.dumps(after),
            created_at=dt.datetime.now(dt.UTC),
        )
    )
    session.flush()


def _change(session: Session, key: str, record_type: str, record_id: str) -> CrmChange:
    change = session.get(CrmChange, key)
    if change is None or (change.record_type, change.record_id) != (record_type, record_id):
        raise NotFound(f"{record_type} {record_id} has no change {key!r}", code="unknown_change")
    if change.restored_at is not None:
        raise Rejected(f"change {key!r} was already restored", code="invalid_state")
    return change


def _unchanged_since(change: CrmChange, now: dict[str, Any], what: str) -> None:
    after = json.loads(change.after_json)
    after.pop("balances", None)
    if {k: v for k, v in now.items() if k != "balances"} != after:
        raise Conflict(
            f"{what} was changed again since {change.action} ({change.key!r})",
            code="record_changed",
        )


def restore_order(session: Session, order: CrmOrder, key: str) -> tuple[str, dict[str, Any]]:
    """Put `order` back as it was before the change under `key`; returns the change's
    action and the balances it gave back (gift card id -> amount)."""
    change = _change(session, key, "order", order.id)
    _unchanged_since(change, order_state(session, order), f"order {order.id}")
    before, after = json.loads(change.before_json), json.loads(change.after_json)
    for name, value in before["order"].items():
        if name == "exchange_price_difference" and value is not None:
            value = Decimal(value)
        setattr(order, name, value)
    lines = {
        i.line_no: i
        for i in session.exec(select(CrmOrderItem).where(CrmOrderItem.order_id == order.id)).all()
    }
    for line_no, item_id, price, options_json in before["items"]:
        line = lines[line_no]
        line.item_id, line.price, line.options_json = item_id, Decimal(price), options_json
        session.add(line)
    kept = [seq for seq, *_ in before["payments"]]
    session.execute(
        delete(CrmPayment).where(
            col(CrmPayment.order_id) == order.id, col(CrmPayment.seq).not_in(kept)
        )
    )
    moved: dict[str, Any] = {}
    for card_id, was in before["balances"].items():
        now = after["balances"].get(card_id)
        if was == now or was is None or now is None:
            continue
        card = session.get(CrmPaymentMethod, card_id)
        if card is not None:
            delta = Decimal(was) - Decimal(now)
            card.balance = (card.balance or Decimal(0)) + delta
            session.add(card)
            moved[card_id] = str(delta)
    order.updated_at = dt.datetime.now(dt.UTC)
    change.restored_at = order.updated_at
    session.add_all([order, change])
    flush(session)
    return change.action, moved


def restore_customer(session: Session, customer: CrmCustomer, key: str) -> None:
    """Put the customer's default address back as it was before the change under `key`."""
    change = _change(session, key, "customer", customer.id)
    _unchanged_since(change, customer_state(customer), f"customer {customer.id}")
    for name, value in json.loads(change.before_json)["address"].items():
        setattr(customer, name, value)
    change.restored_at = dt.datetime.now(dt.UTC)
    session.add_all([customer, change])
    flush(session)
