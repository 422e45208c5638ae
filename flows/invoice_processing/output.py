"""The invoice flow's output: what a run reports, finished or waiting."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from bpa.documents import DocumentStore
from flows.invoice_processing.checks import to_decimal
from flows.invoice_processing.state import InvoiceInput

__all__ = ["load_input", "make_output"]

_AMOUNTS = ("subtotal", "tax", "withholding", "total")
#: What only a structured invoice states, reported as it is (amounts as strings, exact).
_EINVOICE_FIELDS = ("allowances_charges", "tax_breakdown", "payment_terms", "buyer_reference")
_EINVOICE_LINE = ("line_id", "unit", "tax_category", "tax_rate")
_EINVOICE_META = ("syntax", "profile", "container", "attachment", "type_code")


def _number(value: Any) -> float | None:
    amount = to_decimal(value)
    return float(amount) if amount is not None else None


def make_output(state: dict[str, Any]) -> dict[str, Any]:
    fields = dict(state.get("fields") or {})
    items = [
        {
            "description": item.get("description"),
            "quantity": _number(item.get("quantity")),
            "unit_price": _number(item.get("unit_price")),
            "amount": _number(item.get("amount")),
            **{k: item[k] for k in _EINVOICE_LINE if item.get(k) is not None},
        }
        for item in fields.get("line_items") or []
    ]
    structured = (state.get("einvoice") or {}).get("invoice") or {}
    vendor = state.get("vendor") or {}
    bill = state.get("bill") or {}
    decision = state.get("decision")
    return {
        "vendor_name": fields.get("vendor_name"),
        "vendor_tax_id": fields.get("vendor_tax_id"),
        "vendor_id": vendor.get("id") or fields.get("vendor_id"),
        "invoice_number": fields.get("invoice_number"),
        "invoice_date": fields.get("invoice_date"),
        "due_date": fields.get("due_date"),
        "currency": fields.get("currency"),
        **{name: _number(fields.get(name)) for name in _AMOUNTS},
        "line_items": items,
        "po_number": fields.get("po_number"),
        "iban": fields.get("iban"),
        "amount_due": _number(fields.get("amount_due")),
        **{name: fields.get(name) for name in _EINVOICE_FIELDS},
        "source": structured.get("source") or "text",
        "einvoice": {k: structured.get(k) for k in _EINVOICE_META} if structured else None,
        "issues": list(state.get("issues") or []),
        "decision": decision,
        "records": list(state.get("records") or []),
        "bill_id": bill.get("id"),
        "bill_status": bill.get("status"),
        "document_type": (state.get("document_type") or {}).get("label"),
        "confidence": state.get("confidence"),
        "field_sources": dict(state.get("field_sources") or {}),
    }


def load_input(path: Path, documents: DocumentStore) -> dict[str, Any]:
    """A file from the command line: JSON input as is, anything else as a stored document."""
    if path.suffix.lower() == ".json":
        return InvoiceInput.model_validate_json(path.read_bytes()).model_dump(mode="json")
    ref = documents.put_file(path)
    return InvoiceInput(document=ref, source=str(path)).model_dump(mode="json")
