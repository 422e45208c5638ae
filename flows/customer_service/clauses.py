"""Several requests in one message without order numbers: "cancel the lamp order and tell
me where the headphones are" is two requests, each planned (or asked about) on its own.

A clause's kind comes from its verb (cancel, return, change, status); sentences and
clauses joined by "and", "also", "then" start a new request where the kind changes. A
clause with no such verb ("it arrived broken") belongs to the request around it.
"""

from __future__ import annotations

import re

__all__ = [
    "INTENTS_OF_KIND",
    "kind_of",
    "kinds_in",
    "negated_kinds",
    "sentences",
    "split_by_action",
    "withdrawn",
]

_KINDS: dict[str, re.Pattern[str]] = {
    "cancel": re.compile(
        r"\b((?<!was )(?<!been )(?<!already )(?<!the )(?<!my )cancel\w*|call off|scrap"
        r"|back out of|don'?t (?:send|ship)|do not (?:send|ship)"
        r"|stop (?:the|my|that) order)\b",
        re.IGNORECASE,
    ),
    "return": re.compile(
        r"\b(return(?:ing)?\b|send (?:\w+ ){0,3}back|give (?:\w+ ){0,2}back"
        r"|take (?:\w+ ){0,2}back)\b",
        re.IGNORECASE,
    ),
    "change": re.compile(
        r"\b(exchange\w*|swap\w*|switch(?!ed|es\b)\w*|trade|replace"
        r"|change(?!d my mind| of (?:mind|plan))|modify|upgrade"
        # not where a refund goes ("send the refund to my PayPal")
        r"|(?:ship|deliver|send) (?!(?:the |my )?(?:refund|money)\b)(?:\w+ ){0,4}?to (?!me\b|you\b)"
        r"|(?:new|different|correct) address"
        r"|update (?:my|the) (?:(?:shipping|delivery|billing) )?(?:address|payment|order)"
        # "the black t-shirt should be XXL not XL"
        r"|should (?:be|have been) (?:an? |in )?[\w-]+,? not (?:an? )?[\w-]+"
        # "can the luggage set be the 2-piece instead of the 4-piece"
        r"|\bbe (?:the |an? )?[\w-]+(?: [\w-]+){0,2} instead of)\b",
        re.IGNORECASE,
    ),
    "status": re.compile(
        r"\b(where(?:'s| is| are) (?:my|the|it|they)|track (?:my|the|it)|tracking (?:number|info)"
        r"|where (?:my|the) (?:\w+ ){1,3}(?:is|are)\b|status of|when will (?:it|they|my|the)"
        r"|when (?:(?:does|do|is|are|will) )?(?:my|the|it|they) (?:\w+ ){0,5}?"
        r"(?:ships?|shipping|arrives?|arriving|gets? here|(?:be )?delivered)"
        r"|check (?:on (?:my|the)|when|where|the status)"
        r"|which (?:of )?my orders|which orders? (?:are|is|have|has)"
        r"|(?:list|show)(?: me)? (?:all )?my orders"
        # what an order cost: "how much did I pay for the order with the luggage set?"
        r"|how much (?:did|do|have) (?:i|we) (?:pay|paid|spend|spent)|what did (?:i|we) pay"
        r"|how much (?:was|is|were) (?:my|the|that) (?:\w+ ){0,2}order"
        r"|ha(?:s|ve)(?:n'?t)? (?:it|they|my \w+|the \w+|(?:order )?#?W\d{7}) "
        r"(?:shipped|arrived|been (?:shipped|sent))"
        # "is my order with the grill already shipped?", "was the lamp delivered yet?"
        r"|(?:^|[,;]\s*|\b(?:and|but|so|also)\s+)(?:is|are|was|were)(?:n'?t)? "
        r"(?:it|they|my|the|that|this) (?:[\w-]+ ){0,6}?(?:already |yet |even )?"
        r"(?:shipped|dispatched|delivered|sent out|on (?:its|the) way|out for delivery))\b",
        re.IGNORECASE,
    ),
}
#: The flow's intents (intents.py) a request of each kind can be.
INTENTS_OF_KIND: dict[str, tuple[str, ...]] = {
    "cancel": ("cancel",),
    "return": ("return", "refund"),
    "change": ("modify", "exchange", "address_change", "payment"),
    "status": ("order_status",),
}
_JOIN = re.compile(r"(?:,|;)?\s+(?:and also|and then|and|also|plus|then|as well as)\s+|[,;]\s+")
_SENTENCE = re.compile(
    r"(?<=[.!?;])\s+(?=[A-Z#\"'(])|\n\s*\n|\n(?=\s*[-*•]\s)|\n(?=\s*\d{1,2}[.)]\s)"
    r"|(?<=[.!?;:])\s+(?=\d{1,2}\)\s|[-*•]\s)"
    # written all in lower case ("dont cancel it. can you change the keyboard"): after a
    # word of two letters or more, not an abbreviation ("no.", "st.", "approx.")
    r"|(?<=[a-z][a-z][.!?])(?<!\bno\.)(?<!\bnr\.)(?<!\bst\.)(?<!\bvs\.)(?<!\bmr\.)(?<!\bms\.)"
    r"(?<!\bdr\.)(?<!\bca\.)(?<!\bave\.)(?<!\bapt\.)(?<!\bste\.)(?<!\betc\.)(?<!\bincl\.)"
    r"(?<!\bexcl\.)(?<!\bapprox\.)(?<!\bmrs\.)\s+(?=[a-z])"
)


