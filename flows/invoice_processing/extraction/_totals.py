"""Labelled sums of a document: total, subtotal and tax, each with ranked candidates.

Labels come in several languages and in the shapes both invoices and till receipts use
("Amount due", "Gesamtbetrag", "Total TTC", "Total a pagar", "Rounded total"). The value
is read after the label on its line, or from the next amount-only line when a layout or
an OCR engine put the value below its label. Arithmetic then confirms: subtotal + tax,
cash - change and total + rounding all point at the amount actually owed.
"""

from __future__ import annotations

import re
from decimal import Decimal

from flows.invoice_processing.extraction._candidate import Candidate, Document
from flows.invoice_processing.extraction._money import find_amounts, find_currency, without_currency
from flows.invoice_processing.extraction._title import document_title

__all__ = ["balance_due", "find_totals", "labelled_amounts"]

_I = re.IGNORECASE
_SKIP = re.compile(
    r"total\s*(?:no\.?\s*of\s*)?(?:qty|quantity|items?|pcs|units?|discount|savings?|saved|weight|"
    r"points?|tips?)|qty|quantity|\bitems?\s*:|change|\bcash\b|tender|\bpaid\b|deposit|"
    r"round(?:ing)?\s*adj|adjustment|discount|rabatt|remise|descuento|sconto|korting|\bpoints?\b|"
    # a card or store credit, not a credit note's own sums ("Net credit", "Total credit")
    r"\bbalance\b(?!\s*(?:due|owing|payable))|(?<!net )(?<!total )credit(?!\s+note)|voucher",
    _I,
)
#: "Net" alone on its line, its amount below it.
_BARE_NET_TEXT = r"^\W*nett?\W*$"
_SUBTOTAL = re.compile(
    r"sub\s*-?\s*total|sous[\s-]*total|zwischensumme|"
    # "Nettobetrag", not what is owed ("Netto a pagare", "Netto te betalen")
    r"netto\w*\b(?!\s+(?:a|da|te|zu)\s+(?:pag|betal|zahl))|\bnet\s+(?:amount|value|credit)|summe\s+netto|"
    r"before\s+(?:vat|gst|tax|hst|taxes)\b|"
    # a bare "Net" before its amount, or alone above it; not payment terms ("Net 30")
    r"^\W*nett?\s*(?::\s*)?(?=[-£€$\d])(?!(?:7|10|14|15|20|21|28|30|45|60|90|120)\b(?![.,]\d))|"
    + _BARE_NET_TEXT
    + r"|"
    r"total\s*\(?\s*(?:excl\w*|ex\.?|net\b|before\s+tax|w/o|without|htva\b|ht\b|hors)|montant\s+ht|"
    r"\bhtva\b|\bht\b|"
    r"base\s+impo(?:nible|sable)|imponibile|subtotaal|amount\s+excl\w*|total\s+sin\s+iva|"
    r"totaal\s+excl\w*|total\s+sales\s*\(?excl|"
    r"(?:ohne|exkl\w*|excl\w*|ekskl\w*|eks|ilman|without|hors|sans|sin|senza|zonder|bez|sem|"
    # sl "brez DDV", lt "be PVM", is "án VSK", ro "fără TVA"
    r"brez|be|án|fără|fara)\.?\s+"
    r"(?:ust|mwst|vat|tax|tva|taxes|iva|btw|steuer|podatku|impuestos?|moms|mva|alv|"
    r"arvonlisäveroa|dph|ddv|pdv|dds|pvn|pvm|vsk|kdv)\b|razem\s+netto|valor\s+l[ií]quido|"
    r"taxable\s+(?:value|amount)|steuerpflichtiger\s+betrag|montant\s+imposable|"
    r"total\s+il[ií]quido|base\s+tribut[aá]vel|"
    # Finnish "Veroton yhteensä" (net of tax), Czech "Základ daně" / "Základ DPH" (tax base)
    r"\bveroton\b|z[aá]klad\s+(?:dan[eě]|dph)\b|\bnettó\b|"
    # hr "Osnovica", bg "Danachna osnova", tr "KDV Matrahı" (the tax base)
    r"\bosnovica\b|\bdanachna\s+osnova\b|\bmatrah\w*|"
    # br "Valor dos serviços", el "Καθαρή αξία", jp "小計" (the sum before tax)
    r"\bvalor\s+dos\s+servi[çc]os\b|\bbase\s+de\s+c[aá]lculo\b|καθαρ[ηή]\s+αξ[ιί]α|小計|"
    # cl "Monto neto", ar "Importe neto gravado"
    r"\bmonto\s+neto\b|\bimporte\s+neto\b|"
    # tr "Mal Hizmet Toplam Tutarı" (goods and services before tax), et "Kokku ilma käibemaksuta"
    r"\bmal\s+hizmet\s+toplam\b|\bilma\s+käibemaksuta\b|"
    # et "Summa km-ta" (km-ta: käibemaksuta, without the tax); be-nl "Maatstaf van heffing"
    # (the taxable base); pe "Valor Venta" (the sale's value before IGV)
    r"\bkm-?ta\b|\bmaatstaf\s+van\s+heffing\b|\bvalor\s+(?:de\s+)?venta\b|"
    # bg "Данъчна основа" (the tax base); sl "Osnova za DDV", hr/rs "Osnova za PDV"
    r"данъчна\s+основа|\bosnova\s+za\s+(?:ddv|pdv)\b|"
    # vi "Cộng tiền hàng" (the goods' sum before VAT)
    r"cộng\s+tiền\s+hàng|"
    # uk "Разом без ПДВ", id "DPP" / "Dasar Pengenaan Pajak" (the tax base), "Harga Jual" (the
    # selling price), th "รวมเป็นเงิน" (the sum), ko "공급가액" (the value supplied)
    r"разом\s+без\s+пдв|\bdpp\b|dasar\s+pengenaan\s+pajak|\bharga\s+jual\b|รวมเป็นเงิน|"
    r"공급\s?가액",
    _I,
)
#: Labels that hold a sum but not the document's: a unit price ("Bruttopreis"), the sum of
#: the allowances or charges, a prepayment.
_NOT_TOTAL = re.compile(
    r"(?:brutto|netto|einzel|stück|unit|net|gross)[\s-]?(?:preis|price|prix)|"
    r"zuschl\w*|abschl\w*|\ballowances?\b|surcharges?|anzahlung|acompte|prepaid|"
    r"paid\s+in\s+advance|vorauszahlung",
    _I,
)
_DUE = re.compile(
    r"(?:amount|amt)\s+(?:due|payable|to\s+pay)|balance\s+(?:due|owing|payable)|total\s+(?:due|payable)|"
    r"\bto\s+pay\b|please\s+pay|zu\s+zahlen|zahlbetrag|offener\s+betrag|(?:net|montant|reste|"
    r"total)\s+à\s+payer|a\s+pagar|da\s+pagare|te\s+betalen|grand\s*total|"
    r"round(?:ed)?\s*total|total\s*(?:after\s+)?round\w*|total\s+amount\s+payable|"
    # Nordic, Finnish, Czech: "Att betala", "At betale", "Å betale", "Til betaling",
    # "Maksettava", "Celkem k úhradě"
    r"\b(?:att|at|å)\s+betal[ae]\b|\btil\s+betaling\b|\bmaksettava\w*|\bk\s+úhradě\b|"
    # a credit note's "Att erhålla", "At modtage", "Til gode" (the amount to receive)
    r"\batt\s+erhålla\b|\bat\s+modtage\b|\btil\s+gode\b|"
    # Polish "Do zapłaty", "Razem do zapłaty"
    r"\bdo\s+zapłaty\b|"
    # Hungarian "Fizetendő (összesen)"
    r"\bfizetendő\b|"
    # sl "Za plačilo", hr "Ukupno za platiti" / "Za uplatu", bg "Obshto za plashtane", lv
    # "Kopā apmaksai", lt "Mokėti", is "Samtals til greiðslu", tr "Ödenecek tutar"
    r"\bza\s+(?:plačilo|placilo|platiti|uplatu|plashtane)\b|\bapmaksai\b|\bmokėti\b|"
    r"\btil\s+greiðslu\b|\bödenecek\s+tutar\b|"
    # et "Kokku tasuda", "Tasuda" (to pay), "Tasumisele kuulub" (due for payment)
    r"\btasuda\b|\btasumisele\b|"
    # bg "Сума за плащане" (the amount to pay), vi "Tổng cộng tiền thanh toán"
    r"сума\s+за\s+плащане|tiền\s+thanh\s+toán|"
    # el "Πληρωτέο", jp "ご請求金額" (the amount billed)
    r"πληρωτ[εέ]ο|ご?請求金額",
    _I,
)
_GROSS = re.compile(
    r"total\s*\(?\s*(?:incl\w*|inc\.?|including|with|gross|ttc)|(?:incl|inkl)\w*\.?\s*"
    r"(?:vat|tax|gst|mwst|ust|iva|tva|btw|moms|mva|alv|dph)|gesamtbetrag|gesamtsumme|endbetrag|"
    r"brutto\w*|"
    # cs/sk "Celkem s DPH", sl "z DDV", hr "s PDV" (with the tax)
    r"\bs\s+dph\b|\bz\s+ddv\b|\bs\s+pdv\b|"
    r"rechnungsbetrag|ttc|importe\s+total|total\s+factura|total\s+con\s+iva|"
    r"totale\s+(?:fattura|documento|ivato|complessivo)|totaal\s+(?:incl\w*|te)|invoice\s+total|"
    r"total\s+invoice|total\s+amount|total\s+sales|nett?\s*total|total\s+(?:rm|myr|eur|usd)\b|"
    # Danish and Norwegian "I alt" (in all) where it opens the line ("Moms i alt" is the
    # tax), Finnish "Loppusumma" (final sum)
    r"^\W*i\s+alt\b|\bloppusumma\b|"
    # Hungarian "Bruttó", "Végösszeg"
    r"\bbruttó\b|\bvégösszeg\b|"
    # lt "Iš viso su PVM", tr "Vergiler dahil toplam"
    r"\biš\s+viso\s+su\b|\bdahil\s+toplam\b|"
    # el "Γενικό σύνολο", jp "税込合計", cn "价税合计" (price and tax together)
    r"γενικ[οό]\s+σ[υύ]νολο|税込合計|价税合计|"
    # uk "Всього з ПДВ", th "จำนวนเงินรวมทั้งสิ้น" / "รวมทั้งสิ้น" (the grand total), ko "합계금액",
    # "청구금액", "총액"
    r"всього\s+з\s+пдв|รวมทั้งสิ้น|합계\s?금액|청구\s?금액|총\s?액",
    _I,
)
_TAX_INCLUDED = re.compile(
    r"total\s+includ(?:es|ed)\b|\bincludes?\s+(?:\d+%\s*)?(?:gst|vat|tax)"
    # "of which VAT": "Heraf moms 25%", "Varav moms", "davon MwSt.", "dont TVA", "di cui IVA"
    r"|\b(?:heraf|herav|varav|davon|dont|di\s+cui|waarvan|w\s+tym)\s+(?:\w+\s+)?"
    r"(?:moms|mva|mwst|ust|tva|iva|btw|vat|gst|tax|podatek)\b"
    r"|\b(?:gst|vat|tax)\s+included\b",
    _I,
)
_PLAIN = re.compile(
    r"total|summe|gesamt|montant|importe|totale|totaal|jumlah|betrag|"
    # "Sum", "Summa", "Suma", Finnish "Yhteensä", Czech "Celkem"
    r"\bsum(?:ma|a)?\b|\byhteensä\b|\bcelkem\b|\bösszesen\b|"
    # sl "Skupaj", hr "Ukupno", bg "Obshto", lv "Kopā", lt "Iš viso", is "Samtals", tr "Toplam"
    r"\bskupaj\b|\bukupno\b|\bobshto\b|\bkopā\b|\biš\s+viso\b|\bsamtals\b|\btoplam\b|"
    # et "Kokku", bg "Общо"
    r"\bkokku\b|\bобщо\b|"
    # el "Σύνολο", jp "合計", cn "合计"
    r"σ[υύ]νολο|合計|合计",
    _I,
)
_AMOUNT_WORD = re.compile(r"\bamount\b|\bamt\b", _I)
_TAX = re.compile(
    r"\b(?:vat|tax|gst|hst|pst|qst|tps|tvq|sst|mwst|ust|tva|iva|btw|igst|cgst|sgst|umsatzsteuer|"
    r"mehrwertsteuer|steuer|impuesto|imposta|taxe|steuerbetrag|(?:mwst|ust)-?betrag|"
    r"tax\s+amount|btw-?bedrag|kwota\s+(?:vat|podatku)|valor\s+(?:do\s+)?iva|"
    r"momsbel(?:opp|øb)|mva-?beløp|"
    # Swedish and Danish "Moms", Norwegian "MVA" / "Merverdiavgift", Finnish "ALV" /
    # "Arvonlisävero", Czech "DPH"; sl "DDV", hr "PDV", bg "DDS", lv "PVN", lt "PVM", is
    # "VSK", tr "KDV"
    r"moms|mva|merverdiavgift|alv|arvonlisävero|dph|áfa|ddv|pdv|dds|pvn|pvm|vsk|kdv|"
    # br "ISS", "ICMS", el "ΦΠΑ", jp "消費税" (consumption tax)
    r"iss|issqn|icms|ipi|φπα|消費税|税额|i\.v\.a|käibemaks|"
    # pe "IGV" (the general sales tax), bg "ДДС", vi "Tiền thuế GTGT", uk "ПДВ", id "PPN"
    r"igv|ддс|tiền\s+thuế\s+gtgt|пдв|ppn)\b"
    # th "ภาษีมูลค่าเพิ่ม" (value added tax), ko "세액", "부가세", "부가가치세"
    r"|ภาษีมูลค่าเพิ่ม|(?<![가-힣])세액|부가(?:가치)?세",
    _I,
)
_TAX_NOT = re.compile(
    r"\b(?:reg|no|nr|number|id|n°|code|summ\w*|invoice|incl\w*|excl\w*|inkl|exkl|rate|tasa|permit|"
    r"licen[cs]e|certificate|"
    r"total\s+(?:incl|ttc))\b|ust-?id|tax\s*id|vat\s*id|"
    # a Norwegian VAT number ends in "MVA" ("NO 973 716 786 MVA"); registered for VAT or
    # not: Finnish "ALV-rek.", Czech "(Ne)plátce DPH"
    r"\d\s?mva\b|alv-?rek|\b(?:ne)?plátce\b|"
    # ar: the seller's VAT status, not a tax line ("IVA Responsable Inscripto")
    r"\bresponsable\s+inscripto\b|\bfrente\s+al\s+iva\b|"
    # out of the tax's scope, said in a note: "não incidência de ISS (Súmula Vinculante 31)",
    # "not subject to VAT", "nicht steuerbar", "non soggetto", "no sujeto", "non assujetti"
    r"\bnão\s+incid\w*|\bnot\s+subject\s+to\b|\bnicht\s+steuerbar\b|\bnon\s+soggett[oa]\b|"
    r"\bno\s+sujet[oa]\b|\bnon\s+assujetti\w*|"
    # bg: the VAT number ("ИН по ДДС"), the reason no VAT is charged
    r"\bин\s+по\s+ддс|неначисляване",
    _I,
)
_CASH = re.compile(
    r"\bcash\b|\btender(?:ed)?\s*(?::|$|\d)|bar\s*gegeben|espèces|efectivo|contanti", _I
)
_CHANGE = re.compile(r"\bchange\b|rückgeld|wechselgeld|rendu|cambio|resto", _I)
_ROUNDING = re.compile(
    r"round(?:ing)?\s*(?:adj\w*)?|rundung|arrondi|redondeo|arrotondamento|"
    # "Öresavrundning" (sv), "Afrunding" (da), "Avrunding" (no), "Pyöristys" (fi),
    # "Zaokrouhlení" (cs)
    r"avrundning|afrunding|avrunding|pyöristys|zaokrouhlen\w*",
    _I,
)
#: An amount already paid, taken off what is due ("Deposit received", "Erhaltene Anzahlung").
_PAID = re.compile(
    r"\b(?:paid|payments?|deposit|prepa(?:id|yment)|advance|down\s*payment|anzahlung\w*|"
    r"vorauszahlung\w*|bezahlt|gezahlt|geleistet\w*|acompte|d[ée]j[àa]\s+(?:pay|r[ée]gl)\w*|"
    r"vers[ée]|anticipo|pagado|abonado|acconto|pagato|versato|aanbetaling|betaald|voorschot|"
    r"zaliczk\w*|zapłacon\w*|sinal|adiantamento|"
    # et "Ettemaks", fi "Ennakkomaksu", sv "Förskott", da "Forudbetaling", no "Forskudd", cs/sk
    # "Záloha", hu "Előleg", ro/lv/lt/tr/sl/hr "Avans(s/as)", "Predujam", bg "Аванс", el
    # "Προκαταβολή"
    r"ettemaks\w*|ennakko\w*|förskott\w*|forudbetal\w*|forskudd\w*|záloh\w*|előleg\w*|"
    r"avans\w*|predujam\w*|аванс\w*|προκαταβολ\w*)\b",
    _I,
)
#: An earlier invoice's amount still open, carried into this one's amount due.
_CARRIED = re.compile(
    r"previous\s+balance|balance\s+(?:brought\s+)?forward|arrears|amount\s+overdue|"
    r"outstanding\s+(?:balance|amount)|ausstehende?\s+(?:forderung|betr[aä]g\w*)|"
    r"rückstand|vortrag\s+(?:aus|vom)|offene?r?\s+(?:saldo|vorsaldo)|solde\s+(?:ant[ée]rieur|"
    r"pr[ée]c[ée]dent|report[ée])|saldo\s+(?:anterior|precedente|vorig\w*)|achterstand|"
    r"zaległo\w*",
    _I,
)
#: Income tax the payer withholds and pays to the tax office: Spain's IRPF ("Retención IRPF
#: 15 %"), Italy's ritenuta d'acconto, Portugal's retenção na fonte, a withholding tax.
_WITHHOLDING = re.compile(
    r"\birpf\b|\bretenci[oó]n\b|\britenuta\b|\breten[çc][ãa]o\b|\bwithholding\b|"
    r"\bwht\b|\bquellensteuer\b|"
    # el "Παρακράτηση φόρου" (tax withheld)
    r"παρακράτηση",
    _I,
)
#: A word of a label, in any alphabet (two Japanese characters make one: "合計").
_LABEL_WORDS = re.compile(r"[^\W\d_]{3,}|[\u3040-\u30ff\u4e00-\u9fff]{2,}")
#: A credit note states its amounts as positive numbers (EN 16931), whatever its page shows.
_CREDIT_NOTE = re.compile(
    r"^\W*(?:credit\s+(?:note|memo)|gutschrift|avoir|nota\s+de\s+cr[eé]dito|nota\s+di\s+credito|"
    r"creditnota|faktura\s+korygująca|abono)\b",
    _I,
)

