"""Which products, items and variants a message means: text matched to the catalogue.

Customers name products loosely ("the mouse", "t shirt", "sneaker"); rapidfuzz compares the
words of the message with the catalogue's names, so plurals and small typos still match.
Options ("size L", "black", "30-50 lbs") are matched as whole words against the options the
catalogue really has, never guessed: when two variants fit equally, nothing is chosen and
the customer is asked.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from rapidfuzz import fuzz
from rapidfuzz.distance import OSA

from connectors.schemas import CatalogueProduct, OrderItem, ProductVariant
from flows.customer_service import scales

__all__ = [
    "Mention",
    "VariantChoice",
    "choose_variant",
    "has_value",
    "mentioned_products",
    "mentions",
    "option_hits",
    "segment",
    "words_of",
]

#: How alike (0-100) a run of words and a product name must be to count as a mention.
NAME_SCORE = 90.0
#: A replacement of the same kind ("a new one with the same options").
_SAME = re.compile(
    r"\b(same (options|one|item|model|kind|variant)|identical|replacement|exactly the same)\b",
    re.IGNORECASE,
)
_NEW = re.compile(r"\b(to|for|into|instead|with)\b", re.IGNORECASE)


def words_of(text: str) -> list[str]:
    """The text's words, lower case, as mentions count them."""
    return re.sub(r"[^a-z0-9]+", " ", text.lower()).split()


def _singular(word: str) -> str:
    if len(word) > 4 and word.endswith(("ches", "shes", "xes", "zes")):
        return word[:-2]  # "watches", "brushes", "boxes" ("glasses" stays a "glasse": the
        # glass of an option is no pair of Sunglasses)
    return word[:-1] if len(word) > 3 and word.endswith("s") and not word.endswith("ss") else word


@dataclass(frozen=True)
class Mention:
    """Where a product is written: word positions [start, end) and how surely it is meant."""

    product_id: str
    start: int
    end: int
    #: 2: the whole name ("gaming mouse"); 1: its head noun only ("the mouse", "my watch"
    #: for a Wristwatch).
    tier: int


#: Last words that say little about a product ("Coffee Maker", "Dumbbell Set"): such a
#: name's head noun is the word before ("the coffee machine", "the dumbbells").
_GENERIC = frozenset({"machine", "maker", "set", "kit", "device", "system", "unit"})


def _head(words: list[str]) -> str:
    meaningful = [w for w in words if w not in _GENERIC]
    return meaningful[-1] if meaningful else words[-1]


def _windows(target: list[str], text_words: Sequence[str]) -> list[int]:
    size, joined = len(target), " ".join(target)
    if len(joined) < 3:
        return []
    found = []
    for i in range(len(text_words) - size + 1):
        window = " ".join(_singular(w) for w in text_words[i : i + size])
        if fuzz.ratio(window, joined) >= NAME_SCORE:
            found.append(i)
    return found


def _compound(head: str, text_words: Sequence[str]) -> list[int]:
    """Words naming a compound by its last part: "watch" for Wristwatch, "phone" for
    Smartphone."""
    return [
        i
        for i, word in enumerate(text_words)
        if len(w := _singular(word)) >= 4 and head != w and head.endswith(w)
    ]


def mentions(text: str, names: dict[str, str]) -> list[Mention]:
    """Every mention of the products `names` (id -> name) in the text, in text order.

    A head-noun mention ("the kettle") is dropped where the same words are part of another
    product's full name ("electric kettle"), so the whole name wins.
    """
    words = words_of(text)
    full: list[Mention] = []
    heads: list[Mention] = []
    for pid, name in names.items():
        wanted = [_singular(w) for w in words_of(name)]
        if not wanted:
            continue
        full += [Mention(pid, i, i + len(wanted), 2) for i in _windows(wanted, words)]
        if len(wanted) == 2:  # written as one word: "smartwatch" for Smart Watch
            closed = "".join(wanted)
            full += [
                Mention(pid, i, i + 1, 2) for i, w in enumerate(words) if _singular(w) == closed
            ]
        head = _head(wanted)
        spots = (_windows([head], words) if len(wanted) > 1 else []) + _compound(head, words)
        heads += [Mention(pid, i, i + 1, 1) for i in spots]
    covered = {i for m in full for i in range(m.start, m.end)}
    kept = full + [
        m
        for m in heads
        if m.start not in covered
        and not any(f.product_id == m.product_id and f.start <= m.start < f.end for f in full)
    ]
    named = {m.product_id for m in kept}
    kept += [
        m
        for m in _first_words(words, names)
        if (not kept and not _a_place(words, m.start))
        or (
            m.product_id not in named
            and not any(k.start <= m.start < k.end for k in kept)
            and _asked_for(words, m.start)
        )
    ]
    if not kept:
        kept = _misspelt(words, names)
    return sorted(set(kept), key=lambda m: (m.start, -m.tier))


