"""Read the retail half's rows into the shared records (`Customer`, `Order`, ...)."""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Sequence
from decimal import Decimal
from typing import Any

from sqlmodel import Session, col, select

from connectors.crm._retail_tables import (
    CrmActivity,
    CrmCustomer,
    CrmFulfilment,
    CrmOrder,
    CrmOrderItem,
    CrmPayment,
    CrmPaymentMethod,
    CrmProduct,
    CrmTask,
    CrmVariant,
)
from connectors.errors import NotFound
from connectors.schemas import (
    Address,
    CatalogueProduct,
    Customer,
    CustomerActivity,
    ExchangeRequest,
    Fulfilment,
    Order,
    OrderItem,
    PaymentMethod,
    PaymentTransaction,
    ProductVariant,
    ReturnRequest,
    Task,
)

__all__ = [
    "activity_record",
    "address_of",
    "customer_record",
    "load_customer",
    "load_order",
    "load_product",
    "load_task",
    "order_records",
    "product_record",
    "task_record",
]

_ADDRESS_FIELDS = ("address1", "address2", "city", "state", "country", "zip")


def address_of(row: CrmCustomer | CrmOrder) -> Address:
    return Address(**{name: getattr(row, name) for name in _ADDRESS_FIELDS})


def load_customer(session: Session, customer_id: str) -> CrmCustomer:
    row = session.get(CrmCustomer, customer_id)
    if row is None:
        raise NotFound(f"no customer {customer_id!r}", code="unknown_customer")
    return row


def load_order(session: Session, order_id: str) -> CrmOrder:
    row = session.get(CrmOrder, order_id.strip())
    if row is None:
        raise NotFound(f"no order {order_id!r}", code="unknown_order")
    return row


def load_product(session: Session, product_id: str) -> CrmProduct:
    row = session.get(CrmProduct, product_id.strip())
    if row is None:
        raise NotFound(f"no product {product_id!r}", code="unknown_product")
    return row


def load_task(session: Session, task_id: str) -> CrmTask:
    row = session.get(CrmTask, task_id)
    if row is None:
        raise NotFound(f"no task {task_id!r}", code="unknown_task")
    return row


def customer_record(session: Session, row: CrmCustomer) -> Customer:
    methods = session.exec(
        select(CrmPaymentMethod)
        .where(CrmPaymentMethod.customer_id == row.id)
        .order_by(col(CrmPaymentMethod.position))
    ).all()
    order_ids = session.exec(
        select(CrmOrder.id).where(CrmOrder.customer_id == row.id).order_by(col(CrmOrder.position))
    ).all()
    return Customer(
        id=row.id,
        first_name=row.first_name,
        last_name=row.last_name,
        email=row.email,
        address=address_of(row),
        payment_methods=[PaymentMethod.model_validate(m, from_attributes=True) for m in methods],
        order_ids=list(order_ids),
    )


def _children(session: Session, model: Any, order_ids: list[str], order: Any) -> dict[str, list]:
    grouped: dict[str, list[Any]] = defaultdict(list)
    if order_ids:
        rows = session.exec(
            select(model).where(col(model.order_id).in_(order_ids)).order_by(order)
        ).all()
        for row in rows:
            grouped[row.order_id].append(row)
    return grouped


def _ids(value: str | None) -> list[str]:
    return [] if value is None else list(json.loads(value))


def order_records(session: Session, rows: Sequence[CrmOrder]) -> list[Order]:
    """Orders with their items, fulfilments and payments, read in three queries."""
    ids = [row.id for row in rows]
    items = _children(session, CrmOrderItem, ids, col(CrmOrderItem.line_no))
    fulfilments = _children(session, CrmFulfilment, ids, col(CrmFulfilment.line_no))
    payments = _children(session, CrmPayment, ids, col(CrmPayment.seq))
    records = []
    for row in rows:
        exchange = None
        if row.exchange_payment_method_id is not None:
            exchange = ExchangeRequest(
                item_ids=_ids(row.exchange_item_ids_json),
                new_item_ids=_ids(row.exchange_new_item_ids_json),
                payment_method_id=row.exchange_payment_method_id,
                price_difference=row.exchange_price_difference or Decimal(0),
            )
        returned = None
        if row.return_payment_method_id is not None:
            returned = ReturnRequest(
                item_ids=_ids(row.return_item_ids_json),
                payment_method_id=row.return_payment_method_id,
            )
        records.append(
            Order(
                id=row.id,
                customer_id=row.customer_id,
                status=row.status,  # type: ignore[arg-type]
                address=address_of(row),
                items=[
                    OrderItem(
                        item_id=i.item_id,
                        product_id=i.product_id,
                        name=i.name,
                        price=i.price,
                        options=json.loads(i.options_json),
                    )
                    for i in items[row.id]
                ],
                fulfilments=[
                    Fulfilment(
                        tracking_ids=json.loads(f.tracking_ids_json),
                        item_ids=json.loads(f.item_ids_json),
                    )
                    for f in fulfilments[row.id]
                ],
                payment_history=[
                    PaymentTransaction(
                        transaction_type=p.transaction_type,  # type: ignore[arg-type]
                        amount=p.amount,
                        payment_method_id=p.payment_method_id,
                    )
                    for p in payments[row.id]
                ],
                cancel_reason=row.cancel_reason,  # type: ignore[arg-type]
                return_request=returned,
                exchange_request=exchange,
            )
        )
    return records


def product_record(session: Session, row: CrmProduct) -> CatalogueProduct:
    variants = session.exec(
        select(CrmVariant).where(CrmVariant.product_id == row.id).order_by(col(CrmVariant.position))
    ).all()
    return CatalogueProduct(
        id=row.id,
        name=row.name,
        variants=[
            ProductVariant(
                item_id=v.item_id,
                product_id=v.product_id,
                options=json.loads(v.options_json),
                available=v.available,
                price=v.price,
            )
            for v in variants
        ],
    )


def task_record(row: CrmTask) -> Task:
    return Task.model_validate(row, from_attributes=True)


def activity_record(row: CrmActivity) -> CustomerActivity:
    return CustomerActivity.model_validate(row, from_attributes=True)
