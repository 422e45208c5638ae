"""The helpdesk's change history: what each update found, so that it can be reverted.

An update is kept under its idempotency key with the ticket's fields before and after it.
Reverting puts the fields back, provided nobody changed them since (else `Conflict`): the
undo of `update_ticket` in a rollback, newest change first.
"""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

from pydantic import BaseModel, Field
from sqlmodel import Field as Column
from sqlmodel import Session, SQLModel

from connectors.errors import Conflict, NotFound, Rejected
from connectors.sqltypes import UtcDateTime
from connectors.ticketing._tickets import _flush
from connectors.ticketing.tables import TktTicket

__all__ = [
    "CHANGE_TABLES",
    "TicketRevert",
    "TktTicketChange",
    "fields_before",
    "record_update",
    "revert",
]

#: The fields an update may change (with the SLA and the timestamps that follow them).
_FIELDS = ("status", "priority", "category", "assignee", "tags_json", "sla_due_at", "solved_at")


class TicketRevert(BaseModel):
    """Put a ticket's fields back as they were before the update made under `change_key`."""

    ticket_id: str = Field(min_length=1)
    change_key: str = Field(min_length=1, description="the idempotency key of the update")


class TktTicketChange(SQLModel, table=True):
    __tablename__ = "tkt_ticket_changes"

    key: str = Column(primary_key=True, description="the update's idempotency key")
    ticket_id: str = Column(index=True)
    before_json: str
    after_json: str
    created_at: dt.datetime = Column(sa_type=UtcDateTime)
    reverted_at: dt.datetime | None = Column(default=None, sa_type=UtcDateTime)


CHANGE_TABLES = [TktTicketChange.__table__]  # type: ignore[attr-defined]


def _fields(row: TktTicket) -> dict[str, Any]:
    values = {name: getattr(row, name) for name in _FIELDS}
    for name in ("sla_due_at", "solved_at"):
        if values[name] is not None:
            values[name] = values[name].isoformat()
    return values


def _parse(values: dict[str, Any]) -> dict[str, Any]:
    parsed = dict(values)
    for name in ("sla_due_at", "solved_at"):
        if parsed[name] is not None:
            parsed[name] = dt.datetime.fromisoformat(parsed[name])
    return parsed


def fields_before(row: TktTicket) -> dict[str, Any]:
    """The fields an update may change, as they are now (call before changing them)."""
    return _fields(row)


def record_update(
    session: Session, key: str, row: TktTicket, before: dict[str, Any], now: dt.datetime
) -> None:
    session.add(
        TktTicketChange(
            key=key,
            ticket_id=row.id,
            before_json=json.dumps(before),
            after_json=json.dumps(_fields(row)),
            created_at=now,
        )
    )


def revert(session: Session, row: TktTicket, change_key: str, now: dt.datetime) -> TktTicket:
    change = session.get(TktTicketChange, change_key)
    if change is None or change.ticket_id != row.id:
        raise NotFound(f"ticket {row.id} has no update {change_key!r}", code="unknown_change")
    if change.reverted_at is not None:
        raise Rejected(f"update {change_key!r} was already reverted", code="invalid_state")
    if row.status == "closed":
        raise Rejected(f"ticket {row.id} is closed; open a new ticket", code="ticket_closed")
    if _fields(row) != json.loads(change.after_json):
        raise Conflict(
            f"ticket {row.id} was changed again since update {change_key!r}",
            code="ticket_changed",
        )
    for name, value in _parse(json.loads(change.before_json)).items():
        setattr(row, name, value)
    row.updated_at = now
    change.reverted_at = now
    session.add_all([row, change])
    _flush(session)
    return row
