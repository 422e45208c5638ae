"""Load the retail half from a folder in tau-bench's retail format, once.

Files: ``users.json``, ``orders.json`` and ``products.json``, each an object keyed by id,
exactly as tau-bench ships them (so the full public set in ``../shared`` loads as well as
the subset in ``fixtures/crm``). A folder without ``users.json`` seeds nothing: the CRM may
be used for its sales half only. Broken data fails loudly here, not later in a flow.
"""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal
from pathlib import Path
from typing import Any, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, TypeAdapter, ValidationError
from sqlalchemy import Engine, func, insert
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlmodel import Session, select

from connectors.crm._retail_tables import (
    CrmCustomer,
    CrmFulfilment,
    CrmOrder,
    CrmOrderItem,
    CrmPayment,
    CrmPaymentMethod,
    CrmProduct,
    CrmVariant,
)

__all__ = ["RetailSeedError", "name_zip_key", "seed_retail_if_empty"]

M = TypeVar("M", bound=BaseModel)


class RetailSeedError(ValueError):
    """The seed folder holds data the CRM cannot load."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class _Name(_Strict):
    first_name: str
    last_name: str


class _Address(_Strict):
    address1: str
    address2: str = ""
    city: str
    country: str
    state: str
    zip: str


class _PaymentMethod(_Strict):
    id: str
    source: Literal["credit_card", "paypal", "gift_card"]
    brand: str | None = None
    last_four: str | None = None
    balance: Decimal | None = None


class _User(_Strict):
    name: _Name
    address: _Address
    email: str
    payment_methods: dict[str, _PaymentMethod]
    orders: list[str]


class _Variant(_Strict):
    item_id: str
    options: dict[str, str]
    available: bool
    price: Decimal


class _Product(_Strict):
    name: str
    product_id: str
    variants: dict[str, _Variant]


class _Item(_Strict):
    name: str
    product_id: str
    item_id: str
    price: Decimal
    options: dict[str, str]


class _Fulfilment(_Strict):
    tracking_id: list[str]
    item_ids: list[str]


class _Payment(_Strict):
    transaction_type: Literal["payment", "refund"]
    amount: Decimal
    payment_method_id: str


class _Order(_Strict):
    order_id: str
    user_id: str
    address: _Address
    items: list[_Item]
    fulfillments: list[_Fulfilment]
    status: str
    payment_history: list[_Payment]
    cancel_reason: str | None = None


def name_zip_key(first_name: str, last_name: str, zip_code: str) -> str:
    """How a customer is found by name and zip: exact, ignoring case and outer spaces."""
    return "|".join(part.strip().lower() for part in (first_name, last_name, zip_code))


def _read(path: Path, model: type[M]) -> dict[str, M]:
    if not path.exists():
        raise RetailSeedError(f"{path} is missing")
    try:
        return TypeAdapter(dict[str, model]).validate_json(path.read_bytes())  # type: ignore[valid-type]
    except ValidationError as exc:
        raise RetailSeedError(f"{path}: {exc}") from exc


def _customer_count(session: Session) -> int:
    return session.exec(select(func.count()).select_from(CrmCustomer)).one()


def seed_retail_if_empty(engine: Engine, directory: Path) -> bool:
    """Seed when there are no customers and the folder has retail data; True if this call did.

    Two processes seeding at once: the loser's inserts collide on primary keys, it rolls
    back and finds the winner's data.
    """
    if not (directory / "users.json").exists():
        return False
    with Session(engine) as session:
        if _customer_count(session):
            return False
        rows = _rows(directory)
        try:
            for model, values in rows:
                if values:
                    session.execute(insert(model), values)  # type: ignore[arg-type]
            session.commit()
        except (IntegrityError, OperationalError):
            session.rollback()
            if _customer_count(session):
                return False
            raise
    return True


def _rows(directory: Path) -> list[tuple[type[Any], list[dict[str, Any]]]]:
    users = _read(directory / "users.json", _User)
    products = _read(directory / "products.json", _Product)
    orders = _read(directory / "orders.json", _Order)

    now = dt.datetime.now(dt.UTC)
    customers, methods = [], []
    for user_id, user in users.items():
        address = user.address.model_dump()
        customers.append(
            {
                "id": user_id,
                "first_name": user.name.first_name,
                "last_name": user.name.last_name,
                "email": user.email,
                "email_key": user.email.strip().lower(),
                "name_zip_key": name_zip_key(
                    user.name.first_name, user.name.last_name, user.address.zip
                ),
                "updated_at": now,
                **address,
            }
        )
        for position, (method_id, method) in enumerate(user.payment_methods.items()):
            if method_id != method.id:
                raise RetailSeedError(
                    f"user {user_id}: payment method {method_id} has id {method.id}"
                )
            methods.append(
                {"customer_id": user_id, "position": position, "version": 1, **method.model_dump()}
            )

    catalogue, variants = [], []
    for product_id, product in products.items():
        catalogue.append({"id": product_id, "name": product.name})
        for position, (item_id, variant) in enumerate(product.variants.items()):
            variants.append(
                {
                    "item_id": item_id,
                    "product_id": product_id,
                    "position": position,
                    "options_json": json.dumps(variant.options),
                    "available": variant.available,
                    "price": variant.price,
                }
            )

    position_of = {oid: (uid, pos) for uid, u in users.items() for pos, oid in enumerate(u.orders)}
    order_rows, items, fulfilments, payments = [], [], [], []
    for order_id, order in orders.items():
        owner, position = position_of.get(order_id, (None, -1))
        if owner != order.user_id:
            raise RetailSeedError(f"order {order_id}: its user {order.user_id} does not list it")
        order_rows.append(
            {
                "id": order_id,
                "customer_id": order.user_id,
                "position": position,
                "status": order.status,
                "cancel_reason": order.cancel_reason,
                "version": 1,
                "updated_at": now,
                **order.address.model_dump(),
            }
        )
        for no, item in enumerate(order.items):
            items.append(
                {
                    "order_id": order_id,
                    "line_no": no,
                    "item_id": item.item_id,
                    "product_id": item.product_id,
                    "name": item.name,
                    "price": item.price,
                    "options_json": json.dumps(item.options),
                }
            )
        for no, ful in enumerate(order.fulfillments):
            fulfilments.append(
                {
                    "order_id": order_id,
                    "line_no": no,
                    "tracking_ids_json": json.dumps(ful.tracking_id),
                    "item_ids_json": json.dumps(ful.item_ids),
                }
            )
        for seq, pay in enumerate(order.payment_history):
            payments.append({"order_id": order_id, "seq": seq, **pay.model_dump()})
    missing = set(position_of) - set(orders)
    if missing:
        raise RetailSeedError(f"users list orders that orders.json lacks: {sorted(missing)[:5]}")
    return [
        (CrmCustomer, customers),
        (CrmPaymentMethod, methods),
        (CrmProduct, catalogue),
        (CrmVariant, variants),
        (CrmOrder, order_rows),
        (CrmOrderItem, items),
        (CrmFulfilment, fulfilments),
        (CrmPayment, payments),
    ]
