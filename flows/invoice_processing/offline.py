"""The invoice extractor of the offline backend: general text rules, no model server.

It assembles the candidates of `flows.invoice_processing.extraction` into `InvoiceFields`,
keeps the buyer's block out of the vendor fields, lets the document's arithmetic (subtotal +
tax = total) confirm the amounts, and says in `notes` what it had to guess. It never raises:
odd input (empty, binary, huge) gives an empty extraction with a low confidence, which the
flow's review step then routes to a person.
"""

from __future__ import annotations

import datetime as dt
import itertools
import re
from collections.abc import Sequence
from decimal import Decimal
from typing import Any

from bpa.models.tasks import Extraction
from flows.invoice_processing.extraction import (
    Candidate,
    Document,
    attention_line,
    balance_due,
    best,
    buyer_lines,
    find_amounts,
    find_currency,
    find_dates,
    find_ibans,
    find_invoice_numbers,
    find_line_items,
    find_po_numbers,
    find_tax_ids,
    find_totals,
    find_vendor_address,
    find_vendor_names,
    ordinary_case,
    payment_terms_days,
    rounding_amounts,
)
from flows.invoice_processing.extraction._layout import LayoutWord, layout_text
from flows.invoice_processing.schemas import InvoiceFields, LineItem

__all__ = ["parse_invoice"]

_WORD_CHAR = re.compile(r"[^\W_]")
_SPACE = re.compile(r"\s+")

#: The fields a usable invoice needs, and how much each weighs in the overall confidence.
_REQUIRED = {"vendor_name": 0.25, "invoice_number": 0.25, "invoice_date": 0.25, "total": 0.25}

#: Bulgaria pays in euros since 1 January 2026.
_EURO_COUNTRIES = "AT BE BG CY DE EE ES FI FR GR EL HR IE IT LT LU LV MT NL PT SI SK"
_EURO = frozenset(_EURO_COUNTRIES.split())
_COUNTRY_CURRENCY = {
    "GB": "GBP", "CH": "CHF", "SE": "SEK", "DK": "DKK", "NO": "NOK", "IS": "ISK",
    "PL": "PLN", "CZ": "CZK", "HU": "HUF", "RO": "RON", "TR": "TRY", "IL": "ILS",
}  # fmt: skip

#: Fields the layout reading may give; line items and amounts keep the text's arithmetic.
_LAYOUT_FIELDS = frozenset(
    {"vendor_name", "vendor_address", "vendor_tax_id", "iban", "po_number", "invoice_number"}
    | {"invoice_date", "due_date", "currency", "total"}
)
_LAYOUT_MARGIN = 0.0

#: Parametrised once and held: pydantic caches `Extraction[InvoiceFields]` only weakly, so
#: after a garbage collection each run built the class again (a millisecond of CPU).
_Extraction = Extraction[InvoiceFields]


def parse_invoice(text: str, words: Sequence[LayoutWord] = ()) -> Extraction[InvoiceFields]:
    """Extract invoice fields from plain document text (PDF text, OCR lines, mail body).

    `words`, a PDF's words with their positions (`bpa.layout.pdf_words`), add a second
    reading of the same page rebuilt from its layout (`layout_text`); each field is taken
    from the reading more sure of it, the text's on a tie.
    """
    try:
        found = _parse(text)
        if words:
            laid_out = layout_text(words)
            found = _merged(found, _parse(laid_out), _buyer_words(text), _buyer_block(laid_out))
        return found
    except Exception as exc:  # a baseline degrades to "please review", never crashes a run
        return _Extraction(
            value=InvoiceFields(),
            confidence=0.0,
            notes=[f"offline extraction failed ({type(exc).__name__}); review by hand"],
        )


def _digits_of(value: str) -> str:
    """A tax id's digits: "SK2020778804" and "DIČ: 2020778804" are one number."""
    return "".join(ch for ch in value if ch.isdigit())


def _with_country(chosen: Candidate[str], found: Sequence[Candidate[str]]) -> Candidate[str]:
    """The same number with its country prefix where the document prints it too ("DIČ:
    2021234501" and "IČ DPH: SK2021234501", "OIB" and "PDV ID: HR…"): the VAT id, which is
    what an EU VAT check and the vendor master hold."""
    if not chosen.value.isdigit():
        return chosen
    for other in found:
        prefix, digits = other.value[:2], other.value[2:]
        if prefix.isalpha() and prefix.isupper() and digits == chosen.value:
            return other.but(max(other.confidence, chosen.confidence))
    return chosen


