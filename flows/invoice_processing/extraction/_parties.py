"""Who issued the document (the vendor) and where, told apart from who it is addressed to.

The buyer's block is found first by its labels ("Bill to", "Rechnungsempfänger",
"Facturé à", "Cliente", "Sold to") so that nothing in it is taken for the vendor. Vendor
names are then scored: a legal-form suffix (GmbH, S.A., Ltd, SDN BHD, Enterprise...), a
place near the top, a label ("From", "Lieferant"), a tax id or address just below, and
the document's own web or mail domain all count; titles, addresses and labels do not.
"""

from __future__ import annotations

import re

from rapidfuzz import fuzz

from flows.invoice_processing.extraction._candidate import Candidate, Document

__all__ = [
    "attention_line",
    "buyer_lines",
    "find_vendor_address",
    "find_vendor_names",
    "ordinary_case",
]

_I = re.IGNORECASE
_BUYER = re.compile(
    # "To:" and its Nordic and Dutch twins ("Til:", "Aan:", Swedish "Kund:") only as the
    # line's first word and with a colon: they are ordinary words elsewhere. An Indian GST
    # copy's "(ORIGINAL FOR RECIPIENT)" names which copy this is, not the buyer.
    r"^(?:to|til|aan|kund)\s*:\s*|^an\s*:?\s*$|"
    # a person's attention ("Att.: Bogholderiet", Dutch "t.a.v. crediteuren") and "care of"
    r"^att\.?\s*:|^t\.\s?a\.\s?v\.?\s|^c/o\s|"
    r"\b(?:bill(?:ed)?\s+to|invoice(?:d)?\s+to|sold\s+to|ship(?:ped)?\s+to|deliver(?:y|ed)?\s+to|"
    r"^to:|customer|client|buyer|(?<!for\s)recipient|(?<!for\s)consignee|attn|attention|rechnungsempfänger|"
    r"rechnungsadresse|kunde|empfänger|lieferadresse|lieferanschrift|factur(?:é|e|er)\s+à|"
    r"adresse\s+de\s+(?:facturation|livraison)|destinataire|cliente|facturar\s+a|"
    r"datos\s+del\s+cliente|destinat[aá]rio|tomador|spett(?:\.le|abile)|klant|factuur\s+aan|afnemer|"
    r"geleverd\s+aan|käufer|leistungsempfänger|acheteur|comprador|acquirente|committente|"
    r"adquirente|koper|nabywca|odbiorca|"
    # da "Modtager", no "Fakturamottaker", sv "Faktureras till", "Fakturaadress", fi
    # "Asiakas", "Ostaja", "Laskutusosoite", cs "Odběratel", nl "Factuuradres", "Debiteur"
    r"modtager|fakturamottaker|faktureras\s+till|fakturaadress|asiakas|ostaja|laskutusosoite|"
    r"odběratel|odberateľ|factuuradres|debiteur|"
    # et "Ostja" (buyer), "Maksja" (payer), "Saaja" (recipient)
    r"ostja|maksja|saaja|"
    # bg "Получател" (the recipient); the buyer in sl/hr/sr, ro, hu, lt, lv, el
    r"получател|购买方(?:信息)?|kupec|kupac|kupujący|cump[ăa]r[ăa]tor|vev[őo]|pirk[ėe]jas|pirc[ēe]js|"
    r"αγοραστ[ήη]ς|"
    # it "Intestatario" (the account holder of a utility bill), us "Service for"
    r"intestatario|service\s+for)\b"
    r"(?!\s*(?:no|nr|nro|number|nummer|numero|id|n°|#|code|ref)\b)\.?\s*:?\s*",
    _I,
)
_VENDOR_LABEL = re.compile(
    r"^\s*(?:(?:fra|von|från)(?=\s*:)|from|seller|vendor|supplier|issued\s+by|sold\s+by|bill\s+from|lieferant|"
    r"verkäufer|absender|rechnungssteller|fournisseur|émetteur|vendeur|proveedor|emisor|"
    r"vendedor|fornitore|cedente|leverancier|verkoper|afzender|dodavatel|dodávateľ|"
    # the account holder the payment goes to: ch "lautend auf", "Kontoinhaber", "Payee"
    r"lautend\s+auf|zugunsten\s+von|kontoinhaber(?:in)?|account\s+holder|payee|"
    r"b[ée]n[ée]ficiaire|beneficiary(?!\s+bank)|"
    # bg "Доставчик" (the supplier); uk "Постачальник"; vi "Đơn vị bán hàng" (the selling unit),
    # "Người bán"; th "ผู้ขาย"
    r"доставчик|постачальник|поставщик|đơn\s+vị\s+bán(?:\s+hàng)?|người\s+bán(?:\s+hàng)?"
    r"|ผู้ขาย)\b\s*:?\s*",
    _I,
)
#: A labelled detail of the party a block describes ("Name:", "Kundennummer:", "Tel.:",
#: "USt-IdNr.:"): such a line belongs to the block; any other "label:" line ends it.
_PARTY_DETAIL = re.compile(
    # the label may open with its "number" word: "N° TVA :", "Nr. USt-IdNr.:", "Número NIF:"
    r"^\W*(?:(?:n[°º]|no\.|nr\.|num[ée]ro|número)\s*(?:de\s+)?)?"
    r"(?:name|firma|company|nom|nombre|nome|naam|nazwa|anschrift|adresse?|address|"
    r"indirizzo|direcci[oó]n|morada|adres|(?:kunden|customer|client|debitor|klant)"
    r"[\s.-]*(?:nummer|nr|no|number|id|code)|nummer|number|tel(?:efon|ephone)?|phone|fax|"
    r"e-?mail|contact|kontakt|ansprechpartner|attn|gln|vat|tva|btw|iva|mwst|ust|gst|gstin|"
    r"uid|tin|nif|cif|nip|p\.?\s?iva|ust-?id\w*|umsatzsteuer-?id\w*|steuernummer|st\.?-?nr|"
    r"partita\s+iva|codice\s+fiscale|"
    # company ids: cs "IČO", "DIČ", fi "Y-tunnus", sv/no "Org.nr", dk "CVR", nl "KvK"
    r"ičo|dič|y-tunnus|org\.?\s?nr|cvr|kvk)\b[^:\n]{0,25}:",
    _I,
)
#: A postcode and a town, alone on a line ("DE 69876 Frankfurt", "75011 Paris"; a text
#: layer may space the digits: "DE 6 9876").
_POSTCODE_LINE = re.compile(
    r"^\W*(?:[A-Z]{1,2}[- ]?)?\d(?:\s?\d){3,5}(?:-\d{3,4})?\s+[^\W\d_][^\d:]{0,40}$"
)
#: A window envelope's return line: the sender's name, street and town on one line, set
#: apart by dots or bars ("Firma GmbH · Gewerbering 7 · 91126 Schwabach").
_RETURN_LINE = re.compile(
    r"^[^·•●|:]{3,60}(?:\s[·•●|]\s[^·•●|:]{2,60}){1,3}\s[·•●|]\s(?:[A-Z]{1,2}[- ]?)?\d{4,5}\s+"
    r"[^\W\d_][^·•●|:\d]{1,40}$"
)
#: A street and a house number, alone on a line ("Kundenstraße 15", "12 Oak Street").
_STREET_LINE = re.compile(
    r"^\W*(?:[^\W\d_][^\d:]{1,40}\s\d{1,5}\s?[a-zA-Z]?|\d{1,5}[a-zA-Z]?,?\s+[^\W\d_][^\d:]{1,40})$"
)
#: A section heading for the issuer, alone on its line ("Verkäufer", "Seller:", "Vendeur").
_VENDOR_HEADING = re.compile(
    r"^\W*(?:from|seller|vendor|supplier|issuer|issued\s+by|sold\s+by|bill\s+from|lieferant|"
    r"verkäufer|absender|rechnungssteller|leistungserbringer|fournisseur|émetteur|vendeur|"
    r"prestataire|proveedor|emisor|vendedor|prestador|fornecedor|fornitore|cedente|"
    r"prestatore|venditore|leverancier|verkoper|afzender|sprzedawca|dostawca|wystawca|"
    r"dodavatel|dodávateľ|доставчик|постачальник|поставщик|销售方(?:信息)?|"
    # ko "공급자" (the supplier), th "ผู้ขาย"
    r"공급자|ผู้ขาย|"
    # the seller in hu, sl, hr, cs/sk, ro, lt, lv, el, pt, fi and the Scandinavian languages
    r"elad[óo]|prodajalec|prodavatelj|prodávající|predávajúci|furnizor|pardav[ėe]jas|"
    r"p[āa]rdev[ēe]js|πωλητ[ήη]ς|εκδ[όο]της|emitente|myyj[äa]|s[äa]ljare|s[æa]lger|selger)"
    r"(?:\s*/\s*[^\W\d_]+)?\W*$",
    _I,
)


