"""Threads: a conversation with the customer is one run.

When the flow asked the customer something (a `clarify` or `confirm` outcome) and the
question reached them, the run waits (`await_customer`) under the thread's keys: the
Message-IDs of the e-mails we sent and of the customer's own messages, or the chat session.
The engine hands the customer's next message under one of those keys to the run as the
answer (bpa/runs/replies.py), but only when it comes from the same sender (`accepts_reply`);
the run then reads the whole conversation again, on the same ticket. Every connector write
of a later turn carries the turn in its idempotency key (`turn_key`), so turn 2's reply is
not mistaken for turn 1's, while a retried turn still acts once. No answer by the deadline,
too many turns, or a person closing the wait: the ticket stays open for a person.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

from langgraph.runtime import Runtime
from langgraph.types import interrupt

from bpa.review import ReviewQuestion
from bpa.runs.context import RunContext
from flows.customer_service import intake, matching, policy
from flows.customer_service.entities import is_confirmation, order_ids_in, yes_for
from flows.customer_service.schemas import Decision
from flows.customer_service.state import CSState, CustomerMessage

__all__ = [
    "CUSTOMER_NOTE",
    "CUSTOMER_REPLY",
    "EARLIER_ANSWERS",
    "accepts_reply",
    "await_customer",
    "chosen_candidate",
    "first_turn",
    "reply_keys",
    "turn_key",
    "waits",
]

Ctx = Runtime[RunContext]

#: The kind of question a run waiting for the customer asks.
CUSTOMER_REPLY = "customer_reply"
#: Characters of one answer kept in the conversation.
_ANSWER_CHARS = 8000
_ASKING = ("clarify", "confirm")


def _id_key(message_id: str) -> str:
    return f"msgid:{message_id.strip()}"


def reply_keys(data: dict[str, Any]) -> list[str]:
    """The keys under which a message may continue a waiting conversation: the ids it
    answers (In-Reply-To first, then References, newest first) and its chat session."""
    message = CustomerMessage.model_validate(data)
    ids = [message.in_reply_to, *reversed(message.references)]
    keys = [_id_key(i) for i in ids if i]
    if message.session_id and message.channel != "email":
        keys.append(f"{message.channel}:{message.session_id}")
    return keys


def _requester(state: CSState) -> dict[str, Any]:
    """Who was asked, as the first message's channel delivered them."""
    sender = state.get("sender") or {}
    return {
        "channel": state.get("channel") or "email",
        "email": sender.get("email"),
        "verified": sender.get("verified"),
        "session_id": state.get("session_id"),
    }


def accepts_reply(question: dict[str, Any], data: dict[str, Any]) -> bool:
    """A message answers the waiting question only when it comes from whom we asked: on
    e-mail the same address, not reported forged; on chat/api the same session (and address),
    signed in when the first message was. A weaker channel never continues a stronger one."""
    if question.get("kind") != CUSTOMER_REPLY:
        return False
    asked = (question.get("details") or {}).get("requester") or {}
    message = CustomerMessage.model_validate(data)
    sender = message.sender
    if message.channel != asked.get("channel") or sender.verified is False:
        return False
    if asked.get("verified") is True and sender.verified is not True:
        return False
    email = asked.get("email")
    if message.channel == "email":
        return bool(email) and sender.email == email
    if not asked.get("session_id") or message.session_id != asked["session_id"]:
        return False
    return email is None or sender.email == email


#: The author of the internal note that keeps a customer's answer on the ticket, when the
#: answer came as a new message (a new run) rather than to a waiting run: the next message
#: in the thread is read after the original request and these, so nothing said in between
#: is lost. At most the last `EARLIER_ANSWERS` are read again.
CUSTOMER_NOTE = "customer"
EARLIER_ANSWERS = 4


def turn_key(ctx: RunContext, state: CSState, node: str, action: str, *parts: str) -> str:
    """The idempotency key of a connector write in this turn of the conversation (the first
    turn's keys are the run's plain keys)."""
    turn = state.get("turn") or 1
    extra = (f"turn{turn}",) if turn > 1 else ()
    return ctx.idempotency_key(node, action, *parts, *extra)


def _delivered(state: CSState) -> bool:
    delivery = state.get("delivery") or {}
    if delivery.get("status") == "failed":
        return False
    if state.get("channel") == "email":
        return bool(delivery.get("message_id"))
    return delivery.get("status") == "posted" and bool(state.get("session_id"))


def waits(state: CSState) -> bool:
    """After answering: whether the run waits for the customer (we asked, the ticket waits
    for them, and the question reached them on a channel whose reply can find this run)."""
    decision = state.get("decision") or {}
    return (
        not state.get("thread_end")
        and decision.get("outcome") in _ASKING
        and ((state.get("ticket") or {}).get("status") == "pending_customer")
        and _delivered(state)
    )


