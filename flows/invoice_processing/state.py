"""The invoice flow's input, state, decision and output types."""

from __future__ import annotations

import operator
from decimal import Decimal
from typing import Annotated, Any, Literal, TypedDict

from pydantic import BaseModel, ConfigDict, Field, model_validator

from bpa.documents import DocumentRef
from bpa.review import ReviewDecision

__all__ = ["InvoiceCorrections", "InvoiceDecision", "InvoiceInput", "InvoiceState", "Issue"]


class InvoiceInput(BaseModel):
    """A document reference (stored by the engine) or the invoice as plain text."""

    model_config = ConfigDict(extra="forbid")  # a misspelt field is an error, not ignored

    document: DocumentRef | None = None
    text: str | None = Field(default=None, description="The invoice as text, instead of a file")
    source: str | None = Field(default=None, description="Where it came from (path, mailbox)")

    @model_validator(mode="after")
    def _one_source(self) -> InvoiceInput:
        if self.document is None and self.text is None:
            raise ValueError("give either `document` (an uploaded file) or `text`")
        return self


class Issue(TypedDict):
    code: str
    message: str
    field: str | None
    blocking: bool


class InvoiceState(TypedDict, total=False):
    document: dict[str, Any] | None
    """The input document's `DocumentRef`, as JSON."""
    text: str | None
    """The document's text (given, or read from the file)."""
    source: str | None
    document_type: dict[str, Any]
    """The classifier's label and confidence."""
    fields: dict[str, Any]
    """The extracted (and possibly human-corrected) `InvoiceFields`, as JSON."""
    einvoice: dict[str, Any] | None
    """A structured invoice: `invoice` (the `EInvoice` its XML holds, as JSON), `visible` (what
    its PDF's page shows, for comparison), or `error` (a PDF's unusable invoice XML)."""
    confidence: float
    field_confidence: dict[str, float]
    vendor: dict[str, Any] | None
    """The vendor-master record the invoice was matched to."""
    issues: list[Issue]
    """What validation found; replaced on each validation."""
    bill: dict[str, Any] | None
    """The bill created in the accounting system (its latest state)."""
    revision: int
    """Bumped by each correction, so a corrected bill gets a new idempotency key."""
    review: dict[str, Any] | None
    """The last human decision."""
    decision: str | None
    """auto_approved, approved or rejected once decided."""
    field_sources: dict[str, str]
    """Fields not read by the extraction alone: ``vendor_memory`` where the vendor's memory of
    earlier corrections found them (flows/invoice_processing/memory.py)."""
    corrected_from: dict[str, Any]
    """The values the last review's corrections replaced (what the memory learns against)."""
    records: Annotated[list[dict[str, Any]], operator.add]
    """Every record created or changed in a business system, in order."""


class InvoiceCorrections(BaseModel):
    """Fields a reviewer may correct. Unset fields stay as extracted."""

    vendor_id: str | None = None
    vendor_name: str | None = None
    vendor_tax_id: str | None = None
    invoice_number: str | None = None
    invoice_date: str | None = None
    due_date: str | None = None
    currency: str | None = Field(default=None, min_length=3, max_length=3)
    subtotal: Decimal | None = None
    tax: Decimal | None = None
    total: Decimal | None = None
    po_number: str | None = None
    iban: str | None = None
    # Onboarding an unknown vendor (offered when the vendor is not in the vendor master):
    create_vendor: bool | None = Field(
        default=None, description="Create the invoice's vendor (with the fields as corrected)"
    )
    vendor_address: str | None = Field(default=None, max_length=400)
    vendor_country: str | None = Field(default=None, pattern=r"^[A-Za-z]{2}$")
    vendor_currency: str | None = Field(default=None, pattern=r"^[A-Za-z]{3}$")


class InvoiceDecision(ReviewDecision):
    corrections: InvoiceCorrections = Field(default_factory=InvoiceCorrections)  # type: ignore[assignment]


Decision = Literal["auto_approved", "approved", "rejected", "pending_review"]
