"""Writes to the vendor master and the purchase-order book: onboarding a vendor, loading an
open purchase order, and their compensations.

A real ERP refuses a vendor whose tax id or IBAN is already on file (two master records for
one supplier split its bills and defeat the duplicate-invoice check) and identifiers that fail
their checksum; the mock does the same, with python-stdnum and schwifty.
"""

from __future__ import annotations

import uuid
from decimal import Decimal

from schwifty import IBAN
from schwifty.exceptions import SchwiftyException
from sqlalchemy import func
from sqlmodel import Session, col, select
from stdnum import vatin
from stdnum.exceptions import ValidationError as StdnumError

from connectors.accounting._vendors import compact_id, get_vendor_row, vendor_record, vendor_row
from connectors.accounting.tables import (
    AcctBill,
    AcctPurchaseOrder,
    AcctPurchaseOrderLine,
    AcctVendor,
)
from connectors.errors import Conflict, NotFound, Rejected
from connectors.schemas import (
    PurchaseOrderCancel,
    PurchaseOrderCreate,
    Vendor,
    VendorCreate,
    VendorDeactivate,
)

__all__ = ["cancel_purchase_order", "create_purchase_order", "create_vendor", "deactivate_vendor"]


def _checked_tax_id(value: str | None) -> str | None:
    tax_id = compact_id(value)
    if tax_id and tax_id[:2].isalpha():
        try:
            vatin.validate(tax_id)
        except StdnumError as exc:
            raise Rejected(
                f"tax id {tax_id} fails its checksum or format", code="invalid_tax_id"
            ) from exc
        except Exception:  # countries stdnum has no VAT rules for: not checkable, not wrong
            pass
    return tax_id


def _checked_iban(value: str | None) -> str | None:
    iban = compact_id(value)
    if iban:
        try:
            IBAN(iban)
        except SchwiftyException as exc:
            raise Rejected(
                f"IBAN {iban} fails its checksum or format", code="invalid_iban"
            ) from exc
    return iban


def create_vendor(session: Session, request: VendorCreate) -> Vendor:
    tax_id, iban = _checked_tax_id(request.tax_id), _checked_iban(request.iban)
    for column, key, what in (
        (AcctVendor.tax_id_key, tax_id, "tax id"),
        (AcctVendor.iban_key, iban, "IBAN"),
    ):
        if key is None:
            continue
        clash = session.exec(
            select(AcctVendor).where(column == key, col(AcctVendor.active).is_(True))
        ).first()
        if clash is not None:
            raise Conflict(
                f"{what} {key} is already on file for vendor {clash.id} ({clash.name})",
                code="duplicate_vendor",
                vendor_id=clash.id,
            )
    vendor = Vendor(
        id=f"V-{uuid.uuid4().hex[:10].upper()}",
        name=request.name.strip(),
        tax_id=tax_id,
        iban=iban,
        address=request.address,
        country=request.country.upper() if request.country else None,
        currency=request.currency.upper(),
        payment_terms_days=request.payment_terms_days,
        aliases=request.aliases,
    )
    session.add(vendor_row(vendor))
    session.flush()
    return vendor


def deactivate_vendor(session: Session, request: VendorDeactivate) -> Vendor:
    row = get_vendor_row(session, request.vendor_id)
    record = vendor_record(row)
    used = session.exec(
        select(func.count()).select_from(AcctBill).where(AcctBill.vendor_id == row.id)
    ).one()
    ordered = session.exec(
        select(func.count())
        .select_from(AcctPurchaseOrder)
        .where(AcctPurchaseOrder.vendor_id == row.id)
    ).one()
    if used or ordered:
        row.active = False
        session.add(row)
    else:
        session.delete(row)
    session.flush()
    return record.model_copy(update={"active": False})


def create_purchase_order(session: Session, request: PurchaseOrderCreate) -> AcctPurchaseOrder:
    vendor = get_vendor_row(session, request.vendor_id)
    if not vendor.active:
        raise Rejected(f"vendor {vendor.id} is inactive", code="vendor_inactive")
    if session.get(AcctPurchaseOrder, request.number) is not None:
        raise Conflict(
            f"purchase order {request.number} already exists", code="duplicate_purchase_order"
        )
    numbers = [line.line_no for line in request.lines]
    if len(set(numbers)) != len(numbers):
        raise Rejected("purchase order lines need distinct line numbers", code="invalid_request")
    total = sum((line.quantity * line.unit_price for line in request.lines), start=Decimal(0))
    po = AcctPurchaseOrder(
        number=request.number,
        vendor_id=vendor.id,
        currency=request.currency.upper(),
        status="open",
        order_date=request.order_date,
        total=total.quantize(Decimal("0.01")),
    )
    session.add(po)
    session.flush()
    for line in request.lines:
        session.add(AcctPurchaseOrderLine(po_number=po.number, **line.model_dump()))
    session.flush()
    return po


def cancel_purchase_order(session: Session, request: PurchaseOrderCancel) -> AcctPurchaseOrder:
    po = session.get(AcctPurchaseOrder, request.number)
    if po is None:
        raise NotFound(f"no purchase order {request.number!r}", number=request.number)
    billed = session.exec(
        select(AcctBill).where(AcctBill.po_number == po.number, AcctBill.status != "void")
    ).first()
    if billed is not None:
        raise Rejected(
            f"purchase order {po.number} is billed ({billed.id}); void the bill first",
            code="invalid_state",
        )
    po.status = "cancelled"
    session.add(po)
    session.flush()
    return po
