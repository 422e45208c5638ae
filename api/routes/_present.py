"""Run rows as the API shows them, shared by the run and batch routes."""

from __future__ import annotations

from fastapi.sse import ServerSentEvent

from api.schemas import EventPublic, RunPublic
from bpa.runs.store import RunStore
from bpa.runs.tables import Run, RunEvent, RunStatus

__all__ = ["present", "sse_of"]


def present(store: RunStore, run: Run) -> RunPublic:
    """The run, with the question it waits on when it waits."""
    approval = store.pending_approval(run.id) if run.status == RunStatus.waiting else None
    return RunPublic.of(run, approval)


def sse_of(store: RunStore, item: RunEvent | Run) -> ServerSentEvent:
    """An audit event as `event: <kind>` with its id (for Last-Event-ID), or the final run."""
    if isinstance(item, RunEvent):
        return ServerSentEvent(
            event=item.kind, id=str(item.id), data=EventPublic.of(item).model_dump(mode="json")
        )
    return ServerSentEvent(event="run", data=present(store, item).model_dump(mode="json"))
