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

from connectors.schemas import CatalogueProduct, OrderItem, ProductVariant

__all__ = [
    "VariantChoice",
    "choose_variant",
    "has_value",
    "mentioned_products",
    "select_items",
]

#: How alike (0-100) a run of words and a product name must be to count as a mention.
NAME_SCORE = 90.0
#: A replacement of the same kind ("a new one with the same options").
_SAME = re.compile(
    r"\b(same (options|one|item|model|kind|variant)|identical|replacement|exactly the same)\b",
    re.IGNORECASE,
)
_NEW = re.compile(r"\b(to|for|into|instead|with)\b", re.IGNORECASE)


def _words(text: str) -> list[str]:
    return re.sub(r"[^a-z0-9]+", " ", text.lower()).split()


def _singular(word: str) -> str:
    return word[:-1] if len(word) > 3 and word.endswith("s") and not word.endswith("ss") else word


def _mention(name: str, text_words: Sequence[str], *, head_noun: bool) -> int | None:
    """Index of the first word where `name` is written (whole name, or its last word when
    `head_noun`), or None."""
    wanted = [_singular(w) for w in _words(name)]
    patterns = [wanted] + ([wanted[-1:]] if head_noun and len(wanted) > 1 else [])
    for words in patterns:
        size, target = len(words), " ".join(words)
        if len(target) < 3:
            continue
        for i in range(len(text_words) - size + 1):
            window = " ".join(_singular(w) for w in text_words[i : i + size])
            if fuzz.ratio(window, target) >= NAME_SCORE:
                return i
    return None


def mentioned_products(text: str, names: dict[str, str]) -> list[str]:
    """Product ids (of `names`: id -> name) whose full name the text mentions, in text order."""
    words = _words(text)
    found = [
        (pos, pid)
        for pid, name in names.items()
        if (pos := _mention(name, words, head_noun=False)) is not None
    ]
    return [pid for _, pid in sorted(found)]


def has_value(value: str, text: str) -> bool:
    flags = re.IGNORECASE if len(value) > 2 else 0
    return re.search(rf"(?<![\w-]){re.escape(value)}(?![\w-])", text, flags) is not None


def _option_hits(options: dict[str, str], text: str) -> int:
    return sum(has_value(v, text) for v in options.values())


def select_items(
    text: str, items: Sequence[OrderItem], *, all_items: bool = False
) -> list[OrderItem]:
    """The items of one order the text is about: all of them when asked for, the only one,
    or those whose product is named (options break ties between items of one product)."""
    if all_items or len(items) == 1:
        return list(items)
    words = _words(text)
    by_product: dict[str, list[OrderItem]] = {}
    for item in items:
        if _mention(item.name, words, head_noun=True) is not None:
            by_product.setdefault(item.product_id, []).append(item)
    chosen: list[OrderItem] = []
    for same in by_product.values():
        if len(same) == 1:
            chosen += same
            continue
        scores = [_option_hits(item.options, _old_part(text, item.name)) for item in same]
        best = max(scores)
        chosen += [item for item, score in zip(same, scores, strict=True) if score == best]
    return [item for item in items if item in chosen]


def _position(lower: str, name: str, after: int = -1) -> int:
    """Where `name` is written (in full, else its head noun), after index `after`."""
    full = " ".join(_words(name))
    pos = lower.find(full, after + 1) if full else -1
    if pos < 0 and _words(name):
        pos = lower.find(_singular(_words(name)[-1])[:5], after + 1)
    return pos


def _segment(text: str, name: str, others: Iterable[str]) -> str:
    """The part of the text about `name`: from its mention to the next other product."""
    lower = re.sub(r"[^a-z0-9]", " ", text.lower())  # same length as text
    start = _position(lower, name)
    if start < 0:
        return text
    end = len(text)
    for other in others:
        pos = _position(lower, other, start)
        if pos > start:
            end = min(end, pos)
    return text[start:end]


def _old_part(text: str, name: str) -> str:
    segment = _segment(text, name, ())
    split = _NEW.search(segment)
    return segment[: split.start()] if split else segment


def _new_part(segment: str, item: OrderItem, product: CatalogueProduct) -> str:
    """The words that describe the new variant: after the last "to"/"for"/"instead" that
    is followed by an option value the item does not have yet (a customer who changes their
    mind names the final choice last)."""
    fresh = {
        v
        for variant in product.variants
        for k, v in variant.options.items()
        if item.options.get(k) != v
    }
    for marker in reversed(list(_NEW.finditer(segment))):
        tail = segment[marker.start() :]
        if any(has_value(value, tail) for value in fresh):
            return tail
    return segment


@dataclass(frozen=True)
class VariantChoice:
    variant: ProductVariant | None
    #: Why nothing was chosen: ``no_options_named``, ``ambiguous``, ``unavailable``.
    problem: str | None = None
    candidates: tuple[ProductVariant, ...] = ()


def choose_variant(
    text: str, item: OrderItem, product: CatalogueProduct, other_names: Iterable[str] = ()
) -> VariantChoice:
    """The variant of `product` that `text` asks `item` to become.

    The words after "to"/"for"/"instead" in the part about this product name the new
    options. A variant scores a point for each of its values named there and loses one for
    each option it changes that was not asked for; the single best wins.
    """
    segment = _segment(text, item.name, [n for n in other_names if n != item.name])
    if _SAME.search(segment):
        same = product.variant(item.item_id)
        if same is not None and same.available:
            return VariantChoice(same)
    new_part = _new_part(segment, item, product)
    scored: list[tuple[int, ProductVariant]] = []
    for variant in product.variants:
        if variant.item_id == item.item_id:
            continue
        score = 0
        for key, value in variant.options.items():
            if has_value(value, new_part):
                score += 1
            elif item.options.get(key) != value:
                score -= 1
        scored.append((score, variant))
    if not scored:
        return VariantChoice(None, "no_options_named")
    best = max(score for score, _ in scored)
    top = tuple(v for score, v in scored if score == best)
    if best <= 0:
        return VariantChoice(None, "no_options_named", top[:5])
    if len(top) > 1:
        return VariantChoice(None, "ambiguous", top[:5])
    if not top[0].available:
        return VariantChoice(None, "unavailable", top)
    return VariantChoice(top[0])
