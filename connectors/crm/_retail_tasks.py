"""CRM tasks (shared by both halves) and a customer's activity history."""

from __future__ import annotations

import datetime as dt
import uuid

from sqlmodel import Session, col, select

from connectors.crm._retail_orders import flush
from connectors.crm._retail_tables import CrmActivity, CrmTask
from connectors.errors import Rejected
from connectors.schemas import CustomerActivityCreate, TaskCreate, TaskSearch

__all__ = ["close_task", "create_task", "delete_task", "find_tasks", "log", "new_id"]


def new_id(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:12].upper()}"


def create_task(session: Session, request: TaskCreate) -> CrmTask:
    row = CrmTask(id=new_id("TASK"), status="open", **request.model_dump())
    session.add(row)
    flush(session)
    return row


def close_task(session: Session, row: CrmTask, status: str, note: str) -> CrmTask:
    if row.status != "open":
        raise Rejected(f"task {row.id} is already {row.status}", code="invalid_status")
    row.status = status
    row.closed_at = dt.datetime.now(dt.UTC)
    row.close_note = note or None
    session.add(row)
    flush(session)
    return row


def delete_task(session: Session, row: CrmTask) -> CrmTask:
    if row.status == "done":
        raise Rejected(f"task {row.id} is done; a done task is kept", code="invalid_status")
    session.delete(row)
    flush(session)
    return row


def find_tasks(session: Session, request: TaskSearch) -> list[CrmTask]:
    query = select(CrmTask)
    if request.related_type is not None:
        query = query.where(CrmTask.related_type == request.related_type)
    if request.related_id is not None:
        query = query.where(CrmTask.related_id == request.related_id)
    if request.status is not None:
        query = query.where(CrmTask.status == request.status)
    if request.due_before is not None:
        query = query.where(col(CrmTask.due_at) < request.due_before)
    query = query.order_by(col(CrmTask.due_at), col(CrmTask.id)).limit(request.limit)
    return list(session.exec(query).all())


def log(session: Session, request: CustomerActivityCreate) -> CrmActivity:
    row = CrmActivity(id=new_id("ACT"), **request.model_dump())
    session.add(row)
    session.flush()
    return row
