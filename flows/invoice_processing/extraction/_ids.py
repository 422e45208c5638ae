"""Identifiers in document text: IBANs, VAT / tax ids, invoice and purchase-order numbers.

IBANs and VAT ids carry check digits, so a candidate is only believed once schwifty or
python-stdnum validates it; a labelled tax id that no validator knows (a Malaysian GST
number, a US EIN) is kept with a lower confidence. Document numbers have no checksum:
they are read after their labels (in several languages) and must hold a digit.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from functools import lru_cache

from schwifty import IBAN
from stdnum.au import abn
from stdnum.br import cnpj as br_cnpj
from stdnum.ca import bn as ca_bn
from stdnum.ch import vat as ch_vat
from stdnum.eu import vat as eu_vat
from stdnum.gb import vat as gb_vat
from stdnum.hr import oib as hr_oib
from stdnum.il import hp as il_hp
from stdnum.in_ import gstin
from stdnum.jp import cn as jp_cn
from stdnum.mx import rfc as mx_rfc
from stdnum.no import mva as no_mva
from stdnum.tr import vkn as tr_vkn

from flows.invoice_processing.extraction._candidate import Candidate, Document

__all__ = ["find_ibans", "find_invoice_numbers", "find_po_numbers", "find_tax_ids"]

_I = re.IGNORECASE
_IBAN = re.compile(r"\b([A-Z]{2}\d{2}(?:[ -]?[A-Z0-9]{1,4}){3,9})\b")
_EU_PREFIX = (
    "AT|BE|BG|CY|CZ|DE|DK|EE|EL|GR|ES|FI|FR|GB|HR|HU|IE|IT|LT|LU|LV|MT|NL|PL|PT|RO|SE|SI|SK|XI"
)
_VAT = re.compile(
    rf"\b((?:{_EU_PREFIX})[ .-]?[0-9A-Z](?:[ .-]?[0-9A-Z]){{6,13}}|"
    r"CHE[ -]?\d{3}\.?\d{3}\.?\d{3}(?:\s?(?:MWST|TVA|IVA))?)\b"
)
_TAX_LABEL = re.compile(
    r"(?:\b(?:vat|tva|btw|iva|mwst|ust|gst|gstin|hst|sst|tax|steuer|uid|tin|ein|abn|nif|cif|nipc|nip|"
    r"n\.i\.f|c\.i\.f|"
    r"cvr|trn|rfc|"
    r"p\.?\s?iva|partita\s+iva|codice\s+fiscale|steuernummer|st\.?-?nr|ust-?id(?:nr|\.?-?nr)?|"
    r"umsatzsteuer-?id\w*|contribuinte|"
    # Nordic and Czech company ids: sv/no "Org.nr", fi "Y-tunnus", cs "IČO", "DIČ"
    r"org\.?\s?nr|organisa(?:tions|sjons)nummer|y-tunnus|ičo|dič|"
    # hr "OIB", br "CNPJ", tr "VKN", is "VSK nr." (not the tax line "VSK 24%"), il "Osek
    # Murshe" (the registered dealer's number)
    r"oib|cnpj|vkn|vsk(?=[\s-]*n(?:r|úmer))|osek\s+murshe|"
    # el "ΑΦΜ" (the tax number)
    r"αφμ|α\.φ\.μ|"
    # co "NIT", cl "R.U.T.", ar "CUIT", il "ח.פ." (a company's number)
    r"nit|r\.?\s?u\.?\s?t|c\.?u\.?i\.?t|ח\.פ|"
    # pe "R.U.C." (the taxpayer's number), ke "KRA PIN", rs "PIB", ma "ICE", tn "Matricule
    # fiscal", pk "NTN" / "STRN", bd "BIN", id "NPWP", us "FEIN", ca "No TPS"
    r"r\.?\s?u\.?\s?c|kra\s+pin|pib|(?-i:ICE|BIN|TPS)|matricule\s+fiscal|ntn|strn|npwp|fein|"
    # vi "Mã số thuế" (the tax code); cn "纳税人识别号" (taxpayer number), "统一社会信用代码"
    r"mã\s+số\s+thuế|纳税人识别号|统一社会信用代码|"
    # uk "ІПН" (the VAT payer's number), ko "(사업자)등록번호" (the business registration number)
    r"іпн|(?:사업자\s?)?등록\s?번호)\b\.?(?:[\s-]*(?:reg(?:istration)?|id(?:ent\w*)?|no|nr|"
    r"number|n\.?[°º]|n\.o\b|num(?:ber|éro|ero)|#|code|\.)\.?)*"
    # one number for two ids: "P.IVA e C.F.", "GSTIN/UIN"
    r"(?:\s*(?:\be\b|\band\b|/)\s*(?:c\.?\s?f\.?|codice\s+fiscale|uin)\b\.?)?"
    # th "เลขประจำตัวผู้เสียภาษี(อากร)" (the taxpayer's number; it ends in a vowel sign, so no \b)
    r"|เลขประจำตัวผู้เสียภาษี(?:อากร)?)"
    # a gloss in brackets before the colon: "VAT Reg. (Osek Murshe): 515123453"
    r"(?:\s*\([^()\n\d]{2,30}\)(?=\s*[:#]))?\s*[:#]?\s*",
    _I,
)
#: A tax id's value: its groups may be spaced ("DE 136 695 976"); a word after it is the
#: next column ("ABN: 64 636 506 132    Lic. No.", "30182980786 Cod. Fiscale").
_TAX_VALUE = re.compile(r"([A-Z]{0,3}[ -]?\d(?:[\dA-Z.-]|(?<! ) (?=\d)){4,18}[\dA-Z])")
_DOC_VALUE = re.compile(
    r"(?=(?:[A-Z]{1,4}\s)?(?i:[A-Z0-9Α-ΩА-ЯЁІЇЄҐ/#-])*\d)"
    # Greek and Cyrillic capitals count as letters ("ΤΠΥ-0042", "ДЛ-0742")
    r"((?:[A-Z]{1,4}\s(?=\S*\d))?"
    r"(?i:[A-Z0-9Α-ΩА-ЯЁІЇЄҐ][A-Z0-9Α-ΩА-ЯЁІЇЄҐ/._-]{0,30}[A-Z0-9Α-ΩА-ЯЁІЇЄҐ])|\d)"
)
_LABEL_TAIL = (
    r"(?:[\s-]*(?:no\b\.?|nr\b\.?|nro\b\.?|n\.?\s?[°º]\.?|n\.o\b\.?|n\.|number|nummer|numer\b|"
    # Czech and Slovak "č." (číslo, number): "Faktura č.", "Objednávka č."
    r"n[uú]m(?:ber|éro|ero)?\b\.?|č\.|#|id\b|"
    # sl "št." (številka), hr "broj"
    r"št\.|broj\b|br\.|№))"
)
#: Words that name the document itself (German and Dutch also as the head of a compound,
#: "Handelsrechnung", "Mietrechnung"); credit notes count, their number is the document's.
_DOC_WORD = (
    r"(?:\w*rechnung|gutschrift|beleg|invoice|credit\s+note|facture|avoir|factura|abono|"
    r"fattura|nota\s+di\s+credito|factuur|creditnota|fakt[uú]r[ay]?|fatura|nota\s+de\s+cr[eé]dito|"
    r"lasku)"
)
#: "VAT" naming the kind of document, as Polish invoices are titled ("Faktura VAT nr 12/2024"),
#: not a VAT number ("Invoice VAT No", "Rechnung MwSt-Nr." are tax-id labels).
_TAX_WORD = r"(?<=faktura\s)vat\b|(?<=faktury\s)vat\b"
#: The same after a document word, set aside before a label is checked for another number's
#: words ("Faktura VAT nr" names the invoice's number, "VAT nr" a tax id).
_QUALIFIED_DOC = re.compile(rf"(faktur[ay])\s+(?:{_TAX_WORD})", _I)
#: Words before a document word that make it another document than this one: "Betreft:
#: factuur 25-1184", "Betrifft Rechnung", "Concerne la facture", "relating to invoice" (not
#: "Re:", which an e-mail carrying the invoice itself may start with).
_ABOUT_ANOTHER = re.compile(
    r"(?:\bbetreft|\bbetrifft|\bbezüglich|\bconcerne|\bobjet|\brelating\s+to|"
    r"\bregarding|\bcorrects?|\bcorrection\s+(?:of|to)|\bcredits?|\bzu(?:r)?|"
    # "Original Invoice: INV-48812" on a credit memo; pl "Dotyczy faktury nr"
    r"\boriginal|\bdotyczy|"
    # sv "Avser faktura", da/no "Vedrørende faktura"
    r"\bavser|\bvedrørende|"
    # a sentence about an earlier invoice: "allocated against invoice INV-24417", "this
    # replaces invoice 118", "further to our invoice", "in respect of invoice"
    r"\bagainst|\breplac(?:es|ing)|\bcancel(?:s|ling|ing)|\bfurther\s+to|\bin\s+respect\s+of|"
    r"\brefers?\s+to|"
    # an earlier invoice a payment is set against: "Less deposit paid (invoice INV-008790)"
    r"\b(?:deposit|paid|prepaid|prepayment|advance|payment)\b[^()\n]{0,30}\()\s*:?\s*"
    r"(?:(?:the|la|le|de|die|der|unsere[rn]?|our|your|ihre[rn]?|notre|votre|nuestra|nostra|onze|"
    r"uw)\s+)?$",
    re.IGNORECASE,
)
#: Said of a payment just before a cheque's number: "Deposit received (check #2231)".
_PAID_BY_CHECK = re.compile(
    r"(?:\b(?:deposit|paid|payment|received|remitted|advance)\b[^()]{0,40}|\()\s*$", re.I
)
_INVOICE_LABEL = re.compile(
    r"(?:\b(?:tax\s+)?invoice|\binv|\bbill|\breceipt|\bdocument|\bdoc|\b\w*rechnungs?|\bfacture|"
    r"\bcredit\s+(?:note|memo)|\bnote\s+de\s+cr[ée]dit|\bcomp(?:robante)?\.?(?=\s*nro)|\barve|"
    r"\bfolio|"
    r"\bfactura|\bfattura|\bfactuur|\bfakt[uú]r[ay]?|\bfatura|\bgutschrift|\bavoir|\bbeleg|"
    r"\bpro[\s-]?forma|"
    # credit notes: sl/hr/cs "Dobropis št.", da/no "Kreditnota nr.", fi "Hyvityslasku nro"
    r"\bdobropis|\bkreditnota|\bcreditfactuur|\bhyvityslasku|\bnota\s+d[ei]\s+cr[eé]dito|"
    r"\bquittung|\bcash\s+bill|\bcheck|\bslip|\btrans\w*|\blaskun?|"
    # sl/hr "Račun št." / "Račun broj", lv "Rēķins Nr.", is "Reikningur nr.", lt "Sąskaita"
    r"\b(?:predra[čc]un|ra[čc]un)|\brēķin[sa]|\breikning(?:ur|s)|\bsąskait(?:a|os)(?:\s+faktūr(?:a|os))?|"
    # bg "Фактура №"; uk "Рахунок (на оплату) №", ru "Счёт (на оплату) №"
    r"\bфактура|\bрахун(?:ок|ку)(?:\s+на\s+оплату)?|\bсч[её]т(?:\s+на\s+оплату)?)"
    rf"(?:\s+(?:{_TAX_WORD}))?{_LABEL_TAIL}[\s.:#]*"
    r"|(?:rechnungs|beleg|factuur|gutschrifts|creditnota|kreditfaktura|kreditnota)"
    r"(?:nummer|nr\.?)\s*[:#]?\s*"
    # Hungarian "Számla sorszáma", "Számlaszám"
    r"|\bszámla\s*(?:sor)?szám(?:a)?\s*[:#]?\s*"
    # bg "Номер:" opening its line (the invoice's number)
    r"|^\s*номер\s*[:#№]\s*"
    # a number sign alone before the number, on a line (or in a box) of its own ("ФАКТУРА" /
    # "№ 0000004471", "No.: 2611-0089", "|  N° 48213  |"; the text has "№" as "No")
    r"|(?:^|\|)\s*(?:№|no\.?|n[°º])\s*[:.]?\s*(?=[^\W_]{0,4}[-/]?\d[\w/-]{2,}\s*(?:\||$))"
    # th "เลขที่:" (number) opening a cell, "เลขที่ใบแจ้งหนี้" / "เลขที่ใบกำกับภาษี"; vi "Số (No.):",
    # "Số hóa đơn"; ko "청구번호", "송장번호", "계산서 번호"; id "Nomor Faktur", "No. Faktur"
    r"|(?:^|\s{2,})เลขที่\s*[:：]\s*|เลขที่ใบ(?:แจ้งหนี้|กำกับภาษี)\s*[:：]?\s*"
    r"|\bsố\s*(?:\((?:no\.?|number)\))?\s*[:：]\s*|\bsố\s+hóa\s+đơn\s*[:：]?\s*"
    r"|(?:청구|송장|계산서|인보이스)\s?번호\s*[:：]?\s*"
    r"|\b(?:nomor|no\.?)\s+faktur\s*[:：]?\s*"
    # jp "請求書番号", "請求番号"; el "Αρ. Τιμολογίου", "Αριθμός Τιμολογίου"
    # cn "发票号码" (the invoice's number)
    r"|請求書?番号\s*[:#：]?\s*|发票号码\s*[:#：]?\s*|\bαρ(?:ιθμ[οό]ς)?\.?\s+τιμολογ[ιί]ου\s*[:#]?\s*"
    r"|(?:n[uú]m(?:éro|ero|ber)|\bn[uú]m\.|numer|\bnr\b\.?|n\.?\s?[°º]|\bčíslo)\s*"
    r"(?:(?:de|da|do|del|della|di|of)\s+)?(?:(?:la|the)\s+)?"
    # Czech "Číslo faktury", "Číslo dokladu" (the number of the tax document, the invoice)
    r"(?:facture|factura|fattura|fatura|fakt[uú]ry|invoice|factuur|avoir|dokladu|pro\s*forma)"
    r"[\s.:#]*|\b(?:invoice|rechnung|gutschrift|facture|avoir|factura|fattura|factuur|faktura|"
    r"fatura)(?:-recibo)?(?:\s*[:#]\s*|\s+)(?=[A-Z/-]*\d)"
    # An Iberian series before the number: "Fatura FT 2024/389", "Factura A 123",
    # "Fatura-Recibo FR 2024A1/312".
    r"|\b(?:fatura|factura)(?:-recibo)?\s+(?=(?-i:[A-Z]{1,3})\s\d)",
    _I,
)
#: A title line that names the document and, further on, its number: "Handelsrechnung
#: (380) 05.06.2018 Nr. 471102 vom ...", "Facture du 05/06/2018 n° F-12".
_TITLE_NUMBER = re.compile(
    rf"^\W*(?:\w+\s+)?{_DOC_WORD}\b(?P<gap>.{{0,60}}?)"
    r"(?<![\w-])(?:nr|no|n[°º]|n\.\s?[°º]|nummer|number|num[eé]ro|número|numer|#|č)(?![^\W\d_])\.?"
    r"\s*[:#]?\s*",
    _I,
)
#: One cell of a header row: "N° de facture", "Invoice No.", "Kundennummer", "Date".
_HEADER_CELL = re.compile(
    r"(?:n[°º]|n\.o|num(?:éro|ero|ber)|número|numer)\s+(?:(?:de|da|do|du|of)\s+)?(?:la\s+)?"
    r"[^\W\d_]+|[^\W\d_]+[\s.-]*(?:no\b\.?|nr\b\.?|n[°º]\.?|n\.o\b\.?|#|number\b|"
    r"nummer\b|num[ée]ro\b|número\b|numer\b)|[^\W\d_]+\.?",
    _I,
)
#: "Date de facture", "Data da fatura": the document word names a date, not a number.
_DATE_BEFORE = re.compile(
    r"(?:date|datum|fecha|data|dt)\W*(?:(?:de|da|do|del|della|di|van|of)\s+)?(?:la\s+)?$", _I
)
#: Numbers of something else: the customer, an order, a delivery, a contract, an earlier
#: invoice. A label that holds one of these never names the invoice number.
_OTHER_NUMBER = re.compile(
    r"kunde|customer|client|cliente|klant|klient|order|ordre|поръчк|bestell|auftrag|commande|pedido|ordine|"
    r"bestelling|zam[oó]wieni|encomenda|liefer|delivery|livraison|entrega|consegna|levering|"
    r"dostaw|contract|vertrag|contrat|contrato|contratto|umowy|referenz|reference|référence|"
    r"li[ée]e|related|original|bezug|vsnr|police|policy|account|konto|compte|cuenta|conto|"
    r"steuer|tax\s+id|vat|ust|tva|iva|btw",
    _I,
)
_PO_LABEL = re.compile(
    r"\b(?:purchase\s+order|p\.?\s?o\.?|your\s+order|(?:order|p\.?\s?o\.?)\s+ref(?:erence)?\.?|"
    r"order|bestell(?:ung|nummer)?|"
    r"ihre\s+bestellung|auftrag|bon\s+de\s+commande|commande|votre\s+commande|"
    r"pedido|orden\s+de\s+compra|ordine|inkooporder|bestelnummer|uw\s+order|"
    r"(?:nota\s+de\s+)?encomenda|zam[oó]wienie|"
    # da "Rekv.nr." (the buyer's requisition), "Indkøbsordre", no/da "Bestillingsnr.", sv
    # "Beställningsnr", "Inköpsorder", no "Innkjøpsordre", fi "Tilausnumero", "Ostotilaus",
    # cs "Objednávka č."
    r"rekv(?:isition)?s?\.?|indkøbsordre|bestillings?|beställnings?|inköpsorder|"
    r"innkjøpsordre|(?:osto)?tilaus|objednávk[ay]|"
    # da/no "Jeres ordrenr.", "Deres ordrenummer" (your order number)
    r"(?:jeres\s+|deres\s+)?ordre(?:nr|nummer)\.?|"
    # the buyer's own reference for the purchase: "Pedido cliente", "V/ Requisição",
    # "Requisition", nl "Uw inkoopnummer"
    r"pedido\s+(?:del\s+)?cliente|requisi(?:ção|cao|tion|ción|zione)|inkoop(?:order)?nummer|"
    # nl/be "Uw bestelbon", ca "Comanda", hu "Megrendelés száma", fi "Tilausnumeronne"
    r"(?:uw\s+)?bestelbon|comand[aă]|megrendelés(?:\s+száma)?|tilausnumero\w*|"
    # pt-br "Pedido de compra", ae "LPO" (local purchase order), lt "Užsakymo", is "Pöntun",
    # tr "Sipariş"
    r"pedido\s+de\s+compra|l\.?p\.?o\.?|užsakym\w*|pöntun\w*|sipariş|"
    # es-ar/cl "O.C. N°" (orden de compra)
    r"o\.\s?c\.|"
    # hr "Vaša narudžba", sl "Naročilo" / "Naročilnica", lv "Pasūtījums", bg "Poruchka"
    r"narudžb\w*|naročil\w*|pasūtījum\w*|poruchka|поръчк\w*|замовлен\w*|"
    # pt "V/ Encomenda" (your order), el "Αρ. παραγγελίας" (below)
    r"v/\s*encomenda|"
    # nl "Uw bestelling", jp "注文番号" / "発注番号", el "Παραγγελία"
    # hu "Rendelésszám", el "Αριθμός παραγγελίας" (the genitive too)
    r"uw\s+bestelling|(?:注文|発注)番号|παραγγελ[ιί]\w*|rendelés(?:szám|i\s+szám)?|"
    # et "Tellimuse nr", jp "ご注文番号", vi "(Theo) đơn đặt hàng số", th "เลขที่ใบสั่งซื้อ", ko
    # "발주번호", "주문번호"
    r"tellimus\w*|ご(?:注文|発注)番号|đơn\s+đặt\s+hàng(?:\s+số)?|(?:เลขที่)?ใบสั่งซื้อ|"
    r"(?:발주|주문)\s?번호)"
    # whose order: "Bon de commande client :", "Comanda dvs. nr. 778"
    r"(?:\s+(?:client|du\s+client|cliente|del\s+cliente|klant|kunde|dvs\.?|vs\.?))?"
    # a second language's label before the colon: "Your PO / Votre BC: BC-26-00712"
    rf"(?:{_LABEL_TAIL}[\s.:#]*|\s*(?:/\s*[^\W\d_][^\d:/]{{0,30}})?[:#]\s*)"
    r"|(?:purchase\s+order|bestellnummer|bon\s+de\s+commande|"
    r"orden\s+de\s+compra|inkooporder|bestelnummer)\s*"
    # a bare "PO 4711", "PO-4711"; not inside another number ("118/POS1/1")
    r"|(?<![/\w])P\.?O\.?(?![A-Za-z])\s*(?=[A-Z]*[-/\d])"
    # "Ihre Bestellung B-5531", "Your order 4711", a column "Uw bestelbon    4501187723",
    # "Rekvisition   CN-0311": no colon, but a value that holds a digit
    r"|\b(?:ihre\s+bestellung|your\s+order|votre\s+commande|uw\s+order|(?:uw\s+)?bestelbon|"
    r"rekvisition|requisition|bestillingsnr\.?|beställningsnr\.?|tilausnumero\w*|"
    r"inkoopnummer|objednávka|(?:vs\.?|vostro)\s+ordine|customer\s+order)\s+"
    r"(?=[A-Z]{0,4}[-/]?\d)"
    # "Nº do pedido" ("º" reads as "o" once the text is normalised)
    r"|(?:n\.?\s?[°º]|\bn\.?o\b\.?|num(?:éro|ero|ber)|numer|\bnr\b\.?|\bčíslo)\s*(?:d[aeo]\s+)?"
    r"(?:commande|pedido|ordine|encomenda|zam[oó]wienia|objednávky)"
    r"(?:\s+(?:nabywcy|klienta|client|du\s+client|del\s+cliente|do\s+cliente))?[\s.:#]*",
    _I,
)
_PO_LINE = re.compile(
    r"^\W*(?:purchase\s+order|p\.?\s?o\.?|your\s+order|order|bestellung|ihre\s+bestellung|"
    r"commande|votre\s+commande|pedido|su\s+pedido|ordine|vostro\s+ordine|bestelling|uw\s+order)"
    rf"{_LABEL_TAIL}?\s*[:#.]?\s*$",
    _I,
)
#: A date glued to the number by text extraction that lost the spaces: "R123vom06.08.2018".
_GLUED_DATE = re.compile(
    r"(?<=\d)(?:vom|du|of|from|dated|del|van|z)\d{1,2}[./]\d{1,2}[./]\d{2,4}$"
    # ro "Comanda nr. 7712/20.10.2026": the number, a slash, its dotted date
    r"|(?<=\d)/\d{1,2}\.\d{1,2}\.\d{4}$",
    _I,
)
#: A value that could be a date (day and month in range), not a number ("47/04/2024" is not).
_DAY, _MONTH = r"(?:0?[1-9]|[12]\d|3[01])", r"(?:0?[1-9]|1[0-2])"
_DATE_LIKE = re.compile(
    rf"^(?:{_DAY}[./-]{_MONTH}|{_MONTH}[./-]{_DAY})[./-](?:\d{{2}}|\d{{4}})$"
    rf"|^\d{{4}}[./-]{_MONTH}[./-]{_DAY}$"
)


_SECOND_LABEL = re.compile(r"^/\s*[^\W\d_][^\d:/]{0,40}:\s*")
#: A label that ends by saying a number follows ("Faktura nr", "Invoice No.", "N°").
_NUMBER_WORD_HEAD = re.compile(r"^(?:nr|no|n[°º]|num(?:ber|ero|éro)?)\.?\s*[:#]?\s*(?=\S*\d)", re.I)
_NUMBER_WORD_END = re.compile(r"(?:\bnr|\bno|n\.?\s?[°º]|\bnumber|\bnumer|#)\W*$", re.I)


@lru_cache(maxsize=2048)
def _valid_iban(compact: str) -> bool:
    try:
        IBAN(compact)
    except ValueError:
        return False
    return True


def _as_written(groups: list[str]) -> str:
    """An IBAN that fails validation, as far as it plausibly goes: its 4-character groups
    and a shorter last one, up to a word such as "BIC" (letters only, after the bank code)."""
    kept = groups[:2]
    for group in groups[2:]:
        if not any(ch.isdigit() for ch in group) or len(kept[-1]) != 4:
            break
        kept.append(group)
    return "".join(kept)


def _iban_in(groups: list[str]) -> str | None:
    """The valid IBAN the groups of an IBAN-shaped run start with (a next column's word may
    follow it), compact."""
    for cut in range(len(groups), 0, -1):
        compact = "".join(groups[:cut])
        if 15 <= len(compact) <= 34 and _valid_iban(compact):
            return compact
    return None


def _iban_spans(line: str) -> list[tuple[int, int]]:
    """Where valid IBANs stand in a line (upper case)."""
    return [m.span(1) for m in _IBAN.finditer(line) if _iban_in(re.split(r"[ -]", m.group(1)))]


#: The payer's own account, which a direct debit draws on: not where the money goes.
_DIRECT_DEBIT = re.compile(
    r"addebito\s+diretto|\bsdd\b|direct\s+debit|lastschrift|abbuchung|prélèvement|"
    r"prelevement|domiciliaci[oó]n|adeudo\s+directo|automatische\s+incasso|autogiro|"
    r"betalingsservice|avtalegiro|debited\s+from|collect\w*\s+(?:\S+\s+){0,3}from\s+your|"
    r"sul\s+conto\s+del\s+cliente|von\s+ihrem\s+konto|de\s+votre\s+compte",
    re.IGNORECASE,
)


def find_ibans(doc: Document) -> list[Candidate[str]]:
    """Valid IBANs, compact; a label ("IBAN") nearby raises the confidence. Not an account
    a direct debit draws on (the line or the one above says so): that is the payer's."""
    found: list[Candidate[str]] = []
    for index, line in enumerate(doc.lines):
        if _DIRECT_DEBIT.search(line) or (index and _DIRECT_DEBIT.search(doc.lines[index - 1])):
            continue
        for m in _IBAN.finditer(line.upper()):
            groups = re.split(r"[ -]", m.group(1))
            labelled = "iban" in doc.lower[index] or "iban" in doc.lower[index - 1]
            if (compact := _iban_in(groups)) is not None:
                found.append(Candidate(compact, 0.95 if labelled else 0.85, index, "iban"))
            else:
                # Kept, unbelieved, so that a check downstream can flag the wrong IBAN.
                compact = _as_written(groups)
                if labelled and 15 <= len(compact) <= 34:
                    found.append(Candidate(compact, 0.3, index, "invalid"))
    if not found:
        found = _polish_accounts(doc)
    return found


