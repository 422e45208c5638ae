"""The invoice text toolkit on small made-up snippets: languages, number formats, edge cases."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from flows.invoice_processing.extraction import (
    Document,
    best,
    buyer_lines,
    date_order,
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
    parse_amount,
    payment_terms_days,
)
from flows.invoice_processing.offline import parse_invoice


def doc(text: str) -> Document:
    return Document(text)


def dated(text: str, kind: str | None) -> dt.date | None:
    found = best([c for c in find_dates(doc(text)) if c.label == kind])
    return found.value if found else None


# --- dates -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "issue", "due"),
    [
        ("Rechnungsdatum: 14.03.2026\nFällig am: 13.04.2026", (2026, 3, 14), (2026, 4, 13)),
        (
            "Date de facture : 3 janvier 2026\nÉchéance : 2 février 2026",
            (2026, 1, 3),
            (2026, 2, 2),
        ),
        (
            "Fecha: 14 de marzo de 2026\nFecha de vencimiento: 13/04/2026",
            (2026, 3, 14),
            (2026, 4, 13),
        ),
        ("Data fattura: 5 marzo 2026\nScadenza: 04/04/2026", (2026, 3, 5), (2026, 4, 4)),
        ("Factuurdatum: 12 maart 2026\nVervaldatum: 11-04-2026", (2026, 3, 12), (2026, 4, 11)),
        ("Invoice date: March 5th, 2026\nDue date: Apr 4, 2026", (2026, 3, 5), (2026, 4, 4)),
    ],
)
def test_labelled_issue_and_due_dates_in_six_languages(
    text: str, issue: tuple[int, int, int], due: tuple[int, int, int]
) -> None:
    assert dated(text, "issue") == dt.date(*issue)
    assert dated(text, "due") == dt.date(*due)


def test_a_header_row_names_the_dates_of_the_row_below() -> None:
    text = "Invoice No. Invoice Date Due Date\nINV-7 01/02/2026 03/03/2026"
    assert dated(text, "issue") == dt.date(2026, 2, 1)
    assert dated(text, "due") == dt.date(2026, 3, 3)


def test_a_label_on_the_line_above_a_receipt_date_counts() -> None:
    assert dated("DATE:\n25/12/2018 8:13:39 PM", "issue") == dt.date(2018, 12, 25)


def test_ambiguous_dates_are_day_first_unless_the_document_says_otherwise() -> None:
    assert dated("Date: 03/04/2026\nTotal: 10,00 EUR", "issue") == dt.date(2026, 4, 3)
    us = "Acme Inc.\nSan Francisco, CA 94105\nDate: 03/04/2026\nTotal: $10.00\nTax: $0.00"
    assert date_order(doc(us)) == "MDY"
    assert dated(us, "issue") == dt.date(2026, 3, 4)


def test_an_unambiguous_date_settles_the_order_of_the_others() -> None:
    text = "Date: 03/04/2026\nDelivered: 03/25/2026"
    assert date_order(doc(text)) == "MDY"
    assert dated(text, "issue") == dt.date(2026, 3, 4)
    assert dated("Date: 03/04/2026\nDelivered: 25/03/2026", "issue") == dt.date(2026, 4, 3)


def test_impossible_and_implausible_dates_are_not_dates() -> None:
    assert find_dates(doc("Date: 31/02/2026")) == []
    assert find_dates(doc("Ref 12/34/5678 and 1851-A")) == []
    assert find_dates(doc("Date: 01.01.1850")) == []


def test_other_dates_are_told_apart_from_the_issue_date() -> None:
    text = "Lieferdatum: 10.03.2026\nRechnungsdatum: 14.03.2026"
    kinds = {c.label: c.value for c in find_dates(doc(text))}
    assert kinds == {"other": dt.date(2026, 3, 10), "issue": dt.date(2026, 3, 14)}


@pytest.mark.parametrize(
    ("text", "kinds"),
    [
        ("Teljesítés dátuma: 2026.01.20.\nSzámla kelte: 2026.01.22.", ["other", "issue"]),
        ("Date d'intervention : 14/01/2026\nDate de facture : 16/01/2026", ["other", "issue"]),
        ("Ημερομηνία: 05/01/2026\nΗμερομηνία λήξης: 04/02/2026", ["issue", "due"]),
    ],
)
def test_supply_and_due_dates_in_more_languages(text: str, kinds: list[str]) -> None:
    assert [c.label for c in find_dates(doc(text))] == kinds


def test_an_invoice_date_beats_the_tax_point() -> None:
    # the invoice date's day/month order is a guess, the tax point's is not
    text = "Invoice Date:\n04/03/2026\nTax Point:\n27/02/2026\nTotal £120.00"
    assert str(parse_invoice(text).value.invoice_date) == "2026-03-04"
    alone = "Tax Point:\n27/02/2026\nTotal £120.00"
    assert str(parse_invoice(alone).value.invoice_date) == "2026-02-27"


@pytest.mark.parametrize(
    ("text", "days"),
    [
        ("Zahlbar innerhalb von 14 Tagen ohne Abzug.", 14),
        ("Payment terms: net 30 days", 30),
        ("Paiement à 45 jours.", 45),
        ("Pago a 60 días.", 60),
        ("Thank you for your business.", None),
    ],
)
def test_payment_terms_in_words(text: str, days: int | None) -> None:
    assert payment_terms_days(doc(text)) == days


# --- money -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "decimal", "value"),
    [
        ("1.234,56 €", ",", "1234.56"),
        ("1,234.56", ".", "1234.56"),
        ("1\u00a0234,56 EUR", ",", "1234.56"),
        ("1'234.50 CHF", ".", "1234.50"),
        ("USD 1,234,567.89", ".", "1234567.89"),
        ("-RM 0.02", ".", "-0.02"),
        ("(0.01)", ".", "-0.01"),
        ("9.000", ".", "9.000"),
        ("1.234", ",", "1234"),
        ("12,5", ",", "12.5"),
    ],
)
def test_amounts_in_many_formats(text: str, decimal: str, value: str) -> None:
    assert parse_amount(text, decimal) == Decimal(value)


def test_percentages_times_and_dates_are_not_amounts() -> None:
    from flows.invoice_processing.extraction import find_amounts

    d = doc("MwSt. 19 %\n19:32:35\n25/12/2018")
    assert [find_amounts(d, i) for i in range(len(d))] == [[], [], []]


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("Total 12,00 €", "EUR"),
        ("Gesamtbetrag CHF 1'170.72", "CHF"),
        ("TOTAL (RM): 9.00", "MYR"),
        ("Total £40.00", "GBP"),
        ("Total: SEK 4,100.00", "SEK"),
        ("Summa 100 kr\nVAT No.: SE556677880801", "SEK"),
        ("Total 30,00 kr\nMVA: NO923609016MVA\nIBAN NO93 8601 1117 947", "NOK"),
        ("Total $99.00", "USD"),
        ("Währung\nCHF\nGesamtbetrag 1'170.72", "CHF"),
        # Argentina: a CUIT printed without its dashes, or the AFIP's VAT status
        ("CUIT: 30712345674\nImporte Total: $ 1250000,00", "ARS"),
        ("IVA Responsable Inscripto\nImporte Total: $ 1250000,00", "ARS"),
    ],
)
def test_currency_from_symbols_codes_and_country(text: str, code: str) -> None:
    found = best(find_currency(doc(text)))
    assert found is not None and found.value == code


def test_no_currency_when_none_is_written() -> None:
    assert find_currency(doc("TOTAL 9.00\nALL ITEMS ON TOP SHELF\nPLEASE TRY AGAIN")) == []


def sums(text: str) -> dict[str, Decimal | None]:
    found = find_totals(doc(text))
    return {
        k: (best(v).value if best(v) else None)  # type: ignore[union-attr]
        for k, v in found.items()
        if v or k != "withholding"  # only read where an invoice withholds income tax
    }


@pytest.mark.parametrize(
    ("text", "subtotal", "tax", "total"),
    [
        (
            "Subtotal 100.00\nVAT 20% 20.00\nTotal 120.00\nAmount due 120.00",
            "100.00",
            "20.00",
            "120.00",
        ),
        (
            "Nettobetrag 1.000,00 €\nMwSt. 19 % 190,00 €\nGesamtbetrag 1.190,00 €",
            "1000.00",
            "190.00",
            "1190.00",
        ),
        (
            "Total HT : 1 597,50 EUR\nTVA 20 % : 319,50 EUR\nTotal TTC : 1 917,00 EUR",
            "1597.50",
            "319.50",
            "1917.00",
        ),
        (
            "Base imponible\n465,00 €\nIVA 21 %\n97,65 €\nTotal a pagar\n562,65 €",
            "465.00",
            "97.65",
            "562.65",
        ),
        ("Imponibile 200,00\nIVA 22% 44,00\nTotale fattura 244,00", "200.00", "44.00", "244.00"),
        ("Subtotaal € 50,00\nBTW 21% € 10,50\nTotaal € 60,50", "50.00", "10.50", "60.50"),
        # ro "Total fără TVA" is the net, not a tax line
        (
            "Total fără TVA: 2.500,00 lei\nTVA: 525,00 lei\nTotal de plată: 3.025,00 lei",
            "2500.00",
            "525.00",
            "3025.00",
        ),
    ],
)
def test_labelled_sums_in_several_languages(text: str, subtotal: str, tax: str, total: str) -> None:
    assert sums(text) == {
        "subtotal": Decimal(subtotal),
        "tax": Decimal(tax),
        "total": Decimal(total),
    }


def test_a_receipt_total_is_the_rounded_amount_not_quantity_cash_or_change() -> None:
    text = (
        "ITEM(S) : 4\nQTY(S) : 4\nTOTAL QTY: 4\nTOTAL\nRM 33.92\nROUNDING ADJUSTMENT\n-RM 0.02\n"
        "TOTAL ROUNDED\nRM 33.90\nCASH\nRM 50.00\nCHANGE\nRM 16.10"
    )
    assert sums(text)["total"] == Decimal("33.90")


def test_labels_listed_before_their_values_are_paired_in_order() -> None:
    text = (
        "SUB-TOTAL (EX)\nTOTAL TAX\nROUNDING\nTOTAL\nCASH\nCHANGE\n"
        "16.98\n1.02\n0.00\n18.00\n20.00\n2.00"
    )
    assert sums(text) == {
        "subtotal": Decimal("16.98"),
        "tax": Decimal("1.02"),
        "total": Decimal("18.00"),
    }


def test_cash_minus_change_confirms_the_total() -> None:
    text = "TOTAL AMT RM 60.31\nROUNDING ADJ -0.01\nRM 60.30\nCASH RM 70.30\nCHANGE RM 10.00"
    assert sums(text)["total"] == Decimal("60.30")


# --- identifiers ------------------------------------------------------------------------


def test_ibans_are_validated_and_compacted() -> None:
    good = find_ibans(doc("IBAN: DE89 3704 0044 0532 0130 00 BIC: COBADEFFXXX"))
    assert [(c.value, c.label) for c in good] == [("DE89370400440532013000", "iban")]
    bad = find_ibans(doc("IBAN: DE89 3704 0044 0532 0130 01 BIC: COBADEFFXXX"))
    assert [(c.value, c.label) for c in bad] == [("DE89370400440532013001", "invalid")]
    assert bad[0].confidence < good[0].confidence
    assert find_ibans(doc("Order DE12 3456 7890")) == []


@pytest.mark.parametrize(
    ("text", "vat"),
    [
        ("USt-IdNr.: DE 136 695 976", "DE136695976"),
        ("N° TVA intracommunautaire : FR40303265045", "FR40303265045"),
        ("VAT Reg No: GB 980 7806 84", "GB980780684"),
        ("UID/MWST-Nr. CHE-116.281.710 MWST", "CHE116281710MWST"),
        ("NIF: ESB58378431", "ESB58378431"),
        ("Partita IVA: IT00743110157", "IT00743110157"),
        ("BTW-nummer: NL004495445B01", "NL004495445B01"),
        ("GST REG NO : 0000 6771 0976", "000067710976"),
        ("NIP: 526-025-02-74", "5260250274"),
    ],
)
def test_tax_ids_after_their_labels(text: str, vat: str) -> None:
    found = find_tax_ids(doc(text))
    assert found and found[0].value == vat


def test_a_checksum_valid_vat_id_is_trusted_more_than_a_bare_label() -> None:
    found = find_tax_ids(doc("GST No: 000689913856\nVAT: DE136695976"))
    assert [c.value for c in found] == ["DE136695976", "000689913856"]


@pytest.mark.parametrize(
    ("text", "number"),
    [
        ("Rechnung Nr. RE-2026-0042", "RE-2026-0042"),
        ("Rechnungsnummer:\n2026-10457", "2026-10457"),
        ("Facture n° F2026/17", "F2026/17"),
        ("Factura nº: A-123", "A-123"),
        ("Invoice #: INV-1001", "INV-1001"),
        ("Invoice No.: FT 2026/0094", "FT 2026/0094"),
        ("Numero fattura: 2026/77", "2026/77"),
        ("Factuurnummer: NL-555", "NL-555"),
        ("Receipt # CS00633950 DATE: 25/04/2017", "CS00633950"),
        ("Faktura VAT nr FV/2024/05/117", "FV/2024/05/117"),
        ("Fatura FT 2024/389", "FT 2024/389"),
        ("Faktura VAT\nNIP: 526-025-02-74\nNumer faktury: 17/2024", "17/2024"),
    ],
)
def test_invoice_numbers_after_multilingual_labels(text: str, number: str) -> None:
    found = find_invoice_numbers(doc(text))
    assert found and found[0].value == number


def test_an_invoice_number_is_never_a_date() -> None:
    assert find_invoice_numbers(doc("Invoice date: 12/03/2026")) == []


@pytest.mark.parametrize(
    ("text", "numbers"),
    [
        ("VAT nr: 5260250274\nUSt-Nr. 12345/678", []),
        ("Invoice VAT No: GB123456789\nInvoice No: INV-1001", ["INV-1001"]),
        ("Rechnung MwSt-Nr. DE123456789\nRechnungsnummer: 2024-0815", ["2024-0815"]),
        ("INVOICE DATE 12/03/2024\nINVOICE NO 55123", ["55123"]),
        ("INVOICE PO 4500012345", []),
        ("Invoice VAT 20% 150.00", []),
    ],
)
def test_a_tax_id_a_date_or_an_order_after_the_document_word_is_not_its_number(
    text: str, numbers: list[str]
) -> None:
    assert [c.value for c in find_invoice_numbers(doc(text))][:1] == numbers


@pytest.mark.parametrize(
    ("text", "number"),
    [
        ("Bestellnummer: 4500012345", "4500012345"),
        ("Bon de commande : BC-889", "BC-889"),
        ("Pedido\nPO-2026-0016", "PO-2026-0016"),
        ("Purchase Order: 12345", "12345"),
        ("Your order #: A-77", "A-77"),
    ],
)
def test_po_numbers(text: str, number: str) -> None:
    found = find_po_numbers(doc(text))
    assert found and found[0].value == number


# --- parties ----------------------------------------------------------------------------

LETTER = """Müller Bürobedarf GmbH
Hauptstraße 42
80331 München
USt-IdNr.: DE 136 695 976
RECHNUNG
Rechnungsempfänger:
Kunde & Partner AG
Musterstraße 1
10115 Berlin
Rechnungsnummer: RE-1"""


def test_the_vendor_is_the_issuer_not_the_buyer() -> None:
    vendors = find_vendor_names(doc(LETTER))
    assert vendors[0].value == "Müller Bürobedarf GmbH"
    assert all(c.value != "Kunde & Partner AG" for c in vendors)


def test_the_vendor_address_follows_its_name() -> None:
    d = doc(LETTER)
    address = find_vendor_address(d, find_vendor_names(d)[0].line)
    assert address is not None and address.value == "Hauptstraße 42, 80331 München"


def test_a_vendor_only_in_the_footer_is_still_found_when_the_buyer_comes_first() -> None:
    text = (
        "Bill to:\nBig Buyer Ltd\n1 High Street\nLondon\nINVOICE\nInvoice No: 77\n"
        "Total: £100.00\nGreenleaf Gardening Ltd · 12 Park Road · Leeds · VAT No GB980780684"
    )
    assert find_vendor_names(doc(text))[0].value == "Greenleaf Gardening Ltd"


def test_a_receipt_name_loses_its_registration_number_and_joins_a_broken_line() -> None:
    text = (
        "TAN WOON YANN\nPOPULAR BOOK\nCO. (M) SDN BHD (113825-W)\nNO 8, JALAN 7/118B\n"
        "DATE: 01/03/18"
    )
    assert find_vendor_names(doc(text))[0].value == "POPULAR BOOK CO. (M) SDN BHD"


def test_from_label_names_the_vendor() -> None:
    text = "From: Nordic Widgets <billing@nordicwidgets.example>\nTo: Someone Else GmbH\nHello"
    assert find_vendor_names(doc(text))[0].value == "Nordic Widgets"


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("CONTOSO FACILITIES LTD", "Contoso Facilities Ltd"),
        ("ROSSI FORNITURE S.R.L.", "Rossi Forniture S.r.l."),
        ("IBM DEUTSCHLAND GMBH", "IBM Deutschland GmbH"),
        ("Acme Widgets GmbH", "Acme Widgets GmbH"),
    ],
)
def test_letterhead_capitals_become_ordinary_case(name: str, expected: str) -> None:
    assert ordinary_case(name) == expected


# --- line items -------------------------------------------------------------------------


def rows(text: str) -> list[tuple[str, Decimal | None, Decimal | None, Decimal | None]]:
    return [c.value for c in find_line_items(doc(text))]


def test_line_items_from_a_table_row_by_row() -> None:
    text = (
        "Description Qty Unit price Amount\nOffice cleaning, January 2026 1 860.00 860.00\n"
        "Window cleaning 2 120.00 240.00\nSubtotal 1,100.00"
    )
    assert rows(text) == [
        ("Office cleaning, January 2026", Decimal(1), Decimal("860.00"), Decimal("860.00")),
        ("Window cleaning", Decimal(2), Decimal("120.00"), Decimal("240.00")),
    ]


def test_line_items_from_a_table_read_cell_by_cell() -> None:
    text = (
        "Bezeichnung\nMenge\nEinzelpreis\nBetrag\nDichtring NBR 40 x 3\n9\n55,13\n496,17\n"
        "Brochures\n1\n1 240,00\n1 240,00\nZwischensumme\n1.736,17 €"
    )
    assert rows(text) == [
        ("Dichtring NBR 40 x 3", Decimal(9), Decimal("55.13"), Decimal("496.17")),
        ("Brochures", Decimal(1), Decimal("1240.00"), Decimal("1240.00")),
    ]


def test_line_items_written_as_sentences() -> None:
    text = (
        "–  40 × Pallet storage at €12.50 each: €500.00\n"
        "  2 x Stapler at SEK 345.00 each = SEK 690.00"
    )
    assert rows(text) == [
        ("Pallet storage", Decimal(40), Decimal("12.50"), Decimal("500.00")),
        ("Stapler", Decimal(2), Decimal("345.00"), Decimal("690.00")),
    ]


# --- odd input --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    ["", "   \n\n\t", "\x00\x01\x02\xff" * 500, "€€€ %%% ### 12/ /34", "Total:\nDate:\nIBAN:"],
)
def test_odd_text_gives_no_candidates_and_no_error(text: str) -> None:
    d = doc(text)
    assert find_dates(d) == []
    assert find_ibans(d) == []
    assert find_invoice_numbers(d) == []
    assert find_line_items(d) == []
    assert all(v == [] for v in find_totals(d).values())


def test_huge_text_is_cut_and_still_read() -> None:
    d = doc("Rechnungsdatum: 14.03.2026\n" + "Zeile ohne Inhalt\n" * 20_000)
    assert d.truncated
    assert dated("Rechnungsdatum: 14.03.2026", "issue") == find_dates(d)[0].value


# --- layouts and wordings the sample invoices do not use --------------------------------


def test_a_date_after_the_invoice_number_is_its_issue_date() -> None:
    assert dated("Rechnung Nr. 2026-17 vom 05.03.2026", "issue") == dt.date(2026, 3, 5)
    assert dated("Fattura n. 118/2026 del 12/03/2026", "issue") == dt.date(2026, 3, 12)
    assert dated("Ihre Bestellung Nr. B-4471 vom 01.03.2026", "other") == dt.date(2026, 3, 1)
    assert dated("Bitte zahlen Sie bis zum 19.03.2026.", "due") == dt.date(2026, 3, 19)
    assert payment_terms_days(doc("Terms: Net 30")) == 30


def test_numbers_after_italian_and_german_abbreviations() -> None:
    assert find_invoice_numbers(doc("Fattura n. 118/2026 del 12/03/2026"))[0].value == "118/2026"
    assert find_po_numbers(doc("Ordine n. 4500-77"))[0].value == "4500-77"
    assert find_po_numbers(doc("Ihre Bestellung Nr. B-4471 vom 01.03.2026"))[0].value == "B-4471"


def test_a_postcode_line_is_never_the_vendor() -> None:
    text = "Bakkerij De Vries B.V.\nDorpsstraat 12\n1234 AB Utrecht\nBTW-nr: NL004495445B01"
    d = doc(text)
    vendors = find_vendor_names(d)
    assert vendors[0].value == "Bakkerij De Vries B.V."
    assert all("Utrecht" not in c.value for c in vendors)
    address = find_vendor_address(d, vendors[0].line)
    assert address is not None and address.value == "Dorpsstraat 12, 1234 AB Utrecht"


def test_a_letterhead_merged_with_the_title_column() -> None:
    text = "Acme Supplies Ltd INVOICE\n1200 Industrial Way Invoice #: 10023\nP.O. Number: 7781-A"
    d = doc(text)
    assert find_vendor_names(d)[0].value == "Acme Supplies Ltd"
    address = find_vendor_address(d, 0)
    assert address is not None and address.value == "1200 Industrial Way"


def test_a_net_line_is_the_subtotal_and_a_spanish_cif_is_validated() -> None:
    assert sums("Net £1,575.00\nVAT @ 20% £315.00\nTotal due £1,890.00") == {
        "subtotal": Decimal("1575.00"),
        "tax": Decimal("315.00"),
        "total": Decimal("1890.00"),
    }
    found = find_tax_ids(doc("C/ Mayor 10, 28013 Madrid - CIF B58378431"))
    assert found[0].value == "B58378431" and found[0].confidence >= 0.8


def test_line_items_with_the_quantity_column_first_and_french_headers() -> None:
    assert rows(
        "QTY DESCRIPTION UNIT PRICE AMOUNT\n3 Widget, large 25.00 75.00\nSubtotal 75.00"
    ) == [("Widget, large", Decimal(3), Decimal("25.00"), Decimal("75.00"))]
    assert rows("Désignation Qté P.U. HT Montant HT\nCroissants 200 0,90 180,00\nMontant HT") == [
        ("Croissants", Decimal(200), Decimal("0.90"), Decimal("180.00"))
    ]


@pytest.mark.parametrize(
    ("text", "total"),
    [
        # the tax is unreadable here, so subtotal + tax cannot confirm the gross total:
        # the prepayment between the gross total and the amount due does
        ("Bruttosumme 1021,91\nErhaltene Anzahlungen -500,00\nZahlbetrag 521,91", "1021.91"),
        ("Invoice total 1,200.00\nDeposit received (400.00)\nBalance due 800.00", "1200.00"),
        # no payment between them: the amount due stands; a discount is no payment
        ("Bruttosumme 1021,91\nZahlbetrag 521,91", "521.91"),
        ("Invoice total 500.00\nLoyalty discount -50.00\nAmount due 450.00", "450.00"),
        (
            "Total Amount 25.00\nDiscount -5.00\nGrand Total 20.00\nCash 50.00\nChange 30.00",
            "20.00",
        ),
    ],
)
def test_a_gross_total_above_a_payment_is_the_total_not_the_balance(text: str, total: str) -> None:
    assert sums(text)["total"] == Decimal(total)


@pytest.mark.parametrize(
    ("text", "total"),
    [
        ("Current charges 120.00\nPrevious balance 50.00\nTotal amount due 170.00", "120.00"),
        (
            "Beitrag inklusive 19 % Versicherungsteuer 220,00 €\n"
            "Ausstehende Forderung am Ausstellungstag 220,00 €\nzu zahlender Beitrag 440,00 €",
            "220.00",
        ),
        # the earlier balance was paid: the amount due is this invoice's
        (
            "Previous balance 50.00\nPayment received -50.00\nCurrent charges 120.00\n"
            "Total due 120.00",
            "120.00",
        ),
        (
            "Previous balance 35.00\nPayment received -35.00\nLine rental 35.00\n"
            "Subtotal 35.00\nVAT 7.00\nTotal amount due 42.00",
            "42.00",
        ),
        # subtotal + tax confirm the amount due: an outstanding amount does not move it
        ("Subtotal 100.00\nVAT 20.00\nOutstanding amount 100.00\nAmount due 120.00", "120.00"),
    ],
)
def test_an_earlier_balance_carried_into_the_amount_due_is_not_this_invoices(
    text: str, total: str
) -> None:
    assert sums(text)["total"] == Decimal(total)


@pytest.mark.parametrize(
    ("text", "tax_id"),
    [
        # the next column is not part of the number
        ("ABN: 64 636 506 132    Lic. No. 287114C", "64636506132"),
        ("Partita IVA: 30182980786   Cod. Fiscale: RSSMRA80A01H501U", "30182980786"),
        # one number for two ids, and the Portuguese taxpayer label
        ("P.IVA e C.F. 09161460481", "09161460481"),
        ("Contribuinte n.º 521740380", "521740380"),
        ("GSTIN/UIN: 27AAPFU0939F1ZV", "27AAPFU0939F1ZV"),
    ],
)
def test_tax_id_labels_and_their_values_end_where_the_number_does(text: str, tax_id: str) -> None:
    found = find_tax_ids(doc(text))
    assert found and found[0].value == tax_id


@pytest.mark.parametrize(
    ("text", "number"),
    [
        ("Credit Note Number: CN-00412\nOriginal Invoice: INV-01977", "CN-00412"),
        ("FATURA-RECIBO FR 2024A1/312", "FR 2024A1/312"),
    ],
)
def test_credit_note_and_invoice_receipt_numbers(text: str, number: str) -> None:
    found = best(find_invoice_numbers(doc(text)))
    assert found is not None and found.value == number


def test_total_iva_is_the_tax_and_total_con_iva_the_total() -> None:
    assert sums("Total IVA 36,31\nTOTAL 410,00 EUR")["total"] == Decimal("410.00")
    assert sums("Subtotal 100,00\nIVA 21% 21,00\nTotal con IVA 121,00")["total"] == Decimal(
        "121.00"
    )


@pytest.mark.parametrize(
    "line",
    [
        "Lyon, le 22 mars 2024",
        "Dresden, den 22.03.2024",
        "Milano, lì 22 marzo 2024",
        "Warszawa, dnia 22.03.2024",
    ],
)
def test_a_letters_place_and_date_is_the_issue_date(line: str) -> None:
    text = f"{line}\nFacture n° 7 selon devis du 11/03/2024"
    assert dated(text, "issue") == dt.date(2024, 3, 22)


def test_a_gstin_run_on_into_the_next_column_is_cut_to_its_valid_length() -> None:
    found = find_tax_ids(doc("GSTIN/UIN: 27AAPFU0939F1ZV 30 Days"))
    assert found and found[0].value == "27AAPFU0939F1ZV" and found[0].confidence == 0.9
    # written in one piece, a longer id is not cut where a prefix happens to check (the
    # first 11 digits of these pass a Croatian OIB's check)
    assert find_tax_ids(doc("TRN: 100354872900003"))[0].value == "100354872900003"
    assert find_tax_ids(doc("TIN: 20991574-0001"))[0].value == "209915740001"


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("ABN: 64 636 506 132\nTotal $634.04", "AUD"),
        ("GST/HST No. 123456789 RT0001\nTotal $5.00", "CAD"),
        # an address is no cue: the buyer's or the ship-to address may be abroad
        ("Bill To: Melbourne VIC 3000\nTotal $10.00", "USD"),
        ("ABN (Advance Beneficiary Notice)\nTotal $5.00", "USD"),
        ("Springfield, IL 62704\nTotal $5.00", "USD"),
        ("ABN AMRO Bank\nTotal $5.00", "USD"),
    ],
)
def test_a_dollar_is_the_currency_of_the_country_the_document_comes_from(
    text: str, code: str
) -> None:
    found = best(find_currency(doc(text)))
    assert found is not None and found.value == code


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("Total due: ₦ 2,631,062.50", "NGN"),
        ("Amount due NGN 2,631,062.50", "NGN"),
        ("TOTAL KSh 359,310.00", "KES"),
        ("Importe Total    :    S/   21,771.00", "PEN"),
        ("Total EGP 48,450.00", "EGP"),
    ],
)
def test_currencies_of_nigeria_kenya_peru_and_egypt(text: str, code: str) -> None:
    found = best(find_currency(doc(text)))
    assert found is not None and found.value == code


def test_a_serial_number_is_no_currency() -> None:
    assert best(find_currency(doc("S/N 48812-22\nQty 2"))) is None


def test_a_number_written_like_a_date_that_cannot_be_one_is_the_number() -> None:
    found = best(find_invoice_numbers(doc("Faktura nr 47/04/2024\nData wystawienia: 30.04.2024")))
    assert found is not None and found.value == "47/04/2024"
    assert best(find_invoice_numbers(doc("Invoice 12/04/2024\nTotal 5.00"))) is None


def test_a_date_shaped_number_after_a_number_label_is_the_number() -> None:
    """Polish invoices are numbered by month: "nr 3/03/2024" is the third of March's."""
    for text, number in [
        ("FAKTURA nr 3/03/2024\nData wystawienia: 04.03.2024", "3/03/2024"),
        ("Faktura VAT nr 12/05/2024\nData wystawienia: 20.05.2024", "12/05/2024"),
    ]:
        found = best(find_invoice_numbers(doc(text)))
        assert found is not None and found.value == number
    labelled = doc("Invoice No: INV-7781\nInvoice 03/12/2024\nTotal 5.00")
    assert [c.value for c in find_invoice_numbers(labelled)] == ["INV-7781"]


