"""Which of a customer's orders a request means when it gives no order number.

Customers point at orders by what is in them ("the order with the laptop"), by recency
("my last order", "the one I placed this morning"), by status ("the order that hasn't
shipped"), by the end of its number ("it ends in 66") or all at once ("both my pending
orders"). The CRM lists a customer's orders oldest first and keeps no order dates, so a
date ("the order from March 3rd") cannot be matched: such a request, like any that fits
several orders, gets one question listing the orders that fit.

Addresses are found the same way: "my home address" is the profile's, "the address of my
last order" is that order's.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field

from connectors.schemas import Address, Customer, Order, OrderItem
from flows.customer_service import selection
from flows.customer_service.matching import has_value, mentions

__all__ = ["Found", "address_reference", "asks_pending", "describe", "find_orders"]

_RECENT = re.compile(
    r"\b(?:(?:most )?recent(?:ly)?|latest|newest|last(?! (?:week|month|year|time|night|few"
    r"|couple|monday|tuesday|wednesday|thursday|friday|saturday|sunday|\d))"
    r"|just (?:placed|made|ordered|bought|put in)|(?:placed|made|ordered) (?:it )?"
    r"(?:today|this morning|tonight|last night|yesterday|an hour ago|earlier today))\b",
    re.IGNORECASE,
)
_OLDEST = re.compile(
    r"\b(?:first|oldest|earliest|older) (?:order|one|purchase)\b|\b(?:first|oldest) of (?:my|the)",
    re.IGNORECASE,
)
_PENDING = re.compile(
    r"\b(?:not (?:yet )?(?:been )?(?:shipped|sent|dispatched)|(?:has|have)n'?t (?:yet )?"
    r"(?:been )?(?:shipped|sent|dispatched|gone out|left)|unshipped|pending|still processing"
    r"|before (?:it|they) (?:ships?|goes out|leaves?)|not shipped|open order)\b",
    re.IGNORECASE,
)
_SUFFIX = re.compile(
    r"\b(?:ends?|ending|finish(?:es|ing)?) (?:in|with) (?:a |the )?(?:digits? )?#?(\d{1,6})\b", re.I
)
_ALL = re.compile(
    r"\b(?:all|both|every(?: one of)?|each of) (?:of )?(?:my |the |these |those )?"
    r"(?:\w+ ){0,2}?orders\b|\b(?:my|the) (?:\w+ )?orders (?:that|which)\b",
    re.IGNORECASE,
)
_PROFILE = re.compile(
    r"\b(?:my (?:home|default|usual|regular|normal|main|permanent|account|profile|own) address"
    r"|address (?:on|in|from) (?:my |the )?(?:account|profile|file|record)"
    r"|(?:account|profile)(?:'s)? address|address (?:i have |we have )?on file"
    r"|(?:send|ship|deliver) (?:it |them |the order |my order )?(?:to )?(?:my )?home\b)",
    re.IGNORECASE,
)
_FROM_ORDER = re.compile(
    r"\b(?:same (?:address|place) as|address (?:of|from|on|in|(?:i )?used for))"
    r"\s*(?P<ref>[^.;!?\n]*)",
    re.IGNORECASE,
)


#: A verb before "the address on ... order" that makes that order the one to change.
_CHANGED_BEFORE = re.compile(
    r"\b(?:change|changing|update|updating|correct|correcting|fix|modify|edit|wrong|new)\s+"
    r"(?:the\s+|my\s+|shipping\s+|delivery\s+)*$",
    re.IGNORECASE,
)


#: Said after an address: it is to stay as it is, not to be used.
_STAYS = re.compile(
    r"(?:\s+(?:on|in)\s+(?:my\s+|the\s+)?(?:account|profile|file))?\s+"
    r"(?:should|must|can|will|is\s+to|needs?\s+to)?\s*(?:stay|stays|remain|remains|be\s+kept|"
    r"not\s+change|not\s+be\s+changed)\b",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class Found:
    """The orders a request means; `candidates` when it fits several and says no more."""

    orders: list[Order]
    candidates: list[Order] = field(default_factory=list)
    #: How they were found: items, number_end, recency, status, only, all.
    how: str = ""


def item_words(item: OrderItem) -> str:
    """An item with its options, as a customer tells it apart: 'Tea Kettle (material glass,
    capacity 1L)'; the name alone when it has none."""
    options = ", ".join(f"{k} {v}" for k, v in item.options.items())
    return f"{item.name} ({options})" if options else item.name


def describe(order: Order, detailed: frozenset[str] = frozenset()) -> str:
    """An order as a customer recognises it, for a question: '#W… (pending: Laptop, Mouse)';
    the products in `detailed` (ids) with their options, to tell apart orders that both
    hold one: 'Tea Kettle (material glass, capacity 1L)'."""
    names = ", ".join(
        dict.fromkeys(item_words(i) if i.product_id in detailed else i.name for i in order.items)
    )
    return f"{order.id} ({order.status}: {names})"


