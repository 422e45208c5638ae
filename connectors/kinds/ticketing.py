"""A helpdesk: tickets that move through a status workflow under an SLA."""

from __future__ import annotations

from abc import abstractmethod
from typing import ClassVar

from connectors.base import Connector
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

__all__ = ["TicketingConnector"]


class TicketingConnector(Connector):
    """Tickets for customer requests, with internal notes and customer-visible replies.

    Action contracts (every implementation keeps them):

    - ``create_ticket`` needs a requester (a customer id or an e-mail address; `Rejected`,
      code ``invalid_request``) and sets ``sla_due_at`` from the priority (`SLA_TARGETS`).
      Its ``external_ref`` is unique: a second ticket with the same one is a `Conflict`,
      code ``duplicate_ticket``, carrying ``ticket_id`` of the first.
    - ``update_ticket`` moves the status only along `TICKET_TRANSITIONS` (`Rejected`, code
      ``invalid_transition``); a closed ticket takes no change at all (``ticket_closed``).
      Changing the priority moves the SLA due time. ``close_ticket`` closes from any open
      status and records the reason as an internal note.
    - ``add_note`` (internal) is undone by ``remove_note``; ``add_reply`` is what the
      customer sees and cannot be taken back. Neither works on a closed ticket.
    - An unknown ticket or comment is `NotFound` (codes ``unknown_ticket``, ``unknown_comment``).
    """

    kind: ClassVar[str] = "ticketing"

    # Reads

    @abstractmethod
    async def get_ticket(self, request: TicketRef) -> Ticket: ...

    @abstractmethod
    async def find_tickets(self, request: TicketSearch) -> list[Ticket]: ...

    # Writes (called with idempotency_key=...)

    @abstractmethod
    async def create_ticket(self, request: TicketCreate, *, idempotency_key: str) -> Ticket: ...

    @abstractmethod
    async def update_ticket(self, request: TicketUpdate, *, idempotency_key: str) -> Ticket: ...

    @abstractmethod
    async def close_ticket(self, request: TicketClose, *, idempotency_key: str) -> Ticket: ...

    @abstractmethod
    async def add_note(self, request: TicketCommentCreate, *, idempotency_key: str) -> Ticket: ...

    @abstractmethod
    async def remove_note(self, request: CommentRef, *, idempotency_key: str) -> Ticket: ...

    @abstractmethod
    async def add_reply(self, request: TicketCommentCreate, *, idempotency_key: str) -> Ticket: ...
