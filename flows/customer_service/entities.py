"""What a customer message says, as data: the model's extraction schema and the offline parser.

The offline parser reads what has a fixed shape with regular expressions (order ids like
``#W1234567``, payment method ids, e-mail addresses checked by the standard library, zip
codes, US street addresses) and a few closed phrase lists (the two cancellation reasons of
the policy, an explicit imperative, an explicit "yes"). Free-text product names are not
read here: `matching` compares the text with the store's catalogue (rapidfuzz), because only
the catalogue knows what the products are called.
"""

from __future__ import annotations

import re
from email.utils import parseaddr
from typing import Literal

from pydantic import BaseModel, Field

from bpa.models import Extraction
from connectors.schemas import Address
from flows.customer_service import claims
from flows.customer_service.clauses import kind_of, sentences, split_by_action

__all__ = [
    "MessageEntities",
    "RequestSpan",
    "address_in",
    "cancel_reason_in",
    "emails_in",
    "is_confirmation",
    "order_ids_in",
    "parse_message",
    "payment_ids_in",
    "split_requests",
    "wants_all_items",
    "yes_for",
]

CancelReason = Literal["no longer needed", "ordered by mistake"]


class RequestSpan(BaseModel):
    """One request in a message: the sentences about the same order(s)."""

    text: str
    order_ids: list[str] = Field(default_factory=list, description="the orders to act on")
    reference_order_ids: list[str] = Field(
        default_factory=list, description="orders only mentioned, e.g. '(same as #W123)'"
    )


class MessageEntities(BaseModel):
    """Everything the flow reads out of a message. Empty fields mean "not said"."""

    order_ids: list[str] = Field(default_factory=list, description="'#W' and 7 digits")
    emails: list[str] = Field(default_factory=list)
    first_name: str | None = None
    last_name: str | None = None
    zip: str | None = Field(default=None, description="given for authentication")
    payment_method_ids: list[str] = Field(
        default_factory=list, description="e.g. gift_card_7245904, paypal_1530316"
    )
    refund_to_gift_card: bool = Field(default=False, description="asks for a gift-card refund")
    cancel_reason: CancelReason | None = None
    explicit_request: bool = Field(
        default=False, description="a clear instruction to do it now, not a question or a maybe"
    )
    confirmation: bool = Field(default=False, description="an explicit yes / I confirm")
    all_items: bool = Field(default=False, description="the whole order / every item")
    address: Address | None = Field(default=None, description="a new address given in full")
    requests: list[RequestSpan] = Field(default_factory=list)


