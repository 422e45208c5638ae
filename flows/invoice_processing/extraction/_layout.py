"""A second reading of a PDF from its word positions: lines, columns, labels and values.

The page text in reading order loses what the page says by position: a value set below its
label in the same column, a table header row over its values, two columns merged into one
line, a name set in the largest type at the top. From the words' boxes (`bpa.layout`) this
module rebuilds the page as text the finders of this package read like any other: one line
per visual line with its columns (segments) kept apart, a "label: value" line for each
label whose value sits below it, and the letterhead (the largest type at the top of the
first page) first. The labels are general (the finders' multilingual label rules decide
what a label means); nothing here is keyed to a known document.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from flows.invoice_processing.extraction._parties import ends_with_legal_form, party_heading

__all__ = ["LayoutWord", "layout_text"]


class LayoutWord(Protocol):
    """What a positioned word must offer (`bpa.layout.PageWord` does)."""

    @property
    def text(self) -> str: ...
    @property
    def page(self) -> int: ...
    @property
    def x0(self) -> float: ...
    @property
    def x1(self) -> float: ...
    @property
    def top(self) -> float: ...
    @property
    def bottom(self) -> float: ...
    @property
    def size(self) -> float: ...


@dataclass
class _Segment:
    """Words of one line that belong together: a column cell."""

    text: str
    x0: float
    x1: float
    top: float
    bottom: float
    size: float


_DIGIT = re.compile(r"\d")
_LETTERS = re.compile(r"[^\W\d_]{2,}")
#: A cell that is a label: a few words, no digits, starting with a letter ("N° de facture").
_LABEL_CELL = re.compile(r"^[^\W\d_][^\d@]*$")
#: How a label cell ends when it is not in a header row: a colon, or a number word.
_LABEL_END = re.compile(
    r"(?::|#|\b(?:no|nr|n\.?\s?[°º]|n\.o|number|nummer|num[eé]ro|número|numer)\.?)\s*$", re.I
)
#: A title, not a name, even in the largest type.
_TITLE = re.compile(
    r"^\W*(?:\w+\s+)?(?:invoice|rechnung|facture|factura|fattura|factuur|faktura|fatura|"
    r"receipt|credit\s+note|gutschrift|avoir|nota|abono|creditnota|quittung|bill)\b",
    re.IGNORECASE,
)


def _lines(words: Sequence[LayoutWord]) -> list[list[_Segment]]:
    """Words grouped into visual lines (page by page, top to bottom), each cut into cells
    where the gap between two words is wider than a space of their type."""
    ordered = sorted(words, key=lambda w: (w.page, round(w.top, 1), w.x0))
    rows: list[list[LayoutWord]] = []
    for word in ordered:
        if not word.text.strip():
            continue
        row = rows[-1] if rows else None
        if row is not None and row[0].page == word.page:
            middle = (row[0].top + row[0].bottom) / 2
            tolerance = max(2.0, 0.45 * max(row[0].size, word.size))
            if abs((word.top + word.bottom) / 2 - middle) <= tolerance:
                row.append(word)
                continue
        rows.append([word])
    lines: list[list[_Segment]] = []
    for row in rows:
        row.sort(key=lambda w: w.x0)
        cells: list[_Segment] = []
        for word in row:
            size = word.size or (word.bottom - word.top) or 10.0
            last = cells[-1] if cells else None
            if last is not None and word.x0 - last.x1 <= 0.9 * max(size, last.size):
                last.text = f"{last.text} {word.text}"
                last.x1 = max(last.x1, word.x1)
                last.bottom = max(last.bottom, word.bottom)
                continue
            cells.append(_Segment(word.text, word.x0, word.x1, word.top, word.bottom, size))
        lines.append(cells)
    return lines


def _is_label(cell: _Segment) -> bool:
    text = cell.text.strip()
    return (
        len(text) <= 40
        and not _DIGIT.search(text)
        and bool(_LETTERS.search(text))
        and bool(_LABEL_CELL.match(text))
        and len(text.split()) <= 6
        and not ends_with_legal_form(text)  # a name ("Dupont & Fils SAS"), not a label
    )


def _overlaps(a: _Segment, b: _Segment) -> bool:
    """Whether `b` sits in `a`'s column: their spans overlap, or their left or right edges
    align (a value left-aligned under its label, or right-aligned in an amount column)."""
    slack = 0.6 * a.size
    if min(a.x1, b.x1) - max(a.x0, b.x0) > 0:
        return True
    return abs(a.x0 - b.x0) <= slack or abs(a.x1 - b.x1) <= slack


def _header_row(labels: list[_Segment], values: list[_Segment]) -> bool:
    """Whether a line of labels heads the line below: as many cells, each under its own."""
    return (
        len(labels) >= 2
        and len(labels) == len(values)
        and all(_is_label(c) and not c.text.rstrip().endswith(":") for c in labels)
        and all(_overlaps(a, b) for a, b in zip(labels, values, strict=True))
        and any(_DIGIT.search(c.text) for c in values)
    )


def _below(lines: list[list[_Segment]], index: int, cell: _Segment) -> _Segment | None:
    """The value right below a label in its column, on the next line (not further than two
    line heights), if that line has one cell there and it is not a label itself."""
    if index + 1 >= len(lines):
        return None
    below = [c for c in lines[index + 1] if _overlaps(cell, c)]
    if len(below) != 1 or _is_label(below[0]):
        return None
    value = below[0]
    if ":" in value.text:
        return None  # a label with its own value
    if value.top - cell.bottom > 2.0 * cell.size or value.top < cell.top:
        return None
    return value


def _letterhead(lines: list[list[_Segment]]) -> str | None:
    """The cell in the largest type in the top third of the first page, when it is larger
    than the body text and is not the document's title: the issuer's name, usually."""
    cells = [c for line in lines for c in line]
    if not cells:
        return None
    sizes = sorted(c.size for c in cells)
    body = sizes[len(sizes) // 2]
    height = max(c.bottom for c in cells)
    top = [c for c in cells if c.top <= height / 3 and c.size >= 1.2 * body]
    top = [c for c in top if not _TITLE.match(c.text) and not _DIGIT.search(c.text)]
    if not top:
        return None
    biggest = max(top, key=lambda c: (c.size, -c.top))
    return biggest.text if len(_LETTERS.findall(biggest.text)) >= 1 else None


def _wrapped_name(lines: list[list[_Segment]]) -> str | None:
    """A name wrapped over the first two lines of the page ("MVM Musterhafter" /
    "Versicherungsverein Musterstadt a.G."): one cell each, the second closing with a legal
    form, set in the same type, left-aligned and a line apart, the first without digits or
    a word of the second (a brand over its company's name, "ACME" / "Acme Tools Ltd", is
    not a part of it). None otherwise."""
    if len(lines) < 2 or len(lines[0]) != 1 or not lines[1]:
        return None
    upper, lower = lines[0][0], lines[1][0]
    words = upper.text.split()
    if (
        not ends_with_legal_form(lower.text)
        or ends_with_legal_form(upper.text)
        or _DIGIT.search(upper.text)
        or not upper.text[:1].isupper()
        or len(words) > 4
        or _TITLE.match(upper.text)
        or party_heading(upper.text) is not None
        or {w.casefold() for w in words} & {w.casefold() for w in lower.text.split()}
    ):
        return None
    aligned = abs(upper.x0 - lower.x0) <= 0.6 * upper.size
    same_type = abs(upper.size - lower.size) <= 0.5
    close = 0 <= lower.top - upper.bottom <= 0.8 * upper.size
    return f"{upper.text} {lower.text}" if aligned and same_type and close else None


def _party_columns(lines: list[list[_Segment]], index: int) -> tuple[list[str], set[int]] | None:
    """Seller and buyer set side by side ("Émetteur    Destinataire" over two address
    blocks): each party's block as lines of its own, heading first, so that neither takes
    the other's lines; and the rows so read. None unless the row heads such columns."""
    heads = lines[index]
    if len(heads) < 2 or {party_heading(c.text) for c in heads} != {"seller", "buyer"}:
        return None
    starts = [c.x0 for c in heads]
    blocks: list[list[str]] = [[c.text.rstrip(" :")] for c in heads]
    used: set[int] = set()
    for below in range(index + 1, min(len(lines), index + 8)):
        row = lines[below]
        if len(row) > len(heads) or row[0].top - lines[below - 1][-1].bottom > 2.5 * row[0].size:
            break
        slots = [
            max(k for k, x in enumerate(starts) if c.x0 >= x - 0.6 * c.size)
            for c in row
            if c.x0 >= starts[0] - 0.6 * c.size
        ]
        if len(slots) != len(row) or len(set(slots)) != len(slots):
            break
        for cell, slot in zip(row, slots, strict=True):
            blocks[slot].append(cell.text)
        used.add(below)
    if not used:
        return None
    return [text for block in blocks for text in block], used