def party_heading(text: str) -> str | None:
    """ "seller" or "buyer" for a cell that only heads a party's block ("Émetteur",
    "Nabywca:", "Bill To"), else None."""
    if _VENDOR_HEADING.match(text):
        return "seller"
    m = _BUYER.search(text)
    if (
        m is not None
        and m.start() == len(text) - len(text.lstrip())
        and not text[m.end() :].strip()
    ):
        return "buyer"
    return None


#: A field label for a party's name ("Name:", "Raison sociale :", "Nazwa:").
_NAME_LABEL = re.compile(
    r"^\s*(?:name|company(?:\s+name)?|firma|firmenname|nom|raison\s+sociale|"
    r"d[ée]nomination|nombre|raz[oó]n\s+social|nome|ragione\s+sociale|denominazione|naam|"
    r"bedrijfsnaam|nazwa|nazwa\s+firmy|designa[çc][ãa]o\s+social|名称|"
    # ko "상호" (the trade name), vi "Tên đơn vị" (the company's name)
    r"상호|tên\s+đơn\s+vị)\s*[:：]\s*",
    _I,
)
_FIELD_LINE = re.compile(r"^[^\W\d_][^:]{0,30}:")
_SUFFIX_WORDS = (
    "gmbh ag kg ohg ug e.k. mbh sarl sas sa s.a. s.a.s. s.a.r.l. s.l. sl s.r.l. srl spa s.p.a. "
    "ltd ltd. limited llc l.l.c. inc inc. corp corp. co. company plc llp lp bv b.v. nv n.v. "
    "vof ab oy oyj as asa a/s aps oü sia uab kft s.r.o. a.s. d.o.o. lda sprl bvba sp. z o.o. "
    "dac clg s.a.e. sae zrt. zrt nyrt. nyrt "
    "bhd berhad sdn s/b pte pty pvt gbr ev e.v. kgaa se sàrl s.à r.l. k.k. şti. şti a.ş. "
    "i.k.e. e.p.e. eood ood ead еоод оод еад ад ehf ehf. hf hf. slf slf. α.ε. ε.π.ε. ο.ε. "
    "tbk тов "
    "enterprise enterprises trading traders store stores mart shop restaurant restoran cafe "
    "bakery hardware services solutions industries group holdings stationery pharmacy "
    "supermarket minimarket market pasaraya kedai perniagaan syarikat"
)
_SUFFIXES = frozenset(_SUFFIX_WORDS.split())
_STRONG_SUFFIX = re.compile(
    r"\b(?:ltd\.?\s*şti\.?|gmbh|ag|kg|mbh|sarl|sas|s\.a\.s\.?|s\.a\.e\.?|zrt\.?|nyrt\.?|s\.a\.?|s\.l\.?|s\.r\.l\.?|s\.p\.a\.?|ltd\.?|"
    r"limited|llc|dac|clg|"
    r"inc\.?|corp\.?|plc|llp|b\.v\.?|n\.v\.?|bhd|berhad|sdn|s/b|pte|pty|a/s|aps|oy|oyj|ab|"
    r"oü|sia|uab|kft|s\.r\.o\.?|a\.s\.?|d\.o\.o\.?|lda|sprl|bvba|srl|spa|ohg|ug|e\.k\.?|pvt|"
    r"sp\.?\s*z\s*o\.?\s*o\.?|sp\.?\s*[jk]\.?|a\.\s?g\.|"
    # Swiss and Luxembourg "Sàrl", "S.à r.l."; Japanese "K.K."; Turkish "Ltd. Şti.", "A.Ş.";
    # Greek "I.K.E.", "E.P.E."; Bulgarian "EOOD", "OOD", "EAD"
    r"s[àa]rl|s\.\s?[àa]\.?\s?r\.\s?l\.?|k\.k\.|a\.\s?ş\.?|"
    r"i\.k\.e\.?|e\.p\.e\.?|eood|ood|ead|"
    # the same in Cyrillic: "ЕООД", "ООД", "ЕАД", "АД"
    r"еоод|оод|еад|ад|"
    # Austrian sole trader "e.U."; Norwegian "AS", "ASA" only in capitals ("as" is a word)
    r"e\.\s?u\.|(?-i:AS|ASA)|"
    # Icelandic "ehf.", "hf.", "slf."; Greek in Greek letters "Α.Ε.", "Ε.Π.Ε.", "Ο.Ε.",
    # "Ι.Κ.Ε."; Indonesian "Tbk"; Ukrainian "ТОВ" (before the name)
    r"ehf\.?|hf\.?|slf\.?|α\.\s?ε\.?|ε\.π\.ε\.?|ο\.ε\.?|ι\.κ\.ε\.?|tbk|тов)(?=\W|$)"
    # Thai "จำกัด" (limited)
    r"|จำกัด"
    # Japanese "株式会社" (before or after the name), "有限会社", "合同会社", "(株)"
    r"|株式会社|有限会社|合同会社|[(（]株[)）]",
    _I,
)


