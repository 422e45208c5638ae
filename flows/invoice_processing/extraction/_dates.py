"""Dates in document text: where they are, what they mean (issue, due, other) and their order.

Regular expressions only find candidate substrings; numeric dates are then read with the
day/month order the whole document votes for (an impossible value such as 25/12 settles
it, a US address or dollar amounts lean to month-first), and dates with month names go to
dateparser, cached, with the languages the month word belongs to.
"""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
from collections.abc import Callable
from functools import lru_cache

import dateparser

from flows.invoice_processing.extraction._candidate import Candidate, Document
from flows.invoice_processing.extraction._money import country_hint

__all__ = ["date_order", "find_dates", "payment_terms_days"]

#: Month names and abbreviations (en, de, fr, es, it, nl, pt, pl, ms, sv, da, nb, fi, cs, is):
#: only to spot candidates.
_MONTH_WORDS: dict[str, str] = {
    "en": (
        "january february march april may june july august september october "
        "november december jan feb mar apr jun jul aug sep sept oct nov dec"
    ),
    "de": (
        "januar jänner februar märz april mai juni juli august september oktober "
        "november dezember jan feb mär mrz apr jun jul aug sep sept okt nov dez"
    ),
    "fr": (
        "janvier février fevrier mars avril mai juin juillet août aout septembre "
        "octobre novembre décembre decembre janv févr fevr avr juil sept déc"
    ),
    "es": (
        "enero febrero marzo abril mayo junio julio agosto septiembre setiembre "
        "octubre noviembre diciembre ene abr ago dic"
    ),
    # Catalan: "9 de maig de 2025"
    "ca": ("gener febrer març abril maig juny juliol agost setembre octubre novembre desembre"),
    "it": (
        "gennaio febbraio marzo aprile maggio giugno luglio agosto settembre "
        "ottobre novembre dicembre gen mag giu lug ago set ott dic"
    ),
    "nl": (
        "januari februari maart april mei juni juli augustus september oktober "
        "november december mrt mei okt"
    ),
    "pt": (
        "janeiro fevereiro março abril maio junho julho agosto setembro outubro "
        "novembro dezembro fev out"
    ),
    "pl": (
        "stycznia lutego marca kwietnia maja czerwca lipca sierpnia września października "
        "listopada grudnia styczeń luty marzec kwiecień maj czerwiec lipiec sierpień "
        "wrzesień październik listopad grudzień sty lut kwi cze lip sie wrz paź lis gru"
    ),
    "ms": (
        "januari februari mac april mei jun julai ogos september oktober november disember ogo dis"
    ),
    "sv": "januari februari mars april maj juni juli augusti september oktober november december",
    "da": "januar februar marts april maj juni juli august september oktober november december",
    "nb": "januar februar mars april mai juni juli august september oktober november desember",
    # Finnish and Czech dates name the month in an inflected form ("5. maaliskuuta 2024",
    # "5. března 2024"); the plain names too
    "fi": (
        "tammikuuta helmikuuta maaliskuuta huhtikuuta toukokuuta kesäkuuta heinäkuuta "
        "elokuuta syyskuuta lokakuuta marraskuuta joulukuuta tammikuu helmikuu maaliskuu "
        "huhtikuu toukokuu kesäkuu heinäkuu elokuu syyskuu lokakuu marraskuu joulukuu"
    ),
    "cs": (
        "ledna února března dubna května června července srpna září října listopadu prosince "
        "leden únor březen duben květen červen červenec srpen říjen listopad prosinec"
    ),
    # Icelandic: "18. nóvember 2026"
    "is": "janúar febrúar mars apríl maí júní júlí ágúst september október nóvember desember",
}
_LANGS_OF: dict[str, list[str]] = {}
for _lang, _words in _MONTH_WORDS.items():
    for _word in _words.split():
        _LANGS_OF.setdefault(_word, []).append(_lang)
_MONTH = "|".join(sorted(map(re.escape, _LANGS_OF), key=len, reverse=True))

