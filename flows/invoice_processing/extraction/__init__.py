"""The invoice flow's text toolkit for offline extraction: dates, money, ids, parties, items.

Each finder takes a `Document` (the text split once into clean lines) and returns
`Candidate`s with a confidence, best first, so that `flows.invoice_processing.offline` can
pick, cross-check (subtotal + tax = total) and say what was ambiguous. The finders are general
rules over labels in several languages (en, de, fr, es, it, nl) and number formats, built
on dateparser, price-parser, rapidfuzz, python-stdnum and schwifty; nothing is keyed to
a known document.
"""

from __future__ import annotations

from flows.invoice_processing.extraction._candidate import MAX_CHARS, Candidate, Document, best
from flows.invoice_processing.extraction._dates import date_order, find_dates, payment_terms_days
from flows.invoice_processing.extraction._ids import (
    find_ibans,
    find_invoice_numbers,
    find_po_numbers,
    find_tax_ids,
)
from flows.invoice_processing.extraction._items import RowValue, find_line_items
from flows.invoice_processing.extraction._money import (
    decimal_separator,
    find_amounts,
    find_currency,
    parse_amount,
)
from flows.invoice_processing.extraction._parties import (
    attention_line,
    buyer_lines,
    find_vendor_address,
    find_vendor_names,
    ordinary_case,
)
from flows.invoice_processing.extraction._title import Title, document_title
from flows.invoice_processing.extraction._totals import (
    balance_due,
    find_totals,
    labelled_amounts,
    rounding_amounts,
)

__all__ = [
    "MAX_CHARS",
    "Candidate",
    "Document",
    "RowValue",
    "Title",
    "attention_line",
    "balance_due",
    "best",
    "buyer_lines",
    "date_order",
    "decimal_separator",
    "document_title",
    "find_amounts",
    "find_currency",
    "find_dates",
    "find_ibans",
    "find_invoice_numbers",
    "find_line_items",
    "find_po_numbers",
    "find_tax_ids",
    "find_totals",
    "find_vendor_address",
    "find_vendor_names",
    "labelled_amounts",
    "ordinary_case",
    "parse_amount",
    "payment_terms_days",
    "rounding_amounts",
]