#: Word stems every sum label above holds: a cheap first filter, most lines have none.
_ANY_SUM = re.compile(
    r"total|sum|betrag|nett|brutto|tax|vat|gst|sst|mwst|ust|tva|iva|btw|due|pay|pag|ttc|ht\b|"
    r"imponib|amount|amt|jumlah|montant|importe|gesamt|zahl|balance|round|betalen|steuer|"
    r"hst|pst|qst|tps|tvq|sous|before|moms|mva|irpf|reten|ritenuta|withh|wht|quellen|"
    r"impuest|impost|base|zwischen|totaal|includ|incl|inkl|exkl|excl|net\b|grand|owing|"
    r"betal|\balt\b|avgift|\balv\b|arvonlis|veroton|\beks|ilman|yhteens|loppusum|maksett|"
    r"celkem|dph|úhrad|z[aá]klad|zapłat|összes|fizetend|nettó|bruttó|áfa|"
    r"ddv|pdv|dds|pvn|pvm|vsk|kdv|skupaj|ukupno|obshto|kopā|viso|samtals|toplam|osnov|"
    r"matrah|plačil|platiti|uplatu|plashtane|apmaksai|mokėti|greiðslu|ödenecek|"
    r"valor|iss|icms|καθαρ|φπα|σ[υύ]νολ|πληρωτ|小計|消費税|合計|合计|税额|請求金額|i\.v\.a|neto|käibemaks|kokku|"
    r"erhålla|modtage|til\s+gode|tasuda|tasumisele|km-?ta|maatstaf|venta|igv|основа|ддс|παρακράτ|"
    r"tiền|"
    r"плащане|общо|пдв|разом|всього|\bdpp\b|\bppn\b|pengenaan|harga\s+jual|รวม|ภาษี|가액|세액|"
    r"부가|금액|총\s?액",
    _I,
)