def _buyer_words(text: str) -> str:
    """Names the text reading puts over an "Attention:" line (the buyer's), case-folded
    with their spaces closed up."""
    doc = Document(text)
    return "\n".join(
        _folded(doc.lines[i]) for i in range(len(doc) - 1) if attention_line(doc.lines[i + 1])
    )


def _buyer_block(text: str) -> str:
    """The lines of the text's buyer block (from where the buyer's column starts),
    case-folded with their spaces closed up."""
    doc = Document(text)
    return "\n".join(_folded(doc.lines[i][start:]) for i, start in buyer_lines(doc).items())


def _merged(
    text: Extraction[InvoiceFields],
    layout: Extraction[InvoiceFields],
    buyer: str = "",
    layout_buyer: str = "",
) -> Extraction[InvoiceFields]:
    """Per field, the layout reading's value where it is more confident than the text's; not
    a seller's name that the text reading finds over an "Attention:" line (a layout may set
    the buyer's name apart from it). The layout's seller and tax id also win where the text
    reading's stand in the layout's buyer block and the layout's do not ("BILL TO" and
    "FROM" side by side, which the text reading runs together on one line)."""
    values = text.value.model_dump()
    conf = dict(text.field_confidence)
    taken = []
    for name, sure in layout.field_confidence.items():
        mine, theirs = values.get(name), getattr(layout.value, name)
        if name == "vendor_name" and theirs and _folded(theirs) in buyer:
            continue
        key = _digits_of if name == "vendor_tax_id" else _folded
        if (
            name in ("vendor_name", "vendor_tax_id")
            and isinstance(mine, str)
            and isinstance(theirs, str)
            and key(mine) != key(theirs)
            and key(mine) in layout_buyer
            and key(theirs) not in layout_buyer
        ):
            values[name], conf[name] = theirs, sure
            taken.append(name)
            continue
        if (
            isinstance(mine, str)
            and isinstance(theirs, str)
            and mine != theirs
            and _folded(mine) == _folded(theirs)
        ):
            values[name] = theirs  # the same text: word boxes place the spaces better
            taken.append(name)
            continue
        if name in _LAYOUT_FIELDS and sure > conf.get(name, 0.0) + _LAYOUT_MARGIN:
            values[name] = getattr(layout.value, name)
            conf[name] = sure
            taken.append(name)
    if (
        "vendor_name" in taken
        and "vendor_tax_id" not in taken
        and layout.value.vendor_tax_id
        and _folded(text.value.vendor_name) != _folded(layout.value.vendor_name)
    ):
        # another seller than the text reading's: its tax id, not the one the text reading
        # found for the name it took (a buyer's "NIP" under a "Sprzedawca Nabywca" header)
        values["vendor_tax_id"] = layout.value.vendor_tax_id
        conf["vendor_tax_id"] = layout.field_confidence.get("vendor_tax_id", 0.0)
        taken.append("vendor_tax_id")
    if _sums_from_layout(values, layout.value):
        # a table whose cells the text reading put on lines of their own: the layout's
        # net and tax, as they add up to the total and the text reading's do not
        same_total = values.get("total") == layout.value.total
        for name in ("subtotal", "tax") if same_total else ("subtotal", "tax", "total"):
            values[name] = getattr(layout.value, name)
            conf[name] = layout.field_confidence.get(name, 0.0)
            taken.append(name)
    if not taken:
        return text
    overall = sum(weight * conf.get(name, 0.0) for name, weight in _REQUIRED.items())
    notes = [n for n in text.notes if n.split(":")[0] not in taken]
    notes.append(f"read from the page layout: {', '.join(taken)}")
    return _Extraction(
        value=InvoiceFields.model_validate(values),
        confidence=round(min(0.99, max(overall, text.confidence)), 3),
        field_confidence=conf,
        notes=notes,
    )


_HALF_UNIT = Decimal("0.5")


