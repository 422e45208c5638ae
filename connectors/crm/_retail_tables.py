"""The retail half's tables (prefixed ``crm_``): customers, catalogue, orders, tasks, activities.

Lists inside a record (an order's items, payments, fulfilments) are child tables keyed by
position, because they are what the policy checks and changes. Small value maps (variant
options, tracking ids) are JSON text. Rows that a write checks and then changes (orders,
payment methods) carry a version: of two concurrent writers, the second fails instead of
acting on what it read before the first committed.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from sqlalchemy import Index
from sqlalchemy.orm import declared_attr
from sqlmodel import Field, SQLModel

from connectors.sqltypes import MoneyType, UtcDateTime

__all__ = [
    "RETAIL_TABLES",
    "CrmActivity",
    "CrmCustomer",
    "CrmFulfilment",
    "CrmOrder",
    "CrmOrderItem",
    "CrmPayment",
    "CrmPaymentMethod",
    "CrmProduct",
    "CrmTask",
    "CrmVariant",
]


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def _versioned(cls: Any) -> dict[str, Any]:
    """Optimistic locking: an UPDATE matching no row of the version read raises StaleDataError."""
    return {"version_id_col": cls.__table__.c.version}


def _stamp() -> Any:
    return Field(default_factory=_now, sa_type=UtcDateTime)


class CrmCustomer(SQLModel, table=True):
    __tablename__ = "crm_customers"

    id: str = Field(primary_key=True)
    first_name: str
    last_name: str
    email: str
    email_key: str = Field(index=True, description="lower-cased, for authentication")
    name_zip_key: str = Field(index=True, description="first|last|zip lower-cased")
    address1: str
    address2: str = ""
    city: str
    state: str
    country: str
    zip: str
    updated_at: dt.datetime = _stamp()


class CrmPaymentMethod(SQLModel, table=True):
    __tablename__ = "crm_payment_methods"

    id: str = Field(primary_key=True)
    customer_id: str = Field(foreign_key="crm_customers.id", index=True)
    position: int
    source: str = Field(description="credit_card | paypal | gift_card")
    brand: str | None = None
    last_four: str | None = None
    balance: Decimal | None = Field(default=None, sa_type=MoneyType)
    version: int = 1

    @declared_attr.directive
    def __mapper_args__(cls) -> dict[str, Any]:
        return _versioned(cls)


class CrmProduct(SQLModel, table=True):
    __tablename__ = "crm_catalogue_products"

    id: str = Field(primary_key=True)
    name: str


class CrmVariant(SQLModel, table=True):
    __tablename__ = "crm_catalogue_variants"

    item_id: str = Field(primary_key=True)
    product_id: str = Field(foreign_key="crm_catalogue_products.id", index=True)
    position: int
    options_json: str
    available: bool
    price: Decimal = Field(sa_type=MoneyType)


class CrmOrder(SQLModel, table=True):
    __tablename__ = "crm_orders"

    id: str = Field(primary_key=True)
    customer_id: str = Field(foreign_key="crm_customers.id", index=True)
    position: int = Field(description="place in the customer's order list")
    status: str = Field(index=True)
    address1: str
    address2: str = ""
    city: str
    state: str
    country: str
    zip: str
    cancel_reason: str | None = None
    return_item_ids_json: str | None = None
    return_payment_method_id: str | None = None
    exchange_item_ids_json: str | None = None
    exchange_new_item_ids_json: str | None = None
    exchange_payment_method_id: str | None = None
    exchange_price_difference: Decimal | None = Field(default=None, sa_type=MoneyType)
    version: int = 1

    @declared_attr.directive
    def __mapper_args__(cls) -> dict[str, Any]:
        return _versioned(cls)

    updated_at: dt.datetime = _stamp()


class CrmOrderItem(SQLModel, table=True):
    __tablename__ = "crm_order_items"

    order_id: str = Field(foreign_key="crm_orders.id", primary_key=True)
    line_no: int = Field(primary_key=True)
    item_id: str
    product_id: str
    name: str
    price: Decimal = Field(sa_type=MoneyType)
    options_json: str


class CrmFulfilment(SQLModel, table=True):
    __tablename__ = "crm_order_fulfilments"

    order_id: str = Field(foreign_key="crm_orders.id", primary_key=True)
    line_no: int = Field(primary_key=True)
    tracking_ids_json: str
    item_ids_json: str


class CrmPayment(SQLModel, table=True):
    __tablename__ = "crm_order_payments"

    order_id: str = Field(foreign_key="crm_orders.id", primary_key=True)
    seq: int = Field(primary_key=True)
    transaction_type: str = Field(description="payment | refund")
    amount: Decimal = Field(sa_type=MoneyType)
    payment_method_id: str


class CrmTask(SQLModel, table=True):
    """A CRM task; shared by both halves (``related_type`` says what it is about)."""

    __tablename__ = "crm_tasks"
    __table_args__ = (Index("ix_crm_tasks_related", "related_type", "related_id"),)

    id: str = Field(primary_key=True)
    subject: str
    description: str = ""
    due_at: dt.datetime = Field(sa_type=UtcDateTime, index=True)
    related_type: str
    related_id: str
    owner: str | None = None
    priority: str = "normal"
    status: str = Field(default="open", index=True)
    created_at: dt.datetime = _stamp()
    closed_at: dt.datetime | None = Field(default=None, sa_type=UtcDateTime)
    close_note: str | None = None
    version: int = 1

    @declared_attr.directive
    def __mapper_args__(cls) -> dict[str, Any]:
        return _versioned(cls)


class CrmActivity(SQLModel, table=True):
    __tablename__ = "crm_customer_activities"
    __table_args__ = (Index("ix_crm_customer_activities_when", "customer_id", "occurred_at"),)

    id: str = Field(primary_key=True)
    customer_id: str = Field(foreign_key="crm_customers.id")
    kind: str
    subject: str
    body: str = ""
    order_id: str | None = Field(default=None, index=True)
    ticket_id: str | None = None
    actor: str = "bpa"
    occurred_at: dt.datetime = _stamp()


RETAIL_TABLES = [
    model.__table__  # type: ignore[attr-defined,union-attr]
    for model in (
        CrmCustomer,
        CrmPaymentMethod,
        CrmProduct,
        CrmVariant,
        CrmOrder,
        CrmOrderItem,
        CrmFulfilment,
        CrmPayment,
        CrmTask,
        CrmActivity,
    )
]
