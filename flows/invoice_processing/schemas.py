"""What the invoice flow extracts from a document, shared by every model backend."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Literal

from pydantic import BaseModel, Field

__all__ = ["DocumentLabel", "DocumentReading", "InvoiceFields", "LineItem"]

#: The kinds of business document the flow tells apart.
DocumentLabel = Literal[
    "invoice", "credit_note", "receipt", "purchase_order", "quote", "letter", "other"
]


class LineItem(BaseModel):
    description: str = Field(description="What was sold, as written on the invoice")
    quantity: Decimal | None = Field(default=None, description="Units, if stated")
    unit_price: Decimal | None = Field(default=None, description="Price per unit, net of tax")
    amount: Decimal | None = Field(default=None, description="Line total, net of tax")


class InvoiceFields(BaseModel):
    """The fields of a supplier invoice. Leave a field null when the document does not say."""

    vendor_name: str | None = Field(default=None, description="The supplier who issued it")
    vendor_tax_id: str | None = Field(
        default=None, description="The supplier's VAT / tax id, without spaces"
    )
    vendor_address: str | None = Field(default=None, description="The supplier's address")
    invoice_number: str | None = Field(default=None, description="The invoice's own number")
    invoice_date: dt.date | None = Field(default=None, description="Date of issue")
    due_date: dt.date | None = Field(default=None, description="Payment due date")
    currency: str | None = Field(default=None, description="ISO 4217 code, e.g. EUR")
    subtotal: Decimal | None = Field(default=None, description="Total net of tax")
    tax: Decimal | None = Field(default=None, description="Total tax (VAT)")
    withholding: Decimal | None = Field(
        default=None,
        description="Income tax the payer withholds (IRPF, ritenuta d'acconto), as a positive "
        "amount; null when the invoice withholds nothing",
    )
    total: Decimal | None = Field(default=None, description="Amount due including tax")
    amount_due: Decimal | None = Field(
        default=None,
        description="What is left to pay when the invoice takes a deposit or prepayment off "
        "its total; null when it takes nothing off",
    )
    line_items: list[LineItem] = Field(default_factory=list)
    po_number: str | None = Field(default=None, description="Buyer's purchase order number")
    iban: str | None = Field(default=None, description="Supplier's IBAN, no spaces")


class DocumentReading(BaseModel):
    """A document's kind and its invoice fields, read together in one model call."""

    document_type: DocumentLabel = Field(description="Which one kind of document this is")
    document_type_confidence: float = Field(
        ge=0, le=1, description="How sure you are of the kind, 0 to 1"
    )
    fields: InvoiceFields = Field(description="The invoice fields the document states")
