"""The mocked accounting system's vendor master: onboarding, refusals, compensations."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from pathlib import Path

import pytest

from connectors.accounting.connector import MockAccountingConnector
from connectors.errors import Conflict, NotFound, Rejected
from connectors.schemas import (
    BillCreate,
    PurchaseOrderCancel,
    PurchaseOrderCreate,
    PurchaseOrderLine,
    PurchaseOrderRef,
    VendorCreate,
    VendorDeactivate,
    VendorRef,
)

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "accounting"


@pytest.fixture
def accounting(tmp_path: Path) -> MockAccountingConnector:
    return MockAccountingConnector(
        {"database_url": f"sqlite:///{tmp_path / 'acct.db'}", "seed": str(FIXTURES)}
    )


def bluefin(**changes: object) -> VendorCreate:
    fields = {"name": "Bluefin Marketing OÜ", "tax_id": "EE 101 234 568", "country": "EE"}
    return VendorCreate.model_validate({**fields, **changes})


async def test_create_is_idempotent_and_refuses_a_second_record_for_one_vendor(
    accounting: MockAccountingConnector,
) -> None:
    assert accounting.supports("vendor_master")
    vendor = await accounting.create_vendor(bluefin(), idempotency_key="k1")
    assert vendor.tax_id == "EE101234568" and vendor.active
    assert (await accounting.create_vendor(bluefin(), idempotency_key="k1")).id == vendor.id
    with pytest.raises(Conflict) as dup:
        await accounting.create_vendor(bluefin(name="Bluefin again"), idempotency_key="k2")
    assert dup.value.code == "duplicate_vendor"
    with pytest.raises(Rejected) as bad:
        await accounting.create_vendor(
            bluefin(tax_id=None, iban="EE952200002210991458"), idempotency_key="k3"
        )
    assert bad.value.code == "invalid_iban"


async def test_undo_removes_an_unused_vendor_and_deactivates_a_billed_one(
    accounting: MockAccountingConnector,
) -> None:
    unused = await accounting.create_vendor(bluefin(), idempotency_key="a")
    await accounting.deactivate_vendor(
        VendorDeactivate(vendor_id=unused.id, reason="test"), idempotency_key="a-undo"
    )
    with pytest.raises(NotFound):
        await accounting.get_vendor(VendorRef(vendor_id=unused.id))

    billed = await accounting.create_vendor(bluefin(), idempotency_key="b")
    await accounting.create_bill(
        BillCreate(
            vendor_id=billed.id,
            invoice_number="BM-1",
            invoice_date=dt.date.today(),
            currency="EUR",
            subtotal=Decimal("100"),
            total=Decimal("100"),
        ),
        idempotency_key="bill",
    )
    await accounting.deactivate_vendor(
        VendorDeactivate(vendor_id=billed.id, reason="test"), idempotency_key="b-undo"
    )
    assert (await accounting.get_vendor(VendorRef(vendor_id=billed.id))).active is False


async def test_purchase_orders_are_created_once_and_cancelled_as_their_undo(
    accounting: MockAccountingConnector,
) -> None:
    vendor = await accounting.create_vendor(bluefin(), idempotency_key="v")
    order = PurchaseOrderCreate(
        number="PO-9001",
        vendor_id=vendor.id,
        currency="eur",
        order_date=dt.date(2026, 3, 1),
        lines=[
            PurchaseOrderLine(
                line_no=1, description="Campaign", quantity=Decimal(2), unit_price=Decimal("900")
            )
        ],
    )
    po = await accounting.create_purchase_order(order, idempotency_key="po")
    assert (po.total, po.currency, po.status) == (Decimal("1800.00"), "EUR", "open")
    with pytest.raises(Conflict):
        await accounting.create_purchase_order(order, idempotency_key="po-2")
    await accounting.cancel_purchase_order(
        PurchaseOrderCancel(number="PO-9001", reason="test"), idempotency_key="po-undo"
    )
    found = await accounting.get_purchase_order(PurchaseOrderRef(number="PO-9001"))
    assert found.status == "cancelled"
