"""Synthetic plain-text invoices from the fixture vendor master (for speed benchmarks)."""

from __future__ import annotations

import datetime as dt
import json
import random
from decimal import Decimal
from pathlib import Path

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
_ITEMS = [
    "Consulting services",
    "Office chairs",
    "Printer toner",
    "Software licence",
    "Maintenance contract",
    "Freight charges",
    "Training workshop",
    "Cloud hosting",
]


def synthetic_invoices(count: int, *, seed: int = 7) -> list[str]:
    """`count` distinct invoices from known vendors, in English, under the approval threshold."""
    vendors = json.loads((FIXTURES / "accounting" / "vendors.json").read_text())
    rng = random.Random(seed)
    out = []
    for n in range(count):
        vendor = vendors[n % len(vendors)]
        issued = dt.date(2026, 1, 5) + dt.timedelta(days=rng.randrange(0, 300))
        due = issued + dt.timedelta(days=vendor.get("payment_terms_days", 30))
        lines, subtotal = [], Decimal(0)
        for _ in range(rng.randrange(1, 4)):
            qty = rng.randrange(1, 6)
            price = Decimal(rng.randrange(2000, 40000)) / 100
            amount = price * qty
            subtotal += amount
            lines.append(f"{rng.choice(_ITEMS)}  {qty}  {price:.2f}  {amount:.2f}")
        tax = (subtotal * Decimal("0.20")).quantize(Decimal("0.01"))
        currency = vendor.get("currency", "EUR")
        body = "\n".join(lines)
        out.append(
            f"{vendor['name']}\n{vendor.get('address') or ''}\n"
            f"VAT ID: {vendor.get('tax_id') or ''}\n\nINVOICE\n"
            f"Invoice No: BENCH-{seed}-{n:05d}\nInvoice date: {issued.isoformat()}\n"
            f"Due date: {due.isoformat()}\n\nBill to: BPA Demo Buyer GmbH, Berlin\n\n"
            f"Description  Qty  Unit price  Amount\n{body}\n\n"
            f"Subtotal: {subtotal:.2f} {currency}\nVAT 20%: {tax:.2f} {currency}\n"
            f"Total due: {subtotal + tax:.2f} {currency}\n\n"
            f"IBAN: {vendor.get('iban') or ''}\n"
        )
    return out