_NUMERIC = re.compile(
    r"(?<![\d.,])(?<!\d[/-])(\d{1,4})\s?([./-])\s?(\d{1,2})\s?\2\s?(\d{4}|\d{2})"
    r"(?![\d%]|[.,/-]\d)"
)
_COMPACT = re.compile(r"(?<!\d)((?:19|20)\d\d)(0[1-9]|1[0-2])(0[1-9]|[12]\d|3[01])(?!\d)")
_TEXTUAL = re.compile(
    rf"(?<![\w])(?:(\d{{1,2}})(?:st|nd|rd|th|er|º|°|o|\.)?\s?(?:de\s|[-/])?\s?({_MONTH})\.?"
    rf"(?:\s?(?:de\s|[,/-])?\s?)('?\d{{4}}|'?\d{{2}})"
    rf"|({_MONTH})\.?\s(\d{{1,2}})(?:st|nd|rd|th)?,?\s(\d{{4}}))(?![\w])",
    re.IGNORECASE,
)
_TIME_AFTER = re.compile(r"^\W{0,3}\d{1,2}:\d{2}")
#: Latvian dates, year first: "2026. gada 5. februāris" (the month's name, or its genitive).
_LV_MONTHS = {
    name: number
    for number, names in enumerate(
        (
            "janvāris janvāra janvārī", "februāris februāra februārī", "marts marta martā",
            "aprīlis aprīļa aprīlī", "maijs maija maijā", "jūnijs jūnija jūnijā",
            "jūlijs jūlija jūlijā", "augusts augusta augustā", "septembris septembra septembrī",
            "oktobris oktobra oktobrī", "novembris novembra novembrī",
            "decembris decembra decembrī",
        ),
        start=1,
    )
    for name in names.split()
}  # fmt: skip
_YEAR_FIRST = re.compile(r"(?<!\d)(\d{4})\.\s?gada\s(\d{1,2})\.\s?([^\W\d_]+)", re.IGNORECASE)
#: Lithuanian dates, year first, the month in the genitive: "2025 m. kovo 5 d.".
_LT_MONTHS = {
    name: number
    for number, name in enumerate(
        [
            "sausio",
            "vasario",
            "kovo",
            "balandžio",
            "gegužės",
            "birželio",
            "liepos",
            "rugpjūčio",
            "rugsėjo",
            "spalio",
            "lapkričio",
            "gruodžio",
        ],
        start=1,
    )
}
_LT_DATE = re.compile(r"(?<!\d)(\d{4})\s?m\.\s?([^\W\d_]+)\s(\d{1,2})\s?d\b", re.IGNORECASE)
#: Greek month names, in the genitive a date uses ("12 Μαρτίου 2025") and the nominative,
#: without their accents.
_EL_MONTHS = {
    name: number
    for number, names in enumerate(
        (
            "ιανουαριου ιανουαριος", "φεβρουαριου φεβρουαριος", "μαρτιου μαρτιος",
            "απριλιου απριλιος", "μαιου μαιος", "ιουνιου ιουνιος", "ιουλιου ιουλιος",
            "αυγουστου αυγουστος", "σεπτεμβριου σεπτεμβριος", "οκτωβριου οκτωβριος",
            "νοεμβριου νοεμβριος", "δεκεμβριου δεκεμβριος",
        ),
        start=1,
    )
    for name in names.split()
}  # fmt: skip
_EL_DATE = re.compile(r"(?<!\d)(\d{1,2})\s([\u0370-\u03ff\u1f00-\u1fff]+)\s(\d{4})(?!\d)")


def _unaccented(word: str) -> str:
    """A word case-folded without its accents ("Μαΐου" -> "μαιου")."""
    return "".join(
        ch for ch in unicodedata.normalize("NFD", word.casefold()) if not unicodedata.combining(ch)
    )