#: A Polish account number as Polish invoices print it, without its "PL": 26 digits (two
#: check digits, then eight groups of four) after "Nr konta", "Rachunek", "Konto".
_NRB_LABEL = re.compile(r"\b(?:konto|konta|rachunek|rachunku|nrb)\b", re.I)
_NRB = re.compile(r"(?<![\dA-Z])(\d{2}(?:[ -]?\d{4}){6})(?![ -]?\d)")


def _polish_accounts(doc: Document) -> list[Candidate[str]]:
    """Such numbers, as the IBANs they are when "PL" + the number checks out."""
    found: list[Candidate[str]] = []
    for index, line in enumerate(doc.lines):
        if not _NRB_LABEL.search(line):
            continue
        for m in _NRB.finditer(line):
            compact = "PL" + re.sub(r"[ -]", "", m.group(1))
            if _valid_iban(compact):
                found.append(Candidate(compact, 0.85, index, "iban", m.group(0)))
    return found


@lru_cache(maxsize=4096)
def _validate_vat(compact: str) -> bool:
    validators: tuple[Callable[[str], bool], ...] = (
        eu_vat.is_valid,
        gb_vat.is_valid,
        ch_vat.is_valid,
    )
    return any(check(compact) for check in validators)


def _other_id(compact: str) -> bool:
    """A tax id with check digits other than a VAT number, valid only after its label: an
    Indian GSTIN (15 characters), an Australian ABN (11 digits), a Canadian business number
    with its GST/HST account ("123456789RT0001"), a Mexican company's RFC (12), a Brazilian
    CNPJ (14 digits), a Turkish VKN (10), a Croatian OIB (11), an Israeli dealer's number (9)."""
    return bool(
        gstin.is_valid(compact)
        or abn.is_valid(compact)
        or (len(compact) == 15 and compact[9:11] == "RT" and ca_bn.is_valid(compact))
        or (len(compact) == 12 and compact[:3].isalpha() and mx_rfc.is_valid(compact))
        or (compact.isdigit() and len(compact) == 14 and br_cnpj.is_valid(compact))
        or (compact.isdigit() and len(compact) == 10 and tr_vkn.is_valid(compact))
        or (compact.isdigit() and len(compact) == 11 and hr_oib.is_valid(compact))
        or (compact.isdigit() and len(compact) == 9 and il_hp.is_valid(compact))
    )


