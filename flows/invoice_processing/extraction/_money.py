"""Amounts, currencies and the labelled totals of a document.

A number's decimal separator is often ambiguous on its own ("1.234", "9.000"), so the
document votes first (which separator precedes two final digits most often) and
price-parser reads each amount with that separator. Totals are found by their labels in
several languages, ranked (amount due > total including tax > total), and the words that
look like a total but are not (subtotal, total quantity, cash, change) are kept out.
"""

from __future__ import annotations

import re
from collections import Counter
from decimal import Decimal

from price_parser import Price

from flows.invoice_processing.extraction._candidate import Candidate, Document

__all__ = [
    "Amount",
    "country_hint",
    "decimal_separator",
    "find_amounts",
    "find_currency",
    "parse_amount",
    "space_grouped",
    "without_currency",
]

_NUMBER = re.compile(
    r"(?<![\w.,:/'\u00a0-])(?P<sign>[-−–]\s?)?(?:(?P<cur>[€$£¥₹₨]|RM|Rs\.?|EUR|USD|GBP|CHF|INR)\s?)?"
    r"(?P<num>\d{1,2}(?:,\d{2})+,\d{3}(?:\.\d{1,2})?|\d{1,3}(?:(?P<g>[,.'’\u00a0])\u00a0?\d{3})(?:(?P=g)\u00a0?\d{3})*(?:[.,]\d{1,2})?"
    r"|\d{1,3}(?: \d{3})+,\d{2}|\d{1,7}(?:[.,]\d{1,3})?)"
    r"(?![\d%]|\s?%|[.,:/]\d|[.,]?[A-Za-z])"
)
_TWO_DECIMALS = re.compile(r"\d([.,])\d{2}(?!\d|[.,/-]\d)")  # not a date ("03.03.2026")

