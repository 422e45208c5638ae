"""Retail CRM records: customers, orders, the product catalogue, and the CRM's tasks and activities.

The shapes follow a retail company's customer-service data (tau-bench's retail domain) and
its policy: orders move ``pending -> processed -> delivered``; a pending order may be
cancelled or modified, a delivered one returned or exchanged. `Task` is generic
(``related_type`` / ``related_id``), so the sales pipeline files its next-step tasks here too.
Names that the sales half also uses (products, activities) are prefixed: `CatalogueProduct`,
`CustomerActivity`.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Literal

from pydantic import BaseModel, Field, computed_field, model_validator

Money = Decimal

OrderStatus = Literal[
    "pending",
    "pending (item modified)",
    "processed",
    "delivered",
    "cancelled",
    "return requested",
    "exchange requested",
]
CancelReason = Literal["no longer needed", "ordered by mistake"]
PaymentSource = Literal["credit_card", "paypal", "gift_card"]
#: What a task is about: "customer", "order", "ticket", "opportunity", "account", ...
RelatedType = str
_SLUG = r"^[a-z][a-z0-9_]*$"


# Customers


class Address(BaseModel):
    address1: str = Field(min_length=1)
    address2: str = ""
    city: str = Field(min_length=1)
    state: str = Field(min_length=1)
    country: str = Field(min_length=1)
    zip: str = Field(min_length=1)

    def one_line(self) -> str:
        street = ", ".join(part for part in (self.address1, self.address2) if part)
        return f"{street}, {self.city}, {self.state} {self.zip}, {self.country}"


class PaymentMethod(BaseModel):
    id: str = Field(description="e.g. credit_card_7815826, paypal_5727330, gift_card_8506348")
    source: PaymentSource
    brand: str | None = Field(default=None, description="credit cards only")
    last_four: str | None = Field(default=None, description="credit cards only")
    balance: Money | None = Field(default=None, description="gift cards only")


class Customer(BaseModel):
    id: str
    first_name: str
    last_name: str
    email: str
    address: Address = Field(description="the default shipping address")
    payment_methods: list[PaymentMethod]
    order_ids: list[str] = Field(description="oldest first, as the CRM lists them")

    @computed_field  # type: ignore[prop-decorator]
    @property
    def name(self) -> str:
        return f"{self.first_name} {self.last_name}"

    def payment_method(self, payment_method_id: str) -> PaymentMethod | None:
        return next((m for m in self.payment_methods if m.id == payment_method_id), None)


class CustomerRef(BaseModel):
    customer_id: str = Field(min_length=1)


class FindCustomerByEmail(BaseModel):
    """Authenticate by e-mail: compared without case or surrounding spaces."""

    email: str = Field(min_length=3, max_length=320)


class FindCustomerByNameZip(BaseModel):
    """Authenticate by first name, last name and zip code: all three must match (no case)."""

    first_name: str = Field(min_length=1, max_length=100)
    last_name: str = Field(min_length=1, max_length=100)
    zip: str = Field(min_length=1, max_length=20)


class UpdateCustomerAddress(BaseModel):
    """Change a customer's default address (existing orders keep theirs)."""

    customer_id: str = Field(min_length=1)
    address: Address


# Catalogue


class ProductVariant(BaseModel):
    """One buyable item of a product: the ``item_id`` is what orders reference."""

    item_id: str
    product_id: str
    options: dict[str, str]
    available: bool
    price: Money


class CatalogueProduct(BaseModel):
    id: str
    name: str
    variants: list[ProductVariant]

    def variant(self, item_id: str) -> ProductVariant | None:
        return next((v for v in self.variants if v.item_id == item_id), None)


class CatalogueProductSummary(BaseModel):
    id: str
    name: str
    variant_count: int
    available_count: int


class CatalogueProductRef(BaseModel):
    product_id: str = Field(min_length=1)


class CatalogueSearch(BaseModel):
    """All product types, or those whose name contains ``name`` (no case)."""

    name: str | None = None


# Orders


class OrderItem(BaseModel):
    item_id: str
    product_id: str
    name: str
    price: Money
    options: dict[str, str]


class Fulfilment(BaseModel):
    tracking_ids: list[str]
    item_ids: list[str]


class PaymentTransaction(BaseModel):
    transaction_type: Literal["payment", "refund"]
    amount: Money
    payment_method_id: str


class ReturnRequest(BaseModel):
    item_ids: list[str]
    payment_method_id: str = Field(description="where the refund goes")


class ExchangeRequest(BaseModel):
    item_ids: list[str]
    new_item_ids: list[str]
    payment_method_id: str
    price_difference: Money = Field(description="new minus old; negative means a refund")


