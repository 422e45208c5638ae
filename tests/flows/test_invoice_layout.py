"""The layout reading of invoice PDFs: values paired with labels by position (#13 part 2).

Each PDF is drawn here with reportlab, so the position of every label and value is known;
the words come from `bpa.layout.pdf_words` (pdfplumber), as in the e-invoice benchmark.
"""

from __future__ import annotations

import io
from decimal import Decimal
from pathlib import Path

from reportlab.lib.pagesizes import A4
from reportlab.pdfgen.canvas import Canvas

from bpa.config import Settings
from bpa.layout import pdf_words
from bpa.readers import read_document
from bpa.suite import Suite
from flows.invoice_processing import flow
from flows.invoice_processing.extraction._layout import layout_text
from flows.invoice_processing.offline import parse_invoice

Cell = tuple[float, float, str]


def pdf(cells: list[Cell], title: tuple[float, float, str, float] | None = None) -> bytes:
    """A one-page PDF with each text at (x, y from the top) in 10-point Helvetica."""
    buffer = io.BytesIO()
    canvas = Canvas(buffer, pagesize=A4)
    height = A4[1]
    if title is not None:
        x, y, text, size = title
        canvas.setFont("Helvetica-Bold", size)
        canvas.drawString(x, height - y, text)
    canvas.setFont("Helvetica", 10)
    for x, y, text in cells:
        canvas.drawString(x, height - y, text)
    canvas.save()
    return buffer.getvalue()


def read(data: bytes) -> tuple[str, str]:
    return read_document(data, "test.pdf").text, layout_text(pdf_words(data))


FOOTER: list[Cell] = [
    (60, 400, "Zwischensumme:"),
    (400, 400, "1.000,00 EUR"),
    (60, 415, "USt. 19 %:"),
    (400, 415, "190,00 EUR"),
    (60, 430, "Gesamtbetrag:"),
    (400, 430, "1.190,00 EUR"),
]


def kessler() -> bytes:
    return pdf(
        [
            (60, 90, "Werkstraße 5, 80331 München"),
            (60, 180, "Rechnungsnummer:"),
            (220, 180, "Rechnungsdatum:"),
            (380, 180, "Fälligkeitsdatum:"),
            (60, 194, "2025-0042-B"),
            (220, 194, "14.03.2025"),
            (380, 194, "13.04.2025"),
            *FOOTER,
        ],
        title=(60, 70, "Kessler Maschinenbau GmbH", 18),
    )


def test_a_value_below_its_label_is_paired_with_it() -> None:
    data = kessler()
    text, layout = read(data)
    assert "Rechnungsnummer: 2025-0042-B" in layout.splitlines()
    fields = parse_invoice(text, pdf_words(data)).value
    assert fields.invoice_number == "2025-0042-B"
    assert str(fields.invoice_date) == "2025-03-14"
    assert str(fields.due_date) == "2025-04-13"
    assert fields.total == Decimal("1190.00")
    assert fields.vendor_name == "Kessler Maschinenbau GmbH"


def test_a_customer_number_right_of_its_label_is_not_the_invoice_number() -> None:
    data = pdf(
        [
            (60, 90, "12 rue des Lilas, 69003 Lyon"),
            (60, 160, "Numéro client :"),
            (200, 160, "CL-88123"),
            (360, 160, "N° de facture :"),
            (360, 174, "F-2025-318"),
            (60, 190, "Date : 02/05/2025"),
            (60, 400, "Total HT :"),
            (400, 400, "500,00 EUR"),
            (60, 415, "TVA 20 % :"),
            (400, 415, "100,00 EUR"),
            (60, 430, "Total TTC :"),
            (400, 430, "600,00 EUR"),
        ],
        title=(60, 70, "Atelier Marchand SARL", 18),
    )
    text, layout = read(data)
    assert "N° de facture: F-2025-318" in layout.splitlines()
    fields = parse_invoice(text, pdf_words(data)).value
    assert fields.invoice_number == "F-2025-318"
    assert fields.invoice_number != "CL-88123"
    assert fields.total == Decimal("600.00")


def test_a_header_row_pairs_each_label_with_the_value_under_it() -> None:
    data = pdf(
        [
            (60, 160, "Factuurnummer"),
            (200, 160, "Klantnummer"),
            (330, 160, "Factuurdatum"),
            (60, 174, "NL-7731"),
            (200, 174, "K-5512"),
            (330, 174, "21-02-2025"),
            (60, 400, "Totaal:"),
            (400, 400, "€ 242,00"),
        ],
        title=(60, 70, "De Vries Techniek B.V.", 18),
    )
    _, layout = read(data)
    lines = layout.splitlines()
    assert "Factuurnummer: NL-7731" in lines
    assert "Klantnummer: K-5512" in lines
    fields = parse_invoice(read(data)[0], pdf_words(data)).value
    assert fields.invoice_number == "NL-7731"
    assert str(fields.invoice_date) == "2025-02-21"