#: Dates whose month is a name only their language's table knows: the pattern, the table,
#: how a name is folded to look it up, and the groups of the year, the month and the day.
_MONTH_NAME_DATES: tuple[
    tuple[re.Pattern[str], dict[str, int], Callable[[str], str], tuple[int, int, int]], ...
] = (
    (_YEAR_FIRST, _LV_MONTHS, str.casefold, (1, 3, 2)),
    (_LT_DATE, _LT_MONTHS, str.casefold, (1, 2, 3)),
    (_EL_DATE, _EL_MONTHS, _unaccented, (3, 2, 1)),
)
#: Japanese, Chinese and Korean dates, year first: "2026年3月10日", "2026년 3월 10일".
_CJK_DATE = re.compile(r"(?<!\d)(\d{4})\s?[年년]\s?(\d{1,2})\s?[月월]\s?(\d{1,2})\s?[日일]")
#: Vietnamese dates, day first in words: "Ngày 25 tháng 11 năm 2026" (day 25, month 11,
#: year 2026); a date so written at the top of an invoice is its date of issue.
_VI_DATE = re.compile(r"\bngày\s+(\d{1,2})\s+tháng\s+(\d{1,2})\s+năm\s+(\d{4})\b", re.I)
#: Dates in words around numbers, and the groups of their year, month and day.
_NUMBER_MONTH_DATES: tuple[tuple[re.Pattern[str], tuple[int, int, int]], ...] = (
    (_CJK_DATE, (1, 2, 3)),
    (_VI_DATE, (3, 2, 1)),
)