@pytest.mark.parametrize(
    "text",
    [
        "INVOICE # DATE P.O. # TERMS DUE DATE\n10458 03/05/2024 CDG-7781 Net 30 04/04/2024",
        "Rechnung Nr. Datum Kunden-Nr. Ihre Bestellung Seite\n10458 18.03.2024 D-2207 4500 1/1",
    ],
)
def test_a_header_row_that_does_not_pair_up_still_gives_its_first_column(text: str) -> None:
    found = best(find_invoice_numbers(doc(text)))
    assert found is not None and found.value == "10458"


def test_a_weekday_before_a_date_is_no_place_and_a_year_no_invoice_number() -> None:
    assert dated("Payment due by\nFriday, April 19, 2024", "due") == dt.date(2024, 4, 19)
    text = "Rechnungsnummer Datum Seite\n2024 0017 05.03.2024 1 von 1"
    assert best(find_invoice_numbers(doc(text))) is None


# --- sums whose labels mislead ---------------------------------------------------------

HEAD = "Acme Widgets Ltd\n1 High Street, Leeds LS1 1AA\nInvoice No: 1001\nDate: 12/03/2024\n"


def _amounts(text: str) -> tuple[Decimal | None, Decimal | None, Decimal | None]:
    fields = parse_invoice(text).value
    return fields.subtotal, fields.tax, fields.total


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # payment terms are no net amount
        (
            HEAD + "Terms:\nNet 30\nSubtotal\n1,000.00\nSales Tax\n82.50\nTotal\n1,082.50\n",
            ("1000.00", "82.50", "1082.50"),
        ),
        # after a discount, the bare "Net" alone on its line is the sum before VAT
        (
            HEAD + "Subtotal\n£4,340.00\nDiscount (10%)\n-£434.00\nNet\n£3,906.00\n"
            "VAT (20%)\n£781.20\nTotal\n£4,687.20\n",
            ("3906.00", "781.20", "4687.20"),
        ),
        # "Net Total" followed by VAT and another total is the subtotal
        (
            HEAD + "Net Total\n£1,350.00\nVAT @ 20%\n£270.00\nTotal\n£1,620.00\n",
            ("1350.00", "270.00", "1620.00"),
        ),
        # the amount after "auf" is the base the rate applies to; the tax is below it
        (
            "Muster GmbH\nRechnungsnr.: R-1\nDatum: 03.03.2024\nNettobetrag\n1.000,00 €\n"
            "zzgl. 19 % MwSt. auf 1.000,00\n190,00 €\nGesamtbetrag\n1.190,00 €\n",
            ("1000.00", "190.00", "1190.00"),
        ),
        # Belgian "Total HTVA" is the sum before VAT
        (
            "Brasserie X SRL\nFacture n° : 2024/0456\nDate de facture : 03/12/2024\n"
            "Total HTVA\n1 370,00 EUR\nTVA 21 %\n287,70 EUR\nTotal TVAC\n1 657,70 EUR\n",
            ("1370.00", "287.70", "1657.70"),
        ),
    ],
)
def test_sums_are_read_by_what_their_labels_mean(text: str, expected: tuple[str, ...]) -> None:
    assert _amounts(text) == tuple(Decimal(v) for v in expected)


