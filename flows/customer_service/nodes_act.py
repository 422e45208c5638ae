"""The flow's acting half: open the ticket, ask for approval, make the CRM changes, note them.

Every write goes through a connector with a key from `RunContext.idempotency_key`, so a
retried node or a resumed run repeats nothing. A refusal by a system is recorded and the
request goes to a person; it never ends the run with an unexplained error.
"""

from __future__ import annotations

import json
from typing import Any

from langgraph.runtime import Runtime
from langgraph.types import interrupt

from bpa.review import ReviewQuestion
from bpa.runs.context import RunContext
from connectors.errors import AuthError, Conflict, ConnectorError, Transient, Unavailable
from connectors.kinds import CRMConnector, TicketingConnector
from connectors.schemas import (
    OrderRef,
    Requester,
    TicketCommentCreate,
    TicketCreate,
    TicketRef,
    TicketUpdate,
)
from flows.customer_service import intake, policy
from flows.customer_service.schemas import Decision
from flows.customer_service.state import CSState
from flows.customer_service.threads import CUSTOMER_NOTE, turn_key

Ctx = Runtime[RunContext]

_ANONYMOUS = "unknown-sender@customers.invalid"
_DESCRIPTION_CHARS = 20_000


def decision_of(state: CSState) -> Decision:
    return Decision.model_validate(state["decision"])


def _requester(state: CSState) -> Requester:
    """The customer, or else the sender's address only when the channel vouches for it: an
    address a stranger claimed is not put on the ticket as if they owned it."""
    customer = state.get("customer") or {}
    sender = state.get("sender") or {}
    vouched = bool((state.get("auth") or {}).get("channel_verified"))
    email = customer.get("email") or (sender.get("email") if vouched else None)
    return Requester(
        customer_id=customer.get("id"),
        email=email if email or customer.get("id") else _ANONYMOUS,
        name=customer.get("name") or sender.get("name"),
    )


def ticket_tags(state: CSState, decision: Decision) -> list[str]:
    intent = (state.get("intent") or {}).get("label", "other")
    return [
        f"intent:{intent}",
        f"outcome:{decision.outcome}",
        f"reason:{decision.reason}",
        *(f"problem:{p}" for p in state.get("problems") or []),
    ]


async def open_ticket(state: CSState, runtime: Ctx) -> dict[str, Any]:
    """Creates the ticket (external_ref = the message id, so a repeat finds it), or reopens
    the ticket this message answers (a later turn of the run's conversation, or a ticket
    found by `in_reply_to`). Writes `ticket`."""
    ctx = runtime.context
    ticketing = ctx.connector(TicketingConnector)
    decision = decision_of(state)
    thread = state.get("ticket") or state.get("thread")
    if thread:
        ticket = await ticketing.get_ticket(TicketRef(ticket_id=thread["id"]))
        if ticket.status == "pending_customer":
            ticket = await ticketing.update_ticket(
                TicketUpdate(ticket_id=ticket.id, status="open"),
                idempotency_key=turn_key(ctx, state, "open_ticket", "update_ticket", "reopen"),
            )
        new_message = state.get("thread") and not state.get("ticket")
        if new_message and (said := intake.own_words(state.get("body") or "").strip()):
            # an answer that came as a new message: kept on the ticket for the next one
            ticket = await ticketing.add_note(
                TicketCommentCreate(
                    ticket_id=ticket.id, body=said[:_DESCRIPTION_CHARS], author=CUSTOMER_NOTE
                ),
                idempotency_key=turn_key(ctx, state, "open_ticket", "add_note", "answer"),
            )
        return {"ticket": ticket.model_dump(mode="json")}
    text = state.get("text") or ""
    description = text[:_DESCRIPTION_CHARS]
    if len(text) > _DESCRIPTION_CHARS:
        description += f"\n\n[message cut: {len(text):,} characters in all; see the run's input]"
    subject = " ".join((state.get("subject") or text[:80] or "(no subject)").split())[:300]
    request = TicketCreate(
        subject=subject or "(no subject)",
        description=description,
        requester=_requester(state),
        channel=state.get("channel", "email"),  # type: ignore[arg-type]
        priority=decision.priority,
        category=decision.category,
        tags=ticket_tags(state, decision),
        status="open",
        external_ref=state.get("message_id"),
    )
    try:
        ticket = await ticketing.create_ticket(
            request, idempotency_key=turn_key(ctx, state, "open_ticket", "create_ticket")
        )
    except Conflict as exc:  # the same message came in through another run
        ticket = await ticketing.get_ticket(TicketRef(ticket_id=exc.details["ticket_id"]))
    return {"ticket": ticket.model_dump(mode="json")}


async def request_approval(state: CSState, runtime: Ctx) -> dict[str, Any]:
    """Asks a person to approve refunds above the threshold; writes `review` and, when
    rejected, a `decision` that hands the request to a person instead of acting."""
    decision = decision_of(state)
    customer = state.get("customer") or {}
    question = ReviewQuestion(
        kind="refund_approval",
        title=f"Refund of {decision.refund_total} to {customer.get('name', 'a customer')}",
        reasons=[
            f"refund {decision.refund_total} is above the approval threshold "
            f"{decision.approval_threshold}"
        ],
        details={
            "ticket_id": (state.get("ticket") or {}).get("id"),
            "customer_id": customer.get("id"),
            "actions": [a.model_dump(mode="json") for a in decision.actions],
            "message": (state.get("text") or "")[:4000],
        },
        actions=["approve", "reject"],
    )
    answer = interrupt(question.model_dump(mode="json"))
    if answer.get("action") == "approve":
        return {"review": answer}
    declined = policy.hand_over(
        decision,
        "refund_not_approved",
        "a colleague needs to look at this refund before we go ahead",
    )
    return {"review": answer, "decision": declined.model_dump(mode="json")}


