"""Collects a run's audit events in memory; the runner writes them with the run's status
changes (and after a graph step when someone follows the run live).

Side effects do not wait for the runner. Before a connector's side-effecting call its intent
(`connector_intent`) is written at once. In a run's execution its outcome (`connector_call`,
with the engine's ledger row for it) goes with the run's next write: the next effect's
intent, a live step, or the status change that ends the execution. That is safe where the
system answers for its effects by key (`Connector.recorded`): a process that dies before the
outcome is written leaves an intent without an outcome, which the run's next attempt
completes from the system's ledger (`bpa.runs.context.complete_effects`), and a step run
again gets its earlier effect back. A system that keeps no keys has only the engine's ledger
row to stop a second call, so its outcome is written at once (`at_once`), as it is outside a
run's execution (a rollback plans from the trail). Why not the outcome in the same
transaction as the effect? The effect commits in the connector's own database, and that
database need not be the engine's (a real ERP never is); even where they share one, a
connector's session is its own business. Until the outcome is written, a call repeated in
this execution is answered from the row waiting here (`unwritten`); a replayed call whose
outcome the trail already holds is not recorded again. If the intent cannot be written, the
call is not made. Cost: one write per side-effecting call (two where the system keeps no
keys), none per graph step; the same on SQLite and PostgreSQL.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import TYPE_CHECKING, Any

from bpa.runs.tables import RunEvent, constructed

if TYPE_CHECKING:
    from bpa.effects import LedgerEntry

#: Writes events (and the ledger rows of the effects they record) in one transaction.
Writer = Callable[[list[RunEvent], Sequence["LedgerEntry"]], None]

__all__ = ["CALL", "EFFECT_KINDS", "INTENT", "RunAudit", "jsonable"]

#: A connector call (read or write) and its outcome.
CALL = "connector_call"
#: A side-effecting connector call about to be made (written before the call).
INTENT = "connector_intent"
EFFECT_KINDS = (INTENT, CALL)

#: Longest string kept whole in an audit payload; longer ones are cut, with their length noted.
MAX_TEXT = 4_000
#: Most items of one list kept in an audit payload.
MAX_ITEMS = 200


def jsonable(value: Any) -> Any:
    """A JSON-safe copy of `value` (pydantic models dumped, decimals and dates as strings)."""
    return _json_safe(value, None)


def _json_safe(value: Any, max_text: int | None) -> Any:
    """`value` made JSON-safe in one pass; with `max_text`, also bounded in size so that one
    audit event can never be huge: longer strings cut (their length noted), lists capped at
    `MAX_ITEMS`."""
    if hasattr(value, "model_dump"):
        dumped = value.model_dump(mode="json")
        return dumped if max_text is None else _json_safe(dumped, max_text)
    if isinstance(value, dict):
        return {str(k): _json_safe(v, max_text) for k, v in value.items()}
    if isinstance(value, list | tuple):
        if max_text is None or len(value) <= MAX_ITEMS:
            return [_json_safe(v, max_text) for v in value]
        kept = [_json_safe(v, max_text) for v in value[:MAX_ITEMS]]
        return [*kept, f"… {len(value) - MAX_ITEMS} more"]
    if isinstance(value, int | float | bool) or value is None:
        return value
    text = value if isinstance(value, str) else str(value)
    if max_text is None or len(text) <= max_text:
        return text
    return f"{text[:max_text]}… ({len(text)} chars)"


def _effect_key(payload: dict[str, Any]) -> tuple[str, str] | None:
    key = payload.get("idempotency_key")
    return (str(payload.get("connector")), str(key)) if key else None


class RunAudit:
    """The `AuditSink` of one run execution; with `write`, it can put events in the database
    at once (side effects do), otherwise they wait for the runner."""

    def __init__(
        self, run_id: str, write: Writer | None = None, *, outcomes_wait: bool = False
    ) -> None:
        self.run_id = run_id
        self._write = write
        #: Side effects' outcomes wait for the next write (a run's execution, which always
        #: ends in one) rather than being written at once (a rollback plans from the trail).
        self._outcomes_wait = outcomes_wait
        self._pending: list[RunEvent] = []
        self._entries: list[LedgerEntry] = []
        #: (connector, idempotency key) -> a side effect's intent in the trail, and its node.
        self._intents: dict[tuple[str, str], tuple[dict[str, Any], str | None]] = {}
        #: (connector, idempotency key) of the side effects whose success the trail holds.
        self._done: set[tuple[str, str]] = set()

    def record(
        self,
        kind: str,
        payload: dict[str, Any],
        *,
        node: str | None = None,
        duration_ms: float | None = None,
        max_text: int = MAX_TEXT,
    ) -> None:
        self._pending.append(
            constructed(
                RunEvent,
                {
                    "run_id": self.run_id,
                    "kind": kind,
                    "node": node,
                    "payload": _json_safe(payload, max_text),
                    "duration_ms": round(duration_ms, 3) if duration_ms is not None else None,
                },
            )
        )

    def __len__(self) -> int:
        return len(self._pending)

    def take(self) -> list[RunEvent]:
        """Hand over the events recorded so far (to be written with a status change)."""
        events, self._pending = self._pending, []
        return events

    def take_entries(self) -> list[LedgerEntry]:
        """Hand over the ledger rows of the outcomes recorded so far (written with them)."""
        entries, self._entries = self._entries, []
        return entries

    def unwritten(self, connector: str, key: str) -> LedgerEntry | None:
        """The ledger row of a side effect of this execution not written yet, by key."""
        for entry in self._entries:
            if entry.connector == connector and entry.key == key:
                return entry
        return None

    def flush(self) -> None:
        """Write the events recorded so far now (without `write`, they keep waiting)."""
        if self._write is not None and self._pending:
            self._write(self.take(), self.take_entries())

    # -- side effects -------------------------------------------------------------------------
    def remember(self, events: Iterable[RunEvent]) -> None:
        """Learn the side effects earlier attempts of this run wrote to the trail."""
        for event in events:
            key = _effect_key(event.payload)
            if key is None:
                continue
            if event.kind == INTENT:
                self._intents.setdefault(key, (event.payload, event.node))
            elif event.kind == CALL and event.payload.get("ok"):
                self._done.add(key)

    def unanswered(self) -> list[tuple[dict[str, Any], str | None]]:
        """Intents (with their node) whose outcome the trail does not hold."""
        return [intent for key, intent in self._intents.items() if key not in self._done]

    def begin_effect(self, payload: dict[str, Any], *, node: str | None) -> bool:
        """Before a side-effecting call: write its intent now, once per idempotency key.

        False when the trail already holds this key's success: the call replays an effect
        that is audited already, and its outcome is not recorded again.
        """
        key = _effect_key(payload)
        if key is None:  # refused by the connector: there is no effect to announce
            return True
        if key in self._done:
            return False
        if key not in self._intents:
            self._intents[key] = (payload, node)
            self.record(INTENT, payload, node=node)
            self.flush()
        return True

    def end_effect(
        self,
        payload: dict[str, Any],
        *,
        node: str | None,
        duration_ms: float | None,
        entry: LedgerEntry | None = None,
        at_once: bool = False,
    ) -> None:
        """After a side-effecting call (or learning its outcome): write the outcome with the
        engine's ledger row for it (`entry`) in the same transaction, now or (`outcomes_wait`,
        unless `at_once`: a system that keeps no keys) with the run's next write."""
        self.record(CALL, payload, node=node, duration_ms=duration_ms)
        if entry is not None:
            self._entries.append(entry)
        if at_once or not self._outcomes_wait:
            self.flush()
        key = _effect_key(payload)
        if payload.get("ok") and key is not None:
            self._done.add(key)