#: Payment terms that say "net" ("30 dagar netto", "Netto 14 dage", "14 Tage netto"): a
#: number of days, not a net amount.
_NET_TERMS = re.compile(
    r"\b\d{1,3}\s*(?:dagar|dage|dager|days|tage|tagen|jours|días|giorni|dagen|päivää|pv|dni|"
    r"dnů|dní)\s+nett?o?\b|\bnett?o?\s+\d{1,3}\s*(?:dagar|dage|dager|days|tage|tagen|jours|"
    r"días|giorni|dagen|päivää|pv|dni|dnů|dní)\b",
    _I,
)

#: How much each kind of total label is trusted as "the amount owed".
_RANK = {"due": 0.85, "gross": 0.8, "plain": 0.65, "amount": 0.45}


_FILLER = re.compile(r"[\W_]*(?:(?:RM|MYR|EUR|USD|[A-Za-z]|[$€£])[\W_]*)?")
_ZERO_CENTS = re.compile(r"[-\s]*[.,]\d{2}\W*")


def _label_only(doc: Document, index: int) -> bool:
    return bool(_LABEL_WORDS.search(doc.lines[index])) and not find_amounts(doc, index)


def _filler(doc: Document, index: int) -> bool:
    return _FILLER.fullmatch(doc.lines[index]) is not None


