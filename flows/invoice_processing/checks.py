"""Validation rules for an extracted invoice: pure functions, each returning issues."""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal, InvalidOperation
from typing import Any

from rapidfuzz import fuzz
from schwifty import IBAN
from schwifty.exceptions import SchwiftyException
from stdnum import vatin
from stdnum.exceptions import ValidationError as StdnumError
from stdnum.mx import rfc as mexican_rfc

from connectors.schemas import PurchaseOrder, Vendor
from flows.invoice_processing.state import Issue

__all__ = [
    "BLOCKING",
    "arithmetic_issues",
    "id_issues",
    "injection_issues",
    "issue",
    "po_issues",
    "required_issues",
    "to_decimal",
]

#: Issues that make a bill impossible to create (the accounting system would refuse it).
BLOCKING = frozenset(
    {
        "missing_field",
        "unknown_vendor",
        "duplicate_invoice",
        "arithmetic_mismatch",
        "period_closed",
        "due_before_invoice",
        # Structured invoices: a credit note is no bill; a page and XML that disagree are
        # a fraud pattern to settle with the vendor, not a number to approve.
        "credit_note",
        "embedded_xml_mismatch",
        # Documents whose own title says they are no invoice (see nodes._TITLED).
        "pro_forma",
        "payment_reminder",
    }
)
_CENT = Decimal("0.01")
PRICE_TOLERANCE = Decimal("0.05")
#: How alike (0-100) an invoice line and a PO line must be described to be compared.
PO_LINE_MATCH = 75.0

_INJECTION = re.compile(
    r"ignore\s+(all\s+|any\s+)?(the\s+)?(previous|prior|above|earlier)\s+(instructions|rules)"
    r"|disregard\s+(all\s+|any\s+)?(previous|prior|above|your)\s+\w+"
    r"|(you are|act as)\s+(an?\s+)?(ai|assistant|language model)"
    r"|system\s+prompt"
    r"|approve\s+(this\s+|the\s+)?(payment|invoice|transfer)\s+(to|immediately|now|without)"
    r"|ignoriere\s+(alle\s+)?(vorherigen|bisherigen)\s+anweisungen"
    r"|ignore[zr]?\s+(toutes\s+)?(les\s+)?instructions\s+pr[ée]c[ée]dentes"
    r"|ignora\s+(todas\s+)?(las\s+)?instrucciones\s+anteriores"
    # a block dressed as our own system's words
    r"|\b(begin|end)\s+(of\s+)?(system|admin|internal)\s+(message|note|instructions?)\b"
    r"|\b(agent|assistant|approval)\s+(policy|rules|instructions)\s+(updated|changed|overridden)\b"
    r"|\bdo\s+not\s+(ask|wait)\s+for\s+(approval|confirmation|review)\b",
    re.IGNORECASE,
)


def issue(code: str, message: str, field: str | None = None) -> Issue:
    return Issue(code=code, message=message, field=field, blocking=code in BLOCKING)


def to_decimal(value: Any) -> Decimal | None:
    if value is None or value == "":
        return None
    try:
        return Decimal(str(value)).quantize(_CENT)
    except (InvalidOperation, ValueError):
        return None


def injection_issues(text: str) -> list[Issue]:
    match = _INJECTION.search(text or "")
    if not match:
        return []
    return [
        issue(
            "suspicious_instructions",
            f"the document contains instructions aimed at the system ({match.group(0)!r}); "
            "a human must check it",
        )
    ]


def required_issues(fields: dict[str, Any]) -> list[Issue]:
    found = []
    for name in ("vendor_name", "invoice_number", "invoice_date", "total"):
        if fields.get(name) in (None, ""):
            found.append(issue("missing_field", f"{name} could not be read", name))
    if fields.get("currency") in (None, ""):
        found.append(issue("missing_field", "the currency could not be determined", "currency"))
    return found


