"""What a customer-service message says beyond its intent: a parcel that did not arrive, a
refund missing for items already sent back, a question about the store's rules. `plans`
reads these cues to hand a claim to a person or answer with the rules instead of acting.
"""

from __future__ import annotations

import re

__all__ = [
    "PARTIAL_CANCEL",
    "POLICY",
    "RULES_QUESTION",
    "WHOLE_ORDER_QUESTION",
    "delivery_claim",
    "only_thanks",
    "part_of_order",
    "refund_missing",
    "removes_items",
    "replacement_of_damaged",
    "rules_answer",
    "rules_topics",
]

_NEGATION = r"(?:never|not|(?:has|have|had|did|does|do|is|was|were)n'?t)(?:\s+(?:yet|even|been))*"
#: A parcel the customer says did not reach them ("never arrived", "haven't received it").
_NOT_ARRIVED = re.compile(
    rf"\b{_NEGATION}\s+(?:arrived?|delivered|showed?\s+up|shown\s+up|"
    # "never came", not what a product comes in ("not come in other sizes", "came with")
    r"(?:came|come)(?!\s+(?:with|in|as|out|back|to|from|apart|off|loose)\b))\b|"
    rf"\b{_NEGATION}\s+(?:received|got|gotten)\s+(?:(?:my|the|our|it|them|any|order|package|"
    r"parcel|shipment|delivery|items?)\b|\#\w+)"
    r"(?!\s+(?:\w+\s+)?(?:refund|money|credit|tracking|confirmation|e-?mail|invoice|receipt|"
    r"update|reply|answer|response|code|number)s?\b)|"
    r"\b(?:nothing|no\s+(?:package|parcel))\s+(?:has\s+)?(?:arrived|came|was\s+delivered)\b|"
    r"\b(?:it|they|the\s+(?:package|parcel))\s*(?:'s|\s+is|\s+are|\s+was|\s+were)\s+not\s+"
    r"(?:here|there)\b",
    re.IGNORECASE,
)
#: ... said so whatever the order's status: lost, stolen or empty, or an item missing from it.
_LOST = re.compile(
    r"\b(?:lost|stolen|missing)\s+(?:package|parcel|order|delivery|shipment)\b|"
    r"\b(?:an?\s+|one\s+|some\s+|the\s+|my\s+)?(?:items?|things?|package|parcel|shipment)\s+"
    r"(?:is|was|are|were)\s+missing\b|\bmissing\s+(?:an?\s+|one\s+|some\s+)?items?\b|"
    r"\b(?:package|parcel|order|delivery|shipment)\s+(?:was|is|got|has\s+been)\s+(?:lost|stolen)\b|"
    r"\b(?:box|package|parcel|carton|envelope|it)\s+(?:was|is|came|arrived)\s+(?:completely\s+|"
    r"totally\s+)?empty\b|\bempty\s+(?:box|package|parcel|carton|envelope)\b|"
    # an item left out of the parcel: "was not in the box", "the box only had the earbuds"
    r"\b(?:was|were|is|are)(?:n'?t|\s+not)\s+in\s+(?:the\s+)?(?:box|package|parcel|delivery|"
    r"shipment)\b|\b(?:box|package|parcel|delivery|shipment)\s+only\s+(?:had|contained|held|"
    r"included)\b",
    re.IGNORECASE,
)
#: ... or a product that came short of its parts ("missing pieces"): for an order-status
#: message a claim, for a return request a reason to return it.
_INCOMPLETE = re.compile(
    r"\b(?:pieces?|parts?)\s+(?:is|was|are|were)\s+missing\b|"
    r"\bmissing\s+(?:an?\s+|one\s+|some\s+)?(?:pieces?|parts?)\b",
    re.IGNORECASE,
)
#: Delivered on paper ("tracking says delivered"): a claim when it did not arrive.
_SAYS_DELIVERED = re.compile(r"\b(?:says|shows|marked)\s+(?:as\s+)?delivered\b", re.I)
#: A return the customer says they already sent ("I returned the boots", "we sent it back").
_SENT_BACK = re.compile(
    r"\b(?:i|we)(?:'ve|\s+have)?\s+(?:already\s+)?(?:returned|(?:sent|shipped|mailed|posted)"
    r"(?:\s+(?:it|them|the\s+\w+(?:\s+\w+)?))?\s+back)\b",
    re.IGNORECASE,
)
#: ... and whose money has not come ("still haven't received my refund", "no refund yet").
_NOT_REFUNDED = re.compile(
    rf"\b{_NEGATION}\s+(?:received|got|gotten|seen|had)\s+(?:my|the|a|any|our)?\s*"
    r"(?:refund|money|credit|reimbursement)|"
    r"\b(?:still\s+)?no\s+(?:refund|money|credit)\s+(?:yet|so\s+far)\b|\bstill\s+no\s+(?:refund|money)|"
    r"\bstill\s+waiting\s+(?:for|on)\s+(?:my|the|a)?\s*(?:refund|money)|"
    r"\bwhere(?:'s|\s+is)\s+my\s+(?:refund|money)\b|"
    r"\b(?:refund|money)\s+(?:has|have)?\s*(?:not|n't|never)\s+(?:yet\s+)?(?:arrived|come|"
    r"shown\s+up|been\s+(?:paid|received|credited))",
    re.IGNORECASE,
)

