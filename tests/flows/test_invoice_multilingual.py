"""The offline extractor on invoices in the eight languages of issue #13, and the layouts
that used to mislead it: customer and order numbers beside the invoice number, a number
under its label in a header row, a date after the document's title, a year or a VAT
amount where a total is expected, rupees."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from flows.invoice_processing.extraction import Document, find_currency, find_vendor_names
from flows.invoice_processing.offline import parse_invoice

# (language, text, invoice number, issue date, total, currency)
INVOICES = [
    (
        "en",
        "Northwind Traders Ltd\n12 High Street, London EC1A 1BB\nCustomer No: 77812\n"
        "Order number: PO-5531\nInvoice number: INV-2024-0193\nInvoice date: 14 March 2024\n"
        "Subtotal 100.00\nVAT 20% 20.00\nTotal 120.00 GBP\n",
        "INV-2024-0193",
        dt.date(2024, 3, 14),
        "120.00",
        "GBP",
    ),
    (
        "de",
        "Müller Bürobedarf GmbH\nHauptstraße 5, 80331 München\nKundennummer: 40021\n"
        "Bestellnummer: B-2024-77\nRechnungs-Nr.: RE-4711\nRechnungsdatum: 5. März 2024\n"
        "Nettobetrag 200,00 €\nMwSt. 19 % 38,00 €\nGesamtbetrag 238,00 €\n",
        "RE-4711",
        dt.date(2024, 3, 5),
        "238.00",
        "EUR",
    ),
    (
        "fr",
        "Boulangerie Dupont SARL\n3 rue de la Paix, 75002 Paris\nN° client : C-8812\n"
        "N° de commande : CMD-2024-5\nN° de facture : F2024-118\n"
        "Date de facture : 12 février 2024\nTotal HT 150,00 €\nTVA 20 % 30,00 €\n"
        "Total TTC 180,00 €\n",
        "F2024-118",
        dt.date(2024, 2, 12),
        "180.00",
        "EUR",
    ),
    (
        "nl",
        "Bakkerij De Vries B.V.\nDorpsstraat 1, 3511 AB Utrecht\nKlantnummer: 5521\n"
        "Factuurnummer: 2024-0042\nFactuurdatum: 3 april 2024\nSubtotaal € 80,00\n"
        "BTW 21% € 16,80\nTotaal te betalen € 96,80\n",
        "2024-0042",
        dt.date(2024, 4, 3),
        "96.80",
        "EUR",
    ),
    (
        "es",
        "Suministros Ibéricos S.L.\nCalle Mayor 10, 28013 Madrid\nNº de cliente: 3321\n"
        "Número de pedido: PED-88\nNúmero de factura: A-2024-0077\n"
        "Fecha de factura: 7 de mayo de 2024\nBase imponible 500,00 €\nIVA 21% 105,00 €\n"
        "Total factura 605,00 €\n",
        "A-2024-0077",
        dt.date(2024, 5, 7),
        "605.00",
        "EUR",
    ),
    (
        "it",
        "Forniture Rossi S.r.l.\nVia Roma 1, 00184 Roma\nCodice cliente: 1188\n"
        "Numero ordine: ORD-41\nFattura n. 2024/315\nData fattura: 9 giugno 2024\n"
        "Imponibile 1.000,00 €\nIVA 22% 220,00 €\nTotale documento 1.220,00 €\n",
        "2024/315",
        dt.date(2024, 6, 9),
        "1220.00",
        "EUR",
    ),
    (
        "pl",
        "Hurtownia Kowalski Sp. z o.o.\nul. Długa 5, 00-238 Warszawa\nNumer klienta: 9921\n"
        "Numer zamówienia: ZAM/2024/7\nFaktura nr FV/2024/06/015\n"
        "Data wystawienia: 15 czerwca 2024\nRazem netto 1 000,00 zł\nVAT 23% 230,00 zł\n"
        "Razem do zapłaty 1 230,00 zł\n",
        "FV/2024/06/015",
        dt.date(2024, 6, 15),
        "1230.00",
        "PLN",
    ),
    (
        "pt",
        "Distribuidora Lisboa Lda\nRua Augusta 100, 1100-053 Lisboa\nNº de cliente: 4410\n"
        "Fatura n.º FT 2024/88\nData da fatura: 20 de julho de 2024\n"
        "Total sem IVA 300,00 €\nIVA 23% 69,00 €\nTotal a pagar 369,00 €\n",
        "FT 2024/88",
        dt.date(2024, 7, 20),
        "369.00",
        "EUR",
    ),
]


@pytest.mark.parametrize(
    ("text", "number", "issued", "total", "currency"),
    [case[1:] for case in INVOICES],
    ids=[case[0] for case in INVOICES],
)
def test_each_language_gives_number_date_total_and_currency(
    text: str, number: str, issued: dt.date, total: str, currency: str
) -> None:
    fields = parse_invoice(text).value
    assert fields.invoice_number == number
    assert fields.invoice_date == issued
    assert fields.total == Decimal(total)
    assert fields.currency == currency


def test_customer_and_order_numbers_on_the_same_line_are_not_the_invoice_number() -> None:
    text = (
        "Müller Bürobedarf GmbH\nKunden-Nr.: 40021  Rechnungs-Nr.: 2024-118  Datum: 05.03.2024\n"
        "Rechnungsbetrag 119,00 €\n"
    )
    assert parse_invoice(text).value.invoice_number == "2024-118"
    only_others = "Acme Ltd\nCustomer No: 40021\nOrder No: 5531\nTotal 5.00 EUR\n"
    assert parse_invoice(only_others).value.invoice_number is None


@pytest.mark.parametrize(
    ("header", "row"),
    [
        ("Invoice No. Date Customer No.", "R-118 05.03.2024 40021"),
        ("Customer No. Invoice No. Date", "40021 R-118 05.03.2024"),
        ("Kundennr. Datum Rechnungsnr.", "40021 05.03.2024 R-118"),
    ],
)
def test_a_header_row_pairs_each_label_with_the_value_below_it(header: str, row: str) -> None:
    text = f"Acme Supplies Ltd\n{header}\n{row}\nTotal 5.00 EUR\n"
    assert parse_invoice(text).value.invoice_number == "R-118"


def test_a_date_after_the_documents_title_is_its_issue_date_not_a_referenced_one() -> None:
    text = (
        "Lieferant GmbH\nHandelsrechnung (380) 05.03.2018 Nr. 471102 vom\n"
        "Bemerkung Rechnung gemäß Vertrag vom 21.11.2011.\nBruttosumme 119,00 €\n"
    )
    fields = parse_invoice(text).value
    assert fields.invoice_number == "471102"
    assert fields.invoice_date == dt.date(2018, 3, 5)


def test_the_seller_section_names_the_vendor() -> None:
    text = (
        "Rechnung Nr. 17\nVerkäufer\nNummer: 549910\nName: Lieferant GmbH\n"
        "Anschrift: Lieferantenstraße 20\nKäufer\nName: Kunden AG Mitte\n"
    )
    assert find_vendor_names(Document(text))[0].value == "Lieferant GmbH"


def test_a_year_is_not_the_total_and_the_gross_sum_beats_the_amount_still_due() -> None:
    year = "Nordic Widgets AB\nInvoice 2024-77\nAmount 40.00\nTotal 2024\n© 2024 Nordic\n"
    assert parse_invoice(year).value.total == Decimal("40.00")
    prepaid = (
        "Lieferant GmbH\nRechnung Nr. 5\nRechnungssumme ohne USt. 177,49\nSteuerbetrag 20,16\n"
        "Bruttosumme 197,65\nErhaltene Anzahlungen -50,00\nZahlbetrag 147,65\n"
    )
    fields = parse_invoice(prepaid).value
    assert (fields.total, fields.subtotal, fields.tax) == (
        Decimal("197.65"),
        Decimal("177.49"),
        Decimal("20.16"),
    )


def test_rupees_are_inr_and_opening_hours_are_not_swiss_francs() -> None:
    rupees = "Sharma Traders Pvt Ltd\nInvoice No: ST/24-25/0091\nGrand Total Rs. 1,18,000.00\n"
    fields = parse_invoice(rupees).value
    assert (fields.currency, fields.total) == ("INR", Decimal("118000.00"))
    assert [c.value for c in find_currency(Document("Total ₹ 499.00"))] == ["INR"]
    hours = Document("Mo.-Fr. 08.30 - 12.30 Uhr\nTotal 50,00 EUR")
    assert [c.value for c in find_currency(hours)] == ["EUR"]


def test_several_tax_lines_add_up_to_the_tax() -> None:
    """One line per tax (CGST and SGST, or one per VAT rate) and no line with their sum: the
    tax is their sum, as subtotal + tax = total says; a tax id labelled GSTIN is the
    vendor's."""
    text = (
        "Sharma Electronics Pvt. Ltd.\nGSTIN: 27AABCS1234F1Z5\nInvoice No: SE/2024-25/0187\n"
        "Taxable Value 18,400.00\nCGST 9% 1,656.00\nSGST 9% 1,656.00\n"
        "Grand Total Rs. 21,712.00\n"
    )
    extraction = parse_invoice(text)
    fields = extraction.value
    assert (fields.subtotal, fields.tax, fields.total) == (
        Decimal("18400.00"),
        Decimal("3312.00"),
        Decimal("21712.00"),
    )
    assert fields.vendor_tax_id == "27AABCS1234F1Z5"
    assert "tax: the sum of 2 tax lines" in extraction.notes
    # Tax lines that add up to nothing in particular are not summed.
    odd = text.replace("Grand Total Rs. 21,712.00", "Grand Total Rs. 21,000.00")
    assert parse_invoice(odd).value.tax == Decimal("1656.00")


def test_the_balance_after_a_payment_is_not_the_total() -> None:
    text = (
        "Acme Plumbing LLC\nINVOICE NO. 10442\nSUBTOTAL $204.50\nTAX $16.87\nTOTAL $221.37\n"
        "PAYMENTS -$50.00\nBALANCE DUE $171.37\n"
    )
    assert parse_invoice(text).value.total == Decimal("221.37")
    # With nothing paid, the amount due is the total, and a rounding is not a payment.
    unpaid = "Acme Plumbing LLC\nSUBTOTAL $204.50\nTAX $16.87\nTOTAL $221.37\nAMOUNT DUE $221.35\n"
    assert parse_invoice(unpaid).value.total == Decimal("221.35")


@pytest.mark.parametrize(
    ("label", "value"),
    [
        ("Uw inkoopnummer:", "IO-317720"),
        ("Pedido cliente:", "RIL-0602"),
        ("V/ Requisição:", "REQ-5521"),
        ("Numer zamówienia nabywcy:", "LO/IT/2025/019"),
    ],
)
def test_the_buyers_own_purchase_reference_is_the_po_number(label: str, value: str) -> None:
    text = f"ACME GmbH\nRechnung Nr. 1234\n{label} {value}\nGesamtbetrag 100,00 EUR\n"
    assert parse_invoice(text).value.po_number == value


