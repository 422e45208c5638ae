"""The retail half of the CRM contract: customers, orders, catalogue, tasks and activities."""

from __future__ import annotations

from connectors.base import capability
from connectors.schemas import (
    CancelOrder,
    CatalogueProduct,
    CatalogueProductRef,
    CatalogueProductSummary,
    CatalogueSearch,
    Customer,
    CustomerActivity,
    CustomerActivityCreate,
    CustomerActivitySearch,
    CustomerOrders,
    CustomerRef,
    ExchangeItems,
    FindCustomerByEmail,
    FindCustomerByNameZip,
    ModifyOrderAddress,
    ModifyOrderItems,
    ModifyOrderPayment,
    Order,
    OrderRef,
    ReturnItems,
    Task,
    TaskClose,
    TaskCreate,
    TaskRef,
    TaskSearch,
    UpdateCustomerAddress,
)

__all__ = ["RetailCRMActions"]


class RetailCRMActions:
    """Customers, their orders and the catalogue, changed only as the store's policy allows.

    Optional capabilities (a connector lists those it implements in ``capabilities``):
    ``customers`` (find, read, re-address, activity history), ``orders`` (read, cancel,
    modify, return, exchange), ``catalogue`` (products and variants), ``tasks``.

    Action contracts (every implementation keeps them; the refusal codes are stable):

    - Unknown customer, order, product or task: `NotFound` (codes ``unknown_customer``,
      ``unknown_order``, ``unknown_product``, ``unknown_task``). The ``find_customer_*``
      reads are the authentication step: they return the one matching customer or
      `NotFound`.
    - ``cancel_order`` and every ``modify_order_*`` need status ``pending`` (after an item
      modification the order is ``pending (item modified)`` and no longer qualifies);
      ``return_items`` and ``exchange_items`` need ``delivered``. Otherwise `Rejected`,
      code ``invalid_status``.
    - Cancelling refunds every payment to its method (gift cards at once) and records the
      reason. Returns and exchanges only record the request (status ``return requested`` /
      ``exchange requested``); the money moves when the items come back.
    - A payment method must be the order's customer's (`Rejected`, ``unknown_payment_method``).
      A gift card must cover what it pays (``insufficient_balance``). A new payment method
      must differ from the current one (``same_payment_method``), and only an order with
      exactly one payment can change it (``payment_already_changed``). A refund for a
      return goes to the original method or a gift card (``refund_method_not_allowed``).
    - Items to change must be in the order, as many times as listed (``unknown_item``);
      each new item must be an available variant of the same product (``not_same_product``,
      ``variant_unavailable``). Listing an item with its own id keeps it as it is.
    - Every change declares its undo (see `connectors.undo`): ``create_task`` is undone by
      cancelling or deleting the task, an address change by setting the old address
      again, or by restoring the record. Closing a closed task is
      `Rejected` ``invalid_status``. Customer activities are append-only; every order or
      address change above also logs one (kind ``order_change`` / ``account_change``).
    """

    # Reads

    @capability("customers")
    async def find_customer_by_email(self, request: FindCustomerByEmail) -> Customer:
        raise NotImplementedError  # replaced by @capability

    @capability("customers")
    async def find_customer_by_name_zip(self, request: FindCustomerByNameZip) -> Customer:
        raise NotImplementedError  # replaced by @capability

    @capability("customers")
    async def get_customer(self, request: CustomerRef) -> Customer:
        raise NotImplementedError  # replaced by @capability

    @capability("orders")
    async def get_order(self, request: OrderRef) -> Order:
        raise NotImplementedError  # replaced by @capability

    @capability("orders")
    async def list_customer_orders(self, request: CustomerOrders) -> list[Order]:
        raise NotImplementedError  # replaced by @capability

    @capability("catalogue")
    async def get_catalogue_product(self, request: CatalogueProductRef) -> CatalogueProduct:
        raise NotImplementedError  # replaced by @capability

    @capability("catalogue")
    async def list_catalogue_products(
        self, request: CatalogueSearch
    ) -> list[CatalogueProductSummary]:
        raise NotImplementedError  # replaced by @capability

    @capability("tasks")
    async def get_task(self, request: TaskRef) -> Task:
        raise NotImplementedError  # replaced by @capability

    @capability("tasks")
    async def list_tasks(self, request: TaskSearch) -> list[Task]:
        raise NotImplementedError  # replaced by @capability

    @capability("customers")
    async def list_customer_activities(
        self, request: CustomerActivitySearch
    ) -> list[CustomerActivity]:
        raise NotImplementedError  # replaced by @capability

    # Writes (called with idempotency_key=...)

    @capability("orders")
    async def cancel_order(self, request: CancelOrder, *, idempotency_key: str) -> Order:
        raise NotImplementedError  # replaced by @capability

    @capability("orders")
    async def modify_order_address(
        self, request: ModifyOrderAddress, *, idempotency_key: str
    ) -> Order:
        raise NotImplementedError  # replaced by @capability

    @capability("orders")
    async def modify_order_items(self, request: ModifyOrderItems, *, idempotency_key: str) -> Order:
        raise NotImplementedError  # replaced by @capability

    @capability("orders")
    async def modify_order_payment(
        self, request: ModifyOrderPayment, *, idempotency_key: str
    ) -> Order:
        raise NotImplementedError  # replaced by @capability

    @capability("orders")
    async def return_items(self, request: ReturnItems, *, idempotency_key: str) -> Order:
        raise NotImplementedError  # replaced by @capability

    @capability("orders")
    async def exchange_items(self, request: ExchangeItems, *, idempotency_key: str) -> Order:
        raise NotImplementedError  # replaced by @capability

    @capability("customers")
    async def update_customer_address(
        self, request: UpdateCustomerAddress, *, idempotency_key: str
    ) -> Customer:
        raise NotImplementedError  # replaced by @capability

    @capability("tasks")
    async def create_task(self, request: TaskCreate, *, idempotency_key: str) -> Task:
        raise NotImplementedError  # replaced by @capability

    @capability("tasks")
    async def complete_task(self, request: TaskClose, *, idempotency_key: str) -> Task:
        raise NotImplementedError  # replaced by @capability

    @capability("tasks")
    async def cancel_task(self, request: TaskClose, *, idempotency_key: str) -> Task:
        raise NotImplementedError  # replaced by @capability

    @capability("customers")
    async def log_customer_activity(
        self, request: CustomerActivityCreate, *, idempotency_key: str
    ) -> CustomerActivity:
        raise NotImplementedError  # replaced by @capability