#: Symbols and words, longest first; "$" and "kr" depend on the country (see find_currency).
_SYMBOLS: tuple[tuple[str, str], ...] = (
    ("US$", "USD"), ("A$", "AUD"), ("AU$", "AUD"), ("C$", "CAD"), ("CA$", "CAD"),
    ("S$", "SGD"), ("HK$", "HKD"), ("NZ$", "NZD"), ("R$", "BRL"), ("€", "EUR"),
    ("£", "GBP"), ("¥", "JPY"), ("₹", "INR"), ("₩", "KRW"), ("zł", "PLN"), ("Kč", "CZK"),
    ("RM", "MYR"), ("SFr", "CHF"), ("Fr.", "CHF"), ("$", "$"), ("kr", "kr"),
    ("Rs.", "INR"), ("Rs", "INR"), ("₨", "INR"), ("Ft", "HUF"),
    ("Euro", "EUR"), ("Ringgit", "MYR"), ("Rp", "IDR"), ("R", "ZAR"), ("₪", "ILS"),
    ("TL", "TRY"), ("₦", "NGN"), ("₱", "PHP"), ("KSh", "KES"), ("Ksh", "KES"), ("E£", "EGP"),
    ("S/.", "PEN"), ("S/", "PEN"), ("NT$", "TWD"), ("₫", "VND"), ("грн", "UAH"), ("₴", "UAH"),
    ("Tk", "BDT"), ("৳", "BDT"), ("₩", "KRW"), ("원", "KRW"), ("лв.", "BGN"), ("лв", "BGN"),
    ("₺", "TRY"), ("฿", "THB"), ("lei", "RON"), ("บาท", "THB"),
)  # fmt: skip
_ISO_CODES = (
    "EUR USD GBP CHF SEK NOK DKK ISK PLN CZK HUF RON BGN HRK TRY RUB UAH JPY CNY HKD SGD "
    "MYR IDR THB PHP VND INR PKR AUD NZD CAD MXN BRL ARS CLP COP ZAR AED SAR ILS KRW TWD "
    "NGN EGP KES GHS TZS UGX QAR KWD BHD OMR JOD MAD TND RSD BDT UAH VND PKR LKR NPR"
)
#: Common codes only: the full list holds words such as ALL, TOP and PEN.
_ISO = frozenset(_ISO_CODES.split())
_CURRENCY = re.compile(
    r"(?<![A-Za-z])(?:"
    + "|".join(re.escape(s) for s, _ in _SYMBOLS if s[0].isalpha())
    + r"|[A-Z]{3})(?![A-Za-z])|"
    + "|".join(re.escape(s) for s, _ in _SYMBOLS if not s[0].isalpha())
)
_DOLLAR_COUNTRY = {
    **{"AU": "AUD", "CA": "CAD", "SG": "SGD", "NZ": "NZD", "HK": "HKD", "MX": "MXN"},
    **{"CO": "COP", "CL": "CLP", "AR": "ARS"},
}
_KRONA_COUNTRY = {"SE": "SEK", "NO": "NOK", "DK": "DKK", "IS": "ISK"}
_SYMBOL_CODE = dict(_SYMBOLS)
#: The Vietnamese amount in words, which ends with the currency ("… đồng chẵn"); "đồng"
#: alone is no cue ("hợp đồng" is a contract).
_VND_IN_WORDS = re.compile(r"bằng\s+chữ\b.*(?<!hợp\s)\bđồng\b", re.IGNORECASE)
#: Currency words that name their currency wherever they stand, as a symbol does (the baht
#: in "ห้าหมื่นเก้าพันบาทถ้วน", the amount in words).
_NAMED_ANYWHERE = frozenset({"บาท"})
#: Symbols that are also ordinary words or abbreviations ("Mo.-Fr." is Monday to Friday,
#: "Sq Ft" a square foot):
#: they name a currency only right beside an amount.
_AMBIGUOUS = frozenset(
    {"Fr.", "Rs", "kr", "Rp", "Ft", "TL", "S/", "S/.", "Ksh", "Tk", "грн", "원", "лв", "лв.", "lei"}
)
#: The South African rand's "R" names a currency only before an amount with cents.
_RAND_AMOUNT = re.compile(r"\s?\d{1,3}(?:[ ,.\u00a0]?\d{3})*[.,]\d{2}(?!\d)")
_AMOUNT_NEAR = re.compile(r"^\.?\s?[-−–]?\d(?!\d?[.:]\d\d\s*(?:[-–]|uhr\b|h\b))|\d\s?$", re.I)

Amount = Candidate[Decimal]


#: A thousands group with no decimals after it: "294.880", "1,250".
_GROUPED = re.compile(r"\d([.,])\d{3}(?![\d.,]?\d)")


def decimal_separator(doc: Document) -> str:
    """ "." or "," as this document writes decimals, by a vote over "x.yy" and "x,yy"."""

    def vote() -> str:
        counts: Counter[str] = Counter()
        for line in doc.lines:
            counts.update(m.group(1) for m in _TWO_DECIMALS.finditer(line))
        if not counts:
            # no amount with cents ("Samtals 365.651" in krónur, "Total 1,250"): a mark
            # before three digits groups thousands, and the decimals are the other mark
            for line in doc.lines:
                counts.update(m.group(1) for m in _GROUPED.finditer(line))
            return "," if counts["."] > counts[","] else "."
        return "," if counts[","] > counts["."] else "."

    return doc.memo("decimal", vote)


def _separator_of(num: str, default: str) -> str | None:
    """The decimal separator of one number, or None when it has no decimals."""
    last_dot, last_comma = num.rfind("."), num.rfind(",")
    if last_dot >= 0 and last_comma >= 0:
        return "." if last_dot > last_comma else ","
    sep = "." if last_dot >= 0 else "," if last_comma >= 0 else None
    if sep is None or num.count(sep) > 1:
        return None
    decimals = len(num) - num.rfind(sep) - 1
    if decimals != 3:
        return sep
    return sep if sep == default else None


