"""A PDF's visible text against its embedded XML: the amounts and IBAN a person would pay.

ZUGFeRD and Factur-X carry the invoice twice, once for people (the page) and once for
machines (the XML), and nothing forces the two to agree: an altered XML behind an honest
looking page is a known fraud pattern. The visible text is read with the flow's own text
extractor (no model call). An amount of the XML that the page prints anywhere agrees (a
label the extractor missed is not a disagreement); one it does not print disagrees when the
extractor found another value under its label, or, for the total, when it found none. An
IBAN disagrees when the page shows IBANs and not the XML's.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from pydantic import BaseModel, Field

from flows.invoice_processing.extraction import Document, find_amounts, find_ibans
from flows.invoice_processing.offline import parse_invoice

__all__ = ["COMPARED", "VisibleText", "disagreements", "read_visible"]

COMPARED = ("total", "tax", "subtotal")
_MAX_AMOUNTS = 5000


class VisibleText(BaseModel):
    """What the page shows, kept in the run's state to compare after corrections too."""

    readable: bool
    labelled: dict[str, Decimal | None] = Field(default_factory=dict)
    printed: list[Decimal] = Field(default_factory=list)
    ibans: list[str] = Field(default_factory=list)


def read_visible(text: str) -> VisibleText:
    doc = Document(text or "")
    printed: set[Decimal] = set()
    for index in range(len(doc.lines)):
        printed.update(abs(value) for _, _, value in find_amounts(doc, index))
        if len(printed) >= _MAX_AMOUNTS:
            break
    if not printed:
        return VisibleText(readable=False)
    reading = parse_invoice(text).value
    return VisibleText(
        readable=True,
        labelled={name: getattr(reading, name) for name in COMPARED},
        printed=sorted(printed),
        ibans=sorted({c.value for c in find_ibans(doc) if c.label == "iban"}),
    )


def _amount(value: Any) -> Decimal | None:
    try:
        return Decimal(str(value)) if value not in (None, "") else None
    except ArithmeticError:
        return None


def disagreements(
    fields: dict[str, Any], visible: VisibleText, said_by: str = "its embedded XML"
) -> list[str]:
    """What `fields` (as read from the XML, or as corrected: `said_by`) say that the page
    does not show, one sentence each."""
    if not visible.readable:
        return []
    printed = set(visible.printed)
    found = []
    for name in COMPARED:
        booked = _amount(fields.get(name))
        if booked is None or abs(booked) in printed:
            continue
        shown = visible.labelled.get(name)
        if shown is not None and shown != booked:
            found.append(f"the PDF shows {name} {shown}, {said_by} says {booked}")
        elif shown is None and name == "total":  # a page may well omit a net or a VAT sum
            found.append(f"{said_by} says total {booked}, which appears nowhere on the PDF")
    iban = (fields.get("iban") or "").replace(" ", "").upper()
    if iban and visible.ibans and iban not in visible.ibans:
        found.append(f"{said_by} says IBAN {iban}, the PDF shows {', '.join(visible.ibans)}")
    return found