def _validate_labelled(compact: str) -> bool:
    return _validate_vat(compact) or _other_id(compact)


#: Labels that name a country's VAT number written without its country prefix.
_LABEL_COUNTRIES: tuple[tuple[re.Pattern[str], tuple[str, ...]], ...] = (
    (re.compile(r"\b(?:nif|cif|nipc|n\.i\.f|c\.i\.f)\b", _I), ("es", "pt")),
    (re.compile(r"p\.?\s?iva|partita", _I), ("it",)),
    (re.compile(r"ust|umsatzsteuer", _I), ("de", "at")),
    (re.compile(r"\btva\b", _I), ("fr", "be", "lu")),
    (re.compile(r"\bbtw\b", _I), ("nl", "be")),
    (re.compile(r"\b(?:mwst|uid)\b", _I), ("ch", "at", "de")),
    (re.compile(r"\bmoms\b", _I), ("se", "dk")),
    (re.compile(r"\bnip\b", _I), ("pl",)),
    (re.compile(r"\bcvr\b", _I), ("dk",)),
    (re.compile(r"y-tunnus", _I), ("fi",)),
    (re.compile(r"\b(?:ičo|dič)\b", _I), ("cz",)),
)
#: A Norwegian VAT number, the organisation number with "MVA" after it ("NO 973 716 786 MVA",
#: "Org.nr. 952 056 174 MVA"): it names itself, no label needed.
_NO_VAT = re.compile(r"\b(?:NO[ ]?)?(\d{3}[ .]?\d{3}[ .]?\d{3})[ ]?MVA\b")
#: A Japanese qualified invoice issuer's registration number: "T" and the 13-digit
#: corporate number, whose first digit checks the rest ("T8010401098765").
_JP_INVOICE_ISSUER = re.compile(r"\bT[ -]?(\d{13})\b")
#: A Brazilian company's CNPJ as printed: "31.847.265/0001-53".
_CNPJ = re.compile(r"\b(\d{2}\.\d{3}\.\d{3}/\d{4}-\d{2})\b")


