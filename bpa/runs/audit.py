"""Collects a run's audit events in memory and writes them in batches (one per graph step)."""

from __future__ import annotations

import json
from typing import Any

from bpa.runs.store import RunStore
from bpa.runs.tables import RunEvent

__all__ = ["RunAudit", "jsonable"]

_MAX_PAYLOAD_CHARS = 20_000


def jsonable(value: Any) -> Any:
    """A JSON-safe copy of `value` (pydantic models dumped, decimals and dates as strings)."""
    if hasattr(value, "model_dump"):
        return value.model_dump(mode="json")
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [jsonable(v) for v in value]
    if isinstance(value, str | int | float | bool) or value is None:
        return value
    return str(value)


class RunAudit:
    """The `AuditSink` of one run execution."""

    def __init__(self, store: RunStore, run_id: str) -> None:
        self.store = store
        self.run_id = run_id
        self._pending: list[RunEvent] = []

    def record(
        self,
        kind: str,
        payload: dict[str, Any],
        *,
        node: str | None = None,
        duration_ms: float | None = None,
    ) -> None:
        body = jsonable(payload)
        if len(json.dumps(body, default=str)) > _MAX_PAYLOAD_CHARS:
            body = {"truncated": True, "summary": str(body)[:_MAX_PAYLOAD_CHARS]}
        self._pending.append(
            RunEvent(
                run_id=self.run_id,
                kind=kind,
                node=node,
                payload=body,
                duration_ms=round(duration_ms, 3) if duration_ms is not None else None,
            )
        )

    def take(self) -> list[RunEvent]:
        """Hand over the events recorded so far (to be written with a status change)."""
        events, self._pending = self._pending, []
        return events

    def flush(self) -> None:
        self.store.add_events(self.take())