_DATE_WORD = r"(?:date|datum|fecha|data|dt)"
_PRE = rf"(?:{_DATE_WORD}\s*(?:de\s+(?:la\s+)?|d'|di\s+))?"
_POST = rf"(?:\s*{_DATE_WORD}\b|\s+(?:am|le|on|el|il|op)\b)?"
_DUE = re.compile(
    rf"\b{_PRE}(?:due|payable\s+(?:by|until|on)|pay\s+by|payment\s+date|fällig\w*|"
    r"zahlbar\s+bis|zahlungsziel|zahlungsfrist|échéance|echeance|à\s+payer\s+avant|"
    r"vencimiento|límite\s+de\s+pago|scadenz[ae]|vervaldatum|vervaldag|uiterste\s+betaaldatum|"
    r"te\s+betalen\s+voor|vencimento|termin\s+p[łl]atno[śs]ci|bis\s+(?:zum|spätestens)|spätestens\s+(?:am|bis)|"
    r"payable\s+jusqu'(?:au|à)|jusqu'au|"
    r"no\s+later\s+than|avant\s+le|antes\s+del|entro\s+il|"
    # sv "Förfallodatum", da "Forfaldsdato", no "Forfallsdato", "Betales senest", fi
    # "Eräpäivä", cs "Datum splatnosti"
    r"förfallo\w*|förfaller|forfald\w*|forfall\w*|betales\s+senest|betalas\s+senast|"
    r"eräpäivä\w*|(?:datum\s+)?splatnost\w*|"
    # ca "Venciment", hu "Fizetési határidő", ro "Data scadenței", da "Sidste rettidige
    # betalingsdato"
    r"venciment|fizetési\s+határidő|(?:data\s+)?scaden[tţț]\w*|"
    r"(?:sidste\s+rettidige\s+)?betalingsdato|betalingsfrist|"
    # sl "Rok plačila", hr "dospijeće", bg "padezh", lv "Apmaksas termiņš", lt "Apmokėti
    # iki", is "Gjalddagi", tr "Son ödeme tarihi", "Vade tarihi"
    r"rok\s+pla[čc]ila|dospije[ćc]\w*|padezh|apmaksas\s+termiņš|apmokėti\s+iki|gjalddag\w*|"
    # is "Eindagi" (the last day), bg "Срок за плащане", "Падеж"
    r"eindag\w*|срок\s+за\s+плащане|падеж|"
    # da "Betaling senest", id "Jatuh tempo"
    r"betaling\s+senest|jatuh\s+tempo|"
    r"son\s+ödeme\s+tarihi|vade\s+tarihi|"
    # ar "Fecha de Vto. para el pago"
    r"vto\.?\s+(?:para\s+el\s+)?pago|"
    # et "Maksetähtaeg", lv "Apmaksāt līdz", el "Ημερομηνία λήξης" (expiry: the due date),
    # hu "Fizetési határidő" (above) and "Esedékesség"
    r"maksetähtaeg|apmaksāt\s+līdz|(?:ημερομην[ιί]α\s+)?λ[ηή]ξης|esedékesség\w*|"
    # el "Λήξη πληρωμής", "Προθεσμία πληρωμής" (the payment's term); th "ครบกำหนดชำระ"; vi
    # "Hạn thanh toán"; ko "결제기한", "지급기일"; uk "Оплатити до", "Термін оплати"
    r"λ[ηή]ξη\s+πληρωμ[ηή]ς|προθεσμ[ιί]α\s+πληρωμ[ηή]ς|ครบกำหนดชำระ|hạn\s+thanh\s+toán|"
    r"결제\s?기한|지급\s?기일|оплатити\s+до|термін\s+оплати|"
    # jp "お支払期限", "支払期日", "お振込期限"
    rf"(?:お)?(?:支払い?|振込)(?:期限|期日)){_POST}",
    re.IGNORECASE,
)
_OTHER = re.compile(
    rf"\b{_PRE}(?:deliver\w*|ship\w*|dispatch\w*|order|period|service|"
    r"lieferdatum|liefertermin|lieferung|leistungs\w*|bestell\w*|auftrag\w*|zeitraum|"
    r"livraison|commande|période|periode|entrega|pedido|periodo|consegna|ordine|"
    # fr "Date d'intervention", "Date de prestation" (when the work was done)
    r"intervention|prestation|"
    r"levering|bestel\w*|sprzeda[żz]y|valid\w*|gültig\w*|expir\w*|exp\b|printed|birth|"
    # delivery and supply dates: sv "Leveransdatum", fi "Toimituspvm", cs "Datum (zdanitelného)
    # plnění" and its abbreviation DUZP
    rf"leverans\w*|toimitus\w*|(?:zdaniteln\w+\s+)?plnění|duzp|"
    # hu "Teljesítés dátuma" (the date of supply)
    r"teljesítés\w*|"
    # ar "Fecha de Vto. de CAE" (the electronic authorisation's expiry); uk/ru "Договір" /
    # "Договор" (the contract), "Замовлення" (the order)
    rf"vto\.?\s+de\s+cae|договір\w*|договор\w*|замовлен\w*){_POST}",
    re.IGNORECASE,
)
#: When another document was issued: a permit, licence or certificate the seller prints
#: ("BIR Permit/ATP No. OCN 4AU0001234567, issued 2024-03-11"), not the invoice.
_PERMIT = re.compile(
    r"\b(?:permit|licen[cs]e|certificate|accreditation|ATP|authority\s+to\s+print)\b"
    r"[^\n]{0,60}?\b(?:issued|date\s+(?:of\s+)?issued?|valid\w*)(?:\s+(?:on|date))?\b",
    re.IGNORECASE,
)
_ISSUE = re.compile(
    r"\b(?:invoice\s+date|date\s+of\s+(?:issue|invoice)|issue(?:d)?(?:\s+(?:date|on))?|"
    r"bill(?:ing)?\s+date|rechnungsdatum|ausstellungsdatum|belegdatum|datum|"
    # bg "Дата на издаване" (date of issue), is "Dagsetning", "Útgáfudagur"
    r"дата\s+на\s+издаване|dagsetning|útgáfudag\w*|"
    r"date\s+de\s+(?:la\s+)?factur\w*|date\s+d'émission|fecha(?:\s+de\s+(?:la\s+)?"
    r"(?:factura|emisión|emision|expedición))?|data(?:\s+(?:fattura|di\s+emissione|"
    r"documento))?|factuurdatum|tarikh|date|dated|dt|data\s+wystawienia|"
    r"data\s+d[ae]\s+(?:emiss[ãa]o|fatura)|datum\s+van\s+uitgifte|dia\s+de\s+emiss[ãa]o|"
    # sv "Fakturadatum", da/no "Fakturadato", "Dato", fi "Laskun päivämäärä", "Laskun pvm",
    # cs "Datum vystavení"
    r"fakturadat(?:um|o)|dato|(?:laskun\s+)?(?:päivämäärä|päiväys|pvm)|datum\s+vystavení|"
    # el "Ημερομηνία" (έκδοσης), jp "請求日", "発行日"
    r"ημερομην[ιί]α(?:\s+[εέ]κδοσης)?|(?:請求|発行)(?:年月)?日|"
    # lv "Datums", et "Kuupäev", hu "Számla kelte", "Kiállítás dátuma" (date of issue)
    r"datums|kuupäev|(?:számla\s+)?kelte|kiállítás\s+dátuma|"
    # th "วันที่" (date), ko "작성일자" (the date written), "발행일(자)" (date of issue)
    r"วันที่|작성\s?일자|발행\s?일자?)\b",
    re.IGNORECASE,
)
#: A letter's place and date, the date of issue: "Lyon, le 22 mars 2024", "Dresden, den
#: 05.03.2026", "Milano, lì 5 marzo 2026", "Warszawa, dnia 12.04.2024", "Porto, 6 de maio".
_PLACE_DATE = re.compile(
    r"^\W*(?!(?:mon|tues|wednes|thurs|fri|satur|sun)day\b|(?:montag|dienstag|mittwoch|"
    r"donnerstag|freitag|samstag|sonntag|lundi|mardi|mercredi|jeudi|vendredi|samedi|"
    r"dimanche|lunes|martes|miércoles|jueves|viernes|sábado|domingo|lunedì|martedì|"
    r"mercoledì|giovedì|venerdì|sabato|maandag|dinsdag|woensdag|donderdag|vrijdag|zaterdag|"
    r"zondag)\b)[^\W\d_][^\W\d_' .-]{1,30},\s*(?:(?:le|den|am|a|lì|li|dnia|em|el|the)\s+)?$",
    re.IGNORECASE,
)
#: "Rechnung Nr. 17 vom 05.03.2026", "Facture n° 12 du ...": dated by what it follows.
_WEAK = re.compile(r"(?:\b|(?<=\d))(?:vom|du|del|dated|van|z\s+dnia|de)\s*$", re.IGNORECASE)
_DOCUMENT = re.compile(
    r"\b(?:invoice|\w*rechnung|gutschrift|facture|avoir|factura|fattura|factuur|faktura|fatura|"
    r"receipt|beleg|bill|рахун\w*|сч[её]т\w*|фактур\w*)\b",
    re.IGNORECASE,
)
#: Words that make a document named before a date another one: "Rechnung gemäß Vertrag
#: vom ...", "facture selon devis du ...", "invoice as per order of ...".
_REFERENCE = re.compile(
    r"\b(?:gemäß|gem\.|laut|lt\.|zu|bezüglich|aus|according|per|selon|suivant|conform\w*|"
    r"según|secondo|volgens|zgodnie|conforme|related|liée|ref\w*|original\w*)\b",
    re.IGNORECASE,
)
#: Words for days: en, de, fr, es/pt, it ("gg"), nl, pl/cs, sv, da, no, fi ("pv"), ro, ms.
_DAYS = (
    r"(?:days|day|tagen|tage|jours|días|dias|giorni|gg|dagen|dni|dní|dnů|dagar|dage|dager|"
    r"päivää|pv|zile|hari|dies|dana|gün)"
)
_TERMS = re.compile(
    r"(?:net(?:to)?|within|innerhalb(?:\s+von)?|innert|binnen|sous|dans\s+un\s+délai\s+de|à|a|en|"
    r"dentro\s+de|entro|plazo\s+de|inom|inden\s+for|innen)\s+(\d{1,3})\s*" + _DAYS + r"\b"
    r"|\bnet\s?(\d{1,3})\b(?![.,]\d)",
    re.IGNORECASE,
)
#: The same said another way: after a terms label ("Payment terms: 30 days", "Mode/Terms of
#: Payment : 45 Days", "Zahlungsziel: 14 Tage"), "30 jours net", "14 dager netto", or days
#: counted from the invoice ("30 dagen na factuurdatum", "60 gg d.f.").
_TERMS_MORE = re.compile(
    r"(?:\bterms?|conditions?\s+de\s+(?:paiement|règlement)|zahlungs(?:bedingungen|ziel)|"
    r"condici[oó]n(?:es)?\s+de\s+pago|termini\s+di\s+pagamento|betalingstermijn|betalingsvoorwaarden|"
    r"termin\s+płatności|condições\s+de\s+pagamento|échéance|termen\s+de\s+plat[ăa]|"
    r"betalingsbetingelser|betalningsvillkor|maksuehto|splatnost|betaaltermijn|"
    # pl "przelew 14 dni", bg "srok 10 dni", hr "Rok plaćanja", tr "Vade 60 gün", "Payment:
    # credit 30 days"
    r"przelew|srok|rok\s+pla[ćc]anja|vade|payment)"
    r"\W{1,4}(?:[^\W\d_]+\W{1,4}){0,2}?(\d{1,3})\s*" + _DAYS + r"\b"
    r"|\b(\d{1,3})\s*" + _DAYS + r"\s+(?:net(?:to)?|netos?|netti)\b"
    r"|\b(\d{1,3})\s*" + _DAYS + r"\s+(?:(?:after|from|na|nach|ab|après|dalla|desde|após|od|"
    r"efter|fra|från|de\s+la)\s+(?:the\s+|de\s+|la\s+)?(?:date\s+of\s+)?(?:invoice|factuur\w*|"
    r"rechnung\w*|facture|fattura|factura|fatura|faktur\w*|data|date|datum\w*)|d\.\s?f\.?|df|"
    # it "30 gg data fattura", "60 gg fine mese"
    r"data\s+fattura|f\.?\s?m\.?|fine\s+mese)",
    re.IGNORECASE,
)
#: A discount for early payment after its days ("8 Tagen abzüglich 2 % Skonto").
_CASH_DISCOUNT = re.compile(
    r"\b(?:abzüglich|abzgl|skonto|discount|escompte|sconto|descuento|desconto|korting|"
    r"rabat\w*|less\s+\d)",
    re.IGNORECASE,
)
#: A discount for early payment named before its days: "1.5% discount if paid within 7 days",
#: "2 % Skonto bei Zahlung innerhalb von 8 Tagen".
_DISCOUNT_BEFORE = re.compile(
    r"(?:discount|skonto|escompte|sconto|descuento|desconto|korting|rabat\w*|early\s+settlement)"
    r"[^.;,]{0,30}$",
    re.IGNORECASE,
)
#: What else is promised within some days: a return, a delivery.
_NOT_PAYMENT = re.compile(
    r"\b(?:returns?|returned|delivery|delivered|shipping|shipped|dispatch\w*|exchanges?|"
    r"refunds?|lieferung|geliefert|rücksendung|retour\w*|livraison|livré|devoluci\w+|"
    r"entrega|reso|consegna|levering|"
    # complaints accepted within some days: "Reklamationen innerhalb von 8 Tagen"
    r"reklamation\w*|reklamacij\w*|réclamations?|reclamaci\w+|reclami|complaints?|claims?)"
    r"\b(?:\s+[^\W\d_]+){0,3}\s*$",
    re.IGNORECASE,
)
#: Month-first cues; a dollar sign only alone ("R$ 2.950,00" is Brazilian, "A$" Australian).
_US_HINTS = re.compile(
    r"\b(?:[A-Z]{2}\s\d{5}(?:-\d{4})?|USD|US\$|sales\s+tax|EIN|zip)\b|(?<![A-Za-z])\$\s?\d"
)


