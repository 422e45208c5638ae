"""The behaviour every CRM's retail half shows, mocked or real (see `RetailCRMActions`).

The retail contract cannot create customers or orders, so the suite finds what it needs
among the orders of ``customer_ids``: a pending order, a delivered one, a customer with a
gift card... and fails with a message saying what is missing. It changes those orders
(cancels, returns), so run it on a sandbox that is reset between runs, or on a fresh copy
per test as the mock's tests do.
"""

from __future__ import annotations

import datetime as dt
import uuid
from decimal import Decimal
from typing import Any

import pytest

from connectors.base import Irreversible
from connectors.errors import NotFound
from connectors.kinds.crm_retail import RetailCRMActions
from connectors.schemas import (
    CatalogueProductRef,
    CatalogueSearch,
    CustomerActivityCreate,
    CustomerActivitySearch,
    CustomerOrders,
    CustomerRef,
    FindCustomerByEmail,
    FindCustomerByNameZip,
    ModifyOrderAddress,
    OrderRef,
    TaskClose,
    TaskCreate,
    TaskRef,
    TaskSearch,
    UpdateCustomerAddress,
)
from connectors.testing._crm_retail_orders import RetailOrderTests, address
from connectors.testing.suite import new_key, undo_call

__all__ = ["RetailCRMConnectorTests"]

_asyncio = pytest.mark.asyncio
_READS = (
    "find_customer_by_email",
    "find_customer_by_name_zip",
    "get_customer",
    "get_order",
    "list_customer_orders",
    "get_catalogue_product",
    "list_catalogue_products",
    "get_task",
    "list_tasks",
    "list_customer_activities",
)