def _thread_keys(state: CSState) -> list[str]:
    keys = list(state.get("thread_keys") or [])
    sent = (state.get("delivery") or {}).get("message_id")
    ids = [sent, state.get("message_id")]
    ids += [c.get("message_id") for c in state.get("conversation") or []]
    keys += [_id_key(i) for i in ids if i]
    channel, session = state.get("channel") or "email", state.get("session_id")
    if session and channel != "email":
        keys.append(f"{channel}:{session}")
    return list(dict.fromkeys(keys))


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC).replace(microsecond=0)


def first_turn(state: CSState, text: str) -> list[dict[str, Any]]:
    """The conversation as the first message opens it."""
    return [
        {
            "role": "customer",
            "text": text[:_ANSWER_CHARS],
            "at": state.get("received_at"),
            "message_id": state.get("message_id"),
        }
    ]


#: A short answer that picks from the list we offered: "the second one", "2", "the last".
_PICK = re.compile(
    r"^\W*(?:(?:it'?s|it is|i mean|i meant|that'?s|that is)\s+)?(?:the\s+)?"
    r"(?:(?P<word>first|second|third|fourth|fifth|sixth|seventh|eighth|last|1st|2nd|3rd|4th|5th"
    r"|6th|7th|8th)(?:\s+(?:one|order|of them|on the list))?|(?:number|no\.?|nr\.?|option)\s*"
    r"(?P<number>[1-8])|(?P<digit>[1-8]))\W*(?:please|thanks?|thank you)?\W*$",
    re.IGNORECASE,
)
_PLACES = {
    "first": 0, "1st": 0, "second": 1, "2nd": 1, "third": 2, "3rd": 2, "fourth": 3,
    "4th": 3, "fifth": 4, "5th": 4, "sixth": 5, "6th": 5, "seventh": 6, "7th": 6,
    "eighth": 7, "8th": 7, "last": -1,
}  # fmt: skip


def _listed(decision: Decision) -> list[str] | None:
    """The order ids our one "which order?" question listed, in its order; None when the
    decision asked no such question, or several."""
    asked = [r for r in decision.requests if r.outcome == "clarify" and r.details.get("candidates")]
    if len(asked) != 1:
        return None
    return [ids[0] for c in asked[0].details["candidates"] if (ids := order_ids_in(str(c)))]


def chosen_candidate(decision: Decision, said: str) -> str | None:
    """The order an answer like "the second one" picks from the orders our question listed
    ("which order is this about?"), or None when the answer is not such a pick or the
    question listed no orders."""
    match = _PICK.match(said.strip()[:60])
    listed = _listed(decision)
    if match is None or listed is None:
        return None
    if match["word"]:
        place = _PLACES[match["word"].lower()]
    else:
        place = int(match["number"] or match["digit"]) - 1
    return listed[place] if -len(listed) <= place < len(listed) else None


#: An answer turning down the order we proposed for the only other one that fits: "no, not
#: that one, the other one", "I meant the other order".
_OTHER = re.compile(
    r"^\W*(?:(?:no|nope|actually|sorry|wait|oops|hm+)\W+)*(?:not\s+(?:that|this)(?:\s+one|"
    r"\s+order)?\W+)?(?:(?:i\s+)?(?:mean|meant)\s+)?the\s+other\s+(?:one|order)\b"
    r"\W*(?:please|thanks?|thank you)?\W*$",
    re.IGNORECASE,
)


def other_candidate(decision: Decision, said: str, orders: list[dict[str, Any]]) -> str | None:
    """The order "the other one" means: the answer turns down the one order we proposed,
    and exactly one other of the customer's orders is in the same state."""
    if decision.outcome != "confirm" or not _OTHER.match(said.strip()[:80]):
        return None
    proposed = {a.request.get("order_id") for r in decision.requests for a in r.actions}
    if len(proposed) != 1:
        return None
    (order_id,) = proposed
    status = next((o.get("status") for o in orders if o.get("id") == order_id), None)
    others = [o["id"] for o in orders if o.get("status") == status and o.get("id") != order_id]
    return f"{others[0]}, not {order_id}" if status and len(others) == 1 else None


def described_candidate(
    decision: Decision, said: str, orders: list[dict[str, Any]], before: str
) -> str | None:
    """The order an answer picks by what is in it ("I meant the order with just the
    bookshelf") from the orders our question listed: the one listed order holding a product
    the answer names. The listed orders an earlier message named by number are set aside
    with it ("#W3130816, not #W9222585"), as the answer corrects that number. None when the
    answer gives a number itself, names nothing listed, or fits several."""
    listed = _listed(decision)
    if listed is None or order_ids_in(said):
        return None
    items = {
        o["id"]: {i["product_id"]: i["name"] for i in o.get("items") or []}
        for o in orders
        if o.get("id") in listed
    }
    names = {pid: name for products in items.values() for pid, name in products.items()}
    named = set(matching.mentioned_products(said, names, head_noun=True))
    fits = [order_id for order_id, products in items.items() if named & set(products)]
    if len(fits) != 1:
        return None
    earlier = [o for o in order_ids_in(before) if o in listed and o != fits[0]]
    return ", ".join([fits[0], *(f"not {o}" for o in earlier)])


