"""Collecting the CRM's sales records in pages, incrementally since the last good run.

The watermark (per record type, the largest `updated_at` collected) lives in LangGraph's
cross-run store (`runtime.store`, namespace ``("sales_operations", <connector>)``) and is
saved only when a run succeeds with a complete collection; the records themselves go to the
snapshot table (snapshot.py) page by page. A run that fails part-way therefore leaves the
watermark where it was, and the next run collects the same changes again: the upserts by id
make that harmless.

A CRM that times out gets a few retries of the same page (the connector's contract says
that is safe); an outage that outlasts them ends the collection early with `problem` set.
"""

from __future__ import annotations

import asyncio
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
    """Records per type stamped after the watermark: the real changes (all, when full)."""
    pages: int = 0
    watermark: dict[str, str] = field(default_factory=dict)
    problem: dict[str, Any] | None = None
    removed: dict[str, int] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {
            "mode": self.mode, "since": self.since, "read": self.read, "changed": self.changed,
            "pages": self.pages, "next_watermark": self.watermark, "problem": self.problem,
            "removed": self.removed,
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


async def _collect_one(
    crm: Any, snapshot: Snapshot, entity: str, since: str | None, seen: str, found: Collection
) -> None:
    action, request_type = _REQUESTS[entity]
    request = request_type(updated_since=since, page_size=PAGE_SIZE)  # type: ignore[arg-type]
    after = request.updated_since
    found.read[entity] = found.changed[entity] = 0
    while True:
        page = await _page(crm, action, request)
        snapshot.upsert(entity, page.items, seen=seen)
        found.pages += 1
        found.read[entity] += len(page.items)
        found.changed[entity] += sum(after is None or i.updated_at > after for i in page.items)
        if page.items:
            newest = max(item.updated_at for item in page.items).isoformat()
            found.watermark[entity] = max(newest, found.watermark.get(entity, newest))
        if page.next_cursor is None:
            return
        request = request.model_copy(update={"cursor": page.next_cursor})


async def collect(
    crm: Any, snapshot: Snapshot, *, since: dict[str, str] | None, seen: str
) -> Collection:
    """Read every record type changed since `since` (None: everything) into the snapshot.

    A full collection (since None) also drops snapshot rows the CRM no longer returned.
    """
    found = Collection(mode="incremental" if since else "full", since=dict(since or {}))
    found.watermark = dict(since or {})
    for entity in ENTITIES:
        try:
            await _collect_one(crm, snapshot, entity, (since or {}).get(entity), seen, found)
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