def parse_amount(text: str, decimal: str | None = None) -> Decimal | None:
    """A signed amount from a snippet ("1.234,56 €", "-RM 0.02", "1'234.50")."""
    m = _NUMBER.search(text.replace("'", "’") if "'" in text else text)
    if m is None:
        return None
    num = m.group("num").replace("’", "'")
    sep = _separator_of(num, decimal or ".")
    cleaned = re.sub(r"[\s'\u00a0]", "", num)
    if sep is None:
        cleaned = cleaned.replace(".", "").replace(",", "")
        sep = "."
    amount = Price.fromstring(cleaned, decimal_separator=sep).amount
    if amount is None:
        return None
    before = text[: m.start("num")].replace(" ", "")[-4:]
    bracketed = before.endswith("(") and text[m.end("num") :].lstrip().startswith(")")
    negative = bool(m.group("sign")) or "-" in before or bracketed
    return -amount if negative else amount


def find_amounts(doc: Document, index: int) -> list[tuple[int, int, Decimal]]:
    """Amounts on one line as (start, end, value); percentages and times are left out."""
    cache: dict[int, list[tuple[int, int, Decimal]]] = doc.memo("amounts", dict)
    if index in cache:
        return cache[index]
    line = space_grouped(doc.lines[index])
    decimal = decimal_separator(doc)
    found: list[tuple[int, int, Decimal]] = []
    cache[index] = found
    for m in _NUMBER.finditer(line):
        if _LEGAL_REFERENCE.search(line[max(0, m.start() - 12) : m.start()]):
            continue  # "TVA non applicable, art. 293 B du CGI": a law's article, not money
        value = parse_amount(m.group(0), decimal)
        if value is not None:
            found.append((m.start(), m.end(), value))
    return found


#: A reference to a law before a number: "art. 293 B", "§ 19 UStG", "section 44".
_LEGAL_REFERENCE = re.compile(
    r"(?:\bart(?:icle|ikel|\.)|§|\bsection|\bsec\.|\bparagraph|\bal\.|\balinéa)\s*$", re.I
)


#: Thousands grouped by spaces ("R 1 796.00", "1 845 kr"): read as one amount only right
#: beside a currency, where a table's columns (a quantity, then a price) do not stand.
_SPACED = re.compile(r"(?<![\d.,])\d{1,3}(?: \d{3})+(?:[.,]\d{2})?(?![\d.,]?\d)")
_CURRENCY_BEFORE = re.compile(
    r"(?:[€$£¥₹]|\b(?:R|kr|Kč|Fr\.|CHF|EUR|USD|GBP|ZAR|SEK|NOK|DKK|CZK|PLN|AED|SGD|NZD|AUD|CAD|HUF|"
    r"RON))\s{0,3}$"
)
_CURRENCY_AFTER = re.compile(
    r"^\s?(?:€|kr\b|Kč|zł|CHF\b|EUR\b|SEK\b|NOK\b|DKK\b|CZK\b|PLN\b|ZAR\b|Ft\b|HUF\b|RON\b|lei\b"
    r"|лв|BGN\b)"
)


#: A comma and one space inside an amount with cents: "54, 600.00", "1, 250, 000.00".
_COMMA_SPACE = re.compile(r"(?<![\d.,])(\d{1,3}), (?=\d{3}(?:, \d{3})*\.\d{2}(?!\d))")


def space_grouped(line: str) -> str:
    """The line with the grouping spaces of such amounts made no-break spaces (the same
    length: positions stay), which the amount pattern reads as thousands separators."""
    if " " not in line or not any(ch.isdigit() for ch in line):
        return line
    # a scan's space after a thousands comma: "54, 600.00"
    line = _COMMA_SPACE.sub("\\1,\u00a0", line)
    for m in _SPACED.finditer(line):
        if _CURRENCY_BEFORE.search(line[: m.start()]) or _CURRENCY_AFTER.match(line[m.end() :]):
            line = line[: m.start()] + m.group(0).replace(" ", "\u00a0") + line[m.end() :]
    return line


