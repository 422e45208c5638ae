"""The EN 16931 business rules that decide whether an invoice's numbers hold together.

Each rule keeps its identifier from EN 16931-1 (BR-CO-10, BR-S-08, ...) and is evaluated
as the CEN Schematron does: sums compared after rounding to cents, a category's VAT amount
within one currency unit of taxable amount x rate. Covered: the mandatory terms the flow
relies on, the document totals (BR-CO-10 to 16), the VAT breakdown per category and rate,
and the rules of each VAT category (S, Z, E, AE, K, G, O, L, M). Not covered: code lists
beyond VAT categories, and rules about parties and references that do not move money.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

from flows.invoice_processing.einvoice.model import EInvoice

__all__ = ["Violation", "violations"]

_CENT = Decimal("0.01")
_ZERO = Decimal(0)
CATEGORIES = frozenset({"S", "Z", "E", "AE", "K", "G", "O", "L", "M"})
#: Categories whose rate is a real VAT rate; the others are 0 % (O has none at all).
_RATED = frozenset({"S", "L", "M"})
_EXEMPT = frozenset({"E", "AE", "K", "G", "O"})
#: Profiles below EN 16931 that carry no invoice lines (Factur-X MINIMUM and BASIC WL).
_LINELESS = ("minimum", "basicwl")


@dataclass(frozen=True)
class Violation:
    rule: str
    message: str


def _cents(value: Decimal) -> Decimal:
    return value.quantize(_CENT, rounding=ROUND_HALF_UP)


def _sum(values: Iterator[Decimal | None]) -> Decimal:
    return sum((v for v in values if v is not None), _ZERO)


def _lineless(invoice: EInvoice) -> bool:
    profile = (invoice.profile or "").lower().replace(" ", "")
    return any(profile.endswith(level) for level in _LINELESS)


def _mandatory(invoice: EInvoice, lineless: bool) -> Iterator[Violation]:
    required: dict[str, tuple[str, object]] = {
        "BR-02": ("BT-1 invoice number", invoice.number),
        "BR-03": ("BT-2 issue date", invoice.issue_date),
        "BR-04": ("BT-3 invoice type code", invoice.type_code),
        "BR-05": ("BT-5 currency", invoice.currency),
        "BR-06": ("BT-27 seller name", invoice.seller.name),
        "BR-13": ("BT-109 total without VAT", invoice.totals.tax_exclusive),
        "BR-14": ("BT-112 total with VAT", invoice.totals.tax_inclusive),
        "BR-15": ("BT-115 amount due", invoice.totals.payable),
    }
    if not lineless:
        required["BR-12"] = ("BT-106 sum of line net amounts", invoice.totals.line_total)
        required["BR-16"] = ("an invoice line", invoice.lines or None)
    for rule, (term, value) in required.items():
        if value is None:
            yield Violation(rule, f"{term} is missing")


def _totals(invoice: EInvoice, lineless: bool) -> Iterator[Violation]:
    t = invoice.totals
    allowances = [ac.amount for ac in invoice.allowances_charges if not ac.charge]
    charges = [ac.amount for ac in invoice.allowances_charges if ac.charge]
    checks: list[tuple[str, str, Decimal | None, Decimal | None]] = [
        ("BR-CO-11", "BT-107 allowances total", t.allowance_total, _sum(iter(allowances))),
        ("BR-CO-12", "BT-108 charges total", t.charge_total, _sum(iter(charges))),
    ]
    if not lineless:
        lines = _sum(line.amount for line in invoice.lines)
        checks.append(("BR-CO-10", "BT-106 sum of line net amounts", t.line_total, lines))
    if invoice.tax_breakdown:
        vat = _sum(tax.tax_amount for tax in invoice.tax_breakdown)
        checks.append(("BR-CO-14", "BT-110 VAT total", t.tax_total, vat))
    if t.line_total is not None:
        net = t.line_total - (t.allowance_total or _ZERO) + (t.charge_total or _ZERO)
        checks.append(("BR-CO-13", "BT-109 total without VAT", t.tax_exclusive, net))
    if t.tax_exclusive is not None:
        gross = t.tax_exclusive + (t.tax_total or _ZERO)
        checks.append(("BR-CO-15", "BT-112 total with VAT", t.tax_inclusive, gross))
    if t.tax_inclusive is not None and not (lineless and t.prepaid is None):
        # MINIMUM has no prepaid amount (BT-113): its amount due cannot be checked
        due = t.tax_inclusive - (t.prepaid or _ZERO) + (t.rounding or _ZERO)
        checks.append(("BR-CO-16", "BT-115 amount due", t.payable, due))
    for rule, term, stated, computed in checks:
        if stated is None or computed is None:
            continue
        if _cents(stated) != _cents(computed):
            yield Violation(rule, f"{term} is {stated}, but the invoice's parts make {computed}")


def _key(category: str | None, rate: Decimal | None) -> tuple[str, Decimal | None]:
    cat = category or "?"
    return cat, (_cents(rate) if rate is not None and cat in _RATED else None)


def _categories(invoice: EInvoice) -> Iterator[Violation]:
    taxable: dict[tuple[str, Decimal | None], Decimal] = defaultdict(Decimal)
    for line in invoice.lines:
        if line.tax_category is not None:
            taxable[_key(line.tax_category, line.tax_rate)] += line.amount or _ZERO
        yield from _rate_rule(line.tax_category, line.tax_rate, f"line {line.line_id or '?'}")
    for ac in invoice.allowances_charges:
        if ac.tax_category is not None:
            taxable[_key(ac.tax_category, ac.tax_rate)] += ac.amount if ac.charge else -ac.amount
        kind = "charge" if ac.charge else "allowance"
        yield from _rate_rule(ac.tax_category, ac.tax_rate, f"{kind} {ac.reason or ''}".strip())
    breakdown = {_key(t.category, t.rate): t for t in invoice.tax_breakdown}
    for key in taxable:
        if key not in breakdown and key[0] in CATEGORIES:
            yield Violation(
                f"BR-{key[0]}-01",
                f"VAT category {_label(key)} is used but missing from the VAT breakdown",
            )
    for key, tax in breakdown.items():
        category = key[0]
        if category not in CATEGORIES:
            yield Violation("BR-CL-18", f"VAT category code {tax.category!r} is not valid")
            continue
        stated = tax.taxable_amount
        if key in taxable and stated is not None and _cents(stated) != _cents(taxable[key]):
            yield Violation(
                f"BR-{category}-08",
                f"taxable amount for {_label(key)} is {stated}, but its lines, "
                f"allowances and charges make {taxable[key]}",
            )
        yield from _breakdown_rules(category, tax.rate, tax.taxable_amount, tax.tax_amount, key)
        if category in _EXEMPT and not (tax.exemption_reason or tax.exemption_code):
            yield Violation(
                f"BR-{category}-10",
                f"VAT category {category} needs an exemption reason (BT-120 or BT-121)",
            )
    yield from _party_rules(invoice, {key[0] for key in breakdown})


def _label(key: tuple[str, Decimal | None]) -> str:
    return key[0] if key[1] is None else f"{key[0]} {key[1]} %"


def _rate_rule(category: str | None, rate: Decimal | None, where: str) -> Iterator[Violation]:
    if category is None or category not in CATEGORIES:
        return
    if category == "S" and (rate is None or rate <= 0):
        yield Violation("BR-S-05", f"{where}: standard rated VAT needs a rate above 0")
    elif category in {"Z", "E", "AE", "K", "G"} and rate not in (None, _ZERO):
        yield Violation(f"BR-{category}-05", f"{where}: category {category} has rate 0, not {rate}")
    elif category == "O" and rate is not None:
        yield Violation("BR-O-05", f"{where}: 'not subject to VAT' carries no rate")


def _breakdown_rules(
    category: str,
    rate: Decimal | None,
    taxable: Decimal | None,
    tax: Decimal | None,
    key: tuple[str, Decimal | None],
) -> Iterator[Violation]:
    if tax is None or taxable is None:
        return
    if category in _RATED and rate is not None:
        expected = _cents(taxable * rate / 100)
        if abs(abs(tax) - abs(expected)) >= 1:
            yield Violation(
                f"BR-{category}-09",
                f"VAT for {_label(key)} is {tax}, but {taxable} x {rate} % is {expected}",
            )
    elif category not in _RATED and tax != 0:
        yield Violation(f"BR-{category}-09", f"VAT for category {category} must be 0, not {tax}")


def _party_rules(invoice: EInvoice, categories: set[str]) -> Iterator[Violation]:
    seller = invoice.seller
    if "S" in categories and not (seller.vat_id or seller.tax_registration):
        yield Violation("BR-S-02", "standard rated VAT needs the seller's VAT id or tax number")
    for category in {"AE", "K"} & categories:
        if not seller.vat_id:
            yield Violation(f"BR-{category}-02", f"category {category} needs the seller's VAT id")
        if not invoice.buyer.vat_id:
            yield Violation(f"BR-{category}-02", f"category {category} needs the buyer's VAT id")


def violations(invoice: EInvoice) -> list[Violation]:
    """Every EN 16931 rule above that `invoice` breaks, in rule order of the standard."""
    lineless = _lineless(invoice)
    return [
        *_mandatory(invoice, lineless),
        *_totals(invoice, lineless),
        *_categories(invoice),
    ]