def test_a_receipts_nett_total_is_still_the_amount_paid() -> None:
    text = "KEDAI ABC SDN BHD\nTOTAL QTY: 2\nNETT TOTAL: $8.20\nCASH 10.00\nCHANGE 1.80\n"
    assert _amounts(text)[2] == Decimal("8.20")


def test_a_polish_account_number_without_its_country_is_the_iban() -> None:
    found = find_ibans(
        doc("Sprzedawca: Nowak Sp. z o.o.\nNr konta: 61 1090 1014 0000 0712 1981 2874")
    )
    assert [c.value for c in found] == ["PL61109010140000071219812874"]
    wrong = doc("Nr konta: 62 1090 1014 0000 0712 1981 2874")  # a check digit off
    assert find_ibans(wrong) == []


@pytest.mark.parametrize(
    ("text", "days"),
    [
        ("Payment terms: 30 days", 30),
        ("Mode/Terms 30 Days", 30),
        ("Conditions de paiement : 30 jours net", 30),
        ("Zahlungsziel: 14 Tage", 14),
        ("Zahlbar 30 Tage netto", 30),
        ("Delivery within 3 days\nPayment terms: 30 days", 30),
        ("Returns accepted within 30 days", None),
        ("Payment within 14 days of delivery", 14),
    ],
)
def test_days_to_pay_after_a_terms_label_or_before_net(text: str, days: int | None) -> None:
    assert payment_terms_days(doc(text)) == days