def _amount_only(doc: Document, index: int) -> Decimal | None:
    line = doc.lines[index]
    if _ZERO_CENTS.fullmatch(line):
        return Decimal("0.00")
    amounts = find_amounts(doc, index)
    if not amounts:
        return None
    rest = line[: amounts[0][0]] + line[amounts[-1][1] :]
    if _LABEL_WORDS.search(without_currency(rest)):
        return None
    return amounts[-1][2]


#: What opens a bracketed amount: "(", a currency perhaps ("(USD 1,100.00)", "(лв. 12,00)").
_IN_BRACKETS = re.compile(r".*\(\s*(?:[^\W\d_]{1,4}\.?\s?|[$€£¥]\s?)?$")


def _value_after(doc: Document, index: int, end: int) -> tuple[int, Decimal] | None:
    """The amount a label at (index, end) names.

    On its own line, the last amount after it. Otherwise below it: OCR of a receipt often
    lists a run of labels (SUBTOTAL, TAX, TOTAL, CASH) and then the run of their values,
    so the n-th label of the run takes the n-th value.
    """
    same = [a for a in find_amounts(doc, index) if a[0] >= end]
    if len(same) > 1 and _IN_BRACKETS.match(doc.lines[index], same[-1][0] - 12, same[-1][0]):
        # the amount again in another currency, in brackets ("3 490,00 EUR (6 825,85 лв.)")
        same = same[:-1]
    if same:
        return index, same[-1][2]
    labels = [index]
    up = index - 1
    while up >= 0 and index - up < 8 and (_label_only(doc, up) or _filler(doc, up)):
        if not _filler(doc, up):
            labels.insert(0, up)
        up -= 1
    down = index + 1
    while down < len(doc) and down - index < 8 and (_label_only(doc, down) or _filler(doc, down)):
        if not _filler(doc, down):
            labels.append(down)
        down += 1
    values: list[tuple[int, Decimal]] = []
    while down < len(doc) and len(values) < len(labels):
        if _filler(doc, down):
            down += 1
            continue
        value = _amount_only(doc, down)
        if value is None:
            break
        values.append((down, value))
        down += 1
    position = labels.index(index)
    if len(values) == len(labels):
        return values[position]
    if values and position == len(labels) - 1 and values[0][0] - index <= 2:
        return values[0]
    return None


def rounding_amounts(doc: Document) -> list[Decimal]:
    """The amounts of the rounding lines ("Round Off -0.41", "Öresavrundning 0,40"): each
    less than one unit, with its sign."""
    return [r for _, r, _ in labelled_amounts(doc, _ROUNDING) if r != 0 and abs(r) < 1]


def labelled_amounts(doc: Document, label: re.Pattern[str]) -> list[tuple[int, Decimal, str]]:
    """(line, amount, label text) for each line where `label` names an amount."""
    found: list[tuple[int, Decimal, str]] = []
    for index, line in enumerate(doc.lines):
        m = label.search(line)
        if m is None:
            continue
        hit = _value_after(doc, index, m.end())
        if hit is not None:
            found.append((hit[0], hit[1], m.group(0)))
    return found


def _classify(line: str) -> tuple[str, re.Match[str]] | None:
    """Which sum a line's label names, if any: subtotal, tax or one kind of total."""
    if not _ANY_SUM.search(line):
        return None
    # payment terms blanked out, not cut, so that positions in the line stay as they are
    line = _NET_TERMS.sub(lambda t: " " * len(t.group(0)), line)
    if (m := _WITHHOLDING.search(line)) is not None and not _TAX_NOT.search(line):
        return "withholding", m
    if (m := _TAX_INCLUDED.search(line)) is not None:
        return "tax", m
    if (m := _SUBTOTAL.search(line)) is not None:
        return "subtotal", m
    for kind, pattern in (("due", _DUE), ("gross", _GROSS)):
        if (m := pattern.search(line)) is not None:
            if _NOT_TOTAL.search(line[max(0, m.start() - 12) : m.end() + 24]):
                return None
            return kind, m
    if _SKIP.search(line):
        return None
    if (m := _TAX.search(line)) is not None and not _TAX_NOT.search(line):
        return "tax", m
    if (m := _PLAIN.search(line)) is not None:
        return "plain", m
    if (m := _AMOUNT_WORD.search(line)) is not None:
        return "amount", m
    return None