def sentences(text: str) -> list[str]:
    return [s.strip() for s in _SENTENCE.split(text) if s and s.strip()]


#: Right before a verb, words that say the customer does NOT want it done ("please don't
#: cancel", "I do not want to return it", "never exchange").
_NEGATION = re.compile(
    r"\b(?:don'?t|do not|never|rather not|not to|no need to)\s+"
    r"(?:(?:want|need|wish|plan|mean|intend|have|like)\s+(?:you\s+)?to\s+)?(?:\w+\s+)?$",
    re.IGNORECASE,
)


def _negated(text: str, start: int) -> bool:
    return _NEGATION.search(text[max(0, start - 40) : start]) is not None


def kind_of(text: str) -> str | None:
    """The kind of request the text's first action verb makes, or None. A verb the customer
    negates ("don't cancel it") asks for nothing."""
    verbs = _verbs(text)
    return verbs[0][1] if verbs else None


def kinds_in(text: str) -> set[str]:
    """Every kind of request the text's verbs make (negated ones left out)."""
    return {kind for _, kind in _verbs(text)}


def negated_kinds(text: str) -> set[str]:
    """Kinds of request the text names only to say they are not wanted ("don't cancel it,
    ship it to my office instead": cancel)."""
    named = {kind for kind, p in _KINDS.items() if kind != "status" and p.search(text)}
    return named - {kind for _, kind in _verbs(text)}


def _verbs(text: str) -> list[tuple[int, str]]:
    return sorted(
        (m.start(), kind)
        for kind, p in _KINDS.items()
        for m in p.finditer(text)
        if kind == "status" or not _negated(text, m.start())
    )


#: Two changes of a pending order that are requests of their own: paying another way
#: ("I'd like to pay with my PayPal instead") and sending it elsewhere ("please deliver it to
#: 77 Harwood Street"). Both are of kind "change"; a sentence asking for both is cut between.
_PAY_WITH = re.compile(
    r"\b(?:pay(?:ing)?|charge\s+(?:it|the\s+order))\s+(?:for\s+(?:it|them|the\s+order)\s+)?"
    r"(?:with|by|using|via|to)\s+(?:my\s+|the\s+)?(?:paypal|visa|mastercard|amex|gift|credit|"
    r"debit|card)",
    re.IGNORECASE,
)
_SEND_TO = re.compile(
    r"\b(?:ship|deliver|send)\s+(?!(?:the |my )?(?:refund|money)\b)(?:\w+\s+){0,4}?to\s+\d"
    r"|\b(?:new|different)\s+(?:shipping\s+|delivery\s+)?address\b",
    re.IGNORECASE,
)


def _change_of(piece: str) -> str | None:
    """Which change a piece asks for, where it names one of the two above only."""
    pay, send = _PAY_WITH.search(piece), _SEND_TO.search(piece)
    return "payment" if pay and not send else "address" if send and not pay else None