@pytest.mark.parametrize(
    ("text", "number"),
    [
        ("Summit Roofing, Inc.\nInvoice\nNumber\nSR-7719\nDate\nMay 6th, 2024", "SR-7719"),
        ("Laura Gómez Ruiz\nFACTURA\nNúmero:\n2024-015\nFecha:\n12/03/2024", "2024-015"),
        ("Ferramenta Bianchi\nFATTURA\nNumero\n57\nData\n12/03/2024", "57"),
    ],
)
def test_a_bare_number_label_under_the_title_is_the_invoice_number(text: str, number: str) -> None:
    found = best(find_invoice_numbers(doc(text)))
    assert found is not None and found.value == number


def test_a_bare_number_label_far_from_the_title_is_not_taken() -> None:
    text = "INVOICE\nDate: 12/03/2024\nTotal 5.00\nCustomer\nAcme\nNumber\n55-1234"
    assert find_invoice_numbers(doc(text)) == []


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # thousands grouped by spaces beside a currency (South Africa, Sweden)
        (
            "Karoo Supplies\nInvoice No: 77\nDate: 01/03/2024\nSubtotal R 1 796.00\n"
            "VAT (15%) R 269.40\nTotal due R 2 065.40\n",
            ("1796.00", "269.40", "2065.40"),
        ),
        # "Total before VAT" is the subtotal, not a tax
        (
            "Gulfspan Trading\nInvoice No: 12\nDate: 01/03/2024\nTotal before VAT AED 11,580.00\n"
            "Total VAT AED 579.00\nGrand Total AED 12,159.00\n",
            ("11580.00", "579.00", "12159.00"),
        ),
        # Canadian sales taxes, in English and French
        (
            "Maple Ridge Ltd\nInvoice No: 5\nDate: 01/03/2024\nAmount this billing 131,750.00\n"
            "GST 5% 6,587.50\nQST 9.975% 13,142.06\nTotal 151,479.56\n",
            ("131750.00", "19729.56", "151479.56"),
        ),
        (
            "Les Ateliers Roy inc.\nFacture n° 88\nDate : 01/03/2024\nSous-total 2 001,50 $\n"
            "TPS 5 % 100,08 $\nTVQ 9,975 % 199,65 $\nTotal 2 301,23 $\n",
            ("2001.50", "299.73", "2301.23"),
        ),
    ],
)
def test_sums_in_more_countries_styles(text: str, expected: tuple[str, ...]) -> None:
    assert _amounts(text) == tuple(Decimal(v) for v in expected)


