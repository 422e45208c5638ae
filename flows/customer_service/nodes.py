"""The flow's reading half: understand the message, know the customer, decide.

Model nodes (`classify_intent`, `extract_entities`) only read and answer; connector nodes
here only read (`find_thread`, `identify_customer`, `review_account`); `decide` is pure.
The writing half is in `nodes_act.py`.
"""

from __future__ import annotations

import re
from typing import Any

from langgraph.runtime import Runtime

from bpa.runs.context import RunContext
from connectors.errors import NotFound
from connectors.kinds import CRMConnector, TicketingConnector
from connectors.schemas import (
    CatalogueProduct,
    CatalogueProductRef,
    Customer,
    CustomerOrders,
    FindCustomerByEmail,
    Order,
    OrderRef,
    TicketSearch,
)
from connectors.schemas.ticketing import TicketStatus
from flows.customer_service import (
    _accounts,
    claims,
    clauses,
    identity,
    intake,
    planner,
    policy,
    threads,
)
from flows.customer_service.entities import (
    MessageEntities,
    address_in,
    is_confirmation,
    yes_for,
)
from flows.customer_service.schemas import Decision
from flows.customer_service.state import CSState, Sender
from flows.customer_service.tasks import ENTITIES, INTENT

Ctx = Runtime[RunContext]

#: Characters of the message (and of each request in it) the models read.
_MODEL_CHARS = 8000
_OPEN: list[TicketStatus] = ["new", "open", "pending_customer"]
#: Intents the policy can act on or answer from the CRM.
ACTIONABLE = frozenset(
    {"order_status", "cancel", "modify", "return", "exchange", "refund", "address_change"}
)
#: Requests that are made with their own verb: a message whose only verbs ask where an
#: order is does not make them, whatever the model reads into "pending" or "shipped".
_ACTS_BY_VERB = frozenset({"cancel", "return", "modify", "exchange"})
#: How sure a single sentence must be to overrule a "complaint"/"other" request.
_SENTENCE_CONFIDENCE = 0.6


async def read_message(state: CSState, runtime: Ctx) -> dict[str, Any]:
    """Reads subject and body; writes `text`, `problems`, `language`. Never fails: a message
    that cannot be read automatically is recorded with the problem."""
    text = intake.read_text(state.get("subject") or "", state.get("body") or "")
    problems, language = intake.problems_of(text, runtime.context.settings.max_message_chars)
    return {
        "text": text,
        "problems": problems,
        "language": language,
        "thread": None,
        "confirmed": False,
        "yes_for": None,
        "conversation": threads.first_turn(state, text),
        "turn": 1,
        "thread_keys": [],
        "reply_to_id": state.get("message_id"),
        "thread_end": None,
    }


async def find_thread(state: CSState, runtime: Ctx) -> dict[str, Any]:
    """Reads `in_reply_to`; writes `thread` (the open ticket this message answers), `confirmed`
    and `text` (the original request followed by this answer). A message from another address
    than the ticket's requester does not join its conversation."""
    ticketing = runtime.context.connector(TicketingConnector)
    found = await ticketing.find_tickets(
        TicketSearch(external_ref=state["in_reply_to"], statuses=_OPEN, limit=1)
    )
    if not found:
        return {}
    ticket = found[0]
    sender = ((state.get("sender") or {}).get("email") or "").lower()
    if sender and (ticket.requester.email or "").lower() not in ("", sender):
        return {}  # someone else's conversation: this message starts its own
    answer = state["text"]
    said = intake.own_words(state.get("body") or "") or answer
    earlier = [
        c.body
        for c in ticket.comments
        if c.author == threads.CUSTOMER_NOTE and c.visibility == "internal"
    ][-threads.EARLIER_ANSWERS :]
    return {
        "thread": ticket.model_dump(mode="json"),
        "confirmed": is_confirmation(said),
        "yes_for": yes_for(said),
        "text": "\n\n".join([ticket.description, *earlier, answer]),
    }


async def classify_intent(state: CSState, runtime: Ctx) -> dict[str, Any]:
    """Reads `text`; writes `intent` (the message's) and `request_intents` (one per request)."""
    ctx = runtime.context
    text = claims.without_identity(state["text"])[:_MODEL_CHARS]
    overall = await ctx.models.classify(INTENT, text=text)
    return {"intent": {"label": overall.label, "confidence": overall.confidence}}


