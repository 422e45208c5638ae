"""Words of a PDF's text layer with where they sit on the page, for readers that use layout.

`bpa.readers.read_document` gives a document's text in reading order; a form or an invoice
also says things by position (a value right of its label, or below it in the same column).
This module reads the words with their boxes and font size through pdfplumber. It never
raises: a PDF it cannot lay out gives no words, and the text path goes on alone.
"""

from __future__ import annotations

import io
import logging
from dataclasses import dataclass

__all__ = ["PageWord", "pdf_words"]

#: Pages laid out at most: the fields of an invoice are on its first pages.
MAX_PAGES = 3
#: Words kept at most, so that a huge page costs a bounded amount of work downstream.
MAX_WORDS = 4000

for _name in ("pdfminer", "pdfplumber"):
    logging.getLogger(_name).setLevel(logging.ERROR)


@dataclass(frozen=True, slots=True)
class PageWord:
    """One word: its page (0-based), box in points from the page's top left, font size."""

    text: str
    page: int
    x0: float
    x1: float
    top: float
    bottom: float
    size: float
    bold: bool = False


def pdf_words(data: bytes, max_pages: int = MAX_PAGES) -> list[PageWord]:
    """The words of the first `max_pages` pages, in page order; [] when there are none."""
    if not data.startswith(b"%PDF-"):
        return []
    try:
        import pdfplumber

        words: list[PageWord] = []
        with pdfplumber.open(io.BytesIO(data)) as pdf:
            for number, page in enumerate(pdf.pages[:max_pages]):
                for w in page.extract_words(extra_attrs=["size", "fontname"], x_tolerance=1.5):
                    font = str(w.get("fontname") or "").casefold()
                    words.append(
                        PageWord(
                            text=str(w["text"]),
                            page=number,
                            x0=float(w["x0"]),
                            x1=float(w["x1"]),
                            top=float(w["top"]),
                            bottom=float(w["bottom"]),
                            size=float(w.get("size") or 0.0),
                            bold="bold" in font or "black" in font or "heavy" in font,
                        )
                    )
                    if len(words) >= MAX_WORDS:
                        return words
        return words
    except Exception:  # a malformed PDF: the text reader reports it; layout is a bonus
        return []
