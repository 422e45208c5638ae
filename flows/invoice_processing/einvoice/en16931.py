"""CII and UBL 2.1 read into the model through the `factur-x` library.

`facturx.parse_ubl_cii_xml` knows the EN 16931 syntax bindings (the XPath of every business
term in CII D16B and in UBL Invoice / CreditNote) and answers a dict keyed by business term
("BT-1", "BG-25", ...); this module only turns that dict into `EInvoice`. It is handed an
element the hardened parser made, never bytes, so the library parses nothing itself.
"""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation
from typing import Any

from facturx import parse_ubl_cii_xml
from lxml import etree

from bpa.errors import FlowError
from flows.invoice_processing.einvoice.model import (
    AllowanceCharge,
    EInvoice,
    InvoiceLine,
    Party,
    TaxSubtotal,
    Totals,
)

__all__ = ["read_en16931"]

_IBAN = re.compile(r"^[A-Z]{2}\d{2}[A-Z0-9]{10,30}$")
_RAM = "{urn:un:unece:uncefact:data:standard:ReusableAggregateBusinessInformationEntity:100}"
#: CII EXTENDED (and ZUGFeRD 1.0) states freight as a logistics service charge, counted in
#: the charges total (BT-108) though EN 16931 has no term for it: read as a document charge.
_LOGISTICS = f"{_RAM}ApplicableHeaderTradeSettlement/{_RAM}SpecifiedLogisticsServiceCharge"


def _one(value: Any) -> Any:
    """The first of several values (the library answers a list when a term repeats)."""
    if isinstance(value, list):
        return value[0] if value else None
    return value


def _text(value: Any) -> str | None:
    value = _one(value)
    if value is None:
        return None
    text = " ".join(str(value).split())
    return text or None


def _amount(value: Any) -> Decimal | None:
    value = _one(value)
    if value in (None, ""):
        return None
    try:
        amount = Decimal(str(value).strip())
    except InvalidOperation:
        amount = Decimal("NaN")
    if not amount.is_finite():  # the XSD admits no such value: a guard, not a rule
        raise FlowError("einvoice_invalid", f"{value!r} is not a number")
    return amount


def _party(data: dict[str, Any] | None) -> Party:
    data = data or {}
    country = _text(data.get("country_code"))
    place = " ".join(p for p in (_text(data.get("postcode")), _text(data.get("city"))) if p)
    parts = [_text(data.get(f"addr_l{i}")) for i in (1, 2, 3)] + [place, country]
    return Party(
        name=_text(data.get("name")),
        trading_name=_text(data.get("biz_name")),
        vat_id=_text(data.get("vat_identifier")),
        tax_registration=_text(data.get("tax_identifier")),
        address=", ".join(p for p in parts if p) or None,
        country=country,
    )


def _line(data: dict[str, Any]) -> InvoiceLine | None:
    description = _text(data.get("BT-153")) or _text(data.get("BT-154"))
    amount = _amount(data.get("BT-131"))
    if description is None and amount is None:  # a text-only line (ZUGFeRD 1.0 allows it)
        return None
    return InvoiceLine(
        line_id=_text(data.get("BT-126")),
        description=description or "",
        quantity=_amount(data.get("BT-129")),
        unit=_text(data.get("BT-130")),
        unit_price=_amount(data.get("BT-146")),
        base_quantity=_amount(data.get("BT-149")),
        amount=amount,
        tax_category=_text(data.get("BT-151")),
        tax_rate=_amount(data.get("BT-152")),
    )


def _allowance_charge(data: dict[str, Any], *, charge: bool) -> AllowanceCharge:
    return AllowanceCharge(
        charge=charge,
        amount=_amount(data.get("amount")) or Decimal(0),
        base_amount=_amount(data.get("base_amount")),
        percent=_amount(data.get("rate")),
        reason=_text(data.get("reason")),
        reason_code=_text(data.get("reason_code")),
        tax_category=_text(data.get("vat_category_code")),
        tax_rate=_amount(data.get("vat_rate")),
    )