def test_space_grouped_numbers_without_a_currency_stay_apart() -> None:
    """A quantity and a price in a table row are not one amount."""
    line = doc("Workshop 1 6 500,00 6 500,00")
    assert [str(a[2]) for a in find_amounts(line, 0)] == ["1", "6500.00", "6500.00"]
    assert [str(a[2]) for a in find_amounts(doc("Total 1 845 kr"), 0)] == ["1845"]


def test_a_net_column_heading_is_no_subtotal() -> None:
    text = HEAD + "Item\nNet\n101\nWidgets\n473.50\nVAT 20%\n94.70\nTotal\n568.20\n"
    assert _amounts(text)[0] != Decimal("101")


def test_a_total_guessed_without_a_label_says_so() -> None:
    # a made-up word: no language's sum label ("Att betala" is now read as the amount due)
    text = "Lindqvist AB\nWorkshop 1 6 500,00 6 500,00\nFrobnitz 13 000,00 kr\n"
    notes = parse_invoice(text).notes
    assert any("guessed" in n for n in notes)


def test_tax_stated_as_included_is_the_tax() -> None:
    assert _amounts(HEAD + "Total DKK 5.409,00\nHeraf moms 25% 1.081,80\n")[1] == Decimal("1081.80")
    text = "Muster GmbH\nRechnung Nr. 12\nGesamtbetrag 119,00 EUR\ndavon MwSt. 19 % 19,00 EUR\n"
    assert _amounts(text)[1:] == (Decimal("19.00"), Decimal("119.00"))


def test_the_dollar_of_mexico_and_new_zealand_and_their_tax_ids() -> None:
    mx = parse_invoice("Nube Clara S.A. de C.V.\nRFC: NCL180312AA0\nTotal $14,500.00\n").value
    assert (mx.currency, mx.vendor_tax_id) == ("MXN", "NCL180312AA0")
    nz = parse_invoice("Kowhai Energy Limited\nGST No. 098-765-432\nTotal due $187.45\n").value
    assert nz.currency == "NZD"
    ca = find_tax_ids(doc("Dana Whitfield\nHST # 639976927 RT0001\nInvoice No: DW-0042"))
    assert [c.value for c in ca] == ["639976927RT0001"]


def test_a_label_in_two_languages_still_gives_its_number() -> None:
    found = best(find_invoice_numbers(doc("Invoice No. / Číslo faktury: 2024-0042\nDate 1.3.2024")))
    assert found is not None and found.value == "2024-0042"


SPANISH_FREELANCER = """Laura Martín Gómez
Diseño gráfico
C/ Mayor 12, 28013 Madrid
NIF: 12345678Z

FACTURA
Nº factura: 2024/017
Fecha: 15/03/2024

Cliente:
Estudio Norte S.L.
CIF: B12345678

Base imponible                 1.200,00 €
IVA 21%                          252,00 €
IRPF -15%                       -180,00 €
Total factura                  1.272,00 €
"""


@pytest.mark.parametrize(
    ("sums", "expected"),
    [
        (  # the income tax withheld comes off what the vendor is paid
            "Base imponible 1.200,00 €\nIVA 21% 252,00 €\nIRPF -15% -180,00 €\n"
            "Total factura 1.272,00 €\n",
            ("1200.00", "252.00", "180.00", "1272.00"),
        ),
        (  # a gross total above the withholding, then the amount owed
            "Base imponible 1.000,00\nIVA (21%) 210,00\nTotal factura 1.210,00\n"
            "Retención IRPF (15%) -150,00\nTotal a pagar 1.060,00\n",
            ("1000.00", "210.00", "150.00", "1060.00"),
        ),
        (  # Italy: "Netto a pagare" is what is owed, not a net amount
            "Imponibile 1.000,00\nIVA 22% 220,00\nRitenuta d'acconto 20% -200,00\n"
            "Netto a pagare 1.020,00\n",
            ("1000.00", "220.00", "200.00", "1020.00"),
        ),
        (  # a "withholding" line that does not make the sums add up is not taken
            "Subtotal 100.00\nVAT 20.00\nWithholding tax exemption certificate 12.00\n"
            "Total 120.00\n",
            ("100.00", "20.00", None, "120.00"),
        ),
    ],
)
def test_income_tax_withheld_is_read_and_taken_off_the_total(
    sums: str, expected: tuple[str | None, ...]
) -> None:
    found = parse_invoice(HEAD + sums)
    got = (found.value.subtotal, found.value.tax, found.value.withholding, found.value.total)
    assert got == tuple(None if e is None else Decimal(e) for e in expected)
    assert not any(n.startswith("amounts:") for n in found.notes)


def test_a_sole_traders_name_above_their_trade_is_the_vendor() -> None:
    assert parse_invoice(SPANISH_FREELANCER).value.vendor_name == "Laura Martín Gómez"
    italian = "Dott. Marco Bianchi\nConsulente informatico\nVia Roma 10, 20121 Milano\n"
    assert parse_invoice(italian + "FATTURA N. 12/2024\n").value.vendor_name == (
        "Dott. Marco Bianchi"
    )
    # a company's own second line with its legal form still wins
    acme = "Acme\nAcme Widgets GmbH\nIndustriestr. 1, 10115 Berlin\nRechnung Nr. 5\n"
    assert parse_invoice(acme).value.vendor_name == "Acme Widgets GmbH"


def test_an_issuer_label_with_a_tax_id_after_the_name_gives_the_name() -> None:
    text = (
        "FACTURA Nº A-2024-031\nFecha de emisión: 02/04/2024\n\n"
        "Emisor: Javier Ortega Ruiz, NIF 45678912K\nAvda. de la Constitución 7, 41001 Sevilla\n\n"
        "Cliente: Talleres Giralda S.L. (CIF B41234567)\n\n"
        "Base imponible 1.000,00\nIVA (21%) 210,00\nTotal factura 1.210,00\n"
        "Retención IRPF (15%) -150,00\nTotal a pagar 1.060,00\n"
    )
    assert parse_invoice(text).value.vendor_name == "Javier Ortega Ruiz"


# --- Nordic and Czech invoices -----------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "Nordisk Kontor AB\nSumma exkl. moms 16 995,00\nMoms 25 % 4 248,75\n"
            "Att betala SEK 21 243,75\n",
            ("16995.00", "4248.75", "21243.75"),
        ),
        (
            "Fjord Consulting ApS\nTotal ekskl. moms 49.625,00\nMoms (25%) 12.406,25\n"
            "I alt DKK 62.031,25\n",
            ("49625.00", "12406.25", "62031.25"),
        ),
        (
            "Leipomo Oy\nVeroton yhteensä 405,00\nALV 24 % 97,20\nMaksettava yhteensä 502,20 EUR\n",
            ("405.00", "97.20", "502.20"),
        ),
        (
            "Leipomo Oy\nYhteensä ilman alv 405,00\nArvonlisävero 24 % 97,20\n"
            "Laskun loppusumma 502,20 EUR\n",
            ("405.00", "97.20", "502.20"),
        ),
        (
            "Gastro a.s.\nCelkem bez DPH: 97 100,00 Kč\nDPH 21 %: 20 391,00 Kč\n"
            "Celkem k úhradě: 117 491,00 Kč\n",
            ("97100.00", "20391.00", "117491.00"),
        ),
        (
            "Fjellvent AS\nSum eks. mva 19 760,00\nMerverdiavgift 25 % 4 940,00\n"
            "Å betale NOK 24 700,00\n",
            ("19760.00", "4940.00", "24700.00"),
        ),
    ],
    ids=["sv", "da", "fi", "fi-ilman", "cs", "no"],
)
def test_nordic_and_czech_sum_labels(text: str, expected: tuple[str, str, str]) -> None:
    assert _amounts(text) == tuple(Decimal(v) for v in expected)


@pytest.mark.parametrize(
    "label", ["Öresavrundning", "Afrunding", "Avrunding", "Pyöristys", "Zaokrouhlení"]
)
def test_nordic_and_czech_rounding_lines_confirm_the_rounded_total(label: str) -> None:
    found = find_totals(doc(f"Acme AB\nSumma 10 668,75\n{label} 0,25\nSEK 10 669,00\n"))
    assert any(c.label == "rounding" and c.value == Decimal("10669.00") for c in found["total"])