#: A Canadian business number's program account, written apart: " RT 0001".
_PROGRAM_ACCOUNT = re.compile(r"^\s?(RT)\s?(\d{4})\b")


def _national(label: str, compact: str) -> bool:
    """Whether a labelled number is a valid VAT number of a country the label implies."""
    for pattern, countries in _LABEL_COUNTRIES:
        if pattern.search(label):
            return any(c in countries for c in eu_vat.guess_country(compact))
    return False


def find_tax_ids(doc: Document) -> list[Candidate[str]]:
    """VAT / tax ids, compact: validated ones first, labelled unvalidated ones after."""
    found: dict[str, Candidate[str]] = {}
    for index, line in enumerate(doc.lines):
        upper = line.upper()
        for m in _NO_VAT.finditer(upper):
            if no_mva.is_valid(m.group(1) + "MVA"):
                # as the standard writes it ("NO 973 716 786 MVA"), compact: the prefix
                # names the country
                compact = "NO" + no_mva.compact(m.group(1) + "MVA")
                found.setdefault(compact, Candidate(compact, 0.9, index, "vat", m.group(0)))
        for m in _JP_INVOICE_ISSUER.finditer(upper):
            if jp_cn.is_valid(m.group(1)):
                compact = "T" + m.group(1)
                found.setdefault(compact, Candidate(compact, 0.9, index, "vat", m.group(0)))
        for m in _CNPJ.finditer(line):
            if br_cnpj.is_valid(compact := br_cnpj.compact(m.group(1))):
                found.setdefault(compact, Candidate(compact, 0.9, index, "vat", m.group(0)))
        ibans: list[tuple[int, int]] | None = None  # looked for only beside a VAT-shaped run
        for m in _VAT.finditer(upper):
            ibans = _iban_spans(upper) if ibans is None else ibans
            if any(start <= m.start(1) < end for start, end in ibans):
                continue  # "DK76 1551 0000 1234 56" is an IBAN, not the VAT number DK76155100
            compact = re.sub(r"[ .-]", "", m.group(1))
            for size in range(len(compact), 7, -1):
                if _validate_vat(compact[:size]):
                    found.setdefault(compact[:size], Candidate(compact[:size], 0.9, index, "vat"))
                    break
        for m in _TAX_LABEL.finditer(line):
            tail = upper[m.end() :]
            value = _TAX_VALUE.match(tail)
            if value is None and m.end() >= len(line.rstrip(" :#")) and index + 1 < len(doc):
                value = _TAX_VALUE.match(doc.lines[index + 1].upper())
            if value is None:
                continue
            compact = re.sub(r"[ .-]", "", value.group(1))
            account = _PROGRAM_ACCOUNT.match(tail[value.end() :])
            if account and compact.isdigit() and len(compact) == 9:
                compact += account.group(1) + account.group(2)  # "123456789 RT0001"
            if not _validate_labelled(compact) and not _national(m.group(0), compact):
                # a fixed-length id run on into the next column ("27AAPFU0939F1ZV 30 Days"),
                # cut where a space parts them: a longer id written in one piece
                # ("100354872900003") is not cut where a prefix happens to check
                compact = next(
                    (
                        compact[:n]
                        for n in (15, 11)
                        if n < len(compact)
                        and _other_id(compact[:n])
                        and _spaced_after(value.group(1), n)
                    ),
                    compact,
                )
            digits = sum(ch.isdigit() for ch in compact)
            if compact in found or digits < 6 or _DATE_LIKE.match(value.group(1)):
                continue
            if _validate_labelled(compact):
                confidence = 0.9
            elif _national(m.group(0), compact):
                confidence = 0.8
            else:
                confidence = 0.55
            found[compact] = Candidate(compact, confidence, index, "labelled", m.group(0))
    ranked = [c.but(c.confidence * 0.3) if _addressed_id(doc, c) else c for c in found.values()]
    return sorted(ranked, key=lambda c: (-c.confidence, c.line))


