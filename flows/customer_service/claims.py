"""What a message says about who wrote it: a name and a zip code, in whatever order and
wording ("Anna Lee, 78701", "zip 78701, name: Lee, Anna", a signature under the text).

These are claims, not an identity: identity.py decides whether a channel may use them at
all, and only the CRM can tell whether they belong together (a name the parser got in the
wrong order is tried the other way round there). Reading too much here costs nothing but a
failed lookup; reading too little makes a customer repeat themselves.
"""

from __future__ import annotations

import re

__all__ = ["name_in", "without_identity", "zip_in"]

_LABELLED_ZIP = re.compile(
    r"\b(?:zip|zipcode|zip code|postal code|postcode|post code)\b\W{0,3}(?:is\s+)?(\d{5})\b",
    re.IGNORECASE,
)
#: The customer correcting the zip code just given: "zip is 60614... no wait that's my old
#: one, sorry - it's 60657".
_CORRECTED_ZIP = re.compile(
    r"\W{0,6}(?:no\s+wait|wait|sorry|oops|i\s+mean|actually|correction|no)\b[^\d.?!]{0,45}?"
    r"(?<![\w#$./-])(\d{5})\b",
    re.IGNORECASE,
)
_FIVE_DIGITS = re.compile(
    r"(?<![\w#$./-])(\d{5})(?![\w%]|[.,]\d|\s*(?:mah|gb|ml|mm|ft|lbs?|inch|pieces?|usd)\b)",
    re.IGNORECASE,
)
_WORD = r"[A-Za-z][A-Za-z'\-]+"
_CAPITAL = r"[A-Z][a-z]+(?:[-'][A-Z]?[a-z]+)?"
_LABELLED_NAME = re.compile(
    rf"\b(?:my (?:full )?name is|my name's|name is|name\s*[:\-]|name)\s*({_WORD})(,?)\s+({_WORD})",
    re.IGNORECASE,
)
_INTRODUCED = re.compile(
    rf"\b(?:[Tt]his is|I am|I'?m|[Ii]t'?s|[Hh]ere is|[Hh]ere's)\s+({_CAPITAL})\s+({_CAPITAL})\b"
)
_SIGNATURE = re.compile(
    rf"(?:thanks|thank you|regards|best|cheers|sincerely|best wishes|thx|-+)[,.!]?\s*\n+"
    rf"\s*({_CAPITAL})\s+({_CAPITAL})\s*$",
    re.IGNORECASE,
)
#: Words that stand next to a zip code without being a name.
_NOT_NAMES = frozenset(
    re.findall(
        r"\w+",
        "a an and are at be by code for from have here i in is it its live lives my name "
        "number of on or our please postal post the this to was we with zip zipcode am me "
        "order orders address street avenue road drive lane city state hello hi thanks dear "
        "details account yes no ok okay also just area",
    )
)


def zip_in(text: str, exclude: tuple[tuple[int, int], ...] = ()) -> str | None:
    """The zip code the text gives: one labelled as such, else the only five-digit number
    outside `exclude` (character ranges, e.g. a new shipping address)."""
    labelled = _LABELLED_ZIP.search(text)
    if labelled:
        corrected = _CORRECTED_ZIP.match(text, labelled.end())
        return corrected.group(1) if corrected else labelled.group(1)
    found = {
        m.group(1)
        for m in _FIVE_DIGITS.finditer(text)
        if not any(a <= m.start() < b for a, b in exclude)
    }
    return found.pop() if len(found) == 1 else None


def _name(first: str, last: str) -> tuple[str, str] | None:
    if first.lower() in _NOT_NAMES or last.lower() in _NOT_NAMES:
        return None
    return first.capitalize(), last.capitalize()


def name_in(text: str, anchors: tuple[str, ...] = ()) -> tuple[str, str] | None:
    """(first name, last name) the text gives: after "my name is" (or "name: Lee, Anna",
    surname first), in an introduction ("I'm Anna Lee"), as a signature, or right before or
    after another detail the customer gives about themselves, a zip code or an e-mail
    address (`anchors`: "Anna Lee 78701", "anna lee here, anna@example.com")."""
    for labelled in _LABELLED_NAME.finditer(text):
        first, comma, last = labelled.groups()
        found = _name(last, first) if comma else _name(first, last)
        if found:
            return found
    for pattern in (_INTRODUCED, _SIGNATURE):
        match = pattern.search(text.strip())
        if match and (found := _name(match.group(1), match.group(2))):
            return found
    for anchor in anchors:
        code = re.escape(anchor)
        label = r"(?:(?:here|again)\W{1,3})?(?:zip(?: code)?\W{0,3}|e-?mail\W{0,3})?"
        before = re.search(rf"\b({_WORD})(,?)\s+({_WORD})\W{{0,3}}{label}{code}", text, re.I)
        after = re.search(rf"{code}\W{{1,3}}({_WORD})(,?)\s+({_WORD})", text, re.I)
        for match in (before, after):
            if match:
                first, comma, last = match.groups()
                found = _name(last, first) if comma else _name(first, last)
                if found:
                    return found
    return None


_SELF = re.compile(
    rf"\b(?:my (?:full )?name is|my name's|name\s*:)\s*{_WORD}(?:,?\s+{_WORD})?"
    r"|\b(?:my |the )?(?:e-?mail(?: address)?|zip(?: ?code)?|postcode|postal code)"
    r"(?: is|:)?\s*(?:[\w.+-]+@[\w-]+(?:\.[\w-]+)+|\d{5})"
    r"|[\w.+-]+@[\w-]+(?:\.[\w-]+)+",
    re.IGNORECASE,
)


#: A sentence that only says yes to what we proposed ("Yes, please go ahead."): in a thread
#: it answers our question, and asks for nothing by itself.
_BARE_YES = re.compile(
    r"(^|(?<=[.!?])\s+)(?:yes|yeah|yep|sure|ok(?:ay)?|correct|confirmed?)\b"
    # "that's everything" answers "have you listed every item?": it asks for no more items
    r"(?:[\s,]+(?:please|that'?s (?:right|correct|fine|everything|all|it)"
    r"|that is (?:right|correct|fine|everything|all|it)|nothing else|go ahead|proceed"
    r"|do (?:it|that)|confirm(?:ed)?|thanks?|thank you|with (?:it|that|this)))*\s*(?:[.!]+|$)",
    re.IGNORECASE | re.MULTILINE,
)


def without_identity(text: str) -> str:
    """The text without the customer's self-identification ("my name is …, my e-mail is
    …") and without a bare yes to our proposal: what a request is about depends neither on
    who makes it nor on the customer agreeing to it, and a classifier that sees those
    sentences learns the wrong thing from them."""
    return _BARE_YES.sub(r"\1", _SELF.sub(" ", text))