async def _request_intent(ctx: RunContext, text: str) -> dict[str, Any]:
    """A request's intent. When the request as a whole reads as a complaint or small talk,
    a sentence in it that clearly asks for an order action still counts ("... and then
    just cancel the order")."""
    text = claims.without_identity(text)
    found = await ctx.models.classify(INTENT, text=text[:_MODEL_CHARS])
    best: dict[str, Any] = {"label": found.label, "confidence": found.confidence}
    if found.label not in ("complaint", "other"):
        return _agreeing_with_verb(text, found.scores, best)
    for sentence in clauses.sentences(text)[:20]:
        if len(clauses.sentences(text)) < 2:
            break
        one = await ctx.models.classify(INTENT, text=sentence[:_MODEL_CHARS])
        if (
            one.label in ACTIONABLE
            and one.confidence >= _SENTENCE_CONFIDENCE
            and (best["label"] not in ACTIONABLE or one.confidence > best["confidence"])
        ):
            best = {"label": one.label, "confidence": one.confidence}
    return _agreeing_with_verb(text, found.scores, best)


_SHIP_TO = re.compile(r"\b(?:ship|deliver|send|go)\w*\b[^.;!?]{0,40}?\bto\b", re.IGNORECASE)
_OPTION_CHANGE = re.compile(r"\b(?:exchange|swap|switch|size|colou?r|option|version)\w*", re.I)


def _sent_elsewhere(text: str) -> bool:
    """The request asks for an order to go to an address it writes out, and for no other
    option of its items."""
    return bool(
        _SHIP_TO.search(text) and address_in(text) is not None and not _OPTION_CHANGE.search(text)
    )


def _agreeing_with_verb(
    text: str, scores: dict[str, float], best: dict[str, Any]
) -> dict[str, Any]:
    """When the model is unsure and the request's own verb says what kind of thing it asks
    ("modify the grill ...", "return the lamp"), the likeliest intent of that kind, with the
    model's probability for the whole kind (any change, any return) as its confidence. So
    too when the model's answer is a kind the customer only names to refuse ("don't cancel
    it, ship it to my office instead") or an action where the message only asks about its
    orders."""
    kind = clauses.kind_of(text)
    if best["label"] in ("modify", "exchange") and _sent_elsewhere(text):
        # "My pending order (bookshelf, tablet and the two chairs) should ship to my office
        # instead: 2100 Ross Avenue, ...": the products name the order, the address is new
        return {"label": "address_change", "confidence": best["confidence"], "by": "address"}
    wanted = clauses.INTENTS_OF_KIND.get(kind or "", ())
    fitting = {label: p for label, p in scores.items() if label in wanted}
    refused = {label for k in clauses.negated_kinds(text) for label in clauses.INTENTS_OF_KIND[k]}
    if clauses.kinds_in(text) == {"status"}:  # a question only ("which orders are pending?")
        refused |= _ACTS_BY_VERB
    if not fitting or (best["confidence"] >= _SENTENCE_CONFIDENCE and best["label"] not in refused):
        return best  # sure, and not of a kind the customer says they do not want
    label = best["label"] if best["label"] in wanted else max(fitting, key=fitting.__getitem__)
    return {"label": label, "confidence": min(1.0, sum(fitting.values())), "by": "verb"}


async def extract_entities(state: CSState, runtime: Ctx) -> dict[str, Any]:
    """Reads `text`; writes `entities` and `request_intents` (each request classified)."""
    ctx = runtime.context
    result = await ctx.models.extract(ENTITIES, text=state["text"][:_MODEL_CHARS])
    entities = result.value
    if sender_name := (state.get("sender") or {}).get("name"):
        parts = str(sender_name).split()
        if not entities.first_name and len(parts) >= 2 and (entities.zip or entities.emails):
            entities.first_name, entities.last_name = parts[0], parts[-1]
    spans = entities.requests or []
    if len(spans) > 1:
        intents = [await _request_intent(ctx, span.text) for span in spans]
    else:
        intents = [await _request_intent(ctx, state["text"])]
    update: dict[str, Any] = {
        "entities": entities.model_dump(mode="json"),
        "request_intents": intents,
    }
    if state["intent"]["label"] in ("complaint", "other") and intents[0]["label"] in ACTIONABLE:
        update["intent"] = intents[0]
    elif len(spans) <= 1 and intents[0].get("by") == "verb":
        update["intent"] = intents[0]  # the one request is the message: its verb decided
    return update