def ends_with_legal_form(text: str) -> bool:
    """Whether `text` closes with a company's legal form ("Dupont & Fils SAS")."""
    forms = list(_STRONG_SUFFIX.finditer(text))
    return bool(forms) and not text[forms[-1].end() :].strip(" .:")


_TITLE = re.compile(
    r"^\W*(?:(?:tax|simplified|official|cash|sales|proforma|pro-forma|commercial)\s+)*"
    r"(?:invoice|receipt|bill|rechnung|facture|factura|fattura|factuur|quittung|beleg|"
    r"credit\s+note|gutschrift|avoir|quotation|quote|angebot|devis|statement|order|faktura|"
    r"lasku|számla|fatura|račun|τιμολ[οό]γιο(?:\s+[^\W\d_]+){0,3}|請求書|"
    r"delivery\s+note|lieferschein|guest\s+check|cash\s+bill)\b\W*(?:copy|original)?\W*$",
    _I,
)
_NOT_NAME = re.compile(
    # a letter's greeting ("Hej Mette,", "Guten Tag Frau Keller", "Dear Ms Patel")
    r"^\W*(?:hi|hello|hey|hej|hei|hallo|dear|liebe[rs]?|sehr\s+geehrte\w*|guten\s+(?:tag|morgen)|"
    r"gr[üu]ezi|bonjour|buongiorno|gentile|buenos\s+d[ií]as|hola|ol[áa]|bom\s+dia|beste|geachte|"
    r"dzie[ńn]\s+dobry|szanown\w+|kære|bästa|hyvä)\b|"
    r"@|www\.|https?:|\b(?:tel|telefon|phone|fax|mobile|hp|e-?mail|iban|bic|swift|gst|vat|"
    r"tva|ust|mwst|btw|p\.?\s?iva|iva|reg|co\.?\s*reg|company\s+no|cif|nif|siret|siren|steuernummer|"
    r"st\.?-?nr|uid|invoice|rechnung|facture|factura|fattura|factuur|number|nummer|numéro|"
    r"número|numero|date|datum|fecha|cashier|thank|welcome|terima|"
    r"please|receipt|table|member|operator|server|qty|quantity|description|amount|"
    # payment terms ("Zahlbar innert 30 Tagen", "Payable within 14 days")
    r"zahlbar|payable|betalbar|pagabile|pagadero|routing)\b|"
    # jp: a label ("請求書番号", "番号"), or the addressee ("御中", "様"); cn "发票" (invoice)
    r"番号|請求|御中|様\s*$|发票|"
    # a page number ("Page 1 of 2"), not a word of a name ("Livraria Página Aberta")
    r"\b(?:page|seite|p[áa]gina|strona)\s*\d|"
    # a legal notice ("SARL au capital de 8 000 €", "Stammkapital 25.000 EUR")
    r"\b(?:au\s+capital\s+de|capital\s+social|stammkapital|share\s+capital|capitale\s+sociale)\b|"
    # a title spaced out letter by letter ("Ф А К Т У Р А", "I N V O I C E"), a copy's mark
    r"^\W*(?:[^\W\d_]\s){3,}[^\W\d_]\W*$|^\W*(?:оригинал|копие|original|copy|duplicate)\W*$|"
    # vi "Hóa đơn giá trị gia tăng" (a VAT invoice: the title)
    r"\bhóa\s+đơn\b",
    _I,
)
#: A title set beside the name by a two-column letterhead ("Acme Ltd   INVOICE").
_TITLE_TAIL = re.compile(
    r"\s+(?:tax\s+)?(?:invoice|rechnung|facture|factura|fattura|factuur|receipt|faktura|lasku)\s*$",
    _I,
)
_ADDRESS = re.compile(
    r"\b(?:jalan|jln|street|st\.|road|rd\.?|avenue|ave|lane|blvd|drive|way|straße|strasse|"
    r"str\.|weg|platz|gasse|allee|rue|avenue|boulevard|chemin|calle|avda|avenida|plaza|via|"
    r"viale|piazza|corso|straat|laan|plein|gracht|kade|gatan|vägen|gade|vej|katu|tie|mnt|"
    r"tänav|iela|ulica|ul\.|utca|lot|no\.|taman|kawasan|floor|suite|unit|carrer|"
    r"p\.?o\.?\s*box|postfach)\b|"
    # Spanish "C/ Mayor 5" (calle), not "c/o" (care of)
    r"(?<![\w/])c/\s?(?!o\b)[^\W\d_]|"
    # a street name compounded with its street word, then the house number ("Industrigatan
    # 14", "Vesterbrogade 77", "Savilahdenkatu 18", "Oudegracht 140", "Hauptstraße 5")
    r"\b[^\W\d_]{2,}(?:gatan|vägen|gade|vej|veien|katu|tie|gracht|straat|weg|straße|strasse)"
    r"\s\d{1,4}\b|\b\d{4,5}\s+[A-ZÄÖÜ][a-zäöüß]+|\b\d{5}\b|"
    r"\b\d{4}\s?[A-Z]{2}\b|\b[A-Z]{1,2}\d[A-Z\d]?\s\d[A-Z]{2}\b",
    _I,
)
#: Postcodes a company name never holds: "80331 München", "1234 AB", "BA1 2QT", "CA 94105".
_POSTCODE = re.compile(
    r"^\W*\d{4,5}\s?[^\W\d_]|\b\d{4}\s?[A-Z]{2}\b|\b[A-Z]{1,2}\d[A-Z\d]?\s\d[A-Z]{2}\b|"
    r"\b[A-Z]{2}\s\d{5}(?:-\d{4})?\b"
)
_REGISTRATION = re.compile(
    r"\b(?:reg|gst|vat|ust|tva|btw|iva|co\.|company|uid|hrb|siret|siren|nif|cif)\b|"
    r"^\(?\d{4,}-?[A-Z]\)?$",
    _I,
)
_EMAIL = re.compile(r"<[^<>@\s]+@[^<>\s]+>|\S+@\S+\.\w+")
_ITEMS_OR_MONEY = re.compile(r"\d[.,]\d{2}\b|\d{1,2}[./-]\d{1,2}[./-]\d{2,4}")
_LABEL_COLON = re.compile(r"(?:^|\s)[^\W\d_][^\W\d_.#°\s]*(?:[.\s#°]+[^\W\d_]+)*\.?\s?:")
_SEPARATOR = re.compile(r"\s*[·•●|]\s*|\s{3,}|\s+[-–]\s+(?=\d)")
_LETTER = re.compile(r"[^\W\d_]")
_DIGIT = re.compile(r"\d")
_DOMAIN = re.compile(r"(?:@|www\.|https?://)([a-z0-9-]+)\.", _I)


