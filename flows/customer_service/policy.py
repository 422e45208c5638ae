"""The store's customer-service policy as a pure function: a situation in, a decision out.

No I/O and no model here: `decide` gets what the flow found (who the customer is, their
orders, what the message asks) and says, per request in the message, what may be done
(``act``), what is proposed but needs the customer's explicit yes (``confirm``), what
detail is missing (``clarify``), what is only information (``inform``), what goes to a
human (``human``) and what is refused (``refuse``). It also says which refunds need a
person's approval. The rules follow ``fixtures/crm/policy.md`` (tau-bench's retail policy):
authenticate first (here: an identity the channel verified, see identity.py, so nothing but
a neutral hand-over without one); one customer per conversation; list the action and get an explicit
"yes" before any write; cancel and modify only pending orders, return and exchange only
delivered ones; refunds to the original payment method or a gift card; never invent.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from decimal import Decimal
from typing import Any, Literal

from connectors.schemas import CatalogueProduct, Customer, Order
from flows.customer_service import cues, matching, plans, references
from flows.customer_service.clauses import kind_of, withdrawn
from flows.customer_service.entities import (
    ORDER_ID,
    MessageEntities,
    RequestSpan,
    is_explicit_request,
)
from flows.customer_service.identity import AuthProblem
from flows.customer_service.schemas import Decision, Outcome, PlannedAction, RequestPlan

__all__ = [
    "Decision",
    "Outcome",
    "PlannedAction",
    "RequestPlan",
    "Situation",
    "decide",
    "decide_requests",
    "follow_up_plan",
    "hand_over",
]

#: Most restrictive first: a message's outcome is the most restrictive of its requests'.
SEVERITY: tuple[Outcome, ...] = ("refuse", "human", "clarify", "confirm", "act", "inform")
#: Below this the intent is a guess, and a person reads the message.
MIN_INTENT_CONFIDENCE = 0.3
#: Between this and `MIN_INTENT_CONFIDENCE` the likeliest reading is proposed for a yes (or
#: its one question asked) rather than handed to a person; below it, a person reads it.
ASK_INTENT_CONFIDENCE = 0.2
#: Input problems found before reading (see intake.py), each handed to a person.
PROBLEM_REASONS = {
    "message_too_long": "the message is longer than we read automatically",
    "empty_message": "the message is empty",
    "unsupported_language": "the message is not in English, which this service answers",
    "suspicious_instructions": "the message contains instructions aimed at our systems",
    "someone_else": "we can change an account only for its holder; please ask them to write "
    "to us themselves, or a colleague will help",
}

#: Why no customer is identified (identity.py). The reply says no more than this: it must
#: not tell a stranger whether an address, a name or an order belongs to an account.
IDENTITY_REASONS: dict[AuthProblem, str] = {
    "unauthenticated": "we could not match this message to a customer account",
    "unverified_sender": "we could not verify who sent this message",
    "identity_conflict": "we could not confirm which account this message is about",
}


@dataclass(frozen=True)
class Situation:
    """Everything `decide` may look at."""

    intent: str
    intent_confidence: float
    entities: MessageEntities
    #: (intent, confidence) per request span of `entities.requests`, same order.
    request_intents: list[tuple[str, float]] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    customer: Customer | None = None
    #: Why the customer is not identified: unauthenticated, unverified_sender,
    #: identity_conflict (identity.py); None when identified.
    auth_problem: AuthProblem | None = None
    #: Orders the message names that exist, whoever they belong to.
    orders: dict[str, Order] = field(default_factory=dict)
    unknown_order_ids: list[str] = field(default_factory=list)
    customer_orders: list[Order] = field(default_factory=list)
    products: dict[str, CatalogueProduct] = field(default_factory=dict)
    #: The customer answered "yes" to our proposal (a reply in the ticket's thread).
    confirmed: bool = False
    #: A yes qualified only by what it is for ("yes, only the skateboard"): it confirms a
    #: proposal of exactly the items it names (`_restated`).
    yes_for: str | None = None
    #: What our replies in the conversation told the customer: a yes confirms only the
    #: writes they listed. None: not known (every write counts as shown).
    shown: str | None = None
    #: Our previous reply in the conversation proposed writes for a yes: from then on only a
    #: yes to what it listed acts, however the request was worded.
    proposed_before: bool = False
    refund_threshold: Decimal = Decimal("200")


def _whole(outcome: Outcome, reason: str, explanation: str, s: Situation, **kw: Any) -> Decision:
    return Decision(
        outcome=outcome,
        reason=reason,
        explanation=explanation,
        approval_threshold=s.refund_threshold,
        category=plans.category(s.intent),
        ticket_status="open",
        **kw,
    )


def decide(s: Situation) -> Decision:
    """The policy's answer for one message. Never raises on odd input."""
    for problem in s.problems:
        if problem in PROBLEM_REASONS:
            high = problem == "suspicious_instructions"
            return _whole(
                "human",
                problem,
                PROBLEM_REASONS[problem],
                s,
                priority="high" if high else "normal",
            )
    if s.customer is None:
        if (rules := _rules_for_anyone(s)) is not None:
            return _aggregate([rules], s)
        reason = s.auth_problem or "unauthenticated"
        return _whole("human", reason, IDENTITY_REASONS[reason], s)
    foreign = sorted(oid for oid, o in s.orders.items() if o.customer_id != s.customer.id)
    spans = s.entities.requests or [RequestSpan(text="", order_ids=s.entities.order_ids)]
    # A number one slip away from the customer's own order that holds the items named
    # ("cancel #W8185761, the grill and backpack one"): read as a number not found on their
    # account, as a mistyped unknown number is; nothing of the other order is shown or used.
    slips = [
        oid
        for oid in foreign
        if any(span.order_ids == [oid] and _mistyped(span, oid, s) for span in spans)
    ]
    if slips:
        s = replace(
            s,
            orders={k: v for k, v in s.orders.items() if k not in slips},
            unknown_order_ids=[*s.unknown_order_ids, *slips],
        )
        foreign = [oid for oid in foreign if oid not in slips]
    intents = s.request_intents or [(s.intent, s.intent_confidence)] * len(spans)
    classified = list(zip(spans, intents, strict=False))
    own = [span for span in spans if not set(span.order_ids) & set(foreign)]
    if (
        foreign
        and own
        and all(set(span.order_ids) <= set(foreign) for span in spans if span not in own)
    ):
        # "cancel my order with the smartphone … and my friend asked me to cancel his order
        # #W8389220": the customer's own request is handled, the other one is not
        mine = [_plan(span, i, c, s) for span, (i, c) in classified if span in own]
        return _with_foreign_refused(mine, foreign, s)
    if foreign:
        return _whole(
            "refuse",
            "other_customers_order",
            "we can only help the account holder with their own orders",
            s,
            priority="high",
            requests=[
                RequestPlan(
                    intent=s.intent,
                    order_ids=foreign,
                    outcome="refuse",
                    reason="other_customers_order",
                    explanation="these orders are not on your account",
                )
            ],
        )
    requests = [_plan(span, intent, confidence, s) for span, (intent, confidence) in classified]
    return _aggregate(_without_repeats(requests), s)


