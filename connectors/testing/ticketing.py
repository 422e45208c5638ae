"""The behaviour every ticketing connector shows, mocked or real (see `TicketingConnector`).

Everything the suite needs it creates through the connector, with fresh references, so it
can run against a shared helpdesk sandbox too.
"""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

import pytest

from connectors.base import Irreversible
from connectors.errors import Conflict, NotFound, Rejected
from connectors.kinds import TicketingConnector
from connectors.schemas import (
    SLA_TARGETS,
    TICKET_TRANSITIONS,
    CommentRef,
    Requester,
    Ticket,
    TicketClose,
    TicketCommentCreate,
    TicketCreate,
    TicketRef,
    TicketSearch,
    TicketUpdate,
)
from connectors.testing.suite import ConnectorTests, new_key, undo_call

__all__ = ["TicketingConnectorTests"]

_asyncio = pytest.mark.asyncio


def _ticket_request(**changes: Any) -> TicketCreate:
    fields: dict[str, Any] = {
        "subject": "Where is my order?",
        "description": "I ordered a lamp two weeks ago.",
        "requester": Requester(email=f"ct-{uuid.uuid4().hex[:8]}@example.com", name="Conformance"),
        "channel": "email",
        "priority": "normal",
        "category": "order_status",
        "tags": ["Conformance", "order status"],
        "external_ref": f"ct-{uuid.uuid4().hex}",
    }
    return TicketCreate(**(fields | changes))