#: Items taken out of an order ("remove the camera from order #W1234567", "take the black
#: one off", "cancel one of them"): a partial cancellation, whatever the model calls it.
_REMOVE_ITEMS_TEXT = (
    r"\b(?:remove|take|drop)\s+(?:the\s+)?[\w\s-]{1,30}?\s+(?:from|off|out\s+of)\s+"
    r"(?:(?:the|my|this)\s+order\b|(?:order\s+)?#W\d{7}\b)"
    r"|\b(?:take|drop)\s+(?:the|that|this|one)\s+(?:\w+\s+){0,3}?off\b"
    r"|\b(?:cancel|remove|drop)\s+(?:just\s+|only\s+)?one\s+of\s+(?:them|those|these|the)\b"
)
_REMOVE_ITEMS = re.compile(_REMOVE_ITEMS_TEXT, re.IGNORECASE)
#: Part of an order, the rest kept ("cancel just the headphones", "keep the rest", "remove
#: the lamp from my order", "... from #W1234567, still want the earbuds").
_PART_OF_ORDER = re.compile(
    r"\bkeep(?:ing)?\s+(?:the\s+)?(?:rest|others?|other\s+(?:items?|things?))\b"
    r"(?!\s+(?:of\s+(?:my|the)\s+(?:account|details|orders?)|orders?)\b)"
    # not another order: "keep the other pending one (clock, camera)"
    r"(?!\s+(?:pending|open|unshipped|processed|delivered|older|newer|recent|earlier|later|"
    r"first|second)\s+(?:one|order)s?\b)|"
    r"\bkeep(?:ing)?\s+(?:the|my)\s+(?!rest\b|others?\b|other\b|order)(?:\w+\s+){0,2}?\w+\b"
    r"(?!\s+orders?\b)|"
    r"\b(?:cancel|remove|drop)\s+(?:just|only)\s+(?:the|one|my|that)\b(?!\s+(?:\w+\s+)?orders?\b)|"
    r"\bstill\s+(?:want|need)\s+(?:the|my|that|this)\b(?!\s+(?:\w+\s+)?orders?\b)|"
    # a thing in an order as what to cancel: "cancel the headphones in my pending order"
    r"\b(?:cancel|call\s+off)\s+(?:the|my|this|that|one)\s+(?!order\b)(?:[\w-]+\s+){0,3}?"
    r"(?:in|from|out\s+of|of)\s+(?:my|the|this|that|our)\s+(?:\w+\s+){0,2}?orders?\b|"
    + _REMOVE_ITEMS_TEXT,
    re.IGNORECASE,
)

#: The whole of an order asked for ("cancel the whole order", "the entire order", "that
#: whole hose order").
_WHOLE_ORDER = re.compile(
    r"\b(?:whole|entire|full|complete)\s+(?:[a-z-]+\s+){0,2}?order\b", re.IGNORECASE
)