def _year(raw: str) -> int:
    value = int(raw.lstrip("'"))
    if value < 100:
        return 2000 + value if value < 70 else 1900 + value
    return value


def _plausible(day: dt.date) -> bool:
    return 1990 <= day.year <= dt.date.today().year + 5


def _make(year: int, month: int, day: int) -> dt.date | None:
    if 2400 < year < 2700:  # the Thai solar calendar's Buddhist era: 2569 is 2026
        year -= 543
    try:
        value = dt.date(year, month, day)
    except ValueError:
        return None
    return value if _plausible(value) else None


def date_order(doc: Document) -> str:
    """ "DMY" or "MDY" for the ambiguous numeric dates of this document.

    Unambiguous dates vote (13/02 can only be day-first); with no vote, US hints
    (a state and ZIP code, dollar amounts, sales tax) choose month-first, else day-first,
    which most of the world writes.
    """

    return _vote(doc)[0]


#: A currency or tax number of another country than the United States.
_OTHER_MONEY = re.compile(r"\b(?:AED|EUR|GBP|CHF|SAR|QAR|INR|SGD|AUD|CAD|NZD|MXN|TRN)\b")


def _vote(doc: Document) -> tuple[str, bool]:
    """The document's date order, and whether an unambiguous date settled it."""

    def vote() -> tuple[str, bool]:
        dmy = mdy = 0
        for line in doc.lines:
            for m in _NUMERIC.finditer(line):
                a, sep, b = int(m.group(1)), m.group(2), int(m.group(3))
                if len(m.group(1)) == 4:
                    continue
                if sep == "." or (a > 12 >= b):
                    dmy += 1
                elif b > 12 >= a:
                    mdy += 1
        if dmy != mdy:
            return ("DMY" if dmy > mdy else "MDY"), True
        text = "\n".join(doc.lines[:200])
        hints = _US_HINTS.findall(text)
        if _OTHER_MONEY.search(text):  # "USD equivalent" on an invoice in dirhams
            hints = [h for h in hints if h != "USD"]
        if country_hint(doc) is not None:  # "$" is also the peso's, the Australian dollar's...
            hints = [h for h in hints if not h.startswith("$")]
        if len(hints) >= 2 and "€" not in text and "£" not in text:
            return "MDY", False
        return "DMY", False

    return doc.memo("date_order", vote)