def shared_products(orders: Sequence[Order]) -> frozenset[str]:
    """Ids of the products that more than one of `orders` holds."""
    held = [{i.product_id for i in o.items} for o in orders]
    return frozenset(p for p in set().union(*held) if sum(p in h for h in held) > 1)


def _by_recency(text: str, orders: list[Order]) -> list[Order]:
    """The newest (or oldest) of `orders` when the text asks for it, else all of them.
    `orders` keep the CRM's order: oldest first."""
    if len(orders) > 1 and _OLDEST.search(text):
        return orders[:1]
    if len(orders) > 1 and _RECENT.search(text):
        return orders[-1:]
    return orders


def asks_pending(text: str) -> bool:
    """The text speaks of orders not shipped yet ("pending", "hasn't shipped")."""
    return _PENDING.search(text) is not None


def _by_status_words(text: str, orders: list[Order]) -> list[Order]:
    if not asks_pending(text):
        return orders
    return [o for o in orders if o.status == "pending"] or orders


#: An order left out by what it holds: "all my pending orders except the smart watch one",
#: "other than the order with the lamp".
_EXCEPT_ORDER = re.compile(
    r"\b(?:except(?:\s+for)?|apart\s+from|other\s+than|but\s+not|besides|excluding)\s+"
    r"(?:(?:the|my)\s+)?(?P<order>(?:orders?|one)\s+(?:with|containing|that\s+has)\s+)?"
    r"(?P<what>[^.,;!?\n]{1,60}?)(?(order)(?=[.,;!?\n]|$)|\s+(?:one|order)s?\b)",
    re.IGNORECASE,
)
#: An order set aside after the one meant: "I meant the order with the smart watch, not the
#: bookshelf", "the blue one, not the bookshelf order".
_NOT_ORDER = re.compile(
    r",\s*(?:and\s+|but\s+)?not\s+(?:(?:the|my|that)\s+)?(?:orders?\s+(?:with|containing)\s+)?"
    r"(?P<what>[^.,;!?\n]{1,60}?)(?:\s+(?:one|order)s?)?\s*(?=[.,;!?\n]|$)",
    re.IGNORECASE,
)


#: An order kept as it is, named by what it holds: "keep the other pending one (clock,
#: camera, dumbbells) as it is", "keep the order with the lamp".
_KEEP_ORDER = re.compile(
    r"\bkeep(?:ing)?\s+(?:the\s+|my\s+)?(?:other\s+)?(?:\w+\s+)?(?:one|order)\s*"
    r"(?:\((?P<what>[^()\n]{1,80})\)|(?:with|containing|that\s+has)\s+(?P<held>[^().,;!?\n]{1,60}))"
    # the order named by its product before the word: "Please keep the laptop order"
    r"|\b(?:keep(?:ing)?|not)\s+(?:the\s+|my\s+)(?P<named>[\w-]+(?:\s+[\w-]+)?)\s+(?:one|order)\b",
    re.IGNORECASE,
)


#: Another order said to stay as it is: "The other order (speaker + mouse) can still come to
#: my home, don't change that one".
_OTHER_STAYS = re.compile(
    r"\b(?:the\s+|my\s+)?other\s+(?:\w+\s+)?(?:one|order)\s*"
    r"(?:\((?P<what>[^()\n]{1,80})\)|(?:with|containing|that\s+has)\s+(?P<held>[^().,;!?\n]{1,40}?))"
    r"\s*(?=(?:can|should|will|may)\s+still\b|stays?\b|is\s+fine\b|(?:can|should)\s+stay\b)",
    re.IGNORECASE,
)


def _left_out(text: str, orders: list[Order]) -> tuple[set[str], str]:
    """Ids of the orders the text excepts by their products, and the text without the
    exceptions; not an order that also holds a product the text asks about ("return the
    lamp, not the charger": one order)."""
    names = {i.product_id: i.name for o in orders for i in o.items}
    products = {
        m.product_id
        for pattern in (_EXCEPT_ORDER, _NOT_ORDER, _KEEP_ORDER, _OTHER_STAYS)
        for found in pattern.finditer(text)
        for m in mentions(
            found["what"] or found.groupdict().get("held") or found.groupdict().get("named") or "",
            names,
        )
    }
    if not products:
        return set(), text
    rest = text
    for pattern in (_EXCEPT_ORDER, _NOT_ORDER, _KEEP_ORDER, _OTHER_STAYS):
        rest = pattern.sub(" ", rest)
    meant = {m.product_id for m in mentions(rest, names)} - products
    left_out = {
        o.id
        for o in orders
        if any(i.product_id in products for i in o.items)
        and not any(i.product_id in meant for i in o.items)
    }
    return left_out, rest