def _with_foreign_refused(mine: list[RequestPlan], foreign: list[str], s: Situation) -> Decision:
    """The customer's own requests, planned, and the other customer's order refused beside
    them: nothing done about it, nothing of it shown."""
    refused = RequestPlan(
        intent=s.intent,
        order_ids=foreign,
        outcome="inform",
        reason="other_customers_order",
        explanation="we can only help the account holder with their own orders, so nothing "
        "was done about the order that is not on your account",
    )
    decision = _aggregate([*_without_repeats(mine), refused], s)
    return decision.model_copy(update={"priority": "high"})


def _without_repeats(requests: list[RequestPlan]) -> list[RequestPlan]:
    """Each write once: a later request whose writes an earlier one already makes ("return
    the tablet", then "yes, cancel it" to our whole-order question: the same cancel twice)
    keeps only its other writes, and goes when none is left. A payment question beside a
    proposed change of payment is that change."""
    seen: set[str] = set()
    kept: list[RequestPlan] = []
    for request in requests:
        keys = [f"{a.action}:{sorted(a.request.items())!r}" for a in request.actions]
        fresh = [a for a, key in zip(request.actions, keys, strict=True) if key not in seen]
        seen.update(keys)
        if request.actions and not fresh:
            continue
        if len(fresh) < len(request.actions):
            request = request.model_copy(update={"actions": fresh})
        kept.append(request)
    # "I'd rather not use PayPal after all. Could you charge it to my Visa instead?": the
    # first sentence names no method, the second does; its proposal answers both
    paying = any(a.action == "modify_order_payment" for r in kept for a in r.actions)
    if paying:
        kept = [r for r in kept if r.reason != "payment_question"]
    return kept or requests[:1]


