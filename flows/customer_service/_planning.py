"""What every planner needs: the request's context and how to write a plan or an action.

Pure, like the rest of the policy.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from connectors.schemas import CatalogueProduct, Customer, Order, PaymentMethod
from flows.customer_service import matching, references, selection
from flows.customer_service.entities import MessageEntities, RequestSpan, payment_ids_in
from flows.customer_service.schemas import Outcome, PlannedAction, RequestPlan

__all__ = [
    "ZERO",
    "Context",
    "action",
    "category",
    "clarify",
    "make_plan",
    "mentions_items",
    "method_words",
    "new_method_by_words",
    "paid",
    "payment_method",
    "targets",
    "which_order",
]

ZERO = Decimal("0")
#: Payment sources as customers write them.
_SOURCES = {
    "paypal": re.compile(r"\bpay ?pal\b", re.IGNORECASE),
    "credit_card": re.compile(r"\b(credit|debit) ?card\b|\bvisa\b|\bmastercard\b", re.I),
    "gift_card": re.compile(r"\bgift ?card\b|\bGC\b"),
}


#: The method the order was paid with, named as such: "the original card", "the card I paid
#: with", "the same card".
_ORIGINAL = re.compile(
    r"\b(?:original|same)\s+(?:payment\s+)?(?:card|method|payment|account)\b|"
    r"\b(?:card|method)\s+i\s+(?:paid|used|bought\s+it)\s+with\b|"
    r"\b(?:back\s+)?to\s+where\s+it\s+came\s+from\b",
    re.IGNORECASE,
)
#: Words before a method that turn it down: "to my card instead of PayPal", "not my gift
#: card", "I closed my PayPal account", "PayPal rather than (or over) the gift card".
_TURNED_DOWN = re.compile(
    r"\b(?:instead\s+of|rather\s+than|than|over|not(?:\s+to|\s+on|\s+back\s+to)?|no\s+longer\s+(?:use|have)"
    r"|don'?t\s+(?:use|want)|closed|closing|cancel(?:l?ed|l?ing)|keep|save)\s+"
    # "rather than a refund to the Mastercard"
    r"(?:(?:a\s+)?(?:refund|money|payment|credit)\s+(?:back\s+)?(?:to|on|onto)\s+)?"
    r"(?:the\s+|my\s+|your\s+|a\s+|an\s+|that\s+|this\s+)?$",
    re.IGNORECASE,
)


#: Card brands as customers write them, by the CRM's brand names.
_BRANDS = {
    "visa": re.compile(r"\bvisa\b", re.IGNORECASE),
    "mastercard": re.compile(r"\bmaster ?card\b|\bmc\b", re.IGNORECASE),
    "amex": re.compile(r"\bamex\b|\bamerican express\b", re.IGNORECASE),
    "discover": re.compile(r"\bdiscover\b", re.IGNORECASE),
}


def method_words(customer: Customer, method_id: str | None) -> str:
    """A payment method as the customer knows it, its id after it: "Visa ending in 9858
    (credit_card_7326294)", "PayPal (paypal_5297429)", "gift card (gift_card_9178183)"."""
    method = customer.payment_method(method_id or "")
    if method is None:
        return str(method_id)
    if method.source == "credit_card":
        brand = (method.brand or "").strip()
        words = brand[:1].upper() + brand[1:] if brand else "credit card"
        if method.last_four:
            words += f" ending in {method.last_four}"
    else:
        words = {"paypal": "PayPal", "gift_card": "gift card"}.get(method.source, method.source)
    return f"{words} ({method.id})"


def _narrowed(methods: list[PaymentMethod], text: str) -> list[PaymentMethod]:
    """Of several methods of one kind, the one the text picks by its last four digits ("my
    card ending in 9858") or by its brand ("my Visa"), the one named last where it names
    two ("to my Mastercard ending 2231" ... "then the original Visa card"); all of them when
    it picks none."""
    if len(methods) < 2:
        return methods
    named: dict[str, int] = {}
    for m in methods:
        digits = (
            max((f.start() for f in re.finditer(rf"\b{m.last_four}\b", text)), default=-1)
            if m.last_four
            else -1
        )
        pattern = _BRANDS.get((m.brand or "").casefold())
        brand = _wanted(pattern, text) if pattern else -1
        if max(digits, brand) >= 0:
            named[m.id] = max(digits, brand)
    if not named:
        return methods
    last = max(named.values())
    picked = [m for m in methods if named.get(m.id) == last]
    return picked if len(picked) == 1 else methods


def _methods_of(ctx: Context, source: str) -> list[str]:
    """Ids of the customer's methods of one kind, narrowed to the one the text picks."""
    of_kind = [m for m in ctx.customer.payment_methods if m.source == source]
    return [m.id for m in _narrowed(of_kind, ctx.text)]