class Order(BaseModel):
    id: str = Field(description="e.g. #W2611340")
    customer_id: str
    status: OrderStatus
    address: Address = Field(description="the shipping address of this order")
    items: list[OrderItem]
    fulfilments: list[Fulfilment]
    payment_history: list[PaymentTransaction]
    cancel_reason: CancelReason | None = None
    return_request: ReturnRequest | None = None
    exchange_request: ExchangeRequest | None = None

    @computed_field  # type: ignore[prop-decorator]
    @property
    def total(self) -> Money:
        """The price of the items as they are now."""
        return sum((item.price for item in self.items), Decimal("0.00"))

    @property
    def paid_with(self) -> str | None:
        """The original payment method: the first payment's."""
        first = next((t for t in self.payment_history if t.transaction_type == "payment"), None)
        return first.payment_method_id if first else None


class OrderRef(BaseModel):
    order_id: str = Field(min_length=1)


class CustomerOrders(BaseModel):
    """A customer's orders, newest last; optionally only those in the given statuses."""

    customer_id: str = Field(min_length=1)
    statuses: list[OrderStatus] | None = None


class CancelOrder(BaseModel):
    order_id: str = Field(min_length=1)
    reason: CancelReason


class ModifyOrderAddress(BaseModel):
    order_id: str = Field(min_length=1)
    address: Address


class ModifyOrderPayment(BaseModel):
    """Pay a pending order with another of the customer's methods (once per order)."""

    order_id: str = Field(min_length=1)
    payment_method_id: str = Field(min_length=1)


class _ItemSwap(BaseModel):
    order_id: str = Field(min_length=1)
    item_ids: list[str] = Field(min_length=1, description="the items to change, all at once")
    new_item_ids: list[str] = Field(
        min_length=1, description="position by position: an available variant of the same product"
    )
    payment_method_id: str = Field(
        min_length=1, description="pays, or is refunded, the price difference"
    )

    @model_validator(mode="after")
    def _pairs(self) -> _ItemSwap:
        if len(self.item_ids) != len(self.new_item_ids):
            raise ValueError("item_ids and new_item_ids must have the same length")
        return self


class ModifyOrderItems(_ItemSwap):
    """Swap items of a pending order for other variants of the same products (once per order)."""


class ExchangeItems(_ItemSwap):
    """Exchange delivered items for other variants of the same products."""


class ReturnItems(BaseModel):
    order_id: str = Field(min_length=1)
    item_ids: list[str] = Field(min_length=1)
    payment_method_id: str = Field(
        min_length=1, description="the original payment method or one of the customer's gift cards"
    )


# Tasks (shared with the sales half) and customer activities


class TaskCreate(BaseModel):
    """A to-do in the CRM with a due time, e.g. a follow-up with a customer."""

    subject: str = Field(min_length=1, max_length=200)
    description: str = Field(default="", max_length=10_000)
    due_at: dt.datetime = Field(description="timezone-aware")
    related_type: RelatedType = Field(pattern=_SLUG, description="customer, order, opportunity...")
    related_id: str = Field(min_length=1)
    owner: str | None = Field(default=None, description="who should do it; None: a queue")
    priority: Literal["low", "normal", "high"] = "normal"

    @model_validator(mode="after")
    def _aware(self) -> TaskCreate:
        if self.due_at.tzinfo is None:
            raise ValueError("due_at needs a timezone")
        return self


class Task(TaskCreate):
    id: str
    status: Literal["open", "done", "cancelled"]
    created_at: dt.datetime
    closed_at: dt.datetime | None = None
    close_note: str | None = None


class TaskRef(BaseModel):
    task_id: str = Field(min_length=1)


class TaskClose(BaseModel):
    task_id: str = Field(min_length=1)
    note: str = Field(default="", max_length=2000)


class TaskSearch(BaseModel):
    """Tasks about a record, and/or by status, and/or due before a time; soonest due first."""

    related_type: RelatedType | None = None
    related_id: str | None = None
    status: Literal["open", "done", "cancelled"] | None = None
    due_before: dt.datetime | None = None
    limit: int = Field(default=50, ge=1, le=500)


CustomerActivityKind = Literal["email", "chat", "call", "note", "order_change", "account_change"]


class CustomerActivityCreate(BaseModel):
    """Something that happened with a customer, for the account history an agent reviews.

    (The sales half's `Activity` is a deal's calls and meetings; this is the retail side.)
    """

    customer_id: str = Field(min_length=1)
    kind: CustomerActivityKind
    subject: str = Field(min_length=1, max_length=200)
    body: str = Field(default="", max_length=20_000)
    order_id: str | None = None
    ticket_id: str | None = None
    actor: str = Field(default="bpa", description="who did it: an agent, a user, a flow")


class CustomerActivity(CustomerActivityCreate):
    id: str
    occurred_at: dt.datetime


class CustomerActivitySearch(BaseModel):
    """A customer's activities, newest first; optionally only about one order."""

    customer_id: str = Field(min_length=1)
    order_id: str | None = None
    limit: int = Field(default=50, ge=1, le=500)