#: A question about the rules rather than a request about an order ("What is your return
#: policy?", "Is there a cancellation fee?", "How do exchanges work?").
RULES_QUESTION = re.compile(
    r"\b(?:return|refund|exchange|cancell?ation)s?\s+polic(?:y|ies)\b|"
    r"\bpolic(?:y|ies)\s+(?:on|for|about)\s+(?:returns?|refunds?|exchanges?|cancell?ations?)\b|"
    r"\bhow\s+(?:do|does|would)\s+(?:returns?|refunds?|exchanges?|cancell?ations?)\s+work\b|"
    r"\b(?:cancell?ation|return|restocking)\s+fees?\b|\bfees?\s+(?:to|for)\s+(?:cancel|return)|"
    # what would happen: "if I cancel an order, how long until I get my money back?"
    r"\bif\s+(?:i|we)\s+(?:cancel|return|exchange)\b[^.!?]{0,80}\?|"
    # about any order, not one of theirs: "can you cancel an order after it has shipped?"
    r"\b(?:can|could)\s+(?:you|i|we|one)\s+(?:still\s+)?(?:cancel|return|exchange)\s+(?:an?|any)\s+"
    r"(?:order|items?|products?)\b[^.!?]{0,60}\?|"
    r"\bhow\s+(?:long|quickly|fast|soon)\s+(?:does|do|will|would|until|till|before|is)\b"
    r"[^.!?]{0,40}\b(?:refunds?|money)\b|"
    # the time allowed: "how long do I have to return something?", "the return window"
    r"\bhow\s+(?:long|many\s+days)\s+(?:do|does|have)\s+(?:i|we|you|one)\s+(?:have\s+|got\s+)?"
    r"(?:got\s+)?to\s+(?:return|exchange|cancel)\b|\b(?:return|exchange)\s+(?:window|period)\b|"
    # where money may go: "can a refund go to a different card?"
    r"\b(?:can|could|will|would)\s+(?:a|the|my)\s+refunds?\s+(?:go|be\s+(?:sent|paid|made|put))\s+"
    r"(?:back\s+)?(?:to|on(?:to)?)\s+(?:a\s+|my\s+)?(?:different|another|other|new)\b|"
    # about anything ordered: "can I change the colour of something I've ordered?"
    r"\b(?:can|could)\s+(?:i|we|you)\s+(?:still\s+)?(?:change|modify|swap)\s+"
    r"(?:the\s+\w+\s+of\s+)?(?:something|anything|an?\s+(?:order|item))\b[^.!?]{0,80}\?",
    re.IGNORECASE,
)
#: The customer has not decided yet ("might return the kettle, not sure"): a question about
#: the rules beside such words asks for the rules, not for the action.
UNDECIDED = re.compile(
    r"\b(?:might|maybe|perhaps|possibly|thinking (?:about|of)|considering|not sure"
    r"|undecided|haven'?t decided|just (?:asking|wondering|curious)|in case"
    r"|if i (?:decide|want|return|cancel|exchange|send))\b",
    re.IGNORECASE,
)
#: The store's rules, as `plans` and `_planning` apply them.
POLICY = {
    "return": "items of a delivered order can be returned: tell us the order and the items; "
    "the refund goes to the original payment method or to a gift card, at no fee",
    "exchange": "items of a delivered order can be exchanged for another option of the same "
    "product, once per order; a price difference is paid or refunded with a payment method "
    "on your account",
    "cancel": "an order can be cancelled, at no fee, as long as it has not been processed; the "
    "full amount goes back to the original payment method, at once to a gift card, otherwise "
    "within 5 to 7 business days",
    "modify": "an order that has not been processed can be changed (its items once, its "
    "address and its payment method)",
}
POLICY["refund"] = POLICY["return"]
POLICY["refund_method"] = (
    "a refund goes back to the payment method the order was paid with, or to a gift card; "
    "not to another card or account"
)
_RULES_TOPIC = re.compile(r"\b(cancel|return|exchange|change|modify)", re.IGNORECASE)
_OTHER_METHOD = re.compile(r"\b(?:different|another|other|new)\b", re.IGNORECASE)