#: A method switched away from: "from PayPal to my Visa".
_FROM = re.compile(r"\bfrom\s+(?:the\s+|my\s+)?$", re.IGNORECASE)
_TO_NEXT = re.compile(r"^(?:\s+(?:account|card))?\s+to\b", re.IGNORECASE)


def _wanted(pattern: re.Pattern[str], text: str) -> int:
    """Where the text last names the method other than to turn it down, or -1; -1 too
    when the text turns it down anywhere ("to my Mastercard, not PayPal - I'm closing that
    PayPal account"): a method turned down is never the one asked for."""
    found = list(pattern.finditer(text))
    refused = {
        m.group(0).casefold()
        for m in found
        if _TURNED_DOWN.search(text[max(0, m.start() - 30) : m.start()])
    }
    return max(
        (
            m.start()
            for m in found
            if m.group(0).casefold() not in refused
            and not (
                _FROM.search(text[max(0, m.start() - 12) : m.start()])
                and _TO_NEXT.match(text[m.end() : m.end() + 14])
            )
        ),
        default=-1,
    )


def asks_other_method(ctx: Context, order: Order) -> bool:
    """Whether the text asks for money to go to another kind of method than the one the
    order was paid with ("can the money go on a gift card instead?")."""
    own = {m.id: m.source for m in ctx.customer.payment_methods}
    paid_source = own.get(order.paid_with or "")
    return any(
        source != paid_source and _wanted(pattern, ctx.text) >= 0
        for source, pattern in _SOURCES.items()
    )


def category(intent: str) -> str:
    return intent if intent else "general"


@dataclass(frozen=True)
class Context:
    span: RequestSpan
    entities: MessageEntities
    customer: Customer
    #: The customer's orders this request names.
    orders: list[Order]
    customer_orders: list[Order]
    products: dict[str, CatalogueProduct] = field(default_factory=dict)
    #: The customer said yes to our question whether to cancel the whole order, after we
    #: told them part of an order cannot be cancelled.
    whole_order: bool = False

    @property
    def text(self) -> str:
        return self.span.text

    def order(self, order_id: str) -> Order | None:
        return next((o for o in self.customer_orders if o.id == order_id), None)


def make_plan(
    ctx: Context, intent: str, outcome: Outcome, reason: str, explanation: str, **kw: Any
) -> RequestPlan:
    order_ids = kw.pop("order_ids", [o.id for o in ctx.orders])
    return RequestPlan(
        intent=intent,
        order_ids=order_ids,
        outcome=outcome,
        reason=reason,
        explanation=explanation,
        **kw,
    )


def action(
    action: str, order_id: str | None, request: dict[str, Any], summary: str, refund: Decimal = ZERO
) -> PlannedAction:
    return PlannedAction(
        action=action, order_id=order_id, request=request, summary=summary, refund=refund
    )


def targets(ctx: Context, statuses: set[str]) -> tuple[list[Order], bool]:
    """The orders a request is about: those it names by number, else those its words point
    at (references.py: items, recency, status, the end of the number), then inferred, so
    the customer confirms before anything is done. ([], True) when that is not clear."""
    if ctx.orders:
        return ctx.orders, False
    return references.find_orders(_with_antecedent(ctx), ctx.customer_orders, statuses).orders, True


#: A request whose object is only a word pointing back: "Just cancel the damn thing",
#: "cancel it".
_POINTING_BACK = re.compile(
    r"\b(?:cancel|return|refund|exchange|send\s+back|stop)\s+(?:it|them|that|this|"
    r"the\s+(?:\w+\s+)?thing|the\s+(?:whole\s+)?order)\b",
    re.IGNORECASE,
)


def _with_antecedent(ctx: Context) -> str:
    """The request's words; for one that only points back at what was said before it ("I've
    been waiting forever for the grill. Just cancel the damn thing"), with the request
    before it, which names what "it" is. A proposal from this is inferred: asked first."""
    spans = ctx.entities.requests
    if not _POINTING_BACK.search(ctx.text) or ctx.span not in spans:
        return ctx.text
    at = spans.index(ctx.span)
    if at == 0 or spans[at - 1].order_ids:
        return ctx.text
    names = {i.product_id: i.name for o in ctx.customer_orders for i in o.items}
    if matching.mentions(ctx.text, names):
        return ctx.text
    return f"{spans[at - 1].text} {ctx.text}"


def which_order(ctx: Context, intent: str, statuses: set[str], question: str) -> RequestPlan:
    """One question when the order is not clear: the orders that fit, each with its items."""
    found = references.find_orders(_with_antecedent(ctx), ctx.customer_orders, statuses)
    fitting = found.candidates or [o for o in ctx.customer_orders if o.status in statuses]
    if not fitting:
        return make_plan(
            ctx,
            intent,
            "inform",
            "no_fitting_order",
            f"there is no {' or '.join(sorted(statuses))} order on your account for this",
            order_ids=[],
        )
    return make_plan(
        ctx,
        intent,
        "clarify",
        "which_order",
        question,
        order_ids=[],
        details={
            "candidates": [
                references.describe(o, references.shared_products(fitting[-8:]))
                for o in fitting[-8:]
            ]
        },
    )


