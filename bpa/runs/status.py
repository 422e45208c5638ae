"""A run's status, apart from the tables: the CLI's options and the API's schemas name the
statuses without loading SQLModel."""

from __future__ import annotations

from enum import StrEnum

__all__ = ["RunStatus"]


class RunStatus(StrEnum):
    queued = "queued"
    running = "running"
    waiting = "waiting"
    succeeded = "succeeded"
    failed = "failed"
    cancelled = "cancelled"
    #: Every side effect of the run was undone, or is listed as one that cannot be
    #: (`bpa runs rollback`, bpa/rollback.py).
    rolled_back = "rolled_back"
    #: An undo failed; the rollback stopped there and lists what is left to undo.
    rollback_failed = "rollback_failed"

    @property
    def finished(self) -> bool:
        return self not in (RunStatus.queued, RunStatus.running, RunStatus.waiting)
