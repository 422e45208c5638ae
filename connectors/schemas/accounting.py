"""Accounting records: vendors, purchase orders, bills and double-entry journal entries."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Literal

from pydantic import BaseModel, Field

Money = Decimal
CurrencyCode = str  # ISO 4217, upper case


class Vendor(BaseModel):
    id: str
    name: str
    tax_id: str | None = Field(default=None, description="VAT / tax id as registered, no spaces")
    iban: str | None = Field(default=None, description="IBAN in electronic format, no spaces")
    address: str | None = None
    country: str | None = Field(default=None, description="ISO 3166-1 alpha-2")
    currency: CurrencyCode = "EUR"
    payment_terms_days: int = 30
    aliases: list[str] = Field(default_factory=list)
    active: bool = True


class VendorRef(BaseModel):
    vendor_id: str


class VendorSearch(BaseModel):
    """Any of the fields may be given; tax id and IBAN match exactly, the name fuzzily."""

    name: str | None = None
    tax_id: str | None = None
    iban: str | None = None
    limit: int = Field(default=5, ge=1, le=50)


class VendorMatch(BaseModel):
    vendor: Vendor
    score: float = Field(ge=0, le=100, description="100 = exact on an identifier")
    matched_on: Literal["tax_id", "iban", "name", "alias"]


class PurchaseOrderLine(BaseModel):
    line_no: int
    description: str
    quantity: Decimal
    unit_price: Money
    sku: str | None = None


class PurchaseOrder(BaseModel):
    number: str
    vendor_id: str
    currency: CurrencyCode
    status: Literal["open", "closed", "cancelled"] = "open"
    order_date: dt.date
    lines: list[PurchaseOrderLine]
    total: Money


class PurchaseOrderRef(BaseModel):
    number: str


class BillLine(BaseModel):
    description: str
    quantity: Decimal = Decimal(1)
    unit_price: Money
    amount: Money


class BillCreate(BaseModel):
    vendor_id: str
    invoice_number: str = Field(min_length=1)
    invoice_date: dt.date
    due_date: dt.date | None = None
    currency: CurrencyCode = Field(min_length=3, max_length=3)
    subtotal: Money
    tax: Money = Decimal(0)
    withholding: Money = Field(
        default=Decimal(0),
        description="Income tax the payer withholds (IRPF, ritenuta d'acconto); the total is "
        "subtotal + tax - withholding",
    )
    total: Money
    lines: list[BillLine] = Field(default_factory=list)
    po_number: str | None = None
    memo: str | None = None
    expense_account: str = "6000"


class Bill(BaseModel):
    id: str
    vendor_id: str
    invoice_number: str
    invoice_date: dt.date
    due_date: dt.date | None
    currency: CurrencyCode
    subtotal: Money
    tax: Money
    withholding: Money = Decimal(0)
    total: Money
    po_number: str | None
    status: Literal["draft", "posted", "void"]
    journal_entry_id: str | None
    reversal_entry_id: str | None = None
    lines: list[BillLine] = Field(default_factory=list)
    created_at: dt.datetime


class BillRef(BaseModel):
    bill_id: str


class BillVoid(BaseModel):
    bill_id: str
    reason: str = Field(min_length=1)


class BillSearch(BaseModel):
    vendor_id: str | None = None
    invoice_number: str | None = None
    include_void: bool = False


class JournalLine(BaseModel):
    account: str
    debit: Money = Decimal(0)
    credit: Money = Decimal(0)
    memo: str | None = None


class JournalEntryCreate(BaseModel):
    date: dt.date
    currency: CurrencyCode
    memo: str
    lines: list[JournalLine] = Field(min_length=2)
    source: str | None = Field(default=None, description="e.g. bill:<id>")


class JournalEntry(BaseModel):
    id: str
    date: dt.date
    currency: CurrencyCode
    memo: str
    lines: list[JournalLine]
    status: Literal["draft", "posted", "reversed"]
    source: str | None
    reverses: str | None = None


class JournalEntryRef(BaseModel):
    entry_id: str


class Period(BaseModel):
    period: str = Field(description="YYYY-MM")
    status: Literal["open", "closed"]


class PeriodRef(BaseModel):
    period: str = Field(pattern=r"^\d{4}-\d{2}$")


class VendorCreate(BaseModel):
    """A new vendor-master record. The system assigns the id; tax id and IBAN are stored
    compacted (no spaces), and a tax id already on file is refused (`Conflict`)."""

    name: str = Field(min_length=1, max_length=200)
    tax_id: str | None = Field(default=None, max_length=40)
    iban: str | None = Field(default=None, max_length=40)
    address: str | None = Field(default=None, max_length=400)
    country: str | None = Field(default=None, pattern=r"^[A-Za-z]{2}$")
    currency: CurrencyCode = Field(default="EUR", pattern=r"^[A-Za-z]{3}$")
    payment_terms_days: int = Field(default=30, ge=0, le=365)
    aliases: list[str] = Field(default_factory=list, max_length=20)


class VendorDeactivate(BaseModel):
    """Undo of `create_vendor`: a vendor with no bills is removed, one with bills only
    deactivated (its bills keep their vendor)."""

    vendor_id: str
    reason: str = Field(min_length=1)


class PurchaseOrderCreate(BaseModel):
    number: str = Field(min_length=1, max_length=64)
    vendor_id: str
    currency: CurrencyCode = Field(pattern=r"^[A-Za-z]{3}$")
    order_date: dt.date
    lines: list[PurchaseOrderLine] = Field(min_length=1, max_length=500)


class PurchaseOrderCancel(BaseModel):
    """Undo of `create_purchase_order`: an open PO that no bill refers to is cancelled."""

    number: str
    reason: str = Field(min_length=1)