@pytest.mark.parametrize(
    "terms", ["Betalningsvillkor: 30 dagar netto", "Betalingsbetingelser: Netto 14 dage"]
)
def test_net_payment_terms_are_no_subtotal(terms: str) -> None:
    text = (
        f"Nordisk Kontor AB\nKundnummer: 10442\n{terms}\nArt.nr Benämning Antal Belopp\n"
        "1001 Papper A4 20 7 780,00\n2040 Pennor 15 2 235,00\n"
    )
    assert parse_invoice(text).value.subtotal is None


def test_a_bare_sum_that_a_tax_completes_to_the_total_is_the_subtotal() -> None:
    text = (
        "Ingrid Solberg Oversettelser\nSum 9 020,00\nMerverdiavgift 25 % 2 255,00\n"
        "Å betale 11 275,00\n"
    )
    assert _amounts(text) == (Decimal("9020.00"), Decimal("2255.00"), Decimal("11275.00"))


@pytest.mark.parametrize(
    ("text", "issue", "due"),
    [
        ("Fakturadatum: 2024-03-15\nFörfallodatum: 2024-04-14", (2024, 3, 15), (2024, 4, 14)),
        ("Fakturadato: 12-02-2024\nForfaldsdato: 26-02-2024", (2024, 2, 12), (2024, 2, 26)),
        ("Dato: 02.02.2024\nForfallsdato: 16.02.2024", (2024, 2, 2), (2024, 2, 16)),
        ("Fakturadato: 08.04.2024\nBetales senest: 08.05.2024", (2024, 4, 8), (2024, 5, 8)),
        ("Laskun päivämäärä 11.10.2024\nEräpäivä 25.10.2024", (2024, 10, 11), (2024, 10, 25)),
        ("Laskun pvm: 20.02.2024\nEräpäivä: 05.03.2024", (2024, 2, 20), (2024, 3, 5)),
        ("Datum vystavení: 15.01.2024\nDatum splatnosti: 29.01.2024", (2024, 1, 15), (2024, 1, 29)),
    ],
    ids=["sv", "da", "no", "no-senest", "fi", "fi-pvm", "cs"],
)
def test_nordic_and_czech_date_labels(
    text: str, issue: tuple[int, int, int], due: tuple[int, int, int]
) -> None:
    assert dated(text, "issue") == dt.date(*issue)
    assert dated(text, "due") == dt.date(*due)


@pytest.mark.parametrize("label", ["Toimituspvm:", "Leveransdatum:", "DUZP:", "Datum plnění:"])
def test_nordic_and_czech_delivery_dates_are_other_dates(label: str) -> None:
    found = find_dates(doc(f"Faktura 12\n{label} 19.02.2024"))
    assert [c.label for c in found] == ["other"]


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ("Laskun numero 24-5521", "24-5521"),
        ("Laskun nro: L-2024-0877", "L-2024-0877"),
        ("Laskunumero: 2024-12", "2024-12"),
        ("Číslo faktury: 2024010057", "2024010057"),
        ("Číslo dokladu: FV24-0415", "FV24-0415"),
        ("FAKTURA č. 2024-0008", "2024-0008"),
    ],
)
def test_finnish_and_czech_invoice_number_labels(line: str, expected: str) -> None:
    found = best(find_invoice_numbers(doc(f"Acme Oy\n{line}\nDatum 1.3.2024")))
    assert found is not None and found.value == expected


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ("Rekv.nr.: R-7781", "R-7781"),
        ("Indkøbsordre: 88120", "88120"),
        ("Bestillingsnr: 4700098812", "4700098812"),
        ("Tilausnumero PO-88213", "PO-88213"),
        ("Tilausnro: 5512", "5512"),
        ("Objednávka č.: OBJ-2023-412", "OBJ-2023-412"),
        ("Číslo objednávky: 2024/118", "2024/118"),
        ("Ihre Bestellung B-5531 vom 02.04.2024", "B-5531"),
        ("Your order 4711", "4711"),
    ],
)
def test_order_number_labels_of_more_languages(line: str, expected: str) -> None:
    found = best(find_po_numbers(doc(f"Acme Oy\nInvoice 12\n{line}")))
    assert found is not None and found.value == expected


def test_an_order_mentioned_without_a_number_gives_none() -> None:
    assert find_po_numbers(doc("Acme GmbH\nIhre Bestellung vom 02.04.2024")) == []


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ("Y-tunnus: 2410423-4", "24104234"),
        ("IČO: 06557210", "06557210"),
        ("Org.nr 556818-6091", "5568186091"),
    ],
)
def test_nordic_and_czech_company_id_labels(line: str, expected: str) -> None:
    assert [c.value for c in find_tax_ids(doc(f"Acme\n{line}"))] == [expected]


@pytest.mark.parametrize(
    "line",
    ["Org.nr: NO 973 716 786 MVA", "Org.nr. 973 716 786 MVA", "Foretaksregisteret 973716786MVA"],
)
def test_a_norwegian_vat_number_names_its_country(line: str) -> None:
    fields = parse_invoice(f"Fjellvent Ventilasjon AS\n{line}\nÅ betale 24 700,00\n").value
    assert (fields.vendor_tax_id, fields.currency) == ("NO973716786MVA", "NOK")


def test_a_vat_shaped_run_inside_an_iban_is_no_tax_id() -> None:
    text = "Kastrup Elektro ApS\nCVR-nr. 38625276\nIBAN: DK76 1551 0000 1234 56\n"
    assert [c.value for c in find_tax_ids(doc(text))] == ["38625276"]


@pytest.mark.parametrize(
    ("text", "vendor"),
    [
        (
            "Mette Holm Grafisk Design\nVesterbrogade 77\nFaktura\nTil:\nCafé Kronen ApS\n"
            "Nørregade 5\n",
            "Mette Holm Grafisk Design",
        ),
        (
            "Sanne de Vries Fotografie\nOudegracht 140\n3511 AZ Utrecht\n"
            "Aan: Bloemenhuis Flora B.V.\n",
            "Sanne de Vries Fotografie",
        ),
        (
            "Jan Novák\nLipová 12\nFAKTURA č. 1\nOdběratel:\nHanácká pekárna s.r.o.\n",
            "Jan Novák",
        ),
        ("Anna Virtanen\nKalevankatu 3\nLASKU\nAsiakas:\nKahvila Kuppi Oy\n", "Anna Virtanen"),
        ("Erik Lund\nStorgatan 8\nFaktureras till:\nBrf Solgläntan AB\n", "Erik Lund"),
        ("Pieter Bakker\nKerkstraat 1\nFactuuradres:\nDe Molen B.V.\n", "Pieter Bakker"),
    ],
    ids=["da", "nl", "cs", "fi", "sv", "nl-adres"],
)
def test_nordic_dutch_and_czech_buyer_labels(text: str, vendor: str) -> None:
    assert parse_invoice(text).value.vendor_name == vendor


def test_a_company_id_line_stays_in_the_buyers_block() -> None:
    text = (
        "Jan Novák\nLipová 12\nIČO: 06557210\nOdběratel:\nHanácká pekárna s.r.o.\n"
        "IČO: 27745678\nDIČ: CZ27745678\n"
    )
    assert parse_invoice(text).value.vendor_tax_id == "06557210"


@pytest.mark.parametrize(
    "street",
    [
        "Industrigatan 14",
        "Kungsvägen 3",
        "Vesterbrogade 77",
        "Amagervej 112",
        "Savilahdenkatu 18",
        "Kalevantie 5",
        "Oudegracht 140",
        "Kerkstraat 12",
        "C/ Doctor Fourquet 18, 2º B",
        "Carrer de Mallorca 401",
    ],
)
def test_compound_and_spanish_street_names_are_no_vendor(street: str) -> None:
    assert best(find_vendor_names(doc(f"{street}\nAnna Berg\nInvoice 12\n"))).value == "Anna Berg"


@pytest.mark.parametrize(
    ("text", "vendor"),
    [
        (
            "Fjord Consulting ApS Faktura nr. 1093\nBredgade 30, 1260 København K\n",
            "Fjord Consulting ApS",
        ),
        (
            "LASKU\nLeipomo Kultakruunu Oy Laskun nro: L-2024-0877\nSavilahdenkatu 18\n",
            "Leipomo Kultakruunu Oy",
        ),
        ("Nordisk Kontorsmaterial AB FAKTURA\nIndustrigatan 14\n", "Nordisk Kontorsmaterial AB"),
        (
            "FAKTURA\nDodavatel: Odběratel:\nSTAVMONT Brno s.r.o. Městská část Brno-střed\n"
            "Křenová 65 Dominikánská 2\n",
            "STAVMONT Brno s.r.o.",
        ),
        ("Muster Bau GmbH & Co. KG\nHauptstraße 5\n", "Muster Bau GmbH & Co. KG"),
        ("Nube Clara S.A. de C.V.\nRFC: NCL180312AA0\n", "Nube Clara S.A. de C.V."),
        ("T.A.S LEISURE SDN BHD\nJALAN 1\n", "T.A.S Leisure Sdn Bhd"),
    ],
    ids=["da", "fi", "sv", "cs-two-headings", "kg", "mx", "abbreviation"],
)
def test_a_name_ends_at_its_legal_form(text: str, vendor: str) -> None:
    assert parse_invoice(text).value.vendor_name == vendor