def test_a_value_beside_its_label_is_not_paired_with_the_line_below() -> None:
    data = pdf([(60, 160, "Währung:"), (200, 160, "EUR"), (60, 174, "Leistungsdatum:")])
    _, layout = read(data)
    assert not any(line.startswith("Währung: ") for line in layout.splitlines()[1:])


def test_no_words_or_a_broken_pdf_leave_the_text_reading_alone() -> None:
    assert pdf_words(b"%PDF-1.7 not really a pdf") == []
    assert pdf_words(b"plain text") == []
    text = "Rechnung Nr. R-1\nDatum: 01.02.2025\nGesamtbetrag: 10,00 EUR"
    assert parse_invoice(text, []) == parse_invoice(text)


async def test_the_flow_reads_an_uploaded_pdf_with_its_layout(
    settings: Settings, tmp_path: Path
) -> None:
    data = kessler()
    text, _ = read(data)
    alone = parse_invoice(text).value  # the page text alone misses what sits below a label
    assert alone.invoice_number is None and alone.due_date is None
    path = tmp_path / "kessler.pdf"
    path.write_bytes(data)
    async with Suite.open(settings) as suite:
        payload = flow.input_from_file(path, suite.documents)
        run = await suite.runner.start(flow.name, payload, trigger="test")
    assert run.output is not None, run.error
    assert run.output["invoice_number"] == "2025-0042-B"
    assert run.output["due_date"] == "2025-04-13"


async def test_the_flow_reads_a_pdf_attached_to_an_email_with_its_layout(
    settings: Settings, tmp_path: Path
) -> None:
    from email.message import EmailMessage

    from bpa.readers import attached_pdf

    data = kessler()
    message = EmailMessage()
    message["From"] = "billing@kessler.example"
    message["Subject"] = "Invoice"
    message.set_content("Please find our invoice attached.")
    message.add_attachment(data, maintype="application", subtype="pdf", filename="inv.pdf")
    path = tmp_path / "kessler.eml"
    path.write_bytes(message.as_bytes())
    assert attached_pdf(path.read_bytes()) == data
    assert attached_pdf(b"%PDF-1.7 not a mail") is None
    async with Suite.open(settings) as suite:
        payload = flow.input_from_file(path, suite.documents)
        run = await suite.runner.start(flow.name, payload, trigger="test")
    assert run.output is not None, run.error
    assert run.output["invoice_number"] == "2025-0042-B"  # below its label: the layout's
    assert run.output["due_date"] == "2025-04-13"


def test_seller_and_buyer_side_by_side_are_read_as_two_blocks() -> None:
    """ "Émetteur    Destinataire" over two address columns: the seller's name is not glued
    to its street, and the buyer's lines are not the seller's."""
    data = pdf(
        [
            (60, 60, "FACTURE"),
            (60, 100, "Émetteur"),
            (320, 100, "Destinataire"),
            (60, 115, "Dupont & Fils SAS"),
            (320, 115, "Hôtel Les Tilleuls"),
            (60, 130, "8 avenue Jean Jaurès"),
            (320, 130, "Service comptabilité"),
            (60, 145, "33000 Bordeaux"),
            (320, 145, "14 cours de l'Intendance"),
            (60, 190, "N° facture :"),
            (160, 190, "F240412"),
            (60, 205, "Date :"),
            (160, 205, "15/04/2024"),
            (60, 250, "Montant HT"),
            (400, 250, "789,00 €"),
            (60, 265, "TVA 5,5 %"),
            (400, 265, "43,40 €"),
            (60, 280, "Montant TTC"),
            (400, 280, "832,40 €"),
        ]
    )
    _, layout = read(data)
    assert "Émetteur\nDupont & Fils SAS\n8 avenue Jean Jaurès\n33000 Bordeaux" in layout
    assert "Destinataire\nHôtel Les Tilleuls\nService comptabilité" in layout
    fields = parse_invoice(read_document(data, "t.pdf").text, pdf_words(data)).value
    assert fields.vendor_name == "Dupont & Fils SAS"
    assert fields.total == Decimal("832.40")