def _spaced_after(value: str, size: int) -> bool:
    """Whether a space follows the first `size` characters of `value` that are not
    separators (spaces, dots, hyphens)."""
    kept = 0
    for index, ch in enumerate(value):
        if ch in " .-":
            continue
        kept += 1
        if kept == size:
            return value[index + 1 : index + 2] == " "
    return False


#: The addressee's own tax id, labelled as theirs: "Ihre USt-IdNr.", sv "Ert momsreg.nr",
#: "Your VAT No.", "Votre n° TVA", "Uw btw-nummer", it "Vostra P.IVA", pl "Wasz NIP".
_YOUR_ID = re.compile(
    r"\b(?:your|ihre?|votre|vos|su|vostr[ao]|uw|ert|er|deres|jeres|din|teidän|wasz\w*|vaš\w*|"
    r"váš)\s+(?:[^\W\d_]+[\s.-]*){0,2}?(?:vat|ust|mwst|uid|tva|iva|btw|moms\w*|mva|alv|dph|nip|"
    r"p\.?\s?iva|tax|steuer|gst)",
    re.IGNORECASE,
)


def _addressed_id(doc: Document, cand: Candidate[str]) -> bool:
    """Whether the id is printed after a label that makes it the addressee's."""
    for index in (cand.line - 1, cand.line):
        if index < 0:
            continue
        line = doc.lines[index]
        after_label = doc.lines[index + 1] if index + 1 < len(doc) else ""
        for m in _YOUR_ID.finditer(line):
            # the value beside the label, or on the line below a label that ends its line
            rest = line[m.end() : m.end() + 48]
            if not rest.strip(" .:#-/IDNRidnr"):
                rest = after_label[:48]
            if cand.value in re.sub(r"[ .-]", "", rest).upper():
                return True
    return False


