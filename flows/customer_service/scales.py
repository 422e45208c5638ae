"""Options described relative to the item a customer has: "a bigger one", "one size up",
"the cheapest", "the same but in another colour", "too small".

Only the catalogue decides what "bigger" means for a product: an option is a scale when
every value the product's variants have for it reads as a rank (clothing sizes, low /
medium / high, or a number with a unit: "1.5L", "7 ft", "20000mAh", "1TB SSD", "80%").
A comparative names the direction; which option it is about comes from the noun after it
("more storage", "a bigger screen") or from what the adjective usually measures
("taller": height or length). Price comparisons use the variants' prices.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from connectors.schemas import CatalogueProduct, OrderItem, ProductVariant

__all__ = ["Wish", "best_by_wishes", "rank", "satisfies", "scale_keys", "wishes_in"]

_WORD_RANKS = {
    "xxs": 0,
    "xs": 1,
    "s": 2,
    "small": 2,
    "low": 2,
    "basic": 2,
    "portable": 1,
    "m": 3,
    "medium": 3,
    "standard": 3,
    "l": 4,
    "large": 4,
    "high": 4,
    "professional": 4,
    "xl": 5,
    "xxl": 6,
    "xxxl": 7,
    "full size": 100,
    "full": 100,
}
#: Units of one family, as multiples of the family's smallest.
_UNITS = {
    "ml": 1,
    "l": 1000,
    "liter": 1000,
    "liters": 1000,
    "litre": 1000,
    "litres": 1000,
    "gb": 1,
    "tb": 1000,
    "mb": 0.001,
    "inch": 1,
    "inches": 1,
    "in": 1,
    "ft": 12,
    "feet": 12,
    "foot": 12,
    "k": 1000,
    "p": 1,
}
_NUMBER = re.compile(r"(\d+(?:\.\d+)?)(?:\s*-\s*(\d+(?:\.\d+)?))?\s*-?\s*([a-z%]+)?")

#: Comparative word -> (direction, superlative, option words it usually measures).
_SIZE = ("size", "capacity", "length", "height", "diameter", "weight", "piece", "thickness")
_ADJECTIVES: dict[str, tuple[int, bool, tuple[str, ...]]] = {}
for _words, _direction, _extreme, _measures in (
    ("bigger larger", 1, False, _SIZE),
    ("biggest largest", 1, True, _SIZE),
    ("smaller", -1, False, _SIZE),
    ("smallest", -1, True, _SIZE),
    ("taller", 1, False, ("height", "length", "size")),
    ("tallest", 1, True, ("height", "length", "size")),
    ("shorter", -1, False, ("height", "length", "size")),
    ("shortest", -1, True, ("height", "length", "size")),
    ("longer", 1, False, ("length", "battery", "height", "size")),
    ("longest", 1, True, ("length", "battery", "height", "size")),
    ("heavier", 1, False, ("weight",)),
    ("lighter", -1, False, ("weight",)),
    ("thicker", 1, False, ("thickness",)),
    ("thickest", 1, True, ("thickness",)),
    ("thinner", -1, False, ("thickness",)),
    ("brighter", 1, False, ("brightness",)),
    ("brightest", 1, True, ("brightness",)),
    ("dimmer", -1, False, ("brightness",)),
    ("more higher greater", 1, False, ()),
    ("most highest", 1, True, ()),
    ("less fewer lower", -1, False, ()),
    ("least fewest lowest", -1, True, ()),
):
    for _word in _words.split():
        _ADJECTIVES[_word] = (_direction, _extreme, _measures)
#: "too small" means the customer wants it bigger.
_TOO = {
    "small": (1, _SIZE),
    "tight": (1, _SIZE),
    "short": (1, ("height", "length", "size")),
    "thin": (1, ("thickness",)),
    "big": (-1, _SIZE),
    "large": (-1, _SIZE),
    "loose": (-1, _SIZE),
    "long": (-1, ("length", "height", "size")),
    "tall": (-1, ("height", "length", "size")),
    "heavy": (-1, ("weight",)),
    "dim": (1, ("brightness",)),
}
_CHEAPER = re.compile(
    r"\b(cheaper|less expensive|more affordable|lower price|lower-priced|too expensive)\b", re.I
)
_CHEAPEST = re.compile(
    r"\b(cheapest|least expensive|lowest price|most affordable"
    r"|(whichever|whatever|which ever) (one )?is (the )?cheap(er|est))\b",
    re.I,
)
_PRICIER = re.compile(r"\b(more expensive|pricier|higher-end|higher end)\b", re.I)
_PRICIEST = re.compile(r"\b(most expensive|priciest|top of the line|top-of-the-line)\b", re.I)
_STEP = re.compile(r"\b(?:a |one |the next )?size (up|down)\b|\bnext size( up)?\b", re.I)
_OTHER = re.compile(r"\b(?:a |an )?(?:different|another|other)\s+([a-z]+(?:\s+[a-z]+)?)", re.I)
_WORD = re.compile(r"[a-z]+", re.I)


@dataclass(frozen=True)
class Wish:
    """One relative wish about the new variant: an option (`key`, or price when None) that
    should go up (1), down (-1) or just differ (0); `extreme` for "the biggest"."""

    key: str | None
    direction: int
    extreme: bool = False


def rank(value: str) -> float | None:
    """A value's place on its scale, or None when it is not a rank ("black", "gas")."""
    text = value.strip().lower()
    if text in _WORD_RANKS:
        return float(_WORD_RANKS[text])
    match = _NUMBER.fullmatch(text.replace(",", ""))
    if match is None:
        match = _NUMBER.match(text.replace(",", ""))
        if match is None or not re.fullmatch(r"[\s\-a-z%+]*", text[match.end() :]):
            return None
    low, high, unit = match.group(1), match.group(2), (match.group(3) or "")
    number = (float(low) + float(high)) / 2 if high else float(low)
    return number * _UNITS.get(unit, 1)