def _misspelt(words: Sequence[str], names: dict[str, str]) -> list[Mention]:
    """A product's head noun written with one letter wrong, missing, extra or swapped ("bike
    helmit", "the ketle"), read only where nothing names a product as written: a word of
    five letters or more, starting with the same letter, and no other product's head."""
    heads = {pid: _head([_singular(w) for w in words_of(name)]) for pid, name in names.items()}
    spelt = set(heads.values())
    found = []
    for pid, head in heads.items():
        if len(head) < 5:
            continue
        found += [
            Mention(pid, i, i + 1, 1)
            for i, word in enumerate(words)
            if len(word) >= 5
            and word[0] == head[0]
            and _singular(word) not in spelt
            and OSA.distance(_singular(word), head, score_cutoff=1) == 1
        ]
    return found


#: Words that ask for the item right after them (with an article, perhaps a describing
#: word between): "add the robot vacuum", "and the vacuum".
_ITEM_VERBS = frozenset(
    {"add", "return", "send", "exchange", "swap", "replace", "cancel", "refund", "include"}
    | {"and", "plus", "also"}
)


#: Words before a place: "ship it to my office", "I work from the garden".
_PLACE_BEFORE = frozenset({"to", "at", "in", "into", "from", "near", "inside", "outside"})


def _a_place(words: Sequence[str], at: int) -> bool:
    """Whether the word at `at` follows a preposition of place ("to my office")."""
    before = [w for w in words[max(0, at - 2) : at] if w not in ("the", "my", "our", "your", "a")]
    return bool(before) and before[-1] in _PLACE_BEFORE


def _asked_for(words: Sequence[str], at: int) -> bool:
    """Whether the word at `at` is what a request asks for ("could you add the robot vacuum
    to the return"), not a place ("send it to my office")."""
    before = list(words[max(0, at - 3) : at])
    for article in ("the", "my", "a", "an"):
        if article in before[-2:]:
            spot = len(before) - 1 - before[::-1].index(article)
            return spot > 0 and before[spot - 1] in _ITEM_VERBS
    return False


#: Endings of words that describe rather than name ("electric", "wireless", "gaming",
#: "portable"): such a first word alone is no product ("the electric one" is asked about).
_DESCRIBING = re.compile(r"(?:ic|al|less|ing|able|ible|ive|ous|ful|ed)$")


def _first_words(words: Sequence[str], names: dict[str, str]) -> list[Mention]:
    """A product called by the first word of its name ("the vacuum" for a Vacuum Cleaner,
    "the black fleece" for a Fleece Jacket), read when nothing else in the text names a
    product, or where a request asks for it (`_asked_for`): alone, "office" or "garden"
    mean a place more often than an Office Chair."""
    found = []
    for pid, name in names.items():
        wanted = [_singular(w) for w in words_of(name)]
        if len(wanted) < 2 or len(first := wanted[0]) < 4 or _DESCRIBING.search(first):
            continue
        found += [Mention(pid, i, i + 1, 1) for i in _windows([first], words)]
    return found


def mentioned_products(text: str, names: dict[str, str], *, head_noun: bool = False) -> list[str]:
    """Product ids (of `names`: id -> name) the text mentions, in text order: by their full
    name, or with `head_noun` also by their head noun."""
    found = [m for m in mentions(text, names) if head_noun or m.tier == 2]
    return list(dict.fromkeys(m.product_id for m in found))


#: Option values that are also the words of an answer: "waterproof: yes" is named only
#: beside its option's name, never by "Yes please" or "None of the orders".
_ANSWER_VALUES = frozenset({"yes", "no", "none"})