#: A number grouped by single spaces, as German telecom and utility bills print theirs.
_SPACED_NUMBER = re.compile(r"\d{1,4}(?: \d{1,4}){1,5}")


def _labelled_values(
    doc: Document, label: re.Pattern[str], kind: str, negative: re.Pattern[str] | None = None
) -> list[Candidate[str]]:
    found: list[Candidate[str]] = []
    for index, line in enumerate(doc.lines):
        for m in label.finditer(line):
            if negative is not None and negative.search(_QUALIFIED_DOC.sub(r"\1", m.group(0))):
                continue
            if negative is not None and _DATE_BEFORE.search(
                line[max(0, m.start() - 16) : m.start()]
            ):
                continue
            if negative is not None and _ABOUT_ANOTHER.search(
                line[max(0, m.start() - 24) : m.start()]
            ):
                continue  # "Betreft: factuur 25-1184": the invoice a credit note or letter is about
            if (
                kind == "invoice"
                and _PAID_BY_CHECK.search(
                    f"{doc.lines[index - 1] if index else ''} {line[: m.start()]}"
                )
                and m.group(0).lower().startswith(("check", "cheque"))
            ):
                continue  # "Deposit received (check #2231)": a payment's cheque, not this bill
            rest = line[m.end() :].lstrip(" :#.")
            # a label in two languages: "Invoice No. / Číslo faktury: 2024-0042"
            rest = _SECOND_LABEL.sub("", rest)
            if kind == "po":  # "Ihre Bestellung: Nr. 2026-117 vom 02.03.2026"
                rest = _NUMBER_WORD_HEAD.sub("", rest)
            below = False
            # Below a label only when it heads its line: in a header row ("Customer No.
            # Invoice No.") the value below the last label is not the first one of the row.
            if not rest and index + 1 < len(doc) and not line[: m.start()].strip():
                rest, below = doc.lines[index + 1], True
            value = _DOC_VALUE.match(rest)
            if value is None:
                continue
            token = _GLUED_DATE.sub("", value.group(1)).strip("._-/")
            if not below and kind == "invoice" and _SPACED_NUMBER.fullmatch(rest.strip()):
                token = rest.strip()  # grouped by spaces to the line's end: "30 1184 2207"
            if len(token) > 30:
                continue
            # a date after a number label is that number ("Faktura nr 3/03/2024", Polish
            # numbering by month); after any other label it is a date
            dated = bool(_DATE_LIKE.match(token))
            if dated and (below or not _NUMBER_WORD_END.search(m.group(0))):
                continue
            strong = any(ch.isalpha() for ch in m.group(0)[:3]) and len(m.group(0).strip()) > 3
            confidence = (0.85 if strong else 0.7) - (0.1 if below else 0.0) - 0.2 * dated
            if sum(ch.isdigit() for ch in token) < 2:
                confidence -= 0.25
            found.append(Candidate(token, round(confidence, 3), index, kind, m.group(0).strip()))
    return found