def layout_text(words: Sequence[LayoutWord]) -> str:
    """The page rebuilt from word positions as text for the finders (see the module doc)."""
    first_page = [w for w in words if w.page == 0]
    lines = _lines(words)
    out: list[str] = []
    head = _letterhead(_lines(first_page))
    if head:
        out.append(head)
    skip: set[int] = set()
    if (name := _wrapped_name(lines)) is not None:
        lines[1][0].text = name  # read as one line, where its second part is
        skip.add(0)
    for index, line in enumerate(lines):
        if index in skip:
            continue
        if (columns := _party_columns(lines, index)) is not None:
            out.extend(columns[0])
            skip.update(columns[1])
            continue
        out.append("    ".join(c.text for c in line))
        if index == 0:
            continue
        above = lines[index - 1]
        header = _header_row(above, line)
        if header and index + 1 < len(lines) and _header_row(above, lines[index + 1]):
            header = False  # a table's headings over several rows ("Netto  MwSt  Brutto" per
            # VAT rate): its first row is no more the page's value than any other
        for cell in above:
            if not _is_label(cell) or not (header or _LABEL_END.search(cell.text)):
                continue
            beside = [c for c in above if c.x0 > cell.x1]
            if beside and not header and not _LABEL_END.search(beside[0].text):
                continue  # its value is right of it
            value = _below(lines, index - 1, cell)
            if value is not None and (_DIGIT.search(value.text) or not header):
                out.append(f"{cell.text.rstrip(' :')}: {value.text}")
    return "\n".join(out)
