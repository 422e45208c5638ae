"""The EN 16931 semantic model, as far as the invoice flow uses it.

Each field names its business term (BT-n / BG-n) from EN 16931-1, so that the CII, UBL and
FatturaPA readers map to one model and the business rules in `validate` read one model.
Amounts are Decimals exactly as written in the XML: nothing is rounded or recomputed here.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any, Literal

from pydantic import BaseModel, Field
from pydantic_core import to_jsonable_python

__all__ = [
    "CREDIT_NOTE_CODES",
    "AllowanceCharge",
    "EInvoice",
    "InvoiceLine",
    "Party",
    "Source",
    "Syntax",
    "TaxSubtotal",
    "Totals",
]

Syntax = Literal["cii", "zugferd1", "ubl", "fatturapa"]
Source = Literal["cii", "ubl", "zugferd", "facturx", "xrechnung", "fatturapa"]

#: UNTDID 1001 codes EN 16931 treats as credit notes (the rest of its subset are invoices).
CREDIT_NOTE_CODES = frozenset(
    {"81", "83", "261", "262", "296", "308", "381", "396", "420", "458", "532"}
)


class Party(BaseModel):
    """BG-4 seller / BG-7 buyer."""

    name: str | None = None  # BT-27 / BT-44
    trading_name: str | None = None  # BT-28 / BT-45
    vat_id: str | None = None  # BT-31 / BT-48
    tax_registration: str | None = None  # BT-32 (a national tax number, not a VAT id)
    address: str | None = None  # BG-5 / BG-8, one line
    country: str | None = None  # BT-40 / BT-55


class InvoiceLine(BaseModel):
    """BG-25."""

    line_id: str | None = None  # BT-126
    description: str  # BT-153 item name
    quantity: Decimal | None = None  # BT-129
    unit: str | None = None  # BT-130 (UN/ECE Rec 20)
    unit_price: Decimal | None = None  # BT-146 item net price
    base_quantity: Decimal | None = None  # BT-149
    amount: Decimal | None = None  # BT-131 line net amount
    tax_category: str | None = None  # BT-151
    tax_rate: Decimal | None = None  # BT-152


class AllowanceCharge(BaseModel):
    """BG-20 document level allowance (charge=False) or BG-21 charge (charge=True)."""

    charge: bool
    amount: Decimal  # BT-92 / BT-99
    base_amount: Decimal | None = None  # BT-93 / BT-100
    percent: Decimal | None = None  # BT-94 / BT-101
    reason: str | None = None  # BT-97 / BT-104
    reason_code: str | None = None  # BT-98 / BT-105
    tax_category: str | None = None  # BT-95 / BT-102
    tax_rate: Decimal | None = None  # BT-96 / BT-103


class TaxSubtotal(BaseModel):
    """BG-23 VAT breakdown: one per category and rate."""

    category: str | None = None  # BT-118
    rate: Decimal | None = None  # BT-119
    taxable_amount: Decimal | None = None  # BT-116
    tax_amount: Decimal | None = None  # BT-117
    exemption_reason: str | None = None  # BT-120
    exemption_code: str | None = None  # BT-121


class Totals(BaseModel):
    """BG-22 document totals."""

    line_total: Decimal | None = None  # BT-106
    allowance_total: Decimal | None = None  # BT-107
    charge_total: Decimal | None = None  # BT-108
    tax_exclusive: Decimal | None = None  # BT-109
    tax_total: Decimal | None = None  # BT-110 (in the invoice currency)
    tax_inclusive: Decimal | None = None  # BT-112
    prepaid: Decimal | None = None  # BT-113
    rounding: Decimal | None = None  # BT-114
    payable: Decimal | None = None  # BT-115


class EInvoice(BaseModel):
    """One structured invoice or credit note, read from its XML."""

    source: Source = Field(description="How it arrived: the syntax, or the PDF container")
    syntax: Syntax
    profile: str | None = Field(default=None, description="BT-24 specification identifier")
    container: Literal["xml", "pdf"] = "xml"
    attachment: str | None = Field(default=None, description="The PDF attachment's name")
    type_code: str | None = None  # BT-3
    number: str | None = None  # BT-1
    issue_date: dt.date | None = None  # BT-2
    due_date: dt.date | None = None  # BT-9
    currency: str | None = None  # BT-5
    seller: Party = Field(default_factory=Party)
    buyer: Party = Field(default_factory=Party)
    buyer_reference: str | None = None  # BT-10 (Leitweg-ID in XRechnung)
    order_reference: str | None = None  # BT-13 purchase order
    payment_terms: str | None = None  # BT-20
    payment_means_code: str | None = None  # BT-81
    ibans: list[str] = Field(default_factory=list)  # BT-84, in document order
    lines: list[InvoiceLine] = Field(default_factory=list)
    allowances_charges: list[AllowanceCharge] = Field(default_factory=list)
    tax_breakdown: list[TaxSubtotal] = Field(default_factory=list)
    totals: Totals = Field(default_factory=Totals)

    @property
    def kind(self) -> Literal["invoice", "credit_note"]:
        return "credit_note" if self.type_code in CREDIT_NOTE_CODES else "invoice"

    def to_fields(self) -> dict[str, Any]:
        """The flow's `fields` (the keys of `InvoiceFields`, plus what only e-invoices
        carry), as JSON: the same shape whichever way the invoice was read."""
        totals = self.totals
        fields: dict[str, Any] = {
            "vendor_name": self.seller.name or self.seller.trading_name,
            "vendor_tax_id": self.seller.vat_id,
            "vendor_address": self.seller.address,
            "invoice_number": self.number,
            "invoice_date": self.issue_date,
            "due_date": self.due_date,
            "currency": self.currency,
            "subtotal": totals.tax_exclusive,
            "tax": totals.tax_total,
            "total": totals.tax_inclusive,
            "line_items": [line.model_dump(exclude_none=True) for line in self.lines],
            "po_number": self.order_reference,
            "iban": self.ibans[0] if self.ibans else None,
            "amount_due": totals.payable,
            "prepaid": totals.prepaid,
            "allowances_charges": [ac.model_dump() for ac in self.allowances_charges],
            "tax_breakdown": [tax.model_dump() for tax in self.tax_breakdown],
            "payment_terms": self.payment_terms,
            "buyer_reference": self.buyer_reference,
            "buyer_name": self.buyer.name,
        }
        jsonable: dict[str, Any] = to_jsonable_python(fields)
        return jsonable