def has_value(value: str, text: str, key: str | None = None) -> bool:
    """Whether the text names this option value ("yes"/"no" only beside `key`)."""
    if value.casefold() in _ANSWER_VALUES:
        if key is None:
            return False
        k, v = re.escape(key), re.escape(value)
        said = rf"\b{k}\W{{0,3}}{v}\b|\b{v}\W{{0,3}}{k}\b"
        if value.casefold() == "no":
            said += rf"|\b(?:not|non)[\s-]?{k}\b"  # "not waterproof"
        if value.casefold() == "none":
            said += rf"|\b(?:no|without(?: an?)?)\s+{k}\b"  # "no backlight"
        return re.search(said, text, re.I) is not None
    flags = re.IGNORECASE if len(value) > 2 else 0
    if re.search(rf"(?<![\w-]){re.escape(value)}(?![\w-])", text, flags) is not None:
        return True
    if re.fullmatch(r"\d+(?:\.\d+)?\s?[^\W\d_]{2,}s", value) and re.search(
        rf"(?<![\w.-]){re.escape(value[:-1])}(?![\w-])", text, re.IGNORECASE
    ):
        return True  # a number with its unit in the singular: "6 hour" for "6 hours"
    if (unit := _UNIT_VALUE.fullmatch(value)) is not None and (
        words := _UNIT_WORDS.get(unit["unit"].casefold())
    ):
        # the unit written out: "2 liter" for "2L", "20 ounces" for "20oz"
        said = rf"(?<![\w.-]){re.escape(unit['n'])}\s?-?(?:{words})\b"
        if re.search(said, text, re.IGNORECASE):
            return True
    # joined to its option's name: "half-zip" for zipper "half"
    return bool(
        key
        and len(key) >= 3
        and re.search(rf"(?<![\w-]){re.escape(value)}-{re.escape(key[:3])}", text, re.I)
    )


#: An option value that is a quantity with a short unit ("2L", "500ml", "20oz", "6 ft").
_UNIT_VALUE = re.compile(r"(?P<n>\d+(?:\.\d+)?)\s?(?P<unit>[A-Za-z]{1,2})")
#: Those units written out, as a customer writes them.
_UNIT_WORDS = {
    "l": r"l|lit(?:er|re)s?",
    "ml": r"ml|millilit(?:er|re)s?",
    "oz": r"oz|ounces?",
    "ft": r"ft|feet|foot",
    "mm": r"mm|millimet(?:er|re)s?",
    "cm": r"cm|centimet(?:er|re)s?",
    "m": r"m|met(?:er|re)s?",
    "kg": r"kg|kilo(?:gram)?s?",
    "g": r"g|grams?",
    "w": r"w|watts?",
}


def option_hits(options: dict[str, str], text: str) -> int:
    """How many of an item's option values the text names."""
    return sum(has_value(v, text, k) for k, v in options.items())


def _offsets(text: str) -> list[int]:
    """The character offset of each word of `words_of(text)`."""
    return [m.start() for m in re.finditer(r"[a-z0-9]+", text.lower())]


def segment(text: str, name: str, others: Iterable[str]) -> str:
    """The parts of the text about `name`: from each mention of it to the next mention of
    another product after it, joined (the whole text when `name` is not mentioned). A
    customer may come back to an item later ("... and the bookshelf is too short, I'd like
    a taller one"), and an answer to our question about it follows the rest."""
    names = {name: name, **{o: o for o in others if o != name}}
    found = mentions(text, names)
    if not any(m.product_id == name for m in found):
        return text
    offsets = _offsets(text)
    parts: list[str] = []
    start: int | None = None
    for m in found:
        if m.product_id == name and start is None:
            start = offsets[m.start]
        elif m.product_id != name and start is not None:
            parts.append(text[start : offsets[m.start]])
            start = None
    if start is not None:
        parts.append(text[start:])
    return " ".join(p.strip() for p in parts)


def _new_part(segment: str, item: OrderItem, product: CatalogueProduct) -> str:
    """The words that describe the new variant: after the last "to"/"for"/"instead" that
    is followed by an option value the item does not have yet (a customer who changes their
    mind names the final choice last)."""
    fresh = _fresh_values(item, product)
    for marker in reversed(list(_NEW.finditer(segment))):
        tail = segment[marker.start() :]
        if any(has_value(value, tail, key) for key, value in fresh):
            if marker.group(1).casefold() == "with":
                # "with" qualifies the new item named before it in the same sentence ("The
                # black ones with IPX7 water resistance", "for the black ones with IPX7"):
                # from the marker before it, or the sentence's start
                start = max(segment.rfind(end, 0, marker.start()) for end in ".!?\n") + 1
                head = segment[start : marker.start()]
                if any(has_value(v, head, k) for k, v in fresh):
                    before = list(_NEW.finditer(head))
                    return segment[start + (before[-1].start() if before else 0) :]
            return tail
    return segment