def _by_items(text: str, orders: list[Order]) -> tuple[list[Order], bool]:
    """The orders holding the products the text names; (orders, whether any were named).

    Products in different orders select each of them ("the skateboard and the headphones");
    a product in several orders selects those, for recency or a question to decide. Orders
    the text excepts ("except the smart watch one") are left out, and their products name
    nothing."""
    left_out, rest = _left_out(text, orders)
    if left_out:
        text, orders = rest, [o for o in orders if o.id not in left_out]
    names = {i.product_id: i.name for o in orders for i in o.items}
    named = list(dict.fromkeys(m.product_id for m in mentions(text, names)))
    if not named:
        return orders, False
    # "cancel the order with the wristwatch and the backpack": products named to point at
    # an order name it, whatever else the message says about other orders' items
    pointing = selection.pointing_products(text, [i for o in orders for i in o.items])
    if pointing and any(
        all(any(i.product_id == p for i in o.items) for p in pointing) for o in orders
    ):
        named = [pid for pid in named if pid in pointing]
    holding = [{o.id for o in orders if any(i.product_id == pid for i in o.items)} for pid in named]
    every = [o for o in orders if all(o.id in ids for ids in holding)]
    found = every or [o for o in orders if any(o.id in ids for ids in holding)]
    return _by_options(text, found, set(named)), True


def _by_options(text: str, orders: list[Order], products: set[str]) -> list[Order]:
    """Of several orders holding a named product, the one whose item has the most of the
    option values the text names ("the stainless steel one for gas stoves, not the glass
    one"); all of them when none or several stand out. Values set aside after "not" count
    for nothing."""
    if len(orders) < 2:
        return orders
    kept = _NOT_ORDER.sub(" ", text)

    def named_values(order: Order) -> int:
        return max(
            (
                sum(has_value(v, kept, k) for k, v in i.options.items())
                for i in order.items
                if i.product_id in products
            ),
            default=0,
        )

    counts = [named_values(o) for o in orders]
    best = max(counts)
    if best == 0 or counts.count(best) > 1:
        return orders
    return [orders[counts.index(best)]]


def find_orders(text: str, orders: Sequence[Order], statuses: set[str] | None = None) -> Found:
    """The orders of `orders` (a customer's, oldest first) that `text` means, for a request
    that can act on orders in `statuses` (None: any)."""
    pool = list(orders)
    how = ""
    suffix = _SUFFIX.search(text)
    if suffix:
        ending = [o for o in pool if o.id.endswith(suffix.group(1))]
        if ending:
            pool, how = ending, "number_end"
    pool, named_items = _by_items(text, pool)
    how = how or ("items" if named_items else "")
    if statuses is not None and not named_items and not asks_pending(text):
        latest = _by_recency(text, pool)
        if len(latest) == 1 and len(pool) > 1 and latest[0].status not in statuses:
            # "my latest order" is that one, even when it can no longer be changed: the
            # policy explains, rather than another order being taken for it
            return Found(latest, [], "recency")
    fitting = [o for o in pool if statuses is None or o.status in statuses]
    if not fitting:
        # a named order in the wrong status is still the one meant: the policy explains
        specific = how in ("items", "number_end")
        return Found(_by_recency(text, pool) if specific else [], [], how if specific else "")
    if named_items and len({o.id for o in fitting}) > 1 and _spread(text, fitting):
        return Found(fitting, [], "items")
    narrowed = _by_status_words(text, fitting)
    newest = _by_recency(text, narrowed)
    if len(newest) == 1:
        return Found(newest, [], how or ("recency" if len(narrowed) > 1 else "only"))
    if _ALL.search(text):
        return Found(newest, [], "all")
    return Found([], newest, how)


def _spread(text: str, orders: list[Order]) -> bool:
    """Whether each named product is in exactly one of `orders` (then all of them are meant)."""
    names = {i.product_id: i.name for o in orders for i in o.items}
    named = {m.product_id for m in mentions(text, names)}
    return all(sum(any(i.product_id == pid for i in o.items) for o in orders) == 1 for pid in named)


def address_reference(
    text: str, customer: Customer, orders: Sequence[Order], exclude: Sequence[str] = ()
) -> Address | None:
    """An address the text refers to rather than writes out: the profile's ("my home
    address") or another order's ("the same address as my last order")."""
    for profile in _PROFILE.finditer(text):
        if _CHANGED_BEFORE.search(text[max(0, profile.start() - 30) : profile.start()]):
            continue  # "update my account address to ...": the one to change, not to use
        if _STAYS.match(text, profile.end()):
            continue  # "my home address on the account should stay as it is": left alone
        return customer.address
    match = _FROM_ORDER.search(text)
    if match is None or _CHANGED_BEFORE.search(text[max(0, match.start() - 30) : match.start()]):
        return None  # "change the address on the fleece jacket order": that order's, to change
    others = [o for o in orders if o.id not in exclude]
    found = find_orders(match.group("ref"), others)
    if len(found.orders) == 1:
        return found.orders[0].address
    return None