def find_totals(doc: Document) -> dict[str, list[Candidate[Decimal]]]:
    """Candidates for "total", "subtotal", "tax" and "withholding" (income tax the payer keeps
    back), each list best first."""

    def build() -> dict[str, list[Candidate[Decimal]]]:
        raw: dict[str, list[Candidate[Decimal]]] = {
            "total": [],
            "subtotal": [],
            "tax": [],
            "withholding": [],
        }
        size = max(len(doc), 1)
        for index, line in enumerate(doc.lines):
            hit = _classify(line)
            if hit is None:
                continue
            kind, m = hit
            last = _classify(line.rsplit(" ", 1)[-1])
            column = _last_column(doc, index) if last and last[0] != "subtotal" else None
            value: tuple[int, Decimal] | None = column
            if last and column:
                kind = last[0]
            else:
                value = _value_after(doc, index, m.end())
                if (
                    kind == "subtotal"
                    and value is not None
                    and value[0] > index
                    and not line[m.end() :].strip()
                    and len(_LABEL_WORDS.findall(line)) >= 4
                    and _item_row(doc.lines[value[0]])
                ):
                    # the last column's heading ("Sl Description HSN Qty Rate Taxable
                    # Value") over the items: the value under it is an item's net
                    continue
            if kind in ("tax", "withholding") and value is not None and value[0] == index:
                value = _tax_below_its_base(doc, index, m.end()) or value
            if kind == "withholding" and value is not None:
                value = value[0], abs(value[1])  # printed as "-150,00" or "(150.00)"
            if value is not None and value[1] < 0 and _credit_note(doc):
                value = value[0], -value[1]
            if value is None or value[1] < 0 or (value[1] == 0 and kind != "tax"):
                continue
            if (
                kind == "subtotal"
                and value[0] != index
                and _BARE_NET.match(line)
                and value[1].as_tuple().exponent != -2
            ):
                continue  # a "Net" column's heading over the first row's item code
            where, amount = value
            if kind in ("subtotal", "tax", "withholding"):
                raw[kind].append(Candidate(amount, 0.75, where, kind, line))
                continue
            confidence = _RANK[kind] + 0.05 * index / size
            if amount.as_tuple().exponent == 0 and 1900 <= amount <= 2100:
                confidence -= 0.3  # a year ("© 2024", "Total 2024" in a footer)
            raw["total"].append(Candidate(amount, confidence, where, kind, line))
        _net_totals_before_tax(raw)
        # sums read from a table by column: (net and tax confidence, total's, total's label)
        for row, parts, whole, label in (
            (_breakdown_table(doc), 0.9, 0.7, "plain"),
            (_sum_row_of_three(doc), 0.85, 0.7, "plain"),
            (_sum_row_of_two(doc), 0.85, 0.7, "plain"),
            (_sums_under_headings(doc), 0.9, 0.9, "due"),
        ):
            if row is not None:
                where, net, tax, total = row
                line = doc.lines[where]
                raw["subtotal"].append(Candidate(net, parts, where, "subtotal", line))
                raw["tax"].append(Candidate(tax, parts, where, "tax", line))
                raw["total"].append(Candidate(total, whole, where, label, line))
        raw["total"] = _cross_check(doc, raw)
        if (said := _total_in_words(doc)) is not None:
            # the amount written out in words, where the page also prints it in figures
            raw["total"].append(Candidate(said[1], 0.97, said[0], "words", doc.lines[said[0]]))
        for key in raw:
            raw[key].sort(key=lambda c: (-c.confidence, c.line))
        return raw

    return doc.memo("totals", build)


#: The column headings of a VAT breakdown table, in the words of several languages: the rate,
#: the net amount, the tax and the gross amount ("Netto € MwSt. € Brutto €", "Sazba DPH
#: Základ DPH Celkem", "Rate Net VAT Gross").
_TAX_WORDS = r"(?:mwst|ust|vat|tax|tva|iva|btw|moms|mva|alv|dph|gst)"
_COLUMN_WORDS = (
    (
        "rate",
        re.compile(
            rf"(?:(?:{_TAX_WORDS}[-\s]?)?(?:sazba|steuersatz|satz|rate|taux|tipo|tarief|stawka|%)"
            r"(?:\s+dph)?|"
            # the rate's key or category ("USt-Schlüssel", "Code", "Kat.")
            rf"(?:{_TAX_WORDS}-?)?(?:schlüssel|code|kennz\w*|kat(?:egorie)?\.?|category|key))$",
            _I,
        ),
    ),
    (
        "net",
        re.compile(r"netto\w*|net|base|basis|základ|ht|excl\w*|imponibile|grundlag|veroton", _I),
    ),
    (
        "tax",
        re.compile(
            rf"{_TAX_WORDS}\.?(?:[-\s]?(?:betrag|amount|bedrag|montant|importe|belopp|beløb|beløp))?"
            r"|steuer\w*",
            _I,
        ),
    ),
    ("gross", re.compile(r"brutto\w*|gross|total|gesamt|celkem|ttc|summe|incl\w*|inkl\w*", _I)),
)
#: A ruled line between a table's rows.
_RULE = re.compile(r"[-=_ ]{3,}")
#: The row of such a table that sums the rows above it.
_SUM_ROW = re.compile(
    r"^\W*(?:summe|sum|summa|suma|total|totaal|totale|gesamt|celkem|yhteensä|i\s+alt|razem|"
    r"összesen)\b",
    _I,
)


#: Words that title a VAT breakdown table at the start of its heading row.
_TABLE_TITLES = frozenset(
    {
        "rekapitulace", "rekapitulácia", "recapitulation", "récapitulatif", "recapitulatif",
        "summary", "zusammenfassung", "resumen", "riepilogo", "podsumowanie", "összesítő",
        "sammanfattning", "opsummering", "yhteenveto", "resumo", "overzicht", "breakdown",
        "specifikation",
    }
)  # fmt: skip


def _column_kinds(line: str) -> list[str] | None:
    """The kinds of a VAT breakdown table's headings, left to right ("net", "tax", "gross"),
    or None when the line is not such a heading row."""
    tokens = line.replace("€", " ").replace("$", " ").replace("£", " ").split()
    kinds: list[str] = []
    # the table's title may open the row: "Rekapitulace DPH  Základ  DPH  Celkem",
    # "VAT summary  Net  VAT  Gross"
    lead = [t.strip(".:").casefold() for t in tokens[:2]]
    index = 1 if lead and lead[0] in _TABLE_TITLES else 0
    if len(lead) == 2 and lead[1] in _TABLE_TITLES and re.fullmatch(_TAX_WORDS, lead[0], _I):
        index = 2
    while index < len(tokens):
        pair = " ".join(tokens[index : index + 2])
        kind = next((k for k, p in _COLUMN_WORDS if p.fullmatch(pair)), None)
        if kind is not None and " " in pair:
            index += 2
        else:
            word = tokens[index].strip(".:()")
            kind = next((k for k, p in _COLUMN_WORDS if p.fullmatch(word)), None)
            index += 1
        if kind is None and tokens[index - 1].upper() not in ("EUR", "CZK", "USD", "GBP", "CHF"):
            return None
        if kind is not None and kind != "rate":
            kinds.append(kind)
    if kinds[:1] == ["tax"] and kinds.count("tax") == 2 and tokens[0].casefold() in _TABLE_TITLES:
        kinds = kinds[1:]  # "Rekapitulace DPH": the title's tax word is no column
    return kinds if sorted(kinds) == ["gross", "net", "tax"] else None