@pytest.mark.parametrize(
    ("line", "day"),
    [
        ("Fakturadatum: 12 mars 2024", "2024-03-12"),
        ("Fakturadato: 1. marts 2024", "2024-03-01"),
        ("Fakturadato: 3. desember 2024", "2024-12-03"),
        ("Päivämäärä: 5. maaliskuuta 2024", "2024-03-05"),
        ("Datum vystavení: 17. září 2024", "2024-09-17"),
    ],
)
def test_nordic_finnish_and_czech_month_names_are_read(line: str, day: str) -> None:
    found = parse_invoice(f"Lindqvist AB\nFaktura 1001\n{line}\nAtt betala 100,00 kr\n")
    assert str(found.value.invoice_date) == day


@pytest.mark.parametrize(
    ("table", "expected"),
    [
        (
            "Netto € MwSt. € Brutto €\nMwSt. 7 % 233,20 16,32 249,52\n"
            "MwSt. 19 % 163,40 31,05 194,45\nSumme 396,60 47,37 443,97\n",
            ("396.60", "47.37", "443.97"),
        ),
        (
            "Sazba DPH Základ DPH Celkem\n12 % 11 070,00 1 328,40 12 398,40\n"
            "21 % 4 290,00 900,90 5 190,90\nCelkem 15 360,00 2 229,30 17 589,30\n",
            ("15360.00", "2229.30", "17589.30"),
        ),
        (  # one rate, no sum row
            "Rate Net VAT Gross\n20% 1,000.00 200.00 1,200.00\n",
            ("1000.00", "200.00", "1200.00"),
        ),
    ],
)
def test_a_vat_breakdown_table_is_read_by_its_columns(
    table: str, expected: tuple[str, str, str]
) -> None:
    found = parse_invoice(HEAD + table).value
    assert (found.subtotal, found.tax, found.total) == tuple(Decimal(e) for e in expected)


def test_more_label_spellings_from_a_held_out_probe() -> None:
    found = parse_invoice(
        HEAD + "Order Ref: PO-66107\nScadenze: 15/04/2024\nTotal (ex GST) 1,840.00\n"
        "GST 184.00\nTotal 2,024.00\n"
    ).value
    assert (found.po_number, str(found.due_date)) == ("PO-66107", "2024-04-15")
    assert (found.subtotal, found.tax, found.total) == (
        Decimal("1840.00"),
        Decimal("184.00"),
        Decimal("2024.00"),
    )


# -- probe 14: a letterhead without its legal form over a buyer's block with one -------------

_KLAUSEN_BODY = """
Rechnung Nr. 2026-114
Rechnungsdatum: 03.03.2026
Leistung                                   Betrag
Wartung Kältetechnik März                1.200,00
Nettobetrag                              1.200,00 EUR
USt. 19 %                                  228,00 EUR
Gesamtbetrag                             1.428,00 EUR
"""


def test_the_letterheads_name_spelled_out_in_the_footer_is_the_seller() -> None:
    text = (
        "KLAUSEN KÄLTETECHNIK\nRingstraße 4 | 24103 Kiel | info@klausen-kaelte.de\n\n"
        "Fischräucherei Möller GmbH\nHafenweg 12\n24937 Flensburg\n"
        + _KLAUSEN_BODY
        + "\nKlausen Kältetechnik GmbH - HRB 20417 KI - USt-IdNr. DE287115604\n"
    )
    fields = parse_invoice(text).value
    assert fields.vendor_name == "Klausen Kältetechnik GmbH"


@pytest.mark.parametrize(
    "attention", ["Att.: Bogholderiet", "t.a.v. crediteurenadministratie", "c/o Finance Dept"]
)
def test_a_name_over_an_attention_line_is_the_buyers(attention: str) -> None:
    text = (
        "Nordlys Reklame\nStrandvejen 8, 2100 København Ø\n\n"
        f"Hafenbäckerei Jensen A/S\n{attention}\nTorvet 3\n8000 Aarhus C\n" + _KLAUSEN_BODY
    )
    assert parse_invoice(text).value.vendor_name != "Hafenbäckerei Jensen A/S"
    doc = Document(text)
    assert 3 in buyer_lines(doc)


def test_the_tax_id_beside_the_sellers_name_is_the_sellers() -> None:
    text = (
        "Alpenblick Druckerei\nMaria-Theresien-Straße 9 · 6020 Innsbruck\n\n"
        "Holzbau Steiner GmbH\nEinkauf\nMühlweg 2\n5020 Salzburg\nUID: ATU57391622\n"
        "Rechnungsnummer: 2026-0388\nRechnungsdatum: 09.03.2026\n"
        "Summe netto € 1.000,00\n20 % USt. € 200,00\nGesamtbetrag € 1.200,00\n"
        "Alpenblick Druckerei GmbH · FN 45120x · UID: ATU64471829\n"
    )
    fields = parse_invoice(text).value
    assert (fields.vendor_name, fields.vendor_tax_id) == (
        "Alpenblick Druckerei GmbH",
        "ATU64471829",
    )


def test_an_argentine_invoice_number_keeps_its_point_of_sale() -> None:
    text = (
        "FACTURA A\nPunto de Venta: 00012   Comp. Nro: 00004471\nFecha de Emisión: 02/03/2026\n"
        "Importe Total: $ 150000,00\n"
    )
    assert parse_invoice(text).value.invoice_number == "00012-00004471"
    assert parse_invoice(text.replace("Punto de Venta: 00012", "")).value.invoice_number == (
        "00004471"
    )


@pytest.mark.parametrize(
    ("text", "po"),
    [
        # the last heading of a header row, its value the last of the row below
        (
            "Invoice Date Invoice Number Reference Purchase Order\n"
            "12/03/2026 00007719 WO-2210 ACM-PO-8812",
            "ACM-PO-8812",
        ),
        (
            "Cliente n.º Data de emissão V/ Requisição\n0187 2026-03-02 REQ-2026-0415",
            "REQ-2026-0415",
        ),
        ("注文番号: PO-77120", "PO-77120"),
        ("Παραγγελία: ΠΑΡ-2026-77", "ΠΑΡ-2026-77"),
        ("Uw bestelling / V. cde: 4500123987", "4500123987"),
    ],
)
def test_purchase_orders_in_header_rows_and_more_languages(text: str, po: str) -> None:
    found = best(find_po_numbers(doc(text)))
    assert found is not None and found.value == po


def test_no_purchase_order_from_an_order_date_column() -> None:
    assert find_po_numbers(doc("Invoice No Customer Order Date\nINV-22 C-81 12/03/2026")) == []


def test_a_greek_series_and_number() -> None:
    found = find_invoice_numbers(doc("ΤΙΜΟΛΟΓΙΟ\nAegean S.A.    Σειρά: Β    Αριθμός: 2291"))
    assert found and found[0].value == "Β 2291"


# -- probe 15 ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "label",
    ["Ihre USt-IdNr.: DE123456788", "Ihre USt-IdNr.:\nDE123456788", "Your VAT No: DE123456788"],
)
def test_the_addressees_own_tax_id_is_not_the_sellers(label: str) -> None:
    text = (
        "Werkzeughaus Nord GmbH\nHafenstraße 2, 20457 Hamburg\n\nKunde: Baustoffe Süd KG\n"
        f"Rechnung Nr. 4471\nRechnungsdatum: 02.03.2026\n{label}\n"
        "Nettobetrag 100,00 €\nUSt. 19 % 19,00 €\nGesamtbetrag 119,00 €\n"
        "Sitz Hamburg · AG Hamburg HRB 12345\nUSt-IdNr. DE 811 907 980\n"
    )
    assert parse_invoice(text).value.vendor_tax_id == "DE811907980"


def test_a_slovak_buyer_block_and_a_brand_spelled_alike_in_the_footer() -> None:
    text = (
        "STAVEBNINY HRON\nNábrežie 4, 974 01 Banská Bystrica\n\n"
        "Odberateľ:\nDomy Zvolen s.r.o.\nHlavná 1\n960 01 Zvolen\nIČ DPH: SK2120046819\n\n"
        "FAKTÚRA č. 2026000412\nDátum vyhotovenia: 11.03.2026\n"
        "Spolu bez DPH 1 000,00 EUR\nDPH 23 % 230,00 EUR\nSpolu 1 230,00 EUR\n"
        "Stavebniny Hronské, s.r.o. · IČ DPH: SK2020317068\n"
    )
    fields = parse_invoice(text).value
    assert fields.vendor_name == "Stavebniny Hronské, s.r.o."
    assert fields.vendor_tax_id == "SK2020317068"


def test_a_business_operated_by_a_company_names_the_company() -> None:
    text = (
        "The Old Mill Inn\nMain Street, Kinsale\n\nCompany: Atlantic Optics Ltd\n"
        "Invoice No: 5521\nDate: 03/03/2026\nTotal EUR 240.00\n"
        "The Old Mill Inn is operated by Kinsale Hospitality Holdings Limited.\n"
    )
    assert parse_invoice(text).value.vendor_name == "Kinsale Hospitality Holdings Limited"