class TicketingConnectorTests(ConnectorTests):
    """Workflow, SLA, notes and replies, idempotency and compensation of a helpdesk."""

    def test_is_a_helpdesk_with_its_compensations(self) -> None:
        assert issubclass(self.connector_class, TicketingConnector)
        specs = self.connector_class.action_specs()
        assert specs["create_ticket"].undo == "close_ticket"
        assert specs["add_note"].undo == "remove_note"
        assert isinstance(specs["add_reply"].undo, Irreversible)
        assert not specs["get_ticket"].side_effect and not specs["find_tickets"].side_effect

    async def _create(self, connector: Any, **changes: Any) -> Ticket:
        ticket: Ticket = await connector.create_ticket(
            _ticket_request(**changes), idempotency_key=new_key()
        )
        return ticket

    async def _update(self, connector: Any, ticket: Ticket, **changes: Any) -> Ticket:
        request = TicketUpdate(ticket_id=ticket.id, **changes)
        updated: Ticket = await connector.update_ticket(request, idempotency_key=new_key())
        return updated

    @_asyncio
    async def test_a_new_ticket_has_its_sla_from_the_priority(self, connector: Any) -> None:
        before = dt.datetime.now(dt.UTC) - dt.timedelta(seconds=5)
        ticket = await self._create(connector, priority="high")
        assert ticket.status == "new" and ticket.priority == "high"
        assert ticket.tags == ["conformance", "order_status"]
        assert ticket.sla_due_at - ticket.created_at == SLA_TARGETS["high"]
        assert ticket.created_at >= before
        assert await connector.get_ticket(TicketRef(ticket_id=ticket.id)) == ticket

    @_asyncio
    async def test_the_same_key_replays_and_the_same_source_conflicts(self, connector: Any) -> None:
        request, key = _ticket_request(), new_key()
        first = await connector.create_ticket(request, idempotency_key=key)
        assert await connector.create_ticket(request, idempotency_key=key) == first
        with pytest.raises(Conflict) as refused:
            await connector.create_ticket(request, idempotency_key=new_key())
        assert refused.value.code == "duplicate_ticket"
        assert refused.value.details.get("ticket_id") == first.id
        found = await connector.find_tickets(TicketSearch(external_ref=request.external_ref))
        assert [t.id for t in found] == [first.id]

    @_asyncio
    async def test_a_requester_is_needed(self, connector: Any) -> None:
        bad = _ticket_request().model_dump() | {"requester": {"name": "Nobody"}}
        with pytest.raises(Rejected) as refused:
            await connector.create_ticket(bad, idempotency_key=new_key())
        assert refused.value.code == "invalid_request"

    @_asyncio
    async def test_the_status_follows_the_workflow(self, connector: Any) -> None:
        ticket = await self._create(connector)
        for status in ("open", "pending_customer", "open", "solved"):
            ticket = await self._update(connector, ticket, status=status)
            assert ticket.status == status
        assert ticket.solved_at is not None
        ticket = await self._update(connector, ticket, status="open")
        assert ticket.solved_at is None, "reopening clears the solved time"
        with pytest.raises(Rejected) as refused:
            await self._update(connector, ticket, status="closed")
        assert refused.value.code == "invalid_transition"
        assert "closed" not in TICKET_TRANSITIONS["open"]
        ticket = await self._update(connector, ticket, status="solved")
        ticket = await self._update(connector, ticket, status="closed")
        assert ticket.closed_at is not None
        with pytest.raises(Rejected) as refused:
            await self._update(connector, ticket, priority="low")
        assert refused.value.code == "ticket_closed"

    @_asyncio
    async def test_priority_moves_the_sla_and_an_update_is_undone_by_another(
        self, connector: Any
    ) -> None:
        ticket = await self._create(connector, priority="low")
        changed = await self._update(
            connector, ticket, priority="urgent", assignee="agent-7", tags=["vip"]
        )
        assert changed.sla_due_at == changed.created_at + SLA_TARGETS["urgent"]
        assert (changed.assignee, changed.tags) == ("agent-7", ["vip"])
        assert await connector.find_tickets(TicketSearch(tag="vip", assignee="agent-7")) == [
            changed
        ]
        undone = await self._update(
            connector, changed, priority="low", unassign=True, tags=ticket.tags
        )
        assert (undone.priority, undone.assignee, undone.tags) == ("low", None, ticket.tags)
        assert undone.sla_due_at == ticket.sla_due_at

    @_asyncio
    async def test_declared_undos_revert_an_update_remove_a_note_and_close_a_ticket(
        self, connector: Any
    ) -> None:
        request = _ticket_request(priority="low")
        key = new_key()
        ticket = await connector.create_ticket(request, idempotency_key=key)
        update = TicketUpdate(ticket_id=ticket.id, priority="urgent", assignee="a-1", tags=["x"])
        update_key = new_key()
        changed = await connector.update_ticket(update, idempotency_key=update_key)
        note = TicketCommentCreate(ticket_id=ticket.id, body="to be withdrawn")
        note_key = new_key()
        noted = await connector.add_note(note, idempotency_key=note_key)
        await undo_call(connector, "add_note", note, noted, note_key)
        reverted = await undo_call(connector, "update_ticket", update, changed, update_key)
        assert reverted.comments == ticket.comments
        keep = ("status", "priority", "assignee", "tags", "sla_due_at", "category")
        assert reverted.model_dump(include=set(keep)) == ticket.model_dump(include=set(keep))
        closed = await undo_call(connector, "create_ticket", request, ticket, key)
        assert closed.status == "closed"

    @_asyncio
    async def test_notes_are_internal_replies_public_and_only_notes_come_back(
        self, connector: Any
    ) -> None:
        ticket = await self._create(connector)
        noted = await connector.add_note(
            TicketCommentCreate(ticket_id=ticket.id, body="Checked the order: shipped."),
            idempotency_key=new_key(),
        )
        note = noted.comments[-1]
        assert (note.visibility, note.body) == ("internal", "Checked the order: shipped.")
        replied = await connector.add_reply(
            TicketCommentCreate(ticket_id=ticket.id, body="Your order is on its way."),
            idempotency_key=new_key(),
        )
        reply = replied.comments[-1]
        assert reply.visibility == "public"
        assert [c.id for c in replied.comments] == [note.id, reply.id]
        with pytest.raises(Rejected) as refused:
            await connector.remove_note(
                CommentRef(ticket_id=ticket.id, comment_id=reply.id), idempotency_key=new_key()
            )
        assert refused.value.code == "reply_not_removable"
        removed = await connector.remove_note(
            CommentRef(ticket_id=ticket.id, comment_id=note.id), idempotency_key=new_key()
        )
        assert [c.id for c in removed.comments] == [reply.id]
        with pytest.raises(NotFound):
            await connector.remove_note(
                CommentRef(ticket_id=ticket.id, comment_id=note.id), idempotency_key=new_key()
            )

    @_asyncio
    async def test_closing_undoes_a_ticket_and_nothing_is_added_after(self, connector: Any) -> None:
        ticket = await self._create(connector)
        closed = await connector.close_ticket(
            TicketClose(ticket_id=ticket.id, reason="opened by mistake"),
            idempotency_key=new_key(),
        )
        assert closed.status == "closed" and "opened by mistake" in closed.comments[-1].body
        for call in (connector.add_note, connector.add_reply):
            with pytest.raises(Rejected) as refused:
                await call(
                    TicketCommentCreate(ticket_id=ticket.id, body="late"),
                    idempotency_key=new_key(),
                )
            assert refused.value.code == "ticket_closed"
        with pytest.raises(Rejected):
            await connector.close_ticket(
                TicketClose(ticket_id=ticket.id, reason="again"), idempotency_key=new_key()
            )

    @_asyncio
    async def test_tickets_are_found_by_requester_and_status(self, connector: Any) -> None:
        customer = f"cust-{uuid.uuid4().hex[:8]}"
        first = await self._create(connector, requester=Requester(customer_id=customer))
        second = await self._create(
            connector, requester=Requester(customer_id=customer, email="A.B@Example.com")
        )
        await self._update(connector, first, status="solved")
        mine = await connector.find_tickets(TicketSearch(requester_customer_id=customer))
        assert {t.id for t in mine} == {first.id, second.id}
        assert mine[0].id == first.id, "most recently updated first"
        open_ones = await connector.find_tickets(
            TicketSearch(requester_customer_id=customer, statuses=["new", "open"])
        )
        assert [t.id for t in open_ones] == [second.id]
        by_mail = await connector.find_tickets(TicketSearch(requester_email="a.b@example.com"))
        assert second.id in [t.id for t in by_mail]
        with pytest.raises(NotFound):
            await connector.get_ticket(TicketRef(ticket_id=f"missing-{uuid.uuid4().hex}"))
