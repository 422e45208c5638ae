"""Rolling back each built-in side effect of the CRM (retail orders, customers, tasks and the
sales pipeline), with its tables compared before and after (see rollback_kit.py for what
the comparison leaves out) and every rollback's promises checked (test_rollback.py).

An order or an address change is undone by restoring the record from the CRM's own change
history, which both keep (``crm_changes``), and the customer's history shows the change and
its undoing (``crm_customer_activities``, append-only): those rows are the only ones left.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from rollback_kit import Acting, Diff, rollback_settings, seeded_home, snapshot
from sqlalchemy import text
from test_rollback import outcomes, rolled_back_cleanly

from bpa.config import Settings
from bpa.suite import Suite
from connectors.schemas import (
    Address,
    CancelOrder,
    CatalogueProductRef,
    CustomerActivityCreate,
    CustomerRef,
    ExchangeItems,
    ModifyOrderAddress,
    ModifyOrderItems,
    ModifyOrderPayment,
    NextStepChangeRef,
    NextStepUpdate,
    Order,
    OrderRef,
    ReturnItems,
    TaskClose,
    TaskCreate,
    TaskRef,
    UpdateCustomerAddress,
)

__all__ = ["rollback_settings", "seeded_home"]  # fixtures, re-exported for pytest

ELSEWHERE = Address(
    address1="1 Elsewhere Road", city="Austin", state="TX", country="USA", zip="73301"
)
#: A customer of the fixtures (tau-bench's retail users).
CUSTOMER = "juan_garcia_9528"


def order_ids(suite: Suite, status: str, paid_with: str = "") -> list[str]:
    """Orders in `status` with one payment (by a method whose id starts with `paid_with`)."""
    query = text(
        "SELECT o.id FROM crm_orders o JOIN crm_order_payments p ON p.order_id = o.id "
        "WHERE o.status = :status GROUP BY o.id "
        "HAVING count(*) = 1 AND max(p.payment_method_id) LIKE :paid ORDER BY o.id"
    )
    with suite.engine.connect() as conn:
        return [r[0] for r in conn.execute(query, {"status": status, "paid": f"{paid_with}%"})]


async def a_swap(suite: Suite, status: str) -> tuple[Order, str, str, str]:
    """An order in `status` paid by gift card, one of its items, a cheaper available variant
    of the same product (the difference is refunded to the gift card), and the card."""
    crm = suite.connectors["crm"]
    for order_id in order_ids(suite, status, "gift_card"):
        order: Order = await crm.get_order(OrderRef(order_id=order_id))  # type: ignore[attr-defined]
        for item in order.items:
            product = await crm.get_catalogue_product(  # type: ignore[attr-defined]
                CatalogueProductRef(product_id=item.product_id)
            )
            for variant in product.variants:
                if variant.available and variant.price < item.price:
                    assert order.paid_with is not None
                    return order, item.item_id, variant.item_id, order.paid_with
    raise AssertionError(f"the fixtures have no {status} order with a cheaper variant")


def order_residue(changes: Diff) -> None:
    """What restoring an order leaves: its change in the history, and two entries in the
    customer's history (the change, and its undoing); nothing else added, changed or gone."""
    assert changes.removed == changes.changed == {}, (changes.removed, changes.changed)
    assert changes.counts() == {"crm_changes": 1, "crm_customer_activities": 2}
    assert changes.added["crm_changes"][0]["restored_at"] is not None
    subjects = sorted(a["subject"] for a in changes.added["crm_customer_activities"])
    assert any("undone, order restored" in s for s in subjects), subjects


async def test_a_cancelled_order_is_restored_and_its_refund_taken_back(
    rollback_settings: Settings,
) -> None:
    async with Suite.open(rollback_settings, preload_flows=False) as suite:
        order_id = order_ids(suite, "pending", "gift_card")[0]
        run = Acting(suite)
        before = snapshot(suite.engine)
        cancelled = await run.crm.cancel_order(
            CancelOrder(order_id=order_id, reason="no longer needed"), idempotency_key=run.key("c")
        )
        assert cancelled.payment_history[-1].transaction_type == "refund"
        report, changes = await rolled_back_cleanly(suite, run, before)
    assert outcomes(report) == [("cancel_order", "undone")]
    order_residue(changes)  # the refund row is gone and the gift card's balance is as it was