def test_a_dotted_nif_labels_the_sellers_tax_id_not_the_buyers() -> None:
    text = (
        "SUMINISTROS EBRO, S.L.\nCalle E 17, 50016 Zaragoza\nN.I.F.: B-50827146\n\n"
        "Nº factura: 2025/0412          Cliente:\n"
        "Fecha: 15/04/2025              Metálicos del Jalón, S.A.\n"
        "                               NIF: A50388112\n"
        "Base imponible 100,00\nIVA 21% 21,00\nTotal factura 121,00 EUR\n"
    )
    assert parse_invoice(text).value.vendor_tax_id == "B50827146"


@pytest.mark.parametrize(
    ("terms", "due"),
    [
        # the early-payment discount's days are not the term
        (
            "Zahlbar innerhalb von 8 Tagen abzüglich 2 % Skonto, "
            "oder innerhalb von 30 Tagen netto.",
            dt.date(2025, 6, 4),
        ),
        # a net amount is no "net 2" term
        ("Net   2,309.00\nPayment within 14 days please.", dt.date(2025, 5, 19)),
        ("Payable jusqu'au 4 juin 2025, net.", dt.date(2025, 6, 4)),
    ],
)
def test_payment_terms_and_due_dates_said_in_a_sentence(terms: str, due: dt.date) -> None:
    text = f"Huber KG\nRechnung Nr. 77\nRechnungsdatum: 05.05.2025\n{terms}\nGesamt 100,00 EUR\n"
    value = parse_invoice(text).value
    assert value.due_date == due


def test_the_number_after_a_long_czech_title_is_the_invoice_number() -> None:
    text = "Vltavské strojírny s.r.o.\nFAKTURA – DAŇOVÝ DOKLAD č. 2025-0341\nCelkem 100,00 Kč\n"
    assert parse_invoice(text).value.invoice_number == "2025-0341"


def test_a_row_of_sum_headings_over_a_row_of_amounts_is_read_by_position() -> None:
    text = (
        "Norrlands Verktyg AB\nFaktura nr 2025-118\nFakturadatum 2025-04-02\n"
        "Belopp exkl. moms      Moms %      Momsbelopp      Öresavrundning      ATT BETALA SEK\n"
        "        20 114,00       25,00        5 028,50                0,50           25 143,00\n"
    )
    value = parse_invoice(text).value
    assert (value.subtotal, value.tax, value.total) == (
        Decimal("20114.00"),
        Decimal("5028.50"),
        Decimal("25143.00"),
    )
    # amounts that do not add up are no such row
    wrong = text.replace("5 028,50", "5 128,50")
    assert parse_invoice(wrong).value.tax != Decimal("5128.50")


def test_a_vat_table_with_a_rate_key_column_and_a_ruled_sum_row() -> None:
    text = (
        "Feinkost Brückner OHG\nRechnung Nr. 2025-0712\nRechnungsdatum 03.06.2025\n"
        "USt-Schlüssel   Netto           USt-Satz   USt-Betrag      Brutto\n"
        "A                  900,80       7 %           63,06      963,86\n"
        "B                  451,40      19 %           85,77      537,17\n"
        "               ----------                  ----------  ----------\n"
        "Summe            1.352,20                     148,83    1.501,03\n"
        "Zu zahlender Betrag: 1.501,03 EUR\n"
    )
    value = parse_invoice(text).value
    assert (value.subtotal, value.tax, value.total) == (
        Decimal("1352.20"),
        Decimal("148.83"),
        Decimal("1501.03"),
    )


def test_a_sum_row_of_net_tax_and_gross_under_the_items_and_what_is_to_be_paid() -> None:
    text = (
        "FAKTURA VAT nr FV/2025/05/118\nData wystawienia: 2025-05-20\n"
        "Lp. Nazwa Ilość Cena net. Wart. net. VAT Kwota VAT Wart. brutto\n"
        " 1  Blacha stalowa (kg)   1840   5,42   9 972,80  23%  2 293,74   12 266,54\n"
        " 2  Pręt okrągły (kg)      620   6,15   3 813,00  23%    876,99    4 689,99\n"
        "                         Razem:   13 785,80       3 170,73   16 956,53\n"
        "Do zapłaty: 16 956,53 PLN\n"
    )
    value = parse_invoice(text).value
    assert (value.subtotal, value.tax, value.total) == (
        Decimal("13785.80"),
        Decimal("3170.73"),
        Decimal("16956.53"),
    )


@pytest.mark.parametrize(
    ("text", "field", "value"),
    [
        ("Számla sorszáma: SZ-2025/118", "invoice_number", "SZ-2025/118"),
        ("FAKTÚRA č. 2025-0077", "invoice_number", "2025-0077"),
        ("N° pro forma : PF-2025-12", "invoice_number", "PF-2025-12"),
        ("Megrendelés száma: MR-5521", "po_number", "MR-5521"),
        ("Comanda núm.: CM-77", "po_number", "CM-77"),
        ("Uw bestelbon: BB-1234", "po_number", "BB-1234"),
        ("Tilausnumeronne: TN-889", "po_number", "TN-889"),
        ("Fizetési határidő: 2025-06-10", "due_date", dt.date(2025, 6, 10)),
        ("Venciment: 9 de juny de 2025", "due_date", dt.date(2025, 6, 9)),
        ("Data: 9 de maig de 2025", "invoice_date", dt.date(2025, 5, 9)),
        ("Base imposable 100,00\nIVA 21% 21,00", "subtotal", Decimal("100.00")),
        # a column of labels and values, whose spaces the text reading closes up
        ("Uw bestelbon       4501187723", "po_number", "4501187723"),
        ("Rekvisition           CN-0311", "po_number", "CN-0311"),
        ("Bon de commande client : BPK-PO-26-00419", "po_number", "BPK-PO-26-00419"),
        ("Comanda dvs. nr. 778 din 02.07.2025", "po_number", "778"),
        ("Your PO / Votre BC:   BC-26-00712", "po_number", "BC-26-00712"),
        ("Data scadenței: 14.08.2025", "due_date", dt.date(2025, 8, 14)),
        ("Sidste rettidige betalingsdato 12.03.2026", "due_date", dt.date(2026, 3, 12)),
        # a number within a series printed apart
        ("Seria CLG nr. 0004127", "invoice_number", "CLG 0004127"),
        ("Serie: A   Folio: 3382", "invoice_number", "A 3382"),
    ],
)
def test_labels_in_more_languages(text: str, field: str, value: object) -> None:
    document = f"Acme Kft.\n{text}\nTotal 121,00 EUR\n"
    assert getattr(parse_invoice(document).value, field) == value


def test_the_sum_of_deposits_already_paid_is_not_the_invoices_sums() -> None:
    text = (
        "Bau GmbH\nSchlussrechnung Nr. 2025-77\nRechnungsdatum 02.06.2025\n"
        "Summe Leistungen netto 57.629,20\nUSt 19 % 10.949,55\nGesamtbetrag 68.578,75\n"
        "abzüglich geleisteter Abschlagszahlungen: netto USt brutto\n"
        "Summe Abschläge 35.000,00 6.650,00 41.650,00\n"
        "Noch zu zahlen 26.928,75 EUR\n"
    )
    value = parse_invoice(text).value
    assert (value.subtotal, value.tax, value.total) == (
        Decimal("57629.20"),
        Decimal("10949.55"),
        Decimal("68578.75"),
    )


def test_a_hungarian_invoice_in_forints_grouped_by_spaces() -> None:
    text = (
        "Tiszavirág Nyomda Kft.\nSzámla sorszáma: TN-2025/0412\n"
        "Nettó összesen: 1 308 400 Ft\nÁFA 27%: 353 268 Ft\nFizetendő összesen: 1 661 668 Ft\n"
    )
    value = parse_invoice(text).value
    assert (value.currency, value.subtotal, value.tax, value.total) == (
        "HUF",
        Decimal("1308400"),
        Decimal("353268"),
        Decimal("1661668"),
    )
    # the same sums in one "Összesen" row under a table of unlabelled amounts
    row = (
        "Tiszavirág Nyomda Kft.\nSzámla sorszáma: TN-2025/0412\n"
        "ÁFA-összesítő Nettó érték ÁFA Bruttó érték\n27% 1 308 400 353 268 1 661 668\n"
        "Összesen: 1 308 400 Ft 353 268 Ft 1 661 668 Ft\n"
    )
    value = parse_invoice(row).value
    assert (value.subtotal, value.tax, value.total) == (
        Decimal("1308400"),
        Decimal("353268"),
        Decimal("1661668"),
    )
    # "Ft" beside no amount is a foot, not a forint
    us = "Acme Builders LLC\nInvoice # 55\nFlooring 1,200 Sq Ft 4,800.00\nTotal $4,800.00\n"
    assert parse_invoice(us).value.currency == "USD"


@pytest.mark.parametrize(
    ("text", "number"),
    [
        ("CREDITNOTA\nCreditnotanummer: CN25-0037\nBetreft: factuur 25-1184", "CN25-0037"),
        ("Gutschrift Nr. G-77\nBetrifft Rechnung 2025-118", "G-77"),
    ],
)
def test_the_invoice_a_credit_note_is_about_is_not_its_number(text: str, number: str) -> None:
    document = f"Delta BV\n{text}\nDatum: 12-05-2025\nTotaal 100,00 EUR\n"
    assert parse_invoice(document).value.invoice_number == number


@pytest.mark.parametrize(
    ("line", "days"),
    [
        ("Zahlungsbedingungen: 14 Tage 3 % Skonto, 45 Tage netto.", 45),
        ("Betalingsvoorwaarden: 30 dagen na factuurdatum.", 30),
        ("Termen de plată: 30 zile", 30),
        ("Betalingsbetingelser  Netto 8 dage", 8),
        ("Betalingsbetingelser:   14 dager netto", 14),
        ("Maksuehto             14 pv netto", 14),
        ("Betalningsvillkor: 30 dagar netto", 30),
        ("Bonifico bancario 60 gg d.f.", 60),
        ("Mode/Terms of Payment  : 45 Days", 45),
        ("Returns accepted within 30 days", None),
    ],
)
def test_payment_terms_in_more_words(line: str, days: int | None) -> None:
    from flows.invoice_processing.extraction import payment_terms_days

    assert payment_terms_days(Document(f"Acme AB\n{line}\nTotal 100,00 EUR")) == days