#: An order number owned up to as a slip: "Sorry, typo. It's the smart watch order".
_SLIP = re.compile(
    r"\b(?:typo|mistyped|wrong\s+(?:order\s+)?number|i\s+meant|sorry|my\s+(?:bad|mistake))\b", re.I
)


def _corrected_unknown(span: RequestSpan, unknown: list[str], s: Situation) -> str | None:
    """The customer's order a later answer describes after a number we could not find
    ("Cancel #W7712345" ... "Sorry, typo. It's the smart watch order, the gold one"): that
    order, when the words after the number own up to a slip and fit exactly one order."""
    if s.customer is None:
        return None
    last = max(span.text.rfind(oid[2:]) for oid in unknown)
    after = span.text[last + 7 :] if last >= 0 else ""
    if not _SLIP.search(after) or ORDER_ID.search(after):
        return None
    found = references.find_orders(after, s.customer_orders)
    return found.orders[0].id if len(found.orders) == 1 and found.how == "items" else None


def _mistyped(span: RequestSpan, unknown: str, s: Situation) -> str | None:
    """The customer's order an unknown number was meant for: one digit changed or two
    neighbouring digits swapped, and the only order holding the items the message names."""
    if s.customer is None:
        return None
    found = references.find_orders(span.text.replace(unknown[2:], " "), s.customer_orders)
    if len(found.orders) != 1 or found.how != "items":
        return None
    order = found.orders[0].id
    a, b = unknown[2:], order[2:]
    if len(a) != len(b):
        return None
    diff = [i for i in range(len(a)) if a[i] != b[i]]
    swapped = (
        len(diff) == 2
        and diff[1] == diff[0] + 1
        and a[diff[0]] + a[diff[1]] == b[diff[1]] + b[diff[0]]
    )
    return order if len(diff) == 1 or swapped else None


def _rules_for_anyone(s: Situation) -> RequestPlan | None:
    """The store's rules, for a sender we do not know who asks only about them ("if I cancel
    an order, how long until I get my money back?"): they are no one's data. Not when the
    message names an order or asks for something to be done."""
    text = " ".join(span.text for span in s.entities.requests)
    if (
        not text
        or s.entities.order_ids
        or not cues.RULES_QUESTION.search(text)
        or is_explicit_request(text)
    ):
        return None
    answer = cues.rules_answer(text, s.intent)
    if answer is None:
        return None
    return RequestPlan(intent=s.intent, outcome="inform", reason="policy", explanation=answer)


def _plan(span: RequestSpan, intent: str, confidence: float, s: Situation) -> RequestPlan:
    unknown = [oid for oid in span.order_ids if oid in s.unknown_order_ids]
    if unknown and (meant := _corrected_unknown(span, unknown, s)) is not None:
        span = span.model_copy(update={"order_ids": [meant]})
        unknown = []
    if len(unknown) == 1 and (near := _mistyped(span, unknown[0], s)) is not None:
        # a number one slip away from the order whose items the message lists: that order,
        # proposed for a yes (the number did not match)
        plan = _planned(span.model_copy(update={"order_ids": [near]}), intent, s)
        plan.details["needs_explicit_confirmation"] = True
        plan.explanation = (
            f"we found no order {unknown[0]} on your account, but {near} holds these items; "
            + (plan.explanation)
        )
        return _confirmed_or_asked(plan, span, s)
    if unknown:
        return RequestPlan(
            intent=intent,
            order_ids=unknown,
            outcome="clarify",
            reason="unknown_order",
            explanation="we could not find an order with this number",
        )
    unsure = confidence < MIN_INTENT_CONFIDENCE and intent not in ("complaint", "other")
    if unsure and intent == "order_status" and kind_of(span.text) == "status":
        unsure = False  # "has #W1234567 shipped yet?": asked in so many words, changes nothing
    # "where is my camera order? Don't change anything, I just want to know": a question
    # that asks for nothing to be done is answered, not taken back
    asked_status = intent == "order_status" and kind_of(span.text) == "status"
    taken_back = withdrawn(span.text) and not asked_status
    asking = unsure and confidence >= ASK_INTENT_CONFIDENCE and not taken_back
    rules_asked = unsure and not taken_back and bool(cues.RULES_QUESTION.search(span.text))
    planned = (asking or rules_asked) and s.customer is not None
    guess = _planned(span, intent, s) if planned else None
    if rules_asked and guess is not None and (guess.outcome, guess.reason) == ("inform", "policy"):
        # the rules asked about ("if I do, how quickly would the money go back?"): an answer
        # that changes nothing, whatever else the words meant
        return guess
    if asking and guess is not None and (guess.actions or guess.outcome == "clarify"):
        # one precise question instead of a hand-over: what we understood, for a yes
        guess.details["needs_explicit_confirmation"] = True
        return _confirmed_or_asked(guess, span, s)
    if taken_back or unsure:
        outcome: Outcome
        outcome, reason, explanation = (
            (
                "inform",
                "withdrawn",
                "as you decided not to go ahead with this request, nothing was changed",
            )
            if taken_back
            else ("human", "unclear_request", "we are not sure what you would like us to do")
        )
        return RequestPlan(
            intent=intent,
            order_ids=span.order_ids,
            outcome=outcome,
            reason=reason,
            explanation=explanation,
        )
    return _confirmed_or_asked(_planned(span, intent, s), span, s)