def arithmetic_issues(fields: dict[str, Any]) -> list[Issue]:
    found: list[Issue] = []
    subtotal, tax, total = (to_decimal(fields.get(k)) for k in ("subtotal", "tax", "total"))
    withheld = to_decimal(fields.get("withholding")) or Decimal(0)
    if (
        subtotal is not None
        and total is not None
        and (abs(subtotal + (tax or Decimal(0)) - withheld - total) > _CENT)
    ):
        less = f" - withholding {withheld}" if withheld else ""
        found.append(
            issue(
                "arithmetic_mismatch",
                f"subtotal {subtotal} + tax {tax or 0}{less} = "
                f"{subtotal + (tax or 0) - withheld}, but the total says {total}",
                "total",
            )
        )
    amounts = [to_decimal(li.get("amount")) for li in fields.get("line_items") or []]
    if amounts and all(a is not None for a in amounts) and subtotal is not None:
        lines_sum = sum(a for a in amounts if a is not None)
        # Document-level allowances and charges (e-invoices state them) sit between the two.
        adjust = sum(
            (
                (amount if ac.get("charge") else -amount)
                for ac in fields.get("allowances_charges") or []
                if (amount := to_decimal(ac.get("amount"))) is not None
            ),
            Decimal(0),
        )
        if abs(lines_sum + adjust - subtotal) > _CENT:
            adjusted = f" (with allowances and charges {lines_sum + adjust})" if adjust else ""
            found.append(
                issue(
                    "arithmetic_mismatch",
                    f"the line items add up to {lines_sum}{adjusted}, but the subtotal says "
                    f"{subtotal}",
                    "subtotal",
                )
            )
    invoice_date, due_date = fields.get("invoice_date"), fields.get("due_date")
    if invoice_date and due_date and str(due_date) < str(invoice_date):
        found.append(
            issue(
                "due_before_invoice",
                f"due date {due_date} is before invoice date {invoice_date}",
                "due_date",
            )
        )
    return found


def id_issues(fields: dict[str, Any], vendor: Vendor | None) -> list[Issue]:
    found: list[Issue] = []
    tax_id = (fields.get("vendor_tax_id") or "").replace(" ", "").upper()
    # A Mexican RFC starts with letters too ("SIB140523Q64" is no Slovenian VAT id).
    if tax_id and tax_id[:2].isalpha() and not mexican_rfc.is_valid(tax_id):
        try:
            vatin.validate(tax_id)
        except StdnumError:
            found.append(
                issue(
                    "invalid_vat_id",
                    f"VAT id {tax_id} fails its checksum or format",
                    "vendor_tax_id",
                )
            )
        except Exception:  # countries stdnum has no VAT rules for: not checkable, not wrong
            pass
    raw_iban = (fields.get("iban") or "").replace(" ", "").upper()
    if raw_iban:
        try:
            IBAN(raw_iban)
        except SchwiftyException:
            found.append(
                issue("invalid_iban", f"IBAN {raw_iban} fails its checksum or format", "iban")
            )
        else:
            if vendor and vendor.iban and vendor.iban.replace(" ", "").upper() != raw_iban:
                found.append(
                    issue(
                        "iban_mismatch",
                        f"IBAN {raw_iban} is not the one on file for {vendor.name} "
                        f"({vendor.iban}); possible payment fraud",
                        "iban",
                    )
                )
    return found


def po_issues(fields: dict[str, Any], po: PurchaseOrder, vendor: Vendor | None) -> list[Issue]:
    found: list[Issue] = []
    if vendor and po.vendor_id != vendor.id:
        found.append(
            issue(
                "po_variance",
                f"PO {po.number} belongs to vendor {po.vendor_id}, not {vendor.id}",
                "po_number",
            )
        )
    if po.status != "open":
        found.append(issue("po_variance", f"PO {po.number} is {po.status}", "po_number"))
    currency = fields.get("currency")
    if currency and currency != po.currency:
        found.append(
            issue(
                "po_variance",
                f"invoice is in {currency}, PO {po.number} in {po.currency}",
                "currency",
            )
        )
    for item in fields.get("line_items") or []:
        described = item.get("description") or ""
        scored = [(fuzz.token_sort_ratio(line.description, described), line) for line in po.lines]
        score, best = max(scored, key=lambda pair: pair[0], default=(0.0, None))
        if best is None or score < PO_LINE_MATCH:
            continue
        price, qty = to_decimal(item.get("unit_price")), to_decimal(item.get("quantity"))
        if price is not None and price > best.unit_price * (1 + PRICE_TOLERANCE):
            found.append(
                issue(
                    "po_variance",
                    f"{item.get('description')}: unit price {price} is over PO price "
                    f"{best.unit_price} by more than {PRICE_TOLERANCE:.0%}",
                    "line_items",
                )
            )
        if qty is not None and qty > best.quantity:
            found.append(
                issue(
                    "po_variance",
                    f"{item.get('description')}: quantity {qty} is over the PO's {best.quantity}",
                    "line_items",
                )
            )
    total = to_decimal(fields.get("subtotal"))
    if total is not None and total > po.total * (1 + PRICE_TOLERANCE) and not found:
        found.append(
            issue("po_variance", f"net amount {total} exceeds PO total {po.total}", "subtotal")
        )
    return found


def parse_date(value: Any) -> dt.date | None:
    try:
        return dt.date.fromisoformat(str(value)) if value else None
    except ValueError:
        return None