def rules_topics(text: str, intent: str) -> list[str]:
    """Which rules the text's rules questions ask about, each once, in the order asked: the
    action a question names ("if I cancel an order, how long until I get my money back?"
    asks about cancelling), where a refund may go, else `intent`'s."""
    topics: list[str] = []
    for question in RULES_QUESTION.finditer(text):
        words = question.group(0)
        named = _RULES_TOPIC.search(words)
        if "refund" in words.lower() and _OTHER_METHOD.search(words):
            topic = "refund_method"
        else:
            topic = named.group(1).lower() if named else intent
            topic = "modify" if topic == "change" else topic
        if topic not in topics:
            topics.append(topic)
    return topics or [intent]


def rules_answer(text: str, intent: str) -> str | None:
    """The store's rules each question in the text asks about, or None when it asks about
    none the store has words for."""
    # each rule once: a refund's and a return's questions have the same answer
    known = list(dict.fromkeys(POLICY[t] for t in rules_topics(text, intent) if t in POLICY))
    return "; ".join(known) if known else None


#: Why part of an order cannot be cancelled, and what can be done instead.
PARTIAL_CANCEL = (
    "an order can only be cancelled as a whole, not item by item; before it ships its items "
    "can be swapped for another option of the same product, and once it is delivered they "
    "can be returned"
)
#: The question that follows it: a yes to it asks for the whole order to be cancelled.
WHOLE_ORDER_QUESTION = "reply if you would like to cancel the whole order"


#: A sentence that only thanks or closes ("Thanks a lot!", "Everything is fine now.",
#: "Have a nice day"), nothing more.
_THANKS_SENTENCE = re.compile(
    r"^\W*(?:(?:ok(?:ay)?|great|perfect|awesome|brilliant|excellent|wonderful|super|cool|"
    r"good|hi|hello|dear\s+\w+)\W+)*"
    r"(?:(?:thanks?|thank\s+(?:you|u)|thx|ty|cheers|many\s+thanks|much\s+appreciated)"
    r"(?:\s+(?:ever\s+)?(?:so|very)\s+much|\s+a\s+lot|\s+again|\s+(?:mate|guys|team))*"
    r"(?:\s+for\s+(?:your|the|all\s+your)\s+(?:quick\s+|fast\s+|kind\s+)?(?:help|reply|response|"
    r"support|assistance|answer)"
    # "for sorting that so quickly"
    r"|\s+for\s+(?:sorting|fixing|handling|dealing\s+with|taking\s+care\s+of|looking\s+into)\s+"
    r"(?:that|it|this|everything|things)(?:\s+out)?(?:\s+so\s+(?:quickly|fast|promptly))?)?"
    r"|every\s*thing\s+(?:is|'s)\s+(?:fine|good|ok(?:ay)?|sorted|great)(?:\s+now)?"
    r"|all\s+(?:good|sorted|set|fine)(?:\s+now)?|(?:that's|that\s+is)\s+all|problem\s+solved"
    r"|have\s+a\s+(?:nice|good|great)\s+(?:day|weekend|evening)"
    r"|ok(?:ay)?|great|perfect|awesome|brilliant|excellent|wonderful|super|cool)\W*$",
    re.IGNORECASE,
)


def only_thanks(text: str) -> bool:
    """A short message of thanks or closing words only: every sentence is one, and it
    thanks."""
    parts = [p for p in re.split(r"(?<=[.!?])\s+|\n+|,\s+", text.strip()) if p.strip()]
    return (
        0 < len(parts) <= 4
        and any(
            re.search(r"\b(?:thanks?|thank|thx|ty|cheers|appreciated)\b", p, re.I) for p in parts
        )
        and all(_THANKS_SENTENCE.match(p) for p in parts)
    )


