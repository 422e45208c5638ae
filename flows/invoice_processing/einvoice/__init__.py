"""Structured e-invoices (EN 16931: CII, UBL; ZUGFeRD, Factur-X, XRechnung; FatturaPA).

A structured invoice carries the exact answer, so the flow reads it instead of guessing
from text: `reader` recognises and reads one (hardened XML parsing, the official XSD),
`validate` applies EN 16931's business rules, `compare` checks a PDF's page against its
embedded XML, and `steps` is what the flow's nodes call.
"""

from __future__ import annotations

from flows.invoice_processing.einvoice.model import EInvoice
from flows.invoice_processing.einvoice.reader import read_xml_invoice
from flows.invoice_processing.einvoice.steps import (
    einvoice_issues,
    read_document_or_einvoice,
    structured,
    structured_extraction,
)
from flows.invoice_processing.einvoice.validate import Violation, violations

__all__ = [
    "EInvoice",
    "Violation",
    "einvoice_issues",
    "read_document_or_einvoice",
    "read_xml_invoice",
    "structured",
    "structured_extraction",
    "violations",
]
