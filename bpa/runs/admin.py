"""Administrative actions recorded as runs of their own: a vendor-master import, forgetting
what the invoice flow learned. Such an action is no flow and is never queued to a worker;
it is executed where it is asked for (the CLI, an API request), but it leaves the same
trail as a run: who asked, what went in, every event, the outcome, in the hash-chained
audit trail that `bpa runs show` and `bpa audit verify` read.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from bpa.runs.status import RunStatus
from bpa.runs.store import QueuedRun, RunStore
from bpa.runs.tables import RunEvent, utcnow

__all__ = ["AdminAction", "recorded_action"]

#: How long the action's row is held: far longer than any import takes, short enough for an
#: action whose process died to be seen as stale.
_LEASE = timedelta(hours=1)


@dataclass
class AdminAction:
    """The action's run while it executes: its id and owner (for connector calls made on
    its behalf), and what it sets for the record when it ends."""

    run_id: str
    owner: str
    output: dict[str, Any] | None = None
    #: Events written with the outcome, before `run_finished`.
    events: list[RunEvent] = field(default_factory=list)
    #: Added to the `run_finished` event's payload.
    summary: dict[str, Any] = field(default_factory=dict)

    def record(self, kind: str, payload: dict[str, Any]) -> None:
        self.events.append(RunEvent(run_id=self.run_id, kind=kind, payload=payload))


@contextmanager
def recorded_action(
    store: RunStore,
    *,
    flow: str,
    input: dict[str, Any],
    trigger: str,
    failure_code: str,
) -> Iterator[AdminAction]:
    """Record the action as a running run, hand it over, and record how it ended: succeeded,
    or failed (with `failure_code` and the exception's message) when the block raises or is
    cancelled; the exception is raised again. (If that last write fails, the run stays
    `running` with its input, which says what was asked.)"""
    queued = QueuedRun.new(flow=flow, flow_version="1", input=input, trigger=trigger)
    owner = f"{flow}:{uuid.uuid4().hex[:12]}"
    queued.row.update(
        status=RunStatus.running,
        claimed_by=owner,
        lease_until=utcnow() + _LEASE,
        started_at=utcnow(),
        attempts=1,
    )
    store.insert_queued([queued])
    action = AdminAction(run_id=str(queued.row["id"]), owner=owner)
    status, error = RunStatus.succeeded, None
    try:
        yield action
    except BaseException as exc:  # a cancelled request too: it did not succeed
        status = RunStatus.failed
        error = {"code": failure_code, "message": f"{type(exc).__name__}: {exc}"}
        raise
    finally:
        action.record("run_finished", {"status": str(status), **action.summary})
        store.update(
            action.run_id,
            owner=owner,
            status=status,
            output=action.output,
            error=error,
            finished_at=utcnow(),
            claimed_by=None,
            lease_until=None,
            events=action.events,
        )