def _breakdown_table(doc: Document) -> tuple[int, Decimal, Decimal, Decimal] | None:
    """A VAT breakdown table's sums (line, net, tax, gross), read by column: its sum row, or
    its only row. The columns' amounts must add up (net + tax = gross)."""
    for index, line in enumerate(doc.lines):
        if len(line) > 80 or find_amounts(doc, index) or (kinds := _column_kinds(line)) is None:
            continue
        rows: list[tuple[int, list[Decimal]]] = []
        for below in range(index + 1, min(len(doc), index + 8)):
            if _RULE.fullmatch(doc.lines[below]):
                continue  # "----------  ----------" above the sum row
            values = [a[2] for a in find_amounts(doc, below)]
            if len(values) < 3:
                break
            rows.append((below, values[-3:]))
        summed = [r for r in rows if _SUM_ROW.match(doc.lines[r[0]])]
        chosen = summed[-1] if summed else (rows[0] if len(rows) == 1 else None)
        if chosen is None:
            continue
        by_kind = dict(zip(kinds, chosen[1], strict=True))
        if by_kind["net"] + by_kind["tax"] == by_kind["gross"]:
            return chosen[0], by_kind["net"], by_kind["tax"], by_kind["gross"]
    return None


#: The headings of a row of sums, in the order a line names them: a rate ("Moms %") before
#: the tax, since the tax's word is in it.
_HEADINGS = (
    ("rate", re.compile(r"[^\W\d_]+\.?\s*%|\b(?:sats|satz|rate|taux)\b", _I)),
    ("net", _SUBTOTAL),
    ("rounding", _ROUNDING),
    ("due", _DUE),
    ("due", _GROSS),
    ("tax", _TAX),
)


def _sum_row_of_three(doc: Document) -> tuple[int, Decimal, Decimal, Decimal] | None:
    """The sum row under an item table that holds the net, the tax and the gross sums, and
    nothing else ("Razem: 16 533,80  3 802,77  20 336,57", "Summe 1.000,00 190,00
    1.190,00"): (line, net, tax, gross) when the first two add up to the third. The last
    such row wins."""
    found = None
    for index, line in enumerate(doc.lines):
        if not _SUM_ROW.match(line):
            continue
        above = " ".join(doc.lines[max(0, index - 3) : index + 1])
        if _NOT_TOTAL.search(line) or _PAID.search(above) or _CARRIED.search(line):
            continue  # "Summe Abschläge": the sum of the deposits already paid
        values = [a[2] for a in find_amounts(doc, index)]
        if len(values) == 3 and values[2] > 0 and values[0] + values[1] == values[2]:
            found = index, values[0], values[1], values[2]
    return found


def _sum_row_of_two(doc: Document) -> tuple[int, Decimal, Decimal, Decimal] | None:
    """A sum row under an item table with the net and the tax sums only ("Total  8.041,00
    1.527,79"), checked by the amount due alone on a line just below it ("Total de plată:
    9.568,79"): (line, net, tax, gross)."""
    found = None
    for index, line in enumerate(doc.lines):
        if not _SUM_ROW.match(line) or _NOT_TOTAL.search(line) or _CARRIED.search(line):
            continue
        values = [a[2] for a in find_amounts(doc, index)]
        if len(values) != 2 or not values[0] > values[1] > 0:
            continue
        gross = values[0] + values[1]
        for below in range(index + 1, min(len(doc), index + 4)):
            amounts = [a[2] for a in find_amounts(doc, below)]
            if amounts == [gross] or (amounts[-1:] == [gross] and _SUM_ROW.match(doc.lines[below])):
                found = index, values[0], values[1], gross
                break
    return found


def _heading_kinds(line: str) -> list[str]:
    """The sums a row of headings names, left to right."""
    found: list[tuple[int, int, str]] = []
    for kind, pattern in _HEADINGS:
        for m in pattern.finditer(line):
            if not any(m.start() < end and start < m.end() for start, end, _ in found):
                found.append((m.start(), m.end(), kind))
    return [kind for _, _, kind in sorted(found)]


def _sums_under_headings(doc: Document) -> tuple[int, Decimal, Decimal, Decimal] | None:
    """A row of headings over a row of their amounts ("Belopp exkl. moms | Moms % |
    Momsbelopp | Öresavrundning | ATT BETALA SEK" over "20 114,00  25,00  5 028,50  0,50
    25 143,00"): (line, net, tax, due), when there is one heading per amount and the net,
    the tax and the rounding add up to what is due."""
    for index in range(len(doc) - 1):
        line = doc.lines[index]
        if len(line) > 120 or find_amounts(doc, index) or not _ANY_SUM.search(line):
            continue
        amounts = find_amounts(doc, index + 1)
        values = [a[2] for a in amounts]
        rest = doc.lines[index + 1]
        for start, end, _ in reversed(amounts):
            rest = rest[:start] + rest[end:]
        if len(values) < 3 or without_currency(rest).strip(" €$£%"):
            continue
        kinds = _heading_kinds(line)
        if len(kinds) != len(values) or any(kinds.count(k) != 1 for k in ("net", "tax", "due")):
            continue
        by_kind = dict(zip(kinds, values, strict=True))
        rounding = by_kind.get("rounding", Decimal("0"))
        if abs(by_kind["net"] + by_kind["tax"] + rounding - by_kind["due"]) <= Decimal("0.01"):
            return index + 1, by_kind["net"], by_kind["tax"], by_kind["due"]
    return None


#: "19 % USt. auf 1.000,00", "VAT 20% on 1,350.00": the amount after it is what the rate
#: applies to, not the tax.
_RATE_BASE = re.compile(
    r"%\s*(?:[^\W\d_]+\.?\s+){0,2}"
    r"(?:auf|on|of|sur|su|op|over|sobre|über|von|from|de|af|av|på|od)\s*[-€$£]?\s*$",
    _I,
)


def _tax_below_its_base(doc: Document, index: int, end: int) -> tuple[int, Decimal] | None:
    """A tax line that shows only the base its rate applies to: the tax is the amount alone
    on the next line (a right-aligned column the text put below)."""
    line = doc.lines[index]
    after = [a for a in find_amounts(doc, index) if a[0] >= end]
    if len(after) != 1 or not _RATE_BASE.search(line[: after[0][0]]):
        return None
    below = index + 1
    if below < len(doc) and (value := _amount_only(doc, below)) is not None:
        return below, value
    return None