def _header_row(doc: Document) -> list[Candidate[str]]:
    """Invoice numbers under a header row ("Invoice No.  Date  Customer No." over
    "INV-7  01.02.2024  C-22"): the n-th value of the row below goes with the n-th label;
    when the two rows do not pair up, only the first value with the first label."""
    found: list[Candidate[str]] = []
    for index, line in enumerate(doc.lines[:-1]):
        if any(ch.isdigit() for ch in line) or not _INVOICE_LABEL.search(line):
            continue
        cells = _HEADER_CELL.findall(line)
        values = doc.lines[index + 1].split()
        if len(cells) < 2 or not values or "".join(cells).replace(" ", "") != line.replace(" ", ""):
            continue
        if len(cells) != len(values):
            # the columns cannot be paired up (a heading or a value of several words): the
            # first column still can, when the row starts with the number's heading
            cells, values = cells[:1], values[:1]
            if re.fullmatch(r"(?:19|20)\d\d", values[0]):  # a year split from its number
                continue
        for cell, value in zip(cells, values, strict=True):
            label = _INVOICE_LABEL.match(cell)
            if label is None or _OTHER_NUMBER.search(cell) or _DATE_BEFORE.search(cell[:1]):
                continue
            token = value.strip("._-/:")
            if any(ch.isdigit() for ch in token) and not _DATE_LIKE.match(token):
                found.append(Candidate(token, 0.75, index + 1, "invoice", cell))
    return found


#: The document's title alone on its line ("INVOICE", "FACTURA", "Rechnung").
#: The document's title alone on its line, perhaps in two languages ("FACTURE / INVOICE").
_TITLE_LINE = re.compile(rf"^\W*(?:tax\s+)?{_DOC_WORD}(?:\s*/\s*(?:tax\s+)?{_DOC_WORD})?\W*$", _I)
#: A number label that names nothing else ("Number", "Número:", "Nº"): under a title, the
#: title's number.
_BARE_NUMBER = re.compile(
    r"^\W*(?:number|no|nr|n[°º]|n\.o|n[uú]m(?:ero|éro)?|nummer|numer|αριθμ[οό]ς|n(?=\.))\b\.?"
    r"\s*[:#]?\s*(.*)$",
    _I,
)