def test_a_swedish_credit_invoice_reads_its_sums_and_its_own_number() -> None:
    text = (
        "NORDKUST KONTOR AB\nStorgatan 4, 411 19 Göteborg\n\nKREDITFAKTURA\n\n"
        "Kreditfakturanr: 71120\nFakturadatum: 2026-03-17\nAvser faktura: 70981\n"
        "Summa exkl. moms -1 000,00\nMoms 25 % -250,00\nAtt erhålla SEK -1 250,00\n"
    )
    fields = parse_invoice(text).value
    assert fields.invoice_number == "71120"
    # a credit note's sums as magnitudes; the title makes it a credit note for the flow
    assert (fields.subtotal, fields.tax, fields.total) == (
        Decimal("1000.00"),
        Decimal("250.00"),
        Decimal("1250.00"),
    )


def test_a_french_credit_note_number_not_the_invoice_it_concerns() -> None:
    text = "NOTE DE CRÉDIT N° NC-2026-031\nConcerne notre facture n° 2026-0412\nTotal 100,00 €\n"
    assert parse_invoice(text).value.invoice_number == "NC-2026-031"


def test_the_account_a_direct_debit_draws_on_is_not_the_sellers() -> None:
    text = (
        "Energia Nord S.p.A.\nFattura n. 2026/118\nData: 05/03/2026\nTotale da pagare € 120,00\n"
        "Modalità di pagamento: addebito diretto SEPA sul conto del cliente\n"
        "IBAN IT60 X054 2811 1010 0000 0123 456 - intestato a Bar Sport di Rossi\n"
    )
    assert parse_invoice(text).value.iban is None
    paid_in = text.replace(
        "Modalità di pagamento: addebito diretto SEPA sul conto del cliente\n", ""
    )
    assert parse_invoice(paid_in).value.iban == "IT60X0542811101000000123456"


def test_ocr_ones_read_as_ls_in_a_noisy_text() -> None:
    text = (
        "Lasku 2026-088\nPäivämäärä l2.03.2026\nVeroton yhteensä 2 59l,40\n"
        "ALV 25,5 % 660,8l\nYhteensä EUR 3 252,2l\n"
    )
    fields = parse_invoice(text).value
    assert (fields.invoice_date, fields.total, fields.subtotal, fields.tax) == (
        dt.date(2026, 3, 12),
        Decimal("3252.21"),
        Decimal("2591.40"),
        Decimal("660.81"),
    )
    # a clean page keeps its letters: one such word is no OCR noise
    assert Document("Electric kettle 1.5l\nTotal 12,00").lines[0] == "Electric kettle 1.5l"


def test_the_total_written_in_words_settles_which_total_row_is_the_invoices() -> None:
    text = (
        "Tax Invoice\nInvoice No. VC/2526/88 Dated 14-Mar-2026\n"
        "1 Bracket 870899 1,200 Nos 185.00 2,22,000.00\n"
        "IGST @ 18% 39,960.00\nTotal 1,200 Nos ₹ 2,61,960.00\n"
        "Amount Chargeable (in words)\nINR Two Lakh Sixty One Thousand Nine Hundred Sixty Only\n"
        "HSN/SAC Taxable Value IGST Rate IGST Amount Total Tax Amount\n"
        "870899 2,22,000.00 18% 39,960.00 39,960.00\n"
        "Total 2,22,000.00 39,960.00 39,960.00\n"
        "Tax Amount (in words) : INR Thirty Nine Thousand Nine Hundred Sixty Only\n"
    )
    assert parse_invoice(text).value.total == Decimal("261960.00")


def test_a_buyer_word_inside_a_sentence_heads_no_buyers_block() -> None:
    text = (
        "Energia Nord\nFattura n. 2026/118 del 05/03/2026\nSpett.le\nBar Sport di Rossi S.n.c.\n"
        "P.IVA 52257770371\nTotale da pagare € 120,00\n"
        "Modalità di pagamento: addebito diretto sul conto del cliente\n"
        "Energia Nord S.p.A.\nP.IVA e C.F. 26536490712\n"
    )
    assert parse_invoice(text).value.vendor_tax_id == "26536490712"
    assert 7 not in buyer_lines(Document(text)) and 4 in buyer_lines(Document(text))


def test_czech_total_with_vat_is_no_tax_and_the_rounded_amount_is_owed() -> None:
    text = (
        "Faktura č. 2026-0311\nDatum vystavení: 10.03.2026\n"
        "Celkem bez DPH 50 520,00\nDPH 21 % 10 609,20\nCelkem s DPH 61 129,20\n"
        "Zaokrouhlení -0,20\nCelkem k úhradě 61 129,00\n"
    )
    fields = parse_invoice(text).value
    assert (fields.subtotal, fields.tax, fields.total) == (
        Decimal("50520.00"),
        Decimal("10609.20"),
        Decimal("61129.00"),
    )
    # "s DPH" (with VAT) makes a gross total, never a tax line
    assert Decimal("61129.20") not in [c.value for c in find_totals(doc(text))["tax"]]


def test_a_portuguese_order_number_label_with_its_ordinal_sign() -> None:
    found = best(find_po_numbers(doc("Nº do pedido do cliente: DSA-PC-3381")))
    assert found is not None and found.value == "DSA-PC-3381"


@pytest.mark.parametrize(
    ("line", "amounts"),
    [
        ("TOTAL AMOUNT DUE 54, 600.00", ["54600.00"]),  # a scan's space after the comma
        ("Total 1, 250, 000.00", ["1250000.00"]),
        ("Sizes 8, 9, 10", ["8", "9", "10"]),
        ("Call 2024, 300.00", ["2024", "300.00"]),
    ],
)
def test_a_space_after_a_thousands_comma_keeps_the_amount_whole(
    line: str, amounts: list[str]
) -> None:
    assert [a[2] for a in find_amounts(doc(line), 0)] == [Decimal(a) for a in amounts]


def test_a_slovenian_credit_note_keeps_its_amounts_and_number() -> None:
    """ "DOBROPIS št. 2025-DB-014" with "-1.200,00" amounts: a credit note (its title with
    the Slovenian "št."), whose amounts are stated positive and whose number is its own,
    not the invoice it credits ("K računu št.: 2025-0388")."""
    text = (
        "Ljubljanske Tehnične Rešitve d.o.o.\n"
        "Tržaška cesta 116, 1000 Ljubljana\n"
        "ID za DDV: SI 51234564\n\n"
        "DOBROPIS št. 2025-DB-014\n"
        "Datum izdaje: 18. 4. 2025\n"
        "K računu št.: 2025-0388 z dne 2. 4. 2025\n\n"
        "Opis                         Znesek\n"
        "Vračilo: senzor tlaka PT-9   -1.200,00\n\n"
        "Osnova za DDV:            -1.200,00 EUR\n"
        "DDV 22 %:                   -264,00 EUR\n"
        "Skupaj v dobro:           -1.464,00 EUR\n"
    )
    fields = parse_invoice(text).value
    assert fields.invoice_number == "2025-DB-014"
    assert (fields.subtotal, fields.tax, fields.total) == (
        Decimal("1200.00"),
        Decimal("264.00"),
        Decimal("1464.00"),
    )


def test_an_iban_written_without_spaces_is_found_with_or_without_its_label() -> None:
    """ "IBAN: DE89370400440532013000", "A. s. LT447044060008912345, AB SEB bankas": an
    IBAN printed in one run was cut into no groups to try, and never found (probe 19)."""
    for text, iban in (
        ("IBAN: DE89370400440532013000", "DE89370400440532013000"),
        ("A. s. LT447044060008912345, AB SEB bankas", "LT447044060008912345"),
        ("Banka: Swedbank, konts LV87HABA0551012345678", "LV87HABA0551012345678"),
    ):
        assert [c.value for c in find_ibans(doc(text))] == [iban], text
    assert find_ibans(doc("Ref DE12345678901234567890")) == []


def test_lithuanian_and_greek_dates_with_their_month_names() -> None:
    """ "2025 m. kovo 5 d." (Lithuanian, year first, the month in the genitive) and
    "12 Μαρτίου 2025" (Greek, the genitive month) (probe 19)."""
    assert dated("Data: 2025 m. kovo 5 d.", "issue") == dt.date(2025, 3, 5)
    assert dated("Apmokėti iki: 2025 m. kovo 19 d.", "due") == dt.date(2025, 3, 19)
    assert dated("Ημερομηνία έκδοσης: 12 Μαρτίου 2025", "issue") == dt.date(2025, 3, 12)
    assert dated("Ημερομηνία: 3 Μαΐου 2025", "issue") == dt.date(2025, 5, 3)


def test_hungarian_and_greek_order_numbers() -> None:
    """ "Rendelésszám:" (hu) and "Αριθμός παραγγελίας:" (el, the genitive) (probe 19)."""
    for text, po in (
        ("Rendelésszám: VP-2025-044", "VP-2025-044"),
        ("Αριθμός παραγγελίας: ΠΑΡ-2025-061", "ΠΑΡ-2025-061"),
    ):
        assert [c.value for c in find_po_numbers(doc(text))] == [po]


def test_a_tax_id_label_with_a_gloss_in_brackets() -> None:
    """ "VAT Reg. (Osek Murshe): 515123453": the gloss between the label and its colon is
    part of the label (probe 19); "VAT (20%): 200.00" is still no tax id."""
    found = find_tax_ids(doc("Company No. / VAT Reg. (Osek Murshe): 515123453"))
    assert [c.value for c in found] == ["515123453"]
    assert find_tax_ids(doc("VAT (20%): 200.00")) == []
