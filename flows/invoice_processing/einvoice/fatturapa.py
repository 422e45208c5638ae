"""FatturaPA 1.2 (Italy's SdI format), read into the same model: the money and the parties.

FatturaPA is not an EN 16931 syntax, so this reader maps only what the flow books: seller,
number, date, currency, lines, the VAT summary (DatiRiepilogo), payment terms and IBAN.
Its nature codes (Natura) are kept as exemption codes; no Italian schema or rule is
checked. It has no net total of its own: the subtotal is the sum of the summary's taxable
amounts, and the total is ImportoTotaleDocumento when given, else subtotal + VAT.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal, InvalidOperation

from lxml import etree

from bpa.errors import FlowError
from flows.invoice_processing.einvoice.model import (
    EInvoice,
    InvoiceLine,
    Party,
    TaxSubtotal,
    Totals,
)

__all__ = ["read_fatturapa"]

#: TipoDocumento -> UNTDID 1001: TD04 is a credit note, TD05 a debit note, the rest invoices.
_TYPES = {"TD04": "381", "TD05": "383"}


def _text(element: etree._Element | None, path: str) -> str | None:
    found = element.findtext(path) if element is not None else None
    return " ".join(found.split()) or None if found else None


def _amount(element: etree._Element | None, path: str) -> Decimal | None:
    text = _text(element, path)
    try:
        value = Decimal(text) if text else None
    except InvalidOperation:
        value = Decimal("NaN")
    if value is not None and not value.is_finite():
        raise FlowError("einvoice_invalid", f"FatturaPA {path} {text!r} is not a number")
    return value


def _date(element: etree._Element | None, path: str) -> dt.date | None:
    text = _text(element, path)
    try:
        return dt.date.fromisoformat(text[:10]) if text else None
    except ValueError as exc:
        raise FlowError("einvoice_invalid", f"FatturaPA {path} {text!r} is not a date") from exc


def _party(element: etree._Element | None) -> Party:
    if element is None:
        return Party()
    data = element.find("DatiAnagrafici")
    country, code = _text(data, "IdFiscaleIVA/IdPaese"), _text(data, "IdFiscaleIVA/IdCodice")
    person = " ".join(
        p for p in (_text(data, "Anagrafica/Nome"), _text(data, "Anagrafica/Cognome")) if p
    )
    seat = element.find("Sede")
    place = " ".join(p for p in (_text(seat, "CAP"), _text(seat, "Comune")) if p)
    parts = [_text(seat, "Indirizzo"), place, _text(seat, "Nazione")]
    return Party(
        name=_text(data, "Anagrafica/Denominazione") or person or None,
        vat_id=f"{country}{code}" if country and code else None,
        tax_registration=_text(data, "CodiceFiscale"),
        address=", ".join(p for p in parts if p) or None,
        country=_text(seat, "Nazione"),
    )


def _line(element: etree._Element) -> InvoiceLine:
    return InvoiceLine(
        line_id=_text(element, "NumeroLinea"),
        description=_text(element, "Descrizione") or "",
        quantity=_amount(element, "Quantita"),
        unit=_text(element, "UnitaMisura"),
        unit_price=_amount(element, "PrezzoUnitario"),
        amount=_amount(element, "PrezzoTotale"),
        tax_category=None if _text(element, "Natura") else "S",
        tax_rate=_amount(element, "AliquotaIVA"),
    )


def _summary(element: etree._Element) -> TaxSubtotal:
    nature = _text(element, "Natura")
    return TaxSubtotal(
        category=None if nature else "S",
        rate=_amount(element, "AliquotaIVA"),
        taxable_amount=_amount(element, "ImponibileImporto"),
        tax_amount=_amount(element, "Imposta"),
        exemption_reason=_text(element, "RiferimentoNormativo"),
        exemption_code=nature,
    )


def read_fatturapa(root: etree._Element, name: str) -> EInvoice:
    bodies = root.findall("FatturaElettronicaBody")
    if len(bodies) != 1:
        raise FlowError(
            "einvoice_unsupported",
            f"{name} holds {len(bodies)} invoices (a FatturaPA batch); send one per file",
        )
    header, body = root.find("FatturaElettronicaHeader"), bodies[0]
    general = body.find("DatiGenerali/DatiGeneraliDocumento")
    payment = body.find("DatiPagamento")
    summaries = [_summary(s) for s in body.findall("DatiBeniServizi/DatiRiepilogo")]
    subtotal = sum((s.taxable_amount or Decimal(0) for s in summaries), Decimal(0))
    tax = sum((s.tax_amount or Decimal(0) for s in summaries), Decimal(0))
    total = _amount(general, "ImportoTotaleDocumento") or subtotal + tax
    kind = _text(general, "TipoDocumento")
    ibans = [i for i in (_text(d, "IBAN") for d in body.iter("DettaglioPagamento")) if i]
    return EInvoice(
        source="fatturapa",
        syntax="fatturapa",
        profile=root.get("versione"),
        type_code=_TYPES.get(kind or "", "380"),
        number=_text(general, "Numero"),
        issue_date=_date(general, "Data"),
        due_date=_date(payment, "DettaglioPagamento/DataScadenzaPagamento"),
        currency=_text(general, "Divisa"),
        seller=_party(header.find("CedentePrestatore") if header is not None else None),
        buyer=_party(header.find("CessionarioCommittente") if header is not None else None),
        buyer_reference=_text(header, "DatiTrasmissione/CodiceDestinatario"),
        order_reference=_text(body, "DatiGenerali/DatiOrdineAcquisto/IdDocumento"),
        payment_terms=_text(payment, "CondizioniPagamento"),
        payment_means_code=_text(payment, "DettaglioPagamento/ModalitaPagamento"),
        ibans=[i.replace(" ", "").upper() for i in ibans],
        lines=[_line(line) for line in body.findall("DatiBeniServizi/DettaglioLinee")],
        tax_breakdown=summaries,
        totals=Totals(
            line_total=None,
            tax_exclusive=subtotal,
            tax_total=tax,
            tax_inclusive=total,
            payable=_amount(payment, "DettaglioPagamento/ImportoPagamento") or total,
        ),
    )