#: A person's attention at the receiving company: "Attn:", "Attention:", "Att.:", "t.a.v.";
#: or the recipient reached through another ("c/o Finance Dept").
_ATTENTION = re.compile(r"(?:attn|attention|att|t\.\s?a\.\s?v)\b\.?\s*:?|c/o\s", _I)


def attention_line(line: str) -> bool:
    """Whether the line draws a person's attention ("Attention: Accounts Payable"): the
    line above it names the buyer."""
    return _ATTENTION.match(line) is not None


#: A buyer word inside a sentence, after an article or a preposition ("addebito sul conto del
#: cliente", "the account of the customer"): it heads no block.
_IN_PROSE = re.compile(
    r"\b(?:del|della|dello|dei|des|du|de\s+la|of|the|al|au|aux|dem|der|den|van\s+de|voor\s+de|"
    r"de\s+los|do|da)\s+$",
    _I,
)


def buyer_lines(doc: Document) -> dict[int, int]:
    """Lines of the buyer's block: line index -> column where the buyer's part starts.

    A block opens at a buyer label ("Bill to", "Rechnungsempfänger"), or below a window
    envelope's return line near the top ("Firma GmbH · Gewerbering 7 · 91126 Schwabach"),
    which the recipient's address follows unlabelled."""

    def build() -> dict[int, int]:
        block: dict[int, int] = {}
        for index, line in enumerate(doc.lines):
            if index in block:
                continue
            if (m := _BUYER.search(line)) is not None and not (
                _IN_PROSE.search(line[: m.start()]) and ":" not in line[m.start() : m.end() + 2]
            ):
                block[index] = m.start()
                above = doc.lines[index - 1] if index else ""
                if (
                    m.start() == 0
                    and attention_line(line)
                    and above
                    and not _BUYER.search(above)
                    and not _VENDOR_LABEL.match(above)
                    and not _TITLE.match(above)
                ):
                    # "Sawtell Building Group Pty Ltd / Attention: Accounts Payable": the
                    # name a person's attention is drawn within is the buyer's
                    block.setdefault(index - 1, 0)
                if _VENDOR_HEADING.match(line[: m.start()]) or (_stacked_headings(doc, index)):
                    # "Dodavatel: Odběratel:", the two parties' headings side by side (or
                    # one under the other, as a text layer lists two columns' first
                    # cells): each row below holds both parties, none is the buyer's alone
                    continue
                named = bool(line[m.end() :].strip())  # "Bill To: Foo Ltd": named there
                block.update(dict.fromkeys(_block_below(doc, index, 5, named=named), 0))
            elif index < 15 and _RETURN_LINE.match(line):
                block.update(dict.fromkeys(_block_below(doc, index, 6), 0))
        return block

    return doc.memo("buyer", build)


