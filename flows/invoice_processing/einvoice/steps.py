"""What the invoice flow's nodes do with a structured invoice, kept out of `nodes.py`.

`read_document_or_einvoice` (read_input) puts the invoice in the state under `einvoice`;
`structured_extraction` (extract_fields) turns it into `fields` with confidence 1.0 and
reads the PDF's visible text for comparison; `einvoice_issues` (validate_invoice) reports
the EN 16931 rules broken, a credit note, and any disagreement between page and XML.
"""

from __future__ import annotations

from typing import Any

from bpa.errors import FlowError
from bpa.readers import read_document
from flows.invoice_processing import checks
from flows.invoice_processing.einvoice.compare import VisibleText, disagreements, read_visible
from flows.invoice_processing.einvoice.embedded import embedded_invoice_xml
from flows.invoice_processing.einvoice.model import EInvoice
from flows.invoice_processing.einvoice.reader import is_xml, read_xml_invoice, xml_text
from flows.invoice_processing.einvoice.validate import violations
from flows.invoice_processing.state import InvoiceState, Issue

__all__ = ["einvoice_issues", "read_document_or_einvoice", "structured", "structured_extraction"]

_MAX_RULE_ISSUES = 10


def _is_pdf(data: bytes, filename: str, media_type: str | None) -> bool:
    return (
        data[:5] == b"%PDF-"
        or filename.lower().endswith(".pdf")
        or media_type == ("application/pdf")
    )


def read_document_or_einvoice(data: bytes, filename: str, media_type: str | None) -> dict[str, Any]:
    """The state update of read_input: `text`, and `einvoice` when the document is one.

    A PDF whose invoice XML cannot be used is read from its text like any PDF, and the
    reason is kept so that a person sees it; an XML file that cannot be used fails the run.
    """
    if data and is_xml(data, filename, media_type) and not _is_pdf(data, filename, media_type):
        invoice = read_xml_invoice(data, filename)
        text = xml_text(data, filename)
        return {"text": text, "einvoice": {"invoice": invoice.model_dump(mode="json")}}
    embedded = embedded_invoice_xml(data) if data and _is_pdf(data, filename, media_type) else None
    if embedded is None:
        return {"text": read_document(data, filename, media_type).text}
    einvoice: dict[str, Any] = {}
    try:
        invoice = read_xml_invoice(embedded.data, f"{filename}/{embedded.name}", embedded.name)
        einvoice["invoice"] = invoice.model_dump(mode="json")
    except FlowError as exc:
        einvoice["error"] = exc.to_dict()
    try:
        text = read_document(data, filename, media_type).text
    except FlowError as exc:
        if "invoice" not in einvoice:
            raise
        text, einvoice["text_error"] = "", exc.to_dict()
    return {"text": text, "einvoice": einvoice}


def structured(state: InvoiceState) -> EInvoice | None:
    """The structured invoice the run reads, if it is one."""
    found = (state.get("einvoice") or {}).get("invoice")
    return EInvoice.model_validate(found) if found else None


def structured_extraction(invoice: EInvoice, state: InvoiceState) -> dict[str, Any]:
    """extract_fields' update for a structured invoice: exact fields, confidence 1.0."""
    fields = invoice.to_fields()
    einvoice = dict(state.get("einvoice") or {})
    if invoice.container == "pdf":
        einvoice["visible"] = read_visible(state.get("text") or "").model_dump(mode="json")
    return {
        "fields": fields,
        "confidence": 1.0,
        "field_confidence": {k: 1.0 for k, v in fields.items() if v not in (None, "", [])},
        "revision": 0,
        "einvoice": einvoice,
    }


def _rule_issues(invoice: EInvoice) -> list[Issue]:
    if invoice.syntax == "fatturapa":
        return []
    broken = violations(invoice)
    found = [
        checks.issue("en16931_violation", f"EN 16931 {v.rule}: {v.message}")
        for v in broken[:_MAX_RULE_ISSUES]
    ]
    if len(broken) > _MAX_RULE_ISSUES:
        more = len(broken) - _MAX_RULE_ISSUES
        found.append(checks.issue("en16931_violation", f"and {more} more EN 16931 violations"))
    return found


def einvoice_issues(state: InvoiceState) -> list[Issue]:
    """The issues only a structured invoice (or a PDF claiming to hold one) can have."""
    einvoice = state.get("einvoice") or {}
    if not einvoice:
        return []
    if "error" in einvoice:
        error = einvoice["error"]
        return [
            checks.issue(
                "embedded_xml_invalid",
                f"the PDF embeds an invoice XML that could not be used ({error['message']}); "
                "it was read from its text instead",
            )
        ]
    invoice = structured(state)
    if invoice is None:
        return []
    issues = _rule_issues(invoice)
    if invoice.kind == "credit_note":
        issues.append(
            checks.issue(
                "credit_note",
                f"this is a credit note (type {invoice.type_code}), not a bill: book it as a "
                "vendor credit by hand, or reject it",
            )
        )
    if invoice.container != "pdf":
        return issues
    if "visible" not in einvoice or not einvoice["visible"]["readable"]:
        issues.append(
            checks.issue(
                "embedded_xml_unverified",
                "the PDF's visible text could not be read, so its embedded XML could not be "
                "checked against what the page shows",
            )
        )
        return issues
    said_by = "its embedded XML" if state.get("revision", 0) == 0 else "the corrected invoice"
    visible = VisibleText.model_validate(einvoice["visible"])
    found = disagreements(state.get("fields") or {}, visible, said_by)
    if found:
        issues.append(
            checks.issue(
                "embedded_xml_mismatch",
                "the PDF's visible text and its embedded invoice XML disagree: "
                + "; ".join(found)
                + " (a known fraud pattern: check with the vendor before paying)",
                "total",
            )
        )
    return issues