class RetailCRMConnectorTests(RetailOrderTests):
    """Authentication, reads, policy refusals and compensations of a CRM's retail half."""

    # Declaration

    def test_is_a_retail_crm_with_its_compensations(self) -> None:
        assert issubclass(self.connector_class, RetailCRMActions)
        specs = self.connector_class.action_specs()
        assert not any(specs[name].side_effect for name in _READS)
        for name in ("modify_order_address", "update_customer_address", "create_task"):
            assert not isinstance(specs[name].undo, Irreversible), f"{name} can be undone"

    # Authentication and reads

    @_asyncio
    async def test_finds_a_customer_by_email_or_name_and_zip(self, connector: Any) -> None:
        customer = await connector.get_customer(CustomerRef(customer_id=self.customer_ids[0]))
        by_email = await connector.find_customer_by_email(
            FindCustomerByEmail(email=f"  {customer.email.upper()} ")
        )
        by_name = await connector.find_customer_by_name_zip(
            FindCustomerByNameZip(
                first_name=customer.first_name.lower(),
                last_name=customer.last_name,
                zip=customer.address.zip,
            )
        )
        assert by_email == by_name == customer

    @_asyncio
    async def test_authentication_needs_every_detail_to_match(self, connector: Any) -> None:
        customer = await connector.get_customer(CustomerRef(customer_id=self.customer_ids[0]))
        with pytest.raises(NotFound):
            await connector.find_customer_by_email(FindCustomerByEmail(email=f"x{customer.email}"))
        wrong_zip = "00000" if customer.address.zip != "00000" else "99999"
        with pytest.raises(NotFound):
            await connector.find_customer_by_name_zip(
                FindCustomerByNameZip(
                    first_name=customer.first_name, last_name=customer.last_name, zip=wrong_zip
                )
            )
        with pytest.raises(NotFound):
            await connector.get_customer(CustomerRef(customer_id=self.unknown_id))

    @_asyncio
    async def test_orders_read_as_the_customer_lists_them(self, connector: Any) -> None:
        customer = await connector.get_customer(CustomerRef(customer_id=self.customer_ids[0]))
        orders = await connector.list_customer_orders(CustomerOrders(customer_id=customer.id))
        assert [o.id for o in orders] == customer.order_ids
        for order in orders:
            assert order.customer_id == customer.id
            assert await connector.get_order(OrderRef(order_id=order.id)) == order
            assert order.total == sum((i.price for i in order.items), Decimal(0))
        if orders:
            status = orders[0].status
            only = await connector.list_customer_orders(
                CustomerOrders(customer_id=customer.id, statuses=[status])
            )
            assert only and all(o.status == status for o in only)
        with pytest.raises(NotFound):
            await connector.get_order(OrderRef(order_id=self.unknown_id))

    @_asyncio
    async def test_the_catalogue_has_the_ordered_products(self, connector: Any) -> None:
        _customer, order = await self._pick(connector, "an order", lambda c, o: bool(o.items))
        item = order.items[0]
        product = await connector.get_catalogue_product(
            CatalogueProductRef(product_id=item.product_id)
        )
        assert product.name == item.name
        assert all(v.product_id == product.id for v in product.variants)
        listed = await connector.list_catalogue_products(CatalogueSearch(name=item.name.upper()))
        assert product.id in [p.id for p in listed]
        with pytest.raises(NotFound):
            await connector.get_catalogue_product(CatalogueProductRef(product_id=self.unknown_id))

    # Customer, tasks, history

    @_asyncio
    async def test_the_default_address_change_is_undone_by_the_same_action(
        self, connector: Any
    ) -> None:
        customer = await connector.get_customer(CustomerRef(customer_id=self.customer_ids[0]))
        changed = await connector.update_customer_address(
            UpdateCustomerAddress(customer_id=customer.id, address=address("3")),
            idempotency_key=new_key(),
        )
        assert changed.address == address("3")
        assert changed.order_ids == customer.order_ids
        restored = await connector.update_customer_address(
            UpdateCustomerAddress(customer_id=customer.id, address=customer.address),
            idempotency_key=new_key(),
        )
        assert restored == customer

    @_asyncio
    async def test_a_task_is_created_listed_and_cancelled_once(self, connector: Any) -> None:
        related = f"conformance-{uuid.uuid4().hex[:8]}"
        due = dt.datetime.now(dt.UTC).replace(microsecond=0) + dt.timedelta(days=2)
        request = TaskCreate(
            subject="Follow up", due_at=due, related_type="order", related_id=related
        )
        key = new_key()
        task = await connector.create_task(request, idempotency_key=key)
        assert (task.status, task.due_at, task.related_id) == ("open", due, related)
        assert await connector.create_task(request, idempotency_key=key) == task
        listed = await connector.list_tasks(TaskSearch(related_type="order", related_id=related))
        assert [t.id for t in listed] == [task.id]
        assert await connector.get_task(TaskRef(task_id=task.id)) == task
        cancelled = await connector.cancel_task(
            TaskClose(task_id=task.id, note="conformance"), idempotency_key=new_key()
        )
        assert cancelled.status == "cancelled"
        await self._refused(connector.complete_task, TaskClose(task_id=task.id), "invalid_status")
        naive = request.model_dump() | {"due_at": due.replace(tzinfo=None)}
        await self._refused(connector.create_task, naive, "invalid_request")

    @_asyncio
    async def test_a_created_task_is_undone_by_its_declared_undo(self, connector: Any) -> None:
        due = dt.datetime.now(dt.UTC).replace(microsecond=0) + dt.timedelta(days=2)
        related = f"conformance-{uuid.uuid4().hex[:8]}"
        request = TaskCreate(
            subject="Undo me", due_at=due, related_type="order", related_id=related
        )
        key = new_key()
        task = await connector.create_task(request, idempotency_key=key)
        await undo_call(connector, "create_task", request, task, key)
        open_ = await connector.list_tasks(TaskSearch(related_id=related, status="open"))
        assert open_ == [], "an undone task is cancelled or gone"

    @_asyncio
    async def test_the_declared_undo_restores_a_default_address(self, connector: Any) -> None:
        customer = await connector.get_customer(CustomerRef(customer_id=self.customer_ids[0]))
        request = UpdateCustomerAddress(customer_id=customer.id, address=address("4"))
        key = new_key()
        changed = await connector.update_customer_address(request, idempotency_key=key)
        await undo_call(connector, "update_customer_address", request, changed, key)
        assert await connector.get_customer(CustomerRef(customer_id=customer.id)) == customer

    @_asyncio
    async def test_open_tasks_due_soon_come_first(self, connector: Any) -> None:
        related = f"conformance-{uuid.uuid4().hex[:8]}"
        now = dt.datetime.now(dt.UTC).replace(microsecond=0)
        created = []
        for days in (3, 1, 2):
            created.append(
                await connector.create_task(
                    TaskCreate(
                        subject=f"in {days} days",
                        due_at=now + dt.timedelta(days=days),
                        related_type="customer",
                        related_id=related,
                    ),
                    idempotency_key=new_key(),
                )
            )
        await connector.complete_task(TaskClose(task_id=created[1].id), idempotency_key=new_key())
        soon = await connector.list_tasks(
            TaskSearch(
                related_id=related, status="open", due_before=now + dt.timedelta(days=2, hours=1)
            )
        )
        assert [t.subject for t in soon] == ["in 2 days"]
        everything = await connector.list_tasks(TaskSearch(related_id=related))
        assert [t.subject for t in everything] == ["in 1 days", "in 2 days", "in 3 days"]

    @_asyncio
    async def test_changes_and_messages_appear_in_the_customers_history(
        self, connector: Any
    ) -> None:
        _c, order = await self._pick(
            connector, "a pending order", lambda c, o: o.status == "pending"
        )
        await connector.modify_order_address(
            ModifyOrderAddress(order_id=order.id, address=address("4")),
            idempotency_key=new_key(),
        )
        logged = await connector.log_customer_activity(
            CustomerActivityCreate(
                customer_id=order.customer_id,
                kind="email",
                subject="Replied about the address",
                order_id=order.id,
            ),
            idempotency_key=new_key(),
        )
        history = await connector.list_customer_activities(
            CustomerActivitySearch(customer_id=order.customer_id, order_id=order.id)
        )
        assert history[0] == logged
        assert any(a.kind == "order_change" and order.id in a.subject for a in history[1:])