#: The same product again ("send a new one, same model", "a replacement") ...
_SAME_AGAIN = re.compile(
    r"\bsame\s+(?:model|one|item|thing|product|version|kind|option)\b|\bidentical\b|"
    r"\breplacement\b|\breplace\s+(?:it|them)\b|\b(?:a|another)\s+new\s+one\b|"
    # "I'd just like the same tablet sent again", "send me another one"
    r"\bsame\s+\w+(?:\s+\w+)?\s+(?:sent|shipped|delivered)\s+again\b|"
    r"\b(?:send|ship)\s+(?:me\s+)?another\s+(?:one|\w+)\b|"
    # "I don't want my money back": for a damaged item, they want it, whole
    r"\b(?:don'?t|do\s+not)\s+want\s+(?:my\s+money\s+back|a\s+refund)\b",
    re.IGNORECASE,
)
#: ... for one that came damaged or does not work.
_DAMAGED = re.compile(
    r"\b(?:damaged|broken|cracked|shattered|dented|defective|faulty|dead\s+on\s+arrival|"
    r"(?:arrived|came|was|were)\s+(?:all\s+|completely\s+)?(?:wet|soaked|torn|ripped|crushed|"
    r"smashed|stained|leaking|mou?ldy)|water[\s-]damaged|"
    r"stopped\s+working|(?:does|did|is|was)\s*n[o']?t\s+work(?:ing)?|not\s+working)\b",
    re.IGNORECASE,
)
_NO_REPLACEMENT = re.compile(
    r"(?:\bnot|\bno|n't|\bwithout|\brather\s+than|\binstead\s+of)\s+(?:\w+\s+){0,3}?(?:a\s+)?"
    r"(?:replacement|new\s+one|same\s+one)\b|\bwork(?:ing)?\s+for\s+me\b",
    re.IGNORECASE,
)


def replacement_of_damaged(text: str) -> bool:
    """The customer wants the same product again for one that came damaged: no exchange
    (that is for another option) and no return (they want the item); a claim for a person.
    Not when they turn a replacement down ("a refund, not a replacement")."""
    return bool(
        _SAME_AGAIN.search(text) and _DAMAGED.search(text) and not _NO_REPLACEMENT.search(text)
    )


def part_of_order(text: str) -> bool:
    """The customer asks for part of an order to go, the rest kept; unless they ask for the
    whole order after that ("cancel just the headphones" ... "then cancel the whole order")."""
    parts = list(_PART_OF_ORDER.finditer(text))
    if not parts:
        return False
    return not _WHOLE_ORDER.search(text, parts[-1].end())


def removes_items(text: str) -> bool:
    """The customer asks for items to be taken out of an order."""
    return bool(_REMOVE_ITEMS.search(text))


def refund_missing(text: str) -> bool:
    """The customer sent items back and says the money has not come."""
    return bool(_SENT_BACK.search(text) and _NOT_REFUNDED.search(text))


def refund_asked_about(text: str) -> bool:
    """The customer says a refund has not come ("I haven't seen the money back", "where is
    my refund?"), whatever it was for."""
    return bool(_NOT_REFUNDED.search(text))


#: A price difference asked back for an item kept: "refund me the difference", "can you
#: match the new price", "a price adjustment".
_PRICE_DIFFERENCE = re.compile(
    r"\b(?:refund|credit|pay|give|send)\w*\s+(?:\w+\s+){0,2}?(?:back\s+)?the\s+(?:price\s+)?"
    r"difference\b|\bprice\s+(?:match|matching|adjustment|protection|drop)\b"
    r"|\bmatch\s+(?:the|that|this|their)\s+(?:new\s+|lower\s+|cheaper\s+|sale\s+)?price\b",
    re.IGNORECASE,
)
#: A return or a swap asked for in so many words, beside the price difference.
_RETURN_OR_SWAP = re.compile(
    r"\b(?:return|send\w*\s+(?:\w+\s+){0,3}back|exchange|swap|switch|replace|cancel|"
    r"full\s+refund)\w*\b",
    re.IGNORECASE,
)


def price_difference_only(text: str) -> bool:
    """The customer asks for a price difference back on something they keep (no return,
    exchange or cancellation asked for): the store's rules have no price adjustment."""
    return bool(_PRICE_DIFFERENCE.search(text)) and not _RETURN_OR_SWAP.search(text)


def delivery_claim(text: str, *, delivered: bool, returning: bool = False) -> bool:
    """A parcel lost, stolen, empty or short of an item, or (for an order delivered, or
    "delivered" on paper) one the customer says did not arrive. An order still on its way
    is only late. A product short of its parts is a claim too, unless the customer asks to
    return it (`returning`): they have it, and can send it back."""
    if _LOST.search(text) or (not returning and _INCOMPLETE.search(text)):
        return True
    return bool(_NOT_ARRIVED.search(text)) and (delivered or bool(_SAYS_DELIVERED.search(text)))