ORDER_ID = re.compile(r"(?<![\w#])#?\s?W\s?(\d{7})\b")
PAYMENT_ID = re.compile(r"\b(credit_card|paypal|gift_card)_(\d{5,})\b")
_EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
_ADDRESS = re.compile(
    # "1520 NE 65th Street": a street may be numbered
    r"(?P<a1>\d+[A-Za-z]?\s+(?:(?:[A-Z][\w'.-]*|\d+(?:st|nd|rd|th))\s+){1,4}?"
    r"(?:(?:Street|St|Avenue|Ave|Road|Rd|Drive|Dr|Lane|Ln|Boulevard|Blvd|Way|Court|Ct|Place|Pl"
    r"|Terrace|Parkway|Pkwy|Circle|Cir|Trail|Highway|Hwy|Square|Sq|Plaza|Loop|Row|Alley)"
    # "12 Main Street North", "88 Prospect Park West"
    # "1200 K Street NW" (Washington's quadrants)
    r"(?:\s+(?:North|South|East|West|NW|NE|SW|SE))?|North|South|East|West))\.?"
    r"(?:,\s*|\s+)"
    r"(?:(?P<a2>(?:Suite|Ste\.?|Apt\.?|Apartment|Unit|Floor|Fl\.?|Room|Rm\.?|Building|Bldg\.?|#)"
    # "Unit no. 1204 (12th floor)", "apt#3b"
    r"\s*(?:(?:no\.?|number|nr\.?)\s*|#\s*)?[\w-]+(?:\s*\([^()\n]{1,30}\))?)(?:,\s*|\s+))?"
    r"(?P<city>[A-Z][A-Za-z .'-]+?)(?:,\s*|\s+)(?P<state>[A-Z]{2})\s*,?\s*(?P<zip>\d{5})\b"
    r"(?:\s*,\s*(?P<country>USA|United States|US)\b)?"
)
_BY_MISTAKE = re.compile(
    r"\b(by mistake|mistaken(ly)?|accident(al(ly)?)?|ordered the wrong|didn'?t mean to"
    r"|wrong order|in error|by error)\b",
    re.IGNORECASE,
)
_NOT_NEEDED = re.compile(
    r"\b(no longer need(ed)?|don'?t need|do not need|not need(ed)? (it|them|this)"
    r"|won'?t need|no need for|changed my mind|(don'?t|do not) want (it|them|this)"
    r"|won'?t be able to receive|not (be )?able to receive|not receive"
    # bought elsewhere: "found the luggage set cheaper somewhere else", "no point keeping it"
    r"|found (it|them|one|\w+(?: \w+){0,3}) cheaper|cheaper (elsewhere|somewhere else)"
    r"|(?:buy|bought|get|got|order|ordered)\w* (?:it|them|one) (?:from )?"
    r"(?:elsewhere|somewhere else)"
    r"|no point (in )?keeping|(don'?t|do not) want (it|them|this|the order) any ?more)\b",
    re.IGNORECASE,
)
#: "cancel W8306539 pls. mistake.": the word alone, when nothing else gives the reason.
_MISTAKE_WORD = re.compile(r"\b(?:my\s+)?mistake\b", re.IGNORECASE)
_ACTION = (
    r"(cancel|return|exchange|modify|change|refund|swap|replace|update|send (it |them )?back"
    r"|switch)"
)
_IMPERATIVE = re.compile(
    rf"(^|[,:]\s*|\bplease\s+|\bkindly\s+|\bi (would like|'d like|want|need) to\s+"
    rf"|\bi'?m (requesting|asking) (you )?to\s+|\bgo ahead and\s+)({_ACTION})\b",
    re.IGNORECASE,
)
_HEDGE = re.compile(
    r"\b(maybe|perhaps|might|thinking (about|of)|considering|not sure|wondering|how (do|can|could)"
    r"|is it possible|would it be possible|can i|could i|should i|what if|if i)\b",
    re.IGNORECASE,
)
_YES = re.compile(
    # a word of welcome may come first: "Great, yes please", "OK, yes, go ahead and cancel it"
    r"^\W*(?:(?:great|perfect|ok(?:ay)?|alright|all right|fine|good|lovely|brilliant|excellent"
    r"|thanks|thank you|sounds good|that'?s (?:right|correct|fine|great|perfect))\W+)?"
    # "Sí, yes, correct.", "Oui", "Ja, bitte"
    r"(yes+|yep|yeah+|yea|yah?|yup|s[ií]|oui|ja|sure|confirm(ed)?|i confirm|correct|go ahead"
    r"|please proceed"
    r"|proceed"
    r"|(?:please )?do it|ok(ay)?,? (go ahead|please (do|proceed)|do it|proceed|sounds good)"
    # a bare "ok" / "okay" and nothing more
    r"|ok(ay)?(?=\W*$))\b",
    re.IGNORECASE,
)
_NO = re.compile(
    r"\b(no|not|don'?t|do not|wait|stop|hold on|keep (it|them)|leave (it|them)"
    r"|as (it|they) (is|are))\b",
    re.IGNORECASE,
)
_ALL = re.compile(
    # "that's everything" (have you listed every item?) says the list is complete
    r"\b(all (the |of the |my )?(items|products|things)"
    r"|(?<!that's )(?<!that is )(?<!that’s )every(thing| item)(?! else)"
    r"|(?:whole|entire|full) (?:[a-z-]+ ){0,2}?order|all of (it|them)"
    r"|(return|refund|send back) (the|my) items)\b"
    # what happened to everything, not what is asked for ("Everything came fine except ...",
    # "all the items were fine but"); "all of them are broken" still means all of them
    r"(?!,?\s+(?:came|arrived|got\s+here|showed\s+up|turned\s+up)\b)"
    r"(?!,?\s+(?:is|are|was|were|looks?|looked|seems?|seemed|works?|worked|fits?|went)\s+"
    r"(?:\w+\s+)?(?:fine|great|good|ok|okay|perfect|well|as\s+expected|in\s+order)\b)",
    re.IGNORECASE,
)
#: What tells that the order just named was the wrong one, and the words around it.
_CORRECTION = (
    r"(?i:i\s+mean(?:t)?|wrong\s+(?:order\s+)?(?:number|order|one)|(?:a\s+)?typo|my\s+mistake)"
)
_FILLER = (
    r"(?i:oh|oops|sorry|no|wait|actually|my\s+bad|apologies|it'?s|its|it|is|should|be|order"
    r"|number|the|right|correct|one)"
)
#: "(same as #W…)", "like order #W…", "not #W…": an order named for reference or set aside,
#: not to act on.
_REFERENCE = re.compile(
    r"\((?:[^)]*\b(?:same|like|as|similar|see|from)\b[^)]*)\)"
    r"|\b(?:same as|like) (?:order )?#?W\d{7}"
    # set aside: "I meant #W4219264, not #W6729841"
    r"|\bnot (?:order )?#?W\d{7}"
    # corrected in the same breath: "cancel W8360923 - sorry, wrong number, I mean W5737680"
    rf"|#?W\d{{7}}(?=\W+(?:{_FILLER}\W+)*{_CORRECTION}(?:\W+(?:{_FILLER}|{_CORRECTION}))*"
    r"\W+#?W\d{7})"
)
#: An order named to correct the one named before: "Oh sorry, I meant the other one,
#: #W3169501", "wrong number, it's #W3169501", "I meant order #W3169501".
_CORRECTED_ORDER = re.compile(
    r"^\W*(?:(?:oh|oops|sorry|no|actually|wait|my\s+bad|apologies)\W+)*"
    r"(?:(?:i\s+)?meant|(?:that\s+was\s+the\s+)?wrong\s+(?:order\s+)?(?:number|order|one)\W+"
    r"(?:it'?s|its|it\s+is|the\s+right\s+one\s+is|should\s+be)|it\s+should\s+(?:be|have\s+been)|"
    # "sorry typo, its #W4082615", "my mistake, the right number is #W…"
    r"(?:(?:a\s+)?typo|my\s+mistake|mistyped)\W+(?:(?:it'?s|its|it\s+is|should\s+be|the\s+"
    r"(?:right|correct)\s+(?:one|number|order)\s+is)\b)?)",
    re.IGNORECASE,
)
#: The order an answer was read to mean, as the thread writes it after the answer
#: ("... the one with just the bookshelf. (#W3130816, not #W9222585)"): a correction too.
_MEANT_NOTE = re.compile(r"^\(\s*#W\d{7}(?:,\s*not\s+#W\d{7})*\s*\)\W*$")
#: "the same order", "that one": a request split off another is about the same order(s).
_SAME_ORDER = re.compile(r"\b(same order|that order|this order|the same one)\b", re.I)