_BARE_NET = re.compile(_BARE_NET_TEXT, _I)
#: "Net Total": on a receipt the amount paid (after rounding), on an invoice the sum before
#: VAT; the document's own arithmetic tells which.
_NET_TOTAL = re.compile(r"\bnett?\s*total\b", _I)


def _net_totals_before_tax(raw: dict[str, list[Candidate[Decimal]]]) -> None:
    """A "Net Total", or a sum with a plain label ("Sum", "Summa", "Celkem", "Total"), that a
    tax below it turns into another labelled total ("Net Total 1,350.00 / VAT 270.00 / Total
    1,620.00", "Sum 9 020,00 / Merverdiavgift 25 % 2 255,00 / Å betale 11 275,00") is the
    subtotal, not the total."""
    for cand in list(raw["total"]):
        if cand.label != "plain" and not _NET_TOTAL.search(cand.text):
            continue
        if any(
            tax.value > 0
            and tax.line > cand.line
            and any(o.value == cand.value + tax.value and o.line > tax.line for o in raw["total"])
            for tax in raw["tax"]
        ):
            raw["total"].remove(cand)
            raw["subtotal"].append(Candidate(cand.value, 0.8, cand.line, "subtotal", cand.text))


_UNITS = (
    "zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen "
    "fifteen sixteen seventeen eighteen nineteen"
)
_TENS = "twenty thirty forty fifty sixty seventy eighty ninety"
_NUMBER_WORDS = {
    **{w: n for n, w in enumerate(_UNITS.split())},
    **{w: 10 * n for n, w in enumerate(_TENS.split(), 2)},
}
_SCALES = {"thousand": 10**3, "lakh": 10**5, "lakhs": 10**5, "lac": 10**5, "lacs": 10**5,
           "million": 10**6, "crore": 10**7, "crores": 10**7, "billion": 10**9}  # fmt: skip
#: Words an amount in words may hold besides numbers: its currency, "and", "only".
_WORDS_FILLER = frozenset((
    "and", "only", "inr", "rs", "rupees", "rupee", "usd", "dollars", "dollar", "eur", "euros",
    "euro", "gbp", "pounds", "pound", "sterling", "aed", "dirhams", "sgd", "myr", "ringgit",
    "zar", "rand",
))  # fmt: skip
#: Where an invoice writes its amount in words: "Amount Chargeable (in words)", "Amount in
#: words:", "Rupees ... Only", "Say: ...". Not the tax's ("Tax Amount (in words)").
_IN_WORDS = re.compile(r"\bin\s+words\b|\bsay\b|\bonly\s*$", _I)


def _words_value(text: str) -> int | None:
    """An amount written in English words ("Four Lakh Twelve Thousand Four Hundred Ten"),
    or None when the text holds anything else (or fewer than two number words)."""
    total = current = 0
    count = 0
    for word in re.findall(r"[a-z]+", text.casefold().replace("-", " ")):
        if word in _NUMBER_WORDS:
            current += _NUMBER_WORDS[word]
        elif word == "hundred":
            current = max(current, 1) * 100
        elif word in _SCALES:
            total += max(current, 1) * _SCALES[word]
            current = 0
        elif word in _WORDS_FILLER:
            continue
        else:
            return None
        count += 1
    return total + current if count >= 2 else None


def _total_in_words(doc: Document) -> tuple[int, Decimal] | None:
    """The total written out in words, and its line: a line (or the one under its label)
    that is nothing but an amount in words, labelled or ending in "only", where the same
    amount is printed in figures too. Cents and paise after "and ... paise" are left out:
    then no figure matches and nothing is said."""
    for index, line in enumerate(doc.lines):
        label = doc.lines[index - 1] if index else ""
        if not (_IN_WORDS.search(line) or _IN_WORDS.search(label)):
            continue
        if "tax" in line.casefold().split(":")[0] or (
            "tax" in label.casefold() and not _IN_WORDS.search(line)
        ):
            continue  # the tax in words
        text = line.split(":", 1)[-1]
        text = re.sub(r"\(?\bin\s+words\)?|\bamount\b|\bchargeable\b|\bsay\b", " ", text, flags=_I)
        value = _words_value(text)
        if value is not None and Decimal(value) in _all_amounts(doc):
            return index, Decimal(value).quantize(Decimal("0.01"))
    return None


def _credit_note(doc: Document) -> bool:
    """Whether a line near the top says credit note, or the title does in any of the
    languages `_title` knows ("KREDITFAKTURA", "Hyvityslasku", "Dobropis")."""

    def read() -> bool:
        if any(_CREDIT_NOTE.match(x) for x in doc.lines[:20]):
            return True
        title = document_title("\n".join(doc.lines[:40]))
        return title is not None and title.kind == "credit_note"

    return doc.memo("credit", read)


def _last_column(doc: Document, index: int) -> tuple[int, Decimal] | None:
    """The sum under a table's last column: "Warenwert ... MwSt-Betrag Endbetrag" over
    rows of amounts, the last of which is the sum row."""
    line = doc.lines[index]
    if len(line.split()) < 3 or find_amounts(doc, index):
        return None
    found: tuple[int, Decimal] | None = None
    below = index + 1
    while below < len(doc) and below - index <= 12:
        amounts = find_amounts(doc, below)
        tail = without_currency(doc.lines[below][amounts[-1][1] :]) if amounts else "x"
        if len(amounts) < 2 or tail.strip(" €$£"):
            break
        found = below, amounts[-1][2]
        below += 1
    if found is not None and _item_row(doc.lines[found[0]]):
        return None  # the rows are items ("Kabel CYKY-J 3x2,5 150 m 38,50 21 % 5 775,00")
    return found


def _item_row(line: str) -> bool:
    """Whether a row of a table describes an item (two words or more, none of them a sum's
    label) rather than sums ("21 % 16 747,00 3 516,87", "Summe 100,00 19,00 119,00")."""
    return len(_LABEL_WORDS.findall(line)) >= 2 and not (
        _PLAIN.search(line) or _GROSS.search(line) or _DUE.search(line)
    )


def _speaks_of_money(doc: Document) -> bool:
    """Whether a sum label or a currency appears at all: without one, no amount is guessed."""
    words = (_PLAIN, _AMOUNT_WORD, _CASH)
    return any(w.search(line) for line in doc.lines for w in words) or bool(find_currency(doc))


def _likeliest(doc: Document) -> Decimal | None:
    """With no usable label: the amount with cents written most often (a receipt repeats
    its total), then the largest; None when no amount has cents."""
    cents: dict[Decimal, int] = {}
    for i in range(len(doc)):
        for _, _, value in find_amounts(doc, i):
            if value > 0 and value.as_tuple().exponent == -2:
                cents[value] = cents.get(value, 0) + 1
    return max(cents, key=lambda v: (cents[v], v)) if cents else None


