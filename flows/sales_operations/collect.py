"""Collecting the CRM's sales records in pages, incrementally since the last good run.

The watermark (per record type, the largest `updated_at` collected) lives in LangGraph's
cross-run store (`runtime.store`, namespace ``("sales_operations", <connector>)``) and is
saved only when a run succeeds with a complete collection; the records themselves go to the
snapshot table (snapshot.py) page by page. A run that fails part-way therefore leaves the
watermark where it was, and the next run collects the same changes again: the upserts by id
make that harmless.

A CRM that times out gets a few retries of the same page (the connector's contract says
that is safe); an outage that outlasts them ends the collection early with `problem` set.

Re-reading without rewriting. The CRM's `updated_since` is inclusive, so an incremental
read gets the records stamped exactly at the watermark again; after a bulk import, which
stamps every record alike, that is all of them, every run. Two rules keep a review with
nothing new cheap:

- A settled watermark is read past, not at: when the collection that found a watermark
  started reading `SETTLE` or more after it, the next read starts 1 microsecond after it.
  What the inclusive read would add is a record stamped at that very instant but
  committed after the read began, at least `SETTLE` later: a commit that late is missed
  just the same when stamped a microsecond earlier, so the bound loses nothing the
  watermark scheme ever guaranteed. A fresh watermark is still read inclusively.
- An incremental read writes only the rows that differ from the snapshot's copy
  (`Snapshot.upsert(skip_same=True)`), and `changed` counts those: a re-read of what the
  snapshot holds changes nothing, so the snapshot's revision stays and the later steps
  reuse their results (nodes.py).
"""

from __future__ import annotations

import asyncio
import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from connectors.errors import Transient
from connectors.schemas import (
    ListAccounts,
    ListActivities,
    ListAgents,
    ListContacts,
    ListOpportunities,
    ListProducts,
    PageRequest,
)
from flows.sales_operations.snapshot import ENTITIES, Snapshot

__all__ = ["WATERMARK_KEY", "Collection", "collect", "namespace"]

WATERMARK_KEY = "watermark"
PAGE_SIZE = 1000
PAGE_ATTEMPTS = 4
RETRY_DELAY_S = 0.1
SETTLE = dt.timedelta(seconds=2)
_TICK = dt.timedelta(microseconds=1)

_REQUESTS: dict[str, tuple[str, type[PageRequest]]] = {
    "products": ("list_products", ListProducts),
    "agents": ("list_agents", ListAgents),
    "accounts": ("list_accounts", ListAccounts),
    "contacts": ("list_contacts", ListContacts),
    "opportunities": ("list_opportunities", ListOpportunities),
    "activities": ("list_activities", ListActivities),
}


def namespace(connector: str) -> tuple[str, ...]:
    return ("sales_operations", connector)


@dataclass
class Collection:
    """What one collection read, and where it stopped if the CRM gave up."""

    mode: str
    since: dict[str, str]
    read: dict[str, int] = field(default_factory=dict)
    """Records read per type (an inclusive `updated_since` re-reads those at the watermark)."""
    changed: dict[str, int] = field(default_factory=dict)
    """Records per type that differ from the snapshot's copy: the real changes (all, when
    full)."""
    pages: int = 0
    watermark: dict[str, str] = field(default_factory=dict)
    settled: dict[str, bool] = field(default_factory=dict)
    """Per type, whether the watermark was `SETTLE` old when this collection began reading
    (the next collection then reads past it)."""
    problem: dict[str, Any] | None = None
    removed: dict[str, int] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {
            "mode": self.mode, "since": self.since, "read": self.read, "changed": self.changed,
            "pages": self.pages, "next_watermark": self.watermark, "settled": self.settled,
            "problem": self.problem, "removed": self.removed,
        }  # fmt: skip


async def _page(crm: Any, action: str, request: PageRequest) -> Any:
    """One page, retried a few times on a timeout (the same request is safe to repeat)."""
    for attempt in range(PAGE_ATTEMPTS):
        try:
            return await getattr(crm, action)(request)
        except Transient:
            if attempt == PAGE_ATTEMPTS - 1:
                raise
            await asyncio.sleep(RETRY_DELAY_S * 2**attempt)
    raise AssertionError("unreachable")


def _stamp(value: str) -> dt.datetime:
    stamp = dt.datetime.fromisoformat(value)
    return stamp if stamp.tzinfo else stamp.replace(tzinfo=dt.UTC)


async def _collect_one(
    crm: Any,
    snapshot: Snapshot,
    entity: str,
    since: str | None,
    settled: bool,
    seen: str,
    found: Collection,
) -> None:
    action, request_type = _REQUESTS[entity]
    start = None if since is None else _stamp(since) + (_TICK if settled else dt.timedelta())
    request = request_type(updated_since=start, page_size=PAGE_SIZE)  # type: ignore[arg-type]
    found.read[entity] = found.changed[entity] = 0
    began = dt.datetime.now(dt.UTC)
    while True:
        page = await _page(crm, action, request)
        found.changed[entity] += snapshot.upsert(
            entity, page.items, seen=seen, skip_same=since is not None
        )
        found.pages += 1
        found.read[entity] += len(page.items)
        if page.items:
            newest = max(item.updated_at for item in page.items).isoformat()
            found.watermark[entity] = max(newest, found.watermark.get(entity, newest))
        if page.next_cursor is None:
            break
        request = request.model_copy(update={"cursor": page.next_cursor})
    if entity in found.watermark:
        found.settled[entity] = began - _stamp(found.watermark[entity]) >= SETTLE


async def collect(
    crm: Any,
    snapshot: Snapshot,
    *,
    since: dict[str, str] | None,
    seen: str,
    settled: dict[str, bool] | None = None,
) -> Collection:
    """Read every record type changed since `since` (None: everything) into the snapshot;
    past a watermark that `settled` marks (module docstring), at it otherwise.

    A full collection (since None) also drops snapshot rows the CRM no longer returned.
    """
    found = Collection(mode="incremental" if since else "full", since=dict(since or {}))
    found.watermark = dict(since or {})
    marks, past = since or {}, settled or {}
    for entity in ENTITIES:
        try:
            await _collect_one(
                crm, snapshot, entity, marks.get(entity), past.get(entity, False), seen, found
            )
        except Transient as exc:
            found.problem = {
                "code": f"crm_{exc.code}",
                "message": f"the CRM timed out {PAGE_ATTEMPTS} times in a row while the flow "
                f"collected {entity} (after {found.read.get(entity, 0):,} of them, "
                f"{found.pages} pages in all): {exc.message}",
                "entity": entity,
                "pages_read": found.pages,
            }
            return found
    if since is None:
        found.removed = {e: snapshot.sweep(e, seen=seen) for e in ENTITIES}
    return found