async def await_customer(state: CSState, runtime: Ctx) -> dict[str, Any]:
    """Waits for the customer's answer (a `customer_reply` question under the thread's keys,
    until `cs_thread_expiry_hours`); then writes the conversation and, for an answer, the
    whole conversation as `text` for the next turn, or `thread_end` when there is none."""
    settings = runtime.context.settings
    decision = Decision.model_validate(state["decision"])
    ticket_id = (state.get("ticket") or {}).get("id")
    keys = _thread_keys(state)
    expires = _now() + dt.timedelta(hours=settings.cs_thread_expiry_hours)
    question = ReviewQuestion(
        kind=CUSTOMER_REPLY,
        title=f"Waiting for the customer's answer (ticket {ticket_id})",
        reasons=[f"{decision.outcome}: {decision.explanation}"],
        details={
            "reply_keys": keys,
            "expires_at": expires.isoformat(),
            "requester": _requester(state),
            "ticket_id": ticket_id,
            "turn": state.get("turn") or 1,
        },
        actions=["reject"],  # a person may stop waiting: the ticket is theirs
    )
    answer = interrupt(question.model_dump(mode="json"))
    return _after(state, answer, decision, keys, runtime.context)


def _after(
    state: CSState,
    answer: dict[str, Any],
    decision: Decision,
    keys: list[str],
    ctx: RunContext,
) -> dict[str, Any]:
    settings = ctx.settings
    ours = {
        "role": "agent",
        "text": state.get("reply") or "",
        "at": _now().isoformat(),
        "message_id": (state.get("delivery") or {}).get("message_id"),
    }
    conversation = [*(state.get("conversation") or []), ours]
    update: dict[str, Any] = {
        "turn": (state.get("turn") or 1) + 1,
        "thread_keys": keys,
        "conversation": conversation,
        "review": None,
        "delivery": None,
    }
    action = answer.get("action")
    if action != "reply":
        expired = action == "expired"
        hours = settings.cs_thread_expiry_hours
        update["thread_end"] = "expired" if expired else "handed_over"
        update["decision"] = policy.hand_over(
            decision,
            "customer_did_not_answer" if expired else "thread_handed_over",
            f"the customer did not answer within {hours:g} hours; a colleague follows up"
            if expired
            else "a colleague took the conversation over",
        ).model_dump(mode="json")
        return update
    message = CustomerMessage.model_validate(answer.get("message") or {})
    said = (intake.own_words(message.body.strip()) or message.subject.strip())[:_ANSWER_CHARS]
    said = intake.canonical_order_numbers(said)
    turn: dict[str, Any] = {
        "role": "customer",
        "text": said,
        "at": (message.received_at or _now()).isoformat(),
        "message_id": message.message_id,
    }
    orders = list(state.get("customer_orders") or [])
    earlier = " ".join(
        [str((state.get("thread") or {}).get("description") or "")]
        + [c["text"] for c in conversation if c["role"] == "customer"]
    )
    if meant := (
        chosen_candidate(decision, said)
        or other_candidate(decision, said, orders)
        or described_candidate(decision, said, orders, earlier)
    ):
        turn["means"] = meant
    conversation.append(turn)
    update["reply_to_id"] = message.message_id or state.get("reply_to_id")
    customer_turns = [
        f"{c['text']} ({c['means']})" if c.get("means") else c["text"]
        for c in conversation
        if c["role"] == "customer"
    ]
    if len(customer_turns) > settings.cs_thread_max_turns:
        update["thread_end"] = "turn_limit"
        update["decision"] = policy.hand_over(
            decision,
            "thread_turn_limit",
            f"after {settings.cs_thread_max_turns} messages a colleague takes this over",
        ).model_dump(mode="json")
        return update
    thread = state.get("thread") or {}
    before = [thread["description"]] if thread.get("description") else []
    text = "\n\n".join([*before, *customer_turns])
    problems, language = intake.problems_of(text, settings.max_message_chars)
    update.update(
        text=text,
        problems=problems,
        language=language,
        # a yes to a proposal, or to a question such as "cancel the whole order?"; it acts
        # only on writes our reply listed (policy.listed)
        confirmed=decision.outcome in ("confirm", "clarify") and is_confirmation(said),
        yes_for=yes_for(said) if decision.outcome == "confirm" else None,
        thread_end=None,
    )
    return update