def _fresh_values(item: OrderItem, product: CatalogueProduct) -> set[tuple[str, str]]:
    """The (option, value) pairs the item could change to."""
    return {
        (k, v)
        for variant in product.variants
        for k, v in variant.options.items()
        if item.options.get(k) != v
    }


#: An option the customer leaves to us: "the color doesn't matter", "any colour",
#: "whatever size", "I don't mind the color".
_FREE = re.compile(
    r"\b(?:the\s+)?(?P<a>[a-z]+)\s+(?:(?:really\s+)?(?:doesn'?t|does\s+not|don'?t)\s+matter"
    r"|is\s+not\s+important|isn'?t\s+important)\b"
    r"|\b(?:any|whatever|whichever)\s+(?P<b>[a-z]+)\b"
    r"|\bdon'?t\s+(?:mind|care\s+about)\s+(?:the\s+)?(?P<c>[a-z]+)\b",
    re.IGNORECASE,
)


def free_keys(text: str, product: CatalogueProduct) -> set[str]:
    """The product's option keys the customer says they do not mind ("colour" is "color")."""
    keys = {k.casefold(): k for v in product.variants for k in v.options}
    free = set()
    for m in _FREE.finditer(text):
        word = (m["a"] or m["b"] or m["c"]).casefold().replace("colour", "color")
        if word in keys:
            free.add(keys[word])
    return free


def alternatives(
    text: str, item: OrderItem, product: CatalogueProduct, limit: int = 8
) -> list[ProductVariant]:
    """The variants in stock to offer when the one asked for is not: those with most of the
    values the text names first, then those changing least of the item."""

    def rank(variant: ProductVariant) -> tuple[int, int]:
        named = sum(has_value(v, text, k) for k, v in variant.options.items())
        changed = sum(item.options.get(k) != v for k, v in variant.options.items())
        return (-named, changed)

    offered = [v for v in product.variants if v.available and v.item_id != item.item_id]
    return sorted(offered, key=rank)[:limit]


#: Sizes in words, for products whose sizes are letters ("a medium" is size M).
_SIZE_WORDS = (
    (re.compile(r"\b(?:extra[\s-]?large|x-large)\b", re.I), "XL"),
    (re.compile(r"\b(?:extra[\s-]?small|x-small)\b", re.I), "XS"),
    (re.compile(r"\blarge\b", re.I), "L"),
    (re.compile(r"\bmedium\b", re.I), "M"),
    (re.compile(r"\bsmall\b", re.I), "S"),
)


def _as_size(text: str, match: re.Match[str], keys: set[str]) -> bool:
    """Whether a size word that is also a value of the options `keys` stands as a size:
    a noun of its own ("I need a medium (same red, high ventilation)"), not beside one of
    those options ("a medium ventilation one")."""
    before, after = text[: match.start()][-12:], text[match.end() :][:20]
    beside = "|".join(re.escape(k) for k in keys)
    other = re.match(rf"\W*(?:{beside})\b", after, re.I) or re.search(
        rf"\b(?:{beside})\W*$", before, re.I
    )
    return bool(re.search(r"\b(?:a|an|size)\s+$", before, re.I)) and not other


def _letter_sizes(text: str, product: CatalogueProduct) -> str:
    """The text with sizes in words written as the product's letters, when its sizes are
    letters ("I'd like a medium" asks for size M)."""
    sizes = {v.options.get("size") for v in product.variants}
    for pattern, letters in _SIZE_WORDS:
        if letters not in sizes:
            continue
        keys = {
            k for v in product.variants for k, val in v.options.items() if pattern.fullmatch(val)
        }
        found = [m for m in pattern.finditer(text) if not keys or _as_size(text, m, keys)]
        for m in reversed(found):
            text = text[: m.start()] + letters + text[m.end() :]
    return text


@dataclass(frozen=True)
class VariantChoice:
    variant: ProductVariant | None
    #: Why nothing was chosen: ``no_options_named``, ``ambiguous``, ``unavailable``,
    #: ``other_changes_needed`` (what was asked for comes only with changes not asked for).
    problem: str | None = None
    candidates: tuple[ProductVariant, ...] = ()


