"""The two shapes every finder of the text toolkit shares: a `Document` and a `Candidate`.

Finders never decide alone: each returns candidates with a confidence, and the caller
(`flows.invoice_processing.offline`) picks, cross-checks and explains. The document is
split and cleaned once so that every finder sees the same line numbers.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

__all__ = ["MAX_CHARS", "MAX_LINE", "Candidate", "Document", "best"]

V = TypeVar("V")

#: Longer input is cut: a real invoice is far shorter, and the finders stay linear.
MAX_CHARS = 100_000
MAX_LINE = 400

_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ufffd]")
_SPACES = re.compile(r"[ \t\u2000-\u200b\u3000]+")
_NBSP = re.compile(r"[\u00a0\u202f\u2007]")


#: A number with OCR's usual confusions: "l" or "I" read for 1, "O" for 0 ("3 252,2l",
#: "l2.03.2026", "57l30"): two digits at least, nothing but digits, those letters and
#: separators. Read as digits only in a text with several (`_OCR_NOISY`): a clean page's
#: "1.5l kettle" stays as written.
_OCR_DIGITS = re.compile(
    r"(?<![^\s(])(?=[\dlIO.,:/-]*\d[\dlIO.,:/-]*\d)(?=[\d.,:/-]*[lIO])[\dlIO.,:/-]+(?![^\s)])"
)
_OCR_NOISY = 3


def _as_digits(m: re.Match[str]) -> str:
    return m.group(0).translate(_OCR_MAP)


_OCR_MAP = str.maketrans({"l": "1", "I": "1", "O": "0"})


@dataclass(frozen=True, slots=True)
class Candidate(Generic[V]):
    """One possible value for a field, with where it was found and why it is believed."""

    value: V
    confidence: float
    line: int = -1
    #: What kind of evidence introduced it: a label class ("due", "issue", "vat", ...).
    label: str | None = None
    #: The snippet it was read from, for notes and debugging.
    text: str = ""
    #: What was guessed to read it, for the extraction's notes ("" when nothing was).
    note: str = ""

    def but(self, confidence: float) -> Candidate[V]:
        """The same candidate with another confidence, clipped to [0, 1]."""
        clipped = max(0.0, min(1.0, confidence))
        return Candidate(self.value, clipped, self.line, self.label, self.text, self.note)


def best(candidates: list[Candidate[V]]) -> Candidate[V] | None:
    """The most confident candidate; on a tie, the one found first."""
    if not candidates:
        return None
    return max(candidates, key=lambda c: (c.confidence, -c.line))


def _clean_line(line: str) -> str:
    # NFKC folds ligatures and full-width digits, but would turn the no-break spaces that
    # group thousands ("1 234,56") into plain ones, so it runs around them.
    parts = _NBSP.split(line)
    line = "\u00a0".join(unicodedata.normalize("NFKC", part) for part in parts)
    # NFKC splits the Thai and Lao vowel "am" in two; the text keeps the one letter
    line = line.replace("\u0e4d\u0e32", "\u0e33").replace("\u0ecd\u0eb2", "\u0eb3")
    return _SPACES.sub(" ", _CONTROL.sub(" ", line)).strip()


def _wrapped(line: str) -> list[str]:
    """A line longer than any real one, cut at spaces, so no finder works on a huge line."""
    if len(line) <= MAX_LINE:
        return [line]
    parts: list[str] = []
    while len(line) > MAX_LINE:
        cut = line.rfind(" ", 0, MAX_LINE)
        cut = cut if cut > MAX_LINE // 2 else MAX_LINE
        parts.append(line[:cut].strip())
        line = line[cut:].strip()
    return [*parts, line] if line else parts


class Document:
    """Text split once into cleaned, non-empty lines (plus their case-folded twins)."""

    __slots__ = ("_memo", "lines", "lower", "truncated")

    def __init__(self, text: str) -> None:
        if not isinstance(text, str):
            text = str(text or "")
        self.truncated = len(text) > MAX_CHARS
        text = text[:MAX_CHARS].replace("\r\n", "\n").replace("\r", "\n")
        lines = [_clean_line(raw) for raw in text.split("\n")]
        if sum(len(_OCR_DIGITS.findall(line)) for line in lines) >= _OCR_NOISY:
            lines = [_OCR_DIGITS.sub(_as_digits, line) for line in lines]
        self.lines: list[str] = [part for line in lines if line for part in _wrapped(line)]
        self.lower: list[str] = [line.casefold() for line in self.lines]
        self._memo: dict[str, Any] = {}

    def __len__(self) -> int:
        return len(self.lines)

    def memo(self, key: str, build: Callable[[], V]) -> V:
        """Compute something about the document once, whichever finder asks first."""
        if key not in self._memo:
            self._memo[key] = build()
        value: V = self._memo[key]
        return value

    def near(self, index: int, after: int = 2) -> list[tuple[int, str]]:
        """The line at `index` and up to `after` lines below it."""
        end = min(len(self.lines), index + after + 1)
        return [(i, self.lines[i]) for i in range(max(0, index), end)]