@pytest.mark.parametrize(
    ("text", "name"),
    [
        (
            "Atelier Mécanique Rhône Sàrl\nRoute de Lyon 3, 1201 Genève\n"
            "                                   Pharmaplus SA\n"
            "                                   Rue du Marché 8, 1003 Lausanne\n",
            "Atelier Mécanique Rhône Sàrl",
        ),
        (
            "Solutions informatiques\nNEXOLUX S.à r.l.\n12 rue de Hollerich, L-1741 Luxembourg\n",
            "NEXOLUX S.à r.l.",
        ),
        (
            "TAX INVOICE                                  (ORIGINAL FOR RECIPIENT)\n\n"
            "SHREE GANESH PACKAGING INDUSTRIES PVT. LTD.\nPlot No. 47, MIDC Bhosari, Pune\n"
            "CIN: U25209PN2012PTC143876    State Name: Maharashtra, Code: 27\n",
            "Shree Ganesh Packaging Industries Pvt. Ltd.",
        ),
    ],
)
def test_legal_forms_and_copy_marks_do_not_mislead_the_seller(text: str, name: str) -> None:
    found = parse_invoice(text + "Invoice No: 1187\nTotal 100.00 EUR\n").value.vendor_name
    assert found is not None and found.casefold() == name.casefold()


def test_sums_of_two_under_the_items_checked_by_what_is_to_be_paid() -> None:
    text = (
        "S.C. CARPATHIA LOGISTIC S.R.L.\nFACTURĂ\nSeria CLG nr. 0004127\n"
        "Data emiterii: 15.07.2025\n"
        "Nr. Denumirea  U.M.  Cant.  Preț unitar  Valoarea  Valoarea TVA\n"
        "1  Transport rutier  cursă  2  3.450,00  6.900,00  1.311,00\n"
        "2  Manipulare marfă  ora  6  120,00  720,00  136,80\n"
        "3  Taxă de drum  buc  2  210,50  421,00  79,99\n"
        "                     Total       8.041,00     1.527,79\n"
        "Total de plată (col. 5+6):   9.568,79 lei\n"
    )
    value = parse_invoice(text).value
    assert (value.subtotal, value.tax, value.total) == (
        Decimal("8041.00"),
        Decimal("1527.79"),
        Decimal("9568.79"),
    )


def test_a_vat_table_titled_in_its_heading_row() -> None:
    text = (
        "Elektro Dvořák s.r.o.\nFaktura č. 2025-0412\nDatum vystavení: 03.03.2025\n"
        "Rekapitulace DPH          Základ          DPH         Celkem\n"
        "21 %                   41 792,50     8 776,43      50 568,93\n\n"
        "Zaokrouhlení:                                             0,07\n"
        "Celkem k úhradě:                                    50 569,00 Kč\n"
    )
    value = parse_invoice(text).value
    assert (value.subtotal, value.tax) == (Decimal("41792.50"), Decimal("8776.43"))


def test_the_rand_and_a_japanese_invoice_issuer_number() -> None:
    text = "Sunvolt Solar (Pty) Ltd\nInvoice INV-4471\nTotal due R 124 142,50\n"
    assert parse_invoice(text).value.currency == "ZAR"
    # "R" alone is a letter: no amount with cents after it
    assert [c.value for c in find_currency(Document("Unit R 5, Block B\nTotal 10.00"))] == []
    text = (
        "Sakura Foods Trading Co., Ltd.\nRegistration No. T8010401098765\n"
        "Invoice No. SF-2291\nTotal JPY 128,700\n"
    )
    assert parse_invoice(text).value.vendor_tax_id == "T8010401098765"
    # a corporate number whose check digit does not hold is no id
    bad = text.replace("T8010401098765", "T8010401098766")
    assert parse_invoice(bad).value.vendor_tax_id != "T8010401098766"


@pytest.mark.parametrize(
    ("sums", "subtotal", "tax", "total"),
    [
        (
            "Skupaj brez DDV: 334,13 EUR\nDDV 22 %: 73,51 EUR\nZA PLAČILO: 407,64 EUR",
            "334.13",
            "73.51",
            "407.64",
        ),
        (
            "Osnovica: 1.503,00 EUR\nPDV 25%: 375,75 EUR\nUKUPNO ZA PLATITI: 1.878,75 EUR",
            "1503.00",
            "375.75",
            "1878.75",
        ),
        (
            "Danachna osnova: 510,00 EUR\nDDS 20%: 102,00 EUR\nObshto za plashtane: 612,00 EUR",
            "510.00",
            "102.00",
            "612.00",
        ),
        (
            "Kopā bez PVN 353,30\nPVN 21% 74,19\nKopā apmaksai, EUR 427,49",
            "353.30",
            "74.19",
            "427.49",
        ),
        (
            "Suma be PVM: 7 345,40 EUR\nPVM 21 %: 1 542,53 EUR\nIš viso su PVM: 8 887,93 EUR",
            "7345.40",
            "1542.53",
            "8887.93",
        ),
        (
            "Samtals án VSK 294.880\nVSK 24% 70.771\nSamtals til greiðslu kr. 365.651",
            "294880",
            "70771",
            "365651",
        ),
        (
            "KDV Matrahı (%10) 224.580,00 TL\nHesaplanan KDV (%10) 22.458,00 TL\n"
            "Ödenecek Tutar 247.038,00 TL",
            "224580.00",
            "22458.00",
            "247038.00",
        ),
        (
            "VAT summary  Net  VAT  Gross\nStandard 20% 500.00 100.00 600.00\nBalance due 455.00",
            "500.00",
            "100.00",
            None,
        ),
    ],
)
def test_sum_labels_in_more_languages(
    sums: str, subtotal: str, tax: str, total: str | None
) -> None:
    value = parse_invoice(f"Acme d.o.o.\nInvoice 12\nDatum 03.03.2026\n{sums}\n").value
    assert (value.subtotal, value.tax) == (Decimal(subtotal), Decimal(tax))
    if total is not None:
        assert value.total == Decimal(total)


@pytest.mark.parametrize(
    ("text", "field", "value"),
    [
        ("RAČUN št. 26-300-000187", "invoice_number", "26-300-000187"),
        ("RAČUN broj: 118/POS1/1", "invoice_number", "118/POS1/1"),
        ("RĒĶINS Nr. DE-26-0210445", "invoice_number", "DE-26-0210445"),
        ("REIKNINGUR nr. 10452", "invoice_number", "10452"),
        ("Serija SM Nr. 004512", "invoice_number", "SM 004512"),
        ("Rok plačila: 22.02.2026", "due_date", dt.date(2026, 2, 22)),
        ("Gjalddagi:     17.03.2026", "due_date", dt.date(2026, 3, 17)),
        (
            "Ödeme koşulu: Vade 60 gün. Son ödeme tarihi: 10.04.2026",
            "due_date",
            dt.date(2026, 4, 10),
        ),
        ("Apmokėti iki 2026-03-13.", "due_date", dt.date(2026, 3, 13)),
        ("Apmaksas termiņš: 2026. gada 20. februāris", "due_date", dt.date(2026, 2, 20)),
        ("Rēķina datums: 2026. gada 5. februāris", "invoice_date", dt.date(2026, 2, 5)),
        ("OIB: 72941583604", "vendor_tax_id", "72941583604"),
        ("CNPJ 31.847.265/0001-53", "vendor_tax_id", "31847265000153"),
        ("VKN: 4820137560", "vendor_tax_id", "4820137560"),
        ("Company No. / Osek Murshe: 514567890", "vendor_tax_id", "514567890"),
        ("Vs. ordine        ORD/2026/0074 del 28.01.2026", "po_number", "ORD/2026/0074"),
        ("Pedido de compra: PC-4471/2026", "po_number", "PC-4471/2026"),
        ("LPO No.:    LPO-DXB-88120", "po_number", "LPO-DXB-88120"),
        ("Sipariş No:         SP-2026-0088", "po_number", "SP-2026-0088"),
        ("Užsakymo Nr. UZS-2026/19", "po_number", "UZS-2026/19"),
        ("Pöntun nr.:    4471", "po_number", "4471"),
        ("Vaša narudžba: NAR-0277/26", "po_number", "NAR-0277/26"),
        # "PO" inside another number is no label
        ("Broj računa 118/POS1/1", "po_number", None),
    ],
)
def test_labels_of_central_and_northern_europe_and_beyond(
    text: str, field: str, value: object
) -> None:
    document = f"Acme d.o.o.\n{text}\nTotal 121,00 EUR\n"
    assert getattr(parse_invoice(document).value, field) == value


@pytest.mark.parametrize(
    ("line", "days"),
    [
        ("Forma de pagament: transferència bancària a 30 dies", 30),
        ("Rok plaćanja: 14 dana (dospijeće 28.03.2026.)", 14),
        ("Nachin na plashtane: po banka, srok 10 dni", 10),
        ("Payment: credit 30 days, bank transfer", 30),
        ("Betaaltermijn 14 dagen", 14),
        ("Ödeme koşulu: Vade 60 gün.", 60),
        # complaints accepted within some days are no payment term
        ("Reklamationen innerhalb von 8 Tagen. Zahlungsziel: 21 Tage netto", 21),
    ],
)
def test_payment_terms_of_more_countries(line: str, days: int) -> None:
    from flows.invoice_processing.extraction import payment_terms_days

    assert payment_terms_days(Document(f"Acme\n{line}\nTotal 100,00 EUR")) == days


@pytest.mark.parametrize(
    ("text", "currency"),
    [
        ("Total ₪ 4,680.00", "ILS"),
        ("Ödenecek Tutar 247.038,00 TL", "TRY"),
        ("IBAN IS14 0159 2600 7654 5510 7303 39\nSamtals til greiðslu kr.   365.651", "ISK"),
        ("HST Registration No. 87654 3216 RT0001\nTotal $ 12,430.00", "CAD"),
    ],
)
def test_currencies_of_more_countries(text: str, currency: str) -> None:
    assert parse_invoice(f"Acme Ltd\nInvoice 77\n{text}\n").value.currency == currency


@pytest.mark.parametrize(
    ("name", "form"),
    [
        ("Elektroinstalatsii Georgiev EOOD", "EOOD"),
        ("Aegean Yacht Provisioning I.K.E.", "I.K.E."),
        ("EGE TEKSTİL KONFEKSİYON SAN. VE TİC. LTD. ŞTİ.", "Şti."),
    ],
)
def test_legal_forms_of_more_countries(name: str, form: str) -> None:
    from flows.invoice_processing.extraction._parties import ends_with_legal_form

    assert ends_with_legal_form(name)
    found = parse_invoice(f"{name}\nSome Street 62, Piraeus\nInvoice 12\nTotal 10.00 EUR\n")
    assert found.value.vendor_name is not None and found.value.vendor_name.endswith(form)
    # a Turkish dotted capital I lowers without a stray combining dot
    assert "\u0307" not in found.value.vendor_name