def _planned(span: RequestSpan, intent: str, s: Situation) -> RequestPlan:
    assert s.customer is not None
    context = plans.Context(
        span=span,
        entities=s.entities,
        customer=s.customer,
        orders=[s.orders[oid] for oid in span.order_ids if oid in s.orders],
        customer_orders=s.customer_orders,
        products=s.products,
        whole_order=s.confirmed and cues.WHOLE_ORDER_QUESTION in (s.shown or ""),
    )
    return plans.plan(intent, context)


def listed(actions: list[PlannedAction], shown: str | None) -> bool:
    """Whether our replies (`shown`) listed each of these writes, as a yes must have seen
    them; None: not known, each counts as listed."""
    return shown is None or all(a.summary in shown for a in actions)


def _confirmed_or_asked(plan: RequestPlan, span: RequestSpan, s: Situation) -> RequestPlan:
    """A proposal is acted on when the customer asked for it in so many words or said yes
    to it; otherwise it waits for their yes. A yes confirms what our reply listed: a write
    added in the same answer ("yes, and the kettle too") is proposed again, whole."""
    if plan.outcome == "confirm" and plan.actions:
        explicit = s.entities.explicit_request and (
            len(s.entities.requests) <= 1 or is_explicit_request(span.text)
        )
        inferred = bool(plan.details.get("needs_explicit_confirmation"))
        said_yes = (s.confirmed or _restated(plan.actions, s)) and listed(plan.actions, s.shown)
        asked_first = explicit and not inferred and not (s.confirmed or s.proposed_before)
        if said_yes or asked_first:
            plan = plan.model_copy(update={"outcome": "act"})
    return plan


def _restated(actions: list[PlannedAction], s: Situation) -> bool:
    """Whether a "yes, only the skateboard" names exactly the items these writes are for:
    then it says yes to them. Writes not about items (a whole order, an address) and a yes
    naming anything else are asked about again."""
    if not s.yes_for or not actions:
        return False
    items = {i.item_id: i for o in [*s.orders.values(), *s.customer_orders] for i in o.items}
    acted = {str(i) for a in actions for i in a.request.get("item_ids") or []}
    if not acted or any(not a.request.get("item_ids") for a in actions) or acted - items.keys():
        return False
    names = {i.product_id: i.name for i in items.values()}
    named = {m.product_id for m in matching.mentions(s.yes_for, names)}
    return named == {items[i].product_id for i in acted}


def _aggregate(requests: list[RequestPlan], s: Situation) -> Decision:
    worst = min(requests, key=lambda r: SEVERITY.index(r.outcome))
    outcome: Outcome = worst.outcome
    refund = sum(
        (a.refund for r in requests if r.outcome == "act" for a in r.actions), Decimal("0")
    )
    status: Literal["open", "pending_customer", "solved"]
    if outcome in ("refuse", "human"):
        status = "open"
    elif outcome in ("clarify", "confirm"):
        status = "pending_customer"
    else:
        status = "solved"
    high = outcome == "refuse" or any(r.intent == "complaint" for r in requests)
    return Decision(
        outcome=outcome,
        reason=worst.reason,
        explanation=worst.explanation,
        requests=requests,
        needs_approval=refund > s.refund_threshold,
        refund_total=refund,
        approval_threshold=s.refund_threshold,
        priority="high" if high else "normal",
        category=plans.category(requests[0].intent if requests else s.intent),
        ticket_status=status,
    )