def scale_keys(product: CatalogueProduct) -> list[str]:
    """The product's options whose values all read as ranks (at least two of them)."""
    values: dict[str, set[str]] = {}
    for variant in product.variants:
        for key, value in variant.options.items():
            values.setdefault(key, set()).add(value)
    return [
        key
        for key, seen in values.items()
        if len(seen) > 1 and all(rank(v) is not None for v in seen)
    ]


def _key_for(measures: tuple[str, ...], noun: str, keys: list[str]) -> str | None:
    """The scale an adjective is about: the one the following noun names, else the first
    of the options it usually measures."""
    noun_words = {w.rstrip("s") for w in noun.lower().split()}
    for key in keys:
        if noun_words & {w.rstrip("s") for w in key.lower().split()}:
            return key
    for measure in measures:
        for key in keys:
            if measure in key.lower():
                return key
    return None


def _colour(text: str) -> str:
    return re.sub(r"\bcolou?rs?\b", "color", text, flags=re.I)


def wishes_in(text: str, item: OrderItem, product: CatalogueProduct) -> list[Wish]:
    """The relative wishes `text` states about `item`'s replacement."""
    keys = scale_keys(product)
    text = _colour(text)
    found: list[Wish] = []
    words = [w.lower() for w in _WORD.findall(text)]
    for i, word in enumerate(words):
        after = " ".join(words[i + 1 : i + 3])
        than = words[i + 1 : i + 2] == ["than"]
        if word in _ADJECTIVES and not (than and word in ("more", "less")):
            direction, extreme, measures = _ADJECTIVES[word]
            key = _key_for(measures, after, keys)
            if key is not None:
                found.append(Wish(key, direction, extreme))
        if word == "too" and i + 1 < len(words) and words[i + 1] in _TOO:
            direction, measures = _TOO[words[i + 1]]
            key = _key_for(measures, "", keys)
            if key is not None:
                found.append(Wish(key, direction))
    for step in _STEP.finditer(text):
        key = _key_for(("size",), "size", keys)
        if key is not None:
            found.append(Wish(key, -1 if (step.group(1) or "").lower() == "down" else 1))
    for other in _OTHER.finditer(text):
        named = set(other.group(1).lower().split())
        fitting = [key for key in item.options if named & set(key.lower().split())]
        exact = [key for key in fitting if key.lower() in named]
        if len(fitting) == 1 or len(exact) == 1:
            found.append(Wish((exact or fitting)[0], 0))
    if _CHEAPEST.search(text):
        found.append(Wish(None, -1, True))
    elif _CHEAPER.search(text):
        found.append(Wish(None, -1))
    if _PRICIEST.search(text):
        found.append(Wish(None, 1, True))
    elif _PRICIER.search(text):
        found.append(Wish(None, 1))
    return list(dict.fromkeys(found))


def _value(variant: ProductVariant, key: str | None) -> float | None:
    if key is None:
        return float(variant.price)
    value = variant.options.get(key)
    return rank(value) if value is not None else None


def satisfies(wish: Wish, variant: ProductVariant, item: OrderItem) -> bool:
    """Whether the variant meets the wish; "the cheapest" is a preference, not a filter."""
    if wish.key is None and wish.extreme:
        return True
    if wish.direction == 0:
        return wish.key is not None and variant.options.get(wish.key) != item.options.get(wish.key)
    now = float(item.price) if wish.key is None else rank(item.options.get(wish.key, ""))
    new = _value(variant, wish.key)
    if now is None or new is None:
        return False
    return (new - now) * wish.direction > 0


def best_by_wishes(
    wishes: list[Wish], variants: list[ProductVariant], item: OrderItem
) -> list[ProductVariant]:
    """Among equally good variants, those the wishes prefer: the nearest step for "bigger",
    the end of the scale for "the biggest", the lowest price for "whichever is cheaper"."""
    chosen = variants
    for wish in wishes:
        if wish.direction == 0 or len(chosen) < 2:
            continue
        now = float(item.price) if wish.key is None else rank(item.options.get(wish.key, ""))
        values = {v.item_id: value for v in chosen if (value := _value(v, wish.key)) is not None}
        if not values or now is None:
            continue
        if wish.extreme or wish.key is None:
            target = (max if wish.direction > 0 else min)(values.values())
        else:
            target = min(values.values(), key=lambda value: abs(value - now))
        chosen = [v for v in chosen if values.get(v.item_id) == target]
    return chosen