def _tax(data: dict[str, Any]) -> TaxSubtotal:
    return TaxSubtotal(
        category=_text(data.get("BT-118")),
        rate=_amount(data.get("BT-119")),
        taxable_amount=_amount(data.get("BT-116")),
        tax_amount=_amount(data.get("BT-117")),
        exemption_reason=_text(data.get("BT-120")),
        exemption_code=_text(data.get("BT-121")),
    )


def _logistics_charges(root: etree._Element) -> list[AllowanceCharge]:
    transaction = next(iter(root.findall(f"*/{_LOGISTICS}")), None)
    if transaction is None:
        return []
    return [
        AllowanceCharge(
            charge=True,
            amount=_amount(charge.findtext(f"{_RAM}AppliedAmount")) or Decimal(0),
            reason=_text(charge.findtext(f"{_RAM}Description")),
            tax_category=_text(charge.findtext(f"{_RAM}AppliedTradeTax/{_RAM}CategoryCode")),
            tax_rate=_amount(charge.findtext(f"{_RAM}AppliedTradeTax/{_RAM}RateApplicablePercent")),
        )
        for charge in root.findall(f"*/{_LOGISTICS}")
    ]


def _list(value: Any) -> list[Any]:
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


def read_en16931(root: etree._Element, flavor: str, level: str | None, **meta: Any) -> EInvoice:
    """`root` (CII D16B, or UBL Invoice / CreditNote) as an `EInvoice`; `meta` sets
    `source`, `syntax`, `container` and `attachment`."""
    try:
        data = parse_ubl_cii_xml(root, flavor=flavor, level=level or "en16931", check_xsd=False)
    except FlowError:
        raise
    except Exception as exc:  # the library raises bare Exceptions on what it cannot map
        raise FlowError(
            "einvoice_invalid", f"the e-invoice could not be mapped to EN 16931: {exc}"
        ) from exc
    ibans = [
        compact
        for compact in (str(v).replace(" ", "").upper() for v in _list(data.get("BT-84")))
        if _IBAN.match(compact)
    ]
    terms = [t for t in (_text(v) for v in _list(data.get("BT-20"))) if t]
    lines = [line for line in (_line(item) for item in _list(data.get("BG-25"))) if line]
    return EInvoice(
        **meta,
        profile=_text(data.get("BT-24")),
        type_code=_text(data.get("BT-3")),
        number=_text(data.get("BT-1")),
        issue_date=_one(data.get("BT-2")),
        due_date=_one(data.get("BT-9")),
        currency=_text(data.get("BT-5")),
        seller=_party(data.get("BG-4")),
        buyer=_party(data.get("BG-7")),
        buyer_reference=_text(data.get("BT-10")),
        order_reference=_text(data.get("BT-13")),
        payment_terms="; ".join(terms) or None,
        payment_means_code=_text(data.get("BT-81")),
        ibans=ibans,
        lines=lines,
        allowances_charges=[
            *(_allowance_charge(a, charge=False) for a in _list(data.get("BG-20"))),
            *(_allowance_charge(c, charge=True) for c in _list(data.get("BG-21"))),
            *_logistics_charges(root),
        ],
        tax_breakdown=[_tax(t) for t in _list(data.get("BG-23"))],
        totals=Totals(
            line_total=_amount(data.get("BT-106")),
            allowance_total=_amount(data.get("BT-107")),
            charge_total=_amount(data.get("BT-108")),
            tax_exclusive=_amount(data.get("BT-109")),
            tax_total=_amount(data.get("BT-110")),
            tax_inclusive=_amount(data.get("BT-112")),
            prepaid=_amount(data.get("BT-113")),
            rounding=_amount(data.get("BT-114")),
            payable=_amount(data.get("BT-115")),
        ),
    )
