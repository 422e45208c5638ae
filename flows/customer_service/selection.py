"""Which items of an order a request is about: the ones named, everything but the ones
excluded ("return everything except the coffee machine", "keep the mouse"), and how many
("two of the three shirts").

When the words cannot tell which of several different items are meant ("the shirt" in an
order with a blue and a red one), nothing is picked and the customer is asked.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field

from connectors.schemas import OrderItem
from flows.customer_service.matching import Mention, mentions, option_hits, words_of

__all__ = ["ItemPick", "acting_mentions", "pick_items", "pointing_products", "without_kept"]

_EXCEPT = re.compile(
    r"\b(?:except(?: for)?|apart from|other than|but not|excluding|not including|without"
    # "it's the yoga mat I want to return, not the grill"
    r"|(?:(?<=, )|(?<=- )|(?<=– ))not(?=\s+(?:the|my|this|that|these|those)\b)"
    r"|keep(?:ing)?|hold(?:ing)? on to|hang(?:ing)? on to)\b",
    re.IGNORECASE,
)
#: "I don't want to keep the puzzle" keeps nothing; "actually no, keep the skateboard" (a
#: "no" set apart by a comma) does.
_NEGATED = re.compile(r"(?:\bnot|n't|\bnever|\bno)\s+(?:[\w']+\s+){0,2}$", re.IGNORECASE)
_SCOPE_END = re.compile(
    r"[.;!?\n,]|\bbut\b|\band (?:please |also |then )?(?:return|send|refund|exchange|cancel)\b"
    # a dash set apart by spaces: "except the yoga mat - so just the blender"
    r"|\s[-–—]\s",
    re.IGNORECASE,
)
_REST = re.compile(
    r"\b(the rest|everything else|all the others|all others|the others"
    r"|all (?:the )?other (?:items|things|stuff))\b",
    re.IGNORECASE,
)
_NEW = re.compile(r"\b(to|for|into|instead|with)\b", re.IGNORECASE)
_NEW_NOT_WITH = re.compile(r"\b(to|for|into|instead)\b", re.IGNORECASE)
#: "return just the sunglasses": the items after it are all the request is about.
_ONLY = re.compile(r"\b(?:just|only)\s+(?:the\s+|my\s+|this\s+|that\s+|these\s+|those\s+)?", re.I)
_ONLY_END = re.compile(r"[.;!?\n]|\bbut\b", re.IGNORECASE)
#: Said of an item right after naming it: the customer is happy with it ("the charger is
#: fine", "the laptop has been great").
_FINE = re.compile(
    r"^\W*(?:\w+\s+){0,2}?(?:is|are|was|were|has been|have been|works?|seems?|fits?)\s+"
    r"(?:(?!not\b|n't\b)\w+\s+)?(?:fine|great|good|ok|okay|perfect|excellent|working|lovely|"
    r"brilliant|fantastic|amazing)\b",
    re.IGNORECASE,
)
#: A sentence telling what was bought, asking for nothing ("Last month I bought a laptop
#: along with a garden hose and a camera."): its products are background.
_HISTORY = re.compile(r"\b(?:bought|ordered|purchased|got|received|along with)\b", re.I)
#: A sentence glad about an item ("it now looks lovely in our living room", "thanks for the
#: help with the bookshelf"): it asks nothing of that item.
_CONTENT = re.compile(
    r"\b(?:lovely|love\w*|happy\s+with|perfect\w*|excellent|fantastic|wonderful|thank\w*"
    r"|did\s+the\s+trick|works?\s+(?:fine|great|well|perfectly))\b",
    re.I,
)
_ASKS = re.compile(
    r"\b(?:return|send\w* (?:\w+ ){0,3}back|exchange|refund|cancel|swap|replace|remove"
    r"|change|modify|want|like|need|please)\b",
    re.IGNORECASE,
)
_SENTENCE_END = re.compile(r"[.;!?\n]+")
_COUNTS = {
    "one": 1,
    "single": 1,
    "two": 2,
    "both": 2,
    "three": 3,
    "four": 4,
    "five": 5,
    "six": 6,
}


@dataclass(frozen=True)
class ItemPick:
    items: list[OrderItem]
    #: ``which_items`` when the words do not tell which items (then `candidates`).
    problem: str | None = None
    candidates: list[OrderItem] = field(default_factory=list)


def _offsets(text: str) -> list[int]:
    return [m.start() for m in re.finditer(r"[a-z0-9]+", text.lower())]


def _excluded_spans(text: str) -> list[tuple[int, int]]:
    """Character ranges that name what the customer keeps or leaves out. "except" in a
    sentence that asks for nothing tells what happened ("Everything came fine except the
    chair, it squeaks"): it leaves nothing out of a request."""
    spans = []
    sentences = _sentences(text)
    for marker, stop in _set_aside(text):
        # "keep the mouse" and "(the speaker, I mean) - not the lamp" set aside in any sentence
        if not marker.group(0).lower().startswith((*_KEEPING, "not")):
            begun, _, sentence = next(s for s in sentences if s[0] <= marker.start() < s[1])
            if text[begun : marker.start()].strip() and not _ASKS.search(sentence):
                continue
        spans.append((marker.end(), stop))
    return spans


#: How the words that keep an item begin: "keep", "holding on to", "hang on to".
_KEEPING = ("keep", "hold", "hang")


def _set_aside(text: str) -> Iterator[tuple[re.Match[str], int]]:
    """Each word that sets something aside ("except", "keep", "- not"), and where what it sets
    aside ends; not a negated one ("I don't want to keep"), nor a count kept ("keeping two")."""
    for marker in _EXCEPT.finditer(text):
        if _NEGATED.search(text[: marker.start()][-40:]):
            continue
        if _KEEP_COUNT.match(text, marker.start()):
            continue  # "keeping two of the earbuds": some of them (`_kept_count`)
        end = _SCOPE_END.search(text, marker.end())
        yield marker, end.start() if end else len(text)


def without_kept(text: str) -> str:
    """The text with what the customer says they keep blanked out ("I'll keep the green mug
    after all"): words about a kept item name none of the new options."""
    for marker, stop in list(_set_aside(text)):
        if marker.group(0).lower().startswith(_KEEPING):
            text = text[: marker.start()] + " " * (stop - marker.start()) + text[stop:]
    return text


#: What is said of "everything else" that is kept: "Everything else in that order (the
#: dumbbells, the speaker) is great and I'm keeping it all".
_KEPT_REST = re.compile(
    r"\b(?:keep(?:ing)?|is|are|was|were|has been|have been|works?|working)\b[^.;!?\n]{0,20}?"
    r"\b(?:keep\w*|fine|great|good|ok|okay|perfect|excellent|brilliant|working|happy)\b|"
    r"\bhappy with\b|"
    # "Everything else from that parcel I'm keeping", "everything else stays with me"
    r"\b(?:i'?m|i\s+am|we'?re|we\s+are|i'?ll|i\s+will|we'?ll)\s+keep(?:ing)?\b|"
    r"\bstays?\s+with\s+(?:me|us)\b",
    re.IGNORECASE,
)


def _rest_kept(text: str) -> list[tuple[int, int]]:
    """Sentences that say everything else is kept or fine: all they name is left out, and
    their "everything else" asks for nothing."""
    return [
        (start, stop)
        for start, stop, sentence in _sentences(text)
        if _REST.search(sentence)
        and _KEPT_REST.search(sentence)
        and not re.search(r"\bnot\b|n't\b|\bnever\b", sentence, re.IGNORECASE)
    ]


#: Said later in the sentence that names items: they are fine or kept ("The bookshelf, the
#: clock and the kettle are fine", "The earbuds I am keeping").
_FINE_LATER = re.compile(
    r"\b(?:are|is|were|was)\s+(?:all\s+|both\s+)?(?:fine|great|good|ok|okay|perfect|lovely)\b"
    # kept without an object of its own ("I'm keeping the coffee maker" is about that one)
    r"|\b(?:i|we)(?:'m|\s+am|'re|\s+are|'ll|\s+will)\s+keep(?:ing)?\b"
    # not "I'm keeping two" (some of them: `_kept_count`)
    r"(?!\s+(?:the|my|a|an|this|that|his|her|our|your|one|two|three|four|five|\d)\b)",
    re.IGNORECASE,
)


def _said_fine(
    text: str, offsets: list[int], words: list[str], mention: Mention, others: list[Mention]
) -> bool:
    end = offsets[mention.end - 1] + len(words[mention.end - 1])
    if (fine := _FINE.search(text[end : end + 60])) is not None:
        # not of the very item a request names ("I want to return the smart watch, works
        # fine but I never wear it": a reason); "return the lamp, the charger is fine" is
        # of another item
        if _object_of_request(text, offsets[mention.start]):
            return False
        # "the kettle is fine but the steel gets really hot": granted, then taken back,
        # when what follows "but" names no other item
        after = end + fine.end()
        stop = _SENTENCE_END.search(text, after)
        until = stop.start() if stop else len(text)
        conceded = re.match(r"\W*but\b", text[after:until], re.IGNORECASE) is not None
        return not (conceded and not any(after <= offsets[m.start] < until for m in others))
    stop = _SENTENCE_END.search(text, end)
    rest = text[end : stop.start() if stop else len(text)][:120]
    later = _FINE_LATER.search(rest)
    if later is None or _ASKS.search(rest[: later.start()]):
        return False
    # not when the item is what the sentence asks for ("I want to return the lamp, which
    # after a week is still fine but not needed"); an item named after the request's object
    # is another one ("can i swap it for the black one, the speaker and the lamp are fine")
    return not _object_of_request(text, offsets[mention.start])


#: What ends the object of a verb: "return the lamp, the charger is fine".
_CLAUSE_BREAK = re.compile(r"[,;:()]|\b(?:and|but|while|though)\b", re.IGNORECASE)


def _object_of_request(text: str, start: int) -> bool:
    """Whether the words before `start` in its sentence ask for something with nothing
    between the asking word and `start` that ends its object."""
    starts = [m.end() for m in _SENTENCE_END.finditer(text, 0, start)]
    before = text[starts[-1] if starts else 0 : start]
    asks = list(_ASKS.finditer(before))
    return bool(asks) and _CLAUSE_BREAK.search(before, asks[-1].end()) is None


def _in_focus(text: str, offsets: list[int], found: list[Mention]) -> list[Mention]:
    """The mentions the request is about: those after "just"/"only" when it says so
    ("return just the sunglasses"); else all but those in sentences that only tell what was
    bought or that the customer is glad of, when others remain."""
    focused = []
    for marker in _ONLY.finditer(text):
        end = _ONLY_END.search(text, marker.end())
        stop = end.start() if end else len(text)
        # by its last word: a match may take in the article "just" was followed by ("the
        # kettle" read as "Tea Kettle")
        focused += [m for m in found if marker.end() <= offsets[m.end - 1] < stop]
    if focused:
        return sorted(set(focused), key=lambda m: (m.start, -m.tier))
    background = [
        (start, stop)
        for start, stop, sentence in _sentences(text)
        if (_HISTORY.search(sentence) or _CONTENT.search(sentence)) and not _ASKS.search(sentence)
    ]
    kept = [m for m in found if not any(a <= offsets[m.start] < b for a, b in background)]
    return kept or found


def _sentences(text: str) -> list[tuple[int, int, str]]:
    starts = [0, *(m.end() for m in _SENTENCE_END.finditer(text))]
    ends = [*(m.start() for m in _SENTENCE_END.finditer(text)), len(text)]
    return [(a, b, text[a:b]) for a, b in zip(starts, ends, strict=False) if a < b]


def _count(word: str) -> int | None:
    if word in _COUNTS:
        return _COUNTS[word]
    return int(word) if word.isdigit() and 0 < int(word) < 20 else None


#: What follows "the smaller of", "the cheapest of": the items it is one of.
_OF_WHICH = (["the"], ["my"], ["those"], ["these"])


def _count_before(words: list[str], start: int) -> int | None:
    """A number just before a mention: "two of the three shirts" -> 2, "both lamps" -> 2."""
    window = words[max(0, start - 5) : start]
    # "the smaller of the two skateboards": one of them (the two is how many there are)
    for i, word in enumerate(window):
        if (
            window[i + 1 : i + 2] == ["of"]
            and window[i + 2 : i + 3] in _OF_WHICH
            and (word.endswith(("er", "est")) or word in ("first", "second", "other", "last"))
        ):
            return 1
    numbers = [
        (i, n)
        for i, w in enumerate(window)
        if (n := _count(w)) and window[max(0, i - 2) : i] != ["of", "the"]
    ]
    for i, n in numbers:
        if window[i + 1 : i + 2] == ["of"]:
            return n
    return numbers[-1][1] if numbers else None


def _count_said(words: list[str], spots: list[Mention]) -> int | None:
    """The count said with any of a product's mentions ("Mugs" in the subject, then "two of
    the three white mugs" in the message), or None."""
    counts = (_count_before(words, spot.start) for spot in spots)
    return next((n for n in counts if n is not None), None)


#: How many of the same item the customer keeps: "I'm keeping two", "keep one of them".
_KEEP_COUNT = re.compile(
    r"\b(?:keep|keeping)\s+(?P<n>one|two|three|four|five|\d)\b(?!\s+(?:other|more|different)\b)",
    re.IGNORECASE,
)
#: Which of several of the same item by price: "the cheapest pair", "the most expensive one".
_PRICE_EXTREME = re.compile(
    r"\b(?:cheapest|least\s+expensive|lowest[\s-]priced|most\s+expensive|priciest|dearest)\b",
    re.IGNORECASE,
)


#: One item of several pointed at by an option value: "the white one", "the blue ones".
_THE_VALUE_ONE = re.compile(r"\bthe\s+([\w-]+(?:\s+[\w-]+)?)\s+ones?\b", re.IGNORECASE)


def _the_one_by_value(text: str, same: list[tuple[int, OrderItem]]) -> tuple[int, OrderItem] | None:
    """The only one of `same` whose option value the text names as "the <value> one"; the
    last one named wins ("the blue one, sorry, I mean the black one"), not one named as
    kept ("keep the white one")."""
    kept = _excluded_spans(text)
    for m in reversed(list(_THE_VALUE_ONE.finditer(text))):
        if any(a <= m.start() < b for a, b in kept):
            continue
        fitting = [p for p in same if option_hits(p[1].options, m.group(1)) > 0]
        if len(fitting) == 1:
            return fitting[0]
    return None


def _kept_count(text: str) -> int | None:
    found = _KEEP_COUNT.search(text)
    return _count(found["n"].lower()) if found else None


def _plural(word: str) -> bool:
    return len(word) > 3 and word.endswith("s") and not word.endswith("ss")


def _order_words(words: list[str], mention: Mention) -> bool:
    """A product named to point at its order: "the laptop order", "the order with the lamp",
    "the one with the dumbbells" (an answer to "which order?"), "the order that also had
    the lamp"."""
    after = words[mention.end : mention.end + 1]
    window = [w for w in words[max(0, mention.start - 7) : mention.start] if w != "also"]
    before = window[-4:]
    # "the kettle that came in the same box as the shoes"
    parcel = {"box", "package", "parcel", "delivery", "shipment"}
    return (
        after in (["order"], ["orders"])
        or (
            bool({"order", "one"} & set(before))
            and bool({"with", "containing", "had", "has"} & set(before))
        )
        # "from my order that came with the espresso machine"
        or (
            bool({"order", "one"} & set(window[-6:]))
            and (
                "came with" in " ".join(before)
                or bool({"included", "contained", "containing"} & set(before))
            )
        )
        or ("same" in before and bool(parcel & set(before)))
    )


#: What joins products into one list ("running shoes and an office chair").
_LIST_JOIN = re.compile(r"(?:[\s,]|\b(?:and|a|an|the|my|some|also|plus|two|both)\b)*", re.I)


def _acting(text: str, words: list[str], found: list[Mention]) -> list[Mention]:
    """The mentions not naming their order; a product listed right after one that does
    names the order too ("the order that also had running shoes and an office chair"), not
    one after a colon or a sentence's end ("the order with the hose: the t-shirt ...")."""
    offsets = _offsets(text)
    acting: list[Mention] = []
    pointing: Mention | None = None
    for mention in sorted(found, key=lambda m: m.start):
        joined = False
        if pointing is not None:
            after = offsets[pointing.end - 1] + len(words[pointing.end - 1])
            joined = _LIST_JOIN.fullmatch(text[after : offsets[mention.start]]) is not None
        if joined or _order_words(words, mention):
            pointing = mention
        else:
            pointing = None
            acting.append(mention)
    return [m for m in found if m in acting]


def pointing_products(text: str, items: Sequence[OrderItem]) -> set[str]:
    """Products of the items the text names only to point at their order ("the one with the
    wristwatches"), never as something to act on."""
    found = mentions(text, {i.product_id: i.name for i in items})
    acting = {m.product_id for m in _acting(text, words_of(text), found)}
    return {m.product_id for m in found} - acting


def acting_mentions(text: str, items: Sequence[OrderItem]) -> list[Mention]:
    """Mentions of the items' products that are about the items themselves, not a way of
    naming their order ("the laptop order")."""
    words = words_of(text)
    return _acting(text, words, mentions(text, {i.product_id: i.name for i in items}))


#: One of several items asked for, pointed back at: "change one of them", "one of the two".
_ONE_OF_THEM = re.compile(r"\bone\s+of\s+(?:them|those|these|the\s+two|the\s+2)\b", re.I)
_NEXT_ITEM = re.compile(r";|\band\b|\bplus\b|\bor\b", re.IGNORECASE)


def _described(
    text: str,
    offsets: list[int],
    found: list[Mention],
    mention: Mention,
    new: re.Pattern[str] = _NEW,
) -> str:
    """The words describing one mentioned item: a few before it ("the two blue shirts") to
    the next product or the first word that starts describing something new ("to", "for")."""
    earlier = [m.end for m in found if m.end <= mention.start]
    start = max([mention.start - 4, *earlier, 0])
    later = [m.start for m in found if m.start > mention.start]
    end = offsets[min(later)] if later else len(text)
    if later:
        # "the navy backpack and the black water bottle": after "and", the words describe
        # the next product
        after = offsets[mention.end - 1]
        join = _NEXT_ITEM.search(text, after, end)
        end = join.start() if join else end
    part = text[offsets[start] : end]
    split = new.search(part, offsets[mention.start] - offsets[start])
    return part[: split.start()] if split else part


def _by_options(
    text: str,
    offsets: list[int],
    found: list[Mention],
    named: list[Mention],
    same: list[tuple[int, OrderItem]],
) -> list[tuple[int, OrderItem]]:
    """Items of one product narrowed by the options written next to each mention of it
    ("the blue shirt", "Earbuds (battery life 6 hours); Earbuds (battery life 4 hours)");
    none when no mention names an option."""
    picked: list[tuple[int, OrderItem]] = []
    for mention in named:
        described = _described(text, offsets, found, mention)
        scores = [option_hits(i.options, described) for _, i in same]
        if max(scores) == 0:
            # "the earbuds with the 6 hour battery": "with" describes the item, when what
            # follows it is one of the items' own options
            described = _described(text, offsets, found, mention, _NEW_NOT_WITH)
            scores = [option_hits(i.options, described) for _, i in same]
        if max(scores) > 0:
            picked += [
                pair
                for pair, score in zip(same, scores, strict=True)
                if score == max(scores) and pair not in picked
            ]
    return picked


def _counted(words: list[str], included: list[Mention], chosen: list[OrderItem]) -> list[OrderItem]:
    """`chosen` with as many of each alike item as a count said with its mention ("two of the
    three mugs ... I keep the grinder"): the first ones."""
    kept: list[OrderItem] = []
    for item in chosen:
        wanted = _count_said(words, [m for m in included if m.product_id == item.product_id])
        alike = [i for i in kept if i.item_id == item.item_id]
        if wanted is None or len(alike) < wanted:
            kept.append(item)
    return kept


def pick_items(text: str, items: Sequence[OrderItem], *, all_items: bool = False) -> ItemPick:
    """The items of one order the text is about (see the module's docstring)."""
    names = {i.product_id: i.name for i in items}
    words = words_of(text)
    every = mentions(text, names)
    acting = _acting(text, words, every)
    # only products naming their order ("from the order with the vacuum, the blue one"):
    # none is what to act on
    found = acting if acting or not every else []
    if every and not acting:
        # "my order has two electric kettles. For the white one, …": the products only
        # name the order, and "the white one" picks one of them by its option
        pointed = [
            (n, i) for n, i in enumerate(items) if i.product_id in {m.product_id for m in every}
        ]
        if len(pointed) > 1 and (one := _the_one_by_value(text, pointed)) is not None:
            return ItemPick([one[1]])
    offsets = _offsets(text)
    found = _in_focus(text, offsets, found)
    kept_rest = _rest_kept(text)
    spans = _excluded_spans(text) + kept_rest
    asks_rest = any(not any(a <= m.start() < b for a, b in kept_rest) for m in _REST.finditer(text))

    def left_out(mention: Mention) -> bool:
        return any(a <= offsets[mention.start] < b for a, b in spans) or _said_fine(
            text, offsets, words, mention, every
        )

    # the last word on an item decides: "return the grill" then "not the grill, keep it"
    last = {m.product_id: m for m in every}
    excluded = {pid for pid, m in last.items() if left_out(m)}
    # one of several items of a product set aside by its options ("I'll keep the green mug"
    # beside a blue one): that item only, the product stays asked about
    set_aside: set[int] = set()
    for pid in list(excluded):
        same = [(n, i) for n, i in enumerate(items) if i.product_id == pid]
        if len({i.item_id for _, i in same}) < 2:
            continue
        narrowed = _by_options(text, offsets, every, [last[pid]], same)
        if narrowed and len(narrowed) < len(same):
            set_aside |= {n for n, _ in narrowed}
            excluded.discard(pid)
    included = [m for m in found if m.product_id not in excluded]
    if excluded or set_aside:
        keep_named = included and not (all_items or asks_rest)
        named = {m.product_id for m in included}
        base = [i for i in items if i.product_id in named] if keep_named else list(items)
        remaining = [
            i
            for n, i in enumerate(items)
            if i in base and i.product_id not in excluded and n not in set_aside
        ]
        chosen = _counted(words, included, remaining)
        return ItemPick(chosen) if chosen else ItemPick([], "which_items", list(items))
    if all_items or len(items) == 1:
        return ItemPick(list(items))
    chosen_ids: set[int] = set()
    by_price = _PRICE_EXTREME.search(text)  # "the cheapest pair", "the most expensive one"
    kept = _kept_count(text)  # "I'm keeping two"
    for product_id in dict.fromkeys(m.product_id for m in included):
        spots = [m for m in included if m.product_id == product_id]
        same = [(n, i) for n, i in enumerate(items) if i.product_id == product_id]
        wanted = _count_said(words, spots)
        if _ONE_OF_THEM.search(text) and len({m.product_id for m in included}) == 1:
            wanted = 1  # "two of the same hose by accident. can you change one of them"
        described = False  # some mention's own words tell its item apart ("the blue shirt")
        if len(same) > 1:
            narrowed = _by_options(text, offsets, found, spots, same)
            described, same = bool(narrowed), narrowed or same
            if len(same) > 1 and (one := _the_one_by_value(text, same)) is not None:
                same, wanted = [one], None  # "two kettles ... for the white one"
        distinct = len({i.item_id for _, i in same}) > 1
        singular = not _plural(words[spots[0].end - 1]) and not _plural(
            words_of(same[0][1].name)[-1]
        )
        if wanted is None and distinct and singular:
            # "the shirt", and there are two different ones: one, however often it is named
            # ("T-shirt" in the subject, "the t-shirt from order ..." in the message), unless
            # each mention describes its own ("the blue shirt and the red shirt")
            wanted = len(spots) if described else 1
        if wanted is None and len(same) > 1 and by_price is not None:
            wanted = 1  # "the most expensive earbuds": one of them
        if kept is not None and 0 < kept < len(same) and len(included) == len(spots):
            wanted = len(same) - kept  # "three pairs of earbuds ... I'm keeping two": the others
        if wanted is not None and wanted < len(same):
            if distinct and by_price is None:
                return ItemPick([], "which_items", [i for _, i in same])
            if by_price is not None:  # "return the cheapest pair"
                dearest = by_price.group(0).lower().startswith(("most", "priciest", "dearest"))
                same = sorted(same, key=lambda pair: pair[1].price, reverse=dearest)
            same = same[:wanted]
        chosen_ids |= {n for n, _ in same}
    return ItemPick([i for n, i in enumerate(items) if n in chosen_ids])