def _all_amounts(doc: Document) -> set[Decimal]:
    """Every amount printed in the document (read once: the cross-check and the total in
    words both ask)."""
    return doc.memo(
        "all_amounts", lambda: {a[2] for i in range(len(doc)) for a in find_amounts(doc, i)}
    )


def _payments(doc: Document) -> list[tuple[int, Decimal]]:
    """(line, amount) of each amount labelled as paid ("Deposit received", "Anzahlung"); read
    once per document (`carried_over` and `_after_payments` both ask)."""
    return doc.memo(
        "payments",
        lambda: [(line, abs(amount)) for line, amount, _ in labelled_amounts(doc, _PAID)],
    )


def _after_payments(
    doc: Document,
    totals: list[Candidate[Decimal]],
    confirmed: set[Decimal],
    present: set[Decimal],
    carrying: set[Decimal],
) -> list[Candidate[Decimal]]:
    """An amount still due after a payment or prepayment ("Balance due", "Zahlbetrag") is
    not the invoice's total. Unless the document's arithmetic confirms it (subtotal + tax,
    cash - change), it goes below a larger total that exceeds it by an amount the document
    shows (the payment, 1 or more: not a rounding), when subtotal + tax confirm that total,
    or when that total is a gross total ("Bruttosumme", "Invoice total") and a payment of
    the difference stands on a line between the two; and below the rest of an amount due
    that carries an earlier balance (`carried_over`)."""
    present = {abs(value) for value in present}  # a payment is often written as a minus
    payments = _payments(doc)

    def paid_between(top: Candidate[Decimal], due: Candidate[Decimal]) -> bool:
        paid = top.value - due.value
        return (
            top.label == "gross"
            and 0 <= top.line < due.line
            and any(top.line < line < due.line and amount == paid for line, amount in payments)
        )

    out: list[Candidate[Decimal]] = []
    for cand in totals:
        if cand.label == "due" and cand.value not in confirmed:
            above = [
                c
                for c in totals
                if c.value - cand.value >= 1
                and (
                    (c.value in confirmed and c.value - cand.value in present)
                    or paid_between(c, cand)
                )
            ]
            if above:
                cand = cand.but(min(cand.confidence, max(c.confidence for c in above) - 0.05))
            elif cand.value in carrying:
                # it adds an earlier balance to this invoice's total: the total is the rest
                # (`_cross_check` adds it), not the amount due
                cand = cand.but(min(cand.confidence, 0.55))
        out.append(cand)
    return out


def balance_due(doc: Document, total: Decimal) -> Candidate[Decimal] | None:
    """What is left to pay of `total` after a deposit or prepayment the document shows
    ("Less: Deposit received -R 31 510.00 / AMOUNT DUE R 31 510.00"): an amount labelled as
    due, below the total by exactly a payment's amount. None when nothing was paid."""
    payments = {amount for _, amount in _payments(doc)}
    for cand in find_totals(doc)["total"]:
        if cand.label == "due" and 0 < cand.value < total and total - cand.value in payments:
            return cand
    return None


def carried_over(
    doc: Document, totals: list[Candidate[Decimal]], confirmed: set[Decimal]
) -> list[tuple[Decimal, Decimal]]:
    """(amount due, the rest) for an amount due that carries an earlier balance ("Previous
    balance", "Ausstehende Forderung") not paid since, where the rest stands on a line above
    the amount due and the document's arithmetic does not confirm the amount due."""
    paid = {amount for _, amount in _payments(doc)}
    carried = [
        amount
        for _, amount, _ in labelled_amounts(doc, _CARRIED)
        if amount > 0 and amount not in paid
    ]
    out: list[tuple[Decimal, Decimal]] = []
    for c in totals:
        if c.label != "due" or c.value in confirmed or c.line < 0:
            continue
        above = {a[2] for i in range(c.line) for a in find_amounts(doc, i)}
        out.extend(
            (c.value, c.value - p) for p in carried if c.value - p > 0 and c.value - p in above
        )
    return out


def _cross_check(
    doc: Document, raw: dict[str, list[Candidate[Decimal]]]
) -> list[Candidate[Decimal]]:
    """Raise the totals that the document's arithmetic agrees with, add the ones it implies."""
    totals = raw["total"]
    present = _all_amounts(doc)
    implied: list[tuple[Decimal, str]] = []
    cash = labelled_amounts(doc, _CASH)
    change = labelled_amounts(doc, _CHANGE)
    if cash and change and cash[-1][1] >= change[-1][1]:
        implied.append((cash[-1][1] - change[-1][1], "cash-change"))
    roundings = rounding_amounts(doc)
    for rounding in roundings:
        implied.extend((t.value + rounding, "rounding") for t in totals)
    for sub in raw["subtotal"][:3]:
        # a zero line among taxed rates ("IVA 27%: 0,00" beside "IVA 21%: 195.300,00")
        # implies nothing: the net is no total there
        taxed = any(tax.value for tax in raw["tax"])
        implied.extend(
            (sub.value + tax.value, "sub+tax") for tax in raw["tax"] if tax.value or not taxed
        )
    confirmed = {value for value, why in implied if why in ("sub+tax", "cash-change")}
    rests = carried_over(doc, totals, confirmed)
    implied.extend((rest, "less carried balance") for _, rest in rests)
    values = {t.value for t in totals}
    cents = any("." in str(t.value) for t in totals)
    out: list[Candidate[Decimal]] = []
    for cand in totals:
        boost = sum(0.08 for value, _ in implied if value == cand.value)
        # what rounding takes off: after the cap, so a sure label cannot outweigh it
        penalty = 0.1 if any(cand.value + r in values for r in roundings) else 0.0
        if cents and "." not in str(cand.value):
            boost -= 0.2
        repeats = sum(1 for other in totals if other.value == cand.value) - 1
        boost += min(repeats, 2) * 0.03
        if totals and cand.value == max(t.value for t in totals):
            boost += 0.02
        out.append(cand.but(min(cand.confidence + boost, 0.97) - penalty))
    out = _after_payments(doc, out, confirmed, present, {due for due, _ in rests})
    known = {c.value for c in out}
    for value, why in implied:
        if value > 0 and value not in known and value in present:
            support = sum(1 for v, _ in implied if v == value)
            out.append(Candidate(value, 0.6 + 0.1 * support, -1, why, why))
            known.add(value)
    if not out and _speaks_of_money(doc) and (guess := _likeliest(doc)) is not None:
        out.append(Candidate(guess, 0.3, -1, "unlabelled", "most repeated amount"))
    return out