def test_the_buyer_on_the_left_and_the_seller_on_the_right_are_not_swapped() -> None:
    """ "BILL TO" left and "FROM" right: the text reading runs both names onto one line
    after "BILL TO FROM" and takes the buyer's (first) for the seller's; the layout reading
    has the buyer's block apart, so its seller wins, with its own VAT number (probe 19)."""
    data = pdf(
        [
            (60, 60, "TAX INVOICE"),
            (60, 100, "BILL TO"),
            (320, 100, "FROM"),
            (60, 115, "Highveld Dairy Co-operative Ltd"),
            (320, 115, "Karoo Solar Solutions (Pty) Ltd"),
            (60, 130, "VAT No: 4987654326"),
            (320, 130, "VAT No: 4123456784"),
            (60, 145, "12 Church Street, Bethal, 2310"),
            (320, 145, "8 Loop Street, Cape Town, 8001"),
            (60, 190, "Invoice #: KSS-2025-0457"),
            (320, 190, "Date: 2025/06/03"),
            (60, 250, "Subtotal"),
            (400, 250, "R 184 000.00"),
            (60, 265, "VAT (15%)"),
            (400, 265, "R 27 600.00"),
            (60, 280, "TOTAL DUE"),
            (400, 280, "R 211 600.00"),
        ]
    )
    fields = parse_invoice(read_document(data, "t.pdf").text, pdf_words(data)).value
    assert fields.vendor_name == "Karoo Solar Solutions (Pty) Ltd"
    assert fields.vendor_tax_id == "4123456784"
    assert fields.total == Decimal("211600.00")


def test_a_tax_id_the_text_reading_takes_from_the_buyers_column_is_not_the_sellers() -> None:
    """Seller and buyer columns ("Dodávateľ", "Odberateľ") that the text layer lists row by
    row: the text reading took the buyer's DIČ for the seller's, the layout reading the
    seller's; the layout's wins, as the text's stands in the layout's buyer block and the
    layout's does not (probe 19, a PDF in a font with the Slovak letters)."""
    from bpa.models.tasks import Extraction
    from flows.invoice_processing.offline import _buyer_block, _merged
    from flows.invoice_processing.schemas import InvoiceFields

    layout = (
        "FAKTÚRA\nDodávateľ\nTatranská Strojárska s.r.o.\nPriemyselná 14\n058 01 Poprad\n"
        "DIČ: 2021234501\nIČ DPH: SK2021234501\nOdberateľ\nPovažská Stavebná a.s.\n"
        "Sládkovičova 3\n017 01 Považská Bystrica\nDIČ: 2020778804\nIČ DPH: SK2020778804\n"
    )
    name = "Tatranská Strojárska s.r.o."
    sure = {"vendor_name": 0.9, "vendor_tax_id": 0.9}
    by_text = Extraction(
        value=InvoiceFields(vendor_name=name, vendor_tax_id="SK2020778804"),
        confidence=0.8,
        field_confidence=sure,
    )
    by_layout = Extraction(
        value=InvoiceFields(vendor_name=name, vendor_tax_id="SK2021234501"),
        confidence=0.8,
        field_confidence=sure,
    )
    merged = _merged(by_text, by_layout, "", _buyer_block(layout)).value
    assert (merged.vendor_name, merged.vendor_tax_id) == (name, "SK2021234501")
    # without a buyer block to tell them apart, the text reading keeps its own on a tie
    kept = _merged(by_text, by_layout, "", "").value
    assert kept.vendor_tax_id == "SK2020778804"


def test_the_first_row_of_a_vat_rate_table_is_not_the_total() -> None:
    data = pdf(
        [
            (60, 60, "Weingut Berger GmbH"),
            (60, 100, "Rechnung Nr.: RE-2024-118"),
            (60, 115, "Datum: 05.03.2024"),
            (60, 200, "MwSt-Satz"),
            (160, 200, "Netto"),
            (260, 200, "MwSt"),
            (360, 200, "Brutto"),
            (60, 215, "10 %"),
            (160, 215, "840,00"),
            (260, 215, "84,00"),
            (360, 215, "924,00"),
            (60, 230, "20 %"),
            (160, 230, "52,92"),
            (260, 230, "10,58"),
            (360, 230, "63,50"),
            (60, 270, "Gesamtbetrag EUR"),
            (360, 270, "987,50"),
        ]
    )
    _, layout = read(data)
    assert "Brutto: 924,00" not in layout
    fields = parse_invoice(read_document(data, "t.pdf").text, pdf_words(data)).value
    assert fields.total == Decimal("987.50")


