"""A second, deliberately plain reading of an e-invoice XML: the benchmark's ground truth.

It shares no code with the flow's reader (which goes through the `factur-x` library): it
walks the tree by local element names, with the CII D16B, ZUGFeRD 1.0 and UBL 2.1 names
side by side, and reads each value where EN 16931's syntax bindings put it. Two readers
written apart agreeing on every field is the evidence; one reader checked against itself
would prove nothing.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from lxml import etree

__all__ = ["truth"]

Node = etree._Element


def _kids(node: Node | None, names: str) -> list[Node]:
    if node is None:
        return []
    wanted = set(names.split("|"))
    return [c for c in node if isinstance(c.tag, str) and etree.QName(c).localname in wanted]


def _walk(node: Node | None, path: str) -> list[Node]:
    found = [node] if node is not None else []
    for step in path.split("/"):
        found = [kid for n in found for kid in _kids(n, step)]
    return found


def _first(node: Node | None, path: str) -> Node | None:
    found = _walk(node, path)
    return found[0] if found else None


def _text(node: Node | None, path: str) -> str | None:
    found = _first(node, path)
    if found is None or found.text is None:
        return None
    return " ".join(found.text.split()) or None


def _num(node: Node | None, path: str) -> Decimal | None:
    text = _text(node, path)
    return Decimal(text) if text else None


def _cii_date(node: Node | None, path: str) -> str | None:
    raw = _text(node, path)
    return f"{raw[:4]}-{raw[4:6]}-{raw[6:8]}" if raw and len(raw) == 8 else raw


def _cii(root: Node) -> dict[str, Any]:
    doc = _first(root, "ExchangedDocument|HeaderExchangedDocument")
    tx = _first(root, "SupplyChainTradeTransaction|SpecifiedSupplyChainTradeTransaction")
    agreement = _first(tx, "ApplicableHeaderTradeAgreement|ApplicableSupplyChainTradeAgreement")
    seller = _first(agreement, "SellerTradeParty")
    settlement = _first(tx, "ApplicableHeaderTradeSettlement|ApplicableSupplyChainTradeSettlement")
    currency = _text(settlement, "InvoiceCurrencyCode")
    sums = _first(
        settlement,
        "SpecifiedTradeSettlementHeaderMonetarySummation|SpecifiedTradeSettlementMonetarySummation",
    )
    vat = [
        " ".join((r.text or "").split())
        for r in _walk(seller, "SpecifiedTaxRegistration/ID")
        if r.get("schemeID") == "VA"
    ]
    taxes = [t for t in _walk(sums, "TaxTotalAmount") if t.get("currencyID") in (None, currency)]
    charges = [
        (_text(ac, "ChargeIndicator/Indicator") == "true", _num(ac, "ActualAmount"))
        for ac in _walk(settlement, "SpecifiedTradeAllowanceCharge")
    ] + [
        (True, _num(c, "AppliedAmount"))
        for c in _walk(settlement, "SpecifiedLogisticsServiceCharge")
    ]
    lines = []
    for item in _walk(tx, "IncludedSupplyChainTradeLineItem"):
        line_settlement = _first(
            item, "SpecifiedLineTradeSettlement|SpecifiedSupplyChainTradeSettlement"
        )
        amount = _num(
            line_settlement,
            "SpecifiedTradeSettlementLineMonetarySummation|SpecifiedTradeSettlementMonetarySummation"
            "/LineTotalAmount",
        )
        name = _text(item, "SpecifiedTradeProduct/Name")
        if amount is None and name is None:
            continue
        quantity = _num(
            item, "SpecifiedLineTradeDelivery|SpecifiedSupplyChainTradeDelivery/BilledQuantity"
        )
        lines.append((amount, quantity, name))
    return {
        "invoice_number": _text(doc, "ID"),
        "invoice_date": _cii_date(doc, "IssueDateTime/DateTimeString"),
        "due_date": _cii_date(
            settlement, "SpecifiedTradePaymentTerms/DueDateDateTime/DateTimeString"
        ),
        "currency": currency,
        "vendor_name": _text(seller, "Name"),
        "vendor_tax_id": vat[0] if vat else None,
        "buyer_reference": _text(agreement, "BuyerReference"),
        "po_number": _text(agreement, "BuyerOrderReferencedDocument/IssuerAssignedID|ID"),
        "payment_terms": "; ".join(
            " ".join((d.text or "").split())
            for d in _walk(settlement, "SpecifiedTradePaymentTerms/Description")
            if (d.text or "").strip()
        )
        or None,
        "iban": _text(
            settlement,
            "SpecifiedTradeSettlementPaymentMeans/PayeePartyCreditorFinancialAccount/IBANID",
        ),
        "subtotal": _num(sums, "TaxBasisTotalAmount"),
        "tax": Decimal(" ".join(taxes[0].text.split())) if taxes and taxes[0].text else None,
        "total": _num(sums, "GrandTotalAmount"),
        "amount_due": _num(sums, "DuePayableAmount"),
        "line_items": lines,
        "allowances_charges": charges,
        "tax_breakdown": [
            (
                _text(t, "CategoryCode"),
                _num(t, "RateApplicablePercent|ApplicablePercent"),
                _num(t, "BasisAmount"),
                _num(t, "CalculatedAmount"),
            )
            for t in _walk(settlement, "ApplicableTradeTax")
        ],
    }


def _ubl(root: Node) -> dict[str, Any]:
    seller = _first(root, "AccountingSupplierParty/Party")
    currency = _text(root, "DocumentCurrencyCode")
    vat = [
        _text(s, "CompanyID")
        for s in _walk(seller, "PartyTaxScheme")
        if _text(s, "TaxScheme/ID") == "VAT"
    ]
    taxes = [
        t for t in _walk(root, "TaxTotal/TaxAmount") if t.get("currencyID") in (None, currency)
    ]
    sums = _first(root, "LegalMonetaryTotal")
    return {
        "invoice_number": _text(root, "ID"),
        "invoice_date": _text(root, "IssueDate"),
        "due_date": _text(root, "DueDate") or _text(root, "PaymentMeans/PaymentDueDate"),
        "currency": currency,
        "vendor_name": _text(seller, "PartyLegalEntity/RegistrationName")
        or _text(seller, "PartyName/Name"),
        "vendor_tax_id": vat[0] if vat else None,
        "buyer_reference": _text(root, "BuyerReference"),
        "po_number": _text(root, "OrderReference/ID"),
        "payment_terms": "; ".join(
            " ".join((n.text or "").split())
            for n in _walk(root, "PaymentTerms/Note")
            if (n.text or "").strip()
        )
        or None,
        "iban": _text(root, "PaymentMeans/PayeeFinancialAccount/ID"),
        "subtotal": _num(sums, "TaxExclusiveAmount"),
        "tax": Decimal(taxes[0].text.strip()) if taxes and taxes[0].text else None,
        "total": _num(sums, "TaxInclusiveAmount"),
        "amount_due": _num(sums, "PayableAmount"),
        "line_items": [
            (
                _num(line, "LineExtensionAmount"),
                _num(line, "InvoicedQuantity|CreditedQuantity"),
                _text(line, "Item/Name"),
            )
            for line in _walk(root, "InvoiceLine|CreditNoteLine")
        ],
        "allowances_charges": [
            (_text(ac, "ChargeIndicator") == "true", _num(ac, "Amount"))
            for ac in _walk(root, "AllowanceCharge")
        ],
        "tax_breakdown": [
            (
                _text(t, "TaxCategory/ID"),
                _num(t, "TaxCategory/Percent"),
                _num(t, "TaxableAmount"),
                _num(t, "TaxAmount"),
            )
            for t in _walk(root, "TaxTotal/TaxSubtotal")
        ],
    }


def truth(xml: bytes) -> dict[str, Any] | None:
    """The fields of a CII, ZUGFeRD 1.0 or UBL invoice; None for any other XML."""
    parser = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False)
    root = etree.fromstring(xml, parser)
    name = etree.QName(root).localname
    if name in ("CrossIndustryInvoice", "CrossIndustryDocument"):
        return _cii(root)
    if name in ("Invoice", "CreditNote"):
        return _ubl(root)
    return None