def test_amounts_without_cents_grouped_by_dots() -> None:
    from flows.invoice_processing.extraction import decimal_separator

    # krónur have no cents: "294.880" is 294880; dates do not vote for a decimal point
    doc = Document("Dagsetning: 03.03.2026\nSamtals 294.880\nVSK 70.771")
    assert decimal_separator(doc) == ","
    assert decimal_separator(Document("Date 03.03.2026\nTotal 1,234.50")) == "."


def test_probe_eleven_layouts() -> None:
    from flows.invoice_processing.extraction import payment_terms_days

    terms = (
        "Early settlement: 1.5% discount if paid within 7 days\nTerms: 30 days from invoice date"
    )
    assert payment_terms_days(Document(terms)) == 30
    assert payment_terms_days(Document("Pagamento: bonifico 30 gg data fattura")) == 30
    # a law's article is no amount
    text = (
        "Camille Roussel\nFacture n° 2026-04\nTotal HT 1 240,00 €\n"
        "TVA non applicable, art. 293 B du CGI\nNet à payer 1 240,00 €\n"
    )
    assert parse_invoice(text).value.tax is None
    # the holder of a utility account is the customer
    bill = (
        "Intestatario: Studio Dentistico Ferraro S.r.l.\nVia Roma 3, 20121 Milano\n"
        "Fattura n. 2026-118\nTotale da pagare 120,00 €\n"
    )
    assert parse_invoice(bill).value.vendor_name != "Studio Dentistico Ferraro S.r.l."
    # an invoice number grouped by spaces
    assert (
        parse_invoice(
            "Telco GmbH\nRechnungsnummer: 30 1184 2207\nBetrag 10,00 EUR\n"
        ).value.invoice_number
        == "30 1184 2207"
    )
    # a column heading that names the currency
    fees = "Maple Market Services Inc.\nInvoice MMS-1\nDescription   Amount (CAD)\nFees  120.00\n"
    assert parse_invoice(fees).value.currency == "CAD"


def test_probe_twelve_dates_and_credit_sums() -> None:
    from flows.invoice_processing.extraction import payment_terms_days

    # "expedición" is the date of issue, not an expiry ("exp")
    es = "Taller Ruiz\nFactura nº 2026/031\nFecha de expedición: 4 de marzo de 2026\nTotal 121,00 €"
    assert parse_invoice(es).value.invoice_date == dt.date(2026, 3, 4)
    da = "Faktura 2026-07\nFakturadato: 2. februar 2026\nBetalingsfrist: 16. februar 2026\n"
    assert parse_invoice(da).value.due_date == dt.date(2026, 2, 16)
    assert payment_terms_days(Document("Zahlbar innert 30 Tagen netto")) == 30
    # a credit note's own sums are no store credit
    note = (
        "Harbour Print Ltd\nCREDIT NOTE CN-0091\nDate: 12/03/2026\n"
        "Net credit £420.00\nVAT 20% £84.00\nTotal credit £504.00\n"
    )
    fields = parse_invoice(note).value
    assert (fields.subtotal, fields.tax, fields.total) == (
        Decimal("420.00"),
        Decimal("84.00"),
        Decimal("504.00"),
    )


def test_probe_twelve_sellers() -> None:
    # a greeting is no name; "Fra:" names the seller; a sole trader's status is no part of it
    mail = (
        "Hej Mette,\n\nHer er fakturaen for januar:\n\nFaktura nr. 2026-007\n"
        "Fakturadato: 2. februar 2026\n\n"
        "Fra: Søren Holm Grafisk Design (enkeltmandsvirksomhed)\nCVR-nr.: 94901278\n"
        "Nørrebrogade 88, 2200 København N\n\nTil: Café Bønnen ApS\n\n"
        "I alt inkl. moms   14.062,50 kr.\n"
    )
    assert parse_invoice(mail).value.vendor_name == "Søren Holm Grafisk Design"
    # a right-aligned title is no name; Norwegian "AS" ends a name beside another column
    nor = (
        "                                  FAKTURA\n"
        "Fjordkraft Verksted AS                   Fakturanr.      88412\n"
        "Strandkaien 14                           Fakturadato     03.03.2026\n"
        "5013 Bergen\n\nKunde:\nBergen Havnelogistikk AS\n\nÅ betale   12 500,00\n"
    )
    assert parse_invoice(nor).value.vendor_name == "Fjordkraft Verksted AS"
    # "An" alone heads the buyer's block; an Austrian sole trader's "e.U." is a legal form
    at = (
        "Alpenblick Softwareentwicklung e.U.\nInh. Thomas Gruber\n"
        "Mariahilfer Straße 112/7, 1070 Wien\nUID-Nr.: ATU28849191\n\n"
        "An\nDatenwerk Süd GmbH\nLeopoldstraße 44\n80802 München\n\n"
        "RECHNUNG Nr. AB-2026-011\nRechnungsbetrag   6.650,00 EUR\n"
    )
    assert parse_invoice(at).value.vendor_name == "Alpenblick Softwareentwicklung e.U."
    # in a letter, the account the payment goes to names the seller; not the terms line
    ch = (
        "Guten Tag Frau Keller\n\nNachstehend erhalten Sie meine Rechnung.\n\n"
        "Rechnung Nr. 2026-014\nDatum: 2. März 2026\nZahlbar innert 30 Tagen (bis 1. April 2026)\n"
        "Total inkl. MWST    CHF 4'862.35\n\nZahlbar auf: IBAN CH77 0070 0110 0058 3746 1\n"
        "lautend auf Claire Dubois Übersetzungen, Seefeldstrasse 45, 8008 Zürich\n"
    )
    assert parse_invoice(ch).value.vendor_name == "Claire Dubois Übersetzungen"
    # "as" the word is no legal form
    from flows.invoice_processing.extraction._parties import ends_with_legal_form

    assert ends_with_legal_form("Fjordkraft Verksted AS")
    assert not ends_with_legal_form("work done as")


def test_probe_twelve_greek_japanese_and_brazilian_labels() -> None:
    gr = (
        "ΤΙΜΟΛΟΓΙΟ ΠΑΡΟΧΗΣ ΥΠΗΡΕΣΙΩΝ\n\nΚΑΦΕΤΖΗΣ ΛΟΓΙΣΤΙΚΗ Ι.Κ.Ε.\n"
        "Εγνατίας 154, 546 36 Θεσσαλονίκη\nΑΦΜ: 453400157 - ΔΟΥ: Δ' Θεσσαλονίκης\n\n"
        "Αρ. Τιμολογίου: ΤΠΥ-0042\nΗμερομηνία: 10/02/2026\n\n"
        "Πελάτης: ΜΑΝΤΖΑΡΗΣ ΕΜΠΟΡΙΚΗ Α.Ε.\n\n"
        "Καθαρή αξία:      600,00 €\nΦΠΑ 24%:          144,00 €\nΣύνολο:           744,00 €\n"
    )
    f = parse_invoice(gr).value
    assert (f.vendor_name or "").upper() == "ΚΑΦΕΤΖΗΣ ΛΟΓΙΣΤΙΚΗ Ι.Κ.Ε."
    assert (f.vendor_tax_id, f.invoice_number) == ("453400157", "ΤΠΥ-0042")
    assert (f.subtotal, f.tax, f.total) == (Decimal("600.00"), Decimal("144.00"), Decimal("744.00"))
    jp = (
        "請求書\n\n株式会社山田商事 御中                  請求日: 2026年3月10日\n"
        "                                      請求書番号: INV-2026-0310\n\n"
        "                                      株式会社さくらデザイン\n"
        "                                      〒150-0002 東京都渋谷区渋谷2-14-5\n"
        "                                      登録番号: T2243933283679\n\n"
        "ご請求金額  ¥330,000（税込）\nお支払期限: 2026年4月30日\n\n"
        "小計                    300,000\n消費税（10%）            30,000\n"
        "合計                    330,000\n"
    )
    f = parse_invoice(jp).value
    assert f.vendor_name == "株式会社さくらデザイン"  # not the addressee "御中"
    assert (f.invoice_number, f.invoice_date, f.due_date) == (
        "INV-2026-0310",
        dt.date(2026, 3, 10),
        dt.date(2026, 4, 30),
    )
    assert (f.subtotal, f.tax, f.total) == (Decimal("300000"), Decimal("30000"), Decimal("330000"))
    br = (
        "FATURA DE SERVIÇOS Nº 000482\n\nPrestador: Cerrado Soluções em TI Ltda.\n"
        "Valor dos serviços:        R$ 9.940,00\nISS (5%):                  R$ 497,00\n"
        "Valor total da fatura:     R$ 10.437,00\n"
    )
    f = parse_invoice(br).value
    assert (f.subtotal, f.tax, f.total) == (
        Decimal("9940.00"),
        Decimal("497.00"),
        Decimal("10437.00"),
    )


def test_probe_twelve_numbers_and_sums() -> None:
    from flows.invoice_processing.extraction import find_invoice_numbers, find_po_numbers

    # a bare "No :" under a title in two languages
    ca = "Tremblay inc.\n\nFACTURE / INVOICE\nNo : 2026-0217\nDate : 2026-02-26\n"
    assert find_invoice_numbers(Document(ca))[0].value == "2026-0217"
    assert find_po_numbers(Document("Nr. comandă: CMD-552\n"))[0].value == "CMD-552"
    assert find_po_numbers(Document("Customer Order    ORD-2231\n"))[0].value == "ORD-2231"
    # "Btw 9% over € 710,00": the base; the tax is the amount below it
    nl = (
        "Bakkerij De Zonnebloem B.V.\nFACTUUR\nSubtotaal\n€ 915,00\nBtw 9% over € 710,00\n"
        "€ 63,90\nBtw 21% over € 205,00\n€ 43,05\nTotaal\n€ 1.021,95\n"
    )
    f = parse_invoice(nl).value
    assert (f.subtotal, f.tax, f.total) == (
        Decimal("915.00"),
        Decimal("106.95"),
        Decimal("1021.95"),
    )
    # in a letter's prose, the net is the printed amount that the tax completes to the total
    ie = (
        "Brennan & Associates\nInvoice 2026-11\nOur fee for this stage amounts to €4,800.00, "
        "to which VAT at 23% of €1,104.00 is added,\ngiving a total of €5,904.00.\n"
    )
    f = parse_invoice(ie).value
    assert (f.subtotal, f.tax, f.total) == (
        Decimal("4800.00"),
        Decimal("1104.00"),
        Decimal("5904.00"),
    )
    # not when that amount is printed nowhere
    bare = "Acme Ltd\nInvoice 7\nVAT: €20.00\nTotal due: €120.00\n"
    assert parse_invoice(bare).value.subtotal is None