def order_ids_in(text: str) -> list[str]:
    """Order ids in the order written, each once, normalised to ``#W1234567``."""
    return list(dict.fromkeys(f"#W{digits}" for digits in ORDER_ID.findall(text)))


def emails_in(text: str) -> list[str]:
    found = []
    for candidate in _EMAIL.findall(text):
        address = parseaddr(candidate)[1].strip(".").lower()
        if address and "@" in address and address not in found:
            found.append(address)
    return found


#: An address named as the one to replace: "my old address is ...", "instead of ...".
_OLD_ADDRESS = re.compile(
    r"\b(?:old|current|previous|existing|wrong|instead\s+of|not|from)\s+(?:(?:delivery|"
    r"shipping)\s+)?(?:address\s+)?(?:is\s+|was\s+|of\s+)?:?\s*$",
    re.IGNORECASE,
)


#: An address given as the correction of one said before: "it should be ...", "I meant ...".
_CORRECTED_ADDRESS = re.compile(
    r"\b(?:should\s+(?:be|have\s+been)|i\s+meant|correct(?:ed|ion)?(?:\s+address)?(?:\s+is)?|"
    r"actually|rather|right\s+address\s+is)\W*(?:(?:to|is)\s+)?:?\s*$",
    re.IGNORECASE,
)


def address_in(text: str) -> Address | None:
    """The address the text asks for: not one it names as the old one; one given as a
    correction ("sorry, wrong number, it should be ..."); of addresses in several paragraphs
    (a conversation's later answer), the last paragraph's; else the first."""
    found = [m for m in _ADDRESS.finditer(text) if not _OLD_ADDRESS.search(text[: m.start()][-40:])]
    if not found:
        return None
    corrected = [m for m in found if _CORRECTED_ADDRESS.search(text[: m.start()][-40:])]
    last_break = text.rfind("\n\n", 0, found[-1].start())
    match = corrected[-1] if corrected else next(m for m in found if m.start() > last_break)
    return Address(
        address1=" ".join(match["a1"].split()),
        address2=" ".join((match["a2"] or "").split()),
        city=match["city"].strip(),
        state=match["state"],
        country="USA",
        zip=match["zip"],
    )