def without_currency(text: str) -> str:
    """The text with currency symbols and codes taken out ("EUR", "RM", "€")."""
    return _CURRENCY.sub(" ", text)


#: Where a document comes from, by the business numbers only that country prints ("ABN 64
#: 636 506 132", "123456789 RT0001", "NZBN 9429..."); addresses are not cues (the buyer's or
#: the ship-to address may be abroad).
_COUNTRY_CUES = (
    ("AU", re.compile(r"\bA[BC]N\s*:?\s*\d{2}\s?\d{3}\s?\d{3}")),
    # a business number, also as the CRA prints it: "87654 3216 RT0001"
    ("CA", re.compile(r"\bGST/HST\b[^\n]{0,20}\d|\b\d{5}\s?\d{4}\s?RT\s?\d{4}\b")),
    (
        "NZ",
        re.compile(
            r"\bNZBN\s*:?\s*\d{13}\b|\bGST\s*(?:No|Number|#)\.?\s*:?\s*\d{2,3}-\d{3}-\d{3}\b"
        ),
    ),
    ("MX", re.compile(r"\bRFC\s*:?\s*[A-Z&Ñ]{3,4}\d{6}[A-Z\d]{3}\b")),
    # Colombia's NIT, Chile's RUT, Argentina's CUIT (each with its check digit)
    ("CO", re.compile(r"\bNIT\.?\s*:?\s*\d{3}\.?\d{3}\.?\d{3}-?\d\b")),
    ("CL", re.compile(r"\bR\.?\s?U\.?\s?T\.?\s*:?\s*\d{1,2}\.\d{3}\.\d{3}-[\dkK]\b")),
    # the CUIT also printed without its dashes; a VAT status only Argentina's tax office
    # (AFIP) uses
    (
        "AR",
        re.compile(
            r"\bC\.?U\.?I\.?T\.?\s*:?\s*\d{2}-?\d{8}-?\d\b|\bresponsable\s+inscripto\b", re.I
        ),
    ),
)


def country_hint(doc: Document) -> str | None:
    """A country from an IBAN or VAT id prefix, else from a business number only that
    country prints; it settles "$" and "kr"."""
    text = " ".join(doc.lines[:400])
    m = re.search(r"\b(AU|CA|SG|NZ|HK|SE|NO|DK|IS)\d{2}", text)
    if m:
        return m.group(1)
    return next((country for country, cue in _COUNTRY_CUES if cue.search(text)), None)


_CURRENCY_LABEL = re.compile(
    r"currency|währung|devise|moneda|valuta|divisa|munt|"
    # a column heading that names its currency: "Amount (CAD)", "Betrag (EUR)", "Preis CHF"
    r"\b(?:amount|total|price|betrag|preis|montant|importe|prix|prezzo|bedrag|summe"
    r"|rechnungsbetrag)\s*(?:\(\s*[A-Z]{3}\s*\)|[A-Z]{3}\b)",
    re.IGNORECASE,
)
#: A line about another currency than the invoice's: an exchange rate, an equivalent, a
#: payment possible in another one ("Zahlung in EUR möglich: EUR 2'763.03 (Kurs 0.9343)",
#: "Равностойност в евро: 1 674,99 €"). Its currency counts only when no other line names one.
_OTHER_CURRENCY = re.compile(
    r"\b(?:exchange\s+rate|rate\s+of\s+exchange|wechselkurs|taux\s+de\s+change"
    r"|tipo\s+de\s+cambio|tasso\s+di\s+cambio|equivalent|équivalent|equivalente|gegenwert"
    r"|umgerechnet|fixed\s+rate|равностойност|еквівалент|эквивалент|kurs\s+walut"
    # "(Kurs 0.9343)", "курс 1 EUR = 1,95583 лв.", "kurz ČNB 25,31": a rate, not a course
    r"|(?:kurs|kurz|курс)\s*:?\s*(?:[A-ZČ]{3}\s*)?\d"
    r"|zahlung\s+in\s+[A-Z]{3}|payable\s+in\s+[A-Z]{3})",
    re.IGNORECASE,
)