def _block_below(doc: Document, index: int, size: int, *, named: bool = False) -> list[int]:
    """The lines under a buyer's heading that still describe the buyer (at most `size`);
    `named`: the heading's line holds the buyer's name."""
    lines: list[int] = []
    # Past a labelled detail, a plain line belongs to the block only as its name (when none
    # came yet) or as an address line: another name is the next party's.
    detailed = False
    for below in range(index + 1, min(len(doc), index + 1 + size)):
        text = doc.lines[below]
        if _VENDOR_LABEL.match(text) or _TITLE.match(text):
            break
        detail = bool(_PARTY_DETAIL.match(text))
        address = bool(
            (_POSTCODE_LINE.match(text) or _STREET_LINE.match(text))
            and not _STRONG_SUFFIX.search(text)  # "3M United Kingdom PLC" is a name
        )
        if (":" in text and not detail) or (detailed and not detail and not address and named):
            break
        detailed = detailed or detail
        named = named or not (detail or address)
        lines.append(below)
    return lines


def _has_suffix(text: str) -> float:
    """How surely `text` ends like a company name (1.0 legal form, 0.6 trade word)."""
    if _STRONG_SUFFIX.search(text):
        return 1.0
    words = [w.strip(".,()").casefold() for w in text.split()]
    if any(w in _SUFFIXES for w in words if len(w) > 1):
        return 0.6
    tail = words[-1] if words else ""
    if len(tail) >= 3 and any(fuzz.ratio(tail, s) >= 66 for s in ("bhd", "gmbh", "ltd")):
        return 0.7
    return 0.0


def _name_part(doc: Document, index: int) -> str:
    """The line, without a vendor label and without the buyer's part beside it."""
    line = doc.lines[index]
    cut = buyer_lines(doc).get(index)
    if cut is not None:
        line = line[:cut]
    m = _VENDOR_LABEL.match(line)
    if m and ":" not in m.group(0) and _TRADE_ONLY.match(line[m.end() :]):
        m = None
    line = _EMAIL.sub("", line[m.end() :] if m else line)
    if m and (comma := line.find(",")) > 0 and _ADDRESS.search(line[comma:]):
        line = line[:comma]  # "lautend auf Claire Dubois Übersetzungen, Seefeldstrasse 45, …"
    if line.rstrip().endswith(":"):
        return ""
    # "Javier Ortega Ruiz, NIF 45678912K": the name before its tax id
    line = _TAX_ID_AFTER.split(line, maxsplit=1)[0]
    # "Søren Holm Grafisk Design (enkeltmandsvirksomhed)": the name without its status
    line = _STATUS_AFTER.sub("", line)
    # "The Harbour View Hotel is operated by Carrick Leisure Holdings Limited": the company
    if (run_by := _OPERATED_BY.search(line)) is not None and _STRONG_SUFFIX.search(
        line[run_by.end() :]
    ):
        line = line[run_by.end() :]
    # A letterhead or footer line: "Name · Street 1 · City · VAT No ..." starts with the name.
    line = _SEPARATOR.split(line, maxsplit=1)[0]
    return _up_to_legal_form(_TITLE_TAIL.sub("", line)).strip(" ,;:-|")


#: What may join legal forms into one ("GmbH & Co. KG", "Pty Ltd", "S.A. de C.V.").
_FORM_JOIN = re.compile(r"(?:[\s.,&]|\b(?:co|und|and|et|de|y|e)\b)*", _I)
#: Words that may still follow a legal form within a name.
_AFTER_FORM = {w.strip(".,") for w in _SUFFIXES} | {"&", "de", "c.v", "cv", "(m)", "(malaysia)"}


def _up_to_legal_form(line: str) -> str:
    """A company's name ends at its legal form: what follows on the line is another column
    glued to it ("Fjord Consulting ApS Faktura nr. 1093", "STAVMONT Brno s.r.o. Městská
    část Brno-střed"). Not when the legal form opens the name ("AB Volvo"), and a run of
    legal forms or trade words stays whole ("GmbH & Co. KG", "Sdn Bhd", "S.A. de C.V.").
    The run starts at a word of its own, not a piece of one ("T.A.S Leisure", "Harvey Norman
    M'sia")."""
    forms = list(_STRONG_SUFFIX.finditer(line))
    first = next((i for i, f in enumerate(forms) if line[f.start() - 1 : f.start()] == " "), None)
    # a label or the signing team before the name ("Buhalterė, UAB „Medienos linija“") is
    # no part of it: a legal form right after it opens the name
    head = _LABEL_HEAD.match(line)
    if first is None or not line[head.end() if head else 0 : forms[first].start()].strip():
        return line
    end = forms[first].end()
    for form in forms[first + 1 :]:
        if not _FORM_JOIN.fullmatch(line[end : form.start()]):
            break
        end = form.end()
    rest = (word.strip(".,").casefold() for word in line[end:].split())
    if all(not word or word in _AFTER_FORM for word in rest):
        return line
    return line[:end]