async def identify_customer(state: CSState, runtime: Ctx) -> dict[str, Any]:
    """Reads `channel`, the sender, `thread` and `entities`; writes `customer` and `auth`.

    The customer is who the channel verified (identity.py): the e-mail's sender, the chat's
    signed-in session, or, only on channels the settings allow, a name and zip code (or an
    e-mail address with the account's name or zip code) given in this message. Otherwise an
    address or a name typed in the message is never an identity; when it names another
    customer's account, or the thread belongs to another customer, a person reads the
    message (`identity_conflict`).
    """
    ctx = runtime.context
    crm, settings = ctx.connector(CRMConnector), ctx.settings
    channel = state.get("channel") or "email"
    sender = Sender.model_validate(state.get("sender") or {})
    entities = MessageEntities.model_validate(state.get("entities") or {})
    address = identity.verified_address(
        channel, sender, require_dmarc_pass=settings.cs_email_require_dmarc_pass
    )
    auth = identity.Auth(
        channel_verified=address is not None,
        knowledge_allowed=identity.knowledge_allowed(channel, settings.cs_knowledge_auth_channels),
    )
    customer: Customer | None = None
    if address:
        by_address = FindCustomerByEmail(email=address)
        customer = await _accounts.lookup(crm, "find_customer_by_email", by_address)
        auth.method = identity.channel_method(channel) if customer else None
    own_text = intake.read_text(state.get("subject") or "", state.get("body") or "")
    said = _accounts.said_here(entities, own_text) if state.get("thread") else entities
    knowledge = auth.knowledge_allowed and bool(_accounts.name_zip(said) or said.emails)
    if customer is None and knowledge:
        customer, auth.method = await _accounts.by_knowledge(crm, said)
    if customer is None:
        auth.problem = "unauthenticated" if address or knowledge else "unverified_sender"
        return {"customer": None, "auth": auth.model_dump(mode="json")}
    owner = ((state.get("thread") or {}).get("requester") or {}).get("customer_id")
    others = await _accounts.named_accounts(crm, entities, customer)
    if owner and owner != customer.id:
        others = sorted({*others, owner})
    if others:
        auth.method, auth.problem = None, "identity_conflict"
        auth.candidates = sorted({customer.id, *others})
        return {"customer": None, "auth": auth.model_dump(mode="json")}
    return {"customer": customer.model_dump(mode="json"), "auth": auth.model_dump(mode="json")}


async def review_account(state: CSState, runtime: Ctx) -> dict[str, Any]:
    """Reads `customer`, `entities`; writes the customer's orders, the orders the message
    names (whoever owns them, so a foreign one is recognised and refused), open tickets and
    the catalogue entries of the products in those orders."""
    ctx = runtime.context
    crm, ticketing = ctx.connector(CRMConnector), ctx.connector(TicketingConnector)
    customer = Customer.model_validate(state["customer"])
    entities = MessageEntities.model_validate(state.get("entities") or {})
    mine = await crm.list_customer_orders(CustomerOrders(customer_id=customer.id))
    by_id: dict[str, Order] = {o.id: o for o in mine}
    wanted = list(
        dict.fromkeys(
            [*entities.order_ids, *(i for r in entities.requests for i in r.reference_order_ids)]
        )
    )
    named: dict[str, Order] = {}
    unknown: list[str] = []
    for order_id in wanted:
        try:
            named[order_id] = by_id.get(order_id) or await crm.get_order(
                OrderRef(order_id=order_id)
            )
        except NotFound:
            unknown.append(order_id)
    product_ids = {
        i.product_id for o in named.values() if o.customer_id == customer.id for i in o.items
    }
    if not named:  # a request may name products rather than orders
        product_ids |= {
            i.product_id for o in mine if o.status in ("pending", "delivered") for i in o.items
        }
    products: dict[str, CatalogueProduct] = {}
    for product_id in sorted(product_ids):
        try:
            products[product_id] = await crm.get_catalogue_product(
                CatalogueProductRef(product_id=product_id)
            )
        except NotFound:
            continue
    tickets = await ticketing.find_tickets(
        TicketSearch(requester_customer_id=customer.id, statuses=_OPEN, limit=20)
    )
    return {
        "customer_orders": [o.model_dump(mode="json") for o in mine],
        "orders": {k: o.model_dump(mode="json") for k, o in named.items()},
        "unknown_order_ids": unknown,
        "products": {k: p.model_dump(mode="json") for k, p in products.items()},
        "open_tickets": [
            {"id": t.id, "subject": t.subject, "status": t.status, "category": t.category}
            for t in tickets
        ],
    }