def test_probe_thirteen_latin_american_invoices_and_credit_memos() -> None:
    from flows.invoice_processing.extraction import find_invoice_numbers, find_po_numbers

    # "$" in Colombia, Chile and Argentina is their peso, told by the seller's tax number
    assert find_currency(Document("NIT 900.327.002-4\nTotal $ 1.250.000"))[0].value == "COP"
    assert find_currency(Document("R.U.T.: 76.057.283-7\nTOTAL $ 1.793.330"))[0].value == "CLP"
    assert find_currency(Document("CUIT: 30-74140488-1\nTotal $ 10,00"))[0].value == "ARS"
    cl = (
        "COMERCIAL ANDES SpA\nR.U.T.: 76.057.283-7\nFecha Emisión: 12 de marzo de 2026\n"
        "Condición de pago: 30 días\n"
        "MONTO NETO      $ 1.507.000\nI.V.A. 19%        $ 286.330\nTOTAL           $ 1.793.330\n"
    )
    f = parse_invoice(cl).value
    assert (f.vendor_tax_id, f.due_date) == ("760572837", dt.date(2026, 4, 11))
    assert (f.subtotal, f.tax, f.total) == (
        Decimal("1507000"),
        Decimal("286330"),
        Decimal("1793330"),
    )
    ar = (
        "AGRO SUR S.A.\nIVA Responsable Inscripto     Punto de Venta: 00004   Comp. Nro: 00001287\n"
        "Fecha de Emisión: 06/03/2026\nFecha de Vto. para el pago: 05/04/2026\n"
        "Condición de venta: Cuenta Corriente 30 días     O.C. N°: 5521\n"
        "Importe Neto Gravado: $    4.630.000,00\nIVA 27%:              $            0,00\n"
        "IVA 21%:              $      195.300,00\nIVA 10.5%:            $      388.500,00\n"
        "IVA 0%:               $            0,00\nImporte Total:        $    5.213.800,00\n"
        "CAE N°: 76104512345678          Fecha de Vto. de CAE: 16/03/2026\n"
    )
    f = parse_invoice(ar).value
    assert (f.invoice_number, f.po_number) == ("00004-00001287", "5521")  # with its point of sale
    assert (f.invoice_date, f.due_date) == (dt.date(2026, 3, 6), dt.date(2026, 4, 5))
    assert (f.subtotal, f.tax, f.total) == (
        Decimal("4630000.00"),
        Decimal("583800.00"),
        Decimal("5213800.00"),
    )
    # a credit memo's own number, not the invoice it corrects
    memo = "CREDIT MEMO\nCredit Memo No.:   CM-10233\nOriginal Invoice:  INV-48812\n"
    assert find_invoice_numbers(Document(memo))[0].value == "CM-10233"
    pl = "FAKTURA KORYGUJĄCA nr KOR/7/2026\nDotyczy faktury nr FV/118/02/2026\n"
    assert "FV/118/02/2026" not in [c.value for c in find_invoice_numbers(Document(pl))[:1]]
    assert find_po_numbers(Document("O.C. N°: 5521"))[0].value == "5521"


def test_probe_thirteen_labels() -> None:
    from flows.invoice_processing.extraction import find_invoice_numbers, find_po_numbers

    def number(text: str) -> str:
        return find_invoice_numbers(Document(text))[0].value

    assert number("FAKTÚRA – DAŇOVÝ DOKLAD č. 2026010147") == "2026010147"
    assert number("RAČUN br. 125-1-1") == "125-1-1"
    assert number("ARVE nr 7741-260302-118") == "7741-260302-118"
    assert number("Núm. proforma: PF-2026-027") == "PF-2026-027"
    assert number("Folio No. : 448120") == "448120"
    assert number("FATTURA\nn. 118/2026 del 10/03/2026") == "118/2026"
    assert find_po_numbers(Document("Ihre Bestellung: Nr. 2026-117 vom 02.03.2026"))[0].value == (
        "2026-117"
    )
    assert find_po_numbers(Document("Customer PO GSS/PO/2026/0412"))[0].value == "GSS/PO/2026/0412"
    ee = (
        "Eesti Energia AS\nARVE nr 7741-260302-118\nKuupäev: 02.03.2026\n"
        "Maksetähtaeg: 17.03.2026\nKokku ilma käibemaksuta 347,17\nKäibemaks 24% 83,32\n"
        "Tasuda kokku 430,49 EUR\n"
    )
    f = parse_invoice(ee).value
    assert (f.due_date, f.subtotal, f.tax) == (
        dt.date(2026, 3, 17),
        Decimal("347.17"),
        Decimal("83.32"),
    )
    lv = (
        "SIA Rīgas Koks\nRēķins Nr. 12\nDatums: 2026. gada 9. martā\n"
        "Apmaksāt līdz: 2026. gada 23. martā\n"
    )
    f = parse_invoice(lv).value
    assert (f.invoice_date, f.due_date) == (dt.date(2026, 3, 9), dt.date(2026, 3, 23))
    co = "Tostadora de Café La Montaña S.A.S.\nNIT 900.327.002-4\nFactura FEV-1\nTotal $ 10.000"
    assert parse_invoice(co).value.vendor_name == "Tostadora de Café La Montaña S.A.S."
    tr = (
        "Anadolu Lojistik A.Ş.\nFatura No: ANL2026000000123\n"
        "Mal Hizmet Toplam Tutarı    66.500,00 TL\nHesaplanan KDV (%20)    10.900,00 TL\n"
        "Ödenecek Tutar    77.400,00 TL\n"
    )
    assert parse_invoice(tr).value.subtotal == Decimal("66500.00")


def test_a_dollar_equivalent_does_not_make_a_gulf_invoice_month_first() -> None:
    text = (
        "Gulf Star Trading LLC\nTRN 100234567890003\nTax Invoice GSS-2026-118\n"
        "Invoice Date 10/03/2026\nTotal AED 22,869.00\nUSD equivalent @ 3.6725  USD 6,227.09\n"
    )
    assert parse_invoice(text).value.invoice_date == dt.date(2026, 3, 10)
    us = "Acme Inc.\nInvoice 7\nDate 10/03/2026\nTotal USD 100.00\nPaid in USD\n"
    assert parse_invoice(us).value.invoice_date == dt.date(2026, 10, 3)


def test_probe_sixteen_labels() -> None:
    from flows.invoice_processing.extraction import find_po_numbers

    # et: the payer ("Maksja") is the buyer; "Summa km-ta" the net, "Kokku tasuda" the total;
    # the seller signs below
    ee = (
        "Tere!\n\nARVE nr 2026-118\nKuupäev: 03.03.2026\nMaksja: Saaremaa Puhkemaja OÜ, "
        "Kuressaare\n\nSumma km-ta        720,00\nKäibemaks 24%      172,80\n"
        "Kokku tasuda (EUR)     892,80\n\nLugupidamisega\nKadri Tamm\n"
        "Tallinna Veebistuudio OÜ\nReg.kood 14718230, KMKR nr EE108577626\n"
    )
    f = parse_invoice(ee).value
    assert (f.vendor_name, f.subtotal, f.tax, f.total) == (
        "Tallinna Veebistuudio OÜ",
        Decimal("720.00"),
        Decimal("172.80"),
        Decimal("892.80"),
    )
    tr = "Ege Tekstil A.Ş.\nFatura No: EGE2026000000077\nFatura Tarihi: 16-03-2026\n"
    tr += "Vade Tarihi: 15-04-2026\n"
    assert parse_invoice(tr).value.due_date == dt.date(2026, 4, 15)
    assert find_po_numbers(Document("Jeres ordrenr.: PO-DK-31877"))[0].value == "PO-DK-31877"


def test_a_table_of_items_under_a_sum_label_gives_no_sum() -> None:
    """ "Celkem bez DPH" heads the items' last column: its last row is an item, not the net;
    the VAT recapitulation's base and tax are."""
    cz = (
        "FAKTURA - DAŇOVÝ DOKLAD č. 2026010457\nDodavatel:\nElektro Novák s.r.o.\n"
        "Označení dodávky                   Množství   Cena/MJ    DPH     Celkem bez DPH\n"
        "Revize elektroinstalace provozovny   1 ks     8 500,00   21 %    8 500,00\n"
        "Jistič 3f 25A typ B                  6 ks       412,00   21 %    2 472,00\n"
        "Kabel CYKY-J 3x2,5                   150 m       38,50   21 %    5 775,00\n\n"
        "Rekapitulace DPH       Základ          DPH\n"
        "21 %                   16 747,00       3 516,87\n\n"
        "Celkem k úhradě:                                 20 263,87 Kč\n"
    )
    f = parse_invoice(cz).value
    assert (f.subtotal, f.tax, f.total) == (
        Decimal("16747.00"),
        Decimal("3516.87"),
        Decimal("20263.87"),
    )


def test_gst_items_under_a_taxable_value_heading_and_two_taxes_with_a_round_off() -> None:
    """The items' "Taxable Value" column is not the net; CGST + SGST make the tax although
    the total was rounded ("Round Off -0.41")."""
    text = (
        "TAX INVOICE\nSAHYADRI PRECISION COMPONENTS PVT. LTD.\nGSTIN: 29HSHCJ7865D1ZX\n"
        "Invoice No: SPC/25-26/1184                      Invoice Date: 14-Mar-2026\n\n"
        "Sl  Description                     HSN      Qty     Rate       Taxable Value\n"
        "1   CNC machined bracket MB-220     8483     500     86.40      43,200.00\n"
        "2   Bronze bushing BB-32            8483   1,200     12.75      15,300.00\n"
        "3   Packing & forwarding            9985       1   1,250.35       1,250.35\n\n"
        "                                            Taxable Value          59,750.35\n"
        "                                            CGST @ 9%               5,377.53\n"
        "                                            SGST @ 9%               5,377.53\n"
        "                                            Round Off                  -0.41\n"
        "                                            Grand Total (INR)      70,505.00\n"
    )
    f = parse_invoice(text).value
    assert (f.subtotal, f.tax, f.total) == (
        Decimal("59750.35"),
        Decimal("10755.06"),
        Decimal("70505.00"),
    )


def test_a_note_that_the_tax_does_not_apply_gives_no_tax() -> None:
    text = (
        "Locadora Serra Azul Ltda.\nFatura nº 2026/0042\nData de emissão: 02/03/2026\n"
        "VALOR TOTAL DA FATURA   R$ 4.770,00\n"
        "Observações: locação de bens móveis - não incidência de ISS (Súmula Vinculante 31 "
        "do STF).\n"
    )
    f = parse_invoice(text).value
    assert (f.total, f.tax) == (Decimal("4770.00"), None)


