"""Line items: the rows of an invoice's table (description, quantity, unit price, amount).

A row is only looked for below a header that names at least two columns (in several
languages) and above the first sum label. Numbers are read from the right end of a row,
where tables put them; a row whose quantity x unit price equals its amount is trusted
more than one that only looks like a row.
"""

from __future__ import annotations

import re
from decimal import Decimal

from flows.invoice_processing.extraction._candidate import Candidate, Document
from flows.invoice_processing.extraction._money import (
    decimal_separator,
    parse_amount,
    space_grouped,
)

__all__ = ["RowValue", "find_line_items"]

_I = re.IGNORECASE
_COLUMNS = {
    "description": re.compile(
        r"\b(?:description|item|article|artikel|bezeichnung|beschreibung|leistung|produkt|"
        r"product|service|désignation|designation|libellé|descripción|concepto|descrizione|"
        r"articolo|omschrijving|artikel|code/desc|desc|descrição|descricao|designação|artigo|"
        r"nazwa(?:\s+towaru)?|towar)\b",
        _I,
    ),
    "qty": re.compile(
        r"\b(?:qty|quantity|menge|anzahl|qté|quantité|cantidad|cant\.?|quantità|qtà|aantal|"
        r"hours|hrs|units|stk|q\.t[àa]|qtd|quantidade|ilość|ilosc)\b",
        _I,
    ),
    "price": re.compile(
        r"\b(?:price|unit\s+price|unit\s+cost|rate|einzelpreis|preis|e-preis|prix|pu|precio|"
        r"prezzo|prijs|stukprijs|eenheidsprijs|stückpreis|tarif|preço|preco|cena)\b|"
        r"(?<!\w)(?:p\.\s?u\.?|u/p)(?!\w)",
        _I,
    ),
    "amount": re.compile(
        r"\b(?:amount|total|betrag|gesamt|gesamtpreis|montant|importe|importo|bedrag|"
        r"line\s+total|summe|amt|valor|wartość|wartosc|kwota)\b",
        _I,
    ),
}
_END = re.compile(
    r"^\W*(?:sub\s*-?\s*total|total|zwischensumme|summe|gesamt|netto|montant|total\s+ht|"
    r"base\s+imponible|subtotaal|totaal|imponibile|razem|vat|tax|mwst|ust|tva|iva|btw)\b",
    _I,
)
_NUMERIC = re.compile(r"^[-−]?(?:[€$£]|RM|EUR|USD|GBP|CHF)?[\d.,'’\u00a0]*\d(?:[€$£%]|EUR)?$")
_UNIT = re.compile(
    r"^(?:x|pcs?|stk\.?|h|hrs?|st\.?|pc\.?|units?|€|\$|£|₹|eur|usd|gbp|chf|r|zar|kr|kč|zł|ft"
    r"|лв\.?|lei|sek|nok|dkk|pln|czk|huf|ron|bgn)$",
    _I,
)

_MONEY = (
    r"[-−]?(?:[€$£]|RM|[A-Z]{3})?\s?\d{1,3}(?:[ \u00a0.,'’]\d{3})*(?:[.,]\d{1,2})?"
    r"(?:\s?(?:[€$£]|[A-Z]{3}))?"
)
_PROSE = re.compile(
    rf"^\W{{0,3}}(?P<qty>\d+(?:[.,]\d+)?)\s*(?:[×x*]|pcs?\.?|stk\.?)\s+(?P<desc>.+?)\s+"
    rf"(?:at|à|a|zu|je|po|@|per)\s+(?P<unit>{_MONEY})\s*(?:each|/\s?\w+|pro\s+\w+|chacun|cada|"
    rf"l'unité|la\s+pièce|pièce|cad\.|ciascuno|per\s+stuk|elk|por\s+unidade|za\s+szt\.)?"
    rf"\s*[:=,–-]\s*(?P<amount>{_MONEY})\s*$",
    _I,
)

_SPACE_GROUPED = re.compile(r"[-−]?\d{1,3}(?: \d{3})+(?:,\d{1,2})?(?:\s?(?:[€$£]|[A-Z]{3}))?")

RowValue = tuple[str, Decimal | None, Decimal | None, Decimal | None]


def _column_kinds(text: str) -> list[str]:
    """Which columns a header text names, in reading order."""
    found = [(m.start(), kind) for kind, column in _COLUMNS.items() if (m := column.search(text))]
    return [kind for _, kind in sorted(found)]


def _header(doc: Document) -> tuple[int, int, list[str]] | None:
    """(first line, number of lines, column kinds) of the items table's header.

    A header is one line naming three columns, or (as PDF text extraction gives a table
    cell by cell) a run of three or more short lines naming one column each.
    """
    named = [_column_kinds(line) if len(line) < 200 else [] for line in doc.lines]
    for index, kinds in enumerate(named):
        if len(kinds) >= 3:
            return index, 1, kinds
        run: list[str] = []
        while index + len(run) < len(doc) and len(run) < 8:
            cell_kinds = named[index + len(run)]
            if len(doc.lines[index + len(run)]) > 30 or len(cell_kinds) != 1:
                break
            run.append(cell_kinds[0])
        if len(run) >= 3:
            return index, len(run), run
    return None


def _tokens(line: str) -> list[str]:
    """The row's words, an amount grouped by spaces beside its currency as one ("R 24 500.00",
    "2 730,00 лв.")."""
    return space_grouped(line).replace("\u00a0", "").split()


