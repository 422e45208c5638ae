"""The flow's answering half: write the reply, deliver it, set the ticket, follow up.

The reply is written from the run's facts only (facts.py) and checked before it goes out;
every delivery and update goes through a connector with the run's idempotency key.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from langgraph.runtime import Runtime

from bpa.runs.context import RunContext
from connectors.errors import Rejected
from connectors.kinds import CRMConnector, MessagingConnector, TicketingConnector
from connectors.schemas import EmailSend, TaskCreate, TicketCommentCreate, TicketUpdate
from flows.customer_service import facts as reply_facts
from flows.customer_service import policy
from flows.customer_service.nodes_act import decision_of, ticket_tags
from flows.customer_service.schemas import Decision
from flows.customer_service.state import CSState
from flows.customer_service.tasks import REPLIES
from flows.customer_service.threads import turn_key

Ctx = Runtime[RunContext]


async def generate_reply(state: CSState, runtime: Ctx) -> dict[str, Any]:
    """Writes `reply` from the run's facts only; a generated reply that states a fact the
    facts do not hold is replaced by the outcome's template (and `reply_check` says why)."""
    decision = decision_of(state)
    task = REPLIES[decision.outcome]
    facts = reply_facts.reply_facts(dict(state))
    generated = await runtime.context.models.generate(task, facts=facts)
    text, wrong = generated.text.strip(), reply_facts.unsupported(generated.text, facts)
    if wrong and task.offline_template:
        text = task.prompts.render(task.offline_template, facts=facts).text.strip()
    text = _listing_proposals(text, decision)
    subject = " ".join((state.get("subject") or "").split())
    subject = f"Re: {subject}"[:200] if subject else "Your message to customer service"
    return {"reply": text, "reply_subject": subject, "reply_check": wrong}


def _listing_proposals(text: str, decision: Decision) -> str:
    """The reply with every write we ask the customer to confirm spelled out as it will be
    made: a model's wording may leave details out, and a "yes" acts only on writes the reply
    listed (planner.confirmation)."""
    proposed = [a.summary for r in decision.requests if r.outcome == "confirm" for a in r.actions]
    missing = [summary for summary in proposed if summary not in text]
    if not missing:
        return text
    listed = "\n".join(f"- {summary}" for summary in missing)
    return f'{text}\n\nProposed, not done until you reply "yes":\n{listed}'


async def send_reply(state: CSState, runtime: Ctx) -> dict[str, Any]:
    """E-mails the reply to the sender (threaded to their message). A refused address is
    recorded as a failed delivery; the ticket still carries the reply."""
    ctx = runtime.context
    in_reply_to = state.get("reply_to_id") or state.get("message_id")
    ticket_id = (state.get("ticket") or {}).get("id", "")
    try:
        request = EmailSend(
            to=[state["sender"]["email"]],
            subject=state["reply_subject"],
            body=state["reply"],
            in_reply_to=in_reply_to if in_reply_to and in_reply_to.startswith("<") else None,
            headers={"X-BPA-Ticket": ticket_id, "X-BPA-Run": ctx.run_id},
        )
        sent = await ctx.connector(MessagingConnector).send_email(
            request, idempotency_key=turn_key(ctx, state, "send_reply", "send_email")
        )
    except (ValueError, Rejected) as exc:
        return {"delivery": {"channel": "email", "status": "failed", "error": str(exc)[:500]}}
    return {
        "delivery": {
            "channel": "email",
            "status": sent.status,
            "outbox_id": sent.id,
            "message_id": sent.message_id,
            "to": sent.to,
        }
    }


async def post_reply(state: CSState, runtime: Ctx) -> dict[str, Any]:
    """Adds the reply to the ticket as a public comment: the chat channel's answer, and the
    e-mail's record in the conversation."""
    ctx = runtime.context
    ticket = await ctx.connector(TicketingConnector).add_reply(
        TicketCommentCreate(
            ticket_id=(state.get("ticket") or {})["id"],
            body=state["reply"],
            author="bpa:customer_service",
        ),
        idempotency_key=turn_key(ctx, state, "post_reply", "add_reply"),
    )
    update: dict[str, Any] = {"ticket": ticket.model_dump(mode="json")}
    if state.get("delivery") is None:
        update["delivery"] = {
            "channel": state.get("channel"),
            "status": "posted",
            "ticket_id": ticket.id,
        }
    return update


async def set_ticket_status(state: CSState, runtime: Ctx) -> dict[str, Any]:
    """Moves the ticket to where the decision leaves it: solved, pending_customer or open."""
    ctx = runtime.context
    decision = decision_of(state)
    ticket = state["ticket"] or {}
    wanted = decision.ticket_status
    request = TicketUpdate(
        ticket_id=ticket["id"],
        status=wanted if wanted != ticket["status"] else None,
        priority=decision.priority,
        tags=ticket_tags(state, decision),
    )
    updated = await ctx.connector(TicketingConnector).update_ticket(
        request, idempotency_key=turn_key(ctx, state, "set_ticket_status", "update_ticket")
    )
    return {"ticket": updated.model_dump(mode="json")}


async def schedule_follow_up(state: CSState, runtime: Ctx) -> dict[str, Any]:
    """Creates a CRM task about the ticket, due in a few days; writes `follow_up`."""
    ctx = runtime.context
    decision = decision_of(state)
    ticket = state["ticket"] or {}
    purpose, days, priority = policy.follow_up_plan(decision, ctx.settings.follow_up_days)
    orders = sorted({o for r in decision.requests for o in r.order_ids})
    due = dt.datetime.now(dt.UTC).replace(microsecond=0) + dt.timedelta(days=days)
    task = await ctx.connector(CRMConnector).create_task(
        TaskCreate(
            subject=f"Follow up on ticket {ticket['id']}"[:200],
            description=f"{purpose}. Orders: {', '.join(orders) or 'none'}. "
            f"Outcome: {decision.outcome} ({decision.reason}).",
            due_at=due,
            related_type="ticket",
            related_id=ticket["id"],
            priority=priority,
        ),
        idempotency_key=turn_key(ctx, state, "schedule_follow_up", "create_task"),
    )
    return {
        "follow_up": {
            "task_id": task.id,
            "due_at": task.due_at.isoformat(),
            "subject": task.subject,
            "purpose": purpose,
            "order_ids": orders,
        }
    }