def test_probe_sixteen_credit_note_and_signed_names() -> None:
    from flows.invoice_processing.extraction import find_invoice_numbers

    credit = (
        "Hello,\n\nPlease find below our credit note for the damaged planters.\n"
        "It has been allocated against invoice INV-24417 dated 02/03/2026.\n\nCREDIT NOTE\n"
        "Credit Note No: CN-00871\nDate: 18/03/2026\nNet credit £265.00\nVAT @ 20% £53.00\n"
        "Total credit £318.00\n\nKind regards,\nHannah Firth\n"
        "Accounts, Thistle & Thorn Garden Supplies Ltd\nVAT Reg No: GB 345 5142 25\n"
    )
    assert find_invoice_numbers(Document(credit))[0].value == "CN-00871"
    assert parse_invoice(credit).value.vendor_name == "Thistle & Thorn Garden Supplies Ltd"
    lv = (
        "RĒĶINS / INVOICE Nr. BDL-26/0193\nDatums / Date: 06.03.2026\n"
        "Piegādātājs / Supplier: Baltic Data Labs SIA\nKopā apmaksai / Total due  3 000,00 EUR\n"
    )
    assert parse_invoice(lv).value.vendor_name == "Baltic Data Labs SIA"


def test_probe_seventeen_labels() -> None:
    from flows.invoice_processing.extraction import find_tax_ids

    pe = (
        "TEXTILES CHAVÍN S.A.C.\nR.U.C. N° 20661538831\nFACTURA ELECTRÓNICA\n"
        "Sub Total Ventas :    S/   19,000.00\nDescuentos       :    S/     -550.00\n"
        "Valor Venta      :    S/   18,450.00\nIGV 18%          :    S/    3,321.00\n"
        "Importe Total    :    S/   21,771.00\n"
    )
    f = parse_invoice(pe).value
    assert (f.vendor_tax_id, f.subtotal, f.tax, f.total, f.currency) == (
        "20661538831",
        Decimal("18450.00"),
        Decimal("3321.00"),
        Decimal("21771.00"),
        "PEN",
    )
    be = (
        "Schrijnwerkerij Vandenbroeck BV\nFactuur 2026-0412\nSubtotaal   11.442,00\n"
        "Korting   -422,50\nMaatstaf van heffing   11.019,50\nBtw 21%   2.314,10\n"
        "TOTAAL TE BETALEN   EUR   13.333,60\n"
    )
    assert parse_invoice(be).value.subtotal == Decimal("11019.50")
    assert find_tax_ids(Document("KRA PIN: P051703925R"))[0].value == "P051703925R"
    # a CFDI's tax code and rate ("IVA 002 Tasa 0.160000") are no tax amount
    mx = "Traslados: IVA 002 Tasa 0.160000\nSubtotal 45,837.50\nIVA 16% 7,334.00\nTotal 53,171.50\n"
    assert parse_invoice(mx).value.tax == Decimal("7334.00")


def test_a_buyers_vat_number_under_its_address_opening_with_n_degree_is_the_buyers() -> None:
    text = (
        "MÉTALLERIE ROUX & FILS\nSAS au capital de 50 000 €\nFACTURE N° FA-2026-1206\n"
        "Date de facture : 26/11/2026\nAdresse de facturation :\nSCI Les Volcans\n"
        "18 boulevard Desaix\n63000 Clermont-Ferrand\nN° TVA : FR05031594385\n\n"
        "Total TTC 14 175,00 €\n"
        "SIRET 838 713 402 00019 · TVA intracommunautaire FR85838713402\n"
    )
    assert parse_invoice(text).value.vendor_tax_id == "FR85838713402"


def test_a_bulgarian_invoice_with_its_amounts_again_in_leva() -> None:
    """Bulgarian labels; each sum printed again in leva, in brackets: the euro amount is the
    sum; the spaced-out title and the copy's mark are no seller."""
    text = (
        "                 Ф А К Т У Р А\n                    ОРИГИНАЛ\n\n"
        "Номер: 0000001843                         Дата на издаване: 13.11.2026\n\n"
        "ДОСТАВЧИК:                                ПОЛУЧАТЕЛ:\n"
        "Агротехника Тракия ЕООД                   Зърнени храни Добруджа АД\n"
        "ИН по ДДС: BG204526163                    ИН по ДДС: BG207710970\n\n"
        "Поръчка №: 0457/2026 от 02.11.2026\n\n"
        "                 Данъчна основа:     3 490,00 EUR   (6 825,85 лв.)\n"
        "                 ДДС 20 %:             698,00 EUR   (1 365,17 лв.)\n"
        "                 Сума за плащане:    4 188,00 EUR   (8 191,02 лв.)\n\n"
        "Начин на плащане: по банков път      Срок за плащане: 27.11.2026\n"
        "Банка: УниКредит Булбанк АД\n"
    )
    f = parse_invoice(text).value
    assert (f.vendor_name, f.vendor_tax_id, f.invoice_number, f.po_number) == (
        "Агротехника Тракия ЕООД",
        "BG204526163",
        "0000001843",
        "0457/2026",
    )
    assert (f.invoice_date, f.due_date) == (dt.date(2026, 11, 13), dt.date(2026, 11, 27))
    assert (f.subtotal, f.tax, f.total) == (
        Decimal("3490.00"),
        Decimal("698.00"),
        Decimal("4188.00"),
    )


def test_a_signing_accountant_and_a_name_in_a_second_script_are_not_the_name() -> None:
    lt = (
        "Laba diena,\nsiunčiame sąskaitą faktūrą.\nSąskaita faktūra Nr. ML-2611\n"
        "Mokėti: 1 210,00 EUR\n\nPagarbiai,\nRasa Petrauskienė\n"
        "Buhalterė, UAB „Medienos linija“\nPVM kodas LT100008531019\n"
    )
    assert parse_invoice(lt).value.vendor_name == "UAB „Medienos linija“"
    sa = (
        "AL WAHA INDUSTRIAL SERVICES CO.            شركة الواحة للخدمات الصناعية\n"
        "TAX INVOICE\nInvoice No: AW-2026-311\nTotal SAR 11,500.00\n"
    )
    name = parse_invoice(sa).value.vendor_name or ""
    assert name.casefold() == "al waha industrial services co."


def test_icelandic_dates_with_month_names() -> None:
    text = (
        "Norðurljós Ferðaþjónusta ehf.\nReikningur nr. 20261104\n"
        "Dagsetning: 4. nóvember 2026\nEindagi: 18. nóvember 2026\n"
        "Samtals til greiðslu 52.080 kr.\n"
    )
    f = parse_invoice(text).value
    assert (f.invoice_date, f.due_date) == (dt.date(2026, 11, 4), dt.date(2026, 11, 18))


def test_probe_eighteen_labels_and_currencies() -> None:
    from flows.invoice_processing.extraction import find_po_numbers, find_tax_ids

    gr = (
        "Ελένη Παπαδάκη\nΤιμολόγιο Παροχής Υπηρεσιών 118\nΚαθαρή αξία: 3.960,00 €\n"
        "ΦΠΑ 24%:  950,40 €\nΣύνολο:  4.910,40 €\nΠαρακράτηση φόρου 20%:  -792,00 €\n"
        "Πληρωτέο ποσό:  4.118,40 €\n"
    )
    f = parse_invoice(gr).value
    assert (f.total, f.withholding) == (Decimal("4118.40"), Decimal("792.00"))
    si = "PREDRAČUN št. PR-26-0215\nOsnova za DDV 22%:   5.506,00\nDDV 22%:   1.211,32\n"
    si += "Za plačilo:   6.717,32 EUR\n"
    f = parse_invoice(si).value
    assert (f.invoice_number, f.subtotal, f.tax) == (
        "PR-26-0215",
        Decimal("5506.00"),
        Decimal("1211.32"),
    )
    assert find_currency(Document("UKUPNO ZA UPLATU (RSD):   161.640,00"))[0].value == "RSD"
    assert find_currency(Document("Total NT$ 86,100"))[0].value == "TWD"
    for line, value in [
        ("PIB: 162662109", "162662109"),
        ("ICE : 001874532000048", "001874532000048"),
        ("NTN: 4471823-6", "44718236"),
        ("NPWP: 01.821.888.3-538.905", "018218883538905"),
    ]:
        assert find_tax_ids(Document(line))[0].value == value
    assert find_tax_ids(Document("Ice cubes 2 bags")) == []
    assert find_po_numbers(Document("V/ Encomenda: ENC-7718"))[0].value == "ENC-7718"
    dk = "Tømrer Lund ApS\nFaktura 2611\nFakturadato: 02.11.2026\nBetaling senest: 16.11.2026\n"
    assert parse_invoice(dk).value.due_date == dt.date(2026, 11, 16)
    ie = "Emerald Energy Supply DAC\nElectricity bill\nInvoice No: EE-4471\nTotal due €212.40\n"
    assert parse_invoice(ie).value.vendor_name == "Emerald Energy Supply DAC"


def test_a_tax_id_under_the_sellers_name_in_the_buyers_block_is_the_buyers() -> None:
    text = (
        "PADMA CHEMICALS LIMITED\nHouse 41, Road 7, Banani, Dhaka-1213\nBIN: 000418877-0101\n"
        "TAX INVOICE\nRegistered person: Padma Chemicals Limited     BIN: 000418877-0101\n\n"
        "Buyer: Meghna Dyeing & Finishing Ltd, Narayanganj     BIN: 002231965-0302\n"
        "Invoice No: PCL-26-00871\nTotal Tk 115,000.00\n"
    )
    f = parse_invoice(text).value
    assert (f.vendor_name, f.vendor_tax_id) == ("Padma Chemicals Limited", "0004188770101")


def test_a_self_billing_invoices_seller_is_the_supplier_it_names() -> None:
    text = (
        "GREENVALE DAIRIES PLC\nMilk Procurement, Greenvale House, Station Road, Nantwich CW5 5SP\n"
        "VAT Reg No: GB 571 0432 15\n\nSELF-BILLING INVOICE\n\n"
        "Supplier:          Hollins Farm Partnership\n"
        "                   Hollins Lane, Audlem, Cheshire CW3 0AP\n"
        "Supplier VAT No:   GB 497 0444 63\n\nSelf-billing invoice no:  SB-HF-2611\n"
        "Net amount   £70,862.40\nTotal payable to supplier   £70,862.40\n"
    )
    f = parse_invoice(text).value
    assert (f.vendor_name, f.vendor_tax_id) == ("Hollins Farm Partnership", "GB497044463")


def test_vietnamese_sums() -> None:
    text = (
        "HÓA ĐƠN GIÁ TRỊ GIA TĂNG\nMã số thuế: 0327035064\n"
        "Cộng tiền hàng (Total amount):                38.000.000\n"
        "Thuế suất GTGT (VAT rate): 8%     Tiền thuế GTGT (VAT amount):   3.040.000\n"
        "Tổng cộng tiền thanh toán (Total payment):    41.040.000\n"
    )
    f = parse_invoice(text).value
    assert (f.subtotal, f.tax, f.total) == (
        Decimal("38000000"),
        Decimal("3040000"),
        Decimal("41040000"),
    )
    assert f.vendor_name != "HÓA ĐƠN GIÁ TRỊ GIA TĂNG"


