"""The helpdesk's rules: the status workflow, the SLA clock, comments on open tickets."""

from __future__ import annotations

import datetime as dt
import json
import uuid

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm.exc import StaleDataError
from sqlmodel import Session, col, func, select

from connectors.errors import Conflict, NotFound, Rejected, Transient
from connectors.schemas import (
    SLA_TARGETS,
    TICKET_TRANSITIONS,
    Requester,
    Ticket,
    TicketComment,
    TicketCreate,
    TicketSearch,
    TicketUpdate,
)
from connectors.ticketing.tables import TktComment, TktTicket

__all__ = [
    "add_comment",
    "close",
    "create",
    "find",
    "load",
    "record",
    "remove_note",
    "update",
]


def _new_id(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10].upper()}"


def _flush(session: Session) -> None:
    try:
        session.flush()
    except StaleDataError as exc:
        raise Transient(
            "the ticket changed while this request was checked; read it again and retry",
            code="concurrent_update",
        ) from exc


def load(session: Session, ticket_id: str) -> TktTicket:
    row = session.get(TktTicket, ticket_id.strip())
    if row is None:
        raise NotFound(f"no ticket {ticket_id!r}", code="unknown_ticket")
    return row


def record(session: Session, row: TktTicket) -> Ticket:
    comments = session.exec(
        select(TktComment)
        .where(TktComment.ticket_id == row.id, col(TktComment.removed_at).is_(None))
        .order_by(col(TktComment.seq))
    ).all()
    return Ticket(
        id=row.id,
        subject=row.subject,
        description=row.description,
        status=row.status,  # type: ignore[arg-type]
        priority=row.priority,  # type: ignore[arg-type]
        category=row.category,
        channel=row.channel,  # type: ignore[arg-type]
        requester=Requester(
            customer_id=row.requester_customer_id,
            email=row.requester_email,
            name=row.requester_name,
        ),
        assignee=row.assignee,
        tags=json.loads(row.tags_json),
        sla_due_at=row.sla_due_at,
        external_ref=row.external_ref,
        created_at=row.created_at,
        updated_at=row.updated_at,
        solved_at=row.solved_at,
        closed_at=row.closed_at,
        comments=[
            TicketComment(
                id=c.id,
                visibility=c.visibility,  # type: ignore[arg-type]
                author=c.author,
                body=c.body,
                created_at=c.created_at,
            )
            for c in comments
        ],
    )


def _by_external_ref(session: Session, ref: str) -> TktTicket | None:
    return session.exec(select(TktTicket).where(TktTicket.external_ref == ref)).first()


def _duplicate(ref: str, ticket_id: str | None) -> Conflict:
    return Conflict(
        f"ticket {ticket_id or '(being created)'} already exists for {ref!r}",
        code="duplicate_ticket",
        ticket_id=ticket_id,
    )


def create(session: Session, request: TicketCreate, now: dt.datetime) -> TktTicket:
    if request.external_ref is not None:
        existing = _by_external_ref(session, request.external_ref)
        if existing is not None:
            raise _duplicate(request.external_ref, existing.id)
    row = TktTicket(
        id=_new_id("TKT"),
        subject=request.subject,
        description=request.description,
        status=request.status,
        priority=request.priority,
        category=request.category,
        channel=request.channel,
        requester_customer_id=request.requester.customer_id,
        requester_email=(request.requester.email or "").strip().lower() or None,
        requester_name=request.requester.name,
        assignee=request.assignee,
        tags_json=json.dumps(request.tags),
        sla_due_at=now + SLA_TARGETS[request.priority],
        external_ref=request.external_ref,
        created_at=now,
        updated_at=now,
    )
    session.add(row)
    try:
        session.flush()
    except IntegrityError as exc:  # a concurrent create took the external ref first
        raise _duplicate(request.external_ref or "", None) from exc
    return row


def _not_closed(row: TktTicket) -> None:
    if row.status == "closed":
        raise Rejected(f"ticket {row.id} is closed; open a new ticket", code="ticket_closed")