def test_net_and_tax_from_the_layout_when_the_texts_do_not_add_up() -> None:
    """A table whose cells the text reading put on lines of their own: the layout's net and
    tax are taken when they add up to the total both readings agree on and the text's do
    not (missing, another sum, or swapped: a tax above the net), and only then."""
    from bpa.models.tasks import Extraction
    from flows.invoice_processing.offline import _merged
    from flows.invoice_processing.schemas import InvoiceFields

    def reading(**fields: object) -> Extraction[InvoiceFields]:
        sure = {name: 0.8 for name in fields}
        return Extraction[InvoiceFields](
            value=InvoiceFields.model_validate(fields), confidence=0.8, field_confidence=sure
        )

    text = reading(total="8522.10")
    layout = reading(total="8522.10", subtotal="7470.00", tax="1052.10")
    merged = _merged(text, layout).value
    assert (merged.subtotal, merged.tax) == (Decimal("7470.00"), Decimal("1052.10"))
    wrong = reading(total="8522.10", subtotal="7470.00", tax="1000.00")
    assert _merged(text, wrong).value.subtotal is None
    has_net = reading(total="8522.10", subtotal="7470.00")
    assert _merged(has_net, layout).value.tax == Decimal("1052.10")
    assert _merged(has_net, wrong).value.tax is None
    # the tax line's base read as the tax ("MwSt. 19 % auf 1.037,90"), and net and tax swapped
    base = reading(total="1320.49", tax="1037.90")
    laid_out = reading(total="1320.49", subtotal="1117.70", tax="202.79")
    assert _merged(base, laid_out).value.tax == Decimal("202.79")
    swapped = reading(total="2838.02", subtotal="501.02", tax="2337.00")
    right = reading(total="2838.02", subtotal="2337.00", tax="501.02")
    assert (_merged(swapped, right).value.subtotal, _merged(swapped, right).value.tax) == (
        Decimal("2337.00"),
        Decimal("501.02"),
    )
    # a text reading that adds up keeps its own
    assert _merged(right, swapped).value.tax == Decimal("501.02")


def test_the_seller_taken_from_the_layout_brings_its_tax_id() -> None:
    """Where the layout names another seller than the text reading (which took the buyer's
    block under a "Sprzedawca Nabywca" header), the tax id is the layout's seller's too."""
    from bpa.models.tasks import Extraction
    from flows.invoice_processing.offline import _merged
    from flows.invoice_processing.schemas import InvoiceFields

    text = Extraction[InvoiceFields](
        value=InvoiceFields(vendor_name="Wydawnictwo Kruk S.A.", vendor_tax_id="5227055983"),
        confidence=0.7,
        field_confidence={"vendor_name": 0.6, "vendor_tax_id": 0.9},
    )
    layout = Extraction[InvoiceFields](
        value=InvoiceFields(
            vendor_name="Drukarnia Offsetowa Wiśniewski Sp. z o.o.", vendor_tax_id="6538233269"
        ),
        confidence=0.8,
        field_confidence={"vendor_name": 0.8, "vendor_tax_id": 0.8},
    )
    merged = _merged(text, layout).value
    assert (merged.vendor_name, merged.vendor_tax_id) == (
        "Drukarnia Offsetowa Wiśniewski Sp. z o.o.",
        "6538233269",
    )
    # the same seller, spaced otherwise: the text reading's surer tax id stays
    spaced = layout.model_copy(
        update={"value": InvoiceFields(vendor_name="WydawnictwoKruk S.A.", vendor_tax_id="1")}
    )
    assert _merged(text, spaced).value.vendor_tax_id == "5227055983"


def test_the_name_over_an_attention_line_is_the_buyers() -> None:
    from bpa.models.tasks import Extraction
    from flows.invoice_processing.offline import _buyer_words, _merged, parse_invoice
    from flows.invoice_processing.schemas import InvoiceFields

    text = (
        "TAX INVOICE\nSawtell Building Group Pty Ltd\nAttention: Accounts\nPO Box 118\n"
        "SAWTELL NSW 2452\nInvoice Date\n12 Mar 2026\nInvoice Number\nINV-0471\n"
        "Reference\nPO-7781\nABN\n61 628 473 915\n"
        "Coastal Timber & Hardware Pty Ltd\n3 Industrial Drive\nCOFFS HARBOUR NSW 2450\n"
        "Subtotal 3,904.00\nTOTAL GST 10% 390.40\nTOTAL AUD 4,294.40\n"
    )
    assert parse_invoice(text).value.vendor_name == "Coastal Timber & Hardware Pty Ltd"
    # a page layout that sets the buyer's name apart from its "Attention:" line does not
    # make it the seller
    mine = Extraction[InvoiceFields](
        value=InvoiceFields(vendor_name="Coastal Timber & Hardware Pty Ltd"),
        confidence=0.7,
        field_confidence={"vendor_name": 0.6},
    )
    theirs = Extraction[InvoiceFields](
        value=InvoiceFields(vendor_name="Sawtell Building Group Pty Ltd"),
        confidence=0.8,
        field_confidence={"vendor_name": 0.8},
    )
    merged = _merged(mine, theirs, _buyer_words(text))
    assert merged.value.vendor_name == "Coastal Timber & Hardware Pty Ltd"
    assert _merged(mine, theirs).value.vendor_name == "Sawtell Building Group Pty Ltd"


