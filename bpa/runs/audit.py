"""Collects a run's audit events in memory; the runner writes them with the run's status
changes, and after a graph step when someone follows the run or a step changed a system."""

from __future__ import annotations

from typing import Any

from bpa.runs.tables import RunEvent

__all__ = ["RunAudit", "jsonable"]

#: Longest string kept whole in an audit payload; longer ones are cut, with their length noted.
MAX_TEXT = 4_000
#: Most items of one list kept in an audit payload.
MAX_ITEMS = 200


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


def _bounded(value: Any, max_text: int = MAX_TEXT) -> Any:
    """`value` (already JSON-safe) cut to a bounded size, so one event can never be huge."""
    if isinstance(value, str):
        return value if len(value) <= max_text else f"{value[:max_text]}… ({len(value)} chars)"
    if isinstance(value, dict):
        return {k: _bounded(v, max_text) for k, v in value.items()}
    if isinstance(value, list):
        kept = [_bounded(v, max_text) for v in value[:MAX_ITEMS]]
        return kept if len(value) <= MAX_ITEMS else [*kept, f"… {len(value) - MAX_ITEMS} more"]
    return value


class RunAudit:
    """The `AuditSink` of one run execution."""

    def __init__(self, run_id: str) -> None:
        self.run_id = run_id
        self._pending: list[RunEvent] = []
        #: A side effect was recorded since the last write: it must reach the database now.
        self.urgent = False

    def record(
        self,
        kind: str,
        payload: dict[str, Any],
        *,
        node: str | None = None,
        duration_ms: float | None = None,
        max_text: int = MAX_TEXT,
    ) -> None:
        body = _bounded(jsonable(payload), max_text)
        if kind == "connector_call" and payload.get("side_effect"):
            self.urgent = True
        self._pending.append(
            RunEvent(
                run_id=self.run_id,
                kind=kind,
                node=node,
                payload=body,
                duration_ms=round(duration_ms, 3) if duration_ms is not None else None,
            )
        )

    def __len__(self) -> int:
        return len(self._pending)

    def take(self) -> list[RunEvent]:
        """Hand over the events recorded so far (to be written with a status change)."""
        events, self._pending = self._pending, []
        self.urgent = False
        return events