def _numeric(m: re.Match[str], order: str) -> tuple[dt.date | None, bool]:
    """The date and whether its day/month order was a guess."""
    a, b, c = m.group(1), m.group(3), m.group(4)
    if len(a) == 4:
        return _make(int(a), int(b), int(c)), False
    if len(a) == 3:
        return None, False
    x, y, year = int(a), int(b), _year(c)
    if x > 12 or y > 12:
        return (_make(year, y, x) if x > 12 else _make(year, x, y)), False
    # Dotted dates (14.03.2026) are day-first wherever they are written.
    guessed = x != y and m.group(2) != "."
    if m.group(2) == ".":
        return _make(year, y, x), False
    if order == "MDY":
        return _make(year, x, y), guessed
    return _make(year, y, x), guessed


@lru_cache(maxsize=4096)
def _parse_textual(snippet: str, languages: tuple[str, ...]) -> dt.date | None:
    settings = {"STRICT_PARSING": True, "PREFER_DAY_OF_MONTH": "first", "DATE_ORDER": "DMY"}
    try:
        parsed = dateparser.parse(snippet, languages=list(languages), settings=settings)
    except Exception:
        return None
    if parsed is None:
        return None
    value = parsed.date()
    return value if _plausible(value) else None


#: A UK VAT invoice's "Tax Point" (the date of supply): its issue date only where no other
#: label names one, so less sure than "Invoice Date" (more than a guessed day/month order).
_TAX_POINT = re.compile(r"\btax\s+point\b", re.IGNORECASE)