_REG_TAIL = re.compile(
    r"\s*[,;-]?\s*(?:\([A-Za-z .]{0,12}:?\s*\d[\dA-Z./-]*\)|(?<![\w/])\d[\d./-]{3,}[A-Z]?|"
    r"(?<![\w/])\d+-[A-Z])(?:\s*\([A-Z]{2,5}\))?$"
)
#: A tax id's label after a name on its line, set off by a comma or bracket.
_TAX_ID_AFTER = re.compile(
    r"\s*[,;(]\s*(?:nif|cif|nie|vat(?:\s+no\.?)?|tva|ust-?id\w*|p\.?\s?iva|c\.?f\.?|"
    r"btw|nip|dni|uid|abn|gstin|ein|tax\s+id)\b.*$",
    _I,
)
#: A sole trader's status in brackets after the name.
#: A business named with the company behind it: "… is operated by …", "… a trading name of
#: …", "… is owned by …".
_OPERATED_BY = re.compile(
    r"\b(?:is\s+)?(?:operated|owned|run|managed)\s+by\b|\ba\s+trading\s+(?:name|style)\s+of\b"
    r"|\bbetrieben\s+von\b|\bexploité\s+par\b",
    _I,
)
_STATUS_AFTER = re.compile(
    r"\s*\((?:enkeltmandsvirksomhed|enskild\s+firma|enkeltpersonforetak|toiminimi|"
    r"einzel\w+|eenmanszaak|sole\s+(?:trader|proprietor\w*)|auto-?entrepreneur|"
    r"micro-?entrepreneur|ditta\s+individuale|aut[óo]nom[oa]|empres[áa]rio\s+individual|"
    r"jednoosobow\w+(?:\s+\w+)?)\)",
    _I,
)
_NUMBER_HEAD = re.compile(r"^#\d+\s+")
#: A label before a name, in one language or two ("Supplier:", "Piegādātājs / Supplier:"),
#: or the team that signs for the company ("Accounts, Thistle & Thorn Ltd").
_LABEL_HEAD = re.compile(
    r"^[^\W\d_]{3,15}(?:\s[^\W\d_]{3,15})?(?:\s*/\s*[^\W\d_]{3,15})?\s*:\s*(?=\S)|"
    r"^(?:accounts?(?:\s+(?:department|dept\.?|receivable|payable|team))?|billing|finance|"
    r"invoicing|credit\s+control|customer\s+service|accountant|bookkeep\w*|buhalter\w*|"
    r"buchhaltung|comptabilit[ée]|contabilidad|contabilit[àa]|boekhouding|księgow\w*|"
    r"účtárna|kirjanpito|bokföring|regnskab)\s*,\s*(?=\S)",
    _I,
)
_TRADE_ONLY = re.compile(
    r"^(?:[&(]|(?:co\.?|\(m\)|\(malaysia\)|sdn\.?|bhd\.?|s/b|berhad|ltd\.?|limited|"
    r"gmbh|ag|inc\.?|llc|restaurant|enterprise|trading)(?:\s|$))",
    _I,
)


_LATIN_HEAD = re.compile(r"\W*[A-Za-zÀ-ɏ]")
_OTHER_SCRIPT_TAIL = re.compile(r"\s+[\u0590-\u06ff][\u0590-\u06ff\s\W]*$")


def _clean_name(name: str) -> str:
    """The name without a registration number after it or a one-word label before it."""
    if (m := _LABEL_HEAD.match(name)) and _has_suffix(name[m.end() :]):
        name = name[m.end() :]
    name = _NUMBER_HEAD.sub("", name)
    # the same name in Arabic or Hebrew script after it, in a column of its own
    name = _OTHER_SCRIPT_TAIL.sub("", name) if _LATIN_HEAD.match(name) else name
    if re.search(r"[a-z]{4}\.$", name):
        name = name[:-1]  # a sentence's full stop ("… operated by X Holdings Limited.")
    for _ in range(2):
        trimmed = _REG_TAIL.sub("", name).strip(" ,;-")
        if trimmed and trimmed != name and sum(ch.isalpha() for ch in trimmed) >= 3:
            name = trimmed
    return name


def _continued(doc: Document, index: int, name: str) -> tuple[int, str]:
    """Join a name broken over two lines ("POPULAR BOOK" / "CO. (M) SDN BHD")."""
    above = _name_part(doc, index - 1) if index > 0 else ""
    if (
        above
        and _plausible_name(above)
        and _has_suffix(above) < 1.0
        and (_TRADE_ONLY.match(name) or name.count(")") > name.count("(") or above.endswith("&"))
    ):
        return index - 1, f"{above} {name}"
    below = _name_part(doc, index + 1) if index + 1 < len(doc) else ""
    if (
        below
        and _plausible_name(below)
        and (name.endswith("&") or name.count("(") > name.count(")"))
    ):
        return index, f"{name} {below}"
    return index, name


def _domains(doc: Document) -> list[str]:
    """Web and mail domains outside the buyer's block: the issuer's own, usually."""
    buyer = buyer_lines(doc)
    return [
        d.casefold()
        for index, line in enumerate(doc.lines)
        if index not in buyer
        for d in _DOMAIN.findall(line)
    ]


def _stacked_headings(doc: Document, index: int) -> bool:
    """Whether line `index` is a buyer's heading alone ("Vevő") right under a seller's
    heading alone ("Eladó"): two columns' headings, one under the other."""
    return (
        index > 0
        and party_heading(doc.lines[index]) == "buyer"
        and _VENDOR_HEADING.match(doc.lines[index - 1]) is not None
    )