def _with_option(text: str, key: str, value: str, item: OrderItem) -> bool:
    """ "one with a backlight" where the item has none: any value but none is asked for."""
    if value.casefold() in _ANSWER_VALUES or item.options.get(key, "").casefold() not in (
        "none",
        "no",
    ):
        return False
    return re.search(rf"\bwith(?:\s+an?)?\s+{re.escape(key)}s?\b", text, re.I) is not None


#: A new value asked for as what the item should be: "could the blue one be red instead".
_BE_INSTEAD = re.compile(
    r"\b(?:be|become)\s+(?:the\s+|an?\s+)?([\w-]+(?:\s+[\w-]+)?)\s+instead\b", re.IGNORECASE
)


#: Words after an option's name that move along it rather than name a value ("size up").
_RELATIVE = frozenset(
    ("up", "down", "bigger", "smaller", "larger", "higher", "lower", "more", "less", "same")
)


def _option_keys(product: CatalogueProduct) -> set[str]:
    """The names of the product's options ("size", "color")."""
    return {key for variant in product.variants for key in variant.options}


def _value_not_offered(text: str, product: CatalogueProduct, item_options: dict[str, str]) -> bool:
    """Whether the text names a value for one of the product's options that no variant has:
    "a size 12 in white", where the sizes are 8 to 11."""
    for key in _option_keys(product):
        values = {v.options[key] for v in product.variants if key in v.options}
        numbers = {n.group(0) for v in values if (n := _NUMBER.match(v))}
        for said in re.finditer(rf"\b{re.escape(key)}\s*:?\s+([\w.]+)", text, re.IGNORECASE):
            number = _NUMBER.match(said.group(1))
            if number is None or said.group(1).casefold() in _RELATIVE:
                continue  # "size up"; a word may be the start of a longer value ("extra large")
            if number.group(0) not in numbers:  # "capacity 1.2 litres" is the 1.2L one
                return True
    return _colour_not_offered(text, product, item_options)


#: Colour words a customer may ask for whether or not the catalogue has them.
_COLOURS = frozenset(
    [
        "red",
        "blue",
        "green",
        "black",
        "white",
        "grey",
        "gray",
        "silver",
        "gold",
        "pink",
        "purple",
        "orange",
        "yellow",
        "brown",
        "beige",
        "navy",
        "teal",
        "turquoise",
        "maroon",
        "burgundy",
        "cream",
        "ivory",
        "tan",
        "khaki",
        "olive",
        "violet",
        "lilac",
    ]
)


def _colour_not_offered(text: str, product: CatalogueProduct, item_options: dict[str, str]) -> bool:
    """Whether the words after "to"/"for"/"in"/"instead" ask for a colour none of the
    product's variants has ("for a red one", where the mugs are white, black and blue) and
    name none that one has (the item's own colour aside: "my white mug for a red one")."""
    colours = {
        word
        for v in product.variants
        for key, value in v.options.items()
        if key.casefold() in ("color", "colour")
        for word in words_of(value)
    }
    if not colours:
        return False
    marker = _NEW_OR_IN.search(text)
    if marker is None:
        return False
    own = {
        w
        for key, v in item_options.items()
        if key.casefold() in ("color", "colour")
        for w in words_of(v)
    }
    asked = set(words_of(text[marker.start() :])) & _COLOURS - own
    return bool(asked) and not asked & colours


_NEW_OR_IN = re.compile(r"\b(?:to|for|into|instead|in)\b", re.IGNORECASE)


_NUMBER = re.compile(r"\d+(?:[.,]\d+)?")


def _kept_keys(text: str, product: CatalogueProduct) -> set[str]:
    """Options the customer keeps as they are: "same colours", "the same size"."""
    said = {m.group(1).casefold() for m in _SAME_KEY.finditer(text)}
    if "colour" in said:
        said.add("color")
    return {key for key in _option_keys(product) if key.casefold() in said}


_SAME_KEY = re.compile(r"\bsame\s+([a-z]+?)s?\b", re.IGNORECASE)