def _move(row: TktTicket, status: str, now: dt.datetime) -> None:
    if status == row.status:
        return
    if status not in TICKET_TRANSITIONS[row.status]:
        allowed = ", ".join(sorted(TICKET_TRANSITIONS[row.status])) or "nothing"
        raise Rejected(
            f"ticket {row.id} cannot go from {row.status} to {status} (allowed: {allowed})",
            code="invalid_transition",
        )
    row.status = status
    if status == "solved":
        row.solved_at = now
    elif status == "closed":
        row.closed_at = now
    else:
        row.solved_at = None


def update(session: Session, row: TktTicket, request: TicketUpdate, now: dt.datetime) -> TktTicket:
    _not_closed(row)
    if request.assignee is not None and request.unassign:
        raise Rejected("give an assignee or unassign, not both", code="invalid_request")
    if request.status is not None:
        _move(row, request.status, now)
    if request.priority is not None and request.priority != row.priority:
        row.priority = request.priority
        row.sla_due_at = row.created_at + SLA_TARGETS[request.priority]
    if request.category is not None:
        row.category = request.category
    if request.assignee is not None:
        row.assignee = request.assignee
    if request.unassign:
        row.assignee = None
    if request.tags is not None:
        row.tags_json = json.dumps(request.tags)
    row.updated_at = now
    session.add(row)
    _flush(session)
    return row


def close(session: Session, row: TktTicket, reason: str, now: dt.datetime) -> TktTicket:
    _not_closed(row)
    _insert_comment(session, row, "internal", "bpa", f"Closed: {reason}", now)
    row.status = "closed"
    row.closed_at = now
    row.updated_at = now
    session.add(row)
    _flush(session)
    return row


def _insert_comment(
    session: Session, row: TktTicket, visibility: str, author: str, body: str, now: dt.datetime
) -> TktComment:
    last = session.exec(
        select(func.max(TktComment.seq)).where(TktComment.ticket_id == row.id)
    ).one()
    comment = TktComment(
        id=_new_id("CMT"),
        ticket_id=row.id,
        seq=(last if last is not None else 0) + 1,
        visibility=visibility,
        author=author,
        body=body,
        created_at=now,
    )
    session.add(comment)
    return comment


def add_comment(
    session: Session, row: TktTicket, visibility: str, author: str, body: str, now: dt.datetime
) -> TktTicket:
    """A note or a reply; the ticket's ``updated_at`` moves, so lists show it as active."""
    _not_closed(row)
    _insert_comment(session, row, visibility, author, body, now)
    row.updated_at = now
    session.add(row)
    _flush(session)
    return row


def remove_note(session: Session, row: TktTicket, comment_id: str, now: dt.datetime) -> TktTicket:
    comment = session.get(TktComment, comment_id)
    if comment is None or comment.ticket_id != row.id or comment.removed_at is not None:
        raise NotFound(f"ticket {row.id} has no note {comment_id!r}", code="unknown_comment")
    if comment.visibility != "internal":
        raise Rejected(
            "a reply the customer has seen cannot be removed", code="reply_not_removable"
        )
    _not_closed(row)
    comment.removed_at = now
    row.updated_at = now
    session.add_all([comment, row])
    _flush(session)
    return row


def find(session: Session, request: TicketSearch) -> list[TktTicket]:
    query = select(TktTicket)
    if request.requester_customer_id is not None:
        query = query.where(TktTicket.requester_customer_id == request.requester_customer_id)
    if request.requester_email is not None:
        query = query.where(TktTicket.requester_email == request.requester_email.strip().lower())
    if request.statuses is not None:
        query = query.where(col(TktTicket.status).in_(request.statuses))
    if request.category is not None:
        query = query.where(TktTicket.category == request.category)
    if request.assignee is not None:
        query = query.where(TktTicket.assignee == request.assignee)
    if request.external_ref is not None:
        query = query.where(TktTicket.external_ref == request.external_ref)
    if request.tag is not None:
        tag = json.dumps(request.tag.strip().lower())
        query = query.where(col(TktTicket.tags_json).contains(tag))
    query = query.order_by(col(TktTicket.updated_at).desc(), col(TktTicket.id)).limit(request.limit)
    return list(session.exec(query).all())