def cancel_reason_in(text: str) -> CancelReason | None:
    if _BY_MISTAKE.search(text):
        return "ordered by mistake"
    if _NOT_NEEDED.search(text):
        return "no longer needed"
    if _MISTAKE_WORD.search(text):
        return "ordered by mistake"
    return None


def payment_ids_in(text: str) -> list[str]:
    return list(dict.fromkeys(m.group(0) for m in PAYMENT_ID.finditer(text)))


def wants_all_items(text: str) -> bool:
    return bool(_ALL.search(text))


def is_explicit_request(text: str) -> bool:
    """Some sentence tells us to act ("Please cancel #W…", "Return #W… via …", "I'd like to
    exchange …") without hedging or asking whether it could be done."""
    for sentence in sentences(text):
        clause = re.sub(r"^(for|regarding|about|re:?)\s+#W\d{7}\s*,?\s*", "", sentence, flags=re.I)
        if _HEDGE.search(clause) or clause.rstrip().endswith("?"):
            continue
        if _IMPERATIVE.search(clause):
            return True
    return False


#: A yes that comes with conditions ("yes to the cancellation, but leave the backpack",
#: "yes but to my gift card"): it does not confirm everything proposed.
_QUALIFIED = re.compile(
    r"\b(?:but|except|apart from|other than|instead|leave|rather|however"
    # not "that's the only change", "just go ahead"
    r"|(?<!the )only|just(?!\s+(?:go|do|proceed|confirm|carry)\b)"
    # a reason, not a condition: "yes, cancel it - i just don't need it anymore"
    r"(?!\s+(?:don'?t|dont|do\s+not|no\s+longer|realised|realized|decided|changed|found|got"
    r"|received|noticed|saw|bought|ordered)\b))\b",
    re.I,
)


def is_confirmation(text: str) -> bool:
    """An explicit yes at the start of the answer, not taken back in the same breath, and
    not qualified: a yes with a "but" or an "only" is read again with the whole
    conversation, and what it then proposes is asked about once more."""
    first = next(iter(sentences(text)), "")
    match = _YES.search(first)
    if match is None:
        return False
    rest = _NO_NEED_REASON.sub(" ", text[match.end() :])
    after = _NO_NEED_REASON.sub(" ", first[match.end() :])
    return not (_NO.search(after[:40]) or _QUALIFIED.search(rest[:200]))


#: The reason for a yes, not a no: "yes, cancel it - I just don't need it anymore".
_NO_NEED_REASON = re.compile(
    r"\b(?:i|we)\s+(?:just\s+|really\s+|simply\s+|honestly\s+)?(?:don'?t|dont|do\s+not)\s+"
    r"(?:need|want|use)\s+(?:it|them|this|that|these)\b(?:\s+any\s?more)?",
    re.IGNORECASE,
)


#: A yes qualified only by "only"/"just" and what it is for ("Yes, only the skateboard").
_YES_ONLY = re.compile(
    r"\W*(?:please\W+)?(?:only|just)\s+(?P<what>[^.!?\n,;:]{3,60}?)"
    # "Yes, just the earbuds. Go ahead."
    r"(?:\W+(?:please|thanks|thank you|(?:please )?(?:go ahead|proceed|do it)))*\W*$",
    re.I,
)


def yes_for(text: str) -> str | None:
    """What a yes qualified by nothing but "only"/"just" is for ("Yes, only the skateboard"
    -> "the skateboard"): it confirms a proposal of exactly those items (policy), and is
    asked about again otherwise. None for any other answer."""
    first = next(iter(sentences(text)), "")
    match = _YES.search(first)
    if match is None or is_confirmation(text) or _NO.search(first[match.end() :][:40]):
        return None
    # nothing more said after it ("only the mat, and refund it to my card" is read again)
    only = _YES_ONLY.match(text[match.end() :])
    if only is None and is_confirmation(first) and (at := text.find(first)) >= 0:
        only = _YES_ONLY.match(text[at + len(first) :])  # "Yes, is correct. Only the backpack."
    if only is None:
        return None
    what = only["what"]
    qualified = _QUALIFIED.search(what)
    return None if qualified or re.search(r"\b(?:and|also|too|plus)\b", what, re.I) else what