def _under_title(doc: Document) -> list[Candidate[str]]:
    """Numbers labelled only "Number" a line or three under the document's title."""
    found: list[Candidate[str]] = []
    for index, line in enumerate(doc.lines[:25]):
        if not _TITLE_LINE.match(line):
            continue
        for below in range(index + 1, min(len(doc), index + 4)):
            m = _BARE_NUMBER.match(doc.lines[below])
            if m is None:
                continue
            rest = m.group(1).strip() or (doc.lines[below + 1] if below + 1 < len(doc) else "")
            value = _DOC_VALUE.match(rest.strip())
            if value is not None and not _DATE_LIKE.match(value.group(1)):
                found.append(Candidate(value.group(1), 0.7, below, "invoice", doc.lines[below]))
            break
    return found


#: A number within a series, the series printed apart: Romanian "Seria CLG nr. 0004127",
#: Lithuanian "Serija SM Nr. 004512", Mexican CFDI "Serie: A   Folio: 3382". The number is
#: both together ("CLG 0004127").
_SERIES = re.compile(
    # ro "Seria ABC nr. 123", el "Σειρά: Α  Αριθμός: 1582"
    r"(?:\bseri(?:a|e|ja)|σειρ[αά])\s*:?\s*(?P<series>[A-ZΑ-Ω]{1,6})\s*,?\s*"
    r"(?:nr\.?|n[o°º]\.?|număr(?:ul)?|numero|folio|αριθμ[οό]ς|αρ\.)\s*:?\s*"
    r"(?P<number>\d[\d-]{0,15})\b",
    _I,
)


def _series_numbers(doc: Document) -> list[Candidate[str]]:
    return [
        Candidate(f"{m['series'].upper()} {m['number']}", 0.9, index, "invoice", m.group(0))
        for index, line in enumerate(doc.lines)
        for m in _SERIES.finditer(line)
        if not _ABOUT_ANOTHER.search(line[max(0, m.start() - 24) : m.start()])
    ]


#: An Argentine invoice's point of sale ("Punto de Venta: 00003 Comp. Nro: 00001287"): the
#: first part of its number, "00003-00001287", which the number alone repeats at each point.
_POINT_OF_SALE = re.compile(r"\bpunto\s+de\s+venta\s*:?\s*(\d{4,5})\b", re.IGNORECASE)


def _with_point_of_sale(doc: Document, cand: Candidate[str]) -> Candidate[str]:
    if not cand.value.isdigit() or len(cand.value) > 8:
        return cand
    for index in range(max(0, cand.line - 2), cand.line + 1):
        if m := _POINT_OF_SALE.search(doc.lines[index]):
            return Candidate(
                f"{m[1]}-{cand.value}", cand.confidence, cand.line, cand.label, cand.text
            )
    return cand


def find_invoice_numbers(doc: Document) -> list[Candidate[str]]:
    """The document's own number, read after "Invoice No", "Rechnung Nr.", "Facture n°"...;
    with its point of sale where one is printed before it."""
    return [_with_point_of_sale(doc, c) for c in _invoice_numbers(doc)]


def _invoice_numbers(doc: Document) -> list[Candidate[str]]:
    cands = _series_numbers(doc)
    cands += _labelled_values(doc, _INVOICE_LABEL, "invoice", _OTHER_NUMBER)
    cands.extend(_header_row(doc))
    known = {c.value for c in cands}
    cands.extend(c for c in _under_title(doc) if c.value not in known)
    titled = {c.line for c in cands}
    for cand in _labelled_values(doc, _TITLE_NUMBER, "invoice", _OTHER_NUMBER):
        if cand.line not in titled and not _DATE_LIKE.match(cand.value):
            cands.append(cand.but(cand.confidence - 0.1))
    return sorted(cands, key=lambda c: (-c.confidence, c.line))


#: The buyer's order as the last heading of a header row ("Invoice Date  Invoice Number
#: Reference  Purchase Order", pt "… V/ Requisição"): the last value of the row below is it,
#: even where the columns between cannot be told apart in the text.
_PO_COLUMN = re.compile(
    r"(?<=\s)(?:purchase\s+order|p\.?\s?o\.?|your\s+order|customer\s+order|(?:v/\s*)?requisi\w+|"
    r"ihre\s+bestellung|bestell\w*|(?:bon\s+de\s+)?commande|pedido|orden\s+de\s+compra|ordine|"
    r"(?:uw\s+)?bestel\w*|zamówienie|objednávka|tilaus\w*|beställning\w*|bestilling\w*|"
    r"indkøbsordre|innkjøpsordre|inköpsorder)"
    r"(?:\s*(?:no|nr|n[°º]|n\.o|#|number|nummer|número))?\.?\s*:?\s*$",
    _I,
)


def _last_column(doc: Document) -> list[Candidate[str]]:
    found = []
    for index, line in enumerate(doc.lines[:-1]):
        m = _PO_COLUMN.search(line)
        if m is None or any(ch.isdigit() for ch in line) or _DATE_BEFORE.search(line[: m.start()]):
            continue
        values = doc.lines[index + 1].split()
        if len(values) < 2 or len(line[: m.start()].split()) < len(values) - 1:
            continue  # fewer headings before it than values: not the same row's columns
        last = values[-1].strip("._-/:")
        if len(last) >= 3 and any(ch.isdigit() for ch in last) and not _DATE_LIKE.match(last):
            found.append(Candidate(last, 0.65, index + 1, "po", m.group(0).strip()))
    return found


def find_po_numbers(doc: Document) -> list[Candidate[str]]:
    """The buyer's order number, read after "PO", "Purchase order", "Bestellnummer"..."""
    cands = _labelled_values(doc, _PO_LABEL, "po")
    for index, line in enumerate(doc.lines[:-1]):
        if _PO_LINE.match(line) and (value := _DOC_VALUE.match(doc.lines[index + 1])):
            cands.append(Candidate(value.group(1), 0.7, index, "po", line))
    cands.extend(_last_column(doc))
    return sorted(cands, key=lambda c: (-c.confidence, c.line))