def _done(action: dict[str, Any]) -> str:
    """A change, as the same change planned again in a later turn would be."""
    return json.dumps([action.get("action"), action.get("request")], sort_keys=True, default=str)


def _result(record: Any) -> dict[str, Any]:
    data = record.model_dump(mode="json")
    keep = (
        "id",
        "customer_id",
        "status",
        "total",
        "items",
        "payment_history",
        "fulfilments",
        "address",
        "cancel_reason",
        "return_request",
        "exchange_request",
    )
    return {k: data[k] for k in keep if k in data}


async def _already_so(crm: Any, action: str, request: dict[str, Any]) -> Any | None:
    """The order, when the CRM refused a change because the order is already as asked: a
    cancellation of a cancelled order, a payment moved to the method it is paid with now
    (the customer confirmed again, in a later run of the thread, what was done before).
    None for any other refusal."""
    order_id = request.get("order_id")
    if action not in ("cancel_order", "modify_order_payment") or not order_id:
        return None
    try:
        order = await crm.get_order(OrderRef(order_id=order_id))
    except ConnectorError:
        return None
    if action == "cancel_order":
        return order if order.status == "cancelled" else None
    payments = [t for t in order.payment_history if t.transaction_type == "payment"]
    wanted = request.get("payment_method_id")
    return order if payments and payments[-1].payment_method_id == wanted else None


async def perform_actions(state: CSState, runtime: Ctx) -> dict[str, Any]:
    """Makes the CRM writes the policy decided (each with its own key) and records each
    result; a refusal hands that request to a person. Writes `actions`, `decision`."""
    ctx = runtime.context
    crm = ctx.connector(CRMConnector)
    decision = decision_of(state)
    records: list[dict[str, Any]] = []
    refused_orders: set[str | None] = set()
    done = {_done(a) for a in state.get("actions") or [] if a.get("ok")}
    for number, planned in enumerate(decision.actions):
        if _done(planned.model_dump(mode="json")) in done:
            continue  # an earlier turn of the conversation made this change
        key = turn_key(
            ctx,
            state,
            "perform_actions",
            planned.action,
            str(number),
            planned.order_id or "customer",
        )
        record: dict[str, Any] = {
            "connector": "crm",
            "action": planned.action,
            "order_id": planned.order_id,
            "request": planned.request,
            "summary": planned.summary,
            "refund": str(planned.refund),
            "idempotency_key": key,
        }
        if planned.order_id in refused_orders:  # the rest of a refused change waits too
            record.update(
                ok=False,
                error={"code": "skipped", "message": "an earlier change to this order was refused"},
            )
            records.append(record)
            continue
        try:
            result = await getattr(crm, planned.action)(planned.request, idempotency_key=key)
        except (Transient, AuthError, Unavailable):
            raise
        except ConnectorError as exc:
            already = await _already_so(crm, planned.action, planned.request)
            if already is not None:  # an earlier turn (another run of the thread) made it
                record.update(ok=True, already=True, result=_result(already))
            else:
                record.update(ok=False, error={"code": exc.code, "message": exc.message})
                refused_orders.add(planned.order_id)
        else:
            record.update(ok=True, result=_result(result))
        records.append(record)
    failed = [r for r in records if not r["ok"]]
    update: dict[str, Any] = {"actions": records}
    if failed:
        first = failed[0]["error"]
        update["decision"] = policy.hand_over(
            decision,
            f"action_refused:{first['code']}",
            "our order system did not accept the change; a colleague will look into it",
            only_failed={r["summary"] for r in failed},
        ).model_dump(mode="json")
    return update


async def note_ticket(state: CSState, runtime: Ctx) -> dict[str, Any]:
    """Adds an internal note: how the customer was identified, what was decided and done."""
    ctx = runtime.context
    decision = decision_of(state)
    auth = state.get("auth") or {}
    lines = [
        f"Intent: {(state.get('intent') or {}).get('label')} "
        f"({(state.get('intent') or {}).get('confidence', 0):.2f})",
        f"Customer: {(state.get('customer') or {}).get('id') or 'not identified'}"
        f" (by {auth.get('method') or auth.get('problem') or 'n/a'})",
        f"Decision: {decision.outcome} - {decision.reason}: {decision.explanation}",
        *(f"Problem: {p}" for p in state.get("problems") or []),
        *(
            f"Request [{r.intent}] {r.outcome} ({r.reason}): {r.explanation}"
            for r in decision.requests
        ),
        *(
            f"Done: {a['summary']} -> {'ok' if a['ok'] else a['error']['code']}"
            for a in state.get("actions") or []
        ),
    ]
    review = state.get("review") or {}
    if review:
        lines.append(
            f"Approval: {review.get('action')} by {review.get('decided_by') or 'a reviewer'}"
        )
    ticket = await ctx.connector(TicketingConnector).add_note(
        TicketCommentCreate(
            ticket_id=(state.get("ticket") or {})["id"],
            body="\n".join(lines),
            author="bpa:customer_service",
        ),
        idempotency_key=turn_key(ctx, state, "note_ticket", "add_note"),
    )
    return {"ticket": ticket.model_dump(mode="json")}