def split_requests(text: str) -> list[RequestSpan]:
    """Groups sentences by the order they are about: a sentence naming an order starts a
    request, the sentences after it belong to it. Ids named "(same as #W…)" are references."""
    spans: list[RequestSpan] = []
    for sentence in sentences(text):
        referenced = order_ids_in(" ".join(_REFERENCE.findall(sentence)))
        targets = [i for i in order_ids_in(sentence) if i not in referenced]
        corrected = _CORRECTED_ORDER.match(sentence) and kind_of(sentence) is None
        if spans and targets and (corrected or _MEANT_NOTE.match(sentence.strip())):
            # "Oh sorry, I meant the other one, #W3169501": the same request, about this order
            last = spans[-1]
            last.text = f"{last.text} {sentence}"
            last.reference_order_ids += [i for i in last.order_ids if i not in targets]
            last.order_ids = targets
            continue
        if spans and targets and targets == spans[-1].order_ids:
            targets = []  # more about the same order(s): the same request
        if targets or not spans:
            spans.append(
                RequestSpan(text=sentence, order_ids=targets, reference_order_ids=referenced)
            )
        else:
            last = spans[-1]
            last.text = f"{last.text} {sentence}"
            last.reference_order_ids += [i for i in referenced if i not in last.reference_order_ids]
    return [part for span in _merge_general(spans) for part in _split_actions(span)]


def _split_actions(span: RequestSpan) -> list[RequestSpan]:
    """One span per kind of request in it ("cancel the lamp order and tell me where the
    headphones are"). A part that names no order of its own keeps the span's orders only
    when it says so ("from the same order"); otherwise its words find its order."""
    pieces = split_by_action(span.text)
    if len(pieces) < 2:
        return [span]
    parts: list[RequestSpan] = []
    claimed: set[str] = set()
    for piece in pieces[1:]:
        referenced = order_ids_in(" ".join(_REFERENCE.findall(piece)))
        own = [i for i in order_ids_in(piece) if i not in referenced]
        claimed.update(own)
        inherit = not own and bool(span.order_ids) and bool(_SAME_ORDER.search(piece))
        parts.append(
            RequestSpan(
                text=piece,
                order_ids=own or (list(span.order_ids) if inherit else []),
                reference_order_ids=referenced,
            )
        )
    # the first part: the orders it names itself ("cancel #W1, and return the lamp from
    # #W2"), else the span's orders that no later part names as its own
    own_first = [i for i in order_ids_in(pieces[0]) if i in span.order_ids]
    rest = [i for i in span.order_ids if i not in claimed]
    first = span.model_copy(
        update={"text": pieces[0], "order_ids": own_first or rest or list(span.order_ids)}
    )
    return [first, *parts]


#: A request that names its own order by what it holds: "cancel my order with the
#: smartphone and keyboard" is not the start of the request about the order named next.
_ORDER_BY_ITEMS = re.compile(r"\b(?:order|one)\s+(?:with|containing|that\s+(?:has|had))\b", re.I)


def _merge_general(spans: list[RequestSpan]) -> list[RequestSpan]:
    """A leading span with no order ("my name is …, I want to cancel") belongs to the first
    order-specific request that follows it."""
    if (
        len(spans) > 1
        and not spans[0].order_ids
        and not (_ORDER_BY_ITEMS.search(spans[0].text) and kind_of(spans[0].text) is not None)
    ):
        first = spans[1]
        merged = RequestSpan(
            text=f"{spans[0].text} {first.text}",
            order_ids=first.order_ids,
            reference_order_ids=spans[0].reference_order_ids + first.reference_order_ids,
        )
        return [merged, *spans[2:]]
    return spans


def parse_message(text: str) -> Extraction[MessageEntities]:
    """The offline extractor (`ExtractTask.offline`)."""
    zip_code = claims.zip_in(text, tuple(m.span() for m in _ADDRESS.finditer(text)))
    emails = emails_in(text)
    name = claims.name_in(text, (zip_code, *emails) if zip_code else tuple(emails))
    entities = MessageEntities(
        order_ids=order_ids_in(text),
        emails=emails,
        first_name=name[0] if name else None,
        last_name=name[1] if name else None,
        zip=zip_code,
        payment_method_ids=payment_ids_in(text),
        refund_to_gift_card=bool(re.search(r"\bgift ?card\b", text, re.IGNORECASE)),
        cancel_reason=cancel_reason_in(text),
        explicit_request=is_explicit_request(text),
        confirmation=is_confirmation(text),
        all_items=wants_all_items(text),
        address=address_in(text),
        requests=split_requests(text),
    )
    found = sum(
        bool(v) for v in (entities.order_ids, entities.emails, entities.first_name, entities.zip)
    )
    return Extraction(value=entities, confidence=0.9 if found else 0.6)