def choose_variant(
    text: str, item: OrderItem, product: CatalogueProduct, other_names: Iterable[str] = ()
) -> VariantChoice:
    """The variant of `product` that `text` asks `item` to become.

    The words after "to"/"for"/"instead" in the part about this product name the new
    options. A variant scores a point for each of its values named there, and for each
    relative wish it meets ("bigger", "another colour", scales.py); it loses one for each
    option it changes that was not asked for. Variants that miss a relative wish are out.
    Among the best, the wishes prefer (the next size up, the cheapest), then the only one in
    stock; a tie is asked about.
    """
    part = _letter_sizes(segment(text, item.name, other_names), product)
    new_part = _new_part(part, item, product)
    fresh = _fresh_values(item, product)
    if not any(has_value(v, new_part, k) for k, v in fresh):
        # the new value said before the product is named: "could the blue one be red
        # instead? The speaker, I mean"
        for said in _BE_INSTEAD.finditer(text):
            if any(has_value(v, said.group(1), k) for k, v in fresh):
                new_part = f"{new_part} {said.group(1)}"
                break
    if _value_not_offered(new_part, product, item.options):
        return VariantChoice(None, "unavailable")  # "a size 12", where sizes end at 11
    wishes = scales.wishes_in(new_part, item, product)
    same_kind = _SAME.search(part)
    after_same = part[same_kind.start() :] if same_kind else ""
    named_fresh = any(has_value(v, after_same, k) for k, v in _fresh_values(item, product))
    if same_kind and not wishes and not named_fresh:  # not "the same one but in white"
        same = product.variant(item.item_id)
        if same is not None and same.available:
            return VariantChoice(same)
    wished = {w.key for w in wishes} | free_keys(part, product)
    kept = _kept_keys(part, product)
    #: "whichever is cheapest": the customer lets the price decide what else changes.
    any_change = any(w.key is None and w.extreme and w.direction < 0 for w in wishes)
    scored: list[tuple[int, ProductVariant]] = []
    for variant in product.variants:
        if variant.item_id == item.item_id:
            continue
        if not all(scales.satisfies(w, variant, item) for w in wishes):
            continue
        score = len(wishes)
        for key, value in variant.options.items():
            if key in kept and item.options.get(key) != value:
                score -= 2  # "same colours": this option stays as the item has it
            elif has_value(value, new_part, key) or _with_option(new_part, key, value, item):
                score += 1
            elif item.options.get(key) != value and key not in wished and not any_change:
                score -= 1
        scored.append((score, variant))
    if wishes:  # "a bigger one": among what is in stock
        in_stock = [(s, v) for s, v in scored if v.available]
        if not in_stock:
            return VariantChoice(None, "unavailable", tuple(v for _, v in scored[:5]))
        best_out = max((s for s, v in scored if not v.available), default=None)
        if best_out is not None and best_out > max(s for s, _ in in_stock):
            # what was asked for exists but is out of stock: say so, rather than propose one
            # that changes what the customer named ("a medium in the same black")
            out = tuple(v for s, v in scored if s == best_out and not v.available)
            return VariantChoice(None, "unavailable", out)
        scored = in_stock
    if not scored:
        return VariantChoice(None, "no_options_named")
    best = max(score for score, _ in scored)
    top = tuple(v for score, v in scored if score == best)
    if (
        not wishes
        and not any_change
        and not wished
        and not any(
            has_value(v, new_part, k) or _with_option(new_part, k, v, item) for k, v in fresh
        )
    ):
        # only values the item has already ("a glass kettle ... for an electric kettle", both
        # its own): nothing new is asked for, so nothing is picked
        return VariantChoice(None, "no_options_named", top[:5])
    if best <= 0 and wishes:  # "a bigger one" exists, but only in another colour too
        ranked = sorted(scored, key=lambda pair: -pair[0])
        return VariantChoice(None, "other_changes_needed", tuple(v for _, v in ranked[:5]))
    if best <= 0:
        return VariantChoice(None, "no_options_named", top[:5])
    if len(top) > 1:
        top = tuple(scales.best_by_wishes(wishes, list(top), item))
    if len(top) > 1:
        # a value the item has already names the item ("only the blue one" of two mugs, to
        # become "the white 16oz ones"): new values named decide
        def new_named(variant: ProductVariant) -> int:
            return sum(
                1
                for key, value in variant.options.items()
                if item.options.get(key) != value and has_value(value, new_part, key)
            )

        most = max(new_named(v) for v in top)
        top = tuple(v for v in top if new_named(v) == most)
    if len(top) > 1 and len(stocked := [v for v in top if v.available]) == 1:
        top = (stocked[0],)  # of those that fit equally, the only one there is to have
    if len(top) > 1:
        return VariantChoice(None, "ambiguous", top[:5])
    if not top[0].available:
        return VariantChoice(None, "unavailable", top)
    return VariantChoice(top[0])