async def test_a_shipping_address_change_is_restored(rollback_settings: Settings) -> None:
    async with Suite.open(rollback_settings, preload_flows=False) as suite:
        order_id = order_ids(suite, "pending")[0]
        run = Acting(suite)
        before = snapshot(suite.engine)
        await run.crm.modify_order_address(
            ModifyOrderAddress(order_id=order_id, address=ELSEWHERE), idempotency_key=run.key("a")
        )
        report, changes = await rolled_back_cleanly(suite, run, before)
    assert outcomes(report) == [("modify_order_address", "undone")]
    order_residue(changes)


async def test_modified_items_are_restored_with_their_price_difference(
    rollback_settings: Settings,
) -> None:
    async with Suite.open(rollback_settings, preload_flows=False) as suite:
        order, item, cheaper, card = await a_swap(suite, "pending")
        run = Acting(suite)
        before = snapshot(suite.engine)
        request = ModifyOrderItems(
            order_id=order.id, item_ids=[item], new_item_ids=[cheaper], payment_method_id=card
        )
        modified = await run.crm.modify_order_items(request, idempotency_key=run.key("i"))
        assert modified.status == "pending (item modified)"
        report, changes = await rolled_back_cleanly(suite, run, before)
    assert outcomes(report) == [("modify_order_items", "undone")]
    order_residue(changes)


async def test_a_payment_method_change_is_restored(rollback_settings: Settings) -> None:
    async with Suite.open(rollback_settings, preload_flows=False) as suite:
        crm = suite.connectors["crm"]
        for order_id in order_ids(suite, "pending", "gift_card"):
            order = await crm.get_order(OrderRef(order_id=order_id))  # type: ignore[attr-defined]
            customer = await crm.get_customer(CustomerRef(customer_id=order.customer_id))  # type: ignore[attr-defined]
            other = [m.id for m in customer.payment_methods if m.source != "gift_card"]
            if other:
                break
        run = Acting(suite)
        before = snapshot(suite.engine)
        await run.crm.modify_order_payment(
            ModifyOrderPayment(order_id=order_id, payment_method_id=other[0]),
            idempotency_key=run.key("p"),
        )
        report, changes = await rolled_back_cleanly(suite, run, before)
    assert outcomes(report) == [("modify_order_payment", "undone")]
    order_residue(changes)  # the gift card that was refunded is charged again


async def test_a_return_request_is_withdrawn(rollback_settings: Settings) -> None:
    async with Suite.open(rollback_settings, preload_flows=False) as suite:
        order = await suite.connectors["crm"].get_order(  # type: ignore[attr-defined]
            OrderRef(order_id=order_ids(suite, "delivered")[0])
        )
        run = Acting(suite)
        before = snapshot(suite.engine)
        request = ReturnItems(
            order_id=order.id, item_ids=[order.items[0].item_id], payment_method_id=order.paid_with
        )
        await run.crm.return_items(request, idempotency_key=run.key("r"))
        report, changes = await rolled_back_cleanly(suite, run, before)
    assert outcomes(report) == [("return_items", "undone")]
    order_residue(changes)


async def test_an_exchange_request_is_withdrawn(rollback_settings: Settings) -> None:
    async with Suite.open(rollback_settings, preload_flows=False) as suite:
        order, item, cheaper, card = await a_swap(suite, "delivered")
        run = Acting(suite)
        before = snapshot(suite.engine)
        request = ExchangeItems(
            order_id=order.id, item_ids=[item], new_item_ids=[cheaper], payment_method_id=card
        )
        await run.crm.exchange_items(request, idempotency_key=run.key("x"))
        report, changes = await rolled_back_cleanly(suite, run, before)
    assert outcomes(report) == [("exchange_items", "undone")]
    order_residue(changes)


async def test_a_default_address_change_is_restored(rollback_settings: Settings) -> None:
    async with Suite.open(rollback_settings, preload_flows=False) as suite:
        customer_id = CUSTOMER
        run = Acting(suite)
        before = snapshot(suite.engine)
        await run.crm.update_customer_address(
            UpdateCustomerAddress(customer_id=customer_id, address=ELSEWHERE),
            idempotency_key=run.key("c"),
        )
        report, changes = await rolled_back_cleanly(suite, run, before)
    assert outcomes(report) == [("update_customer_address", "undone")]
    assert changes.removed == changes.changed == {}
    assert changes.counts() == {"crm_changes": 1, "crm_customer_activities": 2}


def task_request(related_id: str = "T-1") -> TaskCreate:
    due = dt.datetime(2031, 3, 12, 9, tzinfo=dt.UTC)
    return TaskCreate(subject="Call back", due_at=due, related_type="ticket", related_id=related_id)