def _labelled_currency(doc: Document, index: int) -> bool:
    """A code with no amount beside it counts only under a label ("Currency: EUR")."""
    return bool(
        _CURRENCY_LABEL.search(doc.lines[index])
        or (index > 0 and _CURRENCY_LABEL.search(doc.lines[index - 1]))
    )


#: Words only a Chinese (simplified) invoice prints: "发票" (invoice), "增值税" (VAT),
#: "人民币" (renminbi), "价税合计" (total with tax), "元"/"圆" (yuan).
_CHINESE = re.compile(r"发票|增值税|人民币|价税合计|税额|[元圆]整?(?![\u3040-\u30ff])")
#: Japanese kana: a Japanese document, whose "¥" is the yen.
_KANA = re.compile(r"[\u3040-\u30ff]")


def _chinese(doc: Document) -> bool:
    """Whether the document is a Chinese one (its "¥" is the yuan): Chinese invoice words
    and no Japanese kana."""

    def read() -> bool:
        text = "\n".join(doc.lines[:200])
        return bool(_CHINESE.search(text)) and not _KANA.search(text)

    return doc.memo("chinese", read)


def find_currency(doc: Document, near: list[int] | None = None) -> list[Candidate[str]]:
    """ISO 4217 codes the document uses, most used first; lines in `near` count triple."""
    votes: Counter[str] = Counter()
    aside: Counter[str] = Counter()  # on lines about another currency
    first_line: dict[str, int] = {}
    weight_lines = set(near or [])
    country = country_hint(doc)
    for index, line in enumerate(doc.lines):
        other = _OTHER_CURRENCY.search(line) is not None
        for m in _CURRENCY.finditer(line):
            token = m.group(0)
            code = _SYMBOL_CODE.get(token, token)
            if code == "$":
                code = _DOLLAR_COUNTRY.get(country or "", "USD")
            elif code == "kr":
                code = _KRONA_COUNTRY.get(country or "", "SEK")
            elif code == "JPY" and _chinese(doc):
                code = "CNY"  # "¥" is also the yuan's sign: "（小写）¥13560.00" on a fapiao
            if code not in _ISO and token not in _SYMBOL_CODE:
                continue  # a code that is also a word ("PEN"); its symbol ("S/") counts
            if token == "R" and not _RAND_AMOUNT.match(line[m.end() : m.end() + 20]):
                continue  # a letter, unless an amount with its cents follows: "R 124 142,50"
            if token in _AMBIGUOUS and not (
                _AMOUNT_NEAR.match(line[m.end() : m.end() + 12])
                or _AMOUNT_NEAR.search(line[max(0, m.start() - 2) : m.start()])
            ):
                continue
            symbol = not token[0].isalpha() or token in _NAMED_ANYWHERE
            if not symbol and not _NUMBER.search(line) and not _labelled_currency(doc, index):
                continue
            (aside if other else votes)[code] += 3 if index in weight_lines else 1
            first_line.setdefault(code, index)
    if not votes:
        votes = aside
    if not votes:  # vi: the amount in words names the dong ("Số tiền viết bằng chữ: … đồng")
        for index, line in enumerate(doc.lines):
            if _VND_IN_WORDS.search(line):
                votes["VND"] += 1
                first_line.setdefault("VND", index)
                break
    total = sum(votes.values())
    return [
        Candidate(code, round(0.5 + 0.45 * count / total, 3), first_line[code], "currency", code)
        for code, count in votes.most_common()
    ]
