"""Keyset pages over ``(updated_at, id)`` and the injectable mid-collection timeout.

A keyset cursor (the last row's sort key), not an offset: rows inserted or updated while a
caller pages move behind the cursor instead of shifting every later page, so nothing is
skipped, and each page is one indexed range scan however deep the caller is.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import json
from dataclasses import dataclass
from typing import Any, TypeVar

from pydantic import BaseModel
from sqlalchemy import ColumnElement, Table, literal, select, tuple_
from sqlmodel import Session

from connectors.errors import Rejected, Transient
from connectors.schemas import PageRequest

__all__ = ["PageFault", "decode_cursor", "encode_cursor", "read_page"]

R = TypeVar("R", bound=BaseModel)


def encode_cursor(updated_at: dt.datetime, record_id: str) -> str:
    body = json.dumps([updated_at.astimezone(dt.UTC).isoformat(), record_id])
    return base64.urlsafe_b64encode(body.encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[dt.datetime, str]:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        stamp, record_id = json.loads(raw)
        updated_at = dt.datetime.fromisoformat(stamp)
        if updated_at.tzinfo is None or not isinstance(record_id, str):
            raise ValueError("not a cursor")
    except (binascii.Error, ValueError, TypeError, UnicodeDecodeError) as exc:
        raise Rejected(
            "cursor was not issued by this CRM; start again without one", code="invalid_cursor"
        ) from exc
    return updated_at, record_id


def read_page(
    session: Session,
    table: Table,
    record: type[R],
    request: PageRequest,
    *where: ColumnElement[bool],
) -> tuple[list[R], str | None]:
    """One page of ``table`` as ``record``s and the cursor of the next page (None: last)."""
    stamp, key = table.c.updated_at, table.c.id
    query = select(table).where(*where)
    if request.updated_since is not None:
        query = query.where(stamp >= request.updated_since)
    if request.cursor is not None:
        after_stamp, after_key = decode_cursor(request.cursor)
        typed = tuple_(literal(after_stamp, stamp.type), literal(after_key, key.type))
        query = query.where(tuple_(stamp, key) > typed)
    limit = request.page_size
    query = query.order_by(stamp, key).limit(limit + 1)
    result = session.execute(query)
    names = list(result.keys())
    rows = result.all()
    # Plain dicts: validating from a Row mapping is several times slower.
    items = [record.model_validate(dict(zip(names, r, strict=True))) for r in rows[:limit]]
    more = len(rows) > limit
    last: Any = items[-1] if items else None
    return items, encode_cursor(last.updated_at, last.id) if more and last else None


@dataclass
class PageFault:
    """Makes list calls time out after ``after`` pages were served, ``times`` times in a row.

    The failure a sales-ops flow meets when a CRM gives up half-way through a long
    collection. ``times=1`` is a blip a retry gets past; a large ``times`` is an outage that
    outlasts the caller's retries. ``after=None`` never fails.
    """

    after: int | None = None
    times: int = 1
    served: int = 0
    failed: int = 0

    def before_page(self) -> None:
        if self.after is None or self.served < self.after or self.failed >= self.times:
            return
        self.failed += 1
        raise Transient(
            f"CRM timed out after serving {self.served} page(s)",
            code="timeout",
            pages_served=self.served,
        )

    def after_page(self) -> None:
        self.served += 1