def test_probe_nineteen_an_earlier_invoice_a_deposit_was_paid_on_is_not_this_number() -> None:
    """ "Less deposit paid (invoice INV-008790)": the invoice the deposit was paid on, not
    this one's number (in a PDF's reading order it came before "Invoice No:")."""
    from flows.invoice_processing.extraction import find_invoice_numbers

    text = (
        "Coral Coast Landscaping Pty Ltd\nABN 53 004 085 616\nTAX INVOICE\n"
        "Invoice No:    INV-008812\nDate: 09/05/2025\nSubtotal 6,200.00\nGST 620.00\n"
        "Total AUD 6,820.00\nLess deposit paid (invoice INV-008790)  -2,000.00\n"
        "BALANCE DUE AUD 4,820.00\n"
    )
    assert [c.value for c in find_invoice_numbers(Document(text))] == ["INV-008812"]


def test_probe_nineteen_brazilian_fatura() -> None:
    """The seller is the letterhead, not the "Destinatário:" (the buyer, with its accent);
    "R$" is no US dollar, so "04/06/2025" is the 4th of June; "Base de cálculo" is the net
    and IPI the tax."""
    text = (
        "ARAUCÁRIA EQUIPAMENTOS INDUSTRIAIS LTDA.\n"
        "CNPJ: 12.345.678/0001-95   Inscrição Estadual: 123.456.789.110\n"
        "Rua XV de Novembro, 800 - Curitiba/PR\n\nFATURA Nº 2025/0482\n"
        "Data de emissão: 05/05/2025\nVencimento: 04/06/2025\n\n"
        "Destinatário: Mercado Bom Preço S.A.\nCNPJ: 45.987.321/0001-60\n\n"
        "Descrição                        Qtd     Valor unit.      Valor total\n"
        "Balança industrial 300 kg          5     R$ 2.950,00     R$ 14.750,00\n"
        "Balcão refrigerado                 1     R$ 4.000,00      R$ 4.000,00\n\n"
        "Valor total dos produtos:     R$ 18.750,00\nFrete:                           R$ 350,00\n"
        "Base de cálculo:              R$ 19.100,00\nIPI (10%):                     R$ 1.910,00\n"
        "VALOR TOTAL DA FATURA:        R$ 21.010,00\n"
    )
    f = parse_invoice(text).value
    assert f.vendor_name is not None and f.vendor_name.startswith("Araucária")
    assert f.vendor_tax_id == "12345678000195"
    assert (f.invoice_date, f.due_date) == (dt.date(2025, 5, 5), dt.date(2025, 6, 4))
    assert (f.subtotal, f.tax, f.total) == (
        Decimal("19100.00"),
        Decimal("1910.00"),
        Decimal("21010.00"),
    )


def test_probe_nineteen_stacked_party_headings_and_legal_forms() -> None:
    """ "Eladó" over "Vevő" (seller's and buyer's headings, one under the other as a text
    layer lists two columns): the first name below is the seller's, and neither heading is
    a name; "S.A.E." (Egypt) and "Kft." keep their final dot."""
    from flows.invoice_processing.extraction import find_vendor_names

    hu = (
        "SZÁMLA\nEladó\nVevő\nDunamenti Nyomda Kft.\nBalaton Pincészet Zrt.\n"
        "2600 Vác, Gyári út 7.\n8230 Balatonfüred, Szőlő u. 2.\nAdószám: 24892319-2-13\n"
    )
    assert find_vendor_names(Document(hu))[0].value == "Dunamenti Nyomda Kft."
    eg = (
        "NILE DELTA CHEMICALS S.A.E.\nIndustrial Zone 3, 10th of Ramadan City, Egypt\n"
        "Tax Registration No.: 200-345-678\nTAX INVOICE\nInvoice No.: EG-INV-88017\n"
        "Total EGP 71,820.00\n"
    )
    assert parse_invoice(eg).value.vendor_name == "Nile Delta Chemicals S.A.E."


def test_probe_nineteen_the_vat_id_with_its_country_prefix() -> None:
    """ "OIB: 47583219608" and "PDV ID: HR47583219608": one number, and the seller's VAT id
    is the form with the country prefix (what an EU VAT check and the vendor master hold)."""
    text = (
        "Jadranska Oprema d.o.o.\nObala kneza Domagoja 22, 21000 Split\nOIB: 47583219608\n"
        "PDV ID: HR47583219608\n"
        "Kupac: Kvarner Hoteli d.d., Liburnijska 5, 51410 Opatija, OIB: 12398765408\n"
        "RAČUN br. 245-1-1\nDatum i vrijeme izdavanja: 12.03.2025. 14:22\n"
        "Ukupno: 1.250,00 EUR\n"
    )
    assert parse_invoice(text).value.vendor_tax_id == "HR47583219608"


def test_probe_nineteen_chinese_fapiao() -> None:
    """A Chinese VAT invoice: "¥" is the yuan where the text is Chinese (no kana), the
    total is "价税合计" (price and tax together), the number "发票号码", the seller the
    "名称:" under "销售方信息" (not the buyer's under "购买方信息", nor the title), and its
    id the "纳税人识别号"."""
    text = (
        "电子发票（增值税专用发票）\n发票号码: 25332000000012345678\n开票日期: 2025年04月01日\n\n"
        "购买方信息\n名称: 上海明辉贸易有限公司\n"
        "统一社会信用代码/纳税人识别号: 91310000MA1K7P8Q2Y\n\n"
        "销售方信息\n名称: 杭州青岚科技有限公司\n"
        "统一社会信用代码/纳税人识别号: 91330106MA2B3C4D5D\n\n"
        "项目名称      规格型号   单位   数量    单价        金额        税率   税额\n"
        "*信息技术服务*软件维护    年       1   12000.00   12000.00    13%   1560.00\n\n"
        "合计                                          ¥12000.00          ¥1560.00\n"
        "价税合计（大写）  壹万叁仟伍佰陆拾圆整           （小写）¥13560.00\n"
    )
    f = parse_invoice(text).value
    assert (f.invoice_number, f.invoice_date) == ("25332000000012345678", dt.date(2025, 4, 1))
    assert (f.currency, f.total, f.tax) == ("CNY", Decimal("13560.00"), Decimal("1560.00"))
    assert (f.vendor_name, f.vendor_tax_id) == ("杭州青岚科技有限公司", "91330106MA2B3C4D5D")
    jp = "請求書\n東雲精機株式会社\n請求書番号: INV-2025-0310\n合計      ¥555,000\n"
    assert parse_invoice(jp).value.currency == "JPY"


def test_probe_twenty_the_currency_beside_an_exchange_rate_is_another_one() -> None:
    """A line about another currency (a payment possible in it, an equivalent at a rate)
    does not name the invoice's: a Swiss invoice in CHF that offers payment in EUR, a
    Bulgarian one in leva with its euro equivalent (probe 20: both were read as EUR). A
    currency in an amount column's heading ("Betrag CHF") names the invoice's."""
    ch = (
        "Bergquell Getränke AG\nRechnung\nRechnungsnummer RE-2026-10734\n"
        "Art.-Nr. Bezeichnung Menge Preis CHF MWST Betrag CHF\n"
        "10021 Mineralwasser still 120 8.40 2.6 % 1'008.00\n"
        "Rechnungsbetrag CHF\n1'008.00\n"
        "Zahlung in EUR möglich: EUR 1'077.92 (Kurs 0.9343, unverbindlich).\n"
    )
    assert parse_invoice(ch).value.currency == "CHF"
    bg = (
        "ФАКТУРА\n№ 0000004471\nРодопа Трейд ЕООД\n"
        "Сума за плащане:         3 276,00 лв.\n"
        "Равностойност в евро:    1 674,99 €\n"
        "(фиксиран курс 1 EUR = 1,95583 лв.)\n"
    )
    assert parse_invoice(bg).value.currency == "BGN"
    # alone, a currency beside a rate is the invoice's; a training course is no rate
    assert parse_invoice("Acme\nInvoice 5\nTotal 100,00 EUR (Kurs 1.0)\n").value.currency == "EUR"
    course = "Acme GmbH\nRechnung 5\nKurs Excel für Fortgeschrittene 450,00 EUR\nSumme 450,00 EUR\n"
    assert parse_invoice(course).value.currency == "EUR"


def test_probe_twenty_a_peso_sign_is_no_us_date_cue() -> None:
    """A Mexican invoice writes "$41,850.00" and day-first dates: "09/12/2026" is the 9th of
    December (probe 20: read as September 12th, before the invoice date, because "$" was
    taken for a US cue). The RFC says where the invoice comes from."""
    text = (
        "SERVICIOS INDUSTRIALES DEL BAJÍO, S.A. DE C.V.\nRFC: SIB140523Q64\n"
        "FACTURA   Serie: A    Folio: 2290\nFecha de emisión: 2026-11-09\n"
        "Fecha límite de pago: 09/12/2026\n"
        "Subtotal           $41,850.00\nIVA 16%  $6,696.00\nTotal              $48,546.00\n"
    )
    f = parse_invoice(text).value
    assert (f.currency, f.due_date) == ("MXN", dt.date(2026, 12, 9))
    us = "Acme Inc.\n12 Main St, Austin, TX 78701\nInvoice 5\nDue: 09/12/2026\nTotal $1,200.00\n"
    assert parse_invoice(us).value.due_date == dt.date(2026, 9, 12)


def test_probe_twenty_a_mexican_rfc_is_no_eu_vat_id() -> None:
    """An RFC starts with letters: "SIB140523Q64" is not checked as a Slovenian VAT id (probe
    20: the invoice waited with a false invalid_vat_id); a bad EU VAT id still is flagged."""
    from flows.invoice_processing.checks import id_issues

    assert id_issues({"vendor_tax_id": "SIB140523Q64"}, None) == []
    assert id_issues({"vendor_tax_id": "SI12345678"}, None)[0]["code"] == "invalid_vat_id"