def _verbs_and_changes(sentence: str) -> list[tuple[int, str]]:
    """The sentence's verbs by kind, with a payment wish and a delivery elsewhere told apart."""
    found = [
        (p, k) for p, k in _verbs(sentence) if k != "change" or not _SEND_TO.match(sentence, p)
    ]
    found += [(m.start(), "change:payment") for m in _PAY_WITH.finditer(sentence)]
    found += [(m.start(), "change:address") for m in _SEND_TO.finditer(sentence)]
    return sorted(found)


def _split_sentence(sentence: str) -> list[str]:
    """Cuts a sentence where its verbs change kind, at the last joining word before."""
    pieces, start, previous = [], 0, None
    changes = _verbs_and_changes(sentence)
    both = {k for _, k in changes} >= {"change:payment", "change:address"}
    for position, kind in changes if both else _verbs(sentence):
        if previous is not None and kind != previous:
            joins = [j for j in _JOIN.finditer(sentence, start, position)]
            if joins:
                cut = joins[-1]
                pieces.append(sentence[start : cut.start()].strip())
                start = cut.end()
        previous = kind
    pieces.append(sentence[start:].strip())
    return [p for p in pieces if p]


#: A change asked for again in a few words, naming nothing new: "Can you switch it?",
#: "please change it".
_BARE_CHANGE = re.compile(
    r"^\W*(?:(?:yes|yeah|yep|ok(?:ay)?|sure)\W+)?"
    r"(?:(?:so\s+)?(?:can|could|would)\s+you\s+(?:please\s+)?|please\s+)?"
    r"(?:switch|change|update|swap|modify)\s+(?:it|that|this|them)(?:\s+(?:over|please|for\s+me))*"
    r"\W*(?:please|thanks|thank\s+you)?\W*$",
    re.IGNORECASE,
)


def _asks_again(previous: str | None, piece: str) -> bool:
    """Whether `piece` only asks again for the payment or address change before it."""
    return bool(previous and previous.startswith("change:") and _BARE_CHANGE.match(piece))


def split_by_action(text: str) -> list[str]:
    """The text's requests, in order; one piece when it asks for one kind of thing."""
    spans: list[tuple[str | None, str]] = []
    for sentence in sentences(text):
        for piece in _split_sentence(sentence):
            kind = kind_of(piece)
            if kind in (None, "change") and (change := _change_of(piece)) is not None:
                kind = f"change:{change}"
            if spans and (
                kind is None or spans[-1][0] in (None, kind) or _asks_again(spans[-1][0], piece)
            ):
                last_kind, last_text = spans[-1]
                spans[-1] = (last_kind or kind, f"{last_text} {piece}")
            else:
                spans.append((kind, piece))
    return [piece for _, piece in spans]


