"""The order half of the retail CRM suite: cancel, modify, return and exchange under the policy.

Mixed into `RetailCRMConnectorTests`; kept apart only to keep each module short.
"""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from typing import Any, ClassVar

import pytest
from pydantic import BaseModel

from connectors.base import Irreversible
from connectors.errors import NotFound, Rejected
from connectors.schemas import (
    Address,
    CancelOrder,
    CatalogueProductRef,
    CatalogueSearch,
    Customer,
    CustomerOrders,
    CustomerRef,
    ExchangeItems,
    ModifyOrderAddress,
    ModifyOrderItems,
    ModifyOrderPayment,
    Order,
    OrderItem,
    OrderRef,
    OrderStatus,
    ProductVariant,
    ReturnItems,
)
from connectors.testing.suite import ConnectorTests, new_key, undo_call

__all__ = ["RetailOrderTests", "Want", "address"]

_asyncio = pytest.mark.asyncio
Want = Callable[[Customer, Order], bool]


def address(tag: str) -> Address:
    return Address(
        address1=f"{tag} Conformance Street",
        address2="Suite 1",
        city="Testville",
        state="TX",
        country="USA",
        zip="73301",
    )


class RetailOrderTests(ConnectorTests):
    """Finds orders to act on among ``customer_ids`` and checks the policy's order rules."""

    #: Customers whose orders the suite may read and change.
    customer_ids: ClassVar[list[str]] = []
    unknown_id: ClassVar[str] = "no-such-record-4b7e1f"

    # Finding data to act on

    async def _pick(self, connector: Any, what: str, want: Want) -> tuple[Customer, Order]:
        if not self.customer_ids:
            pytest.fail(f"{type(self).__name__} must set `customer_ids`")
        for customer_id in self.customer_ids:
            customer = await connector.get_customer(CustomerRef(customer_id=customer_id))
            for order in await connector.list_customer_orders(
                CustomerOrders(customer_id=customer_id)
            ):
                if want(customer, order):
                    return customer, order
        pytest.fail(f"none of `customer_ids` has {what}")

    async def _swap(
        self, connector: Any, status: OrderStatus
    ) -> tuple[Customer, Order, OrderItem, ProductVariant]:
        """An order in `status` with an item that has another available variant."""

        async def other_variant(order: Order) -> tuple[OrderItem, ProductVariant] | None:
            for item in order.items:
                product = await connector.get_catalogue_product(
                    CatalogueProductRef(product_id=item.product_id)
                )
                for variant in product.variants:
                    if variant.available and variant.item_id != item.item_id:
                        return item, variant
            return None

        for customer_id in self.customer_ids:
            customer = await connector.get_customer(CustomerRef(customer_id=customer_id))
            orders = await connector.list_customer_orders(
                CustomerOrders(customer_id=customer_id, statuses=[status])
            )
            for order in orders:
                pair = await other_variant(order)
                if pair is not None:
                    return customer, order, *pair
        pytest.fail(f"no {status} order of `customer_ids` has an item with another variant")

    @staticmethod
    def _not_paid_with(customer: Customer, order: Order, source: str | None = None) -> str | None:
        return next(
            (
                m.id
                for m in customer.payment_methods
                if m.id != order.paid_with and (source is None or m.source == source)
            ),
            None,
        )

    async def _refused(self, call: Any, request: BaseModel | dict[str, Any], code: str) -> Rejected:
        with pytest.raises(Rejected) as refused:
            await call(request, idempotency_key=new_key())
        assert refused.value.code == code, refused.value.message
        return refused.value

    # Cancel

    @_asyncio
    async def test_cancelling_a_pending_order_refunds_it_once(self, connector: Any) -> None:
        customer, order = await self._pick(
            connector, "a pending order", lambda c, o: o.status == "pending"
        )
        request, key = CancelOrder(order_id=order.id, reason="ordered by mistake"), new_key()
        cancelled = await connector.cancel_order(request, idempotency_key=key)
        assert cancelled.status == "cancelled" and cancelled.cancel_reason == "ordered by mistake"
        new = cancelled.payment_history[len(order.payment_history) :]
        paid = sum(
            (p.amount if p.transaction_type == "payment" else -p.amount)
            for p in order.payment_history
        )
        assert all(p.transaction_type == "refund" for p in new)
        assert sum((p.amount for p in new), Decimal(0)) == paid
        assert await connector.cancel_order(request, idempotency_key=key) == cancelled
        assert await connector.get_order(OrderRef(order_id=order.id)) == cancelled
        await self._refused(connector.cancel_order, request, "invalid_status")
        after = await connector.get_customer(CustomerRef(customer_id=customer.id))
        for method in customer.payment_methods:
            if method.source == "gift_card":
                back = sum((p.amount for p in new if p.payment_method_id == method.id), Decimal(0))
                now = after.payment_method(method.id)
                assert now is not None and now.balance == (method.balance or 0) + back

    @_asyncio
    async def test_only_pending_orders_cancel_and_only_for_a_policy_reason(
        self, connector: Any
    ) -> None:
        _c, delivered = await self._pick(
            connector, "a delivered order", lambda c, o: o.status == "delivered"
        )
        request = CancelOrder(order_id=delivered.id, reason="no longer needed")
        await self._refused(connector.cancel_order, request, "invalid_status")
        assert await connector.get_order(OrderRef(order_id=delivered.id)) == delivered
        _c, pending = await self._pick(
            connector, "a pending order", lambda c, o: o.status == "pending"
        )
        bad_reason = {"order_id": pending.id, "reason": "found it cheaper"}
        await self._refused(connector.cancel_order, bad_reason, "invalid_request")
        with pytest.raises(NotFound):
            await connector.cancel_order(
                CancelOrder(order_id=self.unknown_id, reason="no longer needed"),
                idempotency_key=new_key(),
            )

    # Modify

    @_asyncio
    async def test_the_shipping_address_change_is_undone_by_the_same_action(
        self, connector: Any
    ) -> None:
        _c, order = await self._pick(
            connector, "a pending order", lambda c, o: o.status == "pending"
        )
        changed = await connector.modify_order_address(
            ModifyOrderAddress(order_id=order.id, address=address("1")),
            idempotency_key=new_key(),
        )
        assert changed.address == address("1") and changed.status == "pending"
        undone = await connector.modify_order_address(
            ModifyOrderAddress(order_id=order.id, address=order.address),
            idempotency_key=new_key(),
        )
        assert undone.address == order.address
        _c, delivered = await self._pick(
            connector, "a delivered order", lambda c, o: o.status == "delivered"
        )
        request = ModifyOrderAddress(order_id=delivered.id, address=address("2"))
        await self._refused(connector.modify_order_address, request, "invalid_status")

    @_asyncio
    async def test_the_declared_undos_restore_a_readdressed_or_cancelled_order(
        self, connector: Any
    ) -> None:
        _c, order = await self._pick(
            connector, "a pending order", lambda c, o: o.status == "pending"
        )
        moved = ModifyOrderAddress(order_id=order.id, address=address("5"))
        key = new_key()
        changed = await connector.modify_order_address(moved, idempotency_key=key)
        await undo_call(connector, "modify_order_address", moved, changed, key)
        assert await connector.get_order(OrderRef(order_id=order.id)) == order
        cancel = CancelOrder(order_id=order.id, reason="ordered by mistake")
        key = new_key()
        cancelled = await connector.cancel_order(cancel, idempotency_key=key)
        undone = await undo_call(connector, "cancel_order", cancel, cancelled, key)
        if not isinstance(undone, Irreversible):  # a CRM may refuse to reinstate orders
            assert await connector.get_order(OrderRef(order_id=order.id)) == order

    @_asyncio
    async def test_items_change_once_to_another_variant_of_the_same_product(
        self, connector: Any
    ) -> None:
        customer, order, item, variant = await self._swap(connector, "pending")
        method = order.paid_with or customer.payment_methods[0].id
        if customer.payment_method(method) is None:
            method = customer.payment_methods[0].id
        payer = customer.payment_method(method)
        assert payer is not None
        difference = variant.price - item.price
        if payer.source == "gift_card" and (payer.balance or 0) < difference:
            pytest.skip("the customer's gift card cannot pay the difference")
        request = ModifyOrderItems(
            order_id=order.id,
            item_ids=[item.item_id],
            new_item_ids=[variant.item_id],
            payment_method_id=method,
        )
        changed = await connector.modify_order_items(request, idempotency_key=new_key())
        assert changed.status == "pending (item modified)"
        assert variant.item_id in [i.item_id for i in changed.items]
        assert changed.total == order.total + difference
        if difference:
            last = changed.payment_history[-1]
            assert last.amount == abs(difference) and last.payment_method_id == method
            assert last.transaction_type == ("payment" if difference > 0 else "refund")
        back = ModifyOrderItems(
            order_id=order.id,
            item_ids=[variant.item_id],
            new_item_ids=[item.item_id],
            payment_method_id=method,
        )
        await self._refused(connector.modify_order_items, back, "invalid_status")
        await self._refused(
            connector.cancel_order,
            CancelOrder(order_id=order.id, reason="no longer needed"),
            "invalid_status",
        )

    @_asyncio
    async def test_item_changes_outside_the_product_or_the_order_are_refused(
        self, connector: Any
    ) -> None:
        customer, order, item, variant = await self._swap(connector, "pending")
        method = customer.payment_methods[0].id
        products = await connector.list_catalogue_products(CatalogueSearch())
        other = next(p for p in products if p.id != item.product_id)
        other_variant = (
            await connector.get_catalogue_product(CatalogueProductRef(product_id=other.id))
        ).variants[0]

        def swap(old: str, new: str) -> ModifyOrderItems:
            return ModifyOrderItems(
                order_id=order.id, item_ids=[old], new_item_ids=[new], payment_method_id=method
            )

        await self._refused(
            connector.modify_order_items,
            swap(item.item_id, other_variant.item_id),
            "not_same_product",
        )
        await self._refused(
            connector.modify_order_items, swap(self.unknown_id, variant.item_id), "unknown_item"
        )
        twice = ModifyOrderItems(
            order_id=order.id,
            item_ids=[item.item_id] * (1 + sum(i.item_id == item.item_id for i in order.items)),
            new_item_ids=[variant.item_id]
            * (1 + sum(i.item_id == item.item_id for i in order.items)),
            payment_method_id=method,
        )
        await self._refused(connector.modify_order_items, twice, "unknown_item")
        assert await connector.get_order(OrderRef(order_id=order.id)) == order

    @_asyncio
    async def test_the_payment_method_changes_once_to_another_of_the_customers(
        self, connector: Any
    ) -> None:
        def eligible(customer: Customer, order: Order) -> bool:
            other = self._not_paid_with(customer, order)
            method = customer.payment_method(other) if other else None
            return (
                order.status == "pending"
                and len(order.payment_history) == 1
                and method is not None
                and (method.source != "gift_card" or (method.balance or 0) >= order.total)
            )

        customer, order = await self._pick(
            connector, "a pending order and a second payment method", eligible
        )
        new_method = self._not_paid_with(customer, order)
        assert new_method and order.paid_with
        await self._refused(
            connector.modify_order_payment,
            ModifyOrderPayment(order_id=order.id, payment_method_id=order.paid_with),
            "same_payment_method",
        )
        changed = await connector.modify_order_payment(
            ModifyOrderPayment(order_id=order.id, payment_method_id=new_method),
            idempotency_key=new_key(),
        )
        amount = order.payment_history[0].amount
        assert [
            (p.transaction_type, p.amount, p.payment_method_id) for p in changed.payment_history[1:]
        ] == [
            ("payment", amount, new_method),
            ("refund", amount, order.paid_with),
        ]
        assert changed.status == "pending"
        await self._refused(
            connector.modify_order_payment,
            ModifyOrderPayment(order_id=order.id, payment_method_id=order.paid_with),
            "payment_already_changed",
        )

    @_asyncio
    async def test_another_customers_payment_method_is_refused(self, connector: Any) -> None:
        _c, order = await self._pick(
            connector, "a pending order", lambda c, o: o.status == "pending"
        )
        stranger = None
        for customer_id in self.customer_ids:
            other = await connector.get_customer(CustomerRef(customer_id=customer_id))
            if other.id != order.customer_id and other.payment_methods:
                stranger = other.payment_methods[0].id
                break
        if stranger is None:
            pytest.fail("`customer_ids` needs two customers with payment methods")
        await self._refused(
            connector.modify_order_payment,
            ModifyOrderPayment(order_id=order.id, payment_method_id=stranger),
            "unknown_payment_method",
        )

    # Return and exchange

    @_asyncio
    async def test_a_return_refunds_to_the_original_method_or_a_gift_card_only(
        self, connector: Any
    ) -> None:
        def eligible(customer: Customer, order: Order) -> bool:
            other = self._not_paid_with(customer, order)
            method = customer.payment_method(other) if other else None
            return (
                order.status == "delivered"
                and method is not None
                and (method.source != "gift_card")
            )

        customer, order = await self._pick(
            connector, "a delivered order and a second, non-gift-card method", eligible
        )
        items = [order.items[0].item_id]
        other = self._not_paid_with(customer, order)
        assert other and order.paid_with
        await self._refused(
            connector.return_items,
            ReturnItems(order_id=order.id, item_ids=items, payment_method_id=other),
            "refund_method_not_allowed",
        )
        returned = await connector.return_items(
            ReturnItems(order_id=order.id, item_ids=items, payment_method_id=order.paid_with),
            idempotency_key=new_key(),
        )
        assert returned.status == "return requested"
        assert returned.return_request is not None
        assert returned.return_request.item_ids == items
        assert returned.payment_history == order.payment_history, "money moves on receipt"

    @_asyncio
    async def test_exchange_and_return_need_a_delivered_order(self, connector: Any) -> None:
        customer, order, item, variant = await self._swap(connector, "pending")
        method = customer.payment_methods[0].id
        await self._refused(
            connector.return_items,
            ReturnItems(order_id=order.id, item_ids=[item.item_id], payment_method_id=method),
            "invalid_status",
        )
        await self._refused(
            connector.exchange_items,
            ExchangeItems(
                order_id=order.id,
                item_ids=[item.item_id],
                new_item_ids=[variant.item_id],
                payment_method_id=method,
            ),
            "invalid_status",
        )

    @_asyncio
    async def test_an_exchange_records_the_new_items_and_the_difference(
        self, connector: Any
    ) -> None:
        customer, order, item, variant = await self._swap(connector, "delivered")
        method = order.paid_with if customer.payment_method(order.paid_with or "") else None
        method = method or customer.payment_methods[0].id
        payer = customer.payment_method(method)
        assert payer is not None
        if payer.source == "gift_card" and (payer.balance or 0) < variant.price - item.price:
            pytest.skip("the customer's gift card cannot pay the difference")
        exchanged = await connector.exchange_items(
            ExchangeItems(
                order_id=order.id,
                item_ids=[item.item_id],
                new_item_ids=[variant.item_id],
                payment_method_id=method,
            ),
            idempotency_key=new_key(),
        )
        assert exchanged.status == "exchange requested"
        request = exchanged.exchange_request
        assert request is not None
        assert (request.item_ids, request.new_item_ids) == ([item.item_id], [variant.item_id])
        assert request.price_difference == variant.price - item.price
        assert exchanged.items == order.items, "the items change when the new ones ship"