def _label(doc: Document, index: int, start: int, nth: int) -> tuple[str | None, float]:
    kind, sure = _labelled(doc, index, start, nth)
    return ("issue", sure - 0.25) if kind == "supply" else (kind, sure)


def _labelled(doc: Document, index: int, start: int, nth: int) -> tuple[str | None, float]:
    """The kind of date a label before it says ("issue", "due", "other"), and how sure.

    On the same line the nearest label counts; in a header row above, the n-th label
    names the n-th date of the row below.
    """
    before = doc.lines[index][max(0, start - 64) : start]
    weak = _WEAK.search(before)
    if weak:
        kinds = _kinds(before[: weak.start()][-48:])
        if kinds:
            return kinds[-1], 0.9
        return _document_date(before)
    kinds = _kinds(before[-48:])
    if kinds:
        return kinds[-1], 1.0
    if (titled := _document_date(before))[0] is not None:
        return titled
    if _PLACE_DATE.match(doc.lines[index][:start]):
        return "issue", 0.85
    above = doc.lines[index - 1] if index > 0 and not before.strip() else ""
    weak = _WEAK.search(above)
    if weak and not _kinds(above[: weak.start()][-48:]) and _document_date(above)[0]:
        return "issue", 0.75
    kinds = _kinds(_previous_label(doc, index))
    if kinds:
        return kinds[min(nth, len(kinds) - 1)], 0.85
    return None, 0.0


def _document_date(before: str) -> tuple[str | None, float]:
    """A date right after the document's own title ("Handelsrechnung (380) 05.03.2018",
    "Facture n° 12 du ...") is its issue date; after another document's, it is not."""
    if _DOCUMENT.search(before) is None or _REFERENCE.search(before):
        return None, 0.0
    return "issue", 0.8


