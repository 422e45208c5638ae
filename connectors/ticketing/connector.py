"""The mocked helpdesk: tickets, notes and replies in SQL, behind the ticketing kind.

It enforces what a real helpdesk enforces (the status workflow, no changes to a closed
ticket, one ticket per source message), so flows meet those refusals in tests.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import Engine, func
from sqlmodel import Session, SQLModel, col, select

from connectors.base import Done, Irreversible, Undo, action
from connectors.kinds import TicketingConnector
from connectors.schemas import (
    CommentRef,
    Ticket,
    TicketClose,
    TicketCommentCreate,
    TicketCreate,
    TicketRef,
    TicketSearch,
    TicketUpdate,
)
from connectors.sql import IdempotencyRecord, SqlConnectorMixin
from connectors.ticketing import _changes, _tickets
from connectors.ticketing._changes import TicketRevert
from connectors.ticketing.tables import TICKET_TABLES, TktTicket

__all__ = ["MockTicketingConnector", "TicketRevert", "TicketingConfig"]


class TicketingConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    database_url: str = Field(description="SQLAlchemy URL; the tkt_* tables are created here")


def _utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def _close(done: Done[TicketCreate, Ticket]) -> TicketClose:
    return TicketClose(ticket_id=done.result.id, reason=done.reason)


def _revert(done: Done[TicketUpdate, Ticket]) -> TicketRevert:
    return TicketRevert(ticket_id=done.result.id, change_key=done.idempotency_key)


def _remove_note(done: Done[TicketCommentCreate, Ticket]) -> CommentRef:
    """The note `add_note` added is the last comment of the ticket it returned."""
    return CommentRef(ticket_id=done.result.id, comment_id=done.result.comments[-1].id)


class MockTicketingConnector(SqlConnectorMixin, TicketingConnector):
    """Tickets with a workflow and SLA due times, internal notes and public replies."""

    name = "ticketing"
    config_model = TicketingConfig

    def __init__(
        self,
        config: dict[str, Any] | TicketingConfig,
        *,
        clock: Callable[[], dt.datetime] = _utcnow,
        engine: Engine | None = None,
    ) -> None:
        self.config = TicketingConfig.model_validate(config)
        self._now = clock
        self.use_engine(self.config.database_url, engine)
        SQLModel.metadata.create_all(
            self.engine,
            tables=[
                *TICKET_TABLES,
                *_changes.CHANGE_TABLES,
                IdempotencyRecord.__table__,  # type: ignore[attr-defined]
            ],
        )

    # Reads

    @action()
    async def get_ticket(self, request: TicketRef) -> Ticket:
        """One ticket with its notes and replies, oldest first."""
        with self.session() as session:
            return _tickets.record(session, _tickets.load(session, request.ticket_id))

    @action()
    async def find_tickets(self, request: TicketSearch) -> list[Ticket]:
        """Tickets by requester, status, category, tag, assignee or source reference."""
        with self.session() as session:
            return [_tickets.record(session, row) for row in _tickets.find(session, request)]

    # Writes

    @action(side_effect=True, undo=Undo("close_ticket", _close))
    async def create_ticket(self, request: TicketCreate, *, idempotency_key: str) -> Ticket:
        """Open a ticket; its SLA due time follows from the priority."""
        with self.session() as session:
            row = _tickets.create(session, request, self._now())
            return _tickets.record(session, row)

    @action(side_effect=True, undo=Undo("revert_ticket_update", _revert))
    async def update_ticket(self, request: TicketUpdate, *, idempotency_key: str) -> Ticket:
        """Move a ticket along its workflow, re-prioritise, assign or re-tag it (kept in the
        ticket's history under the key, so that `revert_ticket_update` can undo it)."""
        now = self._now()
        with self.session() as session:
            row = _tickets.load(session, request.ticket_id)
            before = _changes.fields_before(row)
            row = _tickets.update(session, row, request, now)
            _changes.record_update(session, idempotency_key, row, before, now)
            return _tickets.record(session, row)

    @action(
        side_effect=True,
        undo=Irreversible("a reverted update is redone by updating the ticket again"),
    )
    async def revert_ticket_update(self, request: TicketRevert, *, idempotency_key: str) -> Ticket:
        """Put back the fields an update changed (status, priority, category, assignee, tags,
        SLA), unless they were changed again since: the compensation of update_ticket."""
        with self.session() as session:
            row = _tickets.load(session, request.ticket_id)
            row = _changes.revert(session, row, request.change_key, self._now())
            return _tickets.record(session, row)

    @action(side_effect=True, undo=Irreversible("a closed ticket is final; open a follow-up"))
    async def close_ticket(self, request: TicketClose, *, idempotency_key: str) -> Ticket:
        """Close a ticket from any status, with the reason as an internal note."""
        with self.session() as session:
            row = _tickets.load(session, request.ticket_id)
            row = _tickets.close(session, row, request.reason, self._now())
            return _tickets.record(session, row)

    @action(side_effect=True, undo=Undo("remove_note", _remove_note))
    async def add_note(self, request: TicketCommentCreate, *, idempotency_key: str) -> Ticket:
        """Add an internal note (agents only); the new note is the ticket's last comment."""
        return self._comment(request, "internal")

    @action(
        side_effect=True, undo=Irreversible("the note stays in the audit trail, marked removed")
    )
    async def remove_note(self, request: CommentRef, *, idempotency_key: str) -> Ticket:
        """Withdraw an internal note (the compensation of add_note); replies cannot be."""
        with self.session() as session:
            row = _tickets.load(session, request.ticket_id)
            row = _tickets.remove_note(session, row, request.comment_id, self._now())
            return _tickets.record(session, row)

    @action(
        side_effect=True, undo=Irreversible("the customer has seen the reply; send a correction")
    )
    async def add_reply(self, request: TicketCommentCreate, *, idempotency_key: str) -> Ticket:
        """Add a reply the customer sees (the chat channel's answer); it is the last comment."""
        return self._comment(request, "public")

    def _comment(self, request: TicketCommentCreate, visibility: str) -> Ticket:
        with self.session() as session:
            row = _tickets.load(session, request.ticket_id)
            row = _tickets.add_comment(
                session, row, visibility, request.author, request.body, self._now()
            )
            return _tickets.record(session, row)

    async def health(self) -> dict[str, Any]:
        """Ticket counts by status, and how many open ones are past their SLA."""
        with Session(self.engine) as session:
            by_status = dict(
                session.exec(
                    select(TktTicket.status, func.count()).group_by(col(TktTicket.status))
                ).all()
            )
            overdue = session.exec(
                select(func.count())
                .select_from(TktTicket)
                .where(
                    col(TktTicket.status).not_in(["solved", "closed"]),
                    col(TktTicket.sla_due_at) < self._now(),
                )
            ).one()
            return {"ok": True, "tickets": by_status, "overdue": overdue}