def mentions_items(text: str, order: Order) -> bool:
    """Whether the text names products of the order as the things to act on, not only to
    point at the order ("the one with the wristwatches", "the laptop order")."""
    names = {i.product_id: i.name for i in order.items}
    named = set(matching.mentioned_products(text, names, head_noun=True))
    return bool(named - selection.pointing_products(text, order.items))


def paid(order: Order) -> Decimal:
    paid = sum((t.amount for t in order.payment_history if t.transaction_type == "payment"), ZERO)
    back = sum((t.amount for t in order.payment_history if t.transaction_type == "refund"), ZERO)
    return paid - back


def payment_method(
    ctx: Context, order: Order, *, refund_only: bool
) -> tuple[str | None, bool, str | None]:
    """(method id, named by the customer, problem). Refunds go to the original method or a
    gift card; price differences to any of the customer's methods."""
    own = {m.id: m for m in ctx.customer.payment_methods}
    named = [p for p in payment_ids_in(ctx.text) or ctx.entities.payment_method_ids if p in own]
    if named:
        method = named[0]
        if refund_only and method != order.paid_with and own[method].source != "gift_card":
            return None, True, "refund_method_not_allowed"
        return method, True, None
    refused = False
    # the method named last first: in a conversation, "actually make it a gift card" wins
    named_at = {source: _wanted(pattern, ctx.text) for source, pattern in _SOURCES.items()}
    original = _wanted(_ORIGINAL, ctx.text)
    if order.paid_with in own and original >= 0 and original > max(named_at.values()):
        return order.paid_with, True, None  # "fine, the original card then"
    for source in sorted(named_at, key=lambda k: -named_at[k]):
        if named_at[source] < 0:
            continue
        methods = _methods_of(ctx, source)
        if len(methods) == 1 and (
            not refund_only or source == "gift_card" or methods[0] == order.paid_with
        ):
            return methods[0], True, None
        # A method a refund may not go to (or one not on the account); another one the
        # message names may be allowed ("to my card, not PayPal").
        refused |= refund_only and source != "gift_card" and order.paid_with not in methods
    if refused:  # say so rather than pick another
        return None, True, "refund_method_not_allowed"
    return order.paid_with, False, None


#: A request to pay with another method: "pay #W… with my PayPal", "switch it to my gift
#: card", "use my PayPal instead".
_PAY_WITH = re.compile(
    r"\b(?:pay|paying|switch|change|move|update|use|charge)\b[^.?!]{0,140}?\b(?:to|with|using|onto|via)"
    r"\s+(?:my|the|our)?\s*(?:pay ?pal|gift ?card|(?:credit|debit) ?card|visa|mastercard)\b"
    r"|\b(?:use|charge|bill)\s+(?:it\s+|them\s+)?(?:to\s+|on\s+)?(?:my|the)\s+"
    r"(?:pay ?pal|gift ?card|(?:credit|debit) ?card|visa|mastercard)\b",
    re.IGNORECASE,
)
#: ... not a question about a payment that went wrong, nor a method not yet on the account.
_PAYMENT_TROUBLE = re.compile(
    r"\b(?:charged|failed|declined|double|twice|refund\w*|fraud\w*|dispute\w*|new\s+(?:card|"
    r"credit|debit|visa|mastercard|pay ?pal))\b",
    re.IGNORECASE,
)


def new_method_by_words(ctx: Context) -> tuple[list[str], str | None]:
    """The customer's methods of the one kind a payment change names in words ("pay it with
    my PayPal", "switch to my gift card"), and that kind. ([], None) unless the message asks
    for that change and names one kind only, besides one it turns down ("charge my PayPal
    instead of the credit card"): "from PayPal to my card" names two, and which is meant is
    for the customer to say."""
    if not _PAY_WITH.search(ctx.text) or _PAYMENT_TROUBLE.search(ctx.text):
        return [], None
    kinds = [k for k, pattern in _SOURCES.items() if _wanted(pattern, ctx.text) >= 0]
    if len(kinds) != 1:
        return [], None
    return _methods_of(ctx, kinds[0]), kinds[0]


def clarify(
    ctx: Context, intent: str, reason: str, text: str, order: Order | None = None, **details: object
) -> RequestPlan:
    """A question about one order (the request's orders when None), with facts for it."""
    return make_plan(
        ctx,
        intent,
        "clarify",
        reason,
        text,
        order_ids=[order.id] if order else [o.id for o in ctx.orders],
        details=dict(details),
    )
