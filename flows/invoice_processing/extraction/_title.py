"""What a document calls itself: the title line near its top ("CREDIT NOTE", "Factura
proforma", "Zahlungserinnerung").

A bag-of-words classifier weighs every word of a page, and a pro forma or a payment reminder
shares nearly all of them with an invoice; the title is the one line where the sender says
which it is. A title is a line of its own: the kind's words, at most with an invoice word,
a number label and the document's number or date beside them ("NOTA DI CREDITO N. 12/2025",
"PRO FORMA INVOICE"). A phrase inside a sentence ("this invoice replaces credit note 12") is
no title. The first title line decides, so an invoice titled "INVOICE" that lists a credit
note further down stays an invoice.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

__all__ = ["Title", "document_title"]

#: How many non-empty lines from the top a title may sit on (a letterhead comes first).
_TOP_LINES = 15

# fmt: off
_KINDS: dict[str, tuple[str, ...]] = {
    # A pro forma asks for payment before delivery: an offer, not a bill to book.
    "pro_forma": ("pro forma", "pro-forma", "proforma", "dijbekero"),
    "credit_note": (
        "credit note", "credit memo", "creditnota", "credit nota", "creditfactuur",
        "gutschrift", "rechnungskorrektur", "stornorechnung", "avoir", "facture d'avoir",
        "note de credit", "nota de credito", "nota di credito", "nota credito",
        "faktura korygujaca", "korekta faktury", "kreditnota", "kreditfaktura",
        "hyvityslasku", "dobropis", "opravny danovy doklad", "jovairo szamla",
        "helyesbito szamla", "factura rectificativa", "factura de stornare",
    ),
    "reminder": (
        "payment reminder", "reminder", "final reminder", "overdue notice",
        "zahlungserinnerung", "mahnung", "letzte mahnung", "rappel", "relance",
        "rappel de paiement", "lettre de relance", "betalingsherinnering", "herinnering",
        "aanmaning", "recordatorio de pago", "aviso de pago", "sollecito di pagamento",
        "sollecito", "przypomnienie o platnosci", "wezwanie do zaplaty", "upominka",
        "pripomienka", "pamminnelse", "betalningspaminnelse", "betalingspaamindelse",
        "rykker", "maksumuistutus", "fizetesi felszolitas", "somatie de plata",
    ),
    "invoice": (
        "invoice", "tax invoice", "commercial invoice", "rechnung", "facture", "factura",
        "fattura", "faktura", "factuur", "fatura", "lasku", "szamla",
        "danovy doklad", "factura fiscala", "τιμολογιο", "τιμολογιο παροχης υπηρεσιων",
        "請求書", "发票", "增值税专用发票", "增值税普通发票", "电子发票",
        # ko "청구서", "세금계산서", "거래명세서"; th "ใบแจ้งหนี้", "ใบกำกับภาษี"; uk/ru/bg/sr
        # "Рахунок", "Рахунок-фактура", "Счет", "Счет-фактура", "Фактура"; vi "Hóa đơn (giá
        # trị gia tăng)"; id "Faktur (pajak)"; ar "فاتورة (ضريبية)"
        "청구서", "세금계산서", "거래명세서", "인보이스", "ใบแจ้งหนี้", "ใบกำกับภาษี",
        "ใบแจ้งหนี้ ใบกำกับภาษี", "рахунок", "рахунок фактура", "рахунок на оплату", "счет",
        "счет фактура", "счет на оплату", "фактура", "hóa đơn", "hóa đơn giá trị gia tăng",
        "faktur", "faktur pajak", "فاتورة", "فاتورة ضريبية",
    ),
}
# fmt: on

#: Words that may stand beside the kind's words on a title line.
_BESIDE = re.compile(
    r"^(?:invoice|rechnung|facture|factura|fattura|faktura|factuur|fatura|lasku|szamla|"
    r"fiscale|fiscal|tax|vat|no|nr|nro|num|numero|number|n|n°|no°|nº|núm|č|c|cislo|#|"
    r"št|st|stevilka|br|broj|"
    # "Рахунок на оплату № ДЛ-0742 від 12.10.2026", "Facture du 12/03/2026", "z dnia"
    r"від|от|vom|du|dated|z|dnia|ze|dne|"
    r"de|di|del|der|zur|zu|to|for|of|the|a|an|e|et|und|and|og|och|ja|és|es|y|i|"
    r"°|sz|sorszama|page|seite|copy|original|kopie|duplicate|\d[\w./-]*)$"
)
_TOKEN = re.compile(r"[^\W_]+|#|°")
#: An amount with its cents ("-20,00"): a line of sums, not a title ("Avoir  -20,00").
_AMOUNT = re.compile(r"\d[.,]\d{2}(?![\d.,/-])")


@dataclass(frozen=True, slots=True)
class Title:
    kind: str  # "invoice", "credit_note", "pro_forma" or "reminder"
    line: str  # the line as printed


def _words(text: str) -> list[str]:
    """Case, accents and punctuation aside: "FACTURE D'AVOIR N°" -> facture d avoir n °."""
    decomposed = unicodedata.normalize("NFKD", text.casefold()).casefold()  # "№" -> "no"
    return _TOKEN.findall("".join(c for c in decomposed if not unicodedata.combining(c)))


_PHRASES = sorted(
    ((_words(phrase), kind) for kind, phrases in _KINDS.items() for phrase in phrases),
    key=lambda item: -len(item[0]),
)


def _title_kind(line: str) -> str | None:
    # a chunk with a digit is the document's number or date ("FK/3/2025", "AV-2025-07")
    words = [
        word
        for chunk in line.split()
        for word in (["0"] if any(c.isdigit() for c in chunk) else _words(chunk))
    ]
    if not words or len(words) > 8:
        return None
    found: str | None = None
    rest = list(words)
    for phrase, kind in _PHRASES:
        for start in range(len(rest) - len(phrase) + 1):
            if rest[start : start + len(phrase)] == phrase:
                # a kind other than "invoice" names the document ("PRO FORMA INVOICE")
                if found is None or found == "invoice":
                    found = kind
                del rest[start : start + len(phrase)]
                break
    if found is None:
        return None
    return found if all(_BESIDE.match(w) for w in rest) else None


def _unspaced(cell: str) -> str:
    """A title printed letter by letter ("I N V O I C E", "청 구 서") as one word."""
    letters = cell.split()
    return "".join(letters) if len(letters) >= 3 and all(len(c) == 1 for c in letters) else cell


def document_title(text: str) -> Title | None:
    """The first title line among the top lines of `text`, and the kind it names."""
    seen = 0
    for raw in text.splitlines():
        line = raw.strip()
        if not line:
            continue
        seen += 1
        if seen > _TOP_LINES:
            break
        if _AMOUNT.search(line):
            continue
        # a title may share its line with a column of the letterhead: take each cell
        for cell in re.split(r"\s{3,}|\t|\|", line):
            cell = cell.strip(" :*=-")
            if cell and (kind := _title_kind(_unspaced(cell))) is not None:
                return Title(kind=kind, line=cell)
    return None