def _numbers(tokens: list[str], decimal: str) -> tuple[int, list[Decimal]] | None:
    """Where the trailing numbers of a row start, and their values (rates left out)."""
    numbers: list[Decimal] = []
    cut = len(tokens)
    while cut > 0:
        token = tokens[cut - 1]
        if _UNIT.match(token) or token == "%":
            cut -= 1
            continue
        if not _NUMERIC.match(token):
            break
        cut -= 1
        if token.endswith("%") or (cut < len(tokens) - 1 and tokens[cut + 1] == "%"):
            continue
        value = parse_amount(token, decimal)
        if value is None:
            return None
        numbers.insert(0, value)
    return cut, numbers


def _assemble(
    description: str, numbers: list[Decimal], kinds: list[str]
) -> tuple[RowValue, float] | None:
    description = re.sub(r"^\d{1,3}[.)]?\s+(?=\D)", "", description).strip(" -|")
    if len(numbers) < 2 or sum(ch.isalpha() for ch in description) < 2:
        return None
    amount = numbers[-1]
    quantity: Decimal | None
    unit: Decimal | None
    if len(numbers) >= 3:
        quantity, unit = numbers[0], numbers[-2]
        if "qty" in kinds and "price" in kinds and kinds.index("price") < kinds.index("qty"):
            quantity, unit = unit, quantity
    elif numbers[0] != 0 and numbers[0] == numbers[0].to_integral_value():
        quantity, unit = numbers[0], (amount / numbers[0]).quantize(Decimal("0.01"))
    else:
        quantity, unit = None, numbers[0]
    consistent = (
        quantity is not None
        and unit is not None
        and abs(quantity * unit - amount) <= max(Decimal("0.011"), abs(amount) * Decimal("0.001"))
    )
    confidence = 0.85 if consistent and len(numbers) >= 3 else 0.5
    return (description, quantity, unit, amount), confidence


def _kept(numbers: list[Decimal], columns: int) -> int:
    """How many trailing numbers are the row's columns: the header's count, or three when
    the last three read as quantity x unit price = amount."""
    if len(numbers) >= 3:
        quantity, unit, amount = numbers[-3:]
        if abs(quantity * unit - amount) <= Decimal("0.011"):
            return 3
    return min(columns, len(numbers))


def _cut_before(tokens: list[str], extra: int, cut: int) -> int:
    """Move the description's end right past `extra` numeric tokens."""
    while extra > 0 and cut < len(tokens):
        if _NUMERIC.match(tokens[cut]) and not tokens[cut].endswith("%"):
            extra -= 1
        cut += 1
    return cut


def _numeric_line(line: str, decimal: str) -> list[Decimal] | None:
    """The numbers of a line that holds nothing else (one table cell, as PDF text gives it)."""
    if decimal == "," and _SPACE_GROUPED.fullmatch(line):
        line = line.replace(" ", "")
    split = _numbers(_tokens(line), decimal)
    if split is None or split[0] != 0:
        return None
    return split[1]


def _prose_items(doc: Document, decimal: str) -> list[Candidate[RowValue]]:
    """Items written as sentences in a letter: "40 × Pallet storage at €12.50 each: €500.00"."""
    rows: list[Candidate[RowValue]] = []
    for index, line in enumerate(doc.lines):
        m = _PROSE.match(line)
        if m is None:
            continue
        quantity = parse_amount(m.group("qty"), decimal)
        unit = parse_amount(m.group("unit"), decimal)
        amount = parse_amount(m.group("amount"), decimal)
        if quantity is None or unit is None or amount is None:
            continue
        consistent = abs(quantity * unit - amount) <= Decimal("0.011")
        value = (m.group("desc").strip(" ,"), quantity, unit, amount)
        rows.append(Candidate(value, 0.8 if consistent else 0.45, index, "item", line))
    return rows


def find_line_items(doc: Document) -> list[Candidate[RowValue]]:
    """Rows of the items table as (description, quantity, unit price, amount)."""

    def build() -> list[Candidate[RowValue]]:
        header = _header(doc)
        if header is None:
            return _prose_items(doc, decimal_separator(doc))
        start, size, kinds = header
        columns = max(2, sum(1 for kind in kinds if kind != "description"))
        qty_first = "description" in kinds and "qty" in kinds[: kinds.index("description")]
        decimal = decimal_separator(doc)
        rows: list[Candidate[RowValue]] = []
        index, end = start + size, min(len(doc), start + size + 400)
        while index < end and not _END.match(doc.lines[index]):
            first = index
            split = _numbers(_tokens(doc.lines[index]), decimal)
            cell_by_cell = (
                size > 1
                and index + 1 < end
                and _numeric_line(doc.lines[index + 1], decimal) is not None
            )
            if not cell_by_cell and split is not None and split[0] > 0 and len(split[1]) >= 2:
                cut, numbers = split
                tokens = _tokens(doc.lines[index])
                keep = _kept(numbers, columns)
                if len(numbers) > keep:
                    # Numbers that end a description ("Cleaning, January 2026") stay in it.
                    cut = _cut_before(tokens, len(numbers) - keep, cut)
                    numbers = numbers[-keep:]
                start_at = 0
                if qty_first and cut > 1 and _NUMERIC.match(tokens[0]):
                    leading = parse_amount(tokens[0], decimal)
                    if leading is not None and len(numbers) < 3:
                        numbers.insert(0, leading)
                        start_at = 1
                description = " ".join(tokens[start_at:cut])
                index += 1
            else:
                description = doc.lines[index]
                index += 1
                numbers = []
                while (
                    index < end
                    and len(numbers) < columns
                    and (values := _numeric_line(doc.lines[index], decimal)) is not None
                ):
                    numbers.extend(values)
                    index += 1
                if not numbers:
                    continue
            parsed = _assemble(description, numbers, kinds)
            if parsed is not None:
                value, confidence = parsed
                rows.append(Candidate(value, confidence, first, "item", doc.lines[first]))
        return rows

    return doc.memo("items", build)