def follow_up_plan(decision: Decision, days: int) -> tuple[str, int, Literal["normal", "high"]]:
    """What the follow-up task is for, in how many days it is due, and its priority."""
    if decision.outcome in ("human", "refuse"):
        return "make sure a person has answered the customer", 1, "high"
    if decision.outcome in ("confirm", "clarify"):
        return (
            "the customer was asked to confirm or complete the request; chase or close",
            days,
            "normal",
        )
    if decision.actions:
        done = "; ".join(a.summary for a in decision.actions)
        return f"check with the customer that it worked out: {done}", days, "normal"
    return "check the customer has what they needed", days, "normal"


def hand_over(
    decision: Decision,
    reason: str,
    explanation: str,
    only_failed: set[str] | None = None,
    *,
    of: Outcome = "act",
) -> Decision:
    """The decision once a person declined a refund, or a system refused a change: those
    requests (all that were to be acted on, or the failed ones) go to a person. With `of`
    "confirm": the proposals a customer turned down and we would only repeat."""
    requests = []
    for plan in decision.requests:
        affected = plan.outcome == of and (
            only_failed is None or any(a.summary in only_failed for a in plan.actions)
        )
        if affected:
            plan = plan.model_copy(
                update={"outcome": "human", "reason": reason, "explanation": explanation}
            )
        requests.append(plan)
    return decision.model_copy(
        update={
            "outcome": "human",
            "reason": reason,
            "explanation": explanation,
            "requests": requests,
            "ticket_status": "open",
            "priority": "high",
        }
    )


def without_declined(decision: Decision, declined: set[str], s: Situation) -> Decision:
    """The decision once the customer turned a proposal down and asked for something else
    ("No, not that one. I mean the tablet in the order that hasn't shipped, cancel that
    order"): reading the thread again still finds the first request, on this turn and every
    later one; the writes they turned down are left out of each request, and a request left
    with none is set aside."""
    requests = []
    for plan in decision.requests:
        kept = [a for a in plan.actions if a.summary not in declined]
        if len(kept) == len(plan.actions):
            requests.append(plan)
        elif kept:
            requests.append(plan.model_copy(update={"actions": kept}))
        else:
            explanation = (
                "as you told us this is not what you would like, we did not go ahead with it"
            )
            requests.append(_informed(plan, "declined", explanation))
    return _with_requests(decision, requests, s)


def _informed(plan: RequestPlan, reason: str, explanation: str) -> RequestPlan:
    """The request, told about instead of acted on or asked about."""
    return plan.model_copy(
        update={"outcome": "inform", "reason": reason, "explanation": explanation, "actions": []}
    )


def _with_requests(decision: Decision, requests: list[RequestPlan], s: Situation) -> Decision:
    """The decision over `requests`, or the same decision when none of them changed."""
    return decision if requests == decision.requests else _aggregate(requests, s)


#: Requests that, asked about again, may no longer read as complete once done: the new
#: default address is in the first message, not in the "yes" that confirmed the rest.
_DONE_BEFORE = {("address_change", "missing_address"): "update_customer_address"}


def without_done_before(decision: Decision, done: set[str], s: Situation) -> Decision:
    """The decision once an earlier turn of this run made a change (`done`: the actions that
    succeeded): a request for it that reading the thread again now finds incomplete ("please
    send the full new address") is reported as done, not asked about again."""
    requests = []
    for plan in decision.requests:
        action = _DONE_BEFORE.get((plan.intent, plan.reason))
        if plan.outcome == "clarify" and action in done and not plan.order_ids:
            plan = _informed(plan, "done_before", "we made this change earlier in our conversation")
        requests.append(plan)
    return _with_requests(decision, requests, s)


def decide_requests(requests: list[RequestPlan], s: Situation) -> Decision:
    """The decision from request plans made elsewhere (the model planner's, each checked by
    proposals.py): the same outcome, refund threshold and ticket status rules as `decide`."""
    return _aggregate(requests, s)