def _section_names(doc: Document) -> list[Candidate[str]]:
    """The name in a section under an issuer heading: "Verkäufer" / "Name: Acme GmbH", or
    the first line of the section that is not a field ("Nummer: 5499") nor an address."""
    found: list[Candidate[str]] = []
    buyer = buyer_lines(doc)
    for index, line in enumerate(doc.lines):
        if not _VENDOR_HEADING.match(line):
            continue
        for below in range(index + 1, min(len(doc), index + 8)):
            text = doc.lines[below]
            if below == index + 1 and _stacked_headings(doc, below):
                continue  # "Eladó" / "Vevő" / "Dunamenti Nyomda Kft." / "Balaton ... Zrt."
            if below in buyer or _VENDOR_HEADING.match(text):
                break
            label = _NAME_LABEL.match(text)
            if label is None and _FIELD_LINE.match(text):
                continue
            name = text[label.end() :] if label else text
            first = below
            if not name and below + 1 < len(doc):
                first, name = below + 1, doc.lines[below + 1]
            name = _SEPARATOR.split(name, maxsplit=1)[0].strip(" ,;")
            after = doc.lines[first + 1] if first + 1 < len(doc) else ""
            if (
                not _STRONG_SUFFIX.search(name)
                and _STRONG_SUFFIX.search(after)
                and not (_FIELD_LINE.match(after) or _ADDRESS.search(after))
            ):
                name = f"{name} {after.strip()}"  # a name broken over two lines
            if name and _plausible_name(name):
                found.append(Candidate(_clean_name(name), 0.9, first, "vendor", text))
            break
    return found


#: A self-billing invoice, issued by the customer for the supplier (en, de "Gutschrift im
#: Gutschriftsverfahren", fr "autofacturation", es "autofactura", nl "self-billing").
_SELF_BILLING = re.compile(
    r"\bself[\s-]?billing\b|\bgutschriftsverfahren\b|\bautofactura\w*\b|\bautofacturation\b",
    _I,
)


def find_vendor_names(doc: Document) -> list[Candidate[str]]:
    """Names the document's issuer may have, best first."""

    def build() -> list[Candidate[str]]:
        domains = [d for d in _domains(doc) if d not in ("gmail", "yahoo", "hotmail", "outlook")]
        found: list[Candidate[str]] = []
        top = min(len(doc), 25)
        for index in range(len(doc)):
            if index >= top and not _STRONG_SUFFIX.search(doc.lines[index]):
                continue
            name = _name_part(doc, index)
            if not name or not _plausible_name(name):
                continue
            first, name = _continued(doc, index, _clean_name(name))
            if first < index:
                first, name = _continued(doc, first, name)
            name = _clean_name(name)
            suffix = _has_suffix(name)
            if index >= top and suffix < 1.0:
                continue
            score = 0.35 * max(0.0, 1 - index / top) if index < top else 0.0
            score += 0.4 * suffix
            labelled = _VENDOR_LABEL.match(doc.lines[index]) or (
                index > 0
                and _VENDOR_LABEL.match(doc.lines[index - 1] + " ")
                and len(doc.lines[index - 1]) < 20
            )
            score += 0.25 if labelled else 0.0
            if domains and max(fuzz.partial_ratio(name.casefold(), d) for d in domains) >= 85:
                score += 0.15
            for step, weight in ((1, 0.1), (2, 0.05)):
                below = doc.lines[index + step] if index + step < len(doc) else ""
                if _ADDRESS.search(below) or _REGISTRATION.search(below):
                    score += weight
                    break
            if name.isupper() and len(name.split()) >= 2:
                score += 0.03
            if suffix == 0.0 and _under_a_name(doc, first, name):
                score -= 0.1
            found.append(Candidate(name, round(min(score, 0.97), 3), first, "vendor", name))
        found.extend(_section_names(doc))
        found = _letterhead_agrees(doc, found)
        if any(_SELF_BILLING.search(line) for line in doc.lines[:15]):
            # the customer issues a self-billing invoice: its letterhead is the buyer's, the
            # seller is the "Supplier:" it names
            found = [
                c.but(0.97) if _VENDOR_LABEL.match(doc.lines[c.line]) else c.but(c.confidence * 0.5)
                for c in found
            ]
        found.sort(key=lambda c: (-c.confidence, c.line))
        return [_as_written_elsewhere(doc, c) for c in found[:3]] + found[3:]

    return doc.memo("vendors", build)


_NAME_WORD = re.compile(r"[^\W\d_]{2,}")


def _same_word(word: str, words: set[str]) -> bool:
    """The word is among `words`, or shares its first six letters with one of them (a brand
    "Werkzeughaus" for the company's "Werkzeughandel")."""
    return word in words or (len(word) >= 6 and any(w[:6] == word[:6] for w in words))


def _letterhead_agrees(doc: Document, found: list[Candidate[str]]) -> list[Candidate[str]]:
    """A name with its legal form that spells out the letterhead's ("Brightwave Energy" at
    the top, "Brightwave Energy Supply Ltd. Registered in England …" in the footer) is the
    issuer's legal name: two places on the page agree, as they do for no other party. It
    is made as sure as the surer of the two, and more. The letterhead is a name without a
    legal form on the first three lines; each of its words is in the longer name, or one
    beginning alike."""
    heads = [c for c in found if c.line <= 2 and _has_suffix(c.value) < 1.0]
    out = []
    for cand in found:
        # the name's line: "The Harbour View Hotel is operated by Carrick Leisure Ltd"
        line = doc.lines[cand.line] if 0 <= cand.line < len(doc) else cand.value
        words = {w.casefold() for w in _NAME_WORD.findall(f"{cand.value} {line}")}
        agreed = [
            h
            for h in heads
            if h.line != cand.line
            and (mine := {w.casefold() for w in _NAME_WORD.findall(h.value)})
            and any(len(w) >= 4 for w in mine)
            and all(_same_word(w, words) for w in mine)
        ]
        if agreed and _has_suffix(cand.value) == 1.0:
            sure = round(min(max(cand.confidence, *(h.confidence for h in agreed)) + 0.35, 0.97), 3)
            cand = Candidate(cand.value, sure, cand.line, cand.label, cand.text)
        out.append(cand)
    return out