async def test_a_created_task_is_deleted(rollback_settings: Settings) -> None:
    async with Suite.open(rollback_settings, preload_flows=False) as suite:
        run = Acting(suite)
        before = snapshot(suite.engine)
        await run.crm.create_task(task_request(), idempotency_key=run.key("t"))
        report, changes = await rolled_back_cleanly(suite, run, before)
    assert outcomes(report) == [("create_task", "undone")]
    assert changes == Diff(), "exactly as before"


async def test_a_next_step_is_put_back(rollback_settings: Settings) -> None:
    async with Suite.open(rollback_settings, preload_flows=False) as suite:
        run = Acting(suite)
        before = snapshot(suite.engine)
        await run.crm.update_opportunity_next_step(
            NextStepUpdate(opportunity_id="OPP-000010", next_step="Send the quote"),
            idempotency_key=run.key("n"),
        )
        report, changes = await rolled_back_cleanly(suite, run, before)
    assert outcomes(report) == [("update_opportunity_next_step", "undone")]
    assert changes.removed == changes.changed == {}, "the deal's next step is as it was"
    [change] = changes.added["crm_s_next_step_changes"]  # the CRM's history of next steps
    assert changes.counts() == {"crm_s_next_step_changes": 1} and change["reverted_at"]


async def test_a_reverted_next_step_is_set_again(rollback_settings: Settings) -> None:
    async with Suite.open(rollback_settings, preload_flows=False) as suite:
        change = await Acting(suite).crm.update_opportunity_next_step(
            NextStepUpdate(opportunity_id="OPP-000010", next_step="Send the quote"),
            idempotency_key="setup",
        )
        run = Acting(suite)
        before = snapshot(suite.engine)
        await run.crm.revert_opportunity_next_step(
            NextStepChangeRef(change_id=change.id), idempotency_key=run.key("r")
        )
        report, changes = await rolled_back_cleanly(suite, run, before)
    assert outcomes(report) == [("revert_opportunity_next_step", "undone")]
    # The deal has its next step again; the reverted change stays reverted in the history,
    # beside the change that set the step again.
    assert set(changes.changed) == {"crm_s_next_step_changes"}
    assert changes.counts() == {"crm_s_next_step_changes": 1}
    assert changes.added["crm_s_next_step_changes"][0]["next_step"] == "Send the quote"


async def _irreversible(suite: Suite, run: Acting, action: str) -> None:
    setup = Acting(suite)
    request: Any
    if action in ("complete_task", "cancel_task", "delete_task"):
        task = await setup.crm.create_task(task_request(), idempotency_key="s1")
        request = (
            TaskRef(task_id=task.id) if action == "delete_task" else TaskClose(task_id=task.id)
        )
    elif action == "log_customer_activity":
        request = CustomerActivityCreate(
            customer_id=CUSTOMER, kind="note", subject="Called the customer"
        )
    elif action == "restore_order":
        order_id = order_ids(suite, "pending")[0]
        await setup.crm.modify_order_address(
            ModifyOrderAddress(order_id=order_id, address=ELSEWHERE), idempotency_key="s1"
        )
        request = {"order_id": order_id, "change_key": "s1"}
    else:  # restore_customer_address
        await setup.crm.update_customer_address(
            UpdateCustomerAddress(customer_id=CUSTOMER, address=ELSEWHERE),
            idempotency_key="s1",
        )
        request = {"customer_id": CUSTOMER, "change_key": "s1"}
    await getattr(run.crm, action)(request, idempotency_key=run.key(action))


@pytest.mark.parametrize(
    "action",
    [
        "complete_task",
        "cancel_task",
        "delete_task",
        "log_customer_activity",
        "restore_order",
        "restore_customer_address",
    ],
)
async def test_an_irreversible_crm_effect_is_listed_with_its_reason(
    rollback_settings: Settings, action: str
) -> None:
    async with Suite.open(rollback_settings, preload_flows=False) as suite:
        run = Acting(suite)
        await _irreversible(suite, run, action)
        before = snapshot(suite.engine)
        report, changes = await rolled_back_cleanly(suite, run, before)
        declared = suite.connectors["crm"].action_specs()[action].undo
    assert outcomes(report) == [(action, "cannot_undo")]
    assert report.steps[0].detail == declared.reason  # type: ignore[union-attr]
    assert changes == Diff(), "nothing is touched"