def situation(state: CSState, threshold: Any) -> policy.Situation:
    """The state, typed, as the policy reads it."""
    entities = MessageEntities.model_validate(state.get("entities") or {})
    intent = state.get("intent") or {"label": "other", "confidence": 0.0}
    customer = state.get("customer")
    return policy.Situation(
        intent=intent["label"],
        intent_confidence=intent["confidence"],
        entities=entities,
        request_intents=[(i["label"], i["confidence"]) for i in state.get("request_intents", [])],
        problems=list(state.get("problems") or []),
        customer=Customer.model_validate(customer) if customer else None,
        auth_problem=(state.get("auth") or {}).get("problem"),
        orders={k: Order.model_validate(v) for k, v in (state.get("orders") or {}).items()},
        unknown_order_ids=list(state.get("unknown_order_ids") or []),
        customer_orders=[Order.model_validate(o) for o in state.get("customer_orders") or []],
        products={
            k: CatalogueProduct.model_validate(v) for k, v in (state.get("products") or {}).items()
        },
        confirmed=bool(state.get("confirmed")),
        yes_for=state.get("yes_for"),
        shown=planner.shown_to_customer(state),
        proposed_before=(state.get("turn") or 1) > 1
        and (state.get("decision") or {}).get("outcome") == "confirm",
        refund_threshold=threshold,
    )


async def decide(state: CSState, runtime: Ctx) -> dict[str, Any]:
    """The policy (policy.py) over what was found; writes `decision`. With a model backend
    that plans, the model proposes through read-only tools (planner.py) and the same policy
    checks the proposal; offline, and whenever the model planner fails, the rules decide."""
    ctx = runtime.context
    found = situation(state, ctx.settings.refund_approval_threshold)
    decision = policy.decide(found)
    if ctx.models.plans_with_model and planner.applies(found, decision):
        decision = await planner.decide_with_model(ctx, state, found, decision)
    done = {a["action"] for a in state.get("actions") or [] if a.get("ok")}
    if done:
        decision = policy.without_done_before(decision, done, found)
    declined = _declined(state, decision)
    if declined and declined == _proposed(decision):
        decision = policy.hand_over(
            decision,
            "proposal_declined",
            "you told us this is not what you would like, and we could not work out the "
            "change from your answer; a colleague will pick this up",
            of="confirm",
        )
        return {"decision": decision.model_dump(mode="json")}
    turned_down = set(state.get("declined") or []) | declined
    if turned_down:
        decision = policy.without_declined(decision, turned_down, found)
    return {"decision": decision.model_dump(mode="json"), "declined": sorted(turned_down)}


#: An answer that turns our proposal down: "No, just the camera", "That's not right".
_DECLINED = re.compile(
    r"^\W*(?:no\b(?!\s+(?:other|more|further)\b)|nope\b|(?:that'?s|that\s+is)\s+(?:not|wrong)\b|"
    r"wrong\b|not\s+(?:that|quite|right)\b)",
    re.IGNORECASE,
)


def _proposed(decision: Decision) -> set[str]:
    return {a.summary for r in decision.requests if r.outcome == "confirm" for a in r.actions}


def _declined(state: CSState, decision: Decision) -> set[str]:
    """The writes the customer has just turned down that reading the conversation again
    proposes once more (none when they did not turn our proposal down)."""
    before = state.get("decision") or {}
    said = next(
        (c["text"] for c in reversed(state.get("conversation") or []) if c["role"] == "customer"),
        "",
    )
    if (state.get("turn") or 1) < 2 or before.get("outcome") != "confirm":
        return set()
    if decision.outcome != "confirm" or not _DECLINED.match(said) or is_confirmation(said):
        return set()
    earlier = {
        a["summary"]
        for r in before.get("requests") or []
        if r.get("outcome") == "confirm"
        for a in r.get("actions") or []
    }
    return _proposed(decision) & earlier