_ACTION_VERB = r"(?:exchange|return|cancel|change|modify|swap|switch|send (?:it|them) back)"
_WITHDRAWN = re.compile(
    rf"\b(?:decided?|decides|deciding) (?:not to|to not|against) {_ACTION_VERB}"
    rf"|\b(?:don'?t|do not|won'?t|no longer want to|not going to) {_ACTION_VERB}\w*"
    r"(?: \w+){0,5} after all\b"
    r"|\b(?:don'?t|do not|please don'?t) (?:(?:cancel|return|modify|change) (?:or|and) )?"
    r"(?:do|change|touch|cancel|modify) anything(?: yet| for now)?\b(?! else)"
    r"|\bhold off\b"
    # a plan given up: "I was going to return the kettle, but actually no" (the "but" may
    # open the next request: then the plan ends its own)
    rf"|\bwas (?:going|planning|about|meaning) to {_ACTION_VERB}\b"
    r"(?=[^.!?]*(?:\b(?:but|however)\b|$))"
    # the payment kept as it is: "Then leave it on PayPal", "I'll stick with my Visa"
    r"|\b(?:leave|keep)\s+it\s+(?:on|with)\s+(?:my\s+|the\s+)?"
    r"(?:paypal|visa|mastercard|amex|(?:credit\s+|debit\s+|gift\s+)?card)\b"
    r"|\bstick\s+with\s+(?:my\s+|the\s+)?"
    r"(?:paypal|visa|mastercard|amex|(?:credit\s+|debit\s+|gift\s+)?card)\b"
    # "Forget the swap then", "never mind the exchange"
    r"|\b(?:forget|never\s?mind|scrap|drop)\s+(?:about\s+)?(?:the|that|this|my)\s+"
    r"(?:swap|exchange|change|return|cancell?ation|refund)\b"
    # an answer that takes it back: "no wait, don't.", "I'll keep it after all"
    r"|\b(?:don'?t|do not)(?: do (?:it|that))?(?=\s*(?:[.!]|$))"
    r"|\bkeep(?:ing)? (?:it|them|the order|everything)(?: \w+){0,2} after all\b"
    r"|\b(?:wants?|needs?) (?:it|them) after all\b"
    r"|\bleave (?:it|them|the order)(?: as it is| as is| alone| be)?"
    r"(?:,?\s+(?:then|for now|please|thanks?|thank you))?"
    r"(?=\s*(?:[.!]|$|,\s*(?:i|i'll|i will|we)\b))",
    re.IGNORECASE,
)
#: A later "don't cancel it" taking back what was asked before ("Actually no, don't cancel
#: it. I'll keep the lamp.", "wait - rather than returning it, could I exchange it"): the verb
#: with nothing but the order as its object.
_TAKEN_BACK = re.compile(
    rf"\b(?:(?:don'?t|do not)(?:\s+(?:want|wish|need)\s+to)?|no need to|rather than|instead of)"
    rf"\s+({_ACTION_VERB})\w*"
    r"(?:\s+(?:it|them|that|this|(?:the|my)(?:\s+(?:whole|entire))?\s+order))?"
    r"(?=\s*(?:[.!,;]|$))",
    re.IGNORECASE,
)


#: Any word that asks for something to be done to an order.
_ANY_ACTION = re.compile(
    r"\b(?:cancel\w*|return(?:ing)?|refund\w*|exchange\w*|swap\w*|switch(?!es\b)\w*|modify"
    r"|change(?!d my mind)\w*|replace|remove|update|upgrade|send|ship|deliver|stop"
    # "my order with the chair should go to my studio instead"
    r"|(?:should|to|can|could|please)\s+go\s+to|redirect\w*|re-?route\w*)\b",
    re.IGNORECASE,
)


#: The customer keeps what they have, after the request: "No. Forget it, I'll keep it.",
#: "No thanks, then I'll just keep the one I have", "never mind".
_KEPT_AS_IS = re.compile(
    r"\b(?:forget\s+(?:about\s+)?it|never\s?mind|(?:i'?ll|i\s+will|i'?m\s+going\s+to|i\s+am\s+"
    r"going\s+to|i'?d\s+rather)\s+(?:just\s+)?keep\s+(?:it|them|the\s+one\s+i\s+have|what\s+i\s+"
    r"have|the\s+(?:old|original)\s+one))\b",
    re.IGNORECASE,
)


def withdrawn(text: str) -> bool:
    """The customer takes the request back in the same breath ("… but then decided not to
    exchange the kettle after all"), or asks only that something NOT be done ("please
    don't cancel #W1234567, I want to keep it")."""
    if _WITHDRAWN.search(text) is not None:
        return True
    actions = [m.start() for m in _ANY_ACTION.finditer(text)]
    kept = list(_KEPT_AS_IS.finditer(text))
    if (
        kept
        and any(a < kept[-1].start() for a in actions)
        and all(a < kept[-1].start() or _negated(text, a) for a in actions)
    ):
        return True  # kept as it is after the request, and nothing asked for after that
    last = next(reversed(list(_TAKEN_BACK.finditer(text))), None)
    if (
        last is not None
        and re.search(rf"\b{last.group(1)}", text[: last.start()], re.IGNORECASE)
        and all(a < last.end() or _negated(text, a) for a in actions)
    ):
        return True  # the last word on what was asked before: nothing asked for after it
    return bool(actions) and all(_negated(text, start) for start in actions)