def _folded(name: str | None) -> str:
    """A name without its spaces, case-folded: the same name however a reading spaced it."""
    return _SPACE.sub("", name or "").casefold()


def _sums_from_layout(values: dict[str, Any], layout: InvoiceFields) -> bool:
    """Whether the layout's net and tax add up to its total (up to a rounding line's less
    than half a unit), and the text reading's do not add up to its own: one or both
    missing, another sum, or a tax above the net (no tax rate reaches 100 %: the two
    swapped). Where the totals differ, the layout's is taken with them (the text reading
    paired a table's labels with the wrong values: a balance after a deposit)."""
    if layout.total is None or not _adds_up(layout.subtotal, layout.tax, layout.total):
        return False
    total = values.get("total")
    return total is None or not _adds_up(values.get("subtotal"), values.get("tax"), total)


def _adds_up(subtotal: Decimal | None, tax: Decimal | None, total: Decimal) -> bool:
    if subtotal is None or tax is None:
        return False
    return 0 <= tax < subtotal and abs(subtotal + tax - total) < _HALF_UNIT


def _outside_buyer(doc: Document, cands: list[Candidate[str]]) -> list[Candidate[str]]:
    """Candidates not in the buyer's block; ones inside it keep a low confidence."""
    buyer = buyer_lines(doc)
    return sorted(
        (c.but(c.confidence * 0.3) if c.line in buyer else c for c in cands),
        key=lambda c: (-c.confidence, c.line),
    )


def _near_vendor(
    doc: Document, cands: list[Candidate[str]], vendor: Candidate[str] | None
) -> list[Candidate[str]]:
    """Tax ids on the seller's name's line or the few lines under it first ("Pichler GmbH ·
    Sitz Innsbruck · UID: ATU…" in a footer, while the buyer's block above carries its own
    "UID:"), not one in the buyer's block below it; the order is kept otherwise."""
    if vendor is None or vendor.line < 0:
        return cands
    buyer = buyer_lines(doc)
    near = [c for c in cands if vendor.line <= c.line <= vendor.line + 4 and c.line not in buyer]
    return near + [c for c in cands if c not in near]


def _pick_dates(
    doc: Document, notes: list[str]
) -> tuple[Candidate[dt.date] | None, Candidate[dt.date] | None]:
    dates = find_dates(doc)
    issue = best([c for c in dates if c.label == "issue"])
    if issue is None:
        unlabelled = [c for c in dates if c.label is None]
        issue = best(unlabelled)
        if issue is not None and len({c.value for c in unlabelled}) > 1:
            notes.append("invoice_date: several unlabelled dates, took the most likely")
    due = best([c for c in dates if c.label == "due"])
    if due is not None and issue is not None and due.value < issue.value:
        notes.append(f"due_date: {due.value} is before invoice_date {issue.value}")
    if due is None and issue is not None and (days := payment_terms_days(doc)):
        due = Candidate(issue.value + dt.timedelta(days=days), 0.6, -1, "terms")
        notes.append(f"due_date: computed from payment terms ({days} days)")
    for name, cand in (("invoice_date", issue), ("due_date", due)):
        if cand is not None and cand.note:
            notes.append(f"{name}: {cand.note}")
    return issue, due