def _kinds(text: str) -> list[str]:
    """Date labels in reading order: a header row may hold several ("Date  Due date")."""
    found: list[tuple[int, str]] = []
    taken: list[range] = []
    for kind, pattern in (
        ("due", _DUE),
        ("other", _PERMIT),
        ("other", _OTHER),
        ("supply", _TAX_POINT),
        ("issue", _ISSUE),
    ):
        for m in pattern.finditer(text):
            if any(m.start() in span or m.end() - 1 in span for span in taken):
                continue
            found.append((m.start(), kind))
            taken.append(range(m.start(), m.end()))
    return [kind for _, kind in sorted(found)]


def _previous_label(doc: Document, index: int) -> str:
    """The line above when it is a label row (no date of its own, short or label-only)."""
    if index == 0:
        return ""
    above = doc.lines[index - 1]
    if _NUMERIC.search(above) or _TEXTUAL.search(above) or len(above) > 80:
        return ""
    return above


def find_dates(doc: Document) -> list[Candidate[dt.date]]:
    """Every date in the document, labelled "issue", "due", "other" or None (no label)."""

    def build() -> list[Candidate[dt.date]]:
        order, voted = _vote(doc)
        found: list[Candidate[dt.date]] = []
        for index, line in enumerate(doc.lines):
            if not any(ch.isdigit() for ch in line):
                continue
            hits: list[tuple[int, int, dt.date, bool]] = []
            for m in _NUMERIC.finditer(line):
                value, guessed = _numeric(m, order)
                if value is not None:
                    hits.append((m.start(), m.end(), value, guessed))
            for m in _TEXTUAL.finditer(line):
                word = (m.group(2) or m.group(4) or "").casefold()
                langs = tuple(_LANGS_OF.get(word, ["en"]))
                value = _parse_textual(m.group(0).replace("'", ""), langs)
                if value is not None and not any(h[0] <= m.start() < h[1] for h in hits):
                    hits.append((m.start(), m.end(), value, False))
            for pattern, months, fold, (y, mo, d) in _MONTH_NAME_DATES:
                for m in pattern.finditer(line):
                    month = months.get(fold(m.group(mo)))
                    value = _make(int(m.group(y)), month, int(m.group(d))) if month else None
                    if value is not None and _plausible(value):
                        hits.append((m.start(), m.end(), value, False))
            for pattern, (y, mo, d) in _NUMBER_MONTH_DATES:
                for m in pattern.finditer(line):
                    value = _make(int(m.group(y)), int(m.group(mo)), int(m.group(d)))
                    if value is not None:  # (`_make` keeps only plausible dates)
                        hits.append((m.start(), m.end(), value, False))
            if not hits:
                for m in _COMPACT.finditer(line):
                    value = _make(int(m.group(1)), int(m.group(2)), int(m.group(3)))
                    if value is not None:
                        hits.append((m.start(), m.end(), value, True))
            hits.sort(key=lambda h: h[0])
            for nth, (start, end, value, guessed) in enumerate(hits):
                kind, strength = _label(doc, index, start, nth)
                confidence = 0.5 + (0.4 * strength if kind in ("issue", "due") else 0.0)
                confidence -= (0.05 if voted else 0.15) if guessed else 0.0
                confidence -= 0.2 if kind == "other" else 0.0
                if _TIME_AFTER.match(line[end:]):
                    confidence += 0.1
                note = f"day/month order guessed for {line[start:end]!r}" if guessed else ""
                found.append(
                    Candidate(
                        value, round(min(confidence, 0.97), 3), index, kind, line[start:end], note
                    )
                )
        return found

    return doc.memo("dates", build)


def payment_terms_days(doc: Document) -> int | None:
    """Days to pay stated in words ("net 30", "zahlbar innerhalb von 14 Tagen", "Payment
    terms: 30 days", "30 jours net")."""
    for pattern in (_TERMS, _TERMS_MORE):
        for line in doc.lines:
            for m in pattern.finditer(line):
                if _NOT_PAYMENT.search(line[: m.start()][-40:]):
                    continue  # "Returns accepted within 30 days", "Delivery within 3 days"
                if _CASH_DISCOUNT.search(line[m.end() :][:40]) or _DISCOUNT_BEFORE.search(
                    line[: m.start()][-40:]
                ):
                    continue  # "8 Tagen abzüglich 2 % Skonto": the discount's days
                days = next(g for g in m.groups() if g)
                if 0 < int(days) <= 180:
                    return int(days)
    return None