#: A trade written as words ("Diseño gráfico", "Consulente informatico"): the words after the
#: first in lower case.
_TRADE_WORDS = re.compile(r"^[^\W\d_][^\W\d_.]*(?:\s+(?:&\s+)?[a-zà-ÿ][^\W\d_]*){1,5}$")


def _under_a_name(doc: Document, index: int, name: str) -> bool:
    """Whether `name` is a sole trader's trade under their name ("Laura Martín Gómez" /
    "Diseño gráfico"): a line of lower-case words right under a line that can be a name."""
    if index == 0 or not _TRADE_WORDS.match(name):
        return False
    above = _name_part(doc, index - 1)
    return bool(above) and _plausible_name(above) and not _ITEMS_OR_MONEY.search(above)


def _as_written_elsewhere(doc: Document, cand: Candidate[str]) -> Candidate[str]:
    """A name set in capitals in a letterhead, in its ordinary case if the text has it."""
    if not cand.value.isupper():
        return cand
    pattern = re.compile(re.escape(cand.value), _I)
    for line in doc.lines:
        m = pattern.search(line)
        if m and not m.group(0).isupper():
            return Candidate(m.group(0), cand.confidence, cand.line, cand.label, cand.text)
    return cand


def _plausible_name(text: str) -> bool:
    if len(text) > 70 or text.endswith(":") or _NOT_NAME.search(text) or _TITLE.match(text):
        return False
    if text.startswith("("):  # an aside in a letter's text: "(Deutsch > Französisch)."
        return False
    letters = len(_LETTER.findall(text))
    if letters < 3 or len(_DIGIT.findall(text)) > letters:
        return False
    if _POSTCODE.search(text):
        return False
    return not (_ADDRESS.search(text) and not _STRONG_SUFFIX.search(text))


def _address_part(text: str) -> tuple[str, bool]:
    """The part of a line that can belong to an address, and whether the address may go on.

    A label (phone, VAT, invoice number) ends the part; when it sits right of an address
    (two columns merged into one line) the address may continue on the next line.
    """
    if _TITLE.match(text):
        return "", False
    stop = _NOT_NAME.search(text)
    label = _LABEL_COLON.search(text)
    end = min(stop.start() if stop else len(text), label.start() if label else len(text))
    part = text[:end].strip(" ,;-–·|")
    if not part or _ITEMS_OR_MONEY.search(part):
        return "", False
    return part, True


def find_vendor_address(doc: Document, name_line: int) -> Candidate[str] | None:
    """The vendor's address: after its name on a letterhead line, or on the lines below."""
    parts: list[str] = []
    buyer = buyer_lines(doc)
    beside = _SEPARATOR.split(doc.lines[name_line])[1:] if name_line >= 0 else []
    for segment in beside:
        text, more = _address_part(segment)
        if text:
            parts.append(text)
        if not more:
            break
    for index in range(name_line + 1, min(len(doc), name_line + 6) if not beside else 0):
        if index in buyer:
            break
        text, more = _address_part(doc.lines[index])
        if text:
            parts.append(text)
        if not more:
            break
    if not parts or not any(_ADDRESS.search(p) or any(c.isdigit() for c in p) for p in parts):
        return None
    return Candidate(", ".join(parts), 0.6, name_line, "address", " | ".join(parts))


#: Legal forms as they are spelt when a name is not set in capitals.
_LEGAL_FORMS = (
    "GmbH AG KG OHG UG mbH SARL SAS SA S.A. S.A.E. Zrt. Nyrt. S.A.S. S.A.R.L. S.L. SL "
    "S.r.l. SRL S.p.A. SpA "
    "Ltd Ltd. Limited LLC Inc Inc. Corp Corp. Co. PLC LLP LP BV B.V. NV N.V. AB Oy Oyj "
    "AS ASA A/S ApS OÜ SIA UAB Kft s.r.o. a.s. d.o.o. Lda SPRL BVBA Sdn Bhd Berhad S/B "
    "Pte Pty Pvt GbR e.V. KGaA SE Sàrl S.à r.l. K.K. Şti. A.Ş. I.K.E. E.P.E. EOOD OOD EAD "
    "& und and et y e"
)
_LEGAL_SPELLING = {w.casefold(): w for w in _LEGAL_FORMS.split()}


def ordinary_case(name: str) -> str:
    """A name set in capitals ("CONTOSO FACILITIES LTD") in ordinary case ("Contoso
    Facilities Ltd"): letterhead capitals are typography, the register spells the name.
    Short words that are not legal forms stay in capitals, as they are usually acronyms."""
    if not name.isupper() or sum(ch.isalpha() for ch in name) < 6:
        return name
    words = []
    for word in name.split():
        known = _LEGAL_SPELLING.get(word.casefold().replace("i\u0307", "i"))
        if known is not None:
            words.append(known)
        elif sum(ch.isalpha() for ch in word) <= 3:
            words.append(word)
        else:
            # Turkish dotted capital I lowers to "i" and a combining dot: drop the dot
            words.append(word[:1] + word[1:].lower().replace("i\u0307", "i"))
    return " ".join(words)