def _pick_amounts(
    doc: Document, notes: list[str], conf: dict[str, float]
) -> dict[str, Decimal | None]:
    sums = find_totals(doc)
    total, subtotal, tax = best(sums["total"]), best(sums["subtotal"]), best(sums["tax"])
    out: dict[str, Decimal | None] = {"total": None, "subtotal": None, "tax": None}
    withheld, total = _withheld(sums, total, subtotal, tax)
    kept = withheld.value if withheld else Decimal(0)
    if total and subtotal and tax and subtotal.value + tax.value - kept != total.value:
        for sub in sums["subtotal"]:
            for t in sums["tax"]:
                if sub.value + t.value - kept == total.value:
                    subtotal, tax = sub, t
    if total and subtotal and tax and subtotal.value + tax.value - kept != total.value:
        wanted = total.value + kept - subtotal.value
        rounded = frozenset(abs(r) for r in rounding_amounts(doc))
        tax = _summed_tax(sums["tax"], wanted, notes, rounded) or tax
    if total and subtotal is None and len({t.line for t in sums["tax"]}) > 1:
        # several tax lines (GST and QST) and no labelled subtotal: the amount above them
        # that they complete to the total ("Amount this billing 131,750.00")
        first = min(t.line for t in sums["tax"])
        for amount in sorted({a[2] for i in range(first) for a in find_amounts(doc, i)}):
            if 0 < amount < total.value and (
                summed := _summed_tax(sums["tax"], total.value - amount, notes)
            ):
                subtotal, tax = Candidate(amount, 0.6, -1, "subtotal", "total - taxes"), summed
                break
    for name, cand in (("total", total), ("subtotal", subtotal), ("tax", tax)):
        if cand is not None:
            out[name] = cand.value
            conf[name] = cand.confidence
    if withheld is not None and subtotal and tax and total:
        out["withholding"] = withheld.value
        conf["withholding"] = withheld.confidence
    if total and subtotal and tax and subtotal.value + tax.value - kept == total.value:
        for name in ("total", "subtotal", "tax"):
            conf[name] = min(0.98, conf[name] + 0.1)
        conf["_arithmetic"] = 1.0
    elif total and subtotal and tax is None and total.value > subtotal.value:
        out["tax"] = total.value - subtotal.value
        conf["tax"] = 0.5
        notes.append("tax: not labelled, taken as total - subtotal")
    elif (
        total
        and tax
        and subtotal is None
        and withheld is None
        and 0 < tax.value < total.value
        and any(
            a[2] == total.value - tax.value for i in range(len(doc)) for a in find_amounts(doc, i)
        )
    ):
        # "Our fee amounts to €4,800.00, to which VAT of €1,104.00 is added, giving a total of
        # €5,904.00": the net is printed but not labelled as such
        out["subtotal"] = total.value - tax.value
        conf["subtotal"] = 0.5
        notes.append("subtotal: not labelled, taken as total - tax (the amount is printed)")
    elif total and subtotal and tax:
        less = f" - withholding {kept}" if kept else ""
        notes.append(
            f"amounts: subtotal {subtotal.value} + tax {tax.value}{less} != total {total.value}"
        )
    if len(sums["total"]) > 1 and total is not None:
        runner = sums["total"][1]
        if runner.value != total.value and total.confidence - runner.confidence < 0.05:
            notes.append(f"total: {total.value} chosen over {runner.value}, close call")
    if total is None:
        notes.append("total: no labelled total found")
    elif total.label == "unlabelled":
        notes.append(f"total: no label found; {total.value} guessed as the most repeated amount")
    return out


def _withheld(
    sums: dict[str, list[Candidate[Decimal]]],
    total: Candidate[Decimal] | None,
    subtotal: Candidate[Decimal] | None,
    tax: Candidate[Decimal] | None,
) -> tuple[Candidate[Decimal] | None, Candidate[Decimal] | None]:
    """The income tax withheld, when one is labelled, and the total: the withholding that,
    taken off subtotal + tax, leaves a labelled total. That total is what the vendor is
    owed, even when a gross "Total factura" above it was the likelier total."""
    if not sums["withholding"] or total is None or subtotal is None:
        return None, total
    gross = subtotal.value + (tax.value if tax else Decimal(0))
    for owed in [total, *sums["total"]]:
        for cand in sums["withholding"]:
            if cand.value > 0 and gross - cand.value == owed.value:
                return cand, owed
    return None, total


def _summed_tax(
    taxes: list[Candidate[Decimal]],
    wanted: Decimal,
    notes: list[str],
    rounded: frozenset[Decimal] = frozenset(),
) -> Candidate[Decimal] | None:
    """The tax as the sum of several tax lines (one per rate, or CGST + SGST), when some of
    them, each on its own line, add up to total - subtotal, or miss it by a rounding line's
    amount (`rounded`: "Round Off -0.41")."""
    lines: dict[int, Candidate[Decimal]] = {}
    for cand in taxes:
        lines.setdefault(cand.line, cand)
    found = list(lines.values())[:6]
    for size in range(2, len(found) + 1):
        for group in itertools.combinations(found, size):
            summed = sum((c.value for c in group), Decimal(0))
            if summed == wanted or abs(summed - wanted) in rounded:
                notes.append(f"tax: the sum of {size} tax lines")
                confidence = min(c.confidence for c in group)
                return Candidate(summed, confidence, group[0].line, "tax", "")
    return None