WRAPPED_BODY: list[Cell] = [
    (60, 130, "Herrn Jonas Weber"),
    (60, 142, "Lindenallee 4, 50667 Köln"),
    (60, 180, "Rechnung Nr. RE-2291"),
    (60, 194, "Datum: 03.02.2025"),
    *FOOTER,
]


def test_a_name_wrapped_over_the_first_two_lines_is_read_whole() -> None:
    data = pdf([(60, 60, "Nordhafen Speditions-"), (60, 72, "und Lagerhaus GmbH"), *WRAPPED_BODY])
    fields = parse_invoice(*read_pdf(data)).value
    assert fields.vendor_name == "Nordhafen Speditions- und Lagerhaus GmbH"
    data = pdf([(60, 60, "Kessler Holzbau"), (60, 72, "Zimmerei Lübeck GmbH"), *WRAPPED_BODY])
    assert parse_invoice(*read_pdf(data)).value.vendor_name == (
        "Kessler Holzbau Zimmerei Lübeck GmbH"
    )


def test_a_brand_over_its_company_name_is_not_part_of_the_name() -> None:
    # the brand repeats a word of the name
    data = pdf([(60, 60, "Kessler"), (60, 72, "Kessler Holzbau GmbH"), *WRAPPED_BODY])
    assert parse_invoice(*read_pdf(data)).value.vendor_name == "Kessler Holzbau GmbH"
    # the brand set apart from the name (a line between them), or not aligned with it
    data = pdf([(60, 50, "Holzwerk"), (60, 75, "Zimmerei Lübeck GmbH"), *WRAPPED_BODY])
    assert parse_invoice(*read_pdf(data)).value.vendor_name == "Zimmerei Lübeck GmbH"
    data = pdf([(200, 60, "Holzwerk"), (60, 72, "Zimmerei Lübeck GmbH"), *WRAPPED_BODY])
    assert parse_invoice(*read_pdf(data)).value.vendor_name == "Zimmerei Lübeck GmbH"


def read_pdf(data: bytes) -> tuple[str, list]:  # type: ignore[type-arg]
    return read_document(data, "test.pdf").text, pdf_words(data)


def test_a_layout_whose_sums_add_up_wins_over_a_text_reading_whose_do_not() -> None:
    """A PDF whose text reading lists the labels, then the values (Subtotal, Sales Tax,
    Total, Deposit received, Balance due): it paired the balance with "Total". The layout
    reading's net + tax = total is taken, total included."""
    from bpa.models.tasks import Extraction
    from flows.invoice_processing.offline import _merged
    from flows.invoice_processing.schemas import InvoiceFields

    def reading(**fields: object) -> Extraction[InvoiceFields]:
        sure = {name: 0.9 for name in fields}
        return Extraction[InvoiceFields](
            value=InvoiceFields.model_validate(fields), confidence=0.8, field_confidence=sure
        )

    text = reading(total="16300.67", tax="3")
    layout = reading(total="23300.67", subtotal="22327.00", tax="973.67")
    merged = _merged(text, layout).value
    assert (merged.subtotal, merged.tax, merged.total) == (
        Decimal("22327.00"),
        Decimal("973.67"),
        Decimal("23300.67"),
    )
    # a text reading that adds up keeps its own, whatever the layout says
    right = reading(total="23300.67", subtotal="22327.00", tax="973.67")
    assert _merged(right, reading(total="1.00", subtotal="0.90", tax="0.10")).value == right.value


def test_a_sales_tax_permit_and_a_deposits_check_are_no_tax_and_no_invoice_number() -> None:
    text = (
        "Lone Star Commercial Roofing, Inc.\nTX Sales Tax Permit 3-20561-4478-0\nINVOICE\n"
        "Date 11/16/2026\nTotal 23,300.67\nDeposit received 10/28/2026\n(check #2231)\n"
    )
    f = parse_invoice(text).value
    assert (f.invoice_number, f.tax, f.total) == (None, None, Decimal("23300.67"))
