"""Run rows as the API shows them, shared by the run and batch routes."""

from __future__ import annotations

from collections.abc import AsyncIterator

from fastapi.sse import ServerSentEvent
from starlette.concurrency import run_in_threadpool

from api.schemas import EventPublic, RunPublic
from bpa.runs.store import RunStore
from bpa.runs.tables import Run, RunEvent, RunStatus

__all__ = ["present", "present_async", "sse_stream"]


def present(store: RunStore, run: Run) -> RunPublic:
    """The run, with the question it waits on when it waits (read from the database)."""
    approval = store.pending_approval(run.id) if run.status == RunStatus.waiting else None
    return RunPublic.of(run, approval)


async def present_async(store: RunStore, run: Run) -> RunPublic:
    """`present` for async routes: the question is read off the event loop."""
    if run.status != RunStatus.waiting:
        return RunPublic.of(run, None)
    return await run_in_threadpool(present, store, run)


async def sse_stream(
    store: RunStore, items: AsyncIterator[RunEvent | Run]
) -> AsyncIterator[ServerSentEvent]:
    """Each audit event as `event: <kind>` with its id (for Last-Event-ID), and the run as
    `event: run`."""
    async for item in items:
        if isinstance(item, RunEvent):
            data = EventPublic.of(item).model_dump(mode="json")
            yield ServerSentEvent(event=item.kind, id=str(item.id), data=data)
        else:
            run = await present_async(store, item)
            yield ServerSentEvent(event="run", data=run.model_dump(mode="json"))