def _currency(
    doc: Document, lines: list[int], iban: str | None, vat: str | None
) -> Candidate[str] | None:
    found = best(find_currency(doc, near=lines))
    if found is not None:
        return found
    for ident in (iban, vat):
        country = (ident or "")[:2].upper()
        if country in _EURO:
            return Candidate("EUR", 0.5, -1, "country")
        if country in _COUNTRY_CURRENCY:
            return Candidate(_COUNTRY_CURRENCY[country], 0.5, -1, "country")
    return None


def _parse(text: str) -> Extraction[InvoiceFields]:
    doc = Document(text)
    notes: list[str] = []
    if doc.truncated:
        notes.append("text was cut to its first 100,000 characters")
    if len(_WORD_CHAR.findall("".join(doc.lines[:200]))) < 10:
        notes.append("no readable text")
        return _Extraction(value=InvoiceFields(), confidence=0.0, notes=notes)
    conf: dict[str, float] = {}
    values: dict[str, object] = {}

    def take(name: str, cand: Candidate[Any] | None) -> None:
        if cand is not None:
            values[name] = cand.value
            conf[name] = round(cand.confidence, 3)

    vendors = find_vendor_names(doc)
    vendor = best(vendors)
    if vendor is not None:
        take("vendor_name", vendor)
        values["vendor_name"] = ordinary_case(vendor.value)
    if vendor and len(vendors) > 1 and vendor.confidence - vendors[1].confidence < 0.05:
        notes.append(f"vendor_name: {vendor.value!r} chosen over {vendors[1].value!r}")
    if vendor is not None and vendor.line >= 0:
        take("vendor_address", find_vendor_address(doc, vendor.line))
    tax_ids = _near_vendor(doc, _outside_buyer(doc, find_tax_ids(doc)), vendor)
    take("vendor_tax_id", _with_country(tax_ids[0], tax_ids) if tax_ids else None)
    ibans = _outside_buyer(doc, find_ibans(doc))
    take("iban", ibans[0] if ibans else None)
    if ibans and ibans[0].label == "invalid":
        notes.append(f"iban: {ibans[0].value} fails its check digits")
    po = best(find_po_numbers(doc))
    take("po_number", po)
    numbers = [c for c in find_invoice_numbers(doc) if po is None or c.value != po.value]
    take("invoice_number", numbers[0] if numbers else None)
    issue, due = _pick_dates(doc, notes)
    take("invoice_date", issue)
    take("due_date", due)
    amounts = _pick_amounts(doc, notes, conf)
    values.update({k: v for k, v in amounts.items() if v is not None})
    if amounts["total"] is not None:
        take("amount_due", balance_due(doc, amounts["total"]))
    total_lines = [c.line for c in find_totals(doc)["total"][:2]]
    iban = ibans[0].value if ibans else None
    vat = tax_ids[0].value if tax_ids else None
    take("currency", _currency(doc, total_lines, iban, vat))
    items = find_line_items(doc)
    if items:
        values["line_items"] = [
            LineItem(description=d, quantity=q, unit_price=u, amount=a)
            for d, q, u, a in (c.value for c in items)
        ]
        conf["line_items"] = round(sum(c.confidence for c in items) / len(items), 3)
        item_sum = sum((c.value[3] or Decimal(0) for c in items), Decimal(0))
        if amounts["subtotal"] is not None and item_sum != amounts["subtotal"]:
            notes.append(
                f"line_items: they add up to {item_sum}, subtotal says {amounts['subtotal']}"
            )
    arithmetic = conf.pop("_arithmetic", 0.0)
    overall = sum(weight * conf.get(name, 0.0) for name, weight in _REQUIRED.items())
    overall = min(0.99, overall + 0.05 * arithmetic)
    for name in _REQUIRED:
        if name not in values:
            notes.append(f"{name}: not found")
    return _Extraction(
        value=InvoiceFields.model_validate(values),
        confidence=round(overall, 3),
        field_confidence={name: round(value, 3) for name, value in conf.items()},
        notes=notes,
    )