def test_probe_twenty_the_balance_after_a_deposit_and_space_grouped_rand_rows() -> None:
    """An invoice that takes a deposit off its total: the total stays the invoice's gross
    total and what is left to pay is `amount_due` (probe 20: the balance was lost, and
    paying the total would pay the deposit twice). Rows priced "R 24 500.00" are read whole
    (they were read as 500.00, a false arithmetic mismatch)."""
    za = (
        "KAROO SOLAR INSTALLATIONS (PTY) LTD\nVAT No. 4120187654\nTAX INVOICE\n"
        "Invoice No:   KSI-002781\nDate:         2026/10/19\n\n"
        "Qty   Description                                 Unit Price        Amount\n"
        "  1   Sunsynk 5kW hybrid inverter                R 24 500.00   R 24 500.00\n"
        " 10   JA Solar 550W mono panel                   R  2 150.00   R 21 500.00\n\n"
        "                      Subtotal (excl. VAT)   R 46 000.00\n"
        "                      VAT @ 15%              R  6 900.00\n"
        "                      Total (incl. VAT)      R 52 900.00\n"
        "                      Less: Deposit received 2026/09/30\n"
        "                                            -R 26 450.00\n"
        "                      AMOUNT DUE             R 26 450.00\n"
    )
    f = parse_invoice(za).value
    assert (f.total, f.amount_due) == (Decimal("52900.00"), Decimal("26450.00"))
    assert [(i.quantity, i.amount) for i in f.line_items] == [
        (Decimal("1"), Decimal("24500.00")),
        (Decimal("10"), Decimal("21500.00")),
    ]
    et = (
        "Põhjala Puit OÜ\nArve nr 2026/1187\nKuupäev 12.11.2026\n"
        "Summa käibemaksuta            3 120,00\nKäibemaks 24%                   748,80\n"
        "Arve summa kokku              3 868,80\n"
        "Ettemaks (arve 2026/1041)    -1 000,00\nTasuda EUR                    2 868,80\n"
    )
    f = parse_invoice(et).value
    assert (f.total, f.amount_due) == (Decimal("3868.80"), Decimal("2868.80"))
    # nothing taken off: no amount due of its own
    plain = "Acme Ltd\nInvoice 7\nSubtotal 100.00\nVAT 20.00\nAmount due 120.00 GBP\n"
    assert parse_invoice(plain).value.amount_due is None


def test_probe_twenty_a_permits_issue_date_is_not_the_invoices() -> None:
    """ "BIR Permit/ATP No. OCN 4AU0001234567, issued 2024-03-11" dates the seller's permit
    (probe 20: it was taken as the invoice date, with confidence 0.975)."""
    text = (
        "BAYANIHAN CLOUD SOLUTIONS, INC.\nVAT Reg. TIN: 009-421-776-000\n"
        "BIR Permit/ATP No. OCN 4AU0001234567, issued 2024-03-11\n\n"
        "SALES INVOICE No. 0004512\n\nDate:           October 8, 2026\n"
        "Due Date:       November 7, 2026\nTOTAL AMOUNT DUE   PHP 95,200.00\n"
    )
    f = parse_invoice(text).value
    assert (f.invoice_date, f.due_date) == (dt.date(2026, 10, 8), dt.date(2026, 11, 7))
    assert parse_invoice("Acme\nInvoice 4\nIssued 2026-03-11\nTotal 5.00 EUR\n").value.invoice_date


@pytest.mark.parametrize(
    ("text", "number"),
    [
        # a number sign alone on its line under the title ("№" reads as "No")
        ("Родопа Трейд ЕООД\nФАКТУРА\nОРИГИНАЛ\n№ 0000004471\nСума за плащане: 10,00 лв.",
         "0000004471"),
        # ... or in a box beside the letterhead
        ("COMERCIAL ANDES SUR SpA          |  FACTURA ELECTRÓNICA   |\n"
         "Fono: +56 2 2938 4410            |  N° 48213              |\nTotal $ 100", "48213"),
        # uk "Рахунок на оплату №", its number in Cyrillic letters
        ("ТОВ «Дніпро Логістик»\nРахунок на оплату № ДЛ-0742 від 12.10.2026\nВсього 10,00",
         "ДЛ-0742"),
        # th "เลขที่:", vi "Số (No.):", ko "청구번호", id "No. Faktur"
        ("บริษัท สยาม จำกัด\nเลขที่: INV2611-0089        วันที่: 14/11/2026\nรวม 10.00", "INV2611-0089"),
        ("CÔNG TY TNHH SAO MAI\nKý hiệu (Serial): 1C26TSM\nSố (No.): 00000318\nTổng 10.000",
         "00000318"),
        ("주식회사 한빛테크\n청구번호: HB-2610-0457\n합계 10,000", "HB-2610-0457"),
        ("PT Nusantara Kemasan Abadi\nNo. Faktur: INV/NKA/2026/11/0215\nTotal Rp 10.000",
         "INV/NKA/2026/11/0215"),
    ],
)  # fmt: skip
def test_probe_twenty_invoice_number_labels(text: str, number: str) -> None:
    assert parse_invoice(text).value.invoice_number == number


def test_probe_twenty_icelandic_and_greek_labels() -> None:
    """An Icelandic seller's "ehf." is a legal form (probe 20: the address line was taken
    for the seller); the Greek "Λήξη πληρωμής" labels the due date."""
    iceland = (
        "Hekla Ferðaþjónusta ehf.\nSuðurlandsbraut 32, 108 Reykjavík\n\nREIKNINGUR\n"
        "Reikningur nr.:   2026-0441\nDagsetning:       19.10.2026\n"
        "Samtals til greiðslu          941.460 kr.\n"
    )
    assert parse_invoice(iceland).value.vendor_name == "Hekla Ferðaþjónusta ehf."
    greek = (
        "ΑΙΓΑΙΟ ΠΛΗΡΟΦΟΡΙΚΗ Α.Ε.\nΑριθμός τιμολογίου: 2026/1187\n"
        "Ημερομηνία έκδοσης: 16/11/2026\nΛήξη πληρωμής: 16/12/2026\nΠληρωτέο ποσό 6.944,00 €\n"
    )
    assert parse_invoice(greek).value.due_date == dt.date(2026, 12, 16)


def test_probe_twenty_sums_dates_and_orders_of_more_languages() -> None:
    """Probe 20: Ukrainian, Thai, Indonesian and Korean sums; the Thai Buddhist year
    (2569 is 2026) and "วันที่"; the Vietnamese "Ngày 25 tháng 11 năm 2026"; a Ukrainian
    contract's date is not the invoice's; order numbers in et, jp, ro ("7712/20.10.2026" is
    the number and its date)."""
    ua = (
        "Постачальник: ТОВ «Дніпро Логістик»\nДоговір: № 15/26 від 05.01.2026\n"
        "Рахунок на оплату № ДЛ-0742 від 12.10.2026\nРазом без ПДВ: 42 100,00\n"
        "ПДВ 20%: 8 420,00\nВсього з ПДВ: 50 520,00\nОплатити до: 22.10.2026\n"
    )
    f = parse_invoice(ua).value
    assert (f.subtotal, f.tax, f.total) == (
        Decimal("42100.00"),
        Decimal("8420.00"),
        Decimal("50520.00"),
    )
    assert (f.invoice_date, f.due_date) == (dt.date(2026, 10, 12), dt.date(2026, 10, 22))
    th = (
        "บริษัท สยามพาณิชย์ อุปกรณ์ จำกัด\n          ใบแจ้งหนี้ / ใบกำกับภาษี\n"
        "เลขที่: INV2611-0089                          วันที่: 14/11/2569\n"
        "เลขที่ใบสั่งซื้อ: PO-TH-5530                   ครบกำหนดชำระ: 14/12/2569\n"
        "                        รวมเป็นเงิน           55,300.00\n"
        "                        ภาษีมูลค่าเพิ่ม 7%       3,871.00\n"
        "                        จำนวนเงินรวมทั้งสิ้น     59,171.00\n"
        "                        (ห้าหมื่นเก้าพันหนึ่งร้อยเจ็ดสิบเอ็ดบาทถ้วน)\n"
    )
    f = parse_invoice(th).value
    assert (f.invoice_date, f.due_date, f.currency) == (
        dt.date(2026, 11, 14),
        dt.date(2026, 12, 14),
        "THB",
    )
    assert (f.subtotal, f.tax, f.total) == (
        Decimal("55300.00"),
        Decimal("3871.00"),
        Decimal("59171.00"),
    )
    assert (f.po_number, f.vendor_name) == ("PO-TH-5530", "บริษัท สยามพาณิชย์ อุปกรณ์ จำกัด")
    idn = (
        "PT Nusantara Kemasan Abadi\nNo. Faktur: INV/NKA/2026/11/0215\n"
        "Harga Jual / DPP                 Rp 46.200.000\n"
        "PPN 11%                          Rp  5.082.000\n"
        "Total                            Rp 51.282.000\n"
    )
    f = parse_invoice(idn).value
    assert (f.subtotal, f.tax) == (Decimal("46200000"), Decimal("5082000"))
    vi = (
        "CÔNG TY TNHH SAO MAI\nNgày 25 tháng 11 năm 2026\nSố (No.): 00000318\n"
        "Tổng cộng tiền thanh toán: 49.500.000\n"
    )
    assert parse_invoice(vi).value.invoice_date == dt.date(2026, 11, 25)
    ro = (
        "Alfa Distributie S.R.L.\nFactura nr. 4127\nComanda nr. 7712/20.10.2026\n"
        "Total de plată 100,00 RON\n"
    )
    assert parse_invoice(ro).value.po_number == "7712"
    et = "Põhjala Puit OÜ\nArve nr 2026/1187\nTellimuse nr: TL-4481\nTasuda EUR 2 868,80\n"
    assert parse_invoice(et).value.po_number == "TL-4481"
    jp = "東雲精機株式会社\n請求書番号: SD-2026-1142\nご注文番号: 4501-7730\n合計      ¥555,000\n"
    assert parse_invoice(jp).value.po_number == "4501-7730"


@pytest.mark.parametrize(
    ("text", "tax_id"),
    [
        ("ТОВ «Дніпро Логістик»\nКод за ЄДРПОУ 49494372, ІПН 494943704651\nВсього 10,00",
         "494943704651"),
        ("บริษัท สยาม จำกัด\nโทร. 02-274-1180   เลขประจำตัวผู้เสียภาษี 0105533736955\nรวม 10.00",
         "0105533736955"),
        ("주식회사 한빛테크\n등록번호: 223-86-32171\n합계 10,000", "2238632171"),
    ],
)  # fmt: skip
def test_probe_twenty_tax_id_labels(text: str, tax_id: str) -> None:
    """Probe 20: the Ukrainian "ІПН", the Thai taxpayer number, the Korean registration
    number (reported compacted, as every tax id)."""
    assert parse_invoice(text).value.vendor_tax_id == tax_id


def test_probe_twenty_the_dong_named_in_the_amount_in_words() -> None:
    """A Vietnamese invoice names its currency only in the amount in words ("… đồng chẵn");
    a contract ("hợp đồng") names none."""
    text = (
        "CÔNG TY TNHH SAO MAI\nSố (No.): 00000318\nTổng cộng tiền thanh toán: 49.500.000\n"
        "Số tiền viết bằng chữ: Bốn mươi chín triệu năm trăm nghìn đồng chẵn.\n"
    )
    assert parse_invoice(text).value.currency == "VND"
    contract = "CÔNG TY TNHH SAO MAI\nSố (No.): 00000318\nTheo hợp đồng số 12\nTổng 49.500\n"
    assert parse_invoice(contract).value.currency is None
